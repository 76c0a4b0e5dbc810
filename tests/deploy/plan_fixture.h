#ifndef TSARC_TESTS_PLAN_FIXTURE_H
#define TSARC_TESTS_PLAN_FIXTURE_H
/* The restore planner's tests (test_plan*.c) share a fake transport that
 * records every call and changes nothing, and snapshots made from JSON:
 * a plan is computed as --dry-run computes it, without servers. */
#include <cjson/cJSON.h>

#include "plan.h"
#include "repo.h"
#include "snapshot.h"

typedef struct fake {
	tsarc_transport t; /* first: the transport functions get &t */
	cJSON *calls;      /* ["locate"|"capture"|"get"|"apply", details...] each */
	const char *machine;
	int capture_rc;    /* what capture returns (after recording) */
	const char *prints; /* what a command spawned prints (NULL: spawn fails) */
	const cJSON *secret; /* the one Secret `get` finds (by its name), or NULL */
} fake;

/* A fake standing in for the local transport on `machine`; capture fails. */
void fake_init(fake *f, const char *machine);

/* The fake is the deployment's transport, and the one a component's own
 * "transport": "local" (or an external database) finds. */
void use_fake(tsarc_restore_ctx *r, fake *f);

/* A snapshot's streams from JSON: [{"name": ..., "meta": {...}}]; freed
 * with tsarc_snapshot_free, as any snapshot. */
tsarc_snapshot *snapshot_of(const char *json);

/* Runs a restore (or its plan, with o->dry_run) of `snap` from `repo` (NULL
 * for a plan of a snapshot_of) with the configuration text `config`, the
 * fake as the deployment's transport: its result code, its report in
 * *report. */
int fake_execute(tsarc_repo *repo, tsarc_snapshot *snap, const char *config,
	tsarc_restore_opts *o, fake *f, cJSON **report);

/* Runs the planner as --dry-run does (o->dry_run set by the caller) on a
 * snapshot of `streams` (snapshot_of) with the configuration text
 * `config`, the fake as the deployment's transport: the restore's result
 * code, its report in *report. */
int fake_plan(const char *streams, const char *config, tsarc_restore_opts *o, fake *f,
	cJSON **report);

/* A repository in a scratch folder holding one snapshot of `nstreams`
 * streams (their contents, and their metadata as JSON, whose "kind" is the
 * stream's, else "resources"); its id in `id`. One at a time: repo_remove
 * removes it (the caller frees the repository first). */
tsarc_repo *repo_with(const char *const names[], const char *const contents[],
	const char *const metas[], size_t nstreams, char id[TSARC_ID_HEX_LEN + 1]);
void repo_remove(void);

/* Runs (or dry-runs) a restore of snapshot `id` of `repo` with the fake
 * transport (fake_execute). */
int restore_with(tsarc_repo *repo, const char *id, const char *config,
	tsarc_restore_opts *o, fake *f, cJSON **report);

#endif
