/* Commands that move data: backup and dump. */
#include "backup.h"
#include "cli.h"
#include "deploy/deploy.h"
#include "extract.h"
#include "lock.h"
#include "metrics.h"
#include "names.h"
#include "snapshot.h"
#include "tsarc/backup.h"
#include "tsarc/errors.h"
#include "tsarc/snapshot.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_TAGS 64

static const char BACKUP_HELP[] =
	"Usage: tsarc backup --config FILE [options]\n"
	"       tsarc backup --stdin --name NAME [options]\n"
	"\n"
	"With --config, backs up a whole deployment (by default 3scale: its databases,\n"
	"Redis servers, system-storage files, Secrets, ConfigMaps and APIManager) into\n"
	"one snapshot, every component streamed concurrently through the chunker,\n"
	"deduplicated, compressed and encrypted. FILE (JSON) says where the deployment\n"
	"is and overrides any part of the profile: see docs/config.md. If a required\n"
	"component fails, no snapshot is written and the error names it.\n"
	"\n"
	"With --stdin, stores standard input as a snapshot of one stream.\n"
	"The snapshot is written only after every chunk is stored, so an\n"
	"interrupted backup leaves none.\n"
	"\n"
	"Options:\n";

typedef struct backup_state {
	int use_stdin;
	const char *config;
	unsigned parallel;
	int print_config;
	const char *name;
	const char *kind;
	const char *host;
	const char *time;
	const char *tags[MAX_TAGS];
	size_t ntags;
} backup_state;

static const cli_option BACKUP_OPTIONS[] = {
	{"config", 'c', "FILE", "back up the deployment FILE describes",
		CLI_STRING, offsetof(backup_state, config)},
	{"parallel", 5, "N", "components backed up at once (default: the config's, or 4)",
		CLI_OWN, 0},
	{"print-config", 6, NULL, "print the effective configuration (profile + FILE) and exit",
		CLI_FLAG, offsetof(backup_state, print_config)},
	{"stdin", 1, NULL, "read the stream from standard input",
		CLI_FLAG, offsetof(backup_state, use_stdin)},
	{"name", 'n', "NAME", "the stream's name in the snapshot (e.g. system-mysql.sql)",
		CLI_STRING, offsetof(backup_state, name)},
	{"kind", 2, "KIND", "what the stream is (default: stdin)",
		CLI_STRING, offsetof(backup_state, kind)},
	{"tag", 't', "TAG", "a tag for the snapshot (repeatable)", CLI_OWN, 0},
	{"host", 3, "HOST", "the host name to record (default: this machine's)",
		CLI_STRING, offsetof(backup_state, host)},
	{"time", 4, "TIME", "the time to record, RFC 3339 (default: now, UTC)",
		CLI_STRING, offsetof(backup_state, time)},
	{0},
};

/* A word the snapshot will show operators (names.h): refused as a usage
 * error before the repository is opened; the library checks it again. */
static int check_text(const char *field, const char *value)
{
	if (value && tsarc_text_check(TSARC_EINVAL, field, value))
		return cli_usage_error("backup", "%s", tsarc_error_last()->message);
	return 0;
}

static int backup_option(int opt, const char *arg, void *state)
{
	backup_state *s = state;

	switch (opt) {
	case 't':
		if (s->ntags == MAX_TAGS)
			return cli_usage_error("backup", "at most %d tags", MAX_TAGS);
		if (!*arg)
			return cli_usage_error("backup", "a tag cannot be empty");
		if (check_text("tag", arg))
			return EXIT_USAGE;
		s->tags[s->ntags++] = arg;
		return 0;
	case 5: {
		char *end;
		unsigned long v = strtoul(arg, &end, 10);
		if (*end || v == 0 || v > 64)
			return cli_usage_error("backup", "--parallel takes a number from 1 to 64");
		s->parallel = (unsigned)v;
		return 0;
	}
	}
	return EXIT_USAGE;
}

typedef struct progress {
	tsarc_backup *b;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int done;
	struct timespec start;
} progress;

static double seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *progress_main(void *arg)
{
	progress *p = arg;
	tsarc_backup_stats s;
	char read_s[32], rate[32], new_s[32];
	struct timespec until;

	pthread_mutex_lock(&p->lock);
	while (!p->done) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 250 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cv, &p->lock, &until);
		if (p->done)
			break;
		tsarc_backup_get_stats(p->b, &s);
		double secs = seconds_since(&p->start);
		cli_format_bytes(read_s, sizeof(read_s), (double)s.bytes_read);
		cli_format_bytes(rate, sizeof(rate), secs > 0 ? (double)s.bytes_read / secs : 0);
		cli_format_bytes(new_s, sizeof(new_s), (double)s.new_bytes);
		fprintf(stderr, "\r[%5.1fs] %s read, %s/s, %llu chunks, %s new        ", secs,
			read_s, rate, (unsigned long long)s.chunks, new_s);
	}
	pthread_mutex_unlock(&p->lock);
	fprintf(stderr, "\r%78s\r", "");
	return NULL;
}

static void progress_start(progress *p, tsarc_backup *b, const struct timespec *t0)
{
	memset(p, 0, sizeof(*p));
	p->b = b;
	p->start = *t0;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->thread, NULL, progress_main, p) != 0)
		p->done = -1;
}

static void progress_stop(progress *p)
{
	if (p->done != -1) {
		pthread_mutex_lock(&p->lock);
		p->done = 1;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->lock);
}

/* Skips a damaged snapshot: its size is unknown, the others still count. */
static void ignore_damaged(const char *id, int code, const char *msg, void *payload)
{
	(void)id;
	(void)code;
	(void)msg;
	(void)payload;
}

/* One component of a backup's report (deploy.h), as the metrics and the
 * summary read it: its stream found in the snapshot saved (NULL: none). */
typedef struct report_line {
	const char *name, *status;
	const cJSON *seconds;
	const tsarc_stream *st;
} report_line;

static void read_report_line(const cJSON *o, const tsarc_snapshot *snap, report_line *out)
{
	const char *stream = cJSON_GetStringValue(cJSON_GetObjectItem(o, "stream"));

	out->name = cJSON_GetStringValue(cJSON_GetObjectItem(o, "name"));
	out->status = cJSON_GetStringValue(cJSON_GetObjectItem(o, "status"));
	out->seconds = cJSON_GetObjectItem(o, "seconds");
	out->st = snap && stream ? tsarc_snapshot_find_stream(snap, stream) : NULL;
}

/*
 * Metrics of a backup: what it read and stored (once committed); per component its time,
 * size and status; after a commit, the snapshot count and the size of the
 * same host's snapshot before this one (for the "much smaller than the
 * previous backup" alert), from `snaps` (snapshots_after).
 */
static void measure_backup(tsarc_snapshot **snaps, size_t n, const tsarc_backup_stats *stats,
	const char *id, const cJSON *report)
{
	const cJSON *o;
	const tsarc_snapshot *self = NULL, *prev = NULL;
	size_t i, j;

	if (!cli_metrics_active())
		return;
	/* Sizes describe the last snapshot written: a failed backup leaves
	 * them (and the size comparison of the alerts) as they were. */
	if (id) {
		cli_metrics_set(CLI_M_BACKUP_SIZE, (double)stats->bytes_read);
		cli_metrics_set(CLI_M_BACKUP_NEW, (double)stats->new_bytes);
		cli_metrics_set(CLI_M_BACKUP_STORED, (double)stats->stored_bytes);
		cli_metrics_set(CLI_M_BACKUP_CHUNKS, (double)stats->chunks);
		cli_metrics_set(CLI_M_BACKUP_NEW_CHUNKS, (double)stats->new_chunks);
	}
	if (snaps)
		cli_metrics_set(CLI_M_SNAPSHOTS, (double)n);
	for (i = 0; i < n; i++)
		if (!strcmp(snaps[i]->id, id))
			self = snaps[i];
	cJSON_ArrayForEach(o, report) {
		report_line l;
		read_report_line(o, self, &l);
		if (l.name && l.status && strcmp(l.status, "disabled"))
			cli_metrics_component(l.name, cJSON_IsNumber(l.seconds) ?
				l.seconds->valuedouble : -1, l.st ? (double)l.st->size : -1,
				!strcmp(l.status, "ok"));
	}
	/* Oldest first: the last match before this one is the previous. */
	for (i = 0; self && i < n; i++)
		if (snaps[i] != self && !strcmp(snaps[i]->host, self->host) &&
			snaps[i]->time_unix <= self->time_unix)
			prev = snaps[i];
	if (prev) {
		double size = 0;
		for (j = 0; j < prev->nstreams; j++)
			size += (double)prev->streams[j].size;
		cli_metrics_set(CLI_M_BACKUP_PREVIOUS_SIZE, size);
	}
}

/* Every snapshot's headers once the backup `id` is committed (id NULL:
 * none was), for the metrics and the shared-host check, when metrics are
 * on: *snaps NULL otherwise, or when they cannot be read. Each header is
 * its whole manifest, downloaded and decrypted (40 bytes a chunk: some
 * 6 MB for a 10 GB dump's), one per snapshot kept; a backup without
 * metrics reads none. */
static void snapshots_after(tsarc_repo *repo, const char *id, tsarc_snapshot ***snaps,
	size_t *n)
{
	*snaps = NULL;
	*n = 0;
	if (!id || !cli_metrics_active() ||
		tsarc_snapshot_load_all_headers(repo, snaps, n, ignore_damaged, NULL))
		*snaps = NULL, *n = 0;
}

/*
 * Two clusters whose 3scale namespaces share a name record one host
 * (the CronJob's --host 3scale-NAMESPACE): `restore latest --host` then
 * refuses where it would take the other cluster's backup (snapshot.h,
 * tsarc_snapshot_pick), but the setup is wrong from the first backup on,
 * and said then by a backup with metrics (which read every snapshot's
 * headers anyway; without them a backup reads no manifest for this): when
 * the host's previous deployment backup was taken in another cluster than
 * this one, a warning names both. The backup is kept.
 */
static void warn_shared_host(tsarc_snapshot **snaps, size_t n, const char *id)
{
	const tsarc_snapshot *self = NULL, *prev = NULL;
	const char *mine, *theirs;
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(snaps[i]->id, id))
			self = snaps[i];
	if (!self || !(mine = tsarc_snapshot_cluster(self)))
		return;
	/* Oldest first: the last match before this one is the previous. */
	for (i = 0; i < n; i++)
		if (snaps[i] != self && !strcmp(snaps[i]->host, self->host) &&
			snaps[i]->time_unix <= self->time_unix && tsarc_snapshot_is_deployment(snaps[i]))
			prev = snaps[i];
	if (!prev || !(theirs = tsarc_snapshot_cluster(prev)) || !strcmp(theirs, mine))
		return;
	cli_log(TSARC_LOG_WARN, "host_shared_by_clusters", "host '%s' is backed up from "
		"another cluster too: this backup (%.10s) was taken in cluster %.19s, the host's "
		"previous one (%s, %.10s) in cluster %.19s; 'restore latest --host %s' refuses "
		"while the newest is the other cluster's: give each cluster's CronJob its own "
		"--host (and its restore Job the same)", self->host, self->id, mine, prev->time,
		prev->id, theirs, self->host);
}

/* Per component: status, stream size (from the saved snapshot), time, source. */
/* --json: what a backup wrote and how long it took (both kinds of backup). */
static cJSON *stats_json(const char *id, const tsarc_backup_stats *st, double secs)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddStringToObject(doc, "snapshot_id", id);
	cJSON_AddNumberToObject(doc, "bytes_read", (double)st->bytes_read);
	cJSON_AddNumberToObject(doc, "chunks", (double)st->chunks);
	cJSON_AddNumberToObject(doc, "new_chunks", (double)st->new_chunks);
	cJSON_AddNumberToObject(doc, "new_bytes", (double)st->new_bytes);
	cJSON_AddNumberToObject(doc, "stored_bytes", (double)st->stored_bytes);
	cJSON_AddNumberToObject(doc, "seconds", secs);
	return doc;
}

/* The line a backup ends with, unless --quiet. */
static void say_saved(const char *id, const tsarc_backup_stats *stats, double secs)
{
	char rd[32], nw[32], st[32], rate[32];

	cli_format_bytes(rd, sizeof(rd), (double)stats->bytes_read);
	cli_format_bytes(nw, sizeof(nw), (double)stats->new_bytes);
	cli_format_bytes(st, sizeof(st), (double)stats->stored_bytes);
	cli_format_bytes(rate, sizeof(rate), secs > 0 ? (double)stats->bytes_read / secs : 0);
	cli_say("saved", "snapshot %.10s saved: %s read in %.1f s (%s/s), %llu of %llu chunks new "
			"(%s, %s stored)",
		id, rd, secs, rate, (unsigned long long)stats->new_chunks,
		(unsigned long long)stats->chunks, nw, st);
}

static void print_components(const cJSON *report, const tsarc_snapshot *snap)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, report) {
		const cJSON *src = cJSON_GetObjectItem(o, "source");
		char size[32] = "-", where[300] = "", took[32] = "-";
		report_line l;
		read_report_line(o, snap, &l);
		if (l.st)
			cli_format_bytes(size, sizeof(size), (double)l.st->size);
		if (cJSON_GetObjectItem(src, "pod"))
			snprintf(where, sizeof(where), "pod %s/%s",
				cJSON_GetStringValue(cJSON_GetObjectItem(src, "pod")),
				cJSON_GetStringValue(cJSON_GetObjectItem(src, "container")));
		else if (cJSON_GetObjectItem(src, "host"))
			snprintf(where, sizeof(where), "host %s",
				cJSON_GetStringValue(cJSON_GetObjectItem(src, "host")));
		if (cJSON_IsNumber(l.seconds))
			snprintf(took, sizeof(took), "%.1fs", l.seconds->valuedouble);
		cli_say("component", "  %-20s %-10s %-9s %10s %7s  %s", l.name ? l.name : "?",
			cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind")), l.status ? l.status : "?",
			size, took, where);
	}
}

static int backup_deployment(const backup_state *s, cli_common *c)
{
	tsarc_backup_options o;
	tsarc_backup_stats stats;
	tsarc_deploy *d = NULL;
	tsarc_backup *b = NULL;
	tsarc_repo *repo = NULL;
	tsarc_snapshot *snap = NULL, **snaps = NULL;
	cJSON *report = NULL;
	char id[TSARC_ID_HEX_LEN + 1];
	struct timespec t0;
	progress prog;
	int64_t when;
	size_t nsnaps = 0;
	int rc, show_progress;

	if (s->use_stdin || s->name || s->kind)
		return cli_usage_error("backup", "--name and --kind go with --stdin");
	if (s->time && tsarc_time_parse(s->time, &when))
		return cli_usage_error("backup", "%s", tsarc_error_last()->message);
	/* The configuration first: a typo fails before the repository is touched. */
	if ((rc = tsarc_deploy_load(&d, s->config)))
		return cli_fail(rc);
	tsarc_deploy_set_parallel(d, s->parallel);
	if (s->print_config) {
		/* What is external was decided from the APIManager and the
		 * Secrets (layout.h): printed with why, under "decided". */
		cJSON *decided = NULL, *doc;
		if ((rc = tsarc_deploy_decide_external(d, &decided))) {
			tsarc_deploy_free(d);
			return cli_fail(rc);
		}
		doc = cJSON_Duplicate(tsarc_deploy_effective(d), 1);
		if (doc && decided && cJSON_GetArraySize(decided))
			cJSON_AddItemToObject(doc, "decided", decided);
		else
			cJSON_Delete(decided);
		rc = cli_print_json(doc);
		tsarc_deploy_free(d);
		return rc ? cli_fail(TSARC_EIO) : EXIT_OK;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = cli_open_repo(c, &repo))) {
		tsarc_deploy_free(d);
		return cli_fail(rc);
	}
	memset(&o, 0, sizeof(o));
	o.host = s->host;
	o.tags = s->tags;
	o.ntags = s->ntags;
	o.time = s->time;
	if ((rc = tsarc_backup_new(&b, repo, &o)))
		goto done;
	show_progress = !c->quiet && !c->json && !cli_log_json() && isatty(STDERR_FILENO);
	if (show_progress)
		progress_start(&prog, b, &t0);
	rc = tsarc_deploy_backup(d, b, &report);
	if (!rc)
		rc = tsarc_backup_commit(b, id);
	if (show_progress)
		progress_stop(&prog);
	tsarc_backup_get_stats(b, &stats);
	/* Without a commit this abandons the snapshot: no manifest is written. */
	tsarc_backup_free(b);
	b = NULL;
	snapshots_after(repo, rc ? NULL : id, &snaps, &nsnaps);
	measure_backup(snaps, nsnaps, &stats, rc ? NULL : id, report);
	if (!rc)
		warn_shared_host(snaps, nsnaps, id);
	tsarc_snapshot_array_free(snaps, nsnaps);
	if (rc) {
		int code = cli_fail(rc);
		if (c->json) {
			cJSON *doc = cJSON_CreateObject();
			cJSON_AddStringToObject(doc, "error", tsarc_error_last()->message);
			cJSON_AddItemToObject(doc, "components", report);
			report = NULL;
			cli_print_json(doc);
		}
		cJSON_Delete(report);
		tsarc_repo_free(repo);
		tsarc_deploy_free(d);
		return code;
	}
	double secs = seconds_since(&t0);
	if (tsarc_snapshot_load(repo, id, &snap))
		snap = NULL; /* only the summary's sizes are missing */
	if (c->json) {
		cJSON *doc = stats_json(id, &stats, secs);
		cJSON_AddItemToObject(doc, "components", report);
		report = NULL;
		rc = cli_print_json(doc) ? TSARC_EIO : 0;
	} else {
		if (!c->quiet) {
			print_components(report, snap);
			say_saved(id, &stats, secs);
		}
		printf("%s\n", id);
	}
done:
	tsarc_snapshot_free(snap);
	cJSON_Delete(report);
	tsarc_backup_free(b);
	tsarc_repo_free(repo);
	tsarc_deploy_free(d);
	return rc ? cli_fail(rc) : EXIT_OK;
}

int cmd_backup(int argc, char **argv)
{
	static const cli_command cmd = {"backup", BACKUP_HELP, BACKUP_OPTIONS, backup_option,
		0, NULL, CLI_WRITES, NULL, 0};
	backup_state s;
	tsarc_backup_options o;
	tsarc_backup_stats stats;
	tsarc_backup *b = NULL;
	tsarc_repo *repo = NULL;
	tsarc_snapshot **snaps = NULL;
	char id[TSARC_ID_HEX_LEN + 1];
	progress prog;
	size_t nsnaps = 0;
	int show_progress, rc, commit_rc;
	int64_t when;
	struct timespec t0;
	cli_common c;

	memset(&s, 0, sizeof(s));
	if ((rc = cli_start(&cmd, argc, argv, &c, &s)) != CLI_GO_ON)
		return rc;
	if ((rc = check_text("host", s.host)) || (rc = check_text("stream name", s.name)) ||
		(rc = check_text("stream kind", s.kind)))
		return rc;
	if (s.config && s.use_stdin)
		return cli_usage_error("backup", "--config and --stdin do not go together");
	if (s.config)
		return backup_deployment(&s, &c);
	if (s.print_config || s.parallel)
		return cli_usage_error("backup", "--print-config and --parallel go with --config");
	if (!s.use_stdin)
		return cli_usage_error("backup", "nothing to back up: use --config FILE or --stdin");
	if (!s.name)
		return cli_usage_error("backup", "--stdin needs --name NAME for the stream");
	if (s.time && tsarc_time_parse(s.time, &when))
		return cli_usage_error("backup", "%s", tsarc_error_last()->message);
	if (isatty(STDIN_FILENO))
		return cli_usage_error("backup", "standard input is a terminal: pipe the data in");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = cli_open_repo(&c, &repo)))
		return cli_fail(rc);
	memset(&o, 0, sizeof(o));
	o.host = s.host;
	o.tags = s.tags;
	o.ntags = s.ntags;
	o.time = s.time;
	if ((rc = tsarc_backup_new(&b, repo, &o))) {
		tsarc_repo_free(repo);
		return cli_fail(rc);
	}
	show_progress = !c.quiet && !c.json && !cli_log_json() && isatty(STDERR_FILENO);
	if (show_progress)
		progress_start(&prog, b, &t0);
	rc = tsarc_backup_stream_fd(b, s.name, s.kind ? s.kind : "stdin", STDIN_FILENO, NULL);
	commit_rc = rc ? rc : tsarc_backup_commit(b, id);
	if (show_progress)
		progress_stop(&prog);
	tsarc_backup_get_stats(b, &stats);
	tsarc_backup_free(b);
	snapshots_after(repo, commit_rc ? NULL : id, &snaps, &nsnaps);
	measure_backup(snaps, nsnaps, &stats, commit_rc ? NULL : id, NULL);
	tsarc_snapshot_array_free(snaps, nsnaps);
	tsarc_repo_free(repo);
	if (commit_rc)
		return cli_fail(commit_rc);
	double secs = seconds_since(&t0);
	if (c.json) {
		cJSON *doc = stats_json(id, &stats, secs);
		return cli_print_json(doc) ? cli_fail(TSARC_EIO) : EXIT_OK;
	}
	if (!c.quiet) {
		say_saved(id, &stats, secs);
	}
	printf("%s\n", id);
	return EXIT_OK;
}

static const char DUMP_HELP[] =
	"Usage: tsarc dump SNAPSHOT NAME [options]\n"
	"\n"
	"Writes stream NAME of SNAPSHOT (an id, a unique prefix, or latest) to\n"
	"standard output. Every chunk is verified before it is written and the\n"
	"whole stream's SHA-256 at the end; damage stops the dump with exit code 3.\n"
	"Holds a shared lock, so no prune removes chunks while they are read.\n"
	"\n";

int cmd_dump(int argc, char **argv)
{
	static const cli_command cmd = {"dump", DUMP_HELP, NULL, NULL,
		2, "give a snapshot and a stream name", 0, NULL, 0};
	tsarc_repo *repo = NULL;
	int rc;
	cli_common c;

	if ((rc = cli_start_repo(&cmd, argc, argv, &c, NULL, &repo)) != CLI_GO_ON)
		return rc;
	rc = tsarc_dump_fd(repo, argv[optind], argv[optind + 1], STDOUT_FILENO, c.inflight);
	return cli_end(repo, NULL, rc);
}
