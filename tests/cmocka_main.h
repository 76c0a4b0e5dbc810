#ifndef TSARC_TEST_CMOCKA_MAIN_H
#define TSARC_TEST_CMOCKA_MAIN_H

/* The main() of a cmocka test file: its tests, in one group with a setup
 * and a teardown (NULL for none). Include after <cmocka.h>. One macro, so
 * that the test files say only what they test. */
#define TSARC_TESTS_MAIN(setup, teardown, ...)                                      \
	int main(void)                                                              \
	{                                                                           \
		const struct CMUnitTest tests[] = {__VA_ARGS__};                    \
		return cmocka_run_group_tests(tests, setup, teardown);              \
	}

/* A string that may be absent: equal to `want`, or NULL when `want` is
 * (the tables of cases with optional fields). A macro, so that a failure
 * names the caller's line. */
#define assert_string_or_null(got, want)                                            \
	do {                                                                        \
		const char *want_ = (want);                                         \
		if (want_)                                                          \
			assert_string_equal((got), want_);                          \
		else                                                                \
			assert_null(got);                                           \
	} while (0)

#endif
