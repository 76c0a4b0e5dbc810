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

/* The two answers credentials come in: STS XML (AssumeRoleWithWebIdentity)
 * and the JSON of the container and instance endpoints. Good ones give the
 * keys, expiring at EXP_2040; a failure leaves nothing behind. */
static void test_answers(void **state)
{
	typedef int (*parser)(tsarc__s3_creds *, const char *, size_t);
	static const struct {
		parser parse;
		const char *text;
		int rc;
		const char *access, *secret, *token;
	} cases[] = {
		{tsarc__s3_parse_sts_creds,
			"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
			"<AssumedRoleUser><Arn>arn:x</Arn></AssumedRoleUser><Credentials>"
			"<SessionToken>tok+/=</SessionToken><SecretAccessKey>sec&amp;ret</SecretAccessKey>"
			"<Expiration>2020-11-30T20:40:00.500Z</Expiration><AccessKeyId>ASIA1</AccessKeyId>"
			"</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
			0, "ASIA1", "sec&ret", "tok+/="},
		/* no session token */
		{tsarc__s3_parse_sts_creds,
			"<R><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
			"<Expiration>2020-11-30T20:40:00Z</Expiration></Credentials></R>", TSARC_EIO, NULL, NULL, NULL},
		/* Keys outside <Credentials> are not credentials. */
		{tsarc__s3_parse_sts_creds,
			"<R><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
			"<SessionToken>T</SessionToken><Expiration>2020-11-30T20:40:00Z</Expiration></R>",
			TSARC_EIO, NULL, NULL, NULL},
		{tsarc__s3_parse_sts_creds, "<a><b>", TSARC_EIO, NULL, NULL, NULL},
		{tsarc__s3_parse_cred_json,
			"{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIA2\","
			"\"SecretAccessKey\":\"s2\",\"Token\":\"t2\",\"Expiration\":\"2020-11-30T20:40:00Z\"}",
			0, "ASIA2", "s2", "t2"},
		{tsarc__s3_parse_cred_json, "{\"Code\":\"AssumeRoleUnauthorizedAccess\"}",
			TSARC_EACCESS, NULL, NULL, NULL},
		/* no expiry */
		{tsarc__s3_parse_cred_json,
			"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\"}",
			TSARC_EIO, NULL, NULL, NULL},
		{tsarc__s3_parse_cred_json, "[1]", TSARC_EIO, NULL, NULL, NULL},
	};
	tsarc__s3_creds c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].parse(&c, cases[i].text, strlen(cases[i].text)) != cases[i].rc)
			fail_msg("case %zu: expected %s", i, tsarc_errname(cases[i].rc));
		if (cases[i].rc) {
			assert_null(c.access_key);
			continue;
		}
		assert_string_equal(c.access_key, cases[i].access);
		assert_string_equal(c.secret_key, cases[i].secret);
		assert_string_equal(c.session_token, cases[i].token);
		assert_int_equal(c.expires, EXP_2040);
		tsarc__s3_creds_dispose(&c);
	}
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
	cmocka_unit_test(test_answers),
	cmocka_unit_test(test_put_opts))
