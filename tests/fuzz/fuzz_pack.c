/* A pack's table of contents comes from the store: once decrypted it is
 * still only as trustworthy as whoever held the key (or a bug in an older
 * writer). Whatever it says, parsing ends in a clear error or in entries
 * that tile the pack's blobs exactly, each of a size its chunk can have.
 * Input: 4 bytes (little-endian) where the blobs end, then the TOC. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsarc_pack_entry *e = NULL;
	uint64_t end, off = 0;
	size_t n = 0, i;
	int rc;

	if (size < 4)
		return 0;
	end = tsarc_le32_get(data);
	rc = tsarc_pack_toc_parse(data + 4, size - 4, end, &e, &n);
	if (rc) {
		const tsarc_error *err = tsarc_error_last();
		if (rc != TSARC_ECORRUPT && rc != TSARC_ENOMEM)
			abort();
		if (!err->message || !err->message[0] || e || n)
			abort();
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (e[i].offset != off || !tsarc_repo_chunk_size_plausible(e[i].plain, e[i].length))
			abort();
		off += e[i].length;
	}
	if (off != end)
		abort();
	free(e);
	return 0;
}
