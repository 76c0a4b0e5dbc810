#ifndef TSARC_BACKUP_PUBLIC_H
#define TSARC_BACKUP_PUBLIC_H

/*
 * Backing up byte streams. A backup session is one snapshot in the
 * making: streams are added (from several threads at once if wanted:
 * they share one bounded pipeline), then the session is committed, which
 * writes the snapshot only once every chunk is stored and durable.
 * Freeing a session without committing abandons it: no snapshot refers to
 * the chunks already stored, and prune removes them later.
 */

#include <stddef.h>
#include <stdint.h>
#include "repository.h"
#include "snapshot.h"

/* cJSON (libcjson) objects, for callers that attach metadata; NULL otherwise. */
struct cJSON;

typedef struct tsarc_backup_options {
	const char *host;           /* NULL: this machine's name */
	const char *const *tags;
	size_t ntags;
	const char *time;           /* RFC 3339; NULL: now */
	const struct cJSON *meta;   /* about the whole snapshot (copied); may be NULL */
	unsigned workers;           /* compress/encrypt threads; 0: one per CPU */
	size_t memory_budget;       /* bytes of chunks in flight; 0: default */
} tsarc_backup_options;

typedef struct tsarc_backup_stats {
	uint64_t bytes_read;
	uint64_t chunks;
	uint64_t new_chunks;
	uint64_t new_bytes;     /* plaintext bytes of chunks not yet in the repository */
	uint64_t stored_bytes;  /* bytes written to the store for them */
} tsarc_backup_stats;

/* The length of a snapshot id in hex digits. */
#define TSARC_SNAPSHOT_ID_LEN 64

/*
 * One stream read from `fd` to its end, as a new snapshot holding only
 * it; `*out` is that snapshot. `opts` may be NULL.
 */
int tsarc_backup_fd(tsarc_snapshot **out, tsarc_repo *repo, const char *name, int fd,
	const tsarc_backup_options *opts);

typedef struct tsarc_backup tsarc_backup;

/* Starts a session, holding a shared repository lock until it is
 * committed or freed (so that prune cannot remove chunks it relies on).
 * `opts` may be NULL. */
int tsarc_backup_new(tsarc_backup **out, tsarc_repo *repo,
	const tsarc_backup_options *opts);
/* Reads `fd` to its end as stream `name` of kind `kind` (free text,
 * e.g. "stdin"); takes ownership of `meta` (may be NULL). */
int tsarc_backup_stream_fd(tsarc_backup *b, const char *name, const char *kind,
	int fd, struct cJSON *meta);
/* Writes the snapshot; its id (64 hex digits and a NUL) into id_out. */
int tsarc_backup_commit(tsarc_backup *b, char id_out[TSARC_SNAPSHOT_ID_LEN + 1]);
/* Counters so far; may be called from another thread while streams run. */
void tsarc_backup_get_stats(tsarc_backup *b, tsarc_backup_stats *out);
void tsarc_backup_free(tsarc_backup *b);

#endif
