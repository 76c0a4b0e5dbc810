/*
 * The resources kind: Secrets, ConfigMaps and custom resources (the
 * APIManager) as one JSON List, sanitized so that it can be applied to
 * another cluster or namespace: status and the server-owned metadata are
 * dropped (uid, resourceVersion, creationTimestamp, managedFields,
 * ownerReferences, selfLink, namespace, generation, ...), and so is the
 * last-applied annotation and labels with configured prefixes (the
 * operator's secret.apimanager.apps.3scale.net/<uid> on the APIManager).
 * Its restore (apply) sanitizes again, rewrites the domain of a migration
 * and applies the List through the deployment's transport.
 */
#include "kind.h"
#include "names.h"
#include "resources.h"
#include "rewrite.h"
#include "snapshot.h"
#include "wipe.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const STRIPPED_METADATA[] = {"ownerReferences", "selfLink", "uid",
	"resourceVersion", "creationTimestamp", "namespace", "clusterName", "generation",
	"managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", NULL};
static const char *const STRIPPED_ANNOTATIONS[] = {
	"kubectl.kubernetes.io/last-applied-configuration", NULL};

static const char *const RESOURCES_FIELDS[] = {"kind", "enabled", "required", "stream",
	"transport", "restore", "resource", "names", "optional_names", "all",
	"strip_label_prefixes", "description", NULL};

static int resources_validate(const cJSON *spec, const char *name)
{
	const char *lists[] = {"names", "optional_names", "strip_label_prefixes"};
	size_t i;

	if (!tsarc_spec_str(spec, "resource"))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': a resources component needs "
			"\"resource\" (secret, configmap, apimanager, ...)", name);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(spec, lists[i]), *v;
		if (!arr)
			continue;
		if (!cJSON_IsArray(arr))
			return tsarc_error_set(TSARC_ECONFIG, "component '%s': %s must be an array of "
				"strings", name, lists[i]);
		cJSON_ArrayForEach(v, arr)
			if (!cJSON_IsString(v) || !v->valuestring[0])
				return tsarc_error_set(TSARC_ECONFIG, "component '%s': %s must be an "
					"array of non-empty strings", name, lists[i]);
	}
	if (!tsarc_spec_bool(spec, "all", 0) && !cJSON_GetArraySize(
		cJSON_GetObjectItemCaseSensitive(spec, "names")) && !cJSON_GetArraySize(
		cJSON_GetObjectItemCaseSensitive(spec, "optional_names")))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': give \"names\", "
			"\"optional_names\" or \"all\": true", name);
	return 0;
}

/* Removes the fields that belong to one cluster and would clash in another. */
cJSON *tsarc_resource_list_new(cJSON **items)
{
	cJSON *list = cJSON_CreateObject();

	if (!list || !cJSON_AddStringToObject(list, "apiVersion", "v1") ||
		!cJSON_AddStringToObject(list, "kind", "List") ||
		!(*items = cJSON_AddArrayToObject(list, "items"))) {
		cJSON_Delete(list);
		return NULL;
	}
	return list;
}

void tsarc_resource_sanitize(cJSON *doc, const cJSON *label_prefixes)
{
	cJSON *md = cJSON_GetObjectItemCaseSensitive(doc, "metadata"), *sub, *item, *next;
	size_t i;

	/* Wiped as they go: the last-applied annotation is the whole Secret
	 * again, as JSON text. */
	tsarc_secret_doc_delete_item(doc, "status");
	if (!cJSON_IsObject(md))
		return;
	for (i = 0; STRIPPED_METADATA[i]; i++)
		tsarc_secret_doc_delete_item(md, STRIPPED_METADATA[i]);
	sub = cJSON_GetObjectItemCaseSensitive(md, "annotations");
	for (i = 0; STRIPPED_ANNOTATIONS[i] && sub; i++)
		tsarc_secret_doc_delete_item(sub, STRIPPED_ANNOTATIONS[i]);
	if (cJSON_IsObject(sub) && !cJSON_GetArraySize(sub))
		cJSON_DeleteItemFromObjectCaseSensitive(md, "annotations");
	sub = cJSON_GetObjectItemCaseSensitive(md, "labels");
	if (cJSON_IsObject(sub) && cJSON_IsArray(label_prefixes)) {
		for (item = sub->child; item; item = next) {
			const cJSON *p;
			next = item->next;
			cJSON_ArrayForEach(p, label_prefixes)
				if (cJSON_IsString(p) &&
					!strncmp(item->string, p->valuestring, strlen(p->valuestring))) {
					cJSON_Delete(cJSON_DetachItemViaPointer(sub, item));
					break;
				}
		}
		if (!cJSON_GetArraySize(sub))
			cJSON_DeleteItemFromObjectCaseSensitive(md, "labels");
	}
}

typedef struct json_ctx {
	char *text;
	size_t len;
} json_ctx;

static void json_ctx_free(void *p)
{
	json_ctx *j = p;

	if (j) {
		if (j->text)
			tsarc_secure_free(j->text, j->len + 1); /* Secrets */
		free(j);
	}
}

static int json_writer(int fd, void *ctx, const atomic_int *stop, char *err, size_t errsz)
{
	json_ctx *j = ctx;
	size_t done = 0;

	while (done < j->len) {
		if (atomic_load(stop)) {
			snprintf(err, errsz, "stopped");
			return TSARC_ECANCELED;
		}
		ssize_t n = write(fd, j->text + done, j->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errsz, "writing the resources: %s", strerror(errno));
			return TSARC_EIO;
		}
		done += (size_t)n;
	}
	return 0;
}

static const char *item_name(const cJSON *doc)
{
	const char *n = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(doc, "metadata"), "name");
	return n ? n : "(unnamed)";
}

/* What goes into the snapshot is what a restore will accept: a kind and a
 * name Kubernetes allows (a hand-made resources_dir may hold anything). */
static int check_item(const tsarc_component *c, const cJSON *doc)
{
	const char *kind = tsarc_spec_str(doc, "kind");
	const char *name = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(doc, "metadata"), "name");

	if (tsarc_valid_kube_kind(kind) && tsarc_valid_kube_name(name))
		return 0;
	return tsarc_error_set(TSARC_EUNSAFE, "component '%s': a resource whose kind or name is "
		"not a Kubernetes one (kind %.64s, name %.253s)", c->name, kind ? kind : "(none)",
		name ? name : "(none)");
}

static int resources_prepare(tsarc_component *c, tsarc_production *out)
{
	const char *type = tsarc_spec_str(c->spec, "resource");
	const cJSON *prefixes = cJSON_GetObjectItemCaseSensitive(c->spec, "strip_label_prefixes");
	const char *lists[] = {"names", "optional_names"};
	/* kubectl apply -f takes a List as it takes one object. */
	cJSON *items = NULL, *list = tsarc_resource_list_new(&items);
	cJSON *got = cJSON_CreateArray(), *missing = cJSON_CreateArray();
	/* An undo backup's named objects the target lacks (component.h). */
	cJSON *missing_required = c->undo ? cJSON_CreateArray() : NULL;
	json_ctx *j = NULL;
	size_t l;
	int rc = 0;

	if (!list || !got || !missing || (c->undo && !missing_required) ||
		!(out->meta = cJSON_CreateObject()))
		goto oom;
	if (tsarc_spec_bool(c->spec, "all", 0)) {
		cJSON *all = NULL, *doc;
		rc = c->tr->get(c->tr, type, NULL, &all);
		if (rc == TSARC_ENOTFOUND) {
			/* Not installed (no such resource type, or no such directory):
			 * recorded as absent; required components fail, but for an
			 * undo backup (the target has none to put back). */
			if (c->required && !c->undo) {
				tsarc_error_prefix("component '%s'", c->name);
				goto fail;
			}
			cJSON_AddBoolToObject(out->meta, "absent", 1);
			cJSON_AddStringToObject(out->meta, "absent_reason", tsarc_error_last()->message);
			rc = 0;
		} else if (rc) {
			tsarc_error_prefix("component '%s'", c->name);
			goto fail;
		}
		while (all && (doc = cJSON_DetachItemFromArray(all, 0))) {
			if ((rc = check_item(c, doc))) {
				tsarc_secret_doc_free(doc);
				tsarc_secret_doc_free(all);
				goto fail;
			}
			tsarc_resource_sanitize(doc, prefixes);
			cJSON_AddItemToArray(got, cJSON_CreateString(item_name(doc)));
			cJSON_AddItemToArray(items, doc);
		}
		tsarc_secret_doc_free(all);
	}
	for (l = 0; l < 2; l++) {
		const cJSON *arr = cJSON_GetObjectItemCaseSensitive(c->spec, lists[l]), *n;
		cJSON_ArrayForEach(n, arr) {
			cJSON *doc = NULL;
			rc = c->tr->get(c->tr, type, n->valuestring, &doc);
			if (rc == TSARC_ENOTFOUND && (l == 1 || c->undo)) {
				/* Optional: e.g. mysql-main-conf is gone from 2.16 on.
				 * Or the target of an undo backup lacks it (a
				 * namespace emptied): its undo removes it again. */
				cJSON_AddItemToArray(l == 1 ? missing : missing_required,
					cJSON_CreateString(n->valuestring));
				tsarc_error_clear();
				rc = 0;
				continue;
			}
			if (rc) {
				tsarc_error_prefix("component '%s': %s %s", c->name, type, n->valuestring);
				goto fail;
			}
			if ((rc = check_item(c, doc))) {
				tsarc_secret_doc_free(doc);
				goto fail;
			}
			tsarc_resource_sanitize(doc, prefixes);
			cJSON_AddItemToArray(got, cJSON_CreateString(n->valuestring));
			cJSON_AddItemToArray(items, doc);
		}
	}
	cJSON_AddStringToObject(out->meta, "resource", type);
	cJSON_AddItemToObject(out->meta, "items", got);
	cJSON_AddItemToObject(out->meta, "missing_optional", missing);
	if (missing_required)
		cJSON_AddItemToObject(out->meta, "missing_required", missing_required);
	got = missing = missing_required = NULL;
	if (!(j = calloc(1, sizeof(*j))) || !(j->text = tsarc_secret_doc_print(list, 1, &j->len)))
		goto oom;
	out->writer = json_writer;
	out->writer_ctx = j;
	out->writer_ctx_free = json_ctx_free;
	out->version_text = "sanitized JSON List";
	out->secret = 1; /* Secrets; a ConfigMap costs no more, being small */
	tsarc_secret_doc_free(list);
	return 0;
oom:
	rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
fail:
	tsarc_secret_doc_free(list);
	cJSON_Delete(got);
	cJSON_Delete(missing);
	cJSON_Delete(missing_required);
	json_ctx_free(j);
	return rc;
}

/* Whether step `s` restores Secrets (the resource type of its component). */
static int is_secrets(const tsarc_step *s)
{
	const char *type = tsarc_spec_str(s->spec, "resource");

	return type && (!strcasecmp(type, "secret") || !strcasecmp(type, "secrets"));
}

/*
 * What the target's component and the restore allow, as the plain rules of
 * tsarc_resources_select. The one rule for what an apply leaves out of the
 * snapshot's List, used by the plan (--dry-run) and the run alike: the
 * recipe's never_apply (the 3scale profile: hashed-secret-data, derived by
 * the operator from the others) and, with --skip-endpoint-secrets, the
 * Secrets of the recipe's skip_when_migrating.
 */
static void rules_of(const tsarc_restore_ctx *r, const tsarc_step *s, tsarc_resources_rules *rules)
{
	memset(rules, 0, sizeof(*rules));
	rules->stream = s->st->name;
	rules->component = s->component;
	rules->type = tsarc_spec_str(s->spec, "resource");
	rules->meta_items = cJSON_GetObjectItemCaseSensitive(s->st->meta, "items");
	rules->all = tsarc_spec_bool(s->spec, "all", 0);
	rules->names = cJSON_GetObjectItemCaseSensitive(s->spec, "names");
	rules->optional_names = cJSON_GetObjectItemCaseSensitive(s->spec, "optional_names");
	rules->never_apply = cJSON_GetObjectItemCaseSensitive(s->recipe, "never_apply");
	if (r->o->skip_endpoint_secrets && is_secrets(s))
		rules->skip = cJSON_GetObjectItemCaseSensitive(s->recipe, "skip_when_migrating");
	rules->strip_label_prefixes = cJSON_GetObjectItemCaseSensitive(s->spec,
		"strip_label_prefixes");
	rules->domain_fields = cJSON_GetObjectItemCaseSensitive(s->recipe, "domain_fields");
	rules->rewrite_old = r->o->rewrite_old;
	rules->rewrite_new = r->o->rewrite_new;
	rules->target_keeps = cJSON_GetObjectItemCaseSensitive(s->recipe, "target_keeps");
	if (r->o->skip_endpoint_secrets && is_secrets(s))
		rules->endpoint_components = cJSON_GetObjectItemCaseSensitive(r->d->eff, "components");
}

static int endpoint_secret(tsarc_restore_ctx *r, const tsarc_step *s, const char *name);

/* --skip-endpoint-secrets: the Secrets of the List (*a) that hold endpoint
 * keys keep the target's values of them (resources_target.c); the target's
 * Secrets that say where a database is are read through `tr` (wiped
 * after). */
static int keep_endpoints(tsarc_restore_ctx *r, const tsarc_step *s, tsarc_transport *tr,
	const tsarc_resources_rules *rules, tsarc_resources_apply *a)
{
	cJSON *target = cJSON_CreateObject(), *item;
	int rc = target ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");

	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(a->list, "items")) {
		const char *name = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(item, "metadata"),
			"name");
		cJSON *own = NULL;
		if (rc)
			break;
		if (!name || !endpoint_secret(r, s, name))
			continue;
		if ((rc = tr->get(tr, rules->type, name, &own)) == TSARC_ENOTFOUND) {
			tsarc_error_clear(); /* its endpoint keys are left out */
			rc = 0;
		} else if (rc) {
			tsarc_error_prefix("component '%s': the target's Secret %s, whose endpoint "
				"keys --skip-endpoint-secrets keeps, could not be read", rules->component,
				name);
		} else if (!cJSON_AddItemToObject(target, name, own)) {
			tsarc_secret_doc_free(own);
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		}
	}
	if (!rc)
		rc = tsarc_resources_keep_endpoints(a, rules->endpoint_components, target);
	tsarc_secret_doc_free(target);
	return rc;
}

/* The target's objects of the rules' type into *out (an array; none:
 * empty), where its recipe has target_keeps (resources_target.c), read
 * through `tr`; else *out is NULL. Only such types are read whole: not
 * Secrets. */
static int target_objects(tsarc_transport *tr, const tsarc_resources_rules *rules, cJSON **out)
{
	int rc;

	*out = NULL;
	if (!rules->target_keeps)
		return 0;
	rc = tr->get(tr, rules->type, NULL, out);
	if (rc == TSARC_ENOTFOUND) {
		tsarc_error_clear();
		rc = 0;
	} else if (!rc && !cJSON_IsArray(*out)) {
		cJSON_Delete(*out);
		*out = NULL;
		rc = tsarc_error_set(TSARC_EIO, "component '%s': the target's %s objects were not "
			"read as a list", rules->component, rules->type);
	} else if (rc) {
		tsarc_error_prefix("component '%s': the target's %s objects, which the snapshot's "
			"is applied onto, could not be read", rules->component, rules->type);
	}
	if (!rc && !*out && !(*out = cJSON_CreateArray()))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return rc;
}

int tsarc_resources_left_out(const tsarc_resources_rules *rules, const char *name)
{
	return tsarc_str_in_array(rules->never_apply, name) ||
		tsarc_str_in_array(rules->skip, name);
}

/*
 * Whether the target's component takes object `name` of its type: one of
 * its names or optional_names, or any with "all". The snapshot says what
 * it holds; only the target's configuration says which objects of the
 * namespace belong to the deployment. Without this rule a snapshot's List
 * replaces any Secret of the namespace it names (another application's
 * credentials, a service account's token), as long as the kind is right.
 */
int tsarc_resources_takes(const tsarc_resources_rules *rules, const char *name)
{
	return rules->all || tsarc_str_in_array(rules->names, name) ||
		tsarc_str_in_array(rules->optional_names, name);
}

/* The refusal of objects the target does not take (`names`: one or more,
 * comma-separated), by the plan and the run alike. */
static int not_taken_error(const tsarc_resources_rules *rules, const char *names)
{
	return tsarc_error_set(TSARC_EUNSAFE, "component '%s': the snapshot's %s holds %s %s, "
		"which the target configuration's component does not name: a restore applies only "
		"the objects its \"names\" or \"optional_names\" list (or all of them with "
		"\"all\": true), since anything else the List names would be replaced in the target. "
		"Add it there to restore it; nothing of the List was applied", rules->component,
		rules->stream, rules->type, names);
}

/*
 * The restore of an undo snapshot (tsarc_snapshot_is_undo) puts the target
 * back as it was before the restore it undoes, and that includes removing
 * what that restore created: the undo backup recorded the names the target
 * did not have, optional ("missing_optional") and required
 * ("missing_required": a namespace emptied), and they are deleted. A
 * backup's snapshot never removes anything (a 2.16 snapshot lacks the
 * ConfigMaps of 2.15's in-pod databases, which a 2.15 target still uses).
 * Only Secrets and ConfigMaps: deleting a custom resource (an APIManager)
 * makes its operator delete what it deployed. The names come from the
 * repository: each is one the target's component lists (as optional for
 * missing_optional), that the recipe does not leave out and that the
 * stream does not hold.
 * *out: NULL when nothing is removed here, else the names (maybe none).
 */
static int undo_removals(const tsarc_restore_ctx *r, const tsarc_step *s,
	const tsarc_resources_rules *rules, cJSON **out)
{
	static const char *const keys[] = {"missing_optional", "missing_required"};
	const cJSON *it;
	size_t l;

	*out = NULL;
	if (!tsarc_snapshot_is_undo(r->snap) || !rules->type ||
		(strcasecmp(rules->type, "secret") && strcasecmp(rules->type, "secrets") &&
		strcasecmp(rules->type, "configmap") && strcasecmp(rules->type, "configmaps")))
		return 0;
	if (!(*out = cJSON_CreateArray()))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (l = 0; l < 2; l++)
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s->st->meta, keys[l])) {
			if (!cJSON_IsString(it) || !tsarc_valid_kube_name(it->valuestring)) {
				cJSON_Delete(*out);
				*out = NULL;
				return tsarc_error_set(TSARC_ECORRUPT, "stream %s of undo snapshot "
					"%.10s: its metadata's %s holds something that is not a "
					"Kubernetes name; nothing of it was applied or removed",
					rules->stream, r->snap->id, keys[l]);
			}
			if (!tsarc_str_in_array(l ? rules->names : rules->optional_names,
				    it->valuestring) ||
				tsarc_resources_left_out(rules, it->valuestring) ||
				tsarc_str_in_array(rules->meta_items, it->valuestring) ||
				tsarc_str_in_array(*out, it->valuestring))
				continue;
			cJSON_AddItemToArray(*out, cJSON_CreateString(it->valuestring));
		}
	return 0;
}

/*
 * What the restore of an undo snapshot leaves of what the restore it undoes
 * created, where undo_removals does not delete: objects of a type other
 * than Secrets and ConfigMaps (an APIManager) that the target has now and
 * did not have when the undo snapshot was taken (with "all": any of the
 * type its List lacks; else its missing_optional names). *out: "TYPE NAME"
 * each (maybe none), NULL when this is no undo snapshot's restore or a
 * removable type. Each also becomes a warning, which says why it stays.
 */
static int undo_left(tsarc_restore_ctx *r, const tsarc_step *s,
	const tsarc_resources_rules *rules, tsarc_transport *tr, cJSON **out)
{
	cJSON *now = NULL, *names = NULL;
	const cJSON *it;
	int rc;

	*out = NULL;
	if (!tsarc_snapshot_is_undo(r->snap) || !rules->type || !cJSON_IsArray(rules->meta_items))
		return 0;
	if ((rc = undo_removals(r, s, rules, &names)) || names) {
		cJSON_Delete(names);
		return rc;
	}
	if (!(*out = cJSON_CreateArray()))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (rules->all) {
		rc = tr->get(tr, rules->type, NULL, &now);
		if (rc == TSARC_ENOTFOUND) {
			tsarc_error_clear();
			rc = 0;
		}
	} else {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s->st->meta,
			    "missing_optional")) {
			cJSON *got = NULL;
			if (!cJSON_IsString(it) || !tsarc_valid_kube_name(it->valuestring) ||
				!tsarc_str_in_array(rules->optional_names, it->valuestring))
				continue;
			if (!now && !(now = cJSON_CreateArray()))
				return tsarc_error_set(TSARC_ENOMEM, "out of memory");
			rc = tr->get(tr, rules->type, it->valuestring, &got);
			if (rc == TSARC_ENOTFOUND) {
				tsarc_error_clear();
				rc = 0;
			} else if (!rc) {
				cJSON_AddItemToArray(now, got);
			} else {
				break;
			}
		}
	}
	cJSON_ArrayForEach(it, now) {
		const char *name = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(it, "metadata"),
			"name");
		char what[400], line[1024];
		if (rc || !name || !tsarc_valid_kube_name(name) ||
			tsarc_str_in_array(rules->meta_items, name))
			continue;
		snprintf(what, sizeof(what), "%s %s", rules->type, name);
		cJSON_AddItemToArray(*out, cJSON_CreateString(what));
		snprintf(line, sizeof(line), "%s was not in the target when undo snapshot %.10s was "
			"taken (the restore it undoes created it) and is left: deleting it would make "
			"its operator delete what it deployed; delete it by hand if the target is to "
			"have none", what, r->snap->id);
		cJSON_AddItemToArray(r->warnings, cJSON_CreateString(line));
	}
	tsarc_secret_doc_free(now);
	if (rc) {
		cJSON_Delete(*out);
		*out = NULL;
		tsarc_error_prefix("component '%s': what the restore undone created", s->component);
	}
	return rc;
}

/* Plan: every object the stream's metadata lists is one the target takes
 * (or one the recipe leaves out), before anything of the restore runs. */
static int server_check(tsarc_restore_ctx *r, const tsarc_step *s,
	const tsarc_resources_rules *rules);

/* How many objects of the stream's metadata the apply takes (not left out). */
static int taken_count(const tsarc_resources_rules *rules)
{
	const cJSON *it;
	int n = 0;

	cJSON_ArrayForEach(it, rules->meta_items)
		n += cJSON_IsString(it) && !tsarc_resources_left_out(rules, it->valuestring);
	return n;
}

/* Plan: a type the namespace holds one of, whose target holds several
 * (or the snapshot several), is refused before the first write, as the
 * run would refuse it at its step. */
static int target_admit(tsarc_restore_ctx *r, const tsarc_step *s,
	const tsarc_resources_rules *rules)
{
	tsarc_transport *tr;
	cJSON *target = NULL;
	int rc;

	if (!rules->target_keeps)
		return 0;
	if (!(rc = tsarc_step_transport(r, s->spec, &tr)) &&
		!(rc = target_objects(tr, rules, &target)))
		rc = tsarc_resources_target_check(target, taken_count(rules), rules);
	cJSON_Delete(target);
	return rc;
}

static int resources_admit(tsarc_restore_ctx *r, tsarc_step *s)
{
	tsarc_resources_rules rules;
	const cJSON *it;
	tsarc_buf refused = TSARC_BUF_INIT;
	int rc = 0;

	rules_of(r, s, &rules);
	cJSON_ArrayForEach(it, rules.meta_items) {
		if (!cJSON_IsString(it) || tsarc_resources_left_out(&rules, it->valuestring) ||
			tsarc_resources_takes(&rules, it->valuestring))
			continue;
		tsarc_buf_printf(&refused, "%s%s", refused.size ? ", " : "", it->valuestring);
	}
	/* A failed list may be empty: refused all the same. */
	if (!(rc = tsarc_buf_status(&refused)) && refused.size)
		rc = not_taken_error(&rules, (const char *)refused.ptr);
	tsarc_buf_dispose(&refused);
	if (!rc) {
		cJSON *removals = NULL;
		rc = undo_removals(r, s, &rules, &removals);
		cJSON_Delete(removals);
	}
	if (!rc)
		rc = target_admit(r, s, &rules);
	if (!rc)
		rc = server_check(r, s, &rules);
	return rc;
}

/* ---- restore: apply the List (Secrets, ConfigMaps, the APIManager) ---- */

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Whether an object in `v` (at any depth) has a key twice: 1 if so, -1
 * out of memory. cJSON keeps both and reads the first; kubectl reads the
 * last, so the kind, name or namespace checked here would not be the one
 * applied ({"kind": "Secret", ..., "kind": "ClusterRoleBinding"}), and
 * the sanitizer would strip only the first status or uid. Sorted, not
 * compared pairwise: a List of 64 MiB may have one object of millions
 * of keys.
 */
static int key_twice(const cJSON *v)
{
	const cJSON *c;
	const char **keys;
	size_t n = 0, i;
	int rc;

	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return 0;
	for (c = v->child; c; c = c->next, n++)
		if ((rc = key_twice(c)))
			return rc;
	if (!cJSON_IsObject(v) || n < 2)
		return 0;
	if (!(keys = malloc(n * sizeof(*keys))))
		return -1;
	for (i = 0, c = v->child; c; c = c->next)
		keys[i++] = c->string ? c->string : "";
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (rc = 0, i = 1; i < n && !rc; i++)
		rc = !strcmp(keys[i - 1], keys[i]);
	free(keys);
	return rc;
}

void tsarc_resources_apply_dispose(tsarc_resources_apply *a)
{
	if (!a)
		return;
	tsarc_secret_doc_free(a->list);
	cJSON_Delete(a->applied);
	cJSON_Delete(a->left_out);
	cJSON_Delete(a->rewritten);
	cJSON_Delete(a->applied_as);
	cJSON_Delete(a->endpoints_kept);
	memset(a, 0, sizeof(*a));
}

int tsarc_resources_parse(cJSON **doc, cJSON **items, const char *data, size_t len,
	const char *stream)
{
	*items = NULL;
	if (!(*doc = cJSON_ParseWithLength(data, len)) ||
		!cJSON_IsArray(*items = cJSON_GetObjectItemCaseSensitive(*doc, "items"))) {
		tsarc_secret_doc_free(*doc);
		*doc = NULL;
		*items = NULL;
		return tsarc_error_set(TSARC_ECORRUPT, "stream %s is not a resource List", stream);
	}
	return 0;
}

int tsarc_resources_item_check(const cJSON *item, const char *stream, const char **kind,
	const char **name, const char **api_version)
{
	const cJSON *api = cJSON_GetObjectItemCaseSensitive(item, "apiVersion");
	char text[80];
	int rc;

	*kind = tsarc_spec_str(item, "kind");
	*name = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(item, "metadata"), "name");
	if (!*kind || !*name)
		return tsarc_error_set(TSARC_ECORRUPT, "stream %s holds a resource without kind "
			"or name", stream);
	/* From the snapshot: only what Kubernetes itself would accept. */
	if (!tsarc_valid_kube_kind(*kind) || !tsarc_valid_kube_name(*name))
		return tsarc_error_set(TSARC_EUNSAFE, "stream %s holds a resource whose kind or "
			"name is not a Kubernetes one; nothing of it was applied", stream);
	if ((rc = key_twice(item)))
		return rc < 0 ? tsarc_error_set(TSARC_ENOMEM, "out of memory") :
			tsarc_error_set(TSARC_EUNSAFE, "stream %s holds %s %s with a key given "
			"twice, which kubectl would not read as it was checked; nothing of it was "
			"applied", stream, *kind, *name);
	/* The kind is a name within the apiVersion's group: without a
	 * well-formed one, which object kubectl would make is unknown. */
	*api_version = cJSON_IsString(api) ? api->valuestring : NULL;
	if (!api || !*api_version)
		return tsarc_error_set(TSARC_EUNSAFE, "stream %s holds %s %s %s: the apiVersion "
			"says which API group's %s it is; nothing of it was applied", stream, *kind,
			*name, api ? "with an apiVersion that is not a string" : "without an apiVersion",
			*kind);
	if (!tsarc_valid_kube_api_version(*api_version))
		return tsarc_error_set(TSARC_EUNSAFE, "stream %s holds %s %s with apiVersion \"%s\", "
			"which is not a Kubernetes one (VERSION of the core group or GROUP/VERSION, "
			"such as v1 or apps.3scale.net/v1alpha1); nothing of it was applied", stream,
			*kind, *name, tsarc_text_shown(*api_version, text, sizeof(text)));
	return 0;
}

/* The refusal of an object of the type's kind in another API group. */
static int group_error(const tsarc_resources_rules *rules, const char *kind, const char *name,
	const char *api)
{
	const char *group;
	char want[300];

	if (!tsarc_kube_type_group(rules->type, &group))
		snprintf(want, sizeof(want), "a group other than the core one (v1): a type "
			"without a group, but secret and configmap, names a custom resource");
	else if (!group[0])
		snprintf(want, sizeof(want), "apiVersion v1, the core group");
	else
		snprintf(want, sizeof(want), "group %.253s", group);
	return tsarc_error_set(TSARC_EUNSAFE, "stream %s holds %s %s of apiVersion %s, which "
		"component '%s' does not restore: its resource type %s takes %s, and kubectl "
		"would apply an object of that API group instead; nothing of it was applied",
		rules->stream, kind, name, api, rules->component, rules->type, want);
}

int tsarc_resources_select(tsarc_resources_apply *out, const char *data, size_t len,
	const tsarc_resources_rules *rules)
{
	cJSON *doc = NULL, *items, *out_items = NULL, *item, *next;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!(out->applied = cJSON_CreateArray()) || !(out->left_out = cJSON_CreateArray()) ||
		!(out->rewritten = cJSON_CreateArray()) ||
		!(out->applied_as = cJSON_CreateObject()) ||
		!(out->endpoints_kept = cJSON_CreateObject())) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	if (!rules->type) {
		rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': apply needs the \"resource\" "
			"type of the target configuration (secret, configmap, ...): it says which "
			"objects the stream may hold", rules->component);
		goto done;
	}
	if ((rc = tsarc_resources_parse(&doc, &items, data, len, rules->stream)))
		goto done;
	if (!(out->list = tsarc_resource_list_new(&out_items))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	for (item = items->child; item; item = next) {
		const char *kind, *name, *api;
		next = item->next;
		if ((rc = tsarc_resources_item_check(item, rules->stream, &kind, &name, &api)))
			goto done;
		/* Only objects of the component's own type: a List from the
		 * snapshot may hold anything `kubectl apply` takes, a
		 * ClusterRoleBinding or a Pod in a stream of Secrets. */
		if (!tsarc_kube_kind_of_type(kind, rules->type)) {
			rc = tsarc_error_set(TSARC_EUNSAFE, "stream %s holds a %s (%s), which is not a "
				"%s resource as component '%s' restores; nothing of it was applied",
				rules->stream, kind, name, rules->type, rules->component);
			goto done;
		}
		/* And of its API group: kind Secret of evil.example/v1 is
		 * whatever custom resource of the cluster has that kind. */
		if (!tsarc_kube_object_of_type(api, kind, rules->type)) {
			rc = group_error(rules, kind, name, api);
			goto done;
		}
		if (tsarc_resources_left_out(rules, name)) {
			cJSON_AddItemToArray(out->left_out, cJSON_CreateString(name));
			continue;
		}
		/* The plan admitted what the metadata lists; the List itself is
		 * held to the same rule, and to the metadata the plan showed. */
		if (!tsarc_resources_takes(rules, name)) {
			rc = not_taken_error(rules, name);
			goto done;
		}
		if (cJSON_IsArray(rules->meta_items) && !tsarc_str_in_array(rules->meta_items, name)) {
			rc = tsarc_error_set(TSARC_EUNSAFE, "stream %s holds %s %s, which its metadata "
				"does not list (the plan did not show it); nothing of it was applied",
				rules->stream, kind, name);
			goto done;
		}
		item = cJSON_DetachItemViaPointer(items, item);
		/* In the List from here: a failed rewrite's item is wiped with it. */
		cJSON_AddItemToArray(out_items, item);
		/* Sanitized again: a snapshot from an older tsarc (or --stdin)
		 * may carry fields that clash in the target. */
		tsarc_resource_sanitize(item, rules->strip_label_prefixes);
		if ((rc = tsarc_rewrite_resource(item, rules->domain_fields, rules->rewrite_old,
			     rules->rewrite_new, out->rewritten)))
			goto done;
		cJSON_AddItemToArray(out->applied, cJSON_CreateString(name));
	}
done:
	tsarc_secret_doc_free(doc);
	if (rc)
		tsarc_resources_apply_dispose(out);
	return rc;
}

/* The List step `s` applies into *a (the snapshot's stream, read into
 * *m, selected, sanitized and rewritten by `rules`) and the transport it
 * goes through into *tr. *m holds Secrets: the caller disposes of it
 * (wiped), and of *a. */
static int list_to_apply(tsarc_restore_ctx *r, const tsarc_step *s,
	const tsarc_resources_rules *rules, tsarc_transport **tr, tsarc_buf *m,
	tsarc_resources_apply *a)
{
	int rc;

	memset(a, 0, sizeof(*a));
	/* The kinds it may apply are its component's type (select). */
	if (!rules->type)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': apply needs the \"resource\" "
			"type of the target configuration (secret, configmap, ...): it says which "
			"objects the stream may hold", s->component);
	if ((rc = tsarc_step_transport(r, s->spec, tr)) ||
		(rc = tsarc_restore_read_stream(r, s->st, TSARC_RESOURCES_MAX, m)) ||
		(rc = tsarc_resources_select(a, (const char *)m->ptr, m->size, rules)))
		return rc;
	if (rules->endpoint_components && (rc = keep_endpoints(r, s, *tr, rules, a))) {
		tsarc_resources_apply_dispose(a);
		return rc;
	}
	/* A type the namespace holds one of: onto the target's own. */
	if (rules->target_keeps) {
		cJSON *target = NULL;
		if ((rc = target_objects(*tr, rules, &target)) ||
			(rc = tsarc_resources_onto_target(a, target, rules)))
			tsarc_resources_apply_dispose(a);
		cJSON_Delete(target);
	}
	return rc;
}

/* Plan: the List the step will apply, put to the target's API server
 * with nothing stored (the transport's check_apply: kubectl apply
 * --dry-run=server), before the restore's first write. kubectl applies a
 * List object by object and goes on past one the server refuses (an
 * immutable Secret whose data would change, an admission policy, a
 * quota, a name the restore Role does not grant): found only at the
 * step, the others would already be the snapshot's, the refused one the
 * target's, and the steps before applied. What the server refuses now
 * stops the restore with nothing written. */
static int server_check(tsarc_restore_ctx *r, const tsarc_step *s,
	const tsarc_resources_rules *rules)
{
	tsarc_buf m = TSARC_BUF_INIT;
	tsarc_resources_apply a;
	tsarc_transport *tr = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	/* A transport with no server to ask: nothing to read either. A plan
	 * of a snapshot's metadata alone (no repository: fuzz_config's dry
	 * runs) has no List to show it. */
	if ((rc = tsarc_step_transport(r, s->spec, &tr)) || !tr->check_apply || !r->repo)
		return rc;
	if (!(rc = list_to_apply(r, s, rules, &tr, &m, &a)) &&
		cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(a.list, "items")) &&
		(rc = tr->check_apply(tr, a.list, r->o->target_namespace)))
		tsarc_error_prefix("component '%s': the target's API server refuses what the "
			"restore would apply (its List of %s objects, asked with nothing stored, "
			"before the first write); nothing was written", s->component, rules->type);
	tsarc_buf_dispose(&m); /* wiped: Secrets */
	tsarc_resources_apply_dispose(&a);
	return rc;
}

/* kind.h: the object a pending resources step before `s` applies, as
 * its apply sends it (list_to_apply). */
int tsarc_restore_applied_before(tsarc_restore_ctx *r, const tsarc_step *s, const char *type,
	const char *name, cJSON **out, const tsarc_step **by)
{
	const tsarc_step *t;
	int rc = TSARC_ENOTFOUND;

	*out = NULL;
	*by = NULL;
	for (t = r->steps; rc == TSARC_ENOTFOUND && r->repo && t < s; t++) {
		tsarc_buf m = TSARC_BUF_INIT;
		tsarc_resources_rules rules;
		tsarc_resources_apply a;
		tsarc_transport *tr;
		const cJSON *it;
		if (t->state != TSARC_STEP_PENDING || !t->impl ||
			t->impl->target != TSARC_TARGET_RESOURCES || !t->st)
			continue;
		rules_of(r, t, &rules);
		if (!rules.type || strcmp(rules.type, type) || !tsarc_resources_takes(&rules, name) ||
			tsarc_resources_left_out(&rules, name))
			continue;
		if (!(rc = list_to_apply(r, t, &rules, &tr, &m, &a)))
			rc = TSARC_ENOTFOUND;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(a.list, "items"))
			if (rc == TSARC_ENOTFOUND && !strcmp(item_name(it), name)) {
				rc = (*out = cJSON_Duplicate(it, 1)) ? 0 :
					tsarc_error_set(TSARC_ENOMEM, "out of memory");
				*by = t;
			}
		tsarc_buf_dispose(&m); /* wiped: Secrets */
		tsarc_resources_apply_dispose(&a);
	}
	return rc;
}

static int resources_restore(tsarc_restore_ctx *r, tsarc_step *s)
{
	tsarc_buf m = TSARC_BUF_INIT;
	tsarc_resources_rules rules;
	tsarc_resources_apply a;
	tsarc_transport *tr;
	cJSON *removed = NULL, *left = NULL;
	const cJSON *it;
	int rc;

	rules_of(r, s, &rules);
	if ((rc = list_to_apply(r, s, &rules, &tr, &m, &a)))
		goto done;
	if ((rc = undo_removals(r, s, &rules, &removed)))
		goto done;
	if (cJSON_GetArraySize(removed) && !tr->remove) {
		rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': transport %s cannot remove "
			"resources, which the restore of an undo snapshot does", s->component, tr->type);
		goto done;
	}
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(a.list, "items")) &&
		(rc = tr->apply(tr, a.list, r->o->target_namespace)))
		goto done;
	cJSON_ArrayForEach(it, removed)
		if ((rc = tr->remove(tr, rules.type, it->valuestring, r->o->target_namespace))) {
			tsarc_error_prefix("component '%s': %s %s, which the target did not have "
				"before the restore undone, could not be removed", s->component,
				rules.type, it->valuestring);
			goto done;
		}
	/* Only what the report says: the restore itself is done. */
	if (undo_left(r, s, &rules, tr, &left)) {
		char line[1024];
		snprintf(line, sizeof(line), "whether the restore undone created objects that are "
			"left could not be checked: %s", tsarc_error_last()->message);
		cJSON_AddItemToArray(r->warnings, cJSON_CreateString(line));
		tsarc_error_clear();
	}
	if (cJSON_GetArraySize(removed))
		tsarc_step_note(s, "%d applied, %d left out, %d removed (not there before the "
			"restore undone)", cJSON_GetArraySize(a.applied), cJSON_GetArraySize(a.left_out),
			cJSON_GetArraySize(removed));
	else
		tsarc_step_note(s, "%d applied, %d left out", cJSON_GetArraySize(a.applied),
			cJSON_GetArraySize(a.left_out));
	s->detail = cJSON_CreateObject();
	cJSON_AddItemToObject(s->detail, "applied", a.applied);
	cJSON_AddItemToObject(s->detail, "left_out", a.left_out);
	cJSON_AddItemToObject(s->detail, "rewritten", a.rewritten);
	if (cJSON_GetArraySize(a.applied_as)) {
		cJSON_AddItemToObject(s->detail, "applied_as", a.applied_as);
		a.applied_as = NULL;
	}
	if (cJSON_GetArraySize(a.endpoints_kept)) {
		cJSON_AddItemToObject(s->detail, "endpoint_keys_kept", a.endpoints_kept);
		a.endpoints_kept = NULL;
	}
	if (removed)
		cJSON_AddItemToObject(s->detail, "removed", removed);
	if (left)
		cJSON_AddItemToObject(s->detail, "left", left);
	a.applied = a.left_out = a.rewritten = removed = left = NULL;
done:
	tsarc_buf_dispose(&m); /* wiped: Secrets */
	tsarc_resources_apply_dispose(&a);
	cJSON_Delete(removed);
	cJSON_Delete(left);
	return rc;
}

/* ---- plan ---- */

static void resources_describe(tsarc_restore_ctx *r, const tsarc_step *s, const char *where,
	cJSON *plan)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(s->st->meta, "items");
	cJSON *repl = cJSON_CreateArray(), *create = cJSON_CreateArray();
	cJSON *left = cJSON_CreateArray();
	const cJSON *it;
	const char *rtype = tsarc_spec_str(s->spec, "resource");
	tsarc_resources_rules rules;
	cJSON *removes = NULL, *target = NULL, *as = NULL, *kept = NULL;
	const char *own = NULL;

	rules_of(r, s, &rules);
	/* A type the namespace holds one of: applied onto the target's own
	 * (admitted: the target holds at most one, the List one then). */
	if (!target_objects(r->deftr, &rules, &target) && cJSON_GetArraySize(target) == 1) {
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(target, 0),
			"metadata");
		const cJSON *p;
		own = tsarc_spec_str(md, "name");
		as = cJSON_AddObjectToObject(plan, "applied_as");
		kept = cJSON_AddArrayToObject(plan, "kept_from_target");
		cJSON_ArrayForEach(p, rules.target_keeps)
			if (cJSON_IsString(p) && tsarc_valid_keep_path(p->valuestring))
				cJSON_AddItemToArray(kept, cJSON_CreateString(p->valuestring));
	}
	tsarc_error_clear();
	cJSON_ArrayForEach(it, items) {
		cJSON *got = NULL;
		if (!cJSON_IsString(it))
			continue;
		if (tsarc_resources_left_out(&rules, it->valuestring)) {
			cJSON_AddItemToArray(left, cJSON_CreateString(it->valuestring));
			continue;
		}
		if (own) {
			cJSON_AddItemToArray(repl, cJSON_CreateString(own));
			if (strcmp(own, it->valuestring))
				cJSON_AddStringToObject(as, it->valuestring, own);
			continue;
		}
		/* Read-only look: does the target have it (replace) or not (create)? */
		if (rtype && r->deftr->get(r->deftr, rtype, it->valuestring, &got) == 0)
			cJSON_AddItemToArray(repl, cJSON_CreateString(it->valuestring));
		else
			cJSON_AddItemToArray(create, cJSON_CreateString(it->valuestring));
		tsarc_secret_doc_free(got); /* the target's Secret */
	}
	cJSON_AddStringToObject(plan, "target", where);
	cJSON_AddItemToObject(plan, "replaces", repl);
	cJSON_AddItemToObject(plan, "creates", create);
	cJSON_AddItemToObject(plan, "left_out", left);
	/* --skip-endpoint-secrets: the keys of a Secret applied that stay the
	 * target's (zync's database URL and password). */
	if (rules.endpoint_components) {
		cJSON *ekeys = cJSON_AddObjectToObject(plan, "endpoint_keys_kept");
		cJSON_ArrayForEach(it, items) {
			cJSON *keys;
			if (!ekeys || !cJSON_IsString(it) ||
				tsarc_resources_left_out(&rules, it->valuestring))
				continue;
			keys = cJSON_CreateArray();
			if (keys && !tsarc_resources_endpoint_keys(rules.endpoint_components,
					    it->valuestring, keys) &&
				cJSON_GetArraySize(keys) && cJSON_AddItemToObject(ekeys, it->valuestring, keys))
				continue;
			cJSON_Delete(keys);
		}
		tsarc_error_clear();
	}
	/* The plan was admitted: a failure here is out of memory. */
	if (!undo_removals(r, s, &rules, &removes) && removes) {
		cJSON *there = cJSON_CreateArray();
		cJSON_ArrayForEach(it, removes) {
			cJSON *got = NULL;
			if (there && rtype && r->deftr->get(r->deftr, rtype, it->valuestring, &got) == 0)
				cJSON_AddItemToArray(there, cJSON_CreateString(it->valuestring));
			tsarc_secret_doc_free(got);
		}
		tsarc_error_clear();
		cJSON_AddItemToObject(plan, "removes", there);
	}
	cJSON_Delete(removes);
	cJSON_Delete(target);
}

/* Whether Secret `name` says where a database is: a url_secret of a
 * component of the target, or in a recipe's skip_when_migrating. */
static int endpoint_secret(tsarc_restore_ctx *r, const tsarc_step *s, const char *name)
{
	const cJSON *comps = cJSON_GetObjectItemCaseSensitive(r->d->eff, "components"), *c;

	if (tsarc_str_in_array(cJSON_GetObjectItemCaseSensitive(s->recipe, "skip_when_migrating"),
		    name))
		return 1;
	cJSON_ArrayForEach(c, comps) {
		const char *us = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(c, "url_secret"),
			"secret");
		if (us && !strcmp(us, name))
			return 1;
	}
	return 0;
}

/* A migration that applies the snapshot's endpoint Secrets leaves the
 * target's workloads pointed at the source's databases: tsarc itself
 * writes where it resolved before, but the operator must know. */
static void resources_warn_migration(tsarc_restore_ctx *r, const tsarc_step *s)
{
	const cJSON *it;

	if (r->o->skip_endpoint_secrets || !is_secrets(s))
		return;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s->st->meta, "items")) {
		char line[512];
		if (!cJSON_IsString(it) || !endpoint_secret(r, s, it->valuestring))
			continue;
		snprintf(line, sizeof(line), "Secret %s is replaced by the snapshot's copy, which "
			"names the source's endpoint: the target's workloads will read it after the "
			"restore (--skip-endpoint-secrets keeps the target's own)", it->valuestring);
		cJSON_AddItemToArray(r->warnings, cJSON_CreateString(line));
	}
}

const tsarc_kind tsarc_kind_resources = {
	.name = "resources", .extension = ".json", .action = "apply", .action_for_any_kind = 1,
	.target = TSARC_TARGET_RESOURCES, .fields = RESOURCES_FIELDS,
	.validate = resources_validate,
	.dump = resources_prepare, .describe = resources_describe, .admit = resources_admit,
	.warn_migration = resources_warn_migration, .restore = resources_restore};
