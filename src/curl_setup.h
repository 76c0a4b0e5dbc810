#ifndef TSARC_CURL_SETUP_H
#define TSARC_CURL_SETUP_H

#include <curl/curl.h>

/*
 * libcurl's process-wide setup, done once for every part of tsarc that
 * uses it (the S3 client, the credential endpoints, the Pushgateway),
 * before the first handle: curl_easy_init would otherwise set libcurl up
 * on its own, with the plain allocator.
 *
 * libcurl keeps copies of what goes over the wire: a request's headers
 * (x-amz-security-token: a session token; a Pushgateway password), the
 * answers it reads (an STS or instance-metadata answer holds a secret
 * key; an InvalidToken error echoes the token). Its memory comes from
 * tsarc's wiping allocator (wipe.h), so that those copies are wiped when
 * libcurl frees them, as tsarc's own are. Where the process had set
 * libcurl up before tsarc did, that setup stands.
 *
 * Thread-safe; never undone, since other parts of the process may still
 * use libcurl at exit. CURLE_OK, or why libcurl could not start.
 */
CURLcode tsarc_curl_setup(void);

/*
 * For each handle (again after curl_easy_reset): OpenSSL decrypts what a
 * TLS connection receives in place, in its read buffer, and by default
 * keeps that plaintext until the next record overwrites it and frees the
 * buffer as it is: an STS answer read over HTTPS would stay in freed
 * memory, secret key and token. SSL_OP_CLEANSE_PLAINTEXT wipes each
 * record once libcurl has taken it. A libcurl built on another TLS
 * library refuses the option, and this does nothing.
 */
void tsarc_curl_tls_cleanse(CURL *h);

#endif
