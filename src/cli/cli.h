#ifndef TSARC_CLI_H
#define TSARC_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include "repo.h"

/* Exit codes: documented in README.md and `tsarc --help`. */
enum {
	EXIT_OK = 0,
	EXIT_FAILURE_GENERIC = 1,
	EXIT_USAGE = 2,
	EXIT_DAMAGED = 3,
	EXIT_NO_REPOSITORY = 10,
	EXIT_LOCKED = 11,
	EXIT_WRONG_PASSWORD = 12,
	EXIT_ACCESS_DENIED = 13,
	EXIT_NETWORK = 14,
	EXIT_INTERRUPTED = 130,
};

/* Options every command takes. */
typedef struct cli_common {
	const char *repo;
	const char *password_file;
	const char *cacert;
	int insecure_tls;
	unsigned inflight;
	const char *s3_sse;
	const char *s3_sse_kms_key_id;
	const char *s3_storage_class;
	int64_t as_of; /* --as-of: a point-in-time view (0: now) */
	int no_cache;  /* --no-cache: no local index cache (index_cache.h) */
	int json;
	int quiet;
} cli_common;

/* Long options shared by every command; their ids start at 1000. */
#define CLI_COMMON_OPTIONS                                           \
	{"repo", required_argument, NULL, 1000},                     \
	{"password-file", required_argument, NULL, 1001},            \
	{"cacert", required_argument, NULL, 1002},                   \
	{"insecure-no-tls-verify", no_argument, NULL, 1003},         \
	{"inflight", required_argument, NULL, 1004},                 \
	{"json", no_argument, NULL, 1005},                           \
	{"log-format", required_argument, NULL, 1006},               \
	{"metrics-file", required_argument, NULL, 1007},             \
	{"pushgateway", required_argument, NULL, 1008},              \
	{"pushgateway-job", required_argument, NULL, 1009},          \
	{"pushgateway-instance", required_argument, NULL, 1010},     \
	{"pushgateway-auth-file", required_argument, NULL, 1011},    \
	{"s3-sse", required_argument, NULL, 1012},                   \
	{"s3-sse-kms-key-id", required_argument, NULL, 1013},        \
	{"s3-storage-class", required_argument, NULL, 1014},         \
	{"as-of", required_argument, NULL, 1015},                    \
	{"no-cache", no_argument, NULL, 1016},                       \
	{"quiet", no_argument, NULL, 'q'},                           \
	{"help", no_argument, NULL, 'h'}

#define CLI_COMMON_HELP                                                         \
	"Common options:\n"                                                     \
	"  -r, --repo URL           repository: a path, s3:http(s)://host[:port]/bucket[/prefix]\n" \
	"                           or s3://bucket[/prefix] (default: $TSARC_REPOSITORY)\n" \
	"      --password-file F    read the password from F (else $TSARC_PASSWORD_FILE,\n" \
	"                           $TSARC_PASSWORD, or a prompt on a terminal)\n" \
	"      --cacert FILE        CA bundle for an https S3 endpoint (else $AWS_CA_BUNDLE)\n" \
	"      --insecure-no-tls-verify  do NOT verify the S3 endpoint's certificate\n" \
	"      --inflight N         requests to the store in flight at once\n"     \
	"      --s3-sse AES256|aws:kms  S3 server-side encryption of every upload\n" \
	"                           (else $TSARC_S3_SSE)\n"                       \
	"      --s3-sse-kms-key-id ID  the KMS key for aws:kms ($TSARC_S3_SSE_KMS_KEY_ID)\n" \
	"      --s3-storage-class C S3 storage class of every upload, e.g. STANDARD_IA\n" \
	"                           (else $TSARC_S3_STORAGE_CLASS)\n"             \
	"      --as-of TIME         read the repository as it was at TIME (RFC 3339),\n" \
	"                           from the versions an S3 bucket with Object Lock\n" \
	"                           keeps: after an attack; read-only\n"           \
	"      --no-cache           format 2: download the index, keep no local copy\n" \
	"                           (else $TSARC_NO_CACHE; default: $XDG_CACHE_HOME/tsarc)\n" \
	"      --json               print one JSON document\n"                     \
	"  -q, --quiet              no progress or summary on stderr\n"            \
	"      --log-format F       stderr as 'human' text (default) or 'json': one\n" \
	"                           object per line (else $TSARC_LOG_FORMAT)\n"    \
	"      --metrics-file PATH  backup, restore, forget, prune, check: write\n" \
	"                           Prometheus metrics to PATH at the end, atomically\n" \
	"      --pushgateway URL    the same metrics pushed to a Prometheus Pushgateway\n" \
	"      --pushgateway-job J, --pushgateway-instance I  its grouping key\n" \
	"                           (default: tsarc, this host's name)\n"       \
	"      --pushgateway-auth-file F  basic auth: user:password on F's first line\n" \
	"  -h, --help               this help\n"

/* Handles a command's own option: 0 when taken, else an exit code. */
typedef int (*own_option_fn)(int opt, const char *arg, void *state);

/* How an own option is taken: by the command's own_option_fn, or stored at
 * `at` in the state cli_start is handed: the argument as given (a
 * const char *), or 1 (an int) for a flag. */
typedef enum { CLI_OWN, CLI_STRING, CLI_FLAG } cli_take;

/* One of a command's own options: getopt_long's row and the option's lines
 * in --help come from this one place. A row without a name is text of the
 * help, printed as it is (a heading, or prose after the options); a row of
 * zeros ends the table. */
typedef struct cli_option {
	const char *name; /* the long name */
	int id;           /* what getopt_long returns; a letter is the short name too */
	const char *arg;  /* the argument's name in the help; NULL: takes none */
	const char *help; /* a "\n" goes on below the first line's text */
	cli_take take;
	size_t at;        /* CLI_STRING, CLI_FLAG: offsetof the field in the state */
} cli_option;

/* What a command takes on its command line. */
typedef struct cli_command {
	const char *name;
	const char *help;           /* usage and prose, up to its options' lines */
	const cli_option *options;  /* its own (NULL: none); the common ones follow */
	own_option_fn own;          /* for the CLI_OWN ones */
	/* The operands after the options: exactly `operands` of them, else
	 * the usage error `operands_usage` ("unexpected argument" when it
	 * takes none); CLI_ANY_OPERANDS: the command checks them itself. */
	int operands;
	const char *operands_usage;
	/* CLI_WRITES: the command writes to the repository (a dry run of it
	 * is refused too); with `write_operands` (NULL-terminated), only
	 * when its first operand is one of them (key add, not key list).
	 * `write_option`: the id of an own option that makes it write
	 * (restore --undo-snapshot); 0: none. --as-of is a view of the
	 * past, read-only: cli_start refuses a command that writes with it
	 * before anything is read or printed, rather than letting it fail at
	 * its first write, its plan already printed. */
	int writes;
	const char *const *write_operands;
	int write_option;
} cli_command;
#define CLI_ANY_OPERANDS (-1)
#define CLI_WRITES 1

/* What cli_start returns when the command goes on. */
#define CLI_GO_ON (-1)
/* Parses the common options and the command's own (`state` is where its
 * CLI_STRING and CLI_FLAG options are stored, and is handed to its
 * own_option_fn), then checks the operands, then refuses --as-of to a
 * command that writes (exit 2); --help prints cmd->help, its options'
 * lines and the common options'. Returns CLI_GO_ON, or the exit code to
 * return at once (EXIT_OK after --help). */
int cli_start(const cli_command *cmd, int argc, char **argv, cli_common *c, void *state);
/* cli_start, then the repository opened (cli_open_repo) into *repo; a
 * failure to open it is reported (cli_fail) and its exit code returned. */
int cli_start_repo(const cli_command *cmd, int argc, char **argv, cli_common *c, void *state,
	tsarc_repo **repo);

/* Prints the thread's last error and returns the exit code for `rc`. */
int cli_fail(int rc);
/* How a command that opened the repository ends: the lock (NULL: none)
 * released (cli_lock_release), the repository freed, then EXIT_OK for 0,
 * else cli_fail(rc). */
struct tsarc_lock;
int cli_end(tsarc_repo *repo, struct tsarc_lock *lock, int rc);
/* Releases `lock` (NULL: none) and returns the command's result `rc`, or,
 * when the command succeeded but its lock could not be removed, that
 * failure (the message says the work is done and that `tsarc unlock`
 * removes the lock): a lock left in the repository, an exclusive one
 * above all, stops other runs until it is judged stale (30 minutes), so
 * it is never left without a word. A command that failed keeps its own
 * error, and the lock left is a warning (tsarc_lock_release_after). */
int cli_lock_release(struct tsarc_lock *lock, int rc);
int cli_exit_code(int rc);
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* A common option's value refused ("tsarc: MESSAGE", or an error event
 * "usage" under --log-format json, as every line on stderr then is);
 * returns -1. */
int cli_option_error(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;

/* ---- log.c: everything on stderr goes through one renderer ---- */
#include "tsarc/log.h"
/* "human" or "json"; -1 for another name. */
int cli_log_format_set(const char *name);
int cli_log_json(void);
/* The component of the command's own events: its name. */
void cli_log_component(const char *command);
/* Hands the library's events to the renderer (tsarc_log_set). */
void cli_log_install(void);
/* A warning or error of the command: "tsarc: warning: ..." or a JSON line. */
void cli_log(tsarc_log_level level, const char *event, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
/*
 * Text from elsewhere (a lock's host, a server's error, a snapshot's host,
 * tags and names) must not drive the terminal it is shown on (retitle it,
 * move the cursor, rewrite a line) nor reorder or hide what surrounds it
 * (U+202E shows a tag reversed): in place, each C0 control, DEL, C1
 * control (U+0080..U+009F; U+009B is CSI) and each character
 * tsarc_text_hidden_len names (bidi controls, U+2028/U+2029, zero widths,
 * U+FEFF, the soft hyphen, TAG characters and the other invisible ones)
 * becomes one '?'. `keep_breaks`:
 * line breaks and tabs stay (a message of tsarc's may have them). NULL:
 * nothing. Every message on stderr goes through it; the JSON output
 * escapes instead.
 */
void cli_text_clean(char *s, int keep_breaks);

/* A copy of `s` as cli_text_clean(copy, 0) leaves it, for text from
 * elsewhere printed with printf (the caller frees it); NULL when `s` is
 * NULL or out of memory, which the caller shows as "?", never `s` raw. */
char *cli_text_copy(const char *s);

/* A line of a report or summary: as is in the human format, an info
 * event in JSON. One line: cleaned as cli_text_clean(line, 0), a line
 * break or tab in it (a snapshot's words) printed as '?'. */
void cli_say(const char *event, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

int cli_get_password(const cli_common *c, int confirm, char **out);
/* A password to add: from `file`, $TSARC_NEW_PASSWORD_FILE,
 * $TSARC_NEW_PASSWORD, or asked twice on a terminal. */
int cli_get_new_password(const char *file, char **out);
void cli_free_password(char *pw);
int cli_open_store(const cli_common *c, tsarc_store **out);
int cli_open_repo(const cli_common *c, tsarc_repo **out);
/* The same, handing the password that opened it to *password (free it
 * with cli_free_password): key passwd must find every key file it opens. */
int cli_open_repo_password(const cli_common *c, tsarc_repo **out, char **password);

/* What becomes of objects the store only hid (a bucket that retains
 * versions), for a report: "a prune after that deletes them", or with no
 * Object Lock in the repository, that no prune does. */
const char *cli_hidden_fate(const tsarc_repo *repo);
void cli_format_bytes(char *out, size_t outsz, double bytes);
/* Prints a cJSON document to stdout and frees it. */
struct cJSON;
int cli_print_json(struct cJSON *doc);

/* Every command, by name: main.c's table and the functions' declarations
 * both come from this one list. */
#define CLI_COMMANDS(X)                                                      \
	X("init", cmd_init) X("backup", cmd_backup) X("restore", cmd_restore)  \
	X("snapshots", cmd_snapshots) X("show", cmd_show) X("dump", cmd_dump)   \
	X("check", cmd_check) X("forget", cmd_forget) X("prune", cmd_prune)     \
	X("unlock", cmd_unlock) X("key", cmd_key)                               \
	X("extend-retention", cmd_extend_retention) X("repair", cmd_repair)     \
	X("version", cmd_version)
#define CLI_COMMAND_DECLARE(name, fn) int fn(int argc, char **argv);
CLI_COMMANDS(CLI_COMMAND_DECLARE)

#endif
