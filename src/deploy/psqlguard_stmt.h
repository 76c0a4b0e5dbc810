#ifndef TSARC_DEPLOY_PSQLGUARD_STMT_H
#define TSARC_DEPLOY_PSQLGUARD_STMT_H

/*
 * The psql guard's view of a statement, token by token (psqlguard.c does
 * the bytes): where psql ends it (parentheses, CREATE FUNCTION ... BEGIN
 * ATOMIC bodies), whether it is a `COPY name FROM stdin`, and what the
 * stream's SET statements and \connect lines say of the two settings psql
 * reads a line with (standard_conforming_strings, client_encoding). Those
 * are what the stream asked for: something else may have changed them on
 * the server since, which is why psqlguard.c puts them in front of a
 * statement that depends on them (tsarc_psql_stmt_sets).
 */
#include <stddef.h>

#define PSQL_WORD_MAX 32
#define PSQL_VALUE_MAX 32

enum { NEED_SCS = 1, NEED_ENC };
enum { SCS_UNKNOWN = 0, SCS_ON, SCS_OFF };
enum { ENC_UNKNOWN = 0, ENC_SAFE, ENC_UNSAFE };
/* What a ';' outside parentheses and quotes does. */
enum { STMT_GOES_ON, STMT_SENT, STMT_COPY };

typedef struct tsarc_psql_stmt {
	/* The identifier being read (lower case, wlong: longer than kept). */
	char word[PSQL_WORD_MAX + 1];
	size_t wlen;
	int wlong;
	int paren, begin;    /* psql's paren_depth and begin_depth (at least) */
	char idents[4];      /* psql's identifiers[]: the statement's first words */
	size_t nidents;
	int cs;              /* where in `COPY name [(columns)] FROM STDIN` */
	int ss, var, local;  /* where in `SET [SESSION|LOCAL] name {=|TO} value` */
	char value[PSQL_VALUE_MAX + 1];
	size_t vlen;
	int vbad;
	/* What the stream said last; enc_name: the name it gave, when safe. */
	int scs, enc;
	char enc_name[PSQL_VALUE_MAX + 1];
} tsarc_psql_stmt;

void tsarc_psql_stmt_word_start(tsarc_psql_stmt *s, unsigned char c);
void tsarc_psql_stmt_word_byte(tsarc_psql_stmt *s, unsigned char c);
void tsarc_psql_stmt_word_end(tsarc_psql_stmt *s);
/* A token other than an identifier: `ch` '(', ')', '.', '=', '\'' (a
 * string opens), ... or 0; `name`: a "quoted" identifier. */
void tsarc_psql_stmt_token(tsarc_psql_stmt *s, const char *word, int name, char ch);
/* A byte of a string's contents; a string that goes on ('' or a
 * continuation). */
void tsarc_psql_stmt_string_byte(tsarc_psql_stmt *s, unsigned char c);
void tsarc_psql_stmt_string_more(tsarc_psql_stmt *s);
/* A ';' outside quotes: STMT_GOES_ON (psql does not send here), or the
 * statement's end (a SET of the two settings taken in). */
int tsarc_psql_stmt_semicolon(tsarc_psql_stmt *s);
/* A backslash command line: -1 refused; 1 a \connect (or \c), allowed,
 * the settings unknown from there on; 0 another allowed one. */
int tsarc_psql_meta_allowed(tsarc_psql_stmt *s, const char *line, size_t len);
/* The known settings as SET statements, on a line of their own (out:
 * PSQL_SETS_MAX bytes). */
#define PSQL_SETS_MAX 128
void tsarc_psql_stmt_sets(const tsarc_psql_stmt *s, char *out, size_t size);

#endif
