/* The logical Redis stream a restore reads from the repository (whoever
 * can write the repository writes it): the loader must accept only
 * SELECT, RESTORE ... REPLACE ABSTTL and FUNCTION RESTORE ... REPLACE,
 * refuse anything else with TSARC_ECORRUPT, never read past its input or
 * grow without bound, whatever the bytes and however they are split.
 * Checked with no server (the loader's check-only mode). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "logical.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsarc_redis_loader *l = NULL;
	tsarc_redis_stats st;
	size_t pos = 0, step = size % 7 + 1;
	int rc = 0;

	if (tsarc_redis_loader_new(&l, NULL, 1000))
		abort();
	/* Fed in pieces: a command split anywhere must parse the same. */
	while (!rc && pos < size) {
		size_t n = size - pos < step ? size - pos : step;
		rc = tsarc_redis_loader_feed(l, data + pos, n);
		pos += n;
		step = step * 3 % 64 + 1;
	}
	if (!rc)
		rc = tsarc_redis_loader_finish(l, &st);
	if (!rc)
		tsarc_redis_stats_free(&st);
	if (rc && rc != TSARC_ECORRUPT && rc != TSARC_ENOMEM)
		abort();
	tsarc_redis_loader_free(l);
	return 0;
}
