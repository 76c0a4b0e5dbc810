/*
 * The Redis client: one blocking connection (TCP, unix socket, TLS through
 * OpenSSL's libssl), RESP2 out and in. Commands are queued into an output
 * buffer and sent when a reply is wanted, so a caller pipelines by queueing
 * many and reading their replies in order; the caller bounds the window
 * (tsarc_redis_pending). Replies are parsed from a read buffer; a bulk is
 * at most TSARC_REDIS_BULK_MAX and an array at most 16M elements, so a
 * hostile server cannot make us allocate without bound.
 */
#include "client.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define READBUF 65536
#define ARRAY_MAX (16u * 1024u * 1024u)
#define DEPTH_MAX 8

struct tsarc_redis {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char where[300];
	char what[32];
	/* Commands to send: AUTH's password, and the keys a restore
	 * writes. A wiped buffer (buf.h): a block it outgrows is wiped
	 * before it is given back, which realloc could not do (the \r\n
	 * after a password could make it grow). */
	tsarc_buf out;
	size_t out_cmds;  /* commands queued in `out` */
	size_t pending;   /* commands sent, replies unread */
	unsigned char *in;
	size_t in_pos, in_len;
	/* The key a restore's probes ask with (tsarc_redis_probe_key_set):
	 * a key of the backup, wiped when freed as `out` is. */
	unsigned char *probe_key;
	size_t probe_keylen;
};

void tsarc_redis_reply_free(tsarc_redis_reply *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nelem; i++)
		tsarc_redis_reply_free(r->elem[i]);
	free(r->elem);
	free(r->str);
	free(r);
}

int tsarc_redis_error_refused(const char *error)
{
	return !strncmp(error, "NOPERM", 6) || !strncmp(error, "ERR unknown command", 19) ||
		!strncmp(error, "ERR unknown subcommand", 22) ||
		!strncmp(error, "ERR Unknown subcommand", 22);
}

size_t tsarc_redis_noperm_command(const char *error, const char **name)
{
	static const char RULE[] = "to run the '";
	const char *rule = strncmp(error, "NOPERM", 6) ? NULL : strstr(error, RULE);

	if (!rule)
		return 0;
	*name = rule + sizeof(RULE) - 1;
	return strcspn(*name, "'\r\n");
}

int tsarc_redis_refusal_words(char *out, size_t outsz, const char *cmd, const char *who,
	const char *reply)
{
	const char *name = NULL;
	size_t granted = tsarc_redis_noperm_command(reply, &name);
	int len = (int)strcspn(reply, "\r\n");

	while (len && reply[len - 1] == ' ')
		len--;
	if (granted) {
		snprintf(out, outsz, "refuses %s to %s (%.*s): grant the user +%.*s", cmd, who, len,
			reply, (int)granted, name);
		return TSARC_EACCESS;
	}
	if (tsarc_redis_error_refused(reply)) {
		snprintf(out, outsz, "does not know %s (%.*s): renamed or disabled in its "
			"configuration (rename-command)", cmd, len, reply);
		return TSARC_EUNSUPPORTED;
	}
	snprintf(out, outsz, "answered %s with an error: %.*s", cmd, len, reply);
	return TSARC_EIO;
}

int tsarc_redis_reply_refused(const tsarc_redis_reply *r)
{
	return r && r->type == '-' && r->str && tsarc_redis_error_refused(r->str);
}

const char *tsarc_redis_where(const tsarc_redis *r)
{
	return r->where;
}

static void probe_key_free(tsarc_redis *r)
{
	if (r->probe_key)
		OPENSSL_cleanse(r->probe_key, r->probe_keylen);
	free(r->probe_key);
	r->probe_key = NULL;
	r->probe_keylen = 0;
}

int tsarc_redis_probe_key_set(tsarc_redis *r, const void *key, size_t len)
{
	probe_key_free(r);
	if (!key)
		return 0;
	if (!(r->probe_key = malloc(len ? len : 1)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	memcpy(r->probe_key, key, len);
	r->probe_keylen = len;
	return 0;
}

const unsigned char *tsarc_redis_probe_key(const tsarc_redis *r, size_t *len)
{
	*len = r->probe_keylen;
	return r->probe_key;
}

static int io_error(tsarc_redis *r, const char *doing, int err)
{
	if (err == EAGAIN || err == EWOULDBLOCK)
		return tsarc_error_set(TSARC_ENET, "%s at %s: timed out %s", r->what, r->where,
			doing);
	if (!err)
		return tsarc_error_set(TSARC_ENET, "%s at %s closed the connection %s", r->what,
			r->where, doing);
	return tsarc_error_set(TSARC_ENET, "%s at %s: %s %s", r->what, r->where, strerror(err),
		doing);
}

static int tls_error(tsarc_redis *r, const char *doing)
{
	char msg[256] = "";
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, msg, sizeof(msg));
	ERR_clear_error();
	return tsarc_error_set(TSARC_ENET, "%s at %s: TLS %s failed%s%s", r->what, r->where,
		doing, *msg ? ": " : "", msg);
}

static int send_all(tsarc_redis *r, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len) {
		if (r->ssl) {
			size_t n = 0;
			if (SSL_write_ex(r->ssl, p, len, &n) <= 0) {
				int e = errno;
				if (SSL_get_error(r->ssl, 0) == SSL_ERROR_SYSCALL)
					return io_error(r, "sending", e);
				return tls_error(r, "write");
			}
			p += n;
			len -= n;
		} else {
			ssize_t n = send(r->fd, p, len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return io_error(r, "sending", errno);
			}
			p += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

static int recv_some(tsarc_redis *r, void *buf, size_t len, size_t *got)
{
	for (;;) {
		if (r->ssl) {
			size_t n = 0;
			int e;
			if (SSL_read_ex(r->ssl, buf, len, &n) > 0) {
				*got = n;
				return 0;
			}
			e = errno;
			switch (SSL_get_error(r->ssl, 0)) {
			case SSL_ERROR_ZERO_RETURN:
				return io_error(r, "reading", 0);
			case SSL_ERROR_SYSCALL:
				return io_error(r, "reading", ERR_peek_error() ? EIO : e);
			case SSL_ERROR_WANT_READ:
				return io_error(r, "reading", EAGAIN);
			default:
				return tls_error(r, "read");
			}
		} else {
			ssize_t n = recv(r->fd, buf, len, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return io_error(r, "reading", n < 0 ? errno : 0);
			*got = (size_t)n;
			return 0;
		}
	}
}

/* Makes `need` bytes available at r->in + r->in_pos (need <= READBUF). */
static int fill(tsarc_redis *r, size_t need)
{
	if (r->in_len - r->in_pos >= need)
		return 0;
	if (r->in_pos) {
		memmove(r->in, r->in + r->in_pos, r->in_len - r->in_pos);
		r->in_len -= r->in_pos;
		r->in_pos = 0;
	}
	while (r->in_len < need) {
		size_t got = 0;
		int rc = recv_some(r, r->in + r->in_len, READBUF - r->in_len, &got);
		if (rc)
			return rc;
		r->in_len += got;
	}
	return 0;
}

int tsarc_redis_read_line(tsarc_redis *r, char *line, size_t max)
{
	size_t n = 0;
	int rc;

	for (;;) {
		unsigned char c;
		if ((rc = fill(r, 1)))
			return rc;
		c = r->in[r->in_pos++];
		if (c == '\n')
			break;
		if (n + 1 >= max)
			return tsarc_error_set(TSARC_ECORRUPT, "%s at %s: a reply line is too long",
				r->what, r->where);
		line[n++] = (char)c;
	}
	if (n && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return 0;
}

int tsarc_redis_read_some(tsarc_redis *r, void *buf, size_t len, size_t *got)
{
	int rc;

	if (r->in_pos == r->in_len && (rc = fill(r, 1)))
		return rc;
	*got = r->in_len - r->in_pos < len ? r->in_len - r->in_pos : len;
	memcpy(buf, r->in + r->in_pos, *got);
	r->in_pos += *got;
	return 0;
}

static int read_exact(tsarc_redis *r, unsigned char *dst, size_t len)
{
	while (len) {
		size_t got;
		int rc = tsarc_redis_read_some(r, dst, len, &got);
		if (rc)
			return rc;
		dst += got;
		len -= got;
	}
	return 0;
}

static int parse_ll(const char *s, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return !*s || *end || errno ? -1 : 0;
}

static int bad_reply(tsarc_redis *r, const char *why)
{
	return tsarc_error_set(TSARC_ECORRUPT, "%s at %s: malformed reply (%s)", r->what,
		r->where, why);
}

static int read_reply(tsarc_redis *r, tsarc_redis_reply **out, int depth)
{
	char line[512];
	tsarc_redis_reply *rep;
	long long n;
	int rc;

	*out = NULL;
	if ((rc = tsarc_redis_read_line(r, line, sizeof(line))))
		return rc;
	if (!(rep = calloc(1, sizeof(*rep))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	rep->type = line[0];
	switch (line[0]) {
	case '+':
	case '-':
		rep->len = strlen(line + 1);
		if (!(rep->str = strdup(line + 1)))
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		break;
	case ':':
		if (parse_ll(line + 1, &rep->integer))
			rc = bad_reply(r, "integer");
		break;
	case '$':
		if (parse_ll(line + 1, &n) || n < -1 ||
			(n >= 0 && (unsigned long long)n > TSARC_REDIS_BULK_MAX)) {
			rc = bad_reply(r, "bulk length");
		} else if (n == -1) {
			rep->type = TSARC_REDIS_NIL;
		} else if (!(rep->str = malloc((size_t)n + 1))) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		} else {
			unsigned char crlf[2];
			rep->len = (size_t)n;
			rep->str[n] = '\0';
			if (!(rc = read_exact(r, (unsigned char *)rep->str, (size_t)n)) &&
				!(rc = read_exact(r, crlf, 2)) && (crlf[0] != '\r' || crlf[1] != '\n'))
				rc = bad_reply(r, "bulk end");
		}
		break;
	case '*':
		if (parse_ll(line + 1, &n) || n < -1 || n > (long long)ARRAY_MAX ||
			depth >= DEPTH_MAX) {
			rc = bad_reply(r, "array");
		} else if (n == -1) {
			rep->type = TSARC_REDIS_NIL;
		} else if (n && !(rep->elem = calloc((size_t)n, sizeof(*rep->elem)))) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		} else {
			for (; rep->nelem < (size_t)n && !rc; rep->nelem++)
				rc = read_reply(r, &rep->elem[rep->nelem], depth + 1);
		}
		break;
	default:
		rc = bad_reply(r, "type");
	}
	if (rc) {
		tsarc_redis_reply_free(rep);
		return rc;
	}
	*out = rep;
	return 0;
}

int tsarc_redis_flush(tsarc_redis *r)
{
	int rc;

	if (!r->out.size)
		return 0;
	rc = send_all(r, r->out.ptr, r->out.size);
	r->pending += r->out_cmds;
	r->out_cmds = 0;
	tsarc_buf_clear(&r->out);
	return rc;
}

int tsarc_redis_read(tsarc_redis *r, tsarc_redis_reply **out)
{
	int rc;

	*out = NULL;
	if ((rc = tsarc_redis_flush(r)) || (rc = read_reply(r, out, 0)))
		return rc;
	if (r->pending)
		r->pending--;
	return 0;
}

size_t tsarc_redis_pending(const tsarc_redis *r)
{
	return r->pending + r->out_cmds;
}

size_t tsarc_redis_queued(const tsarc_redis *r)
{
	return r->out.size;
}

static int append_bulk(tsarc_buf *b, const char *s, size_t len)
{
	char head[32];
	int rc;

	snprintf(head, sizeof(head), "$%zu\r\n", len);
	if ((rc = tsarc_buf_puts(b, head)) || (rc = tsarc_buf_append(b, s, len)) ||
		(rc = tsarc_buf_append(b, "\r\n", 2)))
		return rc;
	return 0;
}

int tsarc_redis_append(tsarc_redis *r, int argc, const char *const argv[], const size_t lens[])
{
	char head[32];
	int i, rc;

	snprintf(head, sizeof(head), "*%d\r\n", argc);
	if ((rc = tsarc_buf_puts(&r->out, head)))
		return rc;
	for (i = 0; i < argc; i++)
		if ((rc = append_bulk(&r->out, argv[i], lens ? lens[i] : strlen(argv[i]))))
			return rc;
	r->out_cmds++;
	return 0;
}

int tsarc_redis_append_raw(tsarc_redis *r, const void *data, size_t len, size_t ncmds)
{
	int rc = tsarc_buf_append(&r->out, data, len);

	if (!rc)
		r->out_cmds += ncmds;
	return rc;
}

static int vcommand(tsarc_redis *r, tsarc_redis_reply **out, const char *arg0, va_list ap)
{
	const char *argv[16];
	int argc = 0, rc;
	const char *a;

	argv[argc++] = arg0;
	while ((a = va_arg(ap, const char *)) && argc < 16)
		argv[argc++] = a;
	if ((rc = tsarc_redis_append(r, argc, argv, NULL)))
		return rc;
	return tsarc_redis_read(r, out);
}

int tsarc_redis_command(tsarc_redis *r, tsarc_redis_reply **out, const char *arg0, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg0);
	rc = vcommand(r, out, arg0, ap);
	va_end(ap);
	return rc;
}

int tsarc_redis_command_ok(tsarc_redis *r, tsarc_redis_reply **out, const char *what,
	const char *arg0, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg0);
	rc = vcommand(r, out, arg0, ap);
	va_end(ap);
	if (!rc && (*out)->type == '-') {
		rc = tsarc_error_set(TSARC_EIO, "%s at %s: %s: %s", r->what, r->where, what,
			(*out)->str);
		tsarc_redis_reply_free(*out);
		*out = NULL;
	}
	return rc;
}

/* ---- connecting ---- */

static int wait_connected(int fd, int timeout_ms)
{
	struct pollfd p = {fd, POLLOUT, 0};
	int err = 0, n;
	socklen_t len = sizeof(err);

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return ETIMEDOUT;
	if (n < 0)
		return errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	return err;
}

static int set_timeouts(int fd, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A non-blocking connect bounded by `ms`, then blocking again. */
static int connect_fd(const struct sockaddr *sa, socklen_t salen, int family, int ms, int *out)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0, fl;

	if (fd < 0)
		return errno;
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, sa, salen) && (errno != EINPROGRESS || (err = wait_connected(fd, ms)))) {
		if (!err)
			err = errno;
		close(fd);
		return err;
	}
	fcntl(fd, F_SETFL, fl);
	*out = fd;
	return 0;
}

static int open_socket(tsarc_redis *r, const tsarc_redis_opts *o)
{
	int ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000, err = 0;

	if (o->socket) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(o->socket) >= sizeof(sun.sun_path))
			return tsarc_error_set(TSARC_ECONFIG, "%s socket path %s is too long", r->what,
				o->socket);
		memcpy(sun.sun_path, o->socket, strlen(o->socket));
		err = connect_fd((struct sockaddr *)&sun, sizeof(sun), AF_UNIX, ms, &r->fd);
	} else {
		struct addrinfo hints, *res = NULL, *ai;
		char port[16];
		int gai;
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		snprintf(port, sizeof(port), "%d", o->port > 0 ? o->port : 6379);
		if ((gai = getaddrinfo(o->host ? o->host : "127.0.0.1", port, &hints, &res)))
			return tsarc_error_set(TSARC_ENET, "%s at %s: %s", r->what, r->where,
				gai_strerror(gai));
		err = ECONNREFUSED;
		for (ai = res; ai; ai = ai->ai_next)
			if (!(err = connect_fd(ai->ai_addr, ai->ai_addrlen, ai->ai_family, ms, &r->fd)))
				break;
		freeaddrinfo(res);
	}
	if (err)
		return tsarc_error_set(TSARC_ENET, "%s at %s: cannot connect: %s", r->what, r->where,
			strerror(err));
	if (set_timeouts(r->fd, o->io_timeout_ms > 0 ? o->io_timeout_ms : 300000))
		return tsarc_error_set(TSARC_ENET, "%s at %s: %s", r->what, r->where,
			strerror(errno));
	return 0;
}

/* Certificates of a PEM text: into the store (CA) or, the first as the
 * certificate and the rest as its chain (client). */
static int load_pem_certs(tsarc_redis *r, const char *pem, int as_ca)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x;
	int n = 0, ok = 1;

	if (!bio)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	while (ok && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (as_ca)
			ok = X509_STORE_add_cert(SSL_CTX_get_cert_store(r->ctx), x) == 1;
		else if (n == 0)
			ok = SSL_CTX_use_certificate(r->ctx, x) == 1;
		else
			ok = SSL_CTX_add1_chain_cert(r->ctx, x) == 1;
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	ERR_clear_error(); /* the end of the PEM text reads as an error */
	if (!ok || !n)
		return tsarc_error_set(TSARC_ECONFIG, "%s at %s: the TLS %s is not a PEM certificate",
			r->what, r->where, as_ca ? "CA" : "client certificate");
	return 0;
}

static int load_pem_key(tsarc_redis *r, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k;
	int ok;

	if (!bio)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ok = k && SSL_CTX_use_PrivateKey(r->ctx, k) == 1 && SSL_CTX_check_private_key(r->ctx) == 1;
	EVP_PKEY_free(k);
	ERR_clear_error();
	if (!ok)
		return tsarc_error_set(TSARC_ECONFIG, "%s at %s: the TLS client key is not a PEM "
			"private key matching the client certificate", r->what, r->where);
	return 0;
}

static int start_tls(tsarc_redis *r, const tsarc_redis_opts *o)
{
	const char *name = o->server_name ? o->server_name : o->host;
	unsigned char ip[16];
	int is_ip = name && (inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1);
	int rc;

	if (!(r->ctx = SSL_CTX_new(TLS_client_method())))
		return tls_error(r, "setup");
	SSL_CTX_set_min_proto_version(r->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(r->ctx, SSL_VERIFY_PEER, NULL);
	if (o->ca_pem && *o->ca_pem) {
		if ((rc = load_pem_certs(r, o->ca_pem, 1)))
			return rc;
	} else if (SSL_CTX_set_default_verify_paths(r->ctx) != 1) {
		return tls_error(r, "setup");
	}
	if (o->cert_pem && *o->cert_pem && (rc = load_pem_certs(r, o->cert_pem, 0)))
		return rc;
	if (o->key_pem && *o->key_pem && (rc = load_pem_key(r, o->key_pem)))
		return rc;
	if (!(r->ssl = SSL_new(r->ctx)) || SSL_set_fd(r->ssl, r->fd) != 1)
		return tls_error(r, "setup");
	if (name && !o->socket) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(r->ssl);
		if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1 :
			(SSL_set_tlsext_host_name(r->ssl, name) != 1 || SSL_set1_host(r->ssl, name) != 1))
			return tls_error(r, "setup");
	}
	if (SSL_connect(r->ssl) != 1) {
		long v = SSL_get_verify_result(r->ssl);
		if (v != X509_V_OK) {
			ERR_clear_error();
			return tsarc_error_set(TSARC_ENET, "%s at %s: TLS: the server's certificate "
				"is not trusted: %s", r->what, r->where, X509_verify_cert_error_string(v));
		}
		return tls_error(r, "handshake");
	}
	return 0;
}

static int auth(tsarc_redis *r, const tsarc_redis_opts *o)
{
	const char *argv[3];
	tsarc_redis_reply *rep = NULL;
	int argc = 0, rc;

	argv[argc++] = "AUTH";
	if (o->user && *o->user)
		argv[argc++] = o->user;
	/* A user without a password still authenticates as that user (a
	 * nopass user takes any password), never silently as "default". */
	argv[argc++] = o->password ? o->password : "";
	if ((rc = tsarc_redis_append(r, argc, argv, NULL)))
		return rc;
	/* The password is in the output buffer: wipe it once sent. */
	rc = tsarc_redis_flush(r);
	OPENSSL_cleanse(r->out.ptr, r->out.cap);
	if (rc || (rc = tsarc_redis_read(r, &rep)))
		return rc;
	/* Not TSARC_EACCESS: that exit status means the repository's store. */
	if (rep->type == '-')
		rc = tsarc_error_set(TSARC_EIO, "%s at %s: AUTH%s%s refused: %s%s", r->what,
			r->where, o->user && *o->user ? " as " : "", o->user && *o->user ? o->user : "",
			rep->str, o->password ? "" : " (no password is given for this user)");
	tsarc_redis_reply_free(rep);
	return rc;
}

int tsarc_redis_connect(tsarc_redis **out, const tsarc_redis_opts *o, const char *what)
{
	tsarc_redis *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r || !(r->in = malloc(READBUF))) {
		free(r);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	r->fd = -1;
	tsarc_buf_init_wiped(&r->out);
	snprintf(r->what, sizeof(r->what), "%s", what ? what : "Redis");
	if (o->socket)
		snprintf(r->where, sizeof(r->where), "%s", o->socket);
	else
		snprintf(r->where, sizeof(r->where), "%s:%d", o->host ? o->host : "127.0.0.1",
			o->port > 0 ? o->port : 6379);
	/* AUTH with a password, or as a user other than "default" (which a
	 * connection is without AUTH). */
	if ((rc = open_socket(r, o)) || (o->tls && (rc = start_tls(r, o))) ||
		((o->password || (o->user && *o->user && strcmp(o->user, "default"))) &&
			(rc = auth(r, o)))) {
		tsarc_redis_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

void tsarc_redis_close(tsarc_redis *r)
{
	if (!r)
		return;
	if (r->ssl) {
		SSL_shutdown(r->ssl);
		SSL_free(r->ssl);
	}
	SSL_CTX_free(r->ctx);
	if (r->fd >= 0)
		close(r->fd);
	tsarc_buf_dispose(&r->out); /* wiped: a wiped buffer */
	probe_key_free(r);
	free(r->in);
	free(r);
}
