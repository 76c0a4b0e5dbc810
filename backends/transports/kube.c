/*
 * The kube transport: kubectl or oc. Pods are found by label (3scale 2.15+
 * Deployments carry deployment=NAME, 2.14 and older DeploymentConfigs
 * deploymentConfig=NAME), commands run with `exec -i POD -c CONTAINER --
 * sh -c '...'` and stream their stdout back, resources come from
 * `get TYPE NAME -o json`. Credentials stay in the pod: a command that
 * needs a password takes it from the pod's own environment through the
 * pod's shell (MYSQL_PWD="$MYSQL_ROOT_PASSWORD"), never from our argv; a
 * credential of this host (password_file, password_env, a Secret's URL)
 * is read by the pod's shell from the exec's stdin.
 */
#include "component.h"
#include "crypto.h"
#include "error_save.h"
#include "fileio.h"
#include "log.h"
#include "snapshot.h"
#include "wipe.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A pod list or a resource; larger answers are not what we asked for. */
#define KUBE_JSON_MAX (64u * 1024u * 1024u)

typedef struct kube_transport {
	tsarc_transport parent;
	char *binary, *context, *namespace, *kubeconfig, *style;
	char **pass; /* "NAME=VALUE" of pass_env, for every kubectl we run */
	int missing; /* binary is not a program we can run (looked up once) */
	/* The cluster's identity (cluster_identity), asked once: NULL when it
	 * has none; components describe their place from several threads. */
	pthread_mutex_t cluster_mu;
	int cluster_asked;
	char *cluster;
} kube_transport;

/* binary [--kubeconfig F] [--context C] [-n NS]; `ns` (may be NULL) over
 * the configured namespace. */
static int base_args_ns(const kube_transport *t, tsarc_cmd *cmd, const char *ns)
{
	int rc;

	if (!ns)
		ns = t->namespace;
	if (t->missing)
		return tsarc_error_set(TSARC_ECONFIG, "transport: cannot run '%s': %s (transport "
			"\"binary\": kubectl or oc)", t->binary, strchr(t->binary, '/') ?
			"not an executable file" : "not found in PATH");

	if ((rc = tsarc_cmd_arg(cmd, t->binary)))
		return rc;
	if (t->kubeconfig && ((rc = tsarc_cmd_arg(cmd, "--kubeconfig")) ||
		(rc = tsarc_cmd_arg(cmd, t->kubeconfig))))
		return rc;
	if (t->context && ((rc = tsarc_cmd_arg(cmd, "--context")) ||
		(rc = tsarc_cmd_arg(cmd, t->context))))
		return rc;
	if (ns && ((rc = tsarc_cmd_arg(cmd, "-n")) || (rc = tsarc_cmd_arg(cmd, ns))))
		return rc;
	return 0;
}

static int base_args(const kube_transport *t, tsarc_cmd *cmd)
{
	return base_args_ns(t, cmd, NULL);
}

/* Runs `binary [-n ns] ... args` and returns stdout (*len bytes); on
 * failure its wait status in *code (tsarc_proc_ended) and err. What
 * kubectl prints is the cluster's: a pod's spec with a literal env value
 * (a password set as `value:`), a Secret's data. Every caller gives it
 * back through kube_out_free, on every path. */
static int kube_run_ns(const kube_transport *t, const char *ns, const char *const args[],
	char **out, size_t *len, int *code, char *err, size_t errsz)
{
	tsarc_cmd cmd;
	size_t i;
	int rc;

	tsarc_cmd_init(&cmd);
	if (!(rc = base_args_ns(t, &cmd, ns)))
		for (i = 0; args[i] && !rc; i++)
			rc = tsarc_cmd_arg(&cmd, args[i]);
	if (!rc)
		rc = tsarc_proc_capture(cmd.argv, t->pass, KUBE_JSON_MAX, out, len, code, err, errsz);
	tsarc_cmd_free(&cmd);
	return rc;
}

static int kube_run(const kube_transport *t, const char *const args[], char **out,
	size_t *len, int *code, char *err, size_t errsz)
{
	return kube_run_ns(t, NULL, args, out, len, code, err, errsz);
}

/* kubectl's output, wiped whole (a NUL byte in it stops no wipe) before
 * it is given back; *out is NULL after. */
static void kube_out_free(char **out, size_t len)
{
	if (*out)
		tsarc_secure_free(*out, len + 1);
	*out = NULL;
}

static const char *ns_text(const kube_transport *t)
{
	return t->namespace ? t->namespace : "(the context's default)";
}

static int container_names(const cJSON *pod, char *buf, size_t bufsz, const char *want,
	int *found)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(pod, "spec");
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(spec, "containers"), *ct;
	size_t len = 0;

	*found = 0;
	buf[0] = '\0';
	cJSON_ArrayForEach(ct, cs) {
		const char *n = tsarc_spec_str(ct, "name");
		if (!n)
			continue;
		if (!strcmp(n, want))
			*found = 1;
		len += (size_t)snprintf(buf + len, len < bufsz ? bufsz - len : 0, "%s%s",
			len ? ", " : "", n);
		if (len >= bufsz)
			len = bufsz - 1;
	}
	return 0;
}

/* The first Running pod not being deleted, from `get pods -o json`. */
static const cJSON *pick_pod(const cJSON *list)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(list, "items"), *pod;

	cJSON_ArrayForEach(pod, items) {
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(pod, "status");
		const char *phase = tsarc_spec_str(st, "phase");
		if (cJSON_GetObjectItemCaseSensitive(md, "deletionTimestamp"))
			continue;
		if (phase && !strcmp(phase, "Running") && tsarc_spec_str(md, "name"))
			return pod;
	}
	return NULL;
}

static int kube_locate(tsarc_transport *tr, tsarc_component *c)
{
	kube_transport *t = (kube_transport *)tr;
	const char *explicit_sel = tsarc_spec_str(c->spec, "selector");
	const char *workload = tsarc_spec_str(c->spec, "workload");
	const char *container = tsarc_spec_str(c->spec, "container");
	char selectors[2][512], tried[1100] = "", err[2048], names[512], ended[64];
	size_t nsel = 0, i;
	int rc, code, found;

	if (!container)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': the kube transport needs "
			"\"container\"", c->name);
	if (explicit_sel)
		snprintf(selectors[nsel++], sizeof(selectors[0]), "%s", explicit_sel);
	else if (!workload)
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': the kube transport needs "
			"\"workload\" or \"selector\"", c->name);
	else {
		/* 2.15+ first: that is what current installations run. */
		if (strcmp(t->style, "deploymentConfig"))
			snprintf(selectors[nsel++], sizeof(selectors[0]), "deployment=%s", workload);
		if (strcmp(t->style, "deployment"))
			snprintf(selectors[nsel++], sizeof(selectors[0]), "deploymentConfig=%s",
				workload);
	}
	for (i = 0; i < nsel; i++) {
		const char *args[] = {"get", "pods", "-l", selectors[i], "-o", "json", NULL};
		char *text = NULL;
		size_t len = 0;
		cJSON *list;
		const cJSON *pod;
		if ((rc = kube_run(t, args, &text, &len, &code, err, sizeof(err))))
			return rc;
		if (code != 0) {
			kube_out_free(&text, len);
			return tsarc_error_set(TSARC_EIO, "component '%s': %s get pods -l %s failed "
				"(%s): %s", c->name, t->binary, selectors[i],
				tsarc_proc_ended(code, ended, sizeof(ended)),
				err[0] ? err : "(nothing on stderr)");
		}
		/* Every pod's spec: its literal env values too (the tree is
		 * wiped when deleted, cJSON's hook in wipe.c). */
		list = cJSON_Parse(text);
		kube_out_free(&text, len);
		if (!list)
			return tsarc_error_set(TSARC_EIO, "component '%s': %s get pods printed no JSON",
				c->name, t->binary);
		pod = pick_pod(list);
		if (pod) {
			const cJSON *md = cJSON_GetObjectItemCaseSensitive(pod, "metadata");
			container_names(pod, names, sizeof(names), container, &found);
			if (!found) {
				rc = tsarc_error_set(TSARC_ENOTFOUND, "component '%s': pod %s has no "
					"container %s (it has: %s)", c->name, tsarc_spec_str(md, "name"),
					container, names[0] ? names : "none");
				cJSON_Delete(list);
				return rc;
			}
			if (!(c->pod = strdup(tsarc_spec_str(md, "name"))) ||
				!(c->container = strdup(container)) ||
				!(c->selector = strdup(selectors[i]))) {
				cJSON_Delete(list);
				return tsarc_error_set(TSARC_ENOMEM, "out of memory");
			}
			cJSON_Delete(list);
			return 0;
		}
		cJSON_Delete(list);
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s",
			i ? " or " : "", selectors[i]);
	}
	return tsarc_error_set(TSARC_ENOTFOUND, "component '%s': no running pod matches %s in "
		"namespace %s", c->name, tried, ns_text(t));
}

/* Adds `IFS= read -r NAME; export NAME` to the script and VALUE to what the
 * exec's stdin carries first: a credential of this host reaches the pod
 * without a command line (ours or the pod's) or a file seeing it. */
static int stdin_secret(tsarc_buf *script, tsarc_buf *input, const tsarc_component *c,
	const char *name, size_t nl, const char *value)
{
	char n[256];
	int rc;

	if (nl)
		snprintf(n, sizeof(n), "%.*s", (int)nl, name);
	if (!nl || nl >= sizeof(n) || !tsarc_valid_env_name(n))
		return tsarc_error_set(TSARC_EINVAL, "component '%s': a variable that is not a "
			"variable name ([A-Za-z_][A-Za-z0-9_]*) was not sent to pod %s", c->name, c->pod);
	if (strchr(value, '\n'))
		return tsarc_error_set(TSARC_EINVAL, "component '%s': %s holds a line break, which "
			"cannot be sent into pod %s as one line", c->name, n, c->pod);
	if ((rc = tsarc_buf_puts(script, "IFS= read -r ")) || (rc = tsarc_buf_puts(script, n)) ||
		(rc = tsarc_buf_puts(script, " || exit 125; export ")) ||
		(rc = tsarc_buf_puts(script, n)) || (rc = tsarc_buf_puts(script, "; ")) ||
		(rc = tsarc_buf_puts(input, value)) || (rc = tsarc_buf_puts(input, "\n")))
		return rc;
	return 0;
}

/*
 * A consumer in a pod is out of reach of the kill that stops a local one
 * before its input ends (tsarc_restore_stream_into): killing kubectl, or
 * losing its connection, only ends the pod's stdin, and mysql, psql or tar
 * would take that for the end of the dump. So its input is framed: tsarc
 * declares the size (in the script), sends exactly that many bytes and
 * then FRAME_TRAILER. In the pod, `head -c SIZE` passes the bytes on
 * (GNU head reads no further than it passes); the shell around it holds
 * the consumer's pipe open until it has read the trailer. If the input
 * ends first, it stops (SIGSTOP, so that none can fork any more) and then
 * kills every process of the consumer's side, found through /proc as the
 * descendants of the script's shell, before the pipe closes. The consumer
 * never sees an end of input that tsarc did not send.
 */
#define FRAME_TRAILER "tsarc-end-of-input"

static const char FRAME_STOP[] =
	"tsarc_stop() { read -r tsarc_me tsarc_x </proc/self/stat; s=\" $$ \"; k=; m=1; "
	"while [ -n \"$m\" ]; do m=; for f in /proc/[0-9]*/stat; do "
	"IFS= read -r l 2>/dev/null <\"$f\" || continue; p=${l%% *}; set -- ${l##*) }; "
	"case $s in *\" $p \"*) continue;; esac; "
	"case $s in *\" $2 \"*) [ \"$p\" = \"$tsarc_me\" ] && continue; "
	"kill -STOP \"$p\" 2>/dev/null; s=\"$s$p \"; k=\"$k $p\"; m=1;; esac; done; done; "
	"[ -z \"$k\" ] || kill -KILL $k 2>/dev/null; }; ";

static int frame_script(tsarc_buf *script, unsigned long long size)
{
	char head[64];
	int rc;

	snprintf(head, sizeof(head), "{ head -c %llu || exit 1; ", size);
	if ((rc = tsarc_buf_puts(script, FRAME_STOP)) || (rc = tsarc_buf_puts(script, head)) ||
		(rc = tsarc_buf_puts(script, "IFS= read -r tsarc_t && [ \"$tsarc_t\" = "
			FRAME_TRAILER " ] && exit 0; echo \"tsarc: the input ended before tsarc "
			"sent all of it; the command was stopped\" >&2; tsarc_stop; exit 1; } | ")))
		return rc;
	return 0;
}

/* binary ... exec -i POD -c CONTAINER -- sh -c 'NAME="$VAR" exec ARGV'.
 * Credentials of this host (cmd->env, a MySQL password) go into *input,
 * which the caller sends first on the exec's stdin. With `framed`, the
 * command's input is framed (FRAME_TRAILER) and `size` bytes long. With
 * `end_mark`, its output ends with a line "END_MARK STATUS" (see
 * kube_deframe) and the exec's status is the command's; a `consumer`'s own
 * output is dropped in the pod, only the mark comes back. */
static int exec_cmd(const kube_transport *t, const tsarc_component *c, const tsarc_cmd *cmd,
	int consumer, int framed, unsigned long long size, const char *end_mark, tsarc_cmd *out,
	tsarc_buf *input)
{
	tsarc_buf script = TSARC_BUF_INIT;
	char *q = NULL;
	size_t i;
	int rc;

	if (!c->pod)
		return tsarc_error_set(TSARC_EINVAL, "component '%s': no pod located", c->name);
	for (i = 0; i < cmd->nenv; i++) {
		const char *eq = strchr(cmd->env[i], '=');
		if ((rc = stdin_secret(&script, input, c, cmd->env[i],
			     eq ? (size_t)(eq - cmd->env[i]) : 0, eq ? eq + 1 : "")))
			goto fail;
	}
	if (cmd->mysql_password && (rc = stdin_secret(&script, input, c, "MYSQL_PWD", 9,
		cmd->mysql_password)))
		goto fail;
	if (framed && (rc = frame_script(&script, size)))
		goto fail;
	for (i = 0; i < cmd->npod_env; i++) {
		const char *eq = strchr(cmd->pod_env[i], '=');
		char name[256];
		size_t nl = eq ? (size_t)(eq - cmd->pod_env[i]) : 0;
		/* NAME="$VAR": the pod's shell expands its own variable. Neither
		 * can be quoted there, so both must be plain names; the config and
		 * snapshot checks say so too, this is the last line. */
		if (nl)
			snprintf(name, sizeof(name), "%.*s", (int)nl, cmd->pod_env[i]);
		if (!nl || nl >= sizeof(name) || !tsarc_valid_env_name(name) ||
			!tsarc_valid_env_name(eq + 1)) {
			rc = tsarc_error_set(TSARC_EINVAL, "component '%s': a pod variable that is not "
				"a variable name ([A-Za-z_][A-Za-z0-9_]*) was not sent to pod %s", c->name,
				c->pod);
			goto fail;
		}
		if ((rc = tsarc_buf_puts(&script, name)) || (rc = tsarc_buf_puts(&script, "=\"$")) ||
			(rc = tsarc_buf_puts(&script, eq + 1)) || (rc = tsarc_buf_puts(&script, "\" ")))
			goto fail;
	}
	/* A producer's shell stays, to write the end mark after the
	 * command's last byte. */
	if (!end_mark && (rc = tsarc_buf_puts(&script, "exec")))
		goto fail;
	for (i = 0; i < cmd->argc; i++) {
		if ((rc = tsarc_shell_quote(cmd->argv[i], &q)) ||
			((i || !end_mark) && (rc = tsarc_buf_puts(&script, " "))) ||
			(rc = tsarc_buf_puts(&script, q)))
			goto fail;
		free(q);
		q = NULL;
	}
	if (end_mark && consumer && (rc = tsarc_buf_puts(&script, " >/dev/null")))
		goto fail;
	if (end_mark && ((rc = tsarc_buf_puts(&script, "; tsarc_s=$?; printf '\\n%s %s\\n' ")) ||
		(rc = tsarc_buf_puts(&script, end_mark)) ||
		(rc = tsarc_buf_puts(&script, " \"$tsarc_s\"; exit \"$tsarc_s\""))))
		goto fail;
	if ((rc = tsarc_buf_append(&script, "", 1)))
		goto fail;
	tsarc_cmd_init(out);
	if ((rc = base_args(t, out)) || (rc = tsarc_cmd_arg(out, "exec")) ||
		(rc = tsarc_cmd_arg(out, "-i")) || (rc = tsarc_cmd_arg(out, c->pod)) ||
		(rc = tsarc_cmd_arg(out, "-c")) || (rc = tsarc_cmd_arg(out, c->container)) ||
		(rc = tsarc_cmd_arg(out, "--")) || (rc = tsarc_cmd_arg(out, "sh")) ||
		(rc = tsarc_cmd_arg(out, "-c")) || (rc = tsarc_cmd_arg(out, (char *)script.ptr)))
		tsarc_cmd_free(out);
fail:
	free(q);
	tsarc_buf_dispose(&script);
	return rc;
}

static void input_dispose(tsarc_buf *input)
{
	if (input->ptr)
		OPENSSL_cleanse(input->ptr, input->size);
	tsarc_buf_dispose(input);
}

/*
 * A producer's output through kubectl exec is not to be trusted whole when
 * kubectl exits 0: on a lost connection (a kubelet restart, a network cut,
 * a stream torn down) it may end the output early and still exit 0, the
 * command running on in the pod. So the pod's shell writes a last line,
 * "\nEND_MARK STATUS\n", after the command's last byte, END_MARK random
 * for each run (no data can forge it). This filter passes everything
 * before that line on and fails the producer when the output ends without
 * it, or with a status other than 0 (kubectl's own status, when it has
 * one, says more and wins: tsarc_proc_finish).
 */
static int kube_deframe(int in_fd, int out_fd, void *ctx, const atomic_int *stop, char *err,
	size_t errsz)
{
	const tsarc_proc *p = ctx;
	const char *mark = p->end_mark;
	size_t held = 0, data;
	char buf[65536 + TSARC_PROC_END_MARK_TAIL];
	ssize_t n;

	for (;;) {
		if (atomic_load(stop)) {
			snprintf(err, errsz, "stopped");
			return TSARC_ECANCELED;
		}
		n = read(in_fd, buf + held, sizeof(buf) - held);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errsz, "reading kubectl's output: %s", strerror(errno));
			return TSARC_EIO;
		}
		if (n == 0)
			break;
		held += (size_t)n;
		/* All but the last bytes, which may be the end mark. */
		if (held > TSARC_PROC_END_MARK_TAIL) {
			if (tsarc_write_all(out_fd, buf, held - TSARC_PROC_END_MARK_TAIL)) {
				snprintf(err, errsz, "passing the output on: %s", strerror(errno));
				return errno == EPIPE ? TSARC_ECANCELED : TSARC_EIO;
			}
			memmove(buf, buf + held - TSARC_PROC_END_MARK_TAIL, TSARC_PROC_END_MARK_TAIL);
			held = TSARC_PROC_END_MARK_TAIL;
		}
	}
	if (tsarc_proc_end_mark_check(buf, held, mark, &data, err, errsz))
		return TSARC_EIO;
	if (tsarc_write_all(out_fd, buf, data)) {
		snprintf(err, errsz, "passing the output on: %s", strerror(errno));
		return errno == EPIPE ? TSARC_ECANCELED : TSARC_EIO;
	}
	return 0;
}

/* "tsarc-end-" and 32 random hex digits. */
static int new_end_mark(char *out, size_t outsz)
{
	unsigned char rnd[16];
	size_t i;

	if (outsz < 11 + 2 * sizeof(rnd) || RAND_bytes(rnd, sizeof(rnd)) != 1)
		return tsarc_error_set(TSARC_EIO, "no random bytes for an end mark");
	memcpy(out, "tsarc-end-", 10);
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(out + 10 + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

static int kube_spawn(tsarc_transport *tr, const tsarc_component *c, const tsarc_cmd *cmd,
	tsarc_proc *p)
{
	tsarc_buf input = TSARC_BUF_INIT;
	tsarc_cmd ex;
	int rc;

	int framed = p->want_stdin && p->has_input_size;

	/* Its output ends with a mark: a producer's is checked by
	 * kube_deframe, a consumer's (only the mark) by tsarc_proc_finish. */
	if ((rc = new_end_mark(p->end_mark, sizeof(p->end_mark))))
		return rc;
	if ((rc = exec_cmd((kube_transport *)tr, c, cmd, p->want_stdin, framed, p->input_size,
		     p->end_mark, &ex, &input))) {
		input_dispose(&input);
		return rc;
	}
	p->input_trailer = framed ? FRAME_TRAILER "\n" : NULL;
	p->stdin_data = (const char *)input.ptr;
	p->stdin_len = input.size;
	rc = tsarc_proc_spawn(p, ex.argv, ((kube_transport *)tr)->pass);
	p->stdin_data = NULL;
	p->stdin_len = 0;
	input_dispose(&input);
	tsarc_cmd_free(&ex);
	if (!rc && !p->want_stdin) {
		/* Its stdout goes through the filter; the filter's is ours. */
		p->owns_filter_in = 1;
		if ((rc = tsarc_proc_start_filter(p, kube_deframe, p->out_fd, p))) {
			p->out_fd = p->filter_in;
			p->filter_in = -1;
			p->owns_filter_in = 0;
			tsarc_proc_kill(p);
			tsarc_proc_finish(p, "kubectl");
			tsarc_error_set(rc, "cannot start the filter of kubectl's output");
		}
	}
	return rc;
}

static int kube_capture(tsarc_transport *tr, const tsarc_component *c, const tsarc_cmd *cmd,
	size_t max, char **out)
{
	tsarc_buf input = TSARC_BUF_INIT;
	char err[1024], mark[48], ended[64];
	size_t len = 0, data;
	tsarc_cmd ex;
	int code, rc;

	/* Its output ends with a mark too (kube_deframe): a hook whose
	 * connection was lost is not taken for one that succeeded. */
	if ((rc = new_end_mark(mark, sizeof(mark))))
		return rc;
	if ((rc = exec_cmd((kube_transport *)tr, c, cmd, 0, 0, 0, mark, &ex, &input))) {
		input_dispose(&input);
		return rc;
	}
	if (input.size) {
		/* Short commands take no stdin: none needs a credential of ours. */
		input_dispose(&input);
		tsarc_cmd_free(&ex);
		return tsarc_error_set(TSARC_EUNSUPPORTED, "component '%s': a credential of this "
			"host is sent into a pod for streaming commands only", c->name);
	}
	rc = tsarc_proc_capture(ex.argv, ((kube_transport *)tr)->pass, max + TSARC_PROC_END_MARK_TAIL, out,
		&len, &code, err, sizeof(err));
	tsarc_cmd_free(&ex);
	if (!rc && code != 0) {
		free(*out);
		*out = NULL;
		rc = tsarc_error_set(TSARC_EIO, "component '%s': %s in pod %s %s: %s", c->name,
			cmd->argv[0], c->pod, tsarc_proc_ended(code, ended, sizeof(ended)),
			err[0] ? err : "(nothing on stderr)");
	} else if (!rc && tsarc_proc_end_mark_check(*out, len, mark, &data, err, sizeof(err))) {
		free(*out);
		*out = NULL;
		rc = tsarc_error_set(TSARC_EIO, "component '%s': %s in pod %s: %s", c->name,
			cmd->argv[0], c->pod, err);
	} else if (!rc && data > max) {
		free(*out);
		*out = NULL;
		rc = tsarc_error_set(TSARC_ETOOLARGE, "%s wrote more than %zu bytes", cmd->argv[0],
			max);
	} else if (!rc) {
		(*out)[data] = '\0';
	}
	return rc;
}

static int kube_get(tsarc_transport *tr, const char *type, const char *name, cJSON **out)
{
	kube_transport *t = (kube_transport *)tr;
	const char *one[] = {"get", type, name, "-o", "json", NULL};
	const char *all[] = {"get", type, "-o", "json", NULL};
	char *text = NULL, err[2048], ended[64];
	size_t len = 0;
	cJSON *doc;
	int rc, code;

	*out = NULL;
	if ((rc = kube_run(t, name ? one : all, &text, &len, &code, err, sizeof(err))))
		return rc;
	if (code != 0) {
		kube_out_free(&text, len);
		/* "Error from server (NotFound): secrets "x" not found", and for
		 * a CRD that is not installed: "the server doesn't have a
		 * resource type "apimanager"". */
		if (strstr(err, "NotFound") || strstr(err, "not found") ||
			strstr(err, "doesn't have a resource type"))
			return tsarc_error_set(TSARC_ENOTFOUND, "%s %s not found in namespace %s",
				type, name ? name : "(any)", ns_text(t));
		return tsarc_error_set(TSARC_EIO, "%s get %s%s%s failed (%s): %s", t->binary,
			type, name ? " " : "", name ? name : "", tsarc_proc_ended(code, ended,
			sizeof(ended)), err[0] ? err : "(nothing on stderr)");
	}
	/* A Secret's data: wiped, the text (whole) and what parsed of it when
	 * it is refused. */
	doc = tsarc_secret_doc_parse_object(text, strlen(text));
	kube_out_free(&text, len);
	if (!doc)
		return tsarc_error_set(TSARC_EIO, "%s get %s printed no JSON object", t->binary, type);
	if (name) {
		*out = doc;
		return 0;
	}
	{
		cJSON *items = cJSON_DetachItemFromObjectCaseSensitive(doc, "items");
		tsarc_secret_doc_free(doc);
		if (!cJSON_IsArray(items)) {
			tsarc_secret_doc_free(items);
			return tsarc_error_set(TSARC_EIO, "%s get %s printed no list", t->binary, type);
		}
		*out = items;
	}
	return 0;
}

/* Runs `binary [-n ns] ... args` with `input` on its stdin, to completion;
 * `hide` (may be NULL): what its stderr may not bring into a message
 * (tsarc_proc's hide). */
static int kube_run_input(const kube_transport *t, const char *ns, const char *const args[],
	const char *input, size_t len, const char *what, const char *const *hide)
{
	tsarc_proc p;
	tsarc_cmd cmd;
	size_t i, done = 0;
	int rc;

	tsarc_cmd_init(&cmd);
	tsarc_proc_init(&p);
	p.want_stdin = 1;
	p.hide = hide;
	if (!(rc = base_args_ns(t, &cmd, ns)))
		for (i = 0; args[i] && !rc; i++)
			rc = tsarc_cmd_arg(&cmd, args[i]);
	if (!rc)
		rc = tsarc_proc_spawn(&p, cmd.argv, t->pass);
	tsarc_cmd_free(&cmd);
	if (rc)
		return rc;
	while (done < len) {
		ssize_t n = write(p.in_fd, input + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break; /* it exited early: its status says why */
		done += (size_t)n;
	}
	tsarc_proc_close_stdin(&p);
	return tsarc_proc_finish(&p, what);
}

/* `apply [--dry-run=server] -f -` of `list`; the lines of `texts` (NULL,
 * or NULL-ended) stay out of a message as its Secrets' values do. */
static int kube_apply_list(kube_transport *t, const cJSON *list, const char *ns, int dry_run,
	const char *const *texts)
{
	const char *args[] = {"apply", "-f", "-", NULL, NULL};
	char what[300], **hide = NULL;
	size_t len;
	char *text;
	int rc;

	if (dry_run) {
		args[1] = "--dry-run=server";
		args[2] = "-f";
		args[3] = "-";
	}
	/* kubectl's error for an object the server refuses holds the patch
	 * it sent, a Secret's values too: lines with them stay out of the
	 * message. */
	if ((rc = tsarc_secret_values(list, &hide)))
		return rc;
	for (; texts && *texts && !rc; texts++)
		rc = tsarc_hide_text_lines(&hide, *texts);
	if (rc) {
		tsarc_secret_values_free(hide);
		return rc;
	}
	/* Secrets: every buffer of the text wiped (component.h). */
	if (!(text = tsarc_secret_doc_print(list, 0, &len))) {
		tsarc_secret_values_free(hide);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	snprintf(what, sizeof(what), "%s apply%s -f - (namespace %s)", t->binary,
		dry_run ? " --dry-run=server" : "", ns ? ns : ns_text(t));
	/* On stdin: Secrets never appear on a command line or in a file. */
	rc = kube_run_input(t, ns, args, text, len, what, (const char *const *)hide);
	tsarc_secure_free(text, len + 1);
	tsarc_secret_values_free(hide);
	return rc;
}

static int kube_apply(tsarc_transport *tr, const cJSON *list, const char *ns)
{
	return kube_apply_list((kube_transport *)tr, list, ns, 0, NULL);
}

/* The API server runs every object of the List through validation,
 * admission and RBAC as for the apply, and stores none of them. */
static int kube_check_apply(tsarc_transport *tr, const cJSON *list, const char *ns)
{
	return kube_apply_list((kube_transport *)tr, list, ns, 1, NULL);
}

/* `delete TYPE NAME --ignore-not-found`: one object, by name (the restore
 * Role may delete only the names it may change). */
static int kube_remove(tsarc_transport *tr, const char *type, const char *name, const char *ns)
{
	kube_transport *t = (kube_transport *)tr;
	const char *args[] = {"delete", type, name, "--ignore-not-found", NULL};
	char *out = NULL, err[2048], ended[64];
	size_t len = 0;
	int rc, code;

	if ((rc = kube_run_ns(t, ns, args, &out, &len, &code, err, sizeof(err))))
		return rc;
	kube_out_free(&out, len);
	if (code != 0)
		return tsarc_error_set(TSARC_EIO, "%s delete %s %s (namespace %s) failed (%s): %s",
			t->binary, type, name, ns ? ns : ns_text(t),
			tsarc_proc_ended(code, ended, sizeof(ended)), err[0] ? err : "(nothing on stderr)");
	return 0;
}

/* 2.15+: `rollout restart deployment/NAME`; 2.14 and older: `rollout
 * latest dc/NAME` (what the manual procedure runs); then `rollout status`
 * until the new pods are ready. With selector_style auto, a Deployment is
 * tried first. */
static int kube_rollout(tsarc_transport *tr, const char *workload)
{
	kube_transport *t = (kube_transport *)tr;
	char target[300], err[2048], ended[64];
	char *out = NULL;
	size_t len = 0;
	int rc, code, tries, i;

	tries = strcmp(t->style, "auto") ? 1 : 2;
	for (i = 0; i < tries; i++) {
		int dc = !strcmp(t->style, "deploymentConfig") || i == 1;
		const char *restart[] = {"rollout", dc ? "latest" : "restart", target, NULL};
		const char *status[] = {"rollout", "status", target, "--timeout=600s", NULL};
		snprintf(target, sizeof(target), "%s/%s", dc ? "dc" : "deployment", workload);
		if ((rc = kube_run(t, restart, &out, &len, &code, err, sizeof(err))))
			return rc;
		kube_out_free(&out, len);
		if (code != 0 && i + 1 < tries && (strstr(err, "NotFound") || strstr(err, "not found")))
			continue;
		if (code != 0)
			return tsarc_error_set(TSARC_EIO, "%s rollout of %s failed (%s): %s",
				t->binary, target, tsarc_proc_ended(code, ended, sizeof(ended)),
				err[0] ? err : "(nothing on stderr)");
		if ((rc = kube_run(t, status, &out, &len, &code, err, sizeof(err))))
			return rc;
		kube_out_free(&out, len);
		if (code != 0)
			return tsarc_error_set(TSARC_EIO, "%s rollout status %s failed (%s): %s",
				t->binary, target, tsarc_proc_ended(code, ended, sizeof(ended)),
				err[0] ? err : "(nothing on stderr)");
		return 0;
	}
	return tsarc_error_set(TSARC_ENOTFOUND, "no Deployment or DeploymentConfig %s in "
		"namespace %s", workload, ns_text(t));
}

/*
 * A server's configuration in a ConfigMap key. While it is replaced, the
 * original rides on the ConfigMap itself in this annotation, written by
 * the same apply as the change (one cannot exist without the other); the
 * name stays what earlier versions wrote, so their leftovers are found.
 */
#define SAVED_ANNOTATION "tsarc/original-redis-config"

/* The ConfigMap holds the server's configuration (a redis.conf with its
 * requirepass): its strings wiped before they are given back. */
static void cm_free(void *cm)
{
	tsarc_secret_doc_free(cm);
}

static int kube_read_config(tsarc_transport *tr, tsarc_server_config *cfg)
{
	const cJSON *ann;
	const char *text, *saved;
	cJSON *cm = NULL;
	int rc;

	if (!cfg->object || !cfg->key)
		return tsarc_error_set(TSARC_ECONFIG, "no ConfigMap and key named");
	snprintf(cfg->where, sizeof(cfg->where), "%s", cfg->object);
	snprintf(cfg->saved_where, sizeof(cfg->saved_where), "annotation " SAVED_ANNOTATION
		" of %s", cfg->object);
	if ((rc = tr->get(tr, "configmap", cfg->object, &cm)))
		return rc;
	text = tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(cm, "data"), cfg->key);
	if (!text) {
		tsarc_secret_doc_free(cm);
		return tsarc_error_set(TSARC_ECONFIG, "ConfigMap %s has no %s", cfg->object, cfg->key);
	}
	ann = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cm, "metadata"),
		"annotations");
	saved = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ann, SAVED_ANNOTATION));
	if (!(cfg->text = strdup(text)) || (saved && !(cfg->saved = strdup(saved)))) {
		tsarc_secure_free_str(cfg->text);
		cfg->text = NULL;
		tsarc_secret_doc_free(cm);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	cfg->priv = cm;
	cfg->priv_free = cm_free;
	return 0;
}

/* The ConfigMap as read, with the key set to `text` and the annotation
 * holding `saved` (or gone), in one apply. */
static int kube_write_config(tsarc_transport *tr, tsarc_server_config *cfg, const char *text,
	const char *saved)
{
	cJSON *list, *items, *doc, *data, *md, *ann;
	const char *texts[4] = {NULL};
	size_t ntexts = 0;
	int rc;

	if (!cfg->priv)
		return tsarc_error_set(TSARC_EINVAL, "ConfigMap %s was not read first", cfg->object);
	if (!(doc = cJSON_Duplicate(cfg->priv, 1)) || !(list = tsarc_resource_list_new(&items))) {
		tsarc_secret_doc_free(doc);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	tsarc_resource_sanitize(doc, NULL);
	data = cJSON_GetObjectItemCaseSensitive(doc, "data");
	/* The texts replaced are configurations too: wiped as they go. */
	tsarc_secret_doc_free(cJSON_DetachItemFromObjectCaseSensitive(data, cfg->key));
	cJSON_AddStringToObject(data, cfg->key, text);
	md = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
	if (!(ann = cJSON_GetObjectItemCaseSensitive(md, "annotations")) && saved && md)
		ann = cJSON_AddObjectToObject(md, "annotations");
	tsarc_secret_doc_free(cJSON_DetachItemFromObjectCaseSensitive(ann, SAVED_ANNOTATION));
	if (saved && ann)
		cJSON_AddStringToObject(ann, SAVED_ANNOTATION, saved);
	else if (ann && !ann->child)
		cJSON_DeleteItemFromObjectCaseSensitive(md, "annotations");
	cJSON_AddItemToArray(items, doc);
	/* The configuration holds the server's password: what kubectl says
	 * of a refused write (the patch it sent) keeps none of its lines. */
	texts[ntexts++] = text;
	if (saved)
		texts[ntexts++] = saved;
	if (cfg->text)
		texts[ntexts++] = cfg->text;
	rc = kube_apply_list((kube_transport *)tr, list, NULL, 0, texts);
	tsarc_secret_doc_free(list);
	if (rc)
		tsarc_error_prefix("ConfigMap %s", cfg->object);
	return rc;
}

/*
 * Which cluster kubectl reaches. A context is a name in one kubeconfig,
 * and in a pod (the CronJob, the restore Job) there is none: two clusters
 * whose 3scale namespaces share a name then record the same place, and a
 * restore could not tell the other cluster's backup from its own. Every
 * namespace of a cluster (Kubernetes 1.20+, OpenShift) holds the
 * ConfigMap kube-root-ca.crt, its data["ca.crt"] the cluster's root CA:
 * readable with a Role's get by name, the same in every namespace of one
 * cluster, another in another cluster. Its SHA-256 ("sha256:" and 64 hex
 * digits) is the identity recorded as the place's "cluster". Read once
 * per transport; a cluster without it, or a Role that may not get it,
 * has no identity and everything goes as before (said, never an error).
 */
#define KUBE_ROOT_CA "kube-root-ca.crt"

static const char *cluster_identity(kube_transport *t)
{
	tsarc_saved_error saved;
	cJSON *cm = NULL;
	const char *ca;
	uint8_t digest[32];
	int rc;

	pthread_mutex_lock(&t->cluster_mu);
	if (t->cluster_asked) {
		pthread_mutex_unlock(&t->cluster_mu);
		return t->cluster;
	}
	t->cluster_asked = 1;
	/* The caller's error, if any, is not this look-up's business. */
	tsarc_error_save(&saved);
	rc = t->parent.get(&t->parent, "configmap", KUBE_ROOT_CA, &cm);
	ca = rc ? NULL : tsarc_spec_str(cJSON_GetObjectItemCaseSensitive(cm, "data"), "ca.crt");
	if (rc == TSARC_ENOTFOUND)
		tsarc__log(TSARC_LOG_INFO, "kube", "cluster_unknown", "no ConfigMap " KUBE_ROOT_CA
			" in namespace %s (Kubernetes before 1.20?): what is recorded names no "
			"cluster", ns_text(t));
	else if (rc)
		tsarc__log(TSARC_LOG_INFO, "kube", "cluster_unknown", "ConfigMap " KUBE_ROOT_CA
			" could not be read (%s): what is recorded names no cluster",
			tsarc_error_last()->message);
	else if (!ca)
		tsarc__log(TSARC_LOG_INFO, "kube", "cluster_unknown", "ConfigMap " KUBE_ROOT_CA
			" in namespace %s has no ca.crt: what is recorded names no cluster", ns_text(t));
	else if (tsarc_sha256(ca, strlen(ca), digest) == 0 &&
		(t->cluster = malloc(TSARC_CLUSTER_LEN + 1))) {
		memcpy(t->cluster, TSARC_CLUSTER_PREFIX, sizeof(TSARC_CLUSTER_PREFIX) - 1);
		tsarc_hex_encode(t->cluster + sizeof(TSARC_CLUSTER_PREFIX) - 1, digest,
			sizeof(digest));
	}
	cJSON_Delete(cm);
	tsarc_error_restore(&saved);
	pthread_mutex_unlock(&t->cluster_mu);
	return t->cluster;
}

/* One cluster's namespace. Two clusters (both places name one) are two
 * places; one namespace of one cluster is one place, whatever its
 * contexts are called. Otherwise the same context and namespace, named
 * on both sides (without them the kubeconfig's current one may be
 * another cluster's). A "cluster" that is no string (a snapshot's
 * metadata is anyone's who can write the repository) names none. */
int tsarc_kube_same_place(const cJSON *a, const cJSON *b, int with_dir)
{
	const char *ca = tsarc_spec_str(a, "context"), *cb = tsarc_spec_str(b, "context");
	const char *na = tsarc_spec_str(a, "namespace"), *nb = tsarc_spec_str(b, "namespace");
	const char *ka = tsarc_spec_str(a, "cluster"), *kb = tsarc_spec_str(b, "cluster");

	(void)with_dir;
	if ((ka && kb && strcmp(ka, kb)) || (na && nb && strcmp(na, nb)))
		return 0;
	if (ka && kb && na && nb)
		return 1;
	if (ca && cb && strcmp(ca, cb))
		return 0;
	return na && nb && ca && cb ? 1 : -1;
}

static void kube_describe(tsarc_transport *tr, const tsarc_component *c, cJSON *source)
{
	kube_transport *t = (kube_transport *)tr;
	const char *cluster = cluster_identity(t);

	cJSON_AddStringToObject(source, "transport", "kube");
	cJSON_AddStringToObject(source, "binary", t->binary);
	if (cluster)
		cJSON_AddStringToObject(source, "cluster", cluster);
	if (t->context)
		cJSON_AddStringToObject(source, "context", t->context);
	if (t->namespace)
		cJSON_AddStringToObject(source, "namespace", t->namespace);
	if (c && c->pod) {
		cJSON_AddStringToObject(source, "pod", c->pod);
		cJSON_AddStringToObject(source, "container", c->container);
		cJSON_AddStringToObject(source, "selector", c->selector);
	}
}

/* The strings a kube_transport owns. */
static const size_t KUBE_STRINGS[] = {
	offsetof(kube_transport, binary), offsetof(kube_transport, context),
	offsetof(kube_transport, namespace), offsetof(kube_transport, kubeconfig),
	offsetof(kube_transport, style),
};

static void kube_free(tsarc_transport *tr)
{
	kube_transport *t = (kube_transport *)tr;

	if (!t)
		return;
	TSARC_SECURE_FREE_FIELDS(t, KUBE_STRINGS);
	tsarc_env_list_free(t->pass);
	free(t->cluster);
	pthread_mutex_destroy(&t->cluster_mu);
	free(t);
}

static int dup_opt(char **dst, const cJSON *conf, const char *key, const char *dflt)
{
	const char *v = tsarc_spec_str(conf, key);

	if (!v)
		v = dflt;
	if (!v)
		return 0;
	return (*dst = strdup(v)) ? 0 : tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

/*
 * Inside a pod with no kubeconfig, kubectl talks to its own cluster as the
 * pod's ServiceAccount, in the namespace of the service-account namespace
 * file. tsarc reads the same file, so that what it records (the snapshot's
 * deployment, the restore's target, every message) names that namespace
 * rather than "the context's default": a CronJob's snapshots then say where
 * they came from, and the restore's in-place-or-migration rule can judge.
 * Only when nothing else chooses the namespace: no namespace, context or
 * kubeconfig in the config and no KUBECONFIG in the environment.
 */
#define KUBE_SA_NAMESPACE_FILE "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

static int in_cluster_namespace(kube_transport *t)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (t->namespace || t->context || t->kubeconfig || getenv("KUBECONFIG"))
		return 0;
	rc = tsarc_read_file(KUBE_SA_NAMESPACE_FILE, 256, &text, &len);
	if (rc == TSARC_ENOTFOUND) {
		tsarc_error_clear();
		return 0;
	}
	if (rc)
		return rc;
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (!tsarc_valid_kube_name(text)) {
		free(text);
		return tsarc_error_set(TSARC_ECONFIG, "transport: %s does not hold a namespace name",
			KUBE_SA_NAMESPACE_FILE);
	}
	t->namespace = text;
	return 0;
}

int tsarc_transport_kube_new(tsarc_transport **out, const cJSON *conf)
{
	kube_transport *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pthread_mutex_init(&t->cluster_mu, NULL);
	t->parent.type = "kube";
	t->parent.caps = TSARC_TR_IN_WORKLOAD;
	t->parent.locate = kube_locate;
	t->parent.spawn = kube_spawn;
	t->parent.capture = kube_capture;
	t->parent.get = kube_get;
	t->parent.apply = kube_apply;
	t->parent.check_apply = kube_check_apply;
	t->parent.remove = kube_remove;
	t->parent.rollout = kube_rollout;
	t->parent.read_config = kube_read_config;
	t->parent.write_config = kube_write_config;
	t->parent.config_field = "config_map";
	t->parent.replace_tree = tsarc_kube_replace_tree;
	t->parent.describe = kube_describe;
	t->parent.free = kube_free;
	if ((rc = dup_opt(&t->binary, conf, "binary", "kubectl")) ||
		(rc = dup_opt(&t->context, conf, "context", NULL)) ||
		(rc = dup_opt(&t->namespace, conf, "namespace", NULL)) ||
		(rc = dup_opt(&t->kubeconfig, conf, "kubeconfig", NULL)) ||
		(rc = dup_opt(&t->style, conf, "selector_style", "auto")) ||
		(rc = tsarc_env_collect(cJSON_GetObjectItemCaseSensitive(conf, "pass_env"),
			&t->pass)) ||
		(rc = in_cluster_namespace(t))) {
		kube_free(&t->parent);
		return rc;
	}
	t->missing = !tsarc_proc_runnable(t->binary);
	if (strcmp(t->style, "auto") && strcmp(t->style, "deployment") &&
		strcmp(t->style, "deploymentConfig")) {
		rc = tsarc_error_set(TSARC_ECONFIG, "transport: selector_style must be auto, "
			"deployment (3scale 2.15+) or deploymentConfig (2.14 and older), not '%s'",
			t->style);
		kube_free(&t->parent);
		return rc;
	}
	*out = &t->parent;
	return 0;
}
