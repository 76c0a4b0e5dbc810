/*
 * check on format 2 in bounded memory (src/check_pack.c, check_refs.c):
 * a repository with every kind of damage check finds in packs and the
 * index (a pack missing, a pack cut short: its chunks before the cut still
 * read where the index places them, those past it do not; an index record missing, one
 * that lies about its offset, an object in index/ whose name is no index
 * name, a chunk whose bytes are damaged, a snapshot that does not open). check finds what the damage makes, counted
 * independently here from the index and the snapshots; and with runs and
 * batches of a few records (many runs, many merges, ids whose references
 * straddle runs, packs read a few at a time) it gives the same result,
 * field for field, and the same problems as with the default sizes.
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

#include "check.h"
#include "check_int.h"
#include "chunkset.h"
#include "index.h"
#include "index_refs.h"
#include "index_table.h"
#include "pack.h"
#include "repo.h"
#include "snapshot.h"
#include "repo_fixture.h"
#include "cmocka_main.h"
#include "tsarc/errors.h"
#include "scratch.h"

#define NBACKUPS 6
#define WINDOW (1024u * 1024)
#define STEP (384u * 1024)
#define BASE (WINDOW + (NBACKUPS - 1) * STEP)
#define SHORT_RUN 13

static char dir[256], tmp_dir[300], root[300];
static char ids[NBACKUPS][TSARC_ID_HEX_LEN + 1];

/* The problems check reported, one line each. */
typedef struct problems {
	char **line;
	size_t n, cap;
} problems;

static void note(const tsarc_check_problem *p, void *payload)
{
	problems *ps = payload;
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s|%s|%s|%s|%d|%s", p->what, p->snapshot ? p->snapshot : "",
		p->stream ? p->stream : "", p->object ? p->object : "", p->code,
		p->message ? p->message : "");
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 64;
		ps->line = realloc(ps->line, ps->cap * sizeof(*ps->line));
		assert_non_null(ps->line);
	}
	assert_non_null(ps->line[ps->n++] = strdup(buf));
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void problems_free(problems *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++)
		free(ps->line[i]);
	free(ps->line);
	memset(ps, 0, sizeof(*ps));
}

static char *path_of(const char *folder, const char *hex)
{
	static char p[700];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s/%.2s/%s", root, folder, hex, hex);
	if (stat(p, &sb))
		snprintf(p, sizeof(p), "%s/%s/%s", root, folder, hex);
	assert_int_equal(stat(p, &sb), 0);
	return p;
}

/* The packs of snapshot 0's chunks, in the order it first names them,
 * and the first of its chunks in each. */
static size_t packs_of_first(tsarc_repo *r, const tsarc_index *idx, uint8_t packs[6][32],
	uint8_t chunk[6][32])
{
	tsarc_snapshot *sn = NULL;
	size_t k, j, n = 0;

	assert_int_equal(tsarc_snapshot_load(r, ids[0], &sn), 0);
	for (k = 0; k < sn->streams[0].nchunks && n < 6; k++) {
		const tsarc_index_rec *rec;
		const uint8_t *name;
		assert_int_equal(tsarc_index_find_records(idx, sn->streams[0].chunks[k].id, &rec), 1);
		name = tsarc_index_pack_name(idx, rec->pack);
		for (j = 0; j < n && memcmp(packs[j], name, 32); j++)
			;
		if (j < n)
			continue;
		memcpy(packs[n], name, 32);
		memcpy(chunk[n++], sn->streams[0].chunks[k].id, 32);
	}
	tsarc_snapshot_free(sn);
	return n;
}

/* The index again, without the record of `drop` and with the record of
 * `lie` one byte off. */
/* The record to leave out and the one to put a byte off. */
typedef struct forgery {
	const uint8_t *drop, *lie;
} forgery;

static int forge_one(tsarc_pack_entry *e, const uint8_t **pack, void *payload)
{
	const forgery *f = payload;

	(void)pack;
	if (!memcmp(e->id, f->drop, 32))
		return 0;
	e->offset += memcmp(e->id, f->lie, 32) ? 0 : 1;
	return 1;
}

static void forge_index(tsarc_repo *r, tsarc_index *idx, const uint8_t drop[32],
	const uint8_t lie[32])
{
	forgery f = {drop, lie};

	repo_fixture_rewrite_index(r, idx, forge_one, &f);
}

/* What check must find, counted from the index and snapshots here: of the
 * referenced chunks, those no pack holds (missing), those only the cut
 * pack holds whole (held) or cut (torn). */
typedef struct expected {
	size_t referenced, missing, held, torn, stored, packs;
} expected;

static tsarc_repo *make_damaged(expected *x)
{
	tsarc_repo *r;
	tsarc_index *idx = NULL;
	tsarc_chunkset *gone = NULL, *refs = NULL, *all = NULL, *held = NULL, *torn = NULL;
	uint8_t packs[6][32], chunk[6][32], *base;
	char hex[TSARC_ID_HEX_LEN + 1], cmd[800];
	tsarc_pack_entry *e;
	struct stat sb;
	size_t i, k, ne;
	int fd, added;
	uint8_t byte;

	assert_non_null(scratch_make(dir, sizeof(dir), "check-bounded"));
	assert_int_equal(scratch_tmpdir(dir, tmp_dir, sizeof(tmp_dir)), 0);
	assert_int_equal(setenv("TSARC_NO_CACHE", "1", 1), 0);
	snprintf(root, sizeof(root), "%s/repo", dir);
	base = malloc(BASE);
	repo_fixture_fill(base, BASE, 11);
	r = repo_fixture_windows(root, dir, "check-pw", 128 * 1024, base, NBACKUPS, WINDOW, STEP,
		ids);
	free(base);

	assert_int_equal(tsarc_index_load(r, &idx, NULL, NULL), 0);
	assert_int_equal(packs_of_first(r, idx, packs, chunk), 6);
	assert_int_equal(tsarc_chunkset_new(&gone), 0);
	assert_int_equal(tsarc_chunkset_new(&refs), 0);
	assert_int_equal(tsarc_chunkset_new(&all), 0);
	assert_int_equal(tsarc_chunkset_new(&held), 0);
	assert_int_equal(tsarc_chunkset_new(&torn), 0);
	/* Packs 0 and 1: gone, cut short (its table of contents with it). The
	 * chunks of 0 are in no pack; those of 1 before the cut still read
	 * where the index places them, those past it do not. */
	for (i = 0; i < 2; i++) {
		tsarc_hex_encode(hex, packs[i], 32);
		assert_int_equal(stat(path_of("data", hex), &sb), 0);
		assert_int_equal(tsarc_pack_read_toc(r, hex, (uint64_t)sb.st_size, &e, &ne), 0);
		for (k = 0; k < ne; k++)
			assert_int_equal(tsarc_chunkset_claim(i == 0 ? gone :
				(uint64_t)e[k].offset + e[k].length <= (uint64_t)sb.st_size - 100 ? held :
				torn, e[k].id, 0, &added), 0);
		free(e);
		if (i == 0)
			assert_int_equal(unlink(path_of("data", hex)), 0);
		else
			assert_int_equal(truncate(path_of("data", hex), sb.st_size - 100), 0);
	}
	/* The record of pack 2's chunk dropped, pack 3's one byte off. */
	assert_int_equal(tsarc_chunkset_claim(gone, chunk[2], 0, &added), 0);
	assert_int_equal(tsarc_chunkset_claim(gone, chunk[3], 0, &added), 0);
	for (k = 0; k < tsarc_index_count(idx); k++)
		assert_int_equal(tsarc_chunkset_claim(all, tsarc_index_records(idx)[k].id, 0,
			&added), 0);
	forge_index(r, idx, chunk[2], chunk[3]);
	/* A byte of pack 4's chunk flipped. */
	{
		const tsarc_index_rec *rec;
		assert_int_equal(tsarc_index_find_records(idx, chunk[4], &rec), 1);
		tsarc_hex_encode(hex, packs[4], 32);
		assert_true((fd = open(path_of("data", hex), O_RDWR)) >= 0);
		assert_int_equal(pread(fd, &byte, 1, rec->offset + 20), 1);
		byte ^= 0x40;
		assert_int_equal(pwrite(fd, &byte, 1, rec->offset + 20), 1);
		close(fd);
	}
	tsarc_index_free(idx);
	/* An object in index/ whose name is no index name. */
	snprintf(cmd, sizeof(cmd), "%s/index/zzz", root);
	assert_true((fd = open(cmd, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(write(fd, "junk", 4), 4);
	close(fd);
	/* The last snapshot does not open. */
	snprintf(cmd, sizeof(cmd), "%s", path_of("snapshots", ids[NBACKUPS - 1]));
	assert_int_equal(truncate(cmd, 40), 0);

	for (i = 0; i < NBACKUPS - 1; i++) {
		tsarc_snapshot *sn = NULL;
		assert_int_equal(tsarc_snapshot_load(r, ids[i], &sn), 0);
		for (k = 0; k < sn->streams[0].nchunks; k++)
			assert_int_equal(tsarc_chunkset_claim(refs, sn->streams[0].chunks[k].id, 0,
				&added), 0);
		tsarc_snapshot_free(sn);
	}
	x->referenced = tsarc_chunkset_count(refs);
	x->missing = x->held = x->torn = 0;
	{
		/* Referenced and gone; stored and not gone. */
		tsarc_snapshot *sn = NULL;
		tsarc_chunkset *seen = NULL;
		assert_int_equal(tsarc_chunkset_new(&seen), 0);
		for (i = 0; i < NBACKUPS - 1; i++) {
			assert_int_equal(tsarc_snapshot_load(r, ids[i], &sn), 0);
			for (k = 0; k < sn->streams[0].nchunks; k++) {
				const uint8_t *id = sn->streams[0].chunks[k].id;
				assert_int_equal(tsarc_chunkset_claim(seen, id, 0, &added), 0);
				if (!added)
					continue;
				x->missing += (size_t)tsarc_chunkset_lookup(gone, id, NULL);
				x->held += (size_t)tsarc_chunkset_lookup(held, id, NULL);
				x->torn += (size_t)tsarc_chunkset_lookup(torn, id, NULL);
			}
			tsarc_snapshot_free(sn);
		}
		tsarc_chunkset_free(seen);
	}
	x->stored = tsarc_chunkset_count(all) - tsarc_chunkset_count(gone) -
		tsarc_chunkset_count(torn);
	/* The cut pack's chunks are the first snapshot's: referenced. */
	assert_true(x->held > 0);
	{
		tsarc_chunkset *listed = NULL;
		assert_int_equal(tsarc_index_list_packs(r, 0, &listed), 0);
		x->packs = tsarc_chunkset_count(listed);
		tsarc_chunkset_free(listed);
	}
	tsarc_chunkset_free(gone);
	tsarc_chunkset_free(held);
	tsarc_chunkset_free(torn);
	tsarc_chunkset_free(refs);
	tsarc_chunkset_free(all);
	tsarc_repo_drop_index(r);
	return r;
}

static void sizes(size_t run, size_t batch)
{
	tsarc_index_table_run_recs = run ? run : TSARC_INDEX_TABLE_RUN_RECS;
	tsarc_index_refs_run_recs = run;
	tsarc_check_run_recs = run;
	tsarc_check_read_batch = batch;
}

static void check_with(tsarc_repo *r, int read_data, size_t run, size_t batch,
	tsarc_check_result *res, problems *ps)
{
	tsarc_check_options o;

	memset(&o, 0, sizeof(o));
	o.read_data = read_data;
	sizes(run, batch);
	assert_int_equal(tsarc_check(r, &o, note, ps, res), 0);
	sizes(0, 0);
	qsort(ps->line, ps->n, sizeof(*ps->line), cmp_line);
}

/* Nothing check wrote for itself is left in $TMPDIR. */
static void tmp_empty(void)
{
	assert_int_equal(scratch_files_left(tmp_dir), 0);
}

static void same(const tsarc_check_result *a, const problems *pa, const tsarc_check_result *b,
	const problems *pb)
{
	size_t i;

	assert_memory_equal(a, b, sizeof(*a));
	assert_int_equal(pa->n, pb->n);
	for (i = 0; i < pa->n; i++)
		assert_string_equal(pa->line[i], pb->line[i]);
}

static size_t count_kind(const problems *ps, const char *prefix)
{
	size_t i, n = 0;

	for (i = 0; i < ps->n; i++)
		n += strncmp(ps->line[i], prefix, strlen(prefix)) == 0;
	return n;
}

static void test_check_damage_same_with_short_runs(void **state)
{
	tsarc_check_result a, b, da, db;
	problems pa = {0}, pb = {0}, qa = {0}, qb = {0};
	expected x;
	tsarc_repo *r;

	(void)state;
	r = make_damaged(&x);
	check_with(r, 0, 0, 0, &a, &pa);
	check_with(r, 0, SHORT_RUN, 0, &b, &pb);
	same(&a, &pa, &b, &pb);
	check_with(r, 1, 0, 0, &da, &qa);
	check_with(r, 1, SHORT_RUN, 3, &db, &qb);
	same(&da, &qa, &db, &qb);
	tmp_empty();

	/* Many more records than a short run holds. */
	assert_true(a.chunks_stored > 10 * SHORT_RUN);
	assert_int_equal(a.snapshots, NBACKUPS);
	assert_int_equal(a.snapshots_damaged, 1);
	assert_int_equal(a.packs, x.packs);
	assert_int_equal(a.packs_damaged, 2);
	assert_int_equal(a.packs_unindexed, 0);
	/* The forged object, and the one named zzz, damaged. */
	assert_int_equal(a.index_objects, 2);
	assert_int_equal(a.index_damaged, 1);
	assert_int_equal(a.index_wrong, 1);
	assert_int_equal(a.chunks_referenced, x.referenced);
	assert_int_equal(a.chunks_missing, x.missing);
	assert_int_equal(a.chunks_stored, x.stored);
	assert_int_equal(a.chunks_wrong_size, 0);
	assert_int_equal(a.chunks_in_damaged_packs, x.held);
	assert_int_equal(a.chunks_damaged, x.torn);
	assert_int_equal(a.chunks_unreferenced, x.stored - (x.referenced - x.missing - x.torn));
	/* --read-data: the same, and the flipped chunk, read once. */
	assert_int_equal(da.chunks_damaged, x.torn + 1);
	assert_int_equal(da.chunks_read, x.referenced - x.missing - x.torn);
	assert_true(da.bytes_read > 0);
	assert_int_equal(da.chunks_missing, a.chunks_missing);
	assert_int_equal(count_kind(&pa, "pack|"), 2);
	assert_int_equal(count_kind(&pa, "snapshot|"), 1);
	assert_int_equal(count_kind(&pa, "index|"), 2);
	assert_int_equal(count_kind(&pa, "index|||zzz|"), 1);
	assert_int_equal(count_kind(&pa, "chunk|"), x.missing + x.torn);
	assert_true(count_kind(&pa, "stream|") >= 1);
	assert_int_equal(count_kind(&qa, "chunk|"), x.missing + x.torn + 1);
	/* The damaged chunk breaks the streams that have it: at least the
	 * first snapshot's. */
	assert_true(count_kind(&qa, "stream|") > count_kind(&pa, "stream|"));

	problems_free(&pa);
	problems_free(&pb);
	problems_free(&qa);
	problems_free(&qb);
	tsarc_repo_free(r);
	assert_int_equal(scratch_remove(dir), 0);
}

TSARC_TESTS_MAIN(NULL, NULL, cmocka_unit_test(test_check_damage_same_with_short_runs))
