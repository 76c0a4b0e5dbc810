#include "cli.h"
#include "metrics.h"
#include "interrupt.h"
#include "tsarc/errors.h"

#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

static const char MAIN_HELP[] =
	"tsarc " TSARC_VERSION " - back up, restore and migrate 3scale through S3\n"
	"\n"
	"Usage: tsarc COMMAND [options]\n"
	"\n"
	"Commands:\n"
	"  init        create a repository\n"
	"  backup      back up a deployment (--config) or a stream (--stdin)\n"
	"  restore     restore a deployment (--config) from a snapshot\n"
	"  snapshots   list snapshots\n"
	"  show        show one snapshot and its streams\n"
	"  dump        write one stream of a snapshot to standard output, verified\n"
	"  check       verify the repository (--read-data: every chunk's content)\n"
	"  forget      remove snapshots by name or by a keep-policy (--keep-daily 7 ...)\n"
	"  prune       remove the chunks no snapshot needs\n"
	"  unlock      remove stale locks\n"
	"  key         list, add, remove or change the passwords that open the repository\n"
	"  extend-retention  S3 Object Lock: keep what snapshots need undeletable\n"
	"              for DAYS from now (init --object-lock DAYS)\n"
	"  repair      repair index: rebuild a format-2 repository's index from its packs\n"
	"  version     print the version\n"
	"\n"
	"Run 'tsarc COMMAND --help' for a command's options.\n"
	"\n"
	"Environment: TSARC_REPOSITORY, TSARC_PASSWORD, TSARC_PASSWORD_FILE,\n"
	"TSARC_NEW_PASSWORD, TSARC_NEW_PASSWORD_FILE (key add, key passwd),\n"
	"TSARC_KEY_HINT (the id, or its start, of the key file to try first),\n"
	"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,\n"
	"AWS_PROFILE, AWS_ENDPOINT_URL, AWS_CA_BUNDLE, AWS_ROLE_ARN,\n"
	"AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_FULL_URI (the S3 credential\n"
	"chain: backends/stores/s3/README.md), TSARC_S3_SSE, TSARC_S3_STORAGE_CLASS,\n"
	"TSARC_LOG_FORMAT (human, json).\n"
	"\n"
	"Exit codes:\n"
	"   0  success\n"
	"   1  failure (the message says why)\n"
	"   2  wrong usage or configuration\n"
	"   3  damaged data found (check, dump, restore)\n"
	"  10  no repository at that location\n"
	"  11  repository locked\n"
	"  12  wrong password\n"
	"  13  access denied by the store (credentials, permissions)\n"
	"  14  store unreachable or failing after retries\n"
	" 129, 130, 143  interrupted by SIGHUP, SIGINT, SIGTERM (128 + the signal)\n";

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} commands[] = {
#define CLI_COMMAND_ROW(name, fn) {name, fn},
		CLI_COMMANDS(CLI_COMMAND_ROW)
#undef CLI_COMMAND_ROW
	};
	const char *log_format = getenv("TSARC_LOG_FORMAT");
	size_t i;
	int code, sig;
	struct rlimit no_core = {0, 0};

	/* The master keys, the repository password and database passwords are
	 * in this process's memory: a crash must not write them into a core
	 * file, and another process of the same user must not read them
	 * (ptrace, /proc/PID/mem). Children are dumpable again after exec. */
	(void)setrlimit(RLIMIT_CORE, &no_core);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Chunk buffers are large, short-lived and freed by another thread
	 * than the one that made them. Measured (bench/RESULTS.md): served by
	 * mmap, every free is an munmap with cross-thread TLB shootdowns that
	 * doubled the CPU of a deduplicated backup; from per-thread arenas,
	 * fragmentation pushed peak memory past 50 MiB. One heap arena and no
	 * mmap for them keeps both flat. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
	/* A closed output pipe is an error to report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	/* The library never prints: its warnings and progress come here. */
	cli_log_install();
	if (log_format && *log_format && cli_log_format_set(log_format)) {
		fprintf(stderr, "tsarc: TSARC_LOG_FORMAT takes human or json\n");
		return EXIT_USAGE;
	}
	/* Before any thread: every thread inherits the blocked signals and one
	 * thread takes them (children stopped, locks released, temporary
	 * files removed; restore undoes what it can and reports). */
	if (tsarc_interrupt_install()) {
		cli_log(TSARC_LOG_ERROR, "failed", "%s", tsarc_error_last()->message);
		return EXIT_FAILURE_GENERIC;
	}
	if (argc < 2) {
		fputs(MAIN_HELP, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(MAIN_HELP, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv + 1);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name)) {
			code = commands[i].fn(argc - 1, argv + 1);
			/* A command stopped by a signal says so in its status, as
			 * if the signal had ended it; one that finished anyway
			 * keeps its own. */
			if (code != EXIT_OK && (sig = tsarc_interrupted()))
				code = 128 + sig;
			return cli_metrics_end(code);
		}
	fprintf(stderr, "tsarc: unknown command '%s'\nRun 'tsarc --help' for the list.\n",
		argv[1]);
	return EXIT_USAGE;
}
