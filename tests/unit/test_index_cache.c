/*
 * The local index cache (src/index_cache.c): a format-2 repository opened
 * again reads its index from $XDG_CACHE_HOME/tsarc/<id>/ and makes no GET
 * of index/ (counted by the counting store, tests/store/counting_store.c);
 * a cache emptied or off downloads each index object once; an entry that
 * does not hash to its name, or is a symlink, is never used (a warning,
 * downloaded again); an entry whose object is gone from the repository
 * is removed; folders are 0700. A handle reads what its own process
 * stored after it had opened the index (a backup, then its chunks).
 *
 * The cache never vouches for the store: an index object damaged in the
 * repository while this host's cache holds a good copy of it is damaged
 * here too (left out of the index a backup deduplicates against, an error
 * for prune), as on a host without the cache; and an open with nothing
 * changed still makes one LIST of index/ and no GET.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "extract.h"
#include "fileio.h"
#include "index.h"
#include "index_table.h"
#include "repo.h"
#include "snapshot.h"
#include "tsarc/errors.h"
#include "tsarc/log.h"
#include "repo_fixture.h"
#include "store/counting_store.h"
#include "cmocka_main.h"
#include "event_count.h"
#include "scratch.h"

#define LEN (300u * 1024)

static char dir[256], cache_root[300], idx_dir[512], table_path[512];
static char repo_id[TSARC_ID_HEX_LEN + 1];
static uint8_t *data;
static event_count damaged = {"index_cache_damaged", 0};

/* Opens the repository through a counting store. */
static tsarc_repo *open_counted(counting_store **cnt)
{
	tsarc_store *st = NULL, *wrapped = NULL;
	tsarc_repo *repo = NULL;
	char path[300];

	snprintf(path, sizeof(path), "%s/repo", dir);
	assert_int_equal(tsarc_store_fs_open(&st, path, NULL), 0);
	assert_int_equal(counting_store_wrap(&wrapped, cnt, st), 0);
	assert_int_equal(tsarc_repo_open(&repo, wrapped, "pw"), 0);
	return repo;
}

static size_t count_index_objects(tsarc_repo *repo)
{
	char **names = NULL;
	size_t n = 0;

	assert_int_equal(tsarc_store_list_names(repo->store, TSARC_OBJ_INDEX, &names, &n), 0);
	tsarc_store_names_free(names, n);
	return n;
}

static int setup(void **state)
{
	tsarc_repo_init_options o = {{4096, 16384, 65536}, TSARC_CODEC_ZSTD, 0, 1024,
		{TSARC_RETAIN_NONE, 0}, 2, TSARC_PACK_SIZE_MIN};
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;
	char path[300], id[TSARC_ID_HEX_LEN + 1];

	(void)state;
	assert_non_null(scratch_make(dir, sizeof(dir), "index_cache"));
	snprintf(cache_root, sizeof(cache_root), "%s/cache", dir);
	assert_int_equal(setenv("XDG_CACHE_HOME", cache_root, 1), 0);
	unsetenv("TSARC_NO_CACHE");
	snprintf(path, sizeof(path), "%s/repo", dir);
	assert_int_equal(tsarc_store_fs_open(&st, path, NULL), 0);
	assert_int_equal(tsarc_repo_init(&repo, st, "pw", &o), 0);
	memcpy(repo_id, repo->id, sizeof(repo_id));
	snprintf(idx_dir, sizeof(idx_dir), "%s/tsarc/%s/index", cache_root, repo_id);
	snprintf(table_path, sizeof(table_path), "%s/tsarc/%s/index.table", cache_root, repo_id);
	data = malloc(LEN);
	assert_non_null(data);
	repo_fixture_fill(data, LEN, 11);
	repo_fixture_backup(repo, dir, data, LEN, "stdin", id);
	repo_fixture_fill(data, LEN, 12);
	repo_fixture_backup(repo, dir, data, LEN, "stdin", id);
	tsarc_repo_free(repo);
	tsarc_log_set(event_count_cb, &damaged);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tsarc_log_set(NULL, NULL);
	free(data);
	assert_int_equal(scratch_remove(dir), 0);
	return 0;
}

/* A backup of new bytes and a restore of it: what a nightly run does. */
static void backup_and_restore(tsarc_repo *repo, uint64_t seed)
{
	tsarc_snapshot *snap = NULL;
	char id[TSARC_ID_HEX_LEN + 1];

	repo_fixture_fill(data, LEN, seed);
	repo_fixture_backup(repo, dir, data, LEN, "stdin", id);
	tsarc_repo_drop_index(repo);
	assert_int_equal(tsarc_snapshot_load(repo, id, &snap), 0);
	assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], data, LEN, 2), 0);
	tsarc_snapshot_free(snap);
}

static void entry_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", idx_dir, name);
}

static void first_index_name(tsarc_repo *repo, char name[TSARC_ID_HEX_LEN + 1])
{
	char **names = NULL;
	size_t n = 0;

	assert_int_equal(tsarc_store_list_names(repo->store, TSARC_OBJ_INDEX, &names, &n), 0);
	assert_true(n > 0);
	memcpy(name, names[0], TSARC_ID_HEX_LEN + 1);
	tsarc_store_names_free(names, n);
}

/* An open reads the index objects its listing's tags do not vouch for
 * (index_cache.h): on a folder store, those stored since the cache last
 * listed them, once (a file's tag cannot be known before it is listed;
 * S3 lists a plain PUT's MD5, which the cache records as it stores). */
static void verify_all(tsarc_repo *repo)
{
	tsarc_index_table *t = NULL;

	assert_int_equal(tsarc_index_table_open(repo, &t), 0);
	tsarc_index_table_free(t);
}

/* The index objects the backups wrote went into the cache as they were
 * stored: an open downloads none, for backup or restore, but the one the
 * backup just stored, which the restore after it reads once. */
static void test_second_open_no_index_get(void **state)
{
	counting_store *cnt = NULL;
	tsarc_repo *repo = open_counted(&cnt);
	struct stat st;
	char top[400];

	(void)state;
	verify_all(repo);
	counting_store_reset(cnt);
	backup_and_restore(repo, 21);
	assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_INDEX), 1);
	counting_store_reset(cnt);
	verify_all(repo);
	assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_INDEX), 0);
	assert_true(count_index_objects(repo) >= 3);
	assert_int_equal(stat(idx_dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(top, sizeof(top), "%s/tsarc/%s", cache_root, repo_id);
	assert_int_equal(stat(top, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	tsarc_repo_free(repo);
}

/* An empty cache downloads each index object once, then none. */
static void test_miss_then_hit(void **state)
{
	counting_store *cnt = NULL;
	tsarc_repo *repo;
	char cmd[700];
	size_t n;

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/tsarc'", cache_root);
	assert_int_equal(system(cmd), 0);
	repo = open_counted(&cnt);
	n = count_index_objects(repo);
	/* And the one the backup stores, by the restore (verify_all). */
	backup_and_restore(repo, 22);
	assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_INDEX), n + 1);
	tsarc_repo_free(repo);
	repo = open_counted(&cnt);
	backup_and_restore(repo, 23);
	assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_INDEX), 1);
	tsarc_repo_free(repo);
}

/* Cache entries whose bytes do not hash to their name (a flipped byte,
 * another object's bytes, a symlink to the right bytes) are not used:
 * each is downloaded again, with a warning, and the entry repaired. */
static void test_tampered_entry_is_downloaded_again(void **state)
{
	counting_store *cnt = NULL;
	tsarc_repo *repo = open_counted(&cnt);
	char name[TSARC_ID_HEX_LEN + 1], path[700], real[700];
	char *raw = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	int kind;

	(void)state;
	first_index_name(repo, name);
	entry_path(path, sizeof(path), name);
	assert_int_equal(tsarc_read_file(path, 1u << 26, &raw, &len), 0);
	for (kind = 0; kind < 3; kind++) {
		unlink(path);
		if (kind == 0) {
			raw[len / 2] ^= 1;
			assert_int_equal(tsarc_replace_file(path, raw, len, 0600, 0), 0);
			raw[len / 2] ^= 1;
		} else if (kind == 1) {
			assert_int_equal(tsarc_replace_file(path, "TIX1", 4, 0600, 0), 0);
		} else {
			snprintf(real, sizeof(real), "%s/outside", dir);
			assert_int_equal(tsarc_replace_file(real, raw, len, 0600, 0), 0);
			assert_int_equal(symlink(real, path), 0);
		}
		/* The table (index_table.h) is built again from the objects. */
		unlink(table_path);
		damaged.n = 0;
		counting_store_reset(cnt);
		tsarc_repo_drop_index(repo);
		backup_and_restore(repo, 30 + (uint64_t)kind);
		assert_int_equal(damaged.n, 1);
		/* That one, and the one the backup stored (verify_all). */
		assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_INDEX), 2);
		assert_int_equal(tsarc_read_private_file(path, 1u << 26, &again, &len2), 0);
		assert_int_equal(len2, len);
		assert_memory_equal(again, raw, len);
		free(again);
	}
	free(raw);
	tsarc_repo_free(repo);
}

/* An entry whose index object the repository no longer lists (replaced
 * by a prune or repair) is removed from the cache, its tag too; so is a
 * temporary file a killed run left, once old. */
static void test_stale_entries_removed(void **state)
{
	counting_store *cnt = NULL;
	tsarc_repo *repo = open_counted(&cnt);
	char gone[700], gone_tag[710], tmp[700], fresh_tmp[700];
	struct timespec old[2] = {{1000000, 0}, {1000000, 0}};

	(void)state;
	entry_path(gone, sizeof(gone),
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	entry_path(tmp, sizeof(tmp), ".tmp-0123456789abcdef01234567");
	entry_path(fresh_tmp, sizeof(fresh_tmp), ".tmp-fedcba9876543210fedcba98");
	assert_int_equal(tsarc_replace_file(gone, "x", 1, 0600, 0), 0);
	snprintf(gone_tag, sizeof(gone_tag), "%s.tag", gone);
	assert_int_equal(tsarc_replace_file(gone_tag, "1:x", 3, 0600, 0), 0);
	assert_int_equal(tsarc_replace_file(tmp, "x", 1, 0600, 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, tmp, old, 0), 0);
	assert_int_equal(tsarc_replace_file(fresh_tmp, "x", 1, 0600, 0), 0);
	backup_and_restore(repo, 40);
	assert_int_equal(access(gone, F_OK), -1);
	assert_int_equal(access(gone_tag, F_OK), -1);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(access(fresh_tmp, F_OK), 0);
	/* The one the backup stored (verify_all). */
	assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_INDEX), 1);
	unlink(fresh_tmp);
	tsarc_repo_free(repo);
}

/* --no-cache (repo->no_cache) and TSARC_NO_CACHE: every open downloads
 * the whole index and nothing is written to the cache. */
static void test_cache_off(void **state)
{
	counting_store *cnt = NULL;
	tsarc_repo *repo;
	char cmd[700], top[400];
	size_t n;
	int pass;

	(void)state;
	snprintf(top, sizeof(top), "%s/tsarc", cache_root);
	for (pass = 0; pass < 2; pass++) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
		assert_int_equal(system(cmd), 0);
		repo = open_counted(&cnt);
		if (pass == 0)
			repo->no_cache = 1;
		else
			assert_int_equal(setenv("TSARC_NO_CACHE", "1", 1), 0);
		n = count_index_objects(repo);
		/* The backup reads the n objects, the restore those and the one
		 * the backup wrote. */
		backup_and_restore(repo, 50 + (uint64_t)pass);
		assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_INDEX), 2 * n + 1);
		assert_int_equal(access(top, F_OK), -1);
		unsetenv("TSARC_NO_CACHE");
		tsarc_repo_free(repo);
	}
}

/* A repository handle that read a chunk, then stored a backup, reads
 * that backup's chunks with no reopen: an index object the process
 * stores itself is in the index it reads next. (restore --undo-snapshot
 * reads the snapshot first with --verify-first, or to plan, then stores
 * the undo backup, and its rollback reads that backup through the same
 * handle.) */
static void test_own_backup_read_by_the_same_handle(void **state)
{
	counting_store *cnt = NULL;
	tsarc_repo *repo = open_counted(&cnt);
	tsarc_snapshot *snap = NULL;
	char first[TSARC_ID_HEX_LEN + 1], second[TSARC_ID_HEX_LEN + 1];
	uint8_t *kept = malloc(LEN);

	(void)state;
	assert_non_null(kept);
	repo_fixture_fill(data, LEN, 60);
	repo_fixture_backup(repo, dir, data, LEN, "stdin", first);
	assert_int_equal(tsarc_snapshot_load(repo, first, &snap), 0);
	/* The index is opened here, by a read. */
	assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], data, LEN, 2), 0);
	tsarc_snapshot_free(snap);
	memcpy(kept, data, LEN);
	repo_fixture_fill(data, LEN, 61);
	repo_fixture_backup(repo, dir, data, LEN, "stdin", second);
	assert_int_equal(tsarc_snapshot_load(repo, second, &snap), 0);
	assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], data, LEN, 2), 0);
	tsarc_snapshot_free(snap);
	/* The first is still read as before. */
	assert_int_equal(tsarc_snapshot_load(repo, first, &snap), 0);
	assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], kept, LEN, 2), 0);
	tsarc_snapshot_free(snap);
	free(kept);
	tsarc_repo_free(repo);
}

/* The chunk ids index object `name` lists. */
typedef struct ids {
	uint8_t (*v)[TSARC_ID_LEN];
	size_t n;
} ids;

static int collect_id(const uint8_t pack[TSARC_ID_LEN], const tsarc_pack_entry *e, void *payload)
{
	ids *x = payload;

	(void)pack;
	x->v = realloc(x->v, (x->n + 1) * TSARC_ID_LEN);
	assert_non_null(x->v);
	memcpy(x->v[x->n++], e->id, TSARC_ID_LEN);
	return 0;
}

static void count_damage(const char *name, int code, const char *msg, void *payload)
{
	(void)name;
	(void)code;
	(void)msg;
	(*(int *)payload)++;
}

/* An index object damaged in the repository (a byte flipped in the
 * store's copy; this host's cache holds it intact) is damaged for this
 * host too: the index a backup deduplicates against leaves it out, so its
 * chunks are stored again and no snapshot comes to depend on an object
 * other hosts cannot read; prune's open refuses it. Before, the cache's
 * copy hashed to its name and was used: the chunks were found, prune's
 * open succeeded, and a backup of the same bytes stored nothing new. */
static void test_store_damage_not_vouched_for_by_the_cache(void **state)
{
	counting_store *cnt = NULL;
	tsarc_repo *repo = open_counted(&cnt);
	tsarc_index_table *t = NULL;
	tsarc_index_hit hit;
	char name[TSARC_ID_HEX_LEN + 1], path[700];
	char *raw = NULL;
	size_t len = 0, n = 0, k;
	ids in_object = {NULL, 0};
	int bad = 0;

	(void)state;
	first_index_name(repo, name);
	assert_int_equal(tsarc_index_open_object(repo, NULL, name, collect_id, &in_object), 0);
	assert_true(in_object.n > 0);
	/* The cache holds the object (the backup that wrote it put it there). */
	entry_path(path, sizeof(path), name);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/repo/index/%s", dir, name);
	assert_int_equal(tsarc_read_file(path, 1u << 26, &raw, &len), 0);
	raw[len / 2] ^= 1;
	assert_int_equal(tsarc_replace_file(path, raw, len, 0600, 0), 0);
	raw[len / 2] ^= 1;

	/* prune's open: a damaged object is an error. */
	assert_int_equal(tsarc_index_table_open_checked(repo, NULL, NULL, &t), TSARC_ECORRUPT);
	tsarc_error_clear();
	/* backup's and restore's open: left out, reported, none of its chunks found. */
	assert_int_equal(tsarc_index_table_open_checked(repo, count_damage, &bad, &t), 0);
	assert_int_equal(bad, 1);
	for (k = 0; k < in_object.n; k++) {
		assert_int_equal(tsarc_index_table_find(t, in_object.v[k], &hit, 1, &n), 0);
		assert_int_equal(n, 0);
	}
	tsarc_index_table_free(t);

	/* The repository as it was, for the tests after this one. */
	assert_int_equal(tsarc_replace_file(path, raw, len, 0600, 0), 0);
	bad = 0;
	assert_int_equal(tsarc_index_table_open_checked(repo, count_damage, &bad, &t), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(tsarc_index_table_find(t, in_object.v[0], &hit, 1, &n), 0);
	assert_true(n > 0);
	tsarc_index_table_free(t);
	free(in_object.v);
	free(raw);
	tsarc_repo_free(repo);
}

/* What the cache's checks cost an open with nothing changed: one LIST of
 * index/ and no GET, however many index objects (40 here). */
static void test_open_cost_with_nothing_changed(void **state)
{
	counting_store *cnt = NULL;
	tsarc_repo *repo = open_counted(&cnt);
	tsarc_index_table *t = NULL;
	char id[TSARC_ID_HEX_LEN + 1];
	size_t i, before = count_index_objects(repo);

	(void)state;
	/* Many small index objects: one per pack. */
	tsarc_index_entries_per_object = 1;
	for (i = 0; count_index_objects(repo) < before + 40; i++) {
		repo_fixture_fill(data, LEN, 70 + (uint64_t)i);
		repo_fixture_backup(repo, dir, data, LEN, "stdin", id);
	}
	tsarc_index_entries_per_object = TSARC_INDEX_ENTRIES_PER_OBJECT;
	tsarc_repo_free(repo);
	/* The first open after the backups may check what they wrote ... */
	repo = open_counted(&cnt);
	assert_int_equal(tsarc_index_table_open(repo, &t), 0);
	tsarc_index_table_free(t);
	tsarc_repo_free(repo);
	/* ... the next one, nothing having changed, only lists. */
	repo = open_counted(&cnt);
	assert_int_equal(tsarc_index_table_open(repo, &t), 0);
	assert_int_equal(counting_store_calls(cnt, COUNT_LIST, TSARC_OBJ_INDEX), 1);
	assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_INDEX), 0);
	tsarc_index_table_free(t);
	tsarc_repo_free(repo);
}

TSARC_TESTS_MAIN(setup, teardown,
	cmocka_unit_test(test_second_open_no_index_get),
	cmocka_unit_test(test_miss_then_hit),
	cmocka_unit_test(test_tampered_entry_is_downloaded_again),
	cmocka_unit_test(test_stale_entries_removed),
	cmocka_unit_test(test_cache_off),
	cmocka_unit_test(test_own_backup_read_by_the_same_handle),
	cmocka_unit_test(test_store_damage_not_vouched_for_by_the_cache),
	cmocka_unit_test(test_open_cost_with_nothing_changed))
