/* src/tree/entry.c: the rules every reader of a tree archive applies. */
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

static void test_entry_rules(void **state)
{
	(void)state;
	assert_int_equal(tsarc_tree_entry_safe("a/b.txt", NULL, 0), 0);
	assert_int_equal(tsarc_tree_entry_safe("a/..b/c", NULL, 0), 0);
	assert_int_equal(tsarc_tree_entry_safe("/etc/passwd", NULL, 0), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("../x", NULL, 0), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("a/../../x", NULL, 0), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("a/..", NULL, 0), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("", NULL, 0), TSARC_EUNSAFE);
	/* symlinks resolve from their own folder */
	assert_int_equal(tsarc_tree_entry_safe("a/l", "../b", 1), 0);
	assert_int_equal(tsarc_tree_entry_safe("a/b/l", "../../c", 1), 0);
	assert_int_equal(tsarc_tree_entry_safe("a/l", "../../b", 1), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("l", "..", 1), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("l", "/etc", 1), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("a/l", "x/../../..", 1), TSARC_EUNSAFE);
	/* hard links name entries of the archive */
	assert_int_equal(tsarc_tree_entry_safe("a/h", "a/b.txt", 0), 0);
	assert_int_equal(tsarc_tree_entry_safe("a/h", "../b", 0), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("a/h", "/etc/shadow", 0), TSARC_EUNSAFE);
}

/* What a backup does not write (fifos, sockets, devices) a restore skips,
 * named, instead of refusing the whole tree: backup and restore take the
 * same entries. tsarc's swap journal is never data. */
static void test_fifo_skipped_not_refused(void **state)
{
	static const spec withfifo[] = {{"a.txt", 'f', "data", 0, 0}, {"p", 'p', NULL, 0, 0},
		{".tsarc-swap-journal", 'f', "tsarc-swap 1\n2\n.tsarc-restore-1-a\n.tsarc-old-1-a\ndelete\n", 0, 0}};
	tsarc_tree_restore_result res;
	char target[300];
	uint64_t entries;
	int fd;

	(void)state;
	snprintf(target, sizeof(target), "%s/withfifo", tree_base);
	sh("rm -rf '%s' && mkdir -p '%s' && echo old > '%s/old.txt'", target, target, target);
	fd = make_tar(withfifo, 3);
	if (tsarc_tree_restore_fd(target, fd, NULL, &res) != 0)
		fail_msg("a tree with a fifo was refused: %s", tsarc_error_last()->message);
	close(fd);
	assert_int_equal(res.skipped, 2);
	assert_int_equal(res.entries, 1);
	sh("test \"$(ls -A '%s')\" = a.txt && test \"$(cat '%s/a.txt')\" = data", target, target);
	fd = make_tar(withfifo, 3);
	assert_int_equal(tsarc_tree_check_fd(fd, &entries), 0);
	assert_int_equal(entries, 1);
	close(fd);
}

TREE_TESTS_MAIN(cmocka_unit_test(test_entry_rules),
	cmocka_unit_test(test_fifo_skipped_not_refused))
