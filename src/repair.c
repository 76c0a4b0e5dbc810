/*
 * repair index: the index written again from the packs' own tables of
 * contents, in bounded memory whatever the repository's size. The packs
 * are read a group at a time (REPAIR_GROUP packs' tables on the store's
 * parallel requests) and their entries written as they come
 * (tsarc_index_writer: the objects a write of the whole list makes), so at
 * most one object's entries, one group's tables and the listing (73 bytes
 * a pack) are in memory. The new objects are stored
 * and synced before the old ones are removed; a run stopped half way has
 * only added objects that say what the packs say (the next run, or a
 * prune, replaces them).
 */
#include "repair.h"
#include "grow.h"
#include "index.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Packs whose tables of contents are read at a time. */
#define REPAIR_GROUP 64

typedef struct listed {
	char name[TSARC_ID_HEX_LEN + 1];
	uint64_t size;
} listed;

typedef struct repair_ctx {
	listed *packs;
	size_t n, cap;
} repair_ctx;

static int list_one(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	repair_ctx *c = payload;

	(void)mtime;
	if (strlen(name) != TSARC_ID_HEX_LEN)
		return 0;
	if (TSARC_RESERVE(c->packs, c->n, c->cap, 256))
		return TSARC_ENOMEM;
	memcpy(c->packs[c->n].name, name, TSARC_ID_HEX_LEN + 1);
	c->packs[c->n++].size = size;
	return 0;
}

int tsarc_repair_index(tsarc_repo *repo, tsarc_lock *lock,
	void (*on_damaged)(const char *pack, const char *msg, void *payload), void *payload,
	tsarc_repair_result *res)
{
	repair_ctx c;
	tsarc_index_writer w;
	tsarc_pack_toc *group = NULL;
	char **old = NULL, **written = NULL;
	uint8_t name[TSARC_ID_LEN];
	size_t nold = 0, nwritten = 0, i, k, g = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	tsarc_index_writer_init(&w, repo, &written, &nwritten);
	if (repo->version < 2)
		return tsarc_error_set(TSARC_EINVAL, "this repository is of format %u: it has "
			"no index (each chunk is its own object)", repo->version);
	if ((rc = tsarc_store_list_names(repo->store, TSARC_OBJ_INDEX, &old, &nold)) ||
		(rc = tsarc_store_list(repo->store, TSARC_OBJ_DATA, list_one, &c)))
		goto done;
	res->packs = c.n;
	if (!(group = calloc(REPAIR_GROUP, sizeof(*group)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < c.n; i += REPAIR_GROUP) {
		g = c.n - i < REPAIR_GROUP ? c.n - i : REPAIR_GROUP;
		memset(group, 0, g * sizeof(*group));
		for (k = 0; k < g; k++) {
			memcpy(group[k].name, c.packs[i + k].name, TSARC_ID_HEX_LEN + 1);
			group[k].size = c.packs[i + k].size;
		}
		if ((rc = tsarc_pack_read_tocs(repo, group, g, repo->store->max_inflight)))
			goto done;
		for (k = 0; k < g; k++) {
			if (group[k].bad) {
				res->packs_damaged++;
				if (on_damaged)
					on_damaged(group[k].name, group[k].msg, payload);
				continue;
			}
			if (!group[k].n)
				continue;
			res->chunks += group[k].n;
			tsarc_hex_decode(name, TSARC_ID_LEN, group[k].name);
			rc = tsarc_index_writer_add(&w, name, group[k].entries, group[k].n);
			group[k].entries = NULL;
			if (rc)
				goto done;
		}
		for (k = 0; k < g; k++)
			free(group[k].entries);
		g = 0;
	}
	if ((rc = tsarc_index_writer_flush(&w)))
		goto done;
	res->index_written = nwritten;
	if ((rc = tsarc_store_sync(repo->store)) || (rc = tsarc_lock_check(lock, NULL)))
		goto done;
	if ((rc = tsarc_index_remove_old(repo, (const char *const *)old, nold,
		     (const char *const *)written, nwritten, &res->index_removed)))
		goto done;
	tsarc_repo_drop_index(repo);
done:
	for (k = 0; k < g; k++)
		free(group[k].entries);
	free(group);
	tsarc_index_writer_dispose(&w);
	free(c.packs);
	tsarc_store_names_free(old, nold);
	tsarc_store_names_free(written, nwritten);
	return rc;
}
