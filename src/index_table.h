#ifndef TSARC_INDEX_TABLE_H
#define TSARC_INDEX_TABLE_H

/*
 * The index of a format-2 repository for backup and restore, in bounded
 * memory whatever the repository's size: one table of every index record
 * (chunk id, pack name, offset, length, plain length: 76 bytes) sorted by
 * id, on disk, in blocks of 215 records each sealed with the repository's
 * key (nothing the repository keeps sealed is ever in the clear on disk).
 * In memory stays only the first id of each block (a fence searched by
 * binary search: 32 bytes per 215 records, 0.15 MiB per million chunks),
 * against 46 MiB for the whole records in memory. A lookup decrypts one
 * 16 KiB block (two when an id's copies straddle blocks) and compares full
 * ids: dedup is exact.
 *
 * With the index cache (index_cache.h) the table is kept as
 * tsarc/<repository id>/index.table with the names of the index objects it
 * holds: an open whose listing of index/ still holds them all, each one
 * the cache vouches for or whose store's copy it reads whole now
 * (index_cache.h), only adds the new objects (merging their sorted records
 * with the table); one that lost any (a prune, a repair) or holds one now
 * damaged in the store builds it again from the cached objects, the
 * damaged one left out (reported, or an error for prune) as on a host
 * without the cache. A
 * table that does not authenticate block by block, or is not sorted, is
 * dropped with a warning and built again. Without the cache it is built at
 * each open in an unnamed temporary file in $TMPDIR.
 *
 * The last 64 blocks read by lookups stay decrypted in memory (1 MiB at
 * most): a backup's lookups of a repository of up to 14 000 chunks then
 * read each block once.
 *
 * Building sorts runs of 32768 records (2.4 MiB) into temporary files and
 * merges them with one 16 KiB block per run in memory, 64 runs at most
 * (more are merged 64 at a time first: index_table_file.h), so 1 MiB.
 * prune reads the whole table in order (the scan below) and sorts what it
 * needs by pack with the same runs (index_table_file.h).
 */
#include "index.h"

typedef struct tsarc_index_table tsarc_index_table;

/* Records per sealed block, records sorted in memory per run. */
#define TSARC_INDEX_TABLE_BLOCK_RECS 215
#define TSARC_INDEX_TABLE_RUN_RECS 32768
/* The records sorted in memory per run: TSARC_INDEX_TABLE_RUN_RECS, set
 * lower only by the tests, so that a small repository's runs are many. */
extern size_t tsarc_index_table_run_recs;

/* Opens (building or updating it as needed) the repository's table.
 * Damaged index objects are left out with a warning, as
 * tsarc_index_warn_damage does. */
int tsarc_index_table_open(const tsarc_repo *repo, tsarc_index_table **out);
/* The same with damaged index objects passed to on_damage; with on_damage
 * NULL a damaged object, or a name in index/ that is no index name, is an
 * error (prune must know every pack in use). */
int tsarc_index_table_open_checked(const tsarc_repo *repo, tsarc_index_damage_fn on_damage,
	void *payload, tsarc_index_table **out);
void tsarc_index_table_free(tsarc_index_table *t);
/* The records for `id`: *n of them (they may be more than `max`; the
 * first min(*n, max) are in `out`). TSARC_ECORRUPT when a block of the
 * table does not authenticate (it is then removed from the cache). */
int tsarc_index_table_find(tsarc_index_table *t, const uint8_t id[TSARC_ID_LEN],
	tsarc_index_hit *out, size_t max, size_t *n);
/* The first record of each of ids[0..n): found[k] 1 and out[k] set when
 * the table holds ids[k]. With the ids in ascending order each block is
 * read and authenticated once however many of them fall in it (a lookup
 * of one id reads a block every time). Errors as tsarc_index_table_find. */
int tsarc_index_table_find_sorted(tsarc_index_table *t, const uint8_t *const *ids, size_t n,
	tsarc_index_hit *out, uint8_t *found);
/* The same, with the ordinal (place in the table) of each first record
 * in ordinal[k] (when not NULL): what tsarc_index_table_scan gives. */
int tsarc_index_table_find_sorted_at(tsarc_index_table *t, const uint8_t *const *ids, size_t n,
	tsarc_index_hit *out, uint8_t *found, uint64_t *ordinal);
/* A record of the table, as the scan gives it. */
typedef struct tsarc_index_table_rec {
	uint8_t id[TSARC_ID_LEN];
	tsarc_index_hit at;
} tsarc_index_table_rec;
/* The records of one id (n >= 1: its copies, by pack name) and the ordinal
 * of the first; non-zero stops the scan and is returned. */
typedef int (*tsarc_index_table_group_fn)(const tsarc_index_table_rec *recs, size_t n,
	uint64_t ordinal, void *payload);
/* Reads the whole table in order (a block at a time, each authenticated,
 * the order checked: TSARC_ECORRUPT otherwise, and a cached table that
 * fails is removed), calling fn for each id. */
int tsarc_index_table_scan(tsarc_index_table *t, tsarc_index_table_group_fn fn, void *payload);
/* The names of the packs the table's records name, sorted and unique (a
 * pass over the table; 32 bytes a pack in memory): a pack's number is its
 * place there. For prune and check, which keep figures per pack. */
int tsarc_index_table_pack_names(tsarc_index_table *t, uint8_t (**names)[TSARC_ID_LEN],
	size_t *n);
/* A pack's number from its name by hash, for the passes that look up
 * every record's pack (prune: 30 million lookups at 10 million chunks; a
 * binary search's steps miss the cache in 5 MiB of names): a slot per
 * name and as many free, 8 bytes a pack. find gives the place, or -1 for
 * a name not there. */
typedef struct tsarc_pack_hash {
	const uint8_t (*names)[TSARC_ID_LEN]; /* not owned */
	uint32_t *slot;                       /* place + 1, 0: free */
	size_t mask;
} tsarc_pack_hash;
int tsarc_pack_hash_build(tsarc_pack_hash *h, const uint8_t (*names)[TSARC_ID_LEN], size_t n);
long tsarc_pack_hash_find(const tsarc_pack_hash *h, const uint8_t name[TSARC_ID_LEN]);
void tsarc_pack_hash_dispose(tsarc_pack_hash *h);
/* The names of the index objects the table holds: n of them, sorted, in
 * binary (TSARC_ID_LEN bytes each). */
const uint8_t *tsarc_index_table_objects(const tsarc_index_table *t, size_t *n);
uint64_t tsarc_index_table_count(const tsarc_index_table *t);
/* Blocks read and authenticated by lookups so far (the tests' measure of
 * what the batch lookup and the kept blocks save). */
uint64_t tsarc_index_table_blocks_read(tsarc_index_table *t);
/* The bytes of memory the table holds (fence, object names): for the
 * figures in index.h, bench/ and the tests. */
size_t tsarc_index_table_memory(const tsarc_index_table *t);

#endif
