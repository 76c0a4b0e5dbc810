#ifndef TSARC_ERRORS_H
#define TSARC_ERRORS_H

/*
 * Error codes: 0 is success, every failure is a small negative number.
 * Codes are only ever appended to this list, never renumbered, because
 * scripts and plug-ins may depend on them.
 */
#define TSARC_ERRNO_MAP(XX)                                                   \
	XX(EGENERIC, -1, "error")                                             \
	XX(ENOMEM, -2, "out of memory")                                       \
	XX(EINVAL, -3, "invalid argument")                                    \
	XX(ENOTFOUND, -4, "not found")                                        \
	XX(EEXISTS, -5, "already exists")                                     \
	XX(EIO, -6, "input/output error")                                     \
	XX(ECORRUPT, -7, "data is damaged")                                   \
	XX(EWRONGPASS, -8, "wrong password")                                  \
	XX(ENOTREPO, -9, "not a tsarc repository")                            \
	XX(EACCESS, -10, "access denied")                                     \
	XX(ENET, -11, "network error")                                        \
	XX(ETRANSIENT, -12, "temporary failure")                              \
	XX(EUNSUPPORTED, -13, "not supported")                                \
	XX(ELOCKED, -14, "repository is locked")                              \
	XX(ECANCELED, -15, "canceled")                                        \
	XX(ETOOLARGE, -16, "too large")                                       \
	XX(ECONFIG, -17, "configuration error")                               \
	XX(EUNSAFE, -18, "unsafe input refused")

typedef enum tsarc_errcode {
	TSARC_OK = 0,
#define TSARC__ERR_ENUM(name, value, text) TSARC_##name = (value),
	TSARC_ERRNO_MAP(TSARC__ERR_ENUM)
#undef TSARC__ERR_ENUM
} tsarc_errcode;

/* The last error raised on this thread: a code and a human message. */
typedef struct tsarc_error {
	int code;
	const char *message;
} tsarc_error;

const char *tsarc_strerror(int code);
/* "ENOTFOUND" and so on; "UNKNOWN" for a code not in the map. */
const char *tsarc_errname(int code);

/*
 * Records a failure for this thread and returns `code`, so that the usual
 * pattern is `return tsarc_error_set(TSARC_EIO, "reading %s: %s", ...)`.
 */
int tsarc_error_set(int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* The last error of this thread; never NULL (code 0 when none). */
const tsarc_error *tsarc_error_last(void);
void tsarc_error_clear(void);
/* Prefixes the current message with context ("snapshot 1a2b: ..."): fmt
 * names the context only; the ": " between it and the message is added here. */
void tsarc_error_prefix(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2)))
#endif
	;

/* Non-zero when retrying the same operation cannot help. */
int tsarc_error_is_permanent(int code);

#endif
