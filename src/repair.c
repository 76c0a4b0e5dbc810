/*
 * repair index: the index written again from the packs' own tables of
 * contents, in bounded memory whatever the repository's size. The packs
 * are read a group at a time (REPAIR_GROUP packs' tables on the store's
 * parallel requests) and their entries written as the index objects
 * tsarc_index_write makes of the whole list (an object holds whole packs
 * and no more than TSARC_INDEX_ENTRIES_PER_OBJECT entries unless one pack
 * alone has more), so at most one object's entries, one group's tables and
 * the listing (73 bytes a pack) are in memory. The new objects are stored
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
	tsarc_repo *repo;
	listed *packs;
	size_t n, cap;
	tsarc_index_pack *ip; /* the index object being filled */
	size_t nip, ip_cap, entries;
	char **written;
	size_t nwritten;
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

static void drop_object(repair_ctx *c)
{
	size_t i;

	for (i = 0; i < c->nip; i++)
		free(c->ip[i].entries);
	c->nip = c->entries = 0;
}

/* Writes the index object being filled. */
static int flush_object(repair_ctx *c)
{
	int rc = c->nip ? tsarc_index_write(c->repo, c->ip, c->nip, &c->written, &c->nwritten) : 0;

	drop_object(c);
	return rc;
}

/* Adds a pack's entries (taken over) to the index object being filled,
 * writing that one first when they would not fit. */
static int add_pack(repair_ctx *c, tsarc_pack_toc *t)
{
	int rc;

	if (c->nip && c->entries + t->n > tsarc_index_entries_per_object &&
		(rc = flush_object(c)))
		return rc;
	if ((rc = TSARC_RESERVE(c->ip, c->nip, c->ip_cap, 64)))
		return rc;
	tsarc_hex_decode(c->ip[c->nip].name, TSARC_ID_LEN, t->name);
	c->ip[c->nip].entries = t->entries;
	c->ip[c->nip++].n = t->n;
	c->entries += t->n;
	t->entries = NULL;
	return 0;
}

int tsarc_repair_index(tsarc_repo *repo, tsarc_lock *lock,
	void (*on_damaged)(const char *pack, const char *msg, void *payload), void *payload,
	tsarc_repair_result *res)
{
	repair_ctx c;
	tsarc_pack_toc *group = NULL;
	char **old = NULL;
	size_t nold = 0, i, k, g = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	c.repo = repo;
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
			if ((rc = add_pack(&c, &group[k])))
				goto done;
		}
		for (k = 0; k < g; k++)
			free(group[k].entries);
		g = 0;
	}
	if ((rc = flush_object(&c)))
		goto done;
	res->index_written = c.nwritten;
	if ((rc = tsarc_store_sync(repo->store)) || (rc = tsarc_lock_check(lock, NULL)))
		goto done;
	if ((rc = tsarc_index_remove_old(repo, (const char *const *)old, nold,
		     (const char *const *)c.written, c.nwritten, &res->index_removed)))
		goto done;
	tsarc_repo_drop_index(repo);
done:
	for (k = 0; k < g; k++)
		free(group[k].entries);
	free(group);
	drop_object(&c);
	free(c.ip);
	free(c.packs);
	tsarc_store_names_free(old, nold);
	tsarc_store_names_free(c.written, c.nwritten);
	return rc;
}
