/* Manifests come from the store: after decryption they are still only as
 * trustworthy as whoever held the key. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsarc_snapshot *snap = NULL;
	char *again = NULL;

	if (tsarc_snapshot_from_json(&snap, (const char *)data, size) == 0) {
		/* Whatever parses must print and parse back to the same manifest. */
		tsarc_snapshot *back = NULL;
		char *twice = NULL;
		if (tsarc_snapshot_to_json(snap, 1, &again) != 0 ||
			tsarc_snapshot_from_json(&back, again, strlen(again)) != 0 ||
			tsarc_snapshot_to_json(back, 1, &twice) != 0 || strcmp(again, twice) != 0)
			abort();
		free(twice);
		tsarc_snapshot_free(back);
	}
	free(again);
	tsarc_snapshot_free(snap);
	return 0;
}
