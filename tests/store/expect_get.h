#ifndef TSARC_TEST_EXPECT_GET_H
#define TSARC_TEST_EXPECT_GET_H

/*
 * The check the store tests make after each read: (type, name) read from
 * `offset` (`length` bytes, 0: to the end) into the tsarc_buf `b`, cleared
 * first, holds exactly the `n` bytes at `want`. A macro, so that a failure
 * names the caller's line. Include after <cmocka.h>.
 */
#include "tsarc/sys/store.h"

#define EXPECT_GET(st, type, name, offset, length, b, want, n) \
	do { \
		tsarc_buf_clear(b); \
		assert_int_equal(tsarc_store_get((st), (type), (name), (offset), (length), (b)), \
			0); \
		assert_int_equal((b)->size, (n)); \
		if ((n) > 0) \
			assert_memory_equal((b)->ptr, (want), (n)); \
	} while (0)

#endif
