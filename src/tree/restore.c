/*
 * The public tree restore (tree_restore.h): open and lock the target
 * (ending an earlier interrupted swap), extract into staging, read the
 * stream to its verified end, and only then swap. Any failure before the
 * swap undoes the staging and leaves the target as it was.
 */
#define _GNU_SOURCE /* O_DIRECTORY */
#include "internal.h"
#include "tsarc/errors.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Extracts everything into the staging folder and reads the stream to its
 * very end, so that whoever feeds it has finished (and verified the whole
 * stream) before anything is moved into place. */
static int stage(tsarc_tree_target *t, int fd, const tsarc_tree_restore_options *opts,
	tsarc_tree_restore_result *res, const tsarc_tree_padding *pad)
{
	char staging[TSARC_TREE_PATH_MAX];

	if (snprintf(staging, sizeof(staging), "%s/%s", t->dir, t->j.staging) >= (int)sizeof(staging))
		return tsarc_error_set(TSARC_ETOOLARGE, "path too long: %s", t->dir);
	{
		int rc = tsarc__tree_extract(fd, staging, opts, res, &t->top, 0, pad);
		return rc ? rc : tsarc__tree_read_to_end(fd);
	}
}

static const tsarc_tree_restore_options no_options;

typedef struct staged {
	tsarc_tree_target *t;
	const tsarc_tree_restore_options *opts;
	tsarc_tree_restore_result *res;
	const tsarc_tree_padding *pad; /* the stream's, or NULL */
} staged;

static int stage_tar(int fd, void *ctx)
{
	staged *g = ctx;

	return stage(g->t, fd, g->opts, g->res, g->pad);
}

/* The restore's own folder repository: `dir` or a folder above it. */
static int own_repository(tsarc_repo *repo, const char *dir)
{
	struct stat target, cur, up;
	const char *root;
	int fd, next, rc = 0;

	if (!repo || !repo->store || !repo->store->kind || strcmp(repo->store->kind, "fs") ||
		!(root = tsarc_store_describe(repo->store)))
		return 0;
	/* A folder the restore will create holds nothing yet. */
	if (stat(dir, &target) != 0)
		return 0;
	/* From the repository's folder up to "/": is the target one of them? */
	for (fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0; fd = next) {
		if (fstat(fd, &cur) != 0)
			break;
		if (cur.st_dev == target.st_dev && cur.st_ino == target.st_ino) {
			rc = tsarc_error_set(TSARC_EUNSAFE, "%s holds the repository %s: a restore "
				"replaces the whole folder, the repository with it (the snapshots written "
				"since the backup would be lost); restore into another folder", dir, root);
			break;
		}
		next = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		if (next >= 0 && (fstat(next, &up) != 0 ||
			(up.st_dev == cur.st_dev && up.st_ino == cur.st_ino))) {
			close(next);
			return 0; /* "/" */
		}
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int tsarc_tree_repository_check(tsarc_repo *repo, const char *dir)
{
	char *found = NULL;
	int rc;

	if ((rc = own_repository(repo, dir)))
		return rc;
	if ((rc = tsarc__tree_find_repository(dir, &found)) <= 0)
		return rc;
	if (!strcmp(found, "."))
		rc = tsarc_error_set(TSARC_EUNSAFE, "%s is a tsarc repository (a config and key "
			"files): a restore replaces the whole folder, and every snapshot in that "
			"repository with it; restore into another folder", dir);
	else
		rc = tsarc_error_set(TSARC_EUNSAFE, "%s/%s is a tsarc repository (a config and key "
			"files) inside %s: a restore replaces the whole folder, and would delete that "
			"repository with the old tree or overwrite it with what the snapshot holds "
			"there, every snapshot in it lost; move the repository out of %s, or restore "
			"into another folder", dir, found, dir, dir);
	free(found);
	return rc;
}

/* A restore from the repository stream (verified as it is read) when
 * `repo` is set, else from fd. */
static int restore(const char *target_dir, tsarc_repo *repo, const tsarc_stream *st, int fd,
	const tsarc_tree_restore_options *opts, tsarc_tree_restore_result *res)
{
	tsarc_tree_padding *pad = NULL;
	staged g;
	tsarc_tree_target t;
	int rc;

	if (!opts)
		opts = &no_options;
	if ((rc = tsarc_tree_repository_check(repo, target_dir)))
		return rc;
	if (repo && (rc = tsarc_tree_padding_parse(st->meta, &pad))) {
		tsarc_error_prefix("stream %s: metadata", st->name);
		return rc;
	}
	if ((rc = tsarc__tree_target_open(&t, target_dir, opts, res))) {
		tsarc_tree_padding_free(pad);
		return rc;
	}
	g.t = &t;
	g.opts = opts;
	g.res = res;
	g.pad = pad;
	/* Swapped in only when the whole stream was read and verified. */
	rc = repo ? tsarc__tree_read_stream(repo, st, 0, stage_tar, &g) : stage_tar(fd, &g);
	tsarc_tree_padding_free(pad);
	if (rc) {
		tsarc__tree_target_discard(&t);
		return rc;
	}
	return tsarc__tree_target_swap(&t, opts, res);
}

int tsarc_tree_restore_fd(const char *target_dir, int fd,
	const tsarc_tree_restore_options *opts, tsarc_tree_restore_result *res)
{
	return restore(target_dir, NULL, NULL, fd, opts, res);
}

int tsarc_tree_recover(const char *target_dir, int *recovered)
{
	tsarc_tree_restore_result res;
	tsarc_tree_target t;
	int rc;

	*recovered = 0;
	if ((rc = tsarc__tree_target_open(&t, target_dir, &no_options, &res)))
		return rc;
	*recovered = res.recovered;
	tsarc__tree_target_discard(&t);
	return 0;
}

int tsarc_tree_restore_stream(tsarc_repo *repo, const tsarc_stream *st,
	const char *target_dir, const tsarc_tree_restore_options *opts,
	tsarc_tree_restore_result *res)
{
	return restore(target_dir, repo, st, -1, opts, res);
}
