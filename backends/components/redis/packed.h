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

/* Whether s (len bytes) is an integer as Redis writes one (its
 * string2ll): an optional minus, no leading zero, no "-0", within 64
 * bits; *v its value. */
int tsarc_pack_canonical_int(const unsigned char *s, size_t len, long long *v);

#endif
