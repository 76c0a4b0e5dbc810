#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include "extract.h"
#include "error_save.h"
#include "fileio.h"
#include "parallel.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PARALLEL 64

void tsarc__pipe_grow(int fd)
{
	/* 1 MiB is the default ceiling for unprivileged processes; failure
	 * (not a pipe, or a lower ceiling) leaves the pipe as it was. */
	(void)fcntl(fd, F_SETPIPE_SZ, 1024 * 1024);
}

int tsarc_sink_fd(void *payload, const uint8_t *data, size_t len)
{
	if (tsarc_write_all(*(int *)payload, data, len) != 0)
		return tsarc_error_set(errno == EPIPE ? TSARC_ECANCELED : TSARC_EIO,
			"writing the output: %s", strerror(errno));
	return 0;
}

enum slot_state { SLOT_FREE, SLOT_BUSY, SLOT_READY, SLOT_FAILED };

typedef struct slot {
	enum slot_state state;
	tsarc_buf data;
	tsarc_saved_error err; /* of a failed fetch, for the consumer's thread */
} slot;

typedef struct extractor {
	tsarc_repo *repo;
	const tsarc_stream *st;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	slot *slots;
	size_t window;
	size_t next_fetch; /* next chunk index to fetch */
	size_t consumed;   /* chunks already handed to the sink */
	int stop;
} extractor;

static void *fetch_main(void *arg)
{
	extractor *x = arg;
	tsarc_codec *codec = NULL;
	tsarc_buf sealed = TSARC_BUF_INIT, scratch = TSARC_BUF_INIT;
	int codec_rc = tsarc_codec_new(&codec, x->repo->codec, x->repo->level);

	for (;;) {
		size_t idx;
		slot *s;
		int rc;

		pthread_mutex_lock(&x->lock);
		while (!x->stop && x->next_fetch < x->st->nchunks &&
			x->next_fetch >= x->consumed + x->window)
			pthread_cond_wait(&x->cv, &x->lock);
		if (x->stop || x->next_fetch >= x->st->nchunks) {
			pthread_mutex_unlock(&x->lock);
			break;
		}
		idx = x->next_fetch++;
		s = &x->slots[idx % x->window];
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&x->lock);

		/* The GCM tag (with the id as associated data) authenticates each
		 * chunk and the whole-stream SHA-256 covers their order, so the
		 * id is not recomputed here; check --read-data does that. */
		rc = codec ? tsarc_repo_read_chunk(x->repo, codec, x->st->chunks[idx].id,
				     x->st->chunks[idx].size, 0, &sealed, &scratch, &s->data)
			   : codec_rc;
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
	tsarc_codec_free(codec);
	tsarc_buf_dispose(&sealed);
	tsarc_buf_dispose(&scratch);
	return NULL;
}

int tsarc_stream_extract(tsarc_repo *repo, const tsarc_stream *st,
	tsarc_sink_fn sink, void *payload, unsigned parallel)
{
	extractor x;
	pthread_t threads[MAX_PARALLEL];
	tsarc_sha256_ctx *sha = NULL;
	uint8_t digest[32];
	unsigned nthreads = 0, i;
	size_t k;
	int rc = 0;

	memset(&x, 0, sizeof(x));
	x.repo = repo;
	x.st = st;
	if (!parallel)
		parallel = repo->store->max_inflight < 2 ? 2 : repo->store->max_inflight;
	if (parallel > MAX_PARALLEL)
		parallel = MAX_PARALLEL;
	/* Two chunks per fetcher keep them busy while the sink writes. */
	x.window = 2 * (size_t)parallel;
	if (!(x.slots = calloc(x.window, sizeof(slot))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pthread_mutex_init(&x.lock, NULL);
	pthread_cond_init(&x.cv, NULL);
	if ((rc = tsarc_sha256_new(&sha)))
		goto done;
	for (i = 0; i < parallel && i < st->nchunks; i++) {
		if (pthread_create(&threads[i], NULL, fetch_main, &x) != 0) {
			rc = tsarc_error_set(TSARC_EGENERIC, "cannot start a thread");
			goto done;
		}
		nthreads++;
	}
	for (k = 0; k < st->nchunks; k++) {
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
		s->state = SLOT_FREE;
		x.consumed++;
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
	for (k = 0; k < x.window; k++)
		tsarc_buf_dispose(&x.slots[k].data);
	free(x.slots);
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

static void *verifier_new(void *ctx)
{
	return tsarc_chunk_reader_new(((void **)ctx)[0]);
}

static int verify_one(size_t i, void *ctx, void *worker)
{
	tsarc_repo *repo = ((void **)ctx)[0];
	const tsarc_stream *st = ((void **)ctx)[1];
	tsarc_chunk_reader *v = worker;
	int rc = tsarc_repo_read_chunk(repo, v->codec, st->chunks[i].id, st->chunks[i].size, 1,
		&v->sealed, &v->scratch, &v->plain);

	if (rc)
		tsarc_error_prefix("stream '%s'", st->name);
	return rc;
}

int tsarc_stream_verify(tsarc_repo *repo, const tsarc_stream *st, unsigned parallel)
{
	void *ctx[2] = {repo, (void *)st};

	if (!parallel)
		parallel = repo->store->max_inflight < 2 ? 2 : repo->store->max_inflight;
	return tsarc_parallel_for(st->nchunks, parallel, verify_one, ctx, verifier_new,
		tsarc_chunk_reader_free);
}
