/*
 * Which server reads which RDB version, from its INFO server answer
 * (backends/components/redis/readers.c): what the plan of an RDB swap into
 * a Redis in its pod judges by. The answers are real ones (the lines
 * that matter, with the CRLF redis-cli passes through) of Redis 6.0.16,
 * 7.0.15 and 8.0.2, and Valkey 8.0.1, 8.1.1 (Debian 13's) and 9.1.2, which
 * also say "redis_version:7.2.4": a Valkey is judged by its own version,
 * and known for one (the swap runs its valkey-check-rdb and valkey-server).
 * A server the table does not know, or an answer without a version, is not
 * judged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "readers.h"

#include <string.h>

#define INFO_HEAD "# Server\r\n"
static const char REDIS6[] = INFO_HEAD "redis_version:6.0.16\r\nredis_git_sha1:00000000\r\n"
	"redis_mode:standalone\r\ngcc_version:10.2.1\r\n";
static const char REDIS70[] = INFO_HEAD "redis_version:7.0.15\r\nredis_mode:standalone\r\n";
static const char REDIS8[] = INFO_HEAD "redis_version:8.0.2\r\nredis_mode:standalone\r\n";
static const char VALKEY8[] = INFO_HEAD "redis_version:7.2.4\r\nserver_name:valkey\r\n"
	"valkey_version:8.0.1\r\nserver_mode:standalone\r\n";
static const char VALKEY81[] = INFO_HEAD "redis_version:7.2.4\r\nserver_name:valkey\r\n"
	"valkey_version:8.1.1\r\nvalkey_release_stage:ga\r\nredis_git_sha1:00000000\r\n"
	"server_mode:standalone\r\n";
static const char VALKEY9[] = INFO_HEAD "redis_version:7.2.4\r\nserver_name:valkey\r\n"
	"valkey_version:9.1.2\r\nserver_mode:standalone\r\n";

static int reads(const char *info, int version, char *server, char *what)
{
	return tsarc_redis_info_reads(info, version, server, 64, what, 200);
}

static void redis_series(void **state)
{
	char server[64], what[200];
	(void)state;
	assert_int_equal(reads(REDIS6, 9, server, what), 1);
	assert_string_equal(server, "Redis 6.0.16");
	assert_string_equal(what, "RDB version 9 at most");
	assert_int_equal(reads(REDIS6, 8, server, what), 1);
	assert_int_equal(reads(REDIS6, 10, server, what), 0);
	assert_int_equal(reads(REDIS6, 11, server, what), 0);
	assert_int_equal(reads(REDIS6, 80, server, what), 0);
	assert_int_equal(reads(REDIS70, 10, server, what), 1);
	assert_int_equal(reads(REDIS70, 11, server, what), 0);
	assert_string_equal(server, "Redis 7.0.15");
	assert_int_equal(reads(INFO_HEAD "redis_version:7.2.5\r\n", 11, server, what), 1);
	assert_int_equal(reads(INFO_HEAD "redis_version:7.2.5\r\n", 12, server, what), 0);
	assert_int_equal(reads(INFO_HEAD "redis_version:7.4.1\r\n", 12, server, what), 1);
	assert_int_equal(reads(INFO_HEAD "redis_version:7.4.1\r\n", 13, server, what), 0);
	assert_int_equal(reads(INFO_HEAD "redis_version:5.0.14\r\n", 10, server, what), 0);
}

static void redis_8_reads_12_at_least(void **state)
{
	char server[64], what[200];
	(void)state;
	assert_int_equal(reads(REDIS8, 12, server, what), 1);
	assert_string_equal(server, "Redis 8.0.2");
	assert_string_equal(what, "RDB version 12 at least");
	/* A newer Redis 8 may read more: not known. */
	assert_int_equal(reads(REDIS8, 13, server, what), -1);
	/* Valkey's own, which no Redis reads. */
	assert_int_equal(reads(REDIS8, 80, server, what), 0);
}

static void valkey_by_its_own_version(void **state)
{
	char server[64], what[200];
	(void)state;
	assert_int_equal(reads(VALKEY8, 11, server, what), 1);
	assert_string_equal(server, "Valkey 8.0.1");
	assert_string_equal(what, "RDB version 11 at most");
	assert_int_equal(reads(VALKEY8, 12, server, what), 0);
	assert_int_equal(reads(VALKEY8, 80, server, what), 0);
	assert_int_equal(reads(VALKEY81, 11, server, what), 1);
	assert_string_equal(server, "Valkey 8.1.1");
	assert_string_equal(what, "RDB version 11 at most");
	assert_int_equal(reads(VALKEY81, 12, server, what), 0);
	assert_int_equal(reads(VALKEY81, 80, server, what), 0);
	assert_int_equal(reads(VALKEY9, 80, server, what), 1);
	assert_int_equal(reads(VALKEY9, 11, server, what), 1);
	assert_string_equal(server, "Valkey 9.1.2");
	/* Redis's newer versions: only where rdb-version-check is relaxed. */
	assert_int_equal(reads(VALKEY9, 12, server, what), -1);
	assert_non_null(strstr(what, "rdb-version-check"));
	assert_int_equal(reads(VALKEY9, 81, server, what), 0);
	/* Valkey 10 is newer than the table. */
	assert_int_equal(reads(INFO_HEAD "valkey_version:10.0.0\r\n", 81, server, what), -1);
	assert_int_equal(reads(INFO_HEAD "valkey_version:10.0.0\r\n", 80, server, what), 1);
}

static void valkey_known(void **state)
{
	(void)state;
	assert_true(tsarc_redis_info_valkey(VALKEY8));
	assert_true(tsarc_redis_info_valkey(VALKEY81));
	assert_true(tsarc_redis_info_valkey(VALKEY9));
	assert_false(tsarc_redis_info_valkey(REDIS6));
	assert_false(tsarc_redis_info_valkey(REDIS70));
	assert_false(tsarc_redis_info_valkey(REDIS8));
	/* Its name alone (a version that is no number), at the end too. */
	assert_true(tsarc_redis_info_valkey(INFO_HEAD "server_name:valkey\r\nvalkey_version:x\r\n"));
	assert_true(tsarc_redis_info_valkey("server_name:valkey"));
	/* Names and values that only begin or end like Valkey's. */
	assert_false(tsarc_redis_info_valkey(INFO_HEAD "server_name:valkeyx\r\n"));
	assert_false(tsarc_redis_info_valkey(INFO_HEAD "server_name:redis\r\n"));
	assert_false(tsarc_redis_info_valkey(INFO_HEAD "my_server_name:valkey\r\n"));
	assert_false(tsarc_redis_info_valkey(INFO_HEAD "my_valkey_version:8.1.1\r\n"));
	assert_false(tsarc_redis_info_valkey(""));
}

static void not_judged(void **state)
{
	char server[64], what[200];
	(void)state;
	/* No version said (a user refused INFO, an error reply). */
	assert_int_equal(reads("NOPERM this user has no permissions to run the 'info' command\n",
		9, server, what), -1);
	assert_string_equal(server, "");
	assert_int_equal(reads("", 9, server, what), -1);
	/* Older than Redis 5, a release candidate's series, a version that
	 * is no number, a name that only ends like the field's. */
	assert_int_equal(reads(INFO_HEAD "redis_version:4.0.14\r\n", 8, server, what), -1);
	assert_int_equal(reads(INFO_HEAD "redis_version:7.1.242\r\n", 11, server, what), -1);
	assert_int_equal(reads(INFO_HEAD "redis_version:x.0\r\n", 9, server, what), -1);
	assert_int_equal(reads(INFO_HEAD "redis_version:7\r\n", 9, server, what), -1);
	assert_int_equal(reads(INFO_HEAD "my_redis_version:6.0.1\r\n", 10, server, what), -1);
	assert_int_equal(reads(INFO_HEAD "redis_version:99999999999999999999.0\r\n", 10, server,
		what), -1);
}

static void version_said_as_version_only(void **state)
{
	char server[64], what[200];
	(void)state;
	/* What follows the version's own characters (a terminal's escape, a
	 * tab) does not go into the messages. */
	assert_int_equal(reads(INFO_HEAD "redis_version:6.2.7-rhel\x1b[2J\tx\r\n", 10, server,
		what), 0);
	assert_string_equal(server, "Redis 6.2.7-rhel");
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(redis_series),
	cmocka_unit_test(redis_8_reads_12_at_least),
	cmocka_unit_test(valkey_by_its_own_version),
	cmocka_unit_test(valkey_known),
	cmocka_unit_test(not_judged),
	cmocka_unit_test(version_said_as_version_only))
