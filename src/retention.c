#include "retention.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int tsarc_keep_policy_empty(const tsarc_keep_policy *p)
{
	return !p->last && !p->hourly && !p->daily && !p->weekly && !p->monthly &&
	       !p->yearly && !p->within_years && !p->within_months && !p->within_days &&
	       !p->within_hours && !p->ntags;
}

const char *tsarc_keep_reason_name(unsigned bit)
{
	switch (bit) {
	case TSARC_KEEP_LAST: return "last";
	case TSARC_KEEP_HOURLY: return "hourly";
	case TSARC_KEEP_DAILY: return "daily";
	case TSARC_KEEP_WEEKLY: return "weekly";
	case TSARC_KEEP_MONTHLY: return "monthly";
	case TSARC_KEEP_YEARLY: return "yearly";
	case TSARC_KEEP_WITHIN: return "within";
	case TSARC_KEEP_TAG: return "tag";
	}
	return "?";
}

int tsarc_parse_within(const char *text, tsarc_keep_policy *p)
{
	const char *s = text;
	int any = 0;

	p->within_years = p->within_months = p->within_days = p->within_hours = 0;
	while (*s) {
		char *end;
		long v = strtol(s, &end, 10);
		if (end == s || v < 0 || v > 100000)
			goto bad;
		switch (*end) {
		case 'y': p->within_years += (int)v; break;
		case 'm': p->within_months += (int)v; break;
		case 'w': p->within_days += 7 * (int)v; break;
		case 'd': p->within_days += (int)v; break;
		case 'h': p->within_hours += (int)v; break;
		default: goto bad;
		}
		any = 1;
		s = end + 1;
	}
	if (any)
		return 0;
bad:
	return tsarc_error_set(TSARC_EINVAL,
		"invalid duration '%s' (use e.g. 7d, 36h, 2w, 1y6m)", text);
}

static int64_t bucket_of(unsigned rule, int64_t t, size_t index)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char week[16];

	gmtime_r(&tt, &tm);
	switch (rule) {
	case TSARC_KEEP_LAST:
		return (int64_t)index;
	case TSARC_KEEP_HOURLY:
		return ((int64_t)(tm.tm_year) * 400 + tm.tm_yday) * 24 + tm.tm_hour;
	case TSARC_KEEP_DAILY:
		return (int64_t)(tm.tm_year) * 400 + tm.tm_yday;
	case TSARC_KEEP_WEEKLY:
		/* ISO 8601 week-based year and week: weeks start on Monday. */
		strftime(week, sizeof(week), "%G%V", &tm);
		return strtol(week, NULL, 10);
	case TSARC_KEEP_MONTHLY:
		return (int64_t)(tm.tm_year) * 12 + tm.tm_mon;
	case TSARC_KEEP_YEARLY:
		return tm.tm_year;
	}
	return 0;
}

typedef struct order {
	int64_t t;
	size_t i;
	const tsarc_retention_item *it;
} order;

/* Newest first, in the order 'latest' picks from (tsarc_snapshot_time_cmp)
 * where the items carry their time and id: keep-last 1 keeps the snapshot
 * 'latest' names, even within one second. */
static int newest_first(const void *a, const void *b)
{
	const order *x = a, *y = b;

	if (x->t != y->t)
		return x->t > y->t ? -1 : 1;
	if (x->it->time && x->it->id && y->it->time && y->it->id)
		return -tsarc_snapshot_time_cmp(x->t, x->it->time, x->it->id, y->t, y->it->time,
			y->it->id);
	return x->i < y->i ? -1 : x->i > y->i;
}

int tsarc_retention_apply(const tsarc_keep_policy *p, tsarc_retention_item *items, size_t n)
{
	struct rule {
		unsigned bit;
		int count;
		int64_t last;
		int started;
	} rules[6] = {
		{TSARC_KEEP_LAST, p->last, 0, 0}, {TSARC_KEEP_HOURLY, p->hourly, 0, 0},
		{TSARC_KEEP_DAILY, p->daily, 0, 0}, {TSARC_KEEP_WEEKLY, p->weekly, 0, 0},
		{TSARC_KEEP_MONTHLY, p->monthly, 0, 0}, {TSARC_KEEP_YEARLY, p->yearly, 0, 0},
	};
	order *ord;
	int64_t cutoff = INT64_MIN;
	size_t k, r, t, u;

	if (n == 0)
		return 0;
	if (!(ord = malloc(n * sizeof(*ord))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (k = 0; k < n; k++) {
		ord[k].t = items[k].time_unix;
		ord[k].i = k;
		ord[k].it = &items[k];
		items[k].reasons = 0;
	}
	qsort(ord, n, sizeof(*ord), newest_first);
	if (p->within_years || p->within_months || p->within_days || p->within_hours) {
		/* Calendar arithmetic back from the newest snapshot, as restic does;
		 * from the store's clock when the newest is dated after it. */
		time_t newest = (time_t)(p->now && ord[0].t > p->now ? p->now : ord[0].t);
		struct tm tm;
		gmtime_r(&newest, &tm);
		tm.tm_year -= p->within_years;
		tm.tm_mon -= p->within_months;
		tm.tm_mday -= p->within_days;
		tm.tm_hour -= p->within_hours;
		cutoff = (int64_t)timegm(&tm);
	}
	for (k = 0; k < n; k++) {
		tsarc_retention_item *it = &items[ord[k].i];
		for (t = 0; t < p->ntags; t++)
			for (u = 0; u < it->ntags; u++)
				if (!strcmp(p->tags[t], it->tags[u]))
					it->reasons |= TSARC_KEEP_TAG;
		if (cutoff != INT64_MIN && it->time_unix > cutoff)
			it->reasons |= TSARC_KEEP_WITHIN;
		for (r = 0; r < 6; r++) {
			int64_t b;
			if (rules[r].count == 0)
				continue;
			b = bucket_of(rules[r].bit, it->time_unix, k);
			if (rules[r].started && b == rules[r].last)
				continue;
			it->reasons |= rules[r].bit;
			rules[r].last = b;
			rules[r].started = 1;
			if (rules[r].count > 0)
				rules[r].count--;
		}
	}
	free(ord);
	return 0;
}
