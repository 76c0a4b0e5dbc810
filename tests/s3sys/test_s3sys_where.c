/*
 * Where an s3files component's objects are (backends/components/s3sys/
 * where.c): the aws-auth Secret as 3scale writes it (host, host:port or a
 * URL in AWS_HOSTNAME; AWS_PROTOCOL; STS mode without keys), the
 * configuration's fields over it, and what is refused. No key ever in the
 * texts meant for people.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../backends/components/s3sys/s3sys.h"
#include "snapshot.h"
#include "cmocka_main.h"
#include "tsarc/errors.h"

static cJSON *secret(const char *const *kv)
{
	cJSON *doc = cJSON_CreateObject(), *sd = cJSON_AddObjectToObject(doc, "stringData");

	for (; kv && kv[0]; kv += 2)
		cJSON_AddStringToObject(sd, kv[0], kv[1]);
	return doc;
}

static int resolve(const char *spec_json, const char *const *kv, tsarc_s3sys_where *w)
{
	cJSON *spec = cJSON_Parse(spec_json), *doc = kv ? secret(kv) : NULL;
	int rc;

	assert_non_null(spec);
	rc = tsarc_s3sys_where_resolve(spec, doc, "system-storage", w);
	cJSON_Delete(spec);
	cJSON_Delete(doc);
	return rc;
}

static const char *const keys_and_host[] = {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE",
	"AWS_SECRET_ACCESS_KEY", "very-secret-key", "AWS_BUCKET", "tenant-files",
	"AWS_REGION", "eu-west-1", "AWS_HOSTNAME", "minio.example:9000", "AWS_PROTOCOL",
	"HTTP", "AWS_PATH_STYLE", "true", NULL};

static void secret_keys_and_endpoint(void **state)
{
	tsarc_s3sys_where w;
	char text[1500];

	(void)state;
	assert_int_equal(resolve("{\"secret\": \"aws-auth\"}", keys_and_host, &w), 0);
	assert_string_equal(w.url, "s3:http://minio.example:9000/tenant-files");
	assert_string_equal(w.endpoint, "http://minio.example:9000");
	assert_string_equal(w.prefix, "");
	assert_true(w.has_keys);
	assert_string_equal(w.keys.access_key, "AKIDEXAMPLE");
	assert_string_equal(w.keys.region, "eu-west-1");
	tsarc_s3sys_where_text(&w, text, sizeof(text));
	assert_string_equal(text, "s3://tenant-files/ at http://minio.example:9000, region eu-west-1");
	assert_null(strstr(w.creds_from, "very-secret-key"));
	assert_null(strstr(w.creds_from, "AKIDEXAMPLE"));
	tsarc_s3sys_where_free(&w);
}

static void configuration_over_secret(void **state)
{
	tsarc_s3sys_where w;
	char id[1500];

	(void)state;
	assert_int_equal(resolve("{\"secret\": \"aws-auth\", \"bucket\": \"other\", \"prefix\": "
		"\"/a/b/\", \"endpoint\": \"https://s3.internal/\", \"region\": \"us-east-2\"}",
		keys_and_host, &w), 0);
	assert_string_equal(w.url, "s3:https://s3.internal/other/a/b");
	assert_string_equal(w.prefix, "a/b/");
	assert_string_equal(w.region, "us-east-2");
	tsarc_s3sys_where_identity(&w, id, sizeof(id));
	assert_string_equal(id, "https://s3.internal other/a/b/");
	tsarc_s3sys_where_free(&w);
}

static void aws_and_sts_mode(void **state)
{
	static const char *const sts[] = {"AWS_BUCKET", "b-123", "AWS_REGION", "us-east-1",
		"AWS_ROLE_ARN", "arn:aws:iam::1:role/r", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"/var/run/secrets/openshift/serviceaccount/token", NULL};
	static const char *const url_host[] = {"AWS_ACCESS_KEY_ID", "k", "AWS_SECRET_ACCESS_KEY",
		"s", "AWS_BUCKET", "bkt", "AWS_HOSTNAME", "https://rgw.example/", NULL};
	tsarc_s3sys_where w;

	(void)state;
	assert_int_equal(resolve("{\"secret\": \"aws-auth\"}", sts, &w), 0);
	assert_string_equal(w.url, "s3://b-123");
	assert_string_equal(w.endpoint, "AWS");
	assert_false(w.has_keys);
	assert_non_null(strstr(w.creds_from, "STS mode"));
	tsarc_s3sys_where_free(&w);
	/* AWS_HOSTNAME may be a URL; AWS_PROTOCOL then does not apply. */
	assert_int_equal(resolve("{\"secret\": \"aws-auth\"}", url_host, &w), 0);
	assert_string_equal(w.url, "s3:https://rgw.example/bkt");
	tsarc_s3sys_where_free(&w);
}

static void refused(void **state)
{
	static const char *const no_bucket[] = {"AWS_ACCESS_KEY_ID", "k",
		"AWS_SECRET_ACCESS_KEY", "s", NULL};
	static const char *const bad_proto[] = {"AWS_BUCKET", "bkt", "AWS_HOSTNAME", "h",
		"AWS_PROTOCOL", "ftp", NULL};
	tsarc_s3sys_where w;

	(void)state;
	assert_int_equal(resolve("{\"secret\": \"aws-auth\"}", no_bucket, &w), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, "AWS_BUCKET"));
	assert_int_equal(resolve("{\"secret\": \"aws-auth\"}", bad_proto, &w), TSARC_ECONFIG);
	assert_int_equal(resolve("{\"bucket\": \"b\", \"endpoint\": \"ftp://x\"}", NULL, &w),
		TSARC_ECONFIG);
	assert_int_equal(resolve("{\"bucket\": \"b\", \"endpoint\": \"http://x/path\"}", NULL,
		&w), TSARC_ECONFIG);
	/* No Secret: the configuration's bucket and this host's credential chain. */
	assert_int_equal(resolve("{\"bucket\": \"b-1\", \"endpoint\": \"http://127.0.0.1:9\"}",
		NULL, &w), 0);
	assert_false(w.has_keys);
	assert_non_null(strstr(w.creds_from, "credential chain"));
	tsarc_s3sys_where_free(&w);
}

/* The repository's endpoint and a component's are one server when spelt
 * alike, whatever the letter case, a default port or a trailing slash
 * (repo.c); another port, scheme or host is left to the probe by content. */
static void endpoints_by_name(void **state)
{
	(void)state;
	assert_true(tsarc_s3sys_endpoint_same("http://127.0.0.1:7480", "http://127.0.0.1:7480/"));
	assert_true(tsarc_s3sys_endpoint_same("https://S3.Example.internal",
		"https://s3.example.internal:443"));
	assert_true(tsarc_s3sys_endpoint_same("http://rgw.internal:80/", "http://RGW.internal"));
	assert_true(tsarc_s3sys_endpoint_same("AWS", "aws"));
	assert_false(tsarc_s3sys_endpoint_same("http://rgw.internal:443", "https://rgw.internal"));
	assert_false(tsarc_s3sys_endpoint_same("https://rgw.internal:80", "http://rgw.internal"));
	assert_false(tsarc_s3sys_endpoint_same("http://127.0.0.1:7480", "http://127.0.0.1:7481"));
	assert_false(tsarc_s3sys_endpoint_same("http://127.0.0.1:8080", "http://127.0.0.1:80"));
	assert_false(tsarc_s3sys_endpoint_same("AWS", "https://s3.amazonaws.internal"));
}

/* What a stream says the backup left out (its metadata "excluded": the
 * prefix of the repository, dump.c), which a restore keeps: untrusted, so
 * only "" or a key's start ending in '/' are admitted by the plan. */
static int admit(const char *meta_json)
{
	tsarc_stream st;
	tsarc_step s;
	int rc;

	memset(&st, 0, sizeof(st));
	memset(&s, 0, sizeof(s));
	st.name = "system-storage-s3.tar";
	assert_non_null(st.meta = cJSON_Parse(meta_json));
	s.st = &st;
	rc = tsarc_s3sys_admit(NULL, &s);
	cJSON_Delete(st.meta);
	return rc;
}

static void excluded_admitted(void **state)
{
	char many[2048];
	size_t i, n;

	(void)state;
	assert_int_equal(admit("{}"), 0);
	assert_int_equal(admit("{\"excluded\": [{\"path\": \"tsarc/\", \"why\": \"x\"}]}"), 0);
	assert_int_equal(admit("{\"excluded\": [{\"path\": \"\"}]}"), 0);
	assert_int_equal(admit("{\"excluded\": \"tsarc/\"}"), TSARC_EUNSAFE);
	assert_int_equal(admit("{\"excluded\": [{\"path\": \"tsarc\"}]}"), TSARC_EUNSAFE);
	assert_int_equal(admit("{\"excluded\": [{\"path\": \"a\\nb/\"}]}"), TSARC_EUNSAFE);
	assert_int_equal(admit("{\"excluded\": [{}]}"), TSARC_EUNSAFE);
	n = (size_t)snprintf(many, sizeof(many), "{\"excluded\": [");
	for (i = 0; i < 17; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s{\"path\": \"p%zu/\"}",
			i ? ", " : "", i);
	snprintf(many + n, sizeof(many) - n, "]}");
	assert_int_equal(admit(many), TSARC_EUNSAFE);
}

/* What a backup leaves out of a bucket that holds its repository: the
 * repository's objects by the names it gives them, never 3scale's objects
 * in folders of the same names (the repository at the component's own
 * prefix). */
static void repository_objects(void **state)
{
#define H "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	static const struct {
		const char *rel, *key;
		int mine;
	} t[] = {
		{"", "config", 1},
		{"", "keys/" H, 1},
		{"", "snapshots/" H, 1},
		{"", "snapshots/" H ".forgotten", 1},
		{"", "locks/" H, 1},
		{"", "index/" H, 1},
		{"", "data/01/" H, 1},
		{"tsarc/", "tsarc/config", 1},
		{"tsarc/", "tsarc/data/01/" H, 1},
		{"tsarc/", "config", 0},
		{"tsarc/", "tsarc/notes.txt", 0},
		{"", "config/app.yml", 0},
		{"", "configs", 0},
		{"", "keys/provider.pem", 0},
		{"", "keys/" H "0", 0},
		{"", "keys/" H "/x", 0},
		{"", "keys/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", 0},
		{"", "snapshots/" H ".forgotten.txt", 0},
		{"", "index/" H ".forgotten", 0},
		{"", "data/provider/logo.png", 0},
		{"", "data/ab/abcdef", 0},
		{"", "data/02/" H, 0},
		{"", "data/01/" H "/x", 0},
		{"", "data/" H, 0},
		{"", "locks/notes.txt", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (tsarc_s3sys_repo_object(t[i].rel, t[i].key) != t[i].mine)
			fail_msg("'%s' under '%s': %d, not %d", t[i].key, t[i].rel, !t[i].mine,
				t[i].mine);
	}
#undef H
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(repository_objects),
	cmocka_unit_test(excluded_admitted),
	cmocka_unit_test(endpoints_by_name),
	cmocka_unit_test(secret_keys_and_endpoint),
	cmocka_unit_test(configuration_over_secret),
	cmocka_unit_test(aws_and_sts_mode),
	cmocka_unit_test(refused))
