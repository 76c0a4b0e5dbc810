#ifndef TSARC_DEPLOY_H
#define TSARC_DEPLOY_H

#include <cjson/cJSON.h>
#include "backup.h"

/*
 * A deployment backup: a profile (built in, e.g. "3scale", or a JSON file)
 * describes the components of an application; a configuration file says
 * where the deployment is and overrides any part of the profile. See
 * docs/config.md for the format.
 */
typedef struct tsarc_deploy tsarc_deploy;

/* Reads a configuration file and merges it over its profile. Errors are
 * TSARC_ECONFIG naming the file and the field. */
int tsarc_deploy_load(tsarc_deploy **out, const char *config_path);
/* The same from JSON text; `origin` names it in messages. */
int tsarc_deploy_load_text(tsarc_deploy **out, const char *text, const char *origin);
void tsarc_deploy_free(tsarc_deploy *d);

/* The effective configuration (profile + overrides), for --print-config. */
const cJSON *tsarc_deploy_effective(const tsarc_deploy *d);
/* Overrides the number of components backed up at once (0: keep). */
void tsarc_deploy_set_parallel(tsarc_deploy *d, unsigned parallel);

/* Decides, for every component of the 3scale 2.16+ kind that does not
 * say, whether it is external: from the APIManager's externalComponents
 * and the host in its Secret's URL (layout.h). Writes "external" into the
 * effective configuration; `*decisions` (may be NULL) gets, per component,
 * {"external": bool, "why": "..."}. Reads through the configuration's
 * transport; what cannot be read is a reason, not an error. */
int tsarc_deploy_decide_external(tsarc_deploy *d, cJSON **decisions);

/* The text of a built-in profile, or NULL. */
const char *tsarc_deploy_builtin_profile(const char *name);

/*
 * Backs every enabled component up into `b`, at most `parallel` at once,
 * one stream each. Returns 0 when every one succeeded: the caller then
 * commits. On failure the error names every component that failed with
 * the tail of its tool's stderr; the caller must then free `b` without
 * committing. `*report` (may be NULL) receives one JSON object per
 * component: name, kind, stream, status, bytes, seconds, source, error.
 * The caller must ignore SIGPIPE or accept that a producer writing to a
 * closed pipe is reported as failed (the CLI ignores it).
 */
int tsarc_deploy_backup(tsarc_deploy *d, tsarc_backup *b, cJSON **report);
/* The same for the enabled components named in only[0..nonly) alone;
 * for_undo: the backup is a restore's undo snapshot (tsarc_component's
 * undo). */
int tsarc_deploy_backup_only(tsarc_deploy *d, tsarc_backup *b, const char *const *only,
	size_t nonly, int for_undo, cJSON **report);

/*
 * Restores a snapshot into the deployment `d` describes (the target: the
 * same place after a failure, or another cluster for a migration). Steps
 * run one at a time in the order of each component's restore recipe (the
 * copy in the stream's metadata, with the target config's "restore"
 * fields over it), then the post_restore hooks. The first failure stops
 * the restore; `*report` (may be NULL) then says which steps were applied,
 * which failed and which were not run.
 */
typedef struct tsarc_restore_opts {
	const char *const *only;   /* component names, or NULL: all */
	size_t nonly;
	int dry_run;               /* print the plan, touch nothing */
	int verify_first;          /* verify every chunk before the first write */
	/* Back up what the restore replaces first, and restore it if a
	 * component's step fails (undo.h). */
	int undo;
	/* Set in the restore that rolls back a failed one (undo.c): the
	 * snapshot that one restored, whose steps it left pending on purpose
	 * (not "an earlier restore that did not finish"). */
	const char *rolling_back;
	int skip_endpoint_secrets; /* leave the database-endpoint Secrets alone */
	/* A migration may write where the snapshot was taken from (refused
	 * otherwise: see resolve_targets in restore.c). */
	int allow_source_target;
	/* Restore a snapshot that lacks some of the target's enabled
	 * components: the rest is restored, those are left as they are
	 * (refused otherwise: refuse_partial in plan.c). */
	int allow_partial;
	const char *target_namespace;
	const char *rewrite_old, *rewrite_new; /* --rewrite-domain OLD=NEW */
	unsigned inflight;         /* chunk requests in flight (0: the store's) */
	/* Progress lines (one per step), or NULL. */
	void (*progress)(void *payload, const char *line);
	void *progress_payload;
} tsarc_restore_opts;

/*
 * The cluster the restore's target is in (a kube transport's identity of
 * it, TSARC_CLUSTER_PREFIX... of snapshot.h), in `*out` (allocated), or
 * NULL when its transport cannot tell (another transport, a cluster
 * without kube-root-ca.crt): for the pick of "latest"
 * (tsarc_snapshot_pick's cluster), before the snapshot is chosen. `o`
 * (may be NULL): its target_namespace is the namespace reached.
 */
int tsarc_deploy_target_cluster(tsarc_deploy *d, const tsarc_restore_opts *o, char **out);

struct tsarc_repo;
struct tsarc_snapshot;
int tsarc_deploy_restore(tsarc_deploy *d, struct tsarc_repo *repo,
	const struct tsarc_snapshot *snap, const tsarc_restore_opts *opts, cJSON **report);

#endif
