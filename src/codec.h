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
 * Reverses tsarc_codec_compress. The result must be exactly `expect_len`
 * bytes (known from the manifest); anything else is TSARC_ECORRUPT.
 */
int tsarc_codec_decompress(tsarc_codec *c, const uint8_t *in, size_t len,
	size_t expect_len, tsarc_buf *out);

#endif
