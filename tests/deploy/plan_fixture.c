/* The fake transport and JSON snapshots of the planner's tests
 * (plan_fixture.h). */
#define _GNU_SOURCE /* strdup */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "deploy/plan_fixture.h"
#include "kind.h"
#include "scratch.h"
#include "tsarc/errors.h"
#include "tsarc/sys/store.h"
#include "unit/repo_fixture.h"

/* ---- the fake transport: records every call, changes nothing ---- */

static void record(fake *f, const char *what, const char *const *args, size_t n)
{
	cJSON *call = cJSON_CreateArray();
	size_t i;

	cJSON_AddItemToArray(call, cJSON_CreateString(what));
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(call, cJSON_CreateString(args[i] ? args[i] : "(null)"));
	cJSON_AddItemToArray(f->calls, call);
}

/* Like every transport, finds a workload only where it runs commands in
 * one (TSARC_TR_IN_WORKLOAD); callers ask it either way. */
static int fake_locate(tsarc_transport *t, tsarc_component *c)
{
	const char *a[] = {c->name};

	if (!(t->caps & TSARC_TR_IN_WORKLOAD))
		return 0;
	record((fake *)t, "locate", a, 1);
	c->pod = strdup("pod-1");
	return 0;
}

static int fake_spawn(tsarc_transport *t, const tsarc_component *c, const tsarc_cmd *cmd,
	tsarc_proc *p)
{
	const fake *f = (const fake *)t;
	int fds[2];
	size_t n = f->prints ? strlen(f->prints) : 0;

	(void)c;
	record((fake *)t, "spawn", (const char *const *)cmd->argv, cmd->argc);
	if (!f->prints)
		return tsarc_error_set(TSARC_EUNSUPPORTED, "the fake transport runs nothing");
	/* A command that printed its answer and ended: its stdout, no child. */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], f->prints, n), (ssize_t)n);
	close(fds[1]);
	p->out_fd = fds[0];
	return 0;
}

static int fake_capture(tsarc_transport *t, const tsarc_component *c, const tsarc_cmd *cmd,
	size_t max, char **out)
{
	fake *f = (fake *)t;

	(void)c;
	(void)max;
	*out = NULL;
	record(f, "capture", (const char *const *)cmd->argv, cmd->argc);
	return f->capture_rc ? tsarc_error_set(f->capture_rc, "fake capture") : 0;
}

static int fake_get(tsarc_transport *t, const char *type, const char *name, cJSON **out)
{
	const fake *f = (const fake *)t;
	const char *a[] = {type, name};

	record((fake *)t, "get", a, 2);
	*out = NULL;
	if (f->secret && !strcmp(type, "secret") && !strcmp(name, tsarc_spec_str(
		    cJSON_GetObjectItemCaseSensitive(f->secret, "metadata"), "name")))
		return (*out = cJSON_Duplicate(f->secret, 1)) ? 0 : TSARC_ENOMEM;
	return tsarc_error_set(TSARC_ENOTFOUND, "%s %s: none in the fake", type, name);
}

static int fake_apply(tsarc_transport *t, const cJSON *list, const char *ns)
{
	const cJSON *it;
	cJSON *call = cJSON_CreateArray();

	(void)ns;
	cJSON_AddItemToArray(call, cJSON_CreateString("apply"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items"))
		cJSON_AddItemToArray(call, cJSON_CreateString(tsarc_spec_str(
			cJSON_GetObjectItemCaseSensitive(it, "metadata"), "name")));
	cJSON_AddItemToArray(((fake *)t)->calls, call);
	return 0;
}

/* The server's configuration as the local transport keeps it: read, a
 * write recorded and not done. */
static int fake_read_config(tsarc_transport *t, tsarc_server_config *cfg)
{
	const char *a[] = {cfg->file};

	record((fake *)t, "read_config", a, 1);
	snprintf(cfg->where, sizeof(cfg->where), "%s", cfg->file ? cfg->file : "?");
	snprintf(cfg->saved_where, sizeof(cfg->saved_where), "%s.orig", cfg->where);
	return (cfg->text = strdup("port 6390\n")) ? 0 : TSARC_ENOMEM;
}

static int fake_write_config(tsarc_transport *t, tsarc_server_config *cfg, const char *text,
	const char *saved)
{
	const char *a[] = {cfg->file, text};

	(void)saved;
	record((fake *)t, "write_config", a, 2);
	return 0;
}

static void fake_describe(tsarc_transport *t, const tsarc_component *c, cJSON *source)
{
	(void)c;
	cJSON_AddStringToObject(source, "transport", "local");
	cJSON_AddStringToObject(source, "host", ((fake *)t)->machine);
	cJSON_AddStringToObject(source, "resources_dir", "/srv/resources");
}

static void fake_free(tsarc_transport *t)
{
	(void)t;
}

void fake_init(fake *f, const char *machine)
{
	memset(f, 0, sizeof(*f));
	f->t.type = "local";
	f->t.caps = TSARC_TR_HOST_FILES; /* what the local transport it stands in for has */
	f->t.locate = fake_locate;
	f->t.spawn = fake_spawn;
	f->t.capture = fake_capture;
	f->t.get = fake_get;
	f->t.apply = fake_apply;
	f->t.read_config = fake_read_config;
	f->t.write_config = fake_write_config;
	f->t.config_field = "config_file";
	f->t.describe = fake_describe;
	f->t.free = fake_free;
	f->calls = cJSON_CreateArray();
	f->machine = machine;
	f->capture_rc = TSARC_EIO;
}

/* The fake is the deployment's transport, and the one a component's own
 * "transport": "local" (or an external database) finds. */
void use_fake(tsarc_restore_ctx *r, fake *f)
{
	size_t i;

	r->deftr = &f->t;
	for (i = 0; tsarc_transport_types[i].name; i++)
		if (!strcmp(tsarc_transport_types[i].name, "local"))
			r->tr.made[i] = &f->t;
}

/* ---- a snapshot's streams, from JSON: [{"name": ..., "meta": {...}}] ---- */

tsarc_snapshot *snapshot_of(const char *json)
{
	cJSON *arr = cJSON_Parse(json), *it;
	tsarc_snapshot *snap = calloc(1, sizeof(*snap));
	size_t i = 0;

	assert_non_null(arr);
	snprintf(snap->id, sizeof(snap->id), "%064d", 7);
	snap->nstreams = (size_t)cJSON_GetArraySize(arr);
	snap->streams = calloc(snap->nstreams + 1, sizeof(tsarc_stream));
	cJSON_ArrayForEach(it, arr) {
		tsarc_stream *st = &snap->streams[i++];
		st->name = strdup(tsarc_spec_str(it, "name"));
		st->kind = strdup(tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(it, "meta"),
			"kind"));
		st->size = 100;
		st->meta = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(it, "meta"), 1);
	}
	cJSON_Delete(arr);
	return snap;
}

int fake_execute(tsarc_repo *repo, tsarc_snapshot *snap, const char *config,
	tsarc_restore_opts *o, fake *f, cJSON **report)
{
	tsarc_deploy *d = NULL;
	tsarc_restore_ctx r;
	int rc;

	assert_int_equal(tsarc_deploy_load_text(&d, config, "test"), 0);
	memset(&r, 0, sizeof(r));
	r.d = d;
	r.repo = repo;
	r.snap = snap;
	r.o = o;
	use_fake(&r, f);
	rc = tsarc_restore_execute(&r, report);
	tsarc_restore_ctx_dispose(&r);
	tsarc_deploy_free(d);
	return rc;
}

int fake_plan(const char *streams, const char *config, tsarc_restore_opts *o, fake *f,
	cJSON **report)
{
	tsarc_snapshot *snap = snapshot_of(streams);
	int rc = fake_execute(NULL, snap, config, o, f, report);

	tsarc_snapshot_free(snap);
	return rc;
}

/* ---- a snapshot stored in a real repository ---- */

static char repo_dir[256];

tsarc_repo *repo_with(const char *const names[], const char *const contents[],
	const char *const metas[], size_t nstreams, char id[TSARC_ID_HEX_LEN + 1])
{
	tsarc_repo_init_options io;
	tsarc_backup_options bo;
	tsarc_backup *b;
	tsarc_store *st;
	tsarc_repo *repo;
	const char *kind;
	cJSON *meta;
	size_t i;

	repo_fixture_options(&io);
	assert_non_null(scratch_make(repo_dir, sizeof(repo_dir), "plan"));
	assert_int_equal(tsarc_store_fs_open(&st, repo_dir, NULL), 0);
	assert_int_equal(tsarc_repo_init(&repo, st, "pw", &io), 0);
	memset(&bo, 0, sizeof(bo));
	bo.host = "m1";
	assert_int_equal(tsarc_backup_new(&b, repo, &bo), 0);
	for (i = 0; i < nstreams; i++) {
		char path[300];
		int fd;
		snprintf(path, sizeof(path), "%s.in", repo_dir);
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, contents[i], strlen(contents[i])),
			(ssize_t)strlen(contents[i]));
		assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
		meta = cJSON_Parse(metas[i]);
		assert_non_null(meta);
		kind = tsarc_spec_str(meta, "kind");
		assert_int_equal(tsarc_backup_stream_fd(b, names[i], kind ? kind : "resources", fd,
			meta), 0);
		close(fd);
		unlink(path);
	}
	assert_int_equal(tsarc_backup_commit(b, id), 0);
	tsarc_backup_free(b);
	return repo;
}

void repo_remove(void)
{
	assert_int_equal(scratch_remove(repo_dir), 0);
}

int restore_with(tsarc_repo *repo, const char *id, const char *config,
	tsarc_restore_opts *o, fake *f, cJSON **report)
{
	tsarc_snapshot *snap = NULL;
	int rc;

	assert_int_equal(tsarc_snapshot_load(repo, id, &snap), 0);
	rc = fake_execute(repo, snap, config, o, f, report);
	tsarc_snapshot_free(snap);
	return rc;
}
