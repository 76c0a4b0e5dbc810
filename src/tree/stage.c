#define _GNU_SOURCE /* O_NOFOLLOW, O_DIRECTORY */
/*
 * The local tree writer: every entry the rules (entry.c) take is created
 * inside a staging folder, walking from its root one component at a time
 * with O_NOFOLLOW, so no symlink the archive made is ever written
 * through. Links are walked together at the end, as the kernel would
 * follow them, because links that are inside on their own text can leave
 * the tree together. Folder modes and times are applied last (writing
 * into a folder changes its time; a read-only mode would stop the writes).
 * Nothing here touches the target: the swap (swap.c) does that.
 */
#include "internal.h"
#include "grow.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

typedef struct stager {
	int root; /* the staging folder */
	tsarc_tree_root_attrs *top;
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

mode_t tsarc__tree_setid_mode(mode_t mode, uid_t uid, gid_t gid, const struct stat *now)
{
	if (now->st_uid != uid)
		mode &= ~(mode_t)S_ISUID;
	if (now->st_gid != gid)
		mode &= ~(mode_t)S_ISGID;
	return mode;
}

static void entry_times(struct archive_entry *e, struct timespec t[2])
{
	t[0].tv_sec = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e);
	t[0].tv_nsec = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e) : archive_entry_mtime_nsec(e);
	t[1].tv_sec = archive_entry_mtime(e);
	t[1].tv_nsec = archive_entry_mtime_nsec(e);
}

static int stage_entry(stager *s, struct archive *in, struct archive_entry *e,
	const char *name, const char *hard, tsarc_tree_restore_result *res)
{
	const char *leaf;
	struct timespec t[2];
	struct stat now;
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
		else
			rc = TSARC_RESERVE(s->dirs, s->ndirs, s->cap, 64);
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
			rc = tsarc__tree_write_data(in, fd, name,
				(uint64_t)archive_entry_size(e), &res->bytes);
			if (!rc && ftruncate(fd, (off_t)archive_entry_size(e)) != 0)
				rc = tsarc_error_set(TSARC_EIO, "writing '%s': %s", name, strerror(errno));
			if (!rc && s->o->restore_owner &&
				fchown(fd, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) != 0)
				rc = tsarc_error_set(TSARC_EACCESS, "cannot set the owner of '%s': %s", name,
					strerror(errno));
			/* After chown, which clears set-id bits; and only those
			 * of the owner it has now. */
			if (!rc && (fstat(fd, &now) != 0 ||
				    fchmod(fd, tsarc__tree_setid_mode(perm, (uid_t)archive_entry_uid(e),
					    (gid_t)archive_entry_gid(e), &now)) != 0 ||
				    futimens(fd, t) != 0))
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
	char cur[TSARC_TREE_PATH_MAX], target[TSARC_TREE_PATH_MAX];
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
	return tsarc_strv_push(&s->links, &s->nlinks, &s->links_cap, 16, name);
}

static int fix_dirs(stager *s)
{
	size_t i;
	int rc = 0;

	/* Deepest first, so a parent's time is set after its children's. */
	for (i = s->ndirs; i-- > 0;) {
		dir_fixup *d = &s->dirs[i];
		struct stat now;
		const char *leaf;
		int dfd = open_parent(s, d->path, &leaf);
		if (dfd < 0)
			continue;
		if (d->has_owner && fchownat(dfd, leaf, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) != 0 && !rc)
			rc = tsarc_error_set(TSARC_EACCESS, "cannot set the owner of '%s': %s", d->path,
				strerror(errno));
		/* fchmodat follows a link at `leaf` (one the walk of the links
		 * kept inside the tree): so does the owner looked at here. */
		if ((fstatat(dfd, leaf, &now, 0) != 0 ||
			    fchmodat(dfd, leaf, tsarc__tree_setid_mode(d->mode, d->uid, d->gid, &now), 0) != 0 ||
			    utimensat(dfd, leaf, d->times, AT_SYMLINK_NOFOLLOW) != 0) && !rc)
			rc = tsarc_error_set(TSARC_EIO, "setting attributes of '%s': %s", d->path,
				strerror(errno));
		close(dfd);
	}
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

	if (s->o->owner_given) {
		archive_entry_set_uid(e, s->o->uid);
		archive_entry_set_gid(e, s->o->gid);
	}
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
int tsarc__tree_extract(int fd, const char *staging, const tsarc_tree_restore_options *o,
	tsarc_tree_restore_result *res, tsarc_tree_root_attrs *top, int skeleton,
	const tsarc_tree_padding *pad)
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
	if (!(rc = tsarc__tree_for_each_entry(fd, !skeleton, &res->skipped, pad, stage_one, &c)) &&
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
