#include "config.h"

#include "tsarc/errors.h"

#include <openssl/crypto.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_str(const char *s)
{
	char *r;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	r = malloc(n + 1);
	if (r)
		memcpy(r, s, n + 1);
	return r;
}

static void free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Values wanted from one section of an INI file. */
typedef struct ini_want {
	char *access_key;
	char *secret_key;
	char *session_token;
	char *region;
} ini_want;

static int set_once(char **slot, const char *value)
{
	if (*slot)
		return 0; /* the first occurrence wins, like botocore */
	*slot = dup_str(value);
	return *slot ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

/*
 * Reads the section `section` of an AWS-style INI file. A missing file is
 * not an error; an unreadable one is, since silently ignoring it would
 * make the tool use other credentials than the operator intended.
 */
static int ini_read(const char *path, const char *section, ini_want *w)
{
	char line[4096];
	FILE *f;
	int in_section = 0, rc = 0;

	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return tsarc_error_set(TSARC_ECONFIG, "cannot read %s: %s", path,
			strerror(errno));
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq, *key, *val;

		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');
			if (end) {
				*end = '\0';
				in_section = strcmp(trim(s + 1), section) == 0;
			}
			continue;
		}
		if (!in_section || !(eq = strchr(s, '=')))
			continue;
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (strcmp(key, "aws_access_key_id") == 0)
			rc = set_once(&w->access_key, val);
		else if (strcmp(key, "aws_secret_access_key") == 0)
			rc = set_once(&w->secret_key, val);
		else if (strcmp(key, "aws_session_token") == 0)
			rc = set_once(&w->session_token, val);
		else if (strcmp(key, "region") == 0)
			rc = set_once(&w->region, val);
		if (rc)
			break;
	}
	OPENSSL_cleanse(line, sizeof(line));
	fclose(f);
	return rc;
}

static void want_dispose(ini_want *w)
{
	free(w->access_key);
	free_secret(w->secret_key);
	free_secret(w->session_token);
	free(w->region);
	memset(w, 0, sizeof(*w));
}

static char *home_path(const char *env, const char *rel)
{
	const char *v = env_nonempty(env), *home;
	char *r;
	size_t n;

	if (v)
		return dup_str(v);
	home = env_nonempty("HOME");
	if (!home)
		return NULL;
	n = strlen(home) + strlen(rel) + 2;
	r = malloc(n);
	if (r)
		snprintf(r, n, "%s/%s", home, rel);
	return r;
}

void tsarc__s3_creds_dispose(tsarc__s3_creds *c)
{
	if (!c)
		return;
	free(c->access_key);
	free_secret(c->secret_key);
	free_secret(c->session_token);
	free(c->region);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

int tsarc__s3_creds_load(tsarc__s3_creds *out)
{
	const char *profile = env_nonempty("AWS_PROFILE");
	const char *env_ak = env_nonempty("AWS_ACCESS_KEY_ID");
	const char *env_sk = env_nonempty("AWS_SECRET_ACCESS_KEY");
	char *cred_path = NULL, *conf_path = NULL, section[512];
	ini_want fromcred = {0}, fromconf = {0};
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!profile)
		profile = "default";
	cred_path = home_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
	conf_path = home_path("AWS_CONFIG_FILE", ".aws/config");

	if (cred_path && (rc = ini_read(cred_path, profile, &fromcred)))
		goto done;
	if (strcmp(profile, "default") == 0)
		snprintf(section, sizeof(section), "default");
	else
		snprintf(section, sizeof(section), "profile %s", profile);
	if (conf_path && (rc = ini_read(conf_path, section, &fromconf)))
		goto done;

	if (env_ak && env_sk) {
		out->access_key = dup_str(env_ak);
		out->secret_key = dup_str(env_sk);
		out->session_token = dup_str(env_nonempty("AWS_SESSION_TOKEN"));
		out->source = dup_str("AWS_ACCESS_KEY_ID in the environment");
	} else if (env_ak || env_sk) {
		rc = tsarc_error_set(TSARC_ECONFIG,
			"%s is set but %s is not: set both or neither",
			env_ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			env_ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		goto done;
	} else {
		ini_want *w = fromcred.access_key ? &fromcred : &fromconf;
		const char *file = w == &fromcred ? cred_path : conf_path;
		char where[1200];

		if (!w->access_key || !w->secret_key) {
			rc = tsarc_error_set(TSARC_ECONFIG,
				"no S3 credentials: set AWS_ACCESS_KEY_ID and "
				"AWS_SECRET_ACCESS_KEY, or add profile '%s' to %s",
				profile, cred_path ? cred_path : "~/.aws/credentials");
			goto done;
		}
		out->access_key = w->access_key;
		out->secret_key = w->secret_key;
		out->session_token = w->session_token;
		w->access_key = w->secret_key = w->session_token = NULL;
		snprintf(where, sizeof(where), "profile '%s' in %s", profile,
			file ? file : "?");
		out->source = dup_str(where);
	}

	if (env_nonempty("AWS_REGION"))
		out->region = dup_str(env_nonempty("AWS_REGION"));
	else if (env_nonempty("AWS_DEFAULT_REGION"))
		out->region = dup_str(env_nonempty("AWS_DEFAULT_REGION"));
	else if (fromconf.region)
		out->region = dup_str(fromconf.region);
	else if (fromcred.region)
		out->region = dup_str(fromcred.region);
	else
		out->region = dup_str("us-east-1");

	if (!out->access_key || !out->secret_key || !out->region || !out->source ||
	    (env_nonempty("AWS_SESSION_TOKEN") && env_ak && !out->session_token))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
done:
	want_dispose(&fromcred);
	want_dispose(&fromconf);
	free(cred_path);
	free(conf_path);
	if (rc)
		tsarc__s3_creds_dispose(out);
	return rc;
}

/* ---- limits ---- */

/*
 * The defaults keep the promise "a server that stalls or trickles fails the
 * command within 4 minutes" (exit 14), measured by test_s3_config: a silent
 * server fails a request at 120 s; one that announces a large answer and
 * then stalls or trickles, at most one attempt (20 s stalled, about 30 s
 * trickling) after that. A working link is not cut: after 30 s an attempt
 * must average 64 KiB/s (a 1 MiB chunk has 46 s, a 4 MiB one 94 s), about
 * 3 Mbit/s for 16 requests in flight of average chunks; a slower link
 * lowers TSARC_S3_MIN_THROUGHPUT or --inflight.
 */
#define S3_DEFAULT_RETRIES 8
#define S3_MAX_RETRIES_LIMIT 30
#define S3_DEFAULT_CONNECT_S 10
#define S3_DEFAULT_STALL_S 20
#define S3_DEFAULT_ATTEMPT_S 30
#define S3_DEFAULT_MIN_RATE (64 * 1024)
#define S3_DEFAULT_DEADLINE_S 120

void tsarc__s3_limits_default(tsarc__s3_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_retries = S3_DEFAULT_RETRIES;
	l->connect_s = S3_DEFAULT_CONNECT_S;
	l->stall_s = S3_DEFAULT_STALL_S;
	l->attempt_s = S3_DEFAULT_ATTEMPT_S;
	l->min_rate = S3_DEFAULT_MIN_RATE;
	l->deadline_s = S3_DEFAULT_DEADLINE_S;
}

/* A whole number in [lo, hi] from `name`; unset or empty keeps *out. */
static int env_num(const char *name, uint64_t lo, uint64_t hi, uint64_t *out)
{
	const char *v = getenv(name);
	char *end;
	uintmax_t n;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoumax(v, &end, 10);
	if (!isdigit((unsigned char)*v) || *end || errno || n < lo || n > hi)
		return tsarc_error_set(TSARC_ECONFIG,
			"%s='%.40s' is not a whole number from %" PRIu64 " to %" PRIu64,
			name, v, lo, hi);
	*out = (uint64_t)n;
	return 0;
}

int tsarc__s3_limits_load(tsarc__s3_limits *l)
{
	uint64_t retries, connect, stall, attempt, deadline, trace = 0;
	int rc;

	tsarc__s3_limits_default(l);
	retries = l->max_retries;
	connect = (uint64_t)l->connect_s;
	stall = (uint64_t)l->stall_s;
	attempt = (uint64_t)l->attempt_s;
	deadline = (uint64_t)l->deadline_s;
	if ((rc = env_num("TSARC_S3_MAX_RETRIES", 0, S3_MAX_RETRIES_LIMIT, &retries)) ||
	    (rc = env_num("TSARC_S3_CONNECT_TIMEOUT", 1, 600, &connect)) ||
	    (rc = env_num("TSARC_S3_STALL_TIMEOUT", 1, 3600, &stall)) ||
	    (rc = env_num("TSARC_S3_ATTEMPT_TIMEOUT", 1, 86400, &attempt)) ||
	    (rc = env_num("TSARC_S3_MIN_THROUGHPUT", 1, 1ULL << 40, &l->min_rate)) ||
	    (rc = env_num("TSARC_S3_RETRY_DEADLINE", 1, 86400, &deadline)) ||
	    (rc = env_num("TSARC_S3_TRACE", 0, 1, &trace)))
		return rc;
	l->max_retries = (unsigned)retries;
	l->connect_s = (long)connect;
	l->stall_s = (long)stall;
	l->attempt_s = (long)attempt;
	l->deadline_s = (long)deadline;
	l->trace = trace == 1;
	return 0;
}

double tsarc__s3_attempt_allowance(const tsarc__s3_limits *l, uint64_t moved)
{
	return (double)l->attempt_s + (double)moved / (double)l->min_rate;
}

double tsarc__s3_request_allowance(const tsarc__s3_limits *l, uint64_t size)
{
	return (double)l->deadline_s + (double)size / (double)l->min_rate;
}
