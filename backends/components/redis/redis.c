/*
 * The redis kind: the RDB the server streams to a replica (redis-cli
 * --rdb), put back by swapping the server's files (swap.c). The password
 * goes in the child's environment (REDISCLI_AUTH) on this host, from the
 * pod's own variable (pod_password_env) in a pod.
 */
#include "redis.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int redis_validate(const cJSON *spec, const char *name)
{
	static const char *const keys[] = {TSARC_DB_COMMON_KEYS, "tls", NULL};
	return tsarc_spec_check_keys(spec, name, keys);
}

int tsarc_redis_cli_args(tsarc_cmd *cmd, const tsarc_component *c, const tsarc_conn *conn,
	int with_host)
{
	const char *var = tsarc_spec_str(c->spec, "pod_password_env");
	int rc;

	if (with_host && conn->host && ((rc = tsarc_cmd_arg(cmd, "-h")) ||
		(rc = tsarc_cmd_arg(cmd, conn->host))))
		return rc;
	if (conn->port && ((rc = tsarc_cmd_arg(cmd, "-p")) ||
		(rc = tsarc_cmd_argf(cmd, "%d", conn->port))))
		return rc;
	if (conn->user && ((rc = tsarc_cmd_arg(cmd, "--user")) ||
		(rc = tsarc_cmd_arg(cmd, conn->user))))
		return rc;
	if (tsarc_spec_bool(c->spec, "tls", 0) && (rc = tsarc_cmd_arg(cmd, "--tls")))
		return rc;
	if ((rc = tsarc_spec_add_args(cmd, c->spec, "options", c->name)))
		return rc;
	if (conn->has_password && (rc = tsarc_cmd_env(cmd, "REDISCLI_AUTH", conn->password)))
		return rc;
	if (var && tsarc_db_in_workload(c) && (rc = tsarc_cmd_pod_env(cmd, "REDISCLI_AUTH", var)))
		return rc;
	return 0;
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
	if ((rc = tsarc_redis_cli_args(&out->cmd, c, &conn, 1)) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--rdb")) || (rc = tsarc_cmd_arg(&out->cmd, "-")))
		goto done;
	if ((rc = tsarc_db_version_cmd(out, tool, "--version")))
		goto done;
	if (!(out->meta = tsarc_db_meta(c, &conn)))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
done:
	tsarc_conn_free(&conn);
	return rc;
}

static void redis_describe(tsarc_restore_ctx *r, const tsarc_step *s, const char *where,
	cJSON *plan)
{
	const char *conf = tsarc_spec_str(s->recipe, "config_file");
	char buf[1024];

	(void)r;
	if (!conf)
		conf = tsarc_spec_str(s->recipe, "config_map");
	snprintf(buf, sizeof(buf), "Redis %s (%s)", where, conf ? conf : "?");
	cJSON_AddStringToObject(plan, "target", buf);
	cJSON_AddStringToObject(plan, "replaces", "the whole data set (dump.rdb and AOF moved "
		"aside, two restarts)");
}

const tsarc_kind tsarc_kind_redis = {
	.name = "redis", .extension = ".rdb", .runs_in_pod = 1, .default_port = 6379,
	.action = "redis-rdb", .action_for_any_kind = 1, .target = TSARC_TARGET_SERVER,
	.validate = redis_validate, .dump = redis_prepare, .describe = redis_describe,
	.restore = tsarc_redis_swap_restore};
