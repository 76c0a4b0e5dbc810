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

/* What an error's message holds in place; a longer one is kept whole
 * besides (errors.c): no message is cut. */
#define TSARC_ERROR_MESSAGE_MAX 1024

typedef struct tsarc_saved_error {
	int code; /* 0: there was no error */
	char message[TSARC_ERROR_MESSAGE_MAX]; /* the message, its start if longer */
	char *whole; /* a longer message whole (owned), else NULL */
} tsarc_saved_error;

/* Copies this thread's last error (code and message) into `e`. A long
 * message is copied whole, which the next tsarc_error_restore or
 * tsarc_error_forget of `e` frees: a saved error is either raised again
 * or forgotten. */
void tsarc_error_save(tsarc_saved_error *e);
/* The saved message, whole. */
const char *tsarc_error_saved_message(const tsarc_saved_error *e);
/* Makes `e` this thread's last error again (clears it when e->code is 0)
 * and returns e->code, for `return tsarc_error_restore(&saved);`. Its
 * long copy is freed: a second restore raises the start of the message
 * (e->message) only. */
int tsarc_error_restore(tsarc_saved_error *e);
/* Frees what `e` holds, for a saved error that is not raised again. */
void tsarc_error_forget(tsarc_saved_error *e);

#endif
