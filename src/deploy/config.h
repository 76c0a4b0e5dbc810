#ifndef TSARC_DEPLOY_CONFIG_H
#define TSARC_DEPLOY_CONFIG_H

/*
 * The configuration, typed. A configuration (its profile merged under it)
 * is parsed into these structs and validated as a whole when it is
 * loaded, before anything runs; every restore recipe is parsed the same
 * way, and once more when a restore has merged the snapshot's copy under
 * the target's (tsarc_recipe_require: what the step's action needs on its
 * transport), before the first step writes. An error is TSARC_ECONFIG
 * (exit 2) naming the bad field by its JSON path, e.g.
 * "dr.json: components.system-mysql.restore.order must be a number".
 *
 * Strings and cJSON pointers are borrowed from the effective
 * configuration (tsarc_deploy.eff), which outlives them.
 */
#include <cjson/cJSON.h>
#include <stddef.h>

struct tsarc_transport;

/* A component's "restore": how and in which order to restore it. */
typedef struct tsarc_recipe {
	const cJSON *json;       /* the recipe itself, or NULL */
	const char *action;      /* NULL: the kind's own */
	double order;            /* valid when has_order */
	int has_order;
	int clean;               /* -1: not given, else 0 or 1 */
	const char *path;        /* replace-tree: where */
	const char *config_file; /* redis-rdb on this host: the server's configuration */
	const char *config_map;  /* redis-rdb in a cluster: the ConfigMap holding it */
	const char *config_key;
	const char *rollout;     /* the workload to restart */
	const char *data_dir;
	const char *tool;
	const char *pod_password_env;
	const char *create_database_options;
	const cJSON *command, *start_command, *options; /* arrays of strings or NULL */
	const cJSON *domain_columns, *skip_when_migrating;
	const cJSON *never_apply;   /* apply: resource names never applied */
	const cJSON *domain_fields; /* apply: field paths --rewrite-domain rewrites */
	const cJSON *env, *pod_env; /* objects: variable name to variable name */
} tsarc_recipe;

/* Whether a recipe of a component of `kind` may name `action` (the kinds
 * say: kind.h); TSARC_ECONFIG "WHERE.action: ..." otherwise. */
int tsarc_recipe_action_check(const char *action, const char *kind, const char *where);

/*
 * Parses `json` (NULL: an empty recipe) into `out`, checking every field's
 * type and every name that reaches a shell, a command line or a path.
 * Errors have `code` and read "WHERE.FIELD must be ...": `where` is the
 * JSON path of the recipe with its origin ("dr.json: components.x.restore",
 * "stream x.sql of the snapshot: restore").
 */
int tsarc_recipe_parse(const cJSON *json, int code, const char *where, tsarc_recipe *out);

/*
 * TSARC_ECONFIG "WHERE: unknown field 'K'" for a key of `json` that no
 * recipe has. For the configuration's recipes only: a misspelt field
 * there would be passed over as absent ("clean" left on). A snapshot's
 * copy is not held to it: one written by another tsarc may carry fields
 * this one does not know, and only the fields that describe the data are
 * taken from it (tsarc_recipe_keep_snapshot_fields).
 */
int tsarc_recipe_check_keys(const cJSON *json, const char *where);

/*
 * What a step needs before it runs: its action known and fit for its kind,
 * and the fields the action takes from the recipe or the component `spec`
 * on transport `tr` (exec: command; replace-tree: path; redis-rdb: the
 * field naming the server's configuration on that transport, and the
 * workload to restart where the transport restarts workloads).
 * TSARC_ECONFIG naming the missing field by its path under `where`
 * (the component's JSON path, "dr.json: components.x").
 */
int tsarc_recipe_require(const tsarc_recipe *r, const char *action, const char *kind,
	const cJSON *spec, const struct tsarc_transport *tr, const char *where);

/* A post_restore entry. */
typedef struct tsarc_hook_conf {
	const cJSON *json;
	const char *transport;   /* NULL: the deployment's */
	const cJSON *command;    /* non-empty array of strings */
	const cJSON *after;      /* array of component names, or NULL: always */
} tsarc_hook_conf;

typedef struct tsarc_component_conf {
	const char *name;
	const cJSON *json;       /* the merged component object */
	const char *kind;
	const char *stream;      /* filled with the default when not given */
	const char *transport;   /* NULL: the deployment's */
	int enabled, required, external;
	tsarc_recipe restore;
} tsarc_component_conf;

typedef struct tsarc_config {
	const char *transport;   /* the deployment's transport (its name) */
	const cJSON *transport_json;
	unsigned parallel;
	tsarc_component_conf *components;
	size_t ncomponents;
	tsarc_hook_conf *hooks;
	size_t nhooks;
} tsarc_config;

void tsarc_config_dispose(tsarc_config *c);

/* A JSON path one key further: "a.b" + "c" -> "a.b.c", or a.b["c.d"]
 * when the key holds a character a dotted path cannot show. */
void tsarc_json_path(char *out, size_t size, const char *parent, const char *key);

/* Field checks shared by the configuration and the snapshot metadata
 * (fields.c): each returns 0, or `code` with "WHERE.KEY must be RULE". */
int tsarc_bad_field(int code, const char *where, const char *key, const char *rule);
int tsarc_check_env_field(const cJSON *obj, const char *key, int code, const char *where);
int tsarc_check_env_map(const cJSON *obj, const char *key, int code, const char *where);
int tsarc_check_string_array(const cJSON *obj, const char *key, int (*rule)(const char *),
	const char *rule_text, int code, const char *where);
int tsarc_check_string_field(const cJSON *obj, const char *key, int (*rule)(const char *),
	const char *rule_text, int code, const char *where);
/* A table of field checks, run in order by tsarc_check_fields: the
 * configuration's component fields and a recipe's fields are each one
 * table, so that what a field must be is said in one row. */
typedef enum tsarc_field_shape {
	TSARC_FIELD_STRING,  /* a string (that `valid` accepts) */
	TSARC_FIELD_STRINGS, /* an array of strings (each of which `valid` accepts) */
	TSARC_FIELD_ENV,     /* a variable name */
	TSARC_FIELD_ENV_MAP, /* an object mapping variable names to variable names */
} tsarc_field_shape;

typedef struct tsarc_field_rule {
	const char *key; /* NULL ends the table */
	tsarc_field_shape shape;
	int (*valid)(const char *); /* NULL: any string */
	const char *rule;           /* what `valid` asks, for the message */
} tsarc_field_rule;

/* The rows for what a component and its restore recipe both may set for
 * a process in a pod: the pod's password variable and the variables
 * passed to the process. */
#define TSARC_POD_ENV_FIELDS                                   \
	{"pod_password_env", TSARC_FIELD_ENV, NULL, NULL},     \
	{"env", TSARC_FIELD_ENV_MAP, NULL, NULL},              \
	{"pod_env", TSARC_FIELD_ENV_MAP, NULL, NULL}

/* A tool's name: not empty, not an option ("-x"). */
int tsarc_valid_tool(const char *s);

/* 0, or the first broken rule's error (as the checks above). */
int tsarc_check_fields(const cJSON *obj, const tsarc_field_rule *rules, int code,
	const char *where);
/* Component names go into stream names, --only lists and reports. */
int tsarc_valid_component_name(const char *s);

#define TSARC_ENV_RULE "a variable name ([A-Za-z_][A-Za-z0-9_]*)"
#define TSARC_KUBE_NAME_RULE \
	"a Kubernetes name (DNS-1123: lower-case letters, digits, '-' and '.')"
#define TSARC_KUBE_TYPE_RULE "a Kubernetes resource type (letters, digits, '-' and '.')"

#endif
