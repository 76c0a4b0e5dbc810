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
 * The zeros tar padded a shrunk file with are recorded for the stream's
 * metadata ("padded": the entry's name as tar stores it and the number
 * of zeros at its end), so that every restore gives the file the bytes
 * it really had (src/tree/padding.c): tar wrote the entry's header, with
 * the old size, before it could know.
 */
#include <cjson/cJSON.h>
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
/* {"padded": [{"path": NAME, "zeros": N}, ...]} when a file shrank, else
 * NULL (production.writer_meta). */
cJSON *tsarc_tar_stderr_meta(void *t);

/* Undoes GNU tar's "escape" quoting of a name in a message (\\, \:, \n,
 * \t, ..., \OOO): `len` bytes of `in` into `out` (NUL-terminated). -1
 * when it is not such a quoting or does not fit. */
int tsarc_tar_unquote(const char *in, size_t len, char *out, size_t outsz);

#endif
