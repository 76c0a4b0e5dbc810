#ifndef TSARC_FORGOTTEN_H
#define TSARC_FORGOTTEN_H

/*
 * Forgetting a snapshot under S3 Object Lock so that it can be told from
 * an attack (docs/object-lock.md).
 *
 * In a bucket with Object Lock, deleting a snapshot still retained only
 * hides it behind a delete marker, and a marker says nothing of who wrote
 * it: a thief of the repository's credentials hides a snapshot the same
 * way. Taken for a forgotten one, such a snapshot would be left to expire
 * by extend-retention and its data freed by prune: the attack would
 * destroy the backup DAYS later with nobody told.
 *
 * So forget hides the snapshot and then, if it is kept hidden, stores a
 * mark, snapshots/<id>.forgotten, sealed with the repository's key and
 * bound to the id (a thief without the password cannot make one, nor
 * move one to another snapshot). A mark is bound to a name, not to the
 * delete marker: stored before the hide (as before), a forget cut off in
 * between left it beside the listed snapshot, vouching for whoever hid
 * that snapshot later with a plain DELETE. Hidden first, a cut-off forget
 * leaves an unmarked snapshot instead: reported, confirmed by running
 * forget again. A mark beside a listed object (its delete marker was
 * deleted, taking the removal back) is void: prune's sweep removes it
 * with the orphans. A hidden snapshot without a valid mark is
 * "unmarked": extend-retention extends it and every data object and
 * fails, prune refuses, check reports it, until the operator has read it
 * back (--as-of) or confirmed with `tsarc forget ID`, which marks it.
 * A mark goes (via prune's sweep) once its snapshot has no version left.
 *
 * Without Object Lock nothing is ever hidden: no mark is written and
 * there is never an unmarked snapshot.
 *
 * Key files the same way (`tsarc key remove`, and passwd's removals):
 * a break-glass password's key file hidden by a thief would otherwise be
 * left to expire and be deleted for good by prune's sweep, that password
 * lost with nobody told. The removal, once the key file is hidden,
 * stores keys/<name>.removed, sealed with its own AAD and the key file's
 * name (hidden first, marked after, as for snapshots); a hidden key file
 * without a valid mark is extended (its versions) by extend-retention,
 * which fails, never deleted by the sweep, and reported by check, until
 * `tsarc key remove NAME` confirms it. Its mark goes (via the sweep) once
 * the key file has no version left. Marks are no key files: every listing
 * of keys/ leaves them out (tsarc_repo_key_names: not a key file's name).
 */

#include "repo.h"

/* A mark's name is the snapshot's id and this. */
#define TSARC_FORGOTTEN_SUFFIX ".forgotten"
/* A key file's mark: its name and this. */
#define TSARC_KEY_REMOVED_SUFFIX ".removed"

/*
 * Removes snapshot `id` (the current time `now`, for the mark): every
 * version whose date has passed goes for good and the snapshot is hidden
 * if one is still retained; then, hidden, it is marked (an interruption
 * in between leaves it unmarked: reported, never vouched for).
 * *kept_until: 0 when the snapshot is gone for good, else the date it is
 * kept to (hidden until then).
 * Forgetting a snapshot that is only hidden (an unmarked one the operator
 * confirms) works the same.
 */
int tsarc_snapshot_forget(tsarc_repo *repo, const char *id, int64_t now, int64_t *kept_until);

/* 0 when `id` has a valid mark; TSARC_ENOTFOUND when it has none;
 * TSARC_ECORRUPT when the object there is not a mark of this snapshot
 * (forged, damaged, another snapshot's). */
int tsarc_forgotten_check(tsarc_repo *repo, const char *id);

/*
 * The hidden snapshots that no valid mark accounts for, as sorted ids the
 * caller frees with tsarc_snapshot_ids_free (none without Object Lock).
 * One version listing of the snapshots' folder, and a read of the mark of
 * each hidden snapshot.
 */
int tsarc_forgotten_unmarked(tsarc_repo *repo, char ***ids, size_t *count);

/* The error for `count` unmarked snapshots, the first `first`: names it,
 * says what `done` about it, and what the operator can do. */
int tsarc_forgotten_unmarked_error(const char *first, size_t count, const char *done);

/* The unmarked snapshot `spec` names (the whole id or a unique prefix),
 * for forget to confirm: TSARC_ENOTFOUND when none matches. */
int tsarc_forgotten_resolve(tsarc_repo *repo, const char *spec,
	char id_out[TSARC_ID_HEX_LEN + 1]);

/* The marks (object names) whose snapshot has no version left, neither
 * listed nor hidden: prune's sweep removes them. `gone` (sorted
 * here, in place), for a dry run: the hidden snapshots its purge would
 * delete for good, counted as having no version left. */
int tsarc_forgotten_orphans(tsarc_repo *repo, char **gone, size_t ngone, char ***names,
	size_t *count);

/* The marks (object names) in `type`'s folder (TSARC_OBJ_SNAPSHOT or
 * TSARC_OBJ_KEY) whose object is not hidden (no version left, `gone`
 * (sorted here) counted as having none; or listed again, which voids a
 * mark): the sweep's. */
int tsarc_mark_orphans(tsarc_repo *repo, tsarc_objtype type, char **gone, size_t ngone,
	char ***names, size_t *count);

/* tsarc_forgotten_check for either kind: 0 when object `name` of `type`
 * has a valid mark, TSARC_ENOTFOUND or TSARC_ECORRUPT when not. */
int tsarc_mark_check(tsarc_repo *repo, tsarc_objtype type, const char *name);

/* ---- key files ---- */

/* Under Object Lock, stores the mark that key file `name` was removed by
 * tsarc (the current time `now`), once it is hidden; nothing without. */
int tsarc_key_mark_removed(tsarc_repo *repo, const char *name, int64_t now);

/* The hidden key files no valid mark accounts for, sorted (free with
 * tsarc_store_names_free; none without Object Lock). */
int tsarc_keys_unmarked(tsarc_repo *repo, char ***names, size_t *count);

/* The error for `count` unmarked key files, the first `first`, and what
 * `done` about them; and the advice alone, for check's report. */
#define TSARC_KEY_ADVICE_MAX 512
int tsarc_keys_unmarked_error(const char *first, size_t count, const char *done);
void tsarc_key_unmarked_advice(char *out, size_t outsz, const char *name);

#endif
