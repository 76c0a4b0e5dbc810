#define _GNU_SOURCE /* memfd_create, F_ADD_SEALS */
/*
 * Commands for children: argv, the variables a child gets (its own, a
 * pod's, a transport's pass_env) and the ways a password reaches a tool
 * without a command line or a file on disk. Values may be passwords:
 * every list is wiped before its memory is given back.
 */
#include "component.h"
#include "fmt.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int nomem(void)
{
	return tsarc_error_set(TSARC_ENOMEM, "out of memory");
}

void tsarc_cmd_init(tsarc_cmd *c)
{
	memset(c, 0, sizeof(*c));
}

static void free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/* Values may be passwords: wipe before giving the memory back. */
		OPENSSL_cleanse(list[i], strlen(list[i]));
		free(list[i]);
	}
	free(list);
}

void tsarc_cmd_free(tsarc_cmd *c)
{
	free_list(c->argv, c->argc);
	free_list(c->env, c->nenv);
	free_list(c->pod_env, c->npod_env);
	if (c->mysql_password) {
		OPENSSL_cleanse(c->mysql_password, strlen(c->mysql_password));
		free(c->mysql_password);
	}
	memset(c, 0, sizeof(*c));
}

static int list_push(char ***list, size_t *n, char *s)
{
	char **grown;

	if (!s)
		return nomem();
	if (!(grown = realloc(*list, (*n + 2) * sizeof(char *)))) {
		free(s);
		return nomem();
	}
	*list = grown;
	grown[(*n)++] = s;
	grown[*n] = NULL;
	return 0;
}

int tsarc_cmd_arg(tsarc_cmd *c, const char *arg)
{
	return list_push(&c->argv, &c->argc, strdup(arg));
}

int tsarc_cmd_argf(tsarc_cmd *c, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(s = malloc((size_t)n + 1)))
		return nomem();
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return list_push(&c->argv, &c->argc, s);
}

static char *join_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	s[la] = '=';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

int tsarc_cmd_env(tsarc_cmd *c, const char *name, const char *value)
{
	return list_push(&c->env, &c->nenv, join_eq(name, value));
}

int tsarc_cmd_pod_env(tsarc_cmd *c, const char *name, const char *pod_var)
{
	return list_push(&c->pod_env, &c->npod_env, join_eq(name, pod_var));
}

int tsarc_cmd_copy(tsarc_cmd *to, const tsarc_cmd *from)
{
	size_t i;
	int rc = 0;

	tsarc_cmd_init(to);
	for (i = 0; i < from->argc && !rc; i++)
		rc = list_push(&to->argv, &to->argc, strdup(from->argv[i]));
	for (i = 0; i < from->nenv && !rc; i++)
		rc = list_push(&to->env, &to->nenv, strdup(from->env[i]));
	for (i = 0; i < from->npod_env && !rc; i++)
		rc = list_push(&to->pod_env, &to->npod_env, strdup(from->pod_env[i]));
	if (!rc && from->mysql_password)
		rc = tsarc_cmd_mysql_password(to, from->mysql_password);
	if (rc)
		tsarc_cmd_free(to);
	return rc;
}

int tsarc_cmd_mysql_password(tsarc_cmd *cmd, const char *password)
{
	char *copy = strdup(password);

	if (!copy)
		return nomem();
	if (cmd->mysql_password) {
		OPENSSL_cleanse(cmd->mysql_password, strlen(cmd->mysql_password));
		free(cmd->mysql_password);
	}
	cmd->mysql_password = copy;
	return 0;
}

/* The option files MySQL's and MariaDB's clients read by themselves, in
 * their order (MYSQL_HOME is not in a child's environment), ~/.my.cnf last. */
static const char *const MYSQL_OWN_FILES[] = {"/etc/my.cnf", "/etc/mysql/my.cnf"};

static int include_line(tsarc_buf *out, const char *path)
{
	/* A path with a line break would be an option of its own. */
	if (strpbrk(path, "\r\n") || access(path, R_OK) != 0)
		return 0;
	return tsarc_buf_printf(out, "!include %s\n", path);
}

int tsarc_mysql_option_text(const char *password, tsarc_buf *out)
{
	const char *home = getenv("HOME");
	size_t i;
	int rc = 0;

	/* The text holds the password, appended a character at a time: the
	 * buffer is made a wiped one (buf.h), so that each block it outgrows
	 * is wiped before it is given back. Before, realloc gave back the
	 * blocks holding the password's first part as they were. */
	out->wipe = 1;
	/* The client's own files first, then the password: a [client]
	 * password of ~/.my.cnf (read after an extra file) would replace the
	 * Secret's, and the client would send an operator's password to the
	 * Secret's server. Their other settings (a CA, a socket) still apply. */
	for (i = 0; !rc && i < sizeof(MYSQL_OWN_FILES) / sizeof(*MYSQL_OWN_FILES); i++)
		rc = include_line(out, MYSQL_OWN_FILES[i]);
	if (!rc && home && *home == '/') {
		char *path = tsarc_dup_printf("%s/.my.cnf", home);
		if (!path)
			return nomem();
		rc = include_line(out, path);
		free(path);
	}
	if (rc)
		return rc;
	/* Double-quoted, with the escapes MySQL's and MariaDB's option-file
	 * reader undoes (\n \r \t \b \\ \"): #, ;, blanks, quotes and line
	 * breaks in a password survive, and nothing ends the line early. */
	rc = tsarc_buf_puts(out, "[client]\npassword=\"");
	for (i = 0; !rc && password[i]; i++) {
		char ch = password[i];
		const char *esc = ch == '\n' ? "\\n" : ch == '\r' ? "\\r" : ch == '\t' ? "\\t" :
			ch == '\b' ? "\\b" : ch == '"' ? "\\\"" : ch == '\\' ? "\\\\" : NULL;
		rc = esc ? tsarc_buf_puts(out, esc) : tsarc_buf_append(out, &ch, 1);
	}
	if (!rc)
		rc = tsarc_buf_puts(out, "\"\n");
	return rc;
}

int tsarc_secret_memfd(const char *name, const void *data, size_t len, int *fd_out)
{
	const char *p = data;
	size_t done = 0;
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), low;

	if (fd < 0)
		return tsarc_error_set(TSARC_EIO, "cannot create an in-memory file: %s",
			strerror(errno));
	/* A memfd starts 0777: MySQL clients ignore a world-writable option
	 * file, and nothing else should read it. */
	if (fchmod(fd, 0400)) {
		int e = errno;
		close(fd);
		return tsarc_error_set(TSARC_EIO, "cannot set an in-memory file's mode: %s",
			strerror(e));
	}
	/* Never 0-2: those become the child's stdin, stdout and stderr. */
	if (fd <= 2) {
		low = fd;
		fd = fcntl(low, F_DUPFD_CLOEXEC, 3);
		close(low);
		if (fd < 0)
			return tsarc_error_set(TSARC_EIO, "cannot move a descriptor: %s",
				strerror(errno));
	}
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return tsarc_error_set(TSARC_EIO, "writing an in-memory file: %s", strerror(e));
		}
		done += (size_t)n;
	}
	/* Sealed: the child reads exactly this, nobody can change it after. */
	(void)fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	*fd_out = fd;
	return 0;
}

void tsarc_env_list_free(char **list)
{
	size_t i;

	for (i = 0; list && list[i]; i++) {
		OPENSSL_cleanse(list[i], strlen(list[i]));
		free(list[i]);
	}
	free(list);
}

int tsarc_env_collect(const cJSON *names, char ***out)
{
	const cJSON *v;
	char **list;
	size_t n = 0;

	*out = NULL;
	if (!(list = calloc((size_t)cJSON_GetArraySize(names) + 1, sizeof(char *))))
		return nomem();
	cJSON_ArrayForEach(v, names) {
		const char *val = cJSON_IsString(v) ? getenv(v->valuestring) : NULL;
		if (!val)
			continue;
		if (!(list[n] = join_eq(v->valuestring, val))) {
			tsarc_env_list_free(list);
			return nomem();
		}
		n++;
	}
	*out = list;
	return 0;
}

char **tsarc_env_concat(char *const a[], char *const b[])
{
	size_t na = 0, nb = 0;
	char **out;

	while (a && a[na])
		na++;
	while (b && b[nb])
		nb++;
	if (!(out = calloc(na + nb + 1, sizeof(char *))))
		return NULL;
	if (na)
		memcpy(out, a, na * sizeof(char *));
	if (nb)
		memcpy(out + na, b, nb * sizeof(char *));
	return out;
}
