#include "pack.h"
#include "grow.h"
#include "error_save.h"
#include "index.h"
#include "parallel.h"
#include "fileio.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char TOC_MAGIC[4] = {'T', 'P', 'K', '1'};
#define AAD_TOC_PREFIX "tsarc-pack-toc-v1:"
/* The tail read first: holds the whole TOC of any pack of fewer than
 * about 1600 chunks, so most packs take one request. */
#define TAIL_GUESS (64u * 1024u)

void tsarc_le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

uint32_t tsarc_le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

int tsarc_pack_builder_start(tsarc_pack_builder *b)
{
	int rc;

	memset(b, 0, sizeof(*b));
	if ((b->fd = tsarc_scratch_file_linkable()) < 0)
		return tsarc_error_set(tsarc_errno_code(errno),
			"cannot make scratch space for a pack in %s (TMPDIR): %s", tsarc_tmp_dir(),
			strerror(errno));
	if ((rc = tsarc_random_bytes(b->name, sizeof(b->name)))) {
		close(b->fd);
		b->fd = -1;
	}
	return rc;
}

/* Appends bytes to the pack's scratch file. */
static int append(tsarc_pack_builder *b, const void *data, size_t len)
{
	if (tsarc_pwrite_all(b->fd, data, len, (off_t)b->size) != 0)
		return tsarc_error_set(tsarc_errno_code(errno),
			"cannot write a pack to its scratch space in TMPDIR: %s", strerror(errno));
	b->size += len;
	return 0;
}

int tsarc_pack_builder_add(tsarc_pack_builder *b, const uint8_t id[TSARC_ID_LEN],
	const uint8_t *sealed, size_t len, uint32_t plain)
{
	tsarc_pack_entry *e;
	int rc;

	if (b->size + len > TSARC_PACK_MAX - TAIL_GUESS)
		return tsarc_error_set(TSARC_ETOOLARGE, "pack would exceed %u bytes",
			TSARC_PACK_MAX);
	if (TSARC_RESERVE(b->entries, b->n, b->cap, 64))
		return TSARC_ENOMEM;
	e = &b->entries[b->n];
	memcpy(e->id, id, TSARC_ID_LEN);
	e->offset = (uint32_t)b->size;
	e->length = (uint32_t)len;
	e->plain = plain;
	if ((rc = append(b, sealed, len)))
		return rc;
	b->n++;
	return 0;
}

uint64_t tsarc_pack_bytes(uint64_t blob_bytes, size_t n)
{
	return blob_bytes + TSARC_PACK_TOC_HEADER + (uint64_t)n * TSARC_PACK_TOC_ENTRY +
	       TSARC_AEAD_OVERHEAD + 4;
}

static void toc_aad(char *out, size_t outsz, const uint8_t name[TSARC_ID_LEN])
{
	char hex[TSARC_ID_HEX_LEN + 1];

	tsarc_hex_encode(hex, name, TSARC_ID_LEN);
	snprintf(out, outsz, AAD_TOC_PREFIX "%s", hex);
}

int tsarc_pack_builder_finish(const tsarc_repo *repo, tsarc_pack_builder *b)
{
	size_t plain_len = TSARC_PACK_TOC_HEADER + b->n * TSARC_PACK_TOC_ENTRY, i;
	char aad[sizeof(AAD_TOC_PREFIX) + TSARC_ID_HEX_LEN];
	uint8_t *plain, *sealed, *p;
	int rc;

	if (!(plain = malloc(plain_len)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	memcpy(plain, TOC_MAGIC, 4);
	tsarc_le32_put(plain + 4, (uint32_t)b->n);
	for (i = 0, p = plain + TSARC_PACK_TOC_HEADER; i < b->n; i++, p += TSARC_PACK_TOC_ENTRY) {
		memcpy(p, b->entries[i].id, TSARC_ID_LEN);
		tsarc_le32_put(p + 32, b->entries[i].length);
		tsarc_le32_put(p + 36, b->entries[i].plain);
	}
	toc_aad(aad, sizeof(aad), b->name);
	if (!(sealed = malloc(plain_len + TSARC_AEAD_OVERHEAD + 4))) {
		free(plain);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	rc = tsarc_aead_seal(repo->enc_key, aad, strlen(aad), plain, plain_len, sealed);
	free(plain);
	if (!rc) {
		tsarc_le32_put(sealed + plain_len + TSARC_AEAD_OVERHEAD,
			(uint32_t)(plain_len + TSARC_AEAD_OVERHEAD));
		rc = append(b, sealed, plain_len + TSARC_AEAD_OVERHEAD + 4);
	}
	free(sealed);
	return rc;
}

int tsarc_pack_builder_store(const tsarc_repo *repo, const tsarc_pack_builder *b)
{
	char hex[TSARC_ID_HEX_LEN + 1];
	int rc;

	tsarc_hex_encode(hex, b->name, TSARC_ID_LEN);
	if ((rc = tsarc_store_put_file(repo->store, TSARC_OBJ_DATA, hex, b->fd, b->size,
		     TSARC_PUT_CREATE_ONLY)))
		tsarc_error_prefix("storing pack %.16s", hex);
	return rc;
}

void tsarc_pack_builder_dispose(tsarc_pack_builder *b)
{
	if (b->fd >= 0)
		close(b->fd);
	free(b->entries);
	memset(b, 0, sizeof(*b));
	b->fd = -1;
}

int tsarc_pack_toc_parse(const uint8_t *plain, size_t len, uint64_t blobs_end,
	tsarc_pack_entry **out, size_t *count)
{
	tsarc_pack_entry *e;
	uint64_t off = 0;
	size_t n, i;

	*out = NULL;
	*count = 0;
	if (len < TSARC_PACK_TOC_HEADER || memcmp(plain, TOC_MAGIC, 4) != 0)
		return tsarc_error_set(TSARC_ECORRUPT, "pack table of contents: bad header");
	n = tsarc_le32_get(plain + 4);
	if ((len - TSARC_PACK_TOC_HEADER) / TSARC_PACK_TOC_ENTRY != n ||
		(len - TSARC_PACK_TOC_HEADER) % TSARC_PACK_TOC_ENTRY)
		return tsarc_error_set(TSARC_ECORRUPT, "pack table of contents: %zu entries "
			"announced in %zu bytes", n, len);
	if (n && !(e = calloc(n, sizeof(*e))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!n)
		e = NULL;
	for (i = 0; i < n; i++) {
		const uint8_t *p = plain + TSARC_PACK_TOC_HEADER + i * TSARC_PACK_TOC_ENTRY;
		memcpy(e[i].id, p, TSARC_ID_LEN);
		e[i].offset = (uint32_t)off;
		e[i].length = tsarc_le32_get(p + 32);
		e[i].plain = tsarc_le32_get(p + 36);
		if (e[i].plain == 0 || e[i].plain > TSARC_CHUNK_MAX_LIMIT ||
			!tsarc_repo_chunk_size_plausible(e[i].plain, e[i].length) ||
			off + e[i].length > blobs_end) {
			tsarc_error_set(TSARC_ECORRUPT, "pack table of contents: entry %zu "
				"(%u bytes, %u plain) does not fit the pack", i, e[i].length,
				e[i].plain);
			free(e);
			return TSARC_ECORRUPT;
		}
		off += e[i].length;
	}
	if (off != blobs_end) {
		free(e);
		return tsarc_error_set(TSARC_ECORRUPT, "pack table of contents: its chunks "
			"take %llu bytes, the pack holds %llu", (unsigned long long)off,
			(unsigned long long)blobs_end);
	}
	*out = e;
	*count = n;
	return 0;
}

int tsarc_pack_read_toc(const tsarc_repo *repo, const char *name, uint64_t size,
	tsarc_pack_entry **out, size_t *count)
{
	uint8_t bin[TSARC_ID_LEN];
	char aad[sizeof(AAD_TOC_PREFIX) + TSARC_ID_HEX_LEN];
	tsarc_buf tail = TSARC_BUF_INIT, plain = TSARC_BUF_INIT;
	uint64_t want, toc_len;
	int rc;

	*out = NULL;
	*count = 0;
	if (strlen(name) != TSARC_ID_HEX_LEN || tsarc_hex_decode(bin, sizeof(bin), name))
		return tsarc_error_set(TSARC_ECORRUPT, "'%s' is not a pack name", name);
	if (size < 4 + TSARC_AEAD_OVERHEAD + TSARC_PACK_TOC_HEADER || size > TSARC_PACK_MAX)
		return tsarc_error_set(TSARC_ECORRUPT, "pack %.16s: %llu bytes cannot be a pack "
			"(truncated?)", name, (unsigned long long)size);
	want = size < TAIL_GUESS ? size : TAIL_GUESS;
	if ((rc = tsarc_store_get(repo->store, TSARC_OBJ_DATA, name, size - want, want, &tail)))
		goto done;
	if (tail.size != want) {
		rc = tsarc_error_set(TSARC_ECORRUPT, "pack %.16s is shorter than listed "
			"(truncated while read?)", name);
		goto done;
	}
	toc_len = tsarc_le32_get(tail.ptr + tail.size - 4);
	if (toc_len < TSARC_AEAD_OVERHEAD + TSARC_PACK_TOC_HEADER || toc_len > size - 4) {
		rc = tsarc_error_set(TSARC_ECORRUPT, "pack %.16s is damaged: its table of "
			"contents length (%llu) does not fit its %llu bytes (truncated?)", name,
			(unsigned long long)toc_len, (unsigned long long)size);
		goto done;
	}
	if (toc_len + 4 > want) {
		tsarc_buf_clear(&tail);
		if ((rc = tsarc_store_get(repo->store, TSARC_OBJ_DATA, name, size - 4 - toc_len,
			     toc_len + 4, &tail)))
			goto done;
		if (tail.size != toc_len + 4) {
			rc = tsarc_error_set(TSARC_ECORRUPT, "pack %.16s is shorter than listed",
				name);
			goto done;
		}
	}
	toc_aad(aad, sizeof(aad), bin);
	if ((rc = tsarc_buf_grow(&plain, (size_t)toc_len)))
		goto done;
	if (tsarc_aead_open(repo->enc_key, aad, strlen(aad),
		    tail.ptr + tail.size - 4 - toc_len, (size_t)toc_len, plain.ptr)) {
		rc = tsarc_error_set(TSARC_ECORRUPT, "pack %.16s is damaged, or stored under "
			"another pack's name: its table of contents does not authenticate", name);
		goto done;
	}
	rc = tsarc_pack_toc_parse(plain.ptr, (size_t)toc_len - TSARC_AEAD_OVERHEAD,
		size - 4 - toc_len, out, count);
	if (rc)
		tsarc_error_prefix("pack %.16s", name);
done:
	if (rc == TSARC_ENOTFOUND)
		rc = tsarc_error_set(TSARC_ECORRUPT, "pack %.16s is missing from the store", name);
	tsarc_buf_dispose(&tail);
	tsarc_buf_dispose(&plain);
	return rc;
}

int tsarc_pack_read_copy(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t id[TSARC_ID_LEN], const tsarc_index_hit *r, size_t plain_len, int check_id,
	tsarc_buf *sealed, tsarc_buf *scratch, tsarc_buf *out)
{
	char pack[TSARC_ID_HEX_LEN + 1], hex[TSARC_ID_HEX_LEN + 1];
	int rc;

	tsarc_hex_encode(hex, id, TSARC_ID_LEN);
	tsarc_hex_encode(pack, r->pack, TSARC_ID_LEN);
	if (!tsarc_index_hit_plausible(r, plain_len))
		return tsarc_error_set(TSARC_ECORRUPT, "chunk %s: the index says %u bytes (%u "
			"plain) in pack %.16s, the manifest %zu plain bytes: the index is wrong",
			hex, r->length, r->plain, pack, plain_len);
	tsarc_buf_clear(sealed);
	sealed->max = 0;
	rc = tsarc_store_get(repo->store, TSARC_OBJ_DATA, pack, r->offset, r->length, sealed);
	if (rc == TSARC_ENOTFOUND)
		return tsarc_error_set(TSARC_ECORRUPT, "chunk %s: its pack %.16s is missing "
			"from the store", hex, pack);
	if (rc == TSARC_EINVAL || (!rc && sealed->size != r->length))
		return tsarc_error_set(TSARC_ECORRUPT, "chunk %s: pack %.16s ends before offset "
			"%u + %u bytes (truncated, or the index is wrong)", hex, pack, r->offset,
			r->length);
	if (rc)
		return rc;
	rc = tsarc_repo_open_chunk(repo, codec, id, sealed->ptr, sealed->size, plain_len,
		check_id, scratch, out);
	if (rc == TSARC_ECORRUPT)
		tsarc_error_prefix("pack %.16s at offset %u", pack, r->offset);
	return rc;
}

int tsarc_pack_read_chunk(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t id[TSARC_ID_LEN], size_t plain_len, int check_id,
	tsarc_buf *sealed, tsarc_buf *scratch, tsarc_buf *out)
{
	tsarc_index_hit r[TSARC_INDEX_FIND_MAX];
	const tsarc_index *idx;
	tsarc_saved_error first;
	char hex[TSARC_ID_HEX_LEN + 1];
	size_t n, i;
	int rc;

	if (!(idx = tsarc_repo_get_index(repo, &rc)))
		return rc;
	tsarc_hex_encode(hex, id, TSARC_ID_LEN);
	if ((rc = tsarc_index_find(idx, id, r, TSARC_INDEX_FIND_MAX, &n)))
		return rc;
	if (n > TSARC_INDEX_FIND_MAX)
		n = TSARC_INDEX_FIND_MAX;
	if (!n)
		return tsarc_error_set(TSARC_ECORRUPT, "chunk %s is in no index (its pack was "
			"lost, or the index: 'tsarc repair index' rebuilds it from the packs)", hex);
	/* The first copy that opens; else the error of the first. */
	for (i = 0; i < n; i++) {
		rc = tsarc_pack_read_copy(repo, codec, id, &r[i], plain_len, check_id, sealed,
			scratch, out);
		if (rc != TSARC_ECORRUPT) {
			if (i)
				tsarc_error_forget(&first);
			return rc;
		}
		if (i == 0)
			tsarc_error_save(&first);
	}
	return tsarc_error_restore(&first);
}

int tsarc_pack_get_range(const tsarc_repo *repo, const char *name, uint64_t off, uint64_t len,
	tsarc_buf *out)
{
	int rc;

	tsarc_buf_clear(out);
	out->max = 0;
	if ((rc = tsarc_store_get(repo->store, TSARC_OBJ_DATA, name, off, len, out)))
		return rc;
	if (out->size != len)
		return tsarc_error_set(TSARC_ECORRUPT, "pack %.16s ends before offset %llu",
			name, (unsigned long long)(off + len));
	return 0;
}

int tsarc_pack_entry_opens(const tsarc_repo *repo, tsarc_codec *codec, const char *name,
	uint64_t size, const tsarc_pack_entry *e, tsarc_buf *sealed, tsarc_buf *scratch,
	tsarc_buf *plain)
{
	int rc;

	if ((uint64_t)e->offset + e->length > size)
		return tsarc_error_set(TSARC_ECORRUPT, "pack %.16s ends before offset %llu", name,
			(unsigned long long)e->offset + e->length);
	rc = tsarc_pack_get_range(repo, name, e->offset, e->length, sealed);
	if (!rc)
		rc = tsarc_repo_open_chunk(repo, codec, e->id, sealed->ptr, sealed->size, e->plain,
			1, scratch, plain);
	/* A size the chunk cannot have, or the pack gone since: not there. */
	return rc == TSARC_EINVAL || rc == TSARC_ENOTFOUND ? TSARC_ECORRUPT : rc;
}

int tsarc_pack_read_span(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t pack[TSARC_ID_LEN], uint32_t span_off, uint32_t span_len,
	const tsarc_chunk_ref *chunks, const uint32_t *offsets, const uint32_t *lengths,
	size_t count, int check_id, tsarc_buf *sealed, tsarc_buf *scratch, uint8_t *out)
{
	char name[TSARC_ID_HEX_LEN + 1];
	size_t i;
	int rc;

	tsarc_hex_encode(name, pack, TSARC_ID_LEN);
	for (i = 0; i < count; i++)
		if (offsets[i] < span_off || (uint64_t)offsets[i] + lengths[i] >
			(uint64_t)span_off + span_len)
			return tsarc_error_set(TSARC_EINVAL, "chunk %zu is outside the span", i);
	if ((rc = tsarc_pack_get_range(repo, name, span_off, span_len, sealed)))
		return rc;
	for (i = 0; i < count; i++) {
		if ((rc = tsarc_repo_open_chunk_to(repo, codec, chunks[i].id,
			     sealed->ptr + (offsets[i] - span_off), lengths[i], chunks[i].size,
			     check_id, scratch, out)))
			return rc;
		out += chunks[i].size;
	}
	return 0;
}

static int read_toc_at(size_t i, void *ctx, void *worker)
{
	void **c = ctx;
	tsarc_pack_toc *p = &((tsarc_pack_toc *)c[1])[i];
	int rc = tsarc_pack_read_toc(c[0], p->name, p->size, &p->entries, &p->n);

	(void)worker;
	if (rc == TSARC_ECORRUPT) {
		p->bad = 1;
		snprintf(p->msg, sizeof(p->msg), "%s", tsarc_error_last()->message);
		return 0;
	}
	return rc;
}

static void *no_worker(void *ctx)
{
	return ctx;
}

static void no_free(void *w)
{
	(void)w;
}

int tsarc_pack_read_tocs(const tsarc_repo *repo, tsarc_pack_toc *packs, size_t n,
	unsigned parallel)
{
	void *ctx[2] = {(void *)repo, packs};

	return tsarc_parallel_for(n, parallel ? parallel : 2, read_toc_at, ctx, no_worker,
		no_free);
}
