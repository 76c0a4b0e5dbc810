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
#include "repo.h"
#include "tsarc/errors.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest config object tsarc writes is a few hundred bytes. */
#define CONFIG_MAX (64 * 1024)

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
