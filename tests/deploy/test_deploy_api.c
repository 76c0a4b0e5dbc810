/*
 * The public deployment API (include/tsarc/deployment.h, src/deploy/api.c)
 * on a deployment that needs no server: one file tree, local transport.
 * A backup writes one snapshot and a report; a plan names the step and
 * changes nothing; a restore brings the tree back; a failing component
 * writes no snapshot and still reports; a bad configuration is refused
 * with ECONFIG naming the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmocka_main.h"
#include <cjson/cJSON.h>

#include "tsarc/deployment.h"
#include "tsarc/tsarc.h"
#include "scratch.h"

static char dir[256];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A config of one files component named `tree` at `path`. */
static void config(const char *file, const char *path)
{
	char text[1024];

	snprintf(text, sizeof(text),
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"},\n"
		" \"components\": {\"tree\": {\"kind\": \"files\", \"path\": \"%s\",\n"
		"   \"stream\": \"tree.tar\", \"restore\": {\"action\": \"replace-tree\", \"order\": 1}}}}\n",
		path);
	write_file(file, text);
}

/* The one step of a plan or report: its component, action and status. */
static const cJSON *only_step(const cJSON *doc)
{
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(doc, "steps");

	assert_true(cJSON_IsArray(steps));
	assert_int_equal(cJSON_GetArraySize(steps), 1);
	return cJSON_GetArrayItem(steps, 0);
}

static const char *field(const cJSON *o, const char *name)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));

	assert_non_null(v);
	return v;
}

static void test_backup_plan_restore(void **state)
{
	char path[400], cfg[400], src[300], dst[300], repo_url[300];
	tsarc_repo *repo = NULL;
	tsarc_deployment *d = NULL;
	tsarc_snapshot *snap = NULL, *none = (tsarc_snapshot *)&none, **list = NULL;
	char *report = NULL, *plan = NULL;
	cJSON *doc;
	size_t n = 0;
	struct stat sb;

	(void)state;
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(dst, sizeof(dst), "%s/restored", dir);
	snprintf(repo_url, sizeof(repo_url), "%s/repo", dir);
	assert_int_equal(mkdir(src, 0700), 0);
	snprintf(path, sizeof(path), "%s/a.txt", src);
	write_file(path, "the first file\n");
	assert_int_equal(tsarc_repo_init_url(&repo, repo_url, "deploy-api-pw", NULL), 0);

	/* Backup: one snapshot with the component's stream, a report saying so. */
	snprintf(cfg, sizeof(cfg), "%s/backup.json", dir);
	config(cfg, src);
	assert_int_equal(tsarc_deployment_open(&d, cfg), 0);
	assert_int_equal(tsarc_deployment_backup(&snap, d, repo, NULL, &report), 0);
	tsarc_deployment_free(d);
	d = NULL;
	assert_non_null(snap);
	assert_int_equal(tsarc_snapshot_stream_count(snap), 1);
	assert_string_equal(tsarc_snapshot_stream_name(snap, 0), "tree.tar");
	assert_non_null(report);
	assert_non_null(doc = cJSON_Parse(report));
	assert_int_equal(cJSON_GetArraySize(doc), 1);
	assert_string_equal(field(cJSON_GetArrayItem(doc, 0), "name"), "tree");
	assert_string_equal(field(cJSON_GetArrayItem(doc, 0), "status"), "ok");
	cJSON_Delete(doc);
	free(report);
	report = NULL;

	/* A plan into another place: the step, and nothing written. */
	snprintf(cfg, sizeof(cfg), "%s/restore.json", dir);
	config(cfg, dst);
	assert_int_equal(tsarc_deployment_open(&d, cfg), 0);
	assert_int_equal(tsarc_deployment_plan(&plan, d, repo, snap, NULL), 0);
	assert_non_null(doc = cJSON_Parse(plan));
	assert_string_equal(field(doc, "snapshot_id"), tsarc_snapshot_id(snap));
	assert_string_equal(field(only_step(doc), "component"), "tree");
	assert_string_equal(field(only_step(doc), "action"), "replace-tree");
	cJSON_Delete(doc);
	free(plan);
	assert_int_not_equal(stat(dst, &sb), 0);
	/* A plan must have somewhere to go. */
	assert_int_equal(tsarc_deployment_plan(NULL, d, repo, snap, NULL), TSARC_EINVAL);

	/* The restore: the tree comes back. */
	assert_int_equal(tsarc_deployment_restore(&report, d, repo, snap, NULL), 0);
	assert_non_null(doc = cJSON_Parse(report));
	assert_string_equal(field(only_step(doc), "component"), "tree");
	assert_string_equal(field(only_step(doc), "status"), "applied");
	cJSON_Delete(doc);
	free(report);
	report = NULL;
	snprintf(path, sizeof(path), "%s/a.txt", dst);
	assert_non_null(read_file(path));
	assert_string_equal(read_file(path), "the first file\n");
	tsarc_deployment_free(d);
	d = NULL;

	/* A component that fails: no snapshot, *out untouched, a report. */
	snprintf(path, sizeof(path), "%s/missing", dir);
	snprintf(cfg, sizeof(cfg), "%s/bad.json", dir);
	config(cfg, path);
	assert_int_equal(tsarc_deployment_open(&d, cfg), 0);
	assert_int_not_equal(tsarc_deployment_backup(&none, d, repo, NULL, &report), 0);
	assert_ptr_equal(none, (tsarc_snapshot *)&none);
	assert_non_null(strstr(tsarc_error_last()->message, "tree"));
	assert_non_null(report);
	assert_non_null(strstr(report, "\"tree\""));
	free(report);
	tsarc_deployment_free(d);
	assert_int_equal(tsarc_snapshot_list(&list, &n, repo, NULL), 0);
	assert_int_equal(n, 1);
	tsarc_snapshot_array_free(list, n);

	/* A configuration that is not one: ECONFIG naming the file. */
	write_file(cfg, "{\"profile\": \"none\", \"components\": {\"x\": {\"kind\": 7}}}");
	d = NULL;
	assert_int_equal(tsarc_deployment_open(&d, cfg), TSARC_ECONFIG);
	assert_null(d);
	assert_non_null(strstr(tsarc_error_last()->message, "bad.json"));

	tsarc_snapshot_free(snap);
	tsarc_repo_free(repo);
}

/* A restore's "latest" through the library: one repository with the
 * backups of two hosts and a later single-stream backup. */
static void test_open_backup(void **state)
{
	char cfg[400], src[300], repo_url[300];
	const char *const text = "select 1;\n";
	tsarc_repo *repo = NULL;
	tsarc_deployment *d = NULL;
	tsarc_snapshot *a = NULL, *b = NULL, *c = NULL, *got = NULL;
	tsarc_snapshot *none = (tsarc_snapshot *)&none;
	tsarc_backup_options o;
	int fd;

	(void)state;
	snprintf(src, sizeof(src), "%s/hosts-src", dir);
	snprintf(repo_url, sizeof(repo_url), "%s/hosts-repo", dir);
	snprintf(cfg, sizeof(cfg), "%s/hosts.json", dir);
	assert_int_equal(mkdir(src, 0700), 0);
	config(cfg, src);
	assert_int_equal(tsarc_repo_init_url(&repo, repo_url, "deploy-api-pw", NULL), 0);
	assert_int_equal(tsarc_deployment_open(&d, cfg), 0);
	memset(&o, 0, sizeof(o));
	o.host = "3scale-prod";
	assert_int_equal(tsarc_deployment_backup(&a, d, repo, &o, NULL), 0);
	o.host = "3scale-staging";
	assert_int_equal(tsarc_deployment_backup(&b, d, repo, &o, NULL), 0);
	tsarc_deployment_free(d);
	/* Later, with production's host: an ad-hoc dump, no deployment's backup. */
	o.host = "3scale-prod";
	snprintf(src, sizeof(src), "%s/hosts-adhoc.sql", dir);
	write_file(src, text);
	assert_true((fd = open(src, O_RDONLY)) >= 0);
	assert_int_equal(tsarc_backup_fd(&c, repo, "adhoc.sql", fd, &o), 0);
	close(fd);

	/* Several hosts and no host: refused, both named, *out untouched. */
	assert_int_equal(tsarc_snapshot_open_backup(&none, repo, "latest", NULL), TSARC_EINVAL);
	assert_ptr_equal(none, (tsarc_snapshot *)&none);
	assert_non_null(strstr(tsarc_error_last()->message, "3scale-prod"));
	assert_non_null(strstr(tsarc_error_last()->message, "3scale-staging"));
	/* A host: its newest deployment backup, not the later dump. */
	assert_int_equal(tsarc_snapshot_open_backup(&got, repo, "latest", "3scale-prod"), 0);
	assert_string_equal(tsarc_snapshot_id(got), tsarc_snapshot_id(a));
	tsarc_snapshot_free(got);
	/* An id of another host's: refused. */
	assert_int_equal(tsarc_snapshot_open_backup(&none, repo, tsarc_snapshot_id(b),
		"3scale-prod"), TSARC_EINVAL);
	assert_int_equal(tsarc_snapshot_open_backup(&got, repo, tsarc_snapshot_id(b),
		"3scale-staging"), 0);
	assert_string_equal(tsarc_snapshot_id(got), tsarc_snapshot_id(b));
	tsarc_snapshot_free(got);
	/* Through the deployment (the pick of `tsarc restore --config`): its
	 * local transport names no cluster, so the pick is the same. The
	 * clusters' case is deploy_clusters'. */
	assert_int_equal(tsarc_deployment_open(&d, cfg), 0);
	assert_int_equal(tsarc_deployment_open_backup(&got, d, repo, "latest", "3scale-prod", NULL),
		0);
	assert_string_equal(tsarc_snapshot_id(got), tsarc_snapshot_id(a));
	tsarc_snapshot_free(got);
	got = NULL;
	assert_int_equal(tsarc_deployment_open_backup(&got, d, repo, "latest", NULL, NULL),
		TSARC_EINVAL);
	assert_null(got);
	assert_non_null(strstr(tsarc_error_last()->message, "3scale-staging"));
	assert_int_equal(tsarc_deployment_open_backup(NULL, d, repo, "latest", NULL, NULL),
		TSARC_EINVAL);
	tsarc_deployment_free(d);

	tsarc_snapshot_free(a);
	tsarc_snapshot_free(b);
	tsarc_snapshot_free(c);
	tsarc_repo_free(repo);
}

static int setup(void **state)
{
	(void)state;
	/* Tools write into pipes (deployment.h). */
	signal(SIGPIPE, SIG_IGN);
	return scratch_make(dir, sizeof(dir), "deploy-api") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove(dir);
}

TSARC_TESTS_MAIN(setup, teardown,
	cmocka_unit_test(test_backup_plan_restore),
	cmocka_unit_test(test_open_backup))
