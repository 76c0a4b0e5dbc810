/*
 * Times come from manifests, lock objects and the command line; durations
 * from --keep-within. Each input must be refused with EINVAL and a message,
 * or give a result that holds up: a parsed time formats and parses back to
 * the same second, a parsed duration has only non-negative fields and its
 * text ends in a unit. A few inputs with known answers are checked exactly
 * on the first call, so a parser that refuses or accepts everything fails.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retention.h"
#include "snapshot.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A refusal is EINVAL with a message, nothing else. */
static void check_refusal(int rc)
{
	const tsarc_error *e = tsarc_error_last();

	if (rc != TSARC_EINVAL || e->code != TSARC_EINVAL || !e->message ||
		!e->message[0])
		abort();
}

static void check_time(const char *text)
{
	int64_t t = 0, t2 = 0;
	char back[64];
	time_t tt;
	struct tm tm;
	int rc;

	tsarc_error_clear();
	rc = tsarc_time_parse(text, &t);
	if (rc) {
		check_refusal(rc);
		return;
	}
	/* The format writes years 1000 to 9999 in four digits (strftime does
	 * not pad %Y); offsets and day overflow can leave that range. */
	tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 < 1000 || tm.tm_year + 1900 > 9999)
		return;
	tsarc_time_format(t, 0, back, sizeof(back));
	if (tsarc_time_parse(back, &t2) || t2 != t)
		abort();
}

static void check_within(const char *text)
{
	tsarc_keep_policy p;
	size_t n = strlen(text);
	int rc;

	memset(&p, 0, sizeof(p));
	tsarc_error_clear();
	rc = tsarc_parse_within(text, &p);
	if (rc) {
		check_refusal(rc);
		return;
	}
	if (n == 0 || !strchr("ymwdh", text[n - 1]) || p.within_years < 0 ||
		p.within_months < 0 || p.within_days < 0 || p.within_hours < 0 ||
		p.within_years + p.within_months + p.within_days + p.within_hours < 0)
		abort();
}

static void known_answers(void)
{
	static const struct {
		const char *text;
		int rc;
		int64_t t;
	} times[] = {
		{"2026-11-23T10:00:00Z", 0, 1795428000},
		{"2026-11-23T12:00:00+02:00", 0, 1795428000},
		{"2026-11-23T10:00:00.123456Z", 0, 1795428000},
		{"2026-11-23 10:00", 0, 1795428000},
		{"2026-11-23", 0, 1795392000},
		{"2026-13-01", TSARC_EINVAL, 0},
		{"2026-11-23T10:00:00Q", TSARC_EINVAL, 0},
		{"2026-11-23T10:00:00+0200", TSARC_EINVAL, 0},
		{"26-11-23", TSARC_EINVAL, 0},
		{"", TSARC_EINVAL, 0},
	};
	static const struct {
		const char *text;
		int rc, y, m, d, h;
	} withins[] = {
		{"7d", 0, 0, 0, 7, 0},
		{"1y6m", 0, 1, 6, 0, 0},
		{"2w3d4h", 0, 0, 0, 17, 4},
		{"", TSARC_EINVAL, 0, 0, 0, 0},
		{"7", TSARC_EINVAL, 0, 0, 0, 0},
		{"7x", TSARC_EINVAL, 0, 0, 0, 0},
		{"-1d", TSARC_EINVAL, 0, 0, 0, 0},
		{"100001d", TSARC_EINVAL, 0, 0, 0, 0},
	};
	tsarc_keep_policy p;
	int64_t t;
	size_t i;

	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		t = -1;
		if (tsarc_time_parse(times[i].text, &t) != times[i].rc ||
			(times[i].rc == 0 && t != times[i].t))
			abort();
	}
	for (i = 0; i < sizeof(withins) / sizeof(withins[0]); i++) {
		memset(&p, 0, sizeof(p));
		if (tsarc_parse_within(withins[i].text, &p) != withins[i].rc)
			abort();
		if (withins[i].rc == 0 &&
			(p.within_years != withins[i].y || p.within_months != withins[i].m ||
				p.within_days != withins[i].d || p.within_hours != withins[i].h))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int checked;
	char text[128];

	if (!checked) {
		known_answers();
		checked = 1;
	}
	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_time(text);
	check_within(text);
	return 0;
}
