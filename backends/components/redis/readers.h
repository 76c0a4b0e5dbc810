#ifndef TSARC_REDIS_READERS_H
#define TSARC_REDIS_READERS_H

/*
 * Which Redis servers read which RDB versions. A server loads an RDB (and
 * RESTOREs a DUMP payload) only of its own version or older: Redis 5 and
 * 6 read 9 at most, Redis 7.0 10, Redis 7.2 and Valkey 7.2 to 8.x 11,
 * Redis 7.4 and 8 12; Valkey 9 reads up to 11 and its own 80 (Valkey's
 * versions begin past Redis's, "VALKEY080"), and 12 to 79, Redis's
 * newer ones, only where rdb-version-check is relaxed.
 *
 * Where tsarc's own client reaches a server it asks it (a RESTORE it
 * refuses, load.c); where only the server's pod does (the RDB swap of
 * 3scale's in-pod Redis), the plan has what INFO server says, read here:
 * an RDB the pod's server cannot load is then refused before any step of
 * the restore writes, instead of by its redis-check-rdb at the step.
 */
#include <stddef.h>

/* The servers that read RDB files and DUMP payloads of `version`, for an
 * error that says what to restore into or install. */
const char *tsarc_redis_version_readers(int version);

/* Whether the server whose INFO server answer is `info` (NUL-terminated;
 * any bytes) reads an RDB of `version`: 1 it does, 0 it does not, -1 not
 * known from what it says (no version, a server older than Redis 5 or
 * newer than this table, Valkey 9's relaxed range). `server` gets its
 * name and version ("Redis 6.0.16", "Valkey 8.0.1", or "" unknown) and
 * `reads` what it reads ("RDB version 9 at most"; "" unknown). */
int tsarc_redis_info_reads(const char *info, int version, char *server, size_t serversz,
	char *reads, size_t readssz);

/* Whether the INFO server answer `info` is a Valkey's (its own
 * valkey_version, or server_name:valkey): 1 or 0. A Valkey's tools are
 * named for it (valkey-server, valkey-check-rdb: Debian's valkey-server
 * has no redis-* names), and where a Redis is installed beside it, the
 * redis-* names are that Redis's, which may read older RDB versions. */
int tsarc_redis_info_valkey(const char *info);

#endif
