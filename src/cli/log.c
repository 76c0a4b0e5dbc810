/*
 * How the tsarc command writes to stderr: the library's events (see
 * include/tsarc/log.h), the command's own warnings and errors, and the
 * lines of its reports, all through one renderer. The human format is
 * what a person reads on a terminal; --log-format json writes one JSON
 * object per line (level, time in RFC 3339 UTC, component, event,
 * message) for a log collector, and nothing else on stderr.
 */
#include "cli.h"
#include "fmt.h"
#include "names.h"
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

/* A copy of `s` that is valid UTF-8 (a file name need not be): each byte
 * of an invalid sequence becomes '?', so a collector's JSON parser never
 * rejects the line. */
static void utf8_clean(char *out, size_t outsz, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, len, i;

	while (*p && o + 5 < outsz) {
		if (*p < 0x80)
			len = 1;
		else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2)
			len = 2;
		else if ((*p & 0xf0) == 0xe0)
			len = 3;
		else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4)
			len = 4;
		else
			len = 0;
		for (i = 1; i < len; i++)
			if ((p[i] & 0xc0) != 0x80)
				len = 0;
		/* Overlong three-byte forms and UTF-16 surrogates are not UTF-8. */
		if (len == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
			len = 0;
		if (len == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
			len = 0;
		if (!len) {
			out[o++] = '?';
			p++;
			continue;
		}
		memcpy(out + o, p, len);
		o += len;
		p += len;
	}
	out[o] = '\0';
}

void cli_text_clean(char *s, int keep_breaks)
{
	unsigned char *in = (unsigned char *)s, *out = in;
	size_t n;

	if (!s)
		return;
	for (; *in; in++) {
		if ((*in < 0x20 && !(keep_breaks && (*in == '\n' || *in == '\t'))) ||
			*in == 0x7f)
			*out++ = '?';
		else if (*in == 0xc2 && in[1] >= 0x80 && in[1] <= 0x9f) {
			*out++ = '?'; /* one for the character's two bytes */
			in++;
		} else if ((n = tsarc_text_hidden_len((const char *)in))) {
			*out++ = '?'; /* U+202E and its kind: one for all its bytes */
			in += n - 1;
		} else
			*out++ = *in;
	}
	*out = '\0';
}

char *cli_text_copy(const char *s)
{
	char *copy = s ? strdup(s) : NULL;

	cli_text_clean(copy, 0);
	return copy;
}

/* One line, written with one call. `raw`: a report line, as is (no
 * "tsarc: " before it). A report line is one line by construction and
 * quotes a snapshot's words (its source, streams, resources): a break or a
 * tab in it is theirs and shows as '?', lest it add a report line of its
 * own ("dry run: nothing was changed"). A message may have its own. */
static void render(const tsarc_event *ev, int raw)
{
	char when[40], *shown = NULL;

	pthread_mutex_lock(&g_out_mu);
	if (g_json) {
		/* Whole, whatever its length (a restore's report of a failed
		 * rollback); cut only out of memory. */
		const char *m = ev->message ? ev->message : "";
		size_t size = strlen(m) + 6;
		cJSON *o = cJSON_CreateObject();
		char *text, cut[4096], *message = shown = malloc(size);
		if (!message) {
			message = cut;
			size = sizeof(cut);
		}
		format_time(when, sizeof(when));
		utf8_clean(message, size, m);
		if (o && cJSON_AddStringToObject(o, "level", tsarc_log_level_name(ev->level)) &&
			cJSON_AddStringToObject(o, "time", when) &&
			cJSON_AddStringToObject(o, "component", ev->component ? ev->component : "tsarc") &&
			cJSON_AddStringToObject(o, "event", ev->event ? ev->event : "message") &&
			cJSON_AddStringToObject(o, "message", message) &&
			(text = cJSON_PrintUnformatted(o))) {
			fprintf(stderr, "%s\n", text);
			free(text);
		}
		cJSON_Delete(o);
	} else {
		const char *m = ev->message ? ev->message : "";
		if ((shown = strdup(m))) {
			cli_text_clean(shown, !raw);
			m = shown;
		} else {
			m = "(a message tsarc had no memory to show)";
		}
		if (raw)
			fprintf(stderr, "%s\n", m);
		else
			fprintf(stderr, "tsarc: %s%s\n",
				ev->level == TSARC_LOG_WARN    ? "warning: "
				: ev->level == TSARC_LOG_ERROR ? "error: "
							       : "",
				m);
	}
	fflush(stderr);
	pthread_mutex_unlock(&g_out_mu);
	free(shown);
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
	char message[4096], *whole = NULL;
	tsarc_event ev;

	/* Whole, however long. */
	ev.message = tsarc_vformat_whole(message, sizeof(message), &whole, fmt, ap);
	ev.level = level;
	ev.component = g_component;
	ev.event = event;
	render(&ev, raw);
	free(whole);
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
