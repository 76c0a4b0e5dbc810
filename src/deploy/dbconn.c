/*
 * Users and TLS of managed databases (dbconn.h): the Secret's keys, the
 * private files a client reads its CA, certificate and key from, and the
 * client options that use them.
 */
#include "dbconn.h"
#include "error_save.h"
#include "fileio.h"
#include "fmt.h"
#include "names.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"
#include "wipe.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int nomem(void)
{
	return tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

/* libpq's spellings first: they are the ones printed (PGSSLMODE); MySQL's
 * and the aliases after them parse to the same modes. */
static const tsarc_name TLS_MODES[] = {
	{TSARC_TLS_DISABLE, "disable"}, {TSARC_TLS_DISABLE, "disabled"},
	{TSARC_TLS_PREFER, "prefer"}, {TSARC_TLS_PREFER, "preferred"},
	{TSARC_TLS_PREFER, "allow"},
	{TSARC_TLS_REQUIRE, "require"}, {TSARC_TLS_REQUIRE, "required"},
	{TSARC_TLS_VERIFY_CA, "verify-ca"}, {TSARC_TLS_VERIFY_CA, "verify_ca"},
	{TSARC_TLS_VERIFY_FULL, "verify-full"}, {TSARC_TLS_VERIFY_FULL, "verify_identity"},
	{TSARC_TLS_VERIFY_FULL, "verify_full"},
};

int tsarc_tls_mode_parse(const char *text, const char *what, tsarc_tls_mode *out)
{
	int v;

	*out = TSARC_TLS_UNSET;
	if (!text || !*text)
		return 0;
	if (tsarc_name_find(TLS_MODES, TSARC_NAMES_COUNT(TLS_MODES), text, 1, &v)) {
		*out = (tsarc_tls_mode)v;
		return 0;
	}
	return tsarc_error_set(TSARC_ECONFIG, "%s is not a TLS mode (disabled, preferred, "
		"required, verify_ca, verify_identity, or libpq's disable ... verify-full)", what);
}

tsarc_tls_mode tsarc_conn_tls_mode(const tsarc_conn *conn)
{
	/* A CA is given to be checked against: "require" with one is
	 * verify-ca, as libpq makes it whenever its root certificate file
	 * exists. MySQL's REQUIRED would encrypt and trust any server. */
	if (conn->tls_mode == TSARC_TLS_REQUIRE && conn->ssl_ca)
		return TSARC_TLS_VERIFY_CA;
	if (conn->tls_mode != TSARC_TLS_UNSET)
		return (tsarc_tls_mode)conn->tls_mode;
	return conn->ssl_ca ? TSARC_TLS_VERIFY_CA : TSARC_TLS_UNSET;
}

const char *tsarc_tls_mode_name(tsarc_tls_mode m)
{
	return tsarc_name_of(TLS_MODES, TSARC_NAMES_COUNT(TLS_MODES), (int)m, "unset");
}

/* An optional key of the Secret: *out NULL when it has none (or it is
 * empty: the operator writes empty optional keys); `pem`: a PEM file's
 * contents (tsarc_secret_doc_pem). */
static int optional_key(const cJSON *doc, const char *secret, const cJSON *ref, const char *field,
	int pem, char **out)
{
	const char *key = tsarc_spec_str(ref, field);

	*out = NULL;
	if (!key)
		return 0;
	return pem ? tsarc_secret_doc_pem(doc, secret, key, out) :
		tsarc_secret_doc_optional(doc, secret, key, out);
}

/* The value of query parameter `name` of a URL, or NULL. */
static char *url_query_param(const char *url, const char *name)
{
	const char *q = strstr(url, "://"), *p;
	size_t nlen = strlen(name);

	if (!q || !(q = strchr(q + 3, '?')))
		return NULL;
	for (p = q + 1; *p && *p != '#';) {
		size_t len = strcspn(p, "&#");
		if (len > nlen && !strncmp(p, name, nlen) && p[nlen] == '=')
			return strndup(p + nlen + 1, len - nlen - 1);
		p += len;
		if (*p == '&')
			p++;
	}
	return NULL;
}

/* An error `rc` of the Secret's URL, prefixed with where the URL is (an
 * error of another key names that key itself). */
static int url_error(int rc, const cJSON *doc, const char *secret, const char *key)
{
	if (rc && doc)
		tsarc_error_prefix("Secret %s, key %s", secret, key);
	return rc;
}

int tsarc_conn_from_secret(const tsarc_component *c, const cJSON *doc, tsarc_conn *conn)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(c->spec, "url_secret");
	const cJSON *tls = cJSON_GetObjectItemCaseSensitive(ref, "tls");
	const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");
	int own_password = tsarc_spec_str(c->spec, "password_env") ||
		tsarc_spec_str(c->spec, "password_file");
	char *url = NULL, *user = NULL, *pw = NULL, *mode = NULL, *urlmode = NULL;
	char *pem[3] = {NULL, NULL, NULL};
	static const char *const pem_keys[3] = {"ca", "cert", "key"};
	char *secret_user = NULL, *secret_pw = NULL;
	int rc, i, has_secret_pw = 0, secret_user_from = TSARC_USER_FROM_URL;
	tsarc_tls_mode m;
	char what[300];

	memset(conn, 0, sizeof(*conn));
	if (doc) {
		if ((rc = tsarc_secret_doc_value(doc, secret, key, &url)))
			return rc;
		if ((rc = optional_key(doc, secret, ref, "user_key", 0, &user)) ||
			(rc = optional_key(doc, secret, ref, "password_key", 0, &pw)) ||
			(rc = optional_key(doc, secret, tls, "mode", 0, &mode)))
			goto out;
		for (i = 0; i < 3; i++)
			if ((rc = optional_key(doc, secret, tls, pem_keys[i], 1, &pem[i])))
				goto out;
	}
	/* The configuration's errors (an unreadable password_file) name
	 * themselves, not the Secret's URL. */
	if ((rc = url_error(tsarc_conn_url_only(c, url, conn), doc, secret, key)) ||
		(rc = tsarc_conn_fields_over(c, conn)))
		goto out;
	if (url) {
		tsarc_url u;
		/* The Secret's own user and password, URL first. */
		if ((rc = url_error(tsarc_url_parse(url, &u), doc, secret, key)))
			goto out;
		if (u.user && *u.user) {
			secret_user = u.user;
			u.user = NULL;
			if (u.password) {
				secret_pw = u.password;
				u.password = NULL;
				has_secret_pw = 1;
			} else if (pw && (!user || !strcmp(user, secret_user))) {
				/* The password of the URL's user kept apart. */
				secret_pw = pw;
				pw = NULL;
				has_secret_pw = 1;
			}
		} else if (user) {
			secret_user = user;
			secret_user_from = TSARC_USER_FROM_USER_KEY;
			user = NULL;
			if (pw) {
				secret_pw = pw;
				pw = NULL;
				has_secret_pw = 1;
			}
		}
		tsarc_url_free(&u);
		if (secret_user && !own_password) {
			free(conn->user);
			tsarc_secure_free_str(conn->password);
			conn->user = secret_user;
			conn->password = secret_pw;
			conn->has_password = has_secret_pw;
			conn->user_from = secret_user_from;
			secret_user = secret_pw = NULL;
		}
		urlmode = url_query_param(url, "sslmode");
		if (!urlmode)
			urlmode = url_query_param(url, "ssl_mode");
	}
	snprintf(what, sizeof(what), "Secret %s, key %s", secret ? secret : "?",
		mode ? tsarc_spec_str(tls, "mode") : "URL (sslmode)");
	if ((rc = tsarc_tls_mode_parse(mode ? mode : urlmode, what, &m)))
		goto out;
	/* No mode given: the URL's scheme may ask for TLS (rediss://). */
	if (m != TSARC_TLS_UNSET)
		conn->tls_mode = (int)m;
	conn->ssl_ca = pem[0];
	conn->ssl_cert = pem[1];
	conn->ssl_key = pem[2];
	pem[0] = pem[1] = pem[2] = NULL;
	if ((conn->ssl_cert != NULL) != (conn->ssl_key != NULL)) {
		rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': Secret %s gives a client "
			"certificate without its key, or a key without its certificate", c->name,
			secret);
		goto out;
	}
out:
	if (rc)
		tsarc_conn_free(conn);
	tsarc_secure_free_str(url);
	tsarc_secure_free_str(user);
	tsarc_secure_free_str(pw);
	tsarc_secure_free_str(secret_user);
	tsarc_secure_free_str(secret_pw);
	free(mode);
	free(urlmode);
	for (i = 0; i < 3; i++)
		tsarc_secure_free_str(pem[i]);
	return rc;
}

/* ---- the private files ---- */

/* The files of a client's TLS in tsarc_db_tls's order: the name in the
 * private folder, the MySQL client's option (the path follows it) and libpq's
 * variable. */
static const struct {
	const char *name, *mysql, *pg;
} TLS_FILE[TSARC_DB_TLS_FILES] = {
	{"ca.pem", "--ssl-ca=", "PGSSLROOTCERT"},
	{"cert.pem", "--ssl-cert=", "PGSSLCERT"},
	{"key.pem", "--ssl-key=", "PGSSLKEY"},
};

static int write_private(const char *dir, const char *name, const char *data, char **path)
{
	int fd, rc = 0;

	if (!(*path = tsarc_dup_printf("%s/%s", dir, name)))
		return TSARC_ENOMEM;
	fd = open(*path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = tsarc_error_set(TSARC_EIO, "cannot create %s: %s", *path, strerror(errno));
		free(*path);
		*path = NULL;
		return rc;
	}
	if (tsarc_write_all(fd, data, strlen(data)) != 0)
		rc = tsarc_error_set(TSARC_EIO, "cannot write %s: %s", *path, strerror(errno));
	/* A PEM without its last newline is read by OpenSSL all the same. */
	if (close(fd) != 0 && !rc)
		rc = tsarc_error_set(TSARC_EIO, "cannot write %s: %s", *path, strerror(errno));
	return rc;
}

static void free_tls(tsarc_db_tls *t)
{
	int i;

	for (i = 0; i < TSARC_DB_TLS_FILES; i++)
		free(t->path[i]);
	free(t);
}

/* An empty private folder, *out. */
static int tls_make(tsarc_db_tls **out)
{
	tsarc_db_tls *t = calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	if (!t)
		return nomem();
	/* Removed on a signal, and by the next tsarc after a SIGKILL; the
	 * key overwritten with zeros first (privdir.h). */
	if ((rc = tsarc_privdir_make(&t->pd, TSARC_PRIVDIR_TLS, "TLS files of a database client"))) {
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

/* The error `rc` of filling `t`, after removing it. */
static int tls_drop(tsarc_db_tls *t, int rc)
{
	(void)tsarc_privdir_remove(&t->pd); /* `rc` is the one to report */
	free_tls(t);
	return rc;
}

int tsarc_db_tls_open(const tsarc_conn *conn, tsarc_db_tls **out)
{
	const char *pem[TSARC_DB_TLS_FILES] = {conn->ssl_ca, conn->ssl_cert, conn->ssl_key};
	tsarc_db_tls *t = NULL;
	int i, rc = 0;

	*out = NULL;
	if (!conn->ssl_ca && !conn->ssl_cert && !conn->ssl_key)
		return 0;
	if ((rc = tls_make(&t)))
		return rc;
	for (i = 0; !rc && i < TSARC_DB_TLS_FILES; i++)
		if (pem[i])
			rc = write_private(t->pd.path, TLS_FILE[i].name, pem[i], &t->path[i]);
	if (rc)
		return tls_drop(t, rc);
	*out = t;
	return 0;
}

/* MariaDB's client (libmariadb 3.3, 10.11) gives the password itself to
 * any server that asks for it by an auth switch to mysql_clear_password or
 * dialog, in clear without TLS and over TLS it did not check: whoever can
 * pass for the database host gets it. Its restricted-auth cannot be set
 * (mariadb and mariadb-dump refuse the option, command line or [client],
 * and drop it as loose-restricted-auth: measured), but the plugins are
 * files the client loads from its plugin folder. So unless the server is
 * verified, the client's plugin folder is the private one, holding links
 * to the plugins below only; MySQL's clients have them built in, and
 * refuse clear text anyway unless --enable-cleartext-plugin, which tsarc
 * never gives. The links are what the sweep and the removal unlink
 * (privdir.c never writes through a link).
 * caching_sha2_password and sha256_password give the password away too
 * (measured against tests/sql/hostile_mysql.py): a server that switches to
 * the first and asks for "full authentication" gets it as is (the client's
 * ssl is on by default and it believes the channel secure, TLS agreed or
 * not) or, with --skip-ssl, encrypted to whatever public key the server
 * sends; the second sends it over TLS it did not check, else encrypted to
 * the server's key. Any server may switch any account to them, so over TCP
 * to a server not verified they are not linked: only the first
 * MYSQL_PLUGINS_TCP. Over this host's Unix socket there is no network peer
 * to pass for the server, and MySQL 8's accounts keep them. */
static const char *const MYSQL_PLUGINS[] = {
	"client_ed25519", "auth_gssapi_client", "parsec", "caching_sha2_password",
	"sha256_password",
};
enum { MYSQL_PLUGINS_TCP = 3 };

/* Debian's and Ubuntu's folder is per architecture: this build's. */
#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define MULTIARCH "powerpc64le-linux-gnu"
#elif defined(__s390x__)
#define MULTIARCH "s390x-linux-gnu"
#else
#define MULTIARCH "unknown"
#endif

/* Where MariaDB's client finds its plugins, after MARIADB_PLUGIN_DIR:
 * Debian's and Ubuntu's, Fedora's and RHEL's, Alpine's, a source build's.
 * None found: only mysql_native_password (built in) logs in, and a server
 * that asks for another plugin is refused with the plugin's name. */
static const char *const MYSQL_PLUGIN_DIRS[] = {
	"/usr/lib/" MULTIARCH "/libmariadb3/plugin", "/usr/lib64/mariadb/plugin",
	"/usr/lib/mariadb/plugin", "/usr/local/lib/mariadb/plugin", "/usr/local/mysql/lib/plugin",
};

/* Links the first `n` MYSQL_PLUGINS found in `dir` into `t`; how many. */
static int link_plugins(tsarc_db_tls *t, const char *dir, size_t n, int *linked)
{
	size_t i;

	*linked = 0;
	for (i = 0; i < n; i++) {
		char *from = tsarc_dup_printf("%s/%s.so", dir, MYSQL_PLUGINS[i]), *to;
		int rc = 0;

		if (!from)
			return nomem();
		if (access(from, R_OK) == 0) {
			if (!(to = tsarc_dup_printf("%s/%s.so", t->pd.path, MYSQL_PLUGINS[i])))
				rc = nomem();
			else if (symlink(from, to) != 0)
				rc = tsarc_error_set(TSARC_EIO, "cannot link %s: %s", to, strerror(errno));
			else
				(*linked)++;
			free(to);
		}
		free(from);
		if (rc)
			return rc;
	}
	return 0;
}

/* The plugins left out, what each would do with the password and whose
 * accounts use it. */
static const struct {
	const char *name, *does, *who;
	int tcp_only; /* left out over TCP only (MYSQL_PLUGINS past MYSQL_PLUGINS_TCP) */
} MYSQL_REFUSED[] = {
	{"mysql_clear_password", "sends the password itself", "LDAP, PAM, IAM tokens", 0},
	{"dialog", "sends the password itself to a password question", "PAM", 0},
	{"caching_sha2_password", "sends it, when the server asks for full authentication, as is "
		"or encrypted to whatever key the server sends", "MySQL 8's default", 1},
	{"sha256_password", "sends it over TLS it did not check, or encrypted to whatever key the "
		"server sends", "MySQL's SHA-256 accounts", 1},
};

/*
 * MariaDB's client from 11.4 (Connector/C 3.4: Debian 13's, the image's)
 * checks the server's certificate by default, but takes it on trust,
 * unchecked, where the host is 127.0.0.1 or ::1 (its "local connection",
 * where it never checks the name either) and it was given no CA (--ssl-ca
 * or --ssl-capath): so "required" and "verify_identity" without the
 * Secret's CA logged in to whatever listens there (a MySQL 9.7 whose
 * certificate only MySQL's own CA signed), and gave the password itself
 * to one that asked with mysql_clear_password (measured with
 * tests/sql/hostile_mysql.py; 10.11 refused both, "unable to get local
 * issuer certificate"). Such a client is given the system's CA folder,
 * the one it would check another host against: $SSL_CERT_DIR, else
 * OpenSSL's (Debian's /usr/lib/ssl/certs). Any other spelling of the
 * address is checked by the client as it is.
 */
static int loopback_unchecked(const tsarc_conn *conn)
{
	return !conn->ssl_ca && conn->host && !tsarc_mysql_over_socket(conn) &&
		(!strcmp(conn->host, "127.0.0.1") || !strcmp(conn->host, "::1"));
}

static const char *system_ca_dir(void)
{
	const char *env = getenv(X509_get_default_cert_dir_env());

	return env && *env ? env : X509_get_default_cert_dir();
}

int tsarc_mysql_explain(const tsarc_db_tls *t, int rc)
{
	const char *m;
	char want[80];
	size_t i;

	if (!rc || !t || (!t->plugin_dir && !t->system_cas))
		return rc;
	m = tsarc_error_last()->message;
	/* The certificate refused (MariaDB's words, then MySQL's). */
	if (t->system_cas && (strstr(m, "TLS/SSL error") ||
		strstr(m, "SSL connection error")))
		return tsarc_error_set(rc, "%s\n  the server, at 127.0.0.1 or ::1, was checked "
			"against this system's CAs (%s), as the Secret gives no DB_SSL_CA (MariaDB's "
			"client from 11.4 takes a server there on trust otherwise): give the CA that "
			"signed its certificate in DB_SSL_CA", m, system_ca_dir());
	for (i = 0; i < sizeof(MYSQL_REFUSED) / sizeof(*MYSQL_REFUSED); i++) {
		snprintf(want, sizeof(want), "Plugin %s could not be loaded", MYSQL_REFUSED[i].name);
		if ((!MYSQL_REFUSED[i].tcp_only || !t->over_socket) && strstr(m, want))
			return tsarc_error_set(rc, "%s\n  the server asked for %s over a connection whose "
				"server is not verified: refused, the password was not sent (%s %s). "
				"Accounts that log in with %s (%s) need a verified server: "
				"DATABASE_SSL_MODE required or verify_identity, DB_SSL_CA for a private CA",
				m, MYSQL_REFUSED[i].name, MYSQL_REFUSED[i].name,
				MYSQL_REFUSED[i].does, MYSQL_REFUSED[i].name, MYSQL_REFUSED[i].who);
	}
	return rc;
}

int tsarc_mysql_client_verifies(const tsarc_conn *conn)
{
	/* Every mode from required up gives MariaDB's client
	 * --ssl-verify-server-cert (tsarc_mysql_tls_args). */
	return tsarc_conn_tls_mode(conn) >= TSARC_TLS_REQUIRE;
}

int tsarc_mysql_over_socket(const tsarc_conn *conn)
{
	/* MariaDB's client (10.11, measured) takes --socket with the host
	 * "localhost" (that spelling only) or none, and TCP for any other
	 * name, 127.0.0.1 and ::1 included, socket given or not.
	 * tsarc_mysql_tls_args pins it (--protocol=SOCKET, and --host=localhost
	 * when there is no host) against an option file's host or protocol. */
	return conn->socket && *conn->socket &&
		(!conn->host || !*conn->host || !strcmp(conn->host, "localhost"));
}

int tsarc_mysql_files_open(const tsarc_conn *conn, int on_host, tsarc_db_tls **out)
{
	const char *env = getenv("MARIADB_PLUGIN_DIR");
	tsarc_db_tls *t;
	size_t i, n;
	int rc, linked = 0;

	if ((rc = tsarc_db_tls_open(conn, out)) || !on_host)
		return rc;
	if (tsarc_mysql_client_verifies(conn)) {
		if (!loopback_unchecked(conn))
			return 0;
		if (!*out && (rc = tls_make(out)))
			return rc;
		(*out)->system_cas = 1;
		return 0;
	}
	if (!*out && (rc = tls_make(out)))
		return rc;
	t = *out;
	t->plugin_dir = 1;
	t->over_socket = tsarc_mysql_over_socket(conn);
	n = t->over_socket ? sizeof(MYSQL_PLUGINS) / sizeof(*MYSQL_PLUGINS) : MYSQL_PLUGINS_TCP;
	if (env && *env == '/')
		rc = link_plugins(t, env, n, &linked);
	for (i = 0; !rc && !linked && i < sizeof(MYSQL_PLUGIN_DIRS) / sizeof(*MYSQL_PLUGIN_DIRS); i++)
		rc = link_plugins(t, MYSQL_PLUGIN_DIRS[i], n, &linked);
	if (rc) {
		*out = NULL;
		return tls_drop(t, rc);
	}
	return 0;
}

int tsarc_db_tls_close(tsarc_db_tls *t)
{
	int rc;

	if (!t)
		return 0;
	rc = tsarc_privdir_remove(&t->pd);
	free_tls(t);
	return rc ? tsarc_error_set(TSARC_EIO, "cannot remove the TLS files of a database "
		"client") : 0;
}

/* ---- client options ---- */

int tsarc_mysql_tls_args(tsarc_cmd *cmd, const tsarc_conn *conn, const tsarc_db_tls *t)
{
	tsarc_tls_mode m = tsarc_conn_tls_mode(conn);
	int i, rc = 0;

	/* A host and no socket the client takes: TCP, said. MySQL's own
	 * client (9.7, measured) takes its default socket for the host
	 * "localhost" whatever --port says (MariaDB's takes TCP when a port
	 * is given): a component at localhost:3307 was dumped from, or loaded
	 * into, the server of this host's socket. */
	if (conn->host && *conn->host && !tsarc_mysql_over_socket(conn) &&
		(rc = tsarc_cmd_arg(cmd, "--protocol=TCP")))
		return rc;
	switch (m) {
	case TSARC_TLS_DISABLE:
		rc = tsarc_cmd_arg(cmd, "--loose-ssl-mode=DISABLED");
		if (!rc)
			rc = tsarc_cmd_arg(cmd, "--loose-skip-ssl");
		break;
	case TSARC_TLS_UNSET:
	case TSARC_TLS_PREFER:
		/* No mode is what 3scale's own client does (mysql2, libmysqlclient's
		 * PREFERRED): TLS where the server offers it, the server unchecked.
		 * Said to each client, whose defaults differ: MariaDB's before 11.4
		 * uses no TLS, and its --ssl goes on in clear where none is
		 * offered; from 11.4 (Debian 13's) it requires TLS and checks the
		 * server, refusing a server without TLS ("SSL is required, but the
		 * server does not support it") unless told not to check. */
		if (!(rc = tsarc_cmd_arg(cmd, "--loose-ssl-mode=PREFERRED")) &&
			!(rc = tsarc_cmd_arg(cmd, "--loose-ssl")))
			rc = tsarc_cmd_arg(cmd, "--loose-skip-ssl-verify-server-cert");
		break;
	case TSARC_TLS_REQUIRE:
		/* MySQL's client: encrypted, the server unchecked. MariaDB's has
		 * no such mode: its --ssl goes on in clear where the server (or
		 * someone in between) offers no TLS (10.11, measured), and only
		 * --ssl-verify-server-cert makes it refuse that. So MariaDB's
		 * checks the server (against the system's CAs when the Secret
		 * gives none) rather than ever dumping in clear. */
		if (!(rc = tsarc_cmd_arg(cmd, "--loose-ssl-mode=REQUIRED")) &&
			!(rc = tsarc_cmd_arg(cmd, "--loose-ssl")))
			rc = tsarc_cmd_arg(cmd, "--loose-ssl-verify-server-cert");
		break;
	case TSARC_TLS_VERIFY_CA:
	case TSARC_TLS_VERIFY_FULL:
		/* MariaDB's client has one check, chain and host name both. */
		if (!(rc = tsarc_cmd_arg(cmd, m == TSARC_TLS_VERIFY_CA ?
			      "--loose-ssl-mode=VERIFY_CA" : "--loose-ssl-mode=VERIFY_IDENTITY")) &&
			!(rc = tsarc_cmd_arg(cmd, "--loose-ssl")))
			rc = tsarc_cmd_arg(cmd, "--loose-ssl-verify-server-cert");
		break;
	}
	for (i = 0; !rc && t && i < TSARC_DB_TLS_FILES; i++)
		if (t->path[i])
			rc = tsarc_cmd_argf(cmd, "%s%s", TLS_FILE[i].mysql, t->path[i]);
	if (!rc && t && t->system_cas)
		rc = tsarc_cmd_argf(cmd, "--ssl-capath=%s", system_ca_dir());
	/* On the command line: it wins over a plugin-dir of the option files
	 * the client reads (~/.my.cnf, included by tsarc's own). */
	if (!rc && t && t->plugin_dir)
		rc = tsarc_cmd_argf(cmd, "--plugin-dir=%s", t->pd.path);
	/* The socket's plugin list is for the socket only: an option file's
	 * protocol=tcp, or its host when none is given, would make it TCP. */
	if (!rc && t && t->over_socket)
		rc = tsarc_cmd_arg(cmd, "--protocol=SOCKET");
	if (!rc && t && t->over_socket && (!conn->host || !*conn->host))
		rc = tsarc_cmd_arg(cmd, "--host=localhost");
	return rc;
}

int tsarc_pg_tls_env(tsarc_cmd *cmd, const tsarc_conn *conn, const tsarc_db_tls *t)
{
	tsarc_tls_mode m = tsarc_conn_tls_mode(conn);
	int i, rc = 0;

	if (m != TSARC_TLS_UNSET)
		rc = tsarc_cmd_env(cmd, "PGSSLMODE", tsarc_tls_mode_name(m));
	for (i = 0; !rc && t && i < TSARC_DB_TLS_FILES; i++)
		if (t->path[i])
			rc = tsarc_cmd_env(cmd, TLS_FILE[i].pg, t->path[i]);
	return rc;
}

/* 'text' as a SQL string literal that no quoting can break out of: a hex
 * literal converted to the connection's characters. */
static int sql_hex_literal(tsarc_buf *b, const char *text, const char *wrap_open,
	const char *wrap_close)
{
	static const char hex[] = "0123456789abcdef";
	int rc = tsarc_buf_puts(b, wrap_open);
	const unsigned char *p;

	for (p = (const unsigned char *)text; !rc && *p; p++) {
		char two[2] = {hex[*p >> 4], hex[*p & 15]};
		rc = tsarc_buf_append(b, two, 2);
	}
	return rc ? rc : tsarc_buf_puts(b, wrap_close);
}

/* `select` followed by `name` as a hex literal between `open` and `close`,
 * into *out (the caller frees it). */
static int lookup_query(const char *select, const char *name, const char *open,
	const char *close, char **out)
{
	tsarc_buf b = TSARC_BUF_INIT;
	int rc;

	*out = NULL;
	if ((rc = tsarc_buf_puts(&b, select)) || (rc = sql_hex_literal(&b, name, open, close)) ||
		!(*out = tsarc_buf_detach(&b))) {
		tsarc_buf_dispose(&b);
		return rc ? rc : nomem();
	}
	return 0;
}

int tsarc_mysql_charset_query(const char *database, char **out)
{
	return lookup_query("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
		"FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ", database, "CONVERT(X'",
		"' USING utf8mb4)", out);
}

/*
 * The visibility check reads the privileges of the dump's own session from
 * the server's own account of them, SHOW GRANTS: on MariaDB it lists the
 * user's grants, those of the role enabled in the session (the default
 * role, enabled at login) and of every role that role holds, and those to
 * PUBLIC (10.11), and nothing of a role granted but not enabled; which is
 * what mysqldump's session holds. information_schema's privilege tables
 * show the user's own grants only (MariaDB 10.11, measured: with a role
 * enabled, its rows are not there), so the check once gave up wherever a
 * role was enabled, and passed a user missing TRIGGER; and it never saw
 * PUBLIC, and refused a user who held TRIGGER through it.
 *
 * Each "GRANT privileges ON object TO grantee" line becomes a row of the
 * query's table g: its level (l: g global, d database, t table, r a
 * routine, its privileges not counted), the privileges that matter here
 * (p: ",SELECT,TRIGGER,", "ALL" for ALL PRIVILEGES; a column's grant is
 * not the table's), the database (s: a pattern at level d, as LIKE reads
 * it), the table (t) and the grantee's name (w). The names go as hex
 * literals; the privileges are from the list below only.
 *
 * MySQL's SHOW GRANTS shows a session the privileges of its active roles
 * as the user's own, with a line "GRANT `role`@`%` TO `user`@`%`" for each
 * role (9.7 measured, an RDS admin's rds_superuser_role; the session's
 * roles not active, neither line shows them). MariaDB's shows a role's
 * grants to the role, and a role by its name alone, without a host. A role
 * granted in MySQL's form is so a row of level o (its privileges are on
 * the user's rows, the row holds none) naming the role: its grants are
 * read. Before, MySQL's role went for one whose grants SHOW GRANTS does
 * not show, and both checks gave up for any user with a role.
 */
static const struct {
	const char *shown, *as;
} VISIBLE_PRIVS[] = {
	{"SELECT", "SELECT"}, {"TRIGGER", "TRIGGER"}, {"EXECUTE", "EXECUTE"},
	{"ALTER ROUTINE", "ALTER ROUTINE"}, {"SHOW CREATE ROUTINE", "SHOW CREATE ROUTINE"},
	{"SHOW_ROUTINE", "SHOW_ROUTINE"}, {"SUPER", "SUPER"}, {"ALL PRIVILEGES", "ALL"},
	{"ALL", "ALL"},
};

/* Where `stop` (a word between spaces) starts in `p` outside quotes and
 * parentheses, or NULL. */
static const char *grant_find(const char *p, const char *stop)
{
	size_t n = strlen(stop);
	int depth = 0;
	char q = 0;

	for (; *p; p++) {
		if (q) {
			if (*p == q)
				q = 0;
		} else if (*p == '`' || *p == '\'' || *p == '"') {
			q = *p;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			depth--;
		} else if (!depth && !strncmp(p, stop, n)) {
			return p;
		}
	}
	return NULL;
}

/* A name at *pp, `quoted` (`` inside is one `), 'quoted' or a bare word,
 * into out; *pp moves past it. 0 when there is none or it is too long. */
static int grant_name(const char **pp, char *out, size_t outsz)
{
	const char *p = *pp;
	size_t n = 0;

	if (*p == '`' || *p == '\'') {
		char q = *p++;
		for (;; p++) {
			if (!*p)
				return 0;
			if (*p == q) {
				if (p[1] != q)
					break;
				p++;
			}
			if (n + 1 >= outsz)
				return 0;
			out[n++] = *p;
		}
		p++;
	} else {
		while (*p && *p != '.' && *p != ' ' && *p != '@') {
			if (n + 1 >= outsz)
				return 0;
			out[n++] = *p++;
		}
		if (!n)
			return 0;
	}
	out[n] = '\0';
	*pp = p;
	return 1;
}

/* The relevant privileges of "SELECT, SHOW VIEW, TRIGGER" (len bytes) as
 * ",SELECT,TRIGGER," into out. */
static void grant_privs(const char *p, size_t len, char *out, size_t outsz)
{
	const char *end = p + len;

	snprintf(out, outsz, ",");
	while (p < end) {
		const char *comma = p;
		int depth = 0;
		size_t i, n;
		while (comma < end && (depth || *comma != ',')) {
			depth += *comma == '(' ? 1 : *comma == ')' ? -1 : 0;
			comma++;
		}
		while (p < comma && *p == ' ')
			p++;
		n = (size_t)(comma - p);
		while (n && p[n - 1] == ' ')
			n--;
		for (i = 0; i < sizeof(VISIBLE_PRIVS) / sizeof(VISIBLE_PRIVS[0]); i++)
			if (strlen(VISIBLE_PRIVS[i].shown) == n &&
				!strncasecmp(p, VISIBLE_PRIVS[i].shown, n) && !memchr(p, '(', n)) {
				size_t at = strlen(out);
				snprintf(out + at, outsz - at, "%s,", VISIBLE_PRIVS[i].as);
			}
		p = comma + (comma < end);
	}
}

/* A row of g. */
static void grant_emit(tsarc_buf *b, char level, const char *privs, const char *db,
	const char *tbl, const char *who)
{
	tsarc_buf_printf(b, " UNION ALL SELECT '%c', '%s', ", level, privs);
	sql_hex_literal(b, db, "CONVERT(X'", "' USING utf8mb4), ");
	sql_hex_literal(b, tbl, "CONVERT(X'", "' USING utf8mb4), ");
	sql_hex_literal(b, who, "CONVERT(X'", "' USING utf8mb4)");
}

/* "`role`@`host`, ... TO" at p (to: where " TO " starts), MySQL's grant
 * of roles: a row of level o for each (above); how many. */
static int grant_roles(tsarc_buf *b, const char *p, const char *to)
{
	char role[256], host[256];
	int rows = 0;

	while (grant_name(&p, role, sizeof(role)) && *p == '@') {
		p++;
		if (!grant_name(&p, host, sizeof(host)))
			break;
		grant_emit(b, 'o', ",", "", "", role);
		rows++;
		if (p == to || *p != ',')
			break;
		for (p++; *p == ' '; p++)
			;
	}
	return rows;
}

/* The rows of g from one line of SHOW GRANTS: how many (0: not a grant on
 * an object nor MySQL's grant of roles, SET DEFAULT ROLE), -1 a line that
 * says the grants cannot be read this way (REVOKE: MySQL's partial
 * revokes). */
static int grant_row(tsarc_buf *b, const char *line)
{
	const char *on, *to, *p;
	char privs[128], db[256] = "", tbl[256] = "", who[256] = "";
	char level;

	if (!strncasecmp(line, "REVOKE ", 7))
		return -1;
	if (strncasecmp(line, "GRANT ", 6) || !(to = grant_find(line + 6, " TO ")))
		return 0;
	if (!(on = grant_find(line + 6, " ON ")) || on > to)
		return grant_roles(b, line + 6, to);
	grant_privs(line + 6, (size_t)(on - line - 6), privs, sizeof(privs));
	p = on + 4;
	if (!strncasecmp(p, "FUNCTION ", 9) || !strncasecmp(p, "PROCEDURE ", 10) ||
		!strncasecmp(p, "PACKAGE ", 8)) {
		level = 'r';
		snprintf(privs, sizeof(privs), ",");
	} else if (!strncmp(p, "*.* ", 4)) {
		level = 'g';
	} else if (grant_name(&p, db, sizeof(db)) && *p == '.') {
		p++;
		if (!strncmp(p, "* ", 2))
			level = 'd';
		else if (grant_name(&p, tbl, sizeof(tbl)) && p == to)
			level = 't';
		else
			return 0;
	} else {
		return 0;
	}
	p = to + 4;
	if (!grant_name(&p, who, sizeof(who)))
		return 0;
	grant_emit(b, level, privs, db, tbl, who);
	return 1;
}

/* A privilege of row g (ALL PRIVILEGES holds them all). */
#define G_HAS(priv) "(LOCATE('," priv ",', g.p) > 0 OR LOCATE(',ALL,', g.p) > 0)"
/* Held on every object of database x.d: globally, or on the database (a
 * grant's pattern, as LIKE reads it: `_` and `%` are wildcards there
 * too). */
#define G_HELD(priv) \
	"EXISTS (SELECT 1 FROM g WHERE " G_HAS(priv) " AND (g.l = 'g' OR (g.l = 'd' AND " \
	"x.d LIKE g.s)))"

/* The table g of the session's grants (above) into b, as the start of a
 * query ("WITH g (...) AS (...)"): the number of its rows, or -1 when
 * `grants` says they cannot be read this way (a REVOKE). */
static int grants_table(tsarc_buf *b, const char *grants)
{
	const char *p;
	int rows = 0;

	tsarc_buf_puts(b, "WITH g (l, p, s, t, w) AS (SELECT '', '', '', '', '' FROM DUAL "
		"WHERE 0");
	/* One line per grant, as mysql --batch writes it (\\ for a backslash,
	 * \t \n \0), no longer than a line the server shows. */
	for (p = grants; *p;) {
		char line[2048];
		size_t n = 0;
		int r;
		for (; *p && *p != '\n'; p++) {
			char ch = *p;
			if (ch == '\\' && p[1]) {
				p++;
				ch = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == '0' ? ' ' : *p;
			}
			if (n + 1 < sizeof(line))
				line[n++] = ch;
		}
		line[n] = '\0';
		if (*p)
			p++;
		r = n + 1 < sizeof(line) ? grant_row(b, line) : 0;
		tsarc_secure_zero(line, sizeof(line));
		if (r < 0)
			return -1;
		rows += r;
	}
	tsarc_buf_puts(b, ")");
	return rows;
}

/* A role enabled in the session whose grants SHOW GRANTS does not show
 * (no row names it: neither MariaDB's grants to the role nor MySQL's
 * grant of the role, level o above): the grants read are not all the
 * session holds. */
#define G_ROLE_UNSEEN \
	"EXISTS (SELECT 1 FROM information_schema.ENABLED_ROLES e WHERE e.ROLE_NAME IS NOT " \
	"NULL AND NOT EXISTS (SELECT 1 FROM g WHERE g.l <> '' AND g.w = e.ROLE_NAME))"

int tsarc_mysql_visible_query(const char *database, const char *grants, char **out)
{
	tsarc_buf b = TSARC_BUF_INIT;
	int rows;

	*out = NULL;
	if (!grants)
		return 0;
	/* No grant on any object read (or a REVOKE): nothing to go by. */
	if ((rows = grants_table(&b, grants)) <= 0) {
		tsarc_buf_dispose(&b);
		return 0;
	}
	/* Tables: SELECT on the database (a grant table by table shows those
	 * tables only, and none made after it). Triggers: TRIGGER on the
	 * database, or on each of its tables. Routines: listed with a routine
	 * privilege on the database (EXECUTE, ALTER ROUTINE), or shown whole
	 * (global SELECT, SELECT on mysql.proc, MySQL's SHOW_ROUTINE,
	 * MariaDB's SHOW CREATE ROUTINE); one listed whose body is not shown
	 * makes mysqldump fail by itself. "unknown": a role enabled in the
	 * session whose grants SHOW GRANTS does not show (G_ROLE_UNSEEN). */
	tsarc_buf_puts(&b, " SELECT CASE WHEN " G_ROLE_UNSEEN " THEN 'unknown' "
		"ELSE CONCAT('hidden:', IF(" G_HELD("SELECT") ", '', ' tables'), IF("
		G_HELD("TRIGGER") " OR NOT EXISTS (SELECT 1 FROM information_schema.TABLES tb "
		"WHERE tb.TABLE_SCHEMA = x.d AND tb.TABLE_TYPE = 'BASE TABLE' AND NOT EXISTS (SELECT 1 "
		"FROM g WHERE g.l = 't' AND " G_HAS("TRIGGER") " AND g.s = tb.TABLE_SCHEMA AND "
		"g.t = tb.TABLE_NAME)), '', ' triggers'), IF(" G_HELD("EXECUTE") " OR "
		G_HELD("ALTER ROUTINE") " OR " G_HELD("SHOW CREATE ROUTINE") " OR EXISTS (SELECT 1 "
		"FROM g WHERE g.l = 'g' AND (" G_HAS("SELECT") " OR " G_HAS("SHOW_ROUTINE") ")) OR "
		"EXISTS (SELECT 1 FROM g WHERE g.l = 'd' AND " G_HAS("SELECT") " AND 'mysql' LIKE "
		"g.s) OR EXISTS (SELECT 1 FROM g WHERE g.l = 't' AND g.s = 'mysql' AND "
		"g.t = 'proc' AND " G_HAS("SELECT") "), '', ' routines')) END FROM (SELECT ");
	sql_hex_literal(&b, database, "CONVERT(X'", "' USING utf8mb4) AS d) x");
	if (!(*out = tsarc_buf_detach(&b)))
		return tsarc_error_last()->code;
	return 0;
}

/*
 * A server that keeps a binary log (log_bin; every managed MySQL does, for
 * its backups and replicas) refuses CREATE TRIGGER and CREATE FUNCTION to
 * a session without SUPER unless log_bin_trust_function_creators is on
 * (ERROR 1419; MariaDB 10.11 measured: SUPER through the default role
 * counts, BINLOG ADMIN does not; procedures, views and events are not
 * refused). The answer: "allowed", "refused", or "unknown" where the
 * grants read are not all the session holds.
 */
int tsarc_mysql_stored_programs_query(const char *grants, char **out)
{
	tsarc_buf b = TSARC_BUF_INIT;
	int rows;

	*out = NULL;
	if (!grants)
		return 0;
	if ((rows = grants_table(&b, grants)) <= 0) {
		tsarc_buf_dispose(&b);
		return 0;
	}
	tsarc_buf_puts(&b, " SELECT CASE WHEN @@GLOBAL.log_bin = 0 OR "
		"@@GLOBAL.log_bin_trust_function_creators = 1 OR EXISTS (SELECT 1 FROM g WHERE "
		"g.l = 'g' AND " G_HAS("SUPER") ") THEN 'allowed' WHEN " G_ROLE_UNSEEN " THEN "
		"'unknown' ELSE 'refused' END");
	if (!(*out = tsarc_buf_detach(&b)))
		return tsarc_error_last()->code;
	return 0;
}

int tsarc_mysql_database_count_query(const char *database, char **out)
{
	/* Names compared as the server compares them: exactly, unless it
	 * folds their case (lower_case_table_names 1 or 2). */
	return lookup_query("SELECT COUNT(*) FROM information_schema.SCHEMATA, (SELECT ", database,
		"CONVERT(X'", "' USING utf8mb4) AS d) x WHERE IF(@@lower_case_table_names = 0, "
		"BINARY SCHEMA_NAME = x.d, SCHEMA_NAME = x.d)", out);
}

int tsarc_pg_encoding_query(const char *database, char **out)
{
	return lookup_query("SELECT pg_encoding_to_char(encoding), datcollate, datctype, "
		"current_setting('server_version_num') FROM pg_database WHERE datname = ", database,
		"convert_from('\\x", "'::bytea, 'UTF8')", out);
}

/* A name the probes return: letters, digits, _ - . @ (utf8mb4_0900_ai_ci,
 * en_US.UTF-8, C, sr_RS@latin); anything else is not taken. */
static int plain_name(const char *s, size_t len)
{
	size_t i;

	if (!len || len > 64)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '-' || c == '.' || c == '@'))
			return 0;
	}
	return 1;
}

int tsarc_probe_fields(const char *text, const char *const names[], size_t n, cJSON *meta)
{
	const char *p = text;
	size_t i, len;

	for (i = 0; i < n; i++) {
		len = strcspn(p, i + 1 < n ? "\t|" : "\r\n");
		if (!plain_name(p, len))
			return tsarc_error_set(TSARC_ECORRUPT, "unexpected answer to the %s query",
				names[0]);
		p += len + (i + 1 < n);
	}
	for (p = text, i = 0; i < n; i++) {
		char buf[65];
		len = strcspn(p, i + 1 < n ? "\t|" : "\r\n");
		memcpy(buf, p, len);
		buf[len] = '\0';
		if (!cJSON_AddStringToObject(meta, names[i], buf))
			return nomem();
		p += len + 1;
	}
	return 0;
}

/* A recorded name (the probes' answer, from a snapshot: untrusted), or
 * NULL when absent or not a plain name. */
static const char *meta_name(const cJSON *meta, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, key));

	return v && plain_name(v, strlen(v)) ? v : NULL;
}

int tsarc_mysql_create_options(const cJSON *meta, const char *fallback, char **out)
{
	const char *cs = meta_name(meta, "charset"), *co = meta_name(meta, "collation");
	tsarc_buf b = TSARC_BUF_INIT;
	int rc = 0;

	*out = NULL;
	if (cs && co) {
		if ((rc = tsarc_buf_puts(&b, "DEFAULT CHARACTER SET ")) ||
			(rc = tsarc_buf_puts(&b, cs)) || (rc = tsarc_buf_puts(&b, " COLLATE ")) ||
			(rc = tsarc_buf_puts(&b, co)))
			goto fail;
	} else if (fallback && (rc = tsarc_buf_puts(&b, fallback)))
		goto fail;
	if (b.size && !(*out = tsarc_buf_detach(&b)))
		rc = nomem();
fail:
	tsarc_buf_dispose(&b);
	return rc;
}

int tsarc_pg_create_database_sql(const char *database, const cJSON *meta, char **out)
{
	const char *enc = meta_name(meta, "encoding"), *col = meta_name(meta, "lc_collate");
	const char *ctype = meta_name(meta, "lc_ctype");
	tsarc_buf b = TSARC_BUF_INIT;
	int rc;

	*out = NULL;
	if (!enc || !col || !ctype)
		return 0;
	/* template0: the only template that takes another encoding or locale.
	 * No "when missing" here: the caller found it missing, and a CREATE
	 * that then finds it exists fails rather than pass for one this
	 * restore made (which a failed load drops again). */
	if ((rc = tsarc_buf_puts(&b, "SELECT format('CREATE DATABASE %I ENCODING %L LC_COLLATE %L "
		     "LC_CTYPE %L TEMPLATE template0', d, ")) ||
		(rc = tsarc_buf_puts(&b, "'")) || (rc = tsarc_buf_puts(&b, enc)) ||
		(rc = tsarc_buf_puts(&b, "', '")) || (rc = tsarc_buf_puts(&b, col)) ||
		(rc = tsarc_buf_puts(&b, "', '")) || (rc = tsarc_buf_puts(&b, ctype)) ||
		(rc = tsarc_buf_puts(&b, "') FROM (SELECT ")) ||
		(rc = sql_hex_literal(&b, database, "convert_from('\\x", "'::bytea, 'UTF8')")) ||
		(rc = tsarc_buf_puts(&b, " AS d) x\n\\gexec\n")) ||
		!(*out = tsarc_buf_detach(&b)))
		rc = rc ? rc : nomem();
	tsarc_buf_dispose(&b);
	return rc;
}

int tsarc_pg_drop_database_sql(const char *database, char **out)
{
	/* Quoted as the CREATE quotes it: %I over the name given as hex. */
	return lookup_query("SELECT format('DROP DATABASE %I', ", database, "convert_from('\\x",
		"'::bytea, 'UTF8'))\n\\gexec\n", out);
}

int tsarc_pg_database_count_query(const char *database, char **out)
{
	return lookup_query("SELECT count(*) FROM pg_database WHERE datname = ", database,
		"convert_from('\\x", "'::bytea, 'UTF8')", out);
}

/* The major version of the "X.Y..." at `p`: X from 10 on ("17.12",
 * "17beta1": what follows X is not read), X*100+Y before ("9.6.24"); 0
 * when it is none. */
static int major_of(const char *p)
{
	long x, y = 0;
	char *end;

	if (*p < '0' || *p > '9' || (x = strtol(p, &end, 10)) <= 0 || x > 99)
		return 0;
	if (x < 10) {
		if (*end != '.' || end[1] < '0' || end[1] > '9' ||
			(y = strtol(end + 1, &end, 10)) > 99)
			return 0;
	}
	return (int)(x < 10 ? x * 100 + y : x);
}

int tsarc_pg_tool_major(const char *line)
{
	const char *p = line ? strstr(line, " (PostgreSQL) ") : NULL;

	return p ? major_of(p + 14) : 0;
}

int tsarc_pg_server_major(const char *num)
{
	long n;
	char *end;

	if (!num || *num < '1' || *num > '9' || (n = strtol(num, &end, 10)) < 90000 ||
		n > 999999 || *end)
		return 0;
	return (int)(n >= 100000 ? n / 10000 : n / 100);
}

void tsarc_pg_major_name(int major, char *buf, size_t size)
{
	if (major >= 100)
		snprintf(buf, size, "%d.%d", major / 100, major % 100);
	else
		snprintf(buf, size, "%d", major);
}

long tsarc_pg_major_num(int major)
{
	return major >= 100 ? major * 100L : major * 10000L;
}

int tsarc_recipe_switch(const cJSON *recipe, const char *comp, const char *field,
	const char *on, const char *off, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(recipe, field);

	*out = 1;
	if (!v || (cJSON_IsString(v) && !strcmp(v->valuestring, on)))
		return 0;
	if (cJSON_IsString(v) && !strcmp(v->valuestring, off)) {
		*out = 0;
		return 0;
	}
	return tsarc_error_set(TSARC_ECONFIG, "component '%s': restore.%s is \"%s\" or \"%s\"",
		comp, field, on, off);
}

int tsarc_definer_strip(const cJSON *recipe, const char *comp, int *strip)
{
	return tsarc_recipe_switch(recipe, comp, "definer", "strip", "keep", strip);
}

int tsarc_owner_map(const cJSON *recipe, const char *comp, int *map)
{
	return tsarc_recipe_switch(recipe, comp, "owner", "map", "keep", map);
}
