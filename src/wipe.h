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
/* Keeps the first line of the `len` bytes read into s (a password file,
 * user:password): s cut at its first line end or NUL, and every byte
 * after the cut up to s[len] wiped, so that a later free by strlen
 * (tsarc_secure_free_str) leaves nothing of the other lines. s[len] must
 * be in the allocation. The kept line's length. */
size_t tsarc_secure_first_line(char *s, size_t len);
/* Wipes a buffer's whole allocation and disposes of it. */
void tsarc_secure_buf_dispose(tsarc_buf *b);
/* Room for `need` bytes in *buf (of *cap, `used` of them in use): a new
 * allocation of at least twice *cap, the used bytes copied, the old one
 * wiped and freed. realloc would give the old block back as it is: a
 * growing read of a Secret would leave copies of it behind. TSARC_ENOMEM
 * (message set) when it cannot: *buf and *cap are then as they were. */
int tsarc_secure_grow(char **buf, size_t used, size_t *cap, size_t need);

/*
 * Memory for a library that frees it without saying how much (zstd's and
 * zlib's contexts, which keep the last input they compressed or the
 * output they inflated): each block remembers its size ahead of the
 * pointer given out, so that its free can wipe it. NULL when out of
 * memory; tsarc_wiped_free takes NULL.
 */
void *tsarc_wiped_alloc(size_t n);
void tsarc_wiped_free(void *p);
/* realloc for those blocks: always a new block, the old one wiped and
 * freed (NULL p: an allocation; NULL result: p untouched). */
void *tsarc_wiped_realloc(void *p, size_t n);

/*
 * Every block cJSON gives back is wiped (wipe.c installs a free of its
 * own in cJSON's hooks when tsarc is loaded): a document's values are
 * copies of the text it parsed, and a parse that fails half-way deletes
 * its partial tree itself, out of the caller's reach (a Secret's data
 * that breaks after its values: before, their copies were freed as they
 * were). cJSON_Print's buffers outgrown on the way are wiped too. An
 * application that links tsarc and sets cJSON's hooks itself replaces
 * this: its free must wipe as well. tsarc_secret_doc_free still wipes a
 * Secret's tree itself, whoever frees it.
 */

/*
 * The owned strings of a configuration struct (a connection, a URL, a
 * transport's settings), named once by their offsets in a table, so that
 * one function frees them all instead of a destructor per struct that
 * lists them field by field (and has to remember which hold a secret).
 * Each is wiped before it is freed, whether or not it holds a secret:
 * wiping a host name costs nothing, forgetting to wipe a password does.
 * This wipes and frees the `n` strings (char *, may be NULL) at the
 * offsets `fields` of `obj`, and sets them to NULL.
 */
void tsarc_secure_free_fields(void *obj, const size_t *fields, size_t n);
/* The same for a table that is an array in scope. */
#define TSARC_SECURE_FREE_FIELDS(obj, table) \
	tsarc_secure_free_fields((obj), (table), sizeof(table) / sizeof(*(table)))

#endif
