#include "tls_once_server.h"
#include "privdir.h"
#include "scratch.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct tls_once_server {
	int fd;
	unsigned short port;
	pthread_t th;
	SSL_CTX *ctx;
	const char *answer;
	char dir[300], ca_file[330]; /* a scratch folder under $TMPDIR */
};

/* A self-signed certificate for IP 127.0.0.1, its own CA. */
static X509 *make_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	X509_EXTENSION *e;
	static const char *const exts[][2] = {
		{"subjectAltName", "IP:127.0.0.1"}, {"basicConstraints", "critical,CA:TRUE"}};
	size_t i;

	assert_non_null(x);
	assert_true(X509_set_version(x, 2));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 1));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	name = X509_get_subject_name(x);
	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		(const unsigned char *)"127.0.0.1", -1, -1, 0));
	assert_true(X509_set_issuer_name(x, name));
	assert_true(X509_set_pubkey(x, key));
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		assert_non_null(e = X509V3_EXT_nconf(NULL, &v3, exts[i][0], exts[i][1]));
		assert_true(X509_add_ext(x, e, -1));
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static void *serve(void *arg)
{
	tls_once_server *s = arg;
	char req[4096];
	size_t got = 0;
	int c, n;
	SSL *ssl;

	if ((c = accept(s->fd, NULL, NULL)) < 0)
		return NULL;
	if ((ssl = SSL_new(s->ctx)) && SSL_set_fd(ssl, c) == 1 && SSL_accept(ssl) == 1) {
		while (got < sizeof(req) - 1 &&
		       (n = SSL_read(ssl, req + got, (int)(sizeof(req) - 1 - got))) > 0) {
			got += (size_t)n;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		SSL_write(ssl, s->answer, (int)strlen(s->answer));
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	close(c);
	return NULL;
}

tls_once_server *tls_once_start(const char *answer)
{
	tls_once_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	EVP_PKEY *key;
	X509 *cert;
	FILE *f;

	assert_non_null(s);
	s->answer = answer;
	assert_non_null(key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	cert = make_cert(key);
	assert_non_null(s->ctx = SSL_CTX_new(TLS_server_method()));
	assert_int_equal(SSL_CTX_use_certificate(s->ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, key), 1);
	assert_non_null(scratch_make(s->dir, sizeof(s->dir), "tlsonce"));
	snprintf(s->ca_file, sizeof(s->ca_file), "%s/ca.pem", s->dir);
	assert_non_null(f = fopen(s->ca_file, "wx"));
	assert_true(PEM_write_X509(f, cert));
	assert_int_equal(fclose(f), 0);
	/* Every tsarc that makes a private folder first removes those of a
	 * dead owner under TMPDIR (privdir.h): this one, unlocked, must not
	 * look like one: tsarc-tlsonce-*, not the sweep's tsarc-tls-. Named
	 * tsarc-tls-once-*, it did, and a TLS test running beside this one
	 * removed the CA file under it. */
	tsarc_privdir_sweep();
	assert_int_equal(access(s->ca_file, R_OK), 0);
	X509_free(cert);
	EVP_PKEY_free(key);

	assert_true((s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 4), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
	return s;
}

unsigned short tls_once_port(const tls_once_server *s)
{
	return s->port;
}

const char *tls_once_ca_file(const tls_once_server *s)
{
	return s->ca_file;
}

void tls_once_stop(tls_once_server *s)
{
	shutdown(s->fd, SHUT_RDWR); /* an accept() still waiting returns */
	pthread_join(s->th, NULL);
	close(s->fd);
	scratch_remove(s->dir);
	SSL_CTX_free(s->ctx);
	free(s);
}
