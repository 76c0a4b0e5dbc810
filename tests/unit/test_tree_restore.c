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

#include "tree_restore.h"
#include "tsarc/errors.h"

typedef struct spec {
	const char *name;
	char type; /* f file, d dir, l symlink, h hardlink, p fifo */
	const char *data; /* content, or link target */
	int mode;
	long mtime;
} spec;

static char base[256];

/* Writes a tar of the given entries to a temp file; returns an fd on it. */
static int make_tar(const spec *entries, size_t n)
{
	char path[300];
	struct archive *a = archive_write_new();
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "%s/t.tar", base);
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, entries[i].name);
		archive_entry_set_mtime(e, entries[i].mtime ? entries[i].mtime : 1700000000, 0);
		switch (entries[i].type) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, entries[i].mode ? entries[i].mode : 0644);
			archive_entry_set_size(e, (la_int64_t)strlen(entries[i].data));
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, entries[i].mode ? entries[i].mode : 0755);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, entries[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, entries[i].data);
			break;
		case 'p':
			archive_entry_set_filetype(e, AE_IFIFO);
			archive_entry_set_perm(e, 0644);
			break;
		}
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (entries[i].type == 'f')
			archive_write_data(a, entries[i].data, strlen(entries[i].data));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	return fd;
}

static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "%s/tsarc-tree-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_entry_rules(void **state)
{
	(void)state;
	assert_int_equal(tsarc_tree_entry_safe("a/b.txt", NULL, 0), 0);
	assert_int_equal(tsarc_tree_entry_safe("a/..b/c", NULL, 0), 0);
	assert_int_equal(tsarc_tree_entry_safe("/etc/passwd", NULL, 0), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("../x", NULL, 0), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("a/../../x", NULL, 0), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("a/..", NULL, 0), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("", NULL, 0), TSARC_EUNSAFE);
	/* symlinks resolve from their own folder */
	assert_int_equal(tsarc_tree_entry_safe("a/l", "../b", 1), 0);
	assert_int_equal(tsarc_tree_entry_safe("a/b/l", "../../c", 1), 0);
	assert_int_equal(tsarc_tree_entry_safe("a/l", "../../b", 1), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("l", "..", 1), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("l", "/etc", 1), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("a/l", "x/../../..", 1), TSARC_EUNSAFE);
	/* hard links name entries of the archive */
	assert_int_equal(tsarc_tree_entry_safe("a/h", "a/b.txt", 0), 0);
	assert_int_equal(tsarc_tree_entry_safe("a/h", "../b", 0), TSARC_EUNSAFE);
	assert_int_equal(tsarc_tree_entry_safe("a/h", "/etc/shadow", 0), TSARC_EUNSAFE);
}

static void test_restore_equals_archive(void **state)
{
	static const spec good[] = {
		{"./", 'd', NULL, 0711, 1500000000},
		{"./2026", 'd', NULL, 0750, 1600000000},
		{"./2026/11/logo-0123456789abcdef.png", 'f', "PNG...", 0640, 1650000000},
		{"./invoices/1/pdfs/original/inv.pdf", 'f', "%PDF-1.4", 0600, 0},
		{"./current", 'l', "2026/11", 0, 0},
		{"./invoices/1/pdfs/copy.pdf", 'h', "./invoices/1/pdfs/original/inv.pdf", 0, 0},
	};
	tsarc_tree_restore_result res;
	char target[300], p[400], buf[64];
	struct stat sb;
	int fd;
	ssize_t n;

	(void)state;
	snprintf(target, sizeof(target), "%s/system", base);
	sh("mkdir -p '%s/old-dir/x' && echo old > '%s/old.txt' && echo stale > '%s/2026.txt'",
		target, target, target);
	fd = make_tar(good, sizeof(good) / sizeof(good[0]));
	if (tsarc_tree_restore_fd(target, fd, NULL, &res) != 0)
		fail_msg("restore failed: %s", tsarc_error_last()->message);
	close(fd);
	assert_int_equal(res.removed, 3);
	/* extras are gone, the archive's content is there with its modes and times */
	snprintf(p, sizeof(p), "%s/old.txt", target);
	assert_int_not_equal(stat(p, &sb), 0);
	snprintf(p, sizeof(p), "%s/old-dir", target);
	assert_int_not_equal(stat(p, &sb), 0);
	snprintf(p, sizeof(p), "%s/2026/11/logo-0123456789abcdef.png", target);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(sb.st_mtime, 1650000000);
	snprintf(p, sizeof(p), "%s/2026", target);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0750);
	assert_int_equal(sb.st_mtime, 1600000000);
	snprintf(p, sizeof(p), "%s/current", target);
	n = readlink(p, buf, sizeof(buf) - 1);
	assert_int_equal(n, 7);
	buf[n] = 0;
	assert_string_equal(buf, "2026/11");
	{
		struct stat a, b;
		snprintf(p, sizeof(p), "%s/invoices/1/pdfs/copy.pdf", target);
		assert_int_equal(stat(p, &a), 0);
		snprintf(p, sizeof(p), "%s/invoices/1/pdfs/original/inv.pdf", target);
		assert_int_equal(stat(p, &b), 0);
		assert_int_equal(a.st_ino, b.st_ino);
	}
	/* the archive's root entry gives the target its mode and time */
	assert_int_equal(stat(target, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0711);
	assert_int_equal(sb.st_mtime, 1500000000);
	/* no staging folder is left behind */
	sh("test -z \"$(ls -A '%s' | grep tsarc-restore)\"", target);
}

/* Archives a restore must refuse, whole, before anything is in place. */
static const spec dotdot[] = {{"ok.txt", 'f', "fine", 0, 0}, {"../evil", 'f', "x", 0, 0}};
static const spec deep_dotdot[] = {{"a/../../evil", 'f', "x", 0, 0}};
static const spec absolute[] = {{"ok.txt", 'f', "fine", 0, 0}, {"/tmp/tsarc-evil-abs", 'f', "x", 0, 0}};
static const spec link_out[] = {{"l", 'l', "../../..", 0, 0}, {"l/evil", 'f', "x", 0, 0}};
static const spec link_abs[] = {{"etc", 'l', "/etc", 0, 0}};
static const spec hard_out[] = {{"h", 'h', "../outside", 0, 0}};
/* Each link is inside on its own; writing through the first escapes. */
static const spec through_link[] = {{"x", 'l', ".", 0, 0}, {"x/l", 'l', "../evil", 0, 0}};
static const spec through_link_file[] = {{"d", 'l', "sub", 0, 0}, {"sub", 'd', NULL, 0, 0},
	{"d/f", 'f', "x", 0, 0}};
/* Links inside on their own text, outside together: d/l is the top
 * folder, so x is its parent; h is x's text one folder up. */
static const spec link_chain[] = {{"d/l", 'l', "..", 0, 0}, {"x", 'l', "d/l/..", 0, 0}};
static const spec hard_to_symlink[] = {{"d/e/x", 'l', "../..", 0, 0}, {"h", 'h', "d/e/x", 0, 0}};
static const struct {
	const spec *s;
	size_t n;
} cases[] = {
	{dotdot, 2}, {deep_dotdot, 1}, {absolute, 2}, {link_out, 2},
	{link_abs, 1}, {hard_out, 1}, {through_link, 2}, {through_link_file, 3},
	{link_chain, 2}, {hard_to_symlink, 2},
};

static void test_hostile_archives_change_nothing(void **state)
{
	tsarc_tree_restore_result res;
	char target[300];
	size_t i;

	(void)state;
	snprintf(target, sizeof(target), "%s/victim", base);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd;
		sh("rm -rf '%s' && mkdir -p '%s' && echo keep > '%s/keep.txt'", target, target, target);
		fd = make_tar(cases[i].s, cases[i].n);
		if (tsarc_tree_restore_fd(target, fd, NULL, &res) != TSARC_EUNSAFE)
			fail_msg("hostile archive %zu was not refused: %s", i, tsarc_error_last()->message);
		close(fd);
		/* the target is exactly as it was */
		sh("test \"$(ls -A '%s')\" = keep.txt && test \"$(cat '%s/keep.txt')\" = keep", target, target);
		sh("test ! -e '%s/evil' && test ! -e /tmp/tsarc-evil-abs", base);
	}
}

static void test_garbage_is_an_error(void **state)
{
	tsarc_tree_restore_result res;
	char target[300], path[300];
	int fd;

	(void)state;
	snprintf(target, sizeof(target), "%s/g", base);
	snprintf(path, sizeof(path), "%s/garbage", base);
	sh("mkdir -p '%s' && echo keep > '%s/keep.txt' && head -c 5000 /dev/urandom > '%s'", target,
		target, path);
	fd = open(path, O_RDONLY);
	assert_int_not_equal(tsarc_tree_restore_fd(target, fd, NULL, &res), 0);
	close(fd);
	sh("test \"$(ls -A '%s')\" = keep.txt", target);
}

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
	snprintf(target, sizeof(target), "%s/leftovers", base);
	sh("rm -rf '%s' && mkdir -p '%s' && echo old > '%s/extra.txt'", target, target, target);
	fd = make_tar(leftovers, sizeof(leftovers) / sizeof(leftovers[0]));
	if (tsarc_tree_restore_fd(target, fd, NULL, &res) != 0)
		fail_msg("restore: %s", tsarc_error_last()->message);
	close(fd);
	sh("test \"$(ls -A '%s' | tr '\\n' ' ')\" = '.tsarc-restore-1 .tsarc-restore-staging '", target);
	sh("test \"$(cat '%s/.tsarc-restore-1/f.txt')\" = one && test \"$(cat '%s/.tsarc-restore-staging')\" = two",
		target, target);
}

/* The check for restores that extract elsewhere (in a pod) refuses what
 * the restore refuses, accepts what it accepts, and leaves no scratch
 * folder behind. */
static void test_check_without_restoring(void **state)
{
	static const spec fine[] = {{"d", 'd', NULL, 0, 0}, {"d/f.txt", 'f', "data", 0, 0},
		{"d/l", 'l', "f.txt", 0, 0}, {"up", 'l', "d/../d/f.txt", 0, 0}, {"h", 'h', "d/f.txt", 0, 0}};
	char tmp[300];
	uint64_t entries;
	size_t i;
	int fd;

	(void)state;
	snprintf(tmp, sizeof(tmp), "%s/scratch", base);
	sh("mkdir -p '%s'", tmp);
	assert_int_equal(setenv("TMPDIR", tmp, 1), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = make_tar(cases[i].s, cases[i].n);
		if (tsarc_tree_check_fd(fd, &entries) != TSARC_EUNSAFE)
			fail_msg("hostile archive %zu passed the check", i);
		close(fd);
	}
	fd = make_tar(fine, sizeof(fine) / sizeof(fine[0]));
	if (tsarc_tree_check_fd(fd, &entries) != 0)
		fail_msg("a fine archive failed the check: %s", tsarc_error_last()->message);
	close(fd);
	assert_int_equal(entries, 5);
	sh("test -z \"$(ls -A '%s')\"", tmp);
	unsetenv("TMPDIR");
}

/* What a backup does not write (fifos, sockets, devices) a restore skips,
 * named, instead of refusing the whole tree: backup and restore take the
 * same entries. tsarc's swap journal is never data. */
static void test_fifo_skipped_not_refused(void **state)
{
	static const spec withfifo[] = {{"a.txt", 'f', "data", 0, 0}, {"p", 'p', NULL, 0, 0},
		{".tsarc-swap-journal", 'f', "tsarc-swap 1\n2\n.tsarc-restore-1-a\n.tsarc-old-1-a\ndelete\n", 0, 0}};
	tsarc_tree_restore_result res;
	char target[300];
	uint64_t entries;
	int fd;

	(void)state;
	snprintf(target, sizeof(target), "%s/withfifo", base);
	sh("rm -rf '%s' && mkdir -p '%s' && echo old > '%s/old.txt'", target, target, target);
	fd = make_tar(withfifo, 3);
	if (tsarc_tree_restore_fd(target, fd, NULL, &res) != 0)
		fail_msg("a tree with a fifo was refused: %s", tsarc_error_last()->message);
	close(fd);
	assert_int_equal(res.skipped, 2);
	assert_int_equal(res.entries, 1);
	sh("test \"$(ls -A '%s')\" = a.txt && test \"$(cat '%s/a.txt')\" = data", target, target);
	fd = make_tar(withfifo, 3);
	assert_int_equal(tsarc_tree_check_fd(fd, &entries), 0);
	assert_int_equal(entries, 1);
	close(fd);
}

/* A file of mostly zeros comes back with holes, whatever the archive
 * says about them (a backup stores them as zeros). */
static void test_zeros_become_holes(void **state)
{
	char path[300], target[300], file[400];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	static char zeros[1 << 20];
	tsarc_tree_restore_result res;
	struct stat sb;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/sparse.tar", base);
	snprintf(target, sizeof(target), "%s/sparse", base);
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, "disk.img");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)(8 * sizeof(zeros) + 4));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_write_data(a, "head", 4);
	for (int i = 0; i < 8; i++)
		archive_write_data(a, zeros, sizeof(zeros));
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	fd = open(path, O_RDONLY);
	if (tsarc_tree_restore_fd(target, fd, NULL, &res) != 0)
		fail_msg("restore: %s", tsarc_error_last()->message);
	close(fd);
	snprintf(file, sizeof(file), "%s/disk.img", target);
	assert_int_equal(stat(file, &sb), 0);
	assert_int_equal(sb.st_size, 8 * sizeof(zeros) + 4);
	/* 8 MiB of zeros: at most a few blocks allocated, not all of them. */
	if ((long long)sb.st_blocks * 512 > 256 * 1024)
		fail_msg("the restored file has %lld bytes allocated for 4 bytes of data",
			(long long)sb.st_blocks * 512);
	sh("test \"$(head -c 4 '%s')\" = head && test \"$(tail -c +5 '%s' | tr -d '\\0' | wc -c)\" = 0",
		file, file);
}

/* A listing of a tree (names, kinds, contents) for comparisons. */
static void tree_sig(const char *dir, const char *out)
{
	sh("cd '%s' && { find . | LC_ALL=C sort; find . -type f -exec cat {} + | md5sum; } > '%s'", dir, out);
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
	snprintf(target, sizeof(target), "%s/swap", base);
	snprintf(ref, sizeof(ref), "%s/swap-ref", base);
	snprintf(want, sizeof(want), "%s/want.sig", base);
	snprintf(got, sizeof(got), "%s/got.sig", base);
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
	snprintf(target, sizeof(target), "%s/cut", base);
	snprintf(want, sizeof(want), "%s/cut-want.sig", base);
	snprintf(got, sizeof(got), "%s/cut-got.sig", base);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_rules),
		cmocka_unit_test(test_restore_equals_archive),
		cmocka_unit_test(test_hostile_archives_change_nothing),
		cmocka_unit_test(test_garbage_is_an_error),
		cmocka_unit_test(test_names_like_staging_are_data),
		cmocka_unit_test(test_check_without_restoring),
		cmocka_unit_test(test_fifo_skipped_not_refused),
		cmocka_unit_test(test_zeros_become_holes),
		cmocka_unit_test(test_interrupted_swap_is_finished),
		cmocka_unit_test(test_interrupted_extraction_is_undone),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
