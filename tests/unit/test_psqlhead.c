/* The head of a pg_dump dump fitted to an older server
 * (src/deploy/psqlhead.c): pg_dump 17's SET transaction_timeout = 0 is
 * left out of a load into a 15, the same line in a function body, a
 * string, a comment or COPY data after the head never; a setting the
 * target lacks set to anything else, or one the filter does not know, is
 * refused by name; any split of the input gives the same output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/filter.h"
#include "deploy/psqlhead.h"
#include "tsarc/errors.h"

/* pg_dump 17.12's head of a dump of a 15 server, as it writes it. */
#define HEAD_START                                                                       \
	"--\n-- PostgreSQL database dump\n--\n\n\\restrict Kx9\n\n"                          \
	"-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)\n"                  \
	"-- Dumped by pg_dump version 17.12 (Debian 17.12-0+deb13u1)\n\n"                   \
	"SET statement_timeout = 0;\nSET lock_timeout = 0;\n"
#define IDLE "SET idle_in_transaction_session_timeout = 0;\n"
#define TIMEOUT "SET transaction_timeout = 0;\n"
#define HEAD_END                                                                         \
	"SET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\n"            \
	"SELECT pg_catalog.set_config('search_path', '', false);\n"                         \
	"SET check_function_bodies = false;\nSET xmloption = content;\n"                    \
	"SET client_min_messages = warning;\nSET row_security = off;\n\n"
/* After the head: the same line in a function body, a string, a comment
 * and COPY data, none of which is touched. */
#define BODY                                                                             \
	"CREATE FUNCTION public.f() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n"           \
	"SET transaction_timeout = 0;\nEND\n$$;\n\n"                                         \
	"COMMENT ON FUNCTION public.f() IS '\nSET transaction_timeout = 0;\n';\n"          \
	"/*\nSET transaction_timeout = 0;\n*/\n"                                             \
	"SET default_tablespace = '';\n\nSET default_table_access_method = heap;\n\n"      \
	"COPY public.t (x) FROM stdin;\nSET transaction_timeout = 0;\n\\.\n\n"             \
	"SET transaction_timeout = 0;\n\n--\n-- PostgreSQL database dump complete\n--\n\n"   \
	"\\unrestrict Kx9\n\n"

static const char DUMP[] = HEAD_START IDLE TIMEOUT HEAD_END BODY;
static const char FITTED[] = HEAD_START IDLE HEAD_END BODY;

/* text[0..len) through a filter for a `server` target, fed in pieces of
 * `step` (0: whole), into `out`. */
static int run(int server, const char *text, size_t len, size_t step, tsarc_buf *out)
{
	tsarc_psql_head *h;
	size_t off;
	int rc = 0;

	assert_int_equal(tsarc_psql_head_new(server, &h), 0);
	if (!step)
		step = len ? len : 1;
	for (off = 0; off < len && !rc; off += step)
		rc = tsarc_psql_head_feed(h, text + off, len - off < step ? len - off : step, out);
	if (!rc)
		rc = tsarc_psql_head_finish(h, out);
	tsarc_psql_head_free(h);
	return rc;
}

/* The output of every way in: whole, byte by byte, in pieces of each size
 * up to 9, and cut in two at every byte. */
static void expect_output(int server, const char *in, const char *want)
{
	tsarc_buf out = TSARC_BUF_INIT;
	size_t len = strlen(in), step, cut;
	tsarc_psql_head *h;

	for (step = 0; step <= 9; step++) {
		tsarc_buf_clear(&out);
		assert_int_equal(run(server, in, len, step, &out), 0);
		assert_int_equal(out.size, strlen(want));
		assert_memory_equal(out.ptr, want, out.size);
	}
	for (cut = 1; cut < len; cut++) {
		tsarc_buf_clear(&out);
		assert_int_equal(tsarc_psql_head_new(server, &h), 0);
		assert_int_equal(tsarc_psql_head_feed(h, in, cut, &out), 0);
		assert_int_equal(tsarc_psql_head_feed(h, in + cut, len - cut, &out), 0);
		assert_int_equal(tsarc_psql_head_finish(h, &out), 0);
		tsarc_psql_head_free(h);
		assert_int_equal(out.size, strlen(want));
		assert_memory_equal(out.ptr, want, out.size);
	}
	tsarc_buf_dispose(&out);
}

/* The refusal of every way in, its message holding `says`. */
static void expect_refused(int server, const char *in, const char *says)
{
	tsarc_buf out = TSARC_BUF_INIT;
	size_t len = strlen(in), step;

	for (step = 0; step <= 9; step++) {
		assert_int_equal(run(server, in, len, step, &out), TSARC_EUNSUPPORTED);
		assert_non_null(strstr(tsarc_error_last()->message, says));
	}
	tsarc_buf_dispose(&out);
}

static void timeout_left_out(void **state)
{
	tsarc_psql_head *h;
	tsarc_buf out = TSARC_BUF_INIT;

	(void)state;
	expect_output(15, DUMP, FITTED);
	expect_output(16, DUMP, FITTED);
	/* 9.6 lacks transaction_timeout only; 9.5 idle_in_transaction too. */
	expect_output(906, DUMP, FITTED);
	expect_output(905, DUMP, HEAD_START HEAD_END BODY);
	assert_int_equal(tsarc_psql_head_new(15, &h), 0);
	assert_int_equal(tsarc_psql_head_feed(h, DUMP, strlen(DUMP), &out), 0);
	assert_string_equal(tsarc_psql_head_removed(h), "transaction_timeout");
	tsarc_psql_head_free(h);
	tsarc_buf_dispose(&out);
}

/* A target that has every setting of the head gets the dump as it is: a
 * 17 or newer pg_dump 17's, a 13 (3scale's zync-database) pg_dump 15's. */
static void newer_target_untouched(void **state)
{
	(void)state;
	expect_output(17, DUMP, DUMP);
	expect_output(18, DUMP, DUMP);
	expect_output(13, FITTED, FITTED);
}

/* The head ends at its first statement of another form: a SET after it,
 * or in a line of another form, is the server's to judge. */
static void head_ends(void **state)
{
	static const char in[] = "SET lock_timeout = 0;\nSELECT 1;\n"
		"SET transaction_timeout = 0;\n";
	static const char role[] = "SET ROLE app;\nSET transaction_timeout = 0;\n";
	static const char crlf[] = "SET statement_timeout = 0;\r\nSET transaction_timeout = 0;\n";
	static const char open_string[] = "SET xmloption = 'a;\nSET transaction_timeout = 0;\n';\n";

	(void)state;
	expect_output(15, in, in);
	expect_output(15, role, role);
	expect_output(15, crlf, crlf);
	expect_output(15, open_string, open_string);
	/* A line longer than any of the head's ends it. */
	{
		char longer[600];
		snprintf(longer, sizeof(longer), "-- %0400d\nSET transaction_timeout = 0;\n", 0);
		expect_output(15, longer, longer);
	}
	/* Without its newline, the last line is judged all the same. */
	expect_output(15, "SET statement_timeout = 0;\nSET transaction_timeout = 0;",
		"SET statement_timeout = 0;\n");
}

/* A SET of the head in any of SQL's spellings is judged by its setting's
 * name, as the server reads it (case-insensitively, quoted or not): SET
 * LOCAL or SESSION, TO for =, any run of blanks, a name with capitals or
 * digits. The server would stop the load at each of these as at pg_dump's
 * own spelling; read as lines of another form, they ended the head and
 * went to the server unjudged. */
static void spellings(void **state)
{
	static const char in[] = "set Transaction_Timeout TO 0;\n"
		"SET\tSESSION  \"transaction_timeout\"=0;\nSET LOCAL lock_timeout = 0;\n"
		"SET xmloption TO content;\nCREATE TABLE t (a int);\n";

	(void)state;
	expect_output(15, in, "SET LOCAL lock_timeout = 0;\nSET xmloption TO content;\n"
		"CREATE TABLE t (a int);\n");
	expect_output(17, in, in);
	expect_refused(15, "SET statement_timeout = 0;\nSET TRANSACTION_TIMEOUT TO 5;\n",
		"sets transaction_timeout to 5, a setting a PostgreSQL 15 server does not have");
	expect_refused(17, "SET lock_timeout = 0;\nSET io_method2 = worker;\n",
		"sets io_method2, a setting of a newer pg_dump than this check knows");
	expect_refused(17, "SET lock_timeout = 0;\nSET session ext.Setting = 1;\n",
		"sets ext.Setting, a setting of a newer pg_dump");
	/* pg_dump's other spelling, set_config(), judged the same. */
	expect_output(15, "SELECT pg_catalog.set_config('Transaction_Timeout', '0', false);\n"
		"SELECT pg_catalog.set_config('search_path', '', false);\n",
		"SELECT pg_catalog.set_config('search_path', '', false);\n");
	expect_refused(15, "SELECT pg_catalog.set_config('transaction_timeout', '5s', false);\n",
		"sets transaction_timeout to '5s'");
	/* Its value is not read where its name decides: a server without the
	 * setting refuses any value. */
	expect_refused(15, "SET transaction_timeout = 0, 1;\n", "sets transaction_timeout to 0, 1");
}

/* Settled (tsarc_psql_head_settled, where the plan stops reading) once a
 * line of another form has ended the head, not before: a head line held
 * whole or in part, or a head with nothing after it yet. */
static void settles_after_head(void **state)
{
	static const char *const pieces[] = {"SET statement_timeout = 0;\nSET transac",
		"tion_timeout = 0;\n", "\n-- a comment\n", "CREATE TABLE t (a int);\n"};
	static const int settled[] = {0, 0, 0, 1};
	tsarc_buf out = TSARC_BUF_INIT;
	tsarc_psql_head *h;
	size_t i;

	(void)state;
	assert_int_equal(tsarc_psql_head_new(15, &h), 0);
	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		assert_int_equal(tsarc_psql_head_feed(h, pieces[i], strlen(pieces[i]), &out), 0);
		assert_int_equal(tsarc_psql_head_settled(h), settled[i]);
	}
	assert_int_equal(tsarc_psql_head_finish(h, &out), 0);
	tsarc_buf_append(&out, "", 1);
	assert_string_equal((char *)out.ptr, "SET statement_timeout = 0;\n\n-- a comment\n"
		"CREATE TABLE t (a int);\n");
	tsarc_psql_head_free(h);
	tsarc_buf_dispose(&out);
}

static void refused_by_name(void **state)
{
	(void)state;
	expect_refused(15, "SET statement_timeout = 0;\nSET transaction_timeout = 5000;\n",
		"sets transaction_timeout to 5000, a setting a PostgreSQL 15 server does not have");
	expect_refused(15, "SET statement_timeout = 0;\nSET default_table_access_method = heap;\n"
		"SET transaction_timeout = '1s';\n", "sets transaction_timeout to '1s'");
	expect_refused(11, "SET default_table_access_method = heap;\n",
		"default_table_access_method to heap, a setting a PostgreSQL 11 server");
	expect_refused(15, "SET lock_timeout = 0;\nSET some_new_setting = off;\n",
		"sets some_new_setting, a setting of a newer pg_dump than this check knows, which a "
		"PostgreSQL 15 server may not have");
}

/* What the plan says will be left out. */
static void lacks(void **state)
{
	char buf[160];

	(void)state;
	assert_int_equal(tsarc_psql_head_lacks(17, 15, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "transaction_timeout");
	assert_int_equal(tsarc_psql_head_lacks(17, 905, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "idle_in_transaction_session_timeout, transaction_timeout");
	assert_int_equal(tsarc_psql_head_lacks(15, 13, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(tsarc_psql_head_lacks(17, 17, buf, sizeof(buf)), 0);
}

/* Fresh copies, as a filter chain makes them for its first pass. */
static void as_filter(void **state)
{
	tsarc_psql_head *h;
	tsarc_filter_chain c, fresh;
	tsarc_filter f;
	const uint8_t *data;
	size_t len;

	(void)state;
	assert_int_equal(tsarc_psql_head_new(15, &h), 0);
	f = (tsarc_filter){&tsarc_psql_head_ops, h};
	assert_int_equal(tsarc_filter_chain_init(&c, &f, 1), 0);
	assert_int_equal(tsarc_filter_chain_fresh(&c, &fresh), 0);
	data = (const uint8_t *)DUMP;
	len = strlen(DUMP);
	assert_int_equal(tsarc_filter_chain_piece(&fresh, &data, &len), 0);
	assert_int_equal(len, strlen(FITTED));
	assert_memory_equal(data, FITTED, len);
	assert_int_equal(tsarc_filter_chain_end(&fresh, &data, &len), 0);
	assert_int_equal(len, 0);
	tsarc_filter_chain_dispose(&fresh);
	tsarc_filter_chain_dispose(&c);
	tsarc_psql_head_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timeout_left_out),
		cmocka_unit_test(newer_target_untouched),
		cmocka_unit_test(head_ends),
		cmocka_unit_test(spellings),
		cmocka_unit_test(settles_after_head),
		cmocka_unit_test(refused_by_name),
		cmocka_unit_test(lacks),
		cmocka_unit_test(as_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
