/*
 * GNU tar's stderr while it archives a live tree in a pod: per-file
 * warnings into tsarc's log and the stream's metadata (tar_stderr.h).
 * The messages are GNU tar's own (create.c, 1.26 to 1.35); the name in
 * them is quoted with its "escape" style and ':' escaped too, so the
 * first ": " that is not escaped ends it.
 */
#include "tar_stderr.h"
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* More shrunk files than this in one run is not a live volume any more;
 * the metadata stays a few MB. The rest make the run fail. */
#define PADDED_MAX 100000
#define NAME_MAX_BYTES 4096

struct tsarc_tar_stderr {
	char *tool, *base, *root;
	cJSON *padded;
	size_t npadded;
	unsigned long differs; /* lines that explain exit status 1 */
	unsigned long other;   /* lines it does not know */
};

tsarc_tar_stderr *tsarc_tar_stderr_new(const char *tool, const char *root)
{
	tsarc_tar_stderr *t = calloc(1, sizeof(*t));
	const char *slash = strrchr(tool, '/');

	if (!t || !(t->tool = strdup(tool)) || !(t->base = strdup(slash ? slash + 1 : tool)) ||
		!(t->root = strdup(root)) || !(t->padded = cJSON_CreateArray())) {
		tsarc_tar_stderr_free(t);
		return NULL;
	}
	return t;
}

void tsarc_tar_stderr_free(void *p)
{
	tsarc_tar_stderr *t = p;

	if (!t)
		return;
	free(t->tool);
	free(t->base);
	free(t->root);
	cJSON_Delete(t->padded);
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
static void shown(const tsarc_tar_stderr *t, const char *quoted, size_t qlen, char *out,
	size_t outsz)
{
	while (qlen >= 2 && quoted[0] == '.' && quoted[1] == '/') {
		quoted += 2;
		qlen -= 2;
	}
	if (qlen == 1 && quoted[0] == '.')
		qlen = 0;
	snprintf(out, outsz, "%s%s%.*s", t->root, qlen ? "/" : "", (int)qlen, quoted);
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
	cJSON *o;

	if (t->npadded >= PADDED_MAX || !(o = cJSON_CreateObject()))
		return -1;
	if (!cJSON_AddStringToObject(o, "path", name) ||
		!cJSON_AddNumberToObject(o, "zeros", (double)zeros)) {
		cJSON_Delete(o);
		return -1;
	}
	cJSON_AddItemToArray(t->padded, o);
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
			"while the pod's tar read it; stored the bytes it had (tar's %llu bytes of zero "
			"padding are left out at restore)", where, zeros, zeros);
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

cJSON *tsarc_tar_stderr_meta(void *p)
{
	tsarc_tar_stderr *t = p;
	cJSON *o;

	if (!t->npadded || !(o = cJSON_CreateObject()))
		return NULL;
	cJSON_AddItemToObject(o, "padded", t->padded);
	t->padded = NULL;
	t->npadded = 0;
	return o;
}
