#ifndef TSARC_DEPLOY_KIND_H
#define TSARC_DEPLOY_KIND_H

/*
 * A component kind (mysql, postgres, redis, files, resources, exec) is one
 * plug-in that owns its kind in both directions: it checks a component's
 * fields, turns the component into a byte stream (dump) and puts a stream
 * back (restore). Each lives in backends/components/, one file or folder
 * per kind, and is found by name in one registry (kinds.c): adding a kind
 * is its file plus one line there.
 *
 * The restore side sees one step of a restore (tsarc_step) and the run it
 * belongs to (tsarc_restore_ctx): where the snapshot is, the options, the
 * transports. What the kinds share to do their restore (streaming a
 * snapshot stream into a command, notes, progress) is declared below and
 * lives in step.c.
 */
#include "component.h"
#include "deploy.h"

#include <stdint.h>

struct tsarc_repo;
struct tsarc_snapshot;
struct tsarc_stream;
struct tsarc_buf;

/* Resources are a few KB; anything near this is not a resource list. */
#define TSARC_RESOURCES_MAX (64u * 1024u * 1024u)
/* What a restore command or hook prints that we keep. */
#define TSARC_CAPTURE_MAX (1024u * 1024u)

typedef enum {
	TSARC_STEP_PENDING,
	TSARC_STEP_DONE,
	TSARC_STEP_FAILED,
	TSARC_STEP_SKIPPED
} tsarc_step_state;

typedef struct tsarc_kind tsarc_kind;

/* What a kind's restore writes into, for the endpoint the planner
 * resolves before the first write and compares with the snapshot's
 * source: resources of a deployment, a database (host, port, socket,
 * user, database), a whole server (the same without a database), a
 * folder tree, a command that consumes the stream, or a place only the
 * kind knows how to name (an S3 bucket: the kind's resolve hook). */
typedef enum {
	TSARC_TARGET_RESOURCES,
	TSARC_TARGET_DATABASE,
	TSARC_TARGET_SERVER,
	TSARC_TARGET_TREE,
	TSARC_TARGET_COMMAND,
	TSARC_TARGET_OWN
} tsarc_target;

/* One step of a restore: a component's stream, or a post_restore hook. */
typedef struct tsarc_step {
	const char *component;
	const char *kind;
	const char *action; /* apply, sql, replace-tree, redis-rdb, exec, hook */
	/* The kind that runs the action, found by the planner (NULL: a hook). */
	const tsarc_kind *impl;
	int order;
	const struct tsarc_stream *st;
	cJSON *recipe;      /* owned: snapshot recipe with the target's over it */
	const cJSON *spec;  /* the target component, or the hook */
	tsarc_step_state state;
	int selected;
	char label[40];     /* hooks: post_restore[N] */
	char *note;         /* why skipped, or what it did */
	char *error;
	cJSON *detail;      /* owned */
	/* Where it writes, resolved before the first write of the restore
	 * (resolve_targets); never a password. */
	cJSON *endpoint;    /* owned */
	cJSON *source;      /* owned: the snapshot's recorded source, or NULL */
	tsarc_conn conn;    /* sql, redis-rdb: the connection, password included */
	int has_conn;
	/* The target's Secret as read before the first write (owned), for a
	 * kind that reads more of it than the URL (its wants_secret_doc);
	 * NULL when none was read. */
	cJSON *secret_doc;
	/* What the kind's admit found of the target, for its describe
	 * (owned; NULL: nothing): the plan asks the target once (a Redis
	 * step: one connection, its memory, the pod's configuration). */
	cJSON *admitted;
	/* The step created what it wrote into (a database the target did not
	 * have): an undo removes it (tsarc_kind undo_remove). */
	int created;
	/* A stream of another component restored into this one, converted
	 * (plan.c): that component's name, and the step's own copy of the
	 * stream (st points to it; owned), whose `convert` says how. */
	const char *converted_from;
	struct tsarc_stream *own_st;
} tsarc_step;

/* One restore run. */
typedef struct tsarc_restore_ctx {
	tsarc_deploy *d;
	struct tsarc_repo *repo;
	const struct tsarc_snapshot *snap;
	const tsarc_restore_opts *o;
	tsarc_transports tr;
	tsarc_transport *deftr;
	tsarc_step *steps;
	size_t n;
	cJSON *absent; /* components of the target config with no stream */
	/* Components (or streams) of the snapshot that the target config
	 * does not restore: not in it, disabled, or no component takes. */
	cJSON *left_out;
	/* The layout's decisions (layout.h), owned: why a component the
	 * profile has is enabled or not, for the refusals that name it. */
	cJSON *layout;
	cJSON *target_place;   /* where the target's resources are (owned) */
	cJSON *snapshot_place; /* where the snapshot's were, or NULL (owned) */
	const char *migration; /* why this restore is a migration, or NULL */
	cJSON *warnings;       /* strings for the plan and the report (owned) */
	int in_place;          /* known to be the snapshot's own deployment */
	cJSON *state;          /* steps not known to be applied (state.c), or NULL */
	/* --undo-snapshot (undo.h): the snapshot of what the restore replaces
	 * (empty: none), and the rollback's outcome for the report, or NULL. */
	char undo_id[TSARC_SNAPSHOT_ID_LEN + 1];
	/* Whether a failure or a signal is rolled back (the undo backup was
	 * taken; it may hold nothing when the target lacked all of it), and
	 * what the target lacked {component: "database NAME"} (owned). */
	int undo_active;
	cJSON *undo_absent;
	cJSON *rollback;
	cJSON *state_undo; /* the state's undo map (state.c), or NULL */
} tsarc_restore_ctx;

struct tsarc_kind {
	const char *name;
	const char *extension; /* of the default stream name */
	int runs_in_pod;       /* with kube: needs a pod (resources do not) */
	int default_port;      /* a database's, for endpoints; 0: none */
	/* The restore action of its streams (what a recipe's "action" names),
	 * and whether a component of another kind may name it too (exec: any
	 * stream into a command; sql: only a SQL dump into its own client). */
	const char *action;
	int action_for_any_kind;
	tsarc_target target;
	/* The restore reads the whole endpoint Secret, not only its URL
	 * (redis: TLS, ACL and Sentinel fields): the planner keeps it in the
	 * step (secret_doc). */
	int wants_secret_doc;
	/* The schemes a URL of its endpoint Secret may have (NULL-ended;
	 * MySQL: mysql2:// and mysql://, as 3scale and its operator read
	 * them), or NULL: any; and what such a URL names ("a MySQL
	 * database"). A URL of another database is refused before any client
	 * runs, naming the kind that connects to it (conn.c). */
	const char *const *url_schemes;
	const char *url_names;
	/* The fields a component of the kind may have (NULL-ended; every
	 * kind has them): any other is refused before anything runs. */
	const char *const *fields;
	/* Optional: checks what the fields hold, after `fields`. */
	int (*validate)(const cJSON *spec, const char *name);
	/* Backup: prepares the production (commands, writer, metadata). */
	int (*dump)(tsarc_component *c, tsarc_production *out);
	/* Plan: what step `s` will do, for --dry-run: "target" (`where` is the
	 * resolved endpoint in words) and "replaces", at least. Read-only. */
	void (*describe)(tsarc_restore_ctx *r, const tsarc_step *s, const char *where,
		cJSON *plan);
	/* Plan, optional: refuses, before the first write of the restore,
	 * what step `s`'s stream says it holds (its metadata, untrusted) that
	 * the target does not take. Called once the step's target is resolved
	 * (s->endpoint, s->conn, s->secret_doc). May keep what it read of the
	 * target for describe in s->admitted. */
	int (*admit)(tsarc_restore_ctx *r, tsarc_step *s);
	/* Plan, optional: warnings of a migration (r->warnings) about what
	 * step `s` will write. */
	void (*warn_migration)(tsarc_restore_ctx *r, const tsarc_step *s);
	/* TSARC_TARGET_OWN: resolves step `s`'s target into `ep` before the
	 * first write of the restore, from the target's configuration and its
	 * Secrets as they are now (never the snapshot's copies), with "text"
	 * (for people) and "identity" (two endpoints with the same identity
	 * are the same place: a migration into it is refused). May keep what
	 * it read in s->secret_doc. */
	int (*resolve)(tsarc_restore_ctx *r, tsarc_step *s, cJSON *ep);
	/* TSARC_TARGET_OWN: the snapshot's recorded source of step `s` in the
	 * same terms ("text", "identity"), or NULL when it recorded none. */
	cJSON *(*recorded_source)(const tsarc_step *s);
	/* Restore: runs step `s` (its action is this kind's). */
	int (*restore)(tsarc_restore_ctx *r, tsarc_step *s);
	/* --undo-snapshot, optional (undo.c): before the undo backup, whether
	 * the target lacks what step `s` would create and write into (a
	 * database): *what names it (to free), or NULL when the target has
	 * it. What is absent cannot be backed up; a rollback removes what the
	 * step created instead, with undo_remove (nothing when s->created is
	 * 0: the step did not create it). */
	int (*undo_absent)(tsarc_restore_ctx *r, tsarc_step *s, char **what);
	int (*undo_remove)(tsarc_restore_ctx *r, tsarc_step *s);
	/* Optional: the streams of other kinds a restore converts into this
	 * kind's (snapshot.h), NULL-ended: a component of this kind that
	 * takes the place of another (layout.h "storage_when") restores the
	 * other's stream when the snapshot holds that one only. */
	const struct tsarc_stream_conversion *const *converts;
	/* What shared describe/restore functions need to know of this kind
	 * (the SQL kinds: their client, db.h), or NULL. */
	const void *data;
};

/* The kind called `name`, or NULL. */
const tsarc_kind *tsarc_kind_find(const char *name);
/* The registry's i-th kind (0, 1, ...), NULL past the last one. */
const tsarc_kind *tsarc_kind_at(size_t i);
/* The registered kinds' names, ", "-separated, for a message that lists
 * them (cut short to fit `size`). */
void tsarc_kind_names(char *buf, size_t size);
/* The kind that runs `action` for a stream of kind `kind` (may be NULL):
 * the stream's own kind when the action is its own, else the kind whose
 * action any kind may name. TSARC_ECONFIG naming `component` otherwise. */
int tsarc_kind_for_action(const char *kind, const char *action, const char *component,
	const tsarc_kind **out);

/* ---- what the kinds' restores share (step.c) ---- */

void tsarc_restore_progress(tsarc_restore_ctx *r, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* Replaces the step's note (what it did, or why it was skipped). */
void tsarc_step_note(tsarc_step *s, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* Where a component or hook runs: its own "transport", this host for an
 * external database, else the deployment's transport. */
int tsarc_step_transport(tsarc_restore_ctx *r, const cJSON *spec, tsarc_transport **out);
/* Whether step `s`'s client runs in the deployment's workload (a pod): a
 * plan runs nothing there, so its checks of such a target are left to
 * the step. */
int tsarc_step_in_pod(tsarc_restore_ctx *r, const tsarc_step *s);
/* A kind's admit keeps the plan's word `key` (what it found of the
 * target) in s->admitted; tsarc_step_plan_admitted adds them all to the
 * step's `plan` (its describe), so that the target is not asked again. */
int tsarc_step_admitted_word(tsarc_step *s, const char *key, const char *text);
void tsarc_step_plan_admitted(const tsarc_step *s, cJSON *plan);
/* The component of step `s` as the transports take it; clear it with
 * tsarc_component_clear. */
int tsarc_step_component(tsarc_restore_ctx *r, const tsarc_step *s, tsarc_component *c);
void tsarc_component_clear(tsarc_component *c);
/* A copy of the connection resolved before the first write of the
 * restore: a step never looks its endpoint up again, when the Secrets may
 * already be the snapshot's. */
int tsarc_step_conn(const tsarc_step *s, tsarc_conn *conn);
/* Streams `st` (between `pre` and `post`, may be NULL) into `cmd` run
 * through the component's transport; a failure while feeding it kills the
 * consumer before its input ends. `what` names it in messages. */
int tsarc_restore_stream_into(tsarc_restore_ctx *r, tsarc_component *c, const tsarc_cmd *cmd,
	const struct tsarc_stream *st, const char *pre, const char *post, const char *what);
/* The filters (filter.h) a stream goes through on its way, in order,
 * which stay the caller's: a MySQL dump's DEFINER clauses and binary
 * log settings removed (mysqlstrip.h), what psql must not run refused before it is written
 * (psqlguard.h), a MySQL load kept in its database (mysqlguard.h), one
 * database's part of a whole server's dump (psqlsection.h). */
struct tsarc_filter;
typedef struct tsarc_stream_filters {
	const struct tsarc_filter *f;
	size_t n;
	/* Set by tsarc_restore_stream_check: the stream was read whole
	 * through fresh copies of the filters, which let `size` bytes
	 * through. */
	int checked;
	unsigned long long size;
} tsarc_stream_filters;
/* tsarc_restore_stream_into through `filters` (may be NULL). A filter's
 * error fails the step, the consumer killed first. */
int tsarc_restore_stream_filtered(tsarc_restore_ctx *r, tsarc_component *c,
	const tsarc_cmd *cmd, const struct tsarc_stream *st, const char *pre, const char *post,
	const char *what, const tsarc_stream_filters *filters);
/* Reads `st` whole through fresh copies of `filters`, writing nothing: an
 * unreadable or damaged chunk, or a filter's refusal, is an error before
 * the step's first write. For a consumer that applies its input as it
 * reads it (mysql: then nothing of such a stream applies). Marks `filters`
 * checked, so that tsarc_restore_stream_filtered does not read it again
 * for its size (a consumer in a pod is framed by it). */
int tsarc_restore_stream_check(tsarc_restore_ctx *r, const struct tsarc_stream *st,
	tsarc_stream_filters *filters);
/* Reads `st` through fresh copies of `filters` only until the filters
 * that can say so (filter.h settled) let the rest through as it is, or to
 * its end when none can; writes nothing. Their refusal, or an
 * unreadable or damaged chunk on the way, is the error: for a plan, which
 * then refuses what the step would refuse once the steps before it had
 * written (a pg_dump head a server cannot take, psqlhead.h). Chunks are
 * verified as they are read; the whole stream's checksum is not, unless
 * it is read to its end. */
int tsarc_restore_stream_head_check(tsarc_restore_ctx *r, const struct tsarc_stream *st,
	const tsarc_stream_filters *filters);
/* A whole (small) stream into `out`, at most `max` bytes: a resources
 * stream, Secrets, so `out` is marked wipe (tsarc/buf.h) and its dispose
 * wipes it. */
int tsarc_restore_read_stream(tsarc_restore_ctx *r, const struct tsarc_stream *st, size_t max,
	struct tsarc_buf *out);
/* The whole Secret `name` as the snapshot holds it (a copy: free it with
 * tsarc_secret_doc_free); TSARC_ENOTFOUND when it holds none. For a
 * target resolved in place only (r->in_place): during a migration the
 * snapshot's Secrets name the source's endpoints (target.c). */
int tsarc_snapshot_secret_doc(tsarc_restore_ctx *r, const char *name, cJSON **doc_out);
/* The resource `name` of type `type` (configmap, ...) as a pending step
 * ordered before step `s` applies it (its List as the apply sends it:
 * resources.c), into *out (a copy: free it with tsarc_secret_doc_free),
 * that step into *by; TSARC_ENOTFOUND when no step before `s` applies
 * one, and `s` then finds the target's own. What a step reads of the
 * deployment (the RDB swap: redis-config) is that object by the time it
 * runs, so the plan judges it, not the target's as it is now. */
int tsarc_restore_applied_before(tsarc_restore_ctx *r, const tsarc_step *s, const char *type,
	const char *name, cJSON **out, const tsarc_step **by);
/* `s` (may be NULL) is a string of array `arr`. */
int tsarc_str_in_array(const cJSON *arr, const char *s);

#endif
