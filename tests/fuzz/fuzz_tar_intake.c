/* The archive a pod's tar writes is shaped by whatever runs in the pod:
 * the intake (backends/components/tar_intake.c) must take any bytes and
 * GNU tar stderr lines without a crash, and what it passes on is always a
 * tar archive without fifos or devices. An input is stderr lines, a line
 * "--", then the archive. */
#define _GNU_SOURCE /* memfd_create */
#include <archive.h>
#include <archive_entry.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fileio.h"
#include "tar_intake.h"
#include "tar_stderr.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every entry of the stream the intake wrote is one a restore makes. */
static void check_output(int fd)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int r;

	archive_read_support_format_tar(a);
	lseek(fd, 0, SEEK_SET);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
		abort();
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		mode_t t = archive_entry_filetype(e);
		if (t == AE_IFIFO || t == AE_IFCHR || t == AE_IFBLK || t == AE_IFSOCK)
			abort();
	}
	if (r != ARCHIVE_EOF)
		abort();
	archive_read_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *sep = memmem(data, size, "\n--\n", 4), *p = data;
	tsarc_tar_stderr *t = tsarc_tar_stderr_new("tar", "/srv");
	int in = memfd_create("in", MFD_CLOEXEC), out = memfd_create("out", MFD_CLOEXEC), rc;
	atomic_int stop;
	char err[512];

	atomic_init(&stop, 0);
	err[0] = '\0'; /* a refusal without a message must show as one */
	if (!t || in < 0 || out < 0)
		abort();
	/* The stderr lines, before "--". */
	while (sep && p < sep) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(sep - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(sep - p);
		tsarc_tar_stderr_line(t, (const char *)p, len, 0);
		p += len + 1;
	}
	if (sep)
		p = sep + 4;
	tsarc_tar_stderr_end(t);
	if (tsarc_write_all(in, p, size - (size_t)(p - data)) != 0)
		abort();
	lseek(in, 0, SEEK_SET);
	rc = tsarc_tar_intake(in, out, t, &stop, err, sizeof(err));
	if (rc == 0)
		check_output(out);
	else if (rc != TSARC_ECORRUPT || !err[0]) {
		/* What it said: a scratch space or memory failure reads as
		 * such, not as a crash to hunt. */
		fprintf(stderr, "fuzz_tar_intake: %s (%d): %s\n", tsarc_strerror(rc), rc, err);
		abort();
	}
	close(in);
	close(out);
	tsarc_tar_stderr_free(t);
	return 0;
}
