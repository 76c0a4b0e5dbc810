/* repo_fixture.h: test data and one-stream snapshots for the engine's tests. */
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

#include "repo_fixture.h"
#include "error_save.h"
#include "backup.h"
#include "crypto.h"
#include "extract.h"
#include "fileio.h"
#include "index.h"
#include "lock.h"
#include "prune.h"
#include "snapshot.h"
#include "tsarc/buf.h"

void repo_fixture_options(tsarc_repo_init_options *o)
{
	memset(o, 0, sizeof(*o));
	o->codec = TSARC_CODEC_ZSTD;
	o->scrypt_n = 1024;
	/* Format 1, as these tests were written for: they find, damage and
	 * count chunk objects. Format 2's tests ask for it (o->format = 2). */
	o->format = 1;
}

void repo_fixture_fill(uint8_t *p, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(seed >> 56);
	}
}

void repo_fixture_backup(tsarc_repo *repo, const char *dir, const uint8_t *data, size_t len,
	const char *kind, char id[TSARC_ID_HEX_LEN + 1])
{
	/* One compress/encrypt worker: the chunks reach the packs in the
	 * stream's order, so where each lies (runs, packs, which pack ends
	 * small) is the same on every run, not the order in which several
	 * workers happened to finish (a load-dependent layout made test_pack's
	 * count of reads by runs fail once under load). */
	tsarc_backup_options o = {NULL, NULL, 0, NULL, NULL, 1, 0};
	char path[300];
	tsarc_backup *b = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/input", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(tsarc_write_all(fd, data, len), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(tsarc_backup_new(&b, repo, &o), 0);
	assert_int_equal(tsarc_backup_stream_fd(b, "s", kind, fd, NULL), 0);
	assert_int_equal(tsarc_backup_commit(b, id), 0);
	tsarc_backup_free(b);
	close(fd);
	unlink(path);
}

void repo_fixture_id(uint8_t id[TSARC_ID_LEN], uint64_t k)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(k >> (8 * i));
	assert_int_equal(tsarc_sha256(b, sizeof(b), id), 0);
}

void repo_fixture_index_packs(tsarc_index_pack *packs, tsarc_pack_entry *entries,
	size_t npacks, size_t per_pack)
{
	uint64_t lo, hi;
	size_t p, k;

	tsarc_repo_chunk_size_bounds(1000, &lo, &hi);
	for (p = 0; p < npacks; p++) {
		repo_fixture_id(packs[p].name, 1000000 + p);
		packs[p].entries = entries + p * per_pack;
		packs[p].n = per_pack;
		for (k = 0; k < per_pack; k++) {
			tsarc_pack_entry *e = &packs[p].entries[k];
			repo_fixture_id(e->id, p * per_pack + k);
			e->offset = (uint32_t)(k * hi);
			e->length = (uint32_t)lo;
			e->plain = 1000;
		}
	}
}

tsarc_repo *repo_fixture_windows(const char *root, const char *dir, const char *password,
	uint32_t pack_size, const uint8_t *base, size_t nbackups, size_t window, size_t step,
	char (*ids)[TSARC_ID_HEX_LEN + 1])
{
	tsarc_repo_init_options o;
	tsarc_store *st = NULL;
	tsarc_repo *r = NULL;
	size_t i;

	repo_fixture_options(&o);
	o.format = 2;
	o.chunker.min_size = 4096;
	o.chunker.avg_size = 16384;
	o.chunker.max_size = 65536;
	o.pack_size = pack_size;
	assert_int_equal(tsarc_store_fs_open(&st, root, NULL), 0);
	assert_int_equal(tsarc_repo_init(&r, st, password, &o), 0);
	for (i = 0; i < nbackups; i++)
		repo_fixture_backup(r, dir, base + i * step, window, "stdin", ids[i]);
	return r;
}

static int to_buf(void *payload, const uint8_t *data, size_t len)
{
	return tsarc_buf_append(payload, data, len);
}

int repo_fixture_extract_equal(tsarc_repo *repo, const struct tsarc_stream *st,
	const uint8_t *want, size_t len, int inflight)
{
	tsarc_buf got;
	int rc;

	/* More bytes than expected stop the extract (the ceiling). */
	tsarc_buf_init(&got, len);
	rc = tsarc_stream_extract(repo, st, to_buf, &got, inflight);
	if (!rc) {
		assert_int_equal(got.size, len);
		assert_memory_equal(got.ptr, want, len);
	}
	tsarc_buf_dispose(&got);
	return rc;
}

int repo_fixture_prune(tsarc_repo *repo, int dry_run, tsarc_prune_result *res)
{
	tsarc_lock *lock = NULL;
	tsarc_saved_error e;
	int rc;

	assert_int_equal(tsarc_lock_acquire(&lock, repo, !dry_run), 0);
	if ((rc = tsarc_prune(repo, lock, dry_run, TSARC_PRUNE_MAX_UNUSED_DEFAULT, res)))
		tsarc_error_save(&e);
	assert_int_equal(tsarc_lock_release(lock), 0);
	/* The error for the test to read is the prune's, not the release's. */
	return rc ? tsarc_error_restore(&e) : 0;
}

size_t repo_fixture_rewrite_index(tsarc_repo *repo, tsarc_index *idx,
	repo_fixture_index_edit edit, void *payload)
{
	const tsarc_index_rec *rec = tsarc_index_records(idx);
	size_t n = tsarc_index_count(idx), i, g, ng = 0, nold, nw = 0;
	tsarc_index_pack *grp = calloc(n ? n : 1, sizeof(*grp));
	char **old, **names = NULL;

	assert_non_null(grp);
	for (i = 0; i < n; i++) {
		const uint8_t *name = tsarc_index_pack_name(idx, rec[i].pack);
		tsarc_pack_entry e;
		memcpy(e.id, rec[i].id, TSARC_ID_LEN);
		e.offset = rec[i].offset;
		e.length = rec[i].length;
		e.plain = rec[i].plain;
		if (!edit(&e, &name, payload))
			continue;
		for (g = 0; g < ng && memcmp(grp[g].name, name, TSARC_ID_LEN); g++)
			;
		if (g == ng)
			memcpy(grp[ng++].name, name, TSARC_ID_LEN);
		assert_non_null(grp[g].entries =
				realloc(grp[g].entries, (grp[g].n + 1) * sizeof(e)));
		grp[g].entries[grp[g].n++] = e;
	}
	old = tsarc_index_object_names(idx, &nold);
	for (i = 0; i < nold; i++)
		assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_INDEX, old[i]), 0);
	assert_int_equal(tsarc_index_write(repo, grp, ng, &names, &nw), 0);
	tsarc_store_names_free(names, nw);
	for (i = 0; i < ng; i++)
		free(grp[i].entries);
	free(grp);
	return nw;
}
