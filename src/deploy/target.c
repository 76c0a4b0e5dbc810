#define _GNU_SOURCE /* strcasecmp */
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
#include "dbconn.h"
#include "plan.h"
#include "resources.h"
#include "snapshot.h"
#include "tree_restore.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"
#include "wipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* Whether a stream (its metadata) holds a deployment's resources. */
static int holds_resources(const cJSON *meta)
{
	const tsarc_kind *k = tsarc_kind_find(tsarc_spec_str(meta, "kind"));

	return k && k->target == TSARC_TARGET_RESOURCES;
}

/* The deployment a snapshot was taken from: recorded with every stream
 * since this version; older snapshots have it in their resources
 * streams' source (without a resources_dir on this host). */
static cJSON *snapshot_place(const tsarc_snapshot *snap)
{
	const cJSON *d = tsarc_snapshot_deployment(snap);
	size_t i;

	if (d)
		return normalize_place(d);
	for (i = 0; i < snap->nstreams; i++) {
		const cJSON *m = snap->streams[i].meta;
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "source");
		if (holds_resources(m) && cJSON_IsObject(src))
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
static int classify(tsarc_restore_ctx *r)
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

/* What step `s` writes into; a hook runs a command. */
static tsarc_target target_of(const tsarc_step *s)
{
	return s->impl ? s->impl->target : TSARC_TARGET_COMMAND;
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
 * streams), and the whole Secret in *doc_out (its user, password and TLS
 * keys); key NULL: the whole Secret only. TSARC_ENOTFOUND when the
 * snapshot has no such Secret. */
static int snapshot_secret_value(tsarc_restore_ctx *r, const char *name, const char *key, char **out,
	cJSON **doc_out)
{
	size_t i;
	int rc;

	*out = NULL;
	*doc_out = NULL;
	for (i = 0; i < r->snap->nstreams; i++) {
		const tsarc_stream *st = &r->snap->streams[i];
		cJSON *doc = NULL, *items = NULL, *item;
		const cJSON *found = NULL;
		tsarc_buf m = TSARC_BUF_INIT;
		if (!holds_resources(st->meta) ||
			!tsarc_str_in_array(cJSON_GetObjectItemCaseSensitive(st->meta, "items"), name))
			continue;
		rc = tsarc_restore_read_stream(r, st, TSARC_RESOURCES_MAX, &m);
		/* Through the checks of the apply's reading (resources.h): a
		 * stream that is not a List, or whose items lack a Kubernetes
		 * kind, name and apiVersion or hold a key twice (kubectl would
		 * read such a Secret otherwise than this), is refused here too. */
		if (!rc)
			rc = tsarc_resources_parse(&doc, &items, (const char *)m.ptr, m.size, st->name);
		tsarc_buf_dispose(&m); /* wiped: Secrets */
		if (rc)
			return rc;
		cJSON_ArrayForEach(item, items) {
			const char *k, *n, *api;
			if ((rc = tsarc_resources_item_check(item, st->name, &k, &n, &api)))
				break;
			/* A Secret of the core group: kind Secret of another
			 * group is no Secret (an apply would refuse it too). */
			if (!found && !strcmp(k, "Secret") && !strcmp(api, "v1") && !strcmp(n, name))
				found = item;
		}
		if (!rc && found) {
			rc = key ? tsarc_secret_doc_value(found, name, key, out) : 0;
			if (!rc && !(*doc_out = cJSON_Duplicate(found, 1)))
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		} else if (!rc) {
			rc = TSARC_ENOTFOUND;
		}
		tsarc_secret_doc_free(doc);
		if (rc != TSARC_ENOTFOUND)
			return rc;
	}
	return tsarc_error_set(TSARC_ENOTFOUND, "the snapshot holds no Secret %s%s%s", name,
		key ? " with key " : "", key ? key : "");
}

int tsarc_snapshot_secret_doc(tsarc_restore_ctx *r, const char *name, cJSON **doc_out)
{
	char *none = NULL;

	return snapshot_secret_value(r, name, NULL, &none, doc_out);
}

/* A database's connection: from the target's Secret as it is now, the
 * configuration's fields over it. */
static int resolve_db(tsarc_restore_ctx *r, tsarc_step *s, tsarc_component *c, cJSON *ep)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s->spec, "url_secret");
	const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");
	int names_server = tsarc_conn_names_server(s->spec);
	char *url = NULL, from[1024], fields[200], sources[300];
	cJSON *doc = NULL;
	int rc = 0, doc_read;

	/* Where the endpoint is the configuration alone, it says all; where
	 * a Secret was read, what of it was used is said once it is read
	 * (tsarc_conn_sources: its user, or the configuration's). */
	tsarc_conn_config_fields(s->spec, NULL, fields, sizeof(fields));
	if (!c->external) {
		snprintf(from, sizeof(from), "the configuration%s%s%s", fields[0] ? " (" : "", fields,
			fields[0] ? ")" : "");
	} else if (!secret || !key) {
		return tsarc_error_set(TSARC_ECONFIG, "component '%s' is external but has no "
			"url_secret {\"secret\": ..., \"key\": ...}", s->component);
	} else if ((rc = r->deftr->get(r->deftr, "secret", secret, &doc)) == 0) {
		/* A Secret without the URL, where the configuration names the
		 * server, as the target without one (the backup reads it alike,
		 * conn.c): the zync Secret a migration's --skip-endpoint-secrets
		 * created without the source's DATABASE_URL stopped the same
		 * restore run again. */
		rc = tsarc_conn_secret_lacks_url(s->spec, doc);
		if (!rc)
			rc = tsarc_secret_doc_value(doc, secret, key, &url);
		if (rc == 1) {
			tsarc_secret_doc_free(doc);
			doc = NULL;
			snprintf(from, sizeof(from), "the configuration (%s): the target's Secret %s "
				"has no key %s", fields, secret, key);
		} else if (rc) {
			tsarc_secret_doc_free(doc);
			tsarc_error_prefix("component '%s': the target's Secret", s->component);
			return rc;
		} else
			snprintf(from, sizeof(from), "the target's Secret %s (key %s) as it was before "
				"the restore", secret, key);
	} else if (rc != TSARC_ENOTFOUND) {
		tsarc_error_prefix("component '%s': reading the target's Secret %s", s->component,
			secret);
		return rc;
	} else if (r->in_place &&
		   (rc = snapshot_secret_value(r, secret, key, &url, &doc)) != TSARC_ENOTFOUND) {
		if (rc) {
			tsarc_error_prefix("component '%s'", s->component);
			return rc;
		}
		/* "In place" and the copy are the snapshot's word: the target's
		 * own password goes to no server that only the copy names. */
		if (!names_server && (tsarc_spec_str(s->spec, "password_env") ||
			tsarc_spec_str(s->spec, "password_file"))) {
			tsarc_secret_doc_free(doc);
			tsarc_secure_free_str(url);
			return tsarc_error_set(TSARC_EUNSAFE, "component '%s': the target has no "
				"Secret %s, so where its database is would come from the snapshot's copy, "
				"and the configuration's own password (password_env or password_file) would "
				"be sent to a server only the snapshot names. Give host (or socket) in the "
				"configuration, or create the Secret in the target first; nothing was "
				"written", s->component, secret);
		}
		snprintf(from, sizeof(from), "the snapshot's Secret %s (key %s): the target has none, "
			"and the restore is in place (the snapshot was taken from this deployment)",
			secret, key);
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
	/* The same reading of the Secret as the backup's (dbconn.c): its user
	 * and password as a pair, its TLS keys. */
	doc_read = doc != NULL;
	rc = doc ? tsarc_conn_from_secret(c, doc, &s->conn) : tsarc_conn_from_url(c, url, &s->conn);
	/* A kind that reads more of the Secret (redis: Sentinel hosts, ACL
	 * user, TLS) keeps it: the target's, or in place the snapshot's copy
	 * (the one the restore's first step puts back), as the SQL kinds use
	 * it above. */
	if (!rc && doc && s->impl && s->impl->wants_secret_doc && !s->secret_doc)
		s->secret_doc = doc;
	else
		tsarc_secret_doc_free(doc);
	tsarc_secure_free_str(url);
	if (rc) {
		tsarc_error_prefix("component '%s'", s->component);
		return rc;
	}
	s->has_conn = 1;
	if (doc_read) {
		/* Before, "from the configuration: user" named the profile's
		 * "root" where the Secret's user was the one used. */
		tsarc_conn_sources(s->spec, &s->conn, sources, sizeof(sources));
		strncat(from, sources, sizeof(from) - strlen(from) - 1);
	}
	ep_str(ep, "host", s->conn.host);
	if (s->conn.port || (!s->conn.socket && default_port(s->kind) && (c->external ||
		!(c->tr->caps & TSARC_TR_IN_WORKLOAD))))
		cJSON_AddNumberToObject(ep, "port", s->conn.port ? s->conn.port : default_port(s->kind));
	ep_str(ep, "socket", s->conn.socket);
	ep_str(ep, "user", s->conn.user);
	/* A Redis URL's path is a db number: a whole-server RDB has none. */
	if (target_of(s) != TSARC_TARGET_SERVER)
		ep_str(ep, "database", s->conn.database);
	cJSON_AddStringToObject(ep, "from", from);
	return 0;
}

/* One line for people: "pod of system-mysql in namespace x: root@h:3306/system". */
static void endpoint_text(const tsarc_step *s, cJSON *ep)
{
	tsarc_buf b = TSARC_BUF_INIT;
	const char *tr = tsarc_spec_str(ep, "transport"), *v;
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(ep, "port");
	const tsarc_transport_type *type = tsarc_transport_type_find(tr);
	/* Commands in a workload: say which, and in which namespace. */
	int kube = type && (type->caps & TSARC_TR_IN_WORKLOAD);
	int db = target_of(s) == TSARC_TARGET_DATABASE || target_of(s) == TSARC_TARGET_SERVER;

	if (target_of(s) == TSARC_TARGET_RESOURCES) {
		tsarc_buf_printf(&b, "%s resources ", tsarc_spec_str(ep, "resource") ?
			tsarc_spec_str(ep, "resource") : "");
		if (kube)
			tsarc_buf_printf(&b, "in namespace %s", (v = tsarc_spec_str(ep, "namespace")) ? v :
				"(the context's)");
		else
			tsarc_buf_printf(&b, "in %s", (v = tsarc_spec_str(ep, "resources_dir")) ? v : "?");
	} else {
		/* A selector is what finds the pod where both are given (the
		 * kube transport's locate): the profile's workload stays in the
		 * configuration beside a selector that replaces its labels. */
		if (kube && (v = tsarc_spec_str(ep, "selector")))
			tsarc_buf_printf(&b, "pod labelled %s", v);
		else if (kube && (v = tsarc_spec_str(ep, "workload")))
			tsarc_buf_printf(&b, "pod of %s", v);
		else if (kube && (v = tsarc_spec_str(ep, "pod")))
			tsarc_buf_printf(&b, "pod %s", v);
		else if (kube)
			tsarc_buf_puts(&b, "a pod");
		if (kube && (v = tsarc_spec_str(ep, "container")))
			tsarc_buf_printf(&b, " (container %s)", v);
		if (kube)
			tsarc_buf_printf(&b, " in namespace %s: ", (v = tsarc_spec_str(ep, "namespace")) ? v :
				"(the context's)");
		if (db && (v = tsarc_spec_str(ep, "socket"))) {
			/* user via socket PATH, database DB: a path and a database
			 * name do not read well joined by a slash. */
			if (tsarc_spec_str(ep, "user"))
				tsarc_buf_printf(&b, "%s via ", tsarc_spec_str(ep, "user"));
			tsarc_buf_printf(&b, "socket %s", v);
			if ((v = tsarc_spec_str(ep, "database")))
				tsarc_buf_printf(&b, ", database %s", v);
		} else if (db) {
			if ((v = tsarc_spec_str(ep, "user")))
				tsarc_buf_printf(&b, "%s@", v);
			tsarc_buf_printf(&b, "%s", (v = tsarc_spec_str(ep, "host")) ? v :
				kube ? "its own server" : "localhost");
			if (cJSON_IsNumber(port))
				tsarc_buf_printf(&b, ":%d", port->valueint);
			if ((v = tsarc_spec_str(ep, "database")))
				tsarc_buf_printf(&b, "/%s", v);
		} else if ((v = tsarc_spec_str(ep, "path"))) {
			tsarc_buf_puts(&b, v);
		} else if ((v = tsarc_spec_str(ep, "command"))) {
			tsarc_buf_puts(&b, v);
		}
		if (!kube && (v = tsarc_spec_str(ep, "machine")) &&
			(!db || !tsarc_spec_str(ep, "host")))
			tsarc_buf_printf(&b, " on %s", v);
	}
	tsarc_buf_append(&b, "", 1);
	/* None rather than one with a piece left out (readers say "?"). */
	if (!tsarc_buf_status(&b) && b.ptr)
		cJSON_AddStringToObject(ep, "text", (char *)b.ptr);
	tsarc_buf_dispose(&b);
}

/* Where the snapshot's stream of step `s` came from, as the backup
 * recorded it (older snapshots: as much as they say). */
static cJSON *recorded_source(const tsarc_step *s)
{
	const cJSON *m = s->st ? s->st->meta : NULL;
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "source"), *v;
	cJSON *o;

	if (target_of(s) == TSARC_TARGET_OWN)
		return s->impl->recorded_source ? s->impl->recorded_source(s) : NULL;
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
	if (target_of(s) != TSARC_TARGET_SERVER)
		ep_str(o, "database", tsarc_spec_str(m, "database"));
	ep_str(o, "path", tsarc_spec_str(m, "path"));
	/* A server's own identity and its data set's, where its kind
	 * recorded them (Redis). */
	ep_str(o, "server_id", tsarc_spec_str(m, "server_id"));
	ep_str(o, "dataset_id", tsarc_spec_str(m, "dataset_id"));
	if (target_of(s) == TSARC_TARGET_RESOURCES)
		ep_str(o, "resource", tsarc_spec_str(s->spec, "resource"));
	/* A server the backup reached by no address of its own (a Sentinel
	 * group's master) is said as the kind described it: before, the
	 * plan showed such a source as "localhost". */
	if (!tsarc_spec_str(o, "host") && !tsarc_spec_str(o, "socket") &&
		(v = cJSON_GetObjectItemCaseSensitive(m, "redis_endpoint")) && cJSON_IsString(v))
		cJSON_AddStringToObject(o, "text", v->valuestring);
	else
		endpoint_text(s, o);
	return o;
}

static int is_loopback(const char *h)
{
	return !h || !h[0] || !strcasecmp(h, "localhost") || !strncmp(h, "127.", 4) ||
		!strcmp(h, "::1") || !strcmp(h, "[::1]");
}

static int ep_port(const tsarc_step *s, const cJSON *ep)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(ep, "port");
	return cJSON_IsNumber(p) ? p->valueint : default_port(s->kind);
}

/* Whether the target `t` of step `s` is where the snapshot's data came
 * from (`src`). A database named by a host that is not a loopback
 * address is the same wherever it is reached from; a loopback address or
 * a socket only on the same machine (or in the same namespace). */
static int same_endpoint(const tsarc_step *s, const cJSON *t, const cJSON *src)
{
	const char *th = tsarc_spec_str(t, "host"), *sh = tsarc_spec_str(src, "host");
	const char *ts = tsarc_spec_str(t, "socket"), *ss = tsarc_spec_str(src, "socket");

	if (!src)
		return 0;
	switch (target_of(s)) {
	case TSARC_TARGET_RESOURCES:
		return same_place(t, src, 1) == 1;
	case TSARC_TARGET_TREE:
		return str_same(tsarc_spec_str(t, "path"), tsarc_spec_str(src, "path")) &&
			same_place(t, src, 0) == 1;
	case TSARC_TARGET_COMMAND:
		return 0;
	case TSARC_TARGET_OWN:
		return tsarc_spec_str(t, "identity") &&
			str_same(tsarc_spec_str(t, "identity"), tsarc_spec_str(src, "identity"));
	case TSARC_TARGET_DATABASE:
	case TSARC_TARGET_SERVER:
		break;
	}
	if (target_of(s) != TSARC_TARGET_SERVER &&
		!str_same(tsarc_spec_str(t, "database"), tsarc_spec_str(src, "database")))
		return 0;
	if (ts || ss)
		return str_same(ts, ss) && same_place(t, src, 0) == 1;
	if (!is_loopback(th) && !is_loopback(sh))
		return !strcasecmp(th, sh) && ep_port(s, t) == ep_port(s, src);
	return is_loopback(th) && is_loopback(sh) && ep_port(s, t) == ep_port(s, src) &&
		same_place(t, src, 0) == 1;
}

/* Whether the target `t` of step `s` is known to be the snapshot's source
 * `src` by what the server said of itself: a whole server (Redis) whose
 * identity ("server_id") the backup recorded and the plan asked the
 * target for, and the same one, or whose data set's ("dataset_id": the
 * master of a replica the backup read shares it); else by its address
 * (same_endpoint). A Sentinel group's master has no recorded address,
 * and a server may be named by two: before, a migration into the
 * snapshot's own source through them was not refused. An identity that
 * differs proves nothing (a restarted server has a new one): the
 * addresses still decide. */
static int is_source(const tsarc_step *s, const cJSON *t, const cJSON *src)
{
	const char *ti = tsarc_spec_str(t, "server_id"), *si = tsarc_spec_str(src, "server_id");
	const char *td = tsarc_spec_str(t, "dataset_id"), *sd = tsarc_spec_str(src, "dataset_id");

	if (src && target_of(s) == TSARC_TARGET_SERVER &&
		((ti && si && !strcmp(ti, si)) || (td && sd && !strcmp(td, sd))))
		return 1;
	return same_endpoint(s, t, src);
}

/* What the step's merged recipe must hold for its action where it runs:
 * checked with the targets, before the first step writes (config.h). */
static int step_require(tsarc_restore_ctx *r, const tsarc_step *s, const tsarc_component *c)
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

static int resolve_step(tsarc_restore_ctx *r, tsarc_step *s)
{
	const cJSON *cmd, *first;
	tsarc_component c;
	cJSON *ep;
	const char *v;
	int rc = 0;

	if (s->spec == NULL)
		return 0;
	if (!s->impl) { /* a hook */
		const char *pod = tsarc_spec_str(s->spec, "workload") ? "workload" : "selector";
		memset(&c, 0, sizeof(c));
		c.spec = s->spec;
		if ((rc = tsarc_step_transport(r, s->spec, &c.tr)))
			return rc;
		/* One that runs in a workload's pod (the profile's re-sync, in
		 * system-sidekiq) under a transport without pods would run its
		 * command on this host instead, and fail there after every data
		 * step was applied. */
		if (!(c.tr->caps & TSARC_TR_IN_WORKLOAD) && (v = tsarc_spec_str(s->spec, pod)))
			return tsarc_error_set(TSARC_ECONFIG, "%s: %s runs in a pod of %s %s, which "
				"the %s transport does not reach (it runs commands on this host); nothing "
				"was written: with no pod here, \"post_restore\": [] turns the hooks off "
				"(run them once the workload runs), or give the hook a command for this "
				"host without \"%s\"", r->d->origin, s->label, pod, v, c.tr->type, pod);
	} else if ((rc = tsarc_step_component(r, s, &c)) || (rc = step_require(r, s, &c))) {
		return rc;
	}
	if (!(ep = s->endpoint = place_of(c.tr)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if ((c.tr->caps & TSARC_TR_IN_WORKLOAD) && target_of(s) != TSARC_TARGET_RESOURCES) {
		ep_str(ep, "workload", tsarc_spec_str(s->spec, "workload"));
		ep_str(ep, "selector", tsarc_spec_str(s->spec, "selector"));
		ep_str(ep, "container", tsarc_spec_str(s->spec, "container"));
	}
	switch (target_of(s)) {
	case TSARC_TARGET_RESOURCES:
		ep_str(ep, "resource", tsarc_spec_str(s->spec, "resource"));
		/* Every transport's apply takes --target-namespace; one that
		 * describes its place has it there already. */
		if (r->o->target_namespace && !cJSON_GetObjectItemCaseSensitive(ep, "namespace"))
			ep_str(ep, "namespace", r->o->target_namespace);
		break;
	case TSARC_TARGET_DATABASE:
	case TSARC_TARGET_SERVER:
		rc = resolve_db(r, s, &c, ep);
		break;
	case TSARC_TARGET_TREE:
		if (!(v = tsarc_spec_str(s->spec, "path")))
			v = tsarc_spec_str(s->recipe, "path");
		ep_str(ep, "path", v);
		/* A tree on this host that holds the repository itself. */
		if (v && (c.tr->caps & TSARC_TR_HOST_FILES) &&
			(rc = tsarc_tree_repository_check(r->repo, v)))
			tsarc_error_prefix("component '%s'", s->component);
		break;
	case TSARC_TARGET_COMMAND:
		cmd = cJSON_GetObjectItemCaseSensitive(s->impl ? s->recipe : s->spec, "command");
		first = cJSON_IsArray(cmd) ? cJSON_GetArrayItem(cmd, 0) : NULL;
		if (cJSON_IsString(first))
			ep_str(ep, "command", first->valuestring);
		break;
	case TSARC_TARGET_OWN:
		rc = s->impl->resolve ? s->impl->resolve(r, s, ep) :
			tsarc_error_set(TSARC_EGENERIC, "kind %s cannot resolve its target", s->kind);
		break;
	}
	/* Once the target is resolved: what the stream holds is judged
	 * against the target as it is (its Secret, s->secret_doc). */
	if (!rc && s->impl && s->impl->admit)
		rc = s->impl->admit(r, s);
	if (!rc) {
		if (!cJSON_GetObjectItemCaseSensitive(ep, "text"))
			endpoint_text(s, ep);
		s->source = recorded_source(s);
	}
	return rc;
}

/* A migration's warnings about what the pending steps will write. */
static void warn_migration(tsarc_restore_ctx *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		const tsarc_step *s = &r->steps[i];
		if (s->state == TSARC_STEP_PENDING && s->impl && s->impl->warn_migration)
			s->impl->warn_migration(r, s);
	}
}

/* The pod an endpoint's commands run in, as the kube transport finds it
 * (locate): by its selector where it has one, else by its workload's
 * labels; NULL where it names neither. An endpoint carries both as
 * configured (the profile's workload stays beside a selector that
 * replaces its labels), a recorded source the selector the backup found
 * the pod by. */
static const char *pod_found_by(const cJSON *ep)
{
	const char *selector = tsarc_spec_str(ep, "selector");

	return selector ? selector : tsarc_spec_str(ep, "workload");
}

/* Whether endpoint `ep` names its server: a host or a socket, or a pod
 * whose own server it is (in its workload, reached there without a host:
 * "its own server"). */
static int names_server(const cJSON *ep)
{
	return tsarc_spec_str(ep, "host") || tsarc_spec_str(ep, "socket") || pod_found_by(ep);
}

/* Whether endpoints `a` and `b` of whole-server steps (each as
 * resolved, or a snapshot's recorded source) are known to be the same
 * server: both carry the identity of the data set they hold
 * ("dataset_id": a primary and its replicas share it, so two backups
 * read from two replicas of one primary are copies of one server), and
 * the same one; or both carry the server's own identity ("server_id",
 * which the kind asked the server for), and the same one; else both name
 * their server (names_server), and the same one, from the same pod
 * (pod_found_by). Two components whose one selector finds one pod, their
 * server that pod's own, were taken for two servers: a server in its pod
 * names no host, and the profile's workloads beside the selector differ;
 * the plan admitted the second's restore erasing the first's. */
static int same_server(const tsarc_step *s, const cJSON *a, const cJSON *b)
{
	const char *ia = tsarc_spec_str(a, "server_id"), *ib = tsarc_spec_str(b, "server_id");
	const char *da = tsarc_spec_str(a, "dataset_id"), *db = tsarc_spec_str(b, "dataset_id");

	if (a && b && da && db && !strcmp(da, db))
		return 1;
	if (a && b && ia && ib)
		return !strcmp(ia, ib);
	if (!a || !b || !names_server(a) || !names_server(b) ||
		!str_same(pod_found_by(a), pod_found_by(b)))
		return 0;
	return same_endpoint(s, a, b);
}

/* A step whose target is a whole server (Redis) replaces all of it: every
 * database is emptied first. Two such steps into one server leave only
 * the second's data, which is right only when both streams are copies of
 * that one server (the snapshot took both from the same server). Two
 * servers' backups into one (a migration onto a shared Redis) would lose
 * the first: refused before anything is written. */
static int one_step_per_server(tsarc_restore_ctx *r)
{
	size_t i, j;

	for (i = 0; i < r->n; i++) {
		const tsarc_step *a = &r->steps[i];
		if (a->state != TSARC_STEP_PENDING || !a->endpoint || target_of(a) != TSARC_TARGET_SERVER)
			continue;
		for (j = i + 1; j < r->n; j++) {
			const tsarc_step *b = &r->steps[j];
			if (b->state != TSARC_STEP_PENDING || !b->endpoint ||
				target_of(b) != TSARC_TARGET_SERVER || strcmp(a->kind, b->kind) ||
				!same_server(a, a->endpoint, b->endpoint) ||
				same_server(a, a->source, b->source))
				continue;
			return tsarc_error_set(TSARC_ECONFIG, "%s and %s both restore into %s, and each "
				"replaces the whole server (every database emptied first): the second would "
				"erase what the first wrote. The snapshot took them from %s and %s, not "
				"known to be one server. Restore one of them (--only), or give each its own "
				"server; nothing was written", tsarc_step_name(a), tsarc_step_name(b),
				tsarc_spec_str(a->endpoint, "text"), a->source ? tsarc_spec_str(a->source,
				"text") : "a server it did not record", b->source ?
				tsarc_spec_str(b->source, "text") : "a server it did not record");
		}
	}
	return 0;
}

/* Resolves every pending step's target, refuses two whole-server steps
 * into one server from different ones, then refuses a migration into
 * the snapshot's own source unless the user allowed it. */
int tsarc_plan_targets(tsarc_restore_ctx *r)
{
	tsarc_buf msg = TSARC_BUF_INIT;
	size_t i, same = 0;
	int rc = 0;

	if ((rc = classify(r)))
		return rc;
	for (i = 0; i < r->n; i++) {
		tsarc_step *s = &r->steps[i];
		if (s->state != TSARC_STEP_PENDING || !s->action)
			continue;
		if ((rc = resolve_step(r, s)))
			return rc;
	}
	if ((rc = one_step_per_server(r)))
		return rc;
	if (r->migration)
		warn_migration(r);
	if (!r->migration || r->o->allow_source_target)
		return 0;
	for (i = 0; i < r->n; i++) {
		tsarc_step *s = &r->steps[i];
		if (s->state != TSARC_STEP_PENDING || !s->endpoint || !is_source(s, s->endpoint, s->source))
			continue;
		same++;
		tsarc_buf_printf(&msg, "\n  %s: %s is the snapshot's source (give --allow-source-target if "
			"that is meant)", tsarc_step_name(s), tsarc_spec_str(s->endpoint, "text"));
	}
	tsarc_buf_append(&msg, "", 1);
	if (same && tsarc_buf_status(&msg))
		rc = tsarc_error_set(TSARC_ECONFIG, "refusing a migration (%s) into the snapshot's own "
			"source (%zu steps: give --allow-source-target if that is meant); nothing was "
			"written", r->migration, same);
	else if (same)
		rc = tsarc_error_set(TSARC_ECONFIG, "refusing a migration (%s) into the snapshot's own "
			"source; nothing was written:%s", r->migration, msg.ptr ? (char *)msg.ptr : "");
	tsarc_buf_dispose(&msg);
	return rc;
}

/* What a step will do, for the plan (and --dry-run). */
