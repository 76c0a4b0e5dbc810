/* The credential answers' parsers and the object PUT options, without a
 * network (tests/s3/creds.sh drives the providers against test doubles). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include <stdlib.h>
#include <string.h>

#include "../../backends/stores/s3/config.h"
#include "../../backends/stores/s3/metadata.h"
#include "../../backends/stores/s3/xml.h"
#include "tsarc/errors.h"
#include "aws_env.h"

#define EXP_2040 1606768800LL /* 2020-11-30T20:40:00Z */

/* The parsed keys are these, expiring at EXP_2040; disposes of them. */
static void expect_creds(tsarc__s3_creds *c, const char *access, const char *secret,
	const char *token)
{
	assert_string_equal(c->access_key, access);
	assert_string_equal(c->secret_key, secret);
	assert_string_equal(c->session_token, token);
	assert_int_equal(c->expires, EXP_2040);
	tsarc__s3_creds_dispose(c);
}

static void test_sts_xml(void **state)
{
	static const char ok[] =
		"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
		"<AssumedRoleUser><Arn>arn:x</Arn></AssumedRoleUser><Credentials>"
		"<SessionToken>tok+/=</SessionToken><SecretAccessKey>sec&amp;ret</SecretAccessKey>"
		"<Expiration>2020-11-30T20:40:00.500Z</Expiration><AccessKeyId>ASIA1</AccessKeyId>"
		"</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
	static const char no_token[] =
		"<R><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
		"<Expiration>2020-11-30T20:40:00Z</Expiration></Credentials></R>";
	/* Keys outside <Credentials> are not credentials. */
	static const char elsewhere[] =
		"<R><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
		"<SessionToken>T</SessionToken><Expiration>2020-11-30T20:40:00Z</Expiration></R>";
	tsarc__s3_creds c;

	(void)state;
	assert_int_equal(tsarc__s3_parse_sts_creds(&c, ok, strlen(ok)), 0);
	expect_creds(&c, "ASIA1", "sec&ret", "tok+/=");
	assert_int_equal(tsarc__s3_parse_sts_creds(&c, no_token, strlen(no_token)), TSARC_EIO);
	assert_null(c.access_key);
	assert_int_equal(tsarc__s3_parse_sts_creds(&c, elsewhere, strlen(elsewhere)), TSARC_EIO);
	assert_int_equal(tsarc__s3_parse_sts_creds(&c, "<a><b>", 6), TSARC_EIO);
}

static void test_cred_json(void **state)
{
	static const char imds[] =
		"{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIA2\","
		"\"SecretAccessKey\":\"s2\",\"Token\":\"t2\",\"Expiration\":\"2020-11-30T20:40:00Z\"}";
	static const char failed[] = "{\"Code\":\"AssumeRoleUnauthorizedAccess\"}";
	static const char no_exp[] =
		"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\"}";
	tsarc__s3_creds c;

	(void)state;
	assert_int_equal(tsarc__s3_parse_cred_json(&c, imds, strlen(imds)), 0);
	expect_creds(&c, "ASIA2", "s2", "t2");
	assert_int_equal(tsarc__s3_parse_cred_json(&c, failed, strlen(failed)), TSARC_EACCESS);
	assert_int_equal(tsarc__s3_parse_cred_json(&c, no_exp, strlen(no_exp)), TSARC_EIO);
	assert_int_equal(tsarc__s3_parse_cred_json(&c, "[1]", 3), TSARC_EIO);
	assert_null(c.access_key);
}

static void test_put_opts(void **state)
{
	tsarc_store_options o;
	tsarc__s3_put_opts p;
	tsarc__s3_kv h[3];

	(void)state;
	clear_aws_env();
	unsetenv("TSARC_S3_SSE");
	unsetenv("TSARC_S3_SSE_KMS_KEY_ID");
	unsetenv("TSARC_S3_STORAGE_CLASS");
	memset(&o, 0, sizeof(o));
	assert_int_equal(tsarc__s3_put_opts_load(&p, &o), 0);
	assert_int_equal(tsarc__s3_put_opts_headers(&p, h), 0);
	tsarc__s3_put_opts_dispose(&p);

	o.s3_sse = "aws:kms";
	o.s3_sse_kms_key_id = "arn:aws:kms:eu-west-1:1:key/k";
	o.s3_storage_class = "STANDARD_IA";
	assert_int_equal(tsarc__s3_put_opts_load(&p, &o), 0);
	assert_int_equal(tsarc__s3_put_opts_headers(&p, h), 3);
	assert_string_equal(h[0].name, "x-amz-server-side-encryption");
	assert_string_equal(h[0].value, "aws:kms");
	assert_string_equal(h[1].name, "x-amz-server-side-encryption-aws-kms-key-id");
	assert_string_equal(h[2].value, "STANDARD_IA");
	tsarc__s3_put_opts_dispose(&p);

	/* The environment when the option is not given. */
	memset(&o, 0, sizeof(o));
	setenv("TSARC_S3_SSE", "AES256", 1);
	assert_int_equal(tsarc__s3_put_opts_load(&p, &o), 0);
	assert_string_equal(p.sse, "AES256");
	tsarc__s3_put_opts_dispose(&p);

	/* Typos fail at once. */
	setenv("TSARC_S3_SSE", "aes256", 1);
	assert_int_equal(tsarc__s3_put_opts_load(&p, &o), TSARC_ECONFIG);
	setenv("TSARC_S3_SSE", "AES256", 1);
	o.s3_sse_kms_key_id = "k";
	assert_int_equal(tsarc__s3_put_opts_load(&p, &o), TSARC_ECONFIG);
	o.s3_sse_kms_key_id = NULL;
	o.s3_storage_class = "standard";
	assert_int_equal(tsarc__s3_put_opts_load(&p, &o), TSARC_ECONFIG);
	o.s3_storage_class = "DEEP_ARCHIVE";
	assert_int_equal(tsarc__s3_put_opts_load(&p, &o), TSARC_ECONFIG);
	unsetenv("TSARC_S3_SSE");
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_sts_xml),
	cmocka_unit_test(test_cred_json),
	cmocka_unit_test(test_put_opts))
