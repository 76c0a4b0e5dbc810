/*
 * The reader side of a backup: each stream is read and cut into chunks on
 * the caller's thread, and each chunk handed to the pipeline of backup.c
 * in order, within the byte budget; plus what a caller may say about a
 * stream once it is read (annotate, abandon).
 */
#include "backup_priv.h"
#include "grow.h"
#include "fileio.h"
#include "names.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Takes a slot in the stream's chunk list; blocks never move, so workers
 * can fill a slot while the reader keeps adding more. */
static tsarc_chunk_ref *next_slot(pending_stream *ps)
{
	size_t block = ps->nrefs / REFS_PER_BLOCK;

	if (block == ps->nblocks) {
		tsarc_chunk_ref **grown = realloc(ps->blocks, (block + 1) * sizeof(*grown));
		if (!grown)
			return NULL;
		ps->blocks = grown;
		if (!(ps->blocks[block] = calloc(REFS_PER_BLOCK, sizeof(tsarc_chunk_ref))))
			return NULL;
		ps->nblocks++;
	}
	return &ps->blocks[block][ps->nrefs++ % REFS_PER_BLOCK];
}

/* A job for `len` bytes at `data` in `blk` (which it then holds a
 * reference to); NULL when out of memory. */
static job *new_job(pending_stream *ps, in_block *blk, uint8_t *data, size_t len)
{
	job *j = calloc(1, sizeof(*j));

	if (!j || !(j->slot = next_slot(ps))) {
		free(j);
		return NULL;
	}
	j->ps = ps;
	atomic_fetch_add(&blk->refs, 1);
	j->blk = blk;
	j->data = data;
	j->len = len;
	j->charge = 2 * len;
	return j;
}

/* Hands the jobs of one read on in order, under one lock and with one
 * wake-up of the digest stage (not one per chunk). */
static int submit(tsarc_backup *b, pending_stream *ps, job *head)
{
	job *j;
	int rc = 0;

	pthread_mutex_lock(&b->lock);
	while ((j = head) != NULL) {
		/* Wait for room; a chunk larger than the whole budget still goes
		 * when nothing else is in flight. */
		if (!b->failed && b->in_flight > 0 && b->in_flight + j->charge > b->budget) {
			/* Once full, room for a quarter of the budget more: the
			 * stages then finish several jobs per wake-up of ours. */
			size_t want = j->charge + b->budget / 4;
			pthread_cond_signal(&b->digest_cv);
			b->space_wanted = want;
			while (!b->failed && b->in_flight > 0 && b->in_flight + want > b->budget)
				pthread_cond_wait(&b->space_cv, &b->lock);
			b->space_wanted = 0;
		}
		if (b->failed)
			break;
		head = j->next;
		atomic_fetch_add(&b->chunks, 1);
		b->in_flight += j->charge;
		b->outstanding++;
		ps->undigested++;
		tsarc__backup_queue_push(&b->digest_q, j);
	}
	if (head)
		rc = tsarc__backup_raise(b);
	pthread_cond_signal(&b->digest_cv);
	pthread_mutex_unlock(&b->lock);
	while ((j = head) != NULL) {
		head = j->next;
		tsarc__backup_job_free(j);
	}
	return rc;
}

static int add_pending_stream(tsarc_backup *b, pending_stream *ps)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&b->lock);
	for (i = 0; i < b->nstreams; i++) {
		if (!b->streams[i]->abandoned && !strcmp(b->streams[i]->st.name, ps->st.name)) {
			rc = tsarc_error_set(TSARC_EEXISTS,
				"the snapshot already has a stream named '%s'", ps->st.name);
			goto done;
		}
	}
	if ((rc = TSARC_RESERVE(b->streams, b->nstreams, b->streams_cap, 8)))
		goto done;
	b->streams[b->nstreams++] = ps;
done:
	pthread_mutex_unlock(&b->lock);
	return rc;
}

static int read_some(int fd, uint8_t *dst, size_t len, size_t *got)
{
	ssize_t n;

	do {
		n = read(fd, dst, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return tsarc_error_set(TSARC_EIO, "reading the input: %s", strerror(errno));
	*got = (size_t)n;
	return 0;
}

static in_block *block_new(size_t cap, int wipe)
{
	in_block *blk = malloc(sizeof(*blk) + cap);

	if (blk) {
		atomic_init(&blk->refs, 1);
		blk->cap = cap;
		blk->wipe = wipe;
	}
	return blk;
}

static int stream_fd(tsarc_backup *b, const char *name, const char *kind, int fd, cJSON *meta,
	int secret)
{
	pending_stream *ps;
	tsarc_chunker chunker;
	in_block *blk = NULL;
	job *head = NULL, **tail = &head;
	size_t filled = 0, cut = 0, scanned = 0, got = 0;
	int rc, boundary;

	if (!name || !*name || strlen(name) > 1024) {
		cJSON_Delete(meta);
		return tsarc_error_set(TSARC_EINVAL, "a stream needs a name of 1 to 1024 bytes");
	}
	/* Both are shown to operators later (names.h). */
	if ((rc = tsarc_text_check(TSARC_EINVAL, "stream name", name)) ||
		(kind && (rc = tsarc_text_check(TSARC_EINVAL, "stream kind", kind)))) {
		cJSON_Delete(meta);
		return rc;
	}
	if (!(ps = calloc(1, sizeof(*ps))) || !(ps->st.name = strdup(name)) ||
		!(ps->st.kind = strdup(kind ? kind : "stream"))) {
		if (ps) {
			free(ps->st.name);
			free(ps);
		}
		cJSON_Delete(meta);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	ps->st.meta = meta;
	ps->secret = secret;
	if ((rc = add_pending_stream(b, ps))) {
		free(ps->st.name);
		free(ps->st.kind);
		cJSON_Delete(ps->st.meta);
		free(ps);
		return rc;
	}
	tsarc_time_now(ps->st.start, sizeof(ps->st.start), NULL);
	if ((rc = tsarc_chunker_init(&chunker, &b->repo->chunker, b->repo->chunker_seed)) ||
		(rc = tsarc_sha256_new(&ps->sha)))
		goto done;
	tsarc_pipe_grow(fd);

	/* The input is read READ_STEP bytes at a time into blocks of READ_MAX
	 * bytes (plus the unfinished chunk carried over); the chunks cut point
	 * into their block, and only the unfinished chunk at a block's end is
	 * copied, to the start of the next. */
	for (;;) {
		if (!blk || filled == blk->cap) {
			size_t rest = filled - cut;
			in_block *next = block_new(rest + READ_MAX, ps->secret);
			if (!next) {
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
				goto done;
			}
			if (rest)
				memcpy(next->data, blk->data + cut, rest);
			tsarc__backup_block_put(blk);
			blk = next;
			scanned -= cut;
			filled = rest;
			cut = 0;
		}
		if ((rc = read_some(fd, blk->data + filled, blk->cap - filled < READ_STEP ?
				     blk->cap - filled : READ_STEP, &got)))
			goto done;
		if (got == 0)
			break;
		filled += got;
		ps->st.size += got;
		atomic_fetch_add(&b->bytes_read, got);
		while (scanned < filled) {
			job *j;
			scanned += tsarc_chunker_scan(&chunker, blk->data + scanned, filled - scanned,
				&boundary);
			if (!boundary)
				break;
			if (!(j = new_job(ps, blk, blk->data + cut, scanned - cut))) {
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
				goto done;
			}
			*tail = j;
			tail = &j->next;
			cut = scanned;
		}
		if (head) {
			rc = submit(b, ps, head);
			head = NULL;
			tail = &head;
			if (rc)
				goto done;
		}
	}
	if (filled > cut) {
		if (!(head = new_job(ps, blk, blk->data + cut, filled - cut))) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		rc = submit(b, ps, head);
		head = NULL;
		if (rc)
			goto done;
	}
	/* The digest is complete once the stage has seen every chunk. */
	pthread_mutex_lock(&b->lock);
	while (ps->undigested > 0 && !b->failed)
		pthread_cond_wait(&b->digested_cv, &b->lock);
	rc = b->failed ? tsarc__backup_raise(b) : 0;
	pthread_mutex_unlock(&b->lock);
	if (rc || (rc = tsarc_sha256_final(ps->sha, ps->st.sha256)))
		goto done;
	tsarc_time_now(ps->st.end, sizeof(ps->st.end), NULL);
	pthread_mutex_lock(&b->lock);
	ps->complete = 1;
	pthread_mutex_unlock(&b->lock);
done:
	while (head) {
		job *j = head;
		head = j->next;
		tsarc__backup_job_free(j);
	}
	if (rc) {
		pthread_mutex_lock(&b->lock);
		tsarc__backup_fail(b, rc);
		pthread_mutex_unlock(&b->lock);
		tsarc_error_prefix("stream '%s'", name);
	}
	tsarc__backup_block_put(blk);
	return rc;
}

int tsarc_backup_stream_fd(tsarc_backup *b, const char *name, const char *kind, int fd,
	cJSON *meta)
{
	return stream_fd(b, name, kind, fd, meta, 0);
}

int tsarc_backup_secret_stream_fd(tsarc_backup *b, const char *name, const char *kind, int fd,
	cJSON *meta)
{
	return stream_fd(b, name, kind, fd, meta, 1);
}

/* Caller holds b->lock. */
static pending_stream *find_stream(tsarc_backup *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nstreams; i++)
		if (!b->streams[i]->abandoned && !strcmp(b->streams[i]->st.name, name))
			return b->streams[i];
	return NULL;
}

/* `key` set to `item` in the metadata object *meta (made when there is
 * none), in place of an earlier one; `item` is taken either way. */
static int meta_put(cJSON **meta, const char *key, cJSON *item)
{
	if (!*meta && !(*meta = cJSON_CreateObject())) {
		cJSON_Delete(item);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(*meta, key);
	if (cJSON_AddItemToObject(*meta, key, item))
		return 0;
	cJSON_Delete(item);
	return tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

int tsarc_backup_stream_annotate(tsarc_backup *b, const char *name, const char *key,
	cJSON *item)
{
	pending_stream *ps;
	int rc;

	if (!item)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pthread_mutex_lock(&b->lock);
	if (!(ps = find_stream(b, name))) {
		cJSON_Delete(item);
		rc = tsarc_error_set(TSARC_ENOTFOUND, "no stream named '%s'", name);
	} else {
		rc = meta_put(&ps->st.meta, key, item);
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

int tsarc_backup_annotate(tsarc_backup *b, const char *key, cJSON *item)
{
	int rc;

	if (!item)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pthread_mutex_lock(&b->lock);
	rc = meta_put(&b->snap->meta, key, item);
	pthread_mutex_unlock(&b->lock);
	return rc;
}

int tsarc_backup_stream_abandon(tsarc_backup *b, const char *name)
{
	pending_stream *ps;
	int rc = 0;

	pthread_mutex_lock(&b->lock);
	/* Its chunks may still be in flight and write into its chunk list,
	 * so the stream stays allocated and is only left out of the manifest. */
	if ((ps = find_stream(b, name)))
		ps->abandoned = 1;
	else
		rc = tsarc_error_set(TSARC_ENOTFOUND, "no stream named '%s'", name);
	pthread_mutex_unlock(&b->lock);
	return rc;
}
