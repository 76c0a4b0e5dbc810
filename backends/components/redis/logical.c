/*
 * The logical backup: SCAN each database, DUMP and PEXPIRETIME each key,
 * pipelined (one batch of keys and the next SCAN in flight together), and
 * the RESP stream of logical.h written out. Also what backup and restore
 * both need: how many databases a server has, and emptying them.
 *
 * Not a point-in-time image: a key written during the scan may or may not
 * be in it, and a key's value and expiry are read by two commands. SCAN
 * guarantees every key present for the whole scan is returned (perhaps
 * twice: a repeat is written once per batch, and a second RESTORE REPLACE
 * of the same key is harmless).
 */
#include "interrupt.h"
#include "log.h"
#include "logical.h"
#include "sentinel.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Keys asked per SCAN and so per pipelined batch (3 replies a key). */
#define SCAN_COUNT "1000"
/* How often the emptying asks whether the target's lazy frees are done
 * (a background free of gigabytes takes seconds). */
#define LAZYFREE_POLL_MS 20
#define OUTBUF (256u * 1024u)

int64_t tsarc_redis_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tsarc_redis_stats_free(tsarc_redis_stats *st)
{
	if (st) {
		free(st->db_keys);
		st->db_keys = NULL;
		st->ndb = 0;
	}
}

int tsarc_redis_stats_add_db(tsarc_redis_stats *st, int db, unsigned long long add)
{
	if (db >= st->ndb) {
		unsigned long long *n = realloc(st->db_keys, (size_t)(db + 1) * sizeof(*n));
		if (!n)
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		memset(n + st->ndb, 0, (size_t)(db + 1 - st->ndb) * sizeof(*n));
		st->db_keys = n;
		st->ndb = db + 1;
	}
	st->db_keys[db] += add;
	return 0;
}

int tsarc__redis_select(tsarc_redis *r, int db, int *out_of_range)
{
	tsarc_redis_reply *rep = NULL;
	char n[16];
	int rc;

	snprintf(n, sizeof(n), "%d", db);
	if ((rc = tsarc_redis_command(r, &rep, "SELECT", n, NULL)))
		return rc;
	if (rep->type == '-') {
		if (out_of_range && strstr(rep->str, "out of range")) {
			*out_of_range = 1;
		} else {
			rc = tsarc_error_set(TSARC_EIO, "Redis at %s: SELECT %d: %s",
				tsarc_redis_where(r), db, rep->str);
		}
	}
	tsarc_redis_reply_free(rep);
	return rc;
}

int tsarc_redis_db_count(tsarc_redis *r, int *count)
{
	tsarc_redis_reply *rep = NULL;
	int rc, db, oor, lo = -1, hi = TSARC_REDIS_DB_MAX + 1;

	*count = 0;
	if ((rc = tsarc_redis_command(r, &rep, "CONFIG", "GET", "databases", NULL)))
		return rc;
	if (rep->type == '*' && rep->nelem == 2 && rep->elem[1]->type == '$') {
		long n = strtol(rep->elem[1]->str, NULL, 10);
		if (n > 0 && n <= TSARC_REDIS_DB_MAX) {
			*count = (int)n;
			tsarc_redis_reply_free(rep);
			return 0;
		}
	}
	tsarc_redis_reply_free(rep);
	/* CONFIG refused (a managed Redis): SELECT answers "out of range" for
	 * every database past the last and for none before it, so the count
	 * is bisected between the highest that answers (`lo`) and the lowest
	 * out of range (`hi`): some 20 SELECTs, whatever it is. Before,
	 * SELECT was probed upwards to 1024 and no further: the databases
	 * past it were left out of a backup without a word. */
	while (hi - lo > 1) {
		db = lo + (hi - lo) / 2;
		oor = 0;
		if ((rc = tsarc__redis_select(r, db, &oor)))
			return rc;
		if (oor)
			hi = db;
		else
			lo = db;
	}
	if (hi > TSARC_REDIS_DB_MAX)
		return tsarc_error_set(TSARC_EUNSUPPORTED, "Redis at %s answers SELECT %d: it has "
			"more databases than tsarc handles (%d)", tsarc_redis_where(r),
			TSARC_REDIS_DB_MAX, TSARC_REDIS_DB_MAX);
	*count = hi;
	return hi ? tsarc__redis_select(r, 0, NULL) : tsarc_error_set(TSARC_EIO,
		"Redis at %s: SELECT 0 is out of range", tsarc_redis_where(r));
}

int tsarc__redis_dbsize(tsarc_redis *r, long long *n)
{
	tsarc_redis_reply *rep = NULL;
	int rc = tsarc_redis_command_ok(r, &rep, "DBSIZE", "DBSIZE", NULL);

	if (!rc && rep->type != ':')
		rc = tsarc_error_set(TSARC_ECORRUPT, "Redis at %s: DBSIZE is not a number",
			tsarc_redis_where(r));
	if (!rc)
		*n = rep->integer;
	tsarc_redis_reply_free(rep);
	return rc;
}

/* ---- the output ---- */

typedef struct writer {
	tsarc_redis_out_fn fn;
	void *ctx;
	char *buf;
	size_t len;
} writer;

static int w_flush(writer *w)
{
	int rc = 0;

	if (w->len)
		rc = w->fn(w->ctx, w->buf, w->len);
	w->len = 0;
	return rc;
}

static int w_put(writer *w, const void *data, size_t len)
{
	int rc;

	if (w->len + len > OUTBUF && (rc = w_flush(w)))
		return rc;
	if (len > OUTBUF)
		return w->fn(w->ctx, data, len);
	memcpy(w->buf + w->len, data, len);
	w->len += len;
	return 0;
}

static int w_bulk(writer *w, const void *data, size_t len)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "$%zu\r\n", len), rc;

	if ((rc = w_put(w, head, (size_t)n)) || (rc = w_put(w, data, len)) ||
		(rc = w_put(w, "\r\n", 2)))
		return rc;
	return 0;
}

static int w_command(writer *w, int argc, const char *const argv[], const size_t lens[])
{
	char head[16];
	int n = snprintf(head, sizeof(head), "*%d\r\n", argc), i, rc;

	if ((rc = w_put(w, head, (size_t)n)))
		return rc;
	for (i = 0; i < argc; i++)
		if ((rc = w_bulk(w, argv[i], lens ? lens[i] : strlen(argv[i]))))
			return rc;
	return 0;
}

/* ---- the backup ---- */

/* Whether the server has PEXPIRETIME (7.0+) and lets us use it. */
static int has_pexpiretime(tsarc_redis *r, int *yes)
{
	tsarc_redis_reply *rep = NULL;
	int rc = tsarc_redis_command(r, &rep, "PEXPIRETIME", "tsarc:probe:none", NULL);

	if (!rc)
		*yes = rep->type == ':';
	tsarc_redis_reply_free(rep);
	return rc;
}

static int dump_functions(tsarc_redis *r, writer *w, tsarc_redis_stats *st)
{
	tsarc_redis_reply *rep = NULL;
	int rc;

	if ((rc = tsarc_redis_command(r, &rep, "FUNCTION", "LIST", NULL)))
		return rc;
	if (rep->type != '*' || rep->nelem == 0) {
		st->functions = rep->type == '*' ? 0 : -1;
		tsarc_redis_reply_free(rep);
		return 0;
	}
	tsarc_redis_reply_free(rep);
	if ((rc = tsarc_redis_command_ok(r, &rep, "FUNCTION DUMP", "FUNCTION", "DUMP", NULL)))
		return rc;
	if (rep->type == '$') {
		const char *argv[] = {"FUNCTION", "RESTORE", rep->str, "REPLACE"};
		size_t lens[] = {8, 7, rep->len, 7};
		rc = w_command(w, 4, argv, lens);
		st->functions = 1;
		/* Its floor too: a Redis 6 has no functions (payload.h). */
		tsarc_redis_note_payload(st, rep->str, rep->len);
	}
	tsarc_redis_reply_free(rep);
	return rc;
}

/* One batch: the keys of a SCAN reply, each DUMP + expiry, and the next
 * SCAN (when `cursor` is not "0") in the same pipeline. */
static int dump_batch(tsarc_redis *r, writer *w, const tsarc_redis_reply *keys, int db,
	const char *cursor, int exact, tsarc_redis_stats *st, tsarc_redis_reply **next)
{
	int64_t now = exact ? 0 : tsarc_redis_now_ms();
	size_t i;
	int rc = 0;

	*next = NULL;
	for (i = 0; i < keys->nelem; i++) {
		const char *argv[2] = {"DUMP", keys->elem[i]->str};
		size_t lens[2] = {4, keys->elem[i]->len};
		if ((rc = tsarc_redis_append(r, 2, argv, lens)))
			return rc;
		argv[0] = exact ? "PEXPIRETIME" : "PTTL";
		lens[0] = strlen(argv[0]);
		if ((rc = tsarc_redis_append(r, 2, argv, lens)))
			return rc;
	}
	if (strcmp(cursor, "0")) {
		const char *argv[] = {"SCAN", cursor, "COUNT", SCAN_COUNT};
		if ((rc = tsarc_redis_append(r, 4, argv, NULL)))
			return rc;
	}
	for (i = 0; i < keys->nelem && !rc; i++) {
		tsarc_redis_reply *dump = NULL, *ttl = NULL;
		if ((rc = tsarc_redis_read(r, &dump)) || (rc = tsarc_redis_read(r, &ttl)))
			goto next;
		if (dump->type == '-' || ttl->type == '-') {
			rc = tsarc_error_set(TSARC_EIO, "Redis at %s: DUMP or %s in database %d: %s",
				tsarc_redis_where(r), exact ? "PEXPIRETIME" : "PTTL", db,
				dump->type == '-' ? dump->str : ttl->str);
		} else if (dump->type != '$' || ttl->type != ':' || ttl->integer == -2) {
			st->vanished++; /* deleted or expired since the SCAN */
		} else {
			char expiry[32];
			long long at = ttl->integer < 0 ? 0 : exact ? ttl->integer : now + ttl->integer;
			const char *argv[] = {"RESTORE", keys->elem[i]->str, expiry, dump->str,
				"REPLACE", "ABSTTL"};
			size_t lens[6] = {7, keys->elem[i]->len, 0, dump->len, 7, 6};
			/* PEXPIRETIME 0 would read as "no expiry" to RESTORE. */
			if (ttl->integer >= 0 && at < 1)
				at = 1;
			lens[2] = (size_t)snprintf(expiry, sizeof(expiry), "%lld", at);
			if (!(rc = w_command(w, 6, argv, lens)) && !(rc = tsarc_redis_stats_add_db(st, db, 1))) {
				st->keys++;
				st->bytes += dump->len;
				tsarc_redis_note_payload(st, dump->str, dump->len);
			}
		}
next:
		tsarc_redis_reply_free(dump);
		tsarc_redis_reply_free(ttl);
	}
	if (!rc && strcmp(cursor, "0"))
		rc = tsarc_redis_read(r, next);
	return rc;
}

int tsarc__redis_scan_ok(tsarc_redis *r, const tsarc_redis_reply *rep, int db)
{
	size_t i;

	if (rep->type == '-')
		return tsarc_error_set(TSARC_EIO, "Redis at %s: SCAN in database %d: %s",
			tsarc_redis_where(r), db, rep->str);
	if (rep->type != '*' || rep->nelem != 2 || rep->elem[0]->type != '$' ||
		rep->elem[1]->type != '*')
		return tsarc_error_set(TSARC_ECORRUPT, "Redis at %s: SCAN reply is not a cursor "
			"and keys", tsarc_redis_where(r));
	for (i = 0; i < rep->elem[1]->nelem; i++)
		if (rep->elem[1]->elem[i]->type != '$')
			return tsarc_error_set(TSARC_ECORRUPT, "Redis at %s: SCAN returned a key "
				"that is not a string", tsarc_redis_where(r));
	return 0;
}

static int dump_db(tsarc_redis *r, writer *w, int db, int exact, const atomic_int *stop,
	tsarc_redis_stats *st)
{
	tsarc_redis_reply *rep = NULL, *next = NULL;
	char n[16];
	const char *sel[] = {"SELECT", n};
	int rc;

	snprintf(n, sizeof(n), "%d", db);
	if ((rc = w_command(w, 2, sel, NULL)) || (rc = tsarc_redis_stats_add_db(st, db, 0)) ||
		(rc = tsarc_redis_command(r, &rep, "SCAN", "0", "COUNT", SCAN_COUNT, NULL)))
		return rc;
	while (!(rc = tsarc__redis_scan_ok(r, rep, db))) {
		if (stop && atomic_load(stop)) {
			rc = tsarc_error_set(TSARC_ECANCELED, "Redis backup canceled");
			break;
		}
		rc = dump_batch(r, w, rep->elem[1], db, rep->elem[0]->str, exact, st, &next);
		tsarc_redis_reply_free(rep);
		rep = next;
		if (rc || !rep)
			break;
	}
	tsarc_redis_reply_free(rep);
	return rc;
}

int tsarc_redis_logical_dump(tsarc_redis *src, tsarc_redis_out_fn out, void *ctx,
	const atomic_int *stop, tsarc_redis_stats *st)
{
	writer w = {out, ctx, NULL, 0};
	int ndb, db, rc;

	/* A replica is read only while its link is up: before the first
	 * read, and again after the last (a link that broke, or a full sync
	 * that began, during the scan: part of what was read is stale). */
	if ((rc = tsarc_redis_require_linked(src)))
		return rc;
	if (!(w.buf = malloc(OUTBUF)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if ((rc = tsarc_redis_db_count(src, &ndb)) ||
		(rc = has_pexpiretime(src, &st->exact_expiry)) ||
		(rc = dump_functions(src, &w, st)))
		goto done;
	for (db = 0; db < ndb && !rc; db++) {
		long long n = 0;
		if (!(rc = tsarc__redis_select(src, db, NULL)) && !(rc = tsarc__redis_dbsize(src, &n)) && n > 0)
			rc = dump_db(src, &w, db, st->exact_expiry, stop, st);
	}
	if (!rc && !(rc = tsarc_redis_require_linked(src)))
		rc = w_flush(&w);
done:
	free(w.buf);
	return rc;
}

/* ---- emptying the target ---- */

int tsarc_redis_require_dbs(tsarc_redis *dst, int ndb)
{
	int have, rc;

	if (ndb <= 1)
		return 0;
	if ((rc = tsarc_redis_db_count(dst, &have)))
		return rc;
	if (have == 1)
		return tsarc_error_set(TSARC_EUNSUPPORTED, "the backup's keys go to database %d "
			"(its own number, or the one the target's URL names), Redis at %s has "
			"database 0 only: nothing was written", ndb - 1, tsarc_redis_where(dst));
	if (have < ndb)
		return tsarc_error_set(TSARC_EUNSUPPORTED, "the backup's keys go to database %d "
			"(its own number, or the one the target's URL names), Redis at %s has %d "
			"databases (0 to %d): nothing was written", ndb - 1,
			tsarc_redis_where(dst), have, have - 1);
	return 0;
}

static int del_all(tsarc_redis *r, int db, tsarc_redis_stats *st)
{
	tsarc_redis_reply *rep = NULL;
	char cursor[32] = "0";
	int rc;

	do {
		size_t i;
		tsarc_redis_reply *keys;
		if ((rc = tsarc_redis_command(r, &rep, "SCAN", cursor, "COUNT", SCAN_COUNT, NULL)) ||
			(rc = tsarc__redis_scan_ok(r, rep, db)))
			break;
		snprintf(cursor, sizeof(cursor), "%s", rep->elem[0]->str);
		keys = rep->elem[1];
		for (i = 0; i < keys->nelem && !rc; i++) {
			const char *argv[] = {"DEL", keys->elem[i]->str};
			size_t lens[] = {3, keys->elem[i]->len};
			rc = tsarc_redis_append(r, 2, argv, lens);
		}
		for (i = 0; i < keys->nelem && !rc; i++) {
			tsarc_redis_reply *d = NULL;
			if (!(rc = tsarc_redis_read(r, &d)) && d->type == '-')
				rc = tsarc_error_set(TSARC_EIO, "Redis at %s: DEL in database %d: %s",
					tsarc_redis_where(r), db, d->str);
			else if (!rc && d->type == ':')
				st->deleted += (unsigned long long)d->integer;
			tsarc_redis_reply_free(d);
		}
		tsarc_redis_reply_free(rep);
		rep = NULL;
	} while (!rc && strcmp(cursor, "0"));
	tsarc_redis_reply_free(rep);
	return rc;
}

/* The target's function libraries go before its keys: after the restore
 * it holds the backup's (FUNCTION RESTORE in the stream), as after an RDB
 * swap, not theirs and the backup's side by side. A server without
 * functions (before Redis 7) or a user not allowed to list them has none
 * to remove that tsarc could see; a refused FUNCTION FLUSH stops the
 * restore here, with the target untouched. Where the backup could not
 * read the source's (KEEP), the target's are counted and left: the
 * backup holds nothing to put in their place. */
static int clear_functions(tsarc_redis *dst, tsarc_redis_functions functions,
	tsarc_redis_stats *st)
{
	tsarc_redis_reply *rep = NULL;
	size_t n;
	int rc;

	if ((rc = tsarc_redis_command(dst, &rep, "FUNCTION", "LIST", NULL)))
		return rc;
	n = rep->type == '*' ? rep->nelem : 0;
	tsarc_redis_reply_free(rep);
	rep = NULL;
	if (functions != TSARC_REDIS_FUNCTIONS_REPLACE) {
		st->functions_kept = 1;
		st->functions_kept_n = n;
		return 0;
	}
	if (n == 0)
		return 0;
	if ((rc = tsarc_redis_command(dst, &rep, "FUNCTION", "FLUSH", NULL)))
		return rc;
	if (rep->type == '-')
		rc = tsarc_error_set(TSARC_EIO, "Redis at %s holds %zu function "
			"librar%s the backup may not have, and FUNCTION FLUSH was refused: %s",
			tsarc_redis_where(dst), n, n == 1 ? "y" : "ies", rep->str);
	else
		st->functions_removed = n;
	tsarc_redis_reply_free(rep);
	return rc;
}

/*
 * A target that frees in the background (lazyfree-lazy-user-flush yes,
 * common on a managed Redis, or lazyfree-lazy-user-del yes) answers
 * FLUSHDB, or DEL of a large value, before the memory is free: the load's
 * first RESTOREs, which the memory check admitted against the target
 * emptied, would meet memory not yet freed (OOM halfway with noeviction,
 * evictions otherwise). So FLUSHDB SYNC, which frees before it answers,
 * where the server knows it (Redis >= 6.2; an older one answers "ERR
 * syntax error", and has no lazy user flush: its FLUSHDB frees first);
 * and, once emptied whichever way, a wait until the server has no lazy
 * free pending (INFO memory's lazyfree_pending_objects), which the DELs of
 * a user without FLUSHDB may have left.
 */
static int flushdb(tsarc_redis *dst, tsarc_redis_reply **rep)
{
	int rc = tsarc_redis_command(dst, rep, "FLUSHDB", "SYNC", NULL);

	if (!rc && (*rep)->type == '-' && !strncmp((*rep)->str, "ERR syntax error", 16)) {
		tsarc_redis_reply_free(*rep);
		*rep = NULL;
		rc = tsarc_redis_command(dst, rep, "FLUSHDB", NULL);
	}
	return rc;
}

/* The wait for the lazy frees, at most `wait_s` seconds. One that runs
 * out does not stop the restore: the target is emptied by then, and
 * failing there left it empty with nothing of the backup loaded. The load
 * goes on, said in the log and (st->lazyfree_pending, the objects still
 * pending) in the step's report: memory really short still stops it
 * loudly, the server's OOM answer to a RESTORE, or the evictions counted
 * after the load. */
static int lazyfree_wait(tsarc_redis *dst, int wait_s, tsarc_redis_stats *st)
{
	struct timespec ts = {0, LAZYFREE_POLL_MS * 1000000L};
	unsigned long long pending = 0;
	int i, rc;

	for (i = 0; i <= wait_s * 1000 / LAZYFREE_POLL_MS; i++) {
		tsarc_redis_reply *rep = NULL;
		char value[32];
		if (i)
			nanosleep(&ts, NULL);
		if (tsarc_interrupted())
			return tsarc_interrupt_error();
		if ((rc = tsarc_redis_command(dst, &rep, "INFO", "memory", NULL)))
			return rc;
		/* Refused to this user, or a server without lazy free: nothing
		 * to wait for that can be seen. */
		pending = rep->type == '$' && tsarc_redis_info_line(rep->str,
			"lazyfree_pending_objects", value, sizeof(value)) ? strtoull(value, NULL, 10) : 0;
		tsarc_redis_reply_free(rep);
		if (!pending)
			return 0;
	}
	st->lazyfree_pending = pending;
	tsarc__log(TSARC_LOG_WARN, "redis", "lazyfree_pending", "Redis at %s still had %llu objects "
		"to free in the background (lazyfree_pending_objects) %d s after it was emptied "
		"(\"lazyfree_wait\"): the restore loads it anyway", tsarc_redis_where(dst), pending,
		wait_s);
	return 0;
}

int tsarc_redis_clear(tsarc_redis *dst, tsarc_redis_functions functions, int lazyfree_wait_s,
	tsarc_redis_stats *st)
{
	int ndb, db, rc;

	st->flush = 1;
	if ((rc = clear_functions(dst, functions, st))) {
		tsarc_error_prefix("emptying Redis at %s before the restore; nothing of the "
			"backup was written, nothing of the target removed", tsarc_redis_where(dst));
		return rc;
	}
	if ((rc = tsarc_redis_db_count(dst, &ndb)))
		return rc;
	for (db = 0; db < ndb && !rc; db++) {
		tsarc_redis_reply *rep = NULL;
		long long n = 0;
		if ((rc = tsarc__redis_select(dst, db, NULL)) || (rc = tsarc__redis_dbsize(dst, &n)))
			break;
		if (n == 0)
			continue;
		if (st->flush && !(rc = flushdb(dst, &rep))) {
			if (tsarc_redis_reply_refused(rep))
				st->flush = 0;
			else if (rep->type == '-')
				rc = tsarc_error_set(TSARC_EIO, "Redis at %s: FLUSHDB in database %d: %s",
					tsarc_redis_where(dst), db, rep->str);
		}
		tsarc_redis_reply_free(rep);
		if (!rc && !st->flush)
			rc = del_all(dst, db, st);
		if (rc)
			break;
	}
	if (rc && (db || st->deleted))
		tsarc_error_prefix("emptying Redis at %s before the restore stopped in database %d "
			"(%s%llu keys deleted one by one); nothing of the backup was written",
			tsarc_redis_where(dst), db, db ? "the databases before it emptied, " : "",
			st->deleted);
	else if (rc)
		tsarc_error_prefix("emptying Redis at %s before the restore; nothing of the backup "
			"was written", tsarc_redis_where(dst));
	if (!rc && (rc = lazyfree_wait(dst, lazyfree_wait_s, st)))
		tsarc_error_prefix("Redis at %s was emptied; nothing of the backup was written",
			tsarc_redis_where(dst));
	return rc ? rc : tsarc__redis_select(dst, 0, NULL);
}
