/*
 * What the database kinds (mysql, postgres, redis) share: the fields every
 * one understands, the metadata a dump records about where it came from,
 * the version command, the one-line probes a backup records, and the
 * plan and restore of a SQL dump into its client (mysql and postgres
 * differ in the client's arguments, what goes before the dump, DEFINER
 * clauses and how a missing database is created: their tsarc_sql_client).
 */
#include "db.h"
#include "dbconn.h"
#include "error_save.h"
#include "filter.h"
#include "fmt.h"
#include "mysqlstrip.h"
#include "psqlowner.h"
#include "interrupt.h"
#include "rewrite.h"
#include "snapshot.h"
#include "sqlreads.h"
#include "tsarc/buf.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The most of the answer to the query of a server's roles read (hex
 * names of up to 63 bytes: some 30,000 roles). */
#define OWNER_ANSWER_MAX (4u << 20)

int tsarc_db_in_workload(const tsarc_component *c)
{
	return (c->tr->caps & TSARC_TR_IN_WORKLOAD) != 0;
}

cJSON *tsarc_db_meta(const tsarc_component *c, const tsarc_conn *conn)
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
	if (c->external) {
		/* Where the endpoint came from, as a restore's plan says it
		 * (target.c): the Secret, or the configuration alone where the
		 * Secret has no URL key or does not exist (conn.c). */
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(c->spec, "url_secret");
		const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");
		char from[600], parts[300];
		if (conn->secret_unused == TSARC_SECRET_MISSING) {
			tsarc_conn_config_fields(c->spec, conn, parts, sizeof(parts));
			snprintf(from, sizeof(from), "the configuration (%s): there is no Secret %s",
				parts, secret ? secret : "?");
		} else if (conn->secret_unused) {
			tsarc_conn_config_fields(c->spec, conn, parts, sizeof(parts));
			snprintf(from, sizeof(from), "the configuration (%s): Secret %s has no key %s",
				parts, secret ? secret : "?", key ? key : "?");
		} else {
			tsarc_conn_sources(c->spec, conn, parts, sizeof(parts));
			snprintf(from, sizeof(from), "Secret %s (key %s)%s", secret ? secret : "?",
				key ? key : "?", parts);
		}
		cJSON_AddStringToObject(meta, "endpoint_from", from);
	}
	return meta;
}

int tsarc_db_conn_flags(tsarc_cmd *cmd, const tsarc_conn *conn, const char *user_flag)
{
	int rc;

	if (conn->user && (rc = tsarc_cmd_argf(cmd, "%s=%s", user_flag, conn->user)))
		return rc;
	if (conn->host && (rc = tsarc_cmd_argf(cmd, "--host=%s", conn->host)))
		return rc;
	if (conn->port && (rc = tsarc_cmd_argf(cmd, "--port=%d", conn->port)))
		return rc;
	return 0;
}

int tsarc_db_version_cmd(tsarc_production *out, const char *tool, const char *flag)
{
	int rc;

	if ((rc = tsarc_cmd_arg(&out->version_cmd, tool)) ||
		(rc = tsarc_cmd_arg(&out->version_cmd, flag)))
		return rc;
	return 0;
}

/* Spawned, not captured: a transport gives a MySQL password to spawned
 * commands only (the in-memory option file). At most `keep` bytes are
 * kept; with `whole`, more than that is TSARC_ETOOLARGE (the rest is read
 * and dropped either way, so the command ends), and the buffer is wiped
 * when freed (a whole answer may hold what SHOW GRANTS shows: a password
 * hash). */
static int capture(tsarc_component *c, const tsarc_cmd *cmd, size_t keep, int whole, char **out)
{
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_proc p;
	char buf[4096];
	ssize_t n;
	int rc = 0, frc, over = 0;

	*out = NULL;
	if (whole)
		tsarc_buf_init_wiped(&b);
	tsarc_proc_init(&p);
	if ((rc = c->tr->spawn(c->tr, c, cmd, &p)))
		return rc;
	while ((n = read(p.out_fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (b.size >= keep || (whole && b.size + (size_t)n > keep))
			over = 1;
		else if ((rc = tsarc_buf_append(&b, buf, (size_t)n)))
			break;
	}
	tsarc_secure_zero(buf, sizeof(buf));
	frc = tsarc_proc_finish(&p, cmd->argv[0]);
	if (!rc)
		rc = frc;
	if (!rc && whole && over)
		rc = tsarc_error_set(TSARC_ETOOLARGE, "%s answered more than %zu bytes",
			cmd->argv[0], keep);
	if (!rc)
		rc = tsarc_buf_append(&b, "", 1);
	if (rc) {
		tsarc_buf_dispose(&b);
		return rc;
	}
	*out = (char *)b.ptr;
	return 0;
}

int tsarc_db_capture(tsarc_component *c, const tsarc_cmd *cmd, char **out)
{
	/* As it always was: appends while under 4 KiB, the rest dropped. */
	return capture(c, cmd, 4096, 0, out);
}

int tsarc_db_capture_whole(tsarc_component *c, const tsarc_cmd *cmd, size_t max, char **out)
{
	return capture(c, cmd, max, 1, out);
}

int tsarc_db_probe(tsarc_component *c, const tsarc_cmd *cmd, const char *const names[], size_t n,
	cJSON *meta)
{
	char *text = NULL;
	size_t i;

	if (tsarc_db_capture(c, cmd, &text) != 0 || tsarc_probe_fields(text, names, n, meta) != 0) {
		for (i = 0; i < n; i++)
			cJSON_DeleteItemFromObjectCaseSensitive(meta, names[i]);
		tsarc_error_clear();
	}
	free(text);
	return 0;
}

/* Step `s` loads the dump of a whole server that its client refuses: the
 * backup recorded the tool's version line ("pg_dumpall (PostgreSQL) 15.18"),
 * or could not read it ("unknown") and no database either (the tool then
 * was the whole server's, postgres.c). A stream without a version (backup
 * --stdin) is what its writer says it is. */
static int whole_server(const tsarc_sql_client *client, const tsarc_step *s)
{
	const char *v = s->st ? tsarc_spec_str(s->st->meta, "tool_version") : NULL;
	size_t n = client->whole_server_tool ? strlen(client->whole_server_tool) : 0;

	if (!n || !v)
		return 0;
	return (!strncmp(v, client->whole_server_tool, n) && (v[n] == ' ' || !v[n])) ||
		(!strcmp(v, "unknown") && !cJSON_GetObjectItemCaseSensitive(s->st->meta, "database"));
}

/* A whole server's dump is loaded one database at a time (the client's
 * part filter): the target must name the database whose part it loads. */
static int whole_server_check(const tsarc_step *s, const tsarc_conn *conn)
{
	const tsarc_sql_client *client = s->impl->data;

	if (!whole_server(client, s) || conn->database)
		return 0;
	return tsarc_error_set(TSARC_ECONFIG, "component '%s': %s is the dump of a whole "
		"server (taken without a database), which a restore does not load whole (%s): it "
		"loads the part of one database, and the target names none: name it (\"database\" "
		"in the component, or the path of its Secret's URL); nothing was written",
		s->component, s->st->name, client->whole_server_refusal);
}

void tsarc_sql_describe(tsarc_restore_ctx *r, const tsarc_step *s, const char *where,
	cJSON *plan)
{
	const tsarc_sql_client *client = s->impl->data;
	const cJSON *cols = cJSON_GetObjectItemCaseSensitive(s->recipe, "domain_columns");
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s %s", client->tool, where);
	cJSON_AddStringToObject(plan, "target", buf);
	cJSON_AddStringToObject(plan, "replaces", tsarc_spec_bool(s->recipe, "clean", 0) ?
		client->clean_replaces : whole_server(client, s) ? "nothing: the part of a whole "
		"server's dump creates its tables without dropping them (a table the target has "
		"fails the load; set \"clean\": true)" : "the tables and rows in the dump (tables "
		"not in the dump are kept)");
	if (whole_server(client, s) && s->has_conn && s->conn.database) {
		snprintf(buf, sizeof(buf), "the part of database %s of the whole server's dump "
			"(%s): its roles, its other databases and its DROP and CREATE DATABASE are not "
			"loaded", s->conn.database, client->whole_server_tool);
		cJSON_AddStringToObject(plan, "loads", buf);
	}
	if (client->mysql_strip) {
		int strip = 1;
		if (tsarc_definer_strip(s->recipe, s->component, &strip))
			tsarc_error_clear(); /* running the step says why */
		cJSON_AddStringToObject(plan, "definer", strip ?
			"strip: DEFINER clauses are removed, triggers, views, routines and events are "
			"created as the restoring user (no SUPER needed)" :
			"keep: objects keep their DEFINER (the restoring user needs SUPER or "
			"SET USER unless it is that user)");
		cJSON_AddStringToObject(plan, "binlog", "the dump's SET of SQL_LOG_BIN and "
			"GTID_PURGED (MySQL 8's mysqldump of a server with GTIDs) is removed: the load "
			"is written to the binary log, so the server's replicas get it, and needs no "
			"SUPER");
	}
	if (client->pg_owner_map) {
		int map = 1;
		if (tsarc_owner_map(s->recipe, s->component, &map))
			tsarc_error_clear(); /* running the step says why */
		cJSON_AddStringToObject(plan, "owner", map ?
			"map: an object whose owner role the server does not have is given to the "
			"role the restore connects as, and a GRANT or REVOKE of only such roles is "
			"left out (the report names them); an owner the server has stays" :
			"keep: objects keep their owners and grants as dumped (a role the server "
			"does not have stops the load, and nothing of it applies)");
	}
	if (s->has_conn && s->conn.database) {
		client->plan_database(s, s->conn.database, plan);
		if (client->plan_guard)
			client->plan_guard(s->conn.database, plan);
	}
	if (s->has_conn && tsarc_conn_tls_mode(&s->conn) != TSARC_TLS_UNSET) {
		snprintf(buf, sizeof(buf), "%s%s%s", tsarc_tls_mode_name(tsarc_conn_tls_mode(&s->conn)),
			s->conn.ssl_ca ? ", the Secret's CA" : "",
			s->conn.ssl_cert ? ", the Secret's client certificate" : "");
		cJSON_AddStringToObject(plan, "tls", buf);
	}
	if (r->o->rewrite_old && cJSON_GetArraySize(cols))
		cJSON_AddItemToObject(plan, "domain_rewrite", cJSON_Duplicate(cols, 1));
	tsarc_step_plan_admitted(s, plan); /* plan_server_check's word */
}

/* The load goes into the database the target names. Without one, the
 * client's own default would take it (psql: "postgres", where 3scale never
 * looks), and a "clean" load would have no database to empty. A stream
 * that records no database (backup --stdin) is loaded as it is. */
static int database_check(const tsarc_step *s, const tsarc_conn *conn)
{
	const char *dumped = s->st ? tsarc_spec_str(s->st->meta, "database") : NULL;

	if (conn->database)
		return 0;
	if (dumped)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': %s is the dump of database "
			"%.64s, and the target names no database to load it into: name it (\"database\" "
			"in the component, or the path of its Secret's URL); nothing was written",
			s->component, s->st->name, dumped);
	if (tsarc_spec_bool(s->recipe, "clean", 0))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': \"clean\" needs the "
			"\"database\" to empty, and the target names none: name the database, or set "
			"\"clean\": false in the component's \"restore\"", s->component);
	return 0;
}

/*
 * A missing database created for the load and dropped again when the load
 * fails: one flow for every client, around its SQL and command
 * (tsarc_sql_client create_sql, drop_sql, count_query, admin_cmd).
 */

/* The client's command for statements about databases, made from the
 * load's (`load`): *out to free, also on failure. */
static int admin_cmd(const tsarc_sql_client *client, const tsarc_cmd *load, tsarc_cmd *out)
{
	tsarc_cmd_init(out);
	return client->admin_cmd ? client->admin_cmd(load, out) : tsarc_cmd_copy(out, load);
}

/* Runs `sql` (the client's input, one statement) through the client's
 * command for statements about databases, as the load runs. */
static int run_statement(tsarc_restore_ctx *r, const tsarc_sql_client *client,
	tsarc_component *c, const tsarc_cmd *load, const char *sql, const char *what)
{
	tsarc_cmd cmd;
	int rc;

	if (!client->admin_cmd)
		return tsarc_restore_stream_into(r, c, load, NULL, sql, NULL, what);
	if (!(rc = admin_cmd(client, load, &cmd)))
		rc = tsarc_restore_stream_into(r, c, &cmd, NULL, sql, NULL, what);
	tsarc_cmd_free(&cmd);
	return rc;
}

int tsarc_sql_ask(const tsarc_sql_client *client, tsarc_component *c, const tsarc_cmd *load,
	const char *query, size_t max, char **out)
{
	tsarc_cmd cmd;
	const char *const *a;
	int rc;

	*out = NULL;
	/* A question only reads (sqlreads.h): the plan asks through here
	 * alone, and must change nothing. */
	if (!tsarc_sql_reads(query))
		return tsarc_error_set(TSARC_EUNSAFE, "component '%s': a question to the server "
			"that is not one statement that only reads (SELECT, WITH or SHOW) was not asked",
			c->name);
	if (!(rc = admin_cmd(client, load, &cmd))) {
		for (a = client->query_args; *a && !rc; a++)
			rc = tsarc_cmd_arg(&cmd, *a);
		if (!rc && !(rc = tsarc_cmd_arg(&cmd, query)))
			rc = tsarc_db_capture_whole(c, &cmd, max, out);
	}
	tsarc_cmd_free(&cmd);
	return rc;
}

/* Whether the target has database `db` (*exists), asked through the
 * client's command (in the pod in a pod); its answer must be "0" or "1"
 * and nothing else. */
static int database_exists(const tsarc_sql_client *client, tsarc_component *c,
	const tsarc_cmd *load, const char *db, int *exists)
{
	char *query = NULL, *answer = NULL;
	int rc;

	if ((rc = client->count_query(db, &query)) ||
		(rc = tsarc_sql_ask(client, c, load, query, 64, &answer)))
		goto done;
	if (answer && (!strcmp(answer, "0\n") || !strcmp(answer, "1\n")))
		*exists = answer[0] == '1';
	else
		rc = tsarc_error_set(TSARC_ECORRUPT, "unexpected answer of %s to whether the "
			"database exists", client->tool);
done:
	tsarc_secure_free_str(answer);
	free(query);
	return rc;
}

/* Creates the database the load goes into when the target has none,
 * *created 1 when this call created it. Looked up first, then created
 * without "if not exists": a database that appears in between fails the
 * CREATE, so *created is never set for one this restore did not make. */
static int create_database(tsarc_restore_ctx *r, const tsarc_sql_client *client,
	tsarc_step *s, tsarc_component *c, const tsarc_cmd *load, const char *what, int *created)
{
	char *sql = NULL;
	int rc, exists = 1;

	*created = 0;
	if ((rc = client->create_sql(s, &sql)) || !sql)
		goto done;
	if ((rc = database_exists(client, c, load, s->conn.database, &exists))) {
		tsarc_error_prefix("looking up database %s", s->conn.database);
		goto done;
	}
	if (exists)
		goto done;
	if ((rc = run_statement(r, client, c, load, sql, what)))
		tsarc_error_prefix("creating database %s", s->conn.database);
	else
		*created = 1;
done:
	free(sql);
	return rc;
}

/*
 * A database the restore created for its load (create_database said so),
 * dropped again when the load fails, or when a signal ends the process
 * before the load ended: an entry of the cleanup registry, so that the
 * drop may still start a client after the signal (interrupt.h).
 */
typedef struct created_database {
	const tsarc_sql_client *client;
	tsarc_restore_ctx *r;
	tsarc_step *s;
	tsarc_component *c;
	const tsarc_cmd *load;
	const char *what;
	tsarc_cleanup drop;
	char drop_what[300];
} created_database;

/* DROP DATABASE through the client's command, as the CREATE ran. */
static int drop_created(void *arg)
{
	created_database *d = arg;
	const char *db = d->s->conn.database;
	char *sql = NULL;
	int rc;

	if (!(rc = d->client->drop_sql(db, &sql)))
		rc = run_statement(d->r, d->client, d->c, d->load, sql, d->what);
	if (rc)
		tsarc_error_prefix("dropping database %s", db);
	free(sql);
	return rc;
}

/* `name` as the client's SQL quotes it (`q` around it, doubled within),
 * for a statement an operator runs by hand; 0, or -1 (nothing) when it
 * does not fit: a name cut short could name another database. */
static int quoted_name(char q, const char *name, char *out, size_t size)
{
	size_t o = 0;

	out[o++] = q;
	for (; *name; name++) {
		if (o + 4 > size)
			return -1;
		if (*name == q)
			out[o++] = q;
		out[o++] = *name;
	}
	out[o++] = q;
	out[o] = '\0';
	return 0;
}

/* The error of a failed load into `database`, after the database this
 * restore created, if it did, was dropped again: what the target is left
 * with, said as it is. A load in one transaction applied nothing of it;
 * another (mysql) left what it executed, which a drop takes with it. */
static int failed_load(const tsarc_sql_client *client, created_database *d, int created,
	const char *database, int rc)
{
	const char *applied = client->one_transaction ? "the load runs as one transaction: "
		"nothing of it was applied" : NULL;
	tsarc_saved_error load, drop;
	char quoted[2 * 256 + 3];

	if (!created && !applied)
		return rc;
	if (!created)
		return tsarc_error_set(rc, "%s\n(%s, database %s is as it was)",
			tsarc_error_last()->message, applied, database);
	tsarc_error_save(&load);
	if (!tsarc_cleanup_run(&d->drop)) {
		tsarc_error_restore(&load);
		return tsarc_error_set(rc, "%s\n(%s%sdatabase %s, created by this restore, was "
			"dropped again)", tsarc_error_last()->message, applied ? applied : "",
			applied ? "; " : "", database);
	}
	tsarc_error_save(&drop);
	if (quoted_name(client->name_quote, database, quoted, sizeof(quoted)))
		quoted[0] = '\0';
	tsarc_error_restore(&load);
	rc = tsarc_error_set(rc, "%s\n(%s%sdatabase %s, created by this restore, is left "
		"behind, %s: %s)%s%s%s", tsarc_error_last()->message, applied ? applied : "",
		applied ? "; " : "", database, applied ? "empty" : "with what of the load executed",
		tsarc_error_saved_message(&drop),
		quoted[0] ? "\nto remove it once nothing uses it: DROP DATABASE " : "", quoted,
		quoted[0] ? ";" : "");
	tsarc_error_forget(&drop);
	return rc;
}

/* What the stream goes through on its way into the client, in order: the
 * part of the target's database of a whole server's dump (the client's
 * part filter), the client's guard (psql: one database, no \connect;
 * mysql: nothing past the target database), the fit to the server (`fit`,
 * self may be NULL: server_check), mysql's strip filter (`df`, may be
 * NULL: mysqlstrip.h), psql's owner map (`om`, may be NULL: psqlowner.h).
 * Each made here is the caller's to free. */
static int load_filters(const tsarc_sql_client *client, const tsarc_step *s,
	const tsarc_conn *conn, const tsarc_filter *fit, tsarc_mysql_strip *df,
	tsarc_psql_owner *om, tsarc_filter *part, tsarc_filter *guard, tsarc_filter *filters,
	size_t *n)
{
	int rc;

	*n = 0;
	if (whole_server(client, s)) {
		if ((rc = client->part_filter(conn->database, part)))
			return rc;
		filters[(*n)++] = *part;
	}
	if (client->guard) {
		if ((rc = client->guard(conn->database, guard)))
			return rc;
		filters[(*n)++] = *guard;
	}
	if (fit->self)
		filters[(*n)++] = *fit;
	if (df)
		filters[(*n)++] = (tsarc_filter){&tsarc_mysql_strip_ops, df};
	if (om)
		filters[(*n)++] = (tsarc_filter){&tsarc_psql_owner_ops, om};
	return 0;
}

/*
 * A step's client: the component located, the connection resolved before
 * the first write of the restore, the client's command with its TLS files
 * and options, and what goes before the dump (`pre`). The load, and the
 * look-up and drop of the step's database (an undo's), all run through it.
 */
typedef struct sql_session {
	const tsarc_sql_client *client;
	tsarc_component c;
	int have_c;
	tsarc_conn conn;
	tsarc_cmd cmd;
	tsarc_buf pre;
	tsarc_db_tls *tls;
	const char *tool;
	int in_pod;
	char what[300];
} sql_session;

static int session_open(tsarc_restore_ctx *r, tsarc_step *s, sql_session *x)
{
	const char *pod_pw = tsarc_spec_str(s->recipe, "pod_password_env");
	int rc;

	memset(x, 0, sizeof(*x));
	x->client = s->impl->data;
	tsarc_cmd_init(&x->cmd);
	x->pre = (tsarc_buf)TSARC_BUF_INIT;
	if ((rc = tsarc_step_component(r, s, &x->c)))
		return rc;
	x->have_c = 1;
	x->in_pod = tsarc_db_in_workload(&x->c);
	if (!pod_pw)
		pod_pw = tsarc_spec_str(s->spec, "pod_password_env");
	/* The connection resolved before the first write of the restore; the
	 * plan's checks again (tsarc_sql_admit): a load is no place to count
	 * on them. */
	if ((rc = x->c.tr->locate(x->c.tr, &x->c)) || (rc = tsarc_step_conn(s, &x->conn)) ||
		(rc = whole_server_check(s, &x->conn)) || (rc = database_check(s, &x->conn)))
		return rc;
	x->tool = tsarc_spec_str(s->recipe, "tool");
	if (!x->tool)
		x->tool = x->client->tool;
	/* The Secret's CA, certificate and key, in private files for this
	 * client's run only (dbconn.h). */
	if ((rc = x->client->files_open ? x->client->files_open(&x->conn, !x->in_pod, &x->tls) :
			    tsarc_db_tls_open(&x->conn, &x->tls)) ||
		(rc = tsarc_cmd_arg(&x->cmd, x->tool)) ||
		(rc = x->client->args(s, &x->conn, x->in_pod ? pod_pw : NULL, x->in_pod, x->tls,
			 &x->cmd, &x->pre)) ||
		(rc = tsarc_spec_add_args(&x->cmd, s->recipe, "options", s->component)))
		return rc;
	snprintf(x->what, sizeof(x->what), "component '%s': %s%s%s", s->component, x->tool,
		x->in_pod ? " in pod " : "", x->in_pod ? x->c.pod : "");
	return 0;
}

/* Frees what session_open made; returns `rc` (explained for mysql's TLS). */
static int session_close(sql_session *x, int rc)
{
	rc = tsarc_mysql_explain(x->tls, rc);
	if (x->tls && tsarc_db_tls_close(x->tls) && !rc)
		rc = TSARC_EIO;
	x->tls = NULL;
	tsarc_buf_dispose(&x->pre);
	tsarc_cmd_free(&x->cmd);
	tsarc_conn_free(&x->conn);
	if (x->have_c)
		tsarc_component_clear(&x->c);
	x->have_c = 0;
	return rc;
}

/* Whether the target is asked if it takes step `s`'s dump: the client
 * knows what its server takes and the dump records its tool's version. */
static int server_asked(const tsarc_step *s)
{
	const tsarc_sql_client *client = s->impl->data;

	return client->server_takes && s->st && tsarc_spec_str(s->st->meta, "tool_version");
}

/* Whether the target takes the step's dump (client->server_takes), asked
 * through the session's client; the plan's word in `said` (empty: nothing
 * asked), and in `fit` (may be NULL) the filter that fits the dump to the
 * server (client->server_filter; self NULL for none), the caller's to
 * free. *refused tells the server's refusal from a failure to ask. */
static int server_check(const tsarc_step *s, sql_session *x, char *said, size_t size,
	int *refused, tsarc_filter *fit)
{
	char *answer = NULL;
	int rc;

	said[0] = '\0';
	*refused = 0;
	if (fit)
		*fit = (tsarc_filter){NULL, NULL};
	if (!server_asked(s))
		return 0;
	if ((rc = tsarc_sql_ask(x->client, &x->c, &x->cmd, x->client->server_query, 64, &answer)))
		tsarc_error_prefix("component '%s': asking the server's version", s->component);
	else if ((rc = x->client->server_takes(s, answer, said, size)))
		*refused = 1;
	else if (fit && x->client->server_filter)
		rc = x->client->server_filter(s, answer, fit);
	tsarc_secure_free_str(answer);
	return rc;
}

/* The plan reads the head of a dump that `fit` fits to the server
 * (client->server_filter: a newer pg_dump's head, psqlhead.h) through the
 * load's guard and `fit`, as the step will, up to where the head ends:
 * a setting the server cannot take is refused there, before any step
 * writes, not by the step once the steps before it have (the version
 * alone does not say which settings a head holds: a pg_dump newer than
 * tsarc's table may write one it does not know). Only the first chunks
 * are read; the step reads the whole stream again. */
static int plan_head_check(tsarc_restore_ctx *r, const tsarc_step *s, const sql_session *x,
	const tsarc_filter *fit)
{
	tsarc_filter filters[2], guard = {NULL, NULL};
	tsarc_stream_filters chain;
	size_t n = 0;
	int rc;

	if (x->client->guard) {
		if ((rc = x->client->guard(x->conn.database, &guard)))
			return rc;
		filters[n++] = guard;
	}
	filters[n++] = *fit;
	chain = (tsarc_stream_filters){.f = filters, .n = n};
	rc = tsarc_restore_stream_head_check(r, s->st, &chain);
	if (guard.self)
		guard.ops->free(guard.self);
	if (!rc)
		return 0;
	return tsarc_error_set(rc, "component '%s': %s, read by the plan as far as its head: "
		"%s; nothing was written", s->component, s->st->name, tsarc_error_last()->message);
}

/* Whether the plan asks the target what the step's before_load asks:
 * the client does, and the snapshot records what the backup's guard
 * learned of the dump (guard_meta). */
static int before_load_planned(const tsarc_step *s)
{
	const tsarc_sql_client *client = s->impl->data;

	return client->plan_before_load && s->st && client->guard_meta_key &&
		cJSON_GetObjectItemCaseSensitive(s->st->meta, client->guard_meta_key);
}

/*
 * What a client says when the server refuses it, or it the server, for a
 * reason the step would meet too, whatever the time: the login (a wrong
 * password or user, an account the server refuses this host, a password
 * plugin tsarc leaves out over a connection whose server is not verified:
 * dbconn.c) or the TLS the Secret asks for (a certificate no CA given
 * checks, a server without TLS where it is required). A server not reached
 * (down, a network that fails) may be reached when the step runs: that is
 * no refusal.
 */
static const char *const LOGIN_REFUSED[] = {
	"Access denied for user",          /* MySQL, MariaDB: ERROR 1045 */
	"could not be loaded",             /* a plugin left out (tsarc_mysql_explain) */
	"TLS/SSL error",                   /* MariaDB's client: its certificate check */
	"certificate verify failed",       /* OpenSSL's words: MySQL's client, psql */
	"password authentication failed",  /* PostgreSQL */
	"no pg_hba.conf entry",
};

static int login_refused(const char *message)
{
	size_t i;

	for (i = 0; message && i < sizeof(LOGIN_REFUSED) / sizeof(*LOGIN_REFUSED); i++)
		if (strstr(message, LOGIN_REFUSED[i]))
			return 1;
	return 0;
}

/* The plan's first question where the client has no version to ask
 * (server_asked): whether it logs in (before_load's checks clear what
 * they cannot ask, a refused login too). */
static int login_check(sql_session *x)
{
	char *answer = NULL;
	int rc = tsarc_sql_ask(x->client, &x->c, &x->cmd, "SELECT 1", 64, &answer);

	tsarc_secure_free_str(answer);
	return rc;
}

/* The plan asks the target whether it takes the dump, and what the step
 * asks once it has read the stream (before_load_planned), so that a target
 * that would refuse it does so before any step of the restore writes;
 * without a version to ask, first whether the client logs in. It asks
 * through the step's own session: the client on this host, or in a pod
 * the pod's own client through the transport (kubectl exec, the pod found
 * by label first), as 3scale before 2.16 runs system-mysql and
 * system-postgresql; before, a server in its pod was not asked, and a
 * deployment restore had the Secrets restored when its step refused.
 * Every question only reads (tsarc_sql_ask). Its word (s->admitted
 * "server") says what it found, or why it could not ask (a server or a
 * pod not reached): that is no refusal, the step asks again before it
 * writes and fails there with the reason; but a server that refuses the
 * login or the TLS (login_refused) refuses the plan: found by the step
 * alone, the steps before it would already have replaced their targets. */
static int plan_server_check(tsarc_restore_ctx *r, tsarc_step *s)
{
	/* The plan's word: server_check's, else none (a login says nothing). */
	char said[512] = "", note[1024];
	tsarc_filter fit = {NULL, NULL};
	sql_session x;
	int rc, refused = 0, asked = server_asked(s) || before_load_planned(s);

	cJSON_Delete(s->admitted);
	s->admitted = NULL;
	if (!(rc = session_open(r, s, &x)))
		rc = server_asked(s) ? server_check(s, &x, said, sizeof(said), &refused, &fit) :
			login_check(&x);
	if (!rc && fit.self && (rc = plan_head_check(r, s, &x, &fit)))
		refused = 1;
	if (fit.self)
		fit.ops->free(fit.self);
	/* Its checks clear what they could not ask: an error is a refusal. */
	if (!rc && !refused && before_load_planned(s) &&
		(rc = x.client->plan_before_load(s, &x.c, &x.cmd)))
		refused = 1;
	rc = session_close(&x, rc);
	if (rc && !refused && login_refused(tsarc_error_last()->message)) {
		tsarc_error_prefix("component '%s': the plan's login to the target was refused, "
			"and so would the restore's be, after the steps before it had written; "
			"nothing was written", s->component);
		refused = 1;
	}
	if (rc && refused)
		return rc;
	if (rc && !asked) {
		tsarc_error_clear(); /* not reached now: the step decides, as before */
		return 0;
	}
	if (rc) {
		snprintf(note, sizeof(note), "not asked, the restore asks before it writes: %s",
			tsarc_error_last()->message);
		tsarc_error_clear();
		return tsarc_step_admitted_word(s, "server", note);
	}
	return said[0] ? tsarc_step_admitted_word(s, "server", said) : 0;
}

int tsarc_sql_admit(tsarc_restore_ctx *r, tsarc_step *s)
{
	int rc;

	/* A step without its connection fails when it runs, and says why. */
	if (!s->has_conn)
		return 0;
	if ((rc = whole_server_check(s, &s->conn)) || (rc = database_check(s, &s->conn)))
		return rc;
	return plan_server_check(r, s);
}

/* psql's owner map for the target's roles (psqlowner.h), asked through the
 * step's client; *out NULL when the recipe's "owner" is "keep". */
static int owner_map(const tsarc_sql_client *client, const tsarc_step *s, sql_session *x,
	tsarc_psql_owner **out)
{
	char *answer = NULL;
	int map, rc;

	*out = NULL;
	if ((rc = tsarc_owner_map(s->recipe, s->component, &map)) || !map)
		return rc;
	if ((rc = tsarc_sql_ask(client, &x->c, &x->cmd, tsarc_psql_owner_query, OWNER_ANSWER_MAX,
		     &answer)) || (rc = tsarc_psql_owner_new(answer, out)))
		tsarc_error_prefix("component '%s': asking the server which roles it has, for the "
			"owners of the dump's objects (\"owner\": \"keep\" in the component's "
			"\"restore\" loads them as dumped)", s->component);
	tsarc_secure_free_str(answer);
	return rc;
}

int tsarc_sql_restore(tsarc_restore_ctx *r, tsarc_step *s)
{
	const tsarc_sql_client *client = s->impl->data;
	sql_session x;
	tsarc_buf post = TSARC_BUF_INIT;
	int rc, strip = 0;
	tsarc_mysql_strip *df = NULL;
	tsarc_psql_owner *om = NULL;
	tsarc_filter filters[TSARC_FILTERS_MAX], part = {NULL, NULL}, guard = {NULL, NULL};
	tsarc_filter fit = {NULL, NULL};
	tsarc_stream_filters chain;
	size_t nfilters = 0;
	created_database created_db;
	int created = 0, refused;
	char said[512];

	memset(&created_db, 0, sizeof(created_db));
	if ((rc = session_open(r, s, &x)) ||
		(rc = server_check(s, &x, said, sizeof(said), &refused, &fit)))
		goto done;
	/* A DEFINER of another user needs SUPER, which a managed MySQL never
	 * gives: removed on the way, unless the recipe says "keep". The SET of
	 * SQL_LOG_BIN and GTID_PURGED of MySQL 8's mysqldump always is. */
	if (client->mysql_strip && ((rc = tsarc_definer_strip(s->recipe, s->component, &strip)) ||
		    (rc = tsarc_mysql_strip_new(&df, TSARC_STRIP_BINLOG |
			     (strip ? TSARC_STRIP_DEFINERS : 0)))))
		goto done;
	/* An owner the target lacks stops psql at its ALTER ... OWNER TO: given
	 * to the restoring role, unless the recipe says "keep". */
	if (client->pg_owner_map && (rc = owner_map(client, s, &x, &om)))
		goto done;
	if ((rc = load_filters(client, s, &x.conn, &fit, df, om, &part, &guard, filters,
		     &nfilters)))
		goto done;
	/* The domain rewrite runs in the same session, after the load: only a
	 * complete load is rewritten, and a failed rewrite fails the step. */
	if ((rc = tsarc_rewrite_domain_sql(cJSON_GetObjectItemCaseSensitive(s->recipe,
		     "domain_columns"), s->component, r->o->rewrite_old, r->o->rewrite_new, &post)))
		goto done;
	if (x.pre.size)
		tsarc_buf_append(&x.pre, "", 1);
	if (post.size)
		tsarc_buf_append(&post, "", 1);
	/* The SQL sent before and after the dump: whole, or not at all. */
	if ((rc = tsarc_buf_status(&x.pre)) || (rc = tsarc_buf_status(&post)))
		goto done;
	/* mysql applies as it reads: its stream is read whole first, before
	 * the database is created or anything else is written. */
	chain = (tsarc_stream_filters){.f = filters, .n = nfilters};
	if (!client->one_transaction && s->st &&
		((rc = tsarc_restore_stream_check(r, s->st, &chain)) ||
			(client->before_load && guard.self &&
				(rc = client->before_load(s, &x.c, &x.cmd, &guard)))))
		goto done;
	if (x.conn.database && client->create_sql &&
		(rc = create_database(r, client, s, &x.c, &x.cmd, x.what, &created)))
		goto done;
	if (created) {
		created_db = (created_database){.client = client, .r = r, .s = s, .c = &x.c,
			.load = &x.cmd, .what = x.what};
		snprintf(created_db.drop_what, sizeof(created_db.drop_what), "component '%s': "
			"database %s, created by this restore", s->component, x.conn.database);
		tsarc_cleanup_add(&created_db.drop, drop_created, &created_db,
			created_db.drop_what);
	}
	rc = tsarc_restore_stream_filtered(r, &x.c, &x.cmd, s->st,
		x.pre.size ? (char *)x.pre.ptr : NULL, post.size ? (char *)post.ptr : NULL, x.what,
		&chain);
	if (!rc) {
		/* An undo removes it again (tsarc_sql_undo_remove). */
		s->created = created;
		if (part.self)
			tsarc_step_note(s, "the part of database %s of a whole server's dump (%llu "
				"bytes) into %s", x.conn.database, (unsigned long long)s->st->size,
				x.tool);
		else
			tsarc_step_note(s, "%llu bytes into %s%s%s%s", (unsigned long long)s->st->size,
				x.tool, x.conn.database ? " (database " : "",
				x.conn.database ? x.conn.database : "", x.conn.database ? ")" : "");
		if (post.size || df || om || fit.self) {
			s->detail = cJSON_CreateObject();
			if (post.size)
				cJSON_AddStringToObject(s->detail, "domain_rewrite", (char *)post.ptr);
			if (df && strip)
				cJSON_AddNumberToObject(s->detail, "definers_removed",
					(double)tsarc_mysql_strip_definers(df));
			if (df)
				cJSON_AddNumberToObject(s->detail, "binlog_statements_removed",
					(double)tsarc_mysql_strip_statements(df));
			if (om && s->detail)
				tsarc_psql_owner_report(om, s->detail);
			if (fit.self && s->detail && client->server_filter_report)
				client->server_filter_report(&fit, s->detail);
			/* The owner map or fit that changed nothing says nothing. */
			if (s->detail && !s->detail->child) {
				cJSON_Delete(s->detail);
				s->detail = NULL;
			}
		}
	} else if (x.conn.database)
		rc = failed_load(client, &created_db, created, x.conn.database, rc);
	/* Loaded, it stays; failed, the drop above ran it (and unregistered it). */
	tsarc_cleanup_remove(&created_db.drop);
done:
	rc = session_close(&x, rc);
	tsarc_mysql_strip_free(df);
	tsarc_psql_owner_free(om);
	if (guard.self)
		guard.ops->free(guard.self);
	if (fit.self)
		fit.ops->free(fit.self);
	if (part.self)
		part.ops->free(part.self);
	tsarc_buf_dispose(&post);
	return rc;
}

int tsarc_sql_undo_absent(tsarc_restore_ctx *r, tsarc_step *s, char **what)
{
	const tsarc_sql_client *client = s->impl->data;
	sql_session x;
	char *sql = NULL;
	int rc, exists = 1;

	*what = NULL;
	if (!client->create_sql)
		return 0;
	if (!(rc = session_open(r, s, &x)) && x.conn.database &&
		!(rc = client->create_sql(s, &sql)) && sql &&
		!(rc = database_exists(client, &x.c, &x.cmd, x.conn.database, &exists)) && !exists)
		rc = tsarc_asprintf(what, "database %s", x.conn.database);
	if (rc)
		tsarc_error_prefix("component '%s': looking up its database before the restore",
			s->component);
	free(sql);
	return session_close(&x, rc);
}

int tsarc_sql_undo_remove(tsarc_restore_ctx *r, tsarc_step *s)
{
	created_database d;
	sql_session x;
	int rc;

	if (!s->created)
		return 0;
	if (!(rc = session_open(r, s, &x))) {
		d = (created_database){.client = x.client, .r = r, .s = s, .c = &x.c,
			.load = &x.cmd, .what = x.what};
		if (!(rc = drop_created(&d)))
			s->created = 0;
	}
	return session_close(&x, rc);
}
