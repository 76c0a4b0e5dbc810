/*
 * Drives the Redis client modules against real servers for
 * the scripts in tests/redis and bench/redis.sh:
 *
 *   tsarc-redis-tool dump    > stream     logical backup of the source
 *   tsarc-redis-tool load    < stream     clear, restore, verify the target
 *   tsarc-redis-tool digest               key counts and digests, one line per db
 *   tsarc-redis-tool role                 ROLE of the server
 *   tsarc-redis-tool sync    > rdb        the RDB over SYNC (exit 3: refused)
 *   tsarc-redis-tool load-rdb < rdb       into a private redis-server, copied
 *                                         logically into the target, verified
 *
 * The server comes from the environment (never argv): T_REDIS_HOST,
 * T_REDIS_PORT, T_REDIS_SOCKET, T_REDIS_USER, T_REDIS_PASSWORD,
 * T_REDIS_TLS=1, T_REDIS_CA / _CERT / _KEY (files whose PEM text is
 * passed from memory), T_REDIS_SENTINELS + T_REDIS_MASTER (+
 * T_REDIS_SENTINEL_PASSWORD, T_REDIS_READ_REPLICA: a replica of the group),
 * T_REDIS_NOW_MS (load: the clock).
 */
#include "digest.h"
#include "rdb.h"
#include "logical.h"
#include "sentinel.h"
#include "tsarc/errors.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *slurp(const char *path)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!path)
		return NULL;
	if (!(f = fopen(path, "rb"))) {
		perror(path);
		exit(2);
	}
	do {
		if (len + 4096 + 1 > cap && !(buf = realloc(buf, cap = cap * 2 + 8192)))
			exit(2);
		n = fread(buf + len, 1, 4096, f);
		len += n;
	} while (n);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static char *pem[3];

static int connect_env(tsarc_redis **r)
{
	tsarc_redis_opts o;
	const char *port = getenv("T_REDIS_PORT");

	memset(&o, 0, sizeof(o));
	o.host = getenv("T_REDIS_HOST");
	o.port = port ? atoi(port) : 0;
	o.socket = getenv("T_REDIS_SOCKET");
	o.user = getenv("T_REDIS_USER");
	o.password = getenv("T_REDIS_PASSWORD");
	o.tls = getenv("T_REDIS_TLS") && !strcmp(getenv("T_REDIS_TLS"), "1");
	o.ca_pem = pem[0] = slurp(getenv("T_REDIS_CA"));
	o.cert_pem = pem[1] = slurp(getenv("T_REDIS_CERT"));
	o.key_pem = pem[2] = slurp(getenv("T_REDIS_KEY"));
	o.server_name = getenv("T_REDIS_SERVER_NAME");
	if (getenv("T_REDIS_SENTINELS")) {
		tsarc_redis_sentinel s = {getenv("T_REDIS_SENTINELS"), getenv("T_REDIS_MASTER"),
			getenv("T_REDIS_SENTINEL_USER"), getenv("T_REDIS_SENTINEL_PASSWORD")};
		tsarc_redis_read_note note;
		if (getenv("T_REDIS_READ_REPLICA"))
			return tsarc_redis_sentinel_connect_read(r, &o, &s,
				TSARC_REDIS_REPLICA_WAIT_S * 1000, NULL, &note);
		return tsarc_redis_sentinel_connect(r, &o, &s);
	}
	return tsarc_redis_connect(r, &o, "Redis");
}

static int out_fd(void *ctx, const void *data, size_t len)
{
	const char *p = data;

	(void)ctx;
	while (len) {
		ssize_t n = write(1, p, len);
		if (n <= 0)
			return tsarc_error_set(TSARC_EIO, "writing stdout");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void print_stats(const char *what, const tsarc_redis_stats *st)
{
	int db;

	fprintf(stderr, "%s: keys %llu bytes %llu expired %llu vanished %llu functions %d "
		"exact_expiry %d flush %d deleted %llu functions_removed %llu dbs", what, st->keys,
		st->bytes, st->expired, st->vanished, st->functions, st->exact_expiry, st->flush,
		st->deleted, st->functions_removed);
	for (db = 0; db < st->ndb; db++)
		if (st->db_keys[db])
			fprintf(stderr, " %d:%llu", db, st->db_keys[db]);
	fprintf(stderr, "\n");
}

static int cmd_load(tsarc_redis *r)
{
	tsarc_redis_loader *l = NULL;
	tsarc_redis_stats clear, st;
	const char *now = getenv("T_REDIS_NOW_MS");
	char buf[65536], note[256];
	ssize_t n;
	int rc;

	memset(&clear, 0, sizeof(clear));
	memset(&st, 0, sizeof(st));
	/* A stream alone, without the snapshot's metadata: taken to hold the
	 * source's libraries (REPLACE), as `redis-cli --pipe` after FUNCTION
	 * FLUSH would; the KEEP side is tsarc's restore (redis_functions). */
	if ((rc = tsarc_redis_require_master(r)) || (rc = tsarc_redis_clear(r, TSARC_REDIS_FUNCTIONS_REPLACE,
			TSARC_REDIS_LAZYFREE_WAIT_S, &clear)) ||
		(rc = tsarc_redis_loader_new(&l, r, now ? atoll(now) : 0)))
		goto done;
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if ((rc = tsarc_redis_loader_feed(l, buf, (size_t)n)))
			goto done;
	if ((rc = tsarc_redis_loader_finish(l, &st)) ||
		(rc = tsarc_redis_loader_verify(l, note, sizeof(note))))
		goto done;
	st.flush = clear.flush;
	st.deleted = clear.deleted;
	st.functions_removed = clear.functions_removed;
	print_stats("load", &st);
	fprintf(stderr, "verify: %s\n", note);
done:
	tsarc_redis_loader_free(l);
	tsarc_redis_stats_free(&st);
	return rc;
}

static int cmd_load_rdb(tsarc_redis *r)
{
	tsarc_redis_private p;
	tsarc_redis *priv = NULL;
	tsarc_redis_stats st;
	char buf[65536], note[256], memory[1200];
	ssize_t n;
	int fd, rc;

	memset(&st, 0, sizeof(st));
	if ((rc = tsarc_redis_require_master(r)) || (rc = tsarc_redis_private_prepare(&p, &fd)))
		goto done;
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n) {
			rc = tsarc_error_set(TSARC_EIO, "writing the RDB");
			break;
		}
	close(fd);
	if (rc || (rc = tsarc_redis_private_start(&p, getenv("T_REDIS_SERVER"), &priv)))
		goto done;
	fprintf(stderr, "private: %s\n", tsarc_redis_where(priv));
	if ((rc = tsarc_redis_copy(priv, r, NULL, "tsarc-redis-tool", TSARC_REDIS_LAZYFREE_WAIT_S,
		     &st, note, sizeof(note), memory, sizeof(memory))))
		goto done;
	print_stats("load-rdb", &st);
	fprintf(stderr, "memory: %s\n", memory);
	fprintf(stderr, "verify: %s\n", note);
done:
	tsarc_redis_close(priv);
	tsarc_redis_private_stop(&p);
	tsarc_redis_stats_free(&st);
	return rc;
}

static int cmd_digest(tsarc_redis *r)
{
	tsarc_redis_digests d;
	int rc = tsarc_redis_digest(r, 0, &d), db, i;

	if (rc)
		return rc;
	for (db = 0; db < d.ndb; db++) {
		if (!d.keys[db])
			continue;
		printf("db%d %llu ", db, d.keys[db]);
		for (i = 0; i < 32; i++)
			printf("%02x", d.sums[32 * db + i]);
		printf("\n");
	}
	tsarc_redis_digests_free(&d);
	return 0;
}

int main(int argc, char **argv)
{
	tsarc_redis *r = NULL;
	tsarc_redis_stats st;
	int rc;

	signal(SIGPIPE, SIG_IGN);
	memset(&st, 0, sizeof(st));
	if (argc != 2) {
		fprintf(stderr, "usage: %s dump|load|digest|role|sync|load-rdb\n", argv[0]);
		return 2;
	}
	if ((rc = connect_env(&r)))
		goto done;
	if (!strcmp(argv[1], "dump")) {
		if (!(rc = tsarc_redis_logical_dump(r, out_fd, NULL, NULL, &st)))
			print_stats("dump", &st);
	} else if (!strcmp(argv[1], "load")) {
		rc = cmd_load(r);
	} else if (!strcmp(argv[1], "sync")) {
		int refused = 0;
		unsigned long long bytes = 0;
		rc = tsarc_redis_sync_rdb(r, out_fd, NULL, NULL, &refused, &bytes);
		if (refused) {
			fprintf(stderr, "tsarc-redis-tool: %s\n", tsarc_error_last()->message);
			tsarc_redis_close(r);
			free(pem[0]);
			free(pem[1]);
			free(pem[2]);
			return 3;
		}
		if (!rc)
			fprintf(stderr, "sync: %llu bytes\n", bytes);
	} else if (!strcmp(argv[1], "load-rdb")) {
		rc = cmd_load_rdb(r);
	} else if (!strcmp(argv[1], "digest")) {
		rc = cmd_digest(r);
	} else if (!strcmp(argv[1], "role")) {
		char role[32];
		if (!(rc = tsarc_redis_role(r, role, sizeof(role))))
			printf("%s %s\n", role, tsarc_redis_where(r));
	} else {
		fprintf(stderr, "unknown command %s\n", argv[1]);
		rc = TSARC_EINVAL;
	}
done:
	free(pem[0]);
	free(pem[1]);
	free(pem[2]);
	tsarc_redis_stats_free(&st);
	tsarc_redis_close(r);
	if (rc)
		fprintf(stderr, "tsarc-redis-tool: %s\n", tsarc_error_last()->message);
	return rc ? 1 : 0;
}
