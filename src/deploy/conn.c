/*
 * A database component's connection: its fields over the URL of its
 * Secret, the password from our environment, a file or the URL. The
 * password is wiped when the connection is freed.
 */
#include "component.h"
#include "dbconn.h"
#include "fileio.h"
#include "kind.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int nomem(void)
{
	return tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

/* A password's longest file: more is not a password, and is refused
 * rather than cut (a cut password fails as a wrong one would). */
#define PASSWORD_FILE_MAX 4096

/*
 * The component's password_file through the one reader of secret files
 * (fileio.h: no stdio buffer, every buffer wiped, a folder or unreadable
 * file an error with read's reason). Before, a folder opened, its read
 * failed with EISDIR and that was taken for the end of an empty file: the
 * client was given an empty password. The whole file is the password but
 * for the line end after it: blanks and inner line breaks are kept
 * (docs/config.md). An empty one (or only a line end) is an error, as an
 * empty password_env is (password_env_value) and as the repository's
 * empty password file is: before, it gave the client "".
 */
static int read_password_file(const char *path, const char *comp, char **out)
{
	size_t len, whole;
	int rc = tsarc_read_secret_file("password_file", path, PASSWORD_FILE_MAX, out, &len);

	if (rc) {
		if (rc == TSARC_ECONFIG)
			tsarc_error_prefix("component '%s'", comp);
		return rc;
	}
	whole = len;
	while (len > 0 && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r'))
		(*out)[--len] = '\0';
	if (!len) {
		tsarc_secure_free(*out, whole + 1);
		*out = NULL;
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': password_file %s is empty (to "
			"connect without a password, leave password_file out)", comp, path);
	}
	return 0;
}

/*
 * The value of the variable password_env names. Unset is an error, and so
 * is empty: an operator's empty variable is a mistake (a variable exported
 * before it was filled, a Secret's key that is empty), never a password.
 * Before, an empty one was skipped as "no value" while the component was
 * marked as having a password: the MySQL, PostgreSQL and redis-cli
 * commands were built from no password at all, or, with url_secret, the
 * Secret URL's password was used in its place without a word.
 */
static int password_env_value(const char *name, const char *comp, const char **out)
{
	const char *v = getenv(name);

	*out = NULL;
	if (!v)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': password_env names %s, "
			"which is not set", comp, name);
	if (!*v)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': password_env names %s, "
			"which is empty (to connect without a password, leave password_env out)",
			comp, name);
	*out = v;
	return 0;
}

/* The strings a tsarc_conn owns. */
static const size_t CONN_STRINGS[] = {
	offsetof(tsarc_conn, host), offsetof(tsarc_conn, user), offsetof(tsarc_conn, password),
	offsetof(tsarc_conn, database), offsetof(tsarc_conn, socket),
	offsetof(tsarc_conn, ssl_ca), offsetof(tsarc_conn, ssl_cert), offsetof(tsarc_conn, ssl_key),
};

void tsarc_conn_free(tsarc_conn *conn)
{
	TSARC_SECURE_FREE_FIELDS(conn, CONN_STRINGS);
	memset(conn, 0, sizeof(*conn));
}

static int set_str(char **dst, const char *src)
{
	char *s;

	/* redis://:password@host has an empty user: that is no user. */
	if (!src || !*src)
		return 0;
	if (!(s = strdup(src)))
		return nomem();
	tsarc_secure_free_str(*dst);
	*dst = s;
	return 0;
}

int tsarc_conn_resolve(tsarc_component *c, tsarc_conn *conn)
{
	return tsarc_conn_resolve_doc(c, conn, NULL);
}

int tsarc_conn_resolve_doc(tsarc_component *c, tsarc_conn *conn, cJSON **doc_out)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(c->spec, "url_secret");
	const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");
	cJSON *doc = NULL;
	int rc, without_url = 0;

	memset(conn, 0, sizeof(*conn));
	if (doc_out)
		*doc_out = NULL;
	if (c->external) {
		if (!secret || !key)
			return tsarc_error_set(TSARC_ECONFIG, "component '%s' is external but has no "
				"url_secret {\"secret\": ..., \"key\": ...}", c->name);
		rc = c->resources->get(c->resources, "secret", secret, &doc);
		if (rc == TSARC_ENOTFOUND) {
			/* No Secret at all: as one without the URL key, and as
			 * the restore decides (target.c). */
			if ((rc = tsarc_conn_secret_missing(c->spec, secret)) < 0)
				return rc;
			tsarc_error_clear();
			without_url = TSARC_SECRET_MISSING;
		} else if (rc) {
			tsarc_error_prefix("reading Secret %s", secret);
			return rc;
		}
		/* As the restore reads it (target.c): the zync Secret a
		 * migration's --skip-endpoint-secrets created without the
		 * source's DATABASE_URL failed the target's own backups ("Secret
		 * zync has no key DATABASE_URL") where the configuration names
		 * zync's server, which the restore wrote into. */
		if (doc && (without_url = tsarc_conn_secret_lacks_url(c->spec, doc)) != 0) {
			tsarc_secret_doc_free(doc);
			doc = NULL;
			if (without_url < 0)
				return without_url;
			without_url = TSARC_SECRET_NO_URL_KEY;
		}
	}
	/* The URL, the user, password and TLS keys of the Secret (dbconn.c:
	 * each error names the key it is of). */
	rc = tsarc_conn_from_secret(c, doc, conn);
	conn->secret_unused = rc ? TSARC_SECRET_USED : without_url;
	if (!rc && doc_out)
		*doc_out = doc;
	else
		tsarc_secret_doc_free(doc);
	return rc;
}

int tsarc_conn_secret_lacks_url(const cJSON *spec, const cJSON *doc)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(spec, "url_secret");
	const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");

	/* A key of data or stringData, as tsarc_secret_doc_value reads them. */
	if (!doc || !key || cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "data"), key)) ||
		cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(doc, "stringData"), key)))
		return 0;
	if (tsarc_conn_names_server(spec))
		return 1;
	return tsarc_error_set(TSARC_ENOTFOUND, "Secret %s has no key %s to say where the "
		"database is: fill it, or give the database's host (or socket), port, user, database "
		"and password_env or password_file in the configuration, which then says where it is",
		secret ? secret : "?", key);
}

int tsarc_conn_secret_missing(const cJSON *spec, const char *secret)
{
	if (tsarc_conn_names_server(spec))
		return 1;
	return tsarc_error_set(TSARC_ENOTFOUND, "there is no Secret %s to say where the database "
		"is: create it, or give the database's host (or socket), port, user, database and "
		"password_env or password_file in the configuration, which then says where it is",
		secret ? secret : "?");
}

int tsarc_conn_names_server(const cJSON *spec)
{
	return tsarc_spec_str(spec, "host") || tsarc_spec_str(spec, "socket");
}

void tsarc_conn_config_fields(const cJSON *spec, const tsarc_conn *conn, char *out, size_t size)
{
	static const char *const keys[] = {"host", "port", "socket", "user", "database",
		"password_env", "password_file", NULL};
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; keys[i]; i++) {
		if (!cJSON_GetObjectItemCaseSensitive(spec, keys[i]))
			continue;
		/* The configuration's user where the Secret's was used is not
		 * (docs/config.md: the profile's "root" of a pod never replaces
		 * a managed database's user). */
		if (conn && !strcmp(keys[i], "user") && conn->user_from != TSARC_USER_FROM_CONFIG)
			continue;
		if (len < size)
			len += (size_t)snprintf(out + len, size - len, "%s%s", len ? ", " : "", keys[i]);
	}
}

void tsarc_conn_sources(const cJSON *spec, const tsarc_conn *conn, char *out, size_t size)
{
	const char *ukey = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(spec, "url_secret"),
		"user_key");
	char fields[200];
	int len = 0;

	out[0] = '\0';
	if (conn->user && conn->user_from == TSARC_USER_FROM_URL)
		len = snprintf(out, size, ", the user from its URL");
	else if (conn->user && conn->user_from == TSARC_USER_FROM_USER_KEY)
		len = snprintf(out, size, ", the user from its key %s", ukey ? ukey : "?");
	tsarc_conn_config_fields(spec, conn, fields, sizeof(fields));
	if (fields[0] && len >= 0 && (size_t)len < size)
		snprintf(out + len, size - (size_t)len, "; from the configuration: %s", fields);
}

static int has_scheme(const char *const *list, const char *scheme)
{
	for (; *list; list++)
		if (!strcasecmp(*list, scheme))
			return 1;
	return 0;
}

/* Databases no kind connects to, by the scheme of their URL in 3scale's
 * Secrets, and what to do with one. */
static const struct {
	const char *scheme, *names;
} OTHER_DATABASES[] = {
	{"oracle-enhanced", "an Oracle database, which no kind connects to: back it up and "
		"restore it with an exec component of its own (docs/config.md, Example 6), and "
		"disable this one"},
};

/*
 * A URL of another database than the component's kind connects to is
 * refused before any client runs, naming the kind that does: a system on
 * PostgreSQL or Oracle has its system-database Secret's URL say so
 * (postgresql://, oracle-enhanced://), and before, system-mysql aimed
 * mysqldump at it and failed on the protocol, or at the port of another
 * server. The scheme is shown only where it is made of a scheme's
 * characters: the Secret is not ours.
 */
static int check_scheme(const tsarc_component *c, const char *scheme)
{
	const tsarc_kind *k = c->kind ? tsarc_kind_find(c->kind) : NULL, *other;
	char expected[128] = "";
	char shown[80] = "its scheme (not shown: not made of a scheme's characters)";
	size_t i, len = 0;

	if (!k || !k->url_schemes || has_scheme(k->url_schemes, scheme))
		return 0;
	for (i = 0; k->url_schemes[i] && len < sizeof(expected); i++)
		len += (size_t)snprintf(expected + len, sizeof(expected) - len, "%s%s://", i ? ", " : "",
			k->url_schemes[i]);
	if (tsarc_url_scheme_shown(scheme))
		snprintf(shown, sizeof(shown), "its scheme %s://", scheme);
	for (i = 0; (other = tsarc_kind_at(i)); i++)
		if (other->url_schemes && has_scheme(other->url_schemes, scheme))
			return tsarc_error_set(TSARC_ECONFIG, "%s names %s, which kind %s does not "
				"connect to (%s): a component of kind %s does", shown, other->url_names,
				k->name, expected, other->name);
	for (i = 0; i < sizeof(OTHER_DATABASES) / sizeof(OTHER_DATABASES[0]); i++)
		if (!strcasecmp(OTHER_DATABASES[i].scheme, scheme))
			return tsarc_error_set(TSARC_ECONFIG, "%s names %s", shown,
				OTHER_DATABASES[i].names);
	return tsarc_error_set(TSARC_ECONFIG, "%s is not one kind %s connects to (%s)", shown,
		k->name, expected);
}

int tsarc_conn_url_only(const tsarc_component *c, const char *url, tsarc_conn *conn)
{
	int rc = 0;

	memset(conn, 0, sizeof(*conn));
	if (url) {
		tsarc_url u;
		if ((rc = tsarc_url_parse(url, &u)))
			return rc;
		if ((rc = check_scheme(c, u.scheme)) || (rc = set_str(&conn->host, u.host)) ||
			(rc = set_str(&conn->user, u.user)) || (rc = set_str(&conn->password, u.password))) {
			tsarc_url_free(&u);
			goto fail;
		}
		conn->has_password = u.password != NULL;
		if (conn->user)
			conn->user_from = TSARC_USER_FROM_URL;
		conn->port = u.port;
		/* rediss:// is Redis over TLS: a client of ours that reads
		 * this conn (redis-cli) must not send its password in clear. */
		if (!strcmp(u.scheme, "rediss"))
			conn->tls_mode = TSARC_TLS_VERIFY_FULL;
		/* mysql2://.../system, postgresql://.../zync_production; a Redis
		 * URL's path is a db number, meaningless for a whole-server RDB. */
		if (u.path && *u.path && (rc = set_str(&conn->database, u.path))) {
			tsarc_url_free(&u);
			goto fail;
		}
		tsarc_url_free(&u);
	}
	return 0;
fail:
	tsarc_conn_free(conn);
	return rc;
}

int tsarc_conn_fields_over(const tsarc_component *c, tsarc_conn *conn)
{
	const cJSON *spec = c->spec;
	const char *s;
	int rc, port;

	/* Explicit fields win over the Secret's URL: the address the cluster
	 * sees is not always the one this host reaches. */
	if ((rc = set_str(&conn->host, tsarc_spec_str(spec, "host"))) ||
		(rc = set_str(&conn->user, tsarc_spec_str(spec, "user"))) ||
		(rc = set_str(&conn->database, tsarc_spec_str(spec, "database"))) ||
		(rc = set_str(&conn->socket, tsarc_spec_str(spec, "socket"))))
		goto fail;
	if (tsarc_spec_str(spec, "user"))
		conn->user_from = TSARC_USER_FROM_CONFIG;
	/* A profile's name for the database (system, zync_production) is the
	 * one of a pod, whose Secret is not read: where a URL names another,
	 * that is where 3scale keeps its data. */
	if (!conn->database &&
		(rc = set_str(&conn->database, tsarc_spec_str(spec, "default_database"))))
		goto fail;
	if ((rc = tsarc_spec_port(spec, "port", c->name, &port)))
		goto fail;
	if (port)
		conn->port = port;
	if ((s = tsarc_spec_str(spec, "password_env"))) {
		const char *v;
		if ((rc = password_env_value(s, c->name, &v)) || (rc = set_str(&conn->password, v)))
			goto fail;
		conn->has_password = 1;
	} else if ((s = tsarc_spec_str(spec, "password_file"))) {
		char *pw = NULL;
		if ((rc = read_password_file(s, c->name, &pw)))
			goto fail;
		tsarc_secure_free_str(conn->password);
		conn->password = pw;
		conn->has_password = 1;
	}
	return 0;
fail:
	tsarc_conn_free(conn);
	return rc;
}

int tsarc_conn_from_url(const tsarc_component *c, const char *url, tsarc_conn *conn)
{
	int rc = tsarc_conn_url_only(c, url, conn);

	return rc ? rc : tsarc_conn_fields_over(c, conn);
}

int tsarc_conn_dup(const tsarc_conn *from, tsarc_conn *to)
{
	int rc;

	memset(to, 0, sizeof(*to));
	if ((rc = set_str(&to->host, from->host)) || (rc = set_str(&to->user, from->user)) ||
		(rc = set_str(&to->password, from->password)) ||
		(rc = set_str(&to->database, from->database)) ||
		(rc = set_str(&to->socket, from->socket)) ||
		(rc = set_str(&to->ssl_ca, from->ssl_ca)) ||
		(rc = set_str(&to->ssl_cert, from->ssl_cert)) ||
		(rc = set_str(&to->ssl_key, from->ssl_key))) {
		tsarc_conn_free(to);
		return rc;
	}
	to->tls_mode = from->tls_mode;
	to->port = from->port;
	to->has_password = from->has_password;
	to->user_from = from->user_from;
	to->secret_unused = from->secret_unused;
	return 0;
}
