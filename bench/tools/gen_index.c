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
 * With SNAPSHOTS (a folder repository, its latest snapshot a template:
 * bench/prune.sh), prune and check have something to decide: a sparse
 * file for each pack (its size, no data: a dry run reads no pack) and
 * SNAPSHOTS snapshots that between them need every chunk of 18 packs in
 * 20, half the chunks of one (repacked) and none of the last (deleted);
 * chunk k in snapshot k mod SNAPSHOTS. The template is removed.
 *
 * Usage: TSARC_REPOSITORY=... TSARC_PASSWORD=... tsarc-gen-index N [SNAPSHOTS]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index.h"
#include "repo.h"
#include "snapshot.h"
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

/* Chunk k is needed: all of 18 packs in 20, every other one of the 19th. */
static int needed(uint64_t k)
{
	uint64_t kind = k / PER_PACK % 20;

	return kind < 18 || (kind == 18 && k % 2 == 0);
}

/* A sparse file for pack p (holding `n` chunks of `len`), of the
 * repository's pack size: not a small pack to combine. */
static int sparse_pack(const tsarc_repo *repo, const char *root, uint64_t p, size_t n,
	uint32_t len)
{
	uint64_t size = tsarc_pack_bytes((uint64_t)n * len, n);

	uint8_t name[TSARC_ID_LEN];
	char hex[TSARC_ID_HEX_LEN + 1], path[4096];
	int fd, rc;

	if ((rc = make_id(name, p * PER_PACK, 1)))
		return rc;
	tsarc_hex_encode(hex, name, TSARC_ID_LEN);
	/* A folder store's layout: data/<first two digits>/<name>. */
	snprintf(path, sizeof(path), "%s/data/%.2s", root, hex);
	(void)mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/data/%.2s/%s", root, hex, hex);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
		ftruncate(fd, (off_t)(size > repo->pack_size ? size : repo->pack_size))) {
		if (fd >= 0)
			close(fd);
		return tsarc_error_set(TSARC_EIO, "cannot write %s", path);
	}
	close(fd);
	return 0;
}

/* The snapshots, each the template with its chunks replaced. */
static int gen_snapshots(tsarc_repo *repo, uint64_t n, unsigned nsnap, uint32_t len)
{
	char tmpl[TSARC_ID_HEX_LEN + 1];
	tsarc_snapshot *snap = NULL;
	tsarc_chunk_ref *orig;
	uint64_t size;
	size_t norig;
	unsigned s;
	uint64_t k;
	int rc;

	if ((rc = tsarc_snapshot_resolve(repo, "latest", tmpl)) ||
		(rc = tsarc_snapshot_load(repo, tmpl, &snap)))
		return rc;
	orig = snap->streams[0].chunks;
	norig = snap->streams[0].nchunks;
	size = snap->streams[0].size;
	if (!(snap->streams[0].chunks = malloc((n / nsnap + 1) * sizeof(tsarc_chunk_ref))))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (s = 0; s < nsnap && !rc; s++) {
		size_t m = 0;
		for (k = s; k < n && !rc; k += nsnap) {
			tsarc_chunk_ref *r = &snap->streams[0].chunks[m];
			if (!needed(k))
				continue;
			rc = make_id(r->id, k, 0);
			r->size = PLAIN;
			r->stored = len;
			m++;
		}
		snap->streams[0].nchunks = m;
		snap->streams[0].size = (uint64_t)m * PLAIN;
		if (!rc)
			rc = tsarc_snapshot_save(repo, snap);
	}
	free(snap->streams[0].chunks);
	snap->streams[0].chunks = orig;
	snap->streams[0].nchunks = norig;
	snap->streams[0].size = size;
	tsarc_snapshot_free(snap);
	return rc ? rc : tsarc_store_remove(repo->store, TSARC_OBJ_SNAPSHOT, tmpl);
}

int main(int argc, char **argv)
{
	static tsarc_index_pack packs[PACKS_PER_WRITE];
	static tsarc_pack_entry entries[PACKS_PER_WRITE * PER_PACK];
	tsarc_repo *repo = NULL;
	uint64_t n, done = 0, lo, hi;
	size_t p, k;
	int rc = 0;

	unsigned nsnap = argc == 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 0;

	n = argc == 2 || argc == 3 ? strtoull(argv[1], NULL, 10) : 0;
	if ((rc = tool_open_repo(&repo, n > 0 && (argc == 2 || nsnap > 0), "tsarc-gen-index",
		     "N [SNAPSHOTS]")))
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
			if (!rc && nsnap)
				rc = sparse_pack(repo, getenv("TSARC_REPOSITORY"), (done - 1) / PER_PACK,
					packs[p].n, (uint32_t)((lo + hi) / 3));
		}
		if (!rc)
			rc = tsarc_index_write(repo, packs, np, NULL, NULL);
	}
	if (!rc && nsnap)
		rc = gen_snapshots(repo, n, nsnap, (uint32_t)((lo + hi) / 3));
	if (rc)
		fprintf(stderr, "tsarc-gen-index: %s\n", tsarc_error_last()->message);
	tsarc_repo_free(repo);
	return rc ? 1 : 0;
}
