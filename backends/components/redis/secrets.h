#ifndef TSARC_REDIS_SECRETS_H
#define TSARC_REDIS_SECRETS_H

/*
 * Where a 3scale Redis is and how to reach it, from the deployment's own
 * Secret: the URL (rediss:// means TLS; with Sentinel its host is the
 * master group), the ACL user and password, the Sentinel hosts, role and
 * their own credentials, and the TLS CA, client certificate and key as PEM
 * text. Three key sets, told apart by the URL's key: backend-redis storage
 * (REDIS_STORAGE_*, REDIS_SSL_*), backend-redis queues (REDIS_QUEUES_*,
 * REDIS_SSL_QUEUES_*) and system-redis (URL, REDIS_USERNAME, SENTINEL_*,
 * REDIS_SSL_*); older releases' CONFIG_REDIS_* / CONFIG_QUEUES_* names
 * are read too, the newer name winning.
 */
#include "client.h"
#include "sentinel.h"

#include <cjson/cJSON.h>

typedef struct tsarc_redis_conf {
	tsarc_redis_opts opts;        /* points into the strings below */
	tsarc_redis_sentinel sentinel;
	int use_sentinel;
	char *sentinel_role;          /* as the Secret says (master/slave), or NULL */
	char *url_scheme;
	/* The URL's path (its database number, as text), NULL for none;
	 * has_url: the Secret gave a URL at all. */
	char *url_path;
	int has_url;
	/* Owned; passwords and keys wiped by tsarc_redis_conf_free. */
	char *host, *socket, *user, *password, *ca, *cert, *key;
	char *s_hosts, *s_master, *s_user, *s_password;
	/* Keys of the Secret that were used, for the plan (never values). */
	char used[512];
} tsarc_redis_conf;

/* Fills `conf` from Secret `doc` (named `secret` in messages) whose URL is
 * under `url_key` (NULL doc: nothing from a Secret). */
int tsarc_redis_conf_from_secret(tsarc_redis_conf *conf, const cJSON *doc, const char *secret,
	const char *url_key);
/* Fields of the configuration over the Secret's: host, port, socket, user,
 * a password already resolved (password_env / password_file; NULL: keep),
 * tls (-1: keep). */
int tsarc_redis_conf_override(tsarc_redis_conf *conf, const char *host, int port,
	const char *socket, const char *user, const char *password, int tls);
/* Connects: through the Sentinels when the Secret names them (to the
 * master), else to the address itself. */
int tsarc_redis_conf_connect(const tsarc_redis_conf *conf, tsarc_redis **out);
/* The same for reading only (a backup): where the Secret's Sentinel role
 * is slave, a replica of the group that is healthy and caught up with its
 * master, else the master (sentinel.h tsarc_redis_sentinel_connect_read);
 * otherwise the server itself, which, when it is a replica, must catch up
 * with its master within wait_ms (tsarc_redis_require_caught_up) or the
 * backup fails. What was found and passed over into *note. */
int tsarc_redis_conf_connect_read(const tsarc_redis_conf *conf, int wait_ms,
	const atomic_int *stop, tsarc_redis **out, tsarc_redis_read_note *note);
/* Whether the Secret's Sentinel role asks for a replica (slave, replica). */
int tsarc_redis_conf_role_replica(const tsarc_redis_conf *conf);
/* "host:port" / "socket" / "Sentinel group G via H" for plans and metadata. */
void tsarc_redis_conf_describe(const tsarc_redis_conf *conf, char *out, size_t outsz);
void tsarc_redis_conf_free(tsarc_redis_conf *conf);

/* The database the URL of `conf` names (redis://host:6379/1: 1; no path,
 * or an empty one: 0, as 3scale's clients read it) into *db; -1 when the
 * conf has no URL. A path that is not a database number is TSARC_ECONFIG
 * naming `what` (the Secret and key) and the path: where 3scale keeps its
 * keys is then unknown, and guessing would restore them elsewhere. */
int tsarc_redis_conf_url_db(const tsarc_redis_conf *conf, const char *what, int *db);
/* The database a Redis URL's path names, as 3scale's clients read it: no
 * path or an empty one: 0; decimal digits: that number, 0 to
 * TSARC_REDIS_DB_MAX - 1 (logical.h). -1 otherwise (no error set). The
 * one rule for the backup's record and the restore's target. */
int tsarc_redis_url_path_db(const char *path, int *db);
/* backend-redis's queues, in Secret `doc` (named `secret`): where the URL
 * under `queues_key` names the same server as the one under `key` (the
 * same host and port, socket, or Sentinel group and Sentinels), the
 * database it names into *db; where it names another server, *elsewhere
 * 1 and *db -1; -1 and 0 when the Secret has no such key (or doc, key or
 * queues_key is NULL). A path that is no database number is TSARC_ECONFIG
 * (tsarc_redis_conf_url_db). */
int tsarc_redis_queues_db(const cJSON *doc, const char *secret, const char *key,
	const char *queues_key, int *db, int *elsewhere);
/* The database number the snapshot's metadata `meta` holds under `key`
 * (the stream's "redis_url_db") into *db, -1 when it has none. The
 * metadata comes from the repository, so anything but an integer from 0
 * to TSARC_REDIS_DB_MAX - 1 is TSARC_ECORRUPT naming `stream` and the key. */
int tsarc_redis_meta_db(const cJSON *meta, const char *key, const char *stream, int *db);

#endif
