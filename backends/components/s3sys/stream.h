#ifndef TSARC_S3SYS_STREAM_H
#define TSARC_S3SYS_STREAM_H

/*
 * The stream of an s3 system-storage component: a pax tar that any tar
 * reads without tsarc. One regular-file entry per object, in key order;
 * the entry's body is the object's body, and its extended attributes
 * (pax SCHILY.xattr records, which GNU tar and bsdtar restore with
 * --xattrs) carry what S3 keeps beside the body:
 *   user.s3.key            the key, byte for byte (authoritative)
 *   user.s3.content-type   the Content-Type, when the object has one
 *   user.s3.meta.NAME      each x-amz-meta-NAME (NAME lower case)
 * The entry name is the key itself when the key is a safe relative path,
 * else "s3-unsafe-keys/N" (N the entry's index): extracting the tar never
 * writes outside the folder, and the key is still exact in user.s3.key.
 *
 * The stream is untrusted input at restore: the reader checks every entry
 * (regular file, valid key, attributes of known names and bounded sizes,
 * keys strictly ascending, so no duplicates) and fails naming the entry.
 */

#include <stddef.h>
#include <stdint.h>

struct archive;

#define TSARC_S3SYS_META_MAX 64       /* user metadata entries per object */
#define TSARC_S3SYS_HEADER_MAX 8192   /* bytes of metadata per object (S3: 2 KiB) */

typedef struct tsarc_s3sys_meta {
	const char *name;  /* lower case, without x-amz-meta- */
	const char *value;
} tsarc_s3sys_meta;

typedef struct tsarc_s3sys_obj {
	const char *key;
	const char *content_type; /* NULL: none */
	const tsarc_s3sys_meta *meta;
	size_t nmeta;
	uint64_t size;
	int64_t mtime; /* seconds since the epoch; the entry's mtime */
} tsarc_s3sys_obj;

/* An object's key, Content-Type and metadata, each string its own: what
 * the reader gathers from an entry's attributes, and what a restore keeps
 * of an object until its PUT. */
typedef struct tsarc_s3sys_attrs {
	char *key, *type; /* type NULL: none */
	char *names[TSARC_S3SYS_META_MAX], *values[TSARC_S3SYS_META_MAX];
	size_t nmeta;
} tsarc_s3sys_attrs;

/* Copies o's key, type and metadata into `a` (whatever it held is not
 * freed). On failure `a` holds what was copied: dispose it. */
int tsarc_s3sys_attrs_copy(tsarc_s3sys_attrs *a, const tsarc_s3sys_obj *o);
/* Frees every string and zeroes `a`. */
void tsarc_s3sys_attrs_dispose(tsarc_s3sys_attrs *a);

/* 0 when `key` can be an S3 key tsarc writes: 1 to 1024 bytes of UTF-8,
 * no control characters. Else TSARC_EINVAL saying why. */
int tsarc_s3sys_key_check(const char *key);
/* 1 when the key can be the entry name as it is (a safe relative path). */
int tsarc_s3sys_key_is_path(const char *key);

/* Makes `a`, a new archive writer, write this stream's pax. */
int tsarc_s3sys_writer_setup(struct archive *a);
/* Writes object `index`'s header and its body (`size` bytes) to `a`, a
 * pax writer. */
int tsarc_s3sys_write(struct archive *a, size_t index, const tsarc_s3sys_obj *o,
	const void *body);
/* Its header alone: its `size` bytes of body follow (archive_write_data). */
int tsarc_s3sys_write_header(struct archive *a, size_t index, const tsarc_s3sys_obj *o);

/*
 * Reads every entry of the stream in `a`; for each, `cb` gets the object
 * (valid until it returns) and may read its body with
 * tsarc_s3sys_read_body. Non-zero from cb stops and is returned.
 */
typedef int (*tsarc_s3sys_entry_cb)(struct archive *a, const tsarc_s3sys_obj *o,
	void *ud);
int tsarc_s3sys_read(struct archive *a, tsarc_s3sys_entry_cb cb, void *ud);
/* The same, the keys in key order (strictly ascending) only when
 * `key_order`: a stream converted from a tree's tar comes in the tree's
 * order ("a/x" before "a-b"), and its reader finds the keys it holds
 * twice itself (restore.c). */
int tsarc_s3sys_read_in(struct archive *a, int key_order, tsarc_s3sys_entry_cb cb, void *ud);
/* Up to `cap` bytes of the current entry's body (0 at its end). */
int64_t tsarc_s3sys_read_body(struct archive *a, void *buf, size_t cap);

/* A pax reader of a stream in memory (for tests and the fuzz target). */
int tsarc_s3sys_read_memory(const void *data, size_t len, tsarc_s3sys_entry_cb cb,
	void *ud);

#endif
