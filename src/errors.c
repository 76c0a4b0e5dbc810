#include "tsarc/errors.h"
#include "error_save.h"
#include "fmt.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_MAX TSARC_ERROR_MESSAGE_MAX

/* A message has no fixed size: a restore's report of a failed rollback
 * (the step's error with what was applied and what not, then the
 * rollback's own, then the command that puts it back) is as long as its
 * lists, and an operator who gets it cut does not know what state the
 * deployment is in. A message that fits is kept in `message`, one that
 * does not in `whole` (the heap, grown as needed; freed when its thread
 * ends, by the key's destructor). Out of memory, a long message is kept
 * cut, in `message`, rather than lost. */
static _Thread_local struct {
	tsarc_error err;
	char message[MESSAGE_MAX];
	char *whole;
	size_t whole_size;
} last_error;

static pthread_key_t whole_key;
static pthread_once_t whole_once = PTHREAD_ONCE_INIT;
static int whole_key_ok;

static void whole_key_make(void)
{
	whole_key_ok = pthread_key_create(&whole_key, free) == 0;
}

/* Room for `n` bytes in last_error.whole, its old text freed (the caller
 * formatted the new one aside first); NULL out of memory. */
static char *whole_room(size_t n)
{
	char *p;

	pthread_once(&whole_once, whole_key_make);
	if (!whole_key_ok)
		return NULL;
	if (n <= last_error.whole_size)
		return last_error.whole;
	if (!(p = malloc(n)))
		return NULL;
	free(last_error.whole);
	last_error.whole = p;
	last_error.whole_size = n;
	pthread_setspecific(whole_key, p);
	return p;
}

/* `text` (formatted aside, never last_error's own storage) as this
 * thread's message, whole. */
static void keep_message(const char *text)
{
	size_t n = strlen(text) + 1;
	char *room;

	if (n <= sizeof(last_error.message)) {
		memcpy(last_error.message, text, n);
		last_error.err.message = last_error.message;
		return;
	}
	if ((room = whole_room(n))) {
		memcpy(room, text, n);
		last_error.err.message = room;
		return;
	}
	memcpy(last_error.message, text, sizeof(last_error.message) - 1);
	last_error.message[sizeof(last_error.message) - 1] = '\0';
	last_error.err.message = last_error.message;
}

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
	char message[MESSAGE_MAX], *whole = NULL;
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		tsarc_vformat_whole(message, sizeof(message), &whole, fmt, ap);
		va_end(ap);
	} else {
		snprintf(message, sizeof(message), "%s", tsarc_strerror(code));
	}
	last_error.err.code = code;
	keep_message(whole ? whole : message);
	free(whole);
	return code;
}

const tsarc_error *tsarc_error_last(void)
{
	if (!last_error.err.message) {
		last_error.message[0] = '\0';
		last_error.err.message = last_error.message;
	}
	if (last_error.err.code != 0 && last_error.err.message[0] == '\0') {
		snprintf(last_error.message, sizeof(last_error.message), "%s",
			tsarc_strerror(last_error.err.code));
		last_error.err.message = last_error.message;
	}
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
	char prefix[MESSAGE_MAX], *whole = NULL, *joined;
	const char *p, *m = tsarc_error_last()->message;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	p = tsarc_vformat_whole(prefix, sizeof(prefix), &whole, fmt, ap);
	va_end(ap);
	n = strlen(p) + 2 + strlen(m) + 1;
	if ((joined = malloc(n))) {
		snprintf(joined, n, "%s: %s", p, m);
		keep_message(joined);
	} else {
		char cut[MESSAGE_MAX];
		snprintf(cut, sizeof(cut), "%s: %s", p, m);
		keep_message(cut);
	}
	free(joined);
	free(whole);
}

int tsarc_error_is_permanent(int code)
{
	return !(code == TSARC_ETRANSIENT || code == TSARC_ENET);
}

void tsarc_error_save(tsarc_saved_error *e)
{
	const tsarc_error *last = tsarc_error_last();
	size_t n = strlen(last->message);

	e->code = last->code;
	e->whole = n >= sizeof(e->message) ? strdup(last->message) : NULL;
	if (n >= sizeof(e->message))
		n = sizeof(e->message) - 1;
	memcpy(e->message, last->message, n);
	e->message[n] = '\0';
}

const char *tsarc_error_saved_message(const tsarc_saved_error *e)
{
	return e->whole ? e->whole : e->message;
}

int tsarc_error_restore(tsarc_saved_error *e)
{
	int rc;

	if (!e->code) {
		tsarc_error_forget(e);
		tsarc_error_clear();
		return 0;
	}
	rc = tsarc_error_set(e->code, "%s", tsarc_error_saved_message(e));
	tsarc_error_forget(e);
	return rc;
}

void tsarc_error_forget(tsarc_saved_error *e)
{
	free(e->whole);
	e->whole = NULL;
}
