/*
 * check: the keys, then what the snapshots need against what is stored.
 * Format 1 here, in memory (every snapshot, a set of the stored chunks and
 * one of those referenced); format 2 in bounded memory through the index
 * table (check_pack.c, check_refs.c). What is found and how it is said is
 * the same (check_int.h).
 */
#include "check_int.h"
#include "forgotten.h"
#include "grow.h"
#include "chunkset.h"
#include "check_read.h"
#include "tsarc/errors.h"

#include <openssl/rand.h>
#include <stddef.h>
#include <stdio.h>
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

/* Format 1's own: the chunks referenced, one each, and --read-data's. */
typedef struct refs_ctx {
	check_ctx *c;
	unique_ref *refs;
	size_t nrefs;
	const tsarc_chunk_ref **to_read; /* the refs[k].ref that --read-data reads */
	size_t nread;
} refs_ctx;

void check_problem(const check_ctx *c, const char *what, const char *snapshot,
	const char *stream, const char *object, int code, const char *msg)
{
	tsarc_check_problem p = {what, snapshot, stream, object, code, msg, 0};

	if (c->report)
		c->report(&p, c->payload);
}

void check_hidden(const check_ctx *c, const char *what, const char *snapshot,
	const char *object, const char *msg)
{
	tsarc_check_problem p = {what, snapshot, NULL, object, TSARC_ENOTFOUND, msg, 1};

	if (c->report)
		c->report(&p, c->payload);
}

static int check_key(check_ctx *c, const char *name)
{
	tsarc_buf raw = TSARC_BUF_INIT;
	int rc;

	c->res->keys++;
	tsarc_buf_init(&raw, 64 * 1024);
	rc = tsarc_store_get(c->repo->store, TSARC_OBJ_KEY, name, 0, 0, &raw);
	if (rc == 0)
		rc = tsarc_repo_verify_key_file(raw.ptr, raw.size, name);
	tsarc_buf_dispose(&raw);
	if (rc == TSARC_ECORRUPT || rc == TSARC_ETOOLARGE) {
		c->res->keys_damaged++;
		check_problem(c, "key", NULL, NULL, name, rc, tsarc_error_last()->message);
		return 0;
	}
	return rc;
}

/* The key files as every reader of keys/ lists them (tsarc_repo_key_names:
 * a mark or a stray file there is no key file). */
static int check_keys(check_ctx *c)
{
	char **names = NULL;
	size_t n = 0, i;
	int rc = tsarc_repo_key_names(c->repo->store, &names, &n);

	for (i = 0; !rc && i < n; i++)
		rc = check_key(c, names[i]);
	tsarc_store_names_free(names, n);
	return rc;
}

/*
 * Under Object Lock, the hidden snapshots that tsarc's forget did not
 * mark (forgotten.h): an attacker's delete marker, most likely. What they
 * need is not checked (they are not listed); they are reported, as the
 * sooner someone looks, the more of DAYS is left to read them back. Such
 * a snapshot is deleted, not damaged: its last version is still stored,
 * and removing the delete marker brings it back. Before, check called it
 * a "damaged snapshot" (ECORRUPT), as it does one that does not open.
 */
static int check_hidden_snapshots(check_ctx *c)
{
	char **ids = NULL, msg[512];
	size_t n = 0, i;
	int rc = tsarc_forgotten_unmarked(c->repo, &ids, &n);

	for (i = 0; !rc && i < n; i++) {
		c->res->snapshots_hidden++;
		snprintf(msg, sizeof(msg), "hidden behind a delete marker that tsarc's forget did "
			"not write (another hand's DELETE); its last version is still stored: to bring "
			"it back, delete that delete marker in the bucket, and read it meanwhile with "
			"--as-of a time before it was hidden; run 'tsarc forget %.12s' if it was meant "
			"to go", ids[i]);
		check_hidden(c, "snapshot", ids[i], NULL, msg);
	}
	tsarc_snapshot_ids_free(ids, n);
	return rc;
}

/*
 * The same for key files (forgotten.h): a hidden key file that tsarc's key
 * remove did not mark is a password someone else withdrew, which the
 * sweep would otherwise delete for good after its date. Deleted, not
 * damaged, as a hidden snapshot.
 */
static int check_hidden_keys(check_ctx *c)
{
	char **names = NULL, advice[TSARC_KEY_ADVICE_MAX], msg[TSARC_KEY_ADVICE_MAX + 128];
	size_t n = 0, i;
	int rc = tsarc_keys_unmarked(c->repo, &names, &n);

	for (i = 0; !rc && i < n; i++) {
		c->res->keys_hidden++;
		tsarc_key_unmarked_advice(advice, sizeof(advice), names[i]);
		snprintf(msg, sizeof(msg), "key file hidden behind a delete marker that tsarc's key "
			"remove did not write (another hand's DELETE), its last version still stored: "
			"%s", advice);
		check_hidden(c, "key", NULL, names[i], msg);
	}
	tsarc_store_names_free(names, n);
	return rc;
}

static void snapshot_unreadable(const char *id, int code, const char *msg, void *payload)
{
	check_ctx *c = payload;

	c->res->snapshots_damaged++;
	check_problem(c, "snapshot", id, NULL, NULL, code, msg);
}

static void read_damaged(size_t i, const char *msg, void *payload)
{
	refs_ctx *c = payload;
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
int check_stored_size_wrong(const tsarc_chunk_ref *r, uint32_t size)
{
	if (!tsarc_repo_chunk_size_plausible(r->size, size))
		return 1;
	return size != r->stored && tsarc_repo_chunk_size_plausible(r->size, r->stored);
}

int check_selected(const tsarc_check_options *o, const uint8_t id[TSARC_ID_LEN])
{
	uint32_t v;

	if (o->subset_t) {
		memcpy(&v, id, sizeof(v));
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

int check_first_ref(const check_ctx *c, const tsarc_chunk_ref *r, int present, uint32_t size)
{
	char hex[TSARC_ID_HEX_LEN + 1], msg[128];

	if (present && !check_stored_size_wrong(r, size))
		return 0;
	tsarc_hex_encode(hex, r->id, TSARC_ID_LEN);
	if (!present) {
		c->res->chunks_missing++;
		check_problem(c, "chunk", NULL, NULL, hex, TSARC_ENOTFOUND,
			c->repo->version >= 2 ? "in no pack that the index and the pack agree on"
			: "not in the store");
	} else if (!tsarc_repo_chunk_size_plausible(r->size, size)) {
		uint64_t lo, hi;
		tsarc_repo_chunk_size_bounds(r->size, &lo, &hi);
		snprintf(msg, sizeof(msg), "stored as %u bytes, but a chunk of %u bytes takes "
			"%llu to %llu (torn or truncated)", size, r->size, (unsigned long long)lo,
			(unsigned long long)hi);
		c->res->chunks_wrong_size++;
		check_problem(c, "chunk", NULL, NULL, hex, TSARC_ECORRUPT, msg);
	} else {
		snprintf(msg, sizeof(msg), "stored as %u bytes, the manifest says %u", size,
			r->stored);
		c->res->chunks_wrong_size++;
		check_problem(c, "chunk", NULL, NULL, hex, TSARC_ECORRUPT, msg);
	}
	return 1;
}

void check_stream_problem(const check_ctx *c, const char *snapshot, const char *stream,
	size_t missing, size_t wrong, size_t nchunks)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%zu of its %zu chunks are missing, %zu have the wrong size",
		missing, nchunks, wrong);
	check_problem(c, "stream", snapshot, stream, NULL,
		missing ? TSARC_ENOTFOUND : TSARC_ECORRUPT, msg);
}

void check_stream_damaged(const check_ctx *c, const char *snapshot, const char *stream,
	size_t nbad, size_t nchunks)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%zu of its %zu chunks are damaged", nbad, nchunks);
	check_problem(c, "stream", snapshot, stream, NULL, TSARC_ECORRUPT, msg);
}

unsigned check_parallel(const check_ctx *c)
{
	if (c->opts->parallel)
		return c->opts->parallel;
	return c->repo->store->max_inflight < 2 ? 2 : c->repo->store->max_inflight;
}

static int report_broken_streams(refs_ctx *rc_, tsarc_snapshot **snaps, size_t nsnaps)
{
	tsarc_chunkset *bad = NULL;
	size_t i, s, k;
	int rc, added;

	if ((rc = tsarc_chunkset_new(&bad)))
		return rc;
	for (k = 0; k < rc_->nread; k++) {
		unique_ref *u = unique_of(rc_->to_read[k]);
		if (u->bad && (rc = tsarc_chunkset_claim(bad, u->ref.id, 0, &added)))
			goto done;
	}
	for (i = 0; i < nsnaps; i++) {
		for (s = 0; s < snaps[i]->nstreams; s++) {
			const tsarc_stream *st = &snaps[i]->streams[s];
			size_t nbad = 0;
			for (k = 0; k < st->nchunks; k++)
				nbad += (size_t)tsarc_chunkset_lookup(bad, st->chunks[k].id, NULL);
			if (nbad)
				check_stream_damaged(rc_->c, snaps[i]->id, st->name, nbad, st->nchunks);
		}
	}
done:
	tsarc_chunkset_free(bad);
	return rc;
}

/* Format 1: every snapshot in memory, a set of the stored chunks and one
 * of those referenced. */
static int check_in_memory(check_ctx *c)
{
	tsarc_check_result *result = c->res;
	tsarc_chunkset *stored = NULL, *seen = NULL;
	tsarc_snapshot **snaps = NULL;
	size_t nsnaps = 0, i, s, k, cap = 0;
	refs_ctx u;
	int rc;

	memset(&u, 0, sizeof(u));
	u.c = c;
	if ((rc = tsarc_chunkset_new(&stored)) || (rc = tsarc_chunkset_new(&seen)) ||
		(rc = tsarc_chunkset_load(stored, c->repo->store)))
		goto done;
	result->chunks_stored = tsarc_chunkset_count(stored);
	if ((rc = tsarc_snapshot_load_all(c->repo, &snaps, &nsnaps, snapshot_unreadable, c)))
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
				int wrong_size = present && check_stored_size_wrong(r, size);
				int added;
				missing += !present;
				wrong += wrong_size;
				if ((rc = tsarc_chunkset_claim(seen, r->id, 0, &added)))
					goto done;
				if (!added)
					continue;
				if ((rc = TSARC_RESERVE(u.refs, u.nrefs, cap, 1024)))
					goto done;
				memset(&u.refs[u.nrefs], 0, sizeof(u.refs[0]));
				u.refs[u.nrefs].ref = *r;
				u.refs[u.nrefs].bad = check_first_ref(c, r, present, size);
				u.nrefs++;
			}
			if (missing || wrong)
				check_stream_problem(c, snaps[i]->id, st->name, missing, wrong,
					st->nchunks);
		}
	}
	result->chunks_referenced = u.nrefs;
	result->chunks_unreferenced = result->chunks_stored >= u.nrefs - result->chunks_missing
		? result->chunks_stored - (u.nrefs - result->chunks_missing) : 0;

	if (c->opts->read_data) {
		if (u.nrefs && !(u.to_read = malloc(u.nrefs * sizeof(*u.to_read)))) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		for (k = 0; k < u.nrefs; k++)
			if (!u.refs[k].bad && check_selected(c->opts, u.refs[k].ref.id))
				u.to_read[u.nread++] = &u.refs[k].ref;
		if ((rc = tsarc_check_read_chunks(c->repo, u.to_read, u.nread, c->opts->parallel,
			     read_damaged, &u, &result->chunks_read, &result->bytes_read)))
			goto done;
		for (k = 0; k < u.nread; k++) {
			unique_ref *x = unique_of(u.to_read[k]);
			char hex[TSARC_ID_HEX_LEN + 1];
			if (!x->bad)
				continue;
			result->chunks_damaged++;
			tsarc_hex_encode(hex, x->ref.id, TSARC_ID_LEN);
			check_problem(c, "chunk", NULL, NULL, hex, TSARC_ECORRUPT,
				x->msg ? x->msg : "does not verify");
		}
		/* Name every snapshot and stream that a damaged chunk breaks. */
		if (result->chunks_damaged && (rc = report_broken_streams(&u, snaps, nsnaps)))
			goto done;
	}
	rc = 0;
done:
	tsarc_snapshot_array_free(snaps, nsnaps);
	tsarc_chunkset_free(stored);
	tsarc_chunkset_free(seen);
	for (k = 0; k < u.nrefs; k++)
		free(u.refs[k].msg);
	free(u.refs);
	free(u.to_read);
	return rc;
}

int tsarc_check(tsarc_repo *repo, const tsarc_check_options *opts,
	tsarc_check_report_fn report, void *payload, tsarc_check_result *result)
{
	tsarc_check_options defaults;
	tsarc_index_table *t = NULL;
	check_marks m = {NULL, NULL, NULL};
	check_ctx c;
	int rc;

	if (!opts) {
		memset(&defaults, 0, sizeof(defaults));
		opts = &defaults;
	}
	memset(result, 0, sizeof(*result));
	c.repo = repo;
	c.opts = opts;
	c.report = report;
	c.payload = payload;
	c.res = result;
	if ((rc = check_keys(&c)) ||
		(rc = check_hidden_snapshots(&c)) || (rc = check_hidden_keys(&c)))
		return rc;
	if (repo->version < 2)
		return check_in_memory(&c);
	if (!(rc = check_packs_bounded(&c, &t, &m)))
		rc = check_refs_bounded(&c, t, &m);
	check_marks_free(&m);
	tsarc_index_table_free(t);
	return rc;
}
