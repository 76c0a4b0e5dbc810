/* src/tree/check.c: the check before a restore in a pod. */
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

/* The check for restores that extract elsewhere (in a pod) refuses what
 * the restore refuses, accepts what it accepts, and leaves no scratch
 * folder behind. */
static void test_check_without_restoring(void **state)
{
	static const spec fine[] = {{"d", 'd', NULL, 0, 0}, {"d/f.txt", 'f', "data", 0, 0},
		{"d/l", 'l', "f.txt", 0, 0}, {"up", 'l', "d/../d/f.txt", 0, 0}, {"h", 'h', "d/f.txt", 0, 0}};
	char tmp[300];
	uint64_t entries;
	size_t i;
	int fd;

	(void)state;
	snprintf(tmp, sizeof(tmp), "%s/scratch", tree_base);
	sh("mkdir -p '%s'", tmp);
	assert_int_equal(setenv("TMPDIR", tmp, 1), 0);
	for (i = 0; i < tree_hostile_count; i++) {
		fd = make_tar(tree_hostile[i].s, tree_hostile[i].n);
		if (tsarc_tree_check_fd(fd, &entries) != TSARC_EUNSAFE)
			fail_msg("hostile archive %zu passed the check", i);
		close(fd);
	}
	fd = make_tar(fine, sizeof(fine) / sizeof(fine[0]));
	if (tsarc_tree_check_fd(fd, &entries) != 0)
		fail_msg("a fine archive failed the check: %s", tsarc_error_last()->message);
	close(fd);
	assert_int_equal(entries, 5);
	sh("test -z \"$(ls -A '%s')\"", tmp);
	unsetenv("TMPDIR");
}

TREE_TESTS_MAIN(cmocka_unit_test(test_check_without_restoring))
