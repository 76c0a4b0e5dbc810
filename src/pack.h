#ifndef TSARC_PACK_H
#define TSARC_PACK_H

/*
 * Pack files (repository format 2): many sealed chunks in one data object,
 * so a backup writes tens of objects per GiB instead of hundreds, and
 * small chunks (better dedup of dumps with scattered edits) cost no more
 * requests.
 *
 *   pack = blob_0 || ... || blob_n-1 || sealed TOC || u32 LE length of the sealed TOC
 *
 * Each blob is a chunk sealed exactly as in format 1 (the chunk id is its
 * associated data), so each is read and authenticated alone with a range
 * read at (offset, length), and a repack copies blobs without re-sealing.
 * The table of contents (TOC) lists each blob's id, length and plaintext
 * length in order; it is sealed with the pack's name as associated data,
 * so a pack renamed or swapped with another fails to open, and the index
 * can be rebuilt from the packs alone ('tsarc repair index'). Pack names
 * are 32 random bytes in hex: they reveal nothing of the content.
 */
#include "repo.h"
#include "snapshot.h"

/* Where a chunk is: a blob of a pack. */
typedef struct tsarc_pack_entry {
	uint8_t id[TSARC_ID_LEN];
	uint32_t offset;
	uint32_t length; /* sealed bytes */
	uint32_t plain;  /* plaintext bytes */
} tsarc_pack_entry;

/* Bytes of one TOC record and of the TOC's fixed header. */
#define TSARC_PACK_TOC_ENTRY 40
#define TSARC_PACK_TOC_HEADER 8
/* A pack larger than this is refused; offsets are 32-bit. */
#define TSARC_PACK_MAX (2048u * 1024u * 1024u)
/* Target pack sizes a repository may ask for, and the default. */
#define TSARC_PACK_SIZE_MIN (64u * 1024u)
#define TSARC_PACK_SIZE_LIMIT (1024u * 1024u * 1024u)
#define TSARC_PACK_SIZE_DEFAULT (16u * 1024u * 1024u)

/* Little-endian 32-bit fields of packs and index objects. */
void tsarc_le32_put(uint8_t *p, uint32_t v);
uint32_t tsarc_le32_get(const uint8_t *p);

/*
 * A pack being filled. Its bytes go to scratch space
 * (tsarc_scratch_file_linkable: an unlinked file in TMPDIR, which the fs
 * store links in as the pack when it is on the same filesystem) as they
 * come, not to memory: a backup keeps
 * one pack filling and up to two being stored, and 48 MiB of packs held
 * whole would double its memory (bench/RESULTS.md, P5). Only the table of
 * contents (40 bytes a chunk) stays in memory. The scratch file holds
 * sealed blobs only, and vanishes with its descriptor, also after a crash.
 */
typedef struct tsarc_pack_builder {
	uint8_t name[TSARC_ID_LEN];
	int fd;        /* the scratch file, -1 when none */
	uint64_t size; /* bytes in it */
	tsarc_pack_entry *entries;
	size_t n, cap;
} tsarc_pack_builder;

/* A fresh, empty pack with a random name and its scratch file. */
int tsarc_pack_builder_start(tsarc_pack_builder *b);
/* Appends one sealed chunk. */
int tsarc_pack_builder_add(tsarc_pack_builder *b, const uint8_t id[TSARC_ID_LEN],
	const uint8_t *sealed, size_t len, uint32_t plain);
/* The size of a pack of `n` blobs of `blob_bytes` in all: the blobs, the
 * sealed TOC and its length. */
uint64_t tsarc_pack_bytes(uint64_t blob_bytes, size_t n);
/* Appends the sealed TOC and its length: the first b->size bytes of b->fd
 * are then the object. */
int tsarc_pack_builder_finish(const tsarc_repo *repo, tsarc_pack_builder *b);
/* Stores a finished pack under its name (create-only). */
int tsarc_pack_builder_store(const tsarc_repo *repo, const tsarc_pack_builder *b);
/* Closes the scratch file and frees the entries; safe after a failed start. */
void tsarc_pack_builder_dispose(tsarc_pack_builder *b);

/*
 * Parses a decrypted TOC. `blobs_end` is where the sealed TOC starts in
 * the pack: the blobs must fill [0, blobs_end) exactly. Any deviation is
 * TSARC_ECORRUPT. The entries (with their offsets) go to a new array.
 */
int tsarc_pack_toc_parse(const uint8_t *plain, size_t len, uint64_t blobs_end,
	tsarc_pack_entry **out, size_t *count);

/* Reads and opens the TOC of the pack `name` (hex) of `size` bytes (as
 * listed). TSARC_ECORRUPT naming the pack when it does not open. */
int tsarc_pack_read_toc(const tsarc_repo *repo, const char *name, uint64_t size,
	tsarc_pack_entry **out, size_t *count);

/* One pack's table of contents as check and repair read it. */
typedef struct tsarc_pack_toc {
	char name[TSARC_ID_HEX_LEN + 1];
	uint64_t size; /* as listed */
	int bad;       /* set when the TOC does not open (msg says why) */
	char msg[256];
	tsarc_pack_entry *entries;
	size_t n;
} tsarc_pack_toc;
/* Reads the TOCs of packs[0..n) on `parallel` threads. A pack whose TOC
 * does not open (TSARC_ECORRUPT) is marked bad, which is not an error.
 * Free each entries array with free(). */
int tsarc_pack_read_tocs(const tsarc_repo *repo, tsarc_pack_toc *packs, size_t n,
	unsigned parallel);

/*
 * Reads one chunk of a format-2 repository: finds it in the index, reads
 * its blob with a range read and opens it (tsarc_repo_open_chunk). When
 * the index places it in several packs, each is tried. A chunk no index
 * knows, an index entry that disagrees with the manifest, a missing or
 * truncated pack and a blob that does not authenticate are TSARC_ECORRUPT
 * naming the chunk and the pack.
 */
int tsarc_pack_read_chunk(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t id[TSARC_ID_LEN], size_t plain_len, int check_id,
	tsarc_buf *sealed, tsarc_buf *scratch, tsarc_buf *out);
struct tsarc_index_hit;
/* One copy of the chunk: the one `at` places, and no other. The same
 * errors, each naming the pack and offset (check --read-data reads every
 * copy the index lists, so that a damaged one is seen even when another
 * opens). */
int tsarc_pack_read_copy(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t id[TSARC_ID_LEN], const struct tsarc_index_hit *at, size_t plain_len, int check_id,
	tsarc_buf *sealed, tsarc_buf *scratch, tsarc_buf *out);

/*
 * Reading many blobs of a pack at once (a dump's runs, a repack's live
 * blobs): one range read of a span that may hold up to TSARC_PACK_RUN_GAP
 * bytes of other blobs between two wanted ones, read for nothing, and up
 * to TSARC_PACK_RUN_MAX bytes of what is wanted, so that memory stays what
 * format 1's chunks of 1 MiB took.
 */
#define TSARC_PACK_RUN_MAX (1024u * 1024u)
#define TSARC_PACK_RUN_GAP (64u * 1024u)

/* Reads [off, off + len) of the pack `name` (hex) into `out` (emptied
 * first); a pack that ends before is TSARC_ECORRUPT naming it. */
int tsarc_pack_get_range(const tsarc_repo *repo, const char *name, uint64_t off, uint64_t len,
	tsarc_buf *out);

/*
 * Whether the chunk an index entry `e` places in pack `name` (hex, listed
 * as `size` bytes) is there: its blob, read at the entry's offset into
 * `sealed`, authenticates and hashes to its id. A pack whose table of
 * contents does not open may still hold its chunks whole, and the index
 * still finds them; repair index keeps them by this, and check says so of
 * them. 0 when it opens; TSARC_ECORRUPT when it does not (past the pack's
 * end, the pack gone since it was listed, the blob damaged); any other
 * error when the read fails.
 */
int tsarc_pack_entry_opens(const tsarc_repo *repo, tsarc_codec *codec, const char *name,
	uint64_t size, const tsarc_pack_entry *e, tsarc_buf *sealed, tsarc_buf *scratch,
	tsarc_buf *plain);

/*
 * Reads chunks[0..count), whose blobs lie at offsets[] (sealed lengths[])
 * within [span_off, span_off + span_len) of `pack`, with one range read of
 * that span, and opens each into `out` (its id recomputed from the
 * plaintext when check_id), one after the other (chunks[i].size bytes
 * each). Each blob is still
 * authenticated alone, with its own id as associated data, wherever the
 * index says it is. Any failure is returned as it is: the caller reads
 * those chunks again one by one (tsarc_pack_read_chunk), which tries every
 * copy and says which chunk and pack are wrong.
 */
int tsarc_pack_read_span(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t pack[TSARC_ID_LEN], uint32_t span_off, uint32_t span_len,
	const tsarc_chunk_ref *chunks, const uint32_t *offsets, const uint32_t *lengths,
	size_t count, int check_id, tsarc_buf *sealed, tsarc_buf *scratch, uint8_t *out);

#endif
