/*
 * prune on a format-2 repository (packs + index). A chunk is freed only
 * with the pack that holds it, so prune decides per pack:
 *
 *   - a pack no live chunk is in is deleted;
 *   - a pack whose unused share (bytes of chunks no snapshot needs, or
 *     second copies) exceeds max_unused percent is repacked: its live
 *     chunks are copied, still sealed (authenticated, never decompressed
 *     or sealed again), into new packs, then it is deleted;
 *   - small packs (a backup's last, a repack's last: under half the
 *     repository's pack size) kept as they are are repacked together once
 *     there are TSARC_PRUNE_SMALL_PACKS of them or they hold a whole pack
 *     between them, so the objects of a repository backed up every night
 *     do not grow by one small pack a night, and always when other packs
 *     are repacked (so that one prune leaves no work for the next);
 *   - a pack no index names (a killed backup's or repack's) is deleted;
 *   - a pack younger than a live shared lock is not touched (a running
 *     backup may be about to name it), and the rest are kept as they are.
 *
 * Under Object Lock (objlock.h) a pack over max_unused whose retention
 * has not passed is kept as it is (LOCKED): it cannot go before its date,
 * so copying its live chunks would only add bytes. What is removed while
 * retained (packs, old index objects) is hidden behind a delete marker,
 * out of every listing, so check, restore and the next prune never see
 * it, and reported with its bytes; each prune first deletes for good the
 * hidden objects whose date has passed (tsarc_objlock_sweep), never a
 * hidden pack the index still names.
 *
 * Order, so that a kill at any moment leaves every chunk a snapshot needs
 * found through some index in a stored pack: new packs stored and synced,
 * then their index and the merged index of every pack kept, then (lock
 * checked) the old index objects removed, then (lock checked before each
 * batch) the packs removed. A kill before the old index objects go leaves
 * two index entries for some chunks (both readable) and unindexed packs,
 * which the next prune removes.
 */
#include "prune_pack.h"
#include "index.h"
#include "objlock.h"
#include "packer.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DELETE_BATCH 1000

static int list_cb(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	prune_pack *pp = payload;
	listed_pack *l;

	if (pp->nlisted == pp->listed_cap) {
		size_t cap = pp->listed_cap ? pp->listed_cap * 2 : 256;
		void *grown = realloc(pp->listed, cap * sizeof(*pp->listed));
		if (!grown)
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		pp->listed = grown;
		pp->listed_cap = cap;
	}
	l = &pp->listed[pp->nlisted];
	/* Names that are not pack names are not ours to delete. */
	if (strlen(name) != TSARC_ID_HEX_LEN || tsarc_hex_decode(l->name, TSARC_ID_LEN, name)) {
		tsarc_error_clear();
		return 0;
	}
	l->size = size;
	l->mtime = mtime;
	pp->nlisted++;
	pp->res->packs_stored++;
	pp->res->bytes_stored += size;
	return 0;
}

int prune_kept_as_is(int action)
{
	return action == KEEP || action == YOUNG || action == LOCKED;
}

static int doom(prune_pack *pp, const uint8_t name[TSARC_ID_LEN], uint64_t size)
{
	char **grown = realloc(pp->doomed, (pp->ndoomed + 1) * sizeof(char *));

	if (!grown)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pp->doomed = grown;
	if (!(grown[pp->ndoomed] = malloc(TSARC_ID_HEX_LEN + 1)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	tsarc_hex_encode(grown[pp->ndoomed++], name, TSARC_ID_LEN);
	pp->doomed_bytes += size;
	return 0;
}

static int cmp_listed(const void *a, const void *b)
{
	return memcmp(a, b, TSARC_ID_LEN);
}

/* A pack to repack under Object Lock: LOCKED while its retention runs (a
 * small one is simply kept: it is not over max_unused). */
static int repack_or_locked(prune_pack *pp, size_t i)
{
	char hex[TSARC_ID_HEX_LEN + 1];
	int64_t until = 0;
	int rc;

	if (!pp->repo->retention.mode)
		return 0;
	tsarc_hex_encode(hex, pp->names[i], TSARC_ID_LEN);
	if ((rc = tsarc_store_retained_until(pp->repo->store, TSARC_OBJ_DATA, hex, &until))) {
		tsarc_error_prefix("retention of pack %.16s", hex);
		return rc;
	}
	if (until && pp->packs[i].small) {
		pp->packs[i].action = KEEP;
	} else if (until) {
		pp->packs[i].action = LOCKED;
		if (until > pp->res->packs_locked_until)
			pp->res->packs_locked_until = until;
	}
	return 0;
}

/* Each pack's fate by its own figures alone. */
static int first_action(const pack_info *p, int64_t oldest_shared, unsigned max_unused)
{
	if (!p->listed)
		return GONE;
	if (oldest_shared != INT64_MAX &&
		p->listed->mtime >= oldest_shared - TSARC_LOCK_CLOCK_SLACK_SECONDS)
		return YOUNG;
	if (!p->used)
		return DELETE;
	if (p->unused && p->unused * 100 > (uint64_t)max_unused * (p->used + p->unused))
		return REPACK;
	return KEEP;
}

/* A pack kept as it is that is under half the pack size. */
static int small_kept(const prune_pack *pp, const pack_info *p)
{
	return p->action == KEEP && p->listed->size < pp->repo->pack_size / 2;
}

/* Small packs kept as they are go to be combined when there are enough of
 * them: copying one small pack into another gains nothing. When packs are
 * repacked anyway they go along whatever their number: the copy ends with
 * a small pack of its own, which with them could make enough for the next
 * prune to combine, so that prune after prune would find work (under the
 * threshold, that costs at most one pack's worth of copying). */
static void combine_small(prune_pack *pp)
{
	uint64_t bytes = 0;
	size_t i, n = 0;
	int repacking = 0;

	for (i = 0; i < pp->np; i++) {
		repacking |= pp->packs[i].action == REPACK;
		if (small_kept(pp, &pp->packs[i])) {
			n++;
			bytes += pp->packs[i].listed->size;
		}
	}
	if (!n || (!repacking && (n < 2 || (n < TSARC_PRUNE_SMALL_PACKS &&
						   bytes < pp->repo->pack_size))))
		return;
	for (i = 0; i < pp->np; i++)
		if (small_kept(pp, &pp->packs[i])) {
			pp->packs[i].action = REPACK;
			pp->packs[i].small = 1;
		}
}

/* Decides each pack's fate; counts what that frees. */
static int plan(prune_pack *pp, int64_t oldest_shared, unsigned max_unused)
{
	tsarc_prune_result *res = pp->res;
	size_t i;
	int rc;

	for (i = 0; i < pp->np; i++)
		pp->packs[i].action = first_action(&pp->packs[i], oldest_shared, max_unused);
	combine_small(pp);
	for (i = 0; i < pp->np; i++) {
		pack_info *p = &pp->packs[i];
		if (p->action == REPACK && (rc = repack_or_locked(pp, i)))
			return rc;
		switch (p->action) {
		case GONE:
			res->packs_missing++;
			break;
		case YOUNG:
			res->packs_young++;
			break;
		case DELETE:
			res->packs_deleted++;
			break;
		case REPACK:
			res->packs_repacked++;
			res->packs_small += p->small;
			res->bytes_repacked += p->used;
			break;
		case LOCKED:
			res->packs_locked++;
			res->bytes_locked_unused += p->unused;
			res->bytes_unused_left += p->unused;
			break;
		default:
			res->bytes_unused_left += p->unused;
			break;
		}
		if ((p->action == DELETE || p->action == REPACK) &&
			(rc = doom(pp, pp->names[i], p->listed->size)))
			return rc;
	}
	/* Packs no index names: a killed backup's or repack's, unless young. */
	for (i = 0; i < pp->nlisted; i++) {
		const listed_pack *l = &pp->listed[i];
		if (prune_pack_number(pp, l->name) >= 0)
			continue;
		if (oldest_shared != INT64_MAX &&
			l->mtime >= oldest_shared - TSARC_LOCK_CLOCK_SLACK_SECONDS) {
			res->packs_young++;
			continue;
		}
		res->packs_unindexed++;
		if ((rc = doom(pp, l->name, l->size)))
			return rc;
	}
	return 0;
}

static int append_names(char ***to, size_t *n, char **from, size_t nfrom)
{
	char **grown;

	if (!nfrom)
		return 0;
	if (!(grown = realloc(*to, (*n + nfrom) * sizeof(char *))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	memcpy(grown + *n, from, nfrom * sizeof(char *));
	*to = grown;
	*n += nfrom;
	free(from);
	return 0;
}

/* What a purge only hid, with the bytes it still takes: a pack's size
 * from the listing of packs. */
typedef struct kept_bytes {
	tsarc_purge_tally t;
	const prune_pack *pp;
	uint64_t bytes;
} kept_bytes;

static int count_kept(const char *name, int64_t kept_until, void *payload)
{
	kept_bytes *k = payload;
	uint8_t id[TSARC_ID_LEN];
	const listed_pack *l;

	if (!kept_until || tsarc_hex_decode(id, sizeof(id), name)) {
		tsarc_error_clear();
		return tsarc_purge_tally_cb(name, kept_until, &k->t);
	}
	if ((l = bsearch(id, k->pp->listed, k->pp->nlisted, sizeof(*l), cmp_listed)))
		k->bytes += l->size;
	return tsarc_purge_tally_cb(name, kept_until, &k->t);
}

/* The old index objects but those written again (the same content, named
 * the same), through purge (tsarc_index_remove_old): one still retained
 * is only hidden, counted with its bytes. */
static int remove_old_index(prune_pack *pp, char **written, size_t nwritten)
{
	tsarc_index_removal gone;
	size_t nold, i;
	const uint8_t *bin = tsarc_index_table_objects(pp->table, &nold);
	char (*old)[TSARC_ID_HEX_LEN + 1] = malloc((nold ? nold : 1) * sizeof(*old));
	const char **names = malloc((nold ? nold : 1) * sizeof(*names));
	int rc;

	if (!old || !names) {
		free(old);
		free(names);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	for (i = 0; i < nold; i++) {
		tsarc_hex_encode(old[i], bin + i * TSARC_ID_LEN, TSARC_ID_LEN);
		names[i] = old[i];
	}
	rc = tsarc_index_remove_old(pp->repo, names, nold, (const char *const *)written,
		nwritten, &gone);
	pp->res->index_removed = gone.removed;
	pp->res->index_kept = gone.kept;
	pp->res->index_kept_until = gone.kept_until;
	pp->res->bytes_kept_index = gone.kept_bytes;
	free(names);
	free(old);
	return rc;
}

/* Repack, new index, old index objects out, packs out. */
static int apply(prune_pack *pp)
{
	tsarc_repo *repo = pp->repo;
	tsarc_prune_result *res = pp->res;
	tsarc_packer *pk = NULL;
	tsarc_buf data = TSARC_BUF_INIT, scratch = TSARC_BUF_INIT;
	kept_bytes kept = {{0, 0, 0}, pp, 0};
	char **written = NULL, **more = NULL;
	size_t nwritten = 0, nmore = 0, i, m;
	uint64_t npacks, nbytes;
	int rc;

	if ((rc = tsarc_packer_new(&pk, repo, 2)))
		return rc;
	rc = prune_repack(pp, pk);
	/* New packs stored and synced, then their index. */
	if (!rc)
		rc = tsarc_packer_finish(pk, &written, &nwritten);
	tsarc_packer_stats(pk, &npacks, &nbytes);
	res->packs_written = npacks;
	/* What plan() worked out becomes what happened (the same, unless a
	 * failure stopped the repack). */
	pp->written_bytes = nbytes;
	if (rc)
		goto done;
	if ((rc = prune_write_kept_index(pp, &more, &nmore)) ||
		(rc = append_names(&written, &nwritten, more, nmore)))
		goto done;
	more = NULL;
	res->index_written = nwritten;
	if ((rc = tsarc_store_sync(repo->store)) || (rc = tsarc_lock_check(pp->lock, NULL)))
		goto done;
	/* Every old index object, now that the new ones are stored. */
	if ((rc = remove_old_index(pp, written, nwritten)))
		goto done;
	/* Only then the packs no index names any more. */
	if (pp->ndoomed && (rc = tsarc_store_sync(repo->store)))
		goto done;
	for (i = 0; i < pp->ndoomed; i += DELETE_BATCH) {
		m = pp->ndoomed - i < DELETE_BATCH ? pp->ndoomed - i : DELETE_BATCH;
		if ((rc = tsarc_lock_check(pp->lock, NULL)))
			goto done;
		if ((rc = tsarc_store_purge_many(repo->store, TSARC_OBJ_DATA,
			     (const char *const *)pp->doomed + i, m, count_kept, &kept))) {
			tsarc_error_prefix("removing packs");
			goto done;
		}
	}
done:
	/* What was only hidden is still stored. */
	res->packs_kept = kept.t.kept;
	res->packs_kept_until = kept.t.kept_until;
	res->bytes_kept_packs = kept.bytes;
	pp->hidden_bytes = kept.bytes;
	tsarc_repo_drop_index(repo);
	tsarc_packer_free(pk);
	tsarc_buf_dispose(&data);
	tsarc_buf_dispose(&scratch);
	tsarc_store_names_free(written, nwritten);
	return rc;
}

/*
 * A dry run: of the packs apply() would remove, those it would only hide
 * (the store's preview of the purge, by the same dates), with their
 * bytes, left out of bytes_removed as apply() leaves them. With Object
 * Lock or not: a bucket that retains every version (a default rule of
 * its own) hides what a repository without Object Lock removes, and
 * before, the dry run of such a repository counted it as freed. A store
 * that keeps no versions answers at once. The old index objects are
 * named only once the merged ones are written, so a dry run does not
 * count them.
 */
static int preview_packs(prune_pack *pp)
{
	tsarc_prune_result *res = pp->res;
	kept_bytes kept = {{0, 0, 0}, pp, 0};
	int rc = 0;

	if (pp->ndoomed)
		rc = tsarc_store_purge_preview(pp->repo->store, TSARC_OBJ_DATA,
			(const char *const *)pp->doomed, pp->ndoomed, count_kept, &kept);
	res->packs_kept = kept.t.kept;
	res->packs_kept_until = kept.t.kept_until;
	res->bytes_kept_packs = kept.bytes;
	pp->hidden_bytes = kept.bytes;
	return rc;
}

/*
 * bytes_removed, what the store holds less afterwards: the packs removed
 * for good (the doomed ones but those the store only hid) less the new
 * packs; bytes_added, what it holds more, when the new packs outweigh
 * what went for good (a bucket that retains every version, under Object
 * Lock or a default retention of its own, hides what prune removes while
 * the repack's packs are stored). One of them is 0. Before, the figures
 * were added and taken out of bytes_removed in turn, and when every pack
 * removed was only hidden it wrapped below zero ("16384.00 PiB freed").
 */
static void settle_bytes(const prune_pack *pp)
{
	uint64_t gone = pp->doomed_bytes > pp->hidden_bytes ? pp->doomed_bytes - pp->hidden_bytes
							    : 0;

	pp->res->bytes_removed = gone > pp->written_bytes ? gone - pp->written_bytes : 0;
	pp->res->bytes_added = pp->written_bytes > gone ? pp->written_bytes - gone : 0;
}

/* Whether anything is to change: a pack to remove, index entries of packs
 * that are gone, or more index objects than the entries need (one per
 * backup: merged, so opening the repository reads few). */
static int work_to_do(const prune_pack *pp)
{
	size_t nobj;

	tsarc_index_table_objects(pp->table, &nobj);
	return pp->ndoomed || pp->res->packs_missing ||
	       nobj > 1 + tsarc_index_table_count(pp->table) / tsarc_index_entries_per_object;
}

/* Object Lock: the hidden objects of earlier runs (and forgotten
 * snapshots) whose date has passed go for good, but a hidden pack the
 * index still names: that one someone hid behind our back, for check to
 * report and a point-in-time read to recover. */
static int sweep_hidden(prune_pack *pp, int dry_run)
{
	tsarc_chunkset *named = NULL;
	tsarc_purge_tally swept = {0, 0, 0};
	size_t i;
	int rc, added;

	if ((!dry_run && (rc = tsarc_lock_check(pp->lock, NULL))) ||
		(rc = tsarc_chunkset_new(&named)))
		return rc;
	for (i = 0; i < pp->np && !rc; i++)
		rc = tsarc_chunkset_claim(named, pp->names[i], 0, &added);
	if (!rc)
		rc = tsarc_objlock_sweep(pp->repo, named, dry_run, &swept);
	pp->res->hidden_removed = swept.removed;
	pp->res->hidden_kept = swept.kept;
	pp->res->hidden_kept_until = swept.kept_until;
	tsarc_chunkset_free(named);
	return rc;
}

int tsarc_prune_packs(tsarc_repo *repo, tsarc_lock *lock, char **snapshots, size_t nsnapshots,
	int dry_run, unsigned max_unused, tsarc_prune_result *res)
{
	prune_pack pp;
	int64_t oldest_shared;
	size_t i;
	int rc;

	memset(&pp, 0, sizeof(pp));
	pp.repo = repo;
	pp.lock = lock;
	pp.res = res;
	pp.bypack.dirfd = -1;
	/* A damaged index object is an error: what it names would be unknown. */
	if ((rc = tsarc_index_table_open_checked(repo, NULL, NULL, &pp.table))) {
		tsarc_error_prefix("prune refuses to run (run 'tsarc check', then 'tsarc repair "
				   "index')");
		goto done;
	}
	if ((rc = prune_mark_referenced(&pp, snapshots, nsnapshots)) ||
		(rc = prune_collect_packs(&pp)))
		goto done;
	/* The store lists about the packs the index names: room for them and
	 * a few more at once, not doubled as the listing comes (at 156 k packs
	 * the doubling held 19 MiB for a moment, 3-4 MiB over prune's peak). */
	pp.listed_cap = pp.np + pp.np / 16 + 256;
	if (!(pp.listed = malloc(pp.listed_cap * sizeof(*pp.listed)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = tsarc_store_list(repo->store, TSARC_OBJ_DATA, list_cb, &pp)))
		goto done;
	if (pp.nlisted)
		qsort(pp.listed, pp.nlisted, sizeof(*pp.listed), cmp_listed);
	prune_shrink((void **)&pp.listed, &pp.listed_cap, pp.nlisted, sizeof(*pp.listed));
	for (i = 0; i < pp.np; i++)
		pp.packs[i].listed = bsearch(pp.names[i], pp.listed, pp.nlisted,
			sizeof(*pp.listed), cmp_listed);
	if ((rc = prune_mark_live(&pp)))
		goto done;
	/* A live shared lock: a backup is writing packs its index will name. */
	if ((rc = tsarc_lock_check(lock, &oldest_shared)) ||
		(rc = plan(&pp, oldest_shared, max_unused)) || (rc = prune_group(&pp)))
		goto done;
	pp.written_bytes = pp.repack_bytes;
	if (repo->retention.mode && (rc = sweep_hidden(&pp, dry_run)))
		goto done;
	if (dry_run)
		rc = preview_packs(&pp);
	else if (!dry_run && work_to_do(&pp))
		rc = apply(&pp);
	settle_bytes(&pp);
done:
	tsarc_index_table_free(pp.table);
	tsarc_index_refs_dispose(&pp.refs);
	itab_runs_dispose(&pp.bypack);
	if (pp.bypack.dirfd >= 0)
		close(pp.bypack.dirfd);
	free(pp.names);
	tsarc_pack_hash_dispose(&pp.by_name);
	free(pp.listed);
	free(pp.packs);
	free(pp.live);
	free(pp.num);
	free(pp.rejected);
	tsarc_buf_dispose(&pp.copy);
	tsarc_buf_dispose(&pp.scratch);
	for (i = 0; i < pp.ndoomed; i++)
		free(pp.doomed[i]);
	free(pp.doomed);
	return rc;
}
