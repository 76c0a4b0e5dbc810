/*
 * Fuzz target for the reader of the s3 system-storage stream
 * (backends/components/s3sys/stream.c), which reads a snapshot's bytes
 * before a restore writes anything into a bucket.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>

#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int entry(struct archive *a, const tsarc_s3sys_obj *o, void *ud)
{
	char buf[4096];
	uint64_t got = 0;
	int64_t n;
	size_t i;

	(void)ud;
	/* What the reader hands out holds to the rules it promises. */
	if (tsarc_s3sys_key_check(o->key) != 0 || o->nmeta > TSARC_S3SYS_META_MAX)
		abort();
	for (i = 0; i < o->nmeta; i++)
		if (!o->meta[i].name[0] || strchr(o->meta[i].value, '\n'))
			abort();
	while ((n = tsarc_s3sys_read_body(a, buf, sizeof(buf))) > 0)
		got += (uint64_t)n;
	if (n == 0 && got > o->size)
		abort();
	return n < 0 ? (int)n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsarc_s3sys_read_memory(data, size, entry, NULL);
	return 0;
}
