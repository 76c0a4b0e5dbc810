#include "tsarc/buf.h"
#include "grow.h"
#include "tsarc/errors.h"
#include "wipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tsarc_buf_init(tsarc_buf *b, size_t max)
{
	b->ptr = NULL;
	b->size = 0;
	b->cap = 0;
	b->max = max;
	b->wipe = 0;
	b->err = 0;
}

void tsarc_buf_init_wiped(tsarc_buf *b)
{
	tsarc_buf_init(b, 0);
	b->wipe = 1;
}

int tsarc_buf_grow(tsarc_buf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *p;

	/* Nothing after a hole (buf.h); the message was set then. */
	if (b->err)
		return b->err;
	if (extra > SIZE_MAX - b->size - 1)
		return b->err = tsarc_error_set(TSARC_ETOOLARGE, "buffer size overflow");
	need = b->size + extra + 1; /* room for a terminating NUL */
	if (b->max && need - 1 > b->max)
		return b->err = tsarc_error_set(TSARC_ETOOLARGE,
			       "data larger than the %zu bytes allowed", b->max);
	if (need <= b->cap)
		return 0;
	/* The bytes so far and their NUL, into a new block; the old one
	 * wiped. */
	if (b->wipe)
		return b->err = tsarc_secure_grow((char **)&b->ptr, b->ptr ? b->size + 1 : 0,
			       &b->cap, need);
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->ptr, cap);
	if (!p)
		return b->err = tsarc_error_set(TSARC_ENOMEM, "out of memory (%zu bytes)", cap);
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int tsarc_buf_append(tsarc_buf *b, const void *data, size_t len)
{
	int rc = tsarc_buf_grow(b, len);
	if (rc)
		return rc;
	if (len)
		memcpy(b->ptr + b->size, data, len);
	b->size += len;
	b->ptr[b->size] = 0;
	return 0;
}

int tsarc_buf_puts(tsarc_buf *b, const char *s)
{
	return tsarc_buf_append(b, s, strlen(s));
}

int tsarc_buf_vprintf(tsarc_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	size_t room;
	int n, rc;

	/* One vsnprintf into the room there is; a second only when it was
	 * too small, once the buffer has grown to the exact size. */
	if ((rc = tsarc_buf_grow(b, 0)))
		return rc;
	room = b->cap - b->size;
	va_copy(again, ap);
	n = vsnprintf((char *)b->ptr + b->size, room, fmt, again);
	va_end(again);
	if (n < 0) {
		b->ptr[b->size] = 0;
		return b->err = tsarc_error_set(TSARC_EINVAL, "cannot format '%s'", fmt);
	}
	/* Checks the ceiling too, which the room may be past. */
	if ((rc = tsarc_buf_grow(b, (size_t)n))) {
		b->ptr[b->size] = 0;
		return rc;
	}
	if ((size_t)n >= room)
		vsnprintf((char *)b->ptr + b->size, (size_t)n + 1, fmt, ap);
	b->size += (size_t)n;
	return 0;
}

int tsarc_buf_printf(tsarc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = tsarc_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int tsarc_buf_status(const tsarc_buf *b)
{
	switch (b->err) {
	case 0:
		return 0;
	case TSARC_ENOMEM:
		return tsarc_error_set(b->err, "out of memory");
	case TSARC_ETOOLARGE:
		if (b->max)
			return tsarc_error_set(b->err, "data larger than the %zu bytes allowed",
				b->max);
		return tsarc_error_set(b->err, "buffer size overflow");
	default:
		return tsarc_error_set(b->err, "cannot format text");
	}
}

void tsarc_buf_clear(tsarc_buf *b)
{
	b->size = 0;
	b->err = 0;
	if (b->ptr)
		b->ptr[0] = 0;
}

void tsarc_buf_dispose(tsarc_buf *b)
{
	if (b->wipe)
		tsarc_secure_zero(b->ptr, b->cap);
	free(b->ptr);
	b->ptr = NULL;
	b->size = b->cap = 0;
	b->err = 0;
}

char *tsarc_buf_detach(tsarc_buf *b)
{
	char *p;

	if (b->err || (!b->ptr && tsarc_buf_grow(b, 0))) {
		tsarc_buf_status(b);
		tsarc_buf_dispose(b);
		return NULL;
	}
	p = (char *)b->ptr;
	p[b->size] = 0;
	b->ptr = NULL;
	b->size = b->cap = 0;
	return p;
}

int tsarc_reserve(void *arrp, size_t n, size_t *cap, size_t elem, size_t first)
{
	void *arr, *grown;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : first;
	if (ncap <= *cap || ncap > SIZE_MAX / elem)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	/* The pointer is copied out and back as bytes: arrp points to an
	 * array pointer of any element type. */
	memcpy(&arr, arrp, sizeof(arr));
	if (!(grown = realloc(arr, ncap * elem)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	memcpy(arrp, &grown, sizeof(grown));
	*cap = ncap;
	return 0;
}

int tsarc_strv_push(char ***v, size_t *n, size_t *cap, size_t first, const char *s)
{
	char *copy;

	if (TSARC_RESERVE(*v, *n, *cap, first))
		return TSARC_ENOMEM;
	if (!(copy = strdup(s)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	(*v)[(*n)++] = copy;
	return 0;
}
