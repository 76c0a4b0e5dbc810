#include "index_table_file.h"
#include "fileio.h"
#include "grow.h"
#include "index_cache.h"
#include "log.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Blocks kept after a lookup, by block number modulo this (1 MiB at most):
 * the lookups of a backup come in no order, but a repository of up to 64
 * blocks (14 000 chunks, 1 GiB of 64 KiB chunks) is then read and
 * decrypted once instead of at every lookup; a larger one is helped in
 * proportion. */
#define KEPT_BLOCKS 64

struct tsarc_index_table {
	const tsarc_repo *repo;
	itab_file f;
	pthread_mutex_t kept_lock;
	uint8_t *kept; /* KEPT_BLOCKS blocks, allocated at the first lookup */
	uint32_t kept_no[KEPT_BLOCKS]; /* block number + 1, 0: empty */
	_Atomic uint64_t blocks_read;
	uint8_t (*fence)[TSARC_ID_LEN]; /* the first id of each block */
	uint8_t (*objects)[TSARC_ID_LEN]; /* sorted */
	tsarc_index_cache *cache;
	int named; /* the cache's index.table */
	int tmpfd; /* without the cache: $TMPDIR, for unnamed files */
	const char *tmpdir;
	tsarc_index_damage_fn on_damage; /* NULL: a damaged object is an error */
	void *damage_payload;
};

/* --- building --- */

typedef struct builder {
	const tsarc_repo *repo;
	itab_runs runs; /* in[0]: the old table when kept, then the runs */
	uint8_t (*objects)[TSARC_ID_LEN];
	size_t nobjects, objects_cap;
} builder;

static int add_entry(const uint8_t pack[TSARC_ID_LEN], const tsarc_pack_entry *e, void *payload)
{
	builder *b = payload;
	uint8_t r[REC_LEN];

	memcpy(r, e->id, TSARC_ID_LEN);
	memcpy(r + TSARC_ID_LEN, pack, TSARC_ID_LEN);
	tsarc_le32_put(r + 64, e->offset);
	tsarc_le32_put(r + 68, e->length);
	tsarc_le32_put(r + 72, e->plain);
	return itab_runs_add(&b->runs, r);
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, TSARC_ID_LEN);
}

/* Adds index object `hex` (a damaged one is left out with a warning:
 * tsarc_index_open_object checks it whole before passing any entry on). */
static int add_object(builder *b, const tsarc_index_table *t, const char *hex,
	const uint8_t bin[TSARC_ID_LEN])
{
	int rc = tsarc_index_open_object(b->repo, t->cache, hex, add_entry, b);

	if (rc) {
		if (rc == TSARC_ECORRUPT && !t->on_damage)
			return rc;
		if (rc == TSARC_ECORRUPT)
			t->on_damage(hex, rc, tsarc_error_last()->message, t->damage_payload);
		if (rc == TSARC_ECORRUPT || rc == TSARC_ENOTFOUND) {
			tsarc_error_clear();
			return 0;
		}
		return rc;
	}
	if ((rc = TSARC_RESERVE(b->objects, b->nobjects, b->objects_cap, 64)))
		return rc;
	memcpy(b->objects[b->nobjects++], bin, TSARC_ID_LEN);
	return 0;
}

/* Reads the tail of the old table: the objects it already holds. 1 when
 * it can be kept: every one is still listed, and the store's copy whole
 * (the cache vouches for it, or it is read and checked now). A damaged
 * one is not kept: the build after reads it again, and reports it as any
 * damaged object is. */
static int read_old(builder *b, const tsarc_index_table *t, itab_file *f,
	char *const *names, const uint8_t (*listed)[TSARC_ID_LEN], size_t nl)
{
	const uint8_t (*at)[TSARC_ID_LEN];
	size_t len = (size_t)f->nobjects * TSARC_ID_LEN, i;
	uint8_t *sealed = malloc(len + TSARC_AEAD_OVERHEAD), *plain = malloc(len + 1);
	int rc;

	if (!sealed || !plain) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory (index table)");
		goto done;
	}
	if ((rc = itab_open_part(b->repo, f, 'T', 0, itab_tail_off(f), len, sealed, plain)))
		goto done;
	for (i = 0; i < f->nobjects; i++) {
		const uint8_t *o = plain + i * TSARC_ID_LEN;
		if (i && memcmp(o - TSARC_ID_LEN, o, TSARC_ID_LEN) >= 0) {
			rc = tsarc_error_set(TSARC_ECORRUPT, "index table: objects not sorted");
			goto done;
		}
		if (!(at = bsearch(o, listed, nl, TSARC_ID_LEN, cmp_id)))
			goto done; /* replaced by a prune or a repair: rc 0 */
		if ((rc = tsarc_index_verify_object(b->repo, t->cache, names[at - listed]))) {
			if (rc != TSARC_ECORRUPT && rc != TSARC_ENOTFOUND)
				goto done;
			tsarc_error_clear();
			rc = 0;
			goto done;
		}
	}
	if (!(b->objects = malloc(((size_t)f->nobjects + 1) * TSARC_ID_LEN))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory (index table)");
		goto done;
	}
	b->objects_cap = (size_t)f->nobjects + 1;
	memcpy(b->objects, plain, len);
	b->nobjects = f->nobjects;
	rc = 1;
done:
	free(sealed);
	free(plain);
	return rc;
}

/* The old table kept as it is: every block is read once (it must
 * authenticate and be sorted) for the fence. */
static int verify(tsarc_index_table *t)
{
	uint8_t *sealed = malloc(BLOCK_SEALED), *plain = malloc(BLOCK_PLAIN), last[REC_LEN];
	uint32_t bl;
	size_t i, n;
	int rc = 0;

	if (!sealed || !plain || !(t->fence = malloc(((size_t)t->f.nblocks + 1) * TSARC_ID_LEN))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory (index table)");
		goto done;
	}
	for (bl = 0; bl < t->f.nblocks; bl++) {
		if ((rc = itab_read_block(t->repo, &t->f, bl, sealed, plain)))
			goto done;
		n = itab_block_recs(&t->f, bl);
		for (i = 0; i < n; i++) {
			const uint8_t *r = plain + i * REC_LEN;
			if ((bl || i) && itab_rec_cmp(last, r) > 0) {
				rc = tsarc_error_set(TSARC_ECORRUPT, "index table is not sorted");
				goto done;
			}
			memcpy(last, r, REC_LEN);
		}
		memcpy(t->fence[bl], plain, TSARC_ID_LEN);
	}
done:
	free(sealed);
	free(plain);
	return rc;
}

static void builder_dispose(builder *b)
{
	itab_runs_dispose(&b->runs);
	free(b->objects);
}

/* Writes the merged table; with the cache, under its name there. */
static int write_table(tsarc_index_table *t, builder *b)
{
	itab_writer *w = malloc(sizeof(*w));
	tsarc_tmpfile tf;
	int rc, wfd = -1, rfd = -1;

	if (!w)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory (index table)");
	if (b->nobjects)
		qsort(b->objects, b->nobjects, TSARC_ID_LEN, cmp_id);
	if ((rc = itab_scratch_file(b->runs.dirfd, b->runs.where, &tf, !t->cache, &wfd, &rfd)))
		goto done;
	if (!(rc = itab_writer_begin(w, t->repo, wfd, 1)) &&
		!(rc = itab_merge(t->repo, b->runs.in, b->runs.nin, w)))
		rc = itab_writer_end(w, (const uint8_t(*)[TSARC_ID_LEN])b->objects,
			(uint32_t)b->nobjects);
	if (!t->cache)
		close(wfd);
	else if (rc)
		tsarc_tmpfile_discard(&tf);
	else if ((rc = tsarc_tmpfile_commit(&tf, TABLE_NAME, 0)) == 0)
		t->named = 1;
	if (rc) {
		close(rfd);
		free(w->fence);
		goto done;
	}
	t->f = w->f;
	t->f.fd = rfd;
	t->fence = w->fence;
	t->objects = b->objects;
	b->objects = NULL;
done:
	free(w);
	return rc;
}

static void drop_named(tsarc_index_table *t, const char *why)
{
	tsarc__log(TSARC_LOG_WARN, "index", "index_cache_damaged", "index cache: the index "
		"table is not used (%s): building it again", why);
	(void)unlinkat(tsarc_index_cache_dirfd(t->cache), TABLE_NAME, 0);
}

/* One attempt; with use_old, from the cached table when it can be kept.
 * TSARC_ECORRUPT from the old table makes the caller try without it. */
static int build(tsarc_index_table *t, char *const *names, const uint8_t (*listed)[TSARC_ID_LEN],
	size_t nl, int use_old, int *old_bad)
{
	builder b;
	itab_cursor *old = NULL;
	size_t i, nold;
	int rc = 0, fd = -1, kept = 0;

	memset(&b, 0, sizeof(b));
	b.repo = t->repo;
	b.runs.repo = t->repo;
	b.runs.dirfd = t->cache ? tsarc_index_cache_dirfd(t->cache) : t->tmpfd;
	b.runs.where = t->cache ? tsarc_index_cache_dir(t->cache) : t->tmpdir;
	*old_bad = 0;
	if (use_old && t->cache &&
		(fd = openat(b.runs.dirfd, TABLE_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		if ((rc = itab_runs_input(&b.runs, &old)))
			goto done;
		old->f.fd = fd;
		if ((rc = itab_read_head(t->repo, fd, &old->f)) ||
			(rc = read_old(&b, t, &old->f, names, listed, nl)) < 0) {
			*old_bad = rc == TSARC_ECORRUPT;
			goto done;
		}
		kept = rc;
		rc = 0;
		if (!kept) {
			close(fd);
			old->f.fd = -1;
			b.runs.nin = 0;
			free(old->plain);
		}
	}
	nold = b.nobjects; /* sorted; those added after are not */
	for (i = 0; i < nl; i++)
		if (!kept || !bsearch(listed[i], b.objects, nold, TSARC_ID_LEN, cmp_id))
			if ((rc = add_object(&b, t, names[i], listed[i])))
				goto done;
	if ((rc = itab_runs_flush(&b.runs)))
		goto done;
	if (kept && b.runs.nin == 1) {
		/* Nothing new: the cached table as it is (runs may have moved
		 * b.in: no pointer into it is kept). */
		t->f = b.runs.in[0].f;
		b.runs.in[0].f.fd = -1;
		t->objects = b.objects;
		b.objects = NULL;
		if ((rc = verify(t)) == TSARC_ECORRUPT)
			*old_bad = 1;
		goto done;
	}
	rc = write_table(t, &b);
	if (rc == TSARC_ECORRUPT && kept)
		*old_bad = 1;
done:
	builder_dispose(&b);
	return rc;
}

static void reset(tsarc_index_table *t)
{
	if (t->f.fd >= 0)
		close(t->f.fd);
	free(t->fence);
	free(t->objects);
	free(t->kept);
	t->kept = NULL;
	memset(t->kept_no, 0, sizeof(t->kept_no));
	t->fence = t->objects = NULL;
	memset(&t->f, 0, sizeof(t->f));
	t->f.fd = -1;
	t->named = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The listing's names sorted, and in binary (lower-case hex sorts as its
 * bytes do); a name that is not an id is no index object of ours. */
static int decode_names(char **names, size_t n, uint8_t (**out)[TSARC_ID_LEN], char ***order,
	size_t *nout)
{
	size_t i, k = 0;

	*out = malloc((n ? n : 1) * TSARC_ID_LEN);
	*order = malloc((n ? n : 1) * sizeof(char *));
	if (!*out || !*order)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory (index table)");
	if (n)
		memcpy(*order, names, n * sizeof(char *));
	qsort(*order, n, sizeof(char *), cmp_str);
	for (i = 0; i < n; i++) {
		char *name = (*order)[i];
		if (strlen(name) != TSARC_ID_HEX_LEN || (k && !strcmp(name, (*order)[k - 1])) ||
			tsarc_hex_decode((*out)[k], TSARC_ID_LEN, name)) {
			tsarc_error_clear();
			continue;
		}
		(*order)[k++] = name;
	}
	*nout = k;
	return 0;
}

int tsarc_index_table_open(const tsarc_repo *repo, tsarc_index_table **out)
{
	return tsarc_index_table_open_checked(repo, tsarc_index_warn_damage, NULL, out);
}

int tsarc_index_table_open_checked(const tsarc_repo *repo, tsarc_index_damage_fn on_damage,
	void *payload, tsarc_index_table **out)
{
	tsarc_index_table *t;
	uint8_t (*listed)[TSARC_ID_LEN] = NULL;
	char **names = NULL, **order = NULL;
	size_t n = 0, nl = 0;
	int rc, old_bad;

	*out = NULL;
	if (!(t = calloc(1, sizeof(*t))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	t->repo = repo;
	t->on_damage = on_damage;
	t->damage_payload = payload;
	t->f.fd = t->tmpfd = -1;
	pthread_mutex_init(&t->kept_lock, NULL);
	tsarc_index_cache_open(repo, &t->cache);
	if (!t->cache && (t->tmpfd = itab_tmpdir_open(&t->tmpdir)) < 0) {
		rc = t->tmpfd;
		goto done;
	}
	if ((rc = tsarc_index_list_objects(repo, t->cache, &names, &n)) ||
		(rc = decode_names(names, n, &listed, &order, &nl)))
		goto done;
	if (!on_damage && nl != n) {
		rc = tsarc_error_set(TSARC_ECORRUPT, "index/ holds %zu objects whose names are "
			"not index names", n - nl);
		goto done;
	}
	rc = build(t, order, (const uint8_t(*)[TSARC_ID_LEN])listed, nl, 1, &old_bad);
	if (rc && old_bad) {
		drop_named(t, tsarc_error_last()->message);
		tsarc_error_clear();
		reset(t);
		rc = build(t, order, (const uint8_t(*)[TSARC_ID_LEN])listed, nl, 0, &old_bad);
	}
done:
	free(listed);
	free(order);
	tsarc_store_names_free(names, n);
	/* The build's buffers (runs, merge, objects: 10 MiB and more) were
	 * freed under the fence that stays: give their pages back now, or the
	 * backup's own buffers come on top of them (measured: 4 MiB more
	 * peak RSS at 10 million chunks). */
	malloc_trim(0);
	if (rc) {
		tsarc_index_table_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void tsarc_index_table_free(tsarc_index_table *t)
{
	if (!t)
		return;
	reset(t);
	pthread_mutex_destroy(&t->kept_lock);
	if (t->tmpfd >= 0)
		close(t->tmpfd);
	tsarc_index_cache_free(t->cache);
	free(t);
}

/* The block where the records of `id` begin, or just before: the first
 * block starting at or after id may hold them only from its start, the
 * one before may end with them. */
static size_t first_block(const tsarc_index_table *t, const uint8_t id[TSARC_ID_LEN])
{
	size_t lo = 0, hi = t->f.nblocks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(t->fence[mid], id, TSARC_ID_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

/* Reads and authenticates block b; a cached table that fails is removed
 * (the next run builds it again). */
static int read_block(tsarc_index_table *t, size_t b, uint8_t *sealed, uint8_t *plain)
{
	int rc = itab_read_block(t->repo, &t->f, (uint32_t)b, sealed, plain);

	atomic_fetch_add(&t->blocks_read, 1);

	if (rc == TSARC_ECORRUPT && t->named) {
		(void)unlinkat(tsarc_index_cache_dirfd(t->cache), TABLE_NAME, 0);
		tsarc_error_prefix("the index cache changed under us (removed: run again)");
	}
	return rc;
}

/* The first of a block's nr records whose id is not below `id`. */
static size_t lower_bound(const uint8_t *plain, size_t nr, const uint8_t id[TSARC_ID_LEN])
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(plain + mid * REC_LEN, id, TSARC_ID_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void hit_of(tsarc_index_hit *h, const uint8_t *r)
{
	memcpy(h->pack, r + TSARC_ID_LEN, TSARC_ID_LEN);
	h->offset = tsarc_le32_get(r + 64);
	h->length = tsarc_le32_get(r + 68);
	h->plain = tsarc_le32_get(r + 72);
}

static int block_buffers(uint8_t **sealed, uint8_t **plain)
{
	*plain = NULL;
	if (!(*sealed = malloc(BLOCK_SEALED)) || !(*plain = malloc(BLOCK_PLAIN))) {
		free(*sealed);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory (index lookup)");
	}
	return 0;
}

/* The records of `id` in a block of nr records, counted on from *n; where
 * the scan stopped (nr: they may go on in the next block). */
static size_t scan_block(const uint8_t *plain, size_t nr, const uint8_t id[TSARC_ID_LEN],
	tsarc_index_hit *out, size_t max, size_t *n)
{
	size_t i;

	for (i = lower_bound(plain, nr, id);
		i < nr && !memcmp(plain + i * REC_LEN, id, TSARC_ID_LEN); i++) {
		if (*n < max)
			hit_of(&out[*n], plain + i * REC_LEN);
		(*n)++;
	}
	return i;
}

/* scan_block on the kept copy of block b; SIZE_MAX when none is kept. */
static size_t scan_kept(tsarc_index_table *t, size_t b, size_t nr,
	const uint8_t id[TSARC_ID_LEN], tsarc_index_hit *out, size_t max, size_t *n)
{
	size_t slot = b % KEPT_BLOCKS, i = SIZE_MAX;

	pthread_mutex_lock(&t->kept_lock);
	if (t->kept && t->kept_no[slot] == b + 1)
		i = scan_block(t->kept + slot * BLOCK_PLAIN, nr, id, out, max, n);
	pthread_mutex_unlock(&t->kept_lock);
	return i;
}

/* Keeps a copy of block b, read and authenticated. */
static void keep(tsarc_index_table *t, size_t b, const uint8_t *plain)
{
	size_t slot = b % KEPT_BLOCKS;

	pthread_mutex_lock(&t->kept_lock);
	if (!t->kept)
		t->kept = malloc((size_t)KEPT_BLOCKS * BLOCK_PLAIN);
	if (t->kept) {
		memcpy(t->kept + slot * BLOCK_PLAIN, plain, BLOCK_PLAIN);
		t->kept_no[slot] = (uint32_t)b + 1;
	}
	pthread_mutex_unlock(&t->kept_lock);
}

int tsarc_index_table_find(tsarc_index_table *t, const uint8_t id[TSARC_ID_LEN],
	tsarc_index_hit *out, size_t max, size_t *n)
{
	uint8_t *sealed = NULL, *plain = NULL;
	size_t start, b, i;
	int rc = 0;

	*n = 0;
	if (!t->f.nblocks)
		return 0;
	start = first_block(t, id);
	for (b = start; b < t->f.nblocks; b++) {
		size_t nr = itab_block_recs(&t->f, (uint32_t)b);
		if (b > start && memcmp(t->fence[b], id, TSARC_ID_LEN) != 0)
			break;
		if ((i = scan_kept(t, b, nr, id, out, max, n)) == SIZE_MAX) {
			if (!plain && (rc = block_buffers(&sealed, &plain)))
				break;
			if ((rc = read_block(t, b, sealed, plain)))
				break;
			keep(t, b, plain);
			i = scan_block(plain, nr, id, out, max, n);
		}
		if (i < nr)
			break;
	}
	free(sealed);
	free(plain);
	return rc;
}

int tsarc_index_table_find_sorted(tsarc_index_table *t, const uint8_t *const *ids, size_t n,
	tsarc_index_hit *out, uint8_t *found)
{
	return tsarc_index_table_find_sorted_at(t, ids, n, out, found, NULL);
}

int tsarc_index_table_find_sorted_at(tsarc_index_table *t, const uint8_t *const *ids, size_t n,
	tsarc_index_hit *out, uint8_t *found, uint64_t *ordinal)
{
	uint8_t *sealed, *plain;
	size_t have = SIZE_MAX, k, b, i;
	int rc;

	memset(found, 0, n);
	if (!t->f.nblocks || !n)
		return 0;
	if ((rc = block_buffers(&sealed, &plain)))
		return rc;
	for (k = 0; k < n && !rc; k++) {
		size_t start = first_block(t, ids[k]);
		/* At most two blocks: the id's first record is in the first, or
		 * starts the next. */
		for (b = start; b < t->f.nblocks && b <= start + 1; b++) {
			size_t nr = itab_block_recs(&t->f, (uint32_t)b);
			if (b > start && memcmp(t->fence[b], ids[k], TSARC_ID_LEN) != 0)
				break;
			if (b != have) {
				if ((rc = read_block(t, b, sealed, plain)))
					break;
				have = b;
			}
			i = lower_bound(plain, nr, ids[k]);
			if (i == nr)
				continue;
			if (!memcmp(plain + i * REC_LEN, ids[k], TSARC_ID_LEN)) {
				hit_of(&out[k], plain + i * REC_LEN);
				found[k] = 1;
				if (ordinal)
					ordinal[k] = (uint64_t)b * BLOCK_RECS + i;
			}
			break;
		}
	}
	free(sealed);
	free(plain);
	return rc;
}

uint64_t tsarc_index_table_count(const tsarc_index_table *t)
{
	return t->f.nrecs;
}

size_t tsarc_index_table_memory(const tsarc_index_table *t)
{
	return sizeof(*t) + ((size_t)t->f.nblocks + t->f.nobjects) * TSARC_ID_LEN;
}

uint64_t tsarc_index_table_blocks_read(tsarc_index_table *t)
{
	return atomic_load(&t->blocks_read);
}

const uint8_t *tsarc_index_table_objects(const tsarc_index_table *t, size_t *n)
{
	*n = t->f.nobjects;
	return (const uint8_t *)t->objects;
}

/* Calls fn for the group of records of one id, with its first record's
 * ordinal (what tsarc_index_table_find_sorted_at gives). */
static int scan_group(tsarc_index_table_group_fn fn, void *payload,
	const tsarc_index_table_rec *g, size_t n, uint64_t ordinal)
{
	return n ? fn(g, n, ordinal, payload) : 0;
}

int tsarc_index_table_scan(tsarc_index_table *t, tsarc_index_table_group_fn fn, void *payload)
{
	itab_cursor c;
	itab_merger m;
	tsarc_index_table_rec *g = NULL;
	const uint8_t *rec;
	size_t n = 0, cap = 0;
	uint64_t at = 0, first = 0;
	int rc;

	memset(&c, 0, sizeof(c));
	c.f = t->f;
	if (!(c.plain = malloc(BLOCK_PLAIN)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory (index table)");
	if (!(rc = itab_merger_begin(&m, t->repo, &c, 1))) {
		while ((rc = itab_merger_next(&m, &rec)) > 0) {
			if (n && memcmp(g[0].id, rec, TSARC_ID_LEN)) {
				if ((rc = scan_group(fn, payload, g, n, first)))
					break;
				n = 0;
			}
			if ((rc = TSARC_RESERVE(g, n, cap, 8)))
				break;
			if (!n)
				first = at;
			memcpy(g[n].id, rec, TSARC_ID_LEN);
			hit_of(&g[n++].at, rec);
			at++;
		}
		if (!rc)
			rc = scan_group(fn, payload, g, n, first);
	}
	if (!rc && at != t->f.nrecs)
		rc = tsarc_error_set(TSARC_ECORRUPT, "index table: %llu records read, its "
			"header says %llu", (unsigned long long)at, (unsigned long long)t->f.nrecs);
	if (rc == TSARC_ECORRUPT && t->named) {
		(void)unlinkat(tsarc_index_cache_dirfd(t->cache), TABLE_NAME, 0);
		tsarc_error_prefix("the index cache changed under us (removed: run again)");
	}
	itab_merger_end(&m);
	free(g);
	free(c.plain);
	return rc;
}

/* The pack names gathered so far: the first nsorted sorted and unique,
 * the new ones after them wait unsorted until there are as many as the
 * sorted ones (and 1024), so the names are sorted a few times in all. */
typedef struct names_acc {
	uint8_t (*names)[TSARC_ID_LEN];
	size_t n, nsorted, cap;
} names_acc;

/* Sorts the names gathered and drops repeats. */
static void unique_names(names_acc *a)
{
	size_t i, u = 0;

	if (a->n)
		qsort(a->names, a->n, TSARC_ID_LEN, cmp_id);
	for (i = 0; i < a->n; i++)
		if (!u || memcmp(a->names[u - 1], a->names[i], TSARC_ID_LEN))
			memcpy(a->names[u++], a->names[i], TSARC_ID_LEN);
	a->n = u;
}

static int collect_fn(const tsarc_index_table_rec *g, size_t n, uint64_t ordinal, void *payload)
{
	names_acc *a = payload;
	size_t k;
	int rc;

	(void)ordinal;
	for (k = 0; k < n; k++) {
		if (a->nsorted && bsearch(g[k].at.pack, a->names, a->nsorted, TSARC_ID_LEN, cmp_id))
			continue;
		if ((rc = TSARC_RESERVE(a->names, a->n, a->cap, 1024)))
			return rc;
		memcpy(a->names[a->n++], g[k].at.pack, TSARC_ID_LEN);
		if (a->n - a->nsorted >= 1024 && a->n - a->nsorted >= a->nsorted) {
			unique_names(a);
			a->nsorted = a->n;
		}
	}
	return 0;
}

int tsarc_index_table_pack_names(tsarc_index_table *t, uint8_t (**names)[TSARC_ID_LEN],
	size_t *n)
{
	names_acc a = {NULL, 0, 0, 0};
	int rc = tsarc_index_table_scan(t, collect_fn, &a);

	if (rc) {
		free(a.names);
		return rc;
	}
	unique_names(&a);
	if (a.n && a.n < a.cap) {
		void *s = realloc(a.names, a.n * TSARC_ID_LEN);
		if (s)
			a.names = s;
	}
	*names = a.names;
	*n = a.n;
	return 0;
}

/* The slot to start at: names are hashes or random, their first 8 bytes
 * mixed once more (a multiplicative hash) so that a set of similar names
 * does not crowd. */
static size_t first_slot(const tsarc_pack_hash *h, const uint8_t name[TSARC_ID_LEN])
{
	uint64_t v;

	memcpy(&v, name, sizeof(v));
	return (size_t)((v * 0x9e3779b97f4a7c15ull) >> 32) & h->mask;
}

int tsarc_pack_hash_build(tsarc_pack_hash *h, const uint8_t (*names)[TSARC_ID_LEN], size_t n)
{
	size_t size = 16, i, k;

	while (size < 2 * n)
		size *= 2;
	h->names = names;
	h->mask = size - 1;
	if (n >= UINT32_MAX || !(h->slot = calloc(size, sizeof(*h->slot))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		for (k = first_slot(h, names[i]); h->slot[k]; k = (k + 1) & h->mask)
			;
		h->slot[k] = (uint32_t)(i + 1);
	}
	return 0;
}

long tsarc_pack_hash_find(const tsarc_pack_hash *h, const uint8_t name[TSARC_ID_LEN])
{
	size_t k;

	for (k = first_slot(h, name); h->slot[k]; k = (k + 1) & h->mask)
		if (!memcmp(h->names[h->slot[k] - 1], name, TSARC_ID_LEN))
			return (long)h->slot[k] - 1;
	return -1;
}

void tsarc_pack_hash_dispose(tsarc_pack_hash *h)
{
	free(h->slot);
	memset(h, 0, sizeof(*h));
}
