/*
 * What an S3 answer means (client.h): worth another attempt or final, and
 * for a final refusal, an error that names the request and says what to
 * fix (the key id, never the secret; the region to set; the bucket that
 * is missing).
 */
#include "client_impl.h"

#include "tsarc/errors.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int tsarc__s3_retryable_status(const tsarc__s3_resp *r)
{
	static const char *const codes[] = {
		"SlowDown", "InternalError", "RequestTimeout", "ServiceUnavailable",
		"Throttling", "ThrottlingException", "RequestThrottled",
		"OperationAborted",
		/* The body left memory intact, so a digest mismatch means it
		 * was damaged on the way: sending it again is the cure. */
		"BadDigest", "XAmzContentSHA256Mismatch",
		"ConditionalRequestConflict",
	};
	size_t i;

	if (r->status == 500 || r->status == 502 || r->status == 503 ||
	    r->status == 504 || r->status == 429)
		return 1;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(r->err.code, codes[i]) == 0)
			return 1;
	return 0;
}

const char *tsarc__s3_req_what(const tsarc__s3_client *c, const tsarc__s3_req *req,
	char *buf, size_t bufsz)
{
	if (req->key)
		snprintf(buf, bufsz, "%s s3://%s/%s", req->method, c->u.bucket, req->key);
	else
		snprintf(buf, bufsz, "%s bucket '%s'", req->method, c->u.bucket);
	return buf;
}

/* Turns a final non-success answer into an error that says what to fix. */
int tsarc__s3_status_error(tsarc__s3_client *c, const tsarc__s3_req *req,
	const tsarc__s3_resp *r)
{
	const char *code = r->err.code, *msg = r->err.message;
	const char *region = r->bucket_region[0] ? r->bucket_region : r->err.region;
	char what[1200], key_id[160], source[300];

	tsarc__s3_req_what(c, req, what, sizeof(what));
	tsarc__s3_credsrc_ident(c->cred, key_id, sizeof(key_id), source, sizeof(source));
	if (strcmp(code, "InvalidAccessKeyId") == 0)
		return tsarc_error_set(TSARC_EACCESS,
			"%s: the S3 server at %s does not know access key id '%s' (from %s): "
			"check AWS_ACCESS_KEY_ID",
			what, c->u.base_url, key_id, source);
	if (strcmp(code, "SignatureDoesNotMatch") == 0)
		return tsarc_error_set(TSARC_EACCESS,
			"%s: the secret key for access key id '%s' (from %s) is wrong: the "
			"server rejected the signature; check AWS_SECRET_ACCESS_KEY",
			what, key_id, source);
	if (strcmp(code, "RequestTimeTooSkewed") == 0)
		return tsarc_error_set(TSARC_ECONFIG,
			"%s: this machine's clock is too far from the S3 server's: fix the "
			"system time (NTP)", what);
	if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "InvalidToken") == 0 ||
	    strcmp(code, "TokenRefreshRequired") == 0)
		return tsarc_error_set(TSARC_EACCESS,
			"%s: the session token for access key id '%s' is %s: get fresh "
			"credentials (AWS_SESSION_TOKEN)",
			what, key_id,
			strcmp(code, "InvalidToken") == 0 ? "invalid" : "expired");
	if (r->status == 301 || r->status == 307 ||
	    strcmp(code, "PermanentRedirect") == 0 ||
	    strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
	    strcmp(code, "IllegalLocationConstraintException") == 0) {
		if (region[0] && strcmp(region, c->region) != 0)
			return tsarc_error_set(TSARC_ECONFIG,
				"%s: bucket '%s' is in region %s, not %s: set AWS_REGION=%s",
				what, c->u.bucket, region, c->region, region);
		return tsarc_error_set(TSARC_ECONFIG,
			"%s: bucket '%s' must be reached through another endpoint or "
			"region%s%s (HTTP %ld %s): check AWS_REGION and the repository URL",
			what, c->u.bucket, r->err.endpoint[0] ? ": " : "", r->err.endpoint,
			r->status, code);
	}
	if (r->status == 403)
		return tsarc_error_set(TSARC_EACCESS,
			"%s: access denied for access key id '%s' (from %s)%s%s: check the "
			"key and its permissions on bucket '%s'",
			what, key_id, source, code[0] ? ": " : "",
			code, c->u.bucket);
	if (strcmp(code, "NoSuchBucket") == 0)
		return tsarc_error_set(TSARC_ENOTFOUND,
			"bucket '%s' does not exist at %s (create the repository with "
			"`tsarc init`, or check the repository URL)",
			c->u.bucket, c->u.base_url);
	if (r->status == 404)
		return tsarc_error_set(TSARC_ENOTFOUND, "%s: not found", what);
	if (r->status == 412)
		return tsarc_error_set(TSARC_EEXISTS, "%s: the object already exists", what);
	if (r->status == 416)
		return tsarc_error_set(TSARC_EINVAL,
			"%s: range starts past the end of the object", what);
	if (strcmp(code, "InvalidBucketName") == 0)
		return tsarc_error_set(TSARC_ECONFIG, "bucket name '%s' is not valid: %s",
			c->u.bucket, msg);
	return tsarc_error_set(TSARC_EIO, "%s: HTTP %ld%s%s%s%s", what, r->status,
		code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
}


/* HEAD carries no error body: on a puzzling refusal, ask again with a GET
 * of one byte, whose answer says what is wrong (wrong secret, region...). */
int tsarc__s3_head_object(tsarc__s3_client *c, const char *key,
	tsarc__s3_resp *resp, tsarc__s3_req *used)
{
	tsarc__s3_req rq = {0};
	int rc;

	rq.method = "HEAD";
	rq.key = key;
	rq.head = 1;
	*used = rq;
	if ((rc = tsarc__s3_perform(c, &rq, resp)))
		return rc;
	if (resp->status == 400 || resp->status == 403 || resp->status == 301) {
		tsarc__s3_req probe = {0};
		tsarc__s3_resp presp;
		probe.method = "GET";
		probe.key = key;
		probe.range = "bytes=0-0";
		if (tsarc__s3_perform(c, &probe, &presp) == 0 && presp.err.code[0] &&
		    presp.status == resp->status)
			*resp = presp;
	}
	return 0;
}

int tsarc__s3_etag_matches(const char *etag, const char *md5_hex)
{
	size_t n = strlen(etag);

	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
		etag++;
		n -= 2;
	}
	return n == 32 && strncasecmp(etag, md5_hex, 32) == 0;
}
