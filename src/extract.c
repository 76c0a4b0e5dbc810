#include "extract.h"
#include "error_save.h"
#include "fileio.h"
#include "index.h"
#include "pack.h"
#include "parallel.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PARALLEL 64

int tsarc_sink_fd(void *payload, const uint8_t *data, size_t len)
{
	if (tsarc_write_all(*(int *)payload, data, len) != 0)
		return tsarc_error_set(errno == EPIPE ? TSARC_ECANCELED : TSARC_EIO,
			"writing the output: %s", strerror(errno));
	return 0;
}

enum slot_state { SLOT_FREE, SLOT_BUSY, SLOT_READY, SLOT_FAILED };

/*
 * Format 2 keeps chunks small (64 KiB on average) and packs them about in
 * the order a backup cut them (compression on several threads swaps
 * neighbours), so a stream's chunks mostly lie close together in its
 * packs. A fetcher takes a run of them at once: consecutive chunks of the
 * stream whose blobs lie in one span of one pack, that span read with one
 * range read (not one request, open and index lookup per chunk). The span
 * may hold up to RUN_GAP bytes of other blobs, read for nothing; a run
 * holds up to RUN_PLAIN bytes of plaintext (less with many fetchers,
 * RUN_WINDOW_BYTES), so the runs in flight hold what format 1's chunks of
 * 1 MiB did. Where the chunks are is looked up
 * RESOLVE chunks at a time, their ids sorted: one read and authentication
 * of each block of the index table they fall in, instead of one per chunk.
 */
#define RUN_PLAIN TSARC_PACK_RUN_MAX
/* The plaintext of all the runs in flight together: a store with many
 * requests in flight (S3: 16, so 32 runs) gets shorter runs (512 KiB), so
 * that a dump's peak memory stays where it was (measured on RGW: 46.5 MiB,
 * as with a request per chunk; 1 MiB runs there took 61 MiB). */
#define RUN_WINDOW_BYTES (16u * 1024u * 1024u)
#define RUN_PLAIN_MIN (64u * 1024u)
#define RUN_GAP TSARC_PACK_RUN_GAP
#define RUN_CHUNKS 128
#define RESOLVE 2048

/*
 * Every buffer that holds a chunk's plaintext (a slot's run, a chunk read
 * alone, the decrypted payload before decompression) is marked wipe
 * (tsarc/buf.h), whatever the stream: a stream of Secrets leaves no copy
 * in the memory it gives back. The buffers are reused from run to run,
 * so this costs a wipe of each when the stream ends and a copy at each
 * of its few growths, not a pass over the stream's bytes.
 */

typedef struct slot {
	enum slot_state state;
	size_t first, count; /* the run: chunks [first, first + count) */
	tsarc_buf data;
	tsarc_saved_error err; /* of a failed fetch, for the consumer's thread */
} slot;

typedef struct want {
	const uint8_t *id;
	size_t pos;
} want;

/* What one lookup of RESOLVE chunks works in, one allocation: their ids
 * sorted (wants, ids), the index's answers in that order (sorted_*), and
 * the same put back in stream order (hit, ok). */
typedef struct resolved {
	tsarc_index_hit hit[RESOLVE], sorted_hit[RESOLVE];
	uint8_t ok[RESOLVE], sorted_found[RESOLVE];
	want wants[RESOLVE];
	const uint8_t *ids[RESOLVE];
} resolved;

typedef struct extractor {
	tsarc_repo *repo;
	const tsarc_stream *st;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	slot *slots;
	size_t window;       /* runs in flight */
	size_t run_plain;    /* plaintext bytes a run holds at most */
	size_t next_fetch;   /* next chunk to fetch */
	size_t runs_fetched; /* runs taken by fetchers */
	size_t runs_done;    /* runs handed to the sink */
	int stop;
	/* Format 2: where chunks [res_first, res_first + res_n) are; res_ok[i]
	 * 0 when the index has no plausible place for one (it is then read
	 * alone, by the path that says what is wrong). */
	const struct tsarc_index *idx;
	size_t res_first, res_n;
	resolved *res;
} extractor;

static int want_cmp(const void *a, const void *b)
{
	return memcmp(((const want *)a)->id, ((const want *)b)->id, TSARC_ID_LEN);
}

/* Looks up chunks [from, from + RESOLVE). Caller holds x->lock. A lookup
 * that fails leaves them unresolved: read alone, they meet the error
 * again and report it. */
static void resolve(extractor *x, size_t from)
{
	const tsarc_chunk_ref *c = x->st->chunks;
	resolved *r = x->res;
	size_t n = x->st->nchunks - from < RESOLVE ? x->st->nchunks - from : RESOLVE, i;

	for (i = 0; i < n; i++) {
		r->wants[i].id = c[from + i].id;
		r->wants[i].pos = i;
	}
	qsort(r->wants, n, sizeof(want), want_cmp);
	for (i = 0; i < n; i++)
		r->ids[i] = r->wants[i].id;
	x->res_first = from;
	x->res_n = n;
	memset(r->ok, 0, n);
	if (tsarc_index_find_sorted(x->idx, r->ids, n, r->sorted_hit, r->sorted_found)) {
		tsarc_error_clear();
		return;
	}
	for (i = 0; i < n; i++) {
		size_t pos = r->wants[i].pos;
		const tsarc_index_hit *h = &r->sorted_hit[i];
		if (!r->sorted_found[i] || !tsarc_index_hit_plausible(h, c[from + pos].size))
			continue;
		r->hit[pos] = *h;
		r->ok[pos] = 1;
	}
}

typedef struct run {
	int packed; /* read with tsarc_pack_read_span */
	uint8_t pack[TSARC_ID_LEN];
	uint32_t span_off, span_len;
	size_t plain;
	uint32_t offsets[RUN_CHUNKS], lengths[RUN_CHUNKS];
} run;

/* The run that starts at chunk `first`: how many chunks. Caller holds
 * x->lock. */
static size_t take_run(extractor *x, size_t first, run *r)
{
	const tsarc_index_hit *h;
	uint64_t lo, hi, sum;
	size_t i, count = 1;

	r->packed = 0;
	if (!x->idx)
		return 1;
	if (first >= x->res_first + x->res_n)
		resolve(x, first);
	i = first - x->res_first;
	if (!x->res->ok[i])
		return 1;
	h = &x->res->hit[i];
	r->packed = 1;
	memcpy(r->pack, h->pack, TSARC_ID_LEN);
	r->offsets[0] = h->offset;
	r->lengths[0] = h->length;
	r->plain = h->plain;
	lo = h->offset;
	hi = (uint64_t)h->offset + h->length;
	sum = h->length; /* the bytes wanted in the span [lo, hi) */
	while (count < RUN_CHUNKS && i + count < x->res_n && x->res->ok[i + count]) {
		uint64_t nlo, nhi;
		h = &x->res->hit[i + count];
		nlo = h->offset < lo ? h->offset : lo;
		nhi = (uint64_t)h->offset + h->length > hi ? (uint64_t)h->offset + h->length : hi;
		if (memcmp(h->pack, r->pack, TSARC_ID_LEN) || r->plain + h->plain > x->run_plain ||
			nhi - nlo > sum + h->length + RUN_GAP)
			break;
		r->offsets[count] = h->offset;
		r->lengths[count++] = h->length;
		r->plain += h->plain;
		sum += h->length;
		lo = nlo;
		hi = nhi;
	}
	r->span_off = (uint32_t)lo;
	r->span_len = (uint32_t)(hi - lo);
	return count;
}

/* The chunks of a slot one by one, each through the index (all its
 * copies) or as its own object. */
static int read_each(extractor *x, tsarc_codec *codec, slot *s, tsarc_buf *sealed,
	tsarc_buf *scratch, tsarc_buf *one)
{
	const tsarc_chunk_ref *c = &x->st->chunks[s->first];
	size_t i;
	int rc;

	if (s->count == 1)
		return tsarc_repo_read_chunk(x->repo, codec, c->id, c->size, 0, sealed, scratch,
			&s->data);
	tsarc_buf_clear(&s->data);
	for (i = 0; i < s->count; i++)
		if ((rc = tsarc_repo_read_chunk(x->repo, codec, c[i].id, c[i].size, 0, sealed,
			     scratch, one)) ||
			(rc = tsarc_buf_append(&s->data, one->ptr, one->size)))
			return rc;
	return 0;
}

static int fetch(extractor *x, tsarc_codec *codec, slot *s, const run *r, tsarc_buf *sealed,
	tsarc_buf *scratch, tsarc_buf *one)
{
	int rc;

	/* The GCM tag (with the id as associated data) authenticates each
	 * chunk and the whole-stream SHA-256 covers their order, so the id
	 * is not recomputed here; check --read-data does that. */
	if (r->packed) {
		tsarc_buf_clear(&s->data);
		if ((rc = tsarc_buf_grow(&s->data, r->plain)))
			return rc;
		rc = tsarc_pack_read_span(x->repo, codec, r->pack, r->span_off, r->span_len,
			&x->st->chunks[s->first], r->offsets, r->lengths, s->count, 0, sealed,
			scratch, s->data.ptr);
		if (!rc) {
			s->data.size = r->plain;
			return 0;
		}
		tsarc_error_clear();
	}
	return read_each(x, codec, s, sealed, scratch, one);
}

static void *fetch_main(void *arg)
{
	extractor *x = arg;
	tsarc_codec *codec = NULL;
	tsarc_buf sealed = TSARC_BUF_INIT, scratch, one;
	int codec_rc = tsarc_codec_new(&codec, x->repo->codec, x->repo->level);
	run *r = malloc(sizeof(*r));

	/* Plaintext (scratch: decrypted, still compressed or stored as it
	 * is), marked wipe as the slots are (above struct slot). */
	tsarc_buf_init_wiped(&scratch);
	tsarc_buf_init_wiped(&one);

	for (;;) {
		slot *s;
		int rc;

		pthread_mutex_lock(&x->lock);
		while (!x->stop && x->next_fetch < x->st->nchunks &&
			x->runs_fetched >= x->runs_done + x->window)
			pthread_cond_wait(&x->cv, &x->lock);
		if (x->stop || x->next_fetch >= x->st->nchunks) {
			pthread_mutex_unlock(&x->lock);
			break;
		}
		s = &x->slots[x->runs_fetched++ % x->window];
		s->state = SLOT_BUSY;
		s->first = x->next_fetch;
		s->count = r ? take_run(x, s->first, r) : 1;
		x->next_fetch += s->count;
		pthread_mutex_unlock(&x->lock);

		rc = !codec ? codec_rc
		     : !r   ? tsarc_error_set(TSARC_ENOMEM, "out of memory")
			    : fetch(x, codec, s, r, &sealed, &scratch, &one);
		pthread_mutex_lock(&x->lock);
		if (rc) {
			s->state = SLOT_FAILED;
			tsarc_error_save(&s->err);
			s->err.code = rc;
		} else {
			s->state = SLOT_READY;
		}
		pthread_cond_broadcast(&x->cv);
		pthread_mutex_unlock(&x->lock);
	}
	free(r);
	tsarc_codec_free(codec);
	tsarc_buf_dispose(&sealed);
	tsarc_buf_dispose(&scratch);
	tsarc_buf_dispose(&one);
	return NULL;
}

/* Format 2: the index and the lookup arrays. A failure to open the index
 * leaves x->idx NULL: each chunk read alone then reports it. */
static int resolver_init(extractor *x)
{
	int rc;

	if (x->repo->version < 2 || !x->st->nchunks)
		return 0;
	if (!(x->idx = tsarc_repo_get_index(x->repo, &rc))) {
		tsarc_error_clear();
		return 0;
	}
	if (!(x->res = malloc(sizeof(*x->res))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return 0;
}

int tsarc_stream_extract(tsarc_repo *repo, const tsarc_stream *st,
	tsarc_sink_fn sink, void *payload, unsigned parallel)
{
	extractor x;
	pthread_t threads[MAX_PARALLEL];
	tsarc_sha256_ctx *sha = NULL;
	uint8_t digest[32];
	unsigned nthreads = 0, i;
	size_t k, done;
	int rc = 0;

	memset(&x, 0, sizeof(x));
	x.repo = repo;
	x.st = st;
	if (!parallel)
		parallel = repo->store->max_inflight < 2 ? 2 : repo->store->max_inflight;
	if (parallel > MAX_PARALLEL)
		parallel = MAX_PARALLEL;
	/* Two runs per fetcher keep them busy while the sink writes. */
	x.window = 2 * (size_t)parallel;
	x.run_plain = RUN_WINDOW_BYTES / x.window;
	x.run_plain = x.run_plain > RUN_PLAIN ? RUN_PLAIN : x.run_plain < RUN_PLAIN_MIN ? RUN_PLAIN_MIN : x.run_plain;
	if (!(x.slots = calloc(x.window, sizeof(slot))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (k = 0; k < x.window; k++)
		tsarc_buf_init_wiped(&x.slots[k].data);
	pthread_mutex_init(&x.lock, NULL);
	pthread_cond_init(&x.cv, NULL);
	if ((rc = resolver_init(&x)) || (rc = tsarc_sha256_new(&sha)))
		goto done;
	for (i = 0; i < parallel && i < st->nchunks; i++) {
		if (pthread_create(&threads[i], NULL, fetch_main, &x) != 0) {
			rc = tsarc_error_set(TSARC_EGENERIC, "cannot start a thread");
			goto done;
		}
		nthreads++;
	}
	for (k = 0, done = 0; done < st->nchunks; k++) {
		slot *s = &x.slots[k % x.window];
		pthread_mutex_lock(&x.lock);
		while (s->state != SLOT_READY && s->state != SLOT_FAILED)
			pthread_cond_wait(&x.cv, &x.lock);
		pthread_mutex_unlock(&x.lock);
		if (s->state == SLOT_FAILED) {
			rc = tsarc_error_restore(&s->err);
			goto done;
		}
		if ((rc = tsarc_sha256_update(sha, s->data.ptr, s->data.size)) ||
			(rc = sink(payload, s->data.ptr, s->data.size)))
			goto done;
		pthread_mutex_lock(&x.lock);
		done += s->count;
		s->state = SLOT_FREE;
		x.runs_done++;
		pthread_cond_broadcast(&x.cv);
		pthread_mutex_unlock(&x.lock);
	}
	if ((rc = tsarc_sha256_final(sha, digest)))
		goto done;
	if (memcmp(digest, st->sha256, 32) != 0)
		rc = tsarc_error_set(TSARC_ECORRUPT,
			"stream '%s': SHA-256 of the restored bytes does not match the manifest",
			st->name);
done:
	pthread_mutex_lock(&x.lock);
	x.stop = 1;
	pthread_cond_broadcast(&x.cv);
	pthread_mutex_unlock(&x.lock);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	for (k = 0; k < x.window; k++) {
		tsarc_buf_dispose(&x.slots[k].data);
		tsarc_error_forget(&x.slots[k].err);
	}
	free(x.slots);
	free(x.res);
	tsarc_sha256_free(sha);
	pthread_cond_destroy(&x.cv);
	pthread_mutex_destroy(&x.lock);
	return rc;
}

tsarc_chunk_reader *tsarc_chunk_reader_new(const tsarc_repo *repo)
{
	tsarc_chunk_reader *r = calloc(1, sizeof(*r));

	if (r && tsarc_codec_new(&r->codec, repo->codec, repo->level)) {
		free(r);
		return NULL;
	}
	if (r) {
		tsarc_buf_init_wiped(&r->scratch);
		tsarc_buf_init_wiped(&r->plain);
	}
	return r;
}

void tsarc_chunk_reader_free(void *reader)
{
	tsarc_chunk_reader *r = reader;

	if (!r)
		return;
	tsarc_codec_free(r->codec);
	tsarc_buf_dispose(&r->sealed);
	tsarc_buf_dispose(&r->scratch);
	tsarc_buf_dispose(&r->plain);
	free(r);
}

static int discard(void *payload, const uint8_t *data, size_t len)
{
	(void)payload;
	(void)data;
	(void)len;
	return 0;
}

int tsarc_stream_verify(tsarc_repo *repo, const tsarc_stream *st, unsigned parallel)
{
	int rc = tsarc_stream_extract(repo, st, discard, NULL, parallel);
	char named[300];

	/* A chunk's error names the chunk (and its pack), not the stream; the
	 * whole-stream digest's starts with it. */
	snprintf(named, sizeof(named), "stream '%s'", st->name);
	if (rc && strncmp(tsarc_error_last()->message, named, strlen(named)))
		tsarc_error_prefix("%s", named);
	return rc;
}
