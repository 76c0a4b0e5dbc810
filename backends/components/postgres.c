/*
 * The postgres kind: one database dumped with pg_dump (or the whole server
 * with pg_dumpall, of which a restore loads one database's part) and
 * loaded back with psql. Both directions (and the
 * encoding probe, the CREATE DATABASE before a load and the DROP of the
 * database a failed load leaves empty) connect with the same arguments
 * (postgres_conn_args), TLS included; the password goes in the child's
 * environment (PGPASSWORD) on this host, from the pod's own variable
 * (pod_password_env) in a pod.
 */
#include "db.h"
#include "dbconn.h"
#include "filter.h"
#include "psqlguard.h"
#include "psqlhead.h"
#include "psqlsection.h"
#include "snapshot.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the server is, who connects and over what TLS (`tls`: its private
 * files, may be NULL), as pg_dump and psql both take it; `pod_pw` (may be
 * NULL) the pod's variable holding the password. */
static int postgres_conn_args(tsarc_cmd *cmd, const tsarc_conn *conn, const tsarc_db_tls *tls,
	int kube, const char *pod_pw)
{
	int rc;

	if ((rc = tsarc_db_conn_flags(cmd, conn, "--username")))
		return rc;
	if (conn->has_password && (rc = tsarc_cmd_env(cmd, "PGPASSWORD", conn->password)))
		return rc;
	if ((rc = tsarc_pg_tls_env(cmd, conn, tls)))
		return rc;
	/* A database that is down fails in seconds, not minutes. */
	if (!kube && (rc = tsarc_cmd_env(cmd, "PGCONNECT_TIMEOUT", "15")))
		return rc;
	if (kube && pod_pw && (rc = tsarc_cmd_pod_env(cmd, "PGPASSWORD", pod_pw)))
		return rc;
	return 0;
}

/* The database's encoding, LC_COLLATE and LC_CTYPE, recorded in the
 * stream's metadata for a restore that must create it, and the server's
 * version (postgres_version_check). Asked with the dump's own connection. */
static int postgres_probe(tsarc_component *c, const tsarc_conn *conn, tsarc_production *out)
{
	static const char *const names[] = {"encoding", "lc_collate", "lc_ctype",
		"server_version_num"};
	tsarc_cmd cmd;
	char *query = NULL;
	int rc;

	tsarc_cmd_init(&cmd);
	if ((rc = tsarc_pg_encoding_query(conn->database, &query)) ||
		(rc = tsarc_cmd_arg(&cmd, "psql")) ||
		(rc = postgres_conn_args(&cmd, conn, out->tls, tsarc_db_in_workload(c),
			tsarc_spec_str(c->spec, "pod_password_env"))) ||
		(rc = tsarc_cmd_arg(&cmd, "--no-password")) || (rc = tsarc_cmd_arg(&cmd, "-AtX")) ||
		(rc = tsarc_cmd_argf(&cmd, "--dbname=%s", conn->database)) ||
		(rc = tsarc_cmd_arg(&cmd, "-c")) || (rc = tsarc_cmd_arg(&cmd, query)))
		goto done;
	rc = tsarc_db_probe(c, &cmd, names, 4, out->meta);
done:
	free(query);
	tsarc_cmd_free(&cmd);
	return rc;
}

/* What to do about a dump the guard refuses: what pg_dump writes passes,
 * but for a dump in a client encoding such as SJIS (options --encoding,
 * -E) and an INSERT whose string needs the stream's settings put in front
 * of it past the first 8 MiB of the statement. */
static const char intake_hint[] = "a dump in an encoding such as SJIS: drop --encoding from "
	"the component's options; an INSERT of more than 8 MiB: drop --inserts, --column-inserts "
	"and --rows-per-insert, rows then go as COPY";

static void postgres_plan_guard(const char *db, cJSON *plan)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "psql runs no backslash command of the dump but pg_dump's "
		"own: \\!, \\o |cmd and the like, or a \\connect out of database %.200s, refuse "
		"it before psql reads them (nothing of the load applies)", db);
	cJSON_AddStringToObject(plan, "checks", buf);
}

/* psql's guard (psqlguard.h); a load into one database (`database` named)
 * refuses a \connect too. */
static int postgres_guard(const char *database, tsarc_filter *out)
{
	tsarc_psql_guard *g;
	int rc;

	if ((rc = tsarc_psql_guard_new(&g)))
		return rc;
	if (database)
		tsarc_psql_guard_one_database(g);
	*out = (tsarc_filter){&tsarc_psql_guard_ops, g};
	return 0;
}

/* pg_dump (pg_dumpall too) refuses a server of a newer major version than
 * its own ("aborting because of server version mismatch"): Debian 12's 15,
 * the tsarc image's, against a managed PostgreSQL 16 or 17. Said before it
 * runs, with both versions and what to install, where the probe read the
 * server's version. */
static int postgres_version_check(const cJSON *meta, const char *version, const char *component)
{
	int tool = tsarc_pg_tool_major(version);
	int server = tsarc_pg_server_major(tsarc_spec_str(meta, "server_version_num"));
	char name[16];

	if (!tool || !server || tsarc_pg_major_num(tool) >= tsarc_pg_major_num(server))
		return 0;
	tsarc_pg_major_name(server, name, sizeof(name));
	return tsarc_error_set(TSARC_EUNSUPPORTED, "component '%s': %s does not dump a "
		"PostgreSQL %s server (pg_dump refuses a server of a newer major version than its "
		"own): install PostgreSQL %s's client (postgresql-client-%s, from PostgreSQL's own apt "
		"repository where the distribution has none) and set the component's \"tool\" to its %.*s "
		"(/usr/lib/postgresql/%s/bin/%.*s), or put it first in PATH; nothing was dumped",
		component, version, name, name, name, (int)strcspn(version, " "), version, name,
		(int)strcspn(version, " "), version);
}

/* Whether `tool` (a name or a path) is pg_dumpall, which dumps the whole
 * server: its base name says so ("pg_dumpall", or a versioned
 * "pg_dumpall-17"). Anything else is taken for a pg_dump, given the
 * database to dump: a path (docs/config.md's way to another version's
 * pg_dump) without --dbname would dump its user's default database under
 * the name of the one named. */
static int dumps_whole_server(const char *tool)
{
	const char *base = strrchr(tool, '/');

	return !strncmp(base ? base + 1 : tool, "pg_dumpall", 10);
}

static int postgres_prepare(tsarc_component *c, tsarc_production *out)
{
	const char *tool = tsarc_spec_str(c->spec, "tool");
	tsarc_filter guard;
	tsarc_conn conn;
	int rc;

	if ((rc = tsarc_conn_resolve(c, &conn)))
		return rc;
	/* One database: pg_dump; none named: the whole server with
	 * pg_dumpall, as the 3scale procedure does inside the pod. */
	if (!tool)
		tool = conn.database ? "pg_dump" : "pg_dumpall";
	if (!conn.database && !dumps_whole_server(tool)) {
		tsarc_conn_free(&conn);
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': \"tool\" %s dumps one "
			"database, and none is named: name it (\"database\" in the component, or the "
			"path of its Secret's URL), or make \"tool\" a pg_dumpall for the whole server",
			c->name, tool);
	}
	/* The Secret's CA, certificate and key in private files, removed once
	 * the dump has ended (run.c). */
	if ((rc = tsarc_db_tls_open(&conn, &out->tls)) || (rc = tsarc_cmd_arg(&out->cmd, tool)) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--clean")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--if-exists")) ||
		/* Never prompt: a missing password is an error, not a hang. */
		(rc = tsarc_cmd_arg(&out->cmd, "--no-password")))
		goto done;
	if ((rc = postgres_conn_args(&out->cmd, &conn, out->tls, tsarc_db_in_workload(c),
		     tsarc_spec_str(c->spec, "pod_password_env"))) ||
		(rc = tsarc_spec_add_args(&out->cmd, c->spec, "options", c->name)))
		goto done;
	if (!dumps_whole_server(tool) &&
		(rc = tsarc_cmd_argf(&out->cmd, "--dbname=%s", conn.database)))
		goto done;
	if ((rc = tsarc_db_version_cmd(out, tool, "--version")))
		goto done;
	out->version_check = postgres_version_check;
	/* A restore loads every postgres dump through psql behind the guard,
	 * whatever the tool and options: the backup runs it too. */
	if ((rc = postgres_guard(NULL, &guard)) ||
		(rc = tsarc_db_guard_intake(out, guard, intake_hint, NULL)))
		goto done;
	if (!(out->meta = tsarc_db_meta(c, &conn)))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	else if (!dumps_whole_server(tool))
		rc = postgres_probe(c, &conn, out);
done:
	tsarc_conn_free(&conn);
	return rc;
}


/* ---- restore ---- */

/*
 * "clean": the database ends up with the dump's objects only. A pg_dump
 * --clean --if-exists of one drops and recreates the objects it holds, no
 * others: a table a failed zync upgrade added would survive the load next
 * to an older schema_migrations (and a rollback's load of an undo dump
 * would keep what the restored dump created). So every table, view,
 * materialized view, sequence and foreign table of the database's own
 * schemas is dropped first, in the load's transaction (psql -1: a load
 * that then fails gives every one of them back). Kept: the system schemas
 * (pg_catalog, information_schema, pg_toast*, pg_temp*), an extension's
 * objects (the server drops them only with their extension, which the
 * dump's own DROP EXTENSION IF EXISTS replaces when the dump holds it), and
 * a sequence owned by a column (it goes with its table, or stays with an
 * extension's). Functions, types and schemas are left to the dump's own
 * DROP ... IF EXISTS, as mysql's clean leaves routines: they hold no data
 * (a SQL function whose BEGIN ATOMIC body uses a dropped table goes with
 * it: CASCADE).
 *
 * It runs as the load's user, who must own each object or its schema (a
 * database's owner owns its public schema, PostgreSQL 15's
 * pg_database_owner): a DROP it may not run fails the load, and nothing
 * of the load applies; so does a database without plpgsql (every one has
 * it unless it was dropped). Names are looked up with the search_path set
 * to pg_catalog first (a schema of the target cannot put an operator or
 * a table of its own in the way), quoted (format %I), dropped by kind
 * with CASCADE (a view of a table the dump holds, a foreign key into one),
 * each only while it still exists (a drop before took it along). The
 * DROPs' cascade notices are not shown; both settings are put back after.
 *
 * It goes out unguarded, in `pre` (step.c sends it with the stream's first
 * bytes, never alone): it is tsarc's SQL, not the snapshot's, and it is
 * whole statements ending on a line of their own, so psql begins the
 * dump's first line as the guard (psqlguard.h) begins it, and it sets
 * neither setting the guard follows (standard_conforming_strings, the
 * client encoding).
 */
static const char postgres_clean_sql[] =
	"DO $tsarc_clean$\n"
	"DECLARE\n"
	"\tpath text := pg_catalog.current_setting('search_path');\n"
	"\tmsgs text := pg_catalog.current_setting('client_min_messages');\n"
	"\tr record;\n"
	"BEGIN\n"
	"\tPERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);\n"
	"\tPERFORM pg_catalog.set_config('client_min_messages', 'warning', true);\n"
	"\tFOR r IN\n"
	"\t\tSELECT c.oid, n.nspname, c.relname, c.relkind FROM pg_class c\n"
	"\t\tJOIN pg_namespace n ON n.oid = c.relnamespace\n"
	"\t\tWHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')\n"
	"\t\tAND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'\n"
	"\t\tAND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass\n"
	"\t\t\tAND d.objid = c.oid AND d.deptype = 'e')\n"
	"\t\tAND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d\n"
	"\t\t\tWHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid\n"
	"\t\t\tAND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0\n"
	"\t\t\tAND d.deptype IN ('a', 'i')))\n"
	"\t\tORDER BY strpos('vmfprS', c.relkind::text), n.nspname, c.relname\n"
	"\tLOOP\n"
	"\t\tIF EXISTS (SELECT FROM pg_class WHERE oid = r.oid) THEN\n"
	"\t\t\tEXECUTE format('DROP %s %I.%I CASCADE', CASE r.relkind WHEN 'v' THEN 'VIEW'\n"
	"\t\t\t\tWHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'\n"
	"\t\t\t\tWHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.nspname, r.relname);\n"
	"\t\tEND IF;\n"
	"\tEND LOOP;\n"
	"\tPERFORM pg_catalog.set_config('client_min_messages', msgs, true);\n"
	"\tPERFORM pg_catalog.set_config('search_path', path, true);\n"
	"END\n"
	"$tsarc_clean$;\n";

static int postgres_client(tsarc_step *s, const tsarc_conn *conn, const char *pod_pw, int kube,
	const tsarc_db_tls *tls, tsarc_cmd *cmd, tsarc_buf *pre)
{
	int rc;

	if ((rc = tsarc_cmd_arg(cmd, "-X")) || (rc = tsarc_cmd_arg(cmd, "-q")) ||
		(rc = tsarc_cmd_arg(cmd, "-v")) || (rc = tsarc_cmd_arg(cmd, "ON_ERROR_STOP=1")) ||
		(rc = tsarc_cmd_arg(cmd, "--no-password")))
		return rc;
	if ((rc = postgres_conn_args(cmd, conn, tls, kube, pod_pw)))
		return rc;
	/* A pg_dump of one database goes into it, in one transaction: its
	 * DROPs and CREATEs are transactional in PostgreSQL, so a load that
	 * fails part-way (a role the target lacks, a lost connection, a
	 * damaged chunk) leaves the database as it was rather than with its
	 * tables dropped and half filled. Of a pg_dumpall, only the part of
	 * the target's database goes in, so (postgres_part_filter); the dump
	 * of a whole server or of one database into a target that names none
	 * is refused (tsarc_sql_admit): what goes into "postgres" is a stream
	 * that records no database. */
	if (!conn->database)
		return tsarc_cmd_arg(cmd, "--dbname=postgres");
	if ((rc = tsarc_cmd_arg(cmd, "--single-transaction")) ||
		(rc = tsarc_cmd_argf(cmd, "--dbname=%s", conn->database)))
		return rc;
	return tsarc_spec_bool(s->recipe, "clean", 0) ? tsarc_buf_puts(pre, postgres_clean_sql) : 0;
}

/* The plan's word on a missing database: created with what the backup
 * recorded (the names the run would use: plain ones only), or it must exist. */
static void postgres_plan_database(const tsarc_step *s, const char *db, cJSON *plan)
{
	const cJSON *m = s->st->meta;
	const char *enc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "encoding"));
	const char *col = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "lc_collate"));
	const char *ct = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "lc_ctype"));
	char buf[512], *sql = NULL;

	if (tsarc_pg_create_database_sql(db, m, &sql)) {
		tsarc_error_clear(); /* running the step says why */
		return;
	}
	if (sql)
		snprintf(buf, sizeof(buf), "%s, when missing, is created with ENCODING %s "
			"LC_COLLATE %s LC_CTYPE %s (recorded at backup; dropped again if the load fails)",
			db, enc, col, ct);
	else if (enc || col || ct)
		snprintf(buf, sizeof(buf), "%s must exist (the snapshot's recorded encoding or "
			"locale is not a plain name)", db);
	else
		snprintf(buf, sizeof(buf), "%s must exist (the snapshot records no encoding to "
			"create it with)", db);
	cJSON_AddStringToObject(plan, "database", buf);
	free(sql);
}

/* A command's NAME=VALUE entry added to `cmd` by `add`. */
static int copy_env(tsarc_cmd *cmd, const char *entry, int (*add)(tsarc_cmd *, const char *,
	const char *))
{
	const char *eq = strchr(entry, '=');
	char name[64];

	if (!eq || (size_t)(eq - entry) >= sizeof(name))
		return tsarc_error_set(TSARC_EINVAL, "bad environment entry of a psql command");
	snprintf(name, sizeof(name), "%.*s", (int)(eq - entry), entry);
	return add(cmd, name, eq + 1);
}

/* The load's command made one for the server's list of databases: the
 * same psql, options, TLS and password, connected to "postgres" (CREATE
 * and DROP DATABASE do not run connected to the database they name) and
 * outside any transaction (not the load's -1: neither runs in one). */
static int admin_cmd(const tsarc_cmd *load, tsarc_cmd *cmd)
{
	size_t i;
	int rc = 0;

	tsarc_cmd_init(cmd);
	for (i = 0; i < load->argc && !rc; i++)
		if (strcmp(load->argv[i], "--single-transaction"))
			rc = tsarc_cmd_arg(cmd, !strncmp(load->argv[i], "--dbname=", 9) ?
				"--dbname=postgres" : load->argv[i]);
	for (i = 0; i < load->nenv && !rc; i++)
		rc = copy_env(cmd, load->env[i], tsarc_cmd_env);
	for (i = 0; i < load->npod_env && !rc; i++)
		rc = copy_env(cmd, load->pod_env[i], tsarc_cmd_pod_env);
	return rc;
}

/* A pg_dump of one database does not create it, and psql cannot load
 * into a database that does not exist: when the target has none (db.c
 * looks it up), it is created first with the recorded encoding and
 * locale, through admin_cmd (tsarc_pg_create_database_sql). */
static int postgres_create_sql(const tsarc_step *s, char **out)
{
	return tsarc_pg_create_database_sql(s->conn.database, s->st->meta, out);
}

/* A pg_dumpall is loaded one database at a time: its part for `database`
 * (psqlsection.h). */
static int postgres_part_filter(const char *database, tsarc_filter *out)
{
	tsarc_psql_section *part;
	int rc;

	if ((rc = tsarc_psql_section_new(database, &part)))
		return rc;
	*out = (tsarc_filter){&tsarc_psql_section_ops, part};
	return 0;
}

/*
 * Whether a server takes a pg_dump dump. Its DDL is written for its source
 * server, which pg_dump adapts it to: it loads into a server of the
 * source's major version or a newer one, and into an older one only as a
 * downgrade, refused. Its head is pg_dump's own: the SET of a timeout
 * setting an older target lacks (pg_dump 17's transaction_timeout) is left
 * out on the way (psqlhead.h), which the plan says. The source's version
 * is the probe's server_version_num in the stream's metadata; a stream
 * without it (a snapshot older than the probe's, a pg_dumpall, backup
 * --stdin) is compared by pg_dump's version, whose output loads into a
 * server of its own major version or a newer one, as before: the check
 * runs before the stream is read, where its header's "Dumped from" line is
 * not at hand, and the plan must say what the step does.
 */
typedef struct pg_versions {
	int server, source, dump; /* majors; source and dump 0 when not known */
	char server_name[16], source_name[16], dump_name[16];
} pg_versions;

/* The versions of step `s`'s load: `answer` is the target's
 * server_version_num (postgres_sql's server_query). */
static int pg_versions_of(const tsarc_step *s, const char *answer, pg_versions *v)
{
	char num[16];

	snprintf(num, sizeof(num), "%.*s", (int)strcspn(answer, "\r\n"), answer);
	if (!(v->server = tsarc_pg_server_major(num)))
		return tsarc_error_set(TSARC_ECORRUPT, "component '%s': unexpected answer of psql "
			"to the server's version", s->component);
	v->source = tsarc_pg_server_major(tsarc_spec_str(s->st->meta, "server_version_num"));
	v->dump = tsarc_pg_tool_major(tsarc_spec_str(s->st->meta, "tool_version"));
	tsarc_pg_major_name(v->server, v->server_name, sizeof(v->server_name));
	tsarc_pg_major_name(v->source, v->source_name, sizeof(v->source_name));
	tsarc_pg_major_name(v->dump, v->dump_name, sizeof(v->dump_name));
	return 0;
}

/* Whether the dump's head is fitted to the target (psqlhead.h): its
 * pg_dump is newer than the target, of a source the target takes. */
static int pg_head_fitted(const pg_versions *v)
{
	return v->source && v->dump &&
		tsarc_pg_major_num(v->dump) > tsarc_pg_major_num(v->server);
}

static int postgres_server_takes(const tsarc_step *s, const char *answer, char *said,
	size_t size)
{
	const char *version = tsarc_spec_str(s->st->meta, "tool_version");
	char lacks[160], left_out[300] = "";
	pg_versions v;
	int rc, n;

	if ((rc = pg_versions_of(s, answer, &v)))
		return rc;
	if (!v.dump) {
		snprintf(said, size, "PostgreSQL %s (the dump's tool, %.200s, is no pg_dump: "
			"not compared)", v.server_name, version);
		return 0;
	}
	if (v.source && tsarc_pg_major_num(v.source) > tsarc_pg_major_num(v.server))
		return tsarc_error_set(TSARC_EUNSUPPORTED, "component '%s': %s is the dump of a "
			"PostgreSQL %s server (by %s), which a PostgreSQL %s server does not load (a "
			"dump's SQL is written for its source server's version and loads into a server "
			"of that major version or a newer one): restore into a PostgreSQL %s server or "
			"a newer one; nothing was written", s->component, s->st->name, v.source_name,
			version, v.server_name, v.source_name);
	if (!v.source && tsarc_pg_major_num(v.dump) > tsarc_pg_major_num(v.server))
		return tsarc_error_set(TSARC_EUNSUPPORTED, "component '%s': %s was written by %s, "
			"which a PostgreSQL %s server does not load (the snapshot does not record the "
			"version of the server it was dumped from; what pg_dump writes loads into a "
			"server of its own major version or a newer one): restore into a PostgreSQL %s "
			"server or a newer one (or, of a source of PostgreSQL %s or older, back it up "
			"again, the backup records its server's version); nothing was written",
			s->component, s->st->name, version, v.server_name, v.dump_name, v.server_name);
	if (pg_head_fitted(&v) && (n = tsarc_psql_head_lacks(v.dump, v.server, lacks,
		sizeof(lacks))))
		snprintf(left_out, sizeof(left_out), " (its head's SET %s, which %s does not know, "
			"%s left out)", lacks, v.server_name, n > 1 ? "are" : "is");
	if (v.source)
		snprintf(said, size, "PostgreSQL %s takes the dump of %.200s of a PostgreSQL %s "
			"server%s", v.server_name, version, v.source_name, left_out);
	else
		snprintf(said, size, "PostgreSQL %s takes the dump of %.200s (of its major version "
			"or an older one)", v.server_name, version);
	return 0;
}

/* The head filter of a load server_takes admitted (out->self NULL: none
 * needed). */
static int postgres_server_filter(const tsarc_step *s, const char *answer, tsarc_filter *out)
{
	tsarc_psql_head *h;
	pg_versions v;
	int rc;

	*out = (tsarc_filter){NULL, NULL};
	if ((rc = pg_versions_of(s, answer, &v)) || !pg_head_fitted(&v))
		return rc;
	if ((rc = tsarc_psql_head_new(v.server, &h)))
		return rc;
	*out = (tsarc_filter){&tsarc_psql_head_ops, h};
	return 0;
}

/* The head settings the filter left out, in the report
 * ("settings_left_out"). */
static void postgres_server_filter_report(const tsarc_filter *fit, cJSON *detail)
{
	const char *removed = tsarc_psql_head_removed(fit->self);

	if (removed[0])
		cJSON_AddStringToObject(detail, "settings_left_out", removed);
}

/* The look-up's answer alone, unaligned, on one line. */
static const char *const postgres_query_args[] = {"-At", "-c", NULL};

/* The drop of the database a failed load leaves (db.h) is a DROP DATABASE
 * without FORCE: the server waits a few seconds for sessions to end (the
 * failed load's own), and a session that came in meanwhile is not ours
 * to end, so the DROP then fails and the error says the database is left. */
static const tsarc_sql_client postgres_sql = {.tool = "psql", .args = postgres_client,
	.name_quote = '"',
	.one_transaction = 1,
	.pg_owner_map = 1,
	.clean_replaces = "every table, view, materialized view, sequence and foreign table of "
		"the database but an extension's (it ends up with the dump's only)",
	.whole_server_tool = "pg_dumpall",
	.whole_server_refusal = "pg_dumpall's DROP DATABASE of each database it holds runs "
		"first, then its DROP ROLE of the role psql runs as (such a dump holds every role) "
		"stops the load, and those databases would be left dropped",
	.part_filter = postgres_part_filter,
	.guard = postgres_guard,
	.plan_guard = postgres_plan_guard,
	.plan_database = postgres_plan_database,
	.create_sql = postgres_create_sql, .drop_sql = tsarc_pg_drop_database_sql,
	.count_query = tsarc_pg_database_count_query, .query_args = postgres_query_args,
	.admin_cmd = admin_cmd,
	.server_query = "SHOW server_version_num", .server_takes = postgres_server_takes,
	.server_filter = postgres_server_filter,
	.server_filter_report = postgres_server_filter_report};

static const char *const POSTGRES_FIELDS[] = {TSARC_DB_COMMON_KEYS, "database", "default_database",
	NULL};
/* 3scale's and zync's URLs: postgresql://; libpq takes postgres:// too. */
static const char *const POSTGRES_SCHEMES[] = {"postgresql", "postgres", NULL};

const tsarc_kind tsarc_kind_postgres = {
	.name = "postgres", .extension = ".sql", .runs_in_pod = 1, .default_port = 5432,
	.action = "sql", .target = TSARC_TARGET_DATABASE, .fields = POSTGRES_FIELDS,
	.url_schemes = POSTGRES_SCHEMES, .url_names = "a PostgreSQL database",
	.dump = postgres_prepare, .describe = tsarc_sql_describe, .admit = tsarc_sql_admit,
	.restore = tsarc_sql_restore, .undo_absent = tsarc_sql_undo_absent,
	.undo_remove = tsarc_sql_undo_remove, .data = &postgres_sql};
