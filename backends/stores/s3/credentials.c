#include "credentials.h"
#include "error_save.h"

#include "metadata.h"
#include "sts.h"

#include "tsarc/errors.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* After a failed refresh of still-valid keys, the next try waits this long. */
#define RETRY_REFRESH_S 10

typedef enum cred_kind {
	K_STATIC,    /* environment or profile keys: never refreshed */
	K_ROLE,      /* profile role_arn + source_profile: AssumeRole */
	K_WEBID,     /* AWS_WEB_IDENTITY_TOKEN_FILE: AssumeRoleWithWebIdentity */
	K_CONTAINER, /* AWS_CONTAINER_CREDENTIALS_*_URI */
	K_IMDS,      /* EC2 instance role */
} cred_kind;

struct tsarc__s3_credsrc {
	pthread_mutex_t lock;
	cred_kind kind;
	tsarc__s3_creds cur;
	tsarc__s3_role role; /* K_ROLE */
	char *region;
	char *cacert;
	tsarc__s3_credctx ctx;
	long margin_s;
	int64_t next_try; /* no refresh before this (after a failed one) */
	uint64_t fetches;
};

static char *dup_str(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int fetch(tsarc__s3_credsrc *s, tsarc__s3_creds *out)
{
	int rc;

	switch (s->kind) {
	case K_ROLE:
		rc = tsarc__s3_sts_assume_role(&s->ctx, &s->role, out);
		break;
	case K_WEBID:
		rc = tsarc__s3_sts_web_identity(&s->ctx, out);
		break;
	case K_CONTAINER:
		rc = tsarc__s3_container_creds(&s->ctx, out);
		break;
	case K_IMDS:
		rc = tsarc__s3_imds_creds(&s->ctx, out);
		break;
	default:
		rc = tsarc_error_set(TSARC_EINVAL, "static keys are not fetched");
	}
	if (rc == 0)
		s->fetches++;
	return rc;
}

/* Steps 3 to 5 of the chain; `why_static` is step 1-2's "nothing here". */
static int resolve_dynamic(tsarc__s3_credsrc *s, const char *why_static)
{
	int rc;

	if (tsarc__s3_web_identity_configured()) {
		s->kind = K_WEBID;
		return fetch(s, &s->cur);
	}
	if (tsarc__s3_container_configured()) {
		s->kind = K_CONTAINER;
		return fetch(s, &s->cur);
	}
	s->kind = K_IMDS;
	rc = fetch(s, &s->cur);
	if (rc != TSARC_ENOTFOUND)
		return rc;
	return tsarc_error_set(TSARC_ECONFIG,
		"%s; nor AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, nor "
		"AWS_CONTAINER_CREDENTIALS_FULL_URI/RELATIVE_URI is set; %s",
		why_static, tsarc_error_last()->message);
}

static int copy_creds(const tsarc__s3_creds *from, const char *region,
	tsarc__s3_creds *to)
{
	memset(to, 0, sizeof(*to));
	to->access_key = dup_str(from->access_key);
	to->secret_key = dup_str(from->secret_key);
	to->session_token = dup_str(from->session_token);
	to->source = dup_str(from->source);
	to->region = dup_str(region);
	to->expires = from->expires;
	if (!to->access_key || !to->secret_key || !to->source || !to->region ||
	    (from->session_token && !to->session_token)) {
		tsarc__s3_creds_dispose(to);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	return 0;
}

int tsarc__s3_credsrc_open_keys(tsarc__s3_credsrc **out, const tsarc__s3_creds *keys)
{
	tsarc__s3_credsrc *s;
	int rc;

	*out = NULL;
	if (!keys->access_key || !*keys->access_key || !keys->secret_key ||
	    !*keys->secret_key || !keys->source)
		return tsarc_error_set(TSARC_ECONFIG, "S3 credentials%s%s need an access key "
			"id and a secret key", keys->source ? " from " : "",
			keys->source ? keys->source : "");
	s = calloc(1, sizeof(*s));
	if (!s)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->kind = K_STATIC;
	s->region = dup_str(keys->region && *keys->region ? keys->region : "us-east-1");
	if (!s->region) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto fail;
	}
	s->ctx.region = s->region;
	if ((rc = copy_creds(keys, s->region, &s->cur)))
		goto fail;
	*out = s;
	return 0;
fail:
	tsarc__s3_credsrc_free(s);
	return rc;
}

int tsarc__s3_credsrc_open(tsarc__s3_credsrc **out, const char *cacert,
	int insecure, long margin_s)
{
	tsarc__s3_credsrc *s;
	tsarc_saved_error why;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->margin_s = margin_s;
	s->region = tsarc__s3_region_load();
	s->cacert = dup_str(cacert);
	if (!s->region || (cacert && !s->cacert)) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto fail;
	}
	s->ctx.region = s->region;
	s->ctx.cacert = s->cacert;
	s->ctx.insecure = insecure;

	rc = tsarc__s3_static_load(&s->cur, &s->role);
	if (rc == 0 && s->role.arn) {
		s->kind = K_ROLE;
		rc = fetch(s, &s->cur);
	} else if (rc == 0) {
		s->kind = K_STATIC;
	} else if (rc == TSARC_ENOTFOUND) {
		tsarc_error_save(&why);
		rc = resolve_dynamic(s, tsarc_error_saved_message(&why));
		tsarc_error_forget(&why);
	}
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	tsarc__s3_credsrc_free(s);
	return rc;
}


int tsarc__s3_credsrc_get(tsarc__s3_credsrc *s, tsarc__s3_creds *out)
{
	int64_t now = (int64_t)time(NULL);
	int rc = 0;

	memset(out, 0, sizeof(*out));
	/* The lock is held during a refresh: the other signers wait for the
	 * one STS or metadata call (seconds at most, once an hour or so)
	 * rather than each making its own. */
	pthread_mutex_lock(&s->lock);
	if (s->kind != K_STATIC && s->cur.expires &&
	    now >= s->cur.expires - s->margin_s && now >= s->next_try) {
		tsarc__s3_creds fresh;

		rc = fetch(s, &fresh);
		if (rc == 0) {
			tsarc__s3_creds_dispose(&s->cur);
			s->cur = fresh;
			s->next_try = 0;
		} else if (now < s->cur.expires) {
			s->next_try = now + RETRY_REFRESH_S;
			rc = 0; /* the old keys still work */
			tsarc_error_clear();
		} else {
			tsarc_error_prefix("the temporary S3 credentials from %s have expired "
				"and could not be renewed", s->cur.source);
		}
	}
	if (rc == 0)
		rc = copy_creds(&s->cur, s->region, out);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int tsarc__s3_credsrc_expired(tsarc__s3_credsrc *s, const char *key_id)
{
	int64_t now = (int64_t)time(NULL);
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (s->kind != K_STATIC && s->cur.access_key &&
	    strcmp(s->cur.access_key, key_id) == 0) {
		if (s->cur.expires > now)
			s->cur.expires = now;
		s->next_try = 0;
		r = 1;
	} else if (s->kind != K_STATIC) {
		r = 1; /* renewed meanwhile: the retry uses the new keys */
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void tsarc__s3_credsrc_ident(tsarc__s3_credsrc *s, char *key_id, size_t key_id_sz,
	char *source, size_t source_sz)
{
	pthread_mutex_lock(&s->lock);
	snprintf(key_id, key_id_sz, "%s", s->cur.access_key ? s->cur.access_key : "");
	snprintf(source, source_sz, "%s", s->cur.source ? s->cur.source : "");
	pthread_mutex_unlock(&s->lock);
}

const char *tsarc__s3_credsrc_region(const tsarc__s3_credsrc *s)
{
	return s->region;
}

uint64_t tsarc__s3_credsrc_fetches(tsarc__s3_credsrc *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->fetches;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void tsarc__s3_credsrc_free(tsarc__s3_credsrc *s)
{
	if (!s)
		return;
	tsarc__s3_creds_dispose(&s->cur);
	tsarc__s3_role_dispose(&s->role);
	free(s->region);
	free(s->cacert);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int tsarc__s3_creds_load(tsarc__s3_creds *out)
{
	tsarc__s3_credsrc *s;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = tsarc__s3_credsrc_open(&s, getenv("AWS_CA_BUNDLE"), 0, 0)))
		return rc;
	rc = copy_creds(&s->cur, s->region, out);
	tsarc__s3_credsrc_free(s);
	return rc;
}
