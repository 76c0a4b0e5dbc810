/* The library's one way to say something that is not an error: see
 * include/tsarc/log.h. */
#include "log.h"
#include "names.h"
#include "fmt.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define LOG_MESSAGE_MAX 2048

/* One lock for the callback and its calls: an event is never handed to a
 * callback that is being replaced, and lines from the upload workers, the
 * lock refresher and the signal thread never interleave. */
static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static tsarc_log_fn g_log_fn;
static void *g_log_payload;

void tsarc_log_set(tsarc_log_fn fn, void *payload)
{
	pthread_mutex_lock(&g_log_mu);
	g_log_fn = fn;
	g_log_payload = payload;
	pthread_mutex_unlock(&g_log_mu);
}

const char *tsarc_log_level_name(tsarc_log_level level)
{
	static const tsarc_name LEVELS[] = {
		{TSARC_LOG_DEBUG, "debug"}, {TSARC_LOG_INFO, "info"},
		{TSARC_LOG_WARN, "warn"}, {TSARC_LOG_ERROR, "error"},
	};

	return tsarc_name_of(LEVELS, TSARC_NAMES_COUNT(LEVELS), (int)level, "info");
}

void tsarc__log(tsarc_log_level level, const char *component, const char *event,
	const char *fmt, ...)
{
	char message[LOG_MESSAGE_MAX], *whole = NULL;
	tsarc_event ev;
	va_list ap;

	pthread_mutex_lock(&g_log_mu);
	if (g_log_fn) {
		/* Whole, however long (a warning quotes an error). */
		va_start(ap, fmt);
		ev.message = tsarc_vformat_whole(message, sizeof(message), &whole, fmt, ap);
		va_end(ap);
		ev.level = level;
		ev.component = component;
		ev.event = event;
		g_log_fn(&ev, g_log_payload);
		free(whole);
	}
	pthread_mutex_unlock(&g_log_mu);
}
