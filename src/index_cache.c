#include "index_cache.h"
#include "fileio.h"
#include "index.h"
#include "log.h"
#include "tsarc/errors.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_PREFIX ".tmp-"
/* A temporary file this old was left by a killed run, not being written. */
#define TMP_STALE_SECONDS 3600

struct tsarc_index_cache {
	int dirfd;   /* tsarc/<repository id>/ */
	int indexfd; /* tsarc/<repository id>/index/ */
	char dir[PATH_MAX];
	char index_dir[PATH_MAX];
};

static void warn(const char *what, const char *path, int err)
{
	tsarc__log(TSARC_LOG_WARN, "index", "index_cache_unusable", "index cache: cannot %s "
		"%s (%s): the index is downloaded instead", what, path, strerror(err));
}

/* Opens folder `name` in `at` (made 0700 when missing), never through a
 * symlink. */
static int open_dir_at(int at, const char *name, const char *path)
{
	int fd;

	if (mkdirat(at, name, 0700) != 0 && errno != EEXIST) {
		warn("create", path, errno);
		return -1;
	}
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		warn("open", path, errno);
	return fd;
}

static int valid_id(const char *id)
{
	size_t i;

	for (i = 0; id[i]; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return i == TSARC_ID_HEX_LEN;
}

void tsarc_index_cache_open(const tsarc_repo *repo, tsarc_index_cache **out)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	const char *off = getenv("TSARC_NO_CACHE");
	char base[PATH_MAX], path[PATH_MAX];
	tsarc_index_cache *c;
	int fd = -1, top = -1;

	*out = NULL;
	if (repo->no_cache || (off && *off) || !valid_id(repo->id))
		return;
	/* The XDG rule: a relative XDG_CACHE_HOME is ignored. */
	if (xdg && xdg[0] == '/')
		snprintf(base, sizeof(base), "%s", xdg);
	else if (home && home[0] == '/')
		snprintf(base, sizeof(base), "%s/.cache", home);
	else
		return;
	if (!(c = calloc(1, sizeof(*c))))
		return;
	c->dirfd = c->indexfd = -1;
	if ((top = open_dir_at(AT_FDCWD, base, base)) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/tsarc", base);
	fd = open_dir_at(top, "tsarc", path);
	close(top);
	if (fd < 0)
		goto fail;
	snprintf(c->dir, sizeof(c->dir), "%s/%s", path, repo->id);
	c->dirfd = open_dir_at(fd, repo->id, c->dir);
	close(fd);
	if (c->dirfd < 0)
		goto fail;
	snprintf(c->index_dir, sizeof(c->index_dir), "%s/index", c->dir);
	if ((c->indexfd = open_dir_at(c->dirfd, "index", c->index_dir)) < 0)
		goto fail;
	*out = c;
	return;
fail:
	tsarc_index_cache_free(c);
}

void tsarc_index_cache_free(tsarc_index_cache *c)
{
	if (!c)
		return;
	if (c->dirfd >= 0)
		close(c->dirfd);
	if (c->indexfd >= 0)
		close(c->indexfd);
	free(c);
}

const char *tsarc_index_cache_dir(const tsarc_index_cache *c)
{
	return c->dir;
}

int tsarc_index_cache_dirfd(const tsarc_index_cache *c)
{
	return c->dirfd;
}

int tsarc_index_cache_get(tsarc_index_cache *c, const char *name, tsarc_buf *out)
{
	char path[PATH_MAX + TSARC_ID_HEX_LEN + 2], hex[TSARC_ID_HEX_LEN + 1];
	uint8_t digest[32];
	char *raw = NULL;
	size_t len = 0;
	int rc;

	if (!c || !valid_id(name))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", c->index_dir, name);
	rc = tsarc_read_private_file(path, TSARC_INDEX_OBJECT_MAX, &raw, &len);
	if (rc == TSARC_ENOTFOUND) {
		tsarc_error_clear();
		return 0;
	}
	if (!rc && !(rc = tsarc_sha256(raw, len, digest))) {
		tsarc_hex_encode(hex, digest, sizeof(digest));
		if (strcmp(hex, name) != 0)
			rc = tsarc_error_set(TSARC_ECORRUPT, "its content does not match its name");
	}
	if (!rc) {
		tsarc_buf_clear(out);
		rc = tsarc_buf_append(out, raw, len);
	}
	free(raw);
	if (!rc)
		return 1;
	tsarc__log(TSARC_LOG_WARN, "index", "index_cache_damaged", "index cache: entry %.16s "
		"is not used (%s): downloading the index object again", name,
		tsarc_error_last()->message);
	tsarc_error_clear();
	(void)unlinkat(c->indexfd, name, 0);
	/* Downloaded again into `out`: not after a failed append (buf.h). */
	tsarc_buf_clear(out);
	return 0;
}

void tsarc_index_cache_put(tsarc_index_cache *c, const char *name, const uint8_t *sealed,
	size_t len)
{
	tsarc_tmpfile t;

	if (!c || !valid_id(name))
		return;
	if (tsarc_tmpfile_open(&t, c->indexfd, c->index_dir, TMP_PREFIX) ||
		tsarc_tmpfile_write(&t, sealed, len) || tsarc_tmpfile_commit(&t, name, 0)) {
		tsarc__log(TSARC_LOG_WARN, "index", "index_cache_unusable", "index cache: "
			"cannot store %.16s: %s", name, tsarc_error_last()->message);
		tsarc_error_clear();
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int stale_tmp(int dirfd, const char *name)
{
	struct stat st;

	return !strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) &&
	       !fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) &&
	       st.st_mtime + TMP_STALE_SECONDS < time(NULL);
}

/* Removes from the folder open as dirfd the stale temporary files and,
 * with ids_too, the entries not in `sorted`. */
static void sweep(int dirfd, char **sorted, size_t n, int ids_too)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		int drop = stale_tmp(dirfd, name);
		if (ids_too && valid_id(name))
			drop = !n || !bsearch(&name, sorted, n, sizeof(*sorted), cmp_str);
		if (drop)
			(void)unlinkat(dirfd, name, 0);
	}
	closedir(d);
}

void tsarc_index_cache_retain(tsarc_index_cache *c, char *const *names, size_t n)
{
	char **sorted = NULL;

	if (!c || (n && !(sorted = malloc(n * sizeof(*sorted)))))
		return;
	if (n) {
		memcpy(sorted, names, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_str);
	}
	sweep(c->indexfd, sorted, n, 1);
	sweep(c->dirfd, NULL, 0, 0);
	free(sorted);
}
