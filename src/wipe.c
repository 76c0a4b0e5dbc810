#include "wipe.h"

#include <openssl/crypto.h>
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

void tsarc_secure_buf_dispose(tsarc_buf *b)
{
	tsarc_secure_zero(b->ptr, b->cap);
	tsarc_buf_dispose(b);
}
