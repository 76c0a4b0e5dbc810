/*
 * Redis connection details from 3scale's Secrets (backends/components/
 * redis/secrets.c): the three key sets, the older CONFIG_* names, TLS from
 * rediss:// and PEM text, Sentinel group from the URL, the configuration
 * over the Secret, and a description that never shows a password.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "secrets.h"
#include "tsarc/errors.h"

#include <string.h>

/* The configuration from Secret `name`, given as JSON, whose URL is under
 * `url_key`; the call's code. The document is gone before the checks: the
 * configuration holds copies. */
static int from_secret(tsarc_redis_conf *c, const char *json, const char *name,
	const char *url_key)
{
	cJSON *doc = cJSON_Parse(json);
	int rc;

	assert_non_null(doc);
	rc = tsarc_redis_conf_from_secret(c, doc, name, url_key);
	cJSON_Delete(doc);
	return rc;
}

#define PEM "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

static void storage_216(void **state)
{
	/* "data" is base64: redis://:urlpw@redis.example.net:6380/0 and the 2.16 fields */
	static const char json[] = "{\"data\": {"
		"\"REDIS_STORAGE_URL\": \"cmVkaXNzOi8vOnVybHB3QHJlZGlzLmV4YW1wbGUubmV0OjYzODAvMA==\","
		"\"REDIS_STORAGE_USERNAME\": \"YmFja2VuZA==\","
		"\"REDIS_STORAGE_PASSWORD\": \"czNjcjN0\","
		"\"REDIS_QUEUES_PASSWORD\": \"cXVldWVz\"},"
		"\"stringData\": {}}";
	tsarc_redis_conf c;
	char d[512];

	(void)state;
	assert_int_equal(from_secret(&c, json, "backend-redis", "REDIS_STORAGE_URL"), 0);
	assert_string_equal(c.host, "redis.example.net");
	assert_int_equal(c.opts.port, 6380);
	assert_int_equal(c.opts.tls, 1);
	assert_string_equal(c.user, "backend");
	assert_string_equal(c.password, "s3cr3t"); /* the field wins over the URL's */
	assert_int_equal(c.use_sentinel, 0);
	tsarc_redis_conf_describe(&c, d, sizeof(d));
	assert_string_equal(d, "redis.example.net:6380 over TLS as backend");
	assert_null(strstr(c.used, "QUEUES"));
	tsarc_redis_conf_free(&c);
}

static void queues_sentinel_tls(void **state)
{
	static const char json[] = "{\"stringData\": {"
		"\"REDIS_STORAGE_URL\": \"redis://storage:6379/0\","
		"\"REDIS_QUEUES_URL\": \"redis://:qpw@mygroup/1\","
		"\"REDIS_QUEUES_SENTINEL_HOSTS\": \"redis://su:spw@s1:26379, redis://s2:26380\","
		"\"REDIS_QUEUES_SENTINEL_ROLE\": \"master\","
		"\"REDIS_QUEUES_SENTINEL_PASSWORD\": \"sentpw\","
		"\"REDIS_SSL_CA\": \"" "-----BEGIN CERTIFICATE-----\\nstorage\\n-----END CERTIFICATE-----\\n" "\","
		"\"REDIS_SSL_QUEUES_CA\": \"" "-----BEGIN CERTIFICATE-----\\nqueues\\n-----END CERTIFICATE-----\\n" "\","
		"\"REDIS_SSL_QUEUES_CERT\": \"" "-----BEGIN CERTIFICATE-----\\ncert\\n-----END CERTIFICATE-----\\n" "\","
		"\"REDIS_SSL_QUEUES_KEY\": \"" "-----BEGIN PRIVATE KEY-----\\nkey\\n-----END PRIVATE KEY-----\\n" "\"}}";
	tsarc_redis_conf c;
	char d[512];

	(void)state;
	assert_int_equal(from_secret(&c, json, "backend-redis", "REDIS_QUEUES_URL"), 0);
	assert_int_equal(c.use_sentinel, 1);
	assert_string_equal(c.sentinel.master, "mygroup");
	assert_null(c.host);
	assert_string_equal(c.password, "qpw");
	assert_string_equal(c.sentinel.password, "sentpw");
	assert_string_equal(c.sentinel_role, "master");
	assert_non_null(strstr(c.opts.ca_pem, "queues"));
	assert_non_null(c.opts.cert_pem);
	assert_non_null(c.opts.key_pem);
	assert_int_equal(c.opts.tls, 1); /* a client certificate means TLS */
	tsarc_redis_conf_describe(&c, d, sizeof(d));
	assert_string_equal(d, "the master of Sentinel group mygroup (Sentinels s1:26379,s2:26380) over TLS");
	assert_null(strstr(d, "spw"));
	/* A host in the configuration replaces the Sentinels. */
	assert_int_equal(tsarc_redis_conf_override(&c, "127.0.0.1", 7000, NULL, "u", "p", 0), 0);
	assert_int_equal(c.use_sentinel, 0);
	assert_string_equal(c.opts.host, "127.0.0.1");
	assert_int_equal(c.opts.port, 7000);
	assert_string_equal(c.opts.password, "p");
	assert_int_equal(c.opts.tls, 0);
	tsarc_redis_conf_free(&c);
}

static void older_config_names(void **state)
{
	static const char json[] = "{\"stringData\": {"
		"\"REDIS_STORAGE_URL\": \"redis://old:6379\","
		"\"CONFIG_REDIS_USERNAME\": \"olduser\","
		"\"CONFIG_REDIS_PASSWORD\": \"oldpw\","
		"\"CONFIG_REDIS_SSL\": \"true\","
		"\"CONFIG_REDIS_CA_FILE\": \"/tls/backend-redis/ca.crt\","
		"\"CONFIG_REDIS_SENTINEL_HOSTS\": \"\"}}";
	tsarc_redis_conf c;

	(void)state;
	assert_int_equal(from_secret(&c, json, "backend-redis", "REDIS_STORAGE_URL"), 0);
	assert_string_equal(c.user, "olduser");
	assert_string_equal(c.password, "oldpw");
	assert_int_equal(c.opts.tls, 1);
	assert_null(c.opts.ca_pem); /* a path in the pod, not PEM text */
	assert_int_equal(c.use_sentinel, 0); /* empty hosts: no Sentinel */
	assert_string_equal(c.host, "old");
	tsarc_redis_conf_free(&c);
}

static void system_redis(void **state)
{
	static const char json[] = "{\"stringData\": {"
		"\"URL\": \"redis://sysgroup/1\","
		"\"SENTINEL_HOSTS\": \"10.0.0.1:26379,10.0.0.2:26379\","
		"\"SENTINEL_ROLE\": \"master\","
		"\"REDIS_USERNAME\": \"system\", \"REDIS_PASSWORD\": \"syspw\","
		"\"REDIS_SENTINEL_PASSWORD\": \"sspw\","
		"\"REDIS_STORAGE_PASSWORD\": \"not-this\"}}";
	tsarc_redis_conf c;

	(void)state;
	assert_int_equal(from_secret(&c, json, "system-redis", "URL"), 0);
	assert_int_equal(c.use_sentinel, 1);
	assert_string_equal(c.sentinel.master, "sysgroup");
	assert_string_equal(c.user, "system");
	assert_string_equal(c.password, "syspw");
	assert_string_equal(c.sentinel.password, "sspw");
	assert_int_equal(c.opts.tls, 0);
	tsarc_redis_conf_free(&c);
	/* No URL in the Secret: an error naming the key. */
	assert_int_not_equal(from_secret(&c, "{\"stringData\": {\"SENTINEL_HOSTS\": \"h:1\"}}",
		"system-redis", "URL"), 0);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(storage_216),
	cmocka_unit_test(queues_sentinel_tls),
	cmocka_unit_test(older_config_names),
	cmocka_unit_test(system_redis))
