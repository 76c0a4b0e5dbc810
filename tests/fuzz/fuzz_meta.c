/* The snapshot metadata a restore trusts: each stream's component, kind,
 * resource type and list of items, the zeros a tree restore leaves out
 * of files that shrank ("padded"), and the restore recipe it carries
 * (variable names for the pod's shell, ConfigMap and workload names for
 * kubectl, CREATE DATABASE options for SQL), and what a MySQL dump holds
 * that its target may refuse (names a restore's plan writes into SQL, in
 * a question that must only read).
 * Whoever can write the
 * repository writes this: whatever it says, the check must either refuse
 * it (TSARC_EUNSAFE, with a message) or leave only values that cannot
 * reach outside their place, which this target re-checks with rules of its
 * own; a restore plan (--dry-run) of it must refuse exactly what the check
 * refuses. Nothing here runs a command or writes a file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"
#include "deploy.h"
#include "mysqlguard.h"
#include "rewrite.h"
#include "snapshot.h"
#include "sqlreads.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (256u * 1024u)

/* A fixed target: the 3scale profile on this host, no resources_dir (the
 * plan then reads nothing), so the plan is a function of the input. */
static const char TARGET[] = "{\"transport\": {\"type\": \"local\"}, \"components\": {"
	"\"oracle\": {\"kind\": \"exec\", \"command\": [\"cat\"], \"stream\": \"oracle.dmp\","
	" \"restore\": {\"command\": [\"cat\"]}}}}";

static int only_chars(const char *s, const char *extra, int upper)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
			    (upper && *s >= 'A' && *s <= 'Z') || strchr(extra, *s)))
			return 0;
	return 1;
}

/* Goes nowhere as a shell word after NAME="$ or as `read -r NAME`. */
static void must_be_variable(const cJSON *v)
{
	if (!v)
		return;
	if (!cJSON_IsString(v) || !v->valuestring[0] || (v->valuestring[0] >= '0' &&
		v->valuestring[0] <= '9') || !only_chars(v->valuestring, "_", 1))
		abort();
}

/* Not an option to kubectl, not a path step. */
static void must_be_kube_name(const cJSON *v, int upper)
{
	if (!v)
		return;
	if (!cJSON_IsString(v) || !v->valuestring[0] || v->valuestring[0] == '-' ||
		v->valuestring[0] == '.' || strstr(v->valuestring, "..") ||
		!only_chars(v->valuestring, "-.", upper) || strlen(v->valuestring) > 253)
		abort();
}

static void must_be_kube_names(const cJSON *arr)
{
	const cJSON *v;

	if (arr && !cJSON_IsArray(arr))
		abort();
	cJSON_ArrayForEach(v, arr)
		must_be_kube_name(v, 0);
}

static void must_be_env_map(const cJSON *m)
{
	const cJSON *v;

	if (m && !cJSON_IsObject(m))
		abort();
	cJSON_ArrayForEach(v, m) {
		cJSON key;
		memset(&key, 0, sizeof(key));
		key.type = cJSON_String;
		key.valuestring = v->string;
		must_be_variable(&key);
		must_be_variable(v);
	}
}

/* What an accepted stream may say, by this target's own rules. */
static void check_accepted(const tsarc_stream *st)
{
	const cJSON *meta = st->meta, *recipe, *v;

	if (!meta)
		return;
	if ((v = cJSON_GetObjectItemCaseSensitive(meta, "component")) &&
		(!cJSON_IsString(v) || !v->valuestring[0] || strpbrk(v->valuestring, "/, \t\n")))
		abort();
	must_be_kube_name(cJSON_GetObjectItemCaseSensitive(meta, "resource"), 1);
	must_be_kube_names(cJSON_GetObjectItemCaseSensitive(meta, "items"));
	must_be_kube_names(cJSON_GetObjectItemCaseSensitive(meta, "missing_optional"));
	/* What a tree restore leaves out of files that shrank: whole,
	 * positive byte counts of named entries. */
	if ((v = cJSON_GetObjectItemCaseSensitive(meta, "padded"))) {
		const cJSON *item;
		if (!cJSON_IsArray(v))
			abort();
		cJSON_ArrayForEach(item, v) {
			const cJSON *path = cJSON_GetObjectItemCaseSensitive(item, "path");
			const cJSON *zeros = cJSON_GetObjectItemCaseSensitive(item, "zeros");
			if (!cJSON_IsString(path) || !path->valuestring[0] || !cJSON_IsNumber(zeros) ||
				!(zeros->valuedouble >= 1 && zeros->valuedouble <= 9007199254740992.0) ||
				zeros->valuedouble != (double)(uint64_t)zeros->valuedouble)
				abort();
		}
	}
	/* What a MySQL dump holds: counts, and names the step writes into
	 * its SQL unquoted, plain ones only. */
	if ((v = cJSON_GetObjectItemCaseSensitive(meta, "mysql_dump"))) {
		static const char *const lists[] = {"collations", "charsets"};
		const cJSON *n;
		size_t k, total = 0;
		if (!cJSON_IsObject(v))
			abort();
		for (k = 0; k < 2; k++) {
			const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, lists[k]);
			if (!cJSON_IsArray(a))
				abort();
			cJSON_ArrayForEach(n, a) {
				if (!cJSON_IsString(n) || !n->valuestring[0] ||
					strlen(n->valuestring) > 64 || !only_chars(n->valuestring, "_", 0))
					abort();
				total++;
			}
		}
		if (total > 16)
			abort();
		/* The question the plan and the step ask of them only reads. */
		{
			tsarc_mysql_dump_facts p;
			char *q = NULL;
			if (tsarc_mysql_facts_from_meta(meta, &p, "fuzz") != 1 ||
				tsarc_mysql_names_query(&p, &q) || (q && !tsarc_sql_reads(q)))
				abort();
			free(q);
		}
	}
	if (!(recipe = cJSON_GetObjectItemCaseSensitive(meta, "restore")))
		return;
	if (!cJSON_IsObject(recipe))
		abort();
	must_be_variable(cJSON_GetObjectItemCaseSensitive(recipe, "pod_password_env"));
	must_be_env_map(cJSON_GetObjectItemCaseSensitive(recipe, "env"));
	must_be_env_map(cJSON_GetObjectItemCaseSensitive(recipe, "pod_env"));
	must_be_kube_name(cJSON_GetObjectItemCaseSensitive(recipe, "config_map"), 0);
	must_be_kube_name(cJSON_GetObjectItemCaseSensitive(recipe, "rollout"), 0);
	must_be_kube_names(cJSON_GetObjectItemCaseSensitive(recipe, "skip_when_migrating"));
	must_be_kube_names(cJSON_GetObjectItemCaseSensitive(recipe, "never_apply"));
	if ((v = cJSON_GetObjectItemCaseSensitive(recipe, "domain_fields"))) {
		const cJSON *f;
		if (!cJSON_IsArray(v))
			abort();
		cJSON_ArrayForEach(f, v)
			if (!cJSON_IsString(f) || !tsarc_valid_field_path(f->valuestring))
				abort();
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(recipe, "create_database_options")) &&
		(!cJSON_IsString(v) || !only_chars(v->valuestring, "_= ", 1)))
		abort();
	if ((v = cJSON_GetObjectItemCaseSensitive(recipe, "tool")) &&
		(!cJSON_IsString(v) || v->valuestring[0] == '-'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static tsarc_deploy *target;
	tsarc_snapshot *snap = NULL;
	tsarc_restore_opts o;
	cJSON *report = NULL;
	size_t i;
	int refused = 0, rc;

	if (size > INPUT_MAX)
		return 0;
	if (!target && tsarc_deploy_load_text(&target, TARGET, "target.json"))
		abort();
	if (tsarc_snapshot_from_json(&snap, (const char *)data, size))
		return 0;
	for (i = 0; i < snap->nstreams; i++) {
		rc = tsarc_stream_meta_check(snap->streams[i].name, snap->streams[i].meta);
		if (rc == 0) {
			check_accepted(&snap->streams[i]);
			continue;
		}
		if (rc != TSARC_EUNSAFE || !tsarc_error_last()->message ||
			!tsarc_error_last()->message[0])
			abort();
		refused = 1;
	}
	/* The plan refuses what the check refuses, and only fails cleanly. */
	memset(&o, 0, sizeof(o));
	o.dry_run = 1;
	o.skip_endpoint_secrets = 1;
	rc = tsarc_deploy_restore(target, NULL, snap, &o, &report);
	if (refused && rc != TSARC_EUNSAFE)
		abort();
	if (!rc && !report)
		abort();
	if (rc && (!tsarc_error_last()->message || !tsarc_error_last()->message[0]))
		abort();
	cJSON_Delete(report);
	tsarc_snapshot_free(snap);
	return 0;
}
