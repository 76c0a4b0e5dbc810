#ifndef TSARC_COMPONENTS_REDIS_H
#define TSARC_COMPONENTS_REDIS_H

/* The redis kind's files: redis.c (the kind, its dump), restore.c (which
 * restore path), swap.c (the RDB swap of a server tsarc may restart), and
 * the client and its logical, RDB and Sentinel parts. */
#include "../db.h"
#include "secrets.h"

/* The component's "tls": 1 (true), 0 (false), TSARC_REDIS_TLS_CHAIN_ONLY
 * ("verify-ca": TLS, and redis-cli on this host accepted although it
 * checks the certificate's chain only), or -1 (not given: the Secret's). */
#define TSARC_REDIS_TLS_CHAIN_ONLY 2
int tsarc_redis_spec_tls(const cJSON *spec);
/* A component field of whole seconds ("replica_wait", "lazyfree_wait":
 * checked when the configuration is read), or `dflt` when not given. */
int tsarc_redis_spec_seconds(const cJSON *spec, const char *field, int dflt);

/* redis-cli's login and TLS, as tsarc's own client reads the Secret
 * `doc` (NULL: none). The user and password: the Secret's URL, else its
 * own keys beside it (3scale 2.16: REDIS_STORAGE_USERNAME and _PASSWORD,
 * which the generic reading of `conn` does not know), the configuration's
 * fields over both; they replace those of `conn` where the Secret gives
 * them. TLS: whether it is on (the configuration's "tls", else the
 * Secret's rediss://, CONFIG_*_SSL or client certificate), and on this
 * host the Secret's CA, certificate and key (REDIS_SSL_CA ..., PEM text)
 * in private files (dbconn.h tsarc_db_tls; NULL when it has none). Since
 * redis-cli never checks the server certificate's host name, TLS on this
 * host is refused (TSARC_ECONFIG, saying why) unless "tls" is
 * "verify-ca". In a pod (in_pod) no files: the pod's server, the pod's. */
typedef struct tsarc_redis_cli_tls {
	int on;
	struct tsarc_db_tls *files;
} tsarc_redis_cli_tls;
int tsarc_redis_cli_open(const tsarc_component *c, const cJSON *doc, tsarc_conn *conn,
	int in_pod, tsarc_redis_cli_tls *out);
/* Removes the files (the key overwritten first). */
int tsarc_redis_cli_tls_close(tsarc_redis_cli_tls *t);

/* How redis-cli reaches and logs into the server of component `c`, for
 * its backup and every redis-cli of its restore alike: host (with_host:
 * the restore in a pod talks to the server of that pod, whatever the
 * host), port, user, --tls and the files of `tls`, the component's
 * options; the password in the child's environment, or from the pod's
 * own variable (pod_password_env). */
int tsarc_redis_cli_args(tsarc_cmd *cmd, const tsarc_component *c, const tsarc_conn *conn,
	int with_host, const tsarc_redis_cli_tls *tls);
/* Whether redis-cli's answer `out` is an error reply, which it prints as
 * its answer, exiting 0 (-e, which would say it, is not in every
 * redis-cli a pod has): its code in capitals and a blank ("NOPERM ...",
 * "ERR ..."). No answer tsarc reads begins so (INFO's "# Section",
 * CLUSTER INFO's and CONFIG GET's lower-case names, OK, PONG). */
int tsarc_redis_cli_error_reply(const char *out);
/* tsarc_redis_require_whole through redis-cli (`tool`, NULL: redis-cli)
 * with the arguments of tsarc_redis_cli_args, run by the component's
 * transport: where redis-cli, not tsarc's own client, reads or replaces
 * the server (a "tool" or "options", the RDB swap), a node of a Redis
 * Cluster of several shards is refused the same way, by the same decision
 * (tsarc_redis_whole_asked), before anything is read or written; an error
 * reply, which redis-cli prints as its answer (exiting 0), is an error
 * there too, never "not a cluster". */
int tsarc_redis_cli_require_whole(const tsarc_component *c, const char *tool,
	const tsarc_conn *conn, int with_host, const tsarc_redis_cli_tls *tls);
/* Plan: refuses what step `s` cannot do before anything is written: a
 * database number in its metadata or the target's URL that is none, a
 * database mapping the only path (the swap) cannot do (restore.c). */
int tsarc_redis_admit(tsarc_restore_ctx *r, tsarc_step *s);
/* Restores step `s`: the path the stream and the target allow (restore.c). */
int tsarc_redis_restore(tsarc_restore_ctx *r, tsarc_step *s);
/* The plan of step `s`: its target, what it replaces, which path. */
void tsarc_redis_describe(tsarc_restore_ctx *r, const tsarc_step *s, const char *where,
	cJSON *plan);
/* The RDB swap (swap.c). */
int tsarc_redis_swap_restore(tsarc_restore_ctx *r, tsarc_step *s);
/* The swap's refusal of a server whose configuration, as the restart
 * reads it, names another dir or dbfilename than the server runs with
 * (`dir`, `dbfilename`), or whose start_command turns appendonly on after
 * it: TSARC_ECONFIG, for the plan (restore.c), which reads them with
 * tsarc's own client. */
int tsarc_redis_swap_admit(tsarc_restore_ctx *r, const tsarc_step *s, const char *dir,
	const char *dbfilename);
/* The swap's checks where its server runs in its pod, as the plan can
 * make them without running anything there: the backup's need against
 * the maxmemory of the configuration the restart reads (a ConfigMap, as
 * the API server gives it, or as a step before this one applies it).
 * *checked 1 and `room` what it found, or 0 and `room` why it could not
 * (the step decides); `files` what of swap_conf_agrees only the run can
 * compare. TSARC_EUNSAFE when the backup does not fit (swap.c). */
int tsarc_redis_swap_pod_plan(tsarc_restore_ctx *r, const tsarc_step *s, int *checked,
	char *room, size_t roomsz, char *files, size_t filessz);
/* Whether the server of a swap in its pod reads the backup's RDB of
 * `version` (INFO server by redis-cli in the pod, judged by readers.h):
 * TSARC_EUNSAFE naming both where it does not; else 0 and `word` what the
 * plan found, or why it could not tell (the step's redis-check-rdb
 * decides then) (swap.c). */
int tsarc_redis_swap_pod_version(tsarc_restore_ctx *r, const tsarc_step *s, int version,
	char *word, size_t wordsz);
/* What checks the version when the plan could not, for its word. */
#define TSARC_REDIS_SWAP_CHECKS_VERSION "the server's own redis-check-rdb (valkey-check-rdb " \
	"for a Valkey) reads the RDB at the step, before anything of the server is touched"
/* The swap's refusal of a server that does not answer its user CONFIG
 * GET or the INFO sections its checks read (NOPERM, or an unknown command
 * where one is renamed), for the plan, which asks them with tsarc's own
 * client `dst` (restore.c); 0 when it answers, or cannot be asked now
 * (the step decides). */
struct tsarc_redis;
int tsarc_redis_swap_access(const tsarc_step *s, struct tsarc_redis *dst);
/* What the RDB of step `s` needs in memory (logical.h tsarc_redis_need):
 * as its snapshot recorded it, never less than the RDB's size; or, where
 * it records none (an older tsarc, a source that did not tell it), the
 * RDB's size, a low estimate (restore.c). */
struct tsarc_redis_need;
void tsarc_redis_rdb_need(const tsarc_step *s, struct tsarc_redis_need *need);
/* The redis.conf text `conf` with persistence off, which the swap writes
 * while it restarts the server (the caller frees it with
 * tsarc_secure_free_str): every save and appendonly line commented out,
 * then save "" and appendonly no. NULL when it cannot be built whole.
 * Not static so that a test can fail its allocations (test_redis_swap). */
char *tsarc__redis_persistence_off(const char *conf);
/* The value of the last active `name` line of a redis.conf text (Redis
 * takes the last one), read as Redis reads a memory size (memtoll: a
 * number, then b, k, kb, m, mb, g or gb in any case; k 1000, kb 1024): 1
 * and *v, 0 when there is none or it is not one. The maxmemory the RDB
 * swap restarts the server with. Not static so that a test can read it
 * (test_redis_swap). */
int tsarc__redis_conf_bytes(const char *conf, const char *name, unsigned long long *v);
/* The component's "mode": "rdb", "logical" or "auto" (default). */
const char *tsarc_redis_mode(const cJSON *spec);
/* The connection details of component `c`: its Secret (`secret_doc`, or a
 * URL alone, or neither) under the configuration's fields. */
int tsarc_redis_component_conf(const tsarc_component *c, const cJSON *secret_doc,
	const char *url, tsarc_redis_conf *conf);

#endif
