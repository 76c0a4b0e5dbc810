/* Index objects come from the store: after decryption they are still only
 * as trustworthy as whoever held the key. Whatever one says, parsing ends
 * in a clear error or in entries that are each possible (a size its chunk
 * can have, inside the largest pack), and what parses serializes back to
 * the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct collected {
	tsarc_index_pack packs[64];
	size_t n;
	int overflow;
} collected;

static int collect(const uint8_t pack[TSARC_ID_LEN], const tsarc_pack_entry *e, void *payload)
{
	collected *c = payload;
	tsarc_index_pack *p;

	if (!tsarc_repo_chunk_size_plausible(e->plain, e->length) ||
		(uint64_t)e->offset + e->length > TSARC_PACK_MAX)
		abort();
	/* A new group whenever the pack name changes. */
	if (!c->n || memcmp(c->packs[c->n - 1].name, pack, TSARC_ID_LEN)) {
		if (c->n == 64) {
			c->overflow = 1;
			return 1;
		}
		memcpy(c->packs[c->n].name, pack, TSARC_ID_LEN);
		c->packs[c->n].entries = NULL;
		c->packs[c->n++].n = 0;
	}
	p = &c->packs[c->n - 1];
	if (!(p->entries = realloc(p->entries, (p->n + 1) * sizeof(*p->entries))))
		abort();
	p->entries[p->n++] = *e;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	collected c;
	tsarc_buf again = TSARC_BUF_INIT;
	size_t i;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = tsarc_index_parse(data, size, collect, &c);
	if (rc && !c.overflow) {
		const tsarc_error *err = tsarc_error_last();
		if (rc != TSARC_ECORRUPT || !err->message || !err->message[0])
			abort();
	}
	/* The parser refuses a pack repeating the one before it, so the
	 * groups come back as they were. */
	if (!rc && (tsarc_index_serialize(c.packs, c.n, &again) || again.size != size ||
		memcmp(again.ptr, data, size)))
		abort();
	for (i = 0; i < c.n; i++)
		free(c.packs[i].entries);
	tsarc_buf_dispose(&again);
	return 0;
}
