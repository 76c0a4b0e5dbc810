/*
 * What the s3 store makes of a final refusal (reply.c), against the canned
 * server (canned_server.h): a region redirect or a region named in an
 * authorization error says which AWS_REGION to set, clock skew, expired
 * tokens, denied access and missing keys or buckets are final (no retry)
 * and each names what to fix.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tsarc/errors.h"
#include "canned_server.h"
#include "cmocka_main.h"

static void test_region_redirect(void **state)
{
	static const canned script[] = {{REPLY, 301,
		"x-amz-bucket-region: eu-west-1\r\n",
		"<Error><Code>PermanentRedirect</Code><Message>use the right endpoint"
		"</Message><Endpoint>bkt.s3.eu-west-1.amazonaws.com</Endpoint></Error>", -1}};

	(void)state;
	get_refused(script, 1, "3", NULL, NULL, TSARC_ECONFIG, "AWS_REGION=eu-west-1");
	assert_int_equal(srv.nreq, 1); /* permanent: no retry */
	srv_stop();
}

static void test_region_in_auth_error(void **state)
{
	static const canned script[] = {{REPLY, 400, NULL,
		"<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region "
		"'us-east-1' is wrong; expecting 'eu-central-1'</Message>"
		"<Region>eu-central-1</Region></Error>", -1}};

	(void)state;
	get_refused(script, 1, "3", NULL, NULL, TSARC_ECONFIG, "AWS_REGION=eu-central-1");
	assert_int_equal(srv.nreq, 1);
	srv_stop();
}

static void test_permanent_codes(void **state)
{
	static const canned skew[] = {{REPLY, 403, NULL,
		"<Error><Code>RequestTimeTooSkewed</Code></Error>", -1}};
	static const canned token[] = {{REPLY, 400, NULL,
		"<Error><Code>ExpiredToken</Code></Error>", -1}};
	static const canned denied[] = {{REPLY, 403, NULL,
		"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", -1}};
	static const canned nokey[] = {{REPLY, 404, NULL,
		"<Error><Code>NoSuchKey</Code></Error>", -1}};
	static const canned nobucket[] = {{REPLY, 404, NULL,
		"<Error><Code>NoSuchBucket</Code><BucketName>bkt</BucketName></Error>", -1}};
	static const struct {
		const canned *script;
		int code;
		const char *must;
	} cases[] = {
		{skew, TSARC_ECONFIG, "clock"},
		{token, TSARC_EACCESS, "session token"},
		{denied, TSARC_EACCESS, "AKCANNED"},
		{nokey, TSARC_ENOTFOUND, "p/snapshots/s1"},
		{nobucket, TSARC_ENOTFOUND, "bucket 'bkt' does not exist"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		get_refused(cases[i].script, 1, "3", NULL, "s1", cases[i].code, cases[i].must);
		assert_int_equal(srv.nreq, 1);
		srv_stop();
	}
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_region_redirect),
	cmocka_unit_test(test_region_in_auth_error),
	cmocka_unit_test(test_permanent_codes))
