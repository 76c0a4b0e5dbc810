/*
 * The pod tar's archive into the stream: entries passed through, fifos
 * and devices left out, padded files held back until tar's stderr says
 * how many zeros it added (tar_intake.h).
 */
#include "tar_intake.h"
#include "fileio.h"
#include "grow.h"
#include "log.h"
#include "tar_stderr.h"
#include "tree_restore.h"
#include "tsarc/errors.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEM_MAX (1u << 20)

/* An entry held back, or a folder to write again after them. */
typedef struct held {
	struct archive_entry *e;
	uint64_t off, len; /* its data in the scratch file */
	uint64_t zeros;    /* how many of those bytes at the end are zeros */
	int folder;
} held;

/* A folder above the entry being read (tar writes a folder's subtree
 * right after it). */
typedef struct above {
	struct archive_entry *e;
	size_t len; /* of its name without a trailing slash */
	int held;   /* already to be written again */
} above;

typedef struct intake {
	tsarc_tar_stderr *t;
	const atomic_int *stop;
	struct archive *in, *out;
	char *buf;        /* MEM_MAX + 1: a small entry's data, or a copy buffer */
	int scratch;      /* held data first, then the data of the entry being read */
	uint64_t kept;    /* bytes of held data at the start of scratch */
	held *held;
	size_t nheld, held_cap;
	above *above;
	size_t nabove, above_cap;
	char *err;
	size_t errsz;
} intake;

static int fail(intake *k, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(intake *k, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->err, k->errsz, fmt, ap);
	va_end(ap);
	return code;
}

static int write_failed(intake *k, const char *name)
{
	return fail(k, TSARC_EIO, "writing %s into the stream: %s", name,
		archive_error_string(k->out) ? archive_error_string(k->out) : "short write");
}

static la_ssize_t write_out(struct archive *a, void *ud, const void *buf, size_t len)
{
	if (tsarc_write_all(*(int *)ud, buf, len) != 0) {
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)len;
}

static size_t trailing_zeros(const char *p, size_t n)
{
	size_t z = 0;

	while (z < n && p[n - 1 - z] == 0)
		z++;
	return z;
}

static int scratch_open(intake *k, const char *name)
{
	if (k->scratch < 0 && (k->scratch = tsarc_scratch_file()) < 0)
		return fail(k, TSARC_EIO, "%s: cannot make scratch space in TMPDIR: %s", name,
			strerror(errno));
	return 0;
}

/*
 * Reads the entry's data (its header says `size` bytes): into k->buf when
 * it fits, else into scratch after the held data. *zeros: how many bytes
 * at its end are zeros.
 */
static int read_data(intake *k, const char *name, uint64_t size, uint64_t *zeros, int *in_file)
{
	uint64_t have = 0;
	int rc;

	*zeros = 0;
	*in_file = size > MEM_MAX;
	if (*in_file && (rc = scratch_open(k, name)))
		return rc;
	for (;;) {
		char *p = *in_file ? k->buf : k->buf + have;
		size_t room = *in_file ? MEM_MAX : (size_t)(MEM_MAX - have);
		la_ssize_t n;
		size_t z;

		if (atomic_load(k->stop))
			return fail(k, TSARC_ECANCELED, "stopped");
		if (room == 0)
			room = 1; /* to see the end, or more than the header said */
		n = archive_read_data(k->in, p, room);
		if (n < 0)
			return fail(k, TSARC_ECORRUPT, "reading %s from the pod's tar archive: %s", name,
				archive_error_string(k->in));
		if (n == 0)
			break;
		if (have + (uint64_t)n > size || (!*in_file && have + (uint64_t)n > MEM_MAX))
			return fail(k, TSARC_ECORRUPT, "%s: the pod's tar archive holds more data than "
				"its header says", name);
		z = trailing_zeros(p, (size_t)n);
		*zeros = z == (size_t)n ? *zeros + z : z;
		/* Zeros are not written: scratch stays as sparse as the file. */
		if (*in_file && z != (size_t)n &&
			tsarc_pwrite_all(k->scratch, p, (size_t)n, (off_t)(k->kept + have)))
			return fail(k, TSARC_EIO, "%s: writing into scratch space in TMPDIR: %s", name,
				strerror(errno));
		have += (uint64_t)n;
	}
	if (have != size)
		return fail(k, TSARC_ECORRUPT, "%s: the pod's tar archive holds %llu bytes of it, "
			"its header says %llu", name, (unsigned long long)have, (unsigned long long)size);
	if (*in_file && ftruncate(k->scratch, (off_t)(k->kept + size)) != 0)
		return fail(k, TSARC_EIO, "%s: writing into scratch space in TMPDIR: %s", name,
			strerror(errno));
	return 0;
}

/* `len` bytes of scratch from `off` into the stream. */
static int copy_out(intake *k, const char *name, uint64_t off, uint64_t len)
{
	while (len) {
		size_t room = len < MEM_MAX ? (size_t)len : MEM_MAX;
		ssize_t n = pread(k->scratch, k->buf, room, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail(k, TSARC_EIO, "%s: reading back scratch space: %s", name,
				n < 0 ? strerror(errno) : "shorter than written");
		if (atomic_load(k->stop))
			return fail(k, TSARC_ECANCELED, "stopped");
		if (archive_write_data(k->out, k->buf, (size_t)n) != n)
			return write_failed(k, name);
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

static int write_header(intake *k, struct archive_entry *e)
{
	int r = archive_write_header(k->out, e);

	return r == ARCHIVE_OK || r == ARCHIVE_WARN ? 0 : write_failed(k, archive_entry_pathname(e));
}

static int hold(intake *k, struct archive_entry *e, uint64_t off, uint64_t len, uint64_t zeros,
	int folder)
{
	held *h;

	if (TSARC_RESERVE(k->held, k->nheld, k->held_cap, 16) ||
		!(k->held[k->nheld].e = archive_entry_clone(e)))
		return fail(k, TSARC_ENOMEM, "out of memory");
	h = &k->held[k->nheld++];
	h->off = off;
	h->len = len;
	h->zeros = zeros;
	h->folder = folder;
	return 0;
}

/* Holds an entry back, and the folders above it to be written again. */
static int hold_entry(intake *k, struct archive_entry *e, uint64_t off, uint64_t len,
	uint64_t zeros)
{
	size_t i;
	int rc;

	for (i = 0; i < k->nabove; i++) {
		if (k->above[i].held)
			continue;
		if ((rc = hold(k, k->above[i].e, 0, 0, 0, 1)))
			return rc;
		k->above[i].held = 1;
	}
	return hold(k, e, off, len, zeros, 0);
}

static int is_held(const intake *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->nheld; i++)
		if (!k->held[i].folder && !strcmp(archive_entry_pathname(k->held[i].e), name))
			return 1;
	return 0;
}

/* Keeps the folders above `name` (and `name`, a folder): tar writes a
 * folder's subtree right after it. */
static int track_folders(intake *k, struct archive_entry *e, const char *name)
{
	size_t len = strlen(name);

	while (k->nabove) {
		above *a = &k->above[k->nabove - 1];
		if (len > a->len && !strncmp(name, archive_entry_pathname(a->e), a->len) &&
			name[a->len] == '/')
			break;
		archive_entry_free(a->e);
		k->nabove--;
	}
	if (archive_entry_filetype(e) != AE_IFDIR)
		return 0;
	while (len > 1 && name[len - 1] == '/')
		len--;
	if (TSARC_RESERVE(k->above, k->nabove, k->above_cap, 16) ||
		!(k->above[k->nabove].e = archive_entry_clone(e)))
		return fail(k, TSARC_ENOMEM, "out of memory");
	k->above[k->nabove].len = len;
	k->above[k->nabove].held = 0;
	k->nabove++;
	return 0;
}

/* The name below "./", or NULL for the root itself. */
static const char *below_root(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	return name[0] && strcmp(name, ".") ? name : NULL;
}

/* The entry's name at the top of the tree into `top`; 0 for the root or
 * a name too long to be one of tsarc's. */
static int top_name(const char *name, char top[256])
{
	const char *rel = below_root(name), *slash;
	size_t len;

	if (!rel)
		return 0;
	slash = strchr(rel, '/');
	len = slash ? (size_t)(slash - rel) : strlen(rel);
	if (len >= 256)
		return 0;
	memcpy(top, rel, len);
	top[len] = '\0';
	return 1;
}

/* tsarc's swap journal at the top of the tree (and what is in it). */
static int in_journal(const char *name)
{
	char top[256];

	return top_name(name, top) && tsarc_tree_reserved_name(top);
}

/*
 * The journal of a restore into the pod's folder that is under way or was
 * killed: once its swap has begun the tree is part old, part new, and a
 * snapshot of it would be neither (as files.c refuses on this host).
 */
static int journal_check(intake *k, struct archive_entry *e, const char *name)
{
	char text[513];
	la_ssize_t n;
	int phase;

	if (!in_journal(name) || strchr(below_root(name), '/') ||
		archive_entry_filetype(e) != AE_IFREG || archive_entry_size(e) <= 0 ||
		archive_entry_size(e) >= (la_int64_t)sizeof(text))
		return 0;
	if ((n = archive_read_data(k->in, text, sizeof(text) - 1)) <= 0)
		return 0;
	text[n] = '\0';
	if (sscanf(text, "tsarc-swap 1 %d", &phase) == 1 && phase > 0)
		return fail(k, TSARC_EGENERIC, "a restore into the pod's folder stopped during its "
			"swap (its swap journal says phase %d): the tree is part old, part new, and is "
			"not backed up; the next restore into it finishes the swap first", phase);
	return 0;
}

/* What a restore would not make: named and left out (as files.c does). */
static int left_out(intake *k, struct archive_entry *e, const char *name)
{
	mode_t type = archive_entry_filetype(e);
	char where[4608], top[256];

	if (in_journal(name)) {
		if (!strchr(below_root(name), '/')) {
			tsarc_tar_stderr_where(k->t, name, where, sizeof(where));
			tsarc__log(TSARC_LOG_WARN, "files", "file_skipped", "%s: skipped, a restore's "
				"swap journal (a restore into this folder is under way or was "
				"interrupted)", where);
		}
		return 1;
	}
	/* Nor the folders of such a restore (its new tree, the old one):
	 * the journal that names them may come after them in the archive, but
	 * their names, random, cannot be data's. */
	if (top_name(name, top) && tsarc_tree_swap_folder_name(top)) {
		if (!strchr(below_root(name), '/')) {
			tsarc_tar_stderr_where(k->t, name, where, sizeof(where));
			tsarc__log(TSARC_LOG_WARN, "files", "file_skipped", "%s: skipped, the folder "
				"of a restore into this folder that is under way or was interrupted",
				where);
		}
		return 1;
	}
	if (type != AE_IFIFO && type != AE_IFCHR && type != AE_IFBLK && type != AE_IFSOCK)
		return 0;
	tsarc_tar_stderr_where(k->t, name, where, sizeof(where));
	tsarc__log(TSARC_LOG_WARN, "files", "file_skipped", "%s: skipped, %s is not backed up",
		where, type == AE_IFSOCK ? "a socket" : type == AE_IFIFO ? "a fifo" : "a device");
	return 1;
}

/* One entry of the pod's archive. */
static int take(intake *k, struct archive_entry *e)
{
	const char *name = archive_entry_pathname(e), *link;
	la_int64_t size = archive_entry_size(e);
	uint64_t zeros = 0;
	int in_file = 0, rc;

	if (!name || !*name)
		return fail(k, TSARC_ECORRUPT, "the pod's tar archive has an entry without a name");
	if ((rc = journal_check(k, e, name)))
		return rc;
	if (left_out(k, e, name))
		return 0;
	/* As the backup on this host writes entries (files.c). */
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	archive_entry_unset_birthtime(e);
	archive_entry_sparse_clear(e);
	if ((rc = track_folders(k, e, name)))
		return rc;
	link = archive_entry_hardlink(e);
	if (size > 0 && (archive_entry_filetype(e) == AE_IFREG || link)) {
		if ((rc = read_data(k, name, (uint64_t)size, &zeros, &in_file)))
			return rc;
	} else
		size = 0;
	if (zeros || (link && is_held(k, link))) {
		/* Held: its data stays in scratch, after what is held already. */
		if (!in_file && size > 0) {
			if ((rc = scratch_open(k, name)))
				return rc;
			if (tsarc_pwrite_all(k->scratch, k->buf, (size_t)size, (off_t)k->kept))
				return fail(k, TSARC_EIO, "%s: writing into scratch space in TMPDIR: %s",
					name, strerror(errno));
		}
		if ((rc = hold_entry(k, e, k->kept, (uint64_t)size, zeros)))
			return rc;
		k->kept += (uint64_t)size;
		return 0;
	}
	if ((rc = write_header(k, e)))
		return rc;
	if (size > 0 && !in_file && archive_write_data(k->out, k->buf, (size_t)size) != size)
		return write_failed(k, name);
	if (in_file && ((rc = copy_out(k, name, k->kept, (uint64_t)size)) ||
			       ftruncate(k->scratch, (off_t)k->kept) != 0))
		return rc ? rc : fail(k, TSARC_EIO, "scratch space in TMPDIR: %s", strerror(errno));
	return 0;
}

/* Once tar's stderr has ended: the held entries, each without the zeros
 * tar said it padded it with, then the folders above them again. */
static int release(intake *k)
{
	unsigned long long zeros;
	const char *name;
	size_t i;
	int rc, pass;

	if (k->nheld && tsarc_tar_stderr_wait(k->t, k->stop))
		return fail(k, TSARC_ECANCELED, "stopped");
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < k->nheld; i++) {
			held *h = &k->held[i];
			uint64_t pad = 0;
			if (h->folder != pass)
				continue;
			name = archive_entry_pathname(h->e);
			if (h->len && (pad = tsarc_tar_stderr_padding(k->t, name)) > h->zeros)
				return fail(k, TSARC_ECORRUPT, "tar says %s shrank by %llu bytes, but its "
					"entry ends in %llu zero bytes: its data is not what tar says it padded",
					name, (unsigned long long)pad, (unsigned long long)h->zeros);
			archive_entry_set_size(h->e, (la_int64_t)(h->len - pad));
			if ((rc = write_header(k, h->e)) ||
				(rc = copy_out(k, name, h->off, h->len - pad)))
				return rc;
		}
	/* Every report of padding must have found its entry: the wait above
	 * made them all known, and with nothing held there are none. */
	if (tsarc_tar_stderr_wait(k->t, k->stop))
		return fail(k, TSARC_ECANCELED, "stopped");
	if ((name = tsarc_tar_stderr_unclaimed(k->t, &zeros)) && !in_journal(name))
		return fail(k, TSARC_ECORRUPT, "tar says %s shrank by %llu bytes, but the pod's tar "
			"archive has no such entry ending in zeros", name, zeros);
	return 0;
}

int tsarc_tar_intake(int in_fd, int out_fd, void *ctx, const atomic_int *stop, char *err,
	size_t errsz)
{
	intake k;
	struct archive_entry *e;
	size_t i;
	int r, rc = 0;

	memset(&k, 0, sizeof(k));
	k.t = ctx;
	k.stop = stop;
	k.err = err;
	k.errsz = errsz;
	k.scratch = -1;
	k.in = archive_read_new();
	k.out = archive_write_new();
	/* One byte more: a read of an entry of exactly MEM_MAX bytes asks for
	 * one past its end, to see that it ends there. */
	k.buf = malloc(MEM_MAX + 1);
	if (!k.in || !k.out || !k.buf) {
		rc = fail(&k, TSARC_ENOMEM, "out of memory");
		goto done;
	}
	archive_read_support_format_tar(k.in);
	archive_read_support_format_gnutar(k.in);
	/* As src/tree/rewrite.c writes: pax, names as the bytes they are. */
	if ((rc = tsarc_tar_pax_writer(k.out))) {
		rc = fail(&k, rc, "%s", tsarc_error_last()->message);
		goto done;
	}
	archive_write_set_format_option(k.out, "pax", "hdrcharset", "BINARY");
	archive_write_set_bytes_per_block(k.out, 10240);
	if (archive_read_open_fd(k.in, in_fd, 64 * 1024) != ARCHIVE_OK) {
		rc = fail(&k, TSARC_ECORRUPT, "the pod's tar output is not a tar archive: %s",
			archive_error_string(k.in));
		goto done;
	}
	/* Through a callback, not archive_write_open_fd: on a regular file
	 * that one refuses an entry whose device and inode are the file's
	 * ("Can't add archive to itself"), and an entry's are whatever the
	 * archive says, or numbers the reader counts up. The last block is not
	 * padded, as archive_write_open_fd does on a pipe. */
	archive_write_set_bytes_in_last_block(k.out, 1);
	if (archive_write_open2(k.out, &out_fd, NULL, write_out, NULL, NULL) != ARCHIVE_OK) {
		rc = write_failed(&k, "the archive");
		goto done;
	}
	for (;;) {
		r = archive_read_next_header(k.in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = fail(&k, TSARC_ECORRUPT, "reading the pod's tar archive: %s",
				archive_error_string(k.in));
			goto done;
		}
		if ((rc = take(&k, e)))
			goto done;
	}
	/* Whatever tar writes after its archive's end (the rest of its last
	 * record): read, so that it never waits on us while we wait for its
	 * stderr to end. */
	for (;;) {
		ssize_t n = read(in_fd, k.buf, MEM_MAX);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	if ((rc = release(&k)))
		goto done;
	if (archive_write_close(k.out) != ARCHIVE_OK)
		rc = write_failed(&k, "the archive's end");
done:
	for (i = 0; i < k.nheld; i++)
		archive_entry_free(k.held[i].e);
	for (i = 0; i < k.nabove; i++)
		archive_entry_free(k.above[i].e);
	free(k.held);
	free(k.above);
	free(k.buf);
	if (k.scratch >= 0)
		close(k.scratch);
	if (k.in)
		archive_read_free(k.in);
	if (k.out)
		archive_write_free(k.out);
	return rc;
}
