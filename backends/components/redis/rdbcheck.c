/*
 * The report of redis-check-rdb, as the swap runs it (rdbcheck.h):
 *
 *   [offset 0] Checking RDB file dump.rdb.tsarc-incoming
 *   [offset 82] Selecting DB ID 3
 *   [offset 109] \o/ RDB looks OK! \o/
 *   [info] 12 keys read
 *   tsarc-check: 0
 *
 * or, on a bad file, "--- RDB ERROR DETECTED ---" and the error on the
 * next line ("[offset 55] Unexpected EOF reading RDB file"). Only those
 * lines are read; the rest (key names among them) is neither kept nor
 * printed.
 */
#define _GNU_SOURCE /* memmem */
#include "rdbcheck.h"
#include "tsarc/errors.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define STATUS_TAG "tsarc-check: "
#define CHECKING_TAG "Checking RDB file "
#define SELECT_TAG "Selecting DB ID "
#define ERROR_TAG "--- RDB ERROR DETECTED ---"
#define KEYS_TAG "[info] "
#define KEYS_TAIL " keys read"

/* The line [p, end) after its "[offset N] ", or the line itself. */
static const char *after_offset(const char *p, const char *end)
{
	const char *close;

	if (strncmp(p, "[offset ", 8) || !(close = memchr(p, ']', (size_t)(end - p))))
		return p;
	for (p = close + 1; p < end && *p == ' '; p++)
		;
	return p;
}

/* The line [p, end) without its "[offset N] " and trailing blanks, into
 * `dst`, control bytes made '?'. */
static void copy_line(char *dst, size_t dsz, const char *p, const char *end)
{
	size_t n = 0;

	p = after_offset(p, end);
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	for (; p < end && n + 1 < dsz; p++)
		dst[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
	dst[n] = '\0';
}

/* The most a number here is read as: a database number that large is
 * still more than any server has. */
#define NUMBER_CAP 999999999999LL

/* A decimal number at p, up to a line's end (NUMBER_CAP at most); -1:
 * none. */
static long long number_at(const char *p, const char *end)
{
	long long v = 0;
	int digits = 0;

	for (; p < end && isdigit((unsigned char)*p); p++, digits++)
		v = v >= NUMBER_CAP / 10 ? NUMBER_CAP : v * 10 + (*p - '0');
	return digits && (p == end || isspace((unsigned char)*p)) ? v : -1;
}

int tsarc_rdb_check_parse(const char *out, tsarc_rdb_check *res)
{
	const char *p = out, *status = NULL, *last = NULL, *last_end = NULL;
	int looks_ok = 0, after_error = 0;
	long long st = -1;

	memset(res, 0, sizeof(*res));
	res->max_db = -1;
	res->keys = -1;
	while (*p) {
		const char *end = strchr(p, '\n'), *s;
		if (!end)
			end = p + strlen(p);
		if (!strncmp(p, STATUS_TAG, strlen(STATUS_TAG))) {
			status = p + strlen(STATUS_TAG);
			if (!strncmp(status, "missing", 7)) {
				res->present = 0;
				return 0;
			}
			st = number_at(status, end);
		} else if (end > p) {
			if (after_error && !res->error[0])
				copy_line(res->error, sizeof(res->error), p, end);
			if (memmem(p, (size_t)(end - p), ERROR_TAG, strlen(ERROR_TAG)))
				after_error = 1;
			if (memmem(p, (size_t)(end - p), "RDB looks OK", 12))
				looks_ok = 1;
			s = after_offset(p, end);
			if ((size_t)(end - s) > strlen(SELECT_TAG) &&
				!strncmp(s, SELECT_TAG, strlen(SELECT_TAG))) {
				long long db = number_at(s + strlen(SELECT_TAG), end);
				if (db > res->max_db)
					res->max_db = db;
			}
			/* Every key of the file, expired or not: what the server
			 * that loads it counts as loaded plus expired. */
			if (!strncmp(p, KEYS_TAG, strlen(KEYS_TAG)) &&
				(size_t)(end - p) > strlen(KEYS_TAG) + strlen(KEYS_TAIL) &&
				!strncmp(end - strlen(KEYS_TAIL), KEYS_TAIL, strlen(KEYS_TAIL)))
				res->keys = number_at(p + strlen(KEYS_TAG), end);
			/* The last line that is not a summary: what it stopped at. */
			if (strncmp(p, "[info]", 6) && strncmp(p, "[additional info]", 17)) {
				last = p;
				last_end = end;
			}
		}
		p = *end ? end + 1 : end;
	}
	if (!status || st < 0)
		return tsarc_error_set(TSARC_EIO, "redis-check-rdb's report has no status line");
	res->present = 1;
	res->ok = st == 0 && looks_ok && !after_error;
	if (!res->ok && !res->error[0] && last)
		copy_line(res->error, sizeof(res->error), last, last_end);
	/* Stopped right after it began: the file could not be opened or read
	 * (Redis 6 and 7.0 say nothing more), which that line does not say. */
	if (!res->ok && !after_error && !strncmp(res->error, CHECKING_TAG, strlen(CHECKING_TAG))) {
		char began[sizeof(res->error)];
		snprintf(began, sizeof(began), "%s", res->error);
		snprintf(res->error, sizeof(res->error), "it could not open or read the file: exit "
			"status %lld right after \"%.*s\"", st, (int)(sizeof(res->error) - 90), began);
	}
	if (!res->ok && !res->error[0])
		snprintf(res->error, sizeof(res->error), "exit status %lld, nothing said why", st);
	return 0;
}
