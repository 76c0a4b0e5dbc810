#ifndef TSARC_DEPLOY_MYSQLGUARD_STMT_H
#define TSARC_DEPLOY_MYSQLGUARD_STMT_H

/*
 * The mysql guard's view of a statement, token by token (mysqlguard.c
 * does the bytes): what the statement is by its first words, and whether
 * it reaches past the target database (mysqlguard.h lists what is
 * refused). A statement starts after the client's delimiter and after
 * every ';' of a multi-statement; the lexer says so (tsarc_mysql_stmt_start).
 */
#include <stddef.h>

#include "mysqlguard.h"

/* An identifier is at most 64 characters: a longer token is kept cut. */
#define MYSQL_TOKEN_MAX 256
/* User variables remembered as holding a setting read from the server. */
#define MYSQL_SAFE_VARS 16

typedef enum { MYSQL_WORD, MYSQL_ID, MYSQL_STR, MYSQL_PUNCT } tsarc_mysql_token_kind;

/* A whole token: a bare word (as written), an `identifier` or a
 * "double-quoted" one (unescaped), a 'string' (as written between its
 * quotes), or one byte of punctuation. */
typedef struct tsarc_mysql_token {
	tsarc_mysql_token_kind kind;
	char text[MYSQL_TOKEN_MAX + 1];
	size_t len;
	int cut; /* longer than MYSQL_TOKEN_MAX */
	unsigned long long off; /* where it starts in the stream */
} tsarc_mysql_token;

typedef struct tsarc_mysql_stmt {
	const char *target; /* the database the load goes into (not owned) */
	int rs;		    /* where the reading is (mysqlguard_stmt.c) */
	unsigned ntok;
	unsigned skipped;
	unsigned long long off; /* where the statement starts */
	char verb[16];		/* its first word, upper case */
	char object[16];	/* the object's kind after CREATE, ALTER, DROP */
	const char *const *stops; /* words that end the window */
	int win_single;		  /* the window holds one name */
	int win_named;		  /* a name began in the window */
	int prev_ident;		  /* the last token was an identifier */
	int dot;		  /* ... followed by a '.' */
	int after_into;		  /* the last token was INTO */
	char last[MYSQL_TOKEN_MAX + 1]; /* that identifier */
	size_t last_len;
	int last_cut;
	/* A SET statement's assignment (mysqlguard_set.c). */
	int set_part;	/* 0: its target; 2: its value */
	int set_target; /* what it sets */
	int set_at;	/* '@' before the target's name */
	char set_var[65]; /* the user variable it sets */
	int set_var_cut;
	int val_n, val_literal, val_var_safe, val_sysvar, val_depth;
	/* User variables that hold a setting read from the server
	 * (`SET @saved = @@sql_mode`): kept from statement to statement. */
	char safe[MYSQL_SAFE_VARS][65];
	size_t nsafe;
	/* Counted where `counts` is set (the reading of a server that runs
	 * the versioned comments, as every server since 5.0 does): the
	 * CREATE TRIGGER and CREATE FUNCTION statements, kept from statement
	 * to statement. */
	int counts;
	unsigned long long triggers, functions;
	/* The character sets and collations named, where `counts` is set
	 * (tsarc_mysql_dump_facts), and what the last token asked for next:
	 * 'c' a collation, 's' a character set, 'C' SET after CHARACTER. */
	tsarc_mysql_name names[TSARC_MYSQL_NAMES_MAX];
	unsigned nnames;
	char name_next;
} tsarc_mysql_stmt;

/* A statement starts: what the last one said is forgotten (but the user
 * variables it set). */
void tsarc_mysql_stmt_start(tsarc_mysql_stmt *s);
/* The statement ends (the client's delimiter, a ';', the input's end):
 * 0, or TSARC_EUNSAFE for what only its end decides. */
int tsarc_mysql_stmt_end(tsarc_mysql_stmt *s);
/* The statement's next token: 0, or TSARC_EUNSAFE (the error set). */
int tsarc_mysql_stmt_token(tsarc_mysql_stmt *s, const tsarc_mysql_token *t);
/* TSARC_EUNSAFE, the error naming `what` at the statement's start, `why`
 * and the target. */
int tsarc_mysql_stmt_refuse(const tsarc_mysql_stmt *s, const char *what, const char *why);
/* Whether a[0..n) is `upper` (upper case), in any case. */
int tsarc_mysql_upper_eq(const char *a, size_t n, const char *upper);
/* Whether `t` is the keyword `w` (upper case), in any case. */
int tsarc_mysql_token_is(const tsarc_mysql_token *t, const char *w);
/* A SET statement's tokens after SET, and its end (mysqlguard_set.c). */
int tsarc_mysql_set_token(tsarc_mysql_stmt *s, const tsarc_mysql_token *t);
int tsarc_mysql_set_end(tsarc_mysql_stmt *s);

#endif
