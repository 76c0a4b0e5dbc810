/*
 * The guard of mysqlguard.h, its bytes: a lexer that turns the stream
 * into tokens (words, `identifiers`, strings, punctuation) as the mysql
 * client reads them, and tells the statement reader (mysqlguard_stmt.h)
 * where each statement starts. Bytes a decision needs more of (a
 * comment's start, a delimiter, the sandbox line) are held and scanned
 * again with the next piece; everything else is decided byte by byte, so
 * where the pieces end changes nothing.
 */
#include "mysqlguard.h"
#include "filter.h"
#include "mysqlguard_stmt.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

#define DELIM_MAX 16

static const char SANDBOX_LINE[] = "/*M!999999\\- enable the sandbox mode */";

typedef enum {
	L_CODE, L_WORD, L_SQ, L_DQ, L_BT, L_LINE, L_BLOCK, L_VDIGITS,
	L_SANDBOX_END, L_DELIM_SPACE, L_DELIM_ARG, L_DELIM_END
} lex_state;

struct tsarc_mysql_guard {
	char *target;
	lex_state st;
	int in_versioned;  /* inside a versioned comment's code */
	int line_start;	   /* only blanks since the last newline */
	int client_fresh;  /* at the start of one of the client's statements */
	unsigned vdigits;
	char delim[DELIM_MAX + 1];
	size_t delim_len;
	unsigned long long base; /* stream offset of the next byte scanned */
	tsarc_buf hold;
	/* the token being read, and where it began */
	tsarc_mysql_token tok;
	int tok_line_start;
	int tok_client_fresh;
	int tok_versioned; /* it began inside a versioned comment */
	/* The statement it belongs to, read twice: with every token, as a
	 * server that runs the versioned comments reads it (`stmt`), and
	 * without those of versioned comments, as one that skips them
	 * (`plain`): each must pass. */
	tsarc_mysql_stmt stmt;
	tsarc_mysql_stmt plain;
	/* Where the statement the client sends next begins, and the longest
	 * one so far (tsarc_mysql_dump_facts). */
	unsigned long long client_begin, longest;
	/* Where a whole stream's counts go (its own, or those of the guard a
	 * fresh copy was made from). */
	tsarc_mysql_dump_facts own;
	tsarc_mysql_dump_facts *report;
};

static int is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '_' || c == '$' || c >= 0x80;
}

static int is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int refuse(tsarc_mysql_guard *g, const char *what, const char *why)
{
	return tsarc_mysql_stmt_refuse(&g->stmt, what, why);
}

static void tok_begin(tsarc_mysql_guard *g, tsarc_mysql_token_kind k, unsigned long long off)
{
	g->tok.kind = k;
	g->tok.len = 0;
	g->tok.cut = 0;
	g->tok.off = off;
	g->tok_versioned = g->in_versioned;
	g->tok_line_start = g->line_start;
	g->tok_client_fresh = g->client_fresh;
	g->line_start = g->client_fresh = 0;
}

static void tok_byte(tsarc_mysql_guard *g, unsigned char c)
{
	if (g->tok.len < MYSQL_TOKEN_MAX)
		g->tok.text[g->tok.len++] = (char)c;
	else
		g->tok.cut = 1;
}

static int tok_end(tsarc_mysql_guard *g)
{
	int rc;

	g->tok.text[g->tok.len] = '\0';
	if ((rc = tsarc_mysql_stmt_token(&g->stmt, &g->tok)))
		return rc;
	return g->tok_versioned ? 0 : tsarc_mysql_stmt_token(&g->plain, &g->tok);
}

/* A statement ends: at the client's delimiter (`client`: the client
 * sends the text before `at`, and the next begins at `next`), else at a
 * ';' the server splits a multi-statement at. */
static int stmt_end(tsarc_mysql_guard *g, int client, unsigned long long at,
	unsigned long long next)
{
	int rc = tsarc_mysql_stmt_end(&g->stmt);

	tsarc_mysql_stmt_start(&g->stmt);
	/* A ';' in a versioned comment is no end for a server that skips it;
	 * the client's delimiter is: the client sends the text there. */
	if (!rc && (client || !g->in_versioned)) {
		rc = tsarc_mysql_stmt_end(&g->plain);
		tsarc_mysql_stmt_start(&g->plain);
	}
	if (client) {
		g->client_fresh = 1;
		if (at - g->client_begin > g->longest)
			g->longest = at - g->client_begin;
		g->client_begin = next;
	}
	return rc;
}

static int punct(tsarc_mysql_guard *g, unsigned char c, unsigned long long off)
{
	tok_begin(g, MYSQL_PUNCT, off);
	tok_byte(g, c);
	return tok_end(g);
}

/* A versioned comment's end inside a string or a comment that began in
 * it: a server that runs the comment reads on, one that skips it stops
 * there, and the two would split what follows otherwise. */
static int versioned_end_inside(tsarc_mysql_guard *g, unsigned long long off)
{
	g->stmt.off = g->stmt.ntok ? g->stmt.off : off;
	return refuse(g, "versioned comment", "ends inside a string or comment that began in "
		"it (a server that skips the comment reads what follows otherwise)");
}

static int scan(tsarc_mysql_guard *g, const char *p, size_t n, int eof, size_t *used)
{
	size_t i = 0;
	int rc = 0;

#define NEED(k) \
	if (i + (k) > n && !eof) \
		goto stop
#define OFF (g->base + i)
	while (i < n) {
		unsigned char c = (unsigned char)p[i];
		int semicolon = g->delim_len == 1 && g->delim[0] == ';';

		switch (g->st) {
		case L_WORD:
			if (is_word(c)) {
				tok_byte(g, c);
				i++;
				break;
			}
			g->st = L_CODE;
			if (g->stmt.ntok == 0 && tsarc_mysql_token_is(&g->tok, "DELIMITER")) {
				/* The client's command, on a line of its own. */
				g->stmt.off = g->tok.off;
				if (!g->tok_line_start || !g->tok_client_fresh)
					return refuse(g, "DELIMITER", "is no command of its own (not at "
						"the start of a line and of a statement)");
				g->st = L_DELIM_SPACE;
				g->delim_len = 0;
				break;
			}
			if ((rc = tok_end(g)))
				return rc;
			break; /* c again, as code */
		case L_CODE:
			if (!semicolon && c == (unsigned char)g->delim[0]) {
				NEED(g->delim_len);
				if (i + g->delim_len <= n && !memcmp(p + i, g->delim, g->delim_len)) {
					if ((rc = stmt_end(g, 1, OFF, OFF + g->delim_len)))
						return rc;
					i += g->delim_len;
					break;
				}
			}
			if (c == ';') {
				if ((rc = stmt_end(g, semicolon, OFF, OFF + 1)))
					return rc;
				i++;
			} else if (c == '\n') {
				g->line_start = 1;
				i++;
			} else if (is_blank(c)) {
				i++;
			} else if (c == '\'' || c == '"' || c == '`') {
				tok_begin(g, c == '`' ? MYSQL_ID : c == '"' ? MYSQL_ID : MYSQL_STR, OFF);
				g->st = c == '\'' ? L_SQ : c == '"' ? L_DQ : L_BT;
				i++;
			} else if (c == '#') {
				g->st = L_LINE;
				i++;
			} else if (c == '-') {
				/* The client takes `--` for a comment before a blank or
				 * a newline only, the server before any control
				 * character: a ';' after `--` and another one would be
				 * a statement's end for one and a comment for the other.
				 * A newline right after it is the comment's end, left
				 * for L_LINE to see: the next line is code for both. */
				NEED(3);
				if (i + 2 < n && p[i + 1] == '-' && (is_blank((unsigned char)p[i + 2]) ||
					p[i + 2] == '\n')) {
					g->st = L_LINE;
					i += p[i + 2] == '\n' ? 2 : 3;
				} else if (i + 2 < n && p[i + 1] == '-' && ((unsigned char)p[i + 2] < ' ' ||
					p[i + 2] == 0x7f)) {
					g->stmt.off = g->stmt.ntok ? g->stmt.off : OFF;
					return refuse(g, "comment", "starts with `--` and a control character, "
						"a comment for the server but not for the mysql client");
				} else {
					if ((rc = punct(g, c, OFF)))
						return rc;
					i++;
				}
			} else if (c == '/') {
				NEED(sizeof(SANDBOX_LINE) - 1);
				if (g->line_start && g->stmt.ntok == 0 && g->client_fresh &&
					n - i >= sizeof(SANDBOX_LINE) - 1 &&
					!memcmp(p + i, SANDBOX_LINE, sizeof(SANDBOX_LINE) - 1)) {
					g->st = L_SANDBOX_END;
					g->stmt.off = OFF;
					i += sizeof(SANDBOX_LINE) - 1;
				} else if (i + 1 < n && p[i + 1] == '*' && g->in_versioned) {
					/* Its end would be the versioned comment's too for
					 * a server that skips that one. */
					g->stmt.off = g->stmt.ntok ? g->stmt.off : OFF;
					return refuse(g, "comment", "opens inside a versioned comment");
				} else if (i + 1 < n && p[i + 1] == '*') {
					/* slash-star-bang or MariaDB's slash-star-M-bang:
					 * a versioned comment, its text code. */
					size_t mark = i + 2 < n && p[i + 2] == '!' ? 3 :
						i + 3 < n && p[i + 2] == 'M' && p[i + 3] == '!' ? 4 : 0;
					if (mark)
						g->in_versioned = 1;
					g->st = mark ? L_VDIGITS : L_BLOCK;
					g->vdigits = 0;
					i += mark ? mark : 2;
				} else {
					if ((rc = punct(g, c, OFF)))
						return rc;
					i++;
				}
			} else if (c == '*' && g->in_versioned) {
				NEED(2);
				if (i + 1 < n && p[i + 1] == '/') {
					g->in_versioned = 0;
					i += 2;
				} else {
					if ((rc = punct(g, c, OFF)))
						return rc;
					i++;
				}
			} else if (c == '\\') {
				g->stmt.off = g->stmt.ntok ? g->stmt.off : OFF;
				return refuse(g, "backslash", "is outside a string (a command of the "
					"mysql client, which a dump never holds)");
			} else if (is_word(c)) {
				tok_begin(g, MYSQL_WORD, OFF);
				tok_byte(g, c);
				g->st = L_WORD;
				i++;
			} else {
				if ((rc = punct(g, c, OFF)))
					return rc;
				i++;
			}
			break;
		case L_SQ:
		case L_DQ:
		case L_BT:
			if (g->in_versioned && (c == '*' || c == '\\')) {
				NEED(3);
				if ((c == '*' && i + 1 < n && p[i + 1] == '/') ||
					(c == '\\' && i + 2 < n && p[i + 1] == '*' && p[i + 2] == '/'))
					return versioned_end_inside(g, OFF);
			}
			if (c == '\\' && g->st != L_BT) {
				NEED(2);
				tok_byte(g, c);
				if (i + 1 < n)
					tok_byte(g, (unsigned char)p[i + 1]);
				i += i + 1 < n ? 2 : 1;
				break;
			}
			if (c == (g->st == L_SQ ? '\'' : g->st == L_DQ ? '"' : '`')) {
				NEED(2);
				if (i + 1 < n && p[i + 1] == (char)c) {
					tok_byte(g, c); /* doubled */
					i += 2;
					break;
				}
				g->st = L_CODE;
				i++;
				if ((rc = tok_end(g)))
					return rc;
				break;
			}
			tok_byte(g, c);
			i++;
			break;
		case L_LINE:
			if (g->in_versioned && c == '*') {
				NEED(2);
				if (i + 1 < n && p[i + 1] == '/')
					return versioned_end_inside(g, OFF);
			}
			if (c == '\n') {
				g->st = L_CODE;
				g->line_start = 1;
			}
			i++;
			break;
		case L_BLOCK:
			if (c == '*') {
				NEED(2);
				if (i + 1 < n && p[i + 1] == '/') {
					g->st = L_CODE;
					i += 2;
					break;
				}
			}
			i++;
			break;
		case L_VDIGITS:
			if (c >= '0' && c <= '9' && g->vdigits < 6) {
				g->vdigits++;
				i++;
			} else
				g->st = L_CODE;
			break;
		case L_SANDBOX_END:
			if (c == '\n') {
				g->st = L_CODE;
				g->line_start = 1;
			} else if (!is_blank(c))
				return refuse(g, "sandbox line", "goes on after its comment (the client "
					"would run what follows its backslash command)");
			i++;
			break;
		case L_DELIM_SPACE:
			if (is_blank(c)) {
				i++;
				break;
			}
			if (c == '\n')
				return refuse(g, "DELIMITER", "names no delimiter");
			g->st = L_DELIM_ARG;
			break;
		case L_DELIM_ARG:
			if (is_blank(c) || c == '\n') {
				g->st = L_DELIM_END;
				break;
			}
			if (c == '\\' || c == '\'' || c == '"' || c == '`' || g->delim_len == DELIM_MAX)
				return refuse(g, "DELIMITER", "is not a plain delimiter of at most 16 "
					"bytes");
			g->delim[g->delim_len++] = (char)c;
			i++;
			break;
		case L_DELIM_END:
			if (c == '\n') {
				g->delim[g->delim_len] = '\0';
				g->st = L_CODE;
				g->line_start = 1;
				if ((rc = stmt_end(g, 1, OFF, OFF + 1)))
					return rc;
			} else if (!is_blank(c))
				return refuse(g, "DELIMITER", "has more than a delimiter on its line");
			i++;
			break;
		}
	}
#undef NEED
#undef OFF
stop:
	*used = i;
	g->base += i;
	return 0;
}

int tsarc_mysql_guard_new(const char *database, tsarc_mysql_guard **out)
{
	tsarc_mysql_guard *g = calloc(1, sizeof(*g));

	if (!g || !(g->target = strdup(database ? database : ""))) {
		free(g);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	g->st = L_CODE;
	g->line_start = g->client_fresh = 1;
	g->delim[0] = ';';
	g->delim_len = 1;
	g->stmt.target = g->plain.target = g->target;
	g->stmt.counts = 1;
	g->report = &g->own;
	tsarc_mysql_stmt_start(&g->stmt);
	tsarc_mysql_stmt_start(&g->plain);
	*out = g;
	return 0;
}

/* The end of input decides what is held: a word ends, a delimiter of its
 * own line takes effect; a string or comment left open is the client's
 * error, not a way past the guard. */
static int at_end(tsarc_mysql_guard *g)
{
	int rc = 0;

	if (g->st == L_WORD) {
		g->st = L_CODE;
		if (!(g->stmt.ntok == 0 && tsarc_mysql_token_is(&g->tok, "DELIMITER")))
			rc = tok_end(g);
	}
	/* The client sends what is left as the last statement. */
	if (rc || (rc = stmt_end(g, 1, g->base, g->base)))
		return rc;
	*g->report = (tsarc_mysql_dump_facts){.complete = 1, .triggers = g->stmt.triggers,
		.functions = g->stmt.functions, .longest_statement = g->longest,
		.nnames = g->stmt.nnames};
	memcpy(g->report->names, g->stmt.names, sizeof(g->report->names));
	return 0;
}

static int feed(tsarc_mysql_guard *g, const char *data, size_t len, int eof)
{
	size_t used;
	int rc;

	if (g->hold.size == 0) {
		if ((rc = scan(g, data, len, eof, &used)))
			return rc;
		rc = used < len ? tsarc_buf_append(&g->hold, data + used, len - used) : 0;
	} else {
		if ((rc = tsarc_buf_append(&g->hold, data, len)) ||
			(rc = scan(g, (const char *)g->hold.ptr, g->hold.size, eof, &used)))
			return rc;
		memmove(g->hold.ptr, g->hold.ptr + used, g->hold.size - used);
		g->hold.size -= used;
	}
	return rc || !eof ? rc : at_end(g);
}

int tsarc_mysql_guard_feed(tsarc_mysql_guard *g, const void *data, size_t len, tsarc_buf *out)
{
	int rc;

	if (!len)
		return 0;
	if ((rc = feed(g, data, len, 0)))
		return rc;
	return out ? tsarc_buf_append(out, data, len) : 0;
}

int tsarc_mysql_guard_finish(tsarc_mysql_guard *g, tsarc_buf *out)
{
	(void)out;
	return feed(g, "", 0, 1);
}

void tsarc_mysql_guard_facts(const tsarc_mysql_guard *g, tsarc_mysql_dump_facts *out)
{
	*out = *g->report;
}

void tsarc_mysql_guard_free(tsarc_mysql_guard *g)
{
	if (!g)
		return;
	tsarc_buf_dispose(&g->hold);
	free(g->target);
	free(g);
}

/* ---- as a stream filter (filter.h) ---- */

static int filter_feed(void *self, const void *data, size_t len, tsarc_buf *out)
{
	return tsarc_mysql_guard_feed(self, data, len, out);
}

static int filter_finish(void *self, tsarc_buf *out)
{
	return tsarc_mysql_guard_finish(self, out);
}

static int filter_fresh(const void *self, void **out)
{
	const tsarc_mysql_guard *g = self;
	tsarc_mysql_guard *f;
	int rc;

	if ((rc = tsarc_mysql_guard_new(g->target, &f)))
		return rc;
	f->report = g->report;
	*out = f;
	return 0;
}

static void filter_free(void *self)
{
	tsarc_mysql_guard_free(self);
}

const tsarc_filter_ops tsarc_mysql_guard_ops = {.feed = filter_feed, .finish = filter_finish,
	.fresh = filter_fresh, .free = filter_free};
