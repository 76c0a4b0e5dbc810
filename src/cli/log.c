/*
 * How the tsarc command writes to stderr: the library's events (see
 * include/tsarc/log.h), the command's own warnings and errors, and the
 * lines of its reports, all through one renderer. The human format is
 * what a person reads on a terminal; --log-format json writes one JSON
 * object per line (level, time in RFC 3339 UTC, component, event,
 * message) for a log collector, and nothing else on stderr.
 */
#include "cli.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_json;
static const char *g_component = "tsarc";
/* Lines from the command's thread and from library threads (through the
 * callback, which the library already serializes) never interleave. */
static pthread_mutex_t g_out_mu = PTHREAD_MUTEX_INITIALIZER;

int cli_log_format_set(const char *name)
{
	if (!strcmp(name, "human"))
		g_json = 0;
	else if (!strcmp(name, "json"))
		g_json = 1;
	else
		return -1;
	return 0;
}

int cli_log_json(void)
{
	return g_json;
}

void cli_log_component(const char *command)
{
	g_component = command;
}

static void format_time(char *out, size_t outsz)
{
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		now.tv_nsec / 1000000L);
}

/* One line, written with one call. `raw`: a report line, as is. */
static void render(const tsarc_event *ev, int raw)
{
	char when[40];

	pthread_mutex_lock(&g_out_mu);
	if (g_json) {
		cJSON *o = cJSON_CreateObject();
		char *text;
		format_time(when, sizeof(when));
		if (o && cJSON_AddStringToObject(o, "level", tsarc_log_level_name(ev->level)) &&
			cJSON_AddStringToObject(o, "time", when) &&
			cJSON_AddStringToObject(o, "component", ev->component ? ev->component : "tsarc") &&
			cJSON_AddStringToObject(o, "event", ev->event ? ev->event : "message") &&
			cJSON_AddStringToObject(o, "message", ev->message ? ev->message : "") &&
			(text = cJSON_PrintUnformatted(o))) {
			fprintf(stderr, "%s\n", text);
			free(text);
		}
		cJSON_Delete(o);
	} else if (raw) {
		fprintf(stderr, "%s\n", ev->message);
	} else {
		fprintf(stderr, "tsarc: %s%s\n",
			ev->level == TSARC_LOG_WARN	   ? "warning: "
			: ev->level == TSARC_LOG_ERROR ? "error: "
						       : "",
			ev->message);
	}
	fflush(stderr);
	pthread_mutex_unlock(&g_out_mu);
}

static void from_library(const tsarc_event *ev, void *payload)
{
	(void)payload;
	render(ev, 0);
}

void cli_log_install(void)
{
	tsarc_log_set(from_library, NULL);
}

static void vemit(tsarc_log_level level, const char *event, int raw, const char *fmt,
	va_list ap)
{
	char message[4096];
	tsarc_event ev;

	vsnprintf(message, sizeof(message), fmt, ap);
	ev.level = level;
	ev.component = g_component;
	ev.event = event;
	ev.message = message;
	render(&ev, raw);
}

void cli_log(tsarc_log_level level, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(level, event, 0, fmt, ap);
	va_end(ap);
}

void cli_say(const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(TSARC_LOG_INFO, event, 1, fmt, ap);
	va_end(ap);
}
