/* fileio.c: write-all, bounded and private file reads, the temporary
 * file put in place only when complete, and the replace writer refusing
 * a symlink (planted at the name or as the folder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "fileio.h"
#include "tsarc/errors.h"
#include "scratch.h"

static char dir[256];

SCRATCH_FIXTURES(static, setup, teardown, dir, "fileio")

static const char *at(const char *name)
{
	static char path[4][512];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, 512, "%s/%s", dir, name);
	return p;
}

static void put(const char *name, const char *text, mode_t mode)
{
	FILE *f = fopen(at(name), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(at(name), mode), 0);
}

/* The names in the folder, sorted, space-separated. */
static const char *listing(void)
{
	static char out[1024];
	struct dirent **names;
	int n, i;

	out[0] = 0;
	n = scandir(dir, &names, NULL, alphasort);
	assert_true(n >= 2);
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			strcat(out, names[i]->d_name);
			strcat(out, " ");
		}
		free(names[i]);
	}
	free(names);
	return out;
}

static void write_all_through_a_pipe(void **state)
{
	static char big[1 << 20];
	int fds[2];
	pid_t pid;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	/* More than a pipe holds: the writes are partial and must go on. */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static char got[1 << 20];
		size_t have = 0;
		ssize_t n;
		close(fds[1]);
		while ((n = read(fds[0], got + have, sizeof(got) - have)) > 0)
			have += (size_t)n;
		_exit(have == sizeof(got) && !memcmp(got, big, sizeof(got)) ? 0 : 1);
	}
	close(fds[0]);
	assert_int_equal(tsarc_write_all(fds[1], big, sizeof(big)), 0);
	close(fds[1]);
	{
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/* A reader gone: -1 with errno for the caller to name. */
	assert_int_equal(pipe(fds), 0);
	close(fds[0]);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(tsarc_write_all(fds[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(fds[1]);
}

static void errno_codes(void **state)
{
	(void)state;
	assert_int_equal(tsarc_errno_code(ENOENT), TSARC_ENOTFOUND);
	assert_int_equal(tsarc_errno_code(EEXIST), TSARC_EEXISTS);
	assert_int_equal(tsarc_errno_code(EACCES), TSARC_EACCESS);
	assert_int_equal(tsarc_errno_code(EROFS), TSARC_EACCESS);
	assert_int_equal(tsarc_errno_code(ENOSPC), TSARC_EIO);
}

static void read_file_bounded(void **state)
{
	char *text;
	size_t len;

	(void)state;
	put("a.txt", "hello", 0600);
	assert_int_equal(tsarc_read_file(at("a.txt"), 5, &text, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(text, "hello");
	free(text);
	assert_int_equal(tsarc_read_file(at("a.txt"), 4, &text, &len), TSARC_ETOOLARGE);
	assert_null(text);
	assert_int_equal(tsarc_read_file(at("missing"), 100, &text, NULL), TSARC_ENOTFOUND);
	assert_null(text);
}

static void read_private_file_refuses_planted(void **state)
{
	char *text;

	(void)state;
	put("mine", "ok", 0600);
	assert_int_equal(tsarc_read_private_file(at("mine"), 100, &text, NULL), 0);
	assert_string_equal(text, "ok");
	free(text);
	put("shared", "no", 0666);
	assert_int_equal(chmod(at("shared"), 0666), 0);
	assert_int_equal(tsarc_read_private_file(at("shared"), 100, &text, NULL), TSARC_EUNSAFE);
	assert_int_equal(symlink(at("mine"), at("link")), 0);
	assert_int_equal(tsarc_read_private_file(at("link"), 100, &text, NULL), TSARC_EUNSAFE);
	/* A FIFO neither blocks the open nor is read. */
	assert_int_equal(mkfifo(at("fifo"), 0600), 0);
	assert_int_equal(tsarc_read_private_file(at("fifo"), 100, &text, NULL), TSARC_EUNSAFE);
	assert_null(text);
}

static void tmpfile_in_place_only_when_committed(void **state)
{
	tsarc_tmpfile t;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct stat sb;
	char *text;

	(void)state;
	assert_true(dfd >= 0);
	assert_int_equal(tsarc_tmpfile_open(&t, dfd, dir, ".obj-"), 0);
	assert_int_equal(strncmp(t.name, ".obj-", 5), 0);
	assert_int_equal(strlen(t.name), 5 + 24);
	assert_int_equal(fstat(t.fd, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(tsarc_tmpfile_write(&t, "abc", 3), 0);
	assert_int_equal(tsarc_tmpfile_write(&t, "def", 3), 0);
	/* Not there under its name before the commit. */
	assert_int_equal(access(at("obj"), F_OK), -1);
	assert_int_equal(tsarc_tmpfile_commit(&t, "obj", TSARC_TMPFILE_SYNC_DIR), 0);
	assert_string_equal(listing(), "obj ");
	assert_int_equal(tsarc_read_file(at("obj"), 100, &text, NULL), 0);
	assert_string_equal(text, "abcdef");
	free(text);

	/* Create-only: an existing name is TSARC_EEXISTS, left as it was. */
	assert_int_equal(tsarc_tmpfile_open(&t, dfd, dir, ".obj-"), 0);
	assert_int_equal(tsarc_tmpfile_write(&t, "xyz", 3), 0);
	assert_int_equal(tsarc_tmpfile_commit(&t, "obj", TSARC_TMPFILE_CREATE_ONLY), TSARC_EEXISTS);
	assert_string_equal(listing(), "obj ");
	assert_int_equal(tsarc_read_file(at("obj"), 100, &text, NULL), 0);
	assert_string_equal(text, "abcdef");
	free(text);

	/* Discarded: nothing left. */
	assert_int_equal(tsarc_tmpfile_open(&t, dfd, dir, ".obj-"), 0);
	tsarc_tmpfile_discard(&t);
	assert_string_equal(listing(), "obj ");

	/* A path as prefix, with AT_FDCWD (the fs store's way). */
	{
		char prefix[300];
		snprintf(prefix, sizeof(prefix), "%s/.tmp-", dir);
		assert_int_equal(tsarc_tmpfile_open(&t, AT_FDCWD, NULL, prefix), 0);
		assert_int_equal(tsarc_tmpfile_write(&t, "p", 1), 0);
		assert_int_equal(tsarc_tmpfile_commit(&t, at("p"), TSARC_TMPFILE_CREATE_ONLY), 0);
		assert_string_equal(listing(), "obj p ");
	}
	/* A missing folder is TSARC_ENOTFOUND (the fs store then creates it). */
	{
		char prefix[300];
		snprintf(prefix, sizeof(prefix), "%s/nowhere/.tmp-", dir);
		assert_int_equal(tsarc_tmpfile_open(&t, AT_FDCWD, NULL, prefix), TSARC_ENOTFOUND);
	}
	close(dfd);
}

static void replace_file_creates_and_replaces(void **state)
{
	struct stat sb;
	char *text;

	(void)state;
	assert_int_equal(tsarc_replace_file(at("conf"), "one", 3, 0640, 1), 0);
	assert_int_equal(stat(at("conf"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	/* keep_attrs: the old file's mode, not the one asked for. */
	assert_int_equal(chmod(at("conf"), 0604), 0);
	assert_int_equal(tsarc_replace_file(at("conf"), "two", 3, 0600, 1), 0);
	assert_int_equal(stat(at("conf"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0604);
	assert_int_equal(tsarc_replace_file(at("conf"), "three", 5, 0600, 0), 0);
	assert_int_equal(stat(at("conf"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(tsarc_read_file(at("conf"), 100, &text, NULL), 0);
	assert_string_equal(text, "three");
	free(text);
	assert_string_equal(listing(), "conf ");
}

static void replace_file_refuses_symlinks(void **state)
{
	char *text;
	int dfd;

	(void)state;
	put("victim", "precious", 0600);
	/* A symlink planted at the name is refused, neither followed nor
	 * replaced. */
	assert_int_equal(symlink(at("victim"), at("conf")), 0);
	assert_int_equal(tsarc_replace_file(at("conf"), "evil", 4, 0600, 0), TSARC_EUNSAFE);
	assert_non_null(strstr(tsarc_error_last()->message, "not a regular file"));
	assert_int_equal(tsarc_read_file(at("victim"), 100, &text, NULL), 0);
	assert_string_equal(text, "precious");
	free(text);
	assert_string_equal(listing(), "conf victim ");
	/* A folder given by a symlink is not opened. */
	assert_int_equal(mkdir(at("real"), 0700), 0);
	assert_int_equal(symlink(at("real"), at("linkdir")), 0);
	{
		char path[600];
		snprintf(path, sizeof(path), "%s/f", at("linkdir"));
		assert_int_not_equal(tsarc_replace_file(path, "x", 1, 0600, 0), 0);
		assert_int_equal(access(at("real/f"), F_OK), -1);
	}
	/* Not a plain file name. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(tsarc_replace_file_at(dfd, dir, "../x", "x", 1, 0600, 0), TSARC_EINVAL);
	assert_int_equal(tsarc_replace_file_at(dfd, dir, "..", "x", 1, 0600, 0), TSARC_EINVAL);
	assert_int_equal(tsarc_replace_file_at(dfd, dir, "", "x", 1, 0600, 0), TSARC_EINVAL);
	close(dfd);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(write_all_through_a_pipe),
	cmocka_unit_test(errno_codes),
	cmocka_unit_test_setup_teardown(read_file_bounded, setup, teardown),
	cmocka_unit_test_setup_teardown(read_private_file_refuses_planted, setup, teardown),
	cmocka_unit_test_setup_teardown(tmpfile_in_place_only_when_committed, setup, teardown),
	cmocka_unit_test_setup_teardown(replace_file_creates_and_replaces, setup, teardown),
	cmocka_unit_test_setup_teardown(replace_file_refuses_symlinks, setup, teardown))
