#ifndef TSARC_CHECK_READ_H
#define TSARC_CHECK_READ_H

/*
 * check --read-data: each chunk asked for is read, opened (its AEAD tag
 * under its id) and its id recomputed from the plaintext.
 *
 * Format 1 reads one object per chunk. Format 2 keeps chunks small (64 KiB
 * on average), and one request per chunk made a check of a repository on
 * S3 slow: the chunks are read instead in the order they lie in their
 * packs, runs of neighbours (one pack, at most TSARC_PACK_RUN_GAP bytes of
 * other blobs between two, at most TSARC_PACK_RUN_MAX plaintext bytes) with
 * one range read each, as a dump reads them. A run that fails in any way
 * is read again chunk by chunk, which says which chunk and pack are wrong;
 * so is a chunk the index has no plausible place for (tsarc_repo_read_chunk,
 * every copy the index lists tried).
 */
#include "repo.h"
#include "snapshot.h"

/* A chunk found damaged: its number in the caller's array and why. Calls
 * are never concurrent. */
typedef void (*tsarc_check_damaged_fn)(size_t i, const char *msg, void *payload);

/*
 * Reads chunks[0..n) on `parallel` threads (0: the store's preference),
 * counting into *chunks_read and *bytes_read (sealed bytes fetched).
 * Damage (TSARC_ECORRUPT) is reported through `damaged` and is not an
 * error; anything else that stops a read (the store unreachable) is.
 */
int tsarc_check_read_chunks(tsarc_repo *repo, const tsarc_chunk_ref **chunks, size_t n,
	unsigned parallel, tsarc_check_damaged_fn damaged, void *payload, size_t *chunks_read,
	uint64_t *bytes_read);

/* Where the index first places a chunk (placed 0: it has no plausible
 * place, and the chunk is read alone). */
typedef struct tsarc_check_place {
	uint8_t pack[TSARC_ID_LEN];
	uint32_t offset, length;
	int placed;
} tsarc_check_place;

/*
 * The same for chunks already placed (check of format 2 in bounded
 * memory, which learns where each chunk is from its sweep of the index
 * table): where[i] for chunks[i], in the order they are read (the placed
 * first, by pack and offset). Whole packs at a time read as they would
 * all at once. Each placed entry is one copy, read again alone where its
 * run fails (tsarc_pack_read_copy) and never swapped for another copy, so
 * that a chunk stored twice can be given twice, each copy judged: a
 * restore reads the first copy that opens, and a damaged second copy
 * would otherwise show nowhere.
 */
int tsarc_check_read_placed(tsarc_repo *repo, const tsarc_chunk_ref **chunks,
	const tsarc_check_place *where, size_t n, unsigned parallel,
	tsarc_check_damaged_fn damaged, void *payload, size_t *chunks_read, uint64_t *bytes_read);

#endif
