#ifndef TSARC_DEPLOYMENT_H
#define TSARC_DEPLOYMENT_H

/*
 * Deployments: an application made of components (databases, Redis,
 * file trees, Kubernetes resources) described by a profile (built in,
 * e.g. "3scale") and a configuration file that says where the deployment
 * is (docs/config.md). A backup writes one snapshot with a stream per
 * component; a restore plans every step from the snapshot and the target
 * configuration before it changes anything, then runs the plan.
 *
 * Reports and plans are JSON text (the documents `tsarc backup --json`
 * and `tsarc restore --json` print), allocated with malloc: the caller
 * frees them with free().
 */

#include <stddef.h>
#include "backup.h"
#include "repository.h"
#include "snapshot.h"

typedef struct tsarc_deploy tsarc_deployment;

/* Reads a configuration file and merges it over its profile; anything
 * wrong is TSARC_ECONFIG naming the file and the field. */
int tsarc_deployment_open(tsarc_deployment **out, const char *config_path);
void tsarc_deployment_free(tsarc_deployment *d);

/*
 * Backs every enabled component up into one new snapshot (`*out`).
 * When a required component fails, no snapshot is written and the error
 * names every component that failed. `*report_json` (may be NULL):
 * one object per component (name, kind, stream, status, bytes, seconds,
 * source, error), set on success and on failure. The tools run as child
 * processes that write into pipes: the caller should ignore SIGPIPE, or
 * a component whose pipe closes early kills the program.
 */
int tsarc_deployment_backup(tsarc_snapshot **out, tsarc_deployment *d, tsarc_repo *repo,
	const tsarc_backup_options *opts, char **report_json);

/*
 * The snapshot `spec` names for a restore into the deployment `d`, as
 * `tsarc restore --config` picks it: as tsarc_snapshot_open_backup, and
 * where d's transport tells which Kubernetes cluster it reaches (the
 * kube-root-ca.crt every namespace holds), a "latest" of `host` taken in
 * another cluster while the host also has backups taken in this one is
 * refused (TSARC_EINVAL, naming both clusters): two clusters whose 3scale
 * namespaces share a name record one host. `target_namespace` (may be
 * NULL): the namespace the restore will reach, if not d's.
 */
int tsarc_deployment_open_backup(tsarc_snapshot **out, tsarc_deployment *d, tsarc_repo *repo,
	const char *spec, const char *host, const char *target_namespace);

typedef struct tsarc_deployment_restore_options {
	const char *const *only;   /* component names, or NULL: all */
	size_t nonly;
	int verify_first;          /* verify every chunk before the first write */
	int skip_endpoint_secrets; /* leave the database-endpoint Secrets alone */
	int allow_source_target;   /* a migration may write where the snapshot came from */
	int allow_partial;         /* restore a snapshot lacking some enabled components */
	const char *target_namespace;
	const char *rewrite_old, *rewrite_new; /* rewrite the domain OLD to NEW */
	unsigned inflight;         /* chunk requests in flight (0: the store's) */
	/* One line per step as it runs, or NULL. */
	void (*progress)(void *payload, const char *line);
	void *progress_payload;
} tsarc_deployment_restore_options;

/*
 * The plan for restoring `snap` into the deployment `d` describes: every
 * step, in order, and what it would do. Changes nothing. `opts` may be
 * NULL.
 */
int tsarc_deployment_plan(char **plan_json, tsarc_deployment *d, tsarc_repo *repo,
	const tsarc_snapshot *snap, const tsarc_deployment_restore_options *opts);

/*
 * Restores `snap` into the deployment: the steps of the plan, one at a
 * time, then the post-restore hooks. The first failure stops it;
 * `*report_json` (may be NULL) then says which steps were applied, which
 * failed and which were not run. Holds a shared lock on the repository.
 */
int tsarc_deployment_restore(char **report_json, tsarc_deployment *d, tsarc_repo *repo,
	const tsarc_snapshot *snap, const tsarc_deployment_restore_options *opts);

#endif
