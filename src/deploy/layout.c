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

/* Rule 3: 1 external, 0 internal, -1 no URL to read. */
static int from_secret(const cJSON *spec, const cJSON *rule, tsarc_transport *tr, char *why,
	size_t whysz)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(spec, "url_secret"), *h;
	const char *secret = tsarc_spec_str(ref, "secret"), *key = tsarc_spec_str(ref, "key");
	char *url = NULL;
	tsarc_url u;
	int rc, ext = 1;

	if (!secret || !key)
		return -1;
	if ((rc = tsarc_secret_value(tr, secret, key, &url))) {
		snprintf(why, whysz, "Secret %s key %s could not be read (%s)", secret, key,
			tsarc_error_last()->message);
		tsarc_error_clear();
		return -1;
	}
	rc = tsarc_url_parse(url, &u);
	tsarc_secure_free_str(url); /* it may hold a password */
	if (rc || !u.host || !*u.host) {
		snprintf(why, whysz, "Secret %s key %s holds no URL with a host", secret, key);
		tsarc_error_clear();
		if (!rc)
			tsarc_url_free(&u);
		return -1;
	}
	cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(rule, "internal_hosts"))
		if (cJSON_IsString(h) && names_service(u.host, h->valuestring))
			ext = 0;
	snprintf(why, whysz, "Secret %s key %s names host %s, %s", secret, key, u.host,
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

/* "storage_when" (layout.h): the component takes the place of its
 * "replaces" when the APIManager's spec.<apimanager> is set, with the
 * Secret its spec.<apimanager>.<secret_ref> names. */
static int decide_storage(cJSON *comps, cJSON *c, const cJSON *am, const char *amwhy,
	const cJSON *recorded, cJSON *out)
{
	const cJSON *was = cJSON_GetObjectItemCaseSensitive(recorded, c->string);
	const cJSON *rule = cJSON_GetObjectItemCaseSensitive(c, "storage_when"), *p;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(am, "spec"), *ref;
	const char *repl = tsarc_spec_str(rule, "replaces");
	cJSON *other = repl ? cJSON_GetObjectItemCaseSensitive(comps, repl) : NULL, *d;
	char dotted[160] = "", why[700];
	size_t len = 0;
	int rc = 0, on;

	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(rule, "apimanager")) {
		if (!cJSON_IsString(p) || len >= sizeof(dotted))
			return 0;
		v = cJSON_GetObjectItemCaseSensitive(v, p->valuestring);
		len += (size_t)snprintf(dotted + len, sizeof(dotted) - len, "%s%s", len ? "." : "",
			p->valuestring);
	}
	if ((on = am && cJSON_IsObject(v))) {
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
		snprintf(why, sizeof(why), "APIManager %s: spec.%s is set: the bucket of Secret %s"
			"%s%s", apimanager_name(am), dotted, tsarc_spec_str(c, "secret") ?
			tsarc_spec_str(c, "secret") : "?", other ? ", in place of " : "",
			other ? repl : "");
	} else if ((on = !am && cJSON_IsTrue(was))) {
		snprintf(why, sizeof(why), "as backed up (the snapshot holds its stream), the target "
			"says nothing: %s: the bucket of Secret %s%s%s", amwhy[0] ? amwhy :
			"no APIManager", tsarc_spec_str(c, "secret") ? tsarc_spec_str(c, "secret") : "?",
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

int tsarc_decide_external(cJSON *eff, tsarc_transport *resources, const cJSON *recorded,
	cJSON **decisions)
{
	cJSON *comps = cJSON_GetObjectItemCaseSensitive(eff, "components"), *c, *out = NULL;
	cJSON *am = NULL;
	char amwhy[512], why[1024], secwhy[512];
	int read_am = 0;

	if (decisions) {
		*decisions = NULL;
		if (!(out = cJSON_CreateObject()))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	cJSON_ArrayForEach(c, comps) {
		const cJSON *rule = cJSON_GetObjectItemCaseSensitive(c, "external_when");
		const cJSON *given = cJSON_GetObjectItemCaseSensitive(c, "external");
		cJSON *d;
		int ext, rc;

		if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(c, "storage_when"))) {
			if (!read_am) {
				am = read_apimanager(resources, amwhy, sizeof(amwhy));
				read_am = 1;
			}
			if ((rc = decide_storage(comps, c, am, amwhy, recorded, out))) {
				cJSON_Delete(am);
				cJSON_Delete(out);
				return rc;
			}
			continue;
		}
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
			if (!(d = cJSON_AddObjectToObject(out, c->string)) ||
				!cJSON_AddBoolToObject(d, "external", ext) ||
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
