/*
 * Fuzz target for the parsers of S3 response bodies (backends/stores/s3/xml.c),
 * which read whatever a server, or anything in between, sends.
 *
 * With clang: a libFuzzer target (fuzz_s3_xml, -fsanitize=fuzzer).
 * Otherwise linked with the one replay driver, tests/fuzz/standalone.c,
 * so the seed corpus and its mutations run under ctest with any compiler.
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
	{
		tsarc__s3_versions_page v;
		tsarc__s3_delete_errors de;
		int enabled;
		if (tsarc__s3_parse_versions(&v, (const char *)data, size) == 0) {
			for (i = 0; i < v.count; i++)
				if (!v.entries[i].key || !v.entries[i].key[0] ||
					!v.entries[i].version_id || !v.entries[i].version_id[0])
					abort();
			if (v.truncated && !v.next_key)
				abort();
			tsarc__s3_versions_page_dispose(&v);
		} else if (v.entries || v.count || v.next_key || v.next_version) {
			abort();
		}
		if (tsarc__s3_parse_delete_errors(&de, (const char *)data, size) == 0) {
			for (i = 0; i < de.count; i++)
				if (!de.v[i].key || (de.v[i].version_id && !de.v[i].version_id[0]))
					abort();
			tsarc__s3_delete_errors_dispose(&de);
		} else if (de.v || de.count) {
			abort();
		}
		tsarc__s3_parse_lock_config(&enabled, (const char *)data, size);
		if (enabled != 0 && enabled != 1)
			abort();
	}
	return 0;
}
