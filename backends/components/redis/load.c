/*
 * The logical restore: parses the RESP stream of logical.h as it arrives,
 * accepts only its three commands, and sends them to the target pipelined
 * in a bounded window (WINDOW commands or WINDOW_BYTES unsent), reading
 * replies as it goes so neither side buffers without bound. A RESTORE
 * whose absolute expiry has passed is not sent: a key that expired since
 * the backup stays gone. While loading, it adds up what the target should
 * hold (keys per database, digest) for tsarc_redis_loader_verify.
 * With a database mapping (logical.h tsarc_redis_dbmap) the stream's
 * SELECT is rewritten as it is sent, and everything counted is in the
 * target's numbers: what the check compares is what the target holds.
 */
#include "digest.h"
#include "error_save.h"
#include "grow.h"
#include "interrupt.h"
#include "log.h"
#include "logical.h"
#include "payload.h"
#include "readers.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 1000
#define WINDOW_BYTES (8u * 1024u * 1024u)
#define ARGS_MAX 6
/* Entries expiring soon are kept aside so the check can leave out those
 * that expire before it runs (VERIFY_NEAR_MS after the load started). */
#define VERIFY_NEAR_MS (15 * 60 * 1000)
#define VERIFY_MARGIN_MS (60 * 1000)
#define NEAR_MAX (1u << 20)

/* What the target is asked, in the order sent: its reply is matched to
 * it, so a refusal names the key and the count of keys restored is
 * exact. */
#define KEY_SHOWN 60
typedef struct inflight {
	char kind;         /* 'S' SELECT, 'R' RESTORE, 'r' a key's repeat, 'F' FUNCTION */
	int db;
	size_t keylen;
	unsigned char key[KEY_SHOWN];
} inflight;

typedef struct near_entry {
	int64_t expiry;
	int db;
	tsarc_redis_key_sums k;
} near_entry;

struct tsarc_redis_loader {
	tsarc_redis *dst;
	int64_t now, started;
	tsarc_buf in;      /* unparsed stream bytes */
	size_t in_pos;
	int db;            /* the current database (the target's number), -1 before SELECT */
	tsarc_redis_dbmap map;
	tsarc_redis_stats st;
	int payload_version; /* what the stream sends, as the target is asked (0: unknown) */
	int rewrite_to;      /* payloads newer than this are rewritten to it (0: none) */
	tsarc_buf rw, cmd;   /* a rewritten payload, and its command as sent */
	tsarc_redis_digests want;
	int digest_ok;     /* 0: a payload type we cannot name; counts only */
	near_entry *near;
	size_t nnear, near_cap;
	int near_overflow;
	int finished;
	/* Fingerprints (64 bits of SHA-256 of db and key) of the keys seen:
	 * SCAN may return a key twice when the source's table shrinks during
	 * the backup; the second RESTORE REPLACE is harmless but must not be
	 * counted twice. Open addressing, 0 is empty. */
	uint64_t *seen;
	size_t nseen, seen_cap;
	unsigned long long duplicates;
	/* Sent and unanswered (a ring of WINDOW), and what the replies said. */
	inflight *ring;
	size_t ring_head, ring_n;
	atomic_ullong applied;        /* keys the target answered OK */
	atomic_ullong sent;           /* keys sent (RESTOREs of a key's first copy) */
	unsigned long long refused;   /* commands it answered with an error */
	size_t unanswered;            /* sent, replies lost with the connection */
	char first_refusal[600];
	/* From the target's emptying on (tsarc_redis_loader_clear) until
	 * freed: what a signal that ends the process says of the target. */
	tsarc_cleanup on_exit;
	atomic_int stage;             /* 1 emptying, 2 loading */
	unsigned long long total;     /* the backup's keys, 0 unknown */
	char what[200], where[300];
	tsarc_redis_need need;        /* what the backup needs in memory */
	int lazyfree_wait_s;          /* tsarc_redis_clear's wait for lazy frees */
	char memory[1200];            /* what the memory check said */
	tsarc_redis_memory mem;       /* the target before it was emptied */
	unsigned long long evicted;   /* its evicted_keys then */
	int evicted_known;
};

static int seen_insert(tsarc_redis_loader *l, uint64_t fp, int *dup)
{
	size_t i;

	*dup = 0;
	if (!fp)
		fp = 1;
	if ((l->nseen + 1) * 2 > l->seen_cap) {
		size_t cap = l->seen_cap ? l->seen_cap * 2 : 1024, j;
		uint64_t *n = calloc(cap, sizeof(*n));
		if (!n)
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		for (j = 0; j < l->seen_cap; j++)
			if (l->seen[j])
				for (i = l->seen[j] & (cap - 1); ; i = (i + 1) & (cap - 1))
					if (!n[i]) {
						n[i] = l->seen[j];
						break;
					}
		free(l->seen);
		l->seen = n;
		l->seen_cap = cap;
	}
	for (i = fp & (l->seen_cap - 1); l->seen[i]; i = (i + 1) & (l->seen_cap - 1))
		if (l->seen[i] == fp) {
			*dup = 1;
			return 0;
		}
	l->seen[i] = fp;
	l->nseen++;
	return 0;
}

int tsarc_redis_loader_new(tsarc_redis_loader **out, tsarc_redis *dst, int64_t now_ms)
{
	tsarc_redis_loader *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	l->dst = dst;
	l->started = tsarc_redis_now_ms();
	l->now = now_ms ? now_ms : l->started;
	l->db = -1;
	l->digest_ok = 1;
	l->lazyfree_wait_s = TSARC_REDIS_LAZYFREE_WAIT_S;
	if (dst && !(l->ring = calloc(WINDOW, sizeof(*l->ring)))) {
		free(l);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	/* One command at most a payload and its key, with headers. */
	tsarc_buf_init(&l->in, 2 * TSARC_REDIS_BULK_MAX + 4096);
	*out = l;
	return 0;
}

void tsarc_redis_loader_map(tsarc_redis_loader *l, const tsarc_redis_dbmap *map)
{
	if (tsarc_redis_dbmap_moves(map))
		l->map = *map;
}

int tsarc_redis_dbmap_add(tsarc_redis_dbmap *map, int from, int to)
{
	int i;

	if (map->n >= TSARC_REDIS_DBMAP_PAIRS)
		return tsarc_error_set(TSARC_EINVAL, "more than %d Redis database pairs",
			TSARC_REDIS_DBMAP_PAIRS);
	for (i = 0; i < map->n; i++)
		if (map->from[i] == from || map->to[i] == to)
			return tsarc_error_set(TSARC_EUNSUPPORTED, "the backup's database %d is to "
				"go to the target's database %d, and its database %d to %d: two "
				"databases of the backup would land in one, or one in two; nothing was "
				"written", map->from[i], map->to[i], from, to);
	map->from[map->n] = from;
	map->to[map->n] = to;
	map->n++;
	return 0;
}

int tsarc_redis_dbmap_moves(const tsarc_redis_dbmap *map)
{
	int i;

	for (i = 0; map && i < map->n; i++)
		if (map->from[i] != map->to[i])
			return 1;
	return 0;
}

int tsarc_redis_dbmap_db(const tsarc_redis_dbmap *map, int db, int *out)
{
	int i;

	*out = db;
	if (!tsarc_redis_dbmap_moves(map))
		return 0;
	for (i = 0; i < map->n; i++)
		if (db == map->from[i]) {
			*out = map->to[i];
			return 0;
		}
	for (i = 0; i < map->n; i++)
		if (db == map->to[i])
			return tsarc_error_set(TSARC_EUNSUPPORTED, "the backup holds keys in database "
				"%d and in database %d, and its database %d (the one a URL of the source "
				"named) is to be restored into database %d (the one the target's names): "
				"both would land in database %d; nothing was written (a target whose URL "
				"names database %d takes this backup as it is)", map->to[i], map->from[i],
				map->from[i], map->to[i], map->to[i], map->from[i]);
	return 0;
}

void tsarc_redis_dbmap_text(const tsarc_redis_dbmap *map, char *out, size_t outsz)
{
	size_t o = 0;
	int i;

	out[0] = '\0';
	for (i = 0; map && i < map->n && o < outsz; i++)
		if (map->from[i] != map->to[i])
			o += (size_t)snprintf(out + o, outsz - o, "%sdatabase %d -> %d", o ? ", " : "",
				map->from[i], map->to[i]);
}

/* " (the backup's database N)" after the target's database `db` when
 * the mapping put it there. */
static const char *backup_db(const tsarc_redis_loader *l, int db, char *buf, size_t bufsz)
{
	int i;

	for (i = 0; i < l->map.n; i++)
		if (db == l->map.to[i] && l->map.from[i] != db) {
			snprintf(buf, bufsz, " (the backup's database %d)", l->map.from[i]);
			return buf;
		}
	return "";
}

void tsarc_redis_loader_free(tsarc_redis_loader *l)
{
	if (!l)
		return;
	/* First: the signal thread may be reading the loader. */
	tsarc_cleanup_remove(&l->on_exit);
	tsarc_buf_dispose(&l->in);
	tsarc_buf_dispose(&l->rw);
	tsarc_buf_dispose(&l->cmd);
	tsarc_redis_stats_free(&l->st);
	tsarc_redis_digests_free(&l->want);
	free(l->near);
	free(l->seen);
	free(l->ring);
	free(l);
}

static int refused_stream(const char *why)
{
	return tsarc_error_set(TSARC_ECORRUPT, "not a logical Redis stream: %s", why);
}

void tsarc_redis_key_shown(char *out, size_t outsz, const void *key, size_t keylen)
{
	const unsigned char *k = key;
	size_t i, n = keylen < KEY_SHOWN ? keylen : KEY_SHOWN, o = 0;

	for (i = 0; i < n && o + 5 < outsz; i++) {
		unsigned char c = k[i];
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
	}
	snprintf(out + o, outsz - o, "%s", keylen > n ? "..." : "");
}

static void key_text(char *out, size_t outsz, const inflight *e)
{
	tsarc_redis_key_shown(out, outsz, e->key, e->keylen);
}

static void note_refusal(tsarc_redis_loader *l, const inflight *e, const char *why)
{
	char key[4 * KEY_SHOWN + 8];

	if (l->refused++)
		return;
	if (e->kind == 'S') {
		snprintf(l->first_refusal, sizeof(l->first_refusal), "SELECT %d", e->db);
	} else if (e->kind == 'F') {
		snprintf(l->first_refusal, sizeof(l->first_refusal), "FUNCTION RESTORE");
	} else {
		key_text(key, sizeof(key), e);
		snprintf(l->first_refusal, sizeof(l->first_refusal), "RESTORE of key '%s' in "
			"database %d", key, e->db);
	}
	snprintf(l->first_refusal + strlen(l->first_refusal), sizeof(l->first_refusal) -
		strlen(l->first_refusal), ": %.200s", why);
}

/* Reads replies until at most `keep` are outstanding. An error reply
 * stops the restore, but only once every command already sent has been
 * answered: the server runs them whatever the first said, so the count
 * of keys restored (the target's state after a failure) is exact. */
static int drain(tsarc_redis_loader *l, size_t keep)
{
	int rc = 0;

	if (!l->dst)
		return 0;
	while (l->ring_n > keep) {
		tsarc_redis_reply *rep = NULL;
		const inflight *e = &l->ring[l->ring_head];
		if ((rc = tsarc_redis_read(l->dst, &rep))) {
			l->unanswered = l->ring_n;
			break;
		}
		if (rep->type == '-') {
			note_refusal(l, e, rep->str);
			keep = 0;
		} else if (e->kind == 'R') {
			l->applied++;
		}
		tsarc_redis_reply_free(rep);
		l->ring_head = (l->ring_head + 1) % WINDOW;
		l->ring_n--;
	}
	if (!l->refused)
		return rc;
	if (rc) {
		tsarc_error_prefix("Redis at %s refused %s, then", tsarc_redis_where(l->dst),
			l->first_refusal);
		return rc;
	}
	return tsarc_error_set(TSARC_EIO, "Redis at %s refused %s (%llu command%s refused in all)",
		tsarc_redis_where(l->dst), l->first_refusal, l->refused, l->refused == 1 ? "" : "s");
}

/* Queues one whole command; `kind`, `key` and `keylen` say what it is. */
static int send_cmd(tsarc_redis_loader *l, const unsigned char *raw, size_t len, char kind,
	const unsigned char *key, size_t keylen)
{
	inflight *e;
	int rc;

	if (!l->dst)
		return 0; /* checking only */
	if (l->ring_n == WINDOW && (rc = drain(l, WINDOW - 1)))
		return rc;
	e = &l->ring[(l->ring_head + l->ring_n) % WINDOW];
	e->kind = kind;
	e->db = l->db;
	e->keylen = keylen;
	if (keylen)
		memcpy(e->key, key, keylen < KEY_SHOWN ? keylen : KEY_SHOWN);
	if ((rc = tsarc_redis_append_raw(l->dst, raw, len, 1)))
		return rc;
	l->ring_n++;
	if (tsarc_redis_pending(l->dst) >= WINDOW || tsarc_redis_queued(l->dst) >= WINDOW_BYTES)
		rc = drain(l, WINDOW / 2);
	return rc;
}

void tsarc_redis_loader_partial(tsarc_redis_loader *l, unsigned long long total)
{
	tsarc_saved_error failure;
	char of[64] = "";

	if (!l || !l->dst)
		return;
	/* A failure that is not the target's (the repository, the stream):
	 * what was sent is answered first, so the count is exact. */
	if (l->ring_n && !l->unanswered) {
		tsarc_error_save(&failure);
		drain(l, 0);
		tsarc_error_restore(&failure);
	}
	if (total)
		snprintf(of, sizeof(of), " of the backup's %llu", total);
	if (l->unanswered)
		tsarc_error_prefix("the target was emptied, then %llu%s keys were restored (and up "
			"to %zu more: commands sent whose replies were lost with the connection) "
			"before the restore failed; it holds part of the backup",
			(unsigned long long)atomic_load(&l->applied), of, l->unanswered);
	else
		tsarc_error_prefix("the target was emptied, then %llu%s keys were restored before "
			"the restore failed; it holds part of the backup",
			(unsigned long long)atomic_load(&l->applied), of);
}

/* The cleanup a signal that ends the process runs (on its own thread,
 * the load still running): the target's state, said once more as the
 * last word, since the step cannot report it. */
static int say_target_state(void *arg)
{
	tsarc_redis_loader *l = arg;
	unsigned long long applied = atomic_load(&l->applied), sent = atomic_load(&l->sent);
	char of[64] = "", more[96] = "";

	if (l->total)
		snprintf(of, sizeof(of), " of the backup's %llu", l->total);
	if (sent > applied)
		snprintf(more, sizeof(more), " (and up to %llu more, sent and not yet answered)",
			sent - applied);
	if (atomic_load(&l->stage) == 1)
		tsarc__log(TSARC_LOG_ERROR, "redis", "load_interrupted", "%s: Redis at %s was being "
			"emptied for the restore when tsarc was ended: it holds part of its own keys "
			"or none, and nothing of the backup", l->what, l->where);
	else
		tsarc__log(TSARC_LOG_ERROR, "redis", "load_interrupted", "%s: Redis at %s was "
			"emptied, then %llu%s keys were restored%s when tsarc was ended; it holds part "
			"of the backup", l->what, l->where, applied, of, more);
	return 0;
}

int tsarc__redis_probe_refused(tsarc_redis *dst, const char *cmd, const tsarc_redis_reply *rep,
	const char *use)
{
	const char *name = NULL;
	size_t n = rep->type == '-' ? tsarc_redis_noperm_command(rep->str, &name) : 0;

	if (rep->type != '-' || !(n || !strncmp(rep->str, "ERR unknown command", 19)))
		return 0;
	if (n)
		return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s refuses %s to this user (%s): the "
			"restore %s, and would empty the target and then fail; nothing was written. "
			"Grant the restore's user +%.*s%s", tsarc_redis_where(dst), cmd, rep->str, use,
			(int)n, name, strcmp(cmd, "RESTORE") ? "" :
			" (a managed Redis's -@dangerous takes it away)");
	return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s refuses %s to this user (%s): the "
		"restore %s, and would empty the target and then fail; nothing was written. The "
		"server has renamed or disabled it (rename-command): a renamed command cannot be "
		"used", tsarc_redis_where(dst), cmd, rep->str, use);
}

/* RESTORE of a payload of RDB version `version` (tsarc_redis_payload_probe)
 * as a key that expired long ago (ABSTTL 1, no REPLACE): a server that
 * takes the version answers OK and creates nothing, one that does not
 * answers PAYLOAD_REFUSED; a key that exists is not touched (BUSYKEY).
 * Unknown (0): a payload no Redis takes, which asks only whether the user
 * may RESTORE. The key is the one chosen for this target
 * (tsarc_redis_probe_key_choose), else TSARC_REDIS_PROBE_KEY. */
#define PAYLOAD_REFUSED "ERR DUMP payload version or checksum are wrong"
#define NOT_A_PAYLOAD "tsarc: not a payload"
static int restore_probe(tsarc_redis *dst, int version, tsarc_redis_reply **rep)
{
	unsigned char payload[TSARC_REDIS_PROBE_PAYLOAD];
	size_t keylen;
	const unsigned char *key = tsarc_redis_probe_key(dst, &keylen);
	const char *argv[] = {"RESTORE", (const char *)key, "1", (const char *)payload, "ABSTTL"};
	size_t lens[] = {7, keylen, 1, sizeof(payload), 6};
	int rc;

	if (!key) {
		argv[1] = TSARC_REDIS_PROBE_KEY;
		lens[1] = strlen(TSARC_REDIS_PROBE_KEY);
	}
	if (version <= 0) {
		argv[2] = "0";
		argv[3] = NOT_A_PAYLOAD;
		lens[3] = strlen(NOT_A_PAYLOAD);
	} else {
		tsarc_redis_payload_probe(payload, version);
	}
	if ((rc = tsarc_redis_append(dst, version <= 0 ? 4 : 5, argv, lens)))
		return rc;
	return tsarc_redis_read(dst, rep);
}

/* Why a probe's key cannot ask a payload's version (a reply to
 * restore_probe): it exists there (BUSYKEY), or the user's key patterns
 * leave it out (a NOPERM that names no command: the command is allowed,
 * asked first); NULL for any other reply. */
static const char *probe_key_unusable(const tsarc_redis_reply *rep)
{
	const char *name;

	if (rep->type != '-')
		return NULL;
	if (!strncmp(rep->str, "BUSYKEY", 7))
		return "exists there";
	if (!strncmp(rep->str, "NOPERM", 6) && !tsarc_redis_noperm_command(rep->str, &name))
		return "is left out of this user's key patterns";
	return NULL;
}

/* The key restore_probe asks `dst` with, as a message shows it. */
static void probe_key_shown(tsarc_redis *dst, char *out, size_t outsz)
{
	size_t len;
	const unsigned char *key = tsarc_redis_probe_key(dst, &len);

	if (key)
		tsarc_redis_key_shown(out, outsz, key, len);
	else
		snprintf(out, outsz, "%s", TSARC_REDIS_PROBE_KEY);
}

int tsarc_redis_payload_taken(tsarc_redis *dst, int version, int *taken)
{
	tsarc_redis_reply *rep = NULL;
	char shown[4 * KEY_SHOWN + 8];
	const char *why;
	int rc;

	*taken = 0;
	if ((rc = restore_probe(dst, version, &rep)))
		return rc;
	rc = tsarc__redis_probe_refused(dst, "RESTORE", rep, "writes the backup's keys with it");
	if (!rc && version > 0 && (why = probe_key_unusable(rep))) {
		probe_key_shown(dst, shown, sizeof(shown));
		rc = tsarc_error_set(TSARC_EACCESS, "Redis at %s was not asked whether it takes DUMP "
			"payloads of RDB version %d: the key its probe asks with, '%s', %s (%s); "
			"nothing was written", tsarc_redis_where(dst), version, shown, why, rep->str);
	}
	*taken = !rc && !(rep->type == '-' && !strcmp(rep->str, PAYLOAD_REFUSED));
	tsarc_redis_reply_free(rep);
	return rc;
}

/* One name for tsarc_redis_probe_key_choose, asked with a payload no
 * Redis takes (nothing changes): *why NULL where it can ask, else
 * probe_key_unusable's word; TSARC_EUNSAFE where the user may not RESTORE. */
static int probe_key_try(tsarc_redis *dst, const void *key, size_t len, const char **why)
{
	tsarc_redis_reply *rep = NULL;
	int rc;

	*why = NULL;
	if ((rc = tsarc_redis_probe_key_set(dst, key, len)) ||
		(rc = restore_probe(dst, 0, &rep)))
		return rc;
	if (!(rc = tsarc__redis_probe_refused(dst, "RESTORE", rep, "writes the backup's keys "
		"with it")))
		*why = probe_key_unusable(rep);
	tsarc_redis_reply_free(rep);
	return rc;
}

int tsarc_redis_probe_key_choose(tsarc_redis *dst, const tsarc_redis_probe_names *names,
	int version)
{
	static const char PATTERNS[] = "is left out of this user's key patterns";
	unsigned char name[TSARC_REDIS_PROBE_NAME_MAX + sizeof(TSARC_REDIS_PROBE_SUFFIX)];
	char shown[4 * KEY_SHOWN + 8], tried[200];
	const char *why, *own_why;
	size_t len;
	int rc, i, n = names ? names->n : 0, suffixed;

	if (version <= 0)
		return 0;
	if ((rc = probe_key_try(dst, TSARC_REDIS_PROBE_KEY, strlen(TSARC_REDIS_PROBE_KEY),
		&own_why)) || !own_why)
		return rc ? rc : tsarc_redis_probe_key_set(dst, NULL, 0);
	for (suffixed = 0; suffixed < 2; suffixed++)
		for (i = 0; i < n; i++) {
			len = names->len[i];
			memcpy(name, names->name[i], len);
			if (suffixed) {
				memcpy(name + len, TSARC_REDIS_PROBE_SUFFIX,
					strlen(TSARC_REDIS_PROBE_SUFFIX));
				len += strlen(TSARC_REDIS_PROBE_SUFFIX);
			}
			if ((rc = probe_key_try(dst, name, len, &why)) || !why)
				return rc;
			if (suffixed || strcmp(why, PATTERNS))
				continue;
			tsarc_redis_key_shown(shown, sizeof(shown), name, len);
			tsarc_redis_probe_key_set(dst, NULL, 0);
			return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s refuses this user the "
				"backup's key '%s' (its key patterns leave it out): the restore writes it, "
				"and would empty the target and then fail; nothing was written. Give the "
				"user key patterns that take every key of the backup",
				tsarc_redis_where(dst), shown);
		}
	if (n)
		snprintf(tried, sizeof(tried), "the %d of the backup's key names tried exist there, "
			"as they are and with \"%s\" after them (or its key patterns leave those out)",
			n, TSARC_REDIS_PROBE_SUFFIX);
	else
		snprintf(tried, sizeof(tried), "no key name of the backup was known to ask with "
			"instead");
	tsarc_redis_probe_key_set(dst, NULL, 0);
	return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s cannot be asked whether it takes the "
		"backup's DUMP payloads (RDB version %d) before it is emptied: the question is a "
		"RESTORE of a key that has expired, which writes nothing, under a name this user "
		"may write that does not exist there; %s %s, and %s. Found at the first RESTORE, "
		"the target would be emptied and then fail; nothing was written. Grant the user "
		"the key %s (~%s)", tsarc_redis_where(dst), version, TSARC_REDIS_PROBE_KEY, own_why,
		tried, TSARC_REDIS_PROBE_KEY, TSARC_REDIS_PROBE_KEY);
}

/* The asks begin at 80 at most (Valkey 9's, the highest version known): a
 * snapshot's record of the version is untrusted, and up to 65535 would be
 * one round trip each. */
#define PAYLOAD_VERSION_HIGHEST_KNOWN 80
int tsarc_redis_payload_highest(tsarc_redis *dst, int below, int *highest, char *most,
	size_t size)
{
	int v, rc, taken = 0;

	*highest = 0;
	snprintf(most, size, "of no RDB version");
	v = below - 1 < PAYLOAD_VERSION_HIGHEST_KNOWN ? below - 1 : PAYLOAD_VERSION_HIGHEST_KNOWN;
	for (; v > 0 && !taken; v--) {
		if ((rc = tsarc_redis_payload_taken(dst, v, &taken)))
			return rc;
		if (taken) {
			*highest = v;
			snprintf(most, size, "of RDB version %d at most", v);
		}
	}
	return 0;
}

int tsarc_redis_payload_route(tsarc_redis *dst, int version, int floor, const char *floor_what,
	int *rewrite_to)
{
	char most[64];
	int rc, taken, highest;

	*rewrite_to = 0;
	if (version <= 0)
		return 0;
	if ((rc = tsarc_redis_payload_taken(dst, version, &taken)) || taken ||
		(rc = tsarc_redis_payload_highest(dst, version, &highest, most, sizeof(most))))
		return rc;
	if (highest >= TSARC_REDIS_REWRITE_LOWEST && highest >= floor) {
		*rewrite_to = highest;
		return 0;
	}
	if (highest >= TSARC_REDIS_REWRITE_LOWEST)
		return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s takes DUMP payloads %s, and the "
			"backup's are version %d %s. Its payloads are rewritten for an older server "
			"where their types exist there, and %s cannot be below version %d: the restore "
			"would empty the target and then fail; nothing was written. Restore into a "
			"server that takes version %d: %s", tsarc_redis_where(dst), most, version,
			TSARC_REDIS_PAYLOAD_WRITERS, floor_what ? floor_what : floor == 10 ? "its function "
			"library (FUNCTION, which Redis 6 does not have) or a damaged key" : "one of its "
			"keys (of a type that version does not have: a hash with field expiries, a "
			"module's type)", floor,
			floor, tsarc_redis_version_readers(floor));
	return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s takes DUMP payloads %s, and the "
		"backup's are version %d %s; tsarc rewrites them for a server that takes version "
		"%d or later (Redis 6 and newer, every Valkey), not older: the restore would empty "
		"the target and then fail; nothing was written. Restore into a server that takes "
		"version %d or later", tsarc_redis_where(dst), most, version,
		TSARC_REDIS_PAYLOAD_WRITERS, TSARC_REDIS_REWRITE_LOWEST, TSARC_REDIS_REWRITE_LOWEST);
}

/* The target refused payloads of `version`, which the caller did not
 * route (tsarc_redis_payload_route): the highest it takes, asked
 * downwards the same way, in the error. Found at the first RESTORE, the
 * target would be left empty (a Redis 8's payloads, 12, into a Redis 7.0,
 * which takes 10 at most). */
static int version_refused(tsarc_redis *dst, int version)
{
	char most[64];
	int rc, highest;

	if ((rc = tsarc_redis_payload_highest(dst, version, &highest, most, sizeof(most))))
		return rc;
	return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s takes DUMP payloads %s, and the "
		"backup's are version %d %s: the restore would empty the target and then fail; "
		"nothing was written. Restore into a server that takes version %d: %s",
		tsarc_redis_where(dst), most, version, TSARC_REDIS_PAYLOAD_WRITERS, version,
		tsarc_redis_version_readers(version));
}

/* Whether the target's user may run what the restore will send, and the
 * target take its payloads (RDB `version`, 0 unknown), asked before
 * anything of the target is removed: a managed Redis's user is often
 * "+@all -@dangerous", and RESTORE is @dangerous (FLUSHDB too, so the
 * emptying goes on with SCAN and DEL); found at the first key, the target
 * would be left empty, or (FUNCTION RESTORE refused) with the backup's
 * keys and not its libraries. Each probe changes nothing (restore_probe). */
static int writes_allowed(tsarc_redis *dst, int sends_functions, int version)
{
	tsarc_redis_reply *rep = NULL;
	int rc, taken;

	if ((rc = tsarc_redis_payload_taken(dst, version, &taken)))
		return rc;
	if (version > 0 && !taken && (rc = version_refused(dst, version)))
		return rc;
	if (!sends_functions)
		return 0;
	if ((rc = tsarc_redis_command(dst, &rep, "FUNCTION", "RESTORE", "tsarc: not a payload",
		NULL)))
		return rc;
	rc = tsarc__redis_probe_refused(dst, "FUNCTION RESTORE", rep, "writes the backup's "
		"function libraries with it");
	tsarc_redis_reply_free(rep);
	return rc;
}

int tsarc_redis_load_allowed(tsarc_redis *dst, int sends_functions, int payload_version)
{
	int rc = writes_allowed(dst, sends_functions, payload_version);

	return rc ? rc : tsarc_redis_digest_allowed(dst);
}

void tsarc_redis_loader_need(tsarc_redis_loader *l, const tsarc_redis_need *need)
{
	l->need = *need;
}

void tsarc_redis_loader_payload_version(tsarc_redis_loader *l, int version)
{
	l->payload_version = version;
}

void tsarc_redis_loader_rewrite(tsarc_redis_loader *l, int version)
{
	l->rewrite_to = version;
}

void tsarc_redis_loader_lazyfree_wait(tsarc_redis_loader *l, int seconds)
{
	l->lazyfree_wait_s = seconds;
}

const char *tsarc_redis_loader_memory(const tsarc_redis_loader *l)
{
	return l->memory;
}

/* Whether the target, once emptied, holds the backup (memory.c), asked
 * before anything is removed: found while loading, the target would be
 * emptied and then refused with OOM, or thinned by evictions. */
static int room_for(tsarc_redis_loader *l)
{
	int rc;

	if ((rc = tsarc_redis_memory_read(l->dst, &l->mem)) ||
		(rc = tsarc_redis_evicted(l->dst, &l->evicted, &l->evicted_known)))
		return rc;
	return tsarc_redis_room(tsarc_redis_where(l->dst), &l->mem, &l->need, l->memory,
		sizeof(l->memory));
}

/* Keys the target evicted since it was asked before the emptying: every
 * one a key of the backup (or one written meanwhile by someone else), and
 * the count that follows would say only that one differs. An error that
 * says so, or 0 (none, or INFO stats refused to this user: a managed
 * Redis may, and the load goes on, its key counts still compared; the
 * report says they were not counted, NOT_COUNTED). */
#define NOT_COUNTED "; evictions during the load not counted: the target does not tell " \
	"them to this user (INFO stats)"
static int evicted_during_load(tsarc_redis_loader *l)
{
	unsigned long long now = 0;
	int known = 0, rc;

	if (!l->evicted_known)
		return 0;
	if ((rc = tsarc_redis_evicted(l->dst, &now, &known)))
		return rc;
	if (!known || now <= l->evicted)
		return 0;
	return tsarc_error_set(TSARC_ECORRUPT, "Redis at %s evicted %llu keys during the "
		"restore (maxmemory %.1f MiB, maxmemory-policy %s): the target does not hold the "
		"whole backup. It took more memory than the check before the load found "
		"room for (%s): values held less tightly than at the source, or writes by others "
		"during the load; restore into a Redis with a larger maxmemory",
		tsarc_redis_where(l->dst), now - l->evicted, (double)l->mem.maxmemory / 1048576.0,
		l->mem.policy, l->memory);
}

int tsarc_redis_loader_clear(tsarc_redis_loader *l, const char *what, unsigned long long total,
	tsarc_redis_functions functions, int sends_functions, tsarc_redis_stats *cleared)
{
	int rc;

	if (!l->dst)
		return tsarc_error_set(TSARC_EINVAL, "a loader without a target empties none");
	/* Signalled before the first write: the target stays as it is. */
	if (tsarc_interrupted()) {
		rc = tsarc_interrupt_error();
		tsarc_error_prefix("before Redis at %s was emptied; nothing was written",
			tsarc_redis_where(l->dst));
		return rc;
	}
	if ((rc = tsarc_redis_load_allowed(l->dst, sends_functions, l->payload_version)) ||
		(rc = room_for(l)))
		return rc;
	snprintf(l->what, sizeof(l->what), "%s", what ? what : "Redis restore");
	snprintf(l->where, sizeof(l->where), "%s", tsarc_redis_where(l->dst));
	l->total = total;
	atomic_store(&l->stage, 1);
	tsarc_cleanup_add(&l->on_exit, say_target_state, l, NULL);
	if ((rc = tsarc_redis_clear(l->dst, functions, l->lazyfree_wait_s, cleared)))
		return rc;
	atomic_store(&l->stage, 2);
	return 0;
}

static int arg_is(const unsigned char *a, size_t len, const char *s)
{
	size_t i;

	if (len != strlen(s))
		return 0;
	for (i = 0; i < len; i++)
		if ((a[i] & ~0x20) != s[i])
			return 0;
	return 1;
}

int tsarc_redis_decimal(const unsigned char *a, size_t len, long long max, long long *v)
{
	size_t i;

	*v = 0;
	if (!len || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (a[i] < '0' || a[i] > '9' || *v > (LLONG_MAX - (a[i] - '0')) / 10)
			return -1;
		*v = *v * 10 + (a[i] - '0');
	}
	return *v > max ? -1 : 0;
}

static int note_near(tsarc_redis_loader *l, int64_t expiry, const tsarc_redis_key_sums *k)
{
	near_entry *n;

	if (l->near_overflow)
		return 0;
	if (l->nnear == NEAR_MAX) {
		l->near_overflow = 1;
		return 0;
	}
	if (TSARC_RESERVE(l->near, l->nnear, l->near_cap, 64))
		return TSARC_ENOMEM;
	n = &l->near[l->nnear++];
	n->expiry = expiry;
	n->db = l->db;
	n->k = *k;
	return 0;
}

/* Whose payload it is, for a message: "key 'k' of database 0", or the
 * function libraries' (key NULL). */
static void payload_where(const tsarc_redis_loader *l, const unsigned char *key, size_t keylen,
	char *out, size_t outsz)
{
	char shown[4 * KEY_SHOWN + 8];

	if (!key) {
		snprintf(out, outsz, "the function libraries");
		return;
	}
	tsarc_redis_key_shown(shown, sizeof(shown), key, keylen);
	snprintf(out, outsz, "key '%s' of database %d", shown, l->db);
}

/* What a payload (argv[i] of a RESTORE of `key`, or of FUNCTION RESTORE
 * where key is NULL) says of the versions it can be rewritten to
 * (tsarc_redis_note_payload), and where the loader rewrites payloads
 * (tsarc_redis_loader_rewrite) and this one is newer than the target's,
 * the payload rewritten and the command re-encoded around it in l->cmd:
 * argv[i], lens[i], *raw and *rawlen then point to them. One that cannot
 * be rewritten is TSARC_EUNSUPPORTED naming the key, found by the check
 * pass before the target is touched. */
static int payload_for_target(tsarc_redis_loader *l, int argc, const unsigned char *argv[],
	size_t lens[], int i, const unsigned char *key, size_t keylen,
	const unsigned char **raw, size_t *rawlen)
{
	char where[4 * KEY_SHOWN + 80];
	int floor = l->st.payload_floor, rc, k;

	tsarc_redis_note_payload(&l->st, argv[i], lens[i]);
	if (l->st.payload_floor > floor && l->st.payload_floor > TSARC_REDIS_REWRITE_LOWEST) {
		const char *why;
		tsarc_redis_payload_floor(argv[i], lens[i], &why);
		payload_where(l, key, keylen, where, sizeof(where));
		snprintf(l->st.floor_what, sizeof(l->st.floor_what), "%s: %s", where, why);
	}
	if (!l->rewrite_to || tsarc_redis_payload_version(argv[i], lens[i]) <= l->rewrite_to)
		return 0;
	if ((rc = tsarc_redis_payload_rewrite(argv[i], lens[i], l->rewrite_to, &l->rw))) {
		payload_where(l, key, keylen, where, sizeof(where));
		tsarc_error_prefix("%s", where);
		return rc;
	}
	argv[i] = l->rw.ptr;
	lens[i] = l->rw.size;
	tsarc_buf_clear(&l->cmd);
	tsarc_buf_printf(&l->cmd, "*%d\r\n", argc);
	for (k = 0; k < argc; k++) {
		tsarc_buf_printf(&l->cmd, "$%zu\r\n", lens[k]);
		tsarc_buf_append(&l->cmd, argv[k], lens[k]);
		tsarc_buf_append(&l->cmd, "\r\n", 2);
	}
	if ((rc = tsarc_buf_status(&l->cmd)))
		return rc;
	*raw = l->cmd.ptr;
	*rawlen = l->cmd.size;
	l->st.rewritten++;
	l->st.rewritten_to = l->rewrite_to;
	return 0;
}

/* A key of the stream among the names the target's probes may ask with
 * (tsarc_redis_probe_names): the first few that fit. */
static void probe_name_note(tsarc_redis_probe_names *p, const unsigned char *key, size_t len)
{
	if (p->n == TSARC_REDIS_PROBE_NAMES || len > TSARC_REDIS_PROBE_NAME_MAX)
		return;
	memcpy(p->name[p->n], key, len);
	p->len[p->n++] = len;
}

/* One whole command: argv[i] of lens[i] bytes, `raw` its encoding. */
static int run_cmd(tsarc_redis_loader *l, int argc, const unsigned char *argv[],
	size_t lens[], const unsigned char *raw, size_t rawlen)
{
	long long v;
	int rc;

	if (argc == 2 && arg_is(argv[0], lens[0], "SELECT")) {
		char sel[64];
		int db, n;
		if (tsarc_redis_decimal(argv[1], lens[1], TSARC_REDIS_DB_MAX - 1, &v))
			return refused_stream("SELECT of a database that is not a number");
		if ((rc = tsarc_redis_dbmap_db(&l->map, (int)v, &db)))
			return rc;
		l->db = db;
		if ((rc = tsarc_redis_digests_db(&l->want, l->db)))
			return rc;
		if (db == v)
			return send_cmd(l, raw, rawlen, 'S', NULL, 0);
		/* The target's number in place of the stream's. */
		n = snprintf(sel, sizeof(sel), "*2\r\n$6\r\nSELECT\r\n$%d\r\n%d\r\n",
			snprintf(NULL, 0, "%d", db), db);
		return send_cmd(l, (const unsigned char *)sel, (size_t)n, 'S', NULL, 0);
	}
	if (argc == 6 && arg_is(argv[0], lens[0], "RESTORE") && arg_is(argv[4], lens[4], "REPLACE") &&
		arg_is(argv[5], lens[5], "ABSTTL")) {
		const char *type;
		unsigned char h[32];
		tsarc_redis_key_sums k;
		uint64_t fp = 0;
		int dup, i;
		if (l->db < 0)
			return refused_stream("RESTORE before SELECT");
		if (tsarc_redis_decimal(argv[2], lens[2], INT64_MAX, &v))
			return refused_stream("RESTORE with an expiry that is not a number");
		if (v > 0 && v <= l->now) {
			l->st.expired++;
			return 0;
		}
		if (!lens[3])
			return refused_stream("RESTORE of an empty payload");
		if ((rc = payload_for_target(l, argc, argv, lens, 3, argv[1], lens[1], &raw,
			&rawlen)))
			return rc;
		tsarc_redis_key_hash(h, l->db, argv[1], lens[1], "", -1, "", 0);
		for (i = 0; i < 8; i++)
			fp = fp << 8 | h[i];
		if ((rc = seen_insert(l, fp, &dup)))
			return rc;
		if (dup) {
			/* Which copy the target keeps is the last; the sum has the first. */
			l->duplicates++;
			l->digest_ok = 0;
			return send_cmd(l, raw, rawlen, 'r', argv[1], lens[1]);
		}
		if (!(type = tsarc_redis_payload_type(argv[3][0])))
			l->digest_ok = 0;
		tsarc_redis_key_sums_of(&k, l->db, argv[1], lens[1], type ? type : "?", v ? v : -1,
			argv[3], lens[3]);
		tsarc_redis_digest_add(&l->want, l->db, &k);
		if (v && v < l->started + VERIFY_NEAR_MS && (rc = note_near(l, v, &k)))
			return rc;
		l->st.keys++;
		probe_name_note(&l->st.probe_names, argv[1], lens[1]);
		l->st.bytes += lens[3];
		l->st.key_bytes += lens[1];
		if (l->dst)
			l->sent++;
		return send_cmd(l, raw, rawlen, 'R', argv[1], lens[1]);
	}
	if (argc == 4 && arg_is(argv[0], lens[0], "FUNCTION") &&
		arg_is(argv[1], lens[1], "RESTORE") && arg_is(argv[3], lens[3], "REPLACE")) {
		l->st.functions = 1;
		if ((rc = payload_for_target(l, argc, argv, lens, 2, NULL, 0, &raw, &rawlen)))
			return rc;
		return send_cmd(l, raw, rawlen, 'F', NULL, 0);
	}
	return refused_stream("a command other than SELECT, RESTORE ... REPLACE ABSTTL or "
		"FUNCTION RESTORE");
}

/* Parses a header line "<c><number>\r\n" at p (n bytes available):
 * 0 and *used when whole, 1 when more bytes are needed. */
static int header(const unsigned char *p, size_t n, unsigned char c, long long max,
	long long *v, size_t *used)
{
	size_t i;

	if (!n)
		return 1;
	if (p[0] != c)
		return -1;
	for (i = 1; i < n && p[i] != '\r'; i++)
		if (i > 20)
			return -1;
	if (i + 1 >= n)
		return i > 21 ? -1 : 1;
	if (p[i + 1] != '\n' || tsarc_redis_decimal(p + 1, i - 1, max, v))
		return -1;
	*used = i + 2;
	return 0;
}

/* Runs every whole command in the buffer. */
static int parse(tsarc_redis_loader *l)
{
	for (;;) {
		const unsigned char *base = l->in.ptr + l->in_pos, *argv[ARGS_MAX];
		size_t avail = l->in.size - l->in_pos, pos = 0, used, lens[ARGS_MAX];
		long long argc, len;
		int i, h, rc;

		if ((h = header(base, avail, '*', ARGS_MAX, &argc, &used)) > 0)
			return 0;
		if (h < 0 || argc < 1)
			return refused_stream("a command is not a RESP array of at most 6 strings");
		pos = used;
		for (i = 0; i < argc; i++) {
			if ((h = header(base + pos, avail - pos, '$', (long long)TSARC_REDIS_BULK_MAX,
				     &len, &used)) > 0)
				return 0;
			if (h < 0)
				return refused_stream("an argument is not a RESP bulk string");
			pos += used;
			if (avail - pos < (size_t)len + 2)
				return 0;
			if (base[pos + len] != '\r' || base[pos + len + 1] != '\n')
				return refused_stream("a bulk string does not end with CRLF");
			argv[i] = base + pos;
			lens[i] = (size_t)len;
			pos += (size_t)len + 2;
		}
		if ((rc = run_cmd(l, (int)argc, argv, lens, base, pos)))
			return rc;
		l->in_pos += pos;
	}
}

int tsarc_redis_loader_feed(tsarc_redis_loader *l, const void *data, size_t len)
{
	int rc;

	/* A signal stops the load here (the restore stops between steps; this
	 * one runs in our own process, with no child to stop): the caller
	 * reports what the target then holds (tsarc_redis_loader_partial). */
	if (tsarc_interrupted())
		return tsarc_interrupt_error();
	if (l->in_pos && l->in_pos == l->in.size) {
		tsarc_buf_clear(&l->in);
		l->in_pos = 0;
	} else if (l->in_pos > (1u << 20)) {
		memmove(l->in.ptr, l->in.ptr + l->in_pos, l->in.size - l->in_pos);
		l->in.size -= l->in_pos;
		l->in_pos = 0;
	}
	if ((rc = tsarc_buf_append(&l->in, data, len)))
		return rc == TSARC_ETOOLARGE ? refused_stream("a command larger than 2 GiB") : rc;
	return parse(l);
}

int tsarc_redis_loader_finish(tsarc_redis_loader *l, tsarc_redis_stats *st)
{
	int rc;

	if (l->in.size > l->in_pos)
		return refused_stream("it ends inside a command");
	if ((rc = drain(l, 0)))
		return rc;
	l->finished = 1;
	if (st) {
		int db;
		*st = l->st;
		st->db_keys = NULL;
		st->ndb = 0;
		for (db = 0; db < l->want.ndb; db++)
			if ((rc = tsarc_redis_stats_add_db(st, db, l->want.keys[db])))
				return rc;
	}
	return 0;
}

int tsarc_redis_loader_verify(tsarc_redis_loader *l, char *note, size_t notesz)
{
	int64_t cutoff = tsarc_redis_now_ms() + VERIFY_MARGIN_MS;
	tsarc_redis_digests want, got;
	int rc, db, digest = l->digest_ok && !l->near_overflow &&
		cutoff < l->started + VERIFY_NEAR_MS;
	const char *why = !l->digest_ok ? (l->duplicates ? "a key twice in the stream" :
		"a payload type it cannot name") : "many keys expire during the check";
	const char *loose = NULL; /* why expiries are compared loosely */
	const unsigned char *want_sums, *got_sums;
	size_t i;

	if (!l->finished || !l->dst)
		return tsarc_error_set(TSARC_EINVAL, "verify before the restore finished");
	memset(&got, 0, sizeof(got));
	if ((rc = tsarc_redis_digests_copy(&want, &l->want)))
		return rc;
	for (i = 0; i < l->nnear; i++)
		if (l->near[i].expiry < cutoff)
			tsarc_redis_digest_sub(&want, l->near[i].db, &l->near[i].k);
	if ((rc = evicted_during_load(l)) || (rc = tsarc_redis_digest(l->dst, cutoff, &got)))
		goto done;
	/* Without PEXPIRETIME a TTL moves while it is read: each key's
	 * expiry is compared as whether it expires, its value as ever. */
	if (!got.exact)
		loose = got.expiry_refused ? "the target's user may not run PEXPIRETIME: grant "
			"+pexpiretime to compare them" : "the target has no PEXPIRETIME";
	want_sums = loose ? want.loose : want.sums;
	got_sums = loose ? got.loose : got.sums;
	for (db = 0; db < want.ndb || db < got.ndb; db++) {
		unsigned long long wk = db < want.ndb ? want.keys[db] : 0;
		unsigned long long gk = db < got.ndb ? got.keys[db] : 0;
		char was[64];
		if (wk != gk) {
			rc = tsarc_error_set(TSARC_ECORRUPT, "Redis at %s: database %d%s has %llu keys "
				"after the restore, the backup %llu", tsarc_redis_where(l->dst), db,
				backup_db(l, db, was, sizeof(was)), gk, wk);
			goto done;
		}
		if (digest && wk && memcmp(want_sums + 32 * (size_t)db, got_sums + 32 * (size_t)db,
			32)) {
			rc = tsarc_error_set(TSARC_ECORRUPT, "Redis at %s: database %d%s holds other "
				"values or expiries than the backup (same %llu keys, digest differs)",
				tsarc_redis_where(l->dst), db, backup_db(l, db, was, sizeof(was)), wk);
			goto done;
		}
	}
	if (digest)
		snprintf(note, notesz, "key count and digest of every database match%s%s%s%s",
			loose ? " (expiries compared as whether each key expires: " : "",
			loose ? loose : "", loose ? ")" : "", l->evicted_known ? "" : NOT_COUNTED);
	else
		snprintf(note, notesz, "key count of every database matches (digest not compared: "
			"%s)%s", why, l->evicted_known ? "" : NOT_COUNTED);
done:
	tsarc_redis_digests_free(&want);
	tsarc_redis_digests_free(&got);
	return rc;
}

static int feed_loader(void *ctx, const void *data, size_t len)
{
	return tsarc_redis_loader_feed(ctx, data, len);
}

/* The highest database of the target that the keys of `src` go to
 * (through `map`), + 1 (0: none); a collision of the mapping is refused
 * here, before the target is emptied. */
static int src_dbs(tsarc_redis *src, const tsarc_redis_dbmap *map, int *ndb)
{
	int count, db, to = 0, rc;

	*ndb = 0;
	if ((rc = tsarc_redis_db_count(src, &count)))
		return rc;
	for (db = 0; db < count; db++) {
		long long n = 0;
		if ((rc = tsarc__redis_select(src, db, NULL)) || (rc = tsarc__redis_dbsize(src, &n)))
			return rc;
		if (n > 0 && (rc = tsarc_redis_dbmap_db(map, db, &to)))
			return rc;
		if (n > 0 && to + 1 > *ndb)
			*ndb = to + 1;
	}
	return tsarc__redis_select(src, 0, NULL);
}

/* Whether the copy will read the function libraries of `src` (its user
 * may FUNCTION LIST; the dump then carries them): only then do the
 * target's go before it, as for a logical stream (tsarc_redis_functions). */
static int src_functions(tsarc_redis *src, tsarc_redis_functions *f, int *libraries)
{
	tsarc_redis_reply *rep = NULL;
	int rc = tsarc_redis_command(src, &rep, "FUNCTION", "LIST", NULL);

	if (!rc) {
		*f = rep->type == '*' ? TSARC_REDIS_FUNCTIONS_REPLACE : TSARC_REDIS_FUNCTIONS_KEEP;
		*libraries = rep->type == '*' && rep->nelem > 0;
	}
	tsarc_redis_reply_free(rep);
	return rc;
}

/* What the copy of `src` needs in memory: its own INFO, the data set as
 * it holds it (a server that does not tell: not known, not checked). */
static int src_need(tsarc_redis *src, tsarc_redis_need *need)
{
	tsarc_redis_memory m;
	int rc;

	memset(need, 0, sizeof(*need));
	if ((rc = tsarc_redis_memory_read(src, &m)))
		return rc;
	if (m.known) {
		need->how = TSARC_REDIS_NEED_MEASURED;
		need->dataset = m.dataset;
		need->keys = m.keys;
	}
	return 0;
}

/* The RDB version of the payloads `src` (the private redis-server) DUMPs,
 * for the target to be asked whether it takes them before it is emptied:
 * a key of its first database that holds one (RANDOMKEY), dumped; 0 for a
 * server with no key. */
static int src_payload_version(tsarc_redis *src, int *version)
{
	tsarc_redis_reply *rep = NULL;
	int db, count, rc;

	*version = 0;
	if ((rc = tsarc_redis_db_count(src, &count)))
		return rc;
	for (db = 0; db < count && !rc && !*version; db++) {
		if ((rc = tsarc__redis_select(src, db, NULL)) ||
			(rc = tsarc_redis_command_ok(src, &rep, "RANDOMKEY", "RANDOMKEY", NULL)))
			break;
		if (rep->type == '$') {
			const char *argv[] = {"DUMP", rep->str};
			size_t lens[] = {4, rep->len};
			tsarc_redis_reply *dump = NULL;
			if (!(rc = tsarc_redis_append(src, 2, argv, lens)) &&
				!(rc = tsarc_redis_read(src, &dump)) && dump->type == '$')
				*version = tsarc_redis_payload_version(dump->str, dump->len);
			tsarc_redis_reply_free(dump);
		}
		tsarc_redis_reply_free(rep);
		rep = NULL;
	}
	return rc ? rc : tsarc__redis_select(src, 0, NULL);
}

/* Key names of `src` (the private redis-server) for the target's probes
 * (tsarc_redis_probe_key_choose): the first SCAN finds, database by
 * database, as far as they fill `names`. */
static int src_probe_names(tsarc_redis *src, tsarc_redis_probe_names *names)
{
	tsarc_redis_reply *rep = NULL;
	int db, count, rc;
	size_t i;

	memset(names, 0, sizeof(*names));
	if ((rc = tsarc_redis_db_count(src, &count)))
		return rc;
	for (db = 0; db < count && !rc && names->n < TSARC_REDIS_PROBE_NAMES; db++) {
		char cursor[32] = "0";
		if ((rc = tsarc__redis_select(src, db, NULL)))
			break;
		do {
			rep = NULL;
			if ((rc = tsarc_redis_command(src, &rep, "SCAN", cursor, "COUNT",
				     TSARC__REDIS_SCAN_COUNT, NULL)) ||
				(rc = tsarc__redis_scan_ok(src, rep, db)))
				break;
			snprintf(cursor, sizeof(cursor), "%s", rep->elem[0]->str);
			for (i = 0; i < rep->elem[1]->nelem; i++)
				probe_name_note(names, (const unsigned char *)rep->elem[1]->elem[i]->str,
					rep->elem[1]->elem[i]->len);
			tsarc_redis_reply_free(rep);
			rep = NULL;
		} while (strcmp(cursor, "0") && names->n < TSARC_REDIS_PROBE_NAMES);
		tsarc_redis_reply_free(rep);
	}
	return rc ? rc : tsarc__redis_select(src, 0, NULL);
}

int tsarc_redis_copy_route(tsarc_redis *src, tsarc_redis *dst, const tsarc_redis_dbmap *map,
	int *version, int *rewrite_to)
{
	tsarc_redis_probe_names names;
	tsarc_redis_loader *chk = NULL;
	tsarc_redis_stats dumped, st;
	int rc;

	*rewrite_to = 0;
	if ((rc = src_payload_version(src, version)) || (rc = src_probe_names(src, &names)) ||
		(rc = tsarc_redis_probe_key_choose(dst, &names, *version)) ||
		(rc = tsarc_redis_payload_route(dst, *version, 0, NULL, rewrite_to)) || !*rewrite_to)
		return rc;
	memset(&dumped, 0, sizeof(dumped));
	memset(&st, 0, sizeof(st));
	if (!(rc = tsarc_redis_loader_new(&chk, NULL, 0))) {
		tsarc_redis_loader_map(chk, map);
		if (!(rc = tsarc_redis_logical_dump(src, feed_loader, chk, NULL, &dumped)) &&
			!(rc = tsarc_redis_loader_finish(chk, &st)) && st.payload_floor > *rewrite_to)
			rc = tsarc_redis_payload_route(dst, *version, st.payload_floor, st.floor_what,
				rewrite_to);
	}
	tsarc_redis_stats_free(&dumped);
	tsarc_redis_stats_free(&st);
	tsarc_redis_loader_free(chk);
	return rc;
}

int tsarc_redis_copy(tsarc_redis *src, tsarc_redis *dst, const tsarc_redis_dbmap *map,
	const char *what, int lazyfree_wait_s, tsarc_redis_stats *st, char *note, size_t notesz,
	char *memory, size_t memorysz)
{
	tsarc_redis_loader *l = NULL;
	tsarc_redis_stats dumped, cleared;
	tsarc_redis_functions f = TSARC_REDIS_FUNCTIONS_KEEP;
	tsarc_redis_need need;
	int rc, ndb = 0, libraries = 0, version = 0, rewrite = 0;

	memset(&dumped, 0, sizeof(dumped));
	memset(&cleared, 0, sizeof(cleared));
	if (memorysz)
		*memory = '\0';
	if ((rc = src_dbs(src, map, &ndb)) || (rc = tsarc_redis_require_dbs(dst, ndb)) ||
		(rc = src_functions(src, &f, &libraries)) || (rc = src_need(src, &need)) ||
		(rc = tsarc_redis_copy_route(src, dst, map, &version, &rewrite)) ||
		(rc = tsarc_redis_loader_new(&l, dst, 0)))
		goto done;
	tsarc_redis_loader_need(l, &need);
	tsarc_redis_loader_payload_version(l, rewrite ? rewrite : version);
	tsarc_redis_loader_rewrite(l, rewrite);
	tsarc_redis_loader_lazyfree_wait(l, lazyfree_wait_s);
	rc = tsarc_redis_loader_clear(l, what, 0, f, libraries, &cleared);
	if (memorysz)
		snprintf(memory, memorysz, "%s", tsarc_redis_loader_memory(l));
	if (rc)
		goto done;
	tsarc_redis_loader_map(l, map);
	if ((rc = tsarc_redis_logical_dump(src, feed_loader, l, NULL, &dumped)) ||
		(rc = tsarc_redis_loader_finish(l, st))) {
		tsarc_redis_loader_partial(l, 0);
		goto done;
	}
	if ((rc = tsarc_redis_loader_verify(l, note, notesz)))
		goto done;
	st->flush = cleared.flush;
	st->deleted = cleared.deleted;
	st->functions_removed = cleared.functions_removed;
	st->functions_kept = cleared.functions_kept;
	st->functions_kept_n = cleared.functions_kept_n;
	st->lazyfree_pending = cleared.lazyfree_pending;
	st->vanished = dumped.vanished;
	st->exact_expiry = dumped.exact_expiry;
done:
	tsarc_redis_stats_free(&dumped);
	tsarc_redis_loader_free(l);
	return rc;
}
