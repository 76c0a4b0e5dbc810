#ifndef TSARC_BUF_H
#define TSARC_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A growable byte buffer with an optional ceiling, so that nothing read
 * from an untrusted peer can make it grow without bound. A buffer that
 * may carry a secret's plaintext (a stream of Secrets on its way into or
 * out of the repository) is marked `wipe`: every block it gives back,
 * when it grows and when it is disposed of, is wiped first, since freed
 * heap is reused by later allocations. It costs a copy at each growth
 * (realloc could not wipe the block it leaves) and a wipe at the end;
 * buffers reused chunk after chunk grow a few times in all.
 */
typedef struct tsarc_buf {
	uint8_t *ptr;
	size_t size;
	size_t cap;
	size_t max; /* 0: no ceiling */
	int wipe;   /* wiped before its memory is given back */
} tsarc_buf;

#define TSARC_BUF_INIT {NULL, 0, 0, 0, 0}

void tsarc_buf_init(tsarc_buf *b, size_t max);
/* An empty buffer, no ceiling, marked `wipe`. */
void tsarc_buf_init_wiped(tsarc_buf *b);
/* Makes room for `extra` more bytes; TSARC_ETOOLARGE past the ceiling. */
int tsarc_buf_grow(tsarc_buf *b, size_t extra);
int tsarc_buf_append(tsarc_buf *b, const void *data, size_t len);
int tsarc_buf_puts(tsarc_buf *b, const char *s);
/* Appends formatted text (the ceiling applies: TSARC_ETOOLARGE past it). */
int tsarc_buf_printf(tsarc_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
int tsarc_buf_vprintf(tsarc_buf *b, const char *fmt, va_list ap)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 0)))
#endif
	;
void tsarc_buf_clear(tsarc_buf *b);
/* Frees the bytes (wiped first when marked `wipe`); the buffer is empty
 * and keeps its ceiling and mark. */
void tsarc_buf_dispose(tsarc_buf *b);
/* Hands the bytes to the caller (NUL-terminated) and empties the buffer;
 * a `wipe` buffer's bytes are the caller's to wipe. */
char *tsarc_buf_detach(tsarc_buf *b);

#endif
