/*
 * The reader side of a backup: each stream is read and cut into chunks on
 * the caller's thread, and each chunk handed to the pipeline of backup.c
 * in order, within the byte budget; plus what a caller may say about a
 * stream once it is read (annotate, abandon).
 */
#include "backup_priv.h"
#include "grow.h"
#include "extract.h"
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

static int submit_chunk(tsarc_backup *b, pending_stream *ps, uint8_t *data, size_t len)
{
	job *j = calloc(1, sizeof(*j));
	tsarc_chunk_ref *slot;

	if (!j || !(slot = next_slot(ps))) {
		free(j);
		free(data);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	j->ps = ps;
	j->slot = slot;
	j->data = data;
	j->len = len;
	j->charge = 2 * len;
	atomic_fetch_add(&b->chunks, 1);
	pthread_mutex_lock(&b->lock);
	/* Wait for room; a chunk larger than the whole budget still goes
	 * when nothing else is in flight. */
	while (!b->failed && b->in_flight > 0 && b->in_flight + j->charge > b->budget)
		pthread_cond_wait(&b->space_cv, &b->lock);
	if (b->failed) {
		pthread_mutex_unlock(&b->lock);
		tsarc__backup_job_free(j);
		return tsarc__backup_raise(b);
	}
	b->in_flight += j->charge;
	b->outstanding++;
	ps->undigested++;
	tsarc__backup_queue_push(&b->digest_q, j);
	pthread_cond_signal(&b->digest_cv);
	pthread_mutex_unlock(&b->lock);
	return 0;
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

int tsarc_backup_stream_fd(tsarc_backup *b, const char *name, const char *kind,
	int fd, cJSON *meta)
{
	const size_t max = b->repo->chunker.max_size;
	pending_stream *ps;
	tsarc_chunker chunker;
	uint8_t *buf = NULL;
	size_t cap = 0, filled = 0, scanned = 0, got = 0;
	int rc, boundary;

	if (!name || !*name || strlen(name) > 1024) {
		cJSON_Delete(meta);
		return tsarc_error_set(TSARC_EINVAL, "a stream needs a name of 1 to 1024 bytes");
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
	tsarc__pipe_grow(fd);

	for (;;) {
		if (filled == cap) {
			/* Grow towards the largest chunk; most chunks end well before. */
			size_t ncap = cap ? cap * 2 : (size_t)b->repo->chunker.avg_size;
			uint8_t *grown;
			if (ncap > max)
				ncap = max;
			if (!(grown = realloc(buf, ncap))) {
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
				goto done;
			}
			buf = grown;
			cap = ncap;
		}
		if ((rc = read_some(fd, buf + filled,
			     cap - filled < READ_MAX ? cap - filled : READ_MAX, &got)))
			goto done;
		if (got == 0)
			break;
		filled += got;
		ps->st.size += got;
		atomic_fetch_add(&b->bytes_read, got);
		while (scanned < filled) {
			scanned += tsarc_chunker_scan(&chunker, buf + scanned, filled - scanned,
				&boundary);
			if (!boundary)
				break;
			{
				size_t rest = filled - scanned;
				size_t ncap = (size_t)b->repo->chunker.avg_size;
				uint8_t *next;
				if (ncap < rest)
					ncap = rest;
				if (!(next = malloc(ncap))) {
					rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
					goto done;
				}
				memcpy(next, buf + scanned, rest);
				rc = submit_chunk(b, ps, buf, scanned);
				buf = next;
				cap = ncap;
				filled = rest;
				scanned = 0;
				if (rc)
					goto done;
			}
		}
	}
	if (filled > 0) {
		rc = submit_chunk(b, ps, buf, filled);
		buf = NULL;
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
	if (rc) {
		pthread_mutex_lock(&b->lock);
		tsarc__backup_fail(b, rc);
		pthread_mutex_unlock(&b->lock);
		tsarc_error_prefix("stream '%s'", name);
	}
	free(buf);
	return rc;
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

int tsarc_backup_stream_annotate(tsarc_backup *b, const char *name, const char *key,
	cJSON *item)
{
	pending_stream *ps;
	int rc = 0;

	if (!item)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pthread_mutex_lock(&b->lock);
	if (!(ps = find_stream(b, name))) {
		rc = tsarc_error_set(TSARC_ENOTFOUND, "no stream named '%s'", name);
	} else if (!ps->st.meta && !(ps->st.meta = cJSON_CreateObject())) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	} else {
		cJSON_DeleteItemFromObjectCaseSensitive(ps->st.meta, key);
		if (cJSON_AddItemToObject(ps->st.meta, key, item))
			item = NULL;
		else
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	pthread_mutex_unlock(&b->lock);
	cJSON_Delete(item);
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
