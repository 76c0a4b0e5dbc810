#include "store/retention_store.h"
#include "store/forward_store.h"
#include "tsarc/errors.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dated {
	tsarc_objtype type;
	char name[130];
	int64_t until;
	int hidden;
} dated;

struct retention_store {
	forward_store fw; /* first: the store is the wrapper */
	tsarc_retention r;
	int64_t now;
	pthread_mutex_t mu;
	dated *v;
	size_t n, cap;
};

static retention_store *of(tsarc_store *st)
{
	return (retention_store *)st;
}

/* Under mu. */
static dated *find(retention_store *r, tsarc_objtype type, const char *name)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->v[i].type == type && !strcmp(r->v[i].name, name ? name : ""))
			return &r->v[i];
	return NULL;
}

static int is_hidden(retention_store *r, tsarc_objtype type, const char *name)
{
	dated *d;
	int h;

	pthread_mutex_lock(&r->mu);
	d = find(r, type, name);
	h = d && d->hidden;
	pthread_mutex_unlock(&r->mu);
	return h;
}

static int hidden_error(tsarc_objtype type, const char *name)
{
	return tsarc_error_set(TSARC_ENOTFOUND, "%s/%s is hidden", tsarc_objtype_dir(type),
		name ? name : "config");
}

static int rs_put(tsarc_store *st, tsarc_objtype type, const char *name, const void *data,
	size_t len, unsigned flags)
{
	retention_store *r = of(st);
	dated *d;
	int rc;

	/* An overwrite of a hidden object makes a new current version. */
	if (is_hidden(r, type, name))
		flags &= ~TSARC_PUT_CREATE_ONLY;
	if ((rc = tsarc_store_put(r->fw.inner, type, name, data, len, flags)))
		return rc;
	if (!r->r.mode || type == TSARC_OBJ_LOCK)
		return 0;
	pthread_mutex_lock(&r->mu);
	if (!(d = find(r, type, name))) {
		if (r->n == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 64;
			dated *g = realloc(r->v, cap * sizeof(*g));
			if (!g) {
				pthread_mutex_unlock(&r->mu);
				return tsarc_error_set(TSARC_ENOMEM, "out of memory");
			}
			r->v = g;
			r->cap = cap;
		}
		d = &r->v[r->n++];
		d->type = type;
		snprintf(d->name, sizeof(d->name), "%s", name ? name : "");
		d->until = 0;
	}
	d->hidden = 0;
	if (r->now + (int64_t)r->r.days * 86400 > d->until)
		d->until = r->now + (int64_t)r->r.days * 86400;
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static int rs_get(tsarc_store *st, tsarc_objtype type, const char *name, uint64_t offset,
	uint64_t length, tsarc_buf *out)
{
	if (is_hidden(of(st), type, name))
		return hidden_error(type, name);
	return tsarc_store_get(forward_inner(st), type, name, offset, length, out);
}

static int rs_stat(tsarc_store *st, tsarc_objtype type, const char *name, uint64_t *size)
{
	if (is_hidden(of(st), type, name))
		return hidden_error(type, name);
	return tsarc_store_stat(forward_inner(st), type, name, size);
}

typedef struct filter {
	retention_store *r;
	tsarc_objtype type;
	int want_hidden;
	tsarc_store_list_cb cb;
	void *payload;
} filter;

static int filter_cb(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	filter *f = payload;

	if (is_hidden(f->r, f->type, name) != f->want_hidden)
		return 0;
	return f->cb(name, size, mtime, f->payload);
}

static int rs_list(tsarc_store *st, tsarc_objtype type, tsarc_store_list_cb cb, void *payload)
{
	filter f = {of(st), type, 0, cb, payload};

	return tsarc_store_list(forward_inner(st), type, filter_cb, &f);
}

static int rs_list_hidden(tsarc_store *st, tsarc_objtype type, tsarc_store_list_cb cb,
	void *payload)
{
	filter f = {of(st), type, 1, cb, payload};

	return tsarc_store_list(forward_inner(st), type, filter_cb, &f);
}

static int rs_purge_many(tsarc_store *st, tsarc_objtype type, const char *const *names,
	size_t count, tsarc_store_purge_cb cb, void *payload)
{
	retention_store *r = of(st);
	size_t i;
	int rc;

	for (i = 0; i < count; i++) {
		int64_t kept = 0;
		dated *d;
		pthread_mutex_lock(&r->mu);
		if ((d = find(r, type, names[i]))) {
			if (d->until > r->now) {
				d->hidden = 1;
				kept = d->until;
			} else {
				*d = r->v[--r->n];
			}
		}
		pthread_mutex_unlock(&r->mu);
		if (!kept && (rc = tsarc_store_remove(r->fw.inner, type, names[i])) &&
			rc != TSARC_ENOTFOUND)
			return rc;
		tsarc_error_clear();
		if (cb && (rc = cb(names[i], kept, payload)))
			return rc;
	}
	return 0;
}

/* What rs_purge_many would report, by the same dates, deleting nothing. */
static int rs_purge_preview(tsarc_store *st, tsarc_objtype type, const char *const *names,
	size_t count, tsarc_store_purge_cb cb, void *payload)
{
	retention_store *r = of(st);
	size_t i;
	int rc;

	for (i = 0; i < count; i++) {
		int64_t kept = 0;
		dated *d;
		pthread_mutex_lock(&r->mu);
		if ((d = find(r, type, names[i])) && d->until > r->now)
			kept = d->until;
		pthread_mutex_unlock(&r->mu);
		if (cb && (rc = cb(names[i], kept, payload)))
			return rc;
	}
	return 0;
}

static int rs_remove(tsarc_store *st, tsarc_objtype type, const char *name)
{
	uint64_t size;
	int rc;

	if ((rc = rs_stat(st, type, name, &size)))
		return rc;
	return rs_purge_many(st, type, &name, 1, NULL, NULL);
}

static int rs_remove_many(tsarc_store *st, tsarc_objtype type, const char *const *names,
	size_t count)
{
	return rs_purge_many(st, type, names, count, NULL, NULL);
}

static int rs_set_retention(tsarc_store *st, const tsarc_retention *rt)
{
	of(st)->r = *rt;
	return 0;
}

static int rs_retention_enabled(tsarc_store *st, int *enabled)
{
	(void)st;
	*enabled = 1;
	return 0;
}

/* Under mu: the record of an object's current version, or NULL with
 * TSARC_ENOTFOUND set (missing, or hidden behind a delete marker). */
static dated *current(retention_store *r, tsarc_objtype type, const char *name)
{
	dated *d = find(r, type, name);

	if (d && !d->hidden)
		return d;
	tsarc_error_set(TSARC_ENOTFOUND, "no current version of %s", name ? name : "config");
	return NULL;
}

static int rs_extend(tsarc_store *st, tsarc_objtype type, const char *name, int64_t until)
{
	retention_store *r = of(st);
	dated *d;

	pthread_mutex_lock(&r->mu);
	if ((d = current(r, type, name)) && until > d->until)
		d->until = until;
	pthread_mutex_unlock(&r->mu);
	return d ? 0 : TSARC_ENOTFOUND;
}

/* The double keeps one version per object: a hidden object's is the
 * version under its delete marker, the "old" one to extend. */
static int rs_extend_versions(tsarc_store *st, tsarc_objtype type, const char *const *names,
	size_t count, int64_t until, size_t *extended)
{
	retention_store *r = of(st);
	size_t i;
	dated *d;

	*extended = 0;
	pthread_mutex_lock(&r->mu);
	for (i = 0; i < count; i++)
		if ((d = find(r, type, names[i])) && d->hidden && until > d->until) {
			d->until = until;
			(*extended)++;
		}
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static int rs_retained_until(tsarc_store *st, tsarc_objtype type, const char *name,
	int64_t *until)
{
	retention_store *r = of(st);
	dated *d;

	pthread_mutex_lock(&r->mu);
	*until = 0;
	if ((d = current(r, type, name)) && d->until > r->now)
		*until = d->until;
	pthread_mutex_unlock(&r->mu);
	return d ? 0 : TSARC_ENOTFOUND;
}

static void rs_free(tsarc_store *st)
{
	retention_store *r = of(st);

	pthread_mutex_destroy(&r->mu);
	free(r->v);
	forward_store_free(st);
}

int retention_store_wrap(tsarc_store **out, retention_store **ctl, tsarc_store *inner)
{
	retention_store *r = calloc(1, sizeof(*r));

	if (!r)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pthread_mutex_init(&r->mu, NULL);
	forward_store_init(&r->fw, "retention-test", inner);
	r->fw.parent.put = rs_put;
	r->fw.parent.get = rs_get;
	r->fw.parent.stat = rs_stat;
	r->fw.parent.list = rs_list;
	r->fw.parent.remove = rs_remove;
	r->fw.parent.remove_many = rs_remove_many;
	r->fw.parent.set_retention = rs_set_retention;
	r->fw.parent.retention_enabled = rs_retention_enabled;
	r->fw.parent.extend_retention = rs_extend;
	r->fw.parent.extend_versions = rs_extend_versions;
	r->fw.parent.purge_many = rs_purge_many;
	r->fw.parent.purge_preview = rs_purge_preview;
	r->fw.parent.list_hidden = rs_list_hidden;
	r->fw.parent.retained_until = rs_retained_until;
	r->fw.parent.free = rs_free;
	*out = &r->fw.parent;
	*ctl = r;
	return 0;
}

void retention_store_set_now(retention_store *r, int64_t now)
{
	pthread_mutex_lock(&r->mu);
	r->now = now;
	pthread_mutex_unlock(&r->mu);
}

int64_t retention_store_until(retention_store *r, tsarc_objtype type, const char *name,
	int *hidden)
{
	dated *d;
	int64_t until = 0;

	pthread_mutex_lock(&r->mu);
	*hidden = 0;
	if ((d = find(r, type, name))) {
		until = d->until;
		*hidden = d->hidden;
	}
	pthread_mutex_unlock(&r->mu);
	return until;
}

size_t retention_store_count(retention_store *r, tsarc_objtype type)
{
	size_t i, n = 0;

	pthread_mutex_lock(&r->mu);
	for (i = 0; i < r->n; i++)
		n += r->v[i].type == type;
	pthread_mutex_unlock(&r->mu);
	return n;
}

tsarc_retention retention_store_policy(retention_store *r)
{
	return r->r;
}

void retention_store_drop_policy(retention_store *r)
{
	r->r.mode = TSARC_RETAIN_NONE;
	r->r.days = 0;
}
