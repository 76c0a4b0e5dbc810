#include "check_read.h"
#include "extract.h"
#include "index.h"
#include "pack.h"
#include "parallel.h"
#include "tsarc/errors.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Chunks looked up in the index at once, their ids sorted: one read of
 * each block of the index table they fall in. */
#define RESOLVE 2048

/* Where the index first places a chunk. */
typedef struct place {
	const uint8_t *id;
	uint8_t pack[TSARC_ID_LEN];
	uint32_t offset, length;
	size_t chunk; /* its number in the caller's array */
	int placed;   /* 0: read alone */
} place;

/* places[first, first + count), read with one range read of the span; a
 * span_len of 0: one chunk, read alone. */
typedef struct read_run {
	size_t first, count;
	uint32_t span_off, span_len;
	size_t plain;
} read_run;

typedef struct reader {
	tsarc_repo *repo;
	const tsarc_chunk_ref **chunks;
	place *places;
	read_run *runs;
	pthread_mutex_t lock;
	tsarc_check_damaged_fn damaged;
	void *payload;
	size_t *chunks_read;
	uint64_t *bytes_read;
	int each_copy; /* a placed chunk is that copy: read again, it is read alone */
} reader;

typedef struct worker {
	tsarc_chunk_reader *r;
	tsarc_chunk_ref *refs;
	uint32_t *offsets, *lengths;
	size_t cap;
	tsarc_buf plain;
} worker;

static int cmp_id(const void *a, const void *b)
{
	return memcmp(((const place *)a)->id, ((const place *)b)->id, TSARC_ID_LEN);
}

/* Placed chunks first, by pack, by offset in each. */
static int cmp_where(const void *a, const void *b)
{
	const place *x = a, *y = b;
	int c;

	if (x->placed != y->placed)
		return x->placed ? -1 : 1;
	if (!x->placed)
		return 0;
	if ((c = memcmp(x->pack, y->pack, TSARC_ID_LEN)))
		return c;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Places the chunks the index knows with a plausible size. A lookup that
 * fails leaves its chunks unplaced: read alone, they meet the error again
 * and say what it is. */
static int resolve(reader *rd, size_t n)
{
	const tsarc_index *idx;
	tsarc_index_hit *hits = malloc(RESOLVE * sizeof(*hits));
	const uint8_t **ids = malloc(RESOLVE * sizeof(*ids));
	uint8_t *found = malloc(RESOLVE);
	size_t from, m, i;
	int rc = 0;

	if (!hits || !ids || !found) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	if (!(idx = tsarc_repo_get_index(rd->repo, &rc))) {
		tsarc_error_clear();
		rc = 0;
		goto done;
	}
	qsort(rd->places, n, sizeof(*rd->places), cmp_id);
	for (from = 0; from < n; from += m) {
		m = n - from < RESOLVE ? n - from : RESOLVE;
		for (i = 0; i < m; i++)
			ids[i] = rd->places[from + i].id;
		if (tsarc_index_find_sorted(idx, ids, m, hits, found)) {
			tsarc_error_clear();
			continue;
		}
		for (i = 0; i < m; i++) {
			place *p = &rd->places[from + i];
			if (!found[i] || !tsarc_index_hit_plausible(&hits[i], rd->chunks[p->chunk]->size))
				continue;
			memcpy(p->pack, hits[i].pack, TSARC_ID_LEN);
			p->offset = hits[i].offset;
			p->length = hits[i].length;
			p->placed = 1;
		}
	}
done:
	free(hits);
	free(ids);
	free(found);
	return rc;
}

/* Cuts the places, sorted by cmp_where, into runs; returns how many. */
static size_t make_runs(reader *rd, size_t n)
{
	const place *p = rd->places;
	size_t i = 0, nruns = 0;

	while (i < n) {
		read_run *r = &rd->runs[nruns++];
		uint64_t hi;
		r->first = i;
		r->count = 1;
		r->span_off = r->span_len = 0;
		r->plain = rd->chunks[p[i].chunk]->size;
		if (!p[i].placed) {
			i++;
			continue;
		}
		r->span_off = p[i].offset;
		hi = (uint64_t)p[i].offset + p[i].length;
		while (i + r->count < n) {
			const place *q = &p[i + r->count];
			size_t size = rd->chunks[q->chunk]->size;
			if (!q->placed || memcmp(q->pack, p[i].pack, TSARC_ID_LEN) || q->offset < hi ||
				q->offset - hi > TSARC_PACK_RUN_GAP || r->plain + size > TSARC_PACK_RUN_MAX)
				break;
			hi = (uint64_t)q->offset + q->length;
			r->plain += size;
			r->count++;
		}
		r->span_len = (uint32_t)(hi - r->span_off);
		i += r->count;
	}
	return nruns;
}

static void counted(reader *rd, size_t chunks, uint64_t bytes)
{
	pthread_mutex_lock(&rd->lock);
	*rd->chunks_read += chunks;
	*rd->bytes_read += bytes;
	pthread_mutex_unlock(&rd->lock);
}

/* The chunk of place p alone: that copy when the places are copies, else
 * through the index (every copy it lists tried). */
static int read_alone(reader *rd, worker *w, const place *p)
{
	const tsarc_chunk_ref *c = rd->chunks[p->chunk];
	int rc;

	if (rd->each_copy && p->placed) {
		tsarc_index_hit at;
		memcpy(at.pack, p->pack, TSARC_ID_LEN);
		at.offset = p->offset;
		at.length = p->length;
		at.plain = (uint32_t)c->size;
		rc = tsarc_pack_read_copy(rd->repo, w->r->codec, c->id, &at, c->size, 1,
			&w->r->sealed, &w->r->scratch, &w->r->plain);
	} else {
		rc = tsarc_repo_read_chunk(rd->repo, w->r->codec, c->id, c->size, 1,
			&w->r->sealed, &w->r->scratch, &w->r->plain);
	}
	counted(rd, 1, w->r->sealed.size);
	if (rc == TSARC_ECORRUPT) {
		/* Damage is a finding, not a reason to stop reading the rest. */
		pthread_mutex_lock(&rd->lock);
		rd->damaged(p->chunk, tsarc_error_last()->message, rd->payload);
		pthread_mutex_unlock(&rd->lock);
		tsarc_error_clear();
		return 0;
	}
	return rc;
}

static int grow_worker(worker *w, size_t count)
{
	void *refs, *offsets, *lengths;

	if (count <= w->cap)
		return 0;
	refs = realloc(w->refs, count * sizeof(*w->refs));
	if (refs)
		w->refs = refs;
	offsets = realloc(w->offsets, count * sizeof(*w->offsets));
	if (offsets)
		w->offsets = offsets;
	lengths = realloc(w->lengths, count * sizeof(*w->lengths));
	if (lengths)
		w->lengths = lengths;
	if (!refs || !offsets || !lengths)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	w->cap = count;
	return 0;
}

static int read_run_at(size_t k, void *ctx, void *state)
{
	reader *rd = ctx;
	worker *w = state;
	const read_run *r = &rd->runs[k];
	const place *p = &rd->places[r->first];
	size_t i;
	int rc;

	if (!r->span_len)
		return read_alone(rd, w, p);
	if ((rc = grow_worker(w, r->count)))
		return rc;
	for (i = 0; i < r->count; i++) {
		w->refs[i] = *rd->chunks[p[i].chunk];
		w->offsets[i] = p[i].offset;
		w->lengths[i] = p[i].length;
	}
	tsarc_buf_clear(&w->plain);
	if ((rc = tsarc_buf_grow(&w->plain, r->plain)))
		return rc;
	if (!tsarc_pack_read_span(rd->repo, w->r->codec, p->pack, r->span_off, r->span_len,
		    w->refs, w->offsets, w->lengths, r->count, 1, &w->r->sealed, &w->r->scratch,
		    w->plain.ptr)) {
		counted(rd, r->count, r->span_len);
		return 0;
	}
	/* Which chunk, which copy, and why: each read again alone. */
	tsarc_error_clear();
	for (i = 0; i < r->count; i++)
		if ((rc = read_alone(rd, w, &p[i])))
			return rc;
	return 0;
}

static void worker_free(void *state)
{
	worker *w = state;

	if (!w)
		return;
	tsarc_chunk_reader_free(w->r);
	free(w->refs);
	free(w->offsets);
	free(w->lengths);
	tsarc_buf_dispose(&w->plain);
	free(w);
}

static void *worker_new(void *ctx)
{
	worker *w = calloc(1, sizeof(*w));

	if (w && !(w->r = tsarc_chunk_reader_new(((reader *)ctx)->repo))) {
		free(w);
		return NULL;
	}
	return w;
}

/* A place for each of the n chunks, not placed yet. */
static int places_new(reader *rd, size_t n)
{
	size_t i;

	if (!(rd->places = calloc(n, sizeof(*rd->places)))) {
		pthread_mutex_destroy(&rd->lock);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		rd->places[i].id = rd->chunks[i]->id;
		rd->places[i].chunk = i;
	}
	return 0;
}

/* Reads the places rd.places[0..n), sorted by cmp_where, and frees them. */
static int read_places(reader *rd, size_t n, unsigned parallel)
{
	size_t nruns;
	int rc = 0;

	if (!(rd->runs = malloc(n * sizeof(*rd->runs)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	nruns = make_runs(rd, n);
	if (!parallel)
		parallel = rd->repo->store->max_inflight < 2 ? 2 : rd->repo->store->max_inflight;
	rc = tsarc_parallel_for(nruns, parallel, read_run_at, rd, worker_new, worker_free);
done:
	free(rd->places);
	free(rd->runs);
	pthread_mutex_destroy(&rd->lock);
	return rc;
}

int tsarc_check_read_chunks(tsarc_repo *repo, const tsarc_chunk_ref **chunks, size_t n,
	unsigned parallel, tsarc_check_damaged_fn damaged, void *payload, size_t *chunks_read,
	uint64_t *bytes_read)
{
	reader rd = {repo, chunks, NULL, NULL, PTHREAD_MUTEX_INITIALIZER, damaged, payload,
		chunks_read, bytes_read, 0};
	int rc;

	if (!n)
		return 0;
	if ((rc = places_new(&rd, n)))
		return rc;
	if (repo->version >= 2 && (rc = resolve(&rd, n))) {
		free(rd.places);
		pthread_mutex_destroy(&rd.lock);
		return rc;
	}
	qsort(rd.places, n, sizeof(*rd.places), cmp_where);
	return read_places(&rd, n, parallel);
}

int tsarc_check_read_placed(tsarc_repo *repo, const tsarc_chunk_ref **chunks,
	const tsarc_check_place *where, size_t n, unsigned parallel,
	tsarc_check_damaged_fn damaged, void *payload, size_t *chunks_read, uint64_t *bytes_read)
{
	reader rd = {repo, chunks, NULL, NULL, PTHREAD_MUTEX_INITIALIZER, damaged, payload,
		chunks_read, bytes_read, 1};
	size_t i;
	int rc;

	if (!n)
		return 0;
	if ((rc = places_new(&rd, n)))
		return rc;
	for (i = 0; i < n; i++) {
		place *p = &rd.places[i];
		if ((p->placed = where[i].placed)) {
			memcpy(p->pack, where[i].pack, TSARC_ID_LEN);
			p->offset = where[i].offset;
			p->length = where[i].length;
		}
		if (i && cmp_where(p - 1, p) > 0) {
			free(rd.places);
			pthread_mutex_destroy(&rd.lock);
			return tsarc_error_set(TSARC_EINVAL, "check: chunks to read not in pack order");
		}
	}
	return read_places(&rd, n, parallel);
}
