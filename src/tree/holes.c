/*
 * File data of a restored entry. Kept apart from the writer because its
 * rule is subtle: whole 4 KiB blocks of zeros are never written, so a
 * sparse file comes back sparse whether the archive recorded its holes or
 * stored them as zeros.
 */
#include "internal.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

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

int tsarc__tree_data_kept(const char *name, const void *buf, size_t len, uint64_t offset,
	uint64_t limit, size_t *keep)
{
	/* Past the entry's size: the zeros tar padded a shrunk file with
	 * (padding.c), never written. */
	*keep = offset >= limit ? 0 : limit - offset < len ? (size_t)(limit - offset) : len;
	return tsarc__tree_padding_zeros(name, (const char *)buf + *keep, len - *keep);
}

int tsarc__tree_write_data(struct archive *in, int fd, const char *name, uint64_t limit,
	uint64_t *bytes)
{
	const void *buf;
	size_t size, keep;
	la_int64_t offset;
	int r, rc;

	for (;;) {
		r = archive_read_data_block(in, &buf, &size, &offset);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN)
			return tsarc_error_set(TSARC_ECORRUPT, "reading the tar stream: %s",
				archive_error_string(in));
		if ((rc = tsarc__tree_data_kept(name, buf, size, (uint64_t)offset, limit, &keep)) ||
			(rc = pwrite_holes(fd, buf, keep, (off_t)offset, bytes)))
			return rc;
	}
}
