#ifndef TSARC_PRUNE_H
#define TSARC_PRUNE_H

#include "repo.h"

#include "lock.h"

typedef struct tsarc_prune_result {
	size_t snapshots;
	size_t chunks_stored, chunks_referenced, chunks_removed;
	size_t chunks_young; /* unreferenced, but spared for a running backup */
	uint64_t bytes_stored, bytes_removed;
	/* Object Lock (objlock.h): of chunks_removed, those only hidden, as
	 * their retention runs until chunks_kept_until (the latest date); and
	 * the hidden objects of earlier runs now deleted for good or still kept. */
	size_t chunks_kept;
	int64_t chunks_kept_until;
	size_t hidden_removed, hidden_kept;
	int64_t hidden_kept_until;
} tsarc_prune_result;

/*
 * Removes every chunk that no snapshot refers to. The caller holds `lock`,
 * exclusive, so no backup should be adding chunks meanwhile; should one be
 * (its shared lock is live), every chunk younger than that lock is spared.
 * The lock is checked before each batch of deletions: a lost lock stops
 * the prune. Refuses to run when any snapshot cannot be read, since what
 * it refers to would be unknown. With dry_run, only counts (under a shared
 * lock, by the same rules).
 */
int tsarc_prune(tsarc_repo *repo, tsarc_lock *lock, int dry_run, tsarc_prune_result *res);

#endif
