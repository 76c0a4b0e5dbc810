#ifndef TSARC_RETENTION_H
#define TSARC_RETENTION_H

#include <stddef.h>
#include <stdint.h>
#include "snapshot.h"

/*
 * Which snapshots a keep-policy keeps, with restic's semantics: snapshots
 * are walked newest first; a bucket rule (hourly, daily, ...) keeps a
 * snapshot when its time bucket differs from that of the last snapshot the
 * rule kept, until the rule's count is used up (-1: no limit). Buckets are
 * in UTC.
 */
typedef struct tsarc_keep_policy {
	int last, hourly, daily, weekly, monthly, yearly; /* 0: rule off, -1: unlimited */
	int within_years, within_months, within_days, within_hours; /* keep-within */
	const char *const *tags; /* keep snapshots carrying any of these */
	size_t ntags;
	/* The store's clock (0: not known). keep-within is measured back from
	 * the newest snapshot, or from this when the newest is dated later (a
	 * writer's clock ahead must not age the others out). */
	int64_t now;
} tsarc_keep_policy;

enum tsarc_keep_reason {
	TSARC_KEEP_LAST = 1 << 0,
	TSARC_KEEP_HOURLY = 1 << 1,
	TSARC_KEEP_DAILY = 1 << 2,
	TSARC_KEEP_WEEKLY = 1 << 3,
	TSARC_KEEP_MONTHLY = 1 << 4,
	TSARC_KEEP_YEARLY = 1 << 5,
	TSARC_KEEP_WITHIN = 1 << 6,
	TSARC_KEEP_TAG = 1 << 7,
};

typedef struct tsarc_retention_item {
	int64_t time_unix;
	/* The snapshot's time text and id: within one second, items are
	 * ordered by them as tsarc_snapshot_time_cmp (and so 'latest') orders
	 * snapshots. NULL: by their place in the input. */
	const char *time, *id;
	const char *const *tags;
	size_t ntags;
	unsigned reasons; /* out: TSARC_KEEP_* bits; 0 means remove */
} tsarc_retention_item;

int tsarc_keep_policy_empty(const tsarc_keep_policy *p);
/* Marks each item's reasons; items may be in any order. */
int tsarc_retention_apply(const tsarc_keep_policy *p, tsarc_retention_item *items, size_t n);
/* Parses "1y6m", "7d", "36h", "2w" into the within fields. */
int tsarc_parse_within(const char *text, tsarc_keep_policy *p);
/* "daily", "within", ...: one name per bit, for reports. */
const char *tsarc_keep_reason_name(unsigned bit);

#endif
