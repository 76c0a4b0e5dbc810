#ifndef TSARC_TEST_COUNTING_STORE_H
#define TSARC_TEST_COUNTING_STORE_H

/*
 * A store (tsarc/sys/store.h) that passes every call to another store and
 * counts it, per operation and object type, and records the names removed:
 * for tests that must show how many requests something makes (prune lists
 * data once and reads no chunk) or exactly what it deletes. Thread-safe,
 * as stores must be.
 */

#include <stddef.h>
#include "tsarc/sys/store.h"

typedef enum counting_op {
	COUNT_CREATE,
	COUNT_PUT,
	COUNT_GET,
	COUNT_STAT,
	COUNT_LIST,
	COUNT_REMOVE,      /* one per remove call */
	COUNT_REMOVE_MANY, /* one per remove_many call */
	COUNT_REMOVED,     /* names removed, by either */
	COUNT_SYNC,
	COUNT__N
} counting_op;

typedef struct counting_store counting_store;

/* Wraps `inner` (owned from now on, freed with the wrapper) into a store
 * `*out`; `*counter` reads its counts until the store is freed. */
int counting_store_wrap(tsarc_store **out, counting_store **counter, tsarc_store *inner);
unsigned long counting_store_calls(counting_store *c, counting_op op, tsarc_objtype type);
/* The names of `type` removed since the last reset, sorted; the caller
 * frees them with tsarc_store_names_free. */
int counting_store_removed(counting_store *c, tsarc_objtype type, char ***names_out,
	size_t *count_out);
void counting_store_reset(counting_store *c);

#endif
