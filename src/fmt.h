#ifndef TSARC_FMT_H
#define TSARC_FMT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A formatted string of its own: asprintf(3) is a GNU extension (the
 * build is C11 + POSIX) and its failure leaves the pointer undefined, so
 * callers wrote their own twice-vsnprintf wrappers. This is the one; it
 * reports failure in the project's error scheme.
 */

/* `*out` gets a malloc'ed string; 0, or TSARC_ENOMEM (then *out is NULL). */
int tsarc_asprintf(char **out, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
int tsarc_vasprintf(char **out, const char *fmt, va_list ap)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 0)))
#endif
	;

/* `fmt` into `buf` (`size` bytes), or, where the text is longer, into a
 * string of its own in *whole (the caller frees it; NULL otherwise):
 * returns the text to use, whole. Sets no error, unlike the ones above:
 * the error and log mechanisms format with an error pending. Out of
 * memory, the text is buf's, cut. */
const char *tsarc_vformat_whole(char *buf, size_t size, char **whole, const char *fmt,
	va_list ap)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 0)))
#endif
	;

/* The same as a return value, NULL on failure (with TSARC_ENOMEM set), for
 * callers that build many strings and test each for NULL. */
char *tsarc_dup_printf(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;

#endif
