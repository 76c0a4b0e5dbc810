/* Unit tests of dbconn.c: which user and password a managed database gets
 * from its Secret, TLS modes and client options, the private TLS files,
 * the probes' answers and what a restore creates a database with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "cmocka_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "component.h"
#include "dbconn.h"
#include "psqlowner.h"
#include "sqlreads.h"
#include "scratch.h"
#include "tsarc/errors.h"

/* A Secret document with stringData (what tsarc_secret_doc_value reads). */
static cJSON *secret(const char *const kv[])
{
	cJSON *doc = cJSON_CreateObject(), *data = cJSON_AddObjectToObject(doc, "stringData");
	for (; kv[0]; kv += 2)
		cJSON_AddStringToObject(data, kv[0], kv[1]);
	return doc;
}

static const char profile_spec[] =
	"{\"user\": \"root\", \"url_secret\": {\"secret\": \"system-database\", \"key\": \"URL\","
	" \"user_key\": \"DB_USER\", \"password_key\": \"DB_PASSWORD\", \"tls\": {\"mode\":"
	" \"DATABASE_SSL_MODE\", \"ca\": \"DB_SSL_CA\", \"cert\": \"DB_SSL_CERT\", \"key\":"
	" \"DB_SSL_KEY\"}}}";

static void resolve(const char *spec_text, const char *const kv[], tsarc_conn *conn, int want_rc)
{
	cJSON *spec = cJSON_Parse(spec_text), *doc = kv ? secret(kv) : NULL;
	tsarc_component c;

	memset(&c, 0, sizeof(c));
	c.name = "system-mysql";
	c.spec = spec;
	c.external = 1;
	assert_int_equal(tsarc_conn_from_secret(&c, doc, conn), want_rc);
	cJSON_Delete(spec);
	cJSON_Delete(doc);
}

static void secret_user_wins_over_profile_user(void **state)
{
	static const char *const kv[] = {"URL", "mysql2://admin:pw1@db.example.net/system",
		"DB_USER", "app", "DB_PASSWORD", "pw2", NULL};
	tsarc_conn conn;

	(void)state;
	resolve(profile_spec, kv, &conn, 0);
	assert_string_equal(conn.user, "admin");
	assert_string_equal(conn.password, "pw1");
	assert_string_equal(conn.host, "db.example.net");
	tsarc_conn_free(&conn);
}

/* A Secret without its URL key counts as none where the configuration
 * names the server (host or socket), for the backup (conn.c) as for the
 * restore (target.c): the zync Secret a migration creates without the
 * source's DATABASE_URL. Where the configuration names none, the error
 * says what to give. Before, the backup stopped at "Secret zync has no key
 * DATABASE_URL", a way out named nowhere. */
static void secret_without_url(void **state)
{
	static const char *const with_url[] = {"URL", "mysql2://db.example.net/system", NULL};
	static const char *const without_url[] = {"DB_USER", "app", "DB_PASSWORD", "pw", NULL};
	cJSON *spec = cJSON_Parse(profile_spec), *host = cJSON_Parse(profile_spec);
	cJSON *sock = cJSON_Parse(profile_spec), *a = secret(with_url), *b = secret(without_url);

	(void)state;
	cJSON_AddStringToObject(host, "host", "10.0.0.8");
	cJSON_AddStringToObject(sock, "socket", "/run/mysqld/mysqld.sock");
	assert_int_equal(tsarc_conn_secret_lacks_url(spec, a), 0);
	assert_int_equal(tsarc_conn_secret_lacks_url(host, a), 0);
	assert_int_equal(tsarc_conn_secret_lacks_url(spec, NULL), 0);
	assert_int_equal(tsarc_conn_secret_lacks_url(host, b), 1);
	assert_int_equal(tsarc_conn_secret_lacks_url(sock, b), 1);
	assert_int_equal(tsarc_conn_secret_lacks_url(spec, b), TSARC_ENOTFOUND);
	print_message("%s\n", tsarc_error_last()->message);
	assert_string_equal(tsarc_error_last()->message, "Secret system-database has no key URL "
		"to say where the database is: fill it, or give the database's host (or socket), "
		"port, user, database and password_env or password_file in the configuration, which "
		"then says where it is");
	/* No Secret at all: the same rule, the error naming the Secret. */
	assert_int_equal(tsarc_conn_secret_missing(host, "system-database"), 1);
	assert_int_equal(tsarc_conn_secret_missing(sock, "system-database"), 1);
	assert_int_equal(tsarc_conn_secret_missing(spec, "system-database"), TSARC_ENOTFOUND);
	assert_string_equal(tsarc_error_last()->message, "there is no Secret system-database to "
		"say where the database is: create it, or give the database's host (or socket), port, "
		"user, database and password_env or password_file in the configuration, which then "
		"says where it is");
	cJSON_Delete(spec);
	cJSON_Delete(host);
	cJSON_Delete(sock);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void user_key_when_url_has_none(void **state)
{
	static const char *const kv[] = {"URL", "mysql2://db.example.net/system",
		"DB_USER", "app", "DB_PASSWORD", "pw2", NULL};
	static const char *const zync[] = {"URL", "postgresql://zync@h/zync_production",
		"DB_PASSWORD", "zpw", NULL};
	tsarc_conn conn;

	(void)state;
	resolve(profile_spec, kv, &conn, 0);
	assert_string_equal(conn.user, "app");
	assert_string_equal(conn.password, "pw2");
	assert_true(conn.has_password);
	tsarc_conn_free(&conn);
	/* The URL's user without a password: password_key is its password. */
	resolve(profile_spec, zync, &conn, 0);
	assert_string_equal(conn.user, "zync");
	assert_string_equal(conn.password, "zpw");
	tsarc_conn_free(&conn);
}

static void configured_password_brings_its_user(void **state)
{
	static const char *const kv[] = {"URL", "postgresql://zync:old@src/zync_production", NULL};
	tsarc_conn conn;

	(void)state;
	setenv("TSARC_TEST_DBCONN_PW", "new", 1);
	resolve("{\"user\": \"zync2\", \"password_env\": \"TSARC_TEST_DBCONN_PW\", \"url_secret\":"
		" {\"secret\": \"zync\", \"key\": \"URL\"}}", kv, &conn, 0);
	assert_string_equal(conn.user, "zync2");
	assert_string_equal(conn.password, "new");
	tsarc_conn_free(&conn);
	unsetenv("TSARC_TEST_DBCONN_PW");
}

/* Each spelling parses (in any case); libpq's spelling prints, since it
 * goes into PGSSLMODE. */
static void tls_mode_names(void **state)
{
	static const struct {
		const char *text;
		tsarc_tls_mode mode;
		const char *printed;
	} cases[] = {
		{"disabled", TSARC_TLS_DISABLE, "disable"},
		{"DISABLE", TSARC_TLS_DISABLE, "disable"},
		{"preferred", TSARC_TLS_PREFER, "prefer"},
		{"allow", TSARC_TLS_PREFER, "prefer"},
		{"Required", TSARC_TLS_REQUIRE, "require"},
		{"verify_ca", TSARC_TLS_VERIFY_CA, "verify-ca"},
		{"verify-ca", TSARC_TLS_VERIFY_CA, "verify-ca"},
		{"verify_identity", TSARC_TLS_VERIFY_FULL, "verify-full"},
		{"verify_full", TSARC_TLS_VERIFY_FULL, "verify-full"},
		{"", TSARC_TLS_UNSET, "unset"},
	};
	tsarc_tls_mode m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(tsarc_tls_mode_parse(cases[i].text, "mode", &m), 0);
		assert_int_equal(m, cases[i].mode);
		assert_string_equal(tsarc_tls_mode_name(m), cases[i].printed);
	}
	assert_int_equal(tsarc_tls_mode_parse(NULL, "mode", &m), 0);
	assert_int_equal(m, TSARC_TLS_UNSET);
	assert_int_equal(tsarc_tls_mode_parse("verify", "DATABASE_SSL_MODE", &m), TSARC_ECONFIG);
	assert_int_equal(m, TSARC_TLS_UNSET);
	assert_non_null(strstr(tsarc_error_last()->message, "DATABASE_SSL_MODE is not a TLS mode"));
}

static void tls_modes_and_args(void **state)
{
	static const char *const kv[] = {"URL", "mysql2://a:b@h/system", "DATABASE_SSL_MODE",
		"verify_identity", "DB_SSL_CA", "-----BEGIN CERTIFICATE-----\nx\n", NULL};
	static const char *const url_mode[] = {"URL", "postgresql://a:b@h/z?sslmode=require", NULL};
	static const char *const bad[] = {"URL", "mysql2://a:b@h/s", "DATABASE_SSL_MODE",
		"sometimes-secret", NULL};
	static const char *const half[] = {"URL", "mysql2://a:b@h/s", "DB_SSL_CERT", "c", NULL};
	static const char *const req_ca[] = {"URL", "mysql2://a:b@h/s", "DATABASE_SSL_MODE",
		"required", "DB_SSL_CA", "-----BEGIN CERTIFICATE-----\nx\n", NULL};
	static const char *const rediss[] = {"URL", "rediss://:pw@h:6380/0", NULL};
	tsarc_conn conn;
	tsarc_cmd cmd;
	tsarc_db_tls *t;
	struct stat st;
	char *ca;
	size_t i;
	int seen_ca = 0, seen_verify = 0;

	(void)state;
	resolve(profile_spec, kv, &conn, 0);
	assert_int_equal(tsarc_conn_tls_mode(&conn), TSARC_TLS_VERIFY_FULL);
	assert_int_equal(tsarc_db_tls_open(&conn, &t), 0);
	assert_non_null(t);
	/* A private folder, a 0600 file, the PEM in it; the path on argv. */
	assert_int_equal(stat(t->pd.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(t->path[TSARC_DB_TLS_CA], &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_null(t->path[TSARC_DB_TLS_CERT]);
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_mysql_tls_args(&cmd, &conn, t), 0);
	for (i = 0; i < cmd.argc; i++) {
		assert_null(strstr(cmd.argv[i], "BEGIN CERTIFICATE"));
		seen_ca |= !strncmp(cmd.argv[i], "--ssl-ca=", 9);
		seen_verify |= !strcmp(cmd.argv[i], "--loose-ssl-verify-server-cert");
	}
	assert_true(seen_ca && seen_verify);
	tsarc_cmd_free(&cmd);
	ca = strdup(t->path[TSARC_DB_TLS_CA]);
	{
		char *dir = strdup(t->pd.path);
		assert_int_equal(tsarc_db_tls_close(t), 0);
		assert_int_not_equal(access(ca, F_OK), 0);
		assert_int_not_equal(access(dir, F_OK), 0);
		free(dir);
	}
	free(ca);
	tsarc_conn_free(&conn);

	resolve(profile_spec, url_mode, &conn, 0);
	assert_int_equal(tsarc_conn_tls_mode(&conn), TSARC_TLS_REQUIRE);
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_pg_tls_env(&cmd, &conn, NULL), 0);
	assert_int_equal(cmd.nenv, 1);
	assert_string_equal(cmd.env[0], "PGSSLMODE=require");
	tsarc_cmd_free(&cmd);
	tsarc_conn_free(&conn);

	/* "required" with a CA: the CA is used (verify-ca, as libpq does with
	 * a root certificate), never MySQL's REQUIRED that trusts any server. */
	resolve(profile_spec, req_ca, &conn, 0);
	assert_int_equal(tsarc_conn_tls_mode(&conn), TSARC_TLS_VERIFY_CA);
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_mysql_tls_args(&cmd, &conn, NULL), 0);
	for (i = 0; i < cmd.argc; i++)
		assert_string_not_equal(cmd.argv[i], "--loose-skip-ssl-verify-server-cert");
	assert_string_equal(cmd.argv[cmd.argc - 1], "--loose-ssl-verify-server-cert");
	tsarc_cmd_free(&cmd);
	tsarc_conn_free(&conn);
	/* rediss:// asks for TLS (redis-cli then gets --tls). */
	resolve(profile_spec, rediss, &conn, 0);
	assert_int_equal(tsarc_conn_tls_mode(&conn), TSARC_TLS_VERIFY_FULL);
	tsarc_conn_free(&conn);

	/* An unknown mode is an error that names the key, never the value. */
	resolve(profile_spec, bad, &conn, TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, "DATABASE_SSL_MODE"));
	assert_null(strstr(tsarc_error_last()->message, "sometimes-secret"));
	resolve(profile_spec, half, &conn, TSARC_ECONFIG);
}

/* No mode given is what 3scale's own MySQL client does (preferred: TLS
 * where the server offers it, the server unchecked), and so is
 * "preferred", whatever the client's default: MariaDB's from 11.4 (Debian
 * 13's, the image's) requires TLS and checks the server by default, and
 * refused a server without TLS ("SSL is required, but the server does not
 * support it"); 10.11's used none where the server offered it. */
static void unset_and_preferred_take_tls_unchecked(void **state)
{
	static const char *const unset[] = {"URL", "mysql2://a:b@127.0.0.1:1/system", NULL};
	static const char *const preferred[] = {"URL", "mysql2://a:b@127.0.0.1:1/system",
		"DATABASE_SSL_MODE", "preferred", NULL};
	const char *const *kv[] = {unset, preferred};
	tsarc_conn conn;
	tsarc_cmd cmd;
	size_t i, k;

	(void)state;
	for (k = 0; k < 2; k++) {
		int mode = 0, ssl = 0, unchecked = 0;

		resolve(profile_spec, kv[k], &conn, 0);
		tsarc_cmd_init(&cmd);
		assert_int_equal(tsarc_mysql_tls_args(&cmd, &conn, NULL), 0);
		for (i = 0; i < cmd.argc; i++) {
			mode |= !strcmp(cmd.argv[i], "--loose-ssl-mode=PREFERRED");
			ssl |= !strcmp(cmd.argv[i], "--loose-ssl");
			unchecked |= !strcmp(cmd.argv[i], "--loose-skip-ssl-verify-server-cert");
			assert_string_not_equal(cmd.argv[i], "--loose-ssl-verify-server-cert");
		}
		if (!mode || !ssl || !unchecked)
			fail_msg("%s: not preferred TLS (--loose-ssl-mode=PREFERRED %d, --loose-ssl "
				"%d, --loose-skip-ssl-verify-server-cert %d)", k ? "preferred" : "no mode",
				mode, ssl, unchecked);
		tsarc_cmd_free(&cmd);
		tsarc_conn_free(&conn);
	}
}

/* The client's own error is what a message shows: each client warns of
 * the other's spelling of a TLS option (MariaDB of --loose-ssl-mode,
 * MySQL's of --loose-ssl-verify-server-cert), and those warnings are left
 * out of the stderr a message quotes. The real MariaDB client, a port
 * nothing listens on. */
static void client_error_without_loose_option_warnings(void **state)
{
	static const char *const kv[] = {"URL", "mysql2://a:b@127.0.0.1:1/system",
		"DATABASE_SSL_MODE", "verify_identity", NULL};
	tsarc_conn conn;
	tsarc_cmd cmd;
	char *out = NULL, err[1024];
	int code = 0;

	(void)state;
	if (access("/usr/bin/mariadb", X_OK)) {
		if (getenv("TSARC_TEST_REQUIRE_SERVICES"))
			fail_msg("no /usr/bin/mariadb (ci/deps.sh installs mariadb-client)");
		skip();
	}
	resolve(profile_spec, kv, &conn, 0);
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_cmd_arg(&cmd, "/usr/bin/mariadb"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "--no-defaults"), 0);
	assert_int_equal(tsarc_mysql_tls_args(&cmd, &conn, NULL), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "--host=127.0.0.1"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "--port=1"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "--connect-timeout=5"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "-e"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "select 1"), 0);
	assert_int_equal(tsarc_proc_capture(cmd.argv, NULL, 4096, &out, NULL, &code, err,
		sizeof(err)), 0);
	free(out);
	assert_int_not_equal(code, 0);
	if (!strstr(err, "Can't connect") || strstr(err, "unknown variable"))
		fail_msg("the client's stderr as a message quotes it:\n%s", err);
	tsarc_cmd_free(&cmd);
	tsarc_conn_free(&conn);
}

/* PostgreSQL's major versions, as the backup compares pg_dump's with its
 * server's and the restore the dump's with its target's: tool lines as
 * pg_dump, pg_dumpall and psql print them, server_version_num as SHOW
 * gives it; before 10 a major was two numbers. Anything else is none (0):
 * nothing is compared. */
static void pg_major_versions(void **state)
{
	static const struct {
		const char *text;
		int tool, server;
		const char *name;
	} cases[] = {
		{"pg_dump (PostgreSQL) 17.12 (Debian 17.12-0+deb13u1)", 17, 0, "17"},
		{"pg_dumpall (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", 15, 0, "15"},
		{"psql (PostgreSQL) 16.4", 16, 0, "16"},
		{"pg_dump (PostgreSQL) 18beta1", 18, 0, "18"},
		{"pg_dump (PostgreSQL) 9.6.24", 906, 0, "9.6"},
		{"170012", 0, 17, "17"},
		{"150018", 0, 15, "15"},
		{"100000", 0, 10, "10"},
		{"90624", 0, 906, "9.6"},
		{"unknown", 0, 0, NULL},
		{"mysqldump  Ver 10.19 Distrib 10.11.6-MariaDB", 0, 0, NULL},
		{"pg_dump (PostgreSQL) x", 0, 0, NULL},
		{"pg_dump (PostgreSQL) 9", 0, 0, NULL},
		{"170012\n", 0, 0, NULL},
		{"17.12", 0, 0, NULL},
		{"-170012", 0, 0, NULL},
		{"", 0, 0, NULL},
	};
	char name[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int major = cases[i].tool ? cases[i].tool : cases[i].server;
		assert_int_equal(tsarc_pg_tool_major(cases[i].text), cases[i].tool);
		assert_int_equal(tsarc_pg_server_major(cases[i].text), cases[i].server);
		if (cases[i].name) {
			tsarc_pg_major_name(major, name, sizeof(name));
			assert_string_equal(name, cases[i].name);
		}
	}
	assert_int_equal(tsarc_pg_tool_major(NULL), 0);
	assert_int_equal(tsarc_pg_server_major(NULL), 0);
	/* Ordered as the releases are, which 906 and 17 are not. */
	assert_int_equal(tsarc_pg_major_num(17), 170000);
	assert_int_equal(tsarc_pg_major_num(906), 90600);
	assert_true(tsarc_pg_major_num(906) < tsarc_pg_major_num(10));
}

static void probe_answers_and_create_options(void **state)
{
	static const char *const my[] = {"charset", "collation"};
	static const char *const pg[] = {"encoding", "lc_collate", "lc_ctype"};
	cJSON *meta = cJSON_CreateObject();
	char *opts, *sql, *q;

	(void)state;
	assert_int_equal(tsarc_probe_fields("utf8mb4\tutf8mb4_unicode_ci\n", my, 2, meta), 0);
	assert_int_equal(tsarc_mysql_create_options(meta, "DEFAULT CHARACTER SET utf8mb3", &opts), 0);
	assert_string_equal(opts, "DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci");
	free(opts);
	/* Anything but plain names is refused, and a recorded value that is
	 * not one (a snapshot is untrusted) falls back to the recipe's. */
	{
		cJSON *other = cJSON_CreateObject();
		assert_int_not_equal(tsarc_probe_fields("utf8; DROP\tx\n", my, 2, other), 0);
		cJSON_Delete(other);
	}
	cJSON_ReplaceItemInObject(meta, "collation", cJSON_CreateString("x; DROP DATABASE y"));
	assert_int_equal(tsarc_mysql_create_options(meta, "DEFAULT CHARACTER SET utf8mb3", &opts), 0);
	assert_string_equal(opts, "DEFAULT CHARACTER SET utf8mb3");
	free(opts);
	cJSON_Delete(meta);

	meta = cJSON_CreateObject();
	assert_int_equal(tsarc_probe_fields("LATIN1|C|C\n", pg, 3, meta), 0);
	assert_int_equal(tsarc_pg_create_database_sql("zync'; --", meta, &sql), 0);
	assert_non_null(strstr(sql, "ENCODING %L LC_COLLATE %L LC_CTYPE %L TEMPLATE template0', d, "
		"'LATIN1', 'C', 'C')"));
	assert_null(strstr(sql, "zync'")); /* the name goes as hex */
	/* Unconditional: the caller found it missing, and one that exists
	 * by then fails the CREATE instead of passing for one it made. */
	assert_null(strstr(sql, "NOT EXISTS"));
	free(sql);
	cJSON_Delete(meta);
	/* The DROP of a database a failed restore created: quoted as the
	 * CREATE quotes it, the name as hex. */
	assert_int_equal(tsarc_pg_drop_database_sql("zync'; --", &sql), 0);
	assert_string_equal(sql, "SELECT format('DROP DATABASE %I', "
		"convert_from('\\x7a796e63273b202d2d'::bytea, 'UTF8'))\n\\gexec\n");
	free(sql);
	assert_int_equal(tsarc_pg_database_count_query("zync'; --", &q), 0);
	assert_string_equal(q, "SELECT count(*) FROM pg_database WHERE datname = "
		"convert_from('\\x7a796e63273b202d2d'::bytea, 'UTF8')");
	free(q);
	assert_int_equal(tsarc_mysql_charset_query("sys`tem'", &q), 0);
	assert_null(strstr(q, "sys"));
	free(q);
	/* Whether a MySQL database exists before a restore creates it: the
	 * name as hex, compared exactly unless the server folds case. */
	assert_int_equal(tsarc_mysql_database_count_query("sys`tem'", &q), 0);
	assert_string_equal(q, "SELECT COUNT(*) FROM information_schema.SCHEMATA, (SELECT "
		"CONVERT(X'7379736074656d27' USING utf8mb4) AS d) x WHERE "
		"IF(@@lower_case_table_names = 0, BINARY SCHEMA_NAME = x.d, SCHEMA_NAME = x.d)");
	free(q);
}

/* The plugin names the tests lay out in a folder of their own. */
static const char *const PLUGIN_NAMES[] = {"client_ed25519", "caching_sha2_password",
	"sha256_password", "mysql_clear_password", "dialog"};
#define N_PLUGIN_NAMES (sizeof(PLUGIN_NAMES) / sizeof(*PLUGIN_NAMES))

/* `t`'s plugin folder links the first `n` PLUGIN_NAMES, not the others,
 * and tsarc_mysql_tls_args ends with --plugin-dir, then for a socket (`n`
 * 3) --protocol=SOCKET and, when `pin`, --host=localhost; the folder is
 * removed and the linked files untouched. */
/* SHOW GRANTS (as mysql --batch writes it) read into the visibility
 * query's rows: each grant on an object is one row of its level, the
 * privileges that matter, its names as hex and its grantee; a column's
 * grant is not the table's; a password hash never goes into the query;
 * nothing to go by (no grant on an object, a REVOKE) is no query. */
static void mysql_grants_read(void **state)
{
	static const struct {
		const char *grants;
		const char *want[3]; /* in the query; NULL want[0]: no query */
	} cases[] = {
		{"", {NULL}},
		{"GRANT `r` TO `u`@`%`\nSET DEFAULT ROLE `r` FOR `u`@`%`\n", {NULL}},
		{"GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*D821809F'\n"
		 "GRANT SELECT, SHOW VIEW, EVENT, TRIGGER ON `system`.* TO `r`\n",
			{"SELECT 'g', ',', CONVERT(X'' USING utf8mb4), CONVERT(X'' USING utf8mb4), "
			 "CONVERT(X'75' USING utf8mb4)",
			 "SELECT 'd', ',SELECT,TRIGGER,', CONVERT(X'73797374656d' USING utf8mb4), "
			 "CONVERT(X'' USING utf8mb4), CONVERT(X'72' USING utf8mb4)"}},
		{"GRANT SELECT (`id`, `tenant_id`), TRIGGER ON `system`.`accounts` TO `u`@`%`\n",
			{"SELECT 't', ',TRIGGER,', CONVERT(X'73797374656d' USING utf8mb4), "
			 "CONVERT(X'6163636f756e7473' USING utf8mb4)"}},
		/* my\_db (an escaped wildcard), written my\\_db by --batch. */
		{"GRANT SELECT ON `my\\\\_db`.* TO PUBLIC\n",
			{"SELECT 'd', ',SELECT,', CONVERT(X'6d795c5f6462' USING utf8mb4), "
			 "CONVERT(X'' USING utf8mb4), CONVERT(X'5055424c4943' USING utf8mb4)"}},
		{"GRANT ALL PRIVILEGES ON `a``b`.* TO 'u'@'%' WITH GRANT OPTION\n",
			{"SELECT 'd', ',ALL,', CONVERT(X'616062' USING utf8mb4)"}},
		{"GRANT EXECUTE ON PROCEDURE `system`.`p` TO `u`@`%`\n",
			{"SELECT 'r', ',', CONVERT(X'' USING utf8mb4), CONVERT(X'' USING utf8mb4), "
			 "CONVERT(X'75' USING utf8mb4)"}},
		{"GRANT SELECT, SHOW_ROUTINE ON *.* TO `u`@`%`\n"
		 "REVOKE SELECT ON `mysql`.* FROM `u`@`%`\n", {NULL}},		/* MySQL 9.7's, for an RDS admin whose default role is active: the
		 * role's privileges shown as the user's, the role granted in
		 * MySQL's form (a row of level o naming it), and the dynamic
		 * privileges written without blanks. */
		{"GRANT SELECT, INSERT, CREATE, TRIGGER ON *.* TO `admin`@`%` WITH GRANT OPTION\n"
		 "GRANT AUDIT_ADMIN,SHOW_ROUTINE,XA_RECOVER_ADMIN ON *.* TO `admin`@`%`\n"
		 "GRANT `rds_superuser_role`@`%`,`other`@`localhost` TO `admin`@`%`\n",
			{"SELECT 'g', ',SELECT,TRIGGER,', CONVERT(X'' USING utf8mb4), "
			 "CONVERT(X'' USING utf8mb4), CONVERT(X'61646d696e' USING utf8mb4)",
			 "SELECT 'o', ',', CONVERT(X'' USING utf8mb4), CONVERT(X'' USING utf8mb4), "
			 "CONVERT(X'7264735f7375706572757365725f726f6c65' USING utf8mb4)",
			 "SELECT 'o', ',', CONVERT(X'' USING utf8mb4), CONVERT(X'' USING utf8mb4), "
			 "CONVERT(X'6f74686572' USING utf8mb4)"}},
		{"GRANT SHOW_ROUTINE,XA_RECOVER_ADMIN ON *.* TO `u`@`%`\n",
			{"SELECT 'g', ',SHOW_ROUTINE,'"}},
	};
	size_t i, j;
	char *q;

	(void)state;
	assert_int_equal(tsarc_mysql_visible_query("system", NULL, &q), 0);
	assert_null(q);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(tsarc_mysql_visible_query("system", cases[i].grants, &q), 0);
		if (!cases[i].want[0]) {
			assert_null(q);
			continue;
		}
		assert_non_null(q);
		for (j = 0; j < 3 && cases[i].want[j]; j++)
			if (!strstr(q, cases[i].want[j]))
				fail_msg("case %zu: no \"%s\" in %s", i, cases[i].want[j], q);
		assert_null(strstr(q, "D821809F"));
		assert_null(strstr(q, "PASSWORD"));
		free(q);
	}
}

static void check_plugin_folder(const tsarc_conn *conn, tsarc_db_tls *t, const char *src,
	size_t n, int pin)
{
	int tail = (n == 3) + !!pin;

	char path[512], *dir;
	tsarc_cmd cmd;
	struct stat st;
	size_t i;

	assert_non_null(t);
	assert_true(t->plugin_dir);
	for (i = 0; i < N_PLUGIN_NAMES; i++) {
		snprintf(path, sizeof(path), "%s/%s.so", t->pd.path, PLUGIN_NAMES[i]);
		assert_int_equal(lstat(path, &st) == 0, i < n);
	}
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_mysql_tls_args(&cmd, conn, t), 0);
	snprintf(path, sizeof(path), "--plugin-dir=%s", t->pd.path);
	assert_string_equal(cmd.argv[cmd.argc - 1 - tail], path);
	if (n == 3)
		assert_string_equal(cmd.argv[cmd.argc - tail], "--protocol=SOCKET");
	if (pin)
		assert_string_equal(cmd.argv[cmd.argc - 1], "--host=localhost");
	tsarc_cmd_free(&cmd);
	dir = strdup(t->pd.path);
	assert_int_equal(tsarc_db_tls_close(t), 0);
	assert_int_not_equal(access(dir, F_OK), 0);
	free(dir);
	/* Not overwritten through the links. */
	snprintf(path, sizeof(path), "%s/client_ed25519.so", src);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 6);
}

/* A host given, and no socket the client takes: TCP, said to the client.
 * MySQL's own client (9.7, measured) takes its default socket for the host
 * "localhost" whatever --port says: a component at localhost:3307 was
 * dumped from, or loaded into, the server of this host's socket. No host:
 * the client's own default, unpinned. */
static void mysql_host_pins_tcp(void **state)
{
	static const struct {
		const char *host, *socket;
		const char *pinned; /* NULL: no --protocol */
	} cases[] = {
		{"localhost", NULL, "--protocol=TCP"},
		{"system-mysql", NULL, "--protocol=TCP"},
		{"127.0.0.1", "/run/mysqld/mysqld.sock", "--protocol=TCP"},
		{NULL, NULL, NULL},
		{"", NULL, NULL},
	};
	tsarc_conn conn;
	tsarc_cmd cmd;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *seen = NULL;

		memset(&conn, 0, sizeof(conn));
		conn.host = cases[i].host ? strdup(cases[i].host) : NULL;
		conn.socket = cases[i].socket ? strdup(cases[i].socket) : NULL;
		conn.port = 3307;
		tsarc_cmd_init(&cmd);
		assert_int_equal(tsarc_mysql_tls_args(&cmd, &conn, NULL), 0);
		for (k = 0; k < cmd.argc; k++)
			if (!strncmp(cmd.argv[k], "--protocol=", 11))
				seen = cmd.argv[k];
		if (cases[i].pinned ? !seen || strcmp(seen, cases[i].pinned) : !!seen)
			fail_msg("host %s, socket %s: %s, want %s", cases[i].host ? cases[i].host : "none",
				cases[i].socket ? cases[i].socket : "none", seen ? seen : "no --protocol",
				cases[i].pinned ? cases[i].pinned : "none");
		tsarc_cmd_free(&cmd);
		tsarc_conn_free(&conn);
	}
}

/* A MySQL client on this host that does not verify its server gets a
 * plugin folder of its own: links to the usual plugins of the client's
 * folder (MARIADB_PLUGIN_DIR here), never mysql_clear_password or dialog,
 * and over TCP not caching_sha2_password or sha256_password either; over
 * this host's socket those two stay. One that verifies, or runs in a pod,
 * gets none. Removing the folder leaves the plugins it linked to as they
 * were. */
static void mysql_plugin_folder_unless_verified(void **state)
{
	static const char *const none[] = {"URL", "mysql2://a:b@h/s", NULL};
	static const char *const pref[] = {"URL", "mysql2://a:b@h/s", "DATABASE_SSL_MODE",
		"preferred", NULL};
	static const char *const req[] = {"URL", "mysql2://a:b@h/s", "DATABASE_SSL_MODE",
		"required", NULL};
	/* The host as given, whether the client takes the socket, and
	 * whether tsarc pins --host=localhost. */
	static const struct {
		const char *host;
		int socket, pin;
	} sock[] = {{NULL, 1, 1}, {"localhost", 1, 0}, {"127.0.0.1", 0, 0}, {"", 1, 1}};
	char src[] = "/tmp/tsarc-test-plugins-XXXXXX", path[512];
	const char *const *const modes[] = {none, pref};
	tsarc_conn conn;
	tsarc_db_tls *t;
	size_t i, m;

	(void)state;
	assert_non_null(mkdtemp(src));
	for (i = 0; i < N_PLUGIN_NAMES; i++) {
		FILE *f;
		snprintf(path, sizeof(path), "%s/%s.so", src, PLUGIN_NAMES[i]);
		assert_non_null(f = fopen(path, "w"));
		fputs("plugin", f);
		fclose(f);
	}
	setenv("MARIADB_PLUGIN_DIR", src, 1);
	for (m = 0; m < 2; m++) {
		/* TCP: client_ed25519 only of these. */
		resolve(profile_spec, modes[m], &conn, 0);
		assert_false(tsarc_mysql_over_socket(&conn));
		assert_int_equal(tsarc_mysql_files_open(&conn, 1, &t), 0);
		check_plugin_folder(&conn, t, src, 1, 0);
		/* In a pod the folder is not this host's: nothing. */
		assert_int_equal(tsarc_mysql_files_open(&conn, 0, &t), 0);
		assert_null(t);
		/* A socket: the SHA-256 two as well, when the client takes it. */
		for (i = 0; i < sizeof(sock) / sizeof(*sock); i++) {
			free(conn.host);
			conn.host = sock[i].host ? strdup(sock[i].host) : NULL;
			free(conn.socket);
			conn.socket = strdup("/run/mysqld/mysqld.sock");
			assert_int_equal(tsarc_mysql_over_socket(&conn), sock[i].socket);
			assert_int_equal(tsarc_mysql_files_open(&conn, 1, &t), 0);
			check_plugin_folder(&conn, t, src, sock[i].socket ? 3 : 1, sock[i].pin);
		}
		tsarc_conn_free(&conn);
	}
	/* Verified ("required" checks the server): the client's own folder. */
	resolve(profile_spec, req, &conn, 0);
	assert_true(tsarc_mysql_client_verifies(&conn));
	assert_int_equal(tsarc_mysql_files_open(&conn, 1, &t), 0);
	assert_null(t);
	tsarc_conn_free(&conn);
	unsetenv("MARIADB_PLUGIN_DIR");
	for (i = 0; i < N_PLUGIN_NAMES; i++) {
		snprintf(path, sizeof(path), "%s/%s.so", src, PLUGIN_NAMES[i]);
		unlink(path);
	}
	rmdir(src);
}

/* Whether `cmd` holds `arg`, and an argument starting with `prefix`. */
static int has_arg(const tsarc_cmd *cmd, const char *arg)
{
	size_t i;

	for (i = 0; i < cmd->argc; i++)
		if (!strcmp(cmd->argv[i], arg))
			return 1;
	return 0;
}
static int has_prefix(const tsarc_cmd *cmd, const char *prefix)
{
	size_t i;

	for (i = 0; i < cmd->argc; i++)
		if (!strncmp(cmd->argv[i], prefix, strlen(prefix)))
			return 1;
	return 0;
}

/* MariaDB's client from 11.4 (Debian 13's, the image's) takes a server at
 * 127.0.0.1 or ::1 on trust, its certificate unchecked, where it is given
 * no CA: a client on this host told to verify the server (from "required"
 * up) without the Secret's CA is given the system's CA folder
 * ($SSL_CERT_DIR, else OpenSSL's), so that it checks. Not elsewhere: any
 * other host, a CA in the Secret, a mode that does not verify, a pod. */
static void mysql_loopback_checked_against_system_cas(void **state)
{
	static const char *const verify[] = {"URL", "mysql2://a:b@127.0.0.1:3306/s",
		"DATABASE_SSL_MODE", "verify_identity", NULL};
	static const char *const req[] = {"URL", "mysql2://a:b@127.0.0.1:3306/s",
		"DATABASE_SSL_MODE", "required", NULL};
	static const char *const with_ca[] = {"URL", "mysql2://a:b@127.0.0.1:3306/s",
		"DATABASE_SSL_MODE", "verify_identity", "DB_SSL_CA",
		"-----BEGIN CERTIFICATE-----\nx\n", NULL};
	static const char *const pref[] = {"URL", "mysql2://a:b@127.0.0.1:3306/s",
		"DATABASE_SSL_MODE", "preferred", NULL};
	static const char *const *const checked[] = {verify, req};
	static const char *const loopback[] = {"127.0.0.1", "::1"};
	tsarc_conn conn;
	tsarc_cmd cmd;
	tsarc_db_tls *t;
	size_t m, h;

	(void)state;
	setenv("SSL_CERT_DIR", "/etc/tsarc-test-cas", 1);
	for (m = 0; m < 2; m++)
		for (h = 0; h < 2; h++) {
			resolve(profile_spec, checked[m], &conn, 0);
			free(conn.host);
			conn.host = strdup(loopback[h]);
			assert_int_equal(tsarc_mysql_files_open(&conn, 1, &t), 0);
			if (!t)
				fail_msg("%s at %s: no system CAs named", checked[m][3], loopback[h]);
			tsarc_cmd_init(&cmd);
			assert_int_equal(tsarc_mysql_tls_args(&cmd, &conn, t), 0);
			assert_true(has_arg(&cmd, "--ssl-capath=/etc/tsarc-test-cas"));
			assert_true(has_arg(&cmd, "--loose-ssl-verify-server-cert"));
			assert_false(has_prefix(&cmd, "--plugin-dir="));
			assert_false(has_prefix(&cmd, "--ssl-ca="));
			tsarc_cmd_free(&cmd);
			assert_int_equal(tsarc_db_tls_close(t), 0);
			/* In a pod, its own loopback: as it was. */
			assert_int_equal(tsarc_mysql_files_open(&conn, 0, &t), 0);
			assert_null(t);
			/* Another host: the client checks it anyway. */
			free(conn.host);
			conn.host = strdup("h");
			assert_int_equal(tsarc_mysql_files_open(&conn, 1, &t), 0);
			assert_null(t);
			tsarc_conn_free(&conn);
		}
	/* The Secret's CA: that one, no other. */
	resolve(profile_spec, with_ca, &conn, 0);
	assert_int_equal(tsarc_mysql_files_open(&conn, 1, &t), 0);
	assert_non_null(t);
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_mysql_tls_args(&cmd, &conn, t), 0);
	assert_true(has_prefix(&cmd, "--ssl-ca="));
	assert_false(has_prefix(&cmd, "--ssl-capath="));
	tsarc_cmd_free(&cmd);
	assert_int_equal(tsarc_db_tls_close(t), 0);
	tsarc_conn_free(&conn);
	/* Not verified: the plugin folder, no CA. */
	resolve(profile_spec, pref, &conn, 0);
	assert_int_equal(tsarc_mysql_files_open(&conn, 1, &t), 0);
	assert_non_null(t);
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_mysql_tls_args(&cmd, &conn, t), 0);
	assert_true(has_prefix(&cmd, "--plugin-dir="));
	assert_false(has_prefix(&cmd, "--ssl-capath="));
	tsarc_cmd_free(&cmd);
	assert_int_equal(tsarc_db_tls_close(t), 0);
	tsarc_conn_free(&conn);
	/* Without SSL_CERT_DIR: OpenSSL's own folder. */
	unsetenv("SSL_CERT_DIR");
	resolve(profile_spec, verify, &conn, 0);
	assert_int_equal(tsarc_mysql_files_open(&conn, 1, &t), 0);
	assert_non_null(t);
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_mysql_tls_args(&cmd, &conn, t), 0);
	assert_true(has_prefix(&cmd, "--ssl-capath=/"));
	tsarc_cmd_free(&cmd);
	assert_int_equal(tsarc_db_tls_close(t), 0);
	tsarc_conn_free(&conn);
}

/* A client's failure to load a plugin left out gets tsarc's reason,
 * naming it and what its accounts need; caching_sha2_password over the
 * socket (linked there: some other trouble) and other failures do not. */
static void mysql_refusal_explained(void **state)
{
	tsarc_db_tls t;
	const char *m;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.plugin_dir = 1;
	tsarc_error_set(TSARC_EIO, "mysqldump: Got error: 1045: \"Plugin caching_sha2_password "
		"could not be loaded: x.so: cannot open shared object file\"");
	assert_int_equal(tsarc_mysql_explain(&t, TSARC_EIO), TSARC_EIO);
	m = tsarc_error_last()->message;
	assert_non_null(strstr(m, "could not be loaded"));
	assert_non_null(strstr(m, "the server asked for caching_sha2_password over a connection "
		"whose server is not verified: refused, the password was not sent"));
	assert_non_null(strstr(m, "Accounts that log in with caching_sha2_password (MySQL 8's "
		"default) need a verified server: DATABASE_SSL_MODE required or verify_identity"));
	t.over_socket = 1;
	tsarc_error_set(TSARC_EIO, "Plugin caching_sha2_password could not be loaded: x");
	assert_int_equal(tsarc_mysql_explain(&t, TSARC_EIO), TSARC_EIO);
	assert_string_equal(tsarc_error_last()->message,
		"Plugin caching_sha2_password could not be loaded: x");
	tsarc_error_set(TSARC_EIO, "Plugin dialog could not be loaded: x");
	tsarc_mysql_explain(&t, TSARC_EIO);
	assert_non_null(strstr(tsarc_error_last()->message, "the server asked for dialog over"));
	tsarc_error_set(TSARC_EIO, "Access denied for user");
	tsarc_mysql_explain(&t, TSARC_EIO);
	assert_string_equal(tsarc_error_last()->message, "Access denied for user");
	/* A loopback server checked against the system's CAs, refused: what
	 * to give (the client's words first); another failure as it is. */
	memset(&t, 0, sizeof(t));
	t.system_cas = 1;
	setenv("SSL_CERT_DIR", "/etc/tsarc-test-cas", 1);
	tsarc_error_set(TSARC_EIO, "mysqldump: Got error: 2026: \"TLS/SSL error: unable to get "
		"local issuer certificate\" when trying to connect");
	assert_int_equal(tsarc_mysql_explain(&t, TSARC_EIO), TSARC_EIO);
	m = tsarc_error_last()->message;
	assert_non_null(strstr(m, "mysqldump: Got error: 2026: \"TLS/SSL error: unable to get"));
	assert_non_null(strstr(m, "checked against this system's CAs (/etc/tsarc-test-cas)"));
	assert_non_null(strstr(m, "give the CA that signed its certificate in DB_SSL_CA"));
	tsarc_error_set(TSARC_EIO, "ERROR 2026 (HY000): SSL connection error: error:0A000086:SSL "
		"routines::certificate verify failed");
	tsarc_mysql_explain(&t, TSARC_EIO);
	assert_non_null(strstr(tsarc_error_last()->message, "in DB_SSL_CA"));
	tsarc_error_set(TSARC_EIO, "SSL is required, but the server does not support it");
	tsarc_mysql_explain(&t, TSARC_EIO);
	assert_string_equal(tsarc_error_last()->message,
		"SSL is required, but the server does not support it");
	unsetenv("SSL_CERT_DIR");
	tsarc_error_clear();
}

/* A component's password_file that cannot be read is an error naming the
 * file and read's reason, never an empty password: before, a folder (open
 * succeeds, read fails with EISDIR) gave "" and the client went on to
 * connect without one (or failed with the server's misleading "access
 * denied"). A file larger than a password can be is refused, not cut at
 * 4096 bytes; one holding a NUL byte (no client can be given it) too. */
static void password_file_unreadable_is_an_error(void **state)
{
	char dir[4096], spec[8300], file[4200];
	tsarc_component c;
	tsarc_conn conn;
	cJSON *j;
	FILE *f;
	size_t i;

	(void)state;
	assert_non_null(scratch_make(dir, sizeof(dir), "dbconn"));
	memset(&c, 0, sizeof(c));
	c.name = "system-mysql";

	/* The folder itself. */
	snprintf(spec, sizeof(spec), "{\"password_file\": \"%s\"}", dir);
	assert_non_null(c.spec = j = cJSON_Parse(spec));
	assert_int_equal(tsarc_conn_from_url(&c, NULL, &conn), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, "system-mysql"));
	assert_non_null(strstr(tsarc_error_last()->message, dir));
	assert_non_null(strstr(tsarc_error_last()->message, "Is a directory"));
	assert_null(conn.password);
	cJSON_Delete(j);

	/* An external component, its Secret read: the error is the
	 * configuration's file, as docs/config.md quotes it, not the
	 * Secret's URL (before: "Secret system-database, key URL: component
	 * 'system-mysql': cannot read password_file ..."). */
	snprintf(spec, sizeof(spec), "{\"password_file\": \"%s\", \"url_secret\": {\"secret\":"
		" \"system-database\", \"key\": \"URL\"}}", dir);
	{
		static const char *const kv[] = {"URL", "mysql2://u:p@db.example.net/system", NULL};
		resolve(spec, kv, &conn, TSARC_ECONFIG);
	}
	assert_non_null(strstr(tsarc_error_last()->message, "Is a directory"));
	assert_ptr_equal(strstr(tsarc_error_last()->message, "component 'system-mysql': cannot "
		"read password_file"), tsarc_error_last()->message);

	/* Missing. */
	snprintf(file, sizeof(file), "%s/missing", dir);
	snprintf(spec, sizeof(spec), "{\"password_file\": \"%s\"}", file);
	assert_non_null(c.spec = j = cJSON_Parse(spec));
	assert_int_equal(tsarc_conn_from_url(&c, NULL, &conn), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, file));
	assert_non_null(strstr(tsarc_error_last()->message, "No such file"));
	cJSON_Delete(j);

	/* 5000 bytes: not a password, and not to be cut at 4096. */
	snprintf(file, sizeof(file), "%s/large", dir);
	assert_non_null(f = fopen(file, "w"));
	for (i = 0; i < 5000; i++)
		fputc('p', f);
	assert_int_equal(fclose(f), 0);
	snprintf(spec, sizeof(spec), "{\"password_file\": \"%s\"}", file);
	assert_non_null(c.spec = j = cJSON_Parse(spec));
	assert_int_equal(tsarc_conn_from_url(&c, NULL, &conn), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, file));
	assert_null(conn.password);
	cJSON_Delete(j);

	/* A NUL byte inside: refused, not cut there. */
	snprintf(file, sizeof(file), "%s/nul", dir);
	assert_non_null(f = fopen(file, "w"));
	assert_int_equal(fwrite("pw\0rest\n", 1, 8, f), 8);
	assert_int_equal(fclose(f), 0);
	snprintf(spec, sizeof(spec), "{\"password_file\": \"%s\"}", file);
	assert_non_null(c.spec = j = cJSON_Parse(spec));
	assert_int_equal(tsarc_conn_from_url(&c, NULL, &conn), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, file));
	assert_null(conn.password);
	cJSON_Delete(j);

	/* A readable one: its text without the line end; blanks and inner
	 * line breaks kept (docs/config.md). */
	snprintf(file, sizeof(file), "%s/pw", dir);
	assert_non_null(f = fopen(file, "w"));
	fputs(" a b\nc\r\n", f);
	assert_int_equal(fclose(f), 0);
	snprintf(spec, sizeof(spec), "{\"password_file\": \"%s\"}", file);
	assert_non_null(c.spec = j = cJSON_Parse(spec));
	assert_int_equal(tsarc_conn_from_url(&c, NULL, &conn), 0);
	assert_string_equal(conn.password, " a b\nc");
	assert_true(conn.has_password);
	tsarc_conn_free(&conn);
	cJSON_Delete(j);
	tsarc_error_clear();
	assert_int_equal(scratch_remove(dir), 0);
}

/* An empty password is never taken for one, from a variable or a file:
 * either is an error naming it (an operator's empty variable or empty
 * file is a mistake: a Secret not mounted yet, a variable exported before
 * it was filled), as the repository's empty password file is. To connect
 * without a password the component names neither. Before, an empty
 * password_env gave has_password with no password at all (the MySQL,
 * PostgreSQL and Redis commands were then built from a NULL password),
 * or, with url_secret, silently the Secret URL's password; an empty
 * password_file gave "". */
static void empty_password_is_an_error(void **state)
{
	static const char *const kv[] = {"URL", "postgresql://zync:old@src/zync_production", NULL};
	char dir[4096], spec[8300], file[4200];
	tsarc_component c;
	tsarc_conn conn;
	cJSON *j;
	FILE *f;
	int i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.name = "system-mysql";
	setenv("TSARC_TEST_DBCONN_EMPTY", "", 1);
	assert_non_null(c.spec = j = cJSON_Parse("{\"password_env\": \"TSARC_TEST_DBCONN_EMPTY\"}"));
	memset(&conn, 0, sizeof(conn));
	assert_int_equal(tsarc_conn_from_url(&c, NULL, &conn), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, "system-mysql"));
	assert_non_null(strstr(tsarc_error_last()->message,
		"password_env names TSARC_TEST_DBCONN_EMPTY, which is empty"));
	assert_null(conn.password);
	assert_false(conn.has_password);
	tsarc_error_clear();
	cJSON_Delete(j);
	/* Not the Secret URL's password instead. */
	resolve("{\"password_env\": \"TSARC_TEST_DBCONN_EMPTY\", \"url_secret\": "
		"{\"secret\": \"zync\", \"key\": \"URL\"}}", kv, &conn, TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, "TSARC_TEST_DBCONN_EMPTY"));
	tsarc_error_clear();
	unsetenv("TSARC_TEST_DBCONN_EMPTY");

	/* An empty file, and one holding only a line end. */
	assert_non_null(scratch_make(dir, sizeof(dir), "dbconn"));
	for (i = 0; i < 2; i++) {
		snprintf(file, sizeof(file), "%s/pw%d", dir, i);
		assert_non_null(f = fopen(file, "w"));
		fputs(i ? "\r\n" : "", f);
		assert_int_equal(fclose(f), 0);
		snprintf(spec, sizeof(spec), "{\"password_file\": \"%s\"}", file);
		assert_non_null(c.spec = j = cJSON_Parse(spec));
		memset(&conn, 0, sizeof(conn));
		assert_int_equal(tsarc_conn_from_url(&c, NULL, &conn), TSARC_ECONFIG);
		assert_non_null(strstr(tsarc_error_last()->message, "system-mysql"));
		assert_non_null(strstr(tsarc_error_last()->message, file));
		assert_non_null(strstr(tsarc_error_last()->message, "is empty"));
		assert_null(conn.password);
		assert_false(conn.has_password);
		tsarc_error_clear();
		cJSON_Delete(j);
	}
	assert_int_equal(scratch_remove(dir), 0);
}

/* MySQL ends each certificate and key file it makes at --initialize with a
 * NUL byte (9.7 measured): a Secret made from those files holds it after
 * the PEM text, which is taken without it; a NUL anywhere else, or after
 * a password, is still refused. */
static void pem_ends_with_nul(void **state)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
	/* Each case's keys: the CA; the client's pair; the password; the CA
	 * with a NUL inside its text. */
	static const char *const keys[][2] = {{"DB_SSL_CA", NULL}, {"DB_SSL_CERT", "DB_SSL_KEY"},
		{"DB_PASSWORD", NULL}, {"DB_SSL_CA", NULL}};
	char text[sizeof(pem) + 1], *b64;
	cJSON *spec = cJSON_Parse(profile_spec), *doc, *data;
	tsarc_component c;
	tsarc_conn conn;
	size_t i, k;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.name = "system-mysql";
	c.spec = spec;
	c.external = 1;
	memcpy(text, pem, sizeof(pem)); /* the text, its NUL, and one more */
	text[sizeof(pem)] = '\0';
	for (i = 0; i < 4; i++) {
		doc = cJSON_CreateObject();
		data = cJSON_AddObjectToObject(doc, "data");
		assert_int_equal(tsarc_base64_encode(&b64, "mysql2://a:b@h/system", 21), 0);
		cJSON_AddStringToObject(data, "URL", b64);
		free(b64);
		text[4] = i == 3 ? '\0' : '-';
		assert_int_equal(tsarc_base64_encode(&b64, text, sizeof(text)), 0);
		for (k = 0; k < 2 && keys[i][k]; k++)
			cJSON_AddStringToObject(data, keys[i][k], b64);
		free(b64);
		if (i < 2) {
			assert_int_equal(tsarc_conn_from_secret(&c, doc, &conn), 0);
			assert_string_equal(i ? conn.ssl_key : conn.ssl_ca, pem);
			if (i)
				assert_string_equal(conn.ssl_cert, pem);
			tsarc_conn_free(&conn);
		} else {
			assert_int_equal(tsarc_conn_from_secret(&c, doc, &conn), TSARC_ECONFIG);
			assert_non_null(strstr(tsarc_error_last()->message, "holds a NUL byte"));
		}
		cJSON_Delete(doc);
	}
	cJSON_Delete(spec);
}

/* What a question to a server may be (sqlreads.h): one statement that
 * only reads. Every question tsarc asks does; a statement that writes,
 * locks, follows another or hides one in a comment does not, nor one whose
 * string MySQL and PostgreSQL end at different places. */
static void questions_only_read(void **state)
{
	static const char *const reads[] = {"SELECT 1", "  select 1;\n", "SHOW GRANTS",
		"SHOW server_version_num", "SELECT @@GLOBAL.max_allowed_packet",
		"WITH g (l) AS (SELECT 'INSERT; DROP TABLE t') SELECT l FROM g",
		"SELECT 'it''s', \"a\"\"b\", `c``d`, 'a\\\\b', 'a\\nb', X'6162', E'x'",
		"SELECT updated_at, set_config_x FROM t WHERE into_x = 1",
		"SELECT count(*) FROM pg_database WHERE datname = convert_from('\\x61'::bytea, 'UTF8')"};
	static const char *const writes[] = {"", " ", "DROP TABLE t", "INSERT INTO t VALUES (1)",
		"CREATE TEMPORARY TABLE t (n VARCHAR(1))", "USE `system`; SELECT 1",
		"SELECT 1; DROP TABLE t", "SELECT 1 INTO OUTFILE '/tmp/x'", "SELECT 1 INTO @x",
		"SELECT * INTO t2 FROM t", "SELECT * FROM t FOR UPDATE", "SELECT * FROM t FOR SHARE",
		"SELECT * FROM t LOCK IN SHARE MODE",
		"WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
		"WITH x AS (SELECT 1) UPDATE t SET a = 1", "SELECT 1 /*!50000 , (SELECT 1) */",
		"SELECT 1 -- x", "SELECT 1 # x", "SELECT $$x$$", "SELECT 'a\\'; DROP TABLE t; --'",
		"SELECT 'open", "SELECT `open", "SELECT 'a\\", "SET GLOBAL max_allowed_packet = 1",
		"SELECTED", "SHOWGRANTS", "EXPLAIN SELECT 1", "CALL p()", "DO 1",
		"LOAD DATA INFILE 'x' INTO TABLE t", "SELECT 1 UNION SELECT 2; CALL p()"};
	static const char grants[] = "GRANT SELECT, SUPER, TRIGGER ON *.* TO `u`@`%`\n"
		"GRANT SELECT, INSERT, UPDATE, DELETE ON `system`.* TO `u`@`%`\n";
	char *q = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(reads) / sizeof(*reads); i++) {
		print_message("reads: %s\n", reads[i]);
		assert_true(tsarc_sql_reads(reads[i]));
	}
	for (i = 0; i < sizeof(writes) / sizeof(*writes); i++) {
		print_message("does not read: %s\n", writes[i]);
		assert_false(tsarc_sql_reads(writes[i]));
	}
	/* The questions tsarc asks (tsarc_sql_ask), of a database name that is
	 * not plain. */
	assert_true(tsarc_sql_reads(tsarc_psql_owner_query));
	assert_int_equal(tsarc_mysql_charset_query("it's; DROP", &q), 0);
	assert_true(tsarc_sql_reads(q));
	free(q);
	assert_int_equal(tsarc_mysql_database_count_query("it's; DROP", &q), 0);
	assert_true(tsarc_sql_reads(q));
	free(q);
	assert_int_equal(tsarc_pg_database_count_query("it's; DROP", &q), 0);
	assert_true(tsarc_sql_reads(q));
	free(q);
	assert_int_equal(tsarc_pg_encoding_query("it's; DROP", &q), 0);
	assert_true(tsarc_sql_reads(q));
	free(q);
	assert_int_equal(tsarc_mysql_visible_query("system", grants, &q), 0);
	assert_non_null(q);
	assert_true(tsarc_sql_reads(q));
	free(q);
	assert_int_equal(tsarc_mysql_stored_programs_query(grants, &q), 0);
	assert_non_null(q);
	assert_true(tsarc_sql_reads(q));
	free(q);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(secret_without_url),
	cmocka_unit_test(password_file_unreadable_is_an_error),
	cmocka_unit_test(empty_password_is_an_error),
	cmocka_unit_test(mysql_plugin_folder_unless_verified),
	cmocka_unit_test(mysql_host_pins_tcp),
	cmocka_unit_test(mysql_refusal_explained),
	cmocka_unit_test(mysql_loopback_checked_against_system_cas),
	cmocka_unit_test(secret_user_wins_over_profile_user),
	cmocka_unit_test(user_key_when_url_has_none),
	cmocka_unit_test(configured_password_brings_its_user),
	cmocka_unit_test(tls_mode_names),
	cmocka_unit_test(tls_modes_and_args),
	cmocka_unit_test(unset_and_preferred_take_tls_unchecked),
	cmocka_unit_test(pem_ends_with_nul),
	cmocka_unit_test(client_error_without_loose_option_warnings),
	cmocka_unit_test(pg_major_versions),
	cmocka_unit_test(probe_answers_and_create_options),
	cmocka_unit_test(mysql_grants_read),
	cmocka_unit_test(questions_only_read))
