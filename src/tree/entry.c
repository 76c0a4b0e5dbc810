/*
 * The rules for a tree archive's entries, in one place, because three
 * readers apply them (the local restore, the check before a pod restore,
 * the rewrite sent to the pod) and must take exactly the same entries: a
 * name that is absolute, climbs with "..", or a link whose text leaves the
 * tree is refused whole (TSARC_EUNSAFE); fifos, sockets, devices and
 * tsarc's own journal are skipped, as a backup skips them. Links that
 * leave the tree only together are caught later, on the staged tree
 * (stage.c), where they can be walked as the kernel would.
 */
#include "internal.h"
#include "log.h"
#include "tsarc/errors.h"

#include <string.h>

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

enum { ENTRY_TAKE = 0, ENTRY_ROOT = 1, ENTRY_SKIP = 2 };

int tsarc_tree_reserved_name(const char *name)
{
	return (!strncmp(name, TSARC_TREE_JOURNAL_NAME, strlen(TSARC_TREE_JOURNAL_NAME)) ||
		       !strncmp(name, TSARC_TREE_JOURNAL_TMP_PREFIX, strlen(TSARC_TREE_JOURNAL_TMP_PREFIX))) &&
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
int tsarc__tree_for_each_entry(int fd, int warn, uint64_t *skipped,
	const tsarc_tree_padding *pad, tsarc_tree_entry_fn fn, void *ctx)
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
		char name[TSARC_TREE_PATH_MAX];
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
		/* A file that shrank while tar read it: its bytes, not tar's zeros. */
		if (pad && !hard && archive_entry_filetype(e) == AE_IFREG) {
			uint64_t zeros = tsarc__tree_padding_find(pad, name);
			la_int64_t size = archive_entry_size(e);
			if (zeros && (size < 0 || zeros > (uint64_t)size)) {
				rc = tsarc_error_set(TSARC_ECORRUPT, "tar entry '%s' holds %lld bytes, "
					"fewer than the %llu bytes of padding the stream's metadata names",
					name, (long long)size, (unsigned long long)zeros);
				goto done;
			}
			if (zeros)
				archive_entry_set_size(e, size - (la_int64_t)zeros);
		}
		if ((rc = fn(ctx, in, e, name, hard, v == ENTRY_ROOT)))
			goto done;
	}
done:
	archive_read_free(in);
	return rc;
}
