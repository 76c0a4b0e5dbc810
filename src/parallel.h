#ifndef TSARC_PARALLEL_H
#define TSARC_PARALLEL_H

#include <stddef.h>

/*
 * The one worker pool of the engine (check, verify-first): a fixed number
 * of threads take indexes from a shared counter, each with state of its
 * own (a decompression context, buffers), and the first failure stops the
 * rest and reaches the caller's thread with its message (error_save.h).
 */

/*
 * Runs fn(index, ctx, worker_state) for every index in [0, count) on
 * `threads` threads. A non-zero return stops the remaining work and is
 * returned (with the failing thread's error message).
 */
typedef int (*tsarc_parallel_fn)(size_t index, void *ctx, void *worker);
int tsarc_parallel_for(size_t count, unsigned threads, tsarc_parallel_fn fn,
	void *ctx, void *(*worker_new)(void *ctx), void (*worker_free)(void *w));

#endif
