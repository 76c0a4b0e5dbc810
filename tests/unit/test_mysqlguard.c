/* The mysql load guard (src/deploy/mysqlguard.c): what a mariadb-dump of
 * one database writes passes; a statement that reaches another database
 * (USE, database DDL, a qualified name it writes), the server's accounts,
 * or a client command is refused, wherever the statement starts (after
 * the delimiter, after a `;` of a multi-statement, in a versioned
 * comment); and any split of the input gives the same answer and the same
 * message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/filter.h"
#include "deploy/mysqlguard.h"
#include "deploy/sqlreads.h"
#include "tsarc/errors.h"

#define TARGET "system"

/* text[0..len) fed in pieces of `step` (0: whole); the output must be the
 * input. The error message in msg. */
static int run(const char *text, size_t len, size_t step, size_t cut, char *msg, size_t msgsz)
{
	tsarc_mysql_guard *g;
	tsarc_buf out = TSARC_BUF_INIT;
	size_t i, n;
	int rc = 0;

	assert_int_equal(tsarc_mysql_guard_new(TARGET, &g), 0);
	if (cut) {
		rc = tsarc_mysql_guard_feed(g, text, cut, &out);
		if (!rc)
			rc = tsarc_mysql_guard_feed(g, text + cut, len - cut, &out);
	} else {
		if (!step)
			step = len ? len : 1;
		for (i = 0; i < len && !rc; i += n) {
			n = len - i < step ? len - i : step;
			rc = tsarc_mysql_guard_feed(g, text + i, n, &out);
		}
	}
	if (!rc)
		rc = tsarc_mysql_guard_finish(g, &out);
	if (!rc && (out.size != len || (len && memcmp(out.ptr, text, len))))
		fail_msg("the output is not the input: %s", text);
	snprintf(msg, msgsz, "%s", rc ? tsarc_error_last()->message : "");
	tsarc_buf_dispose(&out);
	tsarc_mysql_guard_free(g);
	return rc;
}

/* The answer for the whole text, which byte-by-byte feeding and every
 * split into two pieces must give too, with the same message. */
static int verdict_msg(const char *text, char *msg, size_t msgsz)
{
	size_t len = strlen(text), cut;
	char other[1024];
	int whole, rc;

	whole = run(text, len, 0, 0, msg, msgsz);
	rc = run(text, len, 1, 0, other, sizeof(other));
	if (rc != whole || strcmp(other, msg))
		fail_msg("byte by byte: %d '%s', whole %d '%s': %s", rc, other, whole, msg, text);
	for (cut = 1; cut < len; cut++) {
		rc = run(text, len, 0, cut, other, sizeof(other));
		if (rc != whole || strcmp(other, msg))
			fail_msg("split at %zu: %d '%s', whole %d '%s': %s", cut, rc, other, whole,
				msg, text);
	}
	return whole;
}

static void passes(const char *text)
{
	char msg[1024];

	if (verdict_msg(text, msg, sizeof(msg)))
		fail_msg("refused: %s\n(%s)", text, msg);
}

/* Refused, the message holding `word`. */
static void refused(const char *text, const char *word)
{
	char msg[1024];

	if (verdict_msg(text, msg, sizeof(msg)) != TSARC_EUNSAFE)
		fail_msg("passed: %s", text);
	if (!strstr(msg, word))
		fail_msg("the message of %s does not hold '%s': %s", text, word, msg);
}

/* The parts of a mariadb-dump 10.11 of one database (--routines
 * --triggers --events --hex-blob), as it writes them. */
static const char DUMP[] =
	"/*M!999999\\- enable the sandbox mode */ \n"
	"-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n"
	"--\n-- Host: 127.0.0.1    Database: system\n\n"
	"/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n"
	"/*!40101 SET NAMES utf8mb4 */;\n"
	"/*!40103 SET TIME_ZONE='+00:00' */;\n"
	"/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n"
	"DROP TABLE IF EXISTS `a`;\n"
	"/*!40101 SET @saved_cs_client     = @@character_set_client */;\n"
	"CREATE TABLE `a` (\n  `id` int(11) NOT NULL,\n  `s` text DEFAULT NULL,\n"
	"  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n"
	"LOCK TABLES `a` WRITE;\n"
	"/*!40000 ALTER TABLE `a` DISABLE KEYS */;\n"
	"INSERT INTO `a` VALUES\n(1,'it\\'s \\\\ a \\\"q\\\" `b` ; USE other; -- x',0x00FF27),\n"
	"(2,NULL,NULL),(3,'DROP DATABASE x; GRANT ALL','\\\\');\n"
	"/*!40000 ALTER TABLE `a` ENABLE KEYS */;\n"
	"UNLOCK TABLES;\n"
	"/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;\n"
	"/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"
	"NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION' */ ;\n"
	"DELIMITER ;;\n"
	"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER system.tr "
	"BEFORE INSERT ON system.a FOR EACH ROW SET NEW.id = NEW.id + 0 \n*/;;\n"
	"/*!50003 CREATE*/ /*!50017 DEFINER=`app`@`%`*/ /*!50003 TRIGGER `a_bi` BEFORE INSERT "
	"ON `a` FOR EACH ROW BEGIN\n  DECLARE n INT;\n  IF @disable_triggers IS NULL THEN\n"
	"    SET NEW.s = COALESCE(NEW.s, 'x;y');\n  END IF;\nEND */;;\n"
	"DELIMITER ;\n"
	"/*!50003 SET sql_mode              = @saved_sql_mode */ ;\n"
	"/*!50001 DROP VIEW IF EXISTS `v`*/;\n"
	"SET @saved_cs_client     = @@character_set_client;\n"
	"/*!50001 CREATE VIEW `v` AS SELECT\n 1 AS `id` */;\n"
	"/*!50106 DROP EVENT IF EXISTS `nightly` */;\n"
	"DELIMITER ;;\n"
	"/*!50003 SET time_zone             = 'SYSTEM' */ ;;\n"
	"/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`localhost`*/ /*!50106 EVENT `nightly` ON "
	"SCHEDULE EVERY 1 DAY STARTS '2026-12-03 17:37:55' ON COMPLETION NOT PRESERVE DISABLE "
	"DO DELETE FROM a WHERE id < 0 \n*/ ;;\n"
	"DELIMITER ;\n"
	"/*!50003 DROP FUNCTION IF EXISTS `smile` */;\n"
	"DELIMITER ;;\n"
	"CREATE DEFINER=`root`@`localhost` FUNCTION `smile`() RETURNS varchar(8) CHARSET utf8mb4\n"
	"    DETERMINISTIC\nRETURN '\xf0\x9f\x98\x80'\n;;\n"
	"CREATE DEFINER=`root`@`localhost` PROCEDURE `sp`(OUT n INT)\n"
	"BEGIN SELECT COUNT(*) INTO n FROM other.o; SELECT 'USE other;'; END\n;;\n"
	"DELIMITER ;\n"
	"ALTER DATABASE `system` CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci ;\n"
	"/*!50001 DROP VIEW IF EXISTS `v`*/;\n"
	"/*!50001 CREATE ALGORITHM=UNDEFINED */\n"
	"/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n"
	"/*!50001 VIEW `v` AS select `other`.`o`.`id` AS `id` from `other`.`o` */;\n"
	"/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n"
	"-- Dump completed\n";

static void dump_passes(void **state)
{
	(void)state;
	passes(DUMP);
	/* Taken with --databases, of the target itself. */
	passes("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `system` /*!40100 DEFAULT CHARACTER "
	       "SET utf8mb4 */;\n\nUSE `system`;\n");
	passes("ALTER DATABASE CHARACTER SET latin1;\nuse system;\n");
	/* What a statement reads, and names in comments and strings. */
	passes("INSERT INTO t SELECT * FROM other.x;\nCREATE TABLE t2 LIKE other.x;\n");
	passes("INSERT INTO t (a, b) VALUES (1, 2);\nCREATE TABLE system.t3 (a int);\n");
	passes("-- USE other;\n# DROP DATABASE x\n/* GRANT ALL; */ SELECT 1;\n");
	passes("SELECT 'a\\';USE other;';\nSELECT \"\\\";USE other;\";\n");
	passes("DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\n");
	passes("DELIMITER $\nSELECT 1$\nDELIMITER ;\nSELECT 2;");
	passes("UPDATE t SET a = other.f(1) WHERE b = 2;\nDELETE FROM t WHERE a IN "
	       "(SELECT id FROM other.o);\n");
	passes("UPDATE t JOIN u ON t.id = u.id SET t.a = 1;\nDELETE FROM t USING t JOIN u ON "
	       "t.id = u.id;\n");
	passes("SELECT 1 - -1; SELECT 2--3;\nSELECT 4/2, 3*2;");
	passes("");
}

static void other_database_refused(void **state)
{
	(void)state;
	refused("USE other;", "USE `other`");
	refused("use other\n", "USE `other`");
	refused("USE `oth``er`;", "USE `oth`er`");
	refused("/*!40000 USE other */;", "USE `other`");
	refused("SELECT 1; USE other;", "USE");
	refused("DELIMITER ;;\nSET @a = 1; USE other;;\n", "USE");
	refused("CREATE DATABASE other;", "CREATE DATABASE `other`");
	refused("CREATE SCHEMA IF NOT EXISTS other;", "CREATE SCHEMA `other`");
	refused("ALTER DATABASE `other` CHARACTER SET utf8mb4;", "ALTER DATABASE `other`");
	refused("DROP DATABASE system;", "DROP DATABASE");
	refused("/*!40000 DROP DATABASE IF EXISTS `other` */;", "DROP DATABASE");
	refused("INSERT INTO other.o VALUES (1);", "INSERT `other`");
	refused("INSERT other.o VALUES (1);", "INSERT `other`");
	refused("REPLACE INTO `other`.`o` VALUES (1);", "REPLACE `other`");
	refused("INSERT LOW_PRIORITY IGNORE INTO other . o SET a = 1;", "other");
	refused("UPDATE other.o SET a = 1;", "UPDATE `other`");
	refused("DELETE FROM other.o;", "DELETE `other`");
	refused("UPDATE t JOIN other.o ON t.id = o.id SET t.a = 1;", "UPDATE `other`");
	refused("TRUNCATE TABLE other.o;", "TRUNCATE `other`");
	refused("LOCK TABLES t WRITE, other.o READ;", "LOCK `other`");
	refused("RENAME TABLE t TO other.t;", "RENAME `other`");
	refused("DROP TABLE IF EXISTS t, other.o;", "DROP TABLE `other`");
	refused("DROP VIEW other.v;", "DROP VIEW `other`");
	refused("CREATE TABLE other.t (a int);", "CREATE TABLE `other`");
	refused("CREATE OR REPLACE VIEW other.v AS SELECT 1;", "CREATE VIEW `other`");
	refused("CREATE DEFINER=`x`@`%` TRIGGER tr BEFORE INSERT ON other.o FOR EACH ROW SET "
		"@a = 1;", "CREATE TRIGGER `other`");
	refused("/*!50003 CREATE*/ /*!50003 TRIGGER other.tr BEFORE INSERT ON o FOR EACH ROW "
		"SET @a = 1 */;", "CREATE TRIGGER `other`");
	refused("CREATE PROCEDURE other.p() SELECT 1;", "CREATE PROCEDURE `other`");
	refused("CREATE EVENT other.e ON SCHEDULE EVERY 1 DAY DO SELECT 1;", "CREATE EVENT");
	refused("ALTER TABLE other.t ADD c INT;", "ALTER TABLE `other`");
	refused("ALTER TABLE t RENAME TO other.t2;", "ALTER TABLE `other`");
	passes("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES other.x (id);");
	refused("CREATE INDEX i ON other.t (a);", "CREATE INDEX `other`");
	refused("DROP TRIGGER IF EXISTS other.tr;", "DROP TRIGGER `other`");
	/* A trigger's body is read statement by statement too. */
	refused("DELIMITER ;;\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN "
		"SET @a = 1; INSERT INTO other.log VALUES (1); END;;\n", "INSERT `other`");
}

static void offset_named(void **state)
{
	char msg[1024];

	(void)state;
	assert_int_equal(verdict_msg("SELECT 1;\n  USE other;", msg, sizeof(msg)), TSARC_EUNSAFE);
	assert_non_null(strstr(msg, "at byte 12 "));
	assert_non_null(strstr(msg, "database `system` only"));
}

static void accounts_refused(void **state)
{
	(void)state;
	refused("GRANT ALL ON *.* TO 'x'@'%';", "GRANT");
	refused("REVOKE ALL ON system.* FROM app;", "REVOKE");
	refused("CREATE USER x IDENTIFIED BY 'y';", "CREATE USER");
	refused("CREATE OR REPLACE USER x;", "CREATE USER");
	refused("DROP USER IF EXISTS app;", "DROP USER");
	refused("ALTER USER app IDENTIFIED BY 'z';", "ALTER USER");
	refused("RENAME USER a TO b;", "RENAME USER");
	refused("CREATE ROLE r;", "CREATE ROLE");
	refused("SET PASSWORD FOR app = PASSWORD('x');", "SET PASSWORD");
	refused("SET DEFAULT ROLE r FOR app;", "SET DEFAULT");
	refused("INSTALL PLUGIN x SONAME 'y.so';", "INSTALL");
	refused("CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (HOST 'h');", "CREATE SERVER");
	refused("LOAD DATA INFILE '/etc/passwd' INTO TABLE t;", "LOAD");
	refused("SELECT * FROM t INTO OUTFILE '/tmp/x';", "OUTFILE");
	refused("SELECT 'x' INTO dumpfile '/tmp/x';", "OUTFILE");
	passes("SELECT COUNT(*) INTO @n FROM t; INSERT INTO `outfile` VALUES (1);");
}

static void client_commands_refused(void **state)
{
	(void)state;
	refused("SELECT 1 \\g", "backslash");
	refused("\\! touch x\n", "backslash");
	refused("/*M!999999\\- enable the sandbox mode */ USE other;\n", "sandbox");
	refused("SELECT 1; /*M!999999\\- enable the sandbox mode */\n", "backslash");
	refused("/*M!999999\\- x */ USE other;\n", "backslash");
	refused("SELECT 1; DELIMITER ;;\n", "DELIMITER");
	refused("DELIMITER\n", "DELIMITER");
	refused("DELIMITER ;; SELECT 1;;\n", "DELIMITER");
	refused("DELIMITER 'x'\n", "DELIMITER");
	refused("DELIMITER ;;\nSELECT 1; DELIMITER ;\n", "DELIMITER");
}

static void sql_modes_refused(void **state)
{
	(void)state;
	refused("SET sql_mode = 'NO_BACKSLASH_ESCAPES';", "sql_mode");
	refused("SET SESSION sql_mode = 'ansi';", "sql_mode");
	refused("/*!50003 SET sql_mode = 'STRICT_TRANS_TABLES,ANSI_QUOTES' */ ;", "sql_mode");
	refused("SET sql_mode = 'STRICT_TRANS_TABLES, db2';", "sql_mode");
	passes("SET @saved_sql_mode = @@sql_mode; SET sql_mode = @saved_sql_mode;");
	/* Names that merely hold a mode's letters. */
	passes("SET @@GLOBAL.GTID_PURGED = '3E11FA47-71CA-11E1-DB2F-C80AA9429562:1-5';");
	passes("SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO,ANSI_QUOTES_NOT';");
	/* Through a variable or an expression: what it holds is not seen. */
	refused("SET @m = CONCAT('NO_BACKSLASH', '_ESCAPES'); SET sql_mode = @m;", "sql_mode");
	refused("SET SESSION sql_mode = (SELECT 'ANSI');", "sql_mode");
	refused("SET @@session.sql_mode = CONCAT(@@sql_mode, ',ANSI');", "sql_mode");
	refused("SET @saved = @@sql_mode; SET @saved = 'ANSI'; SET sql_mode = @saved;", "sql_mode");
	refused("SET STATEMENT sql_mode = 'ANSI_QUOTES' FOR SELECT 1;", "sql_mode");
	refused("SET sql_mode = 'NO_BACKSLASH' '_ESCAPES';", "sql_mode");
	passes("SET @a = 1, @OLD_SQL_MODE = @@SQL_MODE, SQL_MODE = 'NO_AUTO_VALUE_ON_ZERO';\n"
	       "SET SQL_MODE = @OLD_SQL_MODE;\nSET sql_mode = DEFAULT;\n");
}

/* A client character set in which a byte of 0x80 or more takes the '\\'
 * or quote after it into one character: the server would end a string
 * where the guard does not. */
static void charsets_refused(void **state)
{
	(void)state;
	refused("SET NAMES sjis;", "character set");
	refused("/*!40101 SET NAMES 'big5' */;", "character set");
	refused("SET CHARACTER SET gbk;", "character set");
	refused("SET character_set_client = cp932;", "character set");
	refused("SET @@session.character_set_client = 'gb18030';", "character set");
	refused("SET @cs = 'sjis'; SET character_set_client = @cs;", "character set");
	refused("SET NAMES 'sj' 'is';", "character set");
	refused("SET character_set_client = _latin1'sjis';", "character set");
	passes("/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n"
	       "/*!40101 SET NAMES utf8mb4 */;\n/*!50503 SET NAMES utf8mb4 COLLATE "
	       "utf8mb4_unicode_ci */;\nSET @saved_cs_client = @@character_set_client;\n"
	       "SET character_set_client = utf8mb3;\nSET character_set_client = "
	       "@saved_cs_client;\n/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n");
}

/* A server runs a versioned comment's text or skips it, by its version:
 * a statement is read both ways, and a comment's end must be the same for
 * both. */
static void versioned_both_ways(void **state)
{
	(void)state;
	refused("/*M!999999 SELECT 1, */ USE other;", "USE `other`");
	refused("/*!90000 INSERT INTO t VALUES (1), */ DELETE FROM other.o;", "DELETE `other`");
	refused("/*M!999999 ' */ USE other; SELECT '\n';", "versioned comment");
	refused("/*!40000 -- x */ USE other;\n", "versioned comment");
	refused("/*!40000 \"a\\*/\" */ USE other;", "versioned comment");
	refused("/*!40000 /* x */ SELECT 1 */;", "comment");
	passes("/*!40000 SELECT 'a*b', `c*`, \"*\" */;\n/*!50003 SET @a = 'x;y' */;\n");
}

/* `--` starts a comment for the client only before a blank or a line's
 * end; the server takes any control character: the client would split
 * at a ';' the server then reads in a comment, or the reverse. */
static void dash_comments(void **state)
{
	(void)state;
	refused("SELECT 1 --\x01 ; USE other;\n", "comment");
	passes("SELECT 1 -- ; USE other;\nSELECT 2 --\t; USE other;\nSELECT 3;--\n");
	/* `--` and its newline: the comment ends there, for the client and
	 * the server alike, and the next line is read (mariadb-dump writes
	 * such lines around its section titles). */
	refused("--\nUSE other;\n", "USE");
	refused("SELECT 1;\n--\nDROP DATABASE other;\n", "DROP DATABASE");
	refused("--\nDELIMITER ;;\nUSE other;;\n", "USE");
	passes("--\n-- Dumping routines for database 'system'\n--\n"
	       "/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;\n"
	       "/*!50003 SET sql_mode              = 'STRICT_TRANS_TABLES' */ ;\n"
	       "/*!50003 SET sql_mode              = @saved_sql_mode */ ;\n");
}

static void long_names(void **state)
{
	char text[700];

	(void)state;
	/* A qualifier longer than any name is no name of the target. */
	snprintf(text, sizeof(text), "INSERT INTO `%0300d`.t VALUES (1);", 0);
	refused(text, "names another database");
	snprintf(text, sizeof(text), "USE %0400d;", 0);
	refused(text, "USE");
	snprintf(text, sizeof(text), "INSERT INTO `system`.`%0300d` VALUES (1);", 0);
	passes(text);
}

/* The CREATE TRIGGER and CREATE FUNCTION a whole stream holds (what a
 * server with a binary log refuses a user without SUPER, mysql.c), read
 * as a server that runs the versioned comments reads them, wherever the
 * stream is split; told by the guard a first pass's fresh copy was made
 * from; nothing told of a stream not read to its end or refused. */
static void programs_of(const char *text, size_t step, tsarc_mysql_dump_facts *out)
{
	tsarc_mysql_guard *g;
	void *copy;
	size_t i, n, len = strlen(text);
	int rc = 0;

	assert_int_equal(tsarc_mysql_guard_new(TARGET, &g), 0);
	assert_int_equal(tsarc_mysql_guard_ops.fresh(g, &copy), 0);
	for (i = 0; i < len && !rc; i += n) {
		n = len - i < step ? len - i : step;
		rc = tsarc_mysql_guard_ops.feed(copy, text + i, n, NULL);
	}
	if (!rc)
		rc = tsarc_mysql_guard_ops.finish(copy, NULL);
	tsarc_mysql_guard_ops.free(copy);
	tsarc_mysql_guard_facts(g, out);
	tsarc_mysql_guard_free(g);
	if (rc)
		tsarc_error_clear();
}

/* The longest statement the client sends, from after the delimiter before
 * it to its own, whatever the split: a ';' inside a string or a routine's
 * body under another delimiter does not end one; the last one counts
 * without a delimiter. */
static void longest_statement_measured(void **state)
{
	static const size_t steps[] = {1, 3, 100000};
	static const char text[] = "SELECT 1;\nINSERT INTO t VALUES ('a;b;c;d;e');\n"
				   "DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END;;\n"
				   "DELIMITER ;\nSELECT 3";
	tsarc_mysql_dump_facts p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		programs_of(text, steps[i], &p);
		assert_int_equal(p.complete, 1);
		/* "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END" (the line of
		 * DELIMITER is no statement's) */
		assert_int_equal(p.longest_statement, 50);
	}
	programs_of("SELECT 1;\nINSERT INTO t VALUES ('a;b;c;d;e');\nSELECT 2", 2, &p);
	/* "\nINSERT INTO t VALUES ('a;b;c;d;e')" */
	assert_int_equal(p.longest_statement, 35);
	programs_of("SELECT 1", 1, &p);
	assert_int_equal(p.longest_statement, 8);
}

static void stored_programs_counted(void **state)
{
	static const size_t steps[] = {1, 2, 7, 64, 100000};
	tsarc_mysql_dump_facts p;
	tsarc_mysql_guard *g;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		programs_of(DUMP, steps[i], &p);
		assert_int_equal(p.complete, 1);
		assert_int_equal(p.triggers, 2);
		assert_int_equal(p.functions, 1);
	}
	/* In strings and comments, DROP, a procedure, a view: none. */
	programs_of("SELECT 'CREATE TRIGGER t'; -- CREATE FUNCTION f\n/* CREATE TRIGGER */\n"
		    "DROP TRIGGER IF EXISTS t;\nDROP FUNCTION IF EXISTS f;\nCREATE PROCEDURE "
		    "p() SELECT 1;\nCREATE VIEW v AS SELECT 1;\nCREATE TABLE `trigger` (a int);\n",
		7, &p);
	assert_int_equal(p.complete, 1);
	assert_int_equal(p.triggers, 0);
	assert_int_equal(p.functions, 0);
	/* MariaDB's aggregate functions, OR REPLACE, a multi-statement. */
	programs_of("CREATE OR REPLACE AGGREGATE FUNCTION f() RETURNS INT BEGIN RETURN 1; END;"
		    "CREATE TRIGGER IF NOT EXISTS t BEFORE INSERT ON a FOR EACH ROW SET @x = 1;",
		3, &p);
	assert_int_equal(p.complete, 1);
	assert_int_equal(p.triggers, 1);
	assert_int_equal(p.functions, 1);
	/* Refused, or not read to its end: nothing told. */
	programs_of("CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW SET @x = 1;\nUSE other;\n",
		5, &p);
	assert_int_equal(p.complete, 0);
	assert_int_equal(tsarc_mysql_guard_new(TARGET, &g), 0);
	assert_int_equal(tsarc_mysql_guard_feed(g, DUMP, sizeof(DUMP) - 1, NULL), 0);
	tsarc_mysql_guard_facts(g, &p);
	assert_int_equal(p.complete, 0);
	assert_int_equal(tsarc_mysql_guard_finish(g, NULL), 0);
	tsarc_mysql_guard_facts(g, &p);
	assert_int_equal(p.complete, 1);
	assert_int_equal(p.triggers, 2);
	tsarc_mysql_guard_free(g);
}

/* The character sets and collations a stream names, as a server reads
 * them (the versioned comments run), wherever the stream is split: after
 * COLLATE, CHARSET, CHARACTER SET and SET NAMES, an '=' between or not,
 * once each, in lower case; not in strings nor comments, nor DEFAULT nor
 * a name of other characters. */
static void names_read(void **state)
{
	static const size_t steps[] = {1, 4, 100000};
	static const char text[] =
		"/*!40101 SET NAMES utf8mb4 */;\n"
		"CREATE TABLE `a` (`x` varchar(3) CHARACTER SET latin1 COLLATE latin1_bin, "
		"`y` text CHARACTER SET = `utf8mb3`) ENGINE=InnoDB DEFAULT CHARSET=UTF8MB4 "
		"COLLATE=utf8mb4_0900_ai_ci;\n"
		"INSERT INTO `a` VALUES ('COLLATE x', 'CHARSET y');\n-- COLLATE z\n"
		"/* CHARACTER SET w */ SELECT 'a' COLLATE utf8mb4_bin, 'b' COLLATE DEFAULT, "
		"'c' COLLATE `odd-name`;\n";
	static const char *const want[][2] = {{"s", "utf8mb4"}, {"s", "latin1"},
		{"c", "latin1_bin"}, {"s", "utf8mb3"}, {"c", "utf8mb4_0900_ai_ci"},
		{"c", "utf8mb4_bin"}};
	tsarc_mysql_dump_facts p;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		programs_of(text, steps[i], &p);
		assert_int_equal(p.complete, 1);
		assert_int_equal(p.nnames, sizeof(want) / sizeof(want[0]));
		for (k = 0; k < p.nnames; k++) {
			assert_int_equal(p.names[k].kind, want[k][0][0]);
			assert_string_equal(p.names[k].name, want[k][1]);
		}
	}
}

/* What a backup records of the dump (tsarc_mysql_facts_meta) reads back
 * as it was (tsarc_mysql_facts_from_meta), for a restore's plan. */
static void facts_recorded_and_read_back(void **state)
{
	tsarc_mysql_dump_facts p = {.complete = 1, .triggers = 78, .functions = 2,
		.longest_statement = 20971600, .nnames = 2}, back;
	cJSON *m;
	(void)state;
	p.names[0].kind = 'c';
	strcpy(p.names[0].name, "utf8mb4_0900_ai_ci");
	p.names[1].kind = 's';
	strcpy(p.names[1].name, "utf8mb4");
	assert_non_null(m = tsarc_mysql_facts_meta(&p));
	assert_int_equal(tsarc_mysql_facts_from_meta(m, &back, "here"), 1);
	assert_true(back.complete);
	assert_true(back.triggers == 78 && back.functions == 2);
	assert_true(back.longest_statement == 20971600);
	assert_int_equal(back.nnames, 2);
	assert_int_equal(back.names[0].kind, 'c');
	assert_string_equal(back.names[0].name, "utf8mb4_0900_ai_ci");
	assert_int_equal(back.names[1].kind, 's');
	assert_string_equal(back.names[1].name, "utf8mb4");
	cJSON_Delete(m);
	/* Not complete (the guard refused, or never ended): nothing. */
	p.complete = 0;
	assert_null(tsarc_mysql_facts_meta(&p));
	/* An older snapshot records none. */
	m = cJSON_Parse("{\"kind\": \"mysql\"}");
	assert_int_equal(tsarc_mysql_facts_from_meta(m, &back, "here"), 0);
	assert_false(back.complete);
	cJSON_Delete(m);
}

/* The question of the names (tsarc_mysql_names_query): one SELECT that
 * only reads, each name quoted, a collation on the character set its name
 * begins with; none for a dump that names none, and a name that is not
 * plain never goes into it. */
static void names_query(void **state)
{
	static const char *const names[][2] = {{"c", "utf8mb4_0900_ai_ci"}, {"s", "utf8mb4"},
		{"c", "binary"}, {"s", "latin1"}};
	tsarc_mysql_dump_facts p;
	char *q = NULL;
	size_t i;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(tsarc_mysql_names_query(&p, &q), 0);
	assert_null(q);
	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		p.names[i].kind = names[i][0][0];
		strcpy(p.names[i].name, names[i][1]);
	}
	p.nnames = (unsigned)i;
	assert_int_equal(tsarc_mysql_names_query(&p, &q), 0);
	assert_string_equal(q, "SELECT CONVERT(NULL USING `utf8mb4`) COLLATE `utf8mb4_0900_ai_ci`, "
		"CONVERT(NULL USING `utf8mb4`), CONVERT(NULL USING `binary`) COLLATE `binary`, "
		"CONVERT(NULL USING `latin1`)");
	assert_true(tsarc_sql_reads(q));
	free(q);
	strcpy(p.names[1].name, "utf8mb4`) FROM t; DROP TABLE t; --");
	assert_int_equal(tsarc_mysql_names_query(&p, &q), TSARC_EINVAL);
	assert_null(q);
}

/* The record is untrusted: names go into SQL unquoted. */
static void facts_record_untrusted(void **state)
{
	static const char *const bad[] = {
		"{\"mysql_dump\": 1}",
		"{\"mysql_dump\": {\"triggers\": -1, \"functions\": 0, \"longest_statement\": 0, "
		"\"collations\": [], \"charsets\": []}}",
		"{\"mysql_dump\": {\"triggers\": 0.5, \"functions\": 0, \"longest_statement\": 0, "
		"\"collations\": [], \"charsets\": []}}",
		"{\"mysql_dump\": {\"triggers\": 0, \"functions\": 0, \"longest_statement\": 0, "
		"\"collations\": [\"utf8mb4_bin) ; DROP TABLE x; --\"], \"charsets\": []}}",
		"{\"mysql_dump\": {\"triggers\": 0, \"functions\": 0, \"longest_statement\": 0, "
		"\"collations\": [\"Latin1\"], \"charsets\": []}}",
		"{\"mysql_dump\": {\"triggers\": 0, \"functions\": 0, \"longest_statement\": 0, "
		"\"collations\": [\"\"], \"charsets\": []}}",
		"{\"mysql_dump\": {\"triggers\": 0, \"functions\": 0, \"longest_statement\": 0, "
		"\"collations\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"], "
		"\"charsets\": [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]}}",
		"{\"mysql_dump\": {\"triggers\": 0, \"functions\": 0, \"longest_statement\": 0, "
		"\"collations\": [1], \"charsets\": []}}",
		"{\"mysql_dump\": {\"triggers\": 0, \"functions\": 0, \"longest_statement\": 0, "
		"\"collations\": []}}",
	};
	tsarc_mysql_dump_facts p;
	size_t i;
	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		cJSON *m = cJSON_Parse(bad[i]);
		assert_non_null(m);
		assert_int_equal(tsarc_mysql_facts_from_meta(m, &p, "stream s"), TSARC_EUNSAFE);
		assert_non_null(strstr(tsarc_error_last()->message, "stream s: mysql_dump"));
		assert_false(p.complete);
		cJSON_Delete(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dump_passes),
		cmocka_unit_test(other_database_refused),
		cmocka_unit_test(offset_named),
		cmocka_unit_test(accounts_refused),
		cmocka_unit_test(client_commands_refused),
		cmocka_unit_test(sql_modes_refused),
		cmocka_unit_test(charsets_refused),
		cmocka_unit_test(dash_comments),
		cmocka_unit_test(versioned_both_ways),
		cmocka_unit_test(long_names),
		cmocka_unit_test(stored_programs_counted),
		cmocka_unit_test(longest_statement_measured),
		cmocka_unit_test(names_read),
		cmocka_unit_test(facts_recorded_and_read_back),
		cmocka_unit_test(facts_record_untrusted),
		cmocka_unit_test(names_query),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
