#ifndef TSARC_REDIS_VALUE_H
#define TSARC_REDIS_VALUE_H

/*
 * What a key's DUMP payload holds, hashed for the digest (digest.h) by
 * the key's type and not by how its server encoded it: a restore into
 * another server version (Redis 6 into Valkey 8, Valkey 9 into Redis 7.0)
 * or into a server whose *-max-listpack-entries differ is re-encoded on
 * load (a ziplist becomes a listpack, a listpack a hash table), and the
 * target's DUMP of the key then hashes as the payload sent did.
 *
 *  - a string: its bytes (an integer-encoded or LZF-compressed one as
 *    the bytes it stands for);
 *  - a list: its elements in order, from a linked list (RDB type 1), a
 *    ziplist (10), a quicklist of ziplists (14) or a quicklist 2 (18) of
 *    PLAIN and PACKED (listpack) nodes, LZF-compressed or not;
 *  - a set: the sum (mod 2^256) of its members' SHA-256, from a hash
 *    table (2), an intset (11) or a listpack (20);
 *  - a hash: the sum of its field and value pairs', from a hash table
 *    (4), a zipmap (9), a ziplist (13) or a listpack (16);
 *  - a sorted set: the sum of its member and score pairs', the score the
 *    double it is (the 8 bytes of the binary one of type 5, a string one
 *    as Redis reads it with strtod, an integer one converted), from
 *    types 3, 5, 12 (ziplist) and 17 (listpack);
 *  - a stream (15, 19, 21): what all three layouts hold: its entries (the
 *    master IDs and listpacks, which every server loads as they are), its
 *    length and last ID, and each consumer group's name, last ID and
 *    pending entries (ID, delivery time and count), and each consumer's
 *    name, seen time and pending IDs. Left out: the first ID, the largest
 *    deleted ID, the count of entries added, a group's count of entries
 *    read (19 and 21: a server loading a 15 makes them up) and a
 *    consumer's active time (21: Redis 7.0 has none).
 * An integer element or member counts as the decimal Redis prints of it.
 * A module's type and a type this does not know (a hash with field
 * expiries, 22 and later) are not read here.
 */
#include <openssl/evp.h>

#include <stddef.h>

/* Feeds `c` (a SHA-256 begun by the caller) "held", then what the RDB
 * object `obj` (a DUMP payload without its 10 bytes of version and CRC,
 * n bytes) holds; -1, `c` untouched, for a type this does not read or a
 * damaged object (anything read past its end or not wholly used): the
 * caller then hashes the bytes, after another word. */
int tsarc_redis_value_hash(EVP_MD_CTX *c, const unsigned char *obj, size_t n);

/* SHA-256, fetched once for the process: OpenSSL 3 looks EVP_sha256() up
 * again at every EVP_DigestInit_ex (300 ns a digest here, against 90
 * fetched), and the digest begins one a key and one a member of a set,
 * hash or sorted set. */
const EVP_MD *tsarc_redis_sha256(void);

/* 256-bit little-endian add (sub: subtract) of h to acc: the sums of the
 * unordered values here and of a database's keys (digest.h). */
void tsarc_redis_sum256(unsigned char acc[32], const unsigned char h[32], int sub);

#endif
