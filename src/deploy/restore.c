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
#include "kind.h"
#include "rewrite.h"
#include "deploy.h"
#include "extract.h"
#include "fileio.h"
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

typedef tsarc_restore_ctx rctx;
typedef tsarc_step step;

#define ST_PENDING TSARC_STEP_PENDING
#define ST_DONE TSARC_STEP_DONE
#define ST_FAILED TSARC_STEP_FAILED
#define ST_SKIPPED TSARC_STEP_SKIPPED

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
		if (!s.action && tsarc_kind_find(s.kind))
			s.action = tsarc_kind_find(s.kind)->action;
		s.order = recipe_order(s.recipe);
		s.selected = name && in_only(r->o, name);
		if (!name) {
			s.state = ST_SKIPPED;
			tsarc_step_note(&s, "no component of the target configuration takes stream %s", st->name);
		} else if (!spec) {
			s.state = ST_SKIPPED;
			tsarc_step_note(&s, "component %s is not in the target configuration", name);
		} else if (!tsarc_spec_bool(spec, "enabled", 1)) {
			s.state = ST_SKIPPED;
			tsarc_step_note(&s, "component %s is disabled in the target configuration", name);
		} else if (!s.action) {
			s.state = ST_SKIPPED;
			tsarc_step_note(&s, "no restore action for kind %s", s.kind ? s.kind : "(unknown)");
		} else if (tsarc_spec_bool(st->meta, "absent", 0)) {
			s.state = ST_SKIPPED;
			tsarc_step_note(&s, "absent when backed up (%s)",
				tsarc_spec_str(st->meta, "absent_reason") ?
				tsarc_spec_str(st->meta, "absent_reason") : "not installed");
		} else if (!s.selected) {
			s.state = ST_SKIPPED;
			tsarc_step_note(&s, "not selected (--only)");
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
			any = r->steps[j].state == ST_PENDING && tsarc_str_in_array(after, r->steps[j].component);
		if (!any) {
			s.state = ST_SKIPPED;
			tsarc_step_note(&s, "none of the components it follows is restored");
		}
		s.selected = 1;
		if ((rc = add_step(r, &s))) {
			free(s.note);
			return rc;
		}
	}
	return 0;
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
	if ((rc = tsarc_step_transport(r, h, &c.tr)))
		return rc;
	tsarc_cmd_init(&cmd);
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(h, "command"))
		if (!rc)
			rc = tsarc_cmd_arg(&cmd, a->valuestring);
	if (!rc)
		rc = c.tr->locate(c.tr, &c);
	if (!rc)
		rc = c.tr->capture(c.tr, &c, &cmd, TSARC_CAPTURE_MAX, &out);
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
	tsarc_component_clear(&c);
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
 * does not depend on it. The transport that described them says. */
static int same_place(const cJSON *a, const cJSON *b, int with_dir)
{
	const char *ta = tsarc_spec_str(a, "transport"), *tb = tsarc_spec_str(b, "transport");
	const tsarc_transport_type *type = tsarc_transport_type_find(ta);

	if (!ta || !tb)
		return -1;
	if (strcmp(ta, tb))
		return 0;
	return type && type->same_place ? type->same_place(a, b, with_dir) : -1;
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
	const tsarc_kind *k = tsarc_kind_find(kind);

	return k ? k->default_port : 0;
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
		tsarc_buf m = TSARC_BUF_INIT;
		if (!kind || strcmp(kind, "resources") ||
			!tsarc_str_in_array(cJSON_GetObjectItemCaseSensitive(st->meta, "items"), name))
			continue;
		rc = tsarc_restore_read_stream(r, st, TSARC_RESOURCES_MAX, &m);
		doc = rc ? NULL : cJSON_ParseWithLength((const char *)m.ptr, m.size);
		if (m.ptr)
			OPENSSL_cleanse(m.ptr, m.size); /* Secrets */
		tsarc_buf_dispose(&m);
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
		!(c->tr->caps & TSARC_TR_IN_WORKLOAD))))
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
	const tsarc_transport_type *type = tsarc_transport_type_find(tr);
	/* Commands in a workload: say which, and in which namespace. */
	int kube = type && (type->caps & TSARC_TR_IN_WORKLOAD);
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

/* What the step's merged recipe must hold for its action where it runs:
 * checked with the targets, before the first step writes (config.h). */
static int step_require(rctx *r, const step *s, const tsarc_component *c)
{
	char where[1300], path[1200], rwhere[1500];
	tsarc_recipe rec;
	int rc;

	tsarc_json_path(path, sizeof(path), "components", s->component);
	snprintf(where, sizeof(where), "%s: %s", r->d->origin, path);
	tsarc_json_path(rwhere, sizeof(rwhere), where, "restore");
	if ((rc = tsarc_recipe_parse(s->recipe, TSARC_ECONFIG, rwhere, &rec)))
		return rc;
	return tsarc_recipe_require(&rec, s->action, s->kind, s->spec, c->tr, where);
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
		if ((rc = tsarc_step_transport(r, s->spec, &c.tr)))
			return rc;
	} else if ((rc = tsarc_step_component(r, s, &c)) || (rc = step_require(r, s, &c))) {
		return rc;
	}
	if (!(ep = s->endpoint = place_of(c.tr)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if ((c.tr->caps & TSARC_TR_IN_WORKLOAD) && strcmp(s->action, "apply")) {
		ep_str(ep, "workload", tsarc_spec_str(s->spec, "workload"));
		ep_str(ep, "selector", tsarc_spec_str(s->spec, "selector"));
		ep_str(ep, "container", tsarc_spec_str(s->spec, "container"));
	}
	if (!strcmp(s->action, "apply")) {
		ep_str(ep, "resource", tsarc_spec_str(s->spec, "resource"));
		/* Every transport's apply takes --target-namespace; one that
		 * describes its place has it there already. */
		if (r->o->target_namespace && !cJSON_GetObjectItemCaseSensitive(ep, "namespace"))
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

	if (tsarc_str_in_array(cJSON_GetObjectItemCaseSensitive(s->recipe, "skip_when_migrating"), name))
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
	if (tsarc_step_transport(r, s->spec, &tr))
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
				(r->o->skip_endpoint_secrets && tsarc_str_in_array(skip, it->valuestring))) {
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
	const tsarc_kind *k;
	int rc;

	if (!s->component)
		return do_hook(r, s);
	if ((rc = tsarc_kind_for_action(s->kind, s->action, s->component, &k)))
		return rc;
	return k->restore(r, s);
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
		(!o->rewrite_old || !o->rewrite_new || !tsarc_valid_domain(o->rewrite_old) ||
			!tsarc_valid_domain(o->rewrite_new))) {
		rc = tsarc_error_set(TSARC_ECONFIG, "--rewrite-domain OLD=NEW takes two domain names "
			"(letters, digits, dots and dashes)");
		goto out;
	}
	/* A migration into another namespace: every call of a transport with
	 * namespaces goes there (one without ignores the field). */
	if (o->target_namespace) {
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
			tsarc_restore_progress(&r, "verifying %s (%llu bytes)", s->st->name,
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
		tsarc_restore_progress(&r, "%s: %s%s%s", step_name(s), s->action, s->st ? " from " : "",
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
			tsarc_restore_progress(&r, "%s: done (%s)", step_name(s), s->note);
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
