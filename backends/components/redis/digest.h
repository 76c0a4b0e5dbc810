#ifndef TSARC_REDIS_DIGEST_H
#define TSARC_REDIS_DIGEST_H

/*
 * What a restore is checked against without DEBUG DIGEST (refused by
 * managed services): per database, the number of keys and the sum
 * (mod 2^256, so the order SCAN returns keys in does not matter) of
 * SHA-256(db, key, type, expiry second, value) over its keys. The value
 * is what the key's DUMP payload holds, by its type (value.h): the same
 * whatever the version of the server that wrote the payload and however
 * it encoded it, so that a restore into another version or another
 * server's configuration (which re-encodes on load) is compared too.
 * Expiries are absolute (PEXPIRETIME), so a key restored with ABSTTL
 * hashes the same on both sides. A second sum, "loose", hashes each key
 * with whether it expires instead of when: what a server without
 * PEXPIRETIME (Redis 6), or whose user may not run it, is compared by,
 * its values all the same (a TTL read with PTTL moves while it is read).
 */
#include "client.h"

#include <stdint.h>

typedef struct tsarc_redis_digests {
	int ndb;
	unsigned long long *keys; /* per database */
	unsigned char *sums;      /* 32 bytes per database */
	unsigned char *loose;     /* the same, of each key's loose hash */
	int exact;                /* expiries from PEXPIRETIME (comparable) */
	int expiry_refused;       /* not exact: PEXPIRETIME refused to this user */
} tsarc_redis_digests;

/* Makes room for database `db`. */
int tsarc_redis_digests_db(tsarc_redis_digests *d, int db);
/* A key's two hashes: `exact` with its expiry's second, `loose` with
 * whether it expires. */
typedef struct tsarc_redis_key_sums {
	unsigned char exact[32], loose[32];
} tsarc_redis_key_sums;
int tsarc_redis_digest_add(tsarc_redis_digests *d, int db, const tsarc_redis_key_sums *k);
/* Takes a key out again (d already has `db`). */
void tsarc_redis_digest_sub(tsarc_redis_digests *d, int db, const tsarc_redis_key_sums *k);
int tsarc_redis_digests_copy(tsarc_redis_digests *to, const tsarc_redis_digests *from);
void tsarc_redis_digests_free(tsarc_redis_digests *d);

/* The RDB version a DUMP payload was written with; -1 when too short. */
int tsarc_redis_payload_version(const void *payload, size_t plen);
/* Into `out`: a DUMP payload of RDB version `version` that every Redis
 * taking that version reads (the string "1"), its CRC-64 right: what
 * tsarc_redis_load_allowed asks the target to RESTORE, expired. */
#define TSARC_REDIS_PROBE_PAYLOAD 13
void tsarc_redis_payload_probe(unsigned char out[TSARC_REDIS_PROBE_PAYLOAD], int version);
/* TYPE's name for the RDB object type that starts a DUMP payload; NULL
 * for a module type or one this code does not know. */
const char *tsarc_redis_payload_type(unsigned char rdb_type);
/* expiry_ms: absolute, -1 for none. A payload of a type value.h does not
 * read (a module's, one newer than Redis 7.2's) or a damaged one is
 * hashed as its bytes (without the version and CRC). */
void tsarc_redis_key_hash(unsigned char h[32], int db, const void *key, size_t klen,
	const char *type, int64_t expiry_ms, const void *payload, size_t plen);
/* Both hashes of the key (its value read and hashed once). */
void tsarc_redis_key_sums_of(tsarc_redis_key_sums *out, int db, const void *key, size_t klen,
	const char *type, int64_t expiry_ms, const void *payload, size_t plen);

/* The digest of every database of a live server, leaving out keys that
 * expire before `cutoff_ms`; pipelined SCAN, TYPE, PEXPIRETIME, DUMP. */
int tsarc_redis_digest(tsarc_redis *r, int64_t cutoff_ms, tsarc_redis_digests *out);
/* Whether the user of `r` may run what tsarc_redis_digest sends (SCAN,
 * TYPE, PEXPIRETIME or else PTTL, DUMP), each asked of a key that does
 * not exist: asked before a load's target is emptied (logical.h
 * tsarc_redis_load_allowed), since the check after it reads the target
 * back with them. TSARC_EUNSAFE naming the command and what to grant. */
int tsarc_redis_digest_allowed(tsarc_redis *r);

#endif
