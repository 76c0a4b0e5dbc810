#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "chunker.h"
#include "crypto.h"
#include "tsarc/errors.h"

#define DATA_LEN (6u * 1024 * 1024)

static const tsarc_chunker_params small = {2048, 8192, 32768};

static uint8_t *random_data(size_t len, uint64_t seed)
{
	uint8_t *p = malloc(len);
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(seed >> 56);
	}
	return p;
}

/* Cuts `data` into chunks, feeding the chunker `step` bytes at a time
 * (0: all at once). Returns the number of chunks; lens receives sizes. */
static size_t cut_all(const tsarc_chunker_params *p, const uint8_t seed[32],
	const uint8_t *data, size_t len, size_t step, size_t *lens, size_t max_chunks)
{
	tsarc_chunker c;
	size_t pos = 0, start = 0, n = 0;
	int boundary;

	assert_int_equal(tsarc_chunker_init(&c, p, seed), 0);
	while (pos < len) {
		size_t avail = len - pos;
		size_t feed = step && step < avail ? step : avail;
		size_t used = tsarc_chunker_scan(&c, data + pos, feed, &boundary);
		pos += used;
		if (boundary) {
			assert_true(n < max_chunks);
			lens[n++] = pos - start;
			start = pos;
		}
	}
	if (start < len)
		lens[n++] = len - start;
	return n;
}

static const uint8_t seed_a[32] = {1, 2, 3};
static const uint8_t seed_b[32] = {9, 9, 9};

static void test_deterministic_and_bounds(void **state)
{
	uint8_t *data = random_data(DATA_LEN, 42);
	size_t *a = malloc(4096 * sizeof(size_t)), *b = malloc(4096 * sizeof(size_t));
	size_t na, nb, i, total = 0;

	(void)state;
	na = cut_all(&small, seed_a, data, DATA_LEN, 0, a, 4096);
	nb = cut_all(&small, seed_a, data, DATA_LEN, 0, b, 4096);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na * sizeof(size_t));
	for (i = 0; i < na; i++) {
		if (i + 1 < na)
			assert_true(a[i] >= small.min_size);
		assert_true(a[i] <= small.max_size);
		total += a[i];
	}
	assert_int_equal(total, DATA_LEN);
	/* Normalised chunking keeps the mean near the average size. */
	assert_true(DATA_LEN / na > small.avg_size / 2);
	assert_true(DATA_LEN / na < small.avg_size * 2);
	free(a);
	free(b);
	free(data);
}

static void test_feed_size_does_not_matter(void **state)
{
	uint8_t *data = random_data(DATA_LEN / 4, 7);
	size_t *a = malloc(4096 * sizeof(size_t)), *b = malloc(4096 * sizeof(size_t));
	static const size_t steps[] = {1, 13, 4096, 65537};
	size_t na, nb, i;

	(void)state;
	na = cut_all(&small, seed_a, data, DATA_LEN / 4, 0, a, 4096);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		nb = cut_all(&small, seed_a, data, DATA_LEN / 4, steps[i], b, 4096);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, na * sizeof(size_t));
	}
	free(a);
	free(b);
	free(data);
}

static void test_seed_changes_boundaries(void **state)
{
	uint8_t *data = random_data(DATA_LEN, 42);
	size_t *a = malloc(4096 * sizeof(size_t)), *b = malloc(4096 * sizeof(size_t));
	size_t na, nb;

	(void)state;
	na = cut_all(&small, seed_a, data, DATA_LEN, 0, a, 4096);
	nb = cut_all(&small, seed_b, data, DATA_LEN, 0, b, 4096);
	assert_false(na == nb && memcmp(a, b, na * sizeof(size_t)) == 0);
	free(a);
	free(b);
	free(data);
}

/* Boundaries after an edit near the start of a stream: the chunker must
 * resynchronise so that nearly all later chunks are unchanged. */
static void test_resync_after_insertion(void **state)
{
	uint8_t *data = random_data(DATA_LEN, 99);
	uint8_t *edited = malloc(DATA_LEN + 100);
	size_t *a = malloc(4096 * sizeof(size_t)), *b = malloc(4096 * sizeof(size_t));
	size_t na, nb, i, j, offa = 0, offb = 0, same = 0;
	size_t insert_at = 10000;

	(void)state;
	memcpy(edited, data, insert_at);
	memset(edited + insert_at, 'x', 100);
	memcpy(edited + insert_at + 100, data + insert_at, DATA_LEN - insert_at);
	na = cut_all(&small, seed_a, data, DATA_LEN, 0, a, 4096);
	nb = cut_all(&small, seed_a, edited, DATA_LEN + 100, 0, b, 4096);
	/* Count chunks of the original whose (offset, length) reappear in the
	 * edited stream shifted by 100 bytes. */
	for (i = 0, j = 0; i < na; i++) {
		while (j < nb && offb < offa + 100) {
			offb += b[j++];
		}
		if (j < nb && offb == offa + 100 && b[j] == a[i])
			same++;
		offa += a[i];
	}
	assert_true(same * 100 >= na * 95);
	free(a);
	free(b);
	free(data);
	free(edited);
}

/* Each bad set of sizes is refused with EINVAL and a message naming the
 * rule it breaks; the chunker is not usable afterwards. */
static void test_rejects_bad_params(void **state)
{
	static const struct {
		tsarc_chunker_params p;
		const char *says;
	} bad[] = {
		{{1024, 3000, 8192}, "power of two"},   /* avg not a power of two */
		{{1024, 512, 8192}, "power of two"},    /* avg below 1024 */
		{{8192, 8192, 16384}, "min < avg"},     /* min == avg */
		{{32, 8192, 16384}, "64 <= min"},       /* min below the window */
		{{2048, 8192, 8192}, "avg < max"},      /* max == avg */
		{{2048, 8192, TSARC_CHUNK_MAX_LIMIT + 1}, "max <="}, /* max too large */
	};
	tsarc_chunker c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tsarc_error_clear();
		assert_int_equal(tsarc_chunker_init(&c, &bad[i].p, seed_a), TSARC_EINVAL);
		assert_int_equal(tsarc_error_last()->code, TSARC_EINVAL);
		assert_non_null(strstr(tsarc_error_last()->message, bad[i].says));
		assert_int_equal(tsarc_chunker_params_validate(&bad[i].p), TSARC_EINVAL);
	}
	/* The limits themselves are allowed. */
	{
		tsarc_chunker_params edge = {64, 1024, TSARC_CHUNK_MAX_LIMIT};
		assert_int_equal(tsarc_chunker_init(&c, &edge, seed_a), 0);
	}
}

/* Long runs of one byte (zeroed disk, padding) have no content boundary:
 * every chunk but the last is cut at exactly max_size, however the data is
 * fed. Whether a run has a boundary depends on the gear table, so the test
 * picks a byte whose steady hash misses the cut masks: after 64 equal
 * bytes b the gear hash is sum(gear[b] << k, k < 64) = -gear[b] (mod 2^64)
 * and stays there; mask_large has fewer bits than mask_small, both at the
 * top, so missing mask_large misses both. */
static void test_constant_data_cuts_at_max(void **state)
{
	const size_t len = 200000;
	uint8_t *data = malloc(len);
	size_t lens[64], n, i, s;
	static const size_t steps[] = {0, 1, 1000, 40000};
	tsarc_chunker c;
	int b;

	(void)state;
	assert_int_equal(tsarc_chunker_init(&c, &small, seed_a), 0);
	for (b = 0; b < 256; b++)
		if ((0 - c.gear[b]) & c.mask_large)
			break;
	assert_true(b < 256);
	memset(data, b, len);
	for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		n = cut_all(&small, seed_a, data, len, steps[s], lens, 64);
		assert_int_equal(n, (len + small.max_size - 1) / small.max_size);
		for (i = 0; i + 1 < n; i++)
			assert_int_equal(lens[i], small.max_size);
		assert_int_equal(lens[n - 1], len - (n - 1) * small.max_size);
	}
	free(data);
}

/* The other way round: a run whose steady hash hits mask_small is cut as
 * early as allowed: the first byte tested is the one after min_size bytes,
 * so each chunk is min_size + 1 long. */
static void test_boundary_run_cuts_at_min(void **state)
{
	const size_t len = 100000;
	uint8_t *data = malloc(len);
	size_t lens[128], n, i;
	tsarc_chunker c;
	uint8_t seed[32] = {0};
	int b = 256, k;

	(void)state;
	/* A seed whose gear table has such a byte (1 in 2^15 per byte: found
	 * within a few hundred seeds; the search is deterministic). */
	for (k = 0; k < 100000 && b == 256; k++) {
		memcpy(seed, &k, sizeof(k));
		assert_int_equal(tsarc_chunker_init(&c, &small, seed), 0);
		for (b = 0; b < 256; b++)
			if (!((0 - c.gear[b]) & c.mask_small))
				break;
	}
	assert_true(b < 256);
	memset(data, b, len);
	n = cut_all(&small, seed, data, len, 0, lens, 128);
	assert_int_equal(n, (len + small.min_size) / (small.min_size + 1));
	for (i = 0; i + 1 < n; i++)
		assert_int_equal(lens[i], small.min_size + 1);
	free(data);
}

/* The cut points are part of the repository format (dedup against what
 * is stored): the SHA-256 of the chunk lengths of fixed data with a fixed
 * seed, at the defaults of format 2 and of format 1, fed whole and in
 * pieces, recorded once. A faster chunker must cut exactly here. */
static void cut_digest(const tsarc_chunker_params *p, size_t step, char hex[65])
{
	uint8_t *data = random_data(DATA_LEN, 11), digest[32], le[8];
	size_t *lens = malloc(4096 * sizeof(*lens)), n, i, k;
	tsarc_sha256_ctx *sha = NULL;

	/* Half random, half text-like (a few symbols): both kinds of input. */
	for (i = DATA_LEN / 2; i < DATA_LEN; i++)
		data[i] = (uint8_t)("INSERT (1,'a'),\n"[data[i] % 16]);
	n = cut_all(p, seed_a, data, DATA_LEN, step, lens, 4096);
	assert_int_equal(tsarc_sha256_new(&sha), 0);
	for (i = 0; i < n; i++) {
		for (k = 0; k < 8; k++)
			le[k] = (uint8_t)((uint64_t)lens[i] >> (8 * k));
		assert_int_equal(tsarc_sha256_update(sha, le, sizeof(le)), 0);
	}
	assert_int_equal(tsarc_sha256_final(sha, digest), 0);
	tsarc_sha256_free(sha);
	tsarc_hex_encode(hex, digest, sizeof(digest));
	free(lens);
	free(data);
}

static void test_cut_points_are_the_format(void **state)
{
	static const tsarc_chunker_params v2 = {16384, 65536, 262144}, v1 = {262144, 1048576, 4194304};
	char hex[65];

	(void)state;
	cut_digest(&v2, 0, hex);
	assert_string_equal(hex, "55ee806ad36ca6bff756315541d0bb80effec12f477023364ae3a9b61d03df62");
	cut_digest(&v2, 4099, hex);
	assert_string_equal(hex, "55ee806ad36ca6bff756315541d0bb80effec12f477023364ae3a9b61d03df62");
	cut_digest(&v1, 0, hex);
	assert_string_equal(hex, "d21333845ca310505bdf27e0af4808f7205999af55cc1701eb64900cf3165c3b");
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(test_deterministic_and_bounds),
	cmocka_unit_test(test_feed_size_does_not_matter),
	cmocka_unit_test(test_seed_changes_boundaries),
	cmocka_unit_test(test_resync_after_insertion),
	cmocka_unit_test(test_rejects_bad_params),
	cmocka_unit_test(test_constant_data_cuts_at_max),
	cmocka_unit_test(test_boundary_run_cuts_at_min),
	cmocka_unit_test(test_cut_points_are_the_format))
