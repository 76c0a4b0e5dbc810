#include "sts.h"

#include "credhttp.h"
#include "sigv4.h"
#include "xml.h"

#include "fileio.h"
#include "tsarc/errors.h"
#include "urltext.h"
#include "wipe.h"


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STS_VERSION "2011-06-15"
#define STS_TIMEOUT_MS 10000
#define STS_ATTEMPTS 3
/* A projected service-account token is about 1 KiB; 16 KiB is plenty. */
#define TOKEN_FILE_MAX (16 * 1024)

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

int tsarc__s3_web_identity_configured(void)
{
	return env_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE") && env_nonempty("AWS_ROLE_ARN");
}

/* The endpoint's URL (no trailing slash), the Host header, the region
 * to sign for. */
typedef struct sts_endpoint {
	char url[512];
	char host[256];
	char region[64];
} sts_endpoint;

static int sts_endpoint_get(const char *region, sts_endpoint *e)
{
	const char *v = env_nonempty("TSARC_S3_STS_ENDPOINT");
	const char *hp, *end;
	char quoted[104];
	size_t n;

	if (!v)
		v = env_nonempty("AWS_ENDPOINT_URL_STS");
	snprintf(e->region, sizeof(e->region), "%s", region);
	if (!v) {
		const char *mode = env_nonempty("AWS_STS_REGIONAL_ENDPOINTS");
		if (mode && strcmp(mode, "legacy") == 0) {
			snprintf(e->url, sizeof(e->url), "https://sts.amazonaws.com");
			snprintf(e->region, sizeof(e->region), "us-east-1");
		} else {
			snprintf(e->url, sizeof(e->url), "https://sts.%s.amazonaws.com",
				region);
		}
		v = e->url;
	}
	/* Quoted without credentials (urltext.h); an endpoint holding some
	 * is refused like any other that is not http(s)://HOST[:PORT]. */
	tsarc_url_redact(v, quoted, sizeof(quoted));
	if (strncmp(v, "https://", 8) == 0)
		hp = v + 8;
	else if (strncmp(v, "http://", 7) == 0)
		hp = v + 7;
	else
		return tsarc_error_set(TSARC_ECONFIG,
			"the STS endpoint '%s' does not start with http:// or https://", quoted);
	end = hp + strcspn(hp, "/?#@");
	n = (size_t)(end - hp);
	if (tsarc_url_userinfo_end(v) || n == 0 || n >= sizeof(e->host) ||
	    (*end && strcmp(end, "/") != 0))
		return tsarc_error_set(TSARC_ECONFIG,
			"the STS endpoint '%s' is not http(s)://HOST[:PORT]", quoted);
	memcpy(e->host, hp, n);
	e->host[n] = '\0';
	if (v != e->url)
		snprintf(e->url, sizeof(e->url), "%.*s", (int)(end - v), v);
	return 0;
}

/* "tsarc-UNIXTIME" unless the operator named the session. */
static void session_name(char *out, size_t outsz, const char *given)
{
	if (given)
		snprintf(out, outsz, "%s", given);
	else
		snprintf(out, outsz, "tsarc-%lld", (long long)time(NULL));
}

/* The web identity token, through the one reader of secret files
 * (fileio.h: no stdio buffer, wiped, a folder or unreadable file an error
 * with read's reason; before, a folder's EISDIR was taken for an empty
 * file: "holds no token"). Trailing line ends and blanks are not part of
 * it. */
static int read_token_file(const char *path, char **out)
{
	size_t len;
	int rc;

	if ((rc = tsarc_read_secret_file("AWS_WEB_IDENTITY_TOKEN_FILE", path, TOKEN_FILE_MAX,
		     out, &len)))
		return rc;
	while (len && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r' ||
			      (*out)[len - 1] == ' '))
		(*out)[--len] = '\0';
	if (!len) {
		tsarc_secure_free(*out, 1);
		*out = NULL;
		return tsarc_error_set(TSARC_ECONFIG,
			"AWS_WEB_IDENTITY_TOKEN_FILE %s holds no token", path);
	}
	return 0;
}

/*
 * One STS action: POSTs the form `params` (signed with `signer` when not
 * NULL), retries what may pass (no answer, 5xx, throttling) a few times,
 * and reads the <Credentials>.
 */
static int sts_call(const tsarc__s3_credctx *ctx, const char *action,
	const char *role_arn, const tsarc__s3_kv *params, size_t nparams,
	const tsarc__s3_creds *signer, tsarc__s3_creds *out)
{
	static const char ctype[] = "application/x-www-form-urlencoded; charset=utf-8";
	sts_endpoint e;
	tsarc_buf body = TSARC_BUF_INIT, auth = TSARC_BUF_INIT, resp = TSARC_BUF_INIT;
	char url[600], hdr_date[64], hdr_sha[128], hdr_host[300];
	char *hdr_auth = NULL, *hdr_token = NULL;
	const char *headers[8];
	unsigned attempt;
	long status = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sts_endpoint_get(ctx->region, &e)))
		return rc;
	snprintf(url, sizeof(url), "%s/", e.url);
	if ((rc = tsarc__sigv4_canonical_query(&body, params, nparams)))
		goto done;
	for (attempt = 1; attempt <= STS_ATTEMPTS; attempt++) {
		size_t nh = 0;

		headers[nh++] = "Content-Type: application/x-www-form-urlencoded; charset=utf-8";
		headers[nh++] = "Accept: application/xml";
		if (signer) {
			tsarc__s3_kv signed_hdr = {"content-type", ctype};
			tsarc__sigv4_request sr;
			char amz_date[17], sha[65];

			tsarc__sigv4_format_date(amz_date, (long long)time(NULL));
			tsarc__sha256_hex(sha, body.ptr, body.size);
			memset(&sr, 0, sizeof(sr));
			sr.method = "POST";
			sr.host = e.host;
			sr.path = "/";
			sr.headers = &signed_hdr;
			sr.nheaders = 1;
			sr.payload_sha256 = sha;
			sr.amz_date = amz_date;
			sr.region = e.region;
			sr.service = "sts";
			sr.access_key = signer->access_key;
			sr.secret_key = signer->secret_key;
			sr.session_token = signer->session_token;
			tsarc_secure_zero(auth.ptr, auth.cap);
			tsarc_buf_clear(&auth);
			if ((rc = tsarc__sigv4_authorization(&auth, &sr)))
				goto done;
			tsarc_secure_free_str(hdr_auth);
			hdr_auth = malloc(auth.size + 32);
			if (!hdr_auth) {
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
				goto done;
			}
			snprintf(hdr_auth, auth.size + 32, "Authorization: %s", (char *)auth.ptr);
			snprintf(hdr_host, sizeof(hdr_host), "Host: %s", e.host);
			snprintf(hdr_date, sizeof(hdr_date), "X-Amz-Date: %s", amz_date);
			snprintf(hdr_sha, sizeof(hdr_sha), "X-Amz-Content-Sha256: %s", sha);
			headers[nh++] = hdr_host;
			headers[nh++] = hdr_date;
			headers[nh++] = hdr_sha;
			headers[nh++] = hdr_auth;
			if (signer->session_token && !hdr_token) {
				size_t n = strlen(signer->session_token) + 32;
				if (!(hdr_token = malloc(n))) {
					rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
					goto done;
				}
				snprintf(hdr_token, n, "X-Amz-Security-Token: %s",
					signer->session_token);
			}
			if (hdr_token)
				headers[nh++] = hdr_token;
		}
		headers[nh] = NULL;
		{
			tsarc__s3_http req = {"POST", url, headers, (const char *)body.ptr,
				STS_TIMEOUT_MS, ctx->cacert, ctx->insecure};
			tsarc_secure_buf_dispose(&resp);
			rc = tsarc__s3_http_call(&req, &status, &resp);
		}
		if (rc == TSARC_ENOMEM)
			goto done;
		if (rc == 0 && status != 429 && status < 500)
			break;
		if (attempt < STS_ATTEMPTS) {
			struct timespec ts = {0, 250000000L * (long)attempt};
			nanosleep(&ts, NULL);
		}
	}
	if (rc) {
		tsarc_error_prefix("STS %s for %s at %s", action, role_arn, e.url);
	} else if (status == 200) {
		if ((rc = tsarc__s3_parse_sts_creds(out, (const char *)resp.ptr, resp.size)))
			tsarc_error_prefix("STS %s at %s", action, e.url);
	} else {
		tsarc__s3_error_doc err;

		tsarc__s3_parse_error(&err, (const char *)resp.ptr, resp.size);
		rc = tsarc_error_set(status == 429 || status >= 500 ? TSARC_ETRANSIENT
								   : TSARC_EACCESS,
			"STS %s for %s at %s: HTTP %ld%s%s%s%s", action, role_arn, e.url,
			status, err.code[0] ? " " : "", err.code, err.message[0] ? ": " : "",
			err.message);
	}
done:
	tsarc_secure_buf_dispose(&resp);
	tsarc_secure_buf_dispose(&body);
	tsarc_secure_buf_dispose(&auth);
	tsarc_secure_free_str(hdr_auth);
	tsarc_secure_free_str(hdr_token);
	if (rc)
		tsarc__s3_creds_dispose(out);
	return rc;
}

static int set_source(tsarc__s3_creds *c, const char *what, const char *arn)
{
	size_t n = strlen(what) + strlen(arn) + 8;

	if (!(c->source = malloc(n)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	snprintf(c->source, n, "%s %s", what, arn);
	return 0;
}

int tsarc__s3_sts_web_identity(const tsarc__s3_credctx *ctx, tsarc__s3_creds *out)
{
	const char *arn = env_nonempty("AWS_ROLE_ARN");
	const char *file = env_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE");
	char name[128], *token = NULL;
	tsarc__s3_kv p[5];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!arn || !file)
		return tsarc_error_set(TSARC_ENOTFOUND, "no AWS_ROLE_ARN / AWS_WEB_IDENTITY_TOKEN_FILE");
	if ((rc = read_token_file(file, &token)))
		return rc;
	session_name(name, sizeof(name), env_nonempty("AWS_ROLE_SESSION_NAME"));
	p[0] = (tsarc__s3_kv){"Action", "AssumeRoleWithWebIdentity"};
	p[1] = (tsarc__s3_kv){"Version", STS_VERSION};
	p[2] = (tsarc__s3_kv){"RoleArn", arn};
	p[3] = (tsarc__s3_kv){"RoleSessionName", name};
	p[4] = (tsarc__s3_kv){"WebIdentityToken", token};
	rc = sts_call(ctx, "AssumeRoleWithWebIdentity", arn, p, 5, NULL, out);
	tsarc_secure_free_str(token);
	if (rc == 0)
		rc = set_source(out, "web identity (AWS_WEB_IDENTITY_TOKEN_FILE), role", arn);
	if (rc)
		tsarc__s3_creds_dispose(out);
	return rc;
}

int tsarc__s3_sts_assume_role(const tsarc__s3_credctx *ctx,
	const tsarc__s3_role *role, tsarc__s3_creds *out)
{
	char name[128];
	tsarc__s3_kv p[5];
	size_t n = 4;
	int rc;

	session_name(name, sizeof(name), role->session_name);
	p[0] = (tsarc__s3_kv){"Action", "AssumeRole"};
	p[1] = (tsarc__s3_kv){"Version", STS_VERSION};
	p[2] = (tsarc__s3_kv){"RoleArn", role->arn};
	p[3] = (tsarc__s3_kv){"RoleSessionName", name};
	if (role->external_id)
		p[n++] = (tsarc__s3_kv){"ExternalId", role->external_id};
	rc = sts_call(ctx, "AssumeRole", role->arn, p, n, &role->source, out);
	if (rc == 0)
		rc = set_source(out, "assumed role", role->arn);
	if (rc)
		tsarc__s3_creds_dispose(out);
	return rc;
}
