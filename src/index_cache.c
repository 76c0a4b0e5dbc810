#include "index_cache.h"
#include "fileio.h"
#include "index.h"
#include "log.h"
#include "tsarc/errors.h"

#include <dirent.h>
#include <openssl/evp.h>
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

#define TAG_SUFFIX ".tag"
#define STAMP_MAX 200

/* An object of the listing of index/, with its stamp there: its size and
 * the store's tag ("<size>:<tag>"), NULL when the store gave no tag. */
typedef struct listed_obj {
	char *name;
	char *stamp;
	int vouched; /* -1: not asked yet */
} listed_obj;

struct tsarc_index_cache {
	int dirfd;   /* tsarc/<repository id>/ */
	int indexfd; /* tsarc/<repository id>/index/ */
	char dir[PATH_MAX];
	char index_dir[PATH_MAX];
	listed_obj *listed; /* sorted by name; NULL: no listing given */
	size_t nlisted;
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

static void listed_free(tsarc_index_cache *c)
{
	size_t i;

	for (i = 0; i < c->nlisted; i++) {
		free(c->listed[i].name);
		free(c->listed[i].stamp);
	}
	free(c->listed);
	c->listed = NULL;
	c->nlisted = 0;
}

void tsarc_index_cache_free(tsarc_index_cache *c)
{
	if (!c)
		return;
	listed_free(c);
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

static int cmp_listed(const void *a, const void *b)
{
	return strcmp(((const listed_obj *)a)->name, ((const listed_obj *)b)->name);
}

static listed_obj *find_listed(tsarc_index_cache *c, const char *name)
{
	listed_obj key;

	if (!c->nlisted)
		return NULL;
	key.name = (char *)name;
	return bsearch(&key, c->listed, c->nlisted, sizeof(key), cmp_listed);
}

/* Drops entry `name` and its tag: its copy is no longer known to be the
 * store's. */
static void drop_entry(tsarc_index_cache *c, const char *name)
{
	char tag[TSARC_ID_HEX_LEN + sizeof(TAG_SUFFIX)];

	snprintf(tag, sizeof(tag), "%s%s", name, TAG_SUFFIX);
	(void)unlinkat(c->indexfd, tag, 0);
	(void)unlinkat(c->indexfd, name, 0);
}

/* Records the stamp under which entry `name` is the store's copy. Not
 * synced: a tag lost or torn only makes the next open read the object
 * from the store again. */
static void write_tag(tsarc_index_cache *c, const char *name, const char *stamp)
{
	char tag[TSARC_ID_HEX_LEN + sizeof(TAG_SUFFIX)], tmp[sizeof(tag) + 32];
	size_t len = strlen(stamp);
	int fd;

	snprintf(tag, sizeof(tag), "%s%s", name, TAG_SUFFIX);
	snprintf(tmp, sizeof(tmp), "%s%s.%ld", TMP_PREFIX, tag, (long)getpid());
	fd = openat(c->indexfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		0600);
	if (fd < 0)
		return;
	if (write(fd, stamp, len) != (ssize_t)len || close(fd) != 0 ||
		renameat(c->indexfd, tmp, c->indexfd, tag) != 0)
		(void)unlinkat(c->indexfd, tmp, 0);
}

int tsarc_index_cache_vouches(tsarc_index_cache *c, const char *name)
{
	char path[PATH_MAX + TSARC_ID_HEX_LEN + 16];
	listed_obj *o;
	char *raw = NULL;
	size_t len = 0;

	if (!c || !(o = find_listed(c, name)))
		return 0;
	if (o->vouched >= 0)
		return o->vouched;
	o->vouched = 0;
	if (!o->stamp)
		return 0;
	snprintf(path, sizeof(path), "%s/%s%s", c->index_dir, name, TAG_SUFFIX);
	if (tsarc_read_private_file(path, STAMP_MAX, &raw, &len)) {
		tsarc_error_clear();
		return 0;
	}
	o->vouched = len == strlen(o->stamp) && !memcmp(raw, o->stamp, len);
	free(raw);
	return o->vouched;
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
	if (!tsarc_index_cache_vouches(c, name)) {
		/* Not known to be the store's copy (the store's changed, or
		 * was never compared): the store's is read, and checked. */
		drop_entry(c, name);
		return 0;
	}
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
	drop_entry(c, name);
	/* Downloaded again into `out`: not after a failed append (buf.h). */
	tsarc_buf_clear(out);
	return 0;
}

void tsarc_index_cache_put(tsarc_index_cache *c, const char *name, const uint8_t *sealed,
	size_t len)
{
	tsarc_tmpfile t;
	listed_obj *o;
	char stamp[STAMP_MAX], md5[TSARC_ID_HEX_LEN + 1];
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;

	if (!c || !valid_id(name))
		return;
	/* The old tag first: it must never vouch for bytes being replaced. */
	drop_entry(c, name);
	if (tsarc_tmpfile_open(&t, c->indexfd, c->index_dir, TMP_PREFIX) ||
		tsarc_tmpfile_write(&t, sealed, len) || tsarc_tmpfile_commit(&t, name, 0)) {
		tsarc__log(TSARC_LOG_WARN, "index", "index_cache_unusable", "index cache: "
			"cannot store %.16s: %s", name, tsarc_error_last()->message);
		tsarc_error_clear();
		return;
	}
	if ((o = find_listed(c, name))) {
		/* Read from the store after this listing and found whole:
		 * the listed object is these bytes. */
		if (o->stamp) {
			write_tag(c, name, o->stamp);
			o->vouched = 1;
		}
		return;
	}
	/* Stored by this process: the tag S3 will list for a plain PUT is
	 * the bytes' MD5; where the store lists another (fs, SSE-KMS), the
	 * next open reads the object once from the store instead. */
	if (!EVP_Digest(sealed, len, digest, &dlen, EVP_md5(), NULL) || dlen != 16)
		return;
	tsarc_hex_encode(md5, digest, dlen);
	snprintf(stamp, sizeof(stamp), "%zu:%s", len, md5);
	write_tag(c, name, stamp);
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

/* Whether `name` is an entry's tag file, and then its entry's name. */
static int tag_of(const char *name, char entry[TSARC_ID_HEX_LEN + 1])
{
	size_t n = strlen(name);

	if (n != TSARC_ID_HEX_LEN + strlen(TAG_SUFFIX) || strcmp(name + TSARC_ID_HEX_LEN, TAG_SUFFIX))
		return 0;
	memcpy(entry, name, TSARC_ID_HEX_LEN);
	entry[TSARC_ID_HEX_LEN] = 0;
	return valid_id(entry);
}

/* Removes from the folder open as dirfd the stale temporary files and,
 * with ids_too, the entries (and their tags) not in `sorted`. */
static void sweep(int dirfd, char **sorted, size_t n, int ids_too)
{
	char entry[TSARC_ID_HEX_LEN + 1];
	const char *key = entry;
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
		else if (ids_too && tag_of(name, entry))
			drop = !n || !bsearch(&key, sorted, n, sizeof(*sorted), cmp_str);
		if (drop)
			(void)unlinkat(dirfd, name, 0);
	}
	closedir(d);
}

void tsarc_index_cache_retain(tsarc_index_cache *c, char *const *names, char *const *stamps,
	size_t n)
{
	char **sorted = NULL;
	size_t i;

	if (!c)
		return;
	listed_free(c);
	if (n && !(c->listed = calloc(n, sizeof(*c->listed))))
		return;
	for (i = 0; i < n; i++) {
		c->listed[i].vouched = -1;
		if (!(c->listed[i].name = strdup(names[i])) ||
			(stamps[i] && !(c->listed[i].stamp = strdup(stamps[i])))) {
			c->nlisted = i + 1;
			listed_free(c);
			return;
		}
	}
	c->nlisted = n;
	if (n)
		qsort(c->listed, n, sizeof(*c->listed), cmp_listed);
	if (n && !(sorted = malloc(n * sizeof(*sorted))))
		return;
	if (n) {
		memcpy(sorted, names, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_str);
	}
	sweep(c->indexfd, sorted, n, 1);
	sweep(c->dirfd, NULL, 0, 0);
	free(sorted);
}
