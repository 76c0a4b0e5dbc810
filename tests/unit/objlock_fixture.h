#ifndef TSARC_TEST_OBJLOCK_FIXTURE_H
#define TSARC_TEST_OBJLOCK_FIXTURE_H

/*
 * What the tests of Object Lock in the engine (test_objlock,
 * test_forgotten) share: a repository on a folder store behind a
 * retention_store (tests/store/retention_store.h) whose clock the test
 * sets, extend-retention under a shared lock, and a check of dates.
 */
#include <stdint.h>

#include "objlock.h"
#include "repo.h"
#include "store/retention_store.h"
#include "listed.h"

#define DAY 86400

typedef struct locked {
	char dir[256];        /* the test's scratch folder (the repository in repo/) */
	tsarc_store *inner;   /* the store itself: what a purge really left */
	tsarc_store *st;      /* the same behind the retention */
	retention_store *ctl; /* the retention's clock and dates */
	tsarc_repo *repo;
} locked;

/* A new repository made with `opts` in a new scratch folder named after
 * `what`, the retention's clock at `now`. */
void locked_open(locked *l, const char *what, int64_t now,
	const tsarc_repo_init_options *opts);
/* Frees the repository and removes the folder. */
void locked_close(locked *l);
/* Extends under a shared lock at `now`; the extension's code. */
int locked_extend(locked *l, int64_t now, tsarc_extend_result *ext);
/* Every object of `objs` (of `type`) is retained until `until`. */
void locked_all_until(locked *l, tsarc_objtype type, const listed *objs, int64_t until);
/* The objects of `type` in `st` that are not in `before` (NULL: all). */
void listed_since(tsarc_store *st, tsarc_objtype type, const listed *before, listed *out);
/* How many objects of `type` `st` lists. */
size_t listed_count(tsarc_store *st, tsarc_objtype type);

#endif
