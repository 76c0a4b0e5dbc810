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

#include <stdatomic.h>
#include <stddef.h>

/* How long a backup waits, by default, for a replica to catch up with
 * its master (the component's "replica_wait", seconds). */
#define TSARC_REDIS_REPLICA_WAIT_S 60

typedef struct tsarc_redis_sentinel {
	/* "host:port,host:port" or "redis://[user:password@]host:port,...",
	 * as 3scale's *_SENTINEL_HOSTS carry them (rediss:// means TLS, a
	 * missing port 26379). */
	const char *hosts;
	const char *master;   /* the group name (the host part of the URL) */
	const char *user;     /* the Sentinels' own credentials, when given */
	const char *password;
} tsarc_redis_sentinel;

/* The hosts list is one 3scale can read: split at each ',' (as 3scale
 * does), each entry, blanks around it aside, is
 * [scheme://][user[:password]@]host[:port][/...]: no blank inside, a port
 * of digits. A password holding ',' or a blank breaks the list apart
 * ("redis://u:ab,cd@h" is "redis://u:ab" and "cd@h"), and a piece would
 * be taken for a host and shown as one. TSARC_ECONFIG, with a message that
 * quotes nothing of the list, when it is not. */
int tsarc_redis_sentinel_hosts_check(const char *hosts);

/* Resolves the master and connects to it with `base` (its host and port
 * replaced), checking with ROLE that it is one. The Sentinels use base's
 * TLS settings (or their own scheme). A backup reading a replica when the
 * Secret's role is slave uses tsarc_redis_sentinel_connect_read. */
int tsarc_redis_sentinel_connect(tsarc_redis **out, const tsarc_redis_opts *base,
	const tsarc_redis_sentinel *s);

/* What the choice of the server a backup reads found, for the stream's
 * metadata: the replicas passed over and why ("" none), and what the
 * catch-up check said of the one read ("" for a master). */
typedef struct tsarc_redis_read_note {
	char passed[2048];
	char check[512];
} tsarc_redis_read_note;

/* The server a backup reads when the Secret's role is slave: each replica
 * the Sentinel takes for healthy, in its order, checked as the backup
 * needs it (ROLE says replica, its link up: tsarc_redis_require_linked,
 * caught up with the master the Sentinel names within wait_ms:
 * tsarc_redis_require_caught_up); the first that passes is read. One that
 * fails a check is passed over (why, in note->passed), and the master is
 * read when none passes: a replica that would not give a good backup does
 * not cost the night's backup. Fails only where the master cannot be
 * read either. `stop` (may be NULL) ends a wait. */
int tsarc_redis_sentinel_connect_read(tsarc_redis **out, const tsarc_redis_opts *base,
	const tsarc_redis_sentinel *s, int wait_ms, const atomic_int *stop,
	tsarc_redis_read_note *note);

/* A backup started at T holds every write the master acknowledged before
 * T only when the replica it reads has applied the master's stream up to
 * the master's offset at T. When `r` is a replica: the master's offset is
 * read now (INFO replication's master_repl_offset, ROLE's where INFO is
 * refused) at master_host:master_port (NULL: the master the replica
 * follows, INFO's master_host), connected with `base`'s user, password
 * and TLS; then the replica's (slave_repl_offset, ROLE's) is asked every
 * 50 ms until it reaches it. TSARC_EUNSAFE, naming the replica, its
 * master, the bytes it is behind and what to do, when it has not within
 * wait_ms, when its link goes down, its replication history
 * (master_replid) is not the master's, or the master cannot be reached;
 * TSARC_ECANCELED on `stop`. What was found into `found` ("" for a
 * master). Not checked (found says so, and 0): a user refused both INFO
 * and ROLE on the replica or on the master. */
int tsarc_redis_require_caught_up(tsarc_redis *r, const tsarc_redis_opts *base,
	const char *master_host, int master_port, int wait_ms, const atomic_int *stop,
	char *found, size_t foundsz);

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
 * the first read of a backup and the first write of a restore, and by the
 * plan of a restore. A server that refuses INFO to this user (an ACL's
 * -info, a managed Redis's -@dangerous, a renamed INFO) is asked CLUSTER
 * INFO; one that refuses both is refused (tsarc_redis_whole_asked). */
int tsarc_redis_require_whole(tsarc_redis *r);
/* One answer of a server (tsarc_redis_whole_asked): the reply's text (an
 * error reply's too; NULL: none), and whether it is an error reply. */
typedef struct tsarc_redis_answer {
	char *text;
	int error;
} tsarc_redis_answer;
/* Puts `a1 a2` to the server as one way of asking does (our client,
 * redis-cli): 0 and its answer in *out, whose text the caller frees, or
 * the failure to ask (the connection, the transport). */
typedef int (*tsarc_redis_ask_fn)(void *arg, const char *a1, const char *a2,
	tsarc_redis_answer *out);
/*
 * The one decision of whether the server at `where` is a whole server,
 * from its answers, for every way of asking (our client:
 * tsarc_redis_require_whole; redis-cli: tsarc_redis_cli_require_whole).
 * INFO cluster saying cluster_enabled:0 (or answering without
 * cluster_enabled:1) is a whole server. Else CLUSTER INFO is asked, which
 * a managed Redis's -@dangerous leaves to its user: answered, the node of
 * a cluster, refused (TSARC_EUNSUPPORTED) unless cluster_size:1; "cluster
 * support disabled" after INFO's refusal, a whole server. An error reply
 * is never "not a cluster": before, INFO refused read so, and a node
 * passed for a whole server (its backup held its slots' keys, its restore
 * emptied it). Both refused (or renamed), nothing tells: refused before
 * anything is read or written, the error naming `where`, each refusal and
 * the ACL rule to grant (+cluster|info, +info). The failure of `ask`
 * returns as it is.
 */
int tsarc_redis_whole_asked(const char *where, tsarc_redis_ask_fn ask, void *arg);

#endif
