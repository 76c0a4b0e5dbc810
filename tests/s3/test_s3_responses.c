/*
 * How the s3 store reads server answers and retries, against a loopback
 * server with a script of canned responses: the cases a real RGW will not
 * produce on demand (region redirects, clock skew, expired tokens, endless
 * SlowDown, lost answers to conditional PUTs, servers that ignore Range),
 * and what goes on the wire (Content-Length, never chunked, Content-MD5,
 * the payload hash, the same bytes on every retry).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../backends/stores/s3/client.h"
#include "../../backends/stores/s3/s3.h"
#include "../../backends/stores/s3/sigv4.h"
#include "tsarc/errors.h"
#include "tsarc/sys/store.h"
#include "aws_env.h"
#include "cmocka_main.h"


/* TRICKLE: headers announcing `length` bytes, then one byte every 250 ms. */
enum action { REPLY, RESET, STALL, SHORT, TRICKLE };

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

static server srv;


static void hard_close(int fd)
{
	struct linger l = {1, 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Serves one connection until the client closes it or the script says so. */
static void serve_conn(int c)
{
	tsarc_buf in = TSARC_BUF_INIT;

	for (;;) {
		char *end, *cl, head_copy[8192];
		size_t head_len, body_len = 0;
		const canned *r;
		size_t idx;
		int is_head;

		while (!(in.ptr && (end = strstr((char *)in.ptr, "\r\n\r\n")))) {
			char tmp[65536];
			struct pollfd p = {c, POLLIN, 0};
			ssize_t n;
			if (srv.stop || poll(&p, 1, 100) < 0)
				goto out;
			if (!(p.revents & (POLLIN | POLLHUP)))
				continue;
			n = recv(c, tmp, sizeof(tmp), 0);
			if (n <= 0)
				goto out;
			tsarc_buf_append(&in, tmp, (size_t)n);
		}
		head_len = (size_t)(end - (char *)in.ptr) + 4;
		snprintf(head_copy, sizeof(head_copy), "%.*s", (int)head_len, (char *)in.ptr);
		for (cl = head_copy; *cl; cl++)
			if (strncasecmp(cl, "\r\ncontent-length:", 17) == 0)
				body_len = strtoul(cl + 17, NULL, 10);
		while (in.size < head_len + body_len) {
			char tmp[65536];
			ssize_t n = recv(c, tmp, sizeof(tmp), 0);
			if (n <= 0)
				goto out;
			tsarc_buf_append(&in, tmp, (size_t)n);
		}
		pthread_mutex_lock(&srv.lock);
		idx = srv.nreq++;
		if (idx < MAX_REQ) {
			srv.heads[idx] = strdup(head_copy);
			tsarc_buf_append(&srv.bodies[idx], in.ptr + head_len, body_len);
		}
		r = &srv.script[idx < srv.nscript ? idx : srv.nscript - 1];
		pthread_mutex_unlock(&srv.lock);
		is_head = strncmp(head_copy, "HEAD ", 5) == 0;
		memmove(in.ptr, in.ptr + head_len + body_len, in.size - head_len - body_len);
		in.size -= head_len + body_len;
		in.ptr[in.size] = 0;

		if (r->action == RESET) {
			hard_close(c);
			tsarc_buf_dispose(&in);
			return;
		}
		if (r->action == STALL) {
			/* Silent until the client gives up (or 10 s pass). */
			int i;
			for (i = 0; i < 100 && !srv.stop; i++) {
				struct pollfd p = {c, POLLIN, 0};
				char tmp[256];
				if (poll(&p, 1, 100) > 0 && recv(c, tmp, sizeof(tmp), 0) <= 0)
					break;
			}
			goto out;
		}
		if (r->action == TRICKLE) {
			/* 4 bytes a second, until the client hangs up (or 30 s). */
			char hdr[256];
			int i, n = snprintf(hdr, sizeof(hdr),
				"HTTP/1.1 %d Canned\r\nContent-Length: %ld\r\n\r\n",
				r->status, r->length);
			if (write_all(c, hdr, (size_t)n))
				goto out;
			for (i = 0; i < 120 && !srv.stop; i++) {
				struct pollfd p = {c, POLLIN, 0};
				char tmp[256];
				if (poll(&p, 1, 250) > 0 && recv(c, tmp, sizeof(tmp), 0) <= 0)
					break;
				if (write_all(c, "x", 1))
					break;
			}
			goto out;
		}
		{
			char hdr[2048];
			const char *body = r->body ? r->body : "";
			long len = r->length >= 0 ? r->length : (long)strlen(body);
			int n = snprintf(hdr, sizeof(hdr),
				"HTTP/1.1 %d Canned\r\nContent-Length: %ld\r\n%s\r\n", r->status,
				r->action == SHORT ? len + 100 : len, r->headers ? r->headers : "");
			if (write_all(c, hdr, (size_t)n))
				goto out;
			if (!is_head && write_all(c, body, strlen(body)))
				goto out;
			if (r->action == SHORT)
				goto out;
		}
	}
out:
	close(c);
	tsarc_buf_dispose(&in);
}

static void *server_main(void *arg)
{
	(void)arg;
	while (!srv.stop) {
		struct pollfd p = {srv.fd, POLLIN, 0};
		int c;
		if (poll(&p, 1, 100) <= 0)
			continue;
		c = accept(srv.fd, NULL, NULL);
		if (c >= 0)
			serve_conn(c);
	}
	return NULL;
}

static void start(const canned *script, size_t n)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1;

	memset(&srv, 0, sizeof(srv));
	srv.script = script;
	srv.nscript = n;
	pthread_mutex_init(&srv.lock, NULL);
	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(srv.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(srv.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&sa, &len), 0);
	assert_int_equal(listen(srv.fd, 16), 0);
	srv.port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&srv.th, NULL, server_main, NULL), 0);
}

static void stop(void)
{
	size_t i;

	srv.stop = 1;
	pthread_join(srv.th, NULL);
	close(srv.fd);
	for (i = 0; i < MAX_REQ; i++) {
		free(srv.heads[i]);
		tsarc_buf_dispose(&srv.bodies[i]);
	}
	pthread_mutex_destroy(&srv.lock);
}

/* No AWS_* variable of the machine's, and no credentials or config file. */
static void clear_aws_env_and_files(void)
{
	clear_aws_env();
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/x", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/y", 1);
}

/* Opens the store with TSARC_S3_* settings for a test: a 1 s stall
 * timeout, then `env` (NULL-terminated name, value pairs) over it. */
static tsarc_store *open_store_env(const char *retries, const char *const *env)
{
	char url[128];
	tsarc_store *st = NULL;
	size_t i;

	clear_aws_env_and_files();
	setenv("AWS_ACCESS_KEY_ID", "AKCANNED", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "canned-secret", 1);
	setenv("TSARC_S3_MAX_RETRIES", retries, 1);
	setenv("TSARC_S3_STALL_TIMEOUT", "1", 1);
	for (i = 0; env && env[i]; i += 2)
		setenv(env[i], env[i + 1], 1);
	snprintf(url, sizeof(url), "s3:http://127.0.0.1:%u/bkt/p", (unsigned)srv.port);
	if (tsarc_store_open(&st, url, NULL))
		fail_msg("open: %s", tsarc_error_last()->message);
	unsetenv("TSARC_S3_MAX_RETRIES");
	unsetenv("TSARC_S3_STALL_TIMEOUT");
	for (i = 0; env && env[i]; i += 2)
		unsetenv(env[i]);
	return st;
}

static tsarc_store *open_store(const char *retries)
{
	return open_store_env(retries, NULL);
}

static void expect(int rc, int code, const char *must)
{
	const char *msg = tsarc_error_last()->message;

	if (rc != code)
		fail_msg("expected %s, got %s: %s", tsarc_errname(code), tsarc_errname(rc), msg);
	if (must && !strstr(msg, must))
		fail_msg("message lacks '%s': %s", must, msg);
	if (strstr(msg, "canned-secret"))
		fail_msg("message shows the secret: %s", msg);
}

static int has_header(const char *head, const char *line)
{
	const char *p;
	size_t n = strlen(line);

	for (p = head; (p = strstr(p, "\r\n")) != NULL; p += 2)
		if (strncasecmp(p + 2, line, n) == 0)
			return 1;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define START(script) start(script, sizeof(script) / sizeof(script[0]))

static void test_region_redirect(void **state)
{
	static const canned script[] = {{REPLY, 301,
		"x-amz-bucket-region: eu-west-1\r\n",
		"<Error><Code>PermanentRedirect</Code><Message>use the right endpoint"
		"</Message><Endpoint>bkt.s3.eu-west-1.amazonaws.com</Endpoint></Error>", -1}};
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;

	(void)state;
	START(script);
	st = open_store("3");
	expect(tsarc_store_get(st, TSARC_OBJ_CONFIG, NULL, 0, 0, &b), TSARC_ECONFIG,
		"AWS_REGION=eu-west-1");
	assert_int_equal(srv.nreq, 1); /* permanent: no retry */
	tsarc_store_free(st);
	stop();
	tsarc_buf_dispose(&b);
}

static void test_region_in_auth_error(void **state)
{
	static const canned script[] = {{REPLY, 400, NULL,
		"<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region "
		"'us-east-1' is wrong; expecting 'eu-central-1'</Message>"
		"<Region>eu-central-1</Region></Error>", -1}};
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;

	(void)state;
	START(script);
	st = open_store("3");
	expect(tsarc_store_get(st, TSARC_OBJ_CONFIG, NULL, 0, 0, &b), TSARC_ECONFIG,
		"AWS_REGION=eu-central-1");
	assert_int_equal(srv.nreq, 1);
	tsarc_store_free(st);
	stop();
	tsarc_buf_dispose(&b);
}

static void test_permanent_codes(void **state)
{
	static const canned skew[] = {{REPLY, 403, NULL,
		"<Error><Code>RequestTimeTooSkewed</Code></Error>", -1}};
	static const canned token[] = {{REPLY, 400, NULL,
		"<Error><Code>ExpiredToken</Code></Error>", -1}};
	static const canned denied[] = {{REPLY, 403, NULL,
		"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", -1}};
	static const canned nokey[] = {{REPLY, 404, NULL,
		"<Error><Code>NoSuchKey</Code></Error>", -1}};
	static const canned nobucket[] = {{REPLY, 404, NULL,
		"<Error><Code>NoSuchBucket</Code><BucketName>bkt</BucketName></Error>", -1}};
	static const struct {
		const canned *script;
		int code;
		const char *must;
	} cases[] = {
		{skew, TSARC_ECONFIG, "clock"},
		{token, TSARC_EACCESS, "session token"},
		{denied, TSARC_EACCESS, "AKCANNED"},
		{nokey, TSARC_ENOTFOUND, "p/snapshots/s1"},
		{nobucket, TSARC_ENOTFOUND, "bucket 'bkt' does not exist"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tsarc_buf b = TSARC_BUF_INIT;
		tsarc_store *st;
		start(cases[i].script, 1);
		st = open_store("3");
		expect(tsarc_store_get(st, TSARC_OBJ_SNAPSHOT, "s1", 0, 0, &b),
			cases[i].code, cases[i].must);
		assert_int_equal(srv.nreq, 1);
		assert_int_equal(b.size, 0);
		tsarc_store_free(st);
		stop();
		tsarc_buf_dispose(&b);
	}
}

static void test_slowdown_gives_up(void **state)
{
	static const canned script[] = {{REPLY, 503, NULL,
		"<Error><Code>SlowDown</Code><Message>Please reduce your request rate."
		"</Message></Error>", -1}};
	tsarc__s3_stats stats;
	tsarc_store *st;

	(void)state;
	START(script);
	st = open_store("3");
	expect(tsarc_store_put(st, TSARC_OBJ_SNAPSHOT, "s1", "x", 1, 0),
		TSARC_ETRANSIENT, "SlowDown");
	assert_non_null(strstr(tsarc_error_last()->message, "4 attempts"));
	assert_int_equal(srv.nreq, 4);
	assert_int_equal(tsarc__s3_stats_get(st, &stats), 0);
	assert_int_equal(stats.retries, 3);
	tsarc_store_free(st);
	stop();
}

static void test_put_retry_resends_same_bytes(void **state)
{
	static const canned script[] = {
		{REPLY, 500, NULL, "<Error><Code>InternalError</Code></Error>", -1},
		{RESET, 0, NULL, NULL, -1},
		{REPLY, 200, "ETag: \"x\"\r\n", "", -1},
	};
	unsigned char data[70000];
	char hash[65], md5[25], line[128];
	tsarc_store *st;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 31 + 7);
	tsarc__sha256_hex(hash, data, sizeof(data));
	tsarc__md5_base64(md5, NULL, data, sizeof(data));
	START(script);
	st = open_store("3");
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_INDEX, "i1", data, sizeof(data), 0), 0);
	assert_int_equal(srv.nreq, 3);
	for (i = 0; i < 3; i++) {
		const char *h = srv.heads[i];
		assert_true(strncmp(h, "PUT /bkt/p/index/i1 HTTP/1.1\r\n", 30) == 0);
		snprintf(line, sizeof(line), "content-length: %zu\r\n", sizeof(data));
		assert_true(has_header(h, line));
		snprintf(line, sizeof(line), "content-md5: %s\r\n", md5);
		assert_true(has_header(h, line));
		snprintf(line, sizeof(line), "x-amz-content-sha256: %s\r\n", hash);
		assert_true(has_header(h, line));
		assert_true(has_header(h, "authorization: AWS4-HMAC-SHA256 Credential=AKCANNED/"));
		assert_false(has_header(h, "transfer-encoding"));
		assert_false(has_header(h, "expect"));
		assert_int_equal(srv.bodies[i].size, sizeof(data));
		assert_memory_equal(srv.bodies[i].ptr, data, sizeof(data));
	}
	tsarc_store_free(st);
	stop();
}

static void test_stall_is_cut_short(void **state)
{
	static const canned script[] = {{STALL, 0, NULL, NULL, -1}};
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;
	double t0;

	(void)state;
	START(script);
	st = open_store("1");
	t0 = now_s();
	expect(tsarc_store_get(st, TSARC_OBJ_CONFIG, NULL, 0, 0, &b), TSARC_ENET,
		"2 attempts");
	/* two stalls cut after about 1 s each (TSARC_S3_STALL_TIMEOUT=1), where
	 * the server would have stayed silent for 10 s each */
	assert_true(now_s() - t0 < 7.0);
	assert_int_equal(srv.nreq, 2);
	tsarc_store_free(st);
	stop();
	tsarc_buf_dispose(&b);
}

static void test_retry_deadline(void **state)
{
	static const canned script[] = {{STALL, 0, NULL, NULL, -1}};
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;
	double t0, dt;

	(void)state;
	START(script);
	setenv("TSARC_S3_RETRY_DEADLINE", "2", 1);
	st = open_store("20");
	unsetenv("TSARC_S3_RETRY_DEADLINE");
	t0 = now_s();
	expect(tsarc_store_get(st, TSARC_OBJ_CONFIG, NULL, 0, 0, &b), TSARC_ENET,
		"gave up");
	dt = now_s() - t0;
	/* 20 retries allowed, but none starts 2 s after the first attempt */
	assert_true(dt < 6.0);
	assert_true(srv.nreq < 5);
	tsarc_store_free(st);
	stop();
	tsarc_buf_dispose(&b);
}

/* A server that sends 4 bytes a second for as long as anyone listens: each
 * attempt is cut once it falls behind the throughput floor, and the request
 * gives up at the retry deadline instead of hanging. */
static void test_trickle_is_cut(void **state)
{
	static const canned script[] = {{TRICKLE, 200, NULL, NULL, 1000000}};
	static const char *const env[] = {
		"TSARC_S3_ATTEMPT_TIMEOUT", "1", "TSARC_S3_MIN_THROUGHPUT", "1000",
		"TSARC_S3_RETRY_DEADLINE", "4", NULL};
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;
	double t0, dt;

	(void)state;
	START(script);
	st = open_store_env("20", env);
	t0 = now_s();
	expect(tsarc_store_get(st, TSARC_OBJ_CONFIG, NULL, 0, 0, &b), TSARC_ENET,
		"gave up");
	dt = now_s() - t0;
	/* each attempt would otherwise trickle on for 30 s */
	assert_true(dt < 10.0);
	/* attempts cut for slowness are retried: about 1 s each, 4 s in all */
	assert_true(srv.nreq >= 2);
	assert_int_equal(b.size, 0);
	tsarc_store_free(st);
	stop();
	tsarc_buf_dispose(&b);
}

/* The retry deadline holds inside an attempt too: a silent server, and a
 * trickling one, are cut when it passes (2 s, plus 1 s for the 1 MB the
 * trickle announces at 1 MB/s), although neither the stall timeout nor
 * the floor (after 60 s) would cut them yet. */
static void test_deadline_cuts_an_attempt(void **state)
{
	static const canned silent[] = {{STALL, 0, NULL, NULL, -1}};
	static const canned trickle[] = {{TRICKLE, 200, NULL, NULL, 1000000}};
	static const char *const env[] = {
		"TSARC_S3_STALL_TIMEOUT", "60", "TSARC_S3_ATTEMPT_TIMEOUT", "60",
		"TSARC_S3_MIN_THROUGHPUT", "1000000", "TSARC_S3_RETRY_DEADLINE", "2", NULL};
	const canned *scripts[] = {silent, trickle};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		tsarc_buf b = TSARC_BUF_INIT;
		tsarc_store *st;
		double t0, dt;

		start(scripts[i], 1);
		st = open_store_env("5", env);
		t0 = now_s();
		expect(tsarc_store_get(st, TSARC_OBJ_CONFIG, NULL, 0, 0, &b),
			TSARC_ENET, "TSARC_S3_RETRY_DEADLINE");
		dt = now_s() - t0;
		/* the server stays silent for 10 s, or trickles for 30 s */
		if (dt < 1.5 || dt > 6.0)
			fail_msg("case %zu: gave up after %.1f s, not at the deadline",
				i, dt);
		assert_int_equal(srv.nreq, 1);
		tsarc_store_free(st);
		stop();
		tsarc_buf_dispose(&b);
	}
}

static void test_short_body_is_retried(void **state)
{
	static const canned script[] = {
		{SHORT, 200, NULL, "hel", -1},
		{REPLY, 200, NULL, "hello", -1},
	};
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;

	(void)state;
	START(script);
	st = open_store("3");
	tsarc_buf_append(&b, ">", 1);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_CONFIG, NULL, 0, 0, &b), 0);
	/* the partial first body is gone; what was in the buffer stays */
	assert_int_equal(b.size, 6);
	assert_memory_equal(b.ptr, ">hello", 6);
	assert_int_equal(srv.nreq, 2);
	tsarc_store_free(st);
	stop();
	tsarc_buf_dispose(&b);
}

static void test_create_only(void **state)
{
	/* The first PUT lands but its answer is lost; the retry then meets
	 * its own object: 412, and a HEAD shows our bytes (ETag = MD5). */
	char md5hex[33], md5b64[25], etag[128];
	canned script[] = {
		{RESET, 0, NULL, NULL, -1},
		{REPLY, 412, NULL, "<Error><Code>PreconditionFailed</Code></Error>", -1},
		{REPLY, 200, etag, "", 4},
	};
	static const canned taken[] = {
		{REPLY, 412, NULL, "<Error><Code>PreconditionFailed</Code></Error>", -1},
	};
	tsarc_store *st;

	(void)state;
	tsarc__md5_base64(md5b64, md5hex, "lock", 4);
	snprintf(etag, sizeof(etag), "ETag: \"%s\"\r\n", md5hex);
	START(script);
	st = open_store("3");
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_LOCK, "l1", "lock", 4,
				 TSARC_PUT_CREATE_ONLY), 0);
	assert_int_equal(srv.nreq, 3);
	assert_true(has_header(srv.heads[0], "if-none-match: *\r\n"));
	assert_true(has_header(srv.heads[1], "if-none-match: *\r\n"));
	assert_true(strncmp(srv.heads[2], "HEAD /bkt/p/locks/l1 ", 21) == 0);
	tsarc_store_free(st);
	stop();

	/* Someone else's object: EEXISTS at once, no HEAD. */
	START(taken);
	st = open_store("3");
	expect(tsarc_store_put(st, TSARC_OBJ_LOCK, "l1", "lock", 4, TSARC_PUT_CREATE_ONLY),
		TSARC_EEXISTS, "locks/l1");
	assert_int_equal(srv.nreq, 1);
	tsarc_store_free(st);
	stop();
}

/* Encryption and storage class go on every object PUT (retries included),
 * signed; never on reads or on the bucket's creation. */
static void test_put_options(void **state)
{
	static const canned script[] = {
		{REPLY, 503, NULL, "<Error><Code>SlowDown</Code></Error>", -1},
		{REPLY, 200, NULL, "", -1},
		{REPLY, 200, NULL, "data", -1},
		{REPLY, 404, NULL, "", -1},
		{REPLY, 200, NULL, "", -1},
	};
	static const char *const env[] = {"TSARC_S3_SSE", "aws:kms",
		"TSARC_S3_SSE_KMS_KEY_ID", "arn:aws:kms:eu-west-1:111122223333:key/k-1",
		"TSARC_S3_STORAGE_CLASS", "STANDARD_IA", NULL};
	static const char *const lines[] = {"x-amz-server-side-encryption: aws:kms\r\n",
		"x-amz-server-side-encryption-aws-kms-key-id: "
		"arn:aws:kms:eu-west-1:111122223333:key/k-1\r\n",
		"x-amz-storage-class: STANDARD_IA\r\n"};
	tsarc_buf out = TSARC_BUF_INIT;
	tsarc_store *st;
	size_t i, r;

	(void)state;
	START(script);
	st = open_store_env("2", env);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_DATA, "ab12", "data", 4, 0), 0);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_DATA, "ab12", 0, 0, &out), 0);
	assert_int_equal(tsarc_store_create(st), 0);
	assert_int_equal(srv.nreq, 5);
	for (r = 0; r < 2; r++) {
		assert_true(strncmp(srv.heads[r], "PUT /bkt/p/data/ab/ab12 ", 24) == 0);
		for (i = 0; i < 3; i++)
			if (!has_header(srv.heads[r], lines[i]))
				fail_msg("PUT %zu lacks %s", r, lines[i]);
		assert_non_null(strstr(srv.heads[r],
			"x-amz-server-side-encryption;x-amz-server-side-encryption-aws-kms-key-id;"
			"x-amz-storage-class,"));
	}
	for (r = 2; r < 5; r++)
		if (strstr(srv.heads[r], "x-amz-s"))
			fail_msg("request %zu carries PUT options: %.60s", r, srv.heads[r]);
	assert_true(strncmp(srv.heads[4], "PUT /bkt ", 9) == 0);
	tsarc_buf_dispose(&out);
	tsarc_store_free(st);
	stop();

	/* A typo fails at open, before any request. */
	{
		static const char *const bad[] = {"TSARC_S3_SSE", "AES-256", NULL};
		char url[128];
		size_t k;

		clear_aws_env();
		setenv("AWS_ACCESS_KEY_ID", "AKCANNED", 1);
		setenv("AWS_SECRET_ACCESS_KEY", "canned-secret", 1);
		for (k = 0; bad[k]; k += 2)
			setenv(bad[k], bad[k + 1], 1);
		snprintf(url, sizeof(url), "s3:http://127.0.0.1:1/bkt/p");
		expect(tsarc_store_open(&st, url, NULL), TSARC_ECONFIG, "AES-256");
		unsetenv("TSARC_S3_SSE");
	}
}

/* Temporary keys the server calls expired are renewed at once and the
 * request is tried again with the new ones, token included. */
static void test_expired_token_renews(void **state)
{
	static const canned script[] = {
		{REPLY, 200, NULL, "{\"AccessKeyId\":\"ASIAOLD\",\"SecretAccessKey\":\"s-old\","
			"\"Token\":\"tok-old\",\"Expiration\":\"2099-01-01T00:00:00Z\"}", -1},
		/* (closed: the canned server serves one connection at a time) */
		{REPLY, 400, "Connection: close\r\n", "<Error><Code>ExpiredToken</Code></Error>", -1},
		{REPLY, 200, NULL, "{\"AccessKeyId\":\"ASIANEW\",\"SecretAccessKey\":\"s-new\","
			"\"Token\":\"tok-new\",\"Expiration\":\"2099-01-01T00:00:00Z\"}", -1},
		{REPLY, 200, NULL, "", -1},
	};
	char uri[96];
	const char *env[] = {"AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, NULL};
	tsarc_store *st;

	(void)state;
	START(script);
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/creds", (unsigned)srv.port);
	st = open_store_env("2", env);
	/* A renewal reads the environment again, as at open. */
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
	expect(tsarc_store_put(st, TSARC_OBJ_DATA, "ab12", "data", 4, 0), 0, NULL);
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	assert_int_equal(srv.nreq, 4);
	assert_true(strncmp(srv.heads[0], "GET /creds ", 11) == 0);
	assert_non_null(strstr(srv.heads[1], "Credential=ASIAOLD/"));
	assert_true(has_header(srv.heads[1], "x-amz-security-token: tok-old\r\n"));
	assert_true(strncmp(srv.heads[2], "GET /creds ", 11) == 0);
	assert_non_null(strstr(srv.heads[3], "Credential=ASIANEW/"));
	assert_true(has_header(srv.heads[3], "x-amz-security-token: tok-new\r\n"));
	tsarc_store_free(st);
	stop();
}

/* A credentials answer the parser refuses: the message names the endpoint
 * once, then the parser's reason, with one separator between them. */
static void test_bad_credentials_answer(void **state)
{
	static const canned script[] = {
		{REPLY, 200, NULL, "{\"AccessKeyId\":\"ASIAHALF\"}", -1},
	};
	char uri[96], url[128];
	tsarc_store *st = NULL;
	const char *msg;

	(void)state;
	START(script);
	clear_aws_env_and_files();
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/creds", (unsigned)srv.port);
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, 1);
	snprintf(url, sizeof(url), "s3:http://127.0.0.1:%u/bkt/p", (unsigned)srv.port);
	assert_int_equal(tsarc_store_open(&st, url, NULL), TSARC_EIO);
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	msg = tsarc_error_last()->message;
	if (!strstr(msg, "container credentials endpoint") ||
	    !strstr(msg, "/creds: the credentials answer lacks") || strstr(msg, ": :"))
		fail_msg("message: %s", msg);
	assert_null(st);
	stop();
}

static void test_ranges(void **state)
{
	static const canned ignored[] = {{REPLY, 200, NULL, "0123456789", -1}};
	static const canned at_end[] = {
		{REPLY, 416, NULL, "<Error><Code>InvalidRange</Code></Error>", -1},
		{REPLY, 200, NULL, "", 10},
	};
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;

	(void)state;
	START(ignored);
	st = open_store("0");
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_INDEX, "i", 3, 4, &b), 0);
	assert_int_equal(b.size, 4);
	assert_memory_equal(b.ptr, "3456", 4);
	assert_true(has_header(srv.heads[0], "range: bytes=3-6\r\n"));
	tsarc_buf_clear(&b);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_INDEX, "i", 8, 0, &b), 0);
	assert_int_equal(b.size, 2);
	assert_true(has_header(srv.heads[1], "range: bytes=8-\r\n"));
	tsarc_store_free(st);
	stop();

	START(at_end);
	st = open_store("0");
	tsarc_buf_clear(&b);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_INDEX, "i", 10, 0, &b), 0);
	assert_int_equal(b.size, 0);
	assert_int_equal(srv.nreq, 2);
	tsarc_store_free(st);
	stop();
	tsarc_buf_dispose(&b);
}

static void test_delete_batches(void **state)
{
	static const canned ok[] = {{REPLY, 200, NULL,
		"<DeleteResult><Error><Key>p/data/00/00ab</Key><Code>NoSuchKey</Code>"
		"</Error></DeleteResult>", -1}};
	static const canned denied[] = {{REPLY, 200, NULL,
		"<DeleteResult><Error><Key>p/data/00/00ab</Key><Code>AccessDenied</Code>"
		"<Message>Access Denied</Message></Error></DeleteResult>", -1}};
	const char **names = calloc(2500, sizeof(*names));
	char (*buf)[16] = calloc(2500, sizeof(*buf));
	tsarc_store *st;
	size_t i;

	(void)state;
	for (i = 0; i < 2500; i++) {
		snprintf(buf[i], sizeof(buf[i]), "%02zx%06zx", i & 0xff, i);
		names[i] = buf[i];
	}
	START(ok);
	st = open_store("0");
	assert_int_equal(tsarc_store_remove_many(st, TSARC_OBJ_DATA, names, 2500), 0);
	assert_int_equal(srv.nreq, 3); /* 1000 + 1000 + 500 */
	for (i = 0; i < 3; i++) {
		const char *body = (const char *)srv.bodies[i].ptr;
		size_t keys = 0;
		const char *p;
		char md5[25], line[64];
		assert_true(strncmp(srv.heads[i], "POST /bkt?delete= HTTP/1.1", 26) == 0);
		tsarc__md5_base64(md5, NULL, body, srv.bodies[i].size);
		snprintf(line, sizeof(line), "content-md5: %s\r\n", md5);
		assert_true(has_header(srv.heads[i], line));
		assert_non_null(strstr(body, "<Quiet>true</Quiet>"));
		for (p = body; (p = strstr(p, "<Key>")) != NULL; p++)
			keys++;
		assert_int_equal(keys, i < 2 ? 1000 : 500);
	}
	assert_non_null(strstr((const char *)srv.bodies[0].ptr, "<Key>p/data/00/00000000</Key>"));
	tsarc_store_free(st);
	stop();

	START(denied);
	st = open_store("0");
	expect(tsarc_store_remove_many(st, TSARC_OBJ_DATA, names, 10), TSARC_EACCESS,
		"AccessDenied");
	tsarc_store_free(st);
	stop();
	free(names);
	free(buf);
}

#define LIST_PAGE(more, key)                                                 \
	"<ListBucketResult><Name>bkt</Name>" more                            \
	"<Contents><Key>p/snapshots/" key "</Key><Size>7</Size>"             \
	"<LastModified>2026-11-30T12:00:00.000Z</LastModified></Contents>"   \
	"</ListBucketResult>"
#define MORE(token) "<IsTruncated>true</IsTruncated><NextContinuationToken>" \
	token "</NextContinuationToken>"
#define LAST "<IsTruncated>false</IsTruncated>"

typedef struct listed {
	char names[8][16];
	size_t count;
} listed;

/* Stops an endless listing after 50 names, so a loop fails the test
 * instead of hanging it. */
static int collect(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	listed *l = payload;

	assert_int_equal(size, 7);
	assert_true(mtime == 1796040000); /* 2026-11-30T12:00:00Z */
	if (l->count < 8)
		snprintf(l->names[l->count], sizeof(l->names[0]), "%s", name);
	return ++l->count >= 50 ? tsarc_error_set(TSARC_ECANCELED, "listing never ends")
				: 0;
}

static void test_list_pages(void **state)
{
	static const canned script[] = {
		{REPLY, 200, NULL, LIST_PAGE(MORE("tok-A"), "s1"), -1},
		{REPLY, 200, NULL, LIST_PAGE(MORE("tok-B"), "s2"), -1},
		{REPLY, 200, NULL, LIST_PAGE(LAST, "s3"), -1},
	};
	listed l = {0};
	tsarc_store *st;

	(void)state;
	START(script);
	st = open_store("0");
	assert_int_equal(tsarc_store_list(st, TSARC_OBJ_SNAPSHOT, collect, &l), 0);
	assert_int_equal(l.count, 3);
	assert_string_equal(l.names[0], "s1");
	assert_string_equal(l.names[2], "s3");
	assert_int_equal(srv.nreq, 3);
	assert_null(strstr(srv.heads[0], "continuation-token"));
	assert_non_null(strstr(srv.heads[1], "continuation-token=tok-A&"));
	assert_non_null(strstr(srv.heads[2], "continuation-token=tok-B&"));
	tsarc_store_free(st);
	stop();
}

/* A server whose listing goes round in a circle (the same token again, or
 * back to an earlier one), or that says "more" without a token: an error
 * naming the problem, never an endless loop or a listing cut short. */
static void test_list_never_ends(void **state)
{
	static const canned same[] = {
		{REPLY, 200, NULL, LIST_PAGE(MORE("tok-A"), "s1"), -1},
	};
	static const canned circle[] = {
		{REPLY, 200, NULL, LIST_PAGE(MORE("tok-A"), "s1"), -1},
		{REPLY, 200, NULL, LIST_PAGE(MORE("tok-B"), "s2"), -1},
		{REPLY, 200, NULL, LIST_PAGE(MORE("tok-A"), "s3"), -1},
	};
	static const canned no_token[] = {
		{REPLY, 200, NULL, LIST_PAGE("<IsTruncated>true</IsTruncated>", "s1"), -1},
	};
	static const struct {
		const canned *script;
		size_t n;
		const char *must;
		size_t max_names;
	} cases[] = {
		{same, 1, "continuation token 'tok-A' again", 1},
		{circle, 3, "continuation token 'tok-A' again", 2},
		{no_token, 1, "no continuation token", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		listed l = {0};
		tsarc_store *st;

		start(cases[i].script, cases[i].n);
		st = open_store("0");
		expect(tsarc_store_list(st, TSARC_OBJ_SNAPSHOT, collect, &l), TSARC_EIO,
			cases[i].must);
		assert_non_null(strstr(tsarc_error_last()->message, "p/snapshots/"));
		/* the names of a page seen again are not handed out twice */
		assert_true(l.count <= cases[i].max_names);
		tsarc_store_free(st);
		stop();
	}
}

/* The client with a caller's keys (a component's Secret), none in the
 * environment: requests are signed with them; further headers are signed
 * and sent; the answer's headers come back; a header that could end the
 * request's head is refused before anything is sent. */
static void test_client_keys_and_headers(void **state)
{
	static const canned script[] = {
		{REPLY, 200, NULL, "", -1},
		{REPLY, 200, "Content-Type: text/plain\r\nx-amz-meta-owner: ann\r\n", "hi", -1},
	};
	tsarc__s3_creds keys = {"AKFROMSECRET", "secret-from-secret", NULL, "eu-west-1",
		"Secret aws-auth", 0};
	tsarc__s3_kv hdrs[2] = {{"content-type", "text/plain"}, {"x-amz-meta-owner", "ann"}};
	tsarc__s3_kv evil[1] = {{"x-amz-meta-a", "b\r\nx-injected: 1"}};
	tsarc_buf body = TSARC_BUF_INIT, hout = TSARC_BUF_INIT;
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	tsarc__s3_client *c;
	char url[128];

	(void)state;
	START(script);
	clear_aws_env_and_files();
	snprintf(url, sizeof(url), "s3:http://127.0.0.1:%u/bkt", (unsigned)srv.port);
	if (tsarc__s3_client_open_keys(&c, url, NULL, 2, &keys))
		fail_msg("open: %s", tsarc_error_last()->message);
	rq.method = "PUT";
	rq.key = "a b/c";
	rq.headers = evil;
	rq.nheaders = 1;
	rq.body = "hi";
	rq.body_len = 2;
	rq.has_body = 1;
	expect(tsarc__s3_perform(c, &rq, &resp), TSARC_EINVAL, "x-amz-meta-a");
	assert_int_equal(srv.nreq, 0);
	rq.headers = hdrs;
	rq.nheaders = 2;
	assert_int_equal(tsarc__s3_perform(c, &rq, &resp), 0);
	assert_int_equal(resp.status, 200);
	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.key = "a b/c";
	rq.out = &body;
	rq.headers_out = &hout;
	assert_int_equal(tsarc__s3_perform(c, &rq, &resp), 0);
	assert_int_equal(srv.nreq, 2);
	assert_true(strncmp(srv.heads[0], "PUT /bkt/a%20b/c HTTP/1.1\r\n", 27) == 0);
	assert_true(has_header(srv.heads[0], "authorization: AWS4-HMAC-SHA256 "
					     "Credential=AKFROMSECRET/"));
	assert_non_null(strstr(srv.heads[0], "/eu-west-1/s3/aws4_request"));
	assert_non_null(strstr(srv.heads[0], "SignedHeaders=content-md5;content-type;host;"));
	assert_non_null(strstr(srv.heads[0], "x-amz-meta-owner"));
	assert_true(has_header(srv.heads[0], "content-type: text/plain\r\n"));
	assert_true(has_header(srv.heads[0], "x-amz-meta-owner: ann\r\n"));
	assert_int_equal(body.size, 2);
	assert_non_null(strstr((const char *)hout.ptr, "x-amz-meta-owner: ann\r\n"));
	assert_non_null(strstr((const char *)hout.ptr, "Content-Type: text/plain\r\n"));
	tsarc_buf_dispose(&body);
	tsarc_buf_dispose(&hout);
	tsarc__s3_client_free(c);
	stop();
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_region_redirect),
	cmocka_unit_test(test_region_in_auth_error),
	cmocka_unit_test(test_permanent_codes),
	cmocka_unit_test(test_slowdown_gives_up),
	cmocka_unit_test(test_put_retry_resends_same_bytes),
	cmocka_unit_test(test_stall_is_cut_short),
	cmocka_unit_test(test_retry_deadline),
	cmocka_unit_test(test_trickle_is_cut),
	cmocka_unit_test(test_deadline_cuts_an_attempt),
	cmocka_unit_test(test_short_body_is_retried),
	cmocka_unit_test(test_create_only),
	cmocka_unit_test(test_put_options),
	cmocka_unit_test(test_expired_token_renews),
	cmocka_unit_test(test_bad_credentials_answer),
	cmocka_unit_test(test_ranges),
	cmocka_unit_test(test_delete_batches),
	cmocka_unit_test(test_list_pages),
	cmocka_unit_test(test_list_never_ends),
	cmocka_unit_test(test_client_keys_and_headers))
