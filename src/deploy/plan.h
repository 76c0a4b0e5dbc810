#ifndef TSARC_DEPLOY_PLAN_H
#define TSARC_DEPLOY_PLAN_H

/*
 * A restore in three parts: the planner (plan.c: one step per stream, the
 * skip rule, the order, the hooks; target.c: every step's endpoint
 * resolved before the first write), the executor (restore.c: runs the
 * pending steps of that plan, nothing else) and the report (report.c:
 * the plan and what happened, the same object for --dry-run and a run).
 */
#include "kind.h"

/* The steps of the restore into r->steps, sorted, each pending or skipped
 * with the reason; r->absent: components with nothing in the snapshot. */
int tsarc_plan_steps(tsarc_restore_ctx *r);
/* Frees step `s`'s own copy of a converted stream (plan.c), if any. */
void tsarc_step_free_converted(tsarc_step *s);
/* Resolves the endpoint of every pending step and whether the restore is
 * a migration; refuses a migration into the snapshot's own source. */
int tsarc_plan_targets(tsarc_restore_ctx *r);

/* The report: what each step is (with_plan: and will do). */
cJSON *tsarc_report_make(tsarc_restore_ctx *r, int with_plan);
const char *tsarc_step_name(const tsarc_step *s);

/* Plans and (unless opts->dry_run) runs the restore `r` describes: its
 * deploy, repo, snap and opts set, its default transport r->deftr set
 * (tests set a fake one). `*report` (may be NULL) as tsarc_deploy_restore. */
int tsarc_restore_execute(tsarc_restore_ctx *r, cJSON **report);
/* The deployment's restore state (state.c). begin: warns (r->warnings)
 * when an earlier restore left steps not known to be applied; unless a
 * dry run, records this run's pending steps over those, before the first
 * write. done: step `s` was applied. Never fails the restore: without a
 * place for it (local without resources_dir) nothing is kept; a read or
 * write that fails is a warning. */
void tsarc_restore_state_begin(tsarc_restore_ctx *r);
void tsarc_restore_state_done(tsarc_restore_ctx *r, const tsarc_step *s);
/* Frees what planning and running allocated (not the transports). */
void tsarc_restore_ctx_dispose(tsarc_restore_ctx *r);

#endif
