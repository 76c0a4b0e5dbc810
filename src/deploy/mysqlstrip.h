#ifndef TSARC_DEPLOY_MYSQLSTRIP_H
#define TSARC_DEPLOY_MYSQLSTRIP_H

/*
 * Removes from a MySQL/MariaDB dump, while it streams into the client,
 * what a restore must not send the server: what needs SUPER, which a
 * managed MySQL (RDS, Azure, Cloud SQL) never grants, and which the load
 * would stop at, after its clean had dropped the database's tables.
 *
 * - DEFINER clauses (TSARC_STRIP_DEFINERS), as mydumper and MySQL Shell
 *   (strip_definers) do: a trigger, view, routine or event created with
 *   DEFINER=`u`@`h` for a user other than the one restoring needs SUPER
 *   (or SET_USER_ID). Without the clause the object is created with the
 *   restoring user as its definer. A clause is DEFINER = user[@host] where
 *   user and host are `quoted`, 'quoted', "quoted" or bare words, or
 *   CURRENT_USER[()].
 * - The statements that set the session's binary logging and the server's
 *   GTID state (TSARC_STRIP_BINLOG): MySQL 8's mysqldump writes, by default
 *   of a server with GTIDs, SET @@SESSION.SQL_LOG_BIN= 0 and SET
 *   @@GLOBAL.GTID_PURGED=... in the dump's head and SQL_LOG_BIN put back at
 *   its foot. Both need SUPER (ERROR 1227); GTID_PURGED is refused by any
 *   server that has run those transactions, the one backed up above all
 *   (ERROR 3546), and MariaDB has no such variable. They are a replica's
 *   provisioning, not a restore's: where they ran, the restore was kept
 *   out of the binary log, so the server's replicas, and a point-in-time
 *   recovery from its log, never saw it. A statement is removed whole, up
 *   to and with its ';', only where it is a statement of its own (at a
 *   statement's start, the client's delimiter ';': never in a routine's
 *   body), a SET of one of them (any scope) to a value of quoted strings,
 *   words, @variables and versioned comments of those; anything else is
 *   left as it is, for the server to judge.
 *
 * The filter follows the SQL lexically (quoted strings with backslash
 * escapes, `identifiers`, "double quotes", comments; the versioned
 * comments that start with slash-star-bang are code; the client's
 * DELIMITER command), so nothing inside table data or a comment is ever
 * touched, and it holds state across calls: any split of the input gives
 * the same output.
 * Limit: a routine body under sql_mode NO_BACKSLASH_ESCAPES that holds a
 * string ending in a backslash would be read differently (mysqldump's own
 * data always uses backslash escapes; the mysql guard refuses that mode).
 */
#include <stddef.h>
#include "tsarc/buf.h"

typedef struct tsarc_mysql_strip tsarc_mysql_strip;

/* What a filter removes, or'ed. */
enum { TSARC_STRIP_DEFINERS = 1, TSARC_STRIP_BINLOG = 2 };

int tsarc_mysql_strip_new(tsarc_mysql_strip **out, unsigned what);
/* Appends the filtered form of data[0..len) to `out`; bytes that may be
 * the start of a clause or statement removed are held until the next
 * call decides. */
int tsarc_mysql_strip_feed(tsarc_mysql_strip *f, const void *data, size_t len,
	tsarc_buf *out);
/* End of input: appends what is held. */
int tsarc_mysql_strip_finish(tsarc_mysql_strip *f, tsarc_buf *out);
/* How many DEFINER clauses, and how many statements, were removed so far. */
unsigned long tsarc_mysql_strip_definers(const tsarc_mysql_strip *f);
unsigned long tsarc_mysql_strip_statements(const tsarc_mysql_strip *f);
void tsarc_mysql_strip_free(tsarc_mysql_strip *f);
/* The filter as a stream filter (filter.h). */
extern const struct tsarc_filter_ops tsarc_mysql_strip_ops;

#endif
