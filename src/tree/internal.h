#ifndef TSARC_TREE_INTERNAL_H
#define TSARC_TREE_INTERNAL_H

/*
 * What the parts of a tree restore (src/tree_restore.h) share, and nothing
 * else. A restore is split by what each part does, so that each can be read
 * and reviewed on its own:
 *   entry.c    the rules every reader of a tree archive applies to an entry
 *              (the restore, the check and the rewrite take the same ones);
 *   stage.c    the local tree writer: entries into a staging folder, no
 *              symlink ever followed, links checked together at the end;
 *   holes.c    file data, with runs of zero blocks left as holes;
 *   swap.c     the journaled swap by renames of the staging folder into the
 *              target, and the recovery of an interrupted one;
 *   dir.c      folder listing and removal that never follow a symlink;
 *   repofind.c a tsarc repository anywhere in the target, which the
 *              restore refuses to replace;
 *   feed.c     a repository stream through a pipe, verified as it is read;
 *   padding.c  the zeros a pod's tar padded shrunk files with (metadata);
 *   restore.c  the public restore, check.c the check, rewrite.c the pax
 *              re-writer for a restore that extracts in a pod.
 */
#include "tree_restore.h"

#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* The longest entry name or path a restore handles. */
#define TSARC_TREE_PATH_MAX 4096
/* Staging folders: ".tsarc-restore-PID-NONCE" (tsarc_staging_name). */
#define TSARC_TREE_STAGING_PREFIX ".tsarc-restore-"

/* The archive's own "." entry: applied to the target folder last, as
 * rsync -a does, once nothing else will touch its time. */
typedef struct tsarc_tree_root_attrs {
	int present;
	mode_t mode;
	struct timespec times[2];
	uid_t uid;
	gid_t gid;
} tsarc_tree_root_attrs;

/* tsarc's own bookkeeping in a target folder: the journal of a swap and
 * its temporary copies (fileio.h names them "." TSARC_TREE_JOURNAL_NAME ".tsarc-"
 * and random digits). Never data: a backup leaves them out, a restore
 * does not write an archive's entry of that name. */
#define TSARC_TREE_JOURNAL_NAME ".tsarc-swap-journal"
#define TSARC_TREE_JOURNAL_TMP_PREFIX "." TSARC_TREE_JOURNAL_NAME ".tsarc-"
#define TSARC_TREE_OLD_PREFIX ".tsarc-old-"

/* A swap's journal (swap.c says how it is used): its phase, and the names
 * of its staging and "old" folders in the target. */
typedef struct tsarc_tree_journal {
	int phase;
	int keep_extras;
	char staging[64], old[64];
} tsarc_tree_journal;

/* A restore into a folder: the folder open and locked, an earlier
 * interrupted swap ended, the journal and staging folder of this one. */
typedef struct tsarc_tree_target {
	const char *dir;
	int tfd;
	tsarc_tree_journal j;
	tsarc_tree_root_attrs top;
} tsarc_tree_target;

/* Called by tsarc__tree_for_each_entry for each entry the rules take. */
typedef int (*tsarc_tree_entry_fn)(void *ctx, struct archive *in, struct archive_entry *e,
	const char *name, const char *hard, int root);

/* What reads the tar: a restore into staging, the check, the rewrite. */
typedef int (*tsarc_tree_reader)(int fd, void *ctx);

/* entry.c: the archive's entries on fd, each the rules take to `fn`; the
 * skipped ones (fifos, devices, the journal) counted, named when `warn`.
 * A file that `pad` names (may be NULL) comes with its size without its
 * padding: whoever reads its data reads that much and checks that the
 * rest is zeros. */
int tsarc__tree_for_each_entry(int fd, int warn, uint64_t *skipped,
	const tsarc_tree_padding *pad, tsarc_tree_entry_fn fn, void *ctx);

/* padding.c: how many zeros end entry `name`, 0 when none are named. */
uint64_t tsarc__tree_padding_find(const tsarc_tree_padding *p, const char *name);
/* padding.c: TSARC_ECORRUPT unless `len` bytes at `p` are zeros (a
 * padded entry's data past its size). */
int tsarc__tree_padding_zeros(const char *name, const void *p, size_t len);

/* stage.c: extracts the archive on fd into the folder `staging` (only
 * folders, links and empty files when `skeleton`: a check); the archive's
 * "." attributes go to *top. */
int tsarc__tree_extract(int fd, const char *staging, const tsarc_tree_restore_options *o,
	tsarc_tree_restore_result *res, tsarc_tree_root_attrs *top, int skeleton,
	const tsarc_tree_padding *pad);

/* stage.c: `mode` without its set-user-ID bit unless `now` (the entry as
 * restored) is owned by the archive's `uid`, and without its set-group-ID
 * bit unless its group is the archive's `gid`: those bits are the archive
 * owner's to give, as libarchive's and GNU tar's extraction keep them. */
mode_t tsarc__tree_setid_mode(mode_t mode, uid_t uid, gid_t gid, const struct stat *now);

/* holes.c: how much of a data block of `len` bytes at `offset` is the
 * entry's own (*keep: below `limit`, its size); the rest must be the
 * zeros of tar's padding (padding.c), else TSARC_ECORRUPT naming `name`. */
int tsarc__tree_data_kept(const char *name, const void *buf, size_t len, uint64_t offset,
	uint64_t limit, size_t *keep);
/* holes.c: the current entry's data into the new file fd: `size` bytes
 * (entry `name`'s size); past them only zeros (padding.c) may follow. */
int tsarc__tree_write_data(struct archive *in, int fd, const char *name, uint64_t size,
	uint64_t *bytes);

/* dir.c: rm -rf of parent/name without following symlinks; 0 or -1 (errno). */
int tsarc__tree_remove_at(int parent, const char *name);

/* repofind.c: 1 and *found (to free: "." or "a/b", below `dir`) when a
 * folder in `dir` (it too) is a tsarc repository, 0 when none is (or
 * `dir` does not exist), or an error when a folder cannot be looked into.
 * Symlinks are not followed; a staging folder of a restore at the top of
 * `dir` (a restore's target) is left out. */
int tsarc__tree_find_repository(const char *dir, char **found);
/* repofind.c: the same of the folder `name` in the folder open on
 * `parent` (never through a symlink), `label` its path in messages;
 * nothing is left out (the old tree a swap moved aside, swap.c). */
int tsarc__tree_find_repository_at(int parent, const char *name, const char *label,
	char **found);

/* swap.c: opens and locks the target folder, ends an earlier interrupted
 * swap, writes this one's journal and makes its staging folder. */
int tsarc__tree_target_open(tsarc_tree_target *t, const char *dir,
	const tsarc_tree_restore_options *o, tsarc_tree_restore_result *res);
/* swap.c: undoes a restore that did not get to its swap. */
void tsarc__tree_target_discard(tsarc_tree_target *t);
/* swap.c: the new tree is complete: swaps it in, then the "." attributes. */
int tsarc__tree_target_swap(tsarc_tree_target *t, const tsarc_tree_restore_options *o,
	tsarc_tree_restore_result *res);

/* feed.c: reads fd to its end, past the archive's end. */
int tsarc__tree_read_to_end(int fd);
/* feed.c: runs `read_tar` on a repository stream, verified as it is read. */
int tsarc__tree_read_stream(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	tsarc_tree_reader read_tar, void *ctx);

#endif
