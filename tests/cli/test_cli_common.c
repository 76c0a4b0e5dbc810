/* cli/common.c: how a command ends (cli_end): its lock released, its
 * repository freed, and the exit code for its result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "cli.h"
#include "lock.h"
#include "repo.h"
#include "scratch.h"
#include "tsarc/errors.h"
#include "unit/repo_fixture.h"

static char dir[256];

static tsarc_repo *open_repo(void)
{
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;

	assert_int_equal(tsarc_store_fs_open(&st, dir, NULL), 0);
	assert_int_equal(tsarc_repo_open(&repo, st, "pw"), 0);
	return repo;
}

static int setup(void **state)
{
	tsarc_repo_init_options o;
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;

	(void)state;
	repo_fixture_options(&o);
	if (!scratch_make(dir, sizeof(dir), "cli-common") || tsarc_store_fs_open(&st, dir, NULL) ||
		tsarc_repo_init(&repo, st, "pw", &o))
		return -1;
	tsarc_repo_free(repo);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove(dir);
}

/* The exclusive lock a command held is gone once it has ended: another
 * takes one at once. Success is EXIT_OK; a failure, its exit code. */
static void end_releases_and_maps(void **state)
{
	static const struct {
		int rc, exit_code;
	} cases[] = {
		{0, EXIT_OK},
		{TSARC_ELOCKED, EXIT_LOCKED},
		{TSARC_ECORRUPT, EXIT_DAMAGED},
		{TSARC_EIO, EXIT_FAILURE_GENERIC},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tsarc_repo *repo = open_repo(), *other = open_repo();
		tsarc_lock *lock = NULL, *again = NULL;

		assert_int_equal(tsarc_lock_acquire(&lock, repo, 1), 0);
		assert_int_equal(tsarc_lock_acquire(&again, other, 1), TSARC_ELOCKED);
		if (cases[i].rc)
			tsarc_error_set(cases[i].rc, "case %zu", i);
		assert_int_equal(cli_end(repo, lock, cases[i].rc), cases[i].exit_code);
		assert_int_equal(tsarc_lock_acquire(&again, other, 1), 0);
		assert_int_equal(cli_end(other, again, 0), EXIT_OK);
	}
	/* Without a lock, and without a repository. */
	assert_int_equal(cli_end(open_repo(), NULL, 0), EXIT_OK);
	assert_int_equal(cli_end(NULL, NULL, TSARC_ENOTREPO), EXIT_NO_REPOSITORY);
}

TSARC_TESTS_MAIN(setup, teardown, cmocka_unit_test(end_releases_and_maps))
