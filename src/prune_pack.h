#ifndef TSARC_PRUNE_PACK_H
#define TSARC_PRUNE_PACK_H

/*
 * What prune_pack.c (the rules: each pack's fate, the order of writes) and
 * prune_scan.c (the passes over the index table that feed them) share.
 * Only for those two files.
 *
 * Memory stays bounded whatever the repository size: the index is the
 * sealed sorted table of index_table.h on disk (its fence in memory, 0.15
 * MiB per million chunks), read in order a block at a time; what a
 * snapshot needs is one bit per table record (0.125 MiB per million),
 * set in one pass over the table merged with the snapshots' ids in
 * sorted runs (index_refs.h: 4 MiB in memory, then 16 KiB a run); the
 * live/unused choice of each chunk is made again at each pass from its
 * records and the packs' figures instead of being kept per record; the
 * records repack and the merged index need, by pack, go through sorted
 * sealed runs (itab_runs: 2.4 MiB in memory, then a 16 KiB block per run,
 * 64 runs at most).
 * Only the packs stay in memory: their names (and their hash), listing and
 * figures, about 140 bytes a pack, 90 more for each pack to remove (a pack
 * holds 64 to 256 chunks). A snapshot is read whole: 80 bytes a chunk reference
 * for a manifest of records, some 500 for one of JSON lists (written before them).
 */
#include "index_table_file.h"
#include "chunkset.h"
#include "index_refs.h"
#include "prune.h"
#include "tsarc/buf.h"

enum { KEEP, YOUNG, DELETE, REPACK, GONE, LOCKED };
/* Per index record: unused, the copy of a live chunk that stays, or a
 * repeat of the record before it. */
enum { LIVE_NO, LIVE_YES, LIVE_REPEAT };

typedef struct listed_pack {
	uint8_t name[TSARC_ID_LEN];
	uint64_t size;
	int64_t mtime;
} listed_pack;

/* A copy of a needed chunk that prune read and found damaged (it does not
 * open as the chunk, or its pack is too short for it): never the one
 * that stays while other copies go. By the record's pack and offset. */
typedef struct rejected_copy {
	uint8_t id[TSARC_ID_LEN];
	uint32_t pack, offset;
} rejected_copy;

/* What prune knows of an indexed pack. */
typedef struct pack_info {
	const listed_pack *listed; /* NULL: not in the store */
	uint64_t used, unused;     /* sealed bytes of live and other chunks */
	uint64_t needed, total;    /* of chunks snapshots need (any copy), of all */
	int action;
	int small;                 /* repacked only to be combined */
} pack_info;

typedef struct prune_pack {
	tsarc_repo *repo;
	tsarc_lock *lock;
	tsarc_prune_result *res;
	tsarc_index_table *table;
	uint8_t (*names)[TSARC_ID_LEN]; /* the packs the index names, sorted: */
	size_t np, names_cap;           /* a pack's number is its place here */
	tsarc_pack_hash by_name;        /* the names' places by hash */
	pack_info *packs;
	listed_pack *listed;
	size_t nlisted, listed_cap;
	tsarc_index_refs refs;    /* what the snapshots need */
	uint8_t *live;            /* LIVE_* of the id in hand's records, */
	uint32_t *num;            /* and their pack numbers */
	size_t live_cap;
	rejected_copy *rejected;  /* damaged copies, a few at most */
	size_t nrejected, rejected_cap;
	tsarc_buf copy, scratch;  /* a copy read to be judged */
	size_t missing;           /* needed chunks in no stored pack */
	char missing_hex[TSARC_ID_HEX_LEN + 1];
	itab_runs bypack;         /* what repack and the merged index need */
	char **doomed;            /* hex names of the packs to remove */
	size_t ndoomed;
	uint64_t repack_bytes;    /* what the repack's new packs will take */
	uint64_t doomed_bytes;    /* the packs to remove */
	uint64_t written_bytes;   /* the new packs: repack_bytes, then as written */
	uint64_t hidden_bytes;    /* of doomed_bytes, what the store only hid */
} prune_pack;

/* Stays as it is (in the merged index of the packs kept). */
int prune_kept_as_is(int action);
/* An array grown by doubling cut to its n elements of `size` (as it was
 * when realloc fails): what stays for the whole run takes no more. */
void prune_shrink(void **arr, size_t *cap, size_t n, size_t size);
/* The number of pack `name` among those the index names, or -1. */
long prune_pack_number(const prune_pack *pp, const uint8_t name[TSARC_ID_LEN]);

/* prune_scan.c: the passes, in this order. */
/* What the snapshots `ids` need (index_refs.h); an unreadable snapshot
 * is an error, and so is a needed chunk that no index places. */
int prune_mark_referenced(prune_pack *pp, char **ids, size_t n);
/* The pack names of the table (pp->names). */
int prune_collect_packs(prune_pack *pp);
/* Each pack's figures (needed, total, used, unused) and chunks_stored;
 * TSARC_ECORRUPT when a needed chunk is in no stored pack. A needed chunk
 * with several copies has the one that would stay read first (only such
 * chunks: prune reads none otherwise), and a damaged one passed over. */
int prune_mark_live(prune_pack *pp);
/* With each pack's action decided: the chunks removed or young, and the
 * records repack and the merged index need written to pp->bypack; then
 * the bytes of the repack (pp->repack_bytes, res->packs_written). */
int prune_group(prune_pack *pp);
/* Copies the live chunks of the packs to repack into the packer. */
struct tsarc_packer;
int prune_repack(prune_pack *pp, struct tsarc_packer *pk);
/* Writes the merged index of every pack that stays as it is. */
int prune_write_kept_index(prune_pack *pp, char ***written, size_t *nwritten);

#endif
