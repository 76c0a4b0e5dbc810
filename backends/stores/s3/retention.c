#include "retention.h"
#include "error_save.h"
#include "fmt.h"
#include "grow.h"
#include "parallel.h"
#include "snapshot.h" /* tsarc_time_parse */

#include "tsarc/errors.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DELETE_BATCH 1000

static const char *bucket_of(tsarc__s3_client *c)
{
	return tsarc__s3_client_url(c)->bucket;
}

static void format_date(char *buf, size_t bufsz, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *mode_header(tsarc_retain_mode mode)
{
	return mode == TSARC_RETAIN_GOVERNANCE ? "GOVERNANCE" : "COMPLIANCE";
}

void tsarc__s3_retention_headers(tsarc__s3_kv out[2], tsarc_retain_mode mode,
	int64_t until, char *until_buf, size_t until_bufsz)
{
	format_date(until_buf, until_bufsz, until);
	out[0].name = "x-amz-object-lock-mode";
	out[0].value = mode_header(mode);
	out[1].name = "x-amz-object-lock-retain-until-date";
	out[1].value = until_buf;
}

int tsarc__s3_lock_enabled(tsarc__s3_client *c, int *enabled)
{
	tsarc__s3_kv q[1] = {{"object-lock", ""}};
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	tsarc_buf body;
	int rc;

	*enabled = 0;
	tsarc_buf_init(&body, 64 * 1024);
	rq.method = "GET";
	rq.query = q;
	rq.nquery = 1;
	rq.out = &body;
	if ((rc = tsarc__s3_perform(c, &rq, &resp)))
		goto done;
	if (resp.status == 404 && !strcmp(resp.err.code, "ObjectLockConfigurationNotFoundError"))
		goto done;
	if (resp.status != 200) {
		rc = tsarc__s3_status_error(c, &rq, &resp);
		goto done;
	}
	if ((rc = tsarc__s3_parse_lock_config(enabled, (const char *)body.ptr, body.size)))
		tsarc_error_prefix("Object Lock configuration of bucket '%s'", bucket_of(c));
done:
	tsarc_buf_dispose(&body);
	return rc;
}

/*
 * The store's clock when it answered (its Date), which a retain-until
 * date is judged by, as S3 judges it: this host's clock may be minutes
 * off (S3 takes requests signed up to 15 minutes away), and a version
 * retained by the store's clock, yet past by this host's, is no version
 * the credentials may not delete. This host's clock only when the answer
 * has no Date it can read (every S3 sends one).
 */
static int64_t store_clock(const tsarc__s3_resp *resp)
{
	time_t t = resp->date[0] ? curl_getdate(resp->date, NULL) : -1;

	return t > 0 ? (int64_t)t : (int64_t)time(NULL);
}

/* The retain-until date of a version (or of the current one, version
 * NULL) from a HEAD: 0 when it has none; with `mode`, its lock mode too
 * ("" when none); with `now`, the store's clock then (store_clock). */
static int version_retention(tsarc__s3_client *c, const char *key, const char *version,
	int64_t *until, char *mode, size_t modesz, int64_t *now)
{
	static const char name[] = "x-amz-object-lock-retain-until-date:";
	static const char mname[] = "x-amz-object-lock-mode:";
	tsarc__s3_kv q[1] = {{"versionId", version}};
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	tsarc_buf hdrs;
	const char *p;
	char value[80];
	int rc;

	*until = 0;
	if (mode && modesz)
		mode[0] = '\0';
	tsarc_buf_init(&hdrs, 64 * 1024);
	rq.method = "HEAD";
	rq.key = key;
	rq.head = 1;
	rq.query = version ? q : NULL;
	rq.nquery = version ? 1 : 0;
	rq.headers_out = &hdrs;
	if ((rc = tsarc__s3_perform(c, &rq, &resp)))
		goto done;
	if (now)
		*now = store_clock(&resp);
	if (resp.status == 404 || resp.status == 405) {
		rc = tsarc_error_set(TSARC_ENOTFOUND, "s3://%s/%s has no current version",
			bucket_of(c), key);
		goto done;
	}
	if (resp.status != 200) {
		rc = tsarc__s3_status_error(c, &rq, &resp);
		goto done;
	}
	if (tsarc_buf_append(&hdrs, "", 1)) /* a terminating NUL */
		goto done;
	for (p = (const char *)hdrs.ptr; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		size_t n;
		if (mode && modesz && !strncasecmp(p, mname, sizeof(mname) - 1)) {
			p += sizeof(mname) - 1;
			p += strspn(p, " \t");
			n = strcspn(p, "\r\n");
			/* Shown in a message: letters only (the two modes are). */
			snprintf(mode, modesz, "%.*s", (int)(n < modesz ? n : 0), p);
			mode[strspn(mode, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")] =
				'\0';
			continue;
		}
		if (strncasecmp(p, name, sizeof(name) - 1))
			continue;
		p += sizeof(name) - 1;
		p += strspn(p, " \t");
		n = strcspn(p, "\r\n");
		snprintf(value, sizeof(value), "%.*s", (int)(n < sizeof(value) ? n : 0), p);
		if (tsarc_time_parse(value, until) || *until <= 0)
			rc = tsarc_error_set(TSARC_EIO, "HEAD s3://%s/%s: a retain-until date "
				"that is no date: '%.40s'", bucket_of(c), key, value);
		if (rc || !mode || !modesz)
			break;
	}
done:
	tsarc_buf_dispose(&hdrs);
	return rc;
}

static int version_until(tsarc__s3_client *c, const char *key, const char *version,
	int64_t *until, int64_t *now)
{
	return version_retention(c, key, version, until, NULL, 0, now);
}

int tsarc__s3_retained_until(tsarc__s3_client *c, const char *key, int64_t *until)
{
	int64_t now;
	int rc = version_until(c, key, NULL, until, &now);

	if (!rc && *until <= now)
		*until = 0;
	return rc;
}

/* PutObjectRetention on `version` of `key` (the current one when NULL):
 * *moved says whether the date moved; a refusal where the version already
 * has a date as late (never shortened) is success with *moved 0. */
static int put_retention(tsarc__s3_client *c, const char *key, const char *version,
	tsarc_retain_mode mode, int64_t until, int *moved)
{
	tsarc__s3_kv q[2] = {{"retention", ""}, {"versionId", version}};
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	char body[256], date[40], other[16];
	int64_t have;
	int rc, n;

	*moved = 0;
	format_date(date, sizeof(date), until);
	n = snprintf(body, sizeof(body),
		"<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>%s</Mode>"
		"<RetainUntilDate>%s</RetainUntilDate></Retention>", mode_header(mode), date);
	rq.method = "PUT";
	rq.key = key;
	rq.query = q;
	rq.nquery = version ? 2 : 1;
	rq.body = body;
	rq.body_len = (size_t)n;
	rq.has_body = 1;
	if ((rc = tsarc__s3_perform(c, &rq, &resp)))
		return rc;
	if (resp.status >= 200 && resp.status < 300) {
		*moved = 1;
		return 0;
	}
	if ((resp.status == 404 || resp.status == 405) && version)
		return tsarc_error_set(TSARC_ENOTFOUND, "version %s of s3://%s/%s is gone",
			version, bucket_of(c), key);
	if (resp.status == 404 || resp.status == 405)
		return tsarc_error_set(TSARC_ENOTFOUND, "s3://%s/%s has no current version "
			"(missing, or hidden behind a delete marker)", bucket_of(c), key);
	/* Refused: a later date it already has is what we wanted. A date of
	 * the other mode (which S3 will not turn into ours: governance needs
	 * the bypass, compliance is never weakened) tsarc did not write: it
	 * writes every version in the repository's mode. Damage, with its
	 * own code, so that the caller goes on with the rest. */
	if ((resp.status == 403 || resp.status == 400) &&
		!version_retention(c, key, version, &have, other, sizeof(other), NULL)) {
		if (have >= until)
			return 0;
		if (other[0] && strcasecmp(other, mode_header(mode))) {
			format_date(date, sizeof(date), have);
			return tsarc_error_set(TSARC_ECORRUPT, "s3://%s/%s%s%s carries a %s "
				"retention until %s that tsarc did not write (this repository "
				"writes %s; an overwrite by another hand?): S3 refuses to move "
				"its date", bucket_of(c), key, version ? " version " : "",
				version ? version : "", other, date, mode_header(mode));
		}
	}
	tsarc_error_clear();
	return tsarc__s3_status_error(c, &rq, &resp);
}

int tsarc__s3_extend_retention(tsarc__s3_client *c, const char *key,
	tsarc_retain_mode mode, int64_t until)
{
	int moved;

	return put_retention(c, key, NULL, mode, until, &moved);
}

/* ---- versions ---- */

typedef int (*version_cb)(const tsarc__s3_version *v, void *ud);

/* Every version and delete marker under `prefix`, newest first per key.
 * A listing whose markers go back, or come round to a pair of markers it
 * sent before (version ids have no order: (k, v1), (k, v2), (k, v1)...),
 * is an error, never a loop. */
static int list_versions(tsarc__s3_client *c, const char *prefix, version_cb cb, void *ud)
{
	char *key_marker = NULL, *version_marker = NULL, *pair = NULL;
	tsarc__s3_token_set sent = {0};
	tsarc_buf body;
	size_t i, pages = 0, empty = 0;
	int rc = 0;

	tsarc_buf_init(&body, TSARC__S3_LISTBODY_MAX);
	for (;;) {
		tsarc__s3_kv q[4] = {{"prefix", prefix}, {"versions", ""}, {NULL, NULL},
			{NULL, NULL}};
		size_t nq = 2;
		tsarc__s3_versions_page page;

		if (key_marker) {
			q[nq].name = "key-marker";
			q[nq++].value = key_marker;
			if (version_marker) {
				q[nq].name = "version-id-marker";
				q[nq++].value = version_marker;
			}
		}
		/* Also where the bucket keeps no versions: a policy granting
		 * s3:ListBucket but not s3:ListBucketVersions refused it, and
		 * the answer named only "GET bucket". */
		if ((rc = tsarc__s3_get_listing(c, q, nq, &body))) {
			tsarc_error_prefix("listing versions of s3://%s/%s%s", bucket_of(c), prefix,
				rc == TSARC_EACCESS ? " (s3:ListBucketVersions, which removing an "
						      "object needs also where the bucket keeps "
						      "no versions)" : "");
			break;
		}
		if ((rc = tsarc__s3_parse_versions(&page, (const char *)body.ptr, body.size))) {
			tsarc_error_prefix("listing versions of s3://%s/%s", bucket_of(c), prefix);
			break;
		}
		pages++;
		empty = page.count ? 0 : empty + 1;
		if (page.truncated && empty >= TSARC__S3_EMPTY_PAGES_MAX) {
			rc = tsarc_error_set(TSARC_EIO, "listing versions of s3://%s/%s: the server "
				"sent %zu pages in a row with nothing on them, each saying more follow: "
				"the listing would never end", bucket_of(c), prefix, empty);
			tsarc__s3_versions_page_dispose(&page);
			break;
		}
		if (page.truncated && key_marker &&
			(strcmp(page.next_key, key_marker) < 0 ||
				(!strcmp(page.next_key, key_marker) &&
					!strcmp(page.next_version ? page.next_version : "",
						version_marker ? version_marker : "")))) {
			rc = tsarc_error_set(TSARC_EIO, "listing versions of s3://%s/%s: after %zu "
				"pages the server's markers went back: the listing would never end",
				bucket_of(c), prefix, pages);
			tsarc__s3_versions_page_dispose(&page);
			break;
		}
		/* Key and version id: XML text cannot hold \x01 between them. */
		if (page.truncated && !(pair = tsarc_dup_printf("%s\x01%s", page.next_key,
						 page.next_version ? page.next_version : ""))) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			tsarc__s3_versions_page_dispose(&page);
			break;
		}
		if (pair && tsarc__s3_token_set_has(&sent, pair)) {
			rc = tsarc_error_set(TSARC_EIO, "listing versions of s3://%s/%s: after %zu "
				"pages the server sent markers '%.60s' and '%.60s' again: the "
				"listing goes round in a circle and would never end",
				bucket_of(c), prefix, pages, page.next_key,
				page.next_version ? page.next_version : "");
			tsarc__s3_versions_page_dispose(&page);
			break;
		}
		for (i = 0; i < page.count && !rc; i++)
			rc = cb(&page.entries[i], ud);
		if (!rc && pair) {
			rc = tsarc__s3_token_set_take(&sent, pair);
			if (!rc)
				pair = NULL;
		}
		free(key_marker);
		free(version_marker);
		key_marker = version_marker = NULL;
		if (!rc && page.truncated) {
			key_marker = page.next_key;
			version_marker = page.next_version;
			page.next_key = page.next_version = NULL;
		}
		tsarc__s3_versions_page_dispose(&page);
		if (rc || !key_marker)
			break;
	}
	free(key_marker);
	free(version_marker);
	free(pair);
	tsarc__s3_token_set_dispose(&sent);
	tsarc_buf_dispose(&body);
	return rc;
}

/* What a purge knows of one key. */
typedef struct key_state {
	const char *key;
	size_t index;      /* in the caller's arrays */
	int latest_marker; /* its current version is a delete marker */
	int kept;          /* versions the server refused to delete */
	int64_t until;
	int64_t now;       /* the store's clock when its dates were read; 0: none read */
} key_state;

/* One version to delete: key_state index and version id. */
typedef struct doomed {
	size_t ks;
	char *version;
	int marker;
	int64_t until; /* of a version that stayed */
	int64_t now;   /* the store's clock when `until` was read */
} doomed;

typedef struct purge_run {
	tsarc__s3_client *c;
	key_state *ks; /* sorted by key */
	size_t nks;
	doomed *v;
	size_t n, cap;
	const char *only; /* a per-key listing: only this exact key */
	int preview;      /* deleting nothing: every version's date read */
} purge_run;

static int cmp_ks(const void *a, const void *b)
{
	return strcmp(((const key_state *)a)->key, ((const key_state *)b)->key);
}

static key_state *find_key(purge_run *r, const char *key)
{
	key_state probe = {key, 0, 0, 0, 0, 0};

	return bsearch(&probe, r->ks, r->nks, sizeof(*r->ks), cmp_ks);
}

static int collect_version(const tsarc__s3_version *v, void *ud)
{
	purge_run *r = ud;
	key_state *k;

	if (r->only && strcmp(v->key, r->only))
		return 0;
	if (!(k = find_key(r, v->key)))
		return 0;
	if (v->latest && v->marker)
		k->latest_marker = 1;
	if (TSARC_RESERVE(r->v, r->n, r->cap, 64))
		return TSARC_ENOMEM;
	if (!(r->v[r->n].version = strdup(v->version_id)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	r->v[r->n].ks = (size_t)(k - r->ks);
	r->v[r->n].until = r->v[r->n].now = 0;
	r->v[r->n++].marker = v->marker;
	return 0;
}

/* DeleteObjects of up to DELETE_BATCH entries of r->v (markers or not, as
 * `markers` says; with versions, or plain names when `plain`). A version
 * the server keeps (AccessDenied) marks its key kept. */
static int delete_batch(purge_run *r, const size_t *idx, size_t n, int plain)
{
	tsarc_buf xml = TSARC_BUF_INIT, out;
	tsarc__s3_delete_errors errs = {NULL, 0};
	size_t i, j;
	int rc = 0;

	tsarc_buf_init(&out, TSARC__S3_LISTBODY_MAX);
	for (i = 0; i < n && !rc; i++)
		rc = plain ? tsarc__s3_delete_add(&xml, r->ks[idx[i]].key, NULL) :
			tsarc__s3_delete_add(&xml, r->ks[r->v[idx[i]].ks].key, r->v[idx[i]].version);
	if (rc || (rc = tsarc__s3_delete_post(r->c, &xml, &out)))
		goto done;
	if ((rc = tsarc__s3_parse_delete_errors(&errs, (const char *)out.ptr, out.size)))
		goto done;
	for (j = 0; j < errs.count && !rc; j++) {
		key_state *k;
		if (!strcmp(errs.v[j].code, "NoSuchKey") || !strcmp(errs.v[j].code, "NoSuchVersion"))
			continue;
		k = find_key(r, errs.v[j].key);
		/* Object Lock's refusal: the version stays, the key is kept. */
		if (k && !plain && !strcmp(errs.v[j].code, "AccessDenied")) {
			k->kept++;
			continue;
		}
		/* A plain delete takes (or hides) what the deletes by version
		 * left: refused, it is the credentials' s3:DeleteObject (no
		 * retention holds a name). */
		rc = tsarc_error_set(!strcmp(errs.v[j].code, "AccessDenied") ? TSARC_EACCESS
										: TSARC_EIO,
			"deleting s3://%s/%s%s%s: %s %s%s", bucket_of(r->c), errs.v[j].key,
			errs.v[j].version_id ? " version " : "",
			errs.v[j].version_id ? errs.v[j].version_id : "", errs.v[j].code,
			errs.v[j].message, plain && !strcmp(errs.v[j].code, "AccessDenied") ?
				" (a plain DELETE, for what the deletes by version id left, retained "
				"or refused: s3:DeleteObject)" :
				"");
	}
done:
	tsarc__s3_delete_errors_dispose(&errs);
	tsarc_buf_dispose(&xml);
	tsarc_buf_dispose(&out);
	return rc;
}

/* Deletes the entries (of r->v, or of r->ks when plain) that `want` picks. */
static int delete_where(purge_run *r, int plain, int (*want)(purge_run *, size_t))
{
	size_t idx[DELETE_BATCH], n = 0, i, total = plain ? r->nks : r->n;
	int rc;

	for (i = 0; i < total; i++) {
		if (!want(r, i))
			continue;
		idx[n++] = i;
		if (n == DELETE_BATCH) {
			if ((rc = delete_batch(r, idx, n, plain)))
				return rc;
			n = 0;
		}
	}
	return n ? delete_batch(r, idx, n, plain) : 0;
}

static int is_version(purge_run *r, size_t i)
{
	return !r->v[i].marker;
}

/* A marker of a key none of whose versions stayed: nothing left to hide. */
static int is_needless_marker(purge_run *r, size_t i)
{
	return r->v[i].marker && !r->ks[r->v[i].ks].kept;
}

/* A key with a version left whose current version is not a marker. */
static int needs_marker(purge_run *r, size_t i)
{
	return r->ks[i].kept && !r->ks[i].latest_marker;
}

/* The date of each version of a kept key (a HEAD of each that stayed). */
static int date_of(size_t i, void *ctx, void *worker)
{
	purge_run *r = ctx;
	key_state *k = &r->ks[r->v[i].ks];
	int rc;

	(void)worker;
	if (r->v[i].marker || (!k->kept && !r->preview))
		return 0;
	rc = version_until(r->c, k->key, r->v[i].version, &r->v[i].until, &r->v[i].now);
	if (rc == TSARC_ENOTFOUND) { /* deleted after all: nothing to report */
		tsarc_error_clear();
		return 0;
	}
	return rc;
}

/* A purge (or with `preview`, what one would do). */
static int purge(tsarc__s3_client *c, const char *prefix, const char *const *keys,
	size_t count, unsigned threads, int64_t *kept, int preview)
{
	purge_run r;
	int64_t host_now = (int64_t)time(NULL), now;
	size_t i;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.preview = preview;
	if (!count)
		return 0;
	if (!(r.ks = calloc(count, sizeof(*r.ks))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; i < count; i++) {
		r.ks[i].key = keys[i];
		r.ks[i].index = i;
		kept[i] = 0;
	}
	qsort(r.ks, count, sizeof(*r.ks), cmp_ks);
	r.nks = count;
	if (count <= TSARC__S3_PER_KEY_LISTINGS) {
		for (i = 0; i < count && !rc; i++) {
			r.only = r.ks[i].key;
			rc = list_versions(c, r.ks[i].key, collect_version, &r);
		}
		r.only = NULL;
	} else {
		rc = list_versions(c, prefix, collect_version, &r);
	}
	/* Versions first: a marker goes only once nothing is left behind it,
	 * or the object would come back into view. A preview deletes nothing:
	 * the server refuses to delete a version while its date holds, so
	 * that date says what the purge would keep. */
	if (!rc && !preview)
		rc = delete_where(&r, 0, is_version);
	if (!rc && !preview)
		rc = delete_where(&r, 0, is_needless_marker);
	if (!rc && !preview)
		rc = delete_where(&r, 1, needs_marker);
	if (!rc)
		rc = tsarc_parallel_for(r.n, threads ? threads : 1, date_of, &r, NULL, NULL);
	for (i = 0; i < r.n; i++) {
		key_state *k = &r.ks[r.v[i].ks];
		if (r.v[i].until > k->until)
			k->until = r.v[i].until;
		if (r.v[i].now > k->now)
			k->now = r.v[i].now;
	}
	/* Each date judged by the store's clock (store_clock), as the store
	 * judged the deletes: before, by this host's, a version still
	 * retained was taken, with this host 5 minutes ahead, for a refusal
	 * of the credentials (TSARC_EACCESS) and, by a preview, for one a
	 * purge would delete. */
	for (i = 0; !rc && preview && i < count; i++) {
		now = r.ks[i].now ? r.ks[i].now : host_now;
		kept[r.ks[i].index] = r.ks[i].until > now ? r.ks[i].until : 0;
	}
	for (i = 0; !rc && !preview && i < count; i++) {
		if (!r.ks[i].kept)
			continue;
		now = r.ks[i].now ? r.ks[i].now : host_now;
		/* Refused, yet no retention holds it: not Object Lock's doing.
		 * The 5 minutes: a date that passed between the refusal and
		 * the HEAD that read it. */
		if (r.ks[i].until <= now - 300)
			rc = tsarc_error_set(TSARC_EACCESS, "deleting a version of s3://%s/%s was "
				"refused though no retention date holds it: may these credentials "
				"delete object versions (s3:DeleteObjectVersion)?", bucket_of(c),
				r.ks[i].key);
		else
			kept[r.ks[i].index] = r.ks[i].until;
	}
	for (i = 0; i < r.n; i++)
		free(r.v[i].version);
	free(r.v);
	free(r.ks);
	return rc;
}

int tsarc__s3_purge(tsarc__s3_client *c, const char *prefix, const char *const *keys,
	size_t count, unsigned threads, int64_t *kept)
{
	return purge(c, prefix, keys, count, threads, kept, 0);
}

int tsarc__s3_purge_preview(tsarc__s3_client *c, const char *prefix,
	const char *const *keys, size_t count, unsigned threads, int64_t *kept)
{
	return purge(c, prefix, keys, count, threads, kept, 1);
}

/* ---- old versions ---- */

/* Versions extended at once: one listing page's worth, so that memory
 * stays bounded however many versions the folder holds. */
#define EXTEND_BATCH 1000

typedef struct old_version {
	char *key, *version;
} old_version;

typedef struct extend_run {
	tsarc__s3_client *c;
	tsarc__s3_key_filter want;
	void *ud;
	tsarc_retain_mode mode;
	int64_t until;
	unsigned threads;
	old_version *v; /* EXTEND_BATCH */
	size_t n;
	atomic_size_t moved;
	atomic_int foreign_seen; /* a version of another mode's date: the first kept */
	tsarc_saved_error foreign;
} extend_run;

static int extend_version(size_t i, void *ctx, void *worker)
{
	extend_run *x = ctx;
	int moved = 0, rc;

	(void)worker;
	rc = put_retention(x->c, x->v[i].key, x->v[i].version, x->mode, x->until, &moved);
	if (rc == TSARC_ENOTFOUND) { /* deleted since the listing: its date had passed */
		tsarc_error_clear();
		return 0;
	}
	/* Not tsarc's date (put_retention): the others still go. */
	if (rc == TSARC_ECORRUPT) {
		if (!atomic_exchange(&x->foreign_seen, 1))
			tsarc_error_save(&x->foreign);
		tsarc_error_clear();
		return 0;
	}
	if (!rc && moved)
		atomic_fetch_add(&x->moved, 1);
	return rc;
}

/* Extends the batch (when `run`), then forgets it. */
static int extend_batch(extend_run *x, int run)
{
	size_t i;
	int rc = 0;

	if (run && x->n)
		rc = tsarc_parallel_for(x->n, x->threads ? x->threads : 1, extend_version, x,
			NULL, NULL);
	for (i = 0; i < x->n; i++) {
		free(x->v[i].key);
		free(x->v[i].version);
	}
	x->n = 0;
	return rc;
}

static int old_version_cb(const tsarc__s3_version *v, void *ud)
{
	extend_run *x = ud;
	int rc;

	if (v->latest || v->marker || !x->want(v->key, x->ud))
		return 0;
	if (x->n == EXTEND_BATCH && (rc = extend_batch(x, 1)))
		return rc;
	x->v[x->n].key = strdup(v->key);
	x->v[x->n].version = strdup(v->version_id);
	if (!x->v[x->n].key || !x->v[x->n].version) {
		free(x->v[x->n].key);
		free(x->v[x->n].version);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	x->n++;
	return 0;
}

int tsarc__s3_extend_versions(tsarc__s3_client *c, const char *prefix,
	tsarc__s3_key_filter want, void *ud, tsarc_retain_mode mode, int64_t until,
	unsigned threads, size_t *extended)
{
	extend_run x = {.c = c, .want = want, .ud = ud, .mode = mode, .until = until,
		.threads = threads};
	int rc, brc;

	*extended = 0;
	atomic_init(&x.moved, 0);
	atomic_init(&x.foreign_seen, 0);
	if (!(x.v = calloc(EXTEND_BATCH, sizeof(*x.v))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	rc = list_versions(c, prefix, old_version_cb, &x);
	brc = extend_batch(&x, !rc);
	if (!rc)
		rc = brc;
	free(x.v);
	*extended = atomic_load(&x.moved);
	if (!rc && atomic_load(&x.foreign_seen))
		rc = tsarc_error_restore(&x.foreign);
	tsarc_error_forget(&x.foreign);
	return rc;
}

/* ---- hidden keys ---- */

typedef struct hidden_run {
	tsarc__s3_list_cb cb;
	void *ud;
} hidden_run;

static int hidden_version(const tsarc__s3_version *v, void *ud)
{
	hidden_run *h = ud;
	tsarc__s3_list_entry e;

	if (!v->latest || !v->marker)
		return 0;
	e.key = v->key;
	e.size = 0;
	e.mtime = v->mtime;
	e.etag[0] = 0;
	return h->cb(&e, h->ud);
}

int tsarc__s3_list_hidden(tsarc__s3_client *c, const char *prefix, tsarc__s3_list_cb cb,
	void *ud)
{
	hidden_run h = {cb, ud};

	return list_versions(c, prefix, hidden_version, &h);
}

/* ---- point in time ---- */

/* Versions come newest first within a key: the first one written at or
 * before as_of is the one that was current then. */
typedef struct at_run {
	int64_t as_of;
	const char *only; /* one exact key */
	char *decided;    /* the key already decided */
	tsarc__s3_list_cb cb;
	void *ud;
	char *vid;
	size_t vidsz;
	int found;
} at_run;

static int version_at_cb(const tsarc__s3_version *v, void *ud)
{
	at_run *a = ud;
	tsarc__s3_list_entry e;

	if (a->only && strcmp(v->key, a->only))
		return 0;
	if (a->decided && !strcmp(a->decided, v->key))
		return 0;
	if (v->mtime > a->as_of)
		return 0;
	free(a->decided);
	if (!(a->decided = strdup(v->key)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (v->marker)
		return 0;
	if (a->vid) {
		if (strlen(v->version_id) >= a->vidsz)
			return tsarc_error_set(TSARC_EIO, "S3 version id of %s is too long", v->key);
		memcpy(a->vid, v->version_id, strlen(v->version_id) + 1);
		a->found = 1;
		return 0;
	}
	e.key = v->key;
	e.size = v->size;
	e.mtime = v->mtime;
	e.etag[0] = 0; /* a view of the past: no tag vouches for a copy */
	return a->cb(&e, a->ud);
}

/* One run over the versions under `prefix` (of `only`, when set). */
static int run_at(tsarc__s3_client *c, const char *prefix, at_run *a)
{
	int rc = list_versions(c, prefix, version_at_cb, a);

	free(a->decided);
	return rc;
}

int tsarc__s3_version_at(tsarc__s3_client *c, const char *key, int64_t as_of, char *vid,
	size_t vidsz, int *found)
{
	at_run a = {as_of, key, NULL, NULL, NULL, vid, vidsz, 0};
	int rc = run_at(c, key, &a);

	*found = !rc && a.found;
	return rc;
}

int tsarc__s3_list_at(tsarc__s3_client *c, const char *prefix, int64_t as_of,
	tsarc__s3_list_cb cb, void *ud)
{
	at_run a = {as_of, NULL, NULL, cb, ud, NULL, 0, 0};

	return run_at(c, prefix, &a);
}
