#ifndef TSARC_REPAIR_H
#define TSARC_REPAIR_H

#include "lock.h"
#include "repo.h"

typedef struct tsarc_repair_result {
	/* packs_damaged: the packs whose table of contents does not open and
	 * in which the old index placed chunks (damage to what was in use);
	 * packs_damaged_unindexed: those in which no old index object placed
	 * any (an earlier repair copied what they held): no failure, left for
	 * the next prune. */
	size_t packs, packs_damaged, packs_damaged_unindexed;
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

/* A pack whose table of contents does not open, once the repair knows
 * what became of it: `msg` says why it does not open; `indexed` is 0 when
 * no old index object placed a chunk there (then kept and dropped are 0);
 * `index_unread` counts the old index objects that did not open, which
 * may have (such a pack is then counted damaged, not unindexed). */
typedef struct tsarc_repair_damaged {
	const char *pack, *msg;
	int indexed;
	size_t kept, dropped, index_unread;
} tsarc_repair_damaged;

/*
 * 'tsarc repair index' (format 2): rebuilds the index from the packs'
 * tables of contents alone: every pack whose TOC opens is indexed (also
 * the packs of a backup that was killed before writing its index); one
 * whose TOC does not is reported through `on_damaged`, and of it only the
 * chunks the old index places there that still authenticate are kept,
 * copied into new packs; the damaged pack is left in no index (the next
 * prune deletes it) and never removed here. A damaged pack the old index
 * placed nothing in (a second repair before that prune) is only reported:
 * nothing of it was in use, and nothing can be read from it. The new
 * packs and index objects are stored before the old index objects are
 * removed, and the removal only while `lock` (exclusive) is still held,
 * so at every moment some index finds every chunk that a pack holds.
 */
int tsarc_repair_index(tsarc_repo *repo, tsarc_lock *lock,
	void (*on_damaged)(const tsarc_repair_damaged *p, void *payload), void *payload,
	tsarc_repair_result *res);

#endif
