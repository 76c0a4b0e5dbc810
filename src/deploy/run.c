/*
 * Backs a deployment up: every enabled component becomes one stream of the
 * same snapshot. Components run concurrently, at most `parallel` at once,
 * each on its own thread that starts the producer and reads its stdout
 * into the shared backup pipeline (which bounds memory for all of them).
 * The first failure cancels the rest (their producers are killed) and no
 * snapshot is written: a backup that misses a required store is no backup.
 */
#include "dbconn.h"
#include "error_save.h"
#include "layout.h"
#include "log.h"
#include "kind.h"
#include "deploy.h"
#include "snapshot.h"
#include "state.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

/* A tool's version line is short; --version output past this is junk. */
#define VERSION_MAX (64u * 1024u)

typedef enum { SLOT_PENDING, SLOT_OK, SLOT_FAILED, SLOT_CANCELED, SLOT_SKIPPED } slot_state;

typedef struct slot {
	tsarc_component comp;
	const tsarc_kind *src;
	slot_state state;
	int rc;
	char *error;
	double seconds;
	char *tool_version;
	cJSON *source;     /* where from (copy kept for the report) */
	/* What the producer left out of the tree or bucket, and why (its
	 * writer_meta's "excluded": the backup's own repository), for the
	 * report; NULL: nothing. */
	cJSON *excluded;
	/* What the producer says for the report only (its writer_meta's
	 * "report": a Redis backup's server read, and why), as the
	 * component's "detail"; NULL: nothing. */
	cJSON *detail;
	tsarc_proc proc;
	tsarc_proc filter; /* rewrites proc's output into the stream, if the kind asks */
	int running;       /* proc may be killed (under run.lock) */
	int streamed;      /* its stream was handed to the engine */
} slot;

typedef struct run {
	tsarc_deploy *d;
	tsarc_backup *b;
	slot *slots;
	size_t n, next;
	pthread_mutex_t lock;
	int canceled;
	tsarc_transports tr;
} run;

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *dup_error(void)
{
	const tsarc_error *e = tsarc_error_last();
	return strdup(e->message && e->message[0] ? e->message : tsarc_strerror(e->code));
}

/* Stops and reaps a slot's producer whose filter failed: what the producer
 * then meets is tsarc's doing, so the filter's error stays the one
 * reported. Returns 0. */
static int stop_producer(slot *s, const char *what)
{
	tsarc_saved_error why;

	tsarc_error_save(&why);
	tsarc_proc_kill(&s->proc);
	tsarc_proc_finish(&s->proc, what);
	tsarc_error_restore(&why);
	return 0;
}

/* Stops a slot's producer and the filter behind it. */
static void kill_slot(slot *s)
{
	tsarc_proc_kill(&s->proc);
	tsarc_proc_kill(&s->filter);
}

/* Records a failure; the first one cancels every other component. */
static void fail_slot(run *r, slot *s, int rc)
{
	size_t i;

	pthread_mutex_lock(&r->lock);
	if (r->canceled && s->state != SLOT_FAILED) {
		/* Killed or stopped because another component failed first. */
		s->state = SLOT_CANCELED;
		s->rc = TSARC_ECANCELED;
	} else {
		s->state = SLOT_FAILED;
		s->rc = rc;
		free(s->error);
		s->error = dup_error();
		r->canceled = 1;
		for (i = 0; i < r->n; i++)
			if (r->slots[i].running)
				kill_slot(&r->slots[i]);
	}
	pthread_mutex_unlock(&r->lock);
}

/* The first line of a --version output, trimmed. */
static char *first_line(const char *text)
{
	size_t len;

	while (*text == ' ' || *text == '\n' || *text == '\r')
		text++;
	len = strcspn(text, "\r\n");
	while (len && text[len - 1] == ' ')
		len--;
	return strndup(text, len);
}

static cJSON *command_json(const tsarc_cmd *cmd)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; arr && i < cmd->argc; i++) {
		/* The option file's and the TLS files' paths are temporary
		 * details, not the command. */
		if (!strncmp(cmd->argv[i], "--defaults-file=", 16) ||
			!strncmp(cmd->argv[i], "--ssl-ca=", 9) || !strncmp(cmd->argv[i], "--ssl-cert=", 11) ||
			!strncmp(cmd->argv[i], "--ssl-key=", 10))
			continue;
		/* redis-cli's --cacert, --cert and --key take the path apart. */
		if (i + 1 < cmd->argc && strstr(cmd->argv[i + 1], "/" TSARC_PRIVDIR_TLS) &&
			(!strcmp(cmd->argv[i], "--cacert") || !strcmp(cmd->argv[i], "--cert") ||
				!strcmp(cmd->argv[i], "--key"))) {
			i++;
			continue;
		}
		cJSON_AddItemToArray(arr, cJSON_CreateString(cmd->argv[i]));
	}
	return arr;
}

static int run_component(run *r, slot *s)
{
	tsarc_component *c = &s->comp;
	tsarc_production prod;
	cJSON *meta = NULL, *restore, *deployment;
	double t0 = now_seconds();
	char what[300];
	int rc, prc;

	memset(&prod, 0, sizeof(prod));
	tsarc_cmd_init(&prod.cmd);
	tsarc_cmd_init(&prod.version_cmd);
	if ((s->src->runs_in_pod && (rc = c->tr->locate(c->tr, c))) ||
		(rc = s->src->dump(c, &prod)))
		goto done;
	/* The tool's version, through the same transport (the pod's own). */
	if (prod.version_text) {
		s->tool_version = strdup(prod.version_text);
	} else if (prod.version_cmd.argc) {
		char *text = NULL;
		if (c->tr->capture(c->tr, c, &prod.version_cmd, VERSION_MAX, &text) == 0)
			s->tool_version = first_line(text);
		else
			s->tool_version = strdup("unknown");
		free(text);
	}
	meta = prod.meta;
	prod.meta = NULL;
	if (!meta && !(meta = cJSON_CreateObject())) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	if (prod.version_check && s->tool_version &&
		(rc = prod.version_check(meta, s->tool_version, c->name)))
		goto done;
	s->source = cJSON_CreateObject();
	c->tr->describe(c->tr, c, s->source);
	cJSON_AddStringToObject(meta, "component", c->name);
	cJSON_AddStringToObject(meta, "kind", c->kind);
	cJSON_AddBoolToObject(meta, "required", c->required);
	cJSON_AddItemToObject(meta, "source", cJSON_Duplicate(s->source, 1));
	/* Where the deployment's resources are (namespace, or this host's
	 * resources_dir): what a restore compares with its target to know
	 * whether it is a migration. */
	if ((deployment = cJSON_CreateObject())) {
		c->resources->describe(c->resources, NULL, deployment);
		cJSON_DeleteItemFromObjectCaseSensitive(deployment, "binary");
		cJSON_AddItemToObject(meta, "deployment", deployment);
	}
	if (prod.cmd.argc) {
		cJSON_AddStringToObject(meta, "tool", prod.cmd.argv[0]);
		cJSON_AddItemToObject(meta, "command", command_json(&prod.cmd));
	}
	if (s->tool_version)
		cJSON_AddStringToObject(meta, "tool_version", s->tool_version);
	/* The restore recipe travels with the data: a restore needs the
	 * snapshot only, not the profile version that wrote it. */
	if ((restore = cJSON_GetObjectItemCaseSensitive(c->spec, "restore")))
		cJSON_AddItemToObject(meta, "restore", cJSON_Duplicate(restore, 1));

	snprintf(what, sizeof(what), "%s", prod.cmd.argc ? prod.cmd.argv[0] : c->kind);
	if (prod.writer)
		rc = tsarc_proc_start_writer(&s->proc, prod.writer, prod.writer_ctx);
	else {
		s->proc.err_line = prod.stderr_line;
		s->proc.err_end = prod.stderr_end;
		s->proc.err_line_ctx = prod.writer_ctx;
		rc = c->tr->spawn(c->tr, c, &prod.cmd, &s->proc);
		if (!rc && prod.filter &&
			(rc = tsarc_proc_start_filter(&s->filter, prod.filter, s->proc.out_fd,
				 prod.writer_ctx))) {
			stop_producer(s, what);
		}
	}
	if (rc)
		goto done;
	pthread_mutex_lock(&r->lock);
	s->running = 1;
	if (r->canceled)
		kill_slot(s);
	pthread_mutex_unlock(&r->lock);

	{
		s->streamed = 1;
		rc = (prod.secret ? tsarc_backup_secret_stream_fd : tsarc_backup_stream_fd)(r->b,
			c->stream, c->kind, prod.filter ? s->filter.out_fd : s->proc.out_fd, meta);
		meta = NULL;
		if (rc)
			kill_slot(s); /* nobody reads its output any more */
		pthread_mutex_lock(&r->lock);
		s->running = 0;
		pthread_mutex_unlock(&r->lock);
		{
			tsarc_saved_error engine;
			int frc = 0;
			tsarc_error_save(&engine);
			/* The filter first: it reads the producer's output. Its
			 * failure ended the stream early: the engine's own error,
			 * if any, came first. */
			if (prod.filter && (frc = tsarc_proc_finish(&s->filter, what)) && !rc) {
				tsarc_error_forget(&engine);
				tsarc_error_save(&engine);
				rc = frc;
			}
			/* A filter that quit while the producer still wrote: the
			 * pipe the producer then finds closed is no news. */
			prc = frc && s->filter.filter_quit_early ? stop_producer(s, what)
								 : tsarc_proc_finish(&s->proc, what);
			/* A status the producer's own stderr explained as warnings
			 * (files that changed while tar read them). */
			if (prc && !rc && prod.exit_ok && s->proc.status != -1 &&
				WIFEXITED(s->proc.status) &&
				prod.exit_ok(prod.writer_ctx, WEXITSTATUS(s->proc.status)))
				prc = 0;
			/* The producer's own failure explains more than a pipeline
			 * error it caused; else keep the pipeline's. */
			if (!prc && rc)
				tsarc_error_set(rc, "%s", tsarc_error_saved_message(&engine));
			tsarc_error_forget(&engine);
			rc = prc ? prc : rc;
		}
		s->seconds = now_seconds() - t0;
		if (!rc && ((rc = tsarc_backup_stream_annotate(r->b, c->stream, "duration_seconds",
				     cJSON_CreateNumber((double)(long long)(s->seconds * 1000.0) / 1000.0))) ||
				   (rc = tsarc_backup_stream_annotate(r->b, c->stream, "exit_status",
					    cJSON_CreateNumber(s->proc.status != -1 &&
						    WIFEXITED(s->proc.status) ? WEXITSTATUS(s->proc.status) : 0)))))
			tsarc_error_prefix("recording component '%s'", c->name);
		if (!rc && prod.writer_meta) {
			cJSON *learned = prod.writer_meta(prod.writer_ctx), *item;
			while (!rc && learned && learned->child) {
				item = cJSON_DetachItemViaPointer(learned, learned->child);
				if (item->string && !strcmp(item->string, "report")) {
					cJSON_Delete(s->detail);
					s->detail = item;
					continue;
				}
				if (item->string && !strcmp(item->string, "excluded") && !s->excluded)
					s->excluded = cJSON_Duplicate(item, 1);
				rc = tsarc_backup_stream_annotate(r->b, c->stream, item->string, item);
			}
			cJSON_Delete(learned);
		}
	}
done:
	rc = tsarc_mysql_explain(prod.tls, rc);
	if (prod.tls && tsarc_db_tls_close(prod.tls) && !rc)
		rc = TSARC_EIO;
	if (prod.writer_ctx_free)
		prod.writer_ctx_free(prod.writer_ctx);
	cJSON_Delete(prod.meta);
	cJSON_Delete(meta);
	tsarc_cmd_free(&prod.cmd);
	tsarc_cmd_free(&prod.version_cmd);
	s->seconds = now_seconds() - t0;
	if (rc && strncmp(tsarc_error_last()->message, "component '", 11))
		tsarc_error_prefix("component '%s' (%s)", c->name, c->kind);
	return rc;
}

static void *worker_main(void *arg)
{
	run *r = arg;

	for (;;) {
		slot *s;
		int rc;
		pthread_mutex_lock(&r->lock);
		if (r->canceled || r->next == r->n) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		s = &r->slots[r->next++];
		pthread_mutex_unlock(&r->lock);
		rc = run_component(r, s);
		if (rc && !s->comp.required && rc != TSARC_ECANCELED && !r->canceled) {
			/* An optional component that fails is left out of the
			 * snapshot and reported; the others go on. */
			pthread_mutex_lock(&r->lock);
			s->state = SLOT_SKIPPED;
			free(s->error);
			s->error = dup_error();
			pthread_mutex_unlock(&r->lock);
			if (s->streamed)
				tsarc_backup_stream_abandon(r->b, s->comp.stream);
		} else if (rc)
			fail_slot(r, s, rc);
		else {
			pthread_mutex_lock(&r->lock);
			s->state = SLOT_OK;
			pthread_mutex_unlock(&r->lock);
		}
	}
	return NULL;
}

static cJSON *make_report(run *r)
{
	cJSON *arr = cJSON_CreateArray();
	const cJSON *c;
	size_t i;

	/* Disabled components are listed too: "skipped" says it was meant. */
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(r->d->eff, "components")) {
		cJSON *o = cJSON_CreateObject();
		slot *s = NULL;
		static const char *const names[] = {"not run", "ok", "failed", "canceled",
			"skipped"};
		for (i = 0; i < r->n; i++)
			if (!strcmp(r->slots[i].comp.name, c->string))
				s = &r->slots[i];
		cJSON_AddStringToObject(o, "name", c->string);
		cJSON_AddStringToObject(o, "kind", tsarc_spec_str(c, "kind"));
		cJSON_AddStringToObject(o, "stream", tsarc_spec_str(c, "stream"));
		if (!s) {
			cJSON_AddStringToObject(o, "status", "disabled");
		} else {
			cJSON_AddStringToObject(o, "status", names[s->state]);
			cJSON_AddNumberToObject(o, "seconds", s->seconds);
			if (s->source)
				cJSON_AddItemToObject(o, "source", cJSON_Duplicate(s->source, 1));
			if (s->tool_version)
				cJSON_AddStringToObject(o, "tool_version", s->tool_version);
			if (s->error)
				cJSON_AddStringToObject(o, "error", s->error);
			if (s->excluded)
				cJSON_AddItemToObject(o, "excluded", cJSON_Duplicate(s->excluded, 1));
			if (s->detail)
				cJSON_AddItemToObject(o, "detail", cJSON_Duplicate(s->detail, 1));
		}
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/*
 * Whether the deployment is half-restored: its restore state names steps
 * not known to be applied (a restore under way, or one that failed or was
 * killed). Read before the components run and again after them, so that
 * a restore begun meanwhile is seen too; what either read names is merged
 * into *seen. A state that cannot be read (an older Role without get on
 * its ConfigMap, say) is a warning: the state is advice (state.c), and a
 * backup must not stop for it.
 */
static void note_half_restored(tsarc_transport *resources_tr, cJSON **seen)
{
	cJSON *now = NULL, *e;

	if (tsarc_restore_state_pending(resources_tr, &now)) {
		tsarc__log(TSARC_LOG_WARN, "backup", "restore_state_unread", "the deployment's "
			"restore state could not be read (%s): whether it is half-restored is not "
			"known", tsarc_error_last()->message);
		tsarc_error_clear();
		return;
	}
	if (!now)
		return;
	if (!*seen) {
		*seen = now;
		return;
	}
	/* Steps of the first read stay; the second's are added. */
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(now, "steps"))
		if (!cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(*seen,
			    "steps"), e->string))
			cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(*seen, "steps"),
				e->string, e->valuestring);
	cJSON_Delete(now);
}

/* A backup of a half-restored deployment: said, and marked in the
 * snapshot (TSARC_HALF_RESTORED_META), which `restore latest` passes over
 * and forget counts apart. The backup itself goes on: what the deployment
 * holds now may be held nowhere else. */
static int mark_half_restored(tsarc_backup *b, cJSON *seen)
{
	tsarc_buf steps = TSARC_BUF_INIT;
	const char *list = " (they could not be listed: out of memory)";
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(seen, "steps"))
		tsarc_buf_printf(&steps, " %s (snapshot %.10s)", e->string, e->valuestring);
	if (tsarc_buf_status(&steps))
		tsarc_error_clear();
	else if (steps.ptr)
		list = (const char *)steps.ptr;
	tsarc__log(TSARC_LOG_WARN, "backup", "half_restored", "the deployment is half-restored: "
		"a restore into it did not finish (or is under way), and its restore state names "
		"steps not known to be applied:%s; this backup is marked half-restored, and "
		"'restore latest' passes over it (restore it by its id)", list);
	tsarc_buf_dispose(&steps);
	return tsarc_backup_annotate(b, TSARC_HALF_RESTORED_META, seen);
}

int tsarc_deploy_backup(tsarc_deploy *d, tsarc_backup *b, cJSON **report)
{
	return tsarc_deploy_backup_only(d, b, NULL, 0, 0, report);
}

/* Whether component `name` is one of only[0..nonly) (all without a list). */
static int selected(const char *const *only, size_t nonly, const char *name)
{
	size_t i;

	if (!only)
		return 1;
	for (i = 0; i < nonly; i++)
		if (!strcmp(only[i], name))
			return 1;
	return 0;
}

int tsarc_deploy_backup_only(tsarc_deploy *d, tsarc_backup *b, const char *const *only,
	size_t nonly, int for_undo, cJSON **report)
{
	const cJSON *comps = cJSON_GetObjectItemCaseSensitive(d->eff, "components"), *c;
	const cJSON *trconf = cJSON_GetObjectItemCaseSensitive(d->eff, "transport");
	const char *deftype = tsarc_spec_str(trconf, "type");
	tsarc_transport *resources_tr = NULL;
	pthread_t *threads = NULL;
	size_t nthreads = 0, i, nfailed = 0;
	tsarc_buf msg = TSARC_BUF_INIT;
	cJSON *half_restored = NULL;
	int rc = 0, first_rc = 0;
	run r;

	if (report)
		*report = NULL;
	memset(&r, 0, sizeof(r));
	r.d = d;
	r.b = b;
	r.tr.conf = trconf;
	pthread_mutex_init(&r.lock, NULL);
	if (!(r.slots = calloc((size_t)cJSON_GetArraySize(comps) + 1, sizeof(slot)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = tsarc_transports_get(&r.tr, deftype, &resources_tr)))
		goto out;
	/* External or in a pod, where the configuration does not say (layout.h). */
	if ((rc = tsarc_decide_external(d->eff, resources_tr, NULL, NULL)))
		goto out;
	cJSON_ArrayForEach(c, comps) {
		slot *s;
		const char *ctype = tsarc_spec_str(c, "transport");
		if (!tsarc_spec_bool(c, "enabled", 1) || !selected(only, nonly, c->string))
			continue;
		s = &r.slots[r.n++];
		tsarc_proc_init(&s->proc);
		tsarc_proc_init(&s->filter);
		s->comp.name = c->string;
		s->comp.kind = tsarc_spec_str(c, "kind");
		s->comp.spec = c;
		s->comp.stream = tsarc_spec_str(c, "stream");
		s->comp.required = tsarc_spec_bool(c, "required", 1);
		s->comp.undo = for_undo;
		s->comp.external = tsarc_spec_bool(c, "external", 0);
		s->comp.resources = resources_tr;
		s->comp.repo = tsarc_backup_repository(b);
		s->src = tsarc_kind_find(s->comp.kind);
		/* An external database is reached from this host, whatever the
		 * deployment's transport (3scale 2.16+: databases outside). */
		if (s->comp.external)
			ctype = "local";
		if ((rc = tsarc_transports_get(&r.tr, ctype ? ctype : deftype, &s->comp.tr)))
			goto out;
	}
	if (r.n == 0) {
		rc = tsarc_error_set(TSARC_ECONFIG, only ? "none of the components named is enabled: "
			"nothing to back up" : "every component is disabled: nothing to back up");
		goto out;
	}
	/* The undo snapshot is taken by the restore itself: not of a
	 * half-restored deployment, whatever an earlier run left. */
	if (!for_undo)
		note_half_restored(resources_tr, &half_restored);
	nthreads = d->parallel < r.n ? d->parallel : r.n;
	if (!(threads = calloc(nthreads, sizeof(pthread_t)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker_main, &r) != 0)
			break;
	if (i == 0) {
		rc = tsarc_error_set(TSARC_ENOMEM, "cannot start a thread");
		goto out;
	}
	nthreads = i; /* fewer threads still finish the work, only slower */
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);

	for (i = 0; i < r.n; i++)
		if (r.slots[i].state == SLOT_FAILED) {
			nfailed++;
			if (!first_rc)
				first_rc = r.slots[i].rc;
		}
	if (nfailed) {
		tsarc_buf_puts(&msg, "backup of the deployment failed, no snapshot written:");
		for (i = 0; i < r.n; i++)
			if (r.slots[i].state == SLOT_FAILED) {
				tsarc_buf_puts(&msg, "\n  ");
				tsarc_buf_puts(&msg, r.slots[i].error);
			}
		tsarc_buf_append(&msg, "", 1);
		/* Not a list with a component's error left out. */
		if (tsarc_buf_status(&msg) || !msg.ptr)
			rc = tsarc_error_set(first_rc, "backup of the deployment failed, no snapshot "
				"written: %zu components failed (their errors could not be listed: "
				"out of memory)", nfailed);
		else
			rc = tsarc_error_set(first_rc, "%s", (char *)msg.ptr);
		goto out;
	}
	if (!for_undo)
		note_half_restored(resources_tr, &half_restored);
	if (half_restored) {
		rc = mark_half_restored(b, half_restored);
		half_restored = NULL;
	}
out:
	cJSON_Delete(half_restored);
	if (report)
		*report = make_report(&r);
	free(threads);
	for (i = 0; i < r.n; i++) {
		free(r.slots[i].error);
		free(r.slots[i].tool_version);
		free(r.slots[i].comp.pod);
		free(r.slots[i].comp.container);
		free(r.slots[i].comp.selector);
		cJSON_Delete(r.slots[i].source);
		cJSON_Delete(r.slots[i].excluded);
		cJSON_Delete(r.slots[i].detail);
	}
	free(r.slots);
	tsarc_transports_dispose(&r.tr);
	tsarc_buf_dispose(&msg);
	pthread_mutex_destroy(&r.lock);
	return rc;
}
