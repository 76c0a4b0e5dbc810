/*
 * The redis kind. Its "mode": "rdb" (the RDB the server streams to a
 * replica), "logical" (SCAN/DUMP into a RESP stream of RESTOREs, what an
 * ACL user of a managed Redis can do) or "auto" (the default: the RDB
 * where SYNC is allowed, else logical). On this host (external, or the
 * local transport) both run in our own client (client.c: TLS from the
 * Secret's PEM text, ACL user, Sentinel); the stream's metadata records
 * which path was taken ("redis_mode"). In a pod the RDB comes from the
 * pod's redis-cli --rdb, the password from the pod's own variable. Either
 * way an RDB's metadata records what its source held in memory
 * ("redis_used_memory_dataset", "redis_keys"), for the swap's check.
 * The restore (restore.c, swap.c) picks the path the target allows.
 *
 * The metadata also records the database the component's URL names
 * ("redis_url_db": system-redis's .../1): a whole-server stream does not
 * say which of its databases the deployment used, and a restore into a
 * target whose URL names another database (a managed Redis with database
 * 0 only) maps that one there (logical.h tsarc_redis_dbmap).
 */
#include "redis.h"
#include "rdb.h"
#include "secrets.h"
#include "dbconn.h"
#include "fileio.h"
#include "wipe.h"
#include "log.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const REDIS_FIELDS[] = {TSARC_DB_COMMON_KEYS, "tls", "mode", "socket",
	"replica_wait", "lazyfree_wait", NULL};

int tsarc_redis_spec_tls(const cJSON *spec)
{
	const cJSON *tls = cJSON_GetObjectItemCaseSensitive(spec, "tls");

	if (cJSON_IsBool(tls))
		return cJSON_IsTrue(tls);
	if (cJSON_IsString(tls) && !strcmp(tls->valuestring, "verify-ca"))
		return TSARC_REDIS_TLS_CHAIN_ONLY;
	return -1;
}

/* A field of whole seconds, 0 to 86400, when present; `what` says what
 * it is for in the error. */
static int seconds_field(const cJSON *spec, const char *name, const char *field,
	const char *what)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, field);

	if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 86400 ||
		v->valuedouble != (double)(int)v->valuedouble))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': \"%s\" is a whole number of "
			"seconds, 0 to 86400 (%s)", name, field, what);
	return 0;
}

int tsarc_redis_spec_seconds(const cJSON *spec, const char *field, int dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, field);

	return cJSON_IsNumber(v) ? (int)v->valuedouble : dflt;
}

static int redis_validate(const cJSON *spec, const char *name)
{
	const char *mode = tsarc_spec_str(spec, "mode");
	const cJSON *tls = cJSON_GetObjectItemCaseSensitive(spec, "tls");
	int rc;

	if (tls && tsarc_redis_spec_tls(spec) < 0)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': \"tls\" is true, false or "
			"\"verify-ca\" (redis-cli on this host: the certificate's chain checked, not its "
			"host name)", name);

	if ((rc = seconds_field(spec, name, "replica_wait", "how long a backup waits for a "
		"replica to catch up with its master")) ||
		(rc = seconds_field(spec, name, "lazyfree_wait", "how long a restore waits for the "
		"target's background frees once it is emptied")))
		return rc;
	if (cJSON_GetObjectItemCaseSensitive(spec, "mode") &&
		(!mode || (strcmp(mode, "rdb") && strcmp(mode, "logical") && strcmp(mode, "auto"))))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': \"mode\" is \"rdb\", "
			"\"logical\" or \"auto\"", name);
	/* Known when the configuration loads: found once the backup ran,
	 * after the other components, its error told an external component
	 * to be made external. */
	if (mode && !strcmp(mode, "logical") && (tsarc_spec_str(spec, "tool") ||
		cJSON_GetObjectItemCaseSensitive(spec, "options")))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': \"mode\": \"logical\" is "
			"tsarc's own client, and \"tool\" and \"options\" ask for redis-cli, which "
			"reads the RDB only (--rdb): remove them, or the mode", name);
	return 0;
}

const char *tsarc_redis_mode(const cJSON *spec)
{
	const char *m = tsarc_spec_str(spec, "mode");
	return m ? m : "auto";
}

/* The Secret's user and password (as the client reads them) into the
 * conn redis-cli logs in with, where the Secret gives them. */
static int take_login(const tsarc_redis_conf *conf, tsarc_conn *conn)
{
	char *user = NULL, *pw = NULL;

	if ((conf->user && !(user = strdup(conf->user))) ||
		(conf->password && !(pw = strdup(conf->password)))) {
		free(user);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	if (user) {
		free(conn->user);
		conn->user = user;
	}
	if (pw) {
		tsarc_secure_free_str(conn->password);
		conn->password = pw;
		conn->has_password = 1;
	}
	return 0;
}

int tsarc_redis_cli_open(const tsarc_component *c, const cJSON *doc, tsarc_conn *conn,
	int in_pod, tsarc_redis_cli_tls *out)
{
	int spec_tls = tsarc_redis_spec_tls(c->spec), rc = 0;
	tsarc_redis_conf conf;
	tsarc_conn pem;

	memset(out, 0, sizeof(*out));
	/* The Secret's word (rediss://, CONFIG_*_SSL, a client certificate)
	 * and its PEM text, read as tsarc's own client reads them. */
	if (doc && (rc = tsarc_redis_component_conf(c, doc, NULL, &conf)))
		return rc;
	if (!doc)
		memset(&conf, 0, sizeof(conf));
	if (doc && (rc = take_login(&conf, conn)))
		goto done;
	/* TLS where the configuration says so, else where the Secret does:
	 * without --tls, redis-cli would send the password in clear to the
	 * TLS port. */
	out->on = spec_tls >= 0 ? spec_tls != 0 : conf.opts.tls ||
		tsarc_conn_tls_mode(conn) >= TSARC_TLS_REQUIRE;
	/* In a pod redis-cli talks to the pod's own server, with the pod's
	 * files: this host's private files are not there. */
	if (!out->on || in_pod)
		goto done;
	/* redis-cli (hiredis) checks the certificate's chain, never its host
	 * name: any certificate the CA signed for another name passes (with
	 * the system's CAs, any public one). Not used unless the
	 * configuration accepts the chain alone. */
	if (spec_tls != TSARC_REDIS_TLS_CHAIN_ONLY) {
		rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': redis-cli does not check the "
			"server certificate's host name, only its chain, so its TLS connection to %s "
			"cannot be verified: leave out \"tool\" and \"options\" (tsarc's own client "
			"checks both), or set \"tls\": \"verify-ca\" to accept the chain check alone",
			c->name, conn->host ? conn->host : conf.host ? conf.host : "the server");
		goto done;
	}
	/* The Secret's CA, certificate and key in private files (dbconn.h),
	 * their paths on redis-cli's command line. */
	memset(&pem, 0, sizeof(pem));
	pem.ssl_ca = conf.ca;
	pem.ssl_cert = conf.cert;
	pem.ssl_key = conf.key;
	rc = tsarc_db_tls_open(&pem, &out->files);
done:
	if (doc)
		tsarc_redis_conf_free(&conf);
	return rc;
}

int tsarc_redis_cli_tls_close(tsarc_redis_cli_tls *t)
{
	int rc = tsarc_db_tls_close(t->files);

	t->files = NULL;
	return rc;
}

int tsarc_redis_cli_args(tsarc_cmd *cmd, const tsarc_component *c, const tsarc_conn *conn,
	int with_host, const tsarc_redis_cli_tls *tls)
{
	static const char *const FILE_OPT[TSARC_DB_TLS_FILES] = {"--cacert", "--cert", "--key"};
	const char *var = tsarc_spec_str(c->spec, "pod_password_env");
	int rc, i;

	/* A unix socket names the server alone (redis-cli's -s; host and port
	 * would be its defaults, 127.0.0.1:6379: another server, or none). */
	if (with_host && conn->socket) {
		if ((rc = tsarc_cmd_arg(cmd, "-s")) || (rc = tsarc_cmd_arg(cmd, conn->socket)))
			return rc;
	} else {
		if (with_host && conn->host && ((rc = tsarc_cmd_arg(cmd, "-h")) ||
			(rc = tsarc_cmd_arg(cmd, conn->host))))
			return rc;
		if (conn->port && ((rc = tsarc_cmd_arg(cmd, "-p")) ||
			(rc = tsarc_cmd_argf(cmd, "%d", conn->port))))
			return rc;
	}
	if (conn->user && ((rc = tsarc_cmd_arg(cmd, "--user")) ||
		(rc = tsarc_cmd_arg(cmd, conn->user))))
		return rc;
	if (tls->on && (rc = tsarc_cmd_arg(cmd, "--tls")))
		return rc;
	for (i = 0; tls->files && i < TSARC_DB_TLS_FILES; i++)
		if (tls->files->path[i] && ((rc = tsarc_cmd_arg(cmd, FILE_OPT[i])) ||
			(rc = tsarc_cmd_arg(cmd, tls->files->path[i]))))
			return rc;
	if ((rc = tsarc_spec_add_args(cmd, c->spec, "options", c->name)))
		return rc;
	if (conn->has_password && (rc = tsarc_cmd_env(cmd, "REDISCLI_AUTH", conn->password)))
		return rc;
	if (var && tsarc_db_in_workload(c) && (rc = tsarc_cmd_pod_env(cmd, "REDISCLI_AUTH", var)))
		return rc;
	/* redis-cli sends AUTH only with a password: given --user alone it
	 * stays the default user. An empty one makes it AUTH user "" (a
	 * nopass user takes it, any other refuses), as our own client does. */
	if (!conn->has_password && !(var && tsarc_db_in_workload(c)) && conn->user &&
		*conn->user && strcmp(conn->user, "default") &&
		(rc = tsarc_cmd_env(cmd, "REDISCLI_AUTH", "")))
		return rc;
	return 0;
}

/* redis-cli `a1` `a2` as the dump runs it (tool, address, TLS files,
 * password), through the transport; its output into *out. */
static int cli_capture(const tsarc_component *c, const char *tool, const tsarc_conn *conn,
	int with_host, const tsarc_redis_cli_tls *tls, const char *a1, const char *a2, char **out)
{
	tsarc_cmd cmd;
	int rc;

	*out = NULL;
	tsarc_cmd_init(&cmd);
	if (!(rc = tsarc_cmd_arg(&cmd, tool ? tool : "redis-cli")) &&
		!(rc = tsarc_redis_cli_args(&cmd, c, conn, with_host, tls)) &&
		!(rc = tsarc_cmd_arg(&cmd, a1)) && !(rc = tsarc_cmd_arg(&cmd, a2)))
		rc = c->tr->capture(c->tr, c, &cmd, TSARC_CAPTURE_MAX, out);
	tsarc_cmd_free(&cmd);
	return rc;
}

int tsarc_redis_cli_error_reply(const char *out)
{
	size_t n = strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");

	return n && out[n] == ' ';
}

/* tsarc_redis_cli_require_whole's way of asking (tsarc_redis_whole_asked):
 * redis-cli as cli_capture runs it; `failed`, a failure to run it, whose
 * error names the component already. */
typedef struct cli_asker {
	const tsarc_component *c;
	const char *tool;
	const tsarc_conn *conn;
	int with_host;
	const tsarc_redis_cli_tls *tls;
	int failed;
} cli_asker;

static int ask_cli(void *arg, const char *a1, const char *a2, tsarc_redis_answer *out)
{
	cli_asker *a = arg;

	a->failed = cli_capture(a->c, a->tool, a->conn, a->with_host, a->tls, a1, a2, &out->text);
	out->error = !a->failed && out->text && tsarc_redis_cli_error_reply(out->text);
	return a->failed;
}

int tsarc_redis_cli_require_whole(const tsarc_component *c, const char *tool,
	const tsarc_conn *conn, int with_host, const tsarc_redis_cli_tls *tls)
{
	cli_asker a = {c, tool, conn, with_host, tls, 0};
	char where[600];
	int rc;

	if (conn->socket)
		snprintf(where, sizeof(where), "%s (redis-cli)", conn->socket);
	else
		snprintf(where, sizeof(where), "%s:%d (redis-cli)", conn->host ? conn->host :
			"127.0.0.1", conn->port ? conn->port : 6379);
	if ((rc = tsarc_redis_whole_asked(where, ask_cli, &a)) && !a.failed)
		tsarc_error_prefix("component '%s'", c->name);
	return rc;
}

int tsarc_redis_component_conf(const tsarc_component *c, const cJSON *secret_doc,
	const char *url, tsarc_redis_conf *conf)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(c->spec, "url_secret");
	const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");
	int tls = tsarc_redis_spec_tls(c->spec);
	tsarc_conn fields;
	int rc;

	/* A URL alone (a snapshot's copy of the Secret): its address only. */
	if (!secret_doc && url) {
		cJSON *doc = cJSON_CreateObject(), *sd = cJSON_AddObjectToObject(doc, "stringData");
		key = key ? key : "URL";
		if (!doc || !sd || !cJSON_AddStringToObject(sd, key, url)) {
			tsarc_secret_doc_free(doc);
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		}
		rc = tsarc_redis_conf_from_secret(conf, doc, secret ? secret : "(snapshot)", key);
		tsarc_secret_doc_free(doc);
	} else {
		rc = tsarc_redis_conf_from_secret(conf, secret_doc, secret, key);
	}
	if (rc) {
		tsarc_error_prefix("component '%s'", c->name);
		return rc;
	}
	/* The configuration's fields over the Secret's. */
	if ((rc = tsarc_conn_from_url(c, NULL, &fields)) == 0) {
		rc = tsarc_redis_conf_override(conf, fields.host, fields.port, fields.socket,
			fields.user, fields.has_password ? fields.password : NULL,
			tls < 0 ? -1 : tls != 0);
		tsarc_conn_free(&fields);
	}
	if (rc)
		tsarc_redis_conf_free(conf);
	return rc;
}

/* "redis_url_db" into the stream's metadata: the database the URL of the
 * component's Secret names; and "redis_queues_db", the database of the
 * URL under the url_secret's "queues_key" (backend-redis's
 * REDIS_QUEUES_URL) where it names the same server. `doc`: the Secret
 * when already read; NULL: read here when the component names one (an
 * in-pod Redis: its Secret still says where 3scale keeps its keys).
 * Recorded only when known: no Secret, no URL or a path that is no
 * database number leaves it out, and the backup goes on as before (a
 * restore then keeps the numbers, and says why). */
static int record_url_db(const tsarc_component *c, const cJSON *doc, cJSON *meta)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(c->spec, "url_secret");
	const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");
	cJSON *own = NULL;
	char *url = NULL;
	tsarc_url u;
	int db = -1, qdb = -1, elsewhere;

	if (!secret || !key)
		return 0;
	if (!doc && c->resources && !c->resources->get(c->resources, "secret", secret, &own))
		doc = own;
	if (doc && !tsarc_secret_doc_value(doc, secret, key, &url) && !tsarc_url_parse(url, &u)) {
		tsarc_redis_url_path_db(u.path, &db);
		tsarc_url_free(&u);
	}
	tsarc_secure_free_str(url);
	/* backend-redis's queues, where they share the server: their
	 * database is in this stream too. */
	if (db >= 0 && tsarc_redis_queues_db(doc, secret, key, tsarc_spec_str(ref, "queues_key"),
			       &qdb, &elsewhere))
		qdb = -1;
	tsarc_secret_doc_free(own);
	tsarc_error_clear();
	if ((db >= 0 && !cJSON_AddNumberToObject(meta, "redis_url_db", db)) ||
		(qdb >= 0 && !cJSON_AddNumberToObject(meta, "redis_queues_db", qdb)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return 0;
}

/* An RDB's source as it was in memory (memory.c), into the stream's
 * metadata when known: its keys and data set, the need the swap's check of
 * the target's maxmemory compares (restore.c tsarc_redis_rdb_need), which
 * has only the RDB's size otherwise, a low estimate. */
static void record_rdb_memory(cJSON *meta, const tsarc_redis_memory *mem)
{
	if (!mem->known)
		return;
	cJSON_AddNumberToObject(meta, "redis_keys", (double)mem->keys);
	cJSON_AddNumberToObject(meta, "redis_used_memory_dataset", (double)mem->dataset);
}

/* ---- the backup on this host ---- */

typedef struct dump_ctx {
	tsarc_redis_conf conf;
	const char *mode;       /* as configured */
	const char *taken;      /* "rdb" or "logical", once decided */
	const char *why;
	unsigned long long rdb_bytes;
	tsarc_redis_stats st;
	char where[600];
	char read_from[300];    /* "replica host:port" / "master host:port" */
	char server_id[64];     /* the server read (tsarc_redis_server_id), or "" */
	char dataset_id[64];    /* its data set (tsarc_redis_dataset_id), or "" */
	tsarc_redis_memory mem; /* the logical dump's source, before it (memory.c) */
	int payload_version;    /* the RDB's version (its header), or 0 */
	int wait_ms;            /* for a replica to catch up ("replica_wait") */
	tsarc_redis_read_note note; /* what the choice of the server found */
} dump_ctx;

static int out_fd(void *ctx, const void *data, size_t len)
{
	return tsarc_write_all(*(int *)ctx, data, len) ?
		tsarc_error_set(TSARC_EIO, "writing the Redis stream") : 0;
}

/* The SYNC's RDB into the stream, its header kept for its version. */
typedef struct rdb_out {
	int fd;
	unsigned char head[9];
	size_t nhead;
} rdb_out;

static int rdb_out_fd(void *ctx, const void *data, size_t len)
{
	rdb_out *o = ctx;
	size_t n = sizeof(o->head) - o->nhead;

	if (n > len)
		n = len;
	memcpy(o->head + o->nhead, data, n);
	o->nhead += n;
	return out_fd(&o->fd, data, len);
}

static int dump_writer(int fd, void *arg, const atomic_int *stop, char *err, size_t errsz)
{
	dump_ctx *d = arg;
	tsarc_redis *r = NULL;
	char role[32];
	int rc, refused = 0;

	/* Reads only: a replica where the Secret's Sentinel role says so,
	 * one caught up with its master (else another, or the master). */
	if ((rc = tsarc_redis_conf_connect_read(&d->conf, d->wait_ms, stop, &r, &d->note)) ||
		(rc = tsarc_redis_require_whole(r)) || (rc = tsarc_redis_role(r, role, sizeof(role))) ||
		(rc = tsarc_redis_server_id(r, d->server_id, sizeof(d->server_id))) ||
		(rc = tsarc_redis_dataset_id(r, d->dataset_id, sizeof(d->dataset_id))))
		goto done;
	snprintf(d->read_from, sizeof(d->read_from), "%s%s%s", !strcmp(role, "slave") ?
		"replica" : role, *role ? " " : "", tsarc_redis_where(r));
	if (d->note.passed[0])
		tsarc__log(TSARC_LOG_WARN, "redis", "replica_passed_over", "reading %s: %s",
			d->read_from, d->note.passed);
	/* What the data set takes in memory, for the restore's check of the
	 * target's maxmemory (memory.c): read before the dump, whose own
	 * replies would count in the server's buffers, not its data; for an
	 * RDB too (the swap has only its size otherwise, a low estimate). */
	if ((rc = tsarc_redis_memory_read(r, &d->mem)))
		goto done;
	if (strcmp(d->mode, "logical")) {
		rdb_out o = {fd, {0}, 0};
		rc = tsarc_redis_sync_rdb(r, rdb_out_fd, &o, stop, &refused, &d->rdb_bytes);
		if (!rc) {
			d->taken = "rdb";
			d->payload_version = tsarc_redis_rdb_version(o.head, o.nhead);
			goto done;
		}
		if (!refused || !strcmp(d->mode, "rdb"))
			goto done;
		/* auto: SYNC refused before anything was written. */
		d->why = "SYNC refused";
		tsarc_error_clear();
	}
	if (!(rc = tsarc_redis_logical_dump(r, out_fd, &fd, stop, &d->st))) {
		d->taken = "logical";
		d->payload_version = d->st.payload_version;
	}
done:
	if (rc)
		snprintf(err, errsz, "%s", tsarc_error_last()->message);
	tsarc_redis_close(r);
	return rc;
}

static cJSON *dump_meta(void *arg)
{
	dump_ctx *d = arg;
	cJSON *m = cJSON_CreateObject(), *dbs, *rep;
	int db;

	if (!m || !d->taken)
		return m;
	cJSON_AddStringToObject(m, "redis_mode", d->taken);
	cJSON_AddStringToObject(m, "redis_read_from", d->read_from);
	/* A replica: how far it had caught up; the replicas passed over. */
	if (d->note.check[0])
		cJSON_AddStringToObject(m, "redis_replica_check", d->note.check);
	if (d->note.passed[0])
		cJSON_AddStringToObject(m, "redis_read_reason", d->note.passed);
	/* The same in the backup's report: a nightly job's log says which
	 * server was read, and why not another. */
	if ((rep = cJSON_AddObjectToObject(m, "report"))) {
		cJSON_AddStringToObject(rep, "redis_read_from", d->read_from);
		if (d->note.check[0])
			cJSON_AddStringToObject(rep, "redis_replica_check", d->note.check);
		if (d->note.passed[0])
			cJSON_AddStringToObject(rep, "redis_read_reason", d->note.passed);
	}
	/* Which running server this was, and which data set: a restore
	 * knows by them that two streams came from one server, whatever
	 * address each used, or from replicas of one primary. */
	if (d->server_id[0])
		cJSON_AddStringToObject(m, "server_id", d->server_id);
	if (d->dataset_id[0])
		cJSON_AddStringToObject(m, "dataset_id", d->dataset_id);
	cJSON_AddStringToObject(m, "redis_format", !strcmp(d->taken, "rdb") ? "rdb" :
		"resp: SELECT / RESTORE key expiry payload REPLACE ABSTTL (redis-cli --pipe)");
	if (d->why)
		cJSON_AddStringToObject(m, "redis_mode_reason", d->why);
	/* What a restore's target must take: a Redis 7.0 refuses a Valkey 8's
	 * RDB and payloads (11), and the plan asks the target before any step
	 * writes (restore.c admit_load_access). */
	if (d->payload_version > 0)
		cJSON_AddNumberToObject(m, "redis_payload_version", d->payload_version);
	if (!strcmp(d->taken, "rdb"))
		record_rdb_memory(m, &d->mem);
	if (!strcmp(d->taken, "logical")) {
		cJSON_AddNumberToObject(m, "redis_keys", (double)d->st.keys);
		/* How far its payloads can be rewritten for an older server
		 * (payload.h): the plan of a restore into one tells by it
		 * whether they all can, before any step writes. */
		if (d->st.payload_floor > 0)
			cJSON_AddNumberToObject(m, "redis_payload_floor", d->st.payload_floor);
		if (d->mem.known)
			cJSON_AddNumberToObject(m, "redis_used_memory_dataset",
				(double)d->mem.dataset);
		cJSON_AddNumberToObject(m, "redis_vanished_during_scan", (double)d->st.vanished);
		cJSON_AddStringToObject(m, "redis_functions", d->st.functions > 0 ? "saved" :
			d->st.functions == 0 ? "none" : "not readable");
		if ((dbs = cJSON_AddObjectToObject(m, "redis_db_keys")))
			for (db = 0; db < d->st.ndb; db++)
				if (d->st.db_keys[db]) {
					char n[16];
					snprintf(n, sizeof(n), "%d", db);
					cJSON_AddNumberToObject(dbs, n, (double)d->st.db_keys[db]);
				}
	}
	return m;
}

static void dump_free(void *arg)
{
	dump_ctx *d = arg;

	tsarc_redis_conf_free(&d->conf);
	tsarc_redis_stats_free(&d->st);
	free(d);
}

static int native_dump(tsarc_component *c, tsarc_production *out)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(c->spec, "url_secret");
	const char *secret = tsarc_spec_str(ref, "secret");
	dump_ctx *d = calloc(1, sizeof(*d));
	cJSON *doc = NULL;
	int rc = 0;

	if (!d)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	d->mode = tsarc_redis_mode(c->spec);
	d->wait_ms = tsarc_redis_spec_seconds(c->spec, "replica_wait", TSARC_REDIS_REPLICA_WAIT_S) *
		1000;
	if (c->external) {
		if (!secret || !tsarc_spec_str(ref, "key")) {
			free(d);
			return tsarc_error_set(TSARC_ECONFIG, "component '%s' is external but has no "
				"url_secret {\"secret\": ..., \"key\": ...}", c->name);
		}
		if ((rc = c->resources->get(c->resources, "secret", secret, &doc))) {
			free(d);
			tsarc_error_prefix("reading Secret %s", secret);
			return rc;
		}
	}
	rc = tsarc_redis_component_conf(c, doc, NULL, &d->conf);
	if (rc) {
		tsarc_secret_doc_free(doc);
		free(d);
		return rc;
	}
	tsarc_redis_conf_describe(&d->conf, d->where, sizeof(d->where));
	out->writer = dump_writer;
	out->writer_ctx = d;
	out->writer_ctx_free = dump_free;
	out->writer_meta = dump_meta;
	out->version_text = "tsarc Redis client (RESP2)";
	if (!(out->meta = cJSON_CreateObject()) ||
		!cJSON_AddStringToObject(out->meta, "redis_endpoint", d->where) ||
		!cJSON_AddStringToObject(out->meta, "redis_mode_configured", d->mode) ||
		!cJSON_AddBoolToObject(out->meta, "external", c->external)) {
		tsarc_secret_doc_free(doc);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	rc = record_url_db(c, doc, out->meta);
	tsarc_secret_doc_free(doc);
	if (rc)
		return rc;
	if (d->conf.opts.host)
		cJSON_AddStringToObject(out->meta, "db_host", d->conf.opts.host);
	if (d->conf.opts.port)
		cJSON_AddNumberToObject(out->meta, "db_port", d->conf.opts.port);
	if (d->conf.opts.socket)
		cJSON_AddStringToObject(out->meta, "db_socket", d->conf.opts.socket);
	return 0;
}

/* ---- the backup in a pod: redis-cli --rdb there ---- */

/* What the source holds in memory, asked by redis-cli as the dump's (the
 * same tool, address, TLS files and password, through the transport)
 * before the dump, as tsarc's own client asks it: compressed values take
 * many times their RDB's size. A user refused INFO, or a server that
 * does not say, leaves it unknown, and nothing is recorded. */
static void cli_memory(const tsarc_component *c, const char *tool, const tsarc_conn *conn,
	const tsarc_redis_cli_tls *tls, tsarc_redis_memory *m)
{
	char *mem = NULL, *ks = NULL;

	memset(m, 0, sizeof(*m));
	if (!cli_capture(c, tool, conn, 1, tls, "INFO", "memory", &mem) &&
		!cli_capture(c, tool, conn, 1, tls, "INFO", "keyspace", &ks))
		tsarc_redis_memory_parse(m, mem, ks);
	tsarc_error_clear();
	free(mem);
	free(ks);
}

static int pod_dump(tsarc_component *c, tsarc_production *out)
{
	const char *tool = tsarc_spec_str(c->spec, "tool");
	tsarc_redis_memory mem;
	tsarc_redis_cli_tls tls;
	tsarc_conn conn;
	cJSON *doc = NULL;
	int rc;

	if (!strcmp(tsarc_redis_mode(c->spec), "logical"))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': \"mode\": \"logical\" runs on "
			"this host: make it \"external\": true (the URL in its Secret) or give host and "
			"port this host reaches", c->name);
	if (!tool)
		tool = "redis-cli";
	/* The Secret is read once: the address and its TLS (redis-cli's
	 * files). */
	if ((rc = tsarc_conn_resolve_doc(c, &conn, &doc)))
		return rc;
	/* The private files are removed once redis-cli has exited (run.c). */
	rc = tsarc_redis_cli_open(c, doc, &conn, tsarc_db_in_workload(c) && !c->external, &tls);
	if (rc)
		goto done;
	out->tls = tls.files;
	/* On this host (an external Redis, a "tool" or "options"), the node of
	 * a cluster of several shards refused before its RDB is read; in its
	 * pod it is the deployment's own Redis, one server. */
	if (!(tsarc_db_in_workload(c) && !c->external) &&
		(rc = tsarc_redis_cli_require_whole(c, tool, &conn, 1, &tls)))
		goto done;
	cli_memory(c, tool, &conn, &tls, &mem);
	/* The RDB the server streams to a replica: a consistent fork-time
	 * snapshot of every db, without touching the server's own dump.rdb
	 * (which may be stale, or switched off with persistence). */
	if ((rc = tsarc_cmd_arg(&out->cmd, tool)))
		goto done;
	if ((rc = tsarc_redis_cli_args(&out->cmd, c, &conn, 1, &tls)) ||
		(rc = tsarc_cmd_arg(&out->cmd, "--rdb")) || (rc = tsarc_cmd_arg(&out->cmd, "-")))
		goto done;
	if ((rc = tsarc_db_version_cmd(out, tool, "--version")) ||
		(rc = tsarc_redis_rdb_head_intake(out)))
		goto done;
	if (!(out->meta = tsarc_db_meta(c, &conn)) ||
		!cJSON_AddStringToObject(out->meta, "redis_mode", "rdb"))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!rc) {
		record_rdb_memory(out->meta, &mem);
		rc = record_url_db(c, doc, out->meta);
	}
done:
	tsarc_secret_doc_free(doc);
	tsarc_conn_free(&conn);
	return rc;
}

static int redis_prepare(tsarc_component *c, tsarc_production *out)
{
	/* A "tool" or "options" asks for redis-cli; a pod has no client of ours. */
	if (tsarc_db_in_workload(c) && !c->external)
		return pod_dump(c, out);
	if (tsarc_spec_str(c->spec, "tool") || cJSON_GetObjectItemCaseSensitive(c->spec, "options"))
		return pod_dump(c, out);
	return native_dump(c, out);
}

const tsarc_kind tsarc_kind_redis = {
	.name = "redis", .extension = ".rdb", .runs_in_pod = 1, .default_port = 6379,
	.action = "redis-rdb", .action_for_any_kind = 1, .target = TSARC_TARGET_SERVER,
	.wants_secret_doc = 1, .fields = REDIS_FIELDS, .validate = redis_validate,
	.dump = redis_prepare, .describe = tsarc_redis_describe, .admit = tsarc_redis_admit,
	.restore = tsarc_redis_restore};
