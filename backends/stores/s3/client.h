#ifndef TSARC_S3_CLIENT_H
#define TSARC_S3_CLIENT_H

/*
 * The S3 request engine, apart from any one use of a bucket: the s3 store
 * (s3.c) keeps a repository's typed objects in it, the s3 system-storage
 * component copies a bucket's objects as they are. Both need the same
 * things done the same way: signed requests over a bounded pool of curl
 * handles, retries within deadlines (config.h), a final answer turned into
 * an error that says what to fix, listings that cannot go round forever.
 *
 *   client.c  opening, the handle pool, one attempt, retries (perform)
 *   reply.c   what an answer means: retryable or not, the error it becomes
 *   bucket.c  bucket-wide requests: listing, DeleteObjects, creation
 *
 * Every call is thread-safe; at most max_inflight requests run at once.
 */

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "s3.h"
#include "url.h"
#include "xml.h"
#include "tsarc/buf.h"
#include "tsarc/sys/store.h"

#define TSARC__S3_KEY_MAX 1024
/* A ListObjectsV2 page of 1000 keys of 1 KiB is about 1.3 MB. */
#define TSARC__S3_LISTBODY_MAX (16 * 1024 * 1024)
/* Truncated pages with nothing on them in a row, past which a listing is
 * taken for one that never ends: S3 may send an empty page that says
 * more follow, not a thousand in a row. Each comes with a token (or
 * marker) never sent before, so no circle shows it. */
#define TSARC__S3_EMPTY_PAGES_MAX 1000
/* Error bodies are a few hundred bytes; anything past this is noise. */
#define TSARC__S3_ERRBODY_MAX (64 * 1024)
#define TSARC__S3_PUT_MAX (5ULL << 30)

typedef struct tsarc__s3_client tsarc__s3_client;

typedef struct tsarc__s3_req {
	const char *method;
	const char *key; /* the full key in the bucket; NULL: the bucket */
	const tsarc__s3_kv *query;
	size_t nquery;
	/* Further headers, signed and sent (lower-case names: content-type,
	 * x-amz-meta-*). */
	const tsarc__s3_kv *headers;
	size_t nheaders;
	const void *body; /* sent with Content-Length (and Content-MD5: wants_content_md5) */
	size_t body_len;
	int has_body;
	/* Or, when set, the body is the first body_len bytes of the file
	 * body_fd, read with pread at each attempt: not held in memory. */
	int body_in_file;
	int body_fd;
	const char *range;   /* "bytes=..." */
	int create_only;     /* If-None-Match: * */
	int object_put;      /* an object's PUT: encryption, storage class */
	int head;
	tsarc_buf *out;      /* a 2xx body is appended here */
	/* When set: the final answer's header lines, "Name: value\r\n" each,
	 * as the server sent them (emptied at every attempt). */
	tsarc_buf *headers_out;
} tsarc__s3_req;

typedef struct tsarc__s3_resp {
	long status;
	int64_t length; /* Content-Length, -1 when unknown */
	char etag[80];
	char bucket_region[64];
	char content_range[96];
	char last_modified[64];
	char date[64];  /* Date: the store's clock when it answered */
	int chunked;    /* Transfer-Encoding: chunked (its end is checked) */
	tsarc__s3_error_doc err;
	unsigned attempts;
} tsarc__s3_resp;

/*
 * The endpoint, bucket and prefix of `url` (url.h), credentials from the
 * chain (credentials.h), limits from the environment (config.h), object
 * PUT options and TLS settings from `opts` (may be NULL).
 */
int tsarc__s3_client_open(tsarc__s3_client **out, const char *url,
	const tsarc_store_options *opts, unsigned max_inflight);
/* The same with the caller's keys (a component's Secret) instead of the
 * chain; `keys` is copied. */
int tsarc__s3_client_open_keys(tsarc__s3_client **out, const char *url,
	const tsarc_store_options *opts, unsigned max_inflight, const tsarc__s3_creds *keys);
void tsarc__s3_client_free(tsarc__s3_client *c);

const tsarc__s3_url *tsarc__s3_client_url(const tsarc__s3_client *c);
const char *tsarc__s3_client_region(const tsarc__s3_client *c);
/* Whether the signature of an object PUT covers its body (client_impl.h). */
int tsarc__s3_client_signs_bodies(const tsarc__s3_client *c);
void tsarc__s3_client_stats(tsarc__s3_client *c, tsarc__s3_stats *out);

/*
 * Runs a request with retries. 0: a final HTTP answer is in `resp` (any
 * status; the caller judges it). Negative: no usable answer after every
 * attempt (TSARC_ENET / TSARC_ETRANSIENT) or a local failure.
 */
int tsarc__s3_perform(tsarc__s3_client *c, const tsarc__s3_req *req,
	tsarc__s3_resp *resp);

/* reply.c */
/* 1 when the answer is worth another attempt (5xx, throttling, ...). */
int tsarc__s3_retryable_status(const tsarc__s3_resp *r);
/* "PUT s3://bucket/key", "GET bucket 'b'": the request, for messages. */
const char *tsarc__s3_req_what(const tsarc__s3_client *c, const tsarc__s3_req *req,
	char *buf, size_t bufsz);
/* Turns a final non-success answer into an error that says what to fix. */
int tsarc__s3_status_error(tsarc__s3_client *c, const tsarc__s3_req *req,
	const tsarc__s3_resp *r);
/* HEAD of `key`; on a puzzling refusal (HEAD has no error body) asked
 * again as a one-byte GET, whose answer says what is wrong. `used` gets
 * the request, for tsarc__s3_status_error. */
int tsarc__s3_head_object(tsarc__s3_client *c, const char *key,
	tsarc__s3_resp *resp, tsarc__s3_req *used);
/* bucket.c: one page of a listing, GET of the bucket with `query` (`n`
 * pairs) into `body` (emptied first): 0 on HTTP 200, else the error that
 * says what to fix (tsarc__s3_status_error). */
int tsarc__s3_get_listing(tsarc__s3_client *c, const tsarc__s3_kv *query, size_t n,
	tsarc_buf *body);
/* 1 when the ETag is the MD5 (hex) of a single PUT's body. */
int tsarc__s3_etag_matches(const char *etag, const char *md5_hex);

/* bucket.c */
/*
 * The continuation tokens (or markers) a listing has sent. A server that
 * hands one out a second time would take the listing round the same pages
 * forever; each is new in a sane listing, so any repeat is an error. Open
 * addressing, FNV-1a: a listing of millions of keys has thousands of
 * pages. Starts zeroed; take() takes the string (malloc'd) it is given.
 */
typedef struct tsarc__s3_token_set {
	char **slot;
	size_t cap; /* a power of two, or 0 */
	size_t count;
} tsarc__s3_token_set;

int tsarc__s3_token_set_has(const tsarc__s3_token_set *t, const char *tok);
int tsarc__s3_token_set_take(tsarc__s3_token_set *t, char *tok);
void tsarc__s3_token_set_dispose(tsarc__s3_token_set *t);

/*
 * Every key under `prefix` ("" for the whole bucket), in the server's
 * order, page by page (continuation tokens followed; a token handed out
 * twice or a truncated page without one is TSARC_EIO). The callback runs
 * with no request in flight, so it may use the client; non-zero stops.
 */
typedef int (*tsarc__s3_list_cb)(const tsarc__s3_list_entry *e, void *ud);
int tsarc__s3_list(tsarc__s3_client *c, const char *prefix, tsarc__s3_list_cb cb,
	void *ud);
/* Quiet DeleteObjects of full keys, in batches of 1000; missing keys are
 * no error. */
int tsarc__s3_delete_keys(tsarc__s3_client *c, const char *const *keys,
	size_t count);
/* Creates the bucket unless it exists and is ours; says what is wrong
 * when it exists and is not. */
int tsarc__s3_create_bucket(tsarc__s3_client *c);
/* The same, with further headers on the creation only (Object Lock). */
int tsarc__s3_create_bucket_with(tsarc__s3_client *c, const tsarc__s3_kv *headers,
	size_t nheaders);
int tsarc__s3_xml_escape_append(tsarc_buf *b, const char *s);
/* A DeleteObjects request: each entry added to `xml` (starting empty) by
 * tsarc__s3_delete_add (`version` NULL: the key's current version), then
 * POSTed by tsarc__s3_delete_post, which puts the server's answer (200
 * only; anything else is an error) into `out` for the caller's parser. */
int tsarc__s3_delete_add(tsarc_buf *xml, const char *key, const char *version);
int tsarc__s3_delete_post(tsarc__s3_client *c, tsarc_buf *xml, tsarc_buf *out);

#endif
