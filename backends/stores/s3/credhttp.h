#ifndef TSARC_S3_CREDHTTP_H
#define TSARC_S3_CREDHTTP_H

/*
 * The one-shot HTTP calls of the credential providers (STS, the container
 * endpoint, the instance metadata service). Separate from the store's
 * request machinery: these are rare, small, and must fail fast (a
 * metadata service that is not there must not hold a command for the
 * store's two-minute retry deadline).
 */

#include <stddef.h>
#include <stdint.h>
#include "tsarc/buf.h"

#include <curl/curl.h>

/* Answers are a few KiB; anything past this is refused. */
#define TSARC__S3_CRED_BODY_MAX (64 * 1024)

typedef struct tsarc__s3_http {
	const char *method;          /* "GET", "PUT", "POST" */
	const char *url;
	const char *const *headers;  /* "Name: value" lines, NULL-terminated */
	const char *body;            /* NULL: none */
	long timeout_ms;             /* the whole call, connecting included */
	const char *cacert;          /* NULL: the system store */
	int insecure;
} tsarc__s3_http;

/*
 * Performs the call; *status is the HTTP status and `out` the body (at
 * most TSARC__S3_CRED_BODY_MAX bytes, NUL-terminated). TSARC_ENET when
 * no answer came (message says why, never a header value). `out` is
 * marked `wipe` (tsarc/buf.h), so that the blocks it outgrows while the
 * answer arrives are wiped; the caller wipes `out` (it may hold keys)
 * with tsarc_secure_buf_dispose (wipe.h).
 */
int tsarc__s3_http_call(const tsarc__s3_http *req, long *status, tsarc_buf *out);

/* What every HTTP request of the S3 store (these calls and the store's
 * own) sets on its curl handle: http and https only, no redirects, the
 * user agent, and whom it trusts: `cacert` (NULL: the system store), or
 * no verification at all when `insecure`. */
void tsarc__s3_curl_common(CURL *h, const char *cacert, int insecure);

#endif
