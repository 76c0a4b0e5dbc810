/* src/tree/swap.c: the journaled swap, interrupted at every step; a
 * repository that appears in the target after the restore checked it is
 * not deleted with the old tree. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tree_fixture.h"
#include "repo.h"
#include "tree_restore.h"
#include "tsarc/errors.h"
#include "tsarc/log.h"

/* Entries named like staging folders (a leftover of an interrupted
 * restore that a later backup took along) are ordinary entries: the
 * staging name is random, so none of them can be it. */
static void test_names_like_staging_are_data(void **state)
{
	static const spec leftovers[] = {{".tsarc-restore-1", 'd', NULL, 0, 0},
		{".tsarc-restore-1/f.txt", 'f', "one", 0, 0}, {".tsarc-restore-staging", 'f', "two", 0, 0}};
	tsarc_tree_restore_result res;
	char target[300];
	int fd;

	(void)state;
	snprintf(target, sizeof(target), "%s/leftovers", tree_base);
	sh("rm -rf '%s' && mkdir -p '%s' && echo old > '%s/extra.txt'", target, target, target);
	fd = make_tar(leftovers, sizeof(leftovers) / sizeof(leftovers[0]));
	if (tsarc_tree_restore_fd(target, fd, NULL, &res) != 0)
		fail_msg("restore: %s", tsarc_error_last()->message);
	close(fd);
	sh("test \"$(ls -A '%s' | tr '\\n' ' ')\" = '.tsarc-restore-1 .tsarc-restore-staging '", target);
	sh("test \"$(cat '%s/.tsarc-restore-1/f.txt')\" = one && test \"$(cat '%s/.tsarc-restore-staging')\" = two",
		target, target);
}

static int steps_left;

static void interrupt_here(void *arg)
{
	(void)arg;
	if (--steps_left == 0)
		_exit(3); /* as a kill -9 would: no cleanup */
}

/* The swap, interrupted after each of its renames and journal writes in
 * turn: the next run ends it with exactly the new tree; nothing of the
 * old tree is lost until then. */
static void test_interrupted_swap_is_finished(void **state)
{
	static const spec newtree[] = {{"a.txt", 'f', "new a", 0, 0}, {"d", 'd', NULL, 0, 0},
		{"d/x", 'f', "new x", 0, 0}, {"d/y", 'f', "new y", 0, 0}, {"n.txt", 'f', "new n", 0, 0},
		{"l", 'l', "d/x", 0, 0}};
	tsarc_tree_restore_result res;
	char target[300], ref[300], want[300], got[300];
	int k, fd, done = 0;

	(void)state;
	snprintf(target, sizeof(target), "%s/swap", tree_base);
	snprintf(ref, sizeof(ref), "%s/swap-ref", tree_base);
	snprintf(want, sizeof(want), "%s/want.sig", tree_base);
	snprintf(got, sizeof(got), "%s/got.sig", tree_base);
	fd = make_tar(newtree, 6);
	assert_int_equal(tsarc_tree_restore_fd(ref, fd, NULL, &res), 0);
	close(fd);
	tree_sig(ref, want);
	for (k = 1; !done && k < 100; k++) {
		pid_t pid;
		int status, recovered;
		sh("rm -rf '%s' && mkdir -p '%s/d' && echo old a > '%s/a.txt' && echo old x > '%s/d/x' && "
			"echo gone > '%s/gone.txt'", target, target, target, target, target);
		fd = make_tar(newtree, 6);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			tsarc_tree_restore_options o;
			memset(&o, 0, sizeof(o));
			o.after_step = interrupt_here;
			steps_left = k;
			_exit(tsarc_tree_restore_fd(target, fd, &o, &res) == 0 ? 0 : 1);
		}
		close(fd);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == 0) {
			done = 1; /* no step left to interrupt */
		} else {
			assert_int_equal(WEXITSTATUS(status), 3);
			/* Until the next run, every old entry is in the target or
			 * in the old folder, every new one in the target or staged. */
			sh("cd '%s' && test -f .tsarc-swap-journal && { test -f gone.txt || "
				"test -f .tsarc-old-*/gone.txt || ! test -e .tsarc-restore-*; }", target);
			if (tsarc_tree_recover(target, &recovered) != 0)
				fail_msg("step %d: %s", k, tsarc_error_last()->message);
			assert_int_equal(recovered, 1);
		}
		tree_sig(target, got);
		sh("cmp -s '%s' '%s' || { echo 'interrupted after step %d:'; diff '%s' '%s'; exit 1; }",
			want, got, k, want, got);
	}
	assert_true(done);
	assert_true(k > 5);
}

/* Interrupted while the new tree is still arriving: the next run removes
 * what was staged and the old tree is exactly as it was. */
static void test_interrupted_extraction_is_undone(void **state)
{
	char target[300], want[300], got[300];
	int fds[2], status, recovered;
	pid_t pid;

	(void)state;
	snprintf(target, sizeof(target), "%s/cut", tree_base);
	snprintf(want, sizeof(want), "%s/cut-want.sig", tree_base);
	snprintf(got, sizeof(got), "%s/cut-got.sig", tree_base);
	sh("rm -rf '%s' && mkdir -p '%s/d' && echo old a > '%s/a.txt' && echo old x > '%s/d/x'",
		target, target, target, target);
	tree_sig(target, want);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		tsarc_tree_restore_result res;
		close(fds[1]);
		_exit(tsarc_tree_restore_fd(target, fds[0], NULL, &res) == 0 ? 0 : 1);
	}
	close(fds[0]);
	{
		/* One entry of a tar, then the writer is killed with its reader. */
		static const spec one[] = {{"a.txt", 'f', "new a", 0, 0}};
		char buf[1024];
		int tfd = make_tar(one, 1);
		assert_int_equal(read(tfd, buf, sizeof(buf)), sizeof(buf));
		close(tfd);
		assert_int_equal(write(fds[1], buf, sizeof(buf)), sizeof(buf));
	}
	kill(pid, SIGKILL);
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(tsarc_tree_recover(target, &recovered), 0);
	tree_sig(target, got);
	sh("cmp -s '%s' '%s' && test -z \"$(ls -A '%s' | grep tsarc)\"", want, got, target);
}

/* A repository at `path`, as tsarc init makes it (the password "pw"). */
static void make_repo_at(const char *path)
{
	tsarc_repo_init_options o;
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;

	memset(&o, 0, sizeof(o));
	o.codec = TSARC_CODEC_ZSTD;
	o.scrypt_n = 1024;
	assert_int_equal(tsarc_store_open(&st, path, NULL), 0);
	assert_int_equal(tsarc_repo_init(&repo, st, "pw", &o), 0);
	tsarc_repo_free(repo);
}

/* The repository that appears: made once, at the swap's first step (the
 * journal says phase 1, nothing has moved yet), the restore's check of
 * the target long done. */
static int repo_made;

static void repository_appears(void *arg)
{
	if (!repo_made++)
		make_repo_at(arg);
}

/* The warning a kept old tree gives (swap.c, "old_tree_kept"). */
static char kept_warning[4096];
static int kept_warnings;

static void kept_cb(const tsarc_event *ev, void *payload)
{
	(void)payload;
	if (strcmp(ev->event, "old_tree_kept"))
		return;
	kept_warnings++;
	assert_int_equal(ev->level, TSARC_LOG_WARN);
	snprintf(kept_warning, sizeof(kept_warning), "%s", ev->message);
}

/* The repository is whole where the swap moved the old tree aside (the
 * only .tsarc-old-* folder of `target`), one warning named it and that
 * folder, and a restore into `target` is refused, naming it. */
static void repository_kept(const char *target)
{
	char want[400];

	tsarc_log_set(NULL, NULL);
	assert_int_equal(kept_warnings, 1);
	snprintf(want, sizeof(want), "%s/.tsarc-old-", target);
	assert_non_null(strstr(kept_warning, want));
	assert_non_null(strstr(kept_warning, "/sub/vault is a tsarc repository"));
	assert_non_null(strstr(kept_warning, "not deleted"));
	sh("cd '%s' && test \"$(ls -d .tsarc-old-* | wc -l)\" = 1 && "
		"test -f .tsarc-old-*/sub/vault/config && test -d .tsarc-old-*/sub/vault/keys || "
		"{ echo 'the repository made during the restore is gone:'; ls -laR; exit 1; }", target);
	assert_int_equal(tsarc_tree_repository_check(NULL, target), TSARC_EUNSAFE);
	assert_non_null(strstr(tsarc_error_last()->message, "/sub/vault is a tsarc repository"));
	assert_non_null(strstr(tsarc_error_last()->message, "/.tsarc-old-"));
}

/* A tsarc repository made in the target after the restore checked it
 * (while the new tree was being extracted: the check is at the start) is
 * moved aside with the old tree by the swap. The old tree is then
 * deleted, and was with the repository in it: every snapshot lost, the
 * restore reporting success. Here it appears at the swap's first step,
 * in a folder the new tree has too; the restore succeeds (the new tree
 * is in place) and the repository survives, whole. */
static void test_repository_made_during_restore_is_kept(void **state)
{
	static const spec newtree[] = {{"a.txt", 'f', "new a", 0, 0}, {"sub", 'd', NULL, 0, 0},
		{"sub/b.txt", 'f', "new b", 0, 0}};
	tsarc_tree_restore_options o;
	tsarc_tree_restore_result res;
	char target[300], vault[400];
	int fd, rc;

	(void)state;
	snprintf(target, sizeof(target), "%s/race", tree_base);
	snprintf(vault, sizeof(vault), "%s/sub/vault", target);
	sh("rm -rf '%s' && mkdir -p '%s/sub' && echo old a > '%s/a.txt' && echo old b > '%s/sub/b.txt' && "
		"echo gone > '%s/gone.txt'", target, target, target, target, target);
	memset(&o, 0, sizeof(o));
	o.after_step = repository_appears;
	o.after_step_arg = vault;
	repo_made = 0;
	kept_warnings = 0;
	tsarc_log_set(kept_cb, NULL);
	fd = make_tar(newtree, 3);
	rc = tsarc_tree_restore_fd(target, fd, &o, &res);
	close(fd);
	if (rc != 0)
		fail_msg("restore: %s", tsarc_error_last()->message);
	assert_true(repo_made > 0);
	/* the kept old tree named for the step's report */
	assert_non_null(strstr(res.kept_old, ".tsarc-old-"));
	sh("test -d '%s/%s/sub/vault'", target, res.kept_old);
	/* the new tree in place, the swap ended */
	sh("cd '%s' && test \"$(cat a.txt)\" = 'new a' && test \"$(cat sub/b.txt)\" = 'new b' && "
		"! test -e gone.txt && ! test -e sub/vault && ! test -e .tsarc-swap-journal && "
		"! ls -d .tsarc-restore-* 2>/dev/null", target);
	repository_kept(target);
}

/* The same when the swap was interrupted (killed at its first step) and
 * the repository appeared before the next run, which ends the swap. */
static void test_repository_made_before_recovery_is_kept(void **state)
{
	static const spec newtree[] = {{"a.txt", 'f', "new a", 0, 0}, {"sub", 'd', NULL, 0, 0},
		{"sub/b.txt", 'f', "new b", 0, 0}};
	char target[300], vault[400];
	int fd, status, recovered;
	pid_t pid;

	(void)state;
	snprintf(target, sizeof(target), "%s/race2", tree_base);
	snprintf(vault, sizeof(vault), "%s/sub/vault", target);
	sh("rm -rf '%s' && mkdir -p '%s/sub' && echo old a > '%s/a.txt' && echo old b > '%s/sub/b.txt'",
		target, target, target, target);
	fd = make_tar(newtree, 3);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		tsarc_tree_restore_options o;
		tsarc_tree_restore_result res;
		memset(&o, 0, sizeof(o));
		o.after_step = interrupt_here;
		steps_left = 1;
		_exit(tsarc_tree_restore_fd(target, fd, &o, &res) == 0 ? 0 : 1);
	}
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	make_repo_at(vault);
	kept_warnings = 0;
	tsarc_log_set(kept_cb, NULL);
	if (tsarc_tree_recover(target, &recovered) != 0)
		fail_msg("recover: %s", tsarc_error_last()->message);
	assert_int_equal(recovered, 1);
	sh("cd '%s' && test \"$(cat a.txt)\" = 'new a' && test \"$(cat sub/b.txt)\" = 'new b' && "
		"! test -e sub/vault && ! test -e .tsarc-swap-journal", target);
	repository_kept(target);
}

/* syncfs, wrapped (-Wl,--wrap=syncfs): what the swap journal of the
 * target said when the restore wrote the new tree to disk. */
int __real_syncfs(int fd);
int __wrap_syncfs(int fd);
static char synced_target[300];
static int syncs;
static char journal_at_sync[256];

int __wrap_syncfs(int fd)
{
	char path[400];
	FILE *f;

	syncs++;
	snprintf(path, sizeof(path), "%s/.tsarc-swap-journal", synced_target);
	journal_at_sync[0] = '\0';
	if ((f = fopen(path, "r"))) {
		size_t n = fread(journal_at_sync, 1, sizeof(journal_at_sync) - 1, f);
		journal_at_sync[n] = '\0';
		fclose(f);
	}
	return __real_syncfs(fd);
}

/* A crash of the machine (not a kill) after the journal says phase 1 is
 * finished forward by the next run, so the new tree's contents must be on
 * disk by then, or files whose data never got there are swapped in empty
 * and the old tree deleted: the staged tree is synced while the journal
 * still says phase 0. */
static void test_new_tree_on_disk_before_the_swap(void **state)
{
	static const spec newtree[] = {{"a.txt", 'f', "new a", 0, 0}, {"d", 'd', NULL, 0, 0},
		{"d/x", 'f', "new x", 0, 0}};
	tsarc_tree_restore_result res;
	int fd;

	(void)state;
	snprintf(synced_target, sizeof(synced_target), "%s/durable", tree_base);
	sh("rm -rf '%s' && mkdir -p '%s' && echo old > '%s/a.txt'", synced_target, synced_target,
		synced_target);
	syncs = 0;
	fd = make_tar(newtree, 3);
	assert_int_equal(tsarc_tree_restore_fd(synced_target, fd, NULL, &res), 0);
	close(fd);
	assert_true(syncs > 0);
	assert_non_null(strstr(journal_at_sync, "tsarc-swap 1\n0\n"));
	sh("test \"$(cat '%s/a.txt')\" = 'new a'", synced_target);
}

TREE_TESTS_MAIN(cmocka_unit_test(test_names_like_staging_are_data),
	cmocka_unit_test(test_new_tree_on_disk_before_the_swap),
	cmocka_unit_test(test_interrupted_swap_is_finished),
	cmocka_unit_test(test_interrupted_extraction_is_undone),
	cmocka_unit_test(test_repository_made_during_restore_is_kept),
	cmocka_unit_test(test_repository_made_before_recovery_is_kept))
