#ifndef TSARC_INDEX_H
#define TSARC_INDEX_H

/*
 * The index of a format-2 repository: where each chunk is, by id (pack,
 * offset, length, plaintext length). Index objects (index/<sha256 of the
 * stored bytes>) are sealed; a backup writes one for the packs it wrote
 * after those packs are stored and before its manifest, so a manifest never
 * names a chunk no index finds. The packs' own tables of contents hold the
 * same facts, so the index can always be rebuilt from them.
 *
 * Two forms in memory. tsarc_index_load: one 48-byte record per (chunk,
 * pack) sorted by id, and the pack names once each: about 46 MiB per
 * million chunks, for check, which still loads every record.
 * tsarc_index_open_table, for backup, restore, prune and extend-retention
 * (index_refs.h): the records in a sealed sorted table on disk (index_table.h),
 * 0.15 MiB per million chunks in memory (the first id of each 215
 * records), 1.5 MiB for 10 million. prune reads that table in order, a
 * block at a time (prune_pack.h): about 0.3 MiB per million chunks (the
 * table's fence and a bit per record) plus 130 bytes a pack and buffers
 * of a few MiB; measured (bench/RESULTS.md): 44.6 MiB peak at 1 million
 * chunks (the repository open's own), 51 MiB at 10 million (1.7 GiB
 * before).
 */
#include "chunkset.h"
#include "pack.h"

/* One pack's entries, as written into an index object. */
typedef struct tsarc_index_pack {
	uint8_t name[TSARC_ID_LEN];
	tsarc_pack_entry *entries;
	size_t n;
} tsarc_index_pack;

typedef struct tsarc_index_rec {
	uint8_t id[TSARC_ID_LEN];
	uint32_t pack; /* number of the pack: tsarc_index_pack_name */
	uint32_t offset, length, plain;
} tsarc_index_rec;

typedef struct tsarc_index tsarc_index;

/* Entries per index object written: about 3 MiB each (an object holds
 * whole packs, at least one). tsarc_index_entries_per_object is that,
 * set lower only by the tests, so that a small repository's index takes
 * several objects. */
#define TSARC_INDEX_ENTRIES_PER_OBJECT 65536
extern size_t tsarc_index_entries_per_object;
/* Largest index object accepted from the store. */
#define TSARC_INDEX_OBJECT_MAX (64u * 1024u * 1024u)

/*
 * Parses the plaintext of an index object, calling fn for each entry
 * (a non-zero return stops and is returned). Anything malformed is
 * TSARC_ECORRUPT.
 */
typedef int (*tsarc_index_entry_fn)(const uint8_t pack[TSARC_ID_LEN],
	const tsarc_pack_entry *e, void *payload);
int tsarc_index_parse(const uint8_t *plain, size_t len, tsarc_index_entry_fn fn,
	void *payload);

/* The plaintext of an index object for these packs, appended to `out`. */
int tsarc_index_serialize(const tsarc_index_pack *packs, size_t n, tsarc_buf *out);
/* Writes index objects (as many as needed) for these packs; their names
 * are appended to `written` when not NULL (the caller frees them with
 * tsarc_store_names_free). */
int tsarc_index_write(const tsarc_repo *repo, const tsarc_index_pack *packs, size_t n,
	char ***written, size_t *nwritten);

/*
 * Index objects written as packs come (prune's merged index, repair), in
 * bounded memory: the packs of the object being filled are kept until the
 * next would not fit, then written, so the objects are cut exactly as
 * tsarc_index_write cuts the whole list (whole packs, at least one, at
 * most tsarc_index_entries_per_object entries unless one pack alone has
 * more). The names written are appended to *written / *nwritten.
 */
typedef struct tsarc_index_writer {
	const tsarc_repo *repo;
	tsarc_index_pack *ip; /* the object being filled */
	size_t nip, cap, entries;
	char ***written;
	size_t *nwritten;
} tsarc_index_writer;

void tsarc_index_writer_init(tsarc_index_writer *w, const tsarc_repo *repo, char ***written,
	size_t *nwritten);
/* Adds pack `name`'s n entries, taking `entries` over (malloc'd; freed by
 * the writer, also when this fails). */
int tsarc_index_writer_add(tsarc_index_writer *w, const uint8_t name[TSARC_ID_LEN],
	tsarc_pack_entry *entries, size_t n);
/* Writes the object being filled, if any. */
int tsarc_index_writer_flush(tsarc_index_writer *w);
/* Frees what was not written (the names written stay the caller's). */
void tsarc_index_writer_dispose(tsarc_index_writer *w);

/* What tsarc_index_remove_old did. */
typedef struct tsarc_index_removal {
	size_t removed;      /* out of the index: deleted for good or only hidden */
	size_t kept;         /* of them, only hidden: a version the bucket retains */
	int64_t kept_until;  /* the latest retain-until date among those */
	uint64_t kept_bytes; /* their bytes, still stored */
} tsarc_index_removal;

/*
 * Removes the index objects `old` but those also in `written` (the same
 * content, named the same, written again), through the store's purge: in
 * a bucket that retains versions (Object Lock, the repository's or a
 * default rule of the bucket's) one still retained is only hidden, and
 * counted as kept with its size (listed before the purge: a hidden object
 * is out of every listing) and date. prune and repair index both report
 * it so. The caller stores and syncs what replaces them first.
 */
int tsarc_index_remove_old(const tsarc_repo *repo, const char *const *old, size_t nold,
	const char *const *written, size_t nwritten, tsarc_index_removal *out);

/* Called for an index object that cannot be used (damaged, foreign). */
typedef void (*tsarc_index_damage_fn)(const char *name, int code, const char *msg,
	void *payload);
/*
 * Loads every index object. A damaged one is reported through on_damage
 * and left out; with on_damage NULL it is an error (prune must know every
 * pack in use). Any other failure to read one is an error.
 */
int tsarc_index_load(const tsarc_repo *repo, tsarc_index **out,
	tsarc_index_damage_fn on_damage, void *payload);
void tsarc_index_free(tsarc_index *idx);

struct tsarc_index_cache;
/* Lists index/ (the names are freed with tsarc_store_names_free) and drops
 * the cache entries (cache may be NULL) of objects no longer listed. */
int tsarc_index_list_objects(const tsarc_repo *repo, struct tsarc_index_cache *cache,
	char ***names, size_t *n);
/* Makes sure the store's copy of index object `name` is whole, reading it
 * unless the cache vouches for it (and then caching it): TSARC_ECORRUPT
 * when it is damaged, TSARC_ENOTFOUND when gone. */
int tsarc_index_verify_object(const tsarc_repo *repo, struct tsarc_index_cache *cache,
	const char *name);
/* Reads index object `name` (from the cache when it holds it), checks it
 * against its name, opens and parses it whole, then calls fn for each
 * entry (a damaged object: TSARC_ECORRUPT before any call). */
int tsarc_index_open_object(const tsarc_repo *repo, struct tsarc_index_cache *cache,
	const char *name, tsarc_index_entry_fn fn, void *payload);
/* An on_damage that logs a warning: readers use what is left. */
void tsarc_index_warn_damage(const char *name, int code, const char *msg, void *payload);
/* The index for backup and restore: the sorted table of index_table.h
 * behind the same lookups (tsarc_index_records, tsarc_index_npacks and
 * tsarc_index_pack_name are for tsarc_index_load's only). */
int tsarc_index_open_table(const tsarc_repo *repo, tsarc_index **out);
/* More copies of one chunk than any lookup reads. */
#define TSARC_INDEX_FIND_MAX 8
/* Where a copy of a chunk is, as a lookup returns it. */
typedef struct tsarc_index_hit {
	uint8_t pack[TSARC_ID_LEN];
	uint32_t offset, length, plain;
} tsarc_index_hit;
/* 1 when `h` can be where a chunk of plain_len bytes is: the same plain
 * length, a sealed length the chunk can have. Else the index lies (or
 * names another chunk), and the chunk is read by the path that says so. */
int tsarc_index_hit_plausible(const tsarc_index_hit *h, size_t plain_len);
/* The copies of `id` (several when it is in several packs): *n of them,
 * the first min(*n, max) copied to `out`. Fails only when the table of
 * tsarc_index_open_table cannot be read. */
int tsarc_index_find(const tsarc_index *idx, const uint8_t id[TSARC_ID_LEN],
	tsarc_index_hit *out, size_t max, size_t *n);
/* The first copy of each of ids[0..n) (found[k] 0: none), as
 * tsarc_index_find gives it first. Ids in ascending order make it cheap on
 * the table of tsarc_index_open_table: one read of each block it needs. */
int tsarc_index_find_sorted(const tsarc_index *idx, const uint8_t *const *ids, size_t n,
	tsarc_index_hit *out, uint8_t *found);
/* tsarc_index_load's only: the records for `id` in place (every copy, with
 * its pack number): how many, the first in *first. */
size_t tsarc_index_find_records(const tsarc_index *idx, const uint8_t id[TSARC_ID_LEN],
	const tsarc_index_rec **first);
size_t tsarc_index_count(const tsarc_index *idx);
const tsarc_index_rec *tsarc_index_records(const tsarc_index *idx);
size_t tsarc_index_npacks(const tsarc_index *idx);
const uint8_t *tsarc_index_pack_name(const tsarc_index *idx, uint32_t pack);
/* The number of pack `name`, or -1 when no record names it. */
long tsarc_index_pack_number(const tsarc_index *idx, const uint8_t name[TSARC_ID_LEN]);
/* The names of the index objects loaded (for prune and repair to replace). */
char **tsarc_index_object_names(const tsarc_index *idx, size_t *count);

/*
 * The pack names and sizes of the store: a chunkset keyed by pack name
 * whose size is the pack's (clamped to 32 bits). `expect`: about how many
 * there are (the packs the index names), so the set is sized once; 0 when
 * not known.
 */
int tsarc_index_list_packs(const tsarc_repo *repo, size_t expect, tsarc_chunkset **out);

/*
 * A backup's "is it stored" answer on a format-2 repository, from the
 * index table on disk: *found 1 and the chunk's sealed length in *stored
 * when the index places `id` in a pack the store lists, long enough to
 * hold it, as a dump would read it (tsarc_index_hit_plausible: its plain
 * length `plain_len`, a sealed length such a chunk can have). Otherwise
 * *found 0 and the chunk is stored again: its pack gone or truncated (as
 * check reports), or its record's sizes impossible (a warning names it).
 * The answer goes straight into the chunk's reference: the backup's set
 * of chunks holds only the chunks it stores itself, not every chunk it
 * meets (some 80 bytes each, most of a nightly backup's).
 */
typedef struct tsarc_index_known tsarc_index_known;
int tsarc_index_known_open(const tsarc_repo *repo, tsarc_index_known **out);
int tsarc_index_known_find(tsarc_index_known *k, const uint8_t id[TSARC_ID_LEN],
	size_t plain_len, uint32_t *stored, int *found);
void tsarc_index_known_free(tsarc_index_known *k);

#endif
