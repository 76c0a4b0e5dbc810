#ifndef TSARC_TEST_EVENT_COUNT_H
#define TSARC_TEST_EVENT_COUNT_H

/* Counts the library's events of one name (include/tsarc/log.h), for the
 * tests that check a warning was given once or not at all:
 *     static event_count damaged = {"index_cache_damaged", 0};
 *     tsarc_log_set(event_count_cb, &damaged);  ...  damaged.n */
#include <string.h>

#include "tsarc/log.h"

typedef struct event_count {
	const char *event;
	int n;
} event_count;

static inline void event_count_cb(const tsarc_event *ev, void *payload)
{
	event_count *c = payload;

	if (!strcmp(ev->event, c->event))
		c->n++;
}

#endif
