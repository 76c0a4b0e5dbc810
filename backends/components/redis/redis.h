#ifndef TSARC_COMPONENTS_REDIS_H
#define TSARC_COMPONENTS_REDIS_H

/* The redis kind's files: redis.c (the kind, its dump), swap.c (its restore). */
#include "../db.h"

/* How redis-cli reaches and logs into the server of component `c`, for
 * its backup and every redis-cli of its restore alike: host (with_host:
 * the restore in a pod talks to the server of that pod, whatever the
 * host), port, user, --tls, the component's options; the password in the
 * child's environment, or from the pod's own variable (pod_password_env). */
int tsarc_redis_cli_args(tsarc_cmd *cmd, const tsarc_component *c, const tsarc_conn *conn,
	int with_host);
/* Restores step `s`: the RDB swap (swap.c). */
int tsarc_redis_swap_restore(tsarc_restore_ctx *r, tsarc_step *s);

#endif
