#ifndef TSARC_INDEX_TABLE_FILE_H
#define TSARC_INDEX_TABLE_FILE_H

/* The file format of index_table.h's table and of its sorted runs:
 * writing in order, reading a block, reading in order, merging; and the
 * sorted runs. Only for index_table.c and prune's passes (prune_scan.c),
 * which sort what they need by pack with the same runs. */
#include <sys/types.h>

#include "fileio.h"

#include "index_table.h"

/* The file: magic, salt, sealed head, sealed blocks of records (chunk id,
 * pack name, offset, length, plain length: 76 bytes), sealed tail (the
 * names of the index objects it holds). The
 * salt and each part's place are in its associated data, so no part can
 * be moved within a table or taken from another. Runs are the same
 * without a tail's content. */
#define REC_LEN 76
#define BLOCK_RECS TSARC_INDEX_TABLE_BLOCK_RECS
#define BLOCK_PLAIN (BLOCK_RECS * REC_LEN)
#define BLOCK_SEALED (BLOCK_PLAIN + TSARC_AEAD_OVERHEAD)
#define SALT_LEN 16
#define HEAD_PLAIN 24
#define HEAD_OFF (8 + SALT_LEN)
#define DATA_OFF (HEAD_OFF + HEAD_PLAIN + TSARC_AEAD_OVERHEAD)
/* More would not fit a pack number, nor any real repository. */
#define RECS_MAX ((uint64_t)1 << 36)
#define TABLE_NAME "index.table"

/* A table file, its head read. */
typedef struct itab_file {
	int fd;
	uint8_t salt[SALT_LEN];
	uint64_t nrecs;
	uint32_t nblocks, nobjects;
} itab_file;

/* Writes records in order, a sealed block at a time. */
typedef struct itab_writer {
	const tsarc_repo *repo;
	itab_file f;
	uint8_t plain[BLOCK_PLAIN], sealed[BLOCK_SEALED];
	size_t in; /* records in plain */
	uint8_t (*fence)[TSARC_ID_LEN]; /* a table's, not a run's */
	size_t fence_cap;
	int keep_fence;
} itab_writer;

/* Reads a table or a run in order. */
typedef struct itab_cursor {
	itab_file f;
	uint32_t block;
	size_t pos, n;
	uint8_t *plain; /* BLOCK_PLAIN */
	int level; /* in itab_runs: -1 the caller's input, else the merges that made it */
} itab_cursor;

/* Records compare by id, then pack name. */
int itab_rec_cmp(const void *a, const void *b);
int itab_io_error(const char *what);
size_t itab_block_recs(const itab_file *f, uint32_t b);
off_t itab_tail_off(const itab_file *f);
/* Opens part `kind`/`n` of length `plain_len` at `off` into `plain`. */
int itab_open_part(const tsarc_repo *repo, const itab_file *f, char kind, uint64_t n, off_t off,
	size_t plain_len, uint8_t *sealed, uint8_t *plain);
int itab_read_block(const tsarc_repo *repo, const itab_file *f, uint32_t b, uint8_t *sealed,
	uint8_t *plain);
/* Reads and checks the head of the table open as `fd`: its size must be
 * exactly what the head says. */
int itab_read_head(const tsarc_repo *repo, int fd, itab_file *f);
/* keep_fence: keep the first id of each block (a table's, not a run's). */
int itab_writer_begin(itab_writer *w, const tsarc_repo *repo, int fd, int keep_fence);
int itab_writer_add(itab_writer *w, const uint8_t rec[REC_LEN]);
/* Writes the last block, the tail and the head. */
int itab_writer_end(itab_writer *w, const uint8_t (*objects)[TSARC_ID_LEN], uint32_t nobjects);
/* Merges the sorted inputs (each checked to be sorted) into w. */
int itab_merge(const tsarc_repo *repo, itab_cursor *in, size_t nin, itab_writer *w);

/* The same merge read a record at a time: begin rewinds the inputs (so a
 * set of runs can be merged again), next gives the smallest record left
 * (valid until the next call): 1, 0 at the end, < 0 on an error (a part
 * that does not authenticate, an input not sorted: TSARC_ECORRUPT). */
typedef struct itab_merger {
	const tsarc_repo *repo;
	itab_cursor **heap;
	size_t n;
	uint8_t *sealed;
	int moved;
} itab_merger;
void itab_cursor_rewind(itab_cursor *c);
int itab_merger_begin(itab_merger *m, const tsarc_repo *repo, itab_cursor *in, size_t nin);
int itab_merger_next(itab_merger *m, const uint8_t **rec);
void itab_merger_end(itab_merger *m);

/* Records sorted in runs: collected run_recs at a time in memory (0: the
 * tsarc_index_table_run_recs of index_table.h), each run sorted and
 * written sealed to an unnamed file in dirfd (`where`, for messages),
 * then read back as inputs in[0..nin) of the merge. itab_runs_input adds
 * an input of the caller's (its fd -1, for the caller to fill; before any
 * run). With `unique`, a record the same as the one before it in a run is
 * written once.
 *
 * Each run holds a file open, and a merge reads every input at once: many
 * runs (300 million references gathered 4 MiB at a time make 5 500) would
 * need more files than a process may open (commonly 1024, sometimes
 * fewer). So once the inputs reach ITAB_RUNS_FAN_IN, the newest runs are
 * merged into one (with `unique` dropping a record the same as the one
 * before it, as a run does): open files stay at most the fan-in plus
 * three (the runs merged, the new run written and read, the folder), and
 * a merge of the inputs reads at most the fan-in, a 16 KiB block each
 * (1 MiB). Which runs merge: each run has a level (how many merges made
 * it), the levels never rising from the oldest input to the newest; the
 * newest runs of the lowest level merge into one a level up, or when that
 * is one run alone, with the runs of the next level too. A record is then
 * written again once up to 2 080 runs (8 GiB of records at 4 MiB a run;
 * the 305 runs of 10 million index records: 0.82 times on average), twice
 * up to 45 760. 64 leaves room under a limit of 256 files for two sets of
 * runs used at once (check --read-data) and the store's; 128 would write
 * the 5 500 runs of 300 million references again once instead of 1.75
 * times, for twice the files. */
#define ITAB_RUNS_FAN_IN 64
typedef struct itab_runs {
	const tsarc_repo *repo;
	int dirfd;
	const char *where;
	uint8_t *recs;
	size_t n, run_recs;
	int unique;
	itab_cursor *in;
	size_t nin, in_cap;
} itab_runs;
/* Runs in an unnamed file each in $TMPDIR, run_recs a run (0: the
 * default); itab_runs_close disposes of them and closes the folder. */
int itab_runs_open(itab_runs *r, const tsarc_repo *repo, size_t run_recs);
void itab_runs_close(itab_runs *r);
int itab_runs_add(itab_runs *r, const uint8_t rec[REC_LEN]);
/* The runs order records by their bytes (memcmp): a number that sorts
 * them (a pack number, an offset, a snapshot's rank) goes in big-endian,
 * `bytes` wide (at most 8). */
void itab_key_put(uint8_t *p, uint64_t v, int bytes);
uint64_t itab_key_get(const uint8_t *p, int bytes);
int itab_runs_flush(itab_runs *r);
int itab_runs_input(itab_runs *r, itab_cursor **c);
void itab_runs_dispose(itab_runs *r);
/* $TMPDIR (absolute, else /tmp) open as a folder, its path in *where: for
 * unnamed files; < 0 (an error code, message set) when it cannot. */
int itab_tmpdir_open(const char **where);
/* A temporary file in dirfd written through *wfd and read through *rfd;
 * with `unnamed`, removed at once (gone when closed). */
int itab_scratch_file(int dirfd, const char *where, tsarc_tmpfile *t, int unnamed,
	int *wfd, int *rfd);

#endif
