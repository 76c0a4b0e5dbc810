#ifndef TSARC_TREE_RESTORE_H
#define TSARC_TREE_RESTORE_H

#include <archive.h>
#include <stdint.h>
#include <sys/types.h>
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
 * Fifos, sockets and devices are skipped (named on stderr), as a backup
 * skips them. Runs of zeros (whole 4 KiB blocks) become holes.
 *
 * The swap is journaled (see tree/swap.c): interrupted at any point,
 * the target holds the old tree or, once the new one was complete and
 * verified, the next restore into it (tsarc_tree_recover) finishes the
 * new one; nothing is lost either way. The old tree, moved aside, is
 * deleted at the end unless it holds a tsarc repository (one made in the
 * target after tsarc_tree_repository_check): then it is kept, named in
 * the result's kept_old and a warning, and the restore succeeds.
 */
typedef struct tsarc_tree_restore_options {
	int keep_extras;    /* do not delete files the archive does not have */
	int restore_owner;  /* chown entries (needs root) */
	/* With restore_owner: every entry's owner is this one, not the
	 * archive's (a tree converted from a bucket's objects has none:
	 * the target folder's owner is given). */
	int owner_given;
	uid_t uid;
	gid_t gid;
	/* Called after every rename and journal write of the swap: tests
	 * interrupt the swap there, at each step in turn. NULL in use. */
	void (*after_step)(void *arg);
	void *after_step_arg;
} tsarc_tree_restore_options;

/* Room for the name of an old tree the swap kept (".tsarc-old-PID-NONCE"). */
#define TSARC_TREE_KEPT_OLD_MAX 64

typedef struct tsarc_tree_restore_result {
	uint64_t entries, bytes;
	uint64_t removed; /* top-level entries deleted as extras */
	uint64_t skipped; /* fifos, sockets, devices: named on stderr, not restored */
	int recovered;    /* an earlier interrupted restore: 1 its swap finished, 2 undone */
	/* The old tree's folder in the target (".tsarc-old-PID-NONCE") when
	 * the swap kept it rather than delete it: a tsarc repository was made
	 * in the target after the restore checked it and moved aside with the
	 * old tree (or the old tree could not be looked into); a warning
	 * names it and the repository. "" when the old tree was deleted. */
	char kept_old[TSARC_TREE_KEPT_OLD_MAX];
} tsarc_tree_restore_result;

/* Reads the tar stream from `fd` to its end. */
int tsarc_tree_restore_fd(const char *target_dir, int fd,
	const tsarc_tree_restore_options *opts, tsarc_tree_restore_result *res);
/* Streams a backed-up tar stream from the repository, verified, into the
 * folder. A damaged chunk stops it before anything is moved into place. */
int tsarc_tree_restore_stream(tsarc_repo *repo, const tsarc_stream *st,
	const char *target_dir, const tsarc_tree_restore_options *opts,
	tsarc_tree_restore_result *res);

/* 0 unless `repo` is a folder repository that is `dir` or lies beneath
 * it: then TSARC_EUNSAFE, naming both. A restore replaces the whole
 * folder, and with it the repository it reads from (as the snapshot held
 * it, or deleted as an extra), losing every snapshot written since. Folders
 * are compared by device and inode, walking up from the repository, so a
 * symlink or another spelling of either path changes nothing.
 * Any other tsarc repository in `dir` (`repo` may be NULL), at any depth,
 * is refused the same way, naming its folder: known by its config and a
 * key file that verifies (tree/repofind.c), not by names alone; a folder
 * that cannot be looked into is an error. Both restores check this; a plan
 * calls it to refuse before the first write. */
int tsarc_tree_repository_check(tsarc_repo *repo, const char *dir);

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

/* Runs `reader` on a backed-up stream through a pipe, every chunk and
 * the whole stream verified as the feeder writes it (`inflight` chunks
 * ahead): 0 only when the reader took all of it (it reads `fd` to its
 * end) and all of it was verified; damage the feeder found wins over what
 * the reader made of a cut stream. For readers of other tar streams (the
 * s3files kind). */
typedef int (*tsarc_stream_fd_reader)(int fd, void *ctx);
/* Reads `fd` to its end: a reader done with an archive goes on past its
 * end, so that whoever writes the pipe (the feeder) finishes its
 * verification. */
int tsarc_stream_read_to_end(int fd);
int tsarc_stream_read_verified(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	tsarc_stream_fd_reader reader, void *ctx);

/*
 * Makes `a`, a new archive writer, write pax as every tar stream tsarc
 * writes does (a tree's walk, a pod's tar re-written, a tree rewritten
 * for a restore, a bucket's objects): extended attributes once each, as
 * SCHILY.xattr records, as GNU tar writes them (and keeps them with
 * --xattrs). libarchive's default adds a LIBARCHIVE.xattr copy of each,
 * which GNU tar does not know: it warns of every one of every entry,
 * listing or extracting. TSARC_EGENERIC where libarchive cannot.
 */
int tsarc_tar_pax_writer(struct archive *a);

/*
 * libarchive's write callback (archive_write_open's) into a pipe, `ud` a
 * tsarc_tar_pipe: a writer that sets `stopped` after a failure writes
 * nothing more, so the free's close never ends a failed archive as a
 * whole one; `broken` says the reader closed the pipe (EPIPE: it gave up,
 * and its own error says why). The tree rewrite for a pod and the
 * conversions of a store (s3sys/convert.c) write this way.
 */
typedef struct tsarc_tar_pipe {
	int fd;
	int stopped;
	int broken;
} tsarc_tar_pipe;
la_ssize_t tsarc_tar_pipe_write(struct archive *a, void *ud, const void *buf, size_t len);
/* Frees writer `a` of pipe `p`; after a failure (`failed`) `p` is stopped
 * first and `a` closed before it is freed: a write that failed in an
 * entry's header leaves libarchive's fatal state, whose free does not
 * close, and libarchive 3.6 (Debian 12's) frees its block buffer in the
 * close alone (10 KiB leaked a time). The close then writes nothing. */
void tsarc_tar_pipe_free(struct archive *a, tsarc_tar_pipe *p, int failed);

/*
 * A tree archive's files, for a restore into a place that keeps only
 * files under names (an S3 bucket). Reads the tar on `fd` to its end by
 * the rules of every tree restore (names, skipped types, the padding that
 * the stream's `meta` names), and calls `fn` with each regular file:
 * its name (no "./"), size and modification time; `fn` reads its bytes
 * with tsarc_tree_file_data. Folders are passed over; a symbolic or hard
 * link is TSARC_EUNSUPPORTED naming it. A non-zero return of `fn` stops.
 */
typedef int (*tsarc_tree_file_fn)(void *ctx, struct archive *in, const char *name,
	uint64_t size, int64_t mtime);
int tsarc_tree_each_file(const cJSON *meta, int fd, tsarc_tree_file_fn fn, void *ctx);
/* The current file's `size` bytes to `out`, in order, the holes of a
 * sparse file as zeros; the padding past `size` must be zeros. */
typedef int (*tsarc_tree_data_fn)(void *ctx, const void *data, size_t len);
int tsarc_tree_file_data(struct archive *in, const char *name, uint64_t size,
	tsarc_tree_data_fn out, void *ctx);

/*
 * Ends a swap an earlier restore into `target_dir` left half-done (its
 * journal, .tsarc-swap-journal, says how far it got): finished when the
 * new tree was complete, undone when it was still being extracted.
 * *recovered as in the result. Every restore into the folder does this
 * first.
 */
int tsarc_tree_recover(const char *target_dir, int *recovered);

/*
 * What a restore into `dir` left there, without changing anything (for a
 * backup of the tree, which never writes to it): 0 when no swap journal;
 * 1 with *phase (0: the new tree was being extracted, the tree is the old
 * one; 1 or 2: the swap had begun, the tree is part old, part new) and
 * the names of the restore's staging and old-tree folders at the top of
 * `dir`, which are tsarc's and not data; TSARC_ECORRUPT for a journal
 * tsarc did not write.
 */
int tsarc_tree_interrupted(const char *dir, int *phase, char staging[64], char old[64]);

/*
 * The zeros GNU tar padded files that shrank while it read them with
 * (a stream's metadata "padded": [{"path": NAME, "zeros": N}], written
 * by a backup through a pod). The restores of a repository stream read
 * each such entry N bytes shorter, and refuse it when those bytes are not
 * zeros. *out is NULL when the metadata names none; TSARC_EUNSAFE when
 * the list is malformed (the snapshot's metadata check calls this too).
 */
typedef struct tsarc_tree_padding tsarc_tree_padding;
int tsarc_tree_padding_parse(const cJSON *meta, tsarc_tree_padding **out);
void tsarc_tree_padding_free(tsarc_tree_padding *p);

/*
 * For a restore that extracts elsewhere (GNU tar in a pod): reads a
 * backed-up tar stream, verified, and writes to `out_fd` a new archive
 * (pax, as libarchive writes it: no GNU long-name records) of exactly the
 * entries the restore's rules accept, rebuilt from the fields tsarc read,
 * so the consumer never parses bytes tsarc did not. After the last entry,
 * and only once the whole stream is verified, an empty file
 * `complete_name` and the archive's end: a consumer that does not find
 * it got an incomplete stream. Run tsarc_tree_check_stream first: links
 * that leave the tree only together are seen at the end.
 */
int tsarc_tree_rewrite_stream(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	int out_fd, const char *complete_name, uint64_t *entries, uint64_t *skipped);
/* The same rewrite of a tar read from `in_fd` to its end (for tests),
 * with `pad` (may be NULL) in place of a stream's "padded" record. */
int tsarc_tree_rewrite_fd(int in_fd, int out_fd, const char *complete_name,
	const tsarc_tree_padding *pad, uint64_t *entries, uint64_t *skipped);

/* tsarc's own bookkeeping names at the top of a tree (the swap journal):
 * a backup leaves them out and a restore does not write them. */
int tsarc_tree_reserved_name(const char *name);

/* A staging folder name, ".tsarc-restore-PID-NONCE": random, so that no
 * archive can hold an entry of that name. */
int tsarc_staging_name(char *out, size_t outsz);
/* Whether `name` has the shape of a swap's staging or old-tree folder
 * (".tsarc-restore-" or ".tsarc-old-", a pid, "-", 16 hex digits): for a
 * backup that cannot read the journal first (GNU tar in a pod). */
int tsarc_tree_swap_folder_name(const char *name);

/* The entry-name rules on their own (for tests and dry runs): 0 when
 * `name` (and a link `target`, may be NULL) stays inside the tree. */
int tsarc_tree_entry_safe(const char *name, const char *link_target, int is_symlink);

#endif
