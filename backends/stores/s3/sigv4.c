#include "sigv4.h"

#include "tsarc/errors.h"
#include "wipe.h"
#include "fileio.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char hexdigits[] = "0123456789abcdef";

static void to_hex(char *out, const unsigned char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

void tsarc__sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data ? data : (const void *)"", len, md);
	to_hex(out, md, sizeof(md));
}

void tsarc__md5_base64(char out[25], char hex_out[33], const void *data,
	size_t len)
{
	unsigned char md[16];
	unsigned int mdlen = 0;

	/* EVP rather than MD5(): the latter is deprecated in OpenSSL 3. */
	EVP_Digest(data ? data : (const void *)"", len, md, &mdlen, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, 16);
	if (hex_out)
		to_hex(hex_out, md, 16);
}

int tsarc__file_digests(int fd, uint64_t len, char sha_hex[65], char md5_b64[25],
	char md5_hex[33])
{
	enum { STEP = 256 * 1024 };
	EVP_MD_CTX *sha = EVP_MD_CTX_new(), *md5 = EVP_MD_CTX_new();
	unsigned char *buf = malloc(STEP), md[SHA256_DIGEST_LENGTH];
	unsigned int mdlen = 0;
	uint64_t at = 0;
	int rc = -1;

	if (!sha || !md5 || !buf) {
		errno = ENOMEM;
		goto out;
	}
	if (!EVP_DigestInit_ex(sha, EVP_sha256(), NULL) ||
	    !EVP_DigestInit_ex(md5, EVP_md5(), NULL)) {
		errno = ENOMEM;
		goto out;
	}
	while (at < len) {
		size_t n = len - at < STEP ? (size_t)(len - at) : STEP;
		if (tsarc_pread_all(fd, buf, n, (off_t)at) != 0)
			goto out;
		if (sha_hex)
			EVP_DigestUpdate(sha, buf, n);
		if (md5_b64 || md5_hex)
			EVP_DigestUpdate(md5, buf, n);
		at += n;
	}
	if (sha_hex) {
		EVP_DigestFinal_ex(sha, md, &mdlen);
		to_hex(sha_hex, md, SHA256_DIGEST_LENGTH);
	}
	if (md5_b64 || md5_hex) {
		EVP_DigestFinal_ex(md5, md, &mdlen);
		if (md5_b64)
			EVP_EncodeBlock((unsigned char *)md5_b64, md, 16);
		if (md5_hex)
			to_hex(md5_hex, md, 16);
	}
	rc = 0;
out:
	free(buf);
	EVP_MD_CTX_free(sha);
	EVP_MD_CTX_free(md5);
	return rc;
}

void tsarc__sigv4_format_date(char out[17], long long unix_time)
{
	time_t t = (time_t)unix_time;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

int tsarc__s3_uri_encode(tsarc_buf *out, const char *s, size_t len,
	int keep_slash)
{
	static const char upper[] = "0123456789ABCDEF";
	size_t i;
	int rc;

	/* Worst case triples the size: grow once instead of per byte. */
	if (len > (SIZE_MAX - 1) / 3)
		return tsarc_error_set(TSARC_ETOOLARGE, "string too long to encode");
	if ((rc = tsarc_buf_grow(out, len * 3)) != 0)
		return rc;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/')) {
			out->ptr[out->size++] = c;
		} else {
			out->ptr[out->size++] = '%';
			out->ptr[out->size++] = (uint8_t)upper[c >> 4];
			out->ptr[out->size++] = (uint8_t)upper[c & 15];
		}
	}
	out->ptr[out->size] = 0;
	return 0;
}

int tsarc__sigv4_canonical_path(tsarc_buf *out, const char *path)
{
	/* S3 signs the path encoded once, unnormalised: keys may legitimately
	 * hold "//" or "./", which must reach the server untouched. */
	if (!path || !*path)
		return tsarc_buf_puts(out, "/");
	return tsarc__s3_uri_encode(out, path, strlen(path), 1);
}

/* A query parameter (both URI-encoded) or a header (name in lower case,
 * value trimmed, inner runs of spaces folded), as signed. */
typedef struct enc_pair {
	char *name;
	char *value;
} enc_pair;

/* Wiped: a header's value may be the session token, a form's (an STS
 * call's body) the web identity token. */
static void pairs_free(enc_pair *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		tsarc_secure_free_str(p[i].name);
		tsarc_secure_free_str(p[i].value);
	}
	free(p);
}

static int cmp_pair(const void *a, const void *b)
{
	const enc_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s)
{
	tsarc_buf b = TSARC_BUF_INIT;

	if (!s)
		s = "";
	if (tsarc__s3_uri_encode(&b, s, strlen(s), 0))
		return NULL;
	return tsarc_buf_detach(&b);
}

int tsarc__sigv4_canonical_query(tsarc_buf *out, const tsarc__s3_kv *query,
	size_t nquery)
{
	enc_pair *pairs;
	size_t i, made = 0;
	int rc = 0;

	if (nquery == 0)
		return 0;
	pairs = calloc(nquery, sizeof(*pairs));
	if (!pairs)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	/* Sorting happens on the encoded form, as the specification says. */
	for (i = 0; i < nquery; i++) {
		pairs[i].name = encode_dup(query[i].name);
		pairs[i].value = encode_dup(query[i].value);
		made = i + 1;
		if (!pairs[i].name || !pairs[i].value) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
	}
	qsort(pairs, nquery, sizeof(*pairs), cmp_pair);
	for (i = 0; i < nquery && !rc; i++) {
		if (i)
			rc = tsarc_buf_puts(out, "&");
		if (!rc)
			rc = tsarc_buf_puts(out, pairs[i].name);
		if (!rc)
			rc = tsarc_buf_puts(out, "=");
		if (!rc)
			rc = tsarc_buf_puts(out, pairs[i].value);
	}
done:
	pairs_free(pairs, made);
	return rc;
}

static int cmp_header(const void *a, const void *b)
{
	return strcmp(((const enc_pair *)a)->name,
		((const enc_pair *)b)->name);
}

static char *lower_dup(const char *s)
{
	size_t i, n = strlen(s);
	char *r = malloc(n + 1);

	if (!r)
		return NULL;
	for (i = 0; i <= n; i++)
		r[i] = (char)tolower((unsigned char)s[i]);
	return r;
}

static char *trim_dup(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *r = malloc(n + 1);
	int space = 0;

	if (!r)
		return NULL;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			space = o > 0;
			continue;
		}
		if (space)
			r[o++] = ' ';
		space = 0;
		r[o++] = *s;
	}
	r[o] = '\0';
	return r;
}

/* Builds the canonical request; `signed_out` receives "host;x-amz-date;...". */
static int build_canonical(tsarc_buf *out, tsarc_buf *signed_out,
	const tsarc__sigv4_request *req)
{
	enc_pair *h;
	size_t n = 0, i, cap = req->nheaders + 4;
	int rc = 0;

	h = calloc(cap, sizeof(*h));
	if (!h)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
#define ADD_HEADER(nm, val)                                          \
	do {                                                         \
		h[n].name = lower_dup(nm);                           \
		h[n].value = trim_dup(val);                          \
		n++;                                                 \
		if (!h[n - 1].name || !h[n - 1].value) {             \
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory"); \
			goto done;                                   \
		}                                                    \
	} while (0)
	ADD_HEADER("host", req->host);
	ADD_HEADER("x-amz-content-sha256", req->payload_sha256);
	ADD_HEADER("x-amz-date", req->amz_date);
	if (req->session_token && *req->session_token)
		ADD_HEADER("x-amz-security-token", req->session_token);
	for (i = 0; i < req->nheaders; i++)
		ADD_HEADER(req->headers[i].name,
			req->headers[i].value ? req->headers[i].value : "");
#undef ADD_HEADER
	qsort(h, n, sizeof(*h), cmp_header);

	if ((rc = tsarc_buf_puts(out, req->method)) ||
	    (rc = tsarc_buf_puts(out, "\n")) ||
	    (rc = tsarc__sigv4_canonical_path(out, req->path)) ||
	    (rc = tsarc_buf_puts(out, "\n")) ||
	    (rc = tsarc__sigv4_canonical_query(out, req->query, req->nquery)) ||
	    (rc = tsarc_buf_puts(out, "\n")))
		goto done;
	for (i = 0; i < n; i++) {
		if ((rc = tsarc_buf_puts(out, h[i].name)) ||
		    (rc = tsarc_buf_puts(out, ":")) ||
		    (rc = tsarc_buf_puts(out, h[i].value)) ||
		    (rc = tsarc_buf_puts(out, "\n")))
			goto done;
		if (i && (rc = tsarc_buf_puts(signed_out, ";")))
			goto done;
		if ((rc = tsarc_buf_puts(signed_out, h[i].name)))
			goto done;
	}
	if ((rc = tsarc_buf_puts(out, "\n")) ||
	    (rc = tsarc_buf_append(out, signed_out->ptr, signed_out->size)) ||
	    (rc = tsarc_buf_puts(out, "\n")) ||
	    (rc = tsarc_buf_puts(out, req->payload_sha256)))
		goto done;
done:
	pairs_free(h, n);
	return rc;
}

int tsarc__sigv4_canonical_request(tsarc_buf *out,
	const tsarc__sigv4_request *req)
{
	tsarc_buf signed_headers = TSARC_BUF_INIT;
	int rc = build_canonical(out, &signed_headers, req);

	tsarc_buf_dispose(&signed_headers);
	return rc;
}

static int hmac(unsigned char out[32], const void *key, size_t keylen,
	const char *msg)
{
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
		    strlen(msg), out, &len) || len != 32)
		return tsarc_error_set(TSARC_EGENERIC, "HMAC-SHA256 failed");
	return 0;
}

int tsarc__sigv4_authorization(tsarc_buf *out, const tsarc__sigv4_request *req)
{
	tsarc_buf canon, signed_headers = TSARC_BUF_INIT;
	tsarc_buf sts = TSARC_BUF_INIT, secret;
	unsigned char k[32], sig[32];
	char date[9], canon_hash[65], sig_hex[65];
	int rc;

	/* The canonical request holds the session token (its
	 * x-amz-security-token line); `secret`, the secret key. */
	tsarc_buf_init_wiped(&canon);
	tsarc_buf_init_wiped(&secret);
	if (!req->amz_date || strlen(req->amz_date) != 16)
		return tsarc_error_set(TSARC_EINVAL, "bad x-amz-date");
	memcpy(date, req->amz_date, 8);
	date[8] = '\0';

	if ((rc = build_canonical(&canon, &signed_headers, req)))
		goto done;
	tsarc__sha256_hex(canon_hash, canon.ptr, canon.size);

	if ((rc = tsarc_buf_puts(&sts, "AWS4-HMAC-SHA256\n")) ||
	    (rc = tsarc_buf_puts(&sts, req->amz_date)) ||
	    (rc = tsarc_buf_puts(&sts, "\n")) ||
	    (rc = tsarc_buf_puts(&sts, date)) ||
	    (rc = tsarc_buf_puts(&sts, "/")) ||
	    (rc = tsarc_buf_puts(&sts, req->region)) ||
	    (rc = tsarc_buf_puts(&sts, "/")) ||
	    (rc = tsarc_buf_puts(&sts, req->service)) ||
	    (rc = tsarc_buf_puts(&sts, "/aws4_request\n")) ||
	    (rc = tsarc_buf_puts(&sts, canon_hash)))
		goto done;

	if ((rc = tsarc_buf_puts(&secret, "AWS4")) ||
	    (rc = tsarc_buf_puts(&secret, req->secret_key)))
		goto done;
	if ((rc = hmac(k, secret.ptr, secret.size, date)) ||
	    (rc = hmac(k, k, 32, req->region)) ||
	    (rc = hmac(k, k, 32, req->service)) ||
	    (rc = hmac(k, k, 32, "aws4_request")) ||
	    (rc = hmac(sig, k, 32, (const char *)sts.ptr)))
		goto done;
	to_hex(sig_hex, sig, 32);

	if ((rc = tsarc_buf_puts(out, "AWS4-HMAC-SHA256 Credential=")) ||
	    (rc = tsarc_buf_puts(out, req->access_key)) ||
	    (rc = tsarc_buf_puts(out, "/")) ||
	    (rc = tsarc_buf_puts(out, date)) ||
	    (rc = tsarc_buf_puts(out, "/")) ||
	    (rc = tsarc_buf_puts(out, req->region)) ||
	    (rc = tsarc_buf_puts(out, "/")) ||
	    (rc = tsarc_buf_puts(out, req->service)) ||
	    (rc = tsarc_buf_puts(out, "/aws4_request, SignedHeaders=")) ||
	    (rc = tsarc_buf_append(out, signed_headers.ptr, signed_headers.size)) ||
	    (rc = tsarc_buf_puts(out, ", Signature=")) ||
	    (rc = tsarc_buf_puts(out, sig_hex)))
		goto done;
done:
	/* The secret and the keys derived from it must not linger in freed memory. */
	tsarc_secure_zero(k, sizeof(k));
	tsarc_secure_buf_dispose(&secret);
	tsarc_buf_dispose(&canon);
	tsarc_buf_dispose(&signed_headers);
	tsarc_buf_dispose(&sts);
	return rc;
}
