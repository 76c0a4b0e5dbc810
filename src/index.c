#include "index.h"
#include "chunkset.h"
#include "objlock.h"
#include "fmt.h"
#include "grow.h"
#include "index_cache.h"
#include "index_table.h"
#include "log.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char INDEX_MAGIC[4] = {'T', 'I', 'X', '1'};
static const char AAD_INDEX[] = "tsarc-index-v1";
#define PACK_HEAD (TSARC_ID_LEN + 4)
#define ENTRY_LEN (TSARC_ID_LEN + 12)

struct tsarc_index {
	tsarc_index_rec *recs;
	size_t n, cap;
	uint8_t (*packs)[TSARC_ID_LEN]; /* sorted, unique once loaded */
	size_t npacks, packs_cap;
	char **objects;
	size_t nobjects;
	tsarc_index_table *table; /* instead of the above: tsarc_index_open_table */
	/* The repository's index this one replaced (tsarc_repo_get_index):
	 * another thread may still read it, so it is freed with this one. */
	struct tsarc_index *older;
};

int tsarc_index_parse(const uint8_t *plain, size_t len, tsarc_index_entry_fn fn,
	void *payload)
{
	const uint8_t *name = NULL;
	size_t pos = 8, npacks, p, n, k;
	int rc;

	if (len < 8 || memcmp(plain, INDEX_MAGIC, 4) != 0)
		return tsarc_error_set(TSARC_ECORRUPT, "index: bad header");
	npacks = tsarc_le32_get(plain + 4);
	for (p = 0; p < npacks; p++) {
		if (len - pos < PACK_HEAD)
			return tsarc_error_set(TSARC_ECORRUPT, "index: pack %zu of %zu is cut short",
				p, npacks);
		if (p && !memcmp(plain + pos, name, TSARC_ID_LEN))
			return tsarc_error_set(TSARC_ECORRUPT, "index: pack %zu repeats the one "
				"before it", p);
		name = plain + pos;
		n = tsarc_le32_get(plain + pos + TSARC_ID_LEN);
		pos += PACK_HEAD;
		if (n == 0 || (len - pos) / ENTRY_LEN < n)
			return tsarc_error_set(TSARC_ECORRUPT, "index: pack %zu announces %zu "
				"entries", p, n);
		for (k = 0; k < n; k++, pos += ENTRY_LEN) {
			tsarc_pack_entry e;
			memcpy(e.id, plain + pos, TSARC_ID_LEN);
			e.offset = tsarc_le32_get(plain + pos + 32);
			e.length = tsarc_le32_get(plain + pos + 36);
			e.plain = tsarc_le32_get(plain + pos + 40);
			if (e.plain == 0 || e.plain > TSARC_CHUNK_MAX_LIMIT ||
				!tsarc_repo_chunk_size_plausible(e.plain, e.length) ||
				(uint64_t)e.offset + e.length > TSARC_PACK_MAX)
				return tsarc_error_set(TSARC_ECORRUPT, "index: entry %zu of pack %zu "
					"(offset %u, %u bytes, %u plain) is impossible", k, p,
					e.offset, e.length, e.plain);
			if ((rc = fn(name, &e, payload)))
				return rc;
		}
	}
	if (pos != len)
		return tsarc_error_set(TSARC_ECORRUPT, "index: %zu bytes after the last pack",
			len - pos);
	return 0;
}

int tsarc_index_serialize(const tsarc_index_pack *packs, size_t n, tsarc_buf *out)
{
	uint8_t head[PACK_HEAD], ent[ENTRY_LEN];
	size_t i, k;
	int rc;

	memcpy(head, INDEX_MAGIC, 4);
	tsarc_le32_put(head + 4, (uint32_t)n);
	if ((rc = tsarc_buf_append(out, head, 8)))
		return rc;
	for (i = 0; i < n; i++) {
		memcpy(head, packs[i].name, TSARC_ID_LEN);
		tsarc_le32_put(head + TSARC_ID_LEN, (uint32_t)packs[i].n);
		if ((rc = tsarc_buf_append(out, head, PACK_HEAD)))
			return rc;
		for (k = 0; k < packs[i].n; k++) {
			const tsarc_pack_entry *e = &packs[i].entries[k];
			memcpy(ent, e->id, TSARC_ID_LEN);
			tsarc_le32_put(ent + 32, e->offset);
			tsarc_le32_put(ent + 36, e->length);
			tsarc_le32_put(ent + 40, e->plain);
			if ((rc = tsarc_buf_append(out, ent, ENTRY_LEN)))
				return rc;
		}
	}
	return 0;
}

/* The index the handle loaded lacks an object this process just stored:
 * tsarc_repo_get_index loads it again. */
static void mark_stale(const tsarc_repo *repo)
{
	/* The repository is otherwise read-only here; its index is a cache. */
	tsarc_repo_index *ri = (tsarc_repo_index *)&repo->index;

	pthread_mutex_lock(&ri->lock);
	ri->stale = 1;
	pthread_mutex_unlock(&ri->lock);
}

static int write_one(const tsarc_repo *repo, const tsarc_index_pack *packs, size_t n,
	char ***written, size_t *nwritten)
{
	tsarc_buf plain = TSARC_BUF_INIT, sealed = TSARC_BUF_INIT;
	tsarc_index_cache *cache = NULL;
	uint8_t digest[32];
	char hex[TSARC_ID_HEX_LEN + 1];
	int rc;

	if ((rc = tsarc_index_serialize(packs, n, &plain)))
		goto done;
	if ((rc = tsarc_repo_seal_object(repo, AAD_INDEX, plain.ptr, plain.size, &sealed)) ||
		(rc = tsarc_sha256(sealed.ptr, sealed.size, digest)))
		goto done;
	tsarc_hex_encode(hex, digest, sizeof(digest));
	rc = tsarc_store_put(repo->store, TSARC_OBJ_INDEX, hex, sealed.ptr, sealed.size,
		TSARC_PUT_CREATE_ONLY);
	if (rc == TSARC_EEXISTS) {
		/* Named by its content: the same bytes are already there. */
		tsarc_error_clear();
		rc = 0;
	}
	if (rc) {
		tsarc_error_prefix("writing index %.16s", hex);
		goto done;
	}
	/* The next read through this handle finds what it stored (the
	 * rollback of restore --undo-snapshot reads its undo backup). */
	mark_stale(repo);
	/* What we wrote need never be downloaded. */
	tsarc_index_cache_open(repo, &cache);
	tsarc_index_cache_put(cache, hex, sealed.ptr, sealed.size);
	tsarc_index_cache_free(cache);
	if (written) {
		char **grown = realloc(*written, (*nwritten + 1) * sizeof(char *));
		if (!grown || !(grown[*nwritten] = strdup(hex))) {
			if (grown)
				*written = grown;
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		*written = grown;
		(*nwritten)++;
	}
done:
	tsarc_buf_dispose(&plain);
	tsarc_buf_dispose(&sealed);
	return rc;
}

size_t tsarc_index_entries_per_object = TSARC_INDEX_ENTRIES_PER_OBJECT;

int tsarc_index_hit_plausible(const tsarc_index_hit *h, size_t plain_len)
{
	return h->plain == plain_len && tsarc_repo_chunk_size_plausible(plain_len, h->length);
}

int tsarc_index_write(const tsarc_repo *repo, const tsarc_index_pack *packs, size_t n,
	char ***written, size_t *nwritten)
{
	size_t start = 0, i, entries = 0;
	int rc;

	for (i = 0; i < n; i++) {
		/* An object holds whole packs, at least one. */
		if (i > start && entries + packs[i].n > tsarc_index_entries_per_object) {
			if ((rc = write_one(repo, packs + start, i - start, written, nwritten)))
				return rc;
			start = i;
			entries = 0;
		}
		entries += packs[i].n;
	}
	return i > start ? write_one(repo, packs + start, i - start, written, nwritten) : 0;
}

void tsarc_index_writer_init(tsarc_index_writer *w, const tsarc_repo *repo, char ***written,
	size_t *nwritten)
{
	memset(w, 0, sizeof(*w));
	w->repo = repo;
	w->written = written;
	w->nwritten = nwritten;
}

/* Drops the packs of the object being filled. */
static void writer_clear(tsarc_index_writer *w)
{
	size_t i;

	for (i = 0; i < w->nip; i++)
		free(w->ip[i].entries);
	w->nip = w->entries = 0;
}

int tsarc_index_writer_flush(tsarc_index_writer *w)
{
	int rc = w->nip ? tsarc_index_write(w->repo, w->ip, w->nip, w->written, w->nwritten) : 0;

	writer_clear(w);
	return rc;
}

int tsarc_index_writer_add(tsarc_index_writer *w, const uint8_t name[TSARC_ID_LEN],
	tsarc_pack_entry *entries, size_t n)
{
	int rc;

	if ((w->nip && w->entries + n > tsarc_index_entries_per_object &&
		    (rc = tsarc_index_writer_flush(w))) ||
		(rc = TSARC_RESERVE(w->ip, w->nip, w->cap, 64))) {
		free(entries);
		return rc;
	}
	memcpy(w->ip[w->nip].name, name, TSARC_ID_LEN);
	w->ip[w->nip].entries = entries;
	w->ip[w->nip++].n = n;
	w->entries += n;
	return 0;
}

void tsarc_index_writer_dispose(tsarc_index_writer *w)
{
	writer_clear(w);
	free(w->ip);
	w->ip = NULL;
	w->cap = 0;
}

/* What a purge of old index objects did, with the sizes they had. */
typedef struct removal {
	tsarc_purge_tally t;
	tsarc_chunkset *sizes;
	uint64_t kept_bytes;
} removal;

static int count_removal(const char *name, int64_t kept_until, void *payload)
{
	removal *r = payload;
	uint8_t id[TSARC_ID_LEN];
	uint32_t size = 0;

	if (kept_until && !tsarc_hex_decode(id, sizeof(id), name)) {
		tsarc_chunkset_lookup(r->sizes, id, &size);
		r->kept_bytes += size;
	}
	tsarc_error_clear();
	return tsarc_purge_tally_cb(name, kept_until, &r->t);
}

int tsarc_index_remove_old(const tsarc_repo *repo, const char *const *old, size_t nold,
	const char *const *written, size_t nwritten, tsarc_index_removal *out)
{
	removal r = {{0, 0, 0}, NULL, 0};
	const char **gone = NULL;
	size_t i, k, ngone = 0;
	int rc = 0, keep;

	memset(out, 0, sizeof(*out));
	if (nold && !(gone = malloc(nold * sizeof(*gone))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; i < nold; i++) {
		for (k = 0, keep = 0; k < nwritten && !keep; k++)
			keep = !strcmp(old[i], written[k]);
		if (!keep)
			gone[ngone++] = old[i];
	}
	if (ngone && !(rc = tsarc_chunkset_new(&r.sizes)) &&
		!(rc = tsarc_chunkset_load_type(r.sizes, repo->store, TSARC_OBJ_INDEX)))
		rc = tsarc_store_purge_many(repo->store, TSARC_OBJ_INDEX, gone, ngone,
			count_removal, &r);
	if (rc)
		tsarc_error_prefix("removing old index objects");
	out->removed = r.t.removed + r.t.kept;
	out->kept = r.t.kept;
	out->kept_until = r.t.kept_until;
	out->kept_bytes = r.kept_bytes;
	tsarc_chunkset_free(r.sizes);
	free(gone);
	return rc;
}

static int add_rec(const uint8_t pack[TSARC_ID_LEN], const tsarc_pack_entry *e, void *payload)
{
	tsarc_index *idx = payload;
	tsarc_index_rec *r;

	/* Packs come grouped: a new one only when the name changes. */
	if (!idx->npacks || memcmp(idx->packs[idx->npacks - 1], pack, TSARC_ID_LEN)) {
		if (TSARC_RESERVE(idx->packs, idx->npacks, idx->packs_cap, 64))
			return TSARC_ENOMEM;
		memcpy(idx->packs[idx->npacks++], pack, TSARC_ID_LEN);
	}
	if (TSARC_RESERVE(idx->recs, idx->n, idx->cap, 1024))
		return TSARC_ENOMEM;
	r = &idx->recs[idx->n++];
	memcpy(r->id, e->id, TSARC_ID_LEN);
	r->pack = (uint32_t)(idx->npacks - 1);
	r->offset = e->offset;
	r->length = e->length;
	r->plain = e->plain;
	return 0;
}

/* The sealed bytes of index object `name`, checked against its name: from
 * the cache when it holds them, else from the store (and then cached). */
static int fetch_object(const tsarc_repo *repo, tsarc_index_cache *cache, const char *name,
	tsarc_buf *sealed)
{
	uint8_t digest[32];
	char hex[TSARC_ID_HEX_LEN + 1];
	int rc;

	tsarc_buf_init(sealed, TSARC_INDEX_OBJECT_MAX);
	if (tsarc_index_cache_get(cache, name, sealed))
		return 0;
	rc = tsarc_store_get(repo->store, TSARC_OBJ_INDEX, name, 0, 0, sealed);
	if (rc == TSARC_ETOOLARGE)
		rc = tsarc_error_set(TSARC_ECORRUPT, "index %.16s is larger than any index "
			"object can be", name);
	if (rc || (rc = tsarc_sha256(sealed->ptr, sealed->size, digest)))
		return rc;
	tsarc_hex_encode(hex, digest, sizeof(digest));
	if (strcmp(hex, name) != 0)
		return tsarc_error_set(TSARC_ECORRUPT, "index %.16s is damaged (its content "
			"does not match its name)", name);
	tsarc_index_cache_put(cache, name, sealed->ptr, sealed->size);
	return 0;
}

static int no_entry(const uint8_t pack[TSARC_ID_LEN], const tsarc_pack_entry *e, void *payload)
{
	(void)pack;
	(void)e;
	(void)payload;
	return 0;
}

int tsarc_index_open_object(const tsarc_repo *repo, tsarc_index_cache *cache,
	const char *name, tsarc_index_entry_fn fn, void *payload)
{
	tsarc_buf sealed = TSARC_BUF_INIT, plain = TSARC_BUF_INIT;
	int rc;

	if ((rc = fetch_object(repo, cache, name, &sealed)))
		goto done;
	/* Checked whole first: fn never sees part of a damaged object. */
	if ((rc = tsarc_repo_open_object(repo, AAD_INDEX, sealed.ptr, sealed.size, &plain)) ||
		(rc = tsarc_index_parse(plain.ptr, plain.size, no_entry, NULL)) ||
		(rc = tsarc_index_parse(plain.ptr, plain.size, fn, payload)))
		tsarc_error_prefix("index %.16s", name);
done:
	tsarc_buf_dispose(&sealed);
	tsarc_buf_dispose(&plain);
	return rc;
}

static int load_object(const tsarc_repo *repo, tsarc_index *idx, const char *name)
{
	size_t n0 = idx->n, p0 = idx->npacks;
	int rc = tsarc_index_open_object(repo, NULL, name, add_rec, idx);

	if (rc) {
		/* Nothing of a damaged object stays. */
		idx->n = n0;
		idx->npacks = p0;
	}
	return rc;
}

static int cmp_name(const void *a, const void *b)
{
	return memcmp(a, b, TSARC_ID_LEN);
}

static int cmp_rec(const void *a, const void *b)
{
	const tsarc_index_rec *x = a, *y = b;
	int c = memcmp(x->id, y->id, TSARC_ID_LEN);

	return c ? c : x->pack < y->pack ? -1 : x->pack > y->pack;
}

/* Pack names sorted and unique; records renumbered and sorted by id. */
static int finish_load(tsarc_index *idx)
{
	uint8_t (*raw)[TSARC_ID_LEN] = idx->packs;
	size_t nraw = idx->npacks, i, u = 0;
	uint32_t *map;

	if (!nraw)
		return 0;
	if (!(map = malloc(nraw * sizeof(*map))) ||
		!(idx->packs = malloc(nraw * TSARC_ID_LEN))) {
		free(map);
		idx->packs = raw;
		return tsarc_error_set(TSARC_ENOMEM, "out of memory (index)");
	}
	memcpy(idx->packs, raw, nraw * TSARC_ID_LEN);
	qsort(idx->packs, nraw, TSARC_ID_LEN, cmp_name);
	for (i = 0; i < nraw; i++)
		if (!u || memcmp(idx->packs[u - 1], idx->packs[i], TSARC_ID_LEN))
			memcpy(idx->packs[u++], idx->packs[i], TSARC_ID_LEN);
	idx->npacks = u;
	for (i = 0; i < nraw; i++) {
		uint8_t (*hit)[TSARC_ID_LEN] = bsearch(raw[i], idx->packs, u, TSARC_ID_LEN, cmp_name);
		map[i] = (uint32_t)(hit - idx->packs);
	}
	for (i = 0; i < idx->n; i++)
		idx->recs[i].pack = map[idx->recs[i].pack];
	free(map);
	free(raw);
	qsort(idx->recs, idx->n, sizeof(*idx->recs), cmp_rec);
	return 0;
}

typedef struct stamped {
	char **names, **stamps;
	size_t n, cap;
} stamped;

static int add_stamped(const char *name, uint64_t size, const char *tag, void *payload)
{
	stamped *s = payload;
	char **grown;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		if (!(grown = realloc(s->names, cap * sizeof(*grown))))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		s->names = grown;
		if (!(grown = realloc(s->stamps, cap * sizeof(*grown))))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		s->stamps = grown;
		s->cap = cap;
	}
	s->stamps[s->n] = NULL;
	if (!(s->names[s->n] = strdup(name)) ||
		(tag && !(s->stamps[s->n] = tsarc_dup_printf("%llu:%s", (unsigned long long)size,
				  tag)))) {
		free(s->names[s->n]);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	s->n++;
	return 0;
}

int tsarc_index_list_objects(const tsarc_repo *repo, tsarc_index_cache *cache, char ***names,
	size_t *n)
{
	stamped s = {NULL, NULL, 0, 0};
	size_t i;
	int rc;

	if (!cache)
		return tsarc_store_list_names(repo->store, TSARC_OBJ_INDEX, names, n);
	/* The cache vouches for an entry only while the store lists its
	 * object as it was when the entry was found to be its copy. */
	rc = tsarc_store_list_tagged(repo->store, TSARC_OBJ_INDEX, add_stamped, &s);
	if (!rc)
		tsarc_index_cache_retain(cache, s.names, s.stamps, s.n);
	for (i = 0; i < s.n; i++)
		free(s.stamps[i]);
	free(s.stamps);
	if (rc) {
		tsarc_store_names_free(s.names, s.n);
		return rc;
	}
	*names = s.names;
	*n = s.n;
	return 0;
}

int tsarc_index_verify_object(const tsarc_repo *repo, tsarc_index_cache *cache,
	const char *name)
{
	tsarc_buf sealed = TSARC_BUF_INIT;
	int rc;

	if (tsarc_index_cache_vouches(cache, name))
		return 0;
	rc = fetch_object(repo, cache, name, &sealed);
	tsarc_buf_dispose(&sealed);
	return rc;
}

int tsarc_index_load(const tsarc_repo *repo, tsarc_index **out,
	tsarc_index_damage_fn on_damage, void *payload)
{
	tsarc_index *idx;
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	*out = NULL;
	if (!(idx = calloc(1, sizeof(*idx))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if ((rc = tsarc_index_list_objects(repo, NULL, &names, &n)))
		goto fail;
	idx->objects = names;
	idx->nobjects = n;
	for (i = 0; i < n; i++) {
		rc = load_object(repo, idx, names[i]);
		if (rc == TSARC_ENOTFOUND) {
			/* Replaced by a prune or repair since the listing. */
			tsarc_error_clear();
			continue;
		}
		if (rc == TSARC_ECORRUPT && on_damage) {
			on_damage(names[i], rc, tsarc_error_last()->message, payload);
			tsarc_error_clear();
			continue;
		}
		if (rc)
			goto fail;
	}
	if ((rc = finish_load(idx)))
		goto fail;
	*out = idx;
	return 0;
fail:
	tsarc_index_free(idx);
	return rc;
}

void tsarc_index_free(tsarc_index *idx)
{
	tsarc_index *older;

	for (; idx; idx = older) {
		older = idx->older;
		free(idx->recs);
		free(idx->packs);
		tsarc_store_names_free(idx->objects, idx->nobjects);
		tsarc_index_table_free(idx->table);
		free(idx);
	}
}

int tsarc_index_open_table(const tsarc_repo *repo, tsarc_index **out)
{
	tsarc_index *idx;
	int rc;

	*out = NULL;
	if (!(idx = calloc(1, sizeof(*idx))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if ((rc = tsarc_index_table_open(repo, &idx->table))) {
		free(idx);
		return rc;
	}
	*out = idx;
	return 0;
}

size_t tsarc_index_find_records(const tsarc_index *idx, const uint8_t id[TSARC_ID_LEN],
	const tsarc_index_rec **first)
{
	size_t lo = 0, hi = idx->n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(idx->recs[mid].id, id, TSARC_ID_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < idx->n && !memcmp(idx->recs[end].id, id, TSARC_ID_LEN); end++)
		;
	*first = lo < idx->n ? &idx->recs[lo] : NULL;
	return end - lo;
}

int tsarc_index_find(const tsarc_index *idx, const uint8_t id[TSARC_ID_LEN],
	tsarc_index_hit *out, size_t max, size_t *n)
{
	const tsarc_index_rec *r;
	size_t i;

	if (idx->table)
		return tsarc_index_table_find(idx->table, id, out, max, n);
	*n = tsarc_index_find_records(idx, id, &r);
	for (i = 0; i < *n && i < max; i++) {
		memcpy(out[i].pack, idx->packs[r[i].pack], TSARC_ID_LEN);
		out[i].offset = r[i].offset;
		out[i].length = r[i].length;
		out[i].plain = r[i].plain;
	}
	return 0;
}

int tsarc_index_find_sorted(const tsarc_index *idx, const uint8_t *const *ids, size_t n,
	tsarc_index_hit *out, uint8_t *found)
{
	size_t k, m;
	int rc;

	if (idx->table)
		return tsarc_index_table_find_sorted(idx->table, ids, n, out, found);
	for (k = 0; k < n; k++) {
		if ((rc = tsarc_index_find(idx, ids[k], &out[k], 1, &m)))
			return rc;
		found[k] = m > 0;
	}
	return 0;
}

size_t tsarc_index_count(const tsarc_index *idx)
{
	return idx->table ? (size_t)tsarc_index_table_count(idx->table) : idx->n;
}

const tsarc_index_rec *tsarc_index_records(const tsarc_index *idx)
{
	return idx->recs;
}

size_t tsarc_index_npacks(const tsarc_index *idx)
{
	return idx->npacks;
}

const uint8_t *tsarc_index_pack_name(const tsarc_index *idx, uint32_t pack)
{
	return idx->packs[pack];
}

long tsarc_index_pack_number(const tsarc_index *idx, const uint8_t name[TSARC_ID_LEN])
{
	uint8_t (*hit)[TSARC_ID_LEN];

	if (!idx->npacks)
		return -1;
	hit = bsearch(name, idx->packs, idx->npacks, TSARC_ID_LEN, cmp_name);
	return hit ? (long)(hit - idx->packs) : -1;
}

char **tsarc_index_object_names(const tsarc_index *idx, size_t *count)
{
	*count = idx->nobjects;
	return idx->objects;
}

int tsarc_index_list_packs(const tsarc_repo *repo, size_t expect, tsarc_chunkset **out)
{
	int rc;

	if ((rc = tsarc_chunkset_new(out)))
		return rc;
	/* A few more than the index names: packs no index names yet. */
	if ((expect && (rc = tsarc_chunkset_reserve(*out, expect + expect / 16))) ||
		(rc = tsarc_chunkset_load(*out, repo->store))) {
		tsarc_chunkset_free(*out);
		*out = NULL;
	}
	return rc;
}

void tsarc_index_warn_damage(const char *name, int code, const char *msg, void *payload)
{
	(void)code;
	(void)payload;
	tsarc__log(TSARC_LOG_WARN, "index", "index_damaged", "index %.16s is left out "
		"(run 'tsarc check', then 'tsarc repair index'): %s", name, msg);
}

struct tsarc_index_known {
	tsarc_index *idx;
	tsarc_chunkset *packs; /* listed, with their sizes */
};

int tsarc_index_known_open(const tsarc_repo *repo, tsarc_index_known **out)
{
	tsarc_index_known *k;
	int rc;

	*out = NULL;
	if (!(k = calloc(1, sizeof(*k))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if ((rc = tsarc_index_open_table(repo, &k->idx)) ||
		(rc = tsarc_index_list_packs(repo, 0, &k->packs))) {
		tsarc_index_known_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

void tsarc_index_known_free(tsarc_index_known *k)
{
	if (!k)
		return;
	tsarc_index_free(k->idx);
	tsarc_chunkset_free(k->packs);
	free(k);
}

int tsarc_index_known_find(tsarc_index_known *k, const uint8_t id[TSARC_ID_LEN],
	size_t plain_len, uint32_t *stored, int *found)
{
	tsarc_index_hit r[TSARC_INDEX_FIND_MAX];
	char hex[TSARC_ID_HEX_LEN + 1];
	uint64_t lo, hi;
	uint32_t size;
	size_t n, i, bad = 0;
	int rc;

	*found = 0;
	if ((rc = tsarc_index_find(k->idx, id, r, TSARC_INDEX_FIND_MAX, &n)))
		return rc;
	for (i = 0; i < n && i < TSARC_INDEX_FIND_MAX; i++) {
		if (!tsarc_chunkset_lookup(k->packs, r[i].pack, &size) ||
			(uint64_t)r[i].offset + r[i].length + 4 > size)
			continue;
		/* Dedup trusts only a copy a restore will read (its sizes
		 * this chunk's): else the snapshot would name a chunk no
		 * dump can read. */
		if (!tsarc_index_hit_plausible(&r[i], plain_len)) {
			bad = i + 1;
			continue;
		}
		*stored = r[i].length;
		*found = 1;
		return 0;
	}
	if (bad) {
		tsarc_repo_chunk_size_bounds(plain_len, &lo, &hi);
		tsarc_hex_encode(hex, id, TSARC_ID_LEN);
		tsarc__log(TSARC_LOG_WARN, "backup", "chunk_stored_again",
			"chunk %.16s in the repository is damaged (%lu bytes; this chunk takes "
			"%llu to %llu; the index says %lu bytes plain, it has %zu): storing it "
			"again",
			hex, (unsigned long)r[bad - 1].length, (unsigned long long)lo,
			(unsigned long long)hi, (unsigned long)r[bad - 1].plain, plain_len);
	}
	return 0;
}

struct tsarc_index *tsarc_repo_get_index(const tsarc_repo *repo, int *rc)
{
	/* The repository is otherwise read-only here; its index is a cache. */
	tsarc_repo_index *ri = (tsarc_repo_index *)&repo->index;
	struct tsarc_index *idx;

	*rc = 0;
	pthread_mutex_lock(&ri->lock);
	if (!ri->idx || ri->stale) {
		/* A failure leaves the one loaded before in place: the caller
		 * has the error, the next call tries again. */
		if (!(*rc = tsarc_index_open_table(repo, &idx))) {
			idx->older = ri->idx;
			ri->idx = idx;
			ri->stale = 0;
		}
	}
	idx = *rc ? NULL : ri->idx;
	pthread_mutex_unlock(&ri->lock);
	return idx;
}

void tsarc_repo_drop_index(tsarc_repo *repo)
{
	pthread_mutex_lock(&repo->index.lock);
	tsarc_index_free(repo->index.idx);
	repo->index.idx = NULL;
	repo->index.stale = 0;
	pthread_mutex_unlock(&repo->index.lock);
}
