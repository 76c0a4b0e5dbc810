#include "store/forward_store.h"

#include <stdlib.h>

tsarc_store *forward_inner(tsarc_store *st)
{
	return ((forward_store *)st)->inner;
}

static int fw_create(tsarc_store *st)
{
	return tsarc_store_create(forward_inner(st));
}

static int fw_put(tsarc_store *st, tsarc_objtype type, const char *name, const void *data,
	size_t len, unsigned flags)
{
	return tsarc_store_put(forward_inner(st), type, name, data, len, flags);
}

static int fw_get(tsarc_store *st, tsarc_objtype type, const char *name, uint64_t offset,
	uint64_t length, tsarc_buf *out)
{
	return tsarc_store_get(forward_inner(st), type, name, offset, length, out);
}

static int fw_stat(tsarc_store *st, tsarc_objtype type, const char *name, uint64_t *size_out)
{
	return tsarc_store_stat(forward_inner(st), type, name, size_out);
}

static int fw_list(tsarc_store *st, tsarc_objtype type, tsarc_store_list_cb cb, void *payload)
{
	return tsarc_store_list(forward_inner(st), type, cb, payload);
}

static int fw_remove(tsarc_store *st, tsarc_objtype type, const char *name)
{
	return tsarc_store_remove(forward_inner(st), type, name);
}

static int fw_remove_many(tsarc_store *st, tsarc_objtype type, const char *const *names,
	size_t n)
{
	return tsarc_store_remove_many(forward_inner(st), type, names, n);
}

static int fw_sync(tsarc_store *st)
{
	return tsarc_store_sync(forward_inner(st));
}

static const char *fw_describe(tsarc_store *st)
{
	return tsarc_store_describe(forward_inner(st));
}

void forward_store_free(tsarc_store *st)
{
	tsarc_store_free(forward_inner(st));
	free(st);
}

void forward_store_init(forward_store *fw, const char *kind, tsarc_store *inner)
{
	fw->parent.kind = kind;
	fw->parent.max_inflight = inner->max_inflight;
	fw->parent.create = fw_create;
	fw->parent.put = fw_put;
	fw->parent.get = fw_get;
	fw->parent.stat = fw_stat;
	fw->parent.list = fw_list;
	fw->parent.remove = fw_remove;
	fw->parent.remove_many = fw_remove_many;
	fw->parent.sync = fw_sync;
	fw->parent.describe = fw_describe;
	fw->parent.free = forward_store_free;
	fw->inner = inner;
}
