/*
 * One S3 request (client.h): signed, sent over a handle of the pool
 * (pool.c), each attempt held to the limits of config.h while it runs,
 * retried with backoff and full jitter until the request's deadline. Any
 * thread may call it: the handle and everything of the attempt are its
 * own; the keys are a copy, which a renewal cannot pull from under it.
 */
#include "client_impl.h"
#include "credhttp.h"

#include "sigv4.h"
#include "log.h"
#include "fmt.h"
#include "fileio.h"
#include "wipe.h"

#include "tsarc/errors.h"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#ifdef __linux__
#include <linux/sockios.h>
#include <sys/ioctl.h>
#endif

#define S3_BACKOFF_BASE_MS 200
#define S3_BACKOFF_CAP_MS 5000

/* ---- jitter ---- */

static uint64_t rand_u64(void)
{
	/* xorshift64*: jitter only needs to de-synchronise threads and
	 * processes, not to be unpredictable. */
	static _Thread_local uint64_t state;
	uint64_t x;

	if (!state) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
			(uint64_t)(uintptr_t)&state ^ 0x9e3779b97f4a7c15ull;
	}
	x = state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* "Full jitter": uniform in [0, min(cap, base * 2^retry)]. */
static long backoff_ms(unsigned retry)
{
	long ceiling = S3_BACKOFF_BASE_MS;
	unsigned i;

	for (i = 1; i < retry && ceiling < S3_BACKOFF_CAP_MS; i++)
		ceiling *= 2;
	if (ceiling > S3_BACKOFF_CAP_MS)
		ceiling = S3_BACKOFF_CAP_MS;
	return (long)(rand_u64() % (uint64_t)(ceiling + 1));
}

/* ---- one HTTP exchange ---- */

/* Why the progress callback ended an attempt. */
enum cut { CUT_NONE, CUT_SLOW, CUT_DEADLINE };

typedef struct xfer {
	CURL *h;
	const tsarc__s3_client *c;
	const tsarc__s3_req *req;
	tsarc__s3_resp *resp;
	tsarc_buf errbody;
	int out_rc;
	size_t body_pos;
	double request_start; /* the first attempt's start (mono_s) */
	double attempt_start;
	enum cut cut;
	uint64_t cut_moved;   /* bytes moved when the attempt was cut */
	double cut_ran;       /* seconds it had run */
	char curl_err[CURL_ERROR_SIZE]; /* curl's detail: "... port 1: refused" */
	char key_id[160];     /* the access key id the attempt signed with */
	int renewed;          /* keys renewed after ExpiredToken (once) */
} xfer;

/* Bytes in the connection's send queue (not yet sent, or not yet
 * acknowledged by the server); 0 where the kernel cannot say. */
static uint64_t unacked_bytes(CURL *h)
{
#ifdef SIOCOUTQ
	curl_socket_t fd = CURL_SOCKET_BAD;
	int n = 0;

	if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK &&
	    fd != CURL_SOCKET_BAD && ioctl(fd, SIOCOUTQ, &n) == 0 && n > 0)
		return (uint64_t)n;
#else
	(void)h;
#endif
	return 0;
}

/*
 * Holds every attempt to the limits of config.h while it runs: curl calls
 * this as bytes move and about once a second when none do, so a trickle
 * that the 1 byte/s stall floor never notices is cut too, and the request
 * deadline is kept inside an attempt rather than only between attempts.
 */
static int xferinfo_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow,
	curl_off_t ultotal, curl_off_t ulnow)
{
	xfer *x = ud;
	const tsarc__s3_limits *l = &x->c->lim;
	double now = mono_s(), ran = now - x->attempt_start;
	uint64_t sent = (uint64_t)(ulnow > 0 ? ulnow : 0), queued, moved, size;

	/* What curl has written, the server has not necessarily taken: the
	 * socket buffers swallow megabytes of a PUT that the server reads at
	 * a few bytes a second. Only what left the send queue counts. */
	if (sent) {
		queued = unacked_bytes(x->h);
		sent -= queued < sent ? queued : sent;
	}
	moved = (uint64_t)(dlnow > 0 ? dlnow : 0) + sent;
	/* The answer's announced length counts, so a large object that keeps
	 * up with the floor is not cut at the deadline; one that falls behind
	 * is cut by the floor whatever it announced. */
	size = (uint64_t)x->req->body_len + (uint64_t)(dltotal > 0 ? dltotal : 0);
	(void)ultotal;
	if (now - x->request_start > tsarc__s3_request_allowance(l, size)) {
		x->cut = CUT_DEADLINE;
	} else if (ran > tsarc__s3_attempt_allowance(l, moved)) {
		x->cut = CUT_SLOW;
	} else {
		return 0;
	}
	x->cut_moved = moved;
	x->cut_ran = ran;
	return 1;
}

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *ud)
{
	xfer *x = ud;
	size_t want = size * nmemb, left = x->req->body_len - x->body_pos;

	if (want > left)
		want = left;
	if (want && x->req->body_in_file) {
		if (tsarc_pread_all(x->req->body_fd, dst, want, (off_t)x->body_pos) != 0)
			return CURL_READFUNC_ABORT;
	} else if (want) {
		memcpy(dst, (const char *)x->req->body + x->body_pos, want);
	}
	x->body_pos += want;
	return want;
}

/* curl rewinds when it must resend (e.g. a reused connection that died):
 * the body is in memory or in a file, so the same bytes go out again. */
static int seek_cb(void *ud, curl_off_t offset, int origin)
{
	xfer *x = ud;

	if (origin != SEEK_SET || offset < 0 || (size_t)offset > x->req->body_len)
		return CURL_SEEKFUNC_FAIL;
	x->body_pos = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *src, size_t size, size_t nmemb, void *ud)
{
	xfer *x = ud;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		if (!x->req->out)
			return n;
		x->out_rc = tsarc_buf_append(x->req->out, src, n);
		return x->out_rc ? 0 : n;
	}
	if (x->errbody.size + n <= TSARC__S3_ERRBODY_MAX &&
	    tsarc_buf_append(&x->errbody, src, n) != 0)
		return 0;
	return n;
}

static void copy_header_value(char *dst, size_t dstsz, const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t header_cb(char *line, size_t size, size_t nmemb, void *ud)
{
	xfer *x = ud;
	size_t n = size * nmemb;
	tsarc__s3_resp *r = x->resp;

	/* A new status line (after a 100 Continue, say) starts afresh. */
	if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		r->etag[0] = r->bucket_region[0] = r->content_range[0] = '\0';
		r->last_modified[0] = r->date[0] = '\0';
		r->chunked = 0;
		if (x->req->headers_out)
			tsarc_buf_clear(x->req->headers_out);
		return n;
	}
	if (x->req->headers_out) {
		x->out_rc = tsarc_buf_append(x->req->headers_out, line, n);
		if (x->out_rc)
			return 0;
	}
	if (n > 18 && strncasecmp(line, "transfer-encoding:", 18) == 0) {
		char v[64];
		copy_header_value(v, sizeof(v), line + 18, n - 18);
		size_t vl = strlen(v);
		/* "chunked" comes last when other codings precede it */
		r->chunked = vl >= 7 && strcasecmp(v + vl - 7, "chunked") == 0;
	}
#define HDR(name, field)                                                     \
	if (n > sizeof(name) - 1 && strncasecmp(line, name, sizeof(name) - 1) == 0) { \
		copy_header_value(r->field, sizeof(r->field), line + sizeof(name) - 1, \
			n - (sizeof(name) - 1));                             \
		return n;                                                    \
	}
	HDR("etag:", etag)
	HDR("x-amz-bucket-region:", bucket_region)
	HDR("content-range:", content_range)
	HDR("last-modified:", last_modified)
	HDR("date:", date)
#undef HDR
	return n;
}

static int add_header(struct curl_slist **list, const char *name,
	const char *value)
{
	char *line = tsarc_dup_printf("%s: %s", name, value);
	struct curl_slist *l;

	if (!line)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	l = curl_slist_append(*list, line);
	tsarc_secure_free_str(line);
	if (!l)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	*list = l;
	return 0;
}

/* The unencoded path: "/bucket/key" (path style) or "/key". */
static char *request_path(const tsarc__s3_client *c, const char *key)
{
	if (c->u.virtual_host)
		return tsarc_dup_printf("/%s", key ? key : "");
	return key ? tsarc_dup_printf("/%s/%s", c->u.bucket, key)
		   : tsarc_dup_printf("/%s", c->u.bucket);
}

static void free_slist_secret(struct curl_slist *l)
{
	struct curl_slist *i;

	/* The list holds the session token and the signature. */
	for (i = l; i; i = i->next)
		OPENSSL_cleanse(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

/* One attempt. Returns a CURLcode; the HTTP outcome is in x->resp. */
static CURLcode attempt(tsarc__s3_client *c, xfer *x, const char *url,
	const char *path, const char *payload_hash, const char *md5_b64,
	int *local_rc)
{
	const tsarc__s3_req *req = x->req;
	tsarc__s3_kv *signed_hdrs;
	size_t nsigned = 0, first_sent, i;
	tsarc__s3_creds cr;
	tsarc__sigv4_request sr;
	tsarc_buf auth = TSARC_BUF_INIT;
	struct curl_slist *hdrs = NULL;
	char amz_date[17];
	CURL *h = x->h;
	CURLcode cc;
	int rc;

	*local_rc = 0;
	/* content-md5, range, if-none-match, 3 of the PUT options, the rest */
	signed_hdrs = malloc((6 + req->nheaders) * sizeof(*signed_hdrs));
	if (!signed_hdrs) {
		*local_rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		return CURLE_OUT_OF_MEMORY;
	}
	/* A copy of the keys of the moment: a refresh may replace them while
	 * this attempt runs. */
	if ((rc = tsarc__s3_credsrc_get(c->cred, &cr))) {
		free(signed_hdrs);
		*local_rc = rc;
		return CURLE_ABORTED_BY_CALLBACK;
	}
	snprintf(x->key_id, sizeof(x->key_id), "%s", cr.access_key);
	tsarc__sigv4_format_date(amz_date, (long long)time(NULL));
	if (md5_b64) {
		signed_hdrs[nsigned].name = "content-md5";
		signed_hdrs[nsigned++].value = md5_b64;
	}
	if (req->range) {
		signed_hdrs[nsigned].name = "range";
		signed_hdrs[nsigned++].value = req->range;
	}
	if (req->create_only) {
		signed_hdrs[nsigned].name = "if-none-match";
		signed_hdrs[nsigned++].value = "*";
	}
	/* Headers from here on are sent as they are signed. */
	first_sent = nsigned;
	if (req->object_put)
		nsigned += tsarc__s3_put_opts_headers(&c->put, signed_hdrs + nsigned);
	for (i = 0; i < req->nheaders; i++)
		signed_hdrs[nsigned++] = req->headers[i];
	memset(&sr, 0, sizeof(sr));
	sr.method = req->method;
	sr.host = c->u.host;
	sr.path = path;
	sr.query = req->query;
	sr.nquery = req->nquery;
	sr.headers = signed_hdrs;
	sr.nheaders = nsigned;
	sr.payload_sha256 = payload_hash;
	sr.amz_date = amz_date;
	sr.region = c->region;
	sr.service = "s3";
	sr.access_key = cr.access_key;
	sr.secret_key = cr.secret_key;
	sr.session_token = cr.session_token;

	if ((rc = tsarc__sigv4_authorization(&auth, &sr)) ||
	    (rc = add_header(&hdrs, "Host", c->u.host)) ||
	    (rc = add_header(&hdrs, "x-amz-date", amz_date)) ||
	    (rc = add_header(&hdrs, "x-amz-content-sha256", payload_hash)) ||
	    (cr.session_token &&
		    (rc = add_header(&hdrs, "x-amz-security-token", cr.session_token))) ||
	    (md5_b64 && (rc = add_header(&hdrs, "Content-MD5", md5_b64))) ||
	    (req->range && (rc = add_header(&hdrs, "Range", req->range))) ||
	    (req->create_only && (rc = add_header(&hdrs, "If-None-Match", "*"))) ||
	    (rc = add_header(&hdrs, "Authorization", (const char *)auth.ptr))) {
		*local_rc = rc;
		cc = CURLE_OUT_OF_MEMORY;
		goto done;
	}
	for (i = first_sent; i < nsigned; i++)
		if ((rc = add_header(&hdrs, signed_hdrs[i].name,
			     signed_hdrs[i].value ? signed_hdrs[i].value : ""))) {
		*local_rc = rc;
		cc = CURLE_OUT_OF_MEMORY;
		goto done;
	}
	/* "Expect:" off: a 100-continue round trip per PUT costs latency and
	 * some S3 implementations handle it badly. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (hdrs)
		hdrs = curl_slist_append(hdrs, "Accept:");
	if (!hdrs) {
		*local_rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		cc = CURLE_OUT_OF_MEMORY;
		goto done;
	}

	/* Keeps the connection cache and DNS cache, drops the last options. */
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	x->curl_err[0] = '\0';
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->curl_err);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	tsarc__s3_curl_common(h, c->cacert, c->insecure);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->lim.connect_s);
	/* A stalled peer sends nothing at all: below 1 byte/s for stall_s. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->lim.stall_s);
	/* Slower ones, and the deadline: xferinfo_cb. */
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	if (req->head) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (req->has_body) {
		/* UPLOAD with a known size: Content-Length, never chunked. */
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_cb);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
		if (strcmp(req->method, "PUT") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	} else if (strcmp(req->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}

	x->body_pos = 0;
	x->out_rc = 0;
	x->cut = CUT_NONE;
	tsarc_buf_clear(&x->errbody);
	if (req->headers_out)
		tsarc_buf_clear(req->headers_out);
	memset(x->resp, 0, offsetof(tsarc__s3_resp, attempts));
	x->resp->length = -1;
	x->attempt_start = mono_s();
	cc = curl_easy_perform(h);
	{
		long connects = 0;
		if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK &&
		    connects > 0)
			atomic_fetch_add(&c->stat_connects, (uint64_t)connects);
	}
	if (cc == CURLE_OK || cc == CURLE_WRITE_ERROR) {
		curl_off_t len = -1;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &x->resp->status);
		if (curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) == CURLE_OK)
			x->resp->length = len;
		if (x->resp->status >= 300)
			tsarc__s3_parse_error(&x->resp->err, (const char *)x->errbody.ptr,
				x->errbody.size);
	}
	if (cc == CURLE_WRITE_ERROR && x->out_rc)
		*local_rc = x->out_rc;
	/* Nothing may keep a pointer to the list or to x once they are gone. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, NULL);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
done:
	free_slist_secret(hdrs);
	if (auth.ptr)
		OPENSSL_cleanse(auth.ptr, auth.cap);
	tsarc_buf_dispose(&auth);
	tsarc__s3_creds_dispose(&cr);
	free(signed_hdrs);
	return cc;
}

static int retryable_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_READ_ERROR:
		return 1;
	default:
		return 0;
	}
}

/* A name of token characters, a value of visible characters and blanks:
 * nothing that could end the header or start another. */
static int header_ok(const tsarc__s3_kv *h)
{
	const unsigned char *p;

	if (!h->name || !*h->name)
		return 0;
	for (p = (const unsigned char *)h->name; *p; p++)
		if (*p <= ' ' || *p >= 127 || *p == ':')
			return 0;
	for (p = (const unsigned char *)(h->value ? h->value : ""); *p; p++)
		if ((*p < ' ' && *p != '\t') || *p == 127)
			return 0;
	return 1;
}

/*
 * Content-MD5: what S3 requires of a request with a body (a batch delete,
 * a retention or a bucket setting, an object PUT under Object Lock), but
 * not of a plain object PUT, whose body the signed SHA-256 covers already:
 * MD5 over every pack stored took as much CPU as the SHA-256 twice.
 */
static int wants_content_md5(const tsarc__s3_req *req)
{
	size_t i;

	if (!req->object_put)
		return 1;
	for (i = 0; i < req->nheaders; i++)
		if (!strncmp(req->headers[i].name, "x-amz-object-lock-", 18))
			return 1;
	return 0;
}

/*
 * Runs a request with retries. 0: a final HTTP answer is in `resp` (any
 * status; the caller judges it). Negative: no usable answer after every
 * attempt (TSARC_ENET / TSARC_ETRANSIENT) or a local failure.
 */
int tsarc__s3_perform(tsarc__s3_client *c, const tsarc__s3_req *req, tsarc__s3_resp *resp)
{
	char payload_hash[65], md5_b64[25], what[1200], last[512] = "";
	tsarc_buf path = TSARC_BUF_INIT, url = TSARC_BUF_INIT;
	char *raw_path = NULL;
	xfer x;
	size_t out_start = req->out ? req->out->size : 0;
	unsigned attempt_no;
	size_t i;
	int rc = 0, last_code = TSARC_ETRANSIENT, want_md5, sign_body;
	double started;

	memset(&x, 0, sizeof(x));
	memset(resp, 0, sizeof(*resp));
	x.c = c;
	x.req = req;
	x.resp = resp;
	tsarc_buf_init(&x.errbody, TSARC__S3_ERRBODY_MAX + 1);
	/* An InvalidToken or ExpiredToken answer echoes the session token
	 * (<Token-0>): wiped when it grows and when it is disposed of. Each
	 * attempt's tsarc_buf_clear keeps the block, which the next body
	 * overwrites and the dispose wipes whole. */
	x.errbody.wipe = 1;
	tsarc__s3_req_what(c, req, what, sizeof(what));

	want_md5 = req->has_body && wants_content_md5(req);
	/* Whether the signature covers the body (client_impl.h). */
	sign_body = req->has_body && (!req->object_put || c->sign_bodies);
	if (!req->has_body)
		memcpy(payload_hash, TSARC__SHA256_EMPTY, sizeof(payload_hash));
	else if (!sign_body)
		memcpy(payload_hash, TSARC__S3_UNSIGNED_PAYLOAD, sizeof(TSARC__S3_UNSIGNED_PAYLOAD));
	if (req->has_body && req->body_in_file && (sign_body || want_md5)) {
		if (tsarc__file_digests(req->body_fd, req->body_len, sign_body ? payload_hash : NULL,
			    want_md5 ? md5_b64 : NULL, NULL) != 0)
			return tsarc_error_set(tsarc_errno_code(errno),
				"%s: cannot read the body to send: %s", what, strerror(errno));
	} else if (req->has_body && !req->body_in_file) {
		if (sign_body)
			tsarc__sha256_hex(payload_hash, req->body, req->body_len);
		if (want_md5)
			tsarc__md5_base64(md5_b64, NULL, req->body, req->body_len);
	}
	for (i = 0; i < req->nheaders; i++)
		if (!header_ok(&req->headers[i]))
			return tsarc_error_set(TSARC_EINVAL,
				"%s: header '%.64s' has a character HTTP cannot carry", what,
				req->headers[i].name);
	raw_path = request_path(c, req->key);
	if (!raw_path)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if ((rc = tsarc__sigv4_canonical_path(&path, raw_path)) ||
	    (rc = tsarc_buf_puts(&url, c->u.base_url)) ||
	    (rc = tsarc_buf_append(&url, path.ptr, path.size)))
		goto out;
	if (req->nquery && ((rc = tsarc_buf_puts(&url, "?")) ||
			(rc = tsarc__sigv4_canonical_query(&url, req->query, req->nquery))))
		goto out;

	x.h = tsarc__s3_handle_acquire(c);
	if (!x.h) {
		rc = tsarc_error_set(TSARC_ENOMEM, "cannot create a curl handle");
		goto out;
	}
	/* From here: time spent waiting for a free slot is not the server's. */
	started = x.request_start = mono_s();
	for (attempt_no = 0; attempt_no <= c->lim.max_retries; attempt_no++) {
		int local_rc = 0;
		CURLcode cc;

		if (attempt_no > 0) {
			long ms = backoff_ms(attempt_no);
			if (mono_s() - started + (double)ms / 1000 > (double)c->lim.deadline_s)
				break;
			atomic_fetch_add(&c->stat_retries, 1);
			if (c->lim.trace)
				tsarc__log(TSARC_LOG_INFO, "s3", "retry",
					"s3: %s: %s; retry %u of %u in %ld ms", what, last, attempt_no,
					c->lim.max_retries, ms);
			sleep_ms(ms);
			if (req->out) {
				req->out->size = out_start;
				if (req->out->ptr)
					req->out->ptr[out_start] = 0;
			}
		}
		atomic_fetch_add(&c->stat_requests, 1);
		resp->attempts = attempt_no + 1;
		cc = attempt(c, &x, (const char *)url.ptr, raw_path, payload_hash,
			want_md5 ? md5_b64 : NULL, &local_rc);
		if (local_rc) {
			rc = local_rc;
			break;
		}
		if (cc == CURLE_ABORTED_BY_CALLBACK && x.cut == CUT_DEADLINE) {
			char before[sizeof(last)];

			snprintf(before, sizeof(before), "%s", last);
			last_code = TSARC_ENET;
			snprintf(last, sizeof(last),
				"%s%sno answer before the deadline (TSARC_S3_RETRY_DEADLINE=%ld s)",
				before, before[0] ? "; then " : "", c->lim.deadline_s);
			break;
		}
		if (cc == CURLE_ABORTED_BY_CALLBACK && x.cut == CUT_SLOW) {
			last_code = TSARC_ENET;
			snprintf(last, sizeof(last),
				"too slow: %" PRIu64 " bytes in %.0f s (an attempt must move "
				"TSARC_S3_MIN_THROUGHPUT=%" PRIu64 " bytes/s after "
				"TSARC_S3_ATTEMPT_TIMEOUT=%ld s)",
				x.cut_moved, x.cut_ran, c->lim.min_rate, c->lim.attempt_s);
			continue;
		}
		if (cc != CURLE_OK) {
			if (!retryable_curl(cc)) {
				if (cc == CURLE_PEER_FAILED_VERIFICATION ||
				    cc == CURLE_SSL_CACERT_BADFILE ||
				    cc == CURLE_SSL_CERTPROBLEM)
					rc = tsarc_error_set(TSARC_ECONFIG,
						"%s: TLS verification failed at %s (%s): give the "
						"server's CA with --cacert or AWS_CA_BUNDLE",
						what, c->u.base_url,
						x.curl_err[0] ? x.curl_err : curl_easy_strerror(cc));
				else
					rc = tsarc_error_set(TSARC_EIO, "%s at %s: %s", what,
						c->u.base_url,
						x.curl_err[0] ? x.curl_err : curl_easy_strerror(cc));
				break;
			}
			last_code = TSARC_ENET;
			snprintf(last, sizeof(last), "%s",
				x.curl_err[0] ? x.curl_err : curl_easy_strerror(cc));
			continue;
		}
		/* Temporary keys that expired sooner than they said (or a
		 * clock off by more than the margin): renewed at once, and the
		 * request tried again, once. */
		if ((resp->status == 400 || resp->status == 403) && !x.renewed &&
		    (strcmp(resp->err.code, "ExpiredToken") == 0 ||
			    strcmp(resp->err.code, "TokenRefreshRequired") == 0) &&
		    tsarc__s3_credsrc_expired(c->cred, x.key_id)) {
			x.renewed = 1;
			last_code = TSARC_EACCESS;
			snprintf(last, sizeof(last), "HTTP %ld %s", resp->status, resp->err.code);
			continue;
		}
		if (tsarc__s3_retryable_status(resp)) {
			last_code = TSARC_ETRANSIENT;
			snprintf(last, sizeof(last), "HTTP %ld%s%s", resp->status,
				resp->err.code[0] ? " " : "", resp->err.code);
			continue;
		}
		/* A body whose end is the connection's: curl cannot tell one cut
		 * short from a whole one, and neither can the caller. */
		if (req->out && !req->head && resp->status >= 200 && resp->status < 300 &&
		    resp->length < 0 && !resp->chunked) {
			rc = tsarc_error_set(TSARC_EIO,
				"%s: the S3 server at %s answered with neither Content-Length "
				"nor chunked encoding: a body cut short could not be told from "
				"a whole one", what, c->u.base_url);
			break;
		}
		rc = 0;
		goto release;
	}
	if (!rc) {
		if (last_code == TSARC_ENET)
			rc = tsarc_error_set(TSARC_ENET,
				"%s: cannot reach the S3 server at %s: %s (gave up after %u "
				"attempts in %.0f s)",
				what, c->u.base_url, last, resp->attempts, mono_s() - started);
		else
			rc = tsarc_error_set(TSARC_ETRANSIENT,
				"%s: the S3 server at %s kept failing: %s (gave up after %u "
				"attempts in %.0f s)",
				what, c->u.base_url, last, resp->attempts, mono_s() - started);
	}
	if (req->out) {
		req->out->size = out_start;
		if (req->out->ptr)
			req->out->ptr[out_start] = 0;
	}
release:
	tsarc__s3_handle_release(c, x.h);
out:
	tsarc_buf_dispose(&x.errbody);
	tsarc_buf_dispose(&path);
	tsarc_buf_dispose(&url);
	free(raw_path);
	return rc;
}


