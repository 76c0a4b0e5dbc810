/* The strip filter (src/deploy/mysqlstrip.c) reads a MySQL dump out of the
 * repository (whoever can write the repository writes it) while it streams
 * into the client. Whatever the bytes: no crash, no read past the input,
 * the same output and count however the input is split (whole, in pieces
 * of 1..7 bytes, one byte at a time), never more bytes out than in, and
 * with nothing removed the bytes unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/mysqlstrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64u * 1024u)

/* The filtered input fed `step` bytes at a time (0: whole). */
static void run(const uint8_t *data, size_t size, size_t step, tsarc_buf *out,
	unsigned long *count)
{
	tsarc_mysql_strip *f;
	size_t off = 0;

	if (tsarc_mysql_strip_new(&f, TSARC_STRIP_DEFINERS | TSARC_STRIP_BINLOG))
		abort();
	if (!step)
		step = size ? size : 1;
	for (off = 0; off < size; off += step) {
		size_t n = size - off < step ? size - off : step;
		if (tsarc_mysql_strip_feed(f, data + off, n, out))
			abort();
	}
	if (tsarc_mysql_strip_finish(f, out))
		abort();
	*count = tsarc_mysql_strip_definers(f) + tsarc_mysql_strip_statements(f);
	tsarc_mysql_strip_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t steps[] = {1, size % 7 + 1};
	tsarc_buf whole = TSARC_BUF_INIT;
	unsigned long count, c;
	size_t i;

	if (size > INPUT_MAX)
		return 0;
	run(data, size, 0, &whole, &count);
	if (whole.size > size || (!count && (whole.size != size ||
		    (size && memcmp(whole.ptr, data, size)))))
		abort();
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		tsarc_buf b = TSARC_BUF_INIT;
		run(data, size, steps[i], &b, &c);
		if (c != count || b.size != whole.size || (b.size && memcmp(b.ptr, whole.ptr, b.size)))
			abort();
		tsarc_buf_dispose(&b);
	}
	tsarc_buf_dispose(&whole);
	return 0;
}
