#ifndef TSARC_DEPLOY_MYSQLGUARD_H
#define TSARC_DEPLOY_MYSQLGUARD_H

/*
 * Checks a MySQL/MariaDB dump on its way into the mysql client for what
 * reaches past the one database the load goes into.
 *
 * Why: the client runs the statements of its input in a session whose
 * database is the restore's target (the preamble's USE). A mysqldump of
 * one database names no database, so everything it holds lands there. But
 * a dump taken with --databases or --all-databases (a component's
 * "options") holds CREATE DATABASE and USE of the names it came from, and
 * the snapshot's stream is whatever was written to the repository:
 * restored under another name, such a load replaced the database it named
 * (not the target, which the clean had emptied) and reported success.
 *
 * Refused, at the start of every statement (after the client's delimiter
 * and after every `;`, where the server splits a multi-statement):
 * - USE of a database other than the target;
 * - CREATE or ALTER DATABASE/SCHEMA of another database; DROP DATABASE;
 * - the server's accounts: GRANT, REVOKE, CREATE/ALTER/DROP/RENAME USER,
 *   CREATE/DROP ROLE, SET PASSWORD, SET DEFAULT ROLE; CREATE/ALTER/DROP
 *   SERVER, INSTALL and UNINSTALL; the server's files: LOAD, INTO OUTFILE
 *   and INTO DUMPFILE;
 * - an object written under another database's name (`db`.`name`) where
 *   the statement names what it writes: INSERT/REPLACE into, UPDATE and
 *   DELETE before SET/WHERE, TRUNCATE, LOCK TABLES, RENAME TABLE, DROP of
 *   any object, CREATE/ALTER of a table (ALTER ... RENAME TO too), view,
 *   trigger (and its table), routine, event, sequence or index;
 * - a SET of what the server reads a statement's text with, to a value
 *   that makes it read strings otherwise than the guard, or to one the
 *   guard cannot read (mysqlguard_set.c): sql_mode with NO_BACKSLASH_ESCAPES
 *   or ANSI_QUOTES, a client character set such as sjis; an expression or
 *   a variable not read from the server's own setting;
 * - `--` before a control character other than a blank: a comment for the
 *   server, not for the client, which ends the statement at a ';' after;
 * - a backslash outside strings, identifiers and comments (a client
 *   command: none is in a dump), but for the line mariadb-dump starts with,
 *   `/ *M!999999\- enable the sandbox mode * /` (no spaces), on its own;
 * - a DELIMITER command that is not a line of its own at a statement's
 *   start, where the client would not take it for one.
 * The guard lexes as the client does: 'strings' and "strings" with
 * backslash escapes, `identifiers`, # and -- comments, block comments,
 * versioned comments (slash-star-bang, MariaDB's M!), whose text a server
 * runs or skips by its version: every statement is read both ways, and a
 * comment opened in a versioned comment, or its end inside a string or
 * comment begun in it (where the two ways part), is refused. Not looked at: what a statement reads
 * (a view of another database's table is a dump's own), what follows a
 * `(` in the statements above (columns, an ALTER TABLE's definitions),
 * and a stored program's body but the statements in it that follow a `;`
 * (checked like any other: a trigger that writes another database is
 * refused too). Not a sandbox: what a stored program does when it runs is
 * not seen (one could change sql_mode), and the session starts with the
 * server's own sql_mode (mysqldump's first statements replace it); the
 * guard holds back what a dump of other databases (or a careless forgery)
 * would do to the server, and the repository's key guards the rest.
 * What a mysqldump or mariadb-dump of one database writes passes (tested
 * with MariaDB 10.11: tables, data, triggers, views, routines, events).
 * Output is the input, unchanged: the guard only checks. A backup of a
 * mysql component runs it over the dump as written (mysql.c), with the
 * dumped database as the target.
 */
#include <stddef.h>

#include "tsarc/buf.h"

#include <cjson/cJSON.h>

typedef struct tsarc_mysql_guard tsarc_mysql_guard;

/* A guard of a load into `database` (copied). */
int tsarc_mysql_guard_new(const char *database, tsarc_mysql_guard **out);
/* 0, or TSARC_EUNSAFE (the error names the statement, its offset and the
 * target) when data[0..len) holds what must not reach the client; any
 * split of the input gives the same answer. The input goes to `out` as it
 * is (when not NULL); the caller sends the client nothing of a refused
 * piece. */
int tsarc_mysql_guard_feed(tsarc_mysql_guard *g, const void *data, size_t len, tsarc_buf *out);
/* End of input: TSARC_EUNSAFE when what is held decides a refusal. */
int tsarc_mysql_guard_finish(tsarc_mysql_guard *g, tsarc_buf *out);
void tsarc_mysql_guard_free(tsarc_mysql_guard *g);
/* What a load of the stream asks of a server that the server may refuse
 * by itself (mysql.c, before the load): the CREATE TRIGGER and CREATE
 * FUNCTION statements (a binary log without SUPER), and the longest
 * statement the client sends (max_allowed_packet: its bytes from after
 * the delimiter before it to its own, comments and blanks included), of
 * the last whole stream that `g`, or a fresh copy of it (filter.h: the
 * first pass of a load), read to its end without a refusal; `complete` is
 * 0 until one has. A fresh copy tells the guard it was made from, which
 * must outlive it. */
/* The character sets and collations the stream names (after CHARACTER
 * SET, CHARSET, NAMES and COLLATE), which a server that lacks one refuses
 * at the statement naming it (MySQL 8's utf8mb4_0900_ai_ci, its default,
 * in a MariaDB 10.11): the first TSARC_MYSQL_NAMES_MAX different ones, in
 * lower case, of those made of letters, digits and '_' alone. */
#define TSARC_MYSQL_NAMES_MAX 16
typedef struct tsarc_mysql_name {
	char kind; /* 'c' a collation, 's' a character set */
	char name[65];
} tsarc_mysql_name;
typedef struct tsarc_mysql_dump_facts {
	int complete;
	unsigned long long triggers, functions;
	unsigned long long longest_statement;
	tsarc_mysql_name names[TSARC_MYSQL_NAMES_MAX];
	unsigned nnames;
} tsarc_mysql_dump_facts;
void tsarc_mysql_guard_facts(const tsarc_mysql_guard *g, tsarc_mysql_dump_facts *out);
/* The facts as a backup records them in the stream's metadata, under
 * TSARC_MYSQL_FACTS_META: {"triggers", "functions", "longest_statement",
 * "collations": [...], "charsets": [...]} (mysqlfacts.c), so that a
 * restore's plan can ask the target what the step asks before it loads.
 * NULL where `p` is not complete (or out of memory): nothing recorded. */
#define TSARC_MYSQL_FACTS_META "mysql_dump"
cJSON *tsarc_mysql_facts_meta(const tsarc_mysql_dump_facts *p);
/* The record of a stream's metadata `meta` into *p: 0 with p->complete 0
 * where it has none (an older tsarc's snapshot), 1 where it has one. The
 * metadata is untrusted: a record that is not what a backup writes (a
 * count that is not one, a name that is not plain, which the step's
 * check writes into its SQL, more names than the guard keeps) is
 * TSARC_EUNSAFE, the error beginning with `where`. */
int tsarc_mysql_facts_from_meta(const cJSON *meta, tsarc_mysql_dump_facts *p, const char *where);
/* The question whose failure names the first of p's character sets and
 * collations a server lacks, as a CREATE TABLE naming it would fail
 * ("Unknown collation: 'NAME'", "Unknown character set: 'NAME'"): one
 * SELECT, which only reads, of CONVERT(NULL USING `cs`) for each character
 * set and CONVERT(NULL USING `cs`) COLLATE `name` for each collation, cs
 * the part of its name before its first '_' (every collation's name is
 * its character set's, '_' and more; binary's is both). Its answer is a
 * line of NULLs, at most TSARC_MYSQL_NAMES_ANSWER_MAX bytes. *out to free,
 * NULL when p names none. The names must be plain (the guard's, or a
 * record's as tsarc_mysql_facts_from_meta checked it). */
#define TSARC_MYSQL_NAMES_ANSWER_MAX (8u * TSARC_MYSQL_NAMES_MAX)
int tsarc_mysql_names_query(const tsarc_mysql_dump_facts *p, char **out);
/* The guard as a stream filter (filter.h). */
extern const struct tsarc_filter_ops tsarc_mysql_guard_ops;

#endif
