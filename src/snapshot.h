#ifndef TSARC_SNAPSHOT_H
#define TSARC_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "chunker.h"
#include "crypto.h"

struct tsarc_repo;

typedef struct tsarc_chunk_ref {
	uint8_t id[TSARC_ID_LEN];
	uint32_t size;   /* plaintext bytes */
	uint32_t stored; /* bytes of the stored object */
} tsarc_chunk_ref;

/* One backed-up byte stream: a dump, a tar of a tree, stdin. */
typedef struct tsarc_stream {
	char *name;
	char *kind;
	uint64_t size;
	uint8_t sha256[32];
	char start[40], end[40]; /* RFC 3339, UTC */
	tsarc_chunk_ref *chunks;
	size_t nchunks;
	cJSON *meta; /* kind-specific details (source, tool version, ...); may be NULL */
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
/* JSON text of the manifest; with include_chunks 0, the chunk lists are
 * left out (for `show`). The caller frees the string. */
int tsarc_snapshot_to_json(const tsarc_snapshot *snap, int include_chunks,
	char **out);
cJSON *tsarc_snapshot_to_cjson(const tsarc_snapshot *snap, int include_chunks);
/* Parses and validates a manifest; any deviation is TSARC_ECORRUPT. */
int tsarc_snapshot_from_json(tsarc_snapshot **out, const char *text, size_t len);

/* Seals and stores a manifest; fills snap->id. */
int tsarc_snapshot_save(struct tsarc_repo *repo, tsarc_snapshot *snap);
int tsarc_snapshot_load(struct tsarc_repo *repo, const char *id,
	tsarc_snapshot **out);

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
void tsarc_snapshot_array_free(tsarc_snapshot **snaps, size_t count);
/* Resolves "latest" (the newest snapshot that can be read; damaged ones
 * are skipped with a warning naming each on stderr), a full id or a
 * unique prefix of one. */
int tsarc_snapshot_resolve(struct tsarc_repo *repo, const char *spec,
	char id_out[TSARC_ID_HEX_LEN + 1]);

const tsarc_stream *tsarc_snapshot_find_stream(const tsarc_snapshot *snap,
	const char *name);

/* RFC 3339 helpers (UTC, "2026-11-23T10:00:00Z" or with fraction / offset). */
int tsarc_time_parse(const char *text, int64_t *unix_out);
void tsarc_time_format(int64_t unix_time, long nsec, char *out, size_t outsz);
void tsarc_time_now(char *out, size_t outsz, int64_t *unix_out);

#endif
