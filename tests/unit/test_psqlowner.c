/* The owners of a dump's objects fitted to the target (src/deploy/psqlowner.c):
 * OWNER TO and FOR ROLE of a role the target lacks name the restoring role,
 * a GRANT or REVOKE of only such roles is left out, everything else passes
 * byte for byte (roles the target has, grants among others, statements
 * over two lines, and what only looks like such a statement: COPY data, a
 * function's body, strings, comments); any split of the input gives the
 * same output; an answer of the server of another shape is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/psqlowner.h"
#include "tsarc/errors.h"

/* The target's answer: it connects as "app"; it has app, postgres and
 * "Mixed Case", hex-encoded as the query gives them. */
#define HEX_APP "617070"
#define ANSWER HEX_APP " 706f737467726573 " HEX_APP " 4d697865642043617365\n"

/* text through the filter in pieces of `step` (0: whole) or cut once at
 * `cut`; the output to `out`. */
static int run(const char *text, size_t step, size_t cut, tsarc_buf *out, cJSON *report)
{
	tsarc_psql_owner *o;
	size_t len = strlen(text), i;
	int rc = 0;

	assert_int_equal(tsarc_psql_owner_new(ANSWER, &o), 0);
	if (cut) {
		rc = tsarc_psql_owner_feed(o, text, cut, out);
		if (!rc)
			rc = tsarc_psql_owner_feed(o, text + cut, len - cut, out);
	} else {
		if (!step)
			step = len ? len : 1;
		for (i = 0; i < len && !rc; i += step)
			rc = tsarc_psql_owner_feed(o, text + i, len - i < step ? len - i : step, out);
	}
	if (!rc)
		rc = tsarc_psql_owner_finish(o, out);
	if (report)
		assert_int_equal(tsarc_psql_owner_report(o, report), 0);
	tsarc_psql_owner_free(o);
	return rc;
}

/* The output for text, the same fed whole, byte by byte and cut
 * anywhere; to free. */
static char *through(const char *text, cJSON *report)
{
	tsarc_buf whole = TSARC_BUF_INIT, out = TSARC_BUF_INIT;
	size_t cut, len = strlen(text);
	char *got;

	assert_int_equal(run(text, 0, 0, &whole, report), 0);
	for (cut = 0; cut < len; cut++) {
		tsarc_buf_clear(&out);
		assert_int_equal(cut ? run(text, 0, cut, &out, NULL) : run(text, 1, 0, &out, NULL), 0);
		if (out.size != whole.size || (out.size && memcmp(out.ptr, whole.ptr, out.size)))
			fail_msg("cut at %zu: another output", cut);
	}
	tsarc_buf_dispose(&out);
	tsarc_buf_append(&whole, "", 1);
	got = tsarc_buf_detach(&whole);
	tsarc_buf_dispose(&whole);
	return got;
}

static void expect(const char *text, const char *want)
{
	char *got = through(text, NULL);

	assert_string_equal(got, want);
	free(got);
}

static void owners_the_target_lacks(void **state)
{
	cJSON *report = cJSON_CreateObject();
	char *got;

	(void)state;
	got = through("SET standard_conforming_strings = on;\n"
		"CREATE TABLE public.t (id integer);\n\n"
		"ALTER TABLE public.t OWNER TO zync;\n"
		"ALTER FUNCTION public.f(integer, character varying) OWNER TO zync;\r\n"
		"ALTER SEQUENCE public.\"odd \"\"seq\" OWNER TO \"Zync Admin\";\n"
		"ALTER TABLE public.u OWNER TO postgres;\n"
		"ALTER SCHEMA s OWNER TO \"Mixed Case\";\n"
		"ALTER LARGE OBJECT 16385 OWNER TO Zync;\n", report);
	assert_string_equal(got, "SET standard_conforming_strings = on;\n"
		"CREATE TABLE public.t (id integer);\n\n"
		"ALTER TABLE public.t OWNER TO \"app\";\n"
		"ALTER FUNCTION public.f(integer, character varying) OWNER TO \"app\";\r\n"
		"ALTER SEQUENCE public.\"odd \"\"seq\" OWNER TO \"app\";\n"
		"ALTER TABLE public.u OWNER TO postgres;\n"
		"ALTER SCHEMA s OWNER TO \"Mixed Case\";\n"
		"ALTER LARGE OBJECT 16385 OWNER TO \"app\";\n");
	free(got);
	got = cJSON_PrintUnformatted(report);
	assert_string_equal(got, "{\"owners\":{\"to\":\"app\",\"from\":[\"zync\",\"Zync Admin\"],"
		"\"statements\":4,\"grants_left_out\":0}}");
	free(got);
	cJSON_Delete(report);
}

static void grants(void **state)
{
	cJSON *report = cJSON_CreateObject();
	char *got;

	(void)state;
	got = through("GRANT SELECT ON TABLE public.t TO reader;\n"
		"GRANT SELECT(id) ON TABLE public.t TO postgres;\n"
		"GRANT SELECT ON TABLE public.t TO reader, postgres;\n"
		"GRANT ALL ON SCHEMA public TO GROUP reader WITH GRANT OPTION;\n"
		"REVOKE ALL ON FUNCTION public.f(integer) FROM PUBLIC;\n"
		"REVOKE ALL ON TABLE public.t FROM zync;\n"
		"GRANT zync TO app;\n"
		"ALTER DEFAULT PRIVILEGES FOR ROLE zync IN SCHEMA public GRANT SELECT ON TABLES TO postgres;\n"
		"ALTER DEFAULT PRIVILEGES FOR ROLE zync GRANT SELECT ON TABLES TO reader;\n"
		"ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL ON TABLES FROM PUBLIC;\n", report);
	assert_string_equal(got, "GRANT SELECT(id) ON TABLE public.t TO postgres;\n"
		"GRANT SELECT ON TABLE public.t TO reader, postgres;\n"
		"REVOKE ALL ON FUNCTION public.f(integer) FROM PUBLIC;\n"
		"GRANT zync TO app;\n"
		"ALTER DEFAULT PRIVILEGES FOR ROLE \"app\" IN SCHEMA public GRANT SELECT ON TABLES TO postgres;\n"
		"ALTER DEFAULT PRIVILEGES FOR ROLE postgres REVOKE ALL ON TABLES FROM PUBLIC;\n");
	free(got);
	got = cJSON_PrintUnformatted(report);
	assert_string_equal(got, "{\"owners\":{\"to\":\"app\",\"from\":[\"zync\"],"
		"\"statements\":1,\"grants_left_out\":4}}");
	free(got);
	cJSON_Delete(report);
}

/* What only looks like an owner's statement, and statements not read. */
static void left_as_they_are(void **state)
{
	static const char *const same[] = {
		/* COPY data */
		"COPY public.notes (line) FROM stdin;\nALTER TABLE public.t OWNER TO zync;\n"
		"GRANT SELECT ON TABLE public.t TO reader;\n\\.\n",
		/* a function's body */
		"CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $f$\nBEGIN\n"
		"ALTER TABLE public.t OWNER TO zync;\nEND\n$f$;\n",
		/* a string over lines, a comment over lines */
		"COMMENT ON TABLE t IS 'x\nALTER TABLE public.t OWNER TO zync;\n';\n",
		"/* x\nALTER TABLE public.t OWNER TO zync;\n*/\n",
		/* a statement over two lines, two statements on a line, a comment
		 * or a string on the line, a role of other than ASCII letters */
		"ALTER TABLE public.t\n    OWNER TO zync;\n",
		"ALTER TABLE public.t OWNER TO zync; ALTER TABLE public.u OWNER TO zync;\n",
		"ALTER TABLE public.t OWNER TO zync; -- why\n",
		"SET client_encoding = 'UTF8';\nALTER TABLE public.t OWNER TO \"z\xc3\xbcnc\";\n",
		"SET client_encoding = 'UTF8';\nGRANT SELECT ON TABLE public.t TO \"r\xc3\xa9\";\n",
		"GRANT SELECT ON TABLE public.t TO reader\n",
		/* other statements that begin with the same letters */
		"ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n"
		"ALTER TABLE public.t OWNER TO CURRENT_USER;\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		expect(same[i], same[i]);
	/* the input's last line, without its newline, is read as any other */
	expect("ALTER TABLE public.t OWNER TO zync;", "ALTER TABLE public.t OWNER TO \"app\";");
}

/* The restoring role's name quoted as a name: a quote in it doubled. */
static void quoted_restoring_role(void **state)
{
	tsarc_psql_owner *o;
	tsarc_buf out = TSARC_BUF_INIT;
	static const char line[] = "ALTER TABLE public.t OWNER TO zync;\n";

	(void)state;
	assert_int_equal(tsarc_psql_owner_new("6f226b 6f226b\n", &o), 0); /* o"k */
	assert_int_equal(tsarc_psql_owner_feed(o, line, sizeof(line) - 1, &out), 0);
	assert_int_equal(tsarc_psql_owner_finish(o, &out), 0);
	tsarc_buf_append(&out, "", 1);
	assert_string_equal((char *)out.ptr, "ALTER TABLE public.t OWNER TO \"o\"\"k\";\n");
	tsarc_buf_dispose(&out);
	tsarc_psql_owner_free(o);
}

static void bad_answers(void **state)
{
	static const char *const bad[] = {"", "\n", "61707", "6170zz", "617070  706f",
		"617070 00", "617070 706f\nmore"};
	tsarc_psql_owner *o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tsarc_psql_owner_new(bad[i], &o) != TSARC_ECORRUPT)
			fail_msg("answer %zu taken", i);
		assert_null(o);
	}
	/* a server of no other role than the one it connects as */
	assert_int_equal(tsarc_psql_owner_new(HEX_APP "\n", &o), 0);
	tsarc_psql_owner_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(owners_the_target_lacks),
		cmocka_unit_test(grants),
		cmocka_unit_test(left_as_they_are),
		cmocka_unit_test(quoted_restoring_role),
		cmocka_unit_test(bad_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
