/*
 * check on a format-2 repository: the index against the packs. Every pack
 * the index names must exist and its table of contents must open and
 * agree, entry for entry (id, offset, length, plaintext length), with what
 * the index says of it. Only chunks found that way count as stored; the
 * rest of check (references, sizes, --read-data through the index) is the
 * same as for format 1.
 */
#include "check.h"
#include "index.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void report(tsarc_check_report_fn fn, void *payload, const char *what,
	const char *object, int code, const char *msg)
{
	tsarc_check_problem p = {what, NULL, NULL, object, code, msg};

	if (fn)
		fn(&p, payload);
}

typedef struct damage_ctx {
	tsarc_check_report_fn fn;
	void *payload;
	tsarc_check_result *res;
} damage_ctx;

static void index_damaged(const char *name, int code, const char *msg, void *payload)
{
	damage_ctx *d = payload;

	d->res->index_damaged++;
	report(d->fn, d->payload, "index", name, code, msg);
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

int tsarc_check_packs(tsarc_repo *repo, tsarc_chunkset *stored, unsigned parallel,
	tsarc_check_report_fn fn, void *payload, tsarc_check_result *res)
{
	damage_ctx dc = {fn, payload, res};
	tsarc_index *idx = NULL;
	tsarc_chunkset *listed = NULL;
	const tsarc_index_rec *recs;
	tsarc_pack_toc *packs = NULL; /* by index pack number */
	size_t np = 0, i, nobj;
	int rc, added;

	if ((rc = tsarc_index_load(repo, &idx, index_damaged, &dc)) ||
		(rc = tsarc_index_list_packs(repo, &listed)))
		goto done;
	tsarc_index_object_names(idx, &nobj);
	res->index_objects = nobj;
	res->packs = res->packs_unindexed = tsarc_chunkset_count(listed);
	np = tsarc_index_npacks(idx);
	if (np && !(packs = calloc(np, sizeof(*packs)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < np; i++) {
		uint32_t size;
		tsarc_hex_encode(packs[i].name, tsarc_index_pack_name(idx, (uint32_t)i),
			TSARC_ID_LEN);
		if (tsarc_chunkset_lookup(listed, tsarc_index_pack_name(idx, (uint32_t)i), &size)) {
			packs[i].size = size;
			res->packs_unindexed--;
		} else {
			packs[i].bad = 1;
			snprintf(packs[i].msg, sizeof(packs[i].msg), "the index names this pack, "
				"which is missing from the store");
		}
	}
	/* Only the listed ones are read: a missing pack is bad already. */
	{
		tsarc_pack_toc *present = NULL;
		size_t npresent = 0, k;
		if (np && !(present = calloc(np, sizeof(*present)))) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		for (i = 0; i < np; i++)
			if (!packs[i].bad)
				present[npresent++] = packs[i];
		rc = tsarc_pack_read_tocs(repo, present, npresent, parallel);
		for (i = 0, k = 0; i < np; i++)
			if (!packs[i].bad)
				packs[i] = present[k++];
		free(present);
		if (rc)
			goto done;
	}
	for (i = 0; i < np; i++) {
		if (!packs[i].bad)
			continue;
		res->packs_damaged++;
		report(fn, payload, "pack", packs[i].name, TSARC_ECORRUPT, packs[i].msg);
	}
	/* Each index entry against its pack's TOC. */
	recs = tsarc_index_records(idx);
	for (i = 0; i < tsarc_index_count(idx); i++) {
		const tsarc_index_rec *r = &recs[i];
		const tsarc_pack_toc *ps = &packs[r->pack];
		const tsarc_pack_entry *t;
		if (ps->bad)
			continue;
		t = toc_at(ps, r->offset);
		if (!t || memcmp(t->id, r->id, TSARC_ID_LEN) || t->length != r->length ||
			t->plain != r->plain) {
			char hex[TSARC_ID_HEX_LEN + 1], msg[256];
			tsarc_hex_encode(hex, r->id, TSARC_ID_LEN);
			snprintf(msg, sizeof(msg), "the index places it in pack %.16s at offset %u "
				"(%u bytes), which the pack's table of contents does not say",
				ps->name, r->offset, r->length);
			res->index_wrong++;
			report(fn, payload, "index", hex, TSARC_ECORRUPT, msg);
			continue;
		}
		if ((rc = tsarc_chunkset_claim(stored, r->id, r->length, &added)))
			goto done;
	}
done:
	for (i = 0; i < np && packs; i++)
		free(packs[i].entries);
	free(packs);
	tsarc_chunkset_free(listed);
	tsarc_index_free(idx);
	return rc;
}
