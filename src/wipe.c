#include "wipe.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void tsarc_secure_zero(void *p, size_t len)
{
	if (p && len)
		OPENSSL_cleanse(p, len);
}

void tsarc_secure_free(void *p, size_t len)
{
	tsarc_secure_zero(p, len);
	free(p);
}

void tsarc_secure_free_str(char *s)
{
	if (s)
		tsarc_secure_free(s, strlen(s));
}

size_t tsarc_secure_first_line(char *s, size_t len)
{
	size_t keep = strcspn(s, "\r\n");

	/* strcspn stops at a NUL too: the bytes after one are wiped. */
	if (keep <= len)
		tsarc_secure_zero(s + keep, len + 1 - keep);
	return keep;
}

void tsarc_secure_buf_dispose(tsarc_buf *b)
{
	tsarc_secure_zero(b->ptr, b->cap);
	tsarc_buf_dispose(b);
}

int tsarc_secure_grow(char **buf, size_t used, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 4096;
	char *grown;

	if (need <= *cap)
		return 0;
	while (ncap < need) {
		if (ncap > (size_t)-1 / 2)
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		ncap *= 2;
	}
	if (!(grown = malloc(ncap)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (used)
		memcpy(grown, *buf, used);
	tsarc_secure_free(*buf, *cap);
	*buf = grown;
	*cap = ncap;
	return 0;
}

/* Before each block: its size, in as many bytes as keep the block
 * aligned as malloc's own. */
typedef union wiped_head {
	size_t size;
	max_align_t align;
} wiped_head;

void *tsarc_wiped_alloc(size_t n)
{
	wiped_head *h;

	if (n > (size_t)-1 - sizeof(*h) || !(h = malloc(sizeof(*h) + n)))
		return NULL;
	h->size = n;
	return h + 1;
}

void tsarc_wiped_free(void *p)
{
	wiped_head *h = p;

	if (p) {
		h--;
		tsarc_secure_free(h, sizeof(*h) + h->size);
	}
}

void *tsarc_wiped_realloc(void *p, size_t n)
{
	wiped_head *h = p;
	void *r;

	if (!p)
		return tsarc_wiped_alloc(n);
	if (!(r = tsarc_wiped_alloc(n)))
		return NULL;
	h--;
	memcpy(r, p, h->size < n ? h->size : n);
	tsarc_wiped_free(p);
	return r;
}

void tsarc_secure_free_fields(void *obj, const size_t *fields, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char **field = (char **)((unsigned char *)obj + fields[i]);
		tsarc_secure_free_str(*field);
		*field = NULL;
	}
}

/*
 * cJSON's free, wiping: a block's usable size is what malloc gave, so a
 * block from plain malloc (cJSON's allocator, kept) is wiped whole, and
 * any block is still free()'s to take.
 */
static void json_free(void *p)
{
	if (p) {
		OPENSSL_cleanse(p, malloc_usable_size(p));
		free(p);
	}
}

/*
 * Installed when the program (or the library) is loaded, before main and
 * before any thread: cJSON's hooks are one global struct that every cJSON
 * call reads unlocked, so it is set once, before anyone can read it, and
 * never again. Not per parse: a thread's parse would change the free of
 * another's at any moment, and a parse of a Secret must not depend on no
 * other thread using cJSON. malloc stays cJSON's allocator, so a block
 * allocated before this ran, or freed with free() by a caller of
 * cJSON_Print*, is as fine as any (no header to find), and with a free of
 * its own cJSON stops using realloc (a buffer it outgrows is freed here).
 */
__attribute__((constructor)) static void json_hooks_install(void)
{
	cJSON_Hooks hooks = {NULL, json_free};

	cJSON_InitHooks(&hooks);
}
