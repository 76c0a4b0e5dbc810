/*
 * Format 2 (src/pack.c, src/index.c, src/packer.c): a backup on packs reads
 * back byte-identical with fewer data objects than chunks; a pack's table of
 * contents opens only under its own name; hostile index objects (a lying
 * offset, a chunk placed in the wrong pack) give errors that name the chunk
 * and the pack, and check counts the wrong entries; repair rebuilds a good
 * index from the packs. A dump reads the chunks that lie together in a
 * pack with one request, and damage inside such a run (a truncated pack, a
 * changed byte, an index entry 8 bytes short) still names the chunk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "backup.h"
#include "check.h"
#include "extract.h"
#include "fileio.h"
#include "index.h"
#include "lock.h"
#include "repair.h"
#include "repo.h"
#include "snapshot.h"
#include "tsarc/errors.h"
#include "repo_fixture.h"
#include "store/counting_store.h"
#include "cmocka_main.h"
#include "scratch.h"
#include "count_listed.h"

#define LEN (400u * 1024)

static char dir[256];
static tsarc_repo *repo;
static uint8_t *data;
static char snap_id[TSARC_ID_HEX_LEN + 1];
static counting_store *cnt;

static int setup(void **state)
{
	tsarc_repo_init_options o = {{4096, 16384, 65536}, TSARC_CODEC_ZSTD, 0, 1024, {TSARC_RETAIN_NONE, 0}, 2,
		TSARC_PACK_SIZE_MIN};
	tsarc_store *st = NULL, *wrapped = NULL;
	char path[300];

	(void)state;
	assert_non_null(scratch_make(dir, sizeof(dir), "pack"));
	snprintf(path, sizeof(path), "%s/repo", dir);
	assert_int_equal(tsarc_store_fs_open(&st, path, NULL), 0);
	assert_int_equal(counting_store_wrap(&wrapped, &cnt, st), 0);
	assert_int_equal(tsarc_repo_init(&repo, wrapped, "pw", &o), 0);
	data = malloc(LEN);
	assert_non_null(data);
	repo_fixture_fill(data, LEN, 7);
	repo_fixture_backup(repo, dir, data, LEN, "stdin", snap_id);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tsarc_repo_free(repo);
	free(data);
	assert_int_equal(scratch_remove(dir), 0);
	return 0;
}

static int extract(tsarc_snapshot **snap_out)
{
	tsarc_snapshot *snap = NULL;
	int rc;

	assert_int_equal(tsarc_snapshot_load(repo, snap_id, &snap), 0);
	rc = repo_fixture_extract_equal(repo, &snap->streams[0], data, LEN, 2);
	if (snap_out)
		*snap_out = snap;
	else
		tsarc_snapshot_free(snap);
	return rc;
}

/* The first chunk check named damaged (hex), and how many it named. */
typedef struct damaged_seen {
	char first[TSARC_ID_HEX_LEN + 1];
	size_t n;
} damaged_seen;

static void note_damaged(const tsarc_check_problem *p, void *payload)
{
	damaged_seen *d = payload;

	if (strcmp(p->what, "chunk") || !p->object)
		return;
	if (!d->n++)
		snprintf(d->first, sizeof(d->first), "%s", p->object);
}

static void check_with(int read_data, tsarc_check_result *res, damaged_seen *d)
{
	tsarc_check_options o;

	memset(&o, 0, sizeof(o));
	o.read_data = read_data;
	assert_int_equal(tsarc_check(repo, &o, d ? note_damaged : NULL, d, res), 0);
}

static void check(tsarc_check_result *res)
{
	check_with(1, res, NULL);
}

static void test_round_trip_in_packs(void **state)
{
	tsarc_snapshot *snap = NULL;
	tsarc_check_result res;
	size_t objects = 0;

	(void)state;
	assert_int_equal(extract(&snap), 0);
	assert_int_equal(tsarc_store_list(repo->store, TSARC_OBJ_DATA, count_listed, &objects), 0);
	assert_true(objects >= 2);
	assert_true(objects < snap->streams[0].nchunks);
	check(&res);
	assert_int_equal(res.chunks_damaged + res.chunks_missing + res.packs_damaged +
		res.index_wrong + res.index_damaged, 0);
	assert_int_equal(res.packs, objects);
	assert_int_equal(res.chunks_read, res.chunks_referenced);
	tsarc_snapshot_free(snap);
}

/* The record of one chunk forged: `id` placed at `offset` (and `length`
 * when not 0), in `pack` when not NULL. */
typedef struct forgery {
	const uint8_t *id, *pack;
	uint32_t offset, length;
} forgery;

static int forge_one(tsarc_pack_entry *e, const uint8_t **pack, void *payload)
{
	const forgery *f = payload;

	if (!memcmp(e->id, f->id, TSARC_ID_LEN)) {
		if (f->pack)
			*pack = f->pack;
		e->offset = f->offset;
		if (f->length)
			e->length = f->length;
	}
	return 1;
}

/* Replaces the whole index by one whose record for `id` says `pack` (NULL:
 * its own), `offset` and (when not 0) `length`. */
static void forge_index(const uint8_t id[TSARC_ID_LEN], const uint8_t *pack, uint32_t offset,
	uint32_t length)
{
	forgery f = {id, pack, offset, length};
	tsarc_index *idx = NULL;

	assert_int_equal(tsarc_index_load(repo, &idx, NULL, NULL), 0);
	assert_int_equal(repo_fixture_rewrite_index(repo, idx, forge_one, &f), 1);
	tsarc_index_free(idx);
	tsarc_repo_drop_index(repo);
}

static void repair(void)
{
	tsarc_repair_result rr;
	tsarc_lock *lock = NULL;

	assert_int_equal(tsarc_lock_acquire(&lock, repo, 1), 0);
	assert_int_equal(tsarc_repair_index(repo, lock, NULL, NULL, &rr), 0);
	assert_int_equal(tsarc_lock_release(lock), 0);
	assert_int_equal(rr.packs_damaged, 0);
}

static void expect_corrupt_naming(const char *hex, const char *word)
{
	int rc = extract(NULL);

	assert_int_equal(rc, TSARC_ECORRUPT);
	assert_non_null(strstr(tsarc_error_last()->message, word));
	assert_non_null(strstr(tsarc_error_last()->message, hex));
}

static void test_lying_offset(void **state)
{
	tsarc_snapshot *snap = NULL;
	tsarc_check_result res;
	const tsarc_chunk_ref *c;
	char hex[17];

	(void)state;
	assert_int_equal(tsarc_snapshot_load(repo, snap_id, &snap), 0);
	c = &snap->streams[0].chunks[1];
	tsarc_hex_encode(hex, c->id, 8);
	/* Eight bytes off: inside the pack, on no blob's boundary. */
	{
		tsarc_index *idx = NULL;
		tsarc_index_hit r;
		size_t n;
		assert_int_equal(tsarc_index_load(repo, &idx, NULL, NULL), 0);
		assert_int_equal(tsarc_index_find(idx, c->id, &r, 1, &n), 0);
		assert_int_equal(n, 1);
		forge_index(c->id, NULL, r.offset + 8, 0);
		tsarc_index_free(idx);
	}
	expect_corrupt_naming(hex, "offset");
	check(&res);
	assert_int_equal(res.index_wrong, 1);
	assert_int_equal(res.chunks_missing, 1);
	repair();
	assert_int_equal(extract(NULL), 0);
	tsarc_snapshot_free(snap);
}

static void test_chunk_in_the_wrong_pack(void **state)
{
	tsarc_snapshot *snap = NULL;
	tsarc_check_result res;
	tsarc_index *idx = NULL;
	const tsarc_index_rec *other = NULL;
	tsarc_index_hit r;
	const tsarc_chunk_ref *c;
	uint8_t pack[TSARC_ID_LEN];
	char hex[17], phex[17];
	size_t i, n;

	(void)state;
	assert_int_equal(tsarc_snapshot_load(repo, snap_id, &snap), 0);
	c = &snap->streams[0].chunks[2];
	tsarc_hex_encode(hex, c->id, 8);
	assert_int_equal(tsarc_index_load(repo, &idx, NULL, NULL), 0);
	assert_int_equal(tsarc_index_find(idx, c->id, &r, 1, &n), 0);
	assert_int_equal(n, 1);
	/* Another pack, at the offset of one of its own blobs. */
	for (i = 0; i < tsarc_index_count(idx) && !other; i++)
		if (memcmp(tsarc_index_pack_name(idx, tsarc_index_records(idx)[i].pack), r.pack,
			    TSARC_ID_LEN))
			other = &tsarc_index_records(idx)[i];
	assert_non_null(other);
	memcpy(pack, tsarc_index_pack_name(idx, other->pack), TSARC_ID_LEN);
	tsarc_hex_encode(phex, pack, 8);
	forge_index(c->id, pack, other->offset, 0);
	tsarc_index_free(idx);
	expect_corrupt_naming(hex, phex);
	check(&res);
	assert_int_equal(res.index_wrong, 1);
	repair();
	assert_int_equal(extract(NULL), 0);
	tsarc_snapshot_free(snap);
}

/* Where the index places chunk k of the snapshot's stream. */
static void place_of(const tsarc_chunk_ref *c, tsarc_index_hit *r)
{
	tsarc_index *idx = NULL;
	size_t n;

	assert_int_equal(tsarc_index_load(repo, &idx, NULL, NULL), 0);
	assert_int_equal(tsarc_index_find(idx, c->id, r, 1, &n), 0);
	assert_int_equal(n, 1);
	tsarc_index_free(idx);
}

/* A chunk k > 0 whose blob follows the blob of chunk k - 1 in one pack: in
 * the middle of what a dump reads with one range read. */
static size_t chunk_inside_a_run(const tsarc_stream *st, tsarc_index_hit *prev, tsarc_index_hit *r)
{
	size_t k;

	for (k = 1; k < st->nchunks; k++) {
		place_of(&st->chunks[k - 1], prev);
		place_of(&st->chunks[k], r);
		if (!memcmp(prev->pack, r->pack, TSARC_ID_LEN) && prev->offset + prev->length == r->offset)
			return k;
	}
	fail_msg("no two chunks of the stream lie back to back in a pack");
	return 0;
}

/* A dump reads the chunks lying together in a pack with one request: about
 * one read per pack (a run also ends where the stream comes back to a pack
 * it left), not one per chunk as before; and restore --verify-first reads
 * what a restore would, the same way (from S3, one request per chunk was
 * 43 s a GiB against 5.7 s for the dump). */
static void test_dump_and_verify_read_runs(void **state)
{
	tsarc_snapshot *snap = NULL;
	unsigned long gets;
	size_t packs = 0;
	int verify;

	(void)state;
	assert_int_equal(tsarc_snapshot_load(repo, snap_id, &snap), 0);
	assert_int_equal(tsarc_store_list(repo->store, TSARC_OBJ_DATA, count_listed, &packs), 0);
	assert_true(2 * packs < snap->streams[0].nchunks);
	for (verify = 0; verify <= 1; verify++) {
		counting_store_reset(cnt);
		assert_int_equal(verify ? tsarc_stream_verify(repo, &snap->streams[0], 0)
					: extract(NULL), 0);
		gets = counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_DATA);
		assert_true(gets > 0);
		assert_true(gets <= 2 * packs);
	}
	/* check --read-data: what it reads beyond the packs' tables of
	 * contents (which check without it reads too), by runs as well. */
	{
		tsarc_check_result res;
		unsigned long tocs;
		counting_store_reset(cnt);
		check_with(0, &res, NULL);
		tocs = counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_DATA);
		counting_store_reset(cnt);
		check_with(1, &res, NULL);
		gets = counting_store_calls(cnt, COUNT_GET, TSARC_OBJ_DATA);
		assert_int_equal(res.chunks_read, snap->streams[0].nchunks);
		assert_int_equal(res.chunks_damaged, 0);
		assert_true(gets > tocs);
		assert_true(gets - tocs <= 2 * packs);
	}
	tsarc_snapshot_free(snap);
}

/* Replaces pack `name` by its bytes changed by `change`, returning the
 * original for put_back. */
static tsarc_buf damage_pack(const uint8_t pack[TSARC_ID_LEN], char *name, void (*change)(tsarc_buf *, uint32_t), uint32_t at)
{
	tsarc_buf orig = TSARC_BUF_INIT, bad = TSARC_BUF_INIT;

	tsarc_hex_encode(name, pack, TSARC_ID_LEN);
	assert_int_equal(tsarc_store_get(repo->store, TSARC_OBJ_DATA, name, 0, 0, &orig), 0);
	assert_int_equal(tsarc_buf_append(&bad, orig.ptr, orig.size), 0);
	change(&bad, at);
	assert_int_equal(tsarc_store_put(repo->store, TSARC_OBJ_DATA, name, bad.ptr, bad.size, 0), 0);
	tsarc_buf_dispose(&bad);
	return orig;
}

static void put_back(const char *name, tsarc_buf *orig)
{
	assert_int_equal(tsarc_store_put(repo->store, TSARC_OBJ_DATA, name, orig->ptr, orig->size, 0), 0);
	tsarc_buf_dispose(orig);
	assert_int_equal(extract(NULL), 0);
}

static void cut_at(tsarc_buf *b, uint32_t at)
{
	b->size = at;
}

static void flip_at(tsarc_buf *b, uint32_t at)
{
	b->ptr[at] ^= 0x40;
}

/* The first chunk of the stream that pack `pack` holds and that does not
 * end before `at`: what a dump of the pack cut at `at` fails on first
 * (blobs come in the order the workers finished them, not quite the
 * stream's). */
static const tsarc_chunk_ref *first_past(const tsarc_stream *st, const uint8_t *pack, uint32_t at)
{
	tsarc_index_hit r;
	size_t k;

	for (k = 0; k < st->nchunks; k++) {
		place_of(&st->chunks[k], &r);
		if (!memcmp(r.pack, pack, TSARC_ID_LEN) && r.offset + r.length > at)
			return &st->chunks[k];
	}
	fail_msg("no chunk past the cut");
	return NULL;
}

/* A pack that ends inside a blob the dump reads with others in one
 * request: the error names the first chunk of the stream cut off and the
 * pack; a byte changed inside such a blob: that chunk does not
 * authenticate, named. */
static void test_damage_inside_a_run(void **state)
{
	tsarc_snapshot *snap = NULL;
	tsarc_index_hit prev, r;
	tsarc_buf orig;
	char name[TSARC_ID_HEX_LEN + 1], hex[17];
	size_t k;
	uint32_t at;

	(void)state;
	assert_int_equal(tsarc_snapshot_load(repo, snap_id, &snap), 0);
	k = chunk_inside_a_run(&snap->streams[0], &prev, &r);
	at = r.offset + r.length / 2;
	tsarc_hex_encode(hex, first_past(&snap->streams[0], r.pack, at)->id, 8);
	orig = damage_pack(r.pack, name, cut_at, at);
	expect_corrupt_naming(hex, "ends before offset");
	name[16] = 0;
	assert_non_null(strstr(tsarc_error_last()->message, name));
	tsarc_hex_encode(name, r.pack, TSARC_ID_LEN);
	put_back(name, &orig);
	tsarc_hex_encode(hex, snap->streams[0].chunks[k].id, 8);
	orig = damage_pack(r.pack, name, flip_at, at);
	expect_corrupt_naming(hex, "authentication failed");
	assert_non_null(strstr(tsarc_error_last()->message, "pack"));
	{
		/* check --read-data reads it inside a run too: that one chunk
		 * named damaged, every other read. */
		tsarc_check_result res;
		damaged_seen d = {"", 0};
		check_with(1, &res, &d);
		assert_int_equal(res.chunks_damaged, 1);
		assert_int_equal(d.n, 1);
		assert_int_equal(strncmp(d.first, hex, 16), 0);
		assert_int_equal(res.chunks_read, snap->streams[0].nchunks);
	}
	put_back(name, &orig);
	tsarc_snapshot_free(snap);
}

/* The index lies about where a blob inside a run ends (8 bytes short)
 * while the run still looks whole: the chunk does not authenticate, the
 * error names it; the chunk after it (its place taken 8 bytes early) is
 * not read from bytes that are not its own. */
static void test_lying_length_inside_a_run(void **state)
{
	tsarc_snapshot *snap = NULL;
	tsarc_index_hit prev, r;
	const tsarc_chunk_ref *c;
	char hex[17];

	(void)state;
	assert_int_equal(tsarc_snapshot_load(repo, snap_id, &snap), 0);
	/* The chunk before one inside a run: the run's first, or inside it. */
	c = &snap->streams[0].chunks[chunk_inside_a_run(&snap->streams[0], &prev, &r) - 1];
	tsarc_hex_encode(hex, c->id, 8);
	forge_index(c->id, NULL, prev.offset, prev.length - 8);
	expect_corrupt_naming(hex, "authentication failed");
	repair();
	assert_int_equal(extract(NULL), 0);
	tsarc_snapshot_free(snap);
}

static void test_toc_opens_only_under_its_name(void **state)
{
	tsarc_pack_builder b;
	tsarc_pack_entry *e = NULL;
	uint8_t blob[16384 + 1 + TSARC_AEAD_OVERHEAD], id[TSARC_ID_LEN];
	char name[TSARC_ID_HEX_LEN + 1], other[TSARC_ID_HEX_LEN + 1];
	size_t n = 0;

	(void)state;
	memset(blob, 0x5a, sizeof(blob));
	memset(id, 1, sizeof(id));
	assert_int_equal(tsarc_pack_builder_start(&b), 0);
	assert_int_equal(tsarc_pack_builder_add(&b, id, blob, sizeof(blob), 16384), 0);
	id[0] = 2;
	assert_int_equal(tsarc_pack_builder_add(&b, id, blob, 79, 50), 0);
	assert_int_equal(tsarc_pack_builder_finish(repo, &b), 0);
	tsarc_hex_encode(name, b.name, TSARC_ID_LEN);
	memset(other, 'e', TSARC_ID_HEX_LEN);
	other[TSARC_ID_HEX_LEN] = 0;
	assert_int_equal(tsarc_pack_builder_store(repo, &b), 0);
	assert_int_equal(tsarc_store_put_file(repo->store, TSARC_OBJ_DATA, other, b.fd,
		b.size, 0), 0);
	assert_int_equal(tsarc_pack_read_toc(repo, name, b.size, &e, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[1].offset, sizeof(blob));
	assert_int_equal(e[1].length, 79);
	assert_int_equal(e[1].plain, 50);
	free(e);
	assert_int_equal(tsarc_pack_read_toc(repo, other, b.size, &e, &n), TSARC_ECORRUPT);
	assert_non_null(strstr(tsarc_error_last()->message, "another pack's name"));
	/* Truncated: the length at the end is no longer the TOC's. */
	assert_int_equal(tsarc_pack_read_toc(repo, name, b.size - 1, &e, &n), TSARC_ECORRUPT);
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_DATA, name), 0);
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_DATA, other), 0);
	tsarc_pack_builder_dispose(&b);
}

TSARC_TESTS_MAIN(setup, teardown,
	cmocka_unit_test(test_round_trip_in_packs),
	cmocka_unit_test(test_toc_opens_only_under_its_name),
	cmocka_unit_test(test_lying_offset),
	cmocka_unit_test(test_chunk_in_the_wrong_pack),
	cmocka_unit_test(test_dump_and_verify_read_runs),
	cmocka_unit_test(test_damage_inside_a_run),
	cmocka_unit_test(test_lying_length_inside_a_run))
