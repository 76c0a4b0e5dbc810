/*
 * Values of Kubernetes Secrets: data (base64) or stringData, read
 * through a transport or from an object already in hand.
 */
#include "component.h"
#include "tsarc/errors.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static int nomem(void)
{
	return tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

int tsarc_b64_decode(const char *in, unsigned char **out, size_t *out_len)
{
	size_t len = strlen(in), pad = 0;
	unsigned char *buf;
	int n;

	if (len % 4)
		return tsarc_error_set(TSARC_ECORRUPT, "not base64 (length %zu)", len);
	if (!(buf = malloc(len / 4 * 3 + 1)))
		return nomem();
	n = len ? EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len) : 0;
	if (n < 0) {
		free(buf);
		return tsarc_error_set(TSARC_ECORRUPT, "not base64");
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (len && in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	*out_len = (size_t)n - pad;
	buf[*out_len] = '\0';
	*out = buf;
	return 0;
}

int tsarc_secret_doc_value(const cJSON *doc, const char *secret, const char *key, char **out)
{
	const cJSON *data, *v;
	unsigned char *dec;
	size_t len;
	int rc = 0;

	*out = NULL;
	data = cJSON_GetObjectItemCaseSensitive(doc, "data");
	v = cJSON_GetObjectItemCaseSensitive(data, key);
	if (cJSON_IsString(v)) {
		rc = tsarc_b64_decode(v->valuestring, &dec, &len);
		if (rc) {
			tsarc_error_prefix("Secret %s, key %s", secret, key);
		} else if (strlen((char *)dec) != len) {
			free(dec);
			rc = tsarc_error_set(TSARC_ECONFIG, "Secret %s, key %s holds a NUL byte",
				secret, key);
		} else
			*out = (char *)dec;
	} else {
		/* stringData is what a hand-written Secret may carry. */
		data = cJSON_GetObjectItemCaseSensitive(doc, "stringData");
		v = cJSON_GetObjectItemCaseSensitive(data, key);
		if (cJSON_IsString(v)) {
			if (!(*out = strdup(v->valuestring)))
				rc = nomem();
		} else
			rc = tsarc_error_set(TSARC_ENOTFOUND, "Secret %s has no key %s", secret, key);
	}
	return rc;
}

int tsarc_secret_value(tsarc_transport *tr, const char *secret, const char *key, char **out)
{
	cJSON *doc = NULL;
	int rc;

	*out = NULL;
	if ((rc = tr->get(tr, "secret", secret, &doc))) {
		tsarc_error_prefix("reading Secret %s", secret);
		return rc;
	}
	rc = tsarc_secret_doc_value(doc, secret, key, out);
	cJSON_Delete(doc);
	return rc;
}
