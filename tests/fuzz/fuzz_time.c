/* Times come from manifests, lock objects and the command line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "retention.h"
#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[128];
	int64_t t;
	tsarc_keep_policy p;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	(void)tsarc_time_parse(text, &t);
	memset(&p, 0, sizeof(p));
	(void)tsarc_parse_within(text, &p);
	return 0;
}
