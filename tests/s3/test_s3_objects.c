/*
 * The s3 store's object operations (s3.c) against the canned server
 * (canned_server.h): a create-only PUT whose answer is lost, the PUT
 * options (encryption, storage class) on object PUTs only, ranges a server
 * ignores, refuses at the end of an object, or answers with another range.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/stores/s3/sigv4.h"
#include "tsarc/errors.h"
#include "aws_env.h"
#include "canned_server.h"
#include "cmocka_main.h"

static void test_create_only(void **state)
{
	/* The first PUT lands but its answer is lost; the retry then meets
	 * its own object: 412, and a HEAD shows our bytes (ETag = MD5). */
	char md5hex[33], md5b64[25], etag[128];
	canned script[] = {
		{RESET, 0, NULL, NULL, -1},
		{REPLY, 412, NULL, "<Error><Code>PreconditionFailed</Code></Error>", -1},
		{REPLY, 200, etag, "", 4},
	};
	static const canned taken[] = {
		{REPLY, 412, NULL, "<Error><Code>PreconditionFailed</Code></Error>", -1},
	};
	tsarc_store *st;

	(void)state;
	tsarc__md5_base64(md5b64, md5hex, "lock", 4);
	snprintf(etag, sizeof(etag), "ETag: \"%s\"\r\n", md5hex);
	START(script);
	st = open_store("3");
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_LOCK, "l1", "lock", 4,
				 TSARC_PUT_CREATE_ONLY), 0);
	assert_int_equal(srv.nreq, 3);
	assert_true(has_header(srv.heads[0], "if-none-match: *\r\n"));
	assert_true(has_header(srv.heads[1], "if-none-match: *\r\n"));
	assert_true(strncmp(srv.heads[2], "HEAD /bkt/p/locks/l1 ", 21) == 0);
	close_store(st);

	/* Under SSE-KMS the ETag is not the MD5 of the bytes: the object is
	 * read back, and it is ours when it holds our bytes. */
	{
		static const canned kms[] = {
			{RESET, 0, NULL, NULL, -1},
			{REPLY, 412, NULL, "<Error><Code>PreconditionFailed</Code></Error>", -1},
			{REPLY, 200, "ETag: \"0f1e2d3c4b5a69788796a5b4c3d2e1f0\"\r\n", "", 4},
			{REPLY, 200, NULL, "lock", -1},
		};
		canned other[4];

		START(kms);
		st = open_store("3");
		assert_int_equal(tsarc_store_put(st, TSARC_OBJ_LOCK, "l1", "lock", 4,
					 TSARC_PUT_CREATE_ONLY), 0);
		assert_int_equal(srv.nreq, 4);
		assert_true(strncmp(srv.heads[3], "GET /bkt/p/locks/l1 ", 20) == 0);
		close_store(st);

		memcpy(other, kms, sizeof(other));
		other[3].body = "lick";
		START(other);
		st = open_store("3");
		expect(tsarc_store_put(st, TSARC_OBJ_LOCK, "l1", "lock", 4,
			       TSARC_PUT_CREATE_ONLY), TSARC_EEXISTS, "locks/l1");
		close_store(st);
	}

	/* Someone else's object: EEXISTS at once, no HEAD. */
	START(taken);
	st = open_store("3");
	expect(tsarc_store_put(st, TSARC_OBJ_LOCK, "l1", "lock", 4, TSARC_PUT_CREATE_ONLY),
		TSARC_EEXISTS, "locks/l1");
	assert_int_equal(srv.nreq, 1);
	close_store(st);
}

/* Encryption and storage class go on every object PUT (retries included),
 * signed; never on reads or on the bucket's creation. */
static void test_put_options(void **state)
{
	static const canned script[] = {
		{REPLY, 503, NULL, "<Error><Code>SlowDown</Code></Error>", -1},
		{REPLY, 200, NULL, "", -1},
		{REPLY, 200, NULL, "data", -1},
		{REPLY, 404, NULL, "", -1},
		{REPLY, 200, NULL, "", -1},
	};
	static const char *const env[] = {"TSARC_S3_SSE", "aws:kms",
		"TSARC_S3_SSE_KMS_KEY_ID", "arn:aws:kms:eu-west-1:111122223333:key/k-1",
		"TSARC_S3_STORAGE_CLASS", "STANDARD_IA", NULL};
	static const char *const lines[] = {"x-amz-server-side-encryption: aws:kms\r\n",
		"x-amz-server-side-encryption-aws-kms-key-id: "
		"arn:aws:kms:eu-west-1:111122223333:key/k-1\r\n",
		"x-amz-storage-class: STANDARD_IA\r\n"};
	tsarc_buf out = TSARC_BUF_INIT;
	tsarc_store *st;
	size_t i, r;

	(void)state;
	START(script);
	st = open_store_env("2", env);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_DATA, "ab12", "data", 4, 0), 0);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_DATA, "ab12", 0, 0, &out), 0);
	assert_int_equal(tsarc_store_create(st), 0);
	assert_int_equal(srv.nreq, 5);
	for (r = 0; r < 2; r++) {
		assert_true(strncmp(srv.heads[r], "PUT /bkt/p/data/ab/ab12 ", 24) == 0);
		for (i = 0; i < 3; i++)
			if (!has_header(srv.heads[r], lines[i]))
				fail_msg("PUT %zu lacks %s", r, lines[i]);
		assert_non_null(strstr(srv.heads[r],
			"x-amz-server-side-encryption;x-amz-server-side-encryption-aws-kms-key-id;"
			"x-amz-storage-class,"));
	}
	for (r = 2; r < 5; r++)
		if (strstr(srv.heads[r], "x-amz-s"))
			fail_msg("request %zu carries PUT options: %.60s", r, srv.heads[r]);
	assert_true(strncmp(srv.heads[4], "PUT /bkt ", 9) == 0);
	tsarc_buf_dispose(&out);
	close_store(st);

	/* A typo fails at open, before any request. */
	{
		static const char *const bad[] = {"TSARC_S3_SSE", "AES-256", NULL};

		clear_aws_env();
		setenv("AWS_ACCESS_KEY_ID", "AKCANNED", 1);
		setenv("AWS_SECRET_ACCESS_KEY", "canned-secret", 1);
		set_env(bad);
		expect(tsarc_store_open(&st, "s3:http://127.0.0.1:1/bkt/p", NULL),
			TSARC_ECONFIG, "AES-256");
		unset_env(bad);
	}
}

static void test_ranges(void **state)
{
	static const canned ignored[] = {{REPLY, 200, NULL, "0123456789", -1}};
	static const canned at_end[] = {
		{REPLY, 416, NULL, "<Error><Code>InvalidRange</Code></Error>", -1},
		{REPLY, 200, NULL, "", 10},
	};
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;

	(void)state;
	START(ignored);
	st = open_store("0");
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_INDEX, "i", 3, 4, &b), 0);
	assert_int_equal(b.size, 4);
	assert_memory_equal(b.ptr, "3456", 4);
	assert_true(has_header(srv.heads[0], "range: bytes=3-6\r\n"));
	tsarc_buf_clear(&b);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_INDEX, "i", 8, 0, &b), 0);
	assert_int_equal(b.size, 2);
	assert_true(has_header(srv.heads[1], "range: bytes=8-\r\n"));
	close_store(st);

	START(at_end);
	st = open_store("0");
	tsarc_buf_clear(&b);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_INDEX, "i", 10, 0, &b), 0);
	assert_int_equal(b.size, 0);
	assert_int_equal(srv.nreq, 2);
	close_store(st);
	tsarc_buf_dispose(&b);
}

/* A 206 is taken only for the range asked for: one that starts elsewhere,
 * stops short inside the object, or names no range is refused, and hands
 * out no byte; a range cut short at the object's end is the contract. */
static void test_range_answered(void **state)
{
	static const canned script[] = {
		{REPLY, 206, "Content-Range: bytes 0-3/10\r\n", "0123", -1},
		{REPLY, 206, "Content-Range: bytes 2-4/10\r\n", "234", -1},
		{REPLY, 206, NULL, "4567", -1},
		{REPLY, 206, "Content-Range: bytes 4-7/10\r\n", "4567", -1},
		{REPLY, 206, "Content-Range: bytes 8-9/10\r\n", "89", -1},
		{REPLY, 206, "Content-Range: bytes 8-9/*\r\n", "89", -1},
	};
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;

	(void)state;
	START(script);
	st = open_store("0");
	tsarc_buf_puts(&b, "kept");
	expect(tsarc_store_get(st, TSARC_OBJ_DATA, "ab12", 4, 4, &b), TSARC_EIO,
		"Content-Range 'bytes 0-3/10'");
	assert_int_equal(b.size, 4);
	expect(tsarc_store_get(st, TSARC_OBJ_DATA, "ab12", 2, 6, &b), TSARC_EIO,
		"asked for bytes=2-7, the server answered 206 with 3 bytes");
	expect(tsarc_store_get(st, TSARC_OBJ_DATA, "ab12", 4, 4, &b), TSARC_EIO,
		"Content-Range '(none)'");
	assert_int_equal(b.size, 4);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_DATA, "ab12", 4, 4, &b), 0);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_DATA, "ab12", 8, 4, &b), 0);
	assert_int_equal(b.size, 10);
	assert_memory_equal(b.ptr, "kept456789", 10);
	/* Short of the range, and the object's size not given: refused. */
	expect(tsarc_store_get(st, TSARC_OBJ_DATA, "ab12", 8, 4, &b), TSARC_EIO,
		"Content-Range 'bytes 8-9/*'");
	assert_int_equal(b.size, 10);
	tsarc_buf_dispose(&b);
	close_store(st);
}

/* A body whose end is only the connection's close could be one cut short:
 * refused, whereas a chunked one (whose end curl checks) is taken. */
static void test_body_without_length(void **state)
{
	static const canned script[] = {
		{CLOSED, 200, NULL, "01234", -1},
		{CLOSED, 200, "Transfer-Encoding: chunked\r\n", "5\r\n01234\r\n0\r\n\r\n", -1},
	};
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;

	(void)state;
	START(script);
	st = open_store("0");
	expect(tsarc_store_get(st, TSARC_OBJ_SNAPSHOT, "s1", 0, 0, &b), TSARC_EIO,
		"neither Content-Length nor chunked encoding");
	assert_non_null(strstr(tsarc_error_last()->message, "GET s3://bkt/p/snapshots/s1"));
	assert_int_equal(b.size, 0);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_SNAPSHOT, "s1", 0, 0, &b), 0);
	assert_int_equal(b.size, 5);
	assert_memory_equal(b.ptr, "01234", 5);
	tsarc_buf_dispose(&b);
	close_store(st);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_body_without_length),
	cmocka_unit_test(test_range_answered),
	cmocka_unit_test(test_create_only),
	cmocka_unit_test(test_put_options),
	cmocka_unit_test(test_ranges))
