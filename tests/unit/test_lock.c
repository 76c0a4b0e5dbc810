#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lock.h"
#include "repo.h"
#include "snapshot.h"
#include "tsarc/errors.h"

static char dir[256];
static tsarc_repo *repo;

static int setup(void **state)
{
	tsarc_repo_init_options o;
	tsarc_store *st;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.codec = TSARC_CODEC_ZSTD;
	o.scrypt_n = 1024;
	snprintf(dir, sizeof(dir), "%s/tsarc-lock-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir) || tsarc_store_fs_open(&st, dir, NULL) ||
		tsarc_repo_init(&repo, st, "pw", &o))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	tsarc_repo_free(repo);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes a lock object as another process would, with chosen fields. */
static void forge(const char *name, const char *host, long pid, int exclusive,
	const char *time)
{
	char json[512];
	tsarc_buf sealed = TSARC_BUF_INIT;

	snprintf(json, sizeof(json),
		"{\"host\":\"%s\",\"pid\":%ld,\"exclusive\":%s,\"time\":\"%s\"}", host, pid,
		exclusive ? "true" : "false", time);
	assert_int_equal(tsarc_repo_seal_object(repo, "tsarc-lock-v1", json, strlen(json), &sealed), 0);
	assert_int_equal(tsarc_store_put(repo->store, TSARC_OBJ_LOCK, name, sealed.ptr, sealed.size, 0), 0);
	tsarc_buf_dispose(&sealed);
}

static void now_text(char *out, size_t n)
{
	int64_t t;
	tsarc_time_now(out, n, &t);
}

static void test_shared_and_exclusive(void **state)
{
	tsarc_lock *a = NULL, *b = NULL, *x = NULL;

	(void)state;
	assert_int_equal(tsarc_lock_acquire(&a, repo, 0), 0);
	assert_int_equal(tsarc_lock_acquire(&b, repo, 0), 0);
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), TSARC_ELOCKED);
	assert_non_null(strstr(tsarc_error_last()->message, "locked"));
	assert_int_equal(tsarc_lock_release(a), 0);
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), TSARC_ELOCKED);
	assert_int_equal(tsarc_lock_release(b), 0);
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), 0);
	assert_int_equal(tsarc_lock_acquire(&a, repo, 0), TSARC_ELOCKED);
	assert_int_equal(tsarc_lock_acquire(&b, repo, 1), TSARC_ELOCKED);
	assert_int_equal(tsarc_lock_release(x), 0);
	assert_int_equal(tsarc_lock_release(NULL), 0);
}

static void test_stale_locks(void **state)
{
	tsarc_lock *x = NULL;
	tsarc_lock_info *infos;
	size_t n, removed;
	char now[40];
	pid_t child;

	(void)state;
	now_text(now, sizeof(now));
	/* Another host's lock, not refreshed for years: stale. */
	forge("aaaa", "elsewhere", 4242, 1, "2020-01-01T00:00:00Z");
	/* A lock of this host whose process is gone: stale at once. */
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	{
		char host[256] = "";
		gethostname(host, sizeof(host) - 1);
		forge("bbbb", host, (long)child, 1, now);
	}
	/* Damaged lock objects are nobody's. */
	assert_int_equal(tsarc_store_put(repo->store, TSARC_OBJ_LOCK, "cccc", "garbage", 7, 0), 0);
	/* Stale locks hold nobody back, not even an exclusive lock... */
	assert_int_equal(tsarc_lock_acquire(&x, repo, 0), 0);
	assert_int_equal(tsarc_lock_list(repo, &infos, &n), 0);
	assert_int_equal(n, 4);
	free(infos);
	/* ...and unlock removes the stale ones, never the live one. */
	assert_int_equal(tsarc_lock_remove(repo, 0, &removed), 0);
	assert_int_equal(removed, 3);
	assert_int_equal(tsarc_lock_list(repo, &infos, &n), 0);
	assert_int_equal(n, 1);
	assert_false(infos[0].stale);
	free(infos);
	assert_int_equal(tsarc_lock_release(x), 0);
	/* Whoever takes the repository exclusively clears stale locks too. */
	forge("eeee", "elsewhere", 4242, 0, "2020-01-01T00:00:00Z");
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), 0);
	assert_int_equal(tsarc_lock_list(repo, &infos, &n), 0);
	assert_int_equal(n, 1);
	assert_false(infos[0].stale);
	free(infos);
	assert_int_equal(tsarc_lock_release(x), 0);
}

static void test_live_foreign_lock_blocks(void **state)
{
	tsarc_lock *x = NULL;
	size_t removed;
	char now[40];

	(void)state;
	now_text(now, sizeof(now));
	forge("dddd", "other-node", 1, 0, now);
	/* A fresh shared lock elsewhere: prune (exclusive) must wait... */
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), TSARC_ELOCKED);
	assert_non_null(strstr(tsarc_error_last()->message, "other-node"));
	/* ...while another backup (shared) goes ahead. */
	assert_int_equal(tsarc_lock_acquire(&x, repo, 0), 0);
	assert_int_equal(tsarc_lock_release(x), 0);
	/* unlock leaves live locks alone unless told to remove all. */
	assert_int_equal(tsarc_lock_remove(repo, 0, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(tsarc_lock_remove(repo, 1, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), 0);
	assert_int_equal(tsarc_lock_release(x), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_and_exclusive),
		cmocka_unit_test(test_stale_locks),
		cmocka_unit_test(test_live_foreign_lock_blocks),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
