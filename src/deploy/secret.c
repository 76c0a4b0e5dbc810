/*
 * Values of Kubernetes Secrets: data (base64) or stringData, read
 * through a transport or from an object already in hand.
 */
#include "component.h"
#include "base64.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

static int nomem(void)
{
	return tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

int tsarc_secret_doc_value(const cJSON *doc, const char *secret, const char *key, char **out)
{
	const cJSON *data, *v;
	uint8_t *dec;
	size_t len;
	int rc = 0;

	*out = NULL;
	data = cJSON_GetObjectItemCaseSensitive(doc, "data");
	v = cJSON_GetObjectItemCaseSensitive(data, key);
	if (cJSON_IsString(v)) {
		/* A Kubernetes Secret holds at most 1 MiB. */
		rc = tsarc_base64_decode(&dec, &len, v->valuestring, 1u << 20);
		if (rc) {
			tsarc_error_prefix("Secret %s, key %s", secret, key);
		} else if (strlen((char *)dec) != len) {
			tsarc_secure_free(dec, len);
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

int tsarc_secret_doc_optional(const cJSON *doc, const char *secret, const char *key,
	char **out)
{
	int rc;

	*out = NULL;
	if (!doc)
		return 0;
	rc = tsarc_secret_doc_value(doc, secret, key, out);
	if (rc == TSARC_ENOTFOUND) {
		tsarc_error_clear();
		return 0;
	}
	if (!rc && !**out) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

void tsarc_secret_doc_wipe(cJSON *j)
{
	cJSON *c;

	if (cJSON_IsString(j) && j->valuestring)
		tsarc_secure_zero(j->valuestring, strlen(j->valuestring));
	for (c = j ? j->child : NULL; c; c = c->next)
		tsarc_secret_doc_wipe(c);
}

void tsarc_secret_doc_free(cJSON *doc)
{
	tsarc_secret_doc_wipe(doc);
	cJSON_Delete(doc);
}

char *tsarc_secret_doc_print(const cJSON *doc, int formatted, size_t *len)
{
	size_t cap = 4096;
	char *buf;

	/* cJSON_PrintPreallocated never reallocates: a buffer too small is
	 * wiped (it holds the text so far) and one twice the size tried. */
	for (;;) {
		if (cap > (size_t)1 << 30 || !(buf = malloc(cap)))
			return NULL;
		if (cJSON_PrintPreallocated((cJSON *)doc, buf, (int)cap, formatted != 0)) {
			*len = strlen(buf);
			return buf;
		}
		tsarc_secure_free(buf, cap);
		cap *= 2;
	}
}

void tsarc_secret_doc_delete_item(cJSON *obj, const char *name)
{
	cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(obj, name);

	tsarc_secret_doc_free(item);
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
	tsarc_secret_doc_free(doc);
	return rc;
}
