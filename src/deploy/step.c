#define _GNU_SOURCE /* vasprintf */
/*
 * What the component kinds share to restore a step: the step's component
 * and transport, the connection resolved before the first write, notes
 * and progress, and feeding a snapshot stream into a command so that a
 * consumer never sees a clean end of a partial stream.
 */
#include "kind.h"
#include "error_save.h"
#include "filter.h"
#include "extract.h"
#include "fileio.h"
#include "repo.h"
#include "snapshot.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

void tsarc_restore_progress(tsarc_restore_ctx *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!r->o->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->o->progress(r->o->progress_payload, line);
}

int tsarc_str_in_array(const cJSON *arr, const char *s)
{
	const cJSON *v;

	if (!s)
		return 0;
	cJSON_ArrayForEach(v, arr)
		if (cJSON_IsString(v) && !strcmp(v->valuestring, s))
			return 1;
	return 0;
}

void tsarc_step_note(tsarc_step *s, const char *fmt, ...)
{
	va_list ap;
	char *t = NULL;

	va_start(ap, fmt);
	if (vasprintf(&t, fmt, ap) < 0)
		t = NULL;
	va_end(ap);
	free(s->note);
	s->note = t;
}

/* Where a component or hook runs: its own "transport", this host for an
 * external database, else the deployment's transport. */
int tsarc_step_transport(tsarc_restore_ctx *r, const cJSON *spec, tsarc_transport **out)
{
	const char *type = tsarc_spec_str(spec, "transport");

	if (tsarc_spec_bool(spec, "external", 0))
		type = "local";
	if (!type) {
		*out = r->deftr;
		return 0;
	}
	return tsarc_transports_get(&r->tr, type, out);
}

int tsarc_step_in_pod(tsarc_restore_ctx *r, const tsarc_step *s)
{
	tsarc_transport *tr;
	int pod = 0;

	if (!tsarc_step_transport(r, s->spec, &tr))
		pod = (tr->caps & TSARC_TR_IN_WORKLOAD) && !tsarc_spec_bool(s->spec, "external", 0);
	tsarc_error_clear();
	return pod;
}

int tsarc_step_admitted_word(tsarc_step *s, const char *key, const char *text)
{
	if ((!s->admitted && !(s->admitted = cJSON_CreateObject())) ||
		!cJSON_AddStringToObject(s->admitted, key, text))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return 0;
}

void tsarc_step_plan_admitted(const tsarc_step *s, cJSON *plan)
{
	const cJSON *w;

	cJSON_ArrayForEach(w, s->admitted)
		cJSON_AddItemToObject(plan, w->string, cJSON_Duplicate(w, 1));
}

int tsarc_step_component(tsarc_restore_ctx *r, const tsarc_step *s, tsarc_component *c)
{
	memset(c, 0, sizeof(*c));
	c->name = s->component;
	c->kind = s->kind;
	c->spec = s->spec;
	c->stream = s->st ? s->st->name : NULL;
	c->required = tsarc_spec_bool(s->spec, "required", 1);
	c->external = tsarc_spec_bool(s->spec, "external", 0);
	c->resources = r->deftr;
	return tsarc_step_transport(r, s->spec, &c->tr);
}

/* A copy of the connection resolved before the first write (see
 * resolve_targets): a step never looks its endpoint up again, when the
 * Secrets may already be the snapshot's. */
int tsarc_step_conn(const tsarc_step *s, tsarc_conn *conn)
{
	memset(conn, 0, sizeof(*conn));
	if (!s->has_conn)
		return tsarc_error_set(TSARC_EINVAL, "component '%s': its endpoint was not resolved "
			"before the restore", s->component);
	return tsarc_conn_dup(&s->conn, conn);
}

void tsarc_component_clear(tsarc_component *c)
{
	free(c->pod);
	free(c->container);
	free(c->selector);
	c->pod = c->container = c->selector = NULL;
}

static int write_all(int fd, const void *buf, size_t len)
{
	if (tsarc_write_all(fd, buf, len))
		return tsarc_error_set(errno == EPIPE ? TSARC_ECANCELED : TSARC_EIO,
			"writing to the restore command: %s", strerror(errno));
	return 0;
}

/* What feeds a consumer: `pre` goes out with the first bytes the filters
 * let through, not before, so a stream that cannot be read at all, or one
 * a filter refuses or keeps nothing of, never lets a preamble run on its
 * own (a clean load's drops every table). It is the kind's own input, not
 * the snapshot's: it goes past the filters as it is (a kind's preamble
 * ends on a statement's end). */
typedef struct feeder {
	int fd;
	const char *pre;
	unsigned long long sent; /* bytes written, preamble included */
	unsigned long long read; /* bytes of the stream fed in */
	/* The stream's filters (filter.h), or none. */
	tsarc_filter_chain *chain;
} feeder;

/* Bytes for the consumer, after the preamble if it has not gone yet. */
static int emit(feeder *f, const uint8_t *data, size_t len)
{
	int rc;

	if (f->pre) {
		if ((rc = write_all(f->fd, f->pre, strlen(f->pre))))
			return rc;
		f->sent += strlen(f->pre);
		f->pre = NULL;
	}
	if (len && (rc = write_all(f->fd, data, len)))
		return rc;
	f->sent += len;
	return 0;
}

static int feed_sink(void *payload, const uint8_t *data, size_t len)
{
	feeder *f = payload;
	int rc;

	f->read += len;
	if ((rc = tsarc_filter_chain_piece(f->chain, &data, &len)))
		return rc;
	return len ? emit(f, data, len) : 0;
}

/*
 * Streams `st` (between `pre` and `post`, may be NULL) into `cmd` run
 * through the component's transport. Any failure while feeding it (damage,
 * a store that cannot be read or reached, a write that fails, an
 * interruption) aborts the consumer, its whole process group, before its
 * input is closed: a loader never sees a clean end of a partial stream
 * (mysql, psql and GNU tar take one for the end of the dump and apply
 * it). A consumer out of reach of that kill (in a pod) is told the
 * input's size first and its end after the last byte (tsarc_proc's
 * input_size): there, the transport kills it when its input ends short.
 * A failure of the consumer itself is reported with its stderr.
 */
int tsarc_restore_stream_into(tsarc_restore_ctx *r, tsarc_component *c, const tsarc_cmd *cmd,
	const tsarc_stream *st, const char *pre, const char *post, const char *what)
{
	return tsarc_restore_stream_filtered(r, c, cmd, st, pre, post, what, NULL);
}

typedef struct filtered_counter {
	tsarc_filter_chain chain;
	unsigned long long size;
} filtered_counter;

static int count_sink(void *payload, const uint8_t *data, size_t len)
{
	filtered_counter *k = payload;
	int rc;

	if ((rc = tsarc_filter_chain_piece(&k->chain, &data, &len)))
		return rc;
	k->size += len;
	return 0;
}

/*
 * The size of a stream once filtered, found by a first pass through fresh
 * copies of the same filters (their output does not depend on how the
 * stream is split). A consumer in a pod is framed by the size of its
 * input, and only this pass knows it; the pass also reads and verifies
 * the whole stream, and the filters' verdict on it, before the consumer
 * gets its first byte (tsarc_restore_stream_check: a consumer that
 * applies as it reads gets it wherever it runs).
 */
static int filtered_size(tsarc_restore_ctx *r, const tsarc_stream *st,
	const tsarc_filter_chain *chain, unsigned long long *out)
{
	filtered_counter k;
	const uint8_t *data;
	size_t len;
	int rc;

	k.size = 0;
	if ((rc = tsarc_filter_chain_fresh(chain, &k.chain)))
		return rc;
	rc = tsarc_stream_extract(r->repo, st, count_sink, &k, r->o->inflight);
	if (!rc && !(rc = tsarc_filter_chain_end(&k.chain, &data, &len)))
		k.size += len;
	tsarc_filter_chain_dispose(&k.chain);
	*out = k.size;
	return rc;
}

int tsarc_restore_stream_filtered(tsarc_restore_ctx *r, tsarc_component *c,
	const tsarc_cmd *cmd, const tsarc_stream *st, const char *pre, const char *post,
	const char *what, const tsarc_stream_filters *filters)
{
	size_t nfilters = filters ? filters->n : 0;
	unsigned long long body = st ? st->size : 0;
	tsarc_filter_chain chain;
	tsarc_proc p;
	feeder f;
	int rc, prc;
	tsarc_saved_error failed;
	char tail[512];
	const uint8_t *data;
	size_t len;

	if ((rc = tsarc_filter_chain_init(&chain, nfilters ? filters->f : NULL, nfilters)))
		return rc;
	tsarc_proc_init(&p);
	p.want_stdin = 1;
	/* Filtered, the size sent is known only after a first pass, which a
	 * consumer on this host does not need: its process group is killed
	 * before its input closes short. A stream checked before already had
	 * it. */
	p.has_input_size = !nfilters || !st || (c->tr->caps & TSARC_TR_IN_WORKLOAD);
	if (nfilters && st && filters->checked)
		body = filters->size;
	else if (nfilters && st && p.has_input_size &&
		(rc = filtered_size(r, st, &chain, &body)))
		goto out;
	p.input_size = (pre ? strlen(pre) : 0) + body + (post ? strlen(post) : 0);
	if ((rc = c->tr->spawn(c->tr, c, cmd, &p)))
		goto out;
	memset(&f, 0, sizeof(f));
	f.fd = p.in_fd;
	f.pre = pre;
	f.chain = &chain;
	rc = st ? tsarc_stream_extract(r->repo, st, feed_sink, &f, r->o->inflight) : 0;
	/* What the filters held back, or the preamble alone (an empty
	 * stream). */
	if (!rc && !(rc = tsarc_filter_chain_end(&chain, &data, &len)))
		rc = emit(&f, data, len);
	if (!rc && post && !(rc = write_all(f.fd, post, strlen(post))))
		f.sent += strlen(post);
	/* The bytes sent are checked against the size the consumer was told;
	 * filtered, the stream's own bytes are checked too. */
	if (!rc && p.has_input_size && f.sent != p.input_size)
		rc = tsarc_error_set(TSARC_ECORRUPT, "%llu bytes read for a stream of %llu",
			f.sent, p.input_size);
	if (!rc && nfilters && st && f.read != st->size)
		rc = tsarc_error_set(TSARC_ECORRUPT, "%llu bytes read for a stream of %llu",
			f.read, (unsigned long long)st->size);
	tsarc_filter_chain_dispose(&chain);
	if (!rc) {
		tsarc_proc_close_stdin(&p);
		return tsarc_proc_finish(&p, what);
	}
	tsarc_error_save(&failed);
	tsarc_proc_abort(&p);
	prc = tsarc_proc_finish(&p, what);
	if (rc == TSARC_ECANCELED) {
		/* It stopped reading (EPIPE): its own end explains, unless that
		 * end was our SIGKILL (it closed its input but kept running). */
		if (prc && !(WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGKILL)) {
			tsarc_error_forget(&failed);
			return prc;
		}
		tsarc_error_forget(&failed);
		tsarc_proc_tail(&p, tail, sizeof(tail));
		return tsarc_error_set(TSARC_EIO, "%s stopped reading its input before the end of "
			"the stream and was stopped%s%s", what, tail[0] ? "; its stderr ended with:\n" : "",
			tail);
	}
	tsarc_error_restore(&failed);
	return tsarc_error_set(rc, "%s; %s was stopped before the end of its input",
		tsarc_error_last()->message, what);
out:
	tsarc_filter_chain_dispose(&chain);
	return rc;
}

int tsarc_restore_stream_check(tsarc_restore_ctx *r, const tsarc_stream *st,
	tsarc_stream_filters *filters)
{
	tsarc_filter_chain chain;
	int rc;

	if ((rc = tsarc_filter_chain_init(&chain, filters->f, filters->n)))
		return rc;
	rc = filtered_size(r, st, &chain, &filters->size);
	tsarc_filter_chain_dispose(&chain);
	filters->checked = !rc;
	return rc;
}

/* The head check's reader: the stream through the chain until it has
 * settled. */
typedef struct head_reader {
	tsarc_filter_chain chain;
	int settled;
} head_reader;

/* Whether the stages of `c` that can say so (filter.h settled) all let
 * the rest through as it is; 0 when none can (read on to the end). The
 * others (the psql guard, which judges every byte) are fed as far as the
 * read goes, and refuse what they refuse there, but are not waited for. */
static int chain_settled(const tsarc_filter_chain *c)
{
	size_t i;
	int judges = 0;

	for (i = 0; i < c->n; i++) {
		if (!c->f[i].ops->settled)
			continue;
		if (!c->f[i].ops->settled(c->f[i].self))
			return 0;
		judges = 1;
	}
	return judges;
}

static int head_sink(void *payload, const uint8_t *data, size_t len)
{
	head_reader *h = payload;
	int rc;

	if ((rc = tsarc_filter_chain_piece(&h->chain, &data, &len)))
		return rc;
	if (!chain_settled(&h->chain))
		return 0;
	h->settled = 1;
	return tsarc_error_set(TSARC_ECANCELED, "read as far as the filters decide");
}

int tsarc_restore_stream_head_check(tsarc_restore_ctx *r, const tsarc_stream *st,
	const tsarc_stream_filters *filters)
{
	tsarc_filter_chain given;
	head_reader h;
	const uint8_t *data;
	size_t len;
	int rc;

	if ((rc = tsarc_filter_chain_init(&given, filters->f, filters->n)))
		return rc;
	rc = tsarc_filter_chain_fresh(&given, &h.chain);
	tsarc_filter_chain_dispose(&given);
	if (rc)
		return rc;
	h.settled = 0;
	rc = tsarc_stream_extract(r->repo, st, head_sink, &h, r->o->inflight);
	if (rc == TSARC_ECANCELED && h.settled) {
		tsarc_error_clear();
		rc = 0;
	} else if (!rc) {
		rc = tsarc_filter_chain_end(&h.chain, &data, &len);
	}
	tsarc_filter_chain_dispose(&h.chain);
	return rc;
}

/* Reads a whole (small) stream into memory. */
typedef struct membuf {
	tsarc_buf *b;
	size_t max;
} membuf;

static int mem_sink(void *payload, const uint8_t *data, size_t len)
{
	membuf *m = payload;

	if (m->b->size + len > m->max)
		return tsarc_error_set(TSARC_ETOOLARGE, "larger than %zu bytes", m->max);
	return tsarc_buf_append(m->b, data, len);
}

int tsarc_restore_read_stream(tsarc_restore_ctx *r, const tsarc_stream *st, size_t max,
	tsarc_buf *out)
{
	membuf m;

	/* A resources stream: Secrets. Each block it outgrows is wiped, and
	 * its dispose wipes the last. */
	out->wipe = 1;
	m.b = out;
	m.max = max;
	return tsarc_stream_extract(r->repo, st, mem_sink, &m, r->o->inflight);
}
