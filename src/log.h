#ifndef TSARC_LOG_INTERNAL_H
#define TSARC_LOG_INTERNAL_H

#include "tsarc/log.h"

/* Formats a message and hands the event to the installed callback (see
 * include/tsarc/log.h); messages longer than 2 KiB are cut. */
void tsarc__log(tsarc_log_level level, const char *component, const char *event,
	const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 4, 5)))
#endif
	;

#endif
