#ifndef TSARC_S3_S3_H
#define TSARC_S3_S3_H

/* Internals of the s3 store that tests and diagnostics may look at. */

#include <stdint.h>
#include "tsarc/sys/store.h"

typedef struct tsarc__s3_stats {
	uint64_t requests; /* HTTP attempts, retries included */
	uint64_t retries;  /* attempts that were repeats of a failed one */
	uint64_t connects; /* new connections opened (reuse keeps it low) */
} tsarc__s3_stats;

/* TSARC_EINVAL when `st` is not an s3 store. */
int tsarc__s3_stats_get(tsarc_store *st, tsarc__s3_stats *out);

#endif
