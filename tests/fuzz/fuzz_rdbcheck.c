/* redis-check-rdb's report, as the Redis swap reads it before stopping the
 * server (backends/components/redis/rdbcheck.c): the tool prints the key
 * names of the RDB it reads, and the RDB comes out of the repository. Any
 * bytes: no crash or read past the input; a report without a status line
 * is refused with EIO and a message; what is read is consistent (a pass
 * has no error text, a failure always has one, printable only, and no
 * database number below -1). A few reports with known answers are checked
 * on the first call, so a parser that accepts or refuses everything fails. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rdbcheck.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64u * 1024u)

static void check(const char *text)
{
	tsarc_rdb_check c;
	const tsarc_error *e;
	size_t i;
	int rc = tsarc_rdb_check_parse(text, &c);

	if (rc) {
		e = tsarc_error_last();
		if (rc != TSARC_EIO || e->code != TSARC_EIO || !e->message || !e->message[0])
			abort();
		return;
	}
	if (c.max_db < -1 || (c.ok && (!c.present || c.error[0])) ||
		(c.present && !c.ok && !c.error[0]) || !memchr(c.error, '\0', sizeof(c.error)))
		abort();
	for (i = 0; c.error[i]; i++)
		if ((unsigned char)c.error[i] < 0x20 || c.error[i] == 0x7f)
			abort();
}

static void known_answers(void)
{
	tsarc_rdb_check c;

	if (tsarc_rdb_check_parse("[offset 1] Selecting DB ID 15\n[offset 2] \\o/ RDB looks OK! "
		"\\o/\ntsarc-check: 0\n", &c) || !c.ok || c.max_db != 15 ||
		tsarc_rdb_check_parse("--- RDB ERROR DETECTED ---\n[offset 5] Bad\ntsarc-check: 1\n",
		&c) || c.ok || strcmp(c.error, "Bad") ||
		tsarc_rdb_check_parse("no status\n", &c) != TSARC_EIO)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int first = 1;
	char *text;

	if (first) {
		known_answers();
		first = 0;
	}
	if (size > INPUT_MAX)
		return 0;
	if (!(text = malloc(size + 1)))
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	check(text);
	free(text);
	return 0;
}
