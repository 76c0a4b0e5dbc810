#include "index_table_file.h"
#include "fileio.h"
#include "grow.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MAGIC[8] = {'T', 'S', 'I', 'X', 'T', 'B', '0', '1'};
static const char AAD_TABLE[] = "tsarc-index-table-v1";
#define AAD_LEN (sizeof(AAD_TABLE) - 1 + SALT_LEN + 1 + 8)

static void itab_aad(uint8_t aad[AAD_LEN], const uint8_t salt[SALT_LEN], char kind, uint64_t n)
{
	size_t p = sizeof(AAD_TABLE) - 1;

	memcpy(aad, AAD_TABLE, p);
	memcpy(aad + p, salt, SALT_LEN);
	aad[p + SALT_LEN] = (uint8_t)kind;
	tsarc_le32_put(aad + p + SALT_LEN + 1, (uint32_t)n);
	tsarc_le32_put(aad + p + SALT_LEN + 5, (uint32_t)(n >> 32));
}

int itab_rec_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 2 * TSARC_ID_LEN);
}

void itab_key_put(uint8_t *p, uint64_t v, int bytes)
{
	int i;

	for (i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

uint64_t itab_key_get(const uint8_t *p, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

int itab_io_error(const char *what)
{
	return tsarc_error_set(tsarc_errno_code(errno), "index table: cannot %s: %s", what,
		strerror(errno));
}

static int itab_pread(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (uint8_t *)buf + done, len - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return itab_io_error("read");
		if (r == 0)
			return tsarc_error_set(TSARC_ECORRUPT, "index table is truncated");
		done += (size_t)r;
	}
	return 0;
}

static uint64_t itab_blocks_of(uint64_t nrecs)
{
	return (nrecs + BLOCK_RECS - 1) / BLOCK_RECS;
}

size_t itab_block_recs(const itab_file *f, uint32_t b)
{
	return b + 1 < f->nblocks ? BLOCK_RECS : (size_t)(f->nrecs - (uint64_t)b * BLOCK_RECS);
}

off_t itab_tail_off(const itab_file *f)
{
	return DATA_OFF + (off_t)(f->nrecs / BLOCK_RECS) * BLOCK_SEALED +
	       (f->nrecs % BLOCK_RECS ? (off_t)(f->nrecs % BLOCK_RECS * REC_LEN +
						 TSARC_AEAD_OVERHEAD) : 0);
}

int itab_open_part(const tsarc_repo *repo, const itab_file *f, char kind, uint64_t n, off_t off,
	size_t plain_len, uint8_t *sealed, uint8_t *plain)
{
	uint8_t aad[AAD_LEN];
	int rc;

	if ((rc = itab_pread(f->fd, sealed, plain_len + TSARC_AEAD_OVERHEAD, off)))
		return rc;
	itab_aad(aad, f->salt, kind, n);
	if (tsarc_aead_open(repo->enc_key, aad, sizeof(aad), sealed,
		    plain_len + TSARC_AEAD_OVERHEAD, plain))
		return tsarc_error_set(TSARC_ECORRUPT, "index table: part %c%llu does not "
			"authenticate", kind, (unsigned long long)n);
	return 0;
}

int itab_read_block(const tsarc_repo *repo, const itab_file *f, uint32_t b, uint8_t *sealed,
	uint8_t *plain)
{
	return itab_open_part(repo, f, 'B', b, DATA_OFF + (off_t)b * BLOCK_SEALED,
		itab_block_recs(f, b) * REC_LEN, sealed, plain);
}

int itab_read_head(const tsarc_repo *repo, int fd, itab_file *f)
{
	uint8_t head[HEAD_OFF], sealed[HEAD_PLAIN + TSARC_AEAD_OVERHEAD], plain[HEAD_PLAIN];
	struct stat st;
	int rc;

	f->fd = fd;
	if ((rc = itab_pread(fd, head, sizeof(head), 0)))
		return rc;
	if (memcmp(head, MAGIC, sizeof(MAGIC)))
		return tsarc_error_set(TSARC_ECORRUPT, "index table: bad header");
	memcpy(f->salt, head + sizeof(MAGIC), SALT_LEN);
	if ((rc = itab_open_part(repo, f, 'H', 0, HEAD_OFF, HEAD_PLAIN, sealed, plain)))
		return rc;
	f->nrecs = tsarc_le32_get(plain) | (uint64_t)tsarc_le32_get(plain + 4) << 32;
	f->nobjects = tsarc_le32_get(plain + 12);
	if (f->nrecs > RECS_MAX || tsarc_le32_get(plain + 16) != BLOCK_RECS)
		return tsarc_error_set(TSARC_ECORRUPT, "index table: impossible header");
	f->nblocks = (uint32_t)itab_blocks_of(f->nrecs);
	if (fstat(fd, &st))
		return itab_io_error("stat");
	if (st.st_size != itab_tail_off(f) + (off_t)f->nobjects * TSARC_ID_LEN +
			  TSARC_AEAD_OVERHEAD)
		return tsarc_error_set(TSARC_ECORRUPT, "index table: its size is not the one "
			"its header gives");
	return 0;
}

/* --- writing --- */


static int itab_seal_write(itab_writer *w, char kind, uint64_t n, const uint8_t *plain, size_t len,
	uint8_t *sealed)
{
	uint8_t aad[AAD_LEN];

	itab_aad(aad, w->f.salt, kind, n);
	if (tsarc_aead_seal(w->repo->enc_key, aad, sizeof(aad), plain, len, sealed))
		return tsarc_error_set(TSARC_EGENERIC, "index table: sealing failed");
	return tsarc_write_all(w->f.fd, sealed, len + TSARC_AEAD_OVERHEAD) ? itab_io_error("write") : 0;
}

int itab_writer_begin(itab_writer *w, const tsarc_repo *repo, int fd, int keep_fence)
{
	uint8_t zero[DATA_OFF];
	int rc;

	memset(w, 0, sizeof(*w));
	w->repo = repo;
	w->f.fd = fd;
	w->keep_fence = keep_fence;
	if ((rc = tsarc_random_bytes(w->f.salt, SALT_LEN)))
		return rc;
	memset(zero, 0, sizeof(zero));
	memcpy(zero, MAGIC, sizeof(MAGIC));
	memcpy(zero + sizeof(MAGIC), w->f.salt, SALT_LEN);
	return tsarc_write_all(fd, zero, sizeof(zero)) ? itab_io_error("write") : 0;
}

static int itab_flush_block(itab_writer *w)
{
	int rc;

	if (!w->in)
		return 0;
	if (w->keep_fence) {
		if (w->f.nblocks + 1 > w->fence_cap) {
			size_t cap = w->fence_cap < 64 ? 64 : w->fence_cap * 2;
			void *g = realloc(w->fence, cap * TSARC_ID_LEN);
			if (!g)
				return tsarc_error_set(TSARC_ENOMEM, "out of memory (index table)");
			w->fence = g;
			w->fence_cap = cap;
		}
		memcpy(w->fence[w->f.nblocks], w->plain, TSARC_ID_LEN);
	}
	if ((rc = itab_seal_write(w, 'B', w->f.nblocks, w->plain, w->in * REC_LEN, w->sealed)))
		return rc;
	w->f.nblocks++;
	w->in = 0;
	return 0;
}

int itab_writer_add(itab_writer *w, const uint8_t rec[REC_LEN])
{
	memcpy(w->plain + w->in * REC_LEN, rec, REC_LEN);
	w->f.nrecs++;
	return ++w->in == BLOCK_RECS ? itab_flush_block(w) : 0;
}

int itab_writer_end(itab_writer *w, const uint8_t (*objects)[TSARC_ID_LEN], uint32_t nobjects)
{
	size_t tail = (size_t)nobjects * TSARC_ID_LEN;
	uint8_t head[HEAD_PLAIN], aad[AAD_LEN], sealed[HEAD_PLAIN + TSARC_AEAD_OVERHEAD];
	uint8_t *plain = NULL, *tsealed = NULL;
	int rc;

	if ((rc = itab_flush_block(w)))
		return rc;
	if (!(plain = malloc(tail + 1)) || !(tsealed = malloc(tail + TSARC_AEAD_OVERHEAD))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory (index table)");
		goto done;
	}
	if (nobjects)
		memcpy(plain, objects, (size_t)nobjects * TSARC_ID_LEN);
	if ((rc = itab_seal_write(w, 'T', 0, plain, tail, tsealed)))
		goto done;
	memset(head, 0, sizeof(head));
	tsarc_le32_put(head, (uint32_t)w->f.nrecs);
	tsarc_le32_put(head + 4, (uint32_t)(w->f.nrecs >> 32));
	tsarc_le32_put(head + 12, nobjects);
	tsarc_le32_put(head + 16, BLOCK_RECS);
	itab_aad(aad, w->f.salt, 'H', 0);
	if (tsarc_aead_seal(w->repo->enc_key, aad, sizeof(aad), head, sizeof(head), sealed)) {
		rc = tsarc_error_set(TSARC_EGENERIC, "index table: sealing failed");
		goto done;
	}
	if (pwrite(w->f.fd, sealed, sizeof(sealed), HEAD_OFF) != (ssize_t)sizeof(sealed))
		rc = itab_io_error("write");
	w->f.nobjects = nobjects;
done:
	free(plain);
	free(tsealed);
	return rc;
}

/* --- reading in order: the merge --- */


/* Moves to the next record (1), or says the end (0). Each run and the
 * old table must be sorted: anything else is damage. */
static int itab_cursor_next(const tsarc_repo *repo, itab_cursor *c, uint8_t *sealed)
{
	uint8_t prev[REC_LEN];
	int have = c->n > 0, rc;

	if (have)
		memcpy(prev, c->plain + c->pos * REC_LEN, REC_LEN);
	if (have && c->pos + 1 < c->n) {
		c->pos++;
	} else {
		if (have)
			c->block++;
		if (c->block >= c->f.nblocks)
			return 0;
		if ((rc = itab_read_block(repo, &c->f, c->block, sealed, c->plain)))
			return rc;
		c->n = itab_block_recs(&c->f, c->block);
		c->pos = 0;
	}
	if (have && itab_rec_cmp(prev, c->plain + c->pos * REC_LEN) > 0)
		return tsarc_error_set(TSARC_ECORRUPT, "index table is not sorted");
	return 1;
}

static const uint8_t *itab_cursor_rec(const itab_cursor *c)
{
	return c->plain + c->pos * REC_LEN;
}

static void itab_heap_down(itab_cursor **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		itab_cursor *t;
		if (l < n && itab_rec_cmp(itab_cursor_rec(h[l]), itab_cursor_rec(h[m])) < 0)
			m = l;
		if (l + 1 < n && itab_rec_cmp(itab_cursor_rec(h[l + 1]), itab_cursor_rec(h[m])) < 0)
			m = l + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

void itab_cursor_rewind(itab_cursor *c)
{
	c->block = 0;
	c->pos = c->n = 0;
}

int itab_merger_begin(itab_merger *m, const tsarc_repo *repo, itab_cursor *in, size_t nin)
{
	size_t i;
	int rc;

	memset(m, 0, sizeof(*m));
	m->repo = repo;
	if (!(m->heap = malloc((nin ? nin : 1) * sizeof(*m->heap))) ||
		!(m->sealed = malloc(BLOCK_SEALED)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory (index table)");
	for (i = 0; i < nin; i++) {
		itab_cursor_rewind(&in[i]);
		if ((rc = itab_cursor_next(repo, &in[i], m->sealed)) < 0)
			return rc;
		if (rc)
			m->heap[m->n++] = &in[i];
	}
	for (i = m->n / 2; i-- > 0;)
		itab_heap_down(m->heap, m->n, i);
	return 0;
}

int itab_merger_next(itab_merger *m, const uint8_t **rec)
{
	int rc;

	if (m->moved && m->n) {
		if ((rc = itab_cursor_next(m->repo, m->heap[0], m->sealed)) < 0)
			return rc;
		if (!rc)
			m->heap[0] = m->heap[--m->n];
		itab_heap_down(m->heap, m->n, 0);
	}
	m->moved = 1;
	if (!m->n)
		return 0;
	*rec = itab_cursor_rec(m->heap[0]);
	return 1;
}

void itab_merger_end(itab_merger *m)
{
	free(m->heap);
	free(m->sealed);
	m->heap = NULL;
	m->sealed = NULL;
}

int itab_merge(const tsarc_repo *repo, itab_cursor *in, size_t nin, itab_writer *w)
{
	itab_merger m;
	const uint8_t *rec;
	int rc;

	if (!(rc = itab_merger_begin(&m, repo, in, nin)))
		while ((rc = itab_merger_next(&m, &rec)) > 0)
			if ((rc = itab_writer_add(w, rec)))
				break;
	itab_merger_end(&m);
	return rc;
}

/* --- sorted runs --- */

size_t tsarc_index_table_run_recs = TSARC_INDEX_TABLE_RUN_RECS;

int itab_scratch_file(int dirfd, const char *where, tsarc_tmpfile *t, int unnamed, int *wfd,
	int *rfd)
{
	int rc;

	if ((rc = tsarc_tmpfile_open(t, dirfd, where, ".tmp-")))
		return rc;
	if ((*rfd = openat(dirfd, t->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = itab_io_error("open a temporary file");
		tsarc_tmpfile_discard(t);
		return rc;
	}
	*wfd = t->fd;
	if (unnamed)
		(void)unlinkat(dirfd, t->name, 0);
	return 0;
}

int itab_tmpdir_open(const char **where)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	*where = tmp && tmp[0] == '/' ? tmp : "/tmp";
	if ((fd = open(*where, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return itab_io_error("open the temporary folder");
	return fd;
}

/* A new input at the end of r->in: a run's (level 0) unless said. */
static int runs_slot(itab_runs *r, itab_cursor **c)
{
	int rc;

	if ((rc = TSARC_RESERVE(r->in, r->nin, r->in_cap, 16)))
		return rc;
	*c = &r->in[r->nin];
	memset(*c, 0, sizeof(**c));
	(*c)->f.fd = -1;
	if (!((*c)->plain = malloc(BLOCK_PLAIN)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory (index table)");
	r->nin++;
	return 0;
}

int itab_runs_input(itab_runs *r, itab_cursor **c)
{
	int rc = runs_slot(r, c);

	if (!rc)
		(*c)->level = -1;
	return rc;
}

/* A run being written to an unnamed file, read back through rfd; with
 * `unique` the record last written, so that a repeat is dropped. */
typedef struct run_out {
	itab_writer *w;
	int wfd, rfd, have;
	uint8_t last[REC_LEN];
} run_out;

static int run_begin(const itab_runs *r, run_out *o)
{
	tsarc_tmpfile tf;
	int rc;

	memset(o, 0, sizeof(*o));
	o->wfd = o->rfd = -1;
	if (!(o->w = malloc(sizeof(*o->w))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory (index table)");
	if ((rc = itab_scratch_file(r->dirfd, r->where, &tf, 1, &o->wfd, &o->rfd)))
		return rc;
	return itab_writer_begin(o->w, r->repo, o->wfd, 0);
}

static int run_put(const itab_runs *r, run_out *o, const uint8_t rec[REC_LEN])
{
	if (r->unique && o->have && !memcmp(o->last, rec, REC_LEN))
		return 0;
	memcpy(o->last, rec, REC_LEN);
	o->have = 1;
	return itab_writer_add(o->w, rec);
}

/* Ends the run (rc: an error met while writing it) as input *c of the
 * given level, read from its start; its files are closed either way but
 * the one c then reads. */
static int run_end(run_out *o, int rc, itab_cursor *c, int level)
{
	if (!rc)
		rc = itab_writer_end(o->w, NULL, 0);
	if (o->wfd >= 0)
		close(o->wfd);
	if (!rc) {
		c->f = o->w->f;
		c->f.fd = o->rfd;
		o->rfd = -1;
		c->level = level;
		itab_cursor_rewind(c);
	}
	if (o->rfd >= 0)
		close(o->rfd);
	free(o->w);
	return rc;
}

/* The inputs have reached the fan-in: the newest runs of the lowest level
 * (with those of the next levels while they are fewer than two) merged
 * into one run a level up, their files closed (index_table_file.h). */
static int runs_fan_in(itab_runs *r)
{
	size_t from = r->nin, i;
	int level = -1, rc;
	itab_cursor out;
	itab_merger m;
	const uint8_t *rec;
	run_out o;

	while (from > 0 && r->in[from - 1].level >= 0 &&
		(r->nin - from < 2 || r->in[from - 1].level == level))
		level = r->in[--from].level;
	if (r->nin - from < 2)
		return 0; /* inputs of the caller's: none to merge */
	if (!(rc = run_begin(r, &o))) {
		if (!(rc = itab_merger_begin(&m, r->repo, r->in + from, r->nin - from)))
			while ((rc = itab_merger_next(&m, &rec)) > 0 && !(rc = run_put(r, &o, rec)))
				;
		itab_merger_end(&m);
	}
	memset(&out, 0, sizeof(out));
	if ((rc = run_end(&o, rc, &out, level + 1)))
		return rc;
	for (i = from; i < r->nin; i++) {
		close(r->in[i].f.fd);
		if (i > from)
			free(r->in[i].plain);
	}
	out.plain = r->in[from].plain;
	r->in[from] = out;
	r->nin = from + 1;
	return 0;
}

int itab_runs_flush(itab_runs *r)
{
	itab_cursor *c = NULL;
	run_out o;
	size_t i;
	int rc;

	if (!r->n)
		return 0;
	qsort(r->recs, r->n, REC_LEN, itab_rec_cmp);
	rc = run_begin(r, &o);
	for (i = 0; i < r->n && !rc; i++)
		rc = run_put(r, &o, r->recs + i * REC_LEN);
	if (!rc)
		rc = runs_slot(r, &c);
	if ((rc = run_end(&o, rc, c, 0)))
		return rc;
	r->n = 0;
	return r->nin >= ITAB_RUNS_FAN_IN ? runs_fan_in(r) : 0;
}

int itab_runs_add(itab_runs *r, const uint8_t rec[REC_LEN])
{
	if (!r->run_recs)
		r->run_recs = tsarc_index_table_run_recs ? tsarc_index_table_run_recs : 1;
	if (!r->recs && !(r->recs = malloc(r->run_recs * REC_LEN)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory (index table)");
	memcpy(r->recs + r->n++ * REC_LEN, rec, REC_LEN);
	return r->n == r->run_recs ? itab_runs_flush(r) : 0;
}

int itab_runs_open(itab_runs *r, const tsarc_repo *repo, size_t run_recs)
{
	const char *where;

	r->repo = repo;
	r->run_recs = run_recs;
	if ((r->dirfd = itab_tmpdir_open(&where)) < 0)
		return r->dirfd;
	r->where = where;
	return 0;
}

void itab_runs_close(itab_runs *r)
{
	itab_runs_dispose(r);
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = -1;
}

void itab_runs_dispose(itab_runs *r)
{
	size_t i;

	for (i = 0; i < r->nin; i++) {
		if (r->in[i].f.fd >= 0)
			close(r->in[i].f.fd);
		free(r->in[i].plain);
	}
	free(r->in);
	free(r->recs);
	r->in = NULL;
	r->recs = NULL;
	r->nin = r->n = 0;
}
