#ifndef TSARC_DEPLOY_PROC_H
#define TSARC_DEPLOY_PROC_H

#include "error_save.h"
#include "interrupt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>

/* How much of a producer's stderr is kept for the error message. */
#define TSARC_PROC_TAIL 4096

/*
 * A producer: a child process whose stdout is a pipe (out_fd), or an
 * in-process writer thread feeding the same kind of pipe. The child runs in
 * its own process group, so that cancelling kills what it started too
 * (kubectl, sh -c pipelines). Its stderr is drained by a thread into a
 * ring of the last TSARC_PROC_TAIL bytes: memory stays bounded whatever
 * the tool prints, and the child never blocks on a full stderr pipe.
 */
/* An in-process producer: writes the stream to `fd`; stops early with
 * TSARC_ECANCELED once *stop is set (it cannot be killed like a process). */
typedef int (*tsarc_writer_fn)(int fd, void *ctx, const atomic_int *stop, char *err,
	size_t errsz);
/* An in-process filter: reads another producer's output from `in_fd` to its
 * end and writes what the stream is to be to `out_fd`; otherwise as a
 * writer. */
typedef int (*tsarc_filter_fn)(int in_fd, int out_fd, void *ctx, const atomic_int *stop,
	char *err, size_t errsz);

typedef struct tsarc_proc {
	pid_t pid;          /* 0: no child (writer thread or not started) */
	int out_fd;         /* read end of the producer's stdout; -1 when closed */
	int err_fd;
	int has_err_thread;
	pthread_t err_thread;
	char tail[TSARC_PROC_TAIL];
	size_t tail_pos;    /* next write position in the ring */
	int tail_wrapped;
	int has_writer;
	pthread_t writer;
	tsarc_writer_fn writer_fn;
	tsarc_filter_fn filter_fn; /* a filter instead of writer_fn */
	int filter_in;             /* the filter's input, owned by its producer */
	int owns_filter_in;        /* ...or by this proc, whose child writes it */
	int filter_quit_early;     /* it failed before its input ended */
	void *writer_ctx;
	int writer_fd;
	int writer_rc;
	atomic_int stop;    /* set by tsarc_proc_kill for the writer */
	/* As long as any error's message: its last words often say what was
	 * left untouched ("nothing was read or written"). */
	char writer_err[TSARC_ERROR_MESSAGE_MAX];
	int status;         /* wait status, valid after tsarc_proc_finish */
	/* A consumer (restore): set want_stdin before spawning; the child's
	 * stdin is then a pipe whose write end is in_fd, and its stdout goes
	 * to /dev/null (a loader's chatter is not data). */
	int want_stdin;
	int in_fd;
	tsarc_child_node node; /* stopped on SIGINT/SIGTERM/SIGHUP (interrupt.h) */
	/* Set before spawning, both may be left 0. Descriptors the child gets
	 * at the same numbers (in-memory option files, read as /dev/fd/N);
	 * they stay close-on-exec here, so no other child inherits them. */
	const int *keep_fds;
	size_t nkeep_fds;
	/* Bytes the child reads first on its stdin (secrets a pod's shell
	 * reads into variables), before a consumer's data; a producer's stdin
	 * then ends. At most 64 KiB: they must fit in the pipe. */
	const char *stdin_data;
	size_t stdin_len;
	/* A consumer whose input is known to be exactly input_size bytes (the
	 * caller sets has_input_size before spawning). A transport whose
	 * consumer runs out of reach of our kill (a pod: killing kubectl only
	 * ends the pod's stdin) frames that input and sets input_trailer:
	 * tsarc_proc_close_stdin writes it after the last byte, and the
	 * consumer sees the end of its input only once the trailer came after
	 * all input_size bytes; otherwise it is killed first. */
	int has_input_size;
	unsigned long long input_size;
	const char *input_trailer;
	/* A command out of reach (in a pod: kubectl may lose its connection
	 * and still exit 0, the output cut short) ends its output with the
	 * line "\nEND_MARK STATUS\n": a producer's transport checks and
	 * removes it (kube.c); a consumer's output is that line only, and
	 * tsarc_proc_finish wants it there, with status 0. */
	char end_mark[48];
	/* Set before spawning, may be NULL: each line of the child's stderr
	 * (without its newline; a line longer than TSARC_PROC_LINE_MAX comes
	 * cut, with `cut` set), called on the drain thread as it comes and
	 * never after tsarc_proc_finish returned. For a tool that names
	 * per-file trouble on stderr (GNU tar). */
	void (*err_line)(void *ctx, const char *line, size_t len, int cut);
	/* Set before spawning, may be NULL: called once on the drain thread
	 * after the last err_line, when stderr has ended (or at once when it
	 * cannot be drained): from then on every line has been seen. */
	void (*err_end)(void *ctx);
	void *err_line_ctx;
	/* Set before spawning, may be NULL: strings (NULL-ended) that must
	 * not reach a message, such as the values of the Secrets a command
	 * was given (kubectl's error for an object the API server refuses
	 * holds the patch it sent, the whole Secret). A line of the child's
	 * stderr holding one, or too long to be looked at whole, stays out
	 * of the tail, and a line saying so takes its place; what was read
	 * is wiped. The caller keeps them until tsarc_proc_finish. */
	const char *const *hide;
} tsarc_proc;

/* The longest stderr line err_line is given whole. */
#define TSARC_PROC_LINE_MAX 65536

void tsarc_proc_init(tsarc_proc *p);
/* Whether `binary` is a program this process can start, found as
 * posix_spawnp finds it: a name with a '/' as it is, else the first
 * executable file of that name in PATH (unset: /bin:/usr/bin; an empty
 * entry: the current folder). Asked before a spawn where a program that is
 * not installed means something other than a failure of its own: the
 * kube transport's kubectl (a clear error at every call, without a
 * process started for each), the private Redis servers of which one is
 * tried after the other. */
int tsarc_proc_runnable(const char *binary);
/* Starts argv[0] (looked up in PATH) with `env_add` ("NAME=VALUE", NULL
 * terminated, may be NULL) added to the allowed part of this process's
 * environment (PATH, HOME, USER, LOGNAME, LANG, LANGUAGE, LC_*, TZ,
 * TMPDIR, KUBECONFIG, the proxy variables; never a credential), stdin
 * from /dev/null. Every descriptor is close-on-exec, so concurrent spawns
 * cannot keep each other's pipes open. Once interrupted by a signal,
 * nothing new starts (TSARC_ECANCELED) except from a cleanup. */
int tsarc_proc_spawn(tsarc_proc *p, char *const argv[], char *const env_add[]);
/* Closes the consumer's stdin: the end of a complete input (its
 * input_trailer, if any, goes first); idempotent. An incomplete input ends
 * by tsarc_proc_abort or tsarc_proc_finish, never by this. */
void tsarc_proc_close_stdin(tsarc_proc *p);
/* Runs fn(fd, ctx) on a thread writing into the pipe read by out_fd. */
int tsarc_proc_start_writer(tsarc_proc *p, tsarc_writer_fn fn, void *ctx);
/* Runs filter fn(in_fd, out, ctx) on a thread writing into the pipe read
 * by out_fd; in_fd stays its producer's, which is finished after this. */
int tsarc_proc_start_filter(tsarc_proc *p, tsarc_filter_fn fn, int in_fd, void *ctx);
/* Asks the producer to stop: SIGTERM to its process group, or the writer's
 * stop flag. Safe from another thread while the producer runs. */
void tsarc_proc_kill(tsarc_proc *p);
/* Aborts a consumer: SIGKILL to its whole process group, then its stdin
 * closed. SIGKILL, not SIGTERM: a fatal signal that cannot be caught
 * takes effect before kill() returns, so no process of the group can read
 * the end of its input afterwards and take a truncated stream for a
 * complete one (a tool that catches SIGTERM could). Then
 * tsarc_proc_finish reaps it. */
void tsarc_proc_abort(tsarc_proc *p);
/* Closes out_fd, reaps the child, joins the threads. Returns 0 when the
 * producer succeeded, else sets an error describing how it ended (exit
 * status or signal, and the tail of its stderr) prefixed with `what`. */
int tsarc_proc_finish(tsarc_proc *p, const char *what);
/* The last bytes the producer wrote to stderr, NUL-terminated (at most
 * outsz - 1 of them), without a MySQL or MariaDB client's warnings about
 * the other's `--loose-` TLS options (proc.c). */
void tsarc_proc_tail(const tsarc_proc *p, char *out, size_t outsz);

/* The most an end mark line takes, with room to spare. */
#define TSARC_PROC_END_MARK_TAIL 64
/* Whether buf[0..held) ends with the line "\nMARK STATUS\n" and STATUS
 * is 0: 0 with the length of what precedes it in *data, else -1 with why
 * in `err`. */
int tsarc_proc_end_mark_check(const char *buf, size_t held, const char *mark, size_t *data,
	char *err, size_t errsz);

/* Runs a short command to completion: stdout collected (at most `max`
 * bytes, else TSARC_ETOOLARGE) into *out (NUL-terminated, caller frees;
 * the buffers it outgrew are wiped, as the caller wipes one that may hold
 * a Secret), its wait status into *status (0: it exited with 0; -1: it
 * could not be waited for; tsarc_proc_ended says which end it was), stderr
 * tail into `err`. */
int tsarc_proc_capture(char *const argv[], char *const env_add[], size_t max,
	char **out, size_t *out_len, int *status, char *err, size_t errsz);

/* How a child ended, from its wait status, for every message that reports
 * it: "exited with status 3", "killed by signal 15 (SIGTERM)" (a stop's
 * signal is no exit status: before, a hook a signal killed was said to have
 * "exited with status -1"), or "could not be waited for" (-1). */
const char *tsarc_proc_ended(int status, char *buf, size_t size);

#endif
