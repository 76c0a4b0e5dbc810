/* The pod tar's archive into the stream (backends/components/tar_intake.c):
 * archives written here in GNU tar's format, with what GNU tar says on
 * stderr, through the intake; the stream read back with libarchive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "tar_intake.h"
#include "tar_stderr.h"
#include "tsarc/errors.h"

#define BIG (3u << 20) /* more than the intake keeps in memory */

typedef struct member {
	const char *name;
	mode_t type;
	size_t size;     /* data: `size` bytes, ending in `zeros` zeros */
	size_t zeros;
	const char *link; /* a hard link to that entry */
} member;

static void fill(char *p, size_t size, size_t zeros, unsigned seed)
{
	size_t i;

	for (i = 0; i < size - zeros; i++)
		p[i] = (char)(1 + (i * 7 + seed) % 250);
	memset(p + size - zeros, 0, zeros);
}

/* A GNU-format archive of `m` in a scratch file, at its start. */
static int gnu_archive(const member *m, size_t n)
{
	int fd = tsarc_scratch_file();
	struct archive *a = archive_write_new();
	size_t i;

	assert_true(fd >= 0);
	archive_write_set_format_gnutar(a);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		char *data = NULL;
		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_filetype(e, m[i].type);
		archive_entry_set_perm(e, m[i].type == AE_IFDIR ? 0755 : 0644);
		archive_entry_set_mtime(e, 1700000000 + (time_t)i, 0);
		archive_entry_set_atime(e, 1700000100, 0);
		if (m[i].link)
			archive_entry_set_hardlink(e, m[i].link);
		archive_entry_set_size(e, (la_int64_t)m[i].size);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (m[i].size) {
			data = malloc(m[i].size);
			fill(data, m[i].size, m[i].zeros, (unsigned)i);
			assert_int_equal(archive_write_data(a, data, m[i].size), (la_ssize_t)m[i].size);
			free(data);
		}
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Runs the intake over `m` with these stderr lines; the stream in *out. */
static int intake(const member *m, size_t n, const char *const *lines, int *out, char *err,
	size_t errsz)
{
	tsarc_tar_stderr *t = tsarc_tar_stderr_new("tar", "/srv");
	atomic_int stop;
	int in = gnu_archive(m, n), rc;
	size_t i;

	atomic_init(&stop, 0);
	*out = tsarc_scratch_file();
	assert_true(*out >= 0);
	for (i = 0; lines && lines[i]; i++)
		tsarc_tar_stderr_line(t, lines[i], strlen(lines[i]), 0);
	tsarc_tar_stderr_end(t);
	err[0] = '\0';
	rc = tsarc_tar_intake(in, *out, t, &stop, err, errsz);
	close(in);
	tsarc_tar_stderr_free(t);
	assert_int_equal(lseek(*out, 0, SEEK_SET), 0);
	return rc;
}

typedef struct seen {
	const char *name;
	mode_t type;
	size_t size;
	unsigned seed; /* which member's data, by position in the input */
	const char *link;
} seen;

/* The stream holds exactly `want`, in this order, with these bytes. */
static void expect_stream(int fd, const seen *want, size_t n, const member *m)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t i = 0;

	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_fd(a, fd, 65536), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (i >= n)
			fail_msg("an entry more than expected: %s", archive_entry_pathname(e));
		assert_string_equal(archive_entry_pathname(e), want[i].name);
		/* A hard link reads back without a type of its own. */
		if (!want[i].link && archive_entry_filetype(e) != want[i].type)
			fail_msg("%s: type %o", want[i].name, (unsigned)archive_entry_filetype(e));
		assert_int_equal(archive_entry_size(e), (la_int64_t)want[i].size);
		assert_false(archive_entry_atime_is_set(e));
		if (want[i].link)
			assert_string_equal(archive_entry_hardlink(e), want[i].link);
		if (want[i].size) {
			const member *src = &m[want[i].seed];
			char *got = malloc(want[i].size), *exp = malloc(src->size);
			assert_int_equal(archive_read_data(a, got, want[i].size), (la_ssize_t)want[i].size);
			fill(exp, src->size, src->zeros, want[i].seed);
			assert_memory_equal(got, exp, want[i].size);
			free(got);
			free(exp);
		}
		i++;
	}
	assert_int_equal(i, n);
	archive_read_free(a);
	close(fd);
}

/* Files that end in zeros wait for stderr and come last, cut by what tar
 * said it padded; hard links to them wait with them; the folders above
 * them are written again after them; fifos and devices are left out. */
static void padded_files_lose_their_zeros(void **state)
{
	static const member m[] = {
		{"./", AE_IFDIR, 0, 0, NULL},
		{"./d/", AE_IFDIR, 0, 0, NULL},
		{"./d/a", AE_IFREG, 5000, 0, NULL},
		{"./d/z", AE_IFREG, 5000, 300, NULL},  /* its own zeros */
		{"./d/hl", AE_IFREG, 0, 0, "./d/z"},
		{"./e/", AE_IFDIR, 0, 0, NULL},
		{"./e/big", AE_IFREG, BIG, 0, NULL},    /* through scratch, straight on */
		{"./fifo", AE_IFIFO, 0, 0, NULL},
		{"./dev", AE_IFCHR, 0, 0, NULL},
		{"./p", AE_IFREG, 4000, 1500, NULL},    /* shrank by 1000 */
		{"./q", AE_IFREG, BIG, 70000, NULL},    /* shrank by 65536, in scratch */
	};
	static const char *const lines[] = {
		"tar: ./q: File shrank by 65536 bytes; padding with zeros",
		"tar: ./p: File shrank by 1000 bytes; padding with zeros", NULL};
	static const seen want[] = {
		{"./", AE_IFDIR, 0, 0, NULL},
		{"./d/", AE_IFDIR, 0, 0, NULL},
		{"./d/a", AE_IFREG, 5000, 2, NULL},
		{"./e/", AE_IFDIR, 0, 0, NULL},
		{"./e/big", AE_IFREG, BIG, 6, NULL},
		{"./d/z", AE_IFREG, 5000, 3, NULL},
		{"./d/hl", AE_IFREG, 0, 0, "./d/z"},
		{"./p", AE_IFREG, 3000, 9, NULL},
		{"./q", AE_IFREG, BIG - 65536, 10, NULL},
		{"./", AE_IFDIR, 0, 0, NULL},
		{"./d/", AE_IFDIR, 0, 0, NULL},
	};
	char err[512];
	int out;

	(void)state;
	assert_int_equal(intake(m, sizeof(m) / sizeof(m[0]), lines, &out, err, sizeof(err)), 0);
	expect_stream(out, want, sizeof(want) / sizeof(want[0]), m);
}

/* Entries of exactly what the intake keeps in memory (1 MiB), one that
 * goes straight through and one held back and cut. */
static void entries_at_the_memory_bound(void **state)
{
	static const member m[] = {
		{"./", AE_IFDIR, 0, 0, NULL},
		{"./a", AE_IFREG, 1u << 20, 0, NULL},
		{"./b", AE_IFREG, 1u << 20, 4096, NULL},
		{"./c", AE_IFREG, (1u << 20) + 1, 0, NULL},
	};
	static const char *const lines[] = {
		"tar: ./b: File shrank by 4000 bytes; padding with zeros", NULL};
	static const seen want[] = {
		{"./", AE_IFDIR, 0, 0, NULL},
		{"./a", AE_IFREG, 1u << 20, 1, NULL},
		{"./c", AE_IFREG, (1u << 20) + 1, 3, NULL},
		{"./b", AE_IFREG, (1u << 20) - 4000, 2, NULL},
		{"./", AE_IFDIR, 0, 0, NULL},
	};
	char err[512];
	int out;

	(void)state;
	assert_int_equal(intake(m, 4, lines, &out, err, sizeof(err)), 0);
	expect_stream(out, want, sizeof(want) / sizeof(want[0]), m);
}

/* tar's word against the archive: never more zeros cut than the entry
 * ends with, and never a report that matches no entry. */
static void padding_that_does_not_match_fails(void **state)
{
	static const member m[] = {
		{"./", AE_IFDIR, 0, 0, NULL},
		{"./p", AE_IFREG, 4000, 100, NULL},
		{"./r", AE_IFREG, 4000, 0, NULL},
	};
	static const char *const too_many[] = {
		"tar: ./p: File shrank by 101 bytes; padding with zeros", NULL};
	static const char *const no_zeros[] = {
		"tar: ./r: File shrank by 5 bytes; padding with zeros", NULL};
	static const char *const no_entry[] = {
		"tar: ./gone: File shrank by 5 bytes; padding with zeros", NULL};
	char err[512];
	int out;

	(void)state;
	assert_int_equal(intake(m, 3, too_many, &out, err, sizeof(err)), TSARC_ECORRUPT);
	assert_non_null(strstr(err, "tar says ./p shrank by 101 bytes, but its entry ends in 100 "
		"zero bytes"));
	close(out);
	assert_int_equal(intake(m, 3, no_zeros, &out, err, sizeof(err)), TSARC_ECORRUPT);
	assert_non_null(strstr(err, "tar says ./r shrank by 5 bytes, but the pod's tar archive "
		"has no such entry ending in zeros"));
	close(out);
	assert_int_equal(intake(m, 3, no_entry, &out, err, sizeof(err)), TSARC_ECORRUPT);
	assert_non_null(strstr(err, "./gone"));
	close(out);
}

/* Not a tar archive, or one cut short: an error, never a shorter stream. */
static void damaged_archives_fail(void **state)
{
	tsarc_tar_stderr *t = tsarc_tar_stderr_new("tar", "/srv");
	static const member m[] = {{"./a", AE_IFREG, 20000, 0, NULL}};
	atomic_int stop;
	char err[512];
	int in = tsarc_scratch_file(), out = tsarc_scratch_file(), full;

	(void)state;
	atomic_init(&stop, 0);
	tsarc_tar_stderr_end(t);
	assert_int_equal(write(in, "this is not tar, not at all, but long enough to look at it: "
		"................................................................................"
		"................................................................................"
		"................................................................................"
		"................................................................................"
		"................................................................................"
		"................................................................................",
		540), 540);
	lseek(in, 0, SEEK_SET);
	assert_int_equal(tsarc_tar_intake(in, out, t, &stop, err, sizeof(err)), TSARC_ECORRUPT);
	close(in);
	close(out);
	full = gnu_archive(m, 1);
	assert_int_equal(ftruncate(full, 10000), 0);
	out = tsarc_scratch_file();
	assert_int_equal(tsarc_tar_intake(full, out, t, &stop, err, sizeof(err)), TSARC_ECORRUPT);
	assert_non_null(strstr(err, "./a"));
	close(full);
	close(out);
	tsarc_tar_stderr_free(t);
}

/* A ustar header block: `name`, type flag `type`, `size` bytes of data. */
static void ustar_header(char blk[512], const char *name, char type, size_t size)
{
	unsigned sum = 0;
	size_t i;

	memset(blk, 0, 512);
	snprintf(blk, 100, "%s", name);
	snprintf(blk + 100, 8, "%07o", 0644);
	snprintf(blk + 108, 8, "%07o", 0);
	snprintf(blk + 116, 8, "%07o", 0);
	snprintf(blk + 124, 12, "%011zo", size);
	snprintf(blk + 136, 12, "%011o", 1700000000u);
	blk[156] = type;
	memcpy(blk + 257, "ustar", 6);
	memcpy(blk + 263, "00", 2);
	memset(blk + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += (unsigned char)blk[i];
	snprintf(blk + 148, 8, "%06o", sum);
}

/* An entry whose pax header says it is the file the stream goes to (the
 * device and inode numbers of the output): the intake takes it like any
 * other. libarchive refuses, as "Can't add archive to itself", an entry
 * with the device and inode of a regular file it was opened on; those of
 * an archive's entries are what the archive says (pax SCHILY.dev and .ino)
 * or numbers libarchive's reader counts up, nothing of this host. */
static void an_entry_named_like_the_output_is_taken(void **state)
{
	tsarc_tar_stderr *t = tsarc_tar_stderr_new("tar", "/srv");
	char blk[512], rec[200], err[512];
	int in = tsarc_scratch_file(), out = tsarc_scratch_file(), n;
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	atomic_int stop;
	struct stat st;

	(void)state;
	atomic_init(&stop, 0);
	assert_true(in >= 0 && out >= 0);
	assert_int_equal(fstat(out, &st), 0);
	/* "LEN SCHILY.dev=D\n", LEN counting itself */
	n = snprintf(rec, sizeof(rec), "SCHILY.dev=%llu\n", (unsigned long long)st.st_dev);
	n = snprintf(rec, sizeof(rec), "%d SCHILY.dev=%llu\n", n + 3 + (n + 3 >= 100),
		(unsigned long long)st.st_dev);
	{
		char rec2[100];
		int m = snprintf(rec2, sizeof(rec2), "SCHILY.ino=%llu\n", (unsigned long long)st.st_ino);
		m = snprintf(rec + n, sizeof(rec) - (size_t)n, "%d SCHILY.ino=%llu\n",
			m + 3 + (m + 3 >= 100), (unsigned long long)st.st_ino);
		n += m;
	}
	ustar_header(blk, "./PaxHeaders/x", 'x', (size_t)n);
	assert_int_equal(tsarc_write_all(in, blk, 512), 0);
	memset(blk, 0, 512);
	memcpy(blk, rec, (size_t)n);
	assert_int_equal(tsarc_write_all(in, blk, 512), 0);
	ustar_header(blk, "./x", '0', 0);
	assert_int_equal(tsarc_write_all(in, blk, 512), 0);
	memset(blk, 0, 512);
	assert_int_equal(tsarc_write_all(in, blk, 512), 0);
	assert_int_equal(tsarc_write_all(in, blk, 512), 0);
	lseek(in, 0, SEEK_SET);
	/* The input says what the test means it to. */
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_fd(a, in, 512), ARCHIVE_OK);
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
	assert_true(archive_entry_dev(e) == st.st_dev && archive_entry_ino64(e) == (la_int64_t)st.st_ino);
	archive_read_free(a);
	lseek(in, 0, SEEK_SET);

	tsarc_tar_stderr_end(t);
	err[0] = '\0';
	if (tsarc_tar_intake(in, out, t, &stop, err, sizeof(err)) != 0)
		fail_msg("the intake refused: %s", err);
	a = archive_read_new();
	archive_read_support_format_tar(a);
	lseek(out, 0, SEEK_SET);
	assert_int_equal(archive_read_open_fd(a, out, 65536), ARCHIVE_OK);
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(e), "./x");
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_EOF);
	archive_read_free(a);
	close(in);
	close(out);
	tsarc_tar_stderr_free(t);
}

TSARC_TESTS_MAIN(NULL, NULL, cmocka_unit_test(padded_files_lose_their_zeros),
	cmocka_unit_test(entries_at_the_memory_bound),
	cmocka_unit_test(padding_that_does_not_match_fails), cmocka_unit_test(damaged_archives_fail),
	cmocka_unit_test(an_entry_named_like_the_output_is_taken))
