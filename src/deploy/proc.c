/* Producers: child processes and writer threads behind a pipe. */
#define _GNU_SOURCE /* pipe2: close-on-exec pipes without a race against concurrent spawns */
#include "proc.h"
#include "fileio.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void tsarc_proc_init(tsarc_proc *p)
{
	memset(p, 0, sizeof(*p));
	atomic_init(&p->stop, 0);
	p->out_fd = -1;
	p->err_fd = -1;
	p->writer_fd = -1;
	p->filter_in = -1;
	p->in_fd = -1;
}

static void close_fd(int *fd);

/* What a child may be given on its stdin before its data: a pipe's
 * default capacity. */
#define STDIN_DATA_MAX 65536

void tsarc_proc_close_stdin(tsarc_proc *p)
{
	/* A failed write leaves the consumer without its trailer: it fails,
	 * and its status says so. */
	if (p->in_fd >= 0 && p->input_trailer)
		(void)tsarc_write_all(p->in_fd, p->input_trailer, strlen(p->input_trailer));
	close_fd(&p->in_fd);
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void tail_append(tsarc_proc *p, const char *data, size_t len)
{
	while (len > 0) {
		size_t room = TSARC_PROC_TAIL - p->tail_pos;
		size_t n = len < room ? len : room;
		memcpy(p->tail + p->tail_pos, data, n);
		p->tail_pos += n;
		data += n;
		len -= n;
		if (p->tail_pos == TSARC_PROC_TAIL) {
			p->tail_pos = 0;
			p->tail_wrapped = 1;
		}
	}
}

/* What takes the place of a line p->hide keeps out of the tail. */
static const char HIDDEN_LINE[] = "(a line holding a value tsarc does not show)\n";

/* Whether a line of stderr must stay out of the tail: it holds one of
 * p->hide's strings, or came cut (a longer line might hold one past the
 * cut, or a part of one at it). */
static int line_hidden(const tsarc_proc *p, const char *line, size_t len, int cut)
{
	const char *const *v;

	if (cut)
		return 1;
	for (v = p->hide; *v; v++)
		if (**v && memmem(line, len, *v, strlen(*v)))
			return 1;
	return 0;
}

/* One line of stderr (without its newline): into the tail where p->hide
 * is set (the raw bytes go there otherwise), then to err_line. */
static void on_line(tsarc_proc *p, const char *line, size_t len, int cut)
{
	if (p->hide) {
		if (line_hidden(p, line, len, cut)) {
			tail_append(p, HIDDEN_LINE, sizeof(HIDDEN_LINE) - 1);
		} else {
			tail_append(p, line, len);
			tail_append(p, "\n", 1);
		}
	}
	if (p->err_line)
		p->err_line(p->err_line_ctx, line, len, cut);
}

/* Hands each complete line of `data` to on_line; keeps a partial one in
 * `line` (TSARC_PROC_LINE_MAX bytes: the rest of a longer one is dropped
 * and the line comes cut). */
static void split_lines(tsarc_proc *p, char *line, size_t *len, int *cut, const char *data,
	size_t n)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n, room = TSARC_PROC_LINE_MAX - *len;
		if (take > room) {
			*cut = 1;
			memcpy(line + *len, data, room);
			*len += room;
		} else {
			memcpy(line + *len, data, take);
			*len += take;
		}
		if (!nl)
			return;
		on_line(p, line, *len, *cut);
		*len = 0;
		*cut = 0;
		n -= take + 1;
		data += take + 1;
	}
}

static void *drain_stderr(void *arg)
{
	tsarc_proc *p = arg;
	char buf[4096], *line = p->err_line || p->hide ? malloc(TSARC_PROC_LINE_MAX) : NULL;
	size_t len = 0;
	int cut = 0;
	ssize_t n;

	if (!line && p->hide) {
		static const char lost[] = "(stderr not shown: out of memory)\n";
		tail_append(p, lost, sizeof(lost) - 1);
	}
	for (;;) {
		n = read(p->err_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!p->hide)
			tail_append(p, buf, (size_t)n);
		if (line)
			split_lines(p, line, &len, &cut, buf, (size_t)n);
		else if (p->err_line)
			p->err_line(p->err_line_ctx, "", 0, 1); /* no memory: every line lost */
	}
	/* A last line without its newline. */
	if (line && (len || cut))
		on_line(p, line, len, cut);
	if (p->hide) {
		tsarc_secure_zero(buf, sizeof(buf));
		if (line)
			tsarc_secure_zero(line, TSARC_PROC_LINE_MAX);
	}
	free(line);
	if (p->err_end)
		p->err_end(p->err_line_ctx);
	return NULL;
}

/*
 * Whether a line of a child's stderr is a client's warning about a
 * `--loose-` option it does not know. tsarc gives the MySQL and MariaDB
 * clients both spellings of a TLS option (--loose-ssl-mode for MySQL's,
 * --loose-ssl-verify-server-cert for MariaDB's: dbconn.c), loose so that
 * each ignores the other's; each still warns of them on every run, and in
 * a message those lines hide the client's real error.
 */
static int loose_option_warning(const char *line, size_t len)
{
	static const char *const marks[] = {"unknown variable 'loose-",
		"unknown option '--loose-"};
	size_t i, m, k;

	for (i = 0; i < sizeof(marks) / sizeof(*marks); i++)
		for (m = strlen(marks[i]), k = 0; k + m <= len; k++)
			if (!memcmp(line + k, marks[i], m))
				return 1;
	return 0;
}

/* Drops the lines loose_option_warning names from `s` (NUL-terminated). */
static size_t drop_loose_option_warnings(char *s, size_t len)
{
	size_t r = 0, w = 0;

	while (r < len) {
		const char *nl = memchr(s + r, '\n', len - r);
		size_t n = nl ? (size_t)(nl - (s + r)) + 1 : len - r;
		if (!loose_option_warning(s + r, n)) {
			memmove(s + w, s + r, n);
			w += n;
		}
		r += n;
	}
	s[w] = '\0';
	return w;
}

void tsarc_proc_tail(const tsarc_proc *p, char *out, size_t outsz)
{
	char all[TSARC_PROC_TAIL + 1];
	size_t len = 0, i, start, total, from = 0;

	if (outsz == 0)
		return;
	total = p->tail_wrapped ? TSARC_PROC_TAIL : p->tail_pos;
	start = p->tail_wrapped ? p->tail_pos : 0;
	for (i = 0; i < total; i++) {
		char ch = p->tail[(start + i) % TSARC_PROC_TAIL];
		/* Keep messages printable: a tool may write binary junk. */
		all[len++] = (ch == '\n' || ch == '\t' || (ch >= 0x20 && ch < 0x7f) ||
				     (unsigned char)ch >= 0x80) ? ch : '?';
	}
	all[len] = '\0';
	len = drop_loose_option_warnings(all, len);
	while (len > 0 && (all[len - 1] == '\n' || all[len - 1] == ' '))
		len--;
	/* The end of it, where a tool says why it stopped. */
	if (len > outsz - 1)
		from = len - (outsz - 1);
	memcpy(out, all + from, len - from);
	out[len - from] = '\0';
}

/*
 * A child's environment is an allow-list, never a copy of ours: ours holds
 * the repository password (TSARC_PASSWORD, TSARC_PASSWORD_FILE), the
 * store's credentials (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) and the
 * variables other components take their passwords from (password_env). A
 * child gets what any tool needs to run on this host, what kubectl and oc
 * need to reach a cluster (KUBECONFIG; HOME for ~/.kube/config; the proxy
 * variables), and exactly what its command maps (`add`: MYSQL_PWD,
 * PGPASSWORD, REDISCLI_AUTH, an exec component's env, a transport's
 * pass_env).
 */
static int allowed(const char *entry)
{
	static const char *const names[] = {"PATH", "HOME", "USER", "LOGNAME", "LANG",
		"LANGUAGE", "TZ", "TMPDIR", "KUBECONFIG", "http_proxy", "https_proxy", "no_proxy",
		"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", NULL};
	const char *eq = strchr(entry, '=');
	size_t i, nl;

	if (!eq)
		return 0;
	nl = (size_t)(eq - entry);
	if (nl > 3 && !strncmp(entry, "LC_", 3))
		return 1;
	for (i = 0; names[i]; i++)
		if (strlen(names[i]) == nl && !strncmp(entry, names[i], nl))
			return 1;
	return 0;
}

/* The child's environment: the allowed part of ours, with `add` replacing
 * same-named entries (and, within `add`, a later entry an earlier one). */
static char **build_env(char *const add[])
{
	size_t n = 0, k = 0, i, j;
	char **env;

	while (environ[n])
		n++;
	while (add && add[k])
		k++;
	if (!(env = calloc(n + k + 1, sizeof(char *))))
		return NULL;
	k = 0;
	for (i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		int replaced = 0;
		if (!allowed(environ[i]))
			continue;
		for (j = 0; add && add[j]; j++)
			if (!strncmp(add[j], environ[i], nl) && add[j][nl] == '=')
				replaced = 1;
		if (!replaced)
			env[k++] = environ[i];
	}
	for (j = 0; add && add[j]; j++) {
		/* The same name twice in `add`: the last one wins. */
		const char *eq = strchr(add[j], '=');
		size_t nl = eq ? (size_t)(eq - add[j]) : strlen(add[j]), l;
		int later = 0;
		for (l = j + 1; add[l] && !later; l++)
			later = !strncmp(add[l], add[j], nl) && add[l][nl] == '=';
		if (!later)
			env[k++] = add[j];
	}
	env[k] = NULL;
	return env;
}

/* Closes both ends of the child's pipes (an end not opened is -1). */
static void close_pipes(int out[2], int err[2], int in[2])
{
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	close_fd(&in[0]);
	close_fd(&in[1]);
}

int tsarc_proc_runnable(const char *binary)
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[4096];

	if (strchr(binary, '/'))
		return access(binary, X_OK) == 0;
	if (!path)
		path = "/bin:/usr/bin";
	for (p = path;; p = end + 1) {
		size_t len;
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		len = (size_t)(end - p);
		if (snprintf(buf, sizeof(buf), "%.*s%s%s", (int)len, p, len ? "/" : "",
			binary) < (int)sizeof(buf) && access(buf, X_OK) == 0)
			return 1;
		if (!*end)
			return 0;
	}
}

int tsarc_proc_spawn(tsarc_proc *p, char *const argv[], char *const env_add[])
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	int out[2] = {-1, -1}, err[2] = {-1, -1}, in[2] = {-1, -1}, rc;
	char **env = NULL;

	if (!tsarc_interrupt_may_start())
		return tsarc_interrupt_error();
	if (p->stdin_len > STDIN_DATA_MAX)
		return tsarc_error_set(TSARC_EINVAL, "%zu bytes for a child's stdin: more than "
			"a pipe holds", p->stdin_len);
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) ||
		((p->want_stdin || p->stdin_len) && pipe2(in, O_CLOEXEC))) {
		rc = tsarc_error_set(TSARC_EIO, "creating a pipe: %s", strerror(errno));
		close_pipes(out, err, in);
		return rc;
	}
	/* Into the pipe before the child runs: it fits (checked above), so
	 * this never blocks. */
	if (p->stdin_len && tsarc_write_all(in[1], p->stdin_data, p->stdin_len)) {
		rc = tsarc_error_set(TSARC_EIO, "writing a child's stdin: %s", strerror(errno));
		close_pipes(out, err, in);
		return rc;
	}
	if (!p->want_stdin)
		close_fd(&in[1]); /* a producer's stdin ends after the data */
	if (!(env = build_env(env_add))) {
		close_pipes(out, err, in);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	posix_spawn_file_actions_init(&fa);
	if (p->want_stdin) {
		posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
		if (p->end_mark[0])
			posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
		else
			posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	} else {
		if (in[0] >= 0)
			posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
		else
			posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	}
	posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
	/* dup2 onto itself clears close-on-exec in the child only. */
	for (size_t i = 0; i < p->nkeep_fds; i++)
		posix_spawn_file_actions_adddup2(&fa, p->keep_fds[i], p->keep_fds[i]);
	posix_spawnattr_init(&attr);
	/* Own process group: cancelling reaches the tool's own children.
	 * Default signal handling: we ignore SIGPIPE, the tool must not. */
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGINT);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
		POSIX_SPAWN_SETSIGDEF);
	/* Checked, started and tracked as one step against a signal: the
	 * signal thread either finds it tracked or comes first, and then it
	 * never starts (a signal from now on stops its group). */
	tsarc_interrupt_spawn_lock();
	if (!tsarc_interrupt_may_start())
		rc = -1;
	else if ((rc = posix_spawnp(&p->pid, argv[0], &fa, &attr, argv, env)) == 0)
		tsarc_interrupt_track(&p->node, p->pid);
	tsarc_interrupt_spawn_unlock();
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(env);
	close_fd(&out[1]);
	close_fd(&err[1]);
	close_fd(&in[0]);
	if (p->want_stdin && !p->end_mark[0])
		close_fd(&out[0]); /* the child's stdout is /dev/null */
	if (rc != 0) {
		close_fd(&out[0]);
		close_fd(&err[0]);
		close_fd(&in[1]);
		p->pid = 0;
		if (rc < 0)
			return tsarc_interrupt_error();
		return tsarc_error_set(rc == ENOENT ? TSARC_ENOTFOUND : TSARC_EIO,
			"cannot run %s: %s", argv[0], strerror(rc));
	}
	p->out_fd = out[0];
	p->err_fd = err[0];
	p->in_fd = in[1];
	if (p->out_fd >= 0)
		tsarc_pipe_grow(p->out_fd);
	if (p->in_fd >= 0)
		tsarc_pipe_grow(p->in_fd);
	if (pthread_create(&p->err_thread, NULL, drain_stderr, p) == 0)
		p->has_err_thread = 1;
	else {
		close_fd(&p->err_fd); /* the child gets EPIPE on stderr, still runs */
		if (p->err_end)
			p->err_end(p->err_line_ctx);
	}
	return 0;
}

/*
 * Whether a failed filter's input had ended, read without waiting: at its
 * end the producer had finished on its own, and a failure of its explains
 * the filter's (a truncated archive); with bytes left, or none yet, the
 * filter quit first, and the closed pipe the producer meets next (EPIPE,
 * SIGPIPE) is tsarc's doing, not news.
 */
static int input_ended(int fd)
{
	char byte;
	ssize_t n;
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return 1; /* unknown: the producer's failure is kept */
	do
		n = read(fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	return n == 0 || (n < 0 && errno != EAGAIN);
}

static void *writer_main(void *arg)
{
	tsarc_proc *p = arg;
	sigset_t pipe_set;

	/* A closed reader must show up as EPIPE here, not kill the process:
	 * blocked on this thread, a pending SIGPIPE dies with it. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
	if (p->filter_fn) {
		p->writer_rc = p->filter_fn(p->filter_in, p->writer_fd, p->writer_ctx, &p->stop,
			p->writer_err, sizeof(p->writer_err));
		p->filter_quit_early = p->writer_rc && !input_ended(p->filter_in);
	} else
		p->writer_rc = p->writer_fn(p->writer_fd, p->writer_ctx, &p->stop, p->writer_err,
			sizeof(p->writer_err));
	close_fd(&p->writer_fd);
	return NULL;
}

int tsarc_proc_start_writer(tsarc_proc *p, tsarc_writer_fn fn, void *ctx)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC))
		return tsarc_error_set(TSARC_EIO, "creating a pipe: %s", strerror(errno));
	p->out_fd = fds[0];
	p->writer_fd = fds[1];
	tsarc_pipe_grow(p->out_fd);
	p->writer_fn = fn;
	p->writer_ctx = ctx;
	if (pthread_create(&p->writer, NULL, writer_main, p) != 0) {
		close_fd(&p->out_fd);
		close_fd(&p->writer_fd);
		return tsarc_error_set(TSARC_ENOMEM, "cannot start a writer thread");
	}
	p->has_writer = 1;
	return 0;
}

int tsarc_proc_start_filter(tsarc_proc *p, tsarc_filter_fn fn, int in_fd, void *ctx)
{
	p->filter_fn = fn;
	p->filter_in = in_fd;
	return tsarc_proc_start_writer(p, NULL, ctx);
}

void tsarc_proc_kill(tsarc_proc *p)
{
	if (p->pid > 0)
		kill(-p->pid, SIGTERM);
	atomic_store(&p->stop, 1);
}

/* Waits for the child to end, then reaps it. Tracked until it has ended
 * but not yet been reaped: a signal meanwhile still stops it, and its
 * group id cannot have been reused (the zombie holds it). */
static pid_t reap(tsarc_proc *p)
{
	siginfo_t info;
	pid_t r;
	int rc;

	do {
		memset(&info, 0, sizeof(info));
		rc = waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOWAIT);
	} while (rc < 0 && errno == EINTR);
	tsarc_interrupt_untrack(&p->node);
	do {
		r = waitpid(p->pid, &p->status, 0);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		p->status = -1;
	p->pid = 0;
	return r;
}

void tsarc_proc_abort(tsarc_proc *p)
{
	/* Not yet reaped, so the group id cannot have been reused. */
	if (p->pid > 0)
		kill(-p->pid, SIGKILL);
	atomic_store(&p->stop, 1);
	close_fd(&p->in_fd);
}

int tsarc_proc_end_mark_check(const char *buf, size_t held, const char *mark, size_t *data,
	char *err, size_t errsz)
{
	size_t mlen = strlen(mark), k, digits = 0;
	const char *at = NULL, *st, *end = buf + held;

	for (k = 0; k + mlen + 2 <= held; k++)
		if (buf[k] == '\n' && !memcmp(buf + k + 1, mark, mlen) && buf[k + 1 + mlen] == ' ')
			at = buf + k;
	if (at) {
		st = at + 1 + mlen + 1;
		while (st + digits < end && st[digits] >= '0' && st[digits] <= '9')
			digits++;
		if (!digits || digits > 3 || st + digits + 1 != end || st[digits] != '\n')
			at = NULL;
		else if (st[0] != '0' || digits != 1) {
			snprintf(err, errsz, "the command in the pod exited with status %.*s",
				(int)digits, st);
			return -1;
		}
	}
	if (!at) {
		snprintf(err, errsz, "its output ended before the command's end mark: kubectl lost "
			"its connection to the pod (it may still exit 0), and the output is incomplete");
		return -1;
	}
	*data = (size_t)(at - buf);
	return 0;
}

/* A consumer's output to its end (only its end mark is expected): the
 * last bytes in `buf`, their number returned. */
static size_t read_end(int fd, char *buf, size_t size)
{
	char chunk[4096];
	size_t held = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return held;
		if ((size_t)n >= size) {
			memcpy(buf, chunk + n - size, size);
			held = size;
		} else {
			if (held + (size_t)n > size) {
				memmove(buf, buf + held + (size_t)n - size, size - (size_t)n);
				held = size - (size_t)n;
			}
			memcpy(buf + held, chunk, (size_t)n);
			held += (size_t)n;
		}
	}
}

const char *tsarc_proc_ended(int status, char *buf, size_t size)
{
	const char *abbrev;

	if (status == -1)
		snprintf(buf, size, "could not be waited for");
	else if (WIFSIGNALED(status) && (abbrev = sigabbrev_np(WTERMSIG(status))))
		snprintf(buf, size, "killed by signal %d (SIG%s)", WTERMSIG(status), abbrev);
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	return buf;
}

int tsarc_proc_finish(tsarc_proc *p, const char *what)
{
	char tail[TSARC_PROC_TAIL + 1], end[TSARC_PROC_END_MARK_TAIL], ended[64];
	size_t held = 0, data;
	int rc = 0, marked = 0;

	/* A consumer that ends with a mark: its input ends, then its output
	 * is read to the end (kubectl's end). */
	if (p->pid > 0 && p->want_stdin && p->end_mark[0] && p->out_fd >= 0) {
		close_fd(&p->in_fd);
		held = read_end(p->out_fd, end, sizeof(end));
		marked = 1;
	}
	/* Closing our end first: a producer still writing gets EPIPE and ends;
	 * a consumer sees the end of its input. */
	close_fd(&p->out_fd);
	close_fd(&p->in_fd);
	if (p->pid > 0) {
		reap(p);
		if (p->has_err_thread) {
			pthread_join(p->err_thread, NULL);
			p->has_err_thread = 0;
		}
		close_fd(&p->err_fd);
		tsarc_proc_tail(p, tail, sizeof(tail));
		if (p->status == -1)
			rc = tsarc_error_set(TSARC_EIO, "%s: cannot wait for the process", what);
		else if (WIFSIGNALED(p->status) || WEXITSTATUS(p->status) != 0)
			rc = tsarc_error_set(TSARC_EIO, "%s: %s%s%s", what,
				tsarc_proc_ended(p->status, ended, sizeof(ended)),
				tail[0] ? "; its stderr ended with:\n" : WIFSIGNALED(p->status) ? "" :
				" (nothing on stderr)", tail);
		else if (marked) {
			char why[256];
			if (tsarc_proc_end_mark_check(end, held, p->end_mark, &data, why, sizeof(why)))
				rc = tsarc_error_set(TSARC_EIO, "%s: %s", what, why);
		}
	}
	if (p->has_writer) {
		pthread_join(p->writer, NULL);
		p->has_writer = 0;
		if (p->owns_filter_in)
			close_fd(&p->filter_in);
		if (p->writer_rc && !rc)
			rc = tsarc_error_set(p->writer_rc, "%s: %s", what,
				p->writer_err[0] ? p->writer_err : tsarc_strerror(p->writer_rc));
	}
	return rc;
}

int tsarc_proc_capture(char *const argv[], char *const env_add[], size_t max,
	char **out, size_t *out_len, int *status, char *err, size_t errsz)
{
	tsarc_proc p;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	*status = -1;
	if (err && errsz)
		err[0] = '\0';
	tsarc_proc_init(&p);
	if ((rc = tsarc_proc_spawn(&p, argv, env_add)))
		return rc;
	for (;;) {
		ssize_t n;
		/* The output may be a Secret (kubectl get secret): a buffer
		 * outgrown is wiped, not given back as it is (wipe.h). */
		if ((rc = tsarc_secure_grow(&buf, len, &cap, cap ? len + 4096 + 1 : 65536)))
			break;
		n = read(p.out_fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tsarc_error_set(TSARC_EIO, "reading from %s: %s", argv[0],
				strerror(errno));
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			rc = tsarc_error_set(TSARC_ETOOLARGE, "%s wrote more than %zu bytes",
				argv[0], max);
			break;
		}
	}
	if (rc)
		tsarc_proc_kill(&p);
	close_fd(&p.out_fd);
	{
		pid_t r = reap(&p);
		if (p.has_err_thread)
			pthread_join(p.err_thread, NULL);
		close_fd(&p.err_fd);
		if (r > 0)
			*status = p.status;
	}
	if (err && errsz)
		tsarc_proc_tail(&p, err, errsz);
	if (rc) {
		tsarc_secure_free(buf, cap);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	if (out_len)
		*out_len = len;
	return 0;
}
