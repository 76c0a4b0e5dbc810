#ifndef TSARC_REDIS_CLIENT_H
#define TSARC_REDIS_CLIENT_H

/*
 * A small native Redis client (RESP2) for what redis-cli cannot do for us:
 * a managed Redis reached over TLS with a CA, certificate and key that
 * exist only as PEM text in a Secret (loaded from memory, never a file or
 * an argument), an ACL user, Sentinel, and commands pipelined in a bounded
 * window. Blocking sockets with time limits; one connection per object,
 * used by one thread.
 */
#include <stddef.h>

typedef struct tsarc_redis_opts {
	const char *host;     /* TCP host (name or address) */
	int port;             /* 0: 6379 */
	const char *socket;   /* a unix socket instead of host/port */
	const char *user;     /* ACL user (AUTH user password); NULL: default */
	const char *password; /* NULL: no AUTH */
	int tls;
	const char *ca_pem;   /* PEM text; NULL: the system's CAs */
	const char *cert_pem; /* client certificate (and chain), PEM text */
	const char *key_pem;  /* its private key, PEM text */
	const char *server_name; /* name to verify; NULL: host */
	int connect_timeout_ms;  /* 0: 10 s */
	int io_timeout_ms;       /* 0: 300 s (FLUSHDB of a big db, large DUMPs) */
} tsarc_redis_opts;

typedef struct tsarc_redis tsarc_redis;

/* Reply types are RESP2's first byte; TSARC_REDIS_NIL for a null bulk or
 * array. */
#define TSARC_REDIS_NIL 'n'
typedef struct tsarc_redis_reply {
	int type;             /* '+', '-', ':', '$', '*' or TSARC_REDIS_NIL */
	long long integer;    /* ':' */
	char *str;            /* '+', '-', '$': NUL-terminated, len bytes */
	size_t len;
	struct tsarc_redis_reply **elem; /* '*' */
	size_t nelem;
} tsarc_redis_reply;

void tsarc_redis_reply_free(tsarc_redis_reply *r);
/* An error reply meaning "this user may not" or "this server has no such
 * command" (NOPERM, unknown or renamed command): the caller falls back. */
int tsarc_redis_reply_refused(const tsarc_redis_reply *r);
/* The same of an error's text, however it came (redis-cli prints one). */
int tsarc_redis_error_refused(const char *error);
/* The command an error says this user may not run ("NOPERM ... no
 * permissions to run the 'dump' command"): its length, *name pointing
 * into `error`, which is what to grant (+dump). 0 for any other error,
 * a NOPERM for a key the user's patterns leave out among them: that says
 * nothing of the command. */
size_t tsarc_redis_noperm_command(const char *error, const char **name);
/* How Redis answered command `cmd` (as a message names it, "INFO cluster")
 * with the error reply `reply`, in words that go on from "Redis at
 * ADDRESS ", into `out`: "refuses CMD to WHO (REPLY): grant the user
 * +NAME" (a NOPERM naming the command: the ACL rule to grant), "does not
 * know CMD (REPLY): renamed or disabled in its configuration
 * (rename-command)", or "answered CMD with an error: REPLY" (its first
 * line). Returns the code of such an error: TSARC_EACCESS,
 * TSARC_EUNSUPPORTED or TSARC_EIO. */
int tsarc_redis_refusal_words(char *out, size_t outsz, const char *cmd, const char *who,
	const char *reply);

/* Connects, does the TLS handshake (server verified) and AUTH (also for
 * a user given without a password: never the default user in its place).
 * Errors name the address, never the password. `what` names the server
 * in messages ("Redis", "Sentinel"). */
int tsarc_redis_connect(tsarc_redis **out, const tsarc_redis_opts *o, const char *what);
void tsarc_redis_close(tsarc_redis *r);
/* "host:port" or the socket path, for messages. */
const char *tsarc_redis_where(const tsarc_redis *r);
/* The key name a restore's probes ask this server with (logical.h
 * tsarc_redis_probe_key_choose; `len` bytes, copied; NULL: none, the
 * probes' own name). Kept with the connection: every probe of one target
 * asks through it, and the name is this user's to write there. */
int tsarc_redis_probe_key_set(tsarc_redis *r, const void *key, size_t len);
const unsigned char *tsarc_redis_probe_key(const tsarc_redis *r, size_t *len);

/* Queues one command (argc arguments of given lengths; lens NULL: C
 * strings); nothing is sent until a read or a flush. */
int tsarc_redis_append(tsarc_redis *r, int argc, const char *const argv[], const size_t lens[]);
/* Queues raw RESP bytes (one or more whole commands, `ncmds` of them). */
int tsarc_redis_append_raw(tsarc_redis *r, const void *data, size_t len, size_t ncmds);
int tsarc_redis_flush(tsarc_redis *r);
/* Commands sent or queued whose replies have not been read. */
size_t tsarc_redis_pending(const tsarc_redis *r);
/* Bytes queued and not yet sent. */
size_t tsarc_redis_queued(const tsarc_redis *r);
/* The next reply (flushes what is queued first). An error reply is a
 * reply, not a failure; a broken connection or a malformed reply is. */
int tsarc_redis_read(tsarc_redis *r, tsarc_redis_reply **out);
/* One command of C strings (NULL-terminated list), its reply. */
int tsarc_redis_command(tsarc_redis *r, tsarc_redis_reply **out, const char *arg0, ...);
/* The same, and an error reply becomes TSARC_EIO naming `what`. */
int tsarc_redis_command_ok(tsarc_redis *r, tsarc_redis_reply **out, const char *what,
	const char *arg0, ...);

/* Raw access to the reply stream (SYNC): a line without its CRLF (at most
 * max-1 bytes, NUL-terminated), and up to `len` bytes as they come. */
int tsarc_redis_read_line(tsarc_redis *r, char *line, size_t max);
int tsarc_redis_read_some(tsarc_redis *r, void *buf, size_t len, size_t *got);

/* Largest bulk reply accepted (Redis's own limit is 512 MB). */
#define TSARC_REDIS_BULK_MAX ((size_t)1 << 30)

#endif
