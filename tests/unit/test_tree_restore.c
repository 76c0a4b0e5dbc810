/* src/tree/restore.c: a restore leaves the folder equal to the archive,
 * and a refused or damaged archive leaves it exactly as it was. */
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
#include "tree_restore.h"
#include "tsarc/errors.h"

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
	snprintf(target, sizeof(target), "%s/system", tree_base);
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

static void test_hostile_archives_change_nothing(void **state)
{
	tsarc_tree_restore_result res;
	char target[300];
	size_t i;

	(void)state;
	snprintf(target, sizeof(target), "%s/victim", tree_base);
	for (i = 0; i < tree_hostile_count; i++) {
		int fd;
		sh("rm -rf '%s' && mkdir -p '%s' && echo keep > '%s/keep.txt'", target, target, target);
		fd = make_tar(tree_hostile[i].s, tree_hostile[i].n);
		if (tsarc_tree_restore_fd(target, fd, NULL, &res) != TSARC_EUNSAFE)
			fail_msg("hostile archive %zu was not refused: %s", i, tsarc_error_last()->message);
		close(fd);
		/* the target is exactly as it was */
		sh("test \"$(ls -A '%s')\" = keep.txt && test \"$(cat '%s/keep.txt')\" = keep", target, target);
		sh("test ! -e '%s/evil' && test ! -e /tmp/tsarc-evil-abs", tree_base);
	}
}

/* A tar of one folder and one file, owned by uid:gid 4321:4321 with set-id
 * bits: what a pod (or anyone writing its volume) can hand to a backup. */
static int set_id_tar(void)
{
	char path[300];
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	int i, fd;

	snprintf(path, sizeof(path), "%s/set-id.tar", tree_base);
	assert_non_null(a);
	archive_write_set_format_pax(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (i = 0; i < 2; i++) {
		assert_non_null(e = archive_entry_new());
		archive_entry_set_pathname(e, i ? "./d/run" : "./d");
		archive_entry_set_filetype(e, i ? AE_IFREG : AE_IFDIR);
		archive_entry_set_perm(e, i ? 06755 : 02775);
		archive_entry_set_uid(e, 4321);
		archive_entry_set_gid(e, 4321);
		archive_entry_set_size(e, i ? 9 : 0);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (i)
			assert_int_equal(archive_write_data(a, "#!/bin/sh", 9), 9);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	return fd;
}

/* Set-user-ID and set-group-ID bits are the archive's owner's to give: a
 * restore that does not make the entry that owner's (not root, or
 * restore_owner off) drops them, as libarchive's and GNU tar's extraction
 * do, instead of handing out a program that runs as the restoring user. */
static void test_set_id_bits_only_with_their_owner(void **state)
{
	tsarc_tree_restore_options o;
	tsarc_tree_restore_result res;
	char target[300], p[400];
	struct stat sb;
	int fd;

	(void)state;
	snprintf(target, sizeof(target), "%s/set-id", tree_base);
	memset(&o, 0, sizeof(o));
	o.restore_owner = 0;
	fd = set_id_tar();
	if (tsarc_tree_restore_fd(target, fd, &o, &res) != 0)
		fail_msg("restore failed: %s", tsarc_error_last()->message);
	close(fd);
	snprintf(p, sizeof(p), "%s/d/run", target);
	assert_int_equal(lstat(p, &sb), 0);
	assert_int_not_equal(sb.st_uid, 4321);
	if (sb.st_mode & (S_ISUID | S_ISGID))
		fail_msg("%s, owned by %d:%d, not the archive's 4321:4321, has mode %o", p,
			(int)sb.st_uid, (int)sb.st_gid, (unsigned)(sb.st_mode & 07777));
	assert_int_equal(sb.st_mode & 0777, 0755);
	snprintf(p, sizeof(p), "%s/d", target);
	assert_int_equal(lstat(p, &sb), 0);
	if (sb.st_mode & S_ISGID)
		fail_msg("%s, group %d, not the archive's 4321, has mode %o", p, (int)sb.st_gid,
			(unsigned)(sb.st_mode & 07777));
	assert_int_equal(sb.st_mode & 0777, 0775);
	/* Restored as their owner (root only), they keep them. */
	if (geteuid() == 0) {
		o.restore_owner = 1;
		fd = set_id_tar();
		if (tsarc_tree_restore_fd(target, fd, &o, &res) != 0)
			fail_msg("restore failed: %s", tsarc_error_last()->message);
		close(fd);
		snprintf(p, sizeof(p), "%s/d/run", target);
		assert_int_equal(lstat(p, &sb), 0);
		assert_int_equal(sb.st_uid, 4321);
		assert_int_equal(sb.st_mode & 07777, 06755);
	}
}

static void test_garbage_is_an_error(void **state)
{
	tsarc_tree_restore_result res;
	char target[300], path[300];
	int fd;

	(void)state;
	snprintf(target, sizeof(target), "%s/g", tree_base);
	snprintf(path, sizeof(path), "%s/garbage", tree_base);
	sh("mkdir -p '%s' && echo keep > '%s/keep.txt' && head -c 5000 /dev/urandom > '%s'", target,
		target, path);
	fd = open(path, O_RDONLY);
	assert_int_not_equal(tsarc_tree_restore_fd(target, fd, NULL, &res), 0);
	close(fd);
	sh("test \"$(ls -A '%s')\" = keep.txt", target);
}

TREE_TESTS_MAIN(cmocka_unit_test(test_restore_equals_archive),
	cmocka_unit_test(test_hostile_archives_change_nothing),
	cmocka_unit_test(test_set_id_bits_only_with_their_owner),
	cmocka_unit_test(test_garbage_is_an_error))
