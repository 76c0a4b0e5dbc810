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

/* RDB object types (Redis's rdb.h, the same numbers in Valkey's up to 21). */
#define T_SET 2
#define T_MODULE_PRE_GA 6
#define T_MODULE 7
#define T_SET_INTSET 11
#define T_STREAM_2 19
#define T_SET_LISTPACK 20
#define T_STREAM_3 21
#define OP_FUNCTION2 245
/* Redis 7.0's default set-max-intset-entries: a plain set of at most this
 * many integers it holds as an intset. */
#define INTSET_MAX 512

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* The members of a listpack set's payload (`body`: the object, without
 * the trailer); -1 when damaged, or empty (no server holds an empty key:
 * Redis refuses one). */
static int set_members(const unsigned char *body, size_t n, tsarc_rdb_str *blob,
	tsarc_pack_entry **es, size_t *count)
{
	tsarc_rdb_cursor c = {body + 1, body + n};

	if (tsarc_rdb_string(&c, blob) || c.p != c.end ||
		tsarc_listpack_entries(blob->p, blob->len, es, count))
		return -1;
	return *count ? 0 : -1;
}

/* A listpack set as Redis 7.0 holds it (payload.h): an intset, or a
 * plain set, into out (the object, without the trailer). */
static int set_rewrite(const tsarc_pack_entry *es, size_t n, tsarc_buf *out)
{
	long long *vals = NULL;
	unsigned char t = T_SET;
	size_t i;
	int width = 2, ints = n <= INTSET_MAX;

	if (ints && n && !(vals = malloc(n * sizeof(*vals))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; ints && i < n; i++) {
		if (es[i].is_int)
			vals[i] = es[i].v;
		else if (!tsarc_pack_canonical_int(es[i].p, es[i].len, &vals[i]))
			ints = 0;
	}
	if (ints) {
		unsigned char *is;
		size_t bytes, k;
		qsort(vals, n, sizeof(*vals), cmp_ll);
		for (i = 0; i < n; i++) {
			if (i && vals[i] == vals[i - 1]) {
				long long twice = vals[i];
				free(vals);
				return tsarc_error_set(TSARC_ECORRUPT, "a set's listpack holds %lld twice",
					twice);
			}
			if (vals[i] < INT32_MIN || vals[i] > INT32_MAX)
				width = 8;
			else if ((vals[i] < INT16_MIN || vals[i] > INT16_MAX) && width < 4)
				width = 4;
		}
		bytes = 8 + n * (size_t)width;
		if (!(is = malloc(bytes))) {
			free(vals);
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		}
		for (k = 0; k < 4; k++) {
			is[k] = (unsigned char)((unsigned)width >> (8 * k));
			is[4 + k] = (unsigned char)((uint64_t)n >> (8 * k));
		}
		for (i = 0; i < n; i++)
			for (k = 0; k < (size_t)width; k++)
				is[8 + i * (size_t)width + k] = (unsigned char)((uint64_t)vals[i] >> (8 * k));
		t = T_SET_INTSET;
		tsarc_buf_append(out, &t, 1);
		tsarc_rdb_put_string(out, is, bytes);
		free(is);
		free(vals);
		return tsarc_buf_status(out);
	}
	free(vals);
	tsarc_buf_append(out, &t, 1);
	tsarc_rdb_put_len(out, n);
	for (i = 0; i < n; i++) {
		char num[24];
		if (es[i].is_int) {
			int k = snprintf(num, sizeof(num), "%lld", es[i].v);
			tsarc_rdb_put_string(out, num, (size_t)k);
		} else {
			tsarc_rdb_put_string(out, es[i].p, es[i].len);
		}
	}
	return tsarc_buf_status(out);
}

/* ---- streams ----
 * A stream of Redis 7.2's layout (type 21) is Redis 7.0's (type 19) with
 * one more field per consumer of a group: the time it was last active (8
 * bytes), after the time it was last seen. Redis 7.0 has no such time:
 * the stream is written without it, every other byte as it was (the
 * strings as their writer encoded them, as Redis 7.0 writes them too). */

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

/* The stream object `body` (type 21, n bytes, without the trailer) as a
 * type 19 one into `out` (NULL: only checked); -1 when damaged. */
static int stream3_to_2(const unsigned char *body, size_t n, tsarc_buf *out)
{
	tsarc_rdb_cursor c = {body + 1, body + n};
	const unsigned char *from = c.p;
	unsigned char t = T_STREAM_2;
	uint64_t i, j, k, count, groups, pel, consumers;

	if (out)
		tsarc_buf_append(out, &t, 1);
	if (skip_lens(&c, 1, &count))
		return -1;
	for (i = 0; i < count; i++) /* listpacks: their master ID and the listpack */
		if (tsarc_rdb_skip_string(&c) || tsarc_rdb_skip_string(&c))
			return -1;
	/* length, last ID, first ID, max deleted ID, entries added; groups */
	if (skip_lens(&c, 8, NULL) || skip_lens(&c, 1, &groups))
		return -1;
	for (i = 0; i < groups; i++) {
		/* name, last ID, entries read; the group's PEL */
		if (tsarc_rdb_skip_string(&c) || skip_lens(&c, 3, NULL) || skip_lens(&c, 1, &pel))
			return -1;
		for (j = 0; j < pel; j++) /* ID, delivery time, delivery count */
			if (skip_raw(&c, 16 + 8) || skip_lens(&c, 1, NULL))
				return -1;
		if (skip_lens(&c, 1, &consumers))
			return -1;
		for (j = 0; j < consumers; j++) {
			/* name, seen time; then the active time, left out */
			if (tsarc_rdb_skip_string(&c) || skip_raw(&c, 8))
				return -1;
			if (out)
				tsarc_buf_append(out, from, (size_t)(c.p - from));
			if (skip_raw(&c, 8))
				return -1;
			from = c.p;
			if (skip_lens(&c, 1, &pel))
				return -1;
			for (k = 0; k < pel; k++)
				if (skip_raw(&c, 16))
					return -1;
		}
	}
	if (c.p != c.end)
		return -1;
	if (out)
		tsarc_buf_append(out, from, (size_t)(c.p - from));
	return 0;
}

/* ---- floor and rewrite ---- */

int tsarc_redis_payload_floor(const void *payload, size_t len, const char **why)
{
	const unsigned char *p = payload;
	int own = tsarc_redis_payload_version(payload, len), floor = own;
	const char *what = "";

	if (own < 0) {
		what = "not a whole DUMP payload";
		own = floor = 0;
	} else if (p[0] == OP_FUNCTION2 || (p[0] <= T_STREAM_2 && p[0] != T_MODULE_PRE_GA &&
		p[0] != T_MODULE && p[0] != 8 /* no type 8 */)) {
		floor = TSARC_REDIS_REWRITE_LOWEST;
	} else if (p[0] == T_SET_LISTPACK) {
		tsarc_rdb_str blob;
		tsarc_pack_entry *es = NULL;
		size_t n;
		if (!set_members(p, len - 10, &blob, &es, &n))
			floor = TSARC_REDIS_REWRITE_LOWEST;
		else
			what = "a set whose listpack is damaged";
		free(es);
		tsarc_rdb_str_free(&blob);
	} else if (p[0] == T_STREAM_3) {
		if (!stream3_to_2(p, len - 10, NULL))
			floor = TSARC_REDIS_REWRITE_LOWEST;
		else
			what = "a stream whose consumer groups are damaged";
	} else if (p[0] == T_MODULE || p[0] == T_MODULE_PRE_GA) {
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
	int own, floor, reencode = to >= TSARC_REDIS_REWRITE_LOWEST && to < 11;

	tsarc_buf_clear(out);
	if ((own = tsarc_redis_payload_version(payload, len)) < 0)
		return tsarc_error_set(TSARC_ECORRUPT, "a DUMP payload of %zu bytes: not a whole "
			"one", len);
	if (payload_crc(p, len) != tsarc_rdb_crc64(0, p, len - 8))
		return tsarc_error_set(TSARC_ECORRUPT, "a DUMP payload of RDB version %d: its CRC-64 "
			"is wrong (a damaged payload is not given a new one)", own);
	/* A listpack set or a stream of type 21 re-encoded is read whole once,
	 * here, damage and all; any other payload by its floor. */
	if (!(reencode && (p[0] == T_SET_LISTPACK || p[0] == T_STREAM_3)) &&
		(floor = tsarc_redis_payload_floor(payload, len, &why)) > to)
		return tsarc_error_set(p[0] == T_SET_LISTPACK || p[0] == T_STREAM_3 ? TSARC_ECORRUPT :
			TSARC_EUNSUPPORTED,
			"a payload of RDB version %d cannot be rewritten for version %d: it is %s",
			own, to, why);
	if (p[0] == T_SET_LISTPACK && reencode) {
		tsarc_rdb_str blob;
		tsarc_pack_entry *es = NULL;
		size_t n;
		int rc;
		if (set_members(p, len - 10, &blob, &es, &n))
			rc = tsarc_error_set(TSARC_ECORRUPT, "a set's listpack is damaged");
		else
			rc = set_rewrite(es, n, out);
		free(es);
		tsarc_rdb_str_free(&blob);
		if (rc)
			return rc;
	} else if (p[0] == T_STREAM_3 && reencode) {
		if (stream3_to_2(p, len - 10, out))
			return tsarc_error_set(TSARC_ECORRUPT, "a stream's consumer groups are damaged");
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
