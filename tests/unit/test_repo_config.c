/*
 * The repository config as tsarc__repo_config_parse reads it: what tsarc
 * writes (formats 1 and 2, each codec, with Object Lock or without) gives
 * its fields and prints back to the same bytes; anything else is refused
 * with a message, and the error carries the code returned. A config that
 * opens is one a backup and a restore can use: no level its codec has not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "codec.h"
#include "repo.h"
#include "wipe.h"
#include "tsarc/errors.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SEED "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define HEAD(v) "{\"version\":" #v ",\"id\":\"" ID "\","
#define CHUNKER(mn, av, mx)                                                             \
	"\"chunker\":{\"algorithm\":\"fastcdc-gear64\",\"min\":" #mn ",\"avg\":" #av           \
	",\"max\":" #mx ",\"seed\":\"" SEED "\"}"
#define CH1 CHUNKER(262144, 1048576, 4194304)
#define CH2 CHUNKER(16384, 65536, 262144)
#define PACK ",\"pack_size\":16777216}"

static void test_config_fields(void **state)
{
	static const struct {
		const char *json;
		int rc;
		uint32_t version, pack_size, avg;
		tsarc_codec_id codec;
		int level;
		uint32_t days; /* Object Lock, compliance */
	} cases[] = {
		/* What tsarc writes. */
		{HEAD(2) CH2 ",\"compression\":\"zstd\",\"level\":3" PACK, 0, 2, 16777216, 65536,
			TSARC_CODEC_ZSTD, 3, 0},
		{HEAD(2) CH2 ",\"compression\":\"zstd\",\"level\":22,\"object_lock\":{\"mode\":"
			"\"compliance\",\"days\":30}" PACK, 0, 2, 16777216, 65536, TSARC_CODEC_ZSTD, 22, 30},
		{HEAD(1) CH1 ",\"compression\":\"zlib\",\"level\":6}", 0, 1, 0, 1048576,
			TSARC_CODEC_ZLIB, 6, 0},
		{HEAD(1) CH1 ",\"compression\":\"zlib\",\"level\":9}", 0, 1, 0, 1048576,
			TSARC_CODEC_ZLIB, 9, 0},
		{HEAD(2) CH2 ",\"compression\":\"none\",\"level\":0" PACK, 0, 2, 16777216, 65536,
			TSARC_CODEC_NONE, 0, 0},
		/* A level its codec has not: every backup and restore would fail. */
		{HEAD(1) CH1 ",\"compression\":\"zlib\",\"level\":12}", TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{HEAD(1) CH1 ",\"compression\":\"zlib\",\"level\":0}", TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{HEAD(2) CH2 ",\"compression\":\"zstd\",\"level\":0" PACK, TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{HEAD(2) CH2 ",\"compression\":\"zstd\",\"level\":23" PACK, TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{HEAD(2) CH2 ",\"compression\":\"zstd\",\"level\":1e300" PACK, TSARC_ECORRUPT, 0, 0, 0, 0, 0,
			0},
		{HEAD(2) CH2 ",\"compression\":\"lz4\",\"level\":1" PACK, TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		/* Impossible chunker sizes: the chunker's message, as damage. */
		{HEAD(2) CHUNKER(16384, 65000, 262144) ",\"compression\":\"zstd\",\"level\":3" PACK,
			TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{HEAD(2) CHUNKER(65536, 65536, 262144) ",\"compression\":\"zstd\",\"level\":3" PACK,
			TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{HEAD(2) CHUNKER(16384, 65536, 4294967296) ",\"compression\":\"zstd\",\"level\":3" PACK,
			TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		/* A newer format, and the rest of damage. */
		{HEAD(3) CH2 ",\"compression\":\"zstd\",\"level\":3" PACK, TSARC_EUNSUPPORTED, 0, 0, 0, 0,
			0, 0},
		{HEAD(0) CH2 ",\"compression\":\"zstd\",\"level\":3" PACK, TSARC_EUNSUPPORTED, 0, 0, 0, 0,
			0, 0},
		{HEAD(2) CH2 ",\"compression\":\"zstd\",\"level\":3}", TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{HEAD(2) CH2 ",\"compression\":\"zstd\",\"level\":3,\"pack_size\":65535}", TSARC_ECORRUPT,
			0, 0, 0, 0, 0, 0},
		{"{\"version\":2,\"id\":\"0123\"," CH2 ",\"compression\":\"zstd\",\"level\":3" PACK,
			TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{HEAD(2) CH2 ",\"compression\":\"zstd\",\"level\":3,\"object_lock\":{\"mode\":"
			"\"compliance\",\"days\":0}" PACK, TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{HEAD(2) "\"compression\":\"zstd\",\"level\":3" PACK, TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{HEAD(2) "\"chunker\":[16384,65536,262144],\"compression\":\"zstd\",\"level\":3" PACK,
			TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{"[2]", TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{"{\"version\":2", TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
		{"", TSARC_ECORRUPT, 0, 0, 0, 0, 0, 0},
	};
	size_t i, wrong = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *json = cases[i].json;
		tsarc_repo *repo = calloc(1, sizeof(*repo)), *again = calloc(1, sizeof(*again));
		const tsarc_error *e;
		char *text = NULL;
		int rc;

		assert_non_null(repo);
		assert_non_null(again);
		tsarc_error_clear();
		rc = tsarc__repo_config_parse(repo, (const uint8_t *)json, strlen(json));
		e = tsarc_error_last();
		if (rc != cases[i].rc) {
			print_error("case %zu: %d, not %d (%s)\n", i, rc, cases[i].rc,
				e->message ? e->message : "");
			wrong++;
		} else if (rc && (e->code != rc || !e->message || !e->message[0])) {
			print_error("case %zu: refused with %d, but the error says %d: %s\n", i, rc,
				e->code, e->message ? e->message : "");
			wrong++;
		} else if (!rc) {
			assert_int_equal(repo->version, cases[i].version);
			assert_int_equal(repo->pack_size, cases[i].pack_size);
			assert_int_equal(repo->chunker.avg_size, cases[i].avg);
			assert_int_equal(repo->codec, cases[i].codec);
			assert_int_equal(repo->level, cases[i].level);
			assert_int_equal(repo->retention.mode,
				cases[i].days ? TSARC_RETAIN_COMPLIANCE : TSARC_RETAIN_NONE);
			assert_int_equal(repo->retention.days, cases[i].days);
			assert_string_equal(repo->id, ID);
			assert_int_equal(repo->chunker_seed[31], 31);
			/* Written back, the same bytes. */
			assert_int_equal(tsarc__repo_config_print(&text, repo), 0);
			assert_string_equal(text, json);
			assert_int_equal(tsarc__repo_config_parse(again, (const uint8_t *)text,
				strlen(text)), 0);
			tsarc_secure_free_str(text);
		}
		free(repo);
		free(again);
	}
	assert_int_equal(wrong, 0);
}

TSARC_TESTS_MAIN(NULL, NULL, cmocka_unit_test(test_config_fields))
