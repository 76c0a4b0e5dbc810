#include "parallel.h"
#include "error_save.h"
#include "tsarc/errors.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define MAX_PARALLEL 64

typedef struct pfor {
	size_t count;
	_Atomic size_t next;
	_Atomic int stop;
	tsarc_parallel_fn fn;
	void *ctx;
	void *(*worker_new)(void *ctx);
	void (*worker_free)(void *w);
	pthread_mutex_t lock;
	tsarc_saved_error err; /* the first failure, for the caller's thread */
} pfor;

static void *pfor_main(void *arg)
{
	pfor *p = arg;
	void *w = p->worker_new ? p->worker_new(p->ctx) : NULL;
	int rc = 0;

	if (p->worker_new && !w)
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	while (!rc && !atomic_load(&p->stop)) {
		size_t i = atomic_fetch_add(&p->next, 1);
		if (i >= p->count)
			break;
		rc = p->fn(i, p->ctx, w);
	}
	if (rc) {
		pthread_mutex_lock(&p->lock);
		if (!p->err.code) {
			tsarc_error_save(&p->err);
			p->err.code = rc;
		}
		pthread_mutex_unlock(&p->lock);
		atomic_store(&p->stop, 1);
	}
	if (w && p->worker_free)
		p->worker_free(w);
	return NULL;
}

int tsarc_parallel_for(size_t count, unsigned threads, tsarc_parallel_fn fn,
	void *ctx, void *(*worker_new)(void *ctx), void (*worker_free)(void *w))
{
	pthread_t tids[MAX_PARALLEL];
	unsigned started = 0, i;
	pfor p;

	memset(&p, 0, sizeof(p));
	p.count = count;
	p.fn = fn;
	p.ctx = ctx;
	p.worker_new = worker_new;
	p.worker_free = worker_free;
	pthread_mutex_init(&p.lock, NULL);
	if (threads == 0)
		threads = 1;
	if (threads > MAX_PARALLEL)
		threads = MAX_PARALLEL;
	for (i = 0; i < threads && i < count; i++) {
		if (pthread_create(&tids[i], NULL, pfor_main, &p) != 0)
			break;
		started++;
	}
	if (started == 0 && count > 0)
		pfor_main(&p);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&p.lock);
	return p.err.code ? tsarc_error_restore(&p.err) : 0;
}
