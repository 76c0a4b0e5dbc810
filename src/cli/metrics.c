/* Prometheus metrics of a run: see metrics.h and docs/metrics.md. */
#include "metrics.h"
#include "cli.h"
#include "fileio.h"
#include "interrupt.h"
#include "urltext.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PREVIOUS_MAX (4u * 1024u * 1024u)

static const struct family {
	const char *name, *type, *help;
} FAMILIES[CLI_M_COUNT] = {
	[CLI_M_LAST_RUN] = {"tsarc_last_run_timestamp_seconds", "gauge",
		"When the command last ended, successful or not (Unix time)."},
	[CLI_M_LAST_SUCCESS] = {"tsarc_last_success_timestamp_seconds", "gauge",
		"When the command last ended with exit code 0 (Unix time)."},
	[CLI_M_DURATION] = {"tsarc_duration_seconds", "gauge",
		"How long the command's last run took."},
	[CLI_M_EXIT_CODE] = {"tsarc_exit_code", "gauge",
		"The exit code of the command's last run (0: success; see the README)."},
	[CLI_M_BACKUP_SIZE] = {"tsarc_backup_size_bytes", "gauge",
		"Bytes the last successful backup read from its sources (its snapshot's size)."},
	[CLI_M_BACKUP_PREVIOUS_SIZE] = {"tsarc_backup_previous_size_bytes", "gauge",
		"Size of the snapshot of the same host before the last successful backup's."},
	[CLI_M_BACKUP_NEW] = {"tsarc_backup_new_bytes", "gauge",
		"Bytes of the last successful backup in chunks new to the repository (uncompressed)."},
	[CLI_M_BACKUP_STORED] = {"tsarc_backup_stored_bytes", "gauge",
		"Bytes the last successful backup wrote to the store (compressed and encrypted)."},
	[CLI_M_BACKUP_CHUNKS] = {"tsarc_backup_chunks", "gauge",
		"Chunks in the last successful backup."},
	[CLI_M_BACKUP_NEW_CHUNKS] = {"tsarc_backup_new_chunks", "gauge",
		"Chunks of the last successful backup new to the repository."},
	[CLI_M_SNAPSHOTS] = {"tsarc_snapshots", "gauge",
		"Snapshots in the repository when the command ended."},
	[CLI_M_REPO_SIZE] = {"tsarc_repository_size_bytes", "gauge",
		"Bytes of chunk objects in the repository (measured by prune)."},
	[CLI_M_REPO_CHUNKS] = {"tsarc_repository_chunks", "gauge",
		"Chunk objects in the repository (measured by check and prune)."},
	[CLI_M_CHECK_ERRORS] = {"tsarc_check_errors", "gauge",
		"Problems the last check found (damaged keys, snapshots, chunks; missing chunks)."},
	[CLI_M_FORGET_REMOVED] = {"tsarc_forget_removed_snapshots", "gauge",
		"Snapshots the last forget removed."},
	[CLI_M_PRUNE_FREED] = {"tsarc_prune_freed_bytes", "gauge",
		"Bytes the last prune freed."},
	[CLI_M_PRUNE_FREED_CHUNKS] = {"tsarc_prune_freed_chunks", "gauge",
		"Chunk objects the last prune removed."},
	[CLI_M_RESTORE_BYTES] = {"tsarc_restore_bytes", "gauge",
		"Bytes of the streams the last restore applied."},
	[CLI_M_COMPONENT_DURATION] = {"tsarc_component_duration_seconds", "gauge",
		"How long a component took in the last run (deployment backup)."},
	[CLI_M_COMPONENT_SIZE] = {"tsarc_component_size_bytes", "gauge",
		"Size of a component's stream in the last run."},
	[CLI_M_COMPONENT_SUCCESS] = {"tsarc_component_success", "gauge",
		"1 when a component succeeded in the last run, 0 when it failed or was not run."},
};

typedef struct sample {
	int fam;
	char *component; /* NULL: a per-run metric */
	double value;
} sample;

static struct {
	pthread_mutex_t mu;
	const char *file, *push_url, *job, *instance, *auth_file;
	const char *command;
	/* The repository label: --repo as given, credentials left out
	 * (urltext.h), for a run refused because its URL holds some writes
	 * and pushes its metrics too. */
	char repo[4200];
	int active, ended;
	struct timespec t0;
	sample *s;
	size_t n, cap;
	tsarc_cleanup on_signal;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

int cli_metrics_option(int opt, const char *arg)
{
	switch (opt) {
	case 1007:
		g.file = arg;
		return 1;
	case 1008: {
		if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8)) {
			return cli_option_error("--pushgateway takes an http:// or https:// URL");
		}
		/* A password in the URL would be on the command line for ps,
		 * and in the warning of a failed push. An '@' anywhere counts
		 * (urltext.h): one holding '/' hid it from a search of the
		 * host part. */
		if (tsarc_url_userinfo_end(arg)) {
			return cli_option_error("--pushgateway: no credentials in the URL; give them "
				"with --pushgateway-auth-file");
		}
		g.push_url = arg;
		return 1;
	}
	case 1009:
	case 1010:
		if (!*arg || strchr(arg, '/')) {
			return cli_option_error("--pushgateway-%s takes a name without '/'",
				opt == 1009 ? "job" : "instance");
		}
		*(opt == 1009 ? &g.job : &g.instance) = arg;
		return 1;
	case 1011:
		g.auth_file = arg;
		return 1;
	}
	return 0;
}

static int finish(int exit_code, int from_signal);

static int on_signal(void *arg)
{
	(void)arg;
	finish(128 + tsarc_interrupted(), 1);
	return 0;
}

int cli_metrics_begin(const char *command, const char *repo)
{
	static const char *const measured[] = {"backup", "restore", "forget", "prune", "check"};
	size_t i;

	if ((g.job || g.instance || g.auth_file) && !g.push_url)
		return cli_usage_error(command, "--pushgateway-job, -instance and -auth-file go "
						"with --pushgateway URL");
	if (!g.file && !g.push_url)
		return 0;
	for (i = 0; i < sizeof(measured) / sizeof(measured[0]); i++)
		if (!strcmp(command, measured[i]))
			break;
	if (i == sizeof(measured) / sizeof(measured[0]))
		return cli_usage_error(command, "--metrics-file and --pushgateway go with backup, "
						"restore, forget, prune and check");
	g.command = command;
	tsarc_url_redact(repo, g.repo, sizeof(g.repo));
	clock_gettime(CLOCK_MONOTONIC, &g.t0);
	g.active = 1;
	/* A signal ends the process from the signal thread: the metrics are
	 * written there, last (the registry runs newest first). */
	tsarc_cleanup_add(&g.on_signal, on_signal, NULL, NULL);
	return 0;
}

static void add(int fam, const char *component, double value)
{
	size_t i;

	pthread_mutex_lock(&g.mu);
	if (!g.active || g.ended)
		goto out;
	for (i = 0; i < g.n; i++)
		if (g.s[i].fam == fam && (component ? g.s[i].component &&
							      !strcmp(g.s[i].component, component)
						    : !g.s[i].component)) {
			g.s[i].value = value;
			goto out;
		}
	if (g.n == g.cap) {
		size_t cap = g.cap ? g.cap * 2 : 32;
		sample *grown = realloc(g.s, cap * sizeof(*grown));
		if (!grown)
			goto out; /* a metric less, not a failed command */
		g.s = grown;
		g.cap = cap;
	}
	g.s[g.n].fam = fam;
	g.s[g.n].component = component ? strdup(component) : NULL;
	g.s[g.n].value = value;
	if (!component || g.s[g.n].component)
		g.n++;
out:
	pthread_mutex_unlock(&g.mu);
}

int cli_metrics_active(void)
{
	return g.active;
}

void cli_metrics_set(int metric, double value)
{
	add(metric, NULL, value);
}

void cli_metrics_component(const char *component, double seconds, double bytes, int ok)
{
	if (seconds >= 0)
		add(CLI_M_COMPONENT_DURATION, component, seconds);
	if (bytes >= 0)
		add(CLI_M_COMPONENT_SIZE, component, bytes);
	add(CLI_M_COMPONENT_SUCCESS, component, ok ? 1 : 0);
}

static int put_fmt(tsarc_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static int put_fmt(tsarc_buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return tsarc_error_set(TSARC_EINVAL, "a metrics line is too long");
	return tsarc_buf_append(b, line, (size_t)n);
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static int put_label(tsarc_buf *b, const char *name, const char *value)
{
	int rc = put_fmt(b, "%s=\"", name);

	for (; !rc && *value; value++) {
		if (*value == '\\')
			rc = tsarc_buf_puts(b, "\\\\");
		else if (*value == '"')
			rc = tsarc_buf_puts(b, "\\\"");
		else if (*value == '\n')
			rc = tsarc_buf_puts(b, "\\n");
		else
			rc = tsarc_buf_append(b, value, 1);
	}
	return rc ? rc : tsarc_buf_puts(b, "\"");
}

/* repository="...",command="..." : how every sample of this run starts,
 * so a previous file's samples of the same run are told by their prefix. */
static int run_labels(tsarc_buf *b)
{
	int rc = put_label(b, "repository", g.repo);

	if (!rc)
		rc = tsarc_buf_puts(b, ",");
	return rc ? rc : put_label(b, "command", g.command);
}

static int put_value(tsarc_buf *b, double v)
{
	if (v == (double)(long long)v && v > -1e15 && v < 1e15)
		return put_fmt(b, " %lld\n", (long long)v);
	return put_fmt(b, " %.3f\n", v);
}

static int family_of(const char *line, size_t namelen)
{
	int f;

	for (f = 0; f < CLI_M_COUNT; f++)
		if (strlen(FAMILIES[f].name) == namelen && !strncmp(FAMILIES[f].name, line, namelen))
			return f;
	return -1;
}

/* Keeps a previous sample unless this run writes its family for the same
 * repository and command (as a Pushgateway POST replaces a family). */
static int keep_previous(const char *line, size_t len, const int *written, const char *prefix,
	int *fam_out)
{
	size_t namelen = strcspn(line, "{ ");
	size_t plen = strlen(prefix);

	if (namelen >= len || (*fam_out = family_of(line, namelen)) < 0)
		return 0;
	if (!written[*fam_out])
		return 1;
	if (line[namelen] != '{' || len < namelen + 1 + plen)
		return 1;
	return !(strncmp(line + namelen + 1, prefix, plen) == 0 &&
		 (line[namelen + 1 + plen] == ',' || line[namelen + 1 + plen] == '}'));
}

char *cli_metrics_render(const char *merge_from)
{
	tsarc_buf out = TSARC_BUF_INIT, prefix = TSARC_BUF_INIT;
	int written[CLI_M_COUNT] = {0};
	char *result = NULL;
	size_t i;
	int f, rc;

	for (i = 0; i < g.n; i++)
		written[g.s[i].fam] = 1;
	if ((rc = run_labels(&prefix)) || (rc = tsarc_buf_puts(&prefix, "")))
		goto done;
	for (f = 0; f < CLI_M_COUNT && !rc; f++) {
		int header = 0;
		const char *p = merge_from;
		while (p && *p && !rc) {
			size_t len = strcspn(p, "\n");
			int fam;
			if (*p != '#' && len && keep_previous(p, len, written, (char *)prefix.ptr, &fam) &&
				fam == f) {
				if (!header++)
					rc = put_fmt(&out, "# HELP %s %s\n# TYPE %s %s\n",
						FAMILIES[f].name, FAMILIES[f].help, FAMILIES[f].name,
						FAMILIES[f].type);
				if (!rc && !(rc = tsarc_buf_append(&out, p, len)))
					rc = tsarc_buf_puts(&out, "\n");
			}
			p += len + (p[len] == '\n');
		}
		for (i = 0; i < g.n && !rc; i++) {
			if (g.s[i].fam != f)
				continue;
			if (!header++)
				rc = put_fmt(&out, "# HELP %s %s\n# TYPE %s %s\n", FAMILIES[f].name,
					FAMILIES[f].help, FAMILIES[f].name, FAMILIES[f].type);
			if (!rc)
				rc = put_fmt(&out, "%s{", FAMILIES[f].name);
			if (!rc)
				rc = tsarc_buf_append(&out, prefix.ptr, prefix.size);
			if (!rc && g.s[i].component && !(rc = tsarc_buf_puts(&out, ",")))
				rc = put_label(&out, "component", g.s[i].component);
			if (!rc && !(rc = tsarc_buf_puts(&out, "}")))
				rc = put_value(&out, g.s[i].value);
		}
	}
	if (!rc)
		result = tsarc_buf_detach(&out);
done:
	tsarc_buf_dispose(&out);
	tsarc_buf_dispose(&prefix);
	return result;
}

static int write_file(void)
{
	char *previous = NULL, *text;
	size_t len;
	int rc;

	/* The previous file carries the last success (and what other commands
	 * or repositories wrote there); a missing or unreadable one, nothing. */
	if (tsarc_read_file(g.file, PREVIOUS_MAX, &previous, &len))
		previous = NULL;
	text = cli_metrics_render(previous);
	free(previous);
	if (!text)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	rc = tsarc_replace_file(g.file, text, strlen(text), 0644, 0);
	free(text);
	return rc;
}

int cli_metrics_end(int exit_code)
{
	return finish(exit_code, 0);
}

/* Once per process: by main at the end, or by the signal thread (through
 * the cleanup registry) when a signal ends the process first. */
static int finish(int exit_code, int from_signal)
{
	struct timespec now, wall;
	char *body = NULL;
	double secs;
	size_t i;

	if (!g.active)
		return exit_code;
	/* First: when the signal thread is already cleaning up, this waits
	 * for it (it writes the metrics, and the process ends there). */
	if (!from_signal)
		tsarc_cleanup_remove(&g.on_signal);
	pthread_mutex_lock(&g.mu);
	if (g.ended) {
		pthread_mutex_unlock(&g.mu);
		return exit_code;
	}
	pthread_mutex_unlock(&g.mu);
	clock_gettime(CLOCK_MONOTONIC, &now);
	clock_gettime(CLOCK_REALTIME, &wall);
	secs = (double)(now.tv_sec - g.t0.tv_sec) + (double)(now.tv_nsec - g.t0.tv_nsec) / 1e9;
	cli_metrics_set(CLI_M_DURATION, secs);
	cli_metrics_set(CLI_M_EXIT_CODE, exit_code);
	cli_metrics_set(CLI_M_LAST_RUN, (double)wall.tv_sec);
	if (exit_code == 0)
		cli_metrics_set(CLI_M_LAST_SUCCESS, (double)wall.tv_sec);
	pthread_mutex_lock(&g.mu);
	g.ended = 1;
	if (g.push_url && !(body = cli_metrics_render(NULL)))
		tsarc_error_set(TSARC_ENOMEM, "out of memory");
	pthread_mutex_unlock(&g.mu);
	if (g.file && write_file())
		cli_log(TSARC_LOG_WARN, "metrics_not_written", "metrics file %s not written: %s",
			g.file, tsarc_error_last()->message);
	if (g.push_url) {
		char host[256] = "";
		const char *instance = g.instance;
		if (!instance) {
			gethostname(host, sizeof(host) - 1);
			instance = host[0] ? host : "unknown";
		}
		if (!body || cli_metrics_push(g.push_url, g.job ? g.job : "tsarc", instance,
				     g.command, g.auth_file, body))
			cli_log(TSARC_LOG_WARN, "metrics_not_pushed", "metrics not pushed to %s: %s",
				g.push_url, tsarc_error_last()->message);
	}
	free(body);
	for (i = 0; i < g.n; i++)
		free(g.s[i].component);
	free(g.s);
	g.s = NULL;
	g.n = g.cap = 0;
	return exit_code;
}
