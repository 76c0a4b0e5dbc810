/*
 * Lock objects come from the store: after decryption they are only as
 * trustworthy as whoever held the key, and every backup, prune and
 * unlock reads them all. Whatever one says, reading it ends in a clear
 * refusal (ECORRUPT with a message, the lock marked unreadable: damage
 * that holds nobody back) or in a lock whose fields are each possible: a
 * pid of 0 (none) or of pid_t's range, a first write no later than the
 * last one and, when earlier, a time of the years 1970 to 9999 (prune
 * subtracts a margin from it, `tsarc locks` prints it), flags 0 or 1,
 * strings ended within their fields; the store's name and time kept. A
 * few inputs with known answers are checked on the first call, so a
 * reading that accepts or refuses everything fails.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lock.h"
#include "snapshot.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAME "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
/* The store's time of the last write (2027-01-15T08:00:00Z). */
#define MTIME INT64_C(1800000000)
#define TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

static int ended(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* Reads `json` as the lock NAME last written at `mtime`; 0 or ECORRUPT,
 * and the fields checked either way. */
static int parse(tsarc_lock_info *info, const char *json, size_t len, int64_t mtime)
{
	const tsarc_error *e;
	char when[64];
	int rc;

	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", NAME);
	info->mtime = mtime;
	tsarc_error_clear();
	rc = tsarc__lock_record_parse(info, (const uint8_t *)json, len);
	e = tsarc_error_last();
	if (rc && (rc != TSARC_ECORRUPT || e->code != rc || !e->message || !e->message[0]))
		abort();
	if (!rc && e->code)
		abort();
	if (info->unreadable != (rc != 0) || strcmp(info->name, NAME) || info->mtime != mtime)
		abort();
	if (info->pid < 0 || info->pid > INT32_MAX)
		abort();
	if (info->since != mtime && !(info->since < mtime && info->since >= 0 &&
		info->since <= TIME_MAX))
		abort();
	if ((info->exclusive != 0 && info->exclusive != 1) ||
		(info->probe != 0 && info->probe != 1))
		abort();
	if (!ended(info->host, sizeof(info->host)) || !ended(info->boot_id, sizeof(info->boot_id)) ||
		!ended(info->pidns, sizeof(info->pidns)))
		abort();
	/* A first write the lock says, as the refusal of a conflicting lock
	 * and `tsarc locks` show it. */
	if (info->since != mtime)
		tsarc_time_format(info->since, 0, when, sizeof(when));
	return rc;
}

static void expect(const char *json, int rc, long pid, int64_t since)
{
	tsarc_lock_info info;

	if (parse(&info, json, strlen(json), MTIME) != rc || info.pid != pid || info.since != since)
		abort();
}

static void known_answers(void)
{
	/* As tsarc writes it (write_record), after a refresh. */
	static const char ours[] = "{\"host\":\"node-1\",\"pid\":4242,\"boot_id\":\"5b8d5f0e-"
		"8c55-4bd4-9c67-0d2c1c4cbbf0\",\"pidns\":\"pid:[4026531836]\",\"exclusive\":true,"
		"\"time\":\"2027-01-15T08:00:00.123456Z\",\"since\":1799999000}";
	tsarc_lock_info info;

	if (parse(&info, ours, strlen(ours), MTIME) || strcmp(info.host, "node-1") ||
		info.pid != 4242 || !info.exclusive || info.probe || info.since != 1799999000 ||
		strcmp(info.pidns, "pid:[4026531836]") || info.time_unix != MTIME)
		abort();
	expect("{\"pid\":1,\"time\":\"2027-01-15T08:00:00Z\",\"probe\":true}", 0, 1, MTIME);
	/* Numbers no tsarc writes count as absent. */
	expect("{\"pid\":4294967295,\"time\":\"2027-01-15T08:00:00Z\"}", 0, 0, MTIME);
	expect("{\"pid\":1e300,\"time\":\"2027-01-15T08:00:00Z\",\"since\":1e300}", 0, 0, MTIME);
	expect("{\"pid\":-1e400,\"time\":\"2027-01-15T08:00:00Z\",\"since\":-1e30}", 0, 0, MTIME);
	expect("{\"pid\":12.5,\"time\":\"2027-01-15T08:00:00Z\",\"since\":1.5}", 0, 0, MTIME);
	/* No later than the last write. */
	expect("{\"pid\":7,\"time\":\"2027-01-15T08:00:00Z\",\"since\":1800000001}", 0, 7, MTIME);
	/* Unreadable: no lock record. */
	expect("{\"pid\":7,\"exclusive\":true}", TSARC_ECORRUPT, 7, MTIME);
	expect("{\"pid\":7,\"time\":\"yesterday\"}", TSARC_ECORRUPT, 7, MTIME);
	expect("{\"pid\":7,", TSARC_ECORRUPT, 0, MTIME);
	expect("", TSARC_ECORRUPT, 0, MTIME);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int first = 1;
	tsarc_lock_info info;

	if (first) {
		first = 0;
		known_answers();
	}
	/* Lock objects are read up to 64 KiB. */
	if (size > 64 * 1024)
		return 0;
	parse(&info, (const char *)data, size, MTIME);
	/* A store whose clock says 1970, and one at the end of int64_t. */
	parse(&info, (const char *)data, size, 0);
	parse(&info, (const char *)data, size, INT64_MAX);
	return 0;
}
