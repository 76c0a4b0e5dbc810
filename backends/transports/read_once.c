/*
 * A transport that reads each object once (component.h
 * tsarc_transport_read_once): what a restore's plan goes through. The
 * plan asks for one object from several places, each with its own reason
 * (the layout's rules, a step's admission, the API server's dry run of
 * its apply, the plan's description), and against a cluster every get is
 * a kubectl process and an API round trip. Kept here, each get after the
 * first is a copy of what the first returned (or its "not found"), so the
 * plan also judges one view of the target. Every other call goes to the
 * transport it wraps; one that writes (apply, remove, write_config) makes
 * it forget what it kept.
 */
#include "component.h"
#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	tsarc_transport parent;
	tsarc_transport *inner;
	/* {TYPE: {NAME, or "" for the list: {"doc": ...} or {"missing":
	 * MESSAGE}}}: Secrets among them, wiped when forgotten. */
	cJSON *kept;
} read_once;

static tsarc_transport *inner_of(tsarc_transport *t)
{
	return ((read_once *)t)->inner;
}

static void forget(read_once *o)
{
	tsarc_secret_doc_free(o->kept);
	o->kept = NULL;
}

/* A kept read as its get gives it: a copy of the object, or its "not
 * found" again; 1 when it was not kept. */
static int replay(const cJSON *entry, cJSON **out)
{
	const cJSON *doc = cJSON_GetObjectItemCaseSensitive(entry, "doc");
	const char *missing = tsarc_spec_str(entry, "missing");

	if (!entry)
		return 1;
	if (missing)
		return tsarc_error_set(TSARC_ENOTFOUND, "%s", missing);
	return (*out = cJSON_Duplicate(doc, 1)) ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

/* Keeps get's outcome `rc` (*got when 0) under `type` and `key`; a failure
 * other than "not found" is not kept: asked again, it is tried again. */
static void keep(read_once *o, const char *type, const char *key, int rc, const cJSON *got)
{
	cJSON *of_type, *entry = cJSON_CreateObject(), *v;

	if (rc && rc != TSARC_ENOTFOUND) {
		cJSON_Delete(entry);
		return;
	}
	if (!o->kept)
		o->kept = cJSON_CreateObject();
	if (!(of_type = cJSON_GetObjectItemCaseSensitive(o->kept, type)) && o->kept)
		of_type = cJSON_AddObjectToObject(o->kept, type);
	v = rc ? cJSON_CreateString(tsarc_error_last()->message) : cJSON_Duplicate(got, 1);
	/* Out of memory: not kept, read again. */
	if (!of_type || !entry || !v || !cJSON_AddItemToObject(entry, rc ? "missing" : "doc", v)) {
		tsarc_secret_doc_free(v);
		tsarc_secret_doc_free(entry);
		return;
	}
	cJSON_AddItemToObject(of_type, key, entry);
}

static int once_get(tsarc_transport *t, const char *type, const char *name, cJSON **out)
{
	read_once *o = (read_once *)t;
	const char *key = name ? name : "";
	int rc;

	*out = NULL;
	if ((rc = replay(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o->kept,
		     type), key), out)) != 1)
		return rc;
	rc = o->inner->get(o->inner, type, name, out);
	keep(o, type, key, rc, *out);
	return rc;
}

static int once_locate(tsarc_transport *t, tsarc_component *c)
{
	return inner_of(t)->locate(inner_of(t), c);
}

static int once_spawn(tsarc_transport *t, const tsarc_component *c, const tsarc_cmd *cmd,
	tsarc_proc *p)
{
	return inner_of(t)->spawn(inner_of(t), c, cmd, p);
}

static int once_capture(tsarc_transport *t, const tsarc_component *c, const tsarc_cmd *cmd,
	size_t max, char **out)
{
	return inner_of(t)->capture(inner_of(t), c, cmd, max, out);
}

static int once_apply(tsarc_transport *t, const cJSON *list, const char *namespace)
{
	forget((read_once *)t);
	return inner_of(t)->apply(inner_of(t), list, namespace);
}

static int once_check_apply(tsarc_transport *t, const cJSON *list, const char *namespace)
{
	return inner_of(t)->check_apply(inner_of(t), list, namespace);
}

static int once_remove(tsarc_transport *t, const char *type, const char *name,
	const char *namespace)
{
	forget((read_once *)t);
	return inner_of(t)->remove(inner_of(t), type, name, namespace);
}

static int once_rollout(tsarc_transport *t, const char *workload)
{
	return inner_of(t)->rollout(inner_of(t), workload);
}

static int once_read_config(tsarc_transport *t, tsarc_server_config *cfg)
{
	return inner_of(t)->read_config(inner_of(t), cfg);
}

static int once_write_config(tsarc_transport *t, tsarc_server_config *cfg, const char *text,
	const char *saved)
{
	forget((read_once *)t);
	return inner_of(t)->write_config(inner_of(t), cfg, text, saved);
}

static int once_replace_tree(tsarc_transport *t, tsarc_component *c, struct tsarc_repo *repo,
	const struct tsarc_stream *st, unsigned inflight, const char *path, char **note)
{
	return inner_of(t)->replace_tree(inner_of(t), c, repo, st, inflight, path, note);
}

static void once_describe(tsarc_transport *t, const tsarc_component *c, cJSON *source)
{
	inner_of(t)->describe(inner_of(t), c, source);
}

static void once_free(tsarc_transport *t)
{
	if (!t)
		return;
	forget((read_once *)t);
	free(t);
}

int tsarc_transport_read_once(tsarc_transport **out, tsarc_transport *inner)
{
	const tsarc_transport *in = inner;
	read_once *o = calloc(1, sizeof(*o));
	tsarc_transport *t;

	*out = NULL;
	if (!o)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	o->inner = inner;
	t = &o->parent;
	t->type = in->type;
	t->caps = in->caps;
	t->config_field = in->config_field;
	/* What the wrapped one cannot do, this one cannot either. */
	t->locate = in->locate ? once_locate : NULL;
	t->spawn = in->spawn ? once_spawn : NULL;
	t->capture = in->capture ? once_capture : NULL;
	t->get = in->get ? once_get : NULL;
	t->apply = in->apply ? once_apply : NULL;
	t->check_apply = in->check_apply ? once_check_apply : NULL;
	t->remove = in->remove ? once_remove : NULL;
	t->rollout = in->rollout ? once_rollout : NULL;
	t->read_config = in->read_config ? once_read_config : NULL;
	t->write_config = in->write_config ? once_write_config : NULL;
	t->replace_tree = in->replace_tree ? once_replace_tree : NULL;
	t->describe = in->describe ? once_describe : NULL;
	t->free = once_free;
	*out = t;
	return 0;
}
