/* Manifests come from the store: after decryption they are still only as
 * trustworthy as whoever held the key. Both encodings (JSON lists and the
 * records after a NUL) are read from the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whatever decodes must encode and decode back to the same bytes, in
 * either encoding, and its header-only decoding must agree. */
static void round_trip(const tsarc_snapshot *snap, int records)
{
	tsarc_buf once = TSARC_BUF_INIT, twice = TSARC_BUF_INIT;
	tsarc_snapshot *back = NULL, *head = NULL;
	char *a = NULL, *b = NULL;

	if (tsarc_snapshot_encode(snap, records, &once) != 0 ||
		tsarc_snapshot_decode(&back, once.ptr, once.size, 0) != 0 ||
		tsarc_snapshot_encode(back, records, &twice) != 0 || once.size != twice.size ||
		memcmp(once.ptr, twice.ptr, once.size) != 0 ||
		tsarc_snapshot_decode(&head, once.ptr, once.size, TSARC_SNAPSHOT_HEADERS) != 0 ||
		tsarc_snapshot_to_json(back, 0, &a) != 0 || tsarc_snapshot_to_json(head, 0, &b) != 0 ||
		strcmp(a, b) != 0)
		abort();
	free(a);
	free(b);
	tsarc_snapshot_free(back);
	tsarc_snapshot_free(head);
	tsarc_buf_dispose(&once);
	tsarc_buf_dispose(&twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsarc_snapshot *snap = NULL, *head = NULL;

	if (tsarc_snapshot_decode(&snap, data, size, 0) == 0) {
		round_trip(snap, 0);
		round_trip(snap, 1);
	}
	/* Headers only accepts exactly what a full decode accepts. */
	if ((tsarc_snapshot_decode(&head, data, size, TSARC_SNAPSHOT_HEADERS) == 0) != (snap != NULL))
		abort();
	tsarc_snapshot_free(snap);
	tsarc_snapshot_free(head);
	return 0;
}
