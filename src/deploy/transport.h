#ifndef TSARC_DEPLOY_TRANSPORT_H
#define TSARC_DEPLOY_TRANSPORT_H

/*
 * A transport: where a component's commands run and its resources live
 * (this host, a pod of a cluster). The deployment layer never asks which
 * transport it has, only what it can do: every capability below that a
 * transport may lack is a NULL pointer or a missing flag, and the caller
 * asks for the capability, never for the transport's name. The
 * transports are found by name in one registry (backends/transports/registry.c); adding one
 * is a file in backends/transports/ and a line there.
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include "proc.h"

typedef struct tsarc_transport tsarc_transport;
struct tsarc_component;
struct tsarc_cmd;
struct tsarc_repo;
struct tsarc_stream;

/* Flags of tsarc_transport.caps. */
enum {
	/* Commands run inside the component's workload, found first by
	 * locate: its own variables are there (pod_env, pod_password_env)
	 * and its server answers on its local address. */
	TSARC_TR_IN_WORKLOAD = 1u << 0,
	/* Paths name files of this host: tsarc reads a files component's
	 * tree itself instead of running tar. */
	TSARC_TR_HOST_FILES = 1u << 1,
};

/*
 * A server's configuration as a transport keeps it (a file of this host,
 * the key of a ConfigMap), with the original kept aside while it is
 * replaced: somewhere a later run finds it even if this one is killed.
 */
typedef struct tsarc_server_config {
	/* Set by the caller: which configuration. */
	const char *file;   /* a file of the transport's host */
	const char *object; /* the ConfigMap holding it */
	const char *key;    /* its key in the ConfigMap */
	/* Filled by read_config. */
	char *text;         /* the configuration as found */
	char *saved;        /* the original kept by an earlier replace, or NULL */
	char where[600];    /* names the configuration in messages */
	char saved_where[700]; /* names where the original is kept */
	void *priv;         /* the transport's own, freed by priv_free */
	void (*priv_free)(void *priv);
} tsarc_server_config;

struct tsarc_transport {
	const char *type; /* its name in the registry, for messages and metadata */
	unsigned caps;    /* TSARC_TR_* */
	/* Finds where component `c` runs (kube: a running pod by label with
	 * the container) and fills c->pod/container/selector; with no
	 * TSARC_TR_IN_WORKLOAD, there is nothing to find and it does nothing. */
	int (*locate)(tsarc_transport *t, struct tsarc_component *c);
	/* Starts `cmd` for component `c` with its stdout into p->out_fd. */
	int (*spawn)(tsarc_transport *t, const struct tsarc_component *c,
		const struct tsarc_cmd *cmd, tsarc_proc *p);
	/* Runs `cmd` to completion, stdout (at most `max` bytes) into *out. */
	int (*capture)(tsarc_transport *t, const struct tsarc_component *c,
		const struct tsarc_cmd *cmd, size_t max, char **out);
	/* One resource as JSON (name given), or every one of its type as a
	 * cJSON array (name NULL). TSARC_ENOTFOUND when it does not exist
	 * (or, name NULL, when the type itself does not exist). */
	int (*get)(tsarc_transport *t, const char *type, const char *name, cJSON **out);
	/* Creates or replaces every resource of `list` (a v1 List of
	 * sanitized objects) in `namespace`, or the transport's own when NULL:
	 * kube `apply -n NS -f -`, local one JSON file each with the
	 * namespace written into it. */
	int (*apply)(tsarc_transport *t, const cJSON *list, const char *namespace);
	/* Optional: whether apply would take every object of `list`,
	 * asked of what stores them with nothing stored (kube: `apply
	 * --dry-run=server`, the API server's validation, admission,
	 * immutable fields and RBAC). A restore asks before its first write,
	 * since an apply goes on past an object refused. NULL: nothing
	 * refuses an object that apply's own checks took. */
	int (*check_apply)(tsarc_transport *t, const cJSON *list, const char *namespace);
	/* Deletes resource `name` of `type` from `namespace` (the
	 * transport's own when NULL); one already gone is no error. Only the
	 * restore of an undo snapshot calls it, for what the restore it
	 * undoes created (resources.c). */
	int (*remove)(tsarc_transport *t, const char *type, const char *name,
		const char *namespace);
	/* Restarts a workload and waits until it is rolled out. NULL: the
	 * transport has no workloads; a server is restarted by commands. */
	int (*rollout)(tsarc_transport *t, const char *workload);
	/* Reads a server's configuration (cfg->file or cfg->object/key: the
	 * transport says which it takes in config_field). */
	int (*read_config)(tsarc_transport *t, tsarc_server_config *cfg);
	/* Replaces it by `text`; `saved` (the original) is kept durably
	 * before or with the change, NULL removes what was kept. */
	int (*write_config)(tsarc_transport *t, tsarc_server_config *cfg, const char *text,
		const char *saved);
	/* The restore recipe's field naming the configuration read_config
	 * takes ("config_file", "config_map"); NULL with no read_config. */
	const char *config_field;
	/* Replaces the tree at `path` with the tar stream `st` (extras
	 * deleted, no entry escapes it, swapped whole). `*note` (allocated)
	 * says what was done. */
	int (*replace_tree)(tsarc_transport *t, struct tsarc_component *c,
		struct tsarc_repo *repo, const struct tsarc_stream *st, unsigned inflight,
		const char *path, char **note);
	/* Adds where-from details to a stream's metadata. */
	void (*describe)(tsarc_transport *t, const struct tsarc_component *c, cJSON *source);
	void (*free)(tsarc_transport *t);
};

/* Frees what read_config filled in. */
void tsarc_server_config_dispose(tsarc_server_config *cfg);

/* One registered transport: its name in configs, its constructor (which
 * takes the configuration's "transport" object), and what a restore needs
 * to read the places its transports recorded (describe) in a snapshot. */
typedef struct tsarc_transport_type {
	const char *name;
	int (*create)(tsarc_transport **out, const cJSON *conf);
	unsigned caps; /* what its transports have (TSARC_TR_*) */
	/* Whether two places it described (normalized: "host" read as
	 * "machine") are one: 1, 0, or -1 when they do not say. with_dir:
	 * where resources are kept counts. */
	int (*same_place)(const cJSON *a, const cJSON *b, int with_dir);
} tsarc_transport_type;

/* The registry (NULL-name terminated); and one type by name, or NULL. */
extern const tsarc_transport_type tsarc_transport_types[];
const tsarc_transport_type *tsarc_transport_type_find(const char *name);
/* "local, kube": the names, for messages. */
void tsarc_transport_names(char *buf, size_t size);

/* One transport of each type per run, made when first needed. */
typedef struct tsarc_transports {
	const cJSON *conf; /* the effective configuration's "transport" */
	tsarc_transport *made[8];
} tsarc_transports;

/* The transport called `name`; TSARC_ECONFIG naming it when no
 * transport has that name. */
int tsarc_transports_get(tsarc_transports *t, const char *name, tsarc_transport **out);
void tsarc_transports_dispose(tsarc_transports *t);

#endif
