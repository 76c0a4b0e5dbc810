/*
 * The decimal numbers of a logical Redis stream (SELECT's database, a
 * RESTORE's expiry, the lengths of its RESP headers) and of a Redis URL's
 * path, read by tsarc_redis_decimal (backends/components/redis/load.c): the
 * stream comes out of the repository. Nineteen digits can be more than a
 * long long holds: such a number is refused, never wrapped into a
 * negative one that passes the check against the maximum (a negative
 * database number indexes the loader's tables before their start).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "logical.h"

#include <string.h>

static int dec(const char *s, long long max, long long *v)
{
	return tsarc_redis_decimal((const unsigned char *)s, strlen(s), max, v);
}

static void in_range(void **state)
{
	long long v;
	(void)state;
	assert_int_equal(dec("0", 15, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(dec("15", 15, &v), 0);
	assert_int_equal(v, 15);
	assert_int_equal(dec("9223372036854775807", INT64_MAX, &v), 0);
	assert_true(v == INT64_MAX);
}

static void refused(void **state)
{
	long long v;
	(void)state;
	assert_int_equal(dec("16", 15, &v), -1);
	assert_int_equal(dec("", 15, &v), -1);
	assert_int_equal(dec("-1", 15, &v), -1);
	assert_int_equal(dec("1 ", 15, &v), -1);
	assert_int_equal(dec("12345678901234567890", INT64_MAX, &v), -1);
	/* Past a long long: refused, not wrapped (found by fuzz_redis_stream
	 * as a SELECT of 9999998888889999999). */
	assert_int_equal(dec("9223372036854775808", INT64_MAX, &v), -1);
	assert_int_equal(dec("9999998888889999999", (1 << 20) - 1, &v), -1);
	assert_int_equal(dec("9999999999999999999", INT64_MAX, &v), -1);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(in_range),
	cmocka_unit_test(refused))
