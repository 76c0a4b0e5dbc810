/*
 * The S3 client's resources (client.h): the pool of curl handles with
 * its counting semaphore of max_inflight slots, the DNS and TLS-session
 * caches the handles share, and opening the client from a URL and the
 * credential chain.
 */
#include "client_impl.h"

#include "log.h"
#include "curl_setup.h"

#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

static atomic_flag insecure_warned = ATOMIC_FLAG_INIT;

static char *dup_str(const char *s)
{
	size_t n = strlen(s);
	char *r = malloc(n + 1);

	if (r)
		memcpy(r, s, n + 1);
	return r;
}

/* ---- handle pool ---- */

static void share_lock_cb(CURL *h, curl_lock_data data, curl_lock_access acc,
	void *ud)
{
	tsarc__s3_client *c = ud;

	(void)h;
	(void)acc;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&c->share_lock[data]);
}

static void share_unlock_cb(CURL *h, curl_lock_data data, void *ud)
{
	tsarc__s3_client *c = ud;

	(void)h;
	if ((unsigned)data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&c->share_lock[data]);
}

/* Waits for a free slot and hands out a handle (NULL: out of memory). */
CURL *tsarc__s3_handle_acquire(tsarc__s3_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	while (c->active >= c->max_inflight)
		pthread_cond_wait(&c->cond, &c->lock);
	c->active++;
	if (c->nidle)
		h = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->lock);
	if (!h) {
		h = curl_easy_init();
		if (!h) {
			pthread_mutex_lock(&c->lock);
			c->active--;
			pthread_cond_signal(&c->cond);
			pthread_mutex_unlock(&c->lock);
		}
	}
	return h;
}

void tsarc__s3_handle_release(tsarc__s3_client *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	/* idle has max_inflight slots and at most that many handles exist. */
	c->idle[c->nidle++] = h;
	c->active--;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* ---- opening ---- */

void tsarc__s3_client_free(tsarc__s3_client *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	free(c->idle);
	if (c->share)
		curl_share_cleanup(c->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_lock[i]);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	tsarc__s3_credsrc_free(c->cred);
	tsarc__s3_put_opts_dispose(&c->put);
	tsarc__s3_url_dispose(&c->u);
	free(c->cacert);
	free(c);
}

int tsarc__s3_client_open_keys(tsarc__s3_client **out, const char *url,
	const tsarc_store_options *opts, unsigned max_inflight, const tsarc__s3_creds *keys)
{
	tsarc__s3_client *c;
	const char *cacert;
	CURLcode cc;
	size_t i;
	int rc;

	*out = NULL;
	if ((cc = tsarc_curl_setup()) != CURLE_OK)
		return tsarc_error_set(TSARC_EGENERIC, "libcurl failed to initialise: %s",
			curl_easy_strerror(cc));
	c = calloc(1, sizeof(*c));
	if (!c)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_lock[i], NULL);
	atomic_init(&c->stat_requests, 0);
	atomic_init(&c->stat_retries, 0);
	atomic_init(&c->stat_connects, 0);
	c->max_inflight = max_inflight ? max_inflight : 1;

	cacert = opts && opts->cacert ? opts->cacert : getenv("AWS_CA_BUNDLE");
	if (cacert && *cacert && !(c->cacert = dup_str(cacert))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto fail;
	}
	c->insecure = opts && opts->insecure_tls;
	if ((rc = tsarc__s3_url_parse(&c->u, url)) || (rc = tsarc__s3_limits_load(&c->lim)) ||
	    (rc = tsarc__s3_put_opts_load(&c->put, opts)) ||
	    (rc = keys ? tsarc__s3_credsrc_open_keys(&c->cred, keys)
		       : tsarc__s3_credsrc_open(&c->cred, c->cacert, c->insecure,
			     c->lim.refresh_margin_s)))
		goto fail;
	c->region = tsarc__s3_credsrc_region(c->cred);
	if (c->u.aws && (rc = tsarc__s3_url_aws_host(&c->u, c->region)))
		goto fail;
	c->sign_bodies = c->lim.sign_payload || c->insecure ||
		strncmp(c->u.base_url, "https://", 8) != 0;
	if (c->insecure && !atomic_flag_test_and_set(&insecure_warned))
		tsarc__log(TSARC_LOG_WARN, "s3", "tls_verification_disabled",
			"TLS certificate verification is DISABLED for %s: anyone on the network "
			"path can read or alter this repository's traffic", c->u.desc);
	c->idle = calloc(c->max_inflight, sizeof(*c->idle));
	c->share = curl_share_init();
	if (!c->idle || !c->share) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto fail;
	}
	/* Share what is safe to share between handles in use by different
	 * threads; each handle keeps its own connections. */
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock_cb);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock_cb);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	*out = c;
	return 0;
fail:
	tsarc__s3_client_free(c);
	return rc;
}

int tsarc__s3_client_open(tsarc__s3_client **out, const char *url,
	const tsarc_store_options *opts, unsigned max_inflight)
{
	return tsarc__s3_client_open_keys(out, url, opts, max_inflight, NULL);
}

const tsarc__s3_url *tsarc__s3_client_url(const tsarc__s3_client *c)
{
	return &c->u;
}

const char *tsarc__s3_client_region(const tsarc__s3_client *c)
{
	return c->region;
}

int tsarc__s3_client_signs_bodies(const tsarc__s3_client *c)
{
	return c->sign_bodies;
}

void tsarc__s3_client_stats(tsarc__s3_client *c, tsarc__s3_stats *out)
{
	out->requests = atomic_load(&c->stat_requests);
	out->retries = atomic_load(&c->stat_retries);
	out->connects = atomic_load(&c->stat_connects);
}
