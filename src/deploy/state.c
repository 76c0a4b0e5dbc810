/*
 * The deployment's restore state: which steps of a restore began and are
 * not known to have been applied, kept in the deployment itself (a
 * ConfigMap through the default transport: kube writes it into the
 * namespace, local into resources_dir), so that the next restore or plan
 * into it says the deployment may be half-restored, whoever runs it and
 * from wherever.
 *
 * A run reports what it applied and what not when it fails or is stopped
 * by a signal; a kill -9, a lost node or a lost pod report nothing, and
 * afterwards the deployment looked like any other. So before its first
 * write a run records each of its steps as pending (with the snapshot it
 * comes from), over what an earlier run left pending; each step applied is
 * taken out; a run that applied everything leaves nothing pending. Steps
 * of an earlier run this one does not redo (--only) stay pending.
 * The steps are the data steps: a post_restore hook holds no data (it
 * re-syncs from what the steps restored, and a restore of any later backup
 * runs it again), so a hook not run leaves no half-restored deployment;
 * kept pending, it marked every later backup half-restored (passed over by
 * `restore latest`) until a restore ran that hook, for ever where the
 * configuration no longer had it. An older tsarc's hook entries are
 * dropped when read.
 *
 * The state is advice, never a condition: a transport that cannot keep it
 * (local without resources_dir) keeps none, silently; a read or write that
 * fails is a warning, and the restore goes on.
 */
#include "plan.h"
#include "snapshot.h"
#include "state.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STATE_NAME "tsarc-restore-state"
/* What is read back from the deployment is bounded: it is only advice. */
#define STATE_MAX_STEPS 64
#define STATE_NAME_MAX 253
/* The step name of a post_restore hook ("post_restore[0]"): no data step. */
#define HOOK_PREFIX "post_restore["

/* The pending map {step: snapshot id} of the stored state; NULL when
 * there is none or nothing is pending. *when and *host: where it was last
 * written (empty when unknown). */
static cJSON *pending_of(const cJSON *cm, char *when, size_t whensz, char *host, size_t hostsz)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(cm, "data"), *e;
	const char *text = tsarc_spec_str(data, "pending");
	cJSON *doc = text ? cJSON_Parse(text) : NULL, *out = cJSON_CreateObject();

	snprintf(when, whensz, "%.40s", tsarc_spec_str(data, "updated") ?
		tsarc_spec_str(data, "updated") : "");
	snprintf(host, hostsz, "%.255s", tsarc_spec_str(data, "host") ?
		tsarc_spec_str(data, "host") : "");
	cJSON_ArrayForEach(e, doc) {
		if (!out || cJSON_GetArraySize(out) >= STATE_MAX_STEPS)
			break;
		if (cJSON_IsString(e) && e->string && e->string[0] &&
			strlen(e->string) <= STATE_NAME_MAX && strlen(e->valuestring) <= TSARC_ID_HEX_LEN &&
			strncmp(e->string, HOOK_PREFIX, strlen(HOOK_PREFIX)) &&
			!cJSON_GetObjectItemCaseSensitive(out, e->string))
			cJSON_AddStringToObject(out, e->string, e->valuestring);
	}
	cJSON_Delete(doc);
	if (out && !cJSON_GetArraySize(out)) {
		cJSON_Delete(out);
		out = NULL;
	}
	return out;
}

/* The undo map {snapshot id: its restore's undo snapshot id} of the
 * stored state (--undo-snapshot, undo.h), ids only; never NULL unless out
 * of memory. */
static cJSON *undo_map_of(const cJSON *cm)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(cm, "data"), *e;
	const char *text = tsarc_spec_str(data, "undo");
	cJSON *doc = text ? cJSON_Parse(text) : NULL, *out = cJSON_CreateObject();

	cJSON_ArrayForEach(e, doc) {
		if (!out || cJSON_GetArraySize(out) >= STATE_MAX_STEPS)
			break;
		if (cJSON_IsString(e) && e->string && tsarc_snapshot_name_is_id(e->string) &&
			tsarc_snapshot_name_is_id(e->valuestring) &&
			!cJSON_GetObjectItemCaseSensitive(out, e->string))
			cJSON_AddStringToObject(out, e->string, e->valuestring);
	}
	cJSON_Delete(doc);
	return out;
}

/* Whether some step of `pending` is of snapshot `id`. */
static int pending_from(const cJSON *pending, const char *id)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, pending)
		if (!strcmp(e->valuestring, id))
			return 1;
	return 0;
}

/* Reads the state stored through `tr`: 0 with *pending (NULL: none) and,
 * unless undo is NULL, *undo (the undo map, see undo_map_of), 1 when this
 * deployment's transport keeps none, or an error. */
static int state_read_from(tsarc_transport *tr, cJSON **pending, cJSON **undo, char *when,
	size_t whensz, char *host, size_t hostsz)
{
	cJSON *cm = NULL;
	int rc;

	*pending = NULL;
	if (undo)
		*undo = NULL;
	if (!tr || !tr->get || !tr->apply)
		return 1;
	rc = tr->get(tr, "configmap", STATE_NAME, &cm);
	if (rc == TSARC_ENOTFOUND || rc == TSARC_ECONFIG) {
		tsarc_error_clear();
		return rc == TSARC_ECONFIG;
	}
	if (rc)
		return rc;
	*pending = pending_of(cm, when, whensz, host, hostsz);
	if (undo)
		*undo = undo_map_of(cm);
	cJSON_Delete(cm);
	return 0;
}

static int state_read(tsarc_restore_ctx *r, cJSON **pending, cJSON **undo, char *when,
	size_t whensz, char *host, size_t hostsz)
{
	return state_read_from(r->deftr, pending, undo, when, whensz, host, hostsz);
}

int tsarc_restore_state_pending(tsarc_transport *tr, cJSON **out)
{
	char when[48] = "", host[256] = "";
	cJSON *pending = NULL, *doc;
	int rc;

	*out = NULL;
	if ((rc = state_read_from(tr, &pending, NULL, when, sizeof(when), host, sizeof(host))))
		return rc == 1 ? 0 : rc;
	if (!pending)
		return 0;
	if (!(doc = cJSON_CreateObject()) || !cJSON_AddItemToObject(doc, "steps", pending)) {
		cJSON_Delete(doc);
		cJSON_Delete(pending);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	if ((when[0] && !cJSON_AddStringToObject(doc, "updated", when)) ||
		(host[0] && !cJSON_AddStringToObject(doc, "host", host))) {
		cJSON_Delete(doc);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	*out = doc;
	return 0;
}

/* The warning about an earlier restore that did not finish. */
static void warn_unfinished(tsarc_restore_ctx *r, const cJSON *pending, const cJSON *undo,
	const char *when, const char *host)
{
	tsarc_buf msg = TSARC_BUF_INIT;
	const cJSON *e;
	const char *text;

	tsarc_buf_printf(&msg, "an earlier restore into this deployment did not finish (its state "
		"%s was last written%s%s%s%s): not known to be applied:", STATE_NAME,
		when[0] ? " at " : "", when, host[0] ? " on " : "", host);
	cJSON_ArrayForEach(e, pending)
		tsarc_buf_printf(&msg, " %s (snapshot %.10s)", e->string, e->valuestring);
	tsarc_buf_puts(&msg, "; the deployment may be half-restored until those are restored");
	cJSON_ArrayForEach(e, undo)
		if (pending_from(pending, e->string))
			tsarc_buf_printf(&msg, "; what the restore of snapshot %.10s replaced is in "
				"undo snapshot %s, as it was before", e->string, e->valuestring);
	tsarc_buf_append(&msg, "", 1);
	/* Without the list rather than with a step left out of it. */
	text = !tsarc_buf_status(&msg) && msg.ptr ? (const char *)msg.ptr :
		"an earlier restore into this deployment did not finish (its state " STATE_NAME
		" lists steps not known to be applied, which could not be listed here): the "
		"deployment may be half-restored until those are restored";
	cJSON_AddItemToArray(r->warnings, cJSON_CreateString(text));
	tsarc_restore_progress(r, "warning: %s", text);
	tsarc_buf_dispose(&msg);
}

/* The undo map's entries of snapshots with steps still pending, into the
 * ConfigMap's data; 0, or -1 when out of memory. */
static int add_undo_map(tsarc_restore_ctx *r, cJSON *data)
{
	cJSON *kept = cJSON_CreateObject(), *e;
	char *text;
	int rc = -1;

	if (!kept)
		return -1;
	cJSON_ArrayForEach(e, r->state_undo)
		if (pending_from(r->state, e->string) &&
			!cJSON_AddStringToObject(kept, e->string, e->valuestring))
			goto out;
	rc = 0;
	if (kept->child) {
		text = cJSON_PrintUnformatted(kept);
		rc = text && cJSON_AddStringToObject(data, "undo", text) ? 0 : -1;
		cJSON_free(text);
	}
out:
	cJSON_Delete(kept);
	return rc;
}

/* Writes r->state as the deployment's state. */
static int state_write(tsarc_restore_ctx *r)
{
	cJSON *list = cJSON_CreateObject(), *items, *cm, *md, *data;
	char when[40], host[256] = "", *text = NULL;
	int rc = TSARC_ENOMEM;

	tsarc_time_now(when, sizeof(when), NULL);
	gethostname(host, sizeof(host) - 1);
	if (list && cJSON_AddStringToObject(list, "apiVersion", "v1") &&
		cJSON_AddStringToObject(list, "kind", "List") &&
		(items = cJSON_AddArrayToObject(list, "items")) && (cm = cJSON_CreateObject()) &&
		cJSON_AddItemToArray(items, cm) && cJSON_AddStringToObject(cm, "apiVersion", "v1") &&
		cJSON_AddStringToObject(cm, "kind", "ConfigMap") &&
		(md = cJSON_AddObjectToObject(cm, "metadata")) &&
		cJSON_AddStringToObject(md, "name", STATE_NAME) &&
		(data = cJSON_AddObjectToObject(cm, "data")) &&
		(text = cJSON_PrintUnformatted(r->state)) &&
		cJSON_AddStringToObject(data, "pending", text) &&
		cJSON_AddStringToObject(data, "updated", when) &&
		cJSON_AddStringToObject(data, "host", host) && !add_undo_map(r, data))
		rc = r->deftr->apply(r->deftr, list, r->o->target_namespace);
	else
		tsarc_error_set(rc, "out of memory");
	cJSON_free(text);
	cJSON_Delete(list);
	return rc;
}

/* A state that could not be kept: said, and no more writes. */
static void state_lost(tsarc_restore_ctx *r, const char *when)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "the restore state (%s) could not be %s: %s; if this restore "
		"is interrupted, the next one will not say so", STATE_NAME, when,
		tsarc_error_last()->message);
	cJSON_AddItemToArray(r->warnings, cJSON_CreateString(msg));
	tsarc_restore_progress(r, "warning: %s", msg);
	tsarc_error_clear();
	cJSON_Delete(r->state);
	r->state = NULL;
}

void tsarc_restore_state_begin(tsarc_restore_ctx *r)
{
	char when[48] = "", host[256] = "";
	cJSON *pending = NULL, *undo = NULL;
	size_t i;
	int rc;

	cJSON_Delete(r->state);
	cJSON_Delete(r->state_undo);
	r->state = r->state_undo = NULL;
	rc = state_read(r, &pending, &undo, when, sizeof(when), host, sizeof(host));
	if (rc == 1)
		return;
	if (rc) {
		state_lost(r, "read");
		return;
	}
	/* A rollback's own run is no earlier restore (undo.c): the steps of
	 * the run it rolls back are its own or were never started. */
	if (pending && r->o->rolling_back) {
		cJSON *e = pending->child, *next;
		for (; e; e = next) {
			next = e->next;
			if (!strcmp(e->valuestring, r->o->rolling_back))
				cJSON_Delete(cJSON_DetachItemViaPointer(pending, e));
		}
		if (!pending->child) {
			cJSON_Delete(pending);
			pending = NULL;
		}
	}
	if (pending)
		warn_unfinished(r, pending, undo, when, host);
	if (r->o->dry_run) {
		cJSON_Delete(pending);
		cJSON_Delete(undo);
		return;
	}
	r->state = pending ? pending : cJSON_CreateObject();
	/* Where what this run replaces is kept, for the warning of the run
	 * after a kill -9. */
	r->state_undo = undo;
	if (undo && r->undo_id[0]) {
		cJSON_DeleteItemFromObjectCaseSensitive(undo, r->snap->id);
		cJSON_AddStringToObject(undo, r->snap->id, r->undo_id);
	}
	for (i = 0; r->state && i < r->n; i++) {
		const tsarc_step *s = &r->steps[i];
		if (s->state != TSARC_STEP_PENDING || !s->st)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(r->state, tsarc_step_name(s));
		cJSON_AddStringToObject(r->state, tsarc_step_name(s), r->snap->id);
	}
	if (!r->state)
		tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!r->state || state_write(r))
		state_lost(r, "written");
}

void tsarc_restore_state_done(tsarc_restore_ctx *r, const tsarc_step *s)
{
	if (!r->state || !s->st)
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(r->state, tsarc_step_name(s));
	if (state_write(r))
		state_lost(r, "written");
}
