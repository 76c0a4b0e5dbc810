/*
 * The words a backup records for operators to read later (tags, host,
 * stream names and kinds) are refused through the library's API when they
 * hold a control character (C0, DEL, C1), a character that reorders or
 * hides text (U+202E RLO, a BOM) or are not valid UTF-8: with
 * TSARC_EINVAL, a message naming the field and showing the value cleaned,
 * and no snapshot written. UTF-8 beyond ASCII is recorded as given.
 * ("?\?" in the strings below: a '?' for each bad byte, not a trigraph.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "repo.h"
#include "snapshot.h"
#include "tsarc/backup.h"
#include "tsarc/errors.h"
#include "repo_fixture.h"
#include "scratch.h"

static char dir[256];
static tsarc_repo *repo;

static int setup(void **state)
{
	tsarc_repo_init_options o;
	tsarc_store *st = NULL;
	char url[300];

	(void)state;
	if (!scratch_make(dir, sizeof(dir), "backup-text"))
		return -1;
	repo_fixture_options(&o);
	snprintf(url, sizeof(url), "%s/repo", dir);
	if (tsarc_store_open(&st, url, NULL) || tsarc_repo_init(&repo, st, "pw", &o))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tsarc_repo_free(repo);
	return scratch_remove(dir);
}

static size_t snapshot_count(void)
{
	char **ids = NULL;
	size_t n = 0;

	assert_int_equal(tsarc_snapshot_list_ids(repo, &ids, &n), 0);
	tsarc_snapshot_ids_free(ids, n);
	return n;
}

/* A file of a few bytes to back up, open at its start. */
static int input_fd(void)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/input", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello\n", 6), 6);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void assert_refused(int rc, const char *message)
{
	const char *m = tsarc_error_last()->message;

	assert_int_equal(rc, TSARC_EINVAL);
	if (!strstr(m, message))
		fail_msg("'%s' does not say '%s'", m, message);
	for (; *m; m++)
		if ((unsigned char)*m < 0x20 || *m == 0x7f)
			fail_msg("the message holds control byte 0x%02x", (unsigned char)*m);
}

static void options_refused(void **state)
{
	static const struct {
		const char *host, *tag, *message;
	} cases[] = {
		{NULL, "nightly\x1b[2J", "tag 'nightly?[2J': control characters are not allowed"},
		{NULL, "a\nb", "tag 'a?b': control characters are not allowed"},
		{NULL, "a\x7f", "tag 'a?': control characters are not allowed"},
		{NULL, "a\xc2\x9b" "2J", "tag 'a?2J': control characters are not allowed"},
		{NULL, "caf\xe9", "tag 'caf?': not valid UTF-8"},
		{NULL, "\xc0\xaf", "tag '?\?': not valid UTF-8"},        /* overlong '/' */
		{NULL, "\xed\xa0\x80", "tag '?\?\?': not valid UTF-8"},   /* a surrogate */
		{NULL, "\xf4\x90\x80\x80", "tag '?\?\?\?': not valid UTF-8"}, /* past U+10FFFF */
		{NULL, "\xe6\x97", "tag '?\?': not valid UTF-8"},        /* cut short */
		{"web1\r", "ok", "host 'web1?': control characters are not allowed"},
		{"h\xff", NULL, "host 'h?': not valid UTF-8"},
		{NULL, "nightly\xe2\x80\xae" "daolpu",
			"tag 'nightly?daolpu': bidirectional or invisible formatting characters are not allowed"},
		{"\xef\xbb\xbfweb1", NULL,
			"host '?web1': bidirectional or invisible formatting characters are not allowed"},
		/* "night<SHY>ly" shows as "nightly"; a tag character is invisible. */
		{NULL, "night\xc2\xad" "ly",
			"tag 'night?ly': bidirectional or invisible formatting characters are not allowed"},
		{"web\xf3\xa0\x80\xb1", NULL,
			"host 'web?': bidirectional or invisible formatting characters are not allowed"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *tags[] = {"ok", cases[i].tag};
		tsarc_backup_options o;
		tsarc_backup *b = NULL;

		memset(&o, 0, sizeof(o));
		o.host = cases[i].host;
		o.tags = tags;
		o.ntags = cases[i].tag ? 2 : 1;
		assert_refused(tsarc_backup_new(&b, repo, &o), cases[i].message);
		assert_null(b);
	}
	assert_int_equal(snapshot_count(), 0);
}

static void stream_words_refused(void **state)
{
	tsarc_backup *b = NULL;
	tsarc_snapshot *snap = NULL;
	char id[TSARC_SNAPSHOT_ID_LEN + 1];
	int fd = input_fd();

	(void)state;
	assert_refused(tsarc_backup_fd(&snap, repo, "db\x1b[31m.sql", fd, NULL),
		"stream name 'db?[31m.sql': control characters are not allowed");
	assert_null(snap);
	assert_int_equal(tsarc_backup_new(&b, repo, NULL), 0);
	assert_refused(tsarc_backup_stream_fd(b, "db\xff.sql", "stdin", fd, NULL),
		"stream name 'db?.sql': not valid UTF-8");
	assert_refused(tsarc_backup_stream_fd(b, "db.sql", "k\a", fd, NULL),
		"stream kind 'k?': control characters are not allowed");
	assert_refused(tsarc_backup_stream_fd(b, "db\xe2\x81\xa6.sql", "stdin", fd, NULL), /* LRI */
		"stream name 'db?.sql': bidirectional or invisible formatting characters are not allowed");
	/* The session goes on: a good stream after the refused ones. */
	assert_int_equal(tsarc_backup_stream_fd(b, "db.sql", "stdin", fd, NULL), 0);
	assert_int_equal(tsarc_backup_commit(b, id), 0);
	tsarc_backup_free(b);
	close(fd);
	assert_int_equal(snapshot_count(), 1);
}

static void utf8_recorded(void **state)
{
	const char *tags[] = {"café ☕", "日本", "\xf0\x9f\x8e\x89"};
	tsarc_backup_options o;
	tsarc_snapshot *snap = NULL;
	int fd = input_fd();

	(void)state;
	memset(&o, 0, sizeof(o));
	o.host = "höst";
	o.tags = tags;
	o.ntags = 3;
	assert_int_equal(tsarc_backup_fd(&snap, repo, "données.sql", fd, &o), 0);
	close(fd);
	assert_string_equal(tsarc_snapshot_host(snap), "höst");
	assert_string_equal(tsarc_snapshot_tag(snap, 0), "café ☕");
	assert_string_equal(tsarc_snapshot_tag(snap, 2), "\xf0\x9f\x8e\x89");
	assert_string_equal(tsarc_snapshot_stream_name(snap, 0), "données.sql");
	tsarc_snapshot_free(snap);
}

TSARC_TESTS_MAIN(setup, teardown, cmocka_unit_test(options_refused),
	cmocka_unit_test(stream_words_refused), cmocka_unit_test(utf8_recorded))
