/*
 * DUMP payloads rewritten for an older server (backends/components/redis/
 * payload.c), on payloads a Valkey 8.0 wrote: a set kept as a listpack of
 * integers (set-max-intset-entries lowered to 2 while it was made), one
 * of strings, a stream with a consumer group (Redis 7.2's layout, type
 * 21), a string. The expected bytes of the rewritten intset and stream
 * are what a Redis 7.0.15 DUMPs after RESTORE of them: its own encoding,
 * so that the check after a load compares the target's DUMP with what
 * was sent. What cannot be rewritten (a hash with field expiries, a
 * module's type) is refused by its floor; damaged payloads are refused,
 * never rewritten into something else. The floor takes for a Redis 6
 * exactly what the rewrite to 9 takes, on every payload here, whole or
 * damaged. The digest hashes a compressed and a plain string alike, and a
 * hash-table set in any order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"
#include "hexbytes.h"

#include "digest.h"
#include "packed.h"
#include "payload.h"
#include "rdbvalue.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Valkey 8.0's DUMP payloads (version 11). */
static const char LP_INTS[] = "14101000000003000301f290eefe040101ff0b00f8d5bc96af0f68ff";
static const char LP_STRS[] =
	"141717000000030085616c706861060c018567616d6d6106ff0b00dbc6fe98e9d35507";
static const char STREAM[] =
	"1501100000000000000001000000000000000134340000000f0002010001010184747970650500010201"
	"00010001856c6f67696e060401020101010001866c6f676f7574070401ff02020101010000020107776f"
	"726b65727301010101000000000000000100000000000000018e5aaf4aa2010000010105616c6963658e"
	"5aaf4aa20100008e5aaf4aa201000001000000000000000100000000000000010b009768a3c054259bdf";
/* The stream as Redis 8 writes it (version 12). */
static const char STREAM_12[] =
	"1501100000000000000001000000000000000134340000000f0002010001010184747970650500010201"
	"00010001856c6f67696e060401020101010001866c6f676f7574070401ff02020101010000020107776f"
	"726b65727301010101000000000000000100000000000000018e5aaf4aa2010000010105616c6963658e"
	"5aaf4aa20100008e5aaf4aa201000001000000000000000100000000000000010c0035c12a735390ec1f";
static const char STR[] = "000568656c6c6f0b000aad620598abc983";

/* Rewritten to 10: what Redis 7.0.15 DUMPs back after RESTORE of them. */
static const char INTSET_10[] = "0b14040000000300000090eefeff01000000030000000a00090eec49a6504d88";
static const char STREAM_10[] =
	"1301100000000000000001000000000000000134340000000f0002010001010184747970650500010201"
	"00010001856c6f67696e060401020101010001866c6f676f7574070401ff02020101010000020107776f"
	"726b65727301010101000000000000000100000000000000018e5aaf4aa2010000010105616c6963658e"
	"5aaf4aa201000001000000000000000100000000000000010a00092f5e908ca4179f";
/* The strings' set as a plain set (Redis 7.0 holds it as a hash table),
 * and the string relabelled. */
static const char STRS_10[] = "020305616c7068610231320567616d6d610a000f4721ca2b8c4ae7";
static const char STR_10[] = "000568656c6c6f0a006372df766534200a";
/* The stream rewritten to 9: what Redis 6.0.16 DUMPs back after RESTORE
 * of it (type 15: no first ID, max deleted ID, entries added, entries
 * read). */
static const char STREAM_9[] =
	"0f01100000000000000001000000000000000134340000000f0002010001010184747970650500010201"
	"00010001856c6f67696e060401020101010001866c6f676f7574070401ff0202010107776f726b657273"
	"010101000000000000000100000000000000018e5aaf4aa2010000010105616c6963658e5aaf4aa20100"
	"0001000000000000000100000000000000010900b8b4a06065ceaf50";

/* Redis 7.0.15's DUMP payloads (version 10) of HSET h f1 v1 f2 12 f3 -300
 * f4 70000, ZADD z 1.5 a 2 b -3 c, RPUSH l a 1 xyz 123456789012: listpacks
 * (a list's in a quicklist 2 node). */
static const char HASH_10[] =
	"10252500000008008266310382763103826632030c0182663303ded40282663403f270110104ff0a00ca"
	"a71142ec4722e0";
static const char ZSET_10[] =
	"111a1a0000000600816302dffd0281610283312e35048162020201ff0a0088c4c030f0ae8276";
static const char LIST_10[] =
	"1201021b1b000000040081610201018378797a04f4141a99be1c00000009ff0a005e059ad254df261e";
/* Rewritten to 9: what Redis 6.0.16 DUMPs back after RESTORE of them, and
 * what it DUMPs of the same commands run on it: ziplists. */
static const char HASH_9[] =
	"0d2a2a00000024000000080000026631040276310402663204fd0202663304c0d4fe0402663404f07011"
	"01ff09002092e824a7a87e69";
static const char ZSET_9[] =
	"0c1e1e0000001b000000060000016303fefd0301610303312e3505016203f3ff0900641d334f459db6d0";
static const char LIST_9[] =
	"0e011f1f00000014000000040000016103f2020378797a05e0141a99be1c000000ff0900d67d5b49ad32"
	"5d3a";
/* RPUSH plain a <200 b> c <150 d> e on a Redis 7.0.15 whose
 * quicklist-packed-threshold was 100 (DEBUG): nodes of one element
 * (PLAIN) between listpacks, the long ones LZF-compressed. */
static const char PLAIN_10[] =
	"1205020a0a0000000100816102ff01c30940c8016262e0bb00016262020a0a0000000100816302ff01c3"
	"094096016464e08900016464020a0a0000000100816502ff0a009f3688b2af4226eb";

/* The largest allocation asked for since it was last set to 0 (malloc
 * wrapped: tests/CMakeLists.txt). */
static size_t largest;
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);

void *__wrap_malloc(size_t n)
{
	if (n > largest)
		largest = n;
	return __real_malloc(n);
}

/* `in` rewritten to `to` is exactly `want`. */
static void rewrites_to(const char *in, int to, const char *want)
{
	bytes i = hex(in), w = hex(want);
	tsarc_buf out = TSARC_BUF_INIT;

	assert_int_equal(tsarc_redis_payload_rewrite(i.p, i.n, to, &out), 0);
	assert_int_equal(out.size, w.n);
	assert_memory_equal(out.ptr, w.p, w.n);
	tsarc_buf_dispose(&out);
	free(i.p);
	free(w.p);
}

static int floor_of(const char *in, const char **why)
{
	bytes i = hex(in);
	int f = tsarc_redis_payload_floor(i.p, i.n, why);

	free(i.p);
	return f;
}

static int rewrite_rc(const char *in, int to)
{
	bytes i = hex(in);
	tsarc_buf out = TSARC_BUF_INIT;
	int rc = tsarc_redis_payload_rewrite(i.p, i.n, to, &out);

	tsarc_buf_dispose(&out);
	free(i.p);
	return rc;
}

static void crc64_is_redis(void **state)
{
	(void)state;
	/* Redis's own test vector (crc64.c). */
	assert_true(tsarc_rdb_crc64(0, (const unsigned char *)"123456789", 9) ==
		0xe9c6d914c4b8d9caULL);
}

static void sets_as_redis_70_holds_them(void **state)
{
	(void)state;
	/* Integers only, at most 512: an intset, sorted, 4 bytes each for
	 * -70000. */
	rewrites_to(LP_INTS, 10, INTSET_10);
	/* A string among them: a plain set; its integer entry as text. */
	rewrites_to(LP_STRS, 10, STRS_10);
	/* A server that has listpack sets (11) takes them as they are. */
	rewrites_to(LP_STRS, 11, LP_STRS);
	/* The listpack compressed (LZF, as a writer may store it): the same. */
	rewrites_to("14c318171617000000030085616c706861060c018567616d6d6106ff0b004efea8a4e894584e", 10,
		STRS_10);
}

static void stream_cut(size_t cut)
{
	bytes b = hex(STREAM);
	tsarc_buf body = TSARC_BUF_INIT, out = TSARC_BUF_INIT;
	const char *why;

	tsarc_buf_append(&body, b.p, b.n - 10 - cut);
	tsarc_rdb_put_trailer(&body, 11);
	assert_int_equal(tsarc_redis_payload_floor(body.ptr, body.size, &why), 11);
	assert_non_null(strstr(why, "damaged"));
	assert_int_equal(tsarc_redis_payload_rewrite(body.ptr, body.size, 10, &out), TSARC_ECORRUPT);
	assert_int_equal(tsarc_redis_payload_rewrite(body.ptr, body.size, 9, &out), TSARC_ECORRUPT);
	tsarc_buf_dispose(&out);
	tsarc_buf_dispose(&body);
	free(b.p);
}

/* `pre`, `rep` n times, then `post` (hex text, malloc'd). */
static char *hexcat(const char *pre, const char *rep, size_t n, const char *post)
{
	size_t a = strlen(pre), r = strlen(rep), i;
	char *s = malloc(a + n * r + strlen(post) + 1);

	assert_non_null(s);
	memcpy(s, pre, a);
	for (i = 0; i < n; i++)
		memcpy(s + a + i * r, rep, r);
	strcpy(s + a + n * r, post);
	return s;
}

/* A member of 200 bytes (set-max-listpack-value raised to 300 while it
 * was made): its entry's back-length takes two bytes, the first without
 * the continuation bit (Redis's lpEncodeBacklen), 01 ca for 202. */
static void long_listpack_member(void **state)
{
	char *in = hexcat("1440dada0000000200e0c8", "78", 200,
		"01ca8573686f727406ff0b00128ff2bd0e32a8a5");
	char *want = hexcat("020240c8", "78", 200, "0573686f72740a001cb222bd4df8b455");
	(void)state;
	rewrites_to(in, 10, want);
	assert_int_equal(floor_of(in, NULL), 9);
	free(in);
	free(want);
}

static void stream_without_active_time(void **state)
{
	(void)state;
	rewrites_to(STREAM, 10, STREAM_10);
	rewrites_to(STREAM, 9, STREAM_9);
	rewrites_to(STREAM_10, 9, STREAM_9);
	assert_int_equal(floor_of(STREAM, NULL), 9);
	/* Version 12 (Redis 8) to 11: relabelled, the type kept. */
	rewrites_to(STREAM_12, 11, STREAM);
	/* Cut inside a consumer, the trailer made right: damaged, refused. */
	stream_cut(20);
}

static void relabelled_types(void **state)
{
	(void)state;
	rewrites_to(STR, 10, STR_10);
	assert_int_equal(floor_of(STR, NULL), 9);
	/* A FUNCTION DUMP's payload: to Redis 7.0, not to Redis 6, which has
	 * no functions. */
	rewrites_to("f5036162630b001bb22fa96916abb9", 10, "f5036162630a00726d92da94894230");
	assert_int_equal(floor_of("f5036162630b001bb22fa96916abb9", NULL), 10);
	assert_int_equal(rewrite_rc("f5036162630b001bb22fa96916abb9", 9), TSARC_EUNSUPPORTED);
	assert_non_null(strstr(tsarc_error_last()->message, "functions"));
	/* Already at or below: its own version is its floor. */
	assert_int_equal(floor_of("00036162630900095e61f115f4c153", NULL), 9);
}

/* Listpacks as the ziplists Redis 6 holds: byte for byte its own. */
static void ziplists_as_redis_6_holds_them(void **state)
{
	(void)state;
	rewrites_to(HASH_10, 9, HASH_9);
	rewrites_to(ZSET_10, 9, ZSET_9);
	rewrites_to(LIST_10, 9, LIST_9);
	assert_int_equal(floor_of(HASH_10, NULL), 9);
	assert_int_equal(floor_of(LIST_10, NULL), 9);
	/* To Redis 7.0 they are relabelled only. */
	assert_int_equal(rewrite_rc(HASH_10, 10), 0);
}

/* A list of PLAIN and PACKED nodes, LZF-compressed or not: a quicklist of
 * one ziplist per node, each holding that node's elements, in order.
 * (Restored into a Redis 6.0.16, LRANGE gives the source's elements.) */
static void plain_nodes(void **state)
{
	static const struct {
		char c;
		size_t n;
	} want[] = {{'a', 1}, {'b', 200}, {'c', 1}, {'d', 150}, {'e', 1}};
	bytes in = hex(PLAIN_10);
	tsarc_buf out = TSARC_BUF_INIT;
	tsarc_rdb_cursor c;
	uint64_t nodes, i;
	int special;

	(void)state;
	assert_int_equal(tsarc_redis_payload_rewrite(in.p, in.n, 9, &out), 0);
	assert_int_equal(out.ptr[0], 14);
	assert_int_equal(tsarc_redis_payload_version(out.ptr, out.size), 9);
	c = (tsarc_rdb_cursor){out.ptr + 1, out.ptr + out.size - 10};
	assert_int_equal(tsarc_rdb_len(&c, &nodes, &special), 0);
	assert_int_equal(nodes, 5);
	for (i = 0; i < nodes; i++) {
		tsarc_rdb_str zl;
		tsarc_pack_entry *es;
		size_t n, k;
		assert_int_equal(tsarc_rdb_string(&c, &zl), 0);
		assert_int_equal(tsarc_ziplist_entries(zl.p, zl.len, &es, &n), 0);
		assert_int_equal(n, 1);
		assert_int_equal(es[0].len, want[i].n);
		for (k = 0; k < es[0].len; k++)
			assert_int_equal(es[0].p[k], want[i].c);
		free(es);
		tsarc_rdb_str_free(&zl);
	}
	assert_true(c.p == c.end);
	assert_int_equal(floor_of(PLAIN_10, NULL), 9);
	tsarc_buf_dispose(&out);
	free(in.p);
}

/* Listpack hashes, sorted sets and lists damaged (objects: given a
 * version 10 trailer, a right CRC). */
static const char *const DAMAGED_10[] = {
	/* a hash of an odd count of entries: 3 (f1 v1 f2) */
	"1013130000000300826631038276310382663203ff",
	/* a sorted set whose listpack's count is 7 for 6 */
	"111a1a0000000700816302dffd0281610283312e35048162020201ff",
	/* a list node of container 3 */
	"1201031b1b000000040081610201018378797a04f4141a99be1c00000009ff",
	/* a list node whose listpack is empty */
	"12010207070000000000ff",
	/* a list of no node */
	"1200",
	/* a list whose node is cut short */
	"1201021b1b000000040081610201018378797a04f4141a99",
	/* a list whose PLAIN node (one element) is cut short */
	"120101056162",
	/* a list of two nodes, the second missing */
	"1202010161",
	/* a hash whose listpack is followed by a byte */
	"10252500000008008266310382763103826632030c0182663303ded40282663403f270110104ff00",
};

/* `obj` (hex text; spaces left out) given a trailer of `version`. */
static void payload_of(tsarc_buf *p, const char *obj, int version)
{
	char h[256];
	bytes b;
	size_t k, o = 0;

	for (k = 0; obj[k]; k++)
		if (obj[k] != ' ') {
			assert_true(o + 1 < sizeof(h));
			h[o++] = obj[k];
		}
	h[o] = '\0';
	b = hex(h);
	tsarc_buf_clear(p);
	tsarc_buf_append(p, b.p, b.n);
	tsarc_rdb_put_trailer(p, version);
	assert_int_equal(tsarc_buf_status(p), 0);
	free(b.p);
}

/* Listpack hashes, sorted sets and lists damaged, given a right CRC:
 * their floor is their own version and no rewrite takes them. */
static void damaged_for_redis_6(void **state)
{
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(DAMAGED_10) / sizeof(*DAMAGED_10); i++) {
		tsarc_buf p = TSARC_BUF_INIT, out = TSARC_BUF_INIT;
		const char *why;
		payload_of(&p, DAMAGED_10[i], 10);
		assert_int_equal(tsarc_redis_payload_floor(p.ptr, p.size, &why), 10);
		assert_non_null(strstr(why, "damaged"));
		assert_int_equal(tsarc_redis_payload_rewrite(p.ptr, p.size, 9, &out), TSARC_ECORRUPT);
		assert_non_null(strstr(tsarc_error_last()->message, "damaged"));
		tsarc_buf_dispose(&out);
		tsarc_buf_dispose(&p);
	}
}

static void what_cannot_be_rewritten(void **state)
{
	const char *why;
	(void)state;
	/* Redis 8's hash with field expiries (type 25): its own version. */
	assert_int_equal(floor_of("1901410c00432e02a9350c108d", &why), 12);
	assert_non_null(strstr(why, "field expiries"));
	assert_int_equal(rewrite_rc("1901410c00432e02a9350c108d", 11), TSARC_EUNSUPPORTED);
	assert_non_null(strstr(tsarc_error_last()->message, "field expiries"));
	/* A module's type. */
	assert_int_equal(floor_of("07010b0025e077b104c2147c", &why), 11);
	assert_non_null(strstr(why, "module"));
	assert_int_equal(rewrite_rc("07010b0025e077b104c2147c", 10), TSARC_EUNSUPPORTED);
	/* Not a payload at all. */
	assert_int_equal(rewrite_rc("0005", 10), TSARC_ECORRUPT);
	/* A CRC that does not match: not given a right one. */
	assert_int_equal(rewrite_rc("000568656c6c6f0b000aad620598abc984", 10), TSARC_ECORRUPT);
	assert_non_null(strstr(tsarc_error_last()->message, "CRC-64"));
}

/* Listpack sets damaged (objects: given a version 11 trailer). */
static const char *const DAMAGED_11[] = {
	/* a back-length that does not match its entry (0x06 -> 0x07) */
	"141717000000030085616c706861070c018567616d6d6106ff",
	/* a count of 4 for 3 entries */
	"141717000000040085616c706861060c018567616d6d6106ff",
	/* the header's size one too many */
	"141718000000030085616c706861060c018567616d6d6106ff",
	/* no end mark */
	"141717000000030085616c706861060c018567616d6d6106fe",
	/* an entry that runs past the end */
	"141717000000030095616c706861060c018567616d6d6106ff",
	/* no member: no server holds an empty key */
	"1407070000000000ff",
	/* an integer twice (7-bit 1, 1): not a set */
	"140b0b0000000200010101 01ff",
	/* the same integer as a string ("1") and as an integer (1) */
	"140c0c0000000200813102 0101ff",
	/* its listpack LZF-compressed, its length uncompressed one short */
	"14c318161617000000030085616c706861060c018567616d6d6106ff",
	/* a set's LZF-compressed listpack claiming 763 MB from 2 bytes
	 * (lzf_length_past_its_data) */
	"14c300802d7bff7fffffbfc7ff000100",
};

static void damaged_listpacks(void **state)
{
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(DAMAGED_11) / sizeof(*DAMAGED_11); i++) {
		tsarc_buf p = TSARC_BUF_INIT, out = TSARC_BUF_INIT;
		payload_of(&p, DAMAGED_11[i], 11);
		/* Damaged (the duplicate too: the floor reads a set as its
		 * rewrite does), to either version. */
		assert_int_equal(tsarc_redis_payload_floor(p.ptr, p.size, NULL), 11);
		assert_int_equal(tsarc_redis_payload_rewrite(p.ptr, p.size, 10, &out),
			TSARC_ECORRUPT);
		assert_int_equal(tsarc_redis_payload_rewrite(p.ptr, p.size, 9, &out),
			TSARC_ECORRUPT);
		tsarc_buf_dispose(&out);
		tsarc_buf_dispose(&p);
	}
}

/* Whether `p`'s floor lets it go to a Redis 6 (version 9), and whether
 * the rewrite to 9 takes it: the floor reads what it would re-encode by
 * the rewrite's own code, writing nothing (payload.c), so the two agree
 * on every payload; `ok` says which way. */
static void floor_agrees(const char *what, const tsarc_buf *p, int ok)
{
	tsarc_buf out = TSARC_BUF_INIT;
	const char *why;
	int floor_ok = tsarc_redis_payload_floor(p->ptr, p->size, &why) <= 9;
	int rewrite_ok = !tsarc_redis_payload_rewrite(p->ptr, p->size, 9, &out);

	if (floor_ok != rewrite_ok || rewrite_ok != ok)
		print_message("%s: the floor %s it (%s), the rewrite to 9 %s it (%s)\n", what,
			floor_ok ? "takes" : "refuses", why, rewrite_ok ? "takes" : "refuses",
			rewrite_ok ? "" : tsarc_error_last()->message);
	assert_int_equal(floor_ok, rewrite_ok);
	assert_int_equal(rewrite_ok, ok);
	tsarc_buf_dispose(&out);
}

/* Every payload of these tests, whole or damaged: the floor takes for
 * Redis 6 exactly what the rewrite to 9 takes. */
static void floor_and_rewrite_agree(void **state)
{
	static const struct {
		const char *hex;
		int ok;
	} whole[] = {
		{HASH_10, 1}, {ZSET_10, 1}, {LIST_10, 1}, {PLAIN_10, 1}, {STREAM, 1},
		{STREAM_10, 1}, {STREAM_12, 1}, {LP_INTS, 1}, {LP_STRS, 1}, {STR, 1}, {STR_10, 1},
		{INTSET_10, 1}, {STRS_10, 1},
		{"14c318171617000000030085616c706861060c018567616d6d6106ff0b004efea8a4e894584e", 1},
		/* what a Redis 6 cannot hold */
		{"f5036162630b001bb22fa96916abb9", 0}, {"1901410c00432e02a9350c108d", 0},
		{"07010b0025e077b104c2147c", 0},
	};
	char *long_member = hexcat("1440dada0000000200e0c8", "78", 200,
		"01ca8573686f727406ff0b00128ff2bd0e32a8a5");
	tsarc_buf p = TSARC_BUF_INIT;
	bytes b;
	size_t i, cut;
	(void)state;
	for (i = 0; i < sizeof(whole) / sizeof(*whole); i++) {
		b = hex(whole[i].hex);
		tsarc_buf_clear(&p);
		tsarc_buf_append(&p, b.p, b.n);
		floor_agrees(whole[i].hex, &p, whole[i].ok);
		free(b.p);
	}
	b = hex(long_member);
	tsarc_buf_clear(&p);
	tsarc_buf_append(&p, b.p, b.n);
	floor_agrees("the set of a long member", &p, 1);
	free(b.p);
	free(long_member);
	for (i = 0; i < sizeof(DAMAGED_10) / sizeof(*DAMAGED_10); i++) {
		payload_of(&p, DAMAGED_10[i], 10);
		floor_agrees(DAMAGED_10[i], &p, 0);
	}
	for (i = 0; i < sizeof(DAMAGED_11) / sizeof(*DAMAGED_11); i++) {
		payload_of(&p, DAMAGED_11[i], 11);
		floor_agrees(DAMAGED_11[i], &p, 0);
	}
	/* The stream cut anywhere inside its object (the trailer made right):
	 * every cut is damage. */
	b = hex(STREAM);
	for (cut = 1; cut < b.n - 10; cut++) {
		tsarc_buf_clear(&p);
		tsarc_buf_append(&p, b.p, b.n - 10 - cut);
		tsarc_rdb_put_trailer(&p, 11);
		floor_agrees("the stream cut", &p, 0);
	}
	/* And with a byte after its last consumer. */
	tsarc_buf_clear(&p);
	tsarc_buf_append(&p, b.p, b.n - 10);
	tsarc_buf_append(&p, "", 1);
	tsarc_rdb_put_trailer(&p, 11);
	floor_agrees("the stream and a byte", &p, 0);
	free(b.p);
	tsarc_buf_dispose(&p);
}

/* A set's listpack LZF-compressed, its length claiming 763 MB from 2
 * bytes of data (fuzz_redis_payload's input, given a version 11 trailer):
 * damaged, and found so before a buffer of that length is asked for. */
static void lzf_length_past_its_data(void **state)
{
	bytes b = hex("14c300802d7bff7fffffbfc7ff000100");
	tsarc_buf p = TSARC_BUF_INIT;
	const char *why;
	unsigned char h[32];
	(void)state;
	tsarc_buf_append(&p, b.p, b.n);
	tsarc_rdb_put_trailer(&p, 11);
	largest = 0;
	assert_int_equal(tsarc_redis_payload_floor(p.ptr, p.size, &why), 11);
	assert_non_null(strstr(why, "damaged"));
	tsarc_redis_key_hash(h, 0, "k", 1, "set", -1, p.ptr, p.size);
	assert_true(largest < 1024 * 1024);
	tsarc_buf_dispose(&p);
	free(b.p);
}

static void digest_reads_what_is_held(void **state)
{
	unsigned char a[32], b[32];
	bytes x, y;
	(void)state;
	/* The intset plain and LZF-compressed. */
	x = hex(INTSET_10);
	y = hex("0bc3151413040000000300000090eefeff01000000030000000a0036c3f9009eca4ab1");
	tsarc_redis_key_hash(a, 0, "k", 1, "set", -1, x.p, x.n);
	tsarc_redis_key_hash(b, 0, "k", 1, "set", -1, y.p, y.n);
	assert_memory_equal(a, b, 32);
	free(x.p);
	free(y.p);
	/* A plain set in another order, its integer member int-encoded. */
	x = hex(STRS_10);
	y = hex("02030567616d6d61c00c05616c7068610a00726f0c859d3a9708");
	tsarc_redis_key_hash(a, 0, "k", 1, "set", -1, x.p, x.n);
	tsarc_redis_key_hash(b, 0, "k", 1, "set", -1, y.p, y.n);
	assert_memory_equal(a, b, 32);
	/* And a different value does not hash alike. */
	tsarc_redis_key_hash(b, 0, "k", 1, "set", -1, STR_10, strlen(STR_10));
	assert_memory_not_equal(a, b, 32);
	free(x.p);
	free(y.p);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(crc64_is_redis),
	cmocka_unit_test(sets_as_redis_70_holds_them),
	cmocka_unit_test(long_listpack_member),
	cmocka_unit_test(stream_without_active_time),
	cmocka_unit_test(relabelled_types),
	cmocka_unit_test(ziplists_as_redis_6_holds_them),
	cmocka_unit_test(plain_nodes),
	cmocka_unit_test(damaged_for_redis_6),
	cmocka_unit_test(what_cannot_be_rewritten),
	cmocka_unit_test(damaged_listpacks),
	cmocka_unit_test(floor_and_rewrite_agree),
	cmocka_unit_test(lzf_length_past_its_data),
	cmocka_unit_test(digest_reads_what_is_held))
