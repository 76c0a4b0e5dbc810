#ifndef TSARC_DEPLOY_PSQLSECTION_H
#define TSARC_DEPLOY_PSQLSECTION_H

/*
 * One database's part of a whole PostgreSQL server's dump (pg_dumpall), as
 * a stream filter (filter.h) in front of the psql guard.
 *
 * Why: snapshots of an in-pod zync-database or system-postgresql taken
 * without a database hold a pg_dumpall, which cannot be loaded whole: its
 * DROP DATABASE of every database runs first, then its DROP ROLE of the
 * role psql runs as stops the load, the databases gone (db.c refuses such
 * a load). What 3scale needs of it is one database: the part pg_dump wrote
 * for it, which pg_dumpall puts after `\connect NAME` and which ends with
 * pg_dump's "-- PostgreSQL database dump complete" line. That part goes
 * into the target's database like a pg_dump of it, in one transaction;
 * the roles, the other databases and the DROP and CREATE DATABASE of the
 * cluster part never reach psql.
 *
 * The stream is read as psql reads it (the guard's lexer, check only: the
 * whole dump must be one the guard passes), so only a line psql would read
 * as a command of its own counts: never a line of COPY data, of a quoted
 * string or of a comment. Kept: from the line after the first
 * `\connect NAME` to that "dump complete" line; a `\connect NAME` of the
 * same database within it (pg_dump's reconnection, for a database's
 * properties or ACL) is dropped: psql stays in the load's session and
 * transaction. Any other \connect within it is left for the guard behind,
 * which refuses it in a load into one database. A dump with no part for
 * NAME, one whose part does not end, or with two parts for NAME fails at
 * its end (nothing of it applies: the load is one transaction), the error
 * naming the databases the dump holds.
 */
#include <stddef.h>

#include "tsarc/buf.h"

typedef struct tsarc_psql_section tsarc_psql_section;

/* A filter keeping database `database`'s part (a plain name, as pg_dumpall
 * writes `\connect NAME` for it). */
int tsarc_psql_section_new(const char *database, tsarc_psql_section **out);
/* Appends to `out` what of data[0..len) belongs to the part (NULL: a check
 * only); a line that may be a marker is held until its end decides. Any
 * split of the input gives the same output and verdict. */
int tsarc_psql_section_feed(tsarc_psql_section *s, const void *data, size_t len, tsarc_buf *out);
/* End of input: what is held, or the error of a part missing or not
 * ended (TSARC_ENOTFOUND, TSARC_ECORRUPT) or the guard's refusal. */
int tsarc_psql_section_finish(tsarc_psql_section *s, tsarc_buf *out);
void tsarc_psql_section_free(tsarc_psql_section *s);

extern const struct tsarc_filter_ops tsarc_psql_section_ops;

#endif
