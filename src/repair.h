#ifndef TSARC_REPAIR_H
#define TSARC_REPAIR_H

#include "lock.h"
#include "repo.h"

typedef struct tsarc_repair_result {
	size_t packs, packs_damaged;
	size_t chunks;
	/* Of the damaged packs: the chunks the old index placed there kept
	 * (each read and authenticated), and those dropped; the new packs the
	 * kept ones were copied into, and their bytes. */
	size_t damaged_chunks_kept, damaged_chunks_dropped;
	size_t packs_written;
	uint64_t bytes_written;
	size_t index_written, index_removed;
	/* Of index_removed, those only hidden (a bucket that retains
	 * versions: Object Lock, or a default rule of the bucket's), with
	 * their bytes and the latest date they are retained until, as prune
	 * reports them. */
	size_t index_kept;
	int64_t index_kept_until;
	uint64_t bytes_kept_index;
} tsarc_repair_result;

/*
 * 'tsarc repair index' (format 2): rebuilds the index from the packs'
 * tables of contents alone: every pack whose TOC opens is indexed (also
 * the packs of a backup that was killed before writing its index); one
 * whose TOC does not is reported through `on_damaged`, and of it only the
 * chunks the old index places there that still authenticate are kept,
 * copied into new packs; the damaged pack is left in no index (the next
 * prune deletes it) and never removed here. The new packs and index
 * objects are stored before the old index objects are removed, and the
 * removal only while `lock` (exclusive) is still held, so at every moment
 * some index finds every chunk that a pack holds.
 */
int tsarc_repair_index(tsarc_repo *repo, tsarc_lock *lock,
	void (*on_damaged)(const char *pack, const char *msg, void *payload), void *payload,
	tsarc_repair_result *res);

#endif
