/* --rewrite-domain (src/deploy/rewrite.c): what is a whole domain or the
 * end of one, which names are domains, the resources and SQL it rewrites. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include <stdlib.h>
#include <string.h>

#include "component.h"
#include "rewrite.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

static void text_cases(void **state)
{
	static const struct {
		const char *in, *out; /* out NULL: nothing changed */
	} cases[] = {
		{"example.com", "new.test"},
		{"apicast.example.com", "apicast.new.test"},
		{"https://x.example.com:443/path", "https://x.new.test:443/path"},
		{"a example.com, b.example.com;", "a new.test, b.new.test;"},
		{"myexample.com", NULL},            /* another domain that ends the same */
		{"example.com.evil.org", NULL},     /* a longer domain that starts the same */
		{"example.community", NULL},
		{"x-example.com", NULL},
		{"EXAMPLE.COM", NULL},              /* byte for byte: case is kept as it was */
		{"", NULL},
		{"example.com example.com", "new.test new.test"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = NULL;

		assert_int_equal(tsarc_rewrite_domain_text(&got, cases[i].in, "example.com",
					 "new.test"), 0);
		print_message("%s -> %s\n", cases[i].in, got ? got : "(unchanged)");
		assert_string_or_null(got, cases[i].out);
		free(got);
	}
}

static void valid_domains(void **state)
{
	static const char *const good[] = {"example.com", "a-b.c", "x", "3scale.apps.cluster"};
	static const char *const bad[] = {"", ".example.com", "-a.com", "a b", "a'b", "a;b",
		"a/b", "a%b"};
	char longname[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(tsarc_valid_domain(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(tsarc_valid_domain(bad[i]));
	memset(longname, 'a', 254);
	longname[254] = '\0';
	assert_false(tsarc_valid_domain(longname));
	longname[253] = '\0';
	assert_true(tsarc_valid_domain(longname));
}

static void resources(void **state)
{
	cJSON *cm = cJSON_Parse("{\"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"env\"}, "
		"\"data\": {\"URL\": \"https://api.example.com\", \"OTHER\": \"myexample.com\", "
		"\"N\": 3}}");
	cJSON *am = cJSON_Parse("{\"kind\": \"APIManager\", \"metadata\": {\"name\": \"3scale\"}, "
		"\"spec\": {\"wildcardDomain\": \"example.com\"}}");
	cJSON *secret = cJSON_Parse("{\"kind\": \"Secret\", \"metadata\": {\"name\": \"s\"}, "
		"\"data\": {\"URL\": \"example.com\"}}");
	/* The fields the 3scale profile's recipes name; a Secret's recipe
	 * names none. */
	cJSON *cm_fields = cJSON_Parse("[\"data.*\"]");
	cJSON *am_fields = cJSON_Parse("[\"spec.wildcardDomain\", \"spec.missing.x\"]");
	cJSON *changed = cJSON_CreateArray();
	char *t;

	(void)state;
	tsarc_rewrite_resource(cm, cm_fields, "example.com", "new.test", changed);
	tsarc_rewrite_resource(am, am_fields, "example.com", "new.test", changed);
	tsarc_rewrite_resource(secret, NULL, "example.com", "new.test", changed);
	tsarc_rewrite_resource(secret, cm_fields, NULL, NULL, changed);
	t = cJSON_PrintUnformatted(changed);
	assert_string_equal(t, "[\"ConfigMap env: URL\",\"APIManager 3scale: spec.wildcardDomain\"]");
	free(t);
	assert_string_equal(tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(cm, "data"), "URL"),
		"https://api.new.test");
	assert_string_equal(tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(cm, "data"), "OTHER"),
		"myexample.com");
	assert_string_equal(tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(am, "spec"),
		"wildcardDomain"), "new.test");
	/* Secrets are the source's values: never rewritten. */
	assert_string_equal(tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(secret, "data"), "URL"),
		"example.com");
	cJSON_Delete(cm);
	cJSON_Delete(am);
	cJSON_Delete(secret);
	cJSON_Delete(changed);
	cJSON_Delete(cm_fields);
	cJSON_Delete(am_fields);
}

/* Only the fields named are touched, whatever the kind; "a.*" is every
 * string directly under a, nothing deeper. */
static void named_fields_only(void **state)
{
	static const char *const good[] = {"spec.wildcardDomain", "data.*", "*", "a_b.c-d.E9"};
	static const char *const bad[] = {"", ".", "a.", ".a", "a..b", "a.*.b", "*.a", "a*",
		"a b", "a/b", "a.**"};
	cJSON *doc = cJSON_Parse("{\"kind\": \"Route\", \"metadata\": {\"name\": \"r\"}, "
		"\"spec\": {\"host\": \"api.example.com\", \"tls\": {\"host\": \"example.com\"}}, "
		"\"data\": {\"a\": \"example.com\", \"deep\": {\"b\": \"example.com\"}}}");
	cJSON *fields = cJSON_Parse("[\"spec.host\", \"data.*\", \"a b\"]");
	cJSON *changed = cJSON_CreateArray();
	char *t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!tsarc_valid_field_path(good[i]))
			fail_msg("'%s' refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tsarc_valid_field_path(bad[i]))
			fail_msg("'%s' taken", bad[i]);
	tsarc_rewrite_resource(doc, fields, "example.com", "new.test", changed);
	t = cJSON_PrintUnformatted(changed);
	assert_string_equal(t, "[\"Route r: spec.host\",\"Route r: a\"]");
	free(t);
	t = cJSON_PrintUnformatted(doc);
	assert_string_equal(t, "{\"kind\":\"Route\",\"metadata\":{\"name\":\"r\"},"
		"\"spec\":{\"host\":\"api.new.test\",\"tls\":{\"host\":\"example.com\"}},"
		"\"data\":{\"a\":\"new.test\",\"deep\":{\"b\":\"example.com\"}}}");
	free(t);
	cJSON_Delete(doc);
	cJSON_Delete(fields);
	cJSON_Delete(changed);
}

/* What an object is (kind, apiVersion, name, namespace) is never
 * rewritten, whatever fields a recipe names (a snapshot's recipe names
 * them): a restore checked that name, not another. A longer domain in
 * another field after the name is noted under the name as it was. */
static void identity_kept(void **state)
{
	cJSON *doc = cJSON_Parse("{\"apiVersion\": \"example.com/v1\", \"kind\": \"Secret\", "
		"\"metadata\": {\"name\": \"example.com\", \"namespace\": \"example.com\", "
		"\"labels\": {\"l\": \"example.com\"}}, \"data\": {\"HOST\": \"example.com\"}}");
	cJSON *fields = cJSON_Parse("[\"metadata.name\", \"metadata.*\", \"kind\", "
		"\"apiVersion\", \"metadata.labels.l\", \"data.*\"]");
	cJSON *changed = cJSON_CreateArray();
	char *t;

	(void)state;
	tsarc_rewrite_resource(doc, fields, "example.com", "a-much-longer-domain.new.test",
		changed);
	t = cJSON_PrintUnformatted(changed);
	assert_string_equal(t, "[\"Secret example.com: metadata.labels.l\","
		"\"Secret example.com: HOST\"]");
	free(t);
	t = cJSON_PrintUnformatted(doc);
	assert_string_equal(t, "{\"apiVersion\":\"example.com/v1\",\"kind\":\"Secret\","
		"\"metadata\":{\"name\":\"example.com\",\"namespace\":\"example.com\","
		"\"labels\":{\"l\":\"a-much-longer-domain.new.test\"}},"
		"\"data\":{\"HOST\":\"a-much-longer-domain.new.test\"}}");
	free(t);
	cJSON_Delete(doc);
	cJSON_Delete(fields);
	cJSON_Delete(changed);
}

static void sql(void **state)
{
	static const char *const bad[] = {"[\"accounts\"]", "[\"a.b.c\"]", "[\"ac`c.domain\"]",
		"[\"accounts.do main\"]", "[\"a-b.c\"]", "[\"accounts.\"]", "[7]"};
	cJSON *cols = cJSON_Parse("[\"accounts.domain\", \"accounts.self_domain\"]");
	tsarc_buf b = TSARC_BUF_INIT;
	size_t i;

	(void)state;
	assert_int_equal(tsarc_rewrite_domain_sql(cols, "db", NULL, NULL, &b), 0);
	assert_int_equal(b.size, 0);
	assert_int_equal(tsarc_rewrite_domain_sql(cols, "db", "example.com", "new.test", &b), 0);
	tsarc_buf_append(&b, "", 1);
	assert_string_equal((char *)b.ptr,
		"UPDATE accounts SET domain = CONCAT(LEFT(domain, CHAR_LENGTH(domain) - 11), "
		"'new.test') WHERE domain = 'example.com' OR domain LIKE '%.example.com';\n"
		"UPDATE accounts SET self_domain = CONCAT(LEFT(self_domain, CHAR_LENGTH(self_domain) "
		"- 11), 'new.test') WHERE self_domain = 'example.com' OR self_domain LIKE "
		"'%.example.com';\n");
	tsarc_buf_dispose(&b);
	cJSON_Delete(cols);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cols = cJSON_Parse(bad[i]);
		assert_int_equal(tsarc_rewrite_domain_sql(cols, "db", "example.com", "new.test", &b),
			TSARC_ECONFIG);
		assert_non_null(strstr(tsarc_error_last()->message, "component 'db'"));
		tsarc_buf_dispose(&b);
		cJSON_Delete(cols);
	}
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(text_cases),
	cmocka_unit_test(valid_domains),
	cmocka_unit_test(resources),
	cmocka_unit_test(named_fields_only),
	cmocka_unit_test(identity_kept),
	cmocka_unit_test(sql))
