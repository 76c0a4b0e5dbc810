#define _GNU_SOURCE /* strndup, asprintf */
/*
 * Restores a deployment from a snapshot: one step per backed-up component,
 * in the order of its restore recipe (Secrets, ConfigMaps, the APIManager,
 * then the system database, system-storage, zync, backend-redis,
 * system-redis), then the re-sync hooks. Steps run one at a time: each
 * depends on the ones before (pods read the Secrets, the re-sync reads the
 * system database). The first failure stops everything and the report says
 * what was applied and what was not: a restore never half-applies silently.
 *
 * Streams come out of the repository verified chunk by chunk; a damaged
 * chunk stops the consumer (it is killed before its input is closed, so a
 * loader never sees a clean end of a truncated dump).
 */
#include "component.h"
#include "deploy.h"
#include "extract.h"
#include "interrupt.h"
#include "repo.h"
#include "snapshot.h"
#include "tree_restore.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Resources are a few KB; anything near this is not a resource list. */
#define RESOURCES_MAX (64u * 1024u * 1024u)
/* What a redis-cli or hook prints that we keep. */
#define CAPTURE_MAX (1024u * 1024u)
/* A redis.conf or pid file; anything larger is not one. */
#define REDIS_CONF_MAX (16u * 1024u * 1024u)
/* How long a Redis server may take to stop or to load its data set. */
#define REDIS_WAIT_SECONDS 300

typedef enum { ST_PENDING, ST_DONE, ST_FAILED, ST_SKIPPED } step_state;

typedef struct step {
	const char *component;
	const char *kind;
	const char *action; /* apply, sql, replace-tree, redis-rdb, exec, hook */
	int order;
	const tsarc_stream *st;
	cJSON *recipe;      /* owned: snapshot recipe with the target's over it */
	const cJSON *spec;  /* the target component, or the hook */
	step_state state;
	int selected;
	char label[40];     /* hooks: post_restore[N] */
	char *note;         /* why skipped, or what it did */
	char *error;
	cJSON *detail;      /* owned */
	/* Where it writes, resolved before the first write of the restore
	 * (resolve_targets); never a password. */
	cJSON *endpoint;    /* owned */
	cJSON *source;      /* owned: the snapshot's recorded source, or NULL */
	tsarc_conn conn;    /* sql, redis-rdb: the connection, password included */
	int has_conn;
} step;

typedef struct rctx {
	tsarc_deploy *d;
	tsarc_repo *repo;
	const tsarc_snapshot *snap;
	const tsarc_restore_opts *o;
	tsarc_transports tr;
	tsarc_transport *deftr;
	step *steps;
	size_t n;
	cJSON *absent; /* components of the target config with no stream */
	cJSON *target_place;   /* where the target's resources are (owned) */
	cJSON *snapshot_place; /* where the snapshot's were, or NULL (owned) */
	const char *migration; /* why this restore is a migration, or NULL */
	cJSON *warnings;       /* strings for the plan and the report (owned) */
	int in_place;          /* known to be the snapshot's own deployment */
} rctx;

static void progress(rctx *r, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void progress(rctx *r, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!r->o->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->o->progress(r->o->progress_payload, line);
}

static const char *default_action(const char *kind)
{
	if (!kind)
		return NULL;
	if (!strcmp(kind, "resources"))
		return "apply";
	if (!strcmp(kind, "mysql") || !strcmp(kind, "postgres"))
		return "sql";
	if (!strcmp(kind, "files"))
		return "replace-tree";
	if (!strcmp(kind, "redis"))
		return "redis-rdb";
	if (!strcmp(kind, "exec"))
		return "exec";
	return NULL;
}

static int recipe_order(const cJSON *recipe)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(recipe, "order");
	double v = cJSON_IsNumber(o) ? o->valuedouble : 1000;

	/* The recipe comes from a manifest or a config: out of an int's range
	 * the cast is undefined, so clamp first. */
	return v >= 1e9 ? 1000000000 : v > -1e9 ? (int)v : -1000000000;
}

static int in_only(const tsarc_restore_opts *o, const char *name)
{
	size_t i;

	if (!o->only)
		return 1;
	for (i = 0; i < o->nonly; i++)
		if (!strcmp(o->only[i], name))
			return 1;
	return 0;
}

/* `s` may be NULL: a hook's step has no component name. */
static int str_in_array(const cJSON *arr, const char *s)
{
	const cJSON *v;

	if (!s)
		return 0;
	cJSON_ArrayForEach(v, arr)
		if (cJSON_IsString(v) && !strcmp(v->valuestring, s))
			return 1;
	return 0;
}

static void set_note(step *s, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void set_note(step *s, const char *fmt, ...)
{
	va_list ap;
	char *t = NULL;

	va_start(ap, fmt);
	if (vasprintf(&t, fmt, ap) < 0)
		t = NULL;
	va_end(ap);
	free(s->note);
	s->note = t;
}

static int buf_printf(tsarc_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static int buf_printf(tsarc_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *t = NULL;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&t, fmt, ap);
	va_end(ap);
	if (n < 0)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	rc = tsarc_buf_puts(b, t);
	free(t);
	return rc;
}

/* ---- the plan ---- */

static int add_step(rctx *r, step *s)
{
	step *grown = realloc(r->steps, (r->n + 1) * sizeof(step));

	if (!grown)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	r->steps = grown;
	r->steps[r->n++] = *s;
	return 0;
}

static const char *stream_component(const tsarc_stream *st, const cJSON *comps)
{
	const char *name = tsarc_spec_str(st->meta, "component");
	const cJSON *c;

	if (name)
		return name;
	/* A stream without deployment metadata (tsarc backup --stdin) is
	 * taken by the component whose stream name it has. */
	cJSON_ArrayForEach(c, comps) {
		const char *sn = tsarc_spec_str(c, "stream");
		if (sn && !strcmp(sn, st->name))
			return c->string;
	}
	return NULL;
}

static int build_plan(rctx *r)
{
	const cJSON *comps = cJSON_GetObjectItemCaseSensitive(r->d->eff, "components"), *c;
	const cJSON *hooks = cJSON_GetObjectItemCaseSensitive(r->d->eff, "post_restore"), *h;
	size_t i, j;
	int rc;

	/* Every --only name must be something this restore knows. */
	for (i = 0; r->o->only && i < r->o->nonly; i++) {
		int known = cJSON_GetObjectItemCaseSensitive(comps, r->o->only[i]) != NULL;
		for (j = 0; !known && j < r->snap->nstreams; j++) {
			const char *cn = stream_component(&r->snap->streams[j], comps);
			known = cn && !strcmp(cn, r->o->only[i]);
		}
		if (!known)
			return tsarc_error_set(TSARC_ECONFIG, "--only %s: no such component in the "
				"snapshot or the configuration", r->o->only[i]);
	}
	for (i = 0; i < r->snap->nstreams; i++) {
		const tsarc_stream *st = &r->snap->streams[i];
		const char *name = stream_component(st, comps);
		const cJSON *spec = name ? cJSON_GetObjectItemCaseSensitive(comps, name) : NULL;
		const cJSON *over;
		step s;

		memset(&s, 0, sizeof(s));
		s.st = st;
		s.component = name ? name : st->name;
		s.spec = spec;
		s.kind = tsarc_spec_str(st->meta, "kind");
		if (!s.kind)
			s.kind = tsarc_spec_str(spec, "kind");
		s.recipe = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(st->meta, "restore"), 1);
		if (!s.recipe)
			s.recipe = cJSON_CreateObject();
		if (!s.recipe)
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		/* Programs and their arguments come from the target only. */
		tsarc_recipe_drop_commands(s.recipe);
		/* The target's own recipe fields win: they say where things go. */
		if ((over = cJSON_GetObjectItemCaseSensitive(spec, "restore")) &&
			(rc = tsarc_json_merge(s.recipe, over))) {
			cJSON_Delete(s.recipe);
			return rc;
		}
		s.action = tsarc_spec_str(s.recipe, "action");
		if (!s.action)
			s.action = default_action(s.kind);
		s.order = recipe_order(s.recipe);
		s.selected = name && in_only(r->o, name);
		if (!name) {
			s.state = ST_SKIPPED;
			set_note(&s, "no component of the target configuration takes stream %s", st->name);
		} else if (!spec) {
			s.state = ST_SKIPPED;
			set_note(&s, "component %s is not in the target configuration", name);
		} else if (!tsarc_spec_bool(spec, "enabled", 1)) {
			s.state = ST_SKIPPED;
			set_note(&s, "component %s is disabled in the target configuration", name);
		} else if (!s.action) {
			s.state = ST_SKIPPED;
			set_note(&s, "no restore action for kind %s", s.kind ? s.kind : "(unknown)");
		} else if (tsarc_spec_bool(st->meta, "absent", 0)) {
			s.state = ST_SKIPPED;
			set_note(&s, "absent when backed up (%s)",
				tsarc_spec_str(st->meta, "absent_reason") ?
				tsarc_spec_str(st->meta, "absent_reason") : "not installed");
		} else if (!s.selected) {
			s.state = ST_SKIPPED;
			set_note(&s, "not selected (--only)");
		}
		if (s.state == ST_SKIPPED && s.selected && name && r->o->only) {
			rc = tsarc_error_set(TSARC_ENOTFOUND, "component '%s' named in --only cannot "
				"be restored: %s", name, s.note);
			free(s.note);
			cJSON_Delete(s.recipe);
			return rc;
		}
		if ((rc = add_step(r, &s))) {
			free(s.note);
			cJSON_Delete(s.recipe);
			return rc;
		}
	}
	/* Enabled components of the target with nothing in the snapshot. */
	cJSON_ArrayForEach(c, comps) {
		int found = 0;
		if (!tsarc_spec_bool(c, "enabled", 1))
			continue;
		for (i = 0; i < r->n && !found; i++)
			found = !strcmp(r->steps[i].component, c->string);
		if (found)
			continue;
		if (r->o->only && in_only(r->o, c->string))
			return tsarc_error_set(TSARC_ENOTFOUND, "component '%s' named in --only is not "
				"in snapshot %.10s", c->string, r->snap->id);
		cJSON_AddItemToArray(r->absent, cJSON_CreateString(c->string));
	}
	/* A name given to --only that has nothing to restore is an error,
	 * not a silent no-op. */
	for (i = 0; r->o->only && i < r->o->nonly; i++) {
		int pending = 0;
		for (j = 0; j < r->n && !pending; j++)
			pending = r->steps[j].state == ST_PENDING &&
				!strcmp(r->steps[j].component, r->o->only[i]);
		if (!pending)
			return tsarc_error_set(TSARC_ENOTFOUND, "component '%s' named in --only is not "
				"in snapshot %.10s (or is disabled in the configuration)", r->o->only[i],
				r->snap->id);
	}
	/* Stable sort by order: equal orders keep the snapshot's order. */
	for (i = 1; i < r->n; i++) {
		step tmp = r->steps[i];
		for (j = i; j > 0 && r->steps[j - 1].order > tmp.order; j--)
			r->steps[j] = r->steps[j - 1];
		r->steps[j] = tmp;
	}
	/* The hooks, after everything, in their own order. */
	if (hooks && !cJSON_IsArray(hooks))
		return tsarc_error_set(TSARC_ECONFIG, "%s: post_restore must be an array",
			r->d->origin);
	i = 0;
	cJSON_ArrayForEach(h, hooks) {
		const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(h, "command"), *a;
		const cJSON *after = cJSON_GetObjectItemCaseSensitive(h, "after");
		step s;
		int any = after == NULL;
		i++;
		if (!cJSON_IsObject(h) || !cJSON_IsArray(cmd) || !cJSON_GetArraySize(cmd))
			return tsarc_error_set(TSARC_ECONFIG, "%s: post_restore[%zu] needs \"command\" "
				"(an array of strings)", r->d->origin, i - 1);
		cJSON_ArrayForEach(a, cmd)
			if (!cJSON_IsString(a))
				return tsarc_error_set(TSARC_ECONFIG, "%s: post_restore[%zu]: command must "
					"be an array of strings", r->d->origin, i - 1);
		memset(&s, 0, sizeof(s));
		snprintf(s.label, sizeof(s.label), "post_restore[%zu]", i - 1);
		s.kind = "hook";
		s.action = "hook";
		s.order = 100000;
		s.spec = h;
		/* A hook runs when a component it re-syncs from or into was
		 * restored now (its "after" list), or always without one. */
		for (j = 0; j < r->n && !any; j++)
			any = r->steps[j].state == ST_PENDING && str_in_array(after, r->steps[j].component);
		if (!any) {
			s.state = ST_SKIPPED;
			set_note(&s, "none of the components it follows is restored");
		}
		s.selected = 1;
		if ((rc = add_step(r, &s))) {
			free(s.note);
			return rc;
		}
	}
	return 0;
}

/* ---- shared helpers ---- */

/* Where a component or hook runs: its own "transport", this host for an
 * external database, else the deployment's transport. */
static int spec_transport(rctx *r, const cJSON *spec, tsarc_transport **out)
{
	const char *type = tsarc_spec_str(spec, "transport");

	if (tsarc_spec_bool(spec, "external", 0))
		type = "local";
	if (!type) {
		*out = r->deftr;
		return 0;
	}
	return tsarc_transports_get(&r->tr, type, out);
}

static int resolve_component(rctx *r, step *s, tsarc_component *c)
{
	memset(c, 0, sizeof(*c));
	c->name = s->component;
	c->kind = s->kind;
	c->spec = s->spec;
	c->stream = s->st ? s->st->name : NULL;
	c->required = tsarc_spec_bool(s->spec, "required", 1);
	c->external = tsarc_spec_bool(s->spec, "external", 0);
	c->resources = r->deftr;
	return spec_transport(r, s->spec, &c->tr);
}

/* A copy of the connection resolved before the first write (see
 * resolve_targets): a step never looks its endpoint up again, when the
 * Secrets may already be the snapshot's. */
static int step_conn(const step *s, tsarc_conn *conn)
{
	memset(conn, 0, sizeof(*conn));
	if (!s->has_conn)
		return tsarc_error_set(TSARC_EINVAL, "component '%s': its endpoint was not resolved "
			"before the restore", s->component);
	return tsarc_conn_dup(&s->conn, conn);
}

static void component_clear(tsarc_component *c)
{
	free(c->pod);
	free(c->container);
	free(c->selector);
	c->pod = c->container = c->selector = NULL;
}

static int write_all(int fd, const void *buf, size_t len)
{
	if (tsarc__write_all(fd, buf, len))
		return tsarc_error_set(errno == EPIPE ? TSARC_ECANCELED : TSARC_EIO,
			"writing to the restore command: %s", strerror(errno));
	return 0;
}

/* What feeds a consumer: `pre` goes out with the first bytes of the
 * stream, not before, so a stream that cannot be read at all never lets
 * a preamble run on its own (mysql's clean step drops every table). */
typedef struct feeder {
	int fd;
	const char *pre;
} feeder;

static int feed_sink(void *payload, const uint8_t *data, size_t len)
{
	feeder *f = payload;
	int rc;

	if (f->pre) {
		if ((rc = write_all(f->fd, f->pre, strlen(f->pre))))
			return rc;
		f->pre = NULL;
	}
	return tsarc_sink_fd(&f->fd, data, len);
}

/*
 * Streams `st` (between `pre` and `post`, may be NULL) into `cmd` run
 * through the component's transport. Any failure while feeding it (damage,
 * a store that cannot be read or reached, a write that fails, an
 * interruption) aborts the consumer, its whole process group, before its
 * input is closed: a loader never sees a clean end of a partial stream
 * (mysql, psql and GNU tar take one for the end of the dump and apply
 * it). A failure of the consumer itself is reported with its stderr.
 */
static int stream_into(rctx *r, tsarc_component *c, const tsarc_cmd *cmd, const tsarc_stream *st,
	const char *pre, const char *post, const char *what)
{
	tsarc_proc p;
	feeder f;
	int rc, prc;
	char msg[2048], tail[512];

	tsarc_proc_init(&p);
	p.want_stdin = 1;
	if ((rc = c->tr->spawn(c->tr, c, cmd, &p)))
		return rc;
	f.fd = p.in_fd;
	f.pre = pre;
	rc = st ? tsarc_stream_extract(r->repo, st, feed_sink, &f, r->o->inflight) : 0;
	if (!rc && f.pre)
		rc = feed_sink(&f, NULL, 0); /* an empty stream: the preamble alone */
	if (!rc && post)
		rc = write_all(f.fd, post, strlen(post));
	if (!rc) {
		tsarc_proc_close_stdin(&p);
		return tsarc_proc_finish(&p, what);
	}
	snprintf(msg, sizeof(msg), "%s", tsarc_error_last()->message);
	tsarc_proc_abort(&p);
	prc = tsarc_proc_finish(&p, what);
	if (rc == TSARC_ECANCELED) {
		/* It stopped reading (EPIPE): its own end explains, unless that
		 * end was our SIGKILL (it closed its input but kept running). */
		if (prc && !(WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGKILL))
			return prc;
		tsarc_proc_tail(&p, tail, sizeof(tail));
		return tsarc_error_set(TSARC_EIO, "%s stopped reading its input before the end of "
			"the stream and was stopped%s%s", what, tail[0] ? "; its stderr ended with:\n" : "",
			tail);
	}
	return tsarc_error_set(rc, "%s; %s was stopped before the end of its input", msg, what);
}

/* Reads a whole (small) stream into memory. */
typedef struct membuf {
	tsarc_buf b;
	size_t max;
} membuf;

static int mem_sink(void *payload, const uint8_t *data, size_t len)
{
	membuf *m = payload;

	if (m->b.size + len > m->max)
		return tsarc_error_set(TSARC_ETOOLARGE, "larger than %zu bytes", m->max);
	return tsarc_buf_append(&m->b, data, len);
}

static int domain_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		ch == '-';
}

/*
 * Replaces OLD by NEW where it is a whole domain or the end of one:
 * "example.com", "apicast.example.com", "https://x.example.com:443";
 * not "myexample.com". Returns NULL when nothing changed (or no memory).
 */
static char *rewrite_domain_text(const char *text, const char *old, const char *new_)
{
	size_t ol = strlen(old), nl = strlen(new_), count = 0;
	const char *p = text, *hit;
	tsarc_buf out = TSARC_BUF_INIT;

	while ((hit = strstr(p, old))) {
		int start_ok = hit == text || !domain_char(hit[-1]) || hit[-1] == '.';
		int end_ok = !domain_char(hit[ol]) && hit[ol] != '.';
		tsarc_buf_append(&out, p, (size_t)(hit - p));
		if (start_ok && end_ok) {
			tsarc_buf_append(&out, new_, nl);
			count++;
		} else {
			tsarc_buf_append(&out, hit, ol);
		}
		p = hit + ol;
	}
	if (!count) {
		tsarc_buf_dispose(&out);
		return NULL;
	}
	tsarc_buf_append(&out, p, strlen(p) + 1);
	return (char *)out.ptr;
}

static int valid_domain(const char *d)
{
	size_t i;

	if (!d[0] || strlen(d) > 253 || d[0] == '.' || d[0] == '-')
		return 0;
	for (i = 0; d[i]; i++)
		if (!domain_char(d[i]) && d[i] != '.')
			return 0;
	return 1;
}

/* ---- apply: Secrets, ConfigMaps, the APIManager ---- */

static void rewrite_item(rctx *r, cJSON *doc, cJSON *changed)
{
	const char *kind = tsarc_spec_str(doc, "kind");
	const char *name = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(doc, "metadata"), "name");
	cJSON *v;

	if (!r->o->rewrite_old || !kind)
		return;
	if (!strcmp(kind, "ConfigMap")) {
		cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "data")) {
			char *t;
			if (!cJSON_IsString(v) ||
				!(t = rewrite_domain_text(v->valuestring, r->o->rewrite_old, r->o->rewrite_new)))
				continue;
			cJSON_SetValuestring(v, t);
			free(t);
			char where[512];
			snprintf(where, sizeof(where), "ConfigMap %s: %s", name ? name : "?", v->string);
			cJSON_AddItemToArray(changed, cJSON_CreateString(where));
		}
	} else if (!strcmp(kind, "APIManager")) {
		cJSON *spec = cJSON_GetObjectItemCaseSensitive(doc, "spec");
		v = cJSON_GetObjectItemCaseSensitive(spec, "wildcardDomain");
		char *t;
		if (cJSON_IsString(v) &&
			(t = rewrite_domain_text(v->valuestring, r->o->rewrite_old, r->o->rewrite_new))) {
			cJSON_SetValuestring(v, t);
			free(t);
			char where[512];
			snprintf(where, sizeof(where), "APIManager %s: spec.wildcardDomain",
				name ? name : "?");
			cJSON_AddItemToArray(changed, cJSON_CreateString(where));
		}
	}
}

static int do_apply(rctx *r, step *s)
{
	const cJSON *skip = cJSON_GetObjectItemCaseSensitive(s->recipe, "skip_when_migrating");
	membuf m;
	cJSON *doc = NULL, *list = NULL, *items, *out_items = NULL, *item, *next;
	cJSON *applied = cJSON_CreateArray(), *skipped = cJSON_CreateArray();
	cJSON *changed = cJSON_CreateArray();
	tsarc_transport *tr;
	int rc;

	memset(&m, 0, sizeof(m));
	m.max = RESOURCES_MAX;
	if (!applied || !skipped || !changed) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = spec_transport(r, s->spec, &tr)))
		goto done;
	if ((rc = tsarc_stream_extract(r->repo, s->st, mem_sink, &m, r->o->inflight)))
		goto done;
	if (!(doc = cJSON_ParseWithLength((const char *)m.b.ptr, m.b.size)) ||
		!cJSON_IsArray(items = cJSON_GetObjectItemCaseSensitive(doc, "items"))) {
		rc = tsarc_error_set(TSARC_ECORRUPT, "stream %s is not a resource List", s->st->name);
		goto done;
	}
	if (!(list = tsarc_resource_list_new(&out_items))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	for (item = items->child; item; item = next) {
		const char *kind = tsarc_spec_str(item, "kind");
		const char *name = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(item, "metadata"),
			"name");
		next = item->next;
		if (!kind || !name) {
			rc = tsarc_error_set(TSARC_ECORRUPT, "stream %s holds a resource without kind "
				"or name", s->st->name);
			goto done;
		}
		/* From the snapshot: only what Kubernetes itself would accept. */
		if (!tsarc_valid_kube_kind(kind) || !tsarc_valid_kube_name(name)) {
			rc = tsarc_error_set(TSARC_EUNSAFE, "stream %s holds a resource whose kind or "
				"name is not a Kubernetes one; nothing of it was applied", s->st->name);
			goto done;
		}
		/* Derived by the operator from the others: never restored. */
		if (!strcmp(name, "hashed-secret-data")) {
			cJSON_AddItemToArray(skipped, cJSON_CreateString(name));
			continue;
		}
		if (r->o->skip_endpoint_secrets && !strcmp(kind, "Secret") && str_in_array(skip, name)) {
			cJSON_AddItemToArray(skipped, cJSON_CreateString(name));
			continue;
		}
		item = cJSON_DetachItemViaPointer(items, item);
		/* Sanitized again: a snapshot from an older tsarc (or --stdin)
		 * may carry fields that clash in the target. */
		tsarc_resource_sanitize(item, cJSON_GetObjectItemCaseSensitive(s->spec,
			"strip_label_prefixes"));
		rewrite_item(r, item, changed);
		cJSON_AddItemToArray(applied, cJSON_CreateString(name));
		cJSON_AddItemToArray(out_items, item);
	}
	if (cJSON_GetArraySize(out_items) &&
		(rc = tr->apply(tr, list, strcmp(tr->type, "local") ? NULL : r->o->target_namespace)))
		goto done;
	set_note(s, "%d applied, %d left out", cJSON_GetArraySize(applied),
		cJSON_GetArraySize(skipped));
	s->detail = cJSON_CreateObject();
	cJSON_AddItemToObject(s->detail, "applied", applied);
	cJSON_AddItemToObject(s->detail, "left_out", skipped);
	cJSON_AddItemToObject(s->detail, "rewritten", changed);
	applied = skipped = changed = NULL;
done:
	if (m.b.ptr)
		OPENSSL_cleanse(m.b.ptr, m.b.size); /* Secrets */
	tsarc_buf_dispose(&m.b);
	cJSON_Delete(doc);
	cJSON_Delete(list);
	cJSON_Delete(applied);
	cJSON_Delete(skipped);
	cJSON_Delete(changed);
	return rc;
}

/* ---- sql: mysql and psql ---- */

static int sql_ident_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return i > 0 && i < 64;
}

/* UPDATE statements for the tenant domain columns ("table.column"):
 * exact matches and sub-domains of OLD get NEW. OLD and NEW were checked
 * to hold domain characters only, so they quote safely. */
static int domain_sql(rctx *r, step *s, tsarc_buf *out)
{
	const cJSON *cols = cJSON_GetObjectItemCaseSensitive(s->recipe, "domain_columns"), *c;
	const char *old = r->o->rewrite_old, *new_ = r->o->rewrite_new;
	char sql[2048];

	if (!old)
		return 0;
	cJSON_ArrayForEach(c, cols) {
		const char *dot;
		char table[64], column[64];
		if (!cJSON_IsString(c) || !(dot = strchr(c->valuestring, '.')) ||
			(size_t)(dot - c->valuestring) >= sizeof(table) || strlen(dot + 1) >= sizeof(column))
			return tsarc_error_set(TSARC_ECONFIG, "component '%s': domain_columns entries "
				"are \"table.column\"", s->component);
		snprintf(table, sizeof(table), "%.*s", (int)(dot - c->valuestring), c->valuestring);
		snprintf(column, sizeof(column), "%s", dot + 1);
		if (!sql_ident_ok(table) || !sql_ident_ok(column) || strchr(table, '.') ||
			strchr(column, '.') || strchr(table, '-') || strchr(column, '-'))
			return tsarc_error_set(TSARC_ECONFIG, "component '%s': '%s' is not a plain "
				"table.column name", s->component, c->valuestring);
		snprintf(sql, sizeof(sql),
			"UPDATE %s SET %s = CONCAT(LEFT(%s, CHAR_LENGTH(%s) - %zu), '%s') "
			"WHERE %s = '%s' OR %s LIKE '%%.%s';\n",
			table, column, column, column, strlen(old), new_, column, old, column, old);
		if (tsarc_buf_puts(out, sql))
			return TSARC_ENOMEM;
	}
	return 0;
}

/* "clean": the database ends up with the dump's tables only. mysqldump
 * drops and recreates each table it holds, but a table the dump does not
 * hold (one added by a failed upgrade's migrations, say) would survive the
 * load next to an older schema_migrations and break the next upgrade. So
 * every view, then every table, of the database is dropped first, in the
 * same session as the load. Routines and events are left to the dump's own
 * DROP ... IF EXISTS: they hold no data. */
static const char mysql_clean_sql[] =
	"SET SESSION group_concat_max_len = 67108864;\n"
	"SET @tsarc_fk = @@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS = 0;\n"
	"SET @tsarc_drop = (SELECT GROUP_CONCAT(CONCAT('`', REPLACE(table_name, '`', '``'), '`')) "
	"FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'VIEW');\n"
	"SET @tsarc_drop = IF(@tsarc_drop IS NULL, 'DO 0', CONCAT('DROP VIEW ', @tsarc_drop));\n"
	"PREPARE tsarc_clean FROM @tsarc_drop;\nEXECUTE tsarc_clean;\nDEALLOCATE PREPARE tsarc_clean;\n"
	"SET @tsarc_drop = (SELECT GROUP_CONCAT(CONCAT('`', REPLACE(table_name, '`', '``'), '`')) "
	"FROM information_schema.tables WHERE table_schema = DATABASE() "
	"AND table_type NOT IN ('VIEW', 'SYSTEM VIEW'));\n"
	"SET @tsarc_drop = IF(@tsarc_drop IS NULL, 'DO 0', CONCAT('DROP TABLE ', @tsarc_drop));\n"
	"PREPARE tsarc_clean FROM @tsarc_drop;\nEXECUTE tsarc_clean;\nDEALLOCATE PREPARE tsarc_clean;\n"
	"SET FOREIGN_KEY_CHECKS = @tsarc_fk;\n";

static int do_sql(rctx *r, step *s)
{
	tsarc_component c;
	tsarc_conn conn;
	tsarc_cmd cmd;
	tsarc_buf pre = TSARC_BUF_INIT, post = TSARC_BUF_INIT;
	const char *tool = tsarc_spec_str(s->recipe, "tool");
	const char *pod_pw = tsarc_spec_str(s->recipe, "pod_password_env");
	int is_mysql = !strcmp(s->kind, "mysql"), kube, rc;
	char what[300];

	memset(&conn, 0, sizeof(conn));
	tsarc_cmd_init(&cmd);
	if ((rc = resolve_component(r, s, &c)))
		return rc;
	kube = !strcmp(c.tr->type, "kube");
	if (!pod_pw)
		pod_pw = tsarc_spec_str(s->spec, "pod_password_env");
	/* The connection resolved before the first write of the restore. */
	if ((kube && (rc = c.tr->locate(c.tr, &c))) || (rc = step_conn(s, &conn)))
		goto done;
	if (!tool)
		tool = is_mysql ? "mysql" : "psql";
	if ((rc = tsarc_cmd_arg(&cmd, tool)))
		goto done;
	if (is_mysql) {
		if (conn.has_password && (rc = tsarc_cmd_mysql_password(&cmd, conn.password)))
			goto done;
		if ((rc = tsarc_cmd_arg(&cmd, "--default-character-set=utf8mb4")) ||
			(rc = tsarc_cmd_arg(&cmd, "--binary-mode")))
			goto done;
		if (conn.user && (rc = tsarc_cmd_argf(&cmd, "--user=%s", conn.user)))
			goto done;
		if (conn.host && (rc = tsarc_cmd_argf(&cmd, "--host=%s", conn.host)))
			goto done;
		if (conn.port && (rc = tsarc_cmd_argf(&cmd, "--port=%d", conn.port)))
			goto done;
		if (conn.socket && (rc = tsarc_cmd_argf(&cmd, "--socket=%s", conn.socket)))
			goto done;
		if (kube && pod_pw && (rc = tsarc_cmd_pod_env(&cmd, "MYSQL_PWD", pod_pw)))
			goto done;
		/* A mysqldump of one database has no CREATE DATABASE: after a
		 * loss the database must be created first. */
		if (conn.database) {
			const char *opts = tsarc_spec_str(s->recipe, "create_database_options");
			if (strchr(conn.database, '`')) {
				rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': database name with a "
					"backquote", s->component);
				goto done;
			}
			if ((rc = buf_printf(&pre, "CREATE DATABASE IF NOT EXISTS `%s`%s%s;\nUSE `%s`;\n",
				     conn.database, opts ? " " : "", opts ? opts : "", conn.database)))
				goto done;
		}
		if (tsarc_spec_bool(s->recipe, "clean", 0)) {
			if (!conn.database) {
				rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': \"clean\" needs the "
					"\"database\" to empty", s->component);
				goto done;
			}
			if ((rc = tsarc_buf_puts(&pre, mysql_clean_sql)))
				goto done;
		}
	} else if (tsarc_spec_bool(s->recipe, "clean", 0)) {
		rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': \"clean\" is for mysql; "
			"PostgreSQL dumps drop and recreate their own objects (--clean --if-exists)",
			s->component);
		goto done;
	} else {
		if ((rc = tsarc_cmd_arg(&cmd, "-X")) || (rc = tsarc_cmd_arg(&cmd, "-q")) ||
			(rc = tsarc_cmd_arg(&cmd, "-v")) || (rc = tsarc_cmd_arg(&cmd, "ON_ERROR_STOP=1")) ||
			(rc = tsarc_cmd_arg(&cmd, "--no-password")))
			goto done;
		if (conn.user && (rc = tsarc_cmd_argf(&cmd, "--username=%s", conn.user)))
			goto done;
		if (conn.host && (rc = tsarc_cmd_argf(&cmd, "--host=%s", conn.host)))
			goto done;
		if (conn.port && (rc = tsarc_cmd_argf(&cmd, "--port=%d", conn.port)))
			goto done;
		/* A pg_dump of one database goes into it; a pg_dumpall (no
		 * database) creates its databases itself from "postgres". */
		if ((rc = tsarc_cmd_argf(&cmd, "--dbname=%s", conn.database ? conn.database :
			     "postgres")))
			goto done;
		if (conn.has_password && (rc = tsarc_cmd_env(&cmd, "PGPASSWORD", conn.password)))
			goto done;
		if (!kube && (rc = tsarc_cmd_env(&cmd, "PGCONNECT_TIMEOUT", "15")))
			goto done;
		if (kube && pod_pw && (rc = tsarc_cmd_pod_env(&cmd, "PGPASSWORD", pod_pw)))
			goto done;
	}
	if ((rc = tsarc_spec_add_args(&cmd, s->recipe, "options", s->component)))
		goto done;
	/* The domain rewrite runs in the same session, after the load: only a
	 * complete load is rewritten, and a failed rewrite fails the step. */
	if ((rc = domain_sql(r, s, &post)))
		goto done;
	if (pre.size)
		tsarc_buf_append(&pre, "", 1);
	if (post.size)
		tsarc_buf_append(&post, "", 1);
	snprintf(what, sizeof(what), "component '%s': %s%s%s", s->component, tool,
		kube ? " in pod " : "", kube ? c.pod : "");
	rc = stream_into(r, &c, &cmd, s->st, pre.size ? (char *)pre.ptr : NULL,
		post.size ? (char *)post.ptr : NULL, what);
	if (!rc) {
		set_note(s, "%llu bytes into %s%s%s%s", (unsigned long long)s->st->size, tool,
			conn.database ? " (database " : "", conn.database ? conn.database : "",
			conn.database ? ")" : "");
		if (post.size) {
			s->detail = cJSON_CreateObject();
			cJSON_AddStringToObject(s->detail, "domain_rewrite", (char *)post.ptr);
		}
	}
done:
	tsarc_buf_dispose(&pre);
	tsarc_buf_dispose(&post);
	tsarc_cmd_free(&cmd);
	tsarc_conn_free(&conn);
	component_clear(&c);
	return rc;
}

/* ---- replace-tree: system-storage ---- */

/*
 * The kube transport cannot check entries on the far side before tar
 * writes them, so the whole stream is read here first (verified chunks,
 * every entry and link by the local restore's rules) and only then
 * streamed into the pod. The price is reading the stream twice; the gain
 * is that a hostile archive never reaches the pod.
 */
static int validate_tar(rctx *r, const tsarc_stream *st, uint64_t *entries)
{
	int rc = tsarc_tree_check_stream(r->repo, st, r->o->inflight, entries);

	if (rc == TSARC_EUNSAFE || rc == TSARC_ECORRUPT)
		tsarc_error_prefix("stream %s", st->name);
	return rc;
}

/*
 * The pod's side of a tree restore: $1 the target folder, $2 the staging
 * folder, $3 the folder the old entries go to, $4 the entry that ends a
 * complete stream (random names: no archive entry can take them). The
 * same journal as a local restore (src/tree_restore.c), so an interrupted
 * swap is ended by the next restore into the volume, from either side:
 * phase 0 (extracting) is undone, phases 1 (old entries out) and 2 (new
 * entries in) are finished. tar's success is not enough to swap: tsarc
 * writes $4 only after it verified the whole stream, so a stream cut
 * between two entries (tar exits 0) leaves the old tree.
 */
static const char TREE_SCRIPT[] =
	"set -e; d=$1; new=$2; old=$3; mark=$4; j=.tsarc-swap-journal\n"
	"mkdir -p \"$d\"; cd \"$d\"\n"
	"jw() { printf 'tsarc-swap 1\\n%s\\n%s\\n%s\\ndelete\\n' \"$1\" \"$2\" \"$3\" >\"$j.tmp\"; "
	"mv -f \"$j.tmp\" \"$j\"; }\n"
	"finish() {\n"
	"  if [ \"$1\" = 0 ]; then rm -rf \"./$2\" \"./$3\"; rm -f \"$j\"; return 0; fi\n"
	"  [ \"$1\" = 2 ] && [ ! -e \"./$2\" ] && { rm -rf \"./$3\"; rm -f \"$j\"; return 0; }\n"
	"  [ -d \"./$2\" ] || { echo \"tsarc: $d/$j names the new tree $2, which is missing\" >&2; exit 1; }\n"
	"  if [ \"$1\" = 1 ]; then\n"
	"    mkdir -p \"./$3\"\n"
	"    for e in * .[!.]* ..?*; do\n"
	"      [ -e \"$e\" ] || [ -L \"$e\" ] || continue\n"
	"      case $e in \"$2\"|\"$3\"|.tsarc-swap-journal*) continue;; esac\n"
	"      rm -rf \"./$3/$e\"; mv -f \"./$e\" \"./$3/$e\"\n"
	"    done\n"
	"    jw 2 \"$2\" \"$3\"\n"
	"  fi\n"
	"  for e in \"./$2\"/* \"./$2\"/.[!.]* \"./$2\"/..?*; do\n"
	"    [ -e \"$e\" ] || [ -L \"$e\" ] || continue\n"
	"    b=${e##*/}; rm -rf \"./$b\"; mv -f \"$e\" \"./$b\"\n"
	"  done\n"
	"  rm -rf \"./$3\" \"./$2\"; rm -f \"$j\"\n"
	"}\n"
	"if [ -e \"$j\" ] || [ -L \"$j\" ]; then\n"
	"  p=; s=; o=; x=; m=\n"
	"  [ -f \"$j\" ] && [ ! -L \"$j\" ] && { read -r m; read -r p; read -r s; read -r o; read -r x; } <\"$j\" || :\n"
	"  case \"$m|$p|$s|$o|$x\" in\n"
	"  \"tsarc-swap 1|\"[012]\"|.tsarc-restore-\"?*\"|.tsarc-old-\"?*\"|delete\") ;;\n"
	"  *) echo \"tsarc: $d/$j is not a swap journal tsarc wrote; nothing was changed\" >&2; exit 1;;\n"
	"  esac\n"
	"  case \"$s$o\" in */*) echo \"tsarc: $d/$j is not a swap journal tsarc wrote\" >&2; exit 1;; esac\n"
	"  echo \"tsarc: warning: $d: an earlier restore was interrupted; ending its swap first\" >&2\n"
	"  finish \"$p\" \"$s\" \"$o\"\n"
	"fi\n"
	"jw 0 \"$new\" \"$old\"\n"
	"mkdir -m 700 \"./$new\"\n"
	"if ! tar -x -p -f - -C \"./$new\"; then finish 0 \"$new\" \"$old\"; exit 1; fi\n"
	"if [ ! -f \"./$new/$mark\" ] || [ -L \"./$new/$mark\" ]; then\n"
	"  echo \"tsarc: the tar stream ended before tsarc verified all of it; nothing was swapped\" >&2\n"
	"  finish 0 \"$new\" \"$old\"; exit 1\n"
	"fi\n"
	"rm -f \"./$new/$mark\"\n"
	"jw 1 \"$new\" \"$old\"\n"
	"finish 1 \"$new\" \"$old\"\n";

/* Random names for the pod's swap: PREFIX + the nonce of a staging name. */
static int swap_name(char *out, size_t outsz, const char *prefix)
{
	char name[64];
	int rc;

	if ((rc = tsarc_staging_name(name, sizeof(name))))
		return rc;
	if (snprintf(out, outsz, "%s%s", prefix, strchr(name + 1, '-') + 1) >= (int)outsz)
		return tsarc_error_set(TSARC_ETOOLARGE, "no room for a name");
	return 0;
}

/*
 * Into a pod: the tar is checked whole first (validate_tar), then read
 * again and rewritten entry by entry from what tsarc validated (the pod
 * never parses the repository's bytes), the completion entry last; any
 * failure while feeding kills the pod's tar before its input ends.
 */
static int tree_into_pod(rctx *r, step *s, tsarc_component *c, const char *path)
{
	tsarc_cmd cmd;
	tsarc_proc p;
	uint64_t entries = 0, sent = 0, skipped = 0;
	char what[400], staging[64], old[64], mark[64], msg[2048];
	int rc, prc;

	tsarc_cmd_init(&cmd);
	if ((rc = validate_tar(r, s->st, &entries)) || (rc = c->tr->locate(c->tr, c)) ||
		(rc = tsarc_staging_name(staging, sizeof(staging))) ||
		(rc = swap_name(old, sizeof(old), ".tsarc-old-")) ||
		(rc = swap_name(mark, sizeof(mark), ".tsarc-complete-")) ||
		(rc = tsarc_cmd_arg(&cmd, "sh")) || (rc = tsarc_cmd_arg(&cmd, "-c")) ||
		(rc = tsarc_cmd_arg(&cmd, TREE_SCRIPT)) || (rc = tsarc_cmd_arg(&cmd, "sh")) ||
		(rc = tsarc_cmd_arg(&cmd, path)) || (rc = tsarc_cmd_arg(&cmd, staging)) ||
		(rc = tsarc_cmd_arg(&cmd, old)) || (rc = tsarc_cmd_arg(&cmd, mark))) {
		tsarc_cmd_free(&cmd);
		return rc;
	}
	snprintf(what, sizeof(what), "component '%s': tar into %s in pod %s", s->component, path,
		c->pod);
	tsarc_proc_init(&p);
	p.want_stdin = 1;
	rc = c->tr->spawn(c->tr, c, &cmd, &p);
	tsarc_cmd_free(&cmd);
	if (rc)
		return rc;
	rc = tsarc_tree_rewrite_stream(r->repo, s->st, r->o->inflight, p.in_fd, mark, &sent,
		&skipped);
	if (!rc && sent != entries)
		rc = tsarc_error_set(TSARC_ECORRUPT, "stream %s read %llu entries, then %llu",
			s->st->name, (unsigned long long)entries, (unsigned long long)sent);
	if (rc) {
		snprintf(msg, sizeof(msg), "%s", tsarc_error_last()->message);
		tsarc_proc_kill(&p);
		prc = tsarc_proc_finish(&p, what);
		/* It had exited on its own (its script refused, say): its own
		 * error explains a broken pipe on our side. */
		if (prc && WIFEXITED(p.status))
			return prc;
		return tsarc_error_set(rc, "%s; %s was stopped before the end of its input, so the "
			"tree was not swapped", msg, what);
	}
	tsarc_proc_close_stdin(&p);
	if ((prc = tsarc_proc_finish(&p, what)))
		return prc;
	set_note(s, "%llu entries checked, rewritten and extracted into %s in pod %s%s",
		(unsigned long long)entries, path, c->pod, skipped ? " (fifos, sockets or devices "
		"skipped)" : "");
	return 0;
}

static int do_tree(rctx *r, step *s)
{
	const char *path = tsarc_spec_str(s->spec, "path");
	tsarc_component c;
	int rc;

	if (!path)
		path = tsarc_spec_str(s->recipe, "path");
	if (!path)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': no \"path\" to restore into",
			s->component);
	if ((rc = resolve_component(r, s, &c)))
		return rc;
	if (!strcmp(c.tr->type, "local")) {
		tsarc_tree_restore_options o;
		tsarc_tree_restore_result res;
		memset(&o, 0, sizeof(o));
		memset(&res, 0, sizeof(res));
		o.restore_owner = geteuid() == 0;
		/* It creates the target folder when missing. */
		if (!(rc = tsarc_tree_restore_stream(r->repo, s->st, path, &o, &res)))
			set_note(s, "%llu entries, %llu bytes into %s, %llu extra entries removed%s%s",
				(unsigned long long)res.entries, (unsigned long long)res.bytes, path,
				(unsigned long long)res.removed,
				res.skipped ? ", fifos, sockets or devices skipped" : "",
				res.recovered == 1 ? ", an interrupted earlier swap finished first" :
				res.recovered == 2 ? ", an interrupted earlier restore undone first" : "");
	} else {
		rc = tree_into_pod(r, s, &c, path);
	}
	component_clear(&c);
	return rc;
}

/* ---- redis-rdb: the swap ---- */

typedef struct redis_op {
	rctx *r;
	step *s;
	tsarc_component c;
	tsarc_conn conn;
	int kube;
	const char *pod_pw;
	char *data_dir, *dbfilename, *aof_dir, *aof_file, *pidfile;
	char *config_file;     /* local: the server's redis.conf */
	const char *config_map, *config_key, *workload; /* kube */
	cJSON *cm;             /* kube: the ConfigMap as found */
	char *orig_conf;       /* persistence as configured */
	char *saved_path;      /* local: CONFIG.tsarc-orig, the original kept durably */
	int aof_on;            /* originally appendonly yes */
	int conf_switched;     /* the off-config is (or may be) in place */
	int server;            /* 0 untouched, 1 stopped by us, 2 running the off-config */
	tsarc_cleanup undo;    /* puts the original configuration back */
	char undo_what[300];
	tsarc_cleanup incoming; /* removes DBFILENAME.tsarc-incoming until it is moved in */
	char incoming_what[300];
	char *earlier;         /* what undoing an earlier interrupted swap did */
} redis_op;

static int redis_cli(redis_op *op, const char *const args[], char **out)
{
	tsarc_cmd cmd;
	size_t i;
	int rc;

	tsarc_cmd_init(&cmd);
	rc = tsarc_cmd_arg(&cmd, "redis-cli");
	if (!rc && op->conn.host && !op->kube)
		rc = tsarc_cmd_arg(&cmd, "-h") || tsarc_cmd_arg(&cmd, op->conn.host);
	if (!rc && op->conn.port)
		rc = tsarc_cmd_arg(&cmd, "-p") || tsarc_cmd_argf(&cmd, "%d", op->conn.port);
	if (!rc && op->conn.user)
		rc = tsarc_cmd_arg(&cmd, "--user") || tsarc_cmd_arg(&cmd, op->conn.user);
	for (i = 0; !rc && args[i]; i++)
		rc = tsarc_cmd_arg(&cmd, args[i]);
	if (!rc && !op->kube && op->conn.has_password)
		rc = tsarc_cmd_env(&cmd, "REDISCLI_AUTH", op->conn.password);
	if (!rc && op->kube && op->pod_pw)
		rc = tsarc_cmd_pod_env(&cmd, "REDISCLI_AUTH", op->pod_pw);
	if (!rc)
		rc = op->c.tr->capture(op->c.tr, &op->c, &cmd, CAPTURE_MAX, out);
	tsarc_cmd_free(&cmd);
	return rc;
}

/* CONFIG GET NAME: the second line, or an empty string (unknown name). */
static int redis_config_get(redis_op *op, const char *name, char **value)
{
	const char *args[] = {"CONFIG", "GET", name, NULL};
	char *out = NULL, *nl;
	int rc;

	if ((rc = redis_cli(op, args, &out)))
		return rc;
	nl = strchr(out, '\n');
	*value = strndup(nl ? nl + 1 : "", nl ? strcspn(nl + 1, "\r\n") : 0);
	free(out);
	return *value ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

/* "db0:keys=12,expires=0,avg_ttl=0" -> "db0:keys=12;" for every db. */
static int redis_keyspace(redis_op *op, char **out)
{
	const char *args[] = {"INFO", "keyspace", NULL};
	char *text = NULL, *p;
	tsarc_buf b = TSARC_BUF_INIT;
	int rc;

	if ((rc = redis_cli(op, args, &text)))
		return rc;
	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, "db", 2)) {
			size_t len = strcspn(p, ",\r\n");
			tsarc_buf_append(&b, p, len);
			tsarc_buf_append(&b, ";", 1);
		}
	}
	tsarc_buf_append(&b, "", 1);
	free(text);
	*out = (char *)b.ptr;
	return *out ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

static int redis_wait_ping(redis_op *op, int want_up)
{
	const char *args[] = {"PING", NULL};
	int i;

	for (i = 0; i < REDIS_WAIT_SECONDS * 10; i++) {
		char *out = NULL;
		int rc, up;
		if (tsarc_interrupted())
			return tsarc_interrupt_error();
		rc = redis_cli(op, args, &out);
		up = !rc && out && !strncmp(out, "PONG", 4);
		free(out);
		if (up == want_up)
			return 0;
		usleep(100000);
	}
	return tsarc_error_set(TSARC_EIO, "component '%s': Redis %s within %d s", op->s->component,
		want_up ? "did not answer PING (still loading or not started)" : "did not stop",
		REDIS_WAIT_SECONDS);
}

/* When the line [line, line + len) of a redis.conf is the directive
 * `name` (leading blanks allowed), what follows the name; else NULL. */
static const char *conf_directive(const char *line, size_t len, const char *name)
{
	const char *end = line + len, *q = line;
	size_t n = strlen(name);

	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if ((size_t)(end - q) < n || strncmp(q, name, n))
		return NULL;
	q += n;
	return q == end || *q == ' ' || *q == '\t' ? q : NULL;
}

/* Persistence off: every save line and appendonly commented out, then
 * save "" and appendonly no (the seed's edit of redis-config). */
static char *persistence_off(const char *conf)
{
	tsarc_buf b = TSARC_BUF_INIT;
	const char *p = conf;

	while (*p) {
		size_t len = strcspn(p, "\n");
		if (conf_directive(p, len, "save") || conf_directive(p, len, "appendonly"))
			tsarc_buf_puts(&b, "# tsarc restore: ");
		tsarc_buf_append(&b, p, len);
		tsarc_buf_puts(&b, "\n");
		p += len;
		if (*p == '\n')
			p++;
	}
	tsarc_buf_puts(&b, "save \"\"\nappendonly no\n");
	tsarc_buf_append(&b, "", 1);
	return (char *)b.ptr;
}

/* Whether a redis.conf text turns AOF on: its last active appendonly
 * line (Redis takes the last one) says yes. */
static int conf_wants_aof(const char *conf)
{
	const char *p = conf, *v;
	int on = 0;

	while (p && *p) {
		size_t len = strcspn(p, "\n");
		if ((v = conf_directive(p, len, "appendonly"))) {
			while (v < p + len && (*v == ' ' || *v == '\t'))
				v++;
			on = (size_t)(p + len - v) >= 3 && !strncmp(v, "yes", 3) &&
				(v + 3 == p + len || v[3] == ' ' || v[3] == '\t' || v[3] == '\r');
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return on;
}

/* Makes a rename or unlink in the folder of `path` durable. */
static int sync_dir_of(const char *path)
{
	char dir[4200], *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	if (!(slash = strrchr(dir, '/')))
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", dir, strerror(errno));
	if (fsync(fd) && errno != EINVAL)
		rc = tsarc_error_set(TSARC_EIO, "fsync %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

/*
 * While persistence is switched off, the original configuration is kept
 * where a later run finds it even if this one is killed (SIGKILL, a
 * crash, a power cut): beside redis.conf as CONFIG.tsarc-orig, written and
 * synced before the first edit; on a ConfigMap, in this annotation,
 * written by the same apply as the edit (one cannot exist without the
 * other). It goes once the original is back.
 */
#define REDIS_SAVED_SUFFIX ".tsarc-orig"
#define REDIS_SAVED_ANNOTATION "tsarc/original-redis-config"

/* Sets the persistence configuration: local file or the ConfigMap; on
 * the ConfigMap with `saved` (the original) in the annotation, or none. */
static int redis_set_conf(redis_op *op, const char *text, const char *saved)
{
	cJSON *list, *items, *doc, *data, *md, *ann;
	int rc;

	/* redis.conf's folder may be writable by others (the redis group on
	 * Debian): the shared writer never writes through what they plant. */
	if (!op->kube)
		return tsarc_replace_file(op->config_file, text, strlen(text), 0600, 1);
	if (!(doc = cJSON_Duplicate(op->cm, 1)) || !(list = tsarc_resource_list_new(&items))) {
		cJSON_Delete(doc);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	tsarc_resource_sanitize(doc, NULL);
	data = cJSON_GetObjectItemCaseSensitive(doc, "data");
	cJSON_DeleteItemFromObjectCaseSensitive(data, op->config_key);
	cJSON_AddStringToObject(data, op->config_key, text);
	md = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
	if (!(ann = cJSON_GetObjectItemCaseSensitive(md, "annotations")) && saved && md)
		ann = cJSON_AddObjectToObject(md, "annotations");
	cJSON_DeleteItemFromObjectCaseSensitive(ann, REDIS_SAVED_ANNOTATION);
	if (saved && ann)
		cJSON_AddStringToObject(ann, REDIS_SAVED_ANNOTATION, saved);
	else if (ann && !ann->child)
		cJSON_DeleteItemFromObjectCaseSensitive(md, "annotations");
	cJSON_AddItemToArray(items, doc);
	rc = op->r->deftr->apply(op->r->deftr, list, NULL);
	cJSON_Delete(list);
	if (rc)
		tsarc_error_prefix("component '%s': ConfigMap %s", op->s->component, op->config_map);
	return rc;
}

/* Persistence off, the original kept durably first (local: the saved
 * file, synced before the edit; kube: the annotation, in the same apply). */
static int redis_switch_off(redis_op *op, const char *off)
{
	int rc;

	/* Ours and 0600 whatever is found there: it holds requirepass. */
	if (!op->kube && (rc = tsarc_replace_file(op->saved_path, op->orig_conf,
			     strlen(op->orig_conf), 0600, 0)))
		return rc;
	op->conf_switched = 1;
	return redis_set_conf(op, off, op->orig_conf);
}

/* The undo: the original configuration back, then the saved copy gone.
 * Runs once, from the step (done or failed) or from the signal thread
 * when the process is ended before the step could (interrupt.h). */
static int redis_undo(void *arg)
{
	redis_op *op = arg;
	int rc;

	if ((rc = redis_set_conf(op, op->orig_conf, NULL)))
		return rc;
	if (!op->kube) {
		if (unlink(op->saved_path) && errno != ENOENT)
			return tsarc_error_set(TSARC_EIO, "cannot remove %s: %s", op->saved_path,
				strerror(errno));
		if ((rc = sync_dir_of(op->saved_path)))
			return rc;
	}
	op->conf_switched = 0;
	return 0;
}

/*
 * An earlier run that was killed mid-swap left persistence off and the
 * original saved. The configuration found is then not the original: take
 * the saved one and put it back before anything else. Only when the
 * configuration is exactly what that run wrote; if someone changed it
 * since, guessing could undo their fix, so the operator decides.
 */
static int redis_undo_earlier(redis_op *op)
{
	const char *where = op->kube ? op->config_map : op->config_file;
	char *saved = NULL, *off = NULL;
	int rc = 0, leftover;

	if (op->kube) {
		const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(op->cm, "metadata"), "annotations");
		const char *t = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(ann, REDIS_SAVED_ANNOTATION));
		if (!t)
			return 0;
		if (!(saved = strdup(t)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	} else {
		rc = tsarc_read_private_file(op->saved_path, REDIS_CONF_MAX, &saved, NULL);
		if (rc == TSARC_ENOTFOUND) {
			tsarc_error_clear();
			return 0;
		}
		if (rc)
			return rc;
	}
	if (!(off = persistence_off(saved))) {
		free(saved);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	leftover = !strcmp(op->orig_conf, saved);
	if (!leftover && strcmp(op->orig_conf, off)) {
		rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': an earlier restore was "
			"interrupted with persistence switched off and kept the original configuration "
			"in %s%s, but %s has been changed since: put the right configuration in place "
			"and remove %s, then run the restore again", op->s->component,
			op->kube ? "annotation " REDIS_SAVED_ANNOTATION " of " : "",
			op->kube ? where : op->saved_path, where,
			op->kube ? "the annotation" : op->saved_path);
	} else {
		/* The original is what the saved copy says. */
		free(op->orig_conf);
		op->orig_conf = saved;
		saved = NULL;
		if (!(rc = redis_undo(op)) && asprintf(&op->earlier, "%s: an earlier interrupted "
			"restore %s; the original configuration is back", where, leftover ?
			"had already put the configuration back" : "had left persistence off") < 0)
			op->earlier = NULL;
	}
	free(saved);
	free(off);
	return rc;
}

/* Restarts the server with the configuration in place and waits for it
 * to answer (after loading its data). kube: a rollout, then the new pod;
 * local: SHUTDOWN (SAVE or NOSAVE), wait for the PID, start_command. */
static int redis_restart(redis_op *op, int save)
{
	int rc;

	if (op->kube) {
		if (!op->r->deftr->rollout)
			return tsarc_error_set(TSARC_EUNSUPPORTED, "the transport cannot roll out");
		op->server = 1;
		if ((rc = op->r->deftr->rollout(op->r->deftr, op->workload)))
			return rc;
		/* The new pod, under the cleanup registry: an exit cleanup that
		 * removes the incoming RDB must not read it half-written. */
		tsarc_cleanup_hold();
		component_clear(&op->c);
		rc = op->c.tr->locate(op->c.tr, &op->c);
		tsarc_cleanup_release();
		if (rc)
			return rc;
	} else {
		const cJSON *start = cJSON_GetObjectItemCaseSensitive(op->s->recipe, "start_command"), *a;
		const char *args[] = {"SHUTDOWN", save ? "SAVE" : "NOSAVE", NULL};
		char *out = NULL, err[1024];
		tsarc_cmd cmd;
		long pid = 0;
		int code, i;
		if (op->pidfile && op->pidfile[0]) {
			char *t = NULL;
			if (!tsarc_read_file(op->pidfile, REDIS_CONF_MAX, &t, NULL))
				pid = strtol(t, NULL, 10);
			free(t);
		}
		/* SHUTDOWN closes the connection: redis-cli's status says nothing. */
		redis_cli(op, args, &out);
		free(out);
		out = NULL;
		op->server = 1;
		for (i = 0; pid > 0 && i < REDIS_WAIT_SECONDS * 20 && kill((pid_t)pid, 0) == 0; i++) {
			if (tsarc_interrupted())
				return tsarc_interrupt_error();
			usleep(50000);
		}
		if (pid > 0 && kill((pid_t)pid, 0) == 0)
			return tsarc_error_set(TSARC_EIO, "component '%s': Redis (pid %ld) did not stop",
				op->s->component, pid);
		if ((rc = redis_wait_ping(op, 0)))
			return rc;
		tsarc_cmd_init(&cmd);
		if (cJSON_IsArray(start)) {
			cJSON_ArrayForEach(a, start)
				if (cJSON_IsString(a))
					tsarc_cmd_arg(&cmd, a->valuestring);
		} else {
			tsarc_cmd_arg(&cmd, "redis-server");
			tsarc_cmd_arg(&cmd, op->config_file);
		}
		/* The server daemonizes (or a service manager starts it): the
		 * command returns once it runs. */
		rc = tsarc_proc_capture(cmd.argv, NULL, CAPTURE_MAX, &out, NULL, &code, err,
			sizeof(err));
		free(out);
		if (!rc && code != 0)
			rc = tsarc_error_set(TSARC_EIO, "component '%s': %s exited with status %d: %s",
				op->s->component, cmd.argv[0], code, err[0] ? err : "(nothing on stderr)");
		tsarc_cmd_free(&cmd);
		if (rc)
			return rc;
	}
	if ((rc = redis_wait_ping(op, 1)))
		return rc;
	op->server = op->conf_switched ? 2 : 0;
	return 0;
}

/* Runs a shell script in the data directory (this host or the pod). */
static int redis_shell(redis_op *op, const char *script)
{
	tsarc_cmd cmd;
	char *out = NULL;
	int rc;

	tsarc_cmd_init(&cmd);
	if (!(rc = tsarc_cmd_arg(&cmd, "sh")) && !(rc = tsarc_cmd_arg(&cmd, "-c")) &&
		!(rc = tsarc_cmd_arg(&cmd, script)) && !(rc = tsarc_cmd_arg(&cmd, "sh")) &&
		!(rc = tsarc_cmd_arg(&cmd, op->data_dir)) && !(rc = tsarc_cmd_arg(&cmd, op->dbfilename)) &&
		!(rc = tsarc_cmd_arg(&cmd, op->aof_file)) && !(rc = tsarc_cmd_arg(&cmd, op->aof_dir)))
		rc = op->c.tr->capture(op->c.tr, &op->c, &cmd, CAPTURE_MAX, &out);
	free(out);
	tsarc_cmd_free(&cmd);
	return rc;
}

/* $1 data dir, $2 dbfilename, $3 appendfilename, $4 appenddirname. */
static const char MOVE_ASIDE_SCRIPT[] =
	"set -e; cd \"$1\"; ts=$(date -u +%Y%m%dT%H%M%SZ); "
	"for f in \"$2\" \"$3\" \"$4\"; do [ -n \"$f\" ] || continue; "
	"if [ -e \"$f\" ]; then mv \"$f\" \"$f-old.$ts\"; fi; done; "
	"mv \"$2.tsarc-incoming\" \"$2\"";

/* $1 data dir, $2 dbfilename. */
static const char REMOVE_INCOMING_SCRIPT[] = "rm -f \"$1/$2.tsarc-incoming\"";

/* Our temporary file in the server's folder, partial or unused: removed
 * on failure or interruption (interrupt.h). */
static int redis_drop_incoming(void *arg)
{
	return redis_shell(arg, REMOVE_INCOMING_SCRIPT);
}

static void redis_op_free(redis_op *op)
{
	free(op->data_dir);
	free(op->dbfilename);
	free(op->aof_dir);
	free(op->aof_file);
	free(op->pidfile);
	free(op->config_file);
	free(op->orig_conf);
	free(op->saved_path);
	free(op->earlier);
	cJSON_Delete(op->cm);
	tsarc_conn_free(&op->conn);
	component_clear(&op->c);
}

static int redis_wait_aof(redis_op *op)
{
	const char *args[] = {"INFO", "persistence", NULL};
	int i;

	for (i = 0; i < REDIS_WAIT_SECONDS * 10; i++) {
		char *out = NULL;
		int busy, rc;
		if (tsarc_interrupted())
			return tsarc_interrupt_error();
		if ((rc = redis_cli(op, args, &out)))
			return rc;
		busy = strstr(out, "aof_rewrite_in_progress:1") || strstr(out, "aof_rewrite_scheduled:1") ||
			strstr(out, "aof_enabled:0");
		if (!busy && strstr(out, "aof_last_bgrewrite_status:err")) {
			free(out);
			return tsarc_error_set(TSARC_EIO, "component '%s': Redis could not write its "
				"AOF (aof_last_bgrewrite_status:err)", op->s->component);
		}
		free(out);
		if (!busy)
			return 0;
		usleep(100000);
	}
	return tsarc_error_set(TSARC_EIO, "component '%s': the AOF rewrite did not finish",
		op->s->component);
}

static int do_redis(rctx *r, step *s)
{
	redis_op op;
	char *appendonly = NULL, *before = NULL, *after = NULL, *off = NULL;
	tsarc_cmd cmd;
	char what[300];
	int rc;

	memset(&op, 0, sizeof(op));
	op.r = r;
	op.s = s;
	tsarc_cmd_init(&cmd);
	if ((rc = resolve_component(r, s, &op.c)))
		return rc;
	op.kube = !strcmp(op.c.tr->type, "kube");
	op.pod_pw = tsarc_spec_str(s->spec, "pod_password_env");
	if ((op.kube && (rc = op.c.tr->locate(op.c.tr, &op.c))) ||
		(rc = step_conn(s, &op.conn)))
		goto done;
	if (op.kube) {
		op.config_map = tsarc_spec_str(s->recipe, "config_map");
		op.config_key = tsarc_spec_str(s->recipe, "config_key");
		op.workload = tsarc_spec_str(s->recipe, "rollout");
		if (!op.config_key)
			op.config_key = "redis.conf";
		if (!op.workload)
			op.workload = tsarc_spec_str(s->spec, "workload");
		if (!op.config_map || !op.workload) {
			rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': restore needs \"config_map\" "
				"and \"rollout\" (or workload) to switch persistence off", s->component);
			goto done;
		}
		if ((rc = r->deftr->get(r->deftr, "configmap", op.config_map, &op.cm))) {
			tsarc_error_prefix("component '%s'", s->component);
			goto done;
		}
		const char *t = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(op.cm, "data"),
			op.config_key);
		if (!t) {
			rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': ConfigMap %s has no %s",
				s->component, op.config_map, op.config_key);
			goto done;
		}
		op.orig_conf = strdup(t);
	} else {
		const char *f = tsarc_spec_str(s->recipe, "config_file");
		if (!f) {
			rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': on this host the restore "
				"needs restore.config_file (the server's redis.conf) to restart it with "
				"persistence off", s->component);
			goto done;
		}
		op.config_file = strdup(f);
		if (!op.config_file || asprintf(&op.saved_path, "%s" REDIS_SAVED_SUFFIX, f) < 0) {
			op.saved_path = NULL;
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		if ((rc = tsarc_read_file(f, REDIS_CONF_MAX, &op.orig_conf, NULL)))
			goto done;
	}
	if (!op.orig_conf) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = redis_undo_earlier(&op)))
		goto done;
	if (op.earlier)
		progress(r, "  %s: %s", s->component, op.earlier);
	/* Where the server keeps its files, from the server itself (the
	 * recipe's data_dir when the server does not say). */
	if ((rc = redis_config_get(&op, "dir", &op.data_dir)) ||
		(rc = redis_config_get(&op, "dbfilename", &op.dbfilename)) ||
		(rc = redis_config_get(&op, "appendfilename", &op.aof_file)) ||
		(rc = redis_config_get(&op, "appenddirname", &op.aof_dir)) ||
		(rc = redis_config_get(&op, "appendonly", &appendonly)) ||
		(rc = redis_config_get(&op, "pidfile", &op.pidfile)))
		goto done;
	if (!op.data_dir[0] && tsarc_spec_str(s->recipe, "data_dir")) {
		free(op.data_dir);
		op.data_dir = strdup(tsarc_spec_str(s->recipe, "data_dir"));
	}
	if (!op.data_dir || !op.data_dir[0] || !op.dbfilename || !op.dbfilename[0]) {
		rc = tsarc_error_set(TSARC_EIO, "component '%s': Redis does not say its dir and "
			"dbfilename (CONFIG GET refused?)", s->component);
		goto done;
	}
	/* AOF is on afterwards when the server runs with it or its persistence
	 * configuration asks for it: in a cluster the live server may not
	 * reflect redis-config yet (edited, never rolled out), and a restart
	 * with appendonly yes and no AOF written from memory would come up
	 * without the restored data. */
	op.aof_on = !strcmp(appendonly, "yes") || conf_wants_aof(op.orig_conf);
	if (!op.orig_conf || !(off = persistence_off(op.orig_conf))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	/* 1. The RDB next to the data first: a damaged stream stops here,
	 * with the server and its files untouched. */
	progress(r, "  %s: writing the RDB into %s", s->component, op.data_dir);
	snprintf(what, sizeof(what), "component '%s': writing %s/%s.tsarc-incoming", s->component,
		op.data_dir, op.dbfilename);
	if ((rc = tsarc_cmd_arg(&cmd, "sh")) || (rc = tsarc_cmd_arg(&cmd, "-c")) ||
		(rc = tsarc_cmd_arg(&cmd, "cat > \"$1/$2.tsarc-incoming\"")) ||
		(rc = tsarc_cmd_arg(&cmd, "sh")) || (rc = tsarc_cmd_arg(&cmd, op.data_dir)) ||
		(rc = tsarc_cmd_arg(&cmd, op.dbfilename)))
		goto done;
	snprintf(op.incoming_what, sizeof(op.incoming_what), "component '%s': %s/%s.tsarc-incoming "
		"removed", s->component, op.data_dir, op.dbfilename);
	tsarc_cleanup_add(&op.incoming, redis_drop_incoming, &op, op.incoming_what);
	if ((rc = stream_into(r, &op.c, &cmd, s->st, NULL, NULL, what)))
		goto done;
	/* 2. Persistence off and a restart: the server must neither save over
	 * the swapped files nor replay an old AOF. */
	progress(r, "  %s: persistence off, restart", s->component);
	/* From here until the original is back, a signal that ends the
	 * process puts it back first (interrupt.h). */
	snprintf(op.undo_what, sizeof(op.undo_what), "component '%s': persistence configuration "
		"of %s put back", s->component, op.kube ? op.config_map : op.config_file);
	tsarc_cleanup_add(&op.undo, redis_undo, &op, op.undo_what);
	if ((rc = redis_switch_off(&op, off)) || (rc = redis_restart(&op, 0)))
		goto done;
	/* 3. Old dump.rdb and AOF aside, the backup's RDB in place, restart:
	 * it loads the RDB. */
	progress(r, "  %s: old files aside, backup RDB in place, restart", s->component);
	if ((rc = redis_shell(&op, MOVE_ASIDE_SCRIPT)))
		goto done;
	tsarc_cleanup_remove(&op.incoming); /* it is the server's dump file now */
	if ((rc = redis_restart(&op, 0)) ||
		(rc = redis_keyspace(&op, &before)))
		goto done;
	/* 4. Persistence back on. AOF first on the running server (CONFIG SET
	 * appendonly yes writes a complete AOF from memory): restarting with
	 * appendonly yes and no AOF would start empty on older servers. */
	if (op.aof_on) {
		const char *args[] = {"CONFIG", "SET", "appendonly", "yes", NULL};
		char *out = NULL;
		progress(r, "  %s: AOF on, rewrite", s->component);
		rc = redis_cli(&op, args, &out);
		free(out);
		if (rc || (rc = redis_wait_aof(&op)))
			goto done;
	}
	progress(r, "  %s: configuration restored, restart", s->component);
	if ((rc = tsarc_cleanup_run(&op.undo)))
		goto done;
	/* Without AOF, SAVE writes the RDB the next start loads. */
	if ((rc = redis_restart(&op, !op.aof_on)) || (rc = redis_keyspace(&op, &after)))
		goto done;
	if (strcmp(before, after)) {
		rc = tsarc_error_set(TSARC_EIO, "component '%s': the data set changed across the "
			"restart with persistence on (%s before, %s after)", s->component, before, after);
		goto done;
	}
	set_note(s, "RDB of %llu bytes loaded into %s/%s; keys %s AOF %s",
		(unsigned long long)s->st->size, op.data_dir, op.dbfilename, after[0] ? after : "none;",
		op.aof_on ? "on" : "off");
	s->detail = cJSON_CreateObject();
	cJSON_AddStringToObject(s->detail, "keyspace", after);
	cJSON_AddStringToObject(s->detail, "data_dir", op.data_dir);
done:
	if (rc && op.undo.registered) {
		/* Leave the configuration as it was (also when interrupted: that
		 * is the undo a signal asks for); the files moved aside stay
		 * where the error says. */
		char msg[2048];
		const char *server = op.server == 2 ? "; Redis runs with persistence off until its "
			"next restart" : op.server == 1 ? "; Redis was being restarted: check that it "
			"runs" : "";
		snprintf(msg, sizeof(msg), "%s", tsarc_error_last()->message);
		if (tsarc_cleanup_run(&op.undo))
			tsarc_error_set(rc, "%s; restoring its persistence configuration failed too (%s): "
				"the original is kept in %s", msg, tsarc_error_last()->message,
				op.kube ? "annotation " REDIS_SAVED_ANNOTATION : op.saved_path);
		else
			tsarc_error_set(rc, "%s (persistence configuration put back%s; old files, if "
				"moved, are in %s with suffix -old.<time>)", msg, server, op.data_dir);
	}
	if (rc && op.incoming.registered) {
		char msg[2048];
		snprintf(msg, sizeof(msg), "%s", tsarc_error_last()->message);
		if (tsarc_cleanup_run(&op.incoming))
			tsarc_error_set(rc, "%s; %s/%s.tsarc-incoming could not be removed (%s)", msg,
				op.data_dir, op.dbfilename, tsarc_error_last()->message);
		else
			tsarc_error_set(rc, "%s", msg);
	}
	if (!rc && op.earlier)
		set_note(s, "%s; %s", op.earlier, s->note ? s->note : "");
	tsarc_cleanup_remove(&op.undo);
	tsarc_cleanup_remove(&op.incoming);
	free(appendonly);
	free(before);
	free(after);
	free(off);
	tsarc_cmd_free(&cmd);
	redis_op_free(&op);
	return rc;
}

/* ---- exec: a user-given consumer ---- */

static int do_exec(rctx *r, step *s)
{
	const cJSON *command = cJSON_GetObjectItemCaseSensitive(s->recipe, "command"), *a;
	tsarc_component c;
	tsarc_cmd cmd;
	char what[300];
	int rc;

	if (!cJSON_IsArray(command) || !cJSON_GetArraySize(command))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': restore needs \"command\" "
			"(an array of strings) to consume the stream", s->component);
	if ((rc = resolve_component(r, s, &c)))
		return rc;
	tsarc_cmd_init(&cmd);
	cJSON_ArrayForEach(a, command)
		if (!rc && (!cJSON_IsString(a) || (rc = tsarc_cmd_arg(&cmd, a->valuestring))))
			rc = rc ? rc : tsarc_error_set(TSARC_ECONFIG, "component '%s': restore.command "
				"must hold strings", s->component);
	/* The target config's env mapping, never the snapshot's. */
	if (!rc)
		rc = tsarc_exec_env(&c, &cmd);
	if (!rc && !strcmp(c.tr->type, "kube"))
		rc = c.tr->locate(c.tr, &c);
	if (!rc) {
		snprintf(what, sizeof(what), "component '%s': %s", s->component, cmd.argv[0]);
		if (!(rc = stream_into(r, &c, &cmd, s->st, NULL, NULL, what)))
			set_note(s, "%llu bytes into %s", (unsigned long long)s->st->size, cmd.argv[0]);
	}
	tsarc_cmd_free(&cmd);
	component_clear(&c);
	return rc;
}

/* ---- hooks ---- */

static int do_hook(rctx *r, step *s)
{
	const cJSON *h = s->spec, *a;
	tsarc_component c;
	tsarc_cmd cmd;
	char *out = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	c.name = s->label;
	c.kind = "hook";
	c.spec = h;
	c.resources = r->deftr;
	if ((rc = spec_transport(r, h, &c.tr)))
		return rc;
	tsarc_cmd_init(&cmd);
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(h, "command"))
		if (!rc)
			rc = tsarc_cmd_arg(&cmd, a->valuestring);
	if (!rc && !strcmp(c.tr->type, "kube"))
		rc = c.tr->locate(c.tr, &c);
	if (!rc)
		rc = c.tr->capture(c.tr, &c, &cmd, CAPTURE_MAX, &out);
	if (!rc) {
		size_t len = out ? strlen(out) : 0;
		while (len && (out[len - 1] == '\n' || out[len - 1] == '\r'))
			out[--len] = '\0';
		char *last = out ? strrchr(out, '\n') : NULL;
		s->detail = cJSON_CreateObject();
		cJSON_AddStringToObject(s->detail, "output_last_line", last ? last + 1 : out ? out : "");
		if (c.pod)
			cJSON_AddStringToObject(s->detail, "pod", c.pod);
	}
	free(out);
	tsarc_cmd_free(&cmd);
	component_clear(&c);
	return rc;
}

/* ---- the run ---- */

static const char *state_name(const step *s)
{
	static const char *const names[] = {"not applied", "applied", "failed", "skipped"};
	return names[s->state];
}

static const char *step_name(const step *s)
{
	return s->component ? s->component : s->label;
}

/* ---- the targets: resolved before the first write ----
 *
 * A restore writes Secrets first, and a later step that looked its
 * database up in a Secret then would read the snapshot's copy: during a
 * migration that names the SOURCE's database, which the step would empty
 * and load. So every step's target (namespace, resources_dir, path, host,
 * port, socket, user, database, Redis address) is resolved here, before
 * anything is written, from the target's configuration and the target's
 * own Secrets as they are now; the steps then use what was resolved.
 *
 * The snapshot's copy of an endpoint Secret is used only when the target
 * has no such Secret yet AND the restore is known to be in place (the
 * snapshot records that it was taken from this very deployment): then
 * the snapshot's endpoint is the target's. During a migration it is never
 * used, and a target equal to the snapshot's recorded source is refused
 * unless --allow-source-target says it is meant.
 */

/* Where a transport reaches, as a backup records it ("source" and
 * "deployment" of a stream's metadata): kube context and namespace, or
 * this machine and its resources_dir. "host" becomes "machine" so that it
 * is not taken for a database host. */
static cJSON *normalize_place(const cJSON *described)
{
	cJSON *o = cJSON_Duplicate(described, 1), *h;

	if (!o)
		return NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(o, "binary");
	if ((h = cJSON_DetachItemFromObjectCaseSensitive(o, "host")))
		cJSON_AddItemToObject(o, "machine", h);
	return o;
}

static cJSON *place_of(tsarc_transport *tr)
{
	cJSON *d = cJSON_CreateObject(), *o;

	if (!d)
		return NULL;
	tr->describe(tr, NULL, d);
	o = normalize_place(d);
	cJSON_Delete(d);
	return o;
}

static int str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* 1: the same place, 0: another one, -1: cannot tell. with_dir: the
 * resources_dir counts (resources); a database reached from this host
 * does not depend on it. */
static int same_place(const cJSON *a, const cJSON *b, int with_dir)
{
	const char *ta = tsarc_spec_str(a, "transport"), *tb = tsarc_spec_str(b, "transport");
	const char *da = tsarc_spec_str(a, "resources_dir"), *db = tsarc_spec_str(b, "resources_dir");

	if (!ta || !tb)
		return -1;
	if (strcmp(ta, tb))
		return 0;
	if (!strcmp(ta, "kube")) {
		const char *ca = tsarc_spec_str(a, "context"), *cb = tsarc_spec_str(b, "context");
		const char *na = tsarc_spec_str(a, "namespace"), *nb = tsarc_spec_str(b, "namespace");
		if ((na && nb && strcmp(na, nb)) || (ca && cb && strcmp(ca, cb)))
			return 0;
		/* Without a context (or namespace) named on both sides, the
		 * kubeconfig's current one may be another cluster's. */
		return na && nb && ca && cb ? 1 : -1;
	}
	if (!str_same(tsarc_spec_str(a, "machine"), tsarc_spec_str(b, "machine")))
		return 0;
	if (!with_dir)
		return 1;
	if (!da || !db)
		return -1; /* a snapshot from before resources_dir was recorded */
	return !strcmp(da, db);
}

/* The deployment a snapshot was taken from: recorded with every stream
 * since this version; older snapshots have it in their resources
 * streams' source (without a resources_dir on this host). */
static cJSON *snapshot_place(const tsarc_snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->nstreams; i++) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(snap->streams[i].meta, "deployment");
		if (cJSON_IsObject(d))
			return normalize_place(d);
	}
	for (i = 0; i < snap->nstreams; i++) {
		const cJSON *m = snap->streams[i].meta;
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "source");
		const char *kind = tsarc_spec_str(m, "kind");
		if (kind && !strcmp(kind, "resources") && cJSON_IsObject(src))
			return normalize_place(src);
	}
	return NULL;
}

/*
 * A migration is a restore whose target is not the deployment the
 * snapshot was taken from: --rewrite-domain (another domain is another
 * deployment), or a target deployment (kube context and namespace, or
 * this machine and resources_dir) that differs from the recorded one, or
 * --target-namespace when the snapshot records no deployment. It is in
 * place when the recorded deployment is the target's.
 */
static int classify(rctx *r)
{
	int same;

	if (!(r->target_place = place_of(r->deftr)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	r->snapshot_place = snapshot_place(r->snap);
	same = r->snapshot_place ? same_place(r->target_place, r->snapshot_place, 1) : -1;
	if (r->o->rewrite_old)
		r->migration = "--rewrite-domain";
	else if (same == 0)
		r->migration = "the target deployment is not the one the snapshot was taken from";
	else if (same < 0 && r->o->target_namespace)
		r->migration = "--target-namespace, and whether the target is the deployment the "
			"snapshot was taken from cannot be told";
	r->in_place = !r->migration && same == 1;
	return 0;
}

static int default_port(const char *kind)
{
	if (!kind)
		return 0;
	return !strcmp(kind, "mysql") ? 3306 : !strcmp(kind, "postgres") ? 5432 :
		!strcmp(kind, "redis") ? 6379 : 0;
}

static void ep_str(cJSON *ep, const char *key, const char *value)
{
	if (value)
		cJSON_AddStringToObject(ep, key, value);
}

/* data[key] of Secret `name` as the snapshot holds it (its resources
 * streams). TSARC_ENOTFOUND when the snapshot has no such Secret. */
static int snapshot_secret_value(rctx *r, const char *name, const char *key, char **out)
{
	size_t i;
	int rc;

	*out = NULL;
	for (i = 0; i < r->snap->nstreams; i++) {
		const tsarc_stream *st = &r->snap->streams[i];
		const char *kind = tsarc_spec_str(st->meta, "kind");
		cJSON *doc, *item;
		membuf m;
		if (!kind || strcmp(kind, "resources") ||
			!str_in_array(cJSON_GetObjectItemCaseSensitive(st->meta, "items"), name))
			continue;
		memset(&m, 0, sizeof(m));
		m.max = RESOURCES_MAX;
		rc = tsarc_stream_extract(r->repo, st, mem_sink, &m, r->o->inflight);
		doc = rc ? NULL : cJSON_ParseWithLength((const char *)m.b.ptr, m.b.size);
		if (m.b.ptr)
			memset(m.b.ptr, 0, m.b.size); /* Secrets */
		tsarc_buf_dispose(&m.b);
		if (rc)
			return rc;
		rc = TSARC_ENOTFOUND;
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(doc, "items")) {
			const char *k = tsarc_spec_str(item, "kind");
			const char *n = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(item, "metadata"),
				"name");
			if (k && n && !strcmp(k, "Secret") && !strcmp(n, name)) {
				rc = tsarc_secret_doc_value(item, name, key, out);
				break;
			}
		}
		cJSON_Delete(doc);
		if (rc != TSARC_ENOTFOUND)
			return rc;
	}
	return tsarc_error_set(TSARC_ENOTFOUND, "the snapshot holds no Secret %s with key %s", name,
		key);
}

/* The configuration fields that say where a database is, listed. */
static void config_fields(const cJSON *spec, char *out, size_t size)
{
	static const char *const keys[] = {"host", "port", "socket", "user", "database",
		"password_env", "password_file", NULL};
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; keys[i]; i++)
		if (cJSON_GetObjectItemCaseSensitive(spec, keys[i]) && len < size)
			len += (size_t)snprintf(out + len, size - len, "%s%s", len ? ", " : "", keys[i]);
}

/* A database's connection: from the target's Secret as it is now, the
 * configuration's fields over it. */
static int resolve_db(rctx *r, step *s, tsarc_component *c, cJSON *ep)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s->spec, "url_secret");
	const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");
	int names_server = tsarc_spec_str(s->spec, "host") || tsarc_spec_str(s->spec, "socket");
	char *url = NULL, from[1024], fields[200];
	cJSON *doc = NULL;
	int rc = 0;

	config_fields(s->spec, fields, sizeof(fields));
	if (!c->external) {
		snprintf(from, sizeof(from), "the configuration%s%s%s", fields[0] ? " (" : "", fields,
			fields[0] ? ")" : "");
	} else if (!secret || !key) {
		return tsarc_error_set(TSARC_ECONFIG, "component '%s' is external but has no "
			"url_secret {\"secret\": ..., \"key\": ...}", s->component);
	} else if ((rc = r->deftr->get(r->deftr, "secret", secret, &doc)) == 0) {
		rc = tsarc_secret_doc_value(doc, secret, key, &url);
		cJSON_Delete(doc);
		if (rc) {
			tsarc_error_prefix("component '%s': the target's Secret", s->component);
			return rc;
		}
		snprintf(from, sizeof(from), "the target's Secret %s (key %s) as it was before the "
			"restore%s%s", secret, key, fields[0] ? "; from the configuration: " : "", fields);
	} else if (rc != TSARC_ENOTFOUND) {
		tsarc_error_prefix("component '%s': reading the target's Secret %s", s->component,
			secret);
		return rc;
	} else if (r->in_place &&
		   (rc = snapshot_secret_value(r, secret, key, &url)) != TSARC_ENOTFOUND) {
		if (rc) {
			tsarc_error_prefix("component '%s'", s->component);
			return rc;
		}
		snprintf(from, sizeof(from), "the snapshot's Secret %s (key %s): the target has none, "
			"and the restore is in place (the snapshot was taken from this deployment)%s%s",
			secret, key, fields[0] ? "; from the configuration: " : "", fields);
	} else if (names_server) {
		snprintf(from, sizeof(from), "the configuration (%s): the target has no Secret %s, "
			"and %s", fields, secret, r->migration ? "a migration never uses the snapshot's copy" :
			r->in_place ? "the snapshot has none either" :
			"the snapshot does not record that it was taken from this deployment");
	} else {
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': the target has no Secret %s to "
			"say where its database is, and the configuration names no host: %s. Create the "
			"Secret in the target first, or give host, port, user, database and password_env "
			"or password_file in the configuration", s->component, secret,
			r->migration ? "a migration never uses the snapshot's copy (it names the source's "
			"database)" : r->in_place ? "the snapshot holds none either" : "the snapshot does "
			"not record that it was taken from this deployment, so its copy is not used "
			"(restoring --only the Secrets first makes it the target's)");
	}
	tsarc_error_clear();
	rc = tsarc_conn_from_url(c, url, &s->conn);
	if (url) {
		memset(url, 0, strlen(url));
		free(url);
	}
	if (rc) {
		tsarc_error_prefix("component '%s'", s->component);
		return rc;
	}
	s->has_conn = 1;
	ep_str(ep, "host", s->conn.host);
	if (s->conn.port || (!s->conn.socket && default_port(s->kind) && (c->external ||
		strcmp(c->tr->type, "kube"))))
		cJSON_AddNumberToObject(ep, "port", s->conn.port ? s->conn.port : default_port(s->kind));
	ep_str(ep, "socket", s->conn.socket);
	ep_str(ep, "user", s->conn.user);
	/* A Redis URL's path is a db number: a whole-server RDB has none. */
	if (strcmp(s->kind, "redis"))
		ep_str(ep, "database", s->conn.database);
	cJSON_AddStringToObject(ep, "from", from);
	return 0;
}

/* One line for people: "pod of system-mysql in namespace x: root@h:3306/system". */
static void endpoint_text(const step *s, cJSON *ep)
{
	tsarc_buf b = TSARC_BUF_INIT;
	const char *tr = tsarc_spec_str(ep, "transport"), *v;
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(ep, "port");
	int kube = tr && !strcmp(tr, "kube");
	int db = s->action && (!strcmp(s->action, "sql") || !strcmp(s->action, "redis-rdb"));

	if (s->action && !strcmp(s->action, "apply")) {
		buf_printf(&b, "%s resources ", tsarc_spec_str(ep, "resource") ?
			tsarc_spec_str(ep, "resource") : "");
		if (kube)
			buf_printf(&b, "in namespace %s", (v = tsarc_spec_str(ep, "namespace")) ? v :
				"(the context's)");
		else
			buf_printf(&b, "in %s", (v = tsarc_spec_str(ep, "resources_dir")) ? v : "?");
	} else {
		if (kube && (v = tsarc_spec_str(ep, "workload")))
			buf_printf(&b, "pod of %s", v);
		else if (kube && (v = tsarc_spec_str(ep, "pod")))
			buf_printf(&b, "pod %s", v);
		else if (kube)
			tsarc_buf_puts(&b, "a pod");
		if (kube && (v = tsarc_spec_str(ep, "container")))
			buf_printf(&b, " (container %s)", v);
		if (kube)
			buf_printf(&b, " in namespace %s: ", (v = tsarc_spec_str(ep, "namespace")) ? v :
				"(the context's)");
		if (db && (v = tsarc_spec_str(ep, "socket"))) {
			/* user via socket PATH, database DB: a path and a database
			 * name do not read well joined by a slash. */
			if (tsarc_spec_str(ep, "user"))
				buf_printf(&b, "%s via ", tsarc_spec_str(ep, "user"));
			buf_printf(&b, "socket %s", v);
			if ((v = tsarc_spec_str(ep, "database")))
				buf_printf(&b, ", database %s", v);
		} else if (db) {
			if ((v = tsarc_spec_str(ep, "user")))
				buf_printf(&b, "%s@", v);
			buf_printf(&b, "%s", (v = tsarc_spec_str(ep, "host")) ? v :
				kube ? "its own server" : "localhost");
			if (cJSON_IsNumber(port))
				buf_printf(&b, ":%d", port->valueint);
			if ((v = tsarc_spec_str(ep, "database")))
				buf_printf(&b, "/%s", v);
		} else if ((v = tsarc_spec_str(ep, "path"))) {
			tsarc_buf_puts(&b, v);
		} else if ((v = tsarc_spec_str(ep, "command"))) {
			tsarc_buf_puts(&b, v);
		}
		if (!kube && (v = tsarc_spec_str(ep, "machine")) &&
			(!db || !tsarc_spec_str(ep, "host")))
			buf_printf(&b, " on %s", v);
	}
	tsarc_buf_append(&b, "", 1);
	if (b.ptr)
		cJSON_AddStringToObject(ep, "text", (char *)b.ptr);
	tsarc_buf_dispose(&b);
}

/* Where the snapshot's stream of step `s` came from, as the backup
 * recorded it (older snapshots: as much as they say). */
static cJSON *recorded_source(const step *s)
{
	const cJSON *m = s->st ? s->st->meta : NULL;
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "source"), *v;
	cJSON *o;

	if (!cJSON_IsObject(src))
		return NULL;
	if (!(o = normalize_place(src)))
		return NULL;
	if ((v = cJSON_GetObjectItemCaseSensitive(m, "db_host")) && cJSON_IsString(v))
		cJSON_AddStringToObject(o, "host", v->valuestring);
	if ((v = cJSON_GetObjectItemCaseSensitive(m, "db_port")) && cJSON_IsNumber(v))
		cJSON_AddNumberToObject(o, "port", v->valuedouble);
	else if ((v = cJSON_GetObjectItemCaseSensitive(m, "db_host")) && default_port(s->kind))
		cJSON_AddNumberToObject(o, "port", default_port(s->kind));
	ep_str(o, "socket", tsarc_spec_str(m, "db_socket"));
	ep_str(o, "user", tsarc_spec_str(m, "db_user"));
	if (!s->kind || strcmp(s->kind, "redis"))
		ep_str(o, "database", tsarc_spec_str(m, "database"));
	ep_str(o, "path", tsarc_spec_str(m, "path"));
	if (s->action && !strcmp(s->action, "apply"))
		ep_str(o, "resource", tsarc_spec_str(s->spec, "resource"));
	endpoint_text(s, o);
	return o;
}

static int is_loopback(const char *h)
{
	return !h || !h[0] || !strcasecmp(h, "localhost") || !strncmp(h, "127.", 4) ||
		!strcmp(h, "::1") || !strcmp(h, "[::1]");
}

static int ep_port(const step *s, const cJSON *ep)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(ep, "port");
	return cJSON_IsNumber(p) ? p->valueint : default_port(s->kind);
}

/* Whether the target `t` of step `s` is where the snapshot's data came
 * from (`src`). A database named by a host that is not a loopback
 * address is the same wherever it is reached from; a loopback address or
 * a socket only on the same machine (or in the same namespace). */
static int same_endpoint(const step *s, const cJSON *t, const cJSON *src)
{
	const char *th = tsarc_spec_str(t, "host"), *sh = tsarc_spec_str(src, "host");
	const char *ts = tsarc_spec_str(t, "socket"), *ss = tsarc_spec_str(src, "socket");

	if (!src)
		return 0;
	if (!strcmp(s->action, "apply"))
		return same_place(t, src, 1) == 1;
	if (!strcmp(s->action, "replace-tree"))
		return str_same(tsarc_spec_str(t, "path"), tsarc_spec_str(src, "path")) &&
			same_place(t, src, 0) == 1;
	if (strcmp(s->action, "sql") && strcmp(s->action, "redis-rdb"))
		return 0;
	if (strcmp(s->kind, "redis") &&
		!str_same(tsarc_spec_str(t, "database"), tsarc_spec_str(src, "database")))
		return 0;
	if (ts || ss)
		return str_same(ts, ss) && same_place(t, src, 0) == 1;
	if (!is_loopback(th) && !is_loopback(sh))
		return !strcasecmp(th, sh) && ep_port(s, t) == ep_port(s, src);
	return is_loopback(th) && is_loopback(sh) && ep_port(s, t) == ep_port(s, src) &&
		same_place(t, src, 0) == 1;
}

static int resolve_step(rctx *r, step *s)
{
	tsarc_component c;
	cJSON *ep;
	const char *v;
	int rc = 0;

	if (s->spec == NULL)
		return 0;
	if (!strcmp(s->action, "hook")) {
		memset(&c, 0, sizeof(c));
		c.spec = s->spec;
		if ((rc = spec_transport(r, s->spec, &c.tr)))
			return rc;
	} else if ((rc = resolve_component(r, s, &c))) {
		return rc;
	}
	if (!(ep = s->endpoint = place_of(c.tr)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!strcmp(c.tr->type, "kube") && strcmp(s->action, "apply")) {
		ep_str(ep, "workload", tsarc_spec_str(s->spec, "workload"));
		ep_str(ep, "selector", tsarc_spec_str(s->spec, "selector"));
		ep_str(ep, "container", tsarc_spec_str(s->spec, "container"));
	}
	if (!strcmp(s->action, "apply")) {
		ep_str(ep, "resource", tsarc_spec_str(s->spec, "resource"));
		/* The local transport writes --target-namespace into the files. */
		if (strcmp(c.tr->type, "kube") && r->o->target_namespace)
			ep_str(ep, "namespace", r->o->target_namespace);
	} else if (!strcmp(s->action, "sql") || !strcmp(s->action, "redis-rdb")) {
		rc = resolve_db(r, s, &c, ep);
	} else if (!strcmp(s->action, "replace-tree")) {
		if (!(v = tsarc_spec_str(s->spec, "path")))
			v = tsarc_spec_str(s->recipe, "path");
		ep_str(ep, "path", v);
	} else {
		const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(!strcmp(s->action, "hook") ?
			s->spec : s->recipe, "command");
		const cJSON *first = cJSON_IsArray(cmd) ? cJSON_GetArrayItem(cmd, 0) : NULL;
		if (cJSON_IsString(first))
			ep_str(ep, "command", first->valuestring);
	}
	if (!rc) {
		endpoint_text(s, ep);
		s->source = recorded_source(s);
	}
	return rc;
}

/* Whether Secret `name` says where a database is: a url_secret of a
 * component of the target, or in a recipe's skip_when_migrating. */
static int endpoint_secret(rctx *r, const step *s, const char *name)
{
	const cJSON *comps = cJSON_GetObjectItemCaseSensitive(r->d->eff, "components"), *c;

	if (str_in_array(cJSON_GetObjectItemCaseSensitive(s->recipe, "skip_when_migrating"), name))
		return 1;
	cJSON_ArrayForEach(c, comps) {
		const char *us = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(c, "url_secret"),
			"secret");
		if (us && !strcmp(us, name))
			return 1;
	}
	return 0;
}

/* A migration that applies the snapshot's endpoint Secrets leaves the
 * target's workloads pointed at the source's databases: tsarc itself
 * writes where it resolved before, but the operator must know. */
static void warn_endpoint_secrets(rctx *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const step *s = &r->steps[i];
		const char *type = tsarc_spec_str(s->spec, "resource");
		const cJSON *it;
		if (s->state != ST_PENDING || strcmp(s->action, "apply") || !type ||
			strcasecmp(type, "secret"))
			continue;
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(s->st->meta, "items")) {
			char line[512];
			if (!cJSON_IsString(it) || !endpoint_secret(r, s, it->valuestring))
				continue;
			snprintf(line, sizeof(line), "Secret %s is replaced by the snapshot's copy, which "
				"names the source's endpoint: the target's workloads will read it after the "
				"restore (--skip-endpoint-secrets keeps the target's own)", it->valuestring);
			cJSON_AddItemToArray(r->warnings, cJSON_CreateString(line));
		}
	}
}

/* Resolves every pending step's target, then refuses a migration into
 * the snapshot's own source unless the user allowed it. */
static int resolve_targets(rctx *r)
{
	tsarc_buf msg = TSARC_BUF_INIT;
	size_t i, same = 0;
	int rc = 0;

	if ((rc = classify(r)))
		return rc;
	for (i = 0; i < r->n; i++) {
		step *s = &r->steps[i];
		if (s->state != ST_PENDING || !s->action)
			continue;
		if ((rc = resolve_step(r, s)))
			return rc;
	}
	if (r->migration && !r->o->skip_endpoint_secrets)
		warn_endpoint_secrets(r);
	if (!r->migration || r->o->allow_source_target)
		return 0;
	for (i = 0; i < r->n; i++) {
		step *s = &r->steps[i];
		if (s->state != ST_PENDING || !s->endpoint || !same_endpoint(s, s->endpoint, s->source))
			continue;
		same++;
		buf_printf(&msg, "\n  %s: %s is the snapshot's source (give --allow-source-target if "
			"that is meant)", step_name(s), tsarc_spec_str(s->endpoint, "text"));
	}
	tsarc_buf_append(&msg, "", 1);
	if (same)
		rc = tsarc_error_set(TSARC_ECONFIG, "refusing a migration (%s) into the snapshot's own "
			"source; nothing was written:%s", r->migration, msg.ptr ? (char *)msg.ptr : "");
	tsarc_buf_dispose(&msg);
	return rc;
}

/* What a step will do, for the plan (and --dry-run). */
static cJSON *plan_target(rctx *r, step *s)
{
	cJSON *o = cJSON_CreateObject();
	tsarc_transport *tr = NULL;
	const char *text = s->endpoint ? tsarc_spec_str(s->endpoint, "text") : NULL;
	char buf[1024];

	if (!text)
		text = "?";

	if (!o)
		return NULL;
	if (spec_transport(r, s->spec, &tr))
		tsarc_error_clear(); /* the plan says "?"; running the step says why */
	cJSON_AddStringToObject(o, "transport", tr ? tr->type : "?");
	if (s->endpoint)
		cJSON_AddItemToObject(o, "endpoint", cJSON_Duplicate(s->endpoint, 1));
	if (s->source)
		cJSON_AddItemToObject(o, "snapshot_source", cJSON_Duplicate(s->source, 1));
	if (!strcmp(s->action, "apply")) {
		const cJSON *items = cJSON_GetObjectItemCaseSensitive(s->st->meta, "items");
		const cJSON *skip = cJSON_GetObjectItemCaseSensitive(s->recipe, "skip_when_migrating");
		cJSON *repl = cJSON_CreateArray(), *create = cJSON_CreateArray();
		cJSON *left = cJSON_CreateArray();
		const cJSON *it;
		const char *rtype = tsarc_spec_str(s->spec, "resource");
		cJSON_ArrayForEach(it, items) {
			cJSON *got = NULL;
			if (!cJSON_IsString(it))
				continue;
			if (!strcmp(it->valuestring, "hashed-secret-data") ||
				(r->o->skip_endpoint_secrets && str_in_array(skip, it->valuestring))) {
				cJSON_AddItemToArray(left, cJSON_CreateString(it->valuestring));
				continue;
			}
			/* Read-only look: does the target have it (replace) or not (create)? */
			if (rtype && r->deftr->get(r->deftr, rtype, it->valuestring, &got) == 0)
				cJSON_AddItemToArray(repl, cJSON_CreateString(it->valuestring));
			else
				cJSON_AddItemToArray(create, cJSON_CreateString(it->valuestring));
			cJSON_Delete(got);
		}
		cJSON_AddStringToObject(o, "target", text);
		cJSON_AddItemToObject(o, "replaces", repl);
		cJSON_AddItemToObject(o, "creates", create);
		cJSON_AddItemToObject(o, "left_out", left);
	} else if (!strcmp(s->action, "sql")) {
		snprintf(buf, sizeof(buf), "%s %s", !strcmp(s->kind, "mysql") ? "mysql" : "psql", text);
		cJSON_AddStringToObject(o, "target", buf);
		cJSON_AddStringToObject(o, "replaces", tsarc_spec_bool(s->recipe, "clean", 0) ?
			"every table and view of the database (it ends up with the dump's tables only)" :
			"the tables and rows in the dump (tables not in the dump are kept)");
		if (r->o->rewrite_old && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(s->recipe,
			    "domain_columns")))
			cJSON_AddItemToObject(o, "domain_rewrite", cJSON_Duplicate(
				cJSON_GetObjectItemCaseSensitive(s->recipe, "domain_columns"), 1));
	} else if (!strcmp(s->action, "replace-tree")) {
		cJSON_AddStringToObject(o, "target", text);
		cJSON_AddStringToObject(o, "replaces", "the whole tree (files not in the backup are "
			"deleted)");
	} else if (!strcmp(s->action, "redis-rdb")) {
		snprintf(buf, sizeof(buf), "Redis %s (%s)", text,
			tsarc_spec_str(s->recipe, "config_file") ? tsarc_spec_str(s->recipe, "config_file") :
			tsarc_spec_str(s->recipe, "config_map") ? tsarc_spec_str(s->recipe, "config_map") : "?");
		cJSON_AddStringToObject(o, "target", buf);
		cJSON_AddStringToObject(o, "replaces", "the whole data set (dump.rdb and AOF moved "
			"aside, two restarts)");
	} else if (!strcmp(s->action, "hook")) {
		char *cmd = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(s->spec, "command"));
		cJSON_AddStringToObject(o, "target", cmd ? cmd : "?");
		if (tsarc_spec_str(s->spec, "description"))
			cJSON_AddStringToObject(o, "description", tsarc_spec_str(s->spec, "description"));
		free(cmd);
	} else {
		cJSON_AddStringToObject(o, "target", "restore.command");
	}
	return o;
}

static cJSON *make_report(rctx *r, int with_plan)
{
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	size_t i;

	cJSON_AddStringToObject(doc, "snapshot_id", r->snap->id);
	/* What kind of restore this is, and why: the rules that chose each
	 * endpoint depend on it. */
	cJSON_AddBoolToObject(doc, "migration", r->migration != NULL);
	if (r->migration)
		cJSON_AddStringToObject(doc, "migration_reason", r->migration);
	cJSON_AddBoolToObject(doc, "in_place", r->in_place);
	if (r->target_place)
		cJSON_AddItemToObject(doc, "target_deployment", cJSON_Duplicate(r->target_place, 1));
	if (r->snapshot_place)
		cJSON_AddItemToObject(doc, "snapshot_deployment",
			cJSON_Duplicate(r->snapshot_place, 1));
	cJSON_AddItemToObject(doc, "steps", arr);
	for (i = 0; i < r->n; i++) {
		step *s = &r->steps[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "component", step_name(s));
		cJSON_AddStringToObject(o, "action", s->action ? s->action : "none");
		cJSON_AddNumberToObject(o, "order", s->order);
		if (s->st) {
			cJSON_AddStringToObject(o, "stream", s->st->name);
			cJSON_AddNumberToObject(o, "bytes", (double)s->st->size);
		}
		cJSON_AddStringToObject(o, "status", state_name(s));
		if (s->note)
			cJSON_AddStringToObject(o, "note", s->note);
		if (s->error)
			cJSON_AddStringToObject(o, "error", s->error);
		if (s->detail)
			cJSON_AddItemToObject(o, "detail", cJSON_Duplicate(s->detail, 1));
		if (s->endpoint && s->state != ST_SKIPPED)
			cJSON_AddItemToObject(o, "endpoint", cJSON_Duplicate(s->endpoint, 1));
		if (with_plan && s->state == ST_PENDING && s->action)
			cJSON_AddItemToObject(o, "plan", plan_target(r, s));
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddItemToObject(doc, "absent_from_snapshot", cJSON_Duplicate(r->absent, 1));
	cJSON_AddItemToObject(doc, "warnings", cJSON_Duplicate(r->warnings, 1));
	return doc;
}

static int run_step(rctx *r, step *s)
{
	if (!strcmp(s->action, "apply"))
		return do_apply(r, s);
	if (!strcmp(s->action, "sql")) {
		if (strcmp(s->kind, "mysql") && strcmp(s->kind, "postgres"))
			return tsarc_error_set(TSARC_ECONFIG, "component '%s': action sql needs kind "
				"mysql or postgres", s->component);
		return do_sql(r, s);
	}
	if (!strcmp(s->action, "replace-tree"))
		return do_tree(r, s);
	if (!strcmp(s->action, "redis-rdb"))
		return do_redis(r, s);
	if (!strcmp(s->action, "exec"))
		return do_exec(r, s);
	if (!strcmp(s->action, "hook"))
		return do_hook(r, s);
	return tsarc_error_set(TSARC_ECONFIG, "component '%s': unknown restore action '%s'",
		s->component, s->action);
}

int tsarc_deploy_restore(tsarc_deploy *d, tsarc_repo *repo, const tsarc_snapshot *snap,
	const tsarc_restore_opts *o, cJSON **report)
{
	cJSON *trconf = cJSON_GetObjectItemCaseSensitive(d->eff, "transport");
	tsarc_buf msg = TSARC_BUF_INIT;
	size_t i, failed = (size_t)-1, stopped = (size_t)-1;
	int rc = 0;
	rctx r;

	if (report)
		*report = NULL;
	memset(&r, 0, sizeof(r));
	r.d = d;
	r.tr.conf = trconf;
	r.repo = repo;
	r.snap = snap;
	r.o = o;
	if (!(r.absent = cJSON_CreateArray()) || !(r.warnings = cJSON_CreateArray())) {
		cJSON_Delete(r.absent);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	if ((o->rewrite_old || o->rewrite_new) &&
		(!o->rewrite_old || !o->rewrite_new || !valid_domain(o->rewrite_old) ||
			!valid_domain(o->rewrite_new))) {
		rc = tsarc_error_set(TSARC_ECONFIG, "--rewrite-domain OLD=NEW takes two domain names "
			"(letters, digits, dots and dashes)");
		goto out;
	}
	/* A migration into another namespace: every kube call goes there. */
	if (o->target_namespace && !strcmp(tsarc_spec_str(trconf, "type"), "kube")) {
		cJSON_DeleteItemFromObjectCaseSensitive(trconf, "namespace");
		cJSON_AddStringToObject(trconf, "namespace", o->target_namespace);
	}
	/* The snapshot's metadata is untrusted input: names that would reach a
	 * shell, a command line or a path are checked before any plan. */
	for (i = 0; i < snap->nstreams; i++)
		if ((rc = tsarc_stream_meta_check(snap->streams[i].name, snap->streams[i].meta)))
			goto out;
	/* Every target is resolved before anything is written, dry run or not. */
	if ((rc = tsarc_transports_get(&r.tr, tsarc_spec_str(trconf, "type"), &r.deftr)) ||
		(rc = build_plan(&r)) || (rc = resolve_targets(&r)))
		goto out;
	if (o->dry_run) {
		if (report)
			*report = make_report(&r, 1);
		goto out;
	}
	/* Verified first: nothing is written unless every chunk is sound. */
	if (o->verify_first) {
		for (i = 0; i < r.n; i++) {
			step *s = &r.steps[i];
			if (s->state != ST_PENDING || !s->st)
				continue;
			if (tsarc_interrupted()) {
				rc = tsarc_interrupt_error();
				tsarc_error_prefix("verification before the restore; nothing was written");
				goto out;
			}
			progress(&r, "verifying %s (%llu bytes)", s->st->name,
				(unsigned long long)s->st->size);
			if ((rc = tsarc_stream_verify(repo, s->st, o->inflight))) {
				tsarc_error_prefix("verification before the restore failed; nothing was "
					"written");
				goto out;
			}
		}
	}
	for (i = 0; i < r.n; i++) {
		step *s = &r.steps[i];
		if (s->state != ST_PENDING)
			continue;
		/* A signal stops the restore between steps; within a step, its
		 * children are stopped and the step undoes what it can. */
		if (tsarc_interrupted()) {
			rc = tsarc_interrupt_error();
			stopped = i;
			break;
		}
		progress(&r, "%s: %s%s%s", step_name(s), s->action, s->st ? " from " : "",
			s->st ? s->st->name : "");
		if ((rc = run_step(&r, s))) {
			const char *m = tsarc_error_last()->message;
			if (tsarc_interrupted()) {
				/* Whatever failed, the signal is why. */
				if (asprintf(&s->error, "interrupted by %s: %s",
					    tsarc_signal_name(tsarc_interrupted()), m && m[0] ? m : "") < 0)
					s->error = NULL;
				rc = TSARC_ECANCELED;
			} else {
				s->error = strdup(m && m[0] ? m : tsarc_strerror(rc));
			}
			s->state = ST_FAILED;
			failed = i;
			break;
		}
		s->state = ST_DONE;
		if (s->note)
			progress(&r, "%s: done (%s)", step_name(s), s->note);
	}
	if (failed != (size_t)-1 || stopped != (size_t)-1) {
		/* The report says exactly where it stopped. */
		if (failed != (size_t)-1)
			buf_printf(&msg, "restore of snapshot %.10s stopped at %s: %s\n  applied:",
				snap->id, step_name(&r.steps[failed]),
				r.steps[failed].error ? r.steps[failed].error : "out of memory");
		else
			buf_printf(&msg, "restore of snapshot %.10s interrupted by %s before %s\n  applied:",
				snap->id, tsarc_signal_name(tsarc_interrupted()),
				step_name(&r.steps[stopped]));
		for (i = 0; i < r.n; i++)
			if (r.steps[i].state == ST_DONE)
				buf_printf(&msg, " %s", step_name(&r.steps[i]));
		tsarc_buf_puts(&msg, "\n  not applied:");
		for (i = 0; i < r.n; i++)
			if (r.steps[i].state == ST_PENDING)
				buf_printf(&msg, " %s", step_name(&r.steps[i]));
		tsarc_buf_append(&msg, "", 1);
		rc = tsarc_error_set(rc, "%s", msg.ptr ? (char *)msg.ptr : "restore failed");
	}
	if (report)
		*report = make_report(&r, 0);
out:
	if (rc && report && !*report && r.steps)
		*report = make_report(&r, 0);
	for (i = 0; i < r.n; i++) {
		cJSON_Delete(r.steps[i].recipe);
		cJSON_Delete(r.steps[i].detail);
		cJSON_Delete(r.steps[i].endpoint);
		cJSON_Delete(r.steps[i].source);
		tsarc_conn_free(&r.steps[i].conn);
		free(r.steps[i].note);
		free(r.steps[i].error);
	}
	free(r.steps);
	cJSON_Delete(r.absent);
	cJSON_Delete(r.warnings);
	cJSON_Delete(r.target_place);
	cJSON_Delete(r.snapshot_place);
	tsarc_transports_dispose(&r.tr);
	tsarc_buf_dispose(&msg);
	return rc;
}
