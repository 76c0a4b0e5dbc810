#include "packer.h"
#include "grow.h"
#include "error_save.h"
#include "index.h"
#include "tsarc/errors.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SHIPPERS 8

struct tsarc_packer {
	tsarc_repo *repo;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	tsarc_pack_builder *cur; /* being filled, or NULL */
	/* Full packs waiting for a shipper, and how many are waiting or being
	 * stored (at most max_uploading). */
	tsarc_pack_builder *ready[MAX_SHIPPERS];
	unsigned nready, uploading, max_uploading;
	pthread_t shippers[MAX_SHIPPERS];
	unsigned nshippers;
	int stopping;
	int abandoned; /* freed unfinished: packs not yet stored never will be */
	tsarc_index_pack *done; /* packs stored: what the index will say */
	size_t ndone, done_cap;
	uint64_t bytes;
	int failed;
	tsarc_saved_error fail;
};

static void *ship_main(void *arg);

int tsarc_packer_new(tsarc_packer **out, tsarc_repo *repo, unsigned max_uploading)
{
	tsarc_packer *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	p->repo = repo;
	p->max_uploading = !max_uploading ? 1 : max_uploading > MAX_SHIPPERS ? MAX_SHIPPERS
									    : max_uploading;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cv, NULL);
	while (p->nshippers < p->max_uploading) {
		if (pthread_create(&p->shippers[p->nshippers], NULL, ship_main, p) != 0) {
			tsarc_packer_free(p);
			return tsarc_error_set(TSARC_ENOMEM, "cannot start a pack storing thread");
		}
		p->nshippers++;
	}
	*out = p;
	return 0;
}

/* Caller holds p->lock. */
static int failure(tsarc_packer *p, int rc)
{
	if (!p->failed) {
		p->failed = 1;
		tsarc_error_save(&p->fail);
		p->fail.code = rc;
	}
	pthread_cond_broadcast(&p->cv);
	return rc;
}

/* Stores a full pack (without p->lock), then records its entries. */
static int ship(tsarc_packer *p, tsarc_pack_builder *b)
{
	int rc = tsarc_pack_builder_finish(p->repo, b);

	if (!rc)
		rc = tsarc_pack_builder_store(p->repo, b);
	pthread_mutex_lock(&p->lock);
	p->uploading--;
	if (!rc)
		rc = TSARC_RESERVE(p->done, p->ndone, p->done_cap, 16);
	if (!rc) {
		tsarc_index_pack *d = &p->done[p->ndone++];
		memcpy(d->name, b->name, TSARC_ID_LEN);
		d->entries = b->entries;
		d->n = b->n;
		b->entries = NULL;
		p->bytes += b->size;
	} else {
		failure(p, rc);
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
	tsarc_pack_builder_dispose(b);
	free(b);
	return rc;
}

/* Caller holds p->lock: hands the pack being filled to the shippers. */
static void detach(tsarc_packer *p)
{
	p->ready[p->nready++] = p->cur;
	p->cur = NULL;
	p->uploading++;
	pthread_cond_broadcast(&p->cv);
}

/* Stores the full packs, off the adders' threads: an adder (a backup's
 * compute worker) never waits for a pack's upload unless max_uploading
 * packs are already on their way. */
static void *ship_main(void *arg)
{
	tsarc_packer *p = arg;
	tsarc_pack_builder *b;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (!p->nready && !p->stopping)
			pthread_cond_wait(&p->cv, &p->lock);
		if (!p->nready) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		b = p->ready[0];
		memmove(p->ready, p->ready + 1, --p->nready * sizeof(*p->ready));
		if (p->failed || p->abandoned) {
			/* Nothing will name it. */
			p->uploading--;
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->lock);
			tsarc_pack_builder_dispose(b);
			free(b);
			continue;
		}
		pthread_mutex_unlock(&p->lock);
		ship(p, b);
	}
}

int tsarc_packer_add(tsarc_packer *p, const uint8_t id[TSARC_ID_LEN],
	const uint8_t *sealed, size_t len, uint32_t plain)
{
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	/* A full pack waits for an upload slot; nothing more goes into it. */
	while (!p->failed && p->cur && p->cur->size >= p->repo->pack_size &&
		p->uploading >= p->max_uploading)
		pthread_cond_wait(&p->cv, &p->lock);
	if (p->failed) {
		pthread_mutex_unlock(&p->lock);
		return tsarc_error_restore(&p->fail);
	}
	if (p->cur && p->cur->size >= p->repo->pack_size)
		detach(p);
	if (!p->cur) {
		if (!(p->cur = calloc(1, sizeof(*p->cur))))
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		else if ((rc = tsarc_pack_builder_start(p->cur))) {
			free(p->cur);
			p->cur = NULL;
		}
	}
	if (!rc)
		rc = tsarc_pack_builder_add(p->cur, id, sealed, len, plain);
	if (rc)
		failure(p, rc);
	else if (p->cur->size >= p->repo->pack_size && p->uploading < p->max_uploading)
		detach(p);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

/* Caller holds p->lock: the shippers end once the packs handed to them
 * are stored. */
static void stop_shippers(tsarc_packer *p)
{
	unsigned i;

	p->stopping = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nshippers; i++)
		pthread_join(p->shippers[i], NULL);
	p->nshippers = 0;
	pthread_mutex_lock(&p->lock);
}

int tsarc_packer_finish(tsarc_packer *p, char ***index_names, size_t *nindex)
{
	int rc;

	if (index_names) {
		*index_names = NULL;
		*nindex = 0;
	}
	pthread_mutex_lock(&p->lock);
	/* The last pack, full or not, waits for a slot like any other: at
	 * most max_uploading are ever handed on (the ready list's size). */
	while (!p->failed && p->cur && p->cur->n && p->uploading >= p->max_uploading)
		pthread_cond_wait(&p->cv, &p->lock);
	if (!p->failed && p->cur && p->cur->n)
		detach(p);
	stop_shippers(p);
	rc = p->failed ? tsarc_error_restore(&p->fail) : 0;
	pthread_mutex_unlock(&p->lock);
	if (rc)
		return rc;
	/* The packs durable before the index that points into them. */
	if (p->ndone && ((rc = tsarc_store_sync(p->repo->store)) ||
			 (rc = tsarc_index_write(p->repo, p->done, p->ndone, index_names,
				  nindex))))
		return rc;
	return 0;
}

void tsarc_packer_stats(tsarc_packer *p, uint64_t *packs, uint64_t *bytes)
{
	pthread_mutex_lock(&p->lock);
	*packs = p->ndone;
	*bytes = p->bytes;
	pthread_mutex_unlock(&p->lock);
}

void tsarc_packer_free(tsarc_packer *p)
{
	size_t i;

	if (!p)
		return;
	/* Not finished (a failed backup): the packs being stored end, the
	 * rest are dropped. */
	pthread_mutex_lock(&p->lock);
	p->abandoned = 1;
	stop_shippers(p);
	pthread_mutex_unlock(&p->lock);
	if (p->cur) {
		tsarc_pack_builder_dispose(p->cur);
		free(p->cur);
	}
	for (i = 0; i < p->ndone; i++)
		free(p->done[i].entries);
	free(p->done);
	tsarc_error_forget(&p->fail);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
