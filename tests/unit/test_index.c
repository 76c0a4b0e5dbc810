/*
 * A format-2 backup's answers from the repository's index (index.c,
 * tsarc_index_known_find): a chunk the index holds is not stored again,
 * its reference takes the stored size the index gives, and it stays out of
 * the backup's set of chunks (which would otherwise hold every chunk of
 * every nightly backup, some 80 bytes each); a record that cannot be right
 * (a length no sealing of the chunk has) makes the chunk stored again,
 * with a warning naming it, and the snapshot still restores.
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

#include "backup_priv.h"
#include "fileio.h"
#include "index.h"
#include "repo.h"
#include "snapshot.h"
#include "tsarc/errors.h"
#include "tsarc/log.h"
#include "tsarc/sys/store.h"
#include "repo_fixture.h"
#include "cmocka_main.h"
#include "scratch.h"

#define LEN (1024 * 1024)

static char dir[256];
static tsarc_repo *repo;
static uint8_t *data;

static int setup(void **state)
{
	tsarc_repo_init_options o;
	tsarc_store *st = NULL;
	char path[300];

	(void)state;
	assert_non_null(scratch_make(dir, sizeof(dir), "index"));
	snprintf(path, sizeof(path), "%s/repo", dir);
	repo_fixture_options(&o);
	o.format = 2;
	o.chunker = (tsarc_chunker_params){4096, 16384, 65536};
	assert_int_equal(tsarc_store_fs_open(&st, path, NULL), 0);
	assert_int_equal(tsarc_repo_init(&repo, st, "pw", &o), 0);
	repo->no_cache = 1;
	assert_non_null(data = malloc(LEN));
	repo_fixture_fill(data, LEN, 41);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tsarc_repo_free(repo);
	free(data);
	return scratch_remove(dir);
}

/* Backs up `data` as stream "s", keeping the session open until the
 * caller has looked at it: the session, its snapshot's id out. */
static tsarc_backup *backup_open(char id[TSARC_ID_HEX_LEN + 1])
{
	char path[300];
	tsarc_backup *b = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/input", dir);
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_int_equal(tsarc_write_all(fd, data, LEN), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(tsarc_backup_new(&b, repo, NULL), 0);
	assert_int_equal(tsarc_backup_stream_fd(b, "s", "stdin", fd, NULL), 0);
	assert_int_equal(tsarc_backup_commit(b, id), 0);
	close(fd);
	unlink(path);
	return b;
}

static void test_index_hits_stay_out_of_the_set(void **state)
{
	char first[TSARC_ID_HEX_LEN + 1], second[TSARC_ID_HEX_LEN + 1];
	tsarc_snapshot *a = NULL, *s = NULL;
	tsarc_backup_stats stats;
	tsarc_backup *b;

	(void)state;
	tsarc_backup_free(backup_open(first));
	b = backup_open(second);
	tsarc_backup_get_stats(b, &stats);
	assert_true(stats.chunks > 20);
	assert_int_equal(stats.new_chunks, 0);
	/* Every chunk was answered by the index: none entered the set. */
	assert_int_equal(tsarc_chunkset_count(b->known), 0);
	tsarc_backup_free(b);
	/* The references carry the stored sizes the first backup wrote. */
	assert_int_equal(tsarc_snapshot_load(repo, first, &a), 0);
	assert_int_equal(tsarc_snapshot_load(repo, second, &s), 0);
	assert_int_equal(s->streams[0].nchunks, a->streams[0].nchunks);
	assert_memory_equal(s->streams[0].chunks, a->streams[0].chunks,
		a->streams[0].nchunks * sizeof(tsarc_chunk_ref));
	assert_int_equal(repo_fixture_extract_equal(repo, &s->streams[0], data, LEN, 4), 0);
	tsarc_snapshot_free(a);
	tsarc_snapshot_free(s);
}

typedef struct warned {
	int count;
	char message[512];
} warned;

static void on_event(const tsarc_event *ev, void *payload)
{
	warned *w = payload;

	if (ev->level == TSARC_LOG_WARN && !strcmp(ev->event, "chunk_stored_again")) {
		w->count++;
		snprintf(w->message, sizeof(w->message), "%s", ev->message);
	}
}

/* The repository's index replaced by one that holds only `e`, in `pack`. */
static void index_of_one(tsarc_pack_entry *e, const uint8_t pack_name[TSARC_ID_LEN])
{
	tsarc_index_pack pack;
	char **names = NULL, **written = NULL;
	size_t nnames, nwritten = 0, i;

	memcpy(pack.name, pack_name, TSARC_ID_LEN);
	pack.entries = e;
	pack.n = 1;
	assert_int_equal(tsarc_store_list_names(repo->store, TSARC_OBJ_INDEX, &names, &nnames), 0);
	for (i = 0; i < nnames; i++)
		assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_INDEX, names[i]), 0);
	tsarc_store_names_free(names, nnames);
	assert_int_equal(tsarc_index_write(repo, &pack, 1, &written, &nwritten), 0);
	tsarc_store_names_free(written, nwritten);
	tsarc_repo_drop_index(repo);
}

/*
 * The data backed up; then the index replaced by one record of the first
 * chunk, its real one changed by `forge`; the data backed up again, its
 * warnings caught: every chunk must be stored again (none is indexed as it
 * can be), one warning name the chunk, and the snapshot restore. The
 * forged record out, for more checks of the warning.
 */
static void backup_over_a_forged_record(void (*forge)(tsarc_pack_entry *e),
	tsarc_pack_entry *forged, warned *w)
{
	char first[TSARC_ID_HEX_LEN + 1], second[TSARC_ID_HEX_LEN + 1], hex[TSARC_ID_HEX_LEN + 1];
	tsarc_index_hit hit[TSARC_INDEX_FIND_MAX];
	tsarc_snapshot *a = NULL, *s = NULL;
	tsarc_backup_stats stats;
	tsarc_index *idx;
	tsarc_backup *b;
	size_t n;
	int rc;

	tsarc_backup_free(backup_open(first));
	assert_int_equal(tsarc_snapshot_load(repo, first, &a), 0);
	idx = tsarc_repo_get_index(repo, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(tsarc_index_find(idx, a->streams[0].chunks[0].id, hit,
				 TSARC_INDEX_FIND_MAX, &n),
		0);
	assert_int_equal(n, 1);
	memcpy(forged->id, a->streams[0].chunks[0].id, TSARC_ID_LEN);
	forged->offset = hit[0].offset;
	forged->length = hit[0].length;
	forged->plain = hit[0].plain;
	forge(forged);
	index_of_one(forged, hit[0].pack);

	tsarc_log_set(on_event, w);
	b = backup_open(second);
	tsarc_log_set(NULL, NULL);
	tsarc_backup_get_stats(b, &stats);
	assert_int_equal(stats.new_chunks, stats.chunks);
	tsarc_backup_free(b);
	assert_int_equal(w->count, 1);
	tsarc_hex_encode(hex, forged->id, TSARC_ID_LEN);
	hex[16] = '\0';
	assert_non_null(strstr(w->message, hex));
	assert_int_equal(tsarc_snapshot_load(repo, second, &s), 0);
	tsarc_repo_drop_index(repo);
	assert_int_equal(repo_fixture_extract_equal(repo, &s->streams[0], data, LEN, 4), 0);
	tsarc_snapshot_free(a);
	tsarc_snapshot_free(s);
}

/* A chunk of 1000 bytes more, sealed in 500 bytes more than its own size:
 * a record the index reader accepts (for a chunk of that size), but a
 * length no sealing of this chunk has (at most its size, the AEAD's
 * overhead and a byte), wherever its boundaries fall. */
static void longer_than_it_can_be(tsarc_pack_entry *e)
{
	e->length = e->plain + 500;
	e->plain += 1000;
}

static void test_impossible_record_stores_again(void **state)
{
	tsarc_pack_entry forged;
	warned w = {0, ""};
	char want[32];

	(void)state;
	backup_over_a_forged_record(longer_than_it_can_be, &forged, &w);
	snprintf(want, sizeof(want), "(%u bytes;", (unsigned)forged.length);
	assert_non_null(strstr(w.message, want));
}

/* Its real place and sealed length, one byte more of plain length. */
static void one_byte_more_plain(tsarc_pack_entry *e)
{
	e->plain++;
}

/*
 * A record whose sealed length this chunk can have, but whose plain length
 * is not the chunk's: a dump trusts no such copy (tsarc_index_hit_plausible),
 * so a backup that deduplicated against it would name a chunk no restore
 * can read. It is stored again.
 */
static void test_record_of_another_plain_size_stores_again(void **state)
{
	tsarc_pack_entry forged;
	warned w = {0, ""};

	(void)state;
	backup_over_a_forged_record(one_byte_more_plain, &forged, &w);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test_setup_teardown(test_index_hits_stay_out_of_the_set, setup, teardown),
	cmocka_unit_test_setup_teardown(test_impossible_record_stores_again, setup, teardown),
	cmocka_unit_test_setup_teardown(test_record_of_another_plain_size_stores_again, setup,
		teardown))
