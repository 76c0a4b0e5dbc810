/*
 * External or in a pod: the decision of layout.h, from the APIManager and
 * the Secrets.
 */
#include "layout.h"
#include "deploy.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The deployment's APIManager (the first, when several), or NULL; `why`
 * says why there is none when reading failed. */
static cJSON *read_apimanager(tsarc_transport *tr, char *why, size_t whysz)
{
	cJSON *list = NULL, *first;
	int rc = tr->get(tr, "apimanager", NULL, &list);

	why[0] = '\0';
	if (rc) {
		if (rc != TSARC_ENOTFOUND)
			snprintf(why, whysz, "the APIManager could not be read (%s)",
				tsarc_error_last()->message);
		tsarc_error_clear();
		return NULL;
	}
	first = cJSON_IsArray(list) ? cJSON_DetachItemFromArray(list, 0) : NULL;
	if (!cJSON_IsArray(list) && cJSON_IsObject(list)) {
		first = list;
		list = NULL;
	}
	cJSON_Delete(list);
	return first;
}

static const char *apimanager_name(const cJSON *am)
{
	const char *n = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(am, "metadata"), "name");
	return n ? n : "?";
}

/* Rule 2: 1 external, 0 internal, -1 the APIManager does not say. */
static int from_apimanager(const cJSON *am, const cJSON *path, char *why, size_t whysz)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(am, "spec"), *ext, *v, *p, *ha;
	char dotted[128] = "";
	size_t len = 0;

	if (!am || !cJSON_IsArray(path) || cJSON_GetArraySize(path) != 2)
		return -1;
	cJSON_ArrayForEach(p, path) {
		if (!cJSON_IsString(p))
			return -1;
		len += (size_t)snprintf(dotted + len, sizeof(dotted) - len, "%s%s", len ? "." : "",
			p->valuestring);
		if (len >= sizeof(dotted))
			return -1;
	}
	if ((ext = cJSON_GetObjectItemCaseSensitive(spec, "externalComponents"))) {
		v = ext;
		cJSON_ArrayForEach(p, path)
			v = cJSON_GetObjectItemCaseSensitive(v, p->valuestring);
		if (!cJSON_IsBool(v))
			return -1;
		snprintf(why, whysz, "APIManager %s: spec.externalComponents.%s is %s",
			apimanager_name(am), dotted, cJSON_IsTrue(v) ? "true" : "false");
		return cJSON_IsTrue(v);
	}
	ha = cJSON_GetObjectItemCaseSensitive(spec, "highAvailability");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ha, "enabled"))) {
		int zync = !strcmp(cJSON_GetArrayItem(path, 0)->valuestring, "zync");
		int on = !zync || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ha,
			"externalZyncDatabaseEnabled"));
		snprintf(why, whysz, "APIManager %s: spec.highAvailability.enabled is true%s",
			apimanager_name(am), zync ? (on ? " with externalZyncDatabaseEnabled" :
			" without externalZyncDatabaseEnabled") : "");
		return on;
	}
	return -1;
}

/* `host` is `name` or `name.` followed by anything (NAME.NAMESPACE.svc...). */
static int names_service(const char *host, const char *name)
{
	size_t n = strlen(name);
	return !strcmp(host, name) || (!strncmp(host, name, n) && host[n] == '.');
}

/* The URL of component `spec`'s url_secret, parsed into *u: 0, or -1 when
 * there is none to read (`why` says why, when it could not be read). */
static int secret_url(const cJSON *spec, tsarc_transport *tr, tsarc_url *u, char *why,
	size_t whysz)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(spec, "url_secret");
	const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");
	char *url = NULL;
	int rc;

	if (!secret || !key)
		return -1;
	if ((rc = tsarc_secret_value(tr, secret, key, &url))) {
		snprintf(why, whysz, "Secret %s key %s could not be read (%s)", secret, key,
			tsarc_error_last()->message);
		tsarc_error_clear();
		return -1;
	}
	rc = tsarc_url_parse(url, u);
	tsarc_secure_free_str(url); /* it may hold a password */
	if (rc || !u->host || !*u->host) {
		snprintf(why, whysz, "Secret %s key %s holds no URL with a host", secret, key);
		tsarc_error_clear();
		if (!rc)
			tsarc_url_free(u);
		return -1;
	}
	snprintf(why, whysz, "Secret %s key %s", secret, key);
	return 0;
}

/* Rule 3: 1 external, 0 internal, -1 no URL to read. */
static int from_secret(const cJSON *spec, const cJSON *rule, tsarc_transport *tr, char *why,
	size_t whysz)
{
	const cJSON *h;
	char where[300];
	tsarc_url u;
	int ext = 1;

	if (secret_url(spec, tr, &u, why, whysz))
		return -1;
	snprintf(where, sizeof(where), "%s", why);
	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(rule, "internal_hosts"))
		if (cJSON_IsString(h) && names_service(u.host, h->valuestring))
			ext = 0;
	snprintf(why, whysz, "%s names host %s, %s", where, u.host,
		ext ? "not an in-cluster service of the deployment" : "the in-cluster service");
	tsarc_url_free(&u);
	return ext;
}

static int set_bool(cJSON *o, const char *key, int v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	return cJSON_AddBoolToObject(o, key, v) ? 0 : tsarc_error_set(TSARC_ENOMEM,
		"out of memory");
}

/* The rules by which a component takes the place of another (layout.h):
 * system-storage-s3 of system-storage, system-postgresql of system-mysql. */
static const char *const REPLACEMENT_RULES[] = {"storage_when", "database_when"};

static const cJSON *replacement_rule(const cJSON *c)
{
	size_t i;

	for (i = 0; i < sizeof(REPLACEMENT_RULES) / sizeof(REPLACEMENT_RULES[0]); i++) {
		const cJSON *rule = cJSON_GetObjectItemCaseSensitive(c, REPLACEMENT_RULES[i]);
		if (cJSON_IsObject(rule))
			return rule;
	}
	return NULL;
}

int tsarc_replaces_another(const cJSON *c)
{
	return replacement_rule(c) != NULL;
}

const char *tsarc_replaced_by_rule(const cJSON *c)
{
	return tsarc_spec_str(replacement_rule(c), "replaces");
}

/* A replacement rule's "url_schemes": 1 when the URL of the component's
 * url_secret has one of them, 0 when it has another, -1 when there is no
 * such rule or no URL to read; `why` says which. */
static int from_scheme(const cJSON *c, const cJSON *rule, tsarc_transport *tr, char *why,
	size_t whysz)
{
	const cJSON *schemes = cJSON_GetObjectItemCaseSensitive(rule, "url_schemes"), *sch;
	char where[300];
	tsarc_url u;
	int on = 0;

	if (!cJSON_IsArray(schemes) || secret_url(c, tr, &u, where, sizeof(where)))
		return -1;
	cJSON_ArrayForEach(sch, schemes)
		if (cJSON_IsString(sch) && !strcasecmp(sch->valuestring, u.scheme))
			on = 1;
	snprintf(why, whysz, "%s is a %s:// URL", where,
		tsarc_url_scheme_shown(u.scheme) ? u.scheme : "(not shown)");
	tsarc_url_free(&u);
	return on;
}

/* A replacement rule (layout.h "storage_when", "database_when"): the
 * component takes the place of its "replaces" as its Secret's URL scheme
 * says, else when the APIManager's spec.<apimanager> is set (with the
 * Secret its spec.<apimanager>.<secret_ref> names), else, with no
 * APIManager to read, as the snapshot holds its stream. */
static int decide_replacement(cJSON *comps, cJSON *c, const cJSON *rule,
	tsarc_transport *resources, const cJSON *am, const char *amwhy, const cJSON *recorded,
	cJSON *out)
{
	const cJSON *was = cJSON_GetObjectItemCaseSensitive(recorded, c->string), *p;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(am, "spec"), *ref;
	const char *repl = tsarc_spec_str(rule, "replaces");
	cJSON *other = repl ? cJSON_GetObjectItemCaseSensitive(comps, repl) : NULL, *d;
	char dotted[160] = "", why[700], urlwhy[300] = "";
	size_t len = 0;
	int rc = 0, on;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(rule, "apimanager")) {
		if (!cJSON_IsString(p) || len >= sizeof(dotted))
			return 0;
		v = cJSON_GetObjectItemCaseSensitive(v, p->valuestring);
		len += (size_t)snprintf(dotted + len, sizeof(dotted) - len, "%s%s", len ? "." : "",
			p->valuestring);
	}
	if ((on = from_scheme(c, rule, resources, urlwhy, sizeof(urlwhy))) >= 0) {
		snprintf(why, sizeof(why), "%s%s%s", urlwhy, on && other ? ", in place of " :
			!on && repl ? ": stays " : "", (on && other) || (!on && repl) ? repl : "");
	} else if ((on = am && cJSON_IsObject(v))) {
		ref = v;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(rule, "secret_ref"))
			ref = cJSON_IsString(p) ? cJSON_GetObjectItemCaseSensitive(ref, p->valuestring) :
				NULL;
		if (cJSON_IsString(ref) && tsarc_valid_kube_name(ref->valuestring)) {
			cJSON *name = cJSON_CreateString(ref->valuestring);
			if (!name)
				return tsarc_error_set(TSARC_ENOMEM, "out of memory");
			cJSON_DeleteItemFromObjectCaseSensitive(c, "secret");
			cJSON_AddItemToObject(c, "secret", name);
		}
		snprintf(why, sizeof(why), "APIManager %s: spec.%s is set%s%s%s%s",
			apimanager_name(am), dotted, tsarc_spec_str(c, "secret") ? ": the bucket of Secret " :
			"", tsarc_spec_str(c, "secret") ? tsarc_spec_str(c, "secret") : "",
			other ? ", in place of " : "", other ? repl : "");
	} else if ((on = !am && cJSON_IsTrue(was))) {
		snprintf(why, sizeof(why), "as backed up (the snapshot holds its stream), the target "
			"says nothing: %s%s%s%s%s", amwhy[0] ? amwhy : "no APIManager",
			tsarc_spec_str(c, "secret") ? ": the bucket of Secret " : "",
			tsarc_spec_str(c, "secret") ? tsarc_spec_str(c, "secret") : "",
			other ? ", in place of " : "", other ? repl : "");
	} else {
		snprintf(why, sizeof(why), "%s%s%s%s%s%s", am ? "APIManager " : "",
			am ? apimanager_name(am) : amwhy[0] ? amwhy : "no APIManager",
			am ? " has no spec." : "", am ? dotted : "", repl ? ": stays " : "",
			repl ? repl : "");
	}
	if (on && ((rc = set_bool(c, "enabled", 1)) ||
		      (other && (rc = set_bool(other, "enabled", 0)))))
		return rc;
	if (out && (!(d = cJSON_AddObjectToObject(out, c->string)) ||
		    !cJSON_AddBoolToObject(d, "enabled", tsarc_spec_bool(c, "enabled", 1)) ||
		    !cJSON_AddStringToObject(d, "why", why)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return 0;
}

static int decide(cJSON *eff, tsarc_transport *resources, const cJSON *recorded,
	cJSON **decisions)
{
	cJSON *comps = cJSON_GetObjectItemCaseSensitive(eff, "components"), *c, *out = NULL;
	cJSON *am = NULL;
	char amwhy[512], why[1800], secwhy[512];
	int read_am = 0;

	if (decisions) {
		*decisions = NULL;
		if (!(out = cJSON_CreateObject()))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	/* Which components are enabled first (a replacement enables one and
	 * disables the other), then where each enabled one is. */
	cJSON_ArrayForEach(c, comps) {
		const cJSON *rule = replacement_rule(c);
		int rc;
		if (!rule)
			continue;
		if (!read_am) {
			am = read_apimanager(resources, amwhy, sizeof(amwhy));
			read_am = 1;
		}
		if ((rc = decide_replacement(comps, c, rule, resources, am, amwhy, recorded, out))) {
			cJSON_Delete(am);
			cJSON_Delete(out);
			return rc;
		}
	}
	cJSON_ArrayForEach(c, comps) {
		const cJSON *rule = cJSON_GetObjectItemCaseSensitive(c, "external_when");
		const cJSON *given = cJSON_GetObjectItemCaseSensitive(c, "external");
		cJSON *d;
		int ext;

		if (!cJSON_IsObject(rule) || !tsarc_spec_bool(c, "enabled", 1))
			continue;
		if (cJSON_IsBool(given)) {
			ext = cJSON_IsTrue(given);
			snprintf(why, sizeof(why), "the configuration says \"external\": %s",
				ext ? "true" : "false");
		} else {
			if (!read_am) {
				am = read_apimanager(resources, amwhy, sizeof(amwhy));
				read_am = 1;
			}
			secwhy[0] = '\0';
			if ((ext = from_apimanager(am, cJSON_GetObjectItemCaseSensitive(rule,
				     "apimanager"), why, sizeof(why))) < 0 &&
				(ext = from_secret(c, rule, resources, secwhy, sizeof(secwhy))) >= 0)
				snprintf(why, sizeof(why), "%s", secwhy);
			if (ext < 0) {
				const cJSON *was = cJSON_GetObjectItemCaseSensitive(recorded, c->string);
				ext = cJSON_IsTrue(was);
				snprintf(why, sizeof(why), "%s: %s%s%s", cJSON_IsBool(was) ? ext ?
					"external as backed up, the target says nothing" :
					"in a pod as backed up, the target says nothing" : "in a pod",
					amwhy[0] ? amwhy : am ? "the APIManager does not say" :
					"no APIManager", secwhy[0] ? "; " : ", no Secret URL", secwhy);
			}
			cJSON_DeleteItemFromObjectCaseSensitive(c, "external");
			if (!cJSON_AddBoolToObject(c, "external", ext)) {
				cJSON_Delete(am);
				cJSON_Delete(out);
				return tsarc_error_set(TSARC_ENOMEM, "out of memory");
			}
		}
		if (out) {
			/* A component enabled by a replacement rule: one entry, both
			 * reasons. */
			const char *was;
			char both[1800];
			d = cJSON_GetObjectItemCaseSensitive(out, c->string);
			if ((was = tsarc_spec_str(d, "why"))) {
				snprintf(both, sizeof(both), "%s; %s", was, why);
				snprintf(why, sizeof(why), "%s", both);
				cJSON_DeleteItemFromObjectCaseSensitive(d, "why");
			}
			if (!d)
				d = cJSON_AddObjectToObject(out, c->string);
			if (!d || !cJSON_AddBoolToObject(d, "external", ext) ||
				!cJSON_AddStringToObject(d, "why", why)) {
				cJSON_Delete(am);
				cJSON_Delete(out);
				return tsarc_error_set(TSARC_ENOMEM, "out of memory");
			}
		}
	}
	cJSON_Delete(am);
	if (decisions)
		*decisions = out;
	return 0;
}

/* Through tsarc_transport_read_once: a Secret two rules read (the system
 * database's: database_when's URL scheme, then external_when's host) is
 * read once. */
int tsarc_decide_external(cJSON *eff, tsarc_transport *resources, const cJSON *recorded,
	cJSON **decisions)
{
	tsarc_transport *once;
	int rc;

	if (decisions)
		*decisions = NULL;
	if ((rc = tsarc_transport_read_once(&once, resources)))
		return rc;
	rc = decide(eff, once, recorded, decisions);
	once->free(once);
	return rc;
}

int tsarc_deploy_decide_external(tsarc_deploy *d, cJSON **decisions)
{
	cJSON *eff = d->eff;
	tsarc_transports t;
	tsarc_transport *tr = NULL;
	int rc;

	memset(&t, 0, sizeof(t));
	t.conf = cJSON_GetObjectItemCaseSensitive(eff, "transport");
	if (!(rc = tsarc_transports_get(&t, tsarc_spec_str(t.conf, "type"), &tr)))
		rc = tsarc_decide_external(eff, tr, NULL, decisions);
	tsarc_transports_dispose(&t);
	return rc;
}
