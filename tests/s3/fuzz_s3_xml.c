/*
 * Fuzz target for the parsers of S3 response bodies (backends/stores/s3/xml.c),
 * which read whatever a server, or anything in between, sends.
 *
 * With clang: a libFuzzer target (fuzz_s3_xml, -fsanitize=fuzzer).
 * Otherwise: a replay program that feeds each file named on the command
 * line, so the seed corpus runs under ctest with any compiler.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/stores/s3/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsarc__s3_error_doc e;
	tsarc__s3_list_page p;
	tsarc__s3_delete_result d;
	size_t i;

	tsarc__s3_parse_error(&e, (const char *)data, size);
	if (strlen(e.code) >= sizeof(e.code) || strlen(e.message) >= sizeof(e.message))
		abort();
	if (tsarc__s3_parse_list(&p, (const char *)data, size) == 0) {
		for (i = 0; i < p.count; i++)
			if (!p.entries[i].key || !p.entries[i].key[0])
				abort();
		if (p.truncated && !p.next_token)
			abort();
		tsarc__s3_list_page_dispose(&p);
	} else if (p.entries || p.count || p.next_token) {
		abort(); /* a failed parse must leave nothing behind */
	}
	tsarc__s3_parse_delete(&d, (const char *)data, size);
	return 0;
}

#ifndef TSARC_LIBFUZZER
int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		unsigned char *buf;
		long n;

		if (!f) {
			perror(argv[i]);
			return 1;
		}
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc(n > 0 ? (size_t)n : 1);
		if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			return 1;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		free(buf);
	}
	printf("replayed %d inputs\n", argc - 1);
	return 0;
}
#endif
