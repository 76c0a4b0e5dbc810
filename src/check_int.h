#ifndef TSARC_CHECK_INT_H
#define TSARC_CHECK_INT_H

/*
 * The parts of check (check.h) shared by its two ways through a
 * repository: format 1 in memory (check.c), format 2 in bounded memory
 * (check_pack.c: the index against the packs; check_refs.c: the snapshots
 * against both). A problem is said the same way by both.
 */
#include "check.h"
#include "index_table.h"
#include "snapshot.h"

typedef struct check_ctx {
	tsarc_repo *repo;
	const tsarc_check_options *opts;
	tsarc_check_report_fn report;
	void *payload;
	tsarc_check_result *res;
} check_ctx;

void check_problem(const check_ctx *c, const char *what, const char *snapshot,
	const char *stream, const char *object, int code, const char *msg);
/* A snapshot or key file hidden by another hand (tsarc_check_problem's
 * `hidden`). */
void check_hidden(const check_ctx *c, const char *what, const char *snapshot,
	const char *object, const char *msg);
/* Whether a referenced chunk stored as `size` bytes has the wrong size. */
int check_stored_size_wrong(const tsarc_chunk_ref *r, uint32_t size);
/* Whether --read-data reads this chunk (--read-data-subset). */
int check_selected(const tsarc_check_options *o, const uint8_t id[TSARC_ID_LEN]);
/* The first reference to a chunk: counted and reported when it is missing
 * (present 0) or stored with the wrong size. Returns 1 when it is bad. */
int check_first_ref(const check_ctx *c, const tsarc_chunk_ref *r, int present, uint32_t size);
/* A stream with missing or wrong-sized chunks. */
void check_stream_problem(const check_ctx *c, const char *snapshot, const char *stream,
	size_t missing, size_t wrong, size_t nchunks);
/* A stream with damaged chunks (--read-data). */
void check_stream_damaged(const check_ctx *c, const char *snapshot, const char *stream,
	size_t nbad, size_t nchunks);
unsigned check_parallel(const check_ctx *c);

/* What check_pack.c found of each record of the index table, a bit per
 * record in each set: `ok`, a pack's table of contents agrees with it;
 * `held`, its pack is stored but its table of contents does not open, and
 * the chunk, read where the record says, authenticates (it is there: a
 * restore reads it, repair index copies it); `torn`, the same but the
 * chunk does not authenticate there. held and torn are NULL (none set)
 * where no stored pack is damaged: a bit per record, 0.125 MiB per
 * million, only where there is damage. */
typedef struct check_marks {
	uint8_t *ok, *held, *torn;
} check_marks;

/* Format 2: the index against the packs (check_pack.c). Opens the table
 * (*t), and sets the marks (allocated; free with check_marks_free);
 * reports damaged index objects, missing or damaged packs and wrong
 * records. */
int check_packs_bounded(check_ctx *c, tsarc_index_table **t, check_marks *m);
void check_marks_free(check_marks *m);
/* Format 2: the snapshots against the table (check_refs.c), and
 * --read-data. */
int check_refs_bounded(check_ctx *c, tsarc_index_table *t, const check_marks *m);

static inline int check_bit(const uint8_t *bits, uint64_t i)
{
	return bits[i / 8] >> (i % 8) & 1;
}

/* Records of check's own sorted runs in $TMPDIR, set lower only by the
 * tests (0: the defaults), and the chunks --read-data hands the reader at
 * a time (whole packs). */
extern size_t tsarc_check_run_recs, tsarc_check_read_batch;

#endif
