/*
 * The exec kind: a user-given command whose stdout is the stream (an
 * Oracle system database, anything the profile does not know). `command`
 * is an argv array; `script` a string for `sh -c`. Secrets reach it through
 * `env` (NAME: variable of our environment, local transport) or
 * `pod_env` (NAME: variable of the pod, kube transport), never argv.
 * Its restore streams into the target configuration's `restore.command`
 * with the same variables.
 */
#include "kind.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const EXEC_FIELDS[] = {"kind", "enabled", "required", "stream",
	"transport", "workload", "selector", "container", "restore", "command", "script", "env",
	"pod_env", "version_command", "description", NULL};

static int exec_validate(const cJSON *spec, const char *name)
{
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(spec, "command");
	const char *script = tsarc_spec_str(spec, "script");

	if (!!cmd == !!script)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': an exec component needs "
			"either \"command\" (an array) or \"script\" (a string)", name);
	if (cmd && (!cJSON_IsArray(cmd) || !cJSON_GetArraySize(cmd)))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': \"command\" must be a "
			"non-empty array of strings", name);
	/* env and pod_env are checked with every component's fields
	 * (COMPONENT_FIELDS in config.c), names and values. */
	return 0;
}

static int exec_env(const tsarc_component *c, tsarc_cmd *cmd)
{
	const cJSON *v;
	int rc;

	/* Children see none of our environment but what is allowed: `env` is
	 * how a variable of ours reaches the command (through the exec's stdin
	 * in a pod). */
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(c->spec, "env")) {
		const char *val = getenv(v->valuestring);
		if (!val)
			return tsarc_error_set(TSARC_ECONFIG, "component '%s': env.%s names %s, which "
				"is not set", c->name, v->string, v->valuestring);
		if ((rc = tsarc_cmd_env(cmd, v->string, val)))
			return rc;
	}
	if (c->tr->caps & TSARC_TR_IN_WORKLOAD)
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(c->spec, "pod_env"))
			if ((rc = tsarc_cmd_pod_env(cmd, v->string, v->valuestring)))
				return rc;
	return 0;
}

static int exec_prepare(tsarc_component *c, tsarc_production *out)
{
	const char *script = tsarc_spec_str(c->spec, "script");
	int rc;

	if (script) {
		if ((rc = tsarc_cmd_arg(&out->cmd, "sh")) || (rc = tsarc_cmd_arg(&out->cmd, "-c")) ||
			(rc = tsarc_cmd_arg(&out->cmd, script)))
			return rc;
	} else if ((rc = tsarc_spec_add_args(&out->cmd, c->spec, "command", c->name)))
		return rc;
	if ((rc = exec_env(c, &out->cmd)))
		return rc;
	if ((rc = tsarc_spec_add_args(&out->version_cmd, c->spec, "version_command", c->name)))
		return rc;
	if (!(out->meta = cJSON_CreateObject()) ||
		!cJSON_AddItemToObject(out->meta, "command",
			cJSON_Duplicate(script ? cJSON_GetObjectItemCaseSensitive(c->spec, "script")
					       : cJSON_GetObjectItemCaseSensitive(c->spec, "command"), 1)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return 0;
}

/* ---- restore: the stream into a user-given consumer ---- */

static int exec_restore(tsarc_restore_ctx *r, tsarc_step *s)
{
	const cJSON *command = cJSON_GetObjectItemCaseSensitive(s->recipe, "command"), *a;
	tsarc_component c;
	tsarc_cmd cmd;
	char what[300];
	int rc;

	if (!cJSON_IsArray(command) || !cJSON_GetArraySize(command))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': restore needs \"command\" "
			"(an array of strings) to consume the stream", s->component);
	if ((rc = tsarc_step_component(r, s, &c)))
		return rc;
	tsarc_cmd_init(&cmd);
	cJSON_ArrayForEach(a, command)
		if (!rc && (!cJSON_IsString(a) || (rc = tsarc_cmd_arg(&cmd, a->valuestring))))
			rc = rc ? rc : tsarc_error_set(TSARC_ECONFIG, "component '%s': restore.command "
				"must hold strings", s->component);
	/* The target config's env mapping, never the snapshot's. */
	if (!rc)
		rc = exec_env(&c, &cmd);
	if (!rc)
		rc = c.tr->locate(c.tr, &c);
	if (!rc) {
		snprintf(what, sizeof(what), "component '%s': %s", s->component, cmd.argv[0]);
		if (!(rc = tsarc_restore_stream_into(r, &c, &cmd, s->st, NULL, NULL, what)))
			tsarc_step_note(s, "%llu bytes into %s", (unsigned long long)s->st->size, cmd.argv[0]);
	}
	tsarc_cmd_free(&cmd);
	tsarc_component_clear(&c);
	return rc;
}

static void exec_describe(tsarc_restore_ctx *r, const tsarc_step *s, const char *where,
	cJSON *plan)
{
	(void)r;
	(void)s;
	(void)where;
	cJSON_AddStringToObject(plan, "target", "restore.command");
}

const tsarc_kind tsarc_kind_exec = {
	.name = "exec", .extension = ".dump", .runs_in_pod = 1, .action = "exec",
	.action_for_any_kind = 1, .target = TSARC_TARGET_COMMAND, .fields = EXEC_FIELDS,
	.validate = exec_validate,
	.dump = exec_prepare, .describe = exec_describe, .restore = exec_restore};
