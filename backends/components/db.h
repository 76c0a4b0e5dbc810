#ifndef TSARC_COMPONENTS_DB_H
#define TSARC_COMPONENTS_DB_H

/* What the database kinds (mysql.c, postgres.c, redis/) share (db.c). */
#include "kind.h"

struct tsarc_buf;

/* Fields every database component understands. */
#define TSARC_DB_COMMON_KEYS                                                  \
	"kind", "enabled", "required", "stream", "transport", "external",     \
	"workload", "selector", "container", "url_secret", "restore", "tool", \
	"host", "port", "user", "password_env", "password_file",               \
	"pod_password_env", "options", "description"

/* Whether the client runs inside the component's workload (a pod): the
 * server is local to it and the workload's own variables are there
 * (pod_password_env). Asked of the transport's capabilities. */
int tsarc_db_in_workload(const tsarc_component *c);
/* Where a dump came from, for the stream's metadata (never a password). */
cJSON *tsarc_db_meta(const tsarc_component *c, const tsarc_conn *conn);
/* TOOL FLAG as the production's version command. */
int tsarc_db_version_cmd(tsarc_production *out, const char *tool, const char *flag);
/* The plan of a SQL load: "CLIENT WHERE", what it replaces, the domain
 * rewrite. */
void tsarc_db_describe_sql(tsarc_restore_ctx *r, const tsarc_step *s, const char *where,
	cJSON *plan, const char *client);
/* A SQL kind's client for a restore: adds to `cmd` (its tool already
 * argv[0]) the options for `conn` and its own, and to `pre` what goes
 * before the dump. `pod_pw` is the pod's variable holding the password
 * (in a pod only; else NULL). */
typedef int (*tsarc_sql_client_fn)(tsarc_step *s, const tsarc_conn *conn, const char *pod_pw,
	int kube, tsarc_cmd *cmd, struct tsarc_buf *pre);
/* Loads a SQL dump: the client (`default_tool` unless the recipe names
 * one) with the recipe's options, the dump between `pre` and the domain
 * rewrite, in one session. */
int tsarc_restore_sql(tsarc_restore_ctx *r, tsarc_step *s, const char *default_tool,
	tsarc_sql_client_fn client);

#endif
