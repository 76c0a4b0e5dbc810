#ifndef TSARC_REDIS_RDB_H
#define TSARC_REDIS_RDB_H

/*
 * The RDB side of Redis: the snapshot a replica gets (SYNC), read by our
 * own client so that TLS, ACL users and Sentinel work as for the logical
 * path; and a private redis-server that loads an RDB where the target
 * cannot restart (a managed Redis), to be copied across logically.
 */
#include "logical.h"
#include "proc.h"
#include "privdir.h"

#include <stdatomic.h>

/* Streams the server's RDB (SYNC; REPLCONF rdb-only first where the
 * server knows it) into `out`. When SYNC is refused (NOPERM, unknown or
 * renamed command) nothing is written, *refused is set and the result is
 * TSARC_EUNSUPPORTED; the connection stays usable. A replica whose link
 * to its master is not up is refused first, nothing written
 * (tsarc_redis_require_linked). */
int tsarc_redis_sync_rdb(tsarc_redis *r, tsarc_redis_out_fn out, void *ctx,
	const atomic_int *stop, int *refused, unsigned long long *bytes);

/* The RDB version an RDB file's first `len` bytes say ("REDIS0011": 11,
 * Valkey 9's "VALKEY080": 80); -1 when they are not an RDB's header. */
int tsarc_redis_rdb_version(const void *head, size_t len);

/* The RDB of `out` (redis-cli --rdb, in a pod or on this host) goes into
 * the stream through a check of its head: its version is recorded
 * ("redis_payload_version", as the SYNC backup records it), which the
 * plan of a swap compares with what the target's server reads before any
 * step writes; a stream that does not begin as an RDB does fails the
 * backup, before it is stored. */
struct tsarc_production;
int tsarc_redis_rdb_head_intake(struct tsarc_production *out);

typedef struct tsarc_redis_private {
	/* Private 0700 folder: dump.rdb, redis.conf, socket, log; removed on
	 * any exit, and by the next tsarc after a SIGKILL (privdir.h). */
	tsarc_privdir pd;
	char sock[PATH_MAX + 16];
	tsarc_proc proc;
	int started;
} tsarc_redis_private;

/* Makes the private folder under $TMPDIR and opens dump.rdb in it for
 * writing (0600): the caller writes the RDB to *fd, closes it, then
 * calls tsarc_redis_private_start. The RDB is data in plain text: it is
 * unlinked as soon as the server has loaded it. */
int tsarc_redis_private_prepare(tsarc_redis_private *p, int *fd);
/* Starts `server` on the folder's unix socket only (no TCP port, no
 * password: the folder is ours alone), waits until it has loaded the RDB,
 * and connects. NULL: redis-server, or where it cannot read the RDB's
 * version (Debian 12's Redis 7.0 reads 10, a Valkey 8's or a Redis 7.2's
 * RDB is 11, a Valkey 9's 80 of another magic) valkey-server, where this
 * host has it; an error naming the version and what to install where
 * neither reads it. */
int tsarc_redis_private_start(tsarc_redis_private *p, const char *server, tsarc_redis **conn);
/* Stops the server and removes the folder; safe to call at any stage. */
void tsarc_redis_private_stop(tsarc_redis_private *p);
/* The RDB version of the folder's dump.rdb (its header), -1 unknown. */
int tsarc_redis_private_rdb_version(const tsarc_redis_private *p);
/* The private server for an RDB of `version` whose DUMP payloads the
 * target `dst` takes: the copy sends the private server's payloads, of its
 * own RDB version, whatever the backup's (Debian 13's redis-server 8
 * writes 12 of a Redis 7.0's RDB, which a Valkey 8 refuses and its
 * valkey-server 8.1's 11 it takes). Each server of this host in turn,
 * started on an empty RDB of that version (tsarc_redis_private_start's
 * order), is asked the version it DUMPs, and the target whether it takes
 * it, changing nothing. *server: the first that serves (static), *writes
 * its version; where none writes what the target takes, the first that
 * reads the RDB, where its payloads can be rewritten for the target
 * (tsarc_redis_payload_route: a Redis 7.0 takes 10, which no server of
 * Debian 13 writes; the copy rewrites them, and finds whether every one
 * can be before the target is touched). `dst` NULL (the plan does not reach the
 * target), or not asked (tsarc_redis_payload_taken: the probe's key not
 * this user's): the first that reads the RDB. An error naming each server's
 * version and what the target takes where none serves, or what to install
 * where none reads it; asked by the plan and by the step before the
 * target is touched. */
int tsarc_redis_private_choose(int version, tsarc_redis *dst, const char **server, int *writes);

#endif
