#include "prune.h"
#include "grow.h"
#include "chunkset.h"
#include "forgotten.h"
#include "lock.h"
#include "objlock.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

#define DELETE_BATCH 1000

typedef struct doomed_chunk {
	char name[TSARC_ID_HEX_LEN + 1];
	uint64_t size;
	int64_t mtime; /* store clock */
} doomed_chunk;

typedef struct sweep {
	tsarc_chunkset *referenced;
	tsarc_prune_result *res;
	doomed_chunk *doomed;
	size_t ndoomed, cap;
} sweep;

static int consider(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	sweep *s = payload;
	uint8_t id[TSARC_ID_LEN];

	s->res->chunks_stored++;
	s->res->bytes_stored += size;
	/* Names that are not chunk ids are not ours to delete. */
	if (strlen(name) != TSARC_ID_HEX_LEN || tsarc_hex_decode(id, sizeof(id), name)) {
		tsarc_error_clear();
		return 0;
	}
	if (tsarc_chunkset_lookup(s->referenced, id, NULL))
		return 0;
	if (TSARC_RESERVE(s->doomed, s->ndoomed, s->cap, 1024))
		return TSARC_ENOMEM;
	memcpy(s->doomed[s->ndoomed].name, name, TSARC_ID_HEX_LEN + 1);
	s->doomed[s->ndoomed].size = size;
	s->doomed[s->ndoomed++].mtime = mtime;
	return 0;
}

static int count_temp(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	tsarc_prune_result *res = payload;

	(void)name;
	(void)mtime;
	res->temp_removed++;
	res->temp_bytes_removed += size;
	return 0;
}

/*
 * The temporary files of killed runs (a folder store's unfinished puts):
 * those last written before the oldest live lock, ours included, was
 * first written, less the clock slack. A put in progress belongs to a
 * holder of a live lock and keeps its file's time after that lock's.
 */
static int remove_temporaries(tsarc_repo *repo, tsarc_lock *lock, tsarc_prune_result *res)
{
	int64_t oldest_shared, before = tsarc_lock_since(lock);
	int rc;

	if ((rc = tsarc_lock_check(lock, &oldest_shared)))
		return rc;
	if (oldest_shared < before)
		before = oldest_shared;
	if ((rc = tsarc_store_remove_temp(repo->store, before - TSARC_LOCK_CLOCK_SLACK_SECONDS,
		     count_temp, res)))
		tsarc_error_prefix("removing the temporary files of killed runs");
	return rc;
}

/* Whether `id` is one of the snapshots a prune counts as gone. */
static int is_forgotten(const char *id, const char *const *forgotten, size_t nforgotten)
{
	size_t i;

	for (i = 0; i < nforgotten; i++)
		if (!strcmp(id, forgotten[i]))
			return 1;
	return 0;
}

static int prune_format2(tsarc_repo *repo, tsarc_lock *lock, const char *const *forgotten,
	size_t nforgotten, int dry_run, unsigned max_unused, tsarc_prune_result *res)
{
	char **ids = NULL;
	size_t n = 0, i, m;
	int rc;

	if ((rc = tsarc_snapshot_list_ids(repo, &ids, &n))) {
		tsarc_error_prefix("prune refuses to run, as it cannot tell what every snapshot "
				   "needs (run 'tsarc check')");
		return rc;
	}
	for (i = 0, m = 0; i < n; i++) {
		if (is_forgotten(ids[i], forgotten, nforgotten)) {
			free(ids[i]);
			continue;
		}
		ids[m++] = ids[i];
	}
	n = m;
	if (!dry_run && (rc = remove_temporaries(repo, lock, res)))
		goto done;
	rc = tsarc_prune_packs(repo, lock, ids, n, dry_run, max_unused, res);
done:
	tsarc_snapshot_ids_free(ids, n);
	return rc;
}

/*
 * The report of one batch's purge: tallied as every purge's, and the
 * bytes of each chunk only hidden taken back out of bytes_removed, which
 * counts only what is deleted for good (as on format 2, and so the dry
 * run's figures, from the store's preview, are the real run's). Before,
 * a chunk only hidden counted as freed.
 */
typedef struct batch_purge {
	tsarc_purge_tally *tally;
	const doomed_chunk *batch;
	size_t n, at;
	tsarc_prune_result *res;
} batch_purge;

static int batch_purged(const char *name, int64_t kept_until, void *payload)
{
	batch_purge *p = payload;
	size_t i, k;

	if (kept_until)
		/* The store reports in the batch's order as a rule: from where
		 * the last one was, once round at worst. */
		for (i = 0; i < p->n; i++) {
			k = (p->at + i) % p->n;
			if (!strcmp(p->batch[k].name, name)) {
				p->res->bytes_removed -= p->batch[k].size;
				p->at = k + 1;
				break;
			}
		}
	return tsarc_purge_tally_cb(name, kept_until, p->tally);
}

/*
 * Under Object Lock, a hidden snapshot that tsarc's forget did not mark
 * (forgotten.h) was hidden by someone else: what it needs is not known
 * (it is not listed), so freeing what no listed snapshot needs could
 * free its data. Prune refuses, as with a snapshot it cannot read; not
 * for one of `forgotten`, which the forget this prune previews marks.
 */
static int refuse_unmarked(tsarc_repo *repo, const char *const *forgotten, size_t nforgotten)
{
	char **ids = NULL;
	size_t n = 0, i, left = 0, first = 0;
	int rc = tsarc_forgotten_unmarked(repo, &ids, &n);

	for (i = 0; !rc && i < n; i++)
		if (!is_forgotten(ids[i], forgotten, nforgotten) && !left++)
			first = i;
	if (!rc && left)
		rc = tsarc_forgotten_unmarked_error(ids[first], left,
			"prune deletes nothing while it is so, as what it needs is not known");
	tsarc_snapshot_ids_free(ids, n);
	return rc;
}

int tsarc_prune(tsarc_repo *repo, tsarc_lock *lock, int dry_run, unsigned max_unused,
	tsarc_prune_result *res)
{
	return tsarc_prune_after(repo, lock, NULL, 0, dry_run, max_unused, res);
}

int tsarc_prune_after(tsarc_repo *repo, tsarc_lock *lock, const char *const *forgotten,
	size_t nforgotten, int dry_run, unsigned max_unused, tsarc_prune_result *res)
{
	tsarc_snapshot **snaps = NULL;
	const char *batch[DELETE_BATCH];
	tsarc_purge_tally kept = {0, 0, 0}, swept = {0, 0, 0};
	size_t n = 0, i, s, k, m;
	int64_t oldest_shared;
	sweep sw;
	int rc, added;

	memset(res, 0, sizeof(*res));
	memset(&sw, 0, sizeof(sw));
	sw.res = res;
	/* A real run would delete what those still listed need. */
	if (nforgotten && !dry_run)
		return tsarc_error_set(TSARC_EINVAL,
			"prune counts snapshots as forgotten in a dry run only");
	if ((rc = refuse_unmarked(repo, forgotten, nforgotten)))
		return rc;
	/* Its data objects are packs: freed a pack at a time, the snapshots
	 * read one at a time. */
	if (repo->version >= 2)
		return prune_format2(repo, lock, forgotten, nforgotten, dry_run, max_unused, res);
	/* Format 1 (each chunk its own object) holds every id the snapshots
	 * need in memory. No on_error handler: one unreadable snapshot stops the prune. */
	if ((rc = tsarc_snapshot_load_all(repo, &snaps, &n, NULL, NULL))) {
		tsarc_error_prefix("prune refuses to run, as it cannot tell what every snapshot "
				   "needs (run 'tsarc check')");
		return rc;
	}
	if ((rc = tsarc_chunkset_new(&sw.referenced)))
		goto done;
	for (i = 0; i < n; i++) {
		if (is_forgotten(snaps[i]->id, forgotten, nforgotten))
			continue;
		res->snapshots++;
		for (s = 0; s < snaps[i]->nstreams; s++)
			for (k = 0; k < snaps[i]->streams[s].nchunks; k++)
				if ((rc = tsarc_chunkset_claim(sw.referenced,
					     snaps[i]->streams[s].chunks[k].id, 0, &added)))
					goto done;
	}
	res->chunks_referenced = tsarc_chunkset_count(sw.referenced);
	if (!dry_run && (rc = remove_temporaries(repo, lock, res)))
		goto done;
	if ((rc = tsarc_store_list(repo->store, TSARC_OBJ_DATA, consider, &sw)))
		goto done;
	/*
	 * A shared lock that is live now belongs to a backup that raced with
	 * our lock or outlived a lost one: its chunks are in data/ but in no
	 * manifest yet. It wrote its lock before its first chunk, so every
	 * chunk younger than that lock (store clock, with slack) is spared.
	 */
	if ((rc = tsarc_lock_check(lock, &oldest_shared)))
		goto done;
	for (i = 0, m = 0; i < sw.ndoomed; i++) {
		if (oldest_shared != INT64_MAX &&
			sw.doomed[i].mtime >= oldest_shared - TSARC_LOCK_CLOCK_SLACK_SECONDS) {
			res->chunks_young++;
			continue;
		}
		res->chunks_removed++;
		res->bytes_removed += sw.doomed[i].size;
		sw.doomed[m++] = sw.doomed[i];
	}
	sw.ndoomed = m;
	/* Object Lock: what earlier runs hid, first, so this run's own hidden
	 * chunks are not tried twice. A dry run goes the same way and asks
	 * the store what each purge would do instead. */
	if (repo->retention.mode) {
		if ((rc = tsarc_objlock_sweep(repo, sw.referenced, dry_run, &swept)))
			goto done;
		res->hidden_removed = swept.removed;
		res->hidden_kept = swept.kept;
		res->hidden_kept_until = swept.kept_until;
	}
	for (i = 0; i < sw.ndoomed; i += DELETE_BATCH) {
		m = sw.ndoomed - i < DELETE_BATCH ? sw.ndoomed - i : DELETE_BATCH;
		/* Each batch only while our lock is still ours. */
		if (!dry_run && (i > 0 || repo->retention.mode) &&
			(rc = tsarc_lock_check(lock, NULL)))
			goto done;
		batch_purge bp = {&kept, sw.doomed + i, m, 0, res};
		for (k = 0; k < m; k++)
			batch[k] = sw.doomed[i + k].name;
		/* With Object Lock, one under retention is only hidden. */
		if ((rc = (dry_run ? tsarc_store_purge_preview : tsarc_store_purge_many)(
			     repo->store, TSARC_OBJ_DATA, batch, m, batch_purged, &bp))) {
			tsarc_error_prefix("removing unreferenced chunks");
			goto done;
		}
	}
	res->chunks_kept = kept.kept;
	res->chunks_kept_until = kept.kept_until;
done:
	tsarc_snapshot_array_free(snaps, n);
	tsarc_chunkset_free(sw.referenced);
	free(sw.doomed);
	return rc;
}
