/* The psql guard (src/deploy/psqlguard.c) reads a PostgreSQL dump out of
 * the repository (whoever can write the repository writes it) before psql
 * does, and decides whether psql may have it. Whatever the bytes: no
 * crash, no read past the input; the same verdict, with the same message
 * (the reason and the byte it names), and the same output (what psql
 * gets, the stream's SETs put back), whole, in pieces of 1..7 bytes and
 * byte by byte, and the same verdict checked only; a refusal is
 * TSARC_EUNSAFE with a message; what passes comes out whole, in order,
 * with only SET lines added. The guard of a load into one database
 * refuses what the other refuses, and else passes the same output or
 * refuses a \connect. */
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
 * the refusal's code, its message into msg, the output into out (NULL: a
 * check only). Feeding stops at a refusal, as the restore does. */
static int run_as(int one_database, const uint8_t *data, size_t size, size_t step, char *msg,
	size_t msgsz, tsarc_buf *out)
{
	tsarc_psql_guard *g;
	size_t off;
	int rc = 0;

	msg[0] = '\0';
	if (tsarc_psql_guard_new(&g))
		abort();
	if (one_database)
		tsarc_psql_guard_one_database(g);
	if (!step)
		step = size ? size : 1;
	for (off = 0; off < size && !rc; off += step)
		rc = tsarc_psql_guard_feed(g, data + off, size - off < step ? size - off : step, out);
	if (!rc)
		rc = tsarc_psql_guard_finish(g, out);
	tsarc_psql_guard_free(g);
	if (rc) {
		if (rc != TSARC_EUNSAFE || !tsarc_error_last()->message[0])
			abort();
		snprintf(msg, msgsz, "%s", tsarc_error_last()->message);
	}
	return rc;
}

static int run(const uint8_t *data, size_t size, size_t step, char *msg, size_t msgsz,
	tsarc_buf *out)
{
	return run_as(0, data, size, step, msg, msgsz, out);
}

/* The length of a line of SETs as the guard writes it at p, with the
 * encoding's SET (enc) or without, or 0:
 * [SET client_encoding = 'NAME';][SET standard_conforming_strings = on|off;]\n */
static size_t sets_line(const uint8_t *p, size_t n, int enc)
{
	static const char set_enc[] = "SET client_encoding = '";
	static const char *const scs[] = {"SET standard_conforming_strings = on;",
		"SET standard_conforming_strings = off;", NULL};
	size_t o = 0, k, len;
	int any = 0;

	if (enc) {
		if (n < sizeof(set_enc) - 1 || memcmp(p, set_enc, sizeof(set_enc) - 1))
			return 0;
		/* the name as the guard writes it: lower case, digits, _ and - */
		for (o = sizeof(set_enc) - 1; o < n && ((p[o] >= 'a' && p[o] <= 'z') ||
			(p[o] >= '0' && p[o] <= '9') || p[o] == '_' || p[o] == '-'); o++)
			;
		if (n - o < 2 || p[o] != '\'' || p[o + 1] != ';')
			return 0;
		o += 2;
		any = 1;
	}
	for (k = 0; scs[k]; k++) {
		len = strlen(scs[k]);
		if (n - o >= len && !memcmp(p + o, scs[k], len)) {
			o += len;
			any = 1;
			break;
		}
	}
	return any && o < n && p[o] == '\n' ? o + 1 : 0;
}

/* Whether out[o..] is in[i..] with lines of SETs put in, nothing else
 * (budget: the steps left to find out, where input that looks like such a
 * line makes it ambiguous; spent, the answer is yes). */
static int sets_added(const uint8_t *in, size_t size, size_t i, const tsarc_buf *out, size_t o,
	long *budget)
{
	size_t n;
	int enc;

	while (o < out->size) {
		if (--*budget < 0)
			return 1;
		for (enc = 1; enc >= 0; enc--)
			if ((n = sets_line(out->ptr + o, out->size - o, enc)) &&
				sets_added(in, size, i, out, o + n, budget))
				return 1;
		if (i >= size || in[i] != out->ptr[o])
			return 0;
		i++;
		o++;
	}
	return i == size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t steps[] = {1, size % 7 + 1};
	char whole[1024], piece[1024];
	tsarc_buf wout = TSARC_BUF_INIT, out = TSARC_BUF_INIT;
	size_t i;
	int rc;

	if (size > INPUT_MAX)
		return 0;
	rc = run(data, size, 0, whole, sizeof(whole), &wout);
	if (run(data, size, 0, piece, sizeof(piece), NULL) != rc || strcmp(piece, whole))
		abort();
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		tsarc_buf_clear(&out);
		if (run(data, size, steps[i], piece, sizeof(piece), &out) != rc || strcmp(piece, whole))
			abort();
		if (!rc && (out.size != wout.size || (out.size && memcmp(out.ptr, wout.ptr, out.size))))
			abort();
	}
	/* In a load into one database: the same, but that a \connect is
	 * refused too; in pieces the same as whole. */
	{
		tsarc_buf one = TSARC_BUF_INIT;
		char onemsg[1024];
		int orc = run_as(1, data, size, 0, onemsg, sizeof(onemsg), &one);
		if (run_as(1, data, size, size % 7 + 1, piece, sizeof(piece), NULL) != orc ||
			strcmp(piece, onemsg))
			abort();
		if (rc && !orc)
			abort();
		if (!rc && !orc && (one.size != wout.size ||
			(one.size && memcmp(one.ptr, wout.ptr, one.size))))
			abort();
		if (!rc && orc && !strstr(onemsg, "connect at byte"))
			abort();
		tsarc_buf_dispose(&one);
	}
	if (!rc) {
		long budget = 1000000;
		if (!sets_added(data, size, 0, &wout, 0, &budget))
			abort();
	}
	tsarc_buf_dispose(&out);
	tsarc_buf_dispose(&wout);
	return 0;
}
