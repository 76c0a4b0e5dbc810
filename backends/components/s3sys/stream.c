/*
 * The s3 system-storage stream (stream.h): a pax tar written and read
 * with libarchive, S3's per-object metadata in extended attributes so
 * that a plain `tar --xattrs` shows and keeps it.
 */
#include "stream.h"
#include "tree_restore.h"

#include "tsarc/errors.h"

#include <archive.h>
#include <archive_entry.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 1024
#define X_KEY "user.s3.key"
#define X_TYPE "user.s3.content-type"
#define X_META "user.s3.meta."

/* UTF-8 without overlong forms or surrogates, no C0/DEL control bytes. */
int tsarc_s3sys_key_check(const char *key)
{
	const unsigned char *p = (const unsigned char *)key;
	size_t n = strlen(key);

	if (n == 0 || n > KEY_MAX)
		return tsarc_error_set(TSARC_EINVAL, "S3 key of %zu bytes (1 to %d)", n,
			KEY_MAX);
	while (*p) {
		unsigned c = *p, len, i;
		uint32_t cp;
		if (c < 0x20 || c == 0x7f)
			return tsarc_error_set(TSARC_EINVAL,
				"S3 key '%.200s' has a control character", key);
		if (c < 0x80) {
			p++;
			continue;
		}
		len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
		if (!len || (len == 3 && c > 0xef))
			return tsarc_error_set(TSARC_EINVAL, "S3 key '%.200s' is not UTF-8", key);
		cp = c & (0xff >> (len + 1));
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return tsarc_error_set(TSARC_EINVAL, "S3 key '%.200s' is not UTF-8",
					key);
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return tsarc_error_set(TSARC_EINVAL, "S3 key '%.200s' is not UTF-8", key);
		p += len;
	}
	return 0;
}

int tsarc_s3sys_key_is_path(const char *key)
{
	const char *s = key, *e;

	if (!*key || *key == '/')
		return 0;
	for (;;) {
		e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		if (!e)
			return 1;
		s = e + 1;
	}
}

static int meta_name_ok(const char *n)
{
	if (!*n)
		return 0;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '-' ||
			    *n == '_' || *n == '.'))
			return 0;
	return 1;
}

static int value_ok(const char *v)
{
	for (; *v; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
			return 0;
	return 1;
}

/* What the reader accepts of an entry's attributes (entry_fields_get):
 * values without control bytes, their total within the bound counted as
 * for a stream that holds every attribute twice (tsarc_tar_pax_writer
 * writes each once; earlier streams hold a LIBARCHIVE.xattr copy too, and
 * a reader counts both): one bound for every stream written. */
static int attrs_check(const tsarc_s3sys_obj *o)
{
	size_t bytes = 2 * (strlen(X_KEY) + strlen(o->key)), i;

	if (o->content_type) {
		if (!value_ok(o->content_type))
			return tsarc_error_set(TSARC_EINVAL, "s3://%.200s: its content type has a "
				"control character", o->key);
		bytes += 2 * (strlen(X_TYPE) + strlen(o->content_type));
	}
	for (i = 0; i < o->nmeta; i++) {
		if (!value_ok(o->meta[i].value))
			return tsarc_error_set(TSARC_EINVAL, "s3://%.200s: user metadata '%.64s' has "
				"a control character", o->key, o->meta[i].name);
		bytes += 2 * (strlen(X_META) + strlen(o->meta[i].name) + strlen(o->meta[i].value));
	}
	if (bytes > TSARC_S3SYS_HEADER_MAX)
		return tsarc_error_set(TSARC_EINVAL, "s3://%.200s: key, content type and user "
			"metadata are more than tsarc keeps (%d bytes)", o->key,
			TSARC_S3SYS_HEADER_MAX / 2);
	return 0;
}

int tsarc_s3sys_writer_setup(struct archive *a)
{
	/* Names and attributes go out as the key's own bytes (valid UTF-8,
	 * checked), whatever this process's locale cannot convert. */
	int rc = tsarc_tar_pax_writer(a);

	if (rc)
		return rc;
	if (archive_write_set_options(a, "hdrcharset=BINARY") != ARCHIVE_OK)
		return tsarc_error_set(TSARC_EGENERIC, "libarchive cannot write pax: %s",
			archive_error_string(a));
	return 0;
}

int tsarc_s3sys_write(struct archive *a, size_t index, const tsarc_s3sys_obj *o,
	const void *body)
{
	int rc = tsarc_s3sys_write_header(a, index, o);

	if (!rc && o->size && archive_write_data(a, body, (size_t)o->size) != (la_ssize_t)o->size)
		rc = tsarc_error_set(TSARC_EIO, "writing the entry of s3 key '%.200s': %s",
			o->key, archive_error_string(a));
	return rc;
}

int tsarc_s3sys_write_header(struct archive *a, size_t index, const tsarc_s3sys_obj *o)
{
	struct archive_entry *e;
	char name[64], xname[200];
	size_t i;
	int rc = 0;

	if ((rc = tsarc_s3sys_key_check(o->key)) || (rc = attrs_check(o)))
		return rc;
	e = archive_entry_new();
	if (!e)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (tsarc_s3sys_key_is_path(o->key)) {
		archive_entry_copy_pathname(e, o->key);
	} else {
		snprintf(name, sizeof(name), "s3-unsafe-keys/%zu", index);
		archive_entry_copy_pathname(e, name);
	}
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)o->size);
	archive_entry_set_mtime(e, (time_t)o->mtime, 0);
	archive_entry_xattr_add_entry(e, X_KEY, o->key, strlen(o->key));
	if (o->content_type)
		archive_entry_xattr_add_entry(e, X_TYPE, o->content_type,
			strlen(o->content_type));
	for (i = 0; i < o->nmeta; i++) {
		if (!meta_name_ok(o->meta[i].name) || strlen(o->meta[i].name) > 128) {
			rc = tsarc_error_set(TSARC_EINVAL,
				"s3://%s: user metadata name '%.64s' is not one tsarc can keep",
				o->key, o->meta[i].name);
			goto out;
		}
		snprintf(xname, sizeof(xname), X_META "%s", o->meta[i].name);
		archive_entry_xattr_add_entry(e, xname, o->meta[i].value,
			strlen(o->meta[i].value));
	}
	if (archive_write_header(a, e) != ARCHIVE_OK)
		rc = tsarc_error_set(TSARC_EIO, "writing the entry of s3 key '%.200s': %s",
			o->key, archive_error_string(a));
out:
	archive_entry_free(e);
	return rc;
}

int64_t tsarc_s3sys_read_body(struct archive *a, void *buf, size_t cap)
{
	la_ssize_t n = archive_read_data(a, buf, cap);

	if (n < 0)
		return tsarc_error_set(TSARC_EIO, "reading an s3 object's body: %s",
			archive_error_string(a));
	return (int64_t)n;
}

/* Copies an xattr value (not NUL-terminated in the archive) to a string
 * that must have no NUL or control byte. */
static char *xattr_string(const void *v, size_t n)
{
	char *s;

	if (n > TSARC_S3SYS_HEADER_MAX || memchr(v, 0, n))
		return NULL;
	s = malloc(n + 1);
	if (!s)
		return NULL;
	memcpy(s, v, n);
	s[n] = '\0';
	if (!value_ok(s)) {
		free(s);
		return NULL;
	}
	return s;
}

void tsarc_s3sys_attrs_dispose(tsarc_s3sys_attrs *a)
{
	size_t i;

	free(a->key);
	free(a->type);
	for (i = 0; i < a->nmeta; i++) {
		free(a->names[i]);
		free(a->values[i]);
	}
	memset(a, 0, sizeof(*a));
}

int tsarc_s3sys_attrs_copy(tsarc_s3sys_attrs *a, const tsarc_s3sys_obj *o)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	if (o->nmeta > TSARC_S3SYS_META_MAX)
		return tsarc_error_set(TSARC_EINVAL, "object '%.200s' has more than %d metadata "
			"entries", o->key, TSARC_S3SYS_META_MAX);
	if (!(a->key = strdup(o->key)) || (o->content_type && !(a->type = strdup(o->content_type))))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = 0; i < o->nmeta; i++, a->nmeta++)
		if (!(a->names[i] = strdup(o->meta[i].name)) ||
			!(a->values[i] = strdup(o->meta[i].value))) {
			free(a->names[i]);
			a->names[i] = NULL;
			return tsarc_error_set(TSARC_ENOMEM, "out of memory");
		}
	return 0;
}

/* An entry's attributes, with the view of its metadata the callback gets. */
typedef struct entry_fields {
	tsarc_s3sys_attrs a;
	tsarc_s3sys_meta meta[TSARC_S3SYS_META_MAX];
	size_t bytes;
} entry_fields;

static int same_again(const entry_fields *f, const char *name, const char *v)
{
	size_t i;

	if (!strcmp(name, X_KEY))
		return f->a.key && !strcmp(f->a.key, v);
	if (!strcmp(name, X_TYPE))
		return f->a.type && !strcmp(f->a.type, v);
	if (strncmp(name, X_META, strlen(X_META)))
		return 0;
	for (i = 0; i < f->a.nmeta; i++)
		if (!strcmp(f->a.names[i], name + strlen(X_META)))
			return !strcmp(f->a.values[i], v);
	return 0;
}

/* The entry's attributes into `f`: only ours, each once, bounded. */
static int entry_fields_get(struct archive_entry *e, size_t index, entry_fields *f)
{
	const char *name;
	const void *v;
	size_t n;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &v, &n) == ARCHIVE_OK) {
		char *s = xattr_string(v, n);
		f->bytes += n + strlen(name);
		if (!s || f->bytes > TSARC_S3SYS_HEADER_MAX) {
			free(s);
			return tsarc_error_set(TSARC_EINVAL,
				"entry %zu: attribute '%.80s' is too long or has a control byte",
				index, name);
		}
		/* Streams of an earlier tsarc hold each attribute twice
		 * (SCHILY.xattr and LIBARCHIVE.xattr records): a repeat with the
		 * same value is one. */
		if (same_again(f, name, s)) {
			free(s);
			continue;
		}
		if (!strcmp(name, X_KEY) && !f->a.key) {
			f->a.key = s;
		} else if (!strcmp(name, X_TYPE) && !f->a.type) {
			f->a.type = s;
		} else if (!strncmp(name, X_META, strlen(X_META)) &&
			   meta_name_ok(name + strlen(X_META)) &&
			   f->a.nmeta < TSARC_S3SYS_META_MAX) {
			size_t i;
			for (i = 0; i < f->a.nmeta; i++)
				if (!strcmp(f->a.names[i], name + strlen(X_META)))
					break;
			if (i < f->a.nmeta || !(f->a.names[f->a.nmeta] = malloc(strlen(name)))) {
				free(s);
				return i < f->a.nmeta ? tsarc_error_set(TSARC_EINVAL,
							      "entry %zu: metadata '%.80s' twice",
							      index, name)
						    : tsarc_error_set(TSARC_ENOMEM, "out of memory");
			}
			strcpy(f->a.names[f->a.nmeta], name + strlen(X_META));
			f->a.values[f->a.nmeta] = s;
			f->meta[f->a.nmeta].name = f->a.names[f->a.nmeta];
			f->meta[f->a.nmeta].value = s;
			f->a.nmeta++;
		} else {
			free(s);
			return tsarc_error_set(TSARC_EINVAL,
				"entry %zu: unexpected attribute '%.80s' (twice, unknown, or more "
				"than %d metadata entries)", index, name, TSARC_S3SYS_META_MAX);
		}
	}
	if (!f->a.key)
		return tsarc_error_set(TSARC_EINVAL, "entry %zu ('%.200s') has no " X_KEY,
			index, archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
	return 0;
}

int tsarc_s3sys_read(struct archive *a, tsarc_s3sys_entry_cb cb, void *ud)
{
	return tsarc_s3sys_read_in(a, 1, cb, ud);
}

int tsarc_s3sys_read_in(struct archive *a, int key_order, tsarc_s3sys_entry_cb cb, void *ud)
{
	struct archive_entry *e;
	char *prev = NULL;
	size_t index = 0;
	int rc = 0, r;

	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		entry_fields f;
		tsarc_s3sys_obj o;
		const char *path = archive_entry_pathname(e);
		char want[64];

		memset(&f, 0, sizeof(f));
		if (archive_entry_filetype(e) != AE_IFREG || !archive_entry_size_is_set(e) ||
		    archive_entry_size(e) < 0) {
			rc = tsarc_error_set(TSARC_EINVAL,
				"entry %zu ('%.200s') is not a regular file of known size", index,
				path ? path : "");
			break;
		}
		if ((rc = entry_fields_get(e, index, &f)))
			goto next;
		if ((rc = tsarc_s3sys_key_check(f.a.key))) {
			tsarc_error_prefix("entry %zu", index);
			goto next;
		}
		snprintf(want, sizeof(want), "s3-unsafe-keys/%zu", index);
		if (!path || strcmp(path, tsarc_s3sys_key_is_path(f.a.key) ? f.a.key : want)) {
			rc = tsarc_error_set(TSARC_EINVAL,
				"entry %zu: name '%.200s' does not match its key '%.200s'", index,
				path ? path : "", f.a.key);
			goto next;
		}
		if (key_order && prev && strcmp(prev, f.a.key) >= 0) {
			rc = tsarc_error_set(TSARC_EINVAL,
				"entry %zu: key '%.200s' does not come after '%.200s' (keys are "
				"sorted and unique)", index, f.a.key, prev);
			goto next;
		}
		memset(&o, 0, sizeof(o));
		o.key = f.a.key;
		o.content_type = f.a.type;
		o.meta = f.meta;
		o.nmeta = f.a.nmeta;
		o.size = (uint64_t)archive_entry_size(e);
		o.mtime = (int64_t)archive_entry_mtime(e);
		rc = cb(a, &o, ud);
		free(prev);
		prev = f.a.key;
		f.a.key = NULL;
next:
		tsarc_s3sys_attrs_dispose(&f.a);
		if (rc)
			break;
		index++;
	}
	if (!rc && r != ARCHIVE_EOF)
		rc = tsarc_error_set(TSARC_EIO, "s3 object stream, after entry %zu: %s", index,
			archive_error_string(a) ? archive_error_string(a) : "damaged");
	free(prev);
	return rc;
}

int tsarc_s3sys_read_memory(const void *data, size_t len, tsarc_s3sys_entry_cb cb,
	void *ud)
{
	struct archive *a = archive_read_new();
	int rc;

	if (!a)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
		rc = tsarc_error_set(TSARC_EIO, "s3 object stream: %s", archive_error_string(a));
	} else {
		rc = tsarc_s3sys_read(a, cb, ud);
	}
	archive_read_free(a);
	return rc;
}
