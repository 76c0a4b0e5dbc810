/*
 * The s3files restore (action replace-bucket): the bucket's prefix ends
 * up equal to the stream, with the safety rules of the tree restore.
 *
 * - Where: resolved before the first write of the whole restore, from the
 *   target's configuration and the target's own Secret as it is then
 *   (kept in the step); the snapshot's copy of the Secret only when the
 *   target has none and the restore is in place (never in a migration:
 *   it names the source's bucket).
 * - The whole stream is read, verified (every chunk, the whole-stream
 *   SHA-256) and checked entry by entry (stream.h) before the first PUT:
 *   a damaged or hostile stream leaves the bucket untouched.
 * - Then every object is PUT (body, content type, user metadata); only
 *   after every PUT succeeded are the objects the backup does not have
 *   deleted. Interrupted anywhere, no object of the old state is gone:
 *   the bucket holds the old objects, some of them already overwritten by
 *   their new versions, or the new state.
 * - The prefix is listed once by the restore itself, before the first
 *   write: that listing is looked through for another tsarc repository
 *   (refused) and is the list the extras are taken from after the PUTs.
 *   A listing of a million objects is a thousand requests; and an object
 *   made under the prefix after that look (a repository among them) is
 *   not one the restore looked at, so it is not deleted either.
 */
#include "s3sys.h"
#include "stream.h"
#include "grow.h"
#include "parallel.h"
#include "repo.h"
#include "tree_restore.h"
#include "tsarc/errors.h"

#include <archive.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int nomem(void)
{
	return tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

/* ---- before the first write: where ---- */

/* The restore's own S3 repository under the target's bucket and prefix
 * (the bucket 3scale keeps its files in, the repository beside them):
 * the restore would write the repository's objects back as the backup
 * listed them and delete those written since, every newer snapshot with
 * them. The same place whatever the endpoint's spelling, or another name
 * of the same server (repo.c, tsarc_s3sys_repo_under: by the repository's
 * config object there); a target that cannot be told apart from it (its
 * config cannot be read) is not written either. */
static int holds_repository(tsarc_restore_ctx *r, const tsarc_s3sys_where *w, const char *comp)
{
	char *rel = NULL;
	int rc = tsarc_s3sys_repo_under(w, NULL, r->repo, &rel);

	free(rel);
	if (rc < 0) {
		tsarc_error_prefix("component '%s': %s: before the first write", comp, w->url);
		return rc;
	}
	if (rc == 0)
		return 0;
	return tsarc_error_set(TSARC_EUNSAFE, "component '%s': %s holds the repository %s: the "
		"restore replaces every object under it, the repository's too (the snapshots "
		"written since the backup would be lost); restore into another bucket or prefix",
		comp, w->url, tsarc_store_describe(r->repo->store));
}

/* The objects under the target's prefix before the first write, as the
 * look for another repository listed them (holds_other_repository): the
 * extras are taken from them after the PUTs (delete_extras). */
static int existing_cb(const tsarc__s3_list_entry *e, void *ud)
{
	tsarc_strv *x = ud;

	return tsarc_strv_push(&x->v, &x->n, &x->cap, 256, e->key);
}

static int holds_other_repository(const tsarc_s3sys_where *w, const tsarc_step *s,
	tsarc_strv *listed);

int tsarc_s3sys_resolve(tsarc_restore_ctx *r, tsarc_step *s, cJSON *ep)
{
	const char *secret = tsarc_spec_str(s->spec, "secret");
	tsarc_s3sys_where w;
	cJSON *doc = NULL;
	char text[1500], id[1500], from[600];
	int rc = 0, from_snapshot = 0;

	if (secret && (rc = r->deftr->get(r->deftr, "secret", secret, &doc))) {
		if (rc != TSARC_ENOTFOUND) {
			tsarc_error_prefix("component '%s': reading the target's Secret %s",
				s->component, secret);
			return rc;
		}
		tsarc_error_clear();
		doc = NULL;
		/* In place the snapshot's copy describes this same deployment;
		 * otherwise it may name another one's bucket, never used. */
		if (r->in_place && (rc = tsarc_snapshot_secret_doc(r, secret, &doc)) == 0) {
			from_snapshot = 1;
		} else if (rc && rc != TSARC_ENOTFOUND) {
			tsarc_error_prefix("component '%s'", s->component);
			return rc;
		} else if (!tsarc_spec_str(s->spec, "bucket")) {
			return tsarc_error_set(TSARC_ECONFIG, "component '%s': the target has no "
				"Secret %s to say which bucket, and the configuration names no "
				"\"bucket\". The snapshot's copy of the Secret is not used for it (%s). "
				"Create the Secret in the target first, or give \"bucket\" (and "
				"\"endpoint\") in the configuration", s->component, secret,
				r->migration ? "this is a migration: it names the source's bucket" :
				r->in_place ? "the snapshot holds none" : "the snapshot does not record that "
				"it was taken from this deployment");
		}
		tsarc_error_clear();
		rc = 0;
	}
	if ((rc = tsarc_s3sys_where_resolve(s->spec, doc, s->component, &w))) {
		tsarc_secret_doc_free(doc);
		return rc;
	}
	if ((rc = holds_repository(r, &w, s->component))) {
		tsarc_s3sys_where_free(&w);
		tsarc_secret_doc_free(doc);
		return rc;
	}
	/* "In place" and the copy are the snapshot's word: a bucket only the
	 * copy names is never written (and emptied of what the backup does
	 * not hold) with this host's own credentials, which may reach every
	 * bucket of the account; the copy's own keys may write it. */
	if (from_snapshot && !tsarc_spec_str(s->spec, "bucket") && !w.has_keys) {
		rc = tsarc_error_set(TSARC_EUNSAFE, "component '%s': the target has no Secret %s, so "
			"the bucket (%s) would come from the snapshot's copy, which gives no keys: this "
			"host's own credentials would replace its content. Give \"bucket\" in the "
			"configuration, or create the Secret in the target first; nothing was written",
			s->component, secret, w.bucket);
		tsarc_s3sys_where_free(&w);
		tsarc_secret_doc_free(doc);
		return rc;
	}
	if ((rc = holds_other_repository(&w, s, NULL))) {
		tsarc_s3sys_where_free(&w);
		tsarc_secret_doc_free(doc);
		return rc;
	}
	tsarc_s3sys_where_text(&w, text, sizeof(text));
	tsarc_s3sys_where_identity(&w, id, sizeof(id));
	if (from_snapshot)
		snprintf(from, sizeof(from), "the snapshot's Secret %s: the target has none, and "
			"the restore is in place (the snapshot was taken from this deployment)", secret);
	else if (doc)
		snprintf(from, sizeof(from), "the target's Secret %s as it was before the restore"
			"%s", secret, tsarc_spec_str(s->spec, "bucket") || tsarc_spec_str(s->spec,
			"endpoint") ? ", the configuration's bucket/endpoint over it" : "");
	else if (secret)
		snprintf(from, sizeof(from), "the configuration: the target has no Secret %s",
			secret);
	else
		snprintf(from, sizeof(from), "the configuration");
	if (!cJSON_AddStringToObject(ep, "s3_endpoint", w.endpoint) ||
		!cJSON_AddStringToObject(ep, "bucket", w.bucket) ||
		!cJSON_AddStringToObject(ep, "prefix", w.prefix) ||
		!cJSON_AddStringToObject(ep, "credentials", w.creds_from) ||
		!cJSON_AddStringToObject(ep, "from", from) ||
		!cJSON_AddStringToObject(ep, "identity", id) ||
		!cJSON_AddStringToObject(ep, "text", text))
		rc = nomem();
	tsarc_s3sys_where_free(&w);
	tsarc_secret_doc_free(s->secret_doc);
	s->secret_doc = doc;
	return rc;
}

cJSON *tsarc_s3sys_recorded_source(const tsarc_step *s)
{
	const cJSON *m = s->st ? s->st->meta : NULL;
	const char *e = tsarc_spec_str(m, "s3_endpoint"), *b = tsarc_spec_str(m, "s3_bucket");
	const cJSON *pv = cJSON_GetObjectItemCaseSensitive(m, "s3_prefix");
	const char *p = cJSON_IsString(pv) ? pv->valuestring : NULL;
	char text[1500], id[1500];
	cJSON *o;

	if (!e || !b || !p || !(o = cJSON_CreateObject()))
		return NULL;
	snprintf(text, sizeof(text), "s3://%s/%s at %s", b, p, e);
	snprintf(id, sizeof(id), "%s %s/%s", e, b, p);
	cJSON_AddStringToObject(o, "s3_endpoint", e);
	cJSON_AddStringToObject(o, "bucket", b);
	cJSON_AddStringToObject(o, "prefix", p);
	cJSON_AddStringToObject(o, "identity", id);
	cJSON_AddStringToObject(o, "text", text);
	return o;
}

void tsarc_s3sys_describe(tsarc_restore_ctx *r, const tsarc_step *s, const char *where,
	cJSON *plan)
{
	const char *creds = tsarc_spec_str(s->endpoint, "credentials");

	(void)r;
	cJSON_AddStringToObject(plan, "target", where);
	cJSON_AddStringToObject(plan, "replaces", "every object under the prefix (objects not in "
		"the backup are deleted, only after every object was written)");
	cJSON_AddStringToObject(plan, "s3_restore", "the whole stream read and checked first; "
		"then each object PUT with its content type and user metadata; then the extra "
		"objects deleted");
	if (creds)
		cJSON_AddStringToObject(plan, "s3_credentials", creds);
}

/* ---- what the backup left out ---- */

/* At most this many prefixes in a stream's "excluded" (dump.c writes one). */
#define KEPT_MAX 16

/* The prefixes (relative to the component's) of the repository the backup
 * left out of the bucket (the stream's metadata "excluded", dump.c): the
 * backup never had those objects, so a restore keeps the repository
 * objects it finds there (tsarc_s3sys_repo_object) rather than delete them
 * as extras. Another repository in the target's bucket at that place (one
 * restored from a copy of the backup's, say) survives the restore.
 * Untrusted (anyone who can write the repository writes the metadata):
 * each "" or a key's start ending in '/', at most KEPT_MAX of them; else
 * TSARC_EUNSAFE. kept[] points into `meta`. */
static int kept_prefixes(const tsarc_step *s, const char *kept[KEPT_MAX], size_t *n)
{
	const cJSON *ex = s->st ? cJSON_GetObjectItemCaseSensitive(s->st->meta, "excluded") : NULL;
	const cJSON *e;

	*n = 0;
	if (!ex)
		return 0;
	if (!cJSON_IsArray(ex) || cJSON_GetArraySize(ex) > KEPT_MAX)
		goto bad;
	cJSON_ArrayForEach(e, ex) {
		const cJSON *pv = cJSON_GetObjectItemCaseSensitive(e, "path");
		const char *p = cJSON_IsString(pv) ? pv->valuestring : NULL;
		size_t len = p ? strlen(p) : 0;
		if (!p || len > TSARC__S3_KEY_MAX || (len && (p[len - 1] != '/' ||
			tsarc_s3sys_key_check(p))))
			goto bad;
		kept[(*n)++] = p;
	}
	return 0;
bad:
	return tsarc_error_set(TSARC_EUNSAFE, "stream %s: metadata 'excluded' is not a list of at "
		"most %d {\"path\": \"\" or \"PREFIX/\"}", s->st->name, KEPT_MAX);
}

/* Another tsarc repository under the target's prefix than where the
 * backup left its own out (kept_prefixes, which the restore keeps): the
 * restore would delete its objects as extras, or overwrite them with the
 * stream's, every snapshot in it lost. Refused before the first write,
 * naming it, as the tree restore refuses a folder holding one (and as
 * holds_repository the restore's own). Known by a key file that verifies
 * beside its config (tsarc_s3sys_repo_find), not by names. The plan calls
 * it (`listed` NULL), then the restore before its first write, keeping
 * every object of that one listing in `listed` for the extras. */
static int holds_other_repository(const tsarc_s3sys_where *w, const tsarc_step *s,
	tsarc_strv *listed)
{
	const char *kept[KEPT_MAX];
	char *found = NULL;
	size_t n;
	int rc;

	if ((rc = kept_prefixes(s, kept, &n)))
		return rc;
	if ((rc = tsarc_s3sys_repo_find(w, NULL, kept, n, listed ? existing_cb : NULL, listed,
		&found)) <= 0) {
		if (rc)
			tsarc_error_prefix("component '%s': before the first write", s->component);
		return rc;
	}
	rc = tsarc_error_set(TSARC_EUNSAFE, "component '%s': s3://%s/%s%s holds a tsarc "
		"repository (its config and a key file): the restore replaces every object under "
		"s3://%s/%s and would delete that repository's objects as extras or overwrite "
		"them, every snapshot in it lost; move the repository elsewhere, or restore into "
		"another bucket or prefix", s->component, w->bucket, w->prefix, found, w->bucket,
		w->prefix);
	free(found);
	return rc;
}

int tsarc_s3sys_admit(tsarc_restore_ctx *r, tsarc_step *s)
{
	const char *kept[KEPT_MAX];
	size_t n;

	(void)r;
	return kept_prefixes(s, kept, &n);
}

/* ---- reading the stream ---- */

/* Objects are PUT in batches (64 objects or 64 MiB), 8 in flight: each
 * PUT waits tens of milliseconds for S3's answer. The stream is read on
 * between batches, so memory holds one batch. */
#define BATCH_OBJECTS 64
#define BATCH_BYTES (64ull << 20)
#define PUTTERS 8

/* An object read from the stream, waiting for its PUT. */
typedef struct pending {
	tsarc_s3sys_attrs a;
	tsarc_buf body;
} pending;

typedef struct pass {
	tsarc__s3_client *client; /* NULL: the check pass, nothing is sent */
	const tsarc_s3sys_where *w;
	pending *batch;           /* BATCH_OBJECTS of them (the put pass) */
	size_t nbatch;
	uint64_t batch_bytes;
	char **keys;              /* the stream's keys, relative, in order */
	/* The stream's keys come in key order (the reader checks it); a
	 * stream converted from a tree's tar comes in the tree's, and the
	 * check pass keeps its keys too, to find one given twice. */
	int key_order;
	const char *kept[KEPT_MAX]; /* the backup's repository prefixes (kept_prefixes) */
	size_t nkept;
	size_t nkeys, cap;
	size_t n;                 /* objects read (check) or written (put) */
	unsigned long long bytes;
	/* PUTs S3 confirmed, counted as each ends: after a failure in a
	 * batch, the others of it (8 in flight) may have been written. */
	atomic_size_t written;
} pass;

static void pending_clear(pending *q)
{
	tsarc_s3sys_attrs_dispose(&q->a);
	tsarc_buf_dispose(&q->body);
}

/* The object's key in the target: the prefix, then the stream's key. The
 * check pass calls this too, so a key S3 cannot keep under the target's
 * prefix is refused before the first write, not after the PUTs before it. */
static int target_key(const pass *p, const char *key, char full[TSARC__S3_KEY_MAX + 1])
{
	if ((size_t)snprintf(full, TSARC__S3_KEY_MAX + 1, "%s%s", p->w->prefix, key) >
		TSARC__S3_KEY_MAX)
		return tsarc_error_set(TSARC_EINVAL, "key '%.200s' under prefix '%s' is longer than "
			"S3 allows (%d bytes)", key, p->w->prefix, TSARC__S3_KEY_MAX);
	return 0;
}

static int put_one(size_t index, void *ctx, void *worker)
{
	pass *p = ctx;
	const pending *q = &p->batch[index];
	tsarc__s3_kv h[TSARC_S3SYS_META_MAX + 1];
	char names[TSARC_S3SYS_META_MAX][160], full[TSARC__S3_KEY_MAX + 1];
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	size_t i, nh = 0;
	int rc;

	(void)worker;
	if ((rc = target_key(p, q->a.key, full)))
		return rc;
	if (q->a.type) {
		h[nh].name = "content-type";
		h[nh++].value = q->a.type;
	}
	for (i = 0; i < q->a.nmeta; i++) {
		snprintf(names[i], sizeof(names[i]), "x-amz-meta-%s", q->a.names[i]);
		h[nh].name = names[i];
		h[nh++].value = q->a.values[i];
	}
	rq.method = "PUT";
	rq.key = full;
	rq.headers = h;
	rq.nheaders = nh;
	rq.body = q->body.ptr;
	rq.body_len = q->body.size;
	rq.has_body = 1;
	if ((rc = tsarc__s3_perform(p->client, &rq, &resp)) == 0 && resp.status != 200)
		rc = tsarc__s3_status_error(p->client, &rq, &resp);
	if (rc)
		tsarc_error_prefix("s3://%s/%s", p->w->bucket, full);
	else
		atomic_fetch_add(&p->written, 1);
	return rc;
}

/* The batch's PUTs; the objects before it are all written. */
static int flush(pass *p)
{
	size_t i;
	int rc = p->nbatch ? tsarc_parallel_for(p->nbatch, p->nbatch < PUTTERS ?
		(unsigned)p->nbatch : PUTTERS, put_one, p, NULL, NULL) : 0;

	if (!rc)
		p->n += p->nbatch;
	for (i = 0; i < p->nbatch; i++)
		pending_clear(&p->batch[i]);
	p->nbatch = 0;
	p->batch_bytes = 0;
	return rc;
}

/* A copy of the object's fields into the batch's next slot. */
static int pend(pass *p, const tsarc_s3sys_obj *o, pending **out)
{
	pending *q = &p->batch[p->nbatch];
	int rc;

	if ((rc = tsarc_strv_push(&p->keys, &p->nkeys, &p->cap, 256, o->key)))
		return rc;
	memset(q, 0, sizeof(*q));
	tsarc_buf_init(&q->body, TSARC_S3SYS_OBJECT_MAX);
	p->nbatch++; /* from here on cleared with the batch */
	if ((rc = tsarc_s3sys_attrs_copy(&q->a, o)))
		return rc;
	*out = q;
	return 0;
}

static int entry_cb(struct archive *a, const tsarc_s3sys_obj *o, void *ud)
{
	pass *p = ud;
	pending *q = NULL;
	char buf[65536], full[TSARC__S3_KEY_MAX + 1];
	int64_t n;
	size_t k;
	int rc;

	if ((rc = target_key(p, o->key, full)))
		return rc;
	/* The restore keeps the target's repository objects there, and does
	 * not overwrite them either: a backup that left its repository out
	 * has none of them. */
	for (k = 0; k < p->nkept; k++)
		if (tsarc_s3sys_repo_object(p->kept[k], o->key))
			return tsarc_error_set(TSARC_EUNSAFE, "object '%.200s' is a repository's "
				"object where the stream's metadata says the backup left its "
				"repository out ('excluded'): the stream contradicts itself", o->key);
	if (o->size > TSARC_S3SYS_OBJECT_MAX)
		return tsarc_error_set(TSARC_EUNSUPPORTED, "object '%.200s' of %llu bytes: tsarc "
			"copies objects of at most %llu bytes", o->key, (unsigned long long)o->size,
			TSARC_S3SYS_OBJECT_MAX);
	if (p->client && (rc = pend(p, o, &q)))
		return rc;
	if (!p->client && !p->key_order &&
		(rc = tsarc_strv_push(&p->keys, &p->nkeys, &p->cap, 256, o->key)))
		return rc;
	while ((n = tsarc_s3sys_read_body(a, buf, sizeof(buf))) > 0)
		if (q && (rc = tsarc_buf_append(&q->body, buf, (size_t)n)))
			return rc;
	if (n < 0)
		return (int)n;
	p->bytes += o->size;
	if (!q) {
		p->n++;
		return 0;
	}
	p->batch_bytes += o->size;
	return p->nbatch == BATCH_OBJECTS || p->batch_bytes >= BATCH_BYTES ? flush(p) : 0;
}

static int read_pass(int fd, void *ud)
{
	pass *p = ud;
	struct archive *a = archive_read_new();
	int rc;

	if (!a)
		return nomem();
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK)
		rc = tsarc_error_set(TSARC_EIO, "s3 object stream: %s", archive_error_string(a));
	else
		rc = tsarc_s3sys_read_in(a, p->key_order, entry_cb, ud);
	archive_read_free(a);
	if (!rc && p->client)
		rc = flush(p);
	if (!rc)
		rc = tsarc_stream_read_to_end(fd);
	return rc;
}

static void pass_dispose(pass *p)
{
	size_t i;

	for (i = 0; i < p->nkeys; i++)
		free(p->keys[i]);
	free(p->keys);
	for (i = 0; p->batch && i < p->nbatch; i++)
		pending_clear(&p->batch[i]);
	free(p->batch);
}

/* ---- after every PUT: the extras ---- */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Puts the pass's keys in byte order; a key given twice is an error
 * (what the reader checks of a stream in key order). */
static int sort_keys(pass *p, const char *stream)
{
	size_t i;

	if (p->nkeys > 1)
		qsort(p->keys, p->nkeys, sizeof(*p->keys), str_cmp);
	for (i = 1; i < p->nkeys; i++)
		if (!strcmp(p->keys[i - 1], p->keys[i]))
			return tsarc_error_set(TSARC_EINVAL, "stream %s: key '%.200s' twice (two "
				"entries of the tree are one object)", stream, p->keys[i]);
	return 0;
}

/* Deletes the keys under the prefix, as listed before the first write
 * (`x`), that the stream does not have (the prefix's own folder object
 * stays: a backup leaves it out; so do the repository objects where the
 * backup left its repository out). */
static int delete_extras(const pass *p, tsarc__s3_client *c, tsarc_strv *x,
	unsigned long long *deleted)
{
	const char **extra = NULL;
	size_t i, j = 0, ne = 0, plen = strlen(p->w->prefix);
	int rc = 0;

	*deleted = 0;
	if (x->n > 1)
		qsort(x->v, x->n, sizeof(*x->v), str_cmp);
	if (x->n && !(extra = malloc(x->n * sizeof(*extra)))) {
		rc = nomem();
		goto done;
	}
	/* Both in byte order: the stream's keys are strictly ascending. */
	for (i = 0; i < x->n; i++) {
		const char *rel = x->v[i] + plen;
		int cmp = 1;
		size_t k;
		if (strncmp(x->v[i], p->w->prefix, plen) || !*rel)
			continue;
		for (k = 0; k < p->nkept && !tsarc_s3sys_repo_object(p->kept[k], rel); k++)
			;
		if (k < p->nkept)
			continue; /* a repository's object where the backup left one out */
		while (j < p->nkeys && (cmp = strcmp(p->keys[j], rel)) < 0)
			j++;
		if (j >= p->nkeys || cmp != 0)
			extra[ne++] = x->v[i];
	}
	if (ne && !(rc = tsarc__s3_delete_keys(c, (const char *const *)extra, ne)))
		*deleted = ne;
done:
	free(extra);
	return rc;
}

int tsarc_s3sys_restore(tsarc_restore_ctx *r, tsarc_step *s)
{
	tsarc_s3sys_where w;
	tsarc__s3_client *c = NULL;
	pass check, put;
	tsarc_strv listed = {NULL, 0, 0};
	unsigned long long deleted = 0;
	char text[1500];
	int rc;

	memset(&check, 0, sizeof(check));
	memset(&put, 0, sizeof(put));
	atomic_init(&put.written, 0);
	/* What was resolved before the first write: the target's Secret
	 * then, the configuration now (the same one). */
	if ((rc = tsarc_s3sys_where_resolve(s->spec, s->secret_doc, s->component, &w)))
		return rc;
	if ((rc = holds_repository(r, &w, s->component))) {
		tsarc_s3sys_where_free(&w);
		return rc;
	}
	if ((rc = kept_prefixes(s, put.kept, &put.nkept)))
		goto done;
	memcpy(check.kept, put.kept, sizeof(put.kept));
	check.key_order = put.key_order = !s->st->convert;
	check.nkept = put.nkept;
	if ((rc = holds_other_repository(&w, s, &listed)))
		goto done;
	tsarc_s3sys_where_text(&w, text, sizeof(text));
	check.w = put.w = &w;
	if (!(put.batch = calloc(BATCH_OBJECTS, sizeof(*put.batch)))) {
		rc = nomem();
		goto done;
	}
	tsarc_restore_progress(r, "%s: reading the whole stream before the first write",
		s->component);
	if ((rc = tsarc_stream_read_verified(r->repo, s->st, r->o->inflight, read_pass, &check)) ||
		(!check.key_order && (rc = sort_keys(&check, s->st->name)))) {
		tsarc_error_prefix("the stream, read whole before the first write (the bucket was "
			"not touched)");
		goto done;
	}
	if ((rc = tsarc_s3sys_open(&w, r->o->inflight, &c)))
		goto done;
	put.client = c;
	tsarc_restore_progress(r, "%s: writing %zu objects to %s", s->component, check.n, text);
	if ((rc = tsarc_stream_read_verified(r->repo, s->st, r->o->inflight, read_pass, &put))) {
		tsarc_error_prefix("writing objects (%zu of %zu written; no object was deleted)",
			atomic_load(&put.written), check.n);
		goto done;
	}
	if (!put.key_order && (rc = sort_keys(&put, s->st->name)))
		goto done;
	if ((rc = delete_extras(&put, c, &listed, &deleted))) {
		tsarc_error_prefix("deleting the objects the backup does not have (every object "
			"of the backup was written)");
		goto done;
	}
	tsarc_step_note(s, "%zu objects (%llu bytes) written to %s, %llu objects the backup "
		"does not have deleted", put.n, put.bytes, text, deleted);
done:
	tsarc_store_names_free(listed.v, listed.n);
	pass_dispose(&check);
	pass_dispose(&put);
	tsarc__s3_client_free(c);
	tsarc_s3sys_where_free(&w);
	return rc;
}
