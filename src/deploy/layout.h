#ifndef TSARC_DEPLOY_LAYOUT_H
#define TSARC_DEPLOY_LAYOUT_H

/*
 * Which databases of a deployment are external, when the configuration
 * does not say. From 3scale 2.16 the system database, backend-redis and
 * system-redis are external (managed services) and zync's database may be;
 * up to 2.15 they may run in pods. A profile component that can be either
 * carries a rule:
 *
 *   "external_when": {"apimanager": ["system", "database"],
 *                     "internal_hosts": ["system-mysql"]}
 *
 * and is decided, in this order:
 *   1. its own "external" in the configuration: that;
 *   2. the APIManager's spec.externalComponents.<path> (true or false), or,
 *      without externalComponents, spec.highAvailability.enabled (the
 *      operator's own mapping: system database and both Redis; zync only
 *      with externalZyncDatabaseEnabled);
 *   3. the host of the URL in its url_secret: one of internal_hosts (or
 *      NAME.<namespace>..., the in-cluster service) is internal, any other
 *      host external;
 *   4. nothing to read: at restore, what the snapshot recorded for it
 *      (`recorded`: {"system-mysql": true, ...}) — a cluster rebuilt after
 *      a disaster has lost its APIManager and Secrets with the rest, and
 *      "in a pod" would aim the restore at a server that is not there;
 *      otherwise internal (the pod), as before. Only the layout comes from
 *      the snapshot: endpoints follow the rules of the restore (target.c).
 * The decision is written into the effective configuration as "external"
 * (so backup and restore act on it), and each one, with the reason, into
 * `decisions` ({"system-mysql": {"external": true, "why": "..."}}): what
 * --print-config shows. Nothing of a Secret but a URL's host is kept.
 *
 * Where system-storage is decides the same way: a component (disabled in
 * the profile) with
 *
 *   "storage_when": {"apimanager": ["system", "fileStorage", "simpleStorageService"],
 *                    "secret_ref": ["configurationSecretRef", "name"],
 *                    "replaces": "system-storage"}
 *
 * is enabled, with that Secret as its "secret", and the component it
 * replaces disabled, when the APIManager's spec.<apimanager> is set
 * (3scale's S3 file storage). With no APIManager to read at restore, as
 * the snapshot was taken: enabled when it holds the component's stream
 * (`recorded`: {"system-storage-s3": true}) — a rebuilt namespace gets its
 * APIManager from the restore itself, and "the volume" would leave the
 * files out. Only whether comes from the snapshot: the bucket is the
 * target's Secret's (s3sys/restore.c). Otherwise nothing changes (the
 * volume). Its decision is {"enabled": ..., "why": ...}.
 *
 * Which database system runs on decides the same way, with the scheme of
 * the URL in the component's url_secret first (what 3scale and its
 * operator read: mysql2://, postgresql://, oracle-enhanced://):
 *
 *   "database_when": {"url_schemes": ["postgresql", "postgres"],
 *                     "apimanager": ["system", "database", "postgresql"],
 *                     "replaces": "system-mysql"}
 *
 * enables system-postgresql and disables system-mysql when the Secret's
 * URL has one of those schemes (another scheme: system-mysql stays), else
 * when the APIManager's spec.system.database.postgresql is set (a database
 * in a pod, up to 2.15), else, with no APIManager, when the snapshot holds
 * its stream. A configuration that says "enabled" for either component
 * has chosen: config.c drops the rule. Before, system-postgresql was used
 * only where the configuration enabled it, and a system on PostgreSQL was
 * backed up by system-mysql's mysqldump aimed at it. A URL of another
 * database than a component's kind takes is refused by the connection
 * (conn.c, kind.h url_schemes), an Oracle one naming the exec component.
 * Both rules decide before where each enabled component is; an entry of
 * `decisions` then has "enabled", "external" and both reasons in "why".
 */
#include <cjson/cJSON.h>
#include "component.h"

/* `eff` is an effective configuration; `resources` reads its Secrets and
 * APIManager, each once (a Secret that two rules read, the system
 * database's, is one kubectl call); `recorded` (NULL at backup) is the
 * snapshot's layout.
 * `decisions` may be NULL. Failing to read is no error: the reason says
 * what could not be read and the rule goes on. */
int tsarc_decide_external(cJSON *eff, tsarc_transport *resources, const cJSON *recorded,
	cJSON **decisions);

/* Whether component `c` carries a rule by which it takes the place of
 * another ("storage_when", "database_when"), and the name of that other
 * one (its "replaces"), or NULL. */
int tsarc_replaces_another(const cJSON *c);
const char *tsarc_replaced_by_rule(const cJSON *c);

/* tsarc_deploy_decide_external (deploy.h) is the same for a loaded
 * configuration, with its own transport: what --print-config uses. */

#endif
