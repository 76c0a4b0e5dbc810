#ifndef TSARC_RESOURCES_H
#define TSARC_RESOURCES_H

/*
 * Which objects of a snapshot's resource List an apply sends to the
 * cluster (the restore of the resources kind, resources.c).
 *
 * The List is the snapshot's: whoever can write the repository writes it,
 * and `kubectl apply` creates or replaces whatever it names. The decision
 * is kept here, apart from the transport and the restore context, as a
 * function of plain inputs, so that it can be fuzzed on its own
 * (tests/fuzz/fuzz_resources.c) and used by the plan and the run alike.
 *
 * What tsarc_resources_select guarantees, whatever the bytes: either an
 * error with a message (TSARC_ECORRUPT for what is not a List of objects
 * with a kind and a name, TSARC_EUNSAFE for objects it refuses; then
 * nothing of the List is to be applied), or a List in which every item
 * - has a Kubernetes kind (tsarc_valid_kube_kind) and apiVersion
 *   (tsarc_valid_kube_api_version) of the rules' resource type, its group
 *   too (tsarc_kube_object_of_type: v1 for a Secret, not evil.example/v1),
 *   and a Kubernetes name (tsarc_valid_kube_name),
 * - is one the target takes (its "names", "optional_names" or "all") and
 *   the stream's metadata lists (when it has an "items" array), and not
 *   one the recipe leaves out (those are named in left_out instead),
 * - holds none of what the sanitizer strips (tsarc_resource_sanitize:
 *   status, the server-owned metadata, the last-applied annotation,
 *   labels of strip_label_prefixes),
 * and its domain rewritten in the recipe's domain_fields.
 */
#include <stddef.h>

#include <cjson/cJSON.h>

/* What the target's configuration, the restore's options and the
 * stream's metadata allow, as plain values (none is freed). */
typedef struct tsarc_resources_rules {
	const char *stream;    /* the stream's name, for messages */
	const char *component; /* the target's component, for messages */
	const char *type;      /* its resource type: secret, configmap, ... */
	/* The stream metadata's "items": what the plan showed. Not an array:
	 * no such check (metadata of an older tsarc). */
	const cJSON *meta_items;
	/* What the target takes: any object with `all`, else those named in
	 * `names` or `optional_names` (arrays of strings, may be NULL). */
	int all;
	const cJSON *names, *optional_names;
	/* What an apply leaves out (arrays of strings, may be NULL): the
	 * recipe's never_apply, and `skip` its skip_when_migrating when
	 * --skip-endpoint-secrets applies (Secrets), else NULL. */
	const cJSON *never_apply, *skip;
	const cJSON *strip_label_prefixes; /* the component's, may be NULL */
	/* --rewrite-domain OLD=NEW (NULL: none) in the recipe's domain_fields. */
	const cJSON *domain_fields;
	const char *rewrite_old, *rewrite_new;
	/* The recipe's target_keeps (NULL: none): the namespace holds one
	 * object of the type, and these fields of it are the target's
	 * (resources_target.c). */
	const cJSON *target_keeps;
	/* With --skip-endpoint-secrets, of a Secrets step: the target's
	 * components, whose url_secret names the keys of a Secret that say
	 * where a database is (NULL otherwise). */
	const cJSON *endpoint_components;
} tsarc_resources_rules;

/* What an apply sends, and what it says about it. */
typedef struct tsarc_resources_apply {
	cJSON *list;      /* a v1 List of the objects to apply (Secrets) */
	cJSON *applied;   /* their names, in order */
	cJSON *left_out;  /* names of the objects the recipe leaves out */
	cJSON *rewritten; /* "Kind name: field" of each field rewritten */
	/* {"snapshot's name": "the target's"} of an object applied onto the
	 * target's own under its name (tsarc_resources_onto_target). */
	cJSON *applied_as;
	/* {"Secret": [keys]} whose values are the target's
	 * (tsarc_resources_keep_endpoints). */
	cJSON *endpoints_kept;
} tsarc_resources_apply;

/* Reads the List in `data` (`len` bytes) and decides, as above. On
 * success *out is the caller's (tsarc_resources_apply_dispose); on
 * failure it holds nothing. */
int tsarc_resources_select(tsarc_resources_apply *out, const char *data, size_t len,
	const tsarc_resources_rules *rules);
/* The checks every reader of a snapshot's List makes (the apply above,
 * and the restore that reads a database's Secret out of it, target.c),
 * each with its error and message: `data` parses to an object with an
 * "items" array (*doc, the caller's to free with tsarc_secret_doc_free;
 * *items in it), else TSARC_ECORRUPT; and each item has a kind and a
 * name (TSARC_ECORRUPT), Kubernetes ones (TSARC_EUNSAFE), no object in
 * it a key twice (TSARC_EUNSAFE: cJSON reads the first, kubectl the
 * last), and a Kubernetes apiVersion (TSARC_EUNSAFE), *kind, *name and
 * *api_version then pointing into it. Which group the type wants is the
 * caller's check (tsarc_kube_object_of_type). */
int tsarc_resources_parse(cJSON **doc, cJSON **items, const char *data, size_t len,
	const char *stream);
int tsarc_resources_item_check(const cJSON *item, const char *stream, const char **kind,
	const char **name, const char **api_version);
/* Frees what *a holds (the List wiped: Secrets); accepts NULL. */
void tsarc_resources_apply_dispose(tsarc_resources_apply *a);

/* With the rules' target_keeps: refuses (TSARC_ECONFIG, naming them)
 * `target`, the target's objects of the type (an array, may be NULL),
 * when it holds several, or one while the snapshot's List holds `nitems`
 * above one; TSARC_EUNSAFE for a target object without a name. The plan
 * asks it before the first write, the run again. */
int tsarc_resources_target_check(const cJSON *target, int nitems,
	const tsarc_resources_rules *rules);
/* With the rules' target_keeps and one object in `target`: the List's
 * object (*a from tsarc_resources_select) applied onto it, under its name
 * (a->applied and a->applied_as say so) and with the target_keeps fields
 * the target's, or removed where the target has none. Nothing without
 * target_keeps or a target object. */
int tsarc_resources_onto_target(tsarc_resources_apply *a, const cJSON *target,
	const tsarc_resources_rules *rules);

/* The keys of Secret `name` that say where a database is: every string of
 * each of `components`' url_secret naming it (key, user_key, password_key,
 * queues_key, the tls keys), added to the array `keys` once. */
int tsarc_resources_endpoint_keys(const cJSON *components, const char *name, cJSON *keys);
/* --skip-endpoint-secrets for a Secret that holds more than an endpoint
 * (zync's: its settings and its database's URL and password): each Secret
 * of the List (*a) with endpoint keys gets the target's values of them,
 * from `target` ({"name": the target's Secret}; a Secret or key the target
 * lacks: the key removed), and a->endpoints_kept says which. */
int tsarc_resources_keep_endpoints(tsarc_resources_apply *a, const cJSON *components,
	const cJSON *target);

/* The one rule for what an apply leaves out, by the plan and the run. */
int tsarc_resources_left_out(const tsarc_resources_rules *rules, const char *name);
/* Whether the target's component takes object `name` of its type. */
int tsarc_resources_takes(const tsarc_resources_rules *rules, const char *name);

#endif
