#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
/* Helpers of the deployment backup: commands, spec fields, URLs, Secrets. */
#include "component.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int nomem(void)
{
	return tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

void tsarc_cmd_init(tsarc_cmd *c)
{
	memset(c, 0, sizeof(*c));
}

static void free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/* Values may be passwords: wipe before giving the memory back. */
		OPENSSL_cleanse(list[i], strlen(list[i]));
		free(list[i]);
	}
	free(list);
}

void tsarc_cmd_free(tsarc_cmd *c)
{
	free_list(c->argv, c->argc);
	free_list(c->env, c->nenv);
	free_list(c->pod_env, c->npod_env);
	if (c->mysql_password) {
		OPENSSL_cleanse(c->mysql_password, strlen(c->mysql_password));
		free(c->mysql_password);
	}
	memset(c, 0, sizeof(*c));
}

static int list_push(char ***list, size_t *n, char *s)
{
	char **grown;

	if (!s)
		return nomem();
	if (!(grown = realloc(*list, (*n + 2) * sizeof(char *)))) {
		free(s);
		return nomem();
	}
	*list = grown;
	grown[(*n)++] = s;
	grown[*n] = NULL;
	return 0;
}

int tsarc_cmd_arg(tsarc_cmd *c, const char *arg)
{
	return list_push(&c->argv, &c->argc, strdup(arg));
}

int tsarc_cmd_argf(tsarc_cmd *c, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(s = malloc((size_t)n + 1)))
		return nomem();
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return list_push(&c->argv, &c->argc, s);
}

static char *join_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	s[la] = '=';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

int tsarc_cmd_env(tsarc_cmd *c, const char *name, const char *value)
{
	return list_push(&c->env, &c->nenv, join_eq(name, value));
}

int tsarc_cmd_pod_env(tsarc_cmd *c, const char *name, const char *pod_var)
{
	return list_push(&c->pod_env, &c->npod_env, join_eq(name, pod_var));
}

int tsarc_cmd_mysql_password(tsarc_cmd *cmd, const char *password)
{
	char *copy = strdup(password);

	if (!copy)
		return nomem();
	if (cmd->mysql_password) {
		OPENSSL_cleanse(cmd->mysql_password, strlen(cmd->mysql_password));
		free(cmd->mysql_password);
	}
	cmd->mysql_password = copy;
	return 0;
}

int tsarc_mysql_option_text(const char *password, tsarc_buf *out)
{
	size_t i;
	int rc;

	/* Double-quoted, with the escapes MySQL's and MariaDB's option-file
	 * reader undoes (\n \r \t \b \\ \"): #, ;, blanks, quotes and line
	 * breaks in a password survive, and nothing ends the line early. */
	rc = tsarc_buf_puts(out, "[client]\npassword=\"");
	for (i = 0; !rc && password[i]; i++) {
		char ch = password[i];
		const char *esc = ch == '\n' ? "\\n" : ch == '\r' ? "\\r" : ch == '\t' ? "\\t" :
			ch == '\b' ? "\\b" : ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : NULL;
		rc = esc ? tsarc_buf_puts(out, esc) : tsarc_buf_append(out, &ch, 1);
	}
	if (!rc)
		rc = tsarc_buf_puts(out, "\"\n");
	return rc;
}

int tsarc_secret_memfd(const char *name, const void *data, size_t len, int *fd_out)
{
	const char *p = data;
	size_t done = 0;
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), low;

	if (fd < 0)
		return tsarc_error_set(TSARC_EIO, "cannot create an in-memory file: %s",
			strerror(errno));
	/* A memfd starts 0777: MySQL clients ignore a world-writable option
	 * file, and nothing else should read it. */
	if (fchmod(fd, 0400)) {
		int e = errno;
		close(fd);
		return tsarc_error_set(TSARC_EIO, "cannot set an in-memory file's mode: %s",
			strerror(e));
	}
	/* Never 0-2: those become the child's stdin, stdout and stderr. */
	if (fd <= 2) {
		low = fd;
		fd = fcntl(low, F_DUPFD_CLOEXEC, 3);
		close(low);
		if (fd < 0)
			return tsarc_error_set(TSARC_EIO, "cannot move a descriptor: %s",
				strerror(errno));
	}
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return tsarc_error_set(TSARC_EIO, "writing an in-memory file: %s", strerror(e));
		}
		done += (size_t)n;
	}
	/* Sealed: the child reads exactly this, nobody can change it after. */
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	*fd_out = fd;
	return 0;
}

const char *tsarc_spec_str(const cJSON *spec, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

int tsarc_spec_bool(const cJSON *spec, const char *key, int dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

int tsarc_spec_port(const cJSON *spec, const char *key, const char *comp, int *port)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, key);
	long n;
	char *end;

	*port = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v))
		/* In range before the cast: converting 1e300 to long is undefined. */
		n = v->valuedouble >= 1 && v->valuedouble <= 65535 &&
			(long)v->valuedouble == v->valuedouble ? (long)v->valuedouble : -1;
	else if (cJSON_IsString(v)) {
		errno = 0;
		n = strtol(v->valuestring, &end, 10);
		if (errno || *end || end == v->valuestring)
			n = -1;
	} else
		n = -1;
	if (n < 1 || n > 65535)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': %s must be a port number "
			"from 1 to 65535", comp, key);
	*port = (int)n;
	return 0;
}

int tsarc_spec_check_keys(const cJSON *spec, const char *comp, const char *const allowed[])
{
	const cJSON *item;
	size_t i;

	cJSON_ArrayForEach(item, spec) {
		for (i = 0; allowed[i]; i++)
			if (!strcmp(allowed[i], item->string))
				break;
		if (!allowed[i])
			return tsarc_error_set(TSARC_ECONFIG, "component '%s': unknown field '%s'",
				comp, item->string);
	}
	return 0;
}

int tsarc_spec_add_args(tsarc_cmd *cmd, const cJSON *spec, const char *key, const char *comp)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(spec, key), *v;
	int rc;

	if (!arr || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': %s must be an array of "
			"strings", comp, key);
	cJSON_ArrayForEach(v, arr) {
		if (!cJSON_IsString(v))
			return tsarc_error_set(TSARC_ECONFIG, "component '%s': %s must be an array "
				"of strings", comp, key);
		if ((rc = tsarc_cmd_arg(cmd, v->valuestring)))
			return rc;
	}
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static char *pct_decode(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	size_t i, k = 0;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
			hexval(s[i + 2]) >= 0) {
			out[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else
			out[k++] = s[i];
	}
	out[k] = '\0';
	return out;
}

void tsarc_url_free(tsarc_url *u)
{
	if (u->password)
		OPENSSL_cleanse(u->password, strlen(u->password));
	free(u->scheme);
	free(u->user);
	free(u->password);
	free(u->host);
	free(u->path);
	memset(u, 0, sizeof(*u));
}

int tsarc_url_parse(const char *text, tsarc_url *u)
{
	const char *p, *auth_end, *host, *host_end, *colon, *at = NULL;
	int rc = TSARC_ECONFIG;

	memset(u, 0, sizeof(*u));
	if (!(p = strstr(text, "://")))
		return tsarc_error_set(TSARC_ECONFIG, "not a URL (no scheme://)");
	if (!(u->scheme = strndup(text, (size_t)(p - text))))
		goto oom;
	p += 3;
	auth_end = p + strcspn(p, "/?#");
	/* The last @ before the path: passwords may contain @ when unencoded. */
	for (const char *q = p; q < auth_end; q++)
		if (*q == '@')
			at = q;
	if (at) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon) {
			if (!(u->user = pct_decode(p, (size_t)(colon - p))) ||
				!(u->password = pct_decode(colon + 1, (size_t)(at - colon - 1))))
				goto oom;
		} else if (!(u->user = pct_decode(p, (size_t)(at - p))))
			goto oom;
		host = at + 1;
	} else
		host = p;
	host_end = auth_end;
	colon = NULL;
	if (*host == '[') { /* IPv6 literal */
		const char *close = memchr(host, ']', (size_t)(host_end - host));
		if (!close) {
			tsarc_error_set(rc, "URL host: unterminated [");
			goto fail;
		}
		if (!(u->host = strndup(host + 1, (size_t)(close - host - 1))))
			goto oom;
		if (close + 1 < host_end && close[1] == ':')
			colon = close + 1;
	} else {
		colon = memchr(host, ':', (size_t)(host_end - host));
		if (!(u->host = strndup(host, (size_t)((colon ? colon : host_end) - host))))
			goto oom;
	}
	if (colon && colon + 1 < host_end) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (end != host_end || port < 1 || port > 65535) {
			tsarc_error_set(rc, "URL port is not a number from 1 to 65535");
			goto fail;
		}
		u->port = (int)port;
	}
	if (*auth_end == '/') {
		size_t plen = strcspn(auth_end + 1, "?#");
		if (!(u->path = pct_decode(auth_end + 1, plen)))
			goto oom;
	}
	return 0;
oom:
	rc = nomem();
fail:
	tsarc_url_free(u);
	return rc;
}

int tsarc_b64_decode(const char *in, unsigned char **out, size_t *out_len)
{
	size_t len = strlen(in), pad = 0;
	unsigned char *buf;
	int n;

	if (len % 4)
		return tsarc_error_set(TSARC_ECORRUPT, "not base64 (length %zu)", len);
	if (!(buf = malloc(len / 4 * 3 + 1)))
		return nomem();
	n = len ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len) : 0;
	if (n < 0) {
		free(buf);
		return tsarc_error_set(TSARC_ECORRUPT, "not base64");
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (len && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	*out_len = (size_t)n - pad;
	buf[*out_len] = '\0';
	*out = buf;
	return 0;
}

int tsarc_secret_doc_value(const cJSON *doc, const char *secret, const char *key, char **out)
{
	const cJSON *data, *v;
	unsigned char *dec;
	size_t len;
	int rc = 0;

	*out = NULL;
	data = cJSON_GetObjectItemCaseSensitive(doc, "data");
	v = cJSON_GetObjectItemCaseSensitive(data, key);
	if (cJSON_IsString(v)) {
		rc = tsarc_b64_decode(v->valuestring, &dec, &len);
		if (rc) {
			tsarc_error_prefix("Secret %s, key %s", secret, key);
		} else if (strlen((char *)dec) != len) {
			free(dec);
			rc = tsarc_error_set(TSARC_ECONFIG, "Secret %s, key %s holds a NUL byte",
				secret, key);
		} else
			*out = (char *)dec;
	} else {
		/* stringData is what a hand-written Secret may carry. */
		data = cJSON_GetObjectItemCaseSensitive(doc, "stringData");
		v = cJSON_GetObjectItemCaseSensitive(data, key);
		if (cJSON_IsString(v)) {
			if (!(*out = strdup(v->valuestring)))
				rc = nomem();
		} else
			rc = tsarc_error_set(TSARC_ENOTFOUND, "Secret %s has no key %s", secret, key);
	}
	return rc;
}

int tsarc_secret_value(tsarc_transport *tr, const char *secret, const char *key, char **out)
{
	cJSON *doc = NULL;
	int rc;

	*out = NULL;
	if ((rc = tr->get(tr, "secret", secret, &doc))) {
		tsarc_error_prefix("reading Secret %s", secret);
		return rc;
	}
	rc = tsarc_secret_doc_value(doc, secret, key, out);
	cJSON_Delete(doc);
	return rc;
}

int tsarc_shell_quote(const char *s, char **out)
{
	size_t len = 2, i, k = 0;
	char *q;

	for (i = 0; s[i]; i++)
		len += s[i] == '\'' ? 4 : 1;
	if (!(q = malloc(len + 1)))
		return nomem();
	q[k++] = '\'';
	for (i = 0; s[i]; i++) {
		if (s[i] == '\'') {
			memcpy(q + k, "'\\''", 4);
			k += 4;
		} else
			q[k++] = s[i];
	}
	q[k++] = '\'';
	q[k] = '\0';
	*out = q;
	return 0;
}

static int read_password_file(const char *path, const char *comp, char **out)
{
	char buf[4097];
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': cannot read password_file "
			"%s: %s", comp, path, strerror(errno));
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	*out = strdup(buf);
	OPENSSL_cleanse(buf, sizeof(buf));
	return *out ? 0 : nomem();
}

void tsarc_conn_free(tsarc_conn *conn)
{
	if (conn->password)
		OPENSSL_cleanse(conn->password, strlen(conn->password));
	free(conn->host);
	free(conn->user);
	free(conn->password);
	free(conn->database);
	free(conn->socket);
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
	free(*dst);
	*dst = s;
	return 0;
}

int tsarc_conn_resolve(tsarc_component *c, tsarc_conn *conn)
{
	char *text = NULL;
	int rc;

	memset(conn, 0, sizeof(*conn));
	if (c->external) {
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(c->spec, "url_secret");
		const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");
		if (!secret || !key)
			return tsarc_error_set(TSARC_ECONFIG, "component '%s' is external but has no "
				"url_secret {\"secret\": ..., \"key\": ...}", c->name);
		if ((rc = tsarc_secret_value(c->resources, secret, key, &text)))
			return rc;
	}
	if ((rc = tsarc_conn_from_url(c, text, conn)) && text)
		tsarc_error_prefix("Secret %s, key %s", tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(
			c->spec, "url_secret"), "secret"), tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(
			c->spec, "url_secret"), "key"));
	if (text) {
		memset(text, 0, strlen(text));
		free(text);
	}
	return rc;
}

int tsarc_conn_from_url(const tsarc_component *c, const char *url, tsarc_conn *conn)
{
	const cJSON *spec = c->spec;
	const char *s;
	int rc = 0, port;

	memset(conn, 0, sizeof(*conn));
	if (url) {
		tsarc_url u;
		if ((rc = tsarc_url_parse(url, &u)))
			return rc;
		if ((rc = set_str(&conn->host, u.host)) || (rc = set_str(&conn->user, u.user)) ||
			(rc = set_str(&conn->password, u.password))) {
			tsarc_url_free(&u);
			goto fail;
		}
		conn->has_password = u.password != NULL;
		conn->port = u.port;
		/* mysql2://.../system, postgresql://.../zync_production; a Redis
		 * URL's path is a db number, meaningless for a whole-server RDB. */
		if (u.path && *u.path && (rc = set_str(&conn->database, u.path))) {
			tsarc_url_free(&u);
			goto fail;
		}
		tsarc_url_free(&u);
	}
	/* Explicit fields win over the Secret's URL: the address the cluster
	 * sees is not always the one this host reaches. */
	if ((rc = set_str(&conn->host, tsarc_spec_str(spec, "host"))) ||
		(rc = set_str(&conn->user, tsarc_spec_str(spec, "user"))) ||
		(rc = set_str(&conn->database, tsarc_spec_str(spec, "database"))) ||
		(rc = set_str(&conn->socket, tsarc_spec_str(spec, "socket"))))
		goto fail;
	if ((rc = tsarc_spec_port(spec, "port", c->name, &port)))
		goto fail;
	if (port)
		conn->port = port;
	if ((s = tsarc_spec_str(spec, "password_env"))) {
		const char *v = getenv(s);
		if (!v) {
			rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': password_env names %s, "
				"which is not set", c->name, s);
			goto fail;
		}
		if ((rc = set_str(&conn->password, v)))
			goto fail;
		conn->has_password = 1;
	} else if ((s = tsarc_spec_str(spec, "password_file"))) {
		char *pw = NULL;
		if ((rc = read_password_file(s, c->name, &pw)))
			goto fail;
		free(conn->password);
		conn->password = pw;
		conn->has_password = 1;
	}
	return 0;
fail:
	tsarc_conn_free(conn);
	return rc;
}

int tsarc_conn_dup(const tsarc_conn *from, tsarc_conn *to)
{
	int rc;

	memset(to, 0, sizeof(*to));
	if ((rc = set_str(&to->host, from->host)) || (rc = set_str(&to->user, from->user)) ||
		(rc = set_str(&to->password, from->password)) ||
		(rc = set_str(&to->database, from->database)) ||
		(rc = set_str(&to->socket, from->socket))) {
		tsarc_conn_free(to);
		return rc;
	}
	to->port = from->port;
	to->has_password = from->has_password;
	return 0;
}

int tsarc_transports_get(tsarc_transports *t, const char *type, tsarc_transport **out)
{
	int rc = 0;

	if (type && !strcmp(type, "local")) {
		if (!t->local)
			rc = tsarc_transport_local_new(&t->local, t->conf);
		*out = t->local;
	} else {
		if (!t->kube)
			rc = tsarc_transport_kube_new(&t->kube, t->conf);
		*out = t->kube;
	}
	return rc;
}

void tsarc_transports_dispose(tsarc_transports *t)
{
	if (t->local)
		t->local->free(t->local);
	if (t->kube)
		t->kube->free(t->kube);
	t->local = t->kube = NULL;
}

int tsarc_json_merge(cJSON *base, const cJSON *over)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, over) {
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(base, item->string);
		cJSON *copy;
		if (cJSON_IsObject(cur) && cJSON_IsObject(item)) {
			if (tsarc_json_merge(cur, item))
				return TSARC_ENOMEM;
			continue;
		}
		if (!(copy = cJSON_Duplicate(item, 1)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		if (cur)
			cJSON_ReplaceItemViaPointer(base, cur, copy);
		else if (!cJSON_AddItemToObject(base, item->string, copy))
			cJSON_Delete(copy); /* an array's items have no name to add under */
	}
	return 0;
}

/* Reads an open stream to its end (not trusting a size: /proc files and
 * pipes have none), NUL-terminated; closes it. */
static int read_stream(FILE *f, const char *path, size_t max, char **out, size_t *len_out)
{
	tsarc_buf b = TSARC_BUF_INIT;
	char chunk[8192];
	size_t n;
	int rc = 0;

	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.size + n > max)
			rc = tsarc_error_set(TSARC_ETOOLARGE, "%s is larger than %zu bytes", path, max);
		else
			rc = tsarc_buf_append(&b, chunk, n);
	}
	if (!rc && ferror(f))
		rc = tsarc_error_set(TSARC_EIO, "cannot read %s", path);
	fclose(f);
	if (!rc)
		rc = tsarc_buf_append(&b, "", 1);
	if (rc) {
		tsarc_buf_dispose(&b);
		return rc;
	}
	if (len_out)
		*len_out = b.size - 1;
	*out = (char *)b.ptr;
	return 0;
}

int tsarc_read_file(const char *path, size_t max, char **out, size_t *len_out)
{
	FILE *f = fopen(path, "rb");

	*out = NULL;
	if (!f)
		return tsarc_error_set(errno == ENOENT ? TSARC_ENOTFOUND : TSARC_EIO,
			"cannot read %s: %s", path, strerror(errno));
	return read_stream(f, path, max, out, len_out);
}

int tsarc_read_private_file(const char *path, size_t max, char **out, size_t *len_out)
{
	struct stat st;
	FILE *f;
	int fd;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted there must not block the open. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return tsarc_error_set(TSARC_ENOTFOUND, "cannot read %s: %s", path, strerror(errno));
	if (fd < 0 && errno != ELOOP)
		return tsarc_error_set(TSARC_EIO, "cannot read %s: %s", path, strerror(errno));
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
		(st.st_mode & 022)) {
		if (fd >= 0)
			close(fd);
		return tsarc_error_set(TSARC_EUNSAFE, "%s is not a file this tool wrote (a symlink, "
			"not a regular file, someone else's or writable by others): not trusted; "
			"look at it, put the right configuration in place, remove it and run again",
			path);
	}
	if (!(f = fdopen(fd, "rb"))) {
		close(fd);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	return read_stream(f, path, max, out, len_out);
}

int tsarc_valid_env_name(const char *s)
{
	size_t i;

	if (!s || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; s[i]; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return i <= 255;
}

int tsarc_valid_kube_kind(const char *s)
{
	size_t i;

	if (!s || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (i = 1; s[i]; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return i <= 63;
}

/* Dot-separated labels of letters (lower case unless `upper`), digits and
 * dashes, each starting and ending with a letter or digit. */
static int dns_subdomain(const char *s, int upper)
{
	size_t i, label = 0;

	if (!s || !s[0])
		return 0;
	for (i = 0; s[i]; i++) {
		char ch = s[i];
		int alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			(upper && ch >= 'A' && ch <= 'Z');
		if (ch == '.') {
			if (!label || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if (ch == '-') {
			if (!label)
				return 0;
			label++;
		} else if (alnum) {
			label++;
		} else
			return 0;
		if (label > 63)
			return 0;
	}
	return label > 0 && s[i - 1] != '-' && i <= 253;
}

int tsarc_valid_kube_name(const char *s)
{
	return dns_subdomain(s, 0);
}

int tsarc_valid_kube_type(const char *s)
{
	return dns_subdomain(s, 1);
}

int tsarc_replace_file_at(int dirfd, const char *where, const char *name, const void *data,
	size_t len, mode_t mode, int keep_attrs)
{
	char tmp[300];
	unsigned char rnd[12];
	struct stat old;
	const char *p = data;
	size_t done = 0, i;
	int fd = -1, exists, tries, rc = 0;

	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
		strlen(name) > 200)
		return tsarc_error_set(TSARC_EINVAL, "cannot write '%s' in %s: not a plain file name",
			name, where);
	exists = fstatat(dirfd, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
	if (!exists && errno != ENOENT)
		return tsarc_error_set(TSARC_EIO, "cannot replace %s/%s: %s", where, name,
			strerror(errno));
	if (exists && !S_ISREG(old.st_mode))
		return tsarc_error_set(TSARC_EUNSAFE, "refusing to replace %s/%s: it is not a "
			"regular file (a symlink?)", where, name);
	/* A name nobody can guess: a file planted at it in advance is not
	 * possible, and O_EXCL|O_NOFOLLOW fails on anything there anyway. */
	for (tries = 0; fd < 0 && tries < 8; tries++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return tsarc_error_set(TSARC_EIO, "no random bytes for a temporary name");
		snprintf(tmp, sizeof(tmp), ".%s.tsarc-", name);
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), "%02x", rnd[i]);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return tsarc_error_set(TSARC_EIO, "cannot create a temporary file in %s: %s", where,
			strerror(errno));
	/* Owner first: changing it clears set-id bits that fchmod then sets. */
	if (exists && keep_attrs && (old.st_uid != geteuid() || old.st_gid != getegid()) &&
		fchown(fd, old.st_uid, old.st_gid)) {
		rc = tsarc_error_set(TSARC_EACCESS, "cannot give the new %s/%s the owner of the "
			"old one (uid %ld, gid %ld): %s", where, name, (long)old.st_uid,
			(long)old.st_gid, strerror(errno));
		goto fail;
	}
	if (fchmod(fd, exists && keep_attrs ? old.st_mode & 07777 : mode & 07777)) {
		rc = tsarc_error_set(TSARC_EIO, "cannot set the mode of %s/%s: %s", where, tmp,
			strerror(errno));
		goto fail;
	}
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tsarc_error_set(TSARC_EIO, "cannot write %s/%s: %s", where, tmp,
				strerror(errno));
			goto fail;
		}
		done += (size_t)n;
	}
	if (fsync(fd)) {
		rc = tsarc_error_set(TSARC_EIO, "cannot write %s/%s: %s", where, tmp, strerror(errno));
		goto fail;
	}
	if (close(fd)) {
		fd = -1;
		rc = tsarc_error_set(TSARC_EIO, "cannot write %s/%s: %s", where, tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name)) {
		rc = tsarc_error_set(TSARC_EIO, "cannot replace %s/%s: %s", where, name,
			strerror(errno));
		goto fail;
	}
	/* The rename itself survives a crash only once the folder is synced. */
	if (fsync(dirfd))
		return tsarc_error_set(TSARC_EIO, "cannot sync %s: %s", where, strerror(errno));
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return rc;
}

int tsarc_replace_file(const char *path, const void *data, size_t len, mode_t mode,
	int keep_attrs)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int dfd, rc;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return nomem();
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		rc = tsarc_error_set(errno == ENOENT ? TSARC_ENOTFOUND : TSARC_EIO,
			"cannot open the folder %s: %s", dir, strerror(errno));
		free(dir);
		return rc;
	}
	rc = tsarc_replace_file_at(dfd, dir, slash ? slash + 1 : path, data, len, mode,
		keep_attrs);
	close(dfd);
	free(dir);
	return rc;
}

void tsarc_env_list_free(char **list)
{
	size_t i;

	for (i = 0; list && list[i]; i++) {
		OPENSSL_cleanse(list[i], strlen(list[i]));
		free(list[i]);
	}
	free(list);
}

int tsarc_env_collect(const cJSON *names, char ***out)
{
	const cJSON *v;
	char **list;
	size_t n = 0;

	*out = NULL;
	if (!(list = calloc((size_t)cJSON_GetArraySize(names) + 1, sizeof(char *))))
		return nomem();
	cJSON_ArrayForEach(v, names) {
		const char *val = cJSON_IsString(v) ? getenv(v->valuestring) : NULL;
		if (!val)
			continue;
		if (!(list[n] = join_eq(v->valuestring, val))) {
			tsarc_env_list_free(list);
			return nomem();
		}
		n++;
	}
	*out = list;
	return 0;
}

char **tsarc_env_concat(char *const a[], char *const b[])
{
	size_t na = 0, nb = 0;
	char **out;

	while (a && a[na])
		na++;
	while (b && b[nb])
		nb++;
	if (!(out = calloc(na + nb + 1, sizeof(char *))))
		return NULL;
	if (na)
		memcpy(out, a, na * sizeof(char *));
	if (nb)
		memcpy(out + na, b, nb * sizeof(char *));
	return out;
}
