/*
 * The planner's first half: one step per stream of the snapshot, each
 * pending or skipped for one stated reason (the one rule, below: the
 * --dry-run prints and the run executes the same steps), sorted by the
 * order of its recipe (ties by component name), then the post_restore
 * hooks. Nothing here reads a stream or touches the target.
 */
#include "layout.h"
#include "plan.h"
#include "snapshot.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int recipe_order(const cJSON *recipe)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(recipe, "order");
	double v = cJSON_IsNumber(o) ? o->valuedouble : 1000;

	/* The recipe comes from a manifest or a config: out of an int's range
	 * the cast is undefined, so clamp first. */
	return v >= 1e9 ? 1000000000 : v > -1e9 ? (int)v : -1000000000;
}

/* Whether step a runs after step b (data steps: the hooks come later). */
static int step_after(const tsarc_step *a, const tsarc_step *b)
{
	int c;

	if (a->order != b->order)
		return a->order > b->order;
	if ((c = strcmp(a->component, b->component)) != 0)
		return c > 0;
	return strcmp(a->st->name, b->st->name) > 0;
}

static int in_only(const tsarc_restore_opts *o, const char *name)
{
	size_t i;

	if (!o->only)
		return 1;
	for (i = 0; name && i < o->nonly; i++)
		if (!strcmp(o->only[i], name))
			return 1;
	return 0;
}

/* Why the layout (layout.h) enabled or disabled component `name`, when a
 * rule decided it: its own decision, or that of the component it
 * enabled in its place; NULL otherwise. */
static const char *layout_reason(const tsarc_restore_ctx *r, const char *name)
{
	const cJSON *comps = cJSON_GetObjectItemCaseSensitive(r->d->eff, "components"), *c, *d;

	d = cJSON_GetObjectItemCaseSensitive(r->layout, name);
	if (cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(d, "enabled")))
		return tsarc_spec_str(d, "why");
	cJSON_ArrayForEach(c, comps) {
		const char *repl = tsarc_replaced_by_rule(c);
		d = cJSON_GetObjectItemCaseSensitive(r->layout, c->string);
		if (repl && !strcmp(repl, name) &&
			cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "enabled")))
			return tsarc_spec_str(d, "why");
	}
	return NULL;
}

/* "A, B" of the strings of `names`, each with the layout's reason where a
 * rule decided it (a component the operator did not disable is said
 * why), or NULL (out of memory). */
static char *joined(const tsarc_restore_ctx *r, const cJSON *names)
{
	tsarc_buf b = TSARC_BUF_INIT;
	const cJSON *a;

	cJSON_ArrayForEach(a, names) {
		const char *why = layout_reason(r, a->valuestring);
		tsarc_buf_printf(&b, "%s%s%s%s%s", b.size ? ", " : "", a->valuestring,
			why ? " (" : "", why ? why : "", why ? ")" : "");
	}
	return tsarc_buf_detach(&b);
}

/*
 * A restore of part of a snapshot into part of a target, either way:
 * - the snapshot lacks some of the target's enabled components (r->absent:
 *   taken before a component was added to the configuration, or restored
 *   into a target that has more than the source had);
 * - it holds components the target's configuration leaves out or disables,
 *   or streams no component of it takes (r->left_out: a configuration
 *   written for part of a deployment, a component turned off).
 * Either would be restored in part: the others replaced, those left as
 * they were (or not restored), and a restore that exits 0. So it is
 * refused, before anything is read or written, unless the operator says
 * the part is meant: --only (which names what to restore) or
 * --allow-partial. An undo snapshot holds only what a restore replaced,
 * by design (undo.h), and a rollback restores one.
 */
static int refuse_partial(tsarc_restore_ctx *r)
{
	char *absent = NULL, *left = NULL;
	int na = cJSON_GetArraySize(r->absent), nl = cJSON_GetArraySize(r->left_out), rc;

	if ((!na && !nl) || r->o->only || r->o->allow_partial || r->o->rolling_back ||
		tsarc_snapshot_is_undo(r->snap))
		return 0;
	if ((na && !(absent = joined(r, r->absent))) || (nl && !(left = joined(r, r->left_out)))) {
		free(absent);
		return tsarc_error_last()->code;
	}
	if (na)
		rc = tsarc_error_set(TSARC_ECONFIG, "snapshot %.10s has nothing for %s, enabled in "
			"the configuration: a restore would replace the other components and leave %s "
			"as %s%s%s; name the components to restore with --only, or give "
			"--allow-partial to restore what the snapshot holds", r->snap->id, absent,
			na == 1 ? "it" : "them", na == 1 ? "it is" : "they are",
			nl ? "; and the configuration does not restore its " : "", nl ? left : "");
	else
		rc = tsarc_error_set(TSARC_ECONFIG, "snapshot %.10s holds %s, which the "
			"configuration does not restore (not in it, or disabled): a restore would "
			"replace the other components and leave %s out; name the components to "
			"restore with --only, or give --allow-partial to restore the rest",
			r->snap->id, left, nl == 1 ? "it" : "them");
	free(absent);
	free(left);
	return rc;
}

static int add_step(tsarc_restore_ctx *r, tsarc_step *s)
{
	tsarc_step *grown = realloc(r->steps, (r->n + 1) * sizeof(tsarc_step));

	if (!grown)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	r->steps = grown;
	r->steps[r->n++] = *s;
	return 0;
}

static const char *stream_component(const tsarc_stream *st, const cJSON *comps)
{
	const char *name = tsarc_spec_str(st->meta, "component");
	const cJSON *c;

	if (name)
		return name;
	/* A stream without deployment metadata (tsarc backup --stdin) is
	 * taken by the component whose stream name it has. */
	cJSON_ArrayForEach(c, comps) {
		const char *sn = tsarc_spec_str(c, "stream");
		if (sn && !strcmp(sn, st->name))
			return c->string;
	}
	return NULL;
}

/* Component `c` takes the place of component `other` (layout.h). */
static int replaces(const cJSON *c, const char *other)
{
	const char *repl = tsarc_replaced_by_rule(c);

	return repl && !strcmp(repl, other);
}

/*
 * The component that restores stream `st` of component `name` converted,
 * or NULL. When the target keeps a store elsewhere than the source did
 * (layout.h "storage_when": its system-storage in an S3 bucket, the
 * source's on a volume, or the other way), the layout decision disabled
 * `name` for the component whose place it takes or that takes its place;
 * when the snapshot holds nothing of that one, and its kind converts the
 * stream's (kind.h "converts"), it takes this stream, converted (*conv).
 * Otherwise the stream is skipped as its component is disabled, and the
 * other one is absent (refuse_partial).
 */
static const cJSON *converting_component(const tsarc_restore_ctx *r, const cJSON *comps,
	const char *name, const tsarc_stream *st, const tsarc_stream_conversion **conv)
{
	const cJSON *spec = name ? cJSON_GetObjectItemCaseSensitive(comps, name) : NULL, *c;
	const char *from = tsarc_spec_str(st->meta, "kind");
	size_t i;

	*conv = NULL;
	if (!spec || tsarc_spec_bool(spec, "enabled", 1))
		return NULL;
	if (!from)
		from = st->kind;
	/* The stream must be of its component's kind in the target too:
	 * a conversion starts from what the stream is. */
	if (!from || !tsarc_spec_str(spec, "kind") || strcmp(from, tsarc_spec_str(spec, "kind")))
		return NULL;
	cJSON_ArrayForEach(c, comps) {
		const tsarc_kind *k = tsarc_kind_find(tsarc_spec_str(c, "kind"));
		const tsarc_stream_conversion *const *cv;
		int own = 0;

		/* One takes the other's place, either way round. */
		if (!(replaces(c, name) || replaces(spec, c->string)) ||
			!tsarc_spec_bool(c, "enabled", 1) || !k || !k->converts)
			continue;
		for (i = 0; i < r->snap->nstreams && !own; i++) {
			const char *cn = stream_component(&r->snap->streams[i], comps);
			own = cn && !strcmp(cn, c->string);
		}
		if (own)
			continue; /* its own stream is restored */
		for (cv = k->converts; *cv; cv++)
			if (!strcmp((*cv)->from, from)) {
				*conv = *cv;
				return c;
			}
	}
	return NULL;
}

/* The step's own copy of its stream, read through `conv`: the chunks are
 * the snapshot's, the metadata a copy without what says where the source
 * left things out ("excluded": a folder of the volume, not a key of the
 * bucket). */
static int converted_copy(tsarc_step *s, const tsarc_stream_conversion *conv)
{
	tsarc_stream *own = malloc(sizeof(*own));

	if (!own)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	*own = *s->st;
	own->meta = NULL;
	if (s->st->meta && !(own->meta = cJSON_Duplicate(s->st->meta, 1))) {
		free(own);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(own->meta, "excluded");
	own->convert = conv;
	s->own_st = own;
	s->st = own;
	return 0;
}

void tsarc_step_free_converted(tsarc_step *s)
{
	if (!s->own_st)
		return;
	cJSON_Delete(s->own_st->meta);
	free(s->own_st);
	s->own_st = NULL;
}

/*
 * The one rule that skips a component's stream (step `s`, of component
 * `name` or NULL), with the reason in its note. Only pending steps are
 * resolved, described by --dry-run and run.
 */
static int skip_rule(tsarc_step *s, const char *name)
{
	const tsarc_stream *st = s->st;
	const char *why = tsarc_spec_str(st->meta, "absent_reason");
	/* The target does not take what the stream holds (a stream that
	 * says its component was absent when backed up holds nothing). */
	int left_out = (!name || !s->spec || !tsarc_spec_bool(s->spec, "enabled", 1)) &&
		!tsarc_spec_bool(st->meta, "absent", 0);
	if (!name)
		tsarc_step_note(s, "no component of the target configuration takes stream %s",
			st->name);
	else if (!s->spec)
		tsarc_step_note(s, "component %s is not in the target configuration", name);
	else if (!tsarc_spec_bool(s->spec, "enabled", 1))
		tsarc_step_note(s, "component %s is disabled in the target configuration", name);
	else if (!s->action)
		tsarc_step_note(s, "no restore action for kind %s", s->kind ? s->kind : "(unknown)");
	else if (tsarc_spec_bool(st->meta, "absent", 0))
		tsarc_step_note(s, "absent when backed up (%s)", why ? why : "not installed");
	else if (!s->selected)
		tsarc_step_note(s, "not selected (--only)");
	else
		return 0;
	s->state = TSARC_STEP_SKIPPED;
	return left_out;
}

/* {"component": external} for every stream whose metadata says which
 * (untrusted: only a boolean is taken, for a component of the target),
 * and {"component": true} for a storage component whose stream the
 * snapshot holds (layout.h). */
static int recorded_layout(tsarc_restore_ctx *r, const cJSON *comps, cJSON **out)
{
	size_t i;

	if (!(*out = cJSON_CreateObject()))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; i < r->snap->nstreams; i++) {
		const tsarc_stream *st = &r->snap->streams[i];
		const char *name = stream_component(st, comps);
		const cJSON *ext = cJSON_GetObjectItemCaseSensitive(st->meta, "external");
		const cJSON *c = name ? cJSON_GetObjectItemCaseSensitive(comps, name) : NULL;
		/* A component that takes the place of another (layout.h
		 * "storage_when", "database_when") was enabled when the snapshot
		 * holds its stream. */
		int replacing = c && tsarc_replaces_another(c);

		if (!c || (!replacing && !cJSON_IsBool(ext)) ||
			cJSON_GetObjectItemCaseSensitive(*out, name))
			continue;
		if (!cJSON_AddBoolToObject(*out, name, replacing || cJSON_IsTrue(ext))) {
			cJSON_Delete(*out);
			*out = NULL;
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		}
	}
	return 0;
}

static int same_kind(const tsarc_step *s)
{
	const char *recorded = tsarc_spec_str(s->st->meta, "kind");

	if (!recorded || !strcmp(recorded, s->kind))
		return 0;
	return tsarc_error_set(TSARC_EUNSAFE, "stream %s of the snapshot is of kind %s, but component "
		"'%s' of the target configuration is of kind %s: it cannot be restored into it; "
		"nothing was written (restore the other components with --only)", s->st->name,
		recorded, s->component, s->kind);
}

int tsarc_plan_steps(tsarc_restore_ctx *r)
{
	const cJSON *comps = cJSON_GetObjectItemCaseSensitive(r->d->eff, "components"), *c;
	const cJSON *hooks = cJSON_GetObjectItemCaseSensitive(r->d->eff, "post_restore"), *h;
	cJSON *recorded = NULL;
	size_t i, j;
	int rc;

	/* External or in a pod, from the target's APIManager and Secrets
	 * where its configuration does not say, else as backed up (layout.h). */
	if ((rc = recorded_layout(r, comps, &recorded)))
		return rc;
	cJSON_Delete(r->layout);
	r->layout = NULL;
	rc = tsarc_decide_external(r->d->eff, r->deftr, recorded, &r->layout);
	cJSON_Delete(recorded);
	if (rc)
		return rc;
	/* Every --only name must be something this restore knows. */
	for (i = 0; r->o->only && i < r->o->nonly; i++) {
		int known = cJSON_GetObjectItemCaseSensitive(comps, r->o->only[i]) != NULL;
		for (j = 0; !known && j < r->snap->nstreams; j++) {
			const char *cn = stream_component(&r->snap->streams[j], comps);
			known = cn && !strcmp(cn, r->o->only[i]);
		}
		if (!known)
			return tsarc_error_set(TSARC_ECONFIG, "--only %s: no such component in the "
				"snapshot or the configuration", r->o->only[i]);
	}
	for (i = 0; i < r->snap->nstreams; i++) {
		const tsarc_stream *st = &r->snap->streams[i];
		const char *name = stream_component(st, comps);
		const cJSON *spec = name ? cJSON_GetObjectItemCaseSensitive(comps, name) : NULL;
		const tsarc_stream_conversion *conv = NULL;
		const cJSON *into = converting_component(r, comps, name, st, &conv);
		const cJSON *over;
		tsarc_step s;

		memset(&s, 0, sizeof(s));
		if (into) {
			s.converted_from = name;
			name = into->string;
			spec = into;
		}
		s.st = st;
		s.component = name ? name : st->name;
		s.spec = spec;
		/* The target's kind; the snapshot's only names a stream no
		 * component of the target takes (it is skipped). */
		s.kind = tsarc_spec_str(spec, "kind");
		if (!s.kind)
			s.kind = tsarc_spec_str(st->meta, "kind");
		/* A converted stream's recipe is its new component's alone. */
		s.recipe = conv ? NULL :
			cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(st->meta, "restore"), 1);
		if (!s.recipe)
			s.recipe = cJSON_CreateObject();
		if (!s.recipe)
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		/* Actions, places and programs come from the target only. */
		tsarc_recipe_keep_snapshot_fields(s.recipe);
		/* The target's own recipe fields win: they say where things go. */
		if ((over = cJSON_GetObjectItemCaseSensitive(spec, "restore")) &&
			(rc = tsarc_json_merge(s.recipe, over))) {
			cJSON_Delete(s.recipe);
			return rc;
		}
		s.action = tsarc_spec_str(s.recipe, "action");
		if (!s.action && tsarc_kind_find(s.kind))
			s.action = tsarc_kind_find(s.kind)->action;
		s.order = recipe_order(s.recipe);
		s.selected = name && (in_only(r->o, name) || in_only(r->o, s.converted_from));
		/* What the snapshot holds and the target does not take. */
		if (skip_rule(&s, name) &&
			!cJSON_AddItemToArray(r->left_out, cJSON_CreateString(name ? name : st->name))) {
			free(s.note);
			cJSON_Delete(s.recipe);
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		}
		/* A stream of another kind than its component's is not restored
		 * that component's way, nor its recorded kind's way (that would
		 * let the snapshot choose what a step writes): refused. */
		if (s.state == TSARC_STEP_PENDING && !conv && (rc = same_kind(&s))) {
			cJSON_Delete(s.recipe);
			return rc;
		}
		/* What runs a pending step is known before anything runs: an
		 * action no kind has, or one not for this kind, stops here. */
		if (s.state == TSARC_STEP_PENDING &&
			(rc = tsarc_kind_for_action(s.kind, s.action, name, &s.impl))) {
			cJSON_Delete(s.recipe);
			return rc;
		}
		if (s.state == TSARC_STEP_SKIPPED && s.selected && name && r->o->only) {
			rc = tsarc_error_set(TSARC_ENOTFOUND, "component '%s' named in --only cannot "
				"be restored: %s", name, s.note);
			free(s.note);
			cJSON_Delete(s.recipe);
			return rc;
		}
		if ((conv && (rc = converted_copy(&s, conv))) || (rc = add_step(r, &s))) {
			free(s.note);
			cJSON_Delete(s.recipe);
			tsarc_step_free_converted(&s);
			return rc;
		}
	}
	/* Enabled components of the target with nothing in the snapshot. */
	cJSON_ArrayForEach(c, comps) {
		int found = 0;
		if (!tsarc_spec_bool(c, "enabled", 1))
			continue;
		for (i = 0; i < r->n && !found; i++)
			found = !strcmp(r->steps[i].component, c->string);
		if (found)
			continue;
		if (r->o->only && in_only(r->o, c->string))
			return tsarc_error_set(TSARC_ENOTFOUND, "component '%s' named in --only is not "
				"in snapshot %.10s", c->string, r->snap->id);
		cJSON_AddItemToArray(r->absent, cJSON_CreateString(c->string));
	}
	if ((rc = refuse_partial(r)))
		return rc;
	/* A name given to --only that has nothing to restore is an error,
	 * not a silent no-op. */
	for (i = 0; r->o->only && i < r->o->nonly; i++) {
		int pending = 0;
		for (j = 0; j < r->n && !pending; j++)
			pending = r->steps[j].state == TSARC_STEP_PENDING &&
				(!strcmp(r->steps[j].component, r->o->only[i]) ||
					(r->steps[j].converted_from &&
						!strcmp(r->steps[j].converted_from, r->o->only[i])));
		if (!pending)
			return tsarc_error_set(TSARC_ENOTFOUND, "component '%s' named in --only is not "
				"in snapshot %.10s (or is disabled in the configuration)", r->o->only[i],
				r->snap->id);
	}
	/* By order, then by component name (then stream name): never by the
	 * snapshot's stream order, which is the order its producers finished
	 * in, so that the same restore of two backups of one deployment runs
	 * and prints its steps alike. */
	for (i = 1; i < r->n; i++) {
		tsarc_step tmp = r->steps[i];
		for (j = i; j > 0 && step_after(&r->steps[j - 1], &tmp); j--)
			r->steps[j] = r->steps[j - 1];
		r->steps[j] = tmp;
	}
	/* The hooks, after everything, in their own order. */
	if (hooks && !cJSON_IsArray(hooks))
		return tsarc_error_set(TSARC_ECONFIG, "%s: post_restore must be an array",
			r->d->origin);
	i = 0;
	cJSON_ArrayForEach(h, hooks) {
		const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(h, "command"), *a;
		const cJSON *after = cJSON_GetObjectItemCaseSensitive(h, "after");
		tsarc_step s;
		int any = after == NULL;
		i++;
		if (!cJSON_IsObject(h) || !cJSON_IsArray(cmd) || !cJSON_GetArraySize(cmd))
			return tsarc_error_set(TSARC_ECONFIG, "%s: post_restore[%zu] needs \"command\" "
				"(an array of strings)", r->d->origin, i - 1);
		cJSON_ArrayForEach(a, cmd)
			if (!cJSON_IsString(a))
				return tsarc_error_set(TSARC_ECONFIG, "%s: post_restore[%zu]: command must "
					"be an array of strings", r->d->origin, i - 1);
		memset(&s, 0, sizeof(s));
		snprintf(s.label, sizeof(s.label), "post_restore[%zu]", i - 1);
		s.kind = "hook";
		s.action = "hook";
		s.order = 100000;
		s.spec = h;
		/* A hook runs when a component it re-syncs from or into was
		 * restored now (its "after" list), or always without one. */
		for (j = 0; j < r->n && !any; j++)
			any = r->steps[j].state == TSARC_STEP_PENDING && tsarc_str_in_array(after, r->steps[j].component);
		if (!any) {
			s.state = TSARC_STEP_SKIPPED;
			tsarc_step_note(&s, "none of the components it follows is restored");
		}
		s.selected = 1;
		if ((rc = add_step(r, &s))) {
			free(s.note);
			return rc;
		}
	}
	return 0;
}

