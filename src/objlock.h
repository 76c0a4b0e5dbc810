#ifndef TSARC_OBJLOCK_H
#define TSARC_OBJLOCK_H

/*
 * S3 Object Lock for a repository (docs/object-lock.md). The repository
 * config records a retention (mode, DAYS); every object tsarc writes but a
 * lock then carries a retain-until date DAYS after its write, so a thief of
 * the repository's credentials cannot delete or shorten what a backup
 * needs. Locks carry none: a lock must be removable at once (a released or
 * stale lock that could not be deleted would block prune for DAYS), and a
 * lock protects no data.
 *
 * Deleting in such a repository (forget, prune) removes every version of
 * an object whose retention has passed and only hides (delete marker) the
 * others; a later prune deletes those versions once their date has passed.
 * `tsarc extend-retention` moves the date of everything live snapshots
 * need to DAYS from now, so a repository kept for years stays protected
 * with a short DAYS.
 */

#include "repo.h"
#include "lock.h"

struct cJSON;

/* The config's "object_lock" member: written only when mode is set. */
int tsarc_objlock_to_json(struct cJSON *config, const tsarc_retention *r);
/* Reads it back from the (authenticated, but still checked) config: absent
 * means none; a mode other than governance/compliance or days outside
 * 1..TSARC_RETAIN_DAYS_MAX is TSARC_ECORRUPT. */
int tsarc_objlock_from_json(const struct cJSON *config, tsarc_retention *out);

/*
 * At init: with before_create, tells the store the retention (a bucket it
 * creates gets Object Lock); after create, checks that the location really
 * has Object Lock on. A store or bucket without it is TSARC_EUNSUPPORTED
 * with a message saying what to do.
 */
int tsarc_objlock_prepare(tsarc_store *store, const tsarc_retention *r, int before_create);

/*
 * At init without Object Lock: a bucket that has it on is refused
 * (TSARC_ECONFIG, naming --object-lock). Such a bucket keeps every version
 * and may retain each one (its default retention, which can be added at
 * any time): a repository without Object Lock would only hide what forget
 * and prune remove there, and no prune would ever delete it, while they
 * said it was deleted or would be. A store without Object Lock, or one
 * that will not say (the request denied, unknown to the server), passes:
 * the check is not worth failing an init that worked before.
 */
int tsarc_objlock_refuse_unasked(tsarc_store *store);

/* The retain-until date a write at `now` gets. */
int64_t tsarc_objlock_until(const tsarc_retention *r, int64_t now);

typedef struct tsarc_extend_result {
	size_t snapshots;       /* snapshots whose objects were extended */
	size_t objects;         /* objects extended (config, keys, index, snapshots, chunks) */
	size_t versions;        /* their old (noncurrent) versions whose date moved */
	size_t missing;         /* needed but absent (or hidden): damage */
	size_t damaged;         /* snapshots that could not be read */
	size_t hidden;          /* hidden snapshots no forget marked (forgotten.h) */
	size_t foreign;         /* versions with a date of the other mode: another
				 * hand's, which S3 will not move */
	char hidden_first[TSARC_ID_HEX_LEN + 1]; /* the first of them */
	size_t hidden_keys;     /* hidden key files no key remove marked */
	char hidden_key_first[TSARC_ID_HEX_LEN + 1];
	int64_t until;          /* the date they are all protected to, at least */
} tsarc_extend_result;

/*
 * Extends the retention of every object a snapshot still needs: the
 * config, the key files, the index objects, every snapshot object (damaged
 * ones too) and every chunk a readable snapshot refers to (format 2: every
 * pack that holds a copy of one; a pack holding only chunks no live
 * snapshot needs is left to expire; with a damaged snapshot, or on format
 * 2 a needed chunk no index places, every data object, as what is needed
 * is not known), to DAYS from
 * `now` (this host's clock); with each, every old version of it an
 * overwrite or a plain delete left behind (an attacker's overwrite makes
 * the genuine version an old one). The caller holds `lock` (shared: nothing
 * is deleted). Everything it
 * can reach is extended; a damaged snapshot or a missing object is then
 * TSARC_ECORRUPT, with the counts in `res`. A hidden snapshot that
 * tsarc's forget did not mark (forgotten.h: an attacker's delete marker)
 * has every version extended, and as what it needs is not known, every
 * data object; then TSARC_ECORRUPT naming it. Whenever what is needed is
 * not known, "every data object" means the hidden ones too (the same hand
 * may have hidden them), and the hidden index objects with them. A hidden
 * key file that tsarc's key remove did not mark has its versions
 * extended, like a listed one's: TSARC_ECORRUPT naming it too.
 */
int tsarc_objlock_extend(tsarc_repo *repo, tsarc_lock *lock, int64_t now,
	tsarc_extend_result *res);

/* What a purge did: removed for good, or kept (hidden) until a date. */
typedef struct tsarc_purge_tally {
	size_t removed, kept;
	int64_t kept_until; /* the latest date among the kept */
} tsarc_purge_tally;

/* A tsarc_store_purge_cb that counts into a tsarc_purge_tally. */
int tsarc_purge_tally_cb(const char *name, int64_t kept_until, void *payload);

/*
 * Deletes for good the hidden objects (forgotten snapshots, pruned
 * chunks or packs, old index objects, removed keys, hidden locks) whose
 * retention has passed; those still retained are counted as kept. A
 * hidden data object named in `referenced` (format 1: a chunk a live
 * snapshot needs; format 2: a pack the index names), so someone hid it
 * behind our back, is left alone for `tsarc check` to report and a
 * point-in-time read to recover; so is a hidden snapshot that forget did
 * not mark, and a hidden key file that key remove did not mark
 * (forgotten.h). The marks of snapshots and key files with no version
 * left go too (hidden first while retained). With dry_run, deletes nothing and
 * counts what it would do, by the same choice of names and the store's
 * preview of the purge (tsarc_store_purge_preview).
 */
struct tsarc_chunkset;
int tsarc_objlock_sweep(tsarc_repo *repo, struct tsarc_chunkset *referenced, int dry_run,
	tsarc_purge_tally *out);

#endif
