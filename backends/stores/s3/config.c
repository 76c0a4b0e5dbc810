#include "config.h"

#include "fileio.h"
#include "tsarc/errors.h"
#include "wipe.h"


#include <ctype.h>
#include <stddef.h>
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

/* Values wanted from one profile of the shared files. */
typedef struct ini_want {
	char *access_key;
	char *secret_key;
	char *session_token;
	char *region;
	char *role_arn;
	char *source_profile;
	char *role_session_name;
	char *external_id;
	const char *file; /* the file the keys came from */
} ini_want;

static int set_once(char **slot, const char *value)
{
	if (*slot)
		return 0; /* the first occurrence wins, like botocore */
	*slot = dup_str(value);
	return *slot ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

static const struct {
	const char *key;
	size_t off;
} ini_keys[] = {
	{"aws_access_key_id", offsetof(ini_want, access_key)},
	{"aws_secret_access_key", offsetof(ini_want, secret_key)},
	{"aws_session_token", offsetof(ini_want, session_token)},
	{"region", offsetof(ini_want, region)},
	{"role_arn", offsetof(ini_want, role_arn)},
	{"source_profile", offsetof(ini_want, source_profile)},
	{"role_session_name", offsetof(ini_want, role_session_name)},
	{"external_id", offsetof(ini_want, external_id)},
};

/* The field of `w` that row `i` of ini_keys fills. */
static char **ini_slot(ini_want *w, size_t i)
{
	return (char **)((char *)w + ini_keys[i].off);
}

/* An INI file larger than this is not a credentials file. */
#define INI_MAX (1u << 20)

/*
 * Reads the section `section` of an AWS-style INI file. A missing file is
 * not an error; an unreadable one is (a folder too: read's EISDIR), since
 * silently ignoring it would make the tool use other credentials than the
 * operator intended. Read whole by tsarc_read_file, never through stdio:
 * a FILE's buffer held the file, secret keys and all, and fclose freed it
 * unwiped; the text is wiped here once parsed.
 */
static int ini_read(const char *path, const char *section, ini_want *w)
{
	char *text, *line, *next;
	size_t len, i;
	int in_section = 0, rc;
	const char *had_key = w->access_key;

	rc = tsarc_read_file(path, INI_MAX, &text, &len);
	if (rc == TSARC_ENOTFOUND) {
		tsarc_error_clear();
		return 0;
	}
	if (rc)
		return rc == TSARC_ENOMEM ? rc :
			tsarc_error_set(TSARC_ECONFIG, "%s", tsarc_error_last()->message);
	for (line = text; line; line = next) {
		char *s, *eq, *key, *val;

		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		s = trim(line);
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
		for (i = 0; i < sizeof(ini_keys) / sizeof(ini_keys[0]); i++)
			if (strcmp(key, ini_keys[i].key) == 0)
				rc = set_once(ini_slot(w, i), val);
		if (rc)
			break;
	}
	tsarc_secure_free(text, len + 1);
	if (!had_key && w->access_key)
		w->file = path;
	return rc;
}

/* Every value the table fills, wiped (some are keys): a field added to
 * the table is freed with the others. */
static void want_dispose(ini_want *w)
{
	size_t i;

	for (i = 0; i < sizeof(ini_keys) / sizeof(ini_keys[0]); i++)
		tsarc_secure_free_str(*ini_slot(w, i));
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
	tsarc_secure_free_str(c->access_key);
	tsarc_secure_free_str(c->secret_key);
	tsarc_secure_free_str(c->session_token);
	free(c->region);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

void tsarc__s3_role_dispose(tsarc__s3_role *r)
{
	if (!r)
		return;
	free(r->arn);
	free(r->session_name);
	free(r->external_id);
	tsarc__s3_creds_dispose(&r->source);
	memset(r, 0, sizeof(*r));
}

/* The shared files' paths, for reading and for messages. */
typedef struct shared_files {
	char *cred;
	char *conf;
} shared_files;

/* Profile `profile` of both files, the credentials file first. */
static int profile_read(const shared_files *sf, const char *profile, ini_want *w)
{
	char section[512];
	int rc;

	if (sf->cred && (rc = ini_read(sf->cred, profile, w)))
		return rc;
	if (strcmp(profile, "default") == 0)
		snprintf(section, sizeof(section), "default");
	else
		snprintf(section, sizeof(section), "profile %s", profile);
	return sf->conf ? ini_read(sf->conf, section, w) : 0;
}

/* Moves the keys of `w` into `out`. */
static int take_keys(ini_want *w, const char *profile, tsarc__s3_creds *out)
{
	char where[1200];

	out->access_key = w->access_key;
	out->secret_key = w->secret_key;
	out->session_token = w->session_token;
	w->access_key = w->secret_key = w->session_token = NULL;
	snprintf(where, sizeof(where), "profile '%s' in %s", profile,
		w->file ? w->file : "?");
	out->source = dup_str(where);
	return out->source ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

/* The source profile of an assume-role profile: static keys only, no
 * chains of roles (each would be another STS call per refresh). */
static int source_keys(const shared_files *sf, const char *profile,
	const char *source, tsarc__s3_creds *out)
{
	ini_want w = {0};
	int rc;

	if ((rc = profile_read(sf, source, &w)))
		goto done;
	if (w.role_arn && strcmp(source, profile) != 0) {
		rc = tsarc_error_set(TSARC_ECONFIG,
			"profile '%s': its source_profile '%s' assumes a role itself; "
			"chains of roles are not supported", profile, source);
		goto done;
	}
	if (!w.access_key || !w.secret_key) {
		rc = tsarc_error_set(TSARC_ECONFIG,
			"profile '%s' assumes a role with the keys of source_profile '%s', "
			"which has no aws_access_key_id/aws_secret_access_key", profile,
			source);
		goto done;
	}
	rc = take_keys(&w, source, out);
done:
	want_dispose(&w);
	return rc;
}

int tsarc__s3_static_load(tsarc__s3_creds *out, tsarc__s3_role *role)
{
	const char *profile = env_nonempty("AWS_PROFILE");
	const char *env_ak = env_nonempty("AWS_ACCESS_KEY_ID");
	const char *env_sk = env_nonempty("AWS_SECRET_ACCESS_KEY");
	shared_files sf;
	ini_want w = {0};
	int rc = 0;

	memset(out, 0, sizeof(*out));
	memset(role, 0, sizeof(*role));
	if (!profile)
		profile = "default";
	sf.cred = home_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
	sf.conf = home_path("AWS_CONFIG_FILE", ".aws/config");

	if ((rc = profile_read(&sf, profile, &w)))
		goto done;

	if (env_ak && env_sk) {
		out->access_key = dup_str(env_ak);
		out->secret_key = dup_str(env_sk);
		out->session_token = dup_str(env_nonempty("AWS_SESSION_TOKEN"));
		out->source = dup_str("AWS_ACCESS_KEY_ID in the environment");
		if (!out->access_key || !out->secret_key || !out->source ||
		    (env_nonempty("AWS_SESSION_TOKEN") && !out->session_token))
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	} else if (env_ak || env_sk) {
		rc = tsarc_error_set(TSARC_ECONFIG,
			"%s is set but %s is not: set both or neither",
			env_ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			env_ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	} else if (w.role_arn) {
		/* Like botocore: a role_arn wins over the profile's own keys. */
		if (!w.source_profile) {
			rc = tsarc_error_set(TSARC_ECONFIG,
				"profile '%s' has role_arn but no source_profile "
				"(credential_source is not supported)", profile);
			goto done;
		}
		role->arn = w.role_arn;
		role->session_name = w.role_session_name;
		role->external_id = w.external_id;
		w.role_arn = w.role_session_name = w.external_id = NULL;
		rc = strcmp(w.source_profile, profile) == 0
			? take_keys(&w, profile, &role->source)
			: source_keys(&sf, profile, w.source_profile, &role->source);
		if (rc == 0 && (!role->source.access_key || !role->source.secret_key))
			rc = tsarc_error_set(TSARC_ECONFIG,
				"profile '%s' assumes a role with its own keys but has none",
				profile);
	} else if (w.access_key && w.secret_key) {
		rc = take_keys(&w, profile, out);
	} else {
		rc = tsarc_error_set(TSARC_ENOTFOUND,
			"no S3 credentials: set AWS_ACCESS_KEY_ID and "
			"AWS_SECRET_ACCESS_KEY, or add profile '%s' to %s",
			profile, sf.cred ? sf.cred : "~/.aws/credentials");
	}
done:
	want_dispose(&w);
	free(sf.cred);
	free(sf.conf);
	if (rc) {
		tsarc__s3_creds_dispose(out);
		tsarc__s3_role_dispose(role);
	}
	return rc;
}

char *tsarc__s3_region_load(void)
{
	const char *profile = env_nonempty("AWS_PROFILE");
	shared_files sf;
	ini_want w = {0};
	char *r = NULL;

	if (env_nonempty("AWS_REGION"))
		return dup_str(env_nonempty("AWS_REGION"));
	if (env_nonempty("AWS_DEFAULT_REGION"))
		return dup_str(env_nonempty("AWS_DEFAULT_REGION"));
	sf.cred = home_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
	sf.conf = home_path("AWS_CONFIG_FILE", ".aws/config");
	/* The config file's region first: it is where the tools write it. */
	if (sf.conf) {
		char section[512];
		if (!profile || strcmp(profile, "default") == 0)
			snprintf(section, sizeof(section), "default");
		else
			snprintf(section, sizeof(section), "profile %s", profile);
		if (ini_read(sf.conf, section, &w) == 0 && w.region)
			r = dup_str(w.region);
		want_dispose(&w);
	}
	if (!r && sf.cred && ini_read(sf.cred, profile ? profile : "default", &w) == 0 &&
	    w.region)
		r = dup_str(w.region);
	want_dispose(&w);
	free(sf.cred);
	free(sf.conf);
	tsarc_error_clear();
	return r ? r : dup_str("us-east-1");
}

/* ---- object PUT options ---- */

static const char *opt_or_env(const char *opt, const char *env)
{
	return opt && *opt ? opt : env_nonempty(env);
}

int tsarc__s3_put_opts_load(tsarc__s3_put_opts *p, const tsarc_store_options *opts)
{
	const char *sse = opt_or_env(opts ? opts->s3_sse : NULL, "TSARC_S3_SSE");
	const char *kms = opt_or_env(opts ? opts->s3_sse_kms_key_id : NULL,
		"TSARC_S3_SSE_KMS_KEY_ID");
	const char *cls = opt_or_env(opts ? opts->s3_storage_class : NULL,
		"TSARC_S3_STORAGE_CLASS");
	const char *c;

	memset(p, 0, sizeof(*p));
	if (sse && strcmp(sse, "AES256") != 0 && strcmp(sse, "aws:kms") != 0)
		return tsarc_error_set(TSARC_ECONFIG,
			"S3 server-side encryption '%.40s' is not AES256 or aws:kms", sse);
	if (kms && (!sse || strcmp(sse, "aws:kms") != 0))
		return tsarc_error_set(TSARC_ECONFIG,
			"an S3 KMS key id is given, but the encryption is %s, not aws:kms",
			sse ? sse : "not set");
	if (kms && (strlen(kms) > 2048 || strcspn(kms, "\r\n") != strlen(kms)))
		return tsarc_error_set(TSARC_ECONFIG, "the S3 KMS key id is not a key id");
	if (cls) {
		for (c = cls; *c; c++)
			if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
				break;
		if (*c || c - cls > 64)
			return tsarc_error_set(TSARC_ECONFIG,
				"S3 storage class '%.40s' is not a class name (STANDARD, "
				"STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, ...)",
				cls);
		/* Objects there cannot be read without a restore request, and
		 * every command reads the repository's keys and snapshots. */
		if (strcmp(cls, "GLACIER") == 0 || strcmp(cls, "DEEP_ARCHIVE") == 0)
			return tsarc_error_set(TSARC_ECONFIG,
				"S3 storage class %s cannot be read back without a restore: "
				"use GLACIER_IR, or a lifecycle rule on data/ only", cls);
	}
	p->sse = dup_str(sse);
	p->kms_key_id = dup_str(kms);
	p->storage_class = dup_str(cls);
	if ((sse && !p->sse) || (kms && !p->kms_key_id) || (cls && !p->storage_class)) {
		tsarc__s3_put_opts_dispose(p);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	return 0;
}

size_t tsarc__s3_put_opts_headers(const tsarc__s3_put_opts *p, tsarc__s3_kv out[3])
{
	size_t n = 0;

	if (p->sse) {
		out[n].name = "x-amz-server-side-encryption";
		out[n++].value = p->sse;
	}
	if (p->kms_key_id) {
		out[n].name = "x-amz-server-side-encryption-aws-kms-key-id";
		out[n++].value = p->kms_key_id;
	}
	if (p->storage_class) {
		out[n].name = "x-amz-storage-class";
		out[n++].value = p->storage_class;
	}
	return n;
}

void tsarc__s3_put_opts_dispose(tsarc__s3_put_opts *p)
{
	free(p->sse);
	free(p->kms_key_id);
	free(p->storage_class);
	memset(p, 0, sizeof(*p));
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
/* Like the AWS SDKs (5 to 15 minutes): well before the end, and never so
 * early that hour-long keys are renewed at every request. */
#define S3_DEFAULT_REFRESH_MARGIN_S 300

void tsarc__s3_limits_default(tsarc__s3_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_retries = S3_DEFAULT_RETRIES;
	l->connect_s = S3_DEFAULT_CONNECT_S;
	l->stall_s = S3_DEFAULT_STALL_S;
	l->attempt_s = S3_DEFAULT_ATTEMPT_S;
	l->min_rate = S3_DEFAULT_MIN_RATE;
	l->deadline_s = S3_DEFAULT_DEADLINE_S;
	l->refresh_margin_s = S3_DEFAULT_REFRESH_MARGIN_S;
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
	uint64_t retries, connect, stall, attempt, deadline, trace = 0, sign = 0, margin;
	int rc;

	tsarc__s3_limits_default(l);
	retries = l->max_retries;
	connect = (uint64_t)l->connect_s;
	stall = (uint64_t)l->stall_s;
	attempt = (uint64_t)l->attempt_s;
	deadline = (uint64_t)l->deadline_s;
	margin = (uint64_t)l->refresh_margin_s;
	if ((rc = env_num("TSARC_S3_MAX_RETRIES", 0, S3_MAX_RETRIES_LIMIT, &retries)) ||
	    (rc = env_num("TSARC_S3_CONNECT_TIMEOUT", 1, 600, &connect)) ||
	    (rc = env_num("TSARC_S3_STALL_TIMEOUT", 1, 3600, &stall)) ||
	    (rc = env_num("TSARC_S3_ATTEMPT_TIMEOUT", 1, 86400, &attempt)) ||
	    (rc = env_num("TSARC_S3_MIN_THROUGHPUT", 1, 1ULL << 40, &l->min_rate)) ||
	    (rc = env_num("TSARC_S3_RETRY_DEADLINE", 1, 86400, &deadline)) ||
	    (rc = env_num("TSARC_S3_TRACE", 0, 1, &trace)) ||
	    (rc = env_num("TSARC_S3_SIGN_PAYLOAD", 0, 1, &sign)) ||
	    (rc = env_num("TSARC_S3_REFRESH_MARGIN", 0, 43200, &margin)))
		return rc;
	l->max_retries = (unsigned)retries;
	l->connect_s = (long)connect;
	l->stall_s = (long)stall;
	l->attempt_s = (long)attempt;
	l->deadline_s = (long)deadline;
	l->trace = trace == 1;
	l->sign_payload = sign == 1;
	l->refresh_margin_s = (long)margin;
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
