/*
 * The library never prints: a warning it has (a damaged snapshot passed
 * over by `latest`) reaches the installed callback as an event and
 * nothing reaches stderr, with a callback or without one; events from many
 * threads reach the callback one at a time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "backup.h"
#include "log.h"
#include "repo.h"
#include "snapshot.h"
#include "tsarc/errors.h"
#include "scratch.h"
#include "repo_fixture.h"

static char dir[256];

typedef struct captured {
	int n;
	tsarc_log_level level[64];
	char component[64][32], event[64][64], message[64][512];
} captured;

static void capture(const tsarc_event *ev, void *payload)
{
	captured *c = payload;

	if (c->n >= 64)
		return;
	c->level[c->n] = ev->level;
	snprintf(c->component[c->n], sizeof(c->component[0]), "%s", ev->component);
	snprintf(c->event[c->n], sizeof(c->event[0]), "%s", ev->event);
	snprintf(c->message[c->n], sizeof(c->message[0]), "%s", ev->message);
	c->n++;
}

/* stderr goes to a file while the library runs; stderr_end says how many
 * bytes reached it. */
static int saved_stderr = -1;
static char err_path[300];

static void stderr_begin(void)
{
	int fd;

	snprintf(err_path, sizeof(err_path), "%s/stderr", dir);
	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved_stderr >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

static long stderr_end(void)
{
	struct stat st;

	fflush(stderr);
	assert_int_equal(dup2(saved_stderr, 2), 2);
	close(saved_stderr);
	assert_int_equal(stat(err_path, &st), 0);
	return (long)st.st_size;
}

static void backup_at(tsarc_repo *repo, const char *when, unsigned seed, char *id)
{
	char path[300];
	tsarc_backup_options o;
	tsarc_backup *b = NULL;
	unsigned char data[100000];
	size_t i;
	int fd;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * seed + i / 7);
	snprintf(path, sizeof(path), "%s/input", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	memset(&o, 0, sizeof(o));
	o.time = when;
	assert_int_equal(tsarc_backup_new(&b, repo, &o), 0);
	assert_int_equal(tsarc_backup_stream_fd(b, "s", "stdin", fd, NULL), 0);
	assert_int_equal(tsarc_backup_commit(b, id), 0);
	tsarc_backup_free(b);
	close(fd);
}

static void test_damaged_latest_is_an_event_not_stderr(void **state)
{
	char older[TSARC_ID_HEX_LEN + 1], newer[TSARC_ID_HEX_LEN + 1];
	char id[TSARC_ID_HEX_LEN + 1], path[400], url[300];
	tsarc_repo_init_options o;
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;
	captured cap;
	FILE *f;
	int c;

	(void)state;
	repo_fixture_options(&o);
	snprintf(url, sizeof(url), "%s/repo", dir);
	assert_int_equal(tsarc_store_open(&st, url, NULL), 0);
	assert_int_equal(tsarc_repo_init(&repo, st, "pw", &o), 0);
	backup_at(repo, "2026-01-01T00:00:00Z", 3, older);
	backup_at(repo, "2026-01-02T00:00:00Z", 5, newer);
	snprintf(path, sizeof(path), "%s/repo/snapshots/%s", dir, newer);
	assert_non_null(f = fopen(path, "r+b"));
	fseek(f, 50, SEEK_SET);
	c = fgetc(f);
	fseek(f, 50, SEEK_SET);
	fputc(c ^ 0xff, f);
	fclose(f);

	memset(&cap, 0, sizeof(cap));
	tsarc_log_set(capture, &cap);
	stderr_begin();
	assert_int_equal(tsarc_snapshot_resolve(repo, "latest", id), 0);
	assert_int_equal(stderr_end(), 0);
	assert_string_equal(id, older);
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.level[0], TSARC_LOG_WARN);
	assert_string_equal(cap.component[0], "snapshot");
	assert_string_equal(cap.event[0], "snapshot_skipped");
	newer[12] = '\0'; /* messages name a snapshot by its first 12 digits */
	assert_non_null(strstr(cap.message[0], newer));
	assert_non_null(strstr(cap.message[0], "passed over for 'latest'"));

	/* Without a callback: dropped, still nothing on stderr. */
	tsarc_log_set(NULL, NULL);
	stderr_begin();
	assert_int_equal(tsarc_snapshot_resolve(repo, "latest", id), 0);
	assert_int_equal(stderr_end(), 0);
	assert_int_equal(cap.n, 1);
	tsarc_repo_free(repo);
}

static atomic_int inside, overlaps, calls;

static void serial_check(const tsarc_event *ev, void *payload)
{
	(void)ev;
	(void)payload;
	if (atomic_fetch_add(&inside, 1) != 0)
		atomic_fetch_add(&overlaps, 1);
	atomic_fetch_add(&calls, 1);
	/* Long enough for another thread to arrive if nothing held it back. */
	usleep(100);
	atomic_fetch_sub(&inside, 1);
}

static void *logger(void *arg)
{
	int i;

	for (i = 0; i < 200; i++)
		tsarc__log(TSARC_LOG_INFO, "test", "tick", "thread %ld event %d", (long)(intptr_t)arg, i);
	return NULL;
}

static void test_callback_called_one_at_a_time(void **state)
{
	pthread_t th[8];
	long i;

	(void)state;
	tsarc_log_set(serial_check, NULL);
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, logger, (void *)(intptr_t)i), 0);
	for (i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	tsarc_log_set(NULL, NULL);
	assert_int_equal(atomic_load(&calls), 8 * 200);
	assert_int_equal(atomic_load(&overlaps), 0);
}

static void test_level_names(void **state)
{
	(void)state;
	assert_string_equal(tsarc_log_level_name(TSARC_LOG_DEBUG), "debug");
	assert_string_equal(tsarc_log_level_name(TSARC_LOG_INFO), "info");
	assert_string_equal(tsarc_log_level_name(TSARC_LOG_WARN), "warn");
	assert_string_equal(tsarc_log_level_name(TSARC_LOG_ERROR), "error");
}

SCRATCH_FIXTURES(static, setup, teardown, dir, "test-log")

TSARC_TESTS_MAIN(setup, teardown,
	cmocka_unit_test(test_damaged_latest_is_an_event_not_stderr),
	cmocka_unit_test(test_callback_called_one_at_a_time),
	cmocka_unit_test(test_level_names))
