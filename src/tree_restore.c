#define _GNU_SOURCE /* O_NOFOLLOW, O_DIRECTORY, renameat */
#include "tree_restore.h"
#include "crypto.h"
#include "extract.h"
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

static int write_file_data(struct archive *in, int fd, uint64_t *bytes)
{
	const void *buf;
	size_t size;
	la_int64_t offset;
	int r;

	for (;;) {
		r = archive_read_data_block(in, &buf, &size, &offset);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return tsarc_error_set(TSARC_ECORRUPT, "reading the tar stream: %s",
				archive_error_string(in));
		while (size > 0) {
			ssize_t n = pwrite(fd, buf, size, (off_t)offset);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return tsarc_error_set(TSARC_EIO, "writing: %s", strerror(errno));
			}
			buf = (const char *)buf + n;
			size -= (size_t)n;
			offset += n;
			*bytes += (uint64_t)n;
		}
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

/* Extracts the archive from fd into the staging folder. */
static int extract_to_staging(int fd, const char *staging, const tsarc_tree_restore_options *o,
	tsarc_tree_restore_result *res, root_attrs *top, int skeleton)
{
	struct archive *in = archive_read_new();
	struct archive_entry *e;
	stager s;
	size_t i;
	int r, rc = 0;

	memset(&s, 0, sizeof(s));
	s.o = o;
	s.top = top;
	s.skeleton = skeleton;
	if (!in)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	s.root = open(staging, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s.root < 0) {
		archive_read_free(in);
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", staging, strerror(errno));
	}
	archive_read_support_format_tar(in);
	archive_read_support_format_gnutar(in);
	if (archive_read_open_fd(in, fd, 64 * 1024) != ARCHIVE_OK) {
		rc = tsarc_error_set(TSARC_ECORRUPT, "not a tar stream: %s", archive_error_string(in));
		goto done;
	}
	for (;;) {
		const char *name, *hard, *sym;
		char namebuf[PATH_MAX_LEN];
		size_t len;
		mode_t type;

		r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = tsarc_error_set(TSARC_ECORRUPT, "reading the tar stream: %s",
				archive_error_string(in));
			goto done;
		}
		name = strip_dot_slash(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
		/* Folders come as "dir/": the name is what precedes the slash. */
		len = strlen(name);
		if (len >= sizeof(namebuf)) {
			rc = tsarc_error_set(TSARC_EUNSAFE, "refusing a tar entry with a name of %zu bytes", len);
			goto done;
		}
		memcpy(namebuf, name, len + 1);
		while (len > 1 && namebuf[len - 1] == '/')
			namebuf[--len] = '\0';
		name = namebuf;
		hard = archive_entry_hardlink(e);
		sym = archive_entry_symlink(e);
		type = archive_entry_filetype(e);
		if ((!*name || !strcmp(name, ".") || !strcmp(name, "/")) && type == AE_IFDIR) {
			s.top->present = 1;
			s.top->mode = archive_entry_perm(e) & 07777;
			entry_times(e, s.top->times);
			s.top->uid = (uid_t)archive_entry_uid(e);
			s.top->gid = (gid_t)archive_entry_gid(e);
			continue;
		}
		if (hard)
			hard = strip_dot_slash(hard);
		if ((rc = tsarc_tree_entry_safe(name, hard ? hard : sym, !hard && sym)))
			goto done;
		if (!hard && type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
			rc = tsarc_error_set(TSARC_EUNSAFE,
				"refusing tar entry '%s': devices, fifos and sockets are not restored", name);
			goto done;
		}
		if ((rc = stage_entry(&s, in, e, name, hard, res)))
			goto done;
		if ((hard || type == AE_IFLNK) && (rc = remember_link(&s, name)))
			goto done;
		res->entries++;
	}
	/* Before fix_dirs: an archive's read-only folder would stop the walk. */
	if (!(rc = check_links(&s)) && !skeleton)
		rc = fix_dirs(&s);
done:
	for (i = 0; i < s.ndirs; i++)
		free(s.dirs[i].path);
	free(s.dirs);
	for (i = 0; i < s.nlinks; i++)
		free(s.links[i]);
	free(s.links);
	close(s.root);
	archive_read_free(in);
	return rc;
}

/* Moves the staged entries into the target and deletes what the archive
 * does not have. */
static int swap_into_place(const char *target, const char *staging_name,
	const tsarc_tree_restore_options *o, tsarc_tree_restore_result *res,
	const root_attrs *top)
{
	int tfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC), sfd = -1, rc = 0;
	DIR *d = NULL;
	struct dirent *de;
	struct stat sb;

	if (tfd < 0)
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", target, strerror(errno));
	sfd = openat(tfd, staging_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0) {
		rc = tsarc_error_set(TSARC_EIO, "cannot open the staging folder: %s", strerror(errno));
		goto done;
	}
	if (!o->keep_extras) {
		int dfd = dup(tfd);
		if (dfd < 0 || !(d = fdopendir(dfd))) {
			if (dfd >= 0)
				close(dfd);
			rc = tsarc_error_set(TSARC_EIO, "cannot list %s: %s", target, strerror(errno));
			goto done;
		}
		while ((de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
				!strcmp(de->d_name, staging_name))
				continue;
			if (fstatat(sfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
				continue; /* replaced below */
			if (remove_tree_at(tfd, de->d_name) != 0) {
				rc = tsarc_error_set(TSARC_EIO, "cannot delete %s/%s: %s", target,
					de->d_name, strerror(errno));
				goto done;
			}
			res->removed++;
		}
		closedir(d);
		d = NULL;
	}
	{
		int dfd = dup(sfd);
		if (dfd < 0 || !(d = fdopendir(dfd))) {
			if (dfd >= 0)
				close(dfd);
			rc = tsarc_error_set(TSARC_EIO, "cannot list the staging folder");
			goto done;
		}
	}
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_tree_at(tfd, de->d_name) != 0 ||
			renameat(sfd, de->d_name, tfd, de->d_name) != 0) {
			rc = tsarc_error_set(TSARC_EIO, "cannot move %s into place: %s", de->d_name,
				strerror(errno));
			goto done;
		}
	}
done:
	if (d)
		closedir(d);
	if (sfd >= 0)
		close(sfd);
	if (rc == 0 && unlinkat(tfd, staging_name, AT_REMOVEDIR) != 0)
		rc = tsarc_error_set(TSARC_EIO, "cannot remove the staging folder: %s", strerror(errno));
	if (rc == 0 && top->present) {
		if (o->restore_owner && fchown(tfd, top->uid, top->gid) != 0)
			rc = tsarc_error_set(TSARC_EACCESS, "cannot set the owner of %s: %s", target,
				strerror(errno));
		else if (fchmod(tfd, top->mode) != 0 || futimens(tfd, top->times) != 0)
			rc = tsarc_error_set(TSARC_EIO, "setting attributes of %s: %s", target,
				strerror(errno));
	}
	close(tfd);
	return rc;
}

/* Extracts everything into a fresh staging folder inside the target and
 * reads the stream to its very end, so that whoever feeds it has finished
 * (and verified the whole stream) before anything is moved into place. */
/* Past the archive's end: the writer (a feeder thread, a pipe) finishes
 * and reports any damage it found there. */
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

static int stage(const char *target_dir, int fd, const tsarc_tree_restore_options *opts,
	tsarc_tree_restore_result *res, root_attrs *top, char *staging_name, size_t namesz)
{
	char staging[PATH_MAX_LEN];
	struct stat sb;
	int tfd, rc;

	memset(res, 0, sizeof(*res));
	if (mkdir(target_dir, 0755) != 0 && errno != EEXIST)
		return tsarc_error_set(TSARC_EIO, "cannot create %s: %s", target_dir, strerror(errno));
	if (stat(target_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return tsarc_error_set(TSARC_EINVAL, "%s is not a folder", target_dir);
	/* A name no archive can know in advance: an entry of the staging
	 * folder's name would otherwise be deleted with it, or swapped in. */
	if ((rc = tsarc_staging_name(staging_name, namesz)))
		return rc;
	if (snprintf(staging, sizeof(staging), "%s/%s", target_dir, staging_name) >= (int)sizeof(staging))
		return tsarc_error_set(TSARC_ETOOLARGE, "path too long: %s", target_dir);
	tfd = open(target_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", target_dir, strerror(errno));
	if (mkdirat(tfd, staging_name, 0700) != 0) {
		rc = tsarc_error_set(TSARC_EIO, "cannot create %s: %s", staging, strerror(errno));
		close(tfd);
		return rc;
	}
	memset(top, 0, sizeof(*top));
	if (!(rc = extract_to_staging(fd, staging, opts, res, top, 0)))
		rc = read_to_end(fd);
	if (rc)
		remove_tree_at(tfd, staging_name);
	close(tfd);
	return rc;
}

static void discard(const char *target_dir, const char *staging_name)
{
	int tfd = open(target_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (tfd >= 0) {
		remove_tree_at(tfd, staging_name);
		close(tfd);
	}
}

int tsarc_tree_restore_fd(const char *target_dir, int fd,
	const tsarc_tree_restore_options *opts, tsarc_tree_restore_result *res)
{
	tsarc_tree_restore_options defaults = {0, 0};
	char staging_name[64];
	root_attrs top;
	int rc;

	if (!opts)
		opts = &defaults;
	if ((rc = stage(target_dir, fd, opts, res, &top, staging_name, sizeof(staging_name))))
		return rc;
	return swap_into_place(target_dir, staging_name, opts, res, &top);
}

int tsarc_tree_check_fd(int fd, uint64_t *entries)
{
	tsarc_tree_restore_options opts = {0, 0};
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
	int rc;
	char msg[1024];
} feeder;

static void *feed_main(void *arg)
{
	feeder *f = arg;
	sigset_t pipe_only;

	/* If the reader gives up, our write fails with EPIPE instead of a
	 * signal killing the process. */
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
	f->rc = tsarc_stream_extract(f->repo, f->st, tsarc_sink_fd, &f->fd, f->inflight);
	if (f->rc)
		snprintf(f->msg, sizeof(f->msg), "%s", tsarc_error_last()->message);
	close(f->fd);
	return NULL;
}

/* What reads the tar: a restore into staging, or the check. */
typedef int (*tar_reader)(int fd, void *ctx);

/*
 * Runs `read_tar` on a repository stream through a pipe, a feeder thread
 * verifying it chunk by chunk. Damage the feeder finds explains whatever
 * the reader made of the truncated tar, so its error wins, and `undo`
 * (may be NULL) is called when the reader had succeeded regardless.
 */
static int read_stream(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	tar_reader read_tar, void (*undo)(void *ctx), void *ctx)
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
	if (f.rc && f.rc != TSARC_ECANCELED) {
		if (rc == 0 && undo)
			undo(ctx);
		return tsarc_error_set(f.rc, "%s", f.msg);
	}
	return rc;
}

typedef struct staged {
	const char *target_dir;
	const tsarc_tree_restore_options *opts;
	tsarc_tree_restore_result *res;
	root_attrs top;
	char staging_name[64];
} staged;

static int stage_tar(int fd, void *ctx)
{
	staged *g = ctx;

	return stage(g->target_dir, fd, g->opts, g->res, &g->top, g->staging_name,
		sizeof(g->staging_name));
}

static void discard_staged(void *ctx)
{
	staged *g = ctx;

	discard(g->target_dir, g->staging_name);
}

int tsarc_tree_restore_stream(tsarc_repo *repo, const tsarc_stream *st,
	const char *target_dir, const tsarc_tree_restore_options *opts,
	tsarc_tree_restore_result *res)
{
	tsarc_tree_restore_options defaults = {0, 0};
	staged g;
	int rc;

	memset(&g, 0, sizeof(g));
	g.target_dir = target_dir;
	g.opts = opts ? opts : &defaults;
	g.res = res;
	if ((rc = read_stream(repo, st, 0, stage_tar, discard_staged, &g)))
		return rc;
	return swap_into_place(target_dir, g.staging_name, g.opts, res, &g.top);
}

static int check_tar(int fd, void *ctx)
{
	return tsarc_tree_check_fd(fd, ctx);
}

int tsarc_tree_check_stream(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	uint64_t *entries)
{
	*entries = 0;
	return read_stream(repo, st, inflight, check_tar, NULL, entries);
}
