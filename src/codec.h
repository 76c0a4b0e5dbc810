#ifndef TSARC_CODEC_H
#define TSARC_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include "tsarc/buf.h"

/* The codec byte that starts every chunk's plaintext payload. */
typedef enum tsarc_codec_id {
	TSARC_CODEC_NONE = 0, /* stored as is: compression did not pay */
	TSARC_CODEC_ZSTD = 1,
	TSARC_CODEC_ZLIB = 2,
} tsarc_codec_id;

/* Per-thread compression state: contexts are costly to create, so each
 * worker keeps one for its lifetime. */
typedef struct tsarc_codec tsarc_codec;

/* TSARC_EINVAL with a message when `level` is not one of the codec's
 * (zstd 1..22, zlib 1..9; none takes any). */
int tsarc_codec_level_check(tsarc_codec_id id, int level);
int tsarc_codec_new(tsarc_codec **out, tsarc_codec_id id, int level);
void tsarc_codec_free(tsarc_codec *c);
int tsarc_codec_parse(const char *name, tsarc_codec_id *id);
const char *tsarc_codec_name(tsarc_codec_id id);
int tsarc_codec_default_level(tsarc_codec_id id);

/*
 * Writes codec byte + payload into `out` (replacing its contents). Falls
 * back to TSARC_CODEC_NONE when compression would not save anything.
 */
int tsarc_codec_compress(tsarc_codec *c, const uint8_t *in, size_t len,
	tsarc_buf *out);
/*
 * The fewest bytes (codec byte included) that tsarc_codec_compress can
 * write for `len` bytes of input with any codec: zstd's cheapest form, an
 * RLE block of 4 bytes per 128 KiB plus a 4-byte magic and a 2-byte frame
 * header; or the input as is when that is shorter. The most is len + 1
 * (compression that does not pay is not kept). An object outside these
 * bounds cannot be the chunk, whatever its content: how dedup and check
 * tell a torn or truncated object without reading it.
 */
size_t tsarc_codec_min_size(size_t len);

/*
 * Reverses tsarc_codec_compress. The result must be exactly `expect_len`
 * bytes (known from the manifest); anything else is TSARC_ECORRUPT.
 */
int tsarc_codec_decompress(tsarc_codec *c, const uint8_t *in, size_t len,
	size_t expect_len, tsarc_buf *out);

/* The same into `out`, which has room for exactly expect_len bytes: how a
 * run of chunks is decompressed into one buffer (extract.c). */
int tsarc_codec_decompress_to(tsarc_codec *c, const uint8_t *in, size_t len,
	size_t expect_len, uint8_t *out);

#endif
