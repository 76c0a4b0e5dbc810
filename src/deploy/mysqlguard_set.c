/*
 * The mysql guard's reader of SET statements (mysqlguard_stmt.h): the
 * assignments `target = value`, comma-separated, of the two settings the
 * server reads a statement's text with, which a statement can change:
 * - sql_mode: NO_BACKSLASH_ESCAPES ('a\' is a whole string) and
 *   ANSI_QUOTES ("a\" is a whole identifier), and the combined modes that
 *   hold it (ANSI, ORACLE, DB2, MSSQL, POSTGRESQL, MAXDB);
 * - the client character set (NAMES, CHARACTER SET, character_set_client):
 *   in big5, cp932, gbk, gb18030 and sjis a byte of 0x80 or more takes the
 *   backslash or quote after it into one character.
 * Either makes the server end a string where the guard does not, and
 * split a multi-statement where the guard sees none. So such a setting
 * may be given a plain value the guard can read (a string or word, checked
 * against those lists), DEFAULT, or a user variable that holds a value
 * read from the server's own setting (`SET @saved = @@sql_mode`, as
 * mysqldump writes); anything else (an expression, another variable) is
 * refused. Also refused: SET PASSWORD and SET DEFAULT ROLE.
 */
#include "mysqlguard_stmt.h"
#include "tsarc/errors.h"

#include <string.h>
#include <strings.h>

enum { TARGET_OTHER, TARGET_SQL_MODE, TARGET_CHARSET, TARGET_USER_VAR };

/* Whether the token, a comma-separated list, has one of `items` (upper
 * case), in any case, blanks around it ignored. */
static int has_item(const tsarc_mysql_token *t, const char *const *items)
{
	size_t i = 0, a, b;

	while (i <= t->len) {
		const char *const *it;
		for (a = i; a < t->len && t->text[a] == ' '; a++)
			;
		for (b = a; b < t->len && t->text[b] != ','; b++)
			;
		i = b + 1;
		while (b > a && t->text[b - 1] == ' ')
			b--;
		for (it = items; *it; it++)
			if (tsarc_mysql_upper_eq(t->text + a, b - a, *it))
				return 1;
	}
	return 0;
}

static const char *const BAD_MODES[] = {"NO_BACKSLASH_ESCAPES", "ANSI_QUOTES", "ANSI", "ORACLE",
	"DB2", "MSSQL", "POSTGRESQL", "MAXDB", NULL};
static const char *const BAD_CHARSETS[] = {"BIG5", "CP932", "GBK", "GB18030", "SJIS", NULL};

/* A user variable's name, as a key (case-insensitive in MySQL). */
static int var_index(const tsarc_mysql_stmt *s, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < s->nsafe; i++)
		if (strlen(s->safe[i]) == n && !strncasecmp(s->safe[i], name, n))
			return (int)i;
	return -1;
}

static void var_mark(tsarc_mysql_stmt *s, const char *name, size_t n, int cut, int safe)
{
	int i = cut ? -1 : var_index(s, name, n);

	if (!safe && i >= 0)
		memcpy(s->safe[i], s->safe[--s->nsafe], sizeof(s->safe[i]));
	else if (safe && i < 0 && !cut && n < sizeof(s->safe[0]) && s->nsafe < MYSQL_SAFE_VARS) {
		memcpy(s->safe[s->nsafe], name, n);
		s->safe[s->nsafe++][n] = '\0';
	}
}

/* An assignment ends (at a ',' outside parentheses, FOR, or the
 * statement's end): its value judged. */
static int assignment_end(tsarc_mysql_stmt *s)
{
	int ok;

	switch (s->set_target) {
	case TARGET_SQL_MODE:
	case TARGET_CHARSET:
		/* One literal, DEFAULT, or @name of a variable that holds a
		 * setting read from the server; for NAMES, COLLATE may follow. */
		ok = s->val_n > 0 && (s->val_literal || (s->val_var_safe && s->val_n == 2));
		if (s->set_target == TARGET_SQL_MODE && s->val_n > 1 && s->val_literal)
			ok = 0;
		if (!ok)
			return tsarc_mysql_stmt_refuse(s, "SET", s->set_target == TARGET_SQL_MODE ?
				"gives sql_mode a value this check cannot read (an expression, or a "
				"variable not read from @@sql_mode)" : "gives the client character set "
				"a value this check cannot read (an expression, or a variable not read "
				"from @@character_set_client)");
		break;
	case TARGET_USER_VAR:
		var_mark(s, s->set_var, strlen(s->set_var), s->set_var_cut, s->val_sysvar &&
			(s->val_n == 3 || s->val_n == 5));
		break;
	}
	s->set_part = 0;
	s->set_target = TARGET_OTHER;
	s->set_at = 0;
	s->val_n = s->val_literal = s->val_var_safe = s->val_sysvar = s->val_depth = 0;
	return 0;
}

/* The target of an assignment, token by token: [GLOBAL|SESSION|...]
 * name, @name, @@[scope.]name, NAMES, CHARACTER SET, CHARSET. */
static int target_token(tsarc_mysql_stmt *s, const tsarc_mysql_token *t)
{
	static const char *const scopes[] = {"GLOBAL", "SESSION", "LOCAL", "PERSIST",
		"PERSIST_ONLY", "STATEMENT", NULL};
	int name = t->kind == MYSQL_WORD || t->kind == MYSQL_ID || t->kind == MYSQL_STR;
	const char *const *sc;

	if (t->kind == MYSQL_PUNCT && t->text[0] == '@') {
		s->set_at++;
		return 0;
	}
	if (t->kind == MYSQL_PUNCT && (t->text[0] == '=' || t->text[0] == ':')) {
		if (t->text[0] == '=')
			s->set_part = 2;
		return 0;
	}
	if (t->kind == MYSQL_PUNCT && t->text[0] == '.')
		return 0;
	if (!name)
		return 0;
	if (s->set_at == 1) {
		s->set_target = TARGET_USER_VAR;
		s->set_var_cut = t->cut || t->len >= sizeof(s->set_var);
		memcpy(s->set_var, t->text, s->set_var_cut ? 0 : t->len);
		s->set_var[s->set_var_cut ? 0 : t->len] = '\0';
		return 0;
	}
	for (sc = scopes; *sc && t->kind == MYSQL_WORD; sc++)
		if (tsarc_mysql_token_is(t, *sc) && !s->set_at)
			return 0;
	if (tsarc_mysql_token_is(t, "NAMES") || tsarc_mysql_token_is(t, "CHARSET") ||
		(tsarc_mysql_token_is(t, "SET") && s->set_target == TARGET_CHARSET)) {
		s->set_target = TARGET_CHARSET;
		s->set_part = 2; /* no '=' */
		return 0;
	}
	if (tsarc_mysql_token_is(t, "CHARACTER")) {
		s->set_target = TARGET_CHARSET; /* SET follows */
		return 0;
	}
	/* A system variable; @@scope.name: the last word is its name. */
	if (tsarc_mysql_upper_eq(t->text, t->len, "SQL_MODE"))
		s->set_target = TARGET_SQL_MODE;
	else if (tsarc_mysql_upper_eq(t->text, t->len, "CHARACTER_SET_CLIENT"))
		s->set_target = TARGET_CHARSET;
	else
		s->set_target = TARGET_OTHER;
	return 0;
}

/* A token of the value. */
static int value_token(tsarc_mysql_stmt *s, const tsarc_mysql_token *t)
{
	int literal = t->kind == MYSQL_STR || t->kind == MYSQL_WORD || t->kind == MYSQL_ID;

	s->val_n++;
	if (s->val_n == 1) {
		s->val_literal = literal && t->kind != MYSQL_ID;
		s->val_sysvar = t->kind == MYSQL_PUNCT && t->text[0] == '@';
		if (s->val_literal && s->set_target == TARGET_SQL_MODE && has_item(t, BAD_MODES))
			return tsarc_mysql_stmt_refuse(s, "SET", "gives an sql_mode under which the "
				"server reads strings or quotes otherwise than this check "
				"(NO_BACKSLASH_ESCAPES, ANSI_QUOTES)");
		if (s->val_literal && s->set_target == TARGET_CHARSET && has_item(t, BAD_CHARSETS))
			return tsarc_mysql_stmt_refuse(s, "SET", "gives a client character set in "
				"which the server reads strings otherwise than this check (big5, cp932, "
				"gbk, gb18030, sjis)");
		return 0;
	}
	if (s->val_n == 2) {
		/* @name: a user variable; @@: a server setting. */
		if (s->val_sysvar && t->kind == MYSQL_PUNCT && t->text[0] == '@')
			return 0;
		/* NAMES x COLLATE y; anything else after a literal makes another
		 * value ('sj' 'is' is 'sjis'). */
		if (s->val_literal && !(s->set_target == TARGET_CHARSET &&
			tsarc_mysql_token_is(t, "COLLATE")))
			s->val_literal = 0;
		s->val_var_safe = s->val_sysvar && literal && !t->cut &&
			var_index(s, t->text, t->len) >= 0;
		s->val_sysvar = 0;
		return 0;
	}
	/* @@name or @@scope.name, nothing else, for a variable to hold. */
	if (s->val_sysvar && !(s->val_n == 3 && literal) &&
		!(s->val_n == 4 && t->kind == MYSQL_PUNCT && t->text[0] == '.') &&
		!(s->val_n == 5 && literal))
		s->val_sysvar = 0;
	/* NAMES x COLLATE y: the character set is the first word. */
	if (s->set_target == TARGET_CHARSET && s->val_literal)
		return 0;
	s->val_literal = 0;
	s->val_var_safe = 0;
	return 0;
}

int tsarc_mysql_set_token(tsarc_mysql_stmt *s, const tsarc_mysql_token *t)
{
	if (s->ntok == 2 && (tsarc_mysql_token_is(t, "PASSWORD") ||
		tsarc_mysql_token_is(t, "DEFAULT")))
		return tsarc_mysql_stmt_refuse(s, tsarc_mysql_token_is(t, "PASSWORD") ?
			"SET PASSWORD" : "SET DEFAULT", "changes the server's accounts");
	if (t->kind == MYSQL_PUNCT && (t->text[0] == '(' || t->text[0] == ')')) {
		s->val_depth += t->text[0] == '(' ? 1 : s->val_depth > 0 ? -1 : 0;
		return s->set_part == 2 ? value_token(s, t) : 0;
	}
	if (s->val_depth == 0 && ((t->kind == MYSQL_PUNCT && t->text[0] == ',') ||
		(s->set_part == 2 && tsarc_mysql_token_is(t, "FOR"))))
		return assignment_end(s);
	return s->set_part == 2 ? value_token(s, t) : target_token(s, t);
}

int tsarc_mysql_set_end(tsarc_mysql_stmt *s)
{
	return s->set_part == 2 || s->set_target != TARGET_OTHER ? assignment_end(s) : 0;
}
