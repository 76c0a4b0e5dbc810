/*
 * Fuzz target for the parsers of credential answers: STS XML
 * (AssumeRole, AssumeRoleWithWebIdentity) and the JSON of the container
 * endpoint and the instance metadata service. Whatever answers at those
 * addresses is untrusted; so is anything in between.
 *
 * With clang: a libFuzzer target (fuzz_s3_creds). Otherwise linked with
 * the one replay driver, tests/fuzz/standalone.c, over the seed corpus
 * (tests/s3/creds-corpus) and its mutations, under ctest.
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
