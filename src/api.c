/*
 * The public library API (include/tsarc/) over the engine: opening a
 * repository by URL, one-stream backups, snapshot lists and accessors, and
 * dumps. Each call is what the matching CLI command does, minus the
 * printing, so that a program and `tsarc` behave the same.
 */
#include "backup.h"
#include "extract.h"
#include "fileio.h"
#include "lock.h"
#include "names.h"
#include "repo.h"
#include "snapshot.h"
#include "tsarc/backup.h"
#include "tsarc/errors.h"
#include "tsarc/repository.h"
#include "tsarc/snapshot.h"

#include <stdlib.h>

_Static_assert(TSARC_SNAPSHOT_ID_LEN == TSARC_ID_HEX_LEN, "snapshot ids are ids");

static int open_url(tsarc_repo **out, const char *url, const char *password,
	const tsarc_store_options *opts, int create)
{
	tsarc_store *st = NULL;
	int rc;

	if (!out || !url || !*url || !password)
		return tsarc_error_set(TSARC_EINVAL, "a repository URL and a password are needed");
	if ((rc = tsarc_store_open(&st, url, opts)))
		return rc;
	rc = create ? tsarc_repo_init(out, st, password, NULL) : tsarc_repo_open(out, st, password);
	if (rc) {
		tsarc_store_free(st);
		/* A missing bucket or folder means there is no repository there. */
		if (rc == TSARC_ENOTFOUND && !create)
			rc = tsarc_error_set(TSARC_ENOTREPO, "no repository at %s", url);
	}
	return rc;
}

int tsarc_repo_open_url(tsarc_repo **out, const char *url, const char *password,
	const tsarc_store_options *opts)
{
	return open_url(out, url, password, opts, 0);
}

int tsarc_repo_init_url(tsarc_repo **out, const char *url, const char *password,
	const tsarc_store_options *opts)
{
	return open_url(out, url, password, opts, 1);
}

const char *tsarc_repo_id(const tsarc_repo *repo)
{
	return repo->id;
}

int tsarc_backup_fd(tsarc_snapshot **out, tsarc_repo *repo, const char *name, int fd,
	const tsarc_backup_options *opts)
{
	tsarc_backup *b = NULL;
	char id[TSARC_ID_HEX_LEN + 1];
	int rc;

	if (!out || !repo || !name)
		return tsarc_error_set(TSARC_EINVAL, "a repository and a stream name are needed");
	/* Before the session takes its lock: a refused name writes nothing. */
	if ((rc = tsarc_text_check(TSARC_EINVAL, "stream name", name)))
		return rc;
	if ((rc = tsarc_backup_new(&b, repo, opts)))
		return rc;
	if (!(rc = tsarc_backup_stream_fd(b, name, "stdin", fd, NULL)))
		rc = tsarc_backup_commit(b, id);
	/* Without a commit this abandons the snapshot. */
	tsarc_backup_free(b);
	return rc ? rc : tsarc_snapshot_load_headers(repo, id, out);
}

typedef struct damaged_count {
	size_t n;
} damaged_count;

static void count_damaged(const char *id, int code, const char *msg, void *payload)
{
	(void)id;
	(void)code;
	(void)msg;
	((damaged_count *)payload)->n++;
}

int tsarc_snapshot_list(tsarc_snapshot ***out, size_t *count_out, tsarc_repo *repo,
	size_t *damaged_out)
{
	damaged_count d = {0};
	int rc;

	if (!out || !count_out || !repo)
		return tsarc_error_set(TSARC_EINVAL, "tsarc_snapshot_list: missing argument");
	rc = tsarc_snapshot_load_all_headers(repo, out, count_out,
		damaged_out ? count_damaged : NULL,
		&d);
	if (!rc && damaged_out)
		*damaged_out = d.n;
	return rc;
}

int tsarc_snapshot_open(tsarc_snapshot **out, tsarc_repo *repo, const char *spec)
{
	char id[TSARC_ID_HEX_LEN + 1];
	int rc;

	if (!out || !repo || !spec)
		return tsarc_error_set(TSARC_EINVAL, "tsarc_snapshot_open: missing argument");
	if ((rc = tsarc_snapshot_resolve(repo, spec, id)))
		return rc;
	/* The handle shows no chunks: they are not kept. */
	return tsarc_snapshot_load_headers(repo, id, out);
}

int tsarc_snapshot_open_backup(tsarc_snapshot **out, tsarc_repo *repo, const char *spec,
	const char *host)
{
	const tsarc_snapshot_pick pick = {host, 1, NULL};
	char id[TSARC_ID_HEX_LEN + 1];
	int rc;

	if (!out || !repo || !spec)
		return tsarc_error_set(TSARC_EINVAL, "tsarc_snapshot_open_backup: missing argument");
	if ((rc = tsarc_snapshot_resolve_pick(repo, spec, &pick, id)))
		return rc;
	return tsarc_snapshot_load_headers(repo, id, out);
}

const char *tsarc_snapshot_id(const tsarc_snapshot *snap)
{
	return snap->id;
}

const char *tsarc_snapshot_time(const tsarc_snapshot *snap)
{
	return snap->time;
}

const char *tsarc_snapshot_host(const tsarc_snapshot *snap)
{
	return snap->host;
}

size_t tsarc_snapshot_tag_count(const tsarc_snapshot *snap)
{
	return snap->ntags;
}

const char *tsarc_snapshot_tag(const tsarc_snapshot *snap, size_t i)
{
	return i < snap->ntags ? snap->tags[i] : NULL;
}

size_t tsarc_snapshot_stream_count(const tsarc_snapshot *snap)
{
	return snap->nstreams;
}

const char *tsarc_snapshot_stream_name(const tsarc_snapshot *snap, size_t i)
{
	return i < snap->nstreams ? snap->streams[i].name : NULL;
}

const char *tsarc_snapshot_stream_kind(const tsarc_snapshot *snap, size_t i)
{
	return i < snap->nstreams ? snap->streams[i].kind : NULL;
}

uint64_t tsarc_snapshot_stream_size(const tsarc_snapshot *snap, size_t i)
{
	return i < snap->nstreams ? snap->streams[i].size : 0;
}

int tsarc_dump(tsarc_repo *repo, const char *snapshot, const char *stream,
	tsarc_sink_fn sink, void *payload, unsigned inflight)
{
	char id[TSARC_ID_HEX_LEN + 1];
	tsarc_snapshot *snap = NULL;
	const tsarc_stream *st;
	tsarc_lock *lock = NULL;
	int rc;

	if (!repo || !snapshot || !stream || !sink)
		return tsarc_error_set(TSARC_EINVAL, "tsarc_dump: missing argument");
	/* Shared: a prune must not delete the chunks being read. */
	if ((rc = tsarc_lock_acquire(&lock, repo, 0)))
		return rc;
	if ((rc = tsarc_snapshot_resolve(repo, snapshot, id)) ||
		(rc = tsarc_snapshot_load(repo, id, &snap)))
		goto done;
	if (!(st = tsarc_snapshot_find_stream(snap, stream))) {
		rc = tsarc_error_set(TSARC_ENOTFOUND, "snapshot %.10s has no stream '%s'", id,
			stream);
		goto done;
	}
	rc = tsarc_stream_extract(repo, st, sink, payload, inflight);
	if (rc)
		tsarc_error_prefix("dump of '%s' from snapshot %.10s stopped", st->name, id);
done:
	tsarc_snapshot_free(snap);
	return tsarc_lock_release_after(lock, rc);
}

int tsarc_dump_fd(tsarc_repo *repo, const char *snapshot, const char *stream, int fd,
	unsigned inflight)
{
	tsarc_pipe_grow(fd);
	return tsarc_dump(repo, snapshot, stream, tsarc_sink_fd, &fd, inflight);
}
