/* The psql guard (src/deploy/psqlguard.c) reads a PostgreSQL dump out of
 * the repository (whoever can write the repository writes it) before psql
 * does, and decides whether psql may have it. Whatever the bytes: no
 * crash, no read past the input; the same verdict, with the same message
 * (the reason and the byte it names), whole, in pieces of 1..7 bytes and
 * byte by byte; and a refusal is TSARC_EUNSAFE with a message. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/psqlguard.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64u * 1024u)

/* The verdict on the input fed `step` bytes at a time (0: whole): 0 or
 * the refusal's code, its message into msg. Feeding stops at a refusal,
 * as the restore does. */
static int run(const uint8_t *data, size_t size, size_t step, char *msg, size_t msgsz)
{
	tsarc_psql_guard *g;
	size_t off;
	int rc = 0;

	msg[0] = '\0';
	if (tsarc_psql_guard_new(&g))
		abort();
	if (!step)
		step = size ? size : 1;
	for (off = 0; off < size && !rc; off += step)
		rc = tsarc_psql_guard_feed(g, data + off, size - off < step ? size - off : step);
	if (!rc)
		rc = tsarc_psql_guard_finish(g);
	tsarc_psql_guard_free(g);
	if (rc) {
		if (rc != TSARC_EUNSAFE || !tsarc_error_last()->message[0])
			abort();
		snprintf(msg, msgsz, "%s", tsarc_error_last()->message);
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t steps[] = {1, size % 7 + 1};
	char whole[1024], piece[1024];
	size_t i;
	int rc;

	if (size > INPUT_MAX)
		return 0;
	rc = run(data, size, 0, whole, sizeof(whole));
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (run(data, size, steps[i], piece, sizeof(piece)) != rc || strcmp(piece, whole))
			abort();
	return 0;
}
