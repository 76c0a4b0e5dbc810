#ifndef TSARC_ERROR_SAVE_H
#define TSARC_ERROR_SAVE_H

/*
 * The last error is thread-local (include/tsarc/errors.h): a worker
 * thread's failure must be copied out before the thread ends for the
 * thread that joins it to report it, and a clean-up on a failure path
 * (removing a lock, closing a temporary file) may set an error of its own
 * that must not replace the one being reported. Both save the error here
 * and raise it again where it is reported.
 */

/* As long as the message of errors.c: nothing is cut when restored. */
#define TSARC_ERROR_MESSAGE_MAX 1024

typedef struct tsarc_saved_error {
	int code; /* 0: there was no error */
	char message[TSARC_ERROR_MESSAGE_MAX];
} tsarc_saved_error;

/* Copies this thread's last error (code and message) into `e`. */
void tsarc_error_save(tsarc_saved_error *e);
/* Makes `e` this thread's last error again (clears it when e->code is 0)
 * and returns e->code, for `return tsarc_error_restore(&saved);`. */
int tsarc_error_restore(const tsarc_saved_error *e);

#endif
