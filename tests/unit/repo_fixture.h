#ifndef TSARC_TEST_REPO_FIXTURE_H
#define TSARC_TEST_REPO_FIXTURE_H

/* What the tests that make a repository (test_prune, test_objlock,
 * test_pack, test_trust, test_lock, test_log, test_crypto, test_forget_alloc,
 * test_plan, test_index_table, test_runs_fanin, ...) share: the options of
 * a repository that opens fast, pseudo-random bytes from a seed, and those
 * bytes backed up as a snapshot of one stream; ids from numbers and index
 * records without packs. One copy, so that "a snapshot of these bytes"
 * means the same in every test. */
#include <stddef.h>
#include <stdint.h>

#include "repo.h"

/* Options of a repository a test can open fast: zstd, scrypt with N=1024
 * (the real cost takes seconds a key), everything else the default. */
void repo_fixture_options(tsarc_repo_init_options *o);
/* `len` bytes of a 64-bit LCG from `seed`: the same seed, the same bytes. */
void repo_fixture_fill(uint8_t *p, size_t len, uint64_t seed);
/* Backs up `data` as stream "s" (kind `kind`) of a new snapshot, read from
 * a file written in `dir` and removed after; the snapshot's id out. One
 * compress worker, so the packs' layout is the same on every run. The
 * test fails on any error. */
void repo_fixture_backup(tsarc_repo *repo, const char *dir, const uint8_t *data, size_t len,
	const char *kind, char id[TSARC_ID_HEX_LEN + 1]);
/* A format-2 repository at folder `root` of small chunks (4, 16, 64 KiB)
 * in packs of `pack_size`, with `nbackups` snapshots (ids out) of windows
 * of `window` bytes of `base`, `step` apart: overlapping backups, many
 * chunks in many packs, for the tests of prune and check on format 2. */
tsarc_repo *repo_fixture_windows(const char *root, const char *dir, const char *password,
	uint32_t pack_size, const uint8_t *base, size_t nbackups, size_t window, size_t step,
	char (*ids)[TSARC_ID_HEX_LEN + 1]);
/* Extracts stream `st` (`inflight` fetches at once) and returns the
 * extract's code; when it is 0, the test fails unless the bytes were
 * exactly the `len` bytes of `want`. */
struct tsarc_stream;
int repo_fixture_extract_equal(tsarc_repo *repo, const struct tsarc_stream *st,
	const uint8_t *want, size_t len, int inflight);
/* Prunes `repo` under a lock of its own (exclusive, shared for a dry run)
 * with the default share of unused bytes; prune's code. The test fails if
 * the lock cannot be taken or released. */
struct tsarc_prune_result;
int repo_fixture_prune(tsarc_repo *repo, int dry_run, struct tsarc_prune_result *res);

struct tsarc_pack_entry;
/* The id of number k: the SHA-256 of its 8 bytes (little-endian). */
void repo_fixture_id(uint8_t id[TSARC_ID_LEN], uint64_t k);
/* Index records as a backup writes them, without packs behind them:
 * packs[0..npacks) of per_pack entries each (from `entries`), pack p named
 * repo_fixture_id(1000000 + p), its entry k repo_fixture_id(p * per_pack
 * + k) of 1000 bytes plain, sealed to the least it can be, k times the
 * most apart. For the tests of the index table, whose lookups do not read
 * packs. */
struct tsarc_index_pack;
void repo_fixture_index_packs(struct tsarc_index_pack *packs, struct tsarc_pack_entry *entries,
	size_t npacks, size_t per_pack);

/* Writes the index `idx` of `repo` again, every record passed through
 * `edit` first (which may change the entry and the pack it names, or
 * return 0 to leave it out), after removing the index objects `idx` was
 * read from: a forged index. The records of one pack, wherever they come,
 * go into one group (the parser refuses a pack that repeats the one
 * before it). The number of index objects written. */
struct tsarc_index;
typedef int (*repo_fixture_index_edit)(struct tsarc_pack_entry *e, const uint8_t **pack,
	void *payload);
size_t repo_fixture_rewrite_index(tsarc_repo *repo, struct tsarc_index *idx,
	repo_fixture_index_edit edit, void *payload);

#endif
