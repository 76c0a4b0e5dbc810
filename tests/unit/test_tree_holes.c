/* src/tree/holes.c: zero blocks come back as holes. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tree_fixture.h"
#include "tree_restore.h"
#include "tsarc/errors.h"

/* A file of mostly zeros comes back with holes, whatever the archive
 * says about them (a backup stores them as zeros). */
static void test_zeros_become_holes(void **state)
{
	char path[300], target[300], file[400];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	static char zeros[1 << 20];
	tsarc_tree_restore_result res;
	struct stat sb;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/sparse.tar", tree_base);
	snprintf(target, sizeof(target), "%s/sparse", tree_base);
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, "disk.img");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)(8 * sizeof(zeros) + 4));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_write_data(a, "head", 4);
	for (int i = 0; i < 8; i++)
		archive_write_data(a, zeros, sizeof(zeros));
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	fd = open(path, O_RDONLY);
	if (tsarc_tree_restore_fd(target, fd, NULL, &res) != 0)
		fail_msg("restore: %s", tsarc_error_last()->message);
	close(fd);
	snprintf(file, sizeof(file), "%s/disk.img", target);
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_size, 8 * sizeof(zeros) + 4);
	/* 8 MiB of zeros: at most a few blocks allocated, not all of them. */
	if ((long long)sb.st_blocks * 512 > 256 * 1024)
		fail_msg("the restored file has %lld bytes allocated for 4 bytes of data",
			(long long)sb.st_blocks * 512);
	sh("test \"$(head -c 4 '%s')\" = head && test \"$(tail -c +5 '%s' | tr -d '\\0' | wc -c)\" = 0",
		file, file);
}

TREE_TESTS_MAIN(cmocka_unit_test(test_zeros_become_holes))
