/* Whether a Redis can hold a backup (memory.c tsarc_redis_room): what is
 * refused, and what must not be. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "cmocka_main.h"
#include <string.h>

#include "logical.h"
#include "tsarc/errors.h"

#define MIB (1024ull * 1024ull)

static tsarc_redis_memory target(unsigned long long used, unsigned long long dataset,
	unsigned long long keys, unsigned long long maxmemory)
{
	tsarc_redis_memory m = {.known = 1, .used = used, .dataset = dataset,
		.startup = 1 * MIB, .maxmemory = maxmemory, .keys = keys};

	strcpy(m.policy, "noeviction");
	return m;
}

/* A restore into the server it came from, 95% full: the same data at the
 * same limit fits, and is not refused; the text says it is tight. */
static void own_server_not_refused(void **state)
{
	tsarc_redis_memory t = target(950 * MIB, 900 * MIB, 100000, 1000 * MIB);
	tsarc_redis_need n = {.how = TSARC_REDIS_NEED_RECORDED, .dataset = 900 * MIB, .keys = 100000};
	char text[1024];

	(void)state;
	assert_int_equal(tsarc_redis_room("h:1", &t, &n, text, sizeof(text)), 0);
	assert_non_null(strstr(text, "less than a tenth to spare"));
}

static void too_small_refused(void **state)
{
	tsarc_redis_memory t = target(20 * MIB, 1 * MIB, 20, 100 * MIB);
	tsarc_redis_need n = {.how = TSARC_REDIS_NEED_RECORDED, .dataset = 200 * MIB, .keys = 4000};
	char text[1024];

	(void)state;
	assert_int_equal(tsarc_redis_room("h:1", &t, &n, text, sizeof(text)), TSARC_EUNSAFE);
	assert_non_null(strstr(text, "does not fit"));
	assert_non_null(strstr(tsarc_error_last()->message, "nothing was written"));
	tsarc_error_clear();
	/* Room enough, with a tenth to spare: nothing said of it. */
	t = target(20 * MIB, 1 * MIB, 20, 1000 * MIB);
	assert_int_equal(tsarc_redis_room("h:1", &t, &n, text, sizeof(text)), 0);
	assert_null(strstr(text, "tenth"));
}

static void unknown_or_unlimited_not_refused(void **state)
{
	tsarc_redis_memory t = target(20 * MIB, 1 * MIB, 20, 0);
	tsarc_redis_need n = {.how = TSARC_REDIS_NEED_RECORDED, .dataset = 200 * MIB, .keys = 4000};
	char text[1024];

	(void)state;
	assert_int_equal(tsarc_redis_room("h:1", &t, &n, text, sizeof(text)), 0);
	t.known = 0;
	t.maxmemory = 10 * MIB;
	assert_int_equal(tsarc_redis_room("h:1", &t, &n, text, sizeof(text)), 0);
	assert_non_null(strstr(text, "not checked"));
}

/* The RDB swap's check: the same computation, and the refusal says what a
 * server that loads the whole RDB at start would do (not a load refused
 * halfway). */
static void swap_refusal_says_start(void **state)
{
	tsarc_redis_memory t = target(20 * MIB, 1 * MIB, 20, 100 * MIB);
	tsarc_redis_need n = {.how = TSARC_REDIS_NEED_RDB, .dataset = 200 * MIB, .at_start = 1};
	char text[1024];

	(void)state;
	assert_int_equal(tsarc_redis_room("h:1", &t, &n, text, sizeof(text)), TSARC_EUNSAFE);
	assert_non_null(strstr(tsarc_error_last()->message, "estimated from the RDB's size"));
	assert_non_null(strstr(tsarc_error_last()->message, "start over its maxmemory and refuse "
		"every write"));
	assert_null(strstr(tsarc_error_last()->message, "halfway"));
	tsarc_error_clear();
	strcpy(t.policy, "allkeys-lru");
	assert_int_equal(tsarc_redis_room("h:1", &t, &n, text, sizeof(text)), TSARC_EUNSAFE);
	assert_non_null(strstr(tsarc_error_last()->message, "evict keys at the next writes"));
	tsarc_error_clear();
}

/* The plan of a swap into a pod: only the configuration's limit is known
 * (limit_only, nothing else of the target). A backup over the limit is
 * refused, one under it fits "at most" the limit; neither text claims to
 * know what the server uses besides its data. */
static void limit_only_at_most(void **state)
{
	tsarc_redis_memory t = {.known = 1, .limit_only = 1, .maxmemory = 2 * MIB};
	tsarc_redis_need n = {.how = TSARC_REDIS_NEED_RECORDED, .dataset = 5 * MIB, .keys = 1000,
		.at_start = 1};
	char text[1024];

	(void)state;
	strcpy(t.policy, "noeviction");
	assert_int_equal(tsarc_redis_room("pod", &t, &n, text, sizeof(text)), TSARC_EUNSAFE);
	assert_non_null(strstr(tsarc_error_last()->message, "maxmemory of 2.0 MiB leaves at most "
		"2.0 MiB once it is emptied (what it uses besides its data not known before the "
		"run);"));
	tsarc_error_clear();
	n.dataset = 1 * MIB;
	assert_int_equal(tsarc_redis_room("pod", &t, &n, text, sizeof(text)), 0);
	assert_non_null(strstr(text, "fits: "));
	assert_non_null(strstr(text, "has at most 2.0 MiB once emptied"));
	assert_null(strstr(text, "used besides its data)"));
}

/* INFO's text as redis-cli prints it where the server runs (the swap),
 * lines ending in CRLF: the same numbers as our client's replies. */
static void parse_info_text(void **state)
{
	tsarc_redis_memory m;

	(void)state;
	tsarc_redis_memory_parse(&m, "# Memory\r\nused_memory:6340680\r\nused_memory_human:6.05M\r\n"
		"used_memory_startup:862000\r\nused_memory_dataset:5312000\r\nmaxmemory:2097152\r\n"
		"maxmemory_policy:noeviction\r\n",
		"# Keyspace\r\ndb0:keys=1000,expires=250,avg_ttl=0\r\ndb2:keys=20,expires=0,avg_ttl=0\r\n");
	assert_int_equal(m.known, 1);
	assert_int_equal(m.used, 6340680);
	assert_int_equal(m.startup, 862000);
	assert_int_equal(m.dataset, 5312000);
	assert_int_equal(m.maxmemory, 2097152);
	assert_string_equal(m.policy, "noeviction");
	assert_int_equal(m.keys, 1020);
	/* Refused to the user (redis-cli prints the error reply): unknown. */
	tsarc_redis_memory_parse(&m, "NOPERM User app has no permissions to run the 'info' "
		"command\n", NULL);
	assert_int_equal(m.known, 0);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(swap_refusal_says_start),
	cmocka_unit_test(limit_only_at_most),
	cmocka_unit_test(parse_info_text),
	cmocka_unit_test(own_server_not_refused),
	cmocka_unit_test(too_small_refused),
	cmocka_unit_test(unknown_or_unlimited_not_refused))
