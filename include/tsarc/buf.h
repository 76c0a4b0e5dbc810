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
 *
 * A failure sticks. Once an append (or grow, or printf) has failed, out
 * of memory or past the ceiling, every later one does nothing and returns
 * the same code, until tsarc_buf_clear or tsarc_buf_dispose. A failed
 * append leaves its piece out, and one after it that fits would go on
 * after the hole: a redis.conf without its requirepass line, the SQL
 * sent before a dump without one of its statements, used as if whole.
 * With the failure kept, text built by a run of appends needs one check
 * before it is used (tsarc_buf_status), and tsarc_buf_detach hands out
 * no failed text.
 */
typedef struct tsarc_buf {
	uint8_t *ptr;
	size_t size;
	size_t cap;
	size_t max; /* 0: no ceiling */
	int wipe;   /* wiped before its memory is given back */
	int err;    /* the first failed append's code; 0: none since the last clear */
} tsarc_buf;

#define TSARC_BUF_INIT {NULL, 0, 0, 0, 0, 0}

void tsarc_buf_init(tsarc_buf *b, size_t max);
/* An empty buffer, no ceiling, marked `wipe`. */
void tsarc_buf_init_wiped(tsarc_buf *b);
/* Makes room for `extra` more bytes; TSARC_ETOOLARGE past the ceiling.
 * This and the appends return the buffer's earlier failure, if any. */
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
/* 0 while every append since the last clear succeeded; else the first
 * failure's code, with this thread's error set to it again (what ran
 * since the failure may have replaced the message). */
int tsarc_buf_status(const tsarc_buf *b);
/* Empties the buffer and forgets a failure. */
void tsarc_buf_clear(tsarc_buf *b);
/* Frees the bytes (wiped first when marked `wipe`); the buffer is empty,
 * without a failure, and keeps its ceiling and mark. */
void tsarc_buf_dispose(tsarc_buf *b);
/* Hands the bytes to the caller (NUL-terminated) and empties the buffer;
 * a `wipe` buffer's bytes are the caller's to wipe. A failed buffer
 * hands out nothing: NULL, the error set as by tsarc_buf_status, and the
 * buffer disposed of. */
char *tsarc_buf_detach(tsarc_buf *b);

#endif
