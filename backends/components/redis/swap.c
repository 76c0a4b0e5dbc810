#define _GNU_SOURCE /* strndup, asprintf */
/*
 * The restore of a Redis RDB (action redis-rdb): the server loads an RDB
 * only at start, so the backup's RDB is written next to its data, the
 * server restarted with persistence off (so it saves nothing over the
 * swapped files), its old dump.rdb and AOF moved aside, the RDB put in
 * place, the server restarted to load it, and persistence put back (AOF
 * rewritten from memory first when it was on). The original persistence
 * configuration is kept durably while it is off, and put back by the step,
 * by a signal's cleanup, or by the next run after a crash.
 */
#include "redis.h"
#include "interrupt.h"
#include "snapshot.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A redis.conf or pid file; anything larger is not one. */
#define REDIS_CONF_MAX (16u * 1024u * 1024u)
/* How long a Redis server may take to stop or to load its data set. */
#define REDIS_WAIT_SECONDS 300

typedef struct redis_op {
	tsarc_restore_ctx *r;
	tsarc_step *s;
	tsarc_component c;
	tsarc_conn conn;
	int kube;
	const char *pod_pw;
	char *data_dir, *dbfilename, *aof_dir, *aof_file, *pidfile;
	char *config_file;     /* local: the server's redis.conf */
	const char *config_map, *config_key, *workload; /* kube */
	cJSON *cm;             /* kube: the ConfigMap as found */
	char *orig_conf;       /* persistence as configured */
	char *saved_path;      /* local: CONFIG.tsarc-orig, the original kept durably */
	int aof_on;            /* originally appendonly yes */
	int conf_switched;     /* the off-config is (or may be) in place */
	int server;            /* 0 untouched, 1 stopped by us, 2 running the off-config */
	tsarc_cleanup undo;    /* puts the original configuration back */
	char undo_what[300];
	tsarc_cleanup incoming; /* removes DBFILENAME.tsarc-incoming until it is moved in */
	char incoming_what[300];
	char *earlier;         /* what undoing an earlier interrupted swap did */
} redis_op;

static int redis_cli(redis_op *op, const char *const args[], char **out)
{
	tsarc_cmd cmd;
	size_t i;
	int rc;

	tsarc_cmd_init(&cmd);
	rc = tsarc_cmd_arg(&cmd, "redis-cli");
	if (!rc && op->conn.host && !op->kube)
		rc = tsarc_cmd_arg(&cmd, "-h") || tsarc_cmd_arg(&cmd, op->conn.host);
	if (!rc && op->conn.port)
		rc = tsarc_cmd_arg(&cmd, "-p") || tsarc_cmd_argf(&cmd, "%d", op->conn.port);
	if (!rc && op->conn.user)
		rc = tsarc_cmd_arg(&cmd, "--user") || tsarc_cmd_arg(&cmd, op->conn.user);
	for (i = 0; !rc && args[i]; i++)
		rc = tsarc_cmd_arg(&cmd, args[i]);
	if (!rc && !op->kube && op->conn.has_password)
		rc = tsarc_cmd_env(&cmd, "REDISCLI_AUTH", op->conn.password);
	if (!rc && op->kube && op->pod_pw)
		rc = tsarc_cmd_pod_env(&cmd, "REDISCLI_AUTH", op->pod_pw);
	if (!rc)
		rc = op->c.tr->capture(op->c.tr, &op->c, &cmd, TSARC_CAPTURE_MAX, out);
	tsarc_cmd_free(&cmd);
	return rc;
}

/* CONFIG GET NAME: the second line, or an empty string (unknown name). */
static int redis_config_get(redis_op *op, const char *name, char **value)
{
	const char *args[] = {"CONFIG", "GET", name, NULL};
	char *out = NULL, *nl;
	int rc;

	if ((rc = redis_cli(op, args, &out)))
		return rc;
	nl = strchr(out, '\n');
	*value = strndup(nl ? nl + 1 : "", nl ? strcspn(nl + 1, "\r\n") : 0);
	free(out);
	return *value ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

/* "db0:keys=12,expires=0,avg_ttl=0" -> "db0:keys=12;" for every db. */
static int redis_keyspace(redis_op *op, char **out)
{
	const char *args[] = {"INFO", "keyspace", NULL};
	char *text = NULL, *p;
	tsarc_buf b = TSARC_BUF_INIT;
	int rc;

	if ((rc = redis_cli(op, args, &text)))
		return rc;
	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, "db", 2)) {
			size_t len = strcspn(p, ",\r\n");
			tsarc_buf_append(&b, p, len);
			tsarc_buf_append(&b, ";", 1);
		}
	}
	tsarc_buf_append(&b, "", 1);
	free(text);
	*out = (char *)b.ptr;
	return *out ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

static int redis_wait_ping(redis_op *op, int want_up)
{
	const char *args[] = {"PING", NULL};
	int i;

	for (i = 0; i < REDIS_WAIT_SECONDS * 10; i++) {
		char *out = NULL;
		int rc, up;
		if (tsarc_interrupted())
			return tsarc_interrupt_error();
		rc = redis_cli(op, args, &out);
		up = !rc && out && !strncmp(out, "PONG", 4);
		free(out);
		if (up == want_up)
			return 0;
		usleep(100000);
	}
	return tsarc_error_set(TSARC_EIO, "component '%s': Redis %s within %d s", op->s->component,
		want_up ? "did not answer PING (still loading or not started)" : "did not stop",
		REDIS_WAIT_SECONDS);
}

/* When the line [line, line + len) of a redis.conf is the directive
 * `name` (leading blanks allowed), what follows the name; else NULL. */
static const char *conf_directive(const char *line, size_t len, const char *name)
{
	const char *end = line + len, *q = line;
	size_t n = strlen(name);

	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	if ((size_t)(end - q) < n || strncmp(q, name, n))
		return NULL;
	q += n;
	return q == end || *q == ' ' || *q == '\t' ? q : NULL;
}

/* Persistence off: every save line and appendonly commented out, then
 * save "" and appendonly no (the seed's edit of redis-config). */
static char *persistence_off(const char *conf)
{
	tsarc_buf b = TSARC_BUF_INIT;
	const char *p = conf;

	while (*p) {
		size_t len = strcspn(p, "\n");
		if (conf_directive(p, len, "save") || conf_directive(p, len, "appendonly"))
			tsarc_buf_puts(&b, "# tsarc restore: ");
		tsarc_buf_append(&b, p, len);
		tsarc_buf_puts(&b, "\n");
		p += len;
		if (*p == '\n')
			p++;
	}
	tsarc_buf_puts(&b, "save \"\"\nappendonly no\n");
	tsarc_buf_append(&b, "", 1);
	return (char *)b.ptr;
}

/* Whether a redis.conf text turns AOF on: its last active appendonly
 * line (Redis takes the last one) says yes. */
static int conf_wants_aof(const char *conf)
{
	const char *p = conf, *v;
	int on = 0;

	while (p && *p) {
		size_t len = strcspn(p, "\n");
		if ((v = conf_directive(p, len, "appendonly"))) {
			while (v < p + len && (*v == ' ' || *v == '\t'))
				v++;
			on = (size_t)(p + len - v) >= 3 && !strncmp(v, "yes", 3) &&
				(v + 3 == p + len || v[3] == ' ' || v[3] == '\t' || v[3] == '\r');
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return on;
}

/* Makes a rename or unlink in the folder of `path` durable. */
static int sync_dir_of(const char *path)
{
	char dir[4200], *slash;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	if (!(slash = strrchr(dir, '/')))
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return tsarc_error_set(TSARC_EIO, "cannot open %s: %s", dir, strerror(errno));
	if (fsync(fd) && errno != EINVAL)
		rc = tsarc_error_set(TSARC_EIO, "fsync %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

/*
 * While persistence is switched off, the original configuration is kept
 * where a later run finds it even if this one is killed (SIGKILL, a
 * crash, a power cut): beside redis.conf as CONFIG.tsarc-orig, written and
 * synced before the first edit; on a ConfigMap, in this annotation,
 * written by the same apply as the edit (one cannot exist without the
 * other). It goes once the original is back.
 */
#define REDIS_SAVED_SUFFIX ".tsarc-orig"
#define REDIS_SAVED_ANNOTATION "tsarc/original-redis-config"

/* Sets the persistence configuration: local file or the ConfigMap; on
 * the ConfigMap with `saved` (the original) in the annotation, or none. */
static int redis_set_conf(redis_op *op, const char *text, const char *saved)
{
	cJSON *list, *items, *doc, *data, *md, *ann;
	int rc;

	/* redis.conf's folder may be writable by others (the redis group on
	 * Debian): the shared writer never writes through what they plant. */
	if (!op->kube)
		return tsarc_replace_file(op->config_file, text, strlen(text), 0600, 1);
	if (!(doc = cJSON_Duplicate(op->cm, 1)) || !(list = tsarc_resource_list_new(&items))) {
		cJSON_Delete(doc);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	tsarc_resource_sanitize(doc, NULL);
	data = cJSON_GetObjectItemCaseSensitive(doc, "data");
	cJSON_DeleteItemFromObjectCaseSensitive(data, op->config_key);
	cJSON_AddStringToObject(data, op->config_key, text);
	md = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
	if (!(ann = cJSON_GetObjectItemCaseSensitive(md, "annotations")) && saved && md)
		ann = cJSON_AddObjectToObject(md, "annotations");
	cJSON_DeleteItemFromObjectCaseSensitive(ann, REDIS_SAVED_ANNOTATION);
	if (saved && ann)
		cJSON_AddStringToObject(ann, REDIS_SAVED_ANNOTATION, saved);
	else if (ann && !ann->child)
		cJSON_DeleteItemFromObjectCaseSensitive(md, "annotations");
	cJSON_AddItemToArray(items, doc);
	rc = op->r->deftr->apply(op->r->deftr, list, NULL);
	cJSON_Delete(list);
	if (rc)
		tsarc_error_prefix("component '%s': ConfigMap %s", op->s->component, op->config_map);
	return rc;
}

/* Persistence off, the original kept durably first (local: the saved
 * file, synced before the edit; kube: the annotation, in the same apply). */
static int redis_switch_off(redis_op *op, const char *off)
{
	int rc;

	/* Ours and 0600 whatever is found there: it holds requirepass. */
	if (!op->kube && (rc = tsarc_replace_file(op->saved_path, op->orig_conf,
			     strlen(op->orig_conf), 0600, 0)))
		return rc;
	op->conf_switched = 1;
	return redis_set_conf(op, off, op->orig_conf);
}

/* The undo: the original configuration back, then the saved copy gone.
 * Runs once, from the step (done or failed) or from the signal thread
 * when the process is ended before the step could (interrupt.h). */
static int redis_undo(void *arg)
{
	redis_op *op = arg;
	int rc;

	if ((rc = redis_set_conf(op, op->orig_conf, NULL)))
		return rc;
	if (!op->kube) {
		if (unlink(op->saved_path) && errno != ENOENT)
			return tsarc_error_set(TSARC_EIO, "cannot remove %s: %s", op->saved_path,
				strerror(errno));
		if ((rc = sync_dir_of(op->saved_path)))
			return rc;
	}
	op->conf_switched = 0;
	return 0;
}

/*
 * An earlier run that was killed mid-swap left persistence off and the
 * original saved. The configuration found is then not the original: take
 * the saved one and put it back before anything else. Only when the
 * configuration is exactly what that run wrote; if someone changed it
 * since, guessing could undo their fix, so the operator decides.
 */
static int redis_undo_earlier(redis_op *op)
{
	const char *where = op->kube ? op->config_map : op->config_file;
	char *saved = NULL, *off = NULL;
	int rc = 0, leftover;

	if (op->kube) {
		const cJSON *ann = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(op->cm, "metadata"), "annotations");
		const char *t = cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(ann, REDIS_SAVED_ANNOTATION));
		if (!t)
			return 0;
		if (!(saved = strdup(t)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	} else {
		rc = tsarc_read_private_file(op->saved_path, REDIS_CONF_MAX, &saved, NULL);
		if (rc == TSARC_ENOTFOUND) {
			tsarc_error_clear();
			return 0;
		}
		if (rc)
			return rc;
	}
	if (!(off = persistence_off(saved))) {
		free(saved);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	leftover = !strcmp(op->orig_conf, saved);
	if (!leftover && strcmp(op->orig_conf, off)) {
		rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': an earlier restore was "
			"interrupted with persistence switched off and kept the original configuration "
			"in %s%s, but %s has been changed since: put the right configuration in place "
			"and remove %s, then run the restore again", op->s->component,
			op->kube ? "annotation " REDIS_SAVED_ANNOTATION " of " : "",
			op->kube ? where : op->saved_path, where,
			op->kube ? "the annotation" : op->saved_path);
	} else {
		/* The original is what the saved copy says. */
		free(op->orig_conf);
		op->orig_conf = saved;
		saved = NULL;
		if (!(rc = redis_undo(op)) && asprintf(&op->earlier, "%s: an earlier interrupted "
			"restore %s; the original configuration is back", where, leftover ?
			"had already put the configuration back" : "had left persistence off") < 0)
			op->earlier = NULL;
	}
	free(saved);
	free(off);
	return rc;
}

/* Restarts the server with the configuration in place and waits for it
 * to answer (after loading its data). kube: a rollout, then the new pod;
 * local: SHUTDOWN (SAVE or NOSAVE), wait for the PID, start_command. */
static int redis_restart(redis_op *op, int save)
{
	int rc;

	if (op->kube) {
		if (!op->r->deftr->rollout)
			return tsarc_error_set(TSARC_EUNSUPPORTED, "the transport cannot roll out");
		op->server = 1;
		if ((rc = op->r->deftr->rollout(op->r->deftr, op->workload)))
			return rc;
		/* The new pod, under the cleanup registry: an exit cleanup that
		 * removes the incoming RDB must not read it half-written. */
		tsarc_cleanup_hold();
		tsarc_component_clear(&op->c);
		rc = op->c.tr->locate(op->c.tr, &op->c);
		tsarc_cleanup_release();
		if (rc)
			return rc;
	} else {
		const cJSON *start = cJSON_GetObjectItemCaseSensitive(op->s->recipe, "start_command"), *a;
		const char *args[] = {"SHUTDOWN", save ? "SAVE" : "NOSAVE", NULL};
		char *out = NULL, err[1024];
		tsarc_cmd cmd;
		long pid = 0;
		int code, i;
		if (op->pidfile && op->pidfile[0]) {
			char *t = NULL;
			if (!tsarc_read_file(op->pidfile, REDIS_CONF_MAX, &t, NULL))
				pid = strtol(t, NULL, 10);
			free(t);
		}
		/* SHUTDOWN closes the connection: redis-cli's status says nothing. */
		redis_cli(op, args, &out);
		free(out);
		out = NULL;
		op->server = 1;
		for (i = 0; pid > 0 && i < REDIS_WAIT_SECONDS * 20 && kill((pid_t)pid, 0) == 0; i++) {
			if (tsarc_interrupted())
				return tsarc_interrupt_error();
			usleep(50000);
		}
		if (pid > 0 && kill((pid_t)pid, 0) == 0)
			return tsarc_error_set(TSARC_EIO, "component '%s': Redis (pid %ld) did not stop",
				op->s->component, pid);
		if ((rc = redis_wait_ping(op, 0)))
			return rc;
		tsarc_cmd_init(&cmd);
		if (cJSON_IsArray(start)) {
			cJSON_ArrayForEach(a, start)
				if (cJSON_IsString(a))
					tsarc_cmd_arg(&cmd, a->valuestring);
		} else {
			tsarc_cmd_arg(&cmd, "redis-server");
			tsarc_cmd_arg(&cmd, op->config_file);
		}
		/* The server daemonizes (or a service manager starts it): the
		 * command returns once it runs. */
		rc = tsarc_proc_capture(cmd.argv, NULL, TSARC_CAPTURE_MAX, &out, NULL, &code, err,
			sizeof(err));
		free(out);
		if (!rc && code != 0)
			rc = tsarc_error_set(TSARC_EIO, "component '%s': %s exited with status %d: %s",
				op->s->component, cmd.argv[0], code, err[0] ? err : "(nothing on stderr)");
		tsarc_cmd_free(&cmd);
		if (rc)
			return rc;
	}
	if ((rc = redis_wait_ping(op, 1)))
		return rc;
	op->server = op->conf_switched ? 2 : 0;
	return 0;
}

/* Runs a shell script in the data directory (this host or the pod). */
static int redis_shell(redis_op *op, const char *script)
{
	tsarc_cmd cmd;
	char *out = NULL;
	int rc;

	tsarc_cmd_init(&cmd);
	if (!(rc = tsarc_cmd_arg(&cmd, "sh")) && !(rc = tsarc_cmd_arg(&cmd, "-c")) &&
		!(rc = tsarc_cmd_arg(&cmd, script)) && !(rc = tsarc_cmd_arg(&cmd, "sh")) &&
		!(rc = tsarc_cmd_arg(&cmd, op->data_dir)) && !(rc = tsarc_cmd_arg(&cmd, op->dbfilename)) &&
		!(rc = tsarc_cmd_arg(&cmd, op->aof_file)) && !(rc = tsarc_cmd_arg(&cmd, op->aof_dir)))
		rc = op->c.tr->capture(op->c.tr, &op->c, &cmd, TSARC_CAPTURE_MAX, &out);
	free(out);
	tsarc_cmd_free(&cmd);
	return rc;
}

/* $1 data dir, $2 dbfilename, $3 appendfilename, $4 appenddirname. */
static const char MOVE_ASIDE_SCRIPT[] =
	"set -e; cd \"$1\"; ts=$(date -u +%Y%m%dT%H%M%SZ); "
	"for f in \"$2\" \"$3\" \"$4\"; do [ -n \"$f\" ] || continue; "
	"if [ -e \"$f\" ]; then mv \"$f\" \"$f-old.$ts\"; fi; done; "
	"mv \"$2.tsarc-incoming\" \"$2\"";

/* $1 data dir, $2 dbfilename. */
static const char REMOVE_INCOMING_SCRIPT[] = "rm -f \"$1/$2.tsarc-incoming\"";

/* Our temporary file in the server's folder, partial or unused: removed
 * on failure or interruption (interrupt.h). */
static int redis_drop_incoming(void *arg)
{
	return redis_shell(arg, REMOVE_INCOMING_SCRIPT);
}

static void redis_op_free(redis_op *op)
{
	free(op->data_dir);
	free(op->dbfilename);
	free(op->aof_dir);
	free(op->aof_file);
	free(op->pidfile);
	free(op->config_file);
	free(op->orig_conf);
	free(op->saved_path);
	free(op->earlier);
	cJSON_Delete(op->cm);
	tsarc_conn_free(&op->conn);
	tsarc_component_clear(&op->c);
}

static int redis_wait_aof(redis_op *op)
{
	const char *args[] = {"INFO", "persistence", NULL};
	int i;

	for (i = 0; i < REDIS_WAIT_SECONDS * 10; i++) {
		char *out = NULL;
		int busy, rc;
		if (tsarc_interrupted())
			return tsarc_interrupt_error();
		if ((rc = redis_cli(op, args, &out)))
			return rc;
		busy = strstr(out, "aof_rewrite_in_progress:1") || strstr(out, "aof_rewrite_scheduled:1") ||
			strstr(out, "aof_enabled:0");
		if (!busy && strstr(out, "aof_last_bgrewrite_status:err")) {
			free(out);
			return tsarc_error_set(TSARC_EIO, "component '%s': Redis could not write its "
				"AOF (aof_last_bgrewrite_status:err)", op->s->component);
		}
		free(out);
		if (!busy)
			return 0;
		usleep(100000);
	}
	return tsarc_error_set(TSARC_EIO, "component '%s': the AOF rewrite did not finish",
		op->s->component);
}

int tsarc_redis_swap_restore(tsarc_restore_ctx *r, tsarc_step *s)
{
	redis_op op;
	char *appendonly = NULL, *before = NULL, *after = NULL, *off = NULL;
	tsarc_cmd cmd;
	char what[300];
	int rc;

	memset(&op, 0, sizeof(op));
	op.r = r;
	op.s = s;
	tsarc_cmd_init(&cmd);
	if ((rc = tsarc_step_component(r, s, &op.c)))
		return rc;
	op.kube = !strcmp(op.c.tr->type, "kube");
	op.pod_pw = tsarc_spec_str(s->spec, "pod_password_env");
	if ((op.kube && (rc = op.c.tr->locate(op.c.tr, &op.c))) ||
		(rc = tsarc_step_conn(s, &op.conn)))
		goto done;
	if (op.kube) {
		op.config_map = tsarc_spec_str(s->recipe, "config_map");
		op.config_key = tsarc_spec_str(s->recipe, "config_key");
		op.workload = tsarc_spec_str(s->recipe, "rollout");
		if (!op.config_key)
			op.config_key = "redis.conf";
		if (!op.workload)
			op.workload = tsarc_spec_str(s->spec, "workload");
		if (!op.config_map || !op.workload) {
			rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': restore needs \"config_map\" "
				"and \"rollout\" (or workload) to switch persistence off", s->component);
			goto done;
		}
		if ((rc = r->deftr->get(r->deftr, "configmap", op.config_map, &op.cm))) {
			tsarc_error_prefix("component '%s'", s->component);
			goto done;
		}
		const char *t = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(op.cm, "data"),
			op.config_key);
		if (!t) {
			rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': ConfigMap %s has no %s",
				s->component, op.config_map, op.config_key);
			goto done;
		}
		op.orig_conf = strdup(t);
	} else {
		const char *f = tsarc_spec_str(s->recipe, "config_file");
		if (!f) {
			rc = tsarc_error_set(TSARC_ECONFIG, "component '%s': on this host the restore "
				"needs restore.config_file (the server's redis.conf) to restart it with "
				"persistence off", s->component);
			goto done;
		}
		op.config_file = strdup(f);
		if (!op.config_file || asprintf(&op.saved_path, "%s" REDIS_SAVED_SUFFIX, f) < 0) {
			op.saved_path = NULL;
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		if ((rc = tsarc_read_file(f, REDIS_CONF_MAX, &op.orig_conf, NULL)))
			goto done;
	}
	if (!op.orig_conf) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = redis_undo_earlier(&op)))
		goto done;
	if (op.earlier)
		tsarc_restore_progress(r, "  %s: %s", s->component, op.earlier);
	/* Where the server keeps its files, from the server itself (the
	 * recipe's data_dir when the server does not say). */
	if ((rc = redis_config_get(&op, "dir", &op.data_dir)) ||
		(rc = redis_config_get(&op, "dbfilename", &op.dbfilename)) ||
		(rc = redis_config_get(&op, "appendfilename", &op.aof_file)) ||
		(rc = redis_config_get(&op, "appenddirname", &op.aof_dir)) ||
		(rc = redis_config_get(&op, "appendonly", &appendonly)) ||
		(rc = redis_config_get(&op, "pidfile", &op.pidfile)))
		goto done;
	if (!op.data_dir[0] && tsarc_spec_str(s->recipe, "data_dir")) {
		free(op.data_dir);
		op.data_dir = strdup(tsarc_spec_str(s->recipe, "data_dir"));
	}
	if (!op.data_dir || !op.data_dir[0] || !op.dbfilename || !op.dbfilename[0]) {
		rc = tsarc_error_set(TSARC_EIO, "component '%s': Redis does not say its dir and "
			"dbfilename (CONFIG GET refused?)", s->component);
		goto done;
	}
	/* AOF is on afterwards when the server runs with it or its persistence
	 * configuration asks for it: in a cluster the live server may not
	 * reflect redis-config yet (edited, never rolled out), and a restart
	 * with appendonly yes and no AOF written from memory would come up
	 * without the restored data. */
	op.aof_on = !strcmp(appendonly, "yes") || conf_wants_aof(op.orig_conf);
	if (!op.orig_conf || !(off = persistence_off(op.orig_conf))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	/* 1. The RDB next to the data first: a damaged stream stops here,
	 * with the server and its files untouched. */
	tsarc_restore_progress(r, "  %s: writing the RDB into %s", s->component, op.data_dir);
	snprintf(what, sizeof(what), "component '%s': writing %s/%s.tsarc-incoming", s->component,
		op.data_dir, op.dbfilename);
	if ((rc = tsarc_cmd_arg(&cmd, "sh")) || (rc = tsarc_cmd_arg(&cmd, "-c")) ||
		(rc = tsarc_cmd_arg(&cmd, "cat > \"$1/$2.tsarc-incoming\"")) ||
		(rc = tsarc_cmd_arg(&cmd, "sh")) || (rc = tsarc_cmd_arg(&cmd, op.data_dir)) ||
		(rc = tsarc_cmd_arg(&cmd, op.dbfilename)))
		goto done;
	snprintf(op.incoming_what, sizeof(op.incoming_what), "component '%s': %s/%s.tsarc-incoming "
		"removed", s->component, op.data_dir, op.dbfilename);
	tsarc_cleanup_add(&op.incoming, redis_drop_incoming, &op, op.incoming_what);
	if ((rc = tsarc_restore_stream_into(r, &op.c, &cmd, s->st, NULL, NULL, what)))
		goto done;
	/* 2. Persistence off and a restart: the server must neither save over
	 * the swapped files nor replay an old AOF. */
	tsarc_restore_progress(r, "  %s: persistence off, restart", s->component);
	/* From here until the original is back, a signal that ends the
	 * process puts it back first (interrupt.h). */
	snprintf(op.undo_what, sizeof(op.undo_what), "component '%s': persistence configuration "
		"of %s put back", s->component, op.kube ? op.config_map : op.config_file);
	tsarc_cleanup_add(&op.undo, redis_undo, &op, op.undo_what);
	if ((rc = redis_switch_off(&op, off)) || (rc = redis_restart(&op, 0)))
		goto done;
	/* 3. Old dump.rdb and AOF aside, the backup's RDB in place, restart:
	 * it loads the RDB. */
	tsarc_restore_progress(r, "  %s: old files aside, backup RDB in place, restart", s->component);
	if ((rc = redis_shell(&op, MOVE_ASIDE_SCRIPT)))
		goto done;
	tsarc_cleanup_remove(&op.incoming); /* it is the server's dump file now */
	if ((rc = redis_restart(&op, 0)) ||
		(rc = redis_keyspace(&op, &before)))
		goto done;
	/* 4. Persistence back on. AOF first on the running server (CONFIG SET
	 * appendonly yes writes a complete AOF from memory): restarting with
	 * appendonly yes and no AOF would start empty on older servers. */
	if (op.aof_on) {
		const char *args[] = {"CONFIG", "SET", "appendonly", "yes", NULL};
		char *out = NULL;
		tsarc_restore_progress(r, "  %s: AOF on, rewrite", s->component);
		rc = redis_cli(&op, args, &out);
		free(out);
		if (rc || (rc = redis_wait_aof(&op)))
			goto done;
	}
	tsarc_restore_progress(r, "  %s: configuration restored, restart", s->component);
	if ((rc = tsarc_cleanup_run(&op.undo)))
		goto done;
	/* Without AOF, SAVE writes the RDB the next start loads. */
	if ((rc = redis_restart(&op, !op.aof_on)) || (rc = redis_keyspace(&op, &after)))
		goto done;
	if (strcmp(before, after)) {
		rc = tsarc_error_set(TSARC_EIO, "component '%s': the data set changed across the "
			"restart with persistence on (%s before, %s after)", s->component, before, after);
		goto done;
	}
	tsarc_step_note(s, "RDB of %llu bytes loaded into %s/%s; keys %s AOF %s",
		(unsigned long long)s->st->size, op.data_dir, op.dbfilename, after[0] ? after : "none;",
		op.aof_on ? "on" : "off");
	s->detail = cJSON_CreateObject();
	cJSON_AddStringToObject(s->detail, "keyspace", after);
	cJSON_AddStringToObject(s->detail, "data_dir", op.data_dir);
done:
	if (rc && op.undo.registered) {
		/* Leave the configuration as it was (also when interrupted: that
		 * is the undo a signal asks for); the files moved aside stay
		 * where the error says. */
		char msg[2048];
		const char *server = op.server == 2 ? "; Redis runs with persistence off until its "
			"next restart" : op.server == 1 ? "; Redis was being restarted: check that it "
			"runs" : "";
		snprintf(msg, sizeof(msg), "%s", tsarc_error_last()->message);
		if (tsarc_cleanup_run(&op.undo))
			tsarc_error_set(rc, "%s; restoring its persistence configuration failed too (%s): "
				"the original is kept in %s", msg, tsarc_error_last()->message,
				op.kube ? "annotation " REDIS_SAVED_ANNOTATION : op.saved_path);
		else
			tsarc_error_set(rc, "%s (persistence configuration put back%s; old files, if "
				"moved, are in %s with suffix -old.<time>)", msg, server, op.data_dir);
	}
	if (rc && op.incoming.registered) {
		char msg[2048];
		snprintf(msg, sizeof(msg), "%s", tsarc_error_last()->message);
		if (tsarc_cleanup_run(&op.incoming))
			tsarc_error_set(rc, "%s; %s/%s.tsarc-incoming could not be removed (%s)", msg,
				op.data_dir, op.dbfilename, tsarc_error_last()->message);
		else
			tsarc_error_set(rc, "%s", msg);
	}
	if (!rc && op.earlier)
		tsarc_step_note(s, "%s; %s", op.earlier, s->note ? s->note : "");
	tsarc_cleanup_remove(&op.undo);
	tsarc_cleanup_remove(&op.incoming);
	free(appendonly);
	free(before);
	free(after);
	free(off);
	tsarc_cmd_free(&cmd);
	redis_op_free(&op);
	return rc;
}
