#ifndef TSARC_INTERRUPT_H
#define TSARC_INTERRUPT_H

#include <sys/types.h>

/*
 * SIGINT, SIGTERM and SIGHUP, and what must happen on them whatever the
 * command was doing: its child processes stopped (each runs in its own
 * process group, so the terminal's Ctrl-C does not reach them), what it
 * left half-done undone, its temporary files removed, its repository lock
 * released, and an exit status of 128 + the signal (130, 143, 129).
 *
 * No signal handler runs our code: the signals are blocked in every thread
 * and one thread takes them with sigwait, so everything it does is
 * ordinary thread code (locks, files, the store), never
 * async-signal-unsafe work in a handler.
 *
 * Two modes. By default a signal ends the command at once: child groups
 * get SIGKILL, the cleanup registry runs, the process exits. A command
 * that can stop cleanly (restore: it undoes a half-done Redis swap and
 * reports every step) asks for the deferred mode: the first signal sets a
 * flag that its loops check and sends SIGTERM to the child groups, and the
 * command unwinds on its own; a second signal, or TSARC_INTERRUPT_GRACE
 * seconds without an exit, ends it as in the default mode.
 *
 * A deferred command that can put back what it changed before the signal
 * or a failure (a restore with an undo snapshot rolls back: the operator
 * gets the old state, not a half-restored one) does so between
 * tsarc_interrupt_undo_begin and _end: its loops and children run as if no
 * signal had come, without the grace period (an undo takes as long as it
 * takes). A signal during it does not stop it: the one that started it, or
 * a first one during a failure's undo, only says so; the next ends the
 * command at once, saying what it cut short.
 */

/* How long a deferred command may take to stop after the first signal. */
#define TSARC_INTERRUPT_GRACE 30

/* Blocks the signals and starts the thread that takes them. Call from
 * main() before any other thread exists (threads inherit the mask). */
int tsarc_interrupt_install(void);
/* Deferred mode on (1) or off (0). */
void tsarc_interrupt_defer(int on);
/* The first signal received, or 0; 0 also between undo_begin and _end. */
int tsarc_interrupted(void);
/* The undo of what the command did starts (see above): after the first
 * signal, or after a failure, when a signal must not stop it either (the
 * first one to come is then only reported). `what` and `recovery` (both
 * copied; recovery may be NULL) complete the messages of a signal during
 * it: "the rollback from undo snapshot 1234abcd", "tsarc restore ...
 * puts back the state before the restore". Returns the signal received
 * before, or 0. */
int tsarc_interrupt_undo_begin(const char *what, const char *recovery);
/* The undo is over: tsarc_interrupted() tells the signal again (the
 * command still ends as interrupted) and the grace period starts anew. */
void tsarc_interrupt_undo_end(void);
/* Sets TSARC_ECANCELED, "interrupted by SIGTERM", and returns it. */
int tsarc_interrupt_error(void);
/* Whether new work (a child process) may start: not once interrupted,
 * except from a cleanup (undoing may need a child: kubectl apply). */
int tsarc_interrupt_may_start(void);
/* A signal name for messages: "SIGTERM". */
const char *tsarc_signal_name(int sig);

/*
 * Child process groups to stop on a signal. The node lives in the
 * caller's process record; untrack before reaping, so a group id is never
 * signalled after it could have been reused.
 */
typedef struct tsarc_child_node {
	pid_t pgid;
	struct tsarc_child_node *prev, *next;
} tsarc_child_node;

void tsarc_interrupt_track(tsarc_child_node *n, pid_t pgid);
void tsarc_interrupt_untrack(tsarc_child_node *n);
/* Held across "may it start? start it, track it": a signal then either
 * finds the child tracked, or comes first and the child never starts. */
void tsarc_interrupt_spawn_lock(void);
void tsarc_interrupt_spawn_unlock(void);

/*
 * The cleanup registry: what must not be left behind when the process is
 * ended by a signal (a temporary file with a password, a repository lock,
 * a configuration switched off). The owner adds an entry when it creates
 * the thing and, on its normal path, either runs it (tsarc_cleanup_run:
 * the undo itself) or removes it (the thing is gone or kept on purpose).
 * Each entry runs at most once, by its owner or by the signal thread
 * before the process exits; an owner calling run or remove while the
 * signal thread is cleaning up waits for it (and the process then ends).
 * The entry is the caller's memory; it must stay valid while registered.
 */
typedef int (*tsarc_cleanup_fn)(void *arg);

typedef struct tsarc_cleanup {
	tsarc_cleanup_fn fn;
	void *arg;
	const char *what; /* for the exit message: "Redis configuration of backend-redis" */
	int registered;
	struct tsarc_cleanup *prev, *next;
} tsarc_cleanup;

void tsarc_cleanup_add(tsarc_cleanup *c, tsarc_cleanup_fn fn, void *arg, const char *what);
/* Runs the entry now if still registered (then unregistered); returns what
 * fn returned, or 0 when it was not registered. */
int tsarc_cleanup_run(tsarc_cleanup *c);
/* Unregisters without running; harmless when not registered. */
void tsarc_cleanup_remove(tsarc_cleanup *c);
/* Holds off the exit cleanup while creating something an entry cleans
 * (a file in a registered folder): it then runs before or after, never
 * in the middle. Nests; keep it short. */
void tsarc_cleanup_hold(void);
void tsarc_cleanup_release(void);

#endif
