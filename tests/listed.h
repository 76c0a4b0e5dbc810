#ifndef TSARC_TEST_LISTED_H
#define TSARC_TEST_LISTED_H

/* A tsarc_store_list callback that keeps what is listed (name, size,
 * mtime) and a lookup by name: for the tests that check which objects a
 * store holds (the store suite, Object Lock) and test_trust's store that
 * lists them in an order of its own. One copy, not one per file. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define LISTED_MAX 64

typedef struct listed {
	char names[LISTED_MAX][65];
	uint64_t sizes[LISTED_MAX];
	int64_t mtimes[LISTED_MAX];
	size_t n;
} listed;

/* Adds one object to the listed at `payload`; a full one stops the
 * listing with -1000, which the listing call returns. */
static inline int listed_add(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	listed *l = payload;

	if (l->n >= LISTED_MAX)
		return -1000;
	snprintf(l->names[l->n], sizeof(l->names[0]), "%s", name);
	l->mtimes[l->n] = mtime;
	l->sizes[l->n++] = size;
	return 0;
}

/* The index of `name` in `l`, or -1. */
static inline long listed_find(const listed *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->names[i], name))
			return (long)i;
	return -1;
}

#endif
