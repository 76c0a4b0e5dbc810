#ifndef TSARC_INDEX_REFS_H
#define TSARC_INDEX_REFS_H

/*
 * What the snapshots need on a format-2 repository, in bounded memory,
 * with one pass over the index table (index_table.h) whatever the number
 * of snapshots. The snapshots are read one at a time; each of their chunk
 * references becomes a record of 76 bytes (the chunk id first, the rest
 * the caller's) collected into sorted runs sealed in $TMPDIR (the runs of
 * index_table_file.h); then the runs are merged and swept along with one
 * scan of the table, so that each id comes once, in order, with the
 * table's records of it and every reference to it. Before, the ids were
 * looked up in the table 131,072 at a time: a pass over the table for
 * each 4 MiB of ids (71 to 100 passes at 10 million chunks).
 *
 * tsarc_index_refs_mark, for prune (what stays) and extend-retention
 * (what to protect), keeps the result as a bit on the first record of
 * each needed id (0.125 MiB per million records) and the ids no record
 * has apart (a chunk set: damage, a few); its runs hold each id at most
 * once per 4 MiB gathered (fewer times in a run merged from others:
 * index_table_file.h). check sweeps the references itself, each one with where
 * it comes from (check_refs.c).
 */
#include "chunkset.h"
#include "index_table.h"
#include "snapshot.h"

/* The bytes of a reference's record: the id, then the caller's. */
#define TSARC_INDEX_REFS_REC 76

typedef struct tsarc_index_refs_sweep tsarc_index_refs_sweep;

typedef struct tsarc_index_refs_pass {
	/* Puts the references of one snapshot (the `number`th read) with
	 * tsarc_index_refs_put. NULL: each chunk id, the rest of the record
	 * zero, and repeats within a run dropped. */
	int (*snapshot)(tsarc_index_refs_sweep *s, const tsarc_snapshot *sn, size_t number,
		void *payload);
	/* Each id the table or a reference has, in ascending order: the
	 * table's records of it (n 0 and g NULL when it has none; ordinal the
	 * first's) and the references to it (nrefs records, sorted). */
	int (*id)(const uint8_t id[TSARC_ID_LEN], const tsarc_index_table_rec *g, size_t n,
		uint64_t ordinal, const uint8_t *refs, size_t nrefs, void *payload);
	/* A snapshot that is damaged (TSARC_ECORRUPT, its message still set):
	 * left out; NULL: that is the error. */
	void (*on_damaged)(const char *id, void *payload);
	void *payload;
	/* References per sorted run (in memory while gathered); 0: 4 MiB. */
	size_t run_recs;
} tsarc_index_refs_pass;

/* Reads the snapshots `ids` in turn (one listed then gone is skipped;
 * *loaded counts those read), then sweeps their references along table t.
 * A snapshot that cannot be read for another reason is an error
 * ("snapshot ... cannot be read"). */
int tsarc_index_refs_sweep_run(tsarc_repo *repo, tsarc_index_table *t, char **ids, size_t n,
	const tsarc_index_refs_pass *p, size_t *loaded);
int tsarc_index_refs_put(tsarc_index_refs_sweep *s, const uint8_t rec[TSARC_INDEX_REFS_REC]);

/* References per run, set lower only by the tests (0: the default). */
extern size_t tsarc_index_refs_run_recs;

typedef struct tsarc_index_refs {
	tsarc_index_table *table; /* not owned */
	uint8_t *bits;            /* a bit per table record */
	tsarc_chunkset *absent;   /* needed ids no record has */
	size_t needed;            /* distinct ids needed, found or not */
} tsarc_index_refs;

/*
 * Reads the snapshots `ids` and marks what they need in table t; *loaded
 * counts those read. A damaged one (TSARC_ECORRUPT) goes to on_damaged
 * and is left out, or with on_damaged NULL is the error.
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
