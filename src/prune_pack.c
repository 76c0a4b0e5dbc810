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
 *     do not grow by one small pack a night;
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
#include "prune.h"
#include "crypto.h"
#include "chunkset.h"
#include "index.h"
#include "objlock.h"
#include "packer.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

#define DELETE_BATCH 1000

enum { KEEP, YOUNG, DELETE, REPACK, GONE, LOCKED };
/* Per index record: unused, the copy of a live chunk that stays, or a
 * repeat of the record before it. */
enum { LIVE_NO, LIVE_YES, LIVE_REPEAT };

typedef struct listed_pack {
	uint8_t name[TSARC_ID_LEN];
	uint64_t size;
	int64_t mtime;
} listed_pack;

/* What prune knows of an indexed pack. */
typedef struct pack_info {
	const listed_pack *listed; /* NULL: not in the store */
	uint64_t used, unused;     /* sealed bytes of live and other chunks */
	uint64_t needed, total;    /* of chunks snapshots need (any copy), of all */
	size_t first, n;           /* its records in `order` */
	int action;
	int small;                 /* repacked only to be combined */
} pack_info;

typedef struct prune_pack {
	tsarc_repo *repo;
	tsarc_lock *lock;
	tsarc_prune_result *res;
	tsarc_index *idx;
	const tsarc_index_rec *recs;
	size_t nrecs, np;
	listed_pack *listed;
	size_t nlisted, listed_cap;
	pack_info *packs;
	size_t *order;  /* record numbers grouped by pack, by offset in each */
	uint8_t *live;  /* per record: LIVE_* */
	char **doomed;  /* hex names of the packs to remove */
	size_t ndoomed;
	uint64_t repack_bytes; /* what the repack's new packs will take */
} prune_pack;

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

/* Stays as it is (in the merged index of the packs kept). */
static int kept_as_is(int action)
{
	return action == KEEP || action == YOUNG || action == LOCKED;
}

static int holds(const pack_info *p, const tsarc_index_rec *r)
{
	return p->listed && (uint64_t)r->offset + r->length + 4 <= p->listed->size;
}

/* A record of a pack, for sorting them by offset. */
typedef struct slot {
	uint32_t offset;
	size_t rec;
} slot;

static int cmp_slot(const void *a, const void *b)
{
	uint32_t x = ((const slot *)a)->offset, y = ((const slot *)b)->offset;

	return x < y ? -1 : x > y;
}

/* Groups the records by pack (counting sort), each group by offset. */
static int group_by_pack(prune_pack *pp)
{
	size_t i, *fill;
	slot *s = NULL;

	if (!pp->nrecs)
		return 0;
	if (!(pp->order = malloc(pp->nrecs * sizeof(*pp->order))) ||
		!(s = malloc(pp->nrecs * sizeof(*s))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!(fill = calloc(pp->np + 1, sizeof(*fill)))) {
		free(s);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	for (i = 0; i < pp->nrecs; i++)
		pp->packs[pp->recs[i].pack].n++;
	for (i = 0; i < pp->np; i++)
		fill[i + 1] = fill[i] + pp->packs[i].n;
	for (i = 0; i < pp->np; i++)
		pp->packs[i].first = fill[i];
	for (i = 0; i < pp->nrecs; i++) {
		slot *t = &s[fill[pp->recs[i].pack]++];
		t->offset = pp->recs[i].offset;
		t->rec = i;
	}
	free(fill);
	for (i = 0; i < pp->np; i++)
		qsort(s + pp->packs[i].first, pp->packs[i].n, sizeof(*s), cmp_slot);
	for (i = 0; i < pp->nrecs; i++)
		pp->order[i] = s[i].rec;
	free(s);
	return 0;
}

/* Record k repeats the one before it (the same pack and offset: two index
 * objects name the pack, as after a prune killed before it removed the
 * old ones). It is one copy, not two. */
static int repeated(const prune_pack *pp, size_t k)
{
	const tsarc_index_rec *a, *b;

	if (!k)
		return 0;
	a = &pp->recs[k - 1];
	b = &pp->recs[k];
	return !memcmp(a->id, b->id, TSARC_ID_LEN) && a->pack == b->pack && a->offset == b->offset;
}

/* Pack a is the better home for a live chunk than b: a larger share of it
 * is needed (so a killed repack's new packs win over the packs it was
 * emptying, which then go whole instead of being repacked again); at equal
 * shares (small packs are wholly needed, and so are the packs combining
 * them), the newer, then the larger: the killed run's. Both are stored
 * (holds() was asked first). */
static int better_home(const pack_info *a, const pack_info *b)
{
	uint64_t x = a->needed * b->total, y = b->needed * a->total;

	if (x != y)
		return x > y;
	if (a->listed->mtime != b->listed->mtime)
		return a->listed->mtime > b->listed->mtime;
	return a->listed->size > b->listed->size;
}

/*
 * For each chunk a snapshot needs, one copy stays: the one in the stored
 * pack (long enough to hold it) with the largest needed share. Every other
 * copy is unused. TSARC_ECORRUPT when a needed chunk is in no stored pack.
 */
static int mark_live(prune_pack *pp, tsarc_chunkset *referenced)
{
	size_t i, end, k, best, missing = 0;
	char hex[TSARC_ID_HEX_LEN + 1] = "";

	for (k = 0; k < pp->nrecs; k++) {
		pack_info *p = &pp->packs[pp->recs[k].pack];
		if (repeated(pp, k)) {
			pp->live[k] = LIVE_REPEAT;
			continue;
		}
		p->total += pp->recs[k].length;
		if (tsarc_chunkset_lookup(referenced, pp->recs[k].id, NULL))
			p->needed += pp->recs[k].length;
	}
	for (i = 0; i < pp->nrecs; i = end) {
		const tsarc_index_rec *r = &pp->recs[i];
		int needed = tsarc_chunkset_lookup(referenced, r->id, NULL);
		for (end = i + 1; end < pp->nrecs && !memcmp(pp->recs[end].id, r->id, TSARC_ID_LEN);
			end++)
			;
		pp->res->chunks_stored++;
		for (k = i, best = end; needed && k < end; k++)
			if (pp->live[k] != LIVE_REPEAT && holds(&pp->packs[pp->recs[k].pack], &pp->recs[k]) &&
				(best == end || better_home(&pp->packs[pp->recs[k].pack],
						       &pp->packs[pp->recs[best].pack])))
				best = k;
		if (best != end)
			pp->live[best] = LIVE_YES;
		else if (needed && missing++ == 0)
			tsarc_hex_encode(hex, r->id, TSARC_ID_LEN);
		for (k = i; k < end; k++) {
			pack_info *p = &pp->packs[pp->recs[k].pack];
			if (pp->live[k] == LIVE_YES)
				p->used += pp->recs[k].length;
			else if (pp->live[k] == LIVE_NO)
				p->unused += pp->recs[k].length;
		}
	}
	if (missing)
		return tsarc_error_set(TSARC_ECORRUPT, "prune refuses to run: %zu chunks that "
			"snapshots need are in no stored pack the index names (the first: %.16s); "
			"run 'tsarc check', and 'tsarc repair index' if packs are missing from the "
			"index", missing, hex);
	return 0;
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
	pp->res->bytes_removed += size;
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
	tsarc_hex_encode(hex, tsarc_index_pack_name(pp->idx, (uint32_t)i), TSARC_ID_LEN);
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
 * them: copying one small pack into another gains nothing. */
static void combine_small(prune_pack *pp)
{
	uint64_t bytes = 0;
	size_t i, n = 0;

	for (i = 0; i < pp->np; i++)
		if (small_kept(pp, &pp->packs[i])) {
			n++;
			bytes += pp->packs[i].listed->size;
		}
	if (n < 2 || (n < TSARC_PRUNE_SMALL_PACKS && bytes < pp->repo->pack_size))
		return;
	for (i = 0; i < pp->np; i++)
		if (small_kept(pp, &pp->packs[i])) {
			pp->packs[i].action = REPACK;
			pp->packs[i].small = 1;
		}
}

/*
 * The bytes of the packs a repack will write, and how many: the packer's
 * own rule (a pack is stored as soon as it reaches the pack size) over the
 * live blobs in the order repack_one adds them, each pack with its sealed
 * table of contents, so that a dry run says to the byte what prune frees.
 */
static uint64_t repack_bytes(const prune_pack *pp, size_t *npacks)
{
	uint64_t total = 0, cur = 0;
	size_t i, k, n = 0;

	*npacks = 0;
	for (i = 0; i < pp->np; i++) {
		const pack_info *p = &pp->packs[i];
		if (p->action != REPACK)
			continue;
		for (k = p->first; k < p->first + p->n; k++) {
			if (pp->live[pp->order[k]] != LIVE_YES)
				continue;
			cur += pp->recs[pp->order[k]].length;
			n++;
			if (cur >= pp->repo->pack_size) {
				total += tsarc_pack_bytes(cur, n);
				++*npacks;
				cur = 0;
				n = 0;
			}
		}
	}
	if (n) {
		total += tsarc_pack_bytes(cur, n);
		++*npacks;
	}
	return total;
}

/* Decides each pack's fate; counts what that frees. */
static int plan(prune_pack *pp, int64_t oldest_shared, unsigned max_unused)
{
	tsarc_prune_result *res = pp->res;
	size_t i, k;
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
			(rc = doom(pp, tsarc_index_pack_name(pp->idx, (uint32_t)i), p->listed->size)))
			return rc;
	}
	pp->repack_bytes = repack_bytes(pp, &res->packs_written);
	res->bytes_removed -= pp->repack_bytes;
	/* Packs no index names: a killed backup's or repack's, unless young. */
	for (i = 0; i < pp->nlisted; i++) {
		const listed_pack *l = &pp->listed[i];
		if (tsarc_index_pack_number(pp->idx, l->name) >= 0)
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
	/* Chunks: removed when no copy stays, young when one stays unused. */
	for (i = 0; i < pp->nrecs; i = k) {
		int stays = 0, live = 0, young = 0;
		for (k = i; k < pp->nrecs && !memcmp(pp->recs[k].id, pp->recs[i].id, TSARC_ID_LEN);
			k++) {
			int a = pp->packs[pp->recs[k].pack].action;
			live |= pp->live[k] == LIVE_YES;
			stays |= kept_as_is(a);
			young |= a == YOUNG;
		}
		if (live)
			continue;
		if (!stays)
			res->chunks_removed++;
		else if (young)
			res->chunks_young++;
	}
	return 0;
}

/* A repack reads a pack's live blobs in runs (pack.h: TSARC_PACK_RUN_*;
 * one blob alone, whatever its size), so its memory does not grow with
 * the pack size. */
/* The live records of pack i from position k of `order` on that one read
 * takes: returns the position past them, the bytes they span in *span. */
static size_t run_end(const prune_pack *pp, const pack_info *p, size_t k, uint64_t *span)
{
	const tsarc_index_rec *first = &pp->recs[pp->order[k]];
	uint64_t start = first->offset, end = start + first->length;
	size_t j;

	for (j = k + 1; j < p->first + p->n; j++) {
		const tsarc_index_rec *r = &pp->recs[pp->order[j]];
		if (pp->live[pp->order[j]] != LIVE_YES)
			continue;
		if (r->offset < end || r->offset - end > TSARC_PACK_RUN_GAP ||
			(uint64_t)r->offset + r->length - start > TSARC_PACK_RUN_MAX)
			break;
		end = (uint64_t)r->offset + r->length;
	}
	*span = end - start;
	return j;
}

/* Copies the live chunks of pack i into the packer, authenticating each. */
static int repack_one(prune_pack *pp, tsarc_packer *pk, size_t i, tsarc_buf *data,
	tsarc_buf *scratch)
{
	const pack_info *p = &pp->packs[i];
	char hex[TSARC_ID_HEX_LEN + 1];
	size_t k, next, j;
	int rc;

	tsarc_hex_encode(hex, tsarc_index_pack_name(pp->idx, (uint32_t)i), TSARC_ID_LEN);
	for (k = p->first; k < p->first + p->n; k = next) {
		const tsarc_index_rec *first = &pp->recs[pp->order[k]];
		uint64_t span;
		if (pp->live[pp->order[k]] != LIVE_YES) {
			next = k + 1;
			continue;
		}
		next = run_end(pp, p, k, &span);
		if ((rc = tsarc_pack_get_range(pp->repo, hex, first->offset, span, data))) {
			tsarc_error_prefix("repacking pack %.16s", hex);
			return rc;
		}
		for (j = k; j < next; j++) {
			const tsarc_index_rec *r = &pp->recs[pp->order[j]];
			const uint8_t *blob = data->ptr + (r->offset - first->offset);
			if (pp->live[pp->order[j]] != LIVE_YES)
				continue;
			tsarc_buf_clear(scratch);
			if ((rc = tsarc_buf_grow(scratch, r->length)))
				return rc;
			/* The bytes the index points at must be this chunk, sealed: a
			 * damaged blob is not spread into a new pack. */
			if (tsarc_aead_open(pp->repo->enc_key, r->id, TSARC_ID_LEN, blob, r->length,
				    scratch->ptr)) {
				char id[TSARC_ID_HEX_LEN + 1];
				tsarc_hex_encode(id, r->id, TSARC_ID_LEN);
				return tsarc_error_set(TSARC_ECORRUPT, "prune stops before deleting "
					"anything: chunk %.16s in pack %.16s at offset %u does not "
					"authenticate (run 'tsarc check --read-data')", id, hex, r->offset);
			}
			if ((rc = tsarc_packer_add(pk, r->id, blob, r->length, r->plain)))
				return rc;
		}
	}
	return 0;
}

/* The merged index of every pack that stays as it is, all its entries. */
static int write_kept_index(prune_pack *pp, char ***written, size_t *nwritten)
{
	tsarc_index_pack *ip = NULL;
	size_t nip = 0, i, k;
	int rc = 0;

	if (pp->np && !(ip = calloc(pp->np, sizeof(*ip))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; i < pp->np && !rc; i++) {
		const pack_info *p = &pp->packs[i];
		tsarc_index_pack *d;
		if (!kept_as_is(p->action) || !p->n)
			continue;
		d = &ip[nip++];
		memcpy(d->name, tsarc_index_pack_name(pp->idx, (uint32_t)i), TSARC_ID_LEN);
		if (!(d->entries = calloc(p->n, sizeof(*d->entries)))) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			break;
		}
		for (k = 0; k < p->n; k++) {
			const tsarc_index_rec *r = &pp->recs[pp->order[p->first + k]];
			if (pp->live[pp->order[p->first + k]] == LIVE_REPEAT)
				continue;
			memcpy(d->entries[d->n].id, r->id, TSARC_ID_LEN);
			d->entries[d->n].offset = r->offset;
			d->entries[d->n].length = r->length;
			d->entries[d->n++].plain = r->plain;
		}
	}
	if (!rc)
		rc = tsarc_index_write(pp->repo, ip, nip, written, nwritten);
	for (i = 0; i < nip; i++)
		free(ip[i].entries);
	free(ip);
	return rc;
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
 * from the listing of packs, an index object's from `index` (listed
 * before the purge, as a hidden object is out of every listing). */
typedef struct kept_bytes {
	tsarc_purge_tally t;
	const prune_pack *pp;
	tsarc_chunkset *index; /* NULL: packs */
	uint64_t bytes;
} kept_bytes;

static int count_kept(const char *name, int64_t kept_until, void *payload)
{
	kept_bytes *k = payload;
	uint8_t id[TSARC_ID_LEN];
	const listed_pack *l;
	uint32_t size = 0;

	if (!kept_until || tsarc_hex_decode(id, sizeof(id), name)) {
		tsarc_error_clear();
		return tsarc_purge_tally_cb(name, kept_until, &k->t);
	}
	if (k->index)
		tsarc_chunkset_lookup(k->index, id, &size);
	else if ((l = bsearch(id, k->pp->listed, k->pp->nlisted, sizeof(*l), cmp_listed)))
		k->bytes += l->size;
	k->bytes += size;
	return tsarc_purge_tally_cb(name, kept_until, &k->t);
}

/* The old index objects but those written again (the same content, named
 * the same), through purge: under Object Lock one still retained is only
 * hidden, counted with its bytes. */
static int remove_old_index(prune_pack *pp, char **written, size_t nwritten)
{
	tsarc_repo *repo = pp->repo;
	kept_bytes kb = {{0, 0, 0}, pp, NULL, 0};
	tsarc_chunkset *sizes = NULL;
	const char **gone = NULL;
	size_t nold, ngone = 0, i, k;
	char **old = tsarc_index_object_names(pp->idx, &nold);
	int rc = 0, keep;

	if (nold && !(gone = malloc(nold * sizeof(*gone))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; i < nold; i++) {
		for (k = 0, keep = 0; k < nwritten && !keep; k++)
			keep = !strcmp(old[i], written[k]);
		if (!keep)
			gone[ngone++] = old[i];
	}
	if (ngone && repo->retention.mode && !(rc = tsarc_chunkset_new(&sizes)))
		rc = tsarc_chunkset_load_type(sizes, repo->store, TSARC_OBJ_INDEX);
	kb.index = sizes;
	if (!rc && ngone)
		rc = tsarc_store_purge_many(repo->store, TSARC_OBJ_INDEX, gone, ngone, count_kept,
			&kb);
	if (rc)
		tsarc_error_prefix("removing old index objects");
	pp->res->index_removed = kb.t.removed + kb.t.kept;
	pp->res->index_kept = kb.t.kept;
	pp->res->index_kept_until = kb.t.kept_until;
	pp->res->bytes_kept_index = kb.bytes;
	tsarc_chunkset_free(sizes);
	free(gone);
	return rc;
}

/* Repack, new index, old index objects out, packs out. */
static int apply(prune_pack *pp)
{
	tsarc_repo *repo = pp->repo;
	tsarc_prune_result *res = pp->res;
	tsarc_packer *pk = NULL;
	tsarc_buf data = TSARC_BUF_INIT, scratch = TSARC_BUF_INIT;
	kept_bytes kept = {{0, 0, 0}, pp, NULL, 0};
	char **written = NULL, **more = NULL;
	size_t nwritten = 0, nmore = 0, i, m;
	uint64_t npacks, nbytes;
	int rc;

	if ((rc = tsarc_packer_new(&pk, repo, 2)))
		return rc;
	for (i = 0; i < pp->np && !rc; i++)
		if (pp->packs[i].action == REPACK)
			rc = repack_one(pp, pk, i, &data, &scratch);
	/* New packs stored and synced, then their index. */
	if (!rc)
		rc = tsarc_packer_finish(pk, &written, &nwritten);
	tsarc_packer_stats(pk, &npacks, &nbytes);
	res->packs_written = npacks;
	/* What plan() worked out becomes what happened (the same, unless a
	 * failure stopped the repack). */
	res->bytes_removed += pp->repack_bytes;
	res->bytes_removed -= nbytes;
	if (rc)
		goto done;
	if ((rc = write_kept_index(pp, &more, &nmore)) ||
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
	res->bytes_removed -= kept.bytes;
	tsarc_repo_drop_index(repo);
	tsarc_packer_free(pk);
	tsarc_buf_dispose(&data);
	tsarc_buf_dispose(&scratch);
	tsarc_store_names_free(written, nwritten);
	return rc;
}

/* Whether anything is to change: a pack to remove, index entries of packs
 * that are gone, or more index objects than the entries need (one per
 * backup: merged, so opening the repository reads few). */
static int work_to_do(const prune_pack *pp)
{
	size_t nobj;

	tsarc_index_object_names(pp->idx, &nobj);
	return pp->ndoomed || pp->res->packs_missing ||
	       nobj > 1 + pp->nrecs / TSARC_INDEX_ENTRIES_PER_OBJECT;
}

/* Object Lock: the hidden objects of earlier runs (and forgotten
 * snapshots) whose date has passed go for good, but a hidden pack the
 * index still names: that one someone hid behind our back, for check to
 * report and a point-in-time read to recover. */
static int sweep_hidden(prune_pack *pp)
{
	tsarc_chunkset *named = NULL;
	tsarc_purge_tally swept = {0, 0, 0};
	size_t i;
	int rc, added;

	if ((rc = tsarc_lock_check(pp->lock, NULL)) || (rc = tsarc_chunkset_new(&named)))
		return rc;
	for (i = 0; i < pp->np && !rc; i++)
		rc = tsarc_chunkset_claim(named, tsarc_index_pack_name(pp->idx, (uint32_t)i), 0,
			&added);
	if (!rc)
		rc = tsarc_objlock_sweep(pp->repo, named, &swept);
	pp->res->hidden_removed = swept.removed;
	pp->res->hidden_kept = swept.kept;
	pp->res->hidden_kept_until = swept.kept_until;
	tsarc_chunkset_free(named);
	return rc;
}

int tsarc_prune_packs(tsarc_repo *repo, tsarc_lock *lock, tsarc_chunkset *referenced,
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
	/* A damaged index object is an error: what it names would be unknown. */
	if ((rc = tsarc_index_load(repo, &pp.idx, NULL, NULL))) {
		tsarc_error_prefix("prune refuses to run (run 'tsarc check', then 'tsarc repair "
				   "index')");
		goto done;
	}
	if ((rc = tsarc_store_list(repo->store, TSARC_OBJ_DATA, list_cb, &pp)))
		goto done;
	if (pp.nlisted)
		qsort(pp.listed, pp.nlisted, sizeof(*pp.listed), cmp_listed);
	pp.recs = tsarc_index_records(pp.idx);
	pp.nrecs = tsarc_index_count(pp.idx);
	pp.np = tsarc_index_npacks(pp.idx);
	if ((pp.np && !(pp.packs = calloc(pp.np, sizeof(*pp.packs)))) ||
		(pp.nrecs && !(pp.live = calloc(pp.nrecs, 1)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < pp.np; i++)
		pp.packs[i].listed = bsearch(tsarc_index_pack_name(pp.idx, (uint32_t)i), pp.listed,
			pp.nlisted, sizeof(*pp.listed), cmp_listed);
	if ((rc = group_by_pack(&pp)) || (rc = mark_live(&pp, referenced)))
		goto done;
	/* A live shared lock: a backup is writing packs its index will name. */
	if ((rc = tsarc_lock_check(lock, &oldest_shared)) ||
		(rc = plan(&pp, oldest_shared, max_unused)))
		goto done;
	if (!dry_run && repo->retention.mode && (rc = sweep_hidden(&pp)))
		goto done;
	if (!dry_run && work_to_do(&pp))
		rc = apply(&pp);
done:
	tsarc_index_free(pp.idx);
	free(pp.listed);
	free(pp.packs);
	free(pp.order);
	free(pp.live);
	for (i = 0; i < pp.ndoomed; i++)
		free(pp.doomed[i]);
	free(pp.doomed);
	return rc;
}
