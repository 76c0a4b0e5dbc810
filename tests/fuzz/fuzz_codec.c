/* Chunk payloads after decryption: codec byte + compressed bytes, and the
 * size the manifest claims. Decompression must never write past that size
 * nor crash on hostile input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static tsarc_codec *codec;
	tsarc_buf out = TSARC_BUF_INIT;
	uint32_t expect;

	if (size < 4)
		return 0;
	if (!codec && tsarc_codec_new(&codec, TSARC_CODEC_ZSTD, 3) != 0)
		abort();
	memcpy(&expect, data, 4);
	expect %= 8u * 1024 * 1024;
	if (tsarc_codec_decompress(codec, data + 4, size - 4, expect, &out) == 0 &&
		out.size != expect)
		abort();
	/* And what we compress always comes back. */
	if (tsarc_codec_compress(codec, data, size, &out) != 0)
		abort();
	{
		tsarc_buf back = TSARC_BUF_INIT;
		if (tsarc_codec_decompress(codec, out.ptr, out.size, size, &back) != 0 ||
			back.size != size || memcmp(back.ptr, data, size) != 0)
			abort();
		tsarc_buf_dispose(&back);
	}
	tsarc_buf_dispose(&out);
	return 0;
}
