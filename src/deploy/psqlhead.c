/*
 * The head of a pg_dump dump fitted to an older server (psqlhead.h): its
 * lines held one at a time, while the head lasts, and judged whole.
 */
#include "psqlhead.h"
#include "dbconn.h"
#include "filter.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The longest head line judged: pg_dump's are under 80 bytes; a longer line
 * is of no form the head has, and ends it. */
#define LINE_HOLD 256

/* The settings a pg_dump head has set, with the server_version_num of the
 * first PostgreSQL that has each (0: every one a restore loads into), and
 * whether pg_dump sets it to 0 to turn a timeout off. */
static const struct setting {
	const char *name;
	long since;
	int timeout;
} SETTINGS[] = {
	{"statement_timeout", 0, 1},
	{"lock_timeout", 90300, 1},
	{"idle_in_transaction_session_timeout", 90600, 1},
	{"transaction_timeout", 170000, 1},
	{"client_encoding", 0, 0},
	{"standard_conforming_strings", 0, 0},
	{"escape_string_warning", 0, 0},
	{"check_function_bodies", 0, 0},
	{"xmloption", 0, 0},
	{"client_min_messages", 0, 0},
	{"row_security", 90500, 0},
	{"search_path", 0, 0},
	{"default_tablespace", 0, 0},
	{"default_with_oids", 0, 0},
	{"default_table_access_method", 120000, 0},
	{"session_replication_role", 0, 0},
};
#define NSETTINGS (sizeof(SETTINGS) / sizeof(SETTINGS[0]))

struct tsarc_psql_head {
	int server;              /* the target's major version */
	long server_num;         /* as server_version_num: 150000, 90600 */
	int in_head;             /* no line has ended the head yet */
	char line[LINE_HOLD];
	size_t llen;
	int overflow;            /* the line outgrew `line`: it ends the head */
	char removed[160];
};

int tsarc_psql_head_lacks(int dump, int server, char *buf, size_t size)
{
	size_t i, used = 0;
	int n = 0;

	buf[0] = '\0';
	for (i = 0; i < NSETTINGS; i++) {
		if (!SETTINGS[i].timeout || SETTINGS[i].since <= tsarc_pg_major_num(server) ||
			SETTINGS[i].since > tsarc_pg_major_num(dump))
			continue;
		if (used < size)
			used += (size_t)snprintf(buf + used, size - used, "%s%s", n ? ", " : "",
				SETTINGS[i].name);
		n++;
	}
	return n;
}

int tsarc_psql_head_new(int server, tsarc_psql_head **out)
{
	tsarc_psql_head *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	h->server = server;
	h->server_num = tsarc_pg_major_num(server);
	h->in_head = 1;
	*out = h;
	return 0;
}

void tsarc_psql_head_free(tsarc_psql_head *h)
{
	free(h);
}

const char *tsarc_psql_head_removed(const tsarc_psql_head *h)
{
	return h->removed;
}

/* Length of the run of p[0..n) made of bytes of `set`. */
static size_t span(const char *p, size_t n, const char *set)
{
	size_t i = 0;

	while (i < n && p[i] && strchr(set, p[i]))
		i++;
	return i;
}

#define WORD_CHARS "abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"
#define IDENT_START "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
#define IDENT_CHARS IDENT_START "0123456789$"
#define BLANKS " \t"

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A value of a head line at p[0..n): a word, or a quoted string without a
 * quote or backslash inside (read the same whatever
 * standard_conforming_strings says); its length, 0 for none. */
static size_t value_len(const char *p, size_t n)
{
	size_t i;

	if (n && p[0] == '\'') {
		for (i = 1; i < n && p[i] != '\'' && p[i] != '\\'; i++)
			;
		return i < n && p[i] == '\'' ? i + 1 : 0;
	}
	return span(p, n, WORD_CHARS);
}

/* An identifier at p[0..n) as the server reads a setting's name: plain,
 * or in double quotes without one inside; its length, 0 for none. */
static size_t ident_len(const char *p, size_t n)
{
	size_t i;

	if (n && p[0] == '"') {
		for (i = 1; i < n && p[i] != '"'; i++)
			;
		return i > 1 && i < n ? i + 1 : 0;
	}
	return n && p[0] && strchr(IDENT_START, p[0]) ? span(p, n, IDENT_CHARS) : 0;
}

/* A setting's name at p[0..n): an identifier, or two joined by a dot (an
 * extension's setting); its length, 0 for none. */
static size_t setting_name_len(const char *p, size_t n)
{
	size_t a = ident_len(p, n), b;

	if (a && a < n && p[a] == '.' && (b = ident_len(p + a + 1, n - a - 1)))
		return a + 1 + b;
	return a;
}

/* Whether p[0..n) begins with keyword `kw` (any case) and blanks. */
static size_t keyword(const char *p, size_t n, const char *kw)
{
	size_t k = strlen(kw), b;

	if (n <= k || strncasecmp(p, kw, k) || !(b = span(p + k, n - k, BLANKS)))
		return 0;
	return k + b;
}

/* A SET of the head at p[0..n), in any of SQL's spellings of one setting's
 * value: SET [SESSION | LOCAL] NAME {= | TO} ...; 0 for a line of another
 * form. *name, *nlen: the name as written; *whole: whether the rest is
 * one value (value_len) and then only blanks and the ';' that ends the
 * line, so that the next line begins between statements; *value, *vlen:
 * that value, else the rest from its first non-blank to its last. */
static int set_line(const char *p, size_t n, const char **name, size_t *nlen,
	const char **value, size_t *vlen, int *whole)
{
	size_t i, k, b;

	if (!(i = keyword(p, n, "SET")))
		return 0;
	if (((k = keyword(p + i, n - i, "SESSION")) || (k = keyword(p + i, n - i, "LOCAL"))) &&
		setting_name_len(p + i + k, n - i - k))
		i += k;
	*name = p + i;
	if (!(*nlen = setting_name_len(p + i, n - i)))
		return 0;
	i += *nlen;
	b = span(p + i, n - i, BLANKS);
	if (i + b < n && p[i + b] == '=')
		i += b + 1;
	else if (b && (k = keyword(p + i + b, n - i - b, "TO")))
		i += b + k;
	else
		return 0;
	i += span(p + i, n - i, BLANKS);
	*value = p + i;
	k = value_len(p + i, n - i);
	b = k ? span(p + i + k, n - i - k, BLANKS) : 0;
	*whole = k && i + k + b + 1 == n && p[i + k + b] == ';';
	for (*vlen = *whole ? k : n - i; *vlen && is_blank((*value)[*vlen - 1]); (*vlen)--)
		;
	return 1;
}

/* The name as the server looks it up: without its quotes, any case. */
static const struct setting *find_setting(const char *name, size_t n)
{
	size_t i;

	if (n >= 2 && name[0] == '"') {
		name++;
		n -= 2;
	}
	for (i = 0; i < NSETTINGS; i++)
		if (strlen(SETTINGS[i].name) == n && !strncasecmp(SETTINGS[i].name, name, n))
			return &SETTINGS[i];
	return NULL;
}

/* Whether p[0..n) is exactly SELECT pg_catalog.set_config('NAME', VALUE,
 * false|true); as pg_dump writes it for search_path: *name, *nlen,
 * *value and *vlen then say where NAME and VALUE are. */
static int set_config_line(const char *p, size_t n, const char **name, size_t *nlen,
	const char **value, size_t *vlen)
{
	static const char start[] = "SELECT pg_catalog.set_config('";
	size_t i = sizeof(start) - 1;

	if (n < i || memcmp(p, start, i) || !(*nlen = span(p + i, n - i, IDENT_CHARS ".")))
		return 0;
	*name = p + i;
	i += *nlen;
	if (n - i < 3 || memcmp(p + i, "', ", 3))
		return 0;
	i += 3;
	*value = p + i;
	if (!(*vlen = value_len(p + i, n - i)))
		return 0;
	i += *vlen;
	return (n - i == 9 && !memcmp(p + i, ", false);", 9)) ||
		(n - i == 8 && !memcmp(p + i, ", true);", 8));
}

/* Whether value[0..n) turns a timeout off: 0, quoted or not. */
static int is_zero(const char *value, size_t n)
{
	return (n == 1 && value[0] == '0') || (n == 3 && !memcmp(value, "'0'", 3));
}

/* A setting the head sets (`name` as written, to `value`; `whole`: the
 * line is the whole statement): 1 to remove the line, 0 to keep it, or
 * the refusal of a setting the target does not have. */
static int judge_set(tsarc_psql_head *h, const char *name, size_t nlen, const char *value,
	size_t vlen, int whole)
{
	const struct setting *st = find_setting(name, nlen);
	char server[16];
	size_t used;

	if (st && st->since <= h->server_num)
		return 0;
	tsarc_pg_major_name(h->server, server, sizeof(server));
	if (!st)
		return tsarc_error_set(TSARC_EUNSUPPORTED, "the dump's head sets %.*s, a setting "
			"of a newer pg_dump than this check knows, which a PostgreSQL %s server may "
			"not have (the load would stop there): restore into a server of the major "
			"version of the pg_dump that wrote it", (int)(nlen > 64 ? 64 : nlen), name,
			server);
	if (!st->timeout || !whole || !is_zero(value, vlen))
		return tsarc_error_set(TSARC_EUNSUPPORTED, "the dump's head sets %s to %.*s, a "
			"setting a PostgreSQL %s server does not have (the load would stop there): "
			"restore into a newer server", st->name, (int)(vlen > 64 ? 64 : vlen), value,
			server);
	used = strlen(h->removed);
	if (!strstr(h->removed, st->name) && used + strlen(st->name) + 3 <= sizeof(h->removed))
		snprintf(h->removed + used, sizeof(h->removed) - used, "%s%s", used ? ", " : "",
			st->name);
	return 1;
}

/* The held line, whole (with its newline, unless the input ended): kept,
 * removed, or the end of the head. */
static int line_end(tsarc_psql_head *h, tsarc_buf *out)
{
	size_t held = h->llen, n = held;
	const char *p = h->line, *name, *value;
	size_t nlen, vlen;
	int rc = 0, whole;

	h->llen = 0;
	if (n && p[n - 1] == '\n')
		n--;
	if (set_line(p, n, &name, &nlen, &value, &vlen, &whole)) {
		rc = judge_set(h, name, nlen, value, vlen, whole);
		/* A value of another form may go on past this line: the head
		 * ends with it. */
		if (!whole)
			h->in_head = 0;
	} else if (set_config_line(p, n, &name, &nlen, &value, &vlen)) {
		rc = judge_set(h, name, nlen, value, vlen, 1);
	} else if (!(n == 0 || (n >= 2 && !memcmp(p, "--", 2)) ||
			 (n > 10 && !memcmp(p, "\\restrict ", 10)))) {
		h->in_head = 0;
	}
	if (rc < 0)
		return rc;
	return rc ? 0 : tsarc_buf_append(out, p, held);
}

int tsarc_psql_head_feed(tsarc_psql_head *h, const void *data, size_t len, tsarc_buf *out)
{
	const char *p = data, *nl;
	size_t n;
	int rc;

	while (len && h->in_head) {
		nl = memchr(p, '\n', len);
		n = nl ? (size_t)(nl - p) + 1 : len;
		if (h->llen + n > sizeof(h->line)) {
			/* No head line is this long: it ends the head. */
			h->in_head = 0;
			if ((rc = tsarc_buf_append(out, h->line, h->llen)))
				return rc;
			h->llen = 0;
			break;
		}
		memcpy(h->line + h->llen, p, n);
		h->llen += n;
		p += n;
		len -= n;
		if (nl && (rc = line_end(h, out)))
			return rc;
	}
	return len ? tsarc_buf_append(out, p, len) : 0;
}

int tsarc_psql_head_finish(tsarc_psql_head *h, tsarc_buf *out)
{
	return h->llen ? line_end(h, out) : 0;
}

int tsarc_psql_head_settled(const tsarc_psql_head *h)
{
	return !h->in_head && !h->llen;
}

/* ---- as a stream filter (filter.h) ---- */

static int filter_feed(void *self, const void *data, size_t len, tsarc_buf *out)
{
	return tsarc_psql_head_feed(self, data, len, out);
}

static int filter_finish(void *self, tsarc_buf *out)
{
	return tsarc_psql_head_finish(self, out);
}

static int filter_fresh(const void *self, void **out)
{
	const tsarc_psql_head *h = self;
	tsarc_psql_head *n;
	int rc;

	if ((rc = tsarc_psql_head_new(h->server, &n)))
		return rc;
	*out = n;
	return 0;
}

static void filter_free(void *self)
{
	tsarc_psql_head_free(self);
}

static int filter_settled(const void *self)
{
	return tsarc_psql_head_settled(self);
}

const tsarc_filter_ops tsarc_psql_head_ops = {.feed = filter_feed, .finish = filter_finish,
	.fresh = filter_fresh, .free = filter_free, .settled = filter_settled};
