/*
 * The target's own object, for a resource type a namespace holds one of:
 * the 3scale profile's APIManager, from which the operator reconciles the
 * whole namespace. Its recipe's "target_keeps" says so, and names the
 * fields that say where the target's databases and files are
 * (spec.externalComponents, spec.highAvailability, spec.system.fileStorage).
 *
 * The restore decides external or in a pod, and the volume or S3, from the
 * target's APIManager before its first write (layout.h). Applying the
 * snapshot's object as it is would then undo that decision: a 2.15
 * deployment's APIManager (no externalComponents) over a 2.16 install
 * whose databases are external, which the 2.16 operator refuses to
 * reconcile; or, under its own name, a second APIManager beside the
 * target's (an install named apimanager-sample, OperatorHub's default).
 * So where the target has its object, the snapshot's is applied onto it:
 * under the target's name, those fields the target's (removed where the
 * target has none), the rest the snapshot's. A target without one (a
 * namespace rebuilt after a disaster) gets the snapshot's whole, and its
 * layout was decided from the snapshot's record. Several objects in the
 * target, or in the snapshot's List, leave no object to apply onto:
 * refused, before the restore's first write (the plan checks the same).
 *
 * And, with --skip-endpoint-secrets, the keys of a Secret that say where
 * a database is: that option leaves out the Secrets that are endpoints
 * alone (the recipe's skip_when_migrating), but zync's Secret is zync's
 * settings too (SECRET_KEY_BASE, the token system shares with it) beside
 * its database's URL and password. Applied whole, it left the target's
 * zync on the source's database (tsarc restores into the target's, read
 * from that Secret before the first write). Its endpoint keys, every
 * string of a target component's url_secret naming it, are the target's.
 */
#include "component.h"
#include "kind.h"
#include "resources.h"
#include "rewrite.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <string.h>

static const char *object_name(const cJSON *o)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(o, "metadata"), "name");

	return cJSON_IsString(n) ? n->valuestring : NULL;
}

int tsarc_resources_target_check(const cJSON *target, int nitems,
	const tsarc_resources_rules *rules)
{
	int n = cJSON_GetArraySize(target);
	const cJSON *o;
	char names[512] = "";
	size_t len = 0;

	if (!rules->target_keeps || !n)
		return 0;
	cJSON_ArrayForEach(o, target) {
		const char *name = object_name(o);
		if (len < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%.253s",
				len ? ", " : "", name ? name : "(no name)");
	}
	if (n > 1)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': the target's namespace holds "
			"%d %s objects (%s), of which it keeps one: which one the snapshot's replaces "
			"is not known; nothing was written", rules->component, n, rules->type, names);
	if (nitems > 1)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': stream %s holds %d %s objects, "
			"and the target's namespace keeps one (%s): nothing was written",
			rules->component, rules->stream, nitems, rules->type, names);
	if (!object_name(cJSON_GetArrayItem(target, 0)) ||
		!tsarc_valid_kube_name(object_name(cJSON_GetArrayItem(target, 0))))
		return tsarc_error_set(TSARC_EUNSAFE, "component '%s': the target's %s has no "
			"Kubernetes name to apply the snapshot's onto", rules->component, rules->type);
	return 0;
}

/* `path`'s parent object in `doc` and its last name in *last (`seg`
 * holds it); `make`: the objects on the way are created where missing.
 * NULL when there is none (or, making, when a value on the way is no
 * object). */
static cJSON *parent_of(cJSON *doc, const char *path, int make, char seg[129],
	const char **last)
{
	cJSON *at = doc, *next;

	for (;;) {
		size_t len = strcspn(path, ".");
		memcpy(seg, path, len);
		seg[len] = '\0';
		if (!path[len]) {
			*last = seg;
			return at;
		}
		next = cJSON_GetObjectItemCaseSensitive(at, seg);
		if (!next && make)
			next = cJSON_AddObjectToObject(at, seg);
		if (!cJSON_IsObject(next))
			return NULL;
		at = next;
		path += len + 1;
	}
}

int tsarc_resources_onto_target(tsarc_resources_apply *a, const cJSON *target,
	const tsarc_resources_rules *rules)
{
	cJSON *items = cJSON_GetObjectItemCaseSensitive(a->list, "items"), *item, *md, *applied;
	const cJSON *own = cJSON_GetArrayItem(target, 0), *p;
	const char *own_name;
	char name[254];
	int rc;

	if (!rules->target_keeps || !own || !cJSON_GetArraySize(items))
		return 0;
	if ((rc = tsarc_resources_target_check(target, cJSON_GetArraySize(items), rules)))
		return rc;
	item = cJSON_GetArrayItem(items, 0);
	md = cJSON_GetObjectItemCaseSensitive(item, "metadata");
	own_name = object_name(own);
	/* A copy: the item's own string goes with the rename. (select
	 * checked it: a Kubernetes name.) */
	snprintf(name, sizeof(name), "%s", object_name(item));
	if (strcmp(name, own_name)) {
		if (!cJSON_AddStringToObject(a->applied_as, name, own_name) ||
			!(applied = cJSON_CreateString(own_name)) ||
			!cJSON_ReplaceItemInArray(a->applied, 0, applied) ||
			!cJSON_ReplaceItemInObjectCaseSensitive(md, "name", cJSON_CreateString(own_name)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	cJSON_ArrayForEach(p, rules->target_keeps) {
		char seg[129], tseg[129];
		const char *last, *tlast;
		const cJSON *from;
		cJSON *parent, *copy;

		if (!cJSON_IsString(p) || !tsarc_valid_keep_path(p->valuestring))
			continue;
		parent = parent_of((cJSON *)own, p->valuestring, 0, tseg, &tlast);
		from = parent ? cJSON_GetObjectItemCaseSensitive(parent, tlast) : NULL;
		if (!(parent = parent_of(item, p->valuestring, from != NULL, seg, &last))) {
			if (!from)
				continue; /* neither has it */
			return tsarc_error_set(TSARC_EUNSAFE, "component '%s': stream %s's %s %s has "
				"something else than an object on the way to %s, which the target's "
				"value replaces; nothing was written", rules->component, rules->stream,
				rules->type, name, p->valuestring);
		}
		cJSON_DeleteItemFromObjectCaseSensitive(parent, last);
		if (from && (!(copy = cJSON_Duplicate(from, 1)) ||
			    !cJSON_AddItemToObject(parent, last, copy)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	return 0;
}

/* Every string of a url_secret but its "secret" (key, user_key,
 * password_key, queues_key, the tls object's keys), into `keys` once. */
static int add_ref_keys(const cJSON *ref, cJSON *keys)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, ref) {
		if (cJSON_IsObject(f) && add_ref_keys(f, keys))
			return -1;
		if (!cJSON_IsString(f) || (f->string && !strcmp(f->string, "secret")) ||
			tsarc_str_in_array(keys, f->valuestring))
			continue;
		if (!cJSON_AddItemToArray(keys, cJSON_CreateString(f->valuestring)))
			return -1;
	}
	return 0;
}

int tsarc_resources_endpoint_keys(const cJSON *components, const char *name, cJSON *keys)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, components) {
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(c, "url_secret");
		const char *secret = tsarc_spec_str(ref, "secret");
		if (secret && !strcmp(secret, name) && add_ref_keys(ref, keys))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	return 0;
}

int tsarc_resources_keep_endpoints(tsarc_resources_apply *a, const cJSON *components,
	const cJSON *target)
{
	cJSON *item;

	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(a->list, "items")) {
		const char *name = object_name(item);
		const cJSON *own = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(target, name), "data"), *k;
		cJSON *keys = cJSON_CreateArray(), *data;
		int rc = 0;

		if (!keys || tsarc_resources_endpoint_keys(components, name, keys)) {
			cJSON_Delete(keys);
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		}
		if (!cJSON_GetArraySize(keys)) {
			cJSON_Delete(keys);
			continue;
		}
		/* A "data" that is no object (the API server would refuse it) is
		 * replaced, not given a second "data" beside it. */
		if (!cJSON_IsObject(data = cJSON_GetObjectItemCaseSensitive(item, "data"))) {
			tsarc_secret_doc_free(cJSON_DetachItemFromObjectCaseSensitive(item, "data"));
			if (!(data = cJSON_AddObjectToObject(item, "data")))
				rc = TSARC_ENOMEM;
		}
		cJSON_ArrayForEach(k, keys) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(own, k->valuestring);
			cJSON *copy;
			if (rc)
				break;
			/* Wiped with the List: it may be a password. */
			tsarc_secret_doc_free(cJSON_DetachItemFromObjectCaseSensitive(data,
				k->valuestring));
			if (cJSON_IsString(v) && (!(copy = cJSON_CreateString(v->valuestring)) ||
				    !cJSON_AddItemToObject(data, k->valuestring, copy)))
				rc = TSARC_ENOMEM;
		}
		if (rc || !cJSON_AddItemToObject(a->endpoints_kept, name, keys)) {
			cJSON_Delete(keys);
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		}
	}
	return 0;
}
