/* fmt.c: tsarc_asprintf, short and long; tsarc_dup_printf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "fmt.h"

static void formats(void **state)
{
	char *s, *long_s, big[5000];

	(void)state;
	assert_int_equal(tsarc_asprintf(&s, "%s/%s:%d", "a", "b", 7), 0);
	assert_string_equal(s, "a/b:7");
	free(s);
	assert_int_equal(tsarc_asprintf(&s, "%s", ""), 0);
	assert_string_equal(s, "");
	free(s);
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(tsarc_asprintf(&long_s, "[%s][%s]", big, big), 0);
	assert_int_equal(strlen(long_s), 2 * (sizeof(big) - 1) + 4);
	assert_int_equal(long_s[sizeof(big)], ']');
	free(long_s);
}

static void dup_printf_returns_the_string(void **state)
{
	char *s;

	(void)state;
	s = tsarc_dup_printf("s3:%s/%s", "http://127.0.0.1:9000", "bucket");
	assert_non_null(s);
	assert_string_equal(s, "s3:http://127.0.0.1:9000/bucket");
	free(s);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(formats),
	cmocka_unit_test(dup_printf_returns_the_string))
