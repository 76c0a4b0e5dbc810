/*
 * How a repository stream reaches a tar reader: through a pipe, written by
 * a feeder thread that verifies every chunk and the whole stream as it
 * goes, so that a reader can stream a tree of any size, and is told of
 * damage even when the tar it read looked whole. The restore, the check
 * and the rewrite all read this way.
 */
#include "internal.h"
#include "error_save.h"
#include "extract.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Past the archive's end: the writer (a feeder thread, a pipe) finishes
 * and reports any damage it found there. */
int tsarc__tree_read_to_end(int fd)
{
	char drain[65536];

	for (;;) {
		ssize_t n = read(fd, drain, sizeof(drain));
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return tsarc_error_set(TSARC_EIO, "reading the tar stream: %s", strerror(errno));
	}
}

typedef struct feeder {
	tsarc_repo *repo;
	const tsarc_stream *st;
	unsigned inflight;
	int fd;
	tsarc_saved_error err; /* the feeder thread's failure */
} feeder;

static void *feed_main(void *arg)
{
	feeder *f = arg;
	sigset_t pipe_only;
	int rc;

	/* If the reader gives up, our write fails with EPIPE instead of a
	 * signal killing the process. */
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
	rc = tsarc_stream_extract(f->repo, f->st, tsarc_sink_fd, &f->fd, f->inflight);
	if (rc) {
		tsarc_error_save(&f->err);
		f->err.code = rc;
	}
	close(f->fd);
	return NULL;
}

/*
 * Runs `read_tar` on a repository stream through a pipe, a feeder thread
 * verifying it chunk by chunk. It returns 0 only when the reader took
 * the whole stream and the feeder verified all of it (every chunk and the
 * whole-stream SHA-256). Damage the feeder finds explains whatever the
 * reader made of the truncated tar, so its error wins.
 */
int tsarc__tree_read_stream(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	tsarc_tree_reader read_tar, void *ctx)
{
	feeder f;
	pthread_t th;
	int fds[2], rc;

	memset(&f, 0, sizeof(f));
	if (pipe(fds) != 0)
		return tsarc_error_set(TSARC_EIO, "pipe: %s", strerror(errno));
	f.repo = repo;
	f.st = st;
	f.inflight = inflight;
	f.fd = fds[1];
	if (pthread_create(&th, NULL, feed_main, &f) != 0) {
		close(fds[0]);
		close(fds[1]);
		return tsarc_error_set(TSARC_EGENERIC, "cannot start a thread");
	}
	rc = read_tar(fds[0], ctx);
	/* Closing our end stops the feeder if we gave up early. */
	close(fds[0]);
	pthread_join(th, NULL);
	if (f.err.code && f.err.code != TSARC_ECANCELED)
		return tsarc_error_restore(&f.err);
	if (!rc && f.err.code)
		return tsarc_error_set(TSARC_EIO, "the stream ended before it was verified");
	return rc;
}

int tsarc_stream_read_verified(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	tsarc_stream_fd_reader reader, void *ctx)
{
	return tsarc__tree_read_stream(repo, st, inflight, reader, ctx);
}
