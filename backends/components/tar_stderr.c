/*
 * GNU tar's stderr while it archives a live tree in a pod: per-file
 * warnings into tsarc's log and the stream's metadata (tar_stderr.h).
 * The messages are GNU tar's own (create.c, 1.26 to 1.35); the name in
 * them is quoted with its "escape" style and ':' escaped too, so the
 * first ": " that is not escaped ends it.
 */
#include "tar_stderr.h"
#include "grow.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* More shrunk files than this in one run is not a live volume any more;
 * the rest make the run fail. */
#define PADDED_MAX 100000
#define NAME_MAX_BYTES 4096

typedef struct padded {
	char *name; /* as tar stores it */
	unsigned long long zeros;
	int claimed;
} padded;

struct tsarc_tar_stderr {
	char *tool, *base, *root;
	padded *padded;
	size_t npadded, cap;
	int sorted;
	unsigned long differs; /* lines that explain exit status 1 */
	unsigned long other;   /* lines it does not know */
	pthread_mutex_t lock;  /* ended, between the drain thread and the intake */
	pthread_cond_t cond;
	int ended;
};

tsarc_tar_stderr *tsarc_tar_stderr_new(const char *tool, const char *root)
{
	tsarc_tar_stderr *t = calloc(1, sizeof(*t));
	const char *slash = strrchr(tool, '/');

	if (!t)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	if (!(t->tool = strdup(tool)) || !(t->base = strdup(slash ? slash + 1 : tool)) ||
		!(t->root = strdup(root))) {
		tsarc_tar_stderr_free(t);
		return NULL;
	}
	return t;
}

void tsarc_tar_stderr_free(void *p)
{
	tsarc_tar_stderr *t = p;
	size_t i;

	if (!t)
		return;
	free(t->tool);
	free(t->base);
	free(t->root);
	for (i = 0; i < t->npadded; i++)
		free(t->padded[i].name);
	free(t->padded);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int tsarc_tar_unquote(const char *in, size_t len, char *out, size_t outsz)
{
	static const char from[] = "abfnrtv\\:'\"?", to[] = "\a\b\f\n\r\t\v\\:'\"?";
	size_t i = 0, o = 0;

	while (i < len) {
		char c = in[i++];
		if (c == '\\') {
			const char *k;
			if (i == len)
				return -1;
			if (in[i] >= '0' && in[i] <= '7') {
				unsigned v = 0, d;
				for (d = 0; d < 3 && i < len && in[i] >= '0' && in[i] <= '7'; d++)
					v = v * 8 + (unsigned)(in[i++] - '0');
				if (v > 0xff || v == 0)
					return -1;
				c = (char)v;
			} else if (in[i] && (k = strchr(from, in[i]))) {
				c = to[k - from];
				i++;
			} else
				return -1;
		} else if (c == '\0')
			return -1;
		if (o + 1 >= outsz)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* "File shrank by N byte(s); padding with zeros": N, else 0. */
static unsigned long long shrank_by(const char *msg, size_t len)
{
	static const char head[] = "File shrank by ", one[] = " byte; padding with zeros",
		more[] = " bytes; padding with zeros";
	unsigned long long n = 0;
	size_t i = sizeof(head) - 1, digits = 0;

	if (len < i || memcmp(msg, head, i))
		return 0;
	while (i < len && msg[i] >= '0' && msg[i] <= '9' && digits < 18) {
		n = n * 10 + (unsigned long long)(msg[i++] - '0');
		digits++;
	}
	if (!digits || !((len - i == sizeof(one) - 1 && !memcmp(msg + i, one, len - i) && n == 1) ||
		    (len - i == sizeof(more) - 1 && !memcmp(msg + i, more, len - i))))
		return 0;
	return n;
}

static int is(const char *msg, size_t len, const char *text)
{
	return len == strlen(text) && !memcmp(msg, text, len);
}

/* "./x" as tar names it, under the folder it archived, for messages. */
static void shown(const tsarc_tar_stderr *t, const char *name, size_t len, char *out,
	size_t outsz)
{
	while (len >= 2 && name[0] == '.' && name[1] == '/') {
		name += 2;
		len -= 2;
	}
	if (len == 1 && name[0] == '.')
		len = 0;
	snprintf(out, outsz, "%s%s%.*s", t->root, len ? "/" : "", (int)len, name);
}

void tsarc_tar_stderr_where(const tsarc_tar_stderr *t, const char *name, char *out,
	size_t outsz)
{
	shown(t, name, strlen(name), out, outsz);
}

/* The line's "NAME: MESSAGE" after "TOOL: ", or 0. */
static int split(const tsarc_tar_stderr *t, const char *line, size_t len, const char **name,
	size_t *nlen, const char **msg, size_t *mlen)
{
	const char *prog[2] = {t->tool, t->base};
	size_t i, k, pl;

	for (k = 0; k < 2; k++) {
		pl = strlen(prog[k]);
		if (len > pl + 2 && !memcmp(line, prog[k], pl) && line[pl] == ':' && line[pl + 1] == ' ')
			break;
	}
	if (k == 2)
		return 0;
	line += pl + 2;
	len -= pl + 2;
	for (i = 0; i + 1 < len; i++) {
		if (line[i] == '\\') {
			i++;
			continue;
		}
		if (line[i] == ':' && line[i + 1] == ' ') {
			*name = line;
			*nlen = i;
			*msg = line + i + 2;
			*mlen = len - i - 2;
			return i > 0;
		}
	}
	return 0;
}

static int add_padded(tsarc_tar_stderr *t, const char *name, unsigned long long zeros)
{
	if (t->npadded >= PADDED_MAX)
		return -1;
	if (TSARC_RESERVE(t->padded, t->npadded, t->cap, 16) ||
		!(t->padded[t->npadded].name = strdup(name)))
		return -1;
	t->padded[t->npadded].zeros = zeros;
	t->padded[t->npadded].claimed = 0;
	t->npadded++;
	return 0;
}

void tsarc_tar_stderr_line(void *p, const char *line, size_t len, int cut)
{
	static const char kubectl[] = "command terminated with exit code ";
	tsarc_tar_stderr *t = p;
	const char *qname, *msg;
	size_t qlen, mlen;
	char name[NAME_MAX_BYTES + 1], where[NAME_MAX_BYTES + 512];
	unsigned long long zeros;

	if (len && line[len - 1] == '\r')
		len--;
	/* kubectl's own line for a command that exited non-zero. */
	if (!cut && len > sizeof(kubectl) - 1 && !memcmp(line, kubectl, sizeof(kubectl) - 1))
		return;
	if (cut || !split(t, line, len, &qname, &qlen, &msg, &mlen) ||
		tsarc_tar_unquote(qname, qlen, name, sizeof(name))) {
		t->other++;
		return;
	}
	shown(t, qname, qlen, where, sizeof(where));
	if ((zeros = shrank_by(msg, mlen))) {
		if (add_padded(t, name, zeros)) {
			t->other++;
			return;
		}
		t->differs++;
		tsarc__log(TSARC_LOG_WARN, "files", "file_shrank", "%s: file shrank by %llu bytes "
			"while the pod's tar read it; stored the bytes it had, not tar's zero padding",
			where, zeros);
	} else if (is(msg, mlen, "file changed as we read it")) {
		t->differs++;
		tsarc__log(TSARC_LOG_WARN, "files", "file_changed", "%s: file changed or grew while "
			"the pod's tar read it; stored as tar read it (the size it had when tar began)",
			where);
	} else if (is(msg, mlen, "File removed before we read it")) {
		t->differs++;
		tsarc__log(TSARC_LOG_WARN, "files", "file_vanished", "%s: removed while the pod's "
			"tar read the tree; left out", where);
	} else if (is(msg, mlen, "socket ignored") || is(msg, mlen, "door ignored")) {
		tsarc__log(TSARC_LOG_WARN, "files", "file_skipped", "%s: skipped, a %s is not "
			"backed up", where, msg[0] == 's' ? "socket" : "door");
	} else
		t->other++;
}

int tsarc_tar_stderr_exit_ok(void *p, int status)
{
	const tsarc_tar_stderr *t = p;

	return status == 1 && t->differs > 0 && t->other == 0;
}

void tsarc_tar_stderr_end(void *p)
{
	tsarc_tar_stderr *t = p;

	pthread_mutex_lock(&t->lock);
	t->ended = 1;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

int tsarc_tar_stderr_wait(tsarc_tar_stderr *t, const atomic_int *stop)
{
	int ended;

	pthread_mutex_lock(&t->lock);
	/* The stop flag is not signalled: looked at every 100 ms. */
	while (!t->ended && !atomic_load(stop)) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&t->cond, &t->lock, &until);
	}
	ended = t->ended;
	pthread_mutex_unlock(&t->lock);
	return ended ? 0 : -1;
}

static int padded_cmp(const void *a, const void *b)
{
	return strcmp(((const padded *)a)->name, ((const padded *)b)->name);
}

unsigned long long tsarc_tar_stderr_padding(tsarc_tar_stderr *t, const char *name)
{
	padded key, *hit;

	if (!t->sorted) {
		if (t->npadded > 1)
			qsort(t->padded, t->npadded, sizeof(padded), padded_cmp);
		t->sorted = 1;
	}
	key.name = (char *)name;
	if (!t->npadded || !(hit = bsearch(&key, t->padded, t->npadded, sizeof(padded),
				     padded_cmp)))
		return 0;
	/* Named twice (two entries of one name): each claims its own. */
	while (hit > t->padded && !strcmp(hit[-1].name, name))
		hit--;
	for (; hit < t->padded + t->npadded && !strcmp(hit->name, name); hit++)
		if (!hit->claimed) {
			hit->claimed = 1;
			return hit->zeros;
		}
	return 0;
}

const char *tsarc_tar_stderr_unclaimed(const tsarc_tar_stderr *t, unsigned long long *zeros)
{
	size_t i;

	for (i = 0; i < t->npadded; i++)
		if (!t->padded[i].claimed) {
			*zeros = t->padded[i].zeros;
			return t->padded[i].name;
		}
	return NULL;
}
