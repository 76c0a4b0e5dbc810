#include "chunker.h"
#include "crypto.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <string.h>

/* Bytes of history that the gear hash depends on: one per bit. */
#define GEAR_WINDOW 64

int tsarc_chunker_params_validate(const tsarc_chunker_params *p)
{
	uint32_t a = p->avg_size;

	if (a < 1024 || (a & (a - 1)) != 0)
		return tsarc_error_set(TSARC_EINVAL,
			"chunk average size %u is not a power of two >= 1024", a);
	if (p->min_size < GEAR_WINDOW || p->min_size >= a || p->max_size <= a ||
		p->max_size > TSARC_CHUNK_MAX_LIMIT)
		return tsarc_error_set(TSARC_EINVAL,
			"chunk sizes must satisfy 64 <= min < avg < max <= %u "
			"(got %u/%u/%u)", TSARC_CHUNK_MAX_LIMIT, p->min_size, a,
			p->max_size);
	return 0;
}

static int log2u(uint32_t v)
{
	int n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

/* A mask of `bits` ones in the top of the hash: after GEAR_WINDOW shifts
 * these bits depend on exactly the last 64 bytes. */
static uint64_t top_mask(int bits)
{
	return bits <= 0 ? 0 : ~0ull << (64 - bits);
}

int tsarc_chunker_init(tsarc_chunker *c, const tsarc_chunker_params *p,
	const uint8_t seed[32])
{
	uint8_t mac[32];
	uint8_t counter[8];
	int bits, i, rc;

	if ((rc = tsarc_chunker_params_validate(p)))
		return rc;
	memset(c, 0, sizeof(*c));
	c->params = *p;
	/* Each gear value is a keyed function of its index. */
	for (i = 0; i < 256; i++) {
		memcpy(counter, "gear", 4);
		counter[4] = (uint8_t)i;
		counter[5] = counter[6] = counter[7] = 0;
		if ((rc = tsarc_hmac_sha256(seed, counter, sizeof(counter), mac)))
			return rc;
		memcpy(&c->gear[i], mac, sizeof(uint64_t));
	}
	tsarc_secure_zero(mac, sizeof(mac));
	bits = log2u(p->avg_size);
	/* Normalised chunking level 2: two bits harder before the average,
	 * two bits easier after it. */
	c->mask_small = top_mask(bits + 2);
	c->mask_large = top_mask(bits - 2);
	return 0;
}

void tsarc_chunker_reset(tsarc_chunker *c)
{
	c->hash = 0;
	c->pos = 0;
}

/*
 * Rolls the hash `*v` over the four bytes at p: returns n if it has none
 * of `mask`'s bits after byte n (1-4; *v is then the hash after it), 0 if
 * no byte of the four cuts (*v after all four).
 *
 * The hash after each byte is the hash before the four shifted, plus a
 * sum of gear values that does not depend on it: the chain of dependent
 * operations is one shift and one add per four bytes, not one per byte
 * (byte by byte, that chain bounded the loop). Each byte is still tested,
 * in order, so the cuts are the same.
 */
static inline int roll4(const uint64_t *gear, const uint8_t *p, uint64_t *v, uint64_t mask)
{
	const uint64_t g0 = gear[p[0]], g1 = gear[p[1]], g2 = gear[p[2]], g3 = gear[p[3]];
	const uint64_t s1 = (g0 << 1) + g1, s2 = (s1 << 1) + g2, s3 = (s2 << 1) + g3;
	const uint64_t h = *v, h1 = (h << 1) + g0, h2 = (h << 2) + s1, h3 = (h << 3) + s2,
		       h4 = (h << 4) + s3;

	if (!(h1 & mask)) {
		*v = h1;
		return 1;
	}
	if (!(h2 & mask)) {
		*v = h2;
		return 2;
	}
	if (!(h3 & mask)) {
		*v = h3;
		return 3;
	}
	*v = h4;
	return !(h4 & mask) ? 4 : 0;
}

/*
 * Rolls the hash `*h` over data[*i] up to data[end - 1] and stops after the
 * first byte where it has none of `mask`'s bits: 1 then (the chunk ends
 * before data[*i]), else 0 with *i at end (or where it was, if past it).
 * The two phases of normalised chunking differ only in the mask and where
 * they stop. Eight bytes a step (roll4 twice: measured faster than once).
 */
static inline int roll_to_cut(const uint64_t *gear, const uint8_t *data, size_t *i,
	size_t end, uint64_t *h, uint64_t mask)
{
	size_t k = *i;
	uint64_t v = *h;
	int n;

	for (; k + 8 <= end; k += 8) {
		if ((n = roll4(gear, data + k, &v, mask)))
			goto cut;
		if ((n = roll4(gear, data + k + 4, &v, mask))) {
			n += 4;
			goto cut;
		}
	}
	for (; k < end; k++) {
		v = (v << 1) + gear[data[k]];
		if (!(v & mask)) {
			n = 1;
			goto cut;
		}
	}
	*i = end > *i ? end : *i;
	*h = v;
	return 0;
cut:
	*i = k + (size_t)n;
	*h = v;
	return 1;
}

size_t tsarc_chunker_scan(tsarc_chunker *c, const uint8_t *data, size_t len,
	int *boundary)
{
	const uint64_t *gear = c->gear;
	const size_t base = c->pos; /* position of data[0] inside the chunk */
	const size_t min = c->params.min_size, avg = c->params.avg_size,
		     max = c->params.max_size;
	size_t i = 0, lim, end;
	uint64_t h = c->hash;

	*boundary = 0;
	/* Nothing before min - GEAR_WINDOW can influence a cut: skip it. */
	lim = base < min - GEAR_WINDOW ? min - GEAR_WINDOW - base : 0;
	if (lim >= len)
		goto need_more;
	i = lim;
	/* Warm the hash up to min without testing for a cut. */
	lim = base < min ? min - base : 0;
	end = lim < len ? lim : len;
	for (; i < end; i++)
		h = (h << 1) + gear[data[i]];
	if (i == len)
		goto need_more;
	/* The stricter mask up to the average size. */
	lim = base < avg ? avg - base : 0;
	if (roll_to_cut(gear, data, &i, lim < len ? lim : len, &h, c->mask_small))
		goto cut;
	if (i == len && base + i < avg)
		goto need_more;
	/* The looser mask up to the maximum, where the cut is forced. */
	lim = max - base;
	if (roll_to_cut(gear, data, &i, lim < len ? lim : len, &h, c->mask_large))
		goto cut;
	if (base + i >= max)
		goto cut;
need_more:
	c->pos = base + len;
	c->hash = h;
	return len;
cut:
	*boundary = 1;
	tsarc_chunker_reset(c);
	return i;
}
