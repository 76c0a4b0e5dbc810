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
#include <string.h>

#include "deploy/psqlguard.h"
#include "tsarc/errors.h"

/* The guard's answer for text[0..len) fed whole, byte by byte and in two
 * pieces at every split: all must agree; returns it. */
static int verdict(const char *text, size_t len)
{
	tsarc_psql_guard *g;
	int whole, rc;
	size_t i, cut;

	assert_int_equal(tsarc_psql_guard_new(&g), 0);
	whole = tsarc_psql_guard_feed(g, text, len);
	if (!whole)
		whole = tsarc_psql_guard_finish(g);
	tsarc_psql_guard_free(g);
	assert_int_equal(tsarc_psql_guard_new(&g), 0);
	for (i = 0, rc = 0; i < len && !rc; i++)
		rc = tsarc_psql_guard_feed(g, text + i, 1);
	if (!rc)
		rc = tsarc_psql_guard_finish(g);
	tsarc_psql_guard_free(g);
	if (rc != whole)
		fail_msg("byte by byte %d, whole %d: %s", rc, whole, text);
	for (cut = 1; cut < len; cut++) {
		assert_int_equal(tsarc_psql_guard_new(&g), 0);
		rc = tsarc_psql_guard_feed(g, text, cut);
		if (!rc)
			rc = tsarc_psql_guard_feed(g, text + cut, len - cut);
		if (!rc)
			rc = tsarc_psql_guard_finish(g);
		tsarc_psql_guard_free(g);
		if (rc != whole)
			fail_msg("split at %zu: %d, whole %d: %s", cut, rc, whole, text);
	}
	return whole;
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
		"SELECT 'a\\' \\! id ';\n", "SELECT E'\\'' \\! id ';\n", "SELECT '\\\\'' \\! id ';\n",
		"SELECT '\x83\\' \\! id ';\n",
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
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(cases[i]);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dumps_pass),
		cmocka_unit_test(commands_refused),
		cmocka_unit_test(nul_refused),
		cmocka_unit_test(long_tags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
