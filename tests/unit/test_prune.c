/*
 * prune (src/prune.c) through a store that counts every call
 * (tests/store/counting_store.c): it deletes exactly the chunks no
 * snapshot refers to, in one batched call, after listing data/ once and
 * without reading any chunk; a dry run deletes nothing, and one that counts
 * a snapshot as forgotten (forget --dry-run --prune) finds what the prune
 * after its removal does; what is kept still
 * restores byte-identical; a second prune finds nothing to do. On a
 * folder (either format), the temporary files a killed run left (".tmp-"
 * in any object folder) that are older than the oldest live lock go with
 * a prune and are reported; younger ones, and other files, stay. On
 * format 2, the small packs each backup leaves (its last) are combined
 * once there are enough of them, and everything still restores. check
 * --read-data reports a damaged copy of a chunk stored twice, and the
 * prune it names removes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "backup.h"
#include "check.h"
#include "extract.h"
#include "fileio.h"
#include "index.h"
#include "lock.h"
#include "pack.h"
#include "prune.h"
#include "repair.h"
#include "repo.h"
#include "snapshot.h"
#include "store/counting_store.h"
#include "repo_fixture.h"
#include "cmocka_main.h"
#include "tsarc/errors.h"
#include "scratch.h"

#define LEN (400u * 1024)

static char dir[256];
static tsarc_repo *repo;
static counting_store *cnt;

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The chunk names of a snapshot's stream, sorted and unique. */
static size_t chunk_names(const char *id, char ***out)
{
	tsarc_snapshot *snap = NULL;
	const tsarc_stream *st;
	char **names;
	size_t i, n = 0;

	assert_int_equal(tsarc_snapshot_load(repo, id, &snap), 0);
	st = &snap->streams[0];
	names = calloc(st->nchunks, sizeof(char *));
	for (i = 0; i < st->nchunks; i++) {
		names[i] = malloc(TSARC_ID_HEX_LEN + 1);
		tsarc_hex_encode(names[i], st->chunks[i].id, TSARC_ID_LEN);
	}
	qsort(names, st->nchunks, sizeof(char *), cmp_names);
	for (i = 0; i < st->nchunks; i++) {
		if (n && !strcmp(names[n - 1], names[i]))
			free(names[i]);
		else
			names[n++] = names[i];
	}
	tsarc_snapshot_free(snap);
	*out = names;
	return n;
}

/* The file's `repo`, new (options `o`) on a filesystem store at `root`
 * (300 bytes): "repo" in a new scratch folder named after `what`; behind a
 * counting store (the file's `cnt`) when `counted`. */
static void new_repo(const char *what, const tsarc_repo_init_options *o, char root[300],
	int counted)
{
	tsarc_store *st = NULL, *inner = NULL;

	assert_non_null(scratch_make(dir, sizeof(dir), what));
	snprintf(root, 300, "%s/repo", dir);
	assert_int_equal(tsarc_store_fs_open(&inner, root, NULL), 0);
	st = inner;
	if (counted)
		assert_int_equal(counting_store_wrap(&st, &cnt, inner), 0);
	assert_int_equal(tsarc_repo_init(&repo, st, "prune-pw", o), 0);
}

/* The file's `repo` freed and its scratch folder removed. */
static void close_repo(void)
{
	tsarc_repo_free(repo);
	repo = NULL;
	assert_int_equal(scratch_remove(dir), 0);
}

/* Format 2 with small chunks (4 to 64 KiB), on top of the fast options. */
static void small_format2(tsarc_repo_init_options *o)
{
	repo_fixture_options(o);
	o->format = 2;
	o->chunker.min_size = 4096;
	o->chunker.avg_size = 16384;
	o->chunker.max_size = 65536;
}

static void test_prune_deletes_exactly_the_unreferenced(void **state)
{
	static const tsarc_repo_init_options small = {{4096, 16384, 65536}, TSARC_CODEC_ZSTD, 0,
		1024, {TSARC_RETAIN_NONE, 0}, 1, 0};
	uint8_t *a = malloc(LEN), *b = malloc(LEN);
	char root[300], ida[TSARC_ID_HEX_LEN + 1], idb[TSARC_ID_HEX_LEN + 1];
	char **ca, **cb, **doomed, **removed;
	size_t na, nb, ndoomed = 0, nremoved, i, j;
	tsarc_prune_result res;
	tsarc_snapshot *snap = NULL;

	(void)state;
	new_repo("prune", &small, root, 1);

	/* b shares a's first half: those chunks stay referenced. */
	repo_fixture_fill(a, LEN, 1);
	memcpy(b, a, LEN / 2);
	repo_fixture_fill(b + LEN / 2, LEN / 2, 2);
	repo_fixture_backup(repo, dir, a, LEN, "stdin", ida);
	repo_fixture_backup(repo, dir, b, LEN, "stdin", idb);
	na = chunk_names(ida, &ca);
	nb = chunk_names(idb, &cb);
	doomed = calloc(na, sizeof(char *));
	for (i = 0; i < na; i++)
		if (!bsearch(&ca[i], cb, nb, sizeof(char *), cmp_names) &&
			(ndoomed == 0 || strcmp(doomed[ndoomed - 1], ca[i])))
			doomed[ndoomed++] = ca[i];
	/* Both the shared and the doomed part are not empty, or the test
	 * would prove nothing. */
	assert_true(ndoomed > 2 && ndoomed < na - 2);

	/* The dry run of a forget of a (forget --dry-run --prune): its prune
	 * counts a as gone, a's manifest still there, and removes nothing. */
	{
		const char *gone[] = {ida};
		tsarc_lock *lock = NULL;

		counting_store_reset(cnt);
		assert_int_equal(tsarc_lock_acquire(&lock, repo, 0), 0);
		assert_int_equal(tsarc_prune_after(repo, lock, gone, 1, 1,
					 TSARC_PRUNE_MAX_UNUSED_DEFAULT, &res), 0);
		assert_int_equal(tsarc_lock_release(lock), 0);
		assert_int_equal(res.snapshots, 1);
		assert_int_equal(res.chunks_referenced, nb);
		assert_int_equal(res.chunks_removed, ndoomed);
		assert_int_equal(counting_store_calls(cnt, COUNT_REMOVE_MANY, TSARC_OBJ_DATA), 0);
		assert_int_equal(counting_store_calls(cnt, COUNT_REMOVED, TSARC_OBJ_SNAPSHOT), 0);
		/* Never in a real run, which would delete what a still needs. */
		assert_int_equal(tsarc_lock_acquire(&lock, repo, 1), 0);
		assert_int_equal(tsarc_prune_after(repo, lock, gone, 1, 0,
					 TSARC_PRUNE_MAX_UNUSED_DEFAULT, &res), TSARC_EINVAL);
		assert_int_equal(tsarc_lock_release(lock), 0);
		assert_int_equal(counting_store_calls(cnt, COUNT_REMOVE_MANY, TSARC_OBJ_DATA), 0);
	}

	/* a is forgotten: its manifest goes, its chunks stay until prune. */
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_SNAPSHOT, ida), 0);

	counting_store_reset(cnt);
	assert_int_equal(repo_fixture_prune(repo, 1, &res), 0);
	assert_int_equal(res.snapshots, 1);
	assert_int_equal(res.chunks_removed, ndoomed);
	assert_int_equal(counting_store_calls(cnt, COUNT_REMOVED, TSARC_OBJ_DATA), 0);
	assert_int_equal(counting_store_calls(cnt, COUNT_REMOVE_MANY, TSARC_OBJ_DATA), 0);

	counting_store_reset(cnt);
	assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
	assert_int_equal(res.snapshots, 1);
	assert_int_equal(res.chunks_referenced, nb);
	assert_int_equal(res.chunks_removed, ndoomed);
	assert_int_equal(res.chunks_young, 0);
	assert_int_equal(res.chunks_stored, nb + ndoomed);
	/* Exactly the doomed chunks, nothing else of any type but our lock. */
	assert_int_equal(counting_store_removed(cnt, TSARC_OBJ_DATA, &removed, &nremoved), 0);
	assert_int_equal(nremoved, ndoomed);
	for (i = 0; i < ndoomed; i++)
		assert_string_equal(removed[i], doomed[i]);
	tsarc_store_names_free(removed, nremoved);
	for (j = 0; j < TSARC_OBJ__COUNT; j++)
		if (j != TSARC_OBJ_DATA && j != TSARC_OBJ_LOCK)
			assert_int_equal(counting_store_calls(cnt, COUNT_REMOVED, (tsarc_objtype)j), 0);
	/* One listing of data/, one batch of deletions, no chunk read or written. */
	assert_int_equal(counting_store_calls(cnt, COUNT_LIST, TSARC_OBJ_DATA), 1);
	assert_int_equal(counting_store_calls(cnt, COUNT_REMOVE_MANY, TSARC_OBJ_DATA), 1);
	assert_int_equal(counting_store_calls(cnt, COUNT_REMOVE, TSARC_OBJ_DATA), 0);
	assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_DATA), 0);
	assert_int_equal(counting_store_calls(cnt, COUNT_STAT, TSARC_OBJ_DATA), 0);
	assert_int_equal(counting_store_calls(cnt, COUNT_PUT, TSARC_OBJ_DATA), 0);
	/* Each remaining manifest read once. */
	assert_int_equal(counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_SNAPSHOT), 1);

	/* What is kept restores byte-identical. */
	assert_int_equal(tsarc_snapshot_load(repo, idb, &snap), 0);
	assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], b, LEN, 0), 0);
	tsarc_snapshot_free(snap);

	/* Nothing left to do. */
	counting_store_reset(cnt);
	assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
	assert_int_equal(res.chunks_removed, 0);
	assert_int_equal(res.chunks_stored, nb);
	assert_int_equal(counting_store_calls(cnt, COUNT_REMOVE_MANY, TSARC_OBJ_DATA), 0);

	tsarc_repo_free(repo);
	tsarc_store_names_free(ca, na);
	tsarc_store_names_free(cb, nb);
	free(doomed);
	free(a);
	free(b);
	{
		assert_int_equal(scratch_remove(dir), 0);
	}
}

/* A file of `size` bytes at root/rel, last written `age` seconds ago. */
static void leave_file(const char *root, const char *rel, size_t size, int64_t age)
{
	char path[512];
	struct timespec ts[2];
	char *buf = calloc(1, size + 1);

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_int_equal(tsarc_replace_file(path, buf, size, 0600, 0), 0);
	free(buf);
	ts[0].tv_sec = ts[1].tv_sec = (time_t)(time(NULL) - age);
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static int exists(const char *root, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return access(path, F_OK) == 0;
}

static void test_prune_removes_old_temporaries(void **state)
{
	static const char *const dead[] = {"data/ab/.tmp-1a2b3c", "snapshots/.tmp-4d5e6f",
		".tmp-7a8b9c", "index/.tmp-0d0e0f"};
	static const char *const alive[] = {"data/ab/.tmp-fresh1", "data/ab/.keep",
		"keys/.tmp-fresh2"};
	tsarc_repo_init_options o = {{4096, 16384, 65536}, TSARC_CODEC_ZSTD, 0, 1024,
		{TSARC_RETAIN_NONE, 0}, 0, 0};
	char root[300], id[TSARC_ID_HEX_LEN + 1];
	uint8_t data[64 * 1024];
	tsarc_prune_result res;
	uint32_t format;
	size_t i;

	(void)state;
	repo_fixture_fill(data, sizeof(data), 5);
	for (format = 1; format <= 2; format++) {
		o.format = format;
		new_repo("prune-tmp", &o, root, 0);
		repo_fixture_backup(repo, dir, data, sizeof(data), "stdin", id);
		for (i = 0; i < 2; i++) {
			char sub[400];
			snprintf(sub, sizeof(sub), "%s/%s", root, i ? "data/ab" : "index");
			assert_true(mkdir(sub, 0700) == 0 || errno == EEXIST);
		}
		/* An hour old: a run killed long before any lock now live. */
		for (i = 0; i < sizeof(dead) / sizeof(dead[0]); i++)
			leave_file(root, dead[i], 100 * (i + 1), 3600);
		leave_file(root, alive[0], 10, 0);
		leave_file(root, alive[1], 10, 3600);
		leave_file(root, alive[2], 10, 60);

		/* A dry run touches none. */
		assert_int_equal(repo_fixture_prune(repo, 1, &res), 0);
		for (i = 0; i < sizeof(dead) / sizeof(dead[0]); i++)
			assert_true(exists(root, dead[i]));
		assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
		assert_int_equal(res.temp_removed, 4);
		assert_int_equal(res.temp_bytes_removed, 100 + 200 + 300 + 400);
		for (i = 0; i < sizeof(dead) / sizeof(dead[0]); i++)
			assert_false(exists(root, dead[i]));
		for (i = 0; i < sizeof(alive) / sizeof(alive[0]); i++)
			assert_true(exists(root, alive[i]));
		assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
		assert_int_equal(res.temp_removed, 0);
		close_repo();
	}
}

/* Packs in the repository's data/ folder. */
static size_t count_packs(const char *root)
{
	char cmd[600];
	FILE *f;
	size_t n = 0;

	snprintf(cmd, sizeof(cmd), "find '%s/data' -type f -name '[0-9a-f]*' | wc -l", root);
	assert_non_null(f = popen(cmd, "r"));
	assert_int_equal(fscanf(f, "%zu", &n), 1);
	pclose(f);
	return n;
}

/* Backups of `n` streams of `len` random bytes each (seeds from `seed`):
 * each leaves one small pack, its last and only one. */
static void small_backups(size_t n, size_t len, uint64_t seed, uint8_t **data,
	char (*ids)[TSARC_ID_HEX_LEN + 1])
{
	size_t i;

	for (i = 0; i < n; i++) {
		data[i] = malloc(len);
		repo_fixture_fill(data[i], len, seed + i);
		repo_fixture_backup(repo, dir, data[i], len, "stdin", ids[i]);
	}
}

static void test_prune_combines_small_packs(void **state)
{
	tsarc_repo_init_options o;
	char root[300], ids[12][TSARC_ID_HEX_LEN + 1];
	uint8_t *data[12];
	size_t i;
	tsarc_prune_result res;

	(void)state;
	small_format2(&o);
	o.pack_size = 64 * 1024; /* small packs: under 32 KiB */
	new_repo("prune-small", &o, root, 0);

	/* Two small packs, 16 KiB between them: combining gains nothing yet. */
	small_backups(2, 8192, 100, data, ids);
	assert_int_equal(count_packs(root), 2);
	assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
	assert_int_equal(res.packs_repacked, 0);
	assert_int_equal(res.packs_small, 0);
	assert_int_equal(count_packs(root), 2);

	/* Ten more (twelve, 96 KiB): all combined into full packs. */
	small_backups(10, 8192, 200, data + 2, ids + 2);
	assert_int_equal(count_packs(root), 12);
	assert_int_equal(repo_fixture_prune(repo, 1, &res), 0);
	assert_int_equal(res.packs_small, 12);
	assert_int_equal(count_packs(root), 12);
	assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
	assert_int_equal(res.packs_small, 12);
	assert_int_equal(res.packs_repacked, 12);
	assert_int_equal(res.chunks_removed, 0);
	/* 99 KiB of 8 KiB chunks: one pack to 64-72 KiB, the rest in a second,
	 * wherever the chunk boundaries fell. */
	assert_int_equal(res.packs_written, 2);
	assert_int_equal(count_packs(root), 2);
	for (i = 0; i < 12; i++) {
		tsarc_snapshot *snap = NULL;
		assert_int_equal(tsarc_snapshot_load(repo, ids[i], &snap), 0);
		assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], data[i],
					 8192, 4), 0);
		tsarc_snapshot_free(snap);
		free(data[i]);
	}
	/* What the combining wrote is not combined again. */
	assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
	assert_int_equal(res.packs_repacked, 0);

	/* Three packs of 24 KiB: a whole pack between them, so combined (with
	 * the second pack of the first combining when that is under 32 KiB). */
	small_backups(3, 24 * 1024, 300, data, ids);
	assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
	assert_true(res.packs_small == 3 || res.packs_small == 4);
	assert_int_equal(res.packs_repacked, res.packs_small);
	for (i = 0; i < 3; i++) {
		tsarc_snapshot *snap = NULL;
		assert_int_equal(tsarc_snapshot_load(repo, ids[i], &snap), 0);
		assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], data[i],
					 24 * 1024, 4), 0);
		tsarc_snapshot_free(snap);
		free(data[i]);
	}
	close_repo();
}

/*
 * A prune leaves nothing for the next one to do. Small packs kept as they
 * are (too few, holding under a pack between them) plus the small pack a
 * repack's copy ends with could hold a whole pack between them: the next
 * prune then combined them, so each prune --max-unused 0 could find work
 * again (seen as a flake of cli_prune_pack: which chunks a repack copies
 * decides the last pack's size). Several seeds, so that some put the
 * repack's last pack over the line; each one must converge.
 */
static void test_prune_leaves_nothing_for_the_next(void **state)
{
	tsarc_repo_init_options o;
	char root[300], ids[2][TSARC_ID_HEX_LEN + 1], ida[TSARC_ID_HEX_LEN + 1];
	char idb[TSARC_ID_HEX_LEN + 1];
	const size_t alen = 56 * 1024, blen = 68 * 1024;
	uint8_t *data[2], *a = malloc(alen), *b = malloc(blen);
	tsarc_prune_result res;
	uint64_t seed;
	size_t i, repacked = 0;

	(void)state;
	for (seed = 0; seed < 8; seed++) {
		small_format2(&o);
		o.pack_size = 64 * 1024; /* small packs: under 32 KiB */
		new_repo("prune-converge", &o, root, 0);
		/* Two small packs, under a pack between them: kept. */
		small_backups(2, 26 * 1024, 1000 + 10 * seed, data, ids);
		/* a's pack, half of it still needed by b once a is forgotten. */
		repo_fixture_fill(a, alen, 2000 + seed);
		memcpy(b, a, alen / 2);
		repo_fixture_fill(b + alen / 2, blen - alen / 2, 3000 + seed);
		repo_fixture_backup(repo, dir, a, alen, "stdin", ida);
		repo_fixture_backup(repo, dir, b, blen, "stdin", idb);
		assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_SNAPSHOT, ida), 0);
		assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
		repacked += res.packs_repacked > res.packs_small;
		assert_int_equal(repo_fixture_prune(repo, 1, &res), 0);
		if (res.packs_repacked || res.packs_deleted)
			fail_msg("seed %llu: the prune after a prune would repack %llu packs "
				 "(%llu small) and delete %llu",
				(unsigned long long)seed, (unsigned long long)res.packs_repacked,
				(unsigned long long)res.packs_small,
				(unsigned long long)res.packs_deleted);
		for (i = 0; i < 2; i++) {
			tsarc_snapshot *snap = NULL;
			assert_int_equal(tsarc_snapshot_load(repo, ids[i], &snap), 0);
			assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0],
						 data[i], 26 * 1024, 4), 0);
			tsarc_snapshot_free(snap);
			free(data[i]);
		}
		close_repo();
	}
	/* Seeds whose a's pack was partly used, not wholly unused. */
	assert_true(repacked >= 4);
	free(a);
	free(b);
}

/* The one pack file in the repository's data/ folder: its path and name. */
static void only_pack(const char *root, char *path, size_t pathsz, char name[TSARC_ID_HEX_LEN + 1])
{
	char cmd[600];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "find '%s/data' -type f -name '[0-9a-f]*'", root);
	assert_non_null(f = popen(cmd, "r"));
	assert_non_null(fgets(path, (int)pathsz, f));
	path[strcspn(path, "\n")] = 0;
	assert_null(fgets(cmd, sizeof(cmd), f));
	pclose(f);
	snprintf(name, TSARC_ID_HEX_LEN + 1, "%s", strrchr(path, '/') + 1);
}

/*
 * A repack reads the live blobs of a pack in runs and opens each before
 * copying it: a damaged blob stops prune before it deletes or writes
 * anything that stays, naming the chunk and the pack, and the other
 * snapshot's pack is left as it was.
 */
static void test_repack_stops_at_a_damaged_blob(void **state)
{
	tsarc_repo_init_options o;
	char root[300], path[700], name[TSARC_ID_HEX_LEN + 1], ida[TSARC_ID_HEX_LEN + 1];
	char idb[TSARC_ID_HEX_LEN + 1];
	uint8_t *a = malloc(LEN), *b = malloc(LEN), byte;
	tsarc_pack_entry *e = NULL;
	tsarc_prune_result res;
	struct stat sb;
	size_t n = 0;
	int fd;

	(void)state;
	small_format2(&o);
	new_repo("prune-damaged", &o, root, 0);
	/* a's pack (one: 400 KiB under the default 16 MiB), then b sharing
	 * its first half. */
	repo_fixture_fill(a, LEN, 1);
	memcpy(b, a, LEN / 2);
	repo_fixture_fill(b + LEN / 2, LEN / 2, 2);
	repo_fixture_backup(repo, dir, a, LEN, "stdin", ida);
	only_pack(root, path, sizeof(path), name);
	repo_fixture_backup(repo, dir, b, LEN, "stdin", idb);
	assert_int_equal(count_packs(root), 2);
	/* a forgotten: half of its pack is unused, so it is repacked (and b's,
	 * small beside the 16 MiB pack size, goes along). */
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_SNAPSHOT, ida), 0);
	assert_int_equal(repo_fixture_prune(repo, 1, &res), 0);
	assert_int_equal(res.packs_repacked - res.packs_small, 1);
	/* Its first chunk (shared with b: live) damaged in the middle. */
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(tsarc_pack_read_toc(repo, name, (uint64_t)sb.st_size, &e, &n), 0);
	assert_true(n > 2);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, &byte, 1, e[0].offset + e[0].length / 2), 1);
	byte ^= 0x40;
	assert_int_equal(pwrite(fd, &byte, 1, e[0].offset + e[0].length / 2), 1);
	close(fd);

	assert_int_equal(repo_fixture_prune(repo, 0, &res), TSARC_ECORRUPT);
	assert_non_null(strstr(tsarc_error_last()->message, "does not authenticate"));
	name[16] = 0; /* messages name a pack by its first 16 digits */
	assert_non_null(strstr(tsarc_error_last()->message, name));
	assert_int_equal(count_packs(root), 2);
	assert_int_equal(stat(path, &sb), 0);
	free(e);
	free(a);
	free(b);
	close_repo();
}

/* The index objects of the repository, sorted. */
static size_t index_names(char ***out)
{
	size_t n = 0;

	assert_int_equal(tsarc_store_list_names(repo->store, TSARC_OBJ_INDEX, out, &n), 0);
	qsort(*out, n, sizeof(char *), cmp_names);
	return n;
}

/*
 * A snapshot needs chunks that no index object places any more (the
 * object that did is lost): their pack is then in no index, as a killed
 * run's is, but prune must not take it for one. It stops before it
 * deletes anything, saying how many such chunks there are, and the pack
 * stays for 'tsarc repair index' to index again, after which prune runs
 * and the snapshot restores. (Before, prune deleted the pack as unindexed:
 * the needed chunks no record had were left out of its reckoning.)
 */
static void test_prune_keeps_a_pack_whose_index_is_lost(void **state)
{
	tsarc_repo_init_options o;
	tsarc_repair_result rr;
	tsarc_prune_result res;
	tsarc_snapshot *snap = NULL;
	tsarc_lock *lock = NULL;
	char root[300], ida[TSARC_ID_HEX_LEN + 1], idb[TSARC_ID_HEX_LEN + 1];
	char **before = NULL, **after = NULL;
	uint8_t *a = malloc(LEN), *b = malloc(LEN);
	size_t nbefore, nafter, i, lost = 0;

	(void)state;
	small_format2(&o);
	new_repo("prune-lost-index", &o, root, 0);
	repo_fixture_fill(a, LEN, 1);
	repo_fixture_fill(b, LEN, 2);
	repo_fixture_backup(repo, dir, a, LEN, "stdin", ida);
	nbefore = index_names(&before);
	repo_fixture_backup(repo, dir, b, LEN, "stdin", idb);
	assert_int_equal(count_packs(root), 2);
	/* b's index objects lost. */
	nafter = index_names(&after);
	for (i = 0; i < nafter; i++)
		if (!bsearch(&after[i], before, nbefore, sizeof(char *), cmp_names)) {
			assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_INDEX, after[i]), 0);
			lost++;
		}
	assert_true(lost > 0);
	tsarc_repo_drop_index(repo);

	assert_int_equal(repo_fixture_prune(repo, 1, &res), TSARC_ECORRUPT);
	assert_int_equal(repo_fixture_prune(repo, 0, &res), TSARC_ECORRUPT);
	assert_non_null(strstr(tsarc_error_last()->message, "in no index"));
	assert_int_equal(count_packs(root), 2);

	assert_int_equal(tsarc_lock_acquire(&lock, repo, 1), 0);
	assert_int_equal(tsarc_repair_index(repo, lock, NULL, NULL, &rr), 0);
	assert_int_equal(tsarc_lock_release(lock), 0);
	tsarc_repo_drop_index(repo);
	assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
	assert_int_equal(res.packs_deleted + res.packs_unindexed, 0);
	assert_int_equal(count_packs(root), 2);
	assert_int_equal(tsarc_snapshot_load(repo, idb, &snap), 0);
	assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], b, LEN, 2), 0);
	tsarc_snapshot_free(snap);
	tsarc_store_names_free(before, nbefore);
	tsarc_store_names_free(after, nafter);
	free(a);
	free(b);
	close_repo();
}

/* An index edit: the record of chunk `payload` one byte more plain. */
static int one_byte_more_plain(tsarc_pack_entry *e, const uint8_t **pack, void *payload)
{
	(void)pack;
	if (!memcmp(e->id, payload, TSARC_ID_LEN))
		e->plain++;
	return 1;
}

/*
 * Two copies of a chunk a snapshot needs, whose records disagree on its
 * plain length: one of them lies, and prune cannot tell which without the
 * manifest, so it keeps both (a restore tries each copy: the right one
 * reads). a's first chunk gets a lying record in a's pack; b, which
 * starts with that chunk then has bytes of its own, stores it again (a
 * backup trusts no such record) in b's pack; b forgotten, b's pack has
 * that copy as its only needed chunk, a's pack the larger needed share.
 * a restores before and after prune, and there are still two packs (b's
 * repacked into a new one). (Before, prune kept the copy in a's pack and
 * deleted b's: a no longer restored.)
 */
static void test_prune_keeps_copies_that_disagree(void **state)
{
	tsarc_repo_init_options o;
	tsarc_prune_result res;
	tsarc_snapshot *snap = NULL;
	tsarc_index *idx = NULL;
	char root[300], ida[TSARC_ID_HEX_LEN + 1], idb[TSARC_ID_HEX_LEN + 1];
	uint8_t *a = malloc(LEN), *b = malloc(2 * LEN), first[TSARC_ID_LEN];
	size_t flen;

	(void)state;
	small_format2(&o);
	/* Neither backup's pack small (under half of it), so that a's is kept
	 * as it is while b's is repacked. */
	o.pack_size = 512 * 1024;
	new_repo("prune-disagree", &o, root, 0);
	repo_fixture_fill(a, LEN, 1);
	repo_fixture_backup(repo, dir, a, LEN, "stdin", ida);
	assert_int_equal(tsarc_snapshot_load(repo, ida, &snap), 0);
	memcpy(first, snap->streams[0].chunks[0].id, TSARC_ID_LEN);
	flen = snap->streams[0].chunks[0].size;
	assert_int_equal(tsarc_index_load(repo, &idx, NULL, NULL), 0);
	repo_fixture_rewrite_index(repo, idx, one_byte_more_plain, first);
	tsarc_index_free(idx);
	tsarc_repo_drop_index(repo);
	memcpy(b, a, flen);
	repo_fixture_fill(b + flen, LEN, 2);
	repo_fixture_backup(repo, dir, b, flen + LEN, "stdin", idb);
	assert_int_equal(count_packs(root), 2);
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_SNAPSHOT, idb), 0);
	assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], a, LEN, 2), 0);

	assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
	assert_int_equal(count_packs(root), 2);
	tsarc_repo_drop_index(repo);
	assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], a, LEN, 2), 0);
	tsarc_snapshot_free(snap);
	free(a);
	free(b);
	close_repo();
}

/* A backup of `data` begun now (its lock taken, the chunks the repository
 * holds now known to it) and written by finish_backup: two of them begun
 * before either is written are two backups at once, each storing what the
 * other stores too. One worker, as repo_fixture_backup. */
typedef struct open_backup {
	tsarc_backup *b;
	int fd;
	char path[300];
} open_backup;

static void begin_backup(open_backup *ob, const char *name, const uint8_t *data, size_t len)
{
	tsarc_backup_options o = {NULL, NULL, 0, NULL, NULL, 1, 0};

	snprintf(ob->path, sizeof(ob->path), "%s/%s", dir, name);
	ob->fd = open(ob->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(ob->fd >= 0);
	assert_int_equal(tsarc_write_all(ob->fd, data, len), 0);
	assert_int_equal(lseek(ob->fd, 0, SEEK_SET), 0);
	assert_int_equal(tsarc_backup_new(&ob->b, repo, &o), 0);
}

static void finish_backup(open_backup *ob, char id[TSARC_ID_HEX_LEN + 1])
{
	assert_int_equal(tsarc_backup_stream_fd(ob->b, "s", "stdin", ob->fd, NULL), 0);
	assert_int_equal(tsarc_backup_commit(ob->b, id), 0);
	tsarc_backup_free(ob->b);
	close(ob->fd);
	unlink(ob->path);
}

/* Flips a byte in the middle of chunk `id`'s blob in the pack at `path`. */
static void damage_blob(const char *path, const char *name, const uint8_t id[TSARC_ID_LEN])
{
	tsarc_pack_entry *e = NULL;
	struct stat sb;
	size_t n = 0, k;
	uint8_t byte;
	int fd;

	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(tsarc_pack_read_toc(repo, name, (uint64_t)sb.st_size, &e, &n), 0);
	for (k = 0; k < n && memcmp(e[k].id, id, TSARC_ID_LEN); k++)
		;
	assert_true(k < n);
	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, &byte, 1, e[k].offset + e[k].length / 2), 1);
	byte ^= 0x40;
	assert_int_equal(pwrite(fd, &byte, 1, e[k].offset + e[k].length / 2), 1);
	close(fd);
	free(e);
}

/*
 * Two backups at once of streams that begin alike both store the chunks
 * they share, each in its own pack. a forgotten, c needs those chunks:
 * their copy in c's pack has the larger needed share, a's pack has
 * nothing else needed. The copy in c's pack of c's first chunk is
 * damaged (a flipped byte): c still restores, from the copy in a's pack
 * (a restore reads the first copy that authenticates). prune must not
 * keep the damaged copy and delete the good one: after it, c restores.
 * (Before, prune kept the copy in c's pack without reading it and deleted
 * a's pack, and c no longer restored.)
 */
static void test_prune_keeps_a_copy_that_authenticates(void **state)
{
	tsarc_repo_init_options o;
	tsarc_prune_result res;
	tsarc_snapshot *snap = NULL;
	open_backup oa, oc;
	char root[300], ida[TSARC_ID_HEX_LEN + 1], idc[TSARC_ID_HEX_LEN + 1];
	char pa_path[700], pa[TSARC_ID_HEX_LEN + 1], pc_path[700], pc[TSARC_ID_HEX_LEN + 1];
	char cmd[700];
	const size_t shared = 256 * 1024;
	uint8_t *a = malloc(LEN), *c = malloc(LEN), first[TSARC_ID_LEN];
	FILE *f;

	(void)state;
	small_format2(&o);
	new_repo("prune-damaged-copy", &o, root, 0);
	repo_fixture_fill(a, LEN, 1);
	memcpy(c, a, shared);
	repo_fixture_fill(c + shared, LEN - shared, 2);
	begin_backup(&oa, "a", a, LEN);
	begin_backup(&oc, "c", c, LEN);
	finish_backup(&oa, ida);
	only_pack(root, pa_path, sizeof(pa_path), pa);
	finish_backup(&oc, idc);
	assert_int_equal(count_packs(root), 2);
	snprintf(cmd, sizeof(cmd), "find '%s/data' -type f -name '[0-9a-f]*' ! -name '%s'", root,
		pa);
	assert_non_null(f = popen(cmd, "r"));
	assert_non_null(fgets(pc_path, (int)sizeof(pc_path), f));
	pclose(f);
	pc_path[strcspn(pc_path, "\n")] = 0;
	snprintf(pc, sizeof(pc), "%s", strrchr(pc_path, '/') + 1);

	assert_int_equal(tsarc_snapshot_load(repo, idc, &snap), 0);
	memcpy(first, snap->streams[0].chunks[0].id, TSARC_ID_LEN);
	damage_blob(pc_path, pc, first);
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_SNAPSHOT, ida), 0);
	tsarc_repo_drop_index(repo);
	assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], c, LEN, 2), 0);

	assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
	tsarc_repo_drop_index(repo);
	assert_int_equal(repo_fixture_extract_equal(repo, &snap->streams[0], c, LEN, 2), 0);
	tsarc_snapshot_free(snap);
	free(a);
	free(c);
	close_repo();
}

/* What check reported: every problem of kind "copy" and "chunk". */
typedef struct copy_problems {
	size_t copies, chunks, other;
	char object[TSARC_ID_HEX_LEN + 1];
	char message[1024];
} copy_problems;

static void note_copy(const tsarc_check_problem *p, void *payload)
{
	copy_problems *cp = payload;

	if (!strcmp(p->what, "copy")) {
		cp->copies++;
		snprintf(cp->object, sizeof(cp->object), "%s", p->object ? p->object : "");
		snprintf(cp->message, sizeof(cp->message), "%s", p->message);
	} else if (!strcmp(p->what, "chunk")) {
		cp->chunks++;
	} else {
		cp->other++;
	}
}

static void check_copies(tsarc_check_result *res, copy_problems *cp)
{
	tsarc_check_options o;

	memset(&o, 0, sizeof(o));
	memset(cp, 0, sizeof(*cp));
	o.read_data = 1;
	tsarc_repo_drop_index(repo);
	assert_int_equal(tsarc_check(repo, &o, note_copy, cp, res), 0);
}

/*
 * check --read-data reads every copy of a chunk the index lists. Two
 * backups at once store the chunks they share twice, once in each pack;
 * a byte of one copy of the first chunk is flipped, in one pack and then
 * (a new repository) in the other, so that the damaged copy is the first
 * the index lists once and the second once. Each time check reports that
 * copy (kind "copy", the chunk's id, a message naming its pack, saying
 * another copy is intact and what removes the damaged one), counts no
 * chunk damaged (the data is not lost) and nothing else; and what the
 * message names, prune with no unused byte left, removes it: check is
 * clean after, both snapshots restore. (Before, check read the first copy
 * that authenticated and said nothing: exit 0 over a damaged copy.)
 */
static void test_check_reports_a_damaged_copy(void **state)
{
	int which;

	(void)state;
	for (which = 0; which < 2; which++) {
		tsarc_repo_init_options o;
		tsarc_prune_result pres;
		tsarc_check_result res;
		tsarc_snapshot *sa = NULL, *sc = NULL;
		tsarc_lock *lock = NULL;
		copy_problems cp;
		open_backup oa, oc;
		char root[300], ida[TSARC_ID_HEX_LEN + 1], idc[TSARC_ID_HEX_LEN + 1];
		char pa_path[700], pa[TSARC_ID_HEX_LEN + 1], pc_path[700], pc[TSARC_ID_HEX_LEN + 1];
		char cmd[700], hex[TSARC_ID_HEX_LEN + 1], want[40];
		const char *bad_path, *bad;
		const size_t shared = 256 * 1024;
		uint8_t *a = malloc(LEN), *c = malloc(LEN), first[TSARC_ID_LEN];
		FILE *f;

		small_format2(&o);
		new_repo("check-damaged-copy", &o, root, 0);
		repo_fixture_fill(a, LEN, 1);
		memcpy(c, a, shared);
		repo_fixture_fill(c + shared, LEN - shared, 2);
		begin_backup(&oa, "a", a, LEN);
		begin_backup(&oc, "c", c, LEN);
		finish_backup(&oa, ida);
		only_pack(root, pa_path, sizeof(pa_path), pa);
		finish_backup(&oc, idc);
		assert_int_equal(count_packs(root), 2);
		snprintf(cmd, sizeof(cmd), "find '%s/data' -type f -name '[0-9a-f]*' ! -name '%s'",
			root, pa);
		assert_non_null(f = popen(cmd, "r"));
		assert_non_null(fgets(pc_path, (int)sizeof(pc_path), f));
		pclose(f);
		pc_path[strcspn(pc_path, "\n")] = 0;
		snprintf(pc, sizeof(pc), "%s", strrchr(pc_path, '/') + 1);

		/* Clean: the shared chunks' two copies both open. */
		check_copies(&res, &cp);
		assert_int_equal(cp.copies + cp.chunks + cp.other, 0);

		assert_int_equal(tsarc_snapshot_load(repo, ida, &sa), 0);
		assert_int_equal(tsarc_snapshot_load(repo, idc, &sc), 0);
		/* The first chunk lies within the shared start: in both packs. */
		memcpy(first, sc->streams[0].chunks[0].id, TSARC_ID_LEN);
		assert_memory_equal(first, sa->streams[0].chunks[0].id, TSARC_ID_LEN);
		bad_path = which ? pa_path : pc_path;
		bad = which ? pa : pc;
		damage_blob(bad_path, bad, first);

		check_copies(&res, &cp);
		tsarc_hex_encode(hex, first, TSARC_ID_LEN);
		assert_int_equal(cp.copies, 1);
		assert_int_equal(cp.chunks, 0);
		assert_int_equal(cp.other, 0);
		assert_int_equal(res.chunks_damaged, 0);
		assert_int_equal(res.copies_damaged, 1);
		assert_string_equal(cp.object, hex);
		snprintf(want, sizeof(want), "pack %.16s", bad);
		assert_non_null(strstr(cp.message, want));
		assert_non_null(strstr(cp.message, "another copy"));
		assert_non_null(strstr(cp.message, "tsarc prune --max-unused 0"));

		/* What the message says repairs it. */
		assert_int_equal(tsarc_lock_acquire(&lock, repo, 1), 0);
		assert_int_equal(tsarc_prune(repo, lock, 0, 0, &pres), 0);
		assert_int_equal(tsarc_lock_release(lock), 0);
		check_copies(&res, &cp);
		assert_int_equal(cp.copies + cp.chunks + cp.other, 0);
		assert_int_equal(repo_fixture_extract_equal(repo, &sa->streams[0], a, LEN, 2), 0);
		assert_int_equal(repo_fixture_extract_equal(repo, &sc->streams[0], c, LEN, 2), 0);
		tsarc_snapshot_free(sa);
		tsarc_snapshot_free(sc);
		free(a);
		free(c);
		close_repo();
	}
}

/*
 * An object in snapshots/ whose name is 64 characters but no snapshot id
 * (not lower-case hex: no manifest's hash is named so) is no snapshot. It
 * is not listed as one, so it is no damaged snapshot that stops prune for
 * good ('tsarc forget' takes only ids, so it could not remove it).
 */
static void test_a_name_that_is_no_id_is_no_snapshot(void **state)
{
	tsarc_repo_init_options o;
	tsarc_prune_result res;
	char root[300], ida[TSARC_ID_HEX_LEN + 1], name[TSARC_ID_HEX_LEN + 1], **ids = NULL;
	uint8_t *a = malloc(LEN);
	size_t n = 0;

	(void)state;
	small_format2(&o);
	new_repo("prune-no-id", &o, root, 0);
	repo_fixture_fill(a, LEN, 1);
	repo_fixture_backup(repo, dir, a, LEN, "stdin", ida);
	memset(name, 'A', TSARC_ID_HEX_LEN);
	name[TSARC_ID_HEX_LEN] = 0;
	assert_int_equal(tsarc_store_put(repo->store, TSARC_OBJ_SNAPSHOT, name, "junk", 4, 0), 0);
	assert_int_equal(tsarc_snapshot_list_ids(repo, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], ida);
	tsarc_snapshot_ids_free(ids, n);
	assert_int_equal(repo_fixture_prune(repo, 0, &res), 0);
	assert_int_equal(res.snapshots, 1);
	free(a);
	close_repo();
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_prune_deletes_exactly_the_unreferenced),
	cmocka_unit_test(test_prune_removes_old_temporaries),
	cmocka_unit_test(test_prune_combines_small_packs),
	cmocka_unit_test(test_prune_leaves_nothing_for_the_next),
	cmocka_unit_test(test_repack_stops_at_a_damaged_blob),
	cmocka_unit_test(test_prune_keeps_a_pack_whose_index_is_lost),
	cmocka_unit_test(test_prune_keeps_copies_that_disagree),
	cmocka_unit_test(test_prune_keeps_a_copy_that_authenticates),
	cmocka_unit_test(test_check_reports_a_damaged_copy),
	cmocka_unit_test(test_a_name_that_is_no_id_is_no_snapshot))
