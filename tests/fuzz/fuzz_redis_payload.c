/* A DUMP payload rewritten for an older server (backends/components/redis/
 * payload.c): the payloads come out of the repository, or out of a
 * private redis-server that loaded the backup's RDB. Any bytes, rewritten
 * to versions 9, 10, 11 and 12: no crash or read past the input; the floor
 * is never above the payload's own version; a rewrite to a version below
 * the floor is refused (EUNSUPPORTED, or ECORRUPT where the payload is
 * damaged), one at or above it succeeds or finds damage (ECORRUPT, a
 * wrong CRC-64 among it), and what it writes, only of a payload whose
 * CRC-64 is right, is a payload of that version whose CRC-64 is right
 * and whose own floor it meets; an error always has a message. The
 * floor reads a payload whatever its CRC, so that the listpack and stream
 * readers are reached by inputs the fuzzer makes. The digest's
 * hash reads the same bytes (value.h: every RDB type up to 21, whatever
 * the CRC): a value it reads hashes the same under another version in
 * the trailer, and less its last byte it is no value (a value is read
 * whole or not at all). A payload with a known answer (a Valkey 8's
 * listpack set of integers, rewritten as Redis 7.0's intset) is checked on
 * the first call, so a rewrite that refuses or copies everything fails.
 * The floor and the rewrite to 9 agree on any bytes made a payload of
 * version 10 or later whose CRC-64 is right (a copy): the floor is at most
 * 9 exactly where that rewrite succeeds, and where it refuses, the
 * rewrite finds damage exactly where the floor says so (the floor reads
 * by the rewrite's own code, writing nothing). The same bytes read as a
 * listpack and as a ziplist (packed.h): a ziplist that reads is written
 * again and reads back as the same entries. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "packed.h"
#include "payload.h"
#include "rdbvalue.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"
#include "value.h"

#include <openssl/evp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64u * 1024u)

static const unsigned char LP_INTS[] = {
	0x14, 0x10, 0x10, 0x00, 0x00, 0x00, 0x03, 0x00, 0x03, 0x01, 0xf2, 0x90, 0xee, 0xfe, 0x04,
	0x01, 0x01, 0xff, 0x0b, 0x00, 0xf8, 0xd5, 0xbc, 0x96, 0xaf, 0x0f, 0x68, 0xff};
static const unsigned char INTSET_10[] = {
	0x0b, 0x14, 0x04, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x90, 0xee, 0xfe, 0xff, 0x01,
	0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x09, 0x0e, 0xec, 0x49, 0xa6, 0x50,
	0x4d, 0x88};

static void known_answer(void)
{
	tsarc_buf out = TSARC_BUF_INIT;

	if (tsarc_redis_payload_rewrite(LP_INTS, sizeof(LP_INTS), 10, &out) ||
		out.size != sizeof(INTSET_10) || memcmp(out.ptr, INTSET_10, out.size))
		abort();
	tsarc_buf_dispose(&out);
}

static void check(const unsigned char *p, size_t n, int to)
{
	tsarc_buf out = TSARC_BUF_INIT;
	const char *why = NULL;
	int floor = tsarc_redis_payload_floor(p, n, &why), own = tsarc_redis_payload_version(p, n);
	int rc = tsarc_redis_payload_rewrite(p, n, to, &out);
	uint64_t crc = 0;
	int i;

	if (!why || (own >= 0 && floor > own))
		abort();
	if (rc) {
		const tsarc_error *e = tsarc_error_last();
		if ((rc != TSARC_EUNSUPPORTED && rc != TSARC_ECORRUPT) || e->code != rc ||
			!e->message || !e->message[0] || (own >= 0 && to >= floor && rc != TSARC_ECORRUPT))
			abort();
	} else {
		for (i = 7; i >= 0; i--)
			crc = crc << 8 | p[n - 8 + i];
		if (crc != tsarc_rdb_crc64(0, p, n - 8))
			abort();
		crc = 0;
		if (own < 0 || to < floor || out.size < 11 ||
			tsarc_redis_payload_version(out.ptr, out.size) != to ||
			tsarc_redis_payload_floor(out.ptr, out.size, NULL) > to)
			abort();
		for (i = 7; i >= 0; i--)
			crc = crc << 8 | out.ptr[out.size - 8 + i];
		if (crc != tsarc_rdb_crc64(0, out.ptr, out.size - 8))
			abort();
	}
	tsarc_buf_dispose(&out);
}

/* The bytes as a payload of version 10 or later (their own where it is)
 * whose CRC-64 is right, so that the rewrite to 9 reads the object: it
 * succeeds exactly where the floor is at most 9, and what it refuses
 * as damaged (ECORRUPT) is what the floor says is. */
static void floor_agrees(const unsigned char *p, size_t n)
{
	tsarc_buf out = TSARC_BUF_INIT;
	unsigned char *q;
	const char *why = NULL;
	uint64_t crc;
	int floor, rc, i;

	if (n < 11)
		return;
	if (!(q = malloc(n)))
		abort();
	memcpy(q, p, n);
	if (tsarc_redis_payload_version(q, n) < 10) {
		q[n - 10] = 10;
		q[n - 9] = 0;
	}
	crc = tsarc_rdb_crc64(0, q, n - 8);
	for (i = 0; i < 8; i++)
		q[n - 8 + i] = (unsigned char)(crc >> (8 * i));
	floor = tsarc_redis_payload_floor(q, n, &why);
	rc = tsarc_redis_payload_rewrite(q, n, 9, &out);
	if ((floor <= 9) != !rc || (rc && (rc == TSARC_ECORRUPT) != !!strstr(why, "damaged")))
		abort();
	tsarc_buf_dispose(&out);
	free(q);
}

/* Two entries alike: the same string, or the same integer (a ziplist
 * written holds a string that is an integer as that integer). */
static int same_entry(const tsarc_pack_entry *a, const tsarc_pack_entry *b)
{
	long long v;

	if (a->is_int == b->is_int)
		return a->is_int ? a->v == b->v : a->len == b->len && !memcmp(a->p, b->p, a->len);
	if (a->is_int)
		return same_entry(b, a);
	return b->is_int && tsarc_pack_canonical_int(a->p, a->len, &v) && v == b->v;
}

static void packed(const unsigned char *p, size_t n)
{
	tsarc_pack_entry *es = NULL, *back = NULL;
	tsarc_buf out = TSARC_BUF_INIT;
	size_t count, again, i;

	if (!tsarc_listpack_entries(p, n, &es, &count))
		free(es);
	if (tsarc_ziplist_entries(p, n, &es, &count))
		return;
	if (tsarc_ziplist_put(&out, es, count) ||
		tsarc_ziplist_entries(out.ptr, out.size, &back, &again) || again != count)
		abort();
	for (i = 0; i < count; i++)
		if (!same_entry(&es[i], &back[i]))
			abort();
	free(back);
	free(es);
	tsarc_buf_dispose(&out);
}

/* Whether the object `obj` (n bytes) is read as a value (value.h). */
static int read_as_value(const unsigned char *obj, size_t n)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int rc;

	if (!m)
		abort();
	EVP_DigestInit_ex(m, tsarc_redis_sha256(), NULL);
	rc = tsarc_redis_value_hash(m, obj, n);
	EVP_MD_CTX_free(m);
	return rc;
}

/* The digest's hash of the payload (a whole one: data and a trailer). */
static void digest_check(const uint8_t *data, size_t size)
{
	unsigned char h[32], again[32];
	unsigned char *other;

	tsarc_redis_key_hash(h, 0, "k", 1, "set", -1, data, size);
	if (size < 11 || read_as_value(data, size - 10))
		return;
	if (size > 11 && !read_as_value(data, size - 11))
		abort();
	if (!(other = malloc(size)))
		abort();
	memcpy(other, data, size);
	other[size - 10] ^= 0x55;
	tsarc_redis_key_hash(again, 0, "k", 1, "set", -1, other, size);
	if (memcmp(h, again, 32))
		abort();
	free(other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int first = 1;

	if (first) {
		known_answer();
		first = 0;
	}
	if (size > INPUT_MAX)
		return 0;
	check(data, size, 9);
	check(data, size, 10);
	check(data, size, 11);
	check(data, size, 12);
	floor_agrees(data, size);
	digest_check(data, size);
	packed(data, size);
	return 0;
}
