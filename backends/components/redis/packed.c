/*
 * Listpacks and ziplists, read and written (packed.h).
 */
#include "packed.h"
#include "tsarc/errors.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* Appends e to the growing array *es (*n used, *cap allocated); -1 past
 * `bound` entries (no structure of `bound` bytes holds more) or out of
 * memory. */
static int push(tsarc_pack_entry **es, size_t *n, size_t *cap, size_t bound,
	const tsarc_pack_entry *e)
{
	if (*n == *cap) {
		tsarc_pack_entry *g;
		size_t c = *cap ? *cap * 2 : 16;
		if (c > bound)
			c = bound;
		if (c <= *n || !(g = realloc(*es, c * sizeof(**es))))
			return -1;
		*es = g;
		*cap = c;
	}
	(*es)[(*n)++] = *e;
	return 0;
}

/* ---- listpacks ---- */

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
static int lp_next(const unsigned char **q, const unsigned char *end, tsarc_pack_entry *e)
{
	const unsigned char *p = *q;
	size_t avail = (size_t)(end - p), head, data = 0, n, i;
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
	if (avail - head - data < n)
		return -1;
	/* Byte by byte: memcmp's call costs more than these few bytes, once
	 * an entry, for every small key a backup reads. */
	for (i = 0; i < n; i++)
		if (p[head + data + i] != bl[i])
			return -1;
	*q = p + head + data + n;
	return 0;
}

int tsarc_listpack_open(tsarc_listpack_iter *it, const unsigned char *lp, size_t len)
{
	memset(it, 0, sizeof(*it));
	if (len < 7 || le(lp, 4) != len || lp[len - 1] != 0xff)
		return -1;
	it->count = (size_t)le(lp + 4, 2);
	it->q = lp + 6;
	it->end = lp + len - 1;
	return 0;
}

int tsarc_listpack_next(tsarc_listpack_iter *it, tsarc_pack_entry *e)
{
	if (it->q < it->end) {
		if (lp_next(&it->q, it->end, e))
			return -1;
		it->n++;
		return 1;
	}
	return it->count == 65535 || it->count == it->n ? 0 : -1;
}

int tsarc_listpack_entries(const unsigned char *lp, size_t len, tsarc_pack_entry **out,
	size_t *n)
{
	tsarc_listpack_iter it;
	tsarc_pack_entry *es = NULL, e;
	size_t cap = 0;
	int r;

	*out = NULL;
	*n = 0;
	if (tsarc_listpack_open(&it, lp, len))
		return -1;
	while ((r = tsarc_listpack_next(&it, &e)) > 0)
		if (push(&es, n, &cap, len, &e))
			goto bad;
	if (r)
		goto bad;
	*out = es;
	return 0;
bad:
	free(es);
	*n = 0;
	return -1;
}

/* ---- ziplists ----
 * A header of 10 bytes (the size, the offset of the last entry, the count
 * or 65535 where it does not fit, all little-endian), the entries, 0xff.
 * An entry is the size of the entry before it (one byte under 254, else
 * 0xfe and 4 bytes), its encoding, its data. */
#define ZL_HEAD 10
#define ZL_BIG 254
#define ZL_STR_6 0x00
#define ZL_STR_14 0x40
#define ZL_STR_32 0x80
#define ZL_INT_16 0xc0
#define ZL_INT_32 0xd0
#define ZL_INT_64 0xe0
#define ZL_INT_24 0xf0
#define ZL_INT_8 0xfe
#define ZL_IMM_MIN 0xf1 /* 0 to 12 in the encoding byte itself */
#define ZL_IMM_MAX 0xfd

/* The entry at *q (before `end`), whose size of the entry before it must
 * be `prev`, into *e; *q past it, *size its bytes; -1 when it is not one. */
static int zl_next(const unsigned char **q, const unsigned char *end, size_t prev,
	tsarc_pack_entry *e, size_t *size)
{
	const unsigned char *p = *q;
	size_t avail = (size_t)(end - p), at, data = 0;
	unsigned char b;

	memset(e, 0, sizeof(*e));
	if (!avail || p[0] > ZL_BIG)
		return -1;
	if (p[0] == ZL_BIG) {
		if (avail < 5 || le(p + 1, 4) != prev)
			return -1;
		at = 5;
	} else {
		if (p[0] != prev)
			return -1;
		at = 1;
	}
	if (avail <= at)
		return -1;
	b = p[at];
	switch (b & 0xc0) {
	case ZL_STR_6:
		data = b & 0x3f;
		at += 1;
		break;
	case ZL_STR_14:
		if (avail - at < 2)
			return -1;
		data = (size_t)(b & 0x3f) << 8 | p[at + 1];
		at += 2;
		break;
	case ZL_STR_32:
		if (b != ZL_STR_32 || avail - at < 5)
			return -1;
		data = (size_t)p[at + 1] << 24 | (size_t)p[at + 2] << 16 | (size_t)p[at + 3] << 8 |
			p[at + 4];
		at += 5;
		break;
	default: {
		int k;
		e->is_int = 1;
		if (b >= ZL_IMM_MIN && b <= ZL_IMM_MAX) {
			e->v = (b & 0x0f) - 1;
			k = 0;
		} else if (b == ZL_INT_8) {
			k = 1;
		} else if (b == ZL_INT_16) {
			k = 2;
		} else if (b == ZL_INT_24) {
			k = 3;
		} else if (b == ZL_INT_32) {
			k = 4;
		} else if (b == ZL_INT_64) {
			k = 8;
		} else {
			return -1;
		}
		at += 1;
		if (avail - at < (size_t)k)
			return -1;
		if (k)
			e->v = sign(le(p + at, k), 8 * k);
		at += (size_t)k;
		break;
	}
	}
	if (!e->is_int) {
		if (data > avail - at)
			return -1;
		e->p = p + at;
		e->len = data;
		at += data;
	}
	*q = p + at;
	*size = at;
	return 0;
}

int tsarc_ziplist_entries(const unsigned char *zl, size_t len, tsarc_pack_entry **out,
	size_t *n)
{
	const unsigned char *q, *end, *last;
	tsarc_pack_entry *es = NULL, e;
	size_t cap = 0, count, prev = 0;

	*out = NULL;
	*n = 0;
	if (len < ZL_HEAD + 1 || le(zl, 4) != len || zl[len - 1] != 0xff)
		return -1;
	count = (size_t)le(zl + 8, 2);
	q = last = zl + ZL_HEAD;
	end = zl + len - 1;
	while (q < end) {
		last = q;
		if (zl_next(&q, end, prev, &e, &prev) || push(&es, n, &cap, len, &e))
			goto bad;
	}
	if ((count != 65535 && count != *n) || le(zl + 4, 4) != (uint64_t)(last - zl))
		goto bad;
	*out = es;
	return 0;
bad:
	free(es);
	*n = 0;
	return -1;
}

int tsarc_pack_canonical_int(const unsigned char *s, size_t len, long long *v)
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

/* An entry's encoding and data (without the size before it) into enc;
 * its string data, which is not copied there, in *data (NULL: none).
 * Redis 6's choice (its zipTryEncoding): a string under 32 bytes that is
 * an integer is held as one. */
static size_t zl_encode(const tsarc_pack_entry *e, unsigned char enc[9],
	const unsigned char **data, size_t *dlen)
{
	long long v;
	int k, i;

	*data = NULL;
	*dlen = 0;
	if (e->is_int)
		v = e->v;
	else if (e->len >= 32 || !tsarc_pack_canonical_int(e->p, e->len, &v)) {
		*data = e->p;
		*dlen = e->len;
		if (e->len <= 0x3f) {
			enc[0] = (unsigned char)(ZL_STR_6 | e->len);
			return 1;
		}
		if (e->len <= 0x3fff) {
			enc[0] = (unsigned char)(ZL_STR_14 | e->len >> 8);
			enc[1] = (unsigned char)(e->len & 0xff);
			return 2;
		}
		enc[0] = ZL_STR_32;
		for (i = 0; i < 4; i++)
			enc[1 + i] = (unsigned char)(e->len >> (8 * (3 - i)));
		return 5;
	}
	if (v >= 0 && v <= 12) {
		enc[0] = (unsigned char)(ZL_IMM_MIN + v);
		return 1;
	}
	if (v >= INT8_MIN && v <= INT8_MAX)
		enc[0] = ZL_INT_8, k = 1;
	else if (v >= INT16_MIN && v <= INT16_MAX)
		enc[0] = ZL_INT_16, k = 2;
	else if (v >= -(1LL << 23) && v < 1LL << 23)
		enc[0] = ZL_INT_24, k = 3;
	else if (v >= INT32_MIN && v <= INT32_MAX)
		enc[0] = ZL_INT_32, k = 4;
	else
		enc[0] = ZL_INT_64, k = 8;
	for (i = 0; i < k; i++)
		enc[1 + i] = (unsigned char)((uint64_t)v >> (8 * i));
	return (size_t)k + 1;
}

int tsarc_ziplist_begin(tsarc_ziplist_writer *w, tsarc_buf *out)
{
	unsigned char head[ZL_HEAD] = {0};

	*w = (tsarc_ziplist_writer){out, out ? out->size : 0, ZL_HEAD, ZL_HEAD, 0, 0};
	return out ? tsarc_buf_append(out, head, ZL_HEAD) : 0;
}

int tsarc_ziplist_add(tsarc_ziplist_writer *w, const tsarc_pack_entry *e)
{
	unsigned char enc[9], pl[5];
	const unsigned char *data;
	size_t dlen, elen = zl_encode(e, enc, &data, &dlen), plen = 1, bytes;

	if (w->prev < ZL_BIG) {
		pl[0] = (unsigned char)w->prev;
	} else {
		pl[0] = ZL_BIG;
		pl[1] = (unsigned char)w->prev;
		pl[2] = (unsigned char)(w->prev >> 8);
		pl[3] = (unsigned char)(w->prev >> 16);
		pl[4] = (unsigned char)(w->prev >> 24);
		plen = 5;
	}
	/* Its end mark must fit too: its size is 4 bytes. */
	bytes = plen + elen + dlen;
	if (dlen > UINT32_MAX || bytes > UINT32_MAX - 1 - w->size)
		return tsarc_error_set(TSARC_ETOOLARGE, "a ziplist would pass 4 GiB at its entry %zu",
			w->n + 1);
	w->tail = w->size;
	w->size += bytes;
	w->prev = bytes;
	w->n++;
	if (!w->out)
		return 0;
	tsarc_buf_append(w->out, pl, plen);
	tsarc_buf_append(w->out, enc, elen);
	if (data)
		tsarc_buf_append(w->out, data, dlen);
	return tsarc_buf_status(w->out);
}

int tsarc_ziplist_end(tsarc_ziplist_writer *w)
{
	unsigned char end = 0xff, *h;
	size_t count = w->n < 65535 ? w->n : 65535;
	int i;

	w->size++;
	if (!w->out)
		return 0;
	if (tsarc_buf_append(w->out, &end, 1))
		return tsarc_buf_status(w->out);
	h = w->out->ptr + w->start;
	for (i = 0; i < 4; i++) {
		h[i] = (unsigned char)(w->size >> (8 * i));
		h[4 + i] = (unsigned char)(w->tail >> (8 * i));
	}
	h[8] = (unsigned char)count;
	h[9] = (unsigned char)(count >> 8);
	return 0;
}

int tsarc_ziplist_put(tsarc_buf *out, const tsarc_pack_entry *es, size_t n)
{
	tsarc_ziplist_writer w;
	size_t i;
	int rc;

	if ((rc = tsarc_ziplist_begin(&w, out)))
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = tsarc_ziplist_add(&w, &es[i])))
			return rc;
	return tsarc_ziplist_end(&w);
}
