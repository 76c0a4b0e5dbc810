#ifndef TSARC_PRIVDIR_H
#define TSARC_PRIVDIR_H

/*
 * Private folders under TMPDIR for what a child process must read from a
 * file and that is a secret or data: a database client's TLS key, the RDB
 * a private redis-server loads. A signal removes them (the cleanup
 * registry); SIGKILL, the OOM killer or a power cut do not, and such a
 * folder would keep a client key or a whole Redis data set in plain text
 * on disk, with the private redis-server still running on it.
 *
 * So the owner holds an flock on the folder while it lives (the kernel
 * drops it when the process dies, whatever killed it: no pid to be
 * reused, no clock), and every tsarc that makes such a folder first
 * removes those of a dead owner (tsarc_privdir_sweep): their child that
 * recorded itself (tsarc_privdir_child) is killed when it still runs
 * there, small files are overwritten with zeros before they are unlinked.
 * The descriptor is close-on-exec: a child never holds the lock.
 */
#include "interrupt.h"

#include <limits.h>
#include <sys/types.h>

typedef struct tsarc_privdir {
	char path[PATH_MAX];
	int fd; /* the folder, locked; -1 when there is none */
	tsarc_cleanup cleanup;
} tsarc_privdir;

/* The prefixes of the folders tsarc makes; the sweep looks at these. */
#define TSARC_PRIVDIR_TLS "tsarc-tls-"
#define TSARC_PRIVDIR_REDIS "tsarc-redis-"

/* Makes <prefix>XXXXXX (mode 0700) in TMPDIR, else /tmp, locked and
 * registered for removal on a signal (`what` names it in the exit
 * message), after sweeping the folders of dead owners. */
int tsarc_privdir_make(tsarc_privdir *d, const char *prefix, const char *what);
/* Records the child that works in the folder (child.pid), so that a sweep
 * stops it if this process dies without stopping it. */
int tsarc_privdir_child(tsarc_privdir *d, pid_t pid);
/* Removes the folder and what it holds, and unlocks it; harmless when
 * there is none. 0, or -1 when something could not be removed. */
int tsarc_privdir_remove(tsarc_privdir *d);
/* Removes every folder of a known prefix in TMPDIR whose owner is gone;
 * best effort, silent. Returns how many were removed. */
int tsarc_privdir_sweep(void);

#endif
