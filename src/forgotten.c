#include "forgotten.h"
#include "grow.h"
#include "objlock.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A mark is a short JSON document; anything larger is not one. */
#define MARK_MAX 4096
/* The longest mark name or AAD: a prefix or suffix and a name. */
#define MARK_NAME_MAX (TSARC_ID_HEX_LEN + 32)

/*
 * What a mark is for one kind of object: it sits beside what it marks,
 * under its name and `suffix`; it is sealed with AAD `aad` and the name,
 * so that it opens only under that very name (another object's mark, or
 * a mark of the other kind, copied there opens nothing), and says the
 * name again in `field`.
 */
typedef struct mark_kind {
	tsarc_objtype type;
	const char *suffix;
	const char *aad;
	const char *field;
	const char *what; /* for messages */
} mark_kind;

static const mark_kind SNAPSHOT_MARK = {TSARC_OBJ_SNAPSHOT, TSARC_FORGOTTEN_SUFFIX,
	"tsarc-forgotten-v1 ", "forgotten", "a forgotten snapshot"};
static const mark_kind KEY_MARK = {TSARC_OBJ_KEY, TSARC_KEY_REMOVED_SUFFIX,
	"tsarc-key-removed-v1 ", "removed", "a removed key file"};

static const mark_kind *kind_of(tsarc_objtype type)
{
	return type == TSARC_OBJ_SNAPSHOT ? &SNAPSHOT_MARK
	       : type == TSARC_OBJ_KEY    ? &KEY_MARK
					  : NULL;
}

/* Snapshot ids and key file names alike: the lower-case hex of a hash. */
static int name_is_id(const char *name)
{
	return tsarc_snapshot_name_is_id(name);
}

static void mark_name(char *out, size_t outsz, const mark_kind *k, const char *id)
{
	snprintf(out, outsz, "%s%s", id, k->suffix);
}

static void mark_aad(char *out, size_t outsz, const mark_kind *k, const char *id)
{
	snprintf(out, outsz, "%s%s", k->aad, id);
}

static int put_mark(tsarc_repo *repo, const mark_kind *k, const char *id, int64_t now)
{
	char name[MARK_NAME_MAX], aad[MARK_NAME_MAX], when[40];
	tsarc_buf sealed = TSARC_BUF_INIT;
	cJSON *doc = cJSON_CreateObject();
	char *text = NULL;
	int rc;

	tsarc_time_format(now, 0, when, sizeof(when));
	if (!doc || !cJSON_AddStringToObject(doc, k->field, id) ||
		!cJSON_AddStringToObject(doc, "time", when) ||
		!(text = cJSON_PrintUnformatted(doc))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	mark_name(name, sizeof(name), k, id);
	mark_aad(aad, sizeof(aad), k, id);
	if (!(rc = tsarc_repo_seal_object(repo, aad, text, strlen(text), &sealed)))
		rc = tsarc_store_put(repo->store, k->type, name, sealed.ptr, sealed.size, 0);
	if (rc)
		tsarc_error_prefix("marking %.12s as %s", id, k->what);
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
	if ((rc = tsarc_store_purge_many(repo->store, TSARC_OBJ_SNAPSHOT, names, 1,
		     tsarc_purge_tally_cb, &t))) {
		tsarc_error_prefix("forgetting snapshot %.12s", id);
		return rc;
	}
	/* Hidden first, marked after (forgotten.h): cut off in between, it is
	 * reported as unmarked, never a mark left for another's delete. */
	if (t.kept && repo->retention.mode && (rc = put_mark(repo, &SNAPSHOT_MARK, id, now)))
		return rc;
	*kept_until = t.kept ? t.kept_until : 0;
	return 0;
}

static int mark_check(tsarc_repo *repo, const mark_kind *k, const char *id)
{
	char name[MARK_NAME_MAX], aad[MARK_NAME_MAX];
	tsarc_buf sealed = TSARC_BUF_INIT, plain = TSARC_BUF_INIT;
	cJSON *doc = NULL;
	const cJSON *named;
	int rc;

	mark_name(name, sizeof(name), k, id);
	mark_aad(aad, sizeof(aad), k, id);
	tsarc_buf_init(&sealed, MARK_MAX);
	rc = tsarc_store_get(repo->store, k->type, name, 0, 0, &sealed);
	if (rc == TSARC_ETOOLARGE)
		rc = TSARC_ECORRUPT;
	if (!rc && !(rc = tsarc_repo_open_object(repo, aad, sealed.ptr, sealed.size, &plain))) {
		doc = cJSON_ParseWithLength((const char *)plain.ptr, plain.size);
		named = cJSON_GetObjectItemCaseSensitive(doc, k->field);
		if (!cJSON_IsString(named) || strcmp(named->valuestring, id))
			rc = TSARC_ECORRUPT;
	}
	if (rc == TSARC_ECORRUPT)
		tsarc_error_set(rc, "%s/%s is not tsarc's mark of %s", tsarc_objtype_dir(k->type),
			name, k->what);
	cJSON_Delete(doc);
	tsarc_buf_dispose(&sealed);
	tsarc_buf_dispose(&plain);
	return rc;
}

int tsarc_forgotten_check(tsarc_repo *repo, const char *id)
{
	return mark_check(repo, &SNAPSHOT_MARK, id);
}

static int push_id(const char *name, uint64_t size, int64_t mtime, void *payload)
{
	tsarc_strv *v = payload;

	(void)size;
	(void)mtime;
	if (!name_is_id(name))
		return 0;
	return tsarc_strv_push(&v->v, &v->n, &v->cap, 16, name);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The hidden objects of kind `k` that a mark may account for, sorted. */
static int hidden_ids(tsarc_repo *repo, const mark_kind *k, tsarc_strv *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!repo->retention.mode)
		return 0;
	if ((rc = tsarc_store_list_hidden(repo->store, k->type, push_id, out))) {
		tsarc_error_prefix("listing what is hidden in %s/", tsarc_objtype_dir(k->type));
		return rc;
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_str);
	return 0;
}

static int unmarked(tsarc_repo *repo, const mark_kind *k, char ***ids, size_t *count)
{
	tsarc_strv hidden, out = {NULL, 0, 0};
	size_t i;
	int rc, marked;

	*ids = NULL;
	*count = 0;
	if ((rc = hidden_ids(repo, k, &hidden)))
		return rc;
	for (i = 0; !rc && i < hidden.n; i++) {
		marked = mark_check(repo, k, hidden.v[i]);
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

int tsarc_forgotten_unmarked(tsarc_repo *repo, char ***ids, size_t *count)
{
	return unmarked(repo, &SNAPSHOT_MARK, ids, count);
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

/* Whether `name` is a mark of kind `k`; its object's name into `id`. */
static int mark_of(const mark_kind *k, const char *name, char id[TSARC_ID_HEX_LEN + 1])
{
	size_t len = strlen(name), suffix = strlen(k->suffix);

	if (len != TSARC_ID_HEX_LEN + suffix || strcmp(name + TSARC_ID_HEX_LEN, k->suffix))
		return 0;
	memcpy(id, name, TSARC_ID_HEX_LEN);
	id[TSARC_ID_HEX_LEN] = '\0';
	return name_is_id(id);
}

int tsarc_mark_orphans(tsarc_repo *repo, tsarc_objtype type, char **gone, size_t ngone,
	char ***names, size_t *count)
{
	const mark_kind *k = kind_of(type);
	const tsarc_strv going = {gone, ngone, ngone};
	tsarc_strv listed = {NULL, 0, 0}, hidden = {NULL, 0, 0}, out = {NULL, 0, 0};
	char id[TSARC_ID_HEX_LEN + 1];
	size_t i;
	int rc;

	*names = NULL;
	*count = 0;
	if (!k || !repo->retention.mode)
		return 0;
	if ((rc = tsarc_store_list(repo->store, type, push_any, &listed)) ||
		(rc = hidden_ids(repo, k, &hidden)))
		goto done;
	if (listed.n)
		qsort(listed.v, listed.n, sizeof(*listed.v), cmp_str);
	if (ngone)
		qsort(gone, ngone, sizeof(*gone), cmp_str);
	/* A mark whose object is listed is void too (forgotten.h): its
	 * object was brought back; left, it would vouch for the next plain
	 * DELETE of that object. */
	for (i = 0; i < listed.n; i++) {
		if (!mark_of(k, listed.v[i], id) || (has(&hidden, id) && !has(&going, id)))
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

int tsarc_forgotten_orphans(tsarc_repo *repo, char **gone, size_t ngone, char ***names,
	size_t *count)
{
	return tsarc_mark_orphans(repo, TSARC_OBJ_SNAPSHOT, gone, ngone, names, count);
}

int tsarc_mark_check(tsarc_repo *repo, tsarc_objtype type, const char *name)
{
	const mark_kind *k = kind_of(type);

	if (!k)
		return tsarc_error_set(TSARC_EINVAL, "%s/ holds no marks",
			tsarc_objtype_dir(type));
	return mark_check(repo, k, name);
}

/* ---- key files ---- */

int tsarc_key_mark_removed(tsarc_repo *repo, const char *name, int64_t now)
{
	if (!repo->retention.mode)
		return 0;
	if (!name_is_id(name))
		return tsarc_error_set(TSARC_EINVAL, "'%s' is not a key file's name", name);
	return put_mark(repo, &KEY_MARK, name, now);
}

int tsarc_keys_unmarked(tsarc_repo *repo, char ***names, size_t *count)
{
	return unmarked(repo, &KEY_MARK, names, count);
}

int tsarc_keys_unmarked_error(const char *first, size_t count, const char *done)
{
	char more[48] = "", advice[TSARC_KEY_ADVICE_MAX];

	if (count > 1)
		snprintf(more, sizeof(more), " (and %zu more)", count - 1);
	tsarc_key_unmarked_advice(advice, sizeof(advice), first);
	return tsarc_error_set(TSARC_ECORRUPT,
		"key file %.10s%s is hidden behind a delete marker that tsarc's key remove did "
		"not write (an attack with the repository's credentials, or a delete outside "
		"tsarc): %s; %s",
		first, more, done, advice);
}

void tsarc_key_unmarked_advice(char *out, size_t outsz, const char *name)
{
	snprintf(out, outsz, "its password still opens the repository with --as-of "
		"a time before it was hidden; to keep it, delete that delete marker in the bucket "
		"(or give the password a new key file with 'tsarc key add', then confirm); to "
		"confirm the removal, run 'tsarc key remove %.10s'", name);
}
