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
	tsarc_redis_need n = {TSARC_REDIS_NEED_RECORDED, 900 * MIB, 100000};
	char text[1024];

	(void)state;
	assert_int_equal(tsarc_redis_room("h:1", &t, &n, text, sizeof(text)), 0);
	assert_non_null(strstr(text, "less than a tenth to spare"));
}

static void too_small_refused(void **state)
{
	tsarc_redis_memory t = target(20 * MIB, 1 * MIB, 20, 100 * MIB);
	tsarc_redis_need n = {TSARC_REDIS_NEED_RECORDED, 200 * MIB, 4000};
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
	tsarc_redis_need n = {TSARC_REDIS_NEED_RECORDED, 200 * MIB, 4000};
	char text[1024];

	(void)state;
	assert_int_equal(tsarc_redis_room("h:1", &t, &n, text, sizeof(text)), 0);
	t.known = 0;
	t.maxmemory = 10 * MIB;
	assert_int_equal(tsarc_redis_room("h:1", &t, &n, text, sizeof(text)), 0);
	assert_non_null(strstr(text, "not checked"));
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(own_server_not_refused),
	cmocka_unit_test(too_small_refused),
	cmocka_unit_test(unknown_or_unlimited_not_refused))
