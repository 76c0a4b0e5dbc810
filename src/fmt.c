#include "fmt.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>

/* The buffer is marked `wipe`: a string formatted with a secret in it (a
 * header line with a session token, a password in a connection string)
 * leaves no copy in the blocks it outgrows. */
int tsarc_vasprintf(char **out, const char *fmt, va_list ap)
{
	tsarc_buf b;
	int rc;

	tsarc_buf_init_wiped(&b);
	*out = NULL;
	if ((rc = tsarc_buf_vprintf(&b, fmt, ap))) {
		tsarc_buf_dispose(&b);
		return rc;
	}
	*out = tsarc_buf_detach(&b);
	return 0;
}

int tsarc_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = tsarc_vasprintf(out, fmt, ap);
	va_end(ap);
	return rc;
}

char *tsarc_dup_printf(const char *fmt, ...)
{
	va_list ap;
	char *r;

	va_start(ap, fmt);
	tsarc_vasprintf(&r, fmt, ap);
	va_end(ap);
	return r;
}

const char *tsarc_vformat_whole(char *buf, size_t size, char **whole, const char *fmt,
	va_list ap)
{
	va_list again;
	int n;

	*whole = NULL;
	va_copy(again, ap);
	n = vsnprintf(buf, size, fmt, ap);
	if (n >= 0 && (size_t)n >= size && (*whole = malloc((size_t)n + 1)))
		vsnprintf(*whole, (size_t)n + 1, fmt, again);
	va_end(again);
	return *whole ? *whole : buf;
}
