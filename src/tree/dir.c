#define _GNU_SOURCE /* O_NOFOLLOW, O_DIRECTORY */
/*
 * Folder operations of a tree restore that never follow a symlink: the
 * trees they work on were made from an archive, and a link in them must
 * not take a removal elsewhere (listing a folder open on a descriptor:
 * tsarc_list_folder, fileio.h). Removal keeps one folder open at a time,
 * whatever the depth.
 */
#include "internal.h"
#include "tsarc/errors.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One folder on the way down while removing a tree. */
typedef struct rm_level {
	char **subdirs; /* the folders in it, removed one after the other */
	size_t n, next;
	dev_t dev;      /* the folder itself: the way back up through ".." */
	ino_t ino;      /* must lead to it again */
} rm_level;

static void rm_level_free(rm_level *l)
{
	while (l->n)
		free(l->subdirs[--l->n]);
	free(l->subdirs);
}

/* Deletes everything in the folder but its subfolders, which it lists. */
static int rm_scan(int fd, rm_level *l)
{
	struct stat sb;
	struct dirent *de;
	DIR *d;
	int dfd = dup(fd), rc = 0;

	memset(l, 0, sizeof(*l));
	if (fstat(fd, &sb) != 0 || dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	l->dev = sb.st_dev;
	l->ino = sb.st_ino;
	while (!rc && (de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = errno == ENOENT ? 0 : -1;
		} else if (!S_ISDIR(sb.st_mode)) {
			rc = unlinkat(fd, de->d_name, 0);
		} else {
			char **grown = realloc(l->subdirs, (l->n + 1) * sizeof(*l->subdirs));
			if (!grown || !(grown[l->n] = strdup(de->d_name))) {
				if (grown)
					l->subdirs = grown;
				rc = -1;
			} else {
				l->subdirs = grown;
				l->n++;
			}
		}
	}
	closedir(d);
	if (rc)
		rm_level_free(l);
	return rc;
}

/*
 * rm -rf of parent/name without following symlinks. One folder is open at
 * a time, whatever the depth: an archive can nest folders deeper than the
 * open-file limit, and a tree we could not delete would make every later
 * restore into the same place fail. The way back up is "..", checked to be
 * the folder we came down from.
 */
int tsarc__tree_remove_at(int parent, const char *name)
{
	rm_level *stack = NULL;
	size_t depth = 0, cap = 0;
	struct stat sb;
	int fd, rc = 0;

	if (fstatat(parent, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(sb.st_mode))
		return unlinkat(parent, name, 0);
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	while (fd >= 0 && !rc) {
		rm_level *top;
		if (depth == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			rm_level *grown = realloc(stack, ncap * sizeof(*stack));
			if (!grown) {
				rc = -1;
				break;
			}
			stack = grown;
			cap = ncap;
		}
		if (rm_scan(fd, &stack[depth]) != 0) {
			rc = -1;
			break;
		}
		depth++;
		/* Down into the next subfolder left, or, none left, back up. */
		for (;;) {
			int next;
			top = &stack[depth - 1];
			if (top->next < top->n) {
				next = openat(fd, top->subdirs[top->next],
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (next < 0)
					rc = -1;
				close(fd);
				fd = next;
				break;
			}
			rm_level_free(top);
			if (--depth == 0)
				break;
			next = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			close(fd);
			fd = next;
			top = &stack[depth - 1];
			if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_dev != top->dev ||
				sb.st_ino != top->ino ||
				unlinkat(fd, top->subdirs[top->next], AT_REMOVEDIR) != 0) {
				rc = -1;
				break;
			}
			top->next++;
		}
		if (depth == 0)
			break;
	}
	if (fd >= 0)
		close(fd);
	else
		rc = -1;
	while (depth)
		rm_level_free(&stack[--depth]);
	free(stack);
	if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) != 0)
		rc = -1;
	return rc;
}

