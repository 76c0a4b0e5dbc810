#ifndef TSARC_LOG_H
#define TSARC_LOG_H

/*
 * What the library has to say that is not an error: warnings (a damaged
 * snapshot passed over by `latest`, a file that changed while it was read,
 * a lock that could not be refreshed) and progress. The library never
 * writes to stderr itself: the program that links it installs one
 * callback and renders the events (the tsarc command: text, or one JSON
 * object per line with --log-format json). Without a callback, events are
 * dropped.
 *
 * One callback per process, not per handle: events come from threads that
 * hold no handle (the signal thread, a lock's refresher, an upload
 * worker's retry loop). Set it once, before any work starts. The library
 * calls it from any thread but one call at a time, so the callback may
 * write a line without a lock of its own; it must not call back into
 * functions that log (it would wait for itself).
 */

typedef enum tsarc_log_level {
	TSARC_LOG_DEBUG = 0,
	TSARC_LOG_INFO = 1,
	TSARC_LOG_WARN = 2,
	TSARC_LOG_ERROR = 3
} tsarc_log_level;

typedef struct tsarc_event {
	tsarc_log_level level;
	const char *component; /* where it happened: "snapshot", "s3", "lock", "files", ... */
	const char *event;     /* a stable snake_case name for machines: "snapshot_skipped" */
	const char *message;   /* one line for people, without a trailing newline */
} tsarc_event;

typedef void (*tsarc_log_fn)(const tsarc_event *ev, void *payload);

/* Installs `fn` (NULL: drop every event). */
void tsarc_log_set(tsarc_log_fn fn, void *payload);
/* "debug", "info", "warn", "error". */
const char *tsarc_log_level_name(tsarc_log_level level);

#endif
