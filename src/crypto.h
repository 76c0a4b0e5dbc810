#ifndef TSARC_CRYPTO_H
#define TSARC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define TSARC_KEY_LEN 32
#define TSARC_ID_LEN 32
#define TSARC_ID_HEX_LEN 64
#define TSARC_AEAD_NONCE_LEN 12
#define TSARC_AEAD_TAG_LEN 16
#define TSARC_AEAD_OVERHEAD (TSARC_AEAD_NONCE_LEN + TSARC_AEAD_TAG_LEN)

/* Streaming SHA-256 (OpenSSL EVP; uses SHA-NI where the CPU has it). */
typedef struct tsarc_sha256_ctx tsarc_sha256_ctx;
int tsarc_sha256_new(tsarc_sha256_ctx **out);
int tsarc_sha256_update(tsarc_sha256_ctx *ctx, const void *data, size_t len);
int tsarc_sha256_final(tsarc_sha256_ctx *ctx, uint8_t digest[32]);
void tsarc_sha256_free(tsarc_sha256_ctx *ctx);
int tsarc_sha256(const void *data, size_t len, uint8_t digest[32]);

int tsarc_hmac_sha256(const uint8_t key[TSARC_KEY_LEN], const void *data,
	size_t len, uint8_t mac[32]);
/*
 * HMAC-SHA256 under one key for many messages, on one thread at a time:
 * the MACs of tsarc_hmac_sha256, without setting HMAC up again for each
 * message (about 1 us a call, measured; a backup takes 16,000 chunk ids
 * per GiB). The context holds the key until freed.
 */
typedef struct tsarc_hmac_ctx tsarc_hmac_ctx;
int tsarc_hmac_new(tsarc_hmac_ctx **out, const uint8_t key[TSARC_KEY_LEN]);
int tsarc_hmac_mac(tsarc_hmac_ctx *ctx, const void *data, size_t len, uint8_t mac[32]);
void tsarc_hmac_free(tsarc_hmac_ctx *ctx);

int tsarc_random_bytes(void *out, size_t len);

/*
 * AES-256-GCM with a random 96-bit nonce. `out` receives
 * nonce || ciphertext || tag and must hold len + TSARC_AEAD_OVERHEAD bytes.
 * The additional data binds the object to its role (and name), so an
 * object moved or renamed inside the store fails to open.
 */
int tsarc_aead_seal(const uint8_t key[TSARC_KEY_LEN], const void *aad,
	size_t aad_len, const void *plain, size_t len, uint8_t *out);
/* Returns TSARC_ECORRUPT when the tag does not match. `out` gets
 * sealed_len - TSARC_AEAD_OVERHEAD bytes. */
int tsarc_aead_open(const uint8_t key[TSARC_KEY_LEN], const void *aad,
	size_t aad_len, const uint8_t *sealed, size_t sealed_len, uint8_t *out);

/*
 * The most scrypt work a key file may ask for: N*r*p at most 2^21, i.e.
 * 8 times the cost of the keys tsarc writes (N=32768, r=8, p=1: 32 MiB,
 * about 0.1 s) and at most 256 MiB of memory. Key files are read before
 * anything is authenticated, so without a bound a forged one would make
 * every open take minutes.
 */
#define TSARC_SCRYPT_WORK_MAX (1ull << 21)
/* 0 when (N, r, p) are valid and within TSARC_SCRYPT_WORK_MAX, else
 * TSARC_ECORRUPT with a message naming the parameters. */
int tsarc_scrypt_params_check(uint64_t n, uint64_t r, uint64_t p);
int tsarc_scrypt(const char *password, size_t password_len,
	const uint8_t *salt, size_t salt_len, uint64_t n, uint64_t r,
	uint64_t p, uint8_t out[TSARC_KEY_LEN]);

void tsarc_hex_encode(char *out, const uint8_t *in, size_t len);
/* Decodes exactly `len` bytes from 2*len lower-case hex digits. */
int tsarc_hex_decode(uint8_t *out, size_t len, const char *hex);

#endif
