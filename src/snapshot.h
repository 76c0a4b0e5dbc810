#ifndef TSARC_SNAPSHOT_H
#define TSARC_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "chunker.h"
#include "crypto.h"
#include "tsarc/buf.h"

struct tsarc_repo;
struct tsarc_stream;

typedef struct tsarc_chunk_ref {
	uint8_t id[TSARC_ID_LEN];
	uint32_t size;   /* plaintext bytes */
	uint32_t stored; /* bytes of the stored object */
} tsarc_chunk_ref;

/*
 * A stream read in another format than the one it was backed up in: a
 * restore that puts a component's stream into a component of another kind
 * (system-storage backed up from a volume as a tar, restored into the S3
 * bucket of a target that keeps its files there). `run` reads stream `st`
 * on in_fd to its end and writes it converted to out_fd; 0, or the error
 * (tsarc_error_set, on the thread that runs it) naming what it cannot
 * convert (TSARC_ECANCELED when out_fd broke: its reader gave up). Whoever
 * reads a stream as a tar through a pipe
 * (tsarc_stream_read_verified) reads it through the conversion, so the
 * converted bytes meet every check of the target kind's own format.
 */
typedef struct tsarc_stream_conversion {
	const char *from, *to; /* the kinds */
	const char *how;       /* for people: what becomes what */
	int (*run)(const struct tsarc_stream *st, int in_fd, int out_fd);
} tsarc_stream_conversion;

/* One backed-up byte stream: a dump, a tar of a tree, stdin. */
typedef struct tsarc_stream {
	char *name;
	char *kind;
	uint64_t size;
	uint8_t sha256[32];
	char start[40], end[40]; /* RFC 3339, UTC */
	/* Its chunks in order; NULL (and nchunks 0) when the manifest was
	 * loaded without them (TSARC_SNAPSHOT_HEADERS). */
	tsarc_chunk_ref *chunks;
	size_t nchunks;
	/* Set by a load, with or without the chunks: how many the stream has
	 * and the bytes their stored objects take. */
	uint64_t chunk_count, stored_size;
	cJSON *meta; /* kind-specific details (source, tool version, ...); may be NULL */
	/* Never set by a load: only on a restore step's own copy of a
	 * stream that it converts (plan.c). */
	const tsarc_stream_conversion *convert;
} tsarc_stream;

typedef struct tsarc_snapshot {
	char id[TSARC_ID_HEX_LEN + 1];
	char time[40]; /* RFC 3339, UTC */
	int64_t time_unix;
	char *host;
	char **tags;
	size_t ntags;
	char *tool_version;
	tsarc_stream *streams;
	size_t nstreams;
	cJSON *meta; /* about the whole snapshot (namespace, profile, ...); may be NULL */
} tsarc_snapshot;

/* Largest manifest accepted from the store (a hostile one cannot exhaust memory). */
#define TSARC_SNAPSHOT_MAX (512u * 1024u * 1024u)

void tsarc_snapshot_free(tsarc_snapshot *snap);
/*
 * A manifest is stored in one of two encodings (both are read):
 * - JSON: each stream's chunks a list of [hex id, size, stored] (format-1
 *   repositories, and format 2 before the records). cJSON holds some 400
 *   bytes per chunk while parsing it, and a chunk is 64 KiB on format 2: a
 *   50 GiB dump would take 320 MB to read back, every snapshot listing too.
 * - records (format 2): the JSON without the lists ("version" 2, each
 *   stream's "chunk_count"), a NUL byte, then the chunks of every stream
 *   in order as 40-byte records (id, size and stored size little-endian):
 *   40 bytes per chunk in the object and again in memory, and a listing
 *   need not keep them at all.
 * The records are as untrusted as the JSON: their count must match the
 * streams' exactly and each size is checked as the list's are.
 */
#define TSARC_SNAPSHOT_RECORD_LEN (TSARC_ID_LEN + 8)
/* Decode the header only: streams get chunk_count and stored_size (still
 * checked against the chunks) but no chunk array. */
#define TSARC_SNAPSHOT_HEADERS 1u

/* JSON text of the manifest; with include_chunks 0, the chunk lists are
 * left out (for `show`). The caller frees the string. */
int tsarc_snapshot_to_json(const tsarc_snapshot *snap, int include_chunks,
	char **out);
cJSON *tsarc_snapshot_to_cjson(const tsarc_snapshot *snap, int include_chunks);
/* The stored form of a manifest (unsealed), in either encoding, into out
 * (cleared first). */
int tsarc_snapshot_encode(const tsarc_snapshot *snap, int records, tsarc_buf *out);
/* Parses and validates a manifest in either encoding; any deviation is
 * TSARC_ECORRUPT. flags: TSARC_SNAPSHOT_HEADERS or 0. */
int tsarc_snapshot_decode(tsarc_snapshot **out, const uint8_t *data, size_t len,
	unsigned flags);
/* tsarc_snapshot_decode of JSON text, with the chunks. */
int tsarc_snapshot_from_json(tsarc_snapshot **out, const char *text, size_t len);

/* Seals and stores a manifest (records on a format-2 repository, JSON on
 * format 1); fills snap->id. */
int tsarc_snapshot_save(struct tsarc_repo *repo, tsarc_snapshot *snap);
int tsarc_snapshot_load(struct tsarc_repo *repo, const char *id,
	tsarc_snapshot **out);
/* The same without the chunk arrays (TSARC_SNAPSHOT_HEADERS): for what
 * only lists, counts or picks snapshots. */
int tsarc_snapshot_load_headers(struct tsarc_repo *repo, const char *id,
	tsarc_snapshot **out);

/* Whether an object name in the snapshots' folder is a snapshot's id (the
 * lower-case hex of its hash): other names there (forget's marks,
 * forgotten.h) are not snapshots. */
int tsarc_snapshot_name_is_id(const char *name);
/* All snapshot ids in the repository. */
int tsarc_snapshot_list_ids(struct tsarc_repo *repo, char ***ids_out,
	size_t *count_out);
void tsarc_snapshot_ids_free(char **ids, size_t count);
/* Loads every snapshot, sorted by time (oldest first). A damaged snapshot
 * (TSARC_ECORRUPT) is reported through `on_error` and left out; with
 * on_error NULL it is an error. Any other failure to read one (network,
 * access, I/O) is always an error: the list would be incomplete. One
 * removed since the listing is left out silently. */
int tsarc_snapshot_load_all(struct tsarc_repo *repo, tsarc_snapshot ***out,
	size_t *count_out,
	void (*on_error)(const char *id, int code, const char *msg, void *payload),
	void *payload);
/* The order of tsarc_snapshot_load_all (oldest first): time, then its
 * text (the fraction), then the id. For lists of snapshots kept in other
 * forms (check's), so that they agree. */
int tsarc_snapshot_time_cmp(int64_t x_unix, const char *x_time, const char *x_id,
	int64_t y_unix, const char *y_time, const char *y_id);
/* tsarc_snapshot_load_all with TSARC_SNAPSHOT_HEADERS: what listing,
 * forget and "latest" need, in memory for the headers only. */
int tsarc_snapshot_load_all_headers(struct tsarc_repo *repo, tsarc_snapshot ***out,
	size_t *count_out,
	void (*on_error)(const char *id, int code, const char *msg, void *payload),
	void *payload);
void tsarc_snapshot_array_free(tsarc_snapshot **snaps, size_t count);
/* The one of `ids` that `spec` names (the whole id or a unique prefix):
 * TSARC_EINVAL when spec is no id or matches several of them (`what`:
 * "snapshots", for the message), TSARC_ENOTFOUND when none. */
int tsarc_snapshot_match(char *const *ids, size_t n, const char *spec, const char *what,
	char id_out[TSARC_ID_HEX_LEN + 1]);
/*
 * An undo snapshot: what a restore replaced, backed up from its target
 * just before it (src/deploy/undo.c), tagged TSARC_UNDO_TAG, its
 * metadata's TSARC_UNDO_META naming the snapshot that was restored. It
 * holds only the components that restore replaced, so it is no backup of
 * the deployment: "latest" passes over it, and forget never puts it in
 * the same group as backups (its policy would count it as one, and keep
 * it in place of a backup of the same day).
 */
#define TSARC_UNDO_TAG "undo"
#define TSARC_UNDO_META "undo_of"
int tsarc_snapshot_is_undo(const tsarc_snapshot *snap);

/* Resolves "latest" (the newest snapshot that can be read and is no undo
 * snapshot; damaged ones are skipped with a warning naming each on
 * stderr), a full id or a unique prefix of one. */
int tsarc_snapshot_resolve(struct tsarc_repo *repo, const char *spec,
	char id_out[TSARC_ID_HEX_LEN + 1]);

/*
 * A backup taken while the deployment was half-restored (its restore
 * state named steps not known to be applied: deploy/state.h) holds this
 * key in its metadata, {"steps": {step: snapshot id}, ...}. It holds
 * neither the deployment as it was nor as any snapshot was: "latest"
 * passes over it for a restore (tsarc_snapshot_resolve_pick), and forget
 * counts such backups in a group of their own, so that they never take
 * the place of whole ones under a policy. An id still restores it.
 */
#define TSARC_HALF_RESTORED_META "restore_pending"
int tsarc_snapshot_is_half_restored(const tsarc_snapshot *snap);

/*
 * A deployment's backup: every stream was made by one of its components
 * (the stream's metadata names it), and it is no undo snapshot. A
 * `backup --stdin` of an ad-hoc dump is not one.
 */
int tsarc_snapshot_is_deployment(const tsarc_snapshot *snap);

/*
 * What "latest" may name for a command that writes what it picks into a
 * live deployment. One repository often holds several deployments'
 * backups (staging and production in one bucket, each CronJob recording
 * its own `--host`), and by time alone "latest" would then name whichever
 * ran last: another deployment's data restored over this one's.
 * - host: only snapshots of this host; with an id, the id's snapshot must
 *   be of this host (TSARC_EINVAL otherwise).
 * - deployment: only deployment backups (tsarc_snapshot_is_deployment)
 *   not taken half-restored (each newer one passed over is named in a
 *   warning); without a host, "latest" among those of several hosts is refused
 *   (TSARC_EINVAL), naming each host and its newest backup.
 */
typedef struct tsarc_snapshot_pick {
	const char *host;
	int deployment;
	/* The target's cluster (TSARC_CLUSTER_PREFIX...), or NULL when it is
	 * not known. With deployment: where the newest pickable backup was
	 * taken in another cluster and the same host also has backups taken
	 * in this one, "latest" is refused (TSARC_EINVAL), naming both
	 * clusters and each one's newest backup. Two clusters whose 3scale
	 * namespaces share a name record one host: by time alone, "latest"
	 * would restore the other cluster's data over this one's. */
	const char *cluster;
} tsarc_snapshot_pick;
/*
 * A Kubernetes cluster's identity as a backup records it (the "cluster"
 * of a stream's "deployment" and "source"): "sha256:" and the lower-case
 * hex SHA-256 of the cluster's root CA (backends/transports/kube.c).
 */
#define TSARC_CLUSTER_PREFIX "sha256:"
#define TSARC_CLUSTER_LEN (sizeof(TSARC_CLUSTER_PREFIX) - 1 + 64)
/* Whether `s` is one (any other string names no cluster). */
int tsarc_cluster_valid(const char *s);
/* The deployment `snap` was taken from, as its first stream that records
 * one ("deployment" of its metadata, an object) says; NULL when none does
 * (older snapshots). Untrusted, as all metadata: read its fields as such. */
const cJSON *tsarc_snapshot_deployment(const tsarc_snapshot *snap);
/* The cluster `snap` was taken in: the one its deployment names
 * (tsarc_snapshot_deployment, as a restore reads it), or NULL when none is
 * recorded or it is no identity of that form (the metadata is anyone's who
 * can write the repository). */
const char *tsarc_snapshot_cluster(const tsarc_snapshot *snap);

/* tsarc_snapshot_resolve under `pick` (NULL: as tsarc_snapshot_resolve). */
int tsarc_snapshot_resolve_pick(struct tsarc_repo *repo, const char *spec,
	const tsarc_snapshot_pick *pick, char id_out[TSARC_ID_HEX_LEN + 1]);

const tsarc_stream *tsarc_snapshot_find_stream(const tsarc_snapshot *snap,
	const char *name);

/* RFC 3339 helpers (UTC, "2026-11-23T10:00:00Z" or with fraction / offset). */
int tsarc_time_parse(const char *text, int64_t *unix_out);
void tsarc_time_format(int64_t unix_time, long nsec, char *out, size_t outsz);
void tsarc_time_now(char *out, size_t outsz, int64_t *unix_out);

#endif
