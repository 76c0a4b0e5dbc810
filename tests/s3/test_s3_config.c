/* Credential and region discovery, the way the AWS tools do it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backends/stores/s3/config.h"
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

/* Where the keys and the region come from: the environment before the
 * files, AWS_REGION before AWS_DEFAULT_REGION, the default profile or
 * AWS_PROFILE, and a profile's region from "[profile NAME]" of the config
 * file (us-east-1 when it has none). */
static void test_profiles(void **state)
{
	static const char *const from_env[] = {"AWS_ACCESS_KEY_ID", "AKENV",
		"AWS_SECRET_ACCESS_KEY", "secret-env", "AWS_SESSION_TOKEN", "tok-env",
		"AWS_DEFAULT_REGION", "us-west-1", NULL};
	static const char *const region[] = {"AWS_REGION", "us-west-2", NULL};
	static const char *const ops[] = {"AWS_PROFILE", "ops", NULL};
	static const char *const confonly[] = {"AWS_PROFILE", "confonly", NULL};
	static const struct {
		const char *const *env, *const *more;
		const char *access, *secret, *token, *region, *source;
	} cases[] = {
		{from_env, NULL, "AKENV", "secret-env", "tok-env", "us-west-1", NULL},
		{from_env, region, "AKENV", "secret-env", "tok-env", "us-west-2", NULL},
		{NULL, NULL, "AKDEFAULT", "secret-default", NULL, "eu-central-1", "default"},
		/* config sections are "[profile ops]", not "[ops]" */
		{ops, NULL, "AKOPS", "secret/ops+==", "tok-ops", "ap-south-1", NULL},
		{confonly, NULL, "AKCONF", "secret-conf", NULL, "us-east-1", NULL},
	};
	tsarc__s3_creds c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		use_files();
		if (cases[i].env)
			set_env(cases[i].env);
		if (cases[i].more)
			set_env(cases[i].more);
		assert_int_equal(tsarc__s3_creds_load(&c), 0);
		assert_string_equal(c.access_key, cases[i].access);
		assert_string_equal(c.secret_key, cases[i].secret);
		assert_string_or_null(c.session_token, cases[i].token);
		assert_string_equal(c.region, cases[i].region);
		if (cases[i].source)
			assert_non_null(strstr(c.source, cases[i].source));
		tsarc__s3_creds_dispose(&c);
	}
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

	clear_aws_env_and_files();
	setenv("AWS_SECRET_ACCESS_KEY", "only-the-secret", 1);
	assert_int_equal(tsarc__s3_creds_load(&c), TSARC_ECONFIG);
	assert_null(strstr(tsarc_error_last()->message, "only-the-secret"));
}

/* A credentials file that cannot be read (a folder) is an error naming
 * it and read's reason. Before, fgets failed on it as at the end of an
 * empty file: the file was passed over and the chain went on to other
 * credentials (here the config file's profile), which the operator did
 * not mean to use. */
static void test_unreadable_file(void **state)
{
	tsarc__s3_creds c;

	(void)state;
	use_files();
	setenv("AWS_SHARED_CREDENTIALS_FILE", dir, 1);
	setenv("AWS_PROFILE", "confonly", 1);
	assert_int_equal(tsarc__s3_creds_load(&c), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, dir));
	assert_non_null(strstr(tsarc_error_last()->message, "Is a directory"));
	tsarc_error_clear();
}

/* The token files of the web identity and container steps that cannot be
 * read (a folder) are refused with read's reason, before any request.
 * Before, a folder's failed read was taken for an empty file: "holds no
 * token", "is empty, longer than 8192 bytes or spans lines". */
static void test_unreadable_token_files(void **state)
{
	tsarc__s3_creds c;

	(void)state;
	clear_aws_env_and_files();
	setenv("AWS_WEB_IDENTITY_TOKEN_FILE", dir, 1);
	setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r", 1);
	assert_int_equal(tsarc__s3_creds_load(&c), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, "AWS_WEB_IDENTITY_TOKEN_FILE"));
	assert_non_null(strstr(tsarc_error_last()->message, dir));
	assert_non_null(strstr(tsarc_error_last()->message, "Is a directory"));

	clear_aws_env_and_files();
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds", 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", dir, 1);
	assert_int_equal(tsarc__s3_creds_load(&c), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
	assert_non_null(strstr(tsarc_error_last()->message, dir));
	assert_non_null(strstr(tsarc_error_last()->message, "Is a directory"));
	clear_aws_env_and_files();
	tsarc_error_clear();
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
	clear_aws_env_and_files();
	setenv("AWS_ACCESS_KEY_ID", "AKURL", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret-url", 1);
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

/* Credentials put in a repository URL by mistake are refused and never
 * quoted, whatever characters the secret holds: an AWS secret access key
 * often holds '/' (and a password may hold '?' or '#'), which ended the
 * "host" part early, so the '@' after it was not seen. The URL was then
 * taken as host "AKID:first-part", bucket and prefix the rest of the key,
 * and the description printed by every message and the --json report
 * held the whole secret. */
static void test_url_credentials(void **state)
{
	static const char *const bad[] = {
		"s3:http://AKIDPLANT:wJalrPLANT/K7MDPLANT/bPxRPLANT@127.0.0.1:9000/bucket",
		"s3:https://AKIDPLANT:wJalrPLANT/K7MDPLANT@127.0.0.1/bucket/prefix",
		"s3:http://AKIDPLANT:wJalrPLANT?K7MDPLANT@127.0.0.1:9000/bucket",
		"s3:http://AKIDPLANT:wJalrPLANT#K7MDPLANT@127.0.0.1:9000/bucket",
		"s3:http://AKIDPLANT:12/K7MDPLANT@127.0.0.1:9000/bucket",
		"https://AKIDPLANT:wJalrPLANT@127.0.0.1:9000/bucket",
	};
	static const char *const pieces[] = {"AKIDPLANT", "wJalrPLANT", "K7MDPLANT", "bPxRPLANT"};
	size_t i, j;

	(void)state;
	clear_aws_env_and_files();
	setenv("AWS_ACCESS_KEY_ID", "AKURL", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secret-url", 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tsarc_store *st = NULL;
		int rc = tsarc_store_open(&st, bad[i], NULL);
		if (rc == 0) {
			const char *d = tsarc_store_describe(st);
			for (j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++)
				if (strstr(d, pieces[j]))
					fail_msg("%s: opened, and its description \"%s\" holds %s",
						bad[i], d, pieces[j]);
			tsarc_store_free(st);
			fail_msg("%s: opened, credentials and all", bad[i]);
		}
		assert_null(st);
		for (j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++)
			if (strstr(tsarc_error_last()->message, pieces[j]))
				fail_msg("%s: the error \"%s\" holds %s", bad[i],
					tsarc_error_last()->message, pieces[j]);
	}
	/* The endpoint of an s3:// URL, from the environment. */
	setenv("AWS_ENDPOINT_URL", "http://AKIDPLANT:wJalrPLANT/K7MDPLANT@127.0.0.1:9000", 1);
	{
		tsarc_store *st = NULL;
		int rc = tsarc_store_open(&st, "s3://bucket/p", NULL);
		assert_int_equal(rc, TSARC_ECONFIG);
		for (j = 0; j < sizeof(pieces) / sizeof(pieces[0]); j++)
			if (strstr(tsarc_error_last()->message, pieces[j]))
				fail_msg("AWS_ENDPOINT_URL: the error \"%s\" holds %s",
					tsarc_error_last()->message, pieces[j]);
	}
	unsetenv("AWS_ENDPOINT_URL");
}

/* ---- time limits ---- */

static void clear_limit_env(void)
{
	static const char *const names[] = {"TSARC_S3_MAX_RETRIES",
		"TSARC_S3_CONNECT_TIMEOUT", "TSARC_S3_STALL_TIMEOUT",
		"TSARC_S3_ATTEMPT_TIMEOUT", "TSARC_S3_MIN_THROUGHPUT",
		"TSARC_S3_RETRY_DEADLINE", "TSARC_S3_TRACE"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
}

/* Seconds after its start when an attempt is cut, against a server that
 * moves `rate` bytes a second: through the same functions the store's
 * progress callback uses, and curl's "below 1 byte/s for stall_s". */
static double attempt_cut_s(const tsarc__s3_limits *l, double rate)
{
	double t;

	for (t = 0; t < 1e6; t += 0.01) {
		if (rate < 1.0 && t >= (double)l->stall_s)
			return t;
		if (t > tsarc__s3_attempt_allowance(l, (uint64_t)(rate * t)))
			return t;
	}
	return t;
}

/* The latest a request moving `size` bytes fails against a server that
 * behaves that way on every attempt: none starts after the deadline, and
 * the last one runs until it is cut or the request's time is up. */
static double worst_fail_s(const tsarc__s3_limits *l, double rate, uint64_t size)
{
	double last = (double)l->deadline_s + attempt_cut_s(l, rate);
	double end = tsarc__s3_request_allowance(l, size);

	return last < end ? last : end;
}

static void test_limit_defaults(void **state)
{
	const uint64_t MiB = 1024 * 1024;
	tsarc__s3_limits l, d;
	double t;

	(void)state;
	clear_limit_env();
	assert_int_equal(tsarc__s3_limits_load(&l), 0);
	tsarc__s3_limits_default(&d);
	assert_memory_equal(&l, &d, sizeof(l));
	assert_int_equal(l.max_retries, 8);
	assert_int_equal(l.connect_s, 10);
	assert_int_equal(l.stall_s, 20);
	assert_int_equal(l.attempt_s, 30);
	assert_int_equal(l.min_rate, 65536);
	assert_int_equal(l.deadline_s, 120);

	/* an attempt: 30 s, plus 1 s per 64 KiB moved */
	assert_true(tsarc__s3_attempt_allowance(&l, 0) == 30.0);
	assert_true(tsarc__s3_attempt_allowance(&l, 1 * MiB) == 46.0);
	assert_true(tsarc__s3_attempt_allowance(&l, 4 * MiB) == 94.0);
	/* a request: 120 s, plus 1 s per 64 KiB of its own size */
	assert_true(tsarc__s3_request_allowance(&l, 0) == 120.0);
	assert_true(tsarc__s3_request_allowance(&l, 4 * MiB) == 184.0);

	/* The promise: a stalling or trickling server fails within 4 minutes.
	 * Silent from the start: cut at the deadline. */
	t = worst_fail_s(&l, 0, 0);
	assert_true(t > 119.95 && t < 120.05);
	/* announcing a huge answer buys nothing: the stall timeout or the
	 * floor cut the last attempt */
	t = worst_fail_s(&l, 0, 1ULL << 40);
	assert_true(t > 139.95 && t < 140.05);
	t = worst_fail_s(&l, 2, 1ULL << 40);
	assert_true(t > 149.9 && t < 150.1);
	t = worst_fail_s(&l, 1000, 1ULL << 40);
	assert_true(t > 150.0 && t < 151.0);
	/* a 4 MiB PUT the server reads at 2 bytes/s (only what it takes counts) */
	assert_true(worst_fail_s(&l, 2, 4 * MiB) < 151.0);
	assert_true(worst_fail_s(&l, 30000, 1ULL << 40) < 240.0);

	/* A working link is not cut: a 4 MiB chunk at 70 KiB/s never falls
	 * behind, and a 100 MB answer at 100 KiB/s (1000 s) ends before its
	 * request's time is up. */
	for (t = 0; t < 4.0 * MiB / (70 * 1024); t += 0.01)
		assert_true(t <= tsarc__s3_attempt_allowance(&l, (uint64_t)(70 * 1024 * t)));
	assert_true(tsarc__s3_request_allowance(&l, 100000000) > 100000000.0 / (100 * 1024));
}

static void test_limit_env(void **state)
{
	static const char *const env[] = {"TSARC_S3_ATTEMPT_TIMEOUT", "2",
		"TSARC_S3_MIN_THROUGHPUT", "1000", "TSARC_S3_RETRY_DEADLINE", "5",
		"TSARC_S3_TRACE", "1", NULL};
	tsarc__s3_limits l;

	(void)state;
	clear_limit_env();
	set_env(env);
	assert_int_equal(tsarc__s3_limits_load(&l), 0);
	assert_int_equal(l.attempt_s, 2);
	assert_int_equal(l.min_rate, 1000);
	assert_int_equal(l.deadline_s, 5);
	assert_int_equal(l.stall_s, 20);
	assert_true(l.trace);
	assert_true(tsarc__s3_attempt_allowance(&l, 3000) == 5.0);
	assert_true(tsarc__s3_request_allowance(&l, 3000) == 8.0);

	/* a value that is not what it should be is an error, never ignored */
	setenv("TSARC_S3_MIN_THROUGHPUT", "64k", 1);
	assert_int_equal(tsarc__s3_limits_load(&l), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, "TSARC_S3_MIN_THROUGHPUT"));
	setenv("TSARC_S3_MIN_THROUGHPUT", "0", 1);
	assert_int_equal(tsarc__s3_limits_load(&l), TSARC_ECONFIG);
	setenv("TSARC_S3_MIN_THROUGHPUT", "-5", 1);
	assert_int_equal(tsarc__s3_limits_load(&l), TSARC_ECONFIG);
	unsetenv("TSARC_S3_MIN_THROUGHPUT");
	setenv("TSARC_S3_MAX_RETRIES", "31", 1);
	assert_int_equal(tsarc__s3_limits_load(&l), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, "TSARC_S3_MAX_RETRIES"));
	clear_limit_env();
}

TSARC_TESTS_MAIN(setup, teardown,
	cmocka_unit_test(test_profiles),
	cmocka_unit_test(test_missing), cmocka_unit_test(test_unreadable_file),
	cmocka_unit_test(test_unreadable_token_files),
	cmocka_unit_test(test_urls),
	cmocka_unit_test(test_url_credentials),
	cmocka_unit_test(test_limit_defaults),
	cmocka_unit_test(test_limit_env))
