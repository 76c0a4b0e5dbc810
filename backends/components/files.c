#define _GNU_SOURCE /* asprintf */
/*
 * The files kind: a directory tree as one tar stream (pax format:
 * owners by id and name, modes, mtimes, symlinks, hard links). On this
 * host libarchive walks the tree in-process; in a pod `tar cf - -C DIR .`
 * runs through the transport, as `oc rsync` of the manual procedure would
 * have, but streamed; what that tar says of files that changed while it
 * read them becomes warnings (tar_stderr.h), and its archive is taken in
 * to hold what the files had, as this host's does (tar_intake.h).
 *
 * The tree is live (system-storage is an RWX volume the application writes
 * while we read): each file's bytes are read before its header, which
 * states their number, so the archive holds exactly what the file had;
 * a file that changed is named in a warning (log.h). Sockets, fifos and devices are
 * left out with a warning: a restore does not make them either.
 *
 * Its restore (replace-tree) swaps the whole tree for the stream's: on
 * this host through src/tree/ (tree_restore.h), in a pod through a shell program
 * with the same journal, fed entries tsarc checked itself.
 */
#include "kind.h"
#include "extract.h"
#include "fileio.h"
#include "log.h"
#include "repo.h"
#include "s3sys/s3sys.h"
#include "snapshot.h"
#include "tar_intake.h"
#include "tar_stderr.h"
#include "tsarc/errors.h"
#include "tree_restore.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *const FILES_FIELDS[] = {"kind", "enabled", "required", "stream",
	"transport", "workload", "selector", "container", "restore", "path", "tool", "options",
	"description", NULL};

static int files_validate(const cJSON *spec, const char *name)
{
	if (!tsarc_spec_str(spec, "path"))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': a files component needs "
			"\"path\"", name);
	return 0;
}

typedef struct tar_ctx {
	char *root;
	/* The folder repository the backup writes to, when it is a folder of
	 * this host (repo_path): known by device and inode, however the tree
	 * or the repository's path is spelt, so the walk leaves it out. */
	int repo_known;
	dev_t repo_dev;
	ino_t repo_ino;
	char *repo_path;
	/* What the walk left out, and why ({"path", "why"} each), for the
	 * stream's metadata and the report (tar_meta). */
	cJSON *excluded;
} tar_ctx;

static void tar_ctx_free(void *p)
{
	tar_ctx *t = p;

	if (t) {
		free(t->root);
		free(t->repo_path);
		cJSON_Delete(t->excluded);
		free(t);
	}
}

/* What the walk learned: the folders it left out. */
static cJSON *tar_meta(void *p)
{
	tar_ctx *t = p;
	cJSON *m = cJSON_CreateObject();

	if (m && t->excluded && cJSON_GetArraySize(t->excluded))
		cJSON_AddItemToObject(m, "excluded", cJSON_Duplicate(t->excluded, 1));
	return m;
}

/* libarchive's write callback: everything goes to the pipe. */
static la_ssize_t write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	if (tsarc_write_all(*(int *)ud, buf, len) != 0) {
		archive_set_error(a, errno, "writing the tar stream: %s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)len;
}

#define BUF_SIZE (1u << 20)
/* symlink_entry: the link is no longer there to read. */
#define GONE 1

typedef struct walk {
	tar_ctx *t;
	const atomic_int *stop;
	struct archive *disk, *aw;
	struct archive_entry_linkresolver *links;
	char *buf;   /* BUF_SIZE: a small file's whole content, or a copy buffer */
	int spool;   /* a larger file's content (an unlinked file in TMPDIR), or -1 */
	char *err;
	size_t errsz;
	/* The staging and old-tree folders a restore into the tree left
	 * (its journal names them): tsarc's, not data. Empty: none. */
	char staging[64], old[64];
} walk;

static int stopped(walk *w)
{
	if (!atomic_load(w->stop))
		return 0;
	snprintf(w->err, w->errsz, "stopped");
	return 1;
}

/* Scratch space made once per backup (fileio.h), reused per file. */
static int spool_open(walk *w)
{
	if (w->spool >= 0)
		return ftruncate(w->spool, 0) == 0 ? 0 : -1;
	return (w->spool = tsarc_scratch_file()) >= 0 ? 0 : -1;
}

static int all_zero(const char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/*
 * Reads a regular file before its header is written, because a tar
 * header states the size before the data and the file may change while
 * it is read (system-storage is a live volume). Up to the size fstat gave
 * when the walk opened it (`st`), into w->buf (files up to 1 MiB) or the
 * spool: *got is what the file really had. Like GNU tar, a file that
 * changed is named in a warning; unlike it, a file that shrank is stored
 * with the bytes it had, not padded with zeros, and one that grew with its
 * first `want` bytes.
 */
static int read_whole(walk *w, int fd, const char *path, const struct stat *st, uint64_t *got,
	int *spooled)
{
	uint64_t want = (uint64_t)st->st_size, have = 0;
	int big = want > BUF_SIZE;
	struct stat b;
	char probe;
	ssize_t n;

	/* libarchive may have looked for holes with this descriptor. */
	if (lseek(fd, 0, SEEK_SET) != 0) {
		snprintf(w->err, w->errsz, "reading %s: %s", path, strerror(errno));
		return TSARC_EIO;
	}
	if (big && spool_open(w) != 0) {
		snprintf(w->err, w->errsz, "cannot make a spool file in TMPDIR for %s: %s", path,
			strerror(errno));
		return TSARC_EIO;
	}
	while (have < want) {
		size_t room = big ? BUF_SIZE : (size_t)(want - have);
		if (room > want - have)
			room = (size_t)(want - have);
		if (stopped(w))
			return TSARC_ECANCELED;
		n = read(fd, big ? w->buf : w->buf + have, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(w->err, w->errsz, "reading %s: %s", path, strerror(errno));
			return TSARC_EIO;
		}
		if (n == 0)
			break;
		/* Zeros are not written: the spool stays as sparse as the file. */
		if (big && !all_zero(w->buf, (size_t)n) &&
			tsarc_pwrite_all(w->spool, w->buf, (size_t)n, (off_t)have) != 0) {
			snprintf(w->err, w->errsz, "spooling %s into TMPDIR: %s", path, strerror(errno));
			return TSARC_EIO;
		}
		have += (uint64_t)n;
	}
	if (big && ftruncate(w->spool, (off_t)have) != 0) {
		snprintf(w->err, w->errsz, "spooling %s into TMPDIR: %s", path, strerror(errno));
		return TSARC_EIO;
	}
	while ((n = read(fd, &probe, 1)) < 0 && errno == EINTR)
		;
	if (have < want)
		tsarc__log(TSARC_LOG_WARN, "files", "file_shrank", "%s: file shrank by %llu bytes "
			"while read; stored the %llu bytes it had", path, (unsigned long long)(want - have),
			(unsigned long long)have);
	else if (n > 0)
		tsarc__log(TSARC_LOG_WARN, "files", "file_grew", "%s: file grew while read; stored "
			"its first %llu bytes", path, (unsigned long long)want);
	else if (fstat(fd, &b) == 0 && (b.st_mtim.tv_sec != st->st_mtim.tv_sec ||
			 b.st_mtim.tv_nsec != st->st_mtim.tv_nsec))
		tsarc__log(TSARC_LOG_WARN, "files", "file_changed", "%s: file changed while read",
			path);
	*got = have;
	*spooled = big;
	return 0;
}

/* The bytes read_whole kept, into the archive. */
static int write_kept(walk *w, const char *path, uint64_t len, int spooled)
{
	uint64_t done = 0;

	if (!spooled) {
		if (archive_write_data(w->aw, w->buf, (size_t)len) != (la_ssize_t)len)
			goto fail;
		return 0;
	}
	while (done < len) {
		size_t room = len - done < BUF_SIZE ? (size_t)(len - done) : BUF_SIZE;
		ssize_t n;
		if (stopped(w))
			return TSARC_ECANCELED;
		n = pread(w->spool, w->buf, room, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(w->err, w->errsz, "reading back the spool of %s: %s", path,
				n < 0 ? strerror(errno) : "it is shorter than written");
			return TSARC_EIO;
		}
		if (archive_write_data(w->aw, w->buf, (size_t)n) != n)
			goto fail;
		done += (uint64_t)n;
	}
	return 0;
fail:
	snprintf(w->err, w->errsz, "%s: %s", path, archive_error_string(w->aw) ?
		archive_error_string(w->aw) : "the archive took fewer bytes than its header says");
	return TSARC_EIO;
}

/* Writes an entry (and its data) whose hard-link state is resolved: a
 * file's bytes are read first from `fd`, the file the walk opened (`st`
 * its fstat then), and its header says how many it had. */
static int emit(walk *w, struct archive_entry *e, int fd, const struct stat *st)
{
	const char *src = archive_entry_sourcepath(e) ? archive_entry_sourcepath(e) :
		archive_entry_pathname(e);
	uint64_t got = 0;
	int spooled = 0;
	/* Empty ones too: one that grew since it was opened is named. Later
	 * links of a hard-linked file carry no data. */
	int data = archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e);
	int r, rc;

	if (data) {
		if (fd < 0 || !st) {
			snprintf(w->err, w->errsz, "%s: no open file to read its data from", src);
			return TSARC_EIO;
		}
		if ((rc = read_whole(w, fd, src, st, &got, &spooled)))
			return rc;
		archive_entry_set_size(e, (la_int64_t)got);
	}
	r = archive_write_header(w->aw, e);
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		snprintf(w->err, w->errsz, "%s: %s", archive_entry_pathname(e),
			archive_error_string(w->aw));
		return TSARC_EIO;
	}
	return data ? write_kept(w, src, got, spooled) : 0;
}

/* A symlink's entry, its text read beside its parent (`dfd`): no name
 * of the path is resolved again, so a folder above it swapped for a link
 * cannot make the walk read another link's text. GONE when it is no
 * longer a symlink. */
static int symlink_entry(walk *w, struct archive_entry *e, int dfd, const char *name,
	const char *full, const struct stat *st)
{
	size_t cap = st->st_size > 0 && st->st_size < 65536 ? (size_t)st->st_size + 1 : 256;
	const char *owner;
	char *text = NULL;
	ssize_t n;

	for (;;) {
		char *grown = realloc(text, cap);
		if (!grown) {
			free(text);
			snprintf(w->err, w->errsz, "out of memory");
			return TSARC_ENOMEM;
		}
		text = grown;
		if ((n = readlinkat(dfd, name, text, cap)) < 0) {
			int err = errno;
			free(text);
			if (err == ENOENT || err == EINVAL)
				return GONE;
			snprintf(w->err, w->errsz, "cannot read the link %s: %s", full, strerror(err));
			return TSARC_EIO;
		}
		if ((size_t)n < cap)
			break;
		if (cap > (1u << 20)) {
			free(text);
			snprintf(w->err, w->errsz, "%s: a link text longer than 1 MiB", full);
			return TSARC_EIO;
		}
		cap *= 2;
	}
	text[n] = '\0';
	archive_entry_copy_stat(e, st);
	archive_entry_copy_symlink(e, text);
	free(text);
	/* Owner names as archive_read_disk_entry_from_file looks them up. */
	if ((owner = archive_read_disk_uname(w->disk, (la_int64_t)st->st_uid)))
		archive_entry_copy_uname(e, owner);
	if ((owner = archive_read_disk_gname(w->disk, (la_int64_t)st->st_gid)))
		archive_entry_copy_gname(e, owner);
	return 0;
}

/*
 * One POSIX ACL of the entry open on `fd`, from the extended attribute the
 * kernel keeps it in (`attr`: system.posix_acl_access, or a folder's
 * system.posix_acl_default): a version (2), then {tag, perm, id} each, in
 * little-endian 16, 16 and 32 bits. libarchive reads the access ACL from
 * the descriptor but a folder's default ACL by the entry's path (libacl
 * has no call for it by descriptor): a folder swapped for a symlink after
 * the walk opened it would give the snapshot another folder's default
 * ACL, and a path longer than PATH_MAX none. So the walk reads both here
 * (libarchive's own ACL reading is off: ARCHIVE_READDISK_NO_ACL), and adds
 * them as libarchive's would: names of users and groups looked up, the
 * owner, group and other entries of an access ACL into its mode.
 * w->buf is free until the entry's data is read.
 */
static int fd_acl(walk *w, struct archive_entry *e, int fd, const char *attr, int type,
	const char *full)
{
	const unsigned char *p = (const unsigned char *)w->buf, *end;
	ssize_t n = fgetxattr(fd, attr, w->buf, BUF_SIZE);

	if (n < 0) {
		/* None, or a filesystem without ACLs: as libarchive, nothing. */
		if (errno == ENODATA || errno == ENOTSUP || errno == EOPNOTSUPP)
			return 0;
		snprintf(w->err, w->errsz, "cannot read the ACL of %s (%s): %s", full, attr,
			strerror(errno));
		return TSARC_EIO;
	}
	if (n < 4 || (n - 4) % 8 || p[0] != 2 || p[1] || p[2] || p[3])
		goto bad;
	for (end = p + n, p += 4; p < end; p += 8) {
		unsigned tag = (unsigned)p[0] | (unsigned)p[1] << 8;
		unsigned perm = (unsigned)p[2] | (unsigned)p[3] << 8;
		uint32_t id = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
			(uint32_t)p[7] << 24;
		int atag, aperm = (perm & 4 ? ARCHIVE_ENTRY_ACL_READ : 0) |
			(perm & 2 ? ARCHIVE_ENTRY_ACL_WRITE : 0) |
			(perm & 1 ? ARCHIVE_ENTRY_ACL_EXECUTE : 0);
		const char *name = NULL;
		int aid = -1;
		switch (tag) {
		case 0x01: atag = ARCHIVE_ENTRY_ACL_USER_OBJ; break;
		case 0x02:
			atag = ARCHIVE_ENTRY_ACL_USER;
			aid = (int)id;
			name = archive_read_disk_uname(w->disk, (la_int64_t)id);
			break;
		case 0x04: atag = ARCHIVE_ENTRY_ACL_GROUP_OBJ; break;
		case 0x08:
			atag = ARCHIVE_ENTRY_ACL_GROUP;
			aid = (int)id;
			name = archive_read_disk_gname(w->disk, (la_int64_t)id);
			break;
		case 0x10: atag = ARCHIVE_ENTRY_ACL_MASK; break;
		case 0x20: atag = ARCHIVE_ENTRY_ACL_OTHER; break;
		default: goto bad;
		}
		if (archive_entry_acl_add_entry(e, type, aperm, atag, aid, name) != ARCHIVE_OK)
			goto bad;
	}
	return 0;
bad:
	snprintf(w->err, w->errsz, "%s: its %s is not an ACL tsarc can read", full, attr);
	return TSARC_EIO;
}

/* The names in the folder open on `dfd` (not "." and ".."), sorted. */
static int list_folder(walk *w, int dfd, const char *full, char ***out, size_t *count)
{
	int rc = tsarc_list_folder(dfd, out, count);

	if (rc)
		snprintf(w->err, w->errsz, "cannot read %s (%s)", full, tsarc_error_last()->message);
	return rc;
}

/* Leaves the repository's folder out: named in a warning, and in the
 * stream's metadata and the report. The tree's root itself cannot be. */
static int repository_left_out(walk *w, const char *full, const char *rel, int depth)
{
	static const char why[] = "the repository this backup writes to: its packs, index and "
		"locks are not the tree's data, and a copy of them in each snapshot would hold "
		"all the snapshots before it";
	cJSON *e;

	if (depth == 0) {
		snprintf(w->err, w->errsz, "%s is the repository this backup writes to (%s): "
			"back up the tree it holds, or put the repository elsewhere", full,
			w->t->repo_path);
		return TSARC_ECONFIG;
	}
	tsarc__log(TSARC_LOG_WARN, "files", "repository_excluded", "%s: left out of the "
		"snapshot, %s (%s)", full, why, w->t->repo_path);
	if ((!w->t->excluded && !(w->t->excluded = cJSON_CreateArray())) ||
		!(e = cJSON_CreateObject()) || !cJSON_AddItemToArray(w->t->excluded, e) ||
		!cJSON_AddStringToObject(e, "path", rel) || !cJSON_AddStringToObject(e, "why", why)) {
		snprintf(w->err, w->errsz, "out of memory");
		return TSARC_ENOMEM;
	}
	return 0;
}

/*
 * One entry: `name` in the folder open on `parent` (the root itself at
 * depth 0: `full`, opened as `tar -C ROOT .` takes it, a symlink to the
 * folder followed). Then, a folder, its children in name order. The order
 * is `tar`'s own: a directory's whole subtree follows it, so GNU tar sets
 * each directory's mtime after filling it; sorted names make the stream
 * the same from one backup to the next (better deduplication).
 *
 * Every entry below the root is looked at, opened and read beside its
 * parent's descriptor, never by a path from the root, and with
 * O_NOFOLLOW: the tree is live (a pod writes the volume), and a folder
 * swapped for a symlink between its listing and its reading must not take
 * the walk outside the tree (a host folder into the snapshot, and through
 * its restore into the volume). `full` only names the entry in messages.
 */
static int walk_path(walk *w, int parent, const char *name, const char *full, const char *rel,
	int depth)
{
	struct archive_entry *e = NULL, *sparse = NULL;
	struct stat st;
	char **names = NULL;
	size_t n = 0, i;
	int fd = -1, rc = 0;

	if (atomic_load(w->stop)) {
		snprintf(w->err, w->errsz, "stopped");
		return TSARC_ECANCELED;
	}
	if (depth > 512) {
		snprintf(w->err, w->errsz, "%s: directories nested too deep", full);
		return TSARC_EIO;
	}
	if (depth == 0) {
		if ((fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
			snprintf(w->err, w->errsz, "cannot open %s: %s", full, strerror(errno));
			if (fd >= 0)
				close(fd);
			return TSARC_EIO;
		}
	} else if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT) {
			tsarc__log(TSARC_LOG_WARN, "files", "file_vanished",
				"%s: removed while the backup read the tree; left out", full);
			return 0;
		}
		snprintf(w->err, w->errsz, "cannot stat %s: %s", full, strerror(errno));
		return TSARC_EIO;
	}
	/* What a restore would not make either: named, left out. */
	if (S_ISSOCK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) ||
		S_ISBLK(st.st_mode)) {
		tsarc__log(TSARC_LOG_WARN, "files", "file_skipped", "%s: skipped, %s is not backed up",
			full,
			S_ISSOCK(st.st_mode) ? "a socket" : S_ISFIFO(st.st_mode) ? "a fifo" : "a device");
		return 0;
	}
	/* tsarc's own swap journal (a restore under way) is not data. */
	if (depth == 1 && tsarc_tree_reserved_name(name)) {
		tsarc__log(TSARC_LOG_WARN, "files", "file_skipped", "%s: skipped, a restore's swap "
			"journal (a restore into this folder is under way or was interrupted)", full);
		return 0;
	}
	/* Nor the new tree such a restore was extracting, which the next
	 * restore into the folder deletes: a copy of it in a snapshot would
	 * come back as data with every restore of that snapshot. */
	if (depth == 1 && ((w->staging[0] && !strcmp(name, w->staging)) ||
		(w->old[0] && !strcmp(name, w->old)))) {
		tsarc__log(TSARC_LOG_WARN, "files", "file_skipped", "%s: skipped, the folder of a "
			"restore into this folder that is under way or was interrupted (its swap "
			"journal names it)", full);
		return 0;
	}
	/* A folder or file is read through the descriptor opened here: what
	 * is there now, of the same kind, never a link followed. */
	if (depth > 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
		struct stat now;
		fd = openat(parent, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
			(S_ISDIR(st.st_mode) ? O_DIRECTORY : O_NONBLOCK));
		if (fd < 0 ? errno == ENOENT || errno == ELOOP || errno == ENOTDIR :
			     fstat(fd, &now) != 0 || (now.st_mode & S_IFMT) != (st.st_mode & S_IFMT)) {
			tsarc__log(TSARC_LOG_WARN, "files", "file_vanished", "%s: removed or replaced "
				"while the backup read the tree; left out", full);
			if (fd >= 0)
				close(fd);
			return 0;
		}
		if (fd < 0) {
			snprintf(w->err, w->errsz, "cannot open %s: %s", full, strerror(errno));
			return TSARC_EIO;
		}
		st = now;
	}
	/* The repository this backup writes to, inside the tree: its packs,
	 * index and locks are not the tree's data, and a copy of them in
	 * every snapshot would hold all the snapshots before it (the
	 * repository growing by itself at every backup). Known by the
	 * descriptor's device and inode: another spelling of either path, or
	 * a bind mount of the repository, is the same folder. */
	if (S_ISDIR(st.st_mode) && w->t->repo_known && st.st_dev == w->t->repo_dev &&
		st.st_ino == w->t->repo_ino) {
		rc = repository_left_out(w, full, rel, depth);
		goto done;
	}
	if (!(e = archive_entry_new())) {
		snprintf(w->err, w->errsz, "out of memory");
		rc = TSARC_ENOMEM;
		goto done;
	}
	archive_entry_copy_sourcepath(e, full);
	if (S_ISLNK(st.st_mode)) {
		if ((rc = symlink_entry(w, e, parent, name, full, &st)) == GONE) {
			tsarc__log(TSARC_LOG_WARN, "files", "file_vanished", "%s: removed or replaced "
				"while the backup read the tree; left out", full);
			rc = 0;
			goto done;
		}
		if (rc)
			goto done;
	} else if (archive_read_disk_entry_from_file(w->disk, e, fd, &st) != ARCHIVE_OK) {
		snprintf(w->err, w->errsz, "%s: %s", full, archive_error_string(w->disk));
		rc = TSARC_EIO;
		goto done;
	} else if ((rc = fd_acl(w, e, fd, "system.posix_acl_access",
			    ARCHIVE_ENTRY_ACL_TYPE_ACCESS, full)) ||
		   (S_ISDIR(st.st_mode) && (rc = fd_acl(w, e, fd, "system.posix_acl_default",
						    ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, full)))) {
		goto done;
	}
	archive_entry_copy_pathname(e, rel);
	/* Holes are stored as zeros: the data is written sequentially. */
	archive_entry_sparse_clear(e);
	/* Access and change times move on every read: keeping them would make
	 * every backup's stream differ and defeat deduplication; a restore
	 * sets mtimes, which is what tar keeps too. */
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	archive_entry_unset_birthtime(e);
	/* Hard links: the first one carries the data, later ones link. */
	archive_entry_linkify(w->links, &e, &sparse);
	if (e)
		rc = emit(w, e, fd, &st);
	if (!rc && sparse)
		rc = emit(w, sparse, -1, NULL);
	if (rc || !S_ISDIR(st.st_mode))
		goto done;
	rc = list_folder(w, fd, full, &names, &n);
	for (i = 0; i < n && !rc; i++) {
		char *cfull = NULL, *crel = NULL;
		if (asprintf(&cfull, "%s/%s", full, names[i]) < 0 ||
			asprintf(&crel, "%s/%s", rel, names[i]) < 0) {
			snprintf(w->err, w->errsz, "out of memory");
			rc = TSARC_ENOMEM;
		} else
			rc = walk_path(w, fd, names[i], cfull, crel, depth + 1);
		free(cfull);
		free(crel);
	}
	tsarc_list_folder_free(names, n);
done:
	archive_entry_free(e);
	archive_entry_free(sparse);
	if (fd >= 0)
		close(fd);
	return rc;
}

/*
 * A restore into the tree that was killed, or is running, left its journal
 * (tree_restore.h). Before its swap the tree is the old one: backed up,
 * without the restore's folders. Once the swap has begun the tree is part
 * old, part new, and a snapshot of it would be neither: the backup of the
 * component fails, saying so, until a restore into it ends the swap.
 */
static int interrupted_restore(walk *w, const char *root)
{
	int phase = 0, rc = tsarc_tree_interrupted(root, &phase, w->staging, w->old);

	if (rc == 1 && phase > 0) {
		snprintf(w->err, w->errsz, "%s: a restore into it stopped during its swap (its swap "
			"journal says phase %d): the tree is part old, part new, and is not backed up; "
			"the next restore into %s finishes the swap first", root, phase, root);
		return TSARC_EGENERIC;
	}
	if (rc < 0) {
		/* A journal tsarc did not write: left out as before, nothing
		 * else is. */
		tsarc_error_clear();
		w->staging[0] = w->old[0] = '\0';
	}
	return 0;
}

static int tar_writer(int fd, void *ctx, const atomic_int *stop, char *err, size_t errsz)
{
	tar_ctx *t = ctx;
	struct archive_entry *e = NULL, *sparse = NULL;
	walk w;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.t = t;
	w.stop = stop;
	w.err = err;
	w.errsz = errsz;
	w.disk = archive_read_disk_new();
	w.aw = archive_write_new();
	w.links = archive_entry_linkresolver_new();
	w.spool = -1;
	w.buf = malloc(BUF_SIZE);
	if (!w.disk || !w.aw || !w.links || !w.buf) {
		snprintf(err, errsz, "out of memory");
		rc = TSARC_ENOMEM;
		goto done;
	}
	/* Owner names looked up so that a restore can map them; ids kept too. */
	archive_read_disk_set_standard_lookup(w.disk);
	/* ACLs are read from the walk's descriptors (fd_acl), never by path. */
	archive_read_disk_set_behavior(w.disk, ARCHIVE_READDISK_NO_ACL);
	/* Full pax: sub-second times and long names kept exactly. */
	if ((rc = tsarc_tar_pax_writer(w.aw))) {
		snprintf(err, errsz, "%s", tsarc_error_last()->message);
		goto done;
	}
	archive_write_set_bytes_per_block(w.aw, 10240);
	archive_entry_linkresolver_set_strategy(w.links, archive_format(w.aw));
	if (archive_write_open2(w.aw, &fd, NULL, write_cb, NULL, NULL) != ARCHIVE_OK) {
		snprintf(err, errsz, "%s", archive_error_string(w.aw));
		rc = TSARC_EIO;
		goto done;
	}
	if ((rc = interrupted_restore(&w, t->root)))
		goto done;
	/* Names relative to the root, as `tar -C ROOT .` writes them. */
	if ((rc = walk_path(&w, -1, ".", t->root, ".", 0)))
		goto done;
	/* Hard-linked files whose other links are outside the tree. */
	archive_entry_linkify(w.links, &e, &sparse);
	while (e) {
		rc = emit(&w, e, -1, NULL);
		archive_entry_free(e);
		e = NULL;
		if (rc)
			goto done;
		archive_entry_linkify(w.links, &e, &sparse);
	}
	if (archive_write_close(w.aw) != ARCHIVE_OK) {
		snprintf(err, errsz, "%s", archive_error_string(w.aw));
		rc = TSARC_EIO;
	}
done:
	free(w.buf);
	if (w.spool >= 0)
		close(w.spool);
	if (w.links)
		archive_entry_linkresolver_free(w.links);
	if (w.disk)
		archive_read_free(w.disk);
	if (w.aw)
		archive_write_free(w.aw);
	return rc;
}

/* The pod's tar, when the component names no tool: `sh -c SCRIPT tar
 * [options] -C PATH .` (see files_prepare). */
static const char pod_tar_script[] =
	"case \"$(tar --version 2>/dev/null)\" in *'GNU tar'*) exec tar --format=posix -cf - \"$@\";; "
	"esac; exec tar -cf - \"$@\"";

static const char *version_details;
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void version_init(void)
{
	version_details = archive_version_details();
}

static int files_prepare(tsarc_component *c, tsarc_production *out)
{
	const char *path = tsarc_spec_str(c->spec, "path");
	tar_ctx *t;
	struct stat st;
	int rc;

	if (!(out->meta = cJSON_CreateObject()) || !cJSON_AddStringToObject(out->meta, "path", path))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	cJSON_AddStringToObject(out->meta, "format", "tar (pax)");
	/* Where paths are not this host's, tar runs where they are. */
	if (!(c->tr->caps & TSARC_TR_HOST_FILES)) {
		const char *tool = tsarc_spec_str(c->spec, "tool");
		/* In the pod: numeric owners are what the image's tar keeps anyway.
		 * The image's own tar (no "tool"): GNU tar's default format keeps
		 * whole seconds of an mtime, and tar_intake can keep only what it
		 * is given, so GNU tar writes pax, which keeps what the files have
		 * (as this host's archive does); another tar (busybox) gets no
		 * option it may not know. */
		if (!tool) {
			if ((rc = tsarc_cmd_arg(&out->cmd, "sh")) ||
				(rc = tsarc_cmd_arg(&out->cmd, "-c")) ||
				(rc = tsarc_cmd_arg(&out->cmd, pod_tar_script)) ||
				(rc = tsarc_cmd_arg(&out->cmd, "tar")))
				return rc;
			tool = "tar";
		} else if ((rc = tsarc_cmd_arg(&out->cmd, tool)) ||
			   (rc = tsarc_cmd_arg(&out->cmd, "cf")) || (rc = tsarc_cmd_arg(&out->cmd, "-"))) {
			return rc;
		}
		if ((rc = tsarc_spec_add_args(&out->cmd, c->spec, "options", c->name)) ||
			(rc = tsarc_cmd_arg(&out->cmd, "-C")) || (rc = tsarc_cmd_arg(&out->cmd, path)) ||
			(rc = tsarc_cmd_arg(&out->cmd, ".")) ||
			(rc = tsarc_cmd_arg(&out->version_cmd, tool)) ||
			(rc = tsarc_cmd_arg(&out->version_cmd, "--version")))
			return rc;
		/* The tree is live there too: what tar says of the files that
		 * changed while it read them becomes warnings (tar_stderr.h),
		 * and its archive is taken in as this host's would be written:
		 * no zeros tar padded a shrunk file with, no fifos or devices
		 * (tar_intake.h). */
		if (!(out->writer_ctx = tsarc_tar_stderr_new(tool, path)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		out->writer_ctx_free = tsarc_tar_stderr_free;
		out->stderr_line = tsarc_tar_stderr_line;
		out->stderr_end = tsarc_tar_stderr_end;
		out->exit_ok = tsarc_tar_stderr_exit_ok;
		out->filter = tsarc_tar_intake;
		return 0;
	}
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return tsarc_error_set(TSARC_ENOTFOUND, "component '%s': %s is not a directory",
			c->name, path);
	if (!(t = calloc(1, sizeof(*t))) || !(t->root = strdup(path))) {
		free(t);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	/* No trailing slash: entry names are cut at the root's length. */
	while (strlen(t->root) > 1 && t->root[strlen(t->root) - 1] == '/')
		t->root[strlen(t->root) - 1] = '\0';
	/* The backup's own folder repository, found by device and inode. */
	if (c->repo && c->repo->store && c->repo->store->kind &&
		!strcmp(c->repo->store->kind, "fs") && tsarc_store_describe(c->repo->store) &&
		stat(tsarc_store_describe(c->repo->store), &st) == 0 && S_ISDIR(st.st_mode)) {
		if (!(t->repo_path = strdup(tsarc_store_describe(c->repo->store)))) {
			tar_ctx_free(t);
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		}
		t->repo_known = 1;
		t->repo_dev = st.st_dev;
		t->repo_ino = st.st_ino;
	}
	out->writer = tar_writer;
	out->writer_ctx = t;
	out->writer_ctx_free = tar_ctx_free;
	out->writer_meta = tar_meta;
	/* archive_version_details builds its text in a static buffer: once,
	 * not from every component's thread at the same time. */
	pthread_once(&version_once, version_init);
	out->version_text = version_details;
	return 0;
}

/* ---- restore: replace the tree (system-storage) ---- */

/* The transport replaces the tree where it keeps files: tsarc itself on
 * this host, a checked and rewritten stream into the pod in a cluster
 * (transport.h, replace_tree). */
static int files_restore(tsarc_restore_ctx *r, tsarc_step *s)
{
	const char *path = tsarc_spec_str(s->spec, "path");
	tsarc_component c;
	char *note = NULL;
	int rc;

	if (!path)
		path = tsarc_spec_str(s->recipe, "path");
	if (!path)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': no \"path\" to restore into",
			s->component);
	if ((rc = tsarc_step_component(r, s, &c)))
		return rc;
	if (!c.tr->replace_tree)
		rc = tsarc_error_set(TSARC_EUNSUPPORTED, "component '%s': the %s transport cannot "
			"replace a tree", s->component, c.tr->type);
	else if (!(rc = c.tr->replace_tree(c.tr, &c, r->repo, s->st, r->o->inflight, path, &note)))
		tsarc_step_note(s, "%s", note ? note : "restored");
	free(note);
	tsarc_component_clear(&c);
	return rc;
}

static void files_describe(tsarc_restore_ctx *r, const tsarc_step *s, const char *where,
	cJSON *plan)
{
	(void)r;
	(void)s;
	cJSON_AddStringToObject(plan, "target", where);
	cJSON_AddStringToObject(plan, "replaces", "the whole tree (files not in the backup are "
		"deleted)");
}

/* A bucket's objects, restored onto a volume (s3sys/convert.c). */
static const tsarc_stream_conversion *const FILES_CONVERTS[] = {&tsarc_s3sys_to_tree, NULL};

const tsarc_kind tsarc_kind_files = {
	.name = "files", .extension = ".tar", .runs_in_pod = 1, .action = "replace-tree",
	.action_for_any_kind = 1, .target = TSARC_TARGET_TREE, .fields = FILES_FIELDS,
	.validate = files_validate, .converts = FILES_CONVERTS,
	.dump = files_prepare, .describe = files_describe, .restore = files_restore};
