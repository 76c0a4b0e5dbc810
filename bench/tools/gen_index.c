/*
 * tsarc-gen-index: adds N synthetic chunk entries to a format-2
 * repository's index, written through the library as a backup writes them
 * (index objects of 65536 entries, packs of 64 chunks of 256 KiB plain),
 * without the packs behind them: bench/index.sh measures opening a
 * repository with 10 million chunks without storing 2.5 TB first. Lookups
 * of these ids never match a real chunk (their ids are SHA-256 of a
 * counter, not the repository's HMAC), so a backup into the repository
 * stores its own chunks as usual.
 *
 * Usage: TSARC_REPOSITORY=... TSARC_PASSWORD=... tsarc-gen-index N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "repo.h"
#include "tool_repo.h"
#include "tsarc/errors.h"

#define PER_PACK 64
#define PACKS_PER_WRITE (TSARC_INDEX_ENTRIES_PER_OBJECT / PER_PACK)
#define PLAIN (256u * 1024u)

static int make_id(uint8_t id[TSARC_ID_LEN], uint64_t k, uint8_t salt)
{
	uint8_t b[9];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(k >> (8 * i));
	b[8] = salt;
	return tsarc_sha256(b, sizeof(b), id);
}

int main(int argc, char **argv)
{
	static tsarc_index_pack packs[PACKS_PER_WRITE];
	static tsarc_pack_entry entries[PACKS_PER_WRITE * PER_PACK];
	tsarc_repo *repo = NULL;
	uint64_t n, done = 0, lo, hi;
	size_t p, k;
	int rc = 0;

	n = argc == 2 ? strtoull(argv[1], NULL, 10) : 0;
	if ((rc = tool_open_repo(&repo, n > 0, "tsarc-gen-index", "N")))
		return rc;
	tsarc_repo_chunk_size_bounds(PLAIN, &lo, &hi);
	while (!rc && done < n) {
		size_t np = 0;
		for (p = 0; p < PACKS_PER_WRITE && done < n && !rc; p++, np++) {
			packs[p].entries = entries + p * PER_PACK;
			packs[p].n = 0;
			rc = make_id(packs[p].name, done, 1);
			for (k = 0; k < PER_PACK && done < n && !rc; k++, done++) {
				tsarc_pack_entry *e = &packs[p].entries[k];
				rc = make_id(e->id, done, 0);
				e->offset = (uint32_t)(k * ((lo + hi) / 3));
				e->length = (uint32_t)((lo + hi) / 3);
				e->plain = PLAIN;
				packs[p].n++;
			}
		}
		if (!rc)
			rc = tsarc_index_write(repo, packs, np, NULL, NULL);
	}
	if (rc)
		fprintf(stderr, "tsarc-gen-index: %s\n", tsarc_error_last()->message);
	tsarc_repo_free(repo);
	return rc ? 1 : 0;
}
