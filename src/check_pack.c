/*
 * check on a format-2 repository, first part: the index against the packs,
 * in bounded memory. Every pack the index names must exist and its table
 * of contents must open and agree, entry for entry (id, offset, length,
 * plaintext length), with what the index says of it. Only records found
 * that way count (a bit per record of the index table, 0.125 MiB per
 * million); check_refs.c judges the snapshots' references by them.
 *
 * The index is the sealed sorted table of index_table.h, built for check
 * from the index objects in the store (never the local cache: check is
 * about what the repository holds). Its records are sorted by pack and
 * offset through sealed runs in $TMPDIR (76 bytes a record), and the
 * tables of contents read PACK_BATCH packs at a time: in memory stay the
 * pack names (32 bytes a pack), the listing of packs/ and one batch.
 * Before, the whole index, every pack's table of contents and a set of
 * every chunk were in memory at once (some 170 MiB per million chunks).
 *
 * A stored pack whose table of contents does not open may still hold its
 * chunks whole (a torn or flipped tail), and the index still finds them:
 * a restore reads them. So each record of such a pack is read where it
 * says and marked held when its chunk authenticates there, torn when not
 * (tsarc_pack_entry_opens, as repair index keeps them), and the pack's
 * problem says how many of each. Before, they were marked nothing, and
 * check called every chunk that a restore still read "missing".
 */
#include "check_int.h"
#include "chunkset.h"
#include "codec.h"
#include "crypto.h"
#include "grow.h"
#include "index.h"
#include "index_table_file.h"
#include "pack.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Packs whose tables of contents are read together, and records of the
 * index held for them at most (more only when one pack has more). */
#define PACK_BATCH 64
#define BATCH_RECS 65536

size_t tsarc_check_run_recs, tsarc_check_read_batch;

/* A record of the index as the by-pack runs give it, its pack by its
 * place in the batch. */
typedef struct batch_rec {
	uint32_t in_batch;
	uint64_t ordinal;
	tsarc_pack_entry e;
} batch_rec;

typedef struct packs_ctx {
	check_ctx *c;
	tsarc_index_table *t;
	check_marks *m;
	size_t nbytes;      /* of each set of marks */
	tsarc_codec *codec; /* made for the first damaged pack */
	tsarc_buf sealed, scratch, plain;
	uint8_t (*names)[TSARC_ID_LEN];
	size_t np;
	tsarc_pack_hash by_name;
	tsarc_chunkset *listed;
	itab_runs bypack;
	tsarc_pack_toc *toc; /* the batch's packs, PACK_BATCH */
	tsarc_pack_toc *present;
	uint8_t gone[PACK_BATCH]; /* the batch's packs not in the store */
	size_t nbatch;
	batch_rec *recs;
	size_t nrecs, recs_cap;
} packs_ctx;

static void index_damaged(const char *name, int code, const char *msg, void *payload)
{
	check_ctx *c = payload;

	c->res->index_damaged++;
	check_problem(c, "index", NULL, NULL, name, code, msg);
}

static int skip_entry(const uint8_t pack[TSARC_ID_LEN], const tsarc_pack_entry *e,
	void *payload)
{
	(void)pack;
	(void)e;
	(void)payload;
	return 0;
}

/* The objects in index/ whose names are no index names: the table leaves
 * them out unread, check reports each as the damaged object it is, in the
 * words reading it gives (as when check loaded every listed object). */
static int odd_index_names(check_ctx *c)
{
	uint8_t bin[TSARC_ID_LEN];
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = tsarc_index_list_objects(c->repo, NULL, &names, &n)))
		return rc;
	for (i = 0; i < n && !rc; i++) {
		if (strlen(names[i]) == TSARC_ID_HEX_LEN &&
			!tsarc_hex_decode(bin, TSARC_ID_LEN, names[i]))
			continue;
		tsarc_error_clear();
		rc = tsarc_index_open_object(c->repo, NULL, names[i], skip_entry, NULL);
		if (rc == TSARC_ECORRUPT)
			index_damaged(names[i], rc, tsarc_error_last()->message, c);
		if (rc == TSARC_ECORRUPT || rc == TSARC_ENOTFOUND || !rc) {
			tsarc_error_clear();
			rc = 0;
		}
	}
	tsarc_store_names_free(names, n);
	return rc;
}

/* The TOC entry at `offset`, by binary search (TOC entries are in order). */
static const tsarc_pack_entry *toc_at(const tsarc_pack_toc *ps, uint32_t offset)
{
	size_t lo = 0, hi = ps->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ps->entries[mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ps->n && ps->entries[lo].offset == offset ? &ps->entries[lo] : NULL;
}

/* A record of the by-pack runs: pack number, offset and ordinal
 * (big-endian: the runs' order is theirs), then the id and where it is. */
static int bypack_fn(const tsarc_index_table_rec *g, size_t n, uint64_t ordinal, void *payload)
{
	packs_ctx *pc = payload;
	uint8_t r[REC_LEN];
	size_t k;
	int rc;

	memset(r, 0, sizeof(r));
	for (k = 0; k < n; k++) {
		long num = tsarc_pack_hash_find(&pc->by_name, g[k].at.pack);
		if (num < 0)
			return tsarc_error_set(TSARC_ECORRUPT, "index table changed while check "
				"read it");
		itab_key_put(r, (uint64_t)num, 4);
		itab_key_put(r + 4, g[k].at.offset, 4);
		itab_key_put(r + 8, ordinal + k, 8);
		memcpy(r + TSARC_ID_LEN, g[k].id, TSARC_ID_LEN);
		tsarc_le32_put(r + 64, g[k].at.offset);
		tsarc_le32_put(r + 68, g[k].at.length);
		tsarc_le32_put(r + 72, g[k].at.plain);
		if ((rc = itab_runs_add(&pc->bypack, r)))
			return rc;
	}
	return 0;
}

static void mark(uint8_t *bits, uint64_t i)
{
	bits[i / 8] |= (uint8_t)(1u << (i % 8));
}

/*
 * The records of stored pack `ps`, whose table of contents does not open,
 * pc->recs[from, to): each read where it says, marked held or torn, and
 * counted distinct (the same place from two index objects once). Any
 * failure but damage stops the check.
 */
static int read_damaged_pack(packs_ctx *pc, const tsarc_pack_toc *ps, size_t from, size_t to,
	size_t *held, size_t *torn)
{
	const batch_rec *prev = NULL;
	int rc = 0, opens = 0;
	size_t i;

	*held = *torn = 0;
	/* Only a repository with a damaged pack needs these marks. */
	if (!pc->m->held && (!(pc->m->held = calloc(pc->nbytes, 1)) ||
				    !(pc->m->torn = calloc(pc->nbytes, 1))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!pc->codec && (rc = tsarc_codec_new(&pc->codec, pc->c->repo->codec,
				   pc->c->repo->level)))
		return rc;
	for (i = from; i < to; i++) {
		const batch_rec *br = &pc->recs[i];
		int same = prev && prev->e.offset == br->e.offset &&
			prev->e.length == br->e.length && prev->e.plain == br->e.plain &&
			!memcmp(prev->e.id, br->e.id, TSARC_ID_LEN);
		if (!same) {
			rc = tsarc_pack_entry_opens(pc->c->repo, pc->codec, ps->name, ps->size,
				&br->e, &pc->sealed, &pc->scratch, &pc->plain);
			if (rc && rc != TSARC_ECORRUPT)
				return rc;
			tsarc_error_clear();
			opens = !rc;
			rc = 0;
			*held += (size_t)opens;
			*torn += (size_t)!opens;
		}
		mark(opens ? pc->m->held : pc->m->torn, br->ordinal);
		prev = br;
	}
	return 0;
}

/* A damaged pack's problem: why its table of contents does not open and,
 * for a stored one, what of it still reads. */
static void pack_problem(packs_ctx *pc, const tsarc_pack_toc *ps, int gone, size_t held,
	size_t torn)
{
	char msg[768];

	pc->c->res->packs_damaged++;
	if (gone) {
		check_problem(pc->c, "pack", NULL, NULL, ps->name, TSARC_ENOTFOUND, ps->msg);
		return;
	}
	snprintf(msg, sizeof(msg), "%s; of the %zu chunks the index places there, %zu still "
		"read (each authenticates where the index places it) and %zu do not: 'tsarc "
		"repair index' copies those that read into new packs, and the next 'tsarc "
		"prune' deletes this one", ps->msg, held + torn, held, torn);
	check_problem(pc->c, "pack", NULL, NULL, ps->name, TSARC_ECORRUPT, msg);
}

/* The batch's packs: each listed one's table of contents read, each
 * record of the index checked against it. */
static int check_batch(packs_ctx *pc)
{
	check_ctx *c = pc->c;
	size_t i, k, from, npresent = 0, held, torn;
	uint32_t size;
	int rc;

	for (i = 0; i < pc->nbatch; i++) {
		tsarc_pack_toc *ps = &pc->toc[i];
		const uint8_t *name = pc->names[ps->n];
		tsarc_hex_encode(ps->name, name, TSARC_ID_LEN);
		ps->n = 0;
		ps->entries = NULL;
		ps->bad = 0;
		pc->gone[i] = 0;
		if (tsarc_chunkset_lookup(pc->listed, name, &size)) {
			ps->size = size;
			c->res->packs_unindexed--;
			pc->present[npresent++] = *ps;
		} else {
			ps->bad = pc->gone[i] = 1;
			snprintf(ps->msg, sizeof(ps->msg), "the index names this pack, which is "
				"missing from the store");
		}
	}
	/* Only the listed ones are read: a missing pack is bad already. */
	rc = tsarc_pack_read_tocs(c->repo, pc->present, npresent, check_parallel(c));
	for (i = 0, k = 0; i < pc->nbatch; i++)
		if (!pc->toc[i].bad)
			pc->toc[i] = pc->present[k++];
	if (rc)
		goto done;
	/* The records come by pack: those of a damaged one together. */
	for (i = 0, from = 0; i <= pc->nrecs; i++) {
		const tsarc_pack_toc *ps;
		if (i < pc->nrecs && pc->recs[i].in_batch == pc->recs[from].in_batch)
			continue;
		if (i > from) {
			ps = &pc->toc[pc->recs[from].in_batch];
			held = torn = 0;
			if (ps->bad && !pc->gone[pc->recs[from].in_batch] &&
				(rc = read_damaged_pack(pc, ps, from, i, &held, &torn)))
				goto done;
			if (ps->bad)
				pack_problem(pc, ps, pc->gone[pc->recs[from].in_batch], held, torn);
		}
		from = i;
	}
	for (i = 0; i < pc->nrecs; i++) {
		const batch_rec *br = &pc->recs[i];
		const tsarc_pack_toc *ps = &pc->toc[br->in_batch];
		const tsarc_pack_entry *t;
		if (ps->bad)
			continue;
		t = toc_at(ps, br->e.offset);
		if (!t || memcmp(t->id, br->e.id, TSARC_ID_LEN) || t->length != br->e.length ||
			t->plain != br->e.plain) {
			char hex[TSARC_ID_HEX_LEN + 1], msg[256];
			tsarc_hex_encode(hex, br->e.id, TSARC_ID_LEN);
			snprintf(msg, sizeof(msg), "the index places it in pack %.16s at offset %u "
				"(%u bytes), which the pack's table of contents does not say",
				ps->name, br->e.offset, br->e.length);
			c->res->index_wrong++;
			check_problem(c, "index", NULL, NULL, hex, TSARC_ECORRUPT, msg);
			continue;
		}
		mark(pc->m->ok, br->ordinal);
	}
done:
	for (i = 0; i < pc->nbatch; i++) {
		free(pc->toc[i].entries);
		pc->toc[i].entries = NULL;
	}
	pc->nbatch = pc->nrecs = 0;
	return rc;
}

/* The records in pack order, a batch of packs at a time. */
static int check_by_pack(packs_ctx *pc)
{
	itab_merger m;
	const uint8_t *r;
	int rc;

	if ((rc = itab_merger_begin(&m, pc->c->repo, pc->bypack.in, pc->bypack.nin)))
		goto done;
	while ((rc = itab_merger_next(&m, &r)) > 0) {
		uint64_t num = itab_key_get(r, 4);
		batch_rec *br;
		if (num >= pc->np) {
			rc = tsarc_error_set(TSARC_ECORRUPT, "check's sorted runs name a pack the "
				"index does not");
			break;
		}
		/* pc->toc[].n holds the batch's pack numbers until it is read. */
		if (!pc->nbatch || pc->toc[pc->nbatch - 1].n != num) {
			if ((pc->nbatch == PACK_BATCH || pc->nrecs >= BATCH_RECS) &&
				(rc = check_batch(pc)))
				break;
			pc->toc[pc->nbatch++].n = (size_t)num;
		}
		if ((rc = TSARC_RESERVE(pc->recs, pc->nrecs, pc->recs_cap, 1024)))
			break;
		br = &pc->recs[pc->nrecs++];
		br->in_batch = (uint32_t)(pc->nbatch - 1);
		br->ordinal = itab_key_get(r + 8, 8);
		memcpy(br->e.id, r + TSARC_ID_LEN, TSARC_ID_LEN);
		br->e.offset = tsarc_le32_get(r + 64);
		br->e.length = tsarc_le32_get(r + 68);
		br->e.plain = tsarc_le32_get(r + 72);
	}
	if (!rc && pc->nbatch)
		rc = check_batch(pc);
done:
	itab_merger_end(&m);
	return rc;
}

void check_marks_free(check_marks *m)
{
	free(m->ok);
	free(m->held);
	free(m->torn);
	m->ok = m->held = m->torn = NULL;
}

int check_packs_bounded(check_ctx *c, tsarc_index_table **t, check_marks *m)
{
	packs_ctx pc;
	int rc, no_cache = c->repo->no_cache;
	size_t nobj;

	memset(&pc, 0, sizeof(pc));
	pc.c = c;
	pc.m = m;
	pc.bypack.dirfd = -1;
	m->ok = m->held = m->torn = NULL;
	c->repo->no_cache = 1;
	rc = tsarc_index_table_open_checked(c->repo, index_damaged, c, t);
	c->repo->no_cache = no_cache;
	if (rc || (rc = odd_index_names(c)))
		return rc;
	pc.t = *t;
	tsarc_index_table_objects(*t, &nobj);
	c->res->index_objects = nobj + c->res->index_damaged;
	/* The index's packs first: the listing's set is then sized for them. */
	if ((rc = tsarc_index_table_pack_names(*t, &pc.names, &pc.np)) ||
		(rc = tsarc_pack_hash_build(&pc.by_name, (const uint8_t(*)[TSARC_ID_LEN])pc.names,
			 pc.np)) ||
		(rc = tsarc_index_list_packs(c->repo, pc.np, &pc.listed)))
		goto done;
	c->res->packs = c->res->packs_unindexed = tsarc_chunkset_count(pc.listed);
	pc.nbytes = tsarc_index_table_count(*t) / 8 + 1;
	if (!(m->ok = calloc(pc.nbytes, 1)) ||
		!(pc.toc = calloc(PACK_BATCH, sizeof(*pc.toc))) ||
		!(pc.present = calloc(PACK_BATCH, sizeof(*pc.present)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = itab_runs_open(&pc.bypack, c->repo, tsarc_check_run_recs)) ||
		(rc = tsarc_index_table_scan(*t, bypack_fn, &pc)) ||
		(rc = itab_runs_flush(&pc.bypack)))
		goto done;
	/* The run being filled is not needed any more. */
	free(pc.bypack.recs);
	pc.bypack.recs = NULL;
	rc = check_by_pack(&pc);
done:
	itab_runs_close(&pc.bypack);
	tsarc_chunkset_free(pc.listed);
	free(pc.names);
	tsarc_pack_hash_dispose(&pc.by_name);
	free(pc.toc);
	free(pc.present);
	free(pc.recs);
	tsarc_codec_free(pc.codec);
	tsarc_buf_dispose(&pc.sealed);
	tsarc_buf_dispose(&pc.scratch);
	tsarc_buf_dispose(&pc.plain);
	return rc;
}
