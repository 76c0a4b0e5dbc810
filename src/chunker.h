#ifndef TSARC_CHUNKER_H
#define TSARC_CHUNKER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Content-defined chunking, FastCDC style: a gear rolling hash over the
 * last 64 bytes, no cut before min_size, a stricter mask before avg_size
 * and a looser one after it ("normalised chunking", which keeps sizes
 * close to the average), a forced cut at max_size.
 *
 * The gear table is derived from a per-repository secret, so chunk
 * boundaries (and thus chunk sizes, visible in the store) cannot be used
 * to recognise known content across repositories.
 */
typedef struct tsarc_chunker_params {
	uint32_t min_size;
	uint32_t avg_size; /* a power of two */
	uint32_t max_size;
} tsarc_chunker_params;

/* Chosen by measurement: see bench/RESULTS.md ("chunk size"). Format 1
 * stores each chunk as an object, so chunks stay large (about 900 objects
 * per GiB of dump). */
#define TSARC_CHUNK_MIN_DEFAULT (256u * 1024u)
#define TSARC_CHUNK_AVG_DEFAULT (1024u * 1024u)
#define TSARC_CHUNK_MAX_DEFAULT (4096u * 1024u)
/* Format 2 packs chunks, so their size is chosen for deduplication alone
 * (bench/scattered.sh: 1% of a dump's 20 KB lines edited stores 4% of it
 * again at these sizes, 15% at 256 KiB, 40% at format 1's 1 MiB) and for
 * the index (one record per chunk: 16,000 per GiB). */
#define TSARC_PACKED_CHUNK_MIN_DEFAULT (16u * 1024u)
#define TSARC_PACKED_CHUNK_AVG_DEFAULT (64u * 1024u)
#define TSARC_PACKED_CHUNK_MAX_DEFAULT (256u * 1024u)
/* The largest max_size a repository may ask for. */
#define TSARC_CHUNK_MAX_LIMIT (64u * 1024u * 1024u)

typedef struct tsarc_chunker {
	uint64_t gear[256];
	uint64_t mask_small; /* used before avg_size: harder to hit */
	uint64_t mask_large; /* used after avg_size: easier to hit */
	tsarc_chunker_params params;
	uint64_t hash;
	size_t pos; /* bytes of the current chunk seen so far */
} tsarc_chunker;

int tsarc_chunker_params_validate(const tsarc_chunker_params *p);
int tsarc_chunker_init(tsarc_chunker *c, const tsarc_chunker_params *p,
	const uint8_t seed[32]);
/* Starts a new chunk (called automatically after a boundary). */
void tsarc_chunker_reset(tsarc_chunker *c);
/*
 * Scans `data`, which continues the current chunk. Returns how many bytes
 * of it belong to the current chunk; *boundary is set to 1 when the chunk
 * ends after them (the chunker is then ready for the next chunk), and to 0
 * when all of `data` was consumed without a boundary.
 */
size_t tsarc_chunker_scan(tsarc_chunker *c, const uint8_t *data, size_t len,
	int *boundary);

#endif
