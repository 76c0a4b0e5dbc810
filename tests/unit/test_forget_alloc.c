/*
 * `tsarc forget` when memory runs out: each calloc and strdup of
 * cmd_forget.c fails in turn (the file is compiled in here with both
 * renamed), and every run must end with "out of memory" (exit 1) or
 * success, never a crash or, under ASan, a leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <getopt.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

/* Every header cmd_forget.c includes, before the renaming below. */
#include "backup.h"
#include "cli.h"
#include "lock.h"
#include "prune.h"
#include "repo.h"
#include "retention.h"
#include "snapshot.h"
#include "tsarc/errors.h"

static long fail_at = -1; /* the counted allocation that fails; -1: none */
static long counted;

static void *failing_calloc(size_t n, size_t size)
{
	return ++counted == fail_at ? NULL : calloc(n, size);
}

static char *failing_strdup(const char *s)
{
	return ++counted == fail_at ? NULL : strdup(s);
}

#define calloc failing_calloc
#define strdup failing_strdup
#include "../../src/cli/cmd_forget.c"
#include "scratch.h"
#include "repo_fixture.h"
#undef calloc
#undef strdup

static char dir[256];

static int setup(void **state)
{
	static const char *tags[][2] = {{"nightly", "db"}, {"db", "nightly"}, {"weekly", NULL}};
	tsarc_repo_init_options o;
	tsarc_store *st;
	tsarc_repo *repo;
	int i;

	(void)state;
	repo_fixture_options(&o);
	if (!scratch_make(dir, sizeof(dir), "forget") || tsarc_store_fs_open(&st, dir, NULL) ||
		tsarc_repo_init(&repo, st, "pw", &o))
		return -1;
	for (i = 0; i < 3; i++) {
		tsarc_backup_options bo;
		tsarc_backup *b;
		char id[TSARC_ID_HEX_LEN + 1], when[32];
		int fd = open("/dev/null", O_RDONLY);
		memset(&bo, 0, sizeof(bo));
		snprintf(when, sizeof(when), "2026-0%d-01T00:00:00Z", i + 1);
		bo.time = when;
		bo.host = "h";
		bo.tags = tags[i];
		bo.ntags = tags[i][1] ? 2 : 1;
		if (fd < 0 || tsarc_backup_new(&b, repo, &bo) ||
			tsarc_backup_stream_fd(b, "s", "stream", fd, NULL) ||
			tsarc_backup_commit(b, id))
			return -1;
		tsarc_backup_free(b);
		close(fd);
	}
	tsarc_repo_free(repo);
	setenv("TSARC_PASSWORD", "pw", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove(dir);
}

/* Runs cmd_forget in a child with allocation `n` failing; returns its exit
 * code and, in *used, how many allocations it counted. */
static int run(char **argv, int argc, long n, long *used)
{
	int pfd[2], status;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc, devnull = open("/dev/null", O_WRONLY);
		close(pfd[0]);
		dup2(devnull, 1);
		dup2(devnull, 2);
		fail_at = n;
		rc = cmd_forget(argc, argv);
		if (write(pfd[1], &counted, sizeof(counted)) != sizeof(counted))
			rc = 99;
		exit(rc);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], used, sizeof(*used)), sizeof(*used));
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* A crash is a signal; a leak report makes ASan exit with 23. */
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void every_allocation_fails_once(char **argv, int argc)
{
	long n, used = 0, total;

	assert_int_equal(run(argv, argc, -1, &total), EXIT_OK);
	assert_true(total >= 3);
	for (n = 1; n <= total; n++) {
		assert_int_equal(run(argv, argc, n, &used), EXIT_FAILURE_GENERIC);
		assert_true(used >= n);
	}
}

static void test_policy_grouped_by_tags(void **state)
{
	char *argv[] = {"forget", "--repo", dir, "--dry-run", "--keep-last", "1",
		"--group-by", "host,tags", NULL};

	(void)state;
	every_allocation_fails_once(argv, 8);
}

static void test_named_snapshots(void **state)
{
	char **ids;
	size_t n;
	tsarc_store *st;
	char *argv[] = {"forget", "--repo", dir, "--dry-run", NULL, NULL};

	(void)state;
	assert_int_equal(tsarc_store_fs_open(&st, dir, NULL), 0);
	assert_int_equal(tsarc_store_list_names(st, TSARC_OBJ_SNAPSHOT, &ids, &n), 0);
	assert_int_equal(n, 3);
	argv[4] = ids[0];
	every_allocation_fails_once(argv, 5);
	tsarc_store_names_free(ids, n);
	tsarc_store_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_grouped_by_tags),
		cmocka_unit_test(test_named_snapshots),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
