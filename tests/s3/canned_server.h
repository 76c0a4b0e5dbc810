#ifndef TSARC_TESTS_S3_CANNED_SERVER_H
#define TSARC_TESTS_S3_CANNED_SERVER_H

/*
 * A loopback HTTP server with a script of canned responses, for the s3
 * tests of what a real RGW will not produce on demand (region redirects,
 * expired tokens, endless SlowDown, stalls, short bodies...). It serves
 * one connection at a time, answers the n-th request with the n-th entry
 * of the script (the last one again once the script runs out) and keeps
 * the head and body of the first MAX_REQ requests for the test to read.
 * One server per test program at a time: srv_start .. srv_stop.
 */

#include <pthread.h>
#include <stddef.h>

#include "tsarc/buf.h"
#include "tsarc/sys/store.h"
#include "aws_env.h" /* clear_aws_env_and_files, set_env, unset_env */

/* TRICKLE: headers announcing `length` bytes, then one byte every 250 ms.
 * CLOSED: no Content-Length (`headers` may say chunked), the body, then
 * the connection closed. NUMBERED: REPLY, the body's first "%zu" replaced
 * by the request's number (a server that never says the same thing
 * twice). */
enum action { REPLY, RESET, STALL, SHORT, TRICKLE, CLOSED, NUMBERED };

typedef struct canned {
	enum action action;
	int status;
	const char *headers; /* extra lines, each ending in \r\n */
	const char *body;
	long length;         /* Content-Length to announce; -1: the body's */
} canned;

#define MAX_REQ 16

typedef struct server {
	int fd;
	unsigned short port;
	pthread_t th;
	const canned *script;
	size_t nscript;
	pthread_mutex_t lock;
	size_t nreq;
	char *heads[MAX_REQ];
	tsarc_buf bodies[MAX_REQ];
	volatile int stop;
} server;

extern server srv;

void srv_start(const canned *script, size_t n);
void srv_stop(void);
#define START(script) srv_start(script, sizeof(script) / sizeof(script[0]))

/* Opens the store on the canned server with the keys AKCANNED /
 * canned-secret and TSARC_S3_* settings for a test: `retries`, a 1 s
 * stall timeout, then `env` (set_env) over it; fails the test if the
 * open fails. */
tsarc_store *open_store_env(const char *retries, const char *const *env);
tsarc_store *open_store(const char *retries);
/* Frees the store, then stops the server. */
void close_store(tsarc_store *st);

/* rc must be `code`, the last error's message must hold `must` (unless
 * NULL) and must never show the canned secret. */
void expect(int rc, int code, const char *must);

/* Serves `script` (n entries), opens the store on it (open_store_env with
 * `retries` and `env`) and GETs the snapshot `snapshot`, or the config
 * when NULL: the GET must be refused with `code` and a message holding
 * `must` (expect), and hand out no byte. Returns how long the GET took,
 * in seconds; the server keeps running, so that the test can read srv
 * before srv_stop(). */
double get_refused(const canned *script, size_t n, const char *retries,
	const char *const *env, const char *snapshot, int code, const char *must);

/* Whether a request head has a header line starting with `line`
 * (case-insensitive). */
int has_header(const char *head, const char *line);

/* The monotonic clock in seconds. */
double now_s(void);

#endif
