#ifndef TSARC_S3SYS_H
#define TSARC_S3SYS_H

/*
 * The s3files kind (system-storage in an S3 bucket, 3scale's "S3
 * filestorage"): what its files share. where.c turns a component's
 * fields and its Secret (aws-auth: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_BUCKET, AWS_REGION, AWS_HOSTNAME, AWS_PROTOCOL, AWS_PATH_STYLE; in
 * STS mode AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE instead of the
 * keys) into an endpoint, bucket and prefix and opens an S3 client there;
 * dump.c writes the bucket as one stream (stream.h); restore.c puts a
 * stream back so that the bucket ends up equal to it.
 */
#include "kind.h"
#include "snapshot.h"
#include "../../stores/s3/client.h"

typedef struct tsarc_s3sys_where {
	char *url;      /* the client's: s3:PROTO://HOST/BUCKET[/PREFIX] or s3://BUCKET[/PREFIX] */
	char *endpoint; /* "http://host:port", or "AWS" */
	char *bucket;
	char *prefix;   /* "" or "a/b/" */
	char *region;   /* NULL: the client's default */
	tsarc__s3_creds keys; /* from the Secret when has_keys */
	int has_keys;
	char creds_from[300]; /* where the keys come from, for people (never a key) */
} tsarc_s3sys_where;

/* The component's endpoint, bucket, prefix and keys from its fields over
 * `secret_doc` (the Secret named by its "secret", may be NULL). */
int tsarc_s3sys_where_resolve(const cJSON *spec, const cJSON *secret_doc, const char *comp,
	tsarc_s3sys_where *w);
void tsarc_s3sys_where_free(tsarc_s3sys_where *w);
/* The configuration's "endpoint" of component `comp`, when it loads (the
 * Secret's AWS_HOSTNAME is read at run time): TSARC_ECONFIG unless it is
 * http(s)://HOST[:PORT], trailing slashes aside. */
int tsarc_s3sys_endpoint_check(const char *endpoint, const char *comp);
/* "s3://BUCKET/PREFIX at ENDPOINT": no key, no secret. */
void tsarc_s3sys_where_text(const tsarc_s3sys_where *w, char *out, size_t size);
/* ENDPOINT BUCKET/PREFIX: the same place has the same identity. */
void tsarc_s3sys_where_identity(const tsarc_s3sys_where *w, char *out, size_t size);
int tsarc_s3sys_open(const tsarc_s3sys_where *w, unsigned inflight, tsarc__s3_client **out);

/* repo.c: the repository `repo` (may be NULL) in w's bucket under w's
 * prefix: 1 and *rel (to free: "" or "tsarc/", the repository's prefix
 * below w's), 0 when it is elsewhere. Endpoints spelt alike (letter case,
 * a default port, a trailing slash aside) are one server; otherwise the
 * object where the repository's config would be is read with client `c`
 * (NULL: one is opened for it, with w's keys) and compared with the
 * repository's own config, so another name of the same server (an alias,
 * its address) is caught too. A failure to tell is an error. */
struct tsarc_repo;
/* Whether two endpoints ("http(s)://host[:port]" or "AWS") are spelt alike:
 * letter case, a default port (:80 with http, :443 with https) and a
 * trailing slash aside. */
int tsarc_s3sys_endpoint_same(const char *a, const char *b);
int tsarc_s3sys_repo_under(const tsarc_s3sys_where *w, tsarc__s3_client *c,
	struct tsarc_repo *repo, char **rel);
/* 1 when `key` (relative to w's prefix) is one of the repository's own
 * objects under `rel`: its config, or an object of its keys/, data/,
 * snapshots/, locks/, index/ with a name of the form the repository gives
 * (tsarc_repo_object_key). What a backup leaves out, never an object of
 * 3scale's beside them or in folders of the same names. */
int tsarc_s3sys_repo_object(const char *rel, const char *key);

/* repo.c: a tsarc repository in w's bucket under w's prefix, other than
 * at one of the `nkept` prefixes `kept` (relative: where the backup left
 * its repository out, which a restore keeps): 1 and *found (to free: its
 * prefix below w's, "" or "a/b/") when there is one, 0 when not, or an
 * error (the listing, or a key object that cannot be read). Known by the
 * repository's rules, not its names: a "config" object and, beside it, a
 * keys/HEX object whose bytes hash to its name and read as a key file
 * (tsarc_repo_verify_key_file; no password). A whole listing of the
 * prefix; client `c` (NULL: one is opened with w's keys). `each` (may be
 * NULL) is handed every object of that same listing, so that a caller
 * that needs the prefix's objects too (a restore's extras) does not list
 * it again: for a bucket of a million objects a listing is a thousand
 * requests. */
int tsarc_s3sys_repo_find(const tsarc_s3sys_where *w, tsarc__s3_client *c,
	const char *const *kept, size_t nkept, tsarc__s3_list_cb each, void *each_ud,
	char **found);

/* dump.c: the backup's production (an in-process writer). */
int tsarc_s3sys_dump(tsarc_component *c, tsarc_production *out);

/* restore.c */
int tsarc_s3sys_resolve(tsarc_restore_ctx *r, tsarc_step *s, cJSON *ep);
cJSON *tsarc_s3sys_recorded_source(const tsarc_step *s);
void tsarc_s3sys_describe(tsarc_restore_ctx *r, const tsarc_step *s, const char *where,
	cJSON *plan);
int tsarc_s3sys_restore(tsarc_restore_ctx *r, tsarc_step *s);
/* The plan: refuses a stream whose "excluded" (what the backup left out)
 * is malformed, before the restore's first write. */
int tsarc_s3sys_admit(tsarc_restore_ctx *r, tsarc_step *s);

/* convert.c: a tree's tar (kind files) into this kind's stream, for a
 * restore of a volume's system-storage into a bucket. */
extern const tsarc_stream_conversion tsarc_s3sys_from_tree;
/* And a bucket's stream into a tree's tar (kind files), for a restore of
 * a bucket's system-storage onto a volume. */
extern const tsarc_stream_conversion tsarc_s3sys_to_tree;
/* The Content-Type a file of this name is given there (its extension's),
 * or NULL. */
const char *tsarc_s3sys_type_by_name(const char *name);

/* The largest object tsarc copies: each is held in memory once. */
#define TSARC_S3SYS_OBJECT_MAX (1024ull * 1024 * 1024)

#endif
