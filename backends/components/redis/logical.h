#ifndef TSARC_REDIS_LOGICAL_H
#define TSARC_REDIS_LOGICAL_H

/*
 * The logical Redis backup and restore: what an ACL user of a managed
 * Redis can do (no SYNC, DEBUG, CONFIG, SAVE, SHUTDOWN). The backup reads
 * every logical database with SCAN, DUMP and PEXPIRETIME (PTTL on servers
 * without it), pipelined, and writes a RESP command stream any user can
 * replay with `redis-cli --pipe`:
 *
 *   FUNCTION RESTORE payload REPLACE           (when the server has functions)
 *   SELECT db
 *   RESTORE key expiry payload REPLACE ABSTTL  (expiry: absolute ms, 0 none)
 *
 * The restore accepts exactly those commands (anything else is refused:
 * the stream comes from a repository, not from us), empties each database
 * of the target first (FLUSHDB, or SCAN + DEL where FLUSHDB is refused),
 * skips keys whose absolute expiry has passed and checks the result with
 * key counts and a digest, without DEBUG.
 */
#include "client.h"

#include <stdatomic.h>
#include <stdint.h>

/* A few key names of a backup (the first its load sends, each of at most
 * TSARC_REDIS_PROBE_NAME_MAX bytes): the restore's user must be able to
 * write every one of them, so the probes that ask the target before it is
 * emptied can ask with one where their own name is not this user's
 * (tsarc_redis_probe_key_choose). */
#define TSARC_REDIS_PROBE_NAMES 8
#define TSARC_REDIS_PROBE_NAME_MAX 256
typedef struct tsarc_redis_probe_names {
	int n;
	size_t len[TSARC_REDIS_PROBE_NAMES];
	unsigned char name[TSARC_REDIS_PROBE_NAMES][TSARC_REDIS_PROBE_NAME_MAX];
} tsarc_redis_probe_names;

typedef struct tsarc_redis_stats {
	unsigned long long keys;       /* keys written (backup) or restored */
	unsigned long long bytes;      /* DUMP payload bytes */
	int payload_version;           /* the highest RDB version of a payload (0: none) */
	/* The lowest RDB version every payload can be rewritten to (payload.h
	 * tsarc_redis_payload_floor; 0: none seen); a restore's loader says
	 * which key set it, where it is above TSARC_REDIS_REWRITE_LOWEST. */
	int payload_floor;
	char floor_what[400];
	/* restore: payloads rewritten for the target (tsarc_redis_loader_rewrite), to
	 * RDB version `rewritten_to` */
	unsigned long long rewritten;
	int rewritten_to;
	unsigned long long key_bytes;  /* restore: key names' bytes */
	unsigned long long expired;    /* skipped: expired before the restore */
	unsigned long long vanished;   /* gone between SCAN and DUMP (backup) */
	unsigned long long *db_keys;   /* per database index */
	int ndb;
	int functions;                 /* 1 saved/restored, 0 none, -1 not allowed */
	int exact_expiry;              /* PEXPIRETIME (1) or PTTL + clock (0) */
	int flush;                     /* restore: 1 FLUSHDB, 0 per-key DEL */
	unsigned long long deleted;    /* restore: keys DEL'd when FLUSHDB refused */
	unsigned long long functions_removed; /* restore: the target's own libraries */
	/* restore: the target's libraries were left as they were (the backup
	 * could not read the source's); how many there were */
	int functions_kept;
	unsigned long long functions_kept_n;
	/* restore: objects the target still had to free in the background when
	 * the wait for them ran out (0: none left) */
	unsigned long long lazyfree_pending;
	/* restore: key names of the stream, for the target's probes */
	tsarc_redis_probe_names probe_names;
} tsarc_redis_stats;

void tsarc_redis_stats_free(tsarc_redis_stats *st);
/* A DUMP payload read or sent: its RDB version into st->payload_version
 * when higher, and the version it can be rewritten to into
 * st->payload_floor (payload.c). */
void tsarc_redis_note_payload(tsarc_redis_stats *st, const void *payload, size_t len);

/* Database numbers a stream, a URL or the snapshot's metadata may name:
 * 0 to TSARC_REDIS_DB_MAX - 1 (Redis's own default is 16; a larger
 * number is damage, not a server). */
#define TSARC_REDIS_DB_MAX (1 << 20)

/* `len` bytes of decimal digits (a RESP argument, a URL's path) into *v,
 * 0 to `max`; -1 for anything else (no error set): no sign, no spaces,
 * at most 19 digits, nothing past a long long (never wrapped). */
int tsarc_redis_decimal(const unsigned char *a, size_t len, long long max, long long *v);

/*
 * Where a restore puts the backup's databases. The database the source's
 * URL named (the one 3scale used there, recorded at backup) goes to the
 * one the target's URL names: a 2.15 system-redis at .../1 migrated to a
 * managed Redis whose Secret says .../0 (cluster-mode services have only
 * database 0) must land where system will read it; so does backend-redis's
 * queues database, where its queues URL names one on the same server
 * (redis.c). Each pair maps one database of the backup; every other
 * database keeps its number: nothing says where else it would belong. One
 * of them that would land on a mapped database (a pair's `to`) is a
 * collision, refused before anything is written: merging two databases of
 * the backup into one would silently mix, and overwrite, their keys.
 */
#define TSARC_REDIS_DBMAP_PAIRS 2
typedef struct tsarc_redis_dbmap {
	int n;                                /* pairs */
	int from[TSARC_REDIS_DBMAP_PAIRS];     /* the backup's database */
	int to[TSARC_REDIS_DBMAP_PAIRS];       /* the target's */
} tsarc_redis_dbmap;
#define TSARC_REDIS_DBMAP_NONE {0, {0}, {0}}
/* Adds the pair from -> to (a pair from == to keeps the number, and its
 * database counts as taken); TSARC_EUNSUPPORTED naming both when `from`
 * is mapped already or `to` is taken by another pair ("nothing was
 * written": it is asked before the first write). */
int tsarc_redis_dbmap_add(tsarc_redis_dbmap *map, int from, int to);
/* Whether some pair moves a database (from != to). map NULL: no. */
int tsarc_redis_dbmap_moves(const tsarc_redis_dbmap *map);
/* The target's database for the backup's `db` into *out; a collision is
 * TSARC_EUNSUPPORTED naming both databases ("nothing was written": it is
 * asked before the first write). map NULL: no mapping. */
int tsarc_redis_dbmap_db(const tsarc_redis_dbmap *map, int db, int *out);
/* "database 1 -> 0, database 2 -> 3" (the pairs that move one), or ""
 * when map is NULL or moves nothing. */
void tsarc_redis_dbmap_text(const tsarc_redis_dbmap *map, char *out, size_t outsz);

/* Adds `add` keys to database `db`'s count, growing the table. */
int tsarc_redis_stats_add_db(tsarc_redis_stats *st, int db, unsigned long long add);

/* Receives the stream; non-zero stops the backup with that code. */
typedef int (*tsarc_redis_out_fn)(void *ctx, const void *data, size_t len);

/* Backs up every database of `src` as the stream above into `out`.
 * Checks *stop (may be NULL) between batches: TSARC_ECANCELED. A replica
 * whose link to its master is not up, before the first read or after the
 * last, is refused (sentinel.h tsarc_redis_require_linked). */
int tsarc_redis_logical_dump(tsarc_redis *src, tsarc_redis_out_fn out, void *ctx,
	const atomic_int *stop, tsarc_redis_stats *st);

/* The database indexes a server has: CONFIG GET databases where allowed,
 * else the first that SELECT says is out of range, found by bisection up
 * to TSARC_REDIS_DB_MAX (more is TSARC_EUNSUPPORTED). Leaves the
 * connection on database 0. */
int tsarc_redis_db_count(tsarc_redis *r, int *count);

/* Refuses a target that has fewer databases than `ndb` (the highest
 * database the backup's keys go to, after any mapping, + 1) before
 * anything is written: emptying it first and then failing at SELECT
 * would leave it empty. */
int tsarc_redis_require_dbs(tsarc_redis *dst, int ndb);

/* What a restore knows of the backup's function libraries, and so what
 * becomes of the target's. REPLACE: the backup read the source's (the
 * stream holds them, or the source had none): the target's go first, so
 * that it ends with the backup's, as after an RDB swap. KEEP: the backup
 * could not read them (its user may not FUNCTION LIST: "redis_functions"
 * "not readable", or a stream that does not say): it holds none, and
 * removing the target's would lose libraries the backup never had, so
 * they are left as they are (st->functions_kept) and the report says so. */
typedef enum {
	TSARC_REDIS_FUNCTIONS_KEEP = 0,
	TSARC_REDIS_FUNCTIONS_REPLACE = 1
} tsarc_redis_functions;

/* Empties every database of `dst` (FLUSHDB SYNC, plain FLUSHDB before
 * Redis 6.2, or where refused SCAN + DEL), its function libraries first
 * (FUNCTION FLUSH) where `functions` is REPLACE, then waits until the
 * server has no lazy free pending, for at most `lazyfree_wait_s` seconds
 * (the component's "lazyfree_wait", default TSARC_REDIS_LAZYFREE_WAIT_S):
 * the load must not meet memory freed in the background. Frees still
 * pending then are said (st->lazyfree_pending, a warning in the log), and
 * the load goes on: the target is emptied by then. */
#define TSARC_REDIS_LAZYFREE_WAIT_S 300
int tsarc_redis_clear(tsarc_redis *dst, tsarc_redis_functions functions, int lazyfree_wait_s,
	tsarc_redis_stats *st);

/* What a Redis allows in memory, from INFO memory and INFO keyspace (what
 * a managed Redis answers where it blocks CONFIG). */
typedef struct tsarc_redis_memory {
	int known;                    /* INFO memory told used_memory, its data set, maxmemory */
	unsigned long long used;      /* used_memory */
	unsigned long long dataset;   /* used_memory_dataset */
	unsigned long long startup;   /* used_memory_startup (0: not told) */
	unsigned long long maxmemory; /* 0: no limit */
	unsigned long long keys;      /* INFO keyspace: every database's keys */
	char policy[32];              /* maxmemory_policy */
	/* Only the limit is known (the plan of a swap into a pod reads the
	 * configuration, not the server): what the server uses besides its
	 * data is not, the room is at most maxmemory. */
	int limit_only;
} tsarc_redis_memory;
/* *m from the server; INFO refused to this user leaves m->known 0 (not
 * an error: the check then says it could not be made). */
int tsarc_redis_memory_read(tsarc_redis *r, tsarc_redis_memory *m);
/* INFO stats' evicted_keys into *n, *known 0 where the server does not
 * tell this user: asked before a load empties the target and after it,
 * a load the target evicted from is refused, saying so
 * (tsarc_redis_loader_verify). */
int tsarc_redis_evicted(tsarc_redis *r, unsigned long long *n, int *known);
/* *m from the text of INFO memory and INFO keyspace (NULL: not answered),
 * however it was asked: our client, or redis-cli where the server runs
 * (the RDB swap). */
void tsarc_redis_memory_parse(tsarc_redis_memory *m, const char *memory, const char *keyspace);

/* What a backup needs in memory, and how that is known. */
typedef enum {
	TSARC_REDIS_NEED_UNKNOWN = 0,
	TSARC_REDIS_NEED_MEASURED, /* the private redis-server holds it: its own INFO */
	TSARC_REDIS_NEED_RECORDED, /* the stream's "redis_used_memory_dataset", taken at backup */
	TSARC_REDIS_NEED_STREAM,   /* an older snapshot's: the stream's payloads and key names */
	TSARC_REDIS_NEED_RDB       /* an RDB that records none: its size (the RDB swap) */
} tsarc_redis_need_how;
typedef struct tsarc_redis_need {
	tsarc_redis_need_how how;
	unsigned long long dataset;   /* bytes, as used_memory_dataset counts them */
	unsigned long long keys;
	int at_start;                 /* loaded whole by the server at start (the RDB swap),
				       * not written key by key into it */
} tsarc_redis_need;

/* Whether target `t` (at `where`), once emptied (every database), holds
 * backup `n` (memory.c says how both are estimated): 0 when it does, or
 * when it cannot be told (no maxmemory, INFO refused, a need unknown), and
 * `text` says which and why, for the plan and the report; TSARC_EUNSAFE
 * when it does not, naming the need, the limit, the policy and what to do,
 * and saying nothing was written (it is asked before the first write). */
int tsarc_redis_room(const char *where, const tsarc_redis_memory *t, const tsarc_redis_need *n,
	char *text, size_t textsz);

/* The restore side: fed the stream in pieces of any size. A signal
 * (interrupt.h) stops a feed with TSARC_ECANCELED. */
typedef struct tsarc_redis_loader tsarc_redis_loader;
/* `dst` must already be cleared (tsarc_redis_clear, or
 * tsarc_redis_loader_clear) when the result is to equal the backup;
 * NULL: the stream is only checked (nothing sent). `now_ms` (0: the
 * clock) decides what has expired. */
int tsarc_redis_loader_new(tsarc_redis_loader **out, tsarc_redis *dst, int64_t now_ms);
/* Empties the loader's target (tsarc_redis_clear) for its load; refused
 * with the target untouched when a signal came first. From then until
 * tsarc_redis_loader_free, a signal that ends the process before the
 * step can report says what the target holds: being emptied, or emptied
 * and how many of the backup's `total` keys (0: unknown) were restored.
 * `what` names the step there ("component 'backend-redis'"). Before
 * anything is removed, the target's user is asked whether it may run
 * what the load and its check need (tsarc_redis_load_allowed), so that
 * one refused is found with the target untouched; and whether the
 * target's maxmemory holds what the backup needs
 * (tsarc_redis_loader_need): one that cannot is refused untouched too. */
int tsarc_redis_loader_clear(tsarc_redis_loader *l, const char *what, unsigned long long total,
	tsarc_redis_functions functions, int sends_functions, tsarc_redis_stats *cleared);
/* What the backup needs in memory (before tsarc_redis_loader_clear;
 * copied): the clear refuses, with the target untouched, a target whose
 * maxmemory cannot hold it (tsarc_redis_room). Not set: not checked. */
void tsarc_redis_loader_need(tsarc_redis_loader *l, const tsarc_redis_need *need);
/* Whether the user of `dst` may run every command a load into it needs,
 * asked before anything is removed (tsarc_redis_loader_clear) and by the
 * plan, before any step of the restore writes: RESTORE (and FUNCTION
 * RESTORE where `sends_functions`: the stream holds libraries), and what
 * the check after the load reads the target with (digest.h
 * tsarc_redis_digest_allowed). Found only when sent, the target would be
 * emptied, or emptied and loaded, and the step failed; and whether the
 * target takes DUMP payloads of `payload_version` (the RDB version of the
 * payloads the load sends; 0 unknown, not asked): a Redis 7.0 refuses a
 * Valkey 8's. Each probe changes nothing. TSARC_EUNSAFE naming the
 * command and what to grant, or the versions. */
int tsarc_redis_load_allowed(tsarc_redis *dst, int sends_functions, int payload_version);
/* Whether the target takes DUMP payloads of RDB `version` (*taken), asked
 * as tsarc_redis_load_allowed asks it, changing nothing: an error where
 * its user may not RESTORE (TSARC_EUNSAFE), or where the key the probe
 * asks with (tsarc_redis_probe_key_choose) exists there or is left out
 * of the user's key patterns: TSARC_EACCESS, not asked. */
int tsarc_redis_payload_taken(tsarc_redis *dst, int version, int *taken);
/* The key the target's probes ask with, chosen before the first of them
 * that asks a payload's version (`version` above 0; else none is needed):
 * each is a RESTORE of a key that has expired, without REPLACE, which
 * creates nothing and touches no key that exists (BUSYKEY), but needs a
 * name this user may write that does not exist there. The probes' own,
 * else the first of the backup's key names (`names`; NULL: none) that
 * does not exist there, as it is, or else with TSARC_REDIS_PROBE_SUFFIX
 * after it (a user of ~app:* writes app:1:tsarc:probe where the target
 * holds app:1). Each is tried with a payload no Redis takes: nothing
 * changes. A key of the backup that the user's key patterns leave out is
 * TSARC_EUNSAFE (the load would be refused it, with the target emptied),
 * and so is finding none, saying what to grant. */
int tsarc_redis_probe_key_choose(tsarc_redis *dst, const tsarc_redis_probe_names *names,
	int version);
#define TSARC_REDIS_PROBE_KEY "tsarc:probe:restore"
#define TSARC_REDIS_PROBE_SUFFIX ":tsarc:probe"
/* The highest RDB version below `below` whose payloads the target takes,
 * asked downwards, into *highest (0: none), and as text for an error ("of
 * RDB version 10 at most", or "of no RDB version"). */
int tsarc_redis_payload_highest(tsarc_redis *dst, int below, int *highest, char *most,
	size_t size);
/* How payloads of RDB `version` reach `dst`, asked changing nothing: as
 * they are where it takes them (*rewrite_to 0); else rewritten (payload.h)
 * to the highest version below it that the target takes (*rewrite_to),
 * where that is TSARC_REDIS_REWRITE_LOWEST or above and at least `floor`,
 * the lowest every payload of the backup can be rewritten to (0: not
 * known yet: the caller finds it, before the target is touched, and calls
 * again). Neither: TSARC_EUNSAFE naming the versions and, where `floor`
 * stops it, `floor_what` (the key and its type; NULL: not known), and
 * saying nothing was written. */
int tsarc_redis_payload_route(tsarc_redis *dst, int version, int floor, const char *floor_what,
	int *rewrite_to);
/* Which server writes which payloads, for the errors that name versions. */
#define TSARC_REDIS_PAYLOAD_WRITERS "(Redis 5 and 6 write 9, Redis 7.0 10; Valkey 7.2 to 8.x " \
	"and Redis 7.2 write 11, Redis 8 12, Valkey 9 80)"
/* The RDB version of the payloads the load will send
 * (tsarc_redis_load_allowed; before tsarc_redis_loader_clear). */
void tsarc_redis_loader_payload_version(tsarc_redis_loader *l, int version);
/* Payloads of an RDB version above `version` (0: none) are rewritten to it
 * as they are sent (payload.h; before the first feed): the target takes
 * `version` at most (tsarc_redis_payload_route). A key whose payload
 * cannot be stops the feed, naming it (TSARC_EUNSUPPORTED); the check
 * pass meets it first, with nothing sent, where it rewrites too. */
void tsarc_redis_loader_rewrite(tsarc_redis_loader *l, int version);
/* How long its clear waits for the target's lazy frees (tsarc_redis_clear;
 * default TSARC_REDIS_LAZYFREE_WAIT_S). */
void tsarc_redis_loader_lazyfree_wait(tsarc_redis_loader *l, int seconds);
/* What the memory check said ("" before tsarc_redis_loader_clear). */
const char *tsarc_redis_loader_memory(const tsarc_redis_loader *l);
/* Maps the stream's databases (before the first feed; copied): its
 * SELECT n is sent as SELECT of the mapped number, and the counts and
 * digest the check compares are the target's databases. A collision
 * stops the feed (TSARC_EUNSUPPORTED); the check pass meets it first,
 * with nothing sent. */
void tsarc_redis_loader_map(tsarc_redis_loader *l, const tsarc_redis_dbmap *map);
int tsarc_redis_loader_feed(tsarc_redis_loader *l, const void *data, size_t len);
/* Ends the stream (a command cut off is TSARC_ECORRUPT) and waits for
 * every reply; st gets the counts. */
int tsarc_redis_loader_finish(tsarc_redis_loader *l, tsarc_redis_stats *st);
/* After finish: compares the target with what was restored (key count per
 * database, digest of key, type, expiry second and DUMP payload). Keys
 * that expire within a minute of the check are left out on both sides.
 * TSARC_ECORRUPT naming the first database that differs. `note` gets what
 * was compared (or why the digest could not be). */
int tsarc_redis_loader_verify(tsarc_redis_loader *l, char *note, size_t notesz);
/* After a failure of the load into a target emptied first: prefixes the
 * error with the target's state (emptied, how many keys of `total`, 0
 * unknown, were restored: every command sent is answered first, so the
 * count is exact unless the connection was lost, then a range). */
void tsarc_redis_loader_partial(tsarc_redis_loader *l, unsigned long long total);
void tsarc_redis_loader_free(tsarc_redis_loader *l);

/* How the payloads of `src` (a private redis-server) reach `dst`, sending
 * nothing: *version, the RDB version `src` DUMPs (0: it holds no key);
 * *rewrite_to, the one they are rewritten to (tsarc_redis_payload_route;
 * 0: sent as they are). Where they must be rewritten, every one of them is
 * read first (a check pass through a loader that sends nothing) for the
 * version each can be rewritten to, so that one that cannot be (a function
 * library for a Redis 6, a hash with field expiries for a Redis 7.0) is
 * refused, naming its key. The target is asked with a name among the
 * keys of `src` where the probes' own is not its user's
 * (tsarc_redis_probe_key_choose). The copy's first step; the plan's too,
 * before any step of the restore writes (an RDB records no payload
 * floor). */
int tsarc_redis_copy_route(tsarc_redis *src, tsarc_redis *dst, const tsarc_redis_dbmap *map,
	int *version, int *rewrite_to);
/* Copies every database of `src` into `dst` (cleared first) through the
 * loader, without a stream in between, then verifies: the RDB path into a
 * Redis that cannot restart (from a private redis-server). Payloads of a
 * version the target does not take are rewritten for it where each can
 * be (tsarc_redis_payload_route; `src` is read whole first to know), else
 * refused before `dst` is emptied. `map` (NULL:
 * none) as tsarc_redis_loader_map; its collisions, and a target with
 * fewer databases than the mapped ones, are refused before `dst` is
 * emptied, and so is a `dst` whose maxmemory cannot hold what `src` holds
 * (measured there: INFO memory); `memory` gets what that check said. `what`
 * as for tsarc_redis_loader_clear; `lazyfree_wait_s` as for
 * tsarc_redis_clear. */
int tsarc_redis_copy(tsarc_redis *src, tsarc_redis *dst, const tsarc_redis_dbmap *map,
	const char *what, int lazyfree_wait_s, tsarc_redis_stats *st, char *note, size_t notesz,
	char *memory, size_t memorysz);

int64_t tsarc_redis_now_ms(void);

/* A key as a message shows it: printable bytes, others as \xHH, cut after
 * 60 bytes with "...". */
void tsarc_redis_key_shown(char *out, size_t outsz, const void *key, size_t keylen);

/* Shared by logical.c, load.c and digest.c. SELECT db: an "out of range"
 * answer sets *out_of_range (when not NULL) instead of failing. */
int tsarc__redis_select(tsarc_redis *r, int db, int *out_of_range);
int tsarc__redis_dbsize(tsarc_redis *r, long long *n);
/* A SCAN reply is a cursor and an array of strings (else an error). */
int tsarc__redis_scan_ok(tsarc_redis *r, const tsarc_redis_reply *rep, int db);
/* The answer `rep` of a probe of `cmd` (one that changes nothing) says
 * whether the user may run it: Redis checks the ACL first, and "NOPERM
 * ... to run the '...' command" is the answer that matters; a probe key
 * the user's key patterns leave out says nothing of the keys of the
 * backup, nor does any other error (the payload's, an existing key's). A
 * server that has no such command (renamed: "ERR unknown command") cannot
 * serve the restore either. TSARC_EUNSAFE naming `cmd`, what the restore
 * does with it (`use`) and what to grant; else 0. */
int tsarc__redis_probe_refused(tsarc_redis *dst, const char *cmd, const tsarc_redis_reply *rep,
	const char *use);
#define TSARC__REDIS_SCAN_COUNT "1000"


#endif
