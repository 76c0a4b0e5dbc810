/*
 * The mysql guard's reader of statements (mysqlguard_stmt.h): the rules
 * of mysqlguard.h, applied to the tokens the lexer (mysqlguard.c) gives.
 * A statement is read from its first token: its verb (USE, CREATE, ...)
 * decides what comes next, and where the statement names what it writes
 * a window of tokens is watched for `db`.`name` whose `db` is not the
 * target. Everything past what the rules look at is let through.
 */
#include "mysqlguard_stmt.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <string.h>

/* Tokens between CREATE/ALTER/DROP and the object's kind looked at. */
#define HEAD_SKIP_MAX 48

/* Where a statement is in its reading (tsarc_mysql_stmt.rs). */
enum {
	R_HEAD,	/* no token yet */
	R_DDL,	/* after CREATE, ALTER or DROP: looking for the object's kind */
	R_IFX,	/* after the kind: IF [NOT] EXISTS, then the name */
	R_DB,	/* the next identifier names a database */
	R_SET,	/* a SET (mysqlguard_set.c) */
	R_RENAME, /* after RENAME: USER or a table list */
	R_WINDOW, /* names that are written: a qualifier must be the target */
	R_DONE	/* nothing more to check in this statement */
};

/* A name for a message: printable ASCII, at most 64 bytes. */
static void printable(const char *s, size_t n, int cut, char *out, size_t outsz)
{
	size_t i, k = 0;

	for (i = 0; i < n && k + 4 < outsz && i < 64; i++)
		out[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if ((cut || i < n) && k + 4 < outsz)
		out[k++] = '.', out[k++] = '.', out[k++] = '.';
	out[k] = '\0';
}

static int same_name(const tsarc_mysql_stmt *s, const char *name, size_t n, int cut)
{
	return !cut && strlen(s->target) == n && !memcmp(s->target, name, n);
}

int tsarc_mysql_stmt_refuse(const tsarc_mysql_stmt *s, const char *what, const char *why)
{
	char target[80];

	printable(s->target, strlen(s->target), 0, target, sizeof(target));
	return tsarc_error_set(TSARC_EUNSAFE, "the SQL stream's %s at byte %llu %s; the load goes "
		"into database `%s` only (a dump taken with --databases or --all-databases restores "
		"only into the database it was taken from, under that name)", what, s->off, why,
		target);
}

/* The statement names another database, `name`: refused, the message
 * naming the statement by its verb and object ("CREATE TABLE `other`"). */
static int refuse_database(const tsarc_mysql_stmt *s, const char *name, size_t n, int cut)
{
	char shown[80], what[128];

	printable(name, n, cut, shown, sizeof(shown));
	snprintf(what, sizeof(what), "%s%s%s `%s`", s->verb, s->object[0] ? " " : "", s->object,
		shown);
	return tsarc_mysql_stmt_refuse(s, what, "names another database");
}

void tsarc_mysql_stmt_start(tsarc_mysql_stmt *s)
{
	s->rs = R_HEAD;
	s->ntok = 0;
	s->skipped = 0;
	s->verb[0] = s->object[0] = '\0';
	s->stops = NULL;
	s->win_single = s->win_named = s->prev_ident = s->dot = s->after_into = 0;
	s->set_part = s->set_target = s->set_at = s->set_var_cut = 0;
	s->set_var[0] = '\0';
	s->val_n = s->val_literal = s->val_var_safe = s->val_sysvar = s->val_depth = 0;
	s->name_next = 0;
}

int tsarc_mysql_stmt_end(tsarc_mysql_stmt *s)
{
	return s->rs == R_SET ? tsarc_mysql_set_end(s) : 0;
}

int tsarc_mysql_upper_eq(const char *a, size_t n, const char *upper)
{
	size_t i;

	if (strlen(upper) != n)
		return 0;
	for (i = 0; i < n; i++) {
		char c = a[i];
		if ((c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c) != upper[i])
			return 0;
	}
	return 1;
}

int tsarc_mysql_token_is(const tsarc_mysql_token *t, const char *w)
{
	return t->kind == MYSQL_WORD && !t->cut && tsarc_mysql_upper_eq(t->text, t->len, w);
}

static int word_in(const tsarc_mysql_token *t, const char *const *list)
{
	for (; list && *list; list++)
		if (tsarc_mysql_token_is(t, *list))
			return 1;
	return 0;
}

/* The token, a keyword, in upper case (verb, object). */
static void keyword_copy(const tsarc_mysql_token *t, char *out, size_t outsz)
{
	size_t i;

	for (i = 0; i + 1 < outsz && i < t->len && !t->cut; i++)
		out[i] = t->text[i] >= 'a' && t->text[i] <= 'z' ? (char)(t->text[i] - 'a' + 'A') :
			t->text[i];
	out[i] = '\0';
}

static const char *const STOP_NONE[] = {NULL};
static const char *const STOP_INSERT[] = {"VALUES", "VALUE", "SELECT", "SET", "WITH", "TABLE",
	"PARTITION", NULL};
static const char *const STOP_CREATE_TABLE[] = {"LIKE", "AS", "SELECT", "IGNORE", "REPLACE",
	NULL};
static const char *const STOP_VIEW[] = {"AS", NULL};
static const char *const STOP_TRIGGER[] = {"FOR", NULL};
static const char *const STOP_EVENT[] = {"ON", NULL};
/* UPDATE and DELETE: the tables written come first; ON and USING start
 * what is only read (a join's columns, `t`.`id`, are no database's). */
static const char *const STOP_UPDATE[] = {"SET", "ON", NULL};
static const char *const STOP_DELETE[] = {"WHERE", "ORDER", "LIMIT", "RETURNING", "USING",
	"ON", NULL};

static void window(tsarc_mysql_stmt *s, const char *const *stops, int single)
{
	s->rs = R_WINDOW;
	s->stops = stops;
	s->win_single = single;
	s->win_named = s->prev_ident = s->dot = 0;
}

/* A token of the window: an identifier after `ident .` is qualified. */
static int window_token(tsarc_mysql_stmt *s, const tsarc_mysql_token *t)
{
	int ident = t->kind == MYSQL_WORD || t->kind == MYSQL_ID;

	if (t->kind == MYSQL_PUNCT && t->text[0] == '(') {
		s->rs = R_DONE;
		return 0;
	}
	if (t->kind == MYSQL_WORD && word_in(t, s->stops)) {
		s->rs = R_DONE;
		return 0;
	}
	if (ident && s->dot) {
		s->dot = 0;
		s->prev_ident = 0;
		return same_name(s, s->last, s->last_len, s->last_cut) ? 0 :
			refuse_database(s, s->last, s->last_len, s->last_cut);
	}
	if (t->kind == MYSQL_PUNCT && t->text[0] == '.' && s->prev_ident) {
		s->dot = 1;
		return 0;
	}
	if (s->win_single && s->win_named) {
		s->rs = R_DONE;
		return 0;
	}
	s->dot = 0;
	s->prev_ident = ident;
	if (ident) {
		s->win_named = 1;
		memcpy(s->last, t->text, t->len + 1);
		s->last_len = t->len;
		s->last_cut = t->cut;
	}
	return 0;
}

/* The token names a database (USE, CREATE or ALTER DATABASE): the target's. */
static int database_name(tsarc_mysql_stmt *s, const tsarc_mysql_token *t)
{
	s->rs = R_DONE;
	if ((t->kind != MYSQL_WORD && t->kind != MYSQL_ID) || same_name(s, t->text, t->len, t->cut))
		return 0;
	return refuse_database(s, t->text, t->len, t->cut);
}

/* The object's kind after CREATE, ALTER or DROP. */
static int object_kind(tsarc_mysql_stmt *s, const tsarc_mysql_token *t)
{
	static const char *const accounts[] = {"USER", "ROLE", "SERVER", NULL};
	static const char *const kinds[] = {"TABLE", "TABLES", "VIEW", "TRIGGER", "PROCEDURE",
		"FUNCTION", "EVENT", "SEQUENCE", "INDEX", "PACKAGE", "DATABASE", "SCHEMA", NULL};
	char what[40];

	if (word_in(t, accounts)) {
		char kind[16];
		keyword_copy(t, kind, sizeof(kind));
		snprintf(what, sizeof(what), "%s %s", s->verb, kind);
		return tsarc_mysql_stmt_refuse(s, what, "changes the server's accounts or servers");
	}
	if (!word_in(t, kinds)) {
		if (++s->skipped > HEAD_SKIP_MAX)
			s->rs = R_DONE;
		return 0;
	}
	keyword_copy(t, s->object, sizeof(s->object));
	if (s->counts && !strcmp(s->verb, "CREATE")) {
		s->triggers += !strcmp(s->object, "TRIGGER");
		s->functions += !strcmp(s->object, "FUNCTION");
	}
	if (!strcmp(s->object, "DATABASE") || !strcmp(s->object, "SCHEMA")) {
		if (!strcmp(s->verb, "DROP")) {
			snprintf(what, sizeof(what), "DROP %s", s->object);
			return tsarc_mysql_stmt_refuse(s, what, "drops a database");
		}
	}
	s->rs = R_IFX;
	return 0;
}

/* The first token after the kind (and IF [NOT] EXISTS). */
static int object_name(tsarc_mysql_stmt *s, const tsarc_mysql_token *t)
{
	static const char *const ifx[] = {"IF", "NOT", "EXISTS", NULL};
	static const char *const db_options[] = {"CHARACTER", "CHARSET", "DEFAULT", "COLLATE",
		"COMMENT", "UPGRADE", "READ", "ENCRYPTION", NULL};
	const char *o = s->object;
	int create = !strcmp(s->verb, "CREATE"), alter = !strcmp(s->verb, "ALTER");

	if (word_in(t, ifx))
		return 0;
	if (!strcmp(o, "DATABASE") || !strcmp(o, "SCHEMA")) {
		/* ALTER DATABASE without a name: the session's, the target. */
		if (alter && word_in(t, db_options)) {
			s->rs = R_DONE;
			return 0;
		}
		return database_name(s, t);
	}
	if (!strcmp(s->verb, "DROP"))
		window(s, STOP_NONE, 0);
	else if (!strcmp(o, "TABLE"))
		window(s, create ? STOP_CREATE_TABLE : STOP_NONE, 0);
	else if (!strcmp(o, "VIEW"))
		window(s, STOP_VIEW, 0);
	else if (!strcmp(o, "TRIGGER"))
		window(s, STOP_TRIGGER, 0);
	else if (!strcmp(o, "EVENT"))
		window(s, STOP_EVENT, 0);
	else if (!strcmp(o, "INDEX"))
		window(s, STOP_NONE, 0);
	else
		window(s, STOP_NONE, alter); /* routines, sequences, packages */
	return window_token(s, t);
}

/* The statement's first token. */
static int head(tsarc_mysql_stmt *s, const tsarc_mysql_token *t)
{
	static const char *const refused[] = {"GRANT", "REVOKE", "INSTALL", "UNINSTALL", NULL};

	if (t->kind != MYSQL_WORD) {
		s->rs = R_DONE;
		return 0;
	}
	keyword_copy(t, s->verb, sizeof(s->verb));
	if (word_in(t, refused))
		return tsarc_mysql_stmt_refuse(s, s->verb, "changes the server's accounts or plugins");
	if (tsarc_mysql_token_is(t, "LOAD"))
		return tsarc_mysql_stmt_refuse(s, s->verb, "reads files into the database");
	if (tsarc_mysql_token_is(t, "USE"))
		s->rs = R_DB;
	else if (tsarc_mysql_token_is(t, "CREATE") || tsarc_mysql_token_is(t, "ALTER") || tsarc_mysql_token_is(t, "DROP"))
		s->rs = R_DDL;
	else if (tsarc_mysql_token_is(t, "SET"))
		s->rs = R_SET;
	else if (tsarc_mysql_token_is(t, "RENAME"))
		s->rs = R_RENAME;
	else if (tsarc_mysql_token_is(t, "INSERT") || tsarc_mysql_token_is(t, "REPLACE"))
		window(s, STOP_INSERT, 0);
	else if (tsarc_mysql_token_is(t, "UPDATE"))
		window(s, STOP_UPDATE, 0);
	else if (tsarc_mysql_token_is(t, "DELETE"))
		window(s, STOP_DELETE, 0);
	else if (tsarc_mysql_token_is(t, "TRUNCATE") || tsarc_mysql_token_is(t, "LOCK"))
		window(s, STOP_NONE, 0);
	else
		s->rs = R_DONE;
	return 0;
}

/* Name `t` of `kind` kept (tsarc_mysql_dump_facts): plain, new, room left. */
static void name_keep(tsarc_mysql_stmt *s, char kind, const tsarc_mysql_token *t)
{
	char low[sizeof(s->names[0].name)];
	size_t i;

	if (t->kind == MYSQL_PUNCT || t->cut || !t->len || t->len >= sizeof(low) ||
		tsarc_mysql_upper_eq(t->text, t->len, "DEFAULT"))
		return;
	for (i = 0; i < t->len; i++) {
		unsigned char ch = (unsigned char)t->text[i];
		if (!(ch == '_' || (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z')))
			return;
		low[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch);
	}
	low[i] = '\0';
	for (i = 0; i < s->nnames; i++)
		if (s->names[i].kind == kind && !strcmp(s->names[i].name, low))
			return;
	if (s->nnames == TSARC_MYSQL_NAMES_MAX)
		return;
	s->names[s->nnames].kind = kind;
	memcpy(s->names[s->nnames].name, low, t->len + 1);
	s->nnames++;
}

/* The character sets and collations a statement names: the word after
 * COLLATE, CHARSET, CHARACTER SET or NAMES (SET NAMES), an '=' between
 * allowed; in every statement, whatever else the guard reads of it. */
static void names_token(tsarc_mysql_stmt *s, const tsarc_mysql_token *t)
{
	char want = s->name_next;

	s->name_next = 0;
	if (want == 'C') {
		s->name_next = tsarc_mysql_token_is(t, "SET") ? 's' : 0;
		return;
	}
	if (want && t->kind == MYSQL_PUNCT && t->text[0] == '=') {
		s->name_next = want;
		return;
	}
	if (want) {
		name_keep(s, want, t);
		return;
	}
	if (tsarc_mysql_token_is(t, "COLLATE"))
		s->name_next = 'c';
	else if (tsarc_mysql_token_is(t, "CHARSET") || tsarc_mysql_token_is(t, "NAMES"))
		s->name_next = 's';
	else if (tsarc_mysql_token_is(t, "CHARACTER"))
		s->name_next = 'C';
}

int tsarc_mysql_stmt_token(tsarc_mysql_stmt *s, const tsarc_mysql_token *t)
{
	int after_into = s->after_into;

	if (s->ntok++ == 0)
		s->off = t->off;
	if (s->counts)
		names_token(s, t);
	s->after_into = tsarc_mysql_token_is(t, "INTO");
	if (after_into && (tsarc_mysql_token_is(t, "OUTFILE") || tsarc_mysql_token_is(t, "DUMPFILE")))
		return tsarc_mysql_stmt_refuse(s, "INTO OUTFILE", "writes a file on the server");
	switch (s->rs) {
	case R_HEAD:
		return head(s, t);
	case R_DDL:
		return object_kind(s, t);
	case R_IFX:
		return object_name(s, t);
	case R_DB:
		return database_name(s, t);
	case R_SET:
		return tsarc_mysql_set_token(s, t);
	case R_RENAME:
		if (tsarc_mysql_token_is(t, "USER"))
			return tsarc_mysql_stmt_refuse(s, "RENAME USER", "changes the server's accounts");
		window(s, STOP_NONE, 0);
		return tsarc_mysql_token_is(t, "TABLE") || tsarc_mysql_token_is(t, "TABLES") ? 0 : window_token(s, t);
	case R_WINDOW:
		return window_token(s, t);
	case R_DONE:
		return 0;
	}
	return 0;
}

