/* buf.c: appending, printf into a buffer (growing past its first
 * allocation, and the ceiling, which the allocation may be past); the
 * growing arrays of grow.h (tsarc_reserve, tsarc_strv_push). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "grow.h"
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
	/* Up to the ceiling exactly, once the failure is cleared. */
	tsarc_buf_clear(&b);
	assert_int_equal(tsarc_buf_printf(&b, "%s%d", "0123456", 789), 0);
	assert_string_equal((char *)b.ptr, "0123456789");
	tsarc_buf_dispose(&b);
}

/* An append that fails leaves a piece out: a later one that would fit
 * must not go on after the hole (a redis.conf without the line that was
 * dropped, written as if whole). The first failure stays: every later
 * append returns it and the bytes are not handed out. */
static void a_failure_stays(void **state)
{
	tsarc_buf b;
	char *out;

	(void)state;
	tsarc_buf_init(&b, 10);
	assert_int_equal(tsarc_buf_puts(&b, "abc"), 0);
	assert_int_equal(tsarc_buf_puts(&b, "0123456789"), TSARC_ETOOLARGE);
	assert_int_equal(tsarc_buf_puts(&b, "def"), TSARC_ETOOLARGE);
	assert_int_equal(tsarc_buf_printf(&b, "%d", 7), TSARC_ETOOLARGE);
	assert_int_equal(tsarc_buf_append(&b, "", 1), TSARC_ETOOLARGE);
	assert_string_equal((char *)b.ptr, "abc");
	/* One question, whatever replaced the message since. */
	tsarc_error_clear();
	assert_int_equal(tsarc_buf_status(&b), TSARC_ETOOLARGE);
	assert_int_equal(tsarc_error_last()->code, TSARC_ETOOLARGE);
	out = tsarc_buf_detach(&b);
	assert_null(out);
	assert_int_equal(tsarc_error_last()->code, TSARC_ETOOLARGE);
	/* Detached (disposed of), or cleared: a buffer to use again. */
	assert_int_equal(tsarc_buf_status(&b), 0);
	assert_int_equal(tsarc_buf_puts(&b, "0123456789"), 0);
	assert_int_equal(tsarc_buf_puts(&b, "x"), TSARC_ETOOLARGE);
	tsarc_buf_clear(&b);
	assert_int_equal(tsarc_buf_status(&b), 0);
	assert_int_equal(tsarc_buf_puts(&b, "x"), 0);
	assert_string_equal((char *)b.ptr, "x");
	tsarc_buf_dispose(&b);
}

/* A wiped buffer that failed is still wiped when it is given back: the
 * failure changes what is appended, not how the memory goes. */
static void a_failed_wiped_buffer_is_disposed(void **state)
{
	tsarc_buf b;

	(void)state;
	tsarc_buf_init_wiped(&b);
	b.max = 8;
	assert_int_equal(tsarc_buf_puts(&b, "secret"), 0);
	assert_int_equal(tsarc_buf_puts(&b, "123"), TSARC_ETOOLARGE);
	assert_null(tsarc_buf_detach(&b));
	assert_null(b.ptr);
	assert_int_equal(b.wipe, 1);
	assert_int_equal(b.max, 8);
	assert_int_equal(tsarc_buf_status(&b), 0);
}

/* Doubling from `first`; an element count whose bytes overflow is refused
 * and leaves the array as it was. */
static void reserve_doubles(void **state)
{
	static const struct {
		size_t n, cap_before, cap_after;
	} steps[] = {{0, 0, 3}, {2, 3, 3}, {3, 3, 6}, {6, 6, 12}, {11, 12, 12}, {12, 12, 24}};
	uint32_t *arr = NULL;
	size_t cap = 0, i, huge;
	char *big = NULL;

	(void)state;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(cap, steps[i].cap_before);
		assert_int_equal(TSARC_RESERVE(arr, steps[i].n, cap, 3), 0);
		assert_int_equal(cap, steps[i].cap_after);
		arr[steps[i].n] = (uint32_t)i; /* the slot is there (ASan checks) */
	}
	free(arr);
	huge = SIZE_MAX / 2 + 1;
	assert_int_equal(tsarc_reserve(&big, huge, &huge, 1, 1), TSARC_ENOMEM);
	assert_null(big);
	assert_int_equal(huge, SIZE_MAX / 2 + 1);
}

/* Copies, in order; the caller's string is not kept. */
static void strv_push_copies(void **state)
{
	char **v = NULL, word[8];
	size_t n = 0, cap = 0, i;

	(void)state;
	for (i = 0; i < 5; i++) {
		snprintf(word, sizeof(word), "w%zu", i);
		assert_int_equal(tsarc_strv_push(&v, &n, &cap, 2, word), 0);
		word[0] = 'X';
	}
	assert_int_equal(n, 5);
	assert_int_equal(cap, 8);
	for (i = 0; i < n; i++) {
		snprintf(word, sizeof(word), "w%zu", i);
		assert_string_equal(v[i], word);
		free(v[i]);
	}
	free(v);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(reserve_doubles),
	cmocka_unit_test(strv_push_copies),
	cmocka_unit_test(printf_appends),
	cmocka_unit_test(printf_grows),
	cmocka_unit_test(printf_keeps_the_ceiling),
	cmocka_unit_test(a_failure_stays),
	cmocka_unit_test(a_failed_wiped_buffer_is_disposed))
