/*
 * Chunks: the id (HMAC under the repository's id key), sealing (codec byte +
 * compressed payload, AES-256-GCM with the id as associated data), the
 * sizes a stored chunk can have, and reading one back: its own object in
 * format 1, a blob of a pack found through the index in format 2 (pack.c).
 */
#include "repo.h"
#include "pack.h"
#include "tsarc/errors.h"

#include <string.h>

int tsarc_repo_chunk_id(const tsarc_repo *repo, const uint8_t *data,
	size_t len, uint8_t id[TSARC_ID_LEN])
{
	return tsarc_hmac_sha256(repo->id_key, data, len, id);
}

int tsarc_repo_chunk_id_ctx(const tsarc_repo *repo, tsarc_hmac_ctx **out)
{
	return tsarc_hmac_new(out, repo->id_key);
}

int tsarc_repo_seal_chunk(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t id[TSARC_ID_LEN], const uint8_t *data, size_t len,
	tsarc_buf *scratch, tsarc_buf *out)
{
	int rc;

	if ((rc = tsarc_codec_compress(codec, data, len, scratch)))
		return rc;
	tsarc_buf_clear(out);
	if ((rc = tsarc_buf_grow(out, scratch->size + TSARC_AEAD_OVERHEAD)))
		return rc;
	/* The id as additional data: a chunk stored under another name fails. */
	if ((rc = tsarc_aead_seal(repo->enc_key, id, TSARC_ID_LEN, scratch->ptr,
		     scratch->size, out->ptr)))
		return rc;
	out->size = scratch->size + TSARC_AEAD_OVERHEAD;
	return 0;
}

int tsarc_repo_open_chunk_to(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t id[TSARC_ID_LEN], const uint8_t *sealed, size_t sealed_len,
	size_t plain_len, int check_id, tsarc_buf *scratch, uint8_t *out)
{
	uint8_t check[TSARC_ID_LEN];
	char hex[TSARC_ID_HEX_LEN + 1];
	int rc;

	tsarc_hex_encode(hex, id, TSARC_ID_LEN);
	if (sealed_len < TSARC_AEAD_OVERHEAD + 1)
		return tsarc_error_set(TSARC_ECORRUPT, "chunk %s is truncated (%zu bytes)",
			hex, sealed_len);
	tsarc_buf_clear(scratch);
	if ((rc = tsarc_buf_grow(scratch, sealed_len - TSARC_AEAD_OVERHEAD)))
		return rc;
	if ((rc = tsarc_aead_open(repo->enc_key, id, TSARC_ID_LEN, sealed,
		     sealed_len, scratch->ptr)))
		return tsarc_error_set(TSARC_ECORRUPT,
			"chunk %s is damaged: authentication failed", hex);
	scratch->size = sealed_len - TSARC_AEAD_OVERHEAD;
	if ((rc = tsarc_codec_decompress_to(codec, scratch->ptr, scratch->size,
		     plain_len, out))) {
		tsarc_error_prefix("chunk %s", hex);
		return rc == TSARC_ENOMEM ? rc : TSARC_ECORRUPT;
	}
	if (!check_id)
		return 0;
	if ((rc = tsarc_repo_chunk_id(repo, out, plain_len, check)))
		return rc;
	if (memcmp(check, id, TSARC_ID_LEN) != 0)
		return tsarc_error_set(TSARC_ECORRUPT,
			"chunk %s is damaged: its content does not match its id", hex);
	return 0;
}

int tsarc_repo_open_chunk(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t id[TSARC_ID_LEN], const uint8_t *sealed, size_t sealed_len,
	size_t plain_len, int check_id, tsarc_buf *scratch, tsarc_buf *out)
{
	int rc;

	tsarc_buf_clear(out);
	if ((rc = tsarc_buf_grow(out, plain_len)) ||
		(rc = tsarc_repo_open_chunk_to(repo, codec, id, sealed, sealed_len, plain_len,
			 check_id, scratch, out->ptr)))
		return rc;
	out->size = plain_len;
	out->ptr[plain_len] = 0;
	return 0;
}

void tsarc_repo_chunk_size_bounds(size_t plain_len, uint64_t *min_out, uint64_t *max_out)
{
	*min_out = (uint64_t)tsarc_codec_min_size(plain_len) + TSARC_AEAD_OVERHEAD;
	*max_out = (uint64_t)plain_len + 1 + TSARC_AEAD_OVERHEAD;
}

int tsarc_repo_chunk_size_plausible(size_t plain_len, uint64_t stored)
{
	uint64_t lo, hi;

	tsarc_repo_chunk_size_bounds(plain_len, &lo, &hi);
	return stored >= lo && stored <= hi;
}

int tsarc_repo_read_chunk(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t id[TSARC_ID_LEN], size_t plain_len, int check_id,
	tsarc_buf *sealed, tsarc_buf *scratch, tsarc_buf *out)
{
	char hex[TSARC_ID_HEX_LEN + 1];
	int rc;

	if (repo->version >= 2)
		return tsarc_pack_read_chunk(repo, codec, id, plain_len, check_id, sealed,
			scratch, out);
	tsarc_hex_encode(hex, id, TSARC_ID_LEN);
	tsarc_buf_clear(sealed);
	sealed->max = (size_t)repo->chunker.max_size + 1024;
	rc = tsarc_store_get(repo->store, TSARC_OBJ_DATA, hex, 0, 0, sealed);
	/* A chunk a manifest refers to and the store lacks is damage. */
	if (rc == TSARC_ENOTFOUND)
		return tsarc_error_set(TSARC_ECORRUPT, "chunk %s is missing from the store",
			hex);
	if (rc == TSARC_ETOOLARGE)
		return tsarc_error_set(TSARC_ECORRUPT, "chunk %s is larger than any chunk "
						       "can be", hex);
	if (rc)
		return rc;
	return tsarc_repo_open_chunk(repo, codec, id, sealed->ptr, sealed->size,
		plain_len, check_id, scratch, out);
}
