/*
 * One S3 request (client.c) against the canned server (canned_server.h):
 * retries and when they stop (endless SlowDown, the retry deadline, even
 * inside an attempt), stalls and trickles cut, short bodies retried, what
 * goes on the wire (Content-Length, never chunked, Content-MD5, the
 * payload hash, the same bytes on every retry), expired temporary keys
 * renewed, a credentials answer refused, a caller's keys and headers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/stores/s3/client.h"
#include "../../backends/stores/s3/client_impl.h" /* sign_bodies, to see the wire */
#include "../../backends/stores/s3/s3.h"
#include "../../backends/stores/s3/sigv4.h"
#include "tsarc/errors.h"
#include "canned_server.h"
#include "cmocka_main.h"

static void test_slowdown_gives_up(void **state)
{
	static const canned script[] = {{REPLY, 503, NULL,
		"<Error><Code>SlowDown</Code><Message>Please reduce your request rate."
		"</Message></Error>", -1}};
	tsarc__s3_stats stats;
	tsarc_store *st;

	(void)state;
	START(script);
	st = open_store("3");
	expect(tsarc_store_put(st, TSARC_OBJ_SNAPSHOT, "s1", "x", 1, 0),
		TSARC_ETRANSIENT, "SlowDown");
	assert_non_null(strstr(tsarc_error_last()->message, "4 attempts"));
	assert_int_equal(srv.nreq, 4);
	assert_int_equal(tsarc__s3_stats_get(st, &stats), 0);
	assert_int_equal(stats.retries, 3);
	close_store(st);
}

static void test_put_retry_resends_same_bytes(void **state)
{
	static const canned script[] = {
		{REPLY, 500, NULL, "<Error><Code>InternalError</Code></Error>", -1},
		{RESET, 0, NULL, NULL, -1},
		{REPLY, 200, "ETag: \"x\"\r\n", "", -1},
	};
	unsigned char data[70000];
	char hash[65], line[128];
	tsarc_store *st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 31 + 7);
	tsarc__sha256_hex(hash, data, sizeof(data));
	START(script);
	st = open_store("3");
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_INDEX, "i1", data, sizeof(data), 0), 0);
	assert_int_equal(srv.nreq, 3);
	for (i = 0; i < 3; i++) {
		const char *h = srv.heads[i];
		assert_true(strncmp(h, "PUT /bkt/p/index/i1 HTTP/1.1\r\n", 30) == 0);
		snprintf(line, sizeof(line), "content-length: %zu\r\n", sizeof(data));
		assert_true(has_header(h, line));
		/* A plain object PUT: its signed SHA-256 covers the body. */
		assert_false(has_header(h, "content-md5"));
		snprintf(line, sizeof(line), "x-amz-content-sha256: %s\r\n", hash);
		assert_true(has_header(h, line));
		assert_true(has_header(h, "authorization: AWS4-HMAC-SHA256 Credential=AKCANNED/"));
		assert_false(has_header(h, "transfer-encoding"));
		assert_false(has_header(h, "expect"));
		assert_int_equal(srv.bodies[i].size, sizeof(data));
		assert_memory_equal(srv.bodies[i].ptr, data, sizeof(data));
	}
	close_store(st);
}

static void test_stall_is_cut_short(void **state)
{
	static const canned script[] = {{STALL, 0, NULL, NULL, -1}};

	(void)state;
	/* two stalls cut after about 1 s each (TSARC_S3_STALL_TIMEOUT=1), where
	 * the server would have stayed silent for 10 s each */
	assert_true(get_refused(script, 1, "1", NULL, NULL, TSARC_ENET, "2 attempts") < 7.0);
	assert_int_equal(srv.nreq, 2);
	srv_stop();
}

static void test_retry_deadline(void **state)
{
	static const canned script[] = {{STALL, 0, NULL, NULL, -1}};
	static const char *const env[] = {"TSARC_S3_RETRY_DEADLINE", "2", NULL};

	(void)state;
	/* 20 retries allowed, but none starts 2 s after the first attempt */
	assert_true(get_refused(script, 1, "20", env, NULL, TSARC_ENET, "gave up") < 6.0);
	assert_true(srv.nreq < 5);
	srv_stop();
}

/* A server that sends 4 bytes a second for as long as anyone listens: each
 * attempt is cut once it falls behind the throughput floor, and the request
 * gives up at the retry deadline instead of hanging. */
static void test_trickle_is_cut(void **state)
{
	static const canned script[] = {{TRICKLE, 200, NULL, NULL, 1000000}};
	static const char *const env[] = {
		"TSARC_S3_ATTEMPT_TIMEOUT", "1", "TSARC_S3_MIN_THROUGHPUT", "1000",
		"TSARC_S3_RETRY_DEADLINE", "4", NULL};

	(void)state;
	/* each attempt would otherwise trickle on for 30 s */
	assert_true(get_refused(script, 1, "20", env, NULL, TSARC_ENET, "gave up") < 10.0);
	/* attempts cut for slowness are retried: about 1 s each, 4 s in all */
	assert_true(srv.nreq >= 2);
	srv_stop();
}

/* The retry deadline holds inside an attempt too: a silent server, and a
 * trickling one, are cut when it passes (2 s, plus 1 s for the 1 MB the
 * trickle announces at 1 MB/s), although neither the stall timeout nor
 * the floor (after 60 s) would cut them yet. */
static void test_deadline_cuts_an_attempt(void **state)
{
	static const canned silent[] = {{STALL, 0, NULL, NULL, -1}};
	static const canned trickle[] = {{TRICKLE, 200, NULL, NULL, 1000000}};
	static const char *const env[] = {
		"TSARC_S3_STALL_TIMEOUT", "60", "TSARC_S3_ATTEMPT_TIMEOUT", "60",
		"TSARC_S3_MIN_THROUGHPUT", "1000000", "TSARC_S3_RETRY_DEADLINE", "2", NULL};
	const canned *scripts[] = {silent, trickle};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		double dt = get_refused(scripts[i], 1, "5", env, NULL, TSARC_ENET,
			"TSARC_S3_RETRY_DEADLINE");
		/* the server stays silent for 10 s, or trickles for 30 s */
		if (dt < 1.5 || dt > 6.0)
			fail_msg("case %zu: gave up after %.1f s, not at the deadline",
				i, dt);
		assert_int_equal(srv.nreq, 1);
		srv_stop();
	}
}

static void test_short_body_is_retried(void **state)
{
	static const canned script[] = {
		{SHORT, 200, NULL, "hel", -1},
		{REPLY, 200, NULL, "hello", -1},
	};
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;

	(void)state;
	START(script);
	st = open_store("3");
	tsarc_buf_append(&b, ">", 1);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_CONFIG, NULL, 0, 0, &b), 0);
	/* the partial first body is gone; what was in the buffer stays */
	assert_int_equal(b.size, 6);
	assert_memory_equal(b.ptr, ">hello", 6);
	assert_int_equal(srv.nreq, 2);
	close_store(st);
	tsarc_buf_dispose(&b);
}

/* Temporary keys the server calls expired are renewed at once and the
 * request is tried again with the new ones, token included. */
static void test_expired_token_renews(void **state)
{
	static const canned script[] = {
		{REPLY, 200, NULL, "{\"AccessKeyId\":\"ASIAOLD\",\"SecretAccessKey\":\"s-old\","
			"\"Token\":\"tok-old\",\"Expiration\":\"2099-01-01T00:00:00Z\"}", -1},
		/* (closed: the canned server serves one connection at a time) */
		{REPLY, 400, "Connection: close\r\n", "<Error><Code>ExpiredToken</Code></Error>", -1},
		{REPLY, 200, NULL, "{\"AccessKeyId\":\"ASIANEW\",\"SecretAccessKey\":\"s-new\","
			"\"Token\":\"tok-new\",\"Expiration\":\"2099-01-01T00:00:00Z\"}", -1},
		{REPLY, 200, NULL, "", -1},
	};
	char uri[96];
	const char *env[] = {"AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, NULL};
	tsarc_store *st;

	(void)state;
	START(script);
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/creds", (unsigned)srv.port);
	st = open_store_env("2", env);
	/* A renewal reads the environment again, as at open. */
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
	expect(tsarc_store_put(st, TSARC_OBJ_DATA, "ab12", "data", 4, 0), 0, NULL);
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	assert_int_equal(srv.nreq, 4);
	assert_true(strncmp(srv.heads[0], "GET /creds ", 11) == 0);
	assert_non_null(strstr(srv.heads[1], "Credential=ASIAOLD/"));
	assert_true(has_header(srv.heads[1], "x-amz-security-token: tok-old\r\n"));
	assert_true(strncmp(srv.heads[2], "GET /creds ", 11) == 0);
	assert_non_null(strstr(srv.heads[3], "Credential=ASIANEW/"));
	assert_true(has_header(srv.heads[3], "x-amz-security-token: tok-new\r\n"));
	close_store(st);
}

/* A credentials answer the parser refuses: the message names the endpoint
 * once, then the parser's reason, with one separator between them. */
static void test_bad_credentials_answer(void **state)
{
	static const canned script[] = {
		{REPLY, 200, NULL, "{\"AccessKeyId\":\"ASIAHALF\"}", -1},
	};
	char uri[96], url[128];
	tsarc_store *st = NULL;
	const char *msg;

	(void)state;
	START(script);
	clear_aws_env_and_files();
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/creds", (unsigned)srv.port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
	snprintf(url, sizeof(url), "s3:http://127.0.0.1:%u/bkt/p", (unsigned)srv.port);
	assert_int_equal(tsarc_store_open(&st, url, NULL), TSARC_EIO);
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	msg = tsarc_error_last()->message;
	if (!strstr(msg, "container credentials endpoint") ||
	    !strstr(msg, "/creds: the credentials answer lacks") || strstr(msg, ": :"))
		fail_msg("message: %s", msg);
	assert_null(st);
	srv_stop();
}

/* A client of the canned server signing with `keys` only (none from the
 * environment or files). */
static tsarc__s3_client *client_with(const tsarc__s3_creds *keys)
{
	tsarc__s3_client *c = NULL;
	char url[128];

	clear_aws_env_and_files();
	snprintf(url, sizeof(url), "s3:http://127.0.0.1:%u/bkt", (unsigned)srv.port);
	if (tsarc__s3_client_open_keys(&c, url, NULL, 2, keys))
		fail_msg("open: %s", tsarc_error_last()->message);
	return c;
}

/* Sends "hi" three times: as a batch delete's body (POST), as an object
 * PUT, and as an object PUT under Object Lock. */
static void send_three_bodies(tsarc__s3_client *c)
{
	tsarc__s3_kv lock[2] = {{"x-amz-object-lock-mode", "GOVERNANCE"},
		{"x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z"}};
	tsarc__s3_req rq;
	tsarc__s3_resp resp;
	int k;

	for (k = 0; k < 3; k++) {
		memset(&rq, 0, sizeof(rq));
		rq.method = k == 0 ? "POST" : "PUT";
		rq.key = "o";
		rq.body = "hi";
		rq.body_len = 2;
		rq.has_body = 1;
		rq.object_put = k > 0;
		if (k == 2) {
			rq.headers = lock;
			rq.nheaders = 2;
		}
		assert_int_equal(tsarc__s3_perform(c, &rq, &resp), 0);
	}
	assert_int_equal(srv.nreq, 3);
}

/* Content-MD5 goes with every body S3 wants it for (a request that is not
 * an object PUT: a batch delete, a retention; an object PUT under Object
 * Lock), and not with a plain object PUT, where computing it over every
 * pack cost CPU for nothing. */
static void test_content_md5_where_s3_wants_it(void **state)
{
	static const canned script[] = {
		{REPLY, 200, NULL, "", -1},
		{REPLY, 200, NULL, "", -1},
		{REPLY, 200, NULL, "", -1},
	};
	tsarc__s3_creds keys = {"AKMD5", "secret-md5", NULL, "us-east-1", "test keys", 0};
	tsarc__s3_client *c;
	char md5[25], line[64];

	(void)state;
	START(script);
	c = client_with(&keys);
	tsarc__md5_base64(md5, NULL, "hi", 2);
	snprintf(line, sizeof(line), "content-md5: %s\r\n", md5);
	send_three_bodies(c);
	assert_true(has_header(srv.heads[0], line));
	assert_false(has_header(srv.heads[1], "content-md5"));
	assert_true(has_header(srv.heads[2], line));
	assert_non_null(strstr(srv.heads[2], "SignedHeaders=content-md5;"));
	tsarc__s3_client_free(c);
	srv_stop();
}

/* An object PUT's body is left out of the signature only over HTTPS whose
 * certificate is verified (client_impl.h): plain HTTP, TLS without
 * verification and TSARC_S3_SIGN_PAYLOAD=1 sign it. */
static void test_body_signed_unless_verified_https(void **state)
{
	static const struct {
		const char *url;
		int insecure;
		const char *sign_env;
		int signs;
	} cases[] = {
		{"s3:http://127.0.0.1:1/bkt", 0, NULL, 1},
		{"s3:https://127.0.0.1:1/bkt", 0, NULL, 0},
		{"s3:https://127.0.0.1:1/bkt", 1, NULL, 1},
		{"s3:https://127.0.0.1:1/bkt", 0, "1", 1},
		{"s3:https://127.0.0.1:1/bkt", 0, "0", 0},
		{"s3:http://127.0.0.1:1/bkt", 0, "0", 1},
		{"s3://bkt/prefix", 0, NULL, 0}, /* AWS itself: HTTPS */
	};
	tsarc__s3_creds keys = {"AKSIGN", "secret-sign", NULL, "us-east-1", "test keys", 0};
	size_t i;

	(void)state;
	clear_aws_env_and_files();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tsarc_store_options o;
		tsarc__s3_client *c = NULL;

		memset(&o, 0, sizeof(o));
		o.insecure_tls = cases[i].insecure;
		if (cases[i].sign_env)
			setenv("TSARC_S3_SIGN_PAYLOAD", cases[i].sign_env, 1);
		else
			unsetenv("TSARC_S3_SIGN_PAYLOAD");
		if (tsarc__s3_client_open_keys(&c, cases[i].url, &o, 1, &keys))
			fail_msg("case %zu: open: %s", i, tsarc_error_last()->message);
		print_message("case %zu: %s insecure %d TSARC_S3_SIGN_PAYLOAD %s: signs %d\n", i,
			cases[i].url, cases[i].insecure, cases[i].sign_env ? cases[i].sign_env : "unset",
			tsarc__s3_client_signs_bodies(c));
		assert_int_equal(tsarc__s3_client_signs_bodies(c), cases[i].signs);
		tsarc__s3_client_free(c);
	}
	unsetenv("TSARC_S3_SIGN_PAYLOAD");
	setenv("TSARC_S3_SIGN_PAYLOAD", "yes", 1);
	assert_int_not_equal(tsarc__s3_client_open_keys(&(tsarc__s3_client *){NULL},
		cases[0].url, NULL, 1, &keys), 0);
	assert_non_null(strstr(tsarc_error_last()->message, "TSARC_S3_SIGN_PAYLOAD"));
	unsetenv("TSARC_S3_SIGN_PAYLOAD");
}

/* On the wire, with bodies unsigned: an object PUT says UNSIGNED-PAYLOAD
 * (and still carries Content-MD5 under Object Lock); any other body (a
 * batch delete) is still hashed into the signature. */
static void test_unsigned_body_on_the_wire(void **state)
{
	static const canned script[] = {
		{REPLY, 200, NULL, "", -1},
		{REPLY, 200, NULL, "", -1},
		{REPLY, 200, NULL, "", -1},
	};
	tsarc__s3_creds keys = {"AKUNS", "secret-uns", NULL, "us-east-1", "test keys", 0};
	tsarc__s3_client *c;
	char hash[65], md5[25], line[128];

	(void)state;
	START(script);
	c = client_with(&keys);
	c->sign_bodies = 0; /* as over verified HTTPS, which the canned server does not speak */
	send_three_bodies(c);
	tsarc__sha256_hex(hash, "hi", 2);
	snprintf(line, sizeof(line), "x-amz-content-sha256: %s\r\n", hash);
	assert_true(has_header(srv.heads[0], line));
	assert_true(has_header(srv.heads[1], "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"));
	assert_true(has_header(srv.heads[2], "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"));
	tsarc__md5_base64(md5, NULL, "hi", 2);
	snprintf(line, sizeof(line), "content-md5: %s\r\n", md5);
	assert_true(has_header(srv.heads[2], line));
	tsarc__s3_client_free(c);
	srv_stop();
}

/* The client with a caller's keys (a component's Secret), none in the
 * environment: requests are signed with them; further headers are signed
 * and sent; the answer's headers come back; a header that could end the
 * request's head is refused before anything is sent. */
static void test_client_keys_and_headers(void **state)
{
	static const canned script[] = {
		{REPLY, 200, NULL, "", -1},
		{REPLY, 200, "Content-Type: text/plain\r\nx-amz-meta-owner: ann\r\n", "hi", -1},
	};
	tsarc__s3_creds keys = {"AKFROMSECRET", "secret-from-secret", NULL, "eu-west-1",
		"Secret aws-auth", 0};
	tsarc__s3_kv hdrs[2] = {{"content-type", "text/plain"}, {"x-amz-meta-owner", "ann"}};
	tsarc__s3_kv evil[1] = {{"x-amz-meta-a", "b\r\nx-injected: 1"}};
	tsarc_buf body = TSARC_BUF_INIT, hout = TSARC_BUF_INIT;
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	tsarc__s3_client *c;

	(void)state;
	START(script);
	c = client_with(&keys);
	rq.method = "PUT";
	rq.key = "a b/c";
	rq.headers = evil;
	rq.nheaders = 1;
	rq.body = "hi";
	rq.body_len = 2;
	rq.has_body = 1;
	expect(tsarc__s3_perform(c, &rq, &resp), TSARC_EINVAL, "x-amz-meta-a");
	assert_int_equal(srv.nreq, 0);
	rq.headers = hdrs;
	rq.nheaders = 2;
	assert_int_equal(tsarc__s3_perform(c, &rq, &resp), 0);
	assert_int_equal(resp.status, 200);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.key = "a b/c";
	rq.out = &body;
	rq.headers_out = &hout;
	assert_int_equal(tsarc__s3_perform(c, &rq, &resp), 0);
	assert_int_equal(srv.nreq, 2);
	assert_true(strncmp(srv.heads[0], "PUT /bkt/a%20b/c HTTP/1.1\r\n", 27) == 0);
	assert_true(has_header(srv.heads[0], "authorization: AWS4-HMAC-SHA256 "
					     "Credential=AKFROMSECRET/"));
	assert_non_null(strstr(srv.heads[0], "/eu-west-1/s3/aws4_request"));
	assert_non_null(strstr(srv.heads[0], "SignedHeaders=content-md5;content-type;host;"));
	assert_non_null(strstr(srv.heads[0], "x-amz-meta-owner"));
	assert_true(has_header(srv.heads[0], "content-type: text/plain\r\n"));
	assert_true(has_header(srv.heads[0], "x-amz-meta-owner: ann\r\n"));
	assert_int_equal(body.size, 2);
	assert_non_null(strstr((const char *)hout.ptr, "x-amz-meta-owner: ann\r\n"));
	assert_non_null(strstr((const char *)hout.ptr, "Content-Type: text/plain\r\n"));
	tsarc_buf_dispose(&body);
	tsarc_buf_dispose(&hout);
	tsarc__s3_client_free(c);
	srv_stop();
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_slowdown_gives_up),
	cmocka_unit_test(test_put_retry_resends_same_bytes),
	cmocka_unit_test(test_content_md5_where_s3_wants_it),
	cmocka_unit_test(test_body_signed_unless_verified_https),
	cmocka_unit_test(test_unsigned_body_on_the_wire),
	cmocka_unit_test(test_stall_is_cut_short),
	cmocka_unit_test(test_retry_deadline),
	cmocka_unit_test(test_trickle_is_cut),
	cmocka_unit_test(test_deadline_cuts_an_attempt),
	cmocka_unit_test(test_short_body_is_retried),
	cmocka_unit_test(test_expired_token_renews),
	cmocka_unit_test(test_bad_credentials_answer),
	cmocka_unit_test(test_client_keys_and_headers))
