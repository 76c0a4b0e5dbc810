/*
 * Key files (keys/<id>) are JSON in the clear in the repository: anyone
 * who can write the store can plant or damage one, and every open reads
 * them all before it knows which one is the password's. Each input, under
 * the name that is its SHA-256, must be refused with ECORRUPT and a
 * message, or accepted only with scrypt parameters within the work bound
 * (a key file must never make an open take minutes or gigabytes); under
 * any other name it must be refused. Known answers are checked on the
 * first call, so a check that accepts or refuses everything fails.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "crypto.h"
#include "repo.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Key files are read up to 64 KiB. */
#define INPUT_MAX (64u * 1024u)

static void check_refusal(int rc)
{
	const tsarc_error *e = tsarc_error_last();

	if (rc != TSARC_ECORRUPT || e->code != TSARC_ECORRUPT || !e->message || !e->message[0])
		abort();
}

/* 0 accepted, else refused (and the refusal checked). */
static int verify(const char *text, size_t len, int right_name)
{
	uint8_t digest[32];
	char name[TSARC_ID_HEX_LEN + 1];
	int rc;

	if (tsarc_sha256(text, len, digest))
		abort();
	if (!right_name)
		digest[0] ^= 1;
	tsarc_hex_encode(name, digest, sizeof(digest));
	tsarc_error_clear();
	rc = tsarc_repo_verify_key_file((const uint8_t *)text, len, name);
	if (rc)
		check_refusal(rc);
	return rc;
}

static double number(const cJSON *doc, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, field);

	if (!cJSON_IsNumber(v))
		abort();
	return v->valuedouble;
}

static void known_answers(void)
{
	static const char head[] = "{\"version\":1,\"kdf\":\"scrypt\",\"r\":8,\"p\":1,"
		"\"salt\":\"nu8leXtjmV3k1ZfuMz5K5c8Fku5XZos5vTOkEb4EiOY=\",\"data\":\"ZuPjFjQ6tDPJsW"
		"PkYHIcMfDJW1EA5ROXSA5MltXwb2rDtvF2rkiUOjnRgWJYozhYMJuCqXhzkp98mnROvO/1Batc834Lrb4"
		"13l3j1ECLDt6zy4OLxCARIHvCIuk=\",\"N\":";
	char text[512];

	snprintf(text, sizeof(text), "%s32768}", head);
	if (verify(text, strlen(text), 1) != 0 || verify(text, strlen(text), 0) == 0)
		abort();
	snprintf(text, sizeof(text), "%s1073741824}", head);
	if (verify(text, strlen(text), 1) == 0)
		abort();
	snprintf(text, sizeof(text), "%s32767}", head);
	if (verify(text, strlen(text), 1) == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int first = 1;
	cJSON *doc;

	if (first) {
		first = 0;
		known_answers();
	}
	if (size > INPUT_MAX)
		return 0;
	if (verify((const char *)data, size, 0) == 0)
		abort();
	if (verify((const char *)data, size, 1) != 0)
		return 0;
	/* Accepted: an object whose cost is within the bound. */
	doc = cJSON_ParseWithLength((const char *)data, size);
	if (!cJSON_IsObject(doc) || tsarc_scrypt_params_check((uint64_t)number(doc, "N"),
		(uint64_t)number(doc, "r"), (uint64_t)number(doc, "p")))
		abort();
	cJSON_Delete(doc);
	return 0;
}
