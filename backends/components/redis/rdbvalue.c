/*
 * RDB lengths, strings and the payload trailer (rdbvalue.h).
 */
#include "rdbvalue.h"
#include "client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tsarc_rdb_len(tsarc_rdb_cursor *c, uint64_t *len, int *special)
{
	unsigned char b;
	int i, n;

	*special = 0;
	if (c->p >= c->end)
		return -1;
	b = *c->p++;
	switch (b >> 6) {
	case 0:
		*len = b & 0x3f;
		return 0;
	case 1:
		if (c->p >= c->end)
			return -1;
		*len = (uint64_t)(b & 0x3f) << 8 | *c->p++;
		return 0;
	case 3:
		*special = 1;
		*len = b & 0x3f;
		return 0;
	}
	n = b == 0x80 ? 4 : b == 0x81 ? 8 : 0;
	if (!n || c->end - c->p < n)
		return -1;
	for (*len = 0, i = 0; i < n; i++)
		*len = *len << 8 | *c->p++;
	return 0;
}

static int lzf_decompress(const unsigned char *in, size_t inlen, unsigned char *out,
	size_t outlen)
{
	const unsigned char *ie = in + inlen;
	unsigned char *op = out, *oe = out + outlen;

	while (in < ie) {
		unsigned ctrl = *in++;
		if (ctrl < 32) {
			ctrl++;
			if ((size_t)(oe - op) < ctrl || (size_t)(ie - in) < ctrl)
				return -1;
			memcpy(op, in, ctrl);
			op += ctrl;
			in += ctrl;
		} else {
			unsigned len = ctrl >> 5;
			unsigned char *ref = op - ((ctrl & 0x1f) << 8) - 1;
			if (len == 7) {
				if (in >= ie)
					return -1;
				len += *in++;
			}
			if (in >= ie)
				return -1;
			ref -= *in++;
			len += 2;
			if ((size_t)(oe - op) < len || ref < out)
				return -1;
			while (len--)
				*op++ = *ref++;
		}
	}
	return op == oe ? 0 : -1;
}

/* The most bytes one byte of LZF data stands for: a back-reference of
 * three bytes copies at most 264. A length past clen times this is no
 * LZF string, refused before its buffer is allocated (a payload of 27
 * bytes claimed 763 MB). */
#define LZF_MOST_PER_BYTE 90

int tsarc_rdb_string(tsarc_rdb_cursor *c, tsarc_rdb_str *s)
{
	uint64_t len, clen, ulen;
	int special;

	memset(s, 0, sizeof(*s));
	if (tsarc_rdb_len(c, &len, &special))
		return -1;
	if (!special) {
		if ((uint64_t)(c->end - c->p) < len)
			return -1;
		s->p = c->p;
		s->len = (size_t)len;
		c->p += len;
		return 0;
	}
	if (len <= 2) { /* an integer: 1, 2 or 4 bytes little-endian */
		int n = 1 << len, i;
		int64_t v = 0;
		if (c->end - c->p < n)
			return -1;
		for (i = n - 1; i >= 0; i--)
			v = v << 8 | c->p[i];
		if (v & ((int64_t)1 << (8 * n - 1)))
			v -= (int64_t)1 << (8 * n);
		c->p += n;
		s->is_int = 1;
		s->ival = v;
		s->len = (size_t)snprintf(s->num, sizeof(s->num), "%lld", (long long)v);
		s->p = (const unsigned char *)s->num;
		return 0;
	}
	if (len != 3 || tsarc_rdb_len(c, &clen, &special) || special ||
		tsarc_rdb_len(c, &ulen, &special) || special || (uint64_t)(c->end - c->p) < clen ||
		ulen > TSARC_REDIS_BULK_MAX || ulen / LZF_MOST_PER_BYTE > clen ||
		!(s->owned = malloc(ulen ? (size_t)ulen : 1)))
		return -1;
	if (lzf_decompress(c->p, (size_t)clen, s->owned, (size_t)ulen)) {
		tsarc_rdb_str_free(s);
		return -1;
	}
	c->p += clen;
	s->p = s->owned;
	s->len = (size_t)ulen;
	return 0;
}

int tsarc_rdb_skip_string(tsarc_rdb_cursor *c)
{
	uint64_t len, ulen;
	int special;

	if (tsarc_rdb_len(c, &len, &special))
		return -1;
	if (special && len <= 2)
		len = (uint64_t)1 << len;
	else if (special && (len != 3 || tsarc_rdb_len(c, &len, &special) || special ||
		tsarc_rdb_len(c, &ulen, &special) || special))
		return -1;
	if ((uint64_t)(c->end - c->p) < len)
		return -1;
	c->p += len;
	return 0;
}

void tsarc_rdb_str_free(tsarc_rdb_str *s)
{
	free(s->owned);
	memset(s, 0, sizeof(*s));
}

static uint64_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_make(void)
{
	int i, k;

	for (i = 0; i < 256; i++) {
		uint64_t crc = (uint64_t)i;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? crc >> 1 ^ 0x95ac9329ac4bc9b5ULL : crc >> 1;
		crc_table[i] = crc;
	}
}

uint64_t tsarc_rdb_crc64(uint64_t crc, const unsigned char *p, size_t n)
{
	pthread_once(&crc_once, crc_table_make);
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ crc >> 8;
	return crc;
}

void tsarc_rdb_put_len(tsarc_buf *b, uint64_t len)
{
	unsigned char h[9];
	size_t n;
	int i;

	if (len < 64) {
		h[0] = (unsigned char)len;
		n = 1;
	} else if (len < 16384) {
		h[0] = (unsigned char)(0x40 | len >> 8);
		h[1] = (unsigned char)len;
		n = 2;
	} else if (len <= 0xffffffffu) {
		h[0] = 0x80;
		for (i = 0; i < 4; i++)
			h[1 + i] = (unsigned char)(len >> (24 - 8 * i));
		n = 5;
	} else {
		h[0] = 0x81;
		for (i = 0; i < 8; i++)
			h[1 + i] = (unsigned char)(len >> (56 - 8 * i));
		n = 9;
	}
	tsarc_buf_append(b, h, n);
}

void tsarc_rdb_put_string(tsarc_buf *b, const void *p, size_t len)
{
	tsarc_rdb_put_len(b, len);
	tsarc_buf_append(b, p, len);
}

void tsarc_rdb_put_trailer(tsarc_buf *b, int version)
{
	unsigned char t[10];
	uint64_t crc;
	int i;

	t[0] = (unsigned char)version;
	t[1] = (unsigned char)(version >> 8);
	if (tsarc_buf_append(b, t, 2))
		return;
	crc = tsarc_rdb_crc64(0, b->ptr, b->size);
	for (i = 0; i < 8; i++)
		t[i] = (unsigned char)(crc >> (8 * i));
	tsarc_buf_append(b, t, 8);
}
