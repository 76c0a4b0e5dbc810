#include "repair.h"
#include "grow.h"
#include "index.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct repair_ctx {
	tsarc_repo *repo;
	tsarc_pack_toc *packs;
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
	memset(&c->packs[c->n], 0, sizeof(c->packs[0]));
	memcpy(c->packs[c->n].name, name, TSARC_ID_HEX_LEN + 1);
	c->packs[c->n++].size = size;
	return 0;
}

int tsarc_repair_index(tsarc_repo *repo, tsarc_lock *lock,
	void (*on_damaged)(const char *pack, const char *msg, void *payload), void *payload,
	tsarc_repair_result *res)
{
	repair_ctx c = {repo, NULL, 0, 0};
	tsarc_index_pack *ip = NULL;
	char **old = NULL, **written = NULL;
	size_t nold = 0, nwritten = 0, nip = 0, i;
	int rc;

	memset(res, 0, sizeof(*res));
	if (repo->version < 2)
		return tsarc_error_set(TSARC_EINVAL, "this repository is of format %u: it has "
			"no index (each chunk is its own object)", repo->version);
	if ((rc = tsarc_store_list_names(repo->store, TSARC_OBJ_INDEX, &old, &nold)) ||
		(rc = tsarc_store_list(repo->store, TSARC_OBJ_DATA, list_one, &c)))
		goto done;
	res->packs = c.n;
	if ((rc = tsarc_pack_read_tocs(repo, c.packs, c.n, repo->store->max_inflight)))
		goto done;
	if (c.n && !(ip = calloc(c.n, sizeof(*ip)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < c.n; i++) {
		if (c.packs[i].bad) {
			res->packs_damaged++;
			if (on_damaged)
				on_damaged(c.packs[i].name, c.packs[i].msg, payload);
			continue;
		}
		if (!c.packs[i].n)
			continue;
		tsarc_hex_decode(ip[nip].name, TSARC_ID_LEN, c.packs[i].name);
		ip[nip].entries = c.packs[i].entries;
		ip[nip++].n = c.packs[i].n;
		res->chunks += c.packs[i].n;
	}
	if ((rc = tsarc_index_write(repo, ip, nip, &written, &nwritten)))
		goto done;
	res->index_written = nwritten;
	if ((rc = tsarc_store_sync(repo->store)) || (rc = tsarc_lock_check(lock, NULL)))
		goto done;
	if ((rc = tsarc_index_remove_old(repo, (const char *const *)old, nold,
		     (const char *const *)written, nwritten, &res->index_removed)))
		goto done;
	tsarc_repo_drop_index(repo);
done:
	for (i = 0; i < c.n; i++)
		free(c.packs[i].entries);
	free(c.packs);
	free(ip);
	tsarc_store_names_free(old, nold);
	tsarc_store_names_free(written, nwritten);
	return rc;
}
