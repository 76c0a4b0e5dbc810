#ifndef TSARC_TAR_STDERR_H
#define TSARC_TAR_STDERR_H

/*
 * What GNU tar says on stderr while it archives a live tree in a pod
 * (the files kind over the kube transport), read line by line: a file
 * that shrank ("File shrank by N bytes; padding with zeros": tar wrote N
 * zeros after the bytes it read, to fill the size its header states),
 * changed or grew ("file changed as we read it": tar stored the size its
 * header states), was removed before tar read it, or a socket tar left
 * out. Each is a warning naming the file; together they explain tar's
 * exit status 1 ("some files differ"), which is then a success. Anything
 * else tar says keeps a non-zero status an error.
 *
 * The zeros tar padded a shrunk file with are kept, by the entry's name
 * as tar stores it, for the intake (tar_intake.h), which stores only the
 * bytes the file had: tar wrote the entry's header, with the old size,
 * before it could know, and its stderr is not in step with its output,
 * so the intake asks only once stderr has ended.
 */
#include <stdatomic.h>
#include <stddef.h>

typedef struct tsarc_tar_stderr tsarc_tar_stderr;

/* `tool`: how tar was started (argv[0]: its messages start "TOOL: ");
 * `root`: the folder it archived, for messages. NULL without memory. */
tsarc_tar_stderr *tsarc_tar_stderr_new(const char *tool, const char *root);
void tsarc_tar_stderr_free(void *t);
/* One line of stderr (proc.h, err_line). */
void tsarc_tar_stderr_line(void *t, const char *line, size_t len, int cut);
/* Whether exit status `status` means only what the lines said: 1 (some
 * files differ) after at least one such warning and nothing else. */
int tsarc_tar_stderr_exit_ok(void *t, int status);
/* Stderr has ended (proc.h, err_end): every line has been seen. */
void tsarc_tar_stderr_end(void *t);
/* Waits until stderr has ended: 0, or -1 once *stop is set. */
int tsarc_tar_stderr_wait(tsarc_tar_stderr *t, const atomic_int *stop);
/* After the end: the zeros tar said it padded entry `name` with (0:
 * none), each report given once. */
unsigned long long tsarc_tar_stderr_padding(tsarc_tar_stderr *t, const char *name);
/* After the end: a padded entry nobody asked for (its zeros in *zeros),
 * or NULL. */
const char *tsarc_tar_stderr_unclaimed(const tsarc_tar_stderr *t, unsigned long long *zeros);
/* "ROOT/x" for entry "./x", for messages. */
void tsarc_tar_stderr_where(const tsarc_tar_stderr *t, const char *name, char *out,
	size_t outsz);

/* Undoes GNU tar's "escape" quoting of a name in a message (\\, \:, \n,
 * \t, ..., \OOO): `len` bytes of `in` into `out` (NUL-terminated). -1
 * when it is not such a quoting or does not fit. */
int tsarc_tar_unquote(const char *in, size_t len, char *out, size_t outsz);

#endif
