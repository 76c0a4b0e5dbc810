/*
 * Requests on a whole bucket (client.h): listing under a prefix,
 * DeleteObjects in batches, creating the bucket. What they know of S3's
 * documents is in xml.c; what their refusals mean is in reply.c.
 */
#include "client_impl.h"

#include "tsarc/errors.h"

#include <stdlib.h>
#include <string.h>

#define S3_DELETE_BATCH 1000

/* ---- the tokens a listing has sent (client.h) ---- */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

int tsarc__s3_token_set_has(const tsarc__s3_token_set *t, const char *tok)
{
	size_t i;

	if (!t->cap)
		return 0;
	for (i = (size_t)fnv1a(tok) & (t->cap - 1); t->slot[i];
	     i = (i + 1) & (t->cap - 1))
		if (strcmp(t->slot[i], tok) == 0)
			return 1;
	return 0;
}

int tsarc__s3_token_set_take(tsarc__s3_token_set *t, char *tok)
{
	size_t i;

	if ((t->count + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64, j;
		char **ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		for (j = 0; j < t->cap; j++) {
			if (!t->slot[j])
				continue;
			for (i = (size_t)fnv1a(t->slot[j]) & (ncap - 1); ns[i];
			     i = (i + 1) & (ncap - 1))
				;
			ns[i] = t->slot[j];
		}
		free(t->slot);
		t->slot = ns;
		t->cap = ncap;
	}
	for (i = (size_t)fnv1a(tok) & (t->cap - 1); t->slot[i]; i = (i + 1) & (t->cap - 1))
		;
	t->slot[i] = tok;
	t->count++;
	return 0;
}

void tsarc__s3_token_set_dispose(tsarc__s3_token_set *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slot[i]);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

int tsarc__s3_get_listing(tsarc__s3_client *c, const tsarc__s3_kv *query, size_t n,
	tsarc_buf *body)
{
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	int rc;

	rq.method = "GET";
	rq.query = query;
	rq.nquery = n;
	rq.out = body;
	tsarc_buf_clear(body);
	if ((rc = tsarc__s3_perform(c, &rq, &resp)))
		return rc;
	return resp.status == 200 ? 0 : tsarc__s3_status_error(c, &rq, &resp);
}

int tsarc__s3_list(tsarc__s3_client *c, const char *prefix, tsarc__s3_list_cb cb,
	void *ud)
{
	tsarc_buf body;
	tsarc__s3_token_set sent = {0};
	const char *token = NULL; /* owned by `sent` */
	size_t i, empty = 0;
	int rc = 0;

	tsarc_buf_init(&body, TSARC__S3_LISTBODY_MAX);
	for (;;) {
		tsarc__s3_kv q[3] = {{"list-type", "2"}, {"prefix", prefix}, {NULL, NULL}};
		tsarc__s3_list_page page;

		if (token) {
			q[2].name = "continuation-token";
			q[2].value = token;
		}
		if ((rc = tsarc__s3_get_listing(c, q, token ? 3 : 2, &body)))
			break;
		if ((rc = tsarc__s3_parse_list(&page, (const char *)body.ptr, body.size))) {
			tsarc_error_prefix("listing s3://%s/%s", c->u.bucket, prefix);
			break;
		}
		empty = page.count ? 0 : empty + 1;
		if (page.truncated && empty >= TSARC__S3_EMPTY_PAGES_MAX) {
			rc = tsarc_error_set(TSARC_EIO, "listing s3://%s/%s: the server sent %zu "
				"pages in a row with nothing on them, each saying more follow: the "
				"listing would never end", c->u.bucket, prefix, empty);
			tsarc__s3_list_page_dispose(&page);
			break;
		}
		/* Before the page's names go out: they may be ones already given. */
		if (page.truncated && tsarc__s3_token_set_has(&sent, page.next_token)) {
			rc = tsarc_error_set(TSARC_EIO,
				"listing s3://%s/%s: after %zu pages the server sent "
				"continuation token '%.60s' again: its listing goes round "
				"in a circle and would never end",
				c->u.bucket, prefix, sent.count + 1, page.next_token);
			tsarc__s3_list_page_dispose(&page);
			break;
		}
		/* Callbacks run with no request in flight, so they may use the client. */
		for (i = 0; i < page.count && !rc; i++)
			rc = cb(&page.entries[i], ud);
		token = NULL;
		if (!rc && page.truncated) {
			rc = tsarc__s3_token_set_take(&sent, page.next_token);
			if (!rc) {
				token = page.next_token;
				page.next_token = NULL;
			}
		}
		tsarc__s3_list_page_dispose(&page);
		if (rc || !token)
			break;
	}
	tsarc__s3_token_set_dispose(&sent);
	tsarc_buf_dispose(&body);
	return rc;
}

int tsarc__s3_xml_escape_append(tsarc_buf *b, const char *s)
{
	int rc = 0;

	for (; *s && !rc; s++) {
		switch (*s) {
		case '&': rc = tsarc_buf_puts(b, "&amp;"); break;
		case '<': rc = tsarc_buf_puts(b, "&lt;"); break;
		case '>': rc = tsarc_buf_puts(b, "&gt;"); break;
		case '"': rc = tsarc_buf_puts(b, "&quot;"); break;
		case '\'': rc = tsarc_buf_puts(b, "&apos;"); break;
		default: rc = tsarc_buf_append(b, s, 1); break;
		}
	}
	return rc;
}

int tsarc__s3_delete_add(tsarc_buf *xml, const char *key, const char *version)
{
	int rc = 0;

	if (!xml->size)
		rc = tsarc_buf_puts(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
			"<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>");
	if (rc || (rc = tsarc_buf_puts(xml, "<Object><Key>")) ||
		(rc = tsarc__s3_xml_escape_append(xml, key)) || (rc = tsarc_buf_puts(xml, "</Key>")))
		return rc;
	if (version && ((rc = tsarc_buf_puts(xml, "<VersionId>")) ||
			       (rc = tsarc__s3_xml_escape_append(xml, version)) ||
			       (rc = tsarc_buf_puts(xml, "</VersionId>"))))
		return rc;
	return tsarc_buf_puts(xml, "</Object>");
}

int tsarc__s3_delete_post(tsarc__s3_client *c, tsarc_buf *xml, tsarc_buf *out)
{
	tsarc__s3_kv q[1] = {{"delete", ""}};
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	int rc;

	if ((rc = tsarc_buf_puts(xml, "</Delete>")))
		return rc;
	rq.method = "POST";
	rq.query = q;
	rq.nquery = 1;
	rq.body = xml->ptr;
	rq.body_len = xml->size;
	rq.has_body = 1;
	rq.out = out;
	if ((rc = tsarc__s3_perform(c, &rq, &resp)))
		return rc;
	if (resp.status != 200)
		return tsarc__s3_status_error(c, &rq, &resp);
	return 0;
}

static int delete_batch(tsarc__s3_client *c, const char *const *keys,
	size_t count)
{
	tsarc_buf xmlbody = TSARC_BUF_INIT, out;
	tsarc__s3_delete_result res;
	size_t i;
	int rc = 0;

	tsarc_buf_init(&out, TSARC__S3_LISTBODY_MAX);
	for (i = 0; i < count && !rc; i++)
		rc = tsarc__s3_delete_add(&xmlbody, keys[i], NULL);
	if (rc || (rc = tsarc__s3_delete_post(c, &xmlbody, &out)))
		goto done;
	if ((rc = tsarc__s3_parse_delete(&res, (const char *)out.ptr, out.size))) {
		tsarc_error_prefix("deleting %zu objects from bucket '%s'", count, c->u.bucket);
		goto done;
	}
	if (res.errors) {
		int code = strcmp(res.code, "AccessDenied") == 0 ? TSARC_EACCESS
			 : strcmp(res.code, "SlowDown") == 0 ||
				   strcmp(res.code, "InternalError") == 0
			     ? TSARC_ETRANSIENT
			     : TSARC_EIO;
		rc = tsarc_error_set(code,
			"deleting %zu objects from bucket '%s': %zu failed, first s3://%s/%s: %s %s",
			count, c->u.bucket, res.errors, c->u.bucket, res.key, res.code,
			res.message);
	}
done:
	tsarc_buf_dispose(&xmlbody);
	tsarc_buf_dispose(&out);
	return rc;
}

int tsarc__s3_delete_keys(tsarc__s3_client *c, const char *const *keys,
	size_t count)
{
	size_t done = 0;
	int rc;

	while (done < count) {
		size_t n = count - done;
		if (n > S3_DELETE_BATCH)
			n = S3_DELETE_BATCH;
		if ((rc = delete_batch(c, keys + done, n)))
			return rc;
		done += n;
	}
	return 0;
}

int tsarc__s3_create_bucket(tsarc__s3_client *c)
{
	return tsarc__s3_create_bucket_with(c, NULL, 0);
}

int tsarc__s3_create_bucket_with(tsarc__s3_client *c, const tsarc__s3_kv *headers,
	size_t nheaders)
{
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	tsarc_buf body = TSARC_BUF_INIT;
	int rc;

	rq.method = "HEAD";
	rq.head = 1;
	if ((rc = tsarc__s3_perform(c, &rq, &resp)))
		return rc;
	if (resp.status == 200)
		return 0;
	if (resp.status == 400 || resp.status == 403 || resp.status == 301) {
		/* HEAD has no error body; a one-key listing says what is wrong. */
		tsarc__s3_kv q[2] = {{"list-type", "2"}, {"max-keys", "1"}};
		tsarc__s3_req probe = {0};
		tsarc__s3_resp presp;
		tsarc_buf sink;
		tsarc_buf_init(&sink, TSARC__S3_LISTBODY_MAX);
		probe.method = "GET";
		probe.query = q;
		probe.nquery = 2;
		probe.out = &sink;
		rc = tsarc__s3_perform(c, &probe, &presp);
		tsarc_buf_dispose(&sink);
		if (rc)
			return rc;
		if (presp.status == resp.status && presp.err.code[0])
			return tsarc__s3_status_error(c, &probe, &presp);
		if (resp.status == 403) {
			char key_id[160], source[300];
			tsarc__s3_credsrc_ident(c->cred, key_id, sizeof(key_id), source,
				sizeof(source));
			return tsarc_error_set(TSARC_EACCESS,
				"bucket '%s' exists at %s but access key id '%s' may not use it: "
				"check the credentials, or choose another bucket",
				c->u.bucket, c->u.base_url, key_id);
		}
	}
	if (resp.status != 404)
		return tsarc__s3_status_error(c, &rq, &resp);

	memset(&rq, 0, sizeof(rq));
	rq.method = "PUT";
	rq.has_body = 1;
	rq.headers = headers;
	rq.nheaders = nheaders;
	/* us-east-1 is AWS's default and must not be named; other S3
	 * implementations choose their own placement and may reject it. */
	if (c->u.aws && strcmp(c->region, "us-east-1") != 0) {
		if ((rc = tsarc_buf_puts(&body,
			     "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
			     "<LocationConstraint>")) ||
		    (rc = tsarc__s3_xml_escape_append(&body, c->region)) ||
		    (rc = tsarc_buf_puts(&body, "</LocationConstraint></CreateBucketConfiguration>")))
			goto done;
		rq.body = body.ptr;
		rq.body_len = body.size;
	}
	if ((rc = tsarc__s3_perform(c, &rq, &resp)))
		goto done;
	if ((resp.status >= 200 && resp.status < 300) ||
	    strcmp(resp.err.code, "BucketAlreadyOwnedByYou") == 0)
		goto done;
	if (strcmp(resp.err.code, "BucketAlreadyExists") == 0)
		rc = tsarc_error_set(TSARC_ECONFIG,
			"bucket name '%s' is taken by another account: choose another bucket",
			c->u.bucket);
	else
		rc = tsarc__s3_status_error(c, &rq, &resp);
done:
	tsarc_buf_dispose(&body);
	return rc;
}
