/*
 * prune on format 2 in bounded memory (src/prune_scan.c): the index is
 * read from the sealed sorted table, the records repack and the merged
 * index need go through sorted runs. With runs of a few records (many
 * runs, many merges, ids whose copies straddle runs) a prune decides and
 * does exactly what it does with one run: the same report, field for
 * field, dry and real, the same packs kept, and every snapshot still
 * restores (and does after the next prune). A run file damaged while
 * prune reads it, or the table's first block, stops it with TSARC_ECORRUPT
 * before it removes anything: no pack and no index object is gone, every
 * snapshot restores, and the next prune (nothing damaged) finishes.
 * repair index, reading the packs a group at a time, writes back every
 * record the backups wrote.
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

#include "index.h"
#include "index_refs.h"
#include "index_table.h"
#include "pack.h"
#include "lock.h"
#include "prune.h"
#include "repair.h"
#include "repo.h"
#include "snapshot.h"
#include "store/forward_store.h"
#include "repo_fixture.h"
#include "cmocka_main.h"
#include "tsarc/errors.h"
#include "scratch.h"

#define NBACKUPS 12
#define WINDOW (1024u * 1024)
#define STEP (512u * 1024)
#define BASE (WINDOW + (NBACKUPS - 1) * STEP)
/* The test's short runs: far fewer records than the repository holds. */
#define SHORT_RUN 37

static char dir[256], tmp_dir[300];
static uint8_t *base;
static char ids[NBACKUPS][TSARC_ID_HEX_LEN + 1];
static const int forgotten[NBACKUPS] = {0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0};

/* A store that runs a hook at its first put of a pack or its first
 * listing of the packs, and counts the packs and index objects removed. */
typedef struct hook_store {
	forward_store fw;
	void (*on_put_data)(void), (*on_list_data)(void);
	int fired;
	size_t removed;
} hook_store;

static int h_list(tsarc_store *st, tsarc_objtype type, tsarc_store_list_cb cb, void *payload)
{
	hook_store *h = (hook_store *)st;

	if (type == TSARC_OBJ_DATA && h->on_list_data && !h->fired) {
		h->fired = 1;
		h->on_list_data();
	}
	return tsarc_store_list(forward_inner(st), type, cb, payload);
}

static int h_put(tsarc_store *st, tsarc_objtype type, const char *name, const void *data,
	size_t len, unsigned flags)
{
	hook_store *h = (hook_store *)st;

	if (type == TSARC_OBJ_DATA && h->on_put_data && !h->fired) {
		h->fired = 1;
		h->on_put_data();
	}
	return tsarc_store_put(forward_inner(st), type, name, data, len, flags);
}

/* Packs and index objects: a lock's own removal is not counted. */
static int h_remove(tsarc_store *st, tsarc_objtype type, const char *name)
{
	if (type == TSARC_OBJ_DATA || type == TSARC_OBJ_INDEX)
		((hook_store *)st)->removed++;
	return tsarc_store_remove(forward_inner(st), type, name);
}

static int h_remove_many(tsarc_store *st, tsarc_objtype type, const char *const *names,
	size_t count)
{
	if (type == TSARC_OBJ_DATA || type == TSARC_OBJ_INDEX)
		((hook_store *)st)->removed += count;
	return tsarc_store_remove_many(forward_inner(st), type, names, count);
}

static tsarc_repo *open_repo(const char *root, hook_store **hook)
{
	tsarc_store *st = NULL;
	tsarc_repo *r = NULL;
	hook_store *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	assert_int_equal(tsarc_store_fs_open(&st, root, NULL), 0);
	forward_store_init(&h->fw, "fs", st);
	h->fw.parent.put = h_put;
	h->fw.parent.list = h_list;
	h->fw.parent.remove = h_remove;
	h->fw.parent.remove_many = h_remove_many;
	assert_int_equal(tsarc_repo_open(&r, &h->fw.parent, "bounded-pw"), 0);
	if (hook)
		*hook = h;
	return r;
}

/* The names in a folder of the repository, sorted, one a line. */
static char *names_in(const char *root, const char *folder)
{
	char cmd[700], *out = calloc(1, 1 << 16);
	FILE *f;
	size_t n;

	snprintf(cmd, sizeof(cmd), "find '%s/%s' -type f -name '[0-9a-f]*' -printf '%%f\\n' | sort",
		root, folder);
	assert_non_null(f = popen(cmd, "r"));
	n = fread(out, 1, (1 << 16) - 1, f);
	out[n] = 0;
	pclose(f);
	return out;
}

/* Twelve overlapping backups of a 6.5 MiB base (about 400 chunks in some
 * 30 packs), four of them forgotten, and one pack named by a second index
 * object (as a prune killed before removing the old ones leaves it): packs
 * to delete, to repack and to combine, records that repeat. Then the
 * repository copied whole: the same bytes, the same times. */
static void make_repos(char root_a[300], char root_b[300], uint32_t pack_size)
{
	tsarc_repo *r;
	tsarc_index_pack ip;
	char cmd[800], pack[TSARC_ID_HEX_LEN + 1], *packs;
	struct stat sb;
	size_t i;

	static char outer[300];
	static int captured;

	/* The scratch folder in the $TMPDIR the test was started with. */
	if (!captured++)
		snprintf(outer, sizeof(outer), "%s", getenv("TMPDIR") ? getenv("TMPDIR") : "");
	if (outer[0])
		assert_int_equal(setenv("TMPDIR", outer, 1), 0);
	else
		unsetenv("TMPDIR");
	assert_non_null(scratch_make(dir, sizeof(dir), "prune-bounded"));
	assert_int_equal(scratch_tmpdir(dir, tmp_dir, sizeof(tmp_dir)), 0);
	assert_int_equal(setenv("TSARC_NO_CACHE", "1", 1), 0);
	snprintf(root_a, 300, "%s/a", dir);
	snprintf(root_b, 300, "%s/b", dir);
	base = malloc(BASE);
	repo_fixture_fill(base, BASE, 7);
	r = repo_fixture_windows(root_a, dir, "bounded-pw", pack_size, base, NBACKUPS, WINDOW, STEP,
		ids);
	for (i = 0; i < NBACKUPS; i++)
		if (forgotten[i])
			assert_int_equal(tsarc_store_remove(r->store, TSARC_OBJ_SNAPSHOT, ids[i]), 0);
	packs = names_in(root_a, "data");
	memcpy(pack, packs, TSARC_ID_HEX_LEN);
	pack[TSARC_ID_HEX_LEN] = 0;
	free(packs);
	snprintf(cmd, sizeof(cmd), "%s/data/%.2s/%s", root_a, pack, pack);
	if (stat(cmd, &sb)) {
		snprintf(cmd, sizeof(cmd), "%s/data/%s", root_a, pack);
		assert_int_equal(stat(cmd, &sb), 0);
	}
	assert_int_equal(tsarc_hex_decode(ip.name, TSARC_ID_LEN, pack), 0);
	assert_int_equal(tsarc_pack_read_toc(r, pack, (uint64_t)sb.st_size, &ip.entries, &ip.n), 0);
	assert_int_equal(tsarc_index_write(r, &ip, 1, NULL, NULL), 0);
	free(ip.entries);
	tsarc_repo_free(r);
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", root_a, root_b);
	assert_int_equal(system(cmd), 0);
}

static void restores(tsarc_repo *r)
{
	size_t i;

	for (i = 0; i < NBACKUPS; i++) {
		tsarc_snapshot *snap = NULL;
		if (forgotten[i])
			continue;
		assert_int_equal(tsarc_snapshot_load(r, ids[i], &snap), 0);
		assert_int_equal(repo_fixture_extract_equal(r, &snap->streams[0],
					 base + i * STEP, WINDOW, 4), 0);
		tsarc_snapshot_free(snap);
	}
}

/* The names of `after` (lines of names_in) that `before` holds too. */
static void kept_of(const char *before, const char *after, char *out)
{
	char name[TSARC_ID_HEX_LEN + 2];
	const char *p;

	*out = 0;
	for (p = after; *p; p += TSARC_ID_HEX_LEN + 1) {
		memcpy(name, p, TSARC_ID_HEX_LEN + 1);
		name[TSARC_ID_HEX_LEN + 1] = 0;
		if (strstr(before, name))
			strcat(out, name);
	}
}

/* Nothing prune wrote for itself is left in $TMPDIR. */
static void tmp_empty(void)
{
	assert_int_equal(scratch_files_left(tmp_dir), 0);
}

static void test_prune_same_with_many_runs(void **state)
{
	char root_a[300], root_b[300], *before, *after_a, *after_b, *kept_a, *kept_b;
	tsarc_prune_result dry_a, dry_b, real_a, real_b;
	tsarc_repo *a, *b;

	(void)state;
	make_repos(root_a, root_b, 256 * 1024);
	before = names_in(root_a, "data");
	a = open_repo(root_a, NULL);
	b = open_repo(root_b, NULL);

	tsarc_index_table_run_recs = TSARC_INDEX_TABLE_RUN_RECS;
	tsarc_index_refs_run_recs = 0;
	assert_int_equal(repo_fixture_prune(a, 1, &dry_a), 0);
	assert_int_equal(repo_fixture_prune(a, 0, &real_a), 0);
	tsarc_index_table_run_recs = SHORT_RUN;
	tsarc_index_refs_run_recs = SHORT_RUN;
	assert_int_equal(repo_fixture_prune(b, 1, &dry_b), 0);
	assert_int_equal(repo_fixture_prune(b, 0, &real_b), 0);
	tsarc_index_table_run_recs = TSARC_INDEX_TABLE_RUN_RECS;
	tsarc_index_refs_run_recs = 0;

	/* A repository that makes prune work, with many more records than a
	 * short run holds. */
	assert_true(real_a.chunks_stored > 10 * SHORT_RUN);
	assert_true(real_a.packs_deleted + real_a.packs_repacked > 0);
	assert_true(real_a.packs_repacked > 0);
	assert_true(real_a.chunks_removed > 0);
	assert_true(real_a.index_written > 0);
	assert_memory_equal(&dry_a, &dry_b, sizeof(dry_a));
	assert_memory_equal(&real_a, &real_b, sizeof(real_a));
	/* The dry run said to the byte what the prune freed. */
	assert_int_equal(dry_a.bytes_removed, real_a.bytes_removed);
	after_a = names_in(root_a, "data");
	after_b = names_in(root_b, "data");
	kept_a = calloc(1, 1 << 16);
	kept_b = calloc(1, 1 << 16);
	kept_of(before, after_a, kept_a);
	kept_of(before, after_b, kept_b);
	assert_string_equal(kept_a, kept_b);
	assert_int_equal(strlen(after_a), strlen(after_b));
	restores(b);
	tmp_empty();

	/* The next prune (the repack's last packs may now be combined) reads
	 * what this one wrote. */
	tsarc_index_table_run_recs = SHORT_RUN;
	tsarc_index_refs_run_recs = SHORT_RUN;
	assert_int_equal(repo_fixture_prune(b, 0, &real_b), 0);
	tsarc_index_table_run_recs = TSARC_INDEX_TABLE_RUN_RECS;
	tsarc_index_refs_run_recs = 0;
	assert_int_equal(real_b.packs_unindexed + real_b.packs_missing, 0);
	restores(b);
	tmp_empty();
	free(before);
	free(after_a);
	free(after_b);
	free(kept_a);
	free(kept_b);
	tsarc_repo_free(a);
	tsarc_repo_free(b);
	free(base);
	assert_int_equal(scratch_remove(dir), 0);
}

/* Flips a byte in the first block of every unnamed file of ours in
 * $TMPDIR that is a table or a run (their magic): the table, and the runs
 * prune reads again after its first pack is stored; not the scratch file
 * of the pack its packer fills meanwhile. */
static size_t damaged_files;

static void damage_runs(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char link[64], target[600];
	ssize_t n;

	assert_non_null(d);
	while ((e = readdir(d))) {
		uint8_t byte;
		char magic[8];
		int fd;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
			continue;
		target[n] = 0;
		if (strncmp(target, tmp_dir, strlen(tmp_dir)) || !strstr(target, " (deleted)"))
			continue;
		assert_true((fd = open(link, O_RDWR)) >= 0);
		if (pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
			memcmp(magic, "TSIXTB01", sizeof(magic))) {
			close(fd);
			continue;
		}
		assert_int_equal(pread(fd, &byte, 1, 80), 1);
		byte ^= 0x20;
		assert_int_equal(pwrite(fd, &byte, 1, 80), 1);
		close(fd);
		damaged_files++;
	}
	closedir(d);
}

/* A prune stopped by damage its hook makes: TSARC_ECORRUPT, nothing
 * removed, everything restores; the next prune finishes. */
static void damaged_stops_prune(int at_list)
{
	char root_a[300], root_b[300], *data_before, *index_before, *data_after, *index_after;
	tsarc_prune_result res;
	hook_store *h = NULL;
	tsarc_repo *a;

	damaged_files = 0;
	make_repos(root_a, root_b, 256 * 1024);
	data_before = names_in(root_a, "data");
	index_before = names_in(root_a, "index");
	a = open_repo(root_a, &h);
	if (at_list)
		h->on_list_data = damage_runs;
	else
		h->on_put_data = damage_runs;
	tsarc_index_table_run_recs = SHORT_RUN;
	tsarc_index_refs_run_recs = SHORT_RUN;
	assert_int_equal(repo_fixture_prune(a, 0, &res), TSARC_ECORRUPT);
	tsarc_index_table_run_recs = TSARC_INDEX_TABLE_RUN_RECS;
	tsarc_index_refs_run_recs = 0;
	assert_true(h->fired);
	assert_true(damaged_files >= 1);
	assert_non_null(strstr(tsarc_error_last()->message, "does not authenticate"));
	/* Nothing removed: only the repack's new packs and their index were
	 * stored (a killed prune's state: two copies of some chunks). */
	assert_int_equal(h->removed, 0);
	index_after = names_in(root_a, "index");
	data_after = names_in(root_a, "data");
	{
		char *kept = calloc(1, 1 << 16);
		kept_of(index_after, index_before, kept);
		assert_string_equal(kept, index_before);
		kept_of(data_after, data_before, kept);
		assert_string_equal(kept, data_before);
		free(kept);
	}
	assert_true(at_list ? !strcmp(data_after, data_before)
			    : strlen(data_after) > strlen(data_before));
	restores(a);
	tmp_empty();

	/* Undamaged, the next prune finishes: the packs the stopped one was
	 * emptying go now. */
	h->on_put_data = h->on_list_data = NULL;
	assert_int_equal(repo_fixture_prune(a, 0, &res), 0);
	assert_true(res.packs_deleted + res.packs_repacked > 0);
	assert_int_equal(h->removed, res.packs_deleted + res.packs_repacked +
		res.packs_unindexed + res.index_removed);
	restores(a);
	free(data_before);
	free(index_before);
	free(data_after);
	free(index_after);
	tsarc_repo_free(a);
	free(base);
	assert_int_equal(scratch_remove(dir), 0);
}

static void test_damaged_run_stops_prune(void **state)
{
	(void)state;
	damaged_stops_prune(0);
}

/* At its listing of the packs, prune has opened the table (an unnamed
 * file without the cache) and read no more of it than the snapshots'
 * lookups needed: its passes then read a damaged first block. */
static void test_damaged_table_stops_prune(void **state)
{
	(void)state;
	damaged_stops_prune(1);
}

/* The records of the whole index, sorted (by id, then pack name). */
static tsarc_index *load_index(tsarc_repo *r)
{
	tsarc_index *idx = NULL;

	assert_int_equal(tsarc_index_load(r, &idx, NULL, NULL), 0);
	return idx;
}

/*
 * repair index reads the packs' tables a group of 64 at a time and writes
 * the index as it goes: on some 100 packs (64 KiB each) with the index
 * gone, it writes back exactly the records the backups wrote (one object),
 * and everything restores.
 */
static void test_repair_in_groups(void **state)
{
	char root_a[300], root_b[300], *names, *p;
	tsarc_index *before, *after;
	tsarc_repair_result rr;
	tsarc_lock *lock = NULL;
	tsarc_repo *a;
	size_t i, n;

	(void)state;
	make_repos(root_a, root_b, 64 * 1024);
	a = open_repo(root_a, NULL);
	/* The extra object of make_repos repeats a pack: one record each. */
	before = load_index(a);
	names = names_in(root_a, "index");
	for (p = names; *p; p += TSARC_ID_HEX_LEN + 1) {
		char name[TSARC_ID_HEX_LEN + 1];
		memcpy(name, p, TSARC_ID_HEX_LEN);
		name[TSARC_ID_HEX_LEN] = 0;
		assert_int_equal(tsarc_store_remove(a->store, TSARC_OBJ_INDEX, name), 0);
	}
	free(names);
	tsarc_repo_drop_index(a);
	assert_int_equal(tsarc_lock_acquire(&lock, a, 1), 0);
	assert_int_equal(tsarc_repair_index(a, lock, NULL, NULL, &rr), 0);
	assert_int_equal(tsarc_lock_release(lock), 0);
	assert_true(rr.packs > 64);
	assert_int_equal(rr.packs_damaged, 0);
	assert_int_equal(rr.index_written, 1);
	after = load_index(a);
	n = tsarc_index_count(after);
	assert_int_equal(rr.chunks, n);
	assert_int_equal(tsarc_index_npacks(after), rr.packs);
	/* Every record of before, once (before repeats one pack's). */
	for (i = 0; i < tsarc_index_count(before); i++) {
		const tsarc_index_rec *r = &tsarc_index_records(before)[i], *q;
		size_t k = tsarc_index_find_records(after, r->id, &q);
		const uint8_t *pack = tsarc_index_pack_name(before, r->pack);
		for (; k; k--, q++)
			if (!memcmp(tsarc_index_pack_name(after, q->pack), pack, TSARC_ID_LEN))
				break;
		assert_true(k > 0);
		assert_int_equal(q->offset, r->offset);
		assert_int_equal(q->length, r->length);
		assert_int_equal(q->plain, r->plain);
	}
	assert_true(n < tsarc_index_count(before));
	restores(a);
	tsarc_index_free(before);
	tsarc_index_free(after);
	tsarc_repo_free(a);
	free(base);
	assert_int_equal(scratch_remove(dir), 0);
}

/* Entries of each index object (names_in order), through `count`. */
static int count_entry(const uint8_t pack[TSARC_ID_LEN], const tsarc_pack_entry *e,
	void *payload)
{
	(void)pack;
	(void)e;
	++*(size_t *)payload;
	return 0;
}

#define SPLIT_AT 50

/* Every index object holds at most SPLIT_AT entries, more than one object
 * was needed; their count in *nobj, their entries in *entries. */
static void objects_split(tsarc_repo *r, const char *root, size_t *nobj, size_t *entries)
{
	char *names = names_in(root, "index"), *p, name[TSARC_ID_HEX_LEN + 1];

	*nobj = *entries = 0;
	for (p = names; *p; p += TSARC_ID_HEX_LEN + 1) {
		size_t n = 0;
		memcpy(name, p, TSARC_ID_HEX_LEN);
		name[TSARC_ID_HEX_LEN] = 0;
		assert_int_equal(tsarc_index_open_object(r, NULL, name, count_entry, &n), 0);
		/* Packs of 64 KiB hold fewer chunks than SPLIT_AT: objects
		 * are cut between packs before the limit. */
		assert_true(n > 0 && n <= SPLIT_AT);
		*entries += n;
		++*nobj;
	}
	free(names);
	assert_true(*nobj > 1);
}

/* The packs of the store, in its listing's order, with their tables. */
typedef struct all_packs {
	tsarc_pack_toc *t;
	size_t n;
} all_packs;

static void list_packs(tsarc_store *st, all_packs *a)
{
	tsarc_store_entry *e = NULL;
	size_t i;

	assert_int_equal(tsarc_store_list_entries(st, TSARC_OBJ_DATA, &e, &a->n), 0);
	assert_non_null(a->t = calloc(a->n ? a->n : 1, sizeof(*a->t)));
	for (i = 0; i < a->n; i++) {
		snprintf(a->t[i].name, sizeof(a->t[i].name), "%s", e[i].name);
		a->t[i].size = e[i].size;
	}
	tsarc_store_entries_free(e, a->n);
}

/* An index object's first pack and how many entries it holds. */
typedef struct object_shape {
	uint8_t first[TSARC_ID_LEN];
	size_t n;
} object_shape;

static int shape_entry(const uint8_t pack[TSARC_ID_LEN], const tsarc_pack_entry *e,
	void *payload)
{
	object_shape *o = payload;

	(void)e;
	if (!o->n++)
		memcpy(o->first, pack, TSARC_ID_LEN);
	return 0;
}

static int cmp_shape(const void *x, const void *y)
{
	const object_shape *a = x, *b = y;
	int c = memcmp(a->first, b->first, TSARC_ID_LEN);

	return c ? c : (a->n > b->n) - (a->n < b->n);
}

/* The shapes of the index objects named (n of them), sorted: how the
 * entries were cut into objects, whatever the objects' names (each is
 * sealed with a nonce of its own). */
static object_shape *shapes_of(tsarc_repo *r, char *const *names, size_t n)
{
	object_shape *o = calloc(n, sizeof(*o));
	size_t i;

	assert_non_null(o);
	for (i = 0; i < n; i++)
		assert_int_equal(tsarc_index_open_object(r, NULL, names[i], shape_entry, &o[i]), 0);
	qsort(o, n, sizeof(*o), cmp_shape);
	return o;
}

/*
 * prune's merged index and repair's index are written as they go, a pack
 * at a time, yet must be cut into objects as tsarc_index_write cuts a
 * whole list (whole packs, at most the limit of entries): the limit
 * lowered to SPLIT_AT so that ~100 small packs need several objects,
 * prune's objects each hold at most that; repair's are cut exactly as
 * writing every pack's table at once, in the listing's order, cuts them
 * (the same first pack and number of entries, object for object).
 */
static void test_index_objects_split_alike(void **state)
{
	char root_a[300], root_b[300], *after_repair;
	tsarc_index_pack *ip;
	tsarc_prune_result res;
	tsarc_repair_result rr;
	tsarc_lock *lock = NULL;
	all_packs all = {NULL, 0};
	size_t nobj, entries, i, nwritten = 0;
	char **written = NULL;
	tsarc_repo *a;

	(void)state;
	make_repos(root_a, root_b, 64 * 1024);
	a = open_repo(root_a, NULL);
	tsarc_index_entries_per_object = SPLIT_AT;
	tsarc_index_table_run_recs = SHORT_RUN;
	tsarc_index_refs_run_recs = SHORT_RUN;
	assert_int_equal(repo_fixture_prune(a, 0, &res), 0);
	objects_split(a, root_a, &nobj, &entries);
	assert_int_equal(nobj, res.index_written);
	restores(a);

	tsarc_repo_drop_index(a);
	assert_int_equal(tsarc_lock_acquire(&lock, a, 1), 0);
	assert_int_equal(tsarc_repair_index(a, lock, NULL, NULL, &rr), 0);
	assert_int_equal(tsarc_lock_release(lock), 0);
	objects_split(a, root_a, &nobj, &entries);
	assert_int_equal(rr.index_written, nobj);
	assert_int_equal(rr.chunks, entries);
	after_repair = names_in(root_a, "index");

	list_packs(a->store, &all);
	assert_int_equal(tsarc_pack_read_tocs(a, all.t, all.n, 2), 0);
	assert_non_null(ip = calloc(all.n, sizeof(*ip)));
	for (i = 0; i < all.n; i++) {
		assert_false(all.t[i].bad);
		assert_int_equal(tsarc_hex_decode(ip[i].name, TSARC_ID_LEN, all.t[i].name), 0);
		ip[i].entries = all.t[i].entries;
		ip[i].n = all.t[i].n;
	}
	assert_int_equal(tsarc_index_write(a, ip, all.n, &written, &nwritten), 0);
	tsarc_index_entries_per_object = TSARC_INDEX_ENTRIES_PER_OBJECT;
	tsarc_index_table_run_recs = TSARC_INDEX_TABLE_RUN_RECS;
	tsarc_index_refs_run_recs = 0;
	assert_int_equal(nwritten, nobj);
	{
		char **repaired = calloc(nobj, sizeof(char *)), *p;
		object_shape *x, *y;
		size_t k = 0;
		assert_non_null(repaired);
		for (p = after_repair; *p; p += TSARC_ID_HEX_LEN + 1) {
			assert_non_null(repaired[k] = strndup(p, TSARC_ID_HEX_LEN));
			k++;
		}
		assert_int_equal(k, nobj);
		x = shapes_of(a, repaired, nobj);
		y = shapes_of(a, written, nwritten);
		assert_memory_equal(x, y, nobj * sizeof(*x));
		for (k = 0; k < nobj; k++)
			free(repaired[k]);
		free(repaired);
		free(x);
		free(y);
	}
	restores(a);
	tsarc_store_names_free(written, nwritten);
	for (i = 0; i < all.n; i++)
		free(all.t[i].entries);
	free(all.t);
	free(ip);
	free(after_repair);
	tsarc_repo_free(a);
	free(base);
	assert_int_equal(scratch_remove(dir), 0);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_prune_same_with_many_runs),
	cmocka_unit_test(test_damaged_run_stops_prune),
	cmocka_unit_test(test_damaged_table_stops_prune),
	cmocka_unit_test(test_repair_in_groups),
	cmocka_unit_test(test_index_objects_split_alike))
