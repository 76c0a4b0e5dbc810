/*
 * The local directory store. Objects are files under the repository
 * root in the common layout; every put writes a temporary file in the
 * target folder, fsyncs it and only then renames (or links, for
 * create-only) it into place, so a reader or a crash never sees half an
 * object: without the fsync a crash can keep the rename but not the data,
 * leaving a correctly named empty file that dedup would trust.
 */
#define _GNU_SOURCE /* syncfs */
#include "tsarc/sys/store.h"
#include "tsarc/errors.h"
#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FS_PATH_MAX 4096
/* Temporary files (fileio.h) start with a dot: listings pass them over. */
#define TMP_PREFIX ".tmp-"

typedef struct fs_store {
	tsarc_store parent;
	char *root;
} fs_store;

static int fs_path(fs_store *fs, char *out, size_t outsz, tsarc_objtype type,
	const char *name)
{
	char key[512];
	int rc, n;

	if ((rc = tsarc_store_layout(key, sizeof(key), type, name)))
		return rc;
	n = snprintf(out, outsz, "%s/%s", fs->root, key);
	if (n < 0 || (size_t)n >= outsz)
		return tsarc_error_set(TSARC_ETOOLARGE, "path too long under %s", fs->root);
	return 0;
}

static int mkdir_one(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return tsarc_error_set(tsarc_errno_code(errno), "cannot create folder %s: %s",
		path, strerror(errno));
}

/* mkdir -p of the root itself, which may have missing parents. */
static int mkdir_parents(const char *path)
{
	char tmp[FS_PATH_MAX];
	size_t i, len = strlen(path);
	int rc;

	if (len >= sizeof(tmp))
		return tsarc_error_set(TSARC_ETOOLARGE, "path too long: %s", path);
	memcpy(tmp, path, len + 1);
	for (i = 1; i < len; i++) {
		if (tmp[i] != '/')
			continue;
		tmp[i] = '\0';
		if ((rc = mkdir_one(tmp)))
			return rc;
		tmp[i] = '/';
	}
	return mkdir_one(tmp);
}

static int fs_create(tsarc_store *st)
{
	fs_store *fs = (fs_store *)st;
	char path[FS_PATH_MAX];
	tsarc_objtype t;
	int rc, i;

	if ((rc = mkdir_parents(fs->root)))
		return rc;
	for (t = TSARC_OBJ_KEY; t < TSARC_OBJ__COUNT; t++) {
		snprintf(path, sizeof(path), "%s/%s", fs->root, tsarc_objtype_dir(t));
		if ((rc = mkdir_one(path)))
			return rc;
	}
	/* All 256 fan-out folders up front, so concurrent puts never race to
	 * create them. */
	for (i = 0; i < 256; i++) {
		snprintf(path, sizeof(path), "%s/data/%02x", fs->root, i);
		if ((rc = mkdir_one(path)))
			return rc;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[FS_PATH_MAX];
	char *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = tsarc_error_set(TSARC_EIO, "fsync %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

/* What a put stores: bytes in memory, or the first `flen` of a file. */
typedef struct fs_body {
	const void *data;
	size_t len;
	int fd; /* -1: data */
	uint64_t flen;
} fs_body;

static int put_body(tsarc_store *st, tsarc_objtype type, const char *name,
	const fs_body *body, unsigned flags)
{
	fs_store *fs = (fs_store *)st;
	char path[FS_PATH_MAX], prefix[FS_PATH_MAX + 16];
	tsarc_tmpfile t;
	char *slash;
	int rc;
	/* The folder of a small metadata object is synced at once; the names
	 * of data chunks are made durable together by fs_sync before a
	 * snapshot refers to them. Contents are always synced before the
	 * rename. */
	int sync_dir = type != TSARC_OBJ_DATA;

	if ((rc = fs_path(fs, path, sizeof(path), type, name)))
		return rc;
	slash = strrchr(path, '/');
	snprintf(prefix, sizeof(prefix), "%.*s/" TMP_PREFIX, (int)(slash - path), path);
	rc = tsarc_tmpfile_open(&t, AT_FDCWD, NULL, prefix);
	if (rc == TSARC_ENOTFOUND) {
		/* The type folder may be missing in a hand-made tree. */
		*slash = '\0';
		rc = mkdir_one(path);
		*slash = '/';
		if (!rc)
			rc = tsarc_tmpfile_open(&t, AT_FDCWD, NULL, prefix);
	}
	if (rc)
		return rc;
	rc = body->fd < 0 ? tsarc_tmpfile_write(&t, body->data, body->len)
			  : tsarc_tmpfile_copy_from(&t, body->fd, body->flen);
	if (rc) {
		tsarc_tmpfile_discard(&t);
		return rc;
	}
	if ((rc = tsarc_tmpfile_commit(&t, path, flags & TSARC_PUT_CREATE_ONLY ?
			TSARC_TMPFILE_CREATE_ONLY : 0)))
		return rc;
	return sync_dir ? fsync_dir_of(path) : 0;
}

static int fs_put(tsarc_store *st, tsarc_objtype type, const char *name,
	const void *data, size_t len, unsigned flags)
{
	fs_body body = {data, len, -1, 0};

	return put_body(st, type, name, &body, flags);
}

/*
 * A create-only put of a whole unnamed file (a pack's scratch file,
 * tsarc_scratch_file_linkable) on this store's filesystem: the file itself
 * becomes the object, synced and then linked under its name, instead of
 * its bytes being copied into a new file. 1 when that cannot be done here
 * (another filesystem, a file with a name or longer than len, no /proc):
 * the caller copies.
 */
static int adopt_file(fs_store *fs, tsarc_objtype type, const char *name, int fd, uint64_t len)
{
	char path[FS_PATH_MAX], self[64];
	struct stat sb;
	int rc;

	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_nlink != 0 ||
		(uint64_t)sb.st_size != len)
		return 1;
	if ((rc = fs_path(fs, path, sizeof(path), type, name)))
		return rc;
	if (fsync(fd) != 0)
		return tsarc_error_set(tsarc_errno_code(errno), "cannot write %s: %s", path,
			strerror(errno));
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	/* Its folder synced as put_body's would be (data: by fs_sync). */
	if (linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
		return type != TSARC_OBJ_DATA ? fsync_dir_of(path) : 0;
	if (errno == EEXIST)
		return tsarc_error_set(TSARC_EEXISTS, "%s already exists", path);
	return 1;
}

static int fs_put_file(tsarc_store *st, tsarc_objtype type, const char *name, int fd,
	uint64_t len, unsigned flags)
{
	fs_body body = {NULL, 0, fd, len};
	int rc;

	if ((flags & TSARC_PUT_CREATE_ONLY) &&
		(rc = adopt_file((fs_store *)st, type, name, fd, len)) != 1)
		return rc;
	return put_body(st, type, name, &body, flags);
}

static int fs_get(tsarc_store *st, tsarc_objtype type, const char *name,
	uint64_t offset, uint64_t length, tsarc_buf *out)
{
	fs_store *fs = (fs_store *)st;
	char path[FS_PATH_MAX];
	struct stat sb;
	uint64_t want;
	size_t done = 0;
	int fd, rc, err;

	if ((rc = fs_path(fs, path, sizeof(path), type, name)))
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tsarc_error_set(tsarc_errno_code(errno), "cannot read %s: %s", path,
			strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return tsarc_error_set(TSARC_EIO, "%s is not a regular file", path);
	}
	if (offset > (uint64_t)sb.st_size) {
		close(fd);
		return tsarc_error_set(TSARC_EINVAL, "range starts past the end of %s", path);
	}
	want = (uint64_t)sb.st_size - offset;
	if (length && length < want)
		want = length;
	if (want > SIZE_MAX / 2 || (rc = tsarc_buf_grow(out, (size_t)want))) {
		close(fd);
		return rc ? rc : tsarc_error_set(TSARC_ETOOLARGE, "%s is too large", path);
	}
	while (done < want) {
		ssize_t n = pread(fd, out->ptr + out->size + done, (size_t)want - done,
			(off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : EIO;
			close(fd);
			return tsarc_error_set(TSARC_EIO, "reading %s: %s", path,
				n < 0 ? strerror(err) : "file shrank while reading");
		}
		done += (size_t)n;
	}
	close(fd);
	out->size += done;
	out->ptr[out->size] = 0;
	return 0;
}

static int fs_stat(tsarc_store *st, tsarc_objtype type, const char *name,
	uint64_t *size_out)
{
	fs_store *fs = (fs_store *)st;
	char path[FS_PATH_MAX];
	struct stat sb;
	int rc;

	if ((rc = fs_path(fs, path, sizeof(path), type, name)))
		return rc;
	if (stat(path, &sb) != 0)
		return tsarc_error_set(tsarc_errno_code(errno), "%s: %s", path,
			strerror(errno));
	if (size_out)
		*size_out = (uint64_t)sb.st_size;
	return 0;
}

/* Calls fn for the folder of `type` (the root for config), or for each of
 * data's 256. */
static int each_folder(fs_store *fs, tsarc_objtype type,
	int (*fn)(const char *dir, void *ctx), void *ctx)
{
	const char *sub = tsarc_objtype_dir(type);
	char dir[FS_PATH_MAX];
	int i, rc = 0;

	if (type != TSARC_OBJ_DATA) {
		snprintf(dir, sizeof(dir), "%s%s%s", fs->root, *sub ? "/" : "", sub);
		return fn(dir, ctx);
	}
	for (i = 0; !rc && i < 256; i++) {
		snprintf(dir, sizeof(dir), "%s/data/%02x", fs->root, i);
		rc = fn(dir, ctx);
	}
	return rc;
}

/* What a folder is walked for: a listing, or removing old temporaries.
 * `visit` is called with each regular file `wants` keeps, by name. */
typedef struct walk {
	tsarc_objtype type;
	int64_t before;
	int stat_flags; /* fstatat's: AT_SYMLINK_NOFOLLOW where a link must not count */
	int (*wants)(const struct walk *w, const char *name);
	int (*visit)(const struct walk *w, DIR *d, const char *dir, const char *name,
		const struct stat *sb);
	tsarc_store_list_cb cb;
	void *payload;
	tsarc_store_tag_cb tag_cb; /* list_tagged: instead of cb */
} walk;

/* Each regular file of `dir` that the walk wants, until a visit fails; a
 * folder not made yet holds nothing. */
static int walk_dir(const char *dir, void *ctx)
{
	const walk *w = ctx;
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat sb;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : tsarc_error_set(tsarc_errno_code(errno),
			"cannot list %s: %s", dir, strerror(errno));
	while (!rc && (de = readdir(d)) != NULL) {
		if (!w->wants(w, de->d_name) ||
			fstatat(dirfd(d), de->d_name, &sb, w->stat_flags) != 0 ||
			!S_ISREG(sb.st_mode))
			continue;
		rc = w->visit(w, d, dir, de->d_name, &sb);
	}
	closedir(d);
	return rc;
}

/* A listing: valid names of the type; ".", ".." and unfinished ".tmp-"
 * files start with a dot. */
static int listed_name(const walk *w, const char *name)
{
	return name[0] != '.' && tsarc_store_name_valid(w->type, name);
}

static int list_one(const walk *w, DIR *d, const char *dir, const char *name,
	const struct stat *sb)
{
	char tag[128];

	(void)d;
	(void)dir;
	if (!w->tag_cb)
		return w->cb(name, (uint64_t)sb->st_size, (int64_t)sb->st_mtime, w->payload);
	/* Whatever writes the file through the file system changes its
	 * change time (which no one can set), a replace its inode too. Not
	 * the device number: a network file system's changes with each
	 * mount (each pod), which would make every run read the index. */
	snprintf(tag, sizeof(tag), "%llx.%lld.%09ld.%lld.%09ld",
		(unsigned long long)sb->st_ino,
		(long long)sb->st_mtim.tv_sec, (long)sb->st_mtim.tv_nsec,
		(long long)sb->st_ctim.tv_sec, (long)sb->st_ctim.tv_nsec);
	return w->tag_cb(name, (uint64_t)sb->st_size, tag, w->payload);
}

/* A listing, plain or tagged: the config file alone, or a type's folders. */
static int list_walk(fs_store *fs, walk *w)
{
	char path[FS_PATH_MAX];
	struct stat sb;
	int rc;

	if (w->type != TSARC_OBJ_CONFIG)
		return each_folder(fs, w->type, walk_dir, w);
	if ((rc = fs_path(fs, path, sizeof(path), w->type, NULL)))
		return rc;
	if (stat(path, &sb) != 0)
		return errno == ENOENT ? 0 : tsarc_error_set(tsarc_errno_code(errno), "%s: %s",
			path, strerror(errno));
	return list_one(w, NULL, NULL, "config", &sb);
}

static int fs_list(tsarc_store *st, tsarc_objtype type, tsarc_store_list_cb cb,
	void *payload)
{
	walk w = {type, 0, 0, listed_name, list_one, cb, payload, NULL};

	return list_walk((fs_store *)st, &w);
}

static int fs_list_tagged(tsarc_store *st, tsarc_objtype type, tsarc_store_tag_cb cb,
	void *payload)
{
	walk w = {type, 0, 0, listed_name, list_one, NULL, payload, cb};

	return list_walk((fs_store *)st, &w);
}

/* Temporary removal: the ".tmp-" files. */
static int temp_name(const walk *w, const char *name)
{
	(void)w;
	return !strncmp(name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1);
}

/* Removes one last written before `before` and reports it. */
static int remove_old_temp(const walk *w, DIR *d, const char *dir, const char *name,
	const struct stat *sb)
{
	if ((int64_t)sb->st_mtime >= w->before)
		return 0;
	if (unlinkat(dirfd(d), name, 0) != 0)
		return errno == ENOENT ? 0 : tsarc_error_set(tsarc_errno_code(errno),
			"cannot remove %s/%s: %s", dir, name, strerror(errno));
	return w->cb(name, (uint64_t)sb->st_size, (int64_t)sb->st_mtime, w->payload);
}

/* Every folder a put writes into: the root (config), each type's, and
 * data's 256. */
static int fs_remove_temp(tsarc_store *st, int64_t before, tsarc_store_list_cb cb,
	void *payload)
{
	walk w = {TSARC_OBJ_CONFIG, before, AT_SYMLINK_NOFOLLOW, temp_name, remove_old_temp, cb,
		payload, NULL};
	int t, rc = 0;

	for (t = 0; !rc && t < TSARC_OBJ__COUNT; t++)
		rc = each_folder((fs_store *)st, (tsarc_objtype)t, walk_dir, &w);
	return rc;
}

static int fs_remove(tsarc_store *st, tsarc_objtype type, const char *name)
{
	fs_store *fs = (fs_store *)st;
	char path[FS_PATH_MAX];
	int rc;

	if ((rc = fs_path(fs, path, sizeof(path), type, name)))
		return rc;
	if (unlink(path) != 0)
		return tsarc_error_set(tsarc_errno_code(errno), "cannot remove %s: %s",
			path, strerror(errno));
	return 0;
}

static int fs_sync(tsarc_store *st)
{
	fs_store *fs = (fs_store *)st;
	int fd = open(fs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return tsarc_error_set(tsarc_errno_code(errno), "cannot open %s: %s",
			fs->root, strerror(errno));
	/* One syncfs makes every chunk name written so far durable (their
	 * contents were synced by fs_put), far cheaper than an fsync of each
	 * folder, and is done before a snapshot is written. */
	if (syncfs(fd) != 0)
		rc = tsarc_error_set(TSARC_EIO, "syncing %s: %s", fs->root,
			strerror(errno));
	close(fd);
	return rc;
}

static const char *fs_describe(tsarc_store *st)
{
	return ((fs_store *)st)->root;
}

static void fs_free(tsarc_store *st)
{
	fs_store *fs = (fs_store *)st;

	free(fs->root);
	free(fs);
}

int tsarc_store_fs_open(tsarc_store **out, const char *path,
	const tsarc_store_options *opts)
{
	fs_store *fs;
	size_t len = strlen(path);

	*out = NULL;
	if (opts && opts->as_of)
		return tsarc_error_set(TSARC_EUNSUPPORTED,
			"a point-in-time view (--as-of) needs an S3 bucket that keeps versions "
			"(Object Lock); a folder keeps none");
	if (len == 0 || len > FS_PATH_MAX - 200)
		return tsarc_error_set(TSARC_EINVAL, "invalid repository path");
	fs = calloc(1, sizeof(*fs));
	if (!fs || !(fs->root = strdup(path))) {
		free(fs);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	while (len > 1 && fs->root[len - 1] == '/')
		fs->root[--len] = '\0';
	fs->parent.kind = "fs";
	/* Two writers keep a local disk busy while the CPU compresses. */
	fs->parent.max_inflight = opts && opts->inflight ? opts->inflight : 2;
	fs->parent.create = fs_create;
	fs->parent.put = fs_put;
	fs->parent.put_file = fs_put_file;
	fs->parent.get = fs_get;
	fs->parent.stat = fs_stat;
	fs->parent.list = fs_list;
	fs->parent.list_tagged = fs_list_tagged;
	fs->parent.remove = fs_remove;
	fs->parent.sync = fs_sync;
	fs->parent.remove_temp = fs_remove_temp;
	fs->parent.describe = fs_describe;
	fs->parent.free = fs_free;
	*out = &fs->parent;
	return 0;
}
