/* cli/common.c: how a command's option table is parsed and shown in its
 * help (cli_start), and how a command ends (cli_end): its lock released,
 * its repository freed, and the exit code for its result. cli/log.c: what
 * reaches the terminal of a message that carries someone else's text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmocka_main.h"

#include "cli.h"
#include "lock.h"
#include "log.h"
#include "repo.h"
#include "scratch.h"
#include "tsarc/errors.h"
#include "unit/repo_fixture.h"

static char dir[256];

static tsarc_repo *open_repo(void)
{
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;

	assert_int_equal(tsarc_store_fs_open(&st, dir, NULL), 0);
	assert_int_equal(tsarc_repo_open(&repo, st, "pw"), 0);
	return repo;
}

static int setup(void **state)
{
	tsarc_repo_init_options o;
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;

	(void)state;
	repo_fixture_options(&o);
	if (!scratch_make(dir, sizeof(dir), "cli-common") || tsarc_store_fs_open(&st, dir, NULL) ||
		tsarc_repo_init(&repo, st, "pw", &o))
		return -1;
	tsarc_repo_free(repo);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove(dir);
}

/* The exclusive lock a command held is gone once it has ended: another
 * takes one at once. Success is EXIT_OK; a failure, its exit code. */
static void end_releases_and_maps(void **state)
{
	static const struct {
		int rc, exit_code;
	} cases[] = {
		{0, EXIT_OK},
		{TSARC_ELOCKED, EXIT_LOCKED},
		{TSARC_ECORRUPT, EXIT_DAMAGED},
		{TSARC_EIO, EXIT_FAILURE_GENERIC},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tsarc_repo *repo = open_repo(), *other = open_repo();
		tsarc_lock *lock = NULL, *again = NULL;

		assert_int_equal(tsarc_lock_acquire(&lock, repo, 1), 0);
		assert_int_equal(tsarc_lock_acquire(&again, other, 1), TSARC_ELOCKED);
		if (cases[i].rc)
			tsarc_error_set(cases[i].rc, "case %zu", i);
		assert_int_equal(cli_end(repo, lock, cases[i].rc), cases[i].exit_code);
		assert_int_equal(tsarc_lock_acquire(&again, other, 1), 0);
		assert_int_equal(cli_end(other, again, 0), EXIT_OK);
	}
	/* Without a lock, and without a repository. */
	assert_int_equal(cli_end(open_repo(), NULL, 0), EXIT_OK);
	assert_int_equal(cli_end(NULL, NULL, TSARC_ENOTREPO), EXIT_NO_REPOSITORY);
}

/* A lock whose removal fails stays in the repository, and an exclusive
 * one stops every backup until it is stale (30 minutes): the command
 * that left it says so and fails, though its work was done (before,
 * cli_end dropped the failure: exit 0, nothing said). Its removal fails
 * here because a folder took the lock file's place. */
static void end_fails_when_its_lock_stays(void **state)
{
	tsarc_repo *repo = open_repo();
	tsarc_lock *lock = NULL;
	char locks[300], path[600], inner[700];
	struct dirent *e;
	DIR *d;

	(void)state;
	assert_int_equal(tsarc_lock_acquire(&lock, repo, 1), 0);
	snprintf(locks, sizeof(locks), "%s/locks", dir);
	assert_non_null(d = opendir(locks));
	path[0] = '\0';
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			snprintf(path, sizeof(path), "%s/%s", locks, e->d_name);
	closedir(d);
	assert_true(path[0]);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(inner, sizeof(inner), "%s/x", path);
	assert_int_equal(mkdir(inner, 0700), 0);
	assert_int_equal(cli_end(repo, lock, 0), EXIT_FAILURE_GENERIC);
	assert_int_equal(rmdir(inner), 0);
	assert_int_equal(rmdir(path), 0);
}

typedef struct table_state {
	const char *name;
	int flag;
	int owned;
} table_state;

static int take_owned(int opt, const char *arg, void *state)
{
	assert_int_equal(opt, 7);
	((table_state *)state)->owned = atoi(arg);
	return 0;
}

static const cli_option TABLE_OPTIONS[] = {
	{"name", 'n', "NAME", "the name", CLI_STRING, offsetof(table_state, name)},
	{"flag", 1, NULL, "a flag whose help\ngoes on below", CLI_FLAG, offsetof(table_state, flag)},
	{NULL, 0, NULL, "\nMore:\n", CLI_OWN, 0},
	{"a-long-option-name", 7, "N", "past the column", CLI_OWN, 0},
	{0},
};

static const cli_command TABLE_CMD = {"table", "Usage: tsarc table X\n\nOptions:\n",
	TABLE_OPTIONS, take_owned, 1, "give one X", 0, NULL, 0};

/* One table gives getopt_long its long and short options, stores the
 * strings and flags, hands the rest to the command, and is the help. */
static void option_table_parses(void **state)
{
	char *argv[] = {"table", "-n", "N1", "--flag", "--a-long-option-name", "7", "--json",
		"x", NULL};
	table_state s = {NULL, 0, 0};
	cli_common c;

	(void)state;
	assert_int_equal(cli_start(&TABLE_CMD, 8, argv, &c, &s), CLI_GO_ON);
	assert_string_equal(s.name, "N1");
	assert_int_equal(s.flag, 1);
	assert_int_equal(s.owned, 7);
	assert_int_equal(c.json, 1);
	assert_string_equal(argv[optind], "x");
}

/* Runs fn(arg) with `out` (stdout or stderr) going to a file; returns
 * what it wrote (a static buffer, the next call's too). */
static const char *output_of(FILE *out, void (*fn)(void *), void *arg)
{
	static char got[4096];
	char path[300];
	int ofd = fileno(out), fd, saved;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/output.txt", dir);
	fflush(out);
	saved = dup(ofd);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, ofd);
	close(fd);
	fn(arg);
	fflush(out);
	dup2(saved, ofd);
	close(saved);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	assert_true(n >= 0);
	got[n] = '\0';
	return got;
}

static void table_help(void *arg)
{
	char *argv[] = {"table", "--help", NULL};
	table_state s = {NULL, 0, 0};
	cli_common c;

	(void)arg;
	assert_int_equal(cli_start(&TABLE_CMD, 2, argv, &c, &s), EXIT_OK);
}

static void option_table_is_the_help(void **state)
{
	static const char want[] =
		"Usage: tsarc table X\n\nOptions:\n"
		"  -n, --name NAME          the name\n"
		"      --flag               a flag whose help\n"
		"                           goes on below\n"
		"\nMore:\n"
		"      --a-long-option-name N  past the column\n"
		CLI_COMMON_HELP;

	(void)state;
	assert_string_equal(output_of(stdout, table_help, NULL), want);
}

/* A lock's host, an S3 or Redis server's error text, a snapshot's stream
 * name: text from elsewhere inside a message. ESC (a terminal's control
 * sequences: retitle the window, move the cursor, rewrite the line), BEL,
 * CR, DEL and the C1 controls (U+009B is CSI) print as '?'; the line
 * breaks and tabs tsarc's own messages use stay. A report line (cli_say)
 * is one line: a break or a tab in it is foreign and prints as '?', so
 * that a snapshot's words cannot add a line of their own to a report. */
#define FOREIGN "host\x1b]0;owned\x07 \x1b[2K\rok\x7f \xc2\x9b" "31m"

static void say_foreign(void *arg)
{
	(void)arg;
	cli_log(TSARC_LOG_ERROR, "failed", "the repository is locked by %s\n  pid\t7",
		FOREIGN);
	cli_say("report", "stream %s", FOREIGN);
	cli_say("report", "  source: %s", "db\n  in place: the snapshot was taken here\tok");
	tsarc__log(TSARC_LOG_WARN, "test", "warned", "from the library: %s", FOREIGN);
}

static void foreign_text_cannot_drive_the_terminal(void **state)
{
	const char *got;

	(void)state;
	cli_log_install();
	got = output_of(stderr, say_foreign, NULL);
	assert_string_equal(got,
		"tsarc: error: the repository is locked by host?]0;owned? ?[2K?ok? ?31m\n  pid\t7\n"
		"stream host?]0;owned? ?[2K?ok? ?31m\n"
		"  source: db?  in place: the snapshot was taken here?ok\n"
		"tsarc: warning: from the library: host?]0;owned? ?[2K?ok? ?31m\n");
}

/* Text that reorders or hides what follows: a tag "nightly<RLO>daolpu"
 * shows as "nightlyupload" on a terminal that applies bidi, a zero-width
 * space makes two tags look alike, U+2028 breaks a log viewer's line. Each
 * such character (all its bytes) prints as one '?': the bidi embeddings,
 * overrides, marks (LRM, RLM, ALM) and isolates, U+2028/U+2029, the zero
 * widths, U+2060..U+206F and the BOM. Their neighbours print as they are. */
#define REORDERING "nightly\xe2\x80\xae" "daolpu \xe2\x81\xa6x\xe2\x81\xa9 " \
	"a\xe2\x80\x8b" "b\xe2\x80\x8c\xe2\x80\x8d\xe2\x81\xa0\xef\xbb\xbf" "c " \
	"\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad"

static void say_reordering(void *arg)
{
	(void)arg;
	cli_log(TSARC_LOG_ERROR, "failed", "no snapshot tagged %s", REORDERING);
}

static void foreign_text_cannot_reorder_or_hide(void **state)
{
	static const char neighbours[] = "\xd8\x9b\xd8\x9d\xe2\x80\x8a\xe2\x80\x90"
		"\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\x9f\xe2\x81\xb0\xef\xbb\xbe\xc3\xa9\xe2\x98\x95"
		"\xc2\xac\xc2\xae\xe1\xa0\x8d\xef\xb8\x8f\xf3\xa0\x84\x80";
	char buf[64];

	(void)state;
	cli_log_install();
	assert_string_equal(output_of(stderr, say_reordering, NULL),
		"tsarc: error: no snapshot tagged nightly?daolpu ?x? a?b????c ?????????\n");
	strcpy(buf, neighbours);
	cli_text_clean(buf, 0);
	assert_string_equal(buf, neighbours);
	/* The other characters that show as nothing or blank: a soft hyphen, a
	 * tag character, a Hangul filler, an interlinear annotation anchor. */
	strcpy(buf, "a\xc2\xad" "b\xf3\xa0\x81\xb8\xf3\xa0\x81\xbf" "c\xe3\x85\xa4\xef\xbf\xb9");
	cli_text_clean(buf, 0);
	assert_string_equal(buf, "a?b??c??");
	/* A sequence cut short by the end: nothing read past the NUL, left as is. */
	strcpy(buf, "x\xe2\x80");
	cli_text_clean(buf, 0);
	assert_string_equal(buf, "x\xe2\x80");
}

TSARC_TESTS_MAIN(setup, teardown, cmocka_unit_test(option_table_parses),
	cmocka_unit_test(option_table_is_the_help), cmocka_unit_test(end_releases_and_maps),
	cmocka_unit_test(end_fails_when_its_lock_stays),
	cmocka_unit_test(foreign_text_cannot_drive_the_terminal),
	cmocka_unit_test(foreign_text_cannot_reorder_or_hide))
