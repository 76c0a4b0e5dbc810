/*
 * The report of a restore: the kind of restore (migration or in place, and
 * why), then every step with its stream, status, note, endpoint and, for
 * --dry-run, what it will do (each kind describes its own). A run reports
 * the same steps the --dry-run printed.
 */
#include "plan.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *state_name(const tsarc_step *s)
{
	static const char *const names[] = {"not applied", "applied", "failed", "skipped"};
	return names[s->state];
}

const char *tsarc_step_name(const tsarc_step *s)
{
	return s->component ? s->component : s->label;
}


static cJSON *plan_target(tsarc_restore_ctx *r, tsarc_step *s)
{
	cJSON *o = cJSON_CreateObject();
	tsarc_transport *tr = NULL;
	const char *text = s->endpoint ? tsarc_spec_str(s->endpoint, "text") : NULL;

	if (!text)
		text = "?";

	if (!o)
		return NULL;
	if (tsarc_step_transport(r, s->spec, &tr))
		tsarc_error_clear(); /* the plan says "?"; running the step says why */
	cJSON_AddStringToObject(o, "transport", tr ? tr->type : "?");
	if (s->endpoint)
		cJSON_AddItemToObject(o, "endpoint", cJSON_Duplicate(s->endpoint, 1));
	if (s->source)
		cJSON_AddItemToObject(o, "snapshot_source", cJSON_Duplicate(s->source, 1));
	if (s->impl) {
		s->impl->describe(r, s, text, o);
	} else { /* a hook */
		char *cmd = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(s->spec, "command"));
		cJSON_AddStringToObject(o, "target", cmd ? cmd : "?");
		if (tsarc_spec_str(s->spec, "description"))
			cJSON_AddStringToObject(o, "description", tsarc_spec_str(s->spec, "description"));
		free(cmd);
	}
	return o;
}

/* A stream restored into another component than its own, converted. */
static void add_converted(cJSON *o, const tsarc_step *s)
{
	char text[600];

	snprintf(text, sizeof(text), "component %s (kind %s), converted into kind %s: %s",
		s->converted_from, s->st->convert->from, s->st->convert->to, s->st->convert->how);
	cJSON_AddStringToObject(o, "converted_from", text);
}

cJSON *tsarc_report_make(tsarc_restore_ctx *r, int with_plan)
{
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	size_t i;

	cJSON_AddStringToObject(doc, "snapshot_id", r->snap->id);
	/* What kind of restore this is, and why: the rules that chose each
	 * endpoint depend on it. */
	cJSON_AddBoolToObject(doc, "migration", r->migration != NULL);
	if (r->migration)
		cJSON_AddStringToObject(doc, "migration_reason", r->migration);
	cJSON_AddBoolToObject(doc, "in_place", r->in_place);
	if (r->target_place)
		cJSON_AddItemToObject(doc, "target_deployment", cJSON_Duplicate(r->target_place, 1));
	if (r->snapshot_place)
		cJSON_AddItemToObject(doc, "snapshot_deployment",
			cJSON_Duplicate(r->snapshot_place, 1));
	cJSON_AddItemToObject(doc, "steps", arr);
	for (i = 0; i < r->n; i++) {
		tsarc_step *s = &r->steps[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "component", tsarc_step_name(s));
		cJSON_AddStringToObject(o, "action", s->action ? s->action : "none");
		cJSON_AddNumberToObject(o, "order", s->order);
		if (s->st) {
			cJSON_AddStringToObject(o, "stream", s->st->name);
			cJSON_AddNumberToObject(o, "bytes", (double)s->st->size);
		}
		if (s->converted_from && s->st && s->st->convert)
			add_converted(o, s);
		cJSON_AddStringToObject(o, "status", state_name(s));
		if (s->note)
			cJSON_AddStringToObject(o, "note", s->note);
		if (s->error)
			cJSON_AddStringToObject(o, "error", s->error);
		if (s->detail)
			cJSON_AddItemToObject(o, "detail", cJSON_Duplicate(s->detail, 1));
		if (s->endpoint && s->state != TSARC_STEP_SKIPPED)
			cJSON_AddItemToObject(o, "endpoint", cJSON_Duplicate(s->endpoint, 1));
		if (with_plan && s->state == TSARC_STEP_PENDING && s->action)
			cJSON_AddItemToObject(o, "plan", plan_target(r, s));
		cJSON_AddItemToArray(arr, o);
	}
	if (r->undo_id[0])
		cJSON_AddStringToObject(doc, "undo_snapshot", r->undo_id);
	if (r->rollback)
		cJSON_AddItemToObject(doc, "rollback", cJSON_Duplicate(r->rollback, 1));
	cJSON_AddItemToObject(doc, "absent_from_snapshot", cJSON_Duplicate(r->absent, 1));
	cJSON_AddItemToObject(doc, "left_out_by_configuration", cJSON_Duplicate(r->left_out, 1));
	cJSON_AddItemToObject(doc, "warnings", cJSON_Duplicate(r->warnings, 1));
	return doc;
}

