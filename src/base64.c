#include "base64.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

int tsarc_base64_encode(char **out, const void *in, size_t len)
{
	size_t need;

	*out = NULL;
	if (len > (size_t)INT_MAX / 4 * 3)
		return tsarc_error_set(TSARC_ETOOLARGE, "%zu bytes are too many to encode", len);
	need = 4 * ((len + 2) / 3) + 1;
	if (!(*out = malloc(need)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory (%zu bytes)", need);
	EVP_EncodeBlock((unsigned char *)*out, in, (int)len);
	return 0;
}

static int b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '+' || c == '/';
}

/* The padding of a valid encoding (0 to 2), or -1. */
static int padding(const char *in, size_t len)
{
	size_t i, pad = 0;

	if (len % 4)
		return -1;
	if (len && in[len - 1] == '=')
		pad = len > 1 && in[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++)
		if (!b64_char((unsigned char)in[i]))
			return -1;
	return (int)pad;
}

int tsarc_base64_decode(uint8_t **out, size_t *out_len, const char *in, size_t max)
{
	size_t len = strlen(in), size;
	int pad, n;
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	if (len > INT_MAX)
		return tsarc_error_set(TSARC_ETOOLARGE, "base64 text of %zu bytes is too long", len);
	if ((pad = padding(in, len)) < 0)
		return tsarc_error_set(TSARC_ECORRUPT, "not base64 (length %zu)", len);
	size = len / 4 * 3 - (size_t)pad;
	if (size > max)
		return tsarc_error_set(TSARC_ETOOLARGE,
			"base64 data of %zu bytes, more than the %zu allowed", size, max);
	/* EVP_DecodeBlock writes the padding out as zero bytes. */
	if (!(buf = malloc(len / 4 * 3 + 1)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	n = len ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len) : 0;
	if (n < 0 || (size_t)n != len / 4 * 3) {
		tsarc_secure_free(buf, len / 4 * 3 + 1);
		return tsarc_error_set(TSARC_ECORRUPT, "not base64");
	}
	buf[size] = 0;
	*out = buf;
	*out_len = size;
	return 0;
}

int tsarc_base64_decode_to(uint8_t *out, size_t cap, size_t *out_len, const char *in)
{
	uint8_t *buf;
	size_t n;
	int rc;

	*out_len = 0;
	if ((rc = tsarc_base64_decode(&buf, &n, in, cap)))
		return rc;
	if (n)
		memcpy(out, buf, n);
	*out_len = n;
	tsarc_secure_free(buf, n + 1);
	return 0;
}
