/*
 * Deployment configuration: a profile with the user's config merged over
 * it, parsed into a tsarc_config (config.h) and validated whole before
 * anything runs; errors name the bad field by its JSON path.
 */
#include "config.h"
#include "error_save.h"
#include "kind.h"
#include "fileio.h"
#include "deploy.h"
#include "names.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generated from profiles/3scale.json by src/deploy/embed.cmake. */
extern const char tsarc_profile_3scale[];

/* A configuration or profile file is small. */
#define CONFIG_MAX (4u * 1024u * 1024u)
#define PARALLEL_MAX 64

const char *tsarc_deploy_builtin_profile(const char *name)
{
	if (!strcmp(name, "3scale"))
		return tsarc_profile_3scale;
	return NULL;
}

/* A config or profile file; any failure to read it is a config error. */
static int read_file(const char *path, char **out)
{
	int rc = tsarc_read_file(path, CONFIG_MAX, out, NULL);

	if (!rc || rc == TSARC_ENOMEM)
		return rc;
	return tsarc_error_set(TSARC_ECONFIG, "%s", tsarc_error_last()->message);
}

static int parse(const char *text, const char *origin, cJSON **out)
{
	const char *where = NULL;
	cJSON *doc = cJSON_ParseWithOpts(text, &where, 1);

	if (!doc) {
		size_t line = 1;
		const char *p;
		for (p = text; where && p < where; p++)
			line += *p == '\n';
		return tsarc_error_set(TSARC_ECONFIG, "%s: not valid JSON (near line %zu)", origin,
			line);
	}
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return tsarc_error_set(TSARC_ECONFIG, "%s: the top level must be a JSON object",
			origin);
	}
	*out = doc;
	return 0;
}

static int check_top_keys(const cJSON *doc, const char *origin)
{
	static const char *const keys[] = {"profile", "description", "transport", "parallel",
		"components", "post_restore", NULL};

	return tsarc_check_keys(doc, origin, keys);
}

/* `name` of a transport, from the field at `where`: one the registry
 * knows, or an error that names it (never a silent default). */
static int check_transport_name(const char *name, const char *where)
{
	char names[200];

	if (tsarc_transport_type_find(name))
		return 0;
	tsarc_transport_names(names, sizeof(names));
	return tsarc_error_set(TSARC_ECONFIG, "%s must be one of %s, not '%.64s'", where, names,
		name ? name : "(none)");
}

/* A component's or a hook's "transport": NULL when absent. */
static int optional_transport(const cJSON *obj, const char *where, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "transport");
	char path[1400];

	*out = NULL;
	if (!v)
		return 0;
	tsarc_json_path(path, sizeof(path), where, "transport");
	if (!cJSON_IsString(v))
		return tsarc_error_set(TSARC_ECONFIG, "%s must be a transport name", path);
	*out = v->valuestring;
	return check_transport_name(v->valuestring, path);
}

static int optional_bool(const cJSON *obj, const char *key, int dflt, const char *where,
	int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = dflt;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return tsarc_bad_field(TSARC_ECONFIG, where, key, "true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

static int parse_transport(tsarc_deploy *d)
{
	static const char *const tkeys[] = {"type", "binary", "context", "namespace",
		"kubeconfig", "selector_style", "resources_dir", "pass_env", NULL};
	const cJSON *tr = cJSON_GetObjectItemCaseSensitive(d->eff, "transport");
	const char *v;
	char where[1100], path[1200];
	size_t i;
	int rc;

	snprintf(where, sizeof(where), "%s: transport", d->origin);
	snprintf(path, sizeof(path), "%s.type", where);
	if (!cJSON_IsObject(tr))
		return tsarc_error_set(TSARC_ECONFIG, "%s must be an object with a \"type\"", where);
	if ((rc = check_transport_name(tsarc_spec_str(tr, "type"), path)))
		return rc;
	if ((rc = tsarc_check_keys(tr, where, tkeys)) ||
		(rc = tsarc_check_string_array(tr, "pass_env", tsarc_valid_env_name, TSARC_ENV_RULE,
		     TSARC_ECONFIG, where)))
		return rc;
	for (i = 0; tkeys[i]; i++)
		if (strcmp(tkeys[i], "pass_env") && (rc = tsarc_check_string_field(tr, tkeys[i],
			NULL, "a string", TSARC_ECONFIG, where)))
			return rc;
	/* The kube transport checks it too, once made: here the file and the
	 * field's path are known, and nothing has run. */
	if ((v = tsarc_spec_str(tr, "selector_style")) && strcmp(v, "auto") &&
		strcmp(v, "deployment") && strcmp(v, "deploymentConfig"))
		return tsarc_error_set(TSARC_ECONFIG, "%s.selector_style must be auto, deployment "
			"(3scale 2.15+) or deploymentConfig (2.14 and older), not '%.64s'", where, v);
	d->conf.transport = tsarc_spec_str(tr, "type");
	d->conf.transport_json = tr;
	return 0;
}

/* The fields every component may have that reach a shell, a command
 * line or a path; its kind checks its own (validate). */
static const tsarc_field_rule COMPONENT_FIELDS[] = {
	{"password_env", TSARC_FIELD_ENV, NULL, NULL},
	TSARC_POD_ENV_FIELDS,
	{"resource", TSARC_FIELD_STRING, tsarc_valid_kube_type, TSARC_KUBE_TYPE_RULE},
	{"names", TSARC_FIELD_STRINGS, tsarc_valid_kube_name, TSARC_KUBE_NAME_RULE},
	{"optional_names", TSARC_FIELD_STRINGS, tsarc_valid_kube_name, TSARC_KUBE_NAME_RULE},
	{"stream", TSARC_FIELD_STRING, NULL, NULL},
	{NULL, TSARC_FIELD_STRING, NULL, NULL},
};

/* The fields the kinds read as a string or an argument list. Another
 * type was taken for absent ("bucket": 5: the Secret's bucket) or refused
 * only once the backup ran, after other components; null stays absent,
 * as the readers take it, so that a profile's value can be unset. */
static const tsarc_field_rule COMPONENT_VALUES[] = {
	{"tool", TSARC_FIELD_STRING, tsarc_valid_tool, "a command name"},
	{"options", TSARC_FIELD_STRINGS, NULL, NULL},
	{"command", TSARC_FIELD_STRINGS, NULL, NULL},
	{"version_command", TSARC_FIELD_STRINGS, NULL, NULL},
	{"strip_label_prefixes", TSARC_FIELD_STRINGS, NULL, NULL},
	{"script", TSARC_FIELD_STRING, NULL, NULL},
	{"host", TSARC_FIELD_STRING, NULL, NULL},
	{"socket", TSARC_FIELD_STRING, NULL, NULL},
	{"user", TSARC_FIELD_STRING, NULL, NULL},
	{"database", TSARC_FIELD_STRING, NULL, NULL},
	{"default_database", TSARC_FIELD_STRING, NULL, NULL},
	{"password_file", TSARC_FIELD_STRING, NULL, NULL},
	{"path", TSARC_FIELD_STRING, NULL, NULL},
	{"workload", TSARC_FIELD_STRING, NULL, NULL},
	{"selector", TSARC_FIELD_STRING, NULL, NULL},
	{"container", TSARC_FIELD_STRING, NULL, NULL},
	{"secret", TSARC_FIELD_STRING, NULL, NULL},
	{"bucket", TSARC_FIELD_STRING, NULL, NULL},
	{"prefix", TSARC_FIELD_STRING, NULL, NULL},
	{"endpoint", TSARC_FIELD_STRING, NULL, NULL},
	{"region", TSARC_FIELD_STRING, NULL, NULL},
	{"description", TSARC_FIELD_STRING, NULL, NULL},
	{NULL, TSARC_FIELD_STRING, NULL, NULL},
};

static int check_values(const cJSON *c, const char *where)
{
	const tsarc_field_rule *r;
	int rc = 0;

	for (r = COMPONENT_VALUES; r->key && !rc; r++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, r->key);
		if (!v || cJSON_IsNull(v))
			continue;
		rc = r->shape == TSARC_FIELD_STRINGS ?
			tsarc_check_string_array(c, r->key, r->valid, r->rule, TSARC_ECONFIG, where) :
			tsarc_check_string_field(c, r->key, r->valid, r->rule ? r->rule : "a string",
				TSARC_ECONFIG, where);
	}
	return rc;
}

/* The objects inside a component other than its recipe, with the keys
 * each may have: a key a reader does not know is passed over as absent,
 * so a misspelt one would change what runs without a word (a "tls" not
 * used, an "after" that makes a hook run always). */
static const char *const URL_SECRET_KEYS[] = {"secret", "key", "user_key", "password_key",
	"queues_key", "tls", NULL};
static const char *const URL_SECRET_TLS_KEYS[] = {"mode", "ca", "cert", "key", NULL};
/* The profile's layout rules (layout.h). */
static const char *const EXTERNAL_WHEN_KEYS[] = {"apimanager", "internal_hosts", NULL};
static const char *const DATABASE_WHEN_KEYS[] = {"url_schemes", "apimanager", "replaces",
	NULL};
static const char *const STORAGE_WHEN_KEYS[] = {"apimanager", "secret_ref", "replaces", NULL};
static const struct {
	const char *key;
	const char *const *keys;
} COMPONENT_OBJECTS[] = {
	{"url_secret", URL_SECRET_KEYS},
	{"external_when", EXTERNAL_WHEN_KEYS},
	{"database_when", DATABASE_WHEN_KEYS},
	{"storage_when", STORAGE_WHEN_KEYS},
};

/* `obj`'s member `key`, when there: an object with none but `keys`. */
static int check_object(const cJSON *obj, const char *key, const char *const keys[],
	const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char path[1400];

	if (!v)
		return 0;
	tsarc_json_path(path, sizeof(path), where, key);
	if (!cJSON_IsObject(v))
		return tsarc_error_set(TSARC_ECONFIG, "%s must be an object", path);
	return tsarc_check_keys(v, path, keys);
}

static int check_component_objects(const cJSON *c, const char *where)
{
	char path[1400];
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(COMPONENT_OBJECTS) / sizeof(COMPONENT_OBJECTS[0]) && !rc; i++)
		rc = check_object(c, COMPONENT_OBJECTS[i].key, COMPONENT_OBJECTS[i].keys, where);
	tsarc_json_path(path, sizeof(path), where, "url_secret");
	return rc ? rc : check_object(cJSON_GetObjectItemCaseSensitive(c, "url_secret"), "tls",
		URL_SECRET_TLS_KEYS, path);
}

/* The fields of a component that reach a shell, a command line or a
 * path, and its restore recipe. */
static int parse_component(tsarc_deploy *d, const cJSON *c, tsarc_component_conf *out)
{
	char where[1200], rwhere[1400];
	const tsarc_kind *src;
	int rc, port;

	tsarc_json_path(rwhere, sizeof(rwhere), "components", c->string);
	snprintf(where, sizeof(where), "%s: %s", d->origin, rwhere);
	if (!cJSON_IsObject(c))
		return tsarc_error_set(TSARC_ECONFIG, "%s must be an object", where);
	out->name = c->string;
	out->json = c;
	out->kind = tsarc_spec_str(c, "kind");
	if (!out->kind || !(src = tsarc_kind_find(out->kind))) {
		char kinds[200];
		tsarc_kind_names(kinds, sizeof(kinds));
		return tsarc_error_set(TSARC_ECONFIG, "%s.kind must be one of %s", where, kinds);
	}
	if ((rc = tsarc_spec_check_keys(c, c->string, src->fields)) ||
		(rc = tsarc_spec_port(c, "port", c->string, &port)) ||
		(src->validate && (rc = src->validate(c, c->string)))) {
		tsarc_error_prefix("%s", d->origin);
		return rc;
	}
	if ((rc = tsarc_check_fields(c, COMPONENT_FIELDS, TSARC_ECONFIG, where)) ||
		(rc = check_values(c, where)) ||
		(rc = check_component_objects(c, where)) ||
		(rc = optional_transport(c, where, &out->transport)) ||
		(rc = optional_bool(c, "enabled", 1, where, &out->enabled)) ||
		(rc = optional_bool(c, "required", 1, where, &out->required)) ||
		(rc = optional_bool(c, "external", 0, where, &out->external)))
		return rc;
	tsarc_json_path(rwhere, sizeof(rwhere), where, "restore");
	if ((rc = tsarc_recipe_parse(cJSON_GetObjectItemCaseSensitive(c, "restore"),
		     TSARC_ECONFIG, rwhere, &out->restore)) ||
		(rc = tsarc_recipe_check_keys(out->restore.json, rwhere)))
		return rc;
	if (out->restore.action &&
		(rc = tsarc_recipe_action_check(out->restore.action, out->kind, rwhere)))
		return rc;
	return 0;
}

/* post_restore: commands run after the components, where and when. A
 * name in "after" must be a component's: a hook runs when one of them was
 * restored, so a typo would keep it from ever running, silently; a
 * misspelt key likewise ("aftr": the hook would run always). */
static int parse_hooks(tsarc_deploy *d)
{
	static const char *const keys[] = {"description", "command", "after", "transport",
		"workload", "selector", "container", NULL};
	const cJSON *hooks = cJSON_GetObjectItemCaseSensitive(d->eff, "post_restore"), *h, *a;
	const cJSON *comps = cJSON_GetObjectItemCaseSensitive(d->eff, "components");
	char where[1200];
	size_t i = 0, j;
	int rc;

	if (!hooks || cJSON_IsNull(hooks))
		return 0;
	if (!cJSON_IsArray(hooks))
		return tsarc_error_set(TSARC_ECONFIG, "%s: post_restore must be an array",
			d->origin);
	if (!(d->conf.hooks = calloc((size_t)cJSON_GetArraySize(hooks) + 1,
		      sizeof(tsarc_hook_conf))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	cJSON_ArrayForEach(h, hooks) {
		tsarc_hook_conf *hc = &d->conf.hooks[i];
		snprintf(where, sizeof(where), "%s: post_restore[%zu]", d->origin, i);
		hc->json = h;
		hc->command = cJSON_GetObjectItemCaseSensitive(h, "command");
		hc->after = cJSON_GetObjectItemCaseSensitive(h, "after");
		if (!cJSON_IsObject(h))
			return tsarc_error_set(TSARC_ECONFIG, "%s must be an object", where);
		if ((rc = tsarc_check_keys(h, where, keys)))
			return rc;
		if (!cJSON_IsArray(hc->command) || !cJSON_GetArraySize(hc->command))
			return tsarc_error_set(TSARC_ECONFIG, "%s.command is required: an array of "
				"strings", where);
		cJSON_ArrayForEach(a, hc->command)
			if (!cJSON_IsString(a))
				return tsarc_bad_field(TSARC_ECONFIG, where, "command", "an array of "
					"strings");
		if ((rc = tsarc_check_string_array(h, "after", NULL, NULL, TSARC_ECONFIG, where)) ||
			(rc = optional_transport(h, where, &hc->transport)))
			return rc;
		j = 0;
		cJSON_ArrayForEach(a, hc->after) {
			if (!cJSON_GetObjectItemCaseSensitive(comps, a->valuestring))
				return tsarc_error_set(TSARC_ECONFIG, "%s.after[%zu]: no component is "
					"named '%s'", where, j, a->valuestring);
			j++;
		}
		d->conf.nhooks = ++i;
	}
	return 0;
}

static int validate(tsarc_deploy *d)
{
	const cJSON *comps = cJSON_GetObjectItemCaseSensitive(d->eff, "components"), *c, *c2;
	const cJSON *par = cJSON_GetObjectItemCaseSensitive(d->eff, "parallel");
	char where[1100];
	int rc;

	if ((rc = parse_transport(d)))
		return rc;
	if (par) {
		if (!cJSON_IsNumber(par) || par->valuedouble < 1 || par->valuedouble > PARALLEL_MAX ||
			par->valuedouble != (double)(int)par->valuedouble)
			return tsarc_error_set(TSARC_ECONFIG, "%s: parallel must be a whole number "
				"from 1 to %d", d->origin, PARALLEL_MAX);
		d->parallel = (unsigned)par->valuedouble;
	}
	d->conf.parallel = d->parallel;
	if (!cJSON_IsObject(comps) || !cJSON_GetArraySize(comps))
		return tsarc_error_set(TSARC_ECONFIG, "%s: no components (a profile or "
			"\"components\" describes them)", d->origin);
	if (!(d->conf.components = calloc((size_t)cJSON_GetArraySize(comps),
		      sizeof(tsarc_component_conf))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	cJSON_ArrayForEach(c, comps) {
		/* Each name once. */
		if (!tsarc_valid_component_name(c->string))
			return tsarc_error_set(TSARC_ECONFIG, "%s: component name '%s' must be non-empty, "
				"without spaces, commas or slashes", d->origin, c->string);
		/* It names the component in reports and, by default, its stream
		 * (names.h). Here only: a snapshot's component names are read
		 * with tsarc_valid_component_name and must stay readable. */
		snprintf(where, sizeof(where), "%s: component name", d->origin);
		if ((rc = tsarc_text_check(TSARC_ECONFIG, where, c->string)))
			return rc;
		cJSON_ArrayForEach(c2, comps) {
			if (c2 == c)
				break;
			if (!strcmp(c2->string, c->string))
				return tsarc_error_set(TSARC_ECONFIG, "%s: component '%s' is given twice",
					d->origin, c->string);
		}
		if ((rc = parse_component(d, c, &d->conf.components[d->conf.ncomponents])))
			return rc;
		d->conf.ncomponents++;
	}
	return parse_hooks(d);
}

/* Stream names are unique among enabled components. Checked once every
 * component has its name: a default one ("a" -> a.rdb) can clash with one
 * given to another component. */
static int check_streams_unique(tsarc_deploy *d)
{
	const cJSON *comps = cJSON_GetObjectItemCaseSensitive(d->eff, "components"), *c, *c2;

	cJSON_ArrayForEach(c, comps) {
		const char *stream = tsarc_spec_str(c, "stream");
		if (!stream || !tsarc_spec_bool(c, "enabled", 1))
			continue;
		cJSON_ArrayForEach(c2, comps) {
			if (c2 == c)
				break;
			if (tsarc_spec_bool(c2, "enabled", 1) && tsarc_spec_str(c2, "stream") &&
				!strcmp(tsarc_spec_str(c2, "stream"), stream))
				return tsarc_error_set(TSARC_ECONFIG, "%s: components '%s' and '%s' "
					"both write stream '%s'", d->origin, c2->string, c->string, stream);
		}
	}
	return 0;
}

/* Fills in default stream names, so that the effective config says them.
 * A given one is checked as the library checks every stream name (names.h):
 * here, so that a bad one fails before the repository is touched. */
static int default_streams(tsarc_deploy *d)
{
	cJSON *comps = cJSON_GetObjectItemCaseSensitive(d->eff, "components"), *c;
	size_t i = 0;
	int rc;

	cJSON_ArrayForEach(c, comps) {
		const tsarc_kind *src = tsarc_kind_find(tsarc_spec_str(c, "kind"));
		char name[1100], where[1300];
		if (tsarc_spec_str(c, "stream")) {
			tsarc_json_path(name, sizeof(name), "components", c->string);
			snprintf(where, sizeof(where), "%s: %s.stream", d->origin, name);
			if ((rc = tsarc_text_check(TSARC_ECONFIG, where, tsarc_spec_str(c, "stream"))))
				return rc;
			d->conf.components[i++].stream = tsarc_spec_str(c, "stream");
			continue;
		}
		snprintf(name, sizeof(name), "%s%s", c->string, src->extension);
		cJSON_DeleteItemFromObjectCaseSensitive(c, "stream");
		if (!cJSON_AddStringToObject(c, "stream", name))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		d->conf.components[i++].stream = tsarc_spec_str(c, "stream");
	}
	return 0;
}

/*
 * A "database_when" rule (layout.h) decides which of two components takes
 * a database only where the configuration does not: one that says
 * "enabled" for the component or for the one it replaces has chosen, and
 * the rule is dropped from the effective configuration.
 */
static void keep_given_databases(cJSON *eff, const cJSON *conf)
{
	const cJSON *given = cJSON_GetObjectItemCaseSensitive(conf, "components");
	cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(eff, "components")) {
		const cJSON *rule = cJSON_GetObjectItemCaseSensitive(c, "database_when");
		const char *repl = tsarc_spec_str(rule, "replaces");
		const cJSON *own = cJSON_GetObjectItemCaseSensitive(given, c->string);
		const cJSON *other = repl ? cJSON_GetObjectItemCaseSensitive(given, repl) : NULL;

		if (rule && (cJSON_GetObjectItemCaseSensitive(own, "enabled") ||
			    cJSON_GetObjectItemCaseSensitive(other, "enabled")))
			cJSON_DeleteItemFromObjectCaseSensitive(c, "database_when");
	}
}

int tsarc_deploy_load_text(tsarc_deploy **out, const char *text, const char *origin)
{
	tsarc_deploy *d = calloc(1, sizeof(*d));
	cJSON *conf = NULL, *profile = NULL;
	const char *pname;
	int rc;

	*out = NULL;
	if (!d || !(d->origin = strdup(origin))) {
		free(d);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	d->parallel = 4;
	if ((rc = parse(text, origin, &conf)) || (rc = check_top_keys(conf, origin)))
		goto fail;
	if (cJSON_GetObjectItemCaseSensitive(conf, "profile") &&
		!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(conf, "profile"))) {
		rc = tsarc_error_set(TSARC_ECONFIG, "%s: profile must be a string (a built-in "
			"name such as 3scale, a file, or \"none\")", origin);
		goto fail;
	}
	pname = tsarc_spec_str(conf, "profile");
	if (!pname)
		pname = "3scale";
	if (!strcmp(pname, "none")) {
		if (!(profile = cJSON_CreateObject())) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto fail;
		}
	} else if (tsarc_deploy_builtin_profile(pname)) {
		if ((rc = parse(tsarc_deploy_builtin_profile(pname), pname, &profile)))
			goto fail;
	} else if (strchr(pname, '/') || strstr(pname, ".json")) {
		char *ptext = NULL;
		if ((rc = read_file(pname, &ptext)))
			goto fail;
		rc = parse(ptext, pname, &profile);
		free(ptext);
		if (rc)
			goto fail;
	} else {
		rc = tsarc_error_set(TSARC_ECONFIG, "%s: no built-in profile '%s' (built in: "
			"3scale; or give a path to a profile file, or \"none\")", origin, pname);
		goto fail;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(profile, "profile");
	if (!cJSON_AddStringToObject(profile, "profile", pname) || (rc = tsarc_json_merge(profile, conf))) {
		rc = rc ? rc : tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto fail;
	}
	/* A second "profile" key merged over the first: the effective config
	 * must name the profile that was loaded, or --print-config lies. */
	if (!cJSON_ReplaceItemInObjectCaseSensitive(profile, "profile", cJSON_CreateString(pname))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto fail;
	}
	d->eff = profile;
	profile = NULL;
	keep_given_databases(d->eff, conf);
	if ((rc = validate(d)) || (rc = default_streams(d)) || (rc = check_streams_unique(d)))
		goto fail;
	cJSON_Delete(conf);
	*out = d;
	return 0;
fail:
	cJSON_Delete(conf);
	cJSON_Delete(profile);
	tsarc_deploy_free(d);
	return rc;
}

int tsarc_deploy_load(tsarc_deploy **out, const char *config_path)
{
	char *text = NULL;
	int rc;

	*out = NULL;
	if ((rc = read_file(config_path, &text)))
		return rc;
	rc = tsarc_deploy_load_text(out, text, config_path);
	free(text);
	return rc;
}

void tsarc_deploy_free(tsarc_deploy *d)
{
	if (!d)
		return;
	tsarc_config_dispose(&d->conf);
	cJSON_Delete(d->eff);
	free(d->origin);
	free(d);
}

void tsarc_config_dispose(tsarc_config *c)
{
	free(c->components);
	free(c->hooks);
	memset(c, 0, sizeof(*c));
}

const cJSON *tsarc_deploy_effective(const tsarc_deploy *d)
{
	return d->eff;
}

void tsarc_deploy_set_parallel(tsarc_deploy *d, unsigned parallel)
{
	if (parallel)
		d->parallel = parallel;
}
