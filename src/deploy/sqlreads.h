#ifndef TSARC_DEPLOY_SQLREADS_H
#define TSARC_DEPLOY_SQLREADS_H

/*
 * What a question to a SQL server may be (db.h tsarc_sql_ask, the only way
 * a plan reaches one): a statement that only reads. A restore's plan, and
 * --dry-run, asks the target what its step would refuse before any step
 * writes, on this host or through the pod's own client in a pod, and it
 * must change nothing; the step asks the same questions.
 *
 * Whether `sql` is one statement that reads: it begins with SELECT, WITH
 * or SHOW, and outside its quoted strings and names it has
 *   - no second statement (a ';' anywhere but at its end), no comment
 *     (MySQL runs the SQL of its executable comments), no '$'
 *     (PostgreSQL's dollar quoting, which this does not follow);
 *   - none of the words that write or lock: INTO (a file, a variable or a
 *     table written), INSERT, UPDATE, DELETE, REPLACE, MERGE (a WITH may
 *     hold one, in PostgreSQL and MySQL), CREATE, DROP, ALTER, TRUNCATE,
 *     RENAME, GRANT, REVOKE, SET, CALL, DO, LOAD, COPY, LOCK, SHARE
 *     (SELECT ... FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE).
 * A string is read as both servers read it where they agree: '' and ""
 * doubled, and a backslash before another byte; a backslash before the
 * closing quote, which the two read differently, is not a question that
 * reads. What the functions it calls do is its writer's to know: tsarc's
 * questions call none that writes. 1 or 0.
 */
int tsarc_sql_reads(const char *sql);

#endif
