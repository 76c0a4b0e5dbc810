/*
 * Redis connection details from 3scale's Secrets (secrets.h).
 */
#define _GNU_SOURCE /* strdup, asprintf */
#include "secrets.h"
#include "component.h"
#include "logical.h"
#include "wipe.h"
#include "tsarc/errors.h"


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { K_USER, K_PASSWORD, K_S_HOSTS, K_S_ROLE, K_S_USER, K_S_PASSWORD, K_CA, K_CERT, K_KEY,
	K_SSL, K_COUNT };

/* Per key set, for each field, the names to try in order (newest first). */
static const char *const STORAGE[K_COUNT][3] = {
	{"REDIS_STORAGE_USERNAME", "CONFIG_REDIS_USERNAME"},
	{"REDIS_STORAGE_PASSWORD", "CONFIG_REDIS_PASSWORD"},
	{"REDIS_STORAGE_SENTINEL_HOSTS", "CONFIG_REDIS_SENTINEL_HOSTS"},
	{"REDIS_STORAGE_SENTINEL_ROLE", "CONFIG_REDIS_SENTINEL_ROLE"},
	{"REDIS_STORAGE_SENTINEL_USERNAME", "CONFIG_REDIS_SENTINEL_USERNAME"},
	{"REDIS_STORAGE_SENTINEL_PASSWORD", "CONFIG_REDIS_SENTINEL_PASSWORD"},
	{"REDIS_SSL_CA", "CONFIG_REDIS_CA_FILE"},
	{"REDIS_SSL_CERT", "CONFIG_REDIS_CERT"},
	{"REDIS_SSL_KEY", "CONFIG_REDIS_PRIVATE_KEY"},
	{"CONFIG_REDIS_SSL"},
};
static const char *const QUEUES[K_COUNT][3] = {
	{"REDIS_QUEUES_USERNAME", "CONFIG_QUEUES_USERNAME"},
	{"REDIS_QUEUES_PASSWORD", "CONFIG_QUEUES_PASSWORD"},
	{"REDIS_QUEUES_SENTINEL_HOSTS", "CONFIG_QUEUES_SENTINEL_HOSTS"},
	{"REDIS_QUEUES_SENTINEL_ROLE", "CONFIG_QUEUES_SENTINEL_ROLE"},
	{"REDIS_QUEUES_SENTINEL_USERNAME", "CONFIG_QUEUES_SENTINEL_USERNAME"},
	{"REDIS_QUEUES_SENTINEL_PASSWORD", "CONFIG_QUEUES_SENTINEL_PASSWORD"},
	{"REDIS_SSL_QUEUES_CA", "CONFIG_QUEUES_CA_FILE"},
	{"REDIS_SSL_QUEUES_CERT", "CONFIG_QUEUES_CERT"},
	{"REDIS_SSL_QUEUES_KEY", "CONFIG_QUEUES_PRIVATE_KEY"},
	{"CONFIG_QUEUES_SSL"},
};
static const char *const SYSTEM[K_COUNT][3] = {
	{"REDIS_USERNAME"},
	{"REDIS_PASSWORD"},
	{"SENTINEL_HOSTS"},
	{"SENTINEL_ROLE"},
	{"REDIS_SENTINEL_USERNAME", "SENTINEL_USERNAME"},
	{"REDIS_SENTINEL_PASSWORD", "SENTINEL_PASSWORD"},
	{"REDIS_SSL_CA"},
	{"REDIS_SSL_CERT"},
	{"REDIS_SSL_KEY"},
	{"REDIS_SSL"},
};

/* The strings a tsarc_redis_conf owns (opts and sentinel point into them). */
static const size_t CONF_STRINGS[] = {
	offsetof(tsarc_redis_conf, host), offsetof(tsarc_redis_conf, socket),
	offsetof(tsarc_redis_conf, user), offsetof(tsarc_redis_conf, password),
	offsetof(tsarc_redis_conf, ca), offsetof(tsarc_redis_conf, cert),
	offsetof(tsarc_redis_conf, key), offsetof(tsarc_redis_conf, s_hosts),
	offsetof(tsarc_redis_conf, s_master), offsetof(tsarc_redis_conf, s_user),
	offsetof(tsarc_redis_conf, s_password), offsetof(tsarc_redis_conf, sentinel_role),
	offsetof(tsarc_redis_conf, url_scheme), offsetof(tsarc_redis_conf, url_path),
};

void tsarc_redis_conf_free(tsarc_redis_conf *c)
{
	TSARC_SECURE_FREE_FIELDS(c, CONF_STRINGS);
	memset(c, 0, sizeof(*c));
}

/* The first present, non-empty key of `names` into *out (replacing). */
static int pick(tsarc_redis_conf *c, const cJSON *doc, const char *secret,
	const char *const names[3], char **out)
{
	int i, rc;

	for (i = 0; i < 3 && names[i]; i++) {
		char *v = NULL;
		rc = tsarc_secret_doc_value(doc, secret, names[i], &v);
		if (rc == TSARC_ENOTFOUND) {
			tsarc_error_clear();
			continue;
		}
		if (rc)
			return rc;
		if (!*v) {
			free(v);
			continue;
		}
		if (*out)
			tsarc_secure_free_str(*out);
		*out = v;
		snprintf(c->used + strlen(c->used), sizeof(c->used) - strlen(c->used), "%s%s",
			*c->used ? ", " : "", names[i]);
		return 0;
	}
	return 0;
}

static int set(char **dst, const char *src)
{
	char *s;

	if (!src || !*src)
		return 0;
	if (!(s = strdup(src)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	tsarc_secure_free_str(*dst);
	*dst = s;
	return 0;
}

/* A CONFIG_*_CA_FILE of older releases may hold a path in the pod, not PEM
 * text: that is of no use here. */
static void pem_only(char **v)
{
	if (*v && !strstr(*v, "-----BEGIN")) {
		tsarc_secure_free_str(*v);
		*v = NULL;
	}
}

static int truthy(const char *v)
{
	return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "True") ||
		!strcmp(v, "yes"));
}

static void link_opts(tsarc_redis_conf *c)
{
	c->opts.host = c->host;
	c->opts.socket = c->socket;
	c->opts.user = c->user;
	c->opts.password = c->password;
	c->opts.ca_pem = c->ca;
	c->opts.cert_pem = c->cert;
	c->opts.key_pem = c->key;
	c->sentinel.hosts = c->s_hosts;
	c->sentinel.master = c->s_master;
	c->sentinel.user = c->s_user;
	c->sentinel.password = c->s_password;
	c->use_sentinel = c->s_hosts && *c->s_hosts;
}

int tsarc_redis_conf_from_secret(tsarc_redis_conf *c, const cJSON *doc, const char *secret,
	const char *url_key)
{
	const char *const (*set_of)[3] = SYSTEM;
	char *v[K_COUNT] = {0}, *url = NULL;
	int rc = 0, i;

	memset(c, 0, sizeof(*c));
	if (!doc)
		return 0;
	if (url_key && (strstr(url_key, "QUEUES") || !strcmp(url_key, "CONFIG_QUEUES_MASTER_NAME")))
		set_of = QUEUES;
	else if (url_key && (strstr(url_key, "STORAGE") || !strcmp(url_key, "CONFIG_REDIS_PROXY")))
		set_of = STORAGE;
	if (url_key) {
		const char *const names[3] = {url_key};
		if ((rc = pick(c, doc, secret, names, &url)))
			goto done;
		if (!url) {
			rc = tsarc_error_set(TSARC_ECONFIG, "Secret %s has no %s (where its Redis is)",
				secret, url_key);
			goto done;
		}
	}
	for (i = 0; i < K_COUNT && !rc; i++)
		rc = pick(c, doc, secret, set_of[i], &v[i]);
	if (rc)
		goto done;
	if (url) {
		tsarc_url u;
		if ((rc = tsarc_url_parse(url, &u))) {
			tsarc_error_prefix("Secret %s, key %s", secret, url_key);
			goto done;
		}
		rc = set(&c->url_scheme, u.scheme);
		c->has_url = 1;
		if (!rc)
			rc = set(&c->url_path, u.path);
		if (!rc && !strcmp(u.scheme, "rediss"))
			c->opts.tls = 1;
		/* With Sentinel the URL's host is the master group's name. */
		if (!rc && v[K_S_HOSTS])
			rc = set(&c->s_master, u.host);
		else if (!rc)
			rc = set(&c->host, u.host);
		c->opts.port = u.port;
		if (!rc)
			rc = set(&c->user, u.user);
		if (!rc)
			rc = set(&c->password, u.password);
		tsarc_url_free(&u);
		if (rc)
			goto done;
	}
	/* The separate fields win over the URL's user and password. */
	if ((rc = set(&c->user, v[K_USER])) || (rc = set(&c->password, v[K_PASSWORD])))
		goto done;
	pem_only(&v[K_CA]);
	pem_only(&v[K_CERT]);
	pem_only(&v[K_KEY]);
	c->ca = v[K_CA];
	c->cert = v[K_CERT];
	c->key = v[K_KEY];
	/* Refused before anything shows a piece of it as a host (hosts_only). */
	if (v[K_S_HOSTS] && (rc = tsarc_redis_sentinel_hosts_check(v[K_S_HOSTS]))) {
		tsarc_error_prefix("Secret %s", secret);
		goto done;
	}
	c->s_hosts = v[K_S_HOSTS];
	c->s_user = v[K_S_USER];
	c->s_password = v[K_S_PASSWORD];
	c->sentinel_role = v[K_S_ROLE];
	v[K_CA] = v[K_CERT] = v[K_KEY] = v[K_S_HOSTS] = v[K_S_USER] = v[K_S_PASSWORD] =
		v[K_S_ROLE] = NULL;
	if (truthy(v[K_SSL]) || c->cert)
		c->opts.tls = 1;
	link_opts(c);
done:
	for (i = 0; i < K_COUNT; i++)
		tsarc_secure_free_str(v[i]);
	tsarc_secure_free_str(url);
	if (rc)
		tsarc_redis_conf_free(c);
	return rc;
}

int tsarc_redis_url_path_db(const char *path, int *db)
{
	long long v;

	*db = -1;
	if (!path || !*path) {
		*db = 0;
		return 0;
	}
	if (tsarc_redis_decimal((const unsigned char *)path, strlen(path), TSARC_REDIS_DB_MAX - 1,
			&v))
		return -1;
	*db = (int)v;
	return 0;
}

int tsarc_redis_conf_url_db(const tsarc_redis_conf *c, const char *what, int *db)
{
	char shown[40];

	*db = -1;
	if (!c->has_url)
		return 0;
	if (!tsarc_redis_url_path_db(c->url_path, db))
		return 0;
	/* The path is no secret, but it is cut: it could be anything. */
	snprintf(shown, sizeof(shown), "%.32s%s", c->url_path, strlen(c->url_path) > 32 ?
		"..." : "");
	return tsarc_error_set(TSARC_ECONFIG, "%s: the URL's path '%s' is not a Redis database "
		"number (0 to %d)", what, shown, TSARC_REDIS_DB_MAX - 1);
}

static int same_str(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

/* Whether two confs of one Secret's URLs name the same server: the same
 * Sentinel group through the same Sentinels, the same socket, or the same
 * host and port. */
static int same_server(const tsarc_redis_conf *a, const tsarc_redis_conf *b)
{
	if (a->use_sentinel || b->use_sentinel)
		return a->use_sentinel && b->use_sentinel && same_str(a->s_master, b->s_master) &&
			same_str(a->s_hosts, b->s_hosts);
	if (a->socket || b->socket)
		return same_str(a->socket, b->socket);
	return same_str(a->host, b->host) &&
		(a->opts.port ? a->opts.port : 6379) == (b->opts.port ? b->opts.port : 6379);
}

int tsarc_redis_queues_db(const cJSON *doc, const char *secret, const char *key,
	const char *queues_key, int *db, int *elsewhere)
{
	tsarc_redis_conf main, queues;
	char what[300], *url = NULL;
	int rc;

	*db = -1;
	*elsewhere = 0;
	if (!doc || !key || !queues_key)
		return 0;
	if ((rc = tsarc_secret_doc_optional(doc, secret, queues_key, &url)) || !url)
		return rc;
	tsarc_secure_free_str(url);
	if ((rc = tsarc_redis_conf_from_secret(&main, doc, secret, key)))
		return rc;
	if ((rc = tsarc_redis_conf_from_secret(&queues, doc, secret, queues_key))) {
		tsarc_redis_conf_free(&main);
		return rc;
	}
	if (!same_server(&main, &queues)) {
		*elsewhere = 1;
	} else {
		snprintf(what, sizeof(what), "Secret %s, key %s", secret ? secret : "?", queues_key);
		rc = tsarc_redis_conf_url_db(&queues, what, db);
	}
	tsarc_redis_conf_free(&queues);
	tsarc_redis_conf_free(&main);
	return rc;
}

int tsarc_redis_meta_db(const cJSON *meta, const char *key, const char *stream, int *db)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);

	*db = -1;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble >= TSARC_REDIS_DB_MAX ||
		v->valuedouble != (double)(int)v->valuedouble)
		return tsarc_error_set(TSARC_ECORRUPT, "stream %s: its metadata \"%s\" is not a "
			"Redis database number (an integer from 0 to %d): the snapshot is damaged",
			stream, key, TSARC_REDIS_DB_MAX - 1);
	*db = (int)v->valuedouble;
	return 0;
}

int tsarc_redis_conf_override(tsarc_redis_conf *c, const char *host, int port,
	const char *socket, const char *user, const char *password, int tls)
{
	int rc;

	if ((rc = set(&c->host, host)) || (rc = set(&c->socket, socket)) ||
		(rc = set(&c->user, user)) || (rc = set(&c->password, password)))
		return rc;
	if (port)
		c->opts.port = port;
	if (tls >= 0)
		c->opts.tls = tls;
	/* An address given in the configuration is used as it is. */
	if (host || socket) {
		tsarc_secure_free_str(c->s_hosts);
		c->s_hosts = NULL;
	}
	link_opts(c);
	return 0;
}

int tsarc_redis_conf_connect(const tsarc_redis_conf *c, tsarc_redis **out)
{
	if (c->use_sentinel)
		return tsarc_redis_sentinel_connect(out, &c->opts, &c->sentinel);
	if (!c->host && !c->socket)
		return tsarc_error_set(TSARC_ECONFIG, "no Redis address (no URL in the Secret, no "
			"host or socket in the configuration)");
	return tsarc_redis_connect(out, &c->opts, "Redis");
}

int tsarc_redis_conf_role_replica(const tsarc_redis_conf *c)
{
	return c->use_sentinel && c->sentinel_role && (!strcasecmp(c->sentinel_role, "slave") ||
		!strcasecmp(c->sentinel_role, "replica"));
}

int tsarc_redis_conf_connect_read(const tsarc_redis_conf *c, int wait_ms,
	const atomic_int *stop, tsarc_redis **out, tsarc_redis_read_note *note)
{
	int rc;

	memset(note, 0, sizeof(*note));
	if (tsarc_redis_conf_role_replica(c))
		return tsarc_redis_sentinel_connect_read(out, &c->opts, &c->sentinel, wait_ms, stop,
			note);
	if ((rc = tsarc_redis_conf_connect(c, out)))
		return rc;
	/* A server named directly (or the Sentinel's master) that is a
	 * replica: read only once it has caught up with its master; the
	 * configuration chose it, so there is nothing to fall back to. */
	if ((rc = tsarc_redis_require_caught_up(*out, &c->opts, NULL, 0, wait_ms, stop,
		     note->check, sizeof(note->check)))) {
		tsarc_redis_close(*out);
		*out = NULL;
	}
	return rc;
}

/* The Sentinel hosts without any user or password they carry. */
static void hosts_only(const char *hosts, char *out, size_t outsz)
{
	size_t n = 0;
	const char *p = hosts;

	*out = '\0';
	while (p && *p && n + 1 < outsz) {
		size_t len = strcspn(p, ", \t\n");
		const char *e = p + len, *start = p, *q;
		for (q = p; q < e; q++)
			if (*q == '@')
				start = q + 1;
		if (start == p && (q = strstr(p, "://")) && q < e)
			start = q + 3;
		if (e > start)
			n += (size_t)snprintf(out + n, outsz - n, "%s%.*s", n ? "," : "",
				(int)(e - start), start);
		p = e + strspn(e, ", \t\n");
	}
}

void tsarc_redis_conf_describe(const tsarc_redis_conf *c, char *out, size_t outsz)
{
	const char *tls = c->opts.tls ? " over TLS" : "";
	const char *as = c->user ? " as " : "";
	char hosts[512];

	if (c->use_sentinel) {
		hosts_only(c->s_hosts, hosts, sizeof(hosts));
		snprintf(out, outsz, "the master of Sentinel group %s (Sentinels %s)%s%s%s",
			c->s_master ? c->s_master : "?", hosts, tls, as, c->user ? c->user : "");
	} else if (c->socket)
		snprintf(out, outsz, "%s%s%s", c->socket, as, c->user ? c->user : "");
	else
		snprintf(out, outsz, "%s:%d%s%s%s", c->host ? c->host : "?",
			c->opts.port ? c->opts.port : 6379, tls, as, c->user ? c->user : "");
}
