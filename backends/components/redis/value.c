/*
 * What a DUMP payload holds, hashed by its type (value.h). Everything
 * read is the payload's: every count is untrusted (each one bounds a loop
 * whose every turn reads at least a byte, never an allocation), every
 * read is bounded by the cursor's end, and a whole object must be used.
 */
#include "value.h"
#include "packed.h"
#include "rdbvalue.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a value's hash begins with (value.h). */
#define HELD "held"

static EVP_MD *sha256_fetched;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const EVP_MD *tsarc_redis_sha256(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_fetched ? sha256_fetched : EVP_sha256();
}

void tsarc_redis_sum256(unsigned char acc[32], const unsigned char h[32], int sub)
{
	int i, carry = 0;

	for (i = 0; i < 32; i++) {
		int v = sub ? acc[i] - h[i] - carry : acc[i] + h[i] + carry;
		carry = sub ? v < 0 : v > 255;
		acc[i] = (unsigned char)(v & 0xff);
	}
}

static void put64(EVP_MD_CTX *m, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	EVP_DigestUpdate(m, b, 8);
}

/* Bytes with their length, so that where one ends counts. */
static void put_bytes(EVP_MD_CTX *m, const void *p, size_t n)
{
	put64(m, n);
	EVP_DigestUpdate(m, p, n);
}

/* An entry of a listpack or ziplist (or intset) as the string Redis
 * gives of it: an integer as its decimal. */
static void put_entry(EVP_MD_CTX *m, const tsarc_pack_entry *e)
{
	char num[24];

	if (e->is_int)
		put_bytes(m, num, (size_t)snprintf(num, sizeof(num), "%lld", e->v));
	else
		put_bytes(m, e->p, e->len);
}

/* A score as the double it is: its 8 bytes (every NaN as one). */
static void put_score(EVP_MD_CTX *m, double d)
{
	uint64_t u = 0x7ff8000000000000ULL;

	if (d == d)
		memcpy(&u, &d, 8);
	put64(m, u);
}

/* A score kept as a string, read as Redis reads it: strtod of its first
 * 127 bytes (zzlStrtod). */
static double score_string(const unsigned char *s, size_t len)
{
	char buf[128];

	if (len > sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return strtod(buf, NULL);
}

/* ---- what is held: in order, or as a sum of its members ----
 * An ordered value (a list, a stream) is fed to one SHA-256; an unordered
 * one (a set, a hash, a sorted set) is the sum of each member's SHA-256,
 * each member begun and ended around what it is made of (for an ordered
 * value both do nothing). */
typedef struct held {
	EVP_MD_CTX *m;
	int unordered;
	unsigned char sum[32];
} held;

static void member_begin(held *v)
{
	if (v->unordered)
		EVP_DigestInit_ex(v->m, tsarc_redis_sha256(), NULL);
}

static void member_end(held *v)
{
	unsigned char h[32];
	unsigned int hl = 32;

	if (v->unordered) {
		EVP_DigestFinal_ex(v->m, h, &hl);
		tsarc_redis_sum256(v->sum, h, 0);
	}
}

static int rdb_len(tsarc_rdb_cursor *c, uint64_t *v)
{
	int special;

	return tsarc_rdb_len(c, v, &special) || special ? -1 : 0;
}

/* n raw bytes at the cursor into *p. */
static int raw(tsarc_rdb_cursor *c, size_t n, const unsigned char **p)
{
	if ((size_t)(c->end - c->p) < n)
		return -1;
	*p = c->p;
	c->p += n;
	return 0;
}

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* One RDB string into m (its bytes, decompressed, an integer as decimal). */
static int put_string(tsarc_rdb_cursor *c, EVP_MD_CTX *m)
{
	tsarc_rdb_str s;
	int rc = tsarc_rdb_string(c, &s);

	if (!rc)
		put_bytes(m, s.p, s.len);
	tsarc_rdb_str_free(&s);
	return rc;
}

/* A score of RDB type 3: a length byte (253 NaN, 254 +inf, 255 -inf) and
 * that many bytes of text (Redis's rdbLoadDoubleValue). */
static int score_text(tsarc_rdb_cursor *c, double *d)
{
	const unsigned char *p;
	char buf[256], *end;
	size_t len;

	if (raw(c, 1, &p))
		return -1;
	len = *p;
	if (len >= 253) {
		*d = len == 253 ? NAN : len == 254 ? INFINITY : -INFINITY;
		return 0;
	}
	if (raw(c, len, &p))
		return -1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	*d = strtod(buf, &end);
	return end == buf ? -1 : 0;
}

/* A score of RDB type 5: a little-endian binary double. */
static int score_binary(tsarc_rdb_cursor *c, double *d)
{
	const unsigned char *p;
	uint64_t u;

	if (raw(c, 8, &p))
		return -1;
	u = le(p, 8);
	memcpy(d, &u, 8);
	return 0;
}

/* A count, then as many members of `per` RDB strings (1: an element or
 * member, 2: a field and its value), or (score: the type, 3 or 5) a
 * member and its score: a linked list, a hash-table set or hash, a
 * sorted set's skiplist. */
static int strings(tsarc_rdb_cursor *c, held *v, int per, int score)
{
	uint64_t count, i;
	int k;

	if (rdb_len(c, &count))
		return -1;
	for (i = 0; i < count; i++) {
		double d;
		member_begin(v);
		for (k = 0; k < per; k++)
			if (put_string(c, v->m))
				return -1;
		if (score && (score == TSARC_RDB_ZSET ? score_text(c, &d) : score_binary(c, &d)))
			return -1;
		if (score)
			put_score(v->m, d);
		member_end(v);
	}
	return 0;
}

/* The listpack (or, zip, the ziplist) in the RDB string at the cursor:
 * its entries `per` a member (1: an element or member, 2: a field and
 * its value, or for a sorted set a member and its score). */
static int packed(tsarc_rdb_cursor *c, held *v, int zip, int per, int zset)
{
	tsarc_rdb_str s;
	tsarc_pack_entry *es = NULL;
	size_t n = 0, i;
	int rc = -1;

	if (tsarc_rdb_string(c, &s) ||
		(zip ? tsarc_ziplist_entries : tsarc_listpack_entries)(s.p, s.len, &es, &n) ||
		n % (size_t)per)
		goto done;
	for (i = 0; i < n; i += (size_t)per) {
		member_begin(v);
		put_entry(v->m, &es[i]);
		if (per == 2 && zset)
			put_score(v->m, es[i + 1].is_int ? (double)es[i + 1].v :
				score_string(es[i + 1].p, es[i + 1].len));
		else if (per == 2)
			put_entry(v->m, &es[i + 1]);
		member_end(v);
	}
	rc = 0;
done:
	free(es);
	tsarc_rdb_str_free(&s);
	return rc;
}

/* An intset: its encoding (2, 4 or 8 bytes a member) and count, each 4
 * bytes little-endian, then the members, little-endian. */
static int intset(tsarc_rdb_cursor *c, held *v)
{
	tsarc_rdb_str s;
	uint64_t width, count, i;
	int rc = -1;

	if (tsarc_rdb_string(c, &s) || s.len < 8)
		goto done;
	width = le(s.p, 4);
	count = le(s.p + 4, 4);
	if ((width != 2 && width != 4 && width != 8) || (s.len - 8) % width ||
		(s.len - 8) / width != count)
		goto done;
	for (i = 0; i < count; i++) {
		tsarc_pack_entry e = {1, 0, NULL, 0};
		uint64_t u = le(s.p + 8 + i * width, (int)width);
		int bits = 8 * (int)width;
		e.v = bits < 64 && u >> (bits - 1) ? (long long)(u - ((uint64_t)1 << bits)) :
			(long long)u;
		member_begin(v);
		put_entry(v->m, &e);
		member_end(v);
	}
	rc = 0;
done:
	tsarc_rdb_str_free(&s);
	return rc;
}

/* A length of a zipmap: one byte under 254, else 254 and 4 bytes
 * little-endian (255 ends the zipmap: not a length). */
static int zipmap_len(const unsigned char **p, const unsigned char *end, size_t *len)
{
	if (*p >= end || **p == 255)
		return -1;
	if (**p < 254) {
		*len = *(*p)++;
		return 0;
	}
	if (end - *p < 5)
		return -1;
	*len = (size_t)le(*p + 1, 4);
	*p += 5;
	return 0;
}

/* A zipmap (Redis 2.4's small hash): a count byte (254 and up: not
 * kept), then field, value and the value's free bytes, to 255. */
static int zipmap(tsarc_rdb_cursor *c, held *v)
{
	tsarc_rdb_str s;
	const unsigned char *p, *end;
	size_t n = 0;
	int rc = -1;

	if (tsarc_rdb_string(c, &s) || s.len < 2)
		goto done;
	p = s.p + 1;
	end = s.p + s.len - 1;
	while (p < end) {
		const unsigned char *f;
		size_t flen, vlen, spare;
		if (zipmap_len(&p, end, &flen) || (size_t)(end - p) < flen)
			goto done;
		f = p;
		p += flen;
		if (zipmap_len(&p, end, &vlen) || p == end)
			goto done;
		spare = *p++;
		if ((size_t)(end - p) < vlen || (size_t)(end - p) - vlen < spare)
			goto done;
		member_begin(v);
		put_bytes(v->m, f, flen);
		put_bytes(v->m, p, vlen);
		member_end(v);
		p += vlen + spare;
		n++;
	}
	rc = *end == 255 && (s.p[0] >= 254 || s.p[0] == n) ? 0 : -1;
done:
	tsarc_rdb_str_free(&s);
	return rc;
}

/* A quicklist (14: ziplists) or quicklist 2 (18: each node a PLAIN
 * element or a PACKED listpack): its elements, node by node. */
static int quicklist(tsarc_rdb_cursor *c, held *v, int version2)
{
	uint64_t nodes, i, container = TSARC_RDB_NODE_PACKED;

	if (rdb_len(c, &nodes))
		return -1;
	for (i = 0; i < nodes; i++) {
		if (version2 && rdb_len(c, &container))
			return -1;
		if (container == TSARC_RDB_NODE_PLAIN) {
			if (put_string(c, v->m))
				return -1;
		} else if (container != TSARC_RDB_NODE_PACKED || packed(c, v, !version2, 1, 0)) {
			return -1;
		}
	}
	return 0;
}

/* n RDB lengths: fed (m) or skipped (m NULL); the last into *last. */
static int lens(tsarc_rdb_cursor *c, int n, EVP_MD_CTX *m, uint64_t *last)
{
	uint64_t v = 0;

	while (n--) {
		if (rdb_len(c, &v))
			return -1;
		if (m)
			put64(m, v);
	}
	if (last)
		*last = v;
	return 0;
}

/* n raw bytes fed to m, or (m NULL) skipped. */
static int raw_put(tsarc_rdb_cursor *c, size_t n, EVP_MD_CTX *m)
{
	const unsigned char *p;

	if (raw(c, n, &p))
		return -1;
	if (m)
		EVP_DigestUpdate(m, p, n);
	return 0;
}

/* A stream of RDB type 15, 19 or 21 (value.h: what is left out). */
static int stream(tsarc_rdb_cursor *c, EVP_MD_CTX *m, int type)
{
	uint64_t nodes, groups, pel, consumers, i, j, k;

	if (lens(c, 1, m, &nodes))
		return -1;
	for (i = 0; i < nodes; i++) /* a master ID (16 bytes) and its listpack */
		if (put_string(c, m) || put_string(c, m))
			return -1;
	/* length, last ID; then first ID, max deleted ID, entries added */
	if (lens(c, 3, m, NULL) || (type >= TSARC_RDB_STREAM_2 && lens(c, 5, NULL, NULL)) ||
		lens(c, 1, m, &groups))
		return -1;
	for (i = 0; i < groups; i++) {
		/* name, last ID; then entries read */
		if (put_string(c, m) || lens(c, 2, m, NULL) ||
			(type >= TSARC_RDB_STREAM_2 && lens(c, 1, NULL, NULL)) || lens(c, 1, m, &pel))
			return -1;
		for (j = 0; j < pel; j++) /* ID, delivery time, delivery count */
			if (raw_put(c, 16 + 8, m) || lens(c, 1, m, NULL))
				return -1;
		if (lens(c, 1, m, &consumers))
			return -1;
		for (j = 0; j < consumers; j++) {
			/* name, seen time; then the active time; its pending IDs */
			if (put_string(c, m) || raw_put(c, 8, m) ||
				(type == TSARC_RDB_STREAM_3 && raw_put(c, 8, NULL)) || lens(c, 1, m, &pel))
				return -1;
			for (k = 0; k < pel; k++)
				if (raw_put(c, 16, m))
					return -1;
		}
	}
	return 0;
}

/* The object's type read into v; -1 for one this does not read. */
static int read_held(tsarc_rdb_cursor *c, unsigned char type, held *v)
{
	switch (type) {
	case TSARC_RDB_LIST:
		return strings(c, v, 1, 0);
	case TSARC_RDB_LIST_ZIPLIST:
		return packed(c, v, 1, 1, 0);
	case TSARC_RDB_LIST_QUICKLIST:
	case TSARC_RDB_LIST_QUICKLIST_2:
		return quicklist(c, v, type == TSARC_RDB_LIST_QUICKLIST_2);
	case TSARC_RDB_SET:
		return strings(c, v, 1, 0);
	case TSARC_RDB_SET_INTSET:
		return intset(c, v);
	case TSARC_RDB_SET_LISTPACK:
		return packed(c, v, 0, 1, 0);
	case TSARC_RDB_HASH:
		return strings(c, v, 2, 0);
	case TSARC_RDB_HASH_ZIPMAP:
		return zipmap(c, v);
	case TSARC_RDB_HASH_ZIPLIST:
	case TSARC_RDB_HASH_LISTPACK:
		return packed(c, v, type == TSARC_RDB_HASH_ZIPLIST, 2, 0);
	case TSARC_RDB_ZSET:
	case TSARC_RDB_ZSET_2:
		return strings(c, v, 1, type);
	case TSARC_RDB_ZSET_ZIPLIST:
	case TSARC_RDB_ZSET_LISTPACK:
		return packed(c, v, type == TSARC_RDB_ZSET_ZIPLIST, 2, 1);
	case TSARC_RDB_STREAM:
	case TSARC_RDB_STREAM_2:
	case TSARC_RDB_STREAM_3:
		return stream(c, v->m, type);
	default:
		return -1;
	}
}

static int unordered(unsigned char type)
{
	return type == TSARC_RDB_SET || type == TSARC_RDB_SET_INTSET ||
		type == TSARC_RDB_SET_LISTPACK || type == TSARC_RDB_HASH ||
		type == TSARC_RDB_HASH_ZIPMAP || type == TSARC_RDB_HASH_ZIPLIST ||
		type == TSARC_RDB_HASH_LISTPACK || type == TSARC_RDB_ZSET || type == TSARC_RDB_ZSET_2 ||
		type == TSARC_RDB_ZSET_ZIPLIST || type == TSARC_RDB_ZSET_LISTPACK;
}

int tsarc_redis_value_hash(EVP_MD_CTX *c, const unsigned char *obj, size_t n)
{
	tsarc_rdb_cursor cur;
	held v;
	unsigned char h[32];
	unsigned int hl = 32;
	int rc;

	if (!n)
		return -1;
	cur.p = obj + 1;
	cur.end = obj + n;
	if (obj[0] == TSARC_RDB_STRING) {
		/* Read whole before any of it is fed. */
		tsarc_rdb_str s;
		if (!(rc = tsarc_rdb_string(&cur, &s)) && !(rc = cur.p == cur.end ? 0 : -1)) {
			EVP_DigestUpdate(c, HELD, sizeof(HELD) - 1);
			put_bytes(c, s.p, s.len);
		}
		tsarc_rdb_str_free(&s);
		return rc;
	}
	memset(&v, 0, sizeof(v));
	v.unordered = unordered(obj[0]);
	if (!(v.m = EVP_MD_CTX_new()))
		return -1;
	if (!v.unordered)
		EVP_DigestInit_ex(v.m, tsarc_redis_sha256(), NULL);
	rc = read_held(&cur, obj[0], &v) || cur.p != cur.end ? -1 : 0;
	if (!rc) {
		if (!v.unordered)
			EVP_DigestFinal_ex(v.m, h, &hl);
		EVP_DigestUpdate(c, HELD, sizeof(HELD) - 1);
		EVP_DigestUpdate(c, v.unordered ? v.sum : h, 32);
	}
	EVP_MD_CTX_free(v.m);
	return rc;
}
