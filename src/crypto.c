#include "crypto.h"
#include "tsarc/errors.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

struct tsarc_sha256_ctx {
	EVP_MD_CTX *md;
};

int tsarc_sha256_new(tsarc_sha256_ctx **out)
{
	tsarc_sha256_ctx *ctx = calloc(1, sizeof(*ctx));

	*out = NULL;
	if (!ctx)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	ctx->md = EVP_MD_CTX_new();
	if (!ctx->md || EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1) {
		tsarc_sha256_free(ctx);
		return tsarc_error_set(TSARC_EGENERIC, "SHA-256 initialisation failed");
	}
	*out = ctx;
	return 0;
}

int tsarc_sha256_update(tsarc_sha256_ctx *ctx, const void *data, size_t len)
{
	if (EVP_DigestUpdate(ctx->md, data, len) != 1)
		return tsarc_error_set(TSARC_EGENERIC, "SHA-256 update failed");
	return 0;
}

int tsarc_sha256_final(tsarc_sha256_ctx *ctx, uint8_t digest[32])
{
	unsigned int n = 32;

	if (EVP_DigestFinal_ex(ctx->md, digest, &n) != 1 || n != 32)
		return tsarc_error_set(TSARC_EGENERIC, "SHA-256 finalisation failed");
	return 0;
}

void tsarc_sha256_free(tsarc_sha256_ctx *ctx)
{
	if (!ctx)
		return;
	EVP_MD_CTX_free(ctx->md);
	free(ctx);
}

int tsarc_sha256(const void *data, size_t len, uint8_t digest[32])
{
	unsigned int n = 32;

	if (EVP_Digest(data, len, digest, &n, EVP_sha256(), NULL) != 1)
		return tsarc_error_set(TSARC_EGENERIC, "SHA-256 failed");
	return 0;
}

int tsarc_hmac_sha256(const uint8_t key[TSARC_KEY_LEN], const void *data,
	size_t len, uint8_t mac[32])
{
	unsigned int n = 32;

	if (!HMAC(EVP_sha256(), key, TSARC_KEY_LEN, data, len, mac, &n) || n != 32)
		return tsarc_error_set(TSARC_EGENERIC, "HMAC-SHA256 failed");
	return 0;
}

struct tsarc_hmac_ctx {
	EVP_MAC_CTX *mac;
};

int tsarc_hmac_new(tsarc_hmac_ctx **out, const uint8_t key[TSARC_KEY_LEN])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	tsarc_hmac_ctx *ctx = calloc(1, sizeof(*ctx));
	EVP_MAC *hmac;

	*out = NULL;
	if (!ctx)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL)
		ctx->mac = EVP_MAC_CTX_new(hmac);
	EVP_MAC_free(hmac); /* the context keeps its own reference */
	if (!ctx->mac || EVP_MAC_init(ctx->mac, key, TSARC_KEY_LEN, params) != 1) {
		tsarc_hmac_free(ctx);
		return tsarc_error_set(TSARC_EGENERIC, "HMAC-SHA256 initialisation failed");
	}
	*out = ctx;
	return 0;
}

int tsarc_hmac_mac(tsarc_hmac_ctx *ctx, const void *data, size_t len, uint8_t mac[32])
{
	size_t n = 0;

	/* No key: the one given at tsarc_hmac_new, its padded blocks kept. */
	if (EVP_MAC_init(ctx->mac, NULL, 0, NULL) != 1 ||
		EVP_MAC_update(ctx->mac, data, len) != 1 ||
		EVP_MAC_final(ctx->mac, mac, &n, 32) != 1 || n != 32)
		return tsarc_error_set(TSARC_EGENERIC, "HMAC-SHA256 failed");
	return 0;
}

void tsarc_hmac_free(tsarc_hmac_ctx *ctx)
{
	if (!ctx)
		return;
	EVP_MAC_CTX_free(ctx->mac);
	free(ctx);
}

int tsarc_random_bytes(void *out, size_t len)
{
	if (RAND_bytes(out, (int)len) != 1)
		return tsarc_error_set(TSARC_EGENERIC, "no random bytes available");
	return 0;
}

int tsarc_aead_seal(const uint8_t key[TSARC_KEY_LEN], const void *aad,
	size_t aad_len, const void *plain, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c;
	uint8_t *nonce = out, *ct = out + TSARC_AEAD_NONCE_LEN;
	int n, ok;

	if (len > INT32_MAX)
		return tsarc_error_set(TSARC_ETOOLARGE, "object too large to encrypt");
	if (tsarc_random_bytes(nonce, TSARC_AEAD_NONCE_LEN))
		return TSARC_EGENERIC;
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	     (aad_len == 0 || EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_len) == 1) &&
	     EVP_EncryptUpdate(c, ct, &n, plain, (int)len) == 1 &&
	     EVP_EncryptFinal_ex(c, ct + n, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TSARC_AEAD_TAG_LEN,
		     ct + len) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return tsarc_error_set(TSARC_EGENERIC, "AES-256-GCM encryption failed");
	return 0;
}

int tsarc_aead_open(const uint8_t key[TSARC_KEY_LEN], const void *aad,
	size_t aad_len, const uint8_t *sealed, size_t sealed_len, uint8_t *out)
{
	EVP_CIPHER_CTX *c;
	size_t len;
	int n, ok;

	if (sealed_len < TSARC_AEAD_OVERHEAD)
		return tsarc_error_set(TSARC_ECORRUPT,
			"object is truncated (%zu bytes)", sealed_len);
	len = sealed_len - TSARC_AEAD_OVERHEAD;
	if (len > INT32_MAX)
		return tsarc_error_set(TSARC_ETOOLARGE, "object too large to decrypt");
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, sealed) == 1 &&
	     (aad_len == 0 || EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_len) == 1) &&
	     EVP_DecryptUpdate(c, out, &n, sealed + TSARC_AEAD_NONCE_LEN, (int)len) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TSARC_AEAD_TAG_LEN,
		     (void *)(sealed + TSARC_AEAD_NONCE_LEN + len)) == 1 &&
	     EVP_DecryptFinal_ex(c, out + n, &n) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return tsarc_error_set(TSARC_ECORRUPT,
			"authentication failed: the object was altered or damaged");
	return 0;
}

int tsarc_scrypt_params_check(uint64_t n, uint64_t r, uint64_t p)
{
	if (n < 2 || (n & (n - 1)) || r == 0 || p == 0)
		return tsarc_error_set(TSARC_ECORRUPT,
			"invalid scrypt parameters N=%llu r=%llu p=%llu", (unsigned long long)n,
			(unsigned long long)r, (unsigned long long)p);
	/* Each factor alone first, so the product cannot overflow. */
	if (n > TSARC_SCRYPT_WORK_MAX || r > TSARC_SCRYPT_WORK_MAX ||
		p > TSARC_SCRYPT_WORK_MAX || n * r > TSARC_SCRYPT_WORK_MAX ||
		n * r * p > TSARC_SCRYPT_WORK_MAX)
		return tsarc_error_set(TSARC_ECORRUPT,
			"scrypt parameters N=%llu r=%llu p=%llu ask for more work than tsarc "
			"accepts (N*r*p at most %llu)", (unsigned long long)n,
			(unsigned long long)r, (unsigned long long)p,
			(unsigned long long)TSARC_SCRYPT_WORK_MAX);
	return 0;
}

int tsarc_scrypt(const char *password, size_t password_len,
	const uint8_t *salt, size_t salt_len, uint64_t n, uint64_t r,
	uint64_t p, uint8_t out[TSARC_KEY_LEN])
{
	/* 128*r*N bytes for V: at most 256 MiB within the work bound. */
	uint64_t maxmem = 128 * TSARC_SCRYPT_WORK_MAX + (1u << 20);
	int rc;

	if ((rc = tsarc_scrypt_params_check(n, r, p)))
		return rc;
	if (EVP_PBE_scrypt(password, password_len, salt, salt_len, n, r, p,
		    maxmem, out, TSARC_KEY_LEN) != 1)
		return tsarc_error_set(TSARC_EGENERIC, "scrypt key derivation failed");
	return 0;
}

void tsarc_hex_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int tsarc_hex_decode(uint8_t *out, size_t len, const char *hex)
{
	size_t i;

	if (strlen(hex) != 2 * len)
		return tsarc_error_set(TSARC_EINVAL, "expected %zu hex digits", 2 * len);
	for (i = 0; i < len; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return tsarc_error_set(TSARC_EINVAL, "invalid hex digit");
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
