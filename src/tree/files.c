/*
 * A tree archive read as the files it holds, for a restore into a place
 * that keeps only files under names (an S3 bucket: system-storage backed
 * up from a volume, restored into a target that keeps its files in S3;
 * backends/components/s3sys/convert.c). The entries are taken by the
 * rules of every reader of a tree archive (entry.c: names that climb or
 * are absolute refused, fifos and devices skipped, tar's padding of a file
 * that shrank left out), so a conversion takes exactly the files a restore
 * into a folder would write. Folders are passed over: a file's name says
 * them. Links are refused by name: a bucket cannot hold what they mean,
 * and leaving them out would restore a tree that is not the backup's.
 */
#include "internal.h"
#include "tsarc/errors.h"

#include <string.h>

#define NO_LINKS_ADVICE "put a copy of the file in the link's place in the source tree and " \
	"back it up again, or restore into a target that keeps the tree in a folder"

typedef struct each_file {
	tsarc_tree_file_fn fn;
	void *ctx;
} each_file;

static int take_entry(void *ctx, struct archive *in, struct archive_entry *e, const char *name,
	const char *hard, int root)
{
	each_file *x = ctx;
	mode_t type = archive_entry_filetype(e);
	la_int64_t size = archive_entry_size(e);

	if (root || (type == AE_IFDIR && !hard))
		return 0;
	if (hard)
		return tsarc_error_set(TSARC_EUNSUPPORTED, "tar entry '%s' is a hard link to '%s': "
			"only files can be copied into a place without links; %s", name, hard,
			NO_LINKS_ADVICE);
	if (type == AE_IFLNK)
		return tsarc_error_set(TSARC_EUNSUPPORTED, "tar entry '%s' is a symbolic link (to "
			"'%s'): only files can be copied into a place without links; %s", name,
			archive_entry_symlink(e) ? archive_entry_symlink(e) : "", NO_LINKS_ADVICE);
	if (size < 0 || !archive_entry_size_is_set(e))
		return tsarc_error_set(TSARC_ECORRUPT, "tar entry '%s' has no size", name);
	return x->fn(x->ctx, in, name, (uint64_t)size, (int64_t)archive_entry_mtime(e));
}

int tsarc_tree_each_file(const cJSON *meta, int fd, tsarc_tree_file_fn fn, void *ctx)
{
	tsarc_tree_padding *pad = NULL;
	each_file x;
	uint64_t skipped = 0;
	int rc;

	if ((rc = tsarc_tree_padding_parse(meta, &pad)))
		return rc;
	x.fn = fn;
	x.ctx = ctx;
	rc = tsarc__tree_for_each_entry(fd, 0, &skipped, pad, take_entry, &x);
	/* Past the archive's end, so that whoever writes fd (the feeder)
	 * finishes its verification. */
	if (!rc)
		rc = tsarc__tree_read_to_end(fd);
	tsarc_tree_padding_free(pad);
	return rc;
}

int tsarc_tree_file_data(struct archive *in, const char *name, uint64_t size,
	tsarc_tree_data_fn out, void *ctx)
{
	static const char zeros[65536];
	const void *buf;
	size_t len, keep;
	la_int64_t offset;
	uint64_t at = 0;
	int r, rc;

	for (;;) {
		r = archive_read_data_block(in, &buf, &len, &offset);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN)
			return tsarc_error_set(TSARC_ECORRUPT, "reading the tar stream: %s",
				archive_error_string(in));
		if (offset < 0 || (uint64_t)offset < at)
			return tsarc_error_set(TSARC_ECORRUPT, "tar entry '%s': its data goes back "
				"to offset %lld", name, (long long)offset);
		if ((rc = tsarc__tree_data_kept(name, buf, len, (uint64_t)offset, size, &keep)))
			return rc;
		/* A hole of a sparse file: its zeros, written out. */
		while (at < (uint64_t)offset && at < size) {
			uint64_t n = (uint64_t)offset - at;
			n = n > sizeof(zeros) ? sizeof(zeros) : n;
			if ((rc = out(ctx, zeros, (size_t)n)))
				return rc;
			at += n;
		}
		if (keep && (rc = out(ctx, buf, keep)))
			return rc;
		at += keep;
	}
	/* A hole at the end. */
	while (at < size) {
		uint64_t n = size - at > sizeof(zeros) ? sizeof(zeros) : size - at;
		if ((rc = out(ctx, zeros, (size_t)n)))
			return rc;
		at += n;
	}
	return 0;
}
