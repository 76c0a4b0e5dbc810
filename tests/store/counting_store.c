#include "counting_store.h"
#include "forward_store.h"
#include "tsarc/errors.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct counting_store {
	forward_store fw; /* first: the store is the wrapper */
	pthread_mutex_t mu;
	unsigned long counts[COUNT__N][TSARC_OBJ__COUNT];
	char **removed[TSARC_OBJ__COUNT];
	size_t nremoved[TSARC_OBJ__COUNT];
};

static counting_store *of(tsarc_store *st)
{
	return (counting_store *)st;
}

static void count(counting_store *c, counting_op op, tsarc_objtype type)
{
	pthread_mutex_lock(&c->mu);
	c->counts[op][type]++;
	pthread_mutex_unlock(&c->mu);
}

/* Records a removed name; out of memory is an error of the call. */
static int note_removed(counting_store *c, tsarc_objtype type, const char *name)
{
	char **grown, *copy;
	int rc = 0;

	pthread_mutex_lock(&c->mu);
	c->counts[COUNT_REMOVED][type]++;
	grown = realloc(c->removed[type], (c->nremoved[type] + 1) * sizeof(char *));
	copy = strdup(name);
	if (grown)
		c->removed[type] = grown;
	if (!grown || !copy) {
		free(copy);
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	} else {
		c->removed[type][c->nremoved[type]++] = copy;
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

static int c_create(tsarc_store *st)
{
	count(of(st), COUNT_CREATE, TSARC_OBJ_CONFIG);
	return tsarc_store_create(forward_inner(st));
}

static int c_put(tsarc_store *st, tsarc_objtype type, const char *name, const void *data,
	size_t len, unsigned flags)
{
	count(of(st), COUNT_PUT, type);
	return tsarc_store_put(forward_inner(st), type, name, data, len, flags);
}

static int c_get(tsarc_store *st, tsarc_objtype type, const char *name, uint64_t offset,
	uint64_t length, tsarc_buf *out)
{
	count(of(st), COUNT_GET, type);
	return tsarc_store_get(forward_inner(st), type, name, offset, length, out);
}

static int c_stat(tsarc_store *st, tsarc_objtype type, const char *name, uint64_t *size_out)
{
	count(of(st), COUNT_STAT, type);
	return tsarc_store_stat(forward_inner(st), type, name, size_out);
}

static int c_list(tsarc_store *st, tsarc_objtype type, tsarc_store_list_cb cb, void *payload)
{
	count(of(st), COUNT_LIST, type);
	return tsarc_store_list(forward_inner(st), type, cb, payload);
}

static int c_list_tagged(tsarc_store *st, tsarc_objtype type, tsarc_store_tag_cb cb,
	void *payload)
{
	count(of(st), COUNT_LIST, type);
	return tsarc_store_list_tagged(forward_inner(st), type, cb, payload);
}

static int c_remove(tsarc_store *st, tsarc_objtype type, const char *name)
{
	int rc;

	count(of(st), COUNT_REMOVE, type);
	if ((rc = tsarc_store_remove(forward_inner(st), type, name)))
		return rc;
	return note_removed(of(st), type, name);
}

static int c_remove_many(tsarc_store *st, tsarc_objtype type, const char *const *names,
	size_t n)
{
	size_t i;
	int rc;

	count(of(st), COUNT_REMOVE_MANY, type);
	if ((rc = tsarc_store_remove_many(forward_inner(st), type, names, n)))
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = note_removed(of(st), type, names[i])))
			return rc;
	return 0;
}

static int c_sync(tsarc_store *st)
{
	count(of(st), COUNT_SYNC, TSARC_OBJ_CONFIG);
	return tsarc_store_sync(forward_inner(st));
}

static void c_free(tsarc_store *st)
{
	counting_store *c = of(st);
	int t;

	counting_store_reset(c);
	for (t = 0; t < TSARC_OBJ__COUNT; t++)
		free(c->removed[t]);
	pthread_mutex_destroy(&c->mu);
	forward_store_free(st);
}

int counting_store_wrap(tsarc_store **out, counting_store **counter, tsarc_store *inner)
{
	counting_store *c = calloc(1, sizeof(*c));

	if (!c)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pthread_mutex_init(&c->mu, NULL);
	forward_store_init(&c->fw, "counting", inner);
	c->fw.parent.create = c_create;
	c->fw.parent.put = c_put;
	c->fw.parent.get = c_get;
	c->fw.parent.stat = c_stat;
	c->fw.parent.list = c_list;
	c->fw.parent.list_tagged = c_list_tagged;
	c->fw.parent.remove = c_remove;
	c->fw.parent.remove_many = c_remove_many;
	c->fw.parent.sync = c_sync;
	c->fw.parent.free = c_free;
	*out = &c->fw.parent;
	*counter = c;
	return 0;
}

unsigned long counting_store_calls(counting_store *c, counting_op op, tsarc_objtype type)
{
	unsigned long n;

	pthread_mutex_lock(&c->mu);
	n = c->counts[op][type];
	pthread_mutex_unlock(&c->mu);
	return n;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int counting_store_removed(counting_store *c, tsarc_objtype type, char ***names_out,
	size_t *count_out)
{
	char **copy;
	size_t i, n;

	pthread_mutex_lock(&c->mu);
	n = c->nremoved[type];
	copy = calloc(n ? n : 1, sizeof(char *));
	for (i = 0; copy && i < n; i++)
		if (!(copy[i] = strdup(c->removed[type][i]))) {
			tsarc_store_names_free(copy, i);
			copy = NULL;
		}
	pthread_mutex_unlock(&c->mu);
	if (!copy)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	qsort(copy, n, sizeof(char *), by_name);
	*names_out = copy;
	*count_out = n;
	return 0;
}

void counting_store_reset(counting_store *c)
{
	size_t i;
	int t;

	pthread_mutex_lock(&c->mu);
	memset(c->counts, 0, sizeof(c->counts));
	for (t = 0; t < TSARC_OBJ__COUNT; t++) {
		for (i = 0; i < c->nremoved[t]; i++)
			free(c->removed[t][i]);
		c->nremoved[t] = 0;
	}
	pthread_mutex_unlock(&c->mu);
}
