#ifndef TSARC_DEPLOY_PSQLGUARD_H
#define TSARC_DEPLOY_PSQLGUARD_H

/*
 * Checks a SQL stream on its way into psql for backslash commands.
 *
 * Why: psql runs the meta-commands of its input, and some reach the host
 * it runs on: `\! cmd` and `\o |cmd` run a shell, backquotes in any
 * command's arguments too, `\copy ... program`, `\i FILE`, `\w`, `\setenv`.
 * A restore's dump comes from the snapshot (whoever can write the
 * repository writes it), so a forged zync-database.sql could run
 * commands as the restoring user, read tsarc's own environment (the
 * repository password, the store's keys) and still end with status 0.
 * The mysql client is safe by --binary-mode (no client commands in
 * non-interactive input); psql has no such switch.
 *
 * So psql only ever gets a stream whose backslash commands are the ones a
 * pg_dump or pg_dumpall writes: `\connect NAME` (not in a load into one
 * database, tsarc_psql_guard_one_database), `\restrict KEY`,
 * `\unrestrict KEY` (plain names, the whole line), and `\.` ending COPY
 * data. Anything else fails the restore before psql reads that line.
 *
 * The guard lexes as psql does (psqlscan.l): quotes, E'' strings with
 * backslash escapes, U&'' b'' x'' strings, '' doubling and strings
 * continued after a newline, "identifiers", $tag$ quotes, -- and nested
 * comments, COPY ... FROM stdin data. Two things psql reads a line with
 * come from the server, and a statement can change them where no lexer
 * sees it (set_config(), a function, a trigger, \connect):
 * - standard_conforming_strings: with it on, 'C:\' is a whole string (what
 *   pg_dump writes under its `SET standard_conforming_strings = on;`);
 *   off, the quote after the backslash is escaped and the string goes on;
 * - the client encoding: in SJIS, BIG5, GBK, UHC, GB18030 and JOHAB a
 *   byte of 0x80 or more takes up to 3 bytes after it into one character,
 *   a quote, a backslash or a `;` among them.
 * A statement that reads differently with the other setting (a backslash
 * right before the quote of a '...' string; an ASCII byte that matters
 * there within 3 bytes after a byte of 0x80 or more) is read the way the
 * stream's last `SET standard_conforming_strings` / `SET client_encoding`
 * says, and psql is made to read it so: the guard's output puts that SET
 * again on a line of its own before the statement (psql reads a line with
 * the settings of when it starts). Where that cannot be (no such SET yet,
 * or since \connect; an encoding of those six; a statement begun on the
 * line of a COPY or a backslash command, or longer than 8 MiB before such
 * a point) the stream is refused. Refused too: a NUL byte (psql drops the
 * rest of its line); in COPY data, a line that starts with \. without
 * being exactly that line; a quote right after a number glued to E, B, X
 * or U& (psql versions split those differently).
 * COPY data begins only after a statement `COPY name [(columns)] FROM
 * STDIN ...;` that every psql splits the same way (not within a CREATE
 * FUNCTION ... BEGIN ATOMIC body, which psql 14 and later keep whole);
 * another form makes its data lines count as SQL, where a backslash (\N,
 * a NULL) refuses the stream: never data taken for SQL by psql.
 * What pg_dump and pg_dumpall write passes (tested with PostgreSQL 15:
 * COPY data, --inserts, plpgsql and BEGIN ATOMIC bodies, \restrict). The
 * backup of a postgres component runs the same guard over the dump as
 * pg_dump writes it (postgres.c): a dump this refuses fails its backup,
 * not the restore that needs it.
 */
#include <stddef.h>

#include "tsarc/buf.h"

typedef struct tsarc_psql_guard tsarc_psql_guard;

int tsarc_psql_guard_new(tsarc_psql_guard **out);
/* 0, or TSARC_EUNSAFE (the error names the offset and the reason) when
 * data[0..len) holds what psql must not get; any split of the input gives
 * the same answer and the same output. What psql is to get is appended to
 * `out` (the input, with the settings' SETs put back where needed; some
 * bytes may be held until a later call), or nothing when `out` is NULL (a
 * check only). The caller sends psql nothing of a refused piece. */
int tsarc_psql_guard_feed(tsarc_psql_guard *g, const void *data, size_t len, tsarc_buf *out);
/* End of input: TSARC_EUNSAFE when it ends inside a backslash command, a
 * quoted string, a comment or COPY data; else the bytes still held go to
 * `out` (if not NULL). */
int tsarc_psql_guard_finish(tsarc_psql_guard *g, tsarc_buf *out);
void tsarc_psql_guard_free(tsarc_psql_guard *g);
/* The load goes into one database, in one transaction (psql -1 into a
 * named database): a \connect (or \c), with which psql would leave both
 * and go on in another session, is refused too. Set before the first feed. */
void tsarc_psql_guard_one_database(tsarc_psql_guard *g);
/* 1 when the input so far ends where psql's query buffer is empty:
 * outside every statement, quote, comment and COPY data, so that the next
 * line is one psql reads as a command of its own (a backslash command, a
 * comment, a statement's start). Read at a line's start. */
int tsarc_psql_guard_between(const tsarc_psql_guard *g);
/* The guard as a stream filter (filter.h); the filter's `fresh` copy
 * refuses what this one refuses. */
extern const struct tsarc_filter_ops tsarc_psql_guard_ops;

#endif
