#include "check.h"
#include "grow.h"
#include "chunkset.h"
#include "check_read.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <openssl/rand.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* One per chunk the snapshots refer to: 56 bytes (the reader's message is
 * kept only for a chunk that fails, instead of 256 bytes in every one). */
typedef struct unique_ref {
	tsarc_chunk_ref ref;
	int bad;   /* set by the reader when the chunk fails to verify */
	char *msg; /* why, when the reader set bad */
} unique_ref;

/* The unique_ref whose `ref` this is. */
static unique_ref *unique_of(const tsarc_chunk_ref *ref)
{
	return (unique_ref *)((char *)ref - offsetof(unique_ref, ref));
}

typedef struct check_ctx {
	tsarc_repo *repo;
	tsarc_check_report_fn report;
	void *payload;
	tsarc_check_result *res;
	unique_ref *refs;
	size_t nrefs;
	const tsarc_chunk_ref **to_read; /* the refs[k].ref that --read-data reads */
	size_t nread;
} check_ctx;

static void problem(check_ctx *c, const char *what, const char *snapshot,
	const char *stream, const char *object, int code, const char *msg)
{
	tsarc_check_problem p = {what, snapshot, stream, object, code, msg};

	if (c->report)
		c->report(&p, c->payload);
}

static int check_key(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	check_ctx *c = payload;
	tsarc_buf raw = TSARC_BUF_INIT;
	int rc;

	(void)size;
	(void)mtime;
	c->res->keys++;
	tsarc_buf_init(&raw, 64 * 1024);
	rc = tsarc_store_get(c->repo->store, TSARC_OBJ_KEY, name, 0, 0, &raw);
	if (rc == 0)
		rc = tsarc_repo_verify_key_file(raw.ptr, raw.size, name);
	tsarc_buf_dispose(&raw);
	if (rc == TSARC_ECORRUPT || rc == TSARC_ETOOLARGE) {
		c->res->keys_damaged++;
		problem(c, "key", NULL, NULL, name, rc, tsarc_error_last()->message);
		return 0;
	}
	return rc;
}

static void snapshot_unreadable(const char *id, int code, const char *msg, void *payload)
{
	check_ctx *c = payload;

	c->res->snapshots_damaged++;
	problem(c, "snapshot", id, NULL, NULL, code, msg);
}

static void read_damaged(size_t i, const char *msg, void *payload)
{
	check_ctx *c = payload;
	unique_ref *u = unique_of(c->to_read[i]);

	u->bad = 1;
	free(u->msg);
	u->msg = strdup(msg); /* NULL: reported without it */
}

/*
 * A referenced chunk's stored size is wrong when it is not a size the chunk
 * can have (a torn or truncated object, even one a manifest recorded with
 * that very size: older backups trusted any listed size at dedup), or when
 * it differs from what the manifest recorded. A manifest that recorded an
 * impossible size for an object since stored again whole is only a stale
 * record: the object is judged by itself.
 */
static int stored_size_wrong(const tsarc_chunk_ref *r, uint32_t size)
{
	if (!tsarc_repo_chunk_size_plausible(r->size, size))
		return 1;
	return size != r->stored && tsarc_repo_chunk_size_plausible(r->size, r->stored);
}

static int selected(const tsarc_check_options *o, const unique_ref *u)
{
	uint32_t v;

	if (o->subset_t) {
		memcpy(&v, u->ref.id, sizeof(v));
		return v % o->subset_t == o->subset_n - 1;
	}
	if (o->subset_percent > 0 && o->subset_percent < 100) {
		unsigned char rnd[4];
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return 1;
		memcpy(&v, rnd, sizeof(v));
		return (double)v / 4294967296.0 * 100.0 < o->subset_percent;
	}
	return 1;
}

static int report_broken_streams(check_ctx *c, tsarc_snapshot **snaps, size_t nsnaps)
{
	tsarc_chunkset *bad = NULL;
	size_t i, s, k;
	int rc, added;

	if ((rc = tsarc_chunkset_new(&bad)))
		return rc;
	for (k = 0; k < c->nread; k++) {
		unique_ref *u = unique_of(c->to_read[k]);
		if (u->bad && (rc = tsarc_chunkset_claim(bad, u->ref.id, 0, &added)))
			goto done;
	}
	for (i = 0; i < nsnaps; i++) {
		for (s = 0; s < snaps[i]->nstreams; s++) {
			const tsarc_stream *st = &snaps[i]->streams[s];
			size_t nbad = 0;
			char msg[256];
			for (k = 0; k < st->nchunks; k++)
				nbad += (size_t)tsarc_chunkset_lookup(bad, st->chunks[k].id, NULL);
			if (!nbad)
				continue;
			snprintf(msg, sizeof(msg), "%zu of its %zu chunks are damaged", nbad,
				st->nchunks);
			problem(c, "stream", snaps[i]->id, st->name, NULL, TSARC_ECORRUPT, msg);
		}
	}
done:
	tsarc_chunkset_free(bad);
	return rc;
}

int tsarc_check(tsarc_repo *repo, const tsarc_check_options *opts,
	tsarc_check_report_fn report, void *payload, tsarc_check_result *result)
{
	tsarc_check_options defaults;
	tsarc_chunkset *stored = NULL, *seen = NULL;
	tsarc_snapshot **snaps = NULL;
	size_t nsnaps = 0, i, s, k, cap = 0;
	check_ctx c;
	int rc;

	if (!opts) {
		memset(&defaults, 0, sizeof(defaults));
		opts = &defaults;
	}
	memset(result, 0, sizeof(*result));
	memset(&c, 0, sizeof(c));
	c.repo = repo;
	c.report = report;
	c.payload = payload;
	c.res = result;

	if ((rc = tsarc_store_list(repo->store, TSARC_OBJ_KEY, check_key, &c)))
		goto done;
	if ((rc = tsarc_chunkset_new(&stored)) || (rc = tsarc_chunkset_new(&seen)))
		goto done;
	rc = repo->version >= 2
		? tsarc_check_packs(repo, stored, opts->parallel ? opts->parallel
			: (repo->store->max_inflight < 2 ? 2 : repo->store->max_inflight),
			report, payload, result)
		: tsarc_chunkset_load(stored, repo->store);
	if (rc)
		goto done;
	result->chunks_stored = tsarc_chunkset_count(stored);
	if ((rc = tsarc_snapshot_load_all(repo, &snaps, &nsnaps, snapshot_unreadable, &c)))
		goto done;
	result->snapshots = nsnaps + result->snapshots_damaged;

	/* Every reference: present, and of the size the manifest recorded. */
	for (i = 0; i < nsnaps; i++) {
		for (s = 0; s < snaps[i]->nstreams; s++) {
			const tsarc_stream *st = &snaps[i]->streams[s];
			size_t missing = 0, wrong = 0;
			for (k = 0; k < st->nchunks; k++) {
				const tsarc_chunk_ref *r = &st->chunks[k];
				uint32_t size = 0;
				int present = tsarc_chunkset_lookup(stored, r->id, &size);
				int wrong_size = present && stored_size_wrong(r, size);
				int added;
				missing += !present;
				wrong += wrong_size;
				if ((rc = tsarc_chunkset_claim(seen, r->id, 0, &added)))
					goto done;
				if (!added)
					continue;
				if ((rc = TSARC_RESERVE(c.refs, c.nrefs, cap, 1024)))
					goto done;
				memset(&c.refs[c.nrefs], 0, sizeof(c.refs[0]));
				c.refs[c.nrefs].ref = *r;
				c.refs[c.nrefs].bad = !present || wrong_size;
				if (!present || wrong_size) {
					char hex[TSARC_ID_HEX_LEN + 1], msg[128];
					tsarc_hex_encode(hex, r->id, TSARC_ID_LEN);
					if (!present) {
						result->chunks_missing++;
						problem(&c, "chunk", NULL, NULL, hex, TSARC_ENOTFOUND,
							repo->version >= 2 ? "in no pack that the index "
							"and the pack agree on" : "missing from the store");
					} else if (!tsarc_repo_chunk_size_plausible(r->size, size)) {
						uint64_t lo, hi;
						tsarc_repo_chunk_size_bounds(r->size, &lo, &hi);
						snprintf(msg, sizeof(msg),
							"stored as %u bytes, but a chunk of %u bytes takes "
							"%llu to %llu (torn or truncated)", size, r->size,
							(unsigned long long)lo, (unsigned long long)hi);
						result->chunks_wrong_size++;
						problem(&c, "chunk", NULL, NULL, hex, TSARC_ECORRUPT, msg);
					} else {
						snprintf(msg, sizeof(msg),
							"stored as %u bytes, the manifest says %u", size,
							r->stored);
						result->chunks_wrong_size++;
						problem(&c, "chunk", NULL, NULL, hex, TSARC_ECORRUPT, msg);
					}
				}
				c.nrefs++;
			}
			if (missing || wrong) {
				char msg[256];
				snprintf(msg, sizeof(msg),
					"%zu of its %zu chunks are missing, %zu have the wrong size",
					missing, st->nchunks, wrong);
				problem(&c, "stream", snaps[i]->id, st->name, NULL,
					missing ? TSARC_ENOTFOUND : TSARC_ECORRUPT, msg);
			}
		}
	}
	result->chunks_referenced = c.nrefs;
	result->chunks_unreferenced = result->chunks_stored >= c.nrefs - result->chunks_missing
		? result->chunks_stored - (c.nrefs - result->chunks_missing) : 0;

	if (opts->read_data) {
		if (c.nrefs && !(c.to_read = malloc(c.nrefs * sizeof(*c.to_read)))) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		for (k = 0; k < c.nrefs; k++)
			if (!c.refs[k].bad && selected(opts, &c.refs[k]))
				c.to_read[c.nread++] = &c.refs[k].ref;
		if ((rc = tsarc_check_read_chunks(repo, c.to_read, c.nread, opts->parallel,
			     read_damaged, &c, &result->chunks_read, &result->bytes_read)))
			goto done;
		for (k = 0; k < c.nread; k++) {
			unique_ref *u = unique_of(c.to_read[k]);
			char hex[TSARC_ID_HEX_LEN + 1];
			if (!u->bad)
				continue;
			result->chunks_damaged++;
			tsarc_hex_encode(hex, u->ref.id, TSARC_ID_LEN);
			problem(&c, "chunk", NULL, NULL, hex, TSARC_ECORRUPT,
				u->msg ? u->msg : "does not verify");
		}
		/* Name every snapshot and stream that a damaged chunk breaks. */
		if (result->chunks_damaged && (rc = report_broken_streams(&c, snaps, nsnaps)))
			goto done;
	}
	rc = 0;
done:
	tsarc_snapshot_array_free(snaps, nsnaps);
	tsarc_chunkset_free(stored);
	tsarc_chunkset_free(seen);
	for (k = 0; k < c.nrefs; k++)
		free(c.refs[k].msg);
	free(c.refs);
	free(c.to_read);
	return rc;
}
