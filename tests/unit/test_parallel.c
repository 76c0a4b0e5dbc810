/* parallel.c: every index once, per-thread state, and the first failure
 * reaching the caller with the worker thread's message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "parallel.h"
#include "tsarc/errors.h"

#define COUNT 1000

static _Atomic int seen[COUNT];
static _Atomic int workers_made, workers_freed;

static void *worker_new(void *ctx)
{
	(void)ctx;
	atomic_fetch_add(&workers_made, 1);
	return malloc(16);
}

static void worker_free(void *w)
{
	atomic_fetch_add(&workers_freed, 1);
	free(w);
}

static int visit(size_t i, void *ctx, void *worker)
{
	(void)ctx;
	assert_non_null(worker);
	atomic_fetch_add(&seen[i], 1);
	return 0;
}

static int fail_at(size_t i, void *ctx, void *worker)
{
	(void)worker;
	if (i == *(size_t *)ctx)
		return tsarc_error_set(TSARC_ECORRUPT, "item %zu is damaged", i);
	return 0;
}

static void every_index_once(void **state)
{
	size_t i;

	(void)state;
	assert_int_equal(tsarc_parallel_for(COUNT, 4, visit, NULL, worker_new, worker_free), 0);
	for (i = 0; i < COUNT; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(workers_made, 4);
	assert_int_equal(workers_freed, 4);
}

static void failure_reaches_the_caller(void **state)
{
	size_t bad = 517;

	(void)state;
	tsarc_error_clear();
	assert_int_equal(tsarc_parallel_for(COUNT, 3, fail_at, &bad, NULL, NULL), TSARC_ECORRUPT);
	assert_string_equal(tsarc_error_last()->message, "item 517 is damaged");
	assert_int_equal(tsarc_parallel_for(0, 3, fail_at, &bad, NULL, NULL), 0);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(every_index_once),
	cmocka_unit_test(failure_reaches_the_caller))
