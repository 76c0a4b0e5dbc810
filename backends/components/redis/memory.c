/*
 * Whether a Redis can hold a backup (logical.h tsarc_redis_room), asked
 * before a restore empties it. A managed Redis has a fixed maxmemory (the
 * node's size) and often an eviction policy, and tsarc may not change
 * either (CONFIG is blocked): a backup that does not fit was loaded
 * anyway, into a target emptied first, and then either refused with OOM
 * halfway (noeviction) or thinned by the server's evictions while the
 * load ran (the check afterwards found the counts wrong, the target's own
 * data already gone). INFO memory and INFO keyspace are what a managed
 * Redis still answers.
 *
 * Both sides are estimates in the same terms: the data set
 * (used_memory_dataset: keys and values as the allocator holds them) plus
 * KEY_OVERHEAD per key for what Redis counts as overhead but grows with
 * the keys (the main table's entry and bucket, about 32 bytes on 7.x).
 * What stays in the target once it is emptied (every database is: its
 * clients, its replication backlog, its function libraries where they are
 * kept) is its used_memory less its own data set and keys, never less than
 * what it used at startup. A backup that does not fit what is left is
 * refused. One that fits with less than a tenth to spare is said to, not
 * refused: another server, or version, may encode the same values less
 * tightly, but a restore into the server it came from (the same data at the
 * same limit) must not be refused for the source's own fill.
 */
#include "logical.h"
#include "sentinel.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_OVERHEAD 40ull
#define MARGIN_DIV 10ull

/* A number of INFO's field `key` into *v; 0 when there is none. */
static int info_number(const char *text, const char *key, unsigned long long *v)
{
	char value[64], *end;

	if (!tsarc_redis_info_line(text, key, value, sizeof(value)) || !*value)
		return 0;
	*v = strtoull(value, &end, 10);
	return *end == '\0';
}

/* INFO keyspace: the keys of every database ("db0:keys=12,expires=..."). */
static unsigned long long keyspace_keys(const char *text)
{
	unsigned long long sum = 0;
	const char *p, *eol = NULL;

	for (p = text; p && *p; p = eol ? eol + 1 : NULL) {
		const char *k = strstr(p, ":keys=");
		eol = strchr(p, '\n');
		if (!strncmp(p, "db", 2) && k && (!eol || k < eol))
			sum += strtoull(k + 6, NULL, 10);
	}
	return sum;
}

void tsarc_redis_memory_parse(tsarc_redis_memory *m, const char *memory, const char *keyspace)
{
	memset(m, 0, sizeof(*m));
	/* Refused to this user, or a server that does not say: unknown. */
	if (!memory || !info_number(memory, "used_memory", &m->used) ||
		!info_number(memory, "used_memory_dataset", &m->dataset) ||
		!info_number(memory, "maxmemory", &m->maxmemory))
		return;
	m->known = 1;
	info_number(memory, "used_memory_startup", &m->startup);
	if (!tsarc_redis_info_line(memory, "maxmemory_policy", m->policy, sizeof(m->policy)))
		snprintf(m->policy, sizeof(m->policy), "?");
	if (keyspace)
		m->keys = keyspace_keys(keyspace);
}

int tsarc_redis_memory_read(tsarc_redis *r, tsarc_redis_memory *m)
{
	tsarc_redis_reply *mem = NULL, *ks = NULL;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = tsarc_redis_command(r, &mem, "INFO", "memory", NULL)))
		return rc;
	if (mem->type == '$' && (rc = tsarc_redis_command(r, &ks, "INFO", "keyspace", NULL))) {
		tsarc_redis_reply_free(mem);
		return rc;
	}
	tsarc_redis_memory_parse(m, mem->type == '$' ? mem->str : NULL,
		ks && ks->type == '$' ? ks->str : NULL);
	tsarc_redis_reply_free(mem);
	tsarc_redis_reply_free(ks);
	return 0;
}

int tsarc_redis_evicted(tsarc_redis *r, unsigned long long *n, int *known)
{
	tsarc_redis_reply *rep = NULL;
	int rc;

	*n = 0;
	*known = 0;
	if ((rc = tsarc_redis_command(r, &rep, "INFO", "stats", NULL)))
		return rc;
	*known = rep->type == '$' && info_number(rep->str, "evicted_keys", n);
	tsarc_redis_reply_free(rep);
	return 0;
}

static const char *size_text(unsigned long long b, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%.1f MiB", (double)b / (1024.0 * 1024.0));
	return buf;
}

/* What the need says of where it comes from. */
static void need_text(const tsarc_redis_need *n, char *out, size_t outsz)
{
	char s[32];

	switch (n->how) {
	case TSARC_REDIS_NEED_MEASURED:
		snprintf(out, outsz, "measured on the private redis-server that loaded the RDB: data "
			"set %s (used_memory_dataset), %llu keys", size_text(n->dataset, s, sizeof(s)),
			n->keys);
		break;
	case TSARC_REDIS_NEED_RECORDED:
		snprintf(out, outsz, "recorded at backup: the source's data set %s "
			"(used_memory_dataset), %llu keys in the stream",
			size_text(n->dataset, s, sizeof(s)), n->keys);
		break;
	case TSARC_REDIS_NEED_RDB:
		snprintf(out, outsz, "estimated from the RDB's size, its snapshot not recording the "
			"source's memory (an older tsarc, or a source that did not tell it): %s; a low "
			"estimate, values in memory take more than in an RDB, compressed ones much more",
			size_text(n->dataset, s, sizeof(s)));
		break;
	default:
		snprintf(out, outsz, "estimated from the stream, its snapshot (from an older tsarc) "
			"not recording the source's memory: %s of values and key names as dumped, %llu "
			"keys; a low estimate, values in memory often take more",
			size_text(n->dataset, s, sizeof(s)), n->keys);
		break;
	}
}

/* What loading a backup that does not fit would do under the target's
 * policy: a load key by key into the emptied target is refused halfway or
 * thinned while it runs; an RDB the server loads at start is loaded whole
 * (Redis loads whatever its maxmemory), and the writes that come next are
 * refused or evict the restored keys. */
static const char *consequence(const tsarc_redis_memory *t, const tsarc_redis_need *n)
{
	int noeviction = !strcmp(t->policy, "noeviction");

	if (n->at_start)
		return noeviction ? "the server would start over its maxmemory and refuse every "
			"write with OOM (3scale's writes with it)" : "the server would start over its "
			"maxmemory and evict keys at the next writes (the backup's own, or those "
			"with a TTL: counters and limits gone without a word)";
	return noeviction ? "the load would be refused with OOM halfway, the target emptied and "
		"holding part of the backup" : "the load would go on while the server evicts keys "
		"(the backup's own, or those with a TTL), the target emptied and the backup not whole";
}

/* What the target uses besides its data, which stays once it is emptied:
 * `kept`, or not known where only its limit is (limit_only). */
static const char *kept_text(const tsarc_redis_memory *t, unsigned long long kept, char *buf,
	size_t bufsz)
{
	char s[32];

	if (t->limit_only)
		snprintf(buf, bufsz, "what it uses besides its data not known before the run");
	else
		snprintf(buf, bufsz, "%s used besides its data", size_text(kept, s, sizeof(s)));
	return buf;
}

int tsarc_redis_room(const char *where, const tsarc_redis_memory *t, const tsarc_redis_need *n,
	char *text, size_t textsz)
{
	unsigned long long need, want, kept, own, room;
	const char *most = t->limit_only ? "at most " : "";
	char src[400], a[32], b[32], c[32], d[80], e[32];

	if (!t->known) {
		snprintf(text, textsz, "not checked: Redis at %s does not tell its memory to this "
			"user (INFO memory)", where);
		return 0;
	}
	if (!t->maxmemory) {
		snprintf(text, textsz, "Redis at %s has no maxmemory (0: no limit): nothing to "
			"check", where);
		return 0;
	}
	own = t->dataset + t->keys * KEY_OVERHEAD;
	kept = t->used > own ? t->used - own : 0;
	if (kept < t->startup)
		kept = t->startup;
	room = t->maxmemory > kept ? t->maxmemory - kept : 0;
	kept_text(t, kept, d, sizeof(d));
	if (n->how == TSARC_REDIS_NEED_UNKNOWN) {
		snprintf(text, textsz, "the backup's size in memory not known here; Redis at %s has "
			"%s%s once emptied (maxmemory %s, policy %s, %s)", where, most,
			size_text(room, b, sizeof(b)), size_text(t->maxmemory, c, sizeof(c)), t->policy, d);
		return 0;
	}
	need = n->dataset + n->keys * KEY_OVERHEAD;
	want = need + need / MARGIN_DIV;
	need_text(n, src, sizeof(src));
	if (need <= room) {
		snprintf(text, textsz, "fits%s: the backup needs about %s (%s), Redis at %s has %s%s "
			"once emptied (maxmemory %s, policy %s, %s)%s",
			want <= room ? "" : ", with less than a tenth to spare",
			size_text(need, a, sizeof(a)), src, where, most, size_text(room, b, sizeof(b)),
			size_text(t->maxmemory, c, sizeof(c)), t->policy, d,
			want <= room ? "" : n->at_start ? "; a server that encodes the values less "
			"tightly than the source may not hold it" : "; a server that encodes the values "
			"less tightly than the source may not hold it, and the check after the load "
			"would say so");
		return 0;
	}
	snprintf(text, textsz, "does not fit: the backup needs about %s (%s), Redis at %s has %s%s "
		"once emptied (maxmemory %s, policy %s, %s)",
		size_text(need, a, sizeof(a)), src, where, most, size_text(room, b, sizeof(b)),
		size_text(t->maxmemory, c, sizeof(c)), t->policy, d);
	return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s cannot hold the backup: it needs about "
		"%s in memory (%s), and the target's maxmemory of %s leaves "
		"%s%s once it is emptied (%s%s); with maxmemory-policy %s "
		"%s; nothing was written, the target is as it was: restore into "
		"a Redis whose maxmemory is at least %s (a larger node)", where,
		size_text(need, a, sizeof(a)), src, size_text(t->maxmemory, c, sizeof(c)),
		most, size_text(room, b, sizeof(b)), d, t->limit_only ? "" : " stays", t->policy,
		consequence(t, n),
		size_text(kept + want, e, sizeof(e)));
}
