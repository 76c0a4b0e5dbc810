#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem */
#include "codec.h"
#include "names.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/*
 * The contexts keep what they last compressed or inflated (zstd's
 * literals, zlib's window): a chunk of a stream of Secrets. Their memory
 * comes from tsarc_wiped_alloc, so that it is wiped when a context is
 * freed (once per thread and stream, whatever the stream's size). zlib's
 * streams are kept and reset between chunks, as zstd's contexts are,
 * instead of one set up and freed for each chunk (compress2, uncompress).
 */
struct tsarc_codec {
	tsarc_codec_id id;
	int level;
	ZSTD_CCtx *zc;
	ZSTD_DCtx *zd;
	z_stream zdef, zinf;
	int zdef_ready, zinf_ready;
};

static void *zstd_alloc(void *opaque, size_t n)
{
	(void)opaque;
	return tsarc_wiped_alloc(n);
}

static void zstd_free(void *opaque, void *p)
{
	(void)opaque;
	tsarc_wiped_free(p);
}

static const ZSTD_customMem WIPED_MEM = {zstd_alloc, zstd_free, NULL};

static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	if (size && (size_t)items > (size_t)-1 / size)
		return NULL;
	return tsarc_wiped_alloc((size_t)items * size);
}

static void zlib_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	tsarc_wiped_free(p);
}

static void zlib_stream_init(z_stream *z)
{
	memset(z, 0, sizeof(*z));
	z->zalloc = zlib_alloc;
	z->zfree = zlib_free;
}

/* zstd, zlib, none: the one list parse and print share. */
static const tsarc_name CODECS[] = {
	{TSARC_CODEC_ZSTD, "zstd"}, {TSARC_CODEC_ZLIB, "zlib"}, {TSARC_CODEC_NONE, "none"},
};

int tsarc_codec_parse(const char *name, tsarc_codec_id *id)
{
	int v;

	if (!tsarc_name_find(CODECS, TSARC_NAMES_COUNT(CODECS), name, 0, &v))
		return tsarc_error_set(TSARC_EINVAL,
			"unknown compression '%s' (use zstd, zlib or none)", name);
	*id = (tsarc_codec_id)v;
	return 0;
}

const char *tsarc_codec_name(tsarc_codec_id id)
{
	return tsarc_name_of(CODECS, TSARC_NAMES_COUNT(CODECS), (int)id, "unknown");
}

int tsarc_codec_default_level(tsarc_codec_id id)
{
	/* zstd 3 keeps the ratio above 3 on SQL dumps at ~180 MB/s per core;
	 * zlib 6 is what gzip does (see docs/goals.md). */
	return id == TSARC_CODEC_ZLIB ? 6 : id == TSARC_CODEC_ZSTD ? 3 : 0;
}

int tsarc_codec_level_check(tsarc_codec_id id, int level)
{
	if (id == TSARC_CODEC_ZLIB && (level < 1 || level > 9))
		return tsarc_error_set(TSARC_EINVAL, "zlib level must be 1..9");
	if (id == TSARC_CODEC_ZSTD && (level < 1 || level > ZSTD_maxCLevel()))
		return tsarc_error_set(TSARC_EINVAL, "zstd level must be 1..%d",
			ZSTD_maxCLevel());
	return 0;
}

int tsarc_codec_new(tsarc_codec **out, tsarc_codec_id id, int level)
{
	tsarc_codec *c;
	int rc;

	*out = NULL;
	if ((rc = tsarc_codec_level_check(id, level)))
		return rc;
	if (!(c = calloc(1, sizeof(*c))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	c->id = id;
	c->level = level;
	*out = c;
	return 0;
}

void tsarc_codec_free(tsarc_codec *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->zc);
	ZSTD_freeDCtx(c->zd);
	if (c->zdef_ready)
		deflateEnd(&c->zdef);
	if (c->zinf_ready)
		inflateEnd(&c->zinf);
	free(c);
}

static int store_raw(const uint8_t *in, size_t len, tsarc_buf *out)
{
	int rc;
	uint8_t tag = TSARC_CODEC_NONE;

	tsarc_buf_clear(out);
	if ((rc = tsarc_buf_grow(out, len + 1)))
		return rc;
	rc = tsarc_buf_append(out, &tag, 1);
	return rc ? rc : tsarc_buf_append(out, in, len);
}

int tsarc_codec_compress(tsarc_codec *c, const uint8_t *in, size_t len,
	tsarc_buf *out)
{
	size_t bound, n;
	int rc;

	if (c->id == TSARC_CODEC_NONE)
		return store_raw(in, len, out);
	tsarc_buf_clear(out);
	bound = c->id == TSARC_CODEC_ZSTD ? ZSTD_compressBound(len)
					  : compressBound((uLong)len);
	if ((rc = tsarc_buf_grow(out, bound + 1)))
		return rc;
	out->ptr[0] = (uint8_t)c->id;
	if (c->id == TSARC_CODEC_ZSTD) {
		if (!c->zc && !(c->zc = ZSTD_createCCtx_advanced(WIPED_MEM)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory (zstd)");
		n = ZSTD_compressCCtx(c->zc, out->ptr + 1, bound, in, len, c->level);
		if (ZSTD_isError(n))
			return tsarc_error_set(TSARC_EGENERIC, "zstd: %s",
				ZSTD_getErrorName(n));
	} else {
		/* What compress2 does, on a stream kept from chunk to chunk. */
		if (!c->zdef_ready) {
			zlib_stream_init(&c->zdef);
			if (deflateInit(&c->zdef, c->level) != Z_OK)
				return tsarc_error_set(TSARC_ENOMEM, "out of memory (zlib)");
			c->zdef_ready = 1;
		} else if (deflateReset(&c->zdef) != Z_OK)
			return tsarc_error_set(TSARC_EGENERIC, "zlib compression failed");
		c->zdef.next_in = (Bytef *)(uintptr_t)in;
		c->zdef.avail_in = (uInt)len;
		c->zdef.next_out = out->ptr + 1;
		c->zdef.avail_out = (uInt)bound;
		if (len > (uInt)-1 || bound > (uInt)-1 ||
			deflate(&c->zdef, Z_FINISH) != Z_STREAM_END)
			return tsarc_error_set(TSARC_EGENERIC, "zlib compression failed");
		n = c->zdef.total_out;
	}
	/* Incompressible data (already compressed files, random bytes) is
	 * kept as it is, so reading it back costs nothing. */
	if (n >= len)
		return store_raw(in, len, out);
	out->size = n + 1;
	return 0;
}

size_t tsarc_codec_min_size(size_t len)
{
	const size_t block = 128 * 1024; /* ZSTD_BLOCKSIZE_MAX */
	size_t zstd = 4 + 2 + 4 * ((len + block - 1) / block);

	return 1 + (len < zstd ? len : zstd);
}

int tsarc_codec_decompress_to(tsarc_codec *c, const uint8_t *in, size_t len,
	size_t expect_len, uint8_t *out)
{
	size_t n;

	if (len < 1)
		return tsarc_error_set(TSARC_ECORRUPT, "empty chunk payload");
	switch (in[0]) {
	case TSARC_CODEC_NONE:
		if (len - 1 != expect_len)
			goto bad_size;
		memcpy(out, in + 1, expect_len);
		break;
	case TSARC_CODEC_ZSTD:
		if (!c->zd && !(c->zd = ZSTD_createDCtx_advanced(WIPED_MEM)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory (zstd)");
		n = ZSTD_decompressDCtx(c->zd, out, expect_len, in + 1, len - 1);
		if (ZSTD_isError(n))
			return tsarc_error_set(TSARC_ECORRUPT, "zstd: %s",
				ZSTD_getErrorName(n));
		if (n != expect_len)
			goto bad_size;
		break;
	case TSARC_CODEC_ZLIB: {
		/* What uncompress does, on a stream kept from chunk to chunk:
		 * the whole output or an error. */
		int zr;
		if (!c->zinf_ready) {
			zlib_stream_init(&c->zinf);
			if (inflateInit(&c->zinf) != Z_OK)
				return tsarc_error_set(TSARC_ENOMEM, "out of memory (zlib)");
			c->zinf_ready = 1;
		} else if (inflateReset(&c->zinf) != Z_OK)
			return tsarc_error_set(TSARC_EGENERIC, "zlib: cannot reset");
		if (len - 1 > (uInt)-1 || expect_len > (uInt)-1)
			return tsarc_error_set(TSARC_ECORRUPT, "zlib: oversized data");
		c->zinf.next_in = (Bytef *)(uintptr_t)(in + 1);
		c->zinf.avail_in = (uInt)(len - 1);
		c->zinf.next_out = out;
		c->zinf.avail_out = (uInt)expect_len;
		zr = inflate(&c->zinf, Z_FINISH);
		if (zr != Z_STREAM_END)
			return tsarc_error_set(TSARC_ECORRUPT,
				"zlib: damaged or oversized data (%d)", zr == Z_BUF_ERROR &&
				!c->zinf.avail_in ? Z_DATA_ERROR : zr);
		if (c->zinf.total_out != expect_len)
			goto bad_size;
		break;
	}
	default:
		return tsarc_error_set(TSARC_ECORRUPT, "unknown codec %u", in[0]);
	}
	return 0;
bad_size:
	return tsarc_error_set(TSARC_ECORRUPT,
		"chunk decompressed to the wrong size (expected %zu)", expect_len);
}

int tsarc_codec_decompress(tsarc_codec *c, const uint8_t *in, size_t len,
	size_t expect_len, tsarc_buf *out)
{
	int rc;

	if (len < 1)
		return tsarc_error_set(TSARC_ECORRUPT, "empty chunk payload");
	tsarc_buf_clear(out);
	if ((rc = tsarc_buf_grow(out, expect_len)) ||
		(rc = tsarc_codec_decompress_to(c, in, len, expect_len, out->ptr)))
		return rc;
	out->size = expect_len;
	out->ptr[expect_len] = 0;
	return 0;
}
