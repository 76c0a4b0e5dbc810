#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "codec.h"
#include "crypto.h"
#include "repo.h"
#include "tsarc/errors.h"
#include "scratch.h"
#include "repo_fixture.h"

static void test_sha256_vector(void **state)
{
	uint8_t d[32];
	char hex[65];

	(void)state;
	assert_int_equal(tsarc_sha256("abc", 3, d), 0);
	tsarc_hex_encode(hex, d, 32);
	assert_string_equal(hex,
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* A keyed context gives the MACs of the one-shot call, message after
 * message: each starts again from the key, whatever came before (the
 * values for "abc" and "" computed elsewhere, with Python's hmac). */
static void test_hmac_ctx_matches_one_shot(void **state)
{
	static const size_t lens[] = {3, 0, 1, 63, 64, 65, 1000, 65536, 3, 0};
	uint8_t key[TSARC_KEY_LEN], a[32], b[32], *data = malloc(65536);
	tsarc_hmac_ctx *ctx = NULL;
	char hex[65];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 65536; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	memcpy(data, "abc", 3);
	assert_int_equal(tsarc_hmac_new(&ctx, key), 0);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(tsarc_hmac_mac(ctx, data, lens[i], a), 0);
		assert_int_equal(tsarc_hmac_sha256(key, data, lens[i], b), 0);
		assert_memory_equal(a, b, 32);
		tsarc_hex_encode(hex, a, 32);
		if (lens[i] == 3)
			assert_string_equal(hex, "f0133729c4163dede81e21cd47839256"
						 "da58171238c8a0d874397c73b14e1e47");
		if (lens[i] == 0)
			assert_string_equal(hex, "d38b42096d80f45f826b44a9d5607de7"
						 "2496a415d3f4a1a8c88e3bb9da8dc1cb");
	}
	tsarc_hmac_free(ctx);
	tsarc_hmac_free(NULL);
	free(data);
}

/* RFC 7914 section 12, second vector (first 32 of its 64 bytes). */
static void test_scrypt_vector(void **state)
{
	uint8_t out[32];
	char hex[65];

	(void)state;
	assert_int_equal(tsarc_scrypt("password", 8, (const uint8_t *)"NaCl", 4, 1024, 8,
				 16, out), 0);
	tsarc_hex_encode(hex, out, 32);
	assert_string_equal(hex,
		"fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162");
	/* A forged key file cannot make us allocate without bound. */
	assert_int_equal(tsarc_scrypt("p", 1, (const uint8_t *)"s", 1, 1ull << 40, 8, 1, out),
		TSARC_ECORRUPT);
	assert_int_equal(tsarc_scrypt("p", 1, (const uint8_t *)"s", 1, 1000, 8, 1, out),
		TSARC_ECORRUPT);
}

static void test_aead_roundtrip_and_every_flip(void **state)
{
	uint8_t key[32] = {7}, plain[300], sealed[300 + TSARC_AEAD_OVERHEAD], back[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)(i * 31);
	assert_int_equal(tsarc_aead_seal(key, "aad", 3, plain, sizeof(plain), sealed), 0);
	assert_int_equal(tsarc_aead_open(key, "aad", 3, sealed, sizeof(sealed), back), 0);
	assert_memory_equal(plain, back, sizeof(plain));
	/* Every single flipped bit anywhere (nonce, body, tag) is detected. */
	for (i = 0; i < sizeof(sealed); i++) {
		sealed[i] ^= 0x04;
		assert_int_equal(tsarc_aead_open(key, "aad", 3, sealed, sizeof(sealed), back),
			TSARC_ECORRUPT);
		sealed[i] ^= 0x04;
	}
	assert_int_equal(tsarc_aead_open(key, "aaX", 3, sealed, sizeof(sealed), back),
		TSARC_ECORRUPT);
	assert_int_equal(tsarc_aead_open(key, "aad", 3, sealed, 10, back), TSARC_ECORRUPT);
	key[0] ^= 1;
	assert_int_equal(tsarc_aead_open(key, "aad", 3, sealed, sizeof(sealed), back),
		TSARC_ECORRUPT);
}

static void test_hex(void **state)
{
	uint8_t in[5] = {0, 1, 0xab, 0xff, 0x10}, out[8];
	char hex[11];

	(void)state;
	tsarc_hex_encode(hex, in, 5);
	assert_string_equal(hex, "0001abff10");
	assert_int_equal(tsarc_hex_decode(out, 5, hex), 0);
	assert_memory_equal(in, out, 5);
	assert_int_not_equal(tsarc_hex_decode(out, 5, "0001abff1"), 0);
	assert_int_not_equal(tsarc_hex_decode(out, 5, "0001abff1g"), 0);
	assert_int_not_equal(tsarc_hex_decode(out, 5, "0001ABFF10"), 0);
}

static void test_codecs(void **state)
{
	static const tsarc_codec_id ids[] = {TSARC_CODEC_ZSTD, TSARC_CODEC_ZLIB, TSARC_CODEC_NONE};
	tsarc_buf packed = TSARC_BUF_INIT, back = TSARC_BUF_INIT;
	size_t len = 200000, i, k;
	uint8_t *text = malloc(len), *noise = malloc(len);
	uint64_t s = 1;

	(void)state;
	for (i = 0; i < len; i++) {
		text[i] = (uint8_t)("INSERT INTO t VALUES (1,'x');\n"[i % 30]);
		s = s * 6364136223846793005ull + 1;
		noise[i] = (uint8_t)(s >> 56);
	}
	for (k = 0; k < 3; k++) {
		tsarc_codec *c;
		assert_int_equal(tsarc_codec_new(&c, ids[k], tsarc_codec_default_level(ids[k])), 0);
		assert_int_equal(tsarc_codec_compress(c, text, len, &packed), 0);
		assert_int_equal(packed.ptr[0], ids[k]);
		if (ids[k] != TSARC_CODEC_NONE)
			assert_true(packed.size < len / 10);
		assert_int_equal(tsarc_codec_decompress(c, packed.ptr, packed.size, len, &back), 0);
		assert_memory_equal(back.ptr, text, len);
		/* The manifest's size is enforced. */
		assert_int_equal(tsarc_codec_decompress(c, packed.ptr, packed.size, len - 1, &back),
			TSARC_ECORRUPT);
		/* Random data is stored as it is. */
		assert_int_equal(tsarc_codec_compress(c, noise, len, &packed), 0);
		assert_int_equal(packed.ptr[0], TSARC_CODEC_NONE);
		assert_int_equal(packed.size, len + 1);
		/* Garbage after a valid codec byte is an error, not a crash. */
		packed.ptr[0] = (uint8_t)ids[k];
		if (ids[k] != TSARC_CODEC_NONE)
			assert_int_equal(tsarc_codec_decompress(c, noise, 5000, len, &back),
				TSARC_ECORRUPT);
		tsarc_codec_free(c);
	}
	{
		uint8_t bad[3] = {9, 1, 2};
		tsarc_codec *c;
		assert_int_equal(tsarc_codec_new(&c, TSARC_CODEC_ZSTD, 3), 0);
		assert_int_equal(tsarc_codec_decompress(c, bad, 3, 2, &back), TSARC_ECORRUPT);
		assert_int_equal(tsarc_codec_decompress(c, bad, 0, 2, &back), TSARC_ECORRUPT);
		tsarc_codec_free(c);
	}
	tsarc_buf_dispose(&packed);
	tsarc_buf_dispose(&back);
	free(text);
	free(noise);
}

/* A throw-away repository in a temp folder with cheap scrypt. */
static char repo_dir[256];

static tsarc_repo *make_repo(const char *password)
{
	tsarc_repo_init_options o;
	tsarc_store *st;
	tsarc_repo *repo;

	repo_fixture_options(&o);
	assert_non_null(scratch_make(repo_dir, sizeof(repo_dir), "unit"));
	assert_int_equal(tsarc_store_fs_open(&st, repo_dir, NULL), 0);
	assert_int_equal(tsarc_repo_init(&repo, st, password, &o), 0);
	return repo;
}

static void remove_repo(void)
{
	assert_int_equal(scratch_remove(repo_dir), 0);
}

static void test_repo_passwords_and_key_damage(void **state)
{
	tsarc_repo *repo = make_repo("correct horse");
	tsarc_store *st;
	tsarc_repo *again;
	char cmd[600];

	(void)state;
	tsarc_repo_free(repo);
	assert_int_equal(tsarc_store_fs_open(&st, repo_dir, NULL), 0);
	assert_int_equal(tsarc_repo_open(&again, st, "wrong horse"), TSARC_EWRONGPASS);
	assert_non_null(strstr(tsarc_error_last()->message, "wrong password"));
	assert_int_equal(tsarc_repo_open(&again, st, "correct horse"), 0);
	tsarc_repo_free(again);
	/* Second init in the same place is refused. */
	assert_int_equal(tsarc_store_fs_open(&st, repo_dir, NULL), 0);
	assert_int_equal(tsarc_repo_init(&again, st, "x", NULL), TSARC_EEXISTS);
	/* A flipped byte in the key file is damage, not a wrong password. */
	snprintf(cmd, sizeof(cmd),
		"f=$(ls '%s'/keys/*); printf 'X' | dd of=\"$f\" bs=1 seek=40 conv=notrunc 2>/dev/null",
		repo_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(tsarc_repo_open(&again, st, "correct horse"), TSARC_ECORRUPT);
	tsarc_store_free(st);
	remove_repo();
}

static void test_chunk_seal_open(void **state)
{
	tsarc_repo *repo = make_repo("pw");
	tsarc_codec *codec;
	tsarc_buf scratch = TSARC_BUF_INIT, sealed = TSARC_BUF_INIT, out = TSARC_BUF_INIT;
	uint8_t data[5000], id[32], other[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i % 7 + 'a');
	assert_int_equal(tsarc_codec_new(&codec, repo->codec, repo->level), 0);
	assert_int_equal(tsarc_repo_chunk_id(repo, data, sizeof(data), id), 0);
	assert_int_equal(tsarc_repo_seal_chunk(repo, codec, id, data, sizeof(data), &scratch,
				 &sealed), 0);
	/* The marker pattern of the plaintext is nowhere in the sealed bytes. */
	assert_null(memmem(sealed.ptr, sealed.size, "abcdefg", 7));
	assert_int_equal(tsarc_repo_open_chunk(repo, codec, id, sealed.ptr, sealed.size,
				 sizeof(data), 1, &scratch, &out), 0);
	assert_memory_equal(out.ptr, data, sizeof(data));
	for (i = 0; i < sealed.size; i += 7) {
		sealed.ptr[i] ^= 0x80;
		assert_int_equal(tsarc_repo_open_chunk(repo, codec, id, sealed.ptr, sealed.size,
					 sizeof(data), 1, &scratch, &out), TSARC_ECORRUPT);
		sealed.ptr[i] ^= 0x80;
	}
	/* A chunk stored under another id does not open. */
	memcpy(other, id, 32);
	other[5] ^= 1;
	assert_int_equal(tsarc_repo_open_chunk(repo, codec, other, sealed.ptr, sealed.size,
				 sizeof(data), 1, &scratch, &out), TSARC_ECORRUPT);
	/* The id depends on the repository's key, not only on the content. */
	{
		tsarc_repo *second = make_repo("pw");
		char first_dir[256];
		assert_int_equal(tsarc_repo_chunk_id(second, data, sizeof(data), other), 0);
		assert_memory_not_equal(id, other, 32);
		tsarc_repo_free(second);
		snprintf(first_dir, sizeof(first_dir), "%s", repo_dir);
		remove_repo();
		snprintf(repo_dir, sizeof(repo_dir), "%s", first_dir);
	}
	tsarc_codec_free(codec);
	tsarc_buf_dispose(&scratch);
	tsarc_buf_dispose(&sealed);
	tsarc_buf_dispose(&out);
	tsarc_repo_free(repo);
	remove_repo();
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_sha256_vector),
	cmocka_unit_test(test_hmac_ctx_matches_one_shot),
	cmocka_unit_test(test_scrypt_vector),
	cmocka_unit_test(test_aead_roundtrip_and_every_flip),
	cmocka_unit_test(test_hex),
	cmocka_unit_test(test_codecs),
	cmocka_unit_test(test_repo_passwords_and_key_damage),
	cmocka_unit_test(test_chunk_seal_open))
