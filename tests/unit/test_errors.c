/* errors.c: codes and names, the message prefix, and an error saved on
 * one thread and raised again on another (error_save.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "error_save.h"
#include "tsarc/errors.h"

static void codes_and_prefix(void **state)
{
	(void)state;
	assert_string_equal(tsarc_errname(TSARC_ENOTFOUND), "ENOTFOUND");
	assert_string_equal(tsarc_strerror(TSARC_EUNSAFE), "unsafe input refused");
	assert_int_equal(tsarc_error_set(TSARC_EIO, "reading %s", "x"), TSARC_EIO);
	tsarc_error_prefix("snapshot %d", 1);
	assert_string_equal(tsarc_error_last()->message, "snapshot 1: reading x");
	tsarc_error_clear();
	assert_int_equal(tsarc_error_last()->code, 0);
}

/* A message made from the last one ("X; then Y (LAST)"): the last
 * message is an argument of the call that replaces it. */
static void last_message_as_an_argument(void **state)
{
	(void)state;
	tsarc_error_set(TSARC_EIO, "the first failure");
	tsarc_error_set(TSARC_EIO, "the step failed; putting it back failed too (%s)",
		tsarc_error_last()->message);
	assert_string_equal(tsarc_error_last()->message,
		"the step failed; putting it back failed too (the first failure)");
}

/* Every code of the list has its name and text, and an unknown code
 * says so (both come from one table). */
static void every_code_named(void **state)
{
	static const struct {
		int code;
		const char *name, *text;
	} codes[] = {
		{TSARC_OK, "OK", "success"},
#define ROW(name, value, text) {value, #name, text},
		TSARC_ERRNO_MAP(ROW)
#undef ROW
	};
	size_t i;

	(void)state;
	assert_true(sizeof(codes) / sizeof(codes[0]) > 10);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		assert_string_equal(tsarc_errname(codes[i].code), codes[i].name);
		assert_string_equal(tsarc_strerror(codes[i].code), codes[i].text);
	}
	assert_string_equal(tsarc_errname(-9999), "UNKNOWN");
	assert_string_equal(tsarc_strerror(-9999), "unknown error");
	assert_string_equal(tsarc_strerror(1), "unknown error");
}

static void *fail_in_thread(void *arg)
{
	tsarc_saved_error *e = arg;

	tsarc_error_set(TSARC_ECORRUPT, "chunk %s is damaged", "ab12");
	tsarc_error_save(e);
	return NULL;
}

static void saved_across_threads(void **state)
{
	tsarc_saved_error e;
	pthread_t th;

	(void)state;
	tsarc_error_set(TSARC_ENET, "the main thread's own error");
	assert_int_equal(pthread_create(&th, NULL, fail_in_thread, &e), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	/* The thread's error did not reach this thread by itself. */
	assert_int_equal(tsarc_error_last()->code, TSARC_ENET);
	assert_int_equal(tsarc_error_restore(&e), TSARC_ECORRUPT);
	assert_int_equal(tsarc_error_last()->code, TSARC_ECORRUPT);
	assert_string_equal(tsarc_error_last()->message, "chunk ab12 is damaged");
}

static void kept_across_a_cleanup(void **state)
{
	char long_msg[TSARC_ERROR_MESSAGE_MAX];
	tsarc_saved_error e;

	(void)state;
	/* The longest message there can be survives whole. */
	memset(long_msg, 'm', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = 0;
	tsarc_error_set(TSARC_EIO, "%s", long_msg);
	tsarc_error_save(&e);
	tsarc_error_set(TSARC_ENOTFOUND, "a clean-up's own failure");
	tsarc_error_restore(&e);
	assert_int_equal(tsarc_error_last()->code, TSARC_EIO);
	assert_string_equal(tsarc_error_last()->message, long_msg);
	/* No error saved: restoring clears. */
	tsarc_error_clear();
	tsarc_error_save(&e);
	tsarc_error_set(TSARC_EIO, "later");
	assert_int_equal(tsarc_error_restore(&e), 0);
	assert_int_equal(tsarc_error_last()->code, 0);
	assert_string_equal(tsarc_error_last()->message, "");
}

/* A message has no fixed size: one longer than any buffer (a restore's
 * report of a failed rollback, made of the step's error and the
 * rollback's) is kept whole, through a prefix, a save and a restore, and
 * as the argument of the next one. Before, it was cut at 1023 bytes. */
static void long_message_whole(void **state)
{
	char big[5000];
	tsarc_saved_error e;
	const char *m;
	size_t n;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	big[sizeof(big) - 2] = 'E';
	tsarc_error_set(TSARC_EIO, "start %s", big);
	assert_int_equal(strlen(tsarc_error_last()->message), 6 + sizeof(big) - 1);
	tsarc_error_prefix("step %d", 7);
	m = tsarc_error_last()->message;
	assert_int_equal(strncmp(m, "step 7: start xx", 16), 0);
	assert_int_equal(m[strlen(m) - 1], 'E');
	/* Made from the last one, which is as long. */
	tsarc_error_set(TSARC_EIO, "%s\n  and then: %s", tsarc_error_last()->message,
		tsarc_error_last()->message);
	n = strlen(tsarc_error_last()->message);
	assert_int_equal(n, 2 * (8 + 6 + sizeof(big) - 1) + 13);
	tsarc_error_save(&e);
	assert_int_equal(strlen(e.message), sizeof(e.message) - 1);
	assert_int_equal(strlen(tsarc_error_saved_message(&e)), n);
	tsarc_error_set(TSARC_ENOTFOUND, "a clean-up's own failure");
	assert_int_equal(tsarc_error_restore(&e), TSARC_EIO);
	assert_int_equal(strlen(tsarc_error_last()->message), n);
	/* Saved and not raised again: forgotten (no leak under ASan). */
	tsarc_error_save(&e);
	tsarc_error_forget(&e);
	/* A short one after a long one is short again. */
	tsarc_error_set(TSARC_EIO, "short");
	assert_string_equal(tsarc_error_last()->message, "short");
}

static void *long_in_thread(void *arg)
{
	char big[3000];

	(void)arg;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	tsarc_error_set(TSARC_EIO, "%s", big);
	return NULL;
}

/* A thread's long message is freed when the thread ends (ASan's leak
 * check would name it). */
static void long_message_thread_freed(void **state)
{
	pthread_t th;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, long_in_thread, NULL), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(long_message_whole),
	cmocka_unit_test(long_message_thread_freed),
	cmocka_unit_test(codes_and_prefix),
	cmocka_unit_test(last_message_as_an_argument),
	cmocka_unit_test(every_code_named),
	cmocka_unit_test(saved_across_threads),
	cmocka_unit_test(kept_across_a_cleanup))
