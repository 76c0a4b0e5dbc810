#include "xml.h"
#include "grow.h"

#include "tsarc/buf.h"
#include "tsarc/errors.h"
#include "wipe.h"
#include "snapshot.h" /* tsarc_time_parse */
#include "error_save.h"

#include <expat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longer text than any S3 key (1024 bytes) or token means a hostile peer. */
#define TEXT_MAX 8192
#define DEPTH_MAX 16
#define NAME_MAX_LEN 64

typedef struct xml_ctx xml_ctx;
/* Called at each closing tag with the element, its parent and its text. */
typedef void (*end_fn)(xml_ctx *x, const char *name, const char *parent,
	const char *text);

struct xml_ctx {
	XML_Parser parser;
	int depth;
	char names[DEPTH_MAX][NAME_MAX_LEN];
	char text[TEXT_MAX + 1];
	size_t text_len;
	int text_overflow;
	end_fn on_end;
	void *doc;
	/* The document element the answer must have (NULL: any), and the
	 * one it had when it was another. */
	const char *root;
	char other_root[NAME_MAX_LEN];
	int rc; /* first error of a handler, stops the parse */
};

static void XMLCALL on_start(void *ud, const XML_Char *name,
	const XML_Char **attrs)
{
	xml_ctx *x = ud;

	(void)attrs;
	if (x->depth == 0 && x->root && strcmp(name, x->root) != 0) {
		/* Another document than the one asked for (a 200 carrying an
		 * <Error>, a proxy's page): none of its elements may be read as
		 * the fields of this one, and no field must default to "none". */
		snprintf(x->other_root, sizeof(x->other_root), "%s", name);
		x->rc = TSARC_EIO;
		XML_StopParser(x->parser, XML_FALSE);
		return;
	}
	if (x->depth < DEPTH_MAX)
		snprintf(x->names[x->depth], NAME_MAX_LEN, "%s", name);
	x->depth++;
	x->text_len = 0;
	x->text_overflow = 0;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	xml_ctx *x = ud;

	if (len < 0 || x->text_len + (size_t)len > TEXT_MAX) {
		x->text_overflow = 1;
		return;
	}
	memcpy(x->text + x->text_len, s, (size_t)len);
	x->text_len += (size_t)len;
}

static void XMLCALL on_close(void *ud, const XML_Char *name)
{
	xml_ctx *x = ud;
	const char *parent = "";

	(void)name;
	x->depth--;
	if (x->depth >= DEPTH_MAX || x->depth < 0) {
		x->text_len = 0;
		return;
	}
	if (x->depth > 0 && x->depth - 1 < DEPTH_MAX)
		parent = x->names[x->depth - 1];
	x->text[x->text_overflow ? 0 : x->text_len] = '\0';
	x->on_end(x, x->names[x->depth], parent, x->text);
	x->text_len = 0;
	x->text_overflow = 0;
	if (x->rc)
		XML_StopParser(x->parser, XML_FALSE);
}

/*
 * expat keeps copies of the document in its own buffers: it allocates
 * through the wiping allocator (wipe.h), since a document may be an STS
 * answer holding a secret key.
 */
static const XML_Memory_Handling_Suite wiping_mm = {tsarc_wiped_alloc, tsarc_wiped_realloc,
	tsarc_wiped_free};

static int wrong_root(const char *xml, size_t len, const char *want, const char *got);

/* The line a parse error is at, through the expat's own 64-bit call where
 * it has one (CMakeLists.txt): newer ones deprecate the XML_Size one. */
static unsigned long long xml_line(XML_Parser parser)
{
#ifdef TSARC_HAVE_XML_LINE_NUMBER64
	return XML_GetCurrentLineNumber64(parser);
#else
	return XML_GetCurrentLineNumber(parser);
#endif
}

/* Parses `xml`, calling `fn` at each closing tag; a document element
 * other than `root` (NULL: any) is TSARC_EIO, naming what came instead. */
static int xml_run(const char *xml, size_t len, const char *root, end_fn fn, void *doc)
{
	xml_ctx *x;
	int rc = 0;

	if (len > (size_t)INT32_MAX)
		return tsarc_error_set(TSARC_ETOOLARGE, "S3 response too large");
	x = calloc(1, sizeof(*x));
	if (!x)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	x->parser = XML_ParserCreate_MM(NULL, &wiping_mm, NULL);
	if (!x->parser) {
		free(x);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	x->on_end = fn;
	x->doc = doc;
	x->root = root;
	XML_SetUserData(x->parser, x);
	XML_SetElementHandler(x->parser, on_start, on_close);
	XML_SetCharacterDataHandler(x->parser, on_text);
	if (XML_Parse(x->parser, xml, (int)len, XML_TRUE) == XML_STATUS_ERROR) {
		rc = x->rc ? x->rc
			   : tsarc_error_set(TSARC_EIO,
				     "malformed XML from the S3 server: %s at line %llu",
				     XML_ErrorString(XML_GetErrorCode(x->parser)),
				     xml_line(x->parser));
	} else {
		rc = x->rc;
	}
	if (x->other_root[0])
		rc = wrong_root(xml, len, root, x->other_root);
	XML_ParserFree(x->parser);
	/* The text buffer may hold a secret key or a session token. */
	tsarc_secure_free(x, sizeof(*x));
	return rc;
}

/* ---- <Error> ---- */

static void error_end(xml_ctx *x, const char *name, const char *parent,
	const char *text)
{
	tsarc__s3_error_doc *d = x->doc;

	if (strcmp(parent, "Error") != 0)
		return;
	if (strcmp(name, "Code") == 0)
		snprintf(d->code, sizeof(d->code), "%s", text);
	else if (strcmp(name, "Message") == 0)
		snprintf(d->message, sizeof(d->message), "%s", text);
	else if (strcmp(name, "Region") == 0)
		snprintf(d->region, sizeof(d->region), "%s", text);
	else if (strcmp(name, "Endpoint") == 0)
		snprintf(d->endpoint, sizeof(d->endpoint), "%s", text);
}

void tsarc__s3_parse_error(tsarc__s3_error_doc *out, const char *xml,
	size_t len)
{
	tsarc_saved_error saved;

	memset(out, 0, sizeof(*out));
	if (!xml || !len)
		return;
	/* A broken error body must not replace the error being reported. */
	tsarc_error_save(&saved);
	if (xml_run(xml, len, NULL, error_end, out))
		tsarc_error_restore(&saved);
	tsarc_error_forget(&saved);
}

/* The error for an answer whose document is <got> where <want> was due:
 * S3 may answer 200 and put an <Error> in the body (its code and message
 * then say what went wrong; a throttling or internal one is transient). */
static int wrong_root(const char *xml, size_t len, const char *want, const char *got)
{
	tsarc__s3_error_doc e;

	if (strcmp(got, "Error") != 0)
		return tsarc_error_set(TSARC_EIO,
			"the S3 server answered with a <%s> document where a <%s> was due",
			got, want);
	tsarc__s3_parse_error(&e, xml, len);
	return tsarc_error_set(!strcmp(e.code, "InternalError") || !strcmp(e.code, "SlowDown")
			? TSARC_ETRANSIENT : TSARC_EIO,
		"the S3 server answered 200 with an error instead of a <%s> document: %s%s%s",
		want, e.code[0] ? e.code : "(no code)", e.message[0] ? ": " : "", e.message);
}

/* ---- ListObjectsV2 ---- */

typedef struct list_doc {
	tsarc__s3_list_page *page;
	size_t cap;
	char *key;      /* of the <Contents> being read */
	uint64_t size;
	int64_t mtime;
	int has_size, has_mtime;
	char etag[72];
} list_doc;

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (*s < '0' || *s > '9' || v > UINT64_MAX / 10 ||
		    (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* IsTruncated as xsd:boolean: "true"/"1" or "false"/"0"; anything else
 * must not pass for "false", which would end a listing that goes on. */
static void parse_truncated(xml_ctx *x, const char *text, int *out)
{
	if (!strcmp(text, "true") || !strcmp(text, "1"))
		*out = 1;
	else if (!strcmp(text, "false") || !strcmp(text, "0"))
		*out = 0;
	else
		x->rc = tsarc_error_set(TSARC_EIO,
			"S3 listing holds IsTruncated '%.40s', neither true nor false", text);
}

static void list_end(xml_ctx *x, const char *name, const char *parent,
	const char *text)
{
	list_doc *d = x->doc;
	tsarc__s3_list_page *p = d->page;

	if (strcmp(parent, "Contents") == 0) {
		if (strcmp(name, "Key") == 0) {
			if (x->text_overflow || !*text) {
				x->rc = tsarc_error_set(TSARC_EIO,
					"S3 listing holds an empty or oversized key");
				return;
			}
			free(d->key);
			d->key = strdup(text);
			if (!d->key)
				x->rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		} else if (strcmp(name, "Size") == 0) {
			if (parse_u64(text, &d->size)) {
				x->rc = tsarc_error_set(TSARC_EIO,
					"S3 listing holds a bad size '%.40s'", text);
				return;
			}
			d->has_size = 1;
		} else if (strcmp(name, "LastModified") == 0) {
			/* Lock staleness and prune's young-chunk rule are judged
			 * by this time, so a bad one is refused, never guessed. */
			if (tsarc_time_parse(text, &d->mtime)) {
				x->rc = tsarc_error_set(TSARC_EIO,
					"S3 listing holds a bad LastModified '%.40s'", text);
				return;
			}
			d->has_mtime = 1;
		} else if (strcmp(name, "ETag") == 0) {
			/* The quotes are not the tag's; one too long is none. */
			size_t n = strlen(text);
			if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
				text++;
				n -= 2;
			}
			d->etag[0] = 0;
			if (!x->text_overflow && n < sizeof(d->etag)) {
				memcpy(d->etag, text, n);
				d->etag[n] = 0;
			}
		}
		return;
	}
	if (strcmp(parent, "ListBucketResult") != 0)
		return;
	if (strcmp(name, "Contents") == 0) {
		if (!d->key || !d->has_size || !d->has_mtime) {
			x->rc = tsarc_error_set(TSARC_EIO,
				"S3 listing holds an entry without key, size or LastModified");
			return;
		}
		if ((x->rc = TSARC_RESERVE(p->entries, p->count, d->cap, 64)))
			return;
		p->entries[p->count].key = d->key;
		p->entries[p->count].size = d->size;
		p->entries[p->count].mtime = d->mtime;
		memcpy(p->entries[p->count].etag, d->etag, sizeof(d->etag));
		p->count++;
		d->key = NULL;
		d->has_size = d->has_mtime = 0;
		d->etag[0] = 0;
	} else if (strcmp(name, "IsTruncated") == 0) {
		parse_truncated(x, text, &p->truncated);
	} else if (strcmp(name, "NextContinuationToken") == 0) {
		if (x->text_overflow) {
			x->rc = tsarc_error_set(TSARC_EIO,
				"S3 listing holds an oversized continuation token");
			return;
		}
		free(p->next_token);
		p->next_token = strdup(text);
		if (!p->next_token)
			x->rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
}

void tsarc__s3_list_page_dispose(tsarc__s3_list_page *p)
{
	size_t i;

	for (i = 0; i < p->count; i++)
		free(p->entries[i].key);
	free(p->entries);
	free(p->next_token);
	memset(p, 0, sizeof(*p));
}

int tsarc__s3_parse_list(tsarc__s3_list_page *out, const char *xml, size_t len)
{
	list_doc d = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	d.page = out;
	rc = xml_run(xml, len, "ListBucketResult", list_end, &d);
	free(d.key);
	if (!rc && out->truncated && (!out->next_token || !*out->next_token))
		rc = tsarc_error_set(TSARC_EIO,
			"S3 listing is truncated but has no continuation token");
	if (rc)
		tsarc__s3_list_page_dispose(out);
	return rc;
}

/* ---- DeleteObjects ---- */

typedef struct delete_doc {
	tsarc__s3_delete_result *res;
	char key[1024];
	char code[64];
	char message[256];
} delete_doc;

static void delete_end(xml_ctx *x, const char *name, const char *parent,
	const char *text)
{
	delete_doc *d = x->doc;

	if (strcmp(parent, "Error") == 0) {
		if (strcmp(name, "Key") == 0)
			snprintf(d->key, sizeof(d->key), "%s", text);
		else if (strcmp(name, "Code") == 0)
			snprintf(d->code, sizeof(d->code), "%s", text);
		else if (strcmp(name, "Message") == 0)
			snprintf(d->message, sizeof(d->message), "%s", text);
		return;
	}
	if (strcmp(name, "Error") == 0 && strcmp(parent, "DeleteResult") == 0) {
		/* Deleting what is already gone is the goal reached. */
		if (strcmp(d->code, "NoSuchKey") != 0) {
			if (d->res->errors++ == 0) {
				memcpy(d->res->key, d->key, sizeof(d->key));
				memcpy(d->res->code, d->code, sizeof(d->code));
				memcpy(d->res->message, d->message, sizeof(d->message));
			}
		}
		d->key[0] = d->code[0] = d->message[0] = '\0';
	}
}

int tsarc__s3_parse_delete(tsarc__s3_delete_result *out, const char *xml,
	size_t len)
{
	delete_doc *d;
	int rc;

	memset(out, 0, sizeof(*out));
	d = calloc(1, sizeof(*d));
	if (!d)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	d->res = out;
	rc = xml_run(xml, len, "DeleteResult", delete_end, d);
	free(d);
	return rc;
}

/* ---- ListObjectVersions ---- */

typedef struct versions_doc {
	tsarc__s3_versions_page *page;
	size_t cap;
	tsarc__s3_version cur; /* the entry being read */
	int has_mtime;
} versions_doc;

static int dup_text(xml_ctx *x, char **slot, const char *text, const char *what)
{
	if (x->text_overflow || !*text)
		return x->rc = tsarc_error_set(TSARC_EIO,
			"S3 version listing holds an empty or oversized %s", what);
	free(*slot);
	if (!(*slot = strdup(text)))
		return x->rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return 0;
}

static void versions_end(xml_ctx *x, const char *name, const char *parent,
	const char *text)
{
	versions_doc *d = x->doc;
	tsarc__s3_versions_page *p = d->page;

	if (!strcmp(parent, "Version") || !strcmp(parent, "DeleteMarker")) {
		if (!strcmp(name, "Key"))
			dup_text(x, &d->cur.key, text, "key");
		else if (!strcmp(name, "VersionId"))
			dup_text(x, &d->cur.version_id, text, "version id");
		else if (!strcmp(name, "IsLatest"))
			d->cur.latest = !strcmp(text, "true");
		else if (!strcmp(name, "Size") && parse_u64(text, &d->cur.size))
			x->rc = tsarc_error_set(TSARC_EIO,
				"S3 version listing holds a bad size '%.40s'", text);
		else if (!strcmp(name, "LastModified")) {
			if (tsarc_time_parse(text, &d->cur.mtime))
				x->rc = tsarc_error_set(TSARC_EIO,
					"S3 version listing holds a bad LastModified '%.40s'", text);
			d->has_mtime = 1;
		}
		return;
	}
	if (strcmp(parent, "ListVersionsResult") != 0)
		return;
	if (!strcmp(name, "Version") || !strcmp(name, "DeleteMarker")) {
		if (!d->cur.key || !d->cur.version_id || !d->has_mtime) {
			x->rc = tsarc_error_set(TSARC_EIO, "S3 version listing holds an entry "
							   "without key, version id or LastModified");
			return;
		}
		if ((x->rc = TSARC_RESERVE(p->entries, p->count, d->cap, 64)))
			return;
		d->cur.marker = !strcmp(name, "DeleteMarker");
		if (d->cur.marker)
			d->cur.size = 0;
		p->entries[p->count++] = d->cur;
		memset(&d->cur, 0, sizeof(d->cur));
		d->has_mtime = 0;
	} else if (!strcmp(name, "IsTruncated")) {
		parse_truncated(x, text, &p->truncated);
	} else if (!strcmp(name, "NextKeyMarker")) {
		dup_text(x, &p->next_key, text, "key marker");
	} else if (!strcmp(name, "NextVersionIdMarker")) {
		dup_text(x, &p->next_version, text, "version marker");
	}
}

void tsarc__s3_versions_page_dispose(tsarc__s3_versions_page *p)
{
	size_t i;

	for (i = 0; i < p->count; i++) {
		free(p->entries[i].key);
		free(p->entries[i].version_id);
	}
	free(p->entries);
	free(p->next_key);
	free(p->next_version);
	memset(p, 0, sizeof(*p));
}

int tsarc__s3_parse_versions(tsarc__s3_versions_page *out, const char *xml, size_t len)
{
	versions_doc d;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	d.page = out;
	rc = xml_run(xml, len, "ListVersionsResult", versions_end, &d);
	free(d.cur.key);
	free(d.cur.version_id);
	if (!rc && out->truncated && !out->next_key)
		rc = tsarc_error_set(TSARC_EIO,
			"S3 version listing is truncated but has no NextKeyMarker");
	if (rc)
		tsarc__s3_versions_page_dispose(out);
	return rc;
}

/* ---- DeleteObjects of versions: every error ---- */

typedef struct delete_errors_doc {
	tsarc__s3_delete_errors *out;
	size_t cap;
	tsarc__s3_delete_error cur;
} delete_errors_doc;

static void delete_errors_end(xml_ctx *x, const char *name, const char *parent,
	const char *text)
{
	delete_errors_doc *d = x->doc;

	if (!strcmp(parent, "Error")) {
		if (!strcmp(name, "Key"))
			dup_text(x, &d->cur.key, text, "key");
		/* An empty one names no version: Ceph RGW's answer to a
		 * delete without one (a policy's AccessDenied) has it. */
		else if (!strcmp(name, "VersionId") && (*text || x->text_overflow))
			dup_text(x, &d->cur.version_id, text, "version id");
		else if (!strcmp(name, "Code"))
			snprintf(d->cur.code, sizeof(d->cur.code), "%s", text);
		else if (!strcmp(name, "Message"))
			snprintf(d->cur.message, sizeof(d->cur.message), "%s", text);
		return;
	}
	if (strcmp(name, "Error") || strcmp(parent, "DeleteResult"))
		return;
	if (!d->cur.key) {
		x->rc = tsarc_error_set(TSARC_EIO, "S3 DeleteObjects answer holds an error "
						   "without a key");
		return;
	}
	if ((x->rc = TSARC_RESERVE(d->out->v, d->out->count, d->cap, 16)))
		return;
	d->out->v[d->out->count++] = d->cur;
	memset(&d->cur, 0, sizeof(d->cur));
}

void tsarc__s3_delete_errors_dispose(tsarc__s3_delete_errors *e)
{
	size_t i;

	for (i = 0; i < e->count; i++) {
		free(e->v[i].key);
		free(e->v[i].version_id);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}

int tsarc__s3_parse_delete_errors(tsarc__s3_delete_errors *out, const char *xml,
	size_t len)
{
	delete_errors_doc d;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&d, 0, sizeof(d));
	d.out = out;
	rc = xml_run(xml, len, "DeleteResult", delete_errors_end, &d);
	free(d.cur.key);
	free(d.cur.version_id);
	if (rc)
		tsarc__s3_delete_errors_dispose(out);
	return rc;
}

/* ---- GetObjectLockConfiguration ---- */

static void lock_config_end(xml_ctx *x, const char *name, const char *parent,
	const char *text)
{
	if (!strcmp(name, "ObjectLockEnabled") && !strcmp(parent, "ObjectLockConfiguration"))
		*(int *)x->doc = !strcmp(text, "Enabled");
}

int tsarc__s3_parse_lock_config(int *enabled, const char *xml, size_t len)
{
	*enabled = 0;
	return xml_run(xml, len, "ObjectLockConfiguration", lock_config_end, enabled);
}

/* ---- STS <Credentials> ---- */

typedef struct sts_doc {
	tsarc__s3_creds *c;
	int bad_time;
} sts_doc;

static void sts_end(xml_ctx *x, const char *name, const char *parent,
	const char *text)
{
	sts_doc *d = x->doc;
	char **slot = NULL;

	if (strcmp(parent, "Credentials") != 0)
		return;
	if (strcmp(name, "AccessKeyId") == 0)
		slot = &d->c->access_key;
	else if (strcmp(name, "SecretAccessKey") == 0)
		slot = &d->c->secret_key;
	else if (strcmp(name, "SessionToken") == 0)
		slot = &d->c->session_token;
	else if (strcmp(name, "Expiration") == 0 &&
		 (tsarc_time_parse(text, &d->c->expires) != 0 || d->c->expires <= 0))
		d->bad_time = 1;
	if (!slot || *slot || !*text)
		return; /* the first one wins; empty ones count as missing */
	if (!(*slot = strdup(text)))
		x->rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

int tsarc__s3_parse_sts_creds(tsarc__s3_creds *out, const char *xml, size_t len)
{
	sts_doc d = {out, 0};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = xml_run(xml, len, NULL, sts_end, &d);
	if (rc == 0 && (!out->access_key || !out->secret_key || !out->session_token ||
			       !out->expires || d.bad_time))
		rc = tsarc_error_set(TSARC_EIO,
			"the STS answer lacks AccessKeyId, SecretAccessKey, SessionToken "
			"or a valid Expiration");
	if (rc)
		tsarc__s3_creds_dispose(out);
	return rc;
}
