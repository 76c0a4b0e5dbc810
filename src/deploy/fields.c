/*
 * Field checks shared by the configuration (config.c) and the restore
 * recipes and snapshot metadata (recipe.c). A message names the field by
 * its JSON path and the rule it breaks, never its value: the value may
 * come from a hostile snapshot and hold terminal escapes.
 */
#include "component.h"
#include "config.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <string.h>

void tsarc_json_path(char *out, size_t size, const char *parent, const char *key)
{
	/* The keys a dotted path shows as they are: what names of
	 * components and fields are made of. */
	int plain = key[0] != '\0' && strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789_-") == strlen(key);

	if (plain)
		snprintf(out, size, "%s%s%s", parent, parent[0] ? "." : "", key);
	else
		snprintf(out, size, "%s[\"%.100s\"]", parent, key);
}

int tsarc_bad_field(int code, const char *where, const char *key, const char *rule)
{
	char path[1400];

	tsarc_json_path(path, sizeof(path), where, key);
	return tsarc_error_set(code, "%s must be %s", path, rule);
}

int tsarc_valid_component_name(const char *s)
{
	const char *p;

	if (!s || !s[0])
		return 0;
	for (p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == ',' || *p == '/' || *p == 0x7f)
			return 0;
	return 1;
}

int tsarc_check_env_field(const cJSON *obj, const char *key, int code, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (v && (!cJSON_IsString(v) || !tsarc_valid_env_name(v->valuestring)))
		return tsarc_bad_field(code, where, key, TSARC_ENV_RULE);
	return 0;
}

/* "env" / "pod_env": variable names to variable names. */
int tsarc_check_env_map(const cJSON *obj, const char *key, int code, const char *where)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, key), *v;
	char path[1400];

	if (!m)
		return 0;
	if (!cJSON_IsObject(m))
		return tsarc_bad_field(code, where, key, "an object mapping variable names to "
			"variable names");
	tsarc_json_path(path, sizeof(path), where, key);
	cJSON_ArrayForEach(v, m) {
		if (!tsarc_valid_env_name(v->string))
			return tsarc_error_set(code, "%s: every name must be %s", path,
				TSARC_ENV_RULE);
		if (!cJSON_IsString(v) || !tsarc_valid_env_name(v->valuestring))
			return tsarc_error_set(code, "%s: every value must be %s", path,
				TSARC_ENV_RULE);
	}
	return 0;
}

int tsarc_check_string_array(const cJSON *obj, const char *key, int (*rule)(const char *),
	const char *rule_text, int code, const char *where)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key), *v;
	char path[1400];
	int i = 0;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return tsarc_bad_field(code, where, key, "an array of strings");
	tsarc_json_path(path, sizeof(path), where, key);
	cJSON_ArrayForEach(v, arr) {
		if (!cJSON_IsString(v))
			return tsarc_error_set(code, "%s[%d] must be a string", path, i);
		if (rule && !rule(v->valuestring))
			return tsarc_error_set(code, "%s[%d] must be %s", path, i, rule_text);
		i++;
	}
	return 0;
}

int tsarc_check_string_field(const cJSON *obj, const char *key, int (*rule)(const char *),
	const char *rule_text, int code, const char *where)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (v && (!cJSON_IsString(v) || (rule && !rule(v->valuestring))))
		return tsarc_bad_field(code, where, key, rule_text);
	return 0;
}

int tsarc_check_fields(const cJSON *obj, const tsarc_field_rule *rules, int code,
	const char *where)
{
	const tsarc_field_rule *r;
	int rc = 0;

	for (r = rules; r->key && !rc; r++)
		switch (r->shape) {
		case TSARC_FIELD_STRING:
			rc = tsarc_check_string_field(obj, r->key, r->valid,
				r->rule ? r->rule : "a string", code, where);
			break;
		case TSARC_FIELD_STRINGS:
			rc = tsarc_check_string_array(obj, r->key, r->valid, r->rule, code, where);
			break;
		case TSARC_FIELD_ENV:
			rc = tsarc_check_env_field(obj, r->key, code, where);
			break;
		case TSARC_FIELD_ENV_MAP:
			rc = tsarc_check_env_map(obj, r->key, code, where);
			break;
		}
	return rc;
}
