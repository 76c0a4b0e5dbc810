/* The psql input guard (src/deploy/psqlguard.c): what a dump writes passes,
 * every backslash command psql would run otherwise is refused, whatever
 * hides it (strings, COPY forms, function bodies, NUL bytes), and any
 * split of the input gives the same answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/psqlguard.h"
#include "tsarc/errors.h"

/* The guard's answer for text[0..len) fed whole (also as a check only),
 * byte by byte and in two pieces at every split: all must agree, on the
 * answer and on the output; returns it, the output in *got (if not NULL,
 * freed by the caller). */
static int run(const char *text, size_t len, size_t step, tsarc_buf *out)
{
	tsarc_psql_guard *g;
	size_t i;
	int rc = 0;

	assert_int_equal(tsarc_psql_guard_new(&g), 0);
	if (!step)
		step = len ? len : 1;
	for (i = 0; i < len && !rc; i += step)
		rc = tsarc_psql_guard_feed(g, text + i, len - i < step ? len - i : step, out);
	if (!rc)
		rc = tsarc_psql_guard_finish(g, out);
	tsarc_psql_guard_free(g);
	return rc;
}

static int verdict_out(const char *text, size_t len, char **got)
{
	tsarc_psql_guard *g;
	tsarc_buf whole_out = TSARC_BUF_INIT, out = TSARC_BUF_INIT;
	int whole, rc;
	size_t cut;

	whole = run(text, len, 0, &whole_out);
	if (run(text, len, 0, NULL) != whole)
		fail_msg("checked only, another answer: %s", text);
	for (cut = 0; cut < len; cut++) {
		tsarc_buf_clear(&out);
		if (cut == 0) {
			rc = run(text, len, 1, &out);
		} else {
			assert_int_equal(tsarc_psql_guard_new(&g), 0);
			rc = tsarc_psql_guard_feed(g, text, cut, &out);
			if (!rc)
				rc = tsarc_psql_guard_feed(g, text + cut, len - cut, &out);
			if (!rc)
				rc = tsarc_psql_guard_finish(g, &out);
			tsarc_psql_guard_free(g);
		}
		if (rc != whole)
			fail_msg("split at %zu: %d, whole %d: %s", cut, rc, whole, text);
		if (!rc && (out.size != whole_out.size ||
			(out.size && memcmp(out.ptr, whole_out.ptr, out.size))))
			fail_msg("split at %zu: another output: %s", cut, text);
	}
	tsarc_buf_dispose(&out);
	if (got) {
		tsarc_buf_append(&whole_out, "", 1);
		*got = tsarc_buf_detach(&whole_out);
	}
	tsarc_buf_dispose(&whole_out);
	return whole;
}

static int verdict(const char *text, size_t len)
{
	return verdict_out(text, len, NULL);
}

static void passes(const char *text)
{
	int rc = verdict(text, strlen(text));

	if (rc)
		fail_msg("refused (%s): %s", tsarc_error_last()->message, text);
}

static void refused(const char *text)
{
	int rc = verdict(text, strlen(text));

	if (rc != TSARC_EUNSAFE)
		fail_msg("not refused (%d): %s", rc, text);
}

static void all_refused(const char *const *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		refused(cases[i]);
}

/* What pg_dump and pg_dumpall write. */
static void dumps_pass(void **state)
{
	(void)state;
	passes("--\n-- PostgreSQL database dump\n--\n\n"
		"\\restrict a3s7aF9VdkEXMYxQkIJvyBl2j7zBYlmvP47nFNufg12zV1j3hnhFsVggp22gBRb\n\n"
		"SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n"
		"SELECT pg_catalog.set_config('search_path', '', false);\n"
		"CREATE FUNCTION public.f(a text) RETURNS text\n    LANGUAGE plpgsql\n"
		"    AS $$ BEGIN RETURN a || E'\\\\' || '\\! not a command'; END $$;\n"
		"CREATE FUNCTION public.g() RETURNS integer LANGUAGE sql\n"
		"BEGIN ATOMIC\n SELECT CASE WHEN true THEN 1 ELSE 2 END;\n SELECT 2;\nEND;\n"
		"CREATE TABLE public.\"we\\ird\" (id integer, \"b c\" text DEFAULT 'C:\\path');\n"
		"COMMENT ON TABLE public.t IS 'it''s /* not */ -- a comment';\n"
		"/* a /* nested */ comment \\! with a backslash */\n"
		"-- \\! in a line comment\n"
		"COPY public.\"we\\ird\" (id, \"b c\") FROM stdin;\n"
		"1\t\\N\n2\ta\\\\b\\tc\n\\\\.\n3\t\\.x\n\\.\n\n"
		"COPY public.t FROM stdin;\n\\.\r\n"
		"SELECT pg_catalog.setval('public.s', 1, false);\n"
		"--\n-- PostgreSQL database dump complete\n--\n\n"
		"\\unrestrict a3s7aF9VdkEXMYxQkIJvyBl2j7zBYlmvP47nFNufg12zV1j3hnhFsVggp22gBRb\n");
	passes("\\connect template1\n\\connect zync_production\nSET default_transaction_read_only = off;\n"
		"\\c postgres\nCREATE ROLE zync;\nALTER ROLE zync WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:x';\n");
	/* pg_dump 17's head (17.12), as sql_pg17 loads it: SET transaction_timeout is
	 * new in 17 (a 15 server refuses it: the plan refuses such a dump there). */
	passes("\\restrict K17\n\nSET statement_timeout = 0;\nSET lock_timeout = 0;\n"
		"SET idle_in_transaction_session_timeout = 0;\nSET transaction_timeout = 0;\n"
		"SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n"
		"SELECT pg_catalog.set_config('search_path', '', false);\n"
		"SET check_function_bodies = false;\nSET xmloption = content;\n"
		"SET client_min_messages = warning;\nSET row_security = off;\n\n"
		"\\unrestrict K17\n");
	/* A parameter, then a dollar quote; a name with a $ in it. */
	passes("PREPARE p AS SELECT $1$q$ \\! $q$;\nSELECT a$b$c FROM t;\n");
	passes("");
}

/* Every command psql would run on the host, wherever it hides. */
static void commands_refused(void **state)
{
	static const char *const cases[] = {
		"\\! id\n", "SELECT 1; \\! id\n", "\\o |id\nSELECT 1;\n", "\\i /etc/passwd\n",
		"\\copy t from program 'id'\n", "\\set ON_ERROR_STOP 0\n", "\\setenv X y\n",
		"\\connect `id`\n", "\\connect x y\n", "\\connect \"x\"\n", "\\connect\n",
		"\\restrict k \\! id\n", "\\w |id\n", "\\;\n", "\\! id",
		"SELECT (1 \\! id\n)", "SELECT 'a' \\gexec\n", "-- x\r\\! id\n",
		/* std_strings off, E'' or SJIS: the string may end at the quote */
		"SELECT 'a\\' \\! id ';\n", "SELECT E'\\'' \\! id ';\n", "SELECT '\x83\\' \\! id ';\n",
		/* not a COPY FROM stdin to psql: the lines after are SQL */
		"COPY (SELECT 1 FROM stdin) TO stdout;\n\\! id\n",
		"COPY t TO stdout;\n\\! id\n", "COPY t FROM '/x';\n\\! id\n",
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; "
		"COPY t FROM stdin;\n\\! id\n\\.\nEND;\n",
		"CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true "
		"THEN 1 END; COPY t FROM stdin;\n\\! id\n\\.\nEND;\n",
		/* COPY data ends where psql's does, not elsewhere */
		"COPY t FROM stdin;\n1\n\\.\n\\! id\n", "COPY t FROM stdin;\n\\.x\n\\.\n",
		"COPY t FROM stdin;\n\\. \n", "COPY a FROM stdin; COPY b FROM stdin;\n\\.\n\\.\n",
		"COPY t FROM stdin;\n1\n",
		/* ends inside a quote, a comment, a dollar quote */
		"SELECT 'x", "SELECT $q$ x", "/* x", "SELECT \"x",
		"COPY t FROM stdin;",
	};
	(void)state;
	all_refused(cases, sizeof(cases) / sizeof(cases[0]));
}

/* psql drops what follows a NUL on its line: never sent. */
static void nul_refused(void **state)
{
	static const char sql[] = "SELECT 1 \0'\n\\! id\n';\n";
	static const char copy[] = "COPY t FROM stdin;\n1\0\n\\.\n";

	(void)state;
	assert_int_equal(verdict(sql, sizeof(sql) - 1), TSARC_EUNSAFE);
	assert_int_equal(verdict(copy, sizeof(copy) - 1), TSARC_EUNSAFE);
}

/* Dollar-quote tags up to 256 bytes; a longer one refused. */
static void long_tags(void **state)
{
	char text[1200];
	int n;

	(void)state;
	for (n = 250; n <= 260; n++) {
		char tag[300];
		memset(tag, 'a', (size_t)n);
		tag[n] = '\0';
		snprintf(text, sizeof(text), "SELECT $%s$ \\! x $%s$;\n", tag, tag);
		if (n <= 256)
			passes(text);
		else
			refused(text);
	}
}

/* The output for text: its SETs put back where psql needs them. */
static void output_is(const char *text, const char *want)
{
	char *got = NULL;
	int rc = verdict_out(text, strlen(text), &got);

	if (rc)
		fail_msg("refused (%s): %s", tsarc_error_last()->message, text);
	if (strcmp(got, want))
		fail_msg("output:\n%s\nwanted:\n%s", got, want);
	free(got);
}

#define SCS_ON "SET standard_conforming_strings = on;"
#define SCS_OFF "SET standard_conforming_strings = off;"
#define ENC_UTF8 "SET client_encoding = 'utf8';"

/* A backslash before a quote: with standard_conforming_strings on (what
 * pg_dump writes) the string ends there, and psql is made to read it so. */
static void backslash_strings(void **state)
{
	(void)state;
	output_is(SCS_ON "\nINSERT INTO public.t VALUES (1, 'C:\\');\nSELECT 1;\n",
		SCS_ON SCS_ON "\n\nINSERT INTO public.t VALUES (1, 'C:\\');\nSELECT 1;\n");
	/* a DEFAULT on a line inside the statement: the SET before all of it */
	output_is(SCS_ON "\nCREATE TABLE public.t (\n    id integer,\n"
		"    dir text DEFAULT 'D:\\'::text\n);\n",
		SCS_ON SCS_ON "\n\nCREATE TABLE public.t (\n    id integer,\n"
		"    dir text DEFAULT 'D:\\'::text\n);\n");
	/* what would be \! with it off is a string with it on */
	output_is("SET standard_conforming_strings TO 'on';\n-- x\nSELECT 1; SELECT 'q\\'' \\! id ';",
		"SET standard_conforming_strings TO 'on';\n-- x\nSELECT 1;" SCS_ON "\n"
		" SELECT 'q\\'' \\! id ';");
	output_is("SET SESSION standard_conforming_strings = false;\nSELECT 'a\\'b';\n",
		"SET SESSION standard_conforming_strings = false;" SCS_OFF "\n\nSELECT 'a\\'b';\n");
	/* the same in both readings: nothing put in front */
	output_is("SELECT '\\\\'' \\! id ', 'a\\b', E'\\\\', E'\\'', U&'\\0041', b'1', x'1F';\n",
		"SELECT '\\\\'' \\! id ', 'a\\b', E'\\\\', E'\\'', U&'\\0041', b'1', x'1F';\n");
	/* one SET in front is enough for the statement */
	output_is(SCS_ON "\nINSERT INTO t VALUES ('a\\'), ('b\\');\n",
		SCS_ON SCS_ON "\n\nINSERT INTO t VALUES ('a\\'), ('b\\');\n");
	/* the encoding too, when a byte of 0x80 or more comes before ASCII */
	output_is("SET client_encoding = 'UTF8';\n" SCS_ON "\nINSERT INTO t VALUES ('Jos\xc3\xa0', 'C:\\');\n",
		"SET client_encoding = 'UTF8';\n" SCS_ON ENC_UTF8 SCS_ON "\n\nINSERT INTO t VALUES "
		"('Jos\xc3\xa0', 'C:\\');\n");
	/* after COPY data and after \connect with its SETs */
	output_is(SCS_ON "\nCOPY t FROM stdin;\na\\\\\n\\.\nSELECT 'x\\';\n\\connect db\n" SCS_ON
		"\nSELECT 'y\\';\n",
		SCS_ON "\nCOPY t FROM stdin;\na\\\\\n\\.\n" SCS_ON "\nSELECT 'x\\';\n\\connect db\n"
		SCS_ON SCS_ON "\n\nSELECT 'y\\';\n");
	passes(SCS_ON "\nINSERT INTO t VALUES ('\\'), ('it''s\\'), (E'\\\\'), ('a\\\\');\n");
	/* the settings as the statement began: the one that ends a SET too */
	output_is("SET client_encoding = 'UTF8';\nSET client_encoding = 'BOGUS' \xc3;\n",
		"SET client_encoding = 'UTF8';" ENC_UTF8 "\n\nSET client_encoding = 'BOGUS' \xc3;\n");
}

/* Where psql could read it otherwise and cannot be made not to, refused. */
static void backslash_strings_refused(void **state)
{
	static const char *const cases[] = {
		/* standard_conforming_strings not known */
		"SELECT 'a\\'' \\! id ';\n",
		SCS_ON "\nSET LOCAL standard_conforming_strings = on;\nSELECT 'a\\'' \\! id ';\n",
		SCS_ON "\nRESET ALL;\nSELECT 'a\\'' \\! id ';\n",
		SCS_ON "\nSET standard_conforming_strings = DEFAULT;\nSELECT 'a\\'' \\! id ';\n",
		SCS_ON "\nSET standard_conforming_strings = 'o' 'n';\nSELECT 'a\\'' \\! id ';\n",
		SCS_ON "\nSET \"standard_conforming_strings\" = on;\nSELECT 'a\\'' \\! id ';\n",
		SCS_ON "\n\\connect db\nSELECT 'a\\'' \\! id ';\n",
		/* with it off, a string goes on after \' but not after \\' */
		SCS_OFF "\nSELECT 'a\\\\' \\! id ';\n",
		/* U&'', B'', X'' never escape */
		SCS_OFF "\nSELECT U&'a\\' \\! id ';\n", SCS_OFF "\nSELECT b'1\\' \\! id ';\n",
		SCS_OFF "\nSELECT X'1\\' \\! id ';\n",
		/* E'' always does, whatever the setting */
		SCS_ON "\nSELECT E'a\\'' \\! id ';\n", SCS_ON "\nSELECT e'a\\\\' \\! id ';\n",
		SCS_ON "\nSELECT 1, E'a\\\\\\'' \\! id ';\n",
		/* a string continued after a newline keeps its kind */
		SCS_ON "\nSELECT E'x'\r'y\\'' \\! id ';\n", SCS_ON "\nSELECT E'x'\n\r'y\\'' \\! id ';\n",
		SCS_ON "\nSELECT E'x' -- c\r 'y\\'' \\! id ';\n",
		SCS_OFF "\nSELECT U&'x'\r'a\\' \\! id ';\n", SCS_OFF "\nSELECT b'1'\n\r'\\' \\! id ';\n",
		/* psql versions split a number and a prefix differently */
		SCS_ON "\nSELECT 1e'a\\'' \\! x ';\n", SCS_ON "\nSELECT 0x'1' \\! x ';\n",
		SCS_ON "\nSELECT $1u&'a\\'' \\! x ';\n",
		/* a statement that cannot have the SET in front */
		SCS_ON "\nCOPY t FROM stdin; SELECT 'a\\';\n\\.\n",
		SCS_ON "\nSELECT (\n\\restrict k\n'a\\');\n",
		/* a byte that SJIS and the like take a quote into */
		"SET client_encoding = 'SJIS';\nSELECT '\x81' , ' \\! id ';\n",
		"SET client_encoding = 'UTF8';\nSET NAMES 'GBK';\nSELECT '\x81' , ' \\! id ';\n",
		"SELECT '\x81' , ' \\! id ';\n", "SELECT 1 \x81\\! id\n",
		"SET client_encoding = 'UTF8';\n\\connect db\nSELECT $$\x81$$ \\! id $$;\n",
		"SET client_encoding = 'LATIN1';\nSET client_encoding = 'EUC_XY';\nSELECT /*\x81*/ \\! id */;\n",
	};
	(void)state;
	all_refused(cases, sizeof(cases) / sizeof(cases[0]));
}

/* A statement held back to put SETs in front of: 8 MiB at most. */
static void long_statement(void **state)
{
	size_t n = 9u << 20, head = strlen(SCS_ON "\nSELECT '");
	char *text = malloc(n + 16);
	tsarc_buf out = TSARC_BUF_INIT;

	(void)state;
	assert_non_null(text);
	memcpy(text, SCS_ON "\nSELECT '", head);
	memset(text + head, 'a', n - head);
	memcpy(text + n, "\\';\n", 5);
	assert_int_equal(run(text, n + 4, 0, &out), TSARC_EUNSAFE);
	assert_int_equal(run(text, n + 4, 4096, NULL), TSARC_EUNSAFE);
	/* the same with its backslash before a quote 7 MiB in */
	memcpy(text + head + (7u << 20), "\\', '", 5);
	memcpy(text + n, "';\n", 4);
	tsarc_buf_clear(&out);
	assert_int_equal(run(text, n + 3, 4096, &out), 0);
	assert_int_equal(out.size, n + 3 + strlen(SCS_ON "\n"));
	tsarc_buf_dispose(&out);
	free(text);
}

/* The guard of a load into one database: what passes elsewhere passes,
 * but a \connect or \c (psql would leave the load's session). */
static int one_database_verdict(const char *text)
{
	tsarc_psql_guard *g;
	tsarc_buf out = TSARC_BUF_INIT;
	int rc;

	assert_int_equal(tsarc_psql_guard_new(&g), 0);
	tsarc_psql_guard_one_database(g);
	rc = tsarc_psql_guard_feed(g, text, strlen(text), &out);
	if (!rc)
		rc = tsarc_psql_guard_finish(g, &out);
	tsarc_psql_guard_free(g);
	tsarc_buf_dispose(&out);
	return rc;
}

static void one_database(void **state)
{
	static const char *const cases[] = {"\\connect other\n", "SELECT 1;\n\\c x\n",
		"SELECT 1 \\connect x\n", "\\connect zync_production"};
	size_t i;

	(void)state;
	assert_int_equal(one_database_verdict("\\restrict k\nSELECT 1;\n\\unrestrict k\n"), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		passes(cases[i]);
		if (one_database_verdict(cases[i]) != TSARC_EUNSAFE)
			fail_msg("not refused in a load into one database: %s", cases[i]);
		assert_non_null(strstr(tsarc_error_last()->message, "load into one database"));
	}
}

/* Where psql's query buffer is empty: the next line is a command of its own. */
static void between_statements(void **state)
{
	static const struct {
		const char *text;
		int between;
	} cases[] = {{"", 1}, {"SELECT 1;\n", 1}, {"SELECT 1\n", 0}, {"-- a comment\n", 1},
		{"COPY t FROM stdin;\n", 0}, {"COPY t FROM stdin;\na\n", 0},
		{"COPY t FROM stdin;\na\n\\.\n", 1}, {"SELECT 'a\n", 0}, {"/* a\n", 0},
		{"\\connect x\n", 1}, {"SELECT $$\n", 0}, {"SELECT 1; -\n", 0},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n SELECT 1;\n", 0},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n SELECT 1;\nEND;\n", 1}};
	tsarc_psql_guard *g;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(tsarc_psql_guard_new(&g), 0);
		assert_int_equal(tsarc_psql_guard_feed(g, cases[i].text, strlen(cases[i].text),
			NULL), 0);
		if (tsarc_psql_guard_between(g) != cases[i].between)
			fail_msg("between is %d after: %s", !cases[i].between, cases[i].text);
		tsarc_psql_guard_free(g);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dumps_pass),
		cmocka_unit_test(commands_refused),
		cmocka_unit_test(nul_refused),
		cmocka_unit_test(long_tags),
		cmocka_unit_test(backslash_strings),
		cmocka_unit_test(backslash_strings_refused),
		cmocka_unit_test(long_statement),
		cmocka_unit_test(one_database),
		cmocka_unit_test(between_statements),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
