/* One database's part of a pg_dumpall (src/deploy/psqlsection.c), read
 * out of the repository (whoever can write the repository writes it) on
 * its way to psql. Whatever the bytes, for the database named by the
 * first byte's low bit (zync_production or postgres): no crash, no read
 * past the input; the same verdict, with the same message, and the same
 * output, whole, in pieces of 1..7 bytes and byte by byte, and the same
 * verdict checked only; a refusal has a message and one of the codes the
 * filter or its guard gives; what passes is pieces of the input in order
 * (never more bytes out than in), and something, unless the part is
 * empty. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/psqlsection.h"
#include "filter_fuzz.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64u * 1024u)

static int run(const char *db, const uint8_t *data, size_t size, size_t step, char *msg,
	size_t msgsz, tsarc_buf *out)
{
	tsarc_psql_section *s;
	int rc;

	msg[0] = '\0';
	if (tsarc_psql_section_new(db, &s))
		abort();
	rc = filter_fuzz_run((tsarc_filter){&tsarc_psql_section_ops, s}, data, size, step, out);
	tsarc_psql_section_free(s);
	if (rc) {
		if ((rc != TSARC_EUNSAFE && rc != TSARC_ENOTFOUND && rc != TSARC_ECORRUPT) ||
			!tsarc_error_last()->message[0])
			abort();
		snprintf(msg, msgsz, "%s", tsarc_error_last()->message);
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t steps[] = {1, size % 7 + 1};
	const char *db = size && (data[0] & 1) ? "postgres" : "zync_production";
	char whole[1024], piece[1024];
	tsarc_buf wout = TSARC_BUF_INIT, out = TSARC_BUF_INIT;
	size_t i;
	int rc;

	if (size > INPUT_MAX)
		return 0;
	rc = run(db, data, size, 0, whole, sizeof(whole), &wout);
	if (run(db, data, size, 0, piece, sizeof(piece), NULL) != rc || strcmp(piece, whole))
		abort();
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		tsarc_buf_clear(&out);
		if (run(db, data, size, steps[i], piece, sizeof(piece), &out) != rc ||
			strcmp(piece, whole))
			abort();
		if (!rc && (out.size != wout.size || (out.size && memcmp(out.ptr, wout.ptr, out.size))))
			abort();
	}
	if (!rc && (wout.size > size || !filter_fuzz_subsequence(data, size, &wout)))
		abort();
	tsarc_buf_dispose(&out);
	tsarc_buf_dispose(&wout);
	return 0;
}
