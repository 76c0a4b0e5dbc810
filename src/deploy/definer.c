/*
 * The DEFINER filter of definer.h: a small lexer over the dump that copies
 * every byte through except DEFINER clauses in code. Undecided bytes (the
 * tail of a buffer that may start a comment or a clause) are held in
 * `hold` and scanned again with the next buffer, so the output does not
 * depend on where buffers split.
 */
#include "definer.h"
#include "filter.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

/* Longest clause looked at: `user`@`host` are at most 80 and 255
 * characters, quoted and escaped; past this it is no clause of a dump. */
#define CLAUSE_MAX 2048

typedef enum { ST_CODE, ST_SQ, ST_DQ, ST_BT, ST_LINE, ST_BLOCK } lex_state;

struct tsarc_definer_filter {
	lex_state st;
	int prev_word; /* the last code byte belongs to a word */
	tsarc_buf hold;
	unsigned long count;
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

static int ci_prefix(const char *p, size_t n, const char *word, size_t *wlen)
{
	size_t i, len = strlen(word);

	*wlen = len;
	for (i = 0; i < len && i < n; i++) {
		char a = p[i];
		if (a >= 'a' && a <= 'z')
			a = (char)(a - 'a' + 'A');
		if (a != word[i])
			return NO_MATCH;
	}
	return i == len ? MATCH : NEED_MORE;
}

/* A user or host name at p[*i]: `q`, 'q', "q" (doubled quote inside; and
 * backslash escapes in '' and "") or a bare name. */
static int name_token(const char *p, size_t n, size_t *i, int host)
{
	size_t k = *i;
	char q;

	if (k >= n)
		return NEED_MORE;
	q = p[k];
	if (q == '`' || q == '\'' || q == '"') {
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

/* Scans p[0..n); appends the output to `out`; *used: bytes decided. With
 * `eof` every byte is decided. */
static int scan(tsarc_definer_filter *f, const char *p, size_t n, int eof, tsarc_buf *out,
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
			if (c == '\'' || c == '"' || c == '`') {
				f->st = c == '\'' ? ST_SQ : c == '"' ? ST_DQ : ST_BT;
				f->prev_word = 0;
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
				} else
					i++;
				f->prev_word = 0;
			} else if (c == '/') {
				NEED(2);
				f->prev_word = 0;
				if (i + 1 < n && p[i + 1] == '*') {
					NEED(3);
					if (i + 2 < n && p[i + 2] == '!') {
						i += 3; /* a versioned comment is code */
					} else if (i + 2 < n && p[i + 2] == 'M') {
						NEED(4);
						if (i + 3 < n && p[i + 3] == '!')
							i += 4; /* MariaDB's versioned form */
						else {
							f->st = ST_BLOCK;
							i += 2;
						}
					} else {
						f->st = ST_BLOCK;
						i += 2;
					}
				} else
					i++;
			} else if ((c == 'D' || c == 'd') && !f->prev_word) {
				int r = match_clause(p + i, n - i, &len);
				if (r == NEED_MORE && (eof || n - i > CLAUSE_MAX))
					r = NO_MATCH;
				if (r == NEED_MORE)
					goto stop;
				if (r == MATCH) {
					if ((rc = tsarc_buf_append(out, p + run, i - run)))
						return rc;
					i += len;
					run = i;
					f->count++;
					f->prev_word = 0;
				} else {
					f->prev_word = 1;
					i++;
				}
			} else {
				f->prev_word = is_word(c);
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

int tsarc_definer_filter_new(tsarc_definer_filter **out)
{
	tsarc_definer_filter *f = calloc(1, sizeof(*f));

	if (!f)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	f->st = ST_CODE;
	*out = f;
	return 0;
}

static int feed(tsarc_definer_filter *f, const char *data, size_t len, int eof, tsarc_buf *out)
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

int tsarc_definer_filter_feed(tsarc_definer_filter *f, const void *data, size_t len,
	tsarc_buf *out)
{
	return len ? feed(f, data, len, 0, out) : 0;
}

int tsarc_definer_filter_finish(tsarc_definer_filter *f, tsarc_buf *out)
{
	return feed(f, "", 0, 1, out);
}

unsigned long tsarc_definer_filter_count(const tsarc_definer_filter *f)
{
	return f->count;
}

void tsarc_definer_filter_free(tsarc_definer_filter *f)
{
	if (!f)
		return;
	tsarc_buf_dispose(&f->hold);
	free(f);
}

/* ---- as a stream filter (filter.h) ---- */

static int filter_feed(void *self, const void *data, size_t len, tsarc_buf *out)
{
	return tsarc_definer_filter_feed(self, data, len, out);
}

static int filter_finish(void *self, tsarc_buf *out)
{
	return tsarc_definer_filter_finish(self, out);
}

static int filter_fresh(const void *self, void **out)
{
	tsarc_definer_filter *f;
	int rc;

	(void)self;
	if ((rc = tsarc_definer_filter_new(&f)))
		return rc;
	*out = f;
	return 0;
}

static void filter_free(void *self)
{
	tsarc_definer_filter_free(self);
}

const tsarc_filter_ops tsarc_definer_filter_ops = {.feed = filter_feed,
	.finish = filter_finish, .fresh = filter_fresh, .free = filter_free};
