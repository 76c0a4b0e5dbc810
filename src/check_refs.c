/*
 * check on a format-2 repository, second part: the snapshots against the
 * index, in bounded memory. The snapshots are read one at a time and each
 * chunk reference goes, with where it comes from, into the sorted runs of
 * index_refs.h, swept along one scan of the index table: each chunk comes
 * once with every reference to it and its records, of which check_pack.c
 * marked those a pack agrees with. A chunk is judged, reported and (with
 * --read-data) read once, by its first reference in the snapshots' time
 * order as before; each reference counts into its stream's figures.
 * --read-data reads the chunks in pack and offset order (a second set of
 * runs), handing check_read.c whole packs at a time, and every copy of a
 * chunk stored twice (after two backups at once, or a killed repack): a
 * restore reads the first copy that opens, so a damaged other copy would
 * show nowhere, and damage the store did would go unseen. The copies
 * that do not open are judged once all are read: when
 * none of the chunk's opens, the chunk is damaged (as before); otherwise
 * each damaged copy is a problem of its own ("copy"), no data lost.
 *
 * In memory stay a few bytes per snapshot and stream (their names and
 * figures), a snapshot at a time, the references of one chunk, a batch of
 * chunks to read, and the damaged chunks and copies (damage, a few). Before,
 * every snapshot, a set of every chunk stored and an entry for every
 * chunk referenced were in memory at once.
 *
 * What differs from before is only the order problems come in: chunks by
 * id, then streams (each kind in the snapshots' time order as before).
 *
 * A chunk only a damaged pack holds (check_marks: held, it authenticates
 * where the index places it) is present: counted (chunks_in_damaged_packs),
 * its pack reported, no chunk or stream problem of its own. One whose copy
 * there does not authenticate (torn) is a damaged chunk, its streams
 * named as such. Before, both were "missing", their streams incomplete.
 */
#include "check_int.h"
#include "check_read.h"
#include "chunkset.h"
#include "crypto.h"
#include "grow.h"
#include "index.h"
#include "index_refs.h"
#include "index_table_file.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Chunks handed to the reader at a time (whole packs: more when a pack
 * has more). */
#define READ_BATCH 16384

typedef struct snap_info {
	char id[TSARC_ID_HEX_LEN + 1];
	char time[40];
	int64_t time_unix;
	size_t rank; /* its place in time order */
} snap_info;

typedef struct stream_info {
	char *name;
	size_t snap, nchunks, missing, wrong, torn;
} stream_info;

/* A copy --read-data found damaged (placed 0: read through the index, as
 * a chunk with no plausible place). */
typedef struct damaged_copy {
	uint8_t id[TSARC_ID_LEN], pack[TSARC_ID_LEN];
	uint32_t offset, size;
	int placed;
	char *msg; /* NULL: reported without it */
} damaged_copy;

typedef struct refs_ctx {
	check_ctx *c;
	tsarc_index_table *t;
	const uint8_t *ok;
	const check_marks *m;
	size_t torn; /* referenced chunks whose one place does not authenticate */
	snap_info *snaps;
	size_t nsnaps, snaps_cap;
	stream_info *streams;
	size_t nstreams, streams_cap;
	int ranked;
	size_t referenced;
	itab_runs toread; /* --read-data's, by pack and offset */
	tsarc_chunkset *bad; /* damaged chunks */
	damaged_copy *dam;   /* damaged copies, judged once all are read */
	size_t ndam, dam_cap;
} refs_ctx;

static void snapshot_damaged(const char *id, void *payload)
{
	refs_ctx *x = payload;

	x->c->res->snapshots_damaged++;
	check_problem(x->c, "snapshot", id, NULL, NULL, TSARC_ECORRUPT,
		tsarc_error_last()->message);
}

/* A reference: the id, the snapshot's number, the reference's number in
 * it (both big-endian), its stream's number, its sizes. */
static int put_snapshot(tsarc_index_refs_sweep *s, const tsarc_snapshot *sn, size_t number,
	void *payload)
{
	refs_ctx *x = payload;
	uint8_t rec[TSARC_INDEX_REFS_REC];
	uint32_t nref = 0;
	size_t st, k;
	int rc;

	if ((rc = TSARC_RESERVE(x->snaps, x->nsnaps, x->snaps_cap, 64)))
		return rc;
	snprintf(x->snaps[x->nsnaps].id, sizeof(x->snaps[0].id), "%s", sn->id);
	snprintf(x->snaps[x->nsnaps].time, sizeof(x->snaps[0].time), "%s", sn->time);
	x->snaps[x->nsnaps++].time_unix = sn->time_unix;
	memset(rec, 0, sizeof(rec));
	itab_key_put(rec + 32, number, 4);
	for (st = 0; st < sn->nstreams; st++) {
		stream_info *si;
		if ((rc = TSARC_RESERVE(x->streams, x->nstreams, x->streams_cap, 64)))
			return rc;
		si = &x->streams[x->nstreams];
		memset(si, 0, sizeof(*si));
		if (!(si->name = strdup(sn->streams[st].name)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		si->snap = number;
		si->nchunks = sn->streams[st].nchunks;
		itab_key_put(rec + 40, x->nstreams++, 4);
		for (k = 0; k < sn->streams[st].nchunks; k++) {
			const tsarc_chunk_ref *r = &sn->streams[st].chunks[k];
			memcpy(rec, r->id, TSARC_ID_LEN);
			itab_key_put(rec + 36, nref++, 4);
			tsarc_le32_put(rec + 64, r->size);
			tsarc_le32_put(rec + 68, r->stored);
			if ((rc = tsarc_index_refs_put(s, rec)))
				return rc;
		}
	}
	return 0;
}

/* The order of tsarc_snapshot_load_all. */
static int by_time(const void *a, const void *b)
{
	const snap_info *x = *(const snap_info *const *)a, *y = *(const snap_info *const *)b;

	return tsarc_snapshot_time_cmp(x->time_unix, x->time, x->id, y->time_unix, y->time,
		y->id);
}

/* The snapshots in time order: order[k] is the kth (the caller frees it). */
static int time_order(refs_ctx *x, size_t **order)
{
	const snap_info **p = malloc((x->nsnaps ? x->nsnaps : 1) * sizeof(*p));
	size_t k;

	if (!p || !(*order = malloc((x->nsnaps ? x->nsnaps : 1) * sizeof(**order)))) {
		free(p);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	for (k = 0; k < x->nsnaps; k++)
		p[k] = &x->snaps[k];
	qsort(p, x->nsnaps, sizeof(*p), by_time);
	for (k = 0; k < x->nsnaps; k++)
		(*order)[k] = (size_t)(p[k] - x->snaps);
	free(p);
	return 0;
}

static int rank(refs_ctx *x)
{
	size_t *order, k;
	int rc = time_order(x, &order);

	if (rc)
		return rc;
	for (k = 0; k < x->nsnaps; k++)
		x->snaps[order[k]].rank = k;
	free(order);
	x->ranked = 1;
	return 0;
}

static void ref_of(const uint8_t *rec, tsarc_chunk_ref *r)
{
	memcpy(r->id, rec, TSARC_ID_LEN);
	r->size = tsarc_le32_get(rec + 64);
	r->stored = tsarc_le32_get(rec + 68);
}

/* The reference met first before: the earliest snapshot's first. */
static const uint8_t *first_ref(const refs_ctx *x, const uint8_t *refs, size_t nrefs)
{
	const uint8_t *best = refs, *r;
	size_t j;

	for (j = 1; j < nrefs; j++) {
		size_t a, b;
		r = refs + j * TSARC_INDEX_REFS_REC;
		a = x->snaps[itab_key_get(r + 32, 4)].rank;
		b = x->snaps[itab_key_get(best + 32, 4)].rank;
		if (a < b || (a == b && itab_key_get(r + 36, 4) < itab_key_get(best + 36, 4)))
			best = r;
	}
	return best;
}

/* Whether --read-data reads the copy of table record `ordinal`: one a
 * pack agrees with, of a size the chunk can have. */
static int copy_read(const refs_ctx *x, uint64_t ordinal, const tsarc_index_hit *at,
	size_t size)
{
	return check_bit(x->ok, ordinal) && tsarc_index_hit_plausible(at, size);
}

/* A chunk to read: the copy `at` (NULL: the pack 0xff..., read alone
 * through the index, last), offset big-endian, id, length, plain size. */
static int put_toread(refs_ctx *x, const tsarc_chunk_ref *r, const tsarc_index_hit *at)
{
	uint8_t rec[REC_LEN];

	memset(rec, 0xff, TSARC_ID_LEN + 4);
	memset(rec + TSARC_ID_LEN + 4, 0, REC_LEN - TSARC_ID_LEN - 4);
	if (at) {
		memcpy(rec, at->pack, TSARC_ID_LEN);
		itab_key_put(rec + 32, at->offset, 4);
		tsarc_le32_put(rec + 68, at->length);
	}
	memcpy(rec + 36, r->id, TSARC_ID_LEN);
	tsarc_le32_put(rec + 72, r->size);
	return itab_runs_add(&x->toread, rec);
}

static int sweep_id(const uint8_t id[TSARC_ID_LEN], const tsarc_index_table_rec *g, size_t n,
	uint64_t ordinal, const uint8_t *refs, size_t nrefs, void *payload)
{
	refs_ctx *x = payload;
	tsarc_chunk_ref r;
	uint32_t size = 0;
	size_t k, copies, torn_at = n;
	int present = 0, held = 0, rc;

	(void)id;
	if (!x->ranked && (rc = rank(x)))
		return rc;
	/* The first record a pack agrees with holds the chunk; else the
	 * first a damaged pack still holds (check_marks). */
	for (k = 0; k < n && !present; k++)
		if (check_bit(x->ok, ordinal + k)) {
			present = 1;
			size = g[k].at.length;
		}
	for (k = 0; x->m->held && k < n && !present; k++)
		if (check_bit(x->m->held, ordinal + k)) {
			present = held = 1;
			size = g[k].at.length;
		}
	for (k = 0; x->m->torn && k < n && !present && torn_at == n; k++)
		if (check_bit(x->m->torn, ordinal + k))
			torn_at = k;
	x->c->res->chunks_stored += (size_t)present;
	if (!nrefs)
		return 0;
	x->referenced++;
	x->c->res->chunks_in_damaged_packs += (size_t)held;
	for (k = 0; k < nrefs; k++) {
		const uint8_t *rec = refs + k * TSARC_INDEX_REFS_REC;
		stream_info *si = &x->streams[itab_key_get(rec + 40, 4)];
		ref_of(rec, &r);
		si->missing += (size_t)(!present && torn_at == n);
		si->torn += (size_t)(torn_at < n);
		si->wrong += (size_t)(present && check_stored_size_wrong(&r, size));
	}
	ref_of(first_ref(x, refs, nrefs), &r);
	if (torn_at < n) {
		char hex[TSARC_ID_HEX_LEN + 1], pack[TSARC_ID_HEX_LEN + 1], msg[256];
		tsarc_hex_encode(hex, r.id, TSARC_ID_LEN);
		tsarc_hex_encode(pack, g[torn_at].at.pack, TSARC_ID_LEN);
		snprintf(msg, sizeof(msg), "the index places it in pack %.16s at offset %u, whose "
			"table of contents does not open, and there it does not authenticate",
			pack, g[torn_at].at.offset);
		x->torn++;
		x->c->res->chunks_damaged++;
		check_problem(x->c, "chunk", NULL, NULL, hex, TSARC_ECORRUPT, msg);
		return 0;
	}
	if (check_first_ref(x->c, &r, present, size) || !x->c->opts->read_data ||
		!check_selected(x->c->opts, r.id))
		return 0;
	/* Every copy, each judged (copies_judge). */
	for (k = 0, copies = 0; k < n; k++)
		if (copy_read(x, ordinal + k, &g[k].at, r.size)) {
			if ((rc = put_toread(x, &r, &g[k].at)))
				return rc;
			copies++;
		}
	return copies ? 0 : put_toread(x, &r, NULL);
}

/* A chunk the reader found damaged: its place in the batch, and why. */
typedef struct bad_chunk {
	size_t i;
	char *msg; /* NULL: reported without it */
} bad_chunk;

/* One batch of chunks to read, and what the reader found damaged. */
typedef struct read_batch {
	refs_ctx *x;
	tsarc_chunk_ref *refs;
	const tsarc_chunk_ref **ptrs;
	tsarc_check_place *where;
	size_t n, cap;
	bad_chunk *bad;
	size_t nbad, bad_cap;
	int failed; /* no room to note one */
} read_batch;

static void read_damaged(size_t i, const char *msg, void *payload)
{
	read_batch *b = payload;

	if (TSARC_RESERVE(b->bad, b->nbad, b->bad_cap, 16)) {
		b->failed = 1;
		return;
	}
	b->bad[b->nbad].i = i;
	b->bad[b->nbad++].msg = strdup(msg);
}

static int read_batch_now(read_batch *b)
{
	check_ctx *c = b->x->c;
	size_t k;
	int rc;

	for (k = 0; k < b->n; k++)
		b->ptrs[k] = &b->refs[k];
	rc = tsarc_check_read_placed(c->repo, b->ptrs, b->where, b->n, c->opts->parallel,
		read_damaged, b, &c->res->chunks_read, &c->res->bytes_read);
	if (!rc && b->failed)
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (k = 0; k < b->nbad; k++) {
		const tsarc_chunk_ref *r = &b->refs[b->bad[k].i];
		const tsarc_check_place *w = &b->where[b->bad[k].i];
		refs_ctx *x = b->x;
		damaged_copy *d;
		if (!rc && !(rc = TSARC_RESERVE(x->dam, x->ndam, x->dam_cap, 16))) {
			d = &x->dam[x->ndam++];
			memcpy(d->id, r->id, TSARC_ID_LEN);
			memcpy(d->pack, w->pack, TSARC_ID_LEN);
			d->offset = w->offset;
			d->size = (uint32_t)r->size;
			d->placed = w->placed;
			d->msg = b->bad[k].msg;
			continue;
		}
		free(b->bad[k].msg);
	}
	b->n = b->nbad = 0;
	return rc;
}

/* --read-data: the chunks in pack and offset order, whole packs a batch. */
static int read_all(refs_ctx *x)
{
	size_t limit = tsarc_check_read_batch ? tsarc_check_read_batch : READ_BATCH;
	read_batch b;
	itab_merger m;
	const uint8_t *rec;
	int rc;

	memset(&b, 0, sizeof(b));
	b.x = x;
	if ((rc = itab_runs_flush(&x->toread)))
		return rc;
	free(x->toread.recs);
	x->toread.recs = NULL;
	if ((rc = itab_merger_begin(&m, x->c->repo, x->toread.in, x->toread.nin)))
		goto done;
	while ((rc = itab_merger_next(&m, &rec)) > 0) {
		tsarc_check_place *w;
		if (b.n >= limit && memcmp(b.where[b.n - 1].pack, rec, TSARC_ID_LEN) &&
			(rc = read_batch_now(&b)))
			break;
		if (b.n == b.cap) {
			size_t cap = b.cap ? b.cap * 2 : 1024;
			void *r = realloc(b.refs, cap * sizeof(*b.refs));
			void *p = realloc(b.ptrs, cap * sizeof(*b.ptrs));
			void *wh = realloc(b.where, cap * sizeof(*b.where));
			if (r)
				b.refs = r;
			if (p)
				b.ptrs = p;
			if (wh)
				b.where = wh;
			if (!r || !p || !wh) {
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
				break;
			}
			b.cap = cap;
		}
		w = &b.where[b.n];
		memcpy(w->pack, rec, TSARC_ID_LEN);
		w->offset = (uint32_t)itab_key_get(rec + 32, 4);
		w->length = tsarc_le32_get(rec + 68);
		w->placed = w->length != 0;
		memcpy(b.refs[b.n].id, rec + 36, TSARC_ID_LEN);
		b.refs[b.n].size = tsarc_le32_get(rec + 72);
		b.refs[b.n++].stored = w->length;
	}
	if (!rc && b.n)
		rc = read_batch_now(&b);
	itab_merger_end(&m);
done:
	free(b.refs);
	free(b.ptrs);
	free(b.where);
	free(b.bad);
	return rc;
}

static int by_copy(const void *a, const void *b)
{
	const damaged_copy *x = a, *y = b;
	int c;

	if ((c = memcmp(x->id, y->id, TSARC_ID_LEN)) || (c = memcmp(x->pack, y->pack, TSARC_ID_LEN)))
		return c;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* How many copies of chunk `id` (plain `size` bytes) --read-data read:
 * sweep_id's choice, made again from the table for a damaged one. */
static int copies_read(refs_ctx *x, const uint8_t id[TSARC_ID_LEN], size_t size, size_t *out)
{
	tsarc_index_hit few[TSARC_INDEX_FIND_MAX], *hits = few, first;
	const uint8_t *ids[1] = {id};
	uint64_t ordinal;
	uint8_t found;
	size_t n, k;
	int rc;

	*out = 0;
	if ((rc = tsarc_index_table_find_sorted_at(x->t, ids, 1, &first, &found, &ordinal)) ||
		!found || (rc = tsarc_index_table_find(x->t, id, few, TSARC_INDEX_FIND_MAX, &n)))
		return rc;
	if (n > TSARC_INDEX_FIND_MAX) {
		if (!(hits = malloc(n * sizeof(*hits))))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		if ((rc = tsarc_index_table_find(x->t, id, hits, n, &n))) {
			free(hits);
			return rc;
		}
	}
	for (k = 0; k < n; k++)
		*out += (size_t)copy_read(x, ordinal + k, &hits[k], size);
	if (hits != few)
		free(hits);
	return 0;
}

/*
 * The damaged copies, by chunk: a chunk none of whose copies opens is
 * damaged (its snapshots' streams are named after); a damaged copy of a
 * chunk that has one that opens is a problem of its own. Its data is not
 * lost (prune reads the copy it keeps first, and passes a damaged one
 * over: prune_scan.c), but the copy stays in its pack while that pack
 * has no more than --max-unused of unused bytes; 'prune --max-unused 0'
 * rewrites the pack without it (a repack copies the kept copies only).
 * repair index keeps it (the pack's table still lists it).
 */
static int copies_judge(refs_ctx *x)
{
	check_ctx *c = x->c;
	size_t from, to, k, nread;
	char hex[TSARC_ID_HEX_LEN + 1], msg[1200];
	int rc = 0, added;

	if (!x->ndam)
		return 0;
	qsort(x->dam, x->ndam, sizeof(*x->dam), by_copy);
	for (from = 0; from < x->ndam && !rc; from = to) {
		const damaged_copy *d = &x->dam[from];
		for (to = from + 1; to < x->ndam && !memcmp(x->dam[to].id, d->id, TSARC_ID_LEN); to++)
			;
		tsarc_hex_encode(hex, d->id, TSARC_ID_LEN);
		if ((rc = copies_read(x, d->id, d->size, &nread)))
			break;
		if (nread <= to - from) {
			/* No copy opens. */
			c->res->chunks_damaged++;
			if (to - from > 1)
				snprintf(msg, sizeof(msg), "%s (its other %zu copies do not open either)",
					d->msg ? d->msg : "does not verify", to - from - 1);
			else
				snprintf(msg, sizeof(msg), "%s", d->msg ? d->msg : "does not verify");
			check_problem(c, "chunk", NULL, NULL, hex, TSARC_ECORRUPT, msg);
			rc = tsarc_chunkset_claim(x->bad, d->id, 0, &added);
			continue;
		}
		for (k = from; k < to; k++) {
			char pack[TSARC_ID_HEX_LEN + 1];
			d = &x->dam[k];
			tsarc_hex_encode(pack, d->pack, TSARC_ID_LEN);
			c->res->copies_damaged++;
			snprintf(msg, sizeof(msg), "%s; another copy of the chunk opens, so no data "
				"is lost (prune keeps that one): 'tsarc prune --max-unused 0' rewrites "
				"pack %.16s without the damaged copy", d->msg ? d->msg : "does not verify",
				pack);
			check_problem(c, "copy", NULL, NULL, hex, TSARC_ECORRUPT, msg);
		}
	}
	return rc;
}

/* Every stream a damaged chunk breaks, the snapshots read again one at a
 * time in time order. */
static int report_broken_streams(refs_ctx *x, tsarc_repo *repo)
{
	size_t *order, k, st, j;
	int rc;

	if ((rc = time_order(x, &order)))
		return rc;
	for (k = 0; k < x->nsnaps; k++) {
		tsarc_snapshot *sn = NULL;
		if (tsarc_snapshot_load(repo, x->snaps[order[k]].id, &sn)) {
			/* Gone since (a forget): nothing of it to name. */
			tsarc_error_clear();
			continue;
		}
		for (st = 0; st < sn->nstreams; st++) {
			const tsarc_stream *s = &sn->streams[st];
			size_t nbad = 0;
			for (j = 0; j < s->nchunks; j++)
				nbad += (size_t)tsarc_chunkset_lookup(x->bad, s->chunks[j].id, NULL);
			if (nbad)
				check_stream_damaged(x->c, sn->id, s->name, nbad, s->nchunks);
		}
		tsarc_snapshot_free(sn);
	}
	free(order);
	return 0;
}

/* The streams with missing or wrong-sized chunks, in time order. */
static int report_streams(refs_ctx *x)
{
	size_t *order, k, st = 0;
	size_t *first;
	int rc;

	if ((rc = time_order(x, &order)))
		return rc;
	if (!(first = malloc((x->nsnaps + 1) * sizeof(*first)))) {
		free(order);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	for (k = 0; k <= x->nsnaps; k++) {
		while (st < x->nstreams && x->streams[st].snap < k)
			st++;
		first[k] = st;
	}
	for (k = 0; k < x->nsnaps; k++) {
		size_t i = order[k];
		for (st = first[i]; st < first[i + 1]; st++) {
			const stream_info *si = &x->streams[st];
			if (si->missing || si->wrong)
				check_stream_problem(x->c, x->snaps[i].id, si->name, si->missing,
					si->wrong, si->nchunks);
			if (si->torn)
				check_stream_damaged(x->c, x->snaps[i].id, si->name, si->torn,
					si->nchunks);
		}
	}
	free(first);
	free(order);
	return 0;
}

int check_refs_bounded(check_ctx *c, tsarc_index_table *t, const check_marks *m)
{
	tsarc_check_result *res = c->res;
	tsarc_index_refs_pass p;
	refs_ctx x;
	char **ids = NULL;
	size_t n = 0, loaded = 0, k;
	int rc;

	memset(&x, 0, sizeof(x));
	memset(&p, 0, sizeof(p));
	x.c = c;
	x.t = t;
	x.ok = m->ok;
	x.m = m;
	x.toread.dirfd = -1;
	if ((rc = tsarc_chunkset_new(&x.bad)) || (rc = tsarc_snapshot_list_ids(c->repo, &ids, &n)))
		goto done;
	if (c->opts->read_data && (rc = itab_runs_open(&x.toread, c->repo, tsarc_check_run_recs)))
		goto done;
	p.snapshot = put_snapshot;
	p.id = sweep_id;
	p.on_damaged = snapshot_damaged;
	p.payload = &x;
	p.run_recs = tsarc_check_run_recs;
	if ((rc = tsarc_index_refs_sweep_run(c->repo, t, ids, n, &p, &loaded)))
		goto done;
	res->snapshots = loaded + res->snapshots_damaged;
	res->chunks_referenced = x.referenced;
	/* Referenced and stored: neither missing nor torn. */
	res->chunks_unreferenced = res->chunks_stored >= x.referenced - res->chunks_missing - x.torn
		? res->chunks_stored - (x.referenced - res->chunks_missing - x.torn) : 0;
	if ((rc = report_streams(&x)))
		goto done;
	if (c->opts->read_data) {
		if ((rc = read_all(&x)) || (rc = copies_judge(&x)))
			goto done;
		/* Name every snapshot and stream that a damaged chunk breaks. */
		if (res->chunks_damaged && (rc = report_broken_streams(&x, c->repo)))
			goto done;
	}
done:
	itab_runs_close(&x.toread);
	tsarc_chunkset_free(x.bad);
	for (k = 0; k < x.ndam; k++)
		free(x.dam[k].msg);
	free(x.dam);
	for (k = 0; k < x.nstreams; k++)
		free(x.streams[k].name);
	free(x.streams);
	free(x.snaps);
	tsarc_snapshot_ids_free(ids, n);
	return rc;
}
