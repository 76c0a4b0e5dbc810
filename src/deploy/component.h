#ifndef TSARC_DEPLOY_COMPONENT_H
#define TSARC_DEPLOY_COMPONENT_H

/*
 * Internal interfaces of the deployment layer: a transport (transport.h)
 * runs commands and fetches resources somewhere (this host, a pod); a
 * component is what a kind (kind.h: mysql, postgres, redis, files,
 * resources, exec) turns into a byte stream and back. run.c (backup) and
 * restore.c tie them together.
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/types.h>
#include "config.h"
#include "proc.h"
#include "transport.h"

/* A command to run, with no secret in argv. */
typedef struct tsarc_cmd {
	char **argv;      /* NULL-terminated */
	size_t argc;
	/* "NAME=VALUE" for the child on this host (local transport only):
	 * where passwords go (MYSQL_PWD, PGPASSWORD, REDISCLI_AUTH). */
	char **env;
	size_t nenv;
	/* "NAME=VAR": in a pod, NAME is set from the pod's own variable VAR
	 * by the pod's shell, so the value never passes through our argv. */
	char **pod_env;
	size_t npod_env;
	/* A MySQL client's password (tsarc_cmd_mysql_password), or NULL. */
	char *mysql_password;
} tsarc_cmd;

void tsarc_cmd_init(tsarc_cmd *c);
void tsarc_cmd_free(tsarc_cmd *c);
int tsarc_cmd_arg(tsarc_cmd *c, const char *arg);
int tsarc_cmd_argf(tsarc_cmd *c, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
int tsarc_cmd_env(tsarc_cmd *c, const char *name, const char *value);
int tsarc_cmd_pod_env(tsarc_cmd *c, const char *name, const char *pod_var);
/* `to` made a copy of `from` (its own memory, the password too), to run
 * the same client with the same connection and more arguments. */
int tsarc_cmd_copy(tsarc_cmd *to, const tsarc_cmd *from);
/* Gives a mysql client or mysqldump (argv[0]) its password. The transport
 * decides how, never on a command line and never in a file on disk: on
 * this host an in-memory option file (--defaults-file=/dev/fd/N,
 * inserted as the first option); in a pod MYSQL_PWD, which the pod's
 * shell reads from the exec's stdin. */
int tsarc_cmd_mysql_password(tsarc_cmd *c, const char *password);
/* The option file that carries it: the files the client reads by itself
 * included first (/etc/my.cnf, /etc/mysql/my.cnf, ~/.my.cnf, those that
 * exist), then [client] password="..." with the escapes MySQL and MariaDB
 * undo: its password is the last, so no file of the host replaces it.
 * `out` is made a wiped buffer (each block it outgrows wiped); the caller
 * disposes of it with tsarc_secure_buf_dispose. */
struct tsarc_buf;
int tsarc_mysql_option_text(const char *password, struct tsarc_buf *out);
/* A sealed in-memory file (memfd, close-on-exec, never fd 0-2) holding
 * `data`: a child given it reads it as /dev/fd/N; it never touches a disk. */
int tsarc_secret_memfd(const char *name, const void *data, size_t len, int *fd_out);

/* One component, resolved for a run. */
typedef struct tsarc_component {
	const char *name;
	const char *kind;
	const cJSON *spec;          /* the merged component object */
	tsarc_transport *tr;        /* where its producer runs */
	tsarc_transport *resources; /* where Secrets are read (url_secret) */
	int external;               /* connect from this host (URL from a Secret) */
	int required;
	/* The backup is a restore's undo snapshot (undo.c): an object the
	 * target lacks is recorded as absent, not an error, even a required
	 * one (the restore of the snapshot removes it again). */
	int undo;
	const char *stream;
	/* The repository a backup writes to (NULL in a restore): a tree or
	 * a bucket that holds it leaves it out of the stream, rather than
	 * copy the repository into itself at every backup. */
	struct tsarc_repo *repo;
	/* Filled while locating (kube: the pod). */
	char *pod;
	char *container;
	char *selector;
} tsarc_component;

int tsarc_transport_local_new(tsarc_transport **out, const cJSON *conf);
int tsarc_transport_kube_new(tsarc_transport **out, const cJSON *conf);
int tsarc_local_same_place(const cJSON *a, const cJSON *b, int with_dir);
int tsarc_kube_same_place(const cJSON *a, const cJSON *b, int with_dir);
/* A transport over `inner` (which stays the caller's, and must outlive
 * it) whose get reads each object once: asked again, a copy of what the
 * first call returned, or its TSARC_ENOTFOUND (read_once.c). Every other
 * call goes to `inner`; one that writes (apply, remove, write_config)
 * forgets what was read. A restore's plan reads the target through it:
 * one view of the target, and one kubectl call per object. */
int tsarc_transport_read_once(tsarc_transport **out, tsarc_transport *inner);
/* kube's replace_tree (backends/transports/kube_tree.c). */
int tsarc_kube_replace_tree(tsarc_transport *t, tsarc_component *c, struct tsarc_repo *repo,
	const struct tsarc_stream *st, unsigned inflight, const char *path, char **note);

/* What a source hands to the orchestration. */
typedef struct tsarc_production {
	tsarc_cmd cmd;             /* an external producer, run through c->tr */
	tsarc_writer_fn writer;    /* or an in-process one (writer != NULL) */
	void *writer_ctx;
	void (*writer_ctx_free)(void *ctx);
	/* What the writer learned while it ran (a Redis backup: which path,
	 * how many keys), added to the stream's metadata after it ended;
	 * NULL: nothing. Returns an object whose members are added, or NULL.
	 * Its member "report", an object, goes to the backup's report only,
	 * as the component's "detail". */
	cJSON *(*writer_meta)(void *ctx);
	/* An external producer that names per-file trouble on stderr (GNU
	 * tar in a pod): stderr_line gets each line of it as it comes
	 * (proc.h, err_line) with writer_ctx, and exit_ok says whether a
	 * non-zero exit status means only what those lines said, which then
	 * were warnings: the component succeeds. writer_meta and
	 * writer_ctx_free serve it as they serve a writer. */
	void (*stderr_line)(void *ctx, const char *line, size_t len, int cut);
	void (*stderr_end)(void *ctx); /* after its last line (proc.h, err_end) */
	int (*exit_ok)(void *ctx, int status);
	/* The external producer's output rewritten on its way into the stream
	 * (the pod tar's archive: tar_intake.h), on a thread of its own with
	 * writer_ctx; NULL: the output is the stream. */
	tsarc_filter_fn filter;
	cJSON *meta;               /* details for the manifest (owned) */
	tsarc_cmd version_cmd;     /* prints the tool's version; argc 0: none */
	const char *version_text;  /* a fixed version string instead */
	/* Optional: the tool's version (the first line version_cmd printed)
	 * checked against what the preparation learned of the source (meta),
	 * before the producer starts: a tool that would refuse its source says
	 * so with what to do, and nothing runs. */
	int (*version_check)(const cJSON *meta, const char *version, const char *component);
	/* The client's private TLS files (dbconn.h): removed once the
	 * producer has exited, or by the cleanup registry on a signal. */
	struct tsarc_db_tls *tls;
	/* The stream holds secrets (the resources kind's Secrets): the
	 * backup wipes every buffer that carried its plaintext before it
	 * frees it (tsarc_backup_secret_stream_fd). */
	int secret;
} tsarc_production;

/* The component kinds that use these: kind.h. */

/* Helpers shared by the sources (spec.c, json_merge.c, url.c, conn.c,
 * secret.c, names.c, cmd.c, shellquote.c); the file readers and the
 * replace writer are the engine's (fileio.h). */
const char *tsarc_spec_str(const cJSON *spec, const char *key);
int tsarc_spec_bool(const cJSON *spec, const char *key, int dflt);
/* Merges `over` into `base`: objects key by key, anything else replaces. */
int tsarc_json_merge(cJSON *base, const cJSON *over);
/* A port number field (number or numeric string); 0 when absent. */
int tsarc_spec_port(const cJSON *spec, const char *key, const char *comp, int *port);
/* Checks that every key of `obj` is in `allowed` (NULL-terminated);
 * TSARC_ECONFIG "WHERE: unknown field 'KEY'" for one that is not. */
int tsarc_check_keys(const cJSON *obj, const char *where, const char *const allowed[]);
/* The same for component `comp`'s fields ("component 'COMP': ..."). */
int tsarc_spec_check_keys(const cJSON *spec, const char *comp, const char *const allowed[]);
/* Adds every string of spec[key] (an array) to cmd; TSARC_ECONFIG otherwise. */
int tsarc_spec_add_args(tsarc_cmd *cmd, const cJSON *spec, const char *key, const char *comp);

typedef struct tsarc_url {
	char *scheme, *user, *password, *host, *path;
	int port;
} tsarc_url;
/* scheme://[user[:password]@]host[:port][/path]; user and password are
 * percent-decoded; in a redis:// or rediss:// URL a lone user[@] is the
 * password (redis://[[username:]password@]host, redis-cli's reading).
 * Errors never repeat the URL (it holds a password). */
int tsarc_url_parse(const char *text, tsarc_url *out);
void tsarc_url_free(tsarc_url *u);
/* Whether a URL's scheme may be shown in a message: made of a scheme's
 * characters (RFC 3986), and short. A Secret's URL is not ours. */
int tsarc_url_scheme_shown(const char *scheme);

/* Connection details of a database component: fields of the spec, over
 * the URL of a Secret when the component is external. The password comes
 * from password_env (our environment), password_file, or the URL. */
typedef struct tsarc_conn {
	char *host, *user, *password, *database, *socket;
	int port;
	int has_password;
	/* TLS (dbconn.h): a tsarc_tls_mode, and PEM contents (not paths). */
	int tls_mode;
	char *ssl_ca, *ssl_cert, *ssl_key;
	/* Where the user came from (tsarc_conn_sources says it): the
	 * configuration or nowhere, the Secret's URL, its user_key. */
	int user_from;
	/* The Secret was not used, the configuration naming the server: a
	 * tsarc_secret_unused (tsarc_conn_secret_lacks_url, _missing). */
	int secret_unused;
} tsarc_conn;
enum { TSARC_USER_FROM_CONFIG, TSARC_USER_FROM_URL, TSARC_USER_FROM_USER_KEY };
typedef enum tsarc_secret_unused {
	TSARC_SECRET_USED = 0,
	TSARC_SECRET_NO_URL_KEY, /* read, and left aside: it has no URL key */
	TSARC_SECRET_MISSING     /* there is no such Secret */
} tsarc_secret_unused;
int tsarc_conn_resolve(tsarc_component *c, tsarc_conn *out);
/* The same, and the Secret it read (external components; NULL for the
 * others) in *doc, which the caller frees with tsarc_secret_doc_free. */
int tsarc_conn_resolve_doc(tsarc_component *c, tsarc_conn *out, cJSON **doc);
/* The same from a URL already read (NULL: the spec's fields only). A
 * restore reads the target's Secrets before it writes anything, then
 * resolves from what it read (restore.c). */
int tsarc_conn_from_url(const tsarc_component *c, const char *url, tsarc_conn *out);
/* Its two halves: what the URL says (an error is the URL's, which the
 * caller names), then the configuration's fields over *conn (an error
 * names the component and the field: a password_file, not the Secret). */
int tsarc_conn_url_only(const tsarc_component *c, const char *url, tsarc_conn *out);
int tsarc_conn_fields_over(const tsarc_component *c, tsarc_conn *conn);
/* Whether an external component's Secret `doc` counts as none (1): it has
 * no URL key (url_secret's "key") and the configuration names the server
 * (host or socket), so the configuration alone says where the database
 * is. Without the key where the configuration names no server: an error
 * (TSARC_ENOTFOUND) that says what to give. 0: the Secret has the key.
 * Backup and restore decide it alike: a backup never reads another
 * database than the restore would write. */
int tsarc_conn_secret_lacks_url(const cJSON *spec, const cJSON *doc);
/* The same for a Secret that does not exist at all (`secret`: its name):
 * 1 where the configuration names the server, which then says where the
 * database is; else an error (TSARC_ENOTFOUND) naming the Secret and what
 * to give. A restore decides it too (target.c), and may take a snapshot's
 * copy instead where the restore is in place. */
int tsarc_conn_secret_missing(const cJSON *spec, const char *secret);
/* Whether the configuration names the database's server (host or socket):
 * then it alone says where the database is when the Secret cannot. */
int tsarc_conn_names_server(const cJSON *spec);
/* What of `conn`, read from the component's Secret with the fields of
 * `spec` over it, came from where, for a plan and a stream's metadata:
 * ", the user from its key DB_USER" (or "from its URL") where the
 * Secret's user is used, then "; from the configuration: host, port"
 * for the configuration's fields that were used (its user only where it
 * was: with its own password, or where the Secret names none). */
void tsarc_conn_sources(const cJSON *spec, const tsarc_conn *conn, char *out, size_t size);
/* The configuration's fields that say where a database is and that
 * `conn` uses ("host, port, user"); conn NULL: every one given. */
void tsarc_conn_config_fields(const cJSON *spec, const tsarc_conn *conn, char *out, size_t size);
/* A deep copy (the password included: it is wiped by tsarc_conn_free). */
int tsarc_conn_dup(const tsarc_conn *from, tsarc_conn *to);
void tsarc_conn_free(tsarc_conn *conn);

/* Reads data[key] of a Secret (base64-decoded) through `tr`. */
int tsarc_secret_value(tsarc_transport *tr, const char *secret, const char *key, char **out);
/* The same from a Secret object already in hand (`secret` names it in
 * messages). TSARC_ENOTFOUND when it has no such key. */
int tsarc_secret_doc_value(const cJSON *doc, const char *secret, const char *key, char **out);
/* An optional key of a Secret (`doc` may be NULL): *out NULL when it has
 * none or it is empty (the operator writes empty optional keys). */
int tsarc_secret_doc_optional(const cJSON *doc, const char *secret, const char *key,
	char **out);
/* The same for a key holding a PEM file's contents: NUL bytes after the
 * text are dropped (MySQL ends the files it makes with one). */
int tsarc_secret_doc_pem(const cJSON *doc, const char *secret, const char *key, char **out);
/* Wipes every string of a Secret object (may be NULL) in place; the free
 * does it first: one kept for a whole run (a Redis step's TLS keys and
 * passwords) must not linger in freed heap. */
void tsarc_secret_doc_wipe(cJSON *doc);
void tsarc_secret_doc_free(cJSON *doc);
/* Text a transport read that may be a Secret (kubectl's output, a file of
 * the local folder), `len` bytes of it: the parsed document when it is a
 * JSON object, else NULL, and whatever did parse (an array of Secrets, a
 * string) wiped before it is deleted. The caller sets the message. */
cJSON *tsarc_secret_doc_parse_object(const char *text, size_t len);
/* A Secret (or a List of them) as JSON text (`formatted`: cJSON_Print's
 * layout, else unformatted), *len its length; NULL when out of memory.
 * cJSON_Print grows its buffer by realloc, which gives each outgrown copy
 * back unwiped: this prints into buffers of its own, every one it drops
 * wiped. The caller frees the text with tsarc_secure_free(text, *len + 1). */
char *tsarc_secret_doc_print(const cJSON *doc, int formatted, size_t *len);
/* Deletes `name` from `obj` (a Secret's part), its strings wiped first. */
void tsarc_secret_doc_delete_item(cJSON *obj, const char *name);
/* The values the Secrets of `doc` (a List, or one object) hold, as a
 * NULL-ended array for tsarc_proc's hide (*out NULL when it holds none):
 * each data value as written (base64) and decoded (those of 12 bytes or
 * more), each stringData value. Freed, each wiped, by
 * tsarc_secret_values_free (which takes NULL). */
int tsarc_secret_values(const cJSON *doc, char ***out);
void tsarc_secret_values_free(char **vals);
/* Adds to *vals (such an array, or NULL) every line of `text` (a server's
 * configuration, which holds its password) of 8 bytes or more, as it is
 * and as JSON quotes it once and twice: kubectl prints an object inside a
 * JSON patch, and again inside the last-applied annotation. */
int tsarc_hide_text_lines(char ***vals, const char *text);

/* Drops status, the server-owned metadata, the last-applied annotation
 * and labels starting with any of `label_prefixes` (a cJSON array). */
void tsarc_resource_sanitize(cJSON *doc, const cJSON *label_prefixes);
/* An empty v1 List (what `kubectl apply -f -` takes as one object); its
 * "items" array in *items. NULL when out of memory. */
cJSON *tsarc_resource_list_new(cJSON **items);

/*
 * Rules for names that reach a shell, a command line or a path, whether
 * they come from a config or from a snapshot (untrusted: anyone who can
 * write the repository writes its metadata). Each returns 1 when `s`
 * (may be NULL: 0) follows the rule.
 */
/* A shell variable name: [A-Za-z_][A-Za-z0-9_]*, at most 255 characters. */
int tsarc_valid_env_name(const char *s);
/* A Kubernetes kind: [A-Za-z][A-Za-z0-9]*, at most 63 characters. */
int tsarc_valid_kube_kind(const char *s);
/* A Kubernetes object name, DNS-1123 subdomain: at most 253 characters,
 * dot-separated labels of [a-z0-9-] that start and end with [a-z0-9]. */
int tsarc_valid_kube_name(const char *s);
/* A resource type as kubectl takes it (secret, configmaps,
 * apimanagers.apps.3scale.net): a DNS-1123 subdomain, upper case allowed. */
int tsarc_valid_kube_type(const char *s);
/* Whether objects of kind `kind` are what resource type `type` names, as
 * kubectl's resource names are the kinds lower-cased: the type's first
 * dot-separated label (before an API group) is the kind or its plural
 * (-s; -es after s, x, z, h; -y to -ies), letter case aside (safe: the
 * API server knows a kind only as its group spells it). Secret is secret
 * or secrets, APIManager apimanagers.apps.3scale.net; a short name (cm)
 * names none. The kind alone does not say the object is of the type: see
 * tsarc_kube_object_of_type. */
int tsarc_kube_kind_of_type(const char *kind, const char *type);
/* A Kubernetes apiVersion: VERSION (the core group) or GROUP/VERSION,
 * GROUP a DNS-1123 subdomain (lower case), VERSION as Kubernetes spells
 * versions, v<digits>[alpha|beta<digits>]: v1, v1beta1, v2alpha3. */
int tsarc_valid_kube_api_version(const char *s);
/* The API group of resource type `type` in *group, when it is known
 * (returns 1): what follows its first dot (apimanagers.apps.3scale.net;
 * kubectl's RESOURCE.VERSION.GROUP too), else the group of the kinds
 * tsarc knows, "" (the core group) for secret(s) and configmap(s),
 * apps.3scale.net for apimanager(s). Returns 0 for any other type
 * without a group, *group NULL. */
int tsarc_kube_type_group(const char *type, const char **group);
/* Whether an object of `api_version` and `kind` is what resource type
 * `type` names. A kind is only a name within an API group: any custom
 * resource definition of the cluster may have kind Secret in its own
 * group, and `kubectl apply` of {"apiVersion": "evil.example/v1", "kind":
 * "Secret"} makes one of those. So: the kind is of the type
 * (tsarc_kube_kind_of_type), the apiVersion is one
 * (tsarc_valid_kube_api_version), and its group is the type's
 * (tsarc_kube_type_group; letter case aside), exactly v1 for the core
 * group; of a type whose group is not known, any group but the core one
 * (of the core kinds, a restore applies Secrets and ConfigMaps only: a
 * custom resource named without its group, never a v1 object). A
 * resources restore applies only these. */
int tsarc_kube_object_of_type(const char *api_version, const char *kind, const char *type);


/* Checks a restore recipe (a component's "restore" in a config, or the
 * copy a snapshot carries): variable names, Kubernetes names, types of
 * the fields restore reads. Errors have `code` and start with `where`. */
int tsarc_recipe_check(const cJSON *recipe, int code, const char *where);
/*
 * Keeps of a snapshot's copy of a recipe only what describes its data:
 * the order, the names an apply leaves out, the fields and columns that
 * hold the domain, how a dump's database is created, cleaned and its
 * DEFINERs treated. Everything else comes from the target configuration
 * (its profile included), never from the repository, which anyone who can
 * write it writes: the action, where a restore writes (a tree's path, a
 * Redis configuration file or ConfigMap, data folder, workload to roll
 * out), and what runs with which arguments and variables (command,
 * start_command, tool, options, env, pod_env, pod_password_env).
 */
void tsarc_recipe_keep_snapshot_fields(cJSON *recipe);
/* Checks what restore reads from a stream's metadata (component, kind,
 * resource, items, the recipe): TSARC_EUNSAFE naming the field. */
int tsarc_stream_meta_check(const char *stream, const cJSON *meta);

/* "NAME=VALUE" for each variable named in `names` (a cJSON array: a
 * transport's pass_env) that is set in our environment, NULL-terminated;
 * freed (wiped) by tsarc_env_list_free. */
int tsarc_env_collect(const cJSON *names, char ***out);
void tsarc_env_list_free(char **list);
/* The entries of `a` then `b` (either may be NULL) in one NULL-terminated
 * array of the same pointers; free() it, not the strings. NULL: no memory. */
char **tsarc_env_concat(char *const a[], char *const b[]);

/* Single-quotes `s` for a POSIX shell. */
int tsarc_shell_quote(const char *s, char **out);

/* A loaded configuration: the profile with the config merged over it. */
struct tsarc_deploy {
	cJSON *eff;       /* effective configuration */
	tsarc_config conf; /* the same, typed (pointers into eff) */
	char *origin;     /* the config file, for messages */
	unsigned parallel;
};

#endif
