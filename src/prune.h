#ifndef TSARC_PRUNE_H
#define TSARC_PRUNE_H

#include "repo.h"

#include "lock.h"

typedef struct tsarc_prune_result {
	size_t snapshots;
	size_t chunks_stored, chunks_referenced, chunks_removed;
	size_t chunks_young; /* unreferenced, but spared for a running backup */
	uint64_t bytes_stored, bytes_removed, bytes_added;
	/* Object Lock (objlock.h): of chunks_removed, those only hidden, as
	 * their retention runs until chunks_kept_until (the latest date; their
	 * bytes, still stored, are out of bytes_removed); and
	 * the hidden objects of earlier runs now deleted for good or still kept. */
	size_t chunks_kept;
	int64_t chunks_kept_until;
	size_t hidden_removed, hidden_kept;
	int64_t hidden_kept_until;
	/* Format 2: packs listed; deleted as wholly unused, repacked, deleted
	 * as named by no index (a killed run's), spared as younger than a live
	 * shared lock, named by the index but not stored; new packs written;
	 * live bytes copied; unused bytes left in the packs kept; index
	 * objects written and removed. bytes_removed is what the store holds
	 * less afterwards (what was deleted for good less what the prune
	 * wrote, never below zero); bytes_added what it holds more, when the
	 * prune wrote more than it deleted for good (what it removed only
	 * hidden by a bucket that retains it). */
	size_t packs_stored, packs_deleted, packs_repacked, packs_unindexed, packs_young;
	size_t packs_small; /* of packs_repacked, the small ones combined */
	size_t packs_missing, packs_written, index_written, index_removed;
	uint64_t bytes_repacked, bytes_unused_left;
	/* Format 2 under Object Lock: packs over max_unused left as they are
	 * while retained (repacking one would only add bytes: it cannot go
	 * before packs_locked_until), with the unused bytes they hold; and of
	 * the packs and index objects removed, those only hidden (count,
	 * bytes still stored, the latest date). bytes_removed leaves the
	 * hidden ones out. */
	size_t packs_locked, packs_kept, index_kept;
	uint64_t bytes_locked_unused, bytes_kept_packs, bytes_kept_index;
	int64_t packs_locked_until, packs_kept_until, index_kept_until;
	/* Temporary files of killed runs removed (a folder's ".tmp-" files
	 * older than the oldest live lock), and their bytes. */
	size_t temp_removed;
	uint64_t temp_bytes_removed;
} tsarc_prune_result;

/* --max-unused: a pack with more than this percent of unused bytes is
 * repacked. Low enough that space is given back, high enough that a prune
 * after each forget does not copy most packs again for a few chunks. */
#define TSARC_PRUNE_MAX_UNUSED_DEFAULT 5u

/* Small packs (under half the pack size) are combined once there are this
 * many, or once they hold a whole pack between them: a nightly backup
 * leaves one (its last) and a month of them is then ~30 objects less. */
#define TSARC_PRUNE_SMALL_PACKS 10u

/*
 * Removes every chunk that no snapshot refers to. The caller holds `lock`,
 * exclusive, so no backup should be adding chunks meanwhile; should one be
 * (its shared lock is live), every chunk younger than that lock is spared.
 * The lock is checked before each batch of deletions: a lost lock stops
 * the prune. Refuses to run when any snapshot cannot be read, since what
 * it refers to would be unknown. With dry_run, only counts (under a shared
 * lock, by the same rules).
 *
 * On format 2 (prune_pack.c) it works per pack: packs no live chunk is in
 * are deleted, and those with more than max_unused percent of unused
 * bytes are repacked (their live chunks copied into new packs), the new
 * index stored before anything is removed.
 */
int tsarc_prune(tsarc_repo *repo, tsarc_lock *lock, int dry_run, unsigned max_unused,
	tsarc_prune_result *res);

/*
 * tsarc_prune as it will run once the snapshots `forgotten` (ids) are
 * gone: what only they need counts as unused. For the dry run of
 * `forget --prune`, which removes nothing, so that its prune says what
 * the prune after the real forget does; before, it counted them as live
 * and said that nothing they held would be freed. With dry_run only
 * (TSARC_EINVAL otherwise): a real run would delete what they, still
 * listed, need.
 */
int tsarc_prune_after(tsarc_repo *repo, tsarc_lock *lock, const char *const *forgotten,
	size_t nforgotten, int dry_run, unsigned max_unused, tsarc_prune_result *res);

/* The format-2 part of tsarc_prune, given the snapshots listed: each is
 * read in turn for the chunks it needs (in bounded memory: prune_pack.h). */
int tsarc_prune_packs(tsarc_repo *repo, tsarc_lock *lock, char **snapshots, size_t nsnapshots,
	int dry_run, unsigned max_unused, tsarc_prune_result *res);

#endif
