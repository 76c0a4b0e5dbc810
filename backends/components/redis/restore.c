/*
 * Which restore a Redis step takes, and the two online ones (no restart,
 * no configuration, only what a managed Redis allows):
 *
 * - a logical stream (redis_mode "logical") is read whole first, every
 *   chunk verified and every command checked, with nothing sent: a
 *   damaged or cut stream must fail before the target is emptied, and
 *   the emptying comes first. Then it is read again and loaded: each
 *   database emptied (FLUSHDB, or SCAN + DEL), the RESTOREs sent
 *   pipelined, keys expired since the backup skipped, then key counts
 *   and the digest compared. Reading twice costs repository reads, not
 *   a copy of the data on disk or in memory;
 * - an RDB into a Redis tsarc may not restart ("mode": "logical", or
 *   "auto" with no swap possible: external, or no config_file here) is
 *   loaded by a private redis-server on a unix socket in a private
 *   folder, then copied across the same way and checked; the folder
 *   goes away whatever happens;
 * - else the RDB swap of swap.c.
 * The target is always a master (ROLE): a replica is refused.
 *
 * The database mapping (logical.h tsarc_redis_dbmap): the database the
 * source's URL named (the stream's "redis_url_db", recorded at backup)
 * goes to the one the target's Secret's URL names now, where 3scale will
 * look for its keys; backend-redis's queues database likewise, where its
 * queues URL names the same server on both sides (queues_dbmap). A
 * migration from an in-pod Redis (system-redis at .../1) to a managed one
 * often names database 0, and some managed services have no other:
 * keeping the numbers would leave system with an empty Redis, or be
 * refused for want of databases. Nothing changes where the target has no
 * Secret (the configuration names the server: no database is named), or
 * both URLs name the same database, or the stream
 * does not record its URL's database (a snapshot of an older tsarc: the
 * numbers kept, as then, and the plan and report say why). Both online
 * paths map, by rewriting the database they SELECT; the swap puts the
 * server's own files in place and cannot, so a mapping takes the private
 * redis-server instead wherever this host reaches the target (an
 * external Redis: always), and is refused, naming both databases, before
 * anything is written where it does not. The emptying stays the whole
 * server's, as without a mapping.
 */
#include "redis.h"
#include "extract.h"
#include "rdb.h"
#include "readers.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { PATH_LOGICAL, PATH_PRIVATE, PATH_SWAP, PATH_REFUSED } restore_path;

/* The path; `mapped`: the step maps a database (step_dbmap). */
static restore_path pick_path(tsarc_restore_ctx *r, const tsarc_step *s, int mapped)
{
	const char *stream_mode = s->st ? tsarc_spec_str(s->st->meta, "redis_mode") : NULL;
	const char *mode = tsarc_redis_mode(s->spec);
	int external = tsarc_spec_bool(s->spec, "external", 0), in_workload = 0;
	tsarc_transport *tr;
	restore_path p;

	if (stream_mode && !strcmp(stream_mode, "logical"))
		return PATH_LOGICAL;
	if (!tsarc_step_transport(r, s->spec, &tr))
		in_workload = (tr->caps & TSARC_TR_IN_WORKLOAD) != 0;
	tsarc_error_clear();
	if (!strcmp(mode, "logical"))
		p = PATH_PRIVATE;
	else if (!strcmp(mode, "rdb"))
		p = PATH_SWAP;
	/* auto: swap where the server can be restarted by us: in its
	 * workload, or here with its configuration file named. */
	else if (in_workload && !external)
		p = PATH_SWAP;
	else
		p = tsarc_spec_str(s->recipe, "config_file") ? PATH_SWAP : PATH_PRIVATE;
	/* The swap cannot map: the private server where our client reaches
	 * the target (an explicit "rdb" too: it names the RDB, which the
	 * private server loads whole, and a swap would put the keys where
	 * 3scale does not look). */
	if (p == PATH_SWAP && mapped)
		return in_workload && !external ? PATH_REFUSED : PATH_PRIVATE;
	return p;
}

static int step_conf(tsarc_restore_ctx *r, const tsarc_step *s, tsarc_redis_conf *conf)
{
	tsarc_component c;
	int rc;

	if ((rc = tsarc_step_component(r, s, &c)))
		return rc;
	if (s->secret_doc) {
		rc = tsarc_redis_component_conf(&c, s->secret_doc, NULL, conf);
	} else if (!s->has_conn) {
		rc = tsarc_error_set(TSARC_EINVAL, "component '%s': its endpoint was not resolved "
			"before the restore", s->component);
	} else if (!(rc = tsarc_redis_conf_from_secret(conf, NULL, NULL, NULL))) {
		rc = tsarc_redis_conf_override(conf, s->conn.host, s->conn.port, s->conn.socket,
			s->conn.user, s->conn.has_password ? s->conn.password : NULL,
			tsarc_redis_spec_tls(s->spec) > 0);
	}
	tsarc_component_clear(&c);
	return rc;
}

/* The queues' part of step_dbmap: the backup's queues database (the
 * stream's "redis_queues_db", backend-redis's REDIS_QUEUES_URL on the
 * source's server) goes to the one the target's queues URL names, where it
 * names the same server as the target's URL; a pair of `map`. What it
 * does is appended to `text`. */
static int queues_dbmap(const tsarc_step *s, const cJSON *ref, tsarc_redis_dbmap *map,
	char *text, size_t textsz)
{
	const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");
	const char *qkey = tsarc_spec_str(ref, "queues_key");
	size_t used = strlen(text);
	int from = -1, to = -1, elsewhere = 0, rc;

	if (!qkey)
		return 0;
	if (s->st && (rc = tsarc_redis_meta_db(s->st->meta, "redis_queues_db", s->st->name, &from)))
		return rc;
	if (s->secret_doc && (rc = tsarc_redis_queues_db(s->secret_doc, secret, key, qkey, &to,
				      &elsewhere)))
		return rc;
	if (from < 0)
		return 0;
	if (elsewhere)
		snprintf(text + used, textsz - used, "; the backup's queues (database %d) keep their "
			"number on this server: the target's %s names another server, which this step "
			"does not write", from, qkey);
	else if (to < 0)
		snprintf(text + used, textsz - used, "; the backup's queues (database %d) keep their "
			"number: the target's Secret has no %s", from, qkey);
	else if ((rc = tsarc_redis_dbmap_add(map, from, to)))
		return rc;
	else if (from == to)
		snprintf(text + used, textsz - used, "; the queues keep database %d (the target's "
			"%s names it)", from, qkey);
	else
		snprintf(text + used, textsz - used, "; queues: database %d -> %d (the target's %s "
			"names it)", from, to, qkey);
	return 0;
}

/* The mapping of step `s` into *map (no pairs: none) and, for the plan
 * and the report, `text`: "database 1 -> 0 (...)" or why nothing is
 * mapped. An unreadable number (the snapshot's metadata, the target's
 * URL) is an error: guessing would put the keys where 3scale does not
 * look. */
static int step_dbmap(tsarc_restore_ctx *r, const tsarc_step *s, tsarc_redis_dbmap *map,
	char *text, size_t textsz)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s->spec, "url_secret");
	const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");
	tsarc_redis_conf conf;
	char what[300];
	size_t used;
	int from = -1, to = -1, rc;

	*map = (tsarc_redis_dbmap)TSARC_REDIS_DBMAP_NONE;
	if (s->st && (rc = tsarc_redis_meta_db(s->st->meta, "redis_url_db", s->st->name, &from)))
		return rc;
	if (s->secret_doc) {
		snprintf(what, sizeof(what), "the target's Secret %s, key %s", secret ? secret : "?",
			key ? key : "URL");
		if ((rc = step_conf(r, s, &conf)))
			return rc;
		rc = tsarc_redis_conf_url_db(&conf, what, &to);
		tsarc_redis_conf_free(&conf);
		if (rc)
			return rc;
	}
	if (to < 0) {
		snprintf(text, textsz, "databases keep their numbers: no Secret of the target names "
			"a database (the configuration, or the pod, names the server)");
		return 0;
	}
	if (from < 0) {
		snprintf(text, textsz, "databases keep their numbers: the snapshot does not record "
			"which database its URL named (taken by a tsarc that did not record it, or "
			"without a URL); the target's URL names database %d", to);
		return 0;
	}
	if ((rc = tsarc_redis_dbmap_add(map, from, to)))
		return rc;
	if (from == to)
		snprintf(text, textsz, "the source's URL and the target's both name database %d", to);
	else
		snprintf(text, textsz, "database %d -> %d: the source's URL named database %d, the "
			"target's names %d", from, to, from, to);
	if ((rc = queues_dbmap(s, ref, map, text, textsz)))
		return rc;
	used = strlen(text);
	snprintf(text + used, textsz - used, tsarc_redis_dbmap_moves(map) ? "; every other "
		"database keeps its number" : ": databases keep their numbers");
	return 0;
}

/* The refusal of PATH_REFUSED. */
static int refuse_swap(const tsarc_step *s, const tsarc_redis_dbmap *map)
{
	char text[200];

	tsarc_redis_dbmap_text(map, text, sizeof(text));
	return tsarc_error_set(TSARC_EUNSUPPORTED, "component '%s': the backup's databases are "
		"to be restored into others (%s: the target's URLs name them), and the RDB swap, the "
		"only path into a Redis in its pod, puts the backup's files in place with their "
		"database numbers: make the component \"external\" with an address this host "
		"reaches (the RDB is then loaded through a private redis-server, which maps); "
		"nothing was written", s->component, text);
}

/* What refuses a target before anything is written to it: a replica (where
 * `writes_keys`: the load writes through this connection; the swap
 * replaces the server's files instead), a node of a Redis Cluster. Asked by
 * the step and by the plan: found by the step alone, the steps before it
 * would already have replaced their targets. */
static int target_refused(tsarc_redis *dst, int writes_keys)
{
	int rc;

	if (writes_keys && (rc = tsarc_redis_require_master(dst)))
		return rc;
	return tsarc_redis_require_whole(dst);
}

static int connect_target(tsarc_restore_ctx *r, tsarc_step *s, tsarc_redis **dst, char *where,
	size_t wsz)
{
	tsarc_redis_conf conf;
	int rc;

	if ((rc = step_conf(r, s, &conf)))
		return rc;
	tsarc_redis_conf_describe(&conf, where, wsz);
	if (!(rc = tsarc_redis_conf_connect(&conf, dst)) && (rc = target_refused(*dst, 1))) {
		tsarc_redis_close(*dst);
		*dst = NULL;
	}
	tsarc_redis_conf_free(&conf);
	return rc;
}

static int feed(void *payload, const uint8_t *data, size_t len)
{
	return tsarc_redis_loader_feed(payload, data, len);
}

/* Why the target's function libraries are kept (KEEP, after the check
 * pass found none in the stream): what the snapshot recorded, or, from a
 * tsarc before "redis_functions", that it says nothing. */
static const char *functions_kept_why(const tsarc_step *s)
{
	const char *rec = s->st ? tsarc_spec_str(s->st->meta, "redis_functions") : NULL;

	return rec ? "the backup could not read the source's (redis_functions \"not readable\") "
		     "and holds none" :
		     "the stream holds none, and its snapshot (from an older tsarc) does not say "
		     "whether the backup could read the source's";
}

/* How long the emptying of step `s`'s target waits for its lazy frees
 * (its "lazyfree_wait"). */
static int lazyfree_wait_s(const tsarc_step *s)
{
	return tsarc_redis_spec_seconds(s->spec, "lazyfree_wait", TSARC_REDIS_LAZYFREE_WAIT_S);
}

static void note_done(tsarc_step *s, const char *how, const char *where,
	const tsarc_redis_stats *st, const char *verified, const char *maptext, const char *memory)
{
	char libs[80] = "", kept[300] = "", lazy[300] = "", detail[200], rewritten[160] = "";

	if (st->lazyfree_pending)
		snprintf(lazy, sizeof(lazy), "; the target still had %llu objects to free in the "
			"background (lazyfree_pending_objects) when the wait for them ran out after %d s "
			"(\"lazyfree_wait\"): loaded anyway", st->lazyfree_pending, lazyfree_wait_s(s));
	if (st->functions_removed)
		snprintf(libs, sizeof(libs), " and FUNCTION FLUSH (%llu librar%s)",
			st->functions_removed, st->functions_removed == 1 ? "y" : "ies");
	if (st->functions_kept)
		snprintf(kept, sizeof(kept), "; the target's function libraries left as they were "
			"(%llu): %s", st->functions_kept_n, functions_kept_why(s));
	if (st->rewritten)
		snprintf(rewritten, sizeof(rewritten), "; %llu DUMP payload%s of RDB version %d "
			"rewritten to version %d, which the target takes", st->rewritten,
			st->rewritten == 1 ? "" : "s", st->payload_version, st->rewritten_to);
	tsarc_step_note(s, "%s into %s: %llu keys restored, %llu expired since the backup and "
		"skipped%s; target emptied first with %s%s%s%s%s; %s; %s", how, where, st->keys,
		st->expired, rewritten, st->flush ? "FLUSHDB" : "per-key DEL (FLUSHDB refused)", libs,
		st->functions > 0 ? "; functions restored" : "", kept, lazy, verified, maptext);
	if (st->functions_kept) {
		if (!s->detail)
			s->detail = cJSON_CreateObject();
		snprintf(detail, sizeof(detail), "the target's kept: %s", functions_kept_why(s));
		if (s->detail)
			cJSON_AddStringToObject(s->detail, "redis_functions", detail);
	}
	/* The mapping, or why there is none, for whoever reads the report. */
	if (!s->detail)
		s->detail = cJSON_CreateObject();
	if (s->detail)
		cJSON_AddStringToObject(s->detail, "redis_databases", maptext);
	if (s->detail && st->rewritten)
		cJSON_AddStringToObject(s->detail, "redis_payloads_rewritten", rewritten + 2);
	/* The memory check before the emptying: what fit, or why it was not
	 * made (no maxmemory, INFO refused). */
	if (s->detail && *memory)
		cJSON_AddStringToObject(s->detail, "redis_memory", memory);
}

/* A number the snapshot recorded for the stream (`key` of its metadata):
 * 1 and *v, or 0 when it has none (an older tsarc) or not a number. */
static int meta_number(const tsarc_step *s, const char *key, unsigned long long *v)
{
	const cJSON *n = s->st ? cJSON_GetObjectItemCaseSensitive(s->st->meta, key) : NULL;

	if (!cJSON_IsNumber(n) || n->valuedouble < 0 || n->valuedouble > 1e18)
		return 0;
	*v = (unsigned long long)n->valuedouble;
	return 1;
}

/* What a logical stream needs in memory (memory.c): the source's data set
 * as the backup recorded it ("redis_used_memory_dataset") and the keys the
 * check pass counted (`st`: those not expired). A snapshot of an older
 * tsarc records none: the stream's own bytes then, its payloads (less
 * each one's 10 bytes of version and checksum) and key names, a low
 * estimate (a value often takes more in memory than dumped), which still
 * refuses a backup that clearly cannot fit; the plan and report say so.
 * A recorded value is metadata anyone who writes the repository writes:
 * never less than that estimate (a forged 0 would skip the check). */
static void stream_need(const tsarc_step *s, const tsarc_redis_stats *st, tsarc_redis_need *need)
{
	unsigned long long recorded, dumped;

	memset(need, 0, sizeof(*need));
	need->keys = st->keys;
	dumped = st->bytes > 10 * st->keys ? st->bytes - 10 * st->keys : 0;
	need->dataset = dumped + st->key_bytes;
	need->how = TSARC_REDIS_NEED_STREAM;
	if (meta_number(s, "redis_used_memory_dataset", &recorded)) {
		need->how = TSARC_REDIS_NEED_RECORDED;
		if (recorded > need->dataset)
			need->dataset = recorded;
	}
}

/* The check pass: the whole stream through a loader that sends nothing.
 * *ndb: its highest database + 1; *version: its payloads' RDB version;
 * *need: what it needs in memory; floor->payload_floor and floor_what:
 * the lowest version its payloads can be rewritten to, and which key
 * says so (payload.h); floor->probe_names: key names the target's probes
 * may ask with (tsarc_redis_probe_key_choose). */
static int check_stream(tsarc_restore_ctx *r, tsarc_step *s, const tsarc_redis_dbmap *map,
	int *ndb, unsigned long long *keys, int *functions, int *version, tsarc_redis_need *need,
	tsarc_redis_stats *floor)
{
	tsarc_redis_loader *chk = NULL;
	tsarc_redis_stats st;
	int rc;

	memset(&st, 0, sizeof(st));
	*ndb = 0;
	tsarc_restore_progress(r, "%s: reading the whole stream before the first write",
		s->component);
	if (!(rc = tsarc_redis_loader_new(&chk, NULL, 0)))
		tsarc_redis_loader_map(chk, map);
	if (!rc && !(rc = tsarc_stream_extract(r->repo, s->st, feed, chk, r->o->inflight)))
		rc = tsarc_redis_loader_finish(chk, &st);
	if (!rc) {
		*ndb = st.ndb;
		*keys = st.keys;
		*functions = st.functions;
		*version = st.payload_version;
		floor->payload_floor = st.payload_floor;
		memcpy(floor->floor_what, st.floor_what, sizeof(st.floor_what));
		floor->probe_names = st.probe_names;
		stream_need(s, &st, need);
	}
	if (rc)
		tsarc_error_prefix("the stream, read whole before the first write (the target was "
			"not touched)");
	tsarc_redis_stats_free(&st);
	tsarc_redis_loader_free(chk);
	return rc;
}

/* What the backup knew of the source's function libraries: the stream
 * holds them (`functions`: a FUNCTION RESTORE, seen by the check pass), or
 * the backup recorded that there were none ("redis_functions": "none").
 * "not readable" (its user may not FUNCTION LIST), or nothing recorded:
 * it knows nothing of them, and the target's are kept (logical.h). */
static tsarc_redis_functions stream_functions(const tsarc_step *s, int functions)
{
	const char *rec = s->st ? tsarc_spec_str(s->st->meta, "redis_functions") : NULL;

	if (functions > 0 || (rec && (!strcmp(rec, "none") || !strcmp(rec, "saved"))))
		return TSARC_REDIS_FUNCTIONS_REPLACE;
	return TSARC_REDIS_FUNCTIONS_KEEP;
}

static int restore_logical(tsarc_restore_ctx *r, tsarc_step *s, const tsarc_redis_dbmap *map,
	const char *maptext)
{
	tsarc_redis *dst = NULL;
	tsarc_redis_loader *l = NULL;
	tsarc_redis_stats cleared, st, floor;
	tsarc_redis_need need;
	char where[600], verified[300], what[300];
	unsigned long long keys = 0;
	int rc, ndb, functions = 0, version = 0, rewrite = 0;

	memset(&cleared, 0, sizeof(cleared));
	memset(&st, 0, sizeof(st));
	memset(&floor, 0, sizeof(floor));
	/* The payloads go as they are where the target takes their version,
	 * else rewritten for it where every one of them can be (payload.h). */
	if ((rc = connect_target(r, s, &dst, where, sizeof(where))) ||
		(rc = check_stream(r, s, map, &ndb, &keys, &functions, &version, &need, &floor)) ||
		(rc = tsarc_redis_probe_key_choose(dst, &floor.probe_names, version)) ||
		(rc = tsarc_redis_payload_route(dst, version, floor.payload_floor,
			floor.floor_what[0] ? floor.floor_what : NULL, &rewrite)) ||
		(rc = tsarc_redis_require_dbs(dst, ndb)))
		goto done;
	tsarc_restore_progress(r, "%s: logical restore into %s%s%s", s->component, where,
		tsarc_redis_dbmap_moves(map) ? ", " : "", tsarc_redis_dbmap_moves(map) ? maptext : "");
	snprintf(what, sizeof(what), "component '%s'", s->component);
	if ((rc = tsarc_redis_loader_new(&l, dst, 0)))
		goto done;
	tsarc_redis_loader_need(l, &need);
	tsarc_redis_loader_payload_version(l, rewrite ? rewrite : version);
	tsarc_redis_loader_rewrite(l, rewrite);
	tsarc_redis_loader_lazyfree_wait(l, lazyfree_wait_s(s));
	if ((rc = tsarc_redis_loader_clear(l, what, keys, stream_functions(s, functions),
		     functions > 0, &cleared)))
		goto done;
	tsarc_redis_loader_map(l, map);
	if ((rc = tsarc_stream_extract(r->repo, s->st, feed, l, r->o->inflight)) ||
		(rc = tsarc_redis_loader_finish(l, &st))) {
		tsarc_redis_loader_partial(l, keys);
		goto done;
	}
	if ((rc = tsarc_redis_loader_verify(l, verified, sizeof(verified))))
		goto done;
	st.flush = cleared.flush;
	st.functions_removed = cleared.functions_removed;
	st.functions_kept = cleared.functions_kept;
	st.functions_kept_n = cleared.functions_kept_n;
	st.lazyfree_pending = cleared.lazyfree_pending;
	note_done(s, "logical restore (RESTORE ... REPLACE ABSTTL, pipelined)", where, &st,
		verified, maptext, tsarc_redis_loader_memory(l));
done:
	if (rc)
		tsarc_error_prefix("component '%s'", s->component);
	tsarc_redis_loader_free(l);
	tsarc_redis_stats_free(&st);
	tsarc_redis_close(dst);
	return rc;
}

/* The step's RDB loaded by a private redis-server for target `dst`: the
 * private folder made, the stream written into it, the server chosen
 * (tsarc_redis_private_choose: the first whose payloads the target takes,
 * asked before the RDB is loaded; *server NULL where the RDB's header
 * names no version: the first server that loads it, and the copy's own
 * ask; *writes the version it DUMPs) and started, connected as *priv.
 * What the step copies from, and what the plan reads where the payloads
 * are to be rewritten (admit_private_floor). The caller stops it
 * (tsarc_redis_private_stop, tsarc_redis_close) whatever the result. */
static int private_loaded(tsarc_restore_ctx *r, const tsarc_step *s, tsarc_redis *dst,
	tsarc_redis_private *p, const char **server, int *writes, tsarc_redis **priv)
{
	int rc, fd = -1, version;

	*server = NULL;
	*writes = 0;
	if ((rc = tsarc_redis_private_prepare(p, &fd)))
		return rc;
	rc = tsarc_stream_extract(r->repo, s->st, tsarc_sink_fd, &fd, r->o->inflight);
	if (close(fd) && !rc)
		rc = tsarc_error_set(TSARC_EIO, "writing the RDB for the private redis-server");
	if (!rc && (version = tsarc_redis_private_rdb_version(p)) > 0)
		rc = tsarc_redis_private_choose(version, dst, server, writes);
	return rc ? rc : tsarc_redis_private_start(p, *server, priv);
}

static int restore_private(tsarc_restore_ctx *r, tsarc_step *s, const tsarc_redis_dbmap *map,
	const char *maptext)
{
	tsarc_redis_private p;
	tsarc_redis *dst = NULL, *priv = NULL;
	tsarc_redis_stats st;
	char where[600], verified[300], what[300], memory[1200], how[300];
	const char *server = NULL;
	int rc, writes = 0;

	memset(&st, 0, sizeof(st));
	memset(&p, 0, sizeof(p));
	snprintf(what, sizeof(what), "component '%s'", s->component);
	/* The target first: a replica or a wrong password stops us before
	 * the RDB is read. */
	if ((rc = connect_target(r, s, &dst, where, sizeof(where))))
		goto done;
	tsarc_restore_progress(r, "%s: RDB into a private redis-server, then into %s%s%s",
		s->component, where, tsarc_redis_dbmap_moves(map) ? ", " : "",
		tsarc_redis_dbmap_moves(map) ? maptext : "");
	if ((rc = private_loaded(r, s, dst, &p, &server, &writes, &priv)) ||
		(rc = tsarc_redis_copy(priv, dst, map, what, lazyfree_wait_s(s), &st, verified,
			sizeof(verified), memory, sizeof(memory))))
		goto done;
	if (server && st.rewritten)
		snprintf(how, sizeof(how), "RDB loaded by a private redis-server (%s, whose DUMP "
			"payloads, version %d, are rewritten for the target; unix socket, private folder, "
			"removed after), copied logically", server, writes);
	else if (server)
		snprintf(how, sizeof(how), "RDB loaded by a private redis-server (%s, whose DUMP "
			"payloads, version %d, the target takes; unix socket, private folder, removed "
			"after), copied logically", server, writes);
	else
		snprintf(how, sizeof(how), "RDB loaded by a private redis-server (the first of this "
			"host's that loads it; unix socket, private folder, removed after), copied "
			"logically");
	note_done(s, how, where, &st, verified, maptext, memory);
done:
	if (rc)
		tsarc_error_prefix("component '%s'", s->component);
	tsarc_redis_close(priv);
	tsarc_redis_private_stop(&p);
	tsarc_redis_stats_free(&st);
	tsarc_redis_close(dst);
	return rc;
}

/* step_dbmap for a run or its admission: an error names the component. */
static int run_dbmap(tsarc_restore_ctx *r, const tsarc_step *s, tsarc_redis_dbmap *map,
	char *text, size_t textsz)
{
	int rc = step_dbmap(r, s, map, text, textsz);

	if (rc)
		tsarc_error_prefix("component '%s'", s->component);
	return rc;
}

/* The target of step `s` as tsarc's own client reaches it while the plan
 * is made (a plan only reads; the caller closes it), or NULL where it is
 * not reached now (the step decides); errors cleared. */
static tsarc_redis *plan_target(tsarc_restore_ctx *r, const tsarc_step *s)
{
	tsarc_redis_conf conf;
	tsarc_redis *dst = NULL;

	if (!step_conf(r, s, &conf)) {
		if (tsarc_redis_conf_connect(&conf, &dst)) {
			tsarc_redis_close(dst);
			dst = NULL;
		}
		tsarc_redis_conf_free(&conf);
	}
	tsarc_error_clear();
	return dst;
}

/* The target's own identity into its endpoint ("server_id"), and its
 * data set's ("dataset_id", its replication id), where our client reaches
 * it (`dst`, the plan's connection, or NULL): two steps whose URLs name
 * one server by two addresses (an IP and a name) are then known to be one
 * server, and the plan refuses two servers' backups into it; a migration
 * whose target is the server the backup read, or the master of the
 * replica it read, is known to write into its own source (a Sentinel
 * group's master, which no recorded address names), and is refused
 * (target.c). Unreachable now, or silent (a user refused INFO, as a
 * managed Redis may): the addresses are compared, as before, and the
 * endpoint says so ("server_id_unknown", which the plan and the report
 * show). */
static void note_server_id(const tsarc_step *s, tsarc_redis *dst)
{
	const char *text = s->endpoint ? tsarc_spec_str(s->endpoint, "text") : NULL;
	char id[64] = "", data[64] = "", why[400];

	if (!s->endpoint)
		return;
	if (dst && !tsarc_redis_server_id(dst, id, sizeof(id)))
		tsarc_redis_dataset_id(dst, data, sizeof(data));
	snprintf(why, sizeof(why), "Redis at %s %s: told apart from the other steps' targets by its "
		"address only (two addresses of one server are not known to be one)",
		dst ? tsarc_redis_where(dst) : text ? text : "?", dst ? "does not tell this user its "
		"run_id (INFO server)" : "was not reached when the plan was made");
	tsarc_error_clear();
	cJSON_DeleteItemFromObjectCaseSensitive(s->endpoint, "server_id");
	cJSON_DeleteItemFromObjectCaseSensitive(s->endpoint, "server_id_unknown");
	cJSON_DeleteItemFromObjectCaseSensitive(s->endpoint, "dataset_id");
	cJSON_AddStringToObject(s->endpoint, *id ? "server_id" : "server_id_unknown", *id ? id : why);
	if (*data)
		cJSON_AddStringToObject(s->endpoint, "dataset_id", data);
}

/* A logical stream's need as the snapshot recorded it (its data set and
 * keys, memory.c): 0 when it records none (an older tsarc: the step
 * estimates it from the stream it reads whole). */
static int recorded_need(const tsarc_step *s, tsarc_redis_need *need)
{
	memset(need, 0, sizeof(*need));
	if (!meta_number(s, "redis_used_memory_dataset", &need->dataset))
		return 0;
	meta_number(s, "redis_keys", &need->keys);
	need->how = TSARC_REDIS_NEED_RECORDED;
	return 1;
}

void tsarc_redis_rdb_need(const tsarc_step *s, tsarc_redis_need *need)
{
	unsigned long long size = s->st ? (unsigned long long)s->st->size : 0;

	if (!recorded_need(s, need)) {
		need->how = TSARC_REDIS_NEED_RDB;
		need->keys = 0;
	}
	need->at_start = 1;
	/* Metadata whoever writes the repository writes: a forged 0 would
	 * skip the check. */
	if (need->dataset < size)
		need->dataset = size;
}

/* The target's INFO memory, asked through the plan's connection `dst`:
 * 1 when it answered (m->known 0 still: INFO refused to this user), 0
 * when it was not reached now (NULL: the step decides). `addr`: where it
 * was asked. */
static int target_memory(tsarc_redis *dst, tsarc_redis_memory *m, char *addr, size_t addrsz)
{
	int asked = 0;

	memset(m, 0, sizeof(*m));
	if (dst && !tsarc_redis_memory_read(dst, m)) {
		asked = 1;
		snprintf(addr, addrsz, "%s", tsarc_redis_where(dst));
	}
	tsarc_error_clear();
	return asked;
}

/* What path `p`'s backup needs, as known before its step reads anything:
 * a logical stream's as its snapshot recorded it (0 when it records
 * none: the step estimates it from the stream it reads whole); an RDB
 * swapped in, as recorded or the RDB's size (tsarc_redis_rdb_need). */
static int plan_need(const tsarc_step *s, restore_path p, tsarc_redis_need *need)
{
	memset(need, 0, sizeof(*need));
	if (p == PATH_LOGICAL)
		return recorded_need(s, need);
	if (p != PATH_SWAP)
		return 0;
	tsarc_redis_rdb_need(s, need);
	return 1;
}

/* admit_memory of a swap into a pod (tsarc_redis_swap_pod_plan): its
 * refusal, or the plan's word on what it compared, or why it could not,
 * and what only the run checks; with what of the configuration's dir and
 * dbfilename the run compares ("redis_swap_config"). */
static int admit_pod_swap(tsarc_restore_ctx *r, tsarc_step *s, const char *when)
{
	char room[1200], files[1600], out[3000];
	int checked, rc = tsarc_redis_swap_pod_plan(r, s, &checked, room, sizeof(room), files,
		sizeof(files));

	if (rc)
		return rc;
	if (checked)
		snprintf(out, sizeof(out), "%s, maxmemory: %s; the run checks again, with what the "
			"server uses besides its data (redis-cli in its pod asks INFO memory), and asks "
			"again once the server has loaded the RDB", when, room);
	else
		snprintf(out, sizeof(out), "not checked by the plan: %s; checked when the restore "
			"runs, %s: redis-cli in the server's pod asks INFO memory, with the maxmemory of "
			"the configuration the swap restarts it with, and asks again once the server has "
			"loaded the RDB", room, when);
	if ((rc = tsarc_step_admitted_word(s, "redis_memory", out)))
		return rc;
	return tsarc_step_admitted_word(s, "redis_swap_config", files);
}

/*
 * The memory check of a backup whose need is known before its step runs
 * (a logical stream whose snapshot records it, an RDB swapped in), made
 * when the plan is made, before any step of the restore writes (the step
 * makes it again before it empties its target, or touches its server's
 * files): found only when its step runs, the steps before it (a MySQL,
 * another Redis) would already have replaced their targets. A swap's
 * server in its pod, which the plan does not reach: against the maxmemory
 * of the configuration its restart reads (admit_pod_swap). A target not
 * reachable now by tsarc's own client (`dst`, the plan's connection, is
 * NULL), or that does not tell its memory: the step decides.
 * Admitted, the plan's word on memory (memory.c) for describe: the check
 * the run makes before the target is emptied, with its outcome where the
 * snapshot recorded the backup's size and the target answers now; else
 * what the run will compare (the private redis-server's measure, or the
 * stream's bytes).
 */
static int admit_memory(tsarc_restore_ctx *r, tsarc_step *s, restore_path p, tsarc_redis *dst)
{
	tsarc_redis_memory m;
	tsarc_redis_need need;
	char text[1200], out[1600], addr[300] = "the target";
	const char *when = p == PATH_SWAP ? "before the server's files are touched" :
		"before the target is emptied";
	int asked, rc;

	if (p == PATH_SWAP && tsarc_step_in_pod(r, s))
		return admit_pod_swap(r, s, when);
	asked = target_memory(dst, &m, addr, sizeof(addr));
	plan_need(s, p, &need);
	if (!asked || !m.known) {
		snprintf(out, sizeof(out), "checked when the restore runs, %s (INFO memory: "
			"maxmemory, maxmemory_policy, used_memory, used_memory_dataset): the target %s "
			"now", when, asked ? "does not tell its memory to this user (INFO memory); the "
			"run cannot check either, and says so" : "could not be asked");
	} else if (need.how) {
		if ((rc = tsarc_redis_room(addr, &m, &need, text, sizeof(text)))) {
			tsarc_error_prefix("component '%s'", s->component);
			return rc;
		}
		snprintf(out, sizeof(out), "%s, maxmemory: %s%s", when, text,
			p == PATH_SWAP ? "; the run also reads the maxmemory of the configuration the "
			"swap restarts the server with, and asks again once it has loaded the RDB" : "");
	} else {
		tsarc_redis_room(addr, &m, &need, text, sizeof(text));
		snprintf(out, sizeof(out), "%s, maxmemory: %s; the run "
			"%s, and refuses, with nothing written, a backup that does not fit", when, text,
			p == PATH_LOGICAL ? "estimates the backup's size from the stream it reads "
			"whole first (its snapshot, from an older tsarc, does not record the source's "
			"memory: a low estimate)" : "measures the backup's size on the private "
			"redis-server that loads the RDB");
	}
	return tsarc_step_admitted_word(s, "redis_memory", out);
}

/* CONFIG GET `name` as tsarc's own client asks it, into `out`; 0 when
 * it does not answer one (a user that may not). */
static int config_get(tsarc_redis *dst, const char *name, char *out, size_t outsz)
{
	tsarc_redis_reply *rep = NULL;
	int got = 0;

	if (!tsarc_redis_command(dst, &rep, "CONFIG", "GET", name, NULL) && rep->type == '*' &&
		rep->nelem == 2 && rep->elem[1]->type == '$') {
		snprintf(out, outsz, "%s", rep->elem[1]->str);
		got = 1;
	}
	tsarc_redis_reply_free(rep);
	tsarc_error_clear();
	return got;
}

/* The swap's check that its restart loads the file the RDB is written as
 * (tsarc_redis_swap_admit), made when the plan is made, where the
 * server's configuration is a file of this host and tsarc's own client
 * reads its dir and dbfilename (`dst`, the plan's connection); elsewhere
 * the step decides. */
static int admit_swap_files(tsarc_restore_ctx *r, const tsarc_step *s, tsarc_redis *dst)
{
	tsarc_transport *tr;
	char dir[4096], file[1024];

	if (tsarc_step_transport(r, s->spec, &tr) || !(tr->caps & TSARC_TR_HOST_FILES)) {
		tsarc_error_clear();
		return 0;
	}
	return dst && config_get(dst, "dir", dir, sizeof(dir)) &&
		config_get(dst, "dbfilename", file, sizeof(file)) && dir[0] && file[0] ?
		tsarc_redis_swap_admit(r, s, dir, file) : 0;
}

/* The swap's check that the server answers its user what the swap reads
 * (CONFIG GET, and the INFO its checks read after the restart:
 * tsarc_redis_swap_access), made when the plan is made where tsarc's own
 * client reaches the server (`dst`): found only by the step, the steps
 * before it would already have replaced their targets. A server in its
 * pod (a plan asks it only INFO server: admit_swap_version), or not
 * reached now: the step decides. */
static int admit_swap_access(const tsarc_step *s, tsarc_redis *dst)
{
	return dst ? tsarc_redis_swap_access(s, dst) : 0;
}

/* The online paths' check that the target's user may run what the load
 * and the check after it send (tsarc_redis_load_allowed), made when the
 * plan is made where tsarc's own client reaches the target (`dst`, the
 * plan's connection): found by the step alone, the steps before it would
 * already have replaced their targets. Function libraries are asked for
 * where the snapshot says the stream holds them ("redis_functions"
 * "saved"); an RDB's are known once the private redis-server has loaded
 * it, and the step asks then. The target is asked too whether it takes
 * the backup's payloads, of the RDB version the snapshot records
 * ("redis_payload_version": a Valkey 8's into a Redis 7.0 cannot load);
 * an older snapshot records none, and the step asks with what its check
 * pass, or the private redis-server, found. Not reached now, or a probe
 * not answered: the step decides. */
static int admit_load_access(const tsarc_step *s, restore_path p, tsarc_redis *dst)
{
	const char *rec = p == PATH_LOGICAL && s->st ? tsarc_spec_str(s->st->meta,
		"redis_functions") : NULL;
	unsigned long long version = 0, floor = 0;
	int rc, rewrite = 0, sent;

	if (!dst)
		return 0;
	meta_number(s, "redis_payload_version", &version);
	meta_number(s, "redis_payload_floor", &floor);
	sent = version <= 0xffff ? (int)version : 0;
	/* Payloads the target does not take are rewritten for it where each
	 * can be (payload.h): a logical backup recorded how far; an RDB is
	 * read by admit_private_floor; for an older snapshot the step's check
	 * pass finds it before the target is touched. Not asked (the probe's
	 * key is not this user's, or exists there: the plan knows none of the
	 * backup's key names to ask with), the step asks, and the plan asks
	 * for the commands. */
	if (!(rc = tsarc_redis_payload_route(dst, sent, floor <= 0xffff ? (int)floor : 0, NULL,
		&rewrite)) && rewrite)
		sent = rewrite;
	else if (rc == TSARC_EUNSAFE)
		goto refused;
	else if (rc)
		sent = 0;
	if ((rc = tsarc_redis_load_allowed(dst, rec && !strcmp(rec, "saved"), sent)) !=
		TSARC_EUNSAFE) {
		tsarc_error_clear();
		return 0;
	}
refused:
	tsarc_error_prefix("component '%s'", s->component);
	return rc;
}

/* The refusal of a replica where path `p` writes keys (the logical and
 * private-server paths), and of a node of a Redis Cluster of several
 * shards or of one nothing tells from a whole server (target_refused),
 * made when the plan is made where tsarc's own client reaches the target
 * (`dst`, the plan's connection): before, the step alone refused them, the
 * steps before it having replaced their targets. Not reached now: the
 * step decides. */
static int admit_target(const tsarc_step *s, restore_path p, tsarc_redis *dst)
{
	int rc;

	if (!dst || !(rc = target_refused(dst, p != PATH_SWAP)))
		return 0;
	tsarc_error_prefix("component '%s'", s->component);
	return rc;
}

/* The online paths' check that the target has every database a logical
 * stream's keys go to, once mapped, and that no two of them land in one
 * (tsarc_redis_dbmap_db), made when the plan is made where tsarc's own
 * client reaches the target (`dst`): the databases the backup recorded
 * ("redis_db_keys"). Found by the step alone (its check pass counts them
 * in the stream), the steps before it would already have replaced their
 * targets. An RDB, or an older snapshot, records none, and a record that
 * does not read as database numbers is left to the step, which reads the
 * stream itself; so is a target not reached now. */
static int admit_dbs(const tsarc_step *s, restore_path p, const tsarc_redis_dbmap *map,
	tsarc_redis *dst)
{
	const cJSON *dbs = s->st ? cJSON_GetObjectItemCaseSensitive(s->st->meta,
		"redis_db_keys") : NULL, *e;
	int ndb = 0, db, to, rc;

	if (!dst || p == PATH_SWAP || !cJSON_IsObject(dbs))
		return 0;
	cJSON_ArrayForEach(e, dbs)
		if (!*e->string || tsarc_redis_url_path_db(e->string, &db) || !cJSON_IsNumber(e))
			return 0;
	cJSON_ArrayForEach(e, dbs) {
		if (!(e->valuedouble > 0))
			continue;
		tsarc_redis_url_path_db(e->string, &db);
		if ((rc = tsarc_redis_dbmap_db(map, db, &to)))
			goto refused;
		if (to + 1 > ndb)
			ndb = to + 1;
	}
	if ((rc = tsarc_redis_require_dbs(dst, ndb)) != TSARC_EUNSUPPORTED) {
		tsarc_error_clear();
		return 0;
	}
refused:
	tsarc_error_prefix("component '%s'", s->component);
	return rc;
}

/* The copy's check that every payload of the RDB can be rewritten for the
 * target `dst`, where it does not take those of the private server chosen
 * for it (of version `writes`), made when the plan is made as the step
 * makes it before the target is emptied (tsarc_redis_copy_route), on the
 * RDB loaded as the step loads it (private_loaded). A logical backup
 * records how far its payloads can be rewritten ("redis_payload_floor");
 * an RDB does not (every backup would have to read its values), and found
 * by the step alone, a key that cannot be (a function library for a Redis
 * 6, a hash with field expiries for a Redis 7.0) stopped the restore
 * after the steps before it had replaced their targets. It costs the plan
 * one more read of the RDB (the repository, the private server's load, a
 * DUMP of every key), made only where the payloads are to be rewritten;
 * the plan's word says what it found. */
static int admit_private_floor(tsarc_restore_ctx *r, tsarc_step *s, tsarc_redis *dst,
	const tsarc_redis_dbmap *map, int writes)
{
	tsarc_redis_private p;
	tsarc_redis *priv = NULL;
	const char *server;
	char word[400];
	int rc, taken, loaded, version = 0, rewrite = 0;

	if (writes <= 0)
		return 0;
	/* Not asked (the probe's key is not this user's, or exists there):
	 * the pass asks, with the backup's key names, as the copy does. */
	if ((rc = tsarc_redis_payload_taken(dst, writes, &taken)) == TSARC_EACCESS) {
		tsarc_error_clear();
		taken = 0;
	} else if (rc || taken) {
		return rc;
	}
	memset(&p, 0, sizeof(p));
	tsarc_restore_progress(r, "%s: the plan loads the RDB in a private redis-server and reads "
		"every key, to find whether each can be rewritten for the target", s->component);
	if (!(rc = private_loaded(r, s, dst, &p, &server, &loaded, &priv)))
		rc = tsarc_redis_copy_route(priv, dst, map, &version, &rewrite);
	tsarc_redis_close(priv);
	tsarc_redis_private_stop(&p);
	if (rc || !rewrite)
		return rc;
	snprintf(word, sizeof(word), "version %d to %d, which the target takes: every key of the "
		"RDB can be, read by the plan (the RDB loaded in a private redis-server, %s, as the "
		"step loads it)", version, rewrite, server ? server : "the first that loads it");
	return tsarc_step_admitted_word(s, "redis_payloads_rewritten", word);
}

/* The private redis-server's check that a server of this host reads the
 * backup's RDB (a Valkey 8's, version 11, where this host has Debian 12's
 * Redis 7.0 alone) and writes payloads the target takes (Debian 13's
 * Redis 8 writes 12, which a Valkey 8 refuses), or payloads whose every
 * key can be rewritten for it (admit_private_floor):
 * tsarc_redis_private_choose, made when the plan is made where the
 * snapshot records the version ("redis_payload_version"), the target
 * asked where the plan reaches it (`dst`). Found by the step alone, the
 * steps before it would already have replaced their targets. An older
 * snapshot: the step decides. */
static int admit_private(tsarc_restore_ctx *r, tsarc_step *s, restore_path p, tsarc_redis *dst,
	const tsarc_redis_dbmap *map)
{
	unsigned long long version;
	const char *server;
	int rc, writes;

	if (p != PATH_PRIVATE || !meta_number(s, "redis_payload_version", &version) ||
		version > 9999)
		return 0;
	if ((rc = tsarc_redis_private_choose((int)version, dst, &server, &writes)) ||
		(dst && (rc = admit_private_floor(r, s, dst, map, writes))))
		tsarc_error_prefix("component '%s'", s->component);
	return rc;
}

/* The name and version of the server `dst` ("Valkey 8.1.1", "Redis
 * 7.0.15") from its INFO server, for the plan's word; "Redis" where it
 * does not say. */
static void plan_server_name(tsarc_redis *dst, char *name, size_t namesz)
{
	tsarc_redis_reply *rep = NULL;
	char reads[300];

	*name = '\0';
	if (!tsarc_redis_command(dst, &rep, "INFO", "server", NULL) && rep->type == '$')
		tsarc_redis_info_reads(rep->str, 0, name, namesz, reads, sizeof(reads));
	else
		tsarc_error_clear();
	tsarc_redis_reply_free(rep);
	if (!*name)
		snprintf(name, namesz, "Redis");
}

/* The swap's check that the server it restarts reads the backup's RDB,
 * of the version the snapshot records ("redis_payload_version": an RDB
 * of a Redis 7.0, 10, into 3scale 2.15's in-pod Redis 6, which reads 9 at
 * most), made when the plan is made: the server's redis-check-rdb refuses
 * it at the step, before the server is touched but after the steps before
 * it have written. In its pod, INFO server by redis-cli there
 * (tsarc_redis_swap_pod_version); on this host, where tsarc's own client
 * reaches it (`dst`), whether it takes DUMP payloads of that version, as
 * the online paths ask (a server loads the RDB versions it RESTOREs).
 * Not recorded (an older tsarc), not reached, or not told: the step
 * decides, and the plan's word says so. */
static int admit_swap_version(tsarc_restore_ctx *r, tsarc_step *s, tsarc_redis *dst)
{
	unsigned long long recorded;
	char word[1600], most[64], name[64];
	int rc = 0, version, taken, highest;

	if (!meta_number(s, "redis_payload_version", &recorded) || recorded < 1 ||
		recorded > 0xffff) {
		snprintf(word, sizeof(word), "not compared by the plan: the snapshot does not record "
			"the RDB's version (an older tsarc); " TSARC_REDIS_SWAP_CHECKS_VERSION);
		return tsarc_step_admitted_word(s, "redis_rdb_version", word);
	}
	version = (int)recorded;
	if (tsarc_step_in_pod(r, s))
		rc = tsarc_redis_swap_pod_version(r, s, version, word, sizeof(word));
	else if (!dst)
		snprintf(word, sizeof(word), "version %d, not compared by the plan: the server was "
			"not reached when the plan was made; " TSARC_REDIS_SWAP_CHECKS_VERSION, version);
	else if (tsarc_redis_payload_taken(dst, version, &taken)) {
		snprintf(word, sizeof(word), "version %d, not compared by the plan: Redis at %s "
			"does not tell this user (%s); " TSARC_REDIS_SWAP_CHECKS_VERSION, version,
			tsarc_redis_where(dst), tsarc_error_last()->message);
		tsarc_error_clear();
	} else if (taken) {
		plan_server_name(dst, name, sizeof(name));
		snprintf(word, sizeof(word), "version %d, which %s at %s reads (it RESTOREs "
			"payloads of that version); " TSARC_REDIS_SWAP_CHECKS_VERSION " too", version,
			name, tsarc_redis_where(dst));
	}
	else if (!(rc = tsarc_redis_payload_highest(dst, version, &highest, most, sizeof(most))))
		rc = tsarc_error_set(TSARC_EUNSAFE, "the backup's RDB is version %d, and Redis at %s "
			"reads RDB files and payloads %s: its redis-check-rdb would refuse the RDB at "
			"the step, after the steps before it had written; nothing was restored. Restore "
			"it into a server that reads version %d: %s", version, tsarc_redis_where(dst),
			most, version, tsarc_redis_version_readers(version));
	if (rc) {
		tsarc_error_prefix("component '%s'", s->component);
		return rc;
	}
	return tsarc_step_admitted_word(s, "redis_rdb_version", word);
}

/* The plan's checks of step `s` share one connection to its target, where
 * tsarc's own client reaches it: none into a swap's server in its pod,
 * where the plan reads its configuration through the API and asks the
 * server only INFO server, by redis-cli in the pod. What they found is
 * kept for describe. */
int tsarc_redis_admit(tsarc_restore_ctx *r, tsarc_step *s)
{
	tsarc_redis_dbmap map;
	tsarc_redis *dst;
	char maptext[640];
	restore_path p;
	int rc;

	cJSON_Delete(s->admitted);
	s->admitted = NULL;
	if ((rc = run_dbmap(r, s, &map, maptext, sizeof(maptext))))
		return rc;
	if ((p = pick_path(r, s, tsarc_redis_dbmap_moves(&map))) == PATH_REFUSED)
		return refuse_swap(s, &map);
	dst = p == PATH_SWAP && tsarc_step_in_pod(r, s) ? NULL : plan_target(r, s);
	if (!(rc = admit_target(s, p, dst)) && !(rc = admit_dbs(s, p, &map, dst)) &&
		!(p == PATH_SWAP && ((rc = admit_swap_access(s, dst)) ||
		    (rc = admit_swap_files(r, s, dst)))) &&
		!(p != PATH_SWAP && (rc = admit_load_access(s, p, dst))) &&
		!(rc = admit_private(r, s, p, dst, &map)) &&
		!(rc = admit_memory(r, s, p, dst)) &&
		/* Last: in a pod it runs redis-cli there. */
		!(p == PATH_SWAP && (rc = admit_swap_version(r, s, dst))) && p != PATH_SWAP)
		note_server_id(s, dst);
	tsarc_redis_close(dst);
	return rc;
}

int tsarc_redis_restore(tsarc_restore_ctx *r, tsarc_step *s)
{
	tsarc_redis_dbmap map;
	char maptext[640];
	int rc;

	/* Before anything is written: a number that cannot be read stops the
	 * step here. */
	if ((rc = run_dbmap(r, s, &map, maptext, sizeof(maptext))))
		return rc;
	switch (pick_path(r, s, tsarc_redis_dbmap_moves(&map))) {
	case PATH_LOGICAL:
		return restore_logical(r, s, &map, maptext);
	case PATH_PRIVATE:
		return restore_private(r, s, &map, maptext);
	case PATH_REFUSED:
		return refuse_swap(s, &map);
	default:
		if ((rc = tsarc_redis_swap_restore(r, s)))
			return rc;
		if (!s->detail)
			s->detail = cJSON_CreateObject();
		if (s->detail)
			cJSON_AddStringToObject(s->detail, "redis_databases", maptext);
		return 0;
	}
}

void tsarc_redis_describe(tsarc_restore_ctx *r, const tsarc_step *s, const char *where,
	cJSON *plan)
{
	static const char *const how[] = {
		"logical: the stream read and checked whole first, then each database emptied "
		"(FLUSHDB, or SCAN + DEL where refused), RESTORE ... REPLACE ABSTTL pipelined, keys "
		"expired since the backup skipped, key counts and digest compared; no restart, no "
		"configuration",
		"RDB loaded by a private redis-server tsarc starts on a unix socket in a private "
		"folder, then copied logically (FLUSHDB or DEL, RESTORE ... REPLACE ABSTTL) and "
		"checked; no restart, no configuration of the target",
		"RDB swap: the configuration the restart reads checked against the running "
		"server's dir and dbfilename, the RDB read by the server's own redis-check-rdb "
		"(valkey-check-rdb for a Valkey) first, persistence off, restart, files moved "
		"aside, RDB in place, restart, the keys loaded counted against the RDB's, "
		"persistence back on",
	};
	tsarc_redis_dbmap map;
	tsarc_redis_conf conf;
	char buf[1024], addr[600], maptext[640], dbtext[96], mapped[112] = "";
	const char *cf;
	restore_path p;

	/* The plan says what the run would refuse, without failing. */
	if (step_dbmap(r, s, &map, maptext, sizeof(maptext))) {
		snprintf(maptext, sizeof(maptext), "refused: %s", tsarc_error_last()->message);
		tsarc_error_clear();
	}
	tsarc_redis_dbmap_text(&map, dbtext, sizeof(dbtext));
	if (*dbtext)
		snprintf(mapped, sizeof(mapped), ", %s", dbtext);
	cJSON_AddStringToObject(plan, "redis_databases", maptext);
	if ((p = pick_path(r, s, tsarc_redis_dbmap_moves(&map))) == PATH_REFUSED) {
		refuse_swap(s, &map);
		snprintf(buf, sizeof(buf), "Redis %s%s", where, mapped);
		cJSON_AddStringToObject(plan, "target", buf);
		cJSON_AddStringToObject(plan, "redis_restore", tsarc_error_last()->message);
		tsarc_error_clear();
		return;
	}

	if (p == PATH_SWAP) {
		if (!(cf = tsarc_spec_str(s->recipe, "config_file")))
			cf = tsarc_spec_str(s->recipe, "config_map");
		snprintf(buf, sizeof(buf), "Redis %s (%s)%s", where, cf ? cf : "?", mapped);
		cJSON_AddStringToObject(plan, "target", buf);
		cJSON_AddStringToObject(plan, "replaces", "the whole data set (dump.rdb and AOF "
			"moved aside, two restarts)");
		tsarc_step_plan_admitted(s, plan); /* admit_memory's word */
	} else {
		/* The address the client will use: through Sentinel, or TLS, the
		 * Secret says more than the endpoint. */
		if (!step_conf(r, s, &conf)) {
			tsarc_redis_conf_describe(&conf, addr, sizeof(addr));
			snprintf(buf, sizeof(buf), "Redis %s (%s)%s", where, addr, mapped);
			if (tsarc_redis_conf_role_replica(&conf))
				cJSON_AddStringToObject(plan, "redis_sentinel_role", "the Secret's "
					"SENTINEL_ROLE is slave: the restore writes to the master of the group "
					"(a replica is never a restore target; the backup reads a replica)");
			tsarc_redis_conf_free(&conf);
		} else {
			snprintf(buf, sizeof(buf), "Redis %s%s", where, mapped);
		}
		tsarc_error_clear();
		cJSON_AddStringToObject(plan, "target", buf);
		cJSON_AddStringToObject(plan, "replaces", "every key of every database (the "
			"target must be a master)");
		tsarc_step_plan_admitted(s, plan); /* admit_memory's word */
	}
	/* The plan does not read the stream: where the snapshot does not say
	 * (a tsarc before "redis_functions"), the restore's check pass
	 * decides, and the plan says both outcomes. */
	if (p == PATH_LOGICAL && stream_functions(s, 0) == TSARC_REDIS_FUNCTIONS_KEEP &&
		s->st && !tsarc_spec_str(s->st->meta, "redis_functions"))
		cJSON_AddStringToObject(plan, "redis_functions", "the target's function libraries "
			"are replaced by those the stream holds, if it holds any (read whole before "
			"the first write); if it holds none, the target's are left as they are: the "
			"snapshot, from an older tsarc, does not say whether the backup could read "
			"the source's");
	else if (p == PATH_LOGICAL && stream_functions(s, 0) == TSARC_REDIS_FUNCTIONS_KEEP)
		cJSON_AddStringToObject(plan, "redis_functions", "the target's function libraries "
			"are kept: the backup could not read the source's (redis_functions \"not "
			"readable\") and holds none");
	if (*dbtext && p == PATH_PRIVATE && pick_path(r, s, 0) == PATH_SWAP) {
		snprintf(buf, sizeof(buf), "%s (not the RDB swap: it puts the backup's files in "
			"place with their database numbers and cannot map %s)", how[p], dbtext);
		cJSON_AddStringToObject(plan, "redis_restore", buf);
	} else {
		cJSON_AddStringToObject(plan, "redis_restore", how[p]);
	}
}
