/*
 * The mysql kind: a database dumped with mysqldump (or mariadb-dump) and
 * loaded back with the mysql client. Both directions (and the charset
 * probe, the look-up and CREATE DATABASE before a load and the DROP of
 * the database a failed load leaves) connect with the same arguments
 * (mysql_conn_args), TLS included.
 * The password never goes on a command line: on this host an in-memory
 * option file, in a pod the pod's own variable (pod_password_env).
 */
#include "db.h"
#include "dbconn.h"
#include "filter.h"
#include "mysqlguard.h"
#include "snapshot.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"
#include "wipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Where the server is, who connects and over what TLS (`tls`: its private
 * files, may be NULL), as mysql and mysqldump both take it; `pod_pw` (may
 * be NULL) the pod's variable holding the password. */
static int mysql_conn_args(tsarc_cmd *cmd, const tsarc_conn *conn, const tsarc_db_tls *tls,
	const char *pod_pw)
{
	int rc;

	if (conn->has_password && (rc = tsarc_cmd_mysql_password(cmd, conn->password)))
		return rc;
	if ((rc = tsarc_db_conn_flags(cmd, conn, "--user")))
		return rc;
	if (conn->socket && (rc = tsarc_cmd_argf(cmd, "--socket=%s", conn->socket)))
		return rc;
	if ((rc = tsarc_mysql_tls_args(cmd, conn, tls)))
		return rc;
	if (pod_pw && (rc = tsarc_cmd_pod_env(cmd, "MYSQL_PWD", pod_pw)))
		return rc;
	return 0;
}

/* The client (mariadb for mariadb-dump, else mysql) with the dump's own
 * connection, asking `query` and printing its answer alone. */
static int mysql_query_cmd(const char *tool, const tsarc_conn *conn, const tsarc_db_tls *tls,
	const char *pod_pw, const char *query, tsarc_cmd *cmd)
{
	int rc;

	if ((rc = tsarc_cmd_arg(cmd, strstr(tool, "mariadb") ? "mariadb" : "mysql")) ||
		(rc = mysql_conn_args(cmd, conn, tls, pod_pw)) ||
		(rc = tsarc_cmd_arg(cmd, "--batch")) || (rc = tsarc_cmd_arg(cmd, "--skip-column-names")) ||
		(rc = tsarc_cmd_arg(cmd, "-e")) || (rc = tsarc_cmd_arg(cmd, query)))
		return rc;
	return 0;
}

/* The database's default charset and collation, recorded in the stream's
 * metadata for a restore that must create it (a mysqldump of one database
 * has no CREATE DATABASE). Asked with the dump's own connection. */
static int mysql_probe(tsarc_component *c, const char *tool, const tsarc_conn *conn,
	const char *pod_pw, tsarc_production *out)
{
	static const char *const names[] = {"charset", "collation"};
	tsarc_cmd cmd;
	char *query = NULL;
	int rc;

	tsarc_cmd_init(&cmd);
	if (!(rc = tsarc_mysql_charset_query(conn->database, &query)) &&
		!(rc = mysql_query_cmd(tool, conn, out->tls, pod_pw, query, &cmd)))
		rc = tsarc_db_probe(c, &cmd, names, 2, out->meta);
	free(query);
	tsarc_cmd_free(&cmd);
	return rc;
}

/* Whether the component's options give mysqldump `flag`. */
static int has_option(const tsarc_component *c, const char *flag)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(c->spec, "options"))
		if (cJSON_IsString(o) && !strcmp(o->valuestring, flag))
			return 1;
	return 0;
}

/*
 * mysqldump dumps what the server lists to its user, and the server lists
 * only what that user holds a privilege on: a table it may not touch, the
 * triggers of a table without TRIGGER, a routine without a routine
 * privilege are left out of the dump without an error, and mysqldump exits
 * 0 (a backup user made with SELECT, SHOW VIEW and EVENT took 3scale's
 * system database without its triggers). So before the dump the session's
 * privileges are read with the dump's own connection, which logs in as
 * mysqldump does (its default role enabled): SHOW GRANTS, the server's
 * own account of them, roles and PUBLIC included, then the query of
 * tsarc_mysql_visible_query over them. What it may not see fails the
 * component, naming what and the grant. Where they cannot be read (a role
 * whose privileges SHOW GRANTS does not show, a REVOKE, the query fails
 * on an older server) the dump goes on, as before: the check refuses only
 * what it knows to be hidden.
 */
/* More SHOW GRANTS than this is not read (it makes the query too). */
#define GRANTS_MAX (32u * 1024u)
/* The largest packet mysqldump and mysql accept, 1 GiB (MySQL's and
 * MariaDB's most): on the command line, over the host's option files. A
 * client is then never what limits a row: the server is (its own
 * max_allowed_packet, which a restore asks before the load). */
#define CLIENT_PACKET_MAX "--max-allowed-packet=1073741824"

static int mysql_require_visible(tsarc_component *c, const char *tool, const tsarc_conn *conn,
	const char *pod_pw, tsarc_production *out)
{
	/* The answer's words, and the option that leaves each out anyway. */
	static const char *const words[] = {" tables", " triggers", " routines"};
	static const char *const skip[] = {NULL, "--skip-triggers", "--skip-routines"};
	tsarc_cmd cmd;
	char *query = NULL, *answer = NULL, *grants = NULL, what[64] = "";
	const char *at;
	size_t i, n;
	int rc;

	tsarc_cmd_init(&cmd);
	if ((rc = mysql_query_cmd(tool, conn, out->tls, pod_pw, "SHOW GRANTS", &cmd)))
		goto done;
	if (tsarc_db_capture_whole(c, &cmd, GRANTS_MAX, &grants)) {
		tsarc_error_clear(); /* the dump says what is wrong with the connection */
		goto done;
	}
	tsarc_cmd_free(&cmd);
	tsarc_cmd_init(&cmd);
	if ((rc = tsarc_mysql_visible_query(conn->database, grants, &query)) || !query ||
		(rc = mysql_query_cmd(tool, conn, out->tls, pod_pw, query, &cmd)))
		goto done;
	if (tsarc_db_capture(c, &cmd, &answer)) {
		tsarc_error_clear();
		goto done;
	}
	if (strncmp(answer, "hidden:", 7))
		goto done;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		n = strlen(words[i]);
		if (!(at = strstr(answer + 7, words[i])) || (at[n] && !strchr(" \r\n", at[n])) ||
			(skip[i] && has_option(c, skip[i])))
			continue;
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s%s", *what ? "," : "",
			words[i]);
	}
	if (*what)
		rc = tsarc_error_set(TSARC_EACCESS, "component '%s': user %s may not see the whole "
			"of database %s: mysqldump would leave out, without an error, the%s it holds "
			"no privilege on; grant it SELECT, SHOW VIEW, TRIGGER and EVENT on the "
			"database and, for routines, SELECT on mysql.proc (MariaDB) or SHOW_ROUTINE "
			"(MySQL), or give --skip-triggers or --skip-routines in the component's "
			"options if they are not wanted; a role's privileges count only where it is "
			"the user's default role (SET DEFAULT ROLE), the one enabled when mysqldump "
			"logs in; nothing was backed up", c->name,
			conn->user ? conn->user : "(the client's default)", conn->database, what);
done:
	tsarc_secure_free_str(grants);
	free(answer);
	free(query);
	tsarc_cmd_free(&cmd);
	return rc;
}

/* mysql's guard (mysqlguard.h): the load stays in `database`. */
static int mysql_guard(const char *database, tsarc_filter *out)
{
	tsarc_mysql_guard *g;
	int rc;

	if ((rc = tsarc_mysql_guard_new(database, &g)))
		return rc;
	*out = (tsarc_filter){&tsarc_mysql_guard_ops, g};
	return 0;
}

static void mysql_plan_guard(const char *db, cJSON *plan)
{
	char buf[768];

	snprintf(buf, sizeof(buf), "every statement stays in database %.200s: a USE, CREATE or "
		"DROP DATABASE, a table under another database's name, GRANT and the like refuse "
		"the dump; it is read whole before mysql starts, so a refusal or a damaged chunk "
		"applies nothing; a dump with triggers or functions is refused too where the "
		"server keeps a binary log without log_bin_trust_function_creators and the user "
		"holds no SUPER (the server would stop the load at the first of them)", db);
	cJSON_AddStringToObject(plan, "checks", buf);
}

/*
 * What the backup's guard learned of the whole dump, recorded in the
 * stream's metadata (mysqlguard.h tsarc_mysql_facts_meta). A restore's
 * plan asks the target with it what the step asks once it has read the
 * stream (mysql_before_load), before any step of the restore writes:
 * refused only by the step, a deployment restore was left half-applied,
 * the Secrets and the steps before system-mysql's replaced.
 */
static cJSON *mysql_guard_meta(const tsarc_filter *guard)
{
	tsarc_mysql_dump_facts p;

	tsarc_mysql_guard_facts(guard->self, &p);
	return tsarc_mysql_facts_meta(&p);
}

/* What to do about a dump the guard refuses. */
static const char intake_hint[] = "the component dumps one database, named in its Secret's "
	"URL or its \"database\": drop --all-databases, -A, --databases and -B from its options";

static int mysql_prepare(tsarc_component *c, tsarc_production *out)
{
	const char *tool = tsarc_spec_str(c->spec, "tool");
	const char *pod_pw = tsarc_db_in_workload(c) ? tsarc_spec_str(c->spec, "pod_password_env") :
		NULL;
	tsarc_filter guard;
	tsarc_conn conn;
	int rc;

	if (!tool)
		tool = "mysqldump";
	if ((rc = tsarc_conn_resolve(c, &conn)))
		return rc;
	if (!conn.database) {
		tsarc_conn_free(&conn);
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': no \"database\" to dump",
			c->name);
	}
	/* The Secret's CA, certificate and key in private files, and the
	 * client's plugin folder unless it verifies the server, removed once
	 * the dump has ended (run.c). */
	if ((rc = tsarc_mysql_files_open(&conn, !tsarc_db_in_workload(c), &out->tls)) ||
		(rc = tsarc_cmd_arg(&out->cmd, tool)))
		goto done;
	/* One consistent InnoDB snapshot without locking writers; routines,
	 * triggers (3scale has ~78 BEFORE INSERT triggers) and events; binary
	 * columns in hex; the connection in utf8mb4 so that every charset of
	 * the tables (utf8mb3 / utf8mb3_bin mostly) survives exactly. No
	 * "Dump completed on" date: an unchanged database then dumps to the
	 * same bytes, and its last chunk deduplicates too. The client's
	 * packet limit at its most (CLIENT_PACKET_MAX): a row is as large as
	 * the server let it be, and mysqldump's own limit (24 MiB, 16 MiB
	 * from Debian's mysqldump.cnf) failed the backup of a larger one. */
	if ((rc = tsarc_cmd_arg(&out->cmd, "--single-transaction")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--skip-dump-date")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--routines")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--triggers")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--events")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--hex-blob")) ||
		(rc = tsarc_cmd_arg(&out->cmd, CLIENT_PACKET_MAX)) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--quick")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--set-charset")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--default-character-set=utf8mb4")))
		goto done;
	if ((rc = mysql_conn_args(&out->cmd, &conn, out->tls, pod_pw)) ||
		(rc = tsarc_spec_add_args(&out->cmd, c->spec, "options", c->name)) ||
		(rc = tsarc_cmd_arg(&out->cmd, conn.database)) ||
		(rc = tsarc_db_version_cmd(out, tool, "--version")))
		goto done;
	/* A restore loads the dump behind the guard, into the target's
	 * database: the backup runs it over the dump, with the dumped one. */
	if ((rc = mysql_guard(conn.database, &guard)) ||
		(rc = tsarc_db_guard_intake(out, guard, intake_hint, mysql_guard_meta)))
		goto done;
	if (!(out->meta = tsarc_db_meta(c, &conn)))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	else if (!(rc = mysql_require_visible(c, tool, &conn, pod_pw, out)))
		rc = mysql_probe(c, tool, &conn, pod_pw, out);
done:
	tsarc_conn_free(&conn);
	return rc;
}


/* ---- restore ---- */

/* "clean": the database ends up with the dump's tables only. mysqldump
 * drops and recreates each table it holds, but a table the dump does not
 * hold (one added by a failed upgrade's migrations, say) would survive the
 * load next to an older schema_migrations and break the next upgrade. So
 * every view, then every table, of the database is dropped first, in the
 * same session as the load. Routines and events are left to the dump's own
 * DROP ... IF EXISTS: they hold no data. */
static const char mysql_clean_sql[] =
	"SET SESSION group_concat_max_len = 67108864;\n"
	"SET @tsarc_fk = @@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS = 0;\n"
	"SET @tsarc_drop = (SELECT GROUP_CONCAT(CONCAT('`', REPLACE(table_name, '`', '``'), '`')) "
	"FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'VIEW');\n"
	"SET @tsarc_drop = IF(@tsarc_drop IS NULL, 'DO 0', CONCAT('DROP VIEW ', @tsarc_drop));\n"
	"PREPARE tsarc_clean FROM @tsarc_drop;\nEXECUTE tsarc_clean;\nDEALLOCATE PREPARE tsarc_clean;\n"
	"SET @tsarc_drop = (SELECT GROUP_CONCAT(CONCAT('`', REPLACE(table_name, '`', '``'), '`')) "
	"FROM information_schema.tables WHERE table_schema = DATABASE() "
	"AND table_type NOT IN ('VIEW', 'SYSTEM VIEW'));\n"
	"SET @tsarc_drop = IF(@tsarc_drop IS NULL, 'DO 0', CONCAT('DROP TABLE ', @tsarc_drop));\n"
	"PREPARE tsarc_clean FROM @tsarc_drop;\nEXECUTE tsarc_clean;\nDEALLOCATE PREPARE tsarc_clean;\n"
	"SET FOREIGN_KEY_CHECKS = @tsarc_fk;\n";

static int mysql_client(tsarc_step *s, const tsarc_conn *conn, const char *pod_pw, int kube,
	const tsarc_db_tls *tls, tsarc_cmd *cmd, tsarc_buf *pre)
{
	int rc;

	(void)kube;
	if ((rc = tsarc_cmd_arg(cmd, "--default-character-set=utf8mb4")) ||
		(rc = tsarc_cmd_arg(cmd, "--binary-mode")) ||
		(rc = tsarc_cmd_arg(cmd, CLIENT_PACKET_MAX)) ||
		(rc = mysql_conn_args(cmd, conn, tls, pod_pw)))
		return rc;
	/* A mysqldump of one database has no CREATE DATABASE nor USE: the
	 * database is created before the load when missing
	 * (mysql_create_sql), and the load goes into it. */
	if (conn->database) {
		if (strchr(conn->database, '`'))
			return tsarc_error_set(TSARC_ECONFIG, "component '%s': database name with a "
				"backquote", s->component);
		if ((rc = tsarc_buf_printf(pre, "USE `%s`;\n", conn->database)))
			return rc;
	}
	/* "clean" with no database: refused before (tsarc_sql_admit). */
	return conn->database && tsarc_spec_bool(s->recipe, "clean", 0) ?
		tsarc_buf_puts(pre, mysql_clean_sql) : 0;
}

/*
 * A server that keeps a binary log (every managed MySQL and MariaDB does,
 * for its backups and replicas) refuses CREATE TRIGGER and CREATE FUNCTION
 * (ERROR 1419) to a user without SUPER, which no managed service's admin
 * holds, unless log_bin_trust_function_creators is on; its default is off.
 * mysql applies a dump as it reads it: such a load stopped at the first
 * trigger (3scale's system database holds 78), after the clean had dropped
 * every table and the tables before it were replaced, and the database
 * was left without the rest. So once the guard has read the whole stream,
 * a dump that creates either is checked against the server, through the
 * load's own client and connection: its SHOW GRANTS (the user's, its
 * default role's, PUBLIC's), then the query of
 * tsarc_mysql_stored_programs_query over them and the server's settings.
 * Refused, the step writes nothing. Where the grants cannot be read, or
 * do not show all the session holds, the load goes on and the server has
 * the last word, as before.
 */
static int stored_programs_check(const tsarc_step *s, tsarc_component *c,
	const tsarc_cmd *load, const tsarc_mysql_dump_facts *p)
{
	const tsarc_sql_client *client = s->impl->data;
	char *grants = NULL, *query = NULL, *answer = NULL, what[96] = "";
	int rc = 0;

	if (!p->triggers && !p->functions)
		return 0;
	if (tsarc_sql_ask(client, c, load, "SHOW GRANTS", GRANTS_MAX, &grants) ||
		tsarc_mysql_stored_programs_query(grants, &query) || !query ||
		tsarc_sql_ask(client, c, load, query, 64, &answer)) {
		tsarc_error_clear(); /* the load says what is wrong */
		goto done;
	}
	if (strcmp(answer, "refused\n"))
		goto done;
	if (p->triggers)
		snprintf(what, sizeof(what), "%llu trigger%s", p->triggers,
			p->triggers == 1 ? "" : "s");
	if (p->functions)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s%llu function%s",
			*what ? " and " : "", p->functions, p->functions == 1 ? "" : "s");
	rc = tsarc_error_set(TSARC_EACCESS, "component '%s': the dump creates %s, which the "
		"server refuses user %s: it keeps a binary log (log_bin) with "
		"log_bin_trust_function_creators off, and the user holds no SUPER (ERROR 1419); "
		"the load would stop at the first of them, the tables before it replaced. Turn "
		"log_bin_trust_function_creators on (a managed MySQL or MariaDB: in its parameter "
		"group or server parameters; else SET GLOBAL log_bin_trust_function_creators = 1), "
		"or restore as a user with SUPER; nothing of it was written, database %s is as it "
		"was", s->component, what, s->conn.user ? s->conn.user : "(the client's default)",
		s->conn.database);
done:
	tsarc_secure_free_str(grants);
	tsarc_secure_free_str(answer);
	free(query);
	return rc;
}

/*
 * A server refuses a statement longer than its max_allowed_packet ("Server
 * has gone away"), and mysqldump writes a row in one INSERT: a row as large
 * as the source allowed (MySQL 8 and RDS: 64 MiB by default; MariaDB: 16
 * MiB) stopped the load into a server of a smaller limit, the clean done
 * and the tables before it replaced. So a dump whose longest statement
 * (counted by the guard while the whole stream is read) passes
 * PACKET_ASKED is checked against the server's limit, through the load's
 * own client and connection; refused, the step writes nothing. Smaller
 * ones are not asked about: mysqldump's extended INSERTs stay under 1 MiB,
 * and no server's default is below it. Where the setting cannot be read,
 * the load goes on and the server has the last word.
 */
#define PACKET_ASKED (1024ull * 1024ull)
/* What the client adds to a statement's text in its packet, and a
 * statement's comments and blanks the guard counts: not worth a refusal. */
#define PACKET_SLACK 1024ull

static int packet_check(const tsarc_step *s, tsarc_component *c, const tsarc_cmd *load,
	const tsarc_mysql_dump_facts *p)
{
	const tsarc_sql_client *client = s->impl->data;
	char *answer = NULL, *end;
	unsigned long long limit;
	int rc = 0;

	if (p->longest_statement <= PACKET_ASKED)
		return 0;
	if (tsarc_sql_ask(client, c, load, "SELECT @@GLOBAL.max_allowed_packet", 64, &answer)) {
		tsarc_error_clear(); /* the load says what is wrong */
		return 0;
	}
	limit = strtoull(answer, &end, 10);
	if (end != answer && *end == '\n' && p->longest_statement > limit + PACKET_SLACK)
		rc = tsarc_error_set(TSARC_EUNSAFE, "component '%s': the dump holds a statement of "
			"%llu bytes (a row mysqldump writes whole), and the server's "
			"max_allowed_packet is %llu: it would refuse that statement (\"Server has gone "
			"away\") and the load would stop there, the tables before it replaced. Raise "
			"max_allowed_packet to at least %llu (a managed MySQL or MariaDB: in its "
			"parameter group or server parameters; else SET GLOBAL max_allowed_packet = "
			"%llu); nothing of it was written, database %s is as it was", s->component,
			p->longest_statement, limit, p->longest_statement + PACKET_SLACK,
			p->longest_statement + PACKET_SLACK, s->conn.database);
	free(answer);
	return rc;
}

/*
 * A server refuses a statement that names a character set or collation it
 * does not have ("Unknown collation"): MySQL 8's default collation,
 * utf8mb4_0900_ai_ci, which every table of its dumps names, is not in
 * MariaDB before 11.4.5. Such a load into a MariaDB stopped at the first
 * CREATE TABLE, after the clean had dropped every table of the database.
 * So the names the guard read (tsarc_mysql_dump_facts) are asked of the
 * server, through the load's own client and connection, in one SELECT
 * that the server resolves them in as a CREATE TABLE does
 * (tsarc_mysql_names_query), the first it lacks failing it, in the
 * server's own words. The question only reads, as every question of a
 * plan must (the plan asks it too, and tsarc_sql_ask asks no other):
 * before, it was a temporary table of a column of each, which a server
 * with a binary log in statement or mixed format (MariaDB's default)
 * writes to that log, two transactions each time, for its replicas to
 * run. Refused, the step writes nothing. A name the dump does not name of
 * that kind (the character set a collation's name begins with, where the
 * server knows no such one), or any other failure: the load goes on and
 * the server has the last word.
 */
static const char *const unknown_name[] = {"Unknown collation: '", "Unknown character set: '"};

/* The name `q` of kind 'c' (collation) or 's' (character set) is one the
 * dump names (as the server's error gives it back). */
static int named(const tsarc_mysql_dump_facts *p, char kind, const char *q)
{
	unsigned i;

	for (i = 0; i < p->nnames; i++)
		if (p->names[i].kind == kind && !strcasecmp(p->names[i].name, q))
			return 1;
	return 0;
}

static int names_check(const tsarc_step *s, tsarc_component *c, const tsarc_cmd *load,
	const tsarc_mysql_dump_facts *p)
{
	const tsarc_sql_client *client = s->impl->data;
	char *query = NULL, *answer = NULL, name[65] = "";
	const char *at = NULL;
	size_t k = 0;
	int rc;

	if (!p->nnames || !s->conn.database)
		return 0;
	if ((rc = tsarc_mysql_names_query(p, &query)) || !query ||
		!tsarc_sql_ask(client, c, load, query, TSARC_MYSQL_NAMES_ANSWER_MAX, &answer))
		goto done;
	/* Refused: which name, from the server's own words; one the dump
	 * names, of that kind. */
	for (k = 0; k < sizeof(unknown_name) / sizeof(*unknown_name); k++)
		if ((at = strstr(tsarc_error_last()->message, unknown_name[k]))) {
			at += strlen(unknown_name[k]);
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(at, "'\n"), at);
			if (!named(p, k == 0 ? 'c' : 's', name))
				name[0] = '\0';
			break;
		}
	tsarc_error_clear(); /* anything else: the load says what is wrong */
	if (*name)
		rc = tsarc_error_set(TSARC_EUNSUPPORTED, "component '%s': the dump names the %s "
			"%s, which the server does not have (\"%s%s'\"): the load would stop at the "
			"first statement naming it, the tables before it replaced. Restore into a "
			"server that has it (MySQL 8's default collation, utf8mb4_0900_ai_ci, is "
			"MariaDB's from 11.4.5 only); nothing of it was written, database %s is as it "
			"was", s->component, k == 0 ? "collation" : "character set", name,
			unknown_name[k], name, s->conn.database);
done:
	free(query);
	free(answer);
	return rc;
}

/* What the server would refuse of a dump of facts `p`, asked through
 * the client command `load`: by the step and by the plan. */
static int server_refusals(const tsarc_step *s, tsarc_component *c, const tsarc_cmd *load,
	const tsarc_mysql_dump_facts *p)
{
	int rc;

	if ((rc = names_check(s, c, load, p)) || (rc = packet_check(s, c, load, p)))
		return rc;
	return stored_programs_check(s, c, load, p);
}

/* What a server refuses by itself, asked once the guard has read the whole
 * stream and before anything is written (db.h before_load). */
static int mysql_before_load(const tsarc_step *s, tsarc_component *c, const tsarc_cmd *load,
	const tsarc_filter *guard)
{
	tsarc_mysql_dump_facts p;

	tsarc_mysql_guard_facts(guard->self, &p);
	return p.complete ? server_refusals(s, c, load, &p) : 0;
}

/* The step's checks of mysql_before_load made by the plan, from what the
 * backup recorded of the dump (tsarc_mysql_facts_from_meta); nothing
 * recorded: the step asks. */
static int mysql_plan_before_load(const tsarc_step *s, tsarc_component *c, const tsarc_cmd *load)
{
	tsarc_mysql_dump_facts p;
	char where[200];
	int rc;

	snprintf(where, sizeof(where), "component '%s': stream %s of the snapshot: metadata",
		s->component, s->st->name);
	if ((rc = tsarc_mysql_facts_from_meta(s->st->meta, &p, where)) <= 0)
		return rc;
	return server_refusals(s, c, load, &p);
}

/* The plan's word on a missing database: what CREATE DATABASE gets, and
 * from where. A recorded name that is not plain is not used (dbconn.c):
 * the plan says so rather than "recorded at backup". */
static void mysql_plan_database(const tsarc_step *s, const char *db, cJSON *plan)
{
	const cJSON *m = s->st->meta;
	char *opts = NULL, *recorded = NULL, buf[512];
	const char *why;

	if (tsarc_mysql_create_options(m, NULL, &recorded) ||
		tsarc_mysql_create_options(m, tsarc_spec_str(s->recipe, "create_database_options"),
			&opts)) {
		tsarc_error_clear(); /* running the step says why */
		free(recorded);
		return;
	}
	why = recorded ? "recorded at backup" : cJSON_GetObjectItemCaseSensitive(m, "charset") ||
		cJSON_GetObjectItemCaseSensitive(m, "collation") ? "the recipe's "
		"create_database_options: the snapshot's recorded charset or collation is not a "
		"plain name" : "the recipe's create_database_options: the snapshot records no charset";
	snprintf(buf, sizeof(buf), "%s, when missing, is created%s%s (%s; dropped again if the "
		"load fails)", db, opts ? " with " : "", opts ? opts : "", why);
	cJSON_AddStringToObject(plan, "database", buf);
	free(recorded);
	free(opts);
}

/* A mysqldump of one database does not create it: when the target has
 * none (db.c looks it up), it is created first, with the charset and
 * collation recorded at backup (else the recipe's create_database_options),
 * through the load's own client and connection. No IF NOT EXISTS: a
 * database that appears after the look-up fails the CREATE (db.h). */
static int mysql_create_sql(const tsarc_step *s, char **out)
{
	tsarc_buf sql = TSARC_BUF_INIT;
	char *opts = NULL;
	int rc;

	*out = NULL;
	/* The name has no backquote (mysql_client refused it). */
	if (!(rc = tsarc_mysql_create_options(s->st->meta, tsarc_spec_str(s->recipe,
		      "create_database_options"), &opts)) &&
		!(rc = tsarc_buf_printf(&sql, "CREATE DATABASE `%s`%s%s;\n", s->conn.database,
			opts ? " " : "", opts ? opts : "")) &&
		!(*out = tsarc_buf_detach(&sql)))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	tsarc_buf_dispose(&sql);
	free(opts);
	return rc;
}

/* The database mysql_create_sql created, dropped again after a failed
 * load (db.h), with the tables the load created in it. */
static int mysql_drop_sql(const char *db, char **out)
{
	tsarc_buf sql = TSARC_BUF_INIT;
	int rc;

	*out = NULL;
	if (!(rc = tsarc_buf_printf(&sql, "DROP DATABASE `%s`;\n", db)) &&
		!(*out = tsarc_buf_detach(&sql)))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	tsarc_buf_dispose(&sql);
	return rc;
}

/* The look-up's answer alone, on one line. */
static const char *const mysql_query_args[] = {"--batch", "--skip-column-names", "-e", NULL};

static const tsarc_sql_client mysql_sql = {.tool = "mysql", .args = mysql_client,
	.name_quote = '`',
	.mysql_strip = 1, .guard = mysql_guard,
	.plan_guard = mysql_plan_guard,
	.clean_replaces = "every table and view of the database (it ends up with the dump's "
		"tables only)",
	.plan_database = mysql_plan_database,
	.create_sql = mysql_create_sql, .drop_sql = mysql_drop_sql,
	.count_query = tsarc_mysql_database_count_query, .query_args = mysql_query_args,
	.files_open = tsarc_mysql_files_open, .before_load = mysql_before_load,
	.guard_meta_key = TSARC_MYSQL_FACTS_META,
	.plan_before_load = mysql_plan_before_load};

static const char *const MYSQL_FIELDS[] = {TSARC_DB_COMMON_KEYS, "database", "default_database",
	"socket", NULL};
/* 3scale's system-database URL: mysql2:// (Rails' adapter); the operator
 * takes mysql:// too. */
static const char *const MYSQL_SCHEMES[] = {"mysql2", "mysql", NULL};

const tsarc_kind tsarc_kind_mysql = {
	.name = "mysql", .extension = ".sql", .runs_in_pod = 1, .default_port = 3306,
	.action = "sql", .target = TSARC_TARGET_DATABASE, .fields = MYSQL_FIELDS,
	.url_schemes = MYSQL_SCHEMES, .url_names = "a MySQL database",
	.dump = mysql_prepare, .describe = tsarc_sql_describe, .admit = tsarc_sql_admit,
	.restore = tsarc_sql_restore, .undo_absent = tsarc_sql_undo_absent,
	.undo_remove = tsarc_sql_undo_remove, .data = &mysql_sql};
