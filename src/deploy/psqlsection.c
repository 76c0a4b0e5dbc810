/*
 * One database's part of a pg_dumpall (psqlsection.h): lines read as psql
 * reads them (the guard's lexer, check only), the part's markers found
 * among the lines psql would read as commands of their own.
 */
#include "psqlsection.h"
#include "filter.h"
#include "psqlguard.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest line held while it may still be a marker: `\connect ` and a
 * name (PostgreSQL's are at most 63 bytes), or the "complete" line. */
#define LINE_HOLD 128

static const char CONNECT[] = "\\connect ";
static const char COMPLETE[] = "-- PostgreSQL database dump complete";

enum where { BEFORE, INSIDE, AFTER };

struct tsarc_psql_section {
	char *db;
	tsarc_psql_guard *lex;   /* reads the stream as psql does */
	enum where where;
	int line_start;          /* the next byte begins a line */
	int holding;             /* the line so far is held: it may be a marker */
	char line[LINE_HOLD];
	size_t llen;
	unsigned long long off;  /* bytes read */
	unsigned long long line_off; /* where the line read began */
	char seen[200];          /* the other databases connected to, for errors */
	int seen_more;
};

int tsarc_psql_section_new(const char *database, tsarc_psql_section **out)
{
	tsarc_psql_section *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s || !(s->db = strdup(database))) {
		free(s);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	if ((rc = tsarc_psql_guard_new(&s->lex))) {
		tsarc_psql_section_free(s);
		return rc;
	}
	s->line_start = 1;
	*out = s;
	return 0;
}

void tsarc_psql_section_free(tsarc_psql_section *s)
{
	if (!s)
		return;
	tsarc_psql_guard_free(s->lex);
	free(s->db);
	free(s);
}

/* Bytes of the stream: the part's go to `out`, the rest nowhere. */
static int keep(const tsarc_psql_section *s, const void *p, size_t n, tsarc_buf *out)
{
	return s->where == INSIDE && out && n ? tsarc_buf_append(out, p, n) : 0;
}

/* Whether h[0..n) may be the start of a marker line. */
static int may_be_marker(const char *h, size_t n)
{
	size_t c = sizeof(CONNECT) - 1, e = sizeof(COMPLETE) - 1;

	return !memcmp(h, CONNECT, n < c ? n : c) || !memcmp(h, COMPLETE, n < e ? n : e);
}

/* A database the dump connects to, named once (pg_dump reconnects). */
static void note_seen(tsarc_psql_section *s, const char *name, size_t n)
{
	size_t used = strlen(s->seen), len;
	const char *p, *e;

	for (p = s->seen; *p; p = e + 2) {
		e = strstr(p, ", ");
		len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && !memcmp(p, name, n))
			return;
		if (!e)
			break;
	}
	if (used + n + 3 > sizeof(s->seen)) {
		s->seen_more = 1;
		return;
	}
	snprintf(s->seen + used, sizeof(s->seen) - used, "%s%.*s", used ? ", " : "", (int)n, name);
}

/* A held line, whole (or the last, without its newline): a marker acts,
 * another line goes where the part says. */
static int line_end(tsarc_psql_section *s, tsarc_buf *out)
{
	size_t held = s->llen, n = held, c = sizeof(CONNECT) - 1;
	const char *name = s->line + c;

	s->holding = 0;
	s->llen = 0;
	if (n && s->line[n - 1] == '\n')
		n--;
	if (n && s->line[n - 1] == '\r')
		n--;
	if (n == sizeof(COMPLETE) - 1 && !memcmp(s->line, COMPLETE, n)) {
		/* The part ends here: this line and the rest stay out. */
		if (s->where == INSIDE)
			s->where = AFTER;
		return 0;
	}
	if (n > c && !memcmp(s->line, CONNECT, c)) {
		if (n - c == strlen(s->db) && !memcmp(name, s->db, n - c)) {
			if (s->where == AFTER)
				return tsarc_error_set(TSARC_ECORRUPT, "the whole server's dump holds "
					"database %s twice (a second \\connect %s at byte %llu)", s->db, s->db,
					s->line_off);
			/* The part begins; or pg_dump reconnects within it, and psql
			 * stays where it is: in the load's session. */
			s->where = INSIDE;
			return 0;
		}
		if (s->where != INSIDE) {
			note_seen(s, name, n - c);
			return 0;
		}
	}
	/* The held bytes, with their newline. */
	return keep(s, s->line, held, out);
}

/* A piece of a line that began between statements (p[0..n), the line's
 * end if `ended`): held while it may be a marker. */
static int hold(tsarc_psql_section *s, const char *p, size_t n, int ended, tsarc_buf *out)
{
	int rc;

	if (s->llen + n > sizeof(s->line)) {
		s->holding = 0;
		if ((rc = keep(s, s->line, s->llen, out)))
			return rc;
		s->llen = 0;
		return keep(s, p, n, out);
	}
	memcpy(s->line + s->llen, p, n);
	s->llen += n;
	if (!may_be_marker(s->line, s->llen)) {
		s->holding = 0;
		rc = keep(s, s->line, s->llen, out);
		s->llen = 0;
		return rc;
	}
	return ended ? line_end(s, out) : 0;
}

int tsarc_psql_section_feed(tsarc_psql_section *s, const void *data, size_t len, tsarc_buf *out)
{
	const char *p = data, *nl;
	size_t n;
	int rc;

	while (len) {
		nl = memchr(p, '\n', len);
		n = nl ? (size_t)(nl - p) + 1 : len;
		if (s->line_start) {
			/* Only a line psql reads as a command of its own is a
			 * marker: never one of COPY data, a string or a comment. */
			s->line_start = 0;
			s->holding = tsarc_psql_guard_between(s->lex);
			s->llen = 0;
			s->line_off = s->off;
		}
		if ((rc = tsarc_psql_guard_feed(s->lex, p, n, NULL)))
			return rc;
		rc = s->holding ? hold(s, p, n, nl != NULL, out) : keep(s, p, n, out);
		if (rc)
			return rc;
		s->off += n;
		s->line_start = nl != NULL;
		p += n;
		len -= n;
	}
	return 0;
}

int tsarc_psql_section_finish(tsarc_psql_section *s, tsarc_buf *out)
{
	int rc;

	if ((rc = tsarc_psql_guard_finish(s->lex, NULL)))
		return rc;
	if (s->holding && s->llen && (rc = line_end(s, out)))
		return rc;
	if (s->where == BEFORE)
		return tsarc_error_set(TSARC_ENOTFOUND, "the whole server's dump holds no database "
			"%s (it holds %s%s)", s->db, s->seen[0] ? s->seen : "none: it is no pg_dumpall "
			"of a server", s->seen_more ? ", ..." : "");
	if (s->where == INSIDE)
		return tsarc_error_set(TSARC_ECORRUPT, "the part of database %s in the whole "
			"server's dump does not end (no \"%s\" line after its \\connect %s): the dump "
			"is incomplete", s->db, COMPLETE, s->db);
	return 0;
}

/* ---- as a stream filter (filter.h) ---- */

static int filter_feed(void *self, const void *data, size_t len, tsarc_buf *out)
{
	return tsarc_psql_section_feed(self, data, len, out);
}

static int filter_finish(void *self, tsarc_buf *out)
{
	return tsarc_psql_section_finish(self, out);
}

static int filter_fresh(const void *self, void **out)
{
	const tsarc_psql_section *s = self;
	tsarc_psql_section *n;
	int rc;

	if ((rc = tsarc_psql_section_new(s->db, &n)))
		return rc;
	*out = n;
	return 0;
}

static void filter_free(void *self)
{
	tsarc_psql_section_free(self);
}

const tsarc_filter_ops tsarc_psql_section_ops = {.feed = filter_feed, .finish = filter_finish,
	.fresh = filter_fresh, .free = filter_free};
