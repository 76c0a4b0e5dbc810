#ifndef TSARC_S3_CREDENTIALS_H
#define TSARC_S3_CREDENTIALS_H

/*
 * The credential chain (config.h says the order) and the keys it found,
 * kept fresh: temporary keys (STS, container, instance role) are fetched
 * again `margin_s` seconds before they expire, so that a backup that runs
 * for hours never signs with expired keys. Upload workers sign
 * concurrently: every call is thread-safe, and each signer works on its
 * own copy, which a refresh cannot pull from under it.
 */

#include "config.h"

#include <stdint.h>

typedef struct tsarc__s3_credsrc tsarc__s3_credsrc;

/* Runs the chain once. TSARC_ECONFIG when no step has credentials (the
 * message lists what was looked at); a step's own error when one is
 * configured but fails (STS refusing the role: TSARC_EACCESS). */
int tsarc__s3_credsrc_open(tsarc__s3_credsrc **out, const char *cacert,
	int insecure, long margin_s);
/* Static keys given by the caller (a component's Secret), not the chain:
 * access key, secret, token (may be NULL), region (NULL: us-east-1) and
 * source (where they came from, for messages) are copied. */
int tsarc__s3_credsrc_open_keys(tsarc__s3_credsrc **out, const tsarc__s3_creds *keys);
/*
 * A copy of the current keys (region included), fetched anew first when
 * they expire within the margin. A failed refresh keeps the old keys
 * while they are valid (and is tried again at most every 10 s); once they
 * have expired it is an error. The caller disposes of the copy.
 */
int tsarc__s3_credsrc_get(tsarc__s3_credsrc *s, tsarc__s3_creds *out);
/*
 * The server said the keys with id `key_id` have expired: when they are
 * still the current ones and can be renewed, they are marked expired (the
 * next get renews them, or fails) and 1 is returned; 0 for static keys or
 * when another thread has renewed them already (no renewal storm when
 * every worker hears it at once).
 */
int tsarc__s3_credsrc_expired(tsarc__s3_credsrc *s, const char *key_id);
/* The current access key id and where it came from, for messages. */
void tsarc__s3_credsrc_ident(tsarc__s3_credsrc *s, char *key_id, size_t key_id_sz,
	char *source, size_t source_sz);
const char *tsarc__s3_credsrc_region(const tsarc__s3_credsrc *s);
/* How many times keys were fetched (1 for the chain at open), for tests. */
uint64_t tsarc__s3_credsrc_fetches(tsarc__s3_credsrc *s);
void tsarc__s3_credsrc_free(tsarc__s3_credsrc *s);

#endif
