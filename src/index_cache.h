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
 * Nor does an entry vouch for the store: it is used only while the store
 * lists its object with the stamp (size and tag: tsarc_store_tag_cb)
 * recorded beside it, in <name>.tag, when the store's copy was last found
 * whole. Else (the store's object written again since, or never compared:
 * one this host stored, whose tag a folder store only lists) the entry is
 * dropped and the store's copy read and checked like any other: a damaged
 * one is damage here as on a host without the cache. Before, a host
 * whose cache held a good copy of an object damaged in the store went on
 * deduplicating against it (snapshots no other host could read) and prune
 * ran there where it refuses elsewhere. What this costs an open where
 * nothing changed: the one LIST of index/ it made anyway, and a small
 * local file read per object. An object this process stores is tagged
 * with its MD5, the ETag S3 lists for a plain PUT, so on S3 it is not
 * read back; a folder store lists a tag (inode, times) no one can
 * predict, and the next open reads it once. A change the store's listing
 * does not show (bits rotting under a file system that keeps the file's
 * times) is not seen here: check reads the store's copies.
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

/* 1 and the object's sealed bytes in `out` when the cache holds `name`,
 * vouched for (below), and its bytes hash to it; 0 otherwise (an entry
 * not vouched for is dropped; a damaged one is removed with a warning). */
int tsarc_index_cache_get(tsarc_index_cache *c, const char *name, tsarc_buf *out);
/* 1 when the listing given to retain lists `name` with the stamp recorded
 * for the cache's entry: the store holds the bytes the entry holds. */
int tsarc_index_cache_vouches(tsarc_index_cache *c, const char *name);
/* Stores an index object's sealed bytes (already checked against its
 * name); a failure is only a warning. Read from the store after the
 * listing, it is tagged with the listing's stamp; stored by this process
 * (a name not listed), with the bytes' size and MD5. */
void tsarc_index_cache_put(tsarc_index_cache *c, const char *name, const uint8_t *sealed,
	size_t len);
/* Takes the listing of index/ (names, and each one's stamp "<size>:<tag>"
 * or NULL) for the calls after it, and removes the entries whose names
 * are not listed, and temporary files left by a killed run (in both
 * folders). */
void tsarc_index_cache_retain(tsarc_index_cache *c, char *const *names, char *const *stamps,
	size_t n);

#endif
