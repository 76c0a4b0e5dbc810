#define _GNU_SOURCE /* strdup */
/*
 * The repository tsarc reads or writes, found in an s3files component's
 * bucket (s3sys.h, tsarc_s3sys_repo_under): 3scale's files at the bucket's
 * root and the repository under tsarc/ of the same bucket is a layout an
 * operator picks for one bucket to pay for. A backup then leaves the
 * repository's objects out of the stream (else every backup copies the
 * whole repository into itself), and a restore into that bucket and
 * prefix is refused (it would put the repository back as the backup
 * listed it, and delete every object written since).
 *
 * Where the component's and the repository's endpoints are spelt alike
 * (letter case, an explicit default port aside) that is decided by name.
 * Otherwise one S3 server may still answer to both names (a DNS alias,
 * its address, another port of the same gateway): the object where the
 * repository's config would be in the component's bucket is read with the
 * component's client and compared with the repository's own. The config
 * is sealed with a random nonce when the repository is made: the same
 * bytes are the same repository.
 */
#include "s3sys.h"
#include "grow.h"
#include "repo.h"
#include "tsarc/errors.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest config object tsarc writes is a few hundred bytes. */
#define CONFIG_MAX (64 * 1024)
/* Key files read for one candidate repository: one that verifies is enough. */
#define KEYS_TRIED 8

/* "http(s)://host[:port]" lower-cased, without a default port (":80"
 * with http, ":443" with https) or a trailing slash; "AWS" as it is. */
static void endpoint_norm(const char *e, char *out, size_t size)
{
	size_t n, i;

	snprintf(out, size, "%s", e ? e : "");
	for (i = 0; out[i]; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
	if (!strcmp(out, "aws")) {
		snprintf(out, size, "AWS");
		return;
	}
	n = strlen(out);
	while (n && out[n - 1] == '/')
		out[--n] = '\0';
	if (!strncmp(out, "http://", 7) && n > 3 && !strcmp(out + n - 3, ":80"))
		out[n - 3] = '\0';
	else if (!strncmp(out, "https://", 8) && n > 4 && !strcmp(out + n - 4, ":443"))
		out[n - 4] = '\0';
}

int tsarc_s3sys_endpoint_same(const char *a, const char *b)
{
	char na[600], nb[600];

	endpoint_norm(a, na, sizeof(na));
	endpoint_norm(b, nb, sizeof(nb));
	return !strcmp(na, nb);
}

/* 1 when the object `key` of the component's bucket holds exactly the
 * repository's config, 0 when it is absent or holds anything else. */
static int same_config(const tsarc_s3sys_where *w, tsarc__s3_client *c, tsarc_repo *repo,
	const char *key)
{
	tsarc_buf mine = TSARC_BUF_INIT, theirs = TSARC_BUF_INIT;
	tsarc__s3_client *own = NULL;
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	int rc;

	tsarc_buf_init(&mine, CONFIG_MAX);
	tsarc_buf_init(&theirs, CONFIG_MAX);
	if ((rc = tsarc_store_get(repo->store, TSARC_OBJ_CONFIG, NULL, 0, 0, &mine))) {
		tsarc_error_prefix("reading the repository's config");
		goto done;
	}
	if (!c && (rc = tsarc_s3sys_open(w, 1, &own)))
		goto done;
	/* Its size first: an object of that name that is not a config may
	 * be of any size, and is not read. */
	if ((rc = tsarc__s3_head_object(c ? c : own, key, &resp, &rq)) == 0) {
		if (resp.status == 404)
			rc = 0;
		else if (resp.status != 200)
			rc = tsarc__s3_status_error(c ? c : own, &rq, &resp);
		else if (resp.length >= 0 && (uint64_t)resp.length != mine.size)
			rc = 0;
		else
			rc = 2;
	}
	if (rc == 2) {
		memset(&rq, 0, sizeof(rq));
		rq.method = "GET";
		rq.key = key;
		rq.out = &theirs;
		if ((rc = tsarc__s3_perform(c ? c : own, &rq, &resp)) == 0) {
			if (resp.status == 404)
				rc = 0;
			else if (resp.status != 200)
				rc = tsarc__s3_status_error(c ? c : own, &rq, &resp);
			else
				rc = theirs.size == mine.size && !memcmp(theirs.ptr, mine.ptr, mine.size);
		}
	}
	if (rc < 0)
		tsarc_error_prefix("s3://%s/%s: cannot tell whether it is the config of the "
			"repository %s", w->bucket, key, tsarc_store_describe(repo->store));
done:
	tsarc_buf_dispose(&mine);
	tsarc_buf_dispose(&theirs);
	tsarc__s3_client_free(own);
	return rc;
}

int tsarc_s3sys_repo_under(const tsarc_s3sys_where *w, tsarc__s3_client *c,
	struct tsarc_repo *repo, char **rel)
{
	const char *desc;
	char key[TSARC__S3_KEY_MAX + 1];
	tsarc__s3_url u;
	size_t plen = strlen(w->prefix);
	int rc;

	*rel = NULL;
	if (!repo || !repo->store || !repo->store->kind || strcmp(repo->store->kind, "s3") ||
		!(desc = tsarc_store_describe(repo->store)))
		return 0;
	memset(&u, 0, sizeof(u));
	/* The store parsed the same text when it opened. */
	if ((rc = tsarc__s3_url_parse(&u, desc))) {
		tsarc_error_prefix("the repository %s", desc);
		goto done;
	}
	/* Bucket and key are the server's own names: the same bytes, or
	 * another place. */
	if (strcmp(u.bucket, w->bucket) || strncmp(u.prefix, w->prefix, plen))
		goto done;
	if (!tsarc_s3sys_endpoint_same(u.aws ? "AWS" : u.base_url, w->endpoint)) {
		if ((size_t)snprintf(key, sizeof(key), "%sconfig", u.prefix) >= sizeof(key)) {
			rc = 0;
			goto done;
		}
		if ((rc = same_config(w, c, repo, key)) <= 0)
			goto done;
	}
	rc = (*rel = strdup(u.prefix + plen)) ? 1 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
done:
	tsarc__s3_url_dispose(&u);
	return rc;
}

int tsarc_s3sys_repo_object(const char *rel, const char *key)
{
	size_t n = strlen(rel);

	/* By the names the repository gives its objects, not their folders:
	 * with the repository at the component's own prefix, 3scale's
	 * data/, keys/ or index/ objects are beside it and backed up. */
	return !strncmp(key, rel, n) && tsarc_repo_object_key(key + n);
}

/* ---- any repository under the prefix ---- */

/* What a listing of the prefix offers: "config" objects (their prefix,
 * relative) and objects of the form keys/HEX (relative keys). */
typedef struct candidates {
	size_t plen;
	char **configs, **keys;
	size_t nconfigs, nkeys, capc, capk;
	tsarc__s3_list_cb each; /* the caller's, for every object (may be NULL) */
	void *each_ud;
} candidates;

static int candidate_cb(const tsarc__s3_list_entry *e, void *ud)
{
	candidates *x = ud;
	const char *rel, *k;
	size_t n;
	int rc;

	if (x->each && (rc = x->each(e, x->each_ud)))
		return rc;
	if (strlen(e->key) < x->plen)
		return 0;
	rel = e->key + x->plen;
	n = strlen(rel);
	if (n >= 6 && !strcmp(rel + n - 6, "config") && (n == 6 || rel[n - 7] == '/')) {
		char p[TSARC__S3_KEY_MAX + 1];
		snprintf(p, sizeof(p), "%.*s", (int)(n - 6), rel);
		return tsarc_strv_push(&x->configs, &x->nconfigs, &x->capc, 8, p);
	}
	/* keys/HEX at the end of the key, at the start or after a '/', of a
	 * key file's size */
	if (e->size <= TSARC_KEY_FILE_MAX && n >= 5 + 64 && (k = rel + n - 5 - 64, !strncmp(k, "keys/", 5)) &&
		(k == rel || k[-1] == '/') && tsarc_repo_object_key(k))
		return tsarc_strv_push(&x->keys, &x->nkeys, &x->capk, 16, rel);
	return 0;
}

/* 1 when the object `rel` (a keys/HEX under w's prefix) is a key file:
 * its bytes hash to its name and read as one. 0 when not or gone. */
static int key_object(tsarc__s3_client *c, const tsarc_s3sys_where *w, const char *rel)
{
	char full[TSARC__S3_KEY_MAX + 1];
	tsarc_buf body = TSARC_BUF_INIT;
	tsarc__s3_req rq = {0};
	tsarc__s3_resp resp;
	int rc;

	if ((size_t)snprintf(full, sizeof(full), "%s%s", w->prefix, rel) >= sizeof(full))
		return 0;
	tsarc_buf_init(&body, TSARC_KEY_FILE_MAX);
	rq.method = "GET";
	rq.key = full;
	rq.out = &body;
	rc = tsarc__s3_perform(c, &rq, &resp);
	if (rc == 0 && resp.status == 404) {
		rc = 0; /* gone since the listing */
	} else if (rc == 0 && resp.status != 200) {
		rc = tsarc__s3_status_error(c, &rq, &resp);
	} else if (rc == 0) {
		rc = tsarc_repo_verify_key_file(body.ptr, body.size, strrchr(rel, '/') + 1) == 0;
		if (!rc)
			tsarc_error_clear();
	}
	if (rc < 0)
		tsarc_error_prefix("s3://%s/%s: cannot tell whether it is a tsarc key file",
			w->bucket, full);
	tsarc_buf_dispose(&body);
	return rc;
}

int tsarc_s3sys_repo_find(const tsarc_s3sys_where *w, tsarc__s3_client *c,
	const char *const *kept, size_t nkept, tsarc__s3_list_cb each, void *each_ud,
	char **found)
{
	candidates x;
	tsarc__s3_client *own = NULL;
	size_t i, j, k;
	int rc;

	*found = NULL;
	memset(&x, 0, sizeof(x));
	x.plen = strlen(w->prefix);
	x.each = each;
	x.each_ud = each_ud;
	if (!c && (rc = tsarc_s3sys_open(w, 1, &own)))
		return rc;
	if ((rc = tsarc__s3_list(c ? c : own, w->prefix, candidate_cb, &x))) {
		if (rc == TSARC_ENOTFOUND) { /* no bucket yet: it holds nothing */
			tsarc_error_clear();
			rc = 0;
		} else {
			tsarc_error_prefix("listing s3://%s/%s for a tsarc repository", w->bucket,
				w->prefix);
		}
		goto done;
	}
	for (i = 0; i < x.nconfigs && !rc; i++) {
		const char *p = x.configs[i];
		size_t plen = strlen(p), tried = 0;
		for (k = 0; k < nkept && strcmp(kept[k], p); k++)
			;
		if (k < nkept)
			continue; /* where the backup left its repository out: kept */
		for (j = 0; j < x.nkeys && tried < KEYS_TRIED && !rc; j++) {
			/* P keys/HEX: its own key, not one of a repository below */
			if (strncmp(x.keys[j], p, plen) || strncmp(x.keys[j] + plen, "keys/", 5) ||
				strchr(x.keys[j] + plen + 5, '/'))
				continue;
			tried++;
			if ((rc = key_object(c ? c : own, w, x.keys[j])) == 1 && !(*found = strdup(p)))
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		}
	}
done:
	for (i = 0; i < x.nconfigs; i++)
		free(x.configs[i]);
	for (i = 0; i < x.nkeys; i++)
		free(x.keys[i]);
	free(x.configs);
	free(x.keys);
	tsarc__s3_client_free(own);
	return rc;
}
