#define _GNU_SOURCE /* O_NOFOLLOW, O_DIRECTORY, renameat */
#include "tree_restore.h"
#include "crypto.h"
#include "log.h"
#include "error_save.h"
#include "extract.h"
#include "fileio.h"
#include "tsarc/errors.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAGING_PREFIX ".tsarc-restore-"
#define PATH_MAX_LEN 4096

/* Walks the path's components; returns the depth below the root it ends
 * at, or -1 when it climbs above the root at any point. `base_depth` is
 * where a relative walk starts (a symlink's folder). */
static int walk_depth(const char *path, int base_depth)
{
	int depth = base_depth;
	const char *p = path;

	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return -1;
		} else if (!(len == 0 || (len == 1 && p[0] == '.'))) {
			depth++;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	return depth;
}

static int has_dotdot(const char *path)
{
	const char *p = path;

	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += len;
		if (*p == '/')
			p++;
	}
	return 0;
}

int tsarc_tree_entry_safe(const char *name, const char *link_target, int is_symlink)
{
	int depth;

	if (!name || !*name)
		return tsarc_error_set(TSARC_EUNSAFE, "refusing a tar entry with no name");
	if (name[0] == '/')
		return tsarc_error_set(TSARC_EUNSAFE, "refusing tar entry '%s': absolute path", name);
	if (has_dotdot(name))
		return tsarc_error_set(TSARC_EUNSAFE, "refusing tar entry '%s': '..' in the path", name);
	if (!link_target)
		return 0;
	if (!*link_target || link_target[0] == '/')
		return tsarc_error_set(TSARC_EUNSAFE,
			"refusing tar entry '%s': link to '%s' points outside the tree", name,
			link_target);
	if (!is_symlink) {
		/* Hard links name another entry of the archive. */
		if (has_dotdot(link_target))
			return tsarc_error_set(TSARC_EUNSAFE,
				"refusing tar entry '%s': hard link to '%s' outside the tree", name,
				link_target);
		return 0;
	}
	/* A symlink resolves from its own folder. */
	depth = walk_depth(name, 0);
	if (depth > 0)
		depth--;
	if (walk_depth(link_target, depth) < 0)
		return tsarc_error_set(TSARC_EUNSAFE,
			"refusing tar entry '%s': symlink to '%s' points outside the tree", name,
			link_target);
	return 0;
}

static const char *strip_dot_slash(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	return p;
}

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
static int remove_tree_at(int parent, const char *name)
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

/* Folder attributes are applied last: writing entries into a folder
 * changes its time, and a read-only mode would stop them. */
typedef struct dir_fixup {
	char *path;
	mode_t mode;
	struct timespec times[2];
	uid_t uid;
	gid_t gid;
	int has_owner;
} dir_fixup;

/* The archive's own "." entry: applied to the target folder last, as
 * rsync -a does, once nothing else will touch its time. */
typedef struct root_attrs {
	int present;
	mode_t mode;
	struct timespec times[2];
	uid_t uid;
	gid_t gid;
} root_attrs;

typedef struct stager {
	int root; /* the staging folder */
	root_attrs *top;
	const tsarc_tree_restore_options *o;
	dir_fixup *dirs;
	size_t ndirs, cap;
	char **links; /* symlink and hard link entries, checked at the end */
	size_t nlinks, links_cap;
	int skeleton; /* folders, links and empty files only: a check, not a restore */
} stager;

/*
 * Opens the folder that will hold `path`'s last component, walking from
 * the staging root one component at a time with O_NOFOLLOW, so that no
 * symlink created by the archive can ever be written through. Missing
 * folders are created. Returns the fd and points *leaf at the last name.
 */
static int open_parent(stager *s, const char *path, const char **leaf)
{
	char comp[256];
	const char *p = path, *slash;
	int fd = dup(s->root), next;

	while (fd >= 0 && (slash = strchr(p, '/')) != NULL) {
		size_t len = (size_t)(slash - p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			p = slash + 1;
			continue;
		}
		if (len >= sizeof(comp)) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (mkdirat(fd, comp, 0700) != 0 && errno != EEXIST) {
			close(fd);
			return -1;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		p = slash + 1;
	}
	*leaf = p;
	return fd;
}

static void entry_times(struct archive_entry *e, struct timespec t[2])
{
	t[0].tv_sec = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e);
	t[0].tv_nsec = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e) : archive_entry_mtime_nsec(e);
	t[1].tv_sec = archive_entry_mtime(e);
	t[1].tv_nsec = archive_entry_mtime_nsec(e);
}

static int all_zero(const char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

#define HOLE_BLOCK 4096

/*
 * Writes `size` bytes at `offset`, skipping the 4 KiB-aligned pieces that
 * are all zeros: the file is new (they read as zeros), whole blocks of
 * zeros stay holes (a buffer's edge may cut one: its pieces are zeros
 * too, so it is never written either), and the
 * final ftruncate gives it its length, so a sparse file comes back
 * sparse whether the archive recorded its holes or stored them as zeros.
 */
static int pwrite_holes(int fd, const char *buf, size_t size, off_t offset, uint64_t *bytes)
{
	while (size > 0) {
		size_t run = 0;
		int zero;
		/* One block (to the next 4 KiB boundary), then more of its kind. */
		size_t blk = HOLE_BLOCK - (size_t)(offset % HOLE_BLOCK);
		if (blk > size)
			blk = size;
		zero = all_zero(buf, blk);
		run = blk;
		while (run < size) {
			size_t next = size - run < HOLE_BLOCK ? size - run : HOLE_BLOCK;
			if (all_zero(buf + run, next) != zero)
				break;
			run += next;
		}
		if (!zero) {
			size_t done = 0;
			while (done < run) {
				ssize_t n = pwrite(fd, buf + done, run - done, offset + (off_t)done);
				if (n < 0) {
					if (errno == EINTR)
						continue;
					return tsarc_error_set(TSARC_EIO, "writing: %s", strerror(errno));
				}
				done += (size_t)n;
			}
		}
		*bytes += run;
		buf += run;
		size -= run;
		offset += (off_t)run;
	}
	return 0;
}

static int write_file_data(struct archive *in, int fd, uint64_t *bytes)
{
	const void *buf;
	size_t size;
	la_int64_t offset;
	int r, rc;

	for (;;) {
		r = archive_read_data_block(in, &buf, &size, &offset);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return tsarc_error_set(TSARC_ECORRUPT, "reading the tar stream: %s",
				archive_error_string(in));
		if ((rc = pwrite_holes(fd, buf, size, (off_t)offset, bytes)))
			return rc;
	}
}

static int stage_entry(stager *s, struct archive *in, struct archive_entry *e,
	const char *name, const char *hard, tsarc_tree_restore_result *res)
{
	const char *leaf;
	struct timespec t[2];
	mode_t type = archive_entry_filetype(e), perm = archive_entry_perm(e) & 07777;
	int dfd = open_parent(s, name, &leaf), fd, rc = 0;

	if (dfd < 0)
		return tsarc_error_set(errno == ELOOP || errno == ENOTDIR ? TSARC_EUNSAFE : TSARC_EIO,
			"cannot restore '%s': %s", name, strerror(errno));
	entry_times(e, t);
	if (hard) {
		const char *hleaf;
		int hfd = open_parent(s, hard, &hleaf);
		if (hfd < 0 || linkat(hfd, hleaf, dfd, leaf, 0) != 0)
			rc = tsarc_error_set(TSARC_EUNSAFE, "cannot restore hard link '%s' to '%s': %s",
				name, hard, strerror(errno));
		if (hfd >= 0)
			close(hfd);
	} else if (type == AE_IFDIR) {
		dir_fixup *d;
		if (mkdirat(dfd, leaf, 0700) != 0 && errno != EEXIST)
			rc = tsarc_error_set(TSARC_EIO, "cannot create '%s': %s", name, strerror(errno));
		else if (s->ndirs == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;
			void *grown = realloc(s->dirs, cap * sizeof(*s->dirs));
			if (!grown)
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			else {
				s->dirs = grown;
				s->cap = cap;
			}
		}
		if (!rc) {
			d = &s->dirs[s->ndirs];
			if (!(d->path = strdup(name)))
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			else {
				d->mode = perm;
				d->times[0] = t[0];
				d->times[1] = t[1];
				d->uid = (uid_t)archive_entry_uid(e);
				d->gid = (gid_t)archive_entry_gid(e);
				d->has_owner = s->o->restore_owner;
				s->ndirs++;
			}
		}
	} else if (type == AE_IFLNK) {
		const char *to = archive_entry_symlink(e);
		/* An empty link name reads as none: the text checks had nothing
		 * to look at, and symlinkat must not be handed NULL. */
		if (!to)
			rc = tsarc_error_set(TSARC_ECORRUPT, "tar entry '%s' is a symlink to nothing", name);
		else if (symlinkat(to, dfd, leaf) != 0)
			rc = tsarc_error_set(TSARC_EIO, "cannot create symlink '%s': %s", name, strerror(errno));
		else {
			if (s->o->restore_owner)
				fchownat(dfd, leaf, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
					AT_SYMLINK_NOFOLLOW);
			utimensat(dfd, leaf, t, AT_SYMLINK_NOFOLLOW);
		}
	} else {
		/* O_EXCL: a second entry of the same name in a hostile archive
		 * must not open whatever the first one became. */
		fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST && unlinkat(dfd, leaf, 0) == 0)
			fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			rc = tsarc_error_set(TSARC_EIO, "cannot create '%s': %s", name, strerror(errno));
		} else if (s->skeleton) {
			if (archive_read_data_skip(in) < ARCHIVE_WARN)
				rc = tsarc_error_set(TSARC_ECORRUPT, "reading the tar stream: %s",
					archive_error_string(in));
			res->bytes += (uint64_t)archive_entry_size(e);
			close(fd);
		} else {
			rc = write_file_data(in, fd, &res->bytes);
			if (!rc && ftruncate(fd, (off_t)archive_entry_size(e)) != 0)
				rc = tsarc_error_set(TSARC_EIO, "writing '%s': %s", name, strerror(errno));
			if (!rc && s->o->restore_owner &&
				fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) != 0)
				rc = tsarc_error_set(TSARC_EACCESS, "cannot set the owner of '%s': %s", name,
					strerror(errno));
			/* After chown, which clears set-id bits. */
			if (!rc && (fchmod(fd, perm) != 0 || futimens(fd, t) != 0))
				rc = tsarc_error_set(TSARC_EIO, "setting attributes of '%s': %s", name,
					strerror(errno));
			if (close(fd) != 0 && !rc)
				rc = tsarc_error_set(TSARC_EIO, "writing '%s': %s", name, strerror(errno));
		}
	}
	close(dfd);
	return rc;
}

/* The kernel follows at most this many symlinks in one lookup (Linux's
 * MAXSYMLINKS), then fails with ELOOP. */
#define LINK_HOPS_MAX 40

/*
 * Walks `path` from the staging root as the kernel would, following every
 * symlink the archive made, and says whether the walk climbs above the
 * root: 1 if it does (or if it cannot tell), 0 if not, TSARC_ENOMEM. Each
 * link was checked on its own text, but "d/l -> .." and "x -> d/l/.." only
 * leave the tree together, and a hard link to a symlink is the same link
 * text in another folder. A name that does not exist is walked as a plain
 * folder, as the check on the text does.
 */
static int leads_outside(int root, const char *path)
{
	char cur[PATH_MAX_LEN], target[PATH_MAX_LEN];
	size_t curlen = 0;
	char *rest = strdup(path), *p = rest;
	int hops = 0;

	if (!rest)
		return TSARC_ENOMEM;
	cur[0] = '\0';
	while (*p) {
		const char *comp = p;
		size_t len = strcspn(p, "/"), base = curlen, tail;
		struct stat sb;
		char *joined;
		ssize_t n;

		p += len;
		if (*p == '/')
			p++;
		if (len == 0 || (len == 1 && comp[0] == '.'))
			continue;
		if (len == 2 && comp[0] == '.' && comp[1] == '.') {
			char *slash = strrchr(cur, '/');
			if (!curlen)
				goto outside;
			curlen = slash ? (size_t)(slash - cur) : 0;
			cur[curlen] = '\0';
			continue;
		}
		if (curlen + 1 + len >= sizeof(cur))
			goto outside; /* longer than any path the kernel walks */
		if (curlen)
			cur[curlen++] = '/';
		memcpy(cur + curlen, comp, len);
		curlen += len;
		cur[curlen] = '\0';
		/* Every name before the last one in `cur` is a real folder (or
		 * missing): no symlink is followed on the way to it. */
		if (fstatat(root, cur, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT && errno != ENOTDIR)
				goto outside;
			continue;
		}
		if (!S_ISLNK(sb.st_mode))
			continue;
		if (++hops > LINK_HOPS_MAX)
			break; /* the kernel gives up here too: it leads nowhere */
		n = readlinkat(root, cur, target, sizeof(target) - 1);
		if (n <= 0 || target[0] == '/')
			goto outside;
		/* The link's folder, then the link's text, then what was left. */
		curlen = base;
		cur[curlen] = '\0';
		tail = strlen(p);
		if (!(joined = malloc((size_t)n + 1 + tail + 1))) {
			free(rest);
			return TSARC_ENOMEM;
		}
		memcpy(joined, target, (size_t)n);
		joined[n] = '/';
		memcpy(joined + n + 1, p, tail + 1);
		free(rest);
		rest = p = joined;
	}
	free(rest);
	return 0;
outside:
	free(rest);
	return 1;
}

static int check_links(stager *s)
{
	size_t i;

	for (i = 0; i < s->nlinks; i++) {
		int r = leads_outside(s->root, s->links[i]);
		if (r < 0)
			return tsarc_error_set(r, "out of memory");
		if (r)
			return tsarc_error_set(TSARC_EUNSAFE, "refusing tar entry '%s': it leads "
				"outside the tree through another link of the archive", s->links[i]);
	}
	return 0;
}

static int remember_link(stager *s, const char *name)
{
	if (s->nlinks == s->links_cap) {
		size_t cap = s->links_cap ? s->links_cap * 2 : 16;
		char **grown = realloc(s->links, cap * sizeof(*s->links));
		if (!grown)
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		s->links = grown;
		s->links_cap = cap;
	}
	if (!(s->links[s->nlinks] = strdup(name)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	s->nlinks++;
	return 0;
}

static int fix_dirs(stager *s)
{
	size_t i;
	int rc = 0;

	/* Deepest first, so a parent's time is set after its children's. */
	for (i = s->ndirs; i-- > 0;) {
		dir_fixup *d = &s->dirs[i];
		const char *leaf;
		int dfd = open_parent(s, d->path, &leaf);
		if (dfd < 0)
			continue;
		if (d->has_owner && fchownat(dfd, leaf, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) != 0 && !rc)
			rc = tsarc_error_set(TSARC_EACCESS, "cannot set the owner of '%s': %s", d->path,
				strerror(errno));
		if ((fchmodat(dfd, leaf, d->mode, 0) != 0 ||
			    utimensat(dfd, leaf, d->times, AT_SYMLINK_NOFOLLOW) != 0) && !rc)
			rc = tsarc_error_set(TSARC_EIO, "setting attributes of '%s': %s", d->path,
				strerror(errno));
		close(dfd);
	}
	return rc;
}

/* tsarc's own bookkeeping in a target folder: the journal of a swap and
 * its temporary copies (fileio.h names them "." JOURNAL_NAME ".tsarc-"
 * and random digits). Never data: a backup leaves them out, a restore
 * does not write an archive's entry of that name. */
#define JOURNAL_NAME ".tsarc-swap-journal"
#define JOURNAL_TMP_PREFIX "." JOURNAL_NAME ".tsarc-"
#define OLD_PREFIX ".tsarc-old-"

enum { ENTRY_TAKE = 0, ENTRY_ROOT = 1, ENTRY_SKIP = 2 };

int tsarc_tree_reserved_name(const char *name)
{
	return (!strncmp(name, JOURNAL_NAME, strlen(JOURNAL_NAME)) ||
		       !strncmp(name, JOURNAL_TMP_PREFIX, strlen(JOURNAL_TMP_PREFIX))) &&
		!strchr(name, '/');
}

static const char *kind_name(mode_t type)
{
	switch (type) {
	case AE_IFIFO: return "a fifo";
	case AE_IFSOCK: return "a socket";
	case AE_IFCHR: return "a character device";
	case AE_IFBLK: return "a block device";
	default: return "of an unknown type";
	}
}

/*
 * The rules every reader of a tree archive applies (the restore, the check,
 * the rewrite for a pod), so that they take exactly the same entries: the
 * name (without "./" and a folder's trailing "/") into `namebuf`, then
 * ENTRY_ROOT for the archive's own ".", ENTRY_SKIP for what a backup does
 * not write either (fifos, sockets, devices, tsarc's journal: named on
 * stderr when `warn`), ENTRY_TAKE, or TSARC_EUNSAFE naming the entry.
 */
static int entry_verdict(struct archive_entry *e, char *namebuf, size_t namesz,
	const char **hard, int warn)
{
	const char *name = strip_dot_slash(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
	const char *sym = archive_entry_symlink(e);
	mode_t type = archive_entry_filetype(e);
	size_t len = strlen(name);
	int rc;

	if (len >= namesz)
		return tsarc_error_set(TSARC_EUNSAFE, "refusing a tar entry with a name of %zu bytes", len);
	memcpy(namebuf, name, len + 1);
	while (len > 1 && namebuf[len - 1] == '/')
		namebuf[--len] = '\0';
	*hard = archive_entry_hardlink(e);
	if ((!*namebuf || !strcmp(namebuf, ".") || !strcmp(namebuf, "/")) && type == AE_IFDIR && !*hard)
		return ENTRY_ROOT;
	if (*hard)
		*hard = strip_dot_slash(*hard);
	if ((rc = tsarc_tree_entry_safe(namebuf, *hard ? *hard : sym, !*hard && sym)))
		return rc;
	if (!*hard && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
		if (warn)
			tsarc__log(TSARC_LOG_WARN, "tree", "entry_skipped",
				"tar entry '%s' is %s: not restored", namebuf, kind_name(type));
		return ENTRY_SKIP;
	}
	if (tsarc_tree_reserved_name(namebuf)) {
		if (warn)
			tsarc__log(TSARC_LOG_WARN, "tree", "entry_skipped",
				"tar entry '%s' is tsarc's swap journal, not data: not restored",
				namebuf);
		return ENTRY_SKIP;
	}
	return ENTRY_TAKE;
}

/*
 * Calls `fn` for every entry of the tar stream on fd that entry_verdict
 * takes (with `root` set for the archive's own "."), after counting what it
 * skips in *skipped; stops at the first error, an unsafe entry or a damaged
 * stream. Every reader of a tree archive goes through here.
 */
typedef int (*tar_entry_fn)(void *ctx, struct archive *in, struct archive_entry *e,
	const char *name, const char *hard, int root);

static int for_each_tar_entry(int fd, int warn, uint64_t *skipped, tar_entry_fn fn, void *ctx)
{
	struct archive *in = archive_read_new();
	struct archive_entry *e;
	int r, rc = 0;

	if (!in)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	archive_read_support_format_tar(in);
	archive_read_support_format_gnutar(in);
	if (archive_read_open_fd(in, fd, 64 * 1024) != ARCHIVE_OK) {
		rc = tsarc_error_set(TSARC_ECORRUPT, "not a tar stream: %s", archive_error_string(in));
		goto done;
	}
	for (;;) {
		const char *hard = NULL; /* for -Wmaybe-uninitialized */
		char name[PATH_MAX_LEN];
		int v;

		r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = tsarc_error_set(TSARC_ECORRUPT, "reading the tar stream: %s",
				archive_error_string(in));
			goto done;
		}
		if ((v = entry_verdict(e, name, sizeof(name), &hard, warn)) < 0) {
			rc = v;
			goto done;
		}
		if (v == ENTRY_SKIP) {
			(*skipped)++;
			continue;
		}
		if ((rc = fn(ctx, in, e, name, hard, v == ENTRY_ROOT)))
			goto done;
	}
done:
	archive_read_free(in);
	return rc;
}

typedef struct stage_ctx {
	stager *s;
	tsarc_tree_restore_result *res;
} stage_ctx;

static int stage_one(void *ctx, struct archive *in, struct archive_entry *e,
	const char *name, const char *hard, int root)
{
	stage_ctx *c = ctx;
	stager *s = c->s;
	int rc;

	if (root) {
		s->top->present = 1;
		s->top->mode = archive_entry_perm(e) & 07777;
		entry_times(e, s->top->times);
		s->top->uid = (uid_t)archive_entry_uid(e);
		s->top->gid = (gid_t)archive_entry_gid(e);
		return 0;
	}
	if ((rc = stage_entry(s, in, e, name, hard, c->res)))
		return rc;
	if ((hard || archive_entry_filetype(e) == AE_IFLNK) && (rc = remember_link(s, name)))
		return rc;
	c->res->entries++;
	return 0;
}

/* Extracts the archive from fd into the staging folder. */
static int extract_to_staging(int fd, const char *staging, const tsarc_tree_restore_options *o,
	tsarc_tree_restore_result *res, root_attrs *top, int skeleton)
{
	stager s;
	stage_ctx c;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.top = top;
	s.skeleton = skeleton;
	s.root = open(staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s.root < 0)
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", staging, strerror(errno));
	c.s = &s;
	c.res = res;
	/* Before fix_dirs: an archive's read-only folder would stop the walk. */
	if (!(rc = for_each_tar_entry(fd, !skeleton, &res->skipped, stage_one, &c)) &&
	    !(rc = check_links(&s)) && !skeleton)
		rc = fix_dirs(&s);
	for (i = 0; i < s.ndirs; i++)
		free(s.dirs[i].path);
	free(s.dirs);
	for (i = 0; i < s.nlinks; i++)
		free(s.links[i]);
	free(s.links);
	close(s.root);
	return rc;
}

/*
 * The swap. The target is often a mounted volume, whose own folder cannot
 * be renamed, so the swap moves its entries one rename at a time, and a
 * journal in the target (written aside, fsynced, renamed) says how far it
 * got, so that whatever interrupts it, the next restore into the same
 * folder ends it the same way:
 *   phase 0  the new tree is being extracted into the staging folder:
 *            an interruption undoes it (staging deleted, the old tree was
 *            never touched);
 *   phase 1  the new tree is complete and its stream verified: the old
 *            entries are moved into the "old" folder;
 *   phase 2  the staged entries are moved into the target;
 *   then the old tree and the (empty) staging folder go, the journal last.
 * From phase 1 on the swap only goes forward: both trees are whole on the
 * volume (old entries in the target or the old folder, new ones in the
 * staging folder or the target) and the next run finishes the moves.
 */
typedef struct journal {
	int phase;
	int keep_extras;
	char staging[64], old[64];
} journal;

static int fsync_dir(int fd)
{
	return fsync(fd) == 0 || errno == EINVAL || errno == EROFS ? 0 : -1;
}

static int journal_write(int tfd, const char *target, const journal *j)
{
	char text[256];
	int n, rc;

	n = snprintf(text, sizeof(text), "tsarc-swap 1\n%d\n%s\n%s\n%s\n", j->phase, j->staging,
		j->old, j->keep_extras ? "keep" : "delete");
	if ((rc = tsarc_replace_file_at(tfd, target, JOURNAL_NAME, text, (size_t)n, 0600, 0)))
		tsarc_error_prefix("writing the swap journal");
	return rc;
}

static int valid_part(const char *name, const char *prefix)
{
	return !strncmp(name, prefix, strlen(prefix)) && strlen(name) > strlen(prefix) &&
		!strchr(name, '/');
}

/* 0: no journal; 1: one, in *j; or an error (a journal tsarc cannot read). */
static int journal_read(int tfd, const char *target, journal *j)
{
	char text[512], keep[16];
	int fd = openat(tfd, JOURNAL_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	memset(j, 0, sizeof(*j));
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return tsarc_error_set(TSARC_EIO, "cannot read %s/%s: %s", target, JOURNAL_NAME,
			strerror(errno));
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return tsarc_error_set(TSARC_EIO, "cannot read %s/%s: %s", target, JOURNAL_NAME,
			strerror(errno));
	text[n] = '\0';
	if (sscanf(text, "tsarc-swap 1 %d %63s %63s %15s", &j->phase, j->staging, j->old, keep) != 4 ||
		j->phase < 0 || j->phase > 2 || !valid_part(j->staging, STAGING_PREFIX) ||
		!valid_part(j->old, OLD_PREFIX) || (strcmp(keep, "keep") && strcmp(keep, "delete")))
		return tsarc_error_set(TSARC_ECORRUPT, "%s/%s is not a swap journal tsarc wrote; "
			"nothing was changed (look at it, then remove it)", target, JOURNAL_NAME);
	j->keep_extras = !strcmp(keep, "keep");
	return 1;
}

static int name_sort(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of a folder's entries (not "." and ".."), sorted. */
static int list_names(int dfd, char ***out, size_t *count)
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
		while (n)
			free(names[--n]);
		free(names);
		return rc;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), name_sort);
	*out = names;
	*count = n;
	return 0;
}

static void free_names(char **names, size_t n)
{
	while (n)
		free(names[--n]);
	free(names);
}

/* Journal copies a killed run left before renaming one into place (and
 * the fixed-name copy of older versions). The caller holds the folder's
 * lock: no other run is writing one. */
static int remove_journal_temps(int tfd)
{
	char **names;
	size_t n, i;
	int rc;

	if ((rc = list_names(tfd, &names, &n)))
		return rc;
	for (i = 0; i < n; i++)
		if (!strncmp(names[i], JOURNAL_TMP_PREFIX, strlen(JOURNAL_TMP_PREFIX)) ||
			!strcmp(names[i], JOURNAL_NAME ".tmp"))
			unlinkat(tfd, names[i], 0);
	free_names(names, n);
	return 0;
}

/* Renames from/name to to/name; what is in the way there (a file the
 * application made meanwhile) is deleted: the tree is being replaced. */
static int move_entry(int from, int to, const char *name)
{
	if (renameat(from, name, to, name) == 0)
		return 0;
	if (errno != EEXIST && errno != ENOTEMPTY && errno != EISDIR && errno != ENOTDIR)
		return -1;
	if (remove_tree_at(to, name) != 0)
		return -1;
	return renameat(from, name, to, name);
}

static void step_done(const tsarc_tree_restore_options *o)
{
	if (o && o->after_step)
		o->after_step(o->after_step_arg);
}

/* Runs the journal's swap to its end (phase 0: undoes it). */
static int swap_finish(int tfd, const char *target, journal *j,
	const tsarc_tree_restore_options *o, tsarc_tree_restore_result *res)
{
	char **names = NULL;
	size_t n = 0, i;
	int sfd = -1, ofd = -1, rc = 0;
	struct stat sb;

	if (j->phase == 0) {
		if (remove_tree_at(tfd, j->staging) != 0 || remove_tree_at(tfd, j->old) != 0)
			return tsarc_error_set(TSARC_EIO, "cannot remove %s/%s: %s", target, j->staging,
				strerror(errno));
		if (unlinkat(tfd, JOURNAL_NAME, 0) != 0 && errno != ENOENT)
			return tsarc_error_set(TSARC_EIO, "cannot remove %s/%s: %s", target, JOURNAL_NAME,
				strerror(errno));
		fsync_dir(tfd);
		return 0;
	}
	sfd = openat(tfd, j->staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0 && errno == ENOENT && j->phase == 2)
		goto cleanup; /* every entry moved, the staging folder already gone */
	if (sfd < 0) {
		rc = tsarc_error_set(TSARC_ECORRUPT, "%s/%s names the new tree %s, which is missing",
			target, JOURNAL_NAME, j->staging);
		goto done;
	}
	if (j->phase == 1) {
		if (mkdirat(tfd, j->old, 0700) != 0 && errno != EEXIST)
			goto io;
		if ((ofd = openat(tfd, j->old, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			goto io;
		if ((rc = list_names(tfd, &names, &n)))
			goto done;
		for (i = 0; i < n; i++) {
			int in_new;
			if (!strcmp(names[i], j->staging) || !strcmp(names[i], j->old) ||
				tsarc_tree_reserved_name(names[i]))
				continue;
			in_new = fstatat(sfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) == 0;
			if (!in_new && j->keep_extras)
				continue;
			if (move_entry(tfd, ofd, names[i]) != 0)
				goto io;
			if (!in_new && res)
				res->removed++;
			step_done(o);
		}
		free_names(names, n);
		names = NULL;
		if (fsync_dir(ofd) != 0 || fsync_dir(tfd) != 0)
			goto io;
		j->phase = 2;
		if ((rc = journal_write(tfd, target, j)))
			goto done;
		step_done(o);
	}
	if ((rc = list_names(sfd, &names, &n)))
		goto done;
	for (i = 0; i < n; i++) {
		if (move_entry(sfd, tfd, names[i]) != 0)
			goto io;
		step_done(o);
	}
	if (fsync_dir(tfd) != 0)
		goto io;
cleanup:
	/* The new tree is in place: the old one goes, then the journal last,
	 * so that an interruption here is cleaned up by the next run. */
	if (remove_tree_at(tfd, j->old) != 0 || remove_tree_at(tfd, j->staging) != 0)
		goto io;
	step_done(o);
	if (unlinkat(tfd, JOURNAL_NAME, 0) != 0 || fsync_dir(tfd) != 0)
		goto io;
	goto done;
io:
	rc = tsarc_error_set(TSARC_EIO, "the swap into %s stopped: %s; the next restore into %s "
		"finishes it (%s/%s says how far it got)", target, strerror(errno), target, target,
		JOURNAL_NAME);
done:
	free_names(names, n);
	if (sfd >= 0)
		close(sfd);
	if (ofd >= 0)
		close(ofd);
	return rc;
}

/* A restore into a folder: the folder open and locked, an earlier
 * interrupted swap ended, the journal and staging folder of this one. */
typedef struct target {
	const char *dir;
	int tfd;
	journal j;
	root_attrs top;
} target;

static int target_open(target *t, const char *dir, const tsarc_tree_restore_options *o,
	tsarc_tree_restore_result *res)
{
	struct stat sb;
	char nonce[64];
	int rc;

	memset(res, 0, sizeof(*res));
	memset(t, 0, sizeof(*t));
	t->dir = dir;
	t->tfd = -1;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return tsarc_error_set(TSARC_EIO, "cannot create %s: %s", dir, strerror(errno));
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return tsarc_error_set(TSARC_EINVAL, "%s is not a folder", dir);
	if ((t->tfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", dir, strerror(errno));
	/* Two restores into one folder would take each other's journal. */
	if (flock(t->tfd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
		rc = tsarc_error_set(TSARC_ELOCKED, "another restore into %s is running", dir);
		goto fail;
	}
	if ((rc = remove_journal_temps(t->tfd)) || (rc = journal_read(t->tfd, dir, &t->j)) < 0)
		goto fail;
	if (rc == 1) {
		int phase = t->j.phase;
		if ((rc = swap_finish(t->tfd, dir, &t->j, o, NULL)))
			goto fail;
		res->recovered = phase == 0 ? 2 : 1;
		tsarc__log(TSARC_LOG_WARN, "tree", "swap_recovered",
			"%s: an earlier restore was interrupted %s; %s", dir,
			phase == 0 ? "before its swap" : "during its swap",
			phase == 0 ? "its staging folder was removed" : "its swap was finished first");
	}
	/* A name no archive can know in advance: an entry of the staging
	 * folder's name would otherwise be deleted with it, or swapped in. */
	if ((rc = tsarc_staging_name(t->j.staging, sizeof(t->j.staging))) ||
		(rc = tsarc_staging_name(nonce, sizeof(nonce))))
		goto fail;
	snprintf(t->j.old, sizeof(t->j.old), OLD_PREFIX "%s", nonce + strlen(STAGING_PREFIX));
	t->j.keep_extras = o->keep_extras;
	t->j.phase = 0;
	if ((rc = journal_write(t->tfd, t->dir, &t->j)))
		goto fail;
	if (mkdirat(t->tfd, t->j.staging, 0700) != 0) {
		rc = tsarc_error_set(TSARC_EIO, "cannot create %s/%s: %s", dir, t->j.staging,
			strerror(errno));
		swap_finish(t->tfd, dir, &t->j, NULL, NULL);
		goto fail;
	}
	return 0;
fail:
	close(t->tfd);
	t->tfd = -1;
	return rc;
}

/* Undoes a restore that did not get to its swap. */
static void target_discard(target *t)
{
	if (t->tfd < 0)
		return;
	t->j.phase = 0;
	swap_finish(t->tfd, t->dir, &t->j, NULL, NULL);
	close(t->tfd);
	t->tfd = -1;
}

/* The new tree is complete: swap it in, then the archive's "." attributes. */
static int target_swap(target *t, const tsarc_tree_restore_options *o,
	tsarc_tree_restore_result *res)
{
	int rc;

	t->j.phase = 1;
	if (!(rc = journal_write(t->tfd, t->dir, &t->j))) {
		step_done(o);
		rc = swap_finish(t->tfd, t->dir, &t->j, o, res);
	}
	if (rc == 0 && t->top.present) {
		if (o->restore_owner && fchown(t->tfd, t->top.uid, t->top.gid) != 0)
			rc = tsarc_error_set(TSARC_EACCESS, "cannot set the owner of %s: %s", t->dir,
				strerror(errno));
		else if (fchmod(t->tfd, t->top.mode) != 0 || futimens(t->tfd, t->top.times) != 0)
			rc = tsarc_error_set(TSARC_EIO, "setting attributes of %s: %s", t->dir,
				strerror(errno));
	}
	close(t->tfd);
	t->tfd = -1;
	return rc;
}

int tsarc_staging_name(char *out, size_t outsz)
{
	uint8_t nonce[8];
	char hex[2 * sizeof(nonce) + 1];
	int rc;

	if ((rc = tsarc_random_bytes(nonce, sizeof(nonce))))
		return rc;
	tsarc_hex_encode(hex, nonce, sizeof(nonce));
	if (snprintf(out, outsz, STAGING_PREFIX "%ld-%s", (long)getpid(), hex) >= (int)outsz)
		return tsarc_error_set(TSARC_ETOOLARGE, "no room for a staging name");
	return 0;
}

/* Past the archive's end: the writer (a feeder thread, a pipe) finishes
 * and reports any damage it found there. */
static int read_to_end(int fd)
{
	char drain[65536];

	for (;;) {
		ssize_t n = read(fd, drain, sizeof(drain));
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return tsarc_error_set(TSARC_EIO, "reading the tar stream: %s", strerror(errno));
	}
}

/* Extracts everything into the staging folder and reads the stream to its
 * very end, so that whoever feeds it has finished (and verified the whole
 * stream) before anything is moved into place. */
static int stage(target *t, int fd, const tsarc_tree_restore_options *opts,
	tsarc_tree_restore_result *res)
{
	char staging[PATH_MAX_LEN];

	if (snprintf(staging, sizeof(staging), "%s/%s", t->dir, t->j.staging) >= (int)sizeof(staging))
		return tsarc_error_set(TSARC_ETOOLARGE, "path too long: %s", t->dir);
	{
		int rc = extract_to_staging(fd, staging, opts, res, &t->top, 0);
		return rc ? rc : read_to_end(fd);
	}
}

static const tsarc_tree_restore_options no_options;

int tsarc_tree_restore_fd(const char *target_dir, int fd,
	const tsarc_tree_restore_options *opts, tsarc_tree_restore_result *res)
{
	target t;
	int rc;

	if (!opts)
		opts = &no_options;
	if ((rc = target_open(&t, target_dir, opts, res)))
		return rc;
	if ((rc = stage(&t, fd, opts, res))) {
		target_discard(&t);
		return rc;
	}
	return target_swap(&t, opts, res);
}

int tsarc_tree_recover(const char *target_dir, int *recovered)
{
	tsarc_tree_restore_result res;
	target t;
	int rc;

	*recovered = 0;
	if ((rc = target_open(&t, target_dir, &no_options, &res)))
		return rc;
	*recovered = res.recovered;
	target_discard(&t);
	return 0;
}

int tsarc_tree_check_fd(int fd, uint64_t *entries)
{
	tsarc_tree_restore_options opts = no_options;
	tsarc_tree_restore_result res;
	root_attrs top;
	const char *tmp = getenv("TMPDIR");
	char scratch[PATH_MAX_LEN];
	int pfd, rc;

	memset(&res, 0, sizeof(res));
	memset(&top, 0, sizeof(top));
	*entries = 0;
	if (!tmp || !*tmp)
		tmp = "/tmp";
	/* mkdtemp's template: it replaces the six X. */
	if (snprintf(scratch, sizeof(scratch), "%s/tsarc-tar-check.XXXXXX", tmp) >= (int)sizeof(scratch))
		return tsarc_error_set(TSARC_ETOOLARGE, "TMPDIR is too long");
	if (!mkdtemp(scratch))
		return tsarc_error_set(TSARC_EIO, "cannot create a scratch folder %s: %s", scratch,
			strerror(errno));
	if (!(rc = extract_to_staging(fd, scratch, &opts, &res, &top, 1)))
		rc = read_to_end(fd);
	*entries = res.entries;
	/* The scratch folder's parent is TMPDIR: remove it by name from there. */
	{
		char *slash = strrchr(scratch, '/');
		*slash = '\0';
		pfd = open(scratch[0] ? scratch : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0 || remove_tree_at(pfd, slash + 1) != 0) {
			int err = errno;
			*slash = '/';
			if (!rc)
				rc = tsarc_error_set(TSARC_EIO, "cannot remove the scratch folder %s: %s",
					scratch, strerror(err));
		}
		if (pfd >= 0)
			close(pfd);
	}
	return rc;
}

typedef struct feeder {
	tsarc_repo *repo;
	const tsarc_stream *st;
	unsigned inflight;
	int fd;
	tsarc_saved_error err; /* the feeder thread's failure */
} feeder;

static void *feed_main(void *arg)
{
	feeder *f = arg;
	sigset_t pipe_only;
	int rc;

	/* If the reader gives up, our write fails with EPIPE instead of a
	 * signal killing the process. */
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
	rc = tsarc_stream_extract(f->repo, f->st, tsarc_sink_fd, &f->fd, f->inflight);
	if (rc) {
		tsarc_error_save(&f->err);
		f->err.code = rc;
	}
	close(f->fd);
	return NULL;
}

/* What reads the tar: a restore into staging, the check, the rewrite. */
typedef int (*tar_reader)(int fd, void *ctx);

/*
 * Runs `read_tar` on a repository stream through a pipe, a feeder thread
 * verifying it chunk by chunk. It returns 0 only when the reader took
 * the whole stream and the feeder verified all of it (every chunk and the
 * whole-stream SHA-256). Damage the feeder finds explains whatever the
 * reader made of the truncated tar, so its error wins.
 */
static int read_stream(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	tar_reader read_tar, void *ctx)
{
	feeder f;
	pthread_t th;
	int fds[2], rc;

	memset(&f, 0, sizeof(f));
	if (pipe(fds) != 0)
		return tsarc_error_set(TSARC_EIO, "pipe: %s", strerror(errno));
	f.repo = repo;
	f.st = st;
	f.inflight = inflight;
	f.fd = fds[1];
	if (pthread_create(&th, NULL, feed_main, &f) != 0) {
		close(fds[0]);
		close(fds[1]);
		return tsarc_error_set(TSARC_EGENERIC, "cannot start a thread");
	}
	rc = read_tar(fds[0], ctx);
	/* Closing our end stops the feeder if we gave up early. */
	close(fds[0]);
	pthread_join(th, NULL);
	if (f.err.code && f.err.code != TSARC_ECANCELED)
		return tsarc_error_restore(&f.err);
	if (!rc && f.err.code)
		return tsarc_error_set(TSARC_EIO, "the stream ended before it was verified");
	return rc;
}

typedef struct staged {
	target *t;
	const tsarc_tree_restore_options *opts;
	tsarc_tree_restore_result *res;
} staged;

static int stage_tar(int fd, void *ctx)
{
	staged *g = ctx;

	return stage(g->t, fd, g->opts, g->res);
}

int tsarc_tree_restore_stream(tsarc_repo *repo, const tsarc_stream *st,
	const char *target_dir, const tsarc_tree_restore_options *opts,
	tsarc_tree_restore_result *res)
{
	staged g;
	target t;
	int rc;

	if (!opts)
		opts = &no_options;
	if ((rc = target_open(&t, target_dir, opts, res)))
		return rc;
	g.t = &t;
	g.opts = opts;
	g.res = res;
	/* Swapped in only when the whole stream was read and verified. */
	if ((rc = read_stream(repo, st, 0, stage_tar, &g))) {
		target_discard(&t);
		return rc;
	}
	return target_swap(&t, opts, res);
}

static int check_tar(int fd, void *ctx)
{
	return tsarc_tree_check_fd(fd, ctx);
}

int tsarc_tree_check_stream(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	uint64_t *entries)
{
	*entries = 0;
	return read_stream(repo, st, inflight, check_tar, entries);
}

/* ---- the rewrite for a restore that extracts elsewhere ---- */

typedef struct rewriter {
	struct archive *aw;
	int out_fd;
	int broken; /* nothing more may reach the consumer */
	uint64_t entries, skipped;
} rewriter;

static la_ssize_t rewrite_write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	rewriter *w = ud;

	if (w->broken) {
		archive_set_error(a, ECANCELED, "the rewrite was stopped");
		return -1;
	}
	if (tsarc_write_all(w->out_fd, buf, len) != 0) {
		archive_set_error(a, errno, "writing the tar stream: %s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)len;
}

/* One validated entry, rebuilt from the fields tsarc checked, nothing else. */
static int rewrite_entry(rewriter *w, struct archive *in, struct archive_entry *e,
	const char *name, const char *hard, int root)
{
	struct archive_entry *o = archive_entry_new();
	mode_t type = archive_entry_filetype(e);
	int rc = 0;

	if (!o)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	archive_entry_set_pathname(o, root ? "." : name);
	archive_entry_set_uid(o, archive_entry_uid(e));
	archive_entry_set_gid(o, archive_entry_gid(e));
	if (archive_entry_uname(e))
		archive_entry_copy_uname(o, archive_entry_uname(e));
	if (archive_entry_gname(e))
		archive_entry_copy_gname(o, archive_entry_gname(e));
	archive_entry_set_mtime(o, archive_entry_mtime(e), archive_entry_mtime_nsec(e));
	archive_entry_set_perm(o, archive_entry_perm(e) & 07777);
	if (hard) {
		archive_entry_set_filetype(o, AE_IFREG);
		archive_entry_set_hardlink(o, hard);
		archive_entry_set_size(o, 0);
	} else {
		archive_entry_set_filetype(o, type);
		if (type == AE_IFLNK)
			archive_entry_set_symlink(o, archive_entry_symlink(e));
		archive_entry_set_size(o, type == AE_IFREG ? archive_entry_size(e) : 0);
	}
	if (archive_write_header(w->aw, o) != ARCHIVE_OK) {
		rc = tsarc_error_set(TSARC_EIO, "rewriting tar entry '%s': %s", name,
			archive_error_string(w->aw));
		goto done;
	}
	if (!hard && type == AE_IFREG) {
		char buf[65536];
		la_int64_t left = archive_entry_size(e);
		while (left > 0) {
			la_ssize_t n = archive_read_data(in, buf, sizeof(buf));
			if (n <= 0) {
				rc = tsarc_error_set(TSARC_ECORRUPT, "reading tar entry '%s': %s", name,
					n < 0 ? archive_error_string(in) : "its data ends early");
				goto done;
			}
			if (n > left)
				n = (la_ssize_t)left;
			if (archive_write_data(w->aw, buf, (size_t)n) != n) {
				rc = tsarc_error_set(TSARC_EIO, "rewriting tar entry '%s': %s", name,
					archive_error_string(w->aw) ? archive_error_string(w->aw) : "short write");
				goto done;
			}
			left -= n;
		}
	}
done:
	archive_entry_free(o);
	return rc;
}

static int rewrite_one(void *ctx, struct archive *in, struct archive_entry *e,
	const char *name, const char *hard, int root)
{
	rewriter *w = ctx;
	int rc;

	if ((rc = rewrite_entry(w, in, e, name, hard, root)))
		return rc;
	if (!root)
		w->entries++;
	return 0;
}

static int rewrite_tar(int fd, void *ctx)
{
	rewriter *w = ctx;
	int rc = for_each_tar_entry(fd, 1, &w->skipped, rewrite_one, w);

	return rc ? rc : read_to_end(fd);
}

/* What the rewrite reads: the repository stream (verified) or an fd. */
typedef struct rewrite_source {
	tsarc_repo *repo;
	const tsarc_stream *st;
	unsigned inflight;
	int fd; /* when repo is NULL */
} rewrite_source;

static int rewrite(const rewrite_source *src, int out_fd, const char *complete_name,
	uint64_t *entries, uint64_t *skipped)
{
	rewriter w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.out_fd = out_fd;
	*entries = *skipped = 0;
	if (!(w.aw = archive_write_new()))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	/* pax as libarchive writes it: each field once in the pax header
	 * (sub-second times kept) over a ustar header, never GNU long-name
	 * records, so GNU tar and libarchive read the same entries. */
	archive_write_set_format_pax(w.aw);
	archive_write_set_bytes_per_block(w.aw, 10240);
	if (archive_write_open2(w.aw, &w, NULL, rewrite_write_cb, NULL, NULL) != ARCHIVE_OK) {
		rc = tsarc_error_set(TSARC_EIO, "%s", archive_error_string(w.aw));
		w.broken = 1;
		archive_write_free(w.aw);
		return rc;
	}
	rc = src->repo ? read_stream(src->repo, src->st, src->inflight, rewrite_tar, &w) :
		rewrite_tar(src->fd, &w);
	/* Verified to its end: only now the entry that tells the consumer
	 * the stream is complete, then the archive's end. */
	if (!rc) {
		struct archive_entry *o = archive_entry_new();
		if (!o)
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		else {
			archive_entry_set_pathname(o, complete_name);
			archive_entry_set_filetype(o, AE_IFREG);
			archive_entry_set_perm(o, 0600);
			archive_entry_set_size(o, 0);
			if (archive_write_header(w.aw, o) != ARCHIVE_OK ||
				archive_write_close(w.aw) != ARCHIVE_OK)
				rc = tsarc_error_set(TSARC_EIO, "writing the tar stream: %s",
					archive_error_string(w.aw));
			archive_entry_free(o);
		}
	}
	if (rc)
		w.broken = 1;
	archive_write_free(w.aw);
	*entries = w.entries;
	*skipped = w.skipped;
	return rc;
}

int tsarc_tree_rewrite_stream(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	int out_fd, const char *complete_name, uint64_t *entries, uint64_t *skipped)
{
	rewrite_source src = {repo, st, inflight, -1};

	return rewrite(&src, out_fd, complete_name, entries, skipped);
}

int tsarc_tree_rewrite_fd(int in_fd, int out_fd, const char *complete_name, uint64_t *entries,
	uint64_t *skipped)
{
	rewrite_source src = {NULL, NULL, 0, in_fd};

	return rewrite(&src, out_fd, complete_name, entries, skipped);
}
