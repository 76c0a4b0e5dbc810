#ifndef TSARC_TEST_HEXBYTES_H
#define TSARC_TEST_HEXBYTES_H

/* Bytes written in a test as hex text (a server's DUMP payload, a
 * ziplist), decoded: one copy for the tests of the Redis encodings, not
 * one per file. Include after <cmocka.h>. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bytes {
	unsigned char *p; /* malloc'd: the caller frees */
	size_t n;
} bytes;

static inline bytes hex(const char *h)
{
	bytes b;
	size_t i;

	b.n = strlen(h) / 2;
	b.p = malloc(b.n ? b.n : 1);
	assert_non_null(b.p);
	for (i = 0; i < b.n; i++) {
		unsigned v;
		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		b.p[i] = (unsigned char)v;
	}
	return b;
}

#endif
