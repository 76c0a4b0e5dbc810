/* Deployment configuration: a profile with the user's config merged over it. */
#include "kind.h"
#include "deploy.h"
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
	char why[1024];
	int rc = tsarc_read_file(path, CONFIG_MAX, out, NULL);

	if (!rc || rc == TSARC_ENOMEM)
		return rc;
	snprintf(why, sizeof(why), "%s", tsarc_error_last()->message);
	return tsarc_error_set(TSARC_ECONFIG, "%s", why);
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
	const cJSON *item;
	size_t i;

	cJSON_ArrayForEach(item, doc) {
		for (i = 0; keys[i] && strcmp(keys[i], item->string); i++)
			;
		if (!keys[i])
			return tsarc_error_set(TSARC_ECONFIG, "%s: unknown field '%s'", origin,
				item->string);
	}
	return 0;
}

/* Component names go into stream names, --only lists (comma-separated)
 * and reports: printable, no separators. */
static int valid_component_name(const char *s)
{
	const char *p;

	if (!s || !s[0])
		return 0;
	for (p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == ',' || *p == '/' || *p == 0x7f)
			return 0;
	return 1;
}

/* `what` of `field` fails its rule: the value itself is not repeated (it
 * may come from a hostile snapshot, and may hold terminal escapes). */
static int bad_field(int code, const char *where, const char *field, const char *rule)
{
	return tsarc_error_set(code, "%s: %s must be %s", where, field, rule);
}

#define ENV_RULE "a variable name ([A-Za-z_][A-Za-z0-9_]*)"
#define KUBE_NAME_RULE "a Kubernetes name (DNS-1123: lower-case letters, digits, '-' and '.')"
#define KUBE_TYPE_RULE "a Kubernetes resource type (letters, digits, '-' and '.')"

static int check_env_field(const cJSON *obj, const char *key, int code, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (v && (!cJSON_IsString(v) || !tsarc_valid_env_name(v->valuestring)))
		return bad_field(code, where, key, ENV_RULE);
	return 0;
}

/* "env" / "pod_env": variable names to variable names. */
static int check_env_map(const cJSON *obj, const char *key, int code, const char *where)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key), *v;
	char field[300];

	if (!m)
		return 0;
	if (!cJSON_IsObject(m))
		return bad_field(code, where, key, "an object mapping variable names to variable "
			"names");
	cJSON_ArrayForEach(v, m) {
		snprintf(field, sizeof(field), "every name in %s", key);
		if (!tsarc_valid_env_name(v->string))
			return bad_field(code, where, field, ENV_RULE);
		snprintf(field, sizeof(field), "every value of %s", key);
		if (!cJSON_IsString(v) || !tsarc_valid_env_name(v->valuestring))
			return bad_field(code, where, field, ENV_RULE);
	}
	return 0;
}

static int check_string_array(const cJSON *obj, const char *key, int (*rule)(const char *),
	const char *rule_text, int code, const char *where)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key), *v;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return bad_field(code, where, key, "an array of strings");
	cJSON_ArrayForEach(v, arr) {
		if (!cJSON_IsString(v))
			return bad_field(code, where, key, "an array of strings");
		if (rule && !rule(v->valuestring)) {
			char field[300];
			snprintf(field, sizeof(field), "every entry of %s", key);
			return bad_field(code, where, field, rule_text);
		}
	}
	return 0;
}

static int check_string_field(const cJSON *obj, const char *key, int (*rule)(const char *),
	const char *rule_text, int code, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (v && (!cJSON_IsString(v) || (rule && !rule(v->valuestring))))
		return bad_field(code, where, key, rule_text);
	return 0;
}

/* Words of a CREATE DATABASE clause: letters, digits, '_', '=' and spaces. */
static int valid_sql_options(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			    (*s >= '0' && *s <= '9') || *s == '_' || *s == '=' || *s == ' '))
			return 0;
	return 1;
}

static int valid_tool(const char *s)
{
	return s[0] && s[0] != '-';
}

int tsarc_recipe_check(const cJSON *recipe, int code, const char *where)
{
	static const char *const strings[] = {"action", "path", "config_file", "data_dir",
		"config_key", NULL};
	static const char *const arrays[] = {"options", "command", "start_command",
		"domain_columns", NULL};
	const cJSON *v;
	size_t i;
	int rc;

	if (!recipe)
		return 0;
	if (!cJSON_IsObject(recipe))
		return bad_field(code, where, "restore", "an object");
	if ((rc = check_env_field(recipe, "pod_password_env", code, where)) ||
		(rc = check_env_map(recipe, "env", code, where)) ||
		(rc = check_env_map(recipe, "pod_env", code, where)) ||
		(rc = check_string_field(recipe, "config_map", tsarc_valid_kube_name,
			KUBE_NAME_RULE, code, where)) ||
		(rc = check_string_field(recipe, "rollout", tsarc_valid_kube_name, KUBE_NAME_RULE,
			code, where)) ||
		(rc = check_string_array(recipe, "skip_when_migrating", tsarc_valid_kube_name,
			KUBE_NAME_RULE, code, where)) ||
		(rc = check_string_field(recipe, "create_database_options", valid_sql_options,
			"words of letters, digits, '_' and '='", code, where)) ||
		(rc = check_string_field(recipe, "tool", valid_tool, "a command name", code, where)))
		return rc;
	for (i = 0; strings[i]; i++)
		if ((rc = check_string_field(recipe, strings[i], NULL, "a string", code, where)))
			return rc;
	for (i = 0; arrays[i]; i++)
		if ((rc = check_string_array(recipe, arrays[i], NULL, NULL, code, where)))
			return rc;
	if ((v = cJSON_GetObjectItemCaseSensitive(recipe, "order")) && !cJSON_IsNumber(v))
		return bad_field(code, where, "order", "a number");
	if ((v = cJSON_GetObjectItemCaseSensitive(recipe, "clean")) && !cJSON_IsBool(v))
		return bad_field(code, where, "clean", "true or false");
	return 0;
}

void tsarc_recipe_drop_commands(cJSON *recipe)
{
	static const char *const fields[] = {"command", "start_command", "tool", "options", NULL};
	size_t i;

	for (i = 0; fields[i]; i++)
		cJSON_DeleteItemFromObjectCaseSensitive(recipe, fields[i]);
}

int tsarc_stream_meta_check(const char *stream, const cJSON *meta)
{
	const cJSON *v;
	char where[200];
	int rc;

	if (!meta)
		return 0;
	snprintf(where, sizeof(where), "stream %.100s of the snapshot", stream ? stream : "?");
	if (!cJSON_IsObject(meta))
		return bad_field(TSARC_EUNSAFE, where, "its metadata", "an object");
	if ((v = cJSON_GetObjectItemCaseSensitive(meta, "component")) &&
		(!cJSON_IsString(v) || !valid_component_name(v->valuestring)))
		return bad_field(TSARC_EUNSAFE, where, "component", "a component name (no spaces, "
			"commas or slashes)");
	if ((rc = check_string_field(meta, "kind", tsarc_valid_env_name, "a component kind",
		     TSARC_EUNSAFE, where)) ||
		(rc = check_string_field(meta, "resource", tsarc_valid_kube_type, KUBE_TYPE_RULE,
			TSARC_EUNSAFE, where)) ||
		(rc = check_string_array(meta, "items", tsarc_valid_kube_name, KUBE_NAME_RULE,
			TSARC_EUNSAFE, where)) ||
		(rc = check_string_array(meta, "missing_optional", tsarc_valid_kube_name,
			KUBE_NAME_RULE, TSARC_EUNSAFE, where)))
		return rc;
	snprintf(where, sizeof(where), "stream %.100s of the snapshot: restore", stream ? stream : "?");
	return tsarc_recipe_check(cJSON_GetObjectItemCaseSensitive(meta, "restore"),
		TSARC_EUNSAFE, where);
}

/* The fields of a component that reach a shell, a command line or a path. */
static int check_component_names(const cJSON *c, const char *origin)
{
	char where[1200];
	int rc;

	snprintf(where, sizeof(where), "%s: component '%s'", origin, c->string);
	if ((rc = check_env_field(c, "password_env", TSARC_ECONFIG, where)) ||
		(rc = check_env_field(c, "pod_password_env", TSARC_ECONFIG, where)) ||
		(rc = check_env_map(c, "env", TSARC_ECONFIG, where)) ||
		(rc = check_env_map(c, "pod_env", TSARC_ECONFIG, where)) ||
		(rc = check_string_field(c, "resource", tsarc_valid_kube_type, KUBE_TYPE_RULE,
			TSARC_ECONFIG, where)) ||
		(rc = check_string_array(c, "names", tsarc_valid_kube_name, KUBE_NAME_RULE,
			TSARC_ECONFIG, where)) ||
		(rc = check_string_array(c, "optional_names", tsarc_valid_kube_name,
			KUBE_NAME_RULE, TSARC_ECONFIG, where)))
		return rc;
	snprintf(where, sizeof(where), "%s: component '%s': restore", origin, c->string);
	return tsarc_recipe_check(cJSON_GetObjectItemCaseSensitive(c, "restore"), TSARC_ECONFIG,
		where);
}

static int validate(tsarc_deploy *d)
{
	static const char *const tkeys[] = {"type", "binary", "context", "namespace",
		"kubeconfig", "selector_style", "resources_dir", "pass_env", NULL};
	const cJSON *tr = cJSON_GetObjectItemCaseSensitive(d->eff, "transport");
	const cJSON *comps = cJSON_GetObjectItemCaseSensitive(d->eff, "components"), *c, *o;
	const cJSON *par = cJSON_GetObjectItemCaseSensitive(d->eff, "parallel");
	const char *type = tsarc_spec_str(tr, "type");
	int rc;

	if (!cJSON_IsObject(tr) || !type || (strcmp(type, "local") && strcmp(type, "kube")))
		return tsarc_error_set(TSARC_ECONFIG, "%s: transport.type must be \"local\" or "
			"\"kube\"", d->origin);
	if ((rc = tsarc_spec_check_keys(tr, "(transport)", tkeys)))
		return rc;
	{
		char where[1100];
		snprintf(where, sizeof(where), "%s: transport", d->origin);
		if ((rc = check_string_array(tr, "pass_env", tsarc_valid_env_name, ENV_RULE,
			     TSARC_ECONFIG, where)))
			return rc;
	}
	if (par) {
		if (!cJSON_IsNumber(par) || par->valuedouble < 1 || par->valuedouble > PARALLEL_MAX ||
			par->valuedouble != (double)(int)par->valuedouble)
			return tsarc_error_set(TSARC_ECONFIG, "%s: parallel must be a whole number "
				"from 1 to %d", d->origin, PARALLEL_MAX);
		d->parallel = (unsigned)par->valuedouble;
	}
	if (!cJSON_IsObject(comps) || !cJSON_GetArraySize(comps))
		return tsarc_error_set(TSARC_ECONFIG, "%s: no components (a profile or "
			"\"components\" describes them)", d->origin);
	cJSON_ArrayForEach(c, comps) {
		const char *kind = tsarc_spec_str(c, "kind"), *ctr;
		const tsarc_kind *src;
		const cJSON *c2;
		/* Each name once. */
		if (!valid_component_name(c->string))
			return tsarc_error_set(TSARC_ECONFIG, "%s: component name '%s' must be non-empty, "
				"without spaces, commas or slashes", d->origin, c->string);
		cJSON_ArrayForEach(c2, comps) {
			if (c2 == c)
				break;
			if (!strcmp(c2->string, c->string))
				return tsarc_error_set(TSARC_ECONFIG, "%s: component '%s' is given twice",
					d->origin, c->string);
		}
		if (!cJSON_IsObject(c))
			return tsarc_error_set(TSARC_ECONFIG, "%s: component '%s' must be an object",
				d->origin, c->string);
		if (!kind || !(src = tsarc_kind_find(kind)))
			return tsarc_error_set(TSARC_ECONFIG, "%s: component '%s': kind must be one of "
				"mysql, postgres, redis, files, resources, exec", d->origin, c->string);
		if ((rc = src->validate(c, c->string))) {
			tsarc_error_prefix("%s", d->origin);
			return rc;
		}
		if ((rc = check_component_names(c, d->origin)))
			return rc;
		if ((ctr = tsarc_spec_str(c, "transport")) && strcmp(ctr, "local") &&
			strcmp(ctr, "kube"))
			return tsarc_error_set(TSARC_ECONFIG, "%s: component '%s': transport must be "
				"\"local\" or \"kube\"", d->origin, c->string);
		if ((o = cJSON_GetObjectItemCaseSensitive(c, "enabled")) && !cJSON_IsBool(o))
			return tsarc_error_set(TSARC_ECONFIG, "%s: component '%s': enabled must be "
				"true or false", d->origin, c->string);
		if ((o = cJSON_GetObjectItemCaseSensitive(c, "required")) && !cJSON_IsBool(o))
			return tsarc_error_set(TSARC_ECONFIG, "%s: component '%s': required must be "
				"true or false", d->origin, c->string);
		if ((o = cJSON_GetObjectItemCaseSensitive(c, "external")) && !cJSON_IsBool(o))
			return tsarc_error_set(TSARC_ECONFIG, "%s: component '%s': external must be "
				"true or false", d->origin, c->string);
	}
	return 0;
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

/* Fills in default stream names, so that the effective config says them. */
static int default_streams(tsarc_deploy *d)
{
	cJSON *comps = cJSON_GetObjectItemCaseSensitive(d->eff, "components"), *c;

	cJSON_ArrayForEach(c, comps) {
		const tsarc_kind *src = tsarc_kind_find(tsarc_spec_str(c, "kind"));
		char name[1100];
		if (tsarc_spec_str(c, "stream"))
			continue;
		snprintf(name, sizeof(name), "%s%s", c->string, src->extension);
		cJSON_DeleteItemFromObjectCaseSensitive(c, "stream");
		if (!cJSON_AddStringToObject(c, "stream", name))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	return 0;
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
	cJSON_Delete(d->eff);
	free(d->origin);
	free(d);
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
