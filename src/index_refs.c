#include "index_refs.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

/* The ids the snapshots need are gathered (32 bytes each) until there
 * are this many, then sorted and looked up in the table together: each
 * lookup reads every block its ids fall in once, so many small snapshots
 * cost one read of the table, not one each (4 MiB; a larger snapshot is
 * gathered whole, as it is in memory anyway, at 40 bytes a chunk). */
#define GATHER_IDS 131072
/* Ids passed to the table's lookup at a time. */
#define LOOKUP_BATCH 4096

static int cmp_name(const void *a, const void *b)
{
	return memcmp(a, b, TSARC_ID_LEN);
}

/* The ids gathered, sorted and unique, looked up in the table: the first
 * record of each found gets its bit, the others are absent. */
static int lookup_gathered(tsarc_index_refs *r)
{
	const uint8_t *ids[LOOKUP_BATCH];
	tsarc_index_hit *hit = NULL;
	uint8_t found[LOOKUP_BATCH];
	uint64_t *ord = NULL;
	size_t i, k, m = 0;
	int rc = 0, added;

	if (!r->ngathered)
		return 0;
	if (!(hit = malloc(LOOKUP_BATCH * sizeof(*hit))) ||
		!(ord = malloc(LOOKUP_BATCH * sizeof(*ord)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	qsort(r->gathered, r->ngathered, TSARC_ID_LEN, cmp_name);
	for (i = 0; i < r->ngathered; i++)
		if (!m || memcmp(r->gathered[m - 1], r->gathered[i], TSARC_ID_LEN))
			memmove(r->gathered[m++], r->gathered[i], TSARC_ID_LEN);
	for (i = 0; i < m && !rc; i += LOOKUP_BATCH) {
		size_t b = m - i < LOOKUP_BATCH ? m - i : LOOKUP_BATCH;
		for (k = 0; k < b; k++)
			ids[k] = r->gathered[i + k];
		if ((rc = tsarc_index_table_find_sorted_at(r->table, ids, b, hit, found, ord)))
			break;
		for (k = 0; k < b && !rc; k++)
			if (found[k])
				r->bits[ord[k] / 8] |= (uint8_t)(1u << (ord[k] % 8));
			else
				rc = tsarc_chunkset_claim(r->absent, ids[k], 0, &added);
	}
	r->ngathered = 0;
done:
	free(hit);
	free(ord);
	return rc;
}

/* Adds the ids of one snapshot to those gathered. */
static int gather(tsarc_index_refs *r, const tsarc_snapshot *sn)
{
	size_t total = 0, s, k;
	int rc;

	for (s = 0; s < sn->nstreams; s++)
		total += sn->streams[s].nchunks;
	if (r->ngathered && r->ngathered + total > GATHER_IDS &&
		(rc = lookup_gathered(r)))
		return rc;
	if (r->ngathered + total > r->gathered_cap) {
		size_t cap = r->ngathered + total < GATHER_IDS ? GATHER_IDS : r->ngathered + total;
		void *g = realloc(r->gathered, cap * TSARC_ID_LEN);
		if (!g)
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		r->gathered = g;
		r->gathered_cap = cap;
	}
	for (s = 0; s < sn->nstreams; s++)
		for (k = 0; k < sn->streams[s].nchunks; k++)
			memcpy(r->gathered[r->ngathered++], sn->streams[s].chunks[k].id,
				TSARC_ID_LEN);
	return 0;
}

int tsarc_index_refs_mark(tsarc_index_refs *r, tsarc_repo *repo, tsarc_index_table *t,
	char **ids, size_t n, void (*on_damaged)(const char *id, void *payload), void *payload,
	size_t *loaded)
{
	size_t k;
	int rc;

	memset(r, 0, sizeof(*r));
	r->table = t;
	*loaded = 0;
	if (!(r->bits = calloc(tsarc_index_table_count(t) / 8 + 1, 1)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if ((rc = tsarc_chunkset_new(&r->absent)))
		return rc;
	for (k = 0; k < n; k++) {
		tsarc_snapshot *sn = NULL;
		rc = tsarc_snapshot_load(repo, ids[k], &sn);
		if (rc == TSARC_ENOTFOUND) {
			/* Listed, then removed by a concurrent forget. */
			tsarc_error_clear();
			continue;
		}
		if (rc == TSARC_ECORRUPT && on_damaged) {
			on_damaged(ids[k], payload);
			tsarc_error_clear();
			continue;
		}
		if (rc) {
			if (rc != TSARC_ECORRUPT)
				tsarc_error_prefix("snapshot %.12s cannot be read", ids[k]);
			return rc;
		}
		++*loaded;
		rc = gather(r, sn);
		tsarc_snapshot_free(sn);
		if (rc)
			return rc;
	}
	if ((rc = lookup_gathered(r)))
		return rc;
	free(r->gathered);
	r->gathered = NULL;
	r->gathered_cap = 0;
	return 0;
}

int tsarc_index_refs_has(const tsarc_index_refs *r, uint64_t ordinal)
{
	return r->bits[ordinal / 8] >> (ordinal % 8) & 1;
}

size_t tsarc_index_refs_count(const tsarc_index_refs *r)
{
	uint64_t nrecs = tsarc_index_table_count(r->table), i;
	size_t set = 0;

	for (i = 0; i < nrecs; i++)
		set += (size_t)tsarc_index_refs_has(r, i);
	return set + tsarc_chunkset_count(r->absent);
}

void tsarc_index_refs_dispose(tsarc_index_refs *r)
{
	free(r->bits);
	free(r->gathered);
	tsarc_chunkset_free(r->absent);
	memset(r, 0, sizeof(*r));
}
