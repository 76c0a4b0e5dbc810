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
 *
 * A pack whose table of contents does not open may still hold every chunk
 * whole (its tail torn or flipped, its blobs intact), and the old index
 * still finds them: the snapshots restore. Dropping its entries would make
 * the repair lose what the damage left. So the old index objects are read
 * for those packs' entries alone (the damaged packs' entries in memory,
 * one index object at a time), and each entry is kept when its chunk,
 * read at its offset, authenticates and hashes to its id; one that does
 * not is dropped and counted. A chunk kept is copied, still sealed, into
 * new packs (tsarc_packer, as prune's repack copies), which are stored and
 * indexed before the old index objects go; the damaged pack is then in no
 * index, and the next prune deletes it as a killed run's (only hidden
 * under Object Lock). Before, its entries stayed in the index: check
 * compared them with a table of contents that does not open and reported
 * the pack and its chunks at every run, and no prune rewrote it.
 *
 * A damaged pack in which no old index object places a chunk (a repair
 * run again before that prune) held nothing in use and gives nothing: it
 * is reported as such (packs_damaged_unindexed), no failure. Before, it
 * was counted damaged like the first time, and every repair until the
 * prune failed with "0 copied, 0 lost" while check was clean.
 */
#include "repair.h"
#include "grow.h"
#include "codec.h"
#include "index.h"
#include "packer.h"
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

/* A pack whose table of contents did not open, with the old index's
 * entries for it. */
typedef struct damaged_pack {
	uint8_t name[TSARC_ID_LEN];
	char msg[256]; /* why its table of contents does not open */
	uint64_t size;
	size_t kept, dropped;
	tsarc_pack_entry *entries;
	size_t n, cap;
} damaged_pack;

typedef struct damaged_set {
	damaged_pack *v;
	size_t n, cap;
} damaged_set;

static int cmp_damaged(const void *a, const void *b)
{
	return memcmp(((const damaged_pack *)a)->name, ((const damaged_pack *)b)->name,
		TSARC_ID_LEN);
}

static int cmp_entry(const void *a, const void *b)
{
	const tsarc_pack_entry *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	if (x->length != y->length)
		return x->length < y->length ? -1 : 1;
	return memcmp(x->id, y->id, TSARC_ID_LEN);
}

/* An old index entry of a damaged pack. */
static int collect_entry(const uint8_t pack[TSARC_ID_LEN], const tsarc_pack_entry *e,
	void *payload)
{
	damaged_set *d = payload;
	damaged_pack key, *p;

	memcpy(key.name, pack, TSARC_ID_LEN);
	if (!(p = bsearch(&key, d->v, d->n, sizeof(*d->v), cmp_damaged)))
		return 0;
	if (TSARC_RESERVE(p->entries, p->n, p->cap, 64))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	p->entries[p->n++] = *e;
	return 0;
}

/*
 * Copies into the packer, of pack p's old entries (sorted, each once),
 * those whose chunk opens where the entry says; the rest are dropped. A
 * chunk that does not open, or a range the store does not have, is
 * damage; any other failure to read is an error (nothing old is removed
 * then).
 */
static int verify_entries(tsarc_repo *repo, tsarc_codec *codec, tsarc_packer *pk,
	damaged_pack *p, size_t *kept, size_t *distinct)
{
	tsarc_buf sealed = TSARC_BUF_INIT, scratch = TSARC_BUF_INIT, plain = TSARC_BUF_INIT;
	char hex[TSARC_ID_HEX_LEN + 1];
	size_t i, k = 0;
	int rc = 0;

	*distinct = 0;
	tsarc_hex_encode(hex, p->name, TSARC_ID_LEN);
	for (i = 0; i < p->n; i++) {
		const tsarc_pack_entry *e = &p->entries[i];
		/* Sorted: the same entry from several old objects is together. */
		if (i && !cmp_entry(e, &p->entries[i - 1]))
			continue;
		(*distinct)++;
		rc = tsarc_pack_entry_opens(repo, codec, hex, p->size, e, &sealed, &scratch,
			&plain);
		if (rc == TSARC_ECORRUPT) {
			tsarc_error_clear();
			rc = 0;
			continue;
		}
		if (rc || (rc = tsarc_packer_add(pk, e->id, sealed.ptr, sealed.size, e->plain)))
			break;
		k++;
	}
	tsarc_buf_dispose(&sealed);
	tsarc_buf_dispose(&scratch);
	tsarc_buf_dispose(&plain);
	*kept = k;
	return rc;
}

/*
 * The damaged packs' chunks the old index objects `old` place in them,
 * each copied into the packer once it authenticates there. A damaged or
 * vanished old index object gives nothing (it is being replaced); the
 * damaged ones are counted into *unread.
 */
static int keep_damaged(tsarc_repo *repo, damaged_set *d, char **old, size_t nold,
	tsarc_packer *pk, tsarc_repair_result *res, size_t *unread)
{
	tsarc_codec *codec = NULL;
	size_t i, kept, distinct;
	int rc = 0;

	*unread = 0;
	qsort(d->v, d->n, sizeof(*d->v), cmp_damaged);
	for (i = 0; i < nold; i++) {
		rc = tsarc_index_open_object(repo, NULL, old[i], collect_entry, d);
		if (rc == TSARC_ECORRUPT || rc == TSARC_ENOTFOUND) {
			*unread += (size_t)(rc == TSARC_ECORRUPT);
			tsarc_error_clear();
			rc = 0;
		} else if (rc) {
			return rc;
		}
	}
	if ((rc = tsarc_codec_new(&codec, repo->codec, repo->level)))
		return rc;
	for (i = 0; i < d->n; i++) {
		damaged_pack *p = &d->v[i];
		if (!p->n)
			continue;
		qsort(p->entries, p->n, sizeof(*p->entries), cmp_entry);
		if ((rc = verify_entries(repo, codec, pk, p, &kept, &distinct)))
			break;
		p->kept = kept;
		p->dropped = distinct - kept;
		res->damaged_chunks_kept += kept;
		res->damaged_chunks_dropped += distinct - kept;
		res->chunks += kept;
	}
	tsarc_codec_free(codec);
	return rc;
}

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

/* Each damaged pack, counted and reported for what became of it. */
static void report_damaged(const damaged_set *d, size_t unread,
	void (*on_damaged)(const tsarc_repair_damaged *p, void *payload), void *payload,
	tsarc_repair_result *res)
{
	char hex[TSARC_ID_HEX_LEN + 1];
	tsarc_repair_damaged r;
	size_t i;

	for (i = 0; i < d->n; i++) {
		const damaged_pack *p = &d->v[i];
		memset(&r, 0, sizeof(r));
		tsarc_hex_encode(hex, p->name, TSARC_ID_LEN);
		r.pack = hex;
		r.msg = p->msg;
		r.indexed = p->n > 0;
		r.kept = p->kept;
		r.dropped = p->dropped;
		r.index_unread = unread;
		/* With an old index object unread, what it placed there is not
		 * known: damage, as before. */
		if (r.indexed || unread)
			res->packs_damaged++;
		else
			res->packs_damaged_unindexed++;
		if (on_damaged)
			on_damaged(&r, payload);
	}
}

int tsarc_repair_index(tsarc_repo *repo, tsarc_lock *lock,
	void (*on_damaged)(const tsarc_repair_damaged *p, void *payload), void *payload,
	tsarc_repair_result *res)
{
	repair_ctx c;
	damaged_set d = {NULL, 0, 0};
	tsarc_index_writer w;
	tsarc_pack_toc *group = NULL;
	tsarc_index_removal gone;
	tsarc_packer *pk = NULL;
	char **old = NULL, **written = NULL, **copied = NULL;
	const char **kept = NULL;
	uint8_t name[TSARC_ID_LEN];
	size_t nold = 0, nwritten = 0, ncopied = 0, unread = 0, i, k, g = 0;
	uint64_t npacks = 0, nbytes = 0;
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
				if (TSARC_RESERVE(d.v, d.n, d.cap, 16)) {
					rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
					goto done;
				}
				memset(&d.v[d.n], 0, sizeof(*d.v));
				tsarc_hex_decode(d.v[d.n].name, TSARC_ID_LEN, group[k].name);
				snprintf(d.v[d.n].msg, sizeof(d.v[d.n].msg), "%s", group[k].msg);
				d.v[d.n++].size = group[k].size;
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
	/* The damaged packs' chunks that authenticate, copied into new packs:
	 * stored, synced and indexed (by the packer) before anything goes. */
	if (d.n) {
		if ((rc = tsarc_packer_new(&pk, repo, 2)))
			goto done;
		rc = keep_damaged(repo, &d, old, nold, pk, res, &unread);
		if (!rc)
			rc = tsarc_packer_finish(pk, &copied, &ncopied);
		tsarc_packer_stats(pk, &npacks, &nbytes);
		res->packs_written = (size_t)npacks;
		res->bytes_written = nbytes;
		if (rc)
			goto done;
		report_damaged(&d, unread, on_damaged, payload, res);
	}
	if ((rc = tsarc_index_writer_flush(&w)))
		goto done;
	res->index_written = nwritten + ncopied;
	if ((rc = tsarc_store_sync(repo->store)) || (rc = tsarc_lock_check(lock, NULL)))
		goto done;
	/* Every index object written is kept, the copies' too. */
	if (!(kept = malloc((res->index_written ? res->index_written : 1) * sizeof(*kept)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	for (k = 0; k < nwritten; k++)
		kept[k] = written[k];
	for (k = 0; k < ncopied; k++)
		kept[nwritten + k] = copied[k];
	rc = tsarc_index_remove_old(repo, (const char *const *)old, nold, kept,
		res->index_written, &gone);
	res->index_removed = gone.removed;
	res->index_kept = gone.kept;
	res->index_kept_until = gone.kept_until;
	res->bytes_kept_index = gone.kept_bytes;
	if (rc)
		goto done;
	tsarc_repo_drop_index(repo);
done:
	for (k = 0; k < g; k++)
		free(group[k].entries);
	free(group);
	tsarc_index_writer_dispose(&w);
	free(c.packs);
	for (k = 0; k < d.n; k++)
		free(d.v[k].entries);
	free(d.v);
	tsarc_store_names_free(old, nold);
	tsarc_store_names_free(written, nwritten);
	tsarc_store_names_free(copied, ncopied);
	free(kept);
	tsarc_packer_free(pk);
	return rc;
}
