/*
 * The owners of a dump's objects fitted to the target (psqlowner.h):
 * lines read as psql reads them (the guard's lexer, check only), and of
 * those that begin between statements, the ones that may be an owner's or
 * a grant's statement held whole and read token by token.
 */
#include "psqlowner.h"
#include "crypto.h"
#include "filter.h"
#include "psqlguard.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

/* The longest line read: pg_dump's owner and grant statements are one
 * name (at most 63 bytes, qualified, a function's argument types) and a
 * few words. A longer line passes as it is. */
#define LINE_MAX_READ 8192
/* The most tokens read of a line, and kept of a name. */
#define TOKENS_MAX 256
#define NAME_MAX_READ 128
/* The missing roles named in the report. */
#define FROM_MAX 32

const char tsarc_psql_owner_query[] = "SELECT encode(convert_to(current_user::text, 'UTF8'), "
	"'hex') || ' ' || coalesce(string_agg(encode(convert_to(rolname::text, 'UTF8'), 'hex'), "
	"' '), '') FROM pg_catalog.pg_roles";

typedef enum { T_WORD, T_NAME, T_PUNCT } tok_kind;

typedef struct token {
	tok_kind kind;
	size_t off, len;          /* where it is in the line */
	char text[NAME_MAX_READ]; /* T_WORD lower case, T_NAME unquoted, T_PUNCT the byte */
	int ascii;
} token;

/* What becomes of a line read. */
typedef enum { LINE_PASS, LINE_CHANGE, LINE_LEAVE_OUT } verdict;

typedef struct reading {
	token t[TOKENS_MAX];
	size_t n;
	int change[TOKENS_MAX];   /* the tokens that become the load's role */
} reading;

struct tsarc_psql_owner {
	char *answer;            /* the target's, for a fresh copy */
	char **roles;            /* the target's roles, sorted */
	size_t nroles;
	char *to;                /* the role the load connects as */
	tsarc_psql_guard *lex;   /* reads what passes as psql does */
	int line_start;          /* the next byte begins a line */
	int holding;             /* the line so far is held, to be read whole */
	tsarc_buf line;
	unsigned long changed, left_out;
	char *from[FROM_MAX];    /* the missing roles stood in for */
	size_t nfrom;
	reading r;               /* the held line's tokens */
};

/* ---- the target's roles ---- */

/* One hex-encoded name of the answer, p[0..n), into *out (to free); 1
 * for one that is not (odd, too long, not hex, a NUL byte). */
static int unhex(const char *p, size_t n, char **out)
{
	char hex[2 * NAME_MAX_READ];

	*out = NULL;
	if (!n || n % 2 || n >= sizeof(hex))
		return 1;
	memcpy(hex, p, n);
	hex[n] = '\0';
	if (!(*out = calloc(1, n / 2 + 1)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (tsarc_hex_decode((uint8_t *)*out, n / 2, hex) || strlen(*out) != n / 2) {
		tsarc_error_clear();
		free(*out);
		*out = NULL;
		return 1;
	}
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_answer(tsarc_psql_owner *o, const char *answer)
{
	const char *p = answer;
	size_t n, cap = 0;
	char *name;
	int rc;

	while (*p) {
		n = strcspn(p, " \n");
		if ((rc = unhex(p, n, &name)) == 1)
			return tsarc_error_set(TSARC_ECORRUPT, "unexpected answer of psql to the query "
				"of the server's roles");
		if (rc)
			return rc;
		if (!o->to) {
			o->to = name;
		} else {
			if (o->nroles == cap) {
				char **grown = realloc(o->roles, (cap = cap ? 2 * cap : 16) * sizeof(*grown));
				if (!grown) {
					free(name);
					return tsarc_error_set(TSARC_ENOMEM, "out of memory");
				}
				o->roles = grown;
			}
			o->roles[o->nroles++] = name;
		}
		p += n;
		if (*p == '\n' && !p[1])
			break;
		if (*p != ' ')
			return tsarc_error_set(TSARC_ECORRUPT, "unexpected answer of psql to the query "
				"of the server's roles");
		p++;
	}
	if (!o->to)
		return tsarc_error_set(TSARC_ECORRUPT, "psql gave no answer to the query of the "
			"server's roles");
	if (o->nroles)
		qsort(o->roles, o->nroles, sizeof(*o->roles), compare_names);
	return 0;
}

int tsarc_psql_owner_new(const char *answer, tsarc_psql_owner **out)
{
	tsarc_psql_owner *o = calloc(1, sizeof(*o));
	int rc;

	*out = NULL;
	if (!o || !(o->answer = strdup(answer))) {
		free(o);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	o->line = (tsarc_buf)TSARC_BUF_INIT;
	o->line_start = 1;
	if ((rc = read_answer(o, answer)) || (rc = tsarc_psql_guard_new(&o->lex))) {
		tsarc_psql_owner_free(o);
		return rc;
	}
	*out = o;
	return 0;
}

void tsarc_psql_owner_free(tsarc_psql_owner *o)
{
	size_t i;

	if (!o)
		return;
	for (i = 0; i < o->nroles; i++)
		free(o->roles[i]);
	for (i = 0; i < o->nfrom; i++)
		free(o->from[i]);
	free(o->roles);
	free(o->to);
	free(o->answer);
	tsarc_psql_guard_free(o->lex);
	tsarc_buf_dispose(&o->line);
	free(o);
}

/* ---- a line, token by token ---- */

static int ident_byte(unsigned char c, int first)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80 ||
		(!first && ((c >= '0' && c <= '9') || c == '$'));
}

/* A "quoted" name at p[0..n) (p[0] the quote): its length with the
 * quotes, 0 when it does not end on the line or is too long to keep. */
static size_t quoted_name(const char *p, size_t n, token *t)
{
	size_t i = 1, o = 0;

	for (;;) {
		if (i >= n)
			return 0;
		if (p[i] == '"') {
			if (i + 1 < n && p[i + 1] == '"')
				i++;
			else
				break;
		}
		if (o + 1 >= sizeof(t->text))
			return 0;
		t->ascii &= (unsigned char)p[i] < 0x80;
		t->text[o++] = p[i++];
	}
	t->text[o] = '\0';
	return i + 1;
}

/* The line's tokens into r; 0 when the line is not one this reads (a
 * string, a comment, a dollar quote, a backslash, too many tokens, or
 * more than one statement): it then passes as it is. */
static int tokenize(const char *p, size_t n, reading *r)
{
	size_t i = 0, len;

	r->n = 0;
	while (i < n) {
		unsigned char c = (unsigned char)p[i];
		token *t;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			i++;
			continue;
		}
		if (r->n == TOKENS_MAX || (r->n && r->t[r->n - 1].kind == T_PUNCT &&
			r->t[r->n - 1].text[0] == ';'))
			return 0;
		t = &r->t[r->n];
		memset(t, 0, sizeof(*t));
		t->off = i;
		t->ascii = 1;
		if (ident_byte(c, 1) || (c >= '0' && c <= '9')) {
			for (len = 0; i < n && ident_byte((unsigned char)p[i], 0); i++) {
				t->ascii &= (unsigned char)p[i] < 0x80;
				if (len + 1 < sizeof(t->text))
					t->text[len++] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
			}
			if (len + 1 >= sizeof(t->text) || (i < n && (p[i] == '\'' || p[i] == '"')))
				return 0; /* cut short, or a string's prefix (E'', U&"") */
			t->kind = T_WORD;
		} else if (c == '"') {
			if (!(len = quoted_name(p + i, n - i, t)))
				return 0;
			i += len;
			t->kind = T_NAME;
		} else if (c == '\'' || c == '$' || c == '\\' || c == '\0' ||
			(c == '-' && i + 1 < n && p[i + 1] == '-') ||
			(c == '/' && i + 1 < n && p[i + 1] == '*')) {
			return 0;
		} else {
			t->kind = T_PUNCT;
			t->text[0] = (char)c;
			i++;
		}
		t->len = i - t->off;
		r->n++;
	}
	return r->n && r->t[r->n - 1].kind == T_PUNCT && r->t[r->n - 1].text[0] == ';';
}

static int word(const reading *r, size_t i, const char *w)
{
	return i < r->n && r->t[i].kind == T_WORD && !strcmp(r->t[i].text, w);
}

static int punct(const reading *r, size_t i, char c)
{
	return i < r->n && r->t[i].kind == T_PUNCT && r->t[i].text[0] == c;
}

/* Whether token i names a role the target does not have: a name, or a
 * word other than those that name no role, of ASCII characters (in
 * another encoding than UTF-8 the dump spells others otherwise). GROUP,
 * the keyword before a grantee, is passed over by grantees: a role named
 * group is a quoted name (a reserved word), never the word. */
static int missing_role(const tsarc_psql_owner *o, const reading *r, size_t i)
{
	const token *t;
	const char *key;

	if (i >= r->n || (t = &r->t[i])->kind == T_PUNCT || !t->ascii)
		return 0;
	key = t->text;
	if (t->kind == T_WORD && (!strcmp(key, "public") || !strcmp(key, "current_user") ||
		!strcmp(key, "session_user") || !strcmp(key, "current_role")))
		return 0;
	return !o->nroles ||
		!bsearch(&key, o->roles, o->nroles, sizeof(*o->roles), compare_names);
}

/* The grantees of a GRANT or REVOKE at token `at` (to its end): how many,
 * and how many the target does not have; 0 when it is not one read here
 * (no ON: a role's membership; no TO or FROM after it). */
static int grantees(const tsarc_psql_owner *o, const reading *r, size_t at, size_t *all,
	size_t *missing)
{
	const char *to = word(r, at, "grant") ? "to" : "from";
	size_t i = at + 1;
	int depth = 0, on = 0;

	*all = *missing = 0;
	for (; i < r->n; i++) {
		if (punct(r, i, '('))
			depth++;
		else if (punct(r, i, ')'))
			depth--;
		else if (!depth && word(r, i, "on"))
			on = 1;
		else if (!depth && on && word(r, i, to))
			break;
	}
	for (i++; i < r->n; i++) {
		if (word(r, i, "group"))
			i++;
		if (i >= r->n || r->t[i].kind == T_PUNCT)
			return 0;
		(*all)++;
		*missing += (size_t)missing_role(o, r, i);
		if (!punct(r, i + 1, ','))
			break;
		i++;
	}
	return *all && (punct(r, i + 1, ';') || word(r, i + 1, "with") ||
		word(r, i + 1, "granted") || word(r, i + 1, "cascade") || word(r, i + 1, "restrict"));
}

/* A GRANT or REVOKE from token `at`: left out when every grantee is
 * missing, else as it is. */
static verdict privileges(const tsarc_psql_owner *o, const reading *r, size_t at)
{
	size_t all, missing;

	if (!grantees(o, r, at, &all, &missing))
		return LINE_PASS;
	return missing == all ? LINE_LEAVE_OUT : LINE_PASS;
}

/* ALTER DEFAULT PRIVILEGES [FOR ROLE r, ...] [IN SCHEMA s, ...] GRANT|REVOKE ...:
 * a missing role FOR which they are set becomes the load's. */
static verdict default_privileges(const tsarc_psql_owner *o, reading *r)
{
	size_t i = 3;
	int changed = 0;
	verdict v;

	if (word(r, i, "for") && (word(r, i + 1, "role") || word(r, i + 1, "user"))) {
		for (i += 2; i < r->n; i += 2) {
			if (r->t[i].kind == T_PUNCT)
				return LINE_PASS;
			if (missing_role(o, r, i))
				changed = r->change[i] = 1;
			if (!punct(r, i + 1, ','))
				break;
		}
		i++;
	}
	while (i < r->n && !word(r, i, "grant") && !word(r, i, "revoke"))
		i++;
	if (i == r->n)
		return LINE_PASS;
	if ((v = privileges(o, r, i)) != LINE_PASS)
		return v;
	return changed ? LINE_CHANGE : LINE_PASS;
}

static verdict judge(const tsarc_psql_owner *o, reading *r)
{
	size_t n = r->n;

	memset(r->change, 0, sizeof(r->change));
	if (word(r, 0, "alter") && word(r, 1, "default") && word(r, 2, "privileges"))
		return default_privileges(o, r);
	/* ALTER <kind> <name> OWNER TO <role>; */
	if (word(r, 0, "alter") && n >= 5 && word(r, n - 4, "owner") && word(r, n - 3, "to") &&
		missing_role(o, r, n - 2)) {
		r->change[n - 2] = 1;
		return LINE_CHANGE;
	}
	if (word(r, 0, "grant") || word(r, 0, "revoke"))
		return privileges(o, r, 0);
	return LINE_PASS;
}

/* ---- the stream ---- */

/* Bytes that go to psql: read by the lexer, then to `out`. */
static int pass(tsarc_psql_owner *o, const void *p, size_t n, tsarc_buf *out)
{
	int rc;

	if (!n)
		return 0;
	if ((rc = tsarc_psql_guard_feed(o->lex, p, n, NULL)))
		return rc;
	return out ? tsarc_buf_append(out, p, n) : 0;
}

static void note_from(tsarc_psql_owner *o, const char *role)
{
	size_t i;

	for (i = 0; i < o->nfrom; i++)
		if (!strcmp(o->from[i], role))
			return;
	if (o->nfrom < FROM_MAX && (o->from[o->nfrom] = strdup(role)))
		o->nfrom++;
}

/* The line with each token to change naming the load's role, quoted. */
static int changed_line(tsarc_psql_owner *o, const reading *r, tsarc_buf *line)
{
	const char *p = (const char *)o->line.ptr;
	size_t i, at = 0;
	const char *c;

	for (i = 0; i < r->n; i++) {
		if (!r->change[i])
			continue;
		note_from(o, r->t[i].text);
		tsarc_buf_append(line, p + at, r->t[i].off - at);
		tsarc_buf_append(line, "\"", 1);
		for (c = o->to; *c; c++)
			tsarc_buf_append(line, *c == '"' ? "\"\"" : c, *c == '"' ? 2 : 1);
		tsarc_buf_append(line, "\"", 1);
		at = r->t[i].off + r->t[i].len;
	}
	tsarc_buf_append(line, p + at, o->line.size - at);
	return tsarc_buf_status(line);
}

/* The held line, whole (or the last, without its newline). */
static int line_end(tsarc_psql_owner *o, tsarc_buf *out)
{
	reading *r = &o->r;
	tsarc_buf line = TSARC_BUF_INIT;
	verdict v = LINE_PASS;
	int rc = 0;

	o->holding = 0;
	if (tokenize((const char *)o->line.ptr, o->line.size, r))
		v = judge(o, r);
	if (v == LINE_LEAVE_OUT)
		o->left_out++;
	else if (v == LINE_CHANGE && !(rc = changed_line(o, r, &line)))
		o->changed++, rc = pass(o, line.ptr, line.size, out);
	else if (v == LINE_PASS)
		rc = pass(o, o->line.ptr, o->line.size, out);
	tsarc_buf_dispose(&line);
	tsarc_buf_clear(&o->line);
	return rc;
}

/* Whether a line beginning with c may be an owner's or a grant's
 * statement (ALTER, GRANT, REVOKE). */
static int may_be_read(unsigned char c)
{
	c |= 0x20;
	return c == 'a' || c == 'g' || c == 'r';
}

int tsarc_psql_owner_feed(tsarc_psql_owner *o, const void *data, size_t len, tsarc_buf *out)
{
	const char *p = data, *nl;
	size_t n;
	int rc;

	while (len) {
		nl = memchr(p, '\n', len);
		n = nl ? (size_t)(nl - p) + 1 : len;
		if (o->line_start) {
			/* Only a line psql reads as a statement of its own: never
			 * one of COPY data, a string, a body or a comment. */
			o->line_start = 0;
			o->holding = tsarc_psql_guard_between(o->lex) && may_be_read((unsigned char)*p);
		}
		if (o->holding && o->line.size + n > LINE_MAX_READ) {
			o->holding = 0;
			if ((rc = pass(o, o->line.ptr, o->line.size, out)))
				return rc;
			tsarc_buf_clear(&o->line);
		}
		if (o->holding) {
			if (tsarc_buf_append(&o->line, p, n) || (rc = tsarc_buf_status(&o->line)))
				return tsarc_buf_status(&o->line);
			if (nl && (rc = line_end(o, out)))
				return rc;
		} else if ((rc = pass(o, p, n, out))) {
			return rc;
		}
		o->line_start = nl != NULL;
		p += n;
		len -= n;
	}
	return 0;
}

int tsarc_psql_owner_finish(tsarc_psql_owner *o, tsarc_buf *out)
{
	return o->holding && o->line.size ? line_end(o, out) : 0;
}

int tsarc_psql_owner_report(const tsarc_psql_owner *o, cJSON *detail)
{
	cJSON *what, *from;
	size_t i;

	if (!o->changed && !o->left_out)
		return 0;
	if (!(what = cJSON_AddObjectToObject(detail, "owners")) ||
		!cJSON_AddStringToObject(what, "to", o->to) ||
		!(from = cJSON_AddArrayToObject(what, "from")) ||
		!cJSON_AddNumberToObject(what, "statements", (double)o->changed) ||
		!cJSON_AddNumberToObject(what, "grants_left_out", (double)o->left_out))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; i < o->nfrom; i++)
		cJSON_AddItemToArray(from, cJSON_CreateString(o->from[i]));
	return 0;
}

/* ---- as a stream filter (filter.h) ---- */

static int filter_feed(void *self, const void *data, size_t len, tsarc_buf *out)
{
	return tsarc_psql_owner_feed(self, data, len, out);
}

static int filter_finish(void *self, tsarc_buf *out)
{
	return tsarc_psql_owner_finish(self, out);
}

static int filter_fresh(const void *self, void **out)
{
	const tsarc_psql_owner *o = self;
	tsarc_psql_owner *n;
	int rc;

	if ((rc = tsarc_psql_owner_new(o->answer, &n)))
		return rc;
	*out = n;
	return 0;
}

static void filter_free(void *self)
{
	tsarc_psql_owner_free(self);
}

const tsarc_filter_ops tsarc_psql_owner_ops = {.feed = filter_feed, .finish = filter_finish,
	.fresh = filter_fresh, .free = filter_free};
