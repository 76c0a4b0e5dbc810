#include "lock.h"
#include "interrupt.h"
#include "log.h"
#include "error_save.h"
#include "fileio.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char AAD_LOCK[] = "tsarc-lock-v1";

enum { LOST_NO = 0, LOST_REMOVED, LOST_NOT_REFRESHED };

struct tsarc_lock {
	tsarc_repo *repo;
	char name[65];
	int exclusive;
	int64_t since;      /* store clock: when this lock was first written */
	pthread_t refresher;
	int refresher_running;
	pthread_mutex_t mu; /* stop, and the refresher's sleep */
	pthread_cond_t cv;
	int stop;
	pthread_mutex_t io_mu; /* one refresh at a time; guards lost, last_ok */
	int lost;
	int64_t last_ok;    /* monotonic seconds: start of the last good write */
	tsarc_cleanup on_exit; /* removes it when a signal ends the process */
	int was_gone;       /* lock_drop found no lock object to remove */
	/* The exclusive locks acquire found stale, by name and last write
	 * (store clock): see tsarc_lock_check. */
	struct stale_seen {
		char name[65];
		int64_t mtime;
	} *stale_seen;
	size_t nstale_seen;
};

/* What makes a pid on this machine name the same process as in a lock. */
typedef struct identity {
	char host[256];
	char boot_id[64];
	char pidns[64];
} identity;

static int64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static void local_identity(identity *id)
{
	char *text = NULL;
	ssize_t n;

	memset(id, 0, sizeof(*id));
	gethostname(id->host, sizeof(id->host) - 1);
	/* Unknown stays empty, and empty never matches: without both, a pid
	 * proves nothing and the lock is judged by its age alone. */
	if (tsarc_read_file("/proc/sys/kernel/random/boot_id", 256, &text, NULL) == 0) {
		snprintf(id->boot_id, sizeof(id->boot_id), "%s", text);
		id->boot_id[strcspn(id->boot_id, "\r\n")] = '\0';
	} else {
		tsarc_error_clear();
	}
	free(text);
	n = readlink("/proc/self/ns/pid", id->pidns, sizeof(id->pidns) - 1);
	id->pidns[n > 0 ? n : 0] = '\0';
}

/* The lock object's content. `since` (0: not known yet) is the store time
 * of the first write, which prune compares chunk times with. */
static int write_record(tsarc_repo *repo, const char *name, int exclusive, int probe,
	int64_t since)
{
	char when[40];
	int64_t now;
	identity me;
	cJSON *doc = cJSON_CreateObject();
	tsarc_buf sealed = TSARC_BUF_INIT;
	char *text = NULL;
	int rc;

	local_identity(&me);
	tsarc_time_now(when, sizeof(when), &now);
	if (!doc || !cJSON_AddStringToObject(doc, "host", me.host) ||
		!cJSON_AddNumberToObject(doc, "pid", (double)getpid()) ||
		!cJSON_AddStringToObject(doc, "boot_id", me.boot_id) ||
		!cJSON_AddStringToObject(doc, "pidns", me.pidns) ||
		!cJSON_AddBoolToObject(doc, "exclusive", exclusive) ||
		(probe && !cJSON_AddBoolToObject(doc, "probe", 1)) ||
		!cJSON_AddStringToObject(doc, "time", when) ||
		(since && !cJSON_AddNumberToObject(doc, "since", (double)since)) ||
		!(text = cJSON_PrintUnformatted(doc))) {
		cJSON_Delete(doc);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	cJSON_Delete(doc);
	rc = tsarc_repo_seal_object(repo, AAD_LOCK, text, strlen(text), &sealed);
	free(text);
	if (!rc)
		rc = tsarc_store_put(repo->store, TSARC_OBJ_LOCK, name, sealed.ptr, sealed.size, 0);
	tsarc_buf_dispose(&sealed);
	return rc;
}

static void copy_string(char *dst, size_t dstsz, const cJSON *doc, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, key);

	if (cJSON_IsString(it))
		snprintf(dst, dstsz, "%s", it->valuestring);
}

/*
 * A lock is believed to say only what tsarc writes in one: a pid within
 * pid_t's range (the kernel's own bound is 2^22) and a first write (the
 * store's time) of the years 1970 to 9999. A number beyond an integer's
 * range (undefined behaviour to convert), infinite or with a fraction
 * counts as absent: without a pid the lock is judged by its age alone,
 * never by kill() of a pid that wrapped to -1 or to another process;
 * without a first write, the last one stands for it. Neither makes a
 * live lock stale.
 */
#define LOCK_PID_MAX INT32_MAX
#define LOCK_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
_Static_assert(sizeof(pid_t) >= sizeof(int32_t), "a lock's pid fits pid_t");

/* 1 and the number in *out when `it` is a whole number from lo to hi. */
static int whole_number(const cJSON *it, int64_t lo, int64_t hi, int64_t *out)
{
	if (!cJSON_IsNumber(it) || !(it->valuedouble >= (double)lo && it->valuedouble <= (double)hi) ||
		(double)(int64_t)it->valuedouble != it->valuedouble)
		return 0;
	*out = (int64_t)it->valuedouble;
	return 1;
}

int tsarc__lock_record_parse(tsarc_lock_info *info, const uint8_t *json, size_t len)
{
	int64_t v;
	cJSON *doc;
	const cJSON *it;
	int rc = 0;

	info->since = info->mtime;
	if (!(doc = cJSON_ParseWithLength((const char *)json, len))) {
		info->unreadable = 1;
		return tsarc_error_set(TSARC_ECORRUPT, "lock %.16s is not a lock record (not JSON)",
			info->name);
	}
	copy_string(info->host, sizeof(info->host), doc, "host");
	copy_string(info->boot_id, sizeof(info->boot_id), doc, "boot_id");
	copy_string(info->pidns, sizeof(info->pidns), doc, "pidns");
	if (whole_number(cJSON_GetObjectItemCaseSensitive(doc, "pid"), 1, LOCK_PID_MAX, &v))
		info->pid = (long)v;
	info->exclusive = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "exclusive"));
	info->probe = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "probe"));
	/* The first write's time can only be older than the last one's. */
	if (whole_number(cJSON_GetObjectItemCaseSensitive(doc, "since"), 0, LOCK_TIME_MAX, &v) &&
		v < info->mtime)
		info->since = v;
	if (!cJSON_IsString(it = cJSON_GetObjectItemCaseSensitive(doc, "time")) ||
		tsarc_time_parse(it->valuestring, &info->time_unix)) {
		info->unreadable = 1;
		rc = tsarc_error_set(TSARC_ECORRUPT,
			"lock %.16s is not a lock record (no time of writing)", info->name);
	}
	cJSON_Delete(doc);
	return rc;
}

/* Fills info from the object; keeps info->name and info->mtime. */
static int read_record(tsarc_repo *repo, tsarc_lock_info *info)
{
	tsarc_buf sealed = TSARC_BUF_INIT, plain = TSARC_BUF_INIT;
	int rc;

	tsarc_buf_init(&sealed, 64 * 1024);
	if ((rc = tsarc_store_get(repo->store, TSARC_OBJ_LOCK, info->name, 0, 0, &sealed)))
		goto done;
	info->since = info->mtime;
	/* Puts are atomic, so a lock that cannot be read was never a live
	 * process's lock: it is damage, and holds nobody back. */
	if (tsarc_repo_open_object(repo, AAD_LOCK, sealed.ptr, sealed.size, &plain)) {
		info->unreadable = 1;
		tsarc_error_clear();
	} else if (tsarc__lock_record_parse(info, plain.ptr, plain.size)) {
		tsarc_error_clear();
	}
done:
	tsarc_buf_dispose(&sealed);
	tsarc_buf_dispose(&plain);
	return rc;
}

/* The value of field `name` ("State:") of a /proc/PID/status text. */
static const char *status_field(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n))
			return p + n + strspn(p + n, " \t");
	return NULL;
}

/* /proc/PID/status of a pid of this namespace, or NULL. */
static char *proc_status(long pid)
{
	char path[64], *text = NULL;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if (tsarc_read_file(path, 64 * 1024, &text, NULL)) {
		tsarc_error_clear();
		return NULL;
	}
	return text;
}

/*
 * Whether process `pid` of this pid namespace is gone: no such process,
 * or one that has exited and waits for its parent to reap it. A zombie
 * still answers kill(pid, 0): a CronJob's wrapper that kills a stuck
 * backup (SIGKILL) and runs 'tsarc unlock' before it waits was told the
 * lock was live. The zombie is read from /proc, and believed only where
 * that /proc counts pids as this namespace does (its own NStgid, which
 * lists our pid in every namespace from /proc's down, is our pid alone)
 * and the whole process is dead (state Z or X with one thread: a main
 * thread that exited while others run is a Z too). Anything unsure is a
 * live process.
 */
static int process_gone(long pid)
{
	char *self, *st = NULL, own[32];
	const char *f;
	int gone = 0;

	if (kill((pid_t)pid, 0) != 0)
		return errno == ESRCH;
	snprintf(own, sizeof(own), "%ld\n", (long)getpid());
	if ((self = proc_status((long)getpid())) && (f = status_field(self, "NStgid:")) &&
		!strncmp(f, own, strlen(own)) && (st = proc_status(pid)) &&
		(f = status_field(st, "State:")) && (*f == 'Z' || *f == 'X') &&
		(f = status_field(st, "Threads:")) && !strncmp(f, "1\n", 2))
		gone = 1;
	free(self);
	free(st);
	return gone;
}

/* `now` is the store's clock: the mtime of a lock the judge just wrote. */
static void judge(tsarc_lock_info *l, int64_t now, const identity *me)
{
	l->stale = l->unreadable || now - l->mtime > TSARC_LOCK_STALE_SECONDS;
	if (!l->stale && l->pid > 0 && me->host[0] && !strcmp(me->host, l->host) &&
		me->boot_id[0] && !strcmp(me->boot_id, l->boot_id) && me->pidns[0] &&
		!strcmp(me->pidns, l->pidns) && process_gone(l->pid))
		l->stale = 1; /* the very process is gone */
}

/*
 * Reads every lock and judges it by the mtime of `self`, a lock object
 * this process has just written: the store's "now". Locks released since
 * the listing are left out.
 */
static int scan(tsarc_repo *repo, const char *self, tsarc_lock_info **out, size_t *count)
{
	tsarc_store_entry *e = NULL;
	tsarc_lock_info *infos = NULL;
	identity me;
	size_t ne = 0, i, n = 0;
	int64_t now = 0;
	int rc, found = 0;

	*out = NULL;
	*count = 0;
	if ((rc = tsarc_store_list_entries(repo->store, TSARC_OBJ_LOCK, &e, &ne)))
		goto fail;
	if (ne && !(infos = calloc(ne, sizeof(*infos)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < ne; i++) {
		tsarc_lock_info *l = &infos[n];
		if (strlen(e[i].name) >= sizeof(l->name))
			continue; /* not a lock of ours */
		memset(l, 0, sizeof(*l));
		snprintf(l->name, sizeof(l->name), "%s", e[i].name);
		l->mtime = e[i].mtime;
		rc = read_record(repo, l);
		if (rc == TSARC_ENOTFOUND) {
			tsarc_error_clear();
			continue;
		}
		if (rc)
			goto fail;
		if (!strcmp(l->name, self)) {
			now = l->mtime;
			found = 1;
		}
		n++;
	}
	if (!found) {
		rc = tsarc_error_set(TSARC_EIO,
			"lock %s, just written, is missing from the listing of %s: the store's "
			"listing cannot be trusted to show locks", self,
			tsarc_store_describe(repo->store));
		goto fail;
	}
	tsarc_store_entries_free(e, ne);
	local_identity(&me);
	for (i = 0; i < n; i++)
		judge(&infos[i], now, &me);
	*out = infos;
	*count = n;
	return 0;
fail:
	tsarc_store_entries_free(e, ne);
	free(infos);
	return rc;
}

static int random_name(char out[65])
{
	uint8_t rnd[32];
	int rc;

	if ((rc = tsarc_random_bytes(rnd, sizeof(rnd))))
		return rc;
	tsarc_hex_encode(out, rnd, sizeof(rnd));
	return 0;
}

/* Removes a lock object on a failure path, keeping the failure's message. */
static void remove_keeping_error(tsarc_repo *repo, const char *name)
{
	tsarc_saved_error e;

	tsarc_error_save(&e);
	tsarc_store_remove(repo->store, TSARC_OBJ_LOCK, name);
	tsarc_error_restore(&e);
}

static int locked_error(const tsarc_lock_info *c, const char *what)
{
	char since[40], last[40];

	tsarc_time_format(c->since, 0, since, sizeof(since));
	tsarc_time_format(c->mtime, 0, last, sizeof(last));
	return tsarc_error_set(TSARC_ELOCKED,
		"repository %s %s by %s (pid %ld) since %s, last refreshed %s (store clock): "
		"wait for it, or if that process is gone, run 'tsarc unlock'",
		what, c->exclusive ? "exclusively" : "(shared)", c->host, c->pid, since, last);
}

static int lost_error(const tsarc_lock *lock)
{
	if (lock->lost == LOST_REMOVED)
		return tsarc_error_set(TSARC_ELOCKED,
			"the repository lock of this process was removed (by 'tsarc unlock "
			"--remove-all', or by a prune or unlock that judged it stale): stopping "
			"before anything is committed");
	return tsarc_error_set(TSARC_ELOCKED,
		"the repository lock of this process could not be refreshed for %d minutes, so "
		"others may judge it stale: stopping before anything is committed",
		TSARC_LOCK_GIVE_UP_SECONDS / 60);
}

/* Caller holds io_mu. Never writes a lock that is gone: a lock removed
 * because it was judged stale must stay removed. */
static int refresh_locked(tsarc_lock *lock)
{
	int64_t t;
	int rc;

	if (lock->lost)
		return lost_error(lock);
	if (mono_now() - lock->last_ok > TSARC_LOCK_GIVE_UP_SECONDS) {
		lock->lost = LOST_NOT_REFRESHED;
		return lost_error(lock);
	}
	rc = tsarc_store_stat(lock->repo->store, TSARC_OBJ_LOCK, lock->name, NULL);
	if (rc == TSARC_ENOTFOUND) {
		lock->lost = LOST_REMOVED;
		return lost_error(lock);
	}
	if (rc)
		return rc;
	/* Taken before the write: the store's time of it can only be later. */
	t = mono_now();
	if ((rc = write_record(lock->repo, lock->name, lock->exclusive, 0, lock->since)))
		return rc;
	lock->last_ok = t;
	return 0;
}

int tsarc_lock_refresh(tsarc_lock *lock)
{
	int rc;

	pthread_mutex_lock(&lock->io_mu);
	rc = refresh_locked(lock);
	pthread_mutex_unlock(&lock->io_mu);
	return rc;
}

static void *refresh_main(void *arg)
{
	tsarc_lock *lock = arg;
	struct timespec until;
	int lost;

	pthread_mutex_lock(&lock->mu);
	while (!lock->stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += TSARC_LOCK_REFRESH_SECONDS;
		while (!lock->stop &&
			pthread_cond_timedwait(&lock->cv, &lock->mu, &until) != ETIMEDOUT)
			;
		if (lock->stop)
			break;
		pthread_mutex_unlock(&lock->mu);
		/* A failed refresh is retried next round, until giving up well
		 * before others may judge the lock stale. */
		if (tsarc_lock_refresh(lock)) {
			pthread_mutex_lock(&lock->io_mu);
			lost = lock->lost;
			pthread_mutex_unlock(&lock->io_mu);
			tsarc__log(TSARC_LOG_WARN, "lock", lost ? "lock_lost" : "lock_not_refreshed",
				"%s%s", lost ? "" : "could not refresh the repository lock: ",
				tsarc_error_last()->message);
			pthread_mutex_lock(&lock->mu);
			if (lost)
				break;
			continue;
		}
		pthread_mutex_lock(&lock->mu);
	}
	pthread_mutex_unlock(&lock->mu);
	return NULL;
}

static int lock_drop(void *arg);

int tsarc_lock_acquire(tsarc_lock **out, tsarc_repo *repo, int exclusive)
{
	tsarc_lock_info *infos = NULL;
	pthread_condattr_t cattr;
	tsarc_lock *lock;
	size_t n = 0, i;
	int rc;

	*out = NULL;
	if (!(lock = calloc(1, sizeof(*lock))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	lock->repo = repo;
	lock->exclusive = exclusive;
	pthread_mutex_init(&lock->mu, NULL);
	/* The refresher sleeps by the monotonic clock: a wall clock set back
	 * an hour must not hold up the next refresh for an hour. */
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&lock->cv, &cattr);
	pthread_condattr_destroy(&cattr);
	pthread_mutex_init(&lock->io_mu, NULL);
	if ((rc = random_name(lock->name)))
		goto fail;
	lock->last_ok = mono_now();
	if ((rc = write_record(repo, lock->name, exclusive, 0, 0)))
		goto fail;
	tsarc_cleanup_add(&lock->on_exit, lock_drop, lock, "repository lock released");
	/* Ours is written first, then the others are read: of two processes
	 * doing this at once, at least one sees the other and backs off. */
	if ((rc = scan(repo, lock->name, &infos, &n)))
		goto fail_remove;
	for (i = 0; i < n; i++) {
		if (!strcmp(infos[i].name, lock->name)) {
			lock->since = infos[i].mtime;
			continue;
		}
		if (infos[i].stale || infos[i].probe)
			continue;
		if (exclusive || infos[i].exclusive) {
			rc = locked_error(&infos[i], "is locked");
			goto fail_remove;
		}
	}
	/* Remembered for tsarc_lock_check: their holders were gone (or had
	 * given up) before this lock set was read. */
	for (i = 0; i < n; i++)
		if (infos[i].stale && infos[i].exclusive && !infos[i].probe) {
			struct stale_seen *g = realloc(lock->stale_seen,
				(lock->nstale_seen + 1) * sizeof(*g));
			if (!g) {
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
				goto fail_remove;
			}
			lock->stale_seen = g;
			g += lock->nstale_seen++;
			snprintf(g->name, sizeof(g->name), "%s", infos[i].name);
			g->mtime = infos[i].mtime;
		}
	if (pthread_create(&lock->refresher, NULL, refresh_main, lock) == 0)
		lock->refresher_running = 1;
	/* Holding the repository alone, clear what killed processes left:
	 * those locks are ignored anyway, but each one costs every later
	 * command a read. */
	if (exclusive)
		for (i = 0; i < n; i++)
			if (infos[i].stale)
				tsarc_store_remove(repo->store, TSARC_OBJ_LOCK, infos[i].name);
	tsarc_error_clear();
	free(infos);
	*out = lock;
	return 0;
fail_remove:
	tsarc_cleanup_remove(&lock->on_exit);
	remove_keeping_error(repo, lock->name);
fail:
	free(infos);
	free(lock->stale_seen);
	pthread_mutex_destroy(&lock->io_mu);
	pthread_cond_destroy(&lock->cv);
	pthread_mutex_destroy(&lock->mu);
	free(lock);
	return rc;
}

int64_t tsarc_lock_since(const tsarc_lock *lock)
{
	return lock->since;
}

/* Whether `l` is an exclusive lock acquire found stale and that nobody
 * has written since (the same last write). */
static int seen_stale(const tsarc_lock *lock, const tsarc_lock_info *l)
{
	size_t i;

	for (i = 0; i < lock->nstale_seen; i++)
		if (!strcmp(lock->stale_seen[i].name, l->name))
			return lock->stale_seen[i].mtime == l->mtime;
	return 0;
}

/*
 * A shared holder stops at an exclusive lock that is live, or that was
 * written while its own lock was held (last written, store clock, at or
 * after its first write: `since`), even if stale by now: that process may
 * have pruned under it. "At or after" because the store's clock counts
 * whole seconds and S3 front ends' clocks differ: a lock written just
 * after ours may carry our second, or an earlier one from another front
 * end, which no comparison of times can tell from one written just
 * before. So times alone would also stop a backup at the lock of a prune
 * killed in the second the backup began, and that backup never commits.
 *
 * What tells them apart is acquire's own reading of the lock set: an
 * exclusive lock listed there as stale (its process gone, judged only
 * where the pid means that process; or not written for 30 minutes, when
 * its holder has given up for 10) and not written since (the same name
 * and last write) belonged to a process that could change nothing after
 * this lock was written and the others read, and a backup reads the index
 * only after that. It is passed over. Everything else stays as strict as
 * before: a live exclusive lock always stops the holder; one acquire did
 * not list (written after its reading, or missed by it) stops it when
 * written at or after `since`, stale or not; one acquire saw stale that
 * was written again since (another last write) stops it too.
 */
int tsarc_lock_check(tsarc_lock *lock, int64_t *oldest_shared)
{
	tsarc_lock_info *infos = NULL;
	size_t n = 0, i;
	int rc;

	if (oldest_shared)
		*oldest_shared = INT64_MAX;
	if ((rc = tsarc_lock_refresh(lock)) || (rc = scan(lock->repo, lock->name, &infos, &n)))
		return rc;
	for (i = 0; i < n && !rc; i++) {
		const tsarc_lock_info *l = &infos[i];
		if (!strcmp(l->name, lock->name) || l->probe)
			continue;
		/* An exclusive lock written while ours was held belongs to a
		 * process that may have changed the repository under us, even
		 * if it is stale by now (above). */
		if (!lock->exclusive && l->exclusive &&
			(!l->stale || (l->mtime >= lock->since && !seen_stale(lock, l))))
			rc = locked_error(l, "was locked meanwhile");
		else if (oldest_shared && !l->exclusive && !l->stale && l->since < *oldest_shared)
			*oldest_shared = l->since;
	}
	free(infos);
	return rc;
}

/* Stops the refresher and removes the lock object: run once, by release
 * or by the signal thread before the process exits (interrupt.h). */
static int lock_drop(void *arg)
{
	tsarc_lock *lock = arg;
	int rc;

	if (lock->refresher_running) {
		pthread_mutex_lock(&lock->mu);
		lock->stop = 1;
		pthread_cond_signal(&lock->cv);
		pthread_mutex_unlock(&lock->mu);
		pthread_join(lock->refresher, NULL);
		lock->refresher_running = 0;
	}
	rc = tsarc_store_remove(lock->repo->store, TSARC_OBJ_LOCK, lock->name);
	lock->was_gone = rc == TSARC_ENOTFOUND;
	return lock->was_gone ? 0 : rc;
}

int tsarc_lock_release(tsarc_lock *lock)
{
	tsarc_saved_error saved;
	int rc;

	if (!lock)
		return 0;
	tsarc_error_save(&saved);
	rc = tsarc_cleanup_run(&lock->on_exit);
	/* Release runs on failure paths too: a lock already gone (it was lost)
	 * must not replace the failure's message with its own. */
	if (lock->was_gone)
		tsarc_error_restore(&saved);
	tsarc_error_forget(&saved);
	free(lock->stale_seen);
	pthread_mutex_destroy(&lock->io_mu);
	pthread_cond_destroy(&lock->cv);
	pthread_mutex_destroy(&lock->mu);
	free(lock);
	return rc;
}

int tsarc_lock_release_after(tsarc_lock *lock, int rc)
{
	tsarc_saved_error failure;

	if (!rc)
		return tsarc_lock_release(lock);
	tsarc_error_save(&failure);
	if (tsarc_lock_release(lock))
		tsarc__log(TSARC_LOG_WARN, "lock", "lock_not_removed", "could not remove the "
			"repository lock: %s", tsarc_error_last()->message);
	tsarc_error_restore(&failure);
	return rc;
}

int tsarc_lock_list(tsarc_repo *repo, tsarc_lock_info **out, size_t *count)
{
	tsarc_lock_info *infos = NULL;
	char probe[65];
	size_t n = 0, i, k = 0;
	int rc;

	*out = NULL;
	*count = 0;
	/* The store's "now" is the time of a write: a probe, which nobody
	 * takes for a lock that holds them back. */
	if ((rc = random_name(probe)) || (rc = write_record(repo, probe, 0, 1, 0)))
		return rc;
	if ((rc = scan(repo, probe, &infos, &n))) {
		remove_keeping_error(repo, probe);
		return rc;
	}
	/* A probe left behind is stale, and removed, in 30 minutes. */
	if (tsarc_store_remove(repo->store, TSARC_OBJ_LOCK, probe))
		tsarc_error_clear();
	for (i = 0; i < n; i++)
		if (strcmp(infos[i].name, probe))
			infos[k++] = infos[i];
	*out = infos;
	*count = k;
	return 0;
}

int tsarc_lock_remove(tsarc_repo *repo, int all, size_t *removed)
{
	tsarc_lock_info *infos;
	size_t n, i;
	int rc;

	*removed = 0;
	if ((rc = tsarc_lock_list(repo, &infos, &n)))
		return rc;
	for (i = 0; i < n; i++) {
		if (!all && !infos[i].stale)
			continue;
		rc = tsarc_store_remove(repo->store, TSARC_OBJ_LOCK, infos[i].name);
		if (rc && rc != TSARC_ENOTFOUND)
			break;
		rc = 0;
		(*removed)++;
	}
	free(infos);
	return rc;
}
