#define _GNU_SOURCE /* O_NOFOLLOW, O_DIRECTORY */
/*
 * A tsarc repository anywhere in a restore's target folder. The restore
 * moves every old top-level entry aside and deletes it, or replaces it
 * with the snapshot's entry of that name: a folder repository inside
 * (the operator's own repository of that host, one restored from a copy,
 * the one another restore reads) would be gone, every snapshot in it. The
 * restore refuses such a target, the plan first (tree_restore.h).
 *
 * A folder is a repository by the repository's own rules, not by its
 * names: a regular file "config" and, in "keys", a file whose name is the
 * SHA-256 of its content and whose content is a key file
 * (tsarc_repo_verify_key_file, which runs no scrypt). 3scale's files
 * that only bear such names (a "config", a "keys" folder) are no
 * repository. Symlinks are never followed (a restore removes the link,
 * not what it names). One folder is open at a time, whatever the depth,
 * as dir.c's removal does.
 */
#include "internal.h"
#include "fileio.h"
#include "repo.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The key files looked at in one "keys" folder: one that verifies is
 * enough, and a folder of thousands is not read whole. */
#define KEYS_TRIED 64

static int hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 64;
}

/* 1 when the file `name` in the folder kfd is a key file of a repository:
 * its name the SHA-256 of its bytes, its fields a key file's. */
static int key_file(int kfd, const char *name, char *buf)
{
	struct stat sb;
	ssize_t n;
	size_t len = 0;
	int fd = openat(kfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > TSARC_KEY_FILE_MAX) {
		close(fd);
		return 0;
	}
	while (len < TSARC_KEY_FILE_MAX && (n = read(fd, buf + len, TSARC_KEY_FILE_MAX - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return 0;
		}
		len += (size_t)n;
	}
	close(fd);
	if (tsarc_repo_verify_key_file((const uint8_t *)buf, len, name) == 0)
		return 1;
	tsarc_error_clear();
	return 0;
}

/* 1 when the folder open on fd is a tsarc repository, 0 when not, or an
 * error when it has a "config" and a "keys" folder that cannot be read
 * (it cannot be told apart from one). */
static int is_repository(int fd)
{
	struct stat sb;
	char **names = NULL, *buf;
	size_t n = 0, i, tried = 0;
	int kfd, rc = 0;

	if (fstatat(fd, "config", &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	if ((kfd = openat(fd, "keys", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 :
			tsarc_error_set(tsarc_errno_code(errno), "keys: %s", strerror(errno));
	if ((rc = tsarc_list_folder(kfd, &names, &n))) {
		close(kfd);
		return rc;
	}
	if (!(buf = malloc(TSARC_KEY_FILE_MAX))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < n && tried < KEYS_TRIED && !rc; i++)
		if (hex64(names[i]) && (tried++, key_file(kfd, names[i], buf)))
			rc = 1;
done:
	free(buf);
	tsarc_list_folder_free(names, n);
	close(kfd);
	return rc;
}

/* One folder on the way down. */
typedef struct level {
	char **subdirs; /* its folders (no symlinks), visited one after the other */
	size_t n, next;
	dev_t dev;      /* the folder itself: the way back up through ".." */
	ino_t ino;      /* must lead to it again */
} level;

static void level_free(level *l)
{
	tsarc_list_folder_free(l->subdirs, l->n);
	l->subdirs = NULL;
	l->n = 0;
}

/* The folders in the folder open on fd. At the top of a target (`top`),
 * a staging folder of an interrupted restore is left out: it holds the
 * new tree tsarc itself put there, which the next restore deletes (or
 * swaps in). An old-tree folder is looked into: it may be one a swap
 * kept because a repository was made in the target during the restore
 * (swap.c, keep_old_tree), and a restore into the folder is refused
 * while it holds one; otherwise it holds the old tree of an interrupted
 * swap, which was the target's. */
static int level_fill(int fd, level *l, int top)
{
	struct stat sb;
	size_t i, kept = 0;
	int rc;

	memset(l, 0, sizeof(*l));
	if (fstat(fd, &sb) != 0)
		return tsarc_error_set(tsarc_errno_code(errno), "%s", strerror(errno));
	l->dev = sb.st_dev;
	l->ino = sb.st_ino;
	if ((rc = tsarc_list_folder(fd, &l->subdirs, &l->n)))
		return rc;
	for (i = 0; i < l->n; i++) {
		char *name = l->subdirs[i];
		if ((top && !strncmp(name, TSARC_TREE_STAGING_PREFIX, strlen(TSARC_TREE_STAGING_PREFIX)) &&
			tsarc_tree_swap_folder_name(name)) ||
			fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode))
			free(name);
		else
			l->subdirs[kept++] = name;
	}
	l->n = kept;
	return 0;
}

/* "a/b/c": the folder the walk is in, below the target (NULL: no memory). */
static char *where(const level *stack, size_t depth)
{
	size_t i, len = 2;
	char *p;

	for (i = 0; i < depth; i++)
		len += strlen(stack[i].subdirs[stack[i].next]) + 1;
	if (!(p = malloc(len)))
		return NULL;
	p[0] = '\0';
	for (i = 0; i < depth; i++) {
		if (i)
			strcat(p, "/");
		strcat(p, stack[i].subdirs[stack[i].next]);
	}
	if (!depth)
		strcpy(p, ".");
	return p;
}

/* The walk from the folder open on fd (closed here), `dir` its name in
 * messages; `target`: the top is a restore's target (level_fill). */
static int find_in(int fd, const char *dir, int target, char **found)
{
	level *stack = NULL;
	size_t depth = 0, cap = 0;
	struct stat sb;
	char *at;
	int rc = 0;

	for (;;) {
		/* The folder just entered: a repository? Then its subfolders. */
		if ((rc = is_repository(fd)) == 1) {
			rc = (*found = where(stack, depth)) ? 1 :
				tsarc_error_set(TSARC_ENOMEM, "out of memory");
			break;
		}
		if (depth == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			level *grown = realloc(stack, ncap * sizeof(*stack));
			if (!grown) {
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
				break;
			}
			stack = grown;
			cap = ncap;
		}
		if (!rc && (rc = level_fill(fd, &stack[depth], target && depth == 0)) == 0)
			depth++;
		if (rc)
			break;
		/* Down into the next subfolder left, or, none left, back up. */
		for (;;) {
			level *top = &stack[depth - 1];
			int next;
			if (top->next < top->n) {
				next = openat(fd, top->subdirs[top->next],
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (next < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)) {
					top->next++; /* gone, or no folder any more */
					continue;
				}
				if (next < 0) {
					rc = tsarc_error_set(tsarc_errno_code(errno), "%s",
						strerror(errno));
					break;
				}
				close(fd);
				fd = next;
				break;
			}
			level_free(top);
			if (--depth == 0)
				break;
			next = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			close(fd);
			fd = next;
			top = &stack[depth - 1];
			if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_dev != top->dev ||
				sb.st_ino != top->ino) {
				rc = tsarc_error_set(TSARC_EIO, "a folder moved while it was looked into");
				break;
			}
			top->next++;
		}
		if (rc || depth == 0)
			break;
	}
	if (rc < 0) {
		/* Every level below `depth` points at the folder on the way. */
		at = where(stack, depth);
		tsarc_error_prefix("cannot look into %s/%s for a tsarc repository", dir,
			at ? at : "...");
		free(at);
	}
	if (fd >= 0)
		close(fd);
	while (depth)
		level_free(&stack[--depth]);
	free(stack);
	return rc;
}

int tsarc__tree_find_repository(const char *dir, char **found)
{
	int fd;

	*found = NULL;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : tsarc_error_set(tsarc_errno_code(errno),
			"cannot look into %s for a tsarc repository: %s", dir, strerror(errno));
	return find_in(fd, dir, 1, found);
}

int tsarc__tree_find_repository_at(int parent, const char *name, const char *label,
	char **found)
{
	int fd;

	*found = NULL;
	if ((fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : tsarc_error_set(tsarc_errno_code(errno),
			"cannot look into %s for a tsarc repository: %s", label, strerror(errno));
	return find_in(fd, label, 0, found);
}
