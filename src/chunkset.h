#ifndef TSARC_CHUNKSET_H
#define TSARC_CHUNKSET_H

#include <stddef.h>
#include <stdint.h>
#include "crypto.h"
#include "tsarc/sys/store.h"

/*
 * The set of chunk ids a repository holds, with each chunk's stored size:
 * the "have I got this chunk" answer for dedup, and the inventory for
 * check. Open addressing on the id's first bytes (ids are HMAC output,
 * already uniform). Thread-safe.
 */
typedef struct tsarc_chunkset tsarc_chunkset;

#define TSARC_CHUNK_SIZE_UNKNOWN UINT32_MAX

int tsarc_chunkset_new(tsarc_chunkset **out);
void tsarc_chunkset_free(tsarc_chunkset *set);
/* Makes room for n ids in all without growing again: a set about to be
 * filled with a count known ahead (a listing of the packs an index names)
 * is then allocated once, not doubled as it fills (which holds the old and
 * the new table at once: 15 MiB at 156 k packs). */
int tsarc_chunkset_reserve(tsarc_chunkset *set, size_t n);
/* Adds the id when absent; *added tells whether this call added it (and so
 * whether the caller is the one that must store the chunk). */
int tsarc_chunkset_claim(tsarc_chunkset *set, const uint8_t id[TSARC_ID_LEN],
	uint32_t stored_size, int *added);
/* For an id already present whose stored size is known and outside
 * [min, max] (a damaged object): marks its size unknown and returns 1 with
 * the size found in *bad_size, so exactly one caller stores it again;
 * otherwise returns 0. */
int tsarc_chunkset_reclaim(tsarc_chunkset *set, const uint8_t id[TSARC_ID_LEN],
	uint64_t min, uint64_t max, uint32_t *bad_size);
/* Removes an id, e.g. when storing the chunk failed. */
void tsarc_chunkset_drop(tsarc_chunkset *set, const uint8_t id[TSARC_ID_LEN]);
int tsarc_chunkset_set_size(tsarc_chunkset *set, const uint8_t id[TSARC_ID_LEN],
	uint32_t stored_size);
/* 1 and the stored size when present, 0 when absent. */
int tsarc_chunkset_lookup(tsarc_chunkset *set, const uint8_t id[TSARC_ID_LEN],
	uint32_t *stored_size);
size_t tsarc_chunkset_count(tsarc_chunkset *set);
/* Calls fn for each id (no particular order); non-zero stops. */
int tsarc_chunkset_foreach(tsarc_chunkset *set,
	int (*fn)(const uint8_t id[TSARC_ID_LEN], uint32_t stored, void *payload),
	void *payload);

/* Loads every data object name and size of a store into `set`; _type:
 * of the objects of `type` (names that are not ids are left out). */
struct tsarc_store;
int tsarc_chunkset_load(tsarc_chunkset *set, struct tsarc_store *store);
int tsarc_chunkset_load_type(tsarc_chunkset *set, struct tsarc_store *store,
	tsarc_objtype type);

#endif
