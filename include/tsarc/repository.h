#ifndef TSARC_REPOSITORY_H
#define TSARC_REPOSITORY_H

/*
 * Opening a repository: the first call of any program that uses the
 * library. A repository lives in a store (a folder, or an S3 bucket and
 * prefix) and is unlocked by any one of its passwords (each is a key file
 * wrapping the same master keys).
 *
 * Conventions of the whole API: a function returns 0 or a negative
 * TSARC_E* code (tsarc/errors.h) and then sets the thread's last error
 * (tsarc_error_last) with a message that names what is wrong, never a
 * secret. A function that creates something takes `**out` first and sets
 * it only on success; what it creates is released with the matching
 * `_free` function, which accepts NULL. Handles are opaque. One handle may
 * be used by one thread at a time; different handles by different threads.
 */

#include "sys/store.h"

typedef struct tsarc_repo tsarc_repo;

/*
 * Opens the repository at `url`: a path, s3:http(s)://host[:port]/bucket[/prefix]
 * or s3://bucket[/prefix] (credentials from the AWS environment). `opts`
 * may be NULL. TSARC_ENOTREPO when there is none there, TSARC_ECORRUPT
 * when its key files are there but no config (deleted, or hidden behind
 * a delete marker), TSARC_EWRONGPASS when no key file opens with
 * `password`.
 */
int tsarc_repo_open_url(tsarc_repo **out, const char *url, const char *password,
	const tsarc_store_options *opts);
/* Creates a repository with the default chunk sizes and compression in
 * an empty location; TSARC_EEXISTS when one is already there, its config
 * or only its key files. */
int tsarc_repo_init_url(tsarc_repo **out, const char *url, const char *password,
	const tsarc_store_options *opts);
/* The same over a store the caller opened (tsarc_store_open, or its own
 * implementation of tsarc/sys/store.h); the repository takes ownership of
 * `store` on success only. */
int tsarc_repo_open(tsarc_repo **out, tsarc_store *store, const char *password);
void tsarc_repo_free(tsarc_repo *repo);

/* The repository's id (64 hex digits). */
const char *tsarc_repo_id(const tsarc_repo *repo);

#endif
