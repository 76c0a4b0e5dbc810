/* Parsing of S3 response documents: real shapes, and hostile ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/stores/s3/xml.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

static void test_error_doc(void **state)
{
	static const char doc[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<Error><Code>AuthorizationHeaderMalformed</Code>"
		"<Message>the region &apos;us-east-1&apos; is wrong</Message>"
		"<Region>eu-west-1</Region><RequestId>x</RequestId></Error>";
	tsarc__s3_error_doc e;

	(void)state;
	tsarc__s3_parse_error(&e, doc, sizeof(doc) - 1);
	assert_string_equal(e.code, "AuthorizationHeaderMalformed");
	assert_string_equal(e.message, "the region 'us-east-1' is wrong");
	assert_string_equal(e.region, "eu-west-1");

	/* garbage leaves it empty and keeps the current error */
	tsarc_error_set(TSARC_EACCESS, "kept");
	tsarc__s3_parse_error(&e, "<Error><Code>x", 14);
	assert_string_equal(e.code, "");
	assert_string_equal(tsarc_error_last()->message, "kept");
	tsarc__s3_parse_error(&e, NULL, 0);
	assert_string_equal(e.code, "");
}

static void test_list_page(void **state)
{
	static const char doc[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>b</Name><Prefix>p/data/</Prefix><KeyCount>2</KeyCount>"
		"<MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>"
		"<Contents><Key>p/data/ab/ab01</Key><LastModified>2026-01-01T00:00:00.000Z"
		"</LastModified><ETag>&quot;abc&quot;</ETag><Size>123</Size>"
		"<StorageClass>STANDARD</StorageClass></Contents>"
		"<Contents><Size>18446744073709551615</Size><Key>p/data/&amp;x</Key>"
		"<LastModified>2026-11-30T15:04:05Z</LastModified></Contents>"
		"<NextContinuationToken>1/a+b=</NextContinuationToken>"
		"</ListBucketResult>";
	tsarc__s3_list_page p;

	(void)state;
	assert_int_equal(tsarc__s3_parse_list(&p, doc, sizeof(doc) - 1), 0);
	{ /* xsd:boolean's other spelling of true */
		tsarc__s3_list_page q;
		static const char one[] = "<ListBucketResult><IsTruncated>1</IsTruncated>"
			"<NextContinuationToken>t</NextContinuationToken></ListBucketResult>";
		assert_int_equal(tsarc__s3_parse_list(&q, one, sizeof(one) - 1), 0);
		assert_true(q.truncated);
		tsarc__s3_list_page_dispose(&q);
	}
	assert_int_equal(p.count, 2);
	assert_string_equal(p.entries[0].key, "p/data/ab/ab01");
	assert_int_equal(p.entries[0].size, 123);
	assert_int_equal(p.entries[0].mtime, 1767225600); /* 2026-01-01T00:00:00Z */
	/* The ETag without its quotes (the index cache's tag); none: "". */
	assert_string_equal(p.entries[0].etag, "abc");
	assert_string_equal(p.entries[1].etag, "");
	assert_string_equal(p.entries[1].key, "p/data/&x");
	assert_true(p.entries[1].size == UINT64_MAX);
	assert_int_equal(p.entries[1].mtime, 1796051045);
	assert_true(p.truncated);
	assert_string_equal(p.next_token, "1/a+b=");
	tsarc__s3_list_page_dispose(&p);
}

static void test_list_hostile(void **state)
{
	static const char *const bad[] = {
		/* truncated without a token */
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
		/* neither true nor false: never taken for the last page */
		"<ListBucketResult><IsTruncated>True</IsTruncated>"
		"<NextContinuationToken>t</NextContinuationToken></ListBucketResult>",
		"<ListBucketResult><IsTruncated></IsTruncated></ListBucketResult>",
		/* size overflow */
		"<ListBucketResult><Contents><Key>k</Key><Size>18446744073709551616</Size>"
		"</Contents></ListBucketResult>",
		/* negative size */
		"<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents>"
		"</ListBucketResult>",
		/* no size */
		"<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
		/* no LastModified: staleness could not be judged */
		"<ListBucketResult><Contents><Key>k</Key><Size>1</Size></Contents>"
		"</ListBucketResult>",
		/* a LastModified that is not a time */
		"<ListBucketResult><Contents><Key>k</Key><Size>1</Size>"
		"<LastModified>yesterday</LastModified></Contents></ListBucketResult>",
		/* not XML */
		"<ListBucketResult><Contents>",
		/* entity expansion */
		"<!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
		"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">"
		"<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">]>"
		"<ListBucketResult><Contents><Key>&e;&e;&e;&e;&e;&e;&e;&e;&e;</Key><Size>1</Size>"
		"</Contents></ListBucketResult>",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tsarc__s3_list_page p;
		int rc = tsarc__s3_parse_list(&p, bad[i], strlen(bad[i]));
		if (rc == 0)
			fail_msg("document %zu was accepted", i);
		assert_int_equal(p.count, 0);
		assert_null(p.entries);
	}
}

static void test_list_deep_nesting(void **state)
{
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc__s3_list_page p;
	int i;

	(void)state;
	tsarc_buf_puts(&b, "<ListBucketResult>");
	for (i = 0; i < 100; i++)
		tsarc_buf_puts(&b, "<x>");
	for (i = 0; i < 100; i++)
		tsarc_buf_puts(&b, "</x>");
	tsarc_buf_puts(&b, "<Contents><Key>k</Key><Size>5</Size>"
		"<LastModified>2026-01-01T00:00:00Z</LastModified></Contents></ListBucketResult>");
	assert_int_equal(tsarc__s3_parse_list(&p, (char *)b.ptr, b.size), 0);
	assert_int_equal(p.count, 1);
	tsarc__s3_list_page_dispose(&p);
	tsarc_buf_dispose(&b);
}

static void test_delete_result(void **state)
{
	static const char doc[] =
		"<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Error><Key>gone</Key><Code>NoSuchKey</Code><Message>m</Message></Error>"
		"<Error><Key>p/locks/a</Key><Code>AccessDenied</Code><Message>Access Denied"
		"</Message></Error>"
		"<Error><Key>p/locks/b</Key><Code>InternalError</Code></Error>"
		"</DeleteResult>";
	tsarc__s3_delete_result r;

	(void)state;
	assert_int_equal(tsarc__s3_parse_delete(&r, doc, sizeof(doc) - 1), 0);
	assert_int_equal(r.errors, 2);
	assert_string_equal(r.key, "p/locks/a");
	assert_string_equal(r.code, "AccessDenied");
	assert_string_equal(r.message, "Access Denied");
	assert_int_equal(tsarc__s3_parse_delete(&r, "<DeleteResult/>", 15), 0);
	assert_int_equal(r.errors, 0);
}

static void test_versions_page(void **state)
{
	static const char ok[] =
		"<ListVersionsResult><IsTruncated>true</IsTruncated>"
		"<NextKeyMarker>p/k2</NextKeyMarker><NextVersionIdMarker>v9</NextVersionIdMarker>"
		"<DeleteMarker><Key>p/k1</Key><VersionId>m1</VersionId><IsLatest>true</IsLatest>"
		"<LastModified>2026-12-01T00:00:10.000Z</LastModified></DeleteMarker>"
		"<Version><Key>p/k1</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest>"
		"<LastModified>2026-12-01T00:00:00.000Z</LastModified><Size>42</Size></Version>"
		"</ListVersionsResult>";
	static const char *const bad[] = {
		/* truncated without a marker to go on from */
		"<ListVersionsResult><IsTruncated>true</IsTruncated></ListVersionsResult>",
		"<ListVersionsResult><IsTruncated>yes</IsTruncated>"
		"<NextKeyMarker>k</NextKeyMarker></ListVersionsResult>",
		/* an entry without a version id, one without a time, a bad size */
		"<ListVersionsResult><Version><Key>k</Key><LastModified>2026-12-01T00:00:00Z"
		"</LastModified></Version></ListVersionsResult>",
		"<ListVersionsResult><Version><Key>k</Key><VersionId>v</VersionId></Version>"
		"</ListVersionsResult>",
		"<ListVersionsResult><Version><Key>k</Key><VersionId>v</VersionId><Size>-1</Size>"
		"<LastModified>2026-12-01T00:00:00Z</LastModified></Version></ListVersionsResult>",
		"<ListVersionsResult><Version><Key></Key><VersionId>v</VersionId>"
		"<LastModified>2026-12-01T00:00:00Z</LastModified></Version></ListVersionsResult>",
	};
	tsarc__s3_versions_page p;
	size_t i;

	(void)state;
	assert_int_equal(tsarc__s3_parse_versions(&p, ok, sizeof(ok) - 1), 0);
	assert_int_equal(p.count, 2);
	assert_true(p.truncated);
	assert_string_equal(p.next_key, "p/k2");
	assert_string_equal(p.next_version, "v9");
	assert_string_equal(p.entries[0].key, "p/k1");
	assert_true(p.entries[0].marker);
	assert_true(p.entries[0].latest);
	assert_string_equal(p.entries[1].version_id, "v1");
	assert_false(p.entries[1].marker);
	assert_false(p.entries[1].latest);
	assert_int_equal(p.entries[1].size, 42);
	assert_int_equal(p.entries[0].mtime - p.entries[1].mtime, 10);
	tsarc__s3_versions_page_dispose(&p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tsarc__s3_parse_versions(&p, bad[i], strlen(bad[i])), TSARC_EIO);
		assert_null(p.entries);
		assert_int_equal(p.count, 0);
	}
}

static void test_delete_errors_and_lock_config(void **state)
{
	static const char errs[] =
		"<DeleteResult><Deleted><Key>a</Key></Deleted>"
		"<Error><Key>p/k1</Key><VersionId>v1</VersionId><Code>AccessDenied</Code>"
		"<Message>locked</Message></Error>"
		"<Error><Key>p/k2</Key><Code>InternalError</Code></Error></DeleteResult>";
	tsarc__s3_delete_errors e;
	int enabled = 7;

	(void)state;
	assert_int_equal(tsarc__s3_parse_delete_errors(&e, errs, sizeof(errs) - 1), 0);
	assert_int_equal(e.count, 2);
	assert_string_equal(e.v[0].key, "p/k1");
	assert_string_equal(e.v[0].version_id, "v1");
	assert_string_equal(e.v[0].code, "AccessDenied");
	assert_null(e.v[1].version_id);
	assert_string_equal(e.v[1].code, "InternalError");
	tsarc__s3_delete_errors_dispose(&e);
	assert_int_equal(tsarc__s3_parse_delete_errors(&e,
		"<DeleteResult><Error><Code>X</Code></Error></DeleteResult>", 58), TSARC_EIO);
	/* Ceph RGW's refusal of a delete without a version (a bucket policy
	 * denying s3:DeleteObject) names an empty version: none. */
	static const char rgw[] =
		"<DeleteResult><Error><Key>p/keys/k</Key><VersionId></VersionId>"
		"<Code>AccessDenied</Code><Message>AccessDenied</Message></Error></DeleteResult>";
	assert_int_equal(tsarc__s3_parse_delete_errors(&e, rgw, sizeof(rgw) - 1), 0);
	assert_int_equal(e.count, 1);
	assert_string_equal(e.v[0].key, "p/keys/k");
	assert_null(e.v[0].version_id);
	assert_string_equal(e.v[0].code, "AccessDenied");
	tsarc__s3_delete_errors_dispose(&e);
	assert_int_equal(tsarc__s3_parse_lock_config(&enabled,
		"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
		"</ObjectLockConfiguration>", 97), 0);
	assert_int_equal(enabled, 1);
	assert_int_equal(tsarc__s3_parse_lock_config(&enabled,
		"<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled>"
		"</ObjectLockConfiguration>", 98), 0);
	assert_int_equal(enabled, 0);
}

/* A document of another kind than the one asked for is refused by every
 * parser, an <Error> with its code and message, never read as an empty
 * listing, a deletion without errors or a bucket without Object Lock. */
static void test_other_document(void **state)
{
	static const char err[] =
		"<Error><Code>SlowDown</Code><Message>Please reduce your request rate."
		"</Message></Error>";
	static const char other[] = "<ListBucketResult><IsTruncated>false</IsTruncated>"
		"</ListBucketResult>";
	tsarc__s3_list_page lp;
	tsarc__s3_versions_page vp;
	tsarc__s3_delete_result dr;
	tsarc__s3_delete_errors de;
	int enabled = 7;

	(void)state;
	assert_int_equal(tsarc__s3_parse_list(&lp, err, sizeof(err) - 1), TSARC_ETRANSIENT);
	assert_non_null(strstr(tsarc_error_last()->message,
		"instead of a <ListBucketResult> document: SlowDown: Please reduce"));
	assert_null(lp.entries);
	assert_int_equal(tsarc__s3_parse_versions(&vp, err, sizeof(err) - 1), TSARC_ETRANSIENT);
	assert_int_equal(tsarc__s3_parse_versions(&vp, other, sizeof(other) - 1), TSARC_EIO);
	assert_non_null(strstr(tsarc_error_last()->message,
		"a <ListBucketResult> document where a <ListVersionsResult> was due"));
	assert_null(vp.entries);
	assert_int_equal(tsarc__s3_parse_delete(&dr, err, sizeof(err) - 1), TSARC_ETRANSIENT);
	assert_int_equal(tsarc__s3_parse_delete(&dr, other, sizeof(other) - 1), TSARC_EIO);
	assert_int_equal(tsarc__s3_parse_delete_errors(&de, other, sizeof(other) - 1),
		TSARC_EIO);
	assert_null(de.v);
	assert_int_equal(tsarc__s3_parse_lock_config(&enabled, other, sizeof(other) - 1),
		TSARC_EIO);
	assert_int_equal(tsarc__s3_parse_delete(&dr,
		"<Error><Code>AccessDenied</Code></Error>", 40), TSARC_EIO);
	assert_non_null(strstr(tsarc_error_last()->message, "AccessDenied"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_doc),
		cmocka_unit_test(test_list_page),
		cmocka_unit_test(test_list_hostile),
		cmocka_unit_test(test_list_deep_nesting),
		cmocka_unit_test(test_delete_result),
		cmocka_unit_test(test_versions_page),
		cmocka_unit_test(test_delete_errors_and_lock_config),
		cmocka_unit_test(test_other_document),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
