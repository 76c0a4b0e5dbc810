#ifndef TSARC_REDIS_SENTINEL_H
#define TSARC_REDIS_SENTINEL_H

/*
 * Sentinel: the address of a group's current master, asked of each
 * Sentinel in turn (SENTINEL GET-MASTER-ADDR-BY-NAME), and checked with
 * ROLE on the master itself, since a Sentinel may answer with a master
 * that a failover has just demoted. Also the replica check a restore
 * makes before its first write.
 */
#include "client.h"

typedef struct tsarc_redis_sentinel {
	/* "host:port,host:port" or "redis://[user:password@]host:port,...",
	 * as 3scale's *_SENTINEL_HOSTS carry them (rediss:// means TLS, a
	 * missing port 26379). */
	const char *hosts;
	const char *master;   /* the group name (the host part of the URL) */
	const char *user;     /* the Sentinels' own credentials, when given */
	const char *password;
	/* Reads only, and the Secret's role is slave (3scale reads a replica
	 * then): a healthy replica of the group (SENTINEL REPLICAS: not down,
	 * not disconnected, its link to the master up), else the master. A
	 * restore never sets it: it writes to the master whatever the role. */
	int read_replica;
} tsarc_redis_sentinel;

/* The hosts list is one 3scale can read: split at each ',' (as 3scale
 * does), each entry, blanks around it aside, is
 * [scheme://][user[:password]@]host[:port][/...]: no blank inside, a port
 * of digits. A password holding ',' or a blank breaks the list apart
 * ("redis://u:ab,cd@h" is "redis://u:ab" and "cd@h"), and a piece would
 * be taken for a host and shown as one. TSARC_ECONFIG, with a message that
 * quotes nothing of the list, when it is not. */
int tsarc_redis_sentinel_hosts_check(const char *hosts);

/* Resolves the master (or a replica, read_replica) and connects to it with
 * `base` (its host and port replaced), checking with ROLE that it is what
 * the Sentinel said. The Sentinels use base's TLS settings (or their own
 * scheme). */
int tsarc_redis_sentinel_connect(tsarc_redis **out, const tsarc_redis_opts *base,
	const tsarc_redis_sentinel *s);

/* The value of `key` in an INFO text (a line "key:value") into out; 0
 * when there is no such line. */
int tsarc_redis_info_line(const char *text, const char *key, char *out, size_t outsz);

/* ROLE's first element ("master", "slave", ...) into role; "" when the
 * server refuses both ROLE and INFO replication to this user. */
int tsarc_redis_role(tsarc_redis *r, char *role, size_t rolesz);
/* The server's own identity (INFO server's run_id: random at each start,
 * so two connections that get the same one reach one running server,
 * whatever address each used) into id; "" when the server does not say. */
int tsarc_redis_server_id(tsarc_redis *r, char *id, size_t idsz);
/* The identity of the server's data set (INFO replication's
 * master_replid): a primary's replication id, which each of its replicas
 * takes on when it syncs. Two reads with the same one read one data set,
 * from the primary or any replica in its group (a Sentinel hands out
 * either); a promotion or a replica detached gets a new one. "" when the
 * server does not say. */
int tsarc_redis_dataset_id(tsarc_redis *r, char *id, size_t idsz);
/* TSARC_EUNSAFE when `r` is a replica whose link to its master is not up
 * (INFO replication: master_link_status other than up, or
 * master_sync_in_progress:1; ROLE's state other than "connected" where
 * INFO is refused): it serves the data set as it was when the link broke,
 * or an old one while a full sync runs, and a backup would record that as
 * the deployment's state. The error names the replica, its master and
 * what to do. A master, a replica in sync, or a server that refuses both
 * INFO and ROLE to this user passes. Both backup paths ask it before they
 * read (tsarc_redis_sync_rdb: the replica's own SYNC refuses the same way,
 * NOMASTERLINK, but says nothing of what to do) and the logical dump asks
 * again once it has read everything, so that a link that broke during the
 * scan is found too. */
int tsarc_redis_require_linked(tsarc_redis *r);
/* TSARC_EUNSAFE when `r` is a replica: a restore never writes there. */
int tsarc_redis_require_master(tsarc_redis *r);
/* TSARC_EUNSUPPORTED when `r` is a node of a Redis Cluster of more than
 * one shard (INFO cluster, CLUSTER INFO's cluster_size), or of one whose
 * size it does not tell: such a node holds only the keys of its hash
 * slots, while a backup (SYNC, or SCAN of every database) and a restore
 * (every database emptied) take it for the whole data set. Checked before
 * the first read of a backup and the first write of a restore. A server
 * that refuses INFO to this user is taken for a whole server. */
int tsarc_redis_require_whole(tsarc_redis *r);
/* Its two halves, from the servers' texts, for every way of asking (our
 * client, redis-cli: tsarc_redis_cli_require_whole): whether INFO
 * cluster's text says cluster_enabled:1 (a refusal, NULL: no), and the
 * refusal of the node at `where` unless CLUSTER INFO's text (NULL: none,
 * or refused) says cluster_size:1. */
int tsarc_redis_info_cluster_enabled(const char *info_cluster);
int tsarc_redis_refuse_shards(const char *where, const char *cluster_info);

#endif
