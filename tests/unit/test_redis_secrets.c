/*
 * Redis connection details from 3scale's Secrets (backends/components/
 * redis/secrets.c): the three key sets, the older CONFIG_* names, TLS from
 * rediss:// and PEM text, Sentinel group from the URL, the configuration
 * over the Secret, and a description that never shows a password. And the
 * database numbers a restore maps (logical.h tsarc_redis_dbmap): the one
 * a URL names, the one the snapshot's metadata records (untrusted), and
 * the mapping with its collision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "secrets.h"
#include "logical.h"
#include "sentinel.h"
#include "tsarc/errors.h"

#include <stdio.h>
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

/* A Redis URL's user information without a ':' is its password, as
 * redis-cli reads it (redis://[[username:]password@]host) and 3scale's
 * backend client (AUTH with it alone): read as a user name, it was shown
 * in every description, plan line and refused AUTH's message. */
static void url_lone_userinfo_is_password(void **state)
{
	tsarc_redis_conf c;
	char d[512];

	(void)state;
	assert_int_equal(from_secret(&c, "{\"stringData\": {"
		"\"REDIS_STORAGE_URL\": \"redis://s3cr3t@h:6379/0\"}}",
		"backend-redis", "REDIS_STORAGE_URL"), 0);
	assert_null(c.user);
	assert_string_equal(c.password, "s3cr3t");
	tsarc_redis_conf_describe(&c, d, sizeof(d));
	assert_string_equal(d, "h:6379");
	tsarc_redis_conf_free(&c);
	/* Percent-encoded, over TLS, system-redis's database path. */
	assert_int_equal(from_secret(&c, "{\"stringData\": {"
		"\"URL\": \"rediss://pw%2Bx%40y@sys:6380/1\"}}", "system-redis", "URL"), 0);
	assert_null(c.user);
	assert_string_equal(c.password, "pw+x@y");
	assert_string_equal(c.host, "sys");
	tsarc_redis_conf_free(&c);
	/* An empty user before the ':' stays what it was: no user. */
	assert_int_equal(from_secret(&c, "{\"stringData\": {"
		"\"URL\": \"redis://:pw@sys/1\"}}", "system-redis", "URL"), 0);
	assert_null(c.user);
	assert_string_equal(c.password, "pw");
	tsarc_redis_conf_free(&c);
	/* The Secret's own user field still names the user. */
	assert_int_equal(from_secret(&c, "{\"stringData\": {"
		"\"URL\": \"redis://pw@sys/1\", \"REDIS_USERNAME\": \"system\"}}",
		"system-redis", "URL"), 0);
	assert_string_equal(c.user, "system");
	assert_string_equal(c.password, "pw");
	tsarc_redis_conf_free(&c);
}

/* The database a Secret's URL names: 1 for system-redis's .../1, 0 for no
 * path or an empty one (as 3scale's clients read it), -1 with no URL; a
 * path that is no number is an error naming the Secret and the path. */
static void url_db(void **state)
{
	static const struct { const char *url; int rc, db; } cases[] = {
		{"redis://system-redis:6379/1", 0, 1},
		{"redis://h:6379/0", 0, 0},
		{"redis://h:6379", 0, 0},
		{"redis://h:6379/", 0, 0},
		{"rediss://u:p@h:6380/15", 0, 15},
		{"redis://h/1048575", 0, TSARC_REDIS_DB_MAX - 1},
		{"redis://h/1048576", TSARC_ECONFIG, -1},
		{"redis://h/-1", TSARC_ECONFIG, -1},
		{"redis://h/1x", TSARC_ECONFIG, -1},
		{"redis://h/%201", TSARC_ECONFIG, -1},
		{"redis://h/99999999999999999999", TSARC_ECONFIG, -1},
		{"redis://h/sysdb", TSARC_ECONFIG, -1},
	};
	tsarc_redis_conf c;
	size_t i;
	int db;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char json[256];
		snprintf(json, sizeof(json), "{\"stringData\": {\"URL\": \"%s\"}}", cases[i].url);
		assert_int_equal(from_secret(&c, json, "system-redis", "URL"), 0);
		db = 7;
		assert_int_equal(tsarc_redis_conf_url_db(&c, "Secret system-redis, key URL", &db),
			cases[i].rc);
		assert_int_equal(db, cases[i].db);
		if (cases[i].rc) {
			assert_non_null(strstr(tsarc_error_last()->message, "Secret system-redis, key URL"));
			assert_non_null(strstr(tsarc_error_last()->message, "not a Redis database number"));
			tsarc_error_clear();
		}
		tsarc_redis_conf_free(&c);
	}
	/* No Secret (the configuration names the server): no URL, no number. */
	assert_int_equal(tsarc_redis_conf_from_secret(&c, NULL, NULL, NULL), 0);
	assert_int_equal(tsarc_redis_conf_url_db(&c, "x", &db), 0);
	assert_int_equal(db, -1);
	tsarc_redis_conf_free(&c);
}

/* The snapshot's "redis_url_db": an integer from 0 to the bound, or
 * absent (an older snapshot: -1); anything else is a damaged snapshot. */
static void meta_db(void **state)
{
	static const struct { const char *meta; int rc, db; } cases[] = {
		{"{}", 0, -1},
		{"{\"redis_url_db\": 1}", 0, 1},
		{"{\"redis_url_db\": 0}", 0, 0},
		{"{\"redis_url_db\": 1048575}", 0, TSARC_REDIS_DB_MAX - 1},
		{"{\"redis_url_db\": 1048576}", TSARC_ECORRUPT, -1},
		{"{\"redis_url_db\": -1}", TSARC_ECORRUPT, -1},
		{"{\"redis_url_db\": 1.5}", TSARC_ECORRUPT, -1},
		{"{\"redis_url_db\": 1e300}", TSARC_ECORRUPT, -1},
		{"{\"redis_url_db\": \"1\"}", TSARC_ECORRUPT, -1},
		{"{\"redis_url_db\": null}", TSARC_ECORRUPT, -1},
		{"{\"redis_url_db\": true}", TSARC_ECORRUPT, -1},
		{"{\"redis_url_db\": [1]}", TSARC_ECORRUPT, -1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *m = cJSON_Parse(cases[i].meta);
		int db = 7;
		assert_non_null(m);
		assert_int_equal(tsarc_redis_meta_db(m, "redis_url_db", "system-redis.rdb", &db),
			cases[i].rc);
		assert_int_equal(db, cases[i].db);
		if (cases[i].rc) {
			assert_non_null(strstr(tsarc_error_last()->message, "system-redis.rdb"));
			assert_non_null(strstr(tsarc_error_last()->message, "redis_url_db"));
			tsarc_error_clear();
		}
		cJSON_Delete(m);
	}
}

/* 1 -> 0: database 1 goes to 0, the others keep their numbers, and 0 of
 * the backup (it would land on the mapped one) is refused naming both. */
static void dbmap(void **state)
{
	tsarc_redis_dbmap m = TSARC_REDIS_DBMAP_NONE, same = TSARC_REDIS_DBMAP_NONE,
		none = TSARC_REDIS_DBMAP_NONE;
	char text[64];
	int to;

	(void)state;
	assert_int_equal(tsarc_redis_dbmap_add(&m, 1, 0), 0);
	assert_int_equal(tsarc_redis_dbmap_add(&same, 2, 2), 0);
	assert_true(tsarc_redis_dbmap_moves(&m));
	assert_false(tsarc_redis_dbmap_moves(&same));
	assert_int_equal(tsarc_redis_dbmap_db(&m, 1, &to), 0);
	assert_int_equal(to, 0);
	assert_int_equal(tsarc_redis_dbmap_db(&m, 2, &to), 0);
	assert_int_equal(to, 2);
	assert_int_equal(tsarc_redis_dbmap_db(&m, 0, &to), TSARC_EUNSUPPORTED);
	assert_non_null(strstr(tsarc_error_last()->message, "database 0 and in database 1"));
	assert_non_null(strstr(tsarc_error_last()->message, "nothing was written"));
	tsarc_error_clear();
	assert_int_equal(tsarc_redis_dbmap_db(&same, 2, &to), 0);
	assert_int_equal(to, 2);
	assert_int_equal(tsarc_redis_dbmap_db(&none, 0, &to), 0);
	assert_int_equal(to, 0);
	assert_int_equal(tsarc_redis_dbmap_db(NULL, 5, &to), 0);
	assert_int_equal(to, 5);
	tsarc_redis_dbmap_text(&m, text, sizeof(text));
	assert_string_equal(text, "database 1 -> 0");
	tsarc_redis_dbmap_text(&same, text, sizeof(text));
	assert_string_equal(text, "");
}

/* backend-redis's two databases: storage 0 -> 2 and queues 1 -> 3 each
 * go where the target's URLs name them; a third keeps its number unless
 * it would land on a mapped one; pairs that would merge two databases, or
 * split one, are refused when made. An identity pair (queues 1 -> 1) still
 * takes its database: storage 0 -> 1 beside it is refused. */
static void dbmap_two(void **state)
{
	tsarc_redis_dbmap m = TSARC_REDIS_DBMAP_NONE, k = TSARC_REDIS_DBMAP_NONE;
	char text[96];
	int to;

	(void)state;
	assert_int_equal(tsarc_redis_dbmap_add(&m, 0, 2), 0);
	assert_int_equal(tsarc_redis_dbmap_add(&m, 1, 3), 0);
	assert_int_equal(tsarc_redis_dbmap_db(&m, 0, &to), 0);
	assert_int_equal(to, 2);
	assert_int_equal(tsarc_redis_dbmap_db(&m, 1, &to), 0);
	assert_int_equal(to, 3);
	assert_int_equal(tsarc_redis_dbmap_db(&m, 5, &to), 0);
	assert_int_equal(to, 5);
	assert_int_equal(tsarc_redis_dbmap_db(&m, 3, &to), TSARC_EUNSUPPORTED);
	assert_non_null(strstr(tsarc_error_last()->message, "database 3 and in database 1"));
	tsarc_redis_dbmap_text(&m, text, sizeof(text));
	assert_string_equal(text, "database 0 -> 2, database 1 -> 3");
	/* a third pair: no room */
	assert_int_equal(tsarc_redis_dbmap_add(&m, 4, 5), TSARC_EINVAL);
	/* merged, split */
	assert_int_equal(tsarc_redis_dbmap_add(&k, 0, 2), 0);
	assert_int_equal(tsarc_redis_dbmap_add(&k, 1, 2), TSARC_EUNSUPPORTED);
	assert_non_null(strstr(tsarc_error_last()->message, "nothing was written"));
	assert_int_equal(tsarc_redis_dbmap_add(&k, 0, 3), TSARC_EUNSUPPORTED);
	k = (tsarc_redis_dbmap)TSARC_REDIS_DBMAP_NONE;
	assert_int_equal(tsarc_redis_dbmap_add(&k, 1, 1), 0);
	assert_int_equal(tsarc_redis_dbmap_add(&k, 0, 1), TSARC_EUNSUPPORTED);
	/* swapped: each where its pair says */
	k = (tsarc_redis_dbmap)TSARC_REDIS_DBMAP_NONE;
	assert_int_equal(tsarc_redis_dbmap_add(&k, 0, 1), 0);
	assert_int_equal(tsarc_redis_dbmap_add(&k, 1, 0), 0);
	assert_int_equal(tsarc_redis_dbmap_db(&k, 1, &to), 0);
	assert_int_equal(to, 0);
	tsarc_error_clear();
}

/* backend-redis's queues database, where its URL names the storage's
 * server (host and port, the default port 6379 counted; a Sentinel group
 * through the same Sentinels); another server, no key, an empty key, a
 * path that is no number. */
static int queues(const char *json, int *db, int *elsewhere)
{
	cJSON *doc = cJSON_Parse(json);
	int rc;

	assert_non_null(doc);
	rc = tsarc_redis_queues_db(doc, "backend-redis", "REDIS_STORAGE_URL", "REDIS_QUEUES_URL",
		db, elsewhere);
	cJSON_Delete(doc);
	return rc;
}

static void queues_db(void **state)
{
	int db, elsewhere;

	(void)state;
	assert_int_equal(queues("{\"stringData\": {"
		"\"REDIS_STORAGE_URL\": \"redis://backend-redis:6379/0\", "
		"\"REDIS_QUEUES_URL\": \"redis://backend-redis/1\"}}", &db, &elsewhere), 0);
	assert_int_equal(db, 1);
	assert_int_equal(elsewhere, 0);
	assert_int_equal(queues("{\"stringData\": {\"REDIS_STORAGE_URL\": \"redis://m:6379/2\", "
		"\"REDIS_QUEUES_URL\": \"redis://m:6380/3\"}}", &db, &elsewhere), 0);
	assert_int_equal(db, -1);
	assert_int_equal(elsewhere, 1);
	assert_int_equal(queues("{\"stringData\": {\"REDIS_STORAGE_URL\": \"redis://g/2\", "
		"\"REDIS_STORAGE_SENTINEL_HOSTS\": \"redis://s1:26379\", "
		"\"REDIS_QUEUES_URL\": \"redis://g/3\", "
		"\"REDIS_QUEUES_SENTINEL_HOSTS\": \"redis://s1:26379\"}}", &db, &elsewhere), 0);
	assert_int_equal(db, 3);
	assert_int_equal(queues("{\"stringData\": {\"REDIS_STORAGE_URL\": \"redis://g/2\", "
		"\"REDIS_STORAGE_SENTINEL_HOSTS\": \"redis://s1:26379\", "
		"\"REDIS_QUEUES_URL\": \"redis://g/3\"}}", &db, &elsewhere), 0);
	assert_int_equal(elsewhere, 1);
	assert_int_equal(queues("{\"stringData\": {\"REDIS_STORAGE_URL\": \"redis://m/0\"}}", &db,
		&elsewhere), 0);
	assert_int_equal(db, -1);
	assert_int_equal(elsewhere, 0);
	assert_int_equal(queues("{\"stringData\": {\"REDIS_STORAGE_URL\": \"redis://m/0\", "
		"\"REDIS_QUEUES_URL\": \"\"}}", &db, &elsewhere), 0);
	assert_int_equal(db, -1);
	assert_int_equal(queues("{\"stringData\": {\"REDIS_STORAGE_URL\": \"redis://m/0\", "
		"\"REDIS_QUEUES_URL\": \"redis://m/q\"}}", &db, &elsewhere), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, "Secret backend-redis, key "
		"REDIS_QUEUES_URL: the URL's path 'q' is not a Redis database number"));
	tsarc_error_clear();
}

/* A Sentinel hosts list whose password holds ',' or a blank: 3scale
 * splits the list at each ',', so it cannot work there; each piece was
 * taken as an entry of its own ("redis://su:Xq7" a Sentinel, whose
 * description was "su:Xq7": the user and the password's start). Refused
 * at the Secret, and by the Sentinel connection itself (the hosts may
 * come from elsewhere), with no piece of the value in the message. */
static void sentinel_hosts_split_password(void **state)
{
	static const char *const lists[] = {
		"redis://su:Xq7,Zk9@s1:26379,redis://su:Xq7,Zk9@s2:26379",
		"redis://su:Xq7 Zk9@s1:26379",
		"su:Xq7,Zk9@s1:26379",
		"rediss://su:Xq7\\tZk9@s1",
	};
	char json[512];
	tsarc_redis_conf c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
		snprintf(json, sizeof(json), "{\"stringData\": {"
			"\"REDIS_QUEUES_URL\": \"redis://:qpw@mygroup/1\","
			"\"REDIS_QUEUES_SENTINEL_HOSTS\": \"%s\"}}", lists[i]);
		assert_int_equal(from_secret(&c, json, "backend-redis", "REDIS_QUEUES_URL"),
			TSARC_ECONFIG);
		assert_non_null(strstr(tsarc_error_last()->message, "Secret backend-redis"));
		assert_non_null(strstr(tsarc_error_last()->message, "','"));
		assert_null(strstr(tsarc_error_last()->message, "Xq7"));
		assert_null(strstr(tsarc_error_last()->message, "Zk9"));
		assert_null(strstr(tsarc_error_last()->message, "su"));
		tsarc_error_clear();
	}
	{
		/* The hosts refused before any connection is tried. */
		tsarc_redis_sentinel s = {.hosts = "redis://u:Xq7 Zk9@127.0.0.1:1",
			.master = "mymaster"};
		tsarc_redis_opts base = {.connect_timeout_ms = 2000};
		tsarc_redis *r = NULL;
		assert_int_equal(tsarc_redis_sentinel_connect(&r, &base, &s), TSARC_ECONFIG);
		assert_null(r);
		assert_null(strstr(tsarc_error_last()->message, "Xq7"));
		assert_null(strstr(tsarc_error_last()->message, "Zk9"));
		tsarc_error_clear();
	}
}

/* Well-formed lists still pass: blanks around the entries, IPv6, no port. */
static void sentinel_hosts_well_formed(void **state)
{
	static const char *const lists[] = {
		"s1:26379, s2:26380",
		"redis://su:p@ss:w0rd@s1:26379,\\n redis://[::1]:26379",
		"rediss://s1",
		"u:pw@10.0.0.1",
	};
	char json[512];
	tsarc_redis_conf c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
		snprintf(json, sizeof(json), "{\"stringData\": {"
			"\"REDIS_QUEUES_URL\": \"redis://:qpw@mygroup/1\","
			"\"REDIS_QUEUES_SENTINEL_HOSTS\": \"%s\"}}", lists[i]);
		assert_int_equal(from_secret(&c, json, "backend-redis", "REDIS_QUEUES_URL"), 0);
		assert_int_equal(c.use_sentinel, 1);
		tsarc_redis_conf_free(&c);
	}
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(sentinel_hosts_split_password),
	cmocka_unit_test(sentinel_hosts_well_formed),
	cmocka_unit_test(url_db),
	cmocka_unit_test(meta_db),
	cmocka_unit_test(dbmap),
	cmocka_unit_test(dbmap_two),
	cmocka_unit_test(queues_db),
	cmocka_unit_test(storage_216),
	cmocka_unit_test(queues_sentinel_tls),
	cmocka_unit_test(older_config_names),
	cmocka_unit_test(system_redis),
	cmocka_unit_test(url_lone_userinfo_is_password))
