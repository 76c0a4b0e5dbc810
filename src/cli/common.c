#include "cli.h"
#include "fileio.h"
#include "interrupt.h"
#include "lock.h"
#include "metrics.h"
#include "snapshot.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define PASSWORD_MAX 4096

/* getopt_long's rows of the options every command takes, after its own. */
static const struct option common_longopts[] = {CLI_COMMON_OPTIONS};
#define N_COMMON_LONGOPTS (sizeof(common_longopts) / sizeof(common_longopts[0]))

/* The common options that keep their argument as given, and the flags:
 * rows that differ only by the field they set. */
static const struct {
	int opt;
	size_t at;
} string_options[] = {
	{'r', offsetof(cli_common, repo)},
	{1000, offsetof(cli_common, repo)},
	{1001, offsetof(cli_common, password_file)},
	{1002, offsetof(cli_common, cacert)},
	{1012, offsetof(cli_common, s3_sse)},
	{1013, offsetof(cli_common, s3_sse_kms_key_id)},
	{1014, offsetof(cli_common, s3_storage_class)},
}, flag_options[] = {
	{1003, offsetof(cli_common, insecure_tls)},
	{1005, offsetof(cli_common, json)},
	{1016, offsetof(cli_common, no_cache)},
	{'q', offsetof(cli_common, quiet)},
};

/* Handles a common option; returns 1 if `opt` was one, 0 if not, -1 on error. */
static int common_option(cli_common *c, int opt, const char *arg)
{
	char *end;
	unsigned long v;
	size_t i;

	for (i = 0; i < sizeof(string_options) / sizeof(string_options[0]); i++)
		if (opt == string_options[i].opt) {
			*(const char **)(void *)((char *)c + string_options[i].at) = arg;
			return 1;
		}
	for (i = 0; i < sizeof(flag_options) / sizeof(flag_options[0]); i++)
		if (opt == flag_options[i].opt) {
			*(int *)(void *)((char *)c + flag_options[i].at) = 1;
			return 1;
		}
	switch (opt) {
	case 1004:
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || *end || v == 0 || v > 256) {
			return cli_option_error("--inflight takes a number from 1 to 256");
		}
		c->inflight = (unsigned)v;
		return 1;
	case 1015:
		if (tsarc_time_parse(arg, &c->as_of) || c->as_of <= 0) {
			return cli_option_error("--as-of takes a time such as 2026-11-30T22:00:00Z");
		}
		return 1;
	case 1006:
		if (cli_log_format_set(arg)) {
			return cli_option_error("--log-format takes human or json");
		}
		return 1;
	}
	return cli_metrics_option(opt, arg);
}

static void common_env(cli_common *c)
{
	if (!c->repo)
		c->repo = getenv("TSARC_REPOSITORY");
}

int cli_exit_code(int rc)
{
	switch (rc) {
	case 0:
		return EXIT_OK;
	case TSARC_EWRONGPASS:
		return EXIT_WRONG_PASSWORD;
	case TSARC_ENOTREPO:
		return EXIT_NO_REPOSITORY;
	case TSARC_ECORRUPT:
		return EXIT_DAMAGED;
	case TSARC_EACCESS:
		return EXIT_ACCESS_DENIED;
	case TSARC_ENET:
	case TSARC_ETRANSIENT:
		return EXIT_NETWORK;
	case TSARC_ELOCKED:
		return EXIT_LOCKED;
	case TSARC_ECONFIG:
		return EXIT_USAGE;
	case TSARC_ECANCELED:
		return EXIT_INTERRUPTED;
	default:
		return EXIT_FAILURE_GENERIC;
	}
}

int cli_fail(int rc)
{
	const tsarc_error *e = tsarc_error_last();

	cli_log(TSARC_LOG_ERROR, "failed", "%s",
		e->message && e->message[0] ? e->message : tsarc_strerror(rc));
	return cli_exit_code(rc);
}

int cli_lock_release(tsarc_lock *lock, int rc)
{
	if (rc)
		return tsarc_lock_release_after(lock, rc);
	if (tsarc_lock_release(lock)) {
		tsarc_error_prefix("its work is done, but its repository lock could not be removed "
			"and stays until it is stale (30 minutes) or 'tsarc unlock' removes it");
		rc = tsarc_error_last()->code;
	}
	return rc;
}

int cli_end(tsarc_repo *repo, tsarc_lock *lock, int rc)
{
	rc = cli_lock_release(lock, rc);
	tsarc_repo_free(repo);
	return rc ? cli_fail(rc) : EXIT_OK;
}

/*
 * What becomes of what the store only hid: a repository with Object Lock
 * sweeps it once its date has passed; one without, in a bucket that
 * retains every version all the same (made before init refused such a
 * bucket, or whose bucket got a default retention later), never does,
 * and must not say that it will.
 */
const char *cli_hidden_fate(const tsarc_repo *repo)
{
	return repo->retention.mode ? "a prune after that deletes them"
				    : "no prune deletes them, as this repository has no Object "
				      "Lock (the bucket keeps them: see docs/object-lock.md)";
}

/* A usage error's message, in the log format asked for: with `cmd`, the
 * command whose --help to try. */
static void usage_say(const char *cmd, const char *fmt, va_list ap)
{
	char message[1024];

	vsnprintf(message, sizeof(message), fmt, ap);
	if (cli_log_json() && cmd)
		cli_log(TSARC_LOG_ERROR, "usage", "%s (try 'tsarc %s --help')", message, cmd);
	else if (cli_log_json())
		cli_log(TSARC_LOG_ERROR, "usage", "%s", message);
	else if (cmd)
		fprintf(stderr, "tsarc %s: %s\nTry 'tsarc %s --help'.\n", cmd, message, cmd);
	else
		fprintf(stderr, "tsarc: %s\n", message);
}

int cli_option_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	usage_say(NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	usage_say(cmd, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

/*
 * The first line of the file, as restic reads it, through the one reader
 * of secret files (fileio.h: a folder or unreadable file is read's error,
 * a file over PASSWORD_MAX bytes refused). The whole buffer is wiped past
 * the password at once (the lines after it, which may be another secret),
 * so that cli_free_password, which wipes by strlen, leaves nothing of the
 * file; a refused file is wiped whole.
 */
static int read_password_file(const char *path, char **out)
{
	size_t len;
	int rc = tsarc_read_secret_file("password file", path, PASSWORD_MAX, out, &len);

	if (rc)
		return rc;
	if (!tsarc_secure_first_line(*out, len)) {
		tsarc_secure_free(*out, len + 1);
		*out = NULL;
		return tsarc_error_set(TSARC_ECONFIG, "password file %s is empty", path);
	}
	return 0;
}

static void tty_write(int fd, const char *s)
{
	(void)tsarc_write_all(fd, s, strlen(s));
}

/* The terminal as it was before the prompt turned echo off. */
typedef struct tty_state {
	int fd;
	struct termios old;
} tty_state;

/* Puts the terminal back: after the password is read, or from the signal
 * thread when a Ctrl-C ends the command at the prompt (interrupt.h), which
 * otherwise left the operator's shell without echo. */
static int tty_restore(void *arg)
{
	tty_state *t = arg;

	tcsetattr(t->fd, TCSAFLUSH, &t->old);
	tty_write(t->fd, "\n");
	return 0;
}

/*
 * Asks on the terminal; without one, `missing` says where else to give it.
 * Read with read(2) into a buffer of ours, never through stdio: a FILE's
 * buffer (malloc'd by the first read, freed by fclose as it is) held the
 * typed line. Echo goes off before the prompt is shown, as getpass does:
 * the flush that comes with it (TCSAFLUSH) drops only what was typed
 * before the prompt. In canonical mode a read returns at most a line; the
 * line's end, and anything after it in the buffer (a \r typed inside the
 * password), is wiped with the rest by tsarc_secure_first_line.
 */
static int prompt_password(const char *prompt, const char *missing, char **out)
{
	struct termios quiet;
	tty_state tty;
	tsarc_cleanup echo_back;
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC), rc = 0, quieted = 0;

	if (fd < 0)
		return tsarc_error_set(TSARC_ECONFIG, "%s", missing);
	if (!(buf = calloc(1, PASSWORD_MAX + 1))) {
		close(fd);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	memset(&echo_back, 0, sizeof(echo_back));
	tty.fd = fd;
	if (tcgetattr(fd, &tty.old) == 0) {
		quiet = tty.old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		/* Registered first: a signal between the two finds it. */
		tsarc_cleanup_add(&echo_back, tty_restore, &tty, NULL);
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			quieted = 1;
		else
			tsarc_cleanup_remove(&echo_back);
	}
	tty_write(fd, prompt);
	while (len < PASSWORD_MAX && !memchr(buf, '\n', len)) {
		n = read(fd, buf + len, PASSWORD_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (!len)
		rc = tsarc_error_set(TSARC_ECONFIG, "no password entered");
	if (quieted)
		tsarc_cleanup_run(&echo_back);
	else
		tty_write(fd, "\n");
	close(fd);
	if (!rc && !tsarc_secure_first_line(buf, PASSWORD_MAX))
		rc = tsarc_error_set(TSARC_ECONFIG, "an empty password is not allowed");
	if (rc) {
		tsarc_secure_free(buf, PASSWORD_MAX + 1);
		return rc;
	}
	*out = buf;
	return 0;
}

/* A password from `file`, else the file named by $env_file, else $env,
 * else asked on the terminal (twice when `confirm`). */
static int password_from(const char *file, const char *env_file, const char *env,
	const char *prompt, const char *missing, int confirm, char **out)
{
	const char *v;
	char *again = NULL;
	int rc;

	*out = NULL;
	if (file)
		return read_password_file(file, out);
	if ((v = getenv(env_file)) && *v)
		return read_password_file(v, out);
	if ((v = getenv(env)) && *v) {
		if (!(*out = strdup(v)))
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		return 0;
	}
	if ((rc = prompt_password(prompt, missing, out)) || !confirm)
		return rc;
	if ((rc = prompt_password("enter the password again: ", missing, &again)) == 0 &&
		strcmp(*out, again))
		rc = tsarc_error_set(TSARC_ECONFIG, "the passwords do not match");
	cli_free_password(again);
	if (rc) {
		cli_free_password(*out);
		*out = NULL;
	}
	return rc;
}

int cli_get_password(const cli_common *c, int confirm, char **out)
{
	return password_from(c->password_file, "TSARC_PASSWORD_FILE", "TSARC_PASSWORD",
		"enter password for repository: ", "no password given: set TSARC_PASSWORD or "
		"TSARC_PASSWORD_FILE, or use --password-file", confirm, out);
}

int cli_get_new_password(const char *file, char **out)
{
	return password_from(file, "TSARC_NEW_PASSWORD_FILE", "TSARC_NEW_PASSWORD",
		"enter the new password: ", "no new password given: set TSARC_NEW_PASSWORD or "
		"TSARC_NEW_PASSWORD_FILE, or use --new-password-file", 1, out);
}

void cli_free_password(char *pw)
{
	tsarc_secure_free_str(pw);
}

int cli_open_store(const cli_common *c, tsarc_store **out)
{
	tsarc_store_options o;

	memset(&o, 0, sizeof(o));
	if (!c->repo || !*c->repo)
		return tsarc_error_set(TSARC_ECONFIG,
			"no repository given: use --repo or set TSARC_REPOSITORY");
	o.cacert = c->cacert;
	o.insecure_tls = c->insecure_tls;
	o.inflight = c->inflight;
	o.s3_sse = c->s3_sse;
	o.s3_sse_kms_key_id = c->s3_sse_kms_key_id;
	o.s3_storage_class = c->s3_storage_class;
	o.as_of = c->as_of;
	return tsarc_store_open(out, c->repo, &o);
}

int cli_open_repo(const cli_common *c, tsarc_repo **out)
{
	return cli_open_repo_password(c, out, NULL);
}

int cli_open_repo_password(const cli_common *c, tsarc_repo **out, char **password)
{
	tsarc_store *st = NULL;
	char *pw = NULL;
	int rc;

	if (password)
		*password = NULL;
	if ((rc = cli_open_store(c, &st)))
		return rc;
	if ((rc = cli_get_password(c, 0, &pw))) {
		tsarc_store_free(st);
		return rc;
	}
	rc = tsarc_repo_open_hint(out, st, pw, getenv("TSARC_KEY_HINT"));
	if (!rc && password)
		*password = pw;
	else
		cli_free_password(pw);
	if (!rc)
		(*out)->no_cache = c->no_cache;
	if (rc) {
		tsarc_store_free(st);
		/* A missing bucket or folder means there is no repository there. */
		if (rc == TSARC_ENOTFOUND)
			rc = TSARC_ENOTREPO;
	}
	return rc;
}

void cli_format_bytes(char *out, size_t outsz, double bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	int u = 0;

	while (bytes >= 1024 && u < 5) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, outsz, "%.0f B", bytes);
	else
		snprintf(out, outsz, "%.2f %s", bytes, units[u]);
}

int cli_print_json(cJSON *doc)
{
	char *text = doc ? cJSON_Print(doc) : NULL;

	cJSON_Delete(doc);
	if (!text)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	fputs(text, stdout);
	fputc('\n', stdout);
	free(text);
	return fflush(stdout) == 0 ? 0 : tsarc_error_set(TSARC_EIO, "writing the output failed");
}

/* The most own options a command has room for. */
#define OWN_OPTIONS_MAX 32
/* Where an option's help text starts on its line. */
#define HELP_COLUMN 27

static int is_letter(int id)
{
	return (id >= 'a' && id <= 'z') || (id >= 'A' && id <= 'Z');
}

/* "  -n, --name ARG" or "      --name ARG", then its help from HELP_COLUMN
 * (two spaces further when the left side is longer), each line after the
 * first indented to HELP_COLUMN. */
static void print_option_help(const cli_option *o)
{
	const char *line = o->help, *end;
	int n;

	if (is_letter(o->id))
		n = printf("  -%c, --%s", o->id, o->name);
	else
		n = printf("      --%s", o->name);
	if (o->arg)
		n += printf(" %s", o->arg);
	printf("%*s", n < HELP_COLUMN ? HELP_COLUMN - n : 2, "");
	while ((end = strchr(line, '\n'))) {
		printf("%.*s\n%*s", (int)(end - line), line, HELP_COLUMN, "");
		line = end + 1;
	}
	printf("%s\n", line);
}

static void print_help(const cli_command *cmd)
{
	const cli_option *o;

	fputs(cmd->help, stdout);
	for (o = cmd->options; o && (o->name || o->help); o++) {
		if (o->name)
			print_option_help(o);
		else
			fputs(o->help, stdout);
	}
	fputs(CLI_COMMON_HELP, stdout);
}

/* getopt_long's table and short options: the command's own, then the
 * common ones. Returns -1 when the command has more than there is room for. */
static int build_getopt(const cli_command *cmd, struct option *longopts, char *shortopts)
{
	const cli_option *o;
	size_t n = 0, s;

	strcpy(shortopts, "r:qh");
	s = strlen(shortopts);
	for (o = cmd->options; o && (o->name || o->help); o++) {
		if (!o->name)
			continue;
		if (n == OWN_OPTIONS_MAX)
			return -1;
		longopts[n].name = o->name;
		longopts[n].has_arg = o->arg ? required_argument : no_argument;
		longopts[n].flag = NULL;
		longopts[n++].val = o->id;
		if (is_letter(o->id)) {
			shortopts[s++] = (char)o->id;
			if (o->arg)
				shortopts[s++] = ':';
		}
	}
	shortopts[s] = '\0';
	memcpy(longopts + n, common_longopts, sizeof(common_longopts));
	memset(longopts + n + N_COMMON_LONGOPTS, 0, sizeof(*longopts));
	return 0;
}

/* The command's own option of id `id`; NULL: none. */
static const cli_option *own_row(const cli_command *cmd, int id)
{
	const cli_option *o;

	for (o = cmd->options; o && (o->name || o->help); o++)
		if (o->name && o->id == id)
			return o;
	return NULL;
}

/* Takes one of the command's own options: stored in `state`, or handed to
 * its own_option_fn. */
static int own_option(const cli_command *cmd, int id, const char *arg, void *state)
{
	const cli_option *o = own_row(cmd, id);

	if (o) {
		switch (o->take) {
		case CLI_STRING:
			*(const char **)(void *)((char *)state + o->at) = arg;
			return 0;
		case CLI_FLAG:
			*(int *)(void *)((char *)state + o->at) = 1;
			return 0;
		case CLI_OWN:
			return cmd->own(id, arg, state);
		}
	}
	return cli_usage_error(cmd->name, "unexpected option");
}

/* Parses common options plus the command's own; *writer is the own
 * option given that makes the command write (NULL: none).
 * Returns 0 to go on, -1 when help was printed, or an exit code. */
static int parse_args(const cli_command *cmd, int argc, char **argv, cli_common *c,
	void *state, const cli_option **writer)
{
	struct option longopts[OWN_OPTIONS_MAX + N_COMMON_LONGOPTS + 1];
	char shortopts[8 + 2 * OWN_OPTIONS_MAX];
	int o, r;

	memset(c, 0, sizeof(*c));
	cli_log_component(cmd->name);
	if (build_getopt(cmd, longopts, shortopts)) {
		cli_log(TSARC_LOG_ERROR, "failed", "%s has more than %d options", cmd->name,
			OWN_OPTIONS_MAX);
		return EXIT_FAILURE_GENERIC;
	}
	optind = 1;
	/* getopt's own line would be text in a stream of JSON lines: said
	 * here instead, in the log format asked for. */
	opterr = 0;
	while ((o = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (o == 'h') {
			print_help(cmd);
			return -1;
		}
		if (o == '?' && optopt > 0 && optopt < 128 && isgraph(optopt))
			return cli_usage_error(cmd->name, "bad option '-%c' (unknown, or without "
				"its value)", optopt);
		if (o == '?')
			return cli_usage_error(cmd->name, "bad option '%s' (unknown, or its value "
				"missing or not taken)", argv[optind - 1]);
		r = common_option(c, o, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r == 0 && (r = own_option(cmd, o, optarg, state)) != 0)
			return r;
		if (cmd->write_option && o == cmd->write_option)
			*writer = own_row(cmd, o);
	}
	common_env(c);
	return cli_metrics_begin(cmd->name, c->repo);
}

/* --as-of with a command that writes: refused here, the one place every
 * command passes before it reads anything. Before, the store refused
 * the first write: forget printed its plan, then failed (exit 1). */
static int refuse_as_of(const cli_command *cmd, int argc, char **argv,
	const cli_option *writer)
{
	const char *const *w = cmd->write_operands;
	const char *sub = optind < argc ? argv[optind] : NULL;

	if (writer)
		return cli_usage_error(cmd->name, "--as-of is a read-only view of the repository "
			"as it was; --%s writes to it", writer->name);
	if (!cmd->writes)
		return CLI_GO_ON;
	for (; w && *w && !(sub && !strcmp(sub, *w)); w++)
		;
	if (w && !*w)
		return CLI_GO_ON; /* another operand: it reads, or it is the command's to refuse */
	return cli_usage_error(cmd->name, "--as-of is a read-only view of the repository as it "
		"was; %s%s%s writes to it (a dry run too): read with snapshots, show, dump, check "
		"or restore", cmd->name, w ? " " : "", w ? sub : "");
}

int cli_start(const cli_command *cmd, int argc, char **argv, cli_common *c, void *state)
{
	const cli_option *writer = NULL;
	int rc = parse_args(cmd, argc, argv, c, state, &writer);

	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	if (cmd->operands == 0 && optind < argc)
		return cli_usage_error(cmd->name, "unexpected argument '%s'", argv[optind]);
	if (cmd->operands > 0 && optind + cmd->operands != argc)
		return cli_usage_error(cmd->name, "%s", cmd->operands_usage);
	if (c->as_of)
		return refuse_as_of(cmd, argc, argv, writer);
	return CLI_GO_ON;
}

int cli_start_repo(const cli_command *cmd, int argc, char **argv, cli_common *c, void *state,
	tsarc_repo **repo)
{
	int rc = cli_start(cmd, argc, argv, c, state);

	*repo = NULL;
	if (rc != CLI_GO_ON)
		return rc;
	if ((rc = cli_open_repo(c, repo)))
		return cli_fail(rc);
	return CLI_GO_ON;
}
