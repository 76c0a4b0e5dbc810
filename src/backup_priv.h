#ifndef TSARC_BACKUP_PRIV_H
#define TSARC_BACKUP_PRIV_H

/* What the two halves of the backup pipeline share: backup.c (the
 * stages, commit) and backup_stream.c (the readers that cut streams into
 * chunks and hand them on). Not for use elsewhere. */
#include "backup.h"
#include "chunkset.h"
#include "error_save.h"
#include "lock.h"
#include "packer.h"
#include "snapshot.h"

#include <pthread.h>
#include <stdatomic.h>

#define REFS_PER_BLOCK 4096
#define READ_MAX (1024 * 1024)
/* One read: scanned while still in the CPU's cache. */
#define READ_STEP (256 * 1024)
#define BUDGET_MIN (12u * 1024 * 1024)
#define MAX_WORKERS 64
#define MAX_UPLOADERS 256

typedef struct pending_stream pending_stream;

/* A block of the input read at once. The chunks cut from it point into it
 * and hold a reference each (the reader one more while it fills it), so a
 * chunk's bytes are not copied out of it. */
typedef struct in_block {
	_Atomic size_t refs;
	size_t cap;
	int wipe; /* a secret stream's: wiped before it is freed */
	_Alignas(16) uint8_t data[]; /* where it was before `wipe` */
} in_block;

typedef struct job {
	struct job *next;
	pending_stream *ps;
	tsarc_chunk_ref *slot; /* where the id goes in the stream's chunk list */
	uint8_t *data;
	in_block *blk; /* data points into it; NULL: data is the job's own */
	size_t len;
	size_t charge; /* budget bytes held */
	tsarc_buf sealed;
} job;

typedef struct job_queue {
	job *head, *tail;
} job_queue;

struct pending_stream {
	tsarc_stream st;
	tsarc_chunk_ref **blocks;
	size_t nblocks;
	size_t nrefs;
	int complete;
	int abandoned;
	tsarc_sha256_ctx *sha;
	int secret; /* tsarc_backup_secret_stream_fd */
	size_t undigested; /* chunks handed on but not yet through the digest stage */
};

struct tsarc_backup {
	tsarc_repo *repo;
	tsarc_lock *repo_lock;
	tsarc_chunkset *known;
	struct tsarc_index_known *index_known; /* format 2 (index.h) */
	tsarc_packer *packer; /* format 2 */
	tsarc_snapshot *snap;

	pthread_mutex_t lock;
	pthread_cond_t work_cv;   /* compute queue not empty, or stopping */
	pthread_cond_t upload_cv; /* upload queue not empty, or stopping */
	pthread_cond_t space_cv;  /* the room wanted freed, or no job left */
	pthread_cond_t digest_cv; /* digest queue not empty, or stopping */
	pthread_cond_t digested_cv; /* a chunk went through the digest stage */
	job_queue digest_q, compute_q, upload_q;
	size_t budget, in_flight;
	size_t space_wanted; /* the room the waiting reader asked for; 0: none waits */
	size_t outstanding; /* jobs cut but not finished */
	int stopping;
	_Atomic int failed; /* read without the lock to stop work early */
	tsarc_saved_error fail; /* the first failure, for the caller's thread */

	pending_stream **streams;
	size_t nstreams, streams_cap;

	pthread_t digester;
	int digester_running;
	pthread_t workers[MAX_WORKERS];
	unsigned nworkers;
	pthread_t uploaders[MAX_UPLOADERS];
	unsigned nuploaders;

	_Atomic uint64_t bytes_read, chunks, new_chunks, new_bytes, stored_bytes;
};

/* Caller holds b->lock. The first failure wins. */
void tsarc__backup_fail(tsarc_backup *b, int code);
/* Raises the first failure again on the caller's thread. */
int tsarc__backup_raise(tsarc_backup *b);
void tsarc__backup_queue_push(job_queue *q, job *j);
void tsarc__backup_job_free(job *j);
/* Gives the chunk's bytes back (the job's reference to its block). */
void tsarc__backup_job_drop_data(job *j);
void tsarc__backup_block_put(in_block *blk);

#endif
