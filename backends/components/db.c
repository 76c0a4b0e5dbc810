/*
 * Database sources: mysql (mysqldump / mariadb-dump), postgres (pg_dump or
 * pg_dumpall) and redis (an RDB over the replication protocol). Each builds
 * one command; the transport decides where it runs. Passwords never go on
 * the command line: on this host they go in the child's environment
 * (PGPASSWORD, REDISCLI_AUTH) or a 0600 option file (mysql), in a pod they
 * come from the pod's own variables (pod_password_env).
 */
#include "component.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fields every database component understands. */
#define DB_COMMON_KEYS                                                        \
	"kind", "enabled", "required", "stream", "transport", "external",     \
	"workload", "selector", "container", "url_secret", "restore", "tool", \
	"host", "port", "user", "password_env", "password_file",               \
	"pod_password_env", "options", "description"

static int is_kube(const tsarc_component *c)
{
	return !strcmp(c->tr->type, "kube");
}

static cJSON *db_meta(const tsarc_component *c, const tsarc_conn *conn)
{
	cJSON *meta = cJSON_CreateObject();

	if (!meta)
		return NULL;
	if (conn->host)
		cJSON_AddStringToObject(meta, "db_host", conn->host);
	if (conn->port)
		cJSON_AddNumberToObject(meta, "db_port", conn->port);
	if (conn->socket)
		cJSON_AddStringToObject(meta, "db_socket", conn->socket);
	if (conn->user)
		cJSON_AddStringToObject(meta, "db_user", conn->user);
	if (conn->database)
		cJSON_AddStringToObject(meta, "database", conn->database);
	cJSON_AddBoolToObject(meta, "external", c->external);
	return meta;
}

/* The pod supplies the password itself (kube), or we do (this host). */
static int pod_password(tsarc_component *c, tsarc_cmd *cmd, const char *env_name)
{
	const char *var = tsarc_spec_str(c->spec, "pod_password_env");

	return var && is_kube(c) ? tsarc_cmd_pod_env(cmd, env_name, var) : 0;
}

static int version_cmd(tsarc_production *out, const char *tool, const char *flag)
{
	int rc;

	if ((rc = tsarc_cmd_arg(&out->version_cmd, tool)) ||
		(rc = tsarc_cmd_arg(&out->version_cmd, flag)))
		return rc;
	return 0;
}

/* ---- mysql ---- */

static int mysql_validate(const cJSON *spec, const char *name)
{
	static const char *const keys[] = {DB_COMMON_KEYS, "database", "socket", NULL};
	return tsarc_spec_check_keys(spec, name, keys);
}

static int mysql_prepare(tsarc_component *c, tsarc_production *out)
{
	const char *tool = tsarc_spec_str(c->spec, "tool");
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
	if ((rc = tsarc_cmd_arg(&out->cmd, tool)))
		goto done;
	if (conn.has_password && (rc = tsarc_cmd_mysql_password(&out->cmd, conn.password)))
		goto done;
	/* One consistent InnoDB snapshot without locking writers; routines,
	 * triggers (3scale has ~78 BEFORE INSERT triggers) and events; binary
	 * columns in hex; the connection in utf8mb4 so that every charset of
	 * the tables (utf8mb3 / utf8mb3_bin mostly) survives exactly. No
	 * "Dump completed on" date: an unchanged database then dumps to the
	 * same bytes, and its last chunk deduplicates too. */
	if ((rc = tsarc_cmd_arg(&out->cmd, "--single-transaction")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--skip-dump-date")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--routines")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--triggers")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--events")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--hex-blob")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--quick")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--set-charset")) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--default-character-set=utf8mb4")))
		goto done;
	if (conn.user && (rc = tsarc_cmd_argf(&out->cmd, "--user=%s", conn.user)))
		goto done;
	if (conn.host && (rc = tsarc_cmd_argf(&out->cmd, "--host=%s", conn.host)))
		goto done;
	if (conn.port && (rc = tsarc_cmd_argf(&out->cmd, "--port=%d", conn.port)))
		goto done;
	if (conn.socket && (rc = tsarc_cmd_argf(&out->cmd, "--socket=%s", conn.socket)))
		goto done;
	if ((rc = tsarc_spec_add_args(&out->cmd, c->spec, "options", c->name)) ||
		(rc = tsarc_cmd_arg(&out->cmd, conn.database)) ||
		(rc = pod_password(c, &out->cmd, "MYSQL_PWD")) ||
		(rc = version_cmd(out, tool, "--version")))
		goto done;
	if (!(out->meta = db_meta(c, &conn)))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
done:
	tsarc_conn_free(&conn);
	return rc;
}

const tsarc_source tsarc_source_mysql = {"mysql", ".sql", 1, mysql_validate, mysql_prepare};

/* ---- postgres ---- */

static int postgres_validate(const cJSON *spec, const char *name)
{
	static const char *const keys[] = {DB_COMMON_KEYS, "database", NULL};
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
	if (conn.user && (rc = tsarc_cmd_argf(&out->cmd, "--username=%s", conn.user)))
		goto done;
	if (conn.host && (rc = tsarc_cmd_argf(&out->cmd, "--host=%s", conn.host)))
		goto done;
	if (conn.port && (rc = tsarc_cmd_argf(&out->cmd, "--port=%d", conn.port)))
		goto done;
	if ((rc = tsarc_spec_add_args(&out->cmd, c->spec, "options", c->name)))
		goto done;
	if (conn.database && !strcmp(tool, "pg_dump") &&
		(rc = tsarc_cmd_argf(&out->cmd, "--dbname=%s", conn.database)))
		goto done;
	if (conn.has_password && (rc = tsarc_cmd_env(&out->cmd, "PGPASSWORD", conn.password)))
		goto done;
	/* A database that is down fails in seconds, not minutes. */
	if (!is_kube(c) && (rc = tsarc_cmd_env(&out->cmd, "PGCONNECT_TIMEOUT", "15")))
		goto done;
	if ((rc = pod_password(c, &out->cmd, "PGPASSWORD")) ||
		(rc = version_cmd(out, tool, "--version")))
		goto done;
	if (!(out->meta = db_meta(c, &conn)))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
done:
	tsarc_conn_free(&conn);
	return rc;
}

const tsarc_source tsarc_source_postgres = {"postgres", ".sql", 1, postgres_validate,
	postgres_prepare};

/* ---- redis ---- */

static int redis_validate(const cJSON *spec, const char *name)
{
	static const char *const keys[] = {DB_COMMON_KEYS, "tls", NULL};
	return tsarc_spec_check_keys(spec, name, keys);
}

static int redis_prepare(tsarc_component *c, tsarc_production *out)
{
	const char *tool = tsarc_spec_str(c->spec, "tool");
	tsarc_conn conn;
	int rc;

	if (!tool)
		tool = "redis-cli";
	if ((rc = tsarc_conn_resolve(c, &conn)))
		return rc;
	/* The RDB the server streams to a replica: a consistent fork-time
	 * snapshot of every db, without touching the server's own dump.rdb
	 * (which may be stale, or switched off with persistence). */
	if ((rc = tsarc_cmd_arg(&out->cmd, tool)))
		goto done;
	if (conn.host && ((rc = tsarc_cmd_arg(&out->cmd, "-h")) ||
		(rc = tsarc_cmd_arg(&out->cmd, conn.host))))
		goto done;
	if (conn.port && ((rc = tsarc_cmd_arg(&out->cmd, "-p")) ||
		(rc = tsarc_cmd_argf(&out->cmd, "%d", conn.port))))
		goto done;
	if (conn.user && ((rc = tsarc_cmd_arg(&out->cmd, "--user")) ||
		(rc = tsarc_cmd_arg(&out->cmd, conn.user))))
		goto done;
	if (tsarc_spec_bool(c->spec, "tls", 0) && (rc = tsarc_cmd_arg(&out->cmd, "--tls")))
		goto done;
	if ((rc = tsarc_spec_add_args(&out->cmd, c->spec, "options", c->name)) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--rdb")) || (rc = tsarc_cmd_arg(&out->cmd, "-")))
		goto done;
	if (conn.has_password && (rc = tsarc_cmd_env(&out->cmd, "REDISCLI_AUTH", conn.password)))
		goto done;
	if ((rc = pod_password(c, &out->cmd, "REDISCLI_AUTH")) ||
		(rc = version_cmd(out, tool, "--version")))
		goto done;
	if (!(out->meta = db_meta(c, &conn)))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
done:
	tsarc_conn_free(&conn);
	return rc;
}

const tsarc_source tsarc_source_redis = {"redis", ".rdb", 1, redis_validate, redis_prepare};
