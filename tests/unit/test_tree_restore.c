/* src/tree/restore.c: a restore leaves the folder equal to the archive,
 * and a refused or damaged archive leaves it exactly as it was. */
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

static void test_restore_equals_archive(void **state)
{
	static const spec good[] = {
		{"./", 'd', NULL, 0711, 1500000000},
		{"./2026", 'd', NULL, 0750, 1600000000},
		{"./2026/11/logo-0123456789abcdef.png", 'f', "PNG...", 0640, 1650000000},
		{"./invoices/1/pdfs/original/inv.pdf", 'f', "%PDF-1.4", 0600, 0},
		{"./current", 'l', "2026/11", 0, 0},
		{"./invoices/1/pdfs/copy.pdf", 'h', "./invoices/1/pdfs/original/inv.pdf", 0, 0},
	};
	tsarc_tree_restore_result res;
	char target[300], p[400], buf[64];
	struct stat sb;
	int fd;
	ssize_t n;

	(void)state;
	snprintf(target, sizeof(target), "%s/system", tree_base);
	sh("mkdir -p '%s/old-dir/x' && echo old > '%s/old.txt' && echo stale > '%s/2026.txt'",
		target, target, target);
	fd = make_tar(good, sizeof(good) / sizeof(good[0]));
	if (tsarc_tree_restore_fd(target, fd, NULL, &res) != 0)
		fail_msg("restore failed: %s", tsarc_error_last()->message);
	close(fd);
	assert_int_equal(res.removed, 3);
	/* extras are gone, the archive's content is there with its modes and times */
	snprintf(p, sizeof(p), "%s/old.txt", target);
	assert_int_not_equal(stat(p, &sb), 0);
	snprintf(p, sizeof(p), "%s/old-dir", target);
	assert_int_not_equal(stat(p, &sb), 0);
	snprintf(p, sizeof(p), "%s/2026/11/logo-0123456789abcdef.png", target);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(sb.st_mtime, 1650000000);
	snprintf(p, sizeof(p), "%s/2026", target);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0750);
	assert_int_equal(sb.st_mtime, 1600000000);
	snprintf(p, sizeof(p), "%s/current", target);
	n = readlink(p, buf, sizeof(buf) - 1);
	assert_int_equal(n, 7);
	buf[n] = 0;
	assert_string_equal(buf, "2026/11");
	{
		struct stat a, b;
		snprintf(p, sizeof(p), "%s/invoices/1/pdfs/copy.pdf", target);
		assert_int_equal(stat(p, &a), 0);
		snprintf(p, sizeof(p), "%s/invoices/1/pdfs/original/inv.pdf", target);
		assert_int_equal(stat(p, &b), 0);
		assert_int_equal(a.st_ino, b.st_ino);
	}
	/* the archive's root entry gives the target its mode and time */
	assert_int_equal(stat(target, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0711);
	assert_int_equal(sb.st_mtime, 1500000000);
	/* no staging folder is left behind */
	sh("test -z \"$(ls -A '%s' | grep tsarc-restore)\"", target);
}

static void test_hostile_archives_change_nothing(void **state)
{
	tsarc_tree_restore_result res;
	char target[300];
	size_t i;

	(void)state;
	snprintf(target, sizeof(target), "%s/victim", tree_base);
	for (i = 0; i < tree_hostile_count; i++) {
		int fd;
		sh("rm -rf '%s' && mkdir -p '%s' && echo keep > '%s/keep.txt'", target, target, target);
		fd = make_tar(tree_hostile[i].s, tree_hostile[i].n);
		if (tsarc_tree_restore_fd(target, fd, NULL, &res) != TSARC_EUNSAFE)
			fail_msg("hostile archive %zu was not refused: %s", i, tsarc_error_last()->message);
		close(fd);
		/* the target is exactly as it was */
		sh("test \"$(ls -A '%s')\" = keep.txt && test \"$(cat '%s/keep.txt')\" = keep", target, target);
		sh("test ! -e '%s/evil' && test ! -e /tmp/tsarc-evil-abs", tree_base);
	}
}

static void test_garbage_is_an_error(void **state)
{
	tsarc_tree_restore_result res;
	char target[300], path[300];
	int fd;

	(void)state;
	snprintf(target, sizeof(target), "%s/g", tree_base);
	snprintf(path, sizeof(path), "%s/garbage", tree_base);
	sh("mkdir -p '%s' && echo keep > '%s/keep.txt' && head -c 5000 /dev/urandom > '%s'", target,
		target, path);
	fd = open(path, O_RDONLY);
	assert_int_not_equal(tsarc_tree_restore_fd(target, fd, NULL, &res), 0);
	close(fd);
	sh("test \"$(ls -A '%s')\" = keep.txt", target);
}

TREE_TESTS_MAIN(cmocka_unit_test(test_restore_equals_archive),
	cmocka_unit_test(test_hostile_archives_change_nothing),
	cmocka_unit_test(test_garbage_is_an_error))
