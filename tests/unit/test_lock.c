#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "lock.h"
#include "packer.h"
#include "prune.h"
#include "repo.h"
#include "snapshot.h"
#include "tsarc/errors.h"
#include "scratch.h"
#include "repo_fixture.h"

static char dir[256];
static tsarc_repo *repo;

static int setup(void **state)
{
	tsarc_repo_init_options o;
	tsarc_store *st;

	(void)state;
	repo_fixture_options(&o);
	if (!scratch_make(dir, sizeof(dir), "lock") || tsarc_store_fs_open(&st, dir, NULL) ||
		tsarc_repo_init(&repo, st, "pw", &o))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tsarc_repo_free(repo);
	return scratch_remove(dir);
}

/* This process's boot id and pid namespace, as a lock records them. */
static char my_host[256], my_boot[64], my_pidns[64];

static void read_identity(void)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	ssize_t n;

	gethostname(my_host, sizeof(my_host) - 1);
	assert_non_null(f);
	assert_non_null(fgets(my_boot, sizeof(my_boot), f));
	fclose(f);
	my_boot[strcspn(my_boot, "\n")] = '\0';
	n = readlink("/proc/self/ns/pid", my_pidns, sizeof(my_pidns) - 1);
	assert_true(n > 0);
	my_pidns[n] = '\0';
}

/* Writes a lock object as another process would, with chosen fields
 * (boot id and pid namespace: NULL leaves them out, as older locks do). */
static void forge_full(const char *name, const char *host, long pid, int exclusive,
	const char *time, const char *boot, const char *pidns)
{
	char json[768];
	tsarc_buf sealed = TSARC_BUF_INIT;
	int n;

	n = snprintf(json, sizeof(json), "{\"host\":\"%s\",\"pid\":%ld,\"exclusive\":%s,\"time\":\"%s\"",
		host, pid, exclusive ? "true" : "false", time);
	if (boot)
		n += snprintf(json + n, sizeof(json) - (size_t)n, ",\"boot_id\":\"%s\"", boot);
	if (pidns)
		n += snprintf(json + n, sizeof(json) - (size_t)n, ",\"pidns\":\"%s\"", pidns);
	snprintf(json + n, sizeof(json) - (size_t)n, "}");
	assert_int_equal(tsarc_repo_seal_object(repo, "tsarc-lock-v1", json, strlen(json), &sealed), 0);
	assert_int_equal(tsarc_store_put(repo->store, TSARC_OBJ_LOCK, name, sealed.ptr, sealed.size, 0), 0);
	tsarc_buf_dispose(&sealed);
}

static void forge(const char *name, const char *host, long pid, int exclusive,
	const char *time)
{
	forge_full(name, host, pid, exclusive, time, NULL, NULL);
}

/* Sets an object's file time: what the store's clock says of it. */
static void set_mtime(const char *rel, int64_t ago)
{
	char path[512];
	struct timeval tv[2];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	tv[0].tv_sec = tv[1].tv_sec = (time_t)(time(NULL) - ago);
	tv[0].tv_usec = tv[1].tv_usec = 0;
	assert_int_equal(utimes(path, tv), 0);
}

static void age_lock(const char *name, int64_t ago)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "locks/%s", name);
	set_mtime(rel, ago);
}

static int lock_exists(const char *name)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/locks/%s", dir, name);
	return stat(path, &sb) == 0;
}

static size_t count_locks(void)
{
	char **names;
	size_t n;

	assert_int_equal(tsarc_store_list_names(repo->store, TSARC_OBJ_LOCK, &names, &n), 0);
	tsarc_store_names_free(names, n);
	return n;
}

/* A dead pid: a child that has been reaped. */
static long dead_pid(void)
{
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	return (long)child;
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
	read_identity();
	/* Another host's lock, not refreshed for an hour by the store's clock
	 * (whatever its writer's clock said): stale. */
	forge("aaaa", "elsewhere", 4242, 1, now);
	age_lock("aaaa", 3600);
	/* A lock of this very pid space whose process is gone: stale at once. */
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	forge_full("bbbb", my_host, (long)child, 1, now, my_boot, my_pidns);
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
	forge("eeee", "elsewhere", 4242, 0, now);
	age_lock("eeee", 2 * TSARC_LOCK_STALE_SECONDS);
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

/* The writer's clock never decides: a lock written just now by a host
 * whose clock is years behind is live; one written with a correct time
 * that the store says is an hour old is stale. */
static void test_store_clock_judges(void **state)
{
	tsarc_lock *x = NULL;
	char now[40];

	(void)state;
	now_text(now, sizeof(now));
	forge("f1f1", "slow-clock", 7, 0, "2000-01-01T00:00:00Z");
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), TSARC_ELOCKED);
	assert_non_null(strstr(tsarc_error_last()->message, "slow-clock"));
	/* Nothing of ours is left behind by the refused attempt. */
	assert_int_equal(count_locks(), 1);
	/* A clock far ahead does not make a lock live forever either. */
	forge("f1f1", "fast-clock", 7, 0, "2099-01-01T00:00:00Z");
	age_lock("f1f1", TSARC_LOCK_STALE_SECONDS + 60);
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), 0);
	assert_false(lock_exists("f1f1"));
	assert_int_equal(tsarc_lock_release(x), 0);
}

/* "Its process is gone" only where the pid names the same process. */
static void test_pid_test_needs_same_pid_space(void **state)
{
	tsarc_lock *x = NULL;
	long gone = dead_pid();
	char now[40];

	(void)state;
	read_identity();
	now_text(now, sizeof(now));
	/* Same host name and boot, another pid namespace (a container with
	 * host networking, unshare --pid): the pid says nothing here. */
	forge_full("a1a1", my_host, gone, 0, now, my_boot, "pid:[1]");
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), TSARC_ELOCKED);
	/* Another boot of the same host: nor here. */
	forge_full("a1a1", my_host, gone, 0, now, "00000000-0000-0000-0000-000000000000", my_pidns);
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), TSARC_ELOCKED);
	/* A lock that does not say (an older tsarc): judged by its age alone. */
	forge_full("a1a1", my_host, gone, 0, now, NULL, NULL);
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), TSARC_ELOCKED);
	/* All three the same, and the process is gone: stale. */
	forge_full("a1a1", my_host, gone, 0, now, my_boot, my_pidns);
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), 0);
	assert_false(lock_exists("a1a1"));
	assert_int_equal(tsarc_lock_release(x), 0);
}

/* A process killed and not yet reaped by its parent (a zombie) is gone,
 * though kill(pid, 0) still finds it: a CronJob's wrapper that kills a
 * stuck backup with SIGKILL and runs 'tsarc unlock' before it waits was
 * told the lock was live. */
static void test_zombie_is_gone(void **state)
{
	tsarc_lock *x = NULL;
	siginfo_t si;
	pid_t child;
	char now[40];

	(void)state;
	read_identity();
	now_text(now, sizeof(now));
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	assert_true(child > 0);
	assert_int_equal(kill(child, SIGKILL), 0);
	/* Dead, and left unreaped (WNOWAIT): a zombie. */
	memset(&si, 0, sizeof(si));
	assert_int_equal(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(kill(child, 0), 0);
	forge_full("z1z1", my_host, (long)child, 0, now, my_boot, my_pidns);
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), 0);
	assert_false(lock_exists("z1z1"));
	assert_int_equal(tsarc_lock_release(x), 0);
	waitpid(child, NULL, 0);
	/* This very process lives: its lock holds. */
	forge_full("z1z1", my_host, (long)getpid(), 0, now, my_boot, my_pidns);
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), TSARC_ELOCKED);
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_LOCK, "z1z1"), 0);
}

/* Writes a lock object with this JSON as its content. */
static void forge_json(const char *name, const char *json)
{
	tsarc_buf sealed = TSARC_BUF_INIT;

	assert_int_equal(tsarc_repo_seal_object(repo, "tsarc-lock-v1", json, strlen(json), &sealed), 0);
	assert_int_equal(tsarc_store_put(repo->store, TSARC_OBJ_LOCK, name, sealed.ptr, sealed.size, 0), 0);
	tsarc_buf_dispose(&sealed);
}

/*
 * A pid or a first-write time that no tsarc writes (out of the range of
 * its type, infinite, a fraction, before 1970) counts as absent: a pid
 * of 0 (the lock is judged by its age alone, never by kill() of a pid
 * that wrapped to -1 or to another process) and a first write at the
 * last one. Such a lock, fresh, stays live and readable; so does every
 * lock here but the one whose pid, possible, names no process.
 */
static void test_impossible_numbers(void **state)
{
	static const struct {
		const char *pid, *since; /* "self": this process's */
		long want_pid;           /* -1: this process's */
		int64_t want_since;      /* -1: the lock's last write (mtime) */
		int want_stale;
	} cases[] = {
		{"4294967295", NULL, 0, -1, 0},
		{"4294967296", NULL, 0, -1, 0},
		{"2147483648", NULL, 0, -1, 0},
		{"1e300", NULL, 0, -1, 0},
		{"-1e300", NULL, 0, -1, 0},
		{"1e400", NULL, 0, -1, 0},  /* cJSON: infinity */
		{"-1e400", NULL, 0, -1, 0},
		{"-1", NULL, 0, -1, 0},
		{"0", NULL, 0, -1, 0},
		{"12.5", NULL, 0, -1, 0},
		/* Possible, and no process has it (pid_max is at most 2^22). */
		{"2147483647", NULL, 2147483647, -1, 1},
		{"self", "1e300", -1, -1, 0},
		{"self", "-1e30", -1, -1, 0},
		{"self", "1e400", -1, -1, 0},
		{"self", "-1e400", -1, -1, 0},
		{"self", "-9223372036854775808", -1, -1, 0},
		{"self", "9223372036854775807", -1, -1, 0},
		{"self", "-5", -1, -1, 0},
		{"self", "1000000000.5", -1, -1, 0},
		{"self", "1000000000", -1, 1000000000, 0},
		{"self", "0", -1, 0, 0},
	};
	tsarc_lock_info *infos;
	char json[512], name[8], now[40], self[24];
	size_t i, j, n, removed, wrong = 0;

	(void)state;
	read_identity();
	now_text(now, sizeof(now));
	snprintf(self, sizeof(self), "%ld", (long)getpid());
	/* This very host, boot and pid space: a pid is believed here. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "n%02zu", i);
		snprintf(json, sizeof(json), "{\"host\":\"%s\",\"pid\":%s,\"boot_id\":\"%s\","
			"\"pidns\":\"%s\",\"exclusive\":false,\"time\":\"%s\"%s%s}", my_host,
			strcmp(cases[i].pid, "self") ? cases[i].pid : self, my_boot, my_pidns, now, cases[i].since ? ",\"since\":" : "",
			cases[i].since ? cases[i].since : "");
		forge_json(name, json);
	}
	assert_int_equal(tsarc_lock_list(repo, &infos, &n), 0);
	assert_int_equal(n, sizeof(cases) / sizeof(cases[0]));
	for (j = 0; j < n; j++) {
		i = (size_t)atoi(infos[j].name + 1);
		assert_true(i < n);
		if (infos[j].pid != (cases[i].want_pid < 0 ? (long)getpid() : cases[i].want_pid) ||
			infos[j].unreadable || infos[j].stale != cases[i].want_stale ||
			infos[j].since != (cases[i].want_since < 0 ? infos[j].mtime
							: cases[i].want_since)) {
			print_error("pid %s, since %s: read as pid %ld, since %lld (last written "
				"%lld)%s%s\n", cases[i].pid, cases[i].since ? cases[i].since : "absent",
				infos[j].pid, (long long)infos[j].since, (long long)infos[j].mtime,
				infos[j].unreadable ? ", unreadable" : "",
				infos[j].stale ? ", stale" : "");
			wrong++;
		}
	}
	free(infos);
	/* The next test starts without them. */
	assert_int_equal(tsarc_lock_remove(repo, 1, &removed), 0);
	assert_int_equal(removed, n);
	assert_int_equal(wrong, 0);
}

/* The holder refreshes its lock in the store, keeps its first time, and
 * never brings back a lock that someone removed. */
static void test_refresh_and_lost_lock(void **state)
{
	tsarc_lock *b = NULL, *x = NULL;
	tsarc_lock_info *infos;
	size_t n, removed;
	int64_t since;

	(void)state;
	assert_int_equal(tsarc_lock_acquire(&b, repo, 0), 0);
	assert_int_equal(tsarc_lock_list(repo, &infos, &n), 0);
	assert_int_equal(n, 1);
	since = infos[0].since;
	free(infos);
	/* Its last write an hour ago by the store's clock: stale to others... */
	{
		char **names;
		size_t k;
		assert_int_equal(tsarc_store_list_names(repo->store, TSARC_OBJ_LOCK, &names, &k), 0);
		assert_int_equal(k, 1);
		age_lock(names[0], 3600);
		tsarc_store_names_free(names, k);
	}
	assert_int_equal(tsarc_lock_list(repo, &infos, &n), 0);
	assert_true(infos[0].stale);
	free(infos);
	/* ...until its holder refreshes it: live again, same first time. */
	assert_int_equal(tsarc_lock_refresh(b), 0);
	assert_int_equal(tsarc_lock_list(repo, &infos, &n), 0);
	assert_false(infos[0].stale);
	assert_true(infos[0].mtime >= since);
	assert_int_equal(infos[0].since, since);
	free(infos);
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), TSARC_ELOCKED);
	assert_int_equal(tsarc_lock_check(b, NULL), 0);
	/* Removed by force: the check fails and the lock stays removed. */
	assert_int_equal(tsarc_lock_remove(repo, 1, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(tsarc_lock_check(b, NULL), TSARC_ELOCKED);
	assert_non_null(strstr(tsarc_error_last()->message, "removed"));
	assert_int_equal(tsarc_lock_refresh(b), TSARC_ELOCKED);
	assert_int_equal(count_locks(), 0);
	assert_int_equal(tsarc_lock_release(b), 0);
}

/* A shared holder's check fails once an exclusive lock is live, or was
 * written while it held its lock; an old stale one does not matter. */
static void test_check_sees_exclusive(void **state)
{
	tsarc_lock *b = NULL;
	char now[40];

	(void)state;
	now_text(now, sizeof(now));
	forge("0e0e", "old-prune", 9, 1, now);
	age_lock("0e0e", 2 * TSARC_LOCK_STALE_SECONDS);
	assert_int_equal(tsarc_lock_acquire(&b, repo, 0), 0);
	assert_int_equal(tsarc_lock_check(b, NULL), 0);
	forge("0e0f", "new-prune", 9, 1, now);
	assert_int_equal(tsarc_lock_check(b, NULL), TSARC_ELOCKED);
	assert_non_null(strstr(tsarc_error_last()->message, "new-prune"));
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_LOCK, "0e0f"), 0);
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_LOCK, "0e0e"), 0);
	assert_int_equal(tsarc_lock_release(b), 0);
}

/*
 * An exclusive lock that a shared holder's acquire already found stale
 * (its process gone: a prune killed just before the backup began) never
 * stops that holder's commit, though the store's clock dates its last
 * write no earlier than the holder's first: the same second, as one
 * second is the resolution of file times and S3's LastModified (here 10
 * minutes ahead, as S3 front ends whose clocks differ give it, so that
 * no timing decides). Before, the check took it for an exclusive lock
 * written while the backup held its lock: exit 11, no snapshot. What
 * must still stop the commit does: an exclusive lock written since,
 * stale or not, and the one seen stale written again.
 */
static void test_stale_exclusive_seen_at_acquire(void **state)
{
	tsarc_lock *b = NULL;
	long gone = dead_pid();
	char now[40];

	(void)state;
	read_identity();
	now_text(now, sizeof(now));
	forge_full("0d0d", my_host, gone, 1, now, my_boot, my_pidns);
	age_lock("0d0d", -600);
	assert_int_equal(tsarc_lock_acquire(&b, repo, 0), 0);
	assert_int_equal(tsarc_lock_check(b, NULL), 0);
	assert_int_equal(tsarc_lock_check(b, NULL), 0);
	/* Written since, its process gone by now: it may have pruned. */
	forge_full("0d0e", my_host, gone, 1, now, my_boot, my_pidns);
	assert_int_equal(tsarc_lock_check(b, NULL), TSARC_ELOCKED);
	assert_non_null(strstr(tsarc_error_last()->message, "meanwhile"));
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_LOCK, "0d0e"), 0);
	assert_int_equal(tsarc_lock_check(b, NULL), 0);
	/* The stale one written again: by a live process... */
	forge_full("0d0d", my_host, (long)getpid(), 1, now, my_boot, my_pidns);
	assert_int_equal(tsarc_lock_check(b, NULL), TSARC_ELOCKED);
	/* ...or by one gone again since: a write after the acquire. */
	forge_full("0d0d", my_host, gone, 1, now, my_boot, my_pidns);
	age_lock("0d0d", -1200);
	assert_int_equal(tsarc_lock_check(b, NULL), TSARC_ELOCKED);
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_LOCK, "0d0d"), 0);
	assert_int_equal(tsarc_lock_release(b), 0);
}

static void put_chunk(char name[65], unsigned n, int64_t ago)
{
	char rel[128];

	snprintf(name, 65, "%08x%056x", n * 2654435761u, n);
	assert_int_equal(tsarc_store_put(repo->store, TSARC_OBJ_DATA, name, "chunk", 5, 0), 0);
	snprintf(rel, sizeof(rel), "data/%.2s/%s", name, name);
	set_mtime(rel, ago);
}

static int chunk_exists(const char *name)
{
	uint64_t size;
	int rc = tsarc_store_stat(repo->store, TSARC_OBJ_DATA, name, &size);

	tsarc_error_clear();
	return rc == 0;
}

/* A backup that got in beside a prune, started 10 minutes ago (store
 * clock) and refreshed since: its lock says so with "since". */
static void plant_racing_lock(tsarc_repo *r)
{
	char json[512], now[40];
	tsarc_buf sealed = TSARC_BUF_INIT;

	now_text(now, sizeof(now));
	snprintf(json, sizeof(json),
		"{\"host\":\"racing-backup\",\"pid\":5,\"exclusive\":false,\"time\":\"%s\","
		"\"since\":%lld}", now, (long long)(time(NULL) - 600));
	assert_int_equal(tsarc_repo_seal_object(r, "tsarc-lock-v1", json, strlen(json), &sealed), 0);
	assert_int_equal(tsarc_store_put(r->store, TSARC_OBJ_LOCK, "b0b0", sealed.ptr, sealed.size, 0), 0);
	tsarc_buf_dispose(&sealed);
}

/* Prune never deletes a chunk younger than the oldest live shared lock:
 * with one live beside its exclusive lock, only older garbage goes. */
static void test_prune_spares_chunks_of_live_backup(void **state)
{
	char old_chunk[65], young_chunk[65];
	tsarc_prune_result res;
	tsarc_lock *x = NULL;

	(void)state;
	put_chunk(old_chunk, 1, 3 * 3600);
	put_chunk(young_chunk, 2, 0);
	assert_int_equal(tsarc_lock_acquire(&x, repo, 1), 0);
	plant_racing_lock(repo);
	assert_int_equal(tsarc_prune(repo, x, 1, TSARC_PRUNE_MAX_UNUSED_DEFAULT, &res), 0);
	assert_int_equal(res.chunks_removed, 1);
	assert_int_equal(res.chunks_young, 1);
	assert_int_equal(tsarc_prune(repo, x, 0, TSARC_PRUNE_MAX_UNUSED_DEFAULT, &res), 0);
	assert_false(chunk_exists(old_chunk));
	assert_true(chunk_exists(young_chunk));
	/* Once that lock is gone, the young garbage goes too. */
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_LOCK, "b0b0"), 0);
	assert_int_equal(tsarc_prune(repo, x, 0, TSARC_PRUNE_MAX_UNUSED_DEFAULT, &res), 0);
	assert_int_equal(res.chunks_young, 0);
	assert_false(chunk_exists(young_chunk));
	/* A prune whose own lock was removed deletes nothing. */
	put_chunk(old_chunk, 3, 3 * 3600);
	{
		size_t removed;
		assert_int_equal(tsarc_lock_remove(repo, 1, &removed), 0);
	}
	assert_int_equal(tsarc_prune(repo, x, 0, TSARC_PRUNE_MAX_UNUSED_DEFAULT, &res), TSARC_ELOCKED);
	assert_true(chunk_exists(old_chunk));
	assert_int_equal(tsarc_store_remove(repo->store, TSARC_OBJ_DATA, old_chunk), 0);
	assert_int_equal(tsarc_lock_release(x), 0);
}

/* A format-2 pack of one chunk no snapshot needs (its bytes are never
 * read: a pack of nothing live is deleted unread), written `ago` seconds
 * ago; through the index when `indexed`, else as a killed run leaves it. */
static void put_pack(tsarc_repo *r, const char *root, char name[65], unsigned n, int indexed,
	int64_t ago)
{
	uint8_t id[TSARC_ID_LEN], blob[200];
	uint64_t lo, hi;
	char path[600];
	struct timeval tv[2];

	memset(blob, (int)n, sizeof(blob));
	memset(id, (int)n, sizeof(id));
	tsarc_repo_chunk_size_bounds(100, &lo, &hi);
	if (indexed) {
		tsarc_packer *p;
		char **before = NULL, **after = NULL;
		size_t nbefore = 0, nafter = 0, i, k;
		assert_int_equal(tsarc_store_list_names(r->store, TSARC_OBJ_DATA, &before, &nbefore), 0);
		assert_int_equal(tsarc_packer_new(&p, r, 1), 0);
		assert_int_equal(tsarc_packer_add(p, id, blob, (size_t)hi, 100), 0);
		assert_int_equal(tsarc_packer_finish(p, NULL, NULL), 0);
		tsarc_packer_free(p);
		/* The packer keeps no name: the pack listed now and not before. */
		assert_int_equal(tsarc_store_list_names(r->store, TSARC_OBJ_DATA, &after, &nafter), 0);
		assert_int_equal(nafter, nbefore + 1);
		for (i = 0; i < nafter; i++) {
			int seen = 0;
			for (k = 0; k < nbefore; k++)
				seen |= !strcmp(after[i], before[k]);
			if (!seen)
				snprintf(name, 65, "%s", after[i]);
		}
		tsarc_store_names_free(before, nbefore);
		tsarc_store_names_free(after, nafter);
	} else {
		tsarc_pack_builder b;
		assert_int_equal(tsarc_pack_builder_start(&b), 0);
		assert_int_equal(tsarc_pack_builder_add(&b, id, blob, (size_t)hi, 100), 0);
		assert_int_equal(tsarc_pack_builder_finish(r, &b), 0);
		tsarc_hex_encode(name, b.name, TSARC_ID_LEN);
		assert_int_equal(tsarc_pack_builder_store(r, &b), 0);
		tsarc_pack_builder_dispose(&b);
	}
	snprintf(path, sizeof(path), "%s/data/%.2s/%s", root, name, name);
	tv[0].tv_sec = tv[1].tv_sec = (time_t)(time(NULL) - ago);
	tv[0].tv_usec = tv[1].tv_usec = 0;
	assert_int_equal(utimes(path, tv), 0);
}

static int pack_exists(tsarc_repo *r, const char *name)
{
	uint64_t size;
	int rc = tsarc_store_stat(r->store, TSARC_OBJ_DATA, name, &size);

	tsarc_error_clear();
	return rc == 0;
}

/* The same on format 2: a pack younger than the oldest live shared lock,
 * indexed or not, is neither deleted nor repacked while that lock lives. */
static void test_prune_spares_packs_of_live_backup(void **state)
{
	char root[300], old_idx[65], old_raw[65], young_idx[65], young_raw[65];
	tsarc_repo_init_options o;
	tsarc_prune_result res;
	tsarc_store *st;
	tsarc_repo *r;
	tsarc_lock *x = NULL;

	(void)state;
	repo_fixture_options(&o);
	o.format = 2;
	o.pack_size = 65536;
	snprintf(root, sizeof(root), "%s/v2", dir);
	assert_int_equal(tsarc_store_fs_open(&st, root, NULL), 0);
	assert_int_equal(tsarc_repo_init(&r, st, "pw", &o), 0);
	put_pack(r, root, old_idx, 1, 1, 3 * 3600);
	put_pack(r, root, old_raw, 2, 0, 3 * 3600);
	put_pack(r, root, young_idx, 3, 1, 0);
	put_pack(r, root, young_raw, 4, 0, 0);
	assert_int_equal(tsarc_lock_acquire(&x, r, 1), 0);
	plant_racing_lock(r);
	assert_int_equal(tsarc_prune(r, x, 0, 0, &res), 0);
	assert_int_equal(res.packs_deleted, 1);
	assert_int_equal(res.packs_unindexed, 1);
	assert_int_equal(res.packs_young, 2);
	assert_int_equal(res.chunks_young, 1);
	assert_false(pack_exists(r, old_idx));
	assert_false(pack_exists(r, old_raw));
	assert_true(pack_exists(r, young_idx));
	assert_true(pack_exists(r, young_raw));
	/* Once that lock is gone, they go too. */
	assert_int_equal(tsarc_store_remove(r->store, TSARC_OBJ_LOCK, "b0b0"), 0);
	assert_int_equal(tsarc_prune(r, x, 0, 0, &res), 0);
	assert_int_equal(res.packs_young, 0);
	assert_false(pack_exists(r, young_idx));
	assert_false(pack_exists(r, young_raw));
	assert_int_equal(tsarc_lock_release(x), 0);
	tsarc_repo_free(r);
}

TSARC_TESTS_MAIN(setup, teardown,
	cmocka_unit_test(test_shared_and_exclusive),
	cmocka_unit_test(test_stale_locks),
	cmocka_unit_test(test_live_foreign_lock_blocks),
	cmocka_unit_test(test_store_clock_judges),
	cmocka_unit_test(test_pid_test_needs_same_pid_space),
	cmocka_unit_test(test_zombie_is_gone),
	cmocka_unit_test(test_impossible_numbers),
	cmocka_unit_test(test_refresh_and_lost_lock),
	cmocka_unit_test(test_check_sees_exclusive),
	cmocka_unit_test(test_stale_exclusive_seen_at_acquire),
	cmocka_unit_test(test_prune_spares_chunks_of_live_backup),
	cmocka_unit_test(test_prune_spares_packs_of_live_backup))
