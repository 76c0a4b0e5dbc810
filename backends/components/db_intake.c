/*
 * A SQL dump on its way into the stream (a production's filter, proc.h),
 * fed through the same guard its restore will feed the client through
 * (the client's `guard`, db.h; the dumped database as the target): a dump
 * the restore would refuse fails its backup now, instead of the restore
 * that needs it.
 */
#include "db.h"
#include "fileio.h"
#include "filter.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the intake reads at a time. */
#define INTAKE_BUF (256u * 1024)

typedef struct guard_intake {
	tsarc_filter guard;
	const char *hint;
	cJSON *(*meta)(const tsarc_filter *guard);
} guard_intake;

static int intake_refused(const guard_intake *in, char *err, size_t errsz)
{
	snprintf(err, errsz, "%s; tsarc's restore would refuse this dump, so it is not backed "
		"up (%s)", tsarc_error_last()->message, in->hint);
	return TSARC_EUNSAFE;
}

static int guard_intake_run(int in_fd, int out_fd, void *ctx, const atomic_int *stop, char *err,
	size_t errsz)
{
	guard_intake *in = ctx;
	const tsarc_filter_ops *ops = in->guard.ops;
	char *buf = malloc(INTAKE_BUF);
	tsarc_buf sink = TSARC_BUF_INIT;
	ssize_t n;
	int rc = 0;

	if (!buf) {
		snprintf(err, errsz, "out of memory");
		return TSARC_ENOMEM;
	}
	for (;;) {
		if (atomic_load(stop)) {
			snprintf(err, errsz, "stopped");
			rc = TSARC_ECANCELED;
			break;
		}
		n = read(in_fd, buf, INTAKE_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errsz, "reading the dump: %s", strerror(errno));
			rc = TSARC_EIO;
			break;
		}
		/* The guard's verdict only: the stream gets the dump as written.
		 * A refused piece goes no further. */
		tsarc_buf_clear(&sink);
		if (n == 0) {
			if (ops->finish(in->guard.self, &sink))
				rc = intake_refused(in, err, errsz);
			break;
		}
		if (ops->feed(in->guard.self, buf, (size_t)n, &sink)) {
			rc = intake_refused(in, err, errsz);
			break;
		}
		if (tsarc_write_all(out_fd, buf, (size_t)n)) {
			snprintf(err, errsz, "writing the dump into the stream: %s", strerror(errno));
			rc = TSARC_EIO;
			break;
		}
	}
	tsarc_buf_dispose(&sink);
	free(buf);
	return rc;
}

static void guard_intake_free(void *ctx)
{
	guard_intake *in = ctx;

	if (!in)
		return;
	in->guard.ops->free(in->guard.self);
	free(in);
}

/* What the guard learned of the whole dump (writer_meta, after it ended). */
static cJSON *guard_intake_meta(void *ctx)
{
	guard_intake *in = ctx;

	return in->meta ? in->meta(&in->guard) : NULL;
}

int tsarc_db_guard_intake(tsarc_production *out, tsarc_filter guard, const char *hint,
	cJSON *(*meta)(const tsarc_filter *guard))
{
	guard_intake *in = calloc(1, sizeof(*in));

	if (!in) {
		guard.ops->free(guard.self);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	in->guard = guard;
	in->hint = hint;
	in->meta = meta;
	out->writer_ctx = in;
	out->writer_meta = guard_intake_meta;
	out->writer_ctx_free = guard_intake_free;
	out->filter = guard_intake_run;
	return 0;
}
