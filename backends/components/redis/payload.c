/*
 * DUMP payloads rewritten for an older server (payload.h).
 */
#include "payload.h"
#include "digest.h"
#include "logical.h"
#include "packed.h"
#include "rdbvalue.h"
#include "tsarc/errors.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis 7.0's default set-max-intset-entries: a plain set of at most this
 * many integers it holds as an intset. */
#define INTSET_MAX 512

/* ---- the walkers ----
 * Each reads an object whole, checking all it reads, and writes what an
 * older version holds into `out` as it goes. With `out` NULL it writes
 * nothing: the same reading and the same checks, to the same verdict, is
 * the floor's check of a payload (tsarc_redis_payload_floor) before a
 * restore empties its target, at the cost of reading the object rather
 * than of rewriting it (a small hash: no allocation, no ziplist). */

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* The entry as an intset's member: an integer, or a string that is one as
 * Redis prints it; 0 when it is neither. */
static int set_int(const tsarc_pack_entry *e, long long *v)
{
	if (e->is_int) {
		*v = e->v;
		return 1;
	}
	return tsarc_pack_canonical_int(e->p, e->len, v);
}

/* A listpack set (`lp`, len bytes) as Redis 7.0 holds it (payload.h): an
 * intset, or a plain set, into out (the object, without the trailer); -1
 * when its listpack is damaged or empty. An intset's members are sorted
 * whether written or not: one held twice is damage the floor finds as
 * the rewrite does. */
static int set_down(const unsigned char *lp, size_t len, tsarc_buf *out)
{
	long long vals[INTSET_MAX];
	tsarc_listpack_iter it;
	tsarc_pack_entry e;
	unsigned char t = TSARC_RDB_SET, head[8];
	size_t n, i, k;
	int r, ints = 1, width = 2;

	if (tsarc_listpack_open(&it, lp, len))
		return -1;
	while ((r = tsarc_listpack_next(&it, &e)) > 0)
		if (ints && (it.n > INTSET_MAX || !set_int(&e, &vals[it.n - 1])))
			ints = 0;
	if (r || !(n = it.n))
		return -1;
	if (ints) {
		qsort(vals, n, sizeof(*vals), cmp_ll);
		for (i = 0; i < n; i++) {
			if (i && vals[i] == vals[i - 1])
				return tsarc_error_set(TSARC_ECORRUPT, "a set's listpack holds %lld twice",
					vals[i]);
			if (vals[i] < INT32_MIN || vals[i] > INT32_MAX)
				width = 8;
			else if ((vals[i] < INT16_MIN || vals[i] > INT16_MAX) && width < 4)
				width = 4;
		}
		if (!out)
			return 0;
		/* One RDB string: the member width and count (4 bytes each,
		 * little-endian), the members. */
		for (k = 0; k < 4; k++) {
			head[k] = (unsigned char)((unsigned)width >> (8 * k));
			head[4 + k] = (unsigned char)((uint64_t)n >> (8 * k));
		}
		t = TSARC_RDB_SET_INTSET;
		tsarc_buf_append(out, &t, 1);
		tsarc_rdb_put_len(out, 8 + n * (size_t)width);
		tsarc_buf_append(out, head, 8);
		for (i = 0; i < n; i++) {
			unsigned char m[8];
			for (k = 0; k < (size_t)width; k++)
				m[k] = (unsigned char)((uint64_t)vals[i] >> (8 * k));
			tsarc_buf_append(out, m, (size_t)width);
		}
		return tsarc_buf_status(out);
	}
	if (!out)
		return 0;
	tsarc_buf_append(out, &t, 1);
	tsarc_rdb_put_len(out, n);
	tsarc_listpack_open(&it, lp, len); /* read again, whole as it was */
	while (tsarc_listpack_next(&it, &e) > 0) {
		char num[24];
		if (e.is_int) {
			int w = snprintf(num, sizeof(num), "%lld", e.v);
			tsarc_rdb_put_string(out, num, (size_t)w);
		} else {
			tsarc_rdb_put_string(out, e.p, e.len);
		}
	}
	return tsarc_buf_status(out);
}

/* ---- listpacks to ziplists (Redis 6) ---- */

/* The one RDB string, compressed or not, the object `body` (n bytes) is
 * after its type; -1 when there is none or more. */
static int object_string(const unsigned char *body, size_t n, tsarc_rdb_str *s)
{
	tsarc_rdb_cursor c = {body + 1, body + n};

	return tsarc_rdb_string(&c, s) || c.p != c.end ? -1 : 0;
}

/* The ziplist `w` wrote into `zl` ended, and put into out as one RDB
 * string; out NULL: ended only (measured). */
static int ziplist_done(tsarc_ziplist_writer *w, const tsarc_buf *zl, tsarc_buf *out)
{
	int rc;

	if ((rc = tsarc_ziplist_end(w)) || !out)
		return rc;
	tsarc_rdb_put_string(out, zl->ptr, zl->size);
	return tsarc_buf_status(out);
}

/* The listpack `lp` (len bytes) as a ziplist of the same entries, entry
 * by entry as it is read, into out (one RDB string, built in `zl`); -1
 * when it is not a whole listpack, is empty or (`pairs`) holds an odd
 * count of entries; TSARC_ETOOLARGE past a ziplist's 4 GiB. */
static int listpack_down(const unsigned char *lp, size_t len, int pairs, tsarc_buf *zl,
	tsarc_buf *out)
{
	tsarc_listpack_iter it;
	tsarc_ziplist_writer w;
	tsarc_pack_entry e;
	int r, rc;

	tsarc_buf_clear(zl);
	if (tsarc_listpack_open(&it, lp, len))
		return -1;
	if ((rc = tsarc_ziplist_begin(&w, out ? zl : NULL)))
		return rc;
	while ((r = tsarc_listpack_next(&it, &e)) > 0)
		if ((rc = tsarc_ziplist_add(&w, &e)))
			return rc;
	if (r || !it.n || (pairs && it.n % 2))
		return -1;
	return ziplist_done(&w, zl, out);
}

/* A node of one element (PLAIN), `s`, as a ziplist of it, into out as
 * listpack_down puts one. */
static int plain_down(const tsarc_rdb_str *s, tsarc_buf *zl, tsarc_buf *out)
{
	tsarc_pack_entry one = {0, 0, s->p, s->len};
	tsarc_ziplist_writer w;
	int rc;

	tsarc_buf_clear(zl);
	if ((rc = tsarc_ziplist_begin(&w, out ? zl : NULL)) || (rc = tsarc_ziplist_add(&w, &one)))
		return rc;
	return ziplist_done(&w, zl, out);
}

/* A list of Redis 7's layout (quicklist 2: nodes of one element or of a
 * listpack) as Redis 6's quicklist of ziplists, node for node; -1 when
 * damaged (an unknown container, a node that is no listpack or is empty:
 * Redis 7 writes none). */
static int quicklist_down(const unsigned char *body, size_t n, tsarc_buf *out)
{
	tsarc_rdb_cursor c = {body + 1, body + n};
	tsarc_buf zl = TSARC_BUF_INIT;
	unsigned char t = TSARC_RDB_LIST_QUICKLIST;
	uint64_t nodes, i, container;
	int special, rc = 0;

	if (tsarc_rdb_len(&c, &nodes, &special) || special || !nodes || nodes > n)
		return -1;
	if (out) {
		tsarc_buf_append(out, &t, 1);
		tsarc_rdb_put_len(out, nodes);
	}
	for (i = 0; !rc && i < nodes; i++) {
		tsarc_rdb_str s;
		if (tsarc_rdb_len(&c, &container, &special) || special ||
			(container != TSARC_RDB_NODE_PLAIN && container != TSARC_RDB_NODE_PACKED)) {
			rc = -1;
			break;
		}
		if (tsarc_rdb_string(&c, &s))
			rc = -1;
		else if (container == TSARC_RDB_NODE_PLAIN)
			rc = plain_down(&s, &zl, out);
		else
			rc = listpack_down(s.p, s.len, 0, &zl, out);
		tsarc_rdb_str_free(&s);
	}
	tsarc_buf_dispose(&zl);
	return rc ? rc : c.p == c.end ? 0 : -1;
}

/* ---- streams ----
 * Three layouts, each the one before with more fields: Redis 7.0's (type
 * 19) adds to Redis 5's and 6's (15) the stream's first ID, its largest
 * deleted ID and the count of entries ever added, and each group's count
 * of entries read; Redis 7.2's (21) adds each consumer's time it was last
 * active, after the time it was last seen. An older server has none of
 * them: the stream is written without them, every other byte as it was
 * (the strings as their writer encoded them, as the older server writes
 * them too). */

/* n RDB lengths; -1 when cut off. */
static int skip_lens(tsarc_rdb_cursor *c, int n, uint64_t *last)
{
	uint64_t v = 0;
	int special;

	while (n--)
		if (tsarc_rdb_len(c, &v, &special) || special)
			return -1;
	if (last)
		*last = v;
	return 0;
}

static int skip_raw(tsarc_rdb_cursor *c, size_t n)
{
	if ((size_t)(c->end - c->p) < n)
		return -1;
	c->p += n;
	return 0;
}

/* A walk that copies the object's bytes to `out` span by span, leaving
 * out the fields the older layout lacks (out NULL: copies nothing). */
typedef struct span_walk {
	tsarc_rdb_cursor c;
	const unsigned char *from; /* the first byte not yet copied */
	tsarc_buf *out;
} span_walk;

/* The field the cursor is at, `lens` RDB lengths or (lens 0) `raw` bytes,
 * passed: copied, or (`drop`) left out. */
static int field(span_walk *w, int lens, size_t raw, int drop)
{
	if (drop && w->out)
		tsarc_buf_append(w->out, w->from, (size_t)(w->c.p - w->from));
	if (lens ? skip_lens(&w->c, lens, NULL) : skip_raw(&w->c, raw))
		return -1;
	if (drop)
		w->from = w->c.p;
	return 0;
}

/* The stream object `body` (type 19 or 21, n bytes, without the trailer)
 * as one of type `to` (15 or 19) into `out`; -1 when damaged. */
static int stream_down(const unsigned char *body, size_t n, unsigned char to, tsarc_buf *out)
{
	span_walk w = {{body + 1, body + n}, body + 1, out};
	tsarc_rdb_cursor *c = &w.c;
	int v2 = to >= TSARC_RDB_STREAM_2, had3 = body[0] == TSARC_RDB_STREAM_3;
	uint64_t i, j, k, count, groups, pel, consumers;

	if (out)
		tsarc_buf_append(out, &to, 1);
	if (skip_lens(c, 1, &count))
		return -1;
	for (i = 0; i < count; i++) /* listpacks: their master ID and the listpack */
		if (tsarc_rdb_skip_string(c) || tsarc_rdb_skip_string(c))
			return -1;
	/* length, last ID; first ID, max deleted ID, entries added; groups */
	if (skip_lens(c, 3, NULL) || field(&w, 5, 0, !v2) || skip_lens(c, 1, &groups))
		return -1;
	for (i = 0; i < groups; i++) {
		/* name, last ID; entries read; the group's PEL */
		if (tsarc_rdb_skip_string(c) || skip_lens(c, 2, NULL) || field(&w, 1, 0, !v2) ||
			skip_lens(c, 1, &pel))
			return -1;
		for (j = 0; j < pel; j++) /* ID, delivery time, delivery count */
			if (skip_raw(c, 16 + 8) || skip_lens(c, 1, NULL))
				return -1;
		if (skip_lens(c, 1, &consumers))
			return -1;
		for (j = 0; j < consumers; j++) {
			/* name, seen time; active time; the consumer's PEL */
			if (tsarc_rdb_skip_string(c) || skip_raw(c, 8) ||
				(had3 && field(&w, 0, 8, 1)) || skip_lens(c, 1, &pel))
				return -1;
			for (k = 0; k < pel; k++)
				if (skip_raw(c, 16))
					return -1;
		}
	}
	if (c->p != c->end)
		return -1;
	if (out)
		tsarc_buf_append(out, w.from, (size_t)(c->p - w.from));
	return 0;
}

/* ---- floor and rewrite ---- */

/* Whether an object of type `t` is encoded otherwise at version `to`: in
 * a listpack or Redis 7.0's stream layout below 10, a listpack set or
 * Redis 7.2's stream layout below 11. */
static int reencoded(unsigned char t, int to)
{
	return (t >= TSARC_RDB_HASH_LISTPACK && t <= TSARC_RDB_STREAM_3 && to < 10) ||
		((t == TSARC_RDB_SET_LISTPACK || t == TSARC_RDB_STREAM_3) && to < 11);
}

/* What a damaged object of type `t` is, in an error. */
static const char *damaged(unsigned char t)
{
	switch (t) {
	case TSARC_RDB_HASH_LISTPACK:
		return "a hash whose listpack is damaged";
	case TSARC_RDB_ZSET_LISTPACK:
		return "a sorted set whose listpack is damaged";
	case TSARC_RDB_LIST_QUICKLIST_2:
		return "a list whose nodes are damaged";
	case TSARC_RDB_SET_LISTPACK:
		return "a set whose listpack is damaged";
	default:
		return "a stream whose consumer groups are damaged";
	}
}

/* The object `body` (n bytes, without the trailer; reencoded(type, to))
 * as version `to` encodes it into `out`, or (out NULL) only read and
 * checked as that would; TSARC_ECORRUPT when damaged. */
static int reencode(const unsigned char *body, size_t n, int to, tsarc_buf *out)
{
	unsigned char t = body[0];
	unsigned char zt = t == TSARC_RDB_HASH_LISTPACK ? TSARC_RDB_HASH_ZIPLIST :
		TSARC_RDB_ZSET_ZIPLIST;
	tsarc_buf zl = TSARC_BUF_INIT;
	tsarc_rdb_str blob;
	int rc = -1;

	switch (t) {
	case TSARC_RDB_HASH_LISTPACK:
	case TSARC_RDB_ZSET_LISTPACK:
		if (!object_string(body, n, &blob)) {
			if (out)
				tsarc_buf_append(out, &zt, 1);
			rc = listpack_down(blob.p, blob.len, 1, &zl, out);
		}
		tsarc_rdb_str_free(&blob);
		break;
	case TSARC_RDB_LIST_QUICKLIST_2:
		rc = quicklist_down(body, n, out);
		break;
	case TSARC_RDB_SET_LISTPACK:
		if (!object_string(body, n, &blob))
			rc = set_down(blob.p, blob.len, out);
		tsarc_rdb_str_free(&blob);
		break;
	default:
		rc = stream_down(body, n, to < 10 ? TSARC_RDB_STREAM : TSARC_RDB_STREAM_2, out);
		break;
	}
	tsarc_buf_dispose(&zl);
	if (rc == -1)
		rc = tsarc_error_set(TSARC_ECORRUPT, "%s", damaged(t));
	return rc;
}

int tsarc_redis_payload_floor(const void *payload, size_t len, const char **why)
{
	const unsigned char *p = payload;
	int own = tsarc_redis_payload_version(payload, len), floor = own;
	const char *what = "";

	if (own < 0) {
		what = "not a whole DUMP payload";
		own = floor = 0;
	} else if (p[0] == TSARC_RDB_FUNCTION2) {
		floor = 10;
		what = "a library of functions (FUNCTION, which Redis 6 does not have)";
	} else if (p[0] <= TSARC_RDB_STREAM && p[0] != TSARC_RDB_MODULE_PRE_GA &&
		p[0] != TSARC_RDB_MODULE && p[0] != 8 /* no type 8 */) {
		floor = TSARC_REDIS_REWRITE_LOWEST;
	} else if (p[0] >= TSARC_RDB_HASH_LISTPACK && p[0] <= TSARC_RDB_STREAM_3) {
		/* Read whole and checked by the rewrite to the lowest, writing
		 * nothing: damage found now is found before a restore empties its
		 * target, and only what that rewrite takes is said to go there. */
		if (!reencode(p, len - 10, TSARC_REDIS_REWRITE_LOWEST, NULL)) {
			floor = TSARC_REDIS_REWRITE_LOWEST;
		} else {
			what = damaged(p[0]);
			tsarc_error_clear();
		}
	} else if (p[0] == TSARC_RDB_MODULE || p[0] == TSARC_RDB_MODULE_PRE_GA) {
		what = "a module's type (RDB type 7)";
	} else {
		what = "a type newer than Redis 7.2's (a hash with field expiries, RDB type 22 or "
			"later)";
	}
	if (floor > own)
		floor = own;
	if (why)
		*why = what;
	return floor;
}

/* The CRC-64 a payload ends with (little-endian). */
static uint64_t payload_crc(const unsigned char *p, size_t len)
{
	uint64_t v = 0;
	int n = 8;

	while (n--)
		v = v << 8 | p[len - 8 + (size_t)n];
	return v;
}

int tsarc_redis_payload_rewrite(const void *payload, size_t len, int to, tsarc_buf *out)
{
	const unsigned char *p = payload;
	const char *why;
	int own, floor, rc;

	tsarc_buf_clear(out);
	if ((own = tsarc_redis_payload_version(payload, len)) < 0)
		return tsarc_error_set(TSARC_ECORRUPT, "a DUMP payload of %zu bytes: not a whole "
			"one", len);
	if (payload_crc(p, len) != tsarc_rdb_crc64(0, p, len - 8))
		return tsarc_error_set(TSARC_ECORRUPT, "a DUMP payload of RDB version %d: its CRC-64 "
			"is wrong (a damaged payload is not given a new one)", own);
	/* An object re-encoded is read whole once, here, damage and all; any
	 * other payload by its floor. */
	if (reencoded(p[0], to)) {
		if ((rc = reencode(p, len - 10, to, out)))
			return rc;
	} else if ((floor = tsarc_redis_payload_floor(payload, len, &why)) > to) {
		return tsarc_error_set(p[0] >= TSARC_RDB_HASH_LISTPACK && p[0] <= TSARC_RDB_STREAM_3 ?
			TSARC_ECORRUPT : TSARC_EUNSUPPORTED,
			"a payload of RDB version %d cannot be rewritten for version %d: it is %s",
			own, to, why);
	} else if (tsarc_buf_append(out, p, len - 10)) {
		return tsarc_buf_status(out);
	}
	tsarc_rdb_put_trailer(out, to);
	return tsarc_buf_status(out);
}

void tsarc_redis_note_payload(tsarc_redis_stats *st, const void *payload, size_t len)
{
	int v = tsarc_redis_payload_version(payload, len), floor;

	if (v > st->payload_version)
		st->payload_version = v;
	if ((floor = tsarc_redis_payload_floor(payload, len, NULL)) > st->payload_floor)
		st->payload_floor = floor;
}
