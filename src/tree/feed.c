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

/* A thread that writes a pipe: if its reader gives up, its write fails
 * with EPIPE instead of a signal killing the process. */
static void pipe_writer_thread(void)
{
	sigset_t pipe_only;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, NULL);
}

/* A thread's failure `rc` (0: none) kept for the caller's thread. */
static void keep_failure(tsarc_saved_error *err, int rc)
{
	if (rc) {
		tsarc_error_save(err);
		err->code = rc;
	}
}

static void *feed_main(void *arg)
{
	feeder *f = arg;

	pipe_writer_thread();
	keep_failure(&f->err, tsarc_stream_extract(f->repo, f->st, tsarc_sink_fd, &f->fd,
		f->inflight));
	close(f->fd);
	return NULL;
}

/* A stream's conversion (snapshot.h) between the feeder and the reader:
 * it reads the feeder's pipe and writes the reader's. */
typedef struct converter {
	const tsarc_stream *st;
	int in, out;
	tsarc_saved_error err;
} converter;

static void *convert_main(void *arg)
{
	converter *c = arg;

	pipe_writer_thread();
	keep_failure(&c->err, c->st->convert->run(c->st, c->in, c->out));
	/* Our giving up stops the feeder; our end of output ends the reader's. */
	close(c->in);
	close(c->out);
	return NULL;
}

/*
 * Runs `read_tar` on a repository stream through a pipe, a feeder thread
 * verifying it chunk by chunk (and, for a stream a restore converts, a
 * converter thread between them). It returns 0 only when the reader took
 * the whole stream and the feeder verified all of it (every chunk and the
 * whole-stream SHA-256). Damage the feeder finds explains whatever the
 * converter and the reader made of the truncated tar, so its error wins;
 * then the converter's (what it could not convert: the reader saw its
 * output end early), then the reader's. A conversion's run returns
 * TSARC_ECANCELED when its output breaks (the reader gave up).
 */
int tsarc__tree_read_stream(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	tsarc_tree_reader read_tar, void *ctx)
{
	feeder f;
	converter c;
	pthread_t th, cth;
	int fds[2], cfds[2] = {-1, -1}, rc, converting = st->convert != NULL;

	memset(&f, 0, sizeof(f));
	memset(&c, 0, sizeof(c));
	if (pipe(fds) != 0)
		return tsarc_error_set(TSARC_EIO, "pipe: %s", strerror(errno));
	if (converting && pipe(cfds) != 0) {
		rc = tsarc_error_set(TSARC_EIO, "pipe: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	f.repo = repo;
	f.st = st;
	f.inflight = inflight;
	f.fd = fds[1];
	if (pthread_create(&th, NULL, feed_main, &f) != 0) {
		close(fds[0]);
		close(fds[1]);
		if (converting) {
			close(cfds[0]);
			close(cfds[1]);
		}
		return tsarc_error_set(TSARC_EGENERIC, "cannot start a thread");
	}
	if (converting) {
		c.st = st;
		c.in = fds[0];
		c.out = cfds[1];
		if (pthread_create(&cth, NULL, convert_main, &c) != 0) {
			close(fds[0]);
			close(cfds[0]);
			close(cfds[1]);
			pthread_join(th, NULL);
			return tsarc_error_set(TSARC_EGENERIC, "cannot start a thread");
		}
		rc = read_tar(cfds[0], ctx);
		/* Closing our end stops the converter, and it the feeder. */
		close(cfds[0]);
		pthread_join(cth, NULL);
	} else {
		rc = read_tar(fds[0], ctx);
		/* Closing our end stops the feeder if we gave up early. */
		close(fds[0]);
	}
	pthread_join(th, NULL);
	if (f.err.code && f.err.code != TSARC_ECANCELED)
		rc = tsarc_error_restore(&f.err);
	/* TSARC_ECANCELED: the reader gave up first, and says why. */
	else if (c.err.code && c.err.code != TSARC_ECANCELED)
		rc = tsarc_error_restore(&c.err);
	else if (!rc && (f.err.code || c.err.code))
		rc = tsarc_error_set(TSARC_EIO, "the stream ended before it was verified");
	tsarc_error_forget(&f.err);
	tsarc_error_forget(&c.err);
	return rc;
}

int tsarc_stream_read_to_end(int fd)
{
	return tsarc__tree_read_to_end(fd);
}

int tsarc_stream_read_verified(tsarc_repo *repo, const tsarc_stream *st, unsigned inflight,
	tsarc_stream_fd_reader reader, void *ctx)
{
	return tsarc__tree_read_stream(repo, st, inflight, reader, ctx);
}
