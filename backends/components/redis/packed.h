#ifndef TSARC_REDIS_PACKED_H
#define TSARC_REDIS_PACKED_H

/*
 * The two packed encodings Redis keeps small lists, sets, hashes and
 * sorted sets in, read entry by entry and, for the ziplist, written: a
 * listpack (Redis 7 and later, Valkey; and every stream's entries) and a
 * ziplist (Redis 6 and older: hashes, sorted sets and a quicklist's
 * nodes). Shared by the digest, which hashes what a value holds whatever
 * its encoding, and the rewriting of a DUMP payload for an older server
 * (payload.h), which turns listpacks into the ziplists a Redis 6 takes.
 * Their bytes come from DUMP payloads (the repository's, a server's):
 * untrusted, read within their bounds, a whole structure checked (its
 * header's size and count, every entry's own length, its end mark)
 * before any of it is used.
 */
#include "tsarc/buf.h"

#include <stddef.h>

/* One entry: a string (p, len: into the encoded bytes) or an integer
 * (is_int, v). */
typedef struct tsarc_pack_entry {
	int is_int;
	long long v;
	const unsigned char *p;
	size_t len;
} tsarc_pack_entry;

/* A listpack read entry by entry, checked as it goes: what
 * tsarc_listpack_entries reads, without an array (a rewrite turns each
 * entry into a ziplist's as it reads it, and a check of whether it can
 * keeps none). */
typedef struct tsarc_listpack_iter {
	const unsigned char *q, *end; /* the next entry; the end mark */
	size_t count;                 /* the header's count (65535: not kept) */
	size_t n;                     /* entries read so far */
} tsarc_listpack_iter;

/* The listpack `lp` (`len` bytes) opened at its first entry; -1 when its
 * header's size or its end mark is wrong. */
int tsarc_listpack_open(tsarc_listpack_iter *it, const unsigned char *lp, size_t len);

/* The next entry into *e: 1; 0 past the last, where the header's count
 * matches (it->n entries); -1 when it is not a whole listpack (an entry
 * cut off, of no known encoding, whose back-length does not match, or a
 * count that does not). Only a listpack read to its 0 is whole. */
int tsarc_listpack_next(tsarc_listpack_iter *it, tsarc_pack_entry *e);

/* Every entry of the listpack `lp` (`len` bytes) into a new array *out
 * (*n of them, the caller's to free); -1 (*out NULL) when it is not a
 * whole listpack. */
int tsarc_listpack_entries(const unsigned char *lp, size_t len, tsarc_pack_entry **out,
	size_t *n);

/* The same of the ziplist `zl`: its header's size, tail offset and count,
 * every entry's length of the entry before it, its end mark. */
int tsarc_ziplist_entries(const unsigned char *zl, size_t len, tsarc_pack_entry **out,
	size_t *n);

/* The ziplist of entries `es` (n of them) appended to `out`, as Redis 6
 * writes one: a string that is an integer as Redis prints it (and under
 * 32 bytes) held as that integer, each integer in the smallest of its
 * encodings. TSARC_ETOOLARGE past a ziplist's 4 GiB. */
int tsarc_ziplist_put(tsarc_buf *out, const tsarc_pack_entry *es, size_t n);

/* The same, entry by entry: begun, each entry added, ended. With `out`
 * NULL nothing is written and the ziplist is only measured, entry for
 * entry as it would be written (the same bound, the same failure): a
 * check of whether a payload can be rewritten is the rewrite without its
 * bytes (payload.c). */
typedef struct tsarc_ziplist_writer {
	tsarc_buf *out; /* NULL: measured only */
	size_t start;   /* where in out it begins */
	size_t size;    /* its bytes so far */
	size_t tail;    /* the offset of its last entry */
	size_t prev;    /* the bytes of its last entry */
	size_t n;       /* its entries */
} tsarc_ziplist_writer;
int tsarc_ziplist_begin(tsarc_ziplist_writer *w, tsarc_buf *out);
/* TSARC_ETOOLARGE where the ziplist would pass 4 GiB with `e`. */
int tsarc_ziplist_add(tsarc_ziplist_writer *w, const tsarc_pack_entry *e);
/* Its end mark and header; w->size is then its bytes. */
int tsarc_ziplist_end(tsarc_ziplist_writer *w);

/* Whether s (len bytes) is an integer as Redis writes one (its
 * string2ll): an optional minus, no leading zero, no "-0", within 64
 * bits; *v its value. */
int tsarc_pack_canonical_int(const unsigned char *s, size_t len, long long *v);

#endif
