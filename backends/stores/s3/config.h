#ifndef TSARC_S3_CONFIG_H
#define TSARC_S3_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "sigv4.h"
#include "tsarc/sys/store.h"

/*
 * Credentials, found the way the AWS CLI and SDKs find them, so that an
 * operator's existing setup works unchanged, in this order:
 *   1. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN;
 *   2. the profile AWS_PROFILE (else "default") in AWS_SHARED_CREDENTIALS_FILE
 *      (else ~/.aws/credentials), then in AWS_CONFIG_FILE (else
 *      ~/.aws/config, where sections read "[profile NAME]" or "[default]"):
 *      its role_arn + source_profile (STS AssumeRole, sts.c), else its keys;
 *   3. web identity, container and instance-role credentials (credentials.c).
 * Region: AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`, us-east-1.
 */

typedef struct tsarc__s3_creds {
	char *access_key;
	char *secret_key;
	char *session_token; /* NULL when none */
	char *region;
	char *source;        /* where the keys came from, for messages */
	int64_t expires;     /* UNIX time they stop working; 0: never */
} tsarc__s3_creds;

/* A profile that assumes a role with another profile's keys. */
typedef struct tsarc__s3_role {
	char *arn;
	char *session_name; /* role_session_name, NULL: ours */
	char *external_id;  /* NULL when none */
	tsarc__s3_creds source; /* the keys that sign AssumeRole */
} tsarc__s3_role;

/*
 * Steps 1 and 2. 0 with out's keys set (static keys), or with role->arn set
 * (the profile assumes a role); TSARC_ENOTFOUND when neither the environment
 * nor the files name any (the chain goes on); TSARC_ECONFIG when they are
 * wrong (half a key pair, an unreadable file, a role without keys).
 * out->region is not set here: tsarc__s3_region_load.
 */
int tsarc__s3_static_load(tsarc__s3_creds *out, tsarc__s3_role *role);
/* The region (never NULL but when out of memory). */
char *tsarc__s3_region_load(void);
/* The whole chain once (credentials.c): TSARC_ECONFIG with a message
 * saying where keys were looked for. */
int tsarc__s3_creds_load(tsarc__s3_creds *out);
/* Wipe the secrets before releasing them. */
void tsarc__s3_creds_dispose(tsarc__s3_creds *c);
void tsarc__s3_role_dispose(tsarc__s3_role *r);

/*
 * What every object PUT carries: server-side encryption and the storage
 * class. From tsarc_store_options (--s3-sse, --s3-sse-kms-key-id,
 * --s3-storage-class), else TSARC_S3_SSE, TSARC_S3_SSE_KMS_KEY_ID,
 * TSARC_S3_STORAGE_CLASS; checked here so that a typo fails at once
 * (TSARC_ECONFIG), not at the first upload.
 */
typedef struct tsarc__s3_put_opts {
	char *sse;           /* "AES256", "aws:kms", or NULL */
	char *kms_key_id;    /* only with aws:kms */
	char *storage_class; /* NULL: the bucket's default */
} tsarc__s3_put_opts;

int tsarc__s3_put_opts_load(tsarc__s3_put_opts *p, const tsarc_store_options *opts);
/* The headers for `p` (lower-case names, for signing and sending): up
 * to 3 written to `out`, the count returned. */
size_t tsarc__s3_put_opts_headers(const tsarc__s3_put_opts *p, tsarc__s3_kv out[3]);
void tsarc__s3_put_opts_dispose(tsarc__s3_put_opts *p);

/*
 * How long a request may take, so that no server can hold a command
 * forever, while a slow but working link still gets its work done.
 *
 * An attempt has `attempt_s` seconds, plus one second for every `min_rate`
 * bytes it has moved (received, or sent and taken by the server): one that
 * falls behind that schedule (a server that stalls, or trickles a few
 * bytes a second) is cut and retried. A request is over `deadline_s`
 * seconds after its first attempt started, plus the time its own bytes
 * (the body it sends and the length announced for the answer) take at
 * `min_rate`: no attempt starts after `deadline_s`, and a running one is
 * cut at the end. A transfer that keeps up with the floor is thus never
 * cut, whatever its size; one that does not ends at most one attempt after
 * `deadline_s`. Silence (below 1 byte/s for `stall_s`) and connecting
 * (`connect_s`) have their own, shorter limits.
 *
 * Each comes from a TSARC_S3_* variable (backends/stores/s3/README.md), so that
 * an operator on a slow link can relax it and a test can shrink it.
 */
typedef struct tsarc__s3_limits {
	unsigned max_retries; /* TSARC_S3_MAX_RETRIES */
	long connect_s;       /* TSARC_S3_CONNECT_TIMEOUT */
	long stall_s;         /* TSARC_S3_STALL_TIMEOUT */
	long attempt_s;       /* TSARC_S3_ATTEMPT_TIMEOUT */
	uint64_t min_rate;    /* TSARC_S3_MIN_THROUGHPUT, bytes per second */
	long deadline_s;      /* TSARC_S3_RETRY_DEADLINE */
	int trace;            /* TSARC_S3_TRACE=1: each retry on stderr */
	int sign_payload;     /* TSARC_S3_SIGN_PAYLOAD=1: sign object bodies over
			       * verified HTTPS too (client_impl.h) */
	long refresh_margin_s; /* TSARC_S3_REFRESH_MARGIN: renew temporary keys
				* this long before they expire */
} tsarc__s3_limits;

/* The built-in values, environment not consulted. */
void tsarc__s3_limits_default(tsarc__s3_limits *l);
/* The defaults, then TSARC_S3_*; TSARC_ECONFIG naming a variable whose
 * value is not a whole number in its range (a typo must not silently
 * leave a limit the operator meant to change). */
int tsarc__s3_limits_load(tsarc__s3_limits *l);
/* Seconds an attempt that has moved `moved` bytes may have run. */
double tsarc__s3_attempt_allowance(const tsarc__s3_limits *l, uint64_t moved);
/* Seconds after its first attempt started when a request moving `size`
 * bytes in one attempt is cut, wherever it is. */
double tsarc__s3_request_allowance(const tsarc__s3_limits *l, uint64_t size);

#endif
