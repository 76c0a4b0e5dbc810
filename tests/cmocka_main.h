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

#endif
