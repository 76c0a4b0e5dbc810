/* buf.c: appending, printf into a buffer (growing past its first
 * allocation, and the ceiling, which the allocation may be past). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "tsarc/buf.h"
#include "tsarc/errors.h"

static void printf_appends(void **state)
{
	tsarc_buf b = TSARC_BUF_INIT;

	(void)state;
	assert_int_equal(tsarc_buf_puts(&b, "a="), 0);
	assert_int_equal(tsarc_buf_printf(&b, "%d, %s", 42, "x"), 0);
	assert_int_equal(tsarc_buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.size, strlen("a=42, x"));
	assert_string_equal((char *)b.ptr, "a=42, x");
	tsarc_buf_dispose(&b);
}

static void printf_grows(void **state)
{
	tsarc_buf b = TSARC_BUF_INIT;
	char *big = malloc(10001);
	size_t i;

	(void)state;
	assert_non_null(big);
	memset(big, 'q', 10000);
	big[10000] = 0;
	/* Past the first allocation in one call, then again. */
	for (i = 0; i < 3; i++)
		assert_int_equal(tsarc_buf_printf(&b, "<%s>", big), 0);
	assert_int_equal(b.size, 3 * 10002);
	assert_int_equal(b.ptr[b.size], 0);
	assert_int_equal(b.ptr[0], '<');
	assert_int_equal(b.ptr[10001], '>');
	assert_int_equal(b.ptr[2 * 10002 + 10001], '>');
	free(big);
	tsarc_buf_dispose(&b);
}

static void printf_keeps_the_ceiling(void **state)
{
	tsarc_buf b;

	(void)state;
	/* The first allocation (256 bytes) is larger than the ceiling: the
	 * text would fit the room but not the ceiling. */
	tsarc_buf_init(&b, 10);
	assert_int_equal(tsarc_buf_printf(&b, "%s", "0123456"), 0);
	assert_int_equal(tsarc_buf_printf(&b, "%d", 1234), TSARC_ETOOLARGE);
	assert_int_equal(b.size, 7);
	assert_string_equal((char *)b.ptr, "0123456");
	assert_int_equal(tsarc_buf_printf(&b, "%d", 789), 0);
	assert_string_equal((char *)b.ptr, "0123456789");
	tsarc_buf_dispose(&b);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(printf_appends),
	cmocka_unit_test(printf_grows),
	cmocka_unit_test(printf_keeps_the_ceiling))
