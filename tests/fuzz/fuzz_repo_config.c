/*
 * The repository config is sealed with the master key, so whoever holds
 * the key (or a damaged store) shapes it, and every open reads it first.
 * Whatever it says, reading it ends in a clear refusal (ECORRUPT, or
 * EUNSUPPORTED for another format, with a message, the error carrying
 * the code returned) or in settings each possible: a format this build
 * reads, a pack size within bounds (format 2), a 64-character id, chunker
 * sizes the chunker takes, a codec with a level it has (what a backup and
 * a restore need to start), no Object Lock or one of its modes for 1 to
 * 36500 days. What parses prints and parses back to the same settings,
 * and prints again to the same bytes. A few inputs with known answers
 * are checked on the first call, so a reading that accepts or refuses
 * everything fails.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chunker.h"
#include "codec.h"
#include "pack.h"
#include "repo.h"
#include "wipe.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Configs are read up to 64 KiB. */
#define INPUT_MAX (64u * 1024u)

static tsarc_repo *repo_new(void)
{
	tsarc_repo *r = calloc(1, sizeof(*r));

	if (!r)
		abort();
	return r;
}

static int parse(tsarc_repo *r, const void *json, size_t len)
{
	const tsarc_error *e;
	int rc;

	tsarc_error_clear();
	rc = tsarc__repo_config_parse(r, json, len);
	e = tsarc_error_last();
	if (rc && ((rc != TSARC_ECORRUPT && rc != TSARC_EUNSUPPORTED) || e->code != rc ||
		!e->message || !e->message[0]))
		abort();
	return rc;
}

static void check_settings(const tsarc_repo *r)
{
	if (r->version < 1 || r->version > TSARC_FORMAT_MAX)
		abort();
	if (r->version >= 2 ? r->pack_size < TSARC_PACK_SIZE_MIN ||
		r->pack_size > TSARC_PACK_SIZE_LIMIT : r->pack_size != 0)
		abort();
	if (strlen(r->id) != TSARC_ID_HEX_LEN || tsarc_chunker_params_validate(&r->chunker))
		abort();
	if (!strcmp(tsarc_codec_name(r->codec), "unknown") ||
		tsarc_codec_level_check(r->codec, r->level))
		abort();
	if (r->retention.mode == TSARC_RETAIN_NONE ? r->retention.days != 0
		: (r->retention.mode != TSARC_RETAIN_GOVERNANCE &&
			  r->retention.mode != TSARC_RETAIN_COMPLIANCE) ||
			r->retention.days < 1 || r->retention.days > TSARC_RETAIN_DAYS_MAX)
		abort();
}

static int same_settings(const tsarc_repo *a, const tsarc_repo *b)
{
	return a->version == b->version && a->pack_size == b->pack_size &&
		!strcmp(a->id, b->id) && a->chunker.min_size == b->chunker.min_size &&
		a->chunker.avg_size == b->chunker.avg_size &&
		a->chunker.max_size == b->chunker.max_size &&
		!memcmp(a->chunker_seed, b->chunker_seed, sizeof(a->chunker_seed)) &&
		a->codec == b->codec && a->level == b->level &&
		a->retention.mode == b->retention.mode && a->retention.days == b->retention.days;
}

/* Accepted: possible, and printed it reads back the same. */
static void check_round_trip(const tsarc_repo *r)
{
	tsarc_repo *again = repo_new();
	char *text = NULL, *text2 = NULL;

	check_settings(r);
	if (tsarc__repo_config_print(&text, r) || parse(again, text, strlen(text)) ||
		!same_settings(r, again) || tsarc__repo_config_print(&text2, again) ||
		strcmp(text, text2))
		abort();
	tsarc_secure_free_str(text);
	tsarc_secure_free_str(text2);
	free(again);
}

#define ID "\"id\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
#define CHUNKER "\"chunker\":{\"algorithm\":\"fastcdc-gear64\",\"min\":16384,\"avg\":65536," \
	"\"max\":262144,\"seed\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"},"

static int try_text(const char *json, tsarc_repo *r)
{
	int rc = parse(r, json, strlen(json));

	if (!rc)
		check_round_trip(r);
	return rc;
}

static void known_answers(void)
{
	tsarc_repo *r = repo_new();
	char *text = NULL;
	/* As tsarc init writes it (write_config). */
	static const char ours[] = "{\"version\":2," ID CHUNKER "\"compression\":\"zstd\","
		"\"level\":3,\"object_lock\":{\"mode\":\"governance\",\"days\":7},"
		"\"pack_size\":16777216}";

	if (try_text(ours, r) || r->version != 2 || r->pack_size != 16777216 ||
		r->chunker.avg_size != 65536 || r->chunker_seed[31] != 31 ||
		r->codec != TSARC_CODEC_ZSTD || r->level != 3 ||
		r->retention.mode != TSARC_RETAIN_GOVERNANCE || r->retention.days != 7 ||
		tsarc__repo_config_print(&text, r) || strcmp(text, ours))
		abort();
	tsarc_secure_free_str(text);
	if (try_text("{\"version\":3," ID CHUNKER "\"compression\":\"zstd\",\"level\":3,"
		    "\"pack_size\":16777216}", r) != TSARC_EUNSUPPORTED ||
		try_text("{\"version\":1," ID CHUNKER "\"compression\":\"zlib\",\"level\":12}",
			r) != TSARC_ECORRUPT ||
		try_text("{\"version\":2," ID CHUNKER "\"compression\":\"zstd\",\"level\":3}",
			r) != TSARC_ECORRUPT ||
		try_text("{\"version\":1," ID CHUNKER "\"compression\":\"none\",\"level\":0}", r) != 0)
		abort();
	free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int first = 1;
	tsarc_repo *r;

	if (first) {
		first = 0;
		known_answers();
	}
	if (size > INPUT_MAX)
		return 0;
	r = repo_new();
	if (!parse(r, data, size))
		check_round_trip(r);
	free(r);
	return 0;
}
