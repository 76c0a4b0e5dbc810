#ifndef TSARC_BASE64_H
#define TSARC_BASE64_H

#include <stddef.h>
#include <stdint.h>

/*
 * Base64 (RFC 4648, with padding, no line breaks) over OpenSSL's
 * EVP_EncodeBlock/EVP_DecodeBlock, once for key files and Kubernetes
 * Secrets alike. Those take an int length: a longer input is refused
 * before the cast could wrap, and a decoded size is bounded before
 * anything is allocated, because the text usually comes from outside (a
 * Secret read from a cluster, a key file from a store). Decoded bytes may
 * be secret: the scratch is wiped.
 */

/* A malloc'ed, NUL-terminated encoding of `len` bytes. TSARC_ETOOLARGE
 * when the encoding would not fit an int. */
int tsarc_base64_encode(char **out, const void *in, size_t len);

/*
 * Decodes `in` into a malloc'ed buffer with a NUL after the `*out_len`
 * bytes (so a decoded text is a C string when it holds no NUL).
 * TSARC_ECORRUPT for anything that is not base64 (a length not a multiple
 * of 4, a character outside the alphabet, '=' before the end);
 * TSARC_ETOOLARGE when it would decode to more than `max` bytes.
 */
int tsarc_base64_decode(uint8_t **out, size_t *out_len, const char *in, size_t max);

/* The same into the caller's `cap` bytes at `out`. */
int tsarc_base64_decode_to(uint8_t *out, size_t cap, size_t *out_len, const char *in);

#endif
