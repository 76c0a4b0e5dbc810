#ifndef TSARC_REDIS_RDBVALUE_H
#define TSARC_REDIS_RDBVALUE_H

/*
 * The pieces of an RDB object that a DUMP payload is made of, read and
 * written: lengths, strings (raw, integer-encoded or LZF-compressed) and
 * the payload's end (2 bytes of RDB version, 8 of CRC-64). Shared by the
 * digest, which hashes what a payload holds, and the rewriting of a
 * payload for an older server (payload.h). A payload is untrusted: every
 * read is bounded by the cursor's end and says -1 where the bytes are not
 * what they must be.
 */
#include "tsarc/buf.h"

#include <stddef.h>
#include <stdint.h>

/* RDB object types (Redis's rdb.h; Valkey's are the same up to 21), the
 * first byte of a DUMP payload. */
enum tsarc_rdb_type {
	TSARC_RDB_STRING = 0,
	TSARC_RDB_LIST = 1,
	TSARC_RDB_SET = 2,
	TSARC_RDB_ZSET = 3,
	TSARC_RDB_HASH = 4,
	TSARC_RDB_ZSET_2 = 5,
	TSARC_RDB_MODULE_PRE_GA = 6,
	TSARC_RDB_MODULE = 7,
	TSARC_RDB_HASH_ZIPMAP = 9,
	TSARC_RDB_LIST_ZIPLIST = 10,
	TSARC_RDB_SET_INTSET = 11,
	TSARC_RDB_ZSET_ZIPLIST = 12,
	TSARC_RDB_HASH_ZIPLIST = 13,
	TSARC_RDB_LIST_QUICKLIST = 14,
	TSARC_RDB_STREAM = 15,
	TSARC_RDB_HASH_LISTPACK = 16,
	TSARC_RDB_ZSET_LISTPACK = 17,
	TSARC_RDB_LIST_QUICKLIST_2 = 18,
	TSARC_RDB_STREAM_2 = 19,
	TSARC_RDB_SET_LISTPACK = 20,
	TSARC_RDB_STREAM_3 = 21,
	/* A FUNCTION DUMP's payload begins with this opcode. */
	TSARC_RDB_FUNCTION2 = 245
};
/* A quicklist 2 node's container (type 18): one element, or a listpack
 * of them. */
#define TSARC_RDB_NODE_PLAIN 1
#define TSARC_RDB_NODE_PACKED 2

typedef struct tsarc_rdb_cursor {
	const unsigned char *p, *end;
} tsarc_rdb_cursor;

/* An RDB length into *len; *special 1 where the byte says a specially
 * encoded string follows (*len is then its kind: 0-2 an integer of 1, 2
 * or 4 bytes, 3 LZF). -1 when cut off or not a length. */
int tsarc_rdb_len(tsarc_rdb_cursor *c, uint64_t *len, int *special);

/* One RDB string, as its bytes: raw ones point into the payload,
 * integer-encoded ones are written as decimal into `num`, LZF-compressed
 * ones are decompressed into `owned` (at most TSARC_REDIS_BULK_MAX). */
typedef struct tsarc_rdb_str {
	const unsigned char *p;
	size_t len;
	unsigned char *owned;
	char num[24];
	int is_int;    /* it was integer-encoded (its value in `ival`) */
	long long ival;
} tsarc_rdb_str;
/* -1 when cut off or malformed (s is then empty); free with
 * tsarc_rdb_str_free either way. */
int tsarc_rdb_string(tsarc_rdb_cursor *c, tsarc_rdb_str *s);
void tsarc_rdb_str_free(tsarc_rdb_str *s);

/* Past one RDB string without reading its bytes (an LZF one is not
 * decompressed); -1 when cut off or malformed. */
int tsarc_rdb_skip_string(tsarc_rdb_cursor *c);

/* Redis's CRC-64 (Jones polynomial, reflected), which ends a payload. */
uint64_t tsarc_rdb_crc64(uint64_t crc, const unsigned char *p, size_t n);

/* Writers, into a buffer (its failure sticks: tsarc_buf_status). */
void tsarc_rdb_put_len(tsarc_buf *b, uint64_t len);
/* A raw string: its length, then its bytes. */
void tsarc_rdb_put_string(tsarc_buf *b, const void *p, size_t len);
/* Ends the object in `b` as a payload of RDB `version`: the version (2
 * bytes, little-endian), then the CRC-64 of everything before it. */
void tsarc_rdb_put_trailer(tsarc_buf *b, int version);

#endif
