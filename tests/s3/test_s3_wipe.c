/*
 * Session tokens and keys leave no copy in freed memory. An S3
 * InvalidToken or ExpiredToken answer carries the request's token back
 * in its body (<Token-0>), which the client keeps to read the error's
 * code; every request carries the token in a header, signed; temporary
 * keys come in the body of a credentials answer (the container endpoint's
 * JSON, STS's XML), and a web identity token goes out in the body of an
 * STS call. Each block that held one of them is wiped before it is given
 * back: freed heap is reused by later allocations and shows in a core
 * dump.
 *
 * Each case opens the store on the canned loopback server
 * (canned_server.h) with its credentials, GETs an object, which the
 * server refuses with 403 InvalidToken echoing the token, and frees the
 * store. free() is wrapped (-Wl,--wrap=free, tests/CMakeLists.txt) to
 * look at each block this thread frees meanwhile, and realloc() is
 * wrapped to always move, so that the block a growing buffer leaves
 * behind is looked at too (the real one may or may not move it). The
 * canned server's own frees (its copies of the requests) are on its own
 * thread and not looked at. malloc(), strdup() and strndup() are wrapped
 * to clear each block they hand out: memory libcurl freed holding the
 * token, then given to tsarc for something else, would otherwise show
 * the token when tsarc frees it, though tsarc never wrote it there. The
 * credentials answers are padded past libcurl's 16 KiB write size, so
 * that they arrive in pieces and the buffer they are read into grows
 * after holding the keys.
 *
 * Built twice. test_s3_wipe wraps tsarc's own calls (-Wl,--wrap): libcurl
 * is a shared library whose calls to free() bind to libc's, not to the
 * wrapper. test_s3_wipe_libcurl (WATCH_EVERY_FREE) defines malloc, free
 * and realloc in the executable itself, in front of libc's for every
 * library of the process, so that libcurl's copies of the request headers
 * (the token among them) and of what it receives are looked at too: they
 * are wiped because libcurl allocates through tsarc's wiping allocator
 * (src/curl_setup.h). That one is not built with AddressSanitizer, whose
 * own malloc and free it would replace.
 */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tsarc/errors.h"
#include "canned_server.h"
#include "cmocka_main.h"
#include "scratch.h"
#ifdef WATCH_EVERY_FREE
#include "tls_once_server.h"
#endif

/* Each secret is a unit repeated: any run of twice a unit's length of
 * its bytes holds a whole unit, which is what freed blocks are searched
 * for. */
#define X4(u) u u u u
#define X24(u) X4(u) X4(u) X4(u) X4(u) X4(u) X4(u)
#define TOKEN_UNIT "Wipe19/SessionToken+"
#define TOKEN X24(TOKEN_UNIT)
#define SECRET_UNIT "Wipe19/SecretKey+"
#define SECRET SECRET_UNIT SECRET_UNIT
#define WEBID_UNIT "Wipe19.WebIdentity-"
#define WEBID "eyJhbGciOiJSUzI1NiJ9." X24(WEBID_UNIT)

static const char *const UNITS[] = {TOKEN_UNIT, SECRET_UNIT, WEBID_UNIT};

/* What S3 answers to a token it does not accept. */
#define INVALID_TOKEN_BODY                                                         \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                             \
	"<Error><Code>InvalidToken</Code><Message>The provided token is malformed " \
	"or otherwise invalid.</Message><Token-0>" TOKEN "</Token-0>"             \
	"<RequestId>4442587FB7D0A2F9</RequestId><HostId>canned</HostId></Error>"

/* The keys, then more than libcurl hands over at once. */
#define PAD 40000
static char json_answer[PAD + 2048], sts_answer[PAD + 2048];

#ifdef WATCH_EVERY_FREE
/* libc's allocator under its own names; these three interpose for all. */
#define WRAP(f) f
#define REAL(f) __libc_##f
void __libc_free(void *p);
void *__libc_realloc(void *p, size_t n);
void *__libc_malloc(size_t n);
#else
#define WRAP(f) __wrap_##f
#define REAL(f) __real_##f
void __real_free(void *p);
void __wrap_free(void *p);
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
#endif

/* Per thread: only the test's own thread is watched. */
static _Thread_local int watching;
static int freed_watched, freed_with_secret;

static void look_at(void *p)
{
	size_t n = malloc_usable_size(p), i;

	freed_watched++;
	for (i = 0; i < sizeof(UNITS) / sizeof(UNITS[0]); i++)
		if (memmem(p, n, UNITS[i], strlen(UNITS[i]))) {
			freed_with_secret++;
			print_message("freed holding %s: %zu bytes: %.*s\n", UNITS[i], n,
				(int)(n < 120 ? n : 120), (const char *)p);
			return;
		}
}

/* Cleared, on every thread: what a freed block holds, the code that
 * allocated it wrote. */
void *WRAP(malloc)(size_t n)
{
	void *p = REAL(malloc)(n);

	if (p)
		memset(p, 0, malloc_usable_size(p));
	return p;
}

#ifndef WATCH_EVERY_FREE /* libc's strdup calls the malloc above */
char *__wrap_strdup(const char *s)
{
	return __wrap_strndup(s, strlen(s));
}

char *__wrap_strndup(const char *s, size_t n)
{
	char *p;

	n = strnlen(s, n);
	if ((p = __wrap_malloc(n + 1))) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}
#endif

void WRAP(free)(void *p)
{
	if (p && watching)
		look_at(p);
	REAL(free)(p);
}

/* Watched, a realloc always moves: the old block is freed as by free(). */
void *WRAP(realloc)(void *p, size_t n)
{
	size_t old;
	void *q;

	if (!p)
		return WRAP(malloc)(n);
	if (!watching || !n)
		return REAL(realloc)(p, n);
	if (!(q = WRAP(malloc)(n)))
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	look_at(p);
	REAL(free)(p);
	return q;
}

/* With the server started on a script of `n` answers, the last the
 * InvalidToken one: opens the store with `env`, GETs the config, frees
 * the store, all watched. The GET is refused, the last request carried
 * the token, and no block freed held a secret. The server keeps running
 * for the caller to read srv. */
static void run(size_t n, const char *const *env)
{
	tsarc_buf b = TSARC_BUF_INIT;
	tsarc_store *st;
	int rc;

	freed_watched = freed_with_secret = 0;
	watching = 1;
	st = open_store_env("0", env);
	rc = tsarc_store_get(st, TSARC_OBJ_CONFIG, NULL, 0, 0, &b);
	tsarc_store_free(st);
	watching = 0;
	expect(rc, TSARC_EACCESS, "session token");
	assert_null(strstr(tsarc_error_last()->message, TOKEN_UNIT));
	assert_int_equal(b.size, 0);
	/* The token did go out, and the answer echoing it did come back. */
	assert_int_equal(srv.nreq, n);
	assert_true(strncmp(srv.heads[n - 1], "GET /bkt/p/config ", 18) == 0);
	assert_true(has_header(srv.heads[n - 1], "x-amz-security-token: " TOKEN "\r\n"));
	assert_true(freed_watched > 0);
	if (freed_with_secret)
		fail_msg("%d of %d blocks freed held a secret", freed_with_secret,
			freed_watched);
	tsarc_buf_dispose(&b);
}

/* Keys and token from the environment. */
static void test_token_from_env(void **state)
{
	static const canned script[] = {{REPLY, 403, NULL, INVALID_TOKEN_BODY, -1}};
	static const char *const env[] = {"AWS_SESSION_TOKEN", TOKEN, NULL};

	(void)state;
	START(script);
	run(1, env);
	srv_stop();
}

/* Keys and token from the container credentials endpoint (JSON). */
static void test_token_from_container_endpoint(void **state)
{
	const canned script[] = {
		{REPLY, 200, NULL, json_answer, -1},
		{REPLY, 403, NULL, INVALID_TOKEN_BODY, -1},
	};
	char uri[96];
	const char *const env[] = {"AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, NULL};

	(void)state;
	snprintf(json_answer, sizeof(json_answer),
		"{\"AccessKeyId\":\"ASIAWIPE19\",\"SecretAccessKey\":\"" SECRET "\","
		"\"Token\":\"" TOKEN "\",\"Expiration\":\"2099-01-01T00:00:00Z\"%*s}",
		PAD, "");
	START(script);
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/creds", (unsigned)srv.port);
	run(2, env);
	assert_true(strncmp(srv.heads[0], "GET /creds ", 11) == 0);
	srv_stop();
}

/* The token's file, in a scratch folder under $TMPDIR. */
static char webid_dir[300], webid_file[330];

static int remove_webid_file(void **state)
{
	(void)state;
	return webid_dir[0] ? scratch_remove(webid_dir) : 0;
}

/* A web identity token (from its file) exchanged at STS for keys and a
 * token (XML). */
static void test_token_from_web_identity(void **state)
{
	const canned script[] = {
		{REPLY, 200, NULL, sts_answer, -1},
		{REPLY, 403, NULL, INVALID_TOKEN_BODY, -1},
	};
	char sts[96];
	const char *const env[] = {"AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", "",
		"AWS_WEB_IDENTITY_TOKEN_FILE", webid_file,
		"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/wipe19",
		"TSARC_S3_STS_ENDPOINT", sts, NULL};
	int fd;

	(void)state;
	assert_non_null(scratch_make(webid_dir, sizeof(webid_dir), "wipe-webid"));
	snprintf(webid_file, sizeof(webid_file), "%s/token", webid_dir);
	fd = open(webid_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, WEBID "\n", sizeof(WEBID)), (ssize_t)sizeof(WEBID));
	close(fd);
	snprintf(sts_answer, sizeof(sts_answer),
		"<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
		"<Credentials><AccessKeyId>ASIAWIPE19</AccessKeyId>"
		"<SecretAccessKey>" SECRET "</SecretAccessKey>"
		"<SessionToken>" TOKEN "</SessionToken>"
		"<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
		"</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>%*s",
		PAD, "");
	START(script);
	snprintf(sts, sizeof(sts), "http://127.0.0.1:%u", (unsigned)srv.port);
	run(2, env);
	/* The web identity token went to STS. */
	assert_true(strncmp(srv.heads[0], "POST / ", 7) == 0);
	assert_non_null(memmem(srv.bodies[0].ptr, srv.bodies[0].size, "WebIdentityToken=eyJ", 20));
	srv_stop();
}

/* Keys and token from the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE). Before, the file was read through stdio
 * (fgets): the FILE's buffer held the whole file, the secret key and the
 * token among it, and fclose freed it unwiped (only seen here when libc's
 * own frees are: WATCH_EVERY_FREE). */
static void test_keys_from_credentials_file(void **state)
{
	static const canned script[] = {{REPLY, 403, NULL, INVALID_TOKEN_BODY, -1}};
	const char *const env[] = {"AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", "",
		"AWS_SHARED_CREDENTIALS_FILE", webid_file, NULL};
	int fd;
	static const char ini[] = "[default]\naws_access_key_id = ASIAWIPE19\n"
		"aws_secret_access_key = " SECRET "\naws_session_token = " TOKEN "\n";

	(void)state;
	assert_non_null(scratch_make(webid_dir, sizeof(webid_dir), "wipe-ini"));
	snprintf(webid_file, sizeof(webid_file), "%s/credentials", webid_dir);
	fd = open(webid_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
	close(fd);
	START(script);
	run(1, env);
	srv_stop();
}

#ifdef WATCH_EVERY_FREE
/* The container endpoint over HTTPS: OpenSSL decrypts the answer in its
 * read buffer, and an answer that fits in one record is still there when
 * the connection's buffers are freed (what SSL_OP_CLEANSE_PLAINTEXT is
 * for, src/curl_setup.h). Only here: the wrapped build cannot see
 * OpenSSL's frees. */
static void test_token_from_container_endpoint_over_tls(void **state)
{
	static const canned script[] = {{REPLY, 403, NULL, INVALID_TOKEN_BODY, -1}};
	static char answer[4096];
	static const char json[] =
		"{\"AccessKeyId\":\"ASIAWIPE19\",\"SecretAccessKey\":\"" SECRET "\","
		"\"Token\":\"" TOKEN "\",\"Expiration\":\"2099-01-01T00:00:00Z\"}";
	tls_once_server *tls;
	char uri[96];
	const char *env[] = {"AWS_ACCESS_KEY_ID", "", "AWS_SECRET_ACCESS_KEY", "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", uri, "AWS_CA_BUNDLE", NULL, NULL};

	(void)state;
	snprintf(answer, sizeof(answer), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		"Content-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(json), json);
	tls = tls_once_start(answer);
	snprintf(uri, sizeof(uri), "https://127.0.0.1:%u/creds", (unsigned)tls_once_port(tls));
	env[7] = tls_once_ca_file(tls);
	START(script);
	run(1, env);
	srv_stop();
	tls_once_stop(tls);
}
#endif

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_token_from_env),
	cmocka_unit_test(test_token_from_container_endpoint),
#ifdef WATCH_EVERY_FREE
	cmocka_unit_test(test_token_from_container_endpoint_over_tls),
#endif
	cmocka_unit_test_teardown(test_token_from_web_identity, remove_webid_file),
	cmocka_unit_test_teardown(test_keys_from_credentials_file, remove_webid_file))
