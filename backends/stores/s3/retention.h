#ifndef TSARC_S3_RETENTION_H
#define TSARC_S3_RETENTION_H

/*
 * S3 Object Lock requests of the s3 store (retention.c), on the client
 * (client.h). A bucket with Object Lock keeps versions: a plain DELETE
 * only adds a delete marker and an overwrite only adds a version, so
 * deleting for good means deleting versions by id, and the server refuses
 * that (AccessDenied) for a version whose retain-until date has not
 * passed. See docs/object-lock.md.
 */

#include "client.h"
#include "tsarc/sys/store.h"

/* The two headers of an object PUT under retention: mode and date
 * (`until_buf` holds the date's text, at least 32 bytes). */
void tsarc__s3_retention_headers(tsarc__s3_kv out[2], tsarc_retain_mode mode,
	int64_t until, char *until_buf, size_t until_bufsz);

/* GetObjectLockConfiguration: *enabled is 1 when the bucket has it. */
int tsarc__s3_lock_enabled(tsarc__s3_client *c, int *enabled);

/*
 * PutObjectRetention on the current version of `key`: protected until
 * `until` at least. A date it already has that is later stays (the
 * server refuses to shorten one; that refusal is success here).
 * TSARC_ENOTFOUND when there is no current version (missing, or hidden
 * behind a delete marker); TSARC_ECORRUPT when it carries an earlier
 * date of the other mode, which S3 will not move (tsarc writes every
 * version in the repository's mode: another hand wrote it).
 */
int tsarc__s3_extend_retention(tsarc__s3_client *c, const char *key,
	tsarc_retain_mode mode, int64_t until);

/* Up to this many keys, one version listing per key; past it, one listing
 * of the whole type's folder costs fewer requests. */
#define TSARC__S3_PER_KEY_LISTINGS 8

/* Whether a listed key is one the caller asked for. */
typedef int (*tsarc__s3_key_filter)(const char *key, void *ud);

/*
 * PutObjectRetention (?versionId) on every noncurrent version under
 * `prefix`, never a delete marker, of the keys `want` picks: protected
 * until `until` at least, as tsarc__s3_extend_retention does the current
 * one (a later date stays). The genuine version of an object someone
 * overwrote, or hid behind a delete marker, is such a version. One
 * version listing of `prefix` (paged), and the versions extended a page's
 * worth at a time, `threads` at once, so memory does not grow with the
 * folder. *extended counts the versions whose date moved. A version
 * of the other mode's earlier date (see tsarc__s3_extend_retention) is
 * passed over: the rest are extended, then TSARC_ECORRUPT names the
 * first.
 */
int tsarc__s3_extend_versions(tsarc__s3_client *c, const char *prefix,
	tsarc__s3_key_filter want, void *ud, tsarc_retain_mode mode, int64_t until,
	unsigned threads, size_t *extended);

/* The retain-until date of the current version of `key` while it is in
 * force (by the store's clock: its answer's Date), 0 when it has none or
 * it has passed;
 * TSARC_ENOTFOUND when there is no current version. One HEAD. */
int tsarc__s3_retained_until(tsarc__s3_client *c, const char *key, int64_t *until);

/*
 * For each of `keys` (full keys, all under `prefix`), deletes every
 * version the server lets go; when a version must stay, hides the key
 * behind a delete marker (adding one if its current version is not one)
 * and reports its latest retain-until date; else deletes its delete
 * markers too. `kept[i]` gets that date, or 0 when nothing of keys[i] is
 * left. A refused delete of a version no date holds (by the store's
 * clock) is the credentials' refusal: TSARC_EACCESS. `threads` requests
 * at most run at once.
 */
int tsarc__s3_purge(tsarc__s3_client *c, const char *prefix, const char *const *keys,
	size_t count, unsigned threads, int64_t *kept);
/* The same listing, with a HEAD of each version for its date, deleting
 * nothing: `kept[i]` gets the latest retain-until date still in force
 * (the store's clock) among the versions of keys[i], the date a purge
 * would report, or 0 when the purge would delete every version. */
int tsarc__s3_purge_preview(tsarc__s3_client *c, const char *prefix,
	const char *const *keys, size_t count, unsigned threads, int64_t *kept);

/* Every key under `prefix` whose current version is a delete marker,
 * with the marker's time (the entry's size is 0). */
int tsarc__s3_list_hidden(tsarc__s3_client *c, const char *prefix, tsarc__s3_list_cb cb,
	void *ud);

/*
 * Point-in-time reads (tsarc_store_options.as_of): the version of `key`
 * that was current at `as_of` (the newest written then or before), its id
 * into `vid`; *found is 0 when there was none then or it was a delete
 * marker.
 */
int tsarc__s3_version_at(tsarc__s3_client *c, const char *key, int64_t as_of, char *vid,
	size_t vidsz, int *found);
/* Every key under `prefix` as it was at `as_of`: the size and time of the
 * version current then; keys hidden or not yet written then are left out. */
int tsarc__s3_list_at(tsarc__s3_client *c, const char *prefix, int64_t as_of,
	tsarc__s3_list_cb cb, void *ud);

#endif
