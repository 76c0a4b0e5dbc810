/*
 * The backup pipeline.
 *
 *   reader (caller's thread, one per stream): read, gear-hash chunking;
 *       hands each chunk on in order
 *   digest stage (one thread): whole-stream SHA-256, in order, so the
 *       reader is not bound by it; DIGEST_BATCH chunks per wake-up
 *   compute workers (one per CPU): chunk id (HMAC), dedup against the
 *       repository's chunk set, compress, encrypt; format 2: add the
 *       sealed chunk to the packer, whose own threads store full packs
 *       (packer.h); the index for the packs is written at commit,
 *       before the manifest
 *   upload workers (format 1, as many as the store wants in flight): put
 *       each chunk as its own object
 *
 * With chunks of 64 KiB (format 2) a hand-off per chunk between threads
 * cost more than some of the work: stages take several chunks per
 * wake-up, and format 2 has no upload stage (measured: voluntary context
 * switches for 1 GiB from 43k to 2.6k).
 *
 * Memory is bounded by a byte budget that every chunk holds from the
 * moment it is cut until it is stored (or found to be a duplicate), so
 * readers block when the store or the CPUs fall behind.
 */
#include "backup_priv.h"
#include "extract.h"
#include "index.h"
#include "log.h"
#include "names.h"
#include "interrupt.h"
#include "lock.h"
#include "tsarc/errors.h"
#include "wipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIGEST_BATCH 16

void tsarc__backup_fail(tsarc_backup *b, int code)
{
	/* Caller holds b->lock. The first failure wins: later ones are
	 * usually consequences of it. */
	if (!b->failed) {
		b->failed = 1;
		tsarc_error_save(&b->fail);
		b->fail.code = code;
	}
	pthread_cond_broadcast(&b->space_cv);
	pthread_cond_broadcast(&b->work_cv);
	pthread_cond_broadcast(&b->upload_cv);
	pthread_cond_broadcast(&b->digest_cv);
	pthread_cond_broadcast(&b->digested_cv);
}

int tsarc__backup_raise(tsarc_backup *b)
{
	return tsarc_error_restore(&b->fail);
}

void tsarc__backup_queue_push(job_queue *q, job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static job *queue_pop(job_queue *q)
{
	job *j = q->head;

	if (j) {
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
	}
	return j;
}

void tsarc__backup_block_put(in_block *blk)
{
	if (blk && atomic_fetch_sub(&blk->refs, 1) == 1) {
		if (blk->wipe)
			tsarc_secure_zero(blk->data, blk->cap);
		free(blk);
	}
}

void tsarc__backup_job_drop_data(job *j)
{
	if (j->blk)
		tsarc__backup_block_put(j->blk);
	else
		free(j->data);
	j->blk = NULL;
	j->data = NULL;
}

void tsarc__backup_job_free(job *j)
{
	if (!j)
		return;
	tsarc__backup_job_drop_data(j);
	tsarc_buf_dispose(&j->sealed);
	free(j);
}

/* A stage's next job; NULL once the pipeline stops and the queue is empty. */
static job *next_job(tsarc_backup *b, job_queue *q, pthread_cond_t *cv)
{
	job *j;

	pthread_mutex_lock(&b->lock);
	while (!q->head && !b->stopping)
		pthread_cond_wait(cv, &b->lock);
	j = queue_pop(q);
	pthread_mutex_unlock(&b->lock);
	return j;
}

/* Caller holds b->lock. The reader waiting for room (submit) is woken
 * once the room it asked for is free, not at every job (one wake-up per
 * several small chunks finished); the commit once no job is left. */
static void job_finished(tsarc_backup *b, job *j)
{
	b->in_flight -= j->charge;
	b->outstanding--;
	if (!b->outstanding || (b->space_wanted && (b->in_flight == 0 ||
						     b->in_flight + b->space_wanted <= b->budget)))
		pthread_cond_broadcast(&b->space_cv);
}

/* The end of a job that goes no further: its failure (rc) recorded, its
 * memory charge given back, the job freed. Takes b->lock. */
static void job_done(tsarc_backup *b, job *j, int rc)
{
	pthread_mutex_lock(&b->lock);
	if (rc)
		tsarc__backup_fail(b, rc);
	job_finished(b, j);
	pthread_mutex_unlock(&b->lock);
	tsarc__backup_job_free(j);
}

/* Up to DIGEST_BATCH jobs queued, in order, as a list; blocks while there
 * is none. NULL once the pipeline stops and the queue is empty. */
static job *take_batch(tsarc_backup *b, job_queue *q, pthread_cond_t *cv)
{
	job *head, *last;
	size_t n;

	pthread_mutex_lock(&b->lock);
	while (!q->head && !b->stopping)
		pthread_cond_wait(cv, &b->lock);
	head = last = q->head;
	for (n = 1; last && last->next && n < DIGEST_BATCH; n++)
		last = last->next;
	if (last) {
		q->head = last->next;
		if (!q->head)
			q->tail = NULL;
		last->next = NULL;
	}
	pthread_mutex_unlock(&b->lock);
	return head;
}

/* Caller holds b->lock: the jobs of list `head` finished (rc their
 * failure, 0 if none), unlinked into *freed for the caller to free
 * without the lock. */
static void jobs_finished(tsarc_backup *b, job *head, int rc, job **freed)
{
	job *j;

	if (rc)
		tsarc__backup_fail(b, rc);
	while ((j = head) != NULL) {
		head = j->next;
		job_finished(b, j);
		j->next = *freed;
		*freed = j;
	}
}

static void free_jobs(job *head)
{
	job *j;

	while ((j = head) != NULL) {
		head = j->next;
		tsarc__backup_job_free(j);
	}
}

/* Hashes each stream's chunks in the order they were cut, then hands
 * them to the compute workers, DIGEST_BATCH at a time under one lock and
 * one wake-up (64 KiB chunks made a lock round and a wake-up per chunk
 * cost more than the hashing); not more, so the workers start on the
 * first chunks while the digest goes on. */
static void *digest_main(void *arg)
{
	tsarc_backup *b = arg;
	job *batch, *j, *done;
	size_t n;
	int rc = 0;

	while ((batch = take_batch(b, &b->digest_q, &b->digest_cv)) != NULL) {
		for (j = batch; j && !rc && !b->failed; j = j->next)
			rc = tsarc_sha256_update(j->ps->sha, j->data, j->len);
		done = NULL;
		pthread_mutex_lock(&b->lock);
		for (n = 0, j = batch; j; j = j->next, n++)
			j->ps->undigested--;
		pthread_cond_broadcast(&b->digested_cv);
		if (rc || b->failed)
			jobs_finished(b, batch, rc, &done);
		else
			while ((j = batch) != NULL) {
				batch = j->next;
				tsarc__backup_queue_push(&b->compute_q, j);
			}
		if (n > 1)
			pthread_cond_broadcast(&b->work_cv);
		else
			pthread_cond_signal(&b->work_cv);
		pthread_mutex_unlock(&b->lock);
		free_jobs(done);
	}
	return NULL;
}

/*
 * Dedup trusts an object in data/ only when its size is one the chunk can
 * have: a crash can leave a correctly named empty or short file (torn
 * write), and a snapshot that relied on it would be lost. A damaged one is
 * stored again, over it; returns 1 when this caller must do so. (Format 1:
 * format 2's answers from the index are checked by
 * tsarc_index_known_find.)
 */
static int reclaim_damaged(tsarc_backup *b, const uint8_t id[TSARC_ID_LEN], size_t len)
{
	char hex[TSARC_ID_HEX_LEN + 1];
	uint64_t lo, hi;
	uint32_t found;

	tsarc_repo_chunk_size_bounds(len, &lo, &hi);
	if (!tsarc_chunkset_reclaim(b->known, id, lo, hi, &found))
		return 0;
	tsarc_hex_encode(hex, id, TSARC_ID_LEN);
	tsarc__log(TSARC_LOG_WARN, "backup", "chunk_stored_again", "chunk %.16s in the "
		"repository is damaged (%lu bytes; this chunk takes %llu to %llu): storing it again",
		hex,
		(unsigned long)found, (unsigned long long)lo, (unsigned long long)hi);
	return 1;
}

/* Stores a sealed chunk: into the packer (format 2) or as its object. */
static int store_sealed(tsarc_backup *b, job *j)
{
	char hex[TSARC_ID_HEX_LEN + 1];
	int rc;

	tsarc_hex_encode(hex, j->slot->id, TSARC_ID_LEN);
	rc = b->packer ? tsarc_packer_add(b->packer, j->slot->id, j->sealed.ptr, j->sealed.size,
			       (uint32_t)j->len)
		       : tsarc_store_put(b->repo->store, TSARC_OBJ_DATA, hex, j->sealed.ptr,
			       j->sealed.size, 0);
	if (rc) {
		tsarc_error_prefix("storing chunk %.16s", hex);
		tsarc_chunkset_drop(b->known, j->slot->id);
		return rc;
	}
	tsarc_chunkset_set_size(b->known, j->slot->id, (uint32_t)j->sealed.size);
	atomic_fetch_add(&b->new_chunks, 1);
	atomic_fetch_add(&b->new_bytes, j->len);
	atomic_fetch_add(&b->stored_bytes, j->sealed.size);
	return 0;
}

static void *compute_main(void *arg)
{
	tsarc_backup *b = arg;
	tsarc_codec *codec = NULL;
	tsarc_hmac_ctx *ids = NULL;
	tsarc_buf scratch;
	uint8_t id[TSARC_ID_LEN];
	int rc, added, indexed, setup_rc;
	job *j;

	/* The chunk compressed (or stored as it is) before sealing: a
	 * secret stream's plaintext, wiped when the worker ends, whatever
	 * the stream (one wipe of one buffer a worker). */
	tsarc_buf_init_wiped(&scratch);

	/* One id context per worker: HMAC set up once, not per chunk. */
	if (!(setup_rc = tsarc_codec_new(&codec, b->repo->codec, b->repo->level)))
		setup_rc = tsarc_repo_chunk_id_ctx(b->repo, &ids);
	while ((j = next_job(b, &b->compute_q, &b->work_cv)) != NULL) {
		rc = setup_rc;
		if (b->failed || rc)
			goto finished;
		if ((rc = tsarc_hmac_mac(ids, j->data, j->len, id)))
			goto finished;
		memcpy(j->slot->id, id, TSARC_ID_LEN);
		j->slot->size = (uint32_t)j->len;
		/* Format 2: a chunk the index holds is done, its stored size in
		 * its reference (`known` is for the chunks this backup stores). */
		if (b->index_known) {
			if ((rc = tsarc_index_known_find(b->index_known, id, j->len, &j->slot->stored,
				     &indexed)) ||
				indexed)
				goto finished;
		}
		if ((rc = tsarc_chunkset_claim(b->known, id, TSARC_CHUNK_SIZE_UNKNOWN, &added)))
			goto finished;
		if (!added && !reclaim_damaged(b, id, j->len))
			goto finished; /* already stored, or being stored by another job */
		rc = tsarc_repo_seal_chunk(b->repo, codec, id, j->data, j->len, &scratch,
			&j->sealed);
		if (rc) {
			tsarc_chunkset_drop(b->known, id);
			goto finished;
		}
		tsarc__backup_job_drop_data(j);
		/* Format 2: into the packer at once (its own threads store
		 * the packs), not through the upload stage and a wake-up of
		 * an uploader per chunk. */
		if (b->packer) {
			rc = store_sealed(b, j);
			goto finished;
		}
		pthread_mutex_lock(&b->lock);
		tsarc__backup_queue_push(&b->upload_q, j);
		pthread_cond_signal(&b->upload_cv);
		pthread_mutex_unlock(&b->lock);
		continue;
finished:
		job_done(b, j, rc);
		rc = 0;
	}
	tsarc_codec_free(codec);
	tsarc_hmac_free(ids);
	tsarc_buf_dispose(&scratch);
	return NULL;
}

/* Format 1: one request per chunk, many in flight. */
static void *upload_main(void *arg)
{
	tsarc_backup *b = arg;
	job *j;

	while ((j = next_job(b, &b->upload_q, &b->upload_cv)) != NULL)
		job_done(b, j, b->failed ? 0 : store_sealed(b, j));
	return NULL;
}

static unsigned cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

static int start_threads(tsarc_backup *b, unsigned workers, unsigned uploaders)
{
	unsigned i;

	if (pthread_create(&b->digester, NULL, digest_main, b) != 0)
		return tsarc_error_set(TSARC_EGENERIC, "cannot start the digest thread");
	b->digester_running = 1;
	for (i = 0; i < workers; i++) {
		if (pthread_create(&b->workers[i], NULL, compute_main, b) != 0)
			return tsarc_error_set(TSARC_EGENERIC, "cannot start worker thread");
		b->nworkers++;
	}
	for (i = 0; i < uploaders; i++) {
		if (pthread_create(&b->uploaders[i], NULL, upload_main, b) != 0)
			return tsarc_error_set(TSARC_EGENERIC, "cannot start upload thread");
		b->nuploaders++;
	}
	return 0;
}

static void stop_threads(tsarc_backup *b)
{
	unsigned i;

	pthread_mutex_lock(&b->lock);
	b->stopping = 1;
	pthread_cond_broadcast(&b->digest_cv);
	pthread_cond_broadcast(&b->work_cv);
	pthread_cond_broadcast(&b->upload_cv);
	pthread_mutex_unlock(&b->lock);
	if (b->digester_running)
		pthread_join(b->digester, NULL);
	b->digester_running = 0;
	for (i = 0; i < b->nworkers; i++)
		pthread_join(b->workers[i], NULL);
	for (i = 0; i < b->nuploaders; i++)
		pthread_join(b->uploaders[i], NULL);
	b->nworkers = b->nuploaders = 0;
}

int tsarc_backup_new(tsarc_backup **out, tsarc_repo *repo,
	const tsarc_backup_options *opts)
{
	tsarc_backup_options defaults;
	tsarc_backup *b;
	char host[256] = "";
	unsigned workers, uploaders;
	size_t i, per_job;
	int rc;

	*out = NULL;
	if (!opts) {
		memset(&defaults, 0, sizeof(defaults));
		opts = &defaults;
	}
	/* Words operators will read: refused before anything is made or
	 * written (names.h). */
	if (opts->host && (rc = tsarc_text_check(TSARC_EINVAL, "host", opts->host)))
		return rc;
	for (i = 0; i < opts->ntags; i++)
		if ((rc = tsarc_text_check(TSARC_EINVAL, "tag", opts->tags[i])))
			return rc;
	if (!(b = calloc(1, sizeof(*b))) || !(b->snap = calloc(1, sizeof(*b->snap)))) {
		free(b);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	b->repo = repo;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->work_cv, NULL);
	pthread_cond_init(&b->upload_cv, NULL);
	pthread_cond_init(&b->space_cv, NULL);
	pthread_cond_init(&b->digest_cv, NULL);
	pthread_cond_init(&b->digested_cv, NULL);

	if (opts->time) {
		if ((rc = tsarc_time_parse(opts->time, &b->snap->time_unix)))
			goto fail;
		tsarc_time_format(b->snap->time_unix, 0, b->snap->time, sizeof(b->snap->time));
	} else {
		tsarc_time_now(b->snap->time, sizeof(b->snap->time), &b->snap->time_unix);
	}
	/* This machine's name is checked as a given one is: it is shown the same. */
	if (!opts->host && !gethostname(host, sizeof(host) - 1) &&
		(rc = tsarc_text_check(TSARC_EINVAL, "host (this machine's name)", host)))
		goto fail;
	rc = TSARC_ENOMEM;
	if (!(b->snap->host = strdup(opts->host ? opts->host : host)) ||
		!(b->snap->tool_version = strdup(TSARC_VERSION)) ||
		(opts->ntags && !(b->snap->tags = calloc(opts->ntags, sizeof(char *))))) {
		tsarc_error_set(rc, "out of memory");
		goto fail;
	}
	for (i = 0; i < opts->ntags; i++) {
		if (!(b->snap->tags[i] = strdup(opts->tags[i]))) {
			tsarc_error_set(rc, "out of memory");
			goto fail;
		}
		b->snap->ntags++;
	}
	if (opts->meta && !(b->snap->meta = cJSON_Duplicate(opts->meta, 1))) {
		tsarc_error_set(rc, "out of memory");
		goto fail;
	}
	/* Before listing the chunks: from here on prune cannot remove any. */
	if ((rc = tsarc_lock_acquire(&b->repo_lock, repo, 0)))
		goto fail;

	/* What the repository already holds: a chunk found here is never
	 * uploaded again. */
	if ((rc = tsarc_chunkset_new(&b->known)) ||
		(rc = repo->version >= 2 ? tsarc_index_known_open(repo, &b->index_known)
					 : tsarc_chunkset_load(b->known, repo->store))) {
		tsarc_error_prefix("listing the chunks in the repository");
		goto fail;
	}

	workers = opts->workers ? opts->workers : cpu_count();
	if (workers > MAX_WORKERS)
		workers = MAX_WORKERS;
	uploaders = repo->store->max_inflight ? repo->store->max_inflight : 2;
	if (uploaders > MAX_UPLOADERS)
		uploaders = MAX_UPLOADERS;
	/* Enough for every thread to hold an average chunk in both plain and
	 * sealed form, plus a queue of two per thread. */
	per_job = 2 * (size_t)repo->chunker.avg_size;
	b->budget = opts->memory_budget ? opts->memory_budget
					: per_job * (workers + uploaders + 2);
	if (!opts->memory_budget && b->budget < BUDGET_MIN)
		b->budget = BUDGET_MIN;
	/* Two packs in flight keep the store busy; more only cost memory. */
	if (repo->version >= 2 &&
		(rc = tsarc_packer_new(&b->packer, repo, uploaders < 2 ? uploaders : 2)))
		goto fail;
	if ((rc = start_threads(b, workers, b->packer ? 0 : uploaders)))
		goto fail;
	*out = b;
	return 0;
fail:
	tsarc_backup_free(b);
	return rc;
}

/* Moves the finished chunk lists into the manifest, with each chunk's
 * stored size from the chunk set. */
static int assemble(tsarc_backup *b)
{
	size_t i, k;

	if (!(b->snap->streams = calloc(b->nstreams ? b->nstreams : 1, sizeof(tsarc_stream))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; i < b->nstreams; i++) {
		pending_stream *ps = b->streams[i];
		tsarc_stream *st;
		if (ps->abandoned)
			continue;
		st = &b->snap->streams[b->snap->nstreams];
		*st = ps->st;
		memset(&ps->st, 0, sizeof(ps->st));
		b->snap->nstreams++;
		if (ps->nrefs && !(st->chunks = malloc(ps->nrefs * sizeof(tsarc_chunk_ref))))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		for (k = 0; k < ps->nrefs; k++) {
			tsarc_chunk_ref *r = &ps->blocks[k / REFS_PER_BLOCK][k % REFS_PER_BLOCK];
			uint32_t stored = r->stored;
			/* 0 (no sealed chunk is empty): this backup stored it, or
			 * met it again while another job did; the set knows. */
			if (!stored && (!tsarc_chunkset_lookup(b->known, r->id, &stored) ||
					       stored == TSARC_CHUNK_SIZE_UNKNOWN))
				return tsarc_error_set(TSARC_EGENERIC,
					"internal error: chunk %zu of '%s' was not stored", k, st->name);
			r->stored = stored;
			st->chunks[k] = *r;
		}
		st->nchunks = ps->nrefs;
	}
	return 0;
}

int tsarc_backup_commit(tsarc_backup *b, char id_out[TSARC_ID_HEX_LEN + 1])
{
	size_t i;
	int rc;

	pthread_mutex_lock(&b->lock);
	while (b->outstanding > 0 && !b->failed)
		pthread_cond_wait(&b->space_cv, &b->lock);
	for (i = 0; i < b->nstreams && !b->failed; i++)
		if (!b->streams[i]->complete && !b->streams[i]->abandoned)
			tsarc__backup_fail(b, tsarc_error_set(TSARC_EINVAL,
				"stream '%s' did not finish", b->streams[i]->st.name));
	pthread_mutex_unlock(&b->lock);
	stop_threads(b);
	if (b->failed)
		return tsarc__backup_raise(b);
	/* Format 2: the last pack stored, then the index that finds the
	 * chunks, all durable before the manifest that names them. */
	if (b->packer && (rc = tsarc_packer_finish(b->packer, NULL, NULL)))
		return rc;
	if ((rc = assemble(b)))
		return rc;
	/* Every chunk durable before the manifest that names them exists. */
	if ((rc = tsarc_store_sync(b->repo->store)))
		return rc;
	/* The last moment to find out that a prune may have deleted chunks
	 * this manifest names (it judged our lock stale, or someone removed
	 * it): then no manifest at all, rather than one that cannot restore. */
	if ((rc = tsarc_lock_check(b->repo_lock, NULL))) {
		tsarc_error_prefix("no snapshot was written");
		return rc;
	}
	/* A signal came: the streams may have ended because their producers
	 * were stopped (an optional one is then simply missing). No manifest. */
	if (tsarc_interrupted())
		return tsarc_interrupt_error();
	if ((rc = tsarc_snapshot_save(b->repo, b->snap)))
		return rc;
	if ((rc = tsarc_store_sync(b->repo->store)))
		return rc;
	memcpy(id_out, b->snap->id, TSARC_ID_HEX_LEN + 1);
	/* The snapshot is safe; a lock left behind only delays a prune. */
	if (tsarc_lock_release(b->repo_lock))
		tsarc__log(TSARC_LOG_WARN, "lock", "lock_not_removed",
			"could not remove the repository lock: %s", tsarc_error_last()->message);
	b->repo_lock = NULL;
	return 0;
}

tsarc_repo *tsarc_backup_repository(tsarc_backup *b)
{
	return b->repo;
}

void tsarc_backup_get_stats(tsarc_backup *b, tsarc_backup_stats *out)
{
	out->bytes_read = atomic_load(&b->bytes_read);
	out->chunks = atomic_load(&b->chunks);
	out->new_chunks = atomic_load(&b->new_chunks);
	out->new_bytes = atomic_load(&b->new_bytes);
	out->stored_bytes = atomic_load(&b->stored_bytes);
}

void tsarc_backup_free(tsarc_backup *b)
{
	tsarc_saved_error failure;
	size_t i, k;
	job *j;

	if (!b)
		return;
	/* Freed on a failure path before the failure is reported: what is
	 * undone here (the lock above all, whose removal a bucket policy may
	 * refuse as it refused the backup's writes) must not replace its
	 * error. A backup refused its data PUTs said only "DELETE .../locks/
	 * ...: access denied". */
	tsarc_error_save(&failure);
	pthread_mutex_lock(&b->lock);
	if (!b->failed && b->outstanding) {
		b->failed = 1;
		b->fail.code = TSARC_ECANCELED;
	}
	pthread_mutex_unlock(&b->lock);
	stop_threads(b);
	while ((j = queue_pop(&b->digest_q)))
		tsarc__backup_job_free(j);
	while ((j = queue_pop(&b->compute_q)))
		tsarc__backup_job_free(j);
	while ((j = queue_pop(&b->upload_q)))
		tsarc__backup_job_free(j);
	for (i = 0; i < b->nstreams; i++) {
		pending_stream *ps = b->streams[i];
		for (k = 0; k < ps->nblocks; k++)
			free(ps->blocks[k]);
		free(ps->blocks);
		free(ps->st.name);
		free(ps->st.kind);
		free(ps->st.chunks);
		cJSON_Delete(ps->st.meta);
		tsarc_sha256_free(ps->sha);
		free(ps);
	}
	free(b->streams);
	if (tsarc_lock_release(b->repo_lock))
		tsarc__log(TSARC_LOG_WARN, "lock", "lock_not_removed",
			"could not remove the repository lock: %s", tsarc_error_last()->message);
	tsarc_snapshot_free(b->snap);
	tsarc_chunkset_free(b->known);
	tsarc_index_known_free(b->index_known);
	tsarc_packer_free(b->packer);
	tsarc_error_forget(&b->fail);
	pthread_cond_destroy(&b->work_cv);
	pthread_cond_destroy(&b->upload_cv);
	pthread_cond_destroy(&b->space_cv);
	pthread_cond_destroy(&b->digest_cv);
	pthread_cond_destroy(&b->digested_cv);
	pthread_mutex_destroy(&b->lock);
	free(b);
	tsarc_error_restore(&failure);
}
