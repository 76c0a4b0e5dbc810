/*
 * The s3 store: a repository's typed objects as keys in an S3 bucket
 * (object type and name -> key under the URL's prefix), on the S3 client
 * (client.h), which does the requests, the retries and the errors. Every
 * operation is synchronous and may be called from many threads.
 */
#include "s3.h"

#include "client.h"
#include "error_save.h"
#include "fileio.h"
#include "fmt.h"
#include "retention.h"

#include "tsarc/errors.h"
#include "tsarc/sys/store.h"

#include <curl/curl.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S3_DEFAULT_INFLIGHT 16

typedef struct s3_store {
	tsarc_store parent;
	tsarc__s3_client *c;
	const tsarc__s3_url *u; /* the client's: endpoint, bucket, prefix */
	/* Object Lock (set_retention): every put but of locks carries it, and
	 * deleting deletes versions (retention.h). */
	tsarc_retention retention;
	/* A point-in-time view (store.h): reads see each object as it was
	 * then, by version id; nothing but locks is written. */
	int64_t as_of;
	/* Whether the bucket may retain a version (s3_purge_preview): -1
	 * not asked yet, 0 no Object Lock on it, 1 it has, or did not say;
	 * lock_refused: it did not say, the question denied. */
	int may_retain;
	int lock_refused;
} s3_store;

/* Locks are about who runs now: never read from the past. */
static int in_past(const s3_store *st, tsarc_objtype type)
{
	return st->as_of && type != TSARC_OBJ_LOCK;
}

static int read_only(const s3_store *st, const char *what)
{
	return tsarc_error_set(TSARC_EINVAL, "%s: this is a point-in-time view of %s "
		"(--as-of), which is read-only", what, st->u->desc);
}

/* The version of `key` current at as_of, as a query (q, *nq); without a
 * point in time, no query. TSARC_ENOTFOUND when there was none then. */
static int past_version(s3_store *st, tsarc_objtype type, const char *key, char *vid,
	size_t vidsz, tsarc__s3_kv *q, size_t *nq)
{
	int found, rc;

	*nq = 0;
	if (!in_past(st, type))
		return 0;
	if ((rc = tsarc__s3_version_at(st->c, key, st->as_of, vid, vidsz, &found)))
		return rc;
	if (!found)
		return tsarc_error_set(TSARC_ENOTFOUND, "s3://%s/%s did not exist at the point "
			"in time asked for", st->u->bucket, key);
	q->name = "versionId";
	q->value = vid;
	*nq = 1;
	return 0;
}

/* ---- keys ---- */

static int object_key(s3_store *st, char *out, size_t outsz, tsarc_objtype type,
	const char *name)
{
	char rel[512];
	int rc, n;

	if ((rc = tsarc_store_layout(rel, sizeof(rel), type, name)))
		return rc;
	n = snprintf(out, outsz, "%s%s", st->u->prefix, rel);
	if (n < 0 || (size_t)n >= outsz || n > TSARC__S3_KEY_MAX)
		return tsarc_error_set(TSARC_ETOOLARGE,
			"S3 key for %s is longer than 1024 bytes", rel);
	return 0;
}


/* ---- operations ---- */

/* What a put sends: bytes in memory, or the first `len` of a file. */
typedef struct s3_body {
	const void *data;
	int fd; /* -1: data */
	uint64_t len;
} s3_body;

/* Whether `key` holds exactly the bytes of `body`, read back: for an ETag
 * that is not the MD5 of the bytes (SSE-KMS, SSE-C). */
static int holds_body(s3_store *st, const char *key, const s3_body *body)
{
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	tsarc_buf got;
	char piece[64 * 1024];
	uint64_t at;
	int same = 0;

	tsarc_buf_init(&got, body->len ? (size_t)body->len : 1);
	rq.method = "GET";
	rq.key = key;
	rq.out = &got;
	if (tsarc__s3_perform(st->c, &rq, &resp) == 0 && resp.status == 200 &&
	    got.size == body->len) {
		same = 1;
		for (at = 0; same && at < body->len; at += sizeof(piece)) {
			size_t n = body->len - at < sizeof(piece) ? (size_t)(body->len - at)
								 : sizeof(piece);
			const void *mine = (const char *)body->data + at;
			if (body->fd >= 0) {
				if (tsarc_pread_all(body->fd, piece, n, (off_t)at) != 0)
					same = 0;
				mine = piece;
			}
			same = same && memcmp(got.ptr + at, mine, n) == 0;
		}
	}
	tsarc_buf_dispose(&got);
	tsarc_error_clear();
	return same;
}

static int put_body(tsarc_store *base, tsarc_objtype type, const char *name,
	const s3_body *body, unsigned flags)
{
	s3_store *st = (s3_store *)base;
	char key[TSARC__S3_KEY_MAX + 1];
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	tsarc__s3_kv lock_hdrs[2];
	char until[40];
	int rc;

	if ((rc = object_key(st, key, sizeof(key), type, name)))
		return rc;
	if (in_past(st, type))
		return read_only(st, key);
	/* Locks excepted: they must be removable at once (objlock.h). */
	if (st->retention.mode && type != TSARC_OBJ_LOCK) {
		tsarc__s3_retention_headers(lock_hdrs, st->retention.mode,
			(int64_t)time(NULL) + (int64_t)st->retention.days * 86400, until,
			sizeof(until));
		rq.headers = lock_hdrs;
		rq.nheaders = 2;
	}
	if (body->len > TSARC__S3_PUT_MAX)
		return tsarc_error_set(TSARC_ETOOLARGE,
			"PUT s3://%s/%s: %" PRIu64 " bytes is more than S3 takes in one PUT (5 GiB)",
			st->u->bucket, key, body->len);
	rq.method = "PUT";
	rq.key = key;
	rq.body = body->data;
	rq.body_len = (size_t)body->len;
	rq.has_body = 1;
	rq.body_in_file = body->fd >= 0;
	rq.body_fd = body->fd;
	rq.create_only = (flags & TSARC_PUT_CREATE_ONLY) != 0;
	rq.object_put = 1;
	if ((rc = tsarc__s3_perform(st->c, &rq, &resp)))
		return rc;
	if (resp.status >= 200 && resp.status < 300)
		return 0;
	if (resp.status == 412 && rq.create_only && resp.attempts > 1) {
		/* An earlier attempt may have landed before its answer was lost:
		 * the object is then ours if it holds exactly our bytes. The
		 * ETag says so when it is their MD5; under SSE-KMS it is not,
		 * and the object is read back. */
		tsarc__s3_resp h;
		tsarc__s3_req hrq;
		char md5_b64[25], md5_hex[33];

		if (body->fd < 0)
			tsarc__md5_base64(md5_b64, md5_hex, body->data, (size_t)body->len);
		else if (tsarc__file_digests(body->fd, body->len, NULL, md5_b64, md5_hex) != 0)
			md5_hex[0] = 0; /* unreadable now: the refusal stands */
		if (tsarc__s3_head_object(st->c, key, &h, &hrq) == 0 && h.status == 200 &&
		    h.length == (int64_t)body->len &&
		    ((md5_hex[0] && tsarc__s3_etag_matches(h.etag, md5_hex)) ||
			    holds_body(st, key, body)))
			return 0;
	}
	return tsarc__s3_status_error(st->c, &rq, &resp);
}

static int s3_put(tsarc_store *base, tsarc_objtype type, const char *name,
	const void *data, size_t len, unsigned flags)
{
	s3_body body = {data, -1, len};

	return put_body(base, type, name, &body, flags);
}

static int s3_put_file(tsarc_store *base, tsarc_objtype type, const char *name, int fd,
	uint64_t len, unsigned flags)
{
	s3_body body = {NULL, fd, len};

	return put_body(base, type, name, &body, flags);
}

/* HEAD: the size and, when mtime_out is set, the Last-Modified time. */
static int head_stat(tsarc_store *base, tsarc_objtype type, const char *name,
	uint64_t *size_out, int64_t *mtime_out)
{
	s3_store *st = (s3_store *)base;
	char key[TSARC__S3_KEY_MAX + 1];
	tsarc__s3_req rq;
	tsarc__s3_resp resp;
	int rc;

	if ((rc = object_key(st, key, sizeof(key), type, name)))
		return rc;
	if (in_past(st, type)) {
		char vid[1024];
		tsarc__s3_kv q[1];
		size_t nq;
		if ((rc = past_version(st, type, key, vid, sizeof(vid), q, &nq)))
			return rc;
		memset(&rq, 0, sizeof(rq));
		rq.method = "HEAD";
		rq.key = key;
		rq.head = 1;
		rq.query = q;
		rq.nquery = nq;
		if ((rc = tsarc__s3_perform(st->c, &rq, &resp)))
			return rc;
		rq.query = NULL; /* q goes out of scope; messages need no version */
		rq.nquery = 0;
	} else if ((rc = tsarc__s3_head_object(st->c, key, &resp, &rq))) {
		return rc;
	}
	if (resp.status == 404 && type == TSARC_OBJ_CONFIG) {
		/* HEAD cannot tell a missing bucket from a missing key. Opening a
		 * repository starts here, so say which one it is. */
		tsarc__s3_req brq = {0};
		tsarc__s3_resp bresp;
		brq.method = "HEAD";
		brq.head = 1;
		if (tsarc__s3_perform(st->c, &brq, &bresp) == 0 && bresp.status == 404)
			snprintf(resp.err.code, sizeof(resp.err.code), "NoSuchBucket");
	}
	if (resp.status != 200)
		return tsarc__s3_status_error(st->c, &rq, &resp);
	if (resp.length < 0)
		return tsarc_error_set(TSARC_EIO,
			"HEAD s3://%s/%s: the server sent no Content-Length", st->u->bucket, key);
	if (mtime_out) {
		time_t t = resp.last_modified[0] ? curl_getdate(resp.last_modified, NULL) : -1;
		if (t == (time_t)-1)
			return tsarc_error_set(TSARC_EIO,
				"HEAD s3://%s/%s: the server sent no valid Last-Modified", st->u->bucket,
				key);
		*mtime_out = (int64_t)t;
	}
	if (size_out)
		*size_out = (uint64_t)resp.length;
	return 0;
}

static int s3_stat(tsarc_store *base, tsarc_objtype type, const char *name,
	uint64_t *size_out)
{
	return head_stat(base, type, name, size_out, NULL);
}

/*
 * Whether a 206 answer holds what was asked: its Content-Range must start
 * at `offset`, cover exactly the `got` bytes that came, and end where the
 * range asked for ends (`length` 0: at the end of the object), or earlier
 * only at the object's end. A range from elsewhere in the object would be
 * taken for the bytes asked for.
 */
static int range_answers(const char *content_range, uint64_t offset, uint64_t length,
	size_t got)
{
	unsigned long long first, last, total = 0;
	char star[2];
	int n = 0, known;

	if (sscanf(content_range, "bytes %llu-%llu/%llu%n", &first, &last, &total, &n) == 3 &&
	    content_range[n] == '\0')
		known = 1;
	else if (sscanf(content_range, "bytes %llu-%llu/%1[*]%n", &first, &last, star, &n) == 3 &&
		 content_range[n] == '\0')
		known = 0;
	else
		return 0;
	if (first != offset || last < first || last - first != (uint64_t)got - 1 || !got ||
	    (known && last >= total))
		return 0;
	if (length && last == offset + length - 1)
		return 1;
	/* Short of what was asked: only where the object ends. */
	return known && last == total - 1 && (!length || last < offset + length - 1);
}

static int s3_get(tsarc_store *base, tsarc_objtype type, const char *name,
	uint64_t offset, uint64_t length, tsarc_buf *out)
{
	s3_store *st = (s3_store *)base;
	char key[TSARC__S3_KEY_MAX + 1], range[64], vid[1024];
	size_t start = out->size, nq;
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	tsarc__s3_kv q[1];
	int rc;

	if ((rc = object_key(st, key, sizeof(key), type, name)))
		return rc;
	if (length && offset > UINT64_MAX - length)
		return tsarc_error_set(TSARC_EINVAL, "range overflows");
	if ((rc = past_version(st, type, key, vid, sizeof(vid), q, &nq)))
		return rc;
	rq.query = q;
	rq.nquery = nq;
	rq.method = "GET";
	rq.key = key;
	rq.out = out;
	if (length) {
		snprintf(range, sizeof(range), "bytes=%llu-%llu",
			(unsigned long long)offset, (unsigned long long)(offset + length - 1));
		rq.range = range;
	} else if (offset) {
		snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)offset);
		rq.range = range;
	}
	if ((rc = tsarc__s3_perform(st->c, &rq, &resp)))
		return rc;
	if (resp.status == 416) {
		/* S3 refuses a range that starts at the very end; the contract
		 * wants an empty read there and an error only past it. */
		uint64_t size;
		if ((rc = s3_stat(base, type, name, &size)))
			return rc;
		if (offset == size)
			return 0;
		return tsarc__s3_status_error(st->c, &rq, &resp);
	}
	if (resp.status != 200 && resp.status != 206)
		return tsarc__s3_status_error(st->c, &rq, &resp);
	if (resp.length >= 0 && (uint64_t)resp.length != out->size - start) {
		size_t got = out->size - start;
		out->size = start;
		return tsarc_error_set(TSARC_ETRANSIENT,
			"GET s3://%s/%s: got %zu bytes of %lld", st->u->bucket, key, got,
			(long long)resp.length);
	}
	if (resp.status == 206 &&
	    !range_answers(resp.content_range, offset, length, out->size - start)) {
		size_t got = out->size - start;
		out->size = start;
		return tsarc_error_set(TSARC_EIO,
			"GET s3://%s/%s: asked for %s, the server answered 206 with %zu bytes of "
			"Content-Range '%.80s'", st->u->bucket, key, rq.range ? rq.range : "the object",
			got, resp.content_range[0] ? resp.content_range : "(none)");
	}
	if (resp.status == 200 && rq.range) {
		/* The server ignored Range and sent everything: cut it here. */
		size_t got = out->size - start, from, n;
		if (offset > got) {
			out->size = start;
			return tsarc_error_set(TSARC_EINVAL,
				"GET s3://%s/%s: range starts past the end of the object",
				st->u->bucket, key);
		}
		from = (size_t)offset;
		n = got - from;
		if (length && length < n)
			n = (size_t)length;
		memmove(out->ptr + start, out->ptr + start + from, n);
		out->size = start + n;
		out->ptr[out->size] = 0;
	}
	return 0;
}


typedef struct list_ctx {
	tsarc_objtype type;
	const char *pfx;
	size_t pfxlen;
	tsarc_store_list_cb cb;
	void *payload;
	tsarc_store_tag_cb tag_cb; /* list_tagged: instead of cb */
} list_ctx;

/* The name of a key of the type's own layout, NULL for anything else
 * (not the repository's). */
static const char *listed_name(const list_ctx *lc, const char *k)
{
	const char *nm;

	if (strncmp(k, lc->pfx, lc->pfxlen) != 0)
		return NULL;
	nm = k + lc->pfxlen;
	if (lc->type == TSARC_OBJ_DATA) {
		const char *slash = strchr(nm, '/');
		/* data/<2 hex>/<name>, where <name> starts with those two */
		if (!slash || slash - nm != 2 || strchr(slash + 1, '/') ||
		    strncmp(nm, slash + 1, 2) != 0)
			return NULL;
		nm = slash + 1;
	}
	return tsarc_store_name_valid(lc->type, nm) ? nm : NULL;
}

/* Keys of the type's own layout go out as names; anything else is passed
 * over. */
static int list_entry(const tsarc__s3_list_entry *e, void *ud)
{
	list_ctx *lc = ud;
	const char *nm = listed_name(lc, e->key);

	if (!nm)
		return 0;
	if (lc->tag_cb)
		return lc->tag_cb(nm, e->size, e->etag[0] ? e->etag : NULL, lc->payload);
	return lc->cb(nm, e->size, e->mtime, lc->payload);
}

/* The folder of a type under the prefix, "" for config (the prefix). */
static char *type_prefix(s3_store *st, tsarc_objtype type)
{
	const char *dir = tsarc_objtype_dir(type);

	return tsarc_dup_printf("%s%s%s", st->u->prefix, dir, *dir ? "/" : "");
}

/* The names of the type's objects (not config) through list_entry: the
 * live ones (as they were at --as-of for a view of the past), or the
 * hidden ones. */
static int list_names(s3_store *st, tsarc_objtype type, int hidden, tsarc_store_list_cb cb,
	tsarc_store_tag_cb tag_cb, void *payload)
{
	char *pfx = type_prefix(st, type);
	list_ctx lc;
	int rc;

	if (!pfx)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	lc.type = type;
	lc.pfx = pfx;
	lc.pfxlen = strlen(pfx);
	lc.cb = cb;
	lc.tag_cb = tag_cb;
	lc.payload = payload;
	if (hidden)
		rc = tsarc__s3_list_hidden(st->c, pfx, list_entry, &lc);
	else if (in_past(st, type))
		rc = tsarc__s3_list_at(st->c, pfx, st->as_of, list_entry, &lc);
	else
		rc = tsarc__s3_list(st->c, pfx, list_entry, &lc);
	free(pfx);
	return rc;
}

static int s3_list(tsarc_store *base, tsarc_objtype type, tsarc_store_list_cb cb,
	void *payload)
{
	int rc;

	if ((unsigned)type >= TSARC_OBJ__COUNT)
		return tsarc_error_set(TSARC_EINVAL, "unknown object type %d", (int)type);
	if (type == TSARC_OBJ_CONFIG) {
		uint64_t size;
		int64_t mtime;
		rc = head_stat(base, type, NULL, &size, &mtime);
		if (rc == TSARC_ENOTFOUND) {
			tsarc_error_clear();
			return 0;
		}
		return rc ? rc : cb("config", size, mtime, payload);
	}
	return list_names((s3_store *)base, type, 0, cb, NULL, payload);
}

/* The listing with each object's ETag (none in a view of the past). */
static int s3_list_tagged(tsarc_store *base, tsarc_objtype type, tsarc_store_tag_cb cb,
	void *payload)
{
	if ((unsigned)type >= TSARC_OBJ__COUNT || type == TSARC_OBJ_CONFIG)
		return tsarc_error_set(TSARC_EINVAL, "object type %d is not listed with tags",
			(int)type);
	return list_names((s3_store *)base, type, 0, NULL, cb, payload);
}

/* The keys of `names`, as an array freed with keys_free. */
static int names_to_keys(s3_store *st, tsarc_objtype type, const char *const *names,
	size_t count, char ***out)
{
	char **keys = calloc(count, sizeof(*keys));
	size_t i;
	int rc = 0;

	*out = keys;
	if (!keys)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; i < count && !rc; i++) {
		keys[i] = malloc(TSARC__S3_KEY_MAX + 1);
		rc = keys[i] ? object_key(st, keys[i], TSARC__S3_KEY_MAX + 1, type, names[i])
			     : tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	return rc;
}

static void keys_free(char **keys, size_t count)
{
	size_t i;

	for (i = 0; keys && i < count; i++)
		free(keys[i]);
	free(keys);
}

/* ---- Object Lock (retention.h, docs/object-lock.md) ---- */

static int s3_set_retention(tsarc_store *base, const tsarc_retention *r)
{
	((s3_store *)base)->retention = *r;
	return 0;
}

static int s3_retention_enabled(tsarc_store *base, int *enabled)
{
	return tsarc__s3_lock_enabled(((s3_store *)base)->c, enabled);
}

static int s3_extend_retention(tsarc_store *base, tsarc_objtype type, const char *name,
	int64_t until)
{
	s3_store *st = (s3_store *)base;
	char key[TSARC__S3_KEY_MAX + 1];
	int rc;

	if ((rc = object_key(st, key, sizeof(key), type, name)))
		return rc;
	if (in_past(st, type))
		return read_only(st, key);
	return tsarc__s3_extend_retention(st->c, key,
		st->retention.mode ? st->retention.mode : TSARC_RETAIN_COMPLIANCE, until);
}

/* The names extend_versions was asked for, sorted, and how to tell a
 * listed key's name; or (per-key listings) the one key. */
typedef struct wanted {
	list_ctx lc;
	const char *const *names;
	size_t count;
	const char *only;
} wanted;

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int wanted_key(const char *key, void *ud)
{
	const wanted *w = ud;
	const char *nm;

	if (w->only)
		return !strcmp(key, w->only);
	nm = listed_name(&w->lc, key);
	return nm && bsearch(&nm, w->names, w->count, sizeof(*w->names), cmp_name);
}

static int s3_extend_versions(tsarc_store *base, tsarc_objtype type,
	const char *const *names, size_t count, int64_t until, size_t *extended)
{
	s3_store *st = (s3_store *)base;
	tsarc_retain_mode mode = st->retention.mode ? st->retention.mode
						    : TSARC_RETAIN_COMPLIANCE;
	char key[TSARC__S3_KEY_MAX + 1], *pfx = NULL;
	const char **sorted = NULL;
	wanted w;
	size_t i, n;
	int rc = 0;

	*extended = 0;
	memset(&w, 0, sizeof(w));
	if (!count)
		return 0;
	if (in_past(st, type))
		return read_only(st, "extending the retention");
	/* A few keys: a listing of each costs fewer requests than the folder's. */
	if (count <= TSARC__S3_PER_KEY_LISTINGS || type == TSARC_OBJ_CONFIG) {
		tsarc_saved_error foreign = {0, "", NULL};
		for (i = 0; i < count && !rc; i++) {
			if ((rc = object_key(st, key, sizeof(key), type, names[i])))
				break;
			w.only = key;
			rc = tsarc__s3_extend_versions(st->c, key, wanted_key, &w, mode, until,
				base->max_inflight, &n);
			*extended += n;
			/* Another hand's date on one: the other names still go. */
			if (rc == TSARC_ECORRUPT) {
				if (!foreign.code)
					tsarc_error_save(&foreign);
				rc = 0;
			}
		}
		if (!rc)
			rc = tsarc_error_restore(&foreign);
		tsarc_error_forget(&foreign);
		return rc;
	}
	w.names = names;
	w.count = count;
	for (i = 1; i < count && strcmp(names[i - 1], names[i]) <= 0; i++)
		;
	if (i < count) { /* not sorted: a sorted copy of the pointers */
		if (!(sorted = malloc(count * sizeof(*sorted))))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		memcpy(sorted, names, count * sizeof(*sorted));
		qsort(sorted, count, sizeof(*sorted), cmp_name);
		w.names = sorted;
	}
	if (!(pfx = type_prefix(st, type)))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!rc) {
		w.lc.type = type;
		w.lc.pfx = pfx;
		w.lc.pfxlen = strlen(pfx);
		rc = tsarc__s3_extend_versions(st->c, pfx, wanted_key, &w, mode, until,
			base->max_inflight, extended);
	}
	free(sorted);
	free(pfx);
	return rc;
}

static int s3_retained_until(tsarc_store *base, tsarc_objtype type, const char *name,
	int64_t *until)
{
	s3_store *st = (s3_store *)base;
	char key[TSARC__S3_KEY_MAX + 1];
	int rc;

	*until = 0;
	if ((rc = object_key(st, key, sizeof(key), type, name)))
		return rc;
	return tsarc__s3_retained_until(st->c, key, until);
}

/* A purge, or (preview) what one would do. */
static int purge_names(tsarc_store *base, tsarc_objtype type, const char *const *names,
	size_t count, tsarc_store_purge_cb cb, void *payload, int preview)
{
	s3_store *st = (s3_store *)base;
	char **keys = NULL, *pfx = NULL;
	int64_t *kept = NULL;
	size_t i;
	int rc;

	if (!count)
		return 0;
	if (in_past(st, type))
		return read_only(st, "deleting");
	if (!(rc = names_to_keys(st, type, names, count, &keys)) &&
		(!(kept = calloc(count, sizeof(*kept))) || !(pfx = type_prefix(st, type))))
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!rc)
		rc = (preview ? tsarc__s3_purge_preview : tsarc__s3_purge)(st->c, pfx,
			(const char *const *)keys, count, base->max_inflight, kept);
	for (i = 0; i < count && !rc && cb; i++)
		rc = cb(names[i], kept[i], payload);
	keys_free(keys, count);
	free(kept);
	free(pfx);
	return rc;
}

static int s3_purge_many(tsarc_store *base, tsarc_objtype type, const char *const *names,
	size_t count, tsarc_store_purge_cb cb, void *payload)
{
	return purge_names(base, type, names, count, cb, payload, 0);
}

/*
 * Whether a version in the bucket may be retained, so that a purge would
 * only hide it: under the repository's Object Lock, or in a bucket that
 * has Object Lock on all the same (a repository made without, in a bucket
 * with a default retention rule), asked once. A bucket that will not
 * say (the request denied, or unknown to the server) may: the preview
 * then asks, as the purge itself would find out.
 */
static int bucket_may_retain(s3_store *st)
{
	int enabled = 0, rc;

	if (st->retention.mode)
		return 1;
	if (st->may_retain < 0) {
		if ((rc = tsarc__s3_lock_enabled(st->c, &enabled))) {
			tsarc_error_clear();
			st->lock_refused = rc == TSARC_EACCESS;
			enabled = 1;
		}
		st->may_retain = enabled ? 1 : 0;
	}
	return st->may_retain;
}

static int s3_purge_preview(tsarc_store *base, tsarc_objtype type,
	const char *const *names, size_t count, tsarc_store_purge_cb cb, void *payload)
{
	size_t i;
	int rc;

	/* Where no version can be retained nothing outlives a delete: no
	 * request but the one question. Before, only the repository's Object
	 * Lock was looked at, and the dry run of a repository without it in
	 * a bucket that retains counted as freed what the purge only hid. */
	if (count && bucket_may_retain((s3_store *)base)) {
		rc = purge_names(base, type, names, count, cb, payload, 1);
		/* Either permission lets a dry run go on: both are named (the
		 * listing's own message speaks of removing, which a dry run
		 * does not). */
		if (rc == TSARC_EACCESS && ((s3_store *)base)->lock_refused)
			tsarc_error_prefix("previewing what removing would leave: the bucket "
				"would not say whether it has Object Lock "
				"(s3:GetBucketObjectLockConfiguration), so each object's versions "
				"are asked instead");
		return rc;
	}
	for (i = 0; cb && i < count; i++)
		if ((rc = cb(names[i], 0, payload)))
			return rc;
	return 0;
}

static int s3_list_hidden(tsarc_store *base, tsarc_objtype type, tsarc_store_list_cb cb,
	void *payload)
{
	/* A view of the past shows what was live then and writes nothing:
	 * hidden objects are about now. */
	if ((unsigned)type >= TSARC_OBJ__COUNT || type == TSARC_OBJ_CONFIG ||
		in_past((s3_store *)base, type))
		return 0;
	return list_names((s3_store *)base, type, 1, cb, NULL, payload);
}

static int s3_remove(tsarc_store *base, tsarc_objtype type, const char *name)
{
	s3_store *st = (s3_store *)base;
	char key[TSARC__S3_KEY_MAX + 1];
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	int rc;

	/* DELETE answers 204 whether or not the key existed; the contract
	 * wants TSARC_ENOTFOUND for a missing one, so look first. */
	if (in_past(st, type))
		return read_only(st, "deleting");
	if ((rc = s3_stat(base, type, name, NULL)))
		return rc;
	if (st->retention.mode)
		return s3_purge_many(base, type, &name, 1, NULL, NULL);
	if ((rc = object_key(st, key, sizeof(key), type, name)))
		return rc;
	rq.method = "DELETE";
	rq.key = key;
	if ((rc = tsarc__s3_perform(st->c, &rq, &resp)))
		return rc;
	if (resp.status >= 200 && resp.status < 300)
		return 0;
	return tsarc__s3_status_error(st->c, &rq, &resp);
}

static int s3_remove_many(tsarc_store *base, tsarc_objtype type,
	const char *const *names, size_t count)
{
	s3_store *st = (s3_store *)base;
	char **keys = NULL;
	int rc;

	if (!count)
		return 0;
	if (in_past(st, type))
		return read_only(st, "deleting");
	if (st->retention.mode)
		return s3_purge_many(base, type, names, count, NULL, NULL);
	if (!(rc = names_to_keys(st, type, names, count, &keys)))
		rc = tsarc__s3_delete_keys(st->c, (const char *const *)keys, count);
	keys_free(keys, count);
	return rc;
}

static int s3_create(tsarc_store *base)
{
	/* A bucket made for a repository with Object Lock gets it (and with
	 * it versioning); it cannot be turned on later for this bucket by
	 * tsarc, and never off. */
	static const tsarc__s3_kv lock_on[1] = {{"x-amz-bucket-object-lock-enabled", "true"}};
	s3_store *st = (s3_store *)base;

	return tsarc__s3_create_bucket_with(st->c, st->retention.mode ? lock_on : NULL,
		st->retention.mode ? 1 : 0);
}

static const char *s3_describe(tsarc_store *base)
{
	return ((s3_store *)base)->u->desc;
}

static void s3_free(tsarc_store *base)
{
	s3_store *st = (s3_store *)base;

	if (!st)
		return;
	tsarc__s3_client_free(st->c);
	free(st);
}

int tsarc__s3_stats_get(tsarc_store *base, tsarc__s3_stats *out)
{
	if (!base || !base->kind || strcmp(base->kind, "s3") != 0)
		return tsarc_error_set(TSARC_EINVAL, "not an s3 store");
	tsarc__s3_client_stats(((s3_store *)base)->c, out);
	return 0;
}

int tsarc_store_s3_open(tsarc_store **out, const char *url,
	const tsarc_store_options *opts)
{
	s3_store *st;
	int rc;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	st->parent.kind = "s3";
	st->parent.max_inflight = opts && opts->inflight ? opts->inflight
							 : S3_DEFAULT_INFLIGHT;
	st->parent.create = s3_create;
	st->parent.put = s3_put;
	st->parent.put_file = s3_put_file;
	st->parent.get = s3_get;
	st->parent.stat = s3_stat;
	st->parent.list = s3_list;
	st->parent.list_tagged = s3_list_tagged;
	st->parent.remove = s3_remove;
	st->parent.remove_many = s3_remove_many;
	st->parent.set_retention = s3_set_retention;
	st->parent.retention_enabled = s3_retention_enabled;
	st->parent.extend_retention = s3_extend_retention;
	st->parent.extend_versions = s3_extend_versions;
	st->parent.purge_many = s3_purge_many;
	st->parent.purge_preview = s3_purge_preview;
	st->parent.list_hidden = s3_list_hidden;
	st->parent.retained_until = s3_retained_until;
	st->parent.describe = s3_describe;
	st->parent.free = s3_free;
	if ((rc = tsarc__s3_client_open(&st->c, url, opts, st->parent.max_inflight))) {
		free(st);
		return rc;
	}
	st->u = tsarc__s3_client_url(st->c);
	st->as_of = opts ? opts->as_of : 0;
	st->may_retain = -1;
	*out = &st->parent;
	return 0;
}
