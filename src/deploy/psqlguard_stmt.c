/*
 * The psql guard's statements, token by token (psqlguard_stmt.h): the
 * words psqlguard.c hands over make COPY FROM stdin, BEGIN ATOMIC bodies
 * and the SET statements of the two settings psql reads a line with.
 */
#include "psqlguard_stmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a statement is in `COPY name [(columns)] FROM STDIN`. */
enum {
	CS_START, CS_NAME, CS_AFTER_NAME, CS_DOT, CS_COLS, CS_AFTER_COLS, CS_FROM, CS_STDIN,
	CS_OTHER
};

/* Where a statement is in `SET [SESSION|LOCAL] name {=|TO} value` or
 * `RESET name`; SS_VSTR: the value is a string. */
enum { SS_START, SS_SET, SS_NAME, SS_VALUE, SS_VSTR, SS_DONE, SS_BAD, SS_NONE };
enum { VAR_OTHER, VAR_SCS, VAR_ENC, VAR_BOTH };

static char lower(unsigned char c)
{
	return (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
}

void tsarc_psql_stmt_word_start(tsarc_psql_stmt *s, unsigned char c)
{
	s->word[0] = lower(c);
	s->wlen = 1;
	s->wlong = 0;
}

void tsarc_psql_stmt_word_byte(tsarc_psql_stmt *s, unsigned char c)
{
	if (s->wlen < PSQL_WORD_MAX)
		s->word[s->wlen++] = lower(c);
	else
		s->wlong = 1;
}

static void copy_token(tsarc_psql_stmt *s, const char *word, int name, char ch)
{
	int cs = s->cs;

	if (cs == CS_OTHER || cs == CS_STDIN)
		return;
	if (cs == CS_COLS) {
		if (ch == ')' && s->paren == 0)
			s->cs = CS_AFTER_COLS;
		return;
	}
	if (cs == CS_START)
		s->cs = word && !strcmp(word, "copy") ? CS_NAME : CS_OTHER;
	else if (cs == CS_NAME || cs == CS_DOT)
		s->cs = name ? CS_AFTER_NAME : CS_OTHER;
	else if (cs == CS_AFTER_NAME && ch == '.')
		s->cs = CS_DOT;
	else if (cs == CS_AFTER_NAME && ch == '(')
		s->cs = CS_COLS;
	else if ((cs == CS_AFTER_NAME || cs == CS_AFTER_COLS) && word && !strcmp(word, "from"))
		s->cs = CS_FROM;
	else if (cs == CS_FROM && word && !strcmp(word, "stdin"))
		s->cs = CS_STDIN;
	else
		s->cs = CS_OTHER;
}

static int var_of(const char *word)
{
	if (!word)
		return VAR_BOTH; /* a "quoted" name: whichever it is */
	if (!strcmp(word, "standard_conforming_strings"))
		return VAR_SCS;
	if (!strcmp(word, "client_encoding"))
		return VAR_ENC;
	return !strcmp(word, "all") ? VAR_BOTH : VAR_OTHER;
}

static void set_token(tsarc_psql_stmt *s, const char *word, int name, char ch)
{
	switch (s->ss) {
	case SS_START:
		s->ss = word && !strcmp(word, "set") ? SS_SET :
			word && !strcmp(word, "reset") ? SS_NAME : SS_NONE;
		if (s->ss == SS_NAME) {
			s->var = VAR_BOTH; /* RESET: as it was, unknown here */
			s->ss = SS_BAD;
		}
		return;
	case SS_SET:
		if (word && (!strcmp(word, "session") || !strcmp(word, "local"))) {
			s->local |= word[0] == 'l';
			return;
		}
		if (word && !strcmp(word, "names")) {
			s->var = VAR_ENC;
			s->ss = SS_VALUE;
			return;
		}
		s->var = name ? var_of(word) : VAR_OTHER;
		s->ss = s->var == VAR_OTHER ? SS_NONE : SS_NAME;
		return;
	case SS_NAME:
		s->ss = ch == '=' || (word && !strcmp(word, "to")) ? SS_VALUE : SS_BAD;
		return;
	case SS_VALUE:
		s->vlen = 0;
		s->vbad = 0;
		if (ch == '\'') {
			s->ss = SS_VSTR;
		} else if (word && strlen(word) <= PSQL_VALUE_MAX && strcmp(word, "default")) {
			s->vlen = strlen(word);
			memcpy(s->value, word, s->vlen);
			s->ss = SS_DONE;
		} else {
			s->ss = SS_BAD;
		}
		return;
	case SS_VSTR:
	case SS_DONE:
		s->ss = SS_BAD;
		return;
	default:
		return;
	}
}

void tsarc_psql_stmt_token(tsarc_psql_stmt *s, const char *word, int name, char ch)
{
	if (ch == '(')
		s->paren++;
	else if (ch == ')' && s->paren > 0)
		s->paren--;
	copy_token(s, word, name, ch);
	set_token(s, word, name, ch);
}

/* An identifier ended: the COPY and SET statements' words, and BEGIN, CASE
 * and END as psql 14 and later count them in a CREATE [OR REPLACE]
 * FUNCTION or PROCEDURE statement (psqlscan.l's heuristic, CASE included:
 * never less than any psql counts, so never a statement end where one
 * sees none). */
void tsarc_psql_stmt_word_end(tsarc_psql_stmt *s)
{
	static const char *const fn[] = {"create", "function", "procedure", "or", "replace", NULL};
	const char *w = s->wlong ? "" : s->word;
	const char *id = s->idents;
	size_t i;

	s->word[s->wlen] = '\0';
	for (i = 0; fn[i] && s->nidents < sizeof(s->idents); i++)
		if (!strcmp(w, fn[i]))
			s->idents[s->nidents] = w[0];
	s->nidents++;
	if (id[0] == 'c' && (id[1] == 'f' || id[1] == 'p' || (id[1] == 'o' && id[2] == 'r' &&
		(id[3] == 'f' || id[3] == 'p'))) && s->paren == 0) {
		if (!strcmp(w, "begin"))
			s->begin++;
		else if (!strcmp(w, "case") && s->begin > 0)
			s->begin++;
		else if (!strcmp(w, "end") && s->begin > 0)
			s->begin--;
	}
	tsarc_psql_stmt_token(s, w, 1, 0);
}

void tsarc_psql_stmt_string_byte(tsarc_psql_stmt *s, unsigned char c)
{
	if (s->ss != SS_VSTR)
		return;
	if (s->vlen < PSQL_VALUE_MAX && c != '\\' && c != '\'')
		s->value[s->vlen++] = (char)lower(c);
	else
		s->vbad = 1;
}

void tsarc_psql_stmt_string_more(tsarc_psql_stmt *s)
{
	if (s->ss == SS_VSTR)
		s->vbad = 1;
}

static int in_list(const char *const *list, const char *v)
{
	for (; *list; list++)
		if (!strcmp(*list, v))
			return 1;
	return 0;
}

/* standard_conforming_strings = value, as PostgreSQL's parse_bool reads
 * it (a unique prefix of on, off, true, false, yes, no). */
static int scs_of(const char *v)
{
	static const char *const on[] = {"on", "true", "yes", "t", "tr", "tru", "y", "ye", NULL};
	static const char *const off[] = {"off", "false", "no", "of", "f", "fa", "fal", "fals", "n",
		NULL};

	return in_list(on, v) ? SCS_ON : in_list(off, v) ? SCS_OFF : SCS_UNKNOWN;
}

/* Whether a client encoding keeps every byte under 0x80 a character of
 * its own (the server encodings, under PostgreSQL's names and aliases,
 * compared as it does: case and punctuation aside), or is one of the six
 * that do not. */
static int enc_of(const char *name)
{
	static const char *const safe[] = {"sqlascii", "utf8", "unicode", "muleinternal", "eucjp",
		"euccn", "euckr", "euctw", "eucjis2004", "koi8", "koi8r", "koi8u", "win", "alt", "abc",
		"tcvn", "tcvn5712", "vscii", "win866", "win874", "windows866", "windows874", NULL};
	static const char *const unsafe[] = {"sjis", "shiftjis", "mskanji", "shiftjis2004", "big5",
		"gbk", "uhc", "gb18030", "johab", "win932", "win936", "win949", "win950", "windows932",
		"windows936", "windows949", "windows950", "cp932", "cp936", "cp949", "cp950", NULL};
	char n[PSQL_VALUE_MAX + 1];
	const char *d;
	size_t i, k = 0;
	long num;

	for (i = 0; name[i]; i++)
		if ((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9'))
			n[k++] = name[i];
	n[k] = '\0';
	if (in_list(safe, n))
		return ENC_SAFE;
	if (in_list(unsafe, n))
		return ENC_UNSAFE;
	d = !strncmp(n, "latin", 5) ? n + 5 : !strncmp(n, "iso8859", 7) ? n + 7 :
		!strncmp(n, "windows", 7) ? n + 7 : !strncmp(n, "win", 3) ? n + 3 : NULL;
	if (!d || !*d || strspn(d, "0123456789") != strlen(d) || strlen(d) > 4 || d[0] == '0')
		return ENC_UNKNOWN;
	num = strtol(d, NULL, 10);
	if (n[0] == 'l')
		return num <= 10 ? ENC_SAFE : ENC_UNKNOWN;
	if (n[0] == 'i')
		return num <= 16 ? ENC_SAFE : ENC_UNKNOWN;
	return num >= 1250 && num <= 1258 ? ENC_SAFE : ENC_UNKNOWN;
}

/* A SET or RESET of the settings, at its end. */
static void set_end(tsarc_psql_stmt *s)
{
	int known = !s->local && (s->ss == SS_DONE || (s->ss == SS_VSTR && !s->vbad));
	size_t i;

	s->value[known ? s->vlen : 0] = '\0';
	if (s->var == VAR_SCS || s->var == VAR_BOTH)
		s->scs = known && s->var == VAR_SCS ? scs_of(s->value) : SCS_UNKNOWN;
	if (s->var != VAR_ENC && s->var != VAR_BOTH)
		return;
	s->enc = ENC_UNKNOWN;
	if (!known || s->var != VAR_ENC)
		return;
	for (i = 0; i < s->vlen; i++)
		if (!((s->value[i] >= 'a' && s->value[i] <= 'z') ||
			    (s->value[i] >= '0' && s->value[i] <= '9') || s->value[i] == '_' ||
			    s->value[i] == '-'))
			return;
	if ((s->enc = enc_of(s->value)) == ENC_SAFE)
		memcpy(s->enc_name, s->value, s->vlen + 1);
}

int tsarc_psql_stmt_semicolon(tsarc_psql_stmt *s)
{
	int r;

	if (s->paren > 0) {
		tsarc_psql_stmt_token(s, NULL, 0, ';');
		return STMT_GOES_ON;
	}
	if (s->begin > 0) {
		/* psql 14 and later do not end the statement here. */
		s->cs = CS_OTHER;
		s->ss = SS_NONE;
		return STMT_GOES_ON;
	}
	r = s->cs == CS_STDIN ? STMT_COPY : STMT_SENT;
	if (s->ss != SS_NONE && s->ss != SS_START && s->var != VAR_OTHER)
		set_end(s);
	s->cs = CS_START;
	s->ss = SS_START;
	s->var = VAR_OTHER;
	s->local = 0;
	s->nidents = 0;
	memset(s->idents, 0, sizeof(s->idents));
	return r;
}

/* A backslash command line, from the backslash to its end: only what a
 * dump writes, the whole line plain names. */
int tsarc_psql_meta_allowed(tsarc_psql_stmt *s, const char *line, size_t len)
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
			return -1;
		for (; k < len; k++)
			if (!((line[k] >= 'A' && line[k] <= 'Z') || (line[k] >= 'a' && line[k] <= 'z') ||
				    (line[k] >= '0' && line[k] <= '9') || line[k] == '_'))
				return -1;
		if (i < 2) {
			/* A new session: its settings are the server's, not known. */
			s->scs = SCS_UNKNOWN;
			s->enc = ENC_UNKNOWN;
			return 1;
		}
		return 0;
	}
	return -1;
}

void tsarc_psql_stmt_sets(const tsarc_psql_stmt *s, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s%s%s\n", s->enc == ENC_SAFE ? "SET client_encoding = '" : "",
		s->enc == ENC_SAFE ? s->enc_name : "", s->enc == ENC_SAFE ? "';" : "",
		s->scs ? "SET standard_conforming_strings = " : "",
		!s->scs ? "" : s->scs == SCS_ON ? "on;" : "off;");
}
