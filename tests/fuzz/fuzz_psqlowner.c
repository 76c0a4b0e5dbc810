#define _GNU_SOURCE /* memmem */
/* The owners of a PostgreSQL dump's objects fitted to the target
 * (src/deploy/psqlowner.c), read out of the repository (whoever can write
 * the repository writes it) on its way to psql, for a target that connects
 * as "app" and has the roles app and postgres. Whatever the bytes: no
 * crash, no read past the input; the same verdict, with the same message,
 * the same output and the same report, whole, in pieces of 1..7 bytes and
 * byte by byte; a refusal (the lexer's guard) is EUNSAFE with a message;
 * what passes is the input but for whole lines, each of them left out or
 * changed only where a role becomes "app". */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/psqlowner.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64u * 1024u)
/* app; app, postgres */
static const char ANSWER[] = "617070 617070 706f737467726573\n";

static int run(const uint8_t *data, size_t size, size_t step, char *msg, size_t msgsz,
	tsarc_buf *out, char **report)
{
	tsarc_psql_owner *o;
	cJSON *r = cJSON_CreateObject();
	size_t off;
	int rc = 0;

	msg[0] = '\0';
	if (!r || tsarc_psql_owner_new(ANSWER, &o))
		abort();
	if (!step)
		step = size ? size : 1;
	for (off = 0; off < size && !rc; off += step)
		rc = tsarc_psql_owner_feed(o, data + off, size - off < step ? size - off : step, out);
	if (!rc)
		rc = tsarc_psql_owner_finish(o, out);
	if (!rc && tsarc_psql_owner_report(o, r))
		abort();
	tsarc_psql_owner_free(o);
	if (rc) {
		if (rc != TSARC_EUNSAFE || !tsarc_error_last()->message[0])
			abort();
		snprintf(msg, msgsz, "%s", tsarc_error_last()->message);
	}
	if (!(*report = cJSON_PrintUnformatted(r)))
		abort();
	cJSON_Delete(r);
	return rc;
}

/* Whether every line of out is a line of in, in order, as it was or with
 * names changed to "app" (the lines left out skipped). */
static int lines_of(const uint8_t *in, size_t size, const tsarc_buf *out)
{
	size_t i = 0, o = 0;

	while (o < out->size) {
		const uint8_t *onl = memchr(out->ptr + o, '\n', out->size - o);
		size_t olen = onl ? (size_t)(onl - (out->ptr + o)) + 1 : out->size - o;
		int found = 0;
		while (i < size && !found) {
			const uint8_t *inl = memchr(in + i, '\n', size - i);
			size_t ilen = inl ? (size_t)(inl - (in + i)) + 1 : size - i;
			found = (ilen == olen && !memcmp(in + i, out->ptr + o, olen)) ||
				memmem(out->ptr + o, olen, "\"app\"", 5);
			i += ilen;
		}
		if (!found)
			return 0;
		o += olen;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t steps[] = {1, size % 7 + 1};
	char whole[1024], piece[1024], *wreport = NULL, *report = NULL;
	tsarc_buf wout = TSARC_BUF_INIT, out = TSARC_BUF_INIT;
	size_t i;
	int rc;

	if (size > INPUT_MAX)
		return 0;
	rc = run(data, size, 0, whole, sizeof(whole), &wout, &wreport);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		tsarc_buf_clear(&out);
		if (run(data, size, steps[i], piece, sizeof(piece), &out, &report) != rc ||
			strcmp(piece, whole) || strcmp(report, wreport))
			abort();
		free(report);
		if (!rc && (out.size != wout.size || (out.size && memcmp(out.ptr, wout.ptr, out.size))))
			abort();
	}
	if (!rc && !lines_of(data, size, &wout))
		abort();
	free(wreport);
	tsarc_buf_dispose(&out);
	tsarc_buf_dispose(&wout);
	return 0;
}
