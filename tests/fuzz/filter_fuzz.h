#ifndef TSARC_TESTS_FUZZ_FILTER_FUZZ_H
#define TSARC_TESTS_FUZZ_FILTER_FUZZ_H

/* What the fuzz targets of stream filters (src/deploy/filter.h) share:
 * the input fed in pieces, and the check that what passes is pieces of
 * the input in order. */
#include <stddef.h>
#include <stdint.h>

#include "deploy/filter.h"

/* data[0..size) through filter `f` in pieces of `step` (0: whole), then
 * its end, into `out`; the filter's verdict. */
static int filter_fuzz_run(tsarc_filter f, const uint8_t *data, size_t size, size_t step,
	tsarc_buf *out)
{
	size_t off;
	int rc = 0;

	if (!step)
		step = size ? size : 1;
	for (off = 0; off < size && !rc; off += step)
		rc = f.ops->feed(f.self, data + off, size - off < step ? size - off : step, out);
	return rc ? rc : f.ops->finish(f.self, out);
}

/* Whether out is made of pieces of in, in order (a subsequence). */
static int filter_fuzz_subsequence(const uint8_t *in, size_t size, const tsarc_buf *out)
{
	size_t i = 0, o = 0;

	for (; o < out->size; o++, i++) {
		while (i < size && in[i] != out->ptr[o])
			i++;
		if (i == size)
			return 0;
	}
	return 1;
}

#endif
