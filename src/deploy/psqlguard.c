/*
 * The psql input guard (psqlguard.h): a byte-at-a-time lexer of what psql
 * would read as SQL, that refuses every backslash command but those a
 * dump writes. It decides on each byte as it comes, so any split of the
 * input gives the same answer.
 */
#include "psqlguard.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

/* The longest backslash command line, dollar-quote tag and keyword kept. */
#define META_MAX 512
#define TAG_MAX 256
#define WORD_MAX 16
_Static_assert(META_MAX >= TAG_MAX + 2, "one buffer holds a command line or a $tag$");

typedef enum {
	M_SQL,
	M_LINE_COMMENT,
	M_BLOCK_COMMENT,
	M_QUOTE,        /* '...' */
	M_QUOTE_END,    /* a quote closed it, unless another follows ('') */
	M_DQUOTE,       /* "..." */
	M_DQUOTE_END,
	M_DOLLAR_OPEN,  /* after a $ that may open a dollar quote */
	M_DOLLAR,       /* inside $tag$...$tag$ */
	M_META,         /* a backslash command, to the end of its line */
	M_COPY          /* COPY ... FROM stdin data, to a line \. */
} mode;

/* Where a statement is in `COPY name [(columns)] FROM STDIN`. */
typedef enum {
	CS_START, CS_NAME, CS_AFTER_NAME, CS_DOT, CS_COLS, CS_AFTER_COLS, CS_FROM, CS_STDIN,
	CS_OTHER
} copy_state;

struct tsarc_psql_guard {
	mode m, saved;          /* saved: the SQL mode to go back to after COPY data */
	unsigned long long off; /* bytes seen */
	int dash, slash, star;  /* a '-', '/' or '*' just before (comment marks) */
	int depth;              /* block comment nesting */
	int backslash;          /* in a quote: the byte before was a backslash */
	int in_ident, in_number;
	char word[WORD_MAX + 1];
	size_t wlen;
	int wlong;
	/* M_META: the command line so far; M_DOLLAR_OPEN, M_DOLLAR: "$tag$",
	 * which closes the dollar quote (tmatch bytes of it seen). */
	char buf[META_MAX + 1];
	size_t blen, tmatch;
	int paren, begin;       /* psql's paren_depth and begin_depth (at least) */
	char idents[4];         /* psql's identifiers[]: the statement's first words */
	size_t nidents;
	copy_state cs;
	int copy_pending;       /* a COPY FROM stdin statement ended on this line */
	int line_start;         /* COPY data: at the start of a line */
	char cline[4];          /* COPY data: the start of the line, for \. */
	size_t clen;
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
	return 0;
}

void tsarc_psql_guard_free(tsarc_psql_guard *g)
{
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

/* The next token of the statement: a keyword (lower case), a name, or
 * another token (`ch`: '(', ')', '.', ';', or 0 for anything else). */
static void copy_token(tsarc_psql_guard *g, const char *word, int name, char ch)
{
	copy_state s = g->cs;

	if (s == CS_OTHER || s == CS_STDIN)
		return;
	if (s == CS_COLS) {
		if (ch == ')' && g->paren == 0)
			g->cs = CS_AFTER_COLS;
		return;
	}
	if (s == CS_START)
		g->cs = word && !strcmp(word, "copy") ? CS_NAME : CS_OTHER;
	else if (s == CS_NAME || s == CS_DOT)
		g->cs = name ? CS_AFTER_NAME : CS_OTHER;
	else if (s == CS_AFTER_NAME && ch == '.')
		g->cs = CS_DOT;
	else if (s == CS_AFTER_NAME && ch == '(')
		g->cs = CS_COLS;
	else if ((s == CS_AFTER_NAME || s == CS_AFTER_COLS) && word && !strcmp(word, "from"))
		g->cs = CS_FROM;
	else if (s == CS_FROM && word && !strcmp(word, "stdin"))
		g->cs = CS_STDIN;
	else
		g->cs = CS_OTHER;
}

/* An identifier ended: the COPY statement's words, and BEGIN, CASE and
 * END as psql 14 and later count them in a CREATE [OR REPLACE] FUNCTION
 * or PROCEDURE statement (psqlscan.l's heuristic, CASE included: never
 * less than any psql counts, so never a statement end where one sees
 * none). */
static void word_end(tsarc_psql_guard *g)
{
	static const char *const fn[] = {"create", "function", "procedure", "or", "replace", NULL};
	const char *w = g->wlong ? "" : g->word;
	const char *id = g->idents;
	size_t i;

	if (!g->in_ident)
		return;
	g->in_ident = 0;
	g->word[g->wlen] = '\0';
	for (i = 0; fn[i] && g->nidents < sizeof(g->idents); i++)
		if (!strcmp(w, fn[i]))
			g->idents[g->nidents] = w[0];
	g->nidents++;
	if (id[0] == 'c' && (id[1] == 'f' || id[1] == 'p' || (id[1] == 'o' && id[2] == 'r' &&
		(id[3] == 'f' || id[3] == 'p'))) && g->paren == 0) {
		if (!strcmp(w, "begin"))
			g->begin++;
		else if (!strcmp(w, "case") && g->begin > 0)
			g->begin++;
		else if (!strcmp(w, "end") && g->begin > 0)
			g->begin--;
	}
	copy_token(g, w, 1, 0);
	g->wlen = 0;
	g->wlong = 0;
}

/* A backslash command line, from the backslash to its end: only what a
 * dump writes, the whole line plain names. */
static int meta_allowed(const char *line, size_t len)
{
	static const char *const cmds[] = {"connect ", "c ", "restrict ", "unrestrict ", NULL};
	size_t i, n, k;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	for (i = 0; cmds[i]; i++) {
		n = strlen(cmds[i]);
		if (len <= n + 1 || strncmp(line + 1, cmds[i], n))
			continue;
		for (k = n + 1; k < len && line[k] == ' '; k++)
			;
		if (k == len)
			return 0;
		for (; k < len; k++)
			if (!((line[k] >= 'A' && line[k] <= 'Z') || (line[k] >= 'a' && line[k] <= 'z') ||
				    (line[k] >= '0' && line[k] <= '9') || line[k] == '_'))
				return 0;
		return 1;
	}
	return 0;
}

/* A byte in SQL outside every quote and comment. */
static int sql_byte(tsarc_psql_guard *g, unsigned char c)
{
	int dash = g->dash, slash = g->slash;

	g->dash = g->slash = 0;
	/* A '-' or '/' that did not start a comment was a token. */
	if ((dash && c != '-') || (slash && c != '*'))
		copy_token(g, NULL, 0, 0);
	if (g->in_ident && ident_cont(c)) {
		if (g->wlen < WORD_MAX)
			g->word[g->wlen++] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
		else
			g->wlong = 1;
		return 0;
	}
	if (g->in_number && ((c >= '0' && c <= '9') || c == '.' || c == '_'))
		return 0;
	word_end(g);
	g->in_number = 0;
	if (dash && c == '-') {
		g->m = M_LINE_COMMENT;
		return 0;
	}
	if (slash && c == '*') {
		g->m = M_BLOCK_COMMENT;
		g->depth = 1;
		g->star = 0;
		return 0;
	}
	if (ident_start(c)) {
		g->in_ident = 1;
		g->word[0] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
		g->wlen = 1;
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
		g->m = M_QUOTE;
		g->backslash = 0;
		copy_token(g, NULL, 0, 0);
		return 0;
	case '"':
		g->m = M_DQUOTE;
		return 0;
	case '-':
		g->dash = 1;
		return 0;
	case '/':
		g->slash = 1;
		return 0;
	case '(':
		g->paren++;
		copy_token(g, NULL, 0, '(');
		return 0;
	case ')':
		if (g->paren > 0)
			g->paren--;
		copy_token(g, NULL, 0, ')');
		return 0;
	case ';':
		if (g->paren > 0) {
			copy_token(g, NULL, 0, ';');
			return 0;
		}
		if (g->begin > 0) {
			/* psql 14 and later do not end the statement here. */
			g->cs = CS_OTHER;
			return 0;
		}
		if (g->cs == CS_STDIN && g->copy_pending++)
			return refuse(g, "two COPY ... FROM stdin statements on one line");
		g->cs = CS_START;
		g->nidents = 0;
		memset(g->idents, 0, sizeof(g->idents));
		return 0;
	case ' ': case '\t': case '\n': case '\r': case '\f': case '\v':
		return 0;
	case '.':
		copy_token(g, NULL, 0, '.');
		return 0;
	default:
		if (c >= '0' && c <= '9')
			g->in_number = 1;
		copy_token(g, NULL, 0, 0);
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
		copy_token(g, NULL, 0, 0);
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
	copy_token(g, NULL, 0, 0);
	for (i = 1; i < n; i++)
		if ((rc = sql_byte(g, (unsigned char)held[i])))
			return rc;
	return sql_byte(g, c);
}

static int step(tsarc_psql_guard *g, unsigned char c)
{
	int star, slash;

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
		if (c == '\'') {
			if (g->backslash)
				return refuse(g, "a backslash before a quote in a string");
			g->m = M_QUOTE_END;
			return 0;
		}
		g->backslash = c == '\\';
		return 0;
	case M_QUOTE_END:
		if (c == '\'') {
			g->m = M_QUOTE;
			g->backslash = 0;
			return 0;
		}
		g->m = M_SQL;
		return sql_byte(g, c);
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
		copy_token(g, NULL, 1, 0);
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
		if (!meta_allowed(g->buf, g->blen))
			return refuse(g, "a backslash command other than \\connect, \\restrict or "
				"\\unrestrict with a plain name");
		g->m = M_SQL;
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
	return 0;
}

int tsarc_psql_guard_feed(tsarc_psql_guard *g, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;
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
					return 0;
			}
			if ((rc = copy_byte(g, p[i])))
				return rc;
			continue;
		}
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
	return 0;
}

int tsarc_psql_guard_finish(tsarc_psql_guard *g)
{
	switch (g->m) {
	case M_META:
		if (!meta_allowed(g->buf, g->blen))
			return refuse(g, "a backslash command other than \\connect, \\restrict or "
				"\\unrestrict with a plain name");
		return 0;
	case M_SQL:
	case M_LINE_COMMENT:
	case M_QUOTE_END:
	case M_DQUOTE_END:
		return g->copy_pending ? refuse(g, "a COPY ... FROM stdin without data") : 0;
	default:
		return refuse(g, "an end inside a quoted string, a comment or COPY data");
	}
}
