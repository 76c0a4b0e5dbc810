#ifndef TSARC_WIPE_H
#define TSARC_WIPE_H

#include <stddef.h>

#include "tsarc/buf.h"

/*
 * Memory that held a secret (a password, a key, a Secret's data, the text
 * of a MySQL option file) is wiped before it is given back, so that it
 * does not linger in freed heap for a core dump or a later bug to show.
 * A plain memset before free() is a dead store the compiler may drop;
 * these go through OPENSSL_cleanse, which it may not.
 */

/* Wipes `len` bytes at p (p may be NULL when len is 0). */
void tsarc_secure_zero(void *p, size_t len);
/* Wipes and frees `len` bytes at p (p may be NULL). */
void tsarc_secure_free(void *p, size_t len);
/* Wipes and frees a NUL-terminated string (s may be NULL). */
void tsarc_secure_free_str(char *s);
/* Wipes a buffer's whole allocation and disposes of it. */
void tsarc_secure_buf_dispose(tsarc_buf *b);

#endif
