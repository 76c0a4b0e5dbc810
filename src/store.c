#include "tsarc/sys/store.h"
#include "grow.h"
#include "fileio.h"
#include "urltext.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_dirs[TSARC_OBJ__COUNT] = {
	"", "keys", "data", "snapshots", "locks", "index",
};

const char *tsarc_objtype_dir(tsarc_objtype type)
{
	if ((unsigned)type >= TSARC_OBJ__COUNT)
		return NULL;
	return type_dirs[type];
}

int tsarc_store_name_valid(tsarc_objtype type, const char *name)
{
	size_t i, len;

	if (type == TSARC_OBJ_CONFIG)
		return 1;
	if (!name)
		return 0;
	len = strlen(name);
	if (len == 0 || len > 128)
		return 0;
	if (type == TSARC_OBJ_DATA && len < 3)
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];
		int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
		if (type == TSARC_OBJ_DATA) {
			if (!hex)
				return 0;
		} else if (!(hex || (c >= 'A' && c <= 'Z') ||
				   (c >= 'a' && c <= 'z') || c == '-' ||
				   c == '_' || (c == '.' && i > 0))) {
			return 0;
		}
	}
	return 1;
}

int tsarc_store_layout(char *out, size_t outsz, tsarc_objtype type,
	const char *name)
{
	int n;

	if ((unsigned)type >= TSARC_OBJ__COUNT)
		return tsarc_error_set(TSARC_EINVAL, "unknown object type %d", (int)type);
	if (!tsarc_store_name_valid(type, name))
		return tsarc_error_set(TSARC_EINVAL, "invalid object name for %s",
			type_dirs[type][0] ? type_dirs[type] : "config");
	if (type == TSARC_OBJ_CONFIG)
		n = snprintf(out, outsz, "config");
	else if (type == TSARC_OBJ_DATA)
		n = snprintf(out, outsz, "data/%.2s/%s", name, name);
	else
		n = snprintf(out, outsz, "%s/%s", type_dirs[type], name);
	if (n < 0 || (size_t)n >= outsz)
		return tsarc_error_set(TSARC_ETOOLARGE, "object key too long");
	return 0;
}

static int unsupported(tsarc_store *st, const char *op)
{
	return tsarc_error_set(TSARC_EUNSUPPORTED, "%s store does not support %s",
		st->kind, op);
}

int tsarc_store_create(tsarc_store *st)
{
	return st->create ? st->create(st) : 0;
}

int tsarc_store_put(tsarc_store *st, tsarc_objtype type, const char *name,
	const void *data, size_t len, unsigned flags)
{
	return st->put ? st->put(st, type, name, data, len, flags)
		       : unsupported(st, "put");
}

int tsarc_store_put_file(tsarc_store *st, tsarc_objtype type, const char *name,
	int fd, uint64_t len, unsigned flags)
{
	tsarc_buf b = TSARC_BUF_INIT;
	int rc;

	if (st->put_file)
		return st->put_file(st, type, name, fd, len, flags);
	if (len > SIZE_MAX)
		return tsarc_error_set(TSARC_ETOOLARGE, "%s %s: too large", st->kind, name);
	if ((rc = tsarc_buf_grow(&b, (size_t)len)))
		return rc;
	if (tsarc_pread_all(fd, b.ptr, (size_t)len, 0) != 0)
		rc = tsarc_error_set(tsarc_errno_code(errno), "reading the body of %s: %s",
			name, strerror(errno));
	else
		rc = tsarc_store_put(st, type, name, b.ptr, (size_t)len, flags);
	tsarc_buf_dispose(&b);
	return rc;
}

int tsarc_store_get(tsarc_store *st, tsarc_objtype type, const char *name,
	uint64_t offset, uint64_t length, tsarc_buf *out)
{
	return st->get ? st->get(st, type, name, offset, length, out)
		       : unsupported(st, "get");
}

int tsarc_store_stat(tsarc_store *st, tsarc_objtype type, const char *name,
	uint64_t *size_out)
{
	return st->stat ? st->stat(st, type, name, size_out)
			: unsupported(st, "stat");
}

int tsarc_store_list(tsarc_store *st, tsarc_objtype type,
	tsarc_store_list_cb cb, void *payload)
{
	return st->list ? st->list(st, type, cb, payload)
			: unsupported(st, "list");
}

typedef struct untagged {
	tsarc_store_tag_cb cb;
	void *payload;
} untagged;

static int untagged_one(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	const untagged *u = payload;

	(void)mtime;
	return u->cb(name, size, NULL, u->payload);
}

int tsarc_store_list_tagged(tsarc_store *st, tsarc_objtype type, tsarc_store_tag_cb cb,
	void *payload)
{
	untagged u = {cb, payload};

	if (st->list_tagged)
		return st->list_tagged(st, type, cb, payload);
	return tsarc_store_list(st, type, untagged_one, &u);
}

int tsarc_store_remove(tsarc_store *st, tsarc_objtype type, const char *name)
{
	return st->remove ? st->remove(st, type, name)
			  : unsupported(st, "remove");
}

int tsarc_store_remove_many(tsarc_store *st, tsarc_objtype type,
	const char *const *names, size_t count)
{
	size_t i;
	int rc;

	if (st->remove_many)
		return st->remove_many(st, type, names, count);
	for (i = 0; i < count; i++) {
		rc = tsarc_store_remove(st, type, names[i]);
		if (rc && rc != TSARC_ENOTFOUND)
			return rc;
	}
	return 0;
}

typedef struct entry_list {
	tsarc_store_entry *v;
	size_t count, cap;
} entry_list;

static int collect_entry(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	entry_list *l = payload;

	if (TSARC_RESERVE(l->v, l->count, l->cap, 32))
		return TSARC_ENOMEM;
	if (!(l->v[l->count].name = strdup(name)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	l->v[l->count].size = size;
	l->v[l->count++].mtime = mtime;
	return 0;
}

int tsarc_store_list_entries(tsarc_store *st, tsarc_objtype type, tsarc_store_entry **out,
	size_t *count_out)
{
	entry_list l = {NULL, 0, 0};
	int rc = tsarc_store_list(st, type, collect_entry, &l);

	*out = NULL;
	*count_out = 0;
	if (rc) {
		tsarc_store_entries_free(l.v, l.count);
		return rc;
	}
	*out = l.v;
	*count_out = l.count;
	return 0;
}

void tsarc_store_entries_free(tsarc_store_entry *entries, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(entries[i].name);
	free(entries);
}

int tsarc_store_list_names(tsarc_store *st, tsarc_objtype type, char ***names_out,
	size_t *count_out)
{
	tsarc_store_entry *e;
	char **names = NULL;
	size_t n, i;
	int rc;

	*names_out = NULL;
	*count_out = 0;
	if ((rc = tsarc_store_list_entries(st, type, &e, &n)))
		return rc;
	if (n && !(names = malloc(n * sizeof(*names)))) {
		tsarc_store_entries_free(e, n);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	/* The names change hands; the entries around them go. */
	for (i = 0; i < n; i++)
		names[i] = e[i].name;
	free(e);
	*names_out = names;
	*count_out = n;
	return 0;
}

void tsarc_store_names_free(char **names, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int tsarc_store_sync(tsarc_store *st)
{
	return st->sync ? st->sync(st) : 0;
}

int tsarc_store_set_retention(tsarc_store *st, const tsarc_retention *r)
{
	if (!st->set_retention)
		return tsarc_error_set(TSARC_EUNSUPPORTED,
			"the %s store has no Object Lock: retention needs an S3 bucket with "
			"Object Lock enabled", st->kind);
	return st->set_retention(st, r);
}

int tsarc_store_retention_enabled(tsarc_store *st, int *enabled)
{
	*enabled = 0;
	return st->retention_enabled ? st->retention_enabled(st, enabled)
				     : unsupported(st, "Object Lock");
}

int tsarc_store_extend_retention(tsarc_store *st, tsarc_objtype type, const char *name,
	int64_t until)
{
	return st->extend_retention ? st->extend_retention(st, type, name, until)
				    : unsupported(st, "Object Lock");
}

int tsarc_store_extend_versions(tsarc_store *st, tsarc_objtype type,
	const char *const *names, size_t count, int64_t until, size_t *extended)
{
	*extended = 0;
	if (st->extend_versions)
		return st->extend_versions(st, type, names, count, until, extended);
	return st->extend_retention ? 0 : unsupported(st, "Object Lock");
}

/* A purge of a store without versions: each name gone for good. */
static int all_gone(const char *const *names, size_t count, tsarc_store_purge_cb cb,
	void *payload)
{
	size_t i;
	int rc;

	for (i = 0; cb && i < count; i++)
		if ((rc = cb(names[i], 0, payload)))
			return rc;
	return 0;
}

int tsarc_store_purge_many(tsarc_store *st, tsarc_objtype type, const char *const *names,
	size_t count, tsarc_store_purge_cb cb, void *payload)
{
	int rc;

	if (st->purge_many)
		return st->purge_many(st, type, names, count, cb, payload);
	/* No versions: a removed object is gone for good. */
	if ((rc = tsarc_store_remove_many(st, type, names, count)))
		return rc;
	return all_gone(names, count, cb, payload);
}

int tsarc_store_purge_preview(tsarc_store *st, tsarc_objtype type, const char *const *names,
	size_t count, tsarc_store_purge_cb cb, void *payload)
{
	if (st->purge_preview)
		return st->purge_preview(st, type, names, count, cb, payload);
	if (st->purge_many)
		return unsupported(st, "a purge's preview");
	return all_gone(names, count, cb, payload);
}

int tsarc_store_list_hidden(tsarc_store *st, tsarc_objtype type, tsarc_store_list_cb cb,
	void *payload)
{
	return st->list_hidden ? st->list_hidden(st, type, cb, payload) : 0;
}

int tsarc_store_remove_temp(tsarc_store *st, int64_t before, tsarc_store_list_cb cb,
	void *payload)
{
	return st->remove_temp ? st->remove_temp(st, before, cb, payload) : 0;
}

int tsarc_store_retained_until(tsarc_store *st, tsarc_objtype type, const char *name,
	int64_t *until)
{
	*until = 0;
	return st->retained_until ? st->retained_until(st, type, name, until) : 0;
}

static const char *const retain_modes[] = {"none", "governance", "compliance"};

const char *tsarc_retain_mode_name(tsarc_retain_mode mode)
{
	return (unsigned)mode < 3 ? retain_modes[mode] : "?";
}

int tsarc_retain_mode_parse(const char *s, tsarc_retain_mode *out)
{
	unsigned i;

	for (i = 0; s && i < 3; i++)
		if (!strcmp(s, retain_modes[i])) {
			*out = (tsarc_retain_mode)i;
			return 0;
		}
	return tsarc_error_set(TSARC_EINVAL,
		"retention mode '%s' is none of governance, compliance", s ? s : "");
}

const char *tsarc_store_describe(tsarc_store *st)
{
	return st->describe ? st->describe(st) : st->kind;
}

void tsarc_store_free(tsarc_store *st)
{
	if (st && st->free)
		st->free(st);
}

int tsarc_store_open(tsarc_store **out, const char *url,
	const tsarc_store_options *opts)
{
	*out = NULL;
	if (!url || !*url)
		return tsarc_error_set(TSARC_EINVAL,
			"no repository given: use --repo or TSARC_REPOSITORY");
	if (strncmp(url, "s3:", 3) == 0)
		return tsarc_store_s3_open(out, url, opts);
	if (strncmp(url, "local:", 6) == 0)
		url += 6;
	if (strstr(url, "://")) {
		char quoted[512];
		tsarc_url_redact(url, quoted, sizeof(quoted));
		return tsarc_error_set(TSARC_EINVAL,
			"unsupported repository URL '%s' (use a path or s3:...)", quoted);
	}
	return tsarc_store_fs_open(out, url, opts);
}
