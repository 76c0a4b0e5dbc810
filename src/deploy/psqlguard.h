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
 * pg_dump or pg_dumpall writes: `\connect NAME`, `\restrict KEY`,
 * `\unrestrict KEY` (plain names, the whole line), and `\.` ending COPY
 * data. Anything else fails the restore before psql reads that line.
 *
 * The guard follows psql's lexer where a backslash can start a command
 * (outside quotes, comments, dollar quotes and COPY ... FROM stdin data),
 * and where it cannot be sure psql agrees it refuses instead of guessing:
 * - a backslash right before a quote inside a '...' string (psql's reading
 *   depends on standard_conforming_strings, E'', and in client encodings
 *   such as SJIS on whether that byte is a backslash at all);
 * - a NUL byte (psql drops the rest of its line);
 * - a line that starts with \. in COPY data without being exactly that
 *   line;
 * - COPY data begins only after a statement `COPY name [(columns)] FROM
 *   STDIN ...;` that every psql splits the same way (not within a CREATE
 *   FUNCTION ... BEGIN ATOMIC body, which psql 14 and later keep whole);
 *   another form makes its data lines count as SQL, where a backslash
 *   (\N, a NULL) refuses the stream: never data taken for SQL by psql.
 * What pg_dump and pg_dumpall write passes unchanged (tested with
 * PostgreSQL 15: COPY data, plpgsql and BEGIN ATOMIC bodies, \restrict),
 * except INSERTs (--inserts) whose literals hold a backslash right before
 * a quote. The backup of a postgres component runs the same guard over
 * the dump as pg_dump writes it (postgres.c): a dump this refuses fails
 * its backup, not the restore that needs it.
 */
#include <stddef.h>

typedef struct tsarc_psql_guard tsarc_psql_guard;

int tsarc_psql_guard_new(tsarc_psql_guard **out);
/* 0, or TSARC_EUNSAFE (the error names the offset and the reason) when
 * data[0..len) holds what psql must not get; any split of the input gives
 * the same answer. The caller sends psql nothing of a refused piece. */
int tsarc_psql_guard_feed(tsarc_psql_guard *g, const void *data, size_t len);
/* End of input: TSARC_EUNSAFE when it ends inside a backslash command, a
 * quoted string, a comment or COPY data. */
int tsarc_psql_guard_finish(tsarc_psql_guard *g);
void tsarc_psql_guard_free(tsarc_psql_guard *g);

#endif
