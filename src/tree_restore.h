#ifndef TSARC_TREE_RESTORE_H
#define TSARC_TREE_RESTORE_H

#include <stdint.h>
#include "repo.h"
#include "snapshot.h"

/*
 * Restores a tar stream into a folder so that the folder ends up equal to
 * the archive (as `rsync -a --delete` would leave it).
 *
 * Safety: every entry is checked before anything is written: absolute
 * names, `..` components, links whose targets leave the tree, and device
 * or fifo entries are refused (TSARC_EUNSAFE), and libarchive's secure
 * extraction flags guard against writing through symlinks. The archive is
 * first extracted into a staging folder inside the target; only when all
 * of it extracted cleanly are the entries moved into place, so a hostile
 * or damaged archive leaves the target as it was. The archive's own "."
 * entry, if any, sets the target folder's mode and times at the end.
 */
typedef struct tsarc_tree_restore_options {
	int keep_extras;    /* do not delete files the archive does not have */
	int restore_owner;  /* chown entries (needs root) */
} tsarc_tree_restore_options;

typedef struct tsarc_tree_restore_result {
	uint64_t entries, bytes;
	uint64_t removed; /* top-level entries deleted as extras */
} tsarc_tree_restore_result;

/* Reads the tar stream from `fd` to its end. */
int tsarc_tree_restore_fd(const char *target_dir, int fd,
	const tsarc_tree_restore_options *opts, tsarc_tree_restore_result *res);
/* Streams a backed-up tar stream from the repository, verified, into the
 * folder. A damaged chunk stops it before anything is moved into place. */
int tsarc_tree_restore_stream(tsarc_repo *repo, const tsarc_stream *st,
	const char *target_dir, const tsarc_tree_restore_options *opts,
	tsarc_tree_restore_result *res);

/* Checks a tar stream read from `fd` to its end by the rules of a restore,
 * without its data, for a restore that extracts it elsewhere (in a pod):
 * its folders, links and empty files are made in a scratch folder under
 * TMPDIR, every link is walked as the kernel would, and the folder is
 * removed. 0 and the number of entries when a restore would accept it. */
int tsarc_tree_check_fd(int fd, uint64_t *entries);
/* The same check of a backed-up tar stream, verified as it is read
 * (`inflight` chunks ahead, 0 for the default). */
int tsarc_tree_check_stream(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	uint64_t *entries);

/* A staging folder name, ".tsarc-restore-PID-NONCE": random, so that no
 * archive can hold an entry of that name. */
int tsarc_staging_name(char *out, size_t outsz);

/* The entry-name rules on their own (for tests and dry runs): 0 when
 * `name` (and a link `target`, may be NULL) stays inside the tree. */
int tsarc_tree_entry_safe(const char *name, const char *link_target, int is_symlink);

#endif
