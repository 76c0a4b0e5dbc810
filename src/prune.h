#ifndef TSARC_PRUNE_H
#define TSARC_PRUNE_H

#include "repo.h"

typedef struct tsarc_prune_result {
	size_t snapshots;
	size_t chunks_stored, chunks_referenced, chunks_removed;
	uint64_t bytes_stored, bytes_removed;
} tsarc_prune_result;

/*
 * Removes every chunk that no snapshot refers to. The caller holds an
 * exclusive lock, so no backup can be adding chunks meanwhile. Refuses to
 * run when any snapshot cannot be read, since what it refers to would be
 * unknown. With dry_run, only counts.
 */
int tsarc_prune(tsarc_repo *repo, int dry_run, tsarc_prune_result *res);

#endif
