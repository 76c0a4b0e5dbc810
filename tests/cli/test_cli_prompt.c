/*
 * cli/common.c: the password asked on the terminal (no password file, no
 * variable) leaves nothing of what was typed in memory given back, echo
 * is off while it is typed and on again after. No real terminal is
 * needed: a child process gets a pseudo-terminal (openpty) as its
 * controlling terminal, so that its /dev/tty is the pty, and this
 * process types the password on the master side once the prompt is
 * shown and echo is off. A Ctrl-C (SIGINT) at the prompt gives the
 * terminal its echo back.
 *
 * Every block the child frees is looked at for the typed password, the C
 * library's own frees too (fclose's of a stdio buffer): in the plain build
 * malloc, calloc, realloc and free are defined here, in front of libc's
 * for every caller (as test_secret_wipe does); under AddressSanitizer,
 * whose allocator those cannot stand beside, its free hook is called
 * with the block still intact. Before, the prompt read through stdio: the
 * FILE's buffer held the typed line and fclose freed it as it was.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "interrupt.h"
#include "tsarc/errors.h"

#define TYPED "typed-Pw-9xQ4-on-the-tty"
#define PROMPT "enter password for repository: "
/* A bound for a child that never shows its prompt, not a timing. */
#define WAIT_MS 30000

static volatile int armed;
static volatile int found;

static void look(const void *p, size_t n)
{
	if (p && armed && n >= strlen(TYPED) && memmem(p, n, TYPED, strlen(TYPED)))
		found++;
}

#if defined(__SANITIZE_ADDRESS__)
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
	void (*f)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);

/* The sanitizer takes hooks as a pair. */
static void malloc_hook(const volatile void *p, size_t n)
{
	(void)p;
	(void)n;
}

static void free_hook(const volatile void *p)
{
	if (p && armed)
		look((const void *)p, __sanitizer_get_allocated_size(p));
}

static void watch_frees(void)
{
	if (!__sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook))
		_exit(14);
}
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n)
{
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
	/* A block realloc moves is given back: looked at first. */
	if (p && armed)
		look(p, malloc_usable_size(p));
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (p && armed)
		look(p, malloc_usable_size(p));
	__libc_free(p);
}

static void watch_frees(void)
{
}
#endif

/* The child: the pty `slave` its controlling terminal, asks for the
 * password with nothing else given. Its exit status says what failed. */
static void child(int master, int slave)
{
	struct termios t;
	cli_common c;
	char *pw = NULL;
	int rc;

	close(master);
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		_exit(10);
	unsetenv("TSARC_PASSWORD");
	unsetenv("TSARC_PASSWORD_FILE");
	memset(&c, 0, sizeof(c));
	watch_frees();
	armed = 1;
	rc = cli_get_password(&c, 0, &pw);
	if (rc || !pw || strcmp(pw, TYPED))
		_exit(11);
	cli_free_password(pw);
	armed = 0;
	if (tcgetattr(slave, &t) || !(t.c_lflag & ECHO))
		_exit(12); /* echo left off */
	_exit(found ? 13 : 0);
}

/* Reads what the child wrote to the terminal into out (size n) until
 * `want` is there, or (want NULL) until the terminal is closed. */
static int read_until(int master, char *out, size_t n, size_t *len, const char *want)
{
	struct pollfd p = {master, POLLIN, 0};
	ssize_t r;

	while (!want || !strstr(out, want)) {
		if (*len + 1 >= n || poll(&p, 1, WAIT_MS) != 1)
			return -1;
		r = read(master, out + *len, n - 1 - *len);
		if (r <= 0)
			return want ? -1 : 0; /* EIO: the child has closed its side */
		*len += (size_t)r;
		out[*len] = '\0';
	}
	return 0;
}

/* Starts `run` as a child on a new pty and returns once it shows the
 * prompt with echo off (the input flushed by turning echo off, TCSAFLUSH,
 * is behind then): its pid; the pty's master side in *master, what it
 * printed so far in out[0..*len). */
static pid_t start_at_prompt(void (*run)(int, int), int *master, char *out, size_t n,
	size_t *len)
{
	struct timespec ms = {0, 1000000};
	struct termios t;
	int slave, i;
	pid_t pid;

	assert_int_equal(openpty(master, &slave, NULL, NULL, NULL), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		run(*master, slave);
	close(slave);
	assert_int_equal(read_until(*master, out, n, len, PROMPT), 0);
	for (i = 0; i < WAIT_MS; i++) {
		assert_int_equal(tcgetattr(*master, &t), 0);
		if (!(t.c_lflag & ECHO))
			break;
		nanosleep(&ms, NULL);
	}
	assert_true(i < WAIT_MS);
	return pid;
}

static void typed_password_is_wiped(void **state)
{
	char out[4096] = "";
	size_t len = 0;
	int master, status;
	pid_t pid;

	(void)state;
	pid = start_at_prompt(child, &master, out, sizeof(out), &len);
	assert_int_equal(write(master, TYPED "\n", strlen(TYPED) + 1), (ssize_t)strlen(TYPED) + 1);
	assert_int_equal(read_until(master, out, sizeof(out), &len, NULL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(master);
	/* Not echoed. */
	assert_null(strstr(out, TYPED));
	assert_true(WIFEXITED(status));
	/* 11: not the password typed; 12: echo left off; 13: a block freed
	 * holding what was typed; 14: no free hook. */
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The child of the next test: signals taken as the command line takes
 * them (interrupt.h), then asked for the password, which never comes. */
static void child_interrupted(int master, int slave)
{
	cli_common c;
	char *pw = NULL;

	close(master);
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
		_exit(10);
	unsetenv("TSARC_PASSWORD");
	unsetenv("TSARC_PASSWORD_FILE");
	memset(&c, 0, sizeof(c));
	if (tsarc_interrupt_install())
		_exit(15);
	cli_get_password(&c, 0, &pw);
	_exit(16); /* the signal ends the process before */
}

/* Ctrl-C at the prompt ends the command (130) and gives the terminal its
 * echo back. Before, the process ended with echo still off: what the
 * operator typed next in that shell was not shown. */
static void interrupted_prompt_restores_echo(void **state)
{
	char out[4096] = "";
	struct termios t;
	size_t len = 0;
	int master, status;
	pid_t pid;

	(void)state;
	pid = start_at_prompt(child_interrupted, &master, out, sizeof(out), &len);
	assert_int_equal(kill(pid, SIGINT), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 130);
	assert_int_equal(tcgetattr(master, &t), 0);
	close(master);
	assert_true(t.c_lflag & ECHO);
}

TSARC_TESTS_MAIN(NULL, NULL, cmocka_unit_test(typed_password_is_wiped),
	cmocka_unit_test(interrupted_prompt_restores_echo))
