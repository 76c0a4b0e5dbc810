#ifndef TSARC_DEPLOY_REWRITE_H
#define TSARC_DEPLOY_REWRITE_H

/* The domain rewrite of a migration (--rewrite-domain OLD=NEW). */
#include <cjson/cJSON.h>

struct tsarc_buf;

/* A domain name as --rewrite-domain takes it: letters, digits, dots and
 * dashes, not starting with a dot or a dash, at most 253 characters. */
int tsarc_valid_domain(const char *d);
/* `text` with OLD replaced by NEW where it is a whole domain or the end of
 * one ("example.com", "x.example.com", "https://x.example.com:443"; never
 * "myexample.com") into *out, NULL when nothing changed; an error (out
 * of memory) rather than a text with a piece left out. */
int tsarc_rewrite_domain_text(char **out, const char *text, const char *old, const char *new_);
/* A field path of a recipe's domain_fields: names of letters, digits, '_'
 * and '-' joined by dots ("spec.wildcardDomain"), the last one possibly "*"
 * (every string value of that object: "data.*"). Which fields of which
 * resources hold a domain is the profile's knowledge, not the engine's. */
int tsarc_valid_field_path(const char *p);
#define TSARC_FIELD_PATH_RULE "field names joined by dots, the last one possibly *"
/* A field path of a recipe's target_keeps (resources_target.c): one
 * field, so tsarc_valid_field_path's without '*'. */
int tsarc_valid_keep_path(const char *p);
#define TSARC_KEEP_PATH_RULE "field names joined by dots"
/* Rewrites the string fields of one resource that `fields` (a recipe's
 * domain_fields, may be NULL: nothing) names, in place; adds "Kind name:
 * field" to `changed` for each field it changed (for "a.*", the key under
 * a). Nothing when `old` is NULL. Out of memory: the error, the fields
 * before it rewritten (the caller applies none of it). */
int tsarc_rewrite_resource(cJSON *doc, const cJSON *fields, const char *old, const char *new_,
	cJSON *changed);
/* Appends one UPDATE per "table.column" of `cols` to `out`: exact matches
 * and sub-domains of OLD get NEW. OLD and NEW must have passed
 * tsarc_valid_domain. TSARC_ECONFIG (naming `component`) for a column
 * that is not a plain table.column. Nothing when `old` is NULL. */
int tsarc_rewrite_domain_sql(const cJSON *cols, const char *component, const char *old,
	const char *new_, struct tsarc_buf *out);

#endif
