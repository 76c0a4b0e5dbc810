/*
 * Whether a SQL question only reads (sqlreads.h): a scan of its words
 * outside quotes, not a parser. It errs towards "does not read".
 */
#include "sqlreads.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* The words that begin a question, and those it must not hold. */
static const char *const FIRST[] = {"SELECT", "WITH", "SHOW"};
static const char *const WRITES[] = {"INTO", "INSERT", "UPDATE", "DELETE", "REPLACE", "MERGE",
	"CREATE", "DROP", "ALTER", "TRUNCATE", "RENAME", "GRANT", "REVOKE", "SET", "CALL", "DO",
	"LOAD", "COPY", "LOCK", "SHARE"};

static int word_char(unsigned char c)
{
	return isalnum(c) || c == '_';
}

static int word_in(const char *w, size_t n, const char *const *list, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (strlen(list[i]) == n && !strncasecmp(w, list[i], n))
			return 1;
	return 0;
}

/* Past the quoted string or name opening at *p (its quote `q`): the byte
 * after its closing quote, or NULL where it does not close, or a
 * backslash comes before its closing quote. */
static const char *past_quoted(const char *p)
{
	char q = *p++;

	for (; *p; p++) {
		if (*p == '\\' && q != '`') {
			if (!p[1] || p[1] == q)
				return NULL;
			p++;
		} else if (*p == q) {
			if (p[1] != q)
				return p + 1;
			p++;
		}
	}
	return NULL;
}

int tsarc_sql_reads(const char *sql)
{
	const char *p = sql, *w;
	size_t n;

	while (isspace((unsigned char)*p))
		p++;
	for (w = p; word_char((unsigned char)*p); p++)
		;
	if (!word_in(w, (size_t)(p - w), FIRST, sizeof(FIRST) / sizeof(*FIRST)))
		return 0;
	while (*p) {
		unsigned char c = (unsigned char)*p;
		if (c == '\'' || c == '"' || c == '`') {
			if (!(p = past_quoted(p)))
				return 0;
		} else if (word_char(c)) {
			for (w = p; word_char((unsigned char)*p); p++)
				;
			n = (size_t)(p - w);
			if (word_in(w, n, WRITES, sizeof(WRITES) / sizeof(*WRITES)))
				return 0;
		} else if (c == ';') {
			for (p++; isspace((unsigned char)*p); p++)
				;
			return !*p;
		} else if (c == '$' || c == '#' || (c == '-' && p[1] == '-') ||
			(c == '/' && p[1] == '*')) {
			return 0;
		} else {
			p++;
		}
	}
	return 1;
}
