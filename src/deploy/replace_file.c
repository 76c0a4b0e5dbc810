/*
 * Replacing a file in a folder others may write: a new file with a random
 * name (O_EXCL|O_NOFOLLOW), fsynced, renamed over the old one, the folder
 * fsynced. See tsarc_replace_file_at in component.h.
 */
#include "component.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int nomem(void)
{
	return tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

int tsarc_replace_file_at(int dirfd, const char *where, const char *name, const void *data,
	size_t len, mode_t mode, int keep_attrs)
{
	char tmp[300];
	unsigned char rnd[12];
	struct stat old;
	const char *p = data;
	size_t done = 0, i;
	int fd = -1, exists, tries, rc = 0;

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
	/* A name nobody can guess: a file planted at it in advance is not
	 * possible, and O_EXCL|O_NOFOLLOW fails on anything there anyway. */
	for (tries = 0; fd < 0 && tries < 8; tries++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return tsarc_error_set(TSARC_EIO, "no random bytes for a temporary name");
		snprintf(tmp, sizeof(tmp), ".%s.tsarc-", name);
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), "%02x", rnd[i]);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return tsarc_error_set(TSARC_EIO, "cannot create a temporary file in %s: %s", where,
			strerror(errno));
	/* Owner first: changing it clears set-id bits that fchmod then sets. */
	if (exists && keep_attrs && (old.st_uid != geteuid() || old.st_gid != getegid()) &&
		fchown(fd, old.st_uid, old.st_gid)) {
		rc = tsarc_error_set(TSARC_EACCESS, "cannot give the new %s/%s the owner of the "
			"old one (uid %ld, gid %ld): %s", where, name, (long)old.st_uid,
			(long)old.st_gid, strerror(errno));
		goto fail;
	}
	if (fchmod(fd, exists && keep_attrs ? old.st_mode & 07777 : mode & 07777)) {
		rc = tsarc_error_set(TSARC_EIO, "cannot set the mode of %s/%s: %s", where, tmp,
			strerror(errno));
		goto fail;
	}
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tsarc_error_set(TSARC_EIO, "cannot write %s/%s: %s", where, tmp,
				strerror(errno));
			goto fail;
		}
		done += (size_t)n;
	}
	if (fsync(fd)) {
		rc = tsarc_error_set(TSARC_EIO, "cannot write %s/%s: %s", where, tmp, strerror(errno));
		goto fail;
	}
	if (close(fd)) {
		fd = -1;
		rc = tsarc_error_set(TSARC_EIO, "cannot write %s/%s: %s", where, tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name)) {
		rc = tsarc_error_set(TSARC_EIO, "cannot replace %s/%s: %s", where, name,
			strerror(errno));
		goto fail;
	}
	/* The rename itself survives a crash only once the folder is synced. */
	if (fsync(dirfd))
		return tsarc_error_set(TSARC_EIO, "cannot sync %s: %s", where, strerror(errno));
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
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
		return nomem();
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
