/* The plan's lines of a SQL restore, pinned as --dry-run prints them: what
 * the load replaces ("replaces", with and without "clean"), what
 * happens to DEFINER clauses ("definer"), the TLS the client will use and
 * where its CA and certificate come from ("tls"), and with which charset
 * and collation (PostgreSQL: encoding and locale) a missing database is
 * created ("database"). Each case: a snapshot's stream (its recorded
 * charset or encoding), the target's Secret as the fake transport holds
 * it, the component's configuration; the three lines exactly, or absent. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/plan_fixture.h"
#include "tsarc/errors.h"

/* The snapshot was taken on m1 (the fake's machine): in place. */
#define HERE "\"deployment\": {\"transport\": \"local\", \"host\": \"m1\", " \
	"\"resources_dir\": \"/srv/resources\"}"

#define MYSQL_STREAM(recorded, recipe)                                                      \
	"[{\"name\": \"system-mysql.sql\", \"meta\": {\"component\": \"system-mysql\", "       \
	"\"kind\": \"mysql\", \"db_host\": \"10.0.0.5\", \"db_port\": 3306, \"database\": "    \
	"\"system\", " recorded " \"restore\": {\"order\": 40 " recipe "}, " HERE "}}]"
#define PG_STREAM_RECIPE(recorded, recipe)                                                  \
	"[{\"name\": \"zync.sql\", \"meta\": {\"component\": \"zync\", \"kind\": \"postgres\", " \
	"\"db_host\": \"10.0.0.5\", \"db_port\": 5432, \"database\": \"zync_production\", "    \
	recorded " \"restore\": {\"order\": 60 " recipe "}, " HERE "}}]"
#define PG_STREAM(recorded) PG_STREAM_RECIPE(recorded, "")
/* A whole server's dump (pg_dumpall): the stream records the tool's
 * version, and no database. */
#define PG_DUMPALL_STREAM                                                                   \
	"[{\"name\": \"zync.sql\", \"meta\": {\"component\": \"zync\", \"kind\": \"postgres\", " \
	"\"db_host\": \"10.0.0.5\", \"db_port\": 5432, \"tool_version\": \"pg_dumpall "        \
	"(PostgreSQL) 15.18\", \"restore\": {\"order\": 60}, " HERE "}}]"

/* As the 3scale profile reads system-database (DB_SSL_* PEM contents). */
#define MYSQL_CONFIG(extra)                                                                 \
	"{\"profile\": \"none\", \"transport\": {\"type\": \"local\", \"resources_dir\": "    \
	"\"/srv/resources\"}, \"components\": {\"system-mysql\": {\"kind\": \"mysql\", "      \
	"\"external\": true, \"database\": \"system\", \"url_secret\": {\"secret\": "          \
	"\"system-database\", \"key\": \"URL\", \"user_key\": \"DB_USER\", \"password_key\": " \
	"\"DB_PASSWORD\", \"tls\": {\"mode\": \"DATABASE_SSL_MODE\", \"ca\": \"DB_SSL_CA\", "  \
	"\"cert\": \"DB_SSL_CERT\", \"key\": \"DB_SSL_KEY\"}}" extra "}}}"
#define PG_CONFIG_WITH(database, extra)                                                     \
	"{\"profile\": \"none\", \"transport\": {\"type\": \"local\", \"resources_dir\": "    \
	"\"/srv/resources\"}, \"components\": {\"zync\": {\"kind\": \"postgres\", "            \
	"\"external\": true, " database "\"url_secret\": {\"secret\": "                          \
	"\"zync\", \"key\": \"DATABASE_URL\", \"password_key\": \"ZYNC_DATABASE_PASSWORD\", "   \
	"\"tls\": {\"mode\": \"DATABASE_SSL_MODE\", \"ca\": \"DB_SSL_CA\"}}" extra "}}}"
#define PG_CONFIG PG_CONFIG_WITH("\"database\": \"zync_production\", ", "")

#define PEM(what) "-----BEGIN " what "-----\\nAAAA\\n-----END " what "-----\\n"
#define SECRET(name, data) "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": " \
	"{\"name\": \"" name "\"}, \"stringData\": {" data "}}"
#define DB_URL "\"URL\": \"mysql2://admin:pw@10.0.0.9:3306/system\""
#define TLS_FULL "\"DATABASE_SSL_MODE\": \"verify_identity\", \"DB_SSL_CA\": \"" \
	PEM("CERTIFICATE") "\", \"DB_SSL_CERT\": \"" PEM("CERTIFICATE") "\", "       \
	"\"DB_SSL_KEY\": \"" PEM("PRIVATE KEY") "\""

#define STRIP "strip: DEFINER clauses are removed, triggers, views, routines and events " \
	"are created as the restoring user (no SUPER needed)"
#define KEEP "keep: objects keep their DEFINER (the restoring user needs SUPER or SET USER " \
	"unless it is that user)"

typedef struct sql_case {
	const char *title;
	const char *streams, *config, *secret;
	const char *definer, *tls, *database; /* the plan's lines; NULL: absent */
} sql_case;

static const sql_case cases[] = {
	{"2.16 system database: recorded charset, verified TLS with the Secret's CA and "
	 "client certificate, DEFINER stripped by default",
		MYSQL_STREAM("\"charset\": \"utf8mb4\", \"collation\": \"utf8mb4_unicode_ci\",",
			", \"create_database_options\": \"DEFAULT CHARACTER SET utf8mb3 COLLATE "
			"utf8mb3_bin\""),
		MYSQL_CONFIG(""), SECRET("system-database", DB_URL ", " TLS_FULL),
		STRIP, "verify-full, the Secret's CA, the Secret's client certificate",
		"system, when missing, is created with DEFAULT CHARACTER SET utf8mb4 COLLATE "
		"utf8mb4_unicode_ci (recorded at backup; dropped again if the load fails)"},
	{"nothing recorded: the recipe's options; TLS required without a CA; DEFINER kept",
		MYSQL_STREAM("", ", \"create_database_options\": \"DEFAULT CHARACTER SET utf8mb3 "
			"COLLATE utf8mb3_bin\""),
		MYSQL_CONFIG(", \"restore\": {\"definer\": \"keep\"}"),
		SECRET("system-database", DB_URL ", \"DATABASE_SSL_MODE\": \"required\""),
		KEEP, "require",
		"system, when missing, is created with DEFAULT CHARACTER SET utf8mb3 COLLATE "
		"utf8mb3_bin (the recipe's create_database_options: the snapshot records no "
		"charset; dropped again if the load fails)"},
	{"a recorded collation that is no plain name is not used, and the plan says so",
		MYSQL_STREAM("\"charset\": \"utf8mb4\", \"collation\": \"utf8mb4_bin; DROP "
			"DATABASE mysql\",", ", \"create_database_options\": \"DEFAULT CHARACTER SET "
			"utf8mb3 COLLATE utf8mb3_bin\""),
		MYSQL_CONFIG(""), SECRET("system-database", DB_URL), STRIP, NULL,
		"system, when missing, is created with DEFAULT CHARACTER SET utf8mb3 COLLATE "
		"utf8mb3_bin (the recipe's create_database_options: the snapshot's recorded "
		"charset or collation is not a plain name; dropped again if the load fails)"},
	{"no TLS mode in the Secret or the URL: no tls line; nothing recorded, no options",
		MYSQL_STREAM("", ""), MYSQL_CONFIG(""),
		SECRET("system-database", DB_URL ", \"DB_USER\": \"app\""), STRIP, NULL,
		"system, when missing, is created (the recipe's create_database_options: the "
		"snapshot records no charset; dropped again if the load fails)"},
	{"zync on PostgreSQL: recorded encoding and locale, sslmode from the URL; no DEFINER",
		PG_STREAM("\"encoding\": \"UTF8\", \"lc_collate\": \"C.UTF-8\", \"lc_ctype\": "
			"\"C.UTF-8\","),
		PG_CONFIG, SECRET("zync", "\"DATABASE_URL\": \"postgresql://zync:pw@10.0.0.9:5432/"
			"zync_production?sslmode=verify-ca\", \"DB_SSL_CA\": \"" PEM("CERTIFICATE") "\""),
		NULL, "verify-ca, the Secret's CA",
		"zync_production, when missing, is created with ENCODING UTF8 LC_COLLATE C.UTF-8 "
		"LC_CTYPE C.UTF-8 (recorded at backup; dropped again if the load fails)"},
	{"PostgreSQL, nothing recorded: the database must exist",
		PG_STREAM(""), PG_CONFIG,
		SECRET("zync", "\"DATABASE_URL\": \"postgresql://zync:pw@10.0.0.9:5432/"
			"zync_production\""),
		NULL, NULL,
		"zync_production must exist (the snapshot records no encoding to create it with)"},
	{"PostgreSQL, a recorded locale that is no plain name: not used, and the plan says so",
		PG_STREAM("\"encoding\": \"UTF8\", \"lc_collate\": \"C' TEMPLATE x --\", "
			"\"lc_ctype\": \"C.UTF-8\","),
		PG_CONFIG, SECRET("zync", "\"DATABASE_URL\": \"postgresql://zync:pw@10.0.0.9:5432/"
			"zync_production\""),
		NULL, NULL,
		"zync_production must exist (the snapshot's recorded encoding or locale is not a "
		"plain name)"},
};

static void expect_line(const cJSON *plan, const char *key, const char *want)
{
	const char *got = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plan, key));

	print_message("  %s: %s\n", key, got ? got : "(absent)");
	if (!want)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

/* The dry-run plan of `streams` into `config`, the target's Secret
 * `secret`: planned without an error, its report in *report (the
 * caller's to free), its first step returned. */
static const cJSON *planned_step(const char *title, const char *streams, const char *config,
	const char *secret_text, cJSON **report)
{
	tsarc_restore_opts o;
	cJSON *secret = cJSON_Parse(secret_text);
	fake f;
	int rc;

	assert_non_null(secret);
	fake_init(&f, "m1");
	f.secret = secret;
	memset(&o, 0, sizeof(o));
	o.dry_run = 1;
	*report = NULL;
	rc = fake_plan(streams, config, &o, &f, report);
	print_message("%s: rc %d %s\n", title, rc, rc ? tsarc_error_last()->message : "");
	assert_int_equal(rc, 0);
	cJSON_Delete(f.calls);
	cJSON_Delete(secret);
	return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(*report, "steps"), 0);
}

static void sql_plan_lines(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const sql_case *c = &cases[i];
		cJSON *report;
		const cJSON *step = planned_step(c->title, c->streams, c->config, c->secret, &report);
		const cJSON *plan;

		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(step,
			"status")), "not applied");
		plan = cJSON_GetObjectItemCaseSensitive(step, "plan");
		expect_line(plan, "definer", c->definer);
		expect_line(plan, "tls", c->tls);
		expect_line(plan, "database", c->database);
		/* What the guard refuses, in the target's database (MySQL's cases
		 * are those with a DEFINER line). */
		{
			const char *checks = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plan,
				"checks"));
			print_message("  checks: %s\n", checks ? checks : "(absent)");
			assert_non_null(checks);
			assert_non_null(strstr(checks, c->definer ? "every statement stays in "
				"database system: " : "a \\connect out of database zync_production,"));
			/* MySQL: and the triggers a binary log without SUPER refuses. */
			assert_true(!c->definer || strstr(checks, "log_bin_trust_function_creators"));
		}
		/* No PEM content and no password in the plan. */
		{
			char *text = cJSON_PrintUnformatted(report);
			assert_null(strstr(text, "BEGIN"));
			assert_null(strstr(text, ":pw@"));
			cJSON_free(text);
		}
		cJSON_Delete(report);
	}
}

/* "definer" is "strip" or "keep": another value in a snapshot's recipe
 * stops the plan (untrusted metadata), as it would stop the run, rather
 * than being planned as the default; in the configuration it is refused
 * when the configuration is read. */
static void definer_unknown_value(void **state)
{
	tsarc_restore_opts o;
	cJSON *report = NULL, *secret = cJSON_Parse(SECRET("system-database", DB_URL));
	tsarc_deploy *d = NULL;
	fake f;

	(void)state;
	fake_init(&f, "m1");
	f.secret = secret;
	memset(&o, 0, sizeof(o));
	o.dry_run = 1;
	assert_int_equal(fake_plan(MYSQL_STREAM("", ", \"definer\": \"drop\""), MYSQL_CONFIG(""),
		&o, &f, &report), TSARC_EUNSAFE);
	print_message("%s\n", tsarc_error_last()->message);
	assert_non_null(strstr(tsarc_error_last()->message, "definer must be \"strip\" or "
		"\"keep\""));
	assert_int_equal(tsarc_deploy_load_text(&d, MYSQL_CONFIG(", \"restore\": {\"definer\": "
		"\"drop\"}"), "test"), TSARC_ECONFIG);
	assert_non_null(strstr(tsarc_error_last()->message, "definer must be \"strip\" or "
		"\"keep\""));
	cJSON_Delete(report);
	cJSON_Delete(f.calls);
	cJSON_Delete(secret);
}

/* What a load replaces ("replaces"), with and without "clean", from the
 * snapshot's recipe or the configuration's, as each client's clean drops
 * it: mysql every table and view, postgres the relations of every kind
 * but an extension's. */
#define PG_CLEAN "every table, view, materialized view, sequence and foreign table of the " \
	"database but an extension's (it ends up with the dump's only)"
#define MYSQL_CLEAN "every table and view of the database (it ends up with the dump's " \
	"tables only)"
#define NOT_CLEAN "the tables and rows in the dump (tables not in the dump are kept)"
#define ZYNC_URL(path) SECRET("zync", "\"DATABASE_URL\": \"postgresql://zync:pw@10.0.0.9:5432" \
	path "\"")

static void clean_replaces(void **state)
{
	static const struct {
		const char *title, *streams, *config, *secret, *replaces;
	} lines[] = {
		{"postgres, clean in the snapshot's recipe", PG_STREAM_RECIPE("", ", \"clean\": true"),
			PG_CONFIG, ZYNC_URL("/zync_production"), PG_CLEAN},
		{"postgres, clean in the configuration",  PG_STREAM(""),
			PG_CONFIG_WITH("\"database\": \"zync_production\", ",
				", \"restore\": {\"clean\": true}"), ZYNC_URL("/zync_production"), PG_CLEAN},
		{"postgres, the configuration's clean false wins", PG_STREAM_RECIPE("",
			", \"clean\": true"), PG_CONFIG_WITH("\"database\": \"zync_production\", ",
				", \"restore\": {\"clean\": false}"), ZYNC_URL("/zync_production"), NOT_CLEAN},
		{"postgres, no clean", PG_STREAM(""), PG_CONFIG, ZYNC_URL("/zync_production"),
			NOT_CLEAN},
		{"mysql, clean", MYSQL_STREAM("", ", \"clean\": true"), MYSQL_CONFIG(""),
			SECRET("system-database", DB_URL), MYSQL_CLEAN},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		cJSON *report;
		const cJSON *step = planned_step(lines[i].title, lines[i].streams, lines[i].config,
			lines[i].secret, &report);

		expect_line(cJSON_GetObjectItemCaseSensitive(step, "plan"), "replaces",
			lines[i].replaces);
		cJSON_Delete(report);
	}
}

/* A target that names no database is refused by the plan, before the
 * first write, for a snapshot's dump of one database (psql would load it
 * into "postgres"), and for a clean load (nothing to empty), the error
 * saying what to change; a stream that records no database, without
 * clean, is planned. A whole server's dump (pg_dumpall: psql
 * would drop its databases, then stop at the DROP ROLE of its own role) is
 * never loaded whole: into a target that names a database, the plan says
 * it loads that database's part; into one that names none, it is refused,
 * clean or not, naming the stream and why (tests/sql/pg_dumpall.sh:
 * against a real server). */
static void clean_without_database(void **state)
{
	tsarc_restore_opts o;
	cJSON *report = NULL, *secret = cJSON_Parse(ZYNC_URL(""));
	fake f;
	size_t i;

	(void)state;
	assert_non_null(secret);
	fake_init(&f, "m1");
	f.secret = secret;
	memset(&o, 0, sizeof(o));
	o.dry_run = 1;
	assert_int_equal(fake_plan("[{\"name\": \"zync.sql\", \"meta\": {\"component\": "
		"\"zync\", \"kind\": \"postgres\", \"restore\": {\"order\": 60}, " HERE "}}]",
		PG_CONFIG_WITH("", ", \"restore\": {\"clean\": true}"), &o, &f, &report),
		TSARC_ECONFIG);
	print_message("%s\n", tsarc_error_last()->message);
	assert_non_null(strstr(tsarc_error_last()->message, "component 'zync': \"clean\" needs "
		"the \"database\" to empty, and the target names none"));
	assert_non_null(strstr(tsarc_error_last()->message, "set \"clean\": false"));
	cJSON_Delete(report);
	report = NULL;
	cJSON_Delete(f.calls);
	/* Without clean too: psql would load the dump of zync_production into
	 * the server's "postgres" database, where zync never looks. */
	fake_init(&f, "m1");
	f.secret = secret;
	assert_int_equal(fake_plan(PG_STREAM(""), PG_CONFIG_WITH("", ""), &o, &f, &report),
		TSARC_ECONFIG);
	print_message("%s\n", tsarc_error_last()->message);
	assert_non_null(strstr(tsarc_error_last()->message, "component 'zync': zync.sql is the "
		"dump of database zync_production, and the target names no database to load it "
		"into"));
	cJSON_Delete(report);
	report = NULL;
	cJSON_Delete(f.calls);
	/* A stream that records no database (backup --stdin) and no tool:
	 * loaded as it is. */
	fake_init(&f, "m1");
	f.secret = secret;
	assert_int_equal(fake_plan("[{\"name\": \"zync.sql\", \"meta\": {\"component\": "
		"\"zync\", \"kind\": \"postgres\", \"restore\": {\"order\": 60}, " HERE "}}]",
		PG_CONFIG_WITH("", ""), &o, &f, &report), 0);
	cJSON_Delete(report);
	cJSON_Delete(f.calls);
	for (i = 0; i < 4; i++) {
		static const char *const configs[] = {PG_CONFIG_WITH("", ""),
			PG_CONFIG_WITH("", ", \"restore\": {\"clean\": true}"), PG_CONFIG,
			PG_CONFIG_WITH("\"database\": \"zync_production\", ", ", \"restore\": "
				"{\"clean\": true}")};
		const cJSON *plan;
		report = NULL;
		fake_init(&f, "m1");
		f.secret = secret;
		if (i < 2) {
			assert_int_equal(fake_plan(PG_DUMPALL_STREAM, configs[i], &o, &f, &report),
				TSARC_ECONFIG);
			print_message("%s\n", tsarc_error_last()->message);
			assert_non_null(strstr(tsarc_error_last()->message, "component 'zync': zync.sql "
				"is the dump of a whole server (taken without a database), which a restore "
				"does not load whole (pg_dumpall's DROP DATABASE"));
			assert_non_null(strstr(tsarc_error_last()->message, "the target names none"));
			assert_non_null(strstr(tsarc_error_last()->message, "nothing was written"));
		} else {
			/* The part of the target's database, named in the plan. */
			assert_int_equal(fake_plan(PG_DUMPALL_STREAM, configs[i], &o, &f, &report), 0);
			plan = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
				cJSON_GetObjectItemCaseSensitive(report, "steps"), 0), "plan");
			assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
				plan, "loads")), "the part of database zync_production of the whole "
				"server's dump (pg_dumpall)"));
			assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
				plan, "replaces")), i == 2 ? "creates its tables without dropping them" :
				"every table, view"));
			/* The dump records pg_dumpall's version: the plan asks the
			 * server whether it takes it; the fake runs no psql, and the
			 * plan says the step asks before it writes. */
			assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
				plan, "server")), "not asked, the restore asks before it writes"));
		}
		cJSON_Delete(report);
		cJSON_Delete(f.calls);
	}
	/* A version the backup could not read, and no database: the tool was
	 * pg_dumpall (its part loaded; into a target without a database:
	 * refused); no version at all (backup --stdin): what its writer says,
	 * planned. */
	for (i = 0; i < 3; i++) {
		report = NULL;
		fake_init(&f, "m1");
		f.secret = secret;
		assert_int_equal(fake_plan(i == 2 ? "[{\"name\": \"zync.sql\", \"meta\": "
			"{\"component\": \"zync\", \"kind\": \"postgres\", \"restore\": {\"order\": "
			"60}, " HERE "}}]" : "[{\"name\": \"zync.sql\", \"meta\": {\"component\": "
			"\"zync\", \"kind\": \"postgres\", \"tool_version\": \"unknown\", "
			"\"restore\": {\"order\": 60}, " HERE "}}]", i == 1 ? PG_CONFIG_WITH("", "") :
			PG_CONFIG, &o, &f, &report), i == 1 ? TSARC_ECONFIG : 0);
		if (i == 0)
			assert_non_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
				cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(report, "steps"), 0),
				"plan"), "loads"));
		cJSON_Delete(report);
		cJSON_Delete(f.calls);
	}
	cJSON_Delete(secret);
}

/* The database 3scale uses is the one its Secret's URL names: an external
 * database component of the 3scale profile restores into it, not into the
 * profile's name for the database of a pod ("default_database": system,
 * zync_production), which is used only when no URL names one. A
 * configuration's own "database" still wins. (The local transport has no
 * pods: the profile's hooks, in system-sidekiq, are turned off.) */
#define PROFILE_CONFIG(comp, extra)                                                         \
	"{\"profile\": \"3scale\", \"transport\": {\"type\": \"local\", \"resources_dir\": "  \
	"\"/srv/resources\"}, \"components\": {\"secrets\": {\"enabled\": false}, "            \
	"\"configmaps\": {\"enabled\": false}, \"apimanager\": {\"enabled\": false}, "          \
	"\"system-storage\": {\"enabled\": false}, \"backend-redis\": {\"enabled\": false}, "   \
	"\"system-redis\": {\"enabled\": false}, \"system-mysql\": {\"enabled\": false}, "      \
	"\"zync-database\": {\"enabled\": false}, \"" comp "\": {\"enabled\": true, "          \
	"\"external\": true" extra "}}, \"post_restore\": []}"
#define PROFILE_STREAM(comp, kind)                                                          \
	"[{\"name\": \"" comp ".sql\", \"meta\": {\"component\": \"" comp "\", \"kind\": \""   \
	kind "\", \"database\": \"db0\", \"restore\": {\"order\": 60}, " HERE "}}]"

static void url_database_over_default(void **state)
{
	static const struct {
		const char *comp, *streams, *config, *secret, *database;
	} urls[] = {
		{"system-mysql", PROFILE_STREAM("system-mysql", "mysql"),
			PROFILE_CONFIG("system-mysql", ""), SECRET("system-database",
			"\"URL\": \"mysql2://admin:pw@10.0.0.9:3306/threescale_sys\""), "threescale_sys"},
		{"system-mysql", PROFILE_STREAM("system-mysql", "mysql"),
			PROFILE_CONFIG("system-mysql", ""), SECRET("system-database",
			"\"URL\": \"mysql2://admin:pw@10.0.0.9:3306\""), "system"},
		{"system-mysql", PROFILE_STREAM("system-mysql", "mysql"),
			PROFILE_CONFIG("system-mysql", ", \"database\": \"mine\""), SECRET(
			"system-database", "\"URL\": \"mysql2://admin:pw@10.0.0.9:3306/threescale_sys\""),
			"mine"},
		{"zync-database", PROFILE_STREAM("zync-database", "postgres"),
			PROFILE_CONFIG("zync-database", ""), SECRET("zync",
			"\"DATABASE_URL\": \"postgresql://zync:pw@10.0.0.9:5432/zync_elsewhere\""),
			"zync_elsewhere"},
		{"zync-database", PROFILE_STREAM("zync-database", "postgres"),
			PROFILE_CONFIG("zync-database", ""), SECRET("zync",
			"\"DATABASE_URL\": \"postgresql://zync:pw@10.0.0.9:5432\""), "zync_production"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		cJSON *report;
		const cJSON *plan = cJSON_GetObjectItemCaseSensitive(planned_step(urls[i].comp,
			urls[i].streams, urls[i].config, urls[i].secret, &report), "plan");
		const char *db = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plan,
			"database"));

		print_message("%s: %s\n", urls[i].comp, db ? db : "(none)");
		assert_non_null(db);
		assert_int_equal(strncmp(db, urls[i].database, strlen(urls[i].database)), 0);
		assert_true(db[strlen(urls[i].database)] == ',' ||
			db[strlen(urls[i].database)] == ' ');
		cJSON_Delete(report);
	}
}

/* The plan names the user the step logs in as and where it came from: the
 * Secret's (its URL's, or its user_key's) over the configuration's user
 * unless the configuration gives its own password (docs/config.md,
 * "Managed databases"), MySQL and PostgreSQL alike. Before, the 3scale
 * profile's "user": "root" (for the pod) made the plan say "from the
 * configuration: user" where the Secret's user was the one used. */
static void endpoint_user_from(void **state)
{
	static const struct {
		const char *comp, *streams, *config, *secret, *user, *from;
	} users[] = {
		{"system-mysql", PROFILE_STREAM("system-mysql", "mysql"),
			PROFILE_CONFIG("system-mysql", ""), SECRET("system-database",
			"\"URL\": \"mysql2://10.0.0.9:3306/system\", \"DB_USER\": \"app\", "
			"\"DB_PASSWORD\": \"pw\""), "app", "the target's Secret system-database (key "
			"URL) as it was before the restore, the user from its key DB_USER"},
		{"system-mysql", PROFILE_STREAM("system-mysql", "mysql"),
			PROFILE_CONFIG("system-mysql", ", \"host\": \"10.0.0.8\""), SECRET(
			"system-database", "\"URL\": \"mysql2://admin:pw@10.0.0.9:3306/system\""), "admin",
			"the target's Secret system-database (key URL) as it was before the restore, "
			"the user from its URL; from the configuration: host"},
		{"system-mysql", PROFILE_STREAM("system-mysql", "mysql"),
			PROFILE_CONFIG("system-mysql", ", \"user\": \"mine\", \"password_env\": "
			"\"PLAN_SQL_PW\""), SECRET("system-database", "\"URL\": \"mysql2://"
			"admin:pw@10.0.0.9:3306/system\""), "mine", "the target's Secret "
			"system-database (key URL) as it was before the restore; from the "
			"configuration: user, password_env"},
		{"zync-database", PROFILE_STREAM("zync-database", "postgres"),
			PROFILE_CONFIG("zync-database", ", \"user\": \"postgres\""), SECRET("zync",
			"\"DATABASE_URL\": \"postgresql://zync:pw@10.0.0.9:5432/zync_production\""),
			"zync", "the target's Secret zync (key DATABASE_URL) as it was before the "
			"restore, the user from its URL"},
	};
	size_t i;

	(void)state;
	assert_int_equal(setenv("PLAN_SQL_PW", "pw2", 1), 0);
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		cJSON *report;
		const cJSON *ep = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
			planned_step(users[i].comp, users[i].streams, users[i].config, users[i].secret,
			&report), "plan"), "endpoint");
		const char *user = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ep, "user"));
		const char *from = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ep, "from"));

		print_message("%s: user %s, from %s\n", users[i].comp, user ? user : "(none)",
			from ? from : "(none)");
		assert_non_null(user);
		assert_string_equal(user, users[i].user);
		assert_non_null(from);
		assert_string_equal(from, users[i].from);
		cJSON_Delete(report);
	}
	unsetenv("PLAN_SQL_PW");
}

/* pg_dump 17's head, then its first statement. */
#define PG17_HEAD "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n" \
	"SET lock_timeout = 0;\nSET idle_in_transaction_session_timeout = 0;\n"          \
	"SET transaction_timeout = 0;\nSET client_encoding = 'UTF8';\n"                   \
	"SELECT pg_catalog.set_config('search_path', '', false);\n\n"

/* Which PostgreSQL server takes which pg_dump dump, as the plan says it: one of the source's major
 * version or a newer one, a newer pg_dump's head timeout settings the
 * target lacks left out; a dump of a newer source refused, and one of a
 * source not recorded compared by its pg_dump's version. 9.6 is ordered as
 * a release before 10. A newer pg_dump's head the target cannot take is
 * refused by the plan, which reads it from the repository: a setting tsarc
 * does not know (a pg_dump newer than its table), or one the target lacks
 * set to other than 0. The fake prints the server's answer to psql; each
 * dump is stored in a repository (repo_with), its head PG17_HEAD unless
 * the rule gives one. */
static void server_rule(void **state)
{
	static const struct {
		const char *recorded, *server, *says;
		int rc;
		const char *head;
	} rules[] = {
		{"\"tool_version\": \"pg_dump (PostgreSQL) 17.12\", \"server_version_num\": "
			"\"150018\",", "150018\n", "PostgreSQL 15 takes the dump of pg_dump (PostgreSQL) "
			"17.12 of a PostgreSQL 15 server (its head's SET transaction_timeout, which 15 "
			"does not know, is left out)", 0, NULL},
		{"\"tool_version\": \"pg_dump (PostgreSQL) 15.18\", \"server_version_num\": "
			"\"130012\",", "130012\n", "PostgreSQL 13 takes the dump of pg_dump (PostgreSQL) "
			"15.18 of a PostgreSQL 13 server", 0, NULL},
		{"\"tool_version\": \"pg_dump (PostgreSQL) 17.12\", \"server_version_num\": "
			"\"90624\",", "90624\n", "PostgreSQL 9.6 takes the dump of pg_dump (PostgreSQL) "
			"17.12 of a PostgreSQL 9.6 server (its head's SET transaction_timeout", 0, NULL},
		{"\"tool_version\": \"pg_dump (PostgreSQL) 17.12\", \"server_version_num\": "
			"\"90624\",", "90513\n", "zync.sql is the dump of a PostgreSQL 9.6 server (by "
			"pg_dump (PostgreSQL) 17.12), which a PostgreSQL 9.5 server does not load",
			TSARC_EUNSUPPORTED, NULL},
		{"\"tool_version\": \"pg_dump (PostgreSQL) 17.12\", \"server_version_num\": "
			"\"170012\",", "150018\n", "zync.sql is the dump of a PostgreSQL 17 server (by "
			"pg_dump (PostgreSQL) 17.12), which a PostgreSQL 15 server does not load",
			TSARC_EUNSUPPORTED, NULL},
		{"\"tool_version\": \"pg_dump (PostgreSQL) 17.12\", \"server_version_num\": "
			"\"170012\",", "180001\n", "PostgreSQL 18 takes the dump of pg_dump (PostgreSQL) "
			"17.12 of a PostgreSQL 17 server", 0, NULL},
		{"\"tool_version\": \"pg_dump (PostgreSQL) 17.12\",", "150018\n", "zync.sql was "
			"written by pg_dump (PostgreSQL) 17.12, which a PostgreSQL 15 server does not load "
			"(the snapshot does not record the version of the server it was dumped from",
			TSARC_EUNSUPPORTED, NULL},
		{"\"tool_version\": \"pg_dump (PostgreSQL) 15.18\",", "90624\n", "which a "
			"PostgreSQL 9.6 server does not load", TSARC_EUNSUPPORTED, NULL},
		{"\"tool_version\": \"pg_dump (PostgreSQL) 15.18\",", "170012\n", "PostgreSQL 17 "
			"takes the dump of pg_dump (PostgreSQL) 15.18 (of its major version or an older "
			"one)", 0, NULL},
		{"\"tool_version\": \"pg_dump (PostgreSQL) 19.0\", \"server_version_num\": "
			"\"150018\",", "150018\n", "component 'zync': zync.sql, read by the plan as far "
			"as its head: the dump's head sets future_setting, a setting of a newer pg_dump "
			"than this check knows, which a PostgreSQL 15 server may not have (the load "
			"would stop there): restore into a server of the major version of the pg_dump "
			"that wrote it; nothing was written", TSARC_EUNSUPPORTED,
			PG17_HEAD "SET future_setting = off;\nCREATE TABLE t (a int);\n"},
		{"\"tool_version\": \"pg_dump (PostgreSQL) 17.12\", \"server_version_num\": "
			"\"150018\",", "150018\n", "the dump's head sets transaction_timeout to 5, a "
			"setting a PostgreSQL 15 server does not have", TSARC_EUNSUPPORTED,
			"SET transaction_timeout = 5;\nCREATE TABLE t (a int);\n"},
		/* What follows the head is not the head's: not read. */
		{"\"tool_version\": \"pg_dump (PostgreSQL) 17.12\", \"server_version_num\": "
			"\"150018\",", "150018\n", "PostgreSQL 15 takes the dump of pg_dump (PostgreSQL) "
			"17.12 of a PostgreSQL 15 server (its head's SET transaction_timeout", 0,
			PG17_HEAD "CREATE TABLE t (a int);\nSET future_setting = off;\n"},
	};
	cJSON *secret = cJSON_Parse(ZYNC_URL("/zync_production"));
	tsarc_restore_opts o;
	size_t i;

	(void)state;
	assert_non_null(secret);
	memset(&o, 0, sizeof(o));
	o.dry_run = 1;
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		static const char *const names[] = {"zync.sql"};
		const char *contents[1], *metas[1];
		char id[TSARC_ID_HEX_LEN + 1];
		cJSON *report = NULL, *arr;
		char streams[1024], *meta;
		const char *said;
		tsarc_repo *repo;
		fake f;

		fake_init(&f, "m1");
		f.secret = secret;
		f.prints = rules[i].server;
		snprintf(streams, sizeof(streams), PG_STREAM("%s"), rules[i].recorded);
		assert_non_null(arr = cJSON_Parse(streams));
		assert_non_null(meta = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetArrayItem(arr, 0), "meta")));
		contents[0] = rules[i].head ? rules[i].head : PG17_HEAD "CREATE TABLE t (a int);\n";
		metas[0] = meta;
		repo = repo_with(names, contents, metas, 1, id);
		assert_int_equal(restore_with(repo, id, PG_CONFIG, &o, &f, &report), rules[i].rc);
		tsarc_repo_free(repo);
		repo_remove();
		free(meta);
		cJSON_Delete(arr);
		said = rules[i].rc ? tsarc_error_last()->message :
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
				cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(report, "steps"), 0),
				"plan"), "server"));
		print_message("%s\n", said ? said : "(nothing)");
		assert_non_null(said);
		assert_non_null(strstr(said, rules[i].says));
		if (!rules[i].rc && !strstr(rules[i].says, "its head's"))
			assert_null(strstr(said, "left out"));
		cJSON_Delete(report);
		cJSON_Delete(f.calls);
	}
	cJSON_Delete(secret);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(sql_plan_lines),
	cmocka_unit_test(definer_unknown_value),
	cmocka_unit_test(clean_replaces),
	cmocka_unit_test(clean_without_database),
	cmocka_unit_test(url_database_over_default),
	cmocka_unit_test(endpoint_user_from),
	cmocka_unit_test(server_rule))
