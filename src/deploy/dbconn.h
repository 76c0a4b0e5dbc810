#ifndef TSARC_DEPLOY_DBCONN_H
#define TSARC_DEPLOY_DBCONN_H

/*
 * What a managed database needs beyond host, port, user and password: the
 * user and password its Secret names, and TLS (a mode, a private CA, a
 * client certificate and key). 3scale's Secrets (system-database, zync)
 * carry them as URL, DB_USER, DB_PASSWORD, DATABASE_SSL_MODE, DB_SSL_CA,
 * DB_SSL_CERT and DB_SSL_KEY; a component's url_secret names the keys:
 *
 *   "url_secret": {"secret": "system-database", "key": "URL",
 *                  "user_key": "DB_USER", "password_key": "DB_PASSWORD",
 *                  "tls": {"mode": "DATABASE_SSL_MODE", "ca": "DB_SSL_CA",
 *                          "cert": "DB_SSL_CERT", "key": "DB_SSL_KEY"}}
 *
 * The CA, certificate and key are PEM contents, not paths. Clients read
 * them from files: they are written to a private directory (0700, files
 * 0600) for the run of one client, registered for removal on a signal,
 * removed by the next tsarc if this one is killed outright (privdir.h),
 * and removed (the key overwritten first) when the client is done. Their
 * paths, never their contents, go on the command line.
 */
#include <cjson/cJSON.h>
#include "component.h"
#include "privdir.h"

/* TLS modes, in both spellings (MySQL: disabled preferred required
 * verify_ca verify_identity; libpq: disable allow prefer require verify-ca
 * verify-full). TSARC_TLS_UNSET: no mode given. */
typedef enum {
	TSARC_TLS_UNSET = 0,
	TSARC_TLS_DISABLE,
	TSARC_TLS_PREFER,
	TSARC_TLS_REQUIRE,
	TSARC_TLS_VERIFY_CA,
	TSARC_TLS_VERIFY_FULL
} tsarc_tls_mode;

/* TSARC_ECONFIG (naming `what`, never the value) for an unknown mode. */
int tsarc_tls_mode_parse(const char *text, const char *what, tsarc_tls_mode *out);
/* The mode a client is given: the one set (require with a CA given is
 * verify-ca: a private CA is there to be checked), else verify-ca when a
 * CA is given, else unset. A rediss:// URL sets verify-full. */
tsarc_tls_mode tsarc_conn_tls_mode(const tsarc_conn *conn);
const char *tsarc_tls_mode_name(tsarc_tls_mode m); /* libpq spelling */

/*
 * The connection of component `c` from its Secret `doc` (NULL: the spec's
 * fields only): the URL (url_secret.key), then the optional user, password
 * and TLS keys. For an external database the user and password come as a
 * pair: from the configuration when it gives a password (password_env or
 * password_file), else from the Secret (the URL's, else user_key and
 * password_key); a profile's default "user" never takes the Secret's
 * password to another user. The URL's sslmode (or ssl_mode) query
 * parameter is the mode when the Secret has none.
 */
int tsarc_conn_from_secret(const tsarc_component *c, const cJSON *doc, tsarc_conn *out);

/* The private files of one client run: the CA, the certificate and the
 * key (the one secret among them), each a path or NULL. */
enum { TSARC_DB_TLS_CA, TSARC_DB_TLS_CERT, TSARC_DB_TLS_KEY, TSARC_DB_TLS_FILES };
typedef struct tsarc_db_tls {
	tsarc_privdir pd; /* the folder */
	char *path[TSARC_DB_TLS_FILES];
	int plugin_dir; /* the folder is a MySQL client's plugin folder too */
	int over_socket; /* ... of one that connects over this host's socket */
	int system_cas; /* the client checks the server against the system's CAs */
} tsarc_db_tls;

/* Writes the conn's CA, certificate and key (*out NULL when it has none).
 * TMPDIR, else /tmp, holds the private directory. */
int tsarc_db_tls_open(const tsarc_conn *conn, tsarc_db_tls **out);
/* Removes the files and the directory, and frees `t` (NULL: nothing). */
int tsarc_db_tls_close(tsarc_db_tls *t);
/* tsarc_db_tls_open for a MySQL client; for one that runs on this host
 * (`on_host`) and does not verify the server (tsarc_mysql_client_verifies),
 * the folder (made when there are no TLS files) is also the client's
 * plugin folder, without the plugins that hand the password to whatever
 * server asks (mysql_clear_password, dialog; over TCP caching_sha2_password
 * and sha256_password too): dbconn.c says why. tsarc_mysql_tls_args then
 * adds --plugin-dir. One on this host that verifies a server at 127.0.0.1
 * or ::1 without the Secret's CA is given the system's CA folder
 * (system_cas; the folder made for it): MariaDB's client from 11.4 would
 * take that server on trust. */
int tsarc_mysql_files_open(const tsarc_conn *conn, int on_host, tsarc_db_tls **out);
/* `rc` (a MySQL client's failure) with the reason added when it is that
 * refusal (the client could not load a plugin left out), naming the
 * plugin and what its accounts need. */
int tsarc_mysql_explain(const tsarc_db_tls *t, int rc);
/* Whether a MySQL client with these arguments connects over this host's
 * Unix socket rather than TCP. */
int tsarc_mysql_over_socket(const tsarc_conn *conn);
/* Whether a MySQL client with tsarc_mysql_tls_args checks the server's
 * certificate (MariaDB's client: from "required" up). */
int tsarc_mysql_client_verifies(const tsarc_conn *conn);

/* TLS options for a mysql client or dump tool: MariaDB's and MySQL's
 * spellings, --loose- so that each client takes its own and skips the
 * other's. Nothing when the conn has neither mode nor files. With them
 * the transport the client must take, pinned: --protocol=TCP where a host
 * is given and the client would not take the socket
 * (tsarc_mysql_over_socket), --protocol=SOCKET for the socket of a client
 * with a plugin folder. The mysql kind adds them to its one connection
 * builder (mysql.c mysql_conn_args, over tsarc_db_conn_flags), the
 * postgres kind the variables below. */
int tsarc_mysql_tls_args(tsarc_cmd *cmd, const tsarc_conn *conn, const tsarc_db_tls *t);
/* PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY for psql / pg_dump. */
int tsarc_pg_tls_env(tsarc_cmd *cmd, const tsarc_conn *conn, const tsarc_db_tls *t);

/* What a backup records of the database so that a restore that must create
 * it creates it the same: MySQL's default charset and collation, and
 * PostgreSQL's encoding, LC_COLLATE and LC_CTYPE (and the server's
 * server_version_num, which pg_dump must not be older than). The queries take the
 * database name as a hex literal (no quoting to get wrong); the answer is
 * one line of tab- (or |-) separated names, checked (letters, digits,
 * _ - . @) and added to `meta` under `names`. */
int tsarc_mysql_charset_query(const char *database, char **out);
int tsarc_pg_encoding_query(const char *database, char **out);
int tsarc_probe_fields(const char *text, const char *const names[], size_t n, cJSON *meta);

/* The MySQL query whose one-line answer says what of `database` its user
 * may not see, which mysqldump then leaves out without an error (it dumps
 * what SHOW TABLES, SHOW TRIGGERS and SHOW PROCEDURE STATUS list, and they
 * list only what the session holds a privilege on): "hidden:" followed by
 * " tables", " triggers", " routines" (none: it sees everything), or
 * "unknown" where a role is enabled whose privileges `grants` does not
 * show. `grants` is the session's SHOW GRANTS as mysql --batch writes it
 * (MariaDB: the user's grants, its enabled role's and those of the roles
 * it holds, PUBLIC's; MySQL: the active roles' privileges as the user's,
 * and the roles granted), read with the dump's own connection.
 * *out is NULL (nothing to check by) when `grants` is NULL, shows no grant
 * on any object, or holds a REVOKE (MySQL's partial revokes). */
int tsarc_mysql_visible_query(const char *database, const char *grants, char **out);
/* The MySQL query whose one-line answer says whether the session may
 * create triggers and functions: "refused" where the server keeps a binary
 * log (log_bin), log_bin_trust_function_creators is off and the grants
 * hold no SUPER (the server then refuses them, ERROR 1419); "allowed";
 * "unknown" where a role is enabled whose privileges `grants` does not
 * show. `grants` as for tsarc_mysql_visible_query, read with the load's
 * own connection; *out NULL as there. */
int tsarc_mysql_stored_programs_query(const char *grants, char **out);
/* The MySQL query whose answer is 1 when `database` exists, 0 when not
 * (the name as a hex literal, compared as the server compares names). */
int tsarc_mysql_database_count_query(const char *database, char **out);
/* The CREATE DATABASE options of a MySQL restore: the recorded charset
 * and collation (DEFAULT CHARACTER SET x COLLATE y), else `fallback` (the
 * recipe's create_database_options), else none (*out NULL). */
int tsarc_mysql_create_options(const cJSON *meta, const char *fallback, char **out);
/* psql input that creates `database` with the recorded encoding and
 * locale (*out NULL when nothing is recorded). Run only once the count
 * query found it missing: it fails when the database exists. */
int tsarc_pg_create_database_sql(const char *database, const cJSON *meta, char **out);
/* psql input that drops `database` (one a restore created and whose load
 * failed), quoted as the CREATE quotes it. */
int tsarc_pg_drop_database_sql(const char *database, char **out);
/* The query whose answer is 1 when `database` exists, 0 when not. */
int tsarc_pg_database_count_query(const char *database, char **out);
/* PostgreSQL's major version as a number (17; 906 for 9.6: before 10 a
 * major version was two numbers) of a tool's version line ("pg_dump
 * (PostgreSQL) 17.12 (Debian 17.12-0+deb13u1)") or of a server's
 * server_version_num ("170012"); 0 when it is no such version ("unknown",
 * another tool's line). pg_dump dumps a server of its own major version or
 * an older one, and what it writes loads into a server of its source's
 * major version or a newer one: the backup and the restore compare these,
 * ordered by tsarc_pg_major_num. */
int tsarc_pg_tool_major(const char *line);
int tsarc_pg_server_major(const char *num);
/* A major version of those as PostgreSQL writes it: "17", "9.6". */
void tsarc_pg_major_name(int major, char *buf, size_t size);
/* The server_version_num of a major version's first release (170000,
 * 90600), which orders them as those numbers do not (906 > 17). */
long tsarc_pg_major_num(int major);
/* A recipe's two-way choice `field`: *out 1 for `on` (also when the
 * field is absent), 0 for `off`; TSARC_ECONFIG for anything else. */
int tsarc_recipe_switch(const cJSON *recipe, const char *comp, const char *field,
	const char *on, const char *off, int *out);
/* A MySQL recipe's "definer": "strip" (the default: *strip 1) or "keep". */
int tsarc_definer_strip(const cJSON *recipe, const char *comp, int *strip);
/* A PostgreSQL recipe's "owner": "map" (the default: *map 1; psqlowner.h)
 * or "keep". */
int tsarc_owner_map(const cJSON *recipe, const char *comp, int *map);

#endif
