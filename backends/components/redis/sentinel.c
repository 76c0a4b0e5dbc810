/*
 * Sentinel and ROLE (sentinel.h).
 */
#define _GNU_SOURCE /* asprintf */
#include "sentinel.h"
#include "component.h"
#include "error_save.h"
#include "fmt.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <openssl/crypto.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SENTINEL_PORT 26379

int tsarc_redis_role(tsarc_redis *r, char *role, size_t rolesz)
{
	tsarc_redis_reply *rep = NULL;
	int rc;

	*role = '\0';
	if ((rc = tsarc_redis_command(r, &rep, "ROLE", NULL)))
		return rc;
	if (rep->type == '*' && rep->nelem && rep->elem[0]->type == '$') {
		snprintf(role, rolesz, "%s", rep->elem[0]->str);
		tsarc_redis_reply_free(rep);
		return 0;
	}
	tsarc_redis_reply_free(rep);
	/* ROLE refused: INFO replication says "role:master" too. */
	if ((rc = tsarc_redis_command(r, &rep, "INFO", "replication", NULL)))
		return rc;
	if (rep->type == '$') {
		const char *p = strstr(rep->str, "role:");
		if (p) {
			size_t n = strcspn(p + 5, "\r\n");
			snprintf(role, rolesz, "%.*s", (int)n, p + 5);
		}
	}
	tsarc_redis_reply_free(rep);
	return 0;
}

int tsarc_redis_info_line(const char *text, const char *key, char *out, size_t outsz)
{
	size_t klen = strlen(key), n;
	const char *p;

	for (p = text; p && (p = strstr(p, key)); p += klen) {
		if ((p != text && p[-1] != '\n') || p[klen] != ':')
			continue;
		p += klen + 1;
		n = strcspn(p, "\r\n");
		snprintf(out, outsz, "%.*s", (int)n, p);
		return 1;
	}
	return 0;
}

/* The hexadecimal value of `field` in INFO `section` into out (of at
 * least 16 digits: an identity, not a number); "" when the server does
 * not say or refuses INFO to this user. */
static int info_hex_field(tsarc_redis *r, const char *section, const char *field, char *out,
	size_t outsz)
{
	tsarc_redis_reply *rep = NULL;
	char value[256];
	size_t n;
	int rc;

	*out = '\0';
	if ((rc = tsarc_redis_command(r, &rep, "INFO", section, NULL)))
		return rc;
	if (rep->type == '$' && tsarc_redis_info_line(rep->str, field, value, sizeof(value))) {
		n = strspn(value, "0123456789abcdef");
		if (n >= 16 && n < outsz)
			snprintf(out, outsz, "%.*s", (int)n, value);
	}
	tsarc_redis_reply_free(rep);
	return 0;
}

int tsarc_redis_server_id(tsarc_redis *r, char *id, size_t idsz)
{
	return info_hex_field(r, "server", "run_id", id, idsz);
}

int tsarc_redis_dataset_id(tsarc_redis *r, char *id, size_t idsz)
{
	return info_hex_field(r, "replication", "master_replid", id, idsz);
}

int tsarc_redis_require_linked(tsarc_redis *r)
{
	tsarc_redis_reply *rep = NULL;
	char role[32] = "", host[256] = "", port[16] = "", link[32] = "", syncing[8] = "";
	char since[32] = "", master[300];
	int rc;

	if ((rc = tsarc_redis_command(r, &rep, "INFO", "replication", NULL)))
		return rc;
	if (rep->type == '$' && tsarc_redis_info_line(rep->str, "role", role, sizeof(role))) {
		tsarc_redis_info_line(rep->str, "master_host", host, sizeof(host));
		tsarc_redis_info_line(rep->str, "master_port", port, sizeof(port));
		tsarc_redis_info_line(rep->str, "master_link_status", link, sizeof(link));
		tsarc_redis_info_line(rep->str, "master_sync_in_progress", syncing,
			sizeof(syncing));
		/* -1 where the link was never up since the server started. */
		if (tsarc_redis_info_line(rep->str, "master_link_down_since_seconds", since,
			    sizeof(since)) && *since == '-')
			*since = '\0';
	} else {
		/* INFO refused: ROLE says the same of a replica ("slave", its
		 * master's host and port, and the link's state, "connected"
		 * only when master_link_status is up, "sync" while it syncs). */
		tsarc_redis_reply_free(rep);
		rep = NULL;
		if ((rc = tsarc_redis_command(r, &rep, "ROLE", NULL)))
			return rc;
		if (rep->type == '*' && rep->nelem >= 4 && rep->elem[0]->type == '$' &&
			rep->elem[1]->type == '$' && rep->elem[2]->type == ':' &&
			rep->elem[3]->type == '$') {
			snprintf(role, sizeof(role), "%s", rep->elem[0]->str);
			snprintf(host, sizeof(host), "%s", rep->elem[1]->str);
			snprintf(port, sizeof(port), "%lld", rep->elem[2]->integer);
			snprintf(link, sizeof(link), "%s", !strcmp(rep->elem[3]->str, "connected") ?
				"up" : "down");
			snprintf(syncing, sizeof(syncing), "%s", !strcmp(rep->elem[3]->str, "sync") ?
				"1" : "0");
		}
	}
	tsarc_redis_reply_free(rep);
	/* A master, or a server that tells neither (it is read as it is). */
	if (strcmp(role, "slave") || (!strcmp(link, "up") && strcmp(syncing, "1")))
		return 0;
	if (*host)
		snprintf(master, sizeof(master), "%s%s%s%s", strchr(host, ':') ? "[" : "", host,
			strchr(host, ':') ? "]:" : ":", port);
	else
		snprintf(master, sizeof(master), "(not named)");
	if (!strcmp(syncing, "1"))
		return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s is a replica of %s still syncing "
			"from it (master_sync_in_progress:1): it serves its old data set until the "
			"sync ends, and a backup of it would record that as the deployment's state; "
			"nothing was backed up: back up the master (%s) instead, or wait until the "
			"replica's link is up (INFO replication: master_link_status:up) and back up "
			"again", tsarc_redis_where(r), master, master);
	return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s is a replica of %s, and its link to "
		"it is down (master_link_status:%s%s%s%s): it serves the data set as it was when the "
		"link broke, and a backup of it would record that as the deployment's state; nothing "
		"was backed up: back up the master (%s) instead, or wait until the replica's link is "
		"up and back up again", tsarc_redis_where(r), master, *link ? link : "not up",
		*since ? ", for " : "", since, *since ? " s" : "", master);
}

/* What INFO replication (or ROLE, where INFO is refused) says of a
 * server's replication. */
typedef struct repl_state {
	char role[32];          /* "" when the server tells neither */
	char host[256], port[16];
	char link[32], syncing[8];
	char replid[64];        /* master_replid, "" unknown */
	long long offset;       /* how far it has applied the stream; -1 unknown */
} repl_state;

static int read_repl(tsarc_redis *r, repl_state *st)
{
	tsarc_redis_reply *rep = NULL;
	char v[64];
	int rc;

	memset(st, 0, sizeof(*st));
	st->offset = -1;
	if ((rc = tsarc_redis_command(r, &rep, "INFO", "replication", NULL)))
		return rc;
	if (rep->type == '$' && tsarc_redis_info_line(rep->str, "role", st->role,
		    sizeof(st->role))) {
		tsarc_redis_info_line(rep->str, "master_host", st->host, sizeof(st->host));
		tsarc_redis_info_line(rep->str, "master_port", st->port, sizeof(st->port));
		tsarc_redis_info_line(rep->str, "master_link_status", st->link, sizeof(st->link));
		tsarc_redis_info_line(rep->str, "master_sync_in_progress", st->syncing,
			sizeof(st->syncing));
		tsarc_redis_info_line(rep->str, "master_replid", st->replid, sizeof(st->replid));
		/* A replica's slave_repl_offset is what it has applied of its
		 * master's stream; a master's master_repl_offset what it has
		 * written to it (every write it has answered). */
		if ((!strcmp(st->role, "slave") &&
			    tsarc_redis_info_line(rep->str, "slave_repl_offset", v, sizeof(v))) ||
			tsarc_redis_info_line(rep->str, "master_repl_offset", v, sizeof(v)))
			st->offset = strtoll(v, NULL, 10);
		tsarc_redis_reply_free(rep);
		return 0;
	}
	/* INFO refused: ROLE, a master's [master, offset, replicas], a
	 * replica's [slave, host, port, state, offset]. */
	tsarc_redis_reply_free(rep);
	rep = NULL;
	if ((rc = tsarc_redis_command(r, &rep, "ROLE", NULL)))
		return rc;
	if (rep->type == '*' && rep->nelem >= 2 && rep->elem[0]->type == '$') {
		snprintf(st->role, sizeof(st->role), "%s", rep->elem[0]->str);
		if (!strcmp(st->role, "master") && rep->elem[1]->type == ':')
			st->offset = rep->elem[1]->integer;
		if (!strcmp(st->role, "slave") && rep->nelem >= 5 && rep->elem[1]->type == '$' &&
			rep->elem[2]->type == ':' && rep->elem[3]->type == '$' &&
			rep->elem[4]->type == ':') {
			snprintf(st->host, sizeof(st->host), "%s", rep->elem[1]->str);
			snprintf(st->port, sizeof(st->port), "%lld", rep->elem[2]->integer);
			snprintf(st->link, sizeof(st->link), "%s",
				!strcmp(rep->elem[3]->str, "connected") ? "up" : "down");
			snprintf(st->syncing, sizeof(st->syncing), "%s",
				!strcmp(rep->elem[3]->str, "sync") ? "1" : "0");
			st->offset = rep->elem[4]->integer;
		}
	}
	tsarc_redis_reply_free(rep);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000 * 1000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int tsarc_redis_require_caught_up(tsarc_redis *r, const tsarc_redis_opts *base,
	const char *master_host, int master_port, int wait_ms, const atomic_int *stop,
	char *found, size_t foundsz)
{
	tsarc_redis_opts mo = *base;
	tsarc_redis *m = NULL;
	repl_state st, ms;
	char master[300];
	double t0 = now_s(), waited;
	int rc;

	*found = '\0';
	if ((rc = read_repl(r, &st)))
		return rc;
	if (!*st.role) {
		snprintf(found, foundsz, "not checked: the user may run neither INFO nor ROLE on "
			"the server read");
		return 0;
	}
	if (strcmp(st.role, "slave"))
		return 0;
	/* A link down, or a full sync: that check's own error, which names
	 * the master the replica follows (one gone does not answer here). */
	if (strcmp(st.link, "up") || !strcmp(st.syncing, "1")) {
		if ((rc = tsarc_redis_require_linked(r)))
			return rc;
		return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s is a replica whose link to its "
			"master is not up: nothing was backed up", tsarc_redis_where(r));
	}
	/* The master the Sentinel names, else the one the replica follows. */
	if (!master_host) {
		master_host = st.host;
		master_port = atoi(st.port);
	}
	snprintf(master, sizeof(master), "%s%s%s%d", strchr(master_host, ':') ? "[" : "",
		master_host, strchr(master_host, ':') ? "]:" : ":", master_port);
	if (!*master_host || master_port <= 0 || st.offset < 0)
		return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s is a replica that does not say "
			"%s: how far it is behind its master cannot be told, and a backup of it "
			"could miss writes the master acknowledged before the backup began; nothing "
			"was backed up: back up the master instead", tsarc_redis_where(r),
			st.offset < 0 ? "how far it has applied its master's stream" : "its master");
	mo.socket = NULL;
	mo.host = master_host;
	mo.port = master_port;
	/* One INFO: a master that does not answer it soon is not waited for
	 * as long as a big DUMP would be. */
	if (!mo.io_timeout_ms || mo.io_timeout_ms > 30000)
		mo.io_timeout_ms = 30000;
	/* The master's offset when the backup begins: every write it has
	 * answered is below it. Kept connected while the replica is waited
	 * for. */
	if ((rc = tsarc_redis_connect(&m, &mo, "Redis"))) {
		char why[512];
		if (rc == TSARC_ENOMEM || rc == TSARC_ECANCELED)
			return rc;
		snprintf(why, sizeof(why), "%s", tsarc_error_last()->message);
		/* The master refuses this user's AUTH (client.c: "AUTH as U
		 * refused"): a user of the replica's own ACL. It may not read
		 * the master's offset, as one refused INFO and ROLE there: read
		 * as it is, and said. A master that does not answer is not: the
		 * check is owed, and back up again. */
		if (strstr(why, ": AUTH") && strstr(why, " refused: ")) {
			tsarc_error_clear();
			snprintf(found, foundsz, "not checked: the master %s refuses this user (%s); "
				"the replica is read as far as it has caught up", master, why);
			return 0;
		}
		return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s is a replica, and how far it is "
			"behind its master %s cannot be told (%s); nothing was backed up: back up "
			"again once the master answers", tsarc_redis_where(r), master, why);
	}
	if ((rc = read_repl(m, &ms)))
		goto done;
	if (ms.offset < 0) {
		/* The user may read neither INFO nor ROLE there: read as it is. */
		snprintf(found, foundsz, "not checked: the user may run neither INFO nor ROLE on "
			"the master %s; the replica is read as far as it has caught up", master);
		goto done;
	}
	for (;;) {
		if (*ms.replid && *st.replid && strcmp(ms.replid, st.replid)) {
			rc = tsarc_error_set(TSARC_EUNSAFE, "Redis at %s is a replica whose replication "
				"history (master_replid %s) is not that of %s (%s), the master it was "
				"checked against: how far it is behind cannot be told; nothing was backed "
				"up: back up the master (%s) instead, or back up again once the replica "
				"follows it", tsarc_redis_where(r), st.replid, master, ms.replid, master);
			goto done;
		}
		if (strcmp(st.link, "up") || !strcmp(st.syncing, "1")) {
			rc = tsarc_redis_require_linked(r);
			if (!rc)
				rc = tsarc_error_set(TSARC_EUNSAFE, "Redis at %s is a replica whose link "
					"to its master %s is not up: nothing was backed up",
					tsarc_redis_where(r), master);
			goto done;
		}
		waited = now_s() - t0;
		if (st.offset >= ms.offset) {
			snprintf(found, foundsz, "caught up with its master %s: at offset %lld, the "
				"master's when the backup began %lld (waited %.1f s)%s", master,
				st.offset, ms.offset, waited, strcmp(ms.role, "master") ?
				"; that master is itself a replica, whose own master was not asked" : "");
			goto done;
		}
		if (stop && atomic_load(stop)) {
			rc = tsarc_error_set(TSARC_ECANCELED, "Redis backup canceled");
			goto done;
		}
		if (waited * 1000.0 >= (double)wait_ms) {
			rc = tsarc_error_set(TSARC_EUNSAFE, "Redis at %s is a replica %lld bytes behind "
				"its master %s (at offset %lld, the master's when the backup began %lld) "
				"after %d s of waiting: a backup of it would miss writes the master "
				"acknowledged before the backup began; nothing was backed up: back up the "
				"master (%s) instead, or give the replica longer to catch up "
				"(\"replica_wait\", seconds)", tsarc_redis_where(r), ms.offset - st.offset,
				master, st.offset, ms.offset, (wait_ms + 999) / 1000, master);
			goto done;
		}
		sleep_ms(50);
		if ((rc = read_repl(r, &st)))
			goto done;
		if (strcmp(st.role, "slave")) {
			/* Promoted while waited for: it holds what it had applied,
			 * and the master's writes it had not are not in it. */
			rc = tsarc_error_set(TSARC_EUNSAFE, "Redis at %s stopped being a replica of %s "
				"(now: %s) before it had caught up with it: nothing was backed up; back up "
				"again", tsarc_redis_where(r), master, *st.role ? st.role : "unknown");
			goto done;
		}
	}
done:
	tsarc_redis_close(m);
	return rc;
}

int tsarc_redis_require_master(tsarc_redis *r)
{
	char role[32];
	int rc = tsarc_redis_role(r, role, sizeof(role));

	if (rc)
		return rc;
	/* Neither ROLE nor INFO allowed: a replica still refuses the first
	 * write with READONLY, before anything is changed. */
	if (*role && strcmp(role, "master"))
		return tsarc_error_set(TSARC_EUNSAFE, "Redis at %s is a %s, not a master: a restore "
			"writes only to a master", tsarc_redis_where(r),
			!strcmp(role, "slave") ? "replica" : role);
	return 0;
}

/* The refusal of the node at `where`, a node of a Redis Cluster, unless
 * CLUSTER INFO's text (NULL: none) says cluster_size:1; `refused`, the
 * words of CLUSTER INFO's refusal (tsarc_redis_refusal_words), or NULL. */
static int refuse_shards(const char *where, const char *cluster_info, const char *refused)
{
	const char *p;
	long long size = -1;
	char shards[64];

	if (cluster_info && (p = strstr(cluster_info, "cluster_size:")))
		size = strtoll(p + strlen("cluster_size:"), NULL, 10);
	if (size == 1)
		return 0;
	if (size > 1)
		snprintf(shards, sizeof(shards), "of %lld shards", size);
	else
		snprintf(shards, sizeof(shards), "whose shards it does not tell%s",
			refused ? "" : " (CLUSTER INFO)");
	return tsarc_error_set(TSARC_EUNSUPPORTED, "Redis at %s is a node of a Redis Cluster %s: "
		"it holds only the keys of its own hash slots, and tsarc backs up and restores a "
		"whole server (a backup of this node would hold part of the data set, a restore "
		"would empty part of it); nothing was read or written%s%s", where, shards,
		refused ? "; CLUSTER INFO would tell its shards (one shard is a whole server), and "
		"it " : "", refused ? refused : "");
}

/* What the answers of the server at `where` tell, where INFO cluster
 * (`info`) was an error reply (refused, renamed) or said
 * cluster_enabled:1: CLUSTER INFO (`cl`) answered, a node of a cluster,
 * whose size decides; its "cluster support disabled" after INFO's error,
 * a whole server; its error after INFO's, nothing: refused, naming both
 * errors and what to grant. */
static int whole_decided(const char *where, const tsarc_redis_answer *info,
	const tsarc_redis_answer *cl)
{
	char cl_words[700], info_words[700];
	int rc;

	if (!cl->error)
		return refuse_shards(where, cl->text, NULL);
	if (info->error && strstr(cl->text, "cluster support disabled"))
		return 0;
	rc = tsarc_redis_refusal_words(cl_words, sizeof(cl_words), "CLUSTER INFO", "this user",
		cl->text);
	if (!info->error)
		return refuse_shards(where, NULL, cl_words);
	tsarc_redis_refusal_words(info_words, sizeof(info_words), "INFO cluster", "this user",
		info->text);
	return tsarc_error_set(rc, "Redis at %s does not tell this user whether it is a node of a "
		"Redis Cluster (which holds only its hash slots' keys): it %s, and it %s (either answer "
		"tells); nothing was read or written", where, info_words, cl_words);
}

int tsarc_redis_whole_asked(const char *where, tsarc_redis_ask_fn ask, void *arg)
{
	tsarc_redis_answer info = {NULL, 0}, cl = {NULL, 0};
	int rc;

	if ((rc = ask(arg, "INFO", "cluster", &info)))
		goto done;
	if ((info.error || (info.text && strstr(info.text, "cluster_enabled:1"))) &&
		!(rc = ask(arg, "CLUSTER", "INFO", &cl)))
		rc = whole_decided(where, &info, &cl);
done:
	free(info.text);
	free(cl.text);
	return rc;
}

/* tsarc_redis_require_whole's way of asking: our client's connection
 * `arg`; a reply other than a bulk or an error has no text. */
static int ask_client(void *arg, const char *a1, const char *a2, tsarc_redis_answer *out)
{
	tsarc_redis_reply *rep = NULL;
	int rc;

	if ((rc = tsarc_redis_command(arg, &rep, a1, a2, NULL)))
		return rc;
	out->error = rep->type == '-';
	if (rep->type == '-' || rep->type == '$') {
		out->text = rep->str;
		rep->str = NULL;
	}
	tsarc_redis_reply_free(rep);
	return 0;
}

int tsarc_redis_require_whole(tsarc_redis *r)
{
	return tsarc_redis_whole_asked(tsarc_redis_where(r), ask_client, r);
}

/* Asks one Sentinel for the master of `name`. */
static int ask(const tsarc_redis_opts *o, const char *name, char **host, int *port)
{
	tsarc_redis *s = NULL;
	tsarc_redis_reply *rep = NULL;
	int rc;

	if ((rc = tsarc_redis_connect(&s, o, "Sentinel")))
		return rc;
	if (!(rc = tsarc_redis_command(s, &rep, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name,
		     NULL))) {
		if (rep->type == '*' && rep->nelem == 2 && rep->elem[0]->type == '$' &&
			rep->elem[1]->type == '$') {
			*port = atoi(rep->elem[1]->str);
			if (!(*host = strdup(rep->elem[0]->str)))
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		} else {
			rc = tsarc_error_set(TSARC_ENOTFOUND, "Sentinel at %s knows no master '%s'%s%s",
				tsarc_redis_where(s), name, rep->type == '-' ? ": " : "",
				rep->type == '-' ? rep->str : "");
		}
	}
	tsarc_redis_reply_free(rep);
	tsarc_redis_close(s);
	return rc;
}

/* The value of `key` in one entry of SENTINEL REPLICAS (a flat array of
 * names and values), or NULL. */
static const char *field(const tsarc_redis_reply *e, const char *key)
{
	size_t i;

	for (i = 0; e->type == '*' && i + 1 < e->nelem; i += 2)
		if (e->elem[i]->type == '$' && e->elem[i + 1]->type == '$' &&
			!strcmp(e->elem[i]->str, key))
			return e->elem[i + 1]->str;
	return NULL;
}

/* The replicas of `name` one Sentinel takes for healthy (SENTINEL
 * REPLICAS: not down, not disconnected, their link to the master up), in
 * its order, into hosts/ports (up to max); their number into *n (0: none,
 * the caller reads the master). */
static int ask_replicas(tsarc_redis *s, const char *name, char **hosts, int *ports, size_t max,
	size_t *n)
{
	tsarc_redis_reply *rep = NULL;
	size_t i;
	int rc;

	*n = 0;
	if (!(rc = tsarc_redis_command(s, &rep, "SENTINEL", "REPLICAS", name, NULL)) &&
		rep->type == '-' && tsarc_redis_reply_refused(rep)) {
		/* Before Redis 5 the command was SENTINEL SLAVES. */
		tsarc_redis_reply_free(rep);
		rep = NULL;
		rc = tsarc_redis_command(s, &rep, "SENTINEL", "SLAVES", name, NULL);
	}
	if (!rc && rep->type != '*')
		rc = tsarc_error_set(TSARC_ENOTFOUND, "Sentinel at %s lists no replicas of '%s'%s%s",
			tsarc_redis_where(s), name, rep->type == '-' ? ": " : "",
			rep->type == '-' ? rep->str : "");
	for (i = 0; !rc && *n < max && i < rep->nelem; i++) {
		const char *ip = field(rep->elem[i], "ip"), *p = field(rep->elem[i], "port");
		const char *flags = field(rep->elem[i], "flags");
		const char *link = field(rep->elem[i], "master-link-status");
		if (!ip || !p || !flags || strstr(flags, "s_down") || strstr(flags, "o_down") ||
			strstr(flags, "disconnected") || (link && strcmp(link, "ok")))
			continue;
		ports[*n] = atoi(p);
		if (!(hosts[*n] = strdup(ip)))
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		else
			++*n;
	}
	tsarc_redis_reply_free(rep);
	return rc;
}

/* The Sentinel's own address and credentials from one hosts entry
 * ([redis[s]://][[user:]password@]host[:port]) over `base`, into *so;
 * *u holds the strings (tsarc_url_free). */
static int sentinel_opts(const char *entry, const tsarc_redis_opts *base,
	const tsarc_redis_sentinel *s, tsarc_redis_opts *so, tsarc_url *u)
{
	char *text = NULL;
	int rc;

	/* The entry may carry the Sentinels' password: formatted into a
	 * wiped buffer (fmt.h), wiped when freed. */
	if ((rc = tsarc_asprintf(&text, "%s%s", strstr(entry, "://") ? "" : "redis://", entry)))
		return rc;
	rc = tsarc_url_parse(text, u);
	tsarc_secure_free_str(text);
	if (rc) {
		tsarc_error_prefix("a Sentinel host");
		return rc;
	}
	*so = *base;
	so->socket = NULL;
	so->host = u->host;
	so->port = u->port ? u->port : SENTINEL_PORT;
	so->server_name = NULL;
	so->user = u->user ? u->user : s->user;
	so->password = u->password ? u->password : s->password;
	if (!strcmp(u->scheme, "rediss"))
		so->tls = 1;
	return 0;
}

/* Connects to host:port with `base` and checks with ROLE that it is a
 * `want` ("master", "slave"), as the Sentinel at `so` said. */
static int connect_as(const tsarc_redis_opts *base, const tsarc_redis_opts *so,
	const char *group, const char *host, int port, const char *want, tsarc_redis **out)
{
	tsarc_redis_opts mo = *base;
	char role[32];
	int rc;

	mo.socket = NULL;
	mo.host = host;
	mo.port = port;
	if (!(rc = tsarc_redis_connect(out, &mo, "Redis")) &&
		!(rc = tsarc_redis_role(*out, role, sizeof(role))) && *role && strcmp(role, want))
		rc = tsarc_error_set(TSARC_ETRANSIENT, "Sentinel at %s:%d names %s:%d as %s of "
			"'%s', which is a %s", so->host, so->port, host, port,
			!strcmp(want, "master") ? "master" : "a replica", group, role);
	if (rc) {
		tsarc_redis_close(*out);
		*out = NULL;
	}
	return rc;
}

/* The master of the group, through the Sentinel of one hosts entry. */
static int try_entry(const char *entry, const tsarc_redis_opts *base,
	const tsarc_redis_sentinel *s, tsarc_redis **out)
{
	tsarc_url u;
	tsarc_redis_opts so;
	char *host = NULL;
	int rc, port = 0;

	if ((rc = sentinel_opts(entry, base, s, &so, &u)))
		return rc;
	if (!(rc = ask(&so, s->master, &host, &port)))
		rc = connect_as(base, &so, s->master, host, port, "master", out);
	free(host);
	tsarc_url_free(&u);
	return rc;
}

/* Appends "; " (unless it is the first) and the formatted text to note,
 * cut where it is full. */
static void note_add(char *note, size_t notesz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note_add(char *note, size_t notesz, const char *fmt, ...)
{
	size_t n = strlen(note);
	va_list ap;

	if (n && n + 3 < notesz) {
		memcpy(note + n, "; ", 3);
		n += 2;
	}
	if (n + 1 >= notesz)
		return;
	va_start(ap, fmt);
	vsnprintf(note + n, notesz - n, fmt, ap);
	va_end(ap);
}

#define MAX_REPLICAS 32

/* A server to back up of the group, through the Sentinel of one hosts
 * entry: each replica it takes for healthy in turn, checked (ROLE, its
 * link up, caught up with the master: tsarc_redis_require_caught_up),
 * the first that passes; else the master. Why each was passed over goes
 * to note->passed. */
static int try_entry_read(const char *entry, const tsarc_redis_opts *base,
	const tsarc_redis_sentinel *s, int wait_ms, const atomic_int *stop,
	tsarc_redis_read_note *note, tsarc_redis **out)
{
	tsarc_url u;
	tsarc_redis_opts so;
	tsarc_redis *sen = NULL;
	char *hosts[MAX_REPLICAS], *mhost = NULL;
	const char *msg, *cut;
	int ports[MAX_REPLICAS], rc, mport = 0;
	size_t n = 0, i;

	if ((rc = sentinel_opts(entry, base, s, &so, &u)))
		return rc;
	if ((rc = ask(&so, s->master, &mhost, &mport)))
		goto done;
	if ((rc = tsarc_redis_connect(&sen, &so, "Sentinel")))
		goto done;
	rc = ask_replicas(sen, s->master, hosts, ports, MAX_REPLICAS, &n);
	if (rc == TSARC_ENOTFOUND) {
		note_add(note->passed, sizeof(note->passed), "%s", tsarc_error_last()->message);
		tsarc_error_clear();
		rc = 0;
	} else if (!rc && !n) {
		note_add(note->passed, sizeof(note->passed), "Sentinel at %s lists no healthy "
			"replica of '%s'", tsarc_redis_where(sen), s->master);
	}
	tsarc_redis_close(sen);
	if (rc)
		goto done;
	for (i = 0; i < n && !*out; i++) {
		if (!(rc = connect_as(base, &so, s->master, hosts[i], ports[i], "slave", out)) &&
			!(rc = tsarc_redis_require_linked(*out)) &&
			!(rc = tsarc_redis_require_caught_up(*out, base, mhost, mport, wait_ms, stop,
				  note->check, sizeof(note->check))))
			break;
		tsarc_redis_close(*out);
		*out = NULL;
		if (rc == TSARC_ENOMEM || rc == TSARC_ECANCELED)
			goto done;
		/* This replica would not give a good backup: the next one, or
		 * the master (Sentinel knows it). Its reason without the advice
		 * a failure ends with (": nothing was backed up: back up the
		 * master ..."), which is what happens next. */
		msg = tsarc_error_last()->message;
		cut = strstr(msg, "nothing was backed up");
		while (cut && cut > msg && strchr(":; ", cut[-1]))
			cut--;
		note_add(note->passed, sizeof(note->passed), "replica %s:%d passed over: %.*s",
			hosts[i], ports[i], cut ? (int)(cut - msg) : (int)strlen(msg), msg);
		tsarc_error_clear();
		rc = 0;
	}
	if (!*out) {
		note->check[0] = '\0';
		rc = connect_as(base, &so, s->master, mhost, mport, "master", out);
		if (rc && note->passed[0])
			tsarc_error_prefix("no replica of '%s' to read (%s), nor its master",
				s->master, note->passed);
	}
done:
	for (i = 0; i < n; i++)
		free(hosts[i]);
	free(mhost);
	tsarc_url_free(&u);
	return rc;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* One entry, blanks around it trimmed: [scheme://][userinfo@]host[:port][/...]. */
static int entry_ok(const char *e, const char *end)
{
	const char *p = e, *q, *at = NULL;
	size_t digits = 0;

	for (q = e; q < end; q++)
		if (is_blank(*q))
			return 0;
	for (q = e; q + 3 <= end; q++)
		if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
			if (q == e)
				return 0;
			p = q + 3;
			break;
		}
	for (q = p; q < end; q++)
		if (*q == '@')
			at = q;
	if (at)
		p = at + 1;
	if (p < end && *p == '[') {
		while (p < end && *p != ']')
			p++;
		if (p == end)
			return 0;
		p++;
	} else {
		for (q = p; q < end && *q != ':' && *q != '/'; q++)
			;
		if (q == p)
			return 0;
		p = q;
	}
	if (p < end && *p == ':') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++)
			digits++;
		if (!digits || digits > 5)
			return 0;
	}
	return p == end || *p == '/';
}

int tsarc_redis_sentinel_hosts_check(const char *hosts)
{
	const char *p = hosts, *e, *end;
	int n = 0;

	while (p && *p) {
		e = strchr(p, ',');
		end = e ? e : p + strlen(p);
		while (p < end && is_blank(*p))
			p++;
		while (end > p && is_blank(end[-1]))
			end--;
		n++;
		/* An empty entry ("a,,b") is passed over, as before. */
		if (end > p && !entry_ok(p, end))
			return tsarc_error_set(TSARC_ECONFIG, "the Sentinel hosts' entry %d is not "
				"[redis[s]://][[user:]password@]host[:port] (3scale splits the list "
				"at each ',': a password in it cannot hold ',' or a blank)", n);
		p = e ? e + 1 : NULL;
	}
	return 0;
}

static int sentinel_connect(tsarc_redis **out, const tsarc_redis_opts *base,
	const tsarc_redis_sentinel *s, int wait_ms, const atomic_int *stop,
	tsarc_redis_read_note *note)
{
	char *list, *save = NULL, *entry;
	tsarc_saved_error first = {0, "", NULL};
	int rc = TSARC_ECONFIG, tried = 0;

	*out = NULL;
	if (!s->hosts || !s->master || !*s->master)
		return tsarc_error_set(TSARC_ECONFIG, "Sentinel needs hosts and a master name");
	if ((rc = tsarc_redis_sentinel_hosts_check(s->hosts)))
		return rc;
	if (!(list = strdup(s->hosts)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (entry = strtok_r(list, ", \t\n", &save); entry; entry = strtok_r(NULL, ", \t\n", &save)) {
		tried++;
		if (note) {
			/* What this Sentinel's choice found (another's is another view). */
			note->passed[0] = note->check[0] = '\0';
			rc = try_entry_read(entry, base, s, wait_ms, stop, note, out);
		} else {
			rc = try_entry(entry, base, s, out);
		}
		if (!rc)
			break;
		if (!first.code)
			tsarc_error_save(&first);
		if (rc == TSARC_ECANCELED)
			break;
	}
	OPENSSL_cleanse(list, strlen(s->hosts));
	free(list);
	if (!tried)
		return tsarc_error_set(TSARC_ECONFIG, "no Sentinel hosts given");
	if (rc == TSARC_ECANCELED || !rc) {
		tsarc_error_forget(&first);
		return rc;
	}
	rc = tsarc_error_set(rc == TSARC_ENOMEM ? rc : TSARC_ENET, "no Sentinel of %d gave "
		"the %s of '%s' (first: %s)", tried, note ? "replica or master" : "master",
		s->master, tsarc_error_saved_message(&first));
	tsarc_error_forget(&first);
	return rc;
}

int tsarc_redis_sentinel_connect_read(tsarc_redis **out, const tsarc_redis_opts *base,
	const tsarc_redis_sentinel *s, int wait_ms, const atomic_int *stop,
	tsarc_redis_read_note *note)
{
	memset(note, 0, sizeof(*note));
	return sentinel_connect(out, base, s, wait_ms, stop, note);
}

int tsarc_redis_sentinel_connect(tsarc_redis **out, const tsarc_redis_opts *base,
	const tsarc_redis_sentinel *s)
{
	return sentinel_connect(out, base, s, 0, NULL, NULL);
}
