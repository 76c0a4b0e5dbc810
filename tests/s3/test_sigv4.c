/*
 * SigV4: tsarc's signer against botocore's, vector by vector. The vectors
 * are written by sigv4_vectors.py (botocore) when the tests run, so every
 * CI run exercises the reference implementation itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/stores/s3/sigv4.h"
#include "tsarc/errors.h"

static const char *vectors_path;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;
	char *s;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	if (s)
		s[n] = '\0';
	fclose(f);
	return s;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static size_t pairs(const cJSON *arr, tsarc__s3_kv *out, size_t max)
{
	const cJSON *p;
	size_t n = 0;

	cJSON_ArrayForEach(p, arr) {
		assert_true(n < max);
		out[n].name = cJSON_GetArrayItem(p, 0)->valuestring;
		out[n].value = cJSON_GetArrayItem(p, 1)->valuestring;
		n++;
	}
	return n;
}

static unsigned char *unhex(const char *h, size_t *len)
{
	size_t n = strlen(h) / 2, i;
	unsigned char *b = malloc(n + 1);

	for (i = 0; i < n; i++) {
		unsigned v;
		sscanf(h + 2 * i, "%2x", &v);
		b[i] = (unsigned char)v;
	}
	*len = n;
	return b;
}

static void test_botocore_vectors(void **state)
{
	char *text = slurp(vectors_path);
	cJSON *root, *vecs, *v;
	int count = 0, failures = 0;

	(void)state;
	if (!text)
		fail_msg("cannot read %s (run sigv4_vectors.py first)", vectors_path);
	root = cJSON_Parse(text);
	assert_non_null(root);
	assert_string_equal(str(root, "generator"), "botocore");
	vecs = cJSON_GetObjectItemCaseSensitive(root, "vectors");
	cJSON_ArrayForEach(v, vecs) {
		tsarc__s3_kv q[8], h[8];
		tsarc__sigv4_request r;
		tsarc_buf auth = TSARC_BUF_INIT, canon = TSARC_BUF_INIT;
		unsigned char *body;
		size_t body_len;
		char hash[65];

		memset(&r, 0, sizeof(r));
		r.method = str(v, "method");
		r.host = str(v, "host");
		r.path = str(v, "path");
		r.nquery = pairs(cJSON_GetObjectItemCaseSensitive(v, "query"), q, 8);
		r.query = q;
		r.nheaders = pairs(cJSON_GetObjectItemCaseSensitive(v, "headers"), h, 8);
		r.headers = h;
		body = unhex(str(v, "body_hex"), &body_len);
		/* The payload hash is ours, compared with botocore's too. */
		tsarc__sha256_hex(hash, body, body_len);
		assert_string_equal(hash, str(v, "payload_sha256"));
		r.payload_sha256 = hash;
		r.amz_date = str(v, "amz_date");
		r.region = str(v, "region");
		r.service = str(v, "service");
		r.access_key = str(v, "access_key");
		r.secret_key = str(v, "secret_key");
		r.session_token = str(v, "session_token");

		assert_int_equal(tsarc__sigv4_canonical_request(&canon, &r), 0);
		assert_int_equal(tsarc__sigv4_authorization(&auth, &r), 0);
		if (strcmp((char *)canon.ptr, str(v, "canonical_request")) != 0 ||
		    strcmp((char *)auth.ptr, str(v, "authorization")) != 0) {
			fprintf(stderr,
				"vector %s differs\n--- botocore canonical request:\n%s\n"
				"--- tsarc canonical request:\n%s\n--- botocore: %s\n--- tsarc:    %s\n",
				str(v, "name"), str(v, "canonical_request"), (char *)canon.ptr,
				str(v, "authorization"), (char *)auth.ptr);
			failures++;
		}
		count++;
		free(body);
		tsarc_buf_dispose(&auth);
		tsarc_buf_dispose(&canon);
	}
	cJSON_Delete(root);
	free(text);
	assert_true(count >= 10);
	assert_int_equal(failures, 0);
}

static void test_uri_encode(void **state)
{
	tsarc_buf b = TSARC_BUF_INIT;
	const char *s = "aZ09-._~/ +=%\xc3\xa4";

	(void)state;

	assert_int_equal(tsarc__s3_uri_encode(&b, s, strlen(s), 1), 0);
	assert_string_equal((char *)b.ptr, "aZ09-._~/%20%2B%3D%25%C3%A4");
	tsarc_buf_clear(&b);
	assert_int_equal(tsarc__s3_uri_encode(&b, "a/b", 3, 0), 0);
	assert_string_equal((char *)b.ptr, "a%2Fb");
	tsarc_buf_clear(&b);
	assert_int_equal(tsarc__sigv4_canonical_path(&b, ""), 0);
	assert_string_equal((char *)b.ptr, "/");
	tsarc_buf_dispose(&b);
}

static void test_query_sorting(void **state)
{
	/* Sorted by encoded name, then by value for repeated names. */
	tsarc__s3_kv q[] = {{"b", "2"}, {"a", "z"}, {"a", "y"}, {"A", NULL}, {"a b", "1"}};
	tsarc_buf b = TSARC_BUF_INIT;

	(void)state;
	assert_int_equal(tsarc__sigv4_canonical_query(&b, q, 5), 0);
	assert_string_equal((char *)b.ptr, "A=&a=y&a=z&a%20b=1&b=2");
	tsarc_buf_dispose(&b);
}

static void test_md5_and_date(void **state)
{
	char b64[25], hex[33], date[17];

	(void)state;
	tsarc__md5_base64(b64, hex, "", 0);
	assert_string_equal(b64, "1B2M2Y8AsgTpgAmY7PhCfg==");
	assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
	tsarc__sigv4_format_date(date, 1795437296LL);
	assert_string_equal(date, "20261123T123456Z");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_query_sorting),
		cmocka_unit_test(test_md5_and_date),
		cmocka_unit_test(test_botocore_vectors),
	};

	if (argc > 2) {
		fprintf(stderr, "usage: %s [VECTORS.json]\n", argv[0]);
		return 2;
	}
	vectors_path = argc == 2 ? argv[1] : TSARC_SIGV4_VECTORS;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
