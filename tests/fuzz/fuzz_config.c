/* Deployment configs are hand-edited, copied between clusters and pasted
 * from tickets: whatever one says, loading it must end in a clear error or
 * in a configuration that every later step (--print-config, the checks a
 * backup makes before it runs, a restore's --dry-run plan) can use without
 * crashing. Nothing here runs a command or reads a file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kind.h"
#include "names.h"
#include "deploy.h"
#include "snapshot.h"
#include "tsarc/errors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A config file is capped at 4 MiB; past a few KiB the fuzzer only makes
 * cJSON do more of the same. */
#define INPUT_MAX (256u * 1024u)

/* "profile": "dir/x.json" makes the loader read that file: a test of
 * fopen, not of the parser, and one that could block on a fifo. */
static int names_profile_file(const char *text)
{
	cJSON *doc = cJSON_ParseWithOpts(text, NULL, 1);
	const char *p = tsarc_spec_str(doc, "profile");
	int file = p && (strchr(p, '/') || strstr(p, ".json"));

	cJSON_Delete(doc);
	return file;
}

static void fail_unless_clear_error(int rc, const tsarc_deploy *d)
{
	const tsarc_error *e = tsarc_error_last();

	if (d || e->code != rc || !e->message || !e->message[0])
		abort();
}

/* The field checks a backup or restore makes of each component (ports,
 * option lists) on its way to building a command, short of running it. */
static void check_components(const cJSON *eff)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(eff, "components")) {
		tsarc_cmd cmd;
		int port;

		/* Every loaded component has a kind a source knows and a stream. */
		if (!tsarc_kind_find(tsarc_spec_str(c, "kind")) || !tsarc_spec_str(c, "stream"))
			abort();
		/* Both are recorded in snapshots and shown to operators: no
		 * control, bidi or invisible character, valid UTF-8 (names.h). */
		if (tsarc_text_problem(c->string) || tsarc_text_problem(tsarc_spec_str(c, "stream")))
			abort();
		(void)tsarc_spec_port(c, "port", c->string, &port);
		if (port < 0 || port > 65535)
			abort();
		tsarc_cmd_init(&cmd);
		(void)tsarc_spec_add_args(&cmd, c, "options", c->string);
		tsarc_cmd_free(&cmd);
	}
}

/* A snapshot as a backup of this very configuration would have written
 * it: one stream per enabled component carrying its restore recipe, plus
 * one that no component claims. No chunks: a dry run reads none. */
static tsarc_snapshot *snapshot_of(const cJSON *eff)
{
	const cJSON *comps = cJSON_GetObjectItemCaseSensitive(eff, "components"), *c;
	tsarc_snapshot *snap = calloc(1, sizeof(*snap));
	size_t n = (size_t)cJSON_GetArraySize(comps) + 1;

	if (!snap || !(snap->streams = calloc(n, sizeof(*snap->streams))))
		abort();
	strcpy(snap->id, "f022f022f022");
	cJSON_ArrayForEach(c, comps) {
		tsarc_stream *st = &snap->streams[snap->nstreams];
		const cJSON *restore = cJSON_GetObjectItemCaseSensitive(c, "restore");
		if (!tsarc_spec_bool(c, "enabled", 1))
			continue;
		if (!(st->name = strdup(tsarc_spec_str(c, "stream"))) ||
			!(st->kind = strdup(tsarc_spec_str(c, "kind"))) ||
			!(st->meta = cJSON_CreateObject()) ||
			!cJSON_AddStringToObject(st->meta, "component", c->string) ||
			!cJSON_AddStringToObject(st->meta, "kind", st->kind) ||
			(restore && !cJSON_AddItemToObject(st->meta, "restore",
				cJSON_Duplicate(restore, 1))))
			abort();
		st->size = 1;
		snap->nstreams++;
	}
	if (!(snap->streams[snap->nstreams].name = strdup("unclaimed.bin")))
		abort();
	snap->nstreams++;
	return snap;
}

static void dry_run_restore(tsarc_deploy *d)
{
	cJSON *transport = cJSON_GetObjectItemCaseSensitive(d->eff, "transport");
	tsarc_snapshot *snap;
	tsarc_restore_opts o;
	cJSON *report = NULL;
	const char *only[1];

	/* The local transport stats resources_dir when it starts: keep the
	 * plan a pure function of the input. The kube transport would run
	 * kubectl (a real one where it is installed: thousands of processes
	 * that ask a cluster); a binary that is not there runs nothing, and
	 * every call of the plan gets the transport's error instead. */
	cJSON_DeleteItemFromObjectCaseSensitive(transport, "resources_dir");
	if (cJSON_IsObject(transport)) {
		cJSON_DeleteItemFromObjectCaseSensitive(transport, "binary");
		cJSON_AddStringToObject(transport, "binary", "/nonexistent/tsarc-fuzz/kubectl");
	}
	snap = snapshot_of(d->eff);
	memset(&o, 0, sizeof(o));
	o.dry_run = 1;
	o.skip_endpoint_secrets = 1;
	o.target_namespace = "fuzz-target";
	o.rewrite_old = "example.com";
	o.rewrite_new = "example.net";
	if (tsarc_deploy_restore(d, NULL, snap, &o, &report) == 0 && !report)
		abort();
	cJSON_Delete(report);
	report = NULL;
	/* --only takes the other branches of the plan. The name is as given,
	 * "" included (tsarc_spec_str would make that NULL, which no caller
	 * passes). */
	if (snap->nstreams > 1 && snap->streams[0].meta) {
		only[0] = cJSON_GetObjectItemCaseSensitive(snap->streams[0].meta,
			"component")->valuestring;
		o.only = only;
		o.nonly = 1;
		(void)tsarc_deploy_restore(d, NULL, snap, &o, &report);
		cJSON_Delete(report);
	}
	tsarc_snapshot_free(snap);
}

/* What --print-config prints must load back to itself: it is how people
 * write their next config. */
static void check_print_config(const tsarc_deploy *d)
{
	tsarc_deploy *again = NULL, *thrice = NULL;
	char *printed = cJSON_Print(tsarc_deploy_effective(d)), *reprinted, *third;

	if (!printed || tsarc_deploy_load_text(&again, printed, "printed") != 0)
		abort();
	/* The first round may move keys (a default stream is appended); after
	 * it the text is a fixed point. */
	reprinted = cJSON_Print(tsarc_deploy_effective(again));
	if (!reprinted || tsarc_deploy_load_text(&thrice, reprinted, "reprinted") != 0 ||
		!(third = cJSON_Print(tsarc_deploy_effective(thrice))) || strcmp(reprinted, third))
		abort();
	free(third);
	free(reprinted);
	free(printed);
	tsarc_deploy_free(thrice);
	tsarc_deploy_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsarc_deploy *d = NULL;
	char *text;
	int rc;

	if (size > INPUT_MAX)
		return 0;
	if (!(text = malloc(size + 1)))
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (names_profile_file(text)) {
		free(text);
		return 0;
	}
	rc = tsarc_deploy_load_text(&d, text, "fuzz.json");
	free(text);
	if (rc) {
		fail_unless_clear_error(rc, d);
		return 0;
	}
	check_components(tsarc_deploy_effective(d));
	check_print_config(d);
	dry_run_restore(d);
	tsarc_deploy_free(d);
	return 0;
}
