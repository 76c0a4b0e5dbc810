/*
 * The on-disk index of backup and restore (src/index_table.c): for index
 * objects written directly (more records than one sorted run, so the
 * merge runs), every id finds exactly the records the whole in-memory
 * index holds, an id in two packs finds both, an absent id none (one at a
 * time, and in a sorted batch that reads each block once; a block a lookup
 * read is kept, not read again); a new
 * index object is merged into the cached table without downloading the
 * others; a table holding an object the repository no longer lists is
 * built again without it; a damaged table is not used (a warning, built
 * again); without the cache nothing is left on disk; the memory held is a
 * small fraction of the 48 bytes a record of the whole index takes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fileio.h"
#include "index.h"
#include "index_table.h"
#include "repo.h"
#include "repo_fixture.h"
#include "tsarc/errors.h"
#include "tsarc/log.h"
#include "store/counting_store.h"
#include "cmocka_main.h"
#include "event_count.h"
#include "scratch.h"

/* Two sorted runs and a bit: the merge of runs is exercised. */
#define PER_PACK 50
#define NPACKS 1320
#define N ((size_t)PER_PACK * NPACKS)

static char dir[256], cache_root[300], table_path[512], tmp_dir[300];
static tsarc_repo *repo;
static counting_store *cnt;
static tsarc_index_pack packs[NPACKS + 1];
static tsarc_pack_entry *entries;
static event_count damaged = {"index_cache_damaged", 0};

static int setup(void **state)
{
	tsarc_repo_init_options o = {{4096, 16384, 65536}, TSARC_CODEC_ZSTD, 0, 1024,
		{TSARC_RETAIN_NONE, 0}, 2, TSARC_PACK_SIZE_MIN};
	tsarc_store *st = NULL, *wrapped = NULL;
	char path[300];

	(void)state;
	assert_non_null(scratch_make(dir, sizeof(dir), "index_table"));
	snprintf(cache_root, sizeof(cache_root), "%s/cache", dir);
	assert_int_equal(setenv("XDG_CACHE_HOME", cache_root, 1), 0);
	assert_int_equal(scratch_tmpdir(dir, tmp_dir, sizeof(tmp_dir)), 0);
	unsetenv("TSARC_NO_CACHE");
	snprintf(path, sizeof(path), "%s/repo", dir);
	assert_int_equal(tsarc_store_fs_open(&st, path, NULL), 0);
	assert_int_equal(counting_store_wrap(&wrapped, &cnt, st), 0);
	assert_int_equal(tsarc_repo_init(&repo, wrapped, "pw", &o), 0);
	snprintf(table_path, sizeof(table_path), "%s/tsarc/%s/index.table", cache_root, repo->id);
	/* Records as a backup writes them, without packs behind them: lookups
	 * do not read packs. */
	entries = calloc(N + 1, sizeof(*entries));
	assert_non_null(entries);
	repo_fixture_index_packs(packs, entries, NPACKS, PER_PACK);
	/* The last pack holds again the first id of pack 7. */
	repo_fixture_id(packs[NPACKS].name, 1000000 + NPACKS);
	packs[NPACKS].entries = entries + N;
	packs[NPACKS].n = 1;
	entries[N] = packs[7].entries[0];
	entries[N].offset = 4;
	assert_int_equal(tsarc_index_write(repo, packs, NPACKS + 1, NULL, NULL), 0);
	tsarc_log_set(event_count_cb, &damaged);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tsarc_log_set(NULL, NULL);
	tsarc_repo_free(repo);
	free(entries);
	assert_int_equal(scratch_remove(dir), 0);
	return 0;
}

/* Ids of the whole in-memory index find the same records in the table;
 * `gone` (when not NULL) must find nothing. */
static void same_as_full_index(tsarc_index *t, const tsarc_index_pack *gone)
{
	tsarc_index *full = NULL;
	tsarc_index_hit a[4], b[4];
	const tsarc_index_rec *recs;
	size_t i, k, na, nb;

	assert_int_equal(tsarc_index_load(repo, &full, NULL, NULL), 0);
	recs = tsarc_index_records(full);
	assert_int_equal(tsarc_index_count(t), tsarc_index_count(full));
	/* Every 37th record: each block of 340 is met several times (every
	 * lookup decrypts a block: all of them would take long under ASan). */
	for (i = 0; i < tsarc_index_count(full); i += 37) {
		assert_int_equal(tsarc_index_find(full, recs[i].id, a, 4, &na), 0);
		assert_int_equal(tsarc_index_find(t, recs[i].id, b, 4, &nb), 0);
		assert_int_equal(na, nb);
		/* Copies of one id may come in another pack order. */
		for (k = 0; k < na; k++) {
			size_t j = 0;
			while (j < nb && memcmp(b[j].pack, a[k].pack, TSARC_ID_LEN))
				j++;
			assert_true(j < nb);
			assert_int_equal(b[j].offset, a[k].offset);
			assert_int_equal(b[j].length, a[k].length);
			assert_int_equal(b[j].plain, a[k].plain);
		}
	}
	for (i = 0; gone && i < gone->n; i++) {
		assert_int_equal(tsarc_index_find(t, gone->entries[i].id, b, 4, &nb), 0);
		assert_int_equal(nb, 0);
	}
	tsarc_index_free(full);
}

static size_t index_objects(void)
{
	char **names = NULL;
	size_t n = 0;

	assert_int_equal(tsarc_store_list_names(repo->store, TSARC_OBJ_INDEX, &names, &n), 0);
	tsarc_store_names_free(names, n);
	return n;
}

static void test_lookups(void **state)
{
	tsarc_index *t = NULL;
	tsarc_index_hit r[4];
	uint8_t id[TSARC_ID_LEN];
	size_t n, i;

	(void)state;
	unlink(table_path);
	counting_store_reset(cnt);
	assert_int_equal(tsarc_index_open_table(repo, &t), 0);
	/* Written by this process: in the cache already, but each read once
	 * from the store, whose tag for it a folder store's listing gives
	 * first (index_cache.h). */
	assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_INDEX), index_objects());
	assert_int_equal(access(table_path, F_OK), 0);
	assert_int_equal(tsarc_index_count(t), N + 1);
	same_as_full_index(t, NULL);
	/* The same id in two packs: both. */
	assert_int_equal(tsarc_index_find(t, packs[7].entries[0].id, r, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_true(memcmp(r[0].pack, r[1].pack, TSARC_ID_LEN) != 0);
	assert_true((r[0].offset == 0 && r[1].offset == 4) || (r[0].offset == 4 && r[1].offset == 0));
	/* At most `max` copied, all counted. */
	assert_int_equal(tsarc_index_find(t, packs[7].entries[0].id, r, 1, &n), 0);
	assert_int_equal(n, 2);
	/* Absent ids: none, also one that shares 31 bytes with a present one. */
	for (i = 0; i < 200; i++) {
		repo_fixture_id(id, 5000000 + i);
		assert_int_equal(tsarc_index_find(t, id, r, 4, &n), 0);
		assert_int_equal(n, 0);
	}
	memcpy(id, packs[3].entries[5].id, TSARC_ID_LEN);
	id[TSARC_ID_LEN - 1] ^= 1;
	assert_int_equal(tsarc_index_find(t, id, r, 4, &n), 0);
	assert_int_equal(n, 0);
	tsarc_index_free(t);
}

static int cmp_idp(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, TSARC_ID_LEN);
}

/* ids[0..n) through tsarc_index_find_sorted on `idx` give, for each, a
 * copy tsarc_index_find on the whole index gives (or none when it has
 * none). */
static void sorted_same_as_find(tsarc_index *idx, tsarc_index *full, const uint8_t **ids, size_t n)
{
	tsarc_index_hit *out = calloc(n, sizeof(*out)), a[4];
	uint8_t *found = malloc(n);
	size_t i, k, na;

	assert_non_null(out);
	assert_non_null(found);
	memset(found, 7, n);
	assert_int_equal(tsarc_index_find_sorted(idx, ids, n, out, found), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(tsarc_index_find(full, ids[i], a, 4, &na), 0);
		assert_int_equal(found[i], na > 0);
		for (k = 0; k < na && found[i]; k++)
			if (!memcmp(a[k].pack, out[i].pack, TSARC_ID_LEN) &&
				a[k].offset == out[i].offset && a[k].length == out[i].length &&
				a[k].plain == out[i].plain)
				break;
		assert_true(!found[i] || k < na);
	}
	free(out);
	free(found);
}

/* Every id of the index (each block met many times, the first record of
 * some ids at the start of the next block), an id in two packs, absent
 * ids between them, an id asked twice: the batch lookup of a dump finds
 * what one lookup per id finds, on the table and on the whole index, in
 * ascending order and in any other. */
static void test_sorted_lookups(void **state)
{
	tsarc_index *t = NULL, *full = NULL;
	const tsarc_index_rec *recs;
	const uint8_t **ids;
	uint8_t (*absent)[TSARC_ID_LEN] = malloc(300 * TSARC_ID_LEN);
	size_t n = 0, i, total;

	(void)state;
	assert_non_null(absent);
	assert_int_equal(tsarc_index_open_table(repo, &t), 0);
	assert_int_equal(tsarc_index_load(repo, &full, NULL, NULL), 0);
	recs = tsarc_index_records(full);
	total = tsarc_index_count(full);
	ids = malloc((total + 302) * sizeof(*ids));
	assert_non_null(ids);
	for (i = 0; i < total; i++)
		ids[n++] = recs[i].id;
	for (i = 0; i < 300; i++) {
		repo_fixture_id(absent[i], 6000000 + i);
		ids[n++] = absent[i];
	}
	ids[n++] = packs[7].entries[0].id;
	ids[n++] = packs[3].entries[5].id;
	qsort(ids, n, sizeof(*ids), cmp_idp);
	sorted_same_as_find(t, full, ids, n);
	sorted_same_as_find(full, full, ids, n);
	/* Out of order: still right, only dearer. */
	for (i = 0; i < n / 2; i++) {
		const uint8_t *x = ids[i];
		ids[i] = ids[n - 1 - i];
		ids[n - 1 - i] = x;
	}
	sorted_same_as_find(t, full, ids, 2000);
	free(ids);
	free(absent);
	tsarc_index_free(full);
	tsarc_index_free(t);
}

/* The batch lookup reads each block once; a block read by a lookup is
 * kept: the same id again reads nothing. */
static void test_blocks_read(void **state)
{
	tsarc_index_table *tt = NULL;
	tsarc_index *full = NULL;
	const tsarc_index_rec *recs;
	const uint8_t **ids;
	tsarc_index_hit *out, r[2];
	uint8_t *found;
	size_t n, i, nblocks;
	uint64_t before;

	(void)state;
	assert_int_equal(tsarc_index_table_open(repo, &tt), 0);
	assert_int_equal(tsarc_index_load(repo, &full, NULL, NULL), 0);
	recs = tsarc_index_records(full);
	n = tsarc_index_count(full);
	nblocks = (n + TSARC_INDEX_TABLE_BLOCK_RECS - 1) / TSARC_INDEX_TABLE_BLOCK_RECS;
	ids = malloc(n * sizeof(*ids));
	out = malloc(n * sizeof(*out));
	found = malloc(n);
	assert_true(ids && out && found);
	for (i = 0; i < n; i++)
		ids[i] = recs[i].id;
	assert_int_equal(tsarc_index_table_find_sorted(tt, ids, n, out, found), 0);
	assert_true(tsarc_index_table_blocks_read(tt) <= nblocks);
	before = tsarc_index_table_blocks_read(tt);
	assert_int_equal(tsarc_index_table_find(tt, ids[n / 2], r, 2, &i), 0);
	assert_true(i >= 1);
	assert_true(tsarc_index_table_blocks_read(tt) > before);
	before = tsarc_index_table_blocks_read(tt);
	assert_int_equal(tsarc_index_table_find(tt, ids[n / 2], r, 2, &i), 0);
	assert_true(i >= 1);
	assert_int_equal(tsarc_index_table_blocks_read(tt), before);
	free(ids);
	free(out);
	free(found);
	tsarc_index_free(full);
	tsarc_index_table_free(tt);
}

/* Opened again: the cached table as it is, no GET; a new object: merged
 * in, the old ones not read again. */
static void test_reuse_and_merge(void **state)
{
	tsarc_index_pack extra;
	tsarc_pack_entry e[3];
	tsarc_index *t = NULL;
	tsarc_index_hit r[2];
	size_t n, i;

	(void)state;
	counting_store_reset(cnt);
	assert_int_equal(tsarc_index_open_table(repo, &t), 0);
	assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_INDEX), 0);
	tsarc_index_free(t);
	repo_fixture_id(extra.name, 2000000);
	extra.entries = e;
	extra.n = 3;
	for (i = 0; i < 3; i++) {
		e[i] = entries[i];
		repo_fixture_id(e[i].id, 3000000 + i);
	}
	assert_int_equal(tsarc_index_write(repo, &extra, 1, NULL, NULL), 0);
	/* Unlike one written here, another host's object is downloaded once. */
	{
		char **names = NULL, path[700];
		size_t nn = 0, k;
		assert_int_equal(tsarc_store_list_names(repo->store, TSARC_OBJ_INDEX, &names, &nn), 0);
		for (k = 0; k < nn; k++) {
			snprintf(path, sizeof(path), "%s/tsarc/%s/index/%s", cache_root, repo->id,
				names[k]);
			unlink(path);
		}
		tsarc_store_names_free(names, nn);
	}
	counting_store_reset(cnt);
	damaged.n = 0;
	assert_int_equal(tsarc_index_open_table(repo, &t), 0);
	/* Every object was dropped from the cache but the table keeps the old
	 * ones: only the new one is read. */
	assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_INDEX), 1);
	assert_int_equal(damaged.n, 0);
	assert_int_equal(tsarc_index_count(t), N + 4);
	for (i = 0; i < 3; i++) {
		assert_int_equal(tsarc_index_find(t, e[i].id, r, 2, &n), 0);
		assert_int_equal(n, 1);
		assert_memory_equal(r[0].pack, extra.name, TSARC_ID_LEN);
	}
	same_as_full_index(t, NULL);
	tsarc_index_free(t);
}

/* An object the table holds is gone from index/ (a prune replaced it):
 * built again from what is listed, without its records. */
static void test_object_gone(void **state)
{
	tsarc_index_pack one = packs[0];
	tsarc_pack_entry e[PER_PACK];
	char **written = NULL;
	size_t nw = 0, k;
	tsarc_index *t = NULL;

	(void)state;
	memcpy(e, packs[0].entries, sizeof(e));
	for (k = 0; k < PER_PACK; k++)
		repo_fixture_id(e[k].id, 4000000 + k);
	one.entries = e;
	repo_fixture_id(one.name, 2000001);
	assert_int_equal(tsarc_index_write(repo, &one, 1, &written, &nw), 0);
	assert_int_equal(nw, 1);
	assert_int_equal(tsarc_index_open_table(repo, &t), 0);
	assert_int_equal(tsarc_index_count(t), N + 4 + PER_PACK);
	tsarc_index_free(t);
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_INDEX, written[0]), 0);
	assert_int_equal(tsarc_index_open_table(repo, &t), 0);
	assert_int_equal(tsarc_index_count(t), N + 4);
	same_as_full_index(t, &one);
	tsarc_index_free(t);
	tsarc_store_names_free(written, nw);
}

/* A byte of the cached table changed (in a block, in the head): not used,
 * a warning, built again; lookups stay right. */
static void test_damaged_table(void **state)
{
	off_t where[2] = {40, 20000};
	tsarc_index *t = NULL;
	char *raw = NULL;
	size_t len = 0;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		assert_int_equal(tsarc_read_file(table_path, 1u << 30, &raw, &len), 0);
		assert_true((size_t)where[i] < len);
		raw[where[i]] ^= 0x20;
		assert_int_equal(tsarc_replace_file(table_path, raw, len, 0600, 0), 0);
		free(raw);
		damaged.n = 0;
		assert_int_equal(tsarc_index_open_table(repo, &t), 0);
		assert_int_equal(damaged.n, 1);
		same_as_full_index(t, NULL);
		tsarc_index_free(t);
	}
}

/* Without the cache the table lives in an unnamed file of $TMPDIR; the
 * memory held is far below the whole index's 48 bytes a record. */
static void test_no_cache_and_memory(void **state)
{
	tsarc_index_table *tt = NULL;
	tsarc_index *t = NULL;
	struct dirent *de;
	DIR *d;
	int entries_left = 0;

	(void)state;
	repo->no_cache = 1;
	assert_int_equal(tsarc_index_open_table(repo, &t), 0);
	same_as_full_index(t, NULL);
	tsarc_index_free(t);
	assert_int_equal(tsarc_index_table_open(repo, &tt), 0);
	/* 307 fence entries + 3 objects, 32 bytes each, plus the struct:
	 * about 10 KiB for 66 004 records (3 MiB in memory whole). */
	assert_true(tsarc_index_table_memory(tt) < N * 48 / 200);
	tsarc_index_table_free(tt);
	repo->no_cache = 0;
	d = opendir(tmp_dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		entries_left += de->d_name[0] != '.' || (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."));
	closedir(d);
	assert_int_equal(entries_left, 0);
}

TSARC_TESTS_MAIN(setup, teardown,
	cmocka_unit_test(test_lookups),
	cmocka_unit_test(test_sorted_lookups),
	cmocka_unit_test(test_blocks_read),
	cmocka_unit_test(test_reuse_and_merge),
	cmocka_unit_test(test_object_gone),
	cmocka_unit_test(test_damaged_table),
	cmocka_unit_test(test_no_cache_and_memory))
