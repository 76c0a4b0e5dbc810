/* Deployment configuration: a profile with the user's config merged over it. */
#include "component.h"
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

static int validate(tsarc_deploy *d)
{
	static const char *const tkeys[] = {"type", "binary", "context", "namespace",
		"kubeconfig", "selector_style", "resources_dir", NULL};
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
		const char *kind = tsarc_spec_str(c, "kind"), *ctr, *p;
		const tsarc_source *src;
		const cJSON *c2;
		/* Names go into stream names, --only lists (comma-separated) and
		 * reports: printable, no separators, each once. */
		for (p = c->string; *p; p++)
			if ((unsigned char)*p <= ' ' || *p == ',' || *p == '/' || *p == 0x7f)
				break;
		if (!c->string[0] || *p)
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
		if (!kind || !(src = tsarc_source_find(kind)))
			return tsarc_error_set(TSARC_ECONFIG, "%s: component '%s': kind must be one of "
				"mysql, postgres, redis, files, resources, exec", d->origin, c->string);
		if ((rc = src->validate(c, c->string))) {
			tsarc_error_prefix("%s", d->origin);
			return rc;
		}
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
		const tsarc_source *src = tsarc_source_find(tsarc_spec_str(c, "kind"));
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
