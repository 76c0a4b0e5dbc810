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
 * What the restore created that the target did not have: the optional
 * Secrets and ConfigMaps are removed by the restore of the undo snapshot
 * (resources.c, from the undo backup's "missing_optional"); a required one
 * or a database the target lacks makes the undo backup fail; the tables
 * and views (PostgreSQL: sequences and foreign tables too) only the
 * restored dump held go when the database's load is clean (the 3scale
 * profile's: mysql.c, postgres.c), as the undo dump's load empties the
 * database first. Limits: without clean they stay, and the error says
 * so (unclean_loads); an APIManager the restore created stays (its operator
 * would delete what it deployed), and the error and a warning say so; a
 * signal is rolled back like a failure (the operator asked for the old
 * state or the new one; one who wants tsarc gone now sends a second
 * signal, and the error and the restore state name the snapshot that puts
 * things back); a failed post_restore hook is no reason
 * to roll back (the data steps were all applied; the hook can be run
 * again); the rollback is a restore too and can fail: the error then says
 * both.
 */
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
	if ((rc = components_of(r, to_replace, &names, &n)) || n == 0)
		goto out;
	list_names(&what, names, n, " ");
	tsarc_buf_append(&what, "", 1);
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
		!(rc = tsarc_deploy_backup_only(r->d, b, names, n, NULL)))
		rc = tsarc_backup_commit(b, r->undo_id);
	/* Without a commit nothing of it is published. */
	tsarc_backup_free(b);
	if (rc) {
		r->undo_id[0] = '\0';
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

/* How much of an earlier message fits before the lines added to it (the
 * message has a fixed size: what is added must not be the part cut off);
 * `halves`: two earlier messages share the room. */
static int room(const char *components, int halves)
{
	int left = TSARC_ERROR_MESSAGE_MAX - 320 - 2 * (int)strlen(components);

	if (left < 0)
		left = 0;
	return halves ? left / 2 : left;
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
		char line[1100];
		if (!cJSON_IsString(it))
			continue;
		snprintf(line, sizeof(line), "rollback: %s", it->valuestring);
		cJSON_AddItemToArray(r->warnings, cJSON_CreateString(line));
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
	char marked[1100];

	snprintf(marked, sizeof(marked), "rollback: %s", line);
	p->o->progress(p->o->progress_payload, marked);
}

int tsarc_undo_rollback(tsarc_restore_ctx *r, int rc)
{
	rollback_progress prog = {r->o};
	tsarc_saved_error stopped;
	tsarc_restore_opts o;
	tsarc_snapshot *undo = NULL;
	tsarc_buf what = TSARC_BUF_INIT, left = TSARC_BUF_INIT, unclean = TSARC_BUF_INIT;
	const char **names = NULL;
	cJSON *report = NULL;
	size_t n = 0;
	int rb, sig = 0;

	tsarc_error_save(&stopped);
	if ((rb = components_of(r, replaced, &names, &n)))
		goto out;
	if (n == 0) {
		/* Stopped before its first write: nothing to put back. */
		free(names);
		tsarc_error_restore(&stopped);
		return rc;
	}
	list_names(&what, names, n, ",");
	tsarc_buf_append(&what, "", 1);
	if ((sig = tsarc_interrupted())) {
		char cut[700];
		snprintf(cut, sizeof(cut), "the rollback from undo snapshot %.10s (tsarc restore "
			"%s --only %.300s puts back the state before the restore)", r->undo_id,
			r->undo_id, what.ptr ? (char *)what.ptr : "");
		tsarc_interrupt_undo_begin(cut);
		tsarc_restore_progress(r, "%s received: rolling back %s from undo snapshot %.10s "
			"(a second signal ends tsarc at once)", tsarc_signal_name(sig),
			what.ptr ? (char *)what.ptr : "", r->undo_id);
	} else {
		tsarc_restore_progress(r, "rolling back %s from undo snapshot %.10s",
			what.ptr ? (char *)what.ptr : "", r->undo_id);
	}
	/* The same target, in place: no rewrite, no namespace change (the
	 * configuration already names the target's), no second undo. */
	o = *r->o;
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
		o.progress_payload = &prog;
	}
	if (!(rb = tsarc_snapshot_load(r->repo, r->undo_id, &undo)))
		rb = tsarc_deploy_restore(r->d, r->repo, undo, &o, &report);
	if (sig)
		tsarc_interrupt_undo_end();
	take_rollback_report(r, report, &left);
	unclean_loads(r, &unclean);
	note_rollback(r, names, n, rb);
out:
	{
		tsarc_saved_error why;
		tsarc_error_save(&why);
		tsarc_error_restore(&stopped);
		const char *w = what.ptr ? (char *)what.ptr : "";
		const char *l = left.size > 1 ? (char *)left.ptr : NULL;
		const char *u = unclean.size > 1 ? (char *)unclean.ptr : NULL;
		/* What is left takes up to 300 bytes more of the message, the
		 * loads that are not clean up to 300 more. */
		int keep = room(w, 0) - (l ? 300 : 0) - (u ? 300 : 0);
		if (keep < 0)
			keep = 0;
		if (!rb)
			tsarc_error_set(rc, "%.*s\n  rolled back: %s restored from undo snapshot "
				"%.10s; the deployment is as it was before the restore%s%.200s%s%s%.150s%s",
				keep, stopped.message, w, r->undo_id, l ? " but for " : "",
				l ? l : "", l ? ", which the restore created (a warning says why it "
				"is left)" : "", u ? "; tables that only the restored dump of " : "",
				u ? u : "", u ? " created stay: its load is not clean (\"clean\": "
				"false)" : "");
		else
			tsarc_error_set(rc, "%.*s\n  the rollback from undo snapshot %.10s failed too: "
				"%.*s\n  the state before the restore is snapshot %s (tsarc restore %s "
				"--only %s)", room(w, 1), stopped.message, r->undo_id, room(w, 1),
				why.message, r->undo_id, r->undo_id, w);
	}
	cJSON_Delete(report);
	tsarc_snapshot_free(undo);
	free(names);
	tsarc_buf_dispose(&what);
	tsarc_buf_dispose(&left);
	tsarc_buf_dispose(&unclean);
	return rc;
}

int tsarc_undo_name(tsarc_restore_ctx *r, int rc)
{
	tsarc_saved_error stopped;
	tsarc_buf what = TSARC_BUF_INIT;
	const char **names = NULL, *w;
	size_t n = 0;

	tsarc_error_save(&stopped);
	if (components_of(r, replaced, &names, &n) || n == 0) {
		free(names);
		tsarc_error_restore(&stopped);
		return rc;
	}
	list_names(&what, names, n, ",");
	tsarc_buf_append(&what, "", 1);
	w = what.ptr ? (char *)what.ptr : "";
	tsarc_error_set(rc, "%.*s\n  the state before the restore is undo snapshot %.10s: "
		"tsarc restore %s --only %s puts it back", room(w, 0), stopped.message, r->undo_id,
		r->undo_id, w);
	free(names);
	tsarc_buf_dispose(&what);
	return rc;
}
