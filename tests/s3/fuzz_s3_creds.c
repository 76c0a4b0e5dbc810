/*
 * Fuzz target for the parsers of credential answers: STS XML
 * (AssumeRole, AssumeRoleWithWebIdentity) and the JSON of the container
 * endpoint and the instance metadata service. Whatever answers at those
 * addresses is untrusted; so is anything in between.
 *
 * With clang: a libFuzzer target (fuzz_s3_creds). Otherwise: a replay
 * program for the seed corpus (tests/s3/creds-corpus) under ctest.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/stores/s3/metadata.h"
#include "../../backends/stores/s3/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, const tsarc__s3_creds *c)
{
	if (rc == 0) {
		/* Success means all of it, non-empty. */
		if (!c->access_key || !*c->access_key || !c->secret_key ||
		    !*c->secret_key || !c->session_token || !*c->session_token ||
		    c->expires <= 0)
			abort();
	} else if (c->access_key || c->secret_key || c->session_token) {
		abort(); /* a failed parse leaves nothing behind */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsarc__s3_creds c;
	int rc;

	rc = tsarc__s3_parse_sts_creds(&c, (const char *)data, size);
	check(rc, &c);
	tsarc__s3_creds_dispose(&c);
	rc = tsarc__s3_parse_cred_json(&c, (const char *)data, size);
	check(rc, &c);
	tsarc__s3_creds_dispose(&c);
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
