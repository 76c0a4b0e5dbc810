/* Signals and cleanup on interruption: see interrupt.h. */
#define _GNU_SOURCE /* PTHREAD_MUTEX_RECURSIVE */
#include "interrupt.h"
#include "log.h"
#include "names.h"
#include "tsarc/errors.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_signal;   /* first signal received */
static atomic_int g_deferred;
static atomic_int g_undoing;  /* between tsarc_interrupt_undo_begin and _end */
/* When the grace period after the first signal ends (CLOCK_MONOTONIC
 * seconds); not while undoing. */
static atomic_llong g_grace_end;
/* What a signal during an undo finds under way, and what puts things back
 * if a second one cuts it short (for finish()): set by undo_begin. */
static pthread_mutex_t g_undo_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_undo_what[300], g_undo_recovery[500];
static _Thread_local int t_in_cleanup;

/* Both registries below are doubly linked lists, newest first: one push
 * and one unlink serve either (`n` has prev and next; `head` is the list). */
#define LIST_PUSH(head, n)                 \
	do {                               \
		(n)->prev = NULL;          \
		(n)->next = (head);        \
		if (head)                  \
			(head)->prev = (n); \
		(head) = (n);              \
	} while (0)
#define LIST_UNLINK(head, n)                         \
	do {                                         \
		if ((n)->prev)                       \
			(n)->prev->next = (n)->next; \
		else                                 \
			(head) = (n)->next;          \
		if ((n)->next)                       \
			(n)->next->prev = (n)->prev; \
		(n)->prev = (n)->next = NULL;        \
	} while (0)

/* Recursive: a spawn holds it around tracking its child. */
static pthread_mutex_t g_children_mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static tsarc_child_node *g_children;

/* Recursive: a cleanup may add or remove entries (an undo that runs a
 * child with a temporary file). */
static pthread_mutex_t g_cleanup_mu;
static pthread_once_t g_cleanup_once = PTHREAD_ONCE_INIT;
static tsarc_cleanup *g_cleanups;

static void cleanup_mu_init(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&g_cleanup_mu, &a);
	pthread_mutexattr_destroy(&a);
}

static void cleanup_lock(void)
{
	pthread_once(&g_cleanup_once, cleanup_mu_init);
	pthread_mutex_lock(&g_cleanup_mu);
}

const char *tsarc_signal_name(int sig)
{
	static const tsarc_name SIGNALS[] = {
		{SIGINT, "SIGINT"}, {SIGTERM, "SIGTERM"}, {SIGHUP, "SIGHUP"},
	};

	return tsarc_name_of(SIGNALS, TSARC_NAMES_COUNT(SIGNALS), sig, "a signal");
}

int tsarc_interrupted(void)
{
	return atomic_load(&g_undoing) ? 0 : atomic_load(&g_signal);
}

int tsarc_interrupt_error(void)
{
	return tsarc_error_set(TSARC_ECANCELED, "interrupted by %s",
		tsarc_signal_name(atomic_load(&g_signal)));
}

static long long monotonic_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec;
}

int tsarc_interrupt_undo_begin(const char *what, const char *recovery)
{
	pthread_mutex_lock(&g_undo_mu);
	snprintf(g_undo_what, sizeof(g_undo_what), "%s", what ? what : "an undo");
	snprintf(g_undo_recovery, sizeof(g_undo_recovery), "%s", recovery ? recovery : "");
	pthread_mutex_unlock(&g_undo_mu);
	atomic_store(&g_undoing, 1);
	return atomic_load(&g_signal);
}

void tsarc_interrupt_undo_end(void)
{
	atomic_store(&g_grace_end, monotonic_seconds() + TSARC_INTERRUPT_GRACE);
	atomic_store(&g_undoing, 0);
}

int tsarc_interrupt_may_start(void)
{
	return !tsarc_interrupted() || t_in_cleanup;
}

void tsarc_interrupt_defer(int on)
{
	atomic_store(&g_deferred, on);
}

void tsarc_interrupt_track(tsarc_child_node *n, pid_t pgid)
{
	pthread_mutex_lock(&g_children_mu);
	n->pgid = pgid;
	LIST_PUSH(g_children, n);
	pthread_mutex_unlock(&g_children_mu);
}

void tsarc_interrupt_untrack(tsarc_child_node *n)
{
	pthread_mutex_lock(&g_children_mu);
	if (n->pgid > 0)
		LIST_UNLINK(g_children, n);
	n->pgid = 0;
	n->prev = n->next = NULL;
	pthread_mutex_unlock(&g_children_mu);
}

void tsarc_interrupt_spawn_lock(void)
{
	pthread_mutex_lock(&g_children_mu);
}

void tsarc_interrupt_spawn_unlock(void)
{
	pthread_mutex_unlock(&g_children_mu);
}

static void signal_children(int sig)
{
	tsarc_child_node *n;

	pthread_mutex_lock(&g_children_mu);
	for (n = g_children; n; n = n->next)
		kill(-n->pgid, sig);
	pthread_mutex_unlock(&g_children_mu);
}

void tsarc_cleanup_add(tsarc_cleanup *c, tsarc_cleanup_fn fn, void *arg, const char *what)
{
	cleanup_lock();
	c->fn = fn;
	c->arg = arg;
	c->what = what;
	c->registered = 1;
	LIST_PUSH(g_cleanups, c);
	pthread_mutex_unlock(&g_cleanup_mu);
}

static void unlink_entry(tsarc_cleanup *c)
{
	LIST_UNLINK(g_cleanups, c);
	c->registered = 0;
}

void tsarc_cleanup_hold(void)
{
	cleanup_lock();
}

void tsarc_cleanup_release(void)
{
	pthread_mutex_unlock(&g_cleanup_mu);
}

void tsarc_cleanup_remove(tsarc_cleanup *c)
{
	cleanup_lock();
	if (c->registered)
		unlink_entry(c);
	pthread_mutex_unlock(&g_cleanup_mu);
}

int tsarc_cleanup_run(tsarc_cleanup *c)
{
	int rc = 0, was;

	/* Held while fn runs: the signal thread waits for an undo in
	 * progress instead of exiting in its middle. */
	cleanup_lock();
	if (c->registered) {
		unlink_entry(c);
		was = t_in_cleanup;
		t_in_cleanup = 1;
		rc = c->fn(c->arg);
		t_in_cleanup = was;
	}
	pthread_mutex_unlock(&g_cleanup_mu);
	return rc;
}

/* The end: children killed, every registered cleanup run (newest first:
 * the reverse of creation), a message, exit 128 + signal. */
static void finish(int sig)
{
	struct timespec until;
	/* An undo cut short is over too: the cleanups (the metrics' exit
	 * status among them) see the signal. */
	int locked, undoing = atomic_exchange(&g_undoing, 0);

	signal_children(SIGKILL);
	/* An owner running an undo holds the registry: wait for it, but not
	 * forever (a second signal means now). */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_once(&g_cleanup_once, cleanup_mu_init);
	locked = pthread_mutex_timedlock(&g_cleanup_mu, &until) == 0;
	if (locked) {
		t_in_cleanup = 1;
		while (g_cleanups) {
			tsarc_cleanup *c = g_cleanups;
			unlink_entry(c);
			if (c->fn(c->arg))
				tsarc__log(TSARC_LOG_ERROR, "interrupt", "cleanup_failed",
					"%s: cleanup failed: %s", c->what ? c->what : "?",
					tsarc_error_last()->message);
			else if (c->what)
				tsarc__log(TSARC_LOG_INFO, "interrupt", "cleaned_up", "%s: cleaned up",
					c->what);
		}
	}
	if (undoing) {
		pthread_mutex_lock(&g_undo_mu);
		tsarc__log(TSARC_LOG_ERROR, "interrupt", "interrupted",
			"interrupted by %s, then by a second signal during %s%s%s%s; exiting%s",
			tsarc_signal_name(sig), g_undo_what, g_undo_recovery[0] ? " (" : "",
			g_undo_recovery, g_undo_recovery[0] ? ")" : "",
			locked ? "" : " without cleaning up (an undo in progress did not finish)");
		pthread_mutex_unlock(&g_undo_mu);
	} else {
		tsarc__log(TSARC_LOG_ERROR, "interrupt", "interrupted", "interrupted by %s; "
			"exiting%s", tsarc_signal_name(sig),
			locked ? "" : " without cleaning up (an undo in progress did not finish)");
	}
	/* The registry stays locked: no owner starts anything more. */
	_exit(128 + sig);
}

static void *signal_main(void *arg)
{
	sigset_t set;
	siginfo_t info;
	int sig;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (!atomic_load(&g_signal)) {
			if (sigwait(&set, &sig))
				continue;
			atomic_store(&g_grace_end, monotonic_seconds() + TSARC_INTERRUPT_GRACE);
			atomic_store(&g_signal, sig);
			if (atomic_load(&g_undoing)) {
				/* An undo already under way (a failed step's
				 * rollback) is what a stop would start: it goes
				 * on, its children untouched. */
				pthread_mutex_lock(&g_undo_mu);
				tsarc__log(TSARC_LOG_WARN, "interrupt", "undo_goes_on",
					"%s received during %s: it goes on (again to exit at once)",
					tsarc_signal_name(sig), g_undo_what);
				pthread_mutex_unlock(&g_undo_mu);
				continue;
			}
			if (!atomic_load(&g_deferred))
				finish(sig);
			tsarc__log(TSARC_LOG_WARN, "interrupt", "stopping",
				"%s received: stopping (again to exit at once)", tsarc_signal_name(sig));
			signal_children(SIGTERM);
		} else {
			/* A second signal, or the grace period over (checked every
			 * second: an undo suspends it, and its end starts it anew). */
			struct timespec slice = {1, 0};
			sig = sigtimedwait(&set, &info, &slice);
			if (sig > 0 || (errno == EAGAIN && !atomic_load(&g_undoing) &&
					       monotonic_seconds() >= atomic_load(&g_grace_end)))
				finish(atomic_load(&g_signal));
		}
	}
	return NULL;
}

int tsarc_interrupt_install(void)
{
	sigset_t set;
	pthread_t th;
	pthread_attr_t attr;
	int rc;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return tsarc_error_set(TSARC_EGENERIC, "cannot block signals");
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &attr, signal_main, NULL);
	pthread_attr_destroy(&attr);
	if (rc) {
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		return tsarc_error_set(TSARC_EGENERIC, "cannot start the signal thread");
	}
	return 0;
}
