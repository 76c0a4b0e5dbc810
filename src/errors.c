#include "tsarc/errors.h"
#include "error_save.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MESSAGE_MAX TSARC_ERROR_MESSAGE_MAX

static _Thread_local struct {
	tsarc_error err;
	char message[MESSAGE_MAX];
} last_error;

/* One row a code, from the one list (TSARC_ERRNO_MAP): its name and text. */
static const struct {
	int code;
	const char *name, *text;
} ERRORS[] = {
	{TSARC_OK, "OK", "success"},
#define TSARC__ERR_ROW(name, value, text) {TSARC_##name, #name, text},
	TSARC_ERRNO_MAP(TSARC__ERR_ROW)
#undef TSARC__ERR_ROW
};

static size_t error_row(int code)
{
	size_t i;

	for (i = 0; i < sizeof(ERRORS) / sizeof(ERRORS[0]); i++)
		if (ERRORS[i].code == code)
			break;
	return i;
}

const char *tsarc_strerror(int code)
{
	size_t i = error_row(code);

	return i < sizeof(ERRORS) / sizeof(ERRORS[0]) ? ERRORS[i].text : "unknown error";
}

const char *tsarc_errname(int code)
{
	size_t i = error_row(code);

	return i < sizeof(ERRORS) / sizeof(ERRORS[0]) ? ERRORS[i].name : "UNKNOWN";
}

/* Formatted aside, then copied: a message is often made from the last one
 * ("%s; ... too (%s)", tsarc_error_last()->message), and formatting over
 * an argument is undefined (it read what it had just written). */
int tsarc_error_set(int code, const char *fmt, ...)
{
	char message[MESSAGE_MAX];
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(message, sizeof(message), fmt, ap);
		va_end(ap);
	} else {
		snprintf(message, sizeof(message), "%s", tsarc_strerror(code));
	}
	last_error.err.code = code;
	memcpy(last_error.message, message, strlen(message) + 1);
	last_error.err.message = last_error.message;
	return code;
}

const tsarc_error *tsarc_error_last(void)
{
	if (!last_error.err.message) {
		last_error.message[0] = '\0';
		last_error.err.message = last_error.message;
	}
	if (last_error.err.code != 0 && last_error.message[0] == '\0')
		snprintf(last_error.message, sizeof(last_error.message), "%s",
			tsarc_strerror(last_error.err.code));
	return &last_error.err;
}

void tsarc_error_clear(void)
{
	last_error.err.code = 0;
	last_error.message[0] = '\0';
	last_error.err.message = last_error.message;
}

void tsarc_error_prefix(const char *fmt, ...)
{
	char prefix[MESSAGE_MAX];
	char joined[MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(joined, sizeof(joined), "%s: %s", prefix, last_error.message);
	memcpy(last_error.message, joined, sizeof(joined));
	last_error.err.message = last_error.message;
}

int tsarc_error_is_permanent(int code)
{
	return !(code == TSARC_ETRANSIENT || code == TSARC_ENET);
}

void tsarc_error_save(tsarc_saved_error *e)
{
	const tsarc_error *last = tsarc_error_last();

	e->code = last->code;
	memcpy(e->message, last->message, strlen(last->message) + 1);
}

int tsarc_error_restore(const tsarc_saved_error *e)
{
	if (!e->code) {
		tsarc_error_clear();
		return 0;
	}
	return tsarc_error_set(e->code, "%s", e->message);
}
