/* A system-storage backup is a tar that whoever could write to the store
 * (or to the tree when it was backed up) shaped. Restoring any tar must
 * leave everything beside the target untouched: no entry, link or
 * rename may land outside it, and no symlink left in it may lead out.
 * tree_restore does all its work in-process (libarchive into a staging
 * folder, then renames), so the whole of tsarc_tree_restore_fd is fuzzed,
 * the swap into place included. The check a kube restore runs before it
 * streams the tar into a pod (tsarc_tree_check_fd) must agree: it takes
 * every archive the restore takes, refuses every one the restore refuses
 * as unsafe, and leaves no scratch folder behind. What the pod is sent
 * instead of the archive (tsarc_tree_rewrite_fd) must agree too: an
 * archive the check takes is rewritten, and the rewrite is itself taken
 * by the check with the same entries (plus the completion entry). */
#define _GNU_SOURCE /* memfd_create, renameat2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tree_restore.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Restores run with 1024 descriptors or fewer (the usual soft limit); far
 * fewer here makes a tree nested deeper than the limit cheap to build. */
#define FD_LIMIT 64

/* Written into the parent folder once; any restore that reaches it
 * changes its content, size, time or link count. */
static const char VICTIM_TEXT[] = "not for the archive to touch\n";
static const char OLD_TEXT[] = "was here before the restore\n";

/* The per-process parent: target/ (made fresh per input), outside/
 * (stays empty) and victim (stays as written). */
static char parent[PATH_MAX];
static char target[PATH_MAX + 16];
static char target_real[PATH_MAX];
static struct stat victim_before;
static int input_fd = -1;

/* Empties the folder `dfd` without holding a descriptor per level: a
 * hostile archive may nest folders deeper than the open-file limit, and
 * the paths deeper than PATH_MAX. Subfolders are emptied by moving their
 * entries up into `dfd` under fresh names, until nothing is left. */
static void empty_dir(int dfd)
{
	unsigned long fresh = 0;
	int seen = 1;

	while (seen) {
		int progress = 0, fd = dup(dfd);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;

		if (!d)
			abort();
		/* The copy shares the offset the last pass left at the end. */
		rewinddir(d);
		seen = 0;
		while ((de = readdir(d)) != NULL) {
			struct stat sb;
			DIR *sub;
			struct dirent *se;
			int sfd;

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			seen = 1;
			if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			if (!S_ISDIR(sb.st_mode)) {
				progress += unlinkat(dfd, de->d_name, 0) == 0;
				continue;
			}
			if (unlinkat(dfd, de->d_name, AT_REMOVEDIR) == 0) {
				progress++;
				continue;
			}
			/* The archive may have left it read-only or unsearchable. */
			fchmodat(dfd, de->d_name, 0700, 0);
			sfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd < 0 || !(sub = fdopendir(sfd))) {
				if (sfd >= 0)
					close(sfd);
				continue;
			}
			while ((se = readdir(sub)) != NULL) {
				char name[32];
				if (!strcmp(se->d_name, ".") || !strcmp(se->d_name, ".."))
					continue;
				for (;;) {
					snprintf(name, sizeof(name), ".hoisted-%lu", fresh++);
					if (renameat2(sfd, se->d_name, dfd, name, RENAME_NOREPLACE) == 0) {
						progress++;
						break;
					}
					if (errno != EEXIST)
						break;
				}
			}
			closedir(sub);
		}
		closedir(d);
		if (seen && !progress)
			abort(); /* something we cannot remove: the run would leave files */
	}
}

static void remove_parent(void)
{
	int fd = open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		empty_dir(fd);
		close(fd);
	}
	rmdir(parent);
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) != 0)
		abort();
}

static void setup_once(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX + 32];
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > FD_LIMIT) {
		rl.rlim_cur = FD_LIMIT;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* mkdtemp's template: it replaces the six X. */
	snprintf(parent, sizeof(parent), "%s/tsarc-fuzz-tar.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(parent))
		abort();
	atexit(remove_parent);
	snprintf(target, sizeof(target), "%s/target", parent);
	snprintf(path, sizeof(path), "%s/outside", parent);
	if (mkdir(path, 0755) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/victim", parent);
	write_file(path, VICTIM_TEXT);
	if (lstat(path, &victim_before) != 0)
		abort();
	/* The pod-side check's scratch folders go here, where no other
	 * process (another fuzzer, a ctest replay) makes any. */
	snprintf(path, sizeof(path), "%s/scratch", parent);
	if (mkdir(path, 0700) != 0 || setenv("TMPDIR", path, 1) != 0)
		abort();
	if ((input_fd = memfd_create("fuzz-tar", MFD_CLOEXEC)) < 0)
		abort();
}

/* A target with something in it: the restore deletes what the archive
 * does not have, and a symlink out of the tree must be deleted, never
 * followed. */
static void make_target(void)
{
	char path[PATH_MAX + 32];

	if (mkdir(target, 0755) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/old-file", target);
	write_file(path, OLD_TEXT);
	snprintf(path, sizeof(path), "%s/old-dir", target);
	if (mkdir(path, 0755) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/old-dir/file", target);
	write_file(path, OLD_TEXT);
	snprintf(path, sizeof(path), "%s/escape", target);
	if (symlink("../outside", path) != 0)
		abort();
	if (!realpath(target, target_real))
		abort();
}

static size_t count_entries(const char *dir, const char *const expect[])
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0, i;

	if (!d)
		abort();
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		for (i = 0; expect[i] && strcmp(expect[i], de->d_name); i++)
			;
		if (!expect[i])
			abort(); /* something appeared beside the target */
		n++;
	}
	closedir(d);
	return n;
}

static void check_outside_untouched(void)
{
	static const char *const in_parent[] = {"target", "outside", "victim", "scratch", NULL};
	static const char *const none[] = {NULL};
	char path[PATH_MAX + 32];
	struct stat sb;
	char text[sizeof(VICTIM_TEXT)];
	int fd;

	count_entries(parent, in_parent);
	snprintf(path, sizeof(path), "%s/outside", parent);
	if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		abort();
	count_entries(path, none);
	snprintf(path, sizeof(path), "%s/victim", parent);
	if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_ino != victim_before.st_ino ||
		sb.st_nlink != 1 || sb.st_size != victim_before.st_size ||
		sb.st_mtim.tv_sec != victim_before.st_mtim.tv_sec ||
		sb.st_mtim.tv_nsec != victim_before.st_mtim.tv_nsec)
		abort();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, text, sizeof(text)) != (ssize_t)strlen(VICTIM_TEXT) ||
		memcmp(text, VICTIM_TEXT, strlen(VICTIM_TEXT)) != 0)
		abort();
	close(fd);
	if (lstat(target, &sb) != 0 || !S_ISDIR(sb.st_mode))
		abort();
}

/* A symlink whose own target stays in the tree may still lead out
 * through another symlink of the archive: resolve each one for real. */
static int symlink_stays_inside(const char *fpath, const struct stat *sb, int type,
	struct FTW *ftw)
{
	char real[PATH_MAX];
	size_t len = strlen(target_real);

	(void)sb;
	(void)ftw;
	if (type != FTW_SL || !realpath(fpath, real))
		return 0; /* not a symlink, or it leads nowhere */
	if (strncmp(real, target_real, len) || (real[len] != '/' && real[len] != '\0'))
		abort();
	return 0;
}

/* A failed restore leaves the target as it was. */
static void check_target_as_before(void)
{
	static const char *const before[] = {"old-file", "old-dir", "escape", NULL};
	char path[PATH_MAX + 32], text[sizeof(OLD_TEXT)];
	int fd;

	if (count_entries(target, before) != 3)
		abort();
	snprintf(path, sizeof(path), "%s/old-file", target);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || read(fd, text, sizeof(text)) != (ssize_t)strlen(OLD_TEXT) ||
		memcmp(text, OLD_TEXT, strlen(OLD_TEXT)) != 0)
		abort();
	close(fd);
}

/* The rewrite of an archive the check took: taken again, same entries. */
static void check_rewrite(uint64_t entries)
{
	uint64_t sent, skipped, again;
	int out = memfd_create("rewrite", MFD_CLOEXEC);

	if (out < 0 || lseek(input_fd, 0, SEEK_SET) != 0)
		abort();
	if (tsarc_tree_rewrite_fd(input_fd, out, ".tsarc-complete-0", NULL, &sent,
		    &skipped) != 0 ||
		sent != entries)
		abort();
	if (lseek(out, 0, SEEK_SET) != 0 || tsarc_tree_check_fd(out, &again) != 0 ||
		again != entries + 1)
		abort();
	close(out);
}

static void check_agrees(int restore_rc)
{
	static const char *const none[] = {NULL};
	const char *tmp = getenv("TMPDIR"); /* parent/scratch, set by setup_once */
	uint64_t entries;
	int rc;

	if (lseek(input_fd, 0, SEEK_SET) != 0)
		abort();
	rc = tsarc_tree_check_fd(input_fd, &entries);
	if ((restore_rc == 0 && rc != 0) || (restore_rc == TSARC_EUNSAFE && rc == 0))
		abort(); /* the pod would get what the local restore refuses, or the reverse */
	count_entries(tmp, none); /* a scratch folder left behind aborts */
	if (rc == 0)
		check_rewrite(entries);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsarc_tree_restore_options opts;
	tsarc_tree_restore_result res;
	const tsarc_error *e;
	int rc, tfd;

	if (input_fd < 0)
		setup_once();
	if (ftruncate(input_fd, 0) != 0 ||
		(size && pwrite(input_fd, data, size, 0) != (ssize_t)size) ||
		lseek(input_fd, 0, SEEK_SET) != 0)
		abort();
	make_target();
	memset(&opts, 0, sizeof(opts));
	rc = tsarc_tree_restore_fd(target, input_fd, &opts, &res);
	e = tsarc_error_last();
	if (rc && (e->code != rc || !e->message || !e->message[0]))
		abort(); /* every refusal says why */
	/* An archive may leave its folders unreadable; a walk needs them open. */
	chmod(target, 0700);
	check_outside_untouched();
	if (rc)
		check_target_as_before();
	else
		nftw(target, symlink_stays_inside, 16, FTW_PHYS);
	check_agrees(rc);
	tfd = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		abort();
	empty_dir(tfd);
	close(tfd);
	if (rmdir(target) != 0)
		abort();
	return 0;
}
