/*
 * Private folders that a killed tsarc leaves behind are removed by the
 * next one (privdir.h).
 */
#define _GNU_SOURCE /* mkdtemp, fdopendir */
#include "privdir.h"
#include "fileio.h"
#include "tsarc/errors.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const PREFIXES[] = {TSARC_PRIVDIR_TLS, TSARC_PRIVDIR_REDIS};

/* Files up to this size (PEM keys, configurations, pid files) are
 * overwritten with zeros before they are unlinked; larger ones (an RDB)
 * only unlinked. */
#define ZERO_MAX 65536
#define CHILD_FILE "child.pid"

static void zero_file(int dirfd, const char *name, off_t size)
{
	static const char zeros[4096];
	int fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	off_t left = size;

	if (fd < 0)
		return;
	while (left > 0) {
		size_t n = left < (off_t)sizeof(zeros) ? (size_t)left : sizeof(zeros);
		ssize_t w = write(fd, zeros, n);
		if (w <= 0)
			break;
		left -= w;
	}
	(void)fsync(fd);
	close(fd);
}

/* Empties the folder open as `fd` (it holds files and sockets only).
 * 0, or -1 when an entry could not be removed. */
static int clear_dir(int fd)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
			st.st_size > 0 && st.st_size <= ZERO_MAX)
			zero_file(fd, e->d_name, st.st_size);
		if (unlinkat(fd, e->d_name, 0) != 0 && errno != ENOENT &&
			unlinkat(fd, e->d_name, AT_REMOVEDIR) != 0 && errno != ENOENT)
			rc = -1;
	}
	closedir(d);
	return rc;
}

static int remove_cb(void *arg)
{
	tsarc_privdir *d = arg;
	int rc = 0;

	if (d->path[0]) {
		int fd = d->fd >= 0 ? d->fd :
			open(d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && clear_dir(fd) != 0)
			rc = -1;
		if (fd >= 0 && fd != d->fd)
			close(fd);
		if (rmdir(d->path) != 0 && errno != ENOENT)
			rc = -1;
	}
	/* Unlocked last: a sweep never finds the folder half removed and ours. */
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	d->path[0] = '\0';
	return rc;
}

int tsarc_privdir_make(tsarc_privdir *d, const char *prefix, const char *what)
{
	const char *tmp = tsarc_tmp_dir();
	char template[PATH_MAX];
	struct stat st;
	int tries, fd, err = 0;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	(void)tsarc_privdir_sweep();
	/* mkdtemp replaces the six X: each try starts from the template. */
	if ((size_t)snprintf(template, sizeof(template), "%s/%sXXXXXX", tmp, prefix) >=
		sizeof(template))
		return tsarc_error_set(TSARC_ETOOLARGE, "TMPDIR is too long");
	/* Registered before anything exists, held while it is being made: a
	 * signal removes whatever exists, never runs in the middle. */
	tsarc_cleanup_add(&d->cleanup, remove_cb, d, what);
	for (tries = 0; tries < 8; tries++) {
		tsarc_cleanup_hold();
		memcpy(d->path, template, sizeof(template));
		if (!mkdtemp(d->path)) {
			err = errno;
			d->path[0] = '\0';
			tsarc_cleanup_release();
			break;
		}
		fd = open(d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		/* Another tsarc's sweep may take a folder between mkdtemp and the
		 * lock (it is not locked yet): it then removes it, and we make
		 * another. */
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
			st.st_nlink > 0) {
			d->fd = fd;
			tsarc_cleanup_release();
			return 0;
		}
		err = fd < 0 ? errno : EAGAIN;
		if (fd >= 0)
			close(fd);
		d->path[0] = '\0';
		tsarc_cleanup_release();
	}
	tsarc_cleanup_remove(&d->cleanup);
	return tsarc_error_set(TSARC_EIO, "cannot make a private folder in %s: %s", tmp,
		strerror(err));
}

int tsarc_privdir_child(tsarc_privdir *d, pid_t pid)
{
	char text[32];
	int fd, n, rc = 0;

	if (d->fd < 0)
		return tsarc_error_set(TSARC_EINVAL, "no private folder");
	n = snprintf(text, sizeof(text), "%ld\n", (long)pid);
	fd = openat(d->fd, CHILD_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || tsarc_write_all(fd, text, (size_t)n) != 0)
		rc = tsarc_error_set(TSARC_EIO, "cannot write %s/%s: %s", d->path, CHILD_FILE,
			strerror(errno));
	if (fd >= 0 && close(fd) != 0 && !rc)
		rc = tsarc_error_set(TSARC_EIO, "cannot write %s/%s", d->path, CHILD_FILE);
	return rc;
}

int tsarc_privdir_remove(tsarc_privdir *d)
{
	return tsarc_cleanup_run(&d->cleanup);
}

/* The child a dead owner recorded, killed if it still works in the
 * folder `fd` (its working directory is that folder: a pid reused by
 * another process is left alone). */
static void stop_child(int fd)
{
	char text[32], proc[64];
	struct stat dir, cwd;
	ssize_t n;
	long pid;
	char *end;
	int cf = openat(fd, CHILD_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (cf < 0)
		return;
	n = read(cf, text, sizeof(text) - 1);
	close(cf);
	if (n <= 0)
		return;
	text[n] = '\0';
	pid = strtol(text, &end, 10);
	if (pid <= 1 || (*end && *end != '\n'))
		return;
	snprintf(proc, sizeof(proc), "/proc/%ld/cwd", pid);
	if (fstat(fd, &dir) == 0 && stat(proc, &cwd) == 0 && dir.st_dev == cwd.st_dev &&
		dir.st_ino == cwd.st_ino)
		kill((pid_t)pid, SIGKILL);
}

static int known_prefix(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(PREFIXES) / sizeof(*PREFIXES); i++)
		if (!strncmp(name, PREFIXES[i], strlen(PREFIXES[i])))
			return 1;
	return 0;
}

int tsarc_privdir_sweep(void)
{
	DIR *top = opendir(tsarc_tmp_dir());
	struct dirent *e;
	struct stat st;
	int removed = 0;

	if (!top)
		return 0;
	while ((e = readdir(top))) {
		int fd;
		if (!known_prefix(e->d_name))
			continue;
		fd = openat(dirfd(top), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Ours to remove: this user's, and no living owner holds it. */
		if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
			flock(fd, LOCK_EX | LOCK_NB) == 0) {
			stop_child(fd);
			if (clear_dir(fd) == 0 && unlinkat(dirfd(top), e->d_name, AT_REMOVEDIR) == 0)
				removed++;
		}
		close(fd);
	}
	closedir(top);
	return removed;
}
