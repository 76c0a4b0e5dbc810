/* Credential and region discovery, the way the AWS tools do it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backends/s3/config.h"
#include "tsarc/errors.h"
#include "tsarc/sys/store.h"
#include "aws_env.h"


static char dir[256], cred_path[300], conf_path[300];


static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tsarc-s3cfg-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cred_path, sizeof(cred_path), "%s/credentials", dir);
	snprintf(conf_path, sizeof(conf_path), "%s/config", dir);
	write_file(cred_path,
		"# comment\n"
		"[default]\n"
		"aws_access_key_id = AKDEFAULT\n"
		"aws_secret_access_key = secret-default\n"
		"\n"
		"[ops]\n"
		"aws_access_key_id=AKOPS\n"
		"aws_secret_access_key=secret/ops+==\n"
		"aws_session_token = tok-ops\n");
	write_file(conf_path,
		"[default]\n"
		"region = eu-central-1\n"
		"[profile ops]\n"
		"region = ap-south-1\n"
		"[profile confonly]\n"
		"aws_access_key_id = AKCONF\n"
		"aws_secret_access_key = secret-conf\n"
		"[ops]\n"
		"region = wrong-section-for-config-file\n");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(cred_path);
	unlink(conf_path);
	rmdir(dir);
	return 0;
}

static void use_files(void)
{
	clear_aws_env();
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
	setenv("AWS_CONFIG_FILE", conf_path, 1);
}

static void test_env_wins(void **state)
{
	tsarc__s3_creds c;

	(void)state;
	use_files();
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret-env", 1);
	setenv("AWS_SESSION_TOKEN", "tok-env", 1);
	setenv("AWS_DEFAULT_REGION", "us-west-1", 1);
	assert_int_equal(tsarc__s3_creds_load(&c), 0);
	assert_string_equal(c.access_key, "AKENV");
	assert_string_equal(c.secret_key, "secret-env");
	assert_string_equal(c.session_token, "tok-env");
	assert_string_equal(c.region, "us-west-1");
	tsarc__s3_creds_dispose(&c);
	setenv("AWS_REGION", "us-west-2", 1); /* AWS_REGION before the default */
	assert_int_equal(tsarc__s3_creds_load(&c), 0);
	assert_string_equal(c.region, "us-west-2");
	tsarc__s3_creds_dispose(&c);
}

static void test_default_profile(void **state)
{
	tsarc__s3_creds c;

	(void)state;
	use_files();
	assert_int_equal(tsarc__s3_creds_load(&c), 0);
	assert_string_equal(c.access_key, "AKDEFAULT");
	assert_string_equal(c.secret_key, "secret-default");
	assert_null(c.session_token);
	assert_string_equal(c.region, "eu-central-1");
	assert_non_null(strstr(c.source, "default"));
	tsarc__s3_creds_dispose(&c);
}

static void test_named_profile(void **state)
{
	tsarc__s3_creds c;

	(void)state;
	use_files();
	setenv("AWS_PROFILE", "ops", 1);
	assert_int_equal(tsarc__s3_creds_load(&c), 0);
	assert_string_equal(c.access_key, "AKOPS");
	assert_string_equal(c.secret_key, "secret/ops+==");
	assert_string_equal(c.session_token, "tok-ops");
	/* config sections are "[profile ops]", not "[ops]" */
	assert_string_equal(c.region, "ap-south-1");
	tsarc__s3_creds_dispose(&c);

	setenv("AWS_PROFILE", "confonly", 1);
	assert_int_equal(tsarc__s3_creds_load(&c), 0);
	assert_string_equal(c.access_key, "AKCONF");
	assert_string_equal(c.region, "us-east-1");
	tsarc__s3_creds_dispose(&c);
}

static void test_missing(void **state)
{
	tsarc__s3_creds c;

	(void)state;
	use_files();
	setenv("AWS_PROFILE", "nosuch", 1);
	assert_int_equal(tsarc__s3_creds_load(&c), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, "nosuch"));
	assert_non_null(strstr(tsarc_error_last()->message, "AWS_ACCESS_KEY_ID"));

	clear_aws_env();
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/x", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/y", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "only-the-secret", 1);
	assert_int_equal(tsarc__s3_creds_load(&c), TSARC_ECONFIG);
	assert_null(strstr(tsarc_error_last()->message, "only-the-secret"));
}

/* Repository URLs: the forms accepted, how they read back, and no network
 * needed to open one. */
static void test_urls(void **state)
{
	static const struct {
		const char *url, *endpoint_env, *desc;
	} good[] = {
		{"s3://my-bucket/pre/fix/", NULL, "s3://my-bucket/pre/fix"},
		{"s3://my.dotted.bucket", NULL, "s3://my.dotted.bucket"},
		{"s3://bkt/p", "http://127.0.0.1:9000", "s3:http://127.0.0.1:9000/bkt/p"},
		{"s3://bkt/p", "https://minio.example/", "s3:https://minio.example/bkt/p"},
		{"s3:https://minio.example:9000/b1x/prod backups", NULL,
			"s3:https://minio.example:9000/b1x/prod backups"},
		{"s3:http://[::1]:8080/bucket", NULL, "s3:http://[::1]:8080/bucket"},
	};
	static const char *const bad[] = {
		"s3:http://127.0.0.1:1", "s3:http://127.0.0.1:1/", "s3:ftp://host/bucket",
		"s3:http://user:pass@host/bucket", "s3:http://host/b", "s3://",
		"s3:http://host/bucket/a//b", "s3:http://host/bucket/a/../b",
		"s3:http://host/bucket?x=1", "s3:bucket/prefix", "s3://bucket!/p",
	};
	size_t i;

	(void)state;
	clear_aws_env();
	setenv("AWS_ACCESS_KEY_ID", "AKURL", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret-url", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/x", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/y", 1);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		tsarc_store *st = NULL;
		if (good[i].endpoint_env)
			setenv("AWS_ENDPOINT_URL", good[i].endpoint_env, 1);
		else
			unsetenv("AWS_ENDPOINT_URL");
		if (tsarc_store_open(&st, good[i].url, NULL) != 0)
			fail_msg("%s: %s", good[i].url, tsarc_error_last()->message);
		assert_string_equal(tsarc_store_describe(st), good[i].desc);
		assert_string_equal(st->kind, "s3");
		tsarc_store_free(st);
	}
	unsetenv("AWS_ENDPOINT_URL");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tsarc_store *st = NULL;
		int rc = tsarc_store_open(&st, bad[i], NULL);
		if (rc != TSARC_ECONFIG)
			fail_msg("%s: expected ECONFIG, got %s", bad[i], tsarc_errname(rc));
		assert_null(st);
		/* a URL with credentials in it is never echoed */
		assert_null(strstr(tsarc_error_last()->message, "pass"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_wins),
		cmocka_unit_test(test_default_profile),
		cmocka_unit_test(test_named_profile),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_urls),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
