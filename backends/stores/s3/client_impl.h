#ifndef TSARC_S3_CLIENT_IMPL_H
#define TSARC_S3_CLIENT_IMPL_H

/*
 * The inside of the S3 client, shared by its own files only (client.c,
 * pool.c, reply.c, bucket.c); everyone else goes through client.h.
 */

#include "client.h"
#include "credentials.h"

#include <curl/curl.h>

#include <pthread.h>
#include <stdatomic.h>

struct tsarc__s3_client {
	tsarc__s3_url u; /* endpoint, bucket, prefix (url.h) */
	tsarc__s3_credsrc *cred; /* the credential chain (credentials.h) */
	const char *region;      /* the chain's, for signing and messages */
	tsarc__s3_put_opts put;  /* encryption, storage class (config.h) */
	char *cacert;
	int insecure;
	/*
	 * Whether the signature covers an object PUT's body (its SHA-256 as
	 * x-amz-content-sha256), or the body goes as UNSIGNED-PAYLOAD. Over
	 * HTTPS with the server's certificate verified, TLS already keeps the
	 * body from being changed on the way (the AWS SDKs reason the same),
	 * and hashing it costs SHA-256 of every byte sent here and again in
	 * the server: 0.6 CPU-s per GiB sent on each side (about 0.2 s for a
	 * 1 GiB dump's 341 MB: bench/RESULTS.md). Over plain
	 * HTTP, TLS without verification, or with TSARC_S3_SIGN_PAYLOAD=1 (a
	 * TLS-inspecting proxy), it is signed. Either way every chunk and pack
	 * table is authenticated by the repository's key when read back.
	 */
	int sign_bodies;
	tsarc__s3_limits lim; /* time limits and retries (config.h) */
	unsigned max_inflight;

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
};

/* pool.c: waits for a free slot and hands out a handle (NULL: out of
 * memory); every handle acquired goes back with handle_release. */
CURL *tsarc__s3_handle_acquire(tsarc__s3_client *c);
void tsarc__s3_handle_release(tsarc__s3_client *c, CURL *h);

#endif
