#include "index_refs.h"
#include "grow.h"
#include "index_table_file.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(TSARC_INDEX_REFS_REC == REC_LEN, "a reference is a record of the runs");

/* References gathered in memory per sorted run: 4 MiB, as many as the ids
 * that were looked up in the table together before. */
#define RUN_RECS (4u * 1024 * 1024 / REC_LEN)

size_t tsarc_index_refs_run_recs;

struct tsarc_index_refs_sweep {
	const tsarc_index_refs_pass *p;
	itab_runs runs;
	itab_merger m;
	uint8_t cur[REC_LEN]; /* the merge's next reference, when `have` */
	int have;
	uint8_t (*refs)[REC_LEN]; /* those of the id at hand */
	size_t nrefs, refs_cap;
};

int tsarc_index_refs_put(tsarc_index_refs_sweep *s, const uint8_t rec[TSARC_INDEX_REFS_REC])
{
	return itab_runs_add(&s->runs, rec);
}

/* The default: each chunk id of the snapshot, the rest zero. */
static int put_ids(tsarc_index_refs_sweep *s, const tsarc_snapshot *sn, size_t number,
	void *payload)
{
	uint8_t rec[REC_LEN];
	size_t st, k;
	int rc;

	(void)number;
	(void)payload;
	memset(rec, 0, sizeof(rec));
	for (st = 0; st < sn->nstreams; st++)
		for (k = 0; k < sn->streams[st].nchunks; k++) {
			memcpy(rec, sn->streams[st].chunks[k].id, TSARC_ID_LEN);
			if ((rc = tsarc_index_refs_put(s, rec)))
				return rc;
		}
	return 0;
}

static int advance(tsarc_index_refs_sweep *s)
{
	const uint8_t *r;
	int rc = itab_merger_next(&s->m, &r);

	if (rc < 0)
		return rc;
	if ((s->have = rc > 0))
		memcpy(s->cur, r, REC_LEN);
	return 0;
}

/* The references to `id` at the head of the merge, into s->refs. */
static int take(tsarc_index_refs_sweep *s, const uint8_t id[TSARC_ID_LEN])
{
	int rc;

	s->nrefs = 0;
	while (s->have && !memcmp(s->cur, id, TSARC_ID_LEN)) {
		if ((rc = TSARC_RESERVE(s->refs, s->nrefs, s->refs_cap, 16)))
			return rc;
		memcpy(s->refs[s->nrefs++], s->cur, REC_LEN);
		if ((rc = advance(s)))
			return rc;
	}
	return 0;
}

/* The referenced ids before `upto` (NULL: all that are left): no record
 * of the table has them. */
static int absent_before(tsarc_index_refs_sweep *s, const uint8_t *upto)
{
	uint8_t id[TSARC_ID_LEN];
	int rc;

	while (s->have && (!upto || memcmp(s->cur, upto, TSARC_ID_LEN) < 0)) {
		memcpy(id, s->cur, TSARC_ID_LEN);
		if ((rc = take(s, id)) ||
			(rc = s->p->id(id, NULL, 0, 0, (const uint8_t *)s->refs, s->nrefs,
				 s->p->payload)))
			return rc;
	}
	return 0;
}

static int sweep_group(const tsarc_index_table_rec *g, size_t n, uint64_t ordinal, void *payload)
{
	tsarc_index_refs_sweep *s = payload;
	int rc;

	if ((rc = absent_before(s, g[0].id)) || (rc = take(s, g[0].id)))
		return rc;
	return s->p->id(g[0].id, g, n, ordinal, (const uint8_t *)s->refs, s->nrefs,
		s->p->payload);
}

static int read_snapshots(tsarc_index_refs_sweep *s, tsarc_repo *repo, char **ids, size_t n,
	size_t *loaded)
{
	int (*put)(tsarc_index_refs_sweep *, const tsarc_snapshot *, size_t, void *) =
		s->p->snapshot ? s->p->snapshot : put_ids;
	size_t k;
	int rc;

	for (k = 0; k < n; k++) {
		tsarc_snapshot *sn = NULL;
		rc = tsarc_snapshot_load(repo, ids[k], &sn);
		if (rc == TSARC_ENOTFOUND) {
			/* Listed, then removed by a concurrent forget. */
			tsarc_error_clear();
			continue;
		}
		if (rc == TSARC_ECORRUPT && s->p->on_damaged) {
			s->p->on_damaged(ids[k], s->p->payload);
			tsarc_error_clear();
			continue;
		}
		if (rc) {
			if (rc != TSARC_ECORRUPT)
				tsarc_error_prefix("snapshot %.12s cannot be read", ids[k]);
			return rc;
		}
		rc = put(s, sn, (*loaded)++, s->p->payload);
		tsarc_snapshot_free(sn);
		if (rc)
			return rc;
	}
	return itab_runs_flush(&s->runs);
}

int tsarc_index_refs_sweep_run(tsarc_repo *repo, tsarc_index_table *t, char **ids, size_t n,
	const tsarc_index_refs_pass *p, size_t *loaded)
{
	tsarc_index_refs_sweep s;
	int rc, merging = 0;

	memset(&s, 0, sizeof(s));
	s.p = p;
	*loaded = 0;
	if ((rc = itab_runs_open(&s.runs, repo, p->run_recs ? p->run_recs
			: tsarc_index_refs_run_recs ? tsarc_index_refs_run_recs : RUN_RECS)))
		return rc;
	s.runs.unique = !p->snapshot;
	if ((rc = read_snapshots(&s, repo, ids, n, loaded)))
		goto done;
	/* The run being filled is not needed any more. */
	free(s.runs.recs);
	s.runs.recs = NULL;
	if ((rc = itab_merger_begin(&s.m, repo, s.runs.in, s.runs.nin)))
		goto done;
	merging = 1;
	if ((rc = advance(&s)) || (rc = tsarc_index_table_scan(t, sweep_group, &s)))
		goto done;
	rc = absent_before(&s, NULL);
done:
	if (merging)
		itab_merger_end(&s.m);
	itab_runs_close(&s.runs);
	free(s.refs);
	return rc;
}

/* prune's and extend-retention's marking, and their damage callback. */
typedef struct mark_ctx {
	tsarc_index_refs *r;
	void (*on_damaged)(const char *id, void *payload);
	void *payload;
} mark_ctx;

static void mark_damaged(const char *id, void *payload)
{
	mark_ctx *m = payload;

	m->on_damaged(id, m->payload);
}

/* The first record of each needed id gets its bit, the others are absent. */
static int mark_id(const uint8_t id[TSARC_ID_LEN], const tsarc_index_table_rec *g, size_t n,
	uint64_t ordinal, const uint8_t *refs, size_t nrefs, void *payload)
{
	tsarc_index_refs *r = ((mark_ctx *)payload)->r;
	int added;

	(void)g;
	(void)refs;
	if (!nrefs)
		return 0;
	r->needed++;
	if (!n)
		return tsarc_chunkset_claim(r->absent, id, 0, &added);
	r->bits[ordinal / 8] |= (uint8_t)(1u << (ordinal % 8));
	return 0;
}

int tsarc_index_refs_mark(tsarc_index_refs *r, tsarc_repo *repo, tsarc_index_table *t,
	char **ids, size_t n, void (*on_damaged)(const char *id, void *payload), void *payload,
	size_t *loaded)
{
	mark_ctx m = {r, on_damaged, payload};
	tsarc_index_refs_pass p;
	int rc;

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	r->table = t;
	*loaded = 0;
	if (!(r->bits = calloc(tsarc_index_table_count(t) / 8 + 1, 1)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if ((rc = tsarc_chunkset_new(&r->absent)))
		return rc;
	p.id = mark_id;
	p.on_damaged = on_damaged ? mark_damaged : NULL;
	p.payload = &m;
	return tsarc_index_refs_sweep_run(repo, t, ids, n, &p, loaded);
}

int tsarc_index_refs_has(const tsarc_index_refs *r, uint64_t ordinal)
{
	return r->bits[ordinal / 8] >> (ordinal % 8) & 1;
}

size_t tsarc_index_refs_count(const tsarc_index_refs *r)
{
	return r->needed;
}

void tsarc_index_refs_dispose(tsarc_index_refs *r)
{
	free(r->bits);
	tsarc_chunkset_free(r->absent);
	memset(r, 0, sizeof(*r));
}
