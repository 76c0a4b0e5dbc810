/* names.c: a {value, name} table read both ways, and the tables built on
 * it (codecs, signals, log levels): the first row of a value prints, every
 * row parses, a miss gives the caller's word or leaves the value alone. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "codec.h"
#include "interrupt.h"
#include "names.h"
#include "tsarc/errors.h"
#include "tsarc/log.h"

static const tsarc_name COLOURS[] = {
	{1, "red"}, {1, "scarlet"}, {2, "green"}, {-3, "Blue"},
};

static void both_directions(void **state)
{
	static const struct {
		const char *name;
		int nocase, found, value;
	} finds[] = {
		{"red", 0, 1, 1},   {"scarlet", 0, 1, 1}, {"green", 0, 1, 2},
		{"Blue", 0, 1, -3}, {"blue", 0, 0, 99},   {"blue", 1, 1, -3},
		{"GREEN", 1, 1, 2}, {"", 1, 0, 99},       {"re", 0, 0, 99},
	};
	size_t i;

	(void)state;
	assert_string_equal(tsarc_name_of(COLOURS, TSARC_NAMES_COUNT(COLOURS), 1, "?"), "red");
	assert_string_equal(tsarc_name_of(COLOURS, TSARC_NAMES_COUNT(COLOURS), -3, "?"), "Blue");
	assert_string_equal(tsarc_name_of(COLOURS, TSARC_NAMES_COUNT(COLOURS), 0, "?"), "?");
	assert_null(tsarc_name_of(COLOURS, 0, 1, NULL));
	for (i = 0; i < sizeof(finds) / sizeof(finds[0]); i++) {
		int v = 99;
		assert_int_equal(tsarc_name_find(COLOURS, TSARC_NAMES_COUNT(COLOURS), finds[i].name,
			finds[i].nocase, &v), finds[i].found);
		assert_int_equal(v, finds[i].value);
	}
}

static void codecs_round_trip(void **state)
{
	static const char *const names[] = {"zstd", "zlib", "none"};
	tsarc_codec_id id = TSARC_CODEC_ZSTD;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(tsarc_codec_parse(names[i], &id), 0);
		assert_string_equal(tsarc_codec_name(id), names[i]);
	}
	assert_int_equal(tsarc_codec_parse("ZSTD", &id), TSARC_EINVAL);
	assert_string_equal(tsarc_error_last()->message,
		"unknown compression 'ZSTD' (use zstd, zlib or none)");
	assert_string_equal(tsarc_codec_name((tsarc_codec_id)77), "unknown");
}

static void signals_and_levels(void **state)
{
	static const struct {
		int sig;
		const char *name;
	} sigs[] = {{SIGINT, "SIGINT"}, {SIGTERM, "SIGTERM"}, {SIGHUP, "SIGHUP"},
		{SIGUSR1, "a signal"}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		assert_string_equal(tsarc_signal_name(sigs[i].sig), sigs[i].name);
	assert_string_equal(tsarc_log_level_name((tsarc_log_level)42), "info");
}

TSARC_TESTS_MAIN(NULL, NULL, cmocka_unit_test(both_directions),
	cmocka_unit_test(codecs_round_trip), cmocka_unit_test(signals_and_levels))
