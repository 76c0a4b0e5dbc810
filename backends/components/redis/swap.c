#define _GNU_SOURCE /* strndup, asprintf */
/*
 * The restore of a Redis RDB (action redis-rdb): the server loads an RDB
 * only at start, so the backup's RDB is written next to its data and read
 * by the server's own redis-check-rdb (valkey-check-rdb for a Valkey; one
 * it could not load would leave it down once its files are aside:
 * rdbcheck.h), then the server
 * restarted with persistence off (so it saves nothing over the swapped
 * files), its old dump.rdb and AOF moved aside, the RDB put in
 * place, the server restarted to load it, and persistence put back (AOF
 * rewritten from memory first when it was on). The original persistence
 * configuration is kept durably while it is off, and put back by the step,
 * by a signal's cleanup, or by the next run after a crash. A server that
 * does not come up on the backup's RDB (nothing read it first where its
 * host has no redis-check-rdb) gets its own files and configuration back
 * and is started on them: the step fails, the server runs as before.
 * Before any of it, the server's maxmemory is compared with what the
 * backup needs (swap_room, the online paths' check of memory.c): the
 * server loads an RDB at start whatever its limit, then refuses every
 * write or evicts restored keys, so one that cannot hold it is refused
 * with nothing touched. So is one whose configuration, as the restart
 * reads it (includes followed, start_command's options after it), names
 * another dir or dbfilename than the running server (a CONFIG SET since
 * it started, a redis-config never rolled out): the RDB written under the
 * running server's name would not be the file the restart loads
 * (swap_conf_agrees). Once restarted on it, the server must have loaded
 * as many keys as the RDB holds (swap_loaded_backup), else it gets its
 * own files back.
 */
#include "redis.h"
#include "logical.h"
#include "rdbcheck.h"
#include "readers.h"
#include "fileio.h"
#include "error_save.h"
#include "interrupt.h"
#include "snapshot.h"
#include "wipe.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* A redis.conf or pid file; anything larger is not one. */
#define REDIS_CONF_MAX (16u * 1024u * 1024u)
/* How long a Redis server may take to stop or to load its data set. */
#define REDIS_WAIT_SECONDS 300

typedef struct redis_op {
	tsarc_restore_ctx *r;
	const tsarc_step *s;
	tsarc_component c;
	tsarc_conn conn;
	int in_pod;            /* redis-cli runs in the server's workload */
	tsarc_redis_cli_tls tls; /* redis-cli's TLS, its private files */
	char *data_dir, *dbfilename, *aof_dir, *aof_file, *pidfile, *logfile;
	/* The server's configuration where the transport keeps it (a file
	 * here, a ConfigMap in a cluster), with the original kept aside while
	 * persistence is off (transport.h: read_config, write_config). */
	tsarc_server_config cfg;
	const char *workload;  /* rolled out, where the transport rolls out */
	char *orig_conf;       /* persistence as configured */
	/* What the restart reads: orig_conf with its includes read where they
	 * stand and start_command's options after it (swap_restart_conf). */
	char *restart_conf;
	long long rdb_keys;    /* keys of the backup's RDB, -1: not read */
	/* The server is a Valkey (INFO server, readers.h): its own checker
	 * and server are valkey-check-rdb and valkey-server, not the redis-*
	 * names, which on its host are a Redis's or none. */
	int valkey;
	char unchecked[200];   /* why the RDB was not read before the swap */
	int start_aof;         /* start_command's options turn appendonly on */
	int aof_on;            /* originally appendonly yes */
	int conf_switched;     /* the off-config is (or may be) in place */
	int server;            /* 0 untouched, 1 stopped by us, 2 running the off-config */
	tsarc_cleanup undo;    /* puts the original configuration back */
	char undo_what[300];
	tsarc_cleanup incoming; /* removes DBFILENAME.tsarc-incoming until it is moved in */
	char incoming_what[300];
	char *earlier;         /* what undoing an earlier interrupted swap did */
} redis_op;

/* The server's own RDB checker, and the server a restart starts (where
 * start_command does not say): a Valkey's are named for it. On a host
 * with a Redis beside it, redis-check-rdb 7.0 refused a Valkey 8's RDB
 * (version 11) that the Valkey reads, and redis-server started a Redis
 * 7.0 on the Valkey's configuration, which exited on the Valkey's own RDB
 * and left the server down; on a host with Debian's valkey-server alone,
 * neither name is there. */
static const char *swap_checker(const redis_op *op)
{
	return op->valkey ? "valkey-check-rdb" : "redis-check-rdb";
}

static const char *swap_server(const redis_op *op)
{
	return op->valkey ? "valkey-server" : "redis-server";
}

/* Where the swap's redis-cli reaches the server, for messages. */
static void swap_where(const redis_op *op, char *out, size_t outsz)
{
	if (op->in_pod)
		snprintf(out, outsz, "the server of component '%s' in its pod", op->s->component);
	else if (op->conn.socket && op->conn.socket[0])
		snprintf(out, outsz, "%s", op->conn.socket);
	else
		snprintf(out, outsz, "%s:%d", op->conn.host ? op->conn.host : "127.0.0.1",
			op->conn.port ? op->conn.port : 6379);
}

/* The error of command `args` answered with the error reply `reply` by
 * Redis at `where`: refused to the user (NOPERM names the ACL rule that
 * grants it), unknown to the server (renamed or disabled), or another. */
static int reply_error(const char *component, const char *where, const char *const args[],
	const char *reply)
{
	char cmd[200] = "", words[800];
	size_t i;
	int rc;

	for (i = 0; args[i]; i++)
		snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), "%s%s", i ? " " : "", args[i]);
	rc = tsarc_redis_refusal_words(words, sizeof(words), cmd, "the swap's user", reply);
	return tsarc_error_set(rc, "component '%s': Redis at %s %s%s", component, where, words,
		rc == TSARC_EUNSUPPORTED ? ", where the swap needs it under its own name" : "");
}

/* redis-cli `args` where the server runs, its answer as printed into *out. */
static int redis_cli_raw(redis_op *op, const char *const args[], char **out)
{
	tsarc_cmd cmd;
	size_t i;
	int rc;

	tsarc_cmd_init(&cmd);
	if (!(rc = tsarc_cmd_arg(&cmd, "redis-cli")))
		rc = tsarc_redis_cli_args(&cmd, &op->c, &op->conn, !op->in_pod, &op->tls);
	for (i = 0; !rc && args[i]; i++)
		rc = tsarc_cmd_arg(&cmd, args[i]);
	if (!rc)
		rc = op->c.tr->capture(op->c.tr, &op->c, &cmd, TSARC_CAPTURE_MAX, out);
	tsarc_cmd_free(&cmd);
	return rc;
}

/* reply_error of the error reply `out`, redis-cli's answer to `args`. */
static int cli_reply_error(const redis_op *op, const char *const args[], const char *out)
{
	char where[300];

	swap_where(op, where, sizeof(where));
	return reply_error(op->s->component, where, args, out);
}

/* redis_cli_raw, with an error reply taken for an error (cli_reply_error):
 * read as an answer, it holds none of the lines a check looks for, and
 * INFO refused to the swap's user passed every check after the restart,
 * whatever the server had loaded. */
static int redis_cli(redis_op *op, const char *const args[], char **out)
{
	int rc = redis_cli_raw(op, args, out);

	if (!rc && *out && tsarc_redis_cli_error_reply(*out)) {
		rc = cli_reply_error(op, args, *out);
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* What the swap reads INFO for (INFO_SECTIONS), and CONFIG GET. */
static const char READS_INFO[] = "reads INFO to check that the server it restarts has "
	"loaded the backup's RDB, holds it within its maxmemory and keeps it once persistence is "
	"back on";
static const char READS_FILES[] = "reads where the server keeps its files (CONFIG GET)";
static const char WAITS_PING[] = "waits with PING for the server to stop and to come back up "
	"at each restart (a refusal tells neither)";

/* `rc`'s error, met before anything was touched, with what the swap
 * needed the command for (`reads`). */
static int swap_untouched(int rc, const char *reads)
{
	return tsarc_error_set(rc, "%s; the swap %s, and does not go on without it: nothing was "
		"changed (the server runs as before); or, where this host reaches the server, restore "
		"with \"mode\": \"logical\", which does not restart it", tsarc_error_last()->message,
		reads);
}

/*
 * The INFO sections the swap's checks read. Once it has restarted the
 * server on the backup's RDB, the swap knows only from them that it
 * loaded that file (persistence: swap_loaded_backup), holds it within its
 * maxmemory and evicted nothing (memory, stats: swap_loaded_fits; memory
 * and keyspace before, swap_room), and kept it across the restart with
 * persistence back (keyspace). Refused to the swap's user ("NOPERM", or
 * renamed: "ERR unknown command"), each check passed, and a server
 * restarted on another file, on none, or over its maxmemory, was reported
 * restored. Cluster: a node of several shards is refused before
 * (tsarc_redis_cli_require_whole), which asks CLUSTER INFO where INFO is
 * refused, and refuses a server neither tells of.
 */
static const char *const INFO_SECTIONS[] = {"persistence", "memory", "stats", "keyspace",
	"cluster", NULL};

/* Asks each of INFO_SECTIONS with `ask` (0: answered; an error reply is
 * an error; 1: not asked now), and PING, before anything is touched: the
 * first refused refuses the swap. PING is how the swap waits for the
 * server to stop and to come back up (redis_wait_ping); refused to its
 * user (NOPERM even while the server loads: Redis checks the ACL first),
 * the stopped server was taken for stopped at once and the restarted one
 * for not up, and the swap waited REDIS_WAIT_SECONDS, then failed with
 * the server restarted. */
typedef int (*info_ask_fn)(void *arg, const char *const args[]);
static int swap_info_asked(info_ask_fn ask, void *arg)
{
	static const char *const ping[] = {"PING", NULL};
	size_t i;
	int rc = 0;

	for (i = 0; !rc && INFO_SECTIONS[i]; i++) {
		const char *args[] = {"INFO", INFO_SECTIONS[i], NULL};
		rc = ask(arg, args);
	}
	if (rc < 0)
		return swap_untouched(rc, READS_INFO);
	rc = ask(arg, ping);
	return rc < 0 ? swap_untouched(rc, WAITS_PING) : 0;
}

/* The step's asker: redis-cli where the server runs (a redis_op). */
static int ask_cli(void *arg, const char *const args[])
{
	char *out = NULL;
	int rc = redis_cli(arg, args, &out);

	free(out);
	return rc;
}

/* op->valkey: whether the server is a Valkey, from its INFO server. */
static int swap_engine(redis_op *op)
{
	static const char *const args[] = {"INFO", "server", NULL};
	char *out = NULL;
	int rc = redis_cli(op, args, &out);

	if (rc)
		return swap_untouched(rc, "reads INFO server to know whether the server is a Valkey, "
			"whose RDB checker and server are valkey-check-rdb and valkey-server");
	op->valkey = tsarc_redis_info_valkey(out);
	free(out);
	return 0;
}

/* The plan's: tsarc's own client (`args`: one to three words). */
typedef struct info_client {
	const tsarc_step *s;
	tsarc_redis *dst;
} info_client;
static int ask_client(void *arg, const char *const args[])
{
	const info_client *c = arg;
	tsarc_redis_reply *rep = NULL;
	int rc = 0;

	if (tsarc_redis_command(c->dst, &rep, args[0], args[1], args[1] ? args[2] : NULL, NULL)) {
		tsarc_error_clear();
		return 1;
	}
	if (rep->type == '-')
		rc = reply_error(c->s->component, tsarc_redis_where(c->dst), args, rep->str);
	tsarc_redis_reply_free(rep);
	return rc;
}

/*
 * Before anything is touched, where the swap switches AOF back on once
 * the backup's RDB is loaded (step 4): whether the user may, by CONFIG
 * SET appendonly to the value the server already has, which changes
 * nothing. Refused only then, the swap stopped with the server on the
 * backup's data and persistence off (before, after waiting for an AOF
 * rewrite that never began).
 */
static int swap_aof_allowed(redis_op *op, const char *appendonly)
{
	const char *args[] = {"CONFIG", "SET", "appendonly", appendonly, NULL};
	char *out = NULL;
	int rc;

	if (!op->aof_on || !appendonly[0])
		return 0;
	rc = redis_cli(op, args, &out);
	free(out);
	return rc ? swap_untouched(rc, "switches AOF back on once the backup's RDB is loaded "
		"(CONFIG SET appendonly)") : 0;
}

/* redis.h: what the step asks before anything is touched (CONFIG GET,
 * INFO_SECTIONS), asked by the plan. */
int tsarc_redis_swap_access(const tsarc_step *s, tsarc_redis *dst)
{
	static const char *const config_args[] = {"CONFIG", "GET", "dir", NULL};
	info_client c = {s, dst};
	int rc = ask_client(&c, config_args);

	if (rc < 0)
		return swap_untouched(rc, READS_FILES);
	return rc ? 0 : swap_info_asked(ask_client, &c);
}

/* CONFIG GET NAME: the second line, or an empty string (unknown name). */
static int redis_config_get(redis_op *op, const char *name, char **value)
{
	const char *args[] = {"CONFIG", "GET", name, NULL};
	char *out = NULL, *nl;
	int rc;

	if ((rc = redis_cli(op, args, &out)))
		return rc;
	nl = strchr(out, '\n');
	*value = strndup(nl ? nl + 1 : "", nl ? strcspn(nl + 1, "\r\n") : 0);
	free(out);
	return *value ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

/* "db0:keys=12,expires=0,avg_ttl=0" -> "db0:keys=12;" for every db. */
static int redis_keyspace(redis_op *op, char **out)
{
	const char *args[] = {"INFO", "keyspace", NULL};
	char *text = NULL, *p;
	tsarc_buf b = TSARC_BUF_INIT;
	int rc;

	if ((rc = redis_cli(op, args, &text)))
		return rc;
	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, "db", 2)) {
			size_t len = strcspn(p, ",\r\n");
			tsarc_buf_append(&b, p, len);
			tsarc_buf_append(&b, ";", 1);
		}
	}
	free(text);
	*out = tsarc_buf_detach(&b);
	return *out ? 0 : tsarc_error_last()->code;
}

/* Asks redis-cli `args` every 100 ms, for up to REDIS_WAIT_SECONDS, until
 * `judge` (given redis-cli's result and answer) says 1: done; 0: ask
 * again; or a negative error. Returns 0 when done, 1 when the time ran
 * out, or the error; a signal stops it. */
typedef int (*redis_judge_fn)(redis_op *op, int rc, const char *out, void *arg);
static int redis_poll(redis_op *op, const char *const args[], redis_judge_fn judge, void *arg)
{
	int i, r;

	for (i = 0; i < REDIS_WAIT_SECONDS * 10; i++) {
		char *out = NULL;
		if (tsarc_interrupted())
			return tsarc_interrupt_error();
		r = redis_cli(op, args, &out);
		r = judge(op, r, out, arg);
		free(out);
		if (r)
			return r < 0 ? r : 0;
		usleep(100000);
	}
	return 1;
}

/* What a wait for PING watches: the answer wanted and, for a server
 * being started on this host, its pid before the restart (a pid file
 * that names another, dead process is a server that exited at start). */
typedef struct ping_wait {
	int want_up;
	long old_pid; /* -1: not watched */
} ping_wait;

/* Whether process `pid` of this host is gone: no such process, or one
 * that has exited and waits to be reaped (a zombie, where nothing reaps
 * the daemon's orphans). */
static int process_gone(long pid)
{
	char path[64], *stat = NULL, *close_paren;
	int gone;

	if (kill((pid_t)pid, 0) != 0)
		return errno == ESRCH;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (tsarc_read_file(path, 4096, &stat, NULL))
		return 0;
	/* "PID (COMM) STATE ...": COMM may hold anything, the last ')' ends it. */
	close_paren = strrchr(stat, ')');
	gone = close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
	free(stat);
	return gone;
}

/* The server's reason, when it logs to a file here: the message of the
 * last warning line (" # ") in the last 4 KiB of its log, or "". */
static void redis_log_reason(redis_op *op, char *out, size_t size)
{
	char tail[4097], *line = NULL, *p;
	struct stat st;
	ssize_t n;
	int fd;

	out[0] = 0;
	if (!(op->c.tr->caps & TSARC_TR_HOST_FILES) || !op->logfile || !op->logfile[0])
		return;
	if ((fd = open(op->logfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	n = pread(fd, tail, sizeof(tail) - 1, st.st_size > 4096 ? st.st_size - 4096 : 0);
	close(fd);
	if (n <= 0)
		return;
	tail[n] = 0;
	for (p = tail; (p = strstr(p, " # ")); p += 3)
		line = p + 3;
	if (line)
		snprintf(out, size, "%.*s", (int)strcspn(line, "\r\n"), line);
}

/* The pid in the server's pid file, when it is a file of this host; 0
 * when there is none. */
static long redis_pidfile_pid(redis_op *op)
{
	char *text = NULL;
	long pid = 0;

	if ((op->c.tr->caps & TSARC_TR_HOST_FILES) && op->pidfile && op->pidfile[0] &&
		!tsarc_read_file(op->pidfile, REDIS_CONF_MAX, &text, NULL))
		pid = strtol(text, NULL, 10);
	free(text);
	return pid;
}

/* Whether PING is answered (or not) as the ping_wait `arg` wants; an
 * error when the server being started has exited, or when PING is
 * refused to the user (NOPERM, or renamed: asked before anything was
 * touched, so only an ACL changed since): that is a server answering,
 * neither down nor loading, and no wait would tell more. */
static int judge_ping(redis_op *op, int rc, const char *out, void *arg)
{
	const ping_wait *w = arg;
	char reason[400];
	long pid;

	if (rc == TSARC_EACCESS || rc == TSARC_EUNSUPPORTED)
		return rc;
	if ((!rc && out && !strncmp(out, "PONG", 4)) == w->want_up)
		return 1;
	if (!w->want_up || w->old_pid < 0)
		return 0;
	pid = redis_pidfile_pid(op);
	if (pid <= 0 || pid == w->old_pid || !process_gone(pid))
		return 0;
	redis_log_reason(op, reason, sizeof(reason));
	return tsarc_error_set(TSARC_EIO, "component '%s': Redis exited while starting (pid %ld)%s%s",
		op->s->component, pid, reason[0] ? ": " : "", reason);
}

/* Waits for the server to answer PING (want_up) or to stop answering;
 * `old_pid` as in ping_wait. */
static int redis_wait_ping(redis_op *op, int want_up, long old_pid)
{
	static const char *const args[] = {"PING", NULL};
	ping_wait w = {want_up, old_pid};
	int rc = redis_poll(op, args, judge_ping, &w);

	if (rc <= 0)
		return rc;
	return tsarc_error_set(TSARC_EIO, "component '%s': Redis %s within %d s", op->s->component,
		want_up ? "did not answer PING (still loading or not started)" : "did not stop",
		REDIS_WAIT_SECONDS);
}

/* When the line [line, line + len) of a redis.conf is the directive
 * `name` (leading blanks allowed), what follows the name; else NULL. */
static const char *conf_directive(const char *line, size_t len, const char *name)
{
	const char *end = line + len, *q = line;
	size_t n = strlen(name);

	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if ((size_t)(end - q) < n || strncmp(q, name, n))
		return NULL;
	q += n;
	return q == end || *q == ' ' || *q == '\t' ? q : NULL;
}

/* Persistence off: every save line and appendonly commented out, then
 * save "" and appendonly no (the seed's edit of redis-config). The text
 * holds the configuration's requirepass (and masterauth): the buffer is
 * a wiped one, so that each block it outgrows is wiped before it is
 * given back, and the caller frees the result with tsarc_secure_free_str,
 * as every copy of the configuration here (redis_op's orig_conf, the
 * transport's cfg). */
char *tsarc__redis_persistence_off(const char *conf)
{
	tsarc_buf b;
	const char *p = conf;

	tsarc_buf_init_wiped(&b);

	while (*p) {
		size_t len = strcspn(p, "\n");
		if (conf_directive(p, len, "save") || conf_directive(p, len, "appendonly"))
			tsarc_buf_puts(&b, "# tsarc restore: ");
		tsarc_buf_append(&b, p, len);
		tsarc_buf_puts(&b, "\n");
		p += len;
		if (*p == '\n')
			p++;
	}
	tsarc_buf_puts(&b, "save \"\"\nappendonly no\n");
	/* NULL, the bytes wiped, when an append failed: never a text with a
	 * line (requirepass, a save) left out. */
	return tsarc_buf_detach(&b);
}

/* The value of the last active `name` line of a redis.conf text (Redis
 * takes the last one), blanks before it skipped, up to the line's end
 * (*end); NULL when there is none. */
static const char *conf_last(const char *conf, const char *name, const char **end)
{
	const char *p = conf, *v, *found = NULL;

	while (p && *p) {
		size_t len = strcspn(p, "\n");
		if ((v = conf_directive(p, len, name))) {
			while (v < p + len && (*v == ' ' || *v == '\t'))
				v++;
			found = v;
			*end = p + len;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return found;
}

/* Whether a redis.conf text turns AOF on: its last active appendonly
 * line says yes. */
static int conf_wants_aof(const char *conf)
{
	const char *end = NULL, *v = conf_last(conf, "appendonly", &end);

	return v && (size_t)(end - v) >= 3 && !strncmp(v, "yes", 3) &&
		(v + 3 == end || v[3] == ' ' || v[3] == '\t' || v[3] == '\r');
}

/* redis.h: the last active `name` line, as Redis reads a memory size. */
int tsarc__redis_conf_bytes(const char *conf, const char *name, unsigned long long *v)
{
	static const struct { const char *unit; unsigned long long mul; } units[] = {
		{"", 1}, {"b", 1}, {"k", 1000}, {"kb", 1024}, {"m", 1000000}, {"mb", 1048576},
		{"g", 1000000000}, {"gb", 1073741824},
	};
	const char *end = NULL, *p = conf_last(conf, name, &end);
	unsigned long long n = 0;
	size_t i, len;

	if (!p || p == end || *p < '0' || *p > '9')
		return 0;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (n > (~0ull - 9) / 10)
			return 0;
		n = n * 10 + (unsigned long long)(*p - '0');
	}
	len = strcspn(p, " \t\r\n");
	if (p + len > end)
		len = (size_t)(end - p);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].unit) == len && !strncasecmp(p, units[i].unit, len)) {
			if (n > ~0ull / units[i].mul)
				return 0;
			*v = n * units[i].mul;
			return 1;
		}
	return 0;
}

/* Sets the persistence configuration, with `saved` (the original) kept
 * aside durably before or with the change, or what was kept removed
 * (NULL). redis.conf's folder may be writable by others (the redis group
 * on Debian): the transport's writer never writes through what they plant. */
static int redis_set_conf(redis_op *op, const char *text, const char *saved)
{
	int rc = op->c.tr->write_config(op->c.tr, &op->cfg, text, saved);

	if (rc)
		tsarc_error_prefix("component '%s'", op->s->component);
	return rc;
}

/* Persistence off, the original kept durably first. */
static int redis_switch_off(redis_op *op, const char *off)
{
	op->conf_switched = 1;
	return redis_set_conf(op, off, op->orig_conf);
}

/* The undo: the original configuration back, the kept copy gone. Runs
 * once, from the step (done or failed) or from the signal thread when the
 * process is ended before the step could (interrupt.h). */
static int redis_undo(void *arg)
{
	redis_op *op = arg;
	int rc;

	if ((rc = redis_set_conf(op, op->orig_conf, NULL)))
		return rc;
	op->conf_switched = 0;
	return 0;
}

/*
 * An earlier run that was killed mid-swap left persistence off and the
 * original saved. The configuration found is then not the original: take
 * the saved one and put it back before anything else. Only when the
 * configuration is exactly what that run wrote; if someone changed it
 * since, guessing could undo their fix, so the operator decides.
 */
static int redis_undo_earlier(redis_op *op)
{
	const char *where = op->cfg.where;
	char *saved = NULL, *off = NULL;
	int rc = 0, leftover;

	/* What an earlier run kept, as the transport read it. */
	if (!op->cfg.saved)
		return 0;
	if (!(saved = strdup(op->cfg.saved)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!(off = tsarc__redis_persistence_off(saved))) {
		tsarc_secure_free_str(saved);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	leftover = !strcmp(op->orig_conf, saved);
	if (!leftover && strcmp(op->orig_conf, off)) {
		rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': an earlier restore was "
			"interrupted with persistence switched off and kept the original configuration "
			"in %s, but %s has been changed since: put the right configuration in place "
			"and remove %s, then run the restore again", op->s->component,
			op->cfg.saved_where, where, op->cfg.saved_where);
	} else {
		/* The original is what the saved copy says. */
		tsarc_secure_free_str(op->orig_conf);
		op->orig_conf = saved;
		saved = NULL;
		if (!(rc = redis_undo(op)) && asprintf(&op->earlier, "%s: an earlier interrupted "
			"restore %s; the original configuration is back", where, leftover ?
			"had already put the configuration back" : "had left persistence off") < 0)
			op->earlier = NULL;
	}
	tsarc_secure_free_str(saved);
	tsarc_secure_free_str(off);
	return rc;
}

/* SAVE, and its answer checked: redis-cli's status does not say an error
 * reply (a failed save, a user that may not). */
static int redis_save(redis_op *op)
{
	static const char *const args[] = {"SAVE", NULL};
	char *out = NULL;
	int rc;

	if ((rc = redis_cli(op, args, &out)))
		return rc;
	if (!out || strncmp(out, "OK", 2))
		rc = tsarc_error_set(TSARC_EIO, "component '%s': Redis did not save its data set "
			"before the restart (SAVE: %.200s)", op->s->component, out ? out : "");
	free(out);
	return rc;
}

/* Whether the server holds writes that are on disk nowhere: its RDB is
 * older than its data set (rdb_changes_since_last_save) and no AOF runs
 * (a shutdown flushes the AOF, with or without SAVE). An answer that says
 * neither counts as yes: a save too many costs time, one too few data. */
static int redis_unsaved(redis_op *op, int *unsaved)
{
	static const char *const args[] = {"INFO", "persistence", NULL};
	char *out = NULL;
	const char *p;
	int rc;

	*unsaved = 1;
	if ((rc = redis_cli(op, args, &out)))
		return rc;
	if (out && strstr(out, "aof_enabled:1"))
		*unsaved = 0;
	else if (out && (p = strstr(out, "rdb_changes_since_last_save:")))
		*unsaved = strtoll(p + strlen("rdb_changes_since_last_save:"), NULL, 10) != 0;
	free(out);
	return 0;
}

/* Stops a server this host starts by command: SHUTDOWN (SAVE or
 * NOSAVE; a server that is down or loading takes it too), a wait for
 * its PID when it is this host's, then until PING goes unanswered. Its
 * pid (0 when unknown) into *pid_out. */
static int redis_stop(redis_op *op, int save, long *pid_out)
{
	const char *args[] = {"SHUTDOWN", save ? "SAVE" : "NOSAVE", NULL};
	char *out = NULL;
	long pid = redis_pidfile_pid(op);
	int i, rc = 0;

	*pid_out = pid;
	/* SHUTDOWN closes the connection: redis-cli's status says nothing.
	 * Refused to the user (NOPERM, renamed), the server does not stop:
	 * said at once (before, after REDIS_WAIT_SECONDS of waiting for it). */
	if (!redis_cli_raw(op, args, &out) && out && tsarc_redis_error_refused(out))
		rc = cli_reply_error(op, args, out);
	free(out);
	if (rc)
		return rc;
	op->server = 1;
	for (i = 0; pid > 0 && i < REDIS_WAIT_SECONDS * 20 && !process_gone(pid); i++) {
		if (tsarc_interrupted())
			return tsarc_interrupt_error();
		usleep(50000);
	}
	if (pid > 0 && !process_gone(pid))
		return tsarc_error_set(TSARC_EIO, "component '%s': Redis (pid %ld) did not stop",
			op->s->component, pid);
	return redis_wait_ping(op, 0, -1);
}

/* Starts a stopped server with start_command (default redis-server
 * CONFIG_FILE, valkey-server for a Valkey: swap_server), run through the
 * transport like every other command, and
 * waits for it to answer; one that exits at start (its pid file names a
 * process other than `old_pid`, gone) is seen at once. */
static int redis_start(redis_op *op, long old_pid)
{
	const cJSON *start = cJSON_GetObjectItemCaseSensitive(op->s->recipe, "start_command"), *a;
	char *out = NULL;
	tsarc_cmd cmd;
	int rc;

	tsarc_cmd_init(&cmd);
	if (cJSON_IsArray(start)) {
		cJSON_ArrayForEach(a, start)
			if (cJSON_IsString(a))
				tsarc_cmd_arg(&cmd, a->valuestring);
	} else {
		tsarc_cmd_arg(&cmd, swap_server(op));
		tsarc_cmd_arg(&cmd, op->cfg.file);
	}
	/* The server daemonizes (or a service manager starts it): the
	 * command returns once it runs. */
	rc = cmd.argc ? op->c.tr->capture(op->c.tr, &op->c, &cmd, TSARC_CAPTURE_MAX, &out) :
		tsarc_error_set(TSARC_ENOMEM, "out of memory");
	free(out);
	tsarc_cmd_free(&cmd);
	if (rc || (rc = redis_wait_ping(op, 1, old_pid)))
		return rc;
	op->server = op->conf_switched ? 2 : 0;
	return 0;
}

/* Restarts the server with the configuration in place and waits for it
 * to answer (after loading its data). Where the transport rolls workloads
 * out: a rollout, then the new pod; elsewhere redis_stop, redis_start.
 * `save`: what the server holds in memory is written to its dump file
 * first (SHUTDOWN SAVE; before a rollout, SAVE: the pod's SIGTERM saves
 * only where the running configuration has save points). */
static int redis_restart(redis_op *op, int save)
{
	tsarc_transport *tr = op->c.tr;
	long pid = 0;
	int rc;

	if (!tr->rollout)
		return (rc = redis_stop(op, save, &pid)) ? rc : redis_start(op, pid);
	if (save && (rc = redis_save(op)))
		return rc;
	op->server = 1;
	if ((rc = tr->rollout(tr, op->workload)))
		return rc;
	/* The new pod, under the cleanup registry: an exit cleanup that
	 * removes the incoming RDB must not read it half-written. */
	tsarc_cleanup_hold();
	tsarc_component_clear(&op->c);
	rc = op->c.tr->locate(op->c.tr, &op->c);
	tsarc_cleanup_release();
	if (rc || (rc = redis_wait_ping(op, 1, -1)))
		return rc;
	op->server = op->conf_switched ? 2 : 0;
	return 0;
}

/* Runs a shell script in the data directory (this host or the pod),
 * with `extra` (when not NULL) as its fifth argument; its output into
 * *outp (NULL: dropped). */
static int redis_shell_out(redis_op *op, const char *script, const char *extra, char **outp)
{
	tsarc_cmd cmd;
	char *out = NULL;
	int rc;

	tsarc_cmd_init(&cmd);
	if (!(rc = tsarc_cmd_arg(&cmd, "sh")) && !(rc = tsarc_cmd_arg(&cmd, "-c")) &&
		!(rc = tsarc_cmd_arg(&cmd, script)) && !(rc = tsarc_cmd_arg(&cmd, "sh")) &&
		!(rc = tsarc_cmd_arg(&cmd, op->data_dir)) && !(rc = tsarc_cmd_arg(&cmd, op->dbfilename)) &&
		!(rc = tsarc_cmd_arg(&cmd, op->aof_file)) && !(rc = tsarc_cmd_arg(&cmd, op->aof_dir)) &&
		!(rc = extra ? tsarc_cmd_arg(&cmd, extra) : 0))
		rc = op->c.tr->capture(op->c.tr, &op->c, &cmd, TSARC_CAPTURE_MAX, &out);
	if (!rc && outp) {
		*outp = out;
		out = NULL;
	}
	free(out);
	tsarc_cmd_free(&cmd);
	return rc;
}

static int redis_shell(redis_op *op, const char *script)
{
	return redis_shell_out(op, script, NULL, NULL);
}

/* $1 data dir, $2 dbfilename, $3 appendfilename, $4 appenddirname; prints
 * the time in the names of the files moved aside, for PUT_BACK_SCRIPT. */
static const char MOVE_ASIDE_SCRIPT[] =
	"set -e; cd \"$1\"; ts=$(date -u +%Y%m%dT%H%M%SZ); echo \"$ts\"; "
	"for f in \"$2\" \"$3\" \"$4\"; do [ -n \"$f\" ] || continue; "
	"if [ -e \"$f\" ]; then mv \"$f\" \"$f-old.$ts\"; fi; done; "
	"mv \"$2.tsarc-incoming\" \"$2\"";

/* $1 to $4 as above, $5 the time MOVE_ASIDE_SCRIPT printed: the backup's
 * RDB removed (the repository has it), the server's own files back under
 * their names. A file made since under one of those names (the AOF a
 * server started with appendonly yes made of what it loaded) is in the
 * way: mv would put the AOF folder inside it. It is moved aside as
 * NAME-tsarc-loaded.$5, and its path printed; nothing is deleted. */
static const char PUT_BACK_SCRIPT[] =
	"set -e; cd \"$1\"; rm -f \"$2\"; "
	"for f in \"$2\" \"$3\" \"$4\"; do [ -n \"$f\" ] || continue; "
	"[ -e \"$f-old.$5\" ] || continue; "
	"if [ -e \"$f\" ]; then mv \"$f\" \"$f-tsarc-loaded.$5\"; "
	"printf '%s ' \"$1/$f-tsarc-loaded.$5\"; fi; "
	"mv \"$f-old.$5\" \"$f\"; done";

/* $1 data dir, $2 dbfilename. */
static const char REMOVE_INCOMING_SCRIPT[] = "rm -f \"$1/$2.tsarc-incoming\"";

/* $1 data dir, $2 dbfilename, $5 the checker (swap_checker): the
 * incoming RDB read by it where the server runs; its status printed, not
 * returned (the transport would take it for its own failure and drop the
 * report). */
static const char CHECK_INCOMING_SCRIPT[] =
	"cd \"$1\" || exit 1; "
	"command -v \"$5\" >/dev/null 2>&1 || { echo 'tsarc-check: missing'; exit 0; }; "
	"s=0; \"$5\" \"$2.tsarc-incoming\" 2>&1 || s=$?; echo \"tsarc-check: $s\"";

/* The number of databases the server has after the restart: the lower of
 * the running server's and its configuration's (the restart reads the
 * configuration; in a cluster it may not have been rolled out yet). */
static int redis_databases(redis_op *op, long long *n)
{
	const char *end = NULL, *v = conf_last(op->restart_conf, "databases", &end);
	char *live = NULL;
	long long c;
	int rc;

	if ((rc = redis_config_get(op, "databases", &live)))
		return rc;
	*n = live[0] ? strtoll(live, NULL, 10) : 16;
	free(live);
	if (v && (c = strtoll(v, NULL, 10)) > 0 && c < *n)
		*n = c;
	return 0;
}

/*
 * Before the server is touched: can it load the backup's RDB? A server
 * that cannot exits at start, after its files were moved aside, and
 * stays down (rdbcheck.h). Where the server's host has no checker of its
 * own (swap_checker), the swap goes on and says it was not checked.
 */
static int redis_check_incoming(redis_op *op, const char **unchecked)
{
	tsarc_rdb_check chk;
	char *out = NULL;
	long long dbs = 0;
	int rc;

	*unchecked = NULL;
	op->rdb_keys = -1;
	if ((rc = redis_shell_out(op, CHECK_INCOMING_SCRIPT, swap_checker(op), &out)) ||
		(rc = tsarc_rdb_check_parse(out, &chk))) {
		free(out);
		tsarc_error_prefix("component '%s': reading the backup's RDB with %s",
			op->s->component, swap_checker(op));
		return rc;
	}
	free(out);
	if (!chk.present) {
		snprintf(op->unchecked, sizeof(op->unchecked), "not read before the swap, nor the "
			"keys loaded counted against it: the server's host has no %s", swap_checker(op));
		*unchecked = op->unchecked;
		return 0;
	}
	if (!chk.ok)
		return tsarc_error_set(TSARC_EUNSUPPORTED, "component '%s': the server's "
			"%s refuses the backup's RDB (%s), so the server would not start "
			"with it: nothing was changed (the server runs as before)", op->s->component,
			swap_checker(op), chk.error);
	if ((rc = redis_databases(op, &dbs)))
		return rc;
	if (chk.max_db >= dbs)
		return tsarc_error_set(TSARC_EUNSUPPORTED, "component '%s': the backup's RDB holds "
			"database %lld, the server has %lld databases (0 to %lld) and would not start "
			"with it: nothing was changed (the server runs as before); raise its "
			"\"databases\" to at least %lld first", op->s->component, chk.max_db, dbs, dbs - 1,
			chk.max_db + 1);
	op->rdb_keys = chk.keys;
	return 0;
}

/* Our temporary file in the server's folder, partial or unused: removed
 * on failure or interruption (interrupt.h). */
static int redis_drop_incoming(void *arg)
{
	return redis_shell(arg, REMOVE_INCOMING_SCRIPT);
}

/* The strings a redis_op owns. */
static const size_t OP_STRINGS[] = {
	offsetof(redis_op, data_dir), offsetof(redis_op, dbfilename), offsetof(redis_op, aof_dir),
	offsetof(redis_op, aof_file), offsetof(redis_op, pidfile), offsetof(redis_op, logfile),
	offsetof(redis_op, orig_conf), offsetof(redis_op, restart_conf),
	offsetof(redis_op, earlier),
};

static void redis_op_free(redis_op *op)
{
	TSARC_SECURE_FREE_FIELDS(op, OP_STRINGS);
	tsarc_server_config_dispose(&op->cfg);
	tsarc_conn_free(&op->conn);
	tsarc_component_clear(&op->c);
}

/* Whether the AOF rewrite is over (INFO persistence). */
static int judge_aof(redis_op *op, int rc, const char *out, void *arg)
{
	int busy;

	(void)arg;
	if (rc)
		return rc;
	busy = strstr(out, "aof_rewrite_in_progress:1") || strstr(out, "aof_rewrite_scheduled:1") ||
		strstr(out, "aof_enabled:0");
	if (!busy && strstr(out, "aof_last_bgrewrite_status:err"))
		return tsarc_error_set(TSARC_EIO, "component '%s': Redis could not write its "
			"AOF (aof_last_bgrewrite_status:err)", op->s->component);
	return !busy;
}

static int redis_wait_aof(redis_op *op)
{
	static const char *const args[] = {"INFO", "persistence", NULL};
	int rc = redis_poll(op, args, judge_aof, NULL);

	if (rc <= 0)
		return rc;
	return tsarc_error_set(TSARC_EIO, "component '%s': the AOF rewrite did not finish",
		op->s->component);
}

/* The time MOVE_ASIDE_SCRIPT printed, as date -u +%Y%m%dT%H%M%SZ makes
 * it (it goes back into a command); 0 when `out` is not that. */
static int moved_aside_at(const char *out, char ts[17])
{
	size_t i;

	if (!out || strlen(out) < 16 || (out[16] && out[16] != '\n' && out[16] != '\r'))
		return 0;
	for (i = 0; i < 16; i++)
		if (i == 8 ? out[i] != 'T' : i == 15 ? out[i] != 'Z' : (out[i] < '0' || out[i] > '9'))
			return 0;
	memcpy(ts, out, 16);
	ts[16] = 0;
	return 1;
}

/*
 * The server did not come up with the backup's RDB in place (it exited
 * at start: an RDB it cannot load, which nothing read first where its
 * host has no redis-check-rdb; or it did not answer in time): back to the
 * state before the step, rather than a server left down. The server
 * stopped (if it still runs or loads), the backup's RDB removed and its
 * own files put back (moved aside at `ts`), the original configuration
 * back, the server started on them. What the server made since in their
 * way, moved aside, is named in *made ("" when nothing).
 */
static int redis_put_back(redis_op *op, const char *ts, char **made)
{
	long pid = 0;
	int rc;

	if (!op->c.tr->rollout && (rc = redis_stop(op, 0, &pid)))
		return rc;
	if ((rc = redis_shell_out(op, PUT_BACK_SCRIPT, ts, made)) ||
		(rc = tsarc_cleanup_run(&op->undo)))
		return rc;
	return op->c.tr->rollout ? redis_restart(op, 0) : redis_start(op, pid);
}

/* Step 3 failed with `rc` (`why`: the restart, or the server does not
 * hold the RDB it loaded): the server's own state put back when it can
 * be, and an error that says which state it is in. */
static int redis_refused(redis_op *op, int rc, const char *ts, const char *why)
{
	tsarc_saved_error e;
	char *made = NULL;
	size_t n;

	if (tsarc_interrupted())
		return rc; /* the signal's cleanup puts the configuration back */
	tsarc_error_save(&e);
	if (redis_put_back(op, ts, &made))
		rc = tsarc_error_set(rc, "%s; putting the server's own files back failed too (%s)",
			tsarc_error_saved_message(&e), tsarc_error_last()->message);
	else {
		for (n = made ? strlen(made) : 0; n && (made[n - 1] == ' ' || made[n - 1] == '\n'); n--)
			;
		rc = tsarc_error_set(rc, "%s (the server %s: its own files and configuration were put "
			"back, it runs as before the restore%s%.*s)", tsarc_error_saved_message(&e), why,
			n ? "; what it "
			"made of the backup's RDB was in their way, moved aside: " : "", (int)n,
			n ? made : "");
	}
	free(made);
	tsarc_error_forget(&e);
	return rc;
}

/* The maxmemory and maxmemory-policy of `conf`, the configuration the
 * restart reads, over those of *m where it says them (a CONFIG SET since
 * the server started does not survive the restart): 1 when it says its
 * maxmemory. */
static int conf_limits(const char *conf, tsarc_redis_memory *m)
{
	unsigned long long limit;
	const char *end = NULL, *pol;
	int has_limit = tsarc__redis_conf_bytes(conf, "maxmemory", &limit);

	if (has_limit)
		m->maxmemory = limit;
	if ((pol = conf_last(conf, "maxmemory-policy", &end)) && pol < end) {
		size_t len = strcspn(pol, " \t\r\n");
		snprintf(m->policy, sizeof(m->policy), "%.*s",
			(int)(len < (size_t)(end - pol) ? len : (size_t)(end - pol)), pol);
	}
	return has_limit;
}

/*
 * Whether the server holds the backup once swapped in (memory.c
 * tsarc_redis_room, the check of the online paths), asked before its
 * files are touched: it loads an RDB at start whatever its maxmemory, and
 * then evicts restored keys at the next write (an eviction policy) or
 * refuses every write (noeviction). The target as redis-cli reads it
 * where the server runs (INFO memory and keyspace), with the maxmemory
 * and policy of the configuration the swap restarts it with where that
 * says them (a CONFIG SET since its start is gone after the restart);
 * the backup's need as its snapshot records it, or its RDB's size
 * (tsarc_redis_rdb_need). TSARC_EUNSAFE when it does not fit.
 */
static int swap_room(redis_op *op, char *text, size_t textsz)
{
	static const char *const mem_args[] = {"INFO", "memory", NULL};
	static const char *const ks_args[] = {"INFO", "keyspace", NULL};
	char *mem = NULL, *ks = NULL, where[300];
	tsarc_redis_memory m;
	tsarc_redis_need need;
	int rc;

	if (!(rc = redis_cli(op, mem_args, &mem)) && !(rc = redis_cli(op, ks_args, &ks))) {
		tsarc_redis_memory_parse(&m, mem, ks);
		if (m.known)
			conf_limits(op->restart_conf, &m);
		tsarc_redis_rdb_need(op->s, &need);
		swap_where(op, where, sizeof(where));
		if ((rc = tsarc_redis_room(where, &m, &need, text, textsz)))
			tsarc_error_prefix("component '%s'", op->s->component);
	}
	free(mem);
	free(ks);
	return rc;
}

/* The names of the server's configuration in the recipe. */
static void swap_config_names(redis_op *op)
{
	op->cfg.file = tsarc_spec_str(op->s->recipe, "config_file");
	op->cfg.object = tsarc_spec_str(op->s->recipe, "config_map");
	op->cfg.key = tsarc_spec_str(op->s->recipe, "config_key");
	if (!op->cfg.key)
		op->cfg.key = "redis.conf";
}

/*
 * Step 3's server, on the backup's RDB: within its maxmemory, and nothing
 * evicted since it started (INFO memory, INFO stats)? The check before the
 * swap may be low where the snapshot records nothing of the source's
 * memory (an older tsarc): the RDB's size, and compressed values take
 * many times more in memory. Redis loaded the RDB whatever its limit;
 * with noeviction it would refuse every write, with a policy it has
 * already evicted restored keys at its first command (eviction runs
 * before each one). TSARC_EUNSAFE then: the step puts its own files back.
 */
static int swap_loaded_fits(redis_op *op)
{
	static const char *const mem_args[] = {"INFO", "memory", NULL};
	static const char *const stats_args[] = {"INFO", "stats", NULL};
	char *mem = NULL, *stats = NULL, ev[32] = "", where[300];
	unsigned long long evicted = 0;
	tsarc_redis_memory m;
	int rc;

	if (!(rc = redis_cli(op, mem_args, &mem)) && !(rc = redis_cli(op, stats_args, &stats))) {
		tsarc_redis_memory_parse(&m, mem, NULL);
		if (stats && tsarc_redis_info_line(stats, "evicted_keys", ev, sizeof(ev)))
			evicted = strtoull(ev, NULL, 10);
		if (m.known && m.maxmemory && (evicted || m.used > m.maxmemory)) {
			swap_where(op, where, sizeof(where));
			rc = tsarc_error_set(TSARC_EUNSAFE, "component '%s': Redis at %s, started on "
				"the backup's RDB, cannot hold it within its maxmemory (used_memory %.1f "
				"MiB, maxmemory %.1f MiB, policy %s, %llu keys evicted since it started): "
				"the estimate before the swap was low", op->s->component, where,
				(double)m.used / 1048576.0, (double)m.maxmemory / 1048576.0, m.policy,
				evicted);
		}
	}
	free(mem);
	free(stats);
	return rc;
}

/* $1 an include's argument (a glob, as Redis 7 reads it), $2 the folder
 * a relative one is read from ("": where the command runs): every file
 * it names, in order, each ended by a newline. A missing file stops it,
 * as it stops Redis; a pattern that matches none names none. */
static const char INCLUDE_SCRIPT[] =
	"IFS=; [ -z \"$2\" ] || cd \"$2\" || exit 1; "
	"for f in $1; do if [ ! -e \"$f\" ]; then case $1 in *[*?[]*) continue;; esac; fi; "
	"cat -- \"$f\" || exit 1; echo; done";

/* The first word of the value of the last active `name` line of `conf`,
 * without the quotes Redis takes off ("a b" or 'a b'), into `out`; 0
 * when there is none. */
static int conf_word(const char *conf, const char *name, char *out, size_t outsz)
{
	const char *end = NULL, *v = conf_last(conf, name, &end);
	size_t len;

	if (!v || v == end)
		return 0;
	if ((*v == '"' || *v == '\'') && memchr(v + 1, *v, (size_t)(end - v - 1))) {
		len = (size_t)((const char *)memchr(v + 1, *v, (size_t)(end - v - 1)) - v - 1);
		v++;
	} else {
		len = strcspn(v, " \t\r\n");
		if (len > (size_t)(end - v))
			len = (size_t)(end - v);
	}
	snprintf(out, outsz, "%.*s", (int)len, v);
	return 1;
}

/* `base` after a line `dir DIR`: Redis changes into DIR at once, from
 * where it was. */
static void conf_chdir(char *base, size_t basesz, const char *dir)
{
	size_t n = dir[0] == '/' ? 0 : strlen(base);

	snprintf(base + n, basesz - n, "%s%s", n ? "/" : "", dir);
}

/* How deep includes nest before the swap takes them for a loop. */
#define INCLUDE_DEPTH 8

/*
 * `conf` into `b` as Redis reads it at start: each include line replaced
 * by the files it names, read where the server runs, where it stands
 * (Redis reads an include at once, so a later line overrides it, and
 * it overrides the lines before it). A relative include is read from the
 * folder the last dir line before it names, as Redis has changed into it
 * by then (*base). The texts may hold requirepass: `b` is a wiped buffer
 * (a failed append: its detach gives NULL).
 */
static int conf_inline(redis_op *op, const char *conf, int depth, char *base, size_t basesz,
	tsarc_buf *b)
{
	const char *p = conf;
	char arg[1024];
	int rc = 0;

	while (!rc && *p) {
		size_t len = strcspn(p, "\n");
		char *line = strndup(p, len), *text = NULL;
		if (!line)
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		if (conf_directive(line, len, "include") && conf_word(line, "include", arg, sizeof(arg))) {
			const char *args[] = {"sh", "-c", INCLUDE_SCRIPT, "sh", arg, base, NULL};
			tsarc_cmd cmd;
			size_t i;
			if (depth >= INCLUDE_DEPTH)
				rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': includes nest deeper than "
					"%d at %s", op->s->component, INCLUDE_DEPTH, arg);
			tsarc_cmd_init(&cmd);
			for (i = 0; !rc && args[i]; i++)
				rc = tsarc_cmd_arg(&cmd, args[i]);
			if (!rc && (rc = op->c.tr->capture(op->c.tr, &op->c, &cmd, REDIS_CONF_MAX, &text)))
				tsarc_error_prefix("component '%s': reading %s, which %s includes",
					op->s->component, arg, op->cfg.where);
			tsarc_cmd_free(&cmd);
			if (!rc)
				rc = conf_inline(op, text, depth + 1, base, basesz, b);
			tsarc_secure_free_str(text);
		} else {
			if (conf_directive(line, len, "dir") && conf_word(line, "dir", arg, sizeof(arg)))
				conf_chdir(base, basesz, arg);
			tsarc_buf_append(b, p, len);
			tsarc_buf_puts(b, "\n");
		}
		tsarc_secure_free_str(line);
		p += len;
		if (*p == '\n')
			p++;
	}
	return rc;
}

/* The first option of a `redis-server [FILE] --name value ...` command
 * (or valkey-server's, which reads its options alike). */
static int first_option(const cJSON *start)
{
	const cJSON *a = cJSON_GetArrayItem(start, 1);

	return cJSON_IsString(a) && !strncmp(a->valuestring, "--", 2) ? 1 : 2;
}

/*
 * op->restart_conf: the configuration the restart reads, as Redis reads
 * it. The file (or ConfigMap) with its includes inlined (conf_inline);
 * where the server is started here by `redis-server FILE --name value
 * ...` or `valkey-server ...` (start_command), those options after it, as
 * Redis appends them: after the swap's edit of the file too
 * (op->start_aof).
 */
static int swap_restart_conf(redis_op *op)
{
	const cJSON *start = cJSON_GetObjectItemCaseSensitive(op->s->recipe, "start_command");
	const char *cmd0 = cJSON_IsArray(start) && cJSON_IsString(cJSON_GetArrayItem(start, 0)) ?
		cJSON_GetArrayItem(start, 0)->valuestring : NULL;
	const char *name = cmd0 && strrchr(cmd0, '/') ? strrchr(cmd0, '/') + 1 : cmd0;
	char base[1024] = "";
	size_t options_at;
	tsarc_buf b;
	int i, rc;

	tsarc_buf_init_wiped(&b);
	rc = conf_inline(op, op->orig_conf, 0, base, sizeof(base), &b);
	options_at = b.size;
	if (!rc && name && (!strcmp(name, "redis-server") || !strcmp(name, "valkey-server")))
		for (i = first_option(start); i < cJSON_GetArraySize(start); i++) {
			const cJSON *a = cJSON_GetArrayItem(start, i);
			const char *w = cJSON_IsString(a) ? a->valuestring : "";
			tsarc_buf_puts(&b, strncmp(w, "--", 2) ? "" : "\n");
			tsarc_buf_puts(&b, strncmp(w, "--", 2) ? w : w + 2);
			tsarc_buf_puts(&b, " ");
		}
	tsarc_buf_puts(&b, "\n");
	op->restart_conf = tsarc_buf_detach(&b);
	if (!rc && !op->restart_conf)
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	op->start_aof = !rc && conf_wants_aof(op->restart_conf + options_at);
	return rc;
}

/* A folder as a name to compare: its real path where it is a folder of
 * this host, else as written without trailing slashes. */
static void dir_key(const redis_op *op, const char *dir, char *out, size_t outsz)
{
	char real[4096];
	size_t len;

	if ((op->c.tr->caps & TSARC_TR_HOST_FILES) && realpath(dir, real))
		dir = real;
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	snprintf(out, outsz, "%.*s", (int)len, dir);
}

/*
 * Before anything is touched: does the restart load the file the
 * backup's RDB is written as? The RDB goes under the running server's
 * dir and dbfilename (CONFIG GET); the restart reads its configuration
 * (op->restart_conf). A CONFIG SET since the server started, or a
 * redis-config edited and never rolled out, makes them differ: the
 * restart would load the configuration's file (the server's old data, or
 * none) and the keyspace compared across the last restart would agree
 * with itself. A configuration without dir (the folder the server is
 * started in) or with a relative one is not compared here; the count of
 * keys loaded is, after the restart (swap_loaded_backup). Nor does the
 * restart load the RDB where start_command's options turn appendonly on
 * after the file the swap edits: it reads no AOF (moved aside), starts
 * empty and writes one of that.
 */
static int swap_conf_agrees(redis_op *op)
{
	char file[1024] = "dump.rdb", dir[1024], live[4096], conf[4096];
	const char *what = NULL, *is = NULL, *says = NULL;

	if (op->start_aof)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': its start_command turns "
			"appendonly on after the configuration file, where the swap switches persistence "
			"off: the restart would not load the backup's RDB; nothing was changed (the "
			"server runs as before): set appendonly in %s instead", op->s->component,
			op->cfg.where);
	conf_word(op->restart_conf, "dbfilename", file, sizeof(file));
	if (strcmp(file, op->dbfilename)) {
		what = "dbfilename";
		is = op->dbfilename;
		says = file;
	} else if (conf_word(op->restart_conf, "dir", dir, sizeof(dir)) && dir[0] == '/') {
		dir_key(op, op->data_dir, live, sizeof(live));
		dir_key(op, dir, conf, sizeof(conf));
		if (strcmp(live, conf)) {
			what = "dir";
			is = op->data_dir;
			says = dir;
		}
	}
	if (!what)
		return 0;
	return tsarc_error_set(TSARC_ECONFIG, "component '%s': Redis runs with %s %s, the "
		"configuration it is restarted with (%s) says %s %s: the restart would not load the "
		"backup's RDB, written as the running server names it; nothing was changed (the "
		"server runs as before): roll out the configuration, or set the server back to it, "
		"first", op->s->component, what, is, op->cfg.where, what, says);
}

/*
 * Step 3's server: did it load the backup's RDB? What it counted as it
 * loaded (INFO persistence: rdb_last_load_keys_loaded, and the keys it
 * dropped as expired, rdb_last_load_keys_expired; Redis 7.0 and later)
 * against every key redis-check-rdb read in that RDB: the same file gives
 * the same count whatever the time. Another file (the configuration names
 * another, appendonly turned on where the swap does not see it), or none,
 * gives another: TSARC_EIO, and the step puts the server's own files
 * back. Not compared where the RDB was not read (redis_check_incoming
 * says so), nor where the server does not say: *uncounted then says so
 * for the report. A refused INFO is an error (redis_cli).
 */
static int swap_loaded_backup(redis_op *op, const char **uncounted)
{
	static const char *const args[] = {"INFO", "persistence", NULL};
	char *out = NULL, loaded[32], expired[32], where[300];
	int rc;

	*uncounted = NULL;
	if (op->rdb_keys < 0)
		return 0;
	if ((rc = redis_cli(op, args, &out)))
		return rc;
	if (!out || !tsarc_redis_info_line(out, "rdb_last_load_keys_loaded", loaded,
		    sizeof(loaded)) ||
		!tsarc_redis_info_line(out, "rdb_last_load_keys_expired", expired, sizeof(expired)))
		*uncounted = "the keys it loaded not counted against the RDB's: the server does not "
			"say them (INFO persistence: rdb_last_load_keys_loaded, Redis 7.0 and later)";
	else if (strtoll(loaded, NULL, 10) + strtoll(expired, NULL, 10) != op->rdb_keys) {
		swap_where(op, where, sizeof(where));
		rc = tsarc_error_set(TSARC_EIO, "component '%s': Redis at %s, restarted on the "
			"backup's RDB (%s/%s, %lld keys), loaded %s keys and %s expired ones: it loaded "
			"another file (its configuration names another dir, dbfilename or appendonly "
			"than it ran with?)", op->s->component, where, op->data_dir, op->dbfilename,
			op->rdb_keys, loaded, expired);
	}
	free(out);
	return rc;
}

/* The server of `op` located, and redis-cli's login and TLS made ready to
 * reach it (tsarc_redis_cli_open; its files removed with
 * tsarc_redis_cli_tls_close), for the step and the plan alike. */
static int op_cli_open(redis_op *op)
{
	int rc;

	if ((rc = op->c.tr->locate(op->c.tr, &op->c)) || (rc = tsarc_step_conn(op->s, &op->conn)))
		return rc;
	return tsarc_redis_cli_open(&op->c, op->s->secret_doc, &op->conn, op->in_pod, &op->tls);
}

/* The plan's redis_op of step `s` (freed with redis_op_free, also on
 * failure): its component and the names of its configuration, nothing
 * located or read yet. */
static int plan_op(redis_op *op, tsarc_restore_ctx *r, const tsarc_step *s)
{
	int rc;

	memset(op, 0, sizeof(*op));
	op->r = r;
	op->s = s;
	if ((rc = tsarc_step_component(r, s, &op->c)))
		return rc;
	op->in_pod = (op->c.tr->caps & TSARC_TR_IN_WORKLOAD) != 0;
	swap_config_names(op);
	return 0;
}

/* op->orig_conf: the configuration as the transport keeps it now
 * (read_config), where it keeps one. */
static int plan_read_config(redis_op *op)
{
	int rc;

	if (!op->c.tr->read_config)
		return 0;
	if ((rc = op->c.tr->read_config(op->c.tr, &op->cfg))) {
		tsarc_error_prefix("component '%s'", op->s->component);
		return rc;
	}
	if (op->cfg.text && !(op->orig_conf = strdup(op->cfg.text)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return 0;
}

/* redis.h: swap_conf_agrees for the plan, with the configuration read as
 * the run reads it and the server's dir and dbfilename as given. */
int tsarc_redis_swap_admit(tsarc_restore_ctx *r, const tsarc_step *s, const char *dir,
	const char *dbfilename)
{
	redis_op op;
	int rc;

	if (!(rc = plan_op(&op, r, s)) && !(rc = op.c.tr->locate(op.c.tr, &op.c)) &&
		!(rc = plan_read_config(&op)) && op.orig_conf &&
		(!(op.data_dir = strdup(dir)) || !(op.dbfilename = strdup(dbfilename))))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!rc && op.orig_conf && !(rc = swap_restart_conf(&op)))
		rc = swap_conf_agrees(&op);
	redis_op_free(&op);
	return rc;
}

/*
 * op->orig_conf for the plan of a swap into a pod: the configuration its
 * restart will read, as the API server gives it, named in `from`. Where a
 * step of the restore applies it before this one (the 3scale profile's
 * configmaps, order 20, holds redis-config up to 2.15), the object that
 * step applies (the snapshot's); else the transport's as it is now
 * (read_config: kube reads the ConfigMap, no exec). The step reads it
 * when it runs, after those steps.
 */
static int plan_pod_config(redis_op *op, char *from, size_t fromsz)
{
	const tsarc_step *by = NULL;
	cJSON *doc = NULL;
	const char *text;
	int rc = TSARC_ENOTFOUND;

	if (op->cfg.object)
		rc = tsarc_restore_applied_before(op->r, op->s, "configmap", op->cfg.object, &doc, &by);
	if (rc == TSARC_ENOTFOUND) {
		tsarc_error_clear();
		rc = plan_read_config(op);
		snprintf(from, fromsz, "%s", op->cfg.where[0] ? op->cfg.where : "its configuration");
		return rc;
	}
	if (!rc) {
		snprintf(from, fromsz, "%s as step %s applies it first (the snapshot's)",
			op->cfg.object, by->component);
		text = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(doc, "data"), op->cfg.key);
		if (!text)
			rc = tsarc_error_set(TSARC_ECONFIG, "%s has no %s", from, op->cfg.key);
		else if (!(op->orig_conf = strdup(text)))
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	tsarc_secret_doc_free(doc);
	return rc;
}

/*
 * redis.h: the swap's checks as the plan can make them where the server
 * runs in its pod. A plan asks the server there only its version
 * (tsarc_redis_swap_pod_version) and reads no include: of swap_room it
 * has the configuration the restart reads (plan_pod_config) and the
 * backup's need (tsarc_redis_rdb_need). The swap
 * replaces the server's data whole, so its own data does not count, and
 * what it uses besides is not known: the room is at most the
 * configuration's maxmemory (limit_only), and a backup that does not fit
 * that does not fit the step's check either. Not checked, the text saying
 * why: a configuration that cannot be read now, one that includes a file
 * (in the pod), one without maxmemory (the server's own then: its
 * container's arguments, or none). swap_conf_agrees needs the running
 * server's dir and dbfilename, which only the run asks.
 */
int tsarc_redis_swap_pod_plan(tsarc_restore_ctx *r, const tsarc_step *s, int *checked,
	char *room, size_t roomsz, char *files, size_t filessz)
{
	redis_op op;
	tsarc_redis_memory m;
	tsarc_redis_need need;
	char from[600], why[1400] = "", arg[1024], dir[1024], file[1024] = "dump.rdb";
	char where[900];
	size_t used;
	int rc;

	*checked = 0;
	/* An include is read where the server runs (conf_inline): never
	 * here. */
	if ((rc = plan_op(&op, r, s)) || (rc = plan_pod_config(&op, from, sizeof(from))) ||
		(!op.orig_conf && (rc = tsarc_error_set(TSARC_EUNSUPPORTED, "the %s transport keeps "
			"no configuration of the server", op.c.tr->type))))
		snprintf(why, sizeof(why), "the configuration the swap restarts the server with "
			"could not be read now (%s)", tsarc_error_last()->message);
	else if (conf_word(op.orig_conf, "include", arg, sizeof(arg)))
		snprintf(why, sizeof(why), "%s includes %s, a file in the pod, which a plan does not "
			"read (it asks the server there only its version)", from, arg);
	else if ((rc = swap_restart_conf(&op)))
		snprintf(why, sizeof(why), "%s", tsarc_error_last()->message);
	tsarc_error_clear();
	if (*why) {
		snprintf(room, roomsz, "%s", why);
		snprintf(files, filessz, "not compared by the plan: %s; the run reads the "
			"configuration as the restart reads it and compares its dir and dbfilename with "
			"the running server's (CONFIG GET, by redis-cli in its pod) before anything is "
			"touched", why);
		redis_op_free(&op);
		return 0;
	}
	if (!conf_word(op.restart_conf, "dir", dir, sizeof(dir)))
		snprintf(dir, sizeof(dir), "(none: the folder the server starts in)");
	conf_word(op.restart_conf, "dbfilename", file, sizeof(file));
	used = (size_t)snprintf(files, filessz, "not compared by the plan (it asks the pod's server "
		"only its version): the run compares the dir %s and dbfilename %s that %s names with "
		"the running server's (CONFIG GET, by redis-cli in its pod) before anything is touched",
		dir, file, from);
	if (conf_wants_aof(op.restart_conf) && used < filessz)
		snprintf(files + used, filessz - used, "; it says appendonly yes: the swap's restarts "
			"run with it off, and the AOF is rewritten from the backup's data before it is "
			"back on");
	memset(&m, 0, sizeof(m));
	m.known = m.limit_only = 1;
	snprintf(m.policy, sizeof(m.policy), "?");
	if (!conf_limits(op.restart_conf, &m)) {
		snprintf(room, roomsz, "%s names no maxmemory: the server's own (its container's "
			"arguments, or none) is known only to the run", from);
		redis_op_free(&op);
		return 0;
	}
	swap_where(&op, where, sizeof(where));
	snprintf(where + strlen(where), sizeof(where) - strlen(where), " (restarted with %s)", from);
	tsarc_redis_rdb_need(s, &need);
	*checked = 1;
	if ((rc = tsarc_redis_room(where, &m, &need, room, roomsz)))
		tsarc_error_prefix("component '%s'", s->component);
	redis_op_free(&op);
	return rc;
}

/*
 * redis.h: whether the server in its pod reads the backup's RDB of
 * `version`, asked by the plan the one way it can ask there: INFO server
 * by the step's own redis-cli in the pod (it only reads), its answer
 * judged by readers.h. A pod not reached now, or an answer that does not
 * say, is no refusal: the step's redis-check-rdb reads the RDB before
 * the server is touched, and the word says so.
 */
int tsarc_redis_swap_pod_version(tsarc_restore_ctx *r, const tsarc_step *s, int version,
	char *word, size_t wordsz)
{
	static const char *const args[] = {"INFO", "server", NULL};
	redis_op op;
	char *out = NULL, server[64], reads[300];
	int rc, judged;

	if ((rc = plan_op(&op, r, s)) || (rc = op_cli_open(&op)) ||
		(rc = redis_cli_raw(&op, args, &out))) {
		snprintf(word, wordsz, "version %d, not compared by the plan: redis-cli in the "
			"server's pod could not ask INFO server now (%s); " TSARC_REDIS_SWAP_CHECKS_VERSION,
			version, tsarc_error_last()->message);
		tsarc_error_clear();
		rc = 0;
		goto done;
	}
	judged = tsarc_redis_info_reads(out, version, server, sizeof(server), reads,
		sizeof(reads));
	if (judged < 0)
		snprintf(word, wordsz, "version %d, not compared by the plan: the server in its pod "
			"%s%s%s%s; " TSARC_REDIS_SWAP_CHECKS_VERSION, version, *server ? "is " :
			"does not say its version to the swap's user (INFO server)", server,
			*reads ? ", which reads " : "", reads);
	else if (judged)
		snprintf(word, wordsz, "version %d, which %s in its pod reads (%s; INFO server, "
			"asked by redis-cli in the pod); " TSARC_REDIS_SWAP_CHECKS_VERSION " too", version,
			server, reads);
	else
		rc = tsarc_error_set(TSARC_EUNSAFE, "the backup's RDB is version %d, and the server "
			"is %s in its pod, which reads %s (INFO server, asked by redis-cli in the pod): "
			"its redis-check-rdb would refuse the RDB at the step, after the steps before it "
			"had written; nothing was restored. Restore it into a server that reads version "
			"%d: %s", version, server, reads, version, tsarc_redis_version_readers(version));
done:
	free(out);
	if (tsarc_redis_cli_tls_close(&op.tls) && !rc)
		rc = TSARC_EIO;
	redis_op_free(&op);
	return rc;
}

int tsarc_redis_swap_restore(tsarc_restore_ctx *r, tsarc_step *s)
{
	redis_op op;
	char *appendonly = NULL, *before = NULL, *after = NULL, *off = NULL, *moved = NULL;
	const char *unchecked = NULL, *uncounted = NULL;
	tsarc_cmd cmd;
	char what[300], ts[17], memory[1200] = "";
	int rc, unsaved = 1;

	memset(&op, 0, sizeof(op));
	op.r = r;
	op.s = s;
	tsarc_cmd_init(&cmd);
	if ((rc = tsarc_step_component(r, s, &op.c)))
		return rc;
	op.in_pod = (op.c.tr->caps & TSARC_TR_IN_WORKLOAD) != 0;
	if ((rc = op_cli_open(&op)))
		goto done;
	/* A node of a cluster of several shards is not the whole data set: on
	 * this host it is refused before the RDB is written (in its pod it is
	 * the deployment's own Redis, one server). */
	if (!op.in_pod && (rc = tsarc_redis_cli_require_whole(&op.c, NULL, &op.conn, 1, &op.tls)))
		goto done;
	/* The recipe's fields were checked for this transport before the
	 * restore began (tsarc_recipe_require): these are the guards. */
	if (!op.c.tr->read_config || !op.c.tr->write_config) {
		rc = tsarc_error_set(TSARC_EUNSUPPORTED, "component '%s': the %s transport cannot "
			"replace a server's configuration", s->component, op.c.tr->type);
		goto done;
	}
	swap_config_names(&op);
	op.workload = tsarc_spec_str(s->recipe, "rollout");
	if (!op.workload)
		op.workload = tsarc_spec_str(s->spec, "workload");
	if (op.c.tr->rollout && !op.workload) {
		rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': restore needs \"rollout\" (or "
			"workload) to restart the server", s->component);
		goto done;
	}
	if ((rc = op.c.tr->read_config(op.c.tr, &op.cfg))) {
		tsarc_error_prefix("component '%s'", s->component);
		goto done;
	}
	op.orig_conf = strdup(op.cfg.text);
	if (!op.orig_conf) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = redis_undo_earlier(&op)))
		goto done;
	if (op.earlier)
		tsarc_restore_progress(r, "  %s: %s", s->component, op.earlier);
	/* Where the server keeps its files, from the server itself (the
	 * recipe's data_dir when the server does not say); then whether it
	 * answers what the checks read (INFO_SECTIONS). */
	if ((rc = redis_config_get(&op, "dir", &op.data_dir)) ||
		(rc = redis_config_get(&op, "dbfilename", &op.dbfilename)) ||
		(rc = redis_config_get(&op, "appendfilename", &op.aof_file)) ||
		(rc = redis_config_get(&op, "appenddirname", &op.aof_dir)) ||
		(rc = redis_config_get(&op, "appendonly", &appendonly)) ||
		(rc = redis_config_get(&op, "pidfile", &op.pidfile)) ||
		(rc = redis_config_get(&op, "logfile", &op.logfile))) {
		rc = swap_untouched(rc, READS_FILES);
		goto done;
	}
	if ((rc = swap_info_asked(ask_cli, &op)) || (rc = swap_engine(&op)))
		goto done;
	if (!op.data_dir[0] && tsarc_spec_str(s->recipe, "data_dir")) {
		free(op.data_dir);
		op.data_dir = strdup(tsarc_spec_str(s->recipe, "data_dir"));
	}
	if (!op.data_dir || !op.data_dir[0] || !op.dbfilename || !op.dbfilename[0]) {
		rc = tsarc_error_set(TSARC_EIO, "component '%s': Redis does not say its dir and "
			"dbfilename (CONFIG GET answered nothing)", s->component);
		goto done;
	}
	if ((rc = swap_restart_conf(&op)))
		goto done;
	/* AOF is on afterwards when the server runs with it or its persistence
	 * configuration asks for it: in a cluster the live server may not
	 * reflect redis-config yet (edited, never rolled out), and a restart
	 * with appendonly yes and no AOF written from memory would come up
	 * without the restored data. */
	op.aof_on = !strcmp(appendonly, "yes") || conf_wants_aof(op.restart_conf);
	if ((rc = swap_aof_allowed(&op, appendonly)))
		goto done;
	if (!op.orig_conf || !(off = tsarc__redis_persistence_off(op.orig_conf))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	/* 0. The file the restart loads is the one the RDB is written as. */
	if ((rc = swap_conf_agrees(&op)))
		goto done;
	/* 0b. Whether the server holds the backup, before anything of it is
	 * touched (swap_room): the same check as the online paths'. */
	tsarc_restore_progress(r, "  %s: the server's maxmemory against the backup", s->component);
	if ((rc = swap_room(&op, memory, sizeof(memory))))
		goto done;
	/* 1. The RDB next to the data first: a damaged stream stops here,
	 * with the server and its files untouched. */
	tsarc_restore_progress(r, "  %s: writing the RDB into %s", s->component, op.data_dir);
	snprintf(what, sizeof(what), "component '%s': writing %s/%s.tsarc-incoming", s->component,
		op.data_dir, op.dbfilename);
	if ((rc = tsarc_cmd_arg(&cmd, "sh")) || (rc = tsarc_cmd_arg(&cmd, "-c")) ||
		(rc = tsarc_cmd_arg(&cmd, "cat > \"$1/$2.tsarc-incoming\"")) ||
		(rc = tsarc_cmd_arg(&cmd, "sh")) || (rc = tsarc_cmd_arg(&cmd, op.data_dir)) ||
		(rc = tsarc_cmd_arg(&cmd, op.dbfilename)))
		goto done;
	snprintf(op.incoming_what, sizeof(op.incoming_what), "component '%s': %s/%s.tsarc-incoming "
		"removed", s->component, op.data_dir, op.dbfilename);
	tsarc_cleanup_add(&op.incoming, redis_drop_incoming, &op, op.incoming_what);
	if ((rc = tsarc_restore_stream_into(r, &op.c, &cmd, s->st, NULL, NULL, what)))
		goto done;
	/* 1b. Read by the server's own redis-check-rdb: an RDB it cannot load
	 * stops here, with the server and its files untouched. */
	tsarc_restore_progress(r, "  %s: checking the RDB with the server's %s", s->component,
		swap_checker(&op));
	if ((rc = redis_check_incoming(&op, &unchecked)))
		goto done;
	if (unchecked)
		tsarc_restore_progress(r, "  %s: %s", s->component, unchecked);
	/* 2. Persistence off and a restart: the server must neither save over
	 * the swapped files nor replay an old AOF. The files moved aside next
	 * (and put back if the server cannot start on the backup's RDB) must
	 * be its data set as it is at this stop, not as it was at its last
	 * save: writes since then are saved by the stop. */
	if ((rc = redis_unsaved(&op, &unsaved)))
		goto done;
	tsarc_restore_progress(r, "  %s: persistence off, restart", s->component);
	/* From here until the original is back, a signal that ends the
	 * process puts it back first (interrupt.h). */
	snprintf(op.undo_what, sizeof(op.undo_what), "component '%s': persistence configuration "
		"of %s put back", s->component, op.cfg.where);
	tsarc_cleanup_add(&op.undo, redis_undo, &op, op.undo_what);
	if ((rc = redis_switch_off(&op, off)) || (rc = redis_restart(&op, unsaved)))
		goto done;
	/* 3. Old dump.rdb and AOF aside, the backup's RDB in place, restart:
	 * it loads the RDB. */
	tsarc_restore_progress(r, "  %s: old files aside, backup RDB in place, restart", s->component);
	if ((rc = redis_shell_out(&op, MOVE_ASIDE_SCRIPT, NULL, &moved)))
		goto done;
	tsarc_cleanup_remove(&op.incoming); /* it is the server's dump file now */
	if ((rc = redis_restart(&op, 0))) {
		if (moved_aside_at(moved, ts))
			rc = redis_refused(&op, rc, ts, "could not start with the backup's RDB");
		goto done;
	}
	/* 3b. The backup's RDB loaded, whole whatever its maxmemory: another
	 * file, or over it, or evicting, it gets its own files back
	 * (swap_loaded_backup, swap_loaded_fits). */
	if ((rc = swap_loaded_backup(&op, &uncounted))) {
		if (moved_aside_at(moved, ts))
			rc = redis_refused(&op, rc, ts, "did not load the backup's RDB");
		goto done;
	}
	if ((rc = swap_loaded_fits(&op))) {
		if (moved_aside_at(moved, ts))
			rc = redis_refused(&op, rc, ts, "cannot hold the backup's RDB");
		goto done;
	}
	if ((rc = redis_keyspace(&op, &before)))
		goto done;
	/* 4. Persistence back on. AOF first on the running server (CONFIG SET
	 * appendonly yes writes a complete AOF from memory): restarting with
	 * appendonly yes and no AOF would start empty on older servers. */
	if (op.aof_on) {
		const char *args[] = {"CONFIG", "SET", "appendonly", "yes", NULL};
		char *out = NULL;
		tsarc_restore_progress(r, "  %s: AOF on, rewrite", s->component);
		rc = redis_cli(&op, args, &out);
		free(out);
		if (rc || (rc = redis_wait_aof(&op)))
			goto done;
	}
	tsarc_restore_progress(r, "  %s: configuration restored, restart", s->component);
	if ((rc = tsarc_cleanup_run(&op.undo)))
		goto done;
	/* Without AOF, SAVE writes the RDB the next start loads. */
	if ((rc = redis_restart(&op, !op.aof_on)) || (rc = redis_keyspace(&op, &after)))
		goto done;
	if (strcmp(before, after)) {
		rc = tsarc_error_set(TSARC_EIO, "component '%s': the data set changed across the "
			"restart with persistence on (%s before, %s after)", s->component, before, after);
		goto done;
	}
	tsarc_step_note(s, "RDB of %llu bytes loaded into %s/%s; keys %s AOF %s%s%s%s%s",
		(unsigned long long)s->st->size, op.data_dir, op.dbfilename, after[0] ? after : "none;",
		op.aof_on ? "on" : "off", unchecked ? "; RDB " : "", unchecked ? unchecked : "",
		uncounted ? "; " : "", uncounted ? uncounted : "");
	s->detail = cJSON_CreateObject();
	cJSON_AddStringToObject(s->detail, "keyspace", after);
	cJSON_AddStringToObject(s->detail, "data_dir", op.data_dir);
	cJSON_AddStringToObject(s->detail, "redis_memory", memory);
done:
	if (rc && op.undo.registered) {
		/* Leave the configuration as it was (also when interrupted: that
		 * is the undo a signal asks for); the files moved aside stay
		 * where the error says. */
		tsarc_saved_error e;
		const char *server = op.server == 2 ? "; Redis runs with persistence off until its "
			"next restart" : op.server == 1 ? "; Redis was being restarted: check that it "
			"runs" : "";
		tsarc_error_save(&e);
		if (tsarc_cleanup_run(&op.undo))
			tsarc_error_set(rc, "%s; restoring its persistence configuration failed too (%s): "
				"the original is kept in %s", tsarc_error_saved_message(&e),
				tsarc_error_last()->message, op.cfg.saved_where);
		else
			tsarc_error_set(rc, "%s (persistence configuration put back%s; old files, if "
				"moved, are in %s with suffix -old.<time>)", tsarc_error_saved_message(&e),
				server, op.data_dir);
		tsarc_error_forget(&e);
	}
	if (rc && op.incoming.registered) {
		tsarc_saved_error e;
		tsarc_error_save(&e);
		if (tsarc_cleanup_run(&op.incoming))
			tsarc_error_set(rc, "%s; %s/%s.tsarc-incoming could not be removed (%s)",
				tsarc_error_saved_message(&e), op.data_dir, op.dbfilename,
				tsarc_error_last()->message);
		else
			tsarc_error_set(rc, "%s", tsarc_error_saved_message(&e));
		tsarc_error_forget(&e);
	}
	if (!rc && op.earlier)
		tsarc_step_note(s, "%s; %s", op.earlier, s->note ? s->note : "");
	tsarc_cleanup_remove(&op.undo);
	tsarc_cleanup_remove(&op.incoming);
	free(appendonly);
	free(moved);
	free(before);
	free(after);
	tsarc_secure_free_str(off);
	tsarc_cmd_free(&cmd);
	if (tsarc_redis_cli_tls_close(&op.tls) && !rc)
		rc = TSARC_EIO;
	redis_op_free(&op);
	return rc;
}
