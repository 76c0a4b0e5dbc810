#include "curl_setup.h"
#include "wipe.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CURLcode setup_rc;

static void *wiped_calloc(size_t nmemb, size_t size)
{
	void *p;

	if (size && nmemb > (size_t)-1 / size)
		return NULL;
	if ((p = tsarc_wiped_alloc(nmemb * size)))
		memset(p, 0, nmemb * size);
	return p;
}

static char *wiped_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *r = tsarc_wiped_alloc(n);

	if (r)
		memcpy(r, s, n);
	return r;
}

static void setup(void)
{
	setup_rc = curl_global_init_mem(CURL_GLOBAL_DEFAULT, tsarc_wiped_alloc,
		tsarc_wiped_free, tsarc_wiped_realloc, wiped_strdup, wiped_calloc);
}

CURLcode tsarc_curl_setup(void)
{
	pthread_once(&once, setup);
	return setup_rc;
}

static CURLcode cleanse_plaintext(CURL *h, void *ssl_ctx, void *payload)
{
	(void)h;
	(void)payload;
	SSL_CTX_set_options(ssl_ctx, SSL_OP_CLEANSE_PLAINTEXT);
	return CURLE_OK;
}

void tsarc_curl_tls_cleanse(CURL *h)
{
	(void)curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, cleanse_plaintext);
}
