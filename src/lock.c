#include "lock.h"
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

struct tsarc_lock {
	tsarc_repo *repo;
	char name[65];
	int exclusive;
	pthread_t refresher;
	int refresher_running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
};

static void local_host(char *out, size_t outsz)
{
	out[0] = '\0';
	gethostname(out, outsz - 1);
	out[outsz - 1] = '\0';
}

static int write_lock(tsarc_repo *repo, const char *name, int exclusive)
{
	char host[256], when[40];
	int64_t now;
	cJSON *doc = cJSON_CreateObject();
	tsarc_buf sealed = TSARC_BUF_INIT;
	char *text = NULL;
	int rc;

	local_host(host, sizeof(host));
	tsarc_time_now(when, sizeof(when), &now);
	if (!doc || !cJSON_AddStringToObject(doc, "host", host) ||
		!cJSON_AddNumberToObject(doc, "pid", (double)getpid()) ||
		!cJSON_AddBoolToObject(doc, "exclusive", exclusive) ||
		!cJSON_AddStringToObject(doc, "time", when) ||
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

static int read_lock(tsarc_repo *repo, const char *name, tsarc_lock_info *info)
{
	tsarc_buf sealed = TSARC_BUF_INIT, plain = TSARC_BUF_INIT;
	cJSON *doc = NULL;
	const cJSON *it;
	char host[256];
	int rc;

	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", name);
	tsarc_buf_init(&sealed, 64 * 1024);
	if ((rc = tsarc_store_get(repo->store, TSARC_OBJ_LOCK, name, 0, 0, &sealed)))
		goto done;
	if (tsarc_repo_open_object(repo, AAD_LOCK, sealed.ptr, sealed.size, &plain) ||
		!(doc = cJSON_ParseWithLength((const char *)plain.ptr, plain.size))) {
		/* Puts are atomic, so a lock that cannot be read was never a
		 * live process's lock: it is damage, and holds nobody back. */
		info->unreadable = 1;
		tsarc_error_clear();
		goto done;
	}
	if (cJSON_IsString(it = cJSON_GetObjectItemCaseSensitive(doc, "host")))
		snprintf(info->host, sizeof(info->host), "%s", it->valuestring);
	if (cJSON_IsNumber(it = cJSON_GetObjectItemCaseSensitive(doc, "pid")))
		info->pid = (long)it->valuedouble;
	info->exclusive = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "exclusive"));
	if (!cJSON_IsString(it = cJSON_GetObjectItemCaseSensitive(doc, "time")) ||
		tsarc_time_parse(it->valuestring, &info->time_unix)) {
		info->unreadable = 1;
		tsarc_error_clear();
	}
done:
	if (rc == 0) {
		int64_t now = (int64_t)time(NULL);
		info->stale = info->unreadable ||
			now - info->time_unix > TSARC_LOCK_STALE_SECONDS;
		local_host(host, sizeof(host));
		if (!info->stale && !info->unreadable && info->pid > 0 &&
			!strcmp(host, info->host) && kill((pid_t)info->pid, 0) != 0 &&
			errno == ESRCH)
			info->stale = 1; /* its process on this host is gone */
	}
	cJSON_Delete(doc);
	tsarc_buf_dispose(&sealed);
	tsarc_buf_dispose(&plain);
	return rc;
}

int tsarc_lock_list(tsarc_repo *repo, tsarc_lock_info **out, size_t *count)
{
	tsarc_lock_info *infos;
	char **names = NULL;
	size_t i, nnames = 0, n = 0;
	int rc;

	*out = NULL;
	*count = 0;
	if ((rc = tsarc_store_list_names(repo->store, TSARC_OBJ_LOCK, &names, &nnames)))
		return rc;
	if (!(infos = calloc(nnames ? nnames : 1, sizeof(*infos)))) {
		tsarc_store_names_free(names, nnames);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	for (i = 0; i < nnames; i++) {
		if (strlen(names[i]) >= sizeof(infos[n].name))
			continue; /* not a lock of ours */
		rc = read_lock(repo, names[i], &infos[n]);
		if (rc == TSARC_ENOTFOUND) {
			/* released between the listing and the read */
			tsarc_error_clear();
			continue;
		}
		if (rc) {
			free(infos);
			tsarc_store_names_free(names, nnames);
			return rc;
		}
		n++;
	}
	tsarc_store_names_free(names, nnames);
	*out = infos;
	*count = n;
	return 0;
}

/* The first lock (other than `mine`) that conflicts with the wanted kind. */
static int find_conflict(tsarc_repo *repo, const char *mine, int exclusive,
	tsarc_lock_info *conflict)
{
	tsarc_lock_info *infos;
	size_t n, i;
	int rc, found = 0;

	if ((rc = tsarc_lock_list(repo, &infos, &n)))
		return rc;
	for (i = 0; i < n && !found; i++) {
		if ((mine && !strcmp(infos[i].name, mine)) || infos[i].stale)
			continue;
		if (exclusive || infos[i].exclusive) {
			*conflict = infos[i];
			found = 1;
		}
	}
	free(infos);
	return found;
}

static int locked_error(const tsarc_lock_info *c)
{
	char when[40];

	tsarc_time_format(c->time_unix, 0, when, sizeof(when));
	return tsarc_error_set(TSARC_ELOCKED,
		"repository is locked %s by %s (pid %ld) since %s: wait for it, or if that "
		"process is gone, run 'tsarc unlock'",
		c->exclusive ? "exclusively" : "(shared)", c->host, c->pid, when);
}

static void *refresh_main(void *arg)
{
	tsarc_lock *lock = arg;
	struct timespec until;

	pthread_mutex_lock(&lock->mu);
	while (!lock->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += TSARC_LOCK_REFRESH_SECONDS;
		pthread_cond_timedwait(&lock->cv, &lock->mu, &until);
		if (lock->stop)
			break;
		pthread_mutex_unlock(&lock->mu);
		/* A failed refresh is retried next round; the lock only goes
		 * stale after several missed refreshes. */
		if (write_lock(lock->repo, lock->name, lock->exclusive))
			fprintf(stderr, "tsarc: warning: could not refresh the repository lock: %s\n",
				tsarc_error_last()->message);
		pthread_mutex_lock(&lock->mu);
	}
	pthread_mutex_unlock(&lock->mu);
	return NULL;
}

int tsarc_lock_acquire(tsarc_lock **out, tsarc_repo *repo, int exclusive)
{
	tsarc_lock_info conflict;
	tsarc_lock *lock;
	uint8_t rnd[32];
	int rc;

	*out = NULL;
	if ((rc = find_conflict(repo, NULL, exclusive, &conflict)) < 0)
		return rc;
	if (rc > 0)
		return locked_error(&conflict);
	if (!(lock = calloc(1, sizeof(*lock))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	lock->repo = repo;
	lock->exclusive = exclusive;
	pthread_mutex_init(&lock->mu, NULL);
	pthread_cond_init(&lock->cv, NULL);
	if ((rc = tsarc_random_bytes(rnd, sizeof(rnd))))
		goto fail;
	tsarc_hex_encode(lock->name, rnd, sizeof(rnd));
	if ((rc = write_lock(repo, lock->name, exclusive)))
		goto fail;
	/* Two processes may have checked at the same moment: look again now
	 * that ours is visible, and back off if someone else got in. */
	if ((rc = find_conflict(repo, lock->name, exclusive, &conflict)) != 0) {
		tsarc_store_remove(repo->store, TSARC_OBJ_LOCK, lock->name);
		if (rc > 0)
			rc = locked_error(&conflict);
		goto fail;
	}
	if (pthread_create(&lock->refresher, NULL, refresh_main, lock) == 0)
		lock->refresher_running = 1;
	/* Holding the repository alone, clear what killed processes left:
	 * those locks are ignored anyway, but each one costs every later
	 * command a read. */
	if (exclusive) {
		size_t removed;
		if (tsarc_lock_remove(repo, 0, &removed))
			tsarc_error_clear();
	}
	*out = lock;
	return 0;
fail:
	pthread_cond_destroy(&lock->cv);
	pthread_mutex_destroy(&lock->mu);
	free(lock);
	return rc;
}

int tsarc_lock_release(tsarc_lock *lock)
{
	int rc;

	if (!lock)
		return 0;
	if (lock->refresher_running) {
		pthread_mutex_lock(&lock->mu);
		lock->stop = 1;
		pthread_cond_signal(&lock->cv);
		pthread_mutex_unlock(&lock->mu);
		pthread_join(lock->refresher, NULL);
	}
	rc = tsarc_store_remove(lock->repo->store, TSARC_OBJ_LOCK, lock->name);
	if (rc == TSARC_ENOTFOUND)
		rc = 0;
	pthread_cond_destroy(&lock->cv);
	pthread_mutex_destroy(&lock->mu);
	free(lock);
	return rc;
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
