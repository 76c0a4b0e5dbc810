/* The head of a pg_dump dump fitted to an older server
 * (src/deploy/psqlhead.c), read out of the repository (whoever can write
 * the repository writes it) on its way to psql. Whatever the bytes, for
 * the target named by the first byte (9.5, 9.6, 15, 16 or 17): no crash,
 * no read past the input; the same verdict, with the same message, and the
 * same output, whole, in pieces of 1..7 bytes and byte by byte; a refusal
 * has a message and the filter's one code; what passes is pieces of the
 * input in order (never more bytes out than in), the input itself for a
 * 17, which has every setting; once it says it has settled, it passes the
 * rest as it is (settled_passes). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/psqlhead.h"
#include "filter_fuzz.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64u * 1024u)

static int run(int server, const uint8_t *data, size_t size, size_t step, char *msg,
	size_t msgsz, tsarc_buf *out)
{
	tsarc_psql_head *h;
	int rc;

	msg[0] = '\0';
	if (tsarc_psql_head_new(server, &h))
		abort();
	rc = filter_fuzz_run((tsarc_filter){&tsarc_psql_head_ops, h}, data, size, step, out);
	tsarc_psql_head_free(h);
	if (rc) {
		if (rc != TSARC_EUNSUPPORTED || !tsarc_error_last()->message[0])
			abort();
		snprintf(msg, msgsz, "%s", tsarc_error_last()->message);
	}
	return rc;
}

/* Byte by byte: once the filter says it has settled (the plan stops
 * reading there), it stays so, the verdict is `rc` 0, and everything
 * after passes as it is. */
static void settled_passes(int server, const uint8_t *data, size_t size, int rc)
{
	tsarc_buf out = TSARC_BUF_INIT;
	tsarc_psql_head *h;
	size_t i, from = 0, at = 0;
	int settled = 0;

	if (tsarc_psql_head_new(server, &h))
		abort();
	for (i = 0; i < size; i++) {
		if (tsarc_psql_head_feed(h, data + i, 1, &out))
			break;
		if (!settled && tsarc_psql_head_settled(h)) {
			settled = 1;
			from = i + 1;
			at = out.size;
		} else if (settled && !tsarc_psql_head_settled(h)) {
			abort();
		}
	}
	if (settled && (rc || i < size || tsarc_psql_head_finish(h, &out) ||
		out.size - at != size - from || memcmp(out.ptr + at, data + from, size - from)))
		abort();
	tsarc_psql_head_free(h);
	tsarc_buf_dispose(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int servers[] = {905, 906, 15, 16, 17};
	const size_t steps[] = {1, size % 7 + 1};
	const int server = servers[size ? data[0] % 5 : 0];
	char whole[1024], piece[1024];
	tsarc_buf wout = TSARC_BUF_INIT, out = TSARC_BUF_INIT;
	size_t i;
	int rc;

	if (size > INPUT_MAX)
		return 0;
	rc = run(server, data, size, 0, whole, sizeof(whole), &wout);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		tsarc_buf_clear(&out);
		if (run(server, data, size, steps[i], piece, sizeof(piece), &out) != rc ||
			strcmp(piece, whole))
			abort();
		if (!rc && (out.size != wout.size || (out.size && memcmp(out.ptr, wout.ptr, out.size))))
			abort();
	}
	if (!rc && (wout.size > size || !filter_fuzz_subsequence(data, size, &wout)))
		abort();
	if (!rc && server == 17 && (wout.size != size || (size && memcmp(wout.ptr, data, size))))
		abort();
	settled_passes(server, data, size, rc);
	tsarc_buf_dispose(&out);
	tsarc_buf_dispose(&wout);
	return 0;
}
