/* src/tree/padding.c: a file the stream's "padded" record names (the
 * zeros a pod's GNU tar wrote after a file that shrank while it read it)
 * comes back without them, from the restore on this host and from the
 * rewrite sent to a pod; bytes that are not zeros, or more of them than
 * the entry holds, stop both. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tree/internal.h"
#include "tree_fixture.h"
#include "tsarc/errors.h"

#define BIG 100000

/* A tar (in a memfd) of one file "a.bin": BIG bytes, "0123456789" and
 * zeros, but `odd` (when not 0) at that offset. */
static int padded_tar(size_t odd)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	char *data = calloc(1, BIG);
	int fd = memfd_create("padded", MFD_CLOEXEC);

	assert_true(a && e && data && fd >= 0);
	memcpy(data, "0123456789", 10);
	if (odd)
		data[odd] = 'x';
	archive_write_set_format_gnutar(a);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	archive_entry_set_pathname(e, "./a.bin");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, BIG);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, BIG), BIG);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	free(data);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static tsarc_tree_padding *pad_of(unsigned long long zeros)
{
	char text[200];
	tsarc_tree_padding *p = NULL;
	cJSON *m;

	snprintf(text, sizeof(text), "{\"padded\": [{\"path\": \"./a.bin\", \"zeros\": %llu}]}",
		zeros);
	m = cJSON_Parse(text);
	assert_int_equal(tsarc_tree_padding_parse(m, &p), 0);
	cJSON_Delete(m);
	return p;
}

/* The restore on this host: 0 and the file's size, or the error. */
static int extract(size_t odd, unsigned long long zeros, off_t *size)
{
	static int n;
	char staging[300], file[400];
	tsarc_tree_restore_options o;
	tsarc_tree_restore_result res;
	tsarc_tree_root_attrs top;
	tsarc_tree_padding *p = pad_of(zeros);
	struct stat sb;
	int fd = padded_tar(odd), rc;

	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	memset(&top, 0, sizeof(top));
	snprintf(staging, sizeof(staging), "%s/staging%d", tree_base, n++);
	assert_int_equal(mkdir(staging, 0700), 0);
	rc = tsarc__tree_extract(fd, staging, &o, &res, &top, 0, p);
	close(fd);
	tsarc_tree_padding_free(p);
	snprintf(file, sizeof(file), "%s/a.bin", staging);
	if (!rc) {
		assert_int_equal(stat(file, &sb), 0);
		*size = sb.st_size;
		sh("head -c 10 '%s' | grep -qx 0123456789", file);
	}
	return rc;
}

/* The rewrite for a pod: 0 and the rewritten entry's size, or the error. */
static int rewrite(size_t odd, unsigned long long zeros, off_t *size)
{
	tsarc_tree_padding *p = pad_of(zeros);
	struct archive *a;
	struct archive_entry *e;
	uint64_t entries, skipped;
	int in = padded_tar(odd), out = memfd_create("rewritten", MFD_CLOEXEC), rc;

	assert_true(out >= 0);
	rc = tsarc_tree_rewrite_fd(in, out, ".tsarc-complete-0", p, &entries, &skipped);
	close(in);
	tsarc_tree_padding_free(p);
	if (!rc) {
		char buf[16];
		assert_int_equal(lseek(out, 0, SEEK_SET), 0);
		a = archive_read_new();
		archive_read_support_format_tar(a);
		assert_int_equal(archive_read_open_fd(a, out, 10240), ARCHIVE_OK);
		assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
		assert_string_equal(archive_entry_pathname(e), "a.bin");
		*size = (off_t)archive_entry_size(e);
		assert_int_equal(archive_read_data(a, buf, 10), 10);
		assert_memory_equal(buf, "0123456789", 10);
		archive_read_free(a);
	}
	close(out);
	return rc;
}

static void shrunk_file_gets_its_bytes(void **state)
{
	off_t size = 0;

	(void)state;
	assert_int_equal(extract(0, BIG - 10, &size), 0);
	assert_int_equal(size, 10);
	assert_int_equal(rewrite(0, BIG - 10, &size), 0);
	assert_int_equal(size, 10);
	/* A few zeros of its own stay: only the count named goes. */
	assert_int_equal(extract(0, 5, &size), 0);
	assert_int_equal(size, BIG - 5);
	assert_int_equal(rewrite(0, 5, &size), 0);
	assert_int_equal(size, BIG - 5);
}

static void padding_that_is_not_zeros_stops_both(void **state)
{
	off_t size;
	/* Right after the kept bytes, in the first buffer, in the last byte. */
	static const size_t odd[] = {10, 30000, BIG - 1};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		assert_int_equal(extract(odd[i], BIG - 10, &size), TSARC_ECORRUPT);
		assert_int_equal(rewrite(odd[i], BIG - 10, &size), TSARC_ECORRUPT);
	}
	/* More zeros than the entry holds. */
	assert_int_equal(extract(0, BIG + 1, &size), TSARC_ECORRUPT);
	assert_int_equal(rewrite(0, BIG + 1, &size), TSARC_ECORRUPT);
}

/* A tar (in a memfd) of `n` empty files, f0 to f<n-1>. */
static int files_tar(int n)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	int fd = memfd_create("files", MFD_CLOEXEC), i;
	char name[32];

	assert_true(a && e && fd >= 0);
	archive_write_set_format_gnutar(a);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		archive_entry_clear(e);
		snprintf(name, sizeof(name), "./f%d", i);
		archive_entry_set_pathname(e, name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, 0);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	}
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* The rewrite for a pod whose tar gave up first (the pipe's reader
 * closed: a journal tsarc did not write, say): an error, and libarchive's
 * writer freed whole. Its write callback failed, and libarchive 3.6
 * (Debian 12's) frees an archive in that state without its close, which
 * alone frees the writer's block buffer: 10 KiB leaked a time, which the
 * sanitized build reports at exit (deploy_tree, when the pod's tar quit
 * before tsarc had written its last block). */
static void rewrite_into_a_closed_pipe(void **state)
{
	uint64_t entries, skipped;
	int in, fds[2], i;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	/* The write that finds the pipe closed in a file's data, and in an
	 * entry's header (each of these takes a pax and a ustar block). */
	for (i = 0; i < 2; i++) {
		in = i ? files_tar(40) : padded_tar(0);
		assert_int_equal(pipe(fds), 0);
		close(fds[0]);
		assert_int_not_equal(tsarc_tree_rewrite_fd(in, fds[1], ".tsarc-complete-0", NULL,
			&entries, &skipped), 0);
		close(fds[1]);
		close(in);
	}
}

TREE_TESTS_MAIN(cmocka_unit_test(shrunk_file_gets_its_bytes),
	cmocka_unit_test(padding_that_is_not_zeros_stops_both),
	cmocka_unit_test(rewrite_into_a_closed_pipe))
