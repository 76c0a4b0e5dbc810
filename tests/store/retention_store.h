#ifndef TSARC_TEST_RETENTION_STORE_H
#define TSARC_TEST_RETENTION_STORE_H

/*
 * A store (tsarc/sys/store.h) that adds S3 Object Lock semantics to
 * another one, on a clock the test sets: each put of a type other than
 * locks records a retain-until date; a purge deletes an object whose date
 * has passed and hides one whose date has not (absent from get, stat and
 * list, present in list_hidden), as a versioned bucket with a delete
 * marker does; extend_retention never shortens, extend_versions moves the
 * date of a hidden object (its version under the marker; the double keeps
 * one version per object), and retained_until reads
 * a date as in force until the test's clock passes it. For tests of what
 * prune, forget and extend-retention do, without an S3 server.
 */

#include <stdint.h>
#include "tsarc/sys/store.h"

typedef struct retention_store retention_store;

/* Wraps `inner` (owned from now on) into `*out`; `*ctl` sets the clock
 * and reads the dates until the store is freed. */
int retention_store_wrap(tsarc_store **out, retention_store **ctl, tsarc_store *inner);
void retention_store_set_now(retention_store *r, int64_t now);
/* The retain-until date of an object: 0 when it has none (or does not
 * exist); *hidden tells whether it is hidden. */
int64_t retention_store_until(retention_store *r, tsarc_objtype type, const char *name,
	int *hidden);
/* The retention puts carry now (set by set_retention), and a way to drop
 * it, so a test sees whether opening a repository sets it again. */
tsarc_retention retention_store_policy(retention_store *r);
void retention_store_drop_policy(retention_store *r);
/* How many objects of `type` carry a date (hidden ones included). */
size_t retention_store_count(retention_store *r, tsarc_objtype type);

#endif
