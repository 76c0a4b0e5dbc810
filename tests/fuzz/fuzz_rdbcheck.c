/* redis-check-rdb's report, as the Redis swap reads it before stopping the
 * server (backends/components/redis/rdbcheck.c): the tool prints the key
 * names of the RDB it reads, and the RDB comes out of the repository. Any
 * bytes: no crash or read past the input; a report without a status line
 * is refused with EIO and a message; what is read is consistent (a pass
 * has no error text, a failure always has one, printable only, and no
 * database number below -1). The same bytes as the INFO server answer the
 * plan of a swap asks the server in its pod (readers.c): a verdict of 1, 0
 * or -1, and where it judged, the server and what it reads said, printable
 * and within their buffers; whether it names a Valkey (which picks the
 * swap's valkey-check-rdb and valkey-server), 1 or 0. A few reports and answers with known verdicts
 * are checked on the first call, so a parser that accepts or refuses
 * everything fails. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rdbcheck.h"
#include "readers.h"
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

/* Printable, and ended within its buffer of `size`. */
static void printable(const char *s, size_t size)
{
	size_t i;

	if (!memchr(s, '\0', size))
		abort();
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

static void info_reads(const char *text)
{
	static const int versions[] = {1, 9, 10, 11, 12, 13, 79, 80, 81, 65535};
	char server[64], reads[300];
	size_t i;
	int v;

	for (i = 0; i < sizeof(versions) / sizeof(*versions); i++) {
		memset(server, 'x', sizeof(server));
		memset(reads, 'x', sizeof(reads));
		v = tsarc_redis_info_reads(text, versions[i], server, sizeof(server), reads,
			sizeof(reads));
		if (v < -1 || v > 1)
			abort();
		printable(server, sizeof(server));
		printable(reads, sizeof(reads));
		if (v >= 0 && (!server[0] || !reads[0]))
			abort();
	}
}

static void known_answers(void)
{
	tsarc_rdb_check c;
	char server[64], reads[300];

	if (tsarc_rdb_check_parse("[offset 1] Selecting DB ID 15\n[offset 2] \\o/ RDB looks OK! "
		"\\o/\ntsarc-check: 0\n", &c) || !c.ok || c.max_db != 15 ||
		tsarc_rdb_check_parse("--- RDB ERROR DETECTED ---\n[offset 5] Bad\ntsarc-check: 1\n",
		&c) || c.ok || strcmp(c.error, "Bad") ||
		tsarc_rdb_check_parse("no status\n", &c) != TSARC_EIO ||
		tsarc_redis_info_reads("# Server\r\nredis_version:6.2.7\r\n", 10, server,
		sizeof(server), reads, sizeof(reads)) != 0 ||
		tsarc_redis_info_reads("redis_version:7.2.4\r\nvalkey_version:8.0.1\r\n", 11,
		server, sizeof(server), reads, sizeof(reads)) != 1 ||
		tsarc_redis_info_reads("redis_version:\r\n", 9, server, sizeof(server), reads,
		sizeof(reads)) != -1 ||
		!tsarc_redis_info_valkey("redis_version:7.2.4\r\nserver_name:valkey\r\n") ||
		tsarc_redis_info_valkey("redis_version:7.0.15\r\nredis_mode:standalone\r\n"))
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
	info_reads(text);
	if (tsarc_redis_info_valkey(text) & ~1)
		abort();
	free(text);
	return 0;
}
