#define _GNU_SOURCE /* asprintf */
/*
 * Restores a deployment from a snapshot: one step per backed-up component,
 * in the order of its restore recipe (Secrets, ConfigMaps, the APIManager,
 * then the system database, system-storage, zync, backend-redis,
 * system-redis), then the re-sync hooks. Steps run one at a time: each
 * depends on the ones before (pods read the Secrets, the re-sync reads the
 * system database). The first failure stops everything and the report says
 * what was applied and what was not: a restore never half-applies silently.
 * A kill -9 reports nothing: the deployment's restore state (state.c) says
 * it to the next restore.
 *
 * Streams come out of the repository verified chunk by chunk; a damaged
 * chunk stops the consumer (it is killed before its input is closed, so a
 * loader never sees a clean end of a truncated dump).
 *
 * This is the executor: it makes the plan (plan.c, target.c) and runs its
 * pending steps, each through the kind the planner found for it, or
 * prints that plan for --dry-run (report.c). It decides nothing itself.
 */
#include "plan.h"
#include "rewrite.h"
#include "undo.h"
#include "extract.h"
#include "interrupt.h"
#include "repo.h"
#include "snapshot.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hooks ---- */

static int do_hook(tsarc_restore_ctx *r, tsarc_step *s)
{
	const cJSON *h = s->spec, *a;
	tsarc_component c;
	tsarc_cmd cmd;
	char *out = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	c.name = s->label;
	c.kind = "hook";
	c.spec = h;
	c.resources = r->deftr;
	if ((rc = tsarc_step_transport(r, h, &c.tr)))
		return rc;
	tsarc_cmd_init(&cmd);
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(h, "command"))
		if (!rc)
			rc = tsarc_cmd_arg(&cmd, a->valuestring);
	if (!rc)
		rc = c.tr->locate(c.tr, &c);
	if (!rc)
		rc = c.tr->capture(c.tr, &c, &cmd, TSARC_CAPTURE_MAX, &out);
	if (!rc) {
		size_t len = out ? strlen(out) : 0;
		while (len && (out[len - 1] == '\n' || out[len - 1] == '\r'))
			out[--len] = '\0';
		char *last = out ? strrchr(out, '\n') : NULL;
		s->detail = cJSON_CreateObject();
		cJSON_AddStringToObject(s->detail, "output_last_line", last ? last + 1 : out ? out : "");
		if (c.pod)
			cJSON_AddStringToObject(s->detail, "pod", c.pod);
	}
	free(out);
	tsarc_cmd_free(&cmd);
	tsarc_component_clear(&c);
	return rc;
}

static int run_step(tsarc_restore_ctx *r, tsarc_step *s)
{
	/* The kind was found when the plan was made. */
	return s->impl ? s->impl->restore(r, s) : do_hook(r, s);
}

/* Verified first: nothing is written unless every chunk is sound. */
static int verify_first(tsarc_restore_ctx *r)
{
	size_t i;
	int rc;

	for (i = 0; i < r->n; i++) {
		tsarc_step *s = &r->steps[i];
		if (s->state != TSARC_STEP_PENDING || !s->st)
			continue;
		if (tsarc_interrupted()) {
			rc = tsarc_interrupt_error();
			tsarc_error_prefix("verification before the restore; nothing was written");
			return rc;
		}
		tsarc_restore_progress(r, "verifying %s (%llu bytes)", s->st->name,
			(unsigned long long)s->st->size);
		if ((rc = tsarc_stream_verify(r->repo, s->st, r->o->inflight))) {
			tsarc_error_prefix("verification before the restore failed; nothing was "
				"written");
			return rc;
		}
	}
	return 0;
}

/* The error of a restore that stopped at step `failed` or, interrupted,
 * before step `stopped`: where, what was applied and what was not. */
static int stopped_error(tsarc_restore_ctx *r, int rc, size_t failed, size_t stopped)
{
	tsarc_buf msg = TSARC_BUF_INIT;
	size_t i;

	if (failed != (size_t)-1)
		tsarc_buf_printf(&msg, "restore of snapshot %.10s stopped at %s: %s\n  "
			"applied:", r->snap->id, tsarc_step_name(&r->steps[failed]),
			r->steps[failed].error ? r->steps[failed].error : "out of memory");
	else
		tsarc_buf_printf(&msg, "restore of snapshot %.10s interrupted by %s before "
			"%s\n  applied:", r->snap->id, tsarc_signal_name(tsarc_interrupted()),
			tsarc_step_name(&r->steps[stopped]));
	for (i = 0; i < r->n; i++)
		if (r->steps[i].state == TSARC_STEP_DONE)
			tsarc_buf_printf(&msg, " %s", tsarc_step_name(&r->steps[i]));
	tsarc_buf_puts(&msg, "\n  not applied:");
	for (i = 0; i < r->n; i++)
		if (r->steps[i].state == TSARC_STEP_PENDING)
			tsarc_buf_printf(&msg, " %s", tsarc_step_name(&r->steps[i]));
	tsarc_buf_append(&msg, "", 1);
	/* A failed list would leave steps out: none rather than some. */
	if ((tsarc_buf_status(&msg) || !msg.ptr) && failed != (size_t)-1)
		rc = tsarc_error_set(rc, "restore of snapshot %.10s stopped at %s: %s\n  (the "
			"steps applied and not applied could not be listed: out of memory)",
			r->snap->id, tsarc_step_name(&r->steps[failed]),
			r->steps[failed].error ? r->steps[failed].error : "out of memory");
	else if (tsarc_buf_status(&msg) || !msg.ptr)
		rc = tsarc_error_set(rc, "restore of snapshot %.10s interrupted by %s before %s\n  "
			"(the steps applied and not applied could not be listed: out of memory)",
			r->snap->id, tsarc_signal_name(tsarc_interrupted()),
			tsarc_step_name(&r->steps[stopped]));
	else
		rc = tsarc_error_set(rc, "%s", (char *)msg.ptr);
	tsarc_buf_dispose(&msg);
	return rc;
}

/* With an undo snapshot, after the restore stopped with `rc` (`failed`:
 * the step that failed, NULL when a signal stopped it between steps): what
 * it replaced is rolled back, after a failed step and after a signal alike
 * (--undo-snapshot promises the old state or the new one; a second signal
 * ends it at once). A failed hook is not rolled back (every data step was
 * applied; the hook can be run again): the error names the snapshot that
 * puts back what was replaced. A hook a signal stopped is rolled back, as
 * the same signal a moment before it, between steps, is. Without one, a
 * failed component step's error says the option exists. */
static int after_stop(tsarc_restore_ctx *r, int rc, const tsarc_step *failed)
{
	if (!r->undo_active)
		return r->o->undo || r->o->rolling_back || !failed || !failed->st ? rc :
			tsarc_error_set(rc, "%s\n  (with --undo-snapshot, a restore that fails "
				"part-way is rolled back)", tsarc_error_last()->message);
	if (failed && !failed->st && !tsarc_interrupted())
		return tsarc_undo_name(r, rc);
	return tsarc_undo_rollback(r, rc);
}

/* Runs the pending steps of the plan, in its order, until one fails. */
static int run_plan(tsarc_restore_ctx *r)
{
	size_t i;
	int rc;

	for (i = 0; i < r->n; i++) {
		tsarc_step *s = &r->steps[i];
		if (s->state != TSARC_STEP_PENDING)
			continue;
		/* A signal stops the restore between steps; within a step, its
		 * children are stopped and the step undoes what it can. */
		if (tsarc_interrupted())
			return after_stop(r, stopped_error(r, tsarc_interrupt_error(), (size_t)-1, i),
				NULL);
		tsarc_restore_progress(r, "%s: %s%s%s", tsarc_step_name(s), s->action,
			s->st ? " from " : "", s->st ? s->st->name : "");
		if ((rc = run_step(r, s))) {
			const char *m = tsarc_error_last()->message;
			if (tsarc_interrupted()) {
				/* Whatever failed, the signal is why. */
				if (asprintf(&s->error, "interrupted by %s: %s",
					    tsarc_signal_name(tsarc_interrupted()), m && m[0] ? m : "") < 0)
					s->error = NULL;
				rc = TSARC_ECANCELED;
			} else {
				s->error = strdup(m && m[0] ? m : tsarc_strerror(rc));
			}
			s->state = TSARC_STEP_FAILED;
			return after_stop(r, stopped_error(r, rc, i, (size_t)-1), s);
		}
		s->state = TSARC_STEP_DONE;
		tsarc_restore_state_done(r, s);
		if (s->note)
			tsarc_restore_progress(r, "%s: done (%s)", tsarc_step_name(s), s->note);
	}
	return 0;
}

/* The plan (plan.c, target.c) and, for --dry-run, its report, made with
 * the target read through tsarc_transport_read_once: what the plan looks
 * at from several places (the APIManager: the layout's rules, the step's
 * admission, the API server's dry run of its apply, the description; a
 * Secret: the layout's rules and the endpoint) is one read, against a
 * cluster one kubectl call. The steps read the target again, as it is
 * when each runs. */
static int plan(tsarc_restore_ctx *r, cJSON **report)
{
	tsarc_transport *deftr = r->deftr, *once;
	int rc;

	if ((rc = tsarc_transport_read_once(&once, deftr)))
		return rc;
	r->deftr = once;
	if (!(rc = tsarc_plan_steps(r)) && !(rc = tsarc_plan_targets(r)) && r->o->dry_run) {
		tsarc_restore_state_begin(r);
		if (report)
			*report = tsarc_report_make(r, 1);
	}
	r->deftr = deftr;
	once->free(once);
	return rc;
}

int tsarc_restore_execute(tsarc_restore_ctx *r, cJSON **report)
{
	const tsarc_restore_opts *o = r->o;
	size_t i;
	int rc = 0;

	if (report)
		*report = NULL;
	if ((!r->absent && !(r->absent = cJSON_CreateArray())) ||
		(!r->left_out && !(r->left_out = cJSON_CreateArray())))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!r->warnings && !(r->warnings = cJSON_CreateArray()))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if ((o->rewrite_old || o->rewrite_new) &&
		(!o->rewrite_old || !o->rewrite_new || !tsarc_valid_domain(o->rewrite_old) ||
			!tsarc_valid_domain(o->rewrite_new)))
		return tsarc_error_set(TSARC_ECONFIG, "--rewrite-domain OLD=NEW takes two domain "
			"names (letters, digits, dots and dashes)");
	/* The snapshot's metadata is untrusted input: names that would reach a
	 * shell, a command line or a path are checked before any plan. */
	for (i = 0; i < r->snap->nstreams; i++)
		if ((rc = tsarc_stream_meta_check(r->snap->streams[i].name,
			     r->snap->streams[i].meta)))
			return rc;
	/* The plan, every target resolved before anything is written, dry
	 * run or not: a --dry-run prints the plan the run executes. */
	if ((rc = plan(r, report)))
		goto out;
	if (o->dry_run)
		return 0;
	if ((!o->verify_first || !(rc = verify_first(r))) && (!o->undo || !(rc = tsarc_undo_save(r)))) {
		/* After the verification and the undo snapshot, before the first
		 * write. */
		tsarc_restore_state_begin(r);
		if (!(rc = run_plan(r)) && report)
			*report = tsarc_report_make(r, 0);
	}
out:
	if (rc && report && !*report && r->steps)
		*report = tsarc_report_make(r, 0);
	return rc;
}

void tsarc_restore_ctx_dispose(tsarc_restore_ctx *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		cJSON_Delete(r->steps[i].recipe);
		cJSON_Delete(r->steps[i].detail);
		cJSON_Delete(r->steps[i].endpoint);
		cJSON_Delete(r->steps[i].source);
		tsarc_conn_free(&r->steps[i].conn);
		tsarc_secret_doc_free(r->steps[i].secret_doc);
		cJSON_Delete(r->steps[i].admitted);
		free(r->steps[i].note);
		free(r->steps[i].error);
		tsarc_step_free_converted(&r->steps[i]);
	}
	free(r->steps);
	cJSON_Delete(r->absent);
	cJSON_Delete(r->left_out);
	cJSON_Delete(r->layout);
	cJSON_Delete(r->warnings);
	cJSON_Delete(r->state);
	cJSON_Delete(r->target_place);
	cJSON_Delete(r->snapshot_place);
	cJSON_Delete(r->rollback);
	cJSON_Delete(r->state_undo);
	cJSON_Delete(r->undo_absent);
	r->rollback = r->state_undo = r->undo_absent = NULL;
	r->undo_id[0] = '\0';
	r->undo_active = 0;
	r->steps = NULL;
	r->n = 0;
	r->absent = r->left_out = r->layout = r->warnings = r->state = r->target_place =
		r->snapshot_place = NULL;
}

/* A migration into another namespace (--target-namespace, `o` may be
 * NULL): every call of a transport with namespaces goes there (one
 * without ignores the field). */
static void reach_namespace(cJSON *trconf, const tsarc_restore_opts *o)
{
	if (!o || !o->target_namespace)
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(trconf, "namespace");
	cJSON_AddStringToObject(trconf, "namespace", o->target_namespace);
}

int tsarc_deploy_target_cluster(tsarc_deploy *d, const tsarc_restore_opts *o, char **out)
{
	cJSON *trconf, *place = NULL;
	tsarc_transports trs;
	tsarc_transport *tr = NULL;
	const char *cluster;
	int rc;

	*out = NULL;
	/* The namespace the restore will reach, on a copy: d is left as it is. */
	if (!(trconf = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(d->eff, "transport"), 1)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	reach_namespace(trconf, o);
	memset(&trs, 0, sizeof(trs));
	trs.conf = trconf;
	if (!(rc = tsarc_transports_get(&trs, tsarc_spec_str(trconf, "type"), &tr))) {
		if (!(place = cJSON_CreateObject()))
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		else
			tr->describe(tr, NULL, place);
	}
	cluster = tsarc_spec_str(place, "cluster");
	if (!rc && cluster && !(*out = strdup(cluster)))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	cJSON_Delete(place);
	tsarc_transports_dispose(&trs);
	cJSON_Delete(trconf);
	return rc;
}

int tsarc_deploy_restore(tsarc_deploy *d, tsarc_repo *repo, const tsarc_snapshot *snap,
	const tsarc_restore_opts *o, cJSON **report)
{
	cJSON *trconf = cJSON_GetObjectItemCaseSensitive(d->eff, "transport");
	tsarc_restore_ctx r;
	int rc;

	if (report)
		*report = NULL;
	memset(&r, 0, sizeof(r));
	r.d = d;
	r.tr.conf = trconf;
	r.repo = repo;
	r.snap = snap;
	r.o = o;
	reach_namespace(trconf, o);
	if (!(rc = tsarc_transports_get(&r.tr, tsarc_spec_str(trconf, "type"), &r.deftr)))
		rc = tsarc_restore_execute(&r, report);
	tsarc_restore_ctx_dispose(&r);
	tsarc_transports_dispose(&r.tr);
	return rc;
}
