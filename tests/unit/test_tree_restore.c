#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
static const spec fifo[] = {{"p", 'p', NULL, 0, 0}};
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
	{link_abs, 1}, {hard_out, 1}, {fifo, 1}, {through_link, 2}, {through_link_file, 3},
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_rules),
		cmocka_unit_test(test_restore_equals_archive),
		cmocka_unit_test(test_hostile_archives_change_nothing),
		cmocka_unit_test(test_garbage_is_an_error),
		cmocka_unit_test(test_names_like_staging_are_data),
		cmocka_unit_test(test_check_without_restoring),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
