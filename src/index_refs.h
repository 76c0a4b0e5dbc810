#ifndef TSARC_INDEX_REFS_H
#define TSARC_INDEX_REFS_H

/*
 * What the snapshots need on a format-2 repository, in bounded memory: a
 * bit on the first record of each needed id in the index table
 * (index_table.h, 0.125 MiB per million records), the snapshots read one
 * at a time. Their ids are gathered (32 bytes each) up to 4 MiB, sorted,
 * and looked up in the table together: one read of each block they fall
 * in, so many small snapshots cost one read of the table, not one each (a
 * larger snapshot is gathered whole: it is in memory anyway, at 40 bytes
 * a chunk). Ids the table lacks are kept apart (a chunk set: damage, a
 * few). For prune (what stays) and extend-retention (what to protect).
 */
#include "chunkset.h"
#include "index_table.h"

typedef struct tsarc_index_refs {
	tsarc_index_table *table; /* not owned */
	uint8_t *bits;            /* a bit per table record */
	tsarc_chunkset *absent;   /* needed ids no record has */
	uint8_t (*gathered)[TSARC_ID_LEN];
	size_t ngathered, gathered_cap;
} tsarc_index_refs;

/*
 * Reads the snapshots `ids` in turn (one listed then gone is skipped) and
 * marks what they need in table t; *loaded counts those read. A damaged
 * one (TSARC_ECORRUPT) goes to on_damaged and is left out, or with
 * on_damaged NULL is the error; any other failure to read one is an
 * error ("snapshot ... cannot be read").
 */
int tsarc_index_refs_mark(tsarc_index_refs *r, tsarc_repo *repo, tsarc_index_table *t,
	char **ids, size_t n, void (*on_damaged)(const char *id, void *payload), void *payload,
	size_t *loaded);
/* Whether the id whose first record is at `ordinal` is needed. */
int tsarc_index_refs_has(const tsarc_index_refs *r, uint64_t ordinal);
/* The distinct ids needed, found in the table or not. */
size_t tsarc_index_refs_count(const tsarc_index_refs *r);
void tsarc_index_refs_dispose(tsarc_index_refs *r);

#endif
