#define _GNU_SOURCE /* strcasecmp, strncasecmp */
/*
 * The s3files backup: every object under the bucket's prefix, in key
 * order, as one stream (stream.h) that the chunker deduplicates like any
 * other. Each object is read whole by one GET, so its body, content type
 * and metadata are of one version even while the application writes; an
 * object deleted between the listing and its GET is left out and
 * counted. Keys are recorded relative to the prefix, so a restore may put
 * them under another bucket or prefix.
 */
#include "s3sys.h"
#include "stream.h"
#include "fileio.h"
#include "parallel.h"
#include "log.h"
#include "repo.h"
#include "tsarc/errors.h"

#include <archive.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct listed {
	char *key; /* relative to the prefix */
	uint64_t size; /* as listed: what a batch holds in memory, about */
	int64_t mtime;
} listed;

typedef struct dump_ctx {
	tsarc_s3sys_where w;
	tsarc__s3_client *client;
	listed *keys;
	size_t n, cap;
	/* The backup's own repository under the prefix (repo.c): its prefix
	 * below ours ("" or "tsarc/"), whose objects are left out; NULL:
	 * it is elsewhere. */
	char *repo_rel;
	unsigned long long repo_objects;
	/* What the writer did, for the stream's metadata. */
	unsigned long long objects, bytes, vanished, markers;
	int done;
} dump_ctx;

static int list_cb(const tsarc__s3_list_entry *e, void *ud)
{
	dump_ctx *d = ud;
	const char *rel = e->key + strlen(d->w.prefix);
	listed *grown;

	if (strncmp(e->key, d->w.prefix, strlen(d->w.prefix)))
		return tsarc_error_set(TSARC_EIO, "the listing of s3://%s/%s returned key '%.200s' "
			"outside the prefix", d->w.bucket, d->w.prefix, e->key);
	/* The prefix's own "folder" object has no name below it. */
	if (!*rel) {
		d->markers++;
		return 0;
	}
	if (d->repo_rel && tsarc_s3sys_repo_object(d->repo_rel, rel)) {
		d->repo_objects++;
		return 0;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		if (!(grown = realloc(d->keys, cap * sizeof(*grown))))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		d->keys = grown;
		d->cap = cap;
	}
	if (!(d->keys[d->n].key = strdup(rel)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	d->keys[d->n].size = e->size;
	d->keys[d->n].mtime = e->mtime;
	d->n++;
	return 0;
}

static int listed_cmp(const void *a, const void *b)
{
	return strcmp(((const listed *)a)->key, ((const listed *)b)->key);
}

/* An answer's headers: Content-Type and x-amz-meta-* into `o`. */
typedef struct obj_headers {
	char *type;
	char *names[TSARC_S3SYS_META_MAX], *values[TSARC_S3SYS_META_MAX];
	tsarc_s3sys_meta meta[TSARC_S3SYS_META_MAX];
	size_t nmeta;
} obj_headers;

static void obj_headers_free(obj_headers *h)
{
	size_t i;

	free(h->type);
	for (i = 0; i < h->nmeta; i++) {
		free(h->names[i]);
		free(h->values[i]);
	}
	memset(h, 0, sizeof(*h));
}

static char *trimmed(const char *p, size_t n)
{
	char *s;

	while (n && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if ((s = malloc(n + 1))) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

static int parse_headers(const tsarc_buf *b, const char *key, obj_headers *h)
{
	const char *p = (const char *)b->ptr, *end = p + b->size;
	static const char meta[] = "x-amz-meta-";

	memset(h, 0, sizeof(*h));
	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end, *colon;
		size_t len = (size_t)(line_end - p);
		if (len && p[len - 1] == '\r')
			len--;
		colon = memchr(p, ':', len);
		if (colon) {
			size_t nlen = (size_t)(colon - p);
			const char *val = colon + 1;
			size_t vlen = len - nlen - 1;
			if (nlen == 12 && !strncasecmp(p, "content-type", 12) && !h->type) {
				if (!(h->type = trimmed(val, vlen)))
					return tsarc_error_set(TSARC_ENOMEM, "out of memory");
			} else if (nlen > sizeof(meta) - 1 && !strncasecmp(p, meta, sizeof(meta) - 1)) {
				size_t i;
				if (h->nmeta == TSARC_S3SYS_META_MAX)
					return tsarc_error_set(TSARC_EUNSUPPORTED, "s3 key '%.200s' has more "
						"than %d user metadata entries", key, TSARC_S3SYS_META_MAX);
				if (!(h->names[h->nmeta] = trimmed(p + sizeof(meta) - 1,
					      nlen - (sizeof(meta) - 1))) ||
					!(h->values[h->nmeta] = trimmed(val, vlen))) {
					free(h->names[h->nmeta]);
					return tsarc_error_set(TSARC_ENOMEM, "out of memory");
				}
				for (i = 0; h->names[h->nmeta][i]; i++)
					if (h->names[h->nmeta][i] >= 'A' && h->names[h->nmeta][i] <= 'Z')
						h->names[h->nmeta][i] = (char)(h->names[h->nmeta][i] + 32);
				h->meta[h->nmeta].name = h->names[h->nmeta];
				h->meta[h->nmeta].value = h->values[h->nmeta];
				h->nmeta++;
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	return 0;
}

/* Objects are fetched in batches (64 objects or 64 MiB as listed), 8
 * GETs in flight (S3 answers a small object in tens of milliseconds: one
 * at a time, a bucket of many small files takes minutes), and written in
 * key order. */
#define BATCH_OBJECTS 64
#define BATCH_BYTES (64ull << 20)
#define FETCHERS 8

typedef struct fetched {
	tsarc_buf body, hdrs;
	int vanished;
} fetched;

typedef struct batch {
	dump_ctx *d;
	size_t first;
	fetched *f;
} batch;

/* One GET into its slot of the batch; a 404 is an object deleted since
 * the listing. */
static int fetch_one(size_t i, void *ctx, void *worker)
{
	batch *b = ctx;
	const listed *l = &b->d->keys[b->first + i];
	fetched *f = &b->f[i];
	char full[TSARC__S3_KEY_MAX + 1];
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	int rc;

	(void)worker;
	if ((size_t)snprintf(full, sizeof(full), "%s%s", b->d->w.prefix, l->key) >= sizeof(full))
		return tsarc_error_set(TSARC_EINVAL, "s3 key '%.200s...' is too long", full);
	rq.method = "GET";
	rq.key = full;
	rq.out = &f->body;
	rq.headers_out = &f->hdrs;
	if ((rc = tsarc__s3_perform(b->d->client, &rq, &resp)) == 0 && resp.status == 404)
		f->vanished = 1;
	else if (!rc && resp.status != 200)
		rc = tsarc__s3_status_error(b->d->client, &rq, &resp);
	if (rc)
		tsarc_error_prefix("s3://%s/%s", b->d->w.bucket, full);
	return rc;
}

/* The entry of a fetched object. */
static int write_one(dump_ctx *d, struct archive *a, size_t index, const listed *l,
	const fetched *f)
{
	tsarc_s3sys_obj o;
	obj_headers h;
	int rc;

	if ((rc = parse_headers(&f->hdrs, l->key, &h)))
		return rc;
	memset(&o, 0, sizeof(o));
	o.key = l->key;
	o.content_type = h.type;
	o.meta = h.meta;
	o.nmeta = h.nmeta;
	o.size = f->body.size;
	o.mtime = l->mtime;
	rc = tsarc_s3sys_write(a, index, &o, f->body.ptr);
	if (!rc) {
		d->objects++;
		d->bytes += f->body.size;
	}
	obj_headers_free(&h);
	return rc;
}

/* Objects [first, first + n) fetched, then written; *index counts entries. */
static int copy_batch(dump_ctx *d, struct archive *a, size_t first, size_t n, fetched *f,
	size_t *index)
{
	batch b = {d, first, f};
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		tsarc_buf_init(&f[i].body, TSARC_S3SYS_OBJECT_MAX);
		tsarc_buf_init(&f[i].hdrs, 64 * 1024);
		f[i].vanished = 0;
	}
	rc = tsarc_parallel_for(n, n < FETCHERS ? (unsigned)n : FETCHERS, fetch_one, &b, NULL,
		NULL);
	for (i = 0; !rc && i < n; i++) {
		if (f[i].vanished) {
			d->vanished++;
			continue;
		}
		if ((rc = write_one(d, a, *index, &d->keys[first + i], &f[i])))
			tsarc_error_prefix("s3://%s/%s%s", d->w.bucket, d->w.prefix,
				d->keys[first + i].key);
		else
			(*index)++;
	}
	for (i = 0; i < n; i++) {
		tsarc_buf_dispose(&f[i].body);
		tsarc_buf_dispose(&f[i].hdrs);
	}
	return rc;
}

static la_ssize_t write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	if (tsarc_write_all(*(int *)ud, buf, len) != 0) {
		archive_set_error(a, errno, "writing the stream: %s", strerror(errno));
		return -1;
	}
	return (la_ssize_t)len;
}

static int dump_writer(int fd, void *arg, const atomic_int *stop, char *err, size_t errsz)
{
	dump_ctx *d = arg;
	struct archive *a = archive_write_new();
	fetched f[BATCH_OBJECTS];
	size_t i = 0, index = 0;
	int rc;

	if (!a) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = tsarc__s3_list(d->client, d->w.prefix, list_cb, d)))
		goto done;
	if (d->n > 1)
		qsort(d->keys, d->n, sizeof(*d->keys), listed_cmp);
	if ((rc = tsarc_s3sys_writer_setup(a)))
		goto done;
	archive_write_set_bytes_per_block(a, 10240);
	if (archive_write_open2(a, &fd, NULL, write_cb, NULL, NULL) != ARCHIVE_OK) {
		rc = tsarc_error_set(TSARC_EIO, "%s", archive_error_string(a));
		goto done;
	}
	while (i < d->n && !rc) {
		size_t n = 0;
		uint64_t bytes = 0;
		if (atomic_load(stop)) {
			rc = tsarc_error_set(TSARC_ECANCELED, "stopped");
			break;
		}
		/* At least one object, whatever its size. */
		while (i + n < d->n && n < BATCH_OBJECTS &&
			(n == 0 || bytes + d->keys[i + n].size <= BATCH_BYTES))
			bytes += d->keys[i + n++].size;
		rc = copy_batch(d, a, i, n, f, &index);
		i += n;
	}
	if (!rc && archive_write_close(a) != ARCHIVE_OK)
		rc = tsarc_error_set(TSARC_EIO, "%s", archive_error_string(a));
	d->done = !rc;
done:
	if (rc)
		snprintf(err, errsz, "%s", tsarc_error_last()->message);
	if (a)
		archive_write_free(a);
	return rc;
}

static cJSON *dump_meta(void *arg)
{
	dump_ctx *d = arg;
	cJSON *m = cJSON_CreateObject();

	if (!m || !d->done)
		return m;
	cJSON_AddNumberToObject(m, "s3_objects", (double)d->objects);
	cJSON_AddNumberToObject(m, "s3_bytes", (double)d->bytes);
	cJSON_AddNumberToObject(m, "s3_vanished_during_backup", (double)d->vanished);
	if (d->markers)
		cJSON_AddNumberToObject(m, "s3_prefix_markers_skipped", (double)d->markers);
	if (d->repo_rel) {
		cJSON *ex = cJSON_AddArrayToObject(m, "excluded"), *e = cJSON_CreateObject();
		if (!ex || !e || !cJSON_AddItemToArray(ex, e)) {
			cJSON_Delete(e);
			return m;
		}
		cJSON_AddStringToObject(e, "path", d->repo_rel);
		cJSON_AddStringToObject(e, "why", "the repository this backup writes to: its "
			"objects (config, keys/, data/, snapshots/, locks/, index/) are not 3scale's "
			"files, and a copy in each snapshot would hold all the snapshots before it");
		cJSON_AddNumberToObject(e, "objects", (double)d->repo_objects);
	}
	return m;
}

static void dump_free(void *arg)
{
	dump_ctx *d = arg;
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->keys[i].key);
	free(d->keys);
	free(d->repo_rel);
	tsarc__s3_client_free(d->client);
	tsarc_s3sys_where_free(&d->w);
	free(d);
}

int tsarc_s3sys_dump(tsarc_component *c, tsarc_production *out)
{
	const char *secret = tsarc_spec_str(c->spec, "secret");
	dump_ctx *d = calloc(1, sizeof(*d));
	cJSON *doc = NULL;
	char text[1500];
	int rc;

	if (!d)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (secret && (rc = c->resources->get(c->resources, "secret", secret, &doc))) {
		free(d);
		tsarc_error_prefix("component '%s': reading Secret %s", c->name, secret);
		return rc;
	}
	rc = tsarc_s3sys_where_resolve(c->spec, doc, c->name, &d->w);
	tsarc_secret_doc_free(doc);
	if (!rc)
		rc = tsarc_s3sys_open(&d->w, 8, &d->client);
	/* The repository in this bucket: left out, said once here. */
	if (!rc && (rc = tsarc_s3sys_repo_under(&d->w, d->client, c->repo, &d->repo_rel)) == 1) {
		tsarc__log(TSARC_LOG_WARN, "s3files", "repository_excluded", "component '%s': "
			"s3://%s/%s%s: left out of the snapshot, the repository this backup writes to "
			"(%s): its objects are not 3scale's files, and a copy of them in each snapshot "
			"would hold all the snapshots before it", c->name, d->w.bucket, d->w.prefix,
			d->repo_rel, tsarc_store_describe(c->repo->store));
		rc = 0;
	} else if (rc)
		tsarc_error_prefix("component '%s'", c->name);
	if (rc) {
		dump_free(d);
		return rc;
	}
	out->writer = dump_writer;
	out->writer_ctx = d;
	out->writer_ctx_free = dump_free;
	out->writer_meta = dump_meta;
	out->version_text = "tsarc S3 client";
	tsarc_s3sys_where_text(&d->w, text, sizeof(text));
	if (!(out->meta = cJSON_CreateObject()) ||
		!cJSON_AddStringToObject(out->meta, "format", "tar (pax) of S3 objects: key, "
			"content type and x-amz-meta-* in user.s3.* extended attributes") ||
		!cJSON_AddStringToObject(out->meta, "s3_endpoint", d->w.endpoint) ||
		!cJSON_AddStringToObject(out->meta, "s3_bucket", d->w.bucket) ||
		!cJSON_AddStringToObject(out->meta, "s3_prefix", d->w.prefix) ||
		!cJSON_AddStringToObject(out->meta, "s3_source", text) ||
		!cJSON_AddStringToObject(out->meta, "s3_credentials", d->w.creds_from))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (d->w.region)
		cJSON_AddStringToObject(out->meta, "s3_region", d->w.region);
	return 0;
}
