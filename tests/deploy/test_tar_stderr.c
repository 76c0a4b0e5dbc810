/* A live tree read by GNU tar in a pod: what its stderr says
 * (backends/components/tar_stderr.c), and the "padded" record a restore
 * reads back from snapshots that older versions wrote (src/tree/padding.c).
 * The lines are GNU tar 1.34's own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "tar_stderr.h"
#include "tree_restore.h"
#include "tsarc/errors.h"

static void line(tsarc_tar_stderr *t, const char *text)
{
	tsarc_tar_stderr_line(t, text, strlen(text), 0);
}

static void unquote(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(tsarc_tar_unquote("./a\\:b\\\\c\\t\\303\\251 x", 21, out, sizeof(out)), 0);
	assert_string_equal(out, "./a:b\\c\t\xc3\xa9 x");
	assert_int_equal(tsarc_tar_unquote("\\001\\n\\?", 8, out, sizeof(out)), 0);
	assert_string_equal(out, "\001\n?");
	/* Not GNU tar's quoting: refused, never guessed. */
	assert_int_equal(tsarc_tar_unquote("a\\", 2, out, sizeof(out)), -1);
	assert_int_equal(tsarc_tar_unquote("a\\x41", 5, out, sizeof(out)), -1);
	assert_int_equal(tsarc_tar_unquote("\\000", 4, out, sizeof(out)), -1);
	assert_int_equal(tsarc_tar_unquote("\\777", 4, out, sizeof(out)), -1);
	assert_int_equal(tsarc_tar_unquote("abcdef", 6, out, 4), -1);
}

static void warnings_explain_status_1(void **state)
{
	tsarc_tar_stderr *t = tsarc_tar_stderr_new("tar", "/srv/storage");
	unsigned long long zeros = 0;

	(void)state;
	assert_non_null(t);
	line(t, "tar: ./sock: socket ignored");
	/* A socket alone does not make tar exit 1. */
	assert_false(tsarc_tar_stderr_exit_ok(t, 1));
	line(t, "tar: ./big: File shrank by 20784 bytes; padding with zeros");
	line(t, "tar: ./one: File shrank by 1 byte; padding with zeros");
	line(t, "tar: ./a\\: b: file changed as we read it");
	line(t, "tar: ./gone: File removed before we read it");
	line(t, "command terminated with exit code 1");
	assert_true(tsarc_tar_stderr_exit_ok(t, 1));
	assert_false(tsarc_tar_stderr_exit_ok(t, 2));
	tsarc_tar_stderr_end(t);
	assert_string_equal(tsarc_tar_stderr_unclaimed(t, &zeros), "./big");
	assert_int_equal(zeros, 20784);
	tsarc_tar_stderr_free(t);
}

/* The zeros tar padded each file with, once stderr has ended: each report
 * is given once, and one nobody asked for is found. */
static void padding_by_name(void **state)
{
	tsarc_tar_stderr *t = tsarc_tar_stderr_new("tar", "/srv/storage");
	atomic_int stop;
	unsigned long long zeros = 0;

	(void)state;
	atomic_init(&stop, 0);
	assert_non_null(t);
	line(t, "tar: ./big: File shrank by 20784 bytes; padding with zeros");
	line(t, "tar: ./one: File shrank by 1 byte; padding with zeros");
	line(t, "tar: ./a\\:b: File shrank by 7 bytes; padding with zeros");
	tsarc_tar_stderr_end(t);
	assert_int_equal(tsarc_tar_stderr_wait(t, &stop), 0);
	assert_int_equal(tsarc_tar_stderr_padding(t, "./big"), 20784);
	assert_int_equal(tsarc_tar_stderr_padding(t, "./big"), 0);
	assert_int_equal(tsarc_tar_stderr_padding(t, "./a:b"), 7);
	assert_int_equal(tsarc_tar_stderr_padding(t, "./none"), 0);
	assert_string_equal(tsarc_tar_stderr_unclaimed(t, &zeros), "./one");
	assert_int_equal(zeros, 1);
	assert_int_equal(tsarc_tar_stderr_padding(t, "./one"), 1);
	assert_null(tsarc_tar_stderr_unclaimed(t, &zeros));
	tsarc_tar_stderr_free(t);
}

/* Stderr that never ends: the wait gives up once told to stop. */
static void wait_stops(void **state)
{
	tsarc_tar_stderr *t = tsarc_tar_stderr_new("tar", "/srv");
	atomic_int stop;

	(void)state;
	atomic_init(&stop, 1);
	assert_int_equal(tsarc_tar_stderr_wait(t, &stop), -1);
	tsarc_tar_stderr_free(t);
}

static void anything_else_stays_an_error(void **state)
{
	static const char *const others[] = {
		"tar: ./x: Cannot open: Permission denied",
		"tar: ./x: File shrank by 2 byte; padding with zeros", /* not tar's plural */
		"tar: ./x: File shrank by 0 bytes; padding with zeros",
		"tar: ./x: File shrank by bytes; padding with zeros",
		"tar: ./x\\q: file changed as we read it", /* not tar's quoting */
		"tar: file changed as we read it",
		"gtar: ./x: file changed as we read it",
		"something else",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		tsarc_tar_stderr *t = tsarc_tar_stderr_new("/usr/bin/tar", "/srv");
		assert_non_null(t);
		line(t, "tar: ./big: File shrank by 20784 bytes; padding with zeros");
		assert_true(tsarc_tar_stderr_exit_ok(t, 1));
		line(t, others[i]);
		if (tsarc_tar_stderr_exit_ok(t, 1))
			fail_msg("exit status 1 accepted after: %s", others[i]);
		tsarc_tar_stderr_free(t);
	}
	/* A line cut for its length is never taken for a warning. */
	{
		tsarc_tar_stderr *t = tsarc_tar_stderr_new("tar", "/srv");
		const char *l = "tar: ./x: file changed as we read it";
		tsarc_tar_stderr_line(t, l, strlen(l), 1);
		assert_false(tsarc_tar_stderr_exit_ok(t, 1));
		tsarc_tar_stderr_free(t);
	}
}

static void padding_record(void **state)
{
	static const char *const bad[] = {
		"{\"padded\": {}}",
		"{\"padded\": [1]}",
		"{\"padded\": [{\"path\": \"./a\"}]}",
		"{\"padded\": [{\"path\": \"./a\", \"zeros\": 0}]}",
		"{\"padded\": [{\"path\": \"./a\", \"zeros\": -5}]}",
		"{\"padded\": [{\"path\": \"./a\", \"zeros\": 1.5}]}",
		"{\"padded\": [{\"path\": \"./a\", \"zeros\": 1e300}]}",
		"{\"padded\": [{\"path\": \"./\", \"zeros\": 1}]}",
		"{\"padded\": [{\"path\": 7, \"zeros\": 1}]}",
		"{\"padded\": [{\"path\": \"a\", \"zeros\": 1}, {\"path\": \"./a\", \"zeros\": 2}]}",
	};
	tsarc_tree_padding *p = NULL;
	cJSON *m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = cJSON_Parse(bad[i]);
		assert_non_null(m);
		if (tsarc_tree_padding_parse(m, &p) != TSARC_EUNSAFE)
			fail_msg("accepted: %s", bad[i]);
		assert_null(p);
		cJSON_Delete(m);
	}
	m = cJSON_Parse("{\"padded\": [{\"path\": \"./b\", \"zeros\": 9}, {\"path\": \"./a\", "
		"\"zeros\": 4096}]}");
	assert_int_equal(tsarc_tree_padding_parse(m, &p), 0);
	assert_non_null(p);
	tsarc_tree_padding_free(p);
	cJSON_Delete(m);
	m = cJSON_Parse("{\"kind\": \"files\"}");
	assert_int_equal(tsarc_tree_padding_parse(m, &p), 0);
	assert_null(p);
	cJSON_Delete(m);
}

TSARC_TESTS_MAIN(NULL, NULL, cmocka_unit_test(unquote), cmocka_unit_test(warnings_explain_status_1),
	cmocka_unit_test(padding_by_name), cmocka_unit_test(wait_stops),
	cmocka_unit_test(anything_else_stays_an_error), cmocka_unit_test(padding_record))
