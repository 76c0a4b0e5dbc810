#ifndef TSARC_S3_SIGV4_H
#define TSARC_S3_SIGV4_H

/*
 * AWS Signature Version 4 for S3, computed with OpenSSL. Pure functions of
 * their inputs (the caller supplies the date), so that tests can pin every
 * value and compare with botocore.
 */

#include <stddef.h>
#include <stdint.h>
#include "tsarc/buf.h"

/* x-amz-content-sha256 of a body the signature does not cover. */
#define TSARC__S3_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* SHA-256 of the empty string, the payload hash of bodiless requests. */
#define TSARC__SHA256_EMPTY \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct tsarc__s3_kv {
	const char *name;
	const char *value; /* NULL is the same as "" */
} tsarc__s3_kv;

typedef struct tsarc__sigv4_request {
	const char *method;        /* "GET", "PUT", ... */
	const char *host;          /* the Host header exactly as sent */
	const char *path;          /* raw, unencoded: "/bucket/key" */
	const tsarc__s3_kv *query; /* raw, unencoded, any order */
	size_t nquery;
	const tsarc__s3_kv *headers; /* further headers to sign, any case */
	size_t nheaders;
	const char *payload_sha256;  /* lowercase hex of the body */
	const char *amz_date;        /* "YYYYMMDDTHHMMSSZ" (UTC) */
	const char *region;
	const char *service;         /* "s3" */
	const char *access_key;
	const char *secret_key;
	const char *session_token;   /* NULL when none */
} tsarc__sigv4_request;

/*
 * Percent-encodes `len` bytes of `s` the way SigV4 wants: everything but
 * A-Z a-z 0-9 - . _ ~ (and '/' when keep_slash) becomes %XX, upper case.
 */
int tsarc__s3_uri_encode(tsarc_buf *out, const char *s, size_t len,
	int keep_slash);
/* The encoded path of the request as it goes on the wire and into the
 * signature ("/" for an empty path). */
int tsarc__sigv4_canonical_path(tsarc_buf *out, const char *path);
/* "a=1&b=%2F": encoded, sorted by name then value. Also the URL's query. */
int tsarc__sigv4_canonical_query(tsarc_buf *out, const tsarc__s3_kv *query,
	size_t nquery);
int tsarc__sigv4_canonical_request(tsarc_buf *out,
	const tsarc__sigv4_request *req);
/* The value of the Authorization header. */
int tsarc__sigv4_authorization(tsarc_buf *out, const tsarc__sigv4_request *req);

void tsarc__sha256_hex(char out[65], const void *data, size_t len);
/* Base64 of the MD5 of the data, for Content-MD5; hex also when wanted. */
void tsarc__md5_base64(char out[25], char hex_out[33], const void *data,
	size_t len);
/* Both of the above over the first `len` bytes of the file `fd`, in one
 * read of it (each output may be NULL: a digest no output wants is not
 * computed): 0, or -1 with errno set. */
int tsarc__file_digests(int fd, uint64_t len, char sha_hex[65], char md5_b64[25],
	char md5_hex[33]);
/* "YYYYMMDDTHHMMSSZ" for the given UNIX time. */
void tsarc__sigv4_format_date(char out[17], long long unix_time);

#endif
