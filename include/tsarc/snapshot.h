#ifndef TSARC_SNAPSHOT_PUBLIC_H
#define TSARC_SNAPSHOT_PUBLIC_H

/*
 * Snapshots and the streams in them: listing, reading the details, and
 * dumping a stream's bytes. A snapshot is immutable once written; these
 * handles are read-only copies of one.
 */

#include <stddef.h>
#include <stdint.h>
#include "repository.h"

typedef struct tsarc_snapshot tsarc_snapshot;

/*
 * Every readable snapshot, oldest first, as an array of `*count_out`
 * handles freed together with tsarc_snapshot_array_free. A damaged
 * snapshot is left out and counted in `*damaged_out`; with damaged_out
 * NULL it is an error (TSARC_ECORRUPT naming it). Any other failure to
 * read one is always an error: the list would be incomplete.
 */
int tsarc_snapshot_list(tsarc_snapshot ***out, size_t *count_out, tsarc_repo *repo,
	size_t *damaged_out);
void tsarc_snapshot_array_free(tsarc_snapshot **snaps, size_t count);

/* One snapshot: "latest", a full id or a unique prefix of one. To restore
 * into a deployment, open it with tsarc_snapshot_open_backup instead. */
int tsarc_snapshot_open(tsarc_snapshot **out, tsarc_repo *repo, const char *spec);
/*
 * The snapshot `spec` names for a restore into a deployment, as `tsarc
 * restore` picks it. One repository may hold several deployments'
 * backups (each recorded under its own host), and "latest" by time alone
 * would name whichever ran last. Here "latest" is the newest deployment
 * backup (never an undo snapshot or a single-stream backup) of `host`;
 * with `host` NULL it is refused (TSARC_EINVAL, naming each host) where
 * the backups of several hosts are held. With `host` set, an id of
 * another host's snapshot is refused (TSARC_EINVAL). It does not know the
 * target's cluster: tsarc_deployment_open_backup (deployment.h) does.
 */
int tsarc_snapshot_open_backup(tsarc_snapshot **out, tsarc_repo *repo, const char *spec,
	const char *host);
void tsarc_snapshot_free(tsarc_snapshot *snap);

const char *tsarc_snapshot_id(const tsarc_snapshot *snap);
/* RFC 3339, UTC ("2026-11-23T10:00:00Z"). */
const char *tsarc_snapshot_time(const tsarc_snapshot *snap);
const char *tsarc_snapshot_host(const tsarc_snapshot *snap);
size_t tsarc_snapshot_tag_count(const tsarc_snapshot *snap);
/* NULL past the end, as for the stream accessors below. */
const char *tsarc_snapshot_tag(const tsarc_snapshot *snap, size_t i);
size_t tsarc_snapshot_stream_count(const tsarc_snapshot *snap);
const char *tsarc_snapshot_stream_name(const tsarc_snapshot *snap, size_t i);
/* What the stream is ("stdin", "mysqldump", "tar", ...). */
const char *tsarc_snapshot_stream_kind(const tsarc_snapshot *snap, size_t i);
/* Its length in bytes (0 past the end). */
uint64_t tsarc_snapshot_stream_size(const tsarc_snapshot *snap, size_t i);

/* Receives a dumped stream's bytes in order; a non-zero return stops the
 * dump and is returned. */
typedef int (*tsarc_sink_fn)(void *payload, const uint8_t *data, size_t len);

/*
 * Writes stream `stream` of snapshot `snapshot` ("latest", an id or a
 * prefix) to `sink`. Every chunk is verified before any of its bytes
 * reach the sink, and the whole stream's SHA-256 at the end: a damaged
 * repository is TSARC_ECORRUPT, after the sink may have received the
 * verified part. Holds a shared lock meanwhile, so that a prune cannot
 * remove what is being read. `inflight`: chunk requests at once (0: the
 * store's preference).
 */
int tsarc_dump(tsarc_repo *repo, const char *snapshot, const char *stream,
	tsarc_sink_fn sink, void *payload, unsigned inflight);
/* The same into a file descriptor (all of it; EINTR is retried). */
int tsarc_dump_fd(tsarc_repo *repo, const char *snapshot, const char *stream, int fd,
	unsigned inflight);

#endif
