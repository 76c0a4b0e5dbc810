#ifndef TSARC_DEPLOY_H
#define TSARC_DEPLOY_H

#include <cjson/cJSON.h>
#include "backup.h"

/*
 * A deployment backup: a profile (built in, e.g. "3scale", or a JSON file)
 * describes the components of an application; a configuration file says
 * where the deployment is and overrides any part of the profile. See
 * docs/config.md for the format.
 */
typedef struct tsarc_deploy tsarc_deploy;

/* Reads a configuration file and merges it over its profile. Errors are
 * TSARC_ECONFIG naming the file and the field. */
int tsarc_deploy_load(tsarc_deploy **out, const char *config_path);
/* The same from JSON text; `origin` names it in messages. */
int tsarc_deploy_load_text(tsarc_deploy **out, const char *text, const char *origin);
void tsarc_deploy_free(tsarc_deploy *d);

/* The effective configuration (profile + overrides), for --print-config. */
const cJSON *tsarc_deploy_effective(const tsarc_deploy *d);
/* Overrides the number of components backed up at once (0: keep). */
void tsarc_deploy_set_parallel(tsarc_deploy *d, unsigned parallel);

/* The text of a built-in profile, or NULL. */
const char *tsarc_deploy_builtin_profile(const char *name);

/*
 * Backs every enabled component up into `b`, at most `parallel` at once,
 * one stream each. Returns 0 when every one succeeded: the caller then
 * commits. On failure the error names every component that failed with
 * the tail of its tool's stderr; the caller must then free `b` without
 * committing. `*report` (may be NULL) receives one JSON object per
 * component: name, kind, stream, status, bytes, seconds, source, error.
 * The caller must ignore SIGPIPE or accept that a producer writing to a
 * closed pipe is reported as failed (the CLI ignores it).
 */
int tsarc_deploy_backup(tsarc_deploy *d, tsarc_backup *b, cJSON **report);

#endif
