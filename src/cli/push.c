/*
 * --pushgateway: the run's metrics POSTed to a Prometheus Pushgateway.
 * The group is job/JOB/instance/INSTANCE/command/COMMAND: the command is
 * part of the grouping key so that a check pushed by the same job and
 * instance as a backup does not replace the backup's samples. POST (not
 * PUT) replaces only the families the push carries, so a failed run,
 * which carries no tsarc_last_success_timestamp_seconds, leaves the last
 * success in place. Basic auth comes from a file ("user:password" on its
 * first line), never from argv.
 */
#include "metrics.h"
#include "cli.h"
#include "wipe.h"
#include "fileio.h"
#include "curl_setup.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_MAX 4096

/* A path segment of the grouping key; anything but [A-Za-z0-9._-] is
 * percent-encoded. */
static int put_segment(tsarc_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (; !rc && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '_' || c == '-') {
			rc = tsarc_buf_append(b, s, 1);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
			rc = tsarc_buf_append(b, esc, 3);
		}
	}
	return rc;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	tsarc_buf *reply = userdata;

	/* The first bytes of the reply, for the message of a refused push
	 * (after a failed append, those before it: buf.h). */
	if (reply->size < 300)
		tsarc_buf_append(reply, ptr, size * nmemb < 300 ? size * nmemb : 300);
	return size * nmemb;
}

static int read_auth(const char *file, char **out)
{
	size_t len;
	int rc = tsarc_read_secret_file("the Pushgateway credentials file", file, AUTH_MAX, out,
		&len);

	if (rc)
		return rc;
	/* The lines after user:password are wiped now: the free is by strlen. */
	tsarc_secure_first_line(*out, len);
	if (!strchr(*out, ':')) {
		tsarc_secure_zero(*out, len);
		free(*out);
		*out = NULL;
		return tsarc_error_set(TSARC_ECONFIG, "the Pushgateway credentials file %s does not "
			"hold user:password on its first line", file);
	}
	return 0;
}

int cli_metrics_push(const char *url, const char *job, const char *instance,
	const char *command, const char *auth_file, const char *body)
{
	tsarc_buf full = TSARC_BUF_INIT, reply = TSARC_BUF_INIT;
	struct curl_slist *hdr = NULL;
	char *auth = NULL;
	CURL *h = NULL;
	CURLcode cc;
	long status = 0;
	size_t ulen = strlen(url);
	int rc;

	if (auth_file && (rc = read_auth(auth_file, &auth)))
		return rc;
	while (ulen && url[ulen - 1] == '/')
		ulen--;
	if ((rc = tsarc_buf_append(&full, url, ulen)) ||
		(rc = tsarc_buf_puts(&full, "/metrics/job/")) || (rc = put_segment(&full, job)) ||
		(rc = tsarc_buf_puts(&full, "/instance/")) || (rc = put_segment(&full, instance)) ||
		(rc = tsarc_buf_puts(&full, "/command/")) || (rc = put_segment(&full, command)))
		goto out;
	if ((cc = tsarc_curl_setup()) != CURLE_OK) {
		rc = tsarc_error_set(TSARC_EGENERIC, "libcurl failed to initialise: %s",
			curl_easy_strerror(cc));
		goto out;
	}
	if (!(h = curl_easy_init()) ||
		!(hdr = curl_slist_append(NULL, "Content-Type: text/plain; version=0.0.4"))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, (const char *)full.ptr);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	tsarc_curl_tls_cleanse(h);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	if (auth) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERPWD, auth);
	}
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		rc = tsarc_error_set(TSARC_ENET, "%s", curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		size_t i;
		for (i = 0; i < reply.size; i++)
			if (reply.ptr[i] < 0x20 || reply.ptr[i] > 0x7e)
				reply.ptr[i] = ' ';
		rc = tsarc_error_set(status == 401 || status == 403 ? TSARC_EACCESS : TSARC_EIO,
			"the Pushgateway answered HTTP %ld%s%s", status, reply.size ? ": " : "",
			reply.size ? (const char *)reply.ptr : "");
	}
out:
	if (h)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	tsarc_buf_dispose(&full);
	tsarc_buf_dispose(&reply);
	tsarc_secure_free_str(auth);
	return rc;
}
