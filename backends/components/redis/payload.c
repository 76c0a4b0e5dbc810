/*
 * DUMP payloads rewritten for an older server (payload.h).
 */
#include "payload.h"
#include "digest.h"
#include "logical.h"
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

/* ---- listpacks ---- */

/* One entry of a listpack: a string (p, len) or an integer (is_int, v). */
typedef struct lp_entry {
	int is_int;
	long long v;
	const unsigned char *p;
	size_t len;
} lp_entry;

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* Sign-extends the low `bits` bits of `u`. */
static long long sign(uint64_t u, int bits)
{
	if (bits < 64 && (u & (uint64_t)1 << (bits - 1)))
		return (long long)(u - ((uint64_t)1 << bits));
	return (long long)u;
}

/* The bytes that end an entry of `len` bytes (its encoding and data),
 * read backwards from the last: that length, 7 bits a byte, least
 * significant last, every byte but the first (the most significant) with
 * its top bit set, which says another byte comes before it. */
static size_t backlen(size_t len, unsigned char out[5])
{
	size_t n = len <= 127 ? 1 : len < 16383 ? 2 : len < 2097151 ? 3 : len < 268435455 ? 4 : 5;
	size_t i;

	for (i = 0; i < n; i++)
		out[n - 1 - i] = (unsigned char)((len >> (7 * i) & 127) | (i + 1 < n ? 128 : 0));
	return n;
}

/* The entry at *q (before `end`) into *e, *q past it; -1 when it is not
 * one (cut off, an unknown encoding, a back-length that does not match). */
static int lp_next(const unsigned char **q, const unsigned char *end, lp_entry *e)
{
	const unsigned char *p = *q;
	size_t avail = (size_t)(end - p), head, data = 0, n;
	unsigned char b, bl[5];

	memset(e, 0, sizeof(*e));
	if (!avail)
		return -1;
	b = p[0];
	if (!(b & 0x80)) {
		e->is_int = 1;
		e->v = b & 0x7f;
		head = 1;
	} else if ((b & 0xc0) == 0x80) {
		head = 1;
		data = b & 0x3f;
	} else if ((b & 0xe0) == 0xc0) {
		if (avail < 2)
			return -1;
		e->is_int = 1;
		e->v = sign((uint64_t)(b & 0x1f) << 8 | p[1], 13);
		head = 2;
	} else if ((b & 0xf0) == 0xe0) {
		if (avail < 2)
			return -1;
		head = 2;
		data = (size_t)(b & 0x0f) << 8 | p[1];
	} else if (b == 0xf0) {
		if (avail < 5)
			return -1;
		head = 5;
		data = (size_t)le(p + 1, 4);
	} else if (b >= 0xf1 && b <= 0xf4) {
		static const int bytes[] = {2, 3, 4, 8};
		int k = bytes[b - 0xf1];
		if (avail < (size_t)k + 1)
			return -1;
		e->is_int = 1;
		e->v = sign(le(p + 1, k), 8 * k);
		head = (size_t)k + 1;
	} else {
		return -1;
	}
	if (data > avail - head)
		return -1;
	if (!e->is_int) {
		e->p = p + head;
		e->len = data;
	}
	n = backlen(head + data, bl);
	if (avail - head - data < n || memcmp(p + head + data, bl, n))
		return -1;
	*q = p + head + data + n;
	return 0;
}

/* Every entry of the listpack `lp` (`len` bytes) into a new array *out
 * (*n of them); -1 when it is not a whole listpack: its header's size,
 * its count where it gives one, its end mark. */
static int lp_entries(const unsigned char *lp, size_t len, lp_entry **out, size_t *n)
{
	const unsigned char *q, *end;
	lp_entry *es = NULL, e;
	size_t cap = 0, count;

	*out = NULL;
	*n = 0;
	if (len < 7 || le(lp, 4) != len || lp[len - 1] != 0xff)
		return -1;
	count = (size_t)le(lp + 4, 2);
	q = lp + 6;
	end = lp + len - 1;
	while (q < end) {
		if (lp_next(&q, end, &e))
			goto bad;
		if (*n == cap) {
			lp_entry *g;
			cap = cap ? cap * 2 : 16;
			if (cap > len || !(g = realloc(es, cap * sizeof(*es))))
				goto bad;
			es = g;
		}
		es[(*n)++] = e;
	}
	if (count != 65535 && count != *n)
		goto bad;
	*out = es;
	return 0;
bad:
	free(es);
	*n = 0;
	return -1;
}

/* Whether s is an integer as Redis writes one (its string2ll): an
 * optional minus, no leading zero, no "-0", within 64 bits. */
static int canonical_int(const unsigned char *s, size_t len, long long *v)
{
	uint64_t u = 0, limit;
	size_t i = 0;
	int neg = 0;

	if (!len || len > 20)
		return 0;
	if (len == 1 && s[0] == '0') {
		*v = 0;
		return 1;
	}
	if (s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len || s[i] < '1' || s[i] > '9')
		return 0;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || u > (limit - (uint64_t)(s[i] - '0')) / 10)
			return 0;
		u = u * 10 + (uint64_t)(s[i] - '0');
	}
	*v = neg ? (long long)(0 - u) : (long long)u;
	return 1;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* The members of a listpack set's payload (`body`: the object, without
 * the trailer); -1 when damaged, or empty (no server holds an empty key:
 * Redis refuses one). */
static int set_members(const unsigned char *body, size_t n, tsarc_rdb_str *blob, lp_entry **es,
	size_t *count)
{
	tsarc_rdb_cursor c = {body + 1, body + n};

	if (tsarc_rdb_string(&c, blob) || c.p != c.end || lp_entries(blob->p, blob->len, es, count))
		return -1;
	return *count ? 0 : -1;
}

/* A listpack set as Redis 7.0 holds it (payload.h): an intset, or a
 * plain set, into out (the object, without the trailer). */
static int set_rewrite(const lp_entry *es, size_t n, tsarc_buf *out)
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
		else if (!canonical_int(es[i].p, es[i].len, &vals[i]))
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
		lp_entry *es = NULL;
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
	return le(p + len - 8, 8);
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
		lp_entry *es = NULL;
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
