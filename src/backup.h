#ifndef TSARC_BACKUP_H
#define TSARC_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "repo.h"
#include "tsarc/backup.h"

/* Options, stats and the session calls are public: tsarc/backup.h. */

/* Adds (or replaces) `key` in a stream's metadata, e.g. what is only known
 * once its producer has exited. Takes ownership of `item`. */
int tsarc_backup_stream_annotate(tsarc_backup *b, const char *name, const char *key,
	cJSON *item);
/* Leaves a finished stream out of the snapshot (an optional component
 * whose producer failed); its chunks stay unreferenced until prune. */
int tsarc_backup_stream_abandon(tsarc_backup *b, const char *name);

#endif
