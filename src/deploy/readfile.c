/*
 * Whole small files (configs, profiles, resources, a server's
 * configuration), and the stricter reader for a file this user wrote for
 * itself beside a folder others may write.
 */
#include "component.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads an open stream to its end (not trusting a size: /proc files and
 * pipes have none), NUL-terminated; closes it. */
static int read_stream(FILE *f, const char *path, size_t max, char **out, size_t *len_out)
{
	tsarc_buf b = TSARC_BUF_INIT;
	char chunk[8192];
	size_t n;
	int rc = 0;

	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.size + n > max)
			rc = tsarc_error_set(TSARC_ETOOLARGE, "%s is larger than %zu bytes", path, max);
		else
			rc = tsarc_buf_append(&b, chunk, n);
	}
	if (!rc && ferror(f))
		rc = tsarc_error_set(TSARC_EIO, "cannot read %s", path);
	fclose(f);
	if (!rc)
		rc = tsarc_buf_append(&b, "", 1);
	if (rc) {
		tsarc_buf_dispose(&b);
		return rc;
	}
	if (len_out)
		*len_out = b.size - 1;
	*out = (char *)b.ptr;
	return 0;
}

int tsarc_read_file(const char *path, size_t max, char **out, size_t *len_out)
{
	FILE *f = fopen(path, "rb");

	*out = NULL;
	if (!f)
		return tsarc_error_set(errno == ENOENT ? TSARC_ENOTFOUND : TSARC_EIO,
			"cannot read %s: %s", path, strerror(errno));
	return read_stream(f, path, max, out, len_out);
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
	return read_stream(f, path, max, out, len_out);
}
