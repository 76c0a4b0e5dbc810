/*
 * Values of Kubernetes Secrets: data (base64) or stringData, read
 * through a transport or from an object already in hand.
 */
#include "component.h"
#include "base64.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nomem(void)
{
	return tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

/* data[key] (base64) or stringData[key] of a Secret into *out. A NUL byte
 * in the value is refused (it would end the value early), but with `pem`
 * those after the text are dropped: MySQL writes each certificate and key
 * file it makes at --initialize with a NUL byte after the PEM text (9.7
 * measured), and the TLS libraries read up to the END line. */
static int doc_value(const cJSON *doc, const char *secret, const char *key, int pem,
	char **out)
{
	const cJSON *data, *v;
	uint8_t *dec;
	size_t len, end;
	int rc = 0;

	*out = NULL;
	data = cJSON_GetObjectItemCaseSensitive(doc, "data");
	v = cJSON_GetObjectItemCaseSensitive(data, key);
	if (cJSON_IsString(v)) {
		/* A Kubernetes Secret holds at most 1 MiB. */
		rc = tsarc_base64_decode(&dec, &len, v->valuestring, 1u << 20);
		if (rc) {
			tsarc_error_prefix("Secret %s, key %s", secret, key);
			return rc;
		}
		for (end = len; pem && end && !dec[end - 1]; end--)
			;
		if (strlen((char *)dec) != end) {
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

int tsarc_secret_doc_value(const cJSON *doc, const char *secret, const char *key, char **out)
{
	return doc_value(doc, secret, key, 0, out);
}

/* An optional key (doc_value's `pem`): NULL when absent or empty. */
static int doc_optional(const cJSON *doc, const char *secret, const char *key, int pem,
	char **out)
{
	int rc;

	*out = NULL;
	if (!doc)
		return 0;
	rc = doc_value(doc, secret, key, pem, out);
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

int tsarc_secret_doc_optional(const cJSON *doc, const char *secret, const char *key,
	char **out)
{
	return doc_optional(doc, secret, key, 0, out);
}

int tsarc_secret_doc_pem(const cJSON *doc, const char *secret, const char *key, char **out)
{
	return doc_optional(doc, secret, key, 1, out);
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

cJSON *tsarc_secret_doc_parse_object(const char *text, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(text, len);

	if (cJSON_IsObject(doc))
		return doc;
	tsarc_secret_doc_free(doc);
	return NULL;
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

/* Decoded values shorter than this are not hidden: kubectl never prints
 * one (a Secret's data goes out base64), and a short word ("system",
 * "true") would hide the very line that says what was refused. */
#define DECODED_HIDDEN_MIN 12
/* Lines of a configuration shorter than this are not hidden ("save 60"):
 * kubectl's own lines would go with them. */
#define HIDDEN_LINE_MIN 8

/* Appends a copy of `v` to the NULL-ended *vals (*n of them). */
static int values_add(char ***vals, size_t *n, const char *v, size_t len)
{
	char **grown, *copy;

	if (!len)
		return 0;
	if (!(grown = realloc(*vals, (*n + 2) * sizeof(**vals))))
		return nomem();
	*vals = grown;
	if (!(copy = malloc(len + 1)))
		return nomem();
	memcpy(copy, v, len);
	copy[len] = '\0';
	grown[(*n)++] = copy;
	grown[*n] = NULL;
	return 0;
}

/* The values of one Secret: data as written and decoded, stringData. */
static int secret_values_of(const cJSON *secret, char ***vals, size_t *n)
{
	const cJSON *v;
	int rc = 0;

	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(secret, "data")) {
		uint8_t *dec = NULL;
		size_t len = 0;
		if (!cJSON_IsString(v))
			continue;
		if ((rc = values_add(vals, n, v->valuestring, strlen(v->valuestring))))
			return rc;
		if (tsarc_base64_decode(&dec, &len, v->valuestring, 1u << 20)) {
			tsarc_error_clear(); /* not base64: the API server says so */
			continue;
		}
		if (len >= DECODED_HIDDEN_MIN && strlen((char *)dec) == len)
			rc = values_add(vals, n, (char *)dec, len);
		tsarc_secure_free(dec, len);
		if (rc)
			return rc;
	}
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(secret, "stringData"))
		if (cJSON_IsString(v) &&
			(rc = values_add(vals, n, v->valuestring, strlen(v->valuestring))))
			return rc;
	return 0;
}

int tsarc_secret_values(const cJSON *doc, char ***out)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items"), *it;
	char **vals = NULL;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	if (cJSON_IsArray(items)) {
		cJSON_ArrayForEach(it, items)
			if (!rc && !strcmp(tsarc_spec_str(it, "kind") ? tsarc_spec_str(it, "kind") : "",
				    "Secret"))
				rc = secret_values_of(it, &vals, &n);
	} else if (tsarc_spec_str(doc, "kind") && !strcmp(tsarc_spec_str(doc, "kind"), "Secret")) {
		rc = secret_values_of(doc, &vals, &n);
	}
	if (rc) {
		tsarc_secret_values_free(vals);
		return rc;
	}
	*out = vals;
	return 0;
}

void tsarc_secret_values_free(char **vals)
{
	size_t i;

	for (i = 0; vals && vals[i]; i++)
		tsarc_secure_free_str(vals[i]);
	free(vals);
}

/* `s` as a JSON string's text would hold it, without the quotes; NULL
 * when out of memory. Freed with tsarc_secure_free_str. */
static char *json_quoted(const char *s)
{
	cJSON *str = cJSON_CreateString(s);
	size_t len = 0;
	char *text = str ? tsarc_secret_doc_print(str, 0, &len) : NULL;

	tsarc_secret_doc_free(str);
	if (text && len >= 2) {
		memmove(text, text + 1, len - 2);
		tsarc_secure_zero(text + len - 2, 2);
	}
	return text;
}

/* `s` with &, < and > as Go's JSON writes them (\u0026, \u003c, \u003e:
 * kubectl's patch); NULL when out of memory. */
static char *go_escaped(const char *s)
{
	size_t n = strlen(s), extra = 0, i, j;
	char *out;

	for (i = 0; i < n; i++)
		extra += strchr("&<>", s[i]) && s[i] ? 5 : 0;
	if (!(out = malloc(n + extra + 1)))
		return NULL;
	for (i = j = 0; i < n; i++) {
		if (s[i] && strchr("&<>", s[i])) {
			snprintf(out + j, 7, "\\u%04x", (unsigned)(unsigned char)s[i]);
			j += 6;
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
	return out;
}

int tsarc_hide_text_lines(char ***vals, const char *text)
{
	size_t n = 0, i, j;
	const char *p = text, *nl;
	int rc = 0;

	while (*vals && (*vals)[n])
		n++;
	for (; p && *p && !rc; p = nl ? nl + 1 : NULL) {
		/* The line as written; quoted once and twice as cJSON quotes it;
		 * once and twice as Go's JSON does (kubectl: &, < and > as
		 * \u0026 ...). */
		char *form[5] = {NULL};
		size_t len;
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len < HIDDEN_LINE_MIN)
			continue;
		if (!(form[0] = malloc(len + 1)))
			return nomem();
		memcpy(form[0], p, len);
		form[0][len] = '\0';
		if (!(form[1] = json_quoted(form[0])) || !(form[2] = json_quoted(form[1])) ||
			!(form[3] = go_escaped(form[1])) || !(form[4] = json_quoted(form[3])))
			rc = nomem();
		for (i = 0; i < 5 && !rc; i++) {
			for (j = 0; j < i && strcmp(form[j], form[i]); j++)
				;
			if (j == i)
				rc = values_add(vals, &n, form[i], strlen(form[i]));
		}
		for (i = 0; i < 5; i++)
			tsarc_secure_free_str(form[i]);
	}
	return rc;
}
