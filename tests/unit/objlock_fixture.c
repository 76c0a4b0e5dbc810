#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "objlock_fixture.h"
#include "error_save.h"
#include "lock.h"
#include "scratch.h"

void locked_open(locked *l, const char *what, int64_t now,
	const tsarc_repo_init_options *opts)
{
	char repo_dir[300];

	memset(l, 0, sizeof(*l));
	assert_non_null(scratch_make(l->dir, sizeof(l->dir), what));
	snprintf(repo_dir, sizeof(repo_dir), "%s/repo", l->dir);
	assert_int_equal(tsarc_store_fs_open(&l->inner, repo_dir, NULL), 0);
	assert_int_equal(retention_store_wrap(&l->st, &l->ctl, l->inner), 0);
	retention_store_set_now(l->ctl, now);
	assert_int_equal(tsarc_repo_init(&l->repo, l->st, "lock-pw", opts), 0);
}

void locked_close(locked *l)
{
	tsarc_repo_free(l->repo);
	l->repo = NULL;
	assert_int_equal(scratch_remove(l->dir), 0);
}

int locked_extend(locked *l, int64_t now, tsarc_extend_result *ext)
{
	tsarc_lock *lock = NULL;
	tsarc_saved_error e;
	int rc;

	assert_int_equal(tsarc_lock_acquire(&lock, l->repo, 0), 0);
	if ((rc = tsarc_objlock_extend(l->repo, lock, now, ext)))
		tsarc_error_save(&e);
	assert_int_equal(tsarc_lock_release(lock), 0);
	/* The error for the test to read is the extension's, not the release's. */
	return rc ? tsarc_error_restore(&e) : 0;
}

void locked_all_until(locked *l, tsarc_objtype type, const listed *objs, int64_t until)
{
	size_t i;
	int hidden;

	for (i = 0; i < objs->n; i++)
		assert_int_equal(retention_store_until(l->ctl, type, objs->names[i], &hidden), until);
}

void listed_since(tsarc_store *st, tsarc_objtype type, const listed *before, listed *out)
{
	listed all;
	size_t i;

	memset(&all, 0, sizeof(all));
	memset(out, 0, sizeof(*out));
	assert_int_equal(tsarc_store_list(st, type, listed_add, &all), 0);
	for (i = 0; i < all.n; i++)
		if (!before || listed_find(before, all.names[i]) < 0)
			assert_int_equal(listed_add(all.names[i], all.sizes[i], 0, out), 0);
}

size_t listed_count(tsarc_store *st, tsarc_objtype type)
{
	listed all;

	listed_since(st, type, NULL, &all);
	return all.n;
}
