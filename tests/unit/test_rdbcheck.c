/*
 * redis-check-rdb's report as the Redis swap reads it (backends/components/
 * redis/rdbcheck.c) before it stops the server: real reports of Redis 7.0
 * (a good RDB with databases 3 and 15 and its count of keys, a cut one, a
 * version it does not know) and of Valkey 8.1's valkey-check-rdb (the
 * same form, more AUX fields), the tool missing, and reports that are no
 * such thing. The highest
 * database comes from "Selecting DB ID" lines only, never from a key name
 * that happens to say so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "rdbcheck.h"
#include "tsarc/errors.h"

#include <string.h>

static void good_rdb(void **state)
{
	tsarc_rdb_check c;
	(void)state;
	assert_int_equal(tsarc_rdb_check_parse(
		"[offset 0] Checking RDB file dump.rdb.tsarc-incoming\n"
		"[offset 27] AUX FIELD redis-ver = '7.0.15'\n"
		"[offset 82] Selecting DB ID 3\n"
		"[offset 92] Selecting DB ID 15\n"
		"[offset 109] Checksum OK\n"
		"[offset 109] \\o/ RDB looks OK! \\o/\n"
		"[info] 2 keys read\n[info] 0 expires\n[info] 0 already expired\n"
		"tsarc-check: 0\n", &c), 0);
	assert_true(c.present);
	assert_true(c.ok);
	assert_int_equal(c.max_db, 15);
	/* Every key of the file, expired ones too: the swap compares it with
	 * what the restarted server says it loaded (and dropped as expired). */
	assert_int_equal(c.keys, 2);
	/* No database selected (an empty data set). */
	assert_int_equal(tsarc_rdb_check_parse("[offset 0] Checking RDB file x\n"
		"[offset 9] \\o/ RDB looks OK! \\o/\ntsarc-check: 0\n", &c), 0);
	assert_true(c.ok);
	assert_int_equal(c.max_db, -1);
	assert_int_equal(c.keys, -1);
}

static void good_rdb_valkey81(void **state)
{
	tsarc_rdb_check c;
	(void)state;
	assert_int_equal(tsarc_rdb_check_parse(
		"[offset 0] Checking RDB file dump.rdb.tsarc-incoming\n"
		"[offset 27] AUX FIELD valkey-ver = '8.1.1'\n"
		"[offset 41] AUX FIELD redis-bits = '64'\n"
		"[offset 53] AUX FIELD ctime = '1796584963'\n"
		"[offset 68] AUX FIELD used-mem = '1035816'\n"
		"[offset 80] AUX FIELD aof-base = '0'\n"
		"[offset 82] Selecting DB ID 0\n"
		"[offset 92] Selecting DB ID 3\n"
		"[offset 109] Checksum OK\n"
		"[offset 109] \\o/ RDB looks OK! \\o/\n"
		"[info] 2 keys read\n[info] 0 expires\n[info] 0 already expired\n"
		"tsarc-check: 0\n", &c), 0);
	assert_true(c.present);
	assert_true(c.ok);
	assert_int_equal(c.max_db, 3);
	assert_int_equal(c.keys, 2);
	assert_string_equal(c.error, "");
}

static void bad_rdb(void **state)
{
	tsarc_rdb_check c;
	(void)state;
	assert_int_equal(tsarc_rdb_check_parse(
		"[offset 0] Checking RDB file cut.rdb\n"
		"[offset 27] AUX FIELD redis-ver = '7.0.15'\n"
		"--- RDB ERROR DETECTED ---\n"
		"[offset 55] Unexpected EOF reading RDB file\n"
		"[additional info] While doing: read-aux\n"
		"[info] 0 keys read\n"
		"tsarc-check: 1\n", &c), 0);
	assert_true(c.present);
	assert_false(c.ok);
	assert_string_equal(c.error, "Unexpected EOF reading RDB file");
	/* A version the server does not know: no error banner, status 1. */
	assert_int_equal(tsarc_rdb_check_parse(
		"[offset 0] Checking RDB file x\n"
		"[offset 9] Can't handle RDB format version 99\n"
		"[info] 0 keys read\n"
		"tsarc-check: 1\n", &c), 0);
	assert_false(c.ok);
	assert_string_equal(c.error, "Can't handle RDB format version 99");
	/* Status 0 without "looks OK" is not a pass. */
	assert_int_equal(tsarc_rdb_check_parse("something else\ntsarc-check: 0\n", &c), 0);
	assert_false(c.ok);
	assert_string_equal(c.error, "something else");
	/* A file it cannot open: Redis 6 and 7.0 say only that they began
	 * (their real report), which is no reason. */
	assert_int_equal(tsarc_rdb_check_parse(
		"[offset 0] Checking RDB file dump.rdb.tsarc-incoming\n"
		"tsarc-check: 1\n", &c), 0);
	assert_false(c.ok);
	assert_string_equal(c.error, "it could not open or read the file: exit status 1 right "
		"after \"Checking RDB file dump.rdb.tsarc-incoming\"");
	/* A failure whose lines say nothing still gets a reason. */
	assert_int_equal(tsarc_rdb_check_parse("[offset 1]   \ntsarc-check: 1\n", &c), 0);
	assert_false(c.ok);
	assert_string_equal(c.error, "exit status 1, nothing said why");
	/* Status 0, "looks OK", and an error banner: not a pass either. */
	assert_int_equal(tsarc_rdb_check_parse("--- RDB ERROR DETECTED ---\nx\n"
		"RDB looks OK\ntsarc-check: 0\n", &c), 0);
	assert_false(c.ok);
}

static void key_names_do_not_count(void **state)
{
	tsarc_rdb_check c;
	(void)state;
	/* A key's name quoted in a line is not a database selected; control
	 * bytes of the error line are not copied as they are. */
	assert_int_equal(tsarc_rdb_check_parse(
		"[offset 82] Selecting DB ID 2\n"
		"[offset 90] Reading key 'Selecting DB ID 99'\n"
		"--- RDB ERROR DETECTED ---\n"
		"[offset 95] Bad key \x1b[31m\n"
		"tsarc-check: 1\n", &c), 0);
	assert_int_equal(c.max_db, 2);
	assert_false(c.ok);
	assert_string_equal(c.error, "Bad key ?[31m");
	/* A database number too large to read is read as more than any
	 * server has, not as none. */
	assert_int_equal(tsarc_rdb_check_parse("[offset 1] Selecting DB ID 99999999999999999999\n"
		"[offset 2] RDB looks OK\ntsarc-check: 0\n", &c), 0);
	assert_true(c.max_db >= 999999999999LL);
}

static void missing_or_no_report(void **state)
{
	tsarc_rdb_check c;
	(void)state;
	assert_int_equal(tsarc_rdb_check_parse("tsarc-check: missing\n", &c), 0);
	assert_false(c.present);
	assert_int_equal(tsarc_rdb_check_parse("", &c), TSARC_EIO);
	assert_int_equal(tsarc_rdb_check_parse("[offset 9] RDB looks OK\n", &c), TSARC_EIO);
	assert_int_equal(tsarc_rdb_check_parse("tsarc-check: x\n", &c), TSARC_EIO);
	/* Output after the status line does not hide it. */
	assert_int_equal(tsarc_rdb_check_parse("tsarc-check: 0\nmore\n", &c), 0);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(good_rdb),
	cmocka_unit_test(good_rdb_valkey81),
	cmocka_unit_test(bad_rdb),
	cmocka_unit_test(key_names_do_not_count),
	cmocka_unit_test(missing_or_no_report))
