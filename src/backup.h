#ifndef TSARC_BACKUP_H
#define TSARC_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "repo.h"

typedef struct tsarc_backup_options {
	const char *host;           /* NULL: this machine's name */
	const char *const *tags;
	size_t ntags;
	const char *time;           /* RFC 3339; NULL: now */
	const cJSON *meta;          /* about the whole snapshot (copied); may be NULL */
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

typedef struct tsarc_backup tsarc_backup;

/*
 * Starts a snapshot, holding a shared repository lock until the backup is
 * committed or freed (so that prune cannot remove chunks it relies on).
 * Streams are then added with tsarc_backup_stream_fd()
 * (from any number of threads at once: they share one bounded pipeline),
 * and tsarc_backup_commit() writes the manifest once every chunk is
 * stored and durable. Freeing without commit abandons the snapshot:
 * stored chunks stay (prune removes them), no manifest refers to them.
 */
int tsarc_backup_new(tsarc_backup **out, tsarc_repo *repo,
	const tsarc_backup_options *opts);
/* Reads `fd` to its end as stream `name`; takes ownership of `meta`. */
int tsarc_backup_stream_fd(tsarc_backup *b, const char *name, const char *kind,
	int fd, cJSON *meta);
/* Adds (or replaces) `key` in a stream's metadata, e.g. what is only known
 * once its producer has exited. Takes ownership of `item`. */
int tsarc_backup_stream_annotate(tsarc_backup *b, const char *name, const char *key,
	cJSON *item);
/* Leaves a finished stream out of the snapshot (an optional component
 * whose producer failed); its chunks stay unreferenced until prune. */
int tsarc_backup_stream_abandon(tsarc_backup *b, const char *name);
int tsarc_backup_commit(tsarc_backup *b, char id_out[TSARC_ID_HEX_LEN + 1]);
void tsarc_backup_get_stats(tsarc_backup *b, tsarc_backup_stats *out);
void tsarc_backup_free(tsarc_backup *b);

#endif
