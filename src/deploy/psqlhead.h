#ifndef TSARC_DEPLOY_PSQLHEAD_H
#define TSARC_DEPLOY_PSQLHEAD_H

/*
 * The head of a pg_dump dump fitted to an older server than the pg_dump
 * that wrote it, as a stream filter (filter.h) behind the psql guard.
 *
 * Why: a dump's SQL is written for its source server (pg_dump adapts its
 * DDL to the server it reads), and loads into a server of that major
 * version or a newer one; but its head, the session settings before the
 * first statement, is pg_dump's own: pg_dump 17 writes SET
 * transaction_timeout = 0 whatever its source, which a server older than
 * 17 refuses ("unrecognized configuration parameter"), the load stopping
 * there. pg_dump 17's dump of a 15 (a newer client of 3scale's older
 * server) then would not go back into the 15 it came from.
 *
 * What: in the head, a SET to 0 of a timeout setting pg_dump writes to turn
 * it off (statement_timeout, lock_timeout,
 * idle_in_transaction_session_timeout, transaction_timeout) that the
 * target's version does not have is removed, line and all: a server
 * without the setting has no such timeout, so the line changes nothing.
 * Any other SET in the head of a setting the target's version does not
 * have, or that this filter does not know (a pg_dump newer than it), is
 * refused, naming it: the load would stop there.
 *
 * Known by version, not asked of the server: each of these settings is
 * PostgreSQL's own (no extension or configuration adds or removes one), so
 * the target's server_version_num, which the restore asks anyway, says
 * exactly which it has, and the plan says the same without another query.
 *
 * The head is read line by line, as pg_dump writes it: blank lines, "--"
 * comment lines, psql's \restrict, single-line SET NAME = VALUE; (VALUE a
 * word or a quoted string without a quote or backslash) and SELECT
 * pg_catalog.set_config(...); of the same form. Each is whole in itself,
 * so every line of the head begins between statements (as the stream
 * does); the first line of any other form ends the head, and it and all
 * after it pass as they are: nothing in a function body, COPY data or a
 * string is ever read. Any split of the input gives the same output.
 *
 * A SET is judged by its setting's name in any of SQL's spellings (SET
 * LOCAL or SESSION, TO for =, any blanks, any case, a quoted or dotted
 * name: the server looks names up case-insensitively), not by pg_dump's
 * alone: one the target lacks stops the load whatever its spelling, and
 * read as a line of another form it would end the head unjudged, found by
 * the server after the steps before it had written. Where its value is
 * not of the form above, or goes on past the line, the head ends after
 * it (its name still judged); set_config's name is judged the same.
 */
#include <stddef.h>

#include "tsarc/buf.h"

typedef struct tsarc_psql_head tsarc_psql_head;

/* A filter for a load into a server of major version `server` (as
 * tsarc_pg_server_major numbers them: 15, 906 for 9.6). */
int tsarc_psql_head_new(int server, tsarc_psql_head **out);
/* Appends the filtered form of data[0..len) to `out`; a line of the head is
 * held until its end decides it. TSARC_EUNSUPPORTED for a SET the target
 * cannot take. */
int tsarc_psql_head_feed(tsarc_psql_head *h, const void *data, size_t len, tsarc_buf *out);
/* End of input: what is held. */
int tsarc_psql_head_finish(tsarc_psql_head *h, tsarc_buf *out);
/* Whether the head has ended and nothing is held: the rest of the stream
 * passes as it is, refused nowhere. */
int tsarc_psql_head_settled(const tsarc_psql_head *h);
/* The settings removed so far, ", "-separated ("" for none). */
const char *tsarc_psql_head_removed(const tsarc_psql_head *h);
void tsarc_psql_head_free(tsarc_psql_head *h);
/* In `buf`, the timeout settings a pg_dump of major version `dump` writes
 * in its head that a server of major version `server` does not have, the
 * ones the filter removes (", "-separated); returns how many. */
int tsarc_psql_head_lacks(int dump, int server, char *buf, size_t size);

extern const struct tsarc_filter_ops tsarc_psql_head_ops;

#endif
