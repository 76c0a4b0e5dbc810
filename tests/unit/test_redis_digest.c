/*
 * The digest's hash of a key's value (backends/components/redis/digest.c)
 * hashes what the key holds, not how a server encoded it: the same value
 * DUMPed by Redis 6.0 (ziplists, quicklists of ziplists, a stream of type
 * 15), Redis 7.0 (listpacks, a stream of type 19), Valkey 8, Redis 8 and
 * Valkey 9 (a listpack set, a stream of type 21), by a Valkey 8 whose
 * *-max-listpack-entries and set-max-intset-entries are 1 (hash tables, a
 * skiplist), and in the layouts no server writes any more (a linked list,
 * a list's ziplist, a sorted set of string scores, a zipmap), hashes the
 * same; another value does not. Every payload here is a real server's
 * DUMP: the values made in a Redis 6.0.16 and RESTOREd into each other
 * server (as a restore across versions does), which then DUMPed them;
 * the old layouts written by hand and RESTOREd into the Redis 6.0.16,
 * which DUMPed back byte for byte what it DUMPs of the value made there.
 * A damaged payload is hashed as its bytes, without reading past them.
 * A key's loose hash (what a server without PEXPIRETIME is compared by)
 * is its exact one with whether it expires for when.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"
#include "hexbytes.h"

#include "digest.h"
#include "rdbvalue.h"
#include "tsarc/buf.h"
#include "value.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* HSET hash f1 v1 f2 2 f3 -7: Redis 6's ziplist (type 13), Valkey 8's
 * listpack (16), the hash table (4) of a Valkey 8 whose
 * hash-max-listpack-entries is 1, a zipmap (9, Redis 2.4's); f2 3. */
static const char HASH_6[] =
	"0d20200000001c000000060000026631040276310402663204f30202663304fef9ff090004746ca2a182"
	"1d15";
static const char HASH_8[] =
	"101c1c0000000600826631038276310382663203020182663303dff902ff0b00399d25320d91b7e2";
static const char HASH_8_TABLE[] = "0403026633c0f9026631027631026632c0020b00ed34579bd49f23c8";
static const char HASH_ZIPMAP[] = "0916030266310200763102663201003202663302002d37ff0900672ebb0dd79b4798";
static const char HASH_6_OTHER[] =
	"0d20200000001c000000060000026631040276310402663204f40202663304fef9ff090036b6ad7ec687"
	"00f3";

/* ZADD zset 1 one 2 two 3.5 three -0 negzero 1e300 big: Redis 6's
 * ziplist (12: the scores 1 and 2 as integers, the others as strings),
 * Valkey 8's listpack (17), the skiplist (5: binary doubles), a sorted
 * set of string scores (3, "2", "-0", "1e300"); two scored 2.5. */
static const char ZSET_6[] =
	"0cc34048405004500000003620031f0a0000076e65677a65726f09022d3004036f6e6505f2020374776f"
	"05f302057412687265650703332e3505036269670517312e30e005000631652b333030ff09009754a34a"
	"658f90c2";
static const char ZSET_8[] =
	"11c34044404c1f4c0000000a00876e65677a65726f08822d3003836f6e650401018374776f0402150185"
	"74687265650683332e3504836269670497312e30e005000731652b33303018ff0b00f2b7ea02029570fc";
static const char ZSET_8_SKIPLIST[] =
	"0505036269679c7500883ce4377e0574687265650000000000000c400374776f0000000000000040036f"
	"6e65000000000000f03f076e65677a65726f00000000000000800b00e16658ae73ed3fb6";
static const char ZSET_STRINGS[] =
	"0305036f6e6501310374776f013205746872656503332e35076e65677a65726f022d3003626967053165"
	"3330300900286ef3a7c16a56be";
static const char ZSET_6_OTHER[] =
	"0cc3404b405304530000003920031f0a0000076e65677a65726f09022d3004036f6e6505f2020374776f"
	"0503322e350905057468726565070333200b08036269670517312e30e005000631652b333030ff09009f"
	"409b1e11304737";

/* RPUSH list a b 3 c -5: Redis 6's quicklist of a ziplist (14), Valkey
 * 8's quicklist 2 of a listpack (18), a ziplist (10, Redis 3.0's), a
 * linked list (1, its 3 and -5 integer-encoded strings); a 3 b c -5. */
static const char LIST_6[] =
	"0e01191900000015000000050000016103016203f402016303fefbff0900b1e5858e7460393a";
static const char LIST_8[] = "120102151500000005008161028162020301816302dffb02ff0b0025eb52e9ba7a4139";
static const char LIST_ZIPLIST[] =
	"0a191900000015000000050000016103016203f402016303fefbff0900b7b21e305136f50f";
static const char LIST_LINKED[] = "010501610162c0030163c0fb0900bdd1a4d1157592c4";
static const char LIST_6_OTHER[] =
	"0e01191900000015000000050000016103f402016203016303fefbff09009ddfaac55d189d7f";

/* Six elements of 61 bytes in nodes of two (list-max-ziplist-size 2),
 * each node LZF-compressed: Redis 6 (14), Redis 7.0 (18). */
static const char NODES_6[] =
	"0e03c31a40890489000000492003040200003d78e0320001303fe0343e0131ffc31a4089048900000049"
	"2003040200003d78e0320001323fe0343e0133ffc31a40890489000000492003040200003d78e0320001"
	"343fe0343e0135ff0900c8bf8bcd8cabb1b1";
static const char NODES_70[] =
	"120302c316408507850000000200bd78e0320001303ee0343e02313eff02c316408507850000000200bd"
	"78e0320001323ee0343e02333eff02c316408507850000000200bd78e0320001343ee0343e02353eff0a"
	"007bfa01829c8670ec";

/* RPUSH a <200 bytes> 7: Redis 6 (14), Valkey 8 (18, one listpack) and a
 * Redis 7.0 whose DEBUG QUICKLIST-PACKED-THRESHOLD is 100 (18: the long
 * element a PLAIN node between two listpacks). */
static const char PLAIN_6[] =
	"0e01c31940db04db000000d820030803000001610340c879e0be0002cbf8ff0900338a47eeb6afb12d";
static const char PLAIN_8[] =
	"120102c31640d80bd80000000300816102e0c879e0be000401ca0701ff0b007a76a1a90f234d9c";
static const char PLAIN_70[] =
	"1203020a0a0000000100816102ff01c30940c8017979e0bb0001797902090900000001000701ff0a0060"
	"55e5a795f629ad";

/* SADD set:ints 1 2 3 -70000: an intset (11); the hash table (2) of a
 * Valkey 8 whose set-max-intset-entries is 1, integer-encoded members. */
static const char INTS_6[] =
	"0b18040000000400000090eefeff010000000200000003000000090078446dae78394f2d";
static const char INTS_8_TABLE[] = "0204c290eefeffc002c001c0030b00640c318202be6b21";

/* SADD set:strs alpha beta 12: Redis 6's hash table (2), Redis 7.0's and
 * a Valkey 8's (another order each), Valkey 8's listpack (20). */
static const char STRS_6[] = "0203c00c046265746105616c706861090071329dcce8be6abc";
static const char STRS_70[] = "020305616c7068610462657461c00c0a00df8dd044ca5044eb";
static const char STRS_8_TABLE[] = "0203046265746105616c706861c00c0b007c9d19bc87a6a175";
static const char STRS_8[] = "14161600000003000c0184626574610585616c70686106ff0b0056dd13e8ba8630ae";

/* XADD stream 1-1 type login, 2-1 type logout n 5, 3-1 type login; XGROUP
 * CREATE stream workers 0; XREADGROUP GROUP workers alice COUNT 2; XDEL
 * stream 3-1. Redis 6 (15); RESTOREd into Redis 7.0 (19: a first ID, a
 * max deleted ID, entries added and the group's entries read, its own
 * guesses), Valkey 8, Redis 8 (version 12) and Valkey 9 (80: type 21, the
 * consumer's active time too); in Redis 7.0, 1-1 acknowledged. */
static const char STREAM_6[] =
	"0f011000000000000000010000000000000001c34045405007500000001800020140000a847479706505"
	"0001020100200107856c6f67696e0604200a000120030002a01e008620160b6f757407816e0205010801"
	"032018e0012b0101ff0203010107776f726b65727302010200000000000000010000000000000001c6b4"
	"654ba20100000100000000000000020000000000000001c6b4654ba2010000010105616c696365c6b465"
	"4ba201000002000000000000000100000000000000010000000000000002000000000000000109006ed1"
	"94ee1728c679";
static const char STREAM_70[] =
	"13011000000000000000010000000000000001c34045405007500000001800020140000a847479706505"
	"0001020100200107856c6f67696e0604200a000120030002a01e008620160b6f757407816e0205010801"
	"032018e0012b0101ff02030101010000020107776f726b657273020181ffffffffffffffff0200000000"
	"000000010000000000000001c6b4654ba20100000100000000000000020000000000000001c6b4654ba2"
	"010000010105616c696365c6b4654ba20100000200000000000000010000000000000001000000000000"
	"000200000000000000010a002a68374fafa3a65d";
static const char STREAM_8[] =
	"15011000000000000000010000000000000001c34045405007500000001800020140000a847479706505"
	"0001020100200107856c6f67696e0604200a000120030002a01e008620160b6f757407816e0205010801"
	"032018e0012b0101ff02030101010000020107776f726b657273020181ffffffffffffffff0200000000"
	"000000010000000000000001c6b4654ba20100000100000000000000020000000000000001c6b4654ba2"
	"010000010105616c696365c6b4654ba2010000c6b4654ba2010000020000000000000001000000000000"
	"0001000000000000000200000000000000010b0010888152a1774f83";
static const char STREAM_R8[] =
	"15011000000000000000010000000000000001c34045405007500000001800020140000a847479706505"
	"0001020100200107856c6f67696e0604200a000120030002a01e008620160b6f757407816e0205010801"
	"032018e0012b0101ff02030101010000020107776f726b657273020181ffffffffffffffff0200000000"
	"000000010000000000000001c6b4654ba20100000100000000000000020000000000000001c6b4654ba2"
	"010000010105616c696365c6b4654ba2010000c6b4654ba2010000020000000000000001000000000000"
	"0001000000000000000200000000000000010c00b22108e1a6c23843";
static const char STREAM_9[] =
	"15011000000000000000010000000000000001c34045405007500000001800020140000a847479706505"
	"0001020100200107856c6f67696e0604200a000120030002a01e008620160b6f757407816e0205010801"
	"032018e0012b0101ff02030101010000020107776f726b657273020181ffffffffffffffff0200000000"
	"000000010000000000000001c6b4654ba20100000100000000000000020000000000000001c6b4654ba2"
	"010000010105616c696365c6b4654ba2010000c6b4654ba2010000020000000000000001000000000000"
	"0001000000000000000200000000000000015000b67df5b0c2bac1fe";
static const char STREAM_70_ACKED[] =
	"13011000000000000000010000000000000001c34045405007500000001800020140000a847479706505"
	"0001020100200107856c6f67696e0604200a000120030002a01e008620160b6f757407816e0205010801"
	"032018e0012b0101ff02030101010000020107776f726b657273020181ffffffffffffffff0100000000"
	"000000020000000000000001c6b4654ba2010000010105616c696365c6b4654ba2010000010000000000"
	"00000200000000000000010a0073d9f8b14818cbb6";

/* SET s:int 12345 (integer-encoded) by Redis 6, SET s:lzf <abc 40 times>
 * (LZF-compressed) by Valkey 9. */
static const char INT_6[] = "00c1393009004d66bbebc77a6b08";
static const char LZF_9[] = "00c30b40780361626361e0690201626350000bbe68e1b4b059f2";

/* The hash of key "k" of database 0, no expiry, holding `payload`. */
static void hash_of(unsigned char h[32], const char *type, const void *payload, size_t n)
{
	tsarc_redis_key_hash(h, 0, "k", 1, type, -1, payload, n);
}

static void hash_hex(unsigned char h[32], const char *type, const char *payload)
{
	bytes b = hex(payload);

	hash_of(h, type, b.p, b.n);
	free(b.p);
}

/* Every payload of `all` (NULL-ended) hashes as the first does. */
static void alike(const char *type, const char *const all[])
{
	unsigned char first[32], h[32];
	size_t i;

	hash_hex(first, type, all[0]);
	for (i = 1; all[i]; i++) {
		hash_hex(h, type, all[i]);
		if (memcmp(first, h, 32))
			fail_msg("%s: payload %zu (%.8s...) hashes otherwise than payload 0 (%.8s...)",
				type, i, all[i], all[0]);
	}
}

static void differ(const char *type, const char *a, const char *b)
{
	unsigned char x[32], y[32];

	hash_hex(x, type, a);
	hash_hex(y, type, b);
	if (!memcmp(x, y, 32))
		fail_msg("%s: %.8s... and %.8s... hash alike", type, a, b);
}

static void hashes_and_sorted_sets(void **state)
{
	static const char *const hash[] = {HASH_6, HASH_8, HASH_8_TABLE, HASH_ZIPMAP, NULL};
	static const char *const zset[] = {ZSET_6, ZSET_8, ZSET_8_SKIPLIST, ZSET_STRINGS, NULL};
	(void)state;
	alike("hash", hash);
	alike("zset", zset);
}

static void lists(void **state)
{
	static const char *const list[] = {LIST_6, LIST_8, LIST_ZIPLIST, LIST_LINKED, NULL};
	static const char *const nodes[] = {NODES_6, NODES_70, NULL};
	static const char *const plain[] = {PLAIN_6, PLAIN_8, PLAIN_70, NULL};
	(void)state;
	alike("list", list);
	alike("list", nodes);
	alike("list", plain);
}

static void sets(void **state)
{
	static const char *const ints[] = {INTS_6, INTS_8_TABLE, NULL};
	static const char *const strs[] = {STRS_6, STRS_70, STRS_8_TABLE, STRS_8, NULL};
	/* Valkey 8's listpack of 1, 3 and -70000 (set-max-intset-entries 2
	 * while it was made), and the intset Redis 7.0 DUMPs of it
	 * (test_redis_payload). */
	static const char *const lp[] = {
		"14101000000003000301f290eefe040101ff0b00f8d5bc96af0f68ff",
		"0b14040000000300000090eefeff01000000030000000a00090eec49a6504d88", NULL};
	(void)state;
	alike("set", ints);
	alike("set", strs);
	alike("set", lp);
}

static void streams(void **state)
{
	static const char *const stream[] = {STREAM_6, STREAM_70, STREAM_8, STREAM_R8, STREAM_9,
		NULL};
	(void)state;
	alike("stream", stream);
}

/* `s` as a payload of version 9 whose string is raw (not integer-encoded
 * or compressed), as hex. */
static char *raw_string(const char *s)
{
	tsarc_buf b = TSARC_BUF_INIT;
	char *h;
	size_t i;

	tsarc_buf_append(&b, "", 1);
	tsarc_rdb_put_string(&b, s, strlen(s));
	tsarc_rdb_put_trailer(&b, 9);
	assert_int_equal(tsarc_buf_status(&b), 0);
	h = malloc(2 * b.size + 1);
	assert_non_null(h);
	for (i = 0; i < b.size; i++)
		snprintf(h + 2 * i, 3, "%02x", (unsigned char)b.ptr[i]);
	tsarc_buf_dispose(&b);
	return h;
}

static void strings(void **state)
{
	char abc[121], *raw_int = raw_string("12345"), *raw_abc;
	const char *ints[3] = {INT_6, raw_int, NULL}, *lzf[3] = {LZF_9, NULL, NULL};
	int i;
	(void)state;
	for (i = 0; i < 40; i++)
		memcpy(abc + 3 * i, "abc", 3);
	abc[120] = '\0';
	lzf[1] = raw_abc = raw_string(abc);
	alike("string", ints);
	alike("string", lzf);
	differ("string", INT_6, LZF_9);
	free(raw_int);
	free(raw_abc);
}

/* A hash table of one field and value, as hex. */
static char *one_field(const char *f, const char *v)
{
	tsarc_buf b = TSARC_BUF_INIT;
	char *h;
	size_t i;

	tsarc_buf_append(&b, "\x04\x01", 2);
	tsarc_rdb_put_string(&b, f, strlen(f));
	tsarc_rdb_put_string(&b, v, strlen(v));
	tsarc_rdb_put_trailer(&b, 9);
	assert_int_equal(tsarc_buf_status(&b), 0);
	h = malloc(2 * b.size + 1);
	assert_non_null(h);
	for (i = 0; i < b.size; i++)
		snprintf(h + 2 * i, 3, "%02x", (unsigned char)b.ptr[i]);
	tsarc_buf_dispose(&b);
	return h;
}

static void other_values_differ(void **state)
{
	char *ab_c = one_field("ab", "c"), *a_bc = one_field("a", "bc");
	(void)state;
	differ("hash", HASH_6, HASH_6_OTHER);       /* a value */
	differ("zset", ZSET_6, ZSET_6_OTHER);       /* a score */
	differ("list", LIST_6, LIST_6_OTHER);       /* the order */
	differ("stream", STREAM_70, STREAM_70_ACKED); /* a pending entry */
	differ("set", INTS_6, STRS_6);
	differ("list", NODES_6, PLAIN_6);
	differ("hash", ab_c, a_bc);                 /* where a field ends */
	free(ab_c);
	free(a_bc);
}

/* Whether the object of `payload` (n bytes) is read as a value. */
static int read_whole(const unsigned char *payload, size_t n)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int rc;

	assert_non_null(m);
	EVP_DigestInit_ex(m, EVP_sha256(), NULL);
	rc = tsarc_redis_value_hash(m, payload, n - 10);
	EVP_MD_CTX_free(m);
	return rc;
}

/* Every payload here is read whole (not hashed as its bytes); cut short
 * (its trailer made again) it is damaged: hashed as its bytes, without a
 * read past them (the sanitized build checks), and not as the whole
 * value hashes; any byte of it changed is read within its bounds too. */
static void damaged_hashed_as_bytes(void **state)
{
	static const char *const all[] = {HASH_6, HASH_8, HASH_8_TABLE, HASH_ZIPMAP, ZSET_6,
		ZSET_8, ZSET_8_SKIPLIST, ZSET_STRINGS, LIST_6, LIST_8, LIST_ZIPLIST, LIST_LINKED,
		NODES_6, NODES_70, PLAIN_6, PLAIN_8, PLAIN_70, INTS_6, INTS_8_TABLE, STRS_6, STRS_8,
		STREAM_6, STREAM_70, STREAM_8, INT_6, LZF_9};
	size_t i, cut, at;
	(void)state;
	for (i = 0; i < sizeof(all) / sizeof(*all); i++) {
		bytes b = hex(all[i]);
		unsigned char whole[32], h[32];
		hash_of(whole, "x", b.p, b.n);
		if (read_whole(b.p, b.n))
			fail_msg("payload %zu (%.8s...) is not read", i, all[i]);
		for (cut = 1; cut < b.n - 10; cut++) {
			tsarc_buf p = TSARC_BUF_INIT;
			tsarc_buf_append(&p, b.p, cut);
			tsarc_rdb_put_trailer(&p, 9);
			assert_int_equal(tsarc_buf_status(&p), 0);
			assert_int_equal(read_whole((const unsigned char *)p.ptr, p.size), -1);
			hash_of(h, "x", p.ptr, p.size);
			if (!memcmp(h, whole, 32))
				fail_msg("payload %zu (%.8s...) cut to %zu bytes hashes as the whole", i,
					all[i], cut);
			tsarc_buf_dispose(&p);
		}
		for (at = 0; at < b.n - 10; at++) {
			unsigned char *q = malloc(b.n);
			assert_non_null(q);
			memcpy(q, b.p, b.n);
			q[at] ^= 0xff;
			hash_of(h, "x", q, b.n);
			q[at] ^= 0x81;
			hash_of(h, "x", q, b.n);
			free(q);
		}
		free(b.p);
	}
}

/* The exact hash tells expiry seconds apart; the loose one only whether
 * the key expires; both tell values apart, and the loose one is not the
 * exact one of any expiry. */
static void loose_expiries(void **state)
{
	char *raw = raw_string("value"), *other = raw_string("other");
	bytes p = hex(raw), q = hex(other);
	tsarc_redis_key_sums a, b, none, v;
	(void)state;
	tsarc_redis_key_sums_of(&a, 0, "k", 1, "string", 1700000000000, p.p, p.n);
	tsarc_redis_key_sums_of(&b, 0, "k", 1, "string", 1700000009999, p.p, p.n);
	tsarc_redis_key_sums_of(&none, 0, "k", 1, "string", -1, p.p, p.n);
	tsarc_redis_key_sums_of(&v, 0, "k", 1, "string", 1700000000000, q.p, q.n);
	assert_memory_not_equal(a.exact, b.exact, 32);
	assert_memory_equal(a.loose, b.loose, 32);
	assert_memory_not_equal(a.loose, none.loose, 32);
	assert_memory_not_equal(a.loose, v.loose, 32);
	assert_memory_not_equal(a.loose, a.exact, 32);
	/* A key without an expiry hashes alike either way. */
	assert_memory_equal(none.loose, none.exact, 32);
	free(p.p);
	free(q.p);
	free(raw);
	free(other);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(hashes_and_sorted_sets),
	cmocka_unit_test(lists),
	cmocka_unit_test(sets),
	cmocka_unit_test(streams),
	cmocka_unit_test(strings),
	cmocka_unit_test(other_values_differ),
	cmocka_unit_test(damaged_hashed_as_bytes),
	cmocka_unit_test(loose_expiries))
