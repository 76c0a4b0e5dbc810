#ifndef TSARC_DEPLOY_PSQLOWNER_H
#define TSARC_DEPLOY_PSQLOWNER_H

/*
 * The owners of a PostgreSQL dump's objects, fitted to the server it is
 * loaded into: a stream filter (filter.h) behind the psql guard.
 *
 * Why: pg_dump writes, for every object it creates, `ALTER <kind> <name>
 * OWNER TO <role>;`, and for each privilege given to a role a `GRANT ...
 * TO <role>;` (`REVOKE ... FROM`, `ALTER DEFAULT PRIVILEGES FOR ROLE`).
 * 3scale moved to another managed PostgreSQL meets a server whose user is
 * another name and that has none of the source's roles: psql stops at the
 * first such statement ("role "zync" does not exist"), and the load, one
 * transaction, applies nothing. pg_restore's answer, --no-owner, gives
 * every object to the restoring user, also where the target has the
 * dumped owner; so does pg_dump's --no-owner, chosen at backup.
 *
 * So, only where a statement names a role the target does not have:
 * - `OWNER TO` it, and `FOR ROLE` it in ALTER DEFAULT PRIVILEGES, name the
 *   role the load connects as instead (3scale's user for the database,
 *   from the target's Secret): the objects are that role's, as they were
 *   the source's user's;
 * - a GRANT or REVOKE (also within ALTER DEFAULT PRIVILEGES) whose
 *   grantees are all such roles is left out: privileges of a role the
 *   server does not have. One that names a missing role among others is
 *   left as it is (psql then stops at it, and says which).
 * An object whose owner the target has keeps it, so a load into the
 * server a dump came from is the dump as it is.
 *
 * Only a whole statement on a line of its own, begun where psql's query
 * buffer is empty (the guard's lexer, check only, says where: never COPY
 * data, a string, a function's body or a comment), is read, by a lexer of
 * names and punctuation: a line holding a string, a comment, a dollar
 * quote, more than one statement, or a role name of other than ASCII
 * characters (a database in another encoding than UTF-8 spells it
 * otherwise), passes as it is. What pg_dump writes for owners and grants
 * is read (tested with PostgreSQL 15). Any split of the input gives the
 * same output.
 */
#include <stddef.h>

#include <cjson/cJSON.h>

#include "tsarc/buf.h"

typedef struct tsarc_psql_owner tsarc_psql_owner;

/* The query whose answer (psql -At, one line) tsarc_psql_owner_new takes:
 * the role the session runs as, then every role of the server, each
 * hex-encoded (UTF-8), separated by spaces. */
extern const char tsarc_psql_owner_query[];

/* A filter for the server whose answer to tsarc_psql_owner_query is
 * `answer`; TSARC_ECORRUPT for an answer of another shape. */
int tsarc_psql_owner_new(const char *answer, tsarc_psql_owner **out);
int tsarc_psql_owner_feed(tsarc_psql_owner *o, const void *data, size_t len, tsarc_buf *out);
/* End of input: a last line without its newline, read as any other. */
int tsarc_psql_owner_finish(tsarc_psql_owner *o, tsarc_buf *out);
void tsarc_psql_owner_free(tsarc_psql_owner *o);
/* What it did, for the step's report: "owners": {"to": the role, "from":
 * [the missing roles it stood in for], "statements": how many it changed,
 * "grants_left_out": how many GRANTs and REVOKEs it left out}; nothing
 * when it did nothing. */
int tsarc_psql_owner_report(const tsarc_psql_owner *o, cJSON *detail);

extern const struct tsarc_filter_ops tsarc_psql_owner_ops;

#endif
