/*
 * The passes of prune over a format-2 repository's index table (see
 * prune_pack.h for the memory each takes): what the snapshots need, one
 * snapshot at a time, as bits on the table's records; the pack names; each
 * pack's figures; and, once prune_pack.c has decided each pack's fate, the
 * records repack and the merged index need sorted by pack and offset. The
 * rules (which copy of a chunk stays, which pack goes) are prune_pack.c's
 * own, applied to one id's records at a time.
 */
#include "prune_pack.h"
#include "crypto.h"
#include "grow.h"
#include "index.h"
#include "log.h"
#include "packer.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_referenced(const prune_pack *pp, uint64_t ordinal)
{
	return tsarc_index_refs_has(&pp->refs, ordinal);
}

static int first_id(const uint8_t id[TSARC_ID_LEN], uint32_t stored, void *payload)
{
	(void)stored;
	tsarc_hex_encode(payload, id, TSARC_ID_LEN);
	return 1;
}

int prune_mark_referenced(prune_pack *pp, char **ids, size_t n)
{
	int rc = tsarc_index_refs_mark(&pp->refs, pp->repo, pp->table, ids, n, NULL, NULL,
		&pp->res->snapshots);
	size_t absent;
	char hex[TSARC_ID_HEX_LEN + 1];

	if (rc) {
		tsarc_error_prefix("prune refuses to run, as it cannot tell what every snapshot "
				   "needs (run 'tsarc check')");
		return rc;
	}
	pp->res->chunks_referenced = tsarc_index_refs_count(&pp->refs);
	/* A needed chunk no index places is in a pack prune cannot tell from a
	 * killed run's (in no index, so deleted): its index object was lost,
	 * and only 'tsarc repair index' can place it again, from that pack. */
	if (!(absent = tsarc_chunkset_count(pp->refs.absent)))
		return 0;
	tsarc_chunkset_foreach(pp->refs.absent, first_id, hex);
	return tsarc_error_set(TSARC_ECORRUPT, "prune refuses to run: %zu chunks that snapshots "
		"need are in no index (the first: %.16s), so the packs holding them would be "
		"deleted as a killed run's; run 'tsarc check', then 'tsarc repair index' (what it "
		"cannot place again is lost: forget the snapshots check names)", absent, hex);
}

void prune_shrink(void **arr, size_t *cap, size_t n, size_t size)
{
	void *s = n ? realloc(*arr, n * size) : NULL;

	if (s) {
		*arr = s;
		*cap = n;
	}
}

int prune_collect_packs(prune_pack *pp)
{
	int rc = tsarc_index_table_pack_names(pp->table, &pp->names, &pp->np);

	if (rc)
		return rc;
	pp->names_cap = pp->np;
	if ((rc = tsarc_pack_hash_build(&pp->by_name, (const uint8_t(*)[TSARC_ID_LEN])pp->names,
		     pp->np)))
		return rc;
	if (pp->np && !(pp->packs = calloc(pp->np, sizeof(*pp->packs))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return 0;
}

long prune_pack_number(const prune_pack *pp, const uint8_t name[TSARC_ID_LEN])
{
	return pp->by_name.slot ? tsarc_pack_hash_find(&pp->by_name, name) : -1;
}

static int holds(const pack_info *p, const tsarc_index_hit *r)
{
	return p->listed && (uint64_t)r->offset + r->length + 4 <= p->listed->size;
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

static int is_rejected(const prune_pack *pp, const tsarc_index_table_rec *r, uint32_t pack)
{
	size_t i;

	for (i = 0; i < pp->nrejected; i++)
		if (pp->rejected[i].pack == pack && pp->rejected[i].offset == r->at.offset &&
			!memcmp(pp->rejected[i].id, r->id, TSARC_ID_LEN))
			return 1;
	return 0;
}

/* A copy of record k of an id that may stay: not a repeat, in a stored
 * pack long enough to hold it, not found damaged. */
static int candidate(const prune_pack *pp, const tsarc_index_table_rec *g, size_t k)
{
	return pp->live[k] != LIVE_REPEAT && holds(&pp->packs[pp->num[k]], &g[k].at) &&
	       !is_rejected(pp, &g[k], pp->num[k]);
}

/*
 * The records of one id: each one's pack number in pp->num and, once the
 * packs' shares are known, its LIVE_* in pp->live. A record repeats the
 * one before it when it has the same pack and offset (two index objects
 * name the pack, as after a prune killed before it removed the old ones):
 * one copy, not two. For a chunk a snapshot needs, one copy stays: the one
 * in the stored pack (long enough to hold it) with the largest needed
 * share; but copies whose records disagree on the plain length all stay,
 * as one of them lies and only the manifest could say which (a restore
 * tries each: the right one reads; the index parser already refuses a
 * record whose length its own plain length cannot have). Returns 0 when a
 * needed chunk has no such copy.
 */
static int group_of(prune_pack *pp, const tsarc_index_table_rec *g, size_t n, int needed,
	int choose, int *ok)
{
	size_t k, best = n;
	int disagree = 0;
	long num;

	if (n > pp->live_cap) {
		size_t cap = n < 16 ? 16 : n * 2;
		void *l = realloc(pp->live, cap), *m = realloc(pp->num, cap * sizeof(*pp->num));
		if (l)
			pp->live = l;
		if (m)
			pp->num = m;
		if (!l || !m)
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		pp->live_cap = cap;
	}
	for (k = 0; k < n; k++) {
		if ((num = prune_pack_number(pp, g[k].at.pack)) < 0)
			return tsarc_error_set(TSARC_ECORRUPT, "index table changed while prune "
				"read it");
		pp->num[k] = (uint32_t)num;
		pp->live[k] = k && pp->num[k] == pp->num[k - 1] &&
				      g[k].at.offset == g[k - 1].at.offset
			? LIVE_REPEAT : LIVE_NO;
	}
	*ok = 1;
	if (!choose || !needed)
		return 0;
	for (k = 0; k < n; k++) {
		if (!candidate(pp, g, k))
			continue;
		disagree |= best != n && g[k].at.plain != g[best].at.plain;
		if (best == n || better_home(&pp->packs[pp->num[k]], &pp->packs[pp->num[best]]))
			best = k;
	}
	for (k = 0; k < n && disagree; k++)
		if (candidate(pp, g, k))
			pp->live[k] = LIVE_YES;
	if (best != n)
		pp->live[best] = LIVE_YES;
	*ok = best != n;
	return 0;
}

static int totals_fn(const tsarc_index_table_rec *g, size_t n, uint64_t ordinal, void *payload)
{
	prune_pack *pp = payload;
	int needed = is_referenced(pp, ordinal), ok, rc;
	size_t k;

	if ((rc = group_of(pp, g, n, needed, 0, &ok)))
		return rc;
	for (k = 0; k < n; k++) {
		pack_info *p = &pp->packs[pp->num[k]];
		if (pp->live[k] == LIVE_REPEAT)
			continue;
		p->total += g[k].at.length;
		if (needed)
			p->needed += g[k].at.length;
	}
	return 0;
}

/* 1 when the `len` bytes at `blob` open as chunk `id` sealed, 0 when they
 * do not; an error of memory otherwise. */
static int opens_as(const prune_pack *pp, const uint8_t id[TSARC_ID_LEN], const uint8_t *blob,
	uint32_t len, tsarc_buf *scratch)
{
	int rc;

	tsarc_buf_clear(scratch);
	if ((rc = tsarc_buf_grow(scratch, len)))
		return rc;
	return !tsarc_aead_open(pp->repo->enc_key, id, TSARC_ID_LEN, blob, len, scratch->ptr);
}

/* The copy of record r read from its pack: 1 when it opens as the chunk,
 * 0 when it is damaged (or its pack ends before it); an error of the
 * store otherwise. */
static int copy_opens(prune_pack *pp, const tsarc_index_table_rec *r)
{
	char hex[TSARC_ID_HEX_LEN + 1];
	int rc;

	tsarc_hex_encode(hex, r->at.pack, TSARC_ID_LEN);
	rc = tsarc_pack_get_range(pp->repo, hex, r->at.offset, r->at.length, &pp->copy);
	if (rc == TSARC_ECORRUPT) {
		tsarc_error_clear();
		return 0;
	}
	if (rc) {
		tsarc_error_prefix("reading a copy of a chunk in pack %.16s", hex);
		return rc;
	}
	return opens_as(pp, r->id, pp->copy.ptr, r->at.length, &pp->scratch);
}

/*
 * group_of's choice for a needed chunk, read before it is trusted when
 * the chunk has other copies: those may go (their packs deleted or
 * repacked without them), and a damaged copy kept in their place would
 * leave no readable one, though a restore reads the first that opens and
 * so check --read-data passes. A copy that does not open is passed over
 * (rejected, for every later pass too) and the next best one read, until
 * one opens or a single copy is left. Copies whose records disagree all
 * stay (group_of), and a chunk with one copy has none to lose: neither is
 * read, so prune reads no chunk where no chunk has copies.
 */
static int choose_read(prune_pack *pp, const tsarc_index_table_rec *g, size_t n, int needed,
	int *ok)
{
	char id[TSARC_ID_HEX_LEN + 1], pack[TSARC_ID_HEX_LEN + 1];
	size_t k, yes, cands, best = 0;
	int rc;

	for (;;) {
		if ((rc = group_of(pp, g, n, needed, 1, ok)) || !needed || n < 2)
			return rc;
		for (k = 0, yes = 0, cands = 0; k < n; k++) {
			cands += (size_t)candidate(pp, g, k);
			if (pp->live[k] == LIVE_YES) {
				yes++;
				best = k;
			}
		}
		if (yes != 1 || cands < 2 || (rc = copy_opens(pp, &g[best])) != 0)
			return rc < 0 ? rc : 0;
		if ((rc = TSARC_RESERVE(pp->rejected, pp->nrejected, pp->rejected_cap, 4)))
			return rc;
		memcpy(pp->rejected[pp->nrejected].id, g[best].id, TSARC_ID_LEN);
		pp->rejected[pp->nrejected].pack = pp->num[best];
		pp->rejected[pp->nrejected++].offset = g[best].at.offset;
		tsarc_hex_encode(id, g[best].id, TSARC_ID_LEN);
		tsarc_hex_encode(pack, g[best].at.pack, TSARC_ID_LEN);
		tsarc__log(TSARC_LOG_WARN, "prune", "copy_damaged", "chunk %.16s: its copy in pack "
			"%.16s at offset %u does not authenticate; another copy of it stays instead", id, pack,
			g[best].at.offset);
	}
}

static int live_fn(const tsarc_index_table_rec *g, size_t n, uint64_t ordinal, void *payload)
{
	prune_pack *pp = payload;
	int ok, rc;
	size_t k;

	if ((rc = choose_read(pp, g, n, is_referenced(pp, ordinal), &ok)))
		return rc;
	pp->res->chunks_stored++;
	if (!ok && pp->missing++ == 0)
		tsarc_hex_encode(pp->missing_hex, g[0].id, TSARC_ID_LEN);
	for (k = 0; k < n; k++) {
		pack_info *p = &pp->packs[pp->num[k]];
		if (pp->live[k] == LIVE_YES)
			p->used += g[k].at.length;
		else if (pp->live[k] == LIVE_NO)
			p->unused += g[k].at.length;
	}
	return 0;
}

int prune_mark_live(prune_pack *pp)
{
	int rc;

	/* The shares first: the choice of a chunk's copy depends on them. */
	if ((rc = tsarc_index_table_scan(pp->table, totals_fn, pp)) ||
		(rc = tsarc_index_table_scan(pp->table, live_fn, pp)))
		return rc;
	if (pp->missing)
		return tsarc_error_set(TSARC_ECORRUPT, "prune refuses to run: %zu chunks that "
			"snapshots need are in no stored pack the index names (the first: %.16s); "
			"run 'tsarc check', and 'tsarc repair index' if packs are missing from the "
			"index", pp->missing, pp->missing_hex);
	return 0;
}

/* A record of pp->bypack: pack number and offset (big-endian, so that the
 * runs' order is theirs), then the id and where it is. */
static void bypack_put(uint8_t r[REC_LEN], uint32_t pack, const tsarc_index_table_rec *g)
{
	memset(r, 0, TSARC_ID_LEN);
	itab_key_put(r, pack, 4);
	itab_key_put(r + 4, g->at.offset, 4);
	memcpy(r + TSARC_ID_LEN, g->id, TSARC_ID_LEN);
	tsarc_le32_put(r + 64, g->at.offset);
	tsarc_le32_put(r + 68, g->at.length);
	tsarc_le32_put(r + 72, g->at.plain);
}

static uint32_t bypack_get(const uint8_t *r, tsarc_pack_entry *e)
{
	memcpy(e->id, r + TSARC_ID_LEN, TSARC_ID_LEN);
	e->offset = tsarc_le32_get(r + 64);
	e->length = tsarc_le32_get(r + 68);
	e->plain = tsarc_le32_get(r + 72);
	return (uint32_t)itab_key_get(r, 4);
}

static int bypack_lies(void)
{
	return tsarc_error_set(TSARC_ECORRUPT, "prune's sorted runs name a pack the index does "
		"not");
}

static int group_fn(const tsarc_index_table_rec *g, size_t n, uint64_t ordinal, void *payload)
{
	prune_pack *pp = payload;
	int stays = 0, live = 0, young = 0, ok, rc;
	uint8_t r[REC_LEN];
	size_t k;

	if ((rc = group_of(pp, g, n, is_referenced(pp, ordinal), 1, &ok)))
		return rc;
	for (k = 0; k < n; k++) {
		int a = pp->packs[pp->num[k]].action;
		live |= pp->live[k] == LIVE_YES;
		stays |= prune_kept_as_is(a);
		young |= a == YOUNG;
		if ((a == REPACK && pp->live[k] == LIVE_YES) ||
			(prune_kept_as_is(a) && pp->live[k] != LIVE_REPEAT)) {
			bypack_put(r, pp->num[k], &g[k]);
			if ((rc = itab_runs_add(&pp->bypack, r)))
				return rc;
		}
	}
	/* Chunks: removed when no copy stays, young when one stays unused. */
	if (!live && !stays)
		pp->res->chunks_removed++;
	else if (!live && young)
		pp->res->chunks_young++;
	return 0;
}

/*
 * The bytes of the packs a repack will write, and how many: the packer's
 * own rule (a pack is stored as soon as it reaches the pack size) over the
 * live blobs in the order prune_repack adds them, each pack with its
 * sealed table of contents, so that a dry run says to the byte what prune
 * frees.
 */
static int repack_bytes(prune_pack *pp)
{
	itab_merger m;
	const uint8_t *r;
	tsarc_pack_entry e;
	uint64_t cur = 0;
	size_t n = 0;
	int rc;

	pp->repack_bytes = 0;
	pp->res->packs_written = 0;
	if (!(rc = itab_merger_begin(&m, pp->repo, pp->bypack.in, pp->bypack.nin)))
		while ((rc = itab_merger_next(&m, &r)) > 0) {
			uint32_t pack = bypack_get(r, &e);
			if (pack >= pp->np) {
				rc = bypack_lies();
				break;
			}
			if (pp->packs[pack].action != REPACK)
				continue;
			cur += e.length;
			n++;
			if (cur >= pp->repo->pack_size) {
				pp->repack_bytes += tsarc_pack_bytes(cur, n);
				pp->res->packs_written++;
				cur = 0;
				n = 0;
			}
		}
	itab_merger_end(&m);
	if (n) {
		pp->repack_bytes += tsarc_pack_bytes(cur, n);
		pp->res->packs_written++;
	}
	return rc;
}

int prune_group(prune_pack *pp)
{
	int rc;

	if ((rc = itab_runs_open(&pp->bypack, pp->repo, 0)) ||
		(rc = tsarc_index_table_scan(pp->table, group_fn, pp)) ||
		(rc = itab_runs_flush(&pp->bypack)))
		return rc;
	/* The run being filled is not needed any more. */
	free(pp->bypack.recs);
	pp->bypack.recs = NULL;
	return repack_bytes(pp);
}

/* The records of one pack from the by-pack merge, as they come. */
typedef struct pack_recs {
	long pack; /* -1: none yet */
	tsarc_pack_entry *e;
	size_t n, cap;
} pack_recs;

/* The live records from e[k] on that one read takes: returns the place
 * past them, the bytes they span in *span. */
static size_t run_end(const pack_recs *pr, size_t k, uint64_t *span)
{
	uint64_t start = pr->e[k].offset, end = start + pr->e[k].length;
	size_t j;

	for (j = k + 1; j < pr->n; j++) {
		const tsarc_pack_entry *r = &pr->e[j];
		if (r->offset < end || r->offset - end > TSARC_PACK_RUN_GAP ||
			(uint64_t)r->offset + r->length - start > TSARC_PACK_RUN_MAX)
			break;
		end = (uint64_t)r->offset + r->length;
	}
	*span = end - start;
	return j;
}

/* Copies the live chunks of one pack into the packer, authenticating each;
 * a repack reads them in runs (pack.h: TSARC_PACK_RUN_*; one blob alone,
 * whatever its size), so its memory does not grow with the pack size. */
static int repack_one(prune_pack *pp, tsarc_packer *pk, const pack_recs *pr, tsarc_buf *data,
	tsarc_buf *scratch)
{
	char hex[TSARC_ID_HEX_LEN + 1];
	size_t k, next, j;
	int rc;

	tsarc_hex_encode(hex, pp->names[pr->pack], TSARC_ID_LEN);
	for (k = 0; k < pr->n; k = next) {
		uint64_t span;
		next = run_end(pr, k, &span);
		if ((rc = tsarc_pack_get_range(pp->repo, hex, pr->e[k].offset, span, data))) {
			tsarc_error_prefix("repacking pack %.16s", hex);
			return rc;
		}
		for (j = k; j < next; j++) {
			const tsarc_pack_entry *r = &pr->e[j];
			const uint8_t *blob = data->ptr + (r->offset - pr->e[k].offset);
			/* The bytes the index points at must be this chunk, sealed: a
			 * damaged blob is not spread into a new pack. */
			if ((rc = opens_as(pp, r->id, blob, r->length, scratch)) < 0)
				return rc;
			if (!rc) {
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

/* Calls fn for each pack whose action `want` accepts, with its records
 * from the by-pack merge (one pack's in memory at a time). */
typedef int (*pack_fn)(prune_pack *pp, const pack_recs *pr, void *payload);

static int each_pack(prune_pack *pp, int (*want)(int action), pack_fn fn, void *payload)
{
	itab_merger m;
	pack_recs pr = {-1, NULL, 0, 0};
	const uint8_t *r;
	tsarc_pack_entry e;
	uint32_t pack;
	int rc;

	if (!(rc = itab_merger_begin(&m, pp->repo, pp->bypack.in, pp->bypack.nin))) {
		while ((rc = itab_merger_next(&m, &r)) > 0) {
			pack = bypack_get(r, &e);
			if (pack >= pp->np) {
				rc = bypack_lies();
				break;
			}
			if (!want(pp->packs[pack].action))
				continue;
			if (pr.pack != (long)pack) {
				if (pr.n && (rc = fn(pp, &pr, payload)))
					break;
				pr.pack = pack;
				pr.n = 0;
			}
			if ((rc = TSARC_RESERVE(pr.e, pr.n, pr.cap, 256)))
				break;
			pr.e[pr.n++] = e;
		}
		if (!rc && pr.n)
			rc = fn(pp, &pr, payload);
	}
	itab_merger_end(&m);
	free(pr.e);
	return rc;
}

static int is_repack(int action)
{
	return action == REPACK;
}

typedef struct repack_ctx {
	tsarc_packer *pk;
	tsarc_buf data, scratch;
} repack_ctx;

static int repack_fn(prune_pack *pp, const pack_recs *pr, void *payload)
{
	repack_ctx *c = payload;

	return repack_one(pp, c->pk, pr, &c->data, &c->scratch);
}

int prune_repack(prune_pack *pp, tsarc_packer *pk)
{
	repack_ctx c = {pk, TSARC_BUF_INIT, TSARC_BUF_INIT};
	int rc = each_pack(pp, is_repack, repack_fn, &c);

	tsarc_buf_dispose(&c.data);
	tsarc_buf_dispose(&c.scratch);
	return rc;
}

static int kept_fn(prune_pack *pp, const pack_recs *pr, void *payload)
{
	tsarc_pack_entry *e = malloc(pr->n * sizeof(*e));

	if (!e)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	memcpy(e, pr->e, pr->n * sizeof(*e));
	return tsarc_index_writer_add(payload, pp->names[pr->pack], e, pr->n);
}

int prune_write_kept_index(prune_pack *pp, char ***written, size_t *nwritten)
{
	tsarc_index_writer w;
	int rc;

	tsarc_index_writer_init(&w, pp->repo, written, nwritten);
	if (!(rc = each_pack(pp, prune_kept_as_is, kept_fn, &w)))
		rc = tsarc_index_writer_flush(&w);
	tsarc_index_writer_dispose(&w);
	return rc;
}
