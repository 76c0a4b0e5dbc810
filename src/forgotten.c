#include "forgotten.h"
#include "grow.h"
#include "objlock.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The mark's AAD is this and the id: a mark opens only under its own
 * snapshot's name. */
#define AAD_FORGOTTEN "tsarc-forgotten-v1 "
/* A mark is a short JSON document; anything larger is not one. */
#define MARK_MAX 4096

static void mark_name(char *out, size_t outsz, const char *id)
{
	snprintf(out, outsz, "%s%s", id, TSARC_FORGOTTEN_SUFFIX);
}

static void mark_aad(char *out, size_t outsz, const char *id)
{
	snprintf(out, outsz, "%s%s", AAD_FORGOTTEN, id);
}

static int put_mark(tsarc_repo *repo, const char *id, int64_t now)
{
	char name[TSARC_ID_HEX_LEN + sizeof(TSARC_FORGOTTEN_SUFFIX)];
	char aad[sizeof(AAD_FORGOTTEN) + TSARC_ID_HEX_LEN], when[40];
	tsarc_buf sealed = TSARC_BUF_INIT;
	cJSON *doc = cJSON_CreateObject();
	char *text = NULL;
	int rc;

	tsarc_time_format(now, 0, when, sizeof(when));
	if (!doc || !cJSON_AddStringToObject(doc, "forgotten", id) ||
		!cJSON_AddStringToObject(doc, "time", when) ||
		!(text = cJSON_PrintUnformatted(doc))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	mark_name(name, sizeof(name), id);
	mark_aad(aad, sizeof(aad), id);
	if (!(rc = tsarc_repo_seal_object(repo, aad, text, strlen(text), &sealed)))
		rc = tsarc_store_put(repo->store, TSARC_OBJ_SNAPSHOT, name, sealed.ptr, sealed.size,
			0);
	if (rc)
		tsarc_error_prefix("marking snapshot %.12s as forgotten", id);
done:
	cJSON_free(text);
	cJSON_Delete(doc);
	tsarc_buf_dispose(&sealed);
	return rc;
}

int tsarc_snapshot_forget(tsarc_repo *repo, const char *id, int64_t now, int64_t *kept_until)
{
	tsarc_purge_tally t = {0, 0, 0};
	const char *names[1] = {id};
	int rc;

	*kept_until = 0;
	if (!tsarc_snapshot_name_is_id(id))
		return tsarc_error_set(TSARC_EINVAL, "'%s' is not a snapshot id", id);
	if (repo->retention.mode && (rc = put_mark(repo, id, now)))
		return rc;
	if ((rc = tsarc_store_purge_many(repo->store, TSARC_OBJ_SNAPSHOT, names, 1,
		     tsarc_purge_tally_cb, &t))) {
		tsarc_error_prefix("forgetting snapshot %.12s", id);
		return rc;
	}
	*kept_until = t.kept ? t.kept_until : 0;
	return 0;
}

int tsarc_forgotten_check(tsarc_repo *repo, const char *id)
{
	char name[TSARC_ID_HEX_LEN + sizeof(TSARC_FORGOTTEN_SUFFIX)];
	char aad[sizeof(AAD_FORGOTTEN) + TSARC_ID_HEX_LEN];
	tsarc_buf sealed = TSARC_BUF_INIT, plain = TSARC_BUF_INIT;
	cJSON *doc = NULL;
	const cJSON *named;
	int rc;

	mark_name(name, sizeof(name), id);
	mark_aad(aad, sizeof(aad), id);
	tsarc_buf_init(&sealed, MARK_MAX);
	rc = tsarc_store_get(repo->store, TSARC_OBJ_SNAPSHOT, name, 0, 0, &sealed);
	if (rc == TSARC_ETOOLARGE)
		rc = TSARC_ECORRUPT;
	if (!rc && !(rc = tsarc_repo_open_object(repo, aad, sealed.ptr, sealed.size, &plain))) {
		doc = cJSON_ParseWithLength((const char *)plain.ptr, plain.size);
		named = cJSON_GetObjectItemCaseSensitive(doc, "forgotten");
		if (!cJSON_IsString(named) || strcmp(named->valuestring, id))
			rc = TSARC_ECORRUPT;
	}
	if (rc == TSARC_ECORRUPT)
		tsarc_error_set(rc, "snapshots/%s is not tsarc's mark of a forgotten snapshot", name);
	cJSON_Delete(doc);
	tsarc_buf_dispose(&sealed);
	tsarc_buf_dispose(&plain);
	return rc;
}

static int push_id(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	tsarc_strv *v = payload;

	(void)size;
	(void)mtime;
	if (!tsarc_snapshot_name_is_id(name))
		return 0;
	return tsarc_strv_push(&v->v, &v->n, &v->cap, 16, name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int hidden_ids(tsarc_repo *repo, tsarc_strv *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!repo->retention.mode)
		return 0;
	if ((rc = tsarc_store_list_hidden(repo->store, TSARC_OBJ_SNAPSHOT, push_id, out))) {
		tsarc_error_prefix("listing the hidden snapshots");
		return rc;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
	return 0;
}

int tsarc_forgotten_unmarked(tsarc_repo *repo, char ***ids, size_t *count)
{
	tsarc_strv hidden, out = {NULL, 0, 0};
	size_t i;
	int rc, marked;

	*ids = NULL;
	*count = 0;
	if ((rc = hidden_ids(repo, &hidden)))
		return rc;
	for (i = 0; !rc && i < hidden.n; i++) {
		marked = tsarc_forgotten_check(repo, hidden.v[i]);
		if (marked == TSARC_ENOTFOUND || marked == TSARC_ECORRUPT) {
			tsarc_error_clear();
			rc = tsarc_strv_push(&out.v, &out.n, &out.cap, 16, hidden.v[i]);
		} else {
			rc = marked;
		}
	}
	tsarc_store_names_free(hidden.v, hidden.n);
	if (rc) {
		tsarc_store_names_free(out.v, out.n);
		return rc;
	}
	*ids = out.v;
	*count = out.n;
	return 0;
}

int tsarc_forgotten_unmarked_error(const char *first, size_t count, const char *done)
{
	char more[48] = "";

	if (count > 1)
		snprintf(more, sizeof(more), " (and %zu more)", count - 1);
	return tsarc_error_set(TSARC_ECORRUPT,
		"snapshot %.12s%s is hidden behind a delete marker that tsarc's forget did not "
		"write (an attack with the repository's credentials, or a delete outside "
		"tsarc): %s; read it with --as-of a time before it was hidden, or run 'tsarc "
		"forget %.12s' if it was meant to go",
		first, more, done, first);
}

int tsarc_forgotten_resolve(tsarc_repo *repo, const char *spec,
	char id_out[TSARC_ID_HEX_LEN + 1])
{
	char **ids = NULL;
	size_t n = 0;
	int rc;

	if ((rc = tsarc_forgotten_unmarked(repo, &ids, &n)))
		return rc;
	rc = tsarc_snapshot_match(ids, n, spec, "hidden snapshots", id_out);
	tsarc_snapshot_ids_free(ids, n);
	return rc;
}

static int push_any(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	tsarc_strv *v = payload;

	(void)size;
	(void)mtime;
	return tsarc_strv_push(&v->v, &v->n, &v->cap, 16, name);
}

static int has(const tsarc_strv *sorted, const char *name)
{
	return sorted->n && bsearch(&name, sorted->v, sorted->n, sizeof(*sorted->v), cmp_str);
}

int tsarc_forgotten_orphans(tsarc_repo *repo, char **gone, size_t ngone, char ***names,
	size_t *count)
{
	const tsarc_strv going = {gone, ngone, ngone};
	const size_t suffix = sizeof(TSARC_FORGOTTEN_SUFFIX) - 1;
	tsarc_strv listed = {NULL, 0, 0}, hidden = {NULL, 0, 0}, out = {NULL, 0, 0};
	char id[TSARC_ID_HEX_LEN + 1];
	size_t i, len;
	int rc;

	*names = NULL;
	*count = 0;
	if (!repo->retention.mode)
		return 0;
	if ((rc = tsarc_store_list(repo->store, TSARC_OBJ_SNAPSHOT, push_any, &listed)) ||
		(rc = hidden_ids(repo, &hidden)))
		goto done;
	if (listed.n)
		qsort(listed.v, listed.n, sizeof(*listed.v), cmp_str);
	if (ngone)
		qsort(gone, ngone, sizeof(*gone), cmp_str);
	for (i = 0; i < listed.n; i++) {
		len = strlen(listed.v[i]);
		if (len != TSARC_ID_HEX_LEN + suffix ||
			strcmp(listed.v[i] + TSARC_ID_HEX_LEN, TSARC_FORGOTTEN_SUFFIX))
			continue;
		memcpy(id, listed.v[i], TSARC_ID_HEX_LEN);
		id[TSARC_ID_HEX_LEN] = '\0';
		if (!tsarc_snapshot_name_is_id(id) || has(&listed, id) ||
			(has(&hidden, id) && !has(&going, id)))
			continue;
		if ((rc = tsarc_strv_push(&out.v, &out.n, &out.cap, 16, listed.v[i])))
			goto done;
	}
	*names = out.v;
	*count = out.n;
	out.v = NULL;
	out.n = 0;
done:
	tsarc_store_names_free(listed.v, listed.n);
	tsarc_store_names_free(hidden.v, hidden.n);
	tsarc_store_names_free(out.v, out.n);
	return rc;
}
