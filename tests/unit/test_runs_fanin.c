/*
 * The sorted runs (src/index_table_file.c: itab_runs) with far more runs
 * than the process may open files. Each run is an unnamed file held open;
 * once ITAB_RUNS_FAN_IN runs are on hand they are merged into one, so the
 * files held stay a few more than the fan-in whatever the number of runs.
 * With the soft RLIMIT_NOFILE lowered to a little more than that and runs
 * of a few records (hundreds to thousands of runs):
 * - the runs give every record in order, each record once per time it was
 *   added, or with `unique` each distinct record at least once and at most
 *   once per input left (a repeat dropped only when exactly the same, never
 *   a record that differs in any byte), and fewer than the runs alone keep;
 *   a merge read twice gives the same; no more files are open than the
 *   fan-in allows; nothing is left in $TMPDIR;
 * - the index table built from many records (without the cache, and with
 *   it: a cached table and the new objects' runs merged) holds exactly
 *   what the table built with the default runs holds, and finds each id;
 * - check (with --read-data: two sets of runs at once) and a dry prune
 *   give the same results as with the default runs.
 * Before the fan-in each of these failed on too many open files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "check.h"
#include "check_int.h"
#include "index.h"
#include "index_refs.h"
#include "index_table.h"
#include "index_table_file.h"
#include "prune.h"
#include "repo.h"
#include "repo_fixture.h"
#include "cmocka_main.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"
#include "scratch.h"

/* Open files allowed while a set of runs is used, and while two are
 * (check --read-data): a few more than the fan-in, far fewer than the
 * runs the tests make. */
#define FDS_ONE (ITAB_RUNS_FAN_IN + 24)
#define FDS_TWO (2 * ITAB_RUNS_FAN_IN + 32)

static char dir[256], tmp_dir[300], cache_root[300];
static struct rlimit saved;
static int lowered;

static int setup(void **state)
{
	(void)state;
	assert_non_null(scratch_make(dir, sizeof(dir), "runs-fanin"));
	snprintf(cache_root, sizeof(cache_root), "%s/cache", dir);
	assert_int_equal(scratch_tmpdir(dir, tmp_dir, sizeof(tmp_dir)), 0);
	assert_int_equal(setenv("XDG_CACHE_HOME", cache_root, 1), 0);
	return 0;
}

static void restore_fds(void)
{
	if (lowered)
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	lowered = 0;
}

static int teardown(void **state)
{
	(void)state;
	restore_fds();
	tsarc_index_table_run_recs = TSARC_INDEX_TABLE_RUN_RECS;
	tsarc_index_refs_run_recs = 0;
	tsarc_check_run_recs = 0;
	return scratch_remove(dir);
}

/* The soft limit of open files lowered to `n` (restored by restore_fds). */
static void lower_fds(rlim_t n)
{
	struct rlimit l;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
	l = saved;
	if (l.rlim_cur == RLIM_INFINITY || l.rlim_cur > n)
		l.rlim_cur = n;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &l), 0);
	lowered = 1;
}

static size_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the listing's own */
}

static tsarc_repo *new_repo(const char *name)
{
	tsarc_repo_init_options o;
	tsarc_store *st = NULL;
	tsarc_repo *r = NULL;
	char path[400];

	repo_fixture_options(&o);
	o.format = 2;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(tsarc_store_fs_open(&st, path, NULL), 0);
	assert_int_equal(tsarc_repo_init(&r, st, "fanin-pw", &o), 0);
	return r;
}

/* --- the runs themselves --- */

#define NRECS 5000
#define TINY_RUN 2

static int cmp_whole(const void *a, const void *b)
{
	return memcmp(a, b, REC_LEN);
}

/* Records with many exact repeats, and records that differ from another
 * only past the sort key (pack byte, tail byte): those are no repeats. */
static uint8_t *make_recs(void)
{
	uint8_t *recs = calloc(NRECS, REC_LEN);
	uint64_t x = 12345;
	size_t i;

	assert_non_null(recs);
	for (i = 0; i < NRECS; i++) {
		uint8_t *r = recs + i * REC_LEN;
		x = x * 6364136223846793005u + 1442695040888963407u;
		itab_key_put(r, (x >> 33) % 997, 4);
		r[31] = 0x5a;
		r[TSARC_ID_LEN] = (uint8_t)((x >> 20) % 2);
		r[REC_LEN - 1] = (uint8_t)((x >> 12) % 3);
	}
	return recs;
}

/* Sorts n records whole and drops repeats: the count left. */
static size_t distinct(uint8_t *recs, size_t n)
{
	size_t i, k = 0;

	qsort(recs, n, REC_LEN, cmp_whole);
	for (i = 0; i < n; i++)
		if (!k || memcmp(recs + (k - 1) * REC_LEN, recs + i * REC_LEN, REC_LEN))
			memmove(recs + k++ * REC_LEN, recs + i * REC_LEN, REC_LEN);
	return k;
}

/* What the runs alone keep with `unique`: each run's distinct records. */
static size_t kept_by_runs(const uint8_t *recs)
{
	uint8_t run[TINY_RUN * REC_LEN];
	size_t i, n, total = 0;

	for (i = 0; i < NRECS; i += TINY_RUN) {
		n = NRECS - i < TINY_RUN ? NRECS - i : TINY_RUN;
		memcpy(run, recs + i * REC_LEN, n * REC_LEN);
		total += distinct(run, n);
	}
	return total;
}

/* The merge of the runs' inputs into out (NRECS records at most). */
static size_t merged(tsarc_repo *r, itab_runs *runs, uint8_t *out)
{
	itab_merger m;
	const uint8_t *rec;
	size_t n = 0;
	int rc;

	assert_int_equal(itab_merger_begin(&m, r, runs->in, runs->nin), 0);
	while ((rc = itab_merger_next(&m, &rec)) > 0) {
		assert_true(n < NRECS);
		if (n)
			assert_true(itab_rec_cmp(out + (n - 1) * REC_LEN, rec) <= 0);
		memcpy(out + n++ * REC_LEN, rec, REC_LEN);
	}
	assert_int_equal(rc, 0);
	itab_merger_end(&m);
	return n;
}

static void runs_of(tsarc_repo *r, const uint8_t *recs, int unique)
{
	uint8_t *out = malloc(NRECS * REC_LEN), *again = malloc(NRECS * REC_LEN);
	uint8_t *want = malloc(NRECS * REC_LEN);
	size_t i, n, nwant, base, most = 0;
	itab_runs runs;

	assert_true(out && again && want);
	memset(&runs, 0, sizeof(runs));
	lower_fds(FDS_ONE);
	base = open_fds();
	assert_int_equal(itab_runs_open(&runs, r, TINY_RUN), 0);
	runs.unique = unique;
	for (i = 0; i < NRECS; i++) {
		assert_int_equal(itab_runs_add(&runs, recs + i * REC_LEN), 0);
		if ((n = open_fds()) > most)
			most = n;
		assert_true(runs.nin <= ITAB_RUNS_FAN_IN);
	}
	assert_int_equal(itab_runs_flush(&runs), 0);
	/* The folder, and a file for each input. */
	assert_true(most <= base + 1 + ITAB_RUNS_FAN_IN);
	assert_true(runs.nin >= 2 && runs.nin <= ITAB_RUNS_FAN_IN);
	n = merged(r, &runs, out);
	assert_int_equal(merged(r, &runs, again), n);
	assert_memory_equal(out, again, n * REC_LEN);
	itab_runs_close(&runs);
	restore_fds();
	assert_int_equal(scratch_files_left(tmp_dir), 0);

	memcpy(want, recs, NRECS * REC_LEN);
	if (!unique) {
		/* Every record as many times as it was added. */
		assert_int_equal(n, NRECS);
		qsort(want, NRECS, REC_LEN, cmp_whole);
		qsort(out, n, REC_LEN, cmp_whole);
		assert_memory_equal(out, want, n * REC_LEN);
	} else {
		size_t kept = kept_by_runs(recs), nout;
		nwant = distinct(want, NRECS);
		/* Repeats across merged runs dropped too, yet no record lost. */
		assert_true(n < kept);
		memcpy(again, out, n * REC_LEN);
		nout = distinct(again, n);
		assert_int_equal(nout, nwant);
		assert_memory_equal(again, want, nwant * REC_LEN);
		assert_true(n <= nwant * ITAB_RUNS_FAN_IN);
	}
	free(out);
	free(again);
	free(want);
}

static void test_runs_order_and_repeats(void **state)
{
	tsarc_repo *r = new_repo("runs");
	uint8_t *recs = make_recs();

	(void)state;
	/* Runs enough for merges of merges (index_table_file.h: 2 080 runs
	 * are merged once). */
	assert_true(NRECS / TINY_RUN > ITAB_RUNS_FAN_IN * (ITAB_RUNS_FAN_IN + 1) / 2);
	runs_of(r, recs, 0);
	runs_of(r, recs, 1);
	free(recs);
	tsarc_repo_free(r);
}

/* --- the index table --- */

#define PER_PACK 100
#define NPACKS 300
#define FIRST_PACKS 200
#define TABLE_RUN 40

/* The table's records as its scan gives them, each with its ordinal. */
static int scan_fn(const tsarc_index_table_rec *g, size_t n, uint64_t ordinal, void *payload)
{
	size_t k;

	for (k = 0; k < n; k++) {
		uint64_t o = ordinal + k;
		assert_int_equal(tsarc_buf_append(payload, &g[k], sizeof(*g)), 0);
		assert_int_equal(tsarc_buf_append(payload, &o, sizeof(o)), 0);
	}
	return 0;
}

static void scan_table(tsarc_repo *r, tsarc_buf *s)
{
	tsarc_index_table *t = NULL;

	tsarc_buf_init(s, 0);
	assert_int_equal(tsarc_index_table_open(r, &t), 0);
	assert_int_equal(tsarc_index_table_scan(t, scan_fn, s), 0);
	tsarc_index_table_free(t);
}

/* Every 7th entry finds its record, and only it. */
static void finds(tsarc_repo *r, const tsarc_index_pack *packs)
{
	tsarc_index_table *t = NULL;
	tsarc_index_hit hit[2];
	size_t p, k, n;

	assert_int_equal(tsarc_index_table_open(r, &t), 0);
	assert_int_equal(tsarc_index_table_count(t), (uint64_t)NPACKS * PER_PACK);
	for (p = 0; p < NPACKS; p++)
		for (k = p % 7; k < PER_PACK; k += 7) {
			const tsarc_pack_entry *e = &packs[p].entries[k];
			assert_int_equal(tsarc_index_table_find(t, e->id, hit, 2, &n), 0);
			assert_int_equal(n, 1);
			assert_memory_equal(hit[0].pack, packs[p].name, TSARC_ID_LEN);
			assert_int_equal(hit[0].offset, e->offset);
			assert_int_equal(hit[0].length, e->length);
		}
	tsarc_index_table_free(t);
}

static void test_table_with_few_fds(void **state)
{
	tsarc_repo *r = new_repo("table");
	tsarc_index_pack *packs = calloc(NPACKS, sizeof(*packs));
	tsarc_pack_entry *entries = calloc(NPACKS * PER_PACK, sizeof(*entries));
	tsarc_index_table *t = NULL;
	tsarc_buf want, got;

	(void)state;
	assert_true(packs && entries);
	repo_fixture_index_packs(packs, entries, NPACKS, PER_PACK);
	/* The cache's table holds the first objects; the rest come after. */
	assert_int_equal(tsarc_index_write(r, packs, FIRST_PACKS, NULL, NULL), 0);
	assert_int_equal(tsarc_index_table_open(r, &t), 0);
	tsarc_index_table_free(t);
	assert_int_equal(tsarc_index_write(r, packs + FIRST_PACKS, NPACKS - FIRST_PACKS, NULL,
				 NULL), 0);
	r->no_cache = 1;
	scan_table(r, &want);
	assert_int_equal(want.size, (size_t)NPACKS * PER_PACK * (sizeof(tsarc_index_table_rec) + 8));

	/* Hundreds of runs: all of them without the cache, the new objects'
	 * merged with the cached table with it. */
	assert_true(NPACKS * PER_PACK / TABLE_RUN > 4 * FDS_ONE);
	assert_true((NPACKS - FIRST_PACKS) * PER_PACK / TABLE_RUN > 2 * FDS_ONE);
	lower_fds(FDS_ONE);
	tsarc_index_table_run_recs = TABLE_RUN;
	scan_table(r, &got);
	assert_int_equal(got.size, want.size);
	assert_memory_equal(got.ptr, want.ptr, want.size);
	tsarc_buf_dispose(&got);
	finds(r, packs);
	r->no_cache = 0;
	scan_table(r, &got);
	assert_int_equal(got.size, want.size);
	assert_memory_equal(got.ptr, want.ptr, want.size);
	tsarc_buf_dispose(&got);
	finds(r, packs);
	tsarc_index_table_run_recs = TSARC_INDEX_TABLE_RUN_RECS;
	restore_fds();
	assert_int_equal(scratch_files_left(tmp_dir), 0);
	tsarc_buf_dispose(&want);
	free(packs);
	free(entries);
	tsarc_repo_free(r);
}

/* --- check and prune --- */

#define NBACKUPS 12
#define WINDOW (1024u * 1024)
#define STEP (512u * 1024)
#define BASE (WINDOW + (NBACKUPS - 1) * STEP)

static void count_problem(const tsarc_check_problem *p, void *payload)
{
	(void)p;
	(*(size_t *)payload)++;
}

static void sizes(size_t run)
{
	tsarc_index_table_run_recs = run ? run : TSARC_INDEX_TABLE_RUN_RECS;
	tsarc_index_refs_run_recs = run;
	tsarc_check_run_recs = run;
}

static void test_check_and_prune_with_few_fds(void **state)
{
	char ids[NBACKUPS][TSARC_ID_HEX_LEN + 1], root[400];
	uint8_t *base = malloc(BASE);
	tsarc_check_result a, b;
	tsarc_check_options o;
	tsarc_prune_result pa, pb;
	size_t na = 0, nb = 0;
	tsarc_repo *r;

	(void)state;
	assert_non_null(base);
	assert_int_equal(setenv("TSARC_NO_CACHE", "1", 1), 0);
	repo_fixture_fill(base, BASE, 11);
	snprintf(root, sizeof(root), "%s/windows", dir);
	r = repo_fixture_windows(root, dir, "fanin-pw", 256 * 1024, base, NBACKUPS, WINDOW, STEP,
		ids);
	memset(&o, 0, sizeof(o));
	o.read_data = 1;
	assert_int_equal(tsarc_check(r, &o, count_problem, &na, &a), 0);
	assert_int_equal(repo_fixture_prune(r, 1, &pa), 0);

	/* A run a record: a run for each reference and each index record. */
	assert_true(a.chunks_stored > FDS_TWO);
	lower_fds(FDS_TWO);
	sizes(1);
	assert_int_equal(tsarc_check(r, &o, count_problem, &nb, &b), 0);
	assert_int_equal(repo_fixture_prune(r, 1, &pb), 0);
	sizes(0);
	restore_fds();

	assert_int_equal(na, 0);
	assert_int_equal(nb, 0);
	assert_int_equal(a.snapshots, NBACKUPS);
	assert_int_equal(a.chunks_read, a.chunks_referenced);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_true(pa.chunks_stored > FDS_TWO);
	assert_memory_equal(&pa, &pb, sizeof(pa));
	assert_int_equal(scratch_files_left(tmp_dir), 0);
	unsetenv("TSARC_NO_CACHE");
	tsarc_repo_free(r);
	free(base);
}

TSARC_TESTS_MAIN(setup, teardown,
	cmocka_unit_test(test_runs_order_and_repeats),
	cmocka_unit_test(test_table_with_few_fds),
	cmocka_unit_test(test_check_and_prune_with_few_fds))
