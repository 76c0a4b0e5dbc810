/*
 * Requests on a whole bucket (bucket.c) against the canned server
 * (canned_server.h): DeleteObjects in batches of 1,000 with their
 * Content-MD5 and a refusal inside a 200 answer, listings over pages,
 * listings that go round in a circle, say "more" without a token, or
 * send empty page after empty page (of objects, and of versions), and 200
 * answers that hold another document than the one asked for.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../backends/stores/s3/sigv4.h"
#include "tsarc/errors.h"
#include "canned_server.h"
#include "cmocka_main.h"

static void test_delete_batches(void **state)
{
	static const canned ok[] = {{REPLY, 200, NULL,
		"<DeleteResult><Error><Key>p/data/00/00ab</Key><Code>NoSuchKey</Code>"
		"</Error></DeleteResult>", -1}};
	static const canned denied[] = {{REPLY, 200, NULL,
		"<DeleteResult><Error><Key>p/data/00/00ab</Key><Code>AccessDenied</Code>"
		"<Message>Access Denied</Message></Error></DeleteResult>", -1}};
	const char **names = calloc(2500, sizeof(*names));
	char (*buf)[16] = calloc(2500, sizeof(*buf));
	tsarc_store *st;
	size_t i;

	(void)state;
	for (i = 0; i < 2500; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%02zx%06zx", i & 0xff, i);
		names[i] = buf[i];
	}
	START(ok);
	st = open_store("0");
	assert_int_equal(tsarc_store_remove_many(st, TSARC_OBJ_DATA, names, 2500), 0);
	assert_int_equal(srv.nreq, 3); /* 1000 + 1000 + 500 */
	for (i = 0; i < 3; i++) {
		const char *body = (const char *)srv.bodies[i].ptr;
		size_t keys = 0;
		const char *p;
		char md5[25], line[64];
		assert_true(strncmp(srv.heads[i], "POST /bkt?delete= HTTP/1.1", 26) == 0);
		tsarc__md5_base64(md5, NULL, body, srv.bodies[i].size);
		snprintf(line, sizeof(line), "content-md5: %s\r\n", md5);
		assert_true(has_header(srv.heads[i], line));
		assert_non_null(strstr(body, "<Quiet>true</Quiet>"));
		for (p = body; (p = strstr(p, "<Key>")) != NULL; p++)
			keys++;
		assert_int_equal(keys, i < 2 ? 1000 : 500);
	}
	assert_non_null(strstr((const char *)srv.bodies[0].ptr, "<Key>p/data/00/00000000</Key>"));
	close_store(st);

	START(denied);
	st = open_store("0");
	expect(tsarc_store_remove_many(st, TSARC_OBJ_DATA, names, 10), TSARC_EACCESS,
		"AccessDenied");
	close_store(st);
	free(names);
	free(buf);
}

#define LIST_PAGE(more, key)                                                 \
	"<ListBucketResult><Name>bkt</Name>" more                            \
	"<Contents><Key>p/snapshots/" key "</Key><Size>7</Size>"             \
	"<LastModified>2026-11-30T12:00:00.000Z</LastModified></Contents>"   \
	"</ListBucketResult>"
#define MORE(token) "<IsTruncated>true</IsTruncated><NextContinuationToken>" \
	token "</NextContinuationToken>"
#define LAST "<IsTruncated>false</IsTruncated>"

typedef struct listed {
	char names[8][16];
	size_t count;
} listed;

/* Stops an endless listing after 50 names, so a loop fails the test
 * instead of hanging it. */
static int collect(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	listed *l = payload;

	assert_int_equal(size, 7);
	assert_true(mtime == 1796040000); /* 2026-11-30T12:00:00Z */
	if (l->count < 8)
		snprintf(l->names[l->count], sizeof(l->names[0]), "%s", name);
	return ++l->count >= 50 ? tsarc_error_set(TSARC_ECANCELED, "listing never ends")
				: 0;
}

static void test_list_pages(void **state)
{
	static const canned script[] = {
		{REPLY, 200, NULL, LIST_PAGE(MORE("tok-A"), "s1"), -1},
		{REPLY, 200, NULL, LIST_PAGE(MORE("tok-B"), "s2"), -1},
		{REPLY, 200, NULL, LIST_PAGE(LAST, "s3"), -1},
	};
	listed l = {0};
	tsarc_store *st;

	(void)state;
	START(script);
	st = open_store("0");
	assert_int_equal(tsarc_store_list(st, TSARC_OBJ_SNAPSHOT, collect, &l), 0);
	assert_int_equal(l.count, 3);
	assert_string_equal(l.names[0], "s1");
	assert_string_equal(l.names[2], "s3");
	assert_int_equal(srv.nreq, 3);
	assert_null(strstr(srv.heads[0], "continuation-token"));
	assert_non_null(strstr(srv.heads[1], "continuation-token=tok-A&"));
	assert_non_null(strstr(srv.heads[2], "continuation-token=tok-B&"));
	close_store(st);
}

/* A server whose listing goes round in a circle (the same token again, or
 * back to an earlier one), or that says "more" without a token: an error
 * naming the problem, never an endless loop or a listing cut short. */
static void test_list_never_ends(void **state)
{
	static const canned same[] = {
		{REPLY, 200, NULL, LIST_PAGE(MORE("tok-A"), "s1"), -1},
	};
	static const canned circle[] = {
		{REPLY, 200, NULL, LIST_PAGE(MORE("tok-A"), "s1"), -1},
		{REPLY, 200, NULL, LIST_PAGE(MORE("tok-B"), "s2"), -1},
		{REPLY, 200, NULL, LIST_PAGE(MORE("tok-A"), "s3"), -1},
	};
	static const canned no_token[] = {
		{REPLY, 200, NULL, LIST_PAGE("<IsTruncated>true</IsTruncated>", "s1"), -1},
	};
	static const struct {
		const canned *script;
		size_t n;
		const char *must;
		size_t max_names;
	} cases[] = {
		{same, 1, "continuation token 'tok-A' again", 1},
		{circle, 3, "continuation token 'tok-A' again", 2},
		{no_token, 1, "no continuation token", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		listed l = {0};
		tsarc_store *st;

		srv_start(cases[i].script, cases[i].n);
		st = open_store("0");
		expect(tsarc_store_list(st, TSARC_OBJ_SNAPSHOT, collect, &l), TSARC_EIO,
			cases[i].must);
		assert_non_null(strstr(tsarc_error_last()->message, "p/snapshots/"));
		/* the names of a page seen again are not handed out twice */
		assert_true(l.count <= cases[i].max_names);
		close_store(st);
	}
}

static int count_names(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	(void)name;
	(void)size;
	(void)mtime;
	++*(size_t *)payload;
	return 0;
}

/*
 * A 200 whose body is another document than the one asked for: S3's own
 * <Error> inside a 200, or a proxy's or another API's answer. Read as a
 * listing, it listed nothing (no lock: an exclusive lock taken beside a
 * running backup); read as a DeleteObjects result, nothing failed. Each is
 * an error naming what came instead.
 */
static void test_answer_of_another_kind(void **state)
{
	static const canned internal[] = {{REPLY, 200, NULL,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>"
		"<Message>We encountered an internal error. Please try again.</Message>"
		"</Error>", -1}};
	static const canned buckets[] = {{REPLY, 200, NULL,
		"<ListAllMyBucketsResult><Buckets><Bucket><Name>bkt</Name></Bucket>"
		"</Buckets></ListAllMyBucketsResult>", -1}};
	static const canned denied[] = {{REPLY, 200, NULL,
		"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", -1}};
	static const char *const names[] = {"00ab", "00cd"};
	tsarc_store *st;
	size_t n = 0;

	(void)state;
	START(internal);
	st = open_store("0");
	expect(tsarc_store_list(st, TSARC_OBJ_LOCK, count_names, &n), TSARC_ETRANSIENT,
		"InternalError: We encountered an internal error");
	assert_non_null(strstr(tsarc_error_last()->message, "p/locks/"));
	close_store(st);

	START(buckets);
	st = open_store("0");
	expect(tsarc_store_list(st, TSARC_OBJ_LOCK, count_names, &n), TSARC_EIO,
		"<ListAllMyBucketsResult> document where a <ListBucketResult> was due");
	close_store(st);
	assert_int_equal(n, 0);

	START(denied);
	st = open_store("0");
	expect(tsarc_store_remove_many(st, TSARC_OBJ_DATA, names, 2), TSARC_EIO,
		"AccessDenied: Access Denied");
	assert_non_null(strstr(tsarc_error_last()->message, "deleting 2 objects"));
	close_store(st);
}

#define VERSIONS_PAGE(vid)                                                   \
	"<ListVersionsResult><IsTruncated>true</IsTruncated>"                \
	"<NextKeyMarker>p/snapshots/s1</NextKeyMarker>"                      \
	"<NextVersionIdMarker>" vid "</NextVersionIdMarker>"                 \
	"<DeleteMarker><Key>p/snapshots/s1</Key><VersionId>" vid "</VersionId>" \
	"<IsLatest>true</IsLatest>"                                          \
	"<LastModified>2026-11-30T12:00:00.000Z</LastModified></DeleteMarker>" \
	"</ListVersionsResult>"

/* A version listing whose markers come round again with the same key and
 * the version ids taking turns (version ids have no order, so "going
 * back" cannot be seen in them): an error at the first pair sent twice,
 * not a listing that goes on as long as the server likes. */
static void test_versions_never_end(void **state)
{
	canned script[40];
	size_t i, n = 0;
	tsarc_store *st;

	(void)state;
	for (i = 0; i < 40; i++) {
		script[i].action = REPLY;
		script[i].status = 200;
		script[i].headers = NULL;
		script[i].body = i % 2 ? VERSIONS_PAGE("v2") : VERSIONS_PAGE("v1");
		script[i].length = -1;
	}
	START(script);
	st = open_store("0");
	expect(tsarc_store_list_hidden(st, TSARC_OBJ_SNAPSHOT, count_names, &n), TSARC_EIO,
		"markers 'p/snapshots/s1' and 'v1' again");
	assert_int_equal(srv.nreq, 3);
	{
		static const char third[] = "GET /bkt?key-marker=p%2Fsnapshots%2Fs1&"
			"prefix=p%2Fsnapshots%2F&version-id-marker=v2&versions= ";
		assert_true(strncmp(srv.heads[2], third, sizeof(third) - 1) == 0);
	}
	assert_int_equal(n, 2);
	close_store(st);
}

/*
 * A server that says "more follow" on page after page with nothing on
 * them, each with a token (or version marker) it never sent before: no
 * circle to see, and S3 may send an empty truncated page now and then.
 * A thousand in a row is a listing that never ends: an error, not a
 * client that asks for ever.
 */
static void test_empty_pages_never_end(void **state)
{
	static const canned objects[] = {{NUMBERED, 200, NULL,
		"<ListBucketResult><Name>bkt</Name><IsTruncated>true</IsTruncated>"
		"<NextContinuationToken>tok-%zu</NextContinuationToken></ListBucketResult>", -1}};
	static const canned versions[] = {{NUMBERED, 200, NULL,
		"<ListVersionsResult><IsTruncated>true</IsTruncated>"
		"<NextKeyMarker>p/snapshots/s1</NextKeyMarker>"
		"<NextVersionIdMarker>v%zu</NextVersionIdMarker></ListVersionsResult>", -1}};
	listed l = {0};
	size_t n = 0;
	tsarc_store *st;

	(void)state;
	START(objects);
	st = open_store("0");
	expect(tsarc_store_list(st, TSARC_OBJ_SNAPSHOT, collect, &l), TSARC_EIO,
		"1000 pages in a row with nothing on them");
	assert_int_equal(srv.nreq, 1000);
	assert_int_equal(l.count, 0);
	close_store(st);

	START(versions);
	st = open_store("0");
	expect(tsarc_store_list_hidden(st, TSARC_OBJ_SNAPSHOT, count_names, &n), TSARC_EIO,
		"1000 pages in a row with nothing on them");
	assert_int_equal(srv.nreq, 1000);
	close_store(st);
}

/* The kept_until a purge (or its preview) reports for its one name. */
static int record_kept(const char *name, int64_t kept_until, void *payload)
{
	(void)name;
	*(int64_t *)payload = kept_until;
	return 0;
}

static void http_date(char *out, size_t outsz, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outsz, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
}

static void iso_date(char *out, size_t outsz, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

#define ONE_VERSION                                                          \
	"<ListVersionsResult><IsTruncated>false</IsTruncated>"               \
	"<Version><Key>p/data/00/00ab</Key><VersionId>v1</VersionId>"        \
	"<IsLatest>true</IsLatest><LastModified>2026-12-01T00:00:00.000Z"    \
	"</LastModified><Size>7</Size></Version></ListVersionsResult>"

/*
 * A retain-until date is judged by the store's clock (its answers' Date),
 * as the store judges a delete. This host's clock 10 minutes ahead of the
 * store's (S3 takes requests signed up to 15 minutes away): a version
 * retained 3 more minutes by the store's clock, 7 minutes past by this
 * host's, is refused a delete. The purge must hide it and report its
 * date; before, it took the refusal for the credentials' (TSARC_EACCESS,
 * "may these credentials delete object versions?"), and a prune under
 * Object Lock failed with exit 13.
 */
static void test_purge_judges_by_the_store_clock(void **state)
{
	static const char *const names[1] = {"00ab"};
	time_t host = time(NULL), store = host - 600, until = store + 180;
	char date[80], head[256], iso[40];
	canned script[4] = {
		{REPLY, 200, NULL, ONE_VERSION, -1},
		{REPLY, 200, NULL, "<DeleteResult><Error><Key>p/data/00/00ab</Key>"
			"<VersionId>v1</VersionId><Code>AccessDenied</Code><Message>retained"
			"</Message></Error></DeleteResult>", -1},
		{REPLY, 200, NULL, "<DeleteResult></DeleteResult>", -1},
		{REPLY, 200, NULL, "", 0},
	};
	int64_t kept = -1;
	tsarc_store *st;

	(void)state;
	http_date(date, sizeof(date), store);
	iso_date(iso, sizeof(iso), until);
	snprintf(head, sizeof(head), "x-amz-object-lock-mode: GOVERNANCE\r\n"
		"x-amz-object-lock-retain-until-date: %s\r\n%s", iso, date);
	script[3].headers = head;
	START(script);
	st = open_store("0");
	assert_int_equal(tsarc_store_purge_many(st, TSARC_OBJ_DATA, names, 1, record_kept,
				 &kept), 0);
	assert_int_equal(kept, (int64_t)until);
	assert_int_equal(srv.nreq, 4);
	assert_true(strncmp(srv.heads[3], "HEAD /bkt/p/data/00/00ab?versionId=v1 ", 38) == 0);
	close_store(st);
}

/*
 * The preview of a purge (a prune's dry run) by a repository without
 * Object Lock, in a bucket that has it (a default retention rule): the
 * store asks the bucket, then previews as under Object Lock, so that the
 * dry run says what the purge would only hide. Before, it asked nothing
 * and reported every name gone. Its date too is judged by the store's
 * clock: retained 3 more minutes by it, past by this host's.
 */
static void test_preview_asks_a_bucket_that_retains(void **state)
{
	static const char *const names[1] = {"00ab"};
	time_t host = time(NULL), store = host - 600, until = store + 180;
	char date[80], head[256], iso[40];
	canned script[3] = {
		{REPLY, 200, NULL, "<ObjectLockConfiguration><ObjectLockEnabled>Enabled"
			"</ObjectLockEnabled></ObjectLockConfiguration>", -1},
		{REPLY, 200, NULL, ONE_VERSION, -1},
		{REPLY, 200, NULL, "", 0},
	};
	static const canned no_lock[] = {{REPLY, 404, NULL, "<Error><Code>"
		"ObjectLockConfigurationNotFoundError</Code><Message>none</Message></Error>", -1}};
	int64_t kept = -1;
	tsarc_store *st;

	(void)state;
	http_date(date, sizeof(date), store);
	iso_date(iso, sizeof(iso), until);
	snprintf(head, sizeof(head), "x-amz-object-lock-mode: GOVERNANCE\r\n"
		"x-amz-object-lock-retain-until-date: %s\r\n%s", iso, date);
	script[2].headers = head;
	START(script);
	st = open_store("0");
	assert_int_equal(tsarc_store_purge_preview(st, TSARC_OBJ_DATA, names, 1, record_kept,
				 &kept), 0);
	assert_int_equal(kept, (int64_t)until);
	assert_int_equal(srv.nreq, 3);
	assert_true(strncmp(srv.heads[0], "GET /bkt?object-lock= ", 22) == 0);
	assert_true(strncmp(srv.heads[2], "HEAD /bkt/p/data/00/00ab?versionId=v1 ", 38) == 0);
	close_store(st);

	/* A bucket without Object Lock: the one question, nothing else. */
	START(no_lock);
	st = open_store("0");
	kept = -1;
	assert_int_equal(tsarc_store_purge_preview(st, TSARC_OBJ_DATA, names, 1, record_kept,
				 &kept), 0);
	assert_int_equal(kept, 0);
	assert_int_equal(tsarc_store_purge_preview(st, TSARC_OBJ_DATA, names, 1, record_kept,
				 &kept), 0);
	assert_int_equal(srv.nreq, 1);
	close_store(st);
}

/* A dry run under credentials that may neither ask the bucket whether it
 * has Object Lock nor list versions: the refusal names both permissions,
 * either of which lets it run. Before, it named only the listing, "which
 * removing an object needs", of a dry run that removes nothing. */
static void test_preview_refused_names_both_permissions(void **state)
{
	static const char *const names[1] = {"00ab"};
	static const canned script[2] = {
		{REPLY, 403, NULL, "<Error><Code>AccessDenied</Code><Message>denied</Message>"
			"</Error>", -1},
		{REPLY, 403, NULL, "<Error><Code>AccessDenied</Code><Message>denied</Message>"
			"</Error>", -1},
	};
	int64_t kept = -1;
	tsarc_store *st;

	(void)state;
	START(script);
	st = open_store("0");
	assert_int_equal(tsarc_store_purge_preview(st, TSARC_OBJ_DATA, names, 1, record_kept,
				 &kept), TSARC_EACCESS);
	assert_non_null(strstr(tsarc_error_last()->message, "s3:GetBucketObjectLockConfiguration"));
	assert_non_null(strstr(tsarc_error_last()->message, "s3:ListBucketVersions"));
	assert_int_equal(srv.nreq, 2);
	close_store(st);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_versions_never_end),
	cmocka_unit_test(test_answer_of_another_kind),
	cmocka_unit_test(test_delete_batches),
	cmocka_unit_test(test_list_pages),
	cmocka_unit_test(test_list_never_ends),
	cmocka_unit_test(test_empty_pages_never_end),
	cmocka_unit_test(test_purge_judges_by_the_store_clock),
	cmocka_unit_test(test_preview_asks_a_bucket_that_retains),
	cmocka_unit_test(test_preview_refused_names_both_permissions))
