#ifndef TSARC_S3_XML_H
#define TSARC_S3_XML_H

/*
 * The few S3 response documents tsarc reads, parsed with expat. Input is
 * untrusted: every field is bounded, and anything unexpected is ignored
 * rather than trusted; but a document whose element is not the one asked
 * for (S3 may answer 200 with an <Error>) is an error, never read as an
 * empty one.
 */

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* <Error><Code>..</Code><Message>..</Message>... */
typedef struct tsarc__s3_error_doc {
	char code[64];
	char message[256];
	char region[64];   /* <Region>, sent with AuthorizationHeaderMalformed */
	char endpoint[256]; /* <Endpoint>, sent with PermanentRedirect */
} tsarc__s3_error_doc;

/* Fills what it finds; an unparsable body leaves the fields empty. */
void tsarc__s3_parse_error(tsarc__s3_error_doc *out, const char *xml,
	size_t len);

typedef struct tsarc__s3_list_entry {
	char *key;
	uint64_t size;
	int64_t mtime; /* LastModified, seconds since the epoch (server clock) */
	char etag[72]; /* without its quotes; "" when none (version listings) */
} tsarc__s3_list_entry;

/* One page of ListObjectsV2. */
typedef struct tsarc__s3_list_page {
	tsarc__s3_list_entry *entries;
	size_t count;
	int truncated;
	char *next_token; /* NULL when none */
} tsarc__s3_list_page;

int tsarc__s3_parse_list(tsarc__s3_list_page *out, const char *xml,
	size_t len);
void tsarc__s3_list_page_dispose(tsarc__s3_list_page *p);

/* The first <Error> of a DeleteObjects result not about a missing key. */
typedef struct tsarc__s3_delete_result {
	size_t errors;  /* errors other than NoSuchKey */
	char key[1024];
	char code[64];
	char message[256];
} tsarc__s3_delete_result;

int tsarc__s3_parse_delete(tsarc__s3_delete_result *out, const char *xml,
	size_t len);

/* ---- Object Lock (versioned buckets) ---- */

/* One <Version> or <DeleteMarker> of ListObjectVersions. */
typedef struct tsarc__s3_version {
	char *key;
	char *version_id;
	int latest;     /* IsLatest */
	int marker;     /* a delete marker */
	uint64_t size;  /* 0 for a marker */
	int64_t mtime;  /* LastModified (server clock) */
} tsarc__s3_version;

typedef struct tsarc__s3_versions_page {
	tsarc__s3_version *entries;
	size_t count;
	int truncated;
	char *next_key;     /* NextKeyMarker */
	char *next_version; /* NextVersionIdMarker */
} tsarc__s3_versions_page;

/* A truncated page without a NextKeyMarker is TSARC_EIO; a failed parse
 * leaves nothing behind. */
int tsarc__s3_parse_versions(tsarc__s3_versions_page *out, const char *xml, size_t len);
void tsarc__s3_versions_page_dispose(tsarc__s3_versions_page *p);

/* Every <Error> of a DeleteObjects answer, with its version id. */
typedef struct tsarc__s3_delete_error {
	char *key;
	char *version_id; /* NULL when the answer names none */
	char code[64];
	char message[256];
} tsarc__s3_delete_error;

typedef struct tsarc__s3_delete_errors {
	tsarc__s3_delete_error *v;
	size_t count;
} tsarc__s3_delete_errors;

int tsarc__s3_parse_delete_errors(tsarc__s3_delete_errors *out, const char *xml,
	size_t len);
void tsarc__s3_delete_errors_dispose(tsarc__s3_delete_errors *e);

/* GetObjectLockConfiguration: *enabled = <ObjectLockEnabled> is "Enabled". */
int tsarc__s3_parse_lock_config(int *enabled, const char *xml, size_t len);

/*
 * The <Credentials> of an STS AssumeRole or AssumeRoleWithWebIdentity
 * answer: all four of AccessKeyId, SecretAccessKey, SessionToken and
 * Expiration, else TSARC_EIO (and nothing left behind). Errors come as
 * <ErrorResponse><Error>: tsarc__s3_parse_error reads them.
 */
int tsarc__s3_parse_sts_creds(tsarc__s3_creds *out, const char *xml, size_t len);

#endif
