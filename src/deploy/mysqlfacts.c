/*
 * What a MySQL dump holds that a server may refuse by itself
 * (tsarc_mysql_dump_facts), as a backup records it in the stream's
 * metadata and as a restore reads it back (mysqlguard.h). The record comes
 * out of the repository: read as untrusted, every name checked to be a
 * plain one before the step's check writes it into SQL.
 */
#include "mysqlguard.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <string.h>

cJSON *tsarc_mysql_facts_meta(const tsarc_mysql_dump_facts *p)
{
	cJSON *m, *d, *coll, *cs;
	unsigned i;

	if (!p->complete || !(m = cJSON_CreateObject()))
		return NULL;
	if (!(d = cJSON_AddObjectToObject(m, TSARC_MYSQL_FACTS_META)) ||
		!cJSON_AddNumberToObject(d, "triggers", (double)p->triggers) ||
		!cJSON_AddNumberToObject(d, "functions", (double)p->functions) ||
		!cJSON_AddNumberToObject(d, "longest_statement", (double)p->longest_statement) ||
		!(coll = cJSON_AddArrayToObject(d, "collations")) ||
		!(cs = cJSON_AddArrayToObject(d, "charsets"))) {
		cJSON_Delete(m);
		return NULL;
	}
	for (i = 0; i < p->nnames && i < TSARC_MYSQL_NAMES_MAX; i++)
		if (!cJSON_AddItemToArray(p->names[i].kind == 'c' ? coll : cs,
			cJSON_CreateString(p->names[i].name))) {
			cJSON_Delete(m);
			return NULL;
		}
	return m;
}

/* A name as the guard keeps one: lower-case letters, digits and '_', 1 to
 * 64 of them. */
static int plain_name(const char *s)
{
	size_t n;

	for (n = 0; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
			return 0;
	return n > 0 && n < sizeof(((tsarc_mysql_name *)0)->name);
}

static int count(const cJSON *d, const char *key, unsigned long long *v, const char *where)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(d, key);

	if (!cJSON_IsNumber(n) || !(n->valuedouble >= 0) || n->valuedouble > 1e18 ||
		n->valuedouble != (double)(unsigned long long)n->valuedouble)
		return tsarc_error_set(TSARC_EUNSAFE, "%s: " TSARC_MYSQL_FACTS_META ".%s must be a "
			"count", where, key);
	*v = (unsigned long long)n->valuedouble;
	return 0;
}

static int names(const cJSON *d, const char *key, char kind, tsarc_mysql_dump_facts *p,
	const char *where)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(d, key), *e;

	if (!cJSON_IsArray(a))
		return tsarc_error_set(TSARC_EUNSAFE, "%s: " TSARC_MYSQL_FACTS_META ".%s must be a "
			"list of names", where, key);
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsString(e) || !plain_name(e->valuestring))
			return tsarc_error_set(TSARC_EUNSAFE, "%s: " TSARC_MYSQL_FACTS_META ".%s holds "
				"a name that is not a plain one (lower-case letters, digits and '_', at "
				"most 64)", where, key);
		if (p->nnames == TSARC_MYSQL_NAMES_MAX)
			return tsarc_error_set(TSARC_EUNSAFE, "%s: " TSARC_MYSQL_FACTS_META " names "
				"more than %d character sets and collations", where, TSARC_MYSQL_NAMES_MAX);
		p->names[p->nnames].kind = kind;
		snprintf(p->names[p->nnames].name, sizeof(p->names[p->nnames].name), "%s",
			e->valuestring);
		p->nnames++;
	}
	return 0;
}

int tsarc_mysql_facts_from_meta(const cJSON *meta, tsarc_mysql_dump_facts *p, const char *where)
{
	const cJSON *d = cJSON_IsObject(meta) ?
		cJSON_GetObjectItemCaseSensitive(meta, TSARC_MYSQL_FACTS_META) : NULL;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!d)
		return 0;
	if (!cJSON_IsObject(d))
		rc = tsarc_error_set(TSARC_EUNSAFE, "%s: " TSARC_MYSQL_FACTS_META " must be an "
			"object", where);
	else if (!(rc = count(d, "triggers", &p->triggers, where)) &&
		!(rc = count(d, "functions", &p->functions, where)) &&
		!(rc = count(d, "longest_statement", &p->longest_statement, where)) &&
		!(rc = names(d, "collations", 'c', p, where)))
		rc = names(d, "charsets", 's', p, where);
	if (rc) {
		memset(p, 0, sizeof(*p));
		return rc;
	}
	p->complete = 1;
	return 1;
}

int tsarc_mysql_names_query(const tsarc_mysql_dump_facts *p, char **out)
{
	tsarc_buf q = TSARC_BUF_INIT;
	const char *n;
	unsigned i;
	int rc;

	*out = NULL;
	if (!p->nnames)
		return 0;
	/* Quoted all the same: binary is a keyword. */
	tsarc_buf_puts(&q, "SELECT ");
	for (i = 0; i < p->nnames && i < TSARC_MYSQL_NAMES_MAX; i++) {
		n = p->names[i].name;
		if (!plain_name(n)) {
			tsarc_buf_dispose(&q);
			return tsarc_error_set(TSARC_EINVAL, "not a plain character set or collation "
				"name");
		}
		if (p->names[i].kind == 'c')
			tsarc_buf_printf(&q, "%sCONVERT(NULL USING `%.*s`) COLLATE `%s`", i ? ", " : "",
				(int)strcspn(n, "_"), n, n);
		else
			tsarc_buf_printf(&q, "%sCONVERT(NULL USING `%s`)", i ? ", " : "", n);
	}
	if ((rc = tsarc_buf_append(&q, "", 1)) || (rc = tsarc_buf_status(&q))) {
		tsarc_buf_dispose(&q);
		return rc;
	}
	*out = tsarc_buf_detach(&q);
	return 0;
}
