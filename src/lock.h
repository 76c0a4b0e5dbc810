#ifndef TSARC_LOCK_H
#define TSARC_LOCK_H

#include "repo.h"

/*
 * Repository locks, restic-style: lock objects in locks/, sealed JSON
 * naming host, pid, boot id, pid namespace and kind. A backup, check,
 * restore or dump holds a shared lock; prune and forget hold an exclusive
 * one. Two rules make a lock safe to judge from anywhere:
 *
 *  - Time is the STORE's: a lock is stale when the store says it was last
 *    written more than TSARC_LOCK_STALE_SECONDS before the newest write it
 *    can see (the judge's own lock or probe, written just before). Writers'
 *    clocks never count: hosts disagree, and the "time" inside a lock is
 *    shown to people only.
 *  - "Its process is gone" counts only where the pid means the same
 *    process: same host name, same boot id and same pid namespace as the
 *    judge. A container with host networking, or `unshare --pid`, shares the
 *    host name but not the pid space. A zombie (exited, not yet reaped) is
 *    gone: kill() finds it, /proc says so (lock.c).
 *
 * The holder rewrites its lock every TSARC_LOCK_REFRESH_SECONDS, and never
 * brings back a lock that was removed: once its lock is gone, or could not
 * be refreshed for TSARC_LOCK_GIVE_UP_SECONDS (someone may have judged it
 * stale since), the lock is lost and tsarc_lock_check fails, so a backup
 * writes no manifest and a prune deletes nothing more.
 */
#define TSARC_LOCK_REFRESH_SECONDS (5 * 60)
#define TSARC_LOCK_STALE_SECONDS (30 * 60)
/* Well before STALE: what follows a passed check has the rest to finish. */
#define TSARC_LOCK_GIVE_UP_SECONDS (TSARC_LOCK_STALE_SECONDS - 2 * TSARC_LOCK_REFRESH_SECONDS)
/* Prune spares chunks written this long before the oldest live shared
 * lock too: an S3 service's front ends need not agree to the second. */
#define TSARC_LOCK_CLOCK_SLACK_SECONDS (5 * 60)

typedef struct tsarc_lock tsarc_lock;

/* TSARC_ELOCKED (naming the holder) when a conflicting lock is held. */
int tsarc_lock_acquire(tsarc_lock **out, tsarc_repo *repo, int exclusive);
/* Removes the lock; NULL is fine. Returns the removal error, if any. */
int tsarc_lock_release(tsarc_lock *lock);
/* The same at the end of a run that returns `rc`: a run that failed
 * keeps its own error (code and message), and a lock that could not be
 * removed is then a warning (lock_not_removed); a run that succeeded
 * returns the removal's error. A key passwd refused half-way said only
 * that its lock could not be removed, not that the old password still
 * opens the repository. */
int tsarc_lock_release_after(tsarc_lock *lock, int rc);

/*
 * Called just before an irreversible step (a backup's manifest, a prune's
 * deletions): refreshes the lock after making sure it still exists, then
 * reads the lock set again. TSARC_ELOCKED when the lock was lost, or, for
 * a shared lock, when an exclusive lock is live or was written while this
 * lock was held. The store's clock cannot order two writes of one second
 * (nor of front ends whose clocks differ), so an exclusive lock last
 * written at or after this one's first write counts as written while it
 * was held, unless acquire itself found that lock stale and nobody wrote
 * it since: its holder was gone before this lock set was read (a prune
 * killed in the second a backup began must not stop that backup's
 * commit; why that is safe: lock.c). With oldest_shared, also says when
 * (store clock) the oldest other live shared lock was first written:
 * INT64_MAX when none.
 */
int tsarc_lock_check(tsarc_lock *lock, int64_t *oldest_shared);
/* When (store clock) this lock was first written. */
int64_t tsarc_lock_since(const tsarc_lock *lock);
/* One refresh round, as the background refresher does it. */
int tsarc_lock_refresh(tsarc_lock *lock);

typedef struct tsarc_lock_info {
	char name[65];
	char host[256];
	char boot_id[64];
	char pidns[64];
	long pid;
	int exclusive;
	int probe;          /* a clock probe of 'tsarc unlock', never a conflict */
	int64_t time_unix;  /* the writer's clock: shown, never judged */
	int64_t mtime;      /* store clock: last written */
	int64_t since;      /* store clock: first written */
	int stale;
	int unreadable;
} tsarc_lock_info;

/*
 * A lock object's plaintext (JSON) into info, which keeps its name and
 * mtime (the store's): 0, or TSARC_ECORRUPT with a message when it is no
 * lock record (not JSON, no time of writing); then info->unreadable is
 * set and what could be read is filled in all the same, for the listing.
 * Lock objects are untrusted (tests/fuzz/fuzz_lock.c).
 */
int tsarc__lock_record_parse(tsarc_lock_info *info, const uint8_t *json, size_t len);

/* Lists the repository's locks, judged by the store's clock. */
int tsarc_lock_list(tsarc_repo *repo, tsarc_lock_info **out, size_t *count);
/* Removes stale (or, with all, every) lock; returns how many in *removed. */
int tsarc_lock_remove(tsarc_repo *repo, int all, size_t *removed);

#endif
