/*
 * The DEFINER filter of definer.h: a small lexer over the dump that copies
 * every byte through except DEFINER clauses in code. Undecided bytes (the
 * tail of a buffer that may start a comment or a clause) are held in
 * `hold` and scanned again with the next buffer, so the output does not
 * depend on where buffers split.
 */
#include "mysqlstrip.h"
#include "filter.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

/* Longest clause looked at: `user`@`host` are at most 80 and 255
 * characters, quoted and escaped; past this it is no clause of a dump. */
#define CLAUSE_MAX 2048
/* Longest statement removed: a GTID set of some five thousand servers'
 * UUIDs. Past this it is left to the server (and held bytes are scanned
 * again with each buffer: the bound keeps that cheap). */
#define STATEMENT_MAX (256u * 1024u)
/* The client's delimiter, as the mysql guard allows it. */
#define DELIMITER_MAX 16
/* Longest DELIMITER line looked at. */
#define DELIMITER_LINE_MAX 256

typedef enum { ST_CODE, ST_SQ, ST_DQ, ST_BT, ST_LINE, ST_BLOCK } lex_state;

struct tsarc_mysql_strip {
	unsigned what;   /* TSARC_STRIP_* */
	lex_state st;
	int prev_word;   /* the last code byte belongs to a word */
	/* Only blanks and comments since the last delimiter (or the start). */
	int at_statement;
	/* The client's delimiter; 0 long: one this filter cannot follow
	 * (then no statement is removed any more). */
	char delim[DELIMITER_MAX];
	size_t delim_len;
	tsarc_buf hold;
	unsigned long definers, statements;
};

enum { NO_MATCH, MATCH, NEED_MORE };

static int is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '_' || c == '$' || c >= 0x80;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* p[0..n) starts with one of `words` (each ending in the byte that must
 * follow: '.' or ' '); its length in *len. ' ' stands for any blank. */
static int one_of(const char *p, size_t n, const char *const *words, size_t *len)
{
	const char *const *w;
	int need = 0;

	for (w = words; *w; w++) {
		size_t k, wl = strlen(*w);
		for (k = 0; k < wl && k < n; k++) {
			char a = p[k];
			if (a >= 'a' && a <= 'z')
				a = (char)(a - 'a' + 'A');
			if ((*w)[k] == ' ' ? !is_space((unsigned char)a) : a != (*w)[k])
				break;
		}
		if (k == wl) {
			*len = wl;
			return MATCH;
		}
		if (k == n)
			need = 1;
	}
	return need ? NEED_MORE : NO_MATCH;
}

/* p[0..n) starts with `word` (upper case, no blank), in any case. */
static int ci_prefix(const char *p, size_t n, const char *word, size_t *wlen)
{
	return one_of(p, n, (const char *const[]){word, NULL}, wlen);
}

/* A quoted string or identifier at p[*i] (`q`, 'q', "q": doubled quote
 * inside; backslash escapes in '' and ""): past it. */
static int quoted(const char *p, size_t n, size_t *i)
{
	size_t k = *i;
	char q = p[k];

	for (k++;; k++) {
		if (k >= n)
			return NEED_MORE;
		if (p[k] == '\\' && q != '`') {
			k++;
			continue;
		}
		if (p[k] == q) {
			if (k + 1 >= n)
				return NEED_MORE;
			if (p[k + 1] != q)
				break;
			k++; /* doubled quote */
		}
	}
	*i = k + 1;
	return MATCH;
}

/* A user or host name at p[*i]: quoted, or a bare name. */
static int name_token(const char *p, size_t n, size_t *i, int host)
{
	size_t k = *i;

	if (k >= n)
		return NEED_MORE;
	if (p[k] == '`' || p[k] == '\'' || p[k] == '"')
		return quoted(p, n, i);
	while (k < n && (is_word((unsigned char)p[k]) || p[k] == '.' || p[k] == '-' ||
		(host && (p[k] == '%' || p[k] == ':'))))
		k++;
	if (k == n)
		return NEED_MORE;
	if (k == *i)
		return NO_MATCH;
	*i = k;
	return MATCH;
}

/* Whether p[0..n) starts with a DEFINER clause; its length in *len. */
static int match_clause(const char *p, size_t n, size_t *len)
{
	size_t i, w;
	int r;

	if ((r = ci_prefix(p, n, "DEFINER", &w)) != MATCH)
		return r;
	i = w;
	while (i < n && is_space((unsigned char)p[i]))
		i++;
	if (i >= n)
		return NEED_MORE;
	if (p[i] != '=')
		return NO_MATCH;
	i++;
	while (i < n && is_space((unsigned char)p[i]))
		i++;
	if (i >= n)
		return NEED_MORE;
	r = ci_prefix(p + i, n - i, "CURRENT_USER", &w);
	if (r == NEED_MORE)
		return NEED_MORE;
	if (r == MATCH) {
		i += w;
		if (i + 1 >= n)
			return NEED_MORE;
		if (p[i] == '(' && p[i + 1] == ')')
			i += 2;
		else if (is_word((unsigned char)p[i]))
			return NO_MATCH;
		*len = i;
		return MATCH;
	}
	if ((r = name_token(p, n, &i, 0)) != MATCH)
		return r;
	if (i >= n)
		return NEED_MORE;
	if (p[i] == '@') {
		i++;
		if ((r = name_token(p, n, &i, 1)) != MATCH)
			return r;
	}
	*len = i;
	return MATCH;
}

/* Whether p[0..n), at a statement's start, is a whole statement
 * SET [scope] SQL_LOG_BIN|GTID_PURGED = value; (mysqlstrip.h); its length,
 * with the ';', in *len. */
static int match_binlog_set(const char *p, size_t n, size_t *len)
{
	static const char *const at_scopes[] = {"SESSION.", "LOCAL.", "GLOBAL.", NULL};
	static const char *const scopes[] = {"SESSION ", "LOCAL ", "GLOBAL ", NULL};
	static const char *const names[] = {"SQL_LOG_BIN", "GTID_PURGED", NULL};
	size_t i, w;
	int r, values = 0, in_comment = 0;

	if ((r = one_of(p, n, (const char *const[]){"SET ", NULL}, &w)) != MATCH)
		return r;
	for (i = w; i < n && is_space((unsigned char)p[i]); i++)
		;
	if (i + 2 > n)
		return NEED_MORE;
	if (p[i] == '@') {
		if (p[i + 1] != '@')
			return NO_MATCH; /* a user variable */
		i += 2;
		if ((r = one_of(p + i, n - i, at_scopes, &w)) == NEED_MORE)
			return r;
		i += r == MATCH ? w : 0;
	} else if ((r = one_of(p + i, n - i, scopes, &w)) == NEED_MORE) {
		return r;
	} else if (r == MATCH) {
		for (i += w; i < n && is_space((unsigned char)p[i]); i++)
			;
	}
	if ((r = one_of(p + i, n - i, names, &w)) != MATCH)
		return r;
	i += w;
	for (; i < n && is_space((unsigned char)p[i]); i++)
		;
	if (i >= n)
		return NEED_MORE;
	if (p[i++] != '=')
		return NO_MATCH;
	/* The value: quoted strings, words, @variables, '+', and versioned
	 * comments of those, up to the ';'. */
	for (;;) {
		unsigned char c;
		if (i >= n)
			return NEED_MORE;
		c = (unsigned char)p[i];
		if (is_space(c) || c == '+') {
			i++;
		} else if (c == '\'' || c == '"') {
			if ((r = quoted(p, n, &i)) != MATCH)
				return r;
			values++;
		} else if (c == '@' || is_word(c)) {
			for (i++; i < n && is_word((unsigned char)p[i]); i++)
				;
			values++;
		} else if (c == '/' && !in_comment) {
			if (i + 3 > n)
				return NEED_MORE;
			if (p[i + 1] != '*' || p[i + 2] != '!')
				return NO_MATCH;
			for (i += 3; i < n && p[i] >= '0' && p[i] <= '9'; i++)
				;
			in_comment = 1;
		} else if (c == '*' && in_comment) {
			if (i + 2 > n)
				return NEED_MORE;
			if (p[i + 1] != '/')
				return NO_MATCH;
			i += 2;
			in_comment = 0;
		} else if (c == ';' && !in_comment && values) {
			*len = i + 1;
			return MATCH;
		} else {
			return NO_MATCH;
		}
	}
}

/* Whether p[0..n), at a statement's start, is the client's DELIMITER
 * command; the line's length (without its newline) in *len, the new
 * delimiter at p[*at], *dlen long (0: none this filter can follow). */
static int match_delimiter(const char *p, size_t n, int eof, size_t *len, size_t *at,
	size_t *dlen)
{
	size_t i, w, e;
	int r = one_of(p, n, (const char *const[]){"DELIMITER ", NULL}, &w);

	if (r == NEED_MORE && eof)
		r = NO_MATCH;
	if (r != MATCH)
		return r;
	/* Its line, looked at up to DELIMITER_LINE_MAX bytes whatever the
	 * input's split: a longer one is skipped that far, and no statement
	 * is removed after it. */
	for (e = w; e < n && e < DELIMITER_LINE_MAX && p[e] != '\n'; e++)
		;
	if (e == DELIMITER_LINE_MAX) {
		*len = e;
		*at = *dlen = 0;
		return MATCH;
	}
	if (e == n && !eof)
		return NEED_MORE;
	for (i = w; i < e && is_space((unsigned char)p[i]); i++)
		;
	*at = i;
	while (i < e && !is_space((unsigned char)p[i]))
		i++;
	*dlen = i - *at;
	for (; i < e && is_space((unsigned char)p[i]); i++)
		;
	if (*dlen > DELIMITER_MAX || i < e)
		*dlen = 0; /* not one the guard lets through */
	*len = e;
	return MATCH;
}

/* How much of the `left` bytes there are a match looks at: at most `max`,
 * so that one longer is none whatever the input's split. */
static size_t window(size_t left, size_t max)
{
	return left < max ? left : max;
}

/* A match's verdict over window(left, max) bytes: one still undecided at
 * the input's end, or with the whole window seen, is no match. */
static int decided(int r, int eof, size_t left, size_t max)
{
	return r == NEED_MORE && (eof || left >= max) ? NO_MATCH : r;
}

/* Removes p[*i..*i+len): what ran up to it goes out, the run starts after. */
static int cut(const char *p, size_t *i, size_t *run, size_t len, tsarc_buf *out)
{
	int rc = tsarc_buf_append(out, p + *run, *i - *run);

	*i += len;
	*run = *i;
	return rc;
}

/* Scans p[0..n); appends the output to `out`; *used: bytes decided. With
 * `eof` every byte is decided. */
static int scan(tsarc_mysql_strip *f, const char *p, size_t n, int eof, tsarc_buf *out,
	size_t *used)
{
	size_t i = 0, run = 0, len;
	int rc = 0;

#define NEED(k) \
	if (i + (k) > n && !eof) \
		goto stop
	while (i < n) {
		unsigned char c = (unsigned char)p[i];
		switch (f->st) {
		case ST_CODE:
			if (is_space(c)) {
				f->prev_word = 0;
				i++;
				break;
			}
			if (f->delim_len && c == (unsigned char)f->delim[0]) {
				NEED(f->delim_len);
				if (i + f->delim_len <= n && !memcmp(p + i, f->delim, f->delim_len)) {
					i += f->delim_len;
					f->at_statement = 1;
					f->prev_word = 0;
					break;
				}
			}
			if (f->at_statement && (c == 'D' || c == 'd')) {
				size_t at, dlen;
				int r = match_delimiter(p + i, n - i, eof, &len, &at, &dlen);
				if (r == NEED_MORE)
					goto stop;
				if (r == MATCH) {
					memcpy(f->delim, p + i + at, dlen);
					f->delim_len = dlen;
					i += len;
					break;
				}
			}
			if (f->at_statement && (c == 'S' || c == 's') && (f->what & TSARC_STRIP_BINLOG) &&
				f->delim_len == 1 && f->delim[0] == ';') {
				int r = decided(match_binlog_set(p + i, window(n - i, STATEMENT_MAX),
					&len), eof, n - i,
					STATEMENT_MAX);
				if (r == NEED_MORE)
					goto stop;
				if (r == MATCH) {
					if ((rc = cut(p, &i, &run, len, out)))
						return rc;
					f->statements++;
					break;
				}
			}
			if (c == '\'' || c == '"' || c == '`') {
				f->st = c == '\'' ? ST_SQ : c == '"' ? ST_DQ : ST_BT;
				f->prev_word = 0;
				f->at_statement = 0;
				i++;
			} else if (c == '#') {
				f->st = ST_LINE;
				i++;
			} else if (c == '-') {
				NEED(3);
				if (i + 2 < n && p[i + 1] == '-' && (is_space((unsigned char)p[i + 2]) ||
					(unsigned char)p[i + 2] < 0x20)) {
					f->st = ST_LINE;
					i += 3;
				} else {
					f->at_statement = 0;
					i++;
				}
				f->prev_word = 0;
			} else if (c == '/') {
				NEED(2);
				f->prev_word = 0;
				if (i + 1 < n && p[i + 1] == '*') {
					NEED(3);
					if (i + 2 < n && p[i + 2] == '!') {
						f->at_statement = 0;
						i += 3; /* a versioned comment is code */
					} else if (i + 2 < n && p[i + 2] == 'M') {
						NEED(4);
						if (i + 3 < n && p[i + 3] == '!') {
							f->at_statement = 0;
							i += 4; /* MariaDB's versioned form */
						} else {
							f->st = ST_BLOCK;
							i += 2;
						}
					} else {
						f->st = ST_BLOCK;
						i += 2;
					}
				} else {
					f->at_statement = 0;
					i++;
				}
			} else if ((c == 'D' || c == 'd') && !f->prev_word &&
				(f->what & TSARC_STRIP_DEFINERS)) {
				int r = decided(match_clause(p + i, window(n - i, CLAUSE_MAX), &len),
					eof, n - i, CLAUSE_MAX);
				if (r == NEED_MORE)
					goto stop;
				f->at_statement = 0;
				if (r == MATCH) {
					if ((rc = cut(p, &i, &run, len, out)))
						return rc;
					f->definers++;
					f->prev_word = 0;
				} else {
					f->prev_word = 1;
					i++;
				}
			} else {
				f->prev_word = is_word(c);
				f->at_statement = 0;
				i++;
			}
			break;
		case ST_SQ:
		case ST_DQ:
			if (c == '\\') {
				NEED(2);
				i += 2;
				if (i > n)
					i = n;
			} else {
				if (c == (f->st == ST_SQ ? '\'' : '"'))
					f->st = ST_CODE;
				i++;
			}
			break;
		case ST_BT:
			if (c == '`')
				f->st = ST_CODE;
			i++;
			break;
		case ST_LINE:
			if (c == '\n')
				f->st = ST_CODE;
			i++;
			break;
		case ST_BLOCK:
			if (c == '*') {
				NEED(2);
				if (i + 1 < n && p[i + 1] == '/') {
					f->st = ST_CODE;
					i += 2;
					break;
				}
			}
			i++;
			break;
		}
	}
#undef NEED
stop:
	*used = i;
	return tsarc_buf_append(out, p + run, i - run);
}

int tsarc_mysql_strip_new(tsarc_mysql_strip **out, unsigned what)
{
	tsarc_mysql_strip *f = calloc(1, sizeof(*f));

	if (!f)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	f->what = what;
	f->st = ST_CODE;
	f->at_statement = 1;
	f->delim[0] = ';';
	f->delim_len = 1;
	*out = f;
	return 0;
}

static int feed(tsarc_mysql_strip *f, const char *data, size_t len, int eof, tsarc_buf *out)
{
	size_t used;
	int rc;

	if (f->hold.size == 0) {
		if ((rc = scan(f, data, len, eof, out, &used)))
			return rc;
		return used < len ? tsarc_buf_append(&f->hold, data + used, len - used) : 0;
	}
	if ((rc = tsarc_buf_append(&f->hold, data, len)) ||
		(rc = scan(f, (const char *)f->hold.ptr, f->hold.size, eof, out, &used)))
		return rc;
	memmove(f->hold.ptr, f->hold.ptr + used, f->hold.size - used);
	f->hold.size -= used;
	return 0;
}

int tsarc_mysql_strip_feed(tsarc_mysql_strip *f, const void *data, size_t len,
	tsarc_buf *out)
{
	return len ? feed(f, data, len, 0, out) : 0;
}

int tsarc_mysql_strip_finish(tsarc_mysql_strip *f, tsarc_buf *out)
{
	return feed(f, "", 0, 1, out);
}

unsigned long tsarc_mysql_strip_definers(const tsarc_mysql_strip *f)
{
	return f->definers;
}

unsigned long tsarc_mysql_strip_statements(const tsarc_mysql_strip *f)
{
	return f->statements;
}

void tsarc_mysql_strip_free(tsarc_mysql_strip *f)
{
	if (!f)
		return;
	tsarc_buf_dispose(&f->hold);
	free(f);
}

/* ---- as a stream filter (filter.h) ---- */

static int filter_feed(void *self, const void *data, size_t len, tsarc_buf *out)
{
	return tsarc_mysql_strip_feed(self, data, len, out);
}

static int filter_finish(void *self, tsarc_buf *out)
{
	return tsarc_mysql_strip_finish(self, out);
}

static int filter_fresh(const void *self, void **out)
{
	tsarc_mysql_strip *f;
	int rc;

	if ((rc = tsarc_mysql_strip_new(&f, ((const tsarc_mysql_strip *)self)->what)))
		return rc;
	*out = f;
	return 0;
}

static void filter_free(void *self)
{
	tsarc_mysql_strip_free(self);
}

const tsarc_filter_ops tsarc_mysql_strip_ops = {.feed = filter_feed,
	.finish = filter_finish, .fresh = filter_fresh, .free = filter_free};
