/*
 * The s3 store: typed objects as keys in an S3 bucket, over libcurl, signed
 * with our own SigV4 (sigv4.c). Every operation is synchronous and may be
 * called from many threads: each request borrows a curl handle from a pool
 * (so connections are reused) and a slot of a counting semaphore (so memory
 * and sockets stay bounded by max_inflight).
 */
#include "s3.h"

#include "config.h"
#include "credentials.h"
#include "url.h"
#include "sigv4.h"
#include "log.h"
#include "xml.h"
#include "fmt.h"

#include "tsarc/errors.h"
#include "tsarc/sys/store.h"

#include <curl/curl.h>
#include <openssl/crypto.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
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

#define S3_DEFAULT_INFLIGHT 16
#define S3_BACKOFF_BASE_MS 200
#define S3_BACKOFF_CAP_MS 5000
#define S3_KEY_MAX 1024
/* Error bodies are a few hundred bytes; anything past this is noise. */
#define S3_ERRBODY_MAX (64 * 1024)
/* A ListObjectsV2 page of 1000 keys of 1 KiB is about 1.3 MB. */
#define S3_LISTBODY_MAX (16 * 1024 * 1024)
#define S3_DELETE_BATCH 1000
#define S3_PUT_MAX (5ULL << 30)

typedef struct s3_store {
	tsarc_store parent;
	tsarc__s3_url u; /* endpoint, bucket, prefix (url.h) */
	tsarc__s3_credsrc *cred; /* the credential chain (credentials.h) */
	const char *region;      /* the chain's, for signing and messages */
	tsarc__s3_put_opts put;  /* encryption, storage class (config.h) */
	char *cacert;
	int insecure;
	tsarc__s3_limits lim; /* time limits and retries (config.h) */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned active;
	CURL **idle;
	size_t nidle;

	CURLSH *share;
	pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];

	atomic_uint_fast64_t stat_requests;
	atomic_uint_fast64_t stat_retries;
	atomic_uint_fast64_t stat_connects;
} s3_store;

/* ---- process-wide setup ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static atomic_flag insecure_warned = ATOMIC_FLAG_INIT;

static void curl_init(void)
{
	/* Not thread-safe itself, hence pthread_once; never undone, because
	 * other parts of the process may still use libcurl at exit. */
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *r = malloc(n + 1);

	if (r)
		memcpy(r, s, n + 1);
	return r;
}

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

/* ---- handle pool ---- */

static void share_lock_cb(CURL *h, curl_lock_data data, curl_lock_access acc,
	void *ud)
{
	s3_store *st = ud;

	(void)h;
	(void)acc;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&st->share_lock[data]);
}

static void share_unlock_cb(CURL *h, curl_lock_data data, void *ud)
{
	s3_store *st = ud;

	(void)h;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&st->share_lock[data]);
}

/* Waits for a free slot and hands out a handle (NULL: out of memory). */
static CURL *handle_acquire(s3_store *st)
{
	CURL *h = NULL;

	pthread_mutex_lock(&st->lock);
	while (st->active >= st->parent.max_inflight)
		pthread_cond_wait(&st->cond, &st->lock);
	st->active++;
	if (st->nidle)
		h = st->idle[--st->nidle];
	pthread_mutex_unlock(&st->lock);
	if (!h) {
		h = curl_easy_init();
		if (!h) {
			pthread_mutex_lock(&st->lock);
			st->active--;
			pthread_cond_signal(&st->cond);
			pthread_mutex_unlock(&st->lock);
		}
	}
	return h;
}

static void handle_release(s3_store *st, CURL *h)
{
	pthread_mutex_lock(&st->lock);
	/* idle has max_inflight slots and at most that many handles exist. */
	st->idle[st->nidle++] = h;
	st->active--;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

/* ---- one HTTP exchange ---- */

typedef struct s3_req {
	const char *method;
	const char *key; /* the full key in the bucket; NULL: the bucket */
	const tsarc__s3_kv *query;
	size_t nquery;
	const void *body; /* sent with Content-Length and Content-MD5 */
	size_t body_len;
	int has_body;
	const char *range;   /* "bytes=..." */
	int create_only;     /* If-None-Match: * */
	int object_put;      /* an object's PUT: encryption, storage class */
	int head;
	tsarc_buf *out;      /* a 2xx body is appended here */
} s3_req;

typedef struct s3_resp {
	long status;
	int64_t length; /* Content-Length, -1 when unknown */
	char etag[80];
	char bucket_region[64];
	char content_range[96];
	char last_modified[64];
	tsarc__s3_error_doc err;
	unsigned attempts;
} s3_resp;

/* Why the progress callback ended an attempt. */
enum cut { CUT_NONE, CUT_SLOW, CUT_DEADLINE };

typedef struct xfer {
	CURL *h;
	const s3_store *st;
	const s3_req *req;
	s3_resp *resp;
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
	const tsarc__s3_limits *l = &x->st->lim;
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
	if (want)
		memcpy(dst, (const char *)x->req->body + x->body_pos, want);
	x->body_pos += want;
	return want;
}

/* curl rewinds when it must resend (e.g. a reused connection that died):
 * the body is in memory, so the same bytes go out again. */
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
	if (x->errbody.size + n <= S3_ERRBODY_MAX &&
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
	s3_resp *r = x->resp;

	/* A new status line (after a 100 Continue, say) starts afresh. */
	if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		r->etag[0] = r->bucket_region[0] = r->content_range[0] = '\0';
		r->last_modified[0] = '\0';
		return n;
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
	OPENSSL_cleanse(line, strlen(line));
	free(line);
	if (!l)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	*list = l;
	return 0;
}

/* The unencoded path: "/bucket/key" (path style) or "/key". */
static char *request_path(const s3_store *st, const char *key)
{
	if (st->u.virtual_host)
		return tsarc_dup_printf("/%s", key ? key : "");
	return key ? tsarc_dup_printf("/%s/%s", st->u.bucket, key)
		   : tsarc_dup_printf("/%s", st->u.bucket);
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
static CURLcode attempt(s3_store *st, xfer *x, const char *url,
	const char *path, const char *payload_hash, const char *md5_b64,
	int *local_rc)
{
	const s3_req *req = x->req;
	tsarc__s3_kv signed_hdrs[6];
	size_t nsigned = 0, i;
	tsarc__s3_creds cr;
	tsarc__sigv4_request sr;
	tsarc_buf auth = TSARC_BUF_INIT;
	struct curl_slist *hdrs = NULL;
	char amz_date[17];
	CURL *h = x->h;
	CURLcode cc;
	int rc;

	*local_rc = 0;
	/* A copy of the keys of the moment: a refresh may replace them while
	 * this attempt runs. */
	if ((rc = tsarc__s3_credsrc_get(st->cred, &cr))) {
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
	if (req->object_put)
		nsigned += tsarc__s3_put_opts_headers(&st->put, signed_hdrs + nsigned);
	memset(&sr, 0, sizeof(sr));
	sr.method = req->method;
	sr.host = st->u.host;
	sr.path = path;
	sr.query = req->query;
	sr.nquery = req->nquery;
	sr.headers = signed_hdrs;
	sr.nheaders = nsigned;
	sr.payload_sha256 = payload_hash;
	sr.amz_date = amz_date;
	sr.region = st->region;
	sr.service = "s3";
	sr.access_key = cr.access_key;
	sr.secret_key = cr.secret_key;
	sr.session_token = cr.session_token;

	if ((rc = tsarc__sigv4_authorization(&auth, &sr)) ||
	    (rc = add_header(&hdrs, "Host", st->u.host)) ||
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
	for (i = 0; req->object_put && i < nsigned; i++)
		if (strncmp(signed_hdrs[i].name, "x-amz-", 6) == 0 &&
		    (rc = add_header(&hdrs, signed_hdrs[i].name, signed_hdrs[i].value))) {
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
	curl_easy_setopt(h, CURLOPT_SHARE, st->share);
	x->curl_err[0] = '\0';
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->curl_err);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "tsarc/" TSARC_VERSION);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, st->lim.connect_s);
	/* A stalled peer sends nothing at all: below 1 byte/s for stall_s. */
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, st->lim.stall_s);
	/* Slower ones, and the deadline: xferinfo_cb. */
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (st->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, st->cacert);
	if (st->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
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
	memset(x->resp, 0, offsetof(s3_resp, attempts));
	x->resp->length = -1;
	x->attempt_start = mono_s();
	cc = curl_easy_perform(h);
	{
		long connects = 0;
		if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK &&
		    connects > 0)
			atomic_fetch_add(&st->stat_connects, (uint64_t)connects);
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

static int retryable_status(const s3_resp *r)
{
	static const char *const codes[] = {
		"SlowDown", "InternalError", "RequestTimeout", "ServiceUnavailable",
		"Throttling", "ThrottlingException", "RequestThrottled",
		"OperationAborted",
		/* The body left memory intact, so a digest mismatch means it
		 * was damaged on the way: sending it again is the cure. */
		"BadDigest", "XAmzContentSHA256Mismatch",
		"ConditionalRequestConflict",
	};
	size_t i;

	if (r->status == 500 || r->status == 502 || r->status == 503 ||
	    r->status == 504 || r->status == 429)
		return 1;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(r->err.code, codes[i]) == 0)
			return 1;
	return 0;
}

static const char *req_what(const s3_req *req, char *buf, size_t bufsz,
	const s3_store *st)
{
	if (req->key)
		snprintf(buf, bufsz, "%s s3://%s/%s", req->method, st->u.bucket, req->key);
	else
		snprintf(buf, bufsz, "%s bucket '%s'", req->method, st->u.bucket);
	return buf;
}

/*
 * Runs a request with retries. 0: a final HTTP answer is in `resp` (any
 * status; the caller judges it). Negative: no usable answer after every
 * attempt (TSARC_ENET / TSARC_ETRANSIENT) or a local failure.
 */
static int perform(s3_store *st, const s3_req *req, s3_resp *resp)
{
	char payload_hash[65], md5_b64[25], what[1200], last[512] = "";
	tsarc_buf path = TSARC_BUF_INIT, url = TSARC_BUF_INIT;
	char *raw_path = NULL;
	xfer x;
	size_t out_start = req->out ? req->out->size : 0;
	unsigned attempt_no;
	int rc = 0, last_code = TSARC_ETRANSIENT;
	double started;

	memset(&x, 0, sizeof(x));
	memset(resp, 0, sizeof(*resp));
	x.st = st;
	x.req = req;
	x.resp = resp;
	tsarc_buf_init(&x.errbody, S3_ERRBODY_MAX + 1);
	req_what(req, what, sizeof(what), st);

	if (req->has_body) {
		tsarc__sha256_hex(payload_hash, req->body, req->body_len);
		tsarc__md5_base64(md5_b64, NULL, req->body, req->body_len);
	} else {
		memcpy(payload_hash, TSARC__SHA256_EMPTY, sizeof(payload_hash));
	}
	raw_path = request_path(st, req->key);
	if (!raw_path)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if ((rc = tsarc__sigv4_canonical_path(&path, raw_path)) ||
	    (rc = tsarc_buf_puts(&url, st->u.base_url)) ||
	    (rc = tsarc_buf_append(&url, path.ptr, path.size)))
		goto out;
	if (req->nquery && ((rc = tsarc_buf_puts(&url, "?")) ||
			(rc = tsarc__sigv4_canonical_query(&url, req->query, req->nquery))))
		goto out;

	x.h = handle_acquire(st);
	if (!x.h) {
		rc = tsarc_error_set(TSARC_ENOMEM, "cannot create a curl handle");
		goto out;
	}
	/* From here: time spent waiting for a free slot is not the server's. */
	started = x.request_start = mono_s();
	for (attempt_no = 0; attempt_no <= st->lim.max_retries; attempt_no++) {
		int local_rc = 0;
		CURLcode cc;

		if (attempt_no > 0) {
			long ms = backoff_ms(attempt_no);
			if (mono_s() - started + (double)ms / 1000 > (double)st->lim.deadline_s)
				break;
			atomic_fetch_add(&st->stat_retries, 1);
			if (st->lim.trace)
				tsarc__log(TSARC_LOG_INFO, "s3", "retry",
					"s3: %s: %s; retry %u of %u in %ld ms", what, last, attempt_no,
					st->lim.max_retries, ms);
			sleep_ms(ms);
			if (req->out) {
				req->out->size = out_start;
				if (req->out->ptr)
					req->out->ptr[out_start] = 0;
			}
		}
		atomic_fetch_add(&st->stat_requests, 1);
		resp->attempts = attempt_no + 1;
		cc = attempt(st, &x, (const char *)url.ptr, raw_path, payload_hash,
			req->has_body ? md5_b64 : NULL, &local_rc);
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
				before, before[0] ? "; then " : "", st->lim.deadline_s);
			break;
		}
		if (cc == CURLE_ABORTED_BY_CALLBACK && x.cut == CUT_SLOW) {
			last_code = TSARC_ENET;
			snprintf(last, sizeof(last),
				"too slow: %" PRIu64 " bytes in %.0f s (an attempt must move "
				"TSARC_S3_MIN_THROUGHPUT=%" PRIu64 " bytes/s after "
				"TSARC_S3_ATTEMPT_TIMEOUT=%ld s)",
				x.cut_moved, x.cut_ran, st->lim.min_rate, st->lim.attempt_s);
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
						what, st->u.base_url,
						x.curl_err[0] ? x.curl_err : curl_easy_strerror(cc));
				else
					rc = tsarc_error_set(TSARC_EIO, "%s at %s: %s", what,
						st->u.base_url,
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
		    tsarc__s3_credsrc_expired(st->cred, x.key_id)) {
			x.renewed = 1;
			last_code = TSARC_EACCESS;
			snprintf(last, sizeof(last), "HTTP %ld %s", resp->status, resp->err.code);
			continue;
		}
		if (retryable_status(resp)) {
			last_code = TSARC_ETRANSIENT;
			snprintf(last, sizeof(last), "HTTP %ld%s%s", resp->status,
				resp->err.code[0] ? " " : "", resp->err.code);
			continue;
		}
		rc = 0;
		goto release;
	}
	if (!rc) {
		if (last_code == TSARC_ENET)
			rc = tsarc_error_set(TSARC_ENET,
				"%s: cannot reach the S3 server at %s: %s (gave up after %u "
				"attempts in %.0f s)",
				what, st->u.base_url, last, resp->attempts, mono_s() - started);
		else
			rc = tsarc_error_set(TSARC_ETRANSIENT,
				"%s: the S3 server at %s kept failing: %s (gave up after %u "
				"attempts in %.0f s)",
				what, st->u.base_url, last, resp->attempts, mono_s() - started);
	}
	if (req->out) {
		req->out->size = out_start;
		if (req->out->ptr)
			req->out->ptr[out_start] = 0;
	}
release:
	handle_release(st, x.h);
out:
	tsarc_buf_dispose(&x.errbody);
	tsarc_buf_dispose(&path);
	tsarc_buf_dispose(&url);
	free(raw_path);
	return rc;
}

/* Turns a final non-success answer into an error that says what to fix. */
static int status_error(s3_store *st, const s3_req *req, const s3_resp *r)
{
	const char *code = r->err.code, *msg = r->err.message;
	const char *region = r->bucket_region[0] ? r->bucket_region : r->err.region;
	char what[1200], key_id[160], source[300];

	req_what(req, what, sizeof(what), st);
	tsarc__s3_credsrc_ident(st->cred, key_id, sizeof(key_id), source, sizeof(source));
	if (strcmp(code, "InvalidAccessKeyId") == 0)
		return tsarc_error_set(TSARC_EACCESS,
			"%s: the S3 server at %s does not know access key id '%s' (from %s): "
			"check AWS_ACCESS_KEY_ID",
			what, st->u.base_url, key_id, source);
	if (strcmp(code, "SignatureDoesNotMatch") == 0)
		return tsarc_error_set(TSARC_EACCESS,
			"%s: the secret key for access key id '%s' (from %s) is wrong: the "
			"server rejected the signature; check AWS_SECRET_ACCESS_KEY",
			what, key_id, source);
	if (strcmp(code, "RequestTimeTooSkewed") == 0)
		return tsarc_error_set(TSARC_ECONFIG,
			"%s: this machine's clock is too far from the S3 server's: fix the "
			"system time (NTP)", what);
	if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "InvalidToken") == 0 ||
	    strcmp(code, "TokenRefreshRequired") == 0)
		return tsarc_error_set(TSARC_EACCESS,
			"%s: the session token for access key id '%s' is %s: get fresh "
			"credentials (AWS_SESSION_TOKEN)",
			what, key_id,
			strcmp(code, "InvalidToken") == 0 ? "invalid" : "expired");
	if (r->status == 301 || r->status == 307 ||
	    strcmp(code, "PermanentRedirect") == 0 ||
	    strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
	    strcmp(code, "IllegalLocationConstraintException") == 0) {
		if (region[0] && strcmp(region, st->region) != 0)
			return tsarc_error_set(TSARC_ECONFIG,
				"%s: bucket '%s' is in region %s, not %s: set AWS_REGION=%s",
				what, st->u.bucket, region, st->region, region);
		return tsarc_error_set(TSARC_ECONFIG,
			"%s: bucket '%s' must be reached through another endpoint or "
			"region%s%s (HTTP %ld %s): check AWS_REGION and the repository URL",
			what, st->u.bucket, r->err.endpoint[0] ? ": " : "", r->err.endpoint,
			r->status, code);
	}
	if (r->status == 403)
		return tsarc_error_set(TSARC_EACCESS,
			"%s: access denied for access key id '%s' (from %s)%s%s: check the "
			"key and its permissions on bucket '%s'",
			what, key_id, source, code[0] ? ": " : "",
			code, st->u.bucket);
	if (strcmp(code, "NoSuchBucket") == 0)
		return tsarc_error_set(TSARC_ENOTFOUND,
			"bucket '%s' does not exist at %s (create the repository with "
			"`tsarc init`, or check the repository URL)",
			st->u.bucket, st->u.base_url);
	if (r->status == 404)
		return tsarc_error_set(TSARC_ENOTFOUND, "%s: not found", what);
	if (r->status == 412)
		return tsarc_error_set(TSARC_EEXISTS, "%s: the object already exists", what);
	if (r->status == 416)
		return tsarc_error_set(TSARC_EINVAL,
			"%s: range starts past the end of the object", what);
	if (strcmp(code, "InvalidBucketName") == 0)
		return tsarc_error_set(TSARC_ECONFIG, "bucket name '%s' is not valid: %s",
			st->u.bucket, msg);
	return tsarc_error_set(TSARC_EIO, "%s: HTTP %ld%s%s%s%s", what, r->status,
		code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
}

/* ---- keys ---- */

static int object_key(s3_store *st, char *out, size_t outsz, tsarc_objtype type,
	const char *name)
{
	char rel[512];
	int rc, n;

	if ((rc = tsarc_store_layout(rel, sizeof(rel), type, name)))
		return rc;
	n = snprintf(out, outsz, "%s%s", st->u.prefix, rel);
	if (n < 0 || (size_t)n >= outsz || n > S3_KEY_MAX)
		return tsarc_error_set(TSARC_ETOOLARGE,
			"S3 key for %s is longer than 1024 bytes", rel);
	return 0;
}

/* HEAD carries no error body: on a puzzling refusal, ask again with a GET
 * of one byte, whose answer says what is wrong (wrong secret, region...). */
static int head_object(s3_store *st, const char *key, s3_resp *resp, s3_req *used)
{
	s3_req rq = {0};
	int rc;

	rq.method = "HEAD";
	rq.key = key;
	rq.head = 1;
	*used = rq;
	if ((rc = perform(st, &rq, resp)))
		return rc;
	if (resp->status == 400 || resp->status == 403 || resp->status == 301) {
		s3_req probe = {0};
		s3_resp presp;
		probe.method = "GET";
		probe.key = key;
		probe.range = "bytes=0-0";
		if (perform(st, &probe, &presp) == 0 && presp.err.code[0] &&
		    presp.status == resp->status)
			*resp = presp;
	}
	return 0;
}

static int etag_matches(const char *etag, const char *md5_hex)
{
	size_t n = strlen(etag);

	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
		etag++;
		n -= 2;
	}
	return n == 32 && strncasecmp(etag, md5_hex, 32) == 0;
}

/* ---- operations ---- */

static int s3_put(tsarc_store *base, tsarc_objtype type, const char *name,
	const void *data, size_t len, unsigned flags)
{
	s3_store *st = (s3_store *)base;
	char key[S3_KEY_MAX + 1];
	s3_req rq = {0};
	s3_resp resp;
	int rc;

	if ((rc = object_key(st, key, sizeof(key), type, name)))
		return rc;
	if ((uint64_t)len > S3_PUT_MAX)
		return tsarc_error_set(TSARC_ETOOLARGE,
			"PUT s3://%s/%s: %zu bytes is more than S3 takes in one PUT (5 GiB)",
			st->u.bucket, key, len);
	rq.method = "PUT";
	rq.key = key;
	rq.body = data;
	rq.body_len = len;
	rq.has_body = 1;
	rq.create_only = (flags & TSARC_PUT_CREATE_ONLY) != 0;
	rq.object_put = 1;
	if ((rc = perform(st, &rq, &resp)))
		return rc;
	if (resp.status >= 200 && resp.status < 300)
		return 0;
	if (resp.status == 412 && rq.create_only && resp.attempts > 1) {
		/* An earlier attempt may have landed before its answer was lost:
		 * the object is then ours if it holds exactly our bytes. */
		s3_resp h;
		s3_req hrq;
		char md5_b64[25], md5_hex[33];

		tsarc__md5_base64(md5_b64, md5_hex, data, len);
		if (head_object(st, key, &h, &hrq) == 0 && h.status == 200 &&
		    h.length == (int64_t)len && etag_matches(h.etag, md5_hex))
			return 0;
	}
	return status_error(st, &rq, &resp);
}

/* HEAD: the size and, when mtime_out is set, the Last-Modified time. */
static int head_stat(tsarc_store *base, tsarc_objtype type, const char *name,
	uint64_t *size_out, int64_t *mtime_out)
{
	s3_store *st = (s3_store *)base;
	char key[S3_KEY_MAX + 1];
	s3_req rq;
	s3_resp resp;
	int rc;

	if ((rc = object_key(st, key, sizeof(key), type, name)))
		return rc;
	if ((rc = head_object(st, key, &resp, &rq)))
		return rc;
	if (resp.status == 404 && type == TSARC_OBJ_CONFIG) {
		/* HEAD cannot tell a missing bucket from a missing key. Opening a
		 * repository starts here, so say which one it is. */
		s3_req brq = {0};
		s3_resp bresp;
		brq.method = "HEAD";
		brq.head = 1;
		if (perform(st, &brq, &bresp) == 0 && bresp.status == 404)
			snprintf(resp.err.code, sizeof(resp.err.code), "NoSuchBucket");
	}
	if (resp.status != 200)
		return status_error(st, &rq, &resp);
	if (resp.length < 0)
		return tsarc_error_set(TSARC_EIO,
			"HEAD s3://%s/%s: the server sent no Content-Length", st->u.bucket, key);
	if (mtime_out) {
		time_t t = resp.last_modified[0] ? curl_getdate(resp.last_modified, NULL) : -1;
		if (t == (time_t)-1)
			return tsarc_error_set(TSARC_EIO,
				"HEAD s3://%s/%s: the server sent no valid Last-Modified", st->u.bucket,
				key);
		*mtime_out = (int64_t)t;
	}
	if (size_out)
		*size_out = (uint64_t)resp.length;
	return 0;
}

static int s3_stat(tsarc_store *base, tsarc_objtype type, const char *name,
	uint64_t *size_out)
{
	return head_stat(base, type, name, size_out, NULL);
}

static int s3_get(tsarc_store *base, tsarc_objtype type, const char *name,
	uint64_t offset, uint64_t length, tsarc_buf *out)
{
	s3_store *st = (s3_store *)base;
	char key[S3_KEY_MAX + 1], range[64];
	size_t start = out->size;
	s3_req rq = {0};
	s3_resp resp;
	int rc;

	if ((rc = object_key(st, key, sizeof(key), type, name)))
		return rc;
	if (length && offset > UINT64_MAX - length)
		return tsarc_error_set(TSARC_EINVAL, "range overflows");
	rq.method = "GET";
	rq.key = key;
	rq.out = out;
	if (length) {
		snprintf(range, sizeof(range), "bytes=%llu-%llu",
			(unsigned long long)offset, (unsigned long long)(offset + length - 1));
		rq.range = range;
	} else if (offset) {
		snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)offset);
		rq.range = range;
	}
	if ((rc = perform(st, &rq, &resp)))
		return rc;
	if (resp.status == 416) {
		/* S3 refuses a range that starts at the very end; the contract
		 * wants an empty read there and an error only past it. */
		uint64_t size;
		if ((rc = s3_stat(base, type, name, &size)))
			return rc;
		if (offset == size)
			return 0;
		return status_error(st, &rq, &resp);
	}
	if (resp.status != 200 && resp.status != 206)
		return status_error(st, &rq, &resp);
	if (resp.length >= 0 && (uint64_t)resp.length != out->size - start) {
		size_t got = out->size - start;
		out->size = start;
		return tsarc_error_set(TSARC_ETRANSIENT,
			"GET s3://%s/%s: got %zu bytes of %lld", st->u.bucket, key, got,
			(long long)resp.length);
	}
	if (resp.status == 200 && rq.range) {
		/* The server ignored Range and sent everything: cut it here. */
		size_t got = out->size - start, from, n;
		if (offset > got) {
			out->size = start;
			return tsarc_error_set(TSARC_EINVAL,
				"GET s3://%s/%s: range starts past the end of the object",
				st->u.bucket, key);
		}
		from = (size_t)offset;
		n = got - from;
		if (length && length < n)
			n = (size_t)length;
		memmove(out->ptr + start, out->ptr + start + from, n);
		out->size = start + n;
		out->ptr[out->size] = 0;
	}
	return 0;
}

typedef struct list_item {
	char *name;
	uint64_t size;
} list_item;

/*
 * The continuation tokens a listing has sent. A server that hands one out
 * a second time would take the listing round the same pages forever; each
 * token is new in a sane listing, so any repeat is an error. Open
 * addressing, FNV-1a: a listing of millions of keys has thousands of pages.
 */
typedef struct token_set {
	char **slot;
	size_t cap; /* a power of two, or 0 */
	size_t count;
} token_set;

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static int token_set_has(const token_set *t, const char *tok)
{
	size_t i;

	if (!t->cap)
		return 0;
	for (i = (size_t)fnv1a(tok) & (t->cap - 1); t->slot[i];
	     i = (i + 1) & (t->cap - 1))
		if (strcmp(t->slot[i], tok) == 0)
			return 1;
	return 0;
}

/* Takes `tok` (a string the caller gives up) into the set. */
static int token_set_take(token_set *t, char *tok)
{
	size_t i;

	if ((t->count + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64, j;
		char **ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		for (j = 0; j < t->cap; j++) {
			if (!t->slot[j])
				continue;
			for (i = (size_t)fnv1a(t->slot[j]) & (ncap - 1); ns[i];
			     i = (i + 1) & (ncap - 1))
				;
			ns[i] = t->slot[j];
		}
		free(t->slot);
		t->slot = ns;
		t->cap = ncap;
	}
	for (i = (size_t)fnv1a(tok) & (t->cap - 1); t->slot[i]; i = (i + 1) & (t->cap - 1))
		;
	t->slot[i] = tok;
	t->count++;
	return 0;
}

static void token_set_dispose(token_set *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slot[i]);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static int s3_list(tsarc_store *base, tsarc_objtype type, tsarc_store_list_cb cb,
	void *payload)
{
	s3_store *st = (s3_store *)base;
	tsarc_buf body;
	token_set sent = {0};
	const char *token = NULL; /* owned by `sent` */
	char *pfx = NULL;
	size_t pfxlen, i;
	int rc = 0;

	if ((unsigned)type >= TSARC_OBJ__COUNT)
		return tsarc_error_set(TSARC_EINVAL, "unknown object type %d", (int)type);
	if (type == TSARC_OBJ_CONFIG) {
		uint64_t size;
		int64_t mtime;
		rc = head_stat(base, type, NULL, &size, &mtime);
		if (rc == TSARC_ENOTFOUND) {
			tsarc_error_clear();
			return 0;
		}
		return rc ? rc : cb("config", size, mtime, payload);
	}
	pfx = tsarc_dup_printf("%s%s/", st->u.prefix, tsarc_objtype_dir(type));
	if (!pfx)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pfxlen = strlen(pfx);
	tsarc_buf_init(&body, S3_LISTBODY_MAX);
	for (;;) {
		tsarc__s3_kv q[3] = {{"list-type", "2"}, {"prefix", pfx}, {NULL, NULL}};
		tsarc__s3_list_page page;
		s3_req rq = {0};
		s3_resp resp;

		if (token) {
			q[2].name = "continuation-token";
			q[2].value = token;
		}
		rq.method = "GET";
		rq.query = q;
		rq.nquery = token ? 3 : 2;
		rq.out = &body;
		tsarc_buf_clear(&body);
		if ((rc = perform(st, &rq, &resp)))
			break;
		if (resp.status != 200) {
			rc = status_error(st, &rq, &resp);
			break;
		}
		if ((rc = tsarc__s3_parse_list(&page, (const char *)body.ptr, body.size))) {
			tsarc_error_prefix("listing s3://%s/%s", st->u.bucket, pfx);
			break;
		}
		/* Before the page's names go out: they may be ones already given. */
		if (page.truncated && token_set_has(&sent, page.next_token)) {
			rc = tsarc_error_set(TSARC_EIO,
				"listing s3://%s/%s: after %zu pages the server sent "
				"continuation token '%.60s' again: its listing goes round "
				"in a circle and would never end",
				st->u.bucket, pfx, sent.count + 1, page.next_token);
			tsarc__s3_list_page_dispose(&page);
			break;
		}
		/* Callbacks run with no request in flight, so they may use the store. */
		for (i = 0; i < page.count && !rc; i++) {
			const char *k = page.entries[i].key, *nm;
			if (strncmp(k, pfx, pfxlen) != 0)
				continue;
			nm = k + pfxlen;
			if (type == TSARC_OBJ_DATA) {
				const char *slash = strchr(nm, '/');
				/* data/<2 hex>/<name>, where <name> starts with those two */
				if (!slash || slash - nm != 2 || strchr(slash + 1, '/') ||
				    strncmp(nm, slash + 1, 2) != 0)
					continue;
				nm = slash + 1;
			}
			if (!tsarc_store_name_valid(type, nm))
				continue;
			rc = cb(nm, page.entries[i].size, page.entries[i].mtime, payload);
		}
		token = NULL;
		if (!rc && page.truncated) {
			rc = token_set_take(&sent, page.next_token);
			if (!rc) {
				token = page.next_token;
				page.next_token = NULL;
			}
		}
		tsarc__s3_list_page_dispose(&page);
		if (rc || !token)
			break;
	}
	token_set_dispose(&sent);
	free(pfx);
	tsarc_buf_dispose(&body);
	return rc;
}

static int s3_remove(tsarc_store *base, tsarc_objtype type, const char *name)
{
	s3_store *st = (s3_store *)base;
	char key[S3_KEY_MAX + 1];
	s3_req rq = {0};
	s3_resp resp;
	int rc;

	/* DELETE answers 204 whether or not the key existed; the contract
	 * wants TSARC_ENOTFOUND for a missing one, so look first. */
	if ((rc = s3_stat(base, type, name, NULL)))
		return rc;
	if ((rc = object_key(st, key, sizeof(key), type, name)))
		return rc;
	rq.method = "DELETE";
	rq.key = key;
	if ((rc = perform(st, &rq, &resp)))
		return rc;
	if (resp.status >= 200 && resp.status < 300)
		return 0;
	return status_error(st, &rq, &resp);
}

static int xml_escape_append(tsarc_buf *b, const char *s)
{
	int rc = 0;

	for (; *s && !rc; s++) {
		switch (*s) {
		case '&': rc = tsarc_buf_puts(b, "&amp;"); break;
		case '<': rc = tsarc_buf_puts(b, "&lt;"); break;
		case '>': rc = tsarc_buf_puts(b, "&gt;"); break;
		case '"': rc = tsarc_buf_puts(b, "&quot;"); break;
		case '\'': rc = tsarc_buf_puts(b, "&apos;"); break;
		default: rc = tsarc_buf_append(b, s, 1); break;
		}
	}
	return rc;
}

static int delete_batch(s3_store *st, tsarc_objtype type,
	const char *const *names, size_t count)
{
	tsarc_buf xmlbody = TSARC_BUF_INIT, out;
	tsarc__s3_kv q[1] = {{"delete", ""}};
	tsarc__s3_delete_result res;
	char key[S3_KEY_MAX + 1];
	s3_req rq = {0};
	s3_resp resp;
	size_t i;
	int rc;

	tsarc_buf_init(&out, S3_LISTBODY_MAX);
	rc = tsarc_buf_puts(&xmlbody,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
	for (i = 0; i < count && !rc; i++) {
		if ((rc = object_key(st, key, sizeof(key), type, names[i])))
			break;
		if ((rc = tsarc_buf_puts(&xmlbody, "<Object><Key>")) ||
		    (rc = xml_escape_append(&xmlbody, key)) ||
		    (rc = tsarc_buf_puts(&xmlbody, "</Key></Object>")))
			break;
	}
	if (!rc)
		rc = tsarc_buf_puts(&xmlbody, "</Delete>");
	if (rc)
		goto done;
	rq.method = "POST";
	rq.query = q;
	rq.nquery = 1;
	rq.body = xmlbody.ptr;
	rq.body_len = xmlbody.size;
	rq.has_body = 1;
	rq.out = &out;
	if ((rc = perform(st, &rq, &resp)))
		goto done;
	if (resp.status != 200) {
		rc = status_error(st, &rq, &resp);
		goto done;
	}
	if ((rc = tsarc__s3_parse_delete(&res, (const char *)out.ptr, out.size)))
		goto done;
	if (res.errors) {
		int code = strcmp(res.code, "AccessDenied") == 0 ? TSARC_EACCESS
			 : strcmp(res.code, "SlowDown") == 0 ||
				   strcmp(res.code, "InternalError") == 0
			     ? TSARC_ETRANSIENT
			     : TSARC_EIO;
		rc = tsarc_error_set(code,
			"deleting %zu objects from bucket '%s': %zu failed, first s3://%s/%s: %s %s",
			count, st->u.bucket, res.errors, st->u.bucket, res.key, res.code,
			res.message);
	}
done:
	tsarc_buf_dispose(&xmlbody);
	tsarc_buf_dispose(&out);
	return rc;
}

static int s3_remove_many(tsarc_store *base, tsarc_objtype type,
	const char *const *names, size_t count)
{
	s3_store *st = (s3_store *)base;
	size_t done = 0;
	int rc;

	while (done < count) {
		size_t n = count - done;
		if (n > S3_DELETE_BATCH)
			n = S3_DELETE_BATCH;
		if ((rc = delete_batch(st, type, names + done, n)))
			return rc;
		done += n;
	}
	return 0;
}

static int s3_create(tsarc_store *base)
{
	s3_store *st = (s3_store *)base;
	s3_req rq = {0};
	s3_resp resp;
	tsarc_buf body = TSARC_BUF_INIT;
	int rc;

	rq.method = "HEAD";
	rq.head = 1;
	if ((rc = perform(st, &rq, &resp)))
		return rc;
	if (resp.status == 200)
		return 0;
	if (resp.status == 400 || resp.status == 403 || resp.status == 301) {
		/* HEAD has no error body; a one-key listing says what is wrong. */
		tsarc__s3_kv q[2] = {{"list-type", "2"}, {"max-keys", "1"}};
		s3_req probe = {0};
		s3_resp presp;
		tsarc_buf sink;
		tsarc_buf_init(&sink, S3_LISTBODY_MAX);
		probe.method = "GET";
		probe.query = q;
		probe.nquery = 2;
		probe.out = &sink;
		rc = perform(st, &probe, &presp);
		tsarc_buf_dispose(&sink);
		if (rc)
			return rc;
		if (presp.status == resp.status && presp.err.code[0])
			return status_error(st, &probe, &presp);
		if (resp.status == 403) {
			char key_id[160], source[300];
			tsarc__s3_credsrc_ident(st->cred, key_id, sizeof(key_id), source,
				sizeof(source));
			return tsarc_error_set(TSARC_EACCESS,
				"bucket '%s' exists at %s but access key id '%s' may not use it: "
				"check the credentials, or choose another bucket",
				st->u.bucket, st->u.base_url, key_id);
		}
	}
	if (resp.status != 404)
		return status_error(st, &rq, &resp);

	memset(&rq, 0, sizeof(rq));
	rq.method = "PUT";
	rq.has_body = 1;
	/* us-east-1 is AWS's default and must not be named; other S3
	 * implementations choose their own placement and may reject it. */
	if (st->u.aws && strcmp(st->region, "us-east-1") != 0) {
		if ((rc = tsarc_buf_puts(&body,
			     "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			     "<LocationConstraint>")) ||
		    (rc = xml_escape_append(&body, st->region)) ||
		    (rc = tsarc_buf_puts(&body, "</LocationConstraint></CreateBucketConfiguration>")))
			goto done;
		rq.body = body.ptr;
		rq.body_len = body.size;
	}
	if ((rc = perform(st, &rq, &resp)))
		goto done;
	if ((resp.status >= 200 && resp.status < 300) ||
	    strcmp(resp.err.code, "BucketAlreadyOwnedByYou") == 0)
		goto done;
	if (strcmp(resp.err.code, "BucketAlreadyExists") == 0)
		rc = tsarc_error_set(TSARC_ECONFIG,
			"bucket name '%s' is taken by another account: choose another bucket",
			st->u.bucket);
	else
		rc = status_error(st, &rq, &resp);
done:
	tsarc_buf_dispose(&body);
	return rc;
}

static const char *s3_describe(tsarc_store *base)
{
	return ((s3_store *)base)->u.desc;
}

static void s3_free(tsarc_store *base)
{
	s3_store *st = (s3_store *)base;
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->nidle; i++)
		curl_easy_cleanup(st->idle[i]);
	free(st->idle);
	if (st->share)
		curl_share_cleanup(st->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&st->share_lock[i]);
	pthread_mutex_destroy(&st->lock);
	pthread_cond_destroy(&st->cond);
	tsarc__s3_credsrc_free(st->cred);
	tsarc__s3_put_opts_dispose(&st->put);
	tsarc__s3_url_dispose(&st->u);
	free(st->cacert);
	free(st);
}

int tsarc__s3_stats_get(tsarc_store *base, tsarc__s3_stats *out)
{
	s3_store *st = (s3_store *)base;

	if (!base || !base->kind || strcmp(base->kind, "s3") != 0)
		return tsarc_error_set(TSARC_EINVAL, "not an s3 store");
	out->requests = atomic_load(&st->stat_requests);
	out->retries = atomic_load(&st->stat_retries);
	out->connects = atomic_load(&st->stat_connects);
	return 0;
}

/* ---- opening ---- */

int tsarc_store_s3_open(tsarc_store **out, const char *url,
	const tsarc_store_options *opts)
{
	s3_store *st;
	const char *cacert;
	size_t i;
	int rc;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return tsarc_error_set(TSARC_EGENERIC, "libcurl failed to initialise: %s",
			curl_easy_strerror(curl_init_rc));
	st = calloc(1, sizeof(*st));
	if (!st)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&st->share_lock[i], NULL);
	atomic_init(&st->stat_requests, 0);
	atomic_init(&st->stat_retries, 0);
	atomic_init(&st->stat_connects, 0);

	st->parent.kind = "s3";
	st->parent.max_inflight = opts && opts->inflight ? opts->inflight
							 : S3_DEFAULT_INFLIGHT;
	st->parent.create = s3_create;
	st->parent.put = s3_put;
	st->parent.get = s3_get;
	st->parent.stat = s3_stat;
	st->parent.list = s3_list;
	st->parent.remove = s3_remove;
	st->parent.remove_many = s3_remove_many;
	st->parent.describe = s3_describe;
	st->parent.free = s3_free;

	cacert = opts && opts->cacert ? opts->cacert : getenv("AWS_CA_BUNDLE");
	if (cacert && *cacert && !(st->cacert = dup_str(cacert))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto fail;
	}
	st->insecure = opts && opts->insecure_tls;
	if ((rc = tsarc__s3_url_parse(&st->u, url)) || (rc = tsarc__s3_limits_load(&st->lim)) ||
	    (rc = tsarc__s3_put_opts_load(&st->put, opts)) ||
	    (rc = tsarc__s3_credsrc_open(&st->cred, st->cacert, st->insecure,
		     st->lim.refresh_margin_s)))
		goto fail;
	st->region = tsarc__s3_credsrc_region(st->cred);
	if (st->u.aws && (rc = tsarc__s3_url_aws_host(&st->u, st->region)))
		goto fail;
	if (st->insecure && !atomic_flag_test_and_set(&insecure_warned))
		tsarc__log(TSARC_LOG_WARN, "s3", "tls_verification_disabled",
			"TLS certificate verification is DISABLED for %s: anyone on the network "
			"path can read or alter this repository's traffic", st->u.desc);
	st->idle = calloc(st->parent.max_inflight, sizeof(*st->idle));
	st->share = curl_share_init();
	if (!st->idle || !st->share) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto fail;
	}
	/* Share what is safe to share between handles in use by different
	 * threads; each handle keeps its own connections. */
	curl_share_setopt(st->share, CURLSHOPT_LOCKFUNC, share_lock_cb);
	curl_share_setopt(st->share, CURLSHOPT_UNLOCKFUNC, share_unlock_cb);
	curl_share_setopt(st->share, CURLSHOPT_USERDATA, st);
	curl_share_setopt(st->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(st->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);

	*out = &st->parent;
	return 0;
fail:
	s3_free(&st->parent);
	return rc;
}
