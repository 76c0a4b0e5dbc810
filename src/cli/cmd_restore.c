/*
 * tsarc restore SNAPSHOT --config FILE: brings a deployment back from a
 * snapshot, in the same place or (a migration) in another one. The
 * deployment work is in src/deploy/restore.c; this is the command line,
 * the repository lock and the report.
 */
#include "cli.h"
#include "deploy/deploy.h"
#include "interrupt.h"
#include "lock.h"
#include "metrics.h"
#include "snapshot.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char RESTORE_HELP[] =
	"Usage: tsarc restore SNAPSHOT --config FILE [options]\n"
	"\n"
	"Restores a deployment from SNAPSHOT (an id, a unique prefix, or latest) into\n"
	"the deployment FILE describes (same format as for backup; for a migration,\n"
	"the target's configuration). latest is the newest backup of a deployment\n"
	"(never an undo snapshot or a backup --stdin); where the repository holds the\n"
	"backups of several hosts, --host says whose. Steps run in the order of the restore recipes:\n"
	"Secrets, ConfigMaps, the APIManager, the system database, system-storage,\n"
	"zync, backend-redis, system-redis, then the post_restore hooks. The first\n"
	"failure stops the restore and the report says what was applied and what not.\n"
	"\n"
	"Options:\n";

typedef struct restore_state {
	const char *config;
	const char *host;  /* --host: whose backups SNAPSHOT names */
	char *only_text;   /* --only, split into o.only */
	char *rewrite;     /* --rewrite-domain, split into o.rewrite_old/new */
	tsarc_restore_opts o;
} restore_state;

static const cli_option RESTORE_OPTIONS[] = {
	{"config", 'c', "FILE", "the target deployment",
		CLI_STRING, offsetof(restore_state, config)},
	{"host", 9, "HOST", "the deployment whose backup to restore, as its\n"
		"backup recorded it (backup --host): latest is its\n"
		"newest, and an id of another host's is refused",
		CLI_STRING, offsetof(restore_state, host)},
	{"only", 1, "A,B,...", "restore only these components", CLI_OWN, 0},
	{"dry-run", 2, NULL, "print the plan (steps, streams, bytes, targets, what\n"
		"is replaced) and change nothing", CLI_FLAG, offsetof(restore_state, o.dry_run)},
	{"verify-first", 3, NULL, "download and verify every chunk before the first write",
		CLI_FLAG, offsetof(restore_state, o.verify_first)},
	{"undo-snapshot", 8, NULL, "first back up, from the target, what the restore\n"
		"replaces (a snapshot tagged undo); if a component's\n"
		"step fails or a signal stops the restore, restore\n"
		"that: the deployment is left as it was (a second\n"
		"signal stops the rollback)", CLI_FLAG, offsetof(restore_state, o.undo)},
	{"target-namespace", 4, "NS", "kube: restore into namespace NS",
		CLI_STRING, offsetof(restore_state, o.target_namespace)},
	{"rewrite-domain", 5, "OLD=NEW", "wildcard domain in ConfigMaps, the APIManager\n"
		"and the tenant domain columns of the system database", CLI_OWN, 0},
	{"skip-endpoint-secrets", 6, NULL, "leave out the Secrets that say where the databases\n"
		"are (system-database, backend-redis, system-redis,\n"
		"system-memcache), as for a migration to other databases",
		CLI_FLAG, offsetof(restore_state, o.skip_endpoint_secrets)},
	{"allow-source-target", 7, NULL, "let a migration write into the deployment or a\n"
		"database the snapshot was taken from (refused\n"
		"otherwise)", CLI_FLAG, offsetof(restore_state, o.allow_source_target)},
	{"allow-partial", 10, NULL, "restore a snapshot that lacks some enabled components\n"
		"of FILE, or holds some FILE leaves out or disables:\n"
		"the rest is restored, those are left as they are and\n"
		"listed (refused otherwise; --only restores the\n"
		"components it names without it)",
		CLI_FLAG, offsetof(restore_state, o.allow_partial)},
	{NULL, 0, NULL, "\n"
		"Every target (namespace, resources_dir, path, host, port, user, database) is\n"
		"resolved before the first write, from FILE and the target's own Secrets as\n"
		"they are before the restore; --dry-run prints each one and where it came from.\n"
		"A restore is a migration with --rewrite-domain or when the target deployment\n"
		"(kube context and namespace, or this host's resources_dir) is not the one the\n"
		"snapshot was taken from; a migration never takes an endpoint from the snapshot.\n"
		"\n"
		"Exit code 3: damaged data; nothing written with --verify-first, else the\n"
		"restore stopped at the damaged stream (see the report).\n"
		"\n", CLI_OWN, 0},
	{0},
};

/* --only and --rewrite-domain: copies, split in place later. */
static int restore_option(int opt, const char *arg, void *p)
{
	restore_state *s = p;

	switch (opt) {
	case 1:
		free(s->only_text);
		s->only_text = strdup(arg);
		return s->only_text ? 0 : EXIT_FAILURE_GENERIC;
	case 5:
		free(s->rewrite);
		s->rewrite = strdup(arg);
		return s->rewrite ? 0 : EXIT_FAILURE_GENERIC;
	default:
		return EXIT_USAGE;
	}
}

static void print_progress(void *payload, const char *line)
{
	(void)payload;
	cli_say("progress", "%s", line);
}

/* "  label: a b c", one line of the report, whole however long. */
static void say_list(const char *label, const cJSON *arr)
{
	tsarc_buf line = TSARC_BUF_INIT;
	const cJSON *x;

	tsarc_buf_puts(&line, label);
	cJSON_ArrayForEach(x, arr)
		if (cJSON_IsString(x))
			tsarc_buf_printf(&line, " %s", x->valuestring);
	tsarc_buf_append(&line, "", 1);
	if (tsarc_buf_status(&line) || !line.ptr)
		cli_say("report", "%s (could not be listed: out of memory)", label);
	else
		cli_say("report", "%s", (char *)line.ptr);
	tsarc_buf_dispose(&line);
}

/* --skip-endpoint-secrets: the keys of each Secret applied that stay the
 * target's (docs/config.md says the plan and the report name them), from
 * the plan's endpoint_keys_kept or the run's. */
static void say_endpoint_keys(const cJSON *kept_by_secret, int planned)
{
	const cJSON *kept;

	cJSON_ArrayForEach(kept, kept_by_secret) {
		char label[300];
		snprintf(label, sizeof(label), "      %s %s the target's endpoint keys (left out "
			"where it %s none):", kept->string ? kept->string : "?", planned ? "keeps" :
			"kept", planned ? "has" : "had");
		say_list(label, kept);
	}
}

/* --undo-snapshot: which snapshot holds what was replaced, and whether a
 * failed restore was rolled back from it. */
static void print_undo(const cJSON *report)
{
	const char *undo = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(report,
		"undo_snapshot"));
	const cJSON *rb = cJSON_GetObjectItemCaseSensitive(report, "rollback");
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rb, "status"));
	const cJSON *st;
	int failed = 0;

	if (!undo)
		return;
	cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(report, "steps")) {
		const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "status"));
		failed |= s && !strcmp(s, "failed");
	}
	cli_say("report", "  undo snapshot %.10s: what this restore replaced, as it was before", undo);
	if (status && !strcmp(status, "applied"))
		say_list("  rolled back from it:", cJSON_GetObjectItemCaseSensitive(rb, "components"));
	else if (status)
		say_list("  the rollback from it failed:",
			cJSON_GetObjectItemCaseSensitive(rb, "components"));
	else if (!failed)
		cli_say("report", "  tsarc restore %s undoes this restore", undo);
}

static void print_report(const cJSON *report, int dry_run)
{
	/* What a sql step's plan adds (db.c tsarc_sql_describe). */
	static const char *const sql_fields[] = {"database", "server", "definer", "tls", NULL};
	const cJSON *st, *a;
	const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(report,
		"migration_reason"));

	if (why)
		cli_say("report", "  a migration (%s): no endpoint is taken from the snapshot", why);
	else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(report, "in_place")))
		cli_say("report", "  in place: the snapshot was taken from this deployment");
	cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(report, "steps")) {
		const cJSON *plan = cJSON_GetObjectItemCaseSensitive(st, "plan");
		const char *stream = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "stream"));
		const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(st, "bytes");
		const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "status"));
		char sz[32] = "";
		if (cJSON_IsNumber(bytes))
			cli_format_bytes(sz, sizeof(sz), bytes->valuedouble);
		cli_say("step", "  %-18s %-13s %-22s %9s  %s",
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "component")),
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "action")),
			stream ? stream : "-", sz,
			dry_run && plan ? "planned" : status);
		if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(st, "converted_from")))
			cli_say("report", "      from %s",
				cJSON_GetObjectItemCaseSensitive(st, "converted_from")->valuestring);
		if (plan) {
			const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plan, "target"));
			const cJSON *rep = cJSON_GetObjectItemCaseSensitive(plan, "replaces");
			const cJSON *ep = cJSON_GetObjectItemCaseSensitive(plan, "endpoint");
			const cJSON *src = cJSON_GetObjectItemCaseSensitive(plan, "snapshot_source");
			const char *from = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ep, "from"));
			const char *stext = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(src, "text"));
			cli_say("report", "      -> %s (%s)", t ? t : "?",
				cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plan, "transport")));
			if (from)
				cli_say("report", "      endpoint from %s", from);
			if (stext)
				cli_say("report", "      snapshot's source: %s", stext);
			if (cJSON_IsString(rep))
				cli_say("report", "      replaces %s", rep->valuestring);
			else if (cJSON_IsArray(rep)) {
				/* A list is named when it has something, as "removes:"
				 * below and "not in the snapshot:" are. */
				const cJSON *creates = cJSON_GetObjectItemCaseSensitive(plan, "creates");
				const cJSON *left = cJSON_GetObjectItemCaseSensitive(plan, "left_out");
				if (cJSON_GetArraySize(rep))
					say_list("      replaces:", rep);
				if (cJSON_GetArraySize(creates))
					say_list("      creates:", creates);
				if (cJSON_GetArraySize(left))
					say_list("      leaves out:", left);
				say_endpoint_keys(cJSON_GetObjectItemCaseSensitive(plan,
					"endpoint_keys_kept"), 1);
				if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(plan, "removes")))
					say_list("      removes:",
						cJSON_GetObjectItemCaseSensitive(plan, "removes"));
			}
			for (const char *const *k = sql_fields; *k; k++) {
				const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(plan, *k));
				if (v)
					cli_say("report", "      %s: %s", *k, v);
			}
		} else {
			const char *note = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "note"));
			const cJSON *ep = cJSON_GetObjectItemCaseSensitive(st, "endpoint");
			const char *et = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ep, "text"));
			if (et)
				cli_say("report", "      -> %s", et);
			if (note)
				cli_say("report", "      %s", note);
			/* After a run as in its plan (before, --json only). */
			say_endpoint_keys(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
				st, "detail"), "endpoint_keys_kept"), 0);
		}
	}
	print_undo(report);
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(report, "warnings"))
		if (cJSON_IsString(a))
			cli_say("warning", "  warning: %s", a->valuestring);
	a = cJSON_GetObjectItemCaseSensitive(report, "absent_from_snapshot");
	if (cJSON_GetArraySize(a))
		say_list("  not in the snapshot:", a);
	a = cJSON_GetObjectItemCaseSensitive(report, "left_out_by_configuration");
	if (cJSON_GetArraySize(a))
		say_list("  in the snapshot, not restored by the configuration:", a);
}

/* Per component: applied (1) or not (0), and its stream's size. */
static void measure_report(const cJSON *report)
{
	const cJSON *st;
	double total = 0;

	cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(report, "steps")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st,
			"component"));
		const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st,
			"status"));
		const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(st, "bytes");
		int ok = status && !strcmp(status, "applied");
		if (!name)
			continue;
		if (ok && cJSON_IsNumber(bytes))
			total += bytes->valuedouble;
		cli_metrics_component(name, -1, cJSON_IsNumber(bytes) ? bytes->valuedouble : -1, ok);
	}
	cli_metrics_set(CLI_M_RESTORE_BYTES, total);
}

int cmd_restore(int argc, char **argv)
{
	static const cli_command cmd = {"restore", RESTORE_HELP, RESTORE_OPTIONS,
		restore_option, 1, "give one snapshot (an id, a prefix, or latest)", 0, NULL,
		8 /* --undo-snapshot: the undo snapshot is a backup */};
	char id[TSARC_ID_HEX_LEN + 1];
	tsarc_snapshot *snap = NULL;
	tsarc_deploy *d = NULL;
	tsarc_repo *repo = NULL;
	tsarc_lock *lock = NULL;
	cJSON *report = NULL;
	restore_state s;
	cli_common c;
	char *eq = NULL, *cluster = NULL;
	int rc, code = EXIT_OK;

	memset(&s, 0, sizeof(s));
	if ((rc = cli_start(&cmd, argc, argv, &c, &s)) != CLI_GO_ON) {
		code = rc;
		goto out;
	}
	if (!s.config) {
		code = cli_usage_error("restore", "--config FILE says where to restore to");
		goto out;
	}
	if (s.rewrite) {
		if (!(eq = strchr(s.rewrite, '=')) || eq == s.rewrite || !eq[1]) {
			code = cli_usage_error("restore", "--rewrite-domain takes OLD=NEW");
			goto out;
		}
		*eq = '\0';
		s.o.rewrite_old = s.rewrite;
		s.o.rewrite_new = eq + 1;
	}
	if (s.only_text) {
		char *p = s.only_text, *tok, *save = NULL;
		for (tok = strtok_r(p, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			const char **grown = realloc((void *)s.o.only, (s.o.nonly + 1) * sizeof(char *));
			if (!grown) {
				code = cli_fail(tsarc_error_set(TSARC_ENOMEM, "out of memory"));
				goto out;
			}
			grown[s.o.nonly++] = tok;
			s.o.only = grown;
		}
		if (!s.o.nonly) {
			code = cli_usage_error("restore", "--only needs component names");
			goto out;
		}
	}
	s.o.inflight = c.inflight;
	/* A signal lets the restore stop between steps, undo a half-done
	 * Redis swap and report what was applied (interrupt.h). */
	tsarc_interrupt_defer(1);
	if (!c.quiet && !c.json)
		s.o.progress = print_progress;
	if ((rc = tsarc_deploy_load(&d, s.config))) {
		code = cli_fail(rc);
		goto out;
	}
	if ((rc = cli_open_repo(&c, &repo))) {
		code = cli_fail(rc);
		goto out;
	}
	/* The target's cluster, where it can tell: "latest" is never the
	 * other cluster's backup of a host two clusters share. */
	if ((rc = tsarc_deploy_target_cluster(d, &s.o, &cluster))) {
		code = cli_fail(rc);
		goto out;
	}
	/* Shared: prune must not delete chunks this restore still reads. */
	if ((rc = tsarc_lock_acquire(&lock, repo, 0)) ||
		(rc = tsarc_snapshot_resolve_pick(repo, argv[optind],
			&(tsarc_snapshot_pick){s.host, 1, cluster}, id)) ||
		(rc = tsarc_snapshot_load(repo, id, &snap))) {
		code = cli_fail(rc);
		goto out;
	}
	rc = tsarc_deploy_restore(d, repo, snap, &s.o, &report);
	if (report && !s.o.dry_run)
		measure_report(report);
	if (rc) {
		code = cli_fail(rc);
		if (c.json && report) {
			cJSON_AddStringToObject(report, "error", tsarc_error_last()->message);
			cli_print_json(report);
			report = NULL;
		} else if (report && !c.quiet) {
			print_report(report, 0);
		}
		goto out;
	}
	if (c.json) {
		cJSON_AddBoolToObject(report, "dry_run", s.o.dry_run);
		if (cli_print_json(report))
			code = cli_fail(TSARC_EIO);
		report = NULL;
	} else if (!c.quiet) {
		cli_say("report", "%s of snapshot %.10s into %s:", s.o.dry_run ? "plan for a restore" :
			"restore", id, s.config);
		print_report(report, s.o.dry_run);
		if (s.o.dry_run && s.o.undo)
			cli_say("report", "  --undo-snapshot: the run backs up, from the target, what "
				"the steps above replace, before its first write (a database, Secret or "
				"ConfigMap the target does not have is left out, and removed again by a "
				"rollback); a failed "
				"step or a signal rolls back");
		if (s.o.dry_run)
			cli_say("report", "dry run: nothing was changed");
	}
out:
	cJSON_Delete(report);
	tsarc_snapshot_free(snap);
	if (lock && tsarc_lock_release(lock) && code == EXIT_OK)
		code = cli_fail(tsarc_error_last()->code);
	tsarc_repo_free(repo);
	tsarc_deploy_free(d);
	free((void *)s.o.only);
	free(s.only_text);
	free(s.rewrite);
	free(cluster);
	return code;
}
