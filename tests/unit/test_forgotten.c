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
 * its mark go; check reports it; the dry run of the prune after `forget`
 * of its id counts it as gone; `forget` of its id (the operator's
 * confirmation) marks it, and then both run clean.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "forgotten.h"
#include "objlock.h"
#include "prune.h"
#include "objlock_fixture.h"
#include "repo_fixture.h"
#include "scratch.h"
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
		/* The dry run of the forget that confirms it (forget ID --dry-run
		 * --prune) counts it as gone, as the prune after the real one
		 * finds it marked: no refusal, and nothing hidden or deleted. */
		{
			const char *gone[1] = {ida};
			tsarc_prune_result pres;
			tsarc_lock *lk = NULL;

			assert_int_equal(tsarc_lock_acquire(&lk, L.repo, 0), 0);
			assert_int_equal(tsarc_prune_after(L.repo, lk, gone, 1, 1,
						 TSARC_PRUNE_MAX_UNUSED_DEFAULT, &pres), 0);
			assert_int_equal(tsarc_lock_release(lk), 0);
			assert_int_equal(pres.snapshots, 1);
			assert_int_equal(listed_count(L.st, TSARC_OBJ_DATA), all.n);
		}

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

static size_t count_cb_n;
static int count_cb(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	(void)name;
	(void)size;
	(void)mtime;
	(void)payload;
	count_cb_n++;
	return 0;
}

/* What `type`'s folder lists and hides (marks too). */
static size_t hidden_count(tsarc_store *st, tsarc_objtype type)
{
	count_cb_n = 0;
	assert_int_equal(tsarc_store_list_hidden(st, type, count_cb, NULL), 0);
	return count_cb_n;
}

/*
 * The same for key files (forgotten.h): a break-glass password's key file
 * hidden with one plain DELETE was left to expire and deleted for good by
 * the sweep, nothing reported. Now key remove marks what it hides; a
 * hidden key file without its own mark (none, junk, another key file's
 * mark or a snapshot's copied under its name) is extended, reported by
 * check and never swept; key remove of its id confirms it; the marks go
 * once their key file has no version left, and are never key files.
 */
static void test_a_key_file_hidden_by_another_hand(void **state)
{
	tsarc_repo_init_options o;
	uint8_t *data = malloc(SMALL);
	char kb[TSARC_ID_HEX_LEN + 1], kr[TSARC_ID_HEX_LEN + 1], out[TSARC_ID_HEX_LEN + 1];
	char ida[TSARC_ID_HEX_LEN + 1], name[128], from[128], prefix[13];
	char **names = NULL;
	const char *hide[1];
	tsarc_buf mark = TSARC_BUF_INIT;
	tsarc_extend_result ext;
	tsarc_purge_tally tally;
	tsarc_check_result cres;
	cJSON *keys = NULL;
	int64_t kept_until;
	uint64_t size;
	size_t n = 0;
	tsarc_key_removal how;
	int hidden;
	locked L;

	(void)state;
	repo_fixture_options(&o);
	o.retention.mode = TSARC_RETAIN_GOVERNANCE;
	o.retention.days = 1;
	locked_open(&L, "forgotten-keys", T0, &o);
	repo_fixture_fill(data, SMALL, 1);
	repo_fixture_backup(L.repo, L.dir, data, SMALL, "stdin", ida);
	assert_int_equal(tsarc_repo_add_key(L.repo, "break-glass", kb), 0);
	assert_int_equal(tsarc_repo_add_key(L.repo, "withdrawn", kr), 0);

	/* kr removed by tsarc: marked, hidden, left to expire; the mark is no
	 * key file to any listing of keys. */
	retention_store_set_now(L.ctl, T0 + 60);
	assert_int_equal(tsarc_repo_remove_key(L.repo, kr, out, &how), 0);
	assert_string_equal(out, kr);
	assert_int_equal(how.was_hidden, 0);
	assert_int_equal(how.kept_until, T0 + DAY); /* only hidden: said, with its date */
	assert_int_equal(tsarc_mark_check(L.repo, TSARC_OBJ_KEY, kr), 0);
	assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_KEY, kr, &hidden), T0 + DAY);
	assert_true(hidden);
	assert_int_equal(listed_count(L.st, TSARC_OBJ_KEY), 3); /* in use, kb, kr's mark */
	assert_int_equal(tsarc_repo_list_keys(L.repo, &keys), 0);
	assert_int_equal(cJSON_GetArraySize(keys), 2);
	cJSON_Delete(keys);
	assert_int_equal(tsarc_check(L.repo, NULL, NULL, NULL, &cres), 0);
	assert_int_equal(cres.keys, 2);
	assert_int_equal(cres.keys_damaged + cres.keys_hidden, 0);
	snprintf(prefix, sizeof(prefix), "%.12s", kr);
	assert_int_equal(tsarc_repo_remove_key(L.repo, prefix, out, NULL), TSARC_ENOTFOUND);

	/* kb hidden with the repository's credentials: one plain DELETE. */
	hide[0] = kb;
	assert_int_equal(tsarc_store_remove_many(L.repo->store, TSARC_OBJ_KEY, hide, 1), 0);
	assert_int_equal(tsarc_keys_unmarked(L.repo, &names, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], kb);
	tsarc_store_names_free(names, n);
	assert_int_equal(tsarc_check(L.repo, NULL, NULL, NULL, &cres), 0);
	assert_int_equal(cres.keys_hidden, 1);
	assert_int_equal(locked_extend(&L, T0 + 3600, &ext), TSARC_ECORRUPT);
	assert_non_null(strstr(tsarc_error_last()->message, "tsarc key remove"));
	assert_int_equal(ext.hidden_keys, 1);
	assert_string_equal(ext.hidden_key_first, kb);
	assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_KEY, kb, &hidden),
		T0 + 3600 + DAY);
	assert_true(hidden);
	assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_KEY, kr, &hidden), T0 + DAY);

	/* Junk, kr's mark, a forgotten snapshot's mark, each under kb's
	 * mark's name: kb is still hidden by another hand. */
	snprintf(name, sizeof(name), "%s%s", kb, TSARC_KEY_REMOVED_SUFFIX);
	assert_int_equal(tsarc_store_put(L.repo->store, TSARC_OBJ_KEY, name, "junk", 4, 0), 0);
	assert_int_equal(tsarc_mark_check(L.repo, TSARC_OBJ_KEY, kb), TSARC_ECORRUPT);
	snprintf(from, sizeof(from), "%s%s", kr, TSARC_KEY_REMOVED_SUFFIX);
	assert_int_equal(tsarc_store_get(L.repo->store, TSARC_OBJ_KEY, from, 0, 0, &mark), 0);
	assert_int_equal(tsarc_store_put(L.repo->store, TSARC_OBJ_KEY, name, mark.ptr, mark.size,
				 0), 0);
	assert_int_equal(tsarc_mark_check(L.repo, TSARC_OBJ_KEY, kb), TSARC_ECORRUPT);
	assert_int_equal(tsarc_snapshot_forget(L.repo, ida, T0 + 3600, &kept_until), 0);
	snprintf(from, sizeof(from), "%s%s", ida, TSARC_FORGOTTEN_SUFFIX);
	tsarc_buf_clear(&mark);
	assert_int_equal(tsarc_store_get(L.repo->store, TSARC_OBJ_SNAPSHOT, from, 0, 0, &mark),
		0);
	assert_int_equal(tsarc_store_put(L.repo->store, TSARC_OBJ_KEY, name, mark.ptr, mark.size,
				 0), 0);
	assert_int_equal(tsarc_mark_check(L.repo, TSARC_OBJ_KEY, kb), TSARC_ECORRUPT);
	assert_int_equal(tsarc_check(L.repo, NULL, NULL, NULL, &cres), 0);
	assert_int_equal(cres.keys_hidden, 1);
	assert_int_equal(cres.keys_damaged, 0);

	/* Past every date, the sweep deletes kr and then its mark for good,
	 * never kb (its forged mark, listed beside it, stays too). */
	retention_store_set_now(L.ctl, T0 + 30 * DAY);
	memset(&tally, 0, sizeof(tally));
	assert_int_equal(tsarc_objlock_sweep(L.repo, NULL, 1, &tally), 0);
	assert_int_equal(tally.kept, 0);
	n = tally.removed;
	memset(&tally, 0, sizeof(tally));
	assert_int_equal(tsarc_objlock_sweep(L.repo, NULL, 0, &tally), 0);
	assert_int_equal(tally.removed, n); /* the dry run said so */
	assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_KEY, kr, &size), TSARC_ENOTFOUND);
	snprintf(from, sizeof(from), "%s%s", kr, TSARC_KEY_REMOVED_SUFFIX);
	assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_KEY, from, &size), TSARC_ENOTFOUND);
	assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_KEY, kb, &size), 0);
	assert_int_equal(hidden_count(L.st, TSARC_OBJ_KEY), 1);

	/* The operator confirms (key remove of its id, a prefix will do): its
	 * date passed, it goes at once, and its mark with the next sweep. */
	snprintf(prefix, sizeof(prefix), "%.12s", kb);
	assert_int_equal(tsarc_repo_remove_key(L.repo, prefix, out, &how), 0);
	assert_string_equal(out, kb);
	assert_int_equal(how.was_hidden, 1);
	assert_int_equal(how.kept_until, 0); /* deleted for good */
	assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_KEY, kb, &size), TSARC_ENOTFOUND);
	assert_int_equal(tsarc_check(L.repo, NULL, NULL, NULL, &cres), 0);
	assert_int_equal(cres.keys_hidden, 0);
	assert_int_equal(locked_extend(&L, T0 + 30 * DAY, &ext), 0);
	retention_store_set_now(L.ctl, T0 + 32 * DAY);
	memset(&tally, 0, sizeof(tally));
	assert_int_equal(tsarc_objlock_sweep(L.repo, NULL, 0, &tally), 0);
	assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_KEY, name, &size), TSARC_ENOTFOUND);
	assert_int_equal(listed_count(L.inner, TSARC_OBJ_KEY), 1);
	locked_close(&L);
	tsarc_buf_dispose(&mark);
	free(data);
}

/* A removal cut off between its two requests: the store refuses every
 * delete, as a killed process sends none. */
static int refused_purge(tsarc_store *st, tsarc_objtype type, const char *const *names,
	size_t count, tsarc_store_purge_cb cb, void *payload)
{
	(void)st, (void)type, (void)names, (void)count, (void)cb, (void)payload;
	return tsarc_error_set(TSARC_EIO, "the test cut the removal off");
}

static int refused_remove(tsarc_store *st, tsarc_objtype type, const char *name)
{
	(void)st, (void)type, (void)name;
	return tsarc_error_set(TSARC_EIO, "the test cut the removal off");
}

static int refused_remove_many(tsarc_store *st, tsarc_objtype type,
	const char *const *names, size_t count)
{
	(void)st, (void)type, (void)names, (void)count;
	return tsarc_error_set(TSARC_EIO, "the test cut the removal off");
}

/*
 * A mark is bound to a name, not to the delete marker that hides it. A
 * forget or key remove cut off after storing its mark but before hiding
 * left the mark beside the listed snapshot or key file; whoever later
 * hid that object with one plain DELETE had it taken for tsarc's own
 * removal: left to expire, swept for good after its date, reported by
 * nobody. Now the mark is stored only once the object is hidden, and a
 * mark found beside a listed object (an operator deleted tsarc's delete
 * marker to take a removal back) is voided by the next prune: either
 * way, a later plain DELETE is reported as what it is.
 */
static void test_a_removal_cut_off_leaves_no_mark_to_reuse(void **state)
{
	tsarc_repo_init_options o;
	uint8_t *data = malloc(SMALL);
	char ida[TSARC_ID_HEX_LEN + 1], idb[TSARC_ID_HEX_LEN + 1], kb[TSARC_ID_HEX_LEN + 1];
	char out[TSARC_ID_HEX_LEN + 1];
	int (*purge)(tsarc_store *, tsarc_objtype, const char *const *, size_t,
		tsarc_store_purge_cb, void *);
	int (*remove)(tsarc_store *, tsarc_objtype, const char *);
	int (*remove_many)(tsarc_store *, tsarc_objtype, const char *const *, size_t);
	const char *hide[1];
	tsarc_check_result cres;
	tsarc_extend_result ext;
	char **names = NULL;
	int64_t kept_until;
	uint64_t size;
	size_t n = 0;
	locked L;

	(void)state;
	repo_fixture_options(&o);
	o.retention.mode = TSARC_RETAIN_GOVERNANCE;
	o.retention.days = 1;
	locked_open(&L, "forgotten-cut", T0, &o);
	repo_fixture_fill(data, SMALL, 1);
	repo_fixture_backup(L.repo, L.dir, data, SMALL, "stdin", ida);
	repo_fixture_fill(data, SMALL, 2);
	repo_fixture_backup(L.repo, L.dir, data, SMALL, "stdin", idb);
	assert_int_equal(tsarc_repo_add_key(L.repo, "break-glass", kb), 0);

	/* forget of a and key remove of kb, each cut off. */
	purge = L.repo->store->purge_many;
	remove = L.repo->store->remove;
	remove_many = L.repo->store->remove_many;
	L.repo->store->purge_many = refused_purge;
	L.repo->store->remove = refused_remove;
	L.repo->store->remove_many = refused_remove_many;
	assert_int_equal(tsarc_snapshot_forget(L.repo, ida, T0 + 60, &kept_until), TSARC_EIO);
	assert_int_equal(tsarc_repo_remove_key(L.repo, kb, out, NULL), TSARC_EIO);
	L.repo->store->purge_many = purge;
	L.repo->store->remove = remove;
	L.repo->store->remove_many = remove_many;
	assert_int_equal(tsarc_store_stat(L.repo->store, TSARC_OBJ_SNAPSHOT, ida, &size), 0);
	assert_int_equal(tsarc_store_stat(L.repo->store, TSARC_OBJ_KEY, kb, &size), 0);

	/* Later, both hidden with the repository's credentials. */
	hide[0] = ida;
	assert_int_equal(tsarc_store_remove_many(L.repo->store, TSARC_OBJ_SNAPSHOT, hide, 1), 0);
	hide[0] = kb;
	assert_int_equal(tsarc_store_remove_many(L.repo->store, TSARC_OBJ_KEY, hide, 1), 0);

	/* Both are another hand's: reported, extended, never swept. */
	assert_int_equal(tsarc_check(L.repo, NULL, NULL, NULL, &cres), 0);
	assert_int_equal(cres.snapshots_hidden, 1);
	assert_int_equal(cres.keys_hidden, 1);
	assert_int_equal(tsarc_keys_unmarked(L.repo, &names, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], kb);
	tsarc_store_names_free(names, n);
	assert_int_equal(locked_extend(&L, T0 + 3600, &ext), TSARC_ECORRUPT);
	assert_int_equal(ext.hidden, 1);
	assert_int_equal(ext.hidden_keys, 1);
	assert_int_equal(prune_at(&L, T0 + 3600, 0), TSARC_ECORRUPT);

	/* The operator confirms both: marked now, they go as usual. */
	assert_int_equal(tsarc_snapshot_forget(L.repo, ida, T0 + 3600, &kept_until), 0);
	assert_int_equal(tsarc_repo_remove_key(L.repo, kb, out, NULL), 0);
	assert_int_equal(tsarc_check(L.repo, NULL, NULL, NULL, &cres), 0);
	assert_int_equal(cres.snapshots_hidden + cres.keys_hidden, 0);

	/* b forgotten whole, then its delete marker deleted by the operator
	 * (taking the forget back: modelled by putting b's object back), its
	 * mark beside it. The next prune voids that mark; a plain DELETE
	 * afterwards is another hand's again. */
	assert_int_equal(tsarc_snapshot_forget(L.repo, idb, T0 + 3600, &kept_until), 0);
	assert_true(kept_until > 0);
	assert_int_equal(tsarc_forgotten_check(L.repo, idb), 0);
	{
		tsarc_buf snap = TSARC_BUF_INIT;
		assert_int_equal(tsarc_store_get(L.inner, TSARC_OBJ_SNAPSHOT, idb, 0, 0, &snap), 0);
		assert_int_equal(tsarc_store_put(L.repo->store, TSARC_OBJ_SNAPSHOT, idb, snap.ptr,
					 snap.size, 0), 0);
		tsarc_buf_dispose(&snap);
	}
	assert_int_equal(tsarc_store_stat(L.repo->store, TSARC_OBJ_SNAPSHOT, idb, &size), 0);
	assert_int_equal(prune_at(&L, T0 + 7200, 0), 0);
	assert_int_equal(tsarc_forgotten_check(L.repo, idb), TSARC_ENOTFOUND);
	tsarc_error_clear();
	hide[0] = idb;
	assert_int_equal(tsarc_store_remove_many(L.repo->store, TSARC_OBJ_SNAPSHOT, hide, 1), 0);
	assert_int_equal(tsarc_check(L.repo, NULL, NULL, NULL, &cres), 0);
	assert_int_equal(cres.snapshots_hidden, 1);
	locked_close(&L);
	free(data);
}

/* Without Object Lock nothing is hidden: key remove deletes the key file
 * and leaves no mark. */
static void test_no_mark_without_object_lock(void **state)
{
	tsarc_repo_init_options o;
	char dir[256], repo_dir[300], k[TSARC_ID_HEX_LEN + 1], out[TSARC_ID_HEX_LEN + 1];
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;
	char **names = NULL;
	size_t n = 0;

	(void)state;
	repo_fixture_options(&o);
	assert_non_null(scratch_make(dir, sizeof(dir), "forgotten-nolock"));
	snprintf(repo_dir, sizeof(repo_dir), "%s/repo", dir);
	assert_int_equal(tsarc_store_fs_open(&st, repo_dir, NULL), 0);
	assert_int_equal(tsarc_repo_init(&repo, st, "pw", &o), 0);
	assert_int_equal(tsarc_repo_add_key(repo, "other", k), 0);
	assert_int_equal(listed_count(st, TSARC_OBJ_KEY), 2);
	assert_int_equal(tsarc_repo_remove_key(repo, k, out, NULL), 0);
	assert_int_equal(listed_count(st, TSARC_OBJ_KEY), 1);
	assert_int_equal(tsarc_keys_unmarked(repo, &names, &n), 0);
	assert_int_equal(n, 0);
	tsarc_repo_free(repo);
	assert_int_equal(scratch_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_snapshot_hidden_by_another_hand),
		cmocka_unit_test(test_a_key_file_hidden_by_another_hand),
		cmocka_unit_test(test_a_removal_cut_off_leaves_no_mark_to_reuse),
		cmocka_unit_test(test_no_mark_without_object_lock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
