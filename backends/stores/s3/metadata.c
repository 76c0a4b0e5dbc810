#include "metadata.h"

#include "credhttp.h"

#include "fileio.h"
#include "snapshot.h" /* tsarc_time_parse */
#include "tsarc/errors.h"
#include "urltext.h"
#include "wipe.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ECS_HOST "http://169.254.170.2"
#define IMDS_HOST_V4 "http://169.254.169.254"
#define IMDS_HOST_V6 "http://[fd00:ec2::254]"
/* The token lives 6 hours; each refresh asks for a new one anyway. */
#define IMDS_TOKEN_TTL "21600"
#define CONTAINER_TIMEOUT_MS 5000
#define AUTH_TOKEN_MAX 8192

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static void wipe_json(cJSON *j)
{
	for (; j; j = j->next) {
		if (j->valuestring)
			tsarc_secure_zero(j->valuestring, strlen(j->valuestring));
		wipe_json(j->child);
	}
}

static int take_string(const cJSON *root, const char *name, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

	if (!cJSON_IsString(v) || !v->valuestring || !*v->valuestring)
		return 0;
	if (strlen(v->valuestring) > TSARC__S3_CRED_BODY_MAX)
		return 0;
	*out = strdup(v->valuestring);
	return *out ? 1 : -1;
}

int tsarc__s3_parse_cred_json(tsarc__s3_creds *out, const char *json, size_t len)
{
	const cJSON *code, *exp;
	cJSON *root;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	root = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(root)) {
		rc = tsarc_error_set(TSARC_EIO, "the credentials answer is not a JSON object");
		goto done;
	}
	code = cJSON_GetObjectItemCaseSensitive(root, "Code");
	if (code && (!cJSON_IsString(code) || strcmp(code->valuestring, "Success") != 0)) {
		rc = tsarc_error_set(TSARC_EACCESS, "the credentials answer says Code %.64s",
			cJSON_IsString(code) ? code->valuestring : "(not a string)");
		goto done;
	}
	if (take_string(root, "AccessKeyId", &out->access_key) < 0 ||
	    take_string(root, "SecretAccessKey", &out->secret_key) < 0 ||
	    take_string(root, "Token", &out->session_token) < 0) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	exp = cJSON_GetObjectItemCaseSensitive(root, "Expiration");
	if (!out->access_key || !out->secret_key || !out->session_token ||
	    !cJSON_IsString(exp) || tsarc_time_parse(exp->valuestring, &out->expires) ||
	    out->expires <= 0)
		rc = tsarc_error_set(TSARC_EIO,
			"the credentials answer lacks AccessKeyId, SecretAccessKey, Token "
			"or a valid Expiration");
done:
	if (root) {
		wipe_json(root);
		cJSON_Delete(root);
	}
	if (rc)
		tsarc__s3_creds_dispose(out);
	return rc;
}

/* ---- container endpoint ---- */

int tsarc__s3_container_configured(void)
{
	return env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI") ||
	       env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
}

/*
 * An http:// FULL_URI must stay on the machine or the platform's
 * link-local agent: anywhere else, the authorization token and the keys
 * would cross a network in clear text.
 */
static int full_uri_allowed(const char *uri)
{
	static const char *const ok[] = {"http://127.", "http://localhost:",
		"http://localhost/", "http://[::1]", "http://169.254.170.2/",
		"http://169.254.170.2:", "http://169.254.170.23/",
		"http://169.254.170.23:", "http://[fd00:ec2::23]"};
	size_t i;

	if (strncmp(uri, "https://", 8) == 0)
		return 1;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strncmp(uri, ok[i], strlen(ok[i])) == 0)
			return strchr(uri + 7, '@') == NULL;
	return 0;
}

/* The token from its file (through the one reader of secret files,
 * fileio.h: no stdio buffer, wiped, a folder or unreadable file an error
 * with read's reason; before, a folder's EISDIR was taken for an empty
 * file) or from the variable. */
static int read_auth_token(char **out)
{
	const char *file = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *tok = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	char *buf;
	size_t len = 0, size;
	int rc;

	*out = NULL;
	if (!file && !tok)
		return 0;
	if (file) {
		if ((rc = tsarc_read_secret_file("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file,
			     AUTH_TOKEN_MAX, &buf, &len)))
			return rc;
		size = len + 1;
	} else {
		if (!(buf = calloc(1, AUTH_TOKEN_MAX + 1)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		size = AUTH_TOKEN_MAX + 1;
		len = strlen(tok);
		if (len <= AUTH_TOKEN_MAX)
			memcpy(buf, tok, len);
	}
	while (len && len <= AUTH_TOKEN_MAX && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	/* A line break would let the token add headers of its own. */
	if (len == 0 || len > AUTH_TOKEN_MAX || strcspn(buf, "\r\n") != len) {
		tsarc_secure_free(buf, size);
		return tsarc_error_set(TSARC_ECONFIG,
			"the container authorization token (%s) is empty, longer than %d "
			"bytes or spans lines", file ? file : "AWS_CONTAINER_AUTHORIZATION_TOKEN",
			AUTH_TOKEN_MAX);
	}
	*out = buf;
	return 0;
}


int tsarc__s3_container_creds(const tsarc__s3_credctx *ctx, tsarc__s3_creds *out)
{
	const char *full = env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *rel = env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	char url[1024], quoted[1024], *token = NULL, *auth = NULL;
	const char *headers[3] = {"Accept: application/json", NULL, NULL};
	tsarc_buf body = TSARC_BUF_INIT;
	long status = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (rel)
		snprintf(url, sizeof(url), "%s%s%s", ECS_HOST, rel[0] == '/' ? "" : "/", rel);
	else if (full && full_uri_allowed(full))
		snprintf(url, sizeof(url), "%s", full);
	else
		return tsarc_error_set(TSARC_ECONFIG,
			"AWS_CONTAINER_CREDENTIALS_FULL_URI must be https://, or http:// to "
			"the loopback or the ECS/EKS agent address (169.254.170.2, "
			"169.254.170.23)");
	if ((rc = read_auth_token(&token)))
		return rc;
	if (token) {
		size_t n = strlen(token) + 32;
		if (!(auth = malloc(n))) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		snprintf(auth, n, "Authorization: %s", token);
		headers[1] = auth;
	}
	{
		tsarc__s3_http req = {"GET", url, headers, NULL, CONTAINER_TIMEOUT_MS,
			ctx->cacert, ctx->insecure};
		rc = tsarc__s3_http_call(&req, &status, &body);
	}
	/* The URL may carry basic auth (curl sends it): messages quote it
	 * without (urltext.h). */
	tsarc_url_redact(url, quoted, sizeof(quoted));
	if (rc) {
		tsarc_error_prefix("container credentials endpoint %s", quoted);
	} else if (status != 200) {
		rc = tsarc_error_set(status == 429 || status >= 500 ? TSARC_ETRANSIENT
								   : TSARC_EACCESS,
			"container credentials endpoint %s answered HTTP %ld", quoted, status);
	} else if ((rc = tsarc__s3_parse_cred_json(out, (const char *)body.ptr, body.size))) {
		tsarc_error_prefix("container credentials endpoint %s", quoted);
	} else if (!(out->source = strdup(rel ? "the container credentials endpoint "
						"(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)"
					      : "the container credentials endpoint "
						"(AWS_CONTAINER_CREDENTIALS_FULL_URI)"))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
done:
	tsarc_secure_buf_dispose(&body);
	tsarc_secure_free_str(token);
	tsarc_secure_free_str(auth);
	if (rc)
		tsarc__s3_creds_dispose(out);
	return rc;
}

/* ---- EC2 instance metadata (IMDSv2) ---- */

static int env_true(const char *name)
{
	const char *v = env_nonempty(name);
	return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* A whole number from `name` in [lo, hi], else `def`. */
static long env_long(const char *name, long lo, long hi, long def)
{
	const char *v = env_nonempty(name);
	char *end;
	long n;

	if (!v)
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno || *end || n < lo || n > hi ? def : n;
}

/* One IMDS call, `attempts` times at most while nothing answers. */
static int imds_call(const tsarc__s3_credctx *ctx, const char *method,
	const char *url, const char *const *headers, long timeout_ms, long attempts,
	long *status, tsarc_buf *out)
{
	long i;
	int rc = 0;

	for (i = 0; i < attempts; i++) {
		tsarc__s3_http req = {method, url, headers, NULL, timeout_ms, ctx->cacert,
			ctx->insecure};
		tsarc_secure_buf_dispose(out);
		rc = tsarc__s3_http_call(&req, status, out);
		if (rc != TSARC_ENET && !(rc == 0 && *status >= 500))
			break;
	}
	return rc;
}

int tsarc__s3_imds_creds(const tsarc__s3_credctx *ctx, tsarc__s3_creds *out)
{
	const char *base = env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	long timeout_ms = env_long("AWS_METADATA_SERVICE_TIMEOUT", 1, 60, 1) * 1000;
	long attempts = env_long("AWS_METADATA_SERVICE_NUM_ATTEMPTS", 1, 10, 1);
	const char *put_hdrs[] = {"X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL, NULL};
	const char *get_hdrs[2] = {NULL, NULL};
	tsarc_buf token = TSARC_BUF_INIT, body = TSARC_BUF_INIT;
	char url[1024], role[256], *tok_hdr = NULL;
	size_t blen;
	long status = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (env_true("AWS_EC2_METADATA_DISABLED"))
		return tsarc_error_set(TSARC_ENOTFOUND,
			"instance metadata: AWS_EC2_METADATA_DISABLED is set");
	if (!base)
		base = mode && strcasecmp(mode, "IPv6") == 0 ? IMDS_HOST_V6 : IMDS_HOST_V4;
	blen = strlen(base);
	while (blen && base[blen - 1] == '/')
		blen--;

	snprintf(url, sizeof(url), "%.*s/latest/api/token", (int)blen, base);
	rc = imds_call(ctx, "PUT", url, put_hdrs, timeout_ms, attempts, &status, &token);
	if (rc == TSARC_ENET) {
		rc = tsarc_error_set(TSARC_ENOTFOUND,
			"instance metadata: no answer from %.*s within %ld ms (inside a "
			"container on EC2, the instance's metadata hop limit must be 2 or "
			"more)", (int)blen, base, timeout_ms);
		goto done;
	}
	if (rc)
		goto done;
	if (status != 200 || token.size == 0 || token.size > 1024 ||
	    strcspn((char *)token.ptr, "\r\n") != token.size) {
		rc = tsarc_error_set(TSARC_EACCESS,
			"instance metadata at %.*s refused a session token (HTTP %ld)",
			(int)blen, base, status);
		goto done;
	}
	{
		size_t n = token.size + 40;
		if (!(tok_hdr = malloc(n))) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		snprintf(tok_hdr, n, "X-aws-ec2-metadata-token: %s", (char *)token.ptr);
		get_hdrs[0] = tok_hdr;
	}

	snprintf(url, sizeof(url), "%.*s/latest/meta-data/iam/security-credentials/",
		(int)blen, base);
	rc = imds_call(ctx, "GET", url, get_hdrs, timeout_ms, attempts, &status, &body);
	if (rc == 0 && status == 404)
		rc = tsarc_error_set(TSARC_ECONFIG,
			"instance metadata: this instance has no IAM role attached");
	else if (rc == 0 && status != 200)
		rc = tsarc_error_set(TSARC_EACCESS,
			"instance metadata: the role name request got HTTP %ld", status);
	if (rc)
		goto done;
	{
		size_t n = strcspn((char *)body.ptr, "\r\n");
		if (n == 0 || n >= sizeof(role) || strcspn((char *)body.ptr, "/?#% ") < n) {
			rc = tsarc_error_set(TSARC_EIO,
				"instance metadata: the role name is empty or not a name");
			goto done;
		}
		memcpy(role, body.ptr, n);
		role[n] = '\0';
	}
	snprintf(url, sizeof(url), "%.*s/latest/meta-data/iam/security-credentials/%s",
		(int)blen, base, role);
	rc = imds_call(ctx, "GET", url, get_hdrs, timeout_ms, attempts, &status, &body);
	if (rc == 0 && status != 200)
		rc = tsarc_error_set(status >= 500 ? TSARC_ETRANSIENT : TSARC_EACCESS,
			"instance metadata: the credentials of role %s got HTTP %ld", role,
			status);
	if (rc)
		goto done;
	if ((rc = tsarc__s3_parse_cred_json(out, (const char *)body.ptr, body.size))) {
		tsarc_error_prefix("instance metadata, role %s", role);
		goto done;
	}
	{
		size_t n = strlen(role) + 64;
		if (!(out->source = malloc(n)))
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		else
			snprintf(out->source, n, "the EC2 instance role %s (IMDSv2)", role);
	}
done:
	tsarc_secure_buf_dispose(&token);
	tsarc_secure_buf_dispose(&body);
	tsarc_secure_free_str(tok_hdr);
	if (rc)
		tsarc__s3_creds_dispose(out);
	return rc;
}
