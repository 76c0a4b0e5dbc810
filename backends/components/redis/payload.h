#ifndef TSARC_REDIS_PAYLOAD_H
#define TSARC_REDIS_PAYLOAD_H

/*
 * DUMP payloads rewritten for a server that does not take their RDB
 * version. A payload carries its writer's version, whatever the object's
 * encoding needs, and RESTORE refuses one newer than its server: Redis 8
 * writes 12, Valkey 8.1 and Redis 7.2 write 11, Valkey 9 writes 80, and a
 * Redis 7.0 (a managed one: ElastiCache, a cloud's Redis 7) takes 10 at
 * most, a Valkey 8 takes 11 and not Redis's 12. Most types are encoded as
 * they were in Redis 7.0 (RDB 10): only the version in the payload's
 * trailer, and its CRC, change. A set kept as a listpack (type 20, new in
 * 11) is written as Redis 7.0 itself would hold it: an intset (type 11)
 * where every member is an integer and there are at most 512 of them (its
 * default set-max-intset-entries), else a plain set (type 2), so that
 * the target's own DUMP of the key is what the check after the load
 * expects (digest.h). A stream of Redis 7.2's layout (type 21) is
 * written in Redis 7.0's (19), without the time each consumer was last
 * active, which Redis 7.0 does not keep. What a server of the older
 * version cannot hold is not rewritten: a module's type, a hash with
 * field expiries (Redis 7.4's and Valkey 9's types from 22) or any type
 * newer still.
 *
 * Payloads come from the repository or from a private redis-server that
 * loaded the backup's RDB: untrusted, read within their bounds, and a
 * listpack is checked whole before a set is re-encoded.
 */
#include "tsarc/buf.h"

#include <stddef.h>

/* The lowest version payloads are rewritten to: Redis 7.0's. Redis 6's (9)
 * hold hashes, sorted sets and lists as ziplists, which this does not
 * write. */
#define TSARC_REDIS_REWRITE_LOWEST 9

/* The lowest RDB version `payload` (a key's DUMP payload, or a FUNCTION
 * DUMP's) can be rewritten to: TSARC_REDIS_REWRITE_LOWEST for every type
 * Redis 7.0 has, a listpack set and a stream of type 21 (each checked
 * whole); its own version where it cannot be rewritten at all (or is
 * older than that). `why` (NULL: not asked) then says what it is ("a
 * module's type (RDB type 7)"), else "". */
int tsarc_redis_payload_floor(const void *payload, size_t len, const char **why);

/* `payload`, rewritten as a payload of RDB version `to` (at least its
 * floor), into `out` (emptied first). TSARC_EUNSUPPORTED naming the type
 * where `to` is below its floor, TSARC_ECORRUPT where it is not a whole
 * payload, its CRC-64 is wrong (it is not given a right one) or its
 * listpack or stream is damaged. */
int tsarc_redis_payload_rewrite(const void *payload, size_t len, int to, tsarc_buf *out);

#endif
