/*
 * The psql input guard (psqlguard.h): a byte-at-a-time lexer of what psql
 * would read as SQL, that refuses every backslash command but those a
 * dump writes, and puts the stream's own settings back before a statement
 * whose reading depends on them. It decides on each byte as it comes, so
 * any split of the input gives the same answer and the same output.
 */
#include "psqlguard.h"
#include "filter.h"
#include "psqlguard_stmt.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

/* The longest backslash command line and dollar-quote tag kept. */
#define META_MAX 512
#define TAG_MAX 256
/* The most of a statement held back before its SETs could go in front. */
#define HOLD_MAX (8u << 20)
_Static_assert(META_MAX >= TAG_MAX + 2, "one buffer holds a command line or a $tag$");

typedef enum {
	M_SQL,
	M_LINE_COMMENT,
	M_BLOCK_COMMENT,
	M_QUOTE,        /* '...', E'...', U&'...', B'...', X'...' */
	M_QUOTE_END,    /* after its closing quote: '' or a continuation may follow */
	M_DQUOTE,       /* "..." */
	M_DQUOTE_END,
	M_DOLLAR_OPEN,  /* after a $ that may open a dollar quote */
	M_DOLLAR,       /* inside $tag$...$tag$ */
	M_META,         /* a backslash command, to the end of its line */
	M_COPY          /* COPY ... FROM stdin data, to a line \. */
} mode;

/* How a string reads a backslash (psqlscan.l's xq/xe/xus/xb/xh). */
typedef enum {
	Q_PLAIN, /* '...': as standard_conforming_strings says */
	Q_ESC,   /* E'...': backslash escapes */
	Q_STD,   /* U&'...': backslash is a character */
	Q_BITS   /* B'...', X'...': likewise, and no '' inside */
} qkind;

struct tsarc_psql_guard {
	mode m, saved;          /* saved: the SQL mode to go back to after COPY data */
	unsigned long long off; /* bytes seen */
	int dash, slash, star;  /* a '-', '/' or '*' just before (comment marks) */
	int depth;              /* block comment nesting */
	qkind q;
	int bs_odd;             /* in a quote: an odd run of backslashes just before */
	int xs, xs_dash, xs_comment; /* M_QUOTE_END: psql's xqs lookahead */
	int in_ident, in_number, glued, amp_u;
	/* M_META: the command line so far; M_DOLLAR_OPEN, M_DOLLAR: "$tag$",
	 * which closes the dollar quote (tmatch bytes of it seen). */
	char buf[META_MAX + 1];
	size_t blen, tmatch;
	int copy_pending;       /* a COPY FROM stdin statement ended on this line */
	int line_start;         /* COPY data: at the start of a line */
	char cline[4];          /* COPY data: the start of the line, for \. */
	size_t clen;
	int shadow;             /* bytes left that a byte >= 0x80 may take in */
	tsarc_psql_stmt st;
	/* The statement psql's query buffer holds: anything in it yet, its
	 * settings put in front already, or can they still be (its bytes
	 * held back from the last point psql sent something, held_len). */
	int nonempty, forced, holding;
	size_t held_len;
	tsarc_buf held;
	int ev_force, ev_sent, ev_hold; /* for feed: what the byte just read did */
	int one_database;               /* \connect refused too */
	char sets[PSQL_SETS_MAX];       /* ev_force: the SETs to put in front */
};

static int refuse(tsarc_psql_guard *g, const char *why)
{
	return tsarc_error_set(TSARC_EUNSAFE, "the SQL stream holds %s at byte %llu: psql is not "
		"given it (it would run what its backslash commands say on the host)", why, g->off);
}

int tsarc_psql_guard_new(tsarc_psql_guard **out)
{
	if (!(*out = calloc(1, sizeof(**out))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	(*out)->holding = 1; /* the start of the stream: its SETs can go first */
	return 0;
}

void tsarc_psql_guard_one_database(tsarc_psql_guard *g)
{
	g->one_database = 1;
}

int tsarc_psql_guard_between(const tsarc_psql_guard *g)
{
	return g->m == M_SQL && !g->nonempty && !g->copy_pending && !g->dash && !g->slash;
}

/* A backslash command line as psql would run it: refused, or allowed. */
static int meta_check(tsarc_psql_guard *g)
{
	int rc = tsarc_psql_meta_allowed(&g->st, g->buf, g->blen);

	if (rc < 0)
		return refuse(g, "a backslash command other than \\connect, \\restrict or "
			"\\unrestrict with a plain name");
	if (rc == 1 && g->one_database)
		return tsarc_error_set(TSARC_EUNSAFE, "the SQL stream holds a \\connect at byte %llu, "
			"in a load into one database: psql is not given it (it would leave the load's "
			"database and transaction, and run the rest in another session)", g->off);
	return 0;
}

void tsarc_psql_guard_free(tsarc_psql_guard *g)
{
	if (!g)
		return;
	tsarc_buf_dispose(&g->held);
	free(g);
}

static int ident_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

static int ident_cont(unsigned char c)
{
	return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/*
 * The statement reads differently with the other standard_conforming_
 * strings (NEED_SCS) or encoding (NEED_ENC): psql must read it with the
 * stream's own, put in front of it, or it is refused.
 */
static int need(tsarc_psql_guard *g, int what)
{
	if (what == NEED_SCS && !g->st.scs)
		return refuse(g, "a backslash before a quote in a string, with no SET "
			"standard_conforming_strings before it to say what it means");
	if (what == NEED_ENC && g->st.enc != ENC_SAFE)
		return refuse(g, g->st.enc == ENC_UNSAFE ? "a byte of 0x80 or more, then a quote, "
			"backslash or other ASCII that the client encoding may take into one character "
			"with it (an encoding such as SJIS, set by the stream)" : "a byte of 0x80 or "
			"more, then ASCII that some client encodings take into one character with it, "
			"with no SET client_encoding before it");
	if (g->forced)
		return 0;
	if (!g->holding)
		return refuse(g, what == NEED_SCS ? "a backslash before a quote in a string, in a "
			"statement psql cannot be made to read with the stream's "
			"standard_conforming_strings (begun on the line of a COPY or a backslash command, "
			"or too long)" : "a byte of 0x80 or more next to ASCII that matters, in a "
			"statement psql cannot be made to read with the stream's client_encoding (begun "
			"on the line of a COPY or a backslash command, or too long)");
	/* The settings as they are now: the byte read may end a SET. */
	tsarc_psql_stmt_sets(&g->st, g->sets, sizeof(g->sets));
	g->forced = 1;
	g->ev_force = 1;
	return 0;
}

/* A statement's end, where psql sends it (or a backslash command's). */
static void sent(tsarc_psql_guard *g, int hold)
{
	g->nonempty = 0;
	g->forced = 0;
	g->ev_sent = 1;
	g->ev_hold = hold;
}

/* An identifier ended: a word of the statement (psqlguard_stmt.h). */
static void word_end(tsarc_psql_guard *g)
{
	if (!g->in_ident)
		return;
	g->in_ident = 0;
	tsarc_psql_stmt_word_end(&g->st);
}

/* What a quote after the token just read opens. -1: refused. */
static int quote_kind(tsarc_psql_guard *g, qkind *k)
{
	const char *w = g->st.word;
	int one = g->in_ident && g->st.wlen == 1;

	*k = Q_PLAIN;
	if (g->amp_u) {
		*k = Q_STD;
		return g->amp_u > 1 ? -1 : 0;
	}
	if (!one)
		return 0;
	if (w[0] == 'e')
		*k = Q_ESC;
	else if (w[0] == 'b' || w[0] == 'x')
		*k = Q_BITS;
	else
		return 0;
	return g->glued ? -1 : 0;
}

static int open_quote(tsarc_psql_guard *g, qkind k)
{
	g->m = M_QUOTE;
	g->q = k;
	g->bs_odd = 0;
	tsarc_psql_stmt_token(&g->st, NULL, 0, '\'');
	return 0;
}

/* A byte in SQL outside every quote and comment. */
static int sql_byte(tsarc_psql_guard *g, unsigned char c)
{
	int dash = g->dash, slash = g->slash, was_number, amp_u = g->amp_u;
	qkind k = Q_PLAIN;

	g->dash = g->slash = 0;
	g->amp_u = 0;
	/* A '-' or '/' that did not start a comment was a token. */
	if ((dash && c != '-') || (slash && c != '*')) {
		g->nonempty = 1;
		tsarc_psql_stmt_token(&g->st, NULL, 0, 0);
	}
	if (g->in_ident && ident_cont(c)) {
		tsarc_psql_stmt_word_byte(&g->st, c);
		return 0;
	}
	if (g->in_number && ((c >= '0' && c <= '9') || c == '.' || c == '_'))
		return 0;
	if (c == '\'') {
		g->amp_u = amp_u;
		if (quote_kind(g, &k))
			return refuse(g, "a quote right after a number and a letter (psql versions "
				"read a string prefix there differently)");
		g->amp_u = 0;
	}
	if (c == '&' && g->in_ident && g->st.wlen == 1 && g->st.word[0] == 'u')
		amp_u = 1 + g->glued;
	else
		amp_u = 0;
	word_end(g);
	was_number = g->in_number;
	g->in_number = 0;
	if (dash && c == '-') {
		g->m = M_LINE_COMMENT;
		return 0;
	}
	if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '-' ||
		    c == '\\'))
		g->nonempty = 1;
	if (slash && c == '*') {
		g->m = M_BLOCK_COMMENT;
		g->depth = 1;
		g->star = 0;
		return 0;
	}
	if (ident_start(c)) {
		g->in_ident = 1;
		g->glued = was_number;
		tsarc_psql_stmt_word_start(&g->st, c);
		return 0;
	}
	switch (c) {
	case '\\':
	case '$':
		g->m = c == '$' ? M_DOLLAR_OPEN : M_META;
		g->buf[0] = (char)c;
		g->blen = 1;
		return 0;
	case '\'':
		return open_quote(g, k);
	case '"':
		g->m = M_DQUOTE;
		return 0;
	case '-':
		g->dash = 1;
		return 0;
	case '/':
		g->slash = 1;
		return 0;
	case '&':
		g->amp_u = amp_u;
		tsarc_psql_stmt_token(&g->st, NULL, 0, 0);
		return 0;
	case ';':
		switch (tsarc_psql_stmt_semicolon(&g->st)) {
		case STMT_GOES_ON:
			return 0;
		case STMT_COPY:
			if (g->copy_pending++)
				return refuse(g, "two COPY ... FROM stdin statements on one line");
			/* Its data follows: nothing goes before what is left of
			 * the line, psql reads that after the data. */
			sent(g, 0);
			return 0;
		default:
			sent(g, !g->copy_pending);
			return 0;
		}
	case ' ': case '\t': case '\n': case '\r': case '\f': case '\v':
		return 0;
	default:
		if (c >= '0' && c <= '9')
			g->in_number = 1;
		tsarc_psql_stmt_token(&g->st, NULL, 0, (char)c);
		return 0;
	}
}

/* A byte after "$": the tag of a dollar quote, or not one. */
static int dollar_open(tsarc_psql_guard *g, unsigned char c)
{
	size_t i, n;
	char held[TAG_MAX + 2];
	int rc;

	if (c == '$') {
		g->buf[g->blen++] = '$';
		g->tmatch = 0;
		g->m = M_DOLLAR;
		tsarc_psql_stmt_token(&g->st, NULL, 0, 0);
		return 0;
	}
	if (g->blen == 1 ? ident_start(c) && c != '$' : ident_cont(c) && c != '$') {
		if (g->blen > TAG_MAX)
			return refuse(g, "a $ and a name too long to be told from a dollar quote");
		g->buf[g->blen++] = (char)c;
		return 0;
	}
	/* Not a dollar quote: "$" was a token of its own ($1 a parameter),
	 * and what followed it is read again as SQL. */
	n = g->blen;
	memcpy(held, g->buf, n);
	g->m = M_SQL;
	tsarc_psql_stmt_token(&g->st, NULL, 0, 0);
	for (i = 1; i < n; i++)
		if ((rc = sql_byte(g, (unsigned char)held[i])))
			return rc;
	return sql_byte(g, c);
}

/* A byte inside a quoted string. */
static int quote_byte(tsarc_psql_guard *g, unsigned char c)
{
	int rc;

	if (c != '\'') {
		g->bs_odd = c == '\\' && !g->bs_odd;
		tsarc_psql_stmt_string_byte(&g->st, c);
		return 0;
	}
	if (g->bs_odd && (g->q == Q_ESC || g->q == Q_PLAIN)) {
		/* 'a\' ends here with standard_conforming_strings on, not off. */
		if (g->q == Q_PLAIN && (rc = need(g, NEED_SCS)))
			return rc;
		if (g->q == Q_ESC || g->st.scs == SCS_OFF) {
			g->bs_odd = 0;
			tsarc_psql_stmt_string_byte(&g->st, c);
			return 0;
		}
	}
	g->m = M_QUOTE_END;
	g->xs = g->xs_dash = g->xs_comment = 0;
	return 0;
}

/*
 * After a string's closing quote, psql's xqs state: another quote right
 * after it doubles it (not after B'' or X''), and one after whitespace
 * holding a newline (\r; psql's lines hold no \n, but the state outlives
 * the end of a line if the quote ended it) goes on with the same string.
 * xs: 0 right after the quote, 1 after blanks or a -- comment, 2 after a
 * newline, 3 on a new line right after the quote.
 */
static int quote_end_byte(tsarc_psql_guard *g, unsigned char c)
{
	int rc;

	if (g->xs_comment) {
		if (c == '\r') {
			g->xs_comment = 0;
			g->xs = 2;
			return 0;
		}
		if (c != '\n')
			return 0;
		g->m = M_SQL; /* the comment ended with the line: no continuation */
		return sql_byte(g, c);
	}
	if (g->xs_dash) {
		g->xs_dash = 0;
		if (c == '-') {
			g->xs_comment = 1;
			if (g->xs == 0 || g->xs == 3)
				g->xs = 1;
			return 0;
		}
		g->m = M_SQL;
		if ((rc = sql_byte(g, '-')))
			return rc;
		return sql_byte(g, c);
	}
	if (c == '\'' && (g->xs == 2 || (g->xs == 0 && g->q != Q_BITS))) {
		/* '' or a continuation: the same string goes on. */
		g->m = M_QUOTE;
		g->bs_odd = 0;
		tsarc_psql_stmt_string_more(&g->st);
		return 0;
	}
	if (c == '\n' && (g->xs == 0 || g->xs == 3)) {
		g->xs = 3;
		return 0;
	}
	if (c == ' ' || c == '\t' || c == '\f') {
		if (g->xs != 2)
			g->xs = 1;
		return 0;
	}
	if (c == '\r') {
		g->xs = 2;
		return 0;
	}
	if (c == '-') {
		g->xs_dash = 1;
		return 0;
	}
	g->m = M_SQL;
	return sql_byte(g, c);
}

static int step(tsarc_psql_guard *g, unsigned char c)
{
	int star, slash, rc;

	if (c == '\0')
		return refuse(g, "a NUL byte");
	switch (g->m) {
	case M_SQL:
		return sql_byte(g, c);
	case M_LINE_COMMENT:
		/* psql's comment ends at a carriage return too: what follows it
		 * on the line is SQL again. */
		if (c == '\n' || c == '\r')
			g->m = M_SQL;
		return 0;
	case M_BLOCK_COMMENT:
		star = g->star;
		slash = g->slash;
		g->star = g->slash = 0;
		if (star && c == '/') {
			if (--g->depth == 0)
				g->m = M_SQL;
		} else if (slash && c == '*') {
			g->depth++;
		} else if (c == '*') {
			g->star = 1;
		} else if (c == '/') {
			g->slash = 1;
		}
		return 0;
	case M_QUOTE:
		return quote_byte(g, c);
	case M_QUOTE_END:
		return quote_end_byte(g, c);
	case M_DQUOTE:
		if (c == '"')
			g->m = M_DQUOTE_END;
		return 0;
	case M_DQUOTE_END:
		if (c == '"') {
			g->m = M_DQUOTE;
			return 0;
		}
		g->m = M_SQL;
		tsarc_psql_stmt_token(&g->st, NULL, 1, 0);
		return sql_byte(g, c);
	case M_DOLLAR_OPEN:
		return dollar_open(g, c);
	case M_DOLLAR:
		if (c == (unsigned char)g->buf[g->tmatch]) {
			if (++g->tmatch == g->blen)
				g->m = M_SQL;
		} else {
			g->tmatch = c == '$';
		}
		return 0;
	case M_META:
		if (c != '\n') {
			if (g->blen >= META_MAX)
				return refuse(g, "a backslash command");
			g->buf[g->blen++] = (char)c;
			return 0;
		}
		if ((rc = meta_check(g)))
			return rc;
		g->m = M_SQL;
		/* psql ran it there: after \connect, with settings unknown. A
		 * statement begun before it cannot have them put in front. */
		if (g->nonempty) {
			g->forced = 0;
			g->ev_sent = 1;
			g->ev_hold = 0;
		} else {
			sent(g, 1);
		}
		return 0;
	case M_COPY:
		break;
	}
	return 0;
}

/* COPY data: lines, to one that is exactly \. (psql's end of the data). */
static int copy_byte(tsarc_psql_guard *g, unsigned char c)
{
	if (c == '\0')
		return refuse(g, "a NUL byte");
	if (!g->line_start) {
		g->line_start = c == '\n';
		return 0;
	}
	if (g->clen == 0 && c != '\\') {
		g->line_start = c == '\n';
		return 0;
	}
	g->cline[g->clen++] = (char)c;
	if (g->clen == 2 && g->cline[1] != '.') {
		g->clen = 0;
		g->line_start = c == '\n';
		return 0;
	}
	if (g->clen < 3 || (g->clen == 3 && c == '\r'))
		return 0;
	if (c != '\n')
		return refuse(g, "a line of COPY data that starts with \\. but is not the end mark");
	g->clen = 0;
	g->m = g->saved;
	g->line_start = 0;
	/* The data went in: the next statement can have SETs in front,
	 * unless the COPY's line began one. */
	g->ev_sent = 1;
	g->ev_hold = !g->nonempty;
	return 0;
}

/* An ASCII byte that a byte of 0x80 or more just before may take into one
 * character with it (in SJIS and the like), where psql's reading would
 * change: any but letters and digits in SQL, the quote or the closing
 * mark of a quote or comment. */
static int encoding_matters(const tsarc_psql_guard *g, unsigned char c)
{
	if (c >= 0x80 || c == '\n')
		return 0;
	switch (g->m) {
	case M_QUOTE:
		return c == '\'' || c == '\\';
	case M_DQUOTE:
		return c == '"';
	case M_DOLLAR:
		return c == '$';
	case M_BLOCK_COMMENT:
		return c == '*' || c == '/';
	case M_LINE_COMMENT:
		return c == '\r';
	default:
		return !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '_');
	}
}

/* Bytes read go to psql's output, or are held while the statement they
 * belong to may still need its SETs in front. */
static int route(tsarc_psql_guard *g, const unsigned char *p, size_t n, tsarc_buf *out)
{
	if (!n)
		return 0;
	if (g->holding) {
		g->held_len += n;
		return out ? tsarc_buf_append(&g->held, p, n) : 0;
	}
	return out ? tsarc_buf_append(out, p, n) : 0;
}

static int flush_held(tsarc_psql_guard *g, tsarc_buf *out)
{
	int rc = 0;

	if (out && g->held.size)
		rc = tsarc_buf_append(out, g->held.ptr, g->held.size);
	tsarc_buf_clear(&g->held);
	g->held_len = 0;
	g->holding = 0;
	return rc;
}

int tsarc_psql_guard_feed(tsarc_psql_guard *g, const void *data, size_t len, tsarc_buf *out)
{
	const unsigned char *p = data;
	size_t i, start = 0;
	int rc;

	for (i = 0; i < len; i++, g->off++) {
		if (g->m == M_COPY) {
			/* Within a line of data: nothing but its end matters. */
			if (!g->line_start && g->clen == 0) {
				const unsigned char *nl = memchr(p + i, '\n', len - i);
				size_t n = nl ? (size_t)(nl - (p + i)) : len - i;
				const unsigned char *nul = memchr(p + i, '\0', n);
				if (nul) {
					/* Named where it is, however the input came in. */
					g->off += (size_t)(nul - (p + i));
					return refuse(g, "a NUL byte");
				}
				g->off += n;
				i += n;
				if (!nl)
					break;
			}
			if ((rc = copy_byte(g, p[i])))
				return rc;
		} else {
			if (g->shadow && encoding_matters(g, p[i]) && (rc = need(g, NEED_ENC)))
				return rc;
			g->shadow = p[i] >= 0x80 ? 3 : p[i] == '\n' || !g->shadow ? 0 : g->shadow - 1;
			if ((rc = step(g, p[i])))
				return rc;
			/* COPY data begins with the line after its statement, whatever
			 * the rest of that line holds (psql reads it after the data). */
			if (p[i] == '\n' && g->copy_pending) {
				g->copy_pending = 0;
				g->saved = g->m;
				g->m = M_COPY;
				g->line_start = 1;
				g->clen = 0;
			}
		}
		if (g->ev_force) {
			/* The SETs go where psql last sent something, on a line of
			 * their own, then the statement from its start. */
			g->ev_force = 0;
			if ((rc = route(g, p + start, i - start, out)))
				return rc;
			start = i;
			if (out && (rc = tsarc_buf_puts(out, g->sets)))
				return rc;
			if ((rc = flush_held(g, out)))
				return rc;
		}
		if (g->ev_sent) {
			g->ev_sent = 0;
			if ((rc = route(g, p + start, i + 1 - start, out)) || (rc = flush_held(g, out)))
				return rc;
			start = i + 1;
			g->holding = g->ev_hold;
		} else if (g->holding && g->held_len + (i + 1 - start) > HOLD_MAX) {
			if ((rc = route(g, p + start, i + 1 - start, out)) || (rc = flush_held(g, out)))
				return rc;
			start = i + 1;
		}
	}
	return route(g, p + start, (i < len ? i : len) - start, out);
}

int tsarc_psql_guard_finish(tsarc_psql_guard *g, tsarc_buf *out)
{
	int rc;

	switch (g->m) {
	case M_META:
		if ((rc = meta_check(g)))
			return rc;
		break;
	case M_SQL:
	case M_LINE_COMMENT:
	case M_QUOTE_END:
	case M_DQUOTE_END:
		if (g->copy_pending)
			return refuse(g, "a COPY ... FROM stdin without data");
		break;
	default:
		return refuse(g, "an end inside a quoted string, a comment or COPY data");
	}
	return flush_held(g, out);
}

/* ---- as a stream filter (filter.h) ---- */

static int filter_feed(void *self, const void *data, size_t len, tsarc_buf *out)
{
	return tsarc_psql_guard_feed(self, data, len, out);
}

static int filter_finish(void *self, tsarc_buf *out)
{
	return tsarc_psql_guard_finish(self, out);
}

static int filter_fresh(const void *self, void **out)
{
	const tsarc_psql_guard *g = self;
	tsarc_psql_guard *n;
	int rc;

	if ((rc = tsarc_psql_guard_new(&n)))
		return rc;
	n->one_database = g->one_database;
	*out = n;
	return 0;
}

static void filter_free(void *self)
{
	tsarc_psql_guard_free(self);
}

const tsarc_filter_ops tsarc_psql_guard_ops = {.feed = filter_feed, .finish = filter_finish,
	.fresh = filter_fresh, .free = filter_free};
