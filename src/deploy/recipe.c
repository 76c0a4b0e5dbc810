/*
 * Restore recipes, typed, and the snapshot metadata a restore reads. A
 * recipe comes from two places: the configuration (the target's, trusted
 * as far as a configuration is) and the copy a snapshot carries (anyone
 * who can write the repository writes it). Both are parsed by one parser
 * (tsarc_recipe_parse), each field checked for its type and, where it
 * reaches a shell, a command line or a path, for the rule of its names;
 * the merged recipe of a step is then checked for what its action needs
 * (tsarc_recipe_require) before the first step of a restore writes.
 */
#include "component.h"
#include "config.h"
#include "error_save.h"
#include "kind.h"
#include "mysqlguard.h"
#include "rewrite.h"
#include "tree_restore.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <string.h>

int tsarc_recipe_action_check(const char *action, const char *kind, const char *where)
{
	const tsarc_kind *k;
	tsarc_saved_error e;
	const char *msg;
	int rc;

	/* The kinds say which actions exist and who may name them. */
	if (!(rc = tsarc_kind_for_action(kind, action, "", &k)))
		return 0;
	tsarc_error_save(&e);
	msg = tsarc_error_saved_message(&e);
	/* "component '': action sql needs kind mysql or postgres" */
	rc = tsarc_error_set(rc, "%s.action: %s", where, strstr(msg, "': ") ?
		strstr(msg, "': ") + 3 : msg);
	tsarc_error_forget(&e);
	return rc;
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

/* What a MySQL restore does with DEFINER clauses (dbconn.h). */
static int valid_definer(const char *s)
{
	return !strcmp(s, "strip") || !strcmp(s, "keep");
}

/* What a PostgreSQL restore does with owners the target lacks (dbconn.h). */
static int valid_owner(const char *s)
{
	return !strcmp(s, "map") || !strcmp(s, "keep");
}

int tsarc_valid_tool(const char *s)
{
	return s[0] && s[0] != '-';
}

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A recipe's fields, in the order they are checked. */
static const tsarc_field_rule RECIPE_FIELDS[] = {
	TSARC_POD_ENV_FIELDS,
	{"config_map", TSARC_FIELD_STRING, tsarc_valid_kube_name, TSARC_KUBE_NAME_RULE},
	{"rollout", TSARC_FIELD_STRING, tsarc_valid_kube_name, TSARC_KUBE_NAME_RULE},
	{"skip_when_migrating", TSARC_FIELD_STRINGS, tsarc_valid_kube_name, TSARC_KUBE_NAME_RULE},
	{"never_apply", TSARC_FIELD_STRINGS, tsarc_valid_kube_name, TSARC_KUBE_NAME_RULE},
	{"domain_fields", TSARC_FIELD_STRINGS, tsarc_valid_field_path, TSARC_FIELD_PATH_RULE},
	{"target_keeps", TSARC_FIELD_STRINGS, tsarc_valid_keep_path, TSARC_KEEP_PATH_RULE},
	{"create_database_options", TSARC_FIELD_STRING, valid_sql_options,
		"words of letters, digits, '_' and '='"},
	{"tool", TSARC_FIELD_STRING, tsarc_valid_tool, "a command name"},
	{"definer", TSARC_FIELD_STRING, valid_definer, "\"strip\" or \"keep\""},
	{"owner", TSARC_FIELD_STRING, valid_owner, "\"map\" or \"keep\""},
	{"action", TSARC_FIELD_STRING, NULL, NULL},
	{"path", TSARC_FIELD_STRING, NULL, NULL},
	{"config_file", TSARC_FIELD_STRING, NULL, NULL},
	{"data_dir", TSARC_FIELD_STRING, NULL, NULL},
	{"config_key", TSARC_FIELD_STRING, NULL, NULL},
	{"options", TSARC_FIELD_STRINGS, NULL, NULL},
	{"command", TSARC_FIELD_STRINGS, NULL, NULL},
	{"start_command", TSARC_FIELD_STRINGS, NULL, NULL},
	{"domain_columns", TSARC_FIELD_STRINGS, NULL, NULL},
	{NULL, TSARC_FIELD_STRING, NULL, NULL},
};

int tsarc_recipe_parse(const cJSON *json, int code, const char *where, tsarc_recipe *out)
{
	const cJSON *v;
	int rc;

	memset(out, 0, sizeof(*out));
	out->clean = -1;
	out->json = json;
	if (!json)
		return 0;
	if (!cJSON_IsObject(json))
		return tsarc_error_set(code, "%s must be an object", where);
	if ((rc = tsarc_check_fields(json, RECIPE_FIELDS, code, where)))
		return rc;
	if ((v = cJSON_GetObjectItemCaseSensitive(json, "order"))) {
		if (!cJSON_IsNumber(v))
			return tsarc_bad_field(code, where, "order", "a number");
		out->order = v->valuedouble;
		out->has_order = 1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(json, "clean"))) {
		if (!cJSON_IsBool(v))
			return tsarc_bad_field(code, where, "clean", "true or false");
		out->clean = cJSON_IsTrue(v);
	}
	out->action = str(json, "action");
	out->path = str(json, "path");
	out->config_file = str(json, "config_file");
	out->config_map = str(json, "config_map");
	out->config_key = str(json, "config_key");
	out->rollout = str(json, "rollout");
	out->data_dir = str(json, "data_dir");
	out->tool = str(json, "tool");
	out->pod_password_env = str(json, "pod_password_env");
	out->create_database_options = str(json, "create_database_options");
	out->command = cJSON_GetObjectItemCaseSensitive(json, "command");
	out->start_command = cJSON_GetObjectItemCaseSensitive(json, "start_command");
	out->options = cJSON_GetObjectItemCaseSensitive(json, "options");
	out->domain_columns = cJSON_GetObjectItemCaseSensitive(json, "domain_columns");
	out->skip_when_migrating = cJSON_GetObjectItemCaseSensitive(json, "skip_when_migrating");
	out->never_apply = cJSON_GetObjectItemCaseSensitive(json, "never_apply");
	out->domain_fields = cJSON_GetObjectItemCaseSensitive(json, "domain_fields");
	out->env = cJSON_GetObjectItemCaseSensitive(json, "env");
	out->pod_env = cJSON_GetObjectItemCaseSensitive(json, "pod_env");
	return 0;
}

/* A field a recipe has: a row of RECIPE_FIELDS, or one read for its own
 * type by tsarc_recipe_parse, or only shown (the profile's "note"). */
static int recipe_key(const char *key)
{
	static const char *const others[] = {"order", "clean", "note", NULL};
	const tsarc_field_rule *r;
	size_t i;

	for (r = RECIPE_FIELDS; r->key; r++)
		if (!strcmp(r->key, key))
			return 1;
	for (i = 0; others[i]; i++)
		if (!strcmp(others[i], key))
			return 1;
	return 0;
}

int tsarc_recipe_check_keys(const cJSON *json, const char *where)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, json)
		if (!recipe_key(item->string))
			return tsarc_error_set(TSARC_ECONFIG, "%s: unknown field '%s'", where,
				item->string);
	return 0;
}

static int missing(const char *where, const char *field, const char *why)
{
	return tsarc_error_set(TSARC_ECONFIG, "%s.%s is required: %s", where, field, why);
}

/* Whether a Redis restore will be the swap (its configuration and a
 * restart needed): "mode" "rdb", or "auto" in the server's own workload or
 * with its configuration named; else it is online (docs/redis.md). */
static int redis_swaps(const tsarc_recipe *r, const cJSON *spec, const tsarc_transport *tr)
{
	const char *mode = str(spec, "mode");
	int external = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(spec, "external"));

	if (mode && strcmp(mode, "auto"))
		return !strcmp(mode, "rdb");
	return ((tr->caps & TSARC_TR_IN_WORKLOAD) && !external) ||
		(tr->config_field && str(r->json, tr->config_field));
}

int tsarc_recipe_require(const tsarc_recipe *r, const char *action, const char *kind,
	const cJSON *spec, const tsarc_transport *tr, const char *where)
{
	char rwhere[1400];

	int rc;

	tsarc_json_path(rwhere, sizeof(rwhere), where, "restore");
	if ((rc = tsarc_recipe_action_check(action, kind, rwhere)))
		return rc;
	if (!strcmp(action, "exec") && (!cJSON_IsArray(r->command) ||
		!cJSON_GetArraySize(r->command)))
		return missing(rwhere, "command", "restore needs \"command\" of the target "
			"configuration (an array of strings) to consume the stream");
	if (!strcmp(action, "replace-tree") && !str(spec, "path") && !r->path)
		return tsarc_error_set(TSARC_ECONFIG, "%s.path (or %s.path) is required: no "
			"\"path\" to restore into", where, rwhere);
	if (!strcmp(action, "redis-rdb") && redis_swaps(r, spec, tr)) {
		if (!tr->read_config || !tr->write_config || !tr->config_field)
			return tsarc_error_set(TSARC_ECONFIG, "%s: the %s transport cannot replace a "
				"server's configuration, which the Redis swap needs", where, tr->type);
		/* The field that names the configuration where this transport
		 * keeps it: a file here, a ConfigMap in a cluster. */
		if (!str(r->json, tr->config_field) || !str(r->json, tr->config_field)[0])
			return missing(rwhere, tr->config_field, "the Redis swap switches persistence "
				"off there and restarts the server");
		if (tr->rollout && !r->rollout && !str(spec, "workload"))
			return tsarc_error_set(TSARC_ECONFIG, "%s.rollout (or %s.workload) is "
				"required: the Redis swap restarts that workload", rwhere, where);
	}
	return 0;
}

void tsarc_recipe_keep_snapshot_fields(cJSON *recipe)
{
	static const char *const kept[] = {"order", "clean", "skip_when_migrating",
		"never_apply", "domain_fields", "domain_columns", "create_database_options",
		"definer", "owner", "note", NULL};
	cJSON *f, *next;
	size_t i;

	for (f = recipe ? recipe->child : NULL; f; f = next) {
		next = f->next;
		for (i = 0; kept[i] && !(f->string && !strcmp(f->string, kept[i])); i++)
			;
		if (!kept[i])
			cJSON_Delete(cJSON_DetachItemViaPointer(recipe, f));
	}
}

int tsarc_recipe_check(const cJSON *recipe, int code, const char *where)
{
	tsarc_recipe r;

	return tsarc_recipe_parse(recipe, code, where, &r);
}

int tsarc_stream_meta_check(const char *stream, const cJSON *meta)
{
	const cJSON *v;
	char where[200];
	int rc;

	if (!meta)
		return 0;
	snprintf(where, sizeof(where), "stream %.100s of the snapshot: metadata",
		stream ? stream : "?");
	if (!cJSON_IsObject(meta))
		return tsarc_error_set(TSARC_EUNSAFE, "%s must be an object", where);
	if ((v = cJSON_GetObjectItemCaseSensitive(meta, "component")) &&
		(!cJSON_IsString(v) || !tsarc_valid_component_name(v->valuestring)))
		return tsarc_bad_field(TSARC_EUNSAFE, where, "component", "a component name (no "
			"spaces, commas or slashes)");
	if ((rc = tsarc_check_string_field(meta, "kind", tsarc_valid_env_name, "a component kind",
		     TSARC_EUNSAFE, where)) ||
		(rc = tsarc_check_string_field(meta, "resource", tsarc_valid_kube_type,
			TSARC_KUBE_TYPE_RULE, TSARC_EUNSAFE, where)) ||
		(rc = tsarc_check_string_array(meta, "items", tsarc_valid_kube_name,
			TSARC_KUBE_NAME_RULE, TSARC_EUNSAFE, where)) ||
		(rc = tsarc_check_string_array(meta, "missing_optional", tsarc_valid_kube_name,
			TSARC_KUBE_NAME_RULE, TSARC_EUNSAFE, where)) ||
		(rc = tsarc_check_string_array(meta, "missing_required", tsarc_valid_kube_name,
			TSARC_KUBE_NAME_RULE, TSARC_EUNSAFE, where)))
		return rc;
	/* What a MySQL dump holds that its target may refuse: the plan writes
	 * its names into SQL. */
	{
		tsarc_mysql_dump_facts facts;
		if ((rc = tsarc_mysql_facts_from_meta(meta, &facts, where)) < 0)
			return rc;
	}
	/* What a tree restore will leave out of files that shrank. */
	{
		tsarc_tree_padding *pad = NULL;
		if ((rc = tsarc_tree_padding_parse(meta, &pad))) {
			tsarc_error_prefix("%s", where);
			return rc;
		}
		tsarc_tree_padding_free(pad);
	}
	snprintf(where, sizeof(where), "stream %.100s of the snapshot: metadata.restore",
		stream ? stream : "?");
	return tsarc_recipe_check(cJSON_GetObjectItemCaseSensitive(meta, "restore"),
		TSARC_EUNSAFE, where);
}
