/*
 * Database URLs as 3scale's Secrets hold them
 * (scheme://[user[:password]@]host[:port][/path]). A URL may hold a
 * password: errors never repeat it, and the password is wiped when freed.
 */
#include "component.h"
#include "urltext.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int nomem(void)
{
	return tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static char *pct_decode(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	size_t i, k = 0;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
			hexval(s[i + 2]) >= 0) {
			out[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else
			out[k++] = s[i];
	}
	out[k] = '\0';
	return out;
}

/* The strings a tsarc_url owns. */
static const size_t URL_STRINGS[] = {
	offsetof(tsarc_url, scheme), offsetof(tsarc_url, user), offsetof(tsarc_url, password),
	offsetof(tsarc_url, host), offsetof(tsarc_url, path),
};

int tsarc_url_scheme_shown(const char *scheme)
{
	size_t n = strlen(scheme);

	return n > 0 && n < 32 && strspn(scheme, "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") == n;
}

void tsarc_url_free(tsarc_url *u)
{
	TSARC_SECURE_FREE_FIELDS(u, URL_STRINGS);
	memset(u, 0, sizeof(*u));
}

/* A Redis URL's user information without a ':' is its password
 * (redis://[[username:]password@]host, as redis-cli reads it, and 3scale's
 * backend client, which sends it to AUTH alone); in a database URL it is
 * the user (libpq, mysql2). Read as a user, a Secret's password was shown
 * wherever a user is: descriptions, the plan, a refused AUTH's message. */
static int redis_url(const char *scheme)
{
	return !strcasecmp(scheme, "redis") || !strcasecmp(scheme, "rediss");
}

int tsarc_url_parse(const char *text, tsarc_url *u)
{
	const char *p, *auth_end, *host, *host_end, *colon, *at = NULL;
	int rc = TSARC_ECONFIG;

	memset(u, 0, sizeof(*u));
	if (!(p = strstr(text, "://")))
		return tsarc_error_set(TSARC_ECONFIG, "not a URL (no scheme://)");
	if (!(u->scheme = strndup(text, (size_t)(p - text))))
		goto oom;
	p += 3;
	auth_end = p + strcspn(p, "/?#");
	/* An '@' after the host: a password holding '/', '?' or '#' that
	 * was not percent-encoded. Read as a URL (as libpq and Ruby's URI do)
	 * its host is the user and its path or query the rest of the password,
	 * which went on a dump tool's argv as the database and into messages:
	 * refused, quoting nothing of it. */
	if (tsarc_url_userinfo_end(text) > auth_end) {
		tsarc_error_set(rc, "URL holds an '@' after its host: a password holding '/', "
			"'?' or '#' must be percent-encoded (%%2F, %%3F, %%23)");
		goto fail;
	}
	/* The last @ before the path: passwords may contain @ when unencoded. */
	for (const char *q = p; q < auth_end; q++)
		if (*q == '@')
			at = q;
	if (at) {
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon) {
			if (!(u->user = pct_decode(p, (size_t)(colon - p))) ||
				!(u->password = pct_decode(colon + 1, (size_t)(at - colon - 1))))
				goto oom;
		} else if (!(*(redis_url(u->scheme) ? &u->password : &u->user) =
				     pct_decode(p, (size_t)(at - p))))
			goto oom;
		host = at + 1;
	} else
		host = p;
	host_end = auth_end;
	colon = NULL;
	if (*host == '[') { /* IPv6 literal */
		const char *close = memchr(host, ']', (size_t)(host_end - host));
		if (!close) {
			tsarc_error_set(rc, "URL host: unterminated [");
			goto fail;
		}
		if (!(u->host = strndup(host + 1, (size_t)(close - host - 1))))
			goto oom;
		if (close + 1 < host_end && close[1] == ':')
			colon = close + 1;
	} else {
		colon = memchr(host, ':', (size_t)(host_end - host));
		if (!(u->host = strndup(host, (size_t)((colon ? colon : host_end) - host))))
			goto oom;
	}
	if (colon && colon + 1 < host_end) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (end != host_end || port < 1 || port > 65535) {
			tsarc_error_set(rc, "URL port is not a number from 1 to 65535");
			goto fail;
		}
		u->port = (int)port;
	}
	if (*auth_end == '/') {
		size_t plen = strcspn(auth_end + 1, "?#");
		if (!(u->path = pct_decode(auth_end + 1, plen)))
			goto oom;
	}
	return 0;
oom:
	rc = nomem();
fail:
	tsarc_url_free(u);
	return rc;
}
