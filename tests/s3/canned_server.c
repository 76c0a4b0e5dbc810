/*
 * The canned server of canned_server.h and the helpers the tests share
 * around it: opening the store on it, checking an error, reading a
 * request's head.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tsarc/errors.h"
#include "aws_env.h"
#include "canned_server.h"

server srv;

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

/* Waits `polls` times `ms` milliseconds for the client to hang up, the
 * server to stop, or (with `trickle`) a byte of the body not to go out,
 * sending one byte after each wait when `trickle` is set. */
static void until_hangup(int c, int polls, int ms, int trickle)
{
	int i;

	for (i = 0; i < polls && !srv.stop; i++) {
		struct pollfd p = {c, POLLIN, 0};
		char tmp[256];
		if (poll(&p, 1, ms) > 0 && recv(c, tmp, sizeof(tmp), 0) <= 0)
			break;
		if (trickle && write_all(c, "x", 1))
			break;
	}
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
			until_hangup(c, 100, 100, 0);
			goto out;
		}
		if (r->action == TRICKLE) {
			/* 4 bytes a second, until the client hangs up (or 30 s). */
			char hdr[256];
			int n = snprintf(hdr, sizeof(hdr),
				"HTTP/1.1 %d Canned\r\nContent-Length: %ld\r\n\r\n",
				r->status, r->length);
			if (write_all(c, hdr, (size_t)n))
				goto out;
			until_hangup(c, 120, 250, 1);
			goto out;
		}
		{
			char hdr[2048], numbered[4096];
			const char *body = r->body ? r->body : "";
			const char *mark = r->action == NUMBERED ? strstr(body, "%zu") : NULL;
			if (mark) {
				snprintf(numbered, sizeof(numbered), "%.*s%zu%s", (int)(mark - body),
					body, idx, mark + 3);
				body = numbered;
			}
			long len = r->length >= 0 ? r->length : (long)strlen(body);
			int n = r->action == CLOSED
				? snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d Canned\r\n%s\r\n",
					  r->status, r->headers ? r->headers : "")
				: snprintf(hdr, sizeof(hdr),
					  "HTTP/1.1 %d Canned\r\nContent-Length: %ld\r\n%s\r\n",
					  r->status, r->action == SHORT ? len + 100 : len,
					  r->headers ? r->headers : "");
			if (write_all(c, hdr, (size_t)n))
				goto out;
			if (!is_head && write_all(c, body, strlen(body)))
				goto out;
			if (r->action == SHORT || r->action == CLOSED)
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
		if (c >= 0) {
			/* Head and body go out in two writes: without this, each
			 * answer waits for the client's delayed ACK (40 ms). */
			int one = 1;
			setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			serve_conn(c);
		}
	}
	return NULL;
}

void srv_start(const canned *script, size_t n)
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

void srv_stop(void)
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

tsarc_store *open_store_env(const char *retries, const char *const *env)
{
	const char *const limits[] = {"TSARC_S3_MAX_RETRIES", retries,
		"TSARC_S3_STALL_TIMEOUT", "1", NULL};
	char url[128];
	tsarc_store *st = NULL;

	clear_aws_env_and_files();
	setenv("AWS_ACCESS_KEY_ID", "AKCANNED", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "canned-secret", 1);
	set_env(limits);
	set_env(env);
	snprintf(url, sizeof(url), "s3:http://127.0.0.1:%u/bkt/p", (unsigned)srv.port);
	if (tsarc_store_open(&st, url, NULL))
		fail_msg("open: %s", tsarc_error_last()->message);
	unset_env(limits);
	unset_env(env);
	return st;
}

tsarc_store *open_store(const char *retries)
{
	return open_store_env(retries, NULL);
}

void expect(int rc, int code, const char *must)
{
	const char *msg = tsarc_error_last()->message;

	if (rc != code)
		fail_msg("expected %s, got %s: %s", tsarc_errname(code), tsarc_errname(rc), msg);
	if (must && !strstr(msg, must))
		fail_msg("message lacks '%s': %s", must, msg);
	if (strstr(msg, "canned-secret"))
		fail_msg("message shows the secret: %s", msg);
}

int has_header(const char *head, const char *line)
{
	const char *p;
	size_t n = strlen(line);

	for (p = head; (p = strstr(p, "\r\n")) != NULL; p += 2)
		if (strncasecmp(p + 2, line, n) == 0)
			return 1;
	return 0;
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void close_store(tsarc_store *st)
{
	tsarc_store_free(st);
	srv_stop();
}

double get_refused(const canned *script, size_t n, const char *retries,
	const char *const *env, const char *snapshot, int code, const char *must)
{
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;
	double t0, dt;

	srv_start(script, n);
	st = open_store_env(retries, env);
	t0 = now_s();
	expect(tsarc_store_get(st, snapshot ? TSARC_OBJ_SNAPSHOT : TSARC_OBJ_CONFIG,
		       snapshot, 0, 0, &b),
		code, must);
	dt = now_s() - t0;
	assert_int_equal(b.size, 0);
	tsarc_store_free(st);
	tsarc_buf_dispose(&b);
	return dt;
}
