/*
 * The resource List a restore applies (the resources kind: Secrets,
 * ConfigMaps, the APIManager), as the snapshot holds it: whoever can write
 * the repository writes it, and `kubectl apply` creates in the target
 * cluster whatever it names. tsarc_resources_select (resources.h) decides
 * what of it is applied. Whatever the bytes, it must either refuse them
 * (TSARC_ECORRUPT or TSARC_EUNSAFE, with a message, and nothing to apply),
 * or give a List whose every item, by this target's own rules:
 * - has exactly one kind, a Kubernetes kind of the component's resource
 *   type, exactly one apiVersion, of the type's API group (exactly v1 for
 *   Secrets and ConfigMaps, apps.3scale.net/VERSION for APIManagers: any
 *   CRD may have kind Secret in its own group), and exactly one metadata
 *   with exactly one name, a Kubernetes name (no '/', not an option, not
 *   a path step);
 * - is listed in the stream's metadata (when it has items), taken by the
 *   target's configuration (names, optional_names or all) and not one
 *   the recipe leaves out;
 * - holds none of the fields the sanitizer strips (status, the
 *   server-owned metadata, the last-applied annotation, labels of
 *   strip_label_prefixes), under any spelling cJSON keeps (a key twice).
 * An APIManager List that passes is applied onto a target's own
 * (tsarc_resources_onto_target): refused with a message when it holds
 * several, else its one object carries the target's name and the target's
 * target_keeps fields (a field the target lacks gone), its kind and
 * apiVersion as checked.
 * The first two bytes choose the resource type and the options (all,
 * metadata items, --skip-endpoint-secrets, label prefixes, the domain
 * rewrite and its fields); the rest is the List. Known answers are checked
 * on the first call, so a parser that accepts or refuses everything fails.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "component.h"
#include "resources.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A resources stream is read up to 64 MiB; a fuzzer's input is small. */
#define INPUT_MAX (256u * 1024u)

/* Resource types as a configuration names them, the kind each applies,
 * in lower case, and its API group ("": the core group, apiVersion v1). */
static const struct {
	const char *type, *kind, *group;
} TYPES[] = {
	{"secret", "secret", ""},
	{"configmaps", "configmap", ""},
	{"apimanagers.apps.3scale.net", "apimanager", "apps.3scale.net"},
	{"secrets", "secret", ""},
};

/* Options: bits 0-5 of the second byte (so that '@'..'\x7e' spell them
 * all in a seed), and the first's bit 2 (its bits 0-1 are the type). */
enum {
	OPT_ALL = 1,          /* the target takes every object ("all": true) */
	OPT_META_ITEMS = 2,   /* the stream's metadata lists its items */
	OPT_SKIP = 4,         /* --skip-endpoint-secrets */
	OPT_LABELS = 8,       /* strip_label_prefixes */
	OPT_REWRITE = 16,     /* --rewrite-domain, to a longer domain */
	OPT_NAME_FIELDS = 32, /* domain_fields naming the kind and the name too */
	OPT_SHORTER = 64,     /* --rewrite-domain, to a shorter domain */
};

#define PREFIX "secret.apimanager.apps.3scale.net/"

static cJSON *g_names, *g_optional, *g_meta_items, *g_never, *g_skip, *g_prefixes;
static cJSON *g_fields, *g_name_fields, *g_target, *g_keeps, *g_components, *g_zync;

static const char *const STRIPPED_METADATA[] = {"ownerReferences", "selfLink", "uid",
	"resourceVersion", "creationTimestamp", "namespace", "clusterName", "generation",
	"managedFields", "deletionTimestamp", "deletionGracePeriodSeconds", NULL};

static cJSON *strings(const char *const *v)
{
	cJSON *arr = cJSON_CreateArray();

	for (; arr && *v; v++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(*v));
	if (!arr)
		abort();
	return arr;
}

static void setup(void)
{
	/* The 3scale profile's Secrets and ConfigMaps. */
	static const char *const names[] = {"system-smtp", "system-seed", "system-database",
		"backend-internal-api", "system-events-hook", "system-app", "system-redis", "zync",
		"system-master-apicast", "backend-listener", "backend-redis", "system-memcache",
		"system-environment", "apicast-environment", "backend-environment", "system", NULL};
	static const char *const optional[] = {"system-recaptcha", "mysql-extra-conf",
		"mysql-main-conf", "redis-config", NULL};
	/* What the stream's metadata lists: all of those but system-memcache,
	 * the derived Secret, the APIManager, and a Secret the target does
	 * not take. */
	static const char *const meta[] = {"system-smtp", "system-seed", "system-database",
		"backend-internal-api", "system-events-hook", "system-app", "system-redis", "zync",
		"system-master-apicast", "backend-listener", "backend-redis", "system-environment",
		"apicast-environment", "backend-environment", "system", "system-recaptcha",
		"mysql-extra-conf", "mysql-main-conf", "redis-config", "hashed-secret-data", "3scale",
		"other-app-credentials", NULL};
	static const char *const never[] = {"hashed-secret-data", NULL};
	static const char *const skip[] = {"system-database", "backend-redis", "system-redis",
		"system-memcache", NULL};
	static const char *const prefixes[] = {PREFIX, NULL};
	static const char *const fields[] = {"data.*", "spec.wildcardDomain",
		"data.THREESCALE_SUPERDOMAIN", NULL};
	static const char *const name_fields[] = {"metadata.name", "kind", "data.*",
		"metadata.namespace", "spec.wildcardDomain", NULL};
	static const char *const keeps[] = {"spec.externalComponents", "spec.highAvailability",
		"spec.system.fileStorage", NULL};

	g_names = strings(names);
	g_optional = strings(optional);
	g_meta_items = strings(meta);
	g_never = strings(never);
	g_skip = strings(skip);
	g_prefixes = strings(prefixes);
	g_fields = strings(fields);
	g_name_fields = strings(name_fields);
	g_keeps = strings(keeps);
	/* A target's APIManager: external databases, files on a volume, no
	 * highAvailability. */
	g_target = cJSON_Parse("[{\"apiVersion\": \"apps.3scale.net/v1alpha1\", \"kind\": "
		"\"APIManager\", \"metadata\": {\"name\": \"apimanager-sample\"}, \"spec\": {"
		"\"externalComponents\": {\"system\": {\"database\": true}}, \"system\": {"
		"\"fileStorage\": {\"persistentVolumeClaim\": {}}}}}]");
	/* A url_secret naming zync's endpoint keys, and the target's zync. */
	g_components = cJSON_Parse("{\"zync-database\": {\"url_secret\": {\"secret\": \"zync\", "
		"\"key\": \"DATABASE_URL\", \"password_key\": \"ZYNC_DATABASE_PASSWORD\", \"tls\": "
		"{\"ca\": \"DB_SSL_CA\"}}}}");
	g_zync = cJSON_Parse("{\"zync\": {\"data\": {\"DATABASE_URL\": \"dGFyZ2V0\", "
		"\"SECRET_KEY_BASE\": \"dGFyZ2V0\"}}}");
	if (!g_keeps || !g_target || !g_components || !g_zync)
		abort();
}

static void rules_for(tsarc_resources_rules *r, unsigned type, unsigned opts)
{
	memset(r, 0, sizeof(*r));
	r->stream = "secrets.json";
	r->component = "secrets";
	r->type = TYPES[type & 3].type;
	r->meta_items = opts & OPT_META_ITEMS ? g_meta_items : NULL;
	r->all = !!(opts & OPT_ALL);
	r->names = g_names;
	r->optional_names = g_optional;
	r->never_apply = g_never;
	r->skip = opts & OPT_SKIP ? g_skip : NULL;
	r->strip_label_prefixes = opts & OPT_LABELS ? g_prefixes : NULL;
	r->domain_fields = opts & OPT_NAME_FIELDS ? g_name_fields : g_fields;
	if (opts & (OPT_REWRITE | OPT_SHORTER)) {
		r->rewrite_old = "apps.3scale.test";
		r->rewrite_new = opts & OPT_SHORTER ? "b.test" : "apps.other-cluster.3scale.test";
	}
}

static int in(const cJSON *arr, const char *s)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, arr)
		if (cJSON_IsString(v) && !strcmp(v->valuestring, s))
			return 1;
	return 0;
}

/* [A-Za-z][A-Za-z0-9]*, up to 63 characters, and the type's kind (or
 * its first label as it is, letter case aside: "Secrets" of "secrets"). */
static void must_be_kind(const cJSON *v, const char *kind, const char *type)
{
	const char *s;
	size_t i;

	if (!cJSON_IsString(v))
		abort();
	s = v->valuestring;
	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')) || strlen(s) > 63)
		abort();
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= '0' && s[i] <= '9')))
			abort();
	if (strcasecmp(s, kind) && strncasecmp(s, type, strlen(s) > strcspn(type, ".") ?
		    strlen(s) : strcspn(type, ".")))
		abort();
}

/* An apiVersion of `group`: "v1" for the core group (""), else
 * GROUP/VERSION with VERSION v<digits>[alpha|beta<digits>]. */
static void must_be_api_version(const cJSON *v, const char *group)
{
	const char *s;
	size_t n = strlen(group);

	if (!cJSON_IsString(v))
		abort();
	s = v->valuestring;
	if (!n) {
		if (strcmp(s, "v1"))
			abort();
		return;
	}
	if (strncasecmp(s, group, n) || s[n] != '/' || s[n + 1] != 'v')
		abort();
	s += n + 2;
	if (!(*s >= '0' && *s <= '9'))
		abort();
	while (*s >= '0' && *s <= '9')
		s++;
	if (!strncmp(s, "alpha", 5) || !strncmp(s, "beta", 4)) {
		s += *s == 'a' ? 5 : 4;
		if (!(*s >= '0' && *s <= '9'))
			abort();
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s)
		abort();
}

/* Lower-case letters, digits, '-' and '.', starting and ending with a
 * letter or digit, no empty step: not an option, not a path. */
static void must_be_name(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > 253 || s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.' ||
		strstr(s, "..") || strstr(s, ".-") || strstr(s, "-."))
		abort();
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			    s[i] == '.'))
			abort();
}

/* Every child of `obj` called `key`, counted. */
static int count(const cJSON *obj, const char *key)
{
	const cJSON *c;
	int n = 0;

	for (c = obj ? obj->child : NULL; c; c = c->next)
		if (c->string && !strcmp(c->string, key))
			n++;
	return n;
}

/* One item of an accepted List; its name. */
static const char *check_item(const cJSON *item, const tsarc_resources_rules *r,
	const char *kind, const char *group, unsigned opts)
{
	const cJSON *c, *md = NULL, *name = NULL;
	size_t i;

	if (!cJSON_IsObject(item) || count(item, "kind") != 1 || count(item, "metadata") != 1 ||
		count(item, "apiVersion") != 1 || count(item, "status"))
		abort();
	for (c = item->child; c; c = c->next) {
		if (!strcmp(c->string, "kind"))
			must_be_kind(c, kind, r->type);
		else if (!strcmp(c->string, "apiVersion"))
			must_be_api_version(c, group);
		else if (!strcmp(c->string, "metadata"))
			md = c;
	}
	if (!cJSON_IsObject(md) || count(md, "name") != 1)
		abort();
	for (i = 0; STRIPPED_METADATA[i]; i++)
		if (count(md, STRIPPED_METADATA[i]))
			abort();
	for (c = md->child; c; c = c->next) {
		const cJSON *a;
		if (!strcmp(c->string, "name"))
			name = c;
		else if (!strcmp(c->string, "annotations") && cJSON_IsObject(c)) {
			if (count(c, "kubectl.kubernetes.io/last-applied-configuration"))
				abort();
		} else if (!strcmp(c->string, "labels") && cJSON_IsObject(c) &&
			(opts & OPT_LABELS)) {
			for (a = c->child; a; a = a->next)
				if (!strncmp(a->string, PREFIX, strlen(PREFIX)))
					abort();
		}
	}
	if (!cJSON_IsString(name))
		abort();
	must_be_name(name->valuestring);
	if ((r->meta_items && !in(r->meta_items, name->valuestring)) ||
		(!r->all && !in(r->names, name->valuestring) &&
			!in(r->optional_names, name->valuestring)) ||
		in(r->never_apply, name->valuestring) ||
		(r->skip && in(r->skip, name->valuestring)))
		abort();
	return name->valuestring;
}

/* Whether the List in `text` has an item of this kind and name (as cJSON
 * reads it: first keys): nothing applied that the List did not name. */
static int named_in_input(const char *text, size_t len, const cJSON *item)
{
	cJSON *doc = cJSON_ParseWithLength(text, len);
	const cJSON *it;
	const char *kind = tsarc_spec_str(item, "kind");
	const char *name = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(item, "metadata"),
		"name");
	int found = 0;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "items")) {
		const char *k = tsarc_spec_str(it, "kind");
		const char *n = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(it, "metadata"),
			"name");
		if (k && n && kind && name && !strcmp(k, kind) && !strcmp(n, name))
			found = 1;
	}
	cJSON_Delete(doc);
	return found;
}

/* Follows a dotted path from `o`; NULL where it ends. */
static const cJSON *at_path(const cJSON *o, const char *path)
{
	char seg[129];

	while (o && *path) {
		size_t len = strcspn(path, ".");
		memcpy(seg, path, len);
		seg[len] = '\0';
		o = cJSON_GetObjectItemCaseSensitive(o, seg);
		path += len + (path[len] == '.');
	}
	return o;
}

/* The selected APIManager List `a` (kept as select left it: this works
 * on a copy) applied onto g_target, checked as the header says. */
static void check_onto(const tsarc_resources_apply *a, const tsarc_resources_rules *r,
	const char *kind, const char *group)
{
	tsarc_resources_apply b;
	tsarc_resources_rules kr = *r;
	const cJSON *items, *item, *k;
	int rc;

	kr.target_keeps = g_keeps;
	memset(&b, 0, sizeof(b));
	if (!(b.list = cJSON_Duplicate(a->list, 1)) || !(b.applied = cJSON_Duplicate(a->applied, 1)) ||
		!(b.applied_as = cJSON_CreateObject()))
		abort();
	items = cJSON_GetObjectItemCaseSensitive(b.list, "items");
	tsarc_error_clear();
	rc = tsarc_resources_onto_target(&b, g_target, &kr);
	if (rc) {
		if ((rc != TSARC_ECONFIG && rc != TSARC_EUNSAFE) || !tsarc_error_last()->message[0] ||
			(rc == TSARC_ECONFIG && cJSON_GetArraySize(items) < 2))
			abort();
	} else if (cJSON_GetArraySize(items) == 1) {
		const cJSON *own = cJSON_GetArrayItem(g_target, 0);
		item = cJSON_GetArrayItem(items, 0);
		if (count(item, "kind") != 1 || count(item, "apiVersion") != 1)
			abort();
		must_be_kind(cJSON_GetObjectItemCaseSensitive(item, "kind"), kind, r->type);
		must_be_api_version(cJSON_GetObjectItemCaseSensitive(item, "apiVersion"), group);
		if (strcmp(tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(item, "metadata"), "name"),
			    "apimanager-sample") ||
			strcmp(cJSON_GetArrayItem(b.applied, 0)->valuestring, "apimanager-sample"))
			abort();
		cJSON_ArrayForEach(k, g_keeps) {
			const cJSON *want = at_path(own, k->valuestring), *got = at_path(item, k->valuestring);
			if (want ? !got || !cJSON_Compare(want, got, 1) : got != NULL)
				abort();
		}
	} else if (cJSON_GetArraySize(items)) {
		abort(); /* several objects went through */
	}
	tsarc_resources_apply_dispose(&b);
}

/* --skip-endpoint-secrets on the selected List `a` (a copy of it): each
 * zync keeps the target's DATABASE_URL, loses the two keys the target
 * lacks, and keeps its other keys as selected. */
static void check_endpoints(const tsarc_resources_apply *a)
{
	tsarc_resources_apply b;
	cJSON *items;
	const cJSON *item, *orig, *d, *o;
	int i = 0;

	memset(&b, 0, sizeof(b));
	if (!(b.list = cJSON_Duplicate(a->list, 1)) || !(b.endpoints_kept = cJSON_CreateObject()))
		abort();
	if (tsarc_resources_keep_endpoints(&b, g_components, g_zync))
		abort(); /* only memory can fail it */
	items = cJSON_GetObjectItemCaseSensitive(b.list, "items");
	cJSON_ArrayForEach(item, items) {
		const char *name = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(item, "metadata"),
			"name");
		orig = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a->list, "items"), i++);
		if (!name || strcmp(name, "zync")) {
			if (!cJSON_Compare(item, orig, 1))
				abort();
			continue;
		}
		d = cJSON_GetObjectItemCaseSensitive(item, "data");
		if (count(item, "data") != 1 || strcmp(tsarc_spec_str(d, "DATABASE_URL"), "dGFyZ2V0") ||
			cJSON_GetObjectItemCaseSensitive(d, "ZYNC_DATABASE_PASSWORD") ||
			cJSON_GetObjectItemCaseSensitive(d, "DB_SSL_CA") ||
			!cJSON_GetObjectItemCaseSensitive(b.endpoints_kept, "zync"))
			abort();
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(orig, "data"))
			if (o->string && strcmp(o->string, "DATABASE_URL") &&
				strcmp(o->string, "ZYNC_DATABASE_PASSWORD") && strcmp(o->string, "DB_SSL_CA") &&
				!cJSON_Compare(o, cJSON_GetObjectItemCaseSensitive(d, o->string), 1))
				abort();
	}
	tsarc_resources_apply_dispose(&b);
}

/* Runs the selection; checks an accepted List by the rules above, a
 * refusal for its code and message. Returns the code. */
static int run(const char *text, size_t len, unsigned type, unsigned opts,
	tsarc_resources_apply *keep)
{
	const char *kind = TYPES[type & 3].kind, *group = TYPES[type & 3].group;
	tsarc_resources_rules r;
	tsarc_resources_apply a;
	const cJSON *items, *item, *v;
	int rc, i = 0;

	rules_for(&r, type, opts);
	tsarc_error_clear();
	rc = tsarc_resources_select(&a, text, len, &r);
	if (rc) {
		if ((rc != TSARC_ECORRUPT && rc != TSARC_EUNSAFE) || !tsarc_error_last()->message ||
			!tsarc_error_last()->message[0] || a.list || a.applied || a.left_out ||
			a.rewritten)
			abort();
		return rc;
	}
	if (!cJSON_IsObject(a.list) || !cJSON_IsArray(a.applied) || !cJSON_IsArray(a.left_out) ||
		!cJSON_IsArray(a.rewritten) || !tsarc_spec_str(a.list, "kind") ||
		strcmp(tsarc_spec_str(a.list, "kind"), "List") ||
		count(a.list, "items") != 1 ||
		!cJSON_IsArray(items = cJSON_GetObjectItemCaseSensitive(a.list, "items")) ||
		cJSON_GetArraySize(items) != cJSON_GetArraySize(a.applied))
		abort();
	cJSON_ArrayForEach(item, items) {
		const char *name = check_item(item, &r, kind, group, opts);
		v = cJSON_GetArrayItem(a.applied, i++);
		if (!cJSON_IsString(v) || strcmp(v->valuestring, name) ||
			!named_in_input(text, len, item))
			abort();
	}
	cJSON_ArrayForEach(v, a.left_out)
		if (!cJSON_IsString(v) || !(in(r.never_apply, v->valuestring) ||
			    (r.skip && in(r.skip, v->valuestring))))
			abort();
	if ((type & 3) == 2)
		check_onto(&a, &r, kind, group);
	if (opts & OPT_SKIP)
		check_endpoints(&a);
	if (keep)
		*keep = a;
	else
		tsarc_resources_apply_dispose(&a);
	return 0;
}

#define SECRET(name, rest) \
	"{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"" name "\"" \
	rest "}, \"type\": \"Opaque\", \"data\": {\"k\": \"dg==\"}}"
#define LIST(items) "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [" items "]}"

static void refused(const char *text, unsigned type, unsigned opts, int code, const char *says)
{
	if (run(text, strlen(text), type, opts, NULL) != code ||
		!strstr(tsarc_error_last()->message, says))
		abort();
}

static void known_answers(void)
{
	static const char good[] = LIST(
		SECRET("system-seed", ", \"uid\": \"0b6f\", \"resourceVersion\": \"9\", "
			"\"namespace\": \"3scale\", \"annotations\": {"
			"\"kubectl.kubernetes.io/last-applied-configuration\": \"{}\"}") ", "
		SECRET("hashed-secret-data", "") ", "
		"{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": "
		"\"zync\"}, \"status\": {}, \"stringData\": {\"HOST\": \"zync.apps.3scale.test\"}}");
	tsarc_resources_apply a;
	const cJSON *md;

	/* Applied: system-seed and zync, stripped; hashed-secret-data left
	 * out. With the rewrite, nothing of a Secret's data is in the
	 * recipe's fields but "data.*": stringData stays. */
	if (run(good, strlen(good), 0, OPT_META_ITEMS | OPT_REWRITE, &a) ||
		cJSON_GetArraySize(a.applied) != 2 || cJSON_GetArraySize(a.left_out) != 1 ||
		strcmp(cJSON_GetArrayItem(a.applied, 1)->valuestring, "zync") ||
		strcmp(cJSON_GetArrayItem(a.left_out, 0)->valuestring, "hashed-secret-data"))
		abort();
	md = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(a.list, "items"), 0), "metadata");
	if (cJSON_GetArraySize(md) != 1)
		abort();
	tsarc_resources_apply_dispose(&a);
	/* A ConfigMap's domain rewritten, and said. */
	{
		static const char cm[] = LIST("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", "
			"\"metadata\": {\"name\": \"system-environment\"}, \"data\": {"
			"\"THREESCALE_SUPERDOMAIN\": \"apps.3scale.test\"}}");
		char *text;
		if (run(cm, strlen(cm), 1, OPT_REWRITE, &a) || cJSON_GetArraySize(a.rewritten) != 1 ||
			!(text = cJSON_PrintUnformatted(a.list)) || !strstr(text, "other-cluster"))
			abort();
		free(text);
		tsarc_resources_apply_dispose(&a);
	}
	/* An APIManager onto the target's own: its name, its layout. */
	{
		static const char am[] = LIST("{\"apiVersion\": \"apps.3scale.net/v1alpha1\", "
			"\"kind\": \"APIManager\", \"metadata\": {\"name\": \"3scale\"}, \"spec\": {"
			"\"highAvailability\": {\"enabled\": true}, \"system\": {\"appSpec\": {}}}}");
		static const char two[] = LIST("{\"apiVersion\": \"apps.3scale.net/v1alpha1\", "
			"\"kind\": \"APIManager\", \"metadata\": {\"name\": \"a\"}}, "
			"{\"apiVersion\": \"apps.3scale.net/v1alpha1\", \"kind\": \"APIManager\", "
			"\"metadata\": {\"name\": \"b\"}}");
		tsarc_resources_rules kr;
		const cJSON *item, *spec;
		rules_for(&kr, 2, OPT_ALL);
		kr.target_keeps = g_keeps;
		if (run(am, strlen(am), 2, OPT_ALL, &a) || tsarc_resources_onto_target(&a, g_target, &kr))
			abort();
		item = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a.list, "items"), 0);
		spec = cJSON_GetObjectItemCaseSensitive(item, "spec");
		if (strcmp(tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(item, "metadata"), "name"),
			    "apimanager-sample") ||
			strcmp(tsarc_spec_str(a.applied_as, "3scale"), "apimanager-sample") ||
			cJSON_GetObjectItemCaseSensitive(spec, "highAvailability") ||
			!at_path(spec, "externalComponents.system.database") ||
			!at_path(spec, "system.appSpec") || !at_path(spec, "system.fileStorage"))
			abort();
		tsarc_resources_apply_dispose(&a);
		if (run(two, strlen(two), 2, OPT_ALL, &a) ||
			tsarc_resources_onto_target(&a, g_target, &kr) != TSARC_ECONFIG ||
			!strstr(tsarc_error_last()->message, "apimanager-sample"))
			abort();
		tsarc_resources_apply_dispose(&a);
	}
	refused("not json", 0, 0, TSARC_ECORRUPT, "is not a resource List");
	refused("{\"kind\": \"List\"}", 0, 0, TSARC_ECORRUPT, "is not a resource List");
	refused(LIST("{\"kind\": \"Secret\"}"), 0, 0, TSARC_ECORRUPT, "without kind");
	refused(LIST(SECRET("system-seed/../x", "")), 0, 0, TSARC_EUNSAFE, "not a Kubernetes one");
	refused(LIST(SECRET("system-seed", "") ", {\"apiVersion\": "
		"\"rbac.authorization.k8s.io/v1\", \"kind\": \"ClusterRoleBinding\", \"metadata\": "
		"{\"name\": \"system-seed\"}}"), 0, 0, TSARC_EUNSAFE, "ClusterRoleBinding");
	/* cJSON reads the first of two keys, kubectl the last. */
	refused(LIST("{\"kind\": \"Secret\", \"metadata\": {\"name\": \"zync\"}, "
		"\"kind\": \"ClusterRoleBinding\"}"), 0, 0, TSARC_EUNSAFE, "twice");
	refused(LIST(SECRET("zync", ", \"name\": \"other-app-credentials\"")), 0, 0,
		TSARC_EUNSAFE, "twice");
	refused(LIST(SECRET("other-app-credentials", "")), 0, 0, TSARC_EUNSAFE,
		"does not name");
	refused(LIST(SECRET("system-memcache", "")), 0, OPT_META_ITEMS, TSARC_EUNSAFE,
		"does not list");
	/* What the target takes with all: true, a Secret of a ConfigMap's
	 * stream not. */
	if (run(LIST(SECRET("other-app-credentials", "")), strlen(LIST(SECRET(
		"other-app-credentials", ""))), 3, OPT_ALL, NULL))
		abort();
	refused(LIST(SECRET("system-seed", "")), 1, OPT_ALL, TSARC_EUNSAFE, "configmap");
	/* Kind Secret of another API group: a CRD's object, not a Secret.
	 * Refused, and the message names the apiVersion. */
	refused(LIST(SECRET("system-seed", "") ", {\"apiVersion\": \"evil.example/v1\", "
		"\"kind\": \"Secret\", \"metadata\": {\"name\": \"zync\"}}"), 0, 0, TSARC_EUNSAFE,
		"evil.example/v1");
	refused(LIST("{\"apiVersion\": \"apps/v1\", \"kind\": \"ConfigMap\", \"metadata\": "
		"{\"name\": \"system-environment\"}}"), 1, 0, TSARC_EUNSAFE, "apps/v1");
	/* The APIManager of another group than its type names. */
	refused(LIST("{\"apiVersion\": \"other.example/v1\", \"kind\": \"APIManager\", "
		"\"metadata\": {\"name\": \"3scale\"}}"), 2, OPT_ALL, TSARC_EUNSAFE, "other.example/v1");
	refused(LIST("{\"apiVersion\": \"v1\", \"kind\": \"APIManager\", "
		"\"metadata\": {\"name\": \"3scale\"}}"), 2, OPT_ALL, TSARC_EUNSAFE, "apps.3scale.net");
	/* No apiVersion, or not one: refused, named, its control bytes not
	 * passed on to a terminal. */
	refused(LIST("{\"kind\": \"Secret\", \"metadata\": {\"name\": \"zync\"}}"), 0, 0,
		TSARC_EUNSAFE, "apiVersion");
	refused(LIST("{\"apiVersion\": 1, \"kind\": \"Secret\", \"metadata\": {\"name\": "
		"\"zync\"}}"), 0, 0, TSARC_EUNSAFE, "apiVersion");
	refused(LIST("{\"apiVersion\": \"v1/../x\", \"kind\": \"Secret\", \"metadata\": "
		"{\"name\": \"zync\"}}"), 0, 0, TSARC_EUNSAFE, "v1/../x");
	refused(LIST("{\"apiVersion\": \"v1\\u001b]0;x\\u0007\\u009b2J\", \"kind\": \"Secret\", "
		"\"metadata\": {\"name\": \"zync\"}}"), 0, 0, TSARC_EUNSAFE, "zync");
	if (strchr(tsarc_error_last()->message, 0x1b) || strchr(tsarc_error_last()->message, 7) ||
		strstr(tsarc_error_last()->message, "\xc2\x9b"))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int first = 1;

	if (first) {
		first = 0;
		setup();
		known_answers();
	}
	if (size < 2 || size > INPUT_MAX)
		return 0;
	run((const char *)data + 2, size - 2, data[0] & 3,
		(data[1] & 0x3fu) | (data[0] & 4 ? OPT_SHORTER : 0), NULL);
	return 0;
}
