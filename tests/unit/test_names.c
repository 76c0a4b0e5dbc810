/* names.c: a {value, name} table read both ways, and the tables built on
 * it (codecs, signals, log levels): the first row of a value prints, every
 * row parses, a miss gives the caller's word or leaves the value alone;
 * and the check of text a snapshot records (tags, host, stream names). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

#define BIDI "bidirectional or invisible formatting characters are not allowed"

/* Text a snapshot records: every boundary of the refused ranges, and a
 * message that shows the value cleaned and cut on a character's edge.
 * ("?\?" below: one '?' a bad byte, not a trigraph.) */
static void recorded_text(void **state)
{
	static const struct {
		const char *text, *problem;
	} cases[] = {
		{"", NULL}, {"nightly-2026 ~!", NULL}, {" \x7e", NULL}, {"\xc2\xa0", NULL},
		{"\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", NULL},
		{"\x01", "control characters are not allowed"},
		{"\x1f", "control characters are not allowed"},
		{"a\tb", "control characters are not allowed"},
		{"\x7f", "control characters are not allowed"},
		{"\xc2\x80", "control characters are not allowed"},
		{"\xc2\x9f", "control characters are not allowed"},
		{"\x80", "not valid UTF-8"},
		{"\xc1\xbf", "not valid UTF-8"},
		{"\xe0\x9f\xbf", "not valid UTF-8"},
		{"\xed\xbf\xbf", "not valid UTF-8"},
		{"\xf0\x8f\xbf\xbf", "not valid UTF-8"},
		{"\xf5\x80\x80\x80", "not valid UTF-8"},
		{"\xc3", "not valid UTF-8"},
		{"\xc3\x28", "not valid UTF-8"},
		/* Characters that reorder or hide text: the bidirectional controls,
		 * marks and isolates, the line and paragraph separators, the zero
		 * widths, U+2060..U+206F and the BOM; their neighbours are fine. */
		{"nightly\xe2\x80\xae" "daolpu", BIDI}, /* U+202E RLO */
		{"\xd8\x9b\xd8\x9d\xe2\x80\x8a\xe2\x80\x90\xe2\x80\xa7\xe2\x80\xaf"
		 "\xe2\x81\x9f\xe2\x81\xb0\xef\xbb\xbe\xef\xbc\x80", NULL},
		{"\xd8\x9c", BIDI},           /* U+061C ALM */
		{"\xe2\x80\x8b", BIDI},       /* U+200B ZWSP */
		{"a\xe2\x80\x8d" "b", BIDI},  /* U+200D ZWJ */
		{"\xe2\x80\x8e", BIDI},       /* U+200E LRM */
		{"\xe2\x80\x8f", BIDI},       /* U+200F RLM */
		{"\xe2\x80\xa8", BIDI},       /* U+2028 LINE SEPARATOR */
		{"\xe2\x80\xa9", BIDI},       /* U+2029 PARAGRAPH SEPARATOR */
		{"\xe2\x80\xaa", BIDI},       /* U+202A LRE */
		{"\xe2\x80\xac", BIDI},       /* U+202C PDF */
		{"\xe2\x81\xa0", BIDI},       /* U+2060 WORD JOINER */
		{"\xe2\x81\xa4", BIDI},       /* U+2064 INVISIBLE PLUS */
		{"\xe2\x81\xa6", BIDI},       /* U+2066 LRI */
		{"\xe2\x81\xa9", BIDI},       /* U+2069 PDI */
		{"\xe2\x81\xaf", BIDI},       /* U+206F NOMINAL DIGIT SHAPES */
		{"\xef\xbb\xbf" "a", BIDI},   /* U+FEFF BOM */
		/* The other default-ignorable characters (they render as nothing)
		 * and the fillers that render blank: the first and the last of each
		 * range refused, the neighbours on both sides allowed (U+180D and
		 * U+180F are Mongolian variation selectors, U+E0100..U+E01EF the
		 * ideographic ones). */
		{"a\xc2\xad" "b", BIDI},          /* U+00AD SOFT HYPHEN */
		{"\xc2\xac\xc2\xae", NULL},        /* U+00AC, U+00AE */
		{"\xcd\x8f", BIDI},               /* U+034F COMBINING GRAPHEME JOINER */
		{"\xcd\x8e\xcd\x90", NULL},        /* U+034E, U+0350 */
		{"\xe1\x85\x9f", BIDI},           /* U+115F HANGUL CHOSEONG FILLER */
		{"\xe1\x85\xa0", BIDI},           /* U+1160 HANGUL JUNGSEONG FILLER */
		{"\xe1\x85\x9e\xe1\x85\xa1", NULL}, /* U+115E, U+1161 */
		{"\xe1\x9e\xb4", BIDI},           /* U+17B4 KHMER VOWEL INHERENT AQ */
		{"\xe1\x9e\xb5", BIDI},           /* U+17B5 KHMER VOWEL INHERENT AA */
		{"\xe1\x9e\xb3\xe1\x9e\xb6", NULL}, /* U+17B3, U+17B6 */
		{"\xe1\xa0\x8e", BIDI},           /* U+180E MONGOLIAN VOWEL SEPARATOR */
		{"\xe1\xa0\x8d\xe1\xa0\x8f", NULL}, /* U+180D, U+180F */
		{"\xe3\x85\xa4", BIDI},           /* U+3164 HANGUL FILLER */
		{"\xe3\x85\xa3\xe3\x85\xa5", NULL}, /* U+3163, U+3165 */
		{"\xef\xbe\xa0", BIDI},           /* U+FFA0 HALFWIDTH HANGUL FILLER */
		{"\xef\xbe\x9f\xef\xbe\xa1", NULL}, /* U+FF9F, U+FFA1 */
		{"\xef\xbf\xb0", BIDI},           /* U+FFF0 (reserved, ignorable) */
		{"\xef\xbf\xb9", BIDI},           /* U+FFF9 INTERLINEAR ANNOTATION ANCHOR */
		{"\xef\xbf\xbb", BIDI},           /* U+FFFB INTERLINEAR ANNOTATION TERMINATOR */
		{"\xef\xbf\xaf\xef\xbf\xbc", NULL}, /* U+FFEF, U+FFFC */
		{"\xf0\x9b\xb2\xa0", BIDI},       /* U+1BCA0 SHORTHAND FORMAT LETTER OVERLAP */
		{"\xf0\x9b\xb2\xa3", BIDI},       /* U+1BCA3 SHORTHAND FORMAT UP STEP */
		{"\xf0\x9b\xb2\x9f\xf0\x9b\xb2\xa4", NULL}, /* U+1BC9F, U+1BCA4 */
		{"\xf0\x9d\x85\xb3", BIDI},       /* U+1D173 MUSICAL SYMBOL BEGIN BEAM */
		{"\xf0\x9d\x85\xba", BIDI},       /* U+1D17A MUSICAL SYMBOL END PHRASE */
		{"\xf0\x9d\x85\xb2\xf0\x9d\x85\xbb", NULL}, /* U+1D172, U+1D17B */
		{"\xf3\xa0\x80\x80", BIDI},       /* U+E0000, the first of the tag block */
		{"x\xf3\xa0\x81\xb8", BIDI},      /* U+E0078 TAG LATIN SMALL LETTER X */
		{"\xf3\xa0\x81\xbf", BIDI},       /* U+E007F CANCEL TAG */
		{"\xf3\xa0\x83\xbf", BIDI},       /* U+E00FF (reserved, ignorable) */
		{"\xf3\xa0\x87\xb0", BIDI},       /* U+E01F0 (reserved, ignorable) */
		{"\xf3\xa0\xbf\xbf", BIDI},       /* U+E0FFF (reserved, ignorable) */
		{"\xf3\x9f\xbf\xbf\xf3\xa1\x80\x80", NULL}, /* U+DFFFF, U+E1000 */
		{"\xf3\xa0\x84\x80\xf3\xa0\x87\xaf", NULL}, /* U+E0100, U+E01EF: VS17, VS256 */
		{"\xef\xb8\x80\xef\xb8\x8f", NULL}, /* U+FE00, U+FE0F: VS1, VS16 */
	};
	char long_tag[300], want[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_or_null(tsarc_text_problem(cases[i].text), cases[i].problem);
	assert_int_equal(tsarc_text_check(TSARC_EINVAL, "tag", "fine \xe2\x98\x95"), 0);
	assert_int_equal(tsarc_text_check(TSARC_ECONFIG, "x.json: a.stream", "a\x1b\xc2\x9b\xff\xc3\xa9"),
		TSARC_ECONFIG);
	assert_string_equal(tsarc_error_last()->message,
		"x.json: a.stream 'a?\?\?\xc3\xa9': control characters are not allowed");
	/* Shown as one '?' each; the first problem is the one named. */
	assert_int_equal(tsarc_text_check(TSARC_EINVAL, "tag", "nightly\xe2\x80\xae" "daolpu\x1b"),
		TSARC_EINVAL);
	assert_string_equal(tsarc_error_last()->message, "tag 'nightly?daolpu?': " BIDI);
	/* A soft hyphen: "night<SHY>ly" shows as "nightly" and is not it. */
	assert_int_equal(tsarc_text_check(TSARC_EINVAL, "tag", "night\xc2\xad" "ly"), TSARC_EINVAL);
	assert_string_equal(tsarc_error_last()->message, "tag 'night?ly': " BIDI);
	assert_int_equal(tsarc_text_check(TSARC_EINVAL, "tag", NULL), TSARC_EINVAL);
	assert_string_equal(tsarc_error_last()->message, "tag: it is missing");
	/* 149 two-byte characters and an ESC: 48 of them shown, then "...". */
	for (i = 0; i < 149; i++)
		memcpy(long_tag + 2 * i, "\xc3\xa9", 2);
	long_tag[298] = '\x1b';
	long_tag[299] = '\0';
	assert_int_equal(tsarc_text_check(TSARC_EINVAL, "tag", long_tag), TSARC_EINVAL);
	snprintf(want, sizeof(want), "tag '%.96s...': control characters are not allowed", long_tag);
	assert_string_equal(tsarc_error_last()->message, want);
}

TSARC_TESTS_MAIN(NULL, NULL, cmocka_unit_test(both_directions),
	cmocka_unit_test(codecs_round_trip), cmocka_unit_test(signals_and_levels),
	cmocka_unit_test(recorded_text))
