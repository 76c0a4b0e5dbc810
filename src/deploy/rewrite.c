/*
 * --rewrite-domain OLD=NEW: a migration to another wildcard domain. What
 * is rewritten, and only that: a whole domain or the end of one in the
 * resource fields a recipe's domain_fields names (the 3scale profile:
 * ConfigMap values and the APIManager's wildcardDomain), and the tenant
 * domain columns of a SQL database (UPDATE statements run in the load's
 * own session). Pure functions: tests/deploy/test_rewrite.c.
 */
#include "rewrite.h"
#include "component.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"
#include "wipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int domain_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		ch == '-';
}

/*
 * Replaces OLD by NEW where it is a whole domain or the end of one:
 * "example.com", "apicast.example.com", "https://x.example.com:443";
 * not "myexample.com". *out is NULL when nothing changed.
 */
int tsarc_rewrite_domain_text(char **result, const char *text, const char *old, const char *new_)
{
	size_t ol = strlen(old), nl = strlen(new_), count = 0;
	const char *p = text, *hit;
	tsarc_buf out;
	int rc;

	*result = NULL;
	tsarc_buf_init_wiped(&out); /* the text may be a Secret's */

	while ((hit = strstr(p, old))) {
		int start_ok = hit == text || !domain_char(hit[-1]) || hit[-1] == '.';
		int end_ok = !domain_char(hit[ol]) && hit[ol] != '.';
		tsarc_buf_append(&out, p, (size_t)(hit - p));
		if (start_ok && end_ok) {
			tsarc_buf_append(&out, new_, nl);
			count++;
		} else {
			tsarc_buf_append(&out, hit, ol);
		}
		p = hit + ol;
	}
	if (!count) {
		tsarc_buf_dispose(&out);
		return 0;
	}
	tsarc_buf_append(&out, p, strlen(p));
	/* A failed append is a value with a piece left out: an error, not
	 * a field rewritten with a hole nor one left as it was. */
	if ((rc = tsarc_buf_status(&out))) {
		tsarc_buf_dispose(&out);
		return rc;
	}
	return (*result = tsarc_buf_detach(&out)) ? 0 : tsarc_error_last()->code;
}

int tsarc_valid_domain(const char *d)
{
	size_t i;

	if (!d[0] || strlen(d) > 253 || d[0] == '.' || d[0] == '-')
		return 0;
	for (i = 0; d[i]; i++)
		if (!domain_char(d[i]) && d[i] != '.')
			return 0;
	return 1;
}

static int field_char(char ch)
{
	return domain_char(ch) || ch == '_';
}

int tsarc_valid_field_path(const char *p)
{
	size_t n;

	for (;;) {
		n = 0;
		while (field_char(p[n]))
			n++;
		if (n == 0 && p[0] == '*' && p[1] == '\0')
			return 1;
		if (n == 0 || n > 128 || (p[n] != '.' && p[n] != '\0'))
			return 0;
		if (p[n] == '\0')
			return 1;
		p += n + 1;
	}
}

int tsarc_valid_keep_path(const char *p)
{
	return tsarc_valid_field_path(p) && !strchr(p, '*');
}

/* The fields that say what an object is: kind, apiVersion, metadata's
 * name and namespace. */
#define IDENTITY_FIELDS 4

/* One string field: rewritten, and "Kind name: field" noted if it
 * changed; never one of `keep`. */
static int rewrite_field(cJSON *v, const cJSON *const keep[IDENTITY_FIELDS], const char *old,
	const char *new_, const char *kind, const char *name, const char *field, cJSON *changed)
{
	char where[512], *t = NULL;
	size_t i;
	int rc;

	for (i = 0; i < IDENTITY_FIELDS; i++)
		if (v == keep[i])
			return 0;
	if (!cJSON_IsString(v))
		return 0;
	if ((rc = tsarc_rewrite_domain_text(&t, v->valuestring, old, new_)) || !t)
		return rc;
	/* A Secret's stringData may be rewritten: the text it replaces and
	 * the copy it is made from are wiped. */
	tsarc_secure_zero(v->valuestring, strlen(v->valuestring));
	cJSON_SetValuestring(v, t);
	tsarc_secure_free_str(t);
	snprintf(where, sizeof(where), "%s %s: %s", kind, name, field);
	cJSON_AddItemToArray(changed, cJSON_CreateString(where));
	return 0;
}

int tsarc_rewrite_resource(cJSON *doc, const cJSON *fields, const char *old, const char *new_,
	cJSON *changed)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
	const char *k = tsarc_spec_str(doc, "kind"), *n = tsarc_spec_str(md, "name");
	/* What the object is stays as the restore checked it, whatever
	 * fields a recipe (the snapshot's) names. Its kind and name are
	 * copied for the notes: a field rewritten is given a new string. */
	const cJSON *keep[IDENTITY_FIELDS];
	char kind[64], name[254];
	const cJSON *f;
	int rc = 0;

	if (!old || !new_ || !k)
		return 0;
	keep[0] = cJSON_GetObjectItemCaseSensitive(doc, "kind");
	keep[1] = cJSON_GetObjectItemCaseSensitive(doc, "apiVersion");
	keep[2] = cJSON_GetObjectItemCaseSensitive(md, "name");
	keep[3] = cJSON_GetObjectItemCaseSensitive(md, "namespace");
	snprintf(kind, sizeof(kind), "%s", k);
	snprintf(name, sizeof(name), "%s", n ? n : "?");
	cJSON_ArrayForEach(f, fields) {
		const char *p = cJSON_IsString(f) ? f->valuestring : "";
		cJSON *at = doc, *v;
		char seg[129];
		int all = 0;

		if (!tsarc_valid_field_path(p))
			continue;
		while (at && *p) {
			size_t len = strcspn(p, ".");
			if (!strcmp(p, "*")) {
				all = 1;
				break;
			}
			memcpy(seg, p, len);
			seg[len] = '\0';
			at = cJSON_GetObjectItemCaseSensitive(at, seg);
			p += len + (p[len] == '.');
		}
		if (!all)
			rc = rewrite_field(at, keep, old, new_, kind, name, f->valuestring, changed);
		else if (cJSON_IsObject(at))
			cJSON_ArrayForEach(v, at)
				if ((rc = rewrite_field(v, keep, old, new_, kind, name, v->string,
					     changed)))
					break;
		if (rc)
			return rc;
	}
	return 0;
}

static int sql_ident_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return i > 0 && i < 64;
}

/* UPDATE statements for the tenant domain columns ("table.column"):
 * exact matches and sub-domains of OLD get NEW. OLD and NEW were checked
 * to hold domain characters only, so they quote safely. */
int tsarc_rewrite_domain_sql(const cJSON *cols, const char *component, const char *old,
	const char *new_, tsarc_buf *out)
{
	const cJSON *c;
	char sql[2048];

	if (!old || !new_)
		return 0;
	cJSON_ArrayForEach(c, cols) {
		const char *dot;
		char table[64], column[64];
		if (!cJSON_IsString(c) || !(dot = strchr(c->valuestring, '.')) ||
			(size_t)(dot - c->valuestring) >= sizeof(table) || strlen(dot + 1) >= sizeof(column))
			return tsarc_error_set(TSARC_ECONFIG, "component '%s': domain_columns entries "
				"are \"table.column\"", component);
		snprintf(table, sizeof(table), "%.*s", (int)(dot - c->valuestring), c->valuestring);
		snprintf(column, sizeof(column), "%s", dot + 1);
		if (!sql_ident_ok(table) || !sql_ident_ok(column) || strchr(table, '.') ||
			strchr(column, '.') || strchr(table, '-') || strchr(column, '-'))
			return tsarc_error_set(TSARC_ECONFIG, "component '%s': '%s' is not a plain "
				"table.column name", component, c->valuestring);
		snprintf(sql, sizeof(sql),
			"UPDATE %s SET %s = CONCAT(LEFT(%s, CHAR_LENGTH(%s) - %zu), '%s') "
			"WHERE %s = '%s' OR %s LIKE '%%.%s';\n",
			table, column, column, column, strlen(old), new_, column, old, column, old);
		if (tsarc_buf_puts(out, sql))
			return TSARC_ENOMEM;
	}
	return 0;
}
