/*
 * Digests of what a Redis holds (digest.h): the per-key hash, the sums,
 * and the digest of a live server read with SCAN + TYPE + PEXPIRETIME +
 * DUMP, pipelined a SCAN batch at a time.
 */
#include "digest.h"
#include "logical.h"
#include "rdbvalue.h"
#include "tsarc/errors.h"
#include "value.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tsarc_redis_digests_db(tsarc_redis_digests *d, int db)
{
	unsigned long long *k;
	unsigned char *s, *l;

	if (db < d->ndb)
		return 0;
	if (!(k = realloc(d->keys, (size_t)(db + 1) * sizeof(*k))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	d->keys = k;
	if (!(s = realloc(d->sums, (size_t)(db + 1) * 32)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	d->sums = s;
	if (!(l = realloc(d->loose, (size_t)(db + 1) * 32)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	d->loose = l;
	memset(k + d->ndb, 0, (size_t)(db + 1 - d->ndb) * sizeof(*k));
	memset(s + 32 * d->ndb, 0, (size_t)(db + 1 - d->ndb) * 32);
	memset(l + 32 * d->ndb, 0, (size_t)(db + 1 - d->ndb) * 32);
	d->ndb = db + 1;
	return 0;
}

int tsarc_redis_digest_add(tsarc_redis_digests *d, int db, const tsarc_redis_key_sums *k)
{
	int rc = tsarc_redis_digests_db(d, db);

	if (!rc) {
		tsarc_redis_sum256(d->sums + 32 * db, k->exact, 0);
		tsarc_redis_sum256(d->loose + 32 * db, k->loose, 0);
		d->keys[db]++;
	}
	return rc;
}

void tsarc_redis_digest_sub(tsarc_redis_digests *d, int db, const tsarc_redis_key_sums *k)
{
	if (db < d->ndb && d->keys[db]) {
		tsarc_redis_sum256(d->sums + 32 * db, k->exact, 1);
		tsarc_redis_sum256(d->loose + 32 * db, k->loose, 1);
		d->keys[db]--;
	}
}

int tsarc_redis_digests_copy(tsarc_redis_digests *to, const tsarc_redis_digests *from)
{
	memset(to, 0, sizeof(*to));
	to->exact = from->exact;
	if (!from->ndb)
		return 0;
	if (tsarc_redis_digests_db(to, from->ndb - 1))
		return TSARC_ENOMEM;
	memcpy(to->keys, from->keys, (size_t)from->ndb * sizeof(*to->keys));
	memcpy(to->sums, from->sums, (size_t)from->ndb * 32);
	memcpy(to->loose, from->loose, (size_t)from->ndb * 32);
	return 0;
}

void tsarc_redis_digests_free(tsarc_redis_digests *d)
{
	free(d->keys);
	free(d->sums);
	free(d->loose);
	memset(d, 0, sizeof(*d));
}

int tsarc_redis_payload_version(const void *payload, size_t plen)
{
	const unsigned char *p = payload;

	return plen >= 11 ? p[plen - 10] | p[plen - 9] << 8 : -1;
}

void tsarc_redis_payload_probe(unsigned char out[TSARC_REDIS_PROBE_PAYLOAD], int version)
{
	/* RDB type string, an 8-bit integer, 1; the version; the CRC. */
	uint64_t crc;
	int i;

	out[0] = 0x00;
	out[1] = 0xc0;
	out[2] = 0x01;
	out[3] = (unsigned char)version;
	out[4] = (unsigned char)(version >> 8);
	crc = tsarc_rdb_crc64(0, out, 5);
	for (i = 0; i < 8; i++)
		out[5 + i] = (unsigned char)(crc >> (8 * i));
}

const char *tsarc_redis_payload_type(unsigned char t)
{
	switch (t) {
	case 0:
		return "string";
	case 1: case 10: case 14: case 18:
		return "list";
	case 2: case 11: case 20:
		return "set";
	case 3: case 5: case 12: case 17:
		return "zset";
	case 4: case 9: case 13: case 16:
		return "hash";
	case 15: case 19: case 21:
		return "stream";
	default:
		return NULL;
	}
}

static void put64(EVP_MD_CTX *c, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	EVP_DigestUpdate(c, b, 8);
}

void tsarc_redis_key_sums_of(tsarc_redis_key_sums *out, int db, const void *key, size_t klen,
	const char *type, int64_t expiry_ms, const void *payload, size_t plen)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 32;
	size_t body = plen >= 11 ? plen - 10 : plen;

	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	/* Loose: SHA-256(db, key, type, whether it expires, value). */
	EVP_DigestInit_ex(c, tsarc_redis_sha256(), NULL);
	put64(c, (uint64_t)db);
	put64(c, klen);
	EVP_DigestUpdate(c, key, klen);
	put64(c, strlen(type));
	EVP_DigestUpdate(c, type, strlen(type));
	put64(c, expiry_ms < 0 ? (uint64_t)-1 : 0);
	/* What the key holds (value.h), whatever its writer's version and
	 * encoding; else (a module's type, one newer than this code, damage)
	 * the payload's bytes, without the version and CRC. */
	if (plen < 11 || tsarc_redis_value_hash(c, payload, body)) {
		EVP_DigestUpdate(c, "raw", 3);
		put64(c, body);
		EVP_DigestUpdate(c, payload, body);
	}
	EVP_DigestFinal_ex(c, out->loose, &n);
	/* Exact: the loose one with the second of the expiry (exact under
	 * ABSTTL either way); a key that does not expire has no more to say.
	 * So the value is read and hashed once, and a second SHA-256 of 40
	 * bytes is made for an expiring key only. */
	if (expiry_ms < 0) {
		memcpy(out->exact, out->loose, 32);
	} else {
		EVP_DigestInit_ex(c, tsarc_redis_sha256(), NULL);
		EVP_DigestUpdate(c, out->loose, 32);
		put64(c, (uint64_t)(expiry_ms / 1000));
		EVP_DigestFinal_ex(c, out->exact, &n);
	}
	EVP_MD_CTX_free(c);
}

void tsarc_redis_key_hash(unsigned char h[32], int db, const void *key, size_t klen,
	const char *type, int64_t expiry_ms, const void *payload, size_t plen)
{
	tsarc_redis_key_sums k;

	tsarc_redis_key_sums_of(&k, db, key, klen, type, expiry_ms, payload, plen);
	memcpy(h, k.exact, 32);
}

/* What the digest reads each key with, in this order ([exact]: the
 * expiry by PEXPIRETIME, or by PTTL and the clock), after SCAN; the probe
 * before a load's target is emptied asks the same (digest_allowed). */
#define KEY_READS 3
static const char *const KEY_READ[2][KEY_READS] = {
	{"TYPE", "PTTL", "DUMP"}, {"TYPE", "PEXPIRETIME", "DUMP"}};
static const char READS_USE[] = "reads the target back with it after the load, to check what "
	"it holds (SCAN, TYPE, PEXPIRETIME or PTTL, DUMP)";

static int digest_batch(tsarc_redis *r, int db, const tsarc_redis_reply *keys, int exact,
	int64_t cutoff, tsarc_redis_digests *out)
{
	int64_t now = exact ? 0 : tsarc_redis_now_ms();
	size_t i;
	int rc = 0;

	for (i = 0; i < keys->nelem && !rc; i++) {
		const char *argv[2] = {NULL, keys->elem[i]->str};
		size_t lens[2] = {0, keys->elem[i]->len};
		int j;
		for (j = 0; j < KEY_READS && !rc; j++) {
			argv[0] = KEY_READ[exact][j];
			lens[0] = strlen(argv[0]);
			rc = tsarc_redis_append(r, 2, argv, lens);
		}
	}
	for (i = 0; i < keys->nelem && !rc; i++) {
		tsarc_redis_reply *t = NULL, *e = NULL, *d = NULL;
		if (!(rc = tsarc_redis_read(r, &t)) && !(rc = tsarc_redis_read(r, &e)) &&
			!(rc = tsarc_redis_read(r, &d))) {
			if (t->type == '-' || e->type == '-' || d->type == '-') {
				rc = tsarc_error_set(TSARC_EIO, "Redis at %s: reading database %d: %s",
					tsarc_redis_where(r), db, t->type == '-' ? t->str :
					e->type == '-' ? e->str : d->str);
			} else if (t->type == '+' && e->type == ':' && e->integer != -2 &&
				d->type == '$') {
				int64_t at = e->integer < 0 ? -1 : exact ? e->integer : now + e->integer;
				tsarc_redis_key_sums k;
				if (at < 0 || at >= cutoff) {
					tsarc_redis_key_sums_of(&k, db, keys->elem[i]->str,
						keys->elem[i]->len, t->str, at, d->str, d->len);
					rc = tsarc_redis_digest_add(out, db, &k);
				}
			}
		}
		tsarc_redis_reply_free(t);
		tsarc_redis_reply_free(e);
		tsarc_redis_reply_free(d);
	}
	return rc;
}

/* Whether the server gives this user absolute expiries: PEXPIRETIME
 * answered (Redis 7.0 and later; refused only for the probe key, by the
 * user's key patterns, it is allowed), into d->exact; refused to the user
 * (NOPERM ... to run the command), d->expiry_refused: PTTL then, as on a
 * server without it, and the report says which. */
static int expiry_probe(tsarc_redis *r, tsarc_redis_digests *d)
{
	tsarc_redis_reply *rep = NULL;
	int rc = tsarc_redis_command(r, &rep, "PEXPIRETIME", "tsarc:probe:none", NULL);

	if (!rc) {
		const char *name;
		int noperm = rep->type == '-' && !strncmp(rep->str, "NOPERM", 6);
		d->expiry_refused = noperm && tsarc_redis_noperm_command(rep->str, &name) > 0;
		d->exact = rep->type == ':' || (noperm && !d->expiry_refused);
	}
	tsarc_redis_reply_free(rep);
	return rc;
}

/* One probe of `argv` (changes nothing): tsarc__redis_probe_refused. */
static int read_allowed(tsarc_redis *r, int argc, const char *const argv[])
{
	tsarc_redis_reply *rep = NULL;
	int rc;

	if ((rc = tsarc_redis_append(r, argc, argv, NULL)) || (rc = tsarc_redis_read(r, &rep)))
		return rc;
	rc = tsarc__redis_probe_refused(r, argv[0], rep, READS_USE);
	tsarc_redis_reply_free(rep);
	return rc;
}

int tsarc_redis_digest_allowed(tsarc_redis *r)
{
	static const char *const scan[] = {"SCAN", "0", "MATCH", "tsarc:probe:none", "COUNT", "1"};
	tsarc_redis_digests d;
	int rc, j;

	memset(&d, 0, sizeof(d));
	if ((rc = read_allowed(r, 6, scan)) || (rc = expiry_probe(r, &d)))
		return rc;
	for (j = 0; j < KEY_READS && !rc; j++) {
		const char *argv[] = {KEY_READ[d.exact][j], "tsarc:probe:none"};
		rc = read_allowed(r, 2, argv);
	}
	return rc;
}

int tsarc_redis_digest(tsarc_redis *r, int64_t cutoff_ms, tsarc_redis_digests *out)
{
	tsarc_redis_reply *rep = NULL;
	int ndb, db, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = expiry_probe(r, out)))
		return rc;
	if ((rc = tsarc_redis_db_count(r, &ndb)))
		return rc;
	for (db = 0; db < ndb && !rc; db++) {
		char cursor[32] = "0";
		long long n = 0;
		if ((rc = tsarc_redis_digests_db(out, db)) || (rc = tsarc__redis_select(r, db, NULL)) ||
			(rc = tsarc__redis_dbsize(r, &n)) || !n)
			continue;
		do {
			rep = NULL;
			if ((rc = tsarc_redis_command(r, &rep, "SCAN", cursor, "COUNT",
				     TSARC__REDIS_SCAN_COUNT, NULL)) ||
				(rc = tsarc__redis_scan_ok(r, rep, db)))
				break;
			snprintf(cursor, sizeof(cursor), "%s", rep->elem[0]->str);
			rc = digest_batch(r, db, rep->elem[1], out->exact, cutoff_ms, out);
			tsarc_redis_reply_free(rep);
			rep = NULL;
		} while (!rc && strcmp(cursor, "0"));
		tsarc_redis_reply_free(rep);
	}
	if (!rc)
		rc = tsarc__redis_select(r, 0, NULL);
	if (rc)
		tsarc_redis_digests_free(out);
	return rc;
}
