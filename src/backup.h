#ifndef TSARC_BACKUP_H
#define TSARC_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "repo.h"
#include "tsarc/backup.h"

/* Options, stats and the session calls are public: tsarc/backup.h. */

/* tsarc_backup_stream_fd for a stream that holds secrets (a List of
 * Secrets): the blocks its input is read into are wiped before they are
 * freed. Only such streams: a pass over every byte of a database dump
 * would cost time for nothing. (What is wiped whatever the stream, at a
 * cost that does not grow with it: the workers' compression buffers and
 * contexts, codec.c.) */
int tsarc_backup_secret_stream_fd(tsarc_backup *b, const char *name, const char *kind, int fd,
	cJSON *meta);

/* Adds (or replaces) `key` in a stream's metadata, e.g. what is only known
 * once its producer has exited. Takes ownership of `item`. */
int tsarc_backup_stream_annotate(tsarc_backup *b, const char *name, const char *key,
	cJSON *item);
/* Adds (or replaces) `key` in the snapshot's own metadata (what is known
 * of the whole backup, e.g. that the deployment was half-restored when it
 * was taken). Takes ownership of `item`. */
int tsarc_backup_annotate(tsarc_backup *b, const char *key, cJSON *item);
/* Leaves a finished stream out of the snapshot (an optional component
 * whose producer failed); its chunks stay unreferenced until prune. */
int tsarc_backup_stream_abandon(tsarc_backup *b, const char *name);

/* The repository the session writes to: a component whose tree or bucket
 * holds it leaves it out of its stream (files.c, s3sys/dump.c). */
tsarc_repo *tsarc_backup_repository(tsarc_backup *b);

#endif
