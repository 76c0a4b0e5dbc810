/* The logical Redis stream a restore reads from the repository (whoever
 * can write the repository writes it): the loader must accept only
 * SELECT, RESTORE ... REPLACE ABSTTL and FUNCTION RESTORE ... REPLACE,
 * refuse anything else with TSARC_ECORRUPT, never read past its input or
 * grow without bound, whatever the bytes and however they are split.
 * Checked with no server (the loader's check-only mode). Every other
 * input under a database mapping (1 -> 0, as a restore into a target whose
 * URL names another database): then a database landing on the mapped one
 * may also be refused, with TSARC_EUNSUPPORTED and a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "logical.h"
#include "tsarc/errors.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsarc_redis_loader *l = NULL;
	tsarc_redis_stats st;
	tsarc_redis_dbmap map = {1, {1}, {0}};
	size_t pos = 0, step = size % 7 + 1;
	int rc = 0, mapped = size % 2;

	if (tsarc_redis_loader_new(&l, NULL, 1000))
		abort();
	if (mapped)
		tsarc_redis_loader_map(l, &map);
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
	if (rc && rc != TSARC_ECORRUPT && rc != TSARC_ENOMEM &&
		!(mapped && rc == TSARC_EUNSUPPORTED))
		abort();
	if (rc == TSARC_EUNSUPPORTED && !strstr(tsarc_error_last()->message, "database 0"))
		abort();
	tsarc_redis_loader_free(l);
	return 0;
}
