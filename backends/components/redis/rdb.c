/*
 * SYNC and the private redis-server (rdb.h).
 */
#include "rdb.h"
#include "../db.h"
#include "filter.h"
#include "digest.h"
#include "error_save.h"
#include "readers.h"
#include "fileio.h"
#include "sentinel.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EOF_MARK 40
#define CHUNK 65536
/* A large RDB takes a while to load; the server answers LOADING until then. */
#define LOAD_WAIT_SECONDS 3600
/* Connections in a row the private server may drop before it is given up
 * (it is alive: a dead one is found by waitid first). */
#define LOST_CONNECTIONS_MAX 50

static int canceled(const atomic_int *stop)
{
	return stop && atomic_load(stop) ?
		tsarc_error_set(TSARC_ECANCELED, "Redis backup canceled") : 0;
}

/* "$<len>": exactly len bytes. */
static int sync_sized(tsarc_redis *r, unsigned long long len, tsarc_redis_out_fn out,
	void *ctx, const atomic_int *stop, unsigned char *buf)
{
	while (len) {
		size_t got;
		int rc;
		if ((rc = canceled(stop)) ||
			(rc = tsarc_redis_read_some(r, buf, len < CHUNK ? (size_t)len : CHUNK, &got)) ||
			(rc = out(ctx, buf, got)))
			return rc;
		len -= got;
	}
	return 0;
}

/* "$EOF:<mark>" (diskless): everything until the stream ends with mark;
 * the last EOF_MARK bytes are held back until more arrive. */
static int sync_marked(tsarc_redis *r, const char *mark, tsarc_redis_out_fn out, void *ctx,
	const atomic_int *stop, unsigned char *buf, unsigned long long *bytes)
{
	size_t held = 0;

	for (;;) {
		size_t got;
		int rc;
		if ((rc = canceled(stop)) ||
			(rc = tsarc_redis_read_some(r, buf + held, CHUNK, &got)))
			return rc;
		held += got;
		if (held >= EOF_MARK && !memcmp(buf + held - EOF_MARK, mark, EOF_MARK)) {
			*bytes += held - EOF_MARK;
			return out(ctx, buf, held - EOF_MARK);
		}
		if (held > EOF_MARK) {
			if ((rc = out(ctx, buf, held - EOF_MARK)))
				return rc;
			*bytes += held - EOF_MARK;
			memmove(buf, buf + held - EOF_MARK, EOF_MARK);
			held = EOF_MARK;
		}
	}
}

/* An RDB begins with a magic and the version in decimal, 9 bytes in all:
 * "REDIS" and 4 digits, or, from Valkey 9's version 80, "VALKEY" and 3
 * (Valkey's versions begin past Redis's; a Redis reads neither). */
#define RDB_HEADER 9
static const char *rdb_magic(int version)
{
	return version >= 80 ? "VALKEY" : "REDIS";
}

int tsarc_redis_rdb_version(const void *head, size_t len)
{
	const unsigned char *h = head;
	int v = 0;
	size_t i = 0;

	if (len >= RDB_HEADER && !memcmp(h, "REDIS", 5))
		i = 5;
	else if (len >= RDB_HEADER && !memcmp(h, "VALKEY", 6))
		i = 6;
	else
		return -1;
	for (; i < RDB_HEADER; i++) {
		if (h[i] < '0' || h[i] > '9')
			return -1;
		v = v * 10 + (h[i] - '0');
	}
	return v;
}

/* The head of an RDB on its way into the stream (a guard of
 * tsarc_db_guard_intake: it passes every byte on, and keeps the first
 * RDB_HEADER). */
typedef struct rdb_head {
	unsigned char head[RDB_HEADER];
	size_t n;
} rdb_head;

static int head_refused(void)
{
	return tsarc_error_set(TSARC_ECORRUPT, "the server's RDB does not begin as an RDB does "
		"(\"REDIS\" and 4 digits, or \"VALKEY\" and 3: its version)");
}

static int head_feed(void *self, const void *data, size_t len, tsarc_buf *out)
{
	rdb_head *h = self;
	size_t n = RDB_HEADER - h->n;

	(void)out;
	if (!n)
		return 0;
	if (n > len)
		n = len;
	memcpy(h->head + h->n, data, n);
	h->n += n;
	return h->n == RDB_HEADER && tsarc_redis_rdb_version(h->head, h->n) < 1 ?
		head_refused() : 0;
}

static int head_finish(void *self, tsarc_buf *out)
{
	rdb_head *h = self;

	(void)out;
	return tsarc_redis_rdb_version(h->head, h->n) < 1 ? head_refused() : 0;
}

static int head_fresh(const void *self, void **out)
{
	(void)self;
	return (*out = calloc(1, sizeof(rdb_head))) ? 0 :
		tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

static const tsarc_filter_ops HEAD_OPS = {.feed = head_feed, .finish = head_finish,
	.fresh = head_fresh, .free = free};

static cJSON *head_meta(const tsarc_filter *guard)
{
	const rdb_head *h = guard->self;
	cJSON *m = cJSON_CreateObject();

	if (m && !cJSON_AddNumberToObject(m, "redis_payload_version",
		tsarc_redis_rdb_version(h->head, h->n))) {
		cJSON_Delete(m);
		m = NULL;
	}
	return m;
}

int tsarc_redis_rdb_head_intake(struct tsarc_production *out)
{
	tsarc_filter guard = {&HEAD_OPS, NULL};
	int rc;

	if ((rc = head_fresh(NULL, &guard.self)))
		return rc;
	return tsarc_db_guard_intake(out, guard, "redis-cli --rdb must write the server's RDB",
		head_meta);
}

int tsarc_redis_sync_rdb(tsarc_redis *r, tsarc_redis_out_fn out, void *ctx,
	const atomic_int *stop, int *refused, unsigned long long *bytes)
{
	tsarc_redis_reply *rep = NULL;
	unsigned char *buf;
	char line[256];
	int rc;

	*refused = 0;
	*bytes = 0;
	/* A replica whose link is not up refuses SYNC itself (NOMASTERLINK);
	 * asked first, the logical path's check says which master and what
	 * to do, the same on both paths. */
	if ((rc = tsarc_redis_require_linked(r)))
		return rc;
	/* Only the RDB, no replication stream after it (7.0+; older servers
	 * answer an error and send the stream, which we never read). */
	if ((rc = tsarc_redis_command(r, &rep, "REPLCONF", "rdb-only", "1", NULL)))
		return rc;
	tsarc_redis_reply_free(rep);
	{
		const char *argv[] = {"SYNC"};
		if ((rc = tsarc_redis_append(r, 1, argv, NULL)) || (rc = tsarc_redis_flush(r)))
			return rc;
	}
	do { /* newlines keep the connection alive while the server forks */
		if ((rc = tsarc_redis_read_line(r, line, sizeof(line))) || (rc = canceled(stop)))
			return rc;
	} while (!*line);
	if (line[0] == '-') {
		tsarc_redis_reply e = {'-', 0, line + 1, strlen(line + 1), NULL, 0};
		if (tsarc_redis_reply_refused(&e)) {
			*refused = 1;
			return tsarc_error_set(TSARC_EUNSUPPORTED, "Redis at %s refuses SYNC: %s",
				tsarc_redis_where(r), line + 1);
		}
		return tsarc_error_set(TSARC_EIO, "Redis at %s: SYNC: %s", tsarc_redis_where(r),
			line + 1);
	}
	if (line[0] != '$')
		return tsarc_error_set(TSARC_ECORRUPT, "Redis at %s: SYNC answered something other "
			"than an RDB", tsarc_redis_where(r));
	if (!(buf = malloc(CHUNK + EOF_MARK)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!strncmp(line + 1, "EOF:", 4)) {
		if (strlen(line + 5) != EOF_MARK)
			rc = tsarc_error_set(TSARC_ECORRUPT, "Redis at %s: SYNC end mark is not %d "
				"bytes", tsarc_redis_where(r), EOF_MARK);
		else
			rc = sync_marked(r, line + 5, out, ctx, stop, buf, bytes);
	} else {
		char *end;
		unsigned long long len = strtoull(line + 1, &end, 10);
		if (*end || end == line + 1)
			rc = tsarc_error_set(TSARC_ECORRUPT, "Redis at %s: SYNC length is not a number",
				tsarc_redis_where(r));
		else if (!(rc = sync_sized(r, len, out, ctx, stop, buf)))
			*bytes = len;
	}
	free(buf);
	return rc;
}

/* ---- the private server ---- */

int tsarc_redis_private_prepare(tsarc_redis_private *p, int *fd)
{
	int rc;

	memset(p, 0, sizeof(*p));
	tsarc_proc_init(&p->proc);
	*fd = -1;
	if ((rc = tsarc_privdir_make(&p->pd, TSARC_PRIVDIR_REDIS,
		     "the private redis-server's folder")))
		return rc;
	snprintf(p->sock, sizeof(p->sock), "%s/redis.sock", p->pd.path);
	if ((*fd = openat(p->pd.fd, "dump.rdb", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		     0600)) < 0)
		return tsarc_error_set(TSARC_EIO, "cannot create %s/dump.rdb: %s", p->pd.path,
			strerror(errno));
	return 0;
}

static int write_conf(tsarc_redis_private *p)
{
	char path[4200], text[16384];
	int n, fd, rc = 0;

	/* No TCP port and a socket in our 0700 folder: nobody else reaches it,
	 * so it needs no password. No persistence: the RDB is only read. */
	n = snprintf(text, sizeof(text),
		"port 0\nunixsocket %s\nunixsocketperm 700\ndir %s\ndbfilename dump.rdb\n"
		"save \"\"\nappendonly no\ndaemonize no\nlogfile %s/redis.log\ndatabases 256\n"
		"protected-mode yes\n", p->sock, p->pd.path, p->pd.path);
	snprintf(path, sizeof(path), "%s/redis.conf", p->pd.path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return tsarc_error_set(TSARC_EIO, "cannot create %s: %s", path, strerror(errno));
	if (write(fd, text, (size_t)n) != n)
		rc = tsarc_error_set(TSARC_EIO, "cannot write %s", path);
	close(fd);
	return rc;
}

static void log_tail(tsarc_redis_private *p, char *out, size_t outsz)
{
	char path[4200];
	FILE *f;
	long size;

	*out = '\0';
	snprintf(path, sizeof(path), "%s/redis.log", p->pd.path);
	if (!(f = fopen(path, "r")))
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > (long)outsz - 1 ? size - (long)outsz + 1 : 0, SEEK_SET);
	out[fread(out, 1, outsz - 1, f)] = '\0';
	fclose(f);
}

/* The servers that may load the backup's RDB, in turn: redis-server
 * first (its payloads are the oldest, which most targets take), then
 * valkey-server, which reads the RDB 11 of a Valkey 8 or a Redis 7.2, and
 * from Valkey 9 its own (80). A server that exits on an RDB of a version
 * it does not know, or of a magic it does not (Valkey 9's, to a Redis or
 * a Valkey 8), leaves it to the next. */
static const char *const private_servers[] = {"redis-server", "valkey-server"};
static const char *const newer_rdb[] = {"Can't handle RDB format version",
	"Wrong signature trying to load DB"};

/* One server of tsarc_redis_private_start; *newer: it exited on an RDB of
 * a version it does not read (another may). */
static int start_server(tsarc_redis_private *p, const char *server, tsarc_redis **conn,
	int *newer)
{
	char conf[4200], tail[600];
	char *argv[] = {(char *)server, conf, NULL};
	tsarc_redis_opts o;
	int rc, i, lost = 0;

	*newer = 0;
	snprintf(conf, sizeof(conf), "%s/redis.conf", p->pd.path);
	if ((rc = tsarc_proc_spawn(&p->proc, argv, NULL)))
		return rc;
	p->started = 1;
	/* Recorded in the folder: if we are killed, the next tsarc stops it. */
	if ((rc = tsarc_privdir_child(&p->pd, p->proc.pid)))
		return rc;
	memset(&o, 0, sizeof(o));
	o.socket = p->sock;
	o.connect_timeout_ms = 2000;
	for (i = 0; i < LOAD_WAIT_SECONDS * 10; i++) {
		tsarc_redis_reply *rep = NULL;
		struct timespec ts = {0, 100 * 1000 * 1000};
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		/* Ended? Looked at without reaping: tsarc_proc_finish reaps. */
		if (!waitid(P_PID, (id_t)p->proc.pid, &si, WEXITED | WNOHANG | WNOWAIT) &&
			si.si_pid == p->proc.pid) {
			tsarc_proc_finish(&p->proc, "redis-server");
			p->started = 0;
			log_tail(p, tail, sizeof(tail));
			*newer = strstr(tail, newer_rdb[0]) || strstr(tail, newer_rdb[1]);
			return tsarc_error_set(TSARC_EIO, "the private redis-server could not load "
				"the backup's RDB (%s): %s", server, tail);
		}
		if (!*conn && access(p->sock, F_OK) == 0)
			tsarc_redis_connect(conn, &o, "private redis-server");
		if (*conn) {
			/* A redis-server listens before it loads: the connection can
			 * be dropped by a server that is dying on the RDB. Connect
			 * again, and the next turn sees the exit and reads its log. */
			if ((rc = tsarc_redis_command(*conn, &rep, "PING", NULL))) {
				tsarc_redis_close(*conn);
				*conn = NULL;
				if (++lost == LOST_CONNECTIONS_MAX)
					return rc;
				nanosleep(&ts, NULL);
				continue;
			}
			lost = 0;
			rc = rep->type == '+';
			tsarc_redis_reply_free(rep);
			/* Loaded: the RDB on disk is needed no more (no save
			 * points, so the server never writes or reads it again),
			 * and a kill from now on leaves no data set there. */
			if (rc)
				return unlinkat(p->pd.fd, "dump.rdb", 0) == 0 ? 0 :
					tsarc_error_set(TSARC_EIO, "cannot remove %s/dump.rdb: %s",
						p->pd.path, strerror(errno));
		}
		nanosleep(&ts, NULL);
	}
	return tsarc_error_set(TSARC_EIO, "the private redis-server did not load the RDB in %d s",
		LOAD_WAIT_SECONDS);
}

/* No server of this host reads an RDB of `version` (`tried`: those that
 * refused it, or ""). */
static int none_reads(int version, const char *tried)
{
	return tsarc_error_set(TSARC_EUNSUPPORTED, "the backup's RDB is version %d, which no "
		"Redis server of this host reads (%s%s): the target was not touched. Install %s "
		"here, or back the source up with \"mode\": \"logical\"", version,
		*tried ? "refused by " : "neither redis-server nor valkey-server is installed",
		tried, tsarc_redis_version_readers(version));
}

int tsarc_redis_private_start(tsarc_redis_private *p, const char *server, tsarc_redis **conn)
{
	char tried[600] = "";
	size_t i, n = 0;
	int rc, newer = 0;

	*conn = NULL;
	if ((rc = write_conf(p)))
		return rc;
	if (server)
		return start_server(p, server, conn, &newer);
	for (i = 0; i < sizeof(private_servers) / sizeof(*private_servers); i++) {
		if (!tsarc_proc_runnable(private_servers[i]))
			continue;
		if (!(rc = start_server(p, private_servers[i], conn, &newer)) || !newer)
			return rc;
		n += (size_t)snprintf(tried + n, n < sizeof(tried) ? sizeof(tried) - n : 0, "%s%s",
			n ? ", " : "", private_servers[i]);
		tsarc_error_clear();
	}
	return none_reads(tsarc_redis_private_rdb_version(p), tried);
}

int tsarc_redis_private_rdb_version(const tsarc_redis_private *p)
{
	unsigned char head[RDB_HEADER];
	int fd, version = -1;

	if ((fd = openat(p->pd.fd, "dump.rdb", O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		if (read(fd, head, sizeof(head)) == (ssize_t)sizeof(head))
			version = tsarc_redis_rdb_version(head, sizeof(head));
		close(fd);
	}
	return version;
}

/* What `server` makes of an RDB of `version`, started on an empty one (its
 * header, the end mark, a checksum of 0: none) in a private folder of its
 * own, then stopped: *reads 0 where it exits on it (a version or magic it
 * does not know), else *writes, the RDB version of the DUMP payloads it
 * sends (of a key SET in it; every payload carries its writer's). */
static int server_payloads(const char *server, int version, int *reads, int *writes)
{
	tsarc_redis_private p;
	tsarc_redis *conn = NULL;
	tsarc_redis_reply *rep = NULL;
	unsigned char rdb[RDB_HEADER + 9] = {0};
	int fd = -1, rc, newer = 0;

	*reads = *writes = 0;
	snprintf((char *)rdb, RDB_HEADER + 1, "%s%0*d", rdb_magic(version),
		RDB_HEADER - (int)strlen(rdb_magic(version)), version);
	rdb[RDB_HEADER] = 0xff;
	if (!(rc = tsarc_redis_private_prepare(&p, &fd))) {
		if (tsarc_write_all(fd, rdb, sizeof(rdb)))
			rc = tsarc_error_set(TSARC_EIO, "writing %s/dump.rdb", p.pd.path);
		if (close(fd) && !rc)
			rc = tsarc_error_set(TSARC_EIO, "writing %s/dump.rdb", p.pd.path);
	}
	if (!rc && !(rc = write_conf(&p)) && !(rc = start_server(&p, server, &conn, &newer))) {
		*reads = 1;
		if (!(rc = tsarc_redis_command_ok(conn, &rep, "SET", "SET", "tsarc:probe", "1", NULL))) {
			tsarc_redis_reply_free(rep);
			rep = NULL;
			rc = tsarc_redis_command_ok(conn, &rep, "DUMP", "DUMP", "tsarc:probe", NULL);
		}
		if (!rc && rep->type == '$')
			*writes = tsarc_redis_payload_version(rep->str, rep->len);
		else if (!rc)
			rc = tsarc_error_set(TSARC_EIO, "the private %s answered DUMP with no payload",
				server);
		tsarc_redis_reply_free(rep);
	} else if (rc && newer) {
		tsarc_error_clear();
		rc = 0;
	}
	tsarc_redis_close(conn);
	tsarc_redis_private_stop(&p);
	return rc;
}

int tsarc_redis_private_choose(int version, tsarc_redis *dst, const char **server, int *writes)
{
	char tried[600] = "", wrote[600] = "";
	const char *first = NULL;
	size_t i, n = 0, m = 0;
	int rc, reads, w, taken, first_writes = 0, rewrite_to;

	*server = NULL;
	*writes = 0;
	for (i = 0; i < sizeof(private_servers) / sizeof(*private_servers); i++) {
		if (!tsarc_proc_runnable(private_servers[i]))
			continue;
		if ((rc = server_payloads(private_servers[i], version, &reads, &w)))
			return rc;
		if (!reads) {
			n += (size_t)snprintf(tried + n, n < sizeof(tried) ? sizeof(tried) - n : 0,
				"%s%s", n ? ", " : "", private_servers[i]);
			continue;
		}
		/* Not asked (the probe's key is not this user's, or exists
		 * there): as not reached; the copy asks, with the backup's key
		 * names, before the target is touched (tsarc_redis_copy). */
		if (dst && (rc = tsarc_redis_payload_taken(dst, w, &taken)) == TSARC_EACCESS) {
			tsarc_error_clear();
			dst = NULL;
		} else if (rc) {
			return rc;
		}
		if (!dst || taken) {
			*server = private_servers[i];
			*writes = w;
			return 0;
		}
		m += (size_t)snprintf(wrote + m, m < sizeof(wrote) ? sizeof(wrote) - m : 0,
			"%s%s (version %d)", m ? ", " : "", private_servers[i], w);
		if (!first) {
			first = private_servers[i];
			first_writes = w;
		}
	}
	if (!first)
		return none_reads(version, tried);
	/* None writes what the target takes: the first one's payloads,
	 * rewritten for it (payload.h), where they can be. */
	if ((rc = tsarc_redis_payload_route(dst, first_writes, 0, NULL, &rewrite_to))) {
		tsarc_error_prefix("the servers of this host that load the backup's RDB (version %d) "
			"for the copy write DUMP payloads the target does not take: %s", version, wrote);
		return rc;
	}
	*server = first;
	*writes = first_writes;
	return 0;
}

void tsarc_redis_private_stop(tsarc_redis_private *p)
{
	if (p->started && p->proc.pid > 0) {
		/* The kill makes tsarc_proc_finish report a signal: the error
		 * of the caller (the reason it stops the server) is kept. */
		tsarc_saved_error caller;
		tsarc_error_save(&caller);
		tsarc_proc_kill(&p->proc);
		tsarc_proc_finish(&p->proc, "redis-server");
		tsarc_error_restore(&caller);
	}
	p->started = 0;
	(void)tsarc_privdir_remove(&p->pd);
}
