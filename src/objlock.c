#include "objlock.h"
#include "error_save.h"
#include "grow.h"
#include "chunkset.h"
#include "forgotten.h"
#include "index.h"
#include "index_refs.h"
#include "parallel.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_SECONDS 86400

int tsarc_objlock_to_json(cJSON *config, const tsarc_retention *r)
{
	cJSON *o;

	if (!r->mode)
		return 0;
	if (!(o = cJSON_AddObjectToObject(config, "object_lock")) ||
		!cJSON_AddStringToObject(o, "mode", tsarc_retain_mode_name(r->mode)) ||
		!cJSON_AddNumberToObject(o, "days", r->days))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return 0;
}

int tsarc_objlock_from_json(const cJSON *config, tsarc_retention *out)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(config, "object_lock"), *m, *d;
	tsarc_retain_mode mode;

	memset(out, 0, sizeof(*out));
	if (!o)
		return 0;
	m = cJSON_GetObjectItemCaseSensitive(o, "mode");
	d = cJSON_GetObjectItemCaseSensitive(o, "days");
	if (!cJSON_IsObject(o) || !cJSON_IsString(m) || !cJSON_IsNumber(d))
		return tsarc_error_set(TSARC_ECORRUPT, "config: object_lock is not {mode, days}");
	if (tsarc_retain_mode_parse(m->valuestring, &mode) || mode == TSARC_RETAIN_NONE) {
		tsarc_error_clear();
		return tsarc_error_set(TSARC_ECORRUPT,
			"config: object_lock mode is neither governance nor compliance");
	}
	if (!(d->valuedouble >= 1 && d->valuedouble <= TSARC_RETAIN_DAYS_MAX) ||
		d->valuedouble != (double)(uint32_t)d->valuedouble)
		return tsarc_error_set(TSARC_ECORRUPT,
			"config: object_lock days is not a whole number from 1 to %u",
			TSARC_RETAIN_DAYS_MAX);
	out->mode = mode;
	out->days = (uint32_t)d->valuedouble;
	return 0;
}

int64_t tsarc_objlock_until(const tsarc_retention *r, int64_t now)
{
	return now + (int64_t)r->days * DAY_SECONDS;
}

int tsarc_objlock_prepare(tsarc_store *store, const tsarc_retention *r, int before_create)
{
	int enabled = 0, rc;

	if (r->mode == TSARC_RETAIN_NONE || r->days < 1 || r->days > TSARC_RETAIN_DAYS_MAX)
		return tsarc_error_set(TSARC_EINVAL,
			"Object Lock needs a mode and from 1 to %u days", TSARC_RETAIN_DAYS_MAX);
	if (before_create)
		return tsarc_store_set_retention(store, r);
	if ((rc = tsarc_store_retention_enabled(store, &enabled)))
		return rc;
	if (!enabled)
		return tsarc_error_set(TSARC_EUNSUPPORTED,
			"%s has no Object Lock: create the repository in a new bucket (tsarc "
			"creates it with Object Lock on), or turn Object Lock on for this one "
			"(versioning on, then PutObjectLockConfiguration)",
			tsarc_store_describe(store));
	return 0;
}

int tsarc_objlock_refuse_unasked(tsarc_store *store)
{
	int enabled = 0;

	if (tsarc_store_retention_enabled(store, &enabled)) {
		tsarc_error_clear();
		return 0;
	}
	if (!enabled)
		return 0;
	return tsarc_error_set(TSARC_ECONFIG,
		"%s has Object Lock on: give 'tsarc init --object-lock DAYS' (see "
		"docs/object-lock.md), or use a bucket without it; a repository without "
		"Object Lock there could not delete what it removes (the bucket keeps every "
		"version, and may retain it)", tsarc_store_describe(store));
}

/* ---- extend ---- */

typedef struct needed {
	tsarc_objtype type;
	char name[TSARC_ID_HEX_LEN + 1];
} needed;

typedef struct needed_list {
	needed *v;
	size_t n, cap;
} needed_list;

static int need(needed_list *l, tsarc_objtype type, const char *name)
{
	if (strlen(name) > TSARC_ID_HEX_LEN)
		return 0; /* not a name tsarc writes: not ours to extend */
	if (TSARC_RESERVE(l->v, l->n, l->cap, 256))
		return TSARC_ENOMEM;
	l->v[l->n].type = type;
	snprintf(l->v[l->n].name, sizeof(l->v[l->n].name), "%s", name);
	l->n++;
	return 0;
}

typedef struct listing {
	needed_list l;
	tsarc_objtype type; /* of the objects being listed */
} listing;

static int need_listed(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	listing *ls = payload;

	(void)size;
	(void)mtime;
	return need(&ls->l, ls->type, name);
}

static int need_chunk(const uint8_t id[TSARC_ID_LEN], uint32_t stored, void *payload)
{
	char hex[TSARC_ID_HEX_LEN + 1];

	(void)stored;
	tsarc_hex_encode(hex, id, TSARC_ID_LEN);
	return need(payload, TSARC_OBJ_DATA, hex);
}

/* Format 2: which packs hold a needed chunk (a chunk set of pack names). */
typedef struct pack_need {
	const tsarc_index_refs *refs;
	tsarc_chunkset *packs;
} pack_need;

static int need_packs_of(const tsarc_index_table_rec *g, size_t n, uint64_t ordinal,
	void *payload)
{
	pack_need *pn = payload;
	size_t k;
	int rc, added;

	if (!tsarc_index_refs_has(pn->refs, ordinal))
		return 0;
	/* Every copy: whichever a prune keeps stays protected. */
	for (k = 0; k < n; k++)
		if ((rc = tsarc_chunkset_claim(pn->packs, g[k].at.pack, 0, &added)))
			return rc;
	return 0;
}

static int need_pack(const uint8_t name[TSARC_ID_LEN], uint32_t stored, void *payload)
{
	(void)stored;
	return need_chunk(name, 0, payload);
}

static void count_damaged(const char *id, void *payload)
{
	(void)id;
	(*(size_t *)payload)++;
}

/*
 * The objects the snapshots need on format 2, in bounded memory: the
 * snapshots read one at a time (a damaged one counted into *damaged),
 * what they need marked on the index table (index_refs.h), then the packs
 * that hold any copy of a needed chunk, never a pack that holds only
 * chunks no live snapshot needs (so those still expire). A needed chunk
 * that no index places counts into *unplaced; a damaged index object is
 * extended (it is listed) and what only it placed is counted so. With a
 * damaged snapshot or an unplaced chunk, what is needed is not known
 * (the chunk list that cannot be read, the pack no index names): every
 * pack is extended then, so that none of them expires; and with `all`
 * (an unmarked hidden snapshot, whose needs are not known either).
 */
static int need_packs(tsarc_repo *repo, needed_list *l, int all, size_t *loaded,
	size_t *damaged, size_t *unplaced)
{
	tsarc_index_table *t = NULL;
	tsarc_index_refs refs;
	pack_need pn = {&refs, NULL};
	char **ids = NULL;
	size_t n = 0;
	int rc;

	memset(&refs, 0, sizeof(refs));
	*unplaced = 0;
	if ((rc = tsarc_snapshot_list_ids(repo, &ids, &n)) ||
		(rc = tsarc_index_table_open(repo, &t)) ||
		(rc = tsarc_index_refs_mark(&refs, repo, t, ids, n, count_damaged, damaged,
			 loaded)) ||
		(rc = tsarc_chunkset_new(&pn.packs)) ||
		(rc = tsarc_index_table_scan(t, need_packs_of, &pn)))
		goto done;
	*unplaced = tsarc_chunkset_count(refs.absent);
	if ((all || *damaged || *unplaced) && (rc = tsarc_chunkset_load(pn.packs, repo->store)))
		goto done;
	rc = tsarc_chunkset_foreach(pn.packs, need_pack, l);
done:
	tsarc_chunkset_free(pn.packs);
	tsarc_index_refs_dispose(&refs);
	tsarc_index_table_free(t);
	tsarc_snapshot_ids_free(ids, n);
	return rc;
}

typedef struct extend_run {
	tsarc_store *store;
	const needed *v;
	int64_t until;
	atomic_size_t missing;
	atomic_size_t foreign; /* a date of the other mode, not ours to move */
	tsarc_saved_error first_foreign;
} extend_run;

/* The first error of a kind, kept while the run goes on (one per run). */
static void keep_first(atomic_size_t *count, tsarc_saved_error *first)
{
	if (atomic_fetch_add(count, 1) == 0)
		tsarc_error_save(first);
	tsarc_error_clear();
}

/*
 * A version with a date of the other mode (TSARC_ECORRUPT from the
 * store: tsarc writes every version in the repository's mode) is
 * another hand's: a version it wrote on top, whose date S3 will not let
 * us move, and must not stop the rest. Stopping there would leave every
 * object after it, and the genuine version under it, to expire night
 * after night while the failure read as a permission problem.
 */
static int extend_one(size_t i, void *ctx, void *worker)
{
	extend_run *x = ctx;
	int rc;

	(void)worker;
	rc = tsarc_store_extend_retention(x->store, x->v[i].type, x->v[i].name, x->until);
	if (rc == TSARC_ENOTFOUND) {
		tsarc_error_clear();
		atomic_fetch_add(&x->missing, 1);
		return 0;
	}
	if (rc == TSARC_ECORRUPT) {
		keep_first(&x->foreign, &x->first_foreign);
		return 0;
	}
	return rc;
}

static int cmp_needed(const void *a, const void *b)
{
	const needed *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->name, y->name);
}

/*
 * Every other version of what was extended: after an overwrite the
 * genuine version is no longer the current one, and it would expire (and
 * could then be deleted by whoever overwrote it) though this runs every
 * night. One call per type, the names sorted, so the store lists each
 * folder once rather than each object.
 */
static int extend_old_versions(tsarc_store *store, needed_list *l, int64_t until,
	size_t *extended, extend_run *x)
{
	const char **names;
	size_t i, j, n;
	int rc = 0;

	*extended = 0;
	if (!l->n)
		return 0;
	if (!(names = malloc(l->n * sizeof(*names))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	qsort(l->v, l->n, sizeof(*l->v), cmp_needed);
	for (i = 0; i < l->n && !rc; i = j) {
		for (j = i; j < l->n && l->v[j].type == l->v[i].type; j++)
			names[j - i] = l->v[j].name;
		rc = tsarc_store_extend_versions(store, l->v[i].type, names, j - i, until, &n);
		*extended += n;
		/* Another hand's date on one (extend_one): the rest still go. */
		if (rc == TSARC_ECORRUPT) {
			keep_first(&x->foreign, &x->first_foreign);
			rc = 0;
		}
	}
	free(names);
	return rc;
}

static void note_damaged(const char *id, int code, const char *msg, void *payload)
{
	(void)id;
	(void)code;
	(void)msg;
	(*(size_t *)payload)++;
}

/*
 * The hidden snapshots no forget of ours marked, and the hidden key files
 * no key remove of ours marked (forgotten.h): each one's versions are
 * extended (they are all old ones, under the marker), by way of `hl`,
 * the names whose old versions only are extended.
 */
static int need_unmarked(tsarc_repo *repo, needed_list *hl, tsarc_extend_result *res)
{
	char **ids = NULL, **keys = NULL;
	size_t n = 0, nkeys = 0, i;
	int rc;

	if ((rc = tsarc_forgotten_unmarked(repo, &ids, &n)) ||
		(rc = tsarc_keys_unmarked(repo, &keys, &nkeys)))
		goto done;
	res->hidden = n;
	res->hidden_keys = nkeys;
	for (i = 0; i < n && !rc; i++)
		rc = need(hl, TSARC_OBJ_SNAPSHOT, ids[i]);
	for (i = 0; i < nkeys && !rc; i++)
		rc = need(hl, TSARC_OBJ_KEY, keys[i]);
	if (n)
		memcpy(res->hidden_first, ids[0], TSARC_ID_HEX_LEN + 1);
	if (nkeys)
		memcpy(res->hidden_key_first, keys[0], TSARC_ID_HEX_LEN + 1);
done:
	tsarc_snapshot_ids_free(ids, n);
	tsarc_store_names_free(keys, nkeys);
	return rc;
}

typedef struct hidden_of {
	tsarc_objtype type;
	needed_list *hl;
	const needed_list *listed; /* sorted */
} hidden_of;

static int need_hidden(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	hidden_of *h = payload;
	needed key;

	(void)size;
	(void)mtime;
	key.type = h->type;
	snprintf(key.name, sizeof(key.name), "%s", name);
	/* A needed one hidden is in the listed ones already (reported missing). */
	if (h->listed->n &&
		bsearch(&key, h->listed->v, h->listed->n, sizeof(key), cmp_needed))
		return 0;
	return need(h->hl, h->type, name);
}

/*
 * When what is needed is not known (a snapshot that does not open or
 * that someone else hid, a chunk no index places), every data object is
 * extended: the listed ones are in `l` already; the hidden ones, which a
 * prune hid or the same hand did (the unknown's own data might be among
 * them), go into `hl`, and so do the hidden index objects (one of them
 * may place what is unplaced): their old versions are all they have.
 */
static int need_every_hidden(tsarc_repo *repo, needed_list *l, needed_list *hl)
{
	static const tsarc_objtype types[] = {TSARC_OBJ_DATA, TSARC_OBJ_INDEX};
	size_t t;
	int rc = 0;

	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_needed);
	for (t = 0; !rc && t < sizeof(types) / sizeof(types[0]); t++) {
		hidden_of h = {types[t], hl, l};
		rc = tsarc_store_list_hidden(repo->store, types[t], need_hidden, &h);
	}
	return rc;
}

int tsarc_objlock_extend(tsarc_repo *repo, tsarc_lock *lock, int64_t now,
	tsarc_extend_result *res)
{
	static const tsarc_objtype listed[] = {TSARC_OBJ_KEY, TSARC_OBJ_INDEX,
		TSARC_OBJ_SNAPSHOT};
	tsarc_snapshot **snaps = NULL;
	tsarc_chunkset *chunks = NULL;
	listing ls;
	needed_list hl = {NULL, 0, 0};
	extend_run x;
	size_t n = 0, i, s, k, unplaced = 0, more;
	int rc, added;

	memset(res, 0, sizeof(*res));
	memset(&ls, 0, sizeof(ls));
	x.first_foreign.whole = NULL; /* forgotten at done */
	if (!repo->retention.mode)
		return tsarc_error_set(TSARC_EINVAL,
			"this repository has no Object Lock (tsarc init --object-lock DAYS)");
	/* The date first: whatever is listed after it is protected to it. */
	res->until = tsarc_objlock_until(&repo->retention, now);
	if ((rc = need(&ls.l, TSARC_OBJ_CONFIG, "")))
		goto done;
	for (i = 0; i < sizeof(listed) / sizeof(listed[0]); i++) {
		ls.type = listed[i];
		if ((rc = tsarc_store_list(repo->store, listed[i], need_listed, &ls)))
			goto done;
	}
	if ((rc = need_unmarked(repo, &hl, res)))
		goto done;
	if (repo->version >= 2) {
		if ((rc = need_packs(repo, &ls.l, res->hidden > 0, &res->snapshots, &res->damaged,
			     &unplaced)))
			goto done;
	} else {
		/* Format 1: every chunk is its own object, each needed one named. */
		if ((rc = tsarc_snapshot_load_all(repo, &snaps, &n, note_damaged, &res->damaged)) ||
			(rc = tsarc_chunkset_new(&chunks)))
			goto done;
		res->snapshots = n;
		for (i = 0; i < n; i++)
			for (s = 0; s < snaps[i]->nstreams; s++)
				for (k = 0; k < snaps[i]->streams[s].nchunks; k++)
					if ((rc = tsarc_chunkset_claim(chunks,
						     snaps[i]->streams[s].chunks[k].id, 0, &added)))
						goto done;
		/* What a damaged one needs is not known: every chunk. */
		if (((res->damaged || res->hidden) &&
			    (rc = tsarc_chunkset_load(chunks, repo->store))) ||
			(rc = tsarc_chunkset_foreach(chunks, need_chunk, &ls.l)))
			goto done;
	}
	if ((res->hidden || res->damaged || unplaced) && (rc = need_every_hidden(repo, &ls.l, &hl)))
		goto done;
	/* A prune that took over a stale lock of ours must not race us. */
	if ((rc = tsarc_lock_check(lock, NULL)))
		goto done;
	x.store = repo->store;
	x.v = ls.l.v;
	x.until = res->until;
	atomic_init(&x.missing, 0);
	atomic_init(&x.foreign, 0);
	x.first_foreign.code = 0;
	rc = tsarc_parallel_for(ls.l.n, repo->store->max_inflight ? repo->store->max_inflight : 1,
		extend_one, &x, NULL, NULL);
	res->missing = atomic_load(&x.missing) + unplaced;
	res->objects = ls.l.n - (res->missing - unplaced) - atomic_load(&x.foreign);
	if (rc) {
		tsarc_error_prefix("extending the retention");
		goto done;
	}
	if ((rc = extend_old_versions(repo->store, &ls.l, res->until, &res->versions, &x)) ||
		(rc = extend_old_versions(repo->store, &hl, res->until, &more, &x))) {
		tsarc_error_prefix("extending the retention of old versions");
		goto done;
	}
	res->versions += more;
	res->foreign = atomic_load(&x.foreign);
	if (res->foreign) {
		rc = tsarc_error_set(TSARC_ECORRUPT, "%zu version%s of what snapshots need carr%s "
			"a retention date tsarc did not write, which could not be moved (everything "
			"else was extended, the versions under them too; read the repository with "
			"--as-of a time before the overwrite, and have an administrator remove "
			"that version, once its date has passed or with the governance bypass): %s",
			res->foreign, res->foreign == 1 ? "" : "s", res->foreign == 1 ? "ies" : "y",
			tsarc_error_saved_message(&x.first_foreign));
	} else if (res->hidden)
		rc = tsarc_forgotten_unmarked_error(res->hidden_first, res->hidden,
			"its versions, and every data object (what it needs is not known), "
			"were extended");
	else if (res->hidden_keys)
		rc = tsarc_keys_unmarked_error(res->hidden_key_first, res->hidden_keys,
			"its versions were extended, as the listed key files' are");
	else if (res->damaged || res->missing)
		rc = tsarc_error_set(TSARC_ECORRUPT,
			"%zu snapshot%s could not be read and %zu needed object%s missing or hidden%s "
			"(run 'tsarc check')", res->damaged, res->damaged == 1 ? "" : "s", res->missing,
			res->missing == 1 ? " is" : "s are",
			res->damaged || unplaced ? ": what they need is not known, so every data "
						   "object stored was extended"
						 : ": what they need is not protected");
done:
	tsarc_error_forget(&x.first_foreign);
	tsarc_snapshot_array_free(snaps, n);
	tsarc_chunkset_free(chunks);
	free(ls.l.v);
	free(hl.v);
	return rc;
}

/* ---- purge ---- */

int tsarc_purge_tally_cb(const char *name, int64_t kept_until, void *payload)
{
	tsarc_purge_tally *t = payload;

	(void)name;
	if (!kept_until) {
		t->removed++;
		return 0;
	}
	t->kept++;
	if (kept_until > t->kept_until)
		t->kept_until = kept_until;
	return 0;
}

typedef struct hidden_list {
	char **names;
	size_t n, cap;
	tsarc_chunkset *skip; /* for data: chunks live snapshots need */
	tsarc_repo *marks;    /* snapshots, key files: those of our marks only */
	tsarc_objtype type;
} hidden_list;

static int collect_hidden(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	hidden_list *h = payload;
	uint8_t id[TSARC_ID_LEN];
	int rc;

	(void)size;
	(void)mtime;
	if (h->skip && strlen(name) == TSARC_ID_HEX_LEN &&
		!tsarc_hex_decode(id, sizeof(id), name) &&
		tsarc_chunkset_lookup(h->skip, id, NULL))
		return 0;
	tsarc_error_clear();
	/* A snapshot or key file hidden by another hand is never ours to
	 * delete (a mark, hidden, is). */
	if (h->marks && tsarc_snapshot_name_is_id(name) &&
		(rc = tsarc_mark_check(h->marks, h->type, name))) {
		if (rc != TSARC_ENOTFOUND && rc != TSARC_ECORRUPT)
			return rc;
		tsarc_error_clear();
		return 0;
	}
	return tsarc_strv_push(&h->names, &h->n, &h->cap, 64, name);
}

/* What a sweep does to a batch: purge it, or (a dry run) say what a
 * purge would do, and in a dry run keep the names it would delete for
 * good, so that the marks of snapshots and key files that would go count
 * as orphans. */
typedef struct sweep_run {
	int dry_run;
	tsarc_purge_tally *out;
	tsarc_strv gone; /* dry run, of the type swept: would be deleted for good */
} sweep_run;

static int sweep_tally(const char *name, int64_t kept_until, void *payload)
{
	sweep_run *w = payload;
	int rc;

	if (w->dry_run && !kept_until && tsarc_snapshot_name_is_id(name) &&
		(rc = tsarc_strv_push(&w->gone.v, &w->gone.n, &w->gone.cap, 16, name)))
		return rc;
	return tsarc_purge_tally_cb(name, kept_until, w->out);
}

static int sweep_purge(tsarc_repo *repo, tsarc_objtype type, char **names, size_t n,
	sweep_run *w)
{
	if (!n)
		return 0;
	return (w->dry_run ? tsarc_store_purge_preview : tsarc_store_purge_many)(repo->store,
		type, (const char *const *)names, n, sweep_tally, w);
}

/* The marks of snapshots and key files that have no version left go the
 * same way. */
static int purge_orphan_marks(tsarc_repo *repo, tsarc_objtype type, sweep_run *w)
{
	char **names = NULL;
	size_t n = 0;
	int rc;

	rc = tsarc_mark_orphans(repo, type, w->gone.v, w->gone.n, &names, &n);
	if (!rc)
		rc = sweep_purge(repo, type, names, n, w);
	tsarc_store_names_free(names, n);
	return rc;
}

int tsarc_objlock_sweep(tsarc_repo *repo, tsarc_chunkset *referenced, int dry_run,
	tsarc_purge_tally *out)
{
	static const tsarc_objtype types[] = {TSARC_OBJ_SNAPSHOT, TSARC_OBJ_INDEX,
		TSARC_OBJ_DATA, TSARC_OBJ_KEY, TSARC_OBJ_LOCK};
	sweep_run w = {dry_run, out, {NULL, 0, 0}};
	size_t t;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (t = 0; !rc && t < sizeof(types) / sizeof(types[0]); t++) {
		int marked = types[t] == TSARC_OBJ_SNAPSHOT || types[t] == TSARC_OBJ_KEY;
		hidden_list h = {NULL, 0, 0, types[t] == TSARC_OBJ_DATA ? referenced : NULL,
			marked ? repo : NULL, types[t]};
		rc = tsarc_store_list_hidden(repo->store, types[t], collect_hidden, &h);
		if (!rc)
			rc = sweep_purge(repo, types[t], h.names, h.n, &w);
		tsarc_store_names_free(h.names, h.n);
		if (!rc && marked)
			rc = purge_orphan_marks(repo, types[t], &w);
		/* What would go is of this type only. */
		tsarc_store_names_free(w.gone.v, w.gone.n);
		memset(&w.gone, 0, sizeof(w.gone));
	}
	if (rc)
		tsarc_error_prefix("deleting hidden objects whose retention has passed");
	return rc;
}
