/* The strip filter (src/deploy/mysqlstrip.c): what it removes (DEFINER
 * clauses; the SET of SQL_LOG_BIN and GTID_PURGED of MySQL 8's mysqldump),
 * what it must leave alone (data, comments, SQL SECURITY DEFINER, a
 * routine's body, statements it cannot read whole), and that every split
 * of the input, down to one byte at a time, gives the same output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "cmocka_main.h"
#include <stdlib.h>
#include <string.h>

#include "deploy/mysqlstrip.h"

/* What the filters of a test remove. */
static unsigned strip_what = TSARC_STRIP_DEFINERS | TSARC_STRIP_BINLOG;

/* Feeds `in` in pieces of `step` bytes (0: split once at `at`). */
static char *filter(const char *in, size_t step, size_t at, unsigned long *count)
{
	tsarc_mysql_strip *f;
	tsarc_buf out = TSARC_BUF_INIT;
	size_t len = strlen(in), off = 0;

	assert_int_equal(tsarc_mysql_strip_new(&f, strip_what), 0);
	if (step == 0) {
		assert_int_equal(tsarc_mysql_strip_feed(f, in, at, &out), 0);
		assert_int_equal(tsarc_mysql_strip_feed(f, in + at, len - at, &out), 0);
	} else {
		for (off = 0; off < len; off += step) {
			size_t n = len - off < step ? len - off : step;
			assert_int_equal(tsarc_mysql_strip_feed(f, in + off, n, &out), 0);
		}
	}
	assert_int_equal(tsarc_mysql_strip_finish(f, &out), 0);
	if (count)
		*count = tsarc_mysql_strip_definers(f) + tsarc_mysql_strip_statements(f);
	tsarc_mysql_strip_free(f);
	assert_int_equal(tsarc_buf_append(&out, "", 1), 0);
	return (char *)out.ptr;
}

/* The same output whole, byte by byte and split at every position. */
static void check(const char *in, const char *want, unsigned long want_count)
{
	size_t at, len = strlen(in);
	unsigned long count;
	char *got = filter(in, 1, 0, &count);

	assert_string_equal(got, want);
	assert_int_equal(count, want_count);
	free(got);
	for (at = 0; at <= len; at++) {
		got = filter(in, 0, at, &count);
		assert_string_equal(got, want);
		assert_int_equal(count, want_count);
		free(got);
	}
	got = filter(in, 7, 0, NULL);
	assert_string_equal(got, want);
	free(got);
}

static void strips_mysqldump_objects(void **state)
{
	(void)state;
	/* Trigger, view, function, procedure and event as mysqldump and
	 * mariadb-dump write them. */
	check("/*!50003 CREATE*/ /*!50017 DEFINER=`admin`@`%`*/ /*!50003 TRIGGER t BEFORE INSERT "
	      "ON a FOR EACH ROW SET NEW.x = 1 */;;\n",
	      "/*!50003 CREATE*/ /*!50017 */ /*!50003 TRIGGER t BEFORE INSERT "
	      "ON a FOR EACH ROW SET NEW.x = 1 */;;\n", 1);
	check("/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL "
	      "SECURITY DEFINER */\n/*!50001 VIEW `v` AS select 1 */;\n",
	      "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013  SQL "
	      "SECURITY DEFINER */\n/*!50001 VIEW `v` AS select 1 */;\n", 1);
	check("CREATE DEFINER=`root`@`localhost` FUNCTION `f`() RETURNS varchar(4) CHARSET utf8mb4\n"
	      "BEGIN RETURN 'x'; END ;;\nCREATE DEFINER=`a``b`@`10.0.%` PROCEDURE `p`() BEGIN END",
	      "CREATE  FUNCTION `f`() RETURNS varchar(4) CHARSET utf8mb4\n"
	      "BEGIN RETURN 'x'; END ;;\nCREATE  PROCEDURE `p`() BEGIN END", 2);
	check("/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`localhost`*/ /*!50106 EVENT `e` ON "
	      "SCHEDULE EVERY 1 DAY DO SELECT 1 */ ;;",
	      "/*!50106 CREATE*/ /*!50117 */ /*!50106 EVENT `e` ON "
	      "SCHEDULE EVERY 1 DAY DO SELECT 1 */ ;;", 1);
}

/* A DEFINER clause longer than the filter looks at is kept, whole or in
 * pieces (before, it was removed when it came in one piece). */
static void long_clause_left(void **state)
{
	char in[3000];

	(void)state;
	memcpy(in, "CREATE DEFINER=`", 16);
	memset(in + 16, 'u', 2500);
	strcpy(in + 2516, "`@`h` VIEW v;");
	check(in, in, 0);
}

static void other_spellings(void **state)
{
	(void)state;
	check("create definer = 'o''brien'@'%' view v as select 1;",
	      "create  view v as select 1;", 1);
	check("CREATE DEFINER=\"u\\\"x\"@\"h\" TRIGGER", "CREATE  TRIGGER", 1);
	check("CREATE DEFINER=root@localhost FUNCTION f()", "CREATE  FUNCTION f()", 1);
	check("CREATE DEFINER=CURRENT_USER() VIEW v", "CREATE  VIEW v", 1);
	check("CREATE DEFINER=current_user VIEW v", "CREATE  VIEW v", 1);
	check("CREATE DEFINER=`r` VIEW v", "CREATE  VIEW v", 1);
	check("/*M!100000 DEFINER=`x`@`y` */", "/*M!100000  */", 1);
}

static void leaves_data_and_comments(void **state)
{
	(void)state;
	static const char *const same[] = {
		"INSERT INTO t VALUES ('DEFINER=`root`@`localhost`','it\\'s DEFINER=a@b');",
		"INSERT INTO t VALUES (\"DEFINER=x@y\");",
		"SELECT `DEFINER=x@y` FROM t;",
		"-- DEFINER=`root`@`localhost`\nSELECT 1;",
		"# DEFINER=`root`@`localhost`\nSELECT 1;",
		"/* DEFINER=`root`@`localhost` */ SELECT 1;",
		"/*!50013 SQL SECURITY DEFINER */",
		"SELECT REDEFINER=1, xDEFINER=2, DEFINERS=3;",
		"SELECT 0xDEF1, X'DEFINER';",
		"INSERT INTO t VALUES ('a\\\\'), ('DEFINER=x@y');",
		"SELECT 'a''DEFINER=x@y';",
		"DEFINER",
		"DEFINER=",
		"DEFINER=`unterminated",
	};
	size_t i;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		check(same[i], same[i], 0);
}

static void large_input_passes_through(void **state)
{
	size_t n = 1u << 20, i;
	char *in = malloc(n + 1), *got;

	(void)state;
	assert_non_null(in);
	for (i = 0; i < n; i++)
		in[i] = "('DEFINER=x@y'),\n"[i % 17];
	in[n] = '\0';
	got = filter(in, 4096, 0, NULL);
	assert_string_equal(got, in);
	free(got);
	free(in);
}

/* MySQL 8's mysqldump of a server with GTIDs: its head and foot. */
#define HEAD "/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;\n"
#define KEEP_VAR "SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;\n"
#define LOG_OFF "SET @@SESSION.SQL_LOG_BIN= 0;"
#define GTID_COMMENT "\n--\n-- GTID state at the beginning of the backup \n--\n\n"
#define GTIDS "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77,\n" \
	"7a2b5c1e-0d3f-11ef-8c4a-0242ac120002:1-5';"
#define BODY "\nINSERT INTO `settings` VALUES (1,'SET sql_log_bin=0;');\n"
#define LOG_BACK "SET @@SESSION.SQL_LOG_BIN = @MYSQLDUMP_TEMP_LOG_BIN;"
#define FOOT "\n/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n"

static void strips_binlog_statements(void **state)
{
	(void)state;
	check(HEAD KEEP_VAR LOG_OFF "\n" GTID_COMMENT GTIDS "\n" BODY LOG_BACK FOOT,
	      HEAD KEEP_VAR "\n" GTID_COMMENT "\n" BODY FOOT, 3);
	/* Other spellings of the same: any scope, any case, blanks, comments
	 * before it, one statement after another on a line. */
	check("set session sql_log_bin=1;", "", 1);
	check("SET sql_log_bin = OFF ;SET @@sql_log_bin=@v;", "", 2);
	check("SET GLOBAL gtid_purged = '';\n", "\n", 1);
	check("SET\t@@global.GTID_PURGED=\"x:1\";", "", 1);
	check("SET @@GLOBAL.GTID_PURGED='a:1-5';", "", 1);
	check("SELECT 1; -- c\n# c\n/* c */ SET @@SESSION.SQL_LOG_BIN= 0; SELECT 2;",
	      "SELECT 1; -- c\n# c\n/* c */  SELECT 2;", 1);
	/* Only what was asked. */
	strip_what = TSARC_STRIP_DEFINERS;
	check(LOG_OFF GTIDS, LOG_OFF GTIDS, 0);
	strip_what = TSARC_STRIP_BINLOG;
	check("CREATE DEFINER=`a`@`b` VIEW v AS SELECT 1;" LOG_OFF,
	      "CREATE DEFINER=`a`@`b` VIEW v AS SELECT 1;", 1);
	strip_what = TSARC_STRIP_DEFINERS | TSARC_STRIP_BINLOG;
}

/* A statement is removed only where it is one of its own and read whole:
 * never in a routine's body, in data, a comment, or in part. */
static void leaves_other_statements(void **state)
{
	(void)state;
	static const char *const same[] = {
		KEEP_VAR,
		"SELECT 1 " LOG_OFF,
		"INSERT INTO t VALUES ('" LOG_OFF "');",
		"INSERT INTO t VALUES ('x'), (\"" LOG_OFF "\");",
		"-- " LOG_OFF "\n",
		"/* " LOG_OFF " */",
		"/*!80000 " LOG_OFF " */;",
		"SET sql_log_bin = 0, @x = 1;",
		"SET @@GLOBAL.GTID_PURGED = CONCAT('a', 'b');",
		"SET sql_log_bin = (SELECT 0);",
		"SET sql_log_binx = 0;",
		"SET @sql_log_bin = 0;",
		"SET sql_log_bin 0;",
		"SET sql_log_bin = ;",
		"SET @@GLOBAL.GTID_PURGED='unterminated;",
		"SET @@SESSION.SQL_LOG_BIN= 0",
		"RESET sql_log_bin = 0;",
		"DELIMITER ;;\nCREATE PROCEDURE p() BEGIN\n" LOG_OFF "\nSELECT 1;\n" LOG_OFF
		"\nEND ;;\n",
		"DELIMITER $$ x\n" LOG_OFF,
		"DELIMITER 12345678901234567\n" LOG_OFF,
	};
	size_t i;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		check(same[i], same[i], 0);
	/* A DELIMITER line longer than the filter looks at: the same whatever
	 * the split (found by fuzz_mysqlstrip), and nothing removed after it. */
	{
		char in[400];
		memcpy(in, "DELIMITER ", 10);
		memset(in + 10, 'x', 300);
		strcpy(in + 310, "'\nCREATE DEFINER=`a`@`b` VIEW v;\n" LOG_OFF);
		check(in, in, 0);
	}
	/* Back to ';': removed again. */
	check("DELIMITER ;;\nCREATE PROCEDURE p() BEGIN " LOG_OFF " END ;;\nDELIMITER ;\n" LOG_OFF
	      "\n", "DELIMITER ;;\nCREATE PROCEDURE p() BEGIN " LOG_OFF " END ;;\nDELIMITER ;\n\n",
	      1);
	check("delimiter $$\r\nSELECT 1$$\n" LOG_OFF "$$\ndelimiter ;\n" GTIDS,
	      "delimiter $$\r\nSELECT 1$$\n" LOG_OFF "$$\ndelimiter ;\n", 1);
}

/* A statement longer than the filter reads whole is left to the server. */
static void long_statement_left(void **state)
{
	static const char head[] = "SET @@GLOBAL.GTID_PURGED='";
	size_t n = 300u * 1024u, i;
	char *in = malloc(n + 1), *got;

	(void)state;
	assert_non_null(in);
	memcpy(in, head, sizeof(head) - 1);
	for (i = sizeof(head) - 1; i < n - 2; i++)
		in[i] = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n"[i % 42];
	memcpy(in + n - 2, "';", 2);
	in[n] = '\0';
	got = filter(in, 4096, 0, NULL);
	assert_string_equal(got, in);
	free(got);
	got = filter(in, 0, n, NULL); /* whole: the same */
	assert_string_equal(got, in);
	free(got);
	memcpy(in + 200u * 1024u, "';", 2);
	in[200u * 1024u + 2] = '\0';
	got = filter(in, 4096, 0, NULL);
	assert_string_equal(got, "");
	free(got);
	got = filter(in, 0, 200u * 1024u + 2, NULL);
	assert_string_equal(got, "");
	free(got);
	free(in);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(long_statement_left),
	cmocka_unit_test(long_clause_left),
	cmocka_unit_test(strips_binlog_statements),
	cmocka_unit_test(leaves_other_statements),
	cmocka_unit_test(strips_mysqldump_objects),
	cmocka_unit_test(other_spellings),
	cmocka_unit_test(leaves_data_and_comments),
	cmocka_unit_test(large_input_passes_through))
