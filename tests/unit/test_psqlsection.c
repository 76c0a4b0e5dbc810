/* One database's part of a pg_dumpall (src/deploy/psqlsection.c): the
 * part pg_dump wrote for it is kept, without its reconnections, whatever
 * lines that look like markers hide in strings and COPY data; no part, an
 * unfinished part or a part twice is an error; any split of the input
 * gives the same output; behind it, the guard of a load into one database
 * refuses a \connect elsewhere (filter.h's chain). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy/filter.h"
#include "deploy/psqlguard.h"
#include "deploy/psqlsection.h"
#include "tsarc/errors.h"

/* A pg_dumpall --clean --if-exists as PostgreSQL 15 writes it (abridged),
 * with lines that look like the part's markers where they are none: in a
 * comment's string, in COPY data. */
#define CLUSTER                                                                          \
	"--\n-- PostgreSQL database cluster dump\n--\n\n\\restrict K0\n\n"                  \
	"SET default_transaction_read_only = off;\n\nSET client_encoding = 'UTF8';\n"       \
	"SET standard_conforming_strings = on;\n\n"                                       \
	"DROP DATABASE IF EXISTS zync_production;\n\nDROP ROLE IF EXISTS postgres;\n"       \
	"DROP ROLE IF EXISTS zync;\n\nCREATE ROLE zync;\n"                                 \
	"ALTER ROLE zync WITH NOSUPERUSER LOGIN;\n\n\\unrestrict K0\n\n"
#define TEMPLATE1                                                                        \
	"--\n-- Database \"template1\" dump\n--\n\n--\n-- PostgreSQL database dump\n--\n\n"  \
	"\\restrict K1\n\nSET standard_conforming_strings = on;\n\n"                        \
	"UPDATE pg_catalog.pg_database SET datistemplate = false WHERE datname = 'template1';\n" \
	"DROP DATABASE template1;\n"                                                      \
	"CREATE DATABASE template1 WITH TEMPLATE = template0 ENCODING = 'UTF8';\n\n"        \
	"\\unrestrict K1\n\\connect template1\n\\restrict K1\n\n"                           \
	"SET standard_conforming_strings = on;\n"                                         \
	"COMMENT ON DATABASE template1 IS 'default template\n\\connect zync_production\n"   \
	"-- PostgreSQL database dump complete\n';\n\n"                                     \
	"\\unrestrict K1\n\\connect template1\n\\restrict K1\n\n"                           \
	"COPY public.notes (t) FROM stdin;\n\\connect zync_production\n"                   \
	"\\\\connect zync_production\n-- PostgreSQL database dump complete\n\\.\n\n"        \
	"--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict K1\n\n"
/* zync_production's part: what precedes its \connect, then what a load
 * into it gets (PART_A, PART_B: its reconnection between them dropped). */
#define ZYNC_HEAD                                                                        \
	"--\n-- Database \"zync_production\" dump\n--\n\n--\n-- PostgreSQL database dump\n--\n\n" \
	"\\restrict K2\n\nSET standard_conforming_strings = on;\n\n"                        \
	"CREATE DATABASE zync_production WITH TEMPLATE = template0 ENCODING = 'UTF8';\n\n"  \
	"ALTER DATABASE zync_production OWNER TO zync;\n\n\\unrestrict K2\n"
#define PART_A                                                                           \
	"\\restrict K2\n\nSET standard_conforming_strings = on;\n"                          \
	"CREATE TABLE public.tenants (\n    id integer NOT NULL,\n    t text\n);\n"         \
	"COPY public.tenants (id, t) FROM stdin;\n1\ta\n"                                  \
	"-- PostgreSQL database dump complete\n\\connect template1\n\\.\n\n"               \
	"COMMENT ON TABLE public.tenants IS '\n-- PostgreSQL database dump complete\n';\n\n" \
	"\\unrestrict K2\n"
#define PART_B "\\restrict K2\n\nGRANT CONNECT ON DATABASE zync_production TO zync;\n\n--\n"
#define ZYNC                                                                             \
	ZYNC_HEAD "\\connect zync_production\n" PART_A "\\connect zync_production\n" PART_B    \
	"-- PostgreSQL database dump complete\n--\n\n\\unrestrict K2\n\n"
#define POSTGRES                                                                         \
	"--\n-- Database \"postgres\" dump\n--\n\n--\n-- PostgreSQL database dump\n--\n\n"   \
	"\\restrict K3\n\nDROP DATABASE postgres;\n"                                        \
	"CREATE DATABASE postgres WITH TEMPLATE = template0;\n\n\\unrestrict K3\n"          \
	"\\connect postgres\n\\restrict K3\n\nSELECT 1;\n\n"                               \
	"--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict K3\n\n"
#define END "--\n-- PostgreSQL database cluster dump complete\n--\n\n"

static const char DUMP[] = CLUSTER TEMPLATE1 ZYNC POSTGRES END;

/* The part of `db` in text[0..len) fed in pieces of `step` (0: whole), or
 * cut once at `cut` (step 0, cut > 0); the output to `out` (NULL: a check
 * only). */
static int run(const char *db, const char *text, size_t len, size_t step, size_t cut,
	tsarc_buf *out)
{
	tsarc_psql_section *s;
	size_t i;
	int rc = 0;

	assert_int_equal(tsarc_psql_section_new(db, &s), 0);
	if (cut) {
		rc = tsarc_psql_section_feed(s, text, cut, out);
		if (!rc)
			rc = tsarc_psql_section_feed(s, text + cut, len - cut, out);
	} else {
		if (!step)
			step = len ? len : 1;
		for (i = 0; i < len && !rc; i += step)
			rc = tsarc_psql_section_feed(s, text + i, len - i < step ? len - i : step, out);
	}
	if (!rc)
		rc = tsarc_psql_section_finish(s, out);
	tsarc_psql_section_free(s);
	return rc;
}

/* The verdict on text, the same fed whole, byte by byte, cut anywhere and
 * checked only, with the same message; the output (whole) in *got, to
 * free, when it passes. */
static int verdict(const char *db, const char *text, char **got)
{
	size_t len = strlen(text), cut;
	tsarc_buf whole = TSARC_BUF_INIT, out = TSARC_BUF_INIT;
	int rc = run(db, text, len, 0, 0, &whole), other;
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", rc ? tsarc_error_last()->message : "");
	if (run(db, text, len, 0, 0, NULL) != rc)
		fail_msg("checked only, another verdict");
	for (cut = 0; cut < len; cut++) {
		tsarc_buf_clear(&out);
		other = cut ? run(db, text, len, 0, cut, &out) : run(db, text, len, 1, 0, &out);
		if (other != rc)
			fail_msg("cut at %zu: %d, whole %d", cut, other, rc);
		if (rc && strcmp(tsarc_error_last()->message, msg))
			fail_msg("cut at %zu: another message: %s, whole: %s", cut,
				tsarc_error_last()->message, msg);
		if (!rc && (out.size != whole.size || (out.size &&
			memcmp(out.ptr, whole.ptr, out.size))))
			fail_msg("cut at %zu: another output", cut);
	}
	if (rc)
		tsarc_error_set(rc, "%s", msg);
	tsarc_buf_dispose(&out);
	tsarc_buf_append(&whole, "", 1);
	*got = rc ? NULL : tsarc_buf_detach(&whole);
	tsarc_buf_dispose(&whole);
	return rc;
}

static void keeps_the_part(void **state)
{
	char *got = NULL;

	(void)state;
	assert_int_equal(verdict("zync_production", DUMP, &got), 0);
	assert_string_equal(got, PART_A PART_B);
	free(got);
	assert_int_equal(verdict("postgres", DUMP, &got), 0);
	assert_string_equal(got, "\\restrict K3\n\nSELECT 1;\n\n--\n");
	free(got);
	/* template1's two reconnections dropped; its COPY data kept whole */
	assert_int_equal(verdict("template1", DUMP, &got), 0);
	assert_non_null(strstr(got, "\\unrestrict K1\n\\restrict K1\n\nCOPY public.notes"));
	assert_non_null(strstr(got, "\\.\n\n--\n"));
	assert_null(strstr(got, "\nCREATE ROLE"));
	free(got);
}

static void no_part(void **state)
{
	char *got = NULL;

	(void)state;
	assert_int_equal(verdict("system", DUMP, &got), TSARC_ENOTFOUND);
	assert_non_null(strstr(tsarc_error_last()->message,
		"holds no database system (it holds template1, zync_production, postgres)"));
	/* a pg_dump of one database, not of a server */
	assert_int_equal(verdict("zync_production", PART_A PART_B, &got), TSARC_ENOTFOUND);
	assert_non_null(strstr(tsarc_error_last()->message, "no pg_dumpall"));
}

static void unfinished_or_twice(void **state)
{
	char *got = NULL;

	(void)state;
	/* cut before the part's end: nothing of it may count as loaded */
	assert_int_equal(verdict("zync_production",
		CLUSTER TEMPLATE1 ZYNC_HEAD "\\connect zync_production\n" PART_A, &got),
		TSARC_ECORRUPT);
	assert_non_null(strstr(tsarc_error_last()->message, "does not end"));
	assert_int_equal(verdict("zync_production", CLUSTER ZYNC ZYNC END, &got), TSARC_ECORRUPT);
	assert_non_null(strstr(tsarc_error_last()->message, "twice (a second \\connect "
		"zync_production at byte "));
	/* the guard's refusal, wherever it is in the dump */
	assert_int_equal(verdict("zync_production", CLUSTER "\\! id\n" ZYNC END, &got),
		TSARC_EUNSAFE);
}

/* The part into the guard of a load into one database, as a restore
 * chains them: another \connect within the part is refused. */
static int chained(const char *text, tsarc_buf *out)
{
	tsarc_psql_section *s;
	tsarc_psql_guard *g;
	tsarc_filter f[2];
	tsarc_filter_chain c;
	const uint8_t *data = (const uint8_t *)text;
	size_t len = strlen(text);
	int rc;

	assert_int_equal(tsarc_psql_section_new("zync_production", &s), 0);
	assert_int_equal(tsarc_psql_guard_new(&g), 0);
	tsarc_psql_guard_one_database(g);
	f[0] = (tsarc_filter){&tsarc_psql_section_ops, s};
	f[1] = (tsarc_filter){&tsarc_psql_guard_ops, g};
	assert_int_equal(tsarc_filter_chain_init(&c, f, 2), 0);
	rc = tsarc_filter_chain_piece(&c, &data, &len);
	if (!rc)
		tsarc_buf_append(out, data, len);
	if (!rc && !(rc = tsarc_filter_chain_end(&c, &data, &len)))
		tsarc_buf_append(out, data, len);
	tsarc_filter_chain_dispose(&c);
	tsarc_psql_section_free(s);
	tsarc_psql_guard_free(g);
	return rc;
}

static void guard_behind(void **state)
{
	tsarc_buf out = TSARC_BUF_INIT;

	(void)state;
	assert_int_equal(chained(DUMP, &out), 0);
	assert_int_equal(out.size, strlen(PART_A PART_B));
	assert_memory_equal(out.ptr, PART_A PART_B, out.size);
	tsarc_buf_clear(&out);
	assert_int_equal(chained(CLUSTER ZYNC_HEAD "\\connect zync_production\n" PART_A
		"\\connect postgres\n" PART_B "-- PostgreSQL database dump complete\n" END, &out),
		TSARC_EUNSAFE);
	assert_non_null(strstr(tsarc_error_last()->message, "load into one database"));
	tsarc_buf_dispose(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keeps_the_part),
		cmocka_unit_test(no_part),
		cmocka_unit_test(unfinished_or_twice),
		cmocka_unit_test(guard_behind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
