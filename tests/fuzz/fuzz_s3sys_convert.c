/*
 * Fuzz target for the conversions between a tree's tar and the s3files
 * stream (backends/components/s3sys/convert.c), which read a snapshot's
 * bytes at a restore that moves system-storage between a volume and a
 * bucket. The first byte picks the way (even: a tree's tar into objects,
 * odd: objects into a tree's tar), the rest is the stream. What a
 * conversion writes when it succeeds is read back by the target kind's
 * own reader, which must take it whole: the objects as an s3files stream,
 * the tree by the rules of every tree restore.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>

#include "s3sys.h"
#include "stream.h"
#include "tree_restore.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int drain_body(struct archive *a, const tsarc_s3sys_obj *o, void *ud)
{
	char buf[4096];
	uint64_t got = 0;
	int64_t n;

	(void)ud;
	while ((n = tsarc_s3sys_read_body(a, buf, sizeof(buf))) > 0)
		got += (uint64_t)n;
	if (n == 0 && got != o->size)
		abort();
	return n < 0 ? (int)n : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const tsarc_stream_conversion *conv;
	tsarc_stream st;
	FILE *in, *out;
	int rc;

	if (size < 1)
		return 0;
	conv = data[0] & 1 ? &tsarc_s3sys_to_tree : &tsarc_s3sys_from_tree;
	if (!(in = tmpfile()) || !(out = tmpfile()))
		abort();
	if (size > 1 && fwrite(data + 1, 1, size - 1, in) != size - 1)
		abort();
	fflush(in);
	rewind(in);
	memset(&st, 0, sizeof(st));
	st.name = "fuzz.tar";
	rc = conv->run(&st, fileno(in), fileno(out));
	tsarc_error_clear();
	if (rc == 0) {
		struct archive *a = archive_read_new();
		uint64_t entries = 0, skipped = 0;
		FILE *sink = fopen("/dev/null", "w");

		rewind(out);
		if (conv == &tsarc_s3sys_from_tree) {
			archive_read_support_format_tar(a);
			if (archive_read_open_FILE(a, out) != ARCHIVE_OK ||
				tsarc_s3sys_read_in(a, 0, drain_body, NULL) != 0)
				abort();
		} else if (!sink || tsarc_tree_rewrite_fd(fileno(out), fileno(sink), "done",
				NULL, &entries, &skipped) != 0) {
			abort();
		}
		archive_read_free(a);
		if (sink)
			fclose(sink);
	}
	tsarc_error_clear();
	fclose(in);
	fclose(out);
	return 0;
}
