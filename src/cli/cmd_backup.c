/* Commands that move data: backup and dump. */
#include "backup.h"
#include "cli.h"
#include "extract.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_TAGS 64

static const char BACKUP_HELP[] =
	"Usage: tsarc backup --stdin --name NAME [options]\n"
	"\n"
	"Reads a stream from standard input and stores it, chunked, deduplicated,\n"
	"compressed and encrypted, as a new snapshot. The snapshot is written only\n"
	"after every chunk is stored, so an interrupted backup leaves none.\n"
	"\n"
	"Options:\n"
	"      --stdin              read the stream from standard input\n"
	"  -n, --name NAME          the stream's name in the snapshot (e.g. system-mysql.sql)\n"
	"      --kind KIND          what the stream is (default: stdin)\n"
	"  -t, --tag TAG            a tag for the snapshot (repeatable)\n"
	"      --host HOST          the host name to record (default: this machine's)\n"
	"      --time TIME          the time to record, RFC 3339 (default: now, UTC)\n"
	CLI_COMMON_HELP;

typedef struct backup_state {
	int use_stdin;
	const char *name;
	const char *kind;
	const char *host;
	const char *time;
	const char *tags[MAX_TAGS];
	size_t ntags;
} backup_state;

static int backup_option(int opt, const char *arg, void *state)
{
	backup_state *s = state;

	switch (opt) {
	case 1:
		s->use_stdin = 1;
		return 0;
	case 'n':
		s->name = arg;
		return 0;
	case 2:
		s->kind = arg;
		return 0;
	case 't':
		if (s->ntags == MAX_TAGS)
			return cli_usage_error("backup", "at most %d tags", MAX_TAGS);
		if (!*arg)
			return cli_usage_error("backup", "a tag cannot be empty");
		s->tags[s->ntags++] = arg;
		return 0;
	case 3:
		s->host = arg;
		return 0;
	case 4:
		s->time = arg;
		return 0;
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

int cmd_backup(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"stdin", no_argument, NULL, 1},
		{"name", required_argument, NULL, 'n'},
		{"kind", required_argument, NULL, 2},
		{"tag", required_argument, NULL, 't'},
		{"host", required_argument, NULL, 3},
		{"time", required_argument, NULL, 4},
		CLI_COMMON_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	backup_state s;
	tsarc_backup_options o;
	tsarc_backup_stats stats;
	tsarc_backup *b = NULL;
	tsarc_repo *repo = NULL;
	char id[TSARC_ID_HEX_LEN + 1];
	progress prog;
	int show_progress, rc, commit_rc;
	int64_t when;
	struct timespec t0;
	cli_common c;

	memset(&s, 0, sizeof(s));
	if ((rc = cli_parse_args("backup", BACKUP_HELP, argc, argv, longopts, "r:qhn:t:", &c,
		     backup_option, &s)))
		return rc < 0 ? EXIT_OK : rc;
	if (optind < argc)
		return cli_usage_error("backup", "unexpected argument '%s'", argv[optind]);
	if (!s.use_stdin)
		return cli_usage_error("backup", "nothing to back up: use --stdin");
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
	show_progress = !c.quiet && !c.json && isatty(STDERR_FILENO);
	if (show_progress) {
		memset(&prog, 0, sizeof(prog));
		prog.b = b;
		prog.start = t0;
		pthread_mutex_init(&prog.lock, NULL);
		pthread_cond_init(&prog.cv, NULL);
		if (pthread_create(&prog.thread, NULL, progress_main, &prog) != 0)
			show_progress = 0;
	}
	rc = tsarc_backup_stream_fd(b, s.name, s.kind ? s.kind : "stdin", STDIN_FILENO, NULL);
	commit_rc = rc ? rc : tsarc_backup_commit(b, id);
	if (show_progress) {
		pthread_mutex_lock(&prog.lock);
		prog.done = 1;
		pthread_cond_signal(&prog.cv);
		pthread_mutex_unlock(&prog.lock);
		pthread_join(prog.thread, NULL);
	}
	tsarc_backup_get_stats(b, &stats);
	tsarc_backup_free(b);
	tsarc_repo_free(repo);
	if (commit_rc)
		return cli_fail(commit_rc);
	double secs = seconds_since(&t0);
	if (c.json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "snapshot_id", id);
		cJSON_AddNumberToObject(doc, "bytes_read", (double)stats.bytes_read);
		cJSON_AddNumberToObject(doc, "chunks", (double)stats.chunks);
		cJSON_AddNumberToObject(doc, "new_chunks", (double)stats.new_chunks);
		cJSON_AddNumberToObject(doc, "new_bytes", (double)stats.new_bytes);
		cJSON_AddNumberToObject(doc, "stored_bytes", (double)stats.stored_bytes);
		cJSON_AddNumberToObject(doc, "seconds", secs);
		return cli_print_json(doc) ? cli_fail(TSARC_EIO) : EXIT_OK;
	}
	if (!c.quiet) {
		char rd[32], nw[32], st[32], rate[32];
		cli_format_bytes(rd, sizeof(rd), (double)stats.bytes_read);
		cli_format_bytes(nw, sizeof(nw), (double)stats.new_bytes);
		cli_format_bytes(st, sizeof(st), (double)stats.stored_bytes);
		cli_format_bytes(rate, sizeof(rate), secs > 0 ? (double)stats.bytes_read / secs : 0);
		fprintf(stderr, "snapshot %.10s saved: %s read in %.1f s (%s/s), %llu of %llu chunks new "
				"(%s, %s stored)\n",
			id, rd, secs, rate, (unsigned long long)stats.new_chunks,
			(unsigned long long)stats.chunks, nw, st);
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
	"\n"
	CLI_COMMON_HELP;

int cmd_dump(int argc, char **argv)
{
	static const struct option longopts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
	char id[TSARC_ID_HEX_LEN + 1];
	tsarc_snapshot *snap = NULL;
	const tsarc_stream *st;
	tsarc_repo *repo = NULL;
	int out = STDOUT_FILENO, rc;
	cli_common c;

	if ((rc = cli_parse_args("dump", DUMP_HELP, argc, argv, longopts, "r:qh", &c, NULL,
		     NULL)))
		return rc < 0 ? EXIT_OK : rc;
	if (optind + 2 != argc)
		return cli_usage_error("dump", "give a snapshot and a stream name");
	if ((rc = cli_open_repo(&c, &repo)))
		return cli_fail(rc);
	if ((rc = tsarc_snapshot_resolve(repo, argv[optind], id)) ||
		(rc = tsarc_snapshot_load(repo, id, &snap)))
		goto done;
	if (!(st = tsarc_snapshot_find_stream(snap, argv[optind + 1]))) {
		rc = tsarc_error_set(TSARC_ENOTFOUND, "snapshot %.10s has no stream '%s'", id,
			argv[optind + 1]);
		goto done;
	}
	rc = tsarc_stream_extract(repo, st, tsarc_sink_fd, &out, c.inflight);
	if (rc)
		tsarc_error_prefix("dump of '%s' from snapshot %.10s stopped", st->name, id);
done:
	tsarc_snapshot_free(snap);
	tsarc_repo_free(repo);
	return rc ? cli_fail(rc) : EXIT_OK;
}
