#include "credhttp.h"

#include "curl_setup.h"
#include "tsarc/errors.h"
#include "wipe.h"

#include <curl/curl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t sink(char *src, size_t size, size_t nmemb, void *ud)
{
	tsarc_buf *b = ud;
	size_t n = size * nmemb;

	if (b->size + n > TSARC__S3_CRED_BODY_MAX || tsarc_buf_append(b, src, n))
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	return n;
}


void tsarc__s3_curl_common(CURL *h, const char *cacert, int insecure)
{
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "tsarc/" TSARC_VERSION);
	tsarc_curl_tls_cleanse(h);
	if (cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, cacert);
	if (insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

int tsarc__s3_http_call(const tsarc__s3_http *req, long *status, tsarc_buf *out)
{
	struct curl_slist *hdrs = NULL, *n;
	char err[CURL_ERROR_SIZE];
	CURLcode cc;
	CURL *h;
	size_t i;
	int rc = 0;

	*status = 0;
	/* The answer holds keys and a token, and arrives in pieces: the
	 * blocks it outgrows are wiped as they go back. */
	out->wipe = 1;
	if ((cc = tsarc_curl_setup()) != CURLE_OK)
		return tsarc_error_set(TSARC_EGENERIC, "libcurl failed to initialise: %s",
			curl_easy_strerror(cc));
	h = curl_easy_init();
	if (!h)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; req->headers && req->headers[i]; i++) {
		if (!(n = curl_slist_append(hdrs, req->headers[i]))) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		hdrs = n;
	}
	/* No "Expect: 100-continue" round trip for the small POST bodies. */
	if (!(n = curl_slist_append(hdrs, "Expect:"))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	hdrs = n;
	err[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	tsarc__s3_curl_common(h, req->cacert, req->insecure);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	/* Nothing of ours travels through a proxy from the environment: the
	 * metadata endpoints are link-local and a proxy would see the keys. */
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (req->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(req->body));
	}
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	else if (strcmp(req->method, "POST") == 0 && !req->body)
		curl_easy_setopt(h, CURLOPT_POST, 1L);
	cc = curl_easy_perform(h);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		if (tsarc_buf_append(out, "", 1)) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		out->size--;
	} else if (cc == CURLE_WRITE_ERROR) {
		rc = tsarc_error_set(TSARC_EIO, "the answer is longer than %d bytes",
			TSARC__S3_CRED_BODY_MAX);
	} else {
		rc = tsarc_error_set(TSARC_ENET, "%s",
			err[0] ? err : curl_easy_strerror(cc));
	}
done:
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_cleanup(h);
	/* The list holds tokens (metadata, container authorization). */
	for (n = hdrs; n; n = n->next)
		tsarc_secure_zero(n->data, strlen(n->data));
	curl_slist_free_all(hdrs);
	return rc;
}
