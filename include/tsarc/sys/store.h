#ifndef TSARC_SYS_STORE_H
#define TSARC_SYS_STORE_H

/*
 * The store plug-in interface. A store keeps typed, named objects and knows
 * nothing of what is in them: chunking, encryption and manifests all live
 * above it. Every store must pass tests/store/store_suite.c.
 *
 * Threading: every operation may be called from several threads at once.
 * Errors: each operation returns 0 or a negative TSARC_E* code and sets the
 * thread's last error with a message that names the object and never
 * contains a secret. TSARC_ETRANSIENT and TSARC_ENET mean "worth another
 * try"; the store has already retried as far as it sensibly can.
 */

#include <stddef.h>
#include <stdint.h>
#include "../buf.h"

typedef enum tsarc_objtype {
	TSARC_OBJ_CONFIG = 0, /* the single repository config object */
	TSARC_OBJ_KEY,        /* keys/<name> */
	TSARC_OBJ_DATA,       /* data/<name[0:2]>/<name> */
	TSARC_OBJ_SNAPSHOT,   /* snapshots/<name> */
	TSARC_OBJ_LOCK,       /* locks/<name> */
	TSARC_OBJ_INDEX,      /* index/<name> */
	TSARC_OBJ__COUNT
} tsarc_objtype;

/* put flag: fail with TSARC_EEXISTS rather than overwrite. */
#define TSARC_PUT_CREATE_ONLY 0x1u

/*
 * Called once per object; a non-zero return stops the listing and is
 * returned. `mtime` is when the object was last written, in seconds since
 * the epoch by the STORE's clock (file mtime, S3 LastModified): locks are
 * judged stale, and young chunks spared by prune, by that clock alone,
 * because the writers' own clocks may disagree with each other.
 */
typedef int (*tsarc_store_list_cb)(const char *name, uint64_t size, int64_t mtime,
	void *payload);

/*
 * The same for list_tagged: `tag` is what the store keeps of the version of
 * the object listed, and changes whenever the object is written again
 * (S3: its ETag, the MD5 of the bytes of a plain PUT; fs: the file's inode
 * and its modification and change times to the nanosecond); NULL when the
 * store has none for it. A local copy of an object is known to be the
 * store's while the store lists it with the tag and size it had when the
 * copy was read (the index cache: index_cache.h).
 */
typedef int (*tsarc_store_tag_cb)(const char *name, uint64_t size, const char *tag,
	void *payload);

/*
 * S3 Object Lock (WORM retention). A repository made with it asks its store
 * to write every object (locks excepted: they must stay removable) with a
 * retention mode and a retain-until date DAYS after the write; the server
 * then refuses to delete or shorten that version until the date, whoever
 * asks. The location keeps versions (S3 needs versioning for Object Lock),
 * so an overwrite adds a version and a plain delete only hides the object
 * behind a delete marker.
 */
typedef enum tsarc_retain_mode {
	TSARC_RETAIN_NONE = 0,
	TSARC_RETAIN_GOVERNANCE, /* removable by whoever may bypass governance */
	TSARC_RETAIN_COMPLIANCE  /* removable by nobody before the date */
} tsarc_retain_mode;

typedef struct tsarc_retention {
	tsarc_retain_mode mode;
	uint32_t days; /* 1..TSARC_RETAIN_DAYS_MAX */
} tsarc_retention;

#define TSARC_RETAIN_DAYS_MAX 36500u

/*
 * Called once per object a purge dealt with: `kept_until` is 0 when every
 * version of it is gone for good, else the latest retain-until date
 * (seconds since the epoch) of the versions the server still protects; the
 * object is then hidden (absent from listings) until a later purge after
 * that date. A non-zero return stops the purge and is returned.
 */
typedef int (*tsarc_store_purge_cb)(const char *name, int64_t kept_until, void *payload);

typedef struct tsarc_store tsarc_store;

struct tsarc_store {
	const char *kind;       /* "fs", "s3" */
	unsigned max_inflight;  /* requests worth running at once */

	/* Prepares an empty location (directories, bucket). Optional. */
	int (*create)(tsarc_store *st);
	/* Stores `len` bytes under (type, name). Atomic: readers see all or nothing. */
	int (*put)(tsarc_store *st, tsarc_objtype type, const char *name,
		const void *data, size_t len, unsigned flags);
	/* Optional: the same from the first `len` bytes of the open file `fd`,
	 * read with pread (its offset is not used); the file is the caller's.
	 * Lets an object larger than the memory budget (a 16 MiB pack) be
	 * stored without holding it: without this slot the dispatch reads the
	 * file into memory and calls put. A store may make an unnamed file
	 * that holds exactly `len` bytes the object itself (fs: linked, not
	 * copied, on its own filesystem): the caller must not change the file
	 * after a put of it succeeded. */
	int (*put_file)(tsarc_store *st, tsarc_objtype type, const char *name,
		int fd, uint64_t len, unsigned flags);
	/* Reads `length` bytes from `offset` (length 0: to the end) into `out`
	 * (appended). TSARC_ENOTFOUND when missing. */
	int (*get)(tsarc_store *st, tsarc_objtype type, const char *name,
		uint64_t offset, uint64_t length, tsarc_buf *out);
	int (*stat)(tsarc_store *st, tsarc_objtype type, const char *name,
		uint64_t *size_out);
	/* Lists every object of a type, in no particular order. */
	int (*list)(tsarc_store *st, tsarc_objtype type, tsarc_store_list_cb cb,
		void *payload);
	/* Removes an object; TSARC_ENOTFOUND when it was not there. */
	int (*remove)(tsarc_store *st, tsarc_objtype type, const char *name);
	/* Optional: removes many objects at once (batched deletes). A missing
	 * object is not an error here. */
	int (*remove_many)(tsarc_store *st, tsarc_objtype type,
		const char *const *names, size_t count);
	/* Optional: makes every completed put durable (fsync of the tree). */
	int (*sync)(tsarc_store *st);
	/*
	 * Object Lock, all optional (a NULL slot: the store has no retention).
	 * set_retention: from now on every put of a type other than
	 * TSARC_OBJ_LOCK carries `r`, and create() makes a missing location
	 * with Object Lock on; makes no request. retention_enabled: whether
	 * the location has Object Lock on. extend_retention: the current
	 * version of the object stays protected until `until` at least (a later
	 * date it already has is left alone). extend_versions: the same for
	 * every other version (never a delete marker) of each of `names`, the
	 * versions an overwrite or a plain delete left behind (the genuine one
	 * when an attacker overwrote the object), counting into *extended
	 * those whose date moved; in requests bounded by the type's folder,
	 * not one listing per name, and in memory that does not grow with the
	 * versions; a store without versions leaves it NULL. purge_many: in a
	 * location that keeps versions, deletes every version of each object whose retention
	 * has passed, hides the object when a version must stay, and reports
	 * each (a missing object is not an error); remove and remove_many of
	 * such a store do the same without the report. list_hidden: the
	 * objects of a type whose current version is a delete marker, with
	 * their newest version's mtime (store clock); nothing in a view of
	 * the past (as_of), which shows what was live then. retained_until: the
	 * retain-until date of the current version while it is in force (by
	 * the store's clock), 0 when it has none or it has passed;
	 * TSARC_ENOTFOUND when there is no current version.
	 */
	int (*set_retention)(tsarc_store *st, const tsarc_retention *r);
	int (*retention_enabled)(tsarc_store *st, int *enabled);
	int (*extend_retention)(tsarc_store *st, tsarc_objtype type, const char *name,
		int64_t until);
	int (*extend_versions)(tsarc_store *st, tsarc_objtype type, const char *const *names,
		size_t count, int64_t until, size_t *extended);
	int (*purge_many)(tsarc_store *st, tsarc_objtype type, const char *const *names,
		size_t count, tsarc_store_purge_cb cb, void *payload);
	/* purge_preview: what purge_many would report for each of `names`,
	 * deleting nothing (a dry run's figures): kept_until the latest
	 * retain-until date in force among its versions, 0 when none is, so
	 * that every version would go. The same listing and dates as
	 * purge_many; where the server alone decides (a refused delete), the
	 * dates stand for its refusal. */
	int (*purge_preview)(tsarc_store *st, tsarc_objtype type, const char *const *names,
		size_t count, tsarc_store_purge_cb cb, void *payload);
	int (*list_hidden)(tsarc_store *st, tsarc_objtype type, tsarc_store_list_cb cb,
		void *payload);
	int (*retained_until)(tsarc_store *st, tsarc_objtype type, const char *name,
		int64_t *until);
	/* Optional: removes the temporary files unfinished puts left (a
	 * killed run's) last written before `before` (store clock), calling
	 * cb with each one's name, size and mtime. A store whose puts leave
	 * nothing behind (S3: a PUT is whole or absent) has none. */
	int (*remove_temp)(tsarc_store *st, int64_t before, tsarc_store_list_cb cb,
		void *payload);
	/* Where the store is, fit for messages: never holds a secret. */
	const char *(*describe)(tsarc_store *st);
	void (*free)(tsarc_store *st);
	/* Optional: list with each object's tag (tsarc_store_tag_cb), in the
	 * same requests as list. Without it the dispatch lists with no tags. */
	int (*list_tagged)(tsarc_store *st, tsarc_objtype type, tsarc_store_tag_cb cb,
		void *payload);
};

/* Options that apply to opening any store. */
typedef struct tsarc_store_options {
	const char *cacert;      /* CA bundle for TLS stores (NULL: system) */
	int insecure_tls;        /* disable TLS verification (loud) */
	unsigned inflight;       /* 0: the store's default */
	/* S3 object PUTs (NULL: TSARC_S3_SSE, TSARC_S3_SSE_KMS_KEY_ID,
	 * TSARC_S3_STORAGE_CLASS, else the bucket's defaults). */
	const char *s3_sse;            /* "AES256" or "aws:kms" */
	const char *s3_sse_kms_key_id; /* with aws:kms */
	const char *s3_storage_class;  /* "STANDARD_IA", ... */
	/* A point-in-time view (seconds since the epoch, 0: now): every read
	 * sees each object as it was at that time (a bucket that keeps
	 * versions: S3 with Object Lock), so what an attacker overwrote or
	 * hid since is read as it was. Read-only, locks excepted (they are
	 * about who runs now). Stores without versions refuse it. */
	int64_t as_of;
} tsarc_store_options;

/*
 * The object key for (type, name) relative to the store's root, e.g.
 * "data/ab/ab12...", "snapshots/...", "config". Rejects names that could
 * escape the layout. Returns 0 or TSARC_EINVAL / TSARC_ETOOLARGE.
 */
int tsarc_store_layout(char *out, size_t outsz, tsarc_objtype type,
	const char *name);
/* "data", "snapshots", ...: the folder of a type ("" for config). */
const char *tsarc_objtype_dir(tsarc_objtype type);
/* A name of the type's own form: hex for data, [A-Za-z0-9._-] elsewhere. */
int tsarc_store_name_valid(tsarc_objtype type, const char *name);

/* Opens the store a repository URL names (a path, or s3:...). */
int tsarc_store_open(tsarc_store **out, const char *url,
	const tsarc_store_options *opts);

/* Dispatch helpers: a NULL slot becomes TSARC_EUNSUPPORTED. */
int tsarc_store_create(tsarc_store *st);
int tsarc_store_put(tsarc_store *st, tsarc_objtype type, const char *name,
	const void *data, size_t len, unsigned flags);
int tsarc_store_put_file(tsarc_store *st, tsarc_objtype type, const char *name,
	int fd, uint64_t len, unsigned flags);
int tsarc_store_get(tsarc_store *st, tsarc_objtype type, const char *name,
	uint64_t offset, uint64_t length, tsarc_buf *out);
int tsarc_store_stat(tsarc_store *st, tsarc_objtype type, const char *name,
	uint64_t *size_out);
int tsarc_store_list(tsarc_store *st, tsarc_objtype type,
	tsarc_store_list_cb cb, void *payload);
/* list_tagged where the store has it; else list, every tag NULL. */
int tsarc_store_list_tagged(tsarc_store *st, tsarc_objtype type, tsarc_store_tag_cb cb,
	void *payload);
int tsarc_store_remove(tsarc_store *st, tsarc_objtype type, const char *name);
/* Uses remove_many when the store has it, one remove per name otherwise. */
int tsarc_store_remove_many(tsarc_store *st, tsarc_objtype type,
	const char *const *names, size_t count);
int tsarc_store_sync(tsarc_store *st);
/* Object Lock dispatch: set_retention, retention_enabled and
 * extend_retention are TSARC_EUNSUPPORTED on a store without retention;
 * purge_many there is remove_many (nothing outlives a delete) reporting
 * each name as gone, list_hidden lists nothing, and retained_until says
 * 0 (nothing outlives a delete there). */
int tsarc_store_set_retention(tsarc_store *st, const tsarc_retention *r);
int tsarc_store_retention_enabled(tsarc_store *st, int *enabled);
int tsarc_store_extend_retention(tsarc_store *st, tsarc_objtype type, const char *name,
	int64_t until);
/* extend_versions where the store has it; a store with retention but no
 * versions has nothing but the current one: 0, nothing extended. Names
 * sorted by strcmp spare the store a sorted copy. */
int tsarc_store_extend_versions(tsarc_store *st, tsarc_objtype type,
	const char *const *names, size_t count, int64_t until, size_t *extended);
int tsarc_store_purge_many(tsarc_store *st, tsarc_objtype type, const char *const *names,
	size_t count, tsarc_store_purge_cb cb, void *payload);
/* purge_preview where the store has it; without retention, every name is
 * reported gone (as purge_many there would remove it). */
int tsarc_store_purge_preview(tsarc_store *st, tsarc_objtype type, const char *const *names,
	size_t count, tsarc_store_purge_cb cb, void *payload);
int tsarc_store_list_hidden(tsarc_store *st, tsarc_objtype type, tsarc_store_list_cb cb,
	void *payload);
int tsarc_store_retained_until(tsarc_store *st, tsarc_objtype type, const char *name,
	int64_t *until);
/* remove_temp where the store has it; nothing to do elsewhere. */
int tsarc_store_remove_temp(tsarc_store *st, int64_t before, tsarc_store_list_cb cb,
	void *payload);
/* "governance" / "compliance" (and "none"); parse: 0 or TSARC_EINVAL. */
const char *tsarc_retain_mode_name(tsarc_retain_mode mode);
int tsarc_retain_mode_parse(const char *s, tsarc_retain_mode *out);
const char *tsarc_store_describe(tsarc_store *st);
void tsarc_store_free(tsarc_store *st);

/* Every name of a type, as an array of strings the caller frees with
 * tsarc_store_names_free. */
int tsarc_store_list_names(tsarc_store *st, tsarc_objtype type, char ***names_out,
	size_t *count_out);
void tsarc_store_names_free(char **names, size_t count);

/* One object of a listing: its name, size and the store's time of it. */
typedef struct tsarc_store_entry {
	char *name;
	uint64_t size;
	int64_t mtime;
} tsarc_store_entry;
/* Every object of a type with its size and time, as an array the caller
 * frees with tsarc_store_entries_free. */
int tsarc_store_list_entries(tsarc_store *st, tsarc_objtype type, tsarc_store_entry **out,
	size_t *count_out);
void tsarc_store_entries_free(tsarc_store_entry *entries, size_t count);

/* Store constructors (backends/). */
int tsarc_store_fs_open(tsarc_store **out, const char *path,
	const tsarc_store_options *opts);
int tsarc_store_s3_open(tsarc_store **out, const char *url,
	const tsarc_store_options *opts);

#endif
