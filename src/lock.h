#ifndef TSARC_LOCK_H
#define TSARC_LOCK_H

#include "repo.h"

/*
 * Repository locks, restic-style: lock objects in locks/, sealed JSON
 * naming host, pid, time and kind. A backup or check holds a shared lock;
 * prune and forget hold an exclusive one. Held locks are refreshed in the
 * background; a lock not refreshed for TSARC_LOCK_STALE_SECONDS, or one of
 * a process on this host that no longer exists, is stale and ignored.
 */
#define TSARC_LOCK_REFRESH_SECONDS (5 * 60)
#define TSARC_LOCK_STALE_SECONDS (30 * 60)

typedef struct tsarc_lock tsarc_lock;

/* TSARC_ELOCKED (naming the holder) when a conflicting lock is held. */
int tsarc_lock_acquire(tsarc_lock **out, tsarc_repo *repo, int exclusive);
/* Removes the lock; NULL is fine. Returns the removal error, if any. */
int tsarc_lock_release(tsarc_lock *lock);

typedef struct tsarc_lock_info {
	char name[65];
	char host[256];
	long pid;
	int exclusive;
	int64_t time_unix;
	int stale;
	int unreadable;
} tsarc_lock_info;

/* Lists the repository's locks. */
int tsarc_lock_list(tsarc_repo *repo, tsarc_lock_info **out, size_t *count);
/* Removes stale (or, with all, every) lock; returns how many in *removed. */
int tsarc_lock_remove(tsarc_repo *repo, int all, size_t *removed);

#endif
