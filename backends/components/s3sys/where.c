#define _GNU_SOURCE /* asprintf, strcasecmp */
/*
 * Where an s3files component's objects are (s3sys.h): the component's
 * fields over its Secret, the way 3scale's system pods read aws-auth.
 * The Secret's keys sign the requests; without keys (no Secret, or a
 * Secret in STS mode that names a role instead) the AWS credential chain
 * of this host does, as for a repository.
 */
#include "s3sys.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int nomem(void)
{
	return tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

/* "http(s)://host[:port]" with nothing after it; `what` names it. */
static int endpoint_check(const char *e, const char *what)
{
	const char *host = !strncmp(e, "https://", 8) ? e + 8 : !strncmp(e, "http://", 7) ? e + 7 :
		NULL;

	if (!host || !*host || strpbrk(host, "/?#@ \t\r\n"))
		return tsarc_error_set(TSARC_ECONFIG, "%s must be http://HOST[:PORT] or "
			"https://HOST[:PORT]", what);
	return 0;
}

/* A configured endpoint without its trailing slashes. */
static char *endpoint_trimmed(const char *v)
{
	size_t n = strlen(v);

	while (n && v[n - 1] == '/')
		n--;
	return strndup(v, n);
}

int tsarc_s3sys_endpoint_check(const char *endpoint, const char *comp)
{
	char what[200], *e = endpoint_trimmed(endpoint);
	int rc;

	if (!e)
		return nomem();
	snprintf(what, sizeof(what), "component '%s': \"endpoint\"", comp);
	rc = endpoint_check(e, what);
	free(e);
	return rc;
}

/* The endpoint from AWS_HOSTNAME (a host, host:port, or a URL) and
 * AWS_PROTOCOL (http or https; https when absent). */
static int secret_endpoint(const char *host, const char *proto, const char *secret, char **out)
{
	char what[300];
	size_t n;
	int rc;

	snprintf(what, sizeof(what), "Secret %s: AWS_HOSTNAME (with AWS_PROTOCOL)", secret);
	if (strstr(host, "://")) {
		if (!(*out = strdup(host)))
			return nomem();
	} else {
		if (proto && strcasecmp(proto, "http") && strcasecmp(proto, "https"))
			return tsarc_error_set(TSARC_ECONFIG, "Secret %s: AWS_PROTOCOL is http or https",
				secret);
		if (asprintf(out, "%s://%s", proto && !strcasecmp(proto, "http") ? "http" : "https",
			    host) < 0) {
			*out = NULL;
			return nomem();
		}
	}
	n = strlen(*out);
	while (n && (*out)[n - 1] == '/')
		(*out)[--n] = '\0';
	if ((rc = endpoint_check(*out, what))) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* "" or "a/b/" from a configured prefix ("a/b", "/a/b/"). */
static int prefix_norm(const char *p, char **out)
{
	size_t n;

	while (p && *p == '/')
		p++;
	n = p ? strlen(p) : 0;
	while (n && p[n - 1] == '/')
		n--;
	if (!(*out = malloc(n + 2)))
		return nomem();
	if (n)
		memcpy(*out, p, n);
	(*out)[n] = n ? '/' : '\0';
	(*out)[n + (n ? 1 : 0)] = '\0';
	return 0;
}

/* The strings a tsarc_s3sys_where owns, besides its keys. */
static const size_t WHERE_STRINGS[] = {
	offsetof(tsarc_s3sys_where, url), offsetof(tsarc_s3sys_where, endpoint),
	offsetof(tsarc_s3sys_where, bucket), offsetof(tsarc_s3sys_where, prefix),
	offsetof(tsarc_s3sys_where, region),
};

void tsarc_s3sys_where_free(tsarc_s3sys_where *w)
{
	TSARC_SECURE_FREE_FIELDS(w, WHERE_STRINGS);
	tsarc__s3_creds_dispose(&w->keys);
	memset(w, 0, sizeof(*w));
}

typedef struct secret_fields {
	char *bucket, *region, *host, *proto, *key_id, *secret_key, *role;
} secret_fields;

static const size_t SECRET_STRINGS[] = {
	offsetof(secret_fields, bucket), offsetof(secret_fields, region),
	offsetof(secret_fields, host), offsetof(secret_fields, proto),
	offsetof(secret_fields, key_id), offsetof(secret_fields, secret_key),
	offsetof(secret_fields, role),
};

static void secret_fields_free(secret_fields *f)
{
	TSARC_SECURE_FREE_FIELDS(f, SECRET_STRINGS);
}

static int secret_fields_read(const cJSON *doc, const char *secret, secret_fields *f)
{
	int rc;

	memset(f, 0, sizeof(*f));
	if ((rc = tsarc_secret_doc_optional(doc, secret, "AWS_BUCKET", &f->bucket)) ||
		(rc = tsarc_secret_doc_optional(doc, secret, "AWS_REGION", &f->region)) ||
		(rc = tsarc_secret_doc_optional(doc, secret, "AWS_HOSTNAME", &f->host)) ||
		(rc = tsarc_secret_doc_optional(doc, secret, "AWS_PROTOCOL", &f->proto)) ||
		(rc = tsarc_secret_doc_optional(doc, secret, "AWS_ACCESS_KEY_ID", &f->key_id)) ||
		(rc = tsarc_secret_doc_optional(doc, secret, "AWS_SECRET_ACCESS_KEY",
			&f->secret_key)) ||
		(rc = tsarc_secret_doc_optional(doc, secret, "AWS_ROLE_ARN", &f->role)))
		secret_fields_free(f);
	return rc;
}

static int take_keys(tsarc_s3sys_where *w, secret_fields *f, const char *secret)
{
	w->keys.access_key = f->key_id;
	w->keys.secret_key = f->secret_key;
	f->key_id = f->secret_key = NULL;
	w->has_keys = 1;
	if ((w->region && !(w->keys.region = strdup(w->region))) ||
		asprintf(&w->keys.source, "Secret %s", secret) < 0) {
		w->keys.source = NULL;
		return nomem();
	}
	snprintf(w->creds_from, sizeof(w->creds_from), "Secret %s (AWS_ACCESS_KEY_ID, "
		"AWS_SECRET_ACCESS_KEY)", secret);
	return 0;
}

int tsarc_s3sys_where_resolve(const cJSON *spec, const cJSON *secret_doc, const char *comp,
	tsarc_s3sys_where *w)
{
	const char *secret = tsarc_spec_str(spec, "secret");
	const char *v;
	secret_fields f;
	int rc;

	memset(w, 0, sizeof(*w));
	if (!secret)
		secret = "(none)";
	if ((rc = secret_fields_read(secret_doc, secret, &f))) {
		tsarc_error_prefix("component '%s'", comp);
		return rc;
	}
	/* The configuration's fields win over the Secret's. */
	if ((v = tsarc_spec_str(spec, "bucket")))
		rc = (w->bucket = strdup(v)) ? 0 : nomem();
	else if (f.bucket) {
		w->bucket = f.bucket;
		f.bucket = NULL;
	} else
		rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': no bucket: the Secret %s has no "
			"AWS_BUCKET and the configuration no \"bucket\"", comp, secret);
	if (!rc && (v = tsarc_spec_str(spec, "region") ? tsarc_spec_str(spec, "region") : f.region))
		rc = (w->region = strdup(v)) ? 0 : nomem();
	if (!rc)
		rc = prefix_norm(tsarc_spec_str(spec, "prefix"), &w->prefix);
	if (!rc && (v = tsarc_spec_str(spec, "endpoint"))) {
		if (!(w->endpoint = endpoint_trimmed(v)))
			rc = nomem();
		else
			rc = tsarc_s3sys_endpoint_check(v, comp);
	} else if (!rc && f.host) {
		rc = secret_endpoint(f.host, f.proto, secret, &w->endpoint);
	}
	if (!rc) {
		size_t n = w->prefix[0] ? strlen(w->prefix) - 1 : 0;
		if (w->endpoint)
			rc = asprintf(&w->url, "s3:%s/%s%s%.*s", w->endpoint, w->bucket, n ? "/" : "",
				(int)n, w->prefix) < 0;
		else
			rc = asprintf(&w->url, "s3://%s%s%.*s", w->bucket, n ? "/" : "", (int)n,
				w->prefix) < 0;
		if (rc) {
			w->url = NULL;
			rc = nomem();
		}
	}
	if (!rc && !w->endpoint && !(w->endpoint = strdup("AWS")))
		rc = nomem();
	if (!rc && f.key_id && f.secret_key)
		rc = take_keys(w, &f, secret);
	else if (!rc && f.role)
		snprintf(w->creds_from, sizeof(w->creds_from), "the AWS credential chain of this "
			"host: Secret %s is in STS mode (AWS_ROLE_ARN, no keys), so tsarc's own web "
			"identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE) or keys sign", secret);
	else if (!rc)
		snprintf(w->creds_from, sizeof(w->creds_from), "the AWS credential chain of this "
			"host%s%s%s", secret_doc ? " (Secret " : "", secret_doc ? secret : "",
			secret_doc ? " has no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)" : "");
	secret_fields_free(&f);
	if (rc)
		tsarc_s3sys_where_free(w);
	return rc;
}

void tsarc_s3sys_where_text(const tsarc_s3sys_where *w, char *out, size_t size)
{
	snprintf(out, size, "s3://%s/%s at %s%s%s", w->bucket, w->prefix, w->endpoint,
		w->region ? ", region " : "", w->region ? w->region : "");
}

void tsarc_s3sys_where_identity(const tsarc_s3sys_where *w, char *out, size_t size)
{
	snprintf(out, size, "%s %s/%s", w->endpoint, w->bucket, w->prefix);
}

int tsarc_s3sys_open(const tsarc_s3sys_where *w, unsigned inflight, tsarc__s3_client **out)
{
	int rc = tsarc__s3_client_open_keys(out, w->url, NULL, inflight ? inflight : 8,
		w->has_keys ? &w->keys : NULL);

	if (rc)
		tsarc_error_prefix("s3://%s/%s at %s", w->bucket, w->prefix, w->endpoint);
	return rc;
}
