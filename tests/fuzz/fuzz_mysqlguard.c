/* The mysql load guard (src/deploy/mysqlguard.c) over a SQL stream read
 * out of the repository (whoever can write the repository writes it), on
 * its way to the mysql client, for a load into database `system`.
 * Whatever the bytes: no crash, no read past the input; the same verdict
 * with the same message whole, in pieces of 1..7 bytes and byte by byte,
 * and checked only; a refusal is TSARC_EUNSAFE with a message naming the
 * target; what passes goes out exactly as it came in. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/mysqlguard.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64u * 1024u)

static int run(const uint8_t *data, size_t size, size_t step, char *msg, size_t msgsz,
	tsarc_buf *out)
{
	tsarc_mysql_guard *g;
	size_t off;
	int rc = 0;

	msg[0] = '\0';
	if (tsarc_mysql_guard_new("system", &g))
		abort();
	if (!step)
		step = size ? size : 1;
	for (off = 0; off < size && !rc; off += step)
		rc = tsarc_mysql_guard_feed(g, data + off, size - off < step ? size - off : step, out);
	if (!rc)
		rc = tsarc_mysql_guard_finish(g, out);
	tsarc_mysql_guard_free(g);
	if (rc) {
		if (rc != TSARC_EUNSAFE || !strstr(tsarc_error_last()->message, "`system`"))
			abort();
		snprintf(msg, msgsz, "%s", tsarc_error_last()->message);
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char whole_msg[1024], msg[1024];
	tsarc_buf out = TSARC_BUF_INIT;
	size_t step;
	int whole, rc;

	if (size > INPUT_MAX)
		return 0;
	whole = run(data, size, 0, whole_msg, sizeof(whole_msg), &out);
	if (!whole && (out.size != size || (size && memcmp(out.ptr, data, size))))
		abort();
	if (run(data, size, 0, msg, sizeof(msg), NULL) != whole || strcmp(msg, whole_msg))
		abort();
	for (step = 1; step <= 7; step++) {
		tsarc_buf_clear(&out);
		rc = run(data, size, step, msg, sizeof(msg), &out);
		if (rc != whole || strcmp(msg, whole_msg))
			abort();
		if (!rc && (out.size != size || (size && memcmp(out.ptr, data, size))))
			abort();
	}
	tsarc_buf_dispose(&out);
	return 0;
}
