/*
 * A snapshot hidden behind a delete marker that tsarc's forget did not
 * write (src/forgotten.h): what a thief of the repository's S3
 * credentials does with one plain DELETE under Object Lock. Before, it
 * looked like a forgotten snapshot: extend-retention left it and its data
 * to expire and said nothing, and prune freed what only it needed.
 *
 * Through a store with S3's retention semantics on a test clock, on
 * format 1 and 2: a snapshot tsarc forgot carries a mark and is left to
 * expire; one hidden by another hand makes prune refuse (deleting
 * nothing) and extend-retention fail, after it extended the hidden
 * snapshot and every data object, listed or hidden; a junk mark, or
 * another snapshot's mark copied under its name, changes nothing; the
 * sweep never deletes it, even past its date, while the forgotten one and
 * its mark go; check reports it; `forget` of its id (the operator's confirmation) marks it,
 * and then both run clean.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "check.h"
#include "forgotten.h"
#include "objlock.h"
#include "prune.h"
#include "objlock_fixture.h"
#include "repo_fixture.h"
#include "tsarc/errors.h"

#define T0 1800000000
#define SMALL (48u * 1024)

static int prune_at(locked *l, int64_t now, int dry_run)
{
	tsarc_prune_result res;

	retention_store_set_now(l->ctl, now);
	return repo_fixture_prune(l->repo, dry_run, &res);
}

static void mark_name(char *out, size_t outsz, const char *id)
{
	snprintf(out, outsz, "%s%s", id, TSARC_FORGOTTEN_SUFFIX);
}

static void test_a_snapshot_hidden_by_another_hand(void **state)
{
	static const tsarc_repo_init_options v2 = {{1024, 4096, 16384}, TSARC_CODEC_ZSTD, 0,
		1024, {TSARC_RETAIN_COMPLIANCE, 1}, 2, 64 * 1024};
	static const tsarc_repo_init_options v1 = {{4096, 16384, 65536}, TSARC_CODEC_ZSTD, 0,
		1024, {TSARC_RETAIN_GOVERNANCE, 1}, 1, 0};
	const tsarc_repo_init_options *opts[2] = {&v1, &v2};
	uint8_t *data = malloc(SMALL);
	char ida[TSARC_ID_HEX_LEN + 1], idb[TSARC_ID_HEX_LEN + 1], idc[TSARC_ID_HEX_LEN + 1];
	char name[128], found[TSARC_ID_HEX_LEN + 1], prefix[13];
	const char *hide[1];
	tsarc_buf mark = TSARC_BUF_INIT;
	tsarc_extend_result ext;
	tsarc_purge_tally tally;
	tsarc_check_result cres;
	listed pa, all, none;
	int64_t kept_until;
	uint64_t size;
	size_t f;
	int hidden;

	(void)state;
	memset(&none, 0, sizeof(none));
	for (f = 0; f < 2; f++) {
		locked L;
		locked_open(&L, "forgotten", T0, opts[f]);
		repo_fixture_fill(data, SMALL, 1);
		repo_fixture_backup(L.repo, L.dir, data, SMALL, "stdin", ida);
		listed_since(L.st, TSARC_OBJ_DATA, &none, &pa); /* what only a needs */
		retention_store_set_now(L.ctl, T0 + 60);
		repo_fixture_fill(data, SMALL, 2);
		repo_fixture_backup(L.repo, L.dir, data, SMALL, "stdin", idb);
		repo_fixture_fill(data, SMALL, 3);
		repo_fixture_backup(L.repo, L.dir, data, SMALL, "stdin", idc);
		listed_since(L.st, TSARC_OBJ_DATA, &none, &all);
		assert_true(pa.n >= 1 && all.n > pa.n);

		/* c forgotten by tsarc: marked, hidden, left to expire. */
		assert_int_equal(tsarc_snapshot_forget(L.repo, idc, T0 + 600, &kept_until), 0);
		assert_int_equal(kept_until, T0 + 60 + DAY);
		assert_int_equal(tsarc_forgotten_check(L.repo, idc), 0);
		assert_int_equal(locked_extend(&L, T0 + 3600, &ext), 0);
		assert_int_equal(ext.hidden, 0);
		assert_int_equal(tsarc_check(L.repo, NULL, NULL, NULL, &cres), 0);
		assert_int_equal(cres.snapshots_hidden, 0);
		assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_SNAPSHOT, idc, &hidden),
			T0 + 60 + DAY);
		assert_true(hidden);

		/* a hidden with the repository's credentials: one plain DELETE. */
		hide[0] = ida;
		assert_int_equal(tsarc_store_remove_many(L.repo->store, TSARC_OBJ_SNAPSHOT, hide, 1),
			0);
		assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_SNAPSHOT, ida, &hidden),
			T0 + 3600 + DAY);
		assert_true(hidden);

		/* check reports it. */
		assert_int_equal(tsarc_check(L.repo, NULL, NULL, NULL, &cres), 0);
		assert_int_equal(cres.snapshots_hidden, 1);

		/* prune refuses, dry run or not, and hides or deletes nothing. */
		assert_int_equal(prune_at(&L, T0 + 7200, 1), TSARC_ECORRUPT);
		assert_int_equal(prune_at(&L, T0 + 7200, 0), TSARC_ECORRUPT);
		assert_non_null(strstr(tsarc_error_last()->message, "delete marker"));
		assert_non_null(strstr(tsarc_error_last()->message, "tsarc forget"));
		assert_int_equal(listed_count(L.st, TSARC_OBJ_DATA), all.n);
		assert_int_equal(listed_count(L.inner, TSARC_OBJ_DATA), all.n);

		/* extend-retention fails, naming it, after it extended a and every
		 * data object (what a needs is not known). */
		assert_int_equal(locked_extend(&L, T0 + 7200, &ext), TSARC_ECORRUPT);
		assert_non_null(strstr(tsarc_error_last()->message, "tsarc forget"));
		assert_int_equal(ext.hidden, 1);
		assert_string_equal(ext.hidden_first, ida);
		assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_SNAPSHOT, ida, &hidden),
			T0 + 7200 + DAY);
		assert_true(hidden);
		locked_all_until(&L, TSARC_OBJ_DATA, &all, T0 + 7200 + DAY);

		/* A junk mark, then c's mark copied under a's name: a is still
		 * hidden by another hand. */
		mark_name(name, sizeof(name), ida);
		assert_int_equal(tsarc_store_put(L.repo->store, TSARC_OBJ_SNAPSHOT, name, "junk", 4,
					 0), 0);
		assert_int_equal(tsarc_forgotten_check(L.repo, ida), TSARC_ECORRUPT);
		assert_int_equal(locked_extend(&L, T0 + 7200, &ext), TSARC_ECORRUPT);
		assert_int_equal(ext.hidden, 1);
		mark_name(name, sizeof(name), idc);
		tsarc_buf_clear(&mark);
		assert_int_equal(tsarc_store_get(L.repo->store, TSARC_OBJ_SNAPSHOT, name, 0, 0, &mark),
			0);
		mark_name(name, sizeof(name), ida);
		assert_int_equal(tsarc_store_put(L.repo->store, TSARC_OBJ_SNAPSHOT, name, mark.ptr,
					 mark.size, 0), 0);
		assert_int_equal(tsarc_forgotten_check(L.repo, ida), TSARC_ECORRUPT);
		assert_int_equal(locked_extend(&L, T0 + 7200, &ext), TSARC_ECORRUPT);
		assert_int_equal(ext.hidden, 1);

		/* Past every date, the sweep deletes c and then its mark for good,
		 * never a. */
		retention_store_set_now(L.ctl, T0 + 30 * DAY);
		memset(&tally, 0, sizeof(tally));
		assert_int_equal(tsarc_objlock_sweep(L.repo, NULL, 0, &tally), 0);
		assert_int_equal(tally.kept, 0);
		assert_true(tally.removed >= 2);
		assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_SNAPSHOT, idc, &size),
			TSARC_ENOTFOUND);
		assert_int_equal(tsarc_forgotten_check(L.repo, idc), TSARC_ENOTFOUND);
		assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_SNAPSHOT, ida, &size), 0);

		/* One of a's own data objects hidden as well (while the nightly
		 * extension keeps it retained): extended all the same. */
		assert_int_equal(locked_extend(&L, T0 + 30 * DAY, &ext), TSARC_ECORRUPT);
		hide[0] = pa.names[0];
		assert_int_equal(tsarc_store_remove_many(L.repo->store, TSARC_OBJ_DATA, hide, 1), 0);
		assert_int_equal(locked_extend(&L, T0 + 30 * DAY + 60, &ext), TSARC_ECORRUPT);
		assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_DATA, pa.names[0], &hidden),
			T0 + 31 * DAY + 60);
		assert_true(hidden);
		assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_DATA, pa.names[0], &size), 0);

		/* The operator confirms (forget of its id, a prefix will do): marked,
		 * and both run clean. */
		snprintf(prefix, sizeof(prefix), "%.12s", ida);
		assert_int_equal(tsarc_forgotten_resolve(L.repo, prefix, found), 0);
		assert_string_equal(found, ida);
		assert_int_equal(tsarc_snapshot_forget(L.repo, ida, T0 + 30 * DAY, &kept_until), 0);
		assert_int_equal(tsarc_forgotten_check(L.repo, ida), 0);
		assert_int_equal(tsarc_forgotten_resolve(L.repo, prefix, found), TSARC_ENOTFOUND);
		assert_int_equal(locked_extend(&L, T0 + 30 * DAY, &ext), 0);
		assert_int_equal(ext.hidden, 0);
		assert_int_equal(prune_at(&L, T0 + 30 * DAY, 0), 0);
		assert_int_equal(tsarc_check(L.repo, NULL, NULL, NULL, &cres), 0);
		assert_int_equal(cres.snapshots_hidden, 0);
		locked_close(&L);
	}
	tsarc_buf_dispose(&mark);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_snapshot_hidden_by_another_hand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
