#ifndef TSARC_TEST_COUNT_LISTED_H
#define TSARC_TEST_COUNT_LISTED_H

/* A tsarc_store_list callback that counts what is listed into the size_t
 * at `payload`: for the tests that need only how many objects there are. */
#include <stddef.h>
#include <stdint.h>

static inline int count_listed(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	(void)name;
	(void)size;
	(void)mtime;
	(*(size_t *)payload)++;
	return 0;
}

#endif
