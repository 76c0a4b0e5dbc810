/*
 * wipe.c: memory given back after holding a secret holds none of it any
 * more. free() is wrapped (-Wl,--wrap=free, tests/CMakeLists.txt) to look
 * at each block as it is freed: a plain memset before free() is a dead
 * store an optimizing compiler removes, and this test sees the secret in
 * the block when that happens.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "wipe.h"
#include "tsarc/buf.h"

#define SECRET "hunter2-very-secret"

void __real_free(void *p);
void __wrap_free(void *p);

static int watching, freed_with_secret, freed_watched;

void __wrap_free(void *p)
{
	if (p && watching) {
		size_t n = malloc_usable_size(p);
		freed_watched++;
		if (n >= strlen(SECRET) && memmem(p, n, SECRET, strlen(SECRET)))
			freed_with_secret++;
	}
	__real_free(p);
}

static void watch(void)
{
	watching = 1;
	freed_with_secret = freed_watched = 0;
}

/* Stops watching: `freed` blocks were freed since watch(), `with_secret`
 * of them holding the secret. */
static void unwatch(int freed, int with_secret)
{
	watching = 0;
	assert_int_equal(freed_watched, freed);
	assert_int_equal(freed_with_secret, with_secret);
}

static void zero_wipes(void **state)
{
	char s[] = SECRET;
	size_t i;

	(void)state;
	tsarc_secure_zero(s, sizeof(s));
	for (i = 0; i < sizeof(s); i++)
		assert_int_equal(s[i], 0);
	tsarc_secure_zero(NULL, 0);
}

static void freed_strings_hold_no_secret(void **state)
{
	char *s = strdup("password=" SECRET);

	(void)state;
	assert_non_null(s);
	watch();
	tsarc_secure_free_str(s);
	unwatch(1, 0);
	tsarc_secure_free_str(NULL);
}

static void freed_memory_holds_no_secret(void **state)
{
	char *p = malloc(64);

	(void)state;
	assert_non_null(p);
	memcpy(p, SECRET, sizeof(SECRET));
	watch();
	tsarc_secure_free(p, 64);
	unwatch(1, 0);
}

static void freed_buffer_holds_no_secret(void **state)
{
	tsarc_buf b = TSARC_BUF_INIT;

	(void)state;
	/* The secret written, then the size cleared: still in the allocation. */
	assert_int_equal(tsarc_buf_puts(&b, "[client]\npassword=" SECRET "\n"), 0);
	tsarc_buf_clear(&b);
	watch();
	tsarc_secure_buf_dispose(&b);
	unwatch(1, 0);
	assert_null(b.ptr);
	assert_int_equal(b.size, 0);
}

/* A configuration struct's owned strings, named by a table of offsets:
 * each freed once, wiped, set to NULL; other fields left as they were. */
typedef struct conf {
	char *host;
	int port;
	char *password, *unset;
} conf;

static void freed_fields_hold_no_secret(void **state)
{
	static const size_t STRINGS[] = {
		offsetof(conf, host), offsetof(conf, password), offsetof(conf, unset),
	};
	conf c = {strdup("db.example"), 3306, strdup(SECRET), NULL};

	(void)state;
	assert_non_null(c.host);
	assert_non_null(c.password);
	watch();
	TSARC_SECURE_FREE_FIELDS(&c, STRINGS);
	unwatch(2, 0);
	assert_null(c.host);
	assert_null(c.password);
	assert_null(c.unset);
	assert_int_equal(c.port, 3306);
	/* Again on the cleared struct: nothing left to free. */
	watch();
	TSARC_SECURE_FREE_FIELDS(&c, STRINGS);
	unwatch(0, 0);
}

/* The wrapper does see a secret freed unwiped (the test can fail). The
 */
static void unwiped_block_is_seen(void **state)
{
	/* Through a volatile pointer, or the compiler drops the pair. */
	void (*volatile release)(void *) = free;
	char *s = strdup(SECRET);

	(void)state;
	assert_non_null(s);
	watch();
	release(s);
	unwatch(1, 1);
}

/* A buffer outgrown by tsarc_secure_grow is wiped before it goes back;
 * what was in use moves over. */
static void outgrown_buffer_holds_no_secret(void **state)
{
	char *buf = NULL;
	size_t cap = 0;

	(void)state;
	assert_int_equal(tsarc_secure_grow(&buf, 0, &cap, 10), 0);
	assert_true(cap >= 10);
	memcpy(buf, SECRET, sizeof(SECRET));
	assert_int_equal(tsarc_secure_grow(&buf, sizeof(SECRET), &cap, sizeof(SECRET)), 0);
	watch();
	assert_int_equal(tsarc_secure_grow(&buf, sizeof(SECRET), &cap, cap + 1), 0);
	unwatch(1, 0);
	assert_string_equal(buf, SECRET);
	tsarc_secure_free(buf, cap);
}

/* A tsarc_buf marked wipe: the block it outgrows and the one its
 * dispose frees are wiped; what was in it moves over. Unmarked, the
 * disposed block still holds the secret (what the mark is for). */
static void wiped_buf_holds_no_secret(void **state)
{
	tsarc_buf b, plain = TSARC_BUF_INIT;

	(void)state;
	tsarc_buf_init_wiped(&b);
	assert_int_equal(tsarc_buf_puts(&b, SECRET), 0);
	watch();
	assert_int_equal(tsarc_buf_grow(&b, b.cap + 1), 0);
	unwatch(1, 0);
	assert_string_equal((char *)b.ptr, SECRET);
	watch();
	tsarc_buf_dispose(&b);
	unwatch(1, 0);
	assert_null(b.ptr);
	assert_int_equal(b.wipe, 1);

	assert_int_equal(tsarc_buf_puts(&plain, SECRET), 0);
	watch();
	tsarc_buf_dispose(&plain);
	unwatch(1, 1);
}

/* Memory handed to a library that frees it without its size. */
static void wiped_alloc_holds_no_secret(void **state)
{
	char *p = tsarc_wiped_alloc(sizeof(SECRET));

	(void)state;
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
	memcpy(p, SECRET, sizeof(SECRET));
	watch();
	tsarc_wiped_free(p);
	unwatch(1, 0);
	tsarc_wiped_free(NULL);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(outgrown_buffer_holds_no_secret),
	cmocka_unit_test(wiped_buf_holds_no_secret), cmocka_unit_test(wiped_alloc_holds_no_secret),
	cmocka_unit_test(zero_wipes),
	cmocka_unit_test(freed_strings_hold_no_secret),
	cmocka_unit_test(freed_memory_holds_no_secret),
	cmocka_unit_test(freed_buffer_holds_no_secret),
	cmocka_unit_test(freed_fields_hold_no_secret),
	cmocka_unit_test(unwiped_block_is_seen))
