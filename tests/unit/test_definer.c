/* The DEFINER filter (src/deploy/definer.c): what it removes, what it must
 * leave alone (data, comments, SQL SECURITY DEFINER), and that every split
 * of the input, down to one byte at a time, gives the same output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "cmocka_main.h"
#include <stdlib.h>
#include <string.h>

#include "deploy/definer.h"

/* Feeds `in` in pieces of `step` bytes (0: split once at `at`). */
static char *filter(const char *in, size_t step, size_t at, unsigned long *count)
{
	tsarc_definer_filter *f;
	tsarc_buf out = TSARC_BUF_INIT;
	size_t len = strlen(in), off = 0;

	assert_int_equal(tsarc_definer_filter_new(&f), 0);
	if (step == 0) {
		assert_int_equal(tsarc_definer_filter_feed(f, in, at, &out), 0);
		assert_int_equal(tsarc_definer_filter_feed(f, in + at, len - at, &out), 0);
	} else {
		for (off = 0; off < len; off += step) {
			size_t n = len - off < step ? len - off : step;
			assert_int_equal(tsarc_definer_filter_feed(f, in + off, n, &out), 0);
		}
	}
	assert_int_equal(tsarc_definer_filter_finish(f, &out), 0);
	if (count)
		*count = tsarc_definer_filter_count(f);
	tsarc_definer_filter_free(f);
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

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(strips_mysqldump_objects),
	cmocka_unit_test(other_spellings),
	cmocka_unit_test(leaves_data_and_comments),
	cmocka_unit_test(large_input_passes_through))
