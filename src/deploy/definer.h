#ifndef TSARC_DEPLOY_DEFINER_H
#define TSARC_DEPLOY_DEFINER_H

/*
 * Removes the DEFINER clauses of a MySQL/MariaDB dump while it streams into
 * the client, as mydumper and MySQL Shell (strip_definers) do.
 *
 * Why: a trigger, view, routine or event created with DEFINER=`u`@`h` for a
 * user other than the one restoring needs SUPER (or SET_USER_ID), which a
 * managed MySQL (RDS, Azure, Cloud SQL) never grants: the load stops at the
 * first such object. Without the clause the object is created with the
 * restoring user as its definer.
 *
 * The filter follows the SQL lexically (quoted strings with backslash
 * escapes, `identifiers`, "double quotes", comments; the versioned
 * comments that start with slash-star-bang are code), so a DEFINER=...
 * inside table data or a comment is never touched, and it holds state
 * across calls: any split of the input gives the same output. A clause is DEFINER = user[@host] where user and
 * host are `quoted`, 'quoted', "quoted" or bare words, or CURRENT_USER[()].
 * Limit: a routine body under sql_mode NO_BACKSLASH_ESCAPES that holds a
 * string ending in a backslash would be read differently (mysqldump's own
 * data always uses backslash escapes).
 */
#include <stddef.h>
#include "tsarc/buf.h"

typedef struct tsarc_definer_filter tsarc_definer_filter;

int tsarc_definer_filter_new(tsarc_definer_filter **out);
/* Appends the filtered form of data[0..len) to `out`; bytes that may be
 * the start of a clause are held until the next call decides. */
int tsarc_definer_filter_feed(tsarc_definer_filter *f, const void *data, size_t len,
	tsarc_buf *out);
/* End of input: appends what is held. */
int tsarc_definer_filter_finish(tsarc_definer_filter *f, tsarc_buf *out);
/* How many clauses were removed so far. */
unsigned long tsarc_definer_filter_count(const tsarc_definer_filter *f);
void tsarc_definer_filter_free(tsarc_definer_filter *f);
/* The filter as a stream filter (filter.h). */
extern const struct tsarc_filter_ops tsarc_definer_filter_ops;

#endif
