/*
 * Listpacks and ziplists (backends/components/redis/packed.c), on
 * ziplists a Redis 6.0.16 wrote (Debian 11's): a hash, a sorted set and a
 * list's quicklist node, read entry by entry, and written again from their
 * entries byte for byte as Redis 6 wrote them, which is what a payload
 * rewritten for a Redis 6 holds (payload.h). Damaged ziplists are refused
 * whole: a size of the entry before that does not match, a tail that is
 * not the last entry, a count, an encoding, an end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"
#include "hexbytes.h"

#include "packed.h"
#include "tsarc/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* HSET h f1 v1 f2 12 f3 -300 f4 70000 */
static const char HASH[] =
	"2a00000024000000080000026631040276310402663204fd0202663304c0d4fe0402663404f0701101ff";
/* ZADD z 1.5 a 2 b -3 c */
static const char ZSET[] = "1e0000001b000000060000016303fefd0301610303312e3505016203f3ff";
/* RPUSH l a 1 xyz 123456789012 */
static const char LIST[] = "1f00000014000000040000016103f2020378797a05e0141a99be1c000000ff";
/* RPUSH l2 <300 bytes> -7: a 14-bit string length, and the size of the
 * entry before in 5 bytes. */
static const char LONG[] =
	"4101000039010000020000412c756a7a646538677864366e63663130657066393164686f647a646f6339"
	"6973306a386874396c676d78673965646e3538317533337874706c7066743735763273656836306b766a"
	"3530636539757677353365667234656474327379776233776b6835646e7369707a7a35666b327a397269"
	"3139723077796f6a666c6a6f6f61356c7173616a3038787569366433397a7a7a7a67347a646d656e326b"
	"68766467616a38677862656e796a7177783468683533343474666a677671346b37626e37786a38623774"
	"667137786b776f383836766f6d707a6f6d37357762627234716d77327778666f676f346d766e34613477"
	"6668796d346c3176667a337a666b6b69626a336a34776a3939696261673769316d6e62716e7336707571"
	"38306964773337303669386a373662326c616afe2f010000fef9ff";

/* An entry as text: a string's bytes, an integer in decimal. */
static void entry_text(const tsarc_pack_entry *e, char *out, size_t size)
{
	if (e->is_int)
		snprintf(out, size, "%lld", e->v);
	else
		snprintf(out, size, "%.*s", (int)e->len, (const char *)e->p);
}

/* The ziplist `zl` reads as `want` (n texts, integers marked by a leading
 * '#'), and written again from its entries is the same bytes. */
static void reads_and_writes(const char *zl, const char *const *want, size_t n)
{
	bytes b = hex(zl);
	tsarc_pack_entry *es;
	tsarc_buf out = TSARC_BUF_INIT;
	size_t got, i;

	assert_int_equal(tsarc_ziplist_entries(b.p, b.n, &es, &got), 0);
	assert_int_equal(got, n);
	for (i = 0; i < n; i++) {
		char text[400];
		entry_text(&es[i], text, sizeof(text));
		assert_int_equal(es[i].is_int, want[i][0] == '#');
		assert_string_equal(text, want[i] + (want[i][0] == '#'));
	}
	assert_int_equal(tsarc_ziplist_put(&out, es, n), 0);
	assert_int_equal(out.size, b.n);
	assert_memory_equal(out.ptr, b.p, b.n);
	tsarc_buf_dispose(&out);
	free(es);
	free(b.p);
}

static void redis6_ziplists(void **state)
{
	static const char *const hash[] = {"f1", "v1", "f2", "#12", "f3", "#-300", "f4", "#70000"};
	static const char *const zset[] = {"c", "#-3", "a", "1.5", "b", "#2"};
	static const char *const list[] = {"a", "#1", "xyz", "#123456789012"};
	(void)state;
	reads_and_writes(HASH, hash, 8);
	reads_and_writes(ZSET, zset, 6);
	reads_and_writes(LIST, list, 4);
}

static void long_entry(void **state)
{
	bytes b = hex(LONG);
	tsarc_pack_entry *es;
	tsarc_buf out = TSARC_BUF_INIT;
	size_t n;

	(void)state;
	assert_int_equal(tsarc_ziplist_entries(b.p, b.n, &es, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(es[0].len, 300);
	assert_true(es[1].is_int);
	assert_int_equal(es[1].v, -7);
	assert_int_equal(tsarc_ziplist_put(&out, es, n), 0);
	assert_int_equal(out.size, b.n);
	assert_memory_equal(out.ptr, b.p, b.n);
	tsarc_buf_dispose(&out);
	free(es);
	free(b.p);
}

/* Strings that are integers as Redis prints them are written as
 * integers, each in its smallest encoding; others stay strings. */
static void integers_as_redis_6_holds_them(void **state)
{
	static const struct {
		const char *s;
		unsigned char enc;
	} cases[] = {
		{"0", 0xf1}, {"12", 0xfd}, {"13", 0xfe}, {"-1", 0xfe}, {"127", 0xfe}, {"128", 0xc0},
		{"-32768", 0xc0}, {"32768", 0xf0}, {"8388607", 0xf0}, {"8388608", 0xd0},
		{"-2147483648", 0xd0}, {"2147483648", 0xe0}, {"-9223372036854775808", 0xe0},
		{"9223372036854775808", 0x13}, {"007", 0x03}, {"-0", 0x02}, {"+1", 0x02}, {"", 0x00},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tsarc_pack_entry e = {0, 0, (const unsigned char *)cases[i].s, strlen(cases[i].s)};
		tsarc_pack_entry *back;
		tsarc_buf out = TSARC_BUF_INIT;
		char text[32];
		size_t n;
		assert_int_equal(tsarc_ziplist_put(&out, &e, 1), 0);
		/* header, the size before (0), the encoding */
		assert_int_equal(out.ptr[11], cases[i].enc);
		assert_int_equal(tsarc_ziplist_entries(out.ptr, out.size, &back, &n), 0);
		assert_int_equal(n, 1);
		entry_text(&back[0], text, sizeof(text));
		assert_string_equal(text, cases[i].s);
		free(back);
		tsarc_buf_dispose(&out);
	}
}

/* The ziplist `zl` with byte `at` set to `v` is refused. */
static void refused_with(const char *zl, size_t at, unsigned char v)
{
	bytes b = hex(zl);
	tsarc_pack_entry *es = (tsarc_pack_entry *)1;
	size_t n = 7;

	b.p[at] = v;
	assert_int_equal(tsarc_ziplist_entries(b.p, b.n, &es, &n), -1);
	assert_null(es);
	assert_int_equal(n, 0);
	free(b.p);
}

static void damaged_ziplists(void **state)
{
	bytes b = hex(LIST);
	tsarc_pack_entry *es;
	size_t n, cut;

	(void)state;
	refused_with(LIST, 0, 0x20);  /* its size */
	refused_with(LIST, 4, 0x13);  /* its tail: not the last entry */
	refused_with(LIST, 8, 0x05);  /* its count */
	refused_with(LIST, 10, 0x01); /* the first entry's size before: not 0 */
	refused_with(LIST, 13, 0x02); /* the second's: not the first's 3 */
	refused_with(LIST, 11, 0x85); /* a 32-bit string length marked wrongly */
	refused_with(LIST, 20, 0xff); /* an end mark within */
	refused_with(LIST, 11, 0x3f); /* a string longer than the ziplist */
	refused_with(LIST, 30, 0x00); /* no end mark */
	for (cut = 0; cut < b.n; cut++)
		assert_int_equal(tsarc_ziplist_entries(b.p, cut, &es, &n), -1);
	free(b.p);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(redis6_ziplists),
	cmocka_unit_test(long_entry),
	cmocka_unit_test(integers_as_redis_6_holds_them),
	cmocka_unit_test(damaged_ziplists))
