#ifndef TSARC_TEST_FORWARD_STORE_H
#define TSARC_TEST_FORWARD_STORE_H

/*
 * The base of the test doubles that wrap a store (counting_store,
 * retention_store, test_trust's ordered listing): a store that passes
 * every call of the core interface (create, put, get, stat, list, remove,
 * remove_many, sync, describe, free) to another. A double embeds it first,
 * fills it with forward_store_init and sets only the slots it changes; its
 * own calls reach the wrapped store through forward_inner. Object Lock,
 * put_file and remove_temp are left empty: a double has them only where it
 * says so, as before this base.
 */

#include "tsarc/sys/store.h"

typedef struct forward_store {
	tsarc_store parent; /* first: the store is the wrapper */
	tsarc_store *inner;
} forward_store;

/* `fw` forwards to `inner` (owned from now on: freed by forward_store_free)
 * as a store of `kind`, with inner's max_inflight. */
void forward_store_init(forward_store *fw, const char *kind, tsarc_store *inner);
/* The store a forward_store wraps. */
tsarc_store *forward_inner(tsarc_store *st);
/* The default free slot: frees the wrapped store, then `st` with free().
 * A double with more to release calls it last from its own. */
void forward_store_free(tsarc_store *st);

#endif
