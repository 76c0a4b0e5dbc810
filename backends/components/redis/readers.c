/*
 * Which Redis servers read which RDB versions (readers.h).
 */
#include "readers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_CHARS "0123456789.-+_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

const char *tsarc_redis_version_readers(int version)
{
	if (version >= 80)
		return "valkey-server 9 or later (Valkey's own versions, from 80)";
	if (version > 12)
		return "a server newer than Redis 8 and Valkey 8";
	if (version == 12)
		return "redis-server 7.4 or later (not Valkey)";
	if (version == 11)
		return "valkey-server 7.2 or later (Debian 12: bookworm-backports) or redis-server "
			"7.2 or later";
	if (version == 10)
		return "redis-server 7.0 or later, or valkey-server";
	return "redis-server 6.0 or later, or valkey-server";
}

/* The value of INFO's field `name` ("name:value" at the start of a line)
 * as major and minor numbers, and the version into `text` (its letters,
 * digits and . - + _ only: it goes into messages): 0 when the field is
 * not there or does not begin "N.N". */
static int info_version(const char *info, const char *name, int *major, int *minor,
	char *text, size_t textsz)
{
	size_t nl = strlen(name);
	const char *p = info;
	char *end;
	long a, b;

	for (; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, nl) || p[nl] != ':')
			continue;
		p += nl + 1;
		if (*p < '0' || *p > '9')
			return 0;
		a = strtol(p, &end, 10);
		if (*end != '.' || end[1] < '0' || end[1] > '9')
			return 0;
		b = strtol(end + 1, &end, 10);
		if (a > 1000 || b > 1000)
			return 0;
		*major = (int)a;
		*minor = (int)b;
		snprintf(text, textsz, "%.*s", (int)strspn(p, VERSION_CHARS), p);
		return 1;
	}
	return 0;
}

/* Whether field `name` is said with the value `value` ("name:value",
 * the value ended by the line's end). */
static int info_says(const char *info, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	const char *p = info;

	for (; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, nl) && p[nl] == ':' && !strncmp(p + nl + 1, value, vl) &&
			strchr("\r\n", p[nl + 1 + vl]))
			return 1;
	return 0;
}

int tsarc_redis_info_valkey(const char *info)
{
	char text[64];
	int major, minor;

	return info_version(info, "valkey_version", &major, &minor, text, sizeof(text)) ||
		info_says(info, "server_name", "valkey");
}

/* Redis's own: the highest RDB version of a release series whose version
 * is known and final (5.0 to 7.4), else 0; Redis 8 and later read 12 at
 * least (*open set). */
static int redis_reads_most(int major, int minor, int *open)
{
	*open = 0;
	if (major == 5 || major == 6)
		return 9;
	if (major == 7 && minor == 0)
		return 10;
	if (major == 7 && minor == 2)
		return 11;
	if (major == 7 && minor == 4)
		return 12;
	if (major >= 8) {
		*open = 1;
		return 12;
	}
	return 0; /* older than 5, or a release candidate's 7.1 and 7.3 */
}

int tsarc_redis_info_reads(const char *info, int version, char *server, size_t serversz,
	char *reads, size_t readssz)
{
	char text[64];
	int major, minor, most, open;

	*server = *reads = '\0';
	/* Valkey says its own version beside the Redis one it is compatible
	 * with ("redis_version:7.2.4", "valkey_version:8.0.1"). */
	if (info_version(info, "valkey_version", &major, &minor, text, sizeof(text))) {
		snprintf(server, serversz, "Valkey %s", text);
		if (major < 7)
			return -1;
		if (major < 9) {
			snprintf(reads, readssz, "RDB version 11 at most");
			return version <= 11;
		}
		snprintf(reads, readssz, "RDB versions up to 11 and Valkey's own 80%s",
			major == 9 ? " (12 to 79, Redis's newer ones, only where rdb-version-check "
			"is relaxed)" : " at least");
		if (version <= 11 || version == 80)
			return 1;
		return major == 9 && version > 80 ? 0 : -1;
	}
	if (!info_version(info, "redis_version", &major, &minor, text, sizeof(text)))
		return -1;
	snprintf(server, serversz, "Redis %s", text);
	if (!(most = redis_reads_most(major, minor, &open)))
		return -1;
	snprintf(reads, readssz, "RDB version %d %s", most, open ? "at least" : "at most");
	if (version <= most)
		return 1;
	/* Valkey's own versions ("VALKEY080") no Redis reads. */
	return !open || version >= 80 ? 0 : -1;
}
