/*
 * Object Lock in the engine (src/objlock.c, prune, the repository config),
 * through a store with S3's retention semantics on a clock the test sets
 * (tests/store/retention_store.c): the config keeps the retention and a
 * reopened repository writes with it; a forgotten snapshot under
 * retention is hidden and reported, prune hides its chunks and reports
 * until when, and deletes them for good once the date has passed; the
 * extension reaches every object live snapshots need and no hidden one,
 * and every data object when what a snapshot needs is not known (it does
 * not open, or an index object is hidden); a config's object_lock field is checked when read back; a store without
 * Object Lock is refused at init.
 *
 * On format 2 (packs + index), three backups: a (one pack, several
 * chunks), b (its own pack) and c, whose first chunk is a's first chunk
 * (the same bytes from the start of a stream are cut the same), so once a
 * and b are forgotten a's pack is mostly unused but needed and b's pack
 * wholly unused. Every pack and index object carries the date; the
 * extension moves the date of the packs and index objects c needs, never
 * of b's pack; prune within the dates repacks nothing locked, hides b's
 * pack and the old index objects and reports them with their bytes, and
 * check and the restore of c see nothing amiss; past the dates prune
 * deletes what it hid for good and repacks a's pack.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <cmocka.h>

#include "backup.h"
#include "check.h"
#include "fileio.h"
#include "forgotten.h"
#include "lock.h"
#include "objlock.h"
#include "prune.h"
#include "repair.h"
#include "repo.h"
#include "snapshot.h"
#include "objlock_fixture.h"
#include "repo_fixture.h"
#include "tsarc/errors.h"
#include "scratch.h"
#include "listed.h"

#define LEN (300u * 1024)

static char dir[256];

static void make_dir(const char *what)
{
	assert_non_null(scratch_make(dir, sizeof(dir), what));
}

static void remove_dir(void)
{
	assert_int_equal(scratch_remove(dir), 0);
}

/* The chunk names of snapshot `id` that snapshot `other` does not share. */
static size_t own_chunks(tsarc_repo *repo, const char *id, const char *other,
	char names[][TSARC_ID_HEX_LEN + 1], size_t max)
{
	tsarc_snapshot *a = NULL, *b = NULL;
	size_t i, j, n = 0, k;
	int shared, dup;

	assert_int_equal(tsarc_snapshot_load(repo, id, &a), 0);
	assert_int_equal(tsarc_snapshot_load(repo, other, &b), 0);
	for (i = 0; i < a->streams[0].nchunks; i++) {
		shared = 0;
		for (j = 0; j < b->streams[0].nchunks && !shared; j++)
			shared = !memcmp(a->streams[0].chunks[i].id, b->streams[0].chunks[j].id,
				TSARC_ID_LEN);
		if (shared)
			continue;
		assert_true(n < max);
		tsarc_hex_encode(names[n], a->streams[0].chunks[i].id, TSARC_ID_LEN);
		for (dup = 0, k = 0; k < n && !dup; k++)
			dup = !strcmp(names[k], names[n]);
		n += !dup;
	}
	tsarc_snapshot_free(a);
	tsarc_snapshot_free(b);
	return n;
}

/*
 * A prune run twice on one state: first as a dry run, which must say
 * what the real run then does (README: its figures are exact), Object
 * Lock included: what is deleted for good and what only hidden (with
 * its bytes and date), and what the sweep of earlier runs' hidden
 * objects deletes or keeps. Before, the dry run counted a retained pack
 * as freed and said nothing of the sweep. The index objects a format-2
 * prune replaces are named only once the merged one is written, so the
 * dry run does not count them.
 */
static void prune_as_the_dry_run_said(tsarc_repo *repo, tsarc_prune_result *res)
{
	tsarc_prune_result dry;

	assert_int_equal(repo_fixture_prune(repo, 1, &dry), 0);
	assert_int_equal(repo_fixture_prune(repo, 0, res), 0);
	assert_int_equal(dry.chunks_removed, res->chunks_removed);
	assert_int_equal(dry.bytes_removed, res->bytes_removed);
	assert_int_equal(dry.bytes_added, res->bytes_added);
	assert_int_equal(dry.chunks_kept, res->chunks_kept);
	assert_int_equal(dry.chunks_kept_until, res->chunks_kept_until);
	assert_int_equal(dry.hidden_removed, res->hidden_removed);
	assert_int_equal(dry.hidden_kept, res->hidden_kept);
	assert_int_equal(dry.hidden_kept_until, res->hidden_kept_until);
	assert_int_equal(dry.packs_deleted, res->packs_deleted);
	assert_int_equal(dry.packs_repacked, res->packs_repacked);
	assert_int_equal(dry.packs_written, res->packs_written);
	assert_int_equal(dry.packs_locked, res->packs_locked);
	assert_int_equal(dry.packs_kept, res->packs_kept);
	assert_int_equal(dry.bytes_kept_packs, res->bytes_kept_packs);
	assert_int_equal(dry.packs_kept_until, res->packs_kept_until);
}

static void test_forget_prune_extend_under_retention(void **state)
{
	static const tsarc_repo_init_options opts = {{4096, 16384, 65536}, TSARC_CODEC_ZSTD, 0,
		1024, {TSARC_RETAIN_COMPLIANCE, 1}, 1, 0};
	uint8_t *a = malloc(LEN), *b = malloc(LEN);
	char ida[TSARC_ID_HEX_LEN + 1], idb[TSARC_ID_HEX_LEN + 1];
	char doomed[64][TSARC_ID_HEX_LEN + 1];
	const char *names[1];
	locked L;
	tsarc_prune_result res;
	tsarc_extend_result ext;
	tsarc_snapshot *snap = NULL;
	tsarc_lock *lock = NULL;
	int64_t t0 = 1800000000, kept_until;
	size_t ndoomed, i;
	uint64_t size;
	int hidden;

	(void)state;
	locked_open(&L, "objlock", t0, &opts);
	/* The config and the key file were written with the retention. */
	assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_CONFIG, NULL, &hidden), t0 + DAY);
	assert_int_equal(retention_store_count(L.ctl, TSARC_OBJ_KEY), 1);
	/* Reopened, the retention comes from the config and goes to the store. */
	L.repo->store = NULL;
	tsarc_repo_free(L.repo);
	L.repo = NULL;
	retention_store_drop_policy(L.ctl);
	assert_int_equal(tsarc_repo_open(&L.repo, L.st, "lock-pw"), 0);
	assert_int_equal(retention_store_policy(L.ctl).mode, TSARC_RETAIN_COMPLIANCE);
	assert_int_equal(retention_store_policy(L.ctl).days, 1);
	assert_int_equal(L.repo->retention.mode, TSARC_RETAIN_COMPLIANCE);
	assert_int_equal(L.repo->retention.days, 1);

	repo_fixture_fill(a, LEN, 1);
	memcpy(b, a, LEN / 2);
	repo_fixture_fill(b + LEN / 2, LEN / 2, 2);
	repo_fixture_backup(L.repo, L.dir, a, LEN, "stdin", ida);
	retention_store_set_now(L.ctl, t0 + 3600);
	repo_fixture_backup(L.repo, L.dir, b, LEN, "stdin", idb);
	assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_SNAPSHOT, ida, &hidden), t0 + DAY);
	assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_SNAPSHOT, idb, &hidden),
		t0 + 3600 + DAY);
	ndoomed = own_chunks(L.repo, ida, idb, doomed, 64);
	assert_true(ndoomed > 2);

	/* Forget a while it is retained: hidden, and reported until when. */
	assert_int_equal(tsarc_snapshot_forget(L.repo, ida, t0 + 3600, &kept_until), 0);
	assert_int_equal(kept_until, t0 + DAY);
	assert_int_equal(tsarc_forgotten_check(L.repo, ida), 0);
	assert_int_equal(tsarc_snapshot_load(L.repo, ida, &snap), TSARC_ENOTFOUND);

	/* Prune within the retention: a's own chunks hidden, none deleted. */
	prune_as_the_dry_run_said(L.repo, &res);
	assert_int_equal(res.snapshots, 1);
	assert_int_equal(res.chunks_removed, ndoomed);
	assert_int_equal(res.chunks_kept, ndoomed);
	assert_int_equal(res.chunks_kept_until, t0 + DAY);
	/* Only hidden, so nothing freed: bytes_removed counts what is
	 * deleted for good, as on format 2 (before, every hidden chunk's
	 * bytes, dry run and real run alike). */
	assert_int_equal(res.bytes_removed, 0);
	assert_int_equal(res.hidden_kept, 1); /* the forgotten snapshot */
	assert_int_equal(res.hidden_removed, 0);
	for (i = 0; i < ndoomed; i++) {
		assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_DATA, doomed[i], &hidden),
			t0 + DAY);
		assert_true(hidden);
		assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_DATA, doomed[i], &size), 0);
	}

	/* The extension at t0 + 2 h: b's objects move, the hidden ones do not. */
	retention_store_set_now(L.ctl, t0 + 7200);
	assert_int_equal(tsarc_lock_acquire(&lock, L.repo, 0), 0);
	assert_int_equal(tsarc_objlock_extend(L.repo, lock, t0 + 7200, &ext), 0);
	assert_int_equal(tsarc_lock_release(lock), 0);
	assert_int_equal(ext.until, t0 + 7200 + DAY);
	assert_int_equal(ext.snapshots, 1);
	assert_int_equal(ext.missing, 0);
	assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_SNAPSHOT, idb, &hidden),
		t0 + 7200 + DAY);
	assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_CONFIG, NULL, &hidden),
		t0 + 7200 + DAY);
	assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_SNAPSHOT, ida, &hidden), t0 + DAY);
	for (i = 0; i < ndoomed; i++)
		assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_DATA, doomed[i], &hidden),
			t0 + DAY);
	/* config, key, b's manifest and every chunk b needs */
	assert_int_equal(ext.objects, 3 + (retention_store_count(L.ctl, TSARC_OBJ_DATA) - ndoomed));

	/* Past the date: the hidden objects go for good, b stays whole. */
	retention_store_set_now(L.ctl, t0 + 2 * DAY);
	prune_as_the_dry_run_said(L.repo, &res);
	assert_int_equal(res.chunks_removed, 0);
	/* a's chunks, a, then a's mark (t0 + 1 h + DAY has passed too) */
	assert_int_equal(res.hidden_removed, ndoomed + 2);
	assert_int_equal(res.hidden_kept, 0);
	assert_int_equal(tsarc_forgotten_check(L.repo, ida), TSARC_ENOTFOUND);
	for (i = 0; i < ndoomed; i++)
		assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_DATA, doomed[i], &size),
			TSARC_ENOTFOUND);
	assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_SNAPSHOT, ida, &size), TSARC_ENOTFOUND);
	assert_int_equal(tsarc_snapshot_load(L.repo, idb, &snap), 0);
	tsarc_snapshot_free(snap);

	/* A chunk b needs, hidden behind tsarc's back: the extension says so,
	 * and no prune deletes it even past its date. */
	{
		tsarc_snapshot *sb = NULL;
		char hex[TSARC_ID_HEX_LEN + 1];
		assert_int_equal(tsarc_snapshot_load(L.repo, idb, &sb), 0);
		tsarc_hex_encode(hex, sb->streams[0].chunks[0].id, TSARC_ID_LEN);
		tsarc_snapshot_free(sb);
		names[0] = hex;
		retention_store_set_now(L.ctl, t0 + 10 * DAY);
		assert_int_equal(tsarc_store_remove_many(L.repo->store, TSARC_OBJ_DATA, names, 1), 0);
		assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_DATA, hex, &size), TSARC_ENOTFOUND);
	}
	locked_close(&L);
	free(a);
	free(b);
}

static void test_extend_reports_missing_chunks(void **state)
{
	static const tsarc_repo_init_options opts = {{4096, 16384, 65536}, TSARC_CODEC_ZSTD, 0,
		1024, {TSARC_RETAIN_GOVERNANCE, 3}, 1, 0};
	uint8_t *a = malloc(LEN);
	char ida[TSARC_ID_HEX_LEN + 1], hex[TSARC_ID_HEX_LEN + 1];
	const char *names[1] = {hex};
	locked L;
	tsarc_snapshot *snap = NULL;
	tsarc_extend_result ext;
	tsarc_prune_result res;
	tsarc_lock *lock = NULL;
	uint64_t size;

	(void)state;
	locked_open(&L, "objlock", 1800000000, &opts);
	repo_fixture_fill(a, LEN, 7);
	repo_fixture_backup(L.repo, L.dir, a, LEN, "stdin", ida);
	assert_int_equal(tsarc_snapshot_load(L.repo, ida, &snap), 0);
	tsarc_hex_encode(hex, snap->streams[0].chunks[0].id, TSARC_ID_LEN);
	tsarc_snapshot_free(snap);
	/* Someone hides a chunk the snapshot needs (a delete marker). */
	assert_int_equal(tsarc_store_remove_many(L.repo->store, TSARC_OBJ_DATA, names, 1), 0);
	assert_int_equal(tsarc_lock_acquire(&lock, L.repo, 0), 0);
	assert_int_equal(tsarc_objlock_extend(L.repo, lock, 1800000000 + 60, &ext),
		TSARC_ECORRUPT);
	assert_non_null(strstr(tsarc_error_last()->message, "missing or hidden"));
	assert_int_equal(tsarc_lock_release(lock), 0);
	assert_int_equal(ext.missing, 1);
	/* Long after its date, prune still leaves it: a live snapshot needs it. */
	retention_store_set_now(L.ctl, 1800000000 + 30 * DAY);
	assert_int_equal(repo_fixture_prune(L.repo, 0, &res), 0);
	assert_int_equal(res.hidden_removed, 0);
	assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_DATA, hex, &size), 0);
	locked_close(&L);
	free(a);
}

static void test_config_field_is_checked(void **state)
{
	static const struct {
		const char *json;
		int rc;
		tsarc_retain_mode mode;
		uint32_t days;
	} cases[] = {
		{"{}", 0, TSARC_RETAIN_NONE, 0},
		{"{\"object_lock\":{\"mode\":\"compliance\",\"days\":30}}", 0,
			TSARC_RETAIN_COMPLIANCE, 30},
		{"{\"object_lock\":{\"mode\":\"governance\",\"days\":36500}}", 0,
			TSARC_RETAIN_GOVERNANCE, 36500},
		{"{\"object_lock\":{\"mode\":\"none\",\"days\":30}}", TSARC_ECORRUPT, 0, 0},
		{"{\"object_lock\":{\"mode\":\"COMPLIANCE\",\"days\":30}}", TSARC_ECORRUPT, 0, 0},
		{"{\"object_lock\":{\"mode\":\"compliance\",\"days\":0}}", TSARC_ECORRUPT, 0, 0},
		{"{\"object_lock\":{\"mode\":\"compliance\",\"days\":36501}}", TSARC_ECORRUPT, 0, 0},
		{"{\"object_lock\":{\"mode\":\"compliance\",\"days\":1.5}}", TSARC_ECORRUPT, 0, 0},
		{"{\"object_lock\":{\"mode\":\"compliance\",\"days\":-3}}", TSARC_ECORRUPT, 0, 0},
		{"{\"object_lock\":{\"mode\":\"compliance\",\"days\":\"30\"}}", TSARC_ECORRUPT, 0, 0},
		{"{\"object_lock\":{\"mode\":\"compliance\"}}", TSARC_ECORRUPT, 0, 0},
		{"{\"object_lock\":true}", TSARC_ECORRUPT, 0, 0},
		{"{\"object_lock\":[\"compliance\",30]}", TSARC_ECORRUPT, 0, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *doc = cJSON_Parse(cases[i].json), *back;
		tsarc_retention r = {TSARC_RETAIN_COMPLIANCE, 99};
		assert_non_null(doc);
		assert_int_equal(tsarc_objlock_from_json(doc, &r), cases[i].rc);
		if (!cases[i].rc) {
			assert_int_equal(r.mode, cases[i].mode);
			assert_int_equal(r.days, cases[i].days);
			/* and it writes back what it read */
			back = cJSON_CreateObject();
			assert_int_equal(tsarc_objlock_to_json(back, &r), 0);
			r.mode = TSARC_RETAIN_NONE;
			assert_int_equal(tsarc_objlock_from_json(back, &r), 0);
			assert_int_equal(r.mode, cases[i].mode);
			assert_int_equal(r.days, cases[i].days);
			cJSON_Delete(back);
		} else {
			assert_int_equal(r.mode, TSARC_RETAIN_NONE);
		}
		cJSON_Delete(doc);
	}
}

static void test_store_without_object_lock_is_refused(void **state)
{
	static const tsarc_repo_init_options opts = {{0, 0, 0}, TSARC_CODEC_ZSTD, 0, 1024,
		{TSARC_RETAIN_COMPLIANCE, 7}, 0, 0};
	char repo_dir[300];
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;
	uint64_t size;

	(void)state;
	make_dir("objlock");
	snprintf(repo_dir, sizeof(repo_dir), "%s/repo", dir);
	assert_int_equal(tsarc_store_fs_open(&st, repo_dir, NULL), 0);
	assert_int_equal(tsarc_repo_init(&repo, st, "pw", &opts), TSARC_EUNSUPPORTED);
	assert_non_null(strstr(tsarc_error_last()->message, "Object Lock"));
	/* Nothing was written: no repository without the protection asked for. */
	assert_int_equal(tsarc_store_stat(st, TSARC_OBJ_CONFIG, NULL, &size), TSARC_ENOTFOUND);
	tsarc_store_free(st);
	remove_dir();
}

/* ---- format 2: packs and index objects ---- */

#define T0 1800000000
#define SMALL (48u * 1024)

/* The objects of `type` in `st` that are not in `before`. */
/* check --read-data finds nothing wrong, and c restores byte-identical. */
static void all_well(tsarc_repo *repo, const char *idc, const uint8_t *c, size_t clen)
{
	tsarc_check_options o;
	tsarc_check_result res;
	tsarc_snapshot *snap = NULL;

	memset(&o, 0, sizeof(o));
	o.read_data = 1;
	assert_int_equal(tsarc_check(repo, &o, NULL, NULL, &res), 0);
	assert_int_equal(res.snapshots, 1);
	assert_int_equal(res.snapshots_damaged + res.chunks_missing + res.chunks_damaged +
				 res.chunks_wrong_size + res.packs_damaged + res.packs_unindexed +
				 res.index_damaged + res.index_wrong,
		0);
	assert_int_equal(tsarc_snapshot_load(repo, idc, &snap), 0);
	assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], c, clen, 2), 0);
	tsarc_snapshot_free(snap);
}

static void test_packs_and_index_under_retention(void **state)
{
	static const tsarc_repo_init_options opts = {{1024, 4096, 16384}, TSARC_CODEC_ZSTD, 0,
		1024, {TSARC_RETAIN_COMPLIANCE, 1}, 2, 64 * 1024};
	uint8_t *a = malloc(SMALL), *b = malloc(SMALL), *c = malloc(2 * SMALL);
	char ida[TSARC_ID_HEX_LEN + 1], idb[TSARC_ID_HEX_LEN + 1], idc[TSARC_ID_HEX_LEN + 1];
	const char *forgotten[2] = {ida, idb};
	locked L;
	tsarc_snapshot *snap = NULL;
	tsarc_prune_result res;
	tsarc_extend_result ext;
	tsarc_lock *lock = NULL;
	listed pa, pb, pc, idx, none;
	int64_t kept_until;
	size_t i, clen;
	uint64_t bbytes = 0;
	int hidden;

	(void)state;
	/* Format 2 with Object Lock is made (it was refused before). */
	locked_open(&L, "objlock-pack", T0, &opts);
	assert_int_equal(L.repo->version, 2);

	memset(&none, 0, sizeof(none));
	repo_fixture_fill(a, SMALL, 1);
	repo_fixture_backup(L.repo, L.dir, a, SMALL, "stdin", ida);
	listed_since(L.st, TSARC_OBJ_DATA, &none, &pa);
	retention_store_set_now(L.ctl, T0 + 60);
	repo_fixture_fill(b, SMALL, 2);
	repo_fixture_backup(L.repo, L.dir, b, SMALL, "stdin", idb);
	listed_since(L.st, TSARC_OBJ_DATA, &pa, &pb);
	/* c starts with a's first chunk, then bytes of its own. */
	assert_int_equal(tsarc_snapshot_load(L.repo, ida, &snap), 0);
	assert_true(snap->streams[0].nchunks >= 3);
	clen = snap->streams[0].chunks[0].size;
	tsarc_snapshot_free(snap);
	memcpy(c, a, clen);
	repo_fixture_fill(c + clen, SMALL, 3);
	clen += SMALL;
	retention_store_set_now(L.ctl, T0 + 120);
	repo_fixture_backup(L.repo, L.dir, c, clen, "stdin", idc);
	{
		listed ab;
		memcpy(&ab, &pa, sizeof(ab));
		for (i = 0; i < pb.n; i++)
			assert_int_equal(listed_add(pb.names[i], pb.sizes[i], 0, &ab), 0);
		listed_since(L.st, TSARC_OBJ_DATA, &ab, &pc);
	}
	assert_int_equal(pa.n, 1);
	assert_true(pb.n >= 1 && pc.n >= 1);

	/* Every pack and index object carries a date: DAYS after its write. */
	assert_int_equal(retention_store_count(L.ctl, TSARC_OBJ_DATA), pa.n + pb.n + pc.n);
	assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_DATA, pa.names[0], &hidden), T0 + DAY);
	for (i = 0; i < pb.n; i++) {
		assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_DATA, pb.names[i], &hidden),
			T0 + 60 + DAY);
		bbytes += pb.sizes[i];
	}
	listed_since(L.st, TSARC_OBJ_INDEX, NULL, &idx);
	assert_int_equal(idx.n, 3);
	assert_int_equal(retention_store_count(L.ctl, TSARC_OBJ_INDEX), 3);
	for (i = 0; i < idx.n; i++)
		assert_true(retention_store_until(L.ctl, TSARC_OBJ_INDEX, idx.names[i], &hidden) >= T0 + DAY);

	/* a and b forgotten within their dates: hidden. */
	retention_store_set_now(L.ctl, T0 + 3 * 3600);
	for (i = 0; i < 2; i++) {
		assert_int_equal(tsarc_snapshot_forget(L.repo, forgotten[i], T0 + 3 * 3600,
					 &kept_until), 0);
		assert_true(kept_until > T0 + 3 * 3600);
	}

	/* The extension: a's pack (c needs its first chunk) and c's packs, the
	 * index objects, config, key and c; never b's pack. */
	assert_int_equal(tsarc_lock_acquire(&lock, L.repo, 0), 0);
	assert_int_equal(tsarc_objlock_extend(L.repo, lock, T0 + 3 * 3600, &ext), 0);
	assert_int_equal(tsarc_lock_release(lock), 0);
	assert_int_equal(ext.missing, 0);
	assert_int_equal(ext.snapshots, 1);
	assert_int_equal(ext.objects, 2 + idx.n + 1 + pa.n + pc.n);
	assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_DATA, pa.names[0], &hidden),
		T0 + 3 * 3600 + DAY);
	for (i = 0; i < pc.n; i++)
		assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_DATA, pc.names[i], &hidden),
			T0 + 3 * 3600 + DAY);
	for (i = 0; i < pb.n; i++)
		assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_DATA, pb.names[i], &hidden),
			T0 + 60 + DAY);

	/* Prune within the dates: a's pack is over the unused threshold but
	 * locked, so not repacked; b's pack and the three old index objects
	 * are only hidden, reported with their bytes; nothing is freed. */
	retention_store_set_now(L.ctl, T0 + 4 * 3600);
	prune_as_the_dry_run_said(L.repo, &res);
	assert_int_equal(res.packs_locked, 1);
	assert_true(res.bytes_locked_unused > 0);
	assert_int_equal(res.packs_locked_until, T0 + 3 * 3600 + DAY);
	assert_int_equal(res.packs_repacked, 0);
	assert_int_equal(res.packs_written, 0);
	assert_int_equal(res.packs_deleted, pb.n);
	assert_int_equal(res.packs_kept, pb.n);
	assert_int_equal(res.bytes_kept_packs, bbytes);
	assert_int_equal(res.packs_kept_until, T0 + 60 + DAY);
	assert_int_equal(res.bytes_removed, 0);
	assert_int_equal(res.index_written, 1);
	assert_int_equal(res.index_removed, 3);
	assert_int_equal(res.index_kept, 3);
	assert_true(res.bytes_kept_index > 0);
	assert_int_equal(res.hidden_kept, 2); /* the forgotten snapshots */
	assert_int_equal(res.hidden_removed, 0);
	/* Still stored, out of sight: check and restore see a whole repository. */
	assert_int_equal(listed_count(L.inner, TSARC_OBJ_DATA), pa.n + pb.n + pc.n);
	assert_int_equal(listed_count(L.st, TSARC_OBJ_DATA), pa.n + pc.n);
	assert_int_equal(listed_count(L.inner, TSARC_OBJ_INDEX), 4);
	assert_int_equal(listed_count(L.st, TSARC_OBJ_INDEX), 1);
	all_well(L.repo, idc, c, clen);

	/* Past every date: what was hidden goes for good, a's pack is repacked
	 * and deleted for good (its date passed too). */
	retention_store_set_now(L.ctl, T0 + 2 * DAY);
	prune_as_the_dry_run_said(L.repo, &res);
	assert_int_equal(res.hidden_removed, pb.n + 3 + 2 + 2); /* + the 2 marks */
	assert_int_equal(res.hidden_kept, 0);
	assert_int_equal(res.packs_locked, 0);
	assert_int_equal(res.packs_repacked, 1);
	assert_true(res.packs_written >= 1);
	assert_int_equal(res.packs_kept, 0);
	assert_int_equal(res.index_kept, 0);
	for (i = 0; i < pb.n; i++)
		assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_DATA, pb.names[i], &hidden), 0);
	assert_int_equal(retention_store_until(L.ctl, TSARC_OBJ_DATA, pa.names[0], &hidden), 0);
	assert_int_equal(listed_count(L.inner, TSARC_OBJ_DATA), listed_count(L.st, TSARC_OBJ_DATA));
	assert_int_equal(listed_count(L.inner, TSARC_OBJ_INDEX), listed_count(L.st, TSARC_OBJ_INDEX));
	all_well(L.repo, idc, c, clen);
	/* Nothing is left to sweep. */
	assert_int_equal(repo_fixture_prune(L.repo, 0, &res), 0);
	assert_int_equal(res.hidden_removed + res.hidden_kept, 0);

	/* A pack c needs, hidden behind tsarc's back: the extension says so,
	 * and prune refuses to run and deletes nothing, even past its date. */
	{
		const char *hide[1] = {pc.names[0]};
		uint64_t size;
		assert_int_equal(tsarc_lock_acquire(&lock, L.repo, 0), 0);
		assert_int_equal(tsarc_objlock_extend(L.repo, lock, T0 + 2 * DAY, &ext), 0);
		assert_int_equal(tsarc_lock_release(lock), 0);
		assert_int_equal(tsarc_store_remove_many(L.repo->store, TSARC_OBJ_DATA, hide, 1), 0);
		assert_int_equal(tsarc_lock_acquire(&lock, L.repo, 0), 0);
		assert_int_equal(tsarc_objlock_extend(L.repo, lock, T0 + 2 * DAY, &ext),
			TSARC_ECORRUPT);
		assert_int_equal(tsarc_lock_release(lock), 0);
		assert_int_equal(ext.missing, 1);
		retention_store_set_now(L.ctl, T0 + 30 * DAY);
		assert_int_equal(repo_fixture_prune(L.repo, 0, &res), TSARC_ECORRUPT);
		assert_int_equal(tsarc_store_stat(L.inner, TSARC_OBJ_DATA, pc.names[0], &size), 0);
	}
	/* And a snapshot that does not open: counted and left out, the rest
	 * extended as before. */
	assert_int_equal(tsarc_store_put(L.repo->store, TSARC_OBJ_SNAPSHOT,
				 "0000000000000000000000000000000000000000000000000000000000000000",
				 "junk", 4, 0), 0);
	assert_int_equal(tsarc_lock_acquire(&lock, L.repo, 0), 0);
	assert_int_equal(tsarc_objlock_extend(L.repo, lock, T0 + 30 * DAY, &ext), TSARC_ECORRUPT);
	assert_int_equal(tsarc_lock_release(lock), 0);
	assert_int_equal(ext.damaged, 1);
	assert_int_equal(ext.snapshots, 1);
	assert_int_equal(ext.missing, 1);

	locked_close(&L);
	free(a);
	free(b);
	free(c);
}

/*
 * What a snapshot that does not open needs is unknown, and so is the pack
 * of a chunk that no index places (its index object hidden behind a
 * delete marker, as an attacker with the repository's credentials can):
 * the extension must not let those expire, so it extends every data
 * object then, and still fails (exit 3), counting them. Format 2: b's
 * packs, which only b needs, are extended with b's manifest damaged and,
 * with it whole again, with b's index object hidden; format 1: b's own
 * chunks with b's manifest damaged. (Before, they kept their old date:
 * b's chunk list was taken as empty.)
 */
static void test_extend_keeps_what_is_unknown(void **state)
{
	static const tsarc_repo_init_options v2 = {{1024, 4096, 16384}, TSARC_CODEC_ZSTD, 0,
		1024, {TSARC_RETAIN_COMPLIANCE, 1}, 2, 64 * 1024};
	static const tsarc_repo_init_options v1 = {{4096, 16384, 65536}, TSARC_CODEC_ZSTD, 0,
		1024, {TSARC_RETAIN_GOVERNANCE, 1}, 1, 0};
	const tsarc_repo_init_options *opts[2] = {&v1, &v2};
	uint8_t *a = malloc(SMALL), *b = malloc(SMALL);
	char ida[TSARC_ID_HEX_LEN + 1], idb[TSARC_ID_HEX_LEN + 1];
	char own[64][TSARC_ID_HEX_LEN + 1];
	tsarc_buf manifest = TSARC_BUF_INIT;
	tsarc_extend_result ext;
	listed pa, pb, ia, ib, none;
	const char *hide1[1];
	locked L;
	size_t f, i, n;
	int hidden;

	(void)state;
	repo_fixture_fill(a, SMALL, 1);
	repo_fixture_fill(b, SMALL, 2);
	memset(&none, 0, sizeof(none));
	for (f = 0; f < 2; f++) {
		locked_open(&L, "objlock-unknown", T0, opts[f]);
		repo_fixture_backup(L.repo, L.dir, a, SMALL, "stdin", ida);
		listed_since(L.st, TSARC_OBJ_DATA, &none, &pa);
		listed_since(L.st, TSARC_OBJ_INDEX, &none, &ia);
		retention_store_set_now(L.ctl, T0 + 60);
		repo_fixture_backup(L.repo, L.dir, b, SMALL, "stdin", idb);
		if (f == 0) {
			/* Format 1: b's own chunks. */
			n = own_chunks(L.repo, idb, ida, own, 64);
			memset(&pb, 0, sizeof(pb));
			for (i = 0; i < n; i++)
				assert_int_equal(listed_add(own[i], 0, 0, &pb), 0);
		} else {
			listed_since(L.st, TSARC_OBJ_DATA, &pa, &pb);
			listed_since(L.st, TSARC_OBJ_INDEX, &ia, &ib);
		}
		assert_true(pb.n >= 1);
		locked_all_until(&L, TSARC_OBJ_DATA, &pb, T0 + 60 + DAY);

		/* b's manifest damaged (bit rot, or a version an attacker put),
		 * and one of its data objects hidden by the same hand: that one is
		 * not listed, and is extended all the same. */
		tsarc_buf_clear(&manifest);
		assert_int_equal(tsarc_store_get(L.inner, TSARC_OBJ_SNAPSHOT, idb, 0, 0, &manifest), 0);
		assert_int_equal(tsarc_store_put(L.inner, TSARC_OBJ_SNAPSHOT, idb, "junk", 4, 0), 0);
		hide1[0] = pb.names[0];
		assert_int_equal(tsarc_store_remove_many(L.repo->store, TSARC_OBJ_DATA, hide1, 1), 0);
		assert_int_equal(locked_extend(&L, T0 + 3600, &ext), TSARC_ECORRUPT);
		assert_int_equal(ext.damaged, 1);
		locked_all_until(&L, TSARC_OBJ_DATA, &pb, T0 + 3600 + DAY);
		retention_store_until(L.ctl, TSARC_OBJ_DATA, pb.names[0], &hidden);
		assert_true(hidden);
		locked_all_until(&L, TSARC_OBJ_DATA, &pa, T0 + 3600 + DAY);
		assert_int_equal(tsarc_store_put(L.inner, TSARC_OBJ_SNAPSHOT, idb, manifest.ptr,
					 manifest.size, 0), 0);
		if (f == 1) {
			/* Format 2: b whole again, its index object hidden. */
			const char *hide[LISTED_MAX];
			for (i = 0; i < ib.n; i++)
				hide[i] = ib.names[i];
			assert_true(ib.n >= 1);
			assert_int_equal(tsarc_store_remove_many(L.repo->store, TSARC_OBJ_INDEX, hide,
						 ib.n), 0);
			assert_int_equal(locked_extend(&L, T0 + 7200, &ext), TSARC_ECORRUPT);
			assert_int_equal(ext.damaged, 0);
			assert_true(ext.missing >= 1);
			locked_all_until(&L, TSARC_OBJ_DATA, &pb, T0 + 7200 + DAY);
			/* the index objects too: hidden, but they placed what is unplaced */
			locked_all_until(&L, TSARC_OBJ_INDEX, &ib, T0 + 7200 + DAY);
		}
		locked_close(&L);
	}
	tsarc_buf_dispose(&manifest);
	free(a);
	free(b);
}

/* The bytes of what `st` lists of `type`. */
static uint64_t listed_bytes(tsarc_store *st, tsarc_objtype type)
{
	listed all;
	uint64_t bytes = 0;
	size_t i;

	listed_since(st, type, NULL, &all);
	for (i = 0; i < all.n; i++)
		bytes += all.sizes[i];
	return bytes;
}

/*
 * A repository made without Object Lock in a bucket that has it, with a
 * default retention (made before init refused such a bucket, or whose
 * bucket got Object Lock later): every object the repository writes is
 * retained, so what forget and prune remove is only hidden. Prune must
 * count it as a repository with Object Lock counts the packs it could
 * only hide (packs_kept, bytes_kept_packs, chunks_kept), never as freed.
 * Before, on format 2, the packs a repack replaced were counted out of
 * bytes_removed once as repacked and once as hidden, and bytes_removed
 * wrapped below zero (the RGW's '16384.00 PiB freed').
 */
static void test_no_object_lock_in_a_retaining_bucket(void **state)
{
	static const tsarc_repo_init_options v2 = {{1024, 4096, 16384}, TSARC_CODEC_ZSTD, 0,
		1024, {TSARC_RETAIN_NONE, 0}, 2, 64 * 1024};
	static const tsarc_repo_init_options v1 = {{4096, 16384, 65536}, TSARC_CODEC_ZSTD, 0,
		1024, {TSARC_RETAIN_NONE, 0}, 1, 0};
	static const tsarc_retention bucket_default = {TSARC_RETAIN_GOVERNANCE, 1};
	const tsarc_repo_init_options *opts[2] = {&v1, &v2};
	uint8_t *a = malloc(SMALL), *b = malloc(SMALL), *c = malloc(2 * SMALL);
	char ida[TSARC_ID_HEX_LEN + 1], idb[TSARC_ID_HEX_LEN + 1], idc[TSARC_ID_HEX_LEN + 1];
	char repo_dir[300];
	tsarc_snapshot *snap = NULL;
	tsarc_prune_result res;
	tsarc_store *plain = NULL;
	int64_t kept_until;
	uint64_t before, index_bytes;
	size_t f, clen;
	locked L;

	(void)state;
	repo_fixture_fill(a, SMALL, 1);
	repo_fixture_fill(b, SMALL, 2);
	for (f = 0; f < 2; f++) {
		/* Made on the folder itself (init refuses a bucket with Object
		 * Lock now), then opened through the retention, which the bucket
		 * applies by default. */
		memset(&L, 0, sizeof(L));
		assert_non_null(scratch_make(L.dir, sizeof(L.dir), "objlock-unasked"));
		snprintf(repo_dir, sizeof(repo_dir), "%s/repo", L.dir);
		assert_int_equal(tsarc_store_fs_open(&plain, repo_dir, NULL), 0);
		assert_int_equal(tsarc_repo_init(&L.repo, plain, "lock-pw", opts[f]), 0);
		tsarc_repo_free(L.repo);
		assert_int_equal(tsarc_store_fs_open(&L.inner, repo_dir, NULL), 0);
		assert_int_equal(retention_store_wrap(&L.st, &L.ctl, L.inner), 0);
		retention_store_set_now(L.ctl, T0);
		assert_int_equal(tsarc_store_set_retention(L.st, &bucket_default), 0);
		assert_int_equal(tsarc_repo_open(&L.repo, L.st, "lock-pw"), 0);
		assert_int_equal(L.repo->retention.mode, TSARC_RETAIN_NONE);

		/* a, b, and c, which starts with a's first chunk. */
		repo_fixture_backup(L.repo, L.dir, a, SMALL, "stdin", ida);
		repo_fixture_backup(L.repo, L.dir, b, SMALL, "stdin", idb);
		assert_int_equal(tsarc_snapshot_load(L.repo, ida, &snap), 0);
		clen = snap->streams[0].chunks[0].size;
		tsarc_snapshot_free(snap);
		memcpy(c, a, clen);
		repo_fixture_fill(c + clen, SMALL, 3);
		clen += SMALL;
		repo_fixture_backup(L.repo, L.dir, c, clen, "stdin", idc);
		assert_int_equal(tsarc_snapshot_forget(L.repo, ida, T0 + 3600, &kept_until), 0);
		assert_int_equal(kept_until, T0 + DAY);
		assert_int_equal(tsarc_snapshot_forget(L.repo, idb, T0 + 3600, &kept_until), 0);

		/* Within the dates: nothing deleted for good, so nothing freed;
		 * what was removed is reported as only hidden, with its bytes,
		 * the dry run before saying the same (before, on format 2 it
		 * asked the store nothing and counted the packs as freed). */
		retention_store_set_now(L.ctl, T0 + 3600);
		before = listed_bytes(L.inner, TSARC_OBJ_DATA);
		index_bytes = listed_bytes(L.st, TSARC_OBJ_INDEX);
		prune_as_the_dry_run_said(L.repo, &res);
		assert_int_equal(res.bytes_removed, 0);
		/* What the store holds more: the repack's new packs (the repo
		 * size metric is bytes_stored + bytes_added - bytes_removed). */
		assert_int_equal(listed_bytes(L.inner, TSARC_OBJ_DATA), before + res.bytes_added);
		assert_int_equal(res.bytes_stored + res.bytes_added - res.bytes_removed,
			listed_bytes(L.inner, TSARC_OBJ_DATA));
		if (f == 0) {
			assert_true(res.chunks_removed > 0);
			assert_int_equal(res.chunks_kept, res.chunks_removed);
			assert_int_equal(res.chunks_kept_until, T0 + DAY);
			assert_int_equal(res.bytes_added, 0);
		} else {
			assert_int_equal(res.packs_deleted, 1);
			assert_true(res.packs_repacked >= 1);
			assert_true(res.packs_written >= 1);
			assert_int_equal(res.packs_kept, res.packs_deleted + res.packs_repacked);
			assert_int_equal(res.packs_kept_until, T0 + DAY);
			assert_true(res.bytes_kept_packs > 0);
			assert_true(res.bytes_added > 0);
			assert_int_equal(res.index_kept, res.index_removed);
			/* Their real size (before: "(0 B)", the sizes were
			 * listed under Object Lock only). */
			assert_int_equal(res.bytes_kept_index, index_bytes);
			/* Still stored, hidden out of every listing. */
			assert_int_equal(listed_bytes(L.st, TSARC_OBJ_DATA) + res.bytes_kept_packs,
				listed_bytes(L.inner, TSARC_OBJ_DATA));
		}
		/* A prune again finds nothing; c restores whole. */
		assert_int_equal(repo_fixture_prune(L.repo, 0, &res), 0);
		assert_int_equal(res.bytes_removed, 0);
		all_well(L.repo, idc, c, clen);
		locked_close(&L);
	}
	free(a);
	free(b);
	free(c);
}

/*
 * repair index in a bucket that retains every version: under the
 * repository's Object Lock, and without it in a bucket with a default
 * retention. The old index objects it replaces are only hidden: reported
 * as such, with their bytes and date, as prune reports them. Before, they
 * were counted as removed, and nothing said they stayed (on the RGW:
 * '1 index objects written, 2 removed' under a 1-day governance lock).
 */
static void test_repair_index_reports_what_it_only_hid(void **state)
{
	static const tsarc_repo_init_options locked_opts = {{1024, 4096, 16384},
		TSARC_CODEC_ZSTD, 0, 1024, {TSARC_RETAIN_GOVERNANCE, 1}, 2, 64 * 1024};
	static const tsarc_repo_init_options plain_opts = {{1024, 4096, 16384},
		TSARC_CODEC_ZSTD, 0, 1024, {TSARC_RETAIN_NONE, 0}, 2, 64 * 1024};
	static const tsarc_retention bucket_default = {TSARC_RETAIN_GOVERNANCE, 1};
	uint8_t *a = malloc(SMALL), *b = malloc(SMALL);
	char ida[TSARC_ID_HEX_LEN + 1], idb[TSARC_ID_HEX_LEN + 1], repo_dir[300];
	tsarc_repair_result rep;
	tsarc_check_options co;
	tsarc_check_result cr;
	tsarc_lock *lock = NULL;
	tsarc_store *plain = NULL;
	listed idx;
	uint64_t bytes;
	size_t f, i;
	locked L;

	(void)state;
	repo_fixture_fill(a, SMALL, 1);
	repo_fixture_fill(b, SMALL, 2);
	for (f = 0; f < 2; f++) {
		if (f == 0) {
			locked_open(&L, "objlock-repair", T0, &locked_opts);
		} else {
			/* Made on the folder (init refuses such a bucket now), then
			 * opened through the bucket's default retention. */
			memset(&L, 0, sizeof(L));
			assert_non_null(scratch_make(L.dir, sizeof(L.dir), "objlock-repair-plain"));
			snprintf(repo_dir, sizeof(repo_dir), "%s/repo", L.dir);
			assert_int_equal(tsarc_store_fs_open(&plain, repo_dir, NULL), 0);
			assert_int_equal(tsarc_repo_init(&L.repo, plain, "lock-pw", &plain_opts), 0);
			tsarc_repo_free(L.repo);
			assert_int_equal(tsarc_store_fs_open(&L.inner, repo_dir, NULL), 0);
			assert_int_equal(retention_store_wrap(&L.st, &L.ctl, L.inner), 0);
			retention_store_set_now(L.ctl, T0);
			assert_int_equal(tsarc_store_set_retention(L.st, &bucket_default), 0);
			assert_int_equal(tsarc_repo_open(&L.repo, L.st, "lock-pw"), 0);
		}
		repo_fixture_backup(L.repo, L.dir, a, SMALL, "stdin", ida);
		repo_fixture_backup(L.repo, L.dir, b, SMALL, "stdin", idb);
		listed_since(L.st, TSARC_OBJ_INDEX, NULL, &idx);
		assert_int_equal(idx.n, 2);
		for (i = 0, bytes = 0; i < idx.n; i++)
			bytes += idx.sizes[i];

		retention_store_set_now(L.ctl, T0 + 3600);
		assert_int_equal(tsarc_lock_acquire(&lock, L.repo, 1), 0);
		assert_int_equal(tsarc_repair_index(L.repo, lock, NULL, NULL, &rep), 0);
		assert_int_equal(tsarc_lock_release(lock), 0);
		assert_int_equal(rep.index_written, 1);
		assert_int_equal(rep.index_removed, 2);
		assert_int_equal(rep.index_kept, 2);
		assert_int_equal(rep.index_kept_until, T0 + DAY);
		assert_int_equal(rep.bytes_kept_index, bytes);
		/* Out of sight, still stored; the new index finds every chunk. */
		assert_int_equal(listed_count(L.st, TSARC_OBJ_INDEX), 1);
		assert_int_equal(listed_count(L.inner, TSARC_OBJ_INDEX), 3);
		memset(&co, 0, sizeof(co));
		co.read_data = 1;
		assert_int_equal(tsarc_check(L.repo, &co, NULL, NULL, &cr), 0);
		assert_int_equal(cr.snapshots, 2);
		assert_int_equal(cr.chunks_missing + cr.chunks_damaged + cr.index_damaged, 0);
		locked_close(&L);
	}
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_field_is_checked),
		cmocka_unit_test(test_store_without_object_lock_is_refused),
		cmocka_unit_test(test_forget_prune_extend_under_retention),
		cmocka_unit_test(test_extend_reports_missing_chunks),
		cmocka_unit_test(test_packs_and_index_under_retention),
		cmocka_unit_test(test_extend_keeps_what_is_unknown),
		cmocka_unit_test(test_no_object_lock_in_a_retaining_bucket),
		cmocka_unit_test(test_repair_index_reports_what_it_only_hid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
