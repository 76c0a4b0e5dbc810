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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int tsarc_redis_info_cluster_enabled(const char *info_cluster)
{
	return info_cluster && strstr(info_cluster, "cluster_enabled:1") != NULL;
}

int tsarc_redis_refuse_shards(const char *where, const char *cluster_info)
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
		snprintf(shards, sizeof(shards), "whose shards it does not tell (CLUSTER INFO)");
	return tsarc_error_set(TSARC_EUNSUPPORTED, "Redis at %s is a node of a Redis Cluster %s: "
		"it holds only the keys of its own hash slots, and tsarc backs up and restores a "
		"whole server (a backup of this node would hold part of the data set, a restore "
		"would empty part of it); nothing was read or written", where, shards);
}

int tsarc_redis_require_whole(tsarc_redis *r)
{
	tsarc_redis_reply *rep = NULL;
	int rc, cluster;

	if ((rc = tsarc_redis_command(r, &rep, "INFO", "cluster", NULL)))
		return rc;
	cluster = rep->type == '$' && tsarc_redis_info_cluster_enabled(rep->str);
	tsarc_redis_reply_free(rep);
	if (!cluster)
		return 0;
	if ((rc = tsarc_redis_command(r, &rep, "CLUSTER", "INFO", NULL)))
		return rc;
	rc = tsarc_redis_refuse_shards(tsarc_redis_where(r), rep->type == '$' ? rep->str : NULL);
	tsarc_redis_reply_free(rep);
	return rc;
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

/* Asks one Sentinel for a healthy replica of `name`: the first one listed
 * that is not down or disconnected and whose link to the master is up.
 * TSARC_ENOTFOUND when there is none (the caller reads the master). */
static int ask_replica(const tsarc_redis_opts *o, const char *name, char **host, int *port)
{
	tsarc_redis *s = NULL;
	tsarc_redis_reply *rep = NULL;
	size_t i;
	int rc;

	*host = NULL;
	if ((rc = tsarc_redis_connect(&s, o, "Sentinel")))
		return rc;
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
	for (i = 0; !rc && !*host && i < rep->nelem; i++) {
		const char *ip = field(rep->elem[i], "ip"), *p = field(rep->elem[i], "port");
		const char *flags = field(rep->elem[i], "flags");
		const char *link = field(rep->elem[i], "master-link-status");
		if (!ip || !p || !flags || strstr(flags, "s_down") || strstr(flags, "o_down") ||
			strstr(flags, "disconnected") || (link && strcmp(link, "ok")))
			continue;
		*port = atoi(p);
		if (!(*host = strdup(ip)))
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	if (!rc && !*host)
		rc = tsarc_error_set(TSARC_ENOTFOUND, "Sentinel at %s knows no healthy replica of "
			"'%s'", tsarc_redis_where(s), name);
	tsarc_redis_reply_free(rep);
	tsarc_redis_close(s);
	return rc;
}

static int try_entry(const char *entry, const tsarc_redis_opts *base,
	const tsarc_redis_sentinel *s, tsarc_redis **out)
{
	tsarc_url u;
	tsarc_redis_opts so = *base, mo = *base;
	char *text = NULL, *host = NULL, role[32];
	const char *want = "master";
	int rc, port = 0;

	/* The entry may carry the Sentinels' password: formatted into a
	 * wiped buffer (fmt.h), wiped when freed. */
	if ((rc = tsarc_asprintf(&text, "%s%s", strstr(entry, "://") ? "" : "redis://", entry)))
		return rc;
	rc = tsarc_url_parse(text, &u);
	tsarc_secure_free_str(text);
	if (rc) {
		tsarc_error_prefix("a Sentinel host");
		return rc;
	}
	so.socket = NULL;
	so.host = u.host;
	so.port = u.port ? u.port : SENTINEL_PORT;
	so.server_name = NULL;
	so.user = u.user ? u.user : s->user;
	so.password = u.password ? u.password : s->password;
	if (!strcmp(u.scheme, "rediss"))
		so.tls = 1;
	if (s->read_replica) {
		want = "slave";
		if ((rc = ask_replica(&so, s->master, &host, &port)) == TSARC_ENOTFOUND) {
			want = "master";
			tsarc_error_clear();
		} else if (rc) {
			goto done;
		}
	}
	if (!host)
		rc = ask(&so, s->master, &host, &port);
	if (!rc) {
		mo.socket = NULL;
		mo.host = host;
		mo.port = port;
		mo.server_name = base->server_name;
		if (!(rc = tsarc_redis_connect(out, &mo, "Redis")) &&
			!(rc = tsarc_redis_role(*out, role, sizeof(role))) && *role &&
			strcmp(role, want)) {
			rc = tsarc_error_set(TSARC_ETRANSIENT, "Sentinel at %s:%d names %s:%d as %s "
				"of '%s', which is a %s", so.host, so.port, host, port,
				!strcmp(want, "master") ? "master" : "a replica", s->master, role);
			tsarc_redis_close(*out);
			*out = NULL;
		}
	}
done:
	free(host);
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
				"[redis[s]://][user[:password]@]host[:port] (3scale splits the list "
				"at each ',': a password in it cannot hold ',' or a blank)", n);
		p = e ? e + 1 : NULL;
	}
	return 0;
}

int tsarc_redis_sentinel_connect(tsarc_redis **out, const tsarc_redis_opts *base,
	const tsarc_redis_sentinel *s)
{
	char *list, *save = NULL, *entry;
	tsarc_saved_error first = {0, ""};
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
		if (!(rc = try_entry(entry, base, s, out)))
			break;
		if (!first.code)
			tsarc_error_save(&first);
	}
	OPENSSL_cleanse(list, strlen(s->hosts));
	free(list);
	if (!tried)
		return tsarc_error_set(TSARC_ECONFIG, "no Sentinel hosts given");
	if (rc)
		return tsarc_error_set(rc == TSARC_ENOMEM ? rc : TSARC_ENET, "no Sentinel of %d gave "
			"the %s of '%s' (first: %s)", tried, s->read_replica ? "replica or master" :
			"master", s->master, first.message);
	return 0;
}
