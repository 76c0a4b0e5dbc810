#define _GNU_SOURCE /* O_TMPFILE, mkostemp, copy_file_range, F_SETPIPE_SZ */
#include "fileio.h"
#include "tsarc/errors.h"
#include "wipe.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void tsarc_pipe_grow(int fd)
{
	(void)fcntl(fd, F_SETPIPE_SZ, 1024 * 1024);
}

const char *tsarc_tmp_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	return tmp && *tmp ? tmp : "/tmp";
}

static int scratch_file(int excl)
{
	const char *tmp = tsarc_tmp_dir();
	char path[4096];
	int fd;
	if ((fd = open(tmp, O_TMPFILE | O_RDWR | excl | O_CLOEXEC, 0600)) >= 0)
		return fd;
	if ((size_t)snprintf(path, sizeof(path), "%s/tsarc-scratch.XXXXXX", tmp) >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(path, O_CLOEXEC)) >= 0)
		unlink(path);
	return fd;
}

int tsarc_scratch_file(void)
{
	return scratch_file(O_EXCL);
}

int tsarc_scratch_file_linkable(void)
{
	return scratch_file(0);
}

/* write(2), or pwrite(2) at `at` when it is not negative, of all `len`. */
static int write_all_at(int fd, const void *buf, size_t len, off_t at)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = at < 0 ? write(fd, p, len) : pwrite(fd, p, len, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
		if (at >= 0)
			at += n;
	}
	return 0;
}

int tsarc_write_all(int fd, const void *buf, size_t len)
{
	return write_all_at(fd, buf, len, -1);
}

int tsarc_pwrite_all(int fd, const void *buf, size_t len, off_t at)
{
	if (at < 0) {
		errno = EINVAL;
		return -1;
	}
	return write_all_at(fd, buf, len, at);
}

int tsarc_pread_all(int fd, void *buf, size_t len, off_t at)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ENODATA; /* the file ends before `len` bytes */
			return -1;
		}
		p += n;
		at += n;
		len -= (size_t)n;
	}
	return 0;
}

int tsarc_errno_code(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR: /* a path through a regular file: nothing is there */
		return TSARC_ENOTFOUND;
	case EEXIST:
		return TSARC_EEXISTS;
	case EACCES:
	case EPERM:
	case EROFS:
		return TSARC_EACCESS;
	case ENOMEM:
		return TSARC_ENOMEM;
	default:
		return TSARC_EIO;
	}
}

/* `what` (may be "") names the file's role in messages: "cannot read
 * WHAT PATH: reason". */
#define WHAT(what) (what), *(what) ? " " : ""

/* Reads an open stream to its end (not trusting a size: /proc files and
 * pipes have none) into a buffer of our own, NUL-terminated; closes it.
 * The file may be a Secret or a password file: no stdio buffer holds a
 * copy, and every buffer outgrown is wiped before it is freed (wipe.h); a
 * caller holding a secret wipes the result. */
static int read_stream(FILE *f, const char *what, const char *path, size_t max, char **out,
	size_t *len_out)
{
	char chunk[8192], *buf = NULL;
	size_t n, len = 0, cap = 0;
	int rc = 0, err;

	setvbuf(f, NULL, _IONBF, 0);
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n > max)
			rc = tsarc_error_set(TSARC_ETOOLARGE, "%s%s%s is larger than %zu bytes",
				WHAT(what), path, max);
		else if (!(rc = tsarc_secure_grow(&buf, len, &cap, len + n + 1))) {
			memcpy(buf + len, chunk, n);
			len += n;
		}
	}
	err = errno;
	tsarc_secure_zero(chunk, sizeof(chunk));
	/* read's reason: a folder opens, and only its read fails (EISDIR). */
	if (!rc && ferror(f))
		rc = tsarc_error_set(TSARC_EIO, "cannot read %s%s%s: %s", WHAT(what), path,
			strerror(err));
	fclose(f);
	if (!rc)
		rc = tsarc_secure_grow(&buf, len, &cap, len + 1);
	if (rc) {
		tsarc_secure_free(buf, cap);
		return rc;
	}
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	*out = buf;
	return 0;
}

static int read_named(const char *what, const char *path, size_t max, char **out,
	size_t *len_out)
{
	FILE *f = fopen(path, "rb");

	*out = NULL;
	/* ENOTDIR: a path through a regular file, nothing is there. */
	if (!f)
		return tsarc_error_set(errno == ENOENT || errno == ENOTDIR ? TSARC_ENOTFOUND :
			TSARC_EIO, "cannot read %s%s%s: %s", WHAT(what), path, strerror(errno));
	return read_stream(f, what, path, max, out, len_out);
}

int tsarc_read_file(const char *path, size_t max, char **out, size_t *len_out)
{
	return read_named("", path, max, out, len_out);
}

int tsarc_read_secret_file(const char *what, const char *path, size_t max, char **out,
	size_t *len_out)
{
	size_t len;
	int rc = read_named(what, path, max, out, &len);

	if (rc == TSARC_ENOMEM)
		return rc;
	if (rc)
		return tsarc_error_set(TSARC_ECONFIG, "%s", tsarc_error_last()->message);
	if (strlen(*out) != len) {
		tsarc_secure_free(*out, len + 1);
		*out = NULL;
		return tsarc_error_set(TSARC_ECONFIG, "%s %s holds a NUL byte", what, path);
	}
	if (len_out)
		*len_out = len;
	return 0;
}

int tsarc_read_private_file(const char *path, size_t max, char **out, size_t *len_out)
{
	struct stat st;
	FILE *f;
	int fd;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted there must not block the open. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return tsarc_error_set(TSARC_ENOTFOUND, "cannot read %s: %s", path, strerror(errno));
	if (fd < 0 && errno != ELOOP)
		return tsarc_error_set(TSARC_EIO, "cannot read %s: %s", path, strerror(errno));
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		(st.st_mode & 022)) {
		if (fd >= 0)
			close(fd);
		return tsarc_error_set(TSARC_EUNSAFE, "%s is not a file this tool wrote (a symlink, "
			"not a regular file, someone else's or writable by others): not trusted; "
			"look at it, put the right configuration in place, remove it and run again",
			path);
	}
	if (!(f = fdopen(fd, "rb"))) {
		close(fd);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	return read_stream(f, "", path, max, out, len_out);
}

/* "FOLDER/NAME" or, when the name is a path of its own, "NAME". */
#define TMP_WHERE(t) (t)->where ? (t)->where : "", (t)->where ? "/" : ""

int tsarc_tmpfile_open(tsarc_tmpfile *t, int dirfd, const char *where, const char *prefix)
{
	unsigned char rnd[12];
	size_t plen = strlen(prefix), i;
	int tries, err = 0;

	t->dirfd = dirfd;
	t->fd = -1;
	t->where = where;
	t->name[0] = 0;
	if (plen + 2 * sizeof(rnd) >= sizeof(t->name))
		return tsarc_error_set(TSARC_ETOOLARGE, "name too long for a temporary file: %s",
			prefix);
	/* A name nobody can guess: a file planted at it in advance is not
	 * possible, and O_EXCL|O_NOFOLLOW fails on anything there anyway. */
	for (tries = 0; t->fd < 0 && tries < 8; tries++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return tsarc_error_set(TSARC_EIO, "no random bytes for a temporary name");
		memcpy(t->name, prefix, plen);
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(t->name + plen + 2 * i, 3, "%02x", rnd[i]);
		t->fd = openat(dirfd, t->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
		err = errno;
		if (t->fd < 0 && err != EEXIST)
			break;
	}
	if (t->fd < 0) {
		int code = tsarc_errno_code(err);
		t->name[0] = 0;
		return tsarc_error_set(code == TSARC_EEXISTS ? TSARC_EIO : code,
			"cannot create a temporary file %s%s%s: %s", TMP_WHERE(t), prefix,
			strerror(err));
	}
	return 0;
}

int tsarc_tmpfile_write(tsarc_tmpfile *t, const void *data, size_t len)
{
	if (tsarc_write_all(t->fd, data, len) != 0)
		return tsarc_error_set(tsarc_errno_code(errno), "cannot write %s%s%s: %s",
			TMP_WHERE(t), t->name, strerror(errno));
	return 0;
}

/* Copies by read and write, where copy_file_range cannot (another
 * filesystem on an older kernel, a filesystem without it). */
static int copy_by_reading(int out, int in, uint64_t at, uint64_t len, int *read_side)
{
	enum { STEP = 256 * 1024 };
	char *buf = malloc(STEP);
	int rc = 0;

	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	while (len > 0 && !rc) {
		size_t n = len < STEP ? (size_t)len : STEP;
		if (tsarc_pread_all(in, buf, n, (off_t)at) != 0) {
			*read_side = 1;
			rc = -1;
		} else if (tsarc_write_all(out, buf, n) != 0) {
			rc = -1;
		}
		at += n;
		len -= n;
	}
	free(buf);
	return rc;
}

int tsarc_tmpfile_copy_from(tsarc_tmpfile *t, int fd, uint64_t len)
{
	loff_t at = 0;
	int read_side = 0, rc = 0;

	while ((uint64_t)at < len) {
		uint64_t left = len - (uint64_t)at;
		ssize_t n = copy_file_range(fd, &at, t->fd, NULL,
			left > (1u << 30) ? (size_t)1 << 30 : (size_t)left, 0);
		if (n > 0)
			continue;
		if (n == 0) { /* the source ends early */
			errno = ENODATA;
			read_side = 1;
			rc = -1;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			   errno == EOPNOTSUPP || errno == EBADF) {
			rc = copy_by_reading(t->fd, fd, (uint64_t)at, left, &read_side);
		} else {
			rc = -1;
		}
		break;
	}
	if (rc != 0)
		return tsarc_error_set(tsarc_errno_code(errno), "cannot %s %s%s%s: %s",
			read_side ? "read the body of" : "write", TMP_WHERE(t), t->name,
			strerror(errno));
	return 0;
}

void tsarc_tmpfile_discard(tsarc_tmpfile *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	if (t->name[0])
		unlinkat(t->dirfd, t->name, 0);
	t->name[0] = 0;
}

int tsarc_tmpfile_commit(tsarc_tmpfile *t, const char *name, unsigned flags)
{
	int rc, err;

	if (fsync(t->fd) != 0) {
		err = errno;
		rc = tsarc_error_set(tsarc_errno_code(err), "cannot write %s%s%s: %s",
			TMP_WHERE(t), t->name, strerror(err));
		goto fail;
	}
	rc = close(t->fd);
	t->fd = -1;
	if (rc != 0) {
		err = errno;
		rc = tsarc_error_set(tsarc_errno_code(err), "cannot write %s%s%s: %s",
			TMP_WHERE(t), t->name, strerror(err));
		goto fail;
	}
	if (flags & TSARC_TMPFILE_CREATE_ONLY) {
		/* link() refuses an existing name atomically, unlike rename(). */
		rc = linkat(t->dirfd, t->name, t->dirfd, name, 0);
		err = errno;
		unlinkat(t->dirfd, t->name, 0);
		t->name[0] = 0;
		if (rc != 0) {
			if (err == EEXIST)
				return tsarc_error_set(TSARC_EEXISTS, "%s%s%s already exists",
					TMP_WHERE(t), name);
			return tsarc_error_set(tsarc_errno_code(err), "cannot create %s%s%s: %s",
				TMP_WHERE(t), name, strerror(err));
		}
	} else if (renameat(t->dirfd, t->name, t->dirfd, name) != 0) {
		err = errno;
		rc = tsarc_error_set(tsarc_errno_code(err), "cannot replace %s%s%s: %s",
			TMP_WHERE(t), name, strerror(err));
		goto fail;
	}
	t->name[0] = 0;
	/* The rename itself survives a crash only once the folder is synced
	 * (EINVAL: a file system that cannot sync a folder). */
	if ((flags & TSARC_TMPFILE_SYNC_DIR) && fsync(t->dirfd) != 0 && errno != EINVAL)
		return tsarc_error_set(TSARC_EIO, "cannot sync %s: %s",
			t->where ? t->where : "the folder", strerror(errno));
	return 0;
fail:
	tsarc_tmpfile_discard(t);
	return rc;
}

int tsarc_replace_file_at(int dirfd, const char *where, const char *name, const void *data,
	size_t len, mode_t mode, int keep_attrs)
{
	tsarc_tmpfile t;
	char prefix[256];
	struct stat old;
	int exists, rc;

	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
		strlen(name) > 200)
		return tsarc_error_set(TSARC_EINVAL, "cannot write '%s' in %s: not a plain file name",
			name, where);
	exists = fstatat(dirfd, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
	if (!exists && errno != ENOENT)
		return tsarc_error_set(TSARC_EIO, "cannot replace %s/%s: %s", where, name,
			strerror(errno));
	if (exists && !S_ISREG(old.st_mode))
		return tsarc_error_set(TSARC_EUNSAFE, "refusing to replace %s/%s: it is not a "
			"regular file (a symlink?)", where, name);
	snprintf(prefix, sizeof(prefix), ".%s.tsarc-", name);
	if ((rc = tsarc_tmpfile_open(&t, dirfd, where, prefix)))
		return rc;
	/* Owner first: changing it clears set-id bits that fchmod then sets. */
	if (exists && keep_attrs && (old.st_uid != geteuid() || old.st_gid != getegid()) &&
		fchown(t.fd, old.st_uid, old.st_gid)) {
		rc = tsarc_error_set(TSARC_EACCESS, "cannot give the new %s/%s the owner of the "
			"old one (uid %ld, gid %ld): %s", where, name, (long)old.st_uid,
			(long)old.st_gid, strerror(errno));
		goto fail;
	}
	if (fchmod(t.fd, exists && keep_attrs ? old.st_mode & 07777 : mode & 07777)) {
		rc = tsarc_error_set(TSARC_EIO, "cannot set the mode of %s/%s: %s", where, t.name,
			strerror(errno));
		goto fail;
	}
	if ((rc = tsarc_tmpfile_write(&t, data, len)))
		goto fail;
	return tsarc_tmpfile_commit(&t, name, TSARC_TMPFILE_SYNC_DIR);
fail:
	tsarc_tmpfile_discard(&t);
	return rc;
}

int tsarc_replace_file(const char *path, const void *data, size_t len, mode_t mode,
	int keep_attrs)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int dfd, rc;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		rc = tsarc_error_set(errno == ENOENT ? TSARC_ENOTFOUND : TSARC_EIO,
			"cannot open the folder %s: %s", dir, strerror(errno));
		free(dir);
		return rc;
	}
	rc = tsarc_replace_file_at(dfd, dir, slash ? slash + 1 : path, data, len, mode,
		keep_attrs);
	close(dfd);
	free(dir);
	return rc;
}

static int name_sort(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int tsarc_list_folder(int dfd, char ***out, size_t *count)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int fd = dup(dfd), rc = 0;
	DIR *d;

	*out = NULL;
	*count = 0;
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return tsarc_error_set(TSARC_EIO, "cannot list a folder: %s", strerror(errno));
	}
	rewinddir(d);
	while (!rc && (de = readdir(d)) != NULL) {
		char **grown;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!(grown = realloc(names, (n + 1) * sizeof(*names))) ||
			!(grown[n] = strdup(de->d_name))) {
			if (grown)
				names = grown;
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		} else {
			names = grown;
			n++;
		}
	}
	closedir(d);
	if (rc) {
		tsarc_list_folder_free(names, n);
		return rc;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), name_sort);
	*out = names;
	*count = n;
	return 0;
}

void tsarc_list_folder_free(char **names, size_t n)
{
	while (n)
		free(names[--n]);
	free(names);
}
