#ifndef TSARC_CHECK_H
#define TSARC_CHECK_H

#include "repo.h"

typedef struct tsarc_check_options {
	int read_data;          /* decrypt and verify chunk contents */
	unsigned subset_n;      /* with subset_t: read part n of t (1-based) */
	unsigned subset_t;
	double subset_percent;  /* 0 < p <= 100: read about p% of the chunks */
	unsigned parallel;      /* 0: the store's preference */
} tsarc_check_options;

typedef struct tsarc_check_result {
	size_t keys, keys_damaged;
	size_t keys_hidden; /* Object Lock: hidden by another hand (forgotten.h) */
	size_t snapshots, snapshots_damaged;
	size_t snapshots_hidden; /* Object Lock: hidden by another hand (forgotten.h) */
	size_t chunks_stored, chunks_referenced;
	size_t chunks_missing, chunks_wrong_size, chunks_damaged;
	/* format 2: chunks the snapshots refer to that only packs whose table
	 * of contents does not open hold, each authenticating where the index
	 * places it (not missing: they restore; repair index copies them) */
	size_t chunks_in_damaged_packs;
	/* format 2, --read-data: damaged copies of chunks another copy of
	 * which opens (a chunk stored twice) */
	size_t copies_damaged;
	size_t chunks_read; /* copies read: a chunk stored twice counts twice */
	size_t chunks_unreferenced;
	uint64_t bytes_read;
	/* format 2 */
	size_t packs, packs_damaged, packs_unindexed;
	size_t index_objects, index_damaged, index_wrong;
} tsarc_check_result;

/* One problem found: what (key, snapshot, chunk), where, and why. */
typedef struct tsarc_check_problem {
	const char *what; /* key, snapshot, stream, chunk, copy, pack, index */
	const char *snapshot; /* id, or NULL */
	const char *stream;   /* name, or NULL */
	const char *object;   /* chunk or key id, or NULL */
	int code;
	const char *message;
	/* Not damaged: under Object Lock, hidden behind a delete marker that
	 * tsarc did not write (another hand's DELETE), its last version still
	 * stored (code TSARC_ENOTFOUND: no current version). */
	int hidden;
} tsarc_check_problem;

typedef void (*tsarc_check_report_fn)(const tsarc_check_problem *p, void *payload);

/* Returns 0 when the check ran (problems are counted in `result` and
 * reported one by one), or an error that stopped it. */
int tsarc_check(tsarc_repo *repo, const tsarc_check_options *opts,
	tsarc_check_report_fn report, void *payload, tsarc_check_result *result);

#endif
