/*
 * The undo snapshot of a restore (--undo-snapshot). Before its first
 * write, the restore backs up from the target every component it is about
 * to replace, into the same repository: a snapshot tagged "undo" whose
 * metadata names the snapshot being restored ("undo_of"). If a
 * component's step then fails, the components already replaced and the one
 * that failed are restored from it, and the deployment is as it was before
 * the restore. That is what a MySQL load cannot promise by itself (its DDL
 * commits as it goes), nor a Redis load that stops part-way, nor Secrets
 * applied before a later step failed. A restore that succeeds names its
 * undo snapshot: restoring it undoes the restore.
 *
 * Why a snapshot and not a copy beside the data: it is encrypted,
 * deduplicated against the backups (a database restored over an
 * unchanged one costs little), verified like any other, and it outlives
 * the machine that ran the restore. It is not a backup of the deployment
 * (only the components restored), so `latest` passes over it and forget
 * keeps it in a group of its own (tsarc_snapshot_is_undo).
 *
 * The restore state (state.c) records the undo snapshot next to the steps
 * it covers, so the run after a kill -9 names it too.
 *
 * What the restore created that the target did not have: the Secrets and
 * ConfigMaps are removed by the restore of the undo snapshot (resources.c,
 * from the undo backup's "missing_optional" and "missing_required", the
 * latter recorded for an undo backup only: tsarc_component's undo). A
 * database the target lacks (its kind's undo_absent, looked up as the load
 * looks it up) is left out of the undo backup, and the rollback drops it
 * again if the restore created it (its kind's undo_remove, through the
 * load's client: the same run that made it, so nothing else's is dropped);
 * a restore of the undo snapshot later does not (the snapshot does not hold
 * it, and the database may hold data by then). The tables and views
 * (PostgreSQL: sequences and foreign tables too) only the restored dump
 * held go when the database's load is clean (the 3scale profile's: mysql.c,
 * postgres.c), as the undo dump's load empties the database first. Limits:
 * without clean they stay, and the error says so (unclean_loads); an
 * APIManager the restore created stays (its operator would delete what it
 * deployed), and the error and a warning say so; a signal is rolled back
 * like a failure (the operator asked for the old state or the new one; one
 * who wants tsarc gone now sends a second signal, and the error and the
 * restore state name the snapshot that puts things back); a first signal
 * during the rollback of a failed step is reported and does not stop it
 * either; a failed post_restore hook is no reason to roll back (the data
 * steps were all applied; the hook can be run again); the rollback is a
 * restore too and can fail: the error then says both.
 */
#define _GNU_SOURCE /* asprintf */
#include "plan.h"
#include "undo.h"
#include "error_save.h"
#include "interrupt.h"
#include "snapshot.h"
#include "tsarc/backup.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The components of the steps `want` accepts, in the plan's order, each
 * once (a component's stream is one step; the list is short). */
static int components_of(const tsarc_restore_ctx *r, int (*want)(const tsarc_step *),
	const char ***out, size_t *n)
{
	const char **names = calloc(r->n ? r->n : 1, sizeof(*names));
	size_t i, j;

	*out = NULL;
	*n = 0;
	if (!names)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; i < r->n; i++) {
		const tsarc_step *s = &r->steps[i];
		if (!s->st || !s->component || !want(s))
			continue;
		for (j = 0; j < *n && strcmp(names[j], s->component); j++)
			;
		if (j == *n)
			names[(*n)++] = s->component;
	}
	*out = names;
	return 0;
}

static int to_replace(const tsarc_step *s)
{
	return s->state == TSARC_STEP_PENDING;
}

static int replaced(const tsarc_step *s)
{
	return s->state == TSARC_STEP_DONE || s->state == TSARC_STEP_FAILED;
}

/* "a b c" */
static void list_names(tsarc_buf *b, const char *const *names, size_t n, const char *sep)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			tsarc_buf_puts(b, sep);
		tsarc_buf_puts(b, names[i]);
	}
}

/* What the target lacks of the components `names` (each a kind's
 * undo_absent: a database), into r->undo_absent {component: what}; those
 * are taken out of `names` (*n shrinks), since there is nothing of them
 * to back up. */
static int take_out_absent(tsarc_restore_ctx *r, const char **names, size_t *n)
{
	size_t i, j, kept = 0;
	int rc = 0;

	if (!r->undo_absent && !(r->undo_absent = cJSON_CreateObject()))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; i < *n; i++) {
		char *what = NULL;
		for (j = 0; j < r->n && !what; j++) {
			tsarc_step *s = &r->steps[j];
			if (s->state != TSARC_STEP_PENDING || !s->st || !s->component ||
				strcmp(s->component, names[i]) || !s->impl || !s->impl->undo_absent)
				continue;
			if ((rc = s->impl->undo_absent(r, s, &what)))
				return rc;
		}
		if (!what) {
			names[kept++] = names[i];
			continue;
		}
		tsarc_restore_progress(r, "undo snapshot: the target has no %s (component %s): "
			"nothing of it to back up; a rollback drops it again if the restore creates "
			"it", what, names[i]);
		if (!cJSON_AddStringToObject(r->undo_absent, names[i], what))
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		free(what);
		if (rc)
			return rc;
	}
	*n = kept;
	return 0;
}

int tsarc_undo_save(tsarc_restore_ctx *r)
{
	static const char *const tags[] = {TSARC_UNDO_TAG};
	tsarc_backup_options bo;
	tsarc_backup *b = NULL;
	tsarc_buf what = TSARC_BUF_INIT;
	const char **names = NULL;
	cJSON *meta = NULL;
	size_t n;
	int rc;

	r->undo_id[0] = '\0';
	r->undo_active = 0;
	if ((rc = components_of(r, to_replace, &names, &n)))
		goto out;
	if ((rc = take_out_absent(r, names, &n))) {
		tsarc_error_prefix("--undo-snapshot: before the restore, so nothing was restored");
		goto out;
	}
	/* From here on a failed step is undone, with or without a snapshot
	 * (what the target lacked is dropped again). */
	r->undo_active = 1;
	if (n == 0)
		goto out;
	list_names(&what, names, n, " ");
	tsarc_buf_append(&what, "", 1);
	if ((rc = tsarc_buf_status(&what)))
		goto out;
	if (!what.ptr || !(meta = cJSON_CreateObject()) ||
		!cJSON_AddStringToObject(meta, TSARC_UNDO_META, r->snap->id)) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto out;
	}
	tsarc_restore_progress(r, "undo snapshot: backing up %s from the target before the "
		"restore", (char *)what.ptr);
	memset(&bo, 0, sizeof(bo));
	bo.tags = tags;
	bo.ntags = 1;
	bo.meta = meta;
	if (!(rc = tsarc_backup_new(&b, r->repo, &bo)) &&
		!(rc = tsarc_deploy_backup_only(r->d, b, names, n, 1, NULL)))
		rc = tsarc_backup_commit(b, r->undo_id);
	/* Without a commit nothing of it is published. */
	tsarc_backup_free(b);
	if (rc) {
		r->undo_id[0] = '\0';
		r->undo_active = 0;
		tsarc_error_prefix("--undo-snapshot: the target's %s could not be backed up "
			"before the restore, so nothing was restored (a target that does not have "
			"them yet has nothing to undo: restore it without --undo-snapshot)",
			(char *)what.ptr);
	} else {
		tsarc_restore_progress(r, "undo snapshot %.10s holds %s as they are before the "
			"restore", r->undo_id, (char *)what.ptr);
	}
out:
	cJSON_Delete(meta);
	free(names);
	tsarc_buf_dispose(&what);
	return rc;
}

/* The rollback's outcome into the report (r->rollback). */
static void note_rollback(tsarc_restore_ctx *r, const char *const *names, size_t n, int rc)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; arr && i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(names[i]));
	if (!o || !arr) {
		cJSON_Delete(o);
		cJSON_Delete(arr);
		return;
	}
	cJSON_AddStringToObject(o, "status", rc ? "failed" : "applied");
	cJSON_AddItemToObject(o, "components", arr);
	if (rc)
		cJSON_AddStringToObject(o, "error", tsarc_error_last()->message);
	cJSON_Delete(r->rollback);
	r->rollback = o;
}

/* From the rollback's report: its warnings into the restore's (marked as
 * the rollback's), and the objects the restore created that it left
 * (resources.c: an APIManager) into `left`, "TYPE NAME, ...". */
static void take_rollback_report(tsarc_restore_ctx *r, const cJSON *report, tsarc_buf *left)
{
	const cJSON *st, *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(report, "warnings")) {
		char *line;
		if (!cJSON_IsString(it) || asprintf(&line, "rollback: %s", it->valuestring) < 0)
			continue;
		cJSON_AddItemToArray(r->warnings, cJSON_CreateString(line));
		free(line);
	}
	cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(report, "steps"))
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetObjectItemCaseSensitive(st, "detail"), "left"))
			if (cJSON_IsString(it))
				tsarc_buf_printf(left, "%s%s", left->size ? ", " : "", it->valuestring);
	tsarc_buf_append(left, "", 1);
}

/* The SQL steps replaced whose load is not clean, "a, b" into `out`: the
 * rollback's load of the undo dump replaces the tables the undo dump
 * holds, and those only the restored dump created stay (mysql.c,
 * postgres.c: "clean" drops every table first). */
static void unclean_loads(const tsarc_restore_ctx *r, tsarc_buf *out)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const tsarc_step *s = &r->steps[i];
		if (!s->component || !replaced(s) || !s->action || strcmp(s->action, "sql") ||
			tsarc_spec_bool(s->recipe, "clean", 0))
			continue;
		tsarc_buf_printf(out, "%s%s", out->size ? ", " : "", s->component);
	}
	tsarc_buf_append(out, "", 1);
}

/* The rollback's progress lines, marked as the rollback's. */
typedef struct rollback_progress {
	const tsarc_restore_opts *o;
} rollback_progress;

static void say_rollback(void *payload, const char *line)
{
	const rollback_progress *p = payload;
	char *marked;

	if (asprintf(&marked, "rollback: %s", line) < 0) {
		p->o->progress(p->o->progress_payload, line);
		return;
	}
	p->o->progress(p->o->progress_payload, marked);
	free(marked);
}

/* The steps replaced of components the target lacked (r->undo_absent):
 * what each created is removed again (its kind's undo_remove), into
 * `removed` ("database X of C, ..."); one that loaded into a database it
 * found (made by someone else after the undo backup's look-up) is not
 * removed, into `found`. The first removal that fails: its error in
 * *why, and its rc returned; the others are still tried. */
static int remove_created(tsarc_restore_ctx *r, tsarc_buf *removed, tsarc_buf *found,
	tsarc_saved_error *why)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < r->n; i++) {
		tsarc_step *s = &r->steps[i];
		const char *what = s->component ? tsarc_spec_str(r->undo_absent, s->component) : NULL;
		int e;
		if (!what || !replaced(s))
			continue;
		if (s->created && s->impl && s->impl->undo_remove) {
			if ((e = s->impl->undo_remove(r, s))) {
				if (!rc) {
					rc = e;
					tsarc_error_save(why);
				}
				continue;
			}
			tsarc_buf_printf(removed, "%s%s of %s", removed->size ? ", " : "", what,
				s->component);
		} else if (s->state == TSARC_STEP_DONE) {
			tsarc_buf_printf(found, "%s%s of %s", found->size ? ", " : "", what,
				s->component);
		}
	}
	tsarc_buf_append(removed, "", 1);
	tsarc_buf_append(found, "", 1);
	return rc;
}

/* Whether a step of a component the target lacked was applied (its
 * failed steps undid themselves). */
static int absent_applied(const tsarc_restore_ctx *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->steps[i].state == TSARC_STEP_DONE && r->steps[i].component &&
			tsarc_spec_str(r->undo_absent, r->steps[i].component))
			return 1;
	return 0;
}

/* `b`'s text, or NULL when it has none (a buffer ended by
 * tsarc_buf_append(b, "", 1)). A list whose append failed says so: a
 * component left out of a list, or of the command that puts them back,
 * would read as whole. */
static const char *text_or_null(const tsarc_buf *b)
{
	if (tsarc_buf_status(b))
		return "(could not be listed: out of memory)";
	return b->size > 1 ? (const char *)b->ptr : NULL;
}

/* The same, "" for none. */
static const char *text_of(const tsarc_buf *b)
{
	const char *t = text_or_null(b);

	return t ? t : "";
}

/* The rollback's restore of `names` from the undo snapshot: the same
 * target, in place (no rewrite, no namespace change: the configuration
 * already names the target's), no second undo; its progress lines marked
 * as the rollback's (`prog`), its report into *report. */
static int restore_from_undo(tsarc_restore_ctx *r, const char **names, size_t n,
	rollback_progress *prog, tsarc_snapshot **undo, cJSON **report)
{
	tsarc_restore_opts o = *r->o;
	int rc;

	o.only = names;
	o.nonly = n;
	o.dry_run = 0;
	o.verify_first = 0;
	o.undo = 0;
	o.rewrite_old = o.rewrite_new = NULL;
	o.target_namespace = NULL;
	o.rolling_back = r->snap->id;
	if (r->o->progress) {
		o.progress = say_rollback;
		o.progress_payload = prog;
	}
	if (!(rc = tsarc_snapshot_load(r->repo, r->undo_id, undo)))
		rc = tsarc_deploy_restore(r->d, r->repo, *undo, &o, report);
	return rc;
}

int tsarc_undo_rollback(tsarc_restore_ctx *r, int rc)
{
	rollback_progress prog = {r->o};
	tsarc_saved_error stopped, why_rm;
	tsarc_snapshot *undo = NULL;
	tsarc_buf what = TSARC_BUF_INIT, snap_what = TSARC_BUF_INIT, left = TSARC_BUF_INIT,
		  unclean = TSARC_BUF_INIT, removed = TSARC_BUF_INIT, found = TSARC_BUF_INIT;
	const char **names = NULL, **from_snap = NULL;
	cJSON *report = NULL;
	size_t n = 0, nsnap = 0, i;
	int rb, rm = 0, sig = 0;

	tsarc_error_save(&stopped);
	if ((rb = components_of(r, replaced, &names, &n)))
		goto out;
	if (n == 0) {
		/* Stopped before its first write: nothing to put back. */
		free(names);
		tsarc_error_restore(&stopped);
		return rc;
	}
	/* The undo snapshot holds the components the target had; what it
	 * lacked is removed instead (remove_created). */
	if (!(from_snap = calloc(n, sizeof(*from_snap)))) {
		rb = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (!cJSON_GetObjectItemCaseSensitive(r->undo_absent, names[i]))
			from_snap[nsnap++] = names[i];
	if (!nsnap && !absent_applied(r)) {
		/* Only a step of what the target lacked, which dropped what it
		 * created itself when it failed (its error says so): nothing
		 * to undo. */
		free(names);
		free(from_snap);
		tsarc_error_restore(&stopped);
		return rc;
	}
	list_names(&what, names, n, ",");
	tsarc_buf_append(&what, "", 1);
	list_names(&snap_what, from_snap, nsnap, ",");
	tsarc_buf_append(&snap_what, "", 1);
	{
		/* Begun after a signal and after a failure alike: a signal
		 * during it does not stop it (interrupt.h). */
		char cut[300], recovery[500];
		if (nsnap) {
			snprintf(cut, sizeof(cut), "the rollback from undo snapshot %.10s", r->undo_id);
			snprintf(recovery, sizeof(recovery), "tsarc restore %s --only %.300s puts "
				"back the state before the restore", r->undo_id, text_of(&snap_what));
		} else {
			snprintf(cut, sizeof(cut), "the rollback of %.250s", text_of(&what));
		}
		sig = tsarc_interrupt_undo_begin(cut, nsnap ? recovery : NULL);
	}
	if (sig)
		tsarc_restore_progress(r, "%s received: rolling back %s%s%.10s (a second signal "
			"ends tsarc at once)", tsarc_signal_name(sig), text_of(&what),
			nsnap ? " from undo snapshot " : "", r->undo_id);
	else
		tsarc_restore_progress(r, "rolling back %s%s%.10s", text_of(&what),
			nsnap ? " from undo snapshot " : "", r->undo_id);
	if (nsnap) {
		rb = restore_from_undo(r, from_snap, nsnap, &prog, &undo, &report);
		take_rollback_report(r, report, &left);
		unclean_loads(r, &unclean);
	}
	{
		tsarc_saved_error why_rb;
		tsarc_error_save(&why_rb);
		rm = remove_created(r, &removed, &found, &why_rm);
		tsarc_error_restore(&why_rb);
	}
	tsarc_interrupt_undo_end();
	note_rollback(r, names, n, rb ? rb : rm);
out:
	{
		/* Whole, whatever its length (errors.c): the step's error with
		 * what was applied and what not, then what the rollback did. */
		tsarc_saved_error why;
		tsarc_error_save(&why);
		const char *st = tsarc_error_saved_message(&stopped);
		const char *w = tsarc_error_saved_message(&why);
		const char *sw = text_of(&snap_what);
		const char *l = text_or_null(&left), *u = text_or_null(&unclean);
		const char *d = text_or_null(&removed), *f = text_or_null(&found);
		const char *wrm = rm ? tsarc_error_saved_message(&why_rm) : "";
		char *undone = NULL;
		if (asprintf(&undone, "%s%s%.10s%s%s%s", nsnap ? sw : "",
			    nsnap ? " restored from undo snapshot " : "", nsnap ? r->undo_id : "",
			    nsnap && d ? ", " : "", d ? d : "", d ? " dropped (the target did not "
			    "have it before the restore)" : "") < 0)
			undone = NULL;
		if (!rb && !rm)
			tsarc_error_set(rc, "%s\n  rolled back: %s; the deployment is as it was "
				"before the restore%s%s%s%s%s%s%s%s%s", st,
				undone ? undone : "(what could not be listed: out of memory)",
				l ? " but for " : "", l ? l : "", l ? ", which the restore created "
				"(a warning says why it is left)" : "", u ? "; tables that only the "
				"restored dump of " : "", u ? u : "", u ? " created stay: its load is not "
				"clean (\"clean\": false)" : "", f ? "; the restore loaded into " : "",
				f ? f : "", f ? ", which another client created after the look-up before "
				"the restore: it stays" : "");
		else if (rb)
			tsarc_error_set(rc, "%s\n  the rollback from undo snapshot %.10s failed too: "
				"%s\n  the state before the restore is snapshot %s (tsarc restore %s "
				"--only %s)%s%s%s%s%s", st, r->undo_id, w, r->undo_id, r->undo_id, sw,
				d ? "\n  dropped again (the target did not have it): " : "", d ? d : "",
				rm ? "\n  not dropped again: " : "", wrm,
				rm ? " (the target did not have it before the restore: drop it by hand)" :
				"");
		else
			tsarc_error_set(rc, "%s\n  the rollback failed too: %s%s%s%s%s\n  the "
				"target did not have it before the restore: drop it by hand once nothing "
				"uses it", st, wrm, undone && undone[0] ? " (" : "",
				undone && undone[0] ? "done: " : "", undone ? undone : "",
				undone && undone[0] ? ")" : "");
		free(undone);
		tsarc_error_forget(&why);
	}
	tsarc_error_forget(&stopped);
	if (rm)
		tsarc_error_forget(&why_rm);
	cJSON_Delete(report);
	tsarc_snapshot_free(undo);
	free(names);
	free(from_snap);
	tsarc_buf_dispose(&what);
	tsarc_buf_dispose(&snap_what);
	tsarc_buf_dispose(&left);
	tsarc_buf_dispose(&unclean);
	tsarc_buf_dispose(&removed);
	tsarc_buf_dispose(&found);
	return rc;
}

int tsarc_undo_name(tsarc_restore_ctx *r, int rc)
{
	tsarc_saved_error stopped;
	tsarc_buf what = TSARC_BUF_INIT;
	const char **names = NULL, *w;
	size_t n = 0;

	tsarc_error_save(&stopped);
	if (!r->undo_id[0] || components_of(r, replaced, &names, &n) || n == 0) {
		free(names);
		tsarc_error_restore(&stopped);
		return rc;
	}
	list_names(&what, names, n, ",");
	tsarc_buf_append(&what, "", 1);
	w = text_of(&what);
	tsarc_error_set(rc, "%s\n  the state before the restore is undo snapshot %.10s: "
		"tsarc restore %s --only %s puts it back", tsarc_error_saved_message(&stopped),
		r->undo_id, r->undo_id, w);
	tsarc_error_forget(&stopped);
	free(names);
	tsarc_buf_dispose(&what);
	return rc;
}
