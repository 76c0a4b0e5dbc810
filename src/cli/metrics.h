#ifndef TSARC_CLI_METRICS_H
#define TSARC_CLI_METRICS_H

/*
 * What a command that changes or checks the repository measured, for
 * Prometheus: --metrics-file (the text format, for node-exporter's
 * textfile collector) and --pushgateway. docs/metrics.md lists the names.
 *
 * A metric keeps its last value until a run measures it again (in the
 * file as in the Pushgateway, which replaces only the families a push
 * carries): a failed run writes its exit code, duration and what it did
 * measure, and leaves tsarc_last_success_timestamp_seconds as the last
 * successful run wrote it.
 */

/* Measured once per run; labels repository and command. */
enum {
	CLI_M_LAST_RUN,
	CLI_M_LAST_SUCCESS,
	CLI_M_DURATION,
	CLI_M_EXIT_CODE,
	CLI_M_BACKUP_SIZE,
	CLI_M_BACKUP_PREVIOUS_SIZE,
	CLI_M_BACKUP_NEW,
	CLI_M_BACKUP_STORED,
	CLI_M_BACKUP_CHUNKS,
	CLI_M_BACKUP_NEW_CHUNKS,
	CLI_M_SNAPSHOTS,
	CLI_M_REPO_SIZE,
	CLI_M_REPO_CHUNKS,
	CLI_M_CHECK_ERRORS,
	CLI_M_FORGET_REMOVED,
	CLI_M_PRUNE_FREED,
	CLI_M_PRUNE_FREED_CHUNKS,
	CLI_M_RESTORE_BYTES,
	/* Per component (label component too). */
	CLI_M_COMPONENT_DURATION,
	CLI_M_COMPONENT_SIZE,
	CLI_M_COMPONENT_SUCCESS,
	CLI_M_COUNT
};

/* --metrics-file, --pushgateway and its settings: 1 when `opt` was one,
 * 0 when not, -1 on a bad value (said on stderr). */
int cli_metrics_option(int opt, const char *arg);
/* Starts measuring `command` on `repo` (when metrics were asked for);
 * refuses (usage error, exit code returned) metrics options on a command
 * that neither changes nor checks the repository. */
int cli_metrics_begin(const char *command, const char *repo);
/* Whether this run is measured (to skip work done only for metrics). */
int cli_metrics_active(void);
void cli_metrics_set(int metric, double value);
/* seconds or bytes < 0: not known. */
void cli_metrics_component(const char *component, double seconds, double bytes, int ok);
/* Writes the file and pushes, whatever `exit_code`; a failure to do so is
 * a warning and leaves the exit code alone. Returns `exit_code`. */
int cli_metrics_end(int exit_code);

/* The text exposition of this run's samples only (for the Pushgateway),
 * or, with `merge_from` (a previous file's text, may be NULL), merged
 * over it. The caller frees the result; NULL when out of memory. */
char *cli_metrics_render(const char *merge_from);

/* src/cli/push.c: PUTs nothing, POSTs `body` to the Pushgateway's group
 * job/JOB/instance/INSTANCE/command/COMMAND. */
int cli_metrics_push(const char *url, const char *job, const char *instance,
	const char *command, const char *auth_file, const char *body);

#endif
