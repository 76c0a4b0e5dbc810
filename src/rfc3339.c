/* The times of manifests and of the command line: RFC 3339 in UTC
 * ("2026-11-23T10:00:00Z"), read with a fraction or an offset too.
 * Declared in snapshot.h, whose manifests carry them. */
#include "snapshot.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void tsarc_time_format(int64_t unix_time, long nsec, char *out, size_t outsz)
{
	time_t t = (time_t)unix_time;
	struct tm tm;
	char base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (nsec > 0)
		snprintf(out, outsz, "%s.%06ldZ", base, nsec / 1000);
	else
		snprintf(out, outsz, "%sZ", base);
}

void tsarc_time_now(char *out, size_t outsz, int64_t *unix_out)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	tsarc_time_format((int64_t)ts.tv_sec, ts.tv_nsec, out, outsz);
	if (unix_out)
		*unix_out = (int64_t)ts.tv_sec;
}

static int digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int tsarc_time_parse(const char *text, int64_t *unix_out)
{
	const char *p = text;
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, s = 0, oh, om, sign;
	int64_t t;

	memset(&tm, 0, sizeof(tm));
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
		digits(&p, 2, &d))
		goto bad;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			goto bad;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &s))
				goto bad;
		}
		if (*p == '.') {
			p++;
			if (*p < '0' || *p > '9')
				goto bad;
			while (*p >= '0' && *p <= '9')
				p++;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		goto bad;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = (int64_t)timegm(&tm);
	if (*p == 'Z' || *p == '\0') {
		if (*p == 'Z')
			p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
			goto bad;
		t -= sign * (oh * 3600 + om * 60);
	} else {
		goto bad;
	}
	if (*p != '\0')
		goto bad;
	*unix_out = t;
	return 0;
bad:
	return tsarc_error_set(TSARC_EINVAL,
		"invalid time '%s' (expected e.g. 2026-11-23T10:00:00Z)", text);
}
