/*
 * The check for a restore that extracts elsewhere (in a pod): the same
 * extraction as a restore, without file data, into a scratch folder under
 * TMPDIR that is removed after, so that what the pod is later sent was
 * judged by exactly the rules and link walk of a local restore.
 */
#define _GNU_SOURCE /* mkdtemp */
#include "internal.h"
#include "fileio.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tsarc_tree_check_fd(int fd, uint64_t *entries)
{
	tsarc_tree_restore_options opts;
	tsarc_tree_restore_result res;
	tsarc_tree_root_attrs top;
	const char *tmp = tsarc_tmp_dir();
	char scratch[TSARC_TREE_PATH_MAX];
	int pfd, rc;

	memset(&opts, 0, sizeof(opts));
	memset(&res, 0, sizeof(res));
	memset(&top, 0, sizeof(top));
	*entries = 0;
	/* mkdtemp's template: it replaces the six X. */
	if (snprintf(scratch, sizeof(scratch), "%s/tsarc-tar-check.XXXXXX", tmp) >= (int)sizeof(scratch))
		return tsarc_error_set(TSARC_ETOOLARGE, "TMPDIR is too long");
	if (!mkdtemp(scratch))
		return tsarc_error_set(TSARC_EIO, "cannot create a scratch folder %s: %s", scratch,
			strerror(errno));
	if (!(rc = tsarc__tree_extract(fd, scratch, &opts, &res, &top, 1, NULL)))
		rc = tsarc__tree_read_to_end(fd);
	*entries = res.entries;
	/* The scratch folder's parent is TMPDIR: remove it by name from there. */
	{
		char *slash = strrchr(scratch, '/');
		*slash = '\0';
		pfd = open(scratch[0] ? scratch : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0 || tsarc__tree_remove_at(pfd, slash + 1) != 0) {
			int err = errno;
			*slash = '/';
			if (!rc)
				rc = tsarc_error_set(TSARC_EIO, "cannot remove the scratch folder %s: %s",
					scratch, strerror(err));
		}
		if (pfd >= 0)
			close(pfd);
	}
	return rc;
}

static int check_tar(int fd, void *ctx)
{
	return tsarc_tree_check_fd(fd, ctx);
}

int tsarc_tree_check_stream(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	uint64_t *entries)
{
	*entries = 0;
	return tsarc__tree_read_stream(repo, st, inflight, check_tar, entries);
}
