/*
 * The public deployment API (include/tsarc/deployment.h): thin wrappers
 * over the deployment layer (deploy.h) that take the repository lock as
 * the CLI does and hand reports out as JSON text, so that the public
 * headers need no cJSON and the internals can change behind them.
 */
#include "deploy.h"
#include "lock.h"
#include "snapshot.h"
#include "tsarc/deployment.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int tsarc_deployment_open(tsarc_deployment **out, const char *config_path)
{
	if (!out || !config_path)
		return tsarc_error_set(TSARC_EINVAL, "a configuration file is needed");
	return tsarc_deploy_load(out, config_path);
}

void tsarc_deployment_free(tsarc_deployment *d)
{
	tsarc_deploy_free(d);
}

/* Hands `doc` out as text (or drops it when the caller does not want it);
 * consumes `doc`. */
static int hand_out(cJSON *doc, char **out, int rc)
{
	if (out) {
		*out = NULL;
		if (doc && !(*out = cJSON_PrintUnformatted(doc)) && !rc)
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	cJSON_Delete(doc);
	return rc;
}

int tsarc_deployment_backup(tsarc_snapshot **out, tsarc_deployment *d, tsarc_repo *repo,
	const tsarc_backup_options *opts, char **report_json)
{
	char id[TSARC_ID_HEX_LEN + 1];
	tsarc_backup *b = NULL;
	cJSON *report = NULL;
	int rc;

	if (report_json)
		*report_json = NULL;
	if (!out || !d || !repo)
		return tsarc_error_set(TSARC_EINVAL, "tsarc_deployment_backup: missing argument");
	if ((rc = tsarc_backup_new(&b, repo, opts)))
		return rc;
	rc = tsarc_deploy_backup(d, b, &report);
	if (!rc)
		rc = tsarc_backup_commit(b, id);
	/* Without a commit this abandons the snapshot: no manifest is written. */
	tsarc_backup_free(b);
	if (!rc)
		rc = tsarc_snapshot_load(repo, id, out);
	return hand_out(report, report_json, rc);
}

static void to_internal(tsarc_restore_opts *o, const tsarc_deployment_restore_options *p,
	int dry_run)
{
	memset(o, 0, sizeof(*o));
	o->dry_run = dry_run;
	if (!p)
		return;
	o->only = p->only;
	o->nonly = p->nonly;
	o->verify_first = p->verify_first;
	o->skip_endpoint_secrets = p->skip_endpoint_secrets;
	o->allow_source_target = p->allow_source_target;
	o->allow_partial = p->allow_partial;
	o->target_namespace = p->target_namespace;
	o->rewrite_old = p->rewrite_old;
	o->rewrite_new = p->rewrite_new;
	o->inflight = p->inflight;
	o->progress = p->progress;
	o->progress_payload = p->progress_payload;
}

static int restore(char **out, tsarc_deployment *d, tsarc_repo *repo,
	const tsarc_snapshot *snap, const tsarc_deployment_restore_options *p, int dry_run)
{
	tsarc_restore_opts o;
	tsarc_lock *lock = NULL;
	cJSON *report = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!d || !repo || !snap)
		return tsarc_error_set(TSARC_EINVAL, "a deployment, a repository and a snapshot are needed");
	to_internal(&o, p, dry_run);
	/* Shared: prune must not delete chunks this restore still reads. */
	if ((rc = tsarc_lock_acquire(&lock, repo, 0)))
		return rc;
	rc = tsarc_deploy_restore(d, repo, snap, &o, &report);
	rc = tsarc_lock_release_after(lock, rc);
	return hand_out(report, out, rc);
}

int tsarc_deployment_plan(char **plan_json, tsarc_deployment *d, tsarc_repo *repo,
	const tsarc_snapshot *snap, const tsarc_deployment_restore_options *opts)
{
	if (!plan_json)
		return tsarc_error_set(TSARC_EINVAL, "tsarc_deployment_plan: nowhere to put the plan");
	return restore(plan_json, d, repo, snap, opts, 1);
}

int tsarc_deployment_restore(char **report_json, tsarc_deployment *d, tsarc_repo *repo,
	const tsarc_snapshot *snap, const tsarc_deployment_restore_options *opts)
{
	return restore(report_json, d, repo, snap, opts, 0);
}

int tsarc_deployment_open_backup(tsarc_snapshot **out, tsarc_deployment *d, tsarc_repo *repo,
	const char *spec, const char *host, const char *target_namespace)
{
	tsarc_restore_opts o;
	tsarc_snapshot_pick pick = {host, 1, NULL};
	char id[TSARC_ID_HEX_LEN + 1], *cluster = NULL;
	int rc;

	if (!out || !d || !repo || !spec)
		return tsarc_error_set(TSARC_EINVAL, "tsarc_deployment_open_backup: missing argument");
	memset(&o, 0, sizeof(o));
	o.target_namespace = target_namespace;
	if ((rc = tsarc_deploy_target_cluster(d, &o, &cluster)))
		return rc;
	pick.cluster = cluster;
	if (!(rc = tsarc_snapshot_resolve_pick(repo, spec, &pick, id)))
		rc = tsarc_snapshot_load_headers(repo, id, out);
	free(cluster);
	return rc;
}
