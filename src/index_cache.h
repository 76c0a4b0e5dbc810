#ifndef TSARC_INDEX_CACHE_H
#define TSARC_INDEX_CACHE_H

/*
 * The local cache of a format-2 repository's index objects, so that a
 * backup to S3 does not download the whole index every run. It lives in
 * $XDG_CACHE_HOME/tsarc/<repository id>/ (else ~/.cache/tsarc/...), folders
 * made 0700. An entry is exactly the sealed bytes of the index object, so
 * nothing is in the clear here that the repository keeps sealed; it is
 * used only while its name is in the repository's listing of index/ and
 * its bytes hash to its name (index objects are named by the SHA-256 of
 * their bytes), so a damaged or planted entry is never trusted: it is
 * removed with a warning and the object downloaded again. Entries whose
 * object is gone from the repository are removed.
 *
 * Off with repo->no_cache (`--no-cache`) or TSARC_NO_CACHE set non-empty,
 * and when no folder can be made (a warning): then every index object is
 * downloaded, as without a cache.
 */
#include "repo.h"
#include "tsarc/buf.h"

typedef struct tsarc_index_cache tsarc_index_cache;

/* Opens (creating) the repository's cache folder; *out is NULL when the
 * cache is off or cannot be used. Never fails the caller's work. */
void tsarc_index_cache_open(const tsarc_repo *repo, tsarc_index_cache **out);
void tsarc_index_cache_free(tsarc_index_cache *c);
/* The cache's folder for this repository (other cached files go there). */
const char *tsarc_index_cache_dir(const tsarc_index_cache *c);
int tsarc_index_cache_dirfd(const tsarc_index_cache *c);

/* 1 and the object's sealed bytes in `out` when the cache holds `name`
 * and its bytes hash to it; 0 otherwise (a damaged entry is removed with
 * a warning). */
int tsarc_index_cache_get(tsarc_index_cache *c, const char *name, tsarc_buf *out);
/* Stores an index object's sealed bytes (already checked against its
 * name); a failure is only a warning. */
void tsarc_index_cache_put(tsarc_index_cache *c, const char *name, const uint8_t *sealed,
	size_t len);
/* Removes the entries whose names are not in `names` (the listing of
 * index/), and temporary files left by a killed run (in both folders). */
void tsarc_index_cache_retain(tsarc_index_cache *c, char *const *names, size_t n);

#endif
