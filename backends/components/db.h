#ifndef TSARC_COMPONENTS_DB_H
#define TSARC_COMPONENTS_DB_H

/* What the database kinds (mysql.c, postgres.c, redis/) share (db.c). */
#include "kind.h"

struct tsarc_buf;
struct tsarc_filter;

/* Fields every database component understands. */
#define TSARC_DB_COMMON_KEYS                                                  \
	"kind", "enabled", "required", "stream", "transport", "external",     \
	"workload", "selector", "container", "url_secret", "restore", "tool", \
	"host", "port", "user", "password_env", "password_file",               \
	"pod_password_env", "options", "description", "external_when",      \
	"database_when"

/* Whether the client runs inside the component's workload (a pod): the
 * server is local to it and the workload's own variables are there
 * (pod_password_env). Asked of the transport's capabilities. */
int tsarc_db_in_workload(const tsarc_component *c);
/* Where a dump came from, for the stream's metadata (never a password). */
cJSON *tsarc_db_meta(const tsarc_component *c, const tsarc_conn *conn);
/* USER_FLAG=USER, --host=HOST and --port=PORT for what `conn` has: how
 * the mysql and postgres clients and dumpers all take them. */
int tsarc_db_conn_flags(tsarc_cmd *cmd, const tsarc_conn *conn, const char *user_flag);
/* TOOL FLAG as the production's version command. */
int tsarc_db_version_cmd(tsarc_production *out, const char *tool, const char *flag);
/* A SQL kind's client for a restore: adds to `cmd` (its tool already
 * argv[0]) the options for `conn` and its own, and to `pre` what goes
 * before the dump. `pod_pw` is the pod's variable holding the password
 * (in a pod only; else NULL); `tls` the connection's private TLS files
 * (dbconn.h), or NULL. */
struct tsarc_db_tls;
typedef int (*tsarc_sql_client_fn)(tsarc_step *s, const tsarc_conn *conn, const char *pod_pw,
	int kube, const struct tsarc_db_tls *tls, tsarc_cmd *cmd, struct tsarc_buf *pre);
/* A SQL kind's restore, its tsarc_kind.data: the client program (unless
 * the recipe names another tool) and its arguments, and how the two
 * servers differ around the load. */
typedef struct tsarc_sql_client {
	const char *tool;
	tsarc_sql_client_fn args;
	/* A MySQL dump holds what a restoring user without SUPER cannot load:
	 * its triggers', views' and routines' DEFINER clauses, removed on the
	 * way unless the recipe's "definer" is "keep"; MySQL 8's SET of
	 * SQL_LOG_BIN and GTID_PURGED, always removed (mysqlstrip.h). */
	int mysql_strip;
	/* A PostgreSQL dump's owners and grants fitted to the roles the target
	 * has, unless the recipe's "owner" is "keep" (psqlowner.h): the roles
	 * asked of the target (tsarc_sql_ask) before the load. */
	int pg_owner_map;
	/* The check the dump goes through on its way into the client, since
	 * it comes from the snapshot: psql's against the backslash commands
	 * psql would run (psqlguard.h), mysql's against statements that reach
	 * past the target database (mysqlguard.h). `database`: the target's,
	 * NULL when it names none. out->self is the caller's to free. The
	 * kind's backup runs the same check over the dump it takes
	 * (tsarc_db_guard_intake). */
	int (*guard)(const char *database, struct tsarc_filter *out);
	/* The plan's word on what the guard holds back (its "checks") in a
	 * load into `db`. */
	void (*plan_guard)(const char *db, cJSON *plan);
	/* The load into one database runs as one transaction (psql -1, added
	 * by `args`): a failure anywhere in it, the domain rewrite after it
	 * included, leaves that database as it was, and the error says so.
	 * Without it (mysql applies each statement as it reads it), the
	 * stream is read whole through the filters before the database is
	 * created and the client started: a damaged chunk or a refusal
	 * anywhere stops the step with nothing written. */
	int one_transaction;
	/* What a "clean" load replaces, for the plan (its "replaces"): what
	 * `args` drops before the dump, in words. */
	const char *clean_replaces;
	/* The tool that dumps a whole server (pg_dumpall), whose dumps are not
	 * loaded whole, and why (whole_server_refusal): a restore loads the
	 * part of the target's database, through the filter part_filter makes
	 * for `database` (out->self the caller's to free). A target that names
	 * no database is refused (tsarc_sql_admit, before the restore's first
	 * write). NULL: the client takes every dump as it is. */
	const char *whole_server_tool, *whole_server_refusal;
	int (*part_filter)(const char *database, struct tsarc_filter *out);
	/* The plan's word on the database `db` the load goes into when the
	 * target has none (what it is created with, or that it must exist). */
	void (*plan_database)(const tsarc_step *s, const char *db, cJSON *plan);
	/* How that database is created before the load when the target has
	 * none, and dropped again when the load then fails (db.c: the flow is
	 * the same for every client, only the SQL and the command differ).
	 * Looked up first, then created without "if not exists": one that
	 * appears in between fails the step, so a failed load never drops a
	 * database that was there. NULL create_sql: the load needs no
	 * database created, and the other slots below are unused.
	 * create_sql: the client's input that creates s->conn.database (*out
	 * NULL: nothing to create it with, the database must exist). */
	int (*create_sql)(const tsarc_step *s, char **out);
	/* How the client's SQL quotes a name ('"' or '`'), for the statement
	 * an error gives to remove a database left behind. */
	char name_quote;
	/* The client's input that drops database `db` as create_sql made it:
	 * the target is left without it, as it was, not with an empty or
	 * half-loaded database a later run or the application would take for
	 * a restored one. Without one_transaction (mysql) the drop takes what
	 * the load executed with it: the database held nothing else. */
	int (*drop_sql)(const char *db, char **out);
	/* The query whose one-line answer is 1 when `db` exists, 0 when not;
	 * run with query_args (NULL-terminated) before it, which make the
	 * client print the answer alone. */
	int (*count_query)(const char *db, char **out);
	const char *const *query_args;
	/* The command the look-up, CREATE and DROP run through, made from the
	 * load's `load` (*out to free, also on failure); NULL: the load's own
	 * command, as it is. */
	int (*admin_cmd)(const tsarc_cmd *load, tsarc_cmd *out);
	/* Writes the client's private files (dbconn.h tsarc_mysql_files_open);
	 * NULL: tsarc_db_tls_open. */
	int (*files_open)(const tsarc_conn *conn, int on_host, struct tsarc_db_tls **out);
	/* Optional, for a client that applies as it reads (no
	 * one_transaction): once the stream was read whole through the
	 * filters, and before anything is written (the database created, the
	 * clean), refuses what the target would refuse part-way through the
	 * load, after the statements before it were applied. `guard` is this
	 * load's guard (guard above; its verdict on the whole stream); queries
	 * go through tsarc_sql_ask with `load`, the load's own command. */
	int (*before_load)(const tsarc_step *s, tsarc_component *c, const tsarc_cmd *load,
		const struct tsarc_filter *guard);
	/* Optional, with before_load: before_load's checks made by the plan,
	 * through the plan's own session (the step's client, on this host or
	 * in the pod; queries through tsarc_sql_ask with `load`), from what
	 * the kind's backup recorded of the dump through its guard (the same
	 * guard, over the dump as written: tsarc_db_guard_intake's `meta`)
	 * under the key `guard_meta_key` of the stream's metadata. Found by
	 * the step alone, the steps before it would already have replaced
	 * their targets. A snapshot that records nothing (an older tsarc's):
	 * the step asks. */
	const char *guard_meta_key;
	int (*plan_before_load)(const tsarc_step *s, tsarc_component *c, const tsarc_cmd *load);
	/* Optional: whether the target server takes step `s`'s dump, by the
	 * version of the tool that wrote it (its "tool_version"): the server
	 * asked with server_query (through tsarc_sql_ask), `answer` its reply;
	 * 0 with the plan's word in `said`, or an error naming both versions.
	 * Asked only of a dump that records its tool's version, before the
	 * step writes anything, and by the plan (through the same client, in
	 * the pod in a pod). */
	const char *server_query;
	int (*server_takes)(const tsarc_step *s, const char *answer, char *said, size_t size);
	/* Optional: the filter that fits the dump to the server server_takes
	 * admitted, from the same answer (psql: its head's timeout settings the
	 * server lacks left out, psqlhead.h); out->self NULL when none is
	 * needed, else the caller's to free. It goes behind the guard. */
	int (*server_filter)(const tsarc_step *s, const char *answer, struct tsarc_filter *out);
	/* What that filter changed, added to the step's report (`detail`);
	 * nothing when it changed nothing. */
	void (*server_filter_report)(const struct tsarc_filter *fit, cJSON *detail);
} tsarc_sql_client;
/* Runs `query` through the client's command for statements about
 * databases (admin_cmd, made from the load's `load`; in the pod in a pod)
 * with its query_args, and puts the answer (at most `max` bytes, else
 * TSARC_ETOOLARGE) in *out, to wipe and free (tsarc_secure_free_str). A
 * question only reads: a `query` that is not one statement that only
 * reads (sqlreads.h) is TSARC_EUNSAFE, and nothing runs. The plan reaches
 * the target through here alone. */
int tsarc_sql_ask(const tsarc_sql_client *client, tsarc_component *c, const tsarc_cmd *load,
	const char *query, size_t max, char **out);
/* The describe and restore of the SQL kinds: the dump loaded by the
 * client with the recipe's options, between what the client puts before
 * it and the domain rewrite, in one session; TLS files for the client's
 * run only; DEFINER clauses removed on the way when the kind has them. */
void tsarc_sql_describe(tsarc_restore_ctx *r, const tsarc_step *s, const char *where,
	cJSON *plan);
int tsarc_sql_restore(tsarc_restore_ctx *r, tsarc_step *s);
/* The SQL kinds' undo_absent and undo_remove (kind.h): the database a
 * load would create, looked up as the load looks it up; and that
 * database dropped again through the load's client, when step `s`
 * created it (s->created). */
int tsarc_sql_undo_absent(tsarc_restore_ctx *r, tsarc_step *s, char **what);
int tsarc_sql_undo_remove(tsarc_restore_ctx *r, tsarc_step *s);
/* The SQL kinds' admit (kind.h), before the first write of the restore,
 * and again by tsarc_sql_restore: TSARC_ECONFIG, naming the stream and
 * why, when the target names no database while the stream is the dump of
 * a whole server (only one database's part of it is loaded) or of one
 * database (its client would load it into its own default), or the recipe
 * is "clean" (nothing to empty); else 0. */
int tsarc_sql_admit(tsarc_restore_ctx *r, tsarc_step *s);

/* The dump of `out` goes into the stream through `guard` (the kind's
 * client's, db.h; taken over, freed with the production): a dump the
 * restore would refuse fails its backup, the error ending with `hint`
 * (what to change), which must outlive the production. `meta` (the
 * client's guard_meta; NULL: none) gives, once the dump has ended, what
 * the guard learned of it, added to the stream's metadata. */
int tsarc_db_guard_intake(tsarc_production *out, struct tsarc_filter guard, const char *hint,
	cJSON *(*meta)(const struct tsarc_filter *guard));

/* Runs `cmd` through the component's transport (in the pod in a pod) and
 * puts its stdout (at most 4 KiB, the rest read and dropped) in *out, to
 * free; a failure of the command is an error (a one-line query's answer). */
int tsarc_db_capture(tsarc_component *c, const tsarc_cmd *cmd, char **out);
/* The same for an answer of several lines that is used whole or not at
 * all: more than `max` bytes is TSARC_ETOOLARGE. The answer is the
 * caller's to wipe (tsarc_secure_free_str): SHOW GRANTS shows a password
 * hash. */
int tsarc_db_capture_whole(tsarc_component *c, const tsarc_cmd *cmd, size_t max, char **out);
/* Runs `cmd` (a client with the dump's connection and a one-line query)
 * through the component's transport (the pod's own client in a pod) and
 * records its answer in `meta` under `names` (dbconn.h
 * tsarc_probe_fields). A failure records nothing and is no error: the
 * restore then says it creates the database with the recipe's options. */
int tsarc_db_probe(tsarc_component *c, const tsarc_cmd *cmd, const char *const names[], size_t n,
	cJSON *meta);

#endif
