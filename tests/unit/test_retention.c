#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "retention.h"
#include "snapshot.h"

static int64_t at(const char *text)
{
	int64_t t;

	assert_int_equal(tsarc_time_parse(text, &t), 0);
	return t;
}

/* Applies `p` to the given times and checks the kept set, written as a
 * string of '1' (kept) and '0' per input, in input order. */
static void expect(const tsarc_keep_policy *p, const char *const *times,
	const char *const *const *tags, size_t n, const char *kept)
{
	tsarc_retention_item *items = calloc(n, sizeof(*items));
	char *got = calloc(n + 1, 1);
	size_t i;

	for (i = 0; i < n; i++) {
		items[i].time_unix = at(times[i]);
		if (tags && tags[i]) {
			items[i].tags = tags[i];
			while (tags[i][items[i].ntags])
				items[i].ntags++;
		}
	}
	assert_int_equal(tsarc_retention_apply(p, items, n), 0);
	for (i = 0; i < n; i++)
		got[i] = items[i].reasons ? '1' : '0';
	assert_string_equal(got, kept);
	free(items);
	free(got);
}

/* A year of daily snapshots, 7 daily + 4 weekly + 12 monthly, worked by
 * hand: daily keeps Dec 25-31; weekly (ISO weeks) keeps Dec 31 (week 1 of
 * 2026), Dec 28, Dec 21, Dec 14; monthly keeps the last day of each month. */
static void test_year_of_dailies(void **state)
{
	tsarc_keep_policy p;
	tsarc_retention_item items[365];
	int64_t start = at("2025-01-01T02:00:00Z");
	size_t i, kept = 0;
	char when[40];
	static const char *const expected[] = {
		"2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31",
		"2025-06-30", "2025-07-31", "2025-08-31", "2025-09-30", "2025-10-31",
		"2025-11-30", "2025-12-14", "2025-12-21", "2025-12-25", "2025-12-26",
		"2025-12-27", "2025-12-28", "2025-12-29", "2025-12-30", "2025-12-31",
	};

	(void)state;
	memset(&p, 0, sizeof(p));
	p.daily = 7;
	p.weekly = 4;
	p.monthly = 12;
	memset(items, 0, sizeof(items));
	/* Shuffled input order must not matter. */
	for (i = 0; i < 365; i++)
		items[i].time_unix = start + (int64_t)((i * 37) % 365) * 86400;
	assert_int_equal(tsarc_retention_apply(&p, items, 365), 0);
	for (i = 0; i < 365; i++) {
		size_t k;
		int want = 0;
		tsarc_time_format(items[i].time_unix, 0, when, sizeof(when));
		for (k = 0; k < sizeof(expected) / sizeof(expected[0]); k++)
			want |= !strncmp(when, expected[k], 10);
		if (want != (items[i].reasons != 0))
			fail_msg("%s: expected %s", when, want ? "kept" : "removed");
		kept += items[i].reasons != 0;
	}
	assert_int_equal(kept, 20);
	/* Reasons are recorded per rule. */
	for (i = 0; i < 365; i++) {
		tsarc_time_format(items[i].time_unix, 0, when, sizeof(when));
		if (!strncmp(when, "2025-12-31", 10))
			assert_int_equal(items[i].reasons,
				TSARC_KEEP_DAILY | TSARC_KEEP_WEEKLY | TSARC_KEEP_MONTHLY);
		if (!strncmp(when, "2025-12-14", 10))
			assert_int_equal(items[i].reasons, TSARC_KEEP_WEEKLY);
	}
}

/* The newest snapshot of each hour, month or year over irregular times;
 * -1 keeps every bucket. One row a policy. */
static void test_buckets(void **state)
{
	static const char *const hours[] = {
		"2026-03-01T10:05:00Z", "2026-03-01T10:40:00Z", "2026-03-01T11:10:00Z",
		"2026-03-01T11:59:59Z", "2026-03-01T13:00:00Z", "2026-03-01T13:00:01Z",
	};
	static const char *const years[] = {
		"2023-06-01T00:00:00Z", "2023-12-31T23:59:59Z", "2024-01-01T00:00:00Z",
		"2024-12-15T00:00:00Z", "2025-02-01T00:00:00Z", "2025-02-20T00:00:00Z",
	};
	static const struct {
		const char *const *t;
		tsarc_keep_policy p;
		const char *kept;
	} cases[] = {
		{hours, {.hourly = 3}, "010101"},
		{hours, {.hourly = -1}, "010101"},
		{hours, {.hourly = 1}, "000001"},
		{years, {.yearly = 2}, "000101"},
		{years, {.yearly = -1}, "010101"},
		/* Feb 2025 (newest of the month), Dec 2024, Jan 2024. */
		{years, {.monthly = 3}, "001101"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect(&cases[i].p, cases[i].t, NULL, 6, cases[i].kept);
}

static void test_last_and_tags(void **state)
{
	static const char *const t[] = {
		"2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z",
		"2026-01-04T00:00:00Z", "2026-01-05T00:00:00Z",
	};
	static const char *const keep_tag[] = {"release", NULL};
	static const char *const other_tag[] = {"nightly", NULL};
	static const char *const *const tags[] = {keep_tag, other_tag, NULL, keep_tag, NULL};
	static const char *const wanted[] = {"release"};
	tsarc_keep_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.last = 2;
	expect(&p, t, tags, 5, "00011");
	p.tags = wanted;
	p.ntags = 1;
	expect(&p, t, tags, 5, "10011");
	p.last = 0;
	expect(&p, t, tags, 5, "10010");
}

/* Snapshots of the same second are ordered as 'latest' orders them (the
 * time's fraction, then the id), whatever order they come in: keep-last 1
 * keeps the one 'latest' names. On main the first given won the tie. */
static void test_same_second(void **state)
{
	static const struct {
		const char *time, *id;
	} snaps[] = {
		{"2026-03-01T10:00:00.1Z", "cc"}, {"2026-03-01T10:00:00.9Z", "aa"},
		{"2026-03-01T10:00:00.9Z", "bb"},
	};
	/* Each order of the three; the newest is always snaps[2]. */
	static const size_t orders[][3] = {
		{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0},
	};
	tsarc_retention_item items[3];
	tsarc_keep_policy p;
	size_t o, i;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.last = 1;
	for (o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		memset(items, 0, sizeof(items));
		for (i = 0; i < 3; i++) {
			items[i].time_unix = at(snaps[orders[o][i]].time);
			items[i].time = snaps[orders[o][i]].time;
			items[i].id = snaps[orders[o][i]].id;
		}
		assert_int_equal(tsarc_retention_apply(&p, items, 3), 0);
		for (i = 0; i < 3; i++)
			assert_int_equal(items[i].reasons != 0, orders[o][i] == 2);
	}
}

static void test_within(void **state)
{
	static const char *const t[] = {
		"2026-05-10T12:00:00Z", "2026-05-09T12:00:00Z", "2026-05-07T12:00:01Z",
		"2026-05-07T12:00:00Z", "2026-05-01T00:00:00Z",
	};
	tsarc_keep_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(tsarc_parse_within("3d", &p), 0);
	/* Strictly newer than newest - 3 days, as restic counts. */
	expect(&p, t, NULL, 5, "11100");
	assert_int_equal(tsarc_parse_within("1m", &p), 0);
	expect(&p, t, NULL, 5, "11111");
	assert_int_equal(tsarc_parse_within("2d12h", &p), 0);
	expect(&p, t, NULL, 5, "11000");
	assert_int_not_equal(tsarc_parse_within("3x", &p), 0);
	assert_int_not_equal(tsarc_parse_within("", &p), 0);
	assert_int_not_equal(tsarc_parse_within("d", &p), 0);
}

/* A snapshot dated after the store's clock (a writer's clock ahead) does
 * not move keep-within's window past now: it is measured from the store's
 * clock then, and the snapshots of the last days stay. On main the window
 * ended a year ahead and only the skewed snapshot was kept. */
static void test_within_future_snapshot(void **state)
{
	static const char *const t[] = {
		"2027-05-10T12:00:00Z", "2026-05-09T12:00:00Z", "2026-05-07T12:00:00Z",
		"2026-05-01T00:00:00Z",
	};
	static const char *const normal[] = {
		"2026-05-09T12:00:00Z", "2026-05-07T12:00:00Z", "2026-05-01T00:00:00Z",
	};
	tsarc_keep_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(tsarc_parse_within("3d", &p), 0);
	p.now = at("2026-05-10T00:00:00Z");
	expect(&p, t, NULL, 4, "1110");
	/* The store's clock after the newest snapshot: from the newest, as
	 * always (a stopped backup does not age the rest out). */
	p.now = at("2026-06-10T00:00:00Z");
	expect(&p, normal, NULL, 3, "110");
}

static void test_empty_policy_and_input(void **state)
{
	tsarc_keep_policy p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_true(tsarc_keep_policy_empty(&p));
	p.weekly = 1;
	assert_false(tsarc_keep_policy_empty(&p));
	assert_int_equal(tsarc_retention_apply(&p, NULL, 0), 0);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_year_of_dailies),
	cmocka_unit_test(test_buckets),
	cmocka_unit_test(test_last_and_tags),
	cmocka_unit_test(test_same_second),
	cmocka_unit_test(test_within),
	cmocka_unit_test(test_within_future_snapshot),
	cmocka_unit_test(test_empty_policy_and_input))
