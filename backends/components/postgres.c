/*
 * The postgres kind: one database dumped with pg_dump (or the whole server
 * with pg_dumpall) and loaded back with psql. Both directions connect with
 * the same arguments (postgres_conn_args); the password goes in the
 * child's environment (PGPASSWORD) on this host, from the pod's own
 * variable (pod_password_env) in a pod.
 */
#include "db.h"
#include "snapshot.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the server is and who connects, as pg_dump and psql both take it;
 * `pod_pw` (may be NULL) the pod's variable holding the password. */
static int postgres_conn_args(tsarc_cmd *cmd, const tsarc_conn *conn, int kube,
	const char *pod_pw)
{
	int rc;

	if ((rc = tsarc_db_conn_flags(cmd, conn, "--username")))
		return rc;
	if (conn->has_password && (rc = tsarc_cmd_env(cmd, "PGPASSWORD", conn->password)))
		return rc;
	/* A database that is down fails in seconds, not minutes. */
	if (!kube && (rc = tsarc_cmd_env(cmd, "PGCONNECT_TIMEOUT", "15")))
		return rc;
	if (kube && pod_pw && (rc = tsarc_cmd_pod_env(cmd, "PGPASSWORD", pod_pw)))
		return rc;
	return 0;
}

static int postgres_validate(const cJSON *spec, const char *name)
{
	static const char *const keys[] = {TSARC_DB_COMMON_KEYS, "database", NULL};
	return tsarc_spec_check_keys(spec, name, keys);
}

static int postgres_prepare(tsarc_component *c, tsarc_production *out)
{
	const char *tool = tsarc_spec_str(c->spec, "tool");
	tsarc_conn conn;
	int rc;

	if ((rc = tsarc_conn_resolve(c, &conn)))
		return rc;
	/* One database: pg_dump; none named: the whole server with
	 * pg_dumpall, as the 3scale procedure does inside the pod. */
	if (!tool)
		tool = conn.database ? "pg_dump" : "pg_dumpall";
	if ((rc = tsarc_cmd_arg(&out->cmd, tool)) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--clean")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--if-exists")) ||
		/* Never prompt: a missing password is an error, not a hang. */
		(rc = tsarc_cmd_arg(&out->cmd, "--no-password")))
		goto done;
	if ((rc = postgres_conn_args(&out->cmd, &conn, tsarc_db_in_workload(c),
		     tsarc_spec_str(c->spec, "pod_password_env"))) ||
		(rc = tsarc_spec_add_args(&out->cmd, c->spec, "options", c->name)))
		goto done;
	if (conn.database && !strcmp(tool, "pg_dump") &&
		(rc = tsarc_cmd_argf(&out->cmd, "--dbname=%s", conn.database)))
		goto done;
	if ((rc = tsarc_db_version_cmd(out, tool, "--version")))
		goto done;
	if (!(out->meta = tsarc_db_meta(c, &conn)))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
done:
	tsarc_conn_free(&conn);
	return rc;
}


/* ---- restore ---- */

static int postgres_client(tsarc_step *s, const tsarc_conn *conn, const char *pod_pw, int kube,
	tsarc_cmd *cmd, tsarc_buf *pre)
{
	int rc;

	(void)pre;
	if (tsarc_spec_bool(s->recipe, "clean", 0))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': \"clean\" is for mysql; "
			"PostgreSQL dumps drop and recreate their own objects (--clean --if-exists)",
			s->component);
	if ((rc = tsarc_cmd_arg(cmd, "-X")) || (rc = tsarc_cmd_arg(cmd, "-q")) ||
		(rc = tsarc_cmd_arg(cmd, "-v")) || (rc = tsarc_cmd_arg(cmd, "ON_ERROR_STOP=1")) ||
		(rc = tsarc_cmd_arg(cmd, "--no-password")))
		return rc;
	if ((rc = postgres_conn_args(cmd, conn, kube, pod_pw)))
		return rc;
	/* A pg_dump of one database goes into it; a pg_dumpall (no
	 * database) creates its databases itself from "postgres". */
	return tsarc_cmd_argf(cmd, "--dbname=%s", conn->database ? conn->database : "postgres");
}

static const tsarc_sql_client postgres_sql = {"psql", postgres_client};

const tsarc_kind tsarc_kind_postgres = {
	.name = "postgres", .extension = ".sql", .runs_in_pod = 1, .default_port = 5432,
	.action = "sql", .target = TSARC_TARGET_DATABASE, .validate = postgres_validate,
	.dump = postgres_prepare, .describe = tsarc_sql_describe,
	.restore = tsarc_sql_restore, .data = &postgres_sql};
