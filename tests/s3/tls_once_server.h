#ifndef TSARC_TESTS_S3_TLS_ONCE_SERVER_H
#define TSARC_TESTS_S3_TLS_ONCE_SERVER_H

/*
 * A loopback HTTPS server for one request, for the tests of what a TLS
 * connection leaves behind: a certificate for 127.0.0.1 made when it
 * starts (its PEM in a file for the client's CA bundle), one connection
 * accepted on its own thread, the request read to its blank line, one
 * canned answer written, the connection shut down.
 */

typedef struct tls_once_server tls_once_server;

/* Starts it with `answer` (a whole HTTP response, kept by the caller
 * until tls_once_stop). Fails the test if it cannot. */
tls_once_server *tls_once_start(const char *answer);
unsigned short tls_once_port(const tls_once_server *s);
/* The file holding the server's certificate (PEM). */
const char *tls_once_ca_file(const tls_once_server *s);
/* Waits for the connection to end, removes the file, frees it all. */
void tls_once_stop(tls_once_server *s);

#endif
