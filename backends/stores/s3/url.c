#include "url.h"

#include "fmt.h"
#include "urltext.h"
#include "tsarc/errors.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tsarc__s3_url_dispose(tsarc__s3_url *u)
{
	free(u->base_url);
	free(u->host);
	free(u->bucket);
	free(u->prefix);
	free(u->desc);
	memset(u, 0, sizeof(*u));
}

static int bucket_name_ok(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 3 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		char c = b[i];
		if (!(isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int dns_bucket(const char *b)
{
	for (; *b; b++)
		if (!(islower((unsigned char)*b) || isdigit((unsigned char)*b) || *b == '-'))
			return 0;
	return 1;
}

/* Splits "bucket[/prefix]" and normalises the prefix to "" or "p/q/". */
static int split_bucket(tsarc__s3_url *st, const char *s)
{
	const char *slash = strchr(s, '/');
	const char *p;
	size_t blen = slash ? (size_t)(slash - s) : strlen(s), plen;

	if (strpbrk(s, "?#"))
		return tsarc_error_set(TSARC_ECONFIG,
			"S3 repository URL must not hold a query or fragment");
	st->bucket = malloc(blen + 1);
	if (!st->bucket)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	memcpy(st->bucket, s, blen);
	st->bucket[blen] = '\0';
	if (!bucket_name_ok(st->bucket))
		return tsarc_error_set(TSARC_ECONFIG,
			"'%s' is not a valid S3 bucket name (3 to 63 letters, digits, '.', '-')",
			st->bucket);
	p = slash ? slash + 1 : "";
	plen = strlen(p);
	while (plen && p[plen - 1] == '/')
		plen--;
	st->prefix = malloc(plen + 2);
	if (!st->prefix)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	memcpy(st->prefix, p, plen);
	st->prefix[plen] = '\0';
	if (plen) {
		/* Empty and dot segments would be rewritten by some servers and
		 * proxies, putting objects somewhere other than asked for. */
		const char *seg = st->prefix;
		while (seg) {
			const char *end = strchr(seg, '/');
			size_t sl = end ? (size_t)(end - seg) : strlen(seg);
			if (sl == 0 || (sl == 1 && seg[0] == '.') ||
			    (sl == 2 && seg[0] == '.' && seg[1] == '.'))
				return tsarc_error_set(TSARC_ECONFIG,
					"S3 prefix '%s' has an empty, '.' or '..' part", st->prefix);
			seg = end ? end + 1 : NULL;
		}
		st->prefix[plen] = '/';
		st->prefix[plen + 1] = '\0';
	}
	return 0;
}

/* Credentials are never taken from the URL, and a URL holding some is
 * never quoted: an '@' anywhere after "://" refuses it (urltext.h: a
 * secret key holding '/' hid the '@' from a search of the host part,
 * and the bucket and prefix carried the rest of the key into every
 * message). A bucket name cannot hold '@'; a prefix that does is refused
 * too, as the two cannot be told apart. */
static int no_credentials(const char *url)
{
	if (!tsarc_url_userinfo_end(url))
		return 0;
	return tsarc_error_set(TSARC_ECONFIG, "do not put credentials in the S3 URL (it holds "
		"'@' after its scheme, which a bucket or prefix cannot): use AWS_ACCESS_KEY_ID "
		"and AWS_SECRET_ACCESS_KEY");
}

/* "http[s]://host[:port][/...]": base URL and Host; `rest` gets the path. */
static int split_endpoint(tsarc__s3_url *st, const char *url, const char **rest)
{
	const char *hostpart, *end;
	int https, rc;

	if (strncmp(url, "https://", 8) == 0) {
		https = 1;
		hostpart = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		https = 0;
		hostpart = url + 7;
	} else {
		return tsarc_error_set(TSARC_ECONFIG,
			"S3 endpoint must start with http:// or https://");
	}
	if ((rc = no_credentials(url)))
		return rc;
	end = hostpart + strcspn(hostpart, "/?#");
	if (end == hostpart)
		return tsarc_error_set(TSARC_ECONFIG, "S3 endpoint has no host name");
	st->host = malloc((size_t)(end - hostpart) + 1);
	if (!st->host)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	memcpy(st->host, hostpart, (size_t)(end - hostpart));
	st->host[end - hostpart] = '\0';
	st->base_url = tsarc_dup_printf("%s://%s", https ? "https" : "http", st->host);
	if (!st->base_url)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	*rest = end;
	return 0;
}

int tsarc__s3_url_parse(tsarc__s3_url *st, const char *url)
{
	const char *rest;
	int rc;

	if ((rc = no_credentials(url)))
		return rc;
	if (strncmp(url, "s3://", 5) == 0) {
		const char *ep = getenv("AWS_ENDPOINT_URL_S3");
		if (!ep || !*ep)
			ep = getenv("AWS_ENDPOINT_URL");
		if ((rc = split_bucket(st, url + 5)))
			return rc;
		if (ep && *ep) {
			if ((rc = split_endpoint(st, ep, &rest))) {
				tsarc_error_prefix("AWS_ENDPOINT_URL");
				return rc;
			}
			if (rest[0] && strcmp(rest, "/") != 0)
				return tsarc_error_set(TSARC_ECONFIG,
					"AWS_ENDPOINT_URL must be scheme://host[:port] only");
			st->desc = tsarc_dup_printf("s3:%s/%s/%s", st->base_url, st->bucket,
				st->prefix);
		} else {
			/* AWS itself; the host name waits for the region (aws_host). */
			st->aws = 1;
			st->desc = tsarc_dup_printf("s3://%s/%s", st->bucket, st->prefix);
		}
	} else if (strncmp(url, "s3:http://", 10) == 0 ||
		   strncmp(url, "s3:https://", 11) == 0) {
		if ((rc = split_endpoint(st, url + 3, &rest)))
			return rc;
		if (*rest != '/' || !rest[1])
			return tsarc_error_set(TSARC_ECONFIG,
				"S3 repository URL has no bucket: use s3:%s/BUCKET[/PREFIX]",
				st->base_url);
		if ((rc = split_bucket(st, rest + 1)))
			return rc;
		st->desc = tsarc_dup_printf("s3:%s/%s/%s", st->base_url, st->bucket, st->prefix);
	} else {
		return tsarc_error_set(TSARC_ECONFIG,
			"unsupported S3 repository URL: use s3:https://HOST[:PORT]/BUCKET[/PREFIX] "
			"or s3://BUCKET[/PREFIX]");
	}
	if (!st->desc)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	/* "s3:http://h/b/" reads better as "s3:http://h/b". */
	if (st->desc[strlen(st->desc) - 1] == '/')
		st->desc[strlen(st->desc) - 1] = '\0';
	return 0;
}

int tsarc__s3_url_aws_host(tsarc__s3_url *st, const char *region)
{
	/* Virtual-hosted style is the only style AWS keeps for new buckets;
	 * dotted names break its TLS certificates, so those stay path-style. */
	st->virtual_host = dns_bucket(st->bucket);
	st->host = st->virtual_host
		? tsarc_dup_printf("%s.s3.%s.amazonaws.com", st->bucket, region)
		: tsarc_dup_printf("s3.%s.amazonaws.com", region);
	if (!st->host)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	st->base_url = tsarc_dup_printf("https://%s", st->host);
	if (!st->base_url)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return 0;
}

