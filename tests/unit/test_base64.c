/* base64.c: the RFC 4648 vectors both ways, what is not base64, and the
 * size guards (a decoded size past the caller's bound, a length past
 * what OpenSSL's int-sized calls take). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "base64.h"
#include "tsarc/errors.h"

static const struct {
	const char *plain, *encoded;
} vectors[] = {
	{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
	{"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

static void rfc4648_vectors(void **state)
{
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char *enc;
		uint8_t *dec;
		assert_int_equal(tsarc_base64_encode(&enc, vectors[i].plain, strlen(vectors[i].plain)), 0);
		assert_string_equal(enc, vectors[i].encoded);
		free(enc);
		assert_int_equal(tsarc_base64_decode(&dec, &n, vectors[i].encoded, 100), 0);
		assert_int_equal(n, strlen(vectors[i].plain));
		assert_memory_equal(dec, vectors[i].plain, n);
		assert_int_equal(dec[n], 0); /* a decoded text is a C string */
		free(dec);
	}
}

static void binary_roundtrip(void **state)
{
	uint8_t in[256], out[256];
	size_t len, n;
	char *enc;

	(void)state;
	for (len = 0; len < sizeof(in); len++)
		in[len] = (uint8_t)(255 - len);
	for (len = 0; len <= sizeof(in); len += 17) {
		assert_int_equal(tsarc_base64_encode(&enc, in, len), 0);
		assert_int_equal(tsarc_base64_decode_to(out, sizeof(out), &n, enc), 0);
		assert_int_equal(n, len);
		assert_memory_equal(in, out, len);
		free(enc);
	}
}

static void not_base64(void **state)
{
	static const char *bad[] = {"abc", "Zm9", "Zm9v\n", " Zm9v", "Zm9v!A==", "====", "a===",
		"Zg=a", "Z===", "Zm=v", "Zg==Zg=="};
	uint8_t *dec = (uint8_t *)"untouched";
	size_t i, n = 7;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(tsarc_base64_decode(&dec, &n, bad[i], 100), TSARC_ECORRUPT);
		assert_null(dec);
		assert_int_equal(n, 0);
	}
}

static void decoded_size_bounded(void **state)
{
	uint8_t *dec, out[8] = "AAAAAAA";
	size_t n;

	(void)state;
	/* "foobar" is 6 bytes: 6 allowed, 5 not, whatever the text's length. */
	assert_int_equal(tsarc_base64_decode(&dec, &n, "Zm9vYmFy", 6), 0);
	free(dec);
	assert_int_equal(tsarc_base64_decode(&dec, &n, "Zm9vYmFy", 5), TSARC_ETOOLARGE);
	assert_null(dec);
	assert_non_null(strstr(tsarc_error_last()->message, "more than the 5 allowed"));
	/* The padding is not counted: "fooba" fits 5. */
	assert_int_equal(tsarc_base64_decode(&dec, &n, "Zm9vYmE=", 5), 0);
	free(dec);
	/* Into a fixed buffer: too small is refused and nothing is written. */
	assert_int_equal(tsarc_base64_decode_to(out, 5, &n, "Zm9vYmFy"), TSARC_ETOOLARGE);
	assert_memory_equal(out, "AAAAAAA", 8);
	assert_int_equal(tsarc_base64_decode_to(out, 6, &n, "Zm9vYmFy"), 0);
	assert_memory_equal(out, "foobar", 6);
}

static void encode_length_guard(void **state)
{
	static const uint8_t one = 0;
	char *enc = (char *)"untouched";

	(void)state;
	/* Refused before the int cast could wrap (and before reading `in`). */
	assert_int_equal(tsarc_base64_encode(&enc, &one, (size_t)INT_MAX), TSARC_ETOOLARGE);
	assert_null(enc);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(rfc4648_vectors),
	cmocka_unit_test(binary_roundtrip),
	cmocka_unit_test(not_base64),
	cmocka_unit_test(decoded_size_bounded),
	cmocka_unit_test(encode_length_guard))
