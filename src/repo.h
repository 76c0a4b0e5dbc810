#ifndef TSARC_REPO_H
#define TSARC_REPO_H

#include <pthread.h>

#include "chunker.h"
#include "codec.h"
#include "crypto.h"
#include "tsarc/sys/store.h"

/* The format a new repository gets unless told otherwise, and the newest
 * this build reads and writes (both formats are read and written). Format
 * 1 stores each chunk (1 MiB on average) as its own object; format 2
 * stores chunks of 64 KiB on average in packs found through an index
 * (pack.h, index.h): tens of objects per GiB instead of ~900, and a dump
 * with scattered edits stores a tenth as much again (bench/RESULTS.md,
 * P3s and P9), so it is the default. */
#define TSARC_FORMAT_VERSION 2
#define TSARC_FORMAT_MAX 2

/* scrypt cost for new keys: 32 MiB of memory, ~0.1 s on these machines. */
#define TSARC_SCRYPT_N_DEFAULT 32768
#define TSARC_SCRYPT_R_DEFAULT 8
#define TSARC_SCRYPT_P_DEFAULT 1
/* `init --kdf-memory`'s range (N = MiB * 1024 at r = 8). The top is the
 * most a key file may ask for (TSARC_SCRYPT_WORK_MAX); the bottom, an
 * eighth of the default, still makes each password guess cost megabytes
 * of memory: for pods with a small memory limit and for test suites that
 * open repositories thousands of times. */
#define TSARC_KDF_MEMORY_MIN_MIB 4u
#define TSARC_KDF_MEMORY_MAX_MIB 256u

typedef struct tsarc_repo_init_options {
	tsarc_chunker_params chunker; /* zeros: defaults */
	tsarc_codec_id codec;
	int level; /* 0: the codec's default */
	uint64_t scrypt_n; /* 0: default */
	tsarc_retention retention; /* Object Lock (mode NONE: none); see objlock.h */
	uint32_t format;    /* 0: TSARC_FORMAT_VERSION */
	uint32_t pack_size; /* format 2: target pack bytes; 0: default */
} tsarc_repo_init_options;

struct tsarc_index;
/* A format-2 repository's index, loaded on the first read of a chunk, and
 * again at the next read once this process stored an index object (stale:
 * a backup's, whose chunks the same handle may read next, as the rollback
 * of restore --undo-snapshot does). */
typedef struct tsarc_repo_index {
	pthread_mutex_t lock;
	struct tsarc_index *idx;
	int stale;
} tsarc_repo_index;

typedef struct tsarc_repo {
	tsarc_store *store; /* owned */
	char id[TSARC_ID_HEX_LEN + 1];
	uint32_t version;
	uint32_t pack_size; /* format 2 */
	tsarc_repo_index index;
	tsarc_chunker_params chunker;
	uint8_t chunker_seed[32];
	tsarc_codec_id codec;
	int level;
	uint8_t enc_key[TSARC_KEY_LEN];
	uint8_t id_key[TSARC_KEY_LEN];
	char key_name[TSARC_ID_HEX_LEN + 1]; /* the key file the password opened */
	uint64_t key_n;                      /* its scrypt cost, for keys added */
	tsarc_retention retention;           /* Object Lock of every write (objlock.h) */
	int no_cache; /* format 2: no local index cache (index_cache.h) */
} tsarc_repo;

/* Creates a repository in an empty location; takes ownership of `store`
 * on success. TSARC_EEXISTS when one is already there, or key files
 * without a config (a repository whose config is deleted or hidden). */
int tsarc_repo_init(tsarc_repo **out, tsarc_store *store, const char *password,
	const tsarc_repo_init_options *opts);
/* Opens a repository; takes ownership of `store` on success.
 * TSARC_ENOTREPO (no config and no key file there), TSARC_EWRONGPASS or
 * TSARC_ECORRUPT (key files without a config among others) on failure. */
int tsarc_repo_open(tsarc_repo **out, tsarc_store *store, const char *password);
/* The same, trying first the key files whose names start with `key_hint`
 * (may be NULL). One open spends a bounded amount of scrypt work whatever
 * the number of key files: TSARC_ETOOLARGE when the password opened none
 * of those it could try and others were left untried. */
int tsarc_repo_open_hint(tsarc_repo **out, tsarc_store *store, const char *password,
	const char *key_hint);
void tsarc_repo_free(tsarc_repo *repo);
/* Checks a key file: content matches its name, fields parse. */
/* Key files: each wraps the same master keys with another password, so
 * a password can be added, changed or withdrawn without re-encrypting
 * anything. */
/* Adds a key file for `password` (same scrypt cost as the key in use);
 * its name goes to `name_out`. */
int tsarc_repo_add_key(tsarc_repo *repo, const char *password,
	char name_out[TSARC_ID_HEX_LEN + 1]);
/* The key files as a cJSON array of {id, created, host, current}; a
 * damaged one is listed with "damaged": true. */
struct cJSON;
int tsarc_repo_list_keys(tsarc_repo *repo, struct cJSON **out);
/* What a key file's removal left. Under Object Lock a key file whose
 * retention has not passed is only hidden: its version stays in the bucket
 * until kept_until, and until then its password still opens the
 * repository (--as-of) for whoever can read old versions. An operator
 * withdrawing a leaked password must be told so, with the date. */
typedef struct tsarc_key_removal {
	int was_hidden;	    /* it was one hidden by another hand, now confirmed */
	int64_t kept_until; /* 0: deleted for good (or no Object Lock) */
} tsarc_key_removal;

/* Removes the key file named by `id` (or a unique prefix of it): never the
 * one in use (TSARC_EINVAL), and only while the one in use is still stored
 * intact (TSARC_ENOTFOUND, TSARC_ECORRUPT), so at least one password
 * always opens the repository. Its full name goes to `name_out`. Two
 * removals at once are kept apart by an exclusive lock (cmd_key.c).
 * Under Object Lock it hides the key file, then marks it removed where it
 * is kept (forgotten.h); with no listed key file of that id, one hidden
 * by another hand is the one whose removal this confirms. What it left
 * goes to *how (may be NULL). */
int tsarc_repo_remove_key(tsarc_repo *repo, const char *id,
	char name_out[TSARC_ID_HEX_LEN + 1], tsarc_key_removal *how);

/*
 * The key files of this repository that `password` opens, the one in use
 * first (TSARC_EWRONGPASS when it is not one of them): each that wraps
 * the master keys in use. A key file of another repository that the
 * password opens is not one (it opens nothing here), nor is a damaged
 * one. Every key file is tried, within the scrypt budget of an open:
 * TSARC_ETOOLARGE when some could not be, as nothing can then be said of
 * them. Free *out with tsarc_store_names_free.
 */
int tsarc_repo_keys_of_password(tsarc_repo *repo, const char *password, char ***out,
	size_t *count);
/*
 * Changes a password: a key file for new_password, then every key file of
 * this repository that old_password opens removed (tsarc_repo_keys_of_
 * password, found before anything is written: a refusal changes nothing).
 * A password is what people hold, key files are where it is kept: two key
 * files with one password (added twice, or two people who chose alike)
 * are one password, and an operator changing it because it leaked expects
 * it to open nothing after, whichever key file it would have opened. Each
 * removal first checks that the new key file is still stored intact
 * (tsarc_repo_remove_key), so some key always opens the repository. The
 * names removed go to *removed (the key in use first; free with
 * tsarc_store_names_free), also when a removal fails part way (its error
 * says which are left); *kept_until gets the latest date until which
 * Object Lock keeps one of them hidden (0: none kept), as until then the
 * old password still opens the repository as it was (tsarc_key_removal).
 * Hold the repository alone (an exclusive lock).
 */
int tsarc_repo_change_password(tsarc_repo *repo, const char *old_password,
	const char *new_password, char added[TSARC_ID_HEX_LEN + 1], char ***removed,
	size_t *nremoved, int64_t *kept_until);
/* The largest key file read: tsarc writes a few hundred bytes, and one
 * past this is damage (also what looking for a repository elsewhere reads
 * of a candidate's key file: tree/repofind.c, s3sys/repo.c). */
#define TSARC_KEY_FILE_MAX (64 * 1024)
int tsarc_repo_verify_key_file(const uint8_t *raw, size_t len, const char *name);
/* The names of the key files keys/ lists: those of a key file's form (the
 * lower-case hex of its SHA-256), which every reader of keys/ goes by; the
 * rest (key remove's marks, a file someone left there) is no key file.
 * Free with tsarc_store_names_free. */
int tsarc_repo_key_names(tsarc_store *store, char ***out, size_t *count);

/* 1 when `key`, relative to a repository's root, has the form of an
 * object a repository writes (the layout above, with the names tsarc
 * gives: HEX is 64 lower-case hex digits): "config", keys/HEX,
 * snapshots/HEX and snapshots/HEX.forgotten, locks/HEX, index/HEX, and
 * data/XX/HEX where XX are HEX's first two digits. Anything else under
 * those folders (a file of 3scale's in a bucket that holds a repository
 * at its root) is no object of the repository's. */
int tsarc_repo_object_key(const char *key);

/* The chunk id: HMAC-SHA256 under the repository's id key. */
int tsarc_repo_chunk_id(const tsarc_repo *repo, const uint8_t *data,
	size_t len, uint8_t id[TSARC_ID_LEN]);
/* The same ids, many on one thread: tsarc_hmac_mac with this context
 * (keyed with the id key) gives them. */
int tsarc_repo_chunk_id_ctx(const tsarc_repo *repo, tsarc_hmac_ctx **out);
/*
 * Compresses and encrypts a chunk into `out` (replacing its contents);
 * `scratch` is a reusable buffer for the compressed form.
 */
int tsarc_repo_seal_chunk(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t id[TSARC_ID_LEN], const uint8_t *data, size_t len,
	tsarc_buf *scratch, tsarc_buf *out);
/*
 * Decrypts, decompresses and verifies a stored chunk: the AEAD tag (which
 * binds the chunk to its id), the size the manifest expects and, with
 * check_id, the id recomputed from the content. Any mismatch is
 * TSARC_ECORRUPT naming the chunk.
 */
int tsarc_repo_open_chunk(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t id[TSARC_ID_LEN], const uint8_t *sealed, size_t sealed_len,
	size_t plain_len, int check_id, tsarc_buf *scratch, tsarc_buf *out);
/* The same into `out`, room for exactly plain_len bytes (a run of chunks
 * read into one buffer). */
int tsarc_repo_open_chunk_to(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t id[TSARC_ID_LEN], const uint8_t *sealed, size_t sealed_len,
	size_t plain_len, int check_id, tsarc_buf *scratch, uint8_t *out);
/* The sizes a stored chunk of `plain_len` bytes can have (sealed:
 * codec byte, payload, AEAD overhead). A stored object outside them is
 * damaged (torn by a crash, truncated), whatever a listing or a manifest
 * says. */
void tsarc_repo_chunk_size_bounds(size_t plain_len, uint64_t *min_out, uint64_t *max_out);
/* 1 when `stored` is within tsarc_repo_chunk_size_bounds(plain_len). */
int tsarc_repo_chunk_size_plausible(size_t plain_len, uint64_t stored);
/* Reads and verifies one chunk from the store (format 2: through the
 * index, from its pack). */
int tsarc_repo_read_chunk(const tsarc_repo *repo, tsarc_codec *codec,
	const uint8_t id[TSARC_ID_LEN], size_t plain_len, int check_id,
	tsarc_buf *sealed, tsarc_buf *scratch, tsarc_buf *out);

/* Encrypted whole objects (snapshots, config). The object's name for
 * snapshots is the SHA-256 of the stored bytes, so damage is seen before
 * decryption and names cannot be swapped. */
int tsarc_repo_seal_object(const tsarc_repo *repo, const char *role,
	const void *plain, size_t len, tsarc_buf *out);
int tsarc_repo_open_object(const tsarc_repo *repo, const char *role,
	const uint8_t *sealed, size_t len, tsarc_buf *out);

/*
 * The config's plaintext (JSON) into repo's version, pack_size, id,
 * chunker, chunker_seed, codec, level and retention: 0, TSARC_ECORRUPT
 * with a message, or TSARC_EUNSUPPORTED for a format this build does not
 * read. Authenticated, but still checked: whoever holds the key wrote it
 * (tests/fuzz/fuzz_repo_config.c). On failure some fields may be set.
 */
int tsarc__repo_config_parse(tsarc_repo *repo, const uint8_t *json, size_t len);
/* The config's JSON as it is stored (sealed) for repo; *out holds the
 * chunker seed: free it with tsarc_secure_free_str (wipe.h). */
int tsarc__repo_config_print(char **out, const tsarc_repo *repo);

/* The index of a format-2 repository (thread-safe): loaded at the first
 * call, and again when this process stored an index object since (the
 * one it replaces stays valid for whoever still reads it, until the
 * repository or tsarc_repo_drop_index frees it); NULL with an error when
 * it cannot be loaded. */
struct tsarc_index *tsarc_repo_get_index(const tsarc_repo *repo, int *rc);
/* Forgets the loaded index (after index objects were replaced). */
void tsarc_repo_drop_index(tsarc_repo *repo);

#endif
