/*
 * The tar re-writer for a restore that extracts in a pod with the pod's
 * own tar: the pod is never sent repository bytes tsarc did not parse,
 * only a pax archive rebuilt from the fields of the entries the rules
 * (entry.c) took, ended by a completion entry written only once the
 * whole stream was verified. A consumer that does not find that entry
 * got an incomplete stream.
 */
#include "internal.h"
#include "fileio.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <string.h>

typedef struct rewriter {
	struct archive *aw;
	tsarc_tar_pipe out; /* stopped: nothing more may reach the consumer */
	uint64_t entries, skipped;
	const tsarc_tree_padding *pad; /* the stream's, or NULL */
} rewriter;

int tsarc_tar_pax_writer(struct archive *a)
{
	if (archive_write_set_format_pax(a) != ARCHIVE_OK ||
	    archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK)
		return tsarc_error_set(TSARC_EGENERIC, "libarchive cannot write pax: %s",
			archive_error_string(a));
	return 0;
}

la_ssize_t tsarc_tar_pipe_write(struct archive *a, void *ud, const void *buf, size_t len)
{
	tsarc_tar_pipe *p = ud;

	if (p->stopped) {
		archive_set_error(a, ECANCELED, "the writer was stopped");
		return -1;
	}
	if (tsarc_write_all(p->fd, buf, len) != 0) {
		p->broken = errno == EPIPE;
		archive_set_error(a, errno, "writing the tar stream: %s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)len;
}

void tsarc_tar_pipe_free(struct archive *a, tsarc_tar_pipe *p, int failed)
{
	if (failed) {
		p->stopped = 1;
		archive_write_close(a);
	}
	archive_write_free(a);
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
			/* Past the size: tar's zeros after a shrunk file (padding.c). */
			if (n > left && (rc = tsarc__tree_padding_zeros(name, buf + left,
					      (size_t)(n - left))))
				goto done;
			if (n > left)
				n = (la_ssize_t)left;
			if (archive_write_data(w->aw, buf, (size_t)n) != n) {
				rc = tsarc_error_set(TSARC_EIO, "rewriting tar entry '%s': %s", name,
					archive_error_string(w->aw) ? archive_error_string(w->aw) : "short write");
				goto done;
			}
			left -= n;
		}
		for (;;) {
			la_ssize_t n = archive_read_data(in, buf, sizeof(buf));
			if (n < 0)
				rc = tsarc_error_set(TSARC_ECORRUPT, "reading tar entry '%s': %s", name,
					archive_error_string(in));
			else if (n > 0)
				rc = tsarc__tree_padding_zeros(name, buf, (size_t)n);
			if (n <= 0 || rc)
				break;
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
	int rc = tsarc__tree_for_each_entry(fd, 1, &w->skipped, w->pad, rewrite_one, w);

	return rc ? rc : tsarc__tree_read_to_end(fd);
}

/* What the rewrite reads: the repository stream (verified) or an fd. */
typedef struct rewrite_source {
	tsarc_repo *repo;
	const tsarc_stream *st;
	unsigned inflight;
	int fd; /* when repo is NULL */
	const tsarc_tree_padding *pad; /* when repo is NULL */
} rewrite_source;

static int rewrite(const rewrite_source *src, int out_fd, const char *complete_name,
	uint64_t *entries, uint64_t *skipped)
{
	tsarc_tree_padding *pad = NULL;
	rewriter w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.out.fd = out_fd;
	*entries = *skipped = 0;
	if (src->repo && (rc = tsarc_tree_padding_parse(src->st->meta, &pad))) {
		tsarc_error_prefix("stream %s: metadata", src->st->name);
		return rc;
	}
	w.pad = src->repo ? pad : src->pad;
	if (!(w.aw = archive_write_new())) {
		tsarc_tree_padding_free(pad);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	/* pax as libarchive writes it: each field once in the pax header
	 * (sub-second times kept) over a ustar header, never GNU long-name
	 * records, so GNU tar and libarchive read the same entries. */
	if ((rc = tsarc_tar_pax_writer(w.aw))) {
		archive_write_free(w.aw);
		tsarc_tree_padding_free(pad);
		return rc;
	}
	/* Names as the bytes they are: tsarc runs in the C locale, where
	 * libarchive cannot translate a non-ASCII name to UTF-8 and would
	 * refuse the entry; GNU tar extracts such names byte for byte. */
	archive_write_set_format_option(w.aw, "pax", "hdrcharset", "BINARY");
	archive_write_set_bytes_per_block(w.aw, 10240);
	if (archive_write_open2(w.aw, &w.out, NULL, tsarc_tar_pipe_write, NULL, NULL) != ARCHIVE_OK) {
		rc = tsarc_error_set(TSARC_EIO, "%s", archive_error_string(w.aw));
		tsarc_tar_pipe_free(w.aw, &w.out, 1);
		tsarc_tree_padding_free(pad);
		return rc;
	}
	rc = src->repo ? tsarc__tree_read_stream(src->repo, src->st, src->inflight, rewrite_tar, &w) :
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
	tsarc_tar_pipe_free(w.aw, &w.out, rc != 0);
	tsarc_tree_padding_free(pad);
	*entries = w.entries;
	*skipped = w.skipped;
	return rc;
}

int tsarc_tree_rewrite_stream(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	int out_fd, const char *complete_name, uint64_t *entries, uint64_t *skipped)
{
	rewrite_source src = {repo, st, inflight, -1, NULL};

	return rewrite(&src, out_fd, complete_name, entries, skipped);
}

int tsarc_tree_rewrite_fd(int in_fd, int out_fd, const char *complete_name,
	const tsarc_tree_padding *pad, uint64_t *entries, uint64_t *skipped)
{
	rewrite_source src = {NULL, NULL, 0, in_fd, pad};

	return rewrite(&src, out_fd, complete_name, entries, skipped);
}
