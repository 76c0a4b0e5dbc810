/*
 * A tree's tar into the s3files stream (stream.h): system-storage backed
 * up from a volume (kind files), restored into the bucket of a target
 * that keeps its files in S3 (3scale's APIManager
 * spec.system.fileStorage.simpleStorageService; moving to 2.16 with S3,
 * or to a cluster whose storage is object storage).
 *
 * 3scale keeps a file at the same name in both: porta's paperclip puts an
 * attachment at PUBLIC/system/:url_root/... on the volume
 * (/opt/system/public/system) and at :url_root/... in the bucket, so a
 * file's path under the volume is its key. Each regular file becomes an
 * object with that key; folders become nothing (S3 has none: a key names
 * them). Paperclip PUTs an attachment with the Content-Type it recorded in
 * the database; a file on a volume keeps none, so the type comes from the
 * name's extension (the types a developer portal serves: stylesheets,
 * scripts, images, fonts, documents), and an unknown one gets none (S3
 * then says binary/octet-stream, as it does for an upload without one).
 * A link, which a bucket cannot hold, is refused by name (src/tree/files.c):
 * so is a name that cannot be a key.
 *
 * The restore reads the stream whole before its first PUT (restore.c), so
 * anything refused here leaves the bucket untouched. The objects come in
 * the tree's order, not in key order ("acme/x" before "acme-corp/y"): the
 * restore finds keys given twice itself.
 */
#include "s3sys.h"
#include "stream.h"
#include "fileio.h"
#include "grow.h"
#include "tree_restore.h"
#include "tsarc/errors.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* By a name's last extension, letter case aside. */
static const struct {
	const char *ext, *type;
} TYPES[] = {
	{"css", "text/css"}, {"js", "text/javascript"}, {"mjs", "text/javascript"},
	{"json", "application/json"}, {"map", "application/json"},
	{"html", "text/html"}, {"htm", "text/html"}, {"txt", "text/plain"},
	{"csv", "text/csv"}, {"md", "text/markdown"}, {"xml", "application/xml"},
	{"svg", "image/svg+xml"}, {"png", "image/png"}, {"jpg", "image/jpeg"},
	{"jpeg", "image/jpeg"}, {"gif", "image/gif"}, {"ico", "image/x-icon"},
	{"webp", "image/webp"}, {"bmp", "image/bmp"}, {"avif", "image/avif"},
	{"woff", "font/woff"}, {"woff2", "font/woff2"}, {"ttf", "font/ttf"},
	{"otf", "font/otf"}, {"eot", "application/vnd.ms-fontobject"},
	{"pdf", "application/pdf"}, {"zip", "application/zip"}, {"gz", "application/gzip"},
	{"yaml", "application/yaml"}, {"yml", "application/yaml"},
	{"mp4", "video/mp4"}, {"webm", "video/webm"}, {"mp3", "audio/mpeg"},
};

const char *tsarc_s3sys_type_by_name(const char *name)
{
	const char *base = strrchr(name, '/'), *dot;
	size_t i;

	base = base ? base + 1 : name;
	if (!(dot = strrchr(base, '.')) || dot == base)
		return NULL;
	for (i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++)
		if (!strcasecmp(dot + 1, TYPES[i].ext))
			return TYPES[i].type;
	return NULL;
}

/* Frees writer `a`; after a failure (rc) its close writes nothing more,
 * so a failed conversion never ends its output as a whole archive. Then
 * rc, or TSARC_ECANCELED when the reader had given up (its error says
 * why), or rc with what was converted named. */
static int pipe_close(struct archive *a, tsarc_tar_pipe *p, int rc, const char *stream,
	const char *what)
{
	tsarc_tar_pipe_free(a, p, rc != 0);
	if (rc && p->broken)
		return tsarc_error_set(TSARC_ECANCELED, "the converted stream's reader stopped");
	if (rc)
		tsarc_error_prefix("stream %s, %s", stream, what);
	return rc;
}

typedef struct to_objects {
	struct archive *out;
	tsarc_tar_pipe pipe;
	size_t index;
} to_objects;

static int body_cb(void *ctx, const void *data, size_t len)
{
	to_objects *t = ctx;

	if (archive_write_data(t->out, data, len) != (la_ssize_t)len)
		return tsarc_error_set(TSARC_EIO, "writing the converted stream: %s",
			archive_error_string(t->out));
	return 0;
}

/* The key of a tree's entry name: its path, empty and "." steps left out
 * (a tar may spell "a/b" as "a//b" or "a/./b"; the tree rules refused
 * ".." already). */
static int key_of(const char *name, char key[TSARC__S3_KEY_MAX + 1])
{
	size_t n = 0;
	const char *p = name;

	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len && !(len == 1 && p[0] == '.')) {
			if (n + (n ? 1 : 0) + len > TSARC__S3_KEY_MAX)
				return tsarc_error_set(TSARC_EINVAL, "tar entry '%.200s': a key of more "
					"than %d bytes, longer than S3 allows", name, TSARC__S3_KEY_MAX);
			if (n)
				key[n++] = '/';
			memcpy(key + n, p, len);
			n += len;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	key[n] = '\0';
	return 0;
}

static int file_cb(void *ctx, struct archive *in, const char *name, uint64_t size,
	int64_t mtime)
{
	to_objects *t = ctx;
	char key[TSARC__S3_KEY_MAX + 1];
	tsarc_s3sys_obj o;
	int rc;

	if ((rc = key_of(name, key)))
		return rc;
	if ((rc = tsarc_s3sys_key_check(key))) {
		tsarc_error_prefix("tar entry '%.200s' cannot be an S3 key", name);
		return rc;
	}
	if (size > TSARC_S3SYS_OBJECT_MAX)
		return tsarc_error_set(TSARC_EUNSUPPORTED, "file '%.200s' of %llu bytes: tsarc "
			"copies objects of at most %llu bytes", name, (unsigned long long)size,
			TSARC_S3SYS_OBJECT_MAX);
	memset(&o, 0, sizeof(o));
	o.key = key;
	o.content_type = tsarc_s3sys_type_by_name(key);
	o.size = size;
	o.mtime = mtime;
	if ((rc = tsarc_s3sys_write_header(t->out, t->index, &o)) ||
		(rc = tsarc_tree_file_data(in, name, size, body_cb, t)))
		return rc;
	t->index++;
	return 0;
}

static int from_tree(const tsarc_stream *st, int in_fd, int out_fd)
{
	to_objects t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.pipe.fd = out_fd;
	if (!(t.out = archive_write_new()))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	if (!(rc = tsarc_s3sys_writer_setup(t.out)) &&
		archive_write_open(t.out, &t.pipe, NULL, tsarc_tar_pipe_write, NULL) != ARCHIVE_OK)
		rc = tsarc_error_set(TSARC_EIO, "writing the converted stream: %s",
			archive_error_string(t.out));
	if (!rc)
		rc = tsarc_tree_each_file(st->meta, in_fd, file_cb, &t);
	if (!rc && archive_write_close(t.out) != ARCHIVE_OK)
		rc = tsarc_error_set(TSARC_EIO, "writing the converted stream: %s",
			archive_error_string(t.out));
	return pipe_close(t.out, &t.pipe, rc, st->name, "a tree's tar, into S3 objects");
}

const tsarc_stream_conversion tsarc_s3sys_from_tree = {
	.from = "files", .to = "s3files",
	.how = "each regular file an object whose key is its path in the tree, with the "
		"Content-Type of its name's extension; folders are not objects",
	.run = from_tree};

/* ---- the other way: a bucket's objects onto a volume ---- */

typedef struct to_tree {
	struct archive *out;
	tsarc_tar_pipe pipe;
	/* The keys written as files, in key order (the stream's): a folder
	 * that one of them names cannot be made. */
	tsarc_strv files;
	/* The folders of the key before, "" or "a/b/": every key under a
	 * folder comes together in key order, so a folder the key before
	 * did not have is new. */
	char *open;
} to_tree;

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int write_error(to_tree *t, const char *what, const char *key)
{
	return tsarc_error_set(TSARC_EIO, "writing the converted stream (%s '%.200s'): %s", what,
		key, archive_error_string(t->out));
}

static int write_folder(to_tree *t, const char *path, int64_t mtime)
{
	struct archive_entry *e = archive_entry_new();
	int rc = 0;

	if (!e)
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	archive_entry_copy_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_mtime(e, (time_t)mtime, 0);
	if (archive_write_header(t->out, e) != ARCHIVE_OK)
		rc = write_error(t, "folder", path);
	archive_entry_free(e);
	return rc;
}

/* The folders of `dirs` ("a/b/", ending in '/', or "") that the key
 * before did not open: written, each after checking that no object was
 * written as a file of that name. */
static int open_folders(to_tree *t, const char *dirs, const char *key, int64_t mtime)
{
	size_t len = strlen(dirs), i, common = 0;
	char *copy;
	int rc = 0;

	/* The folders both keys have: up to their last common '/'. */
	for (i = 0; i < len && t->open[i] == dirs[i]; i++)
		if (dirs[i] == '/')
			common = i + 1;
	if (!(copy = strdup(dirs)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	for (i = common; i < len && !rc; i++) {
		const char *folder = copy;
		if (copy[i] != '/')
			continue;
		copy[i] = '\0';
		if (t->files.n && bsearch(&folder, t->files.v, t->files.n, sizeof(char *), str_cmp))
			rc = tsarc_error_set(TSARC_EUNSUPPORTED, "objects '%.200s' and '%.200s' cannot "
				"both be in a folder: the first would be a file and a folder at once",
				copy, key);
		else
			rc = write_folder(t, copy, mtime);
		copy[i] = '/';
	}
	if (!rc) {
		free(t->open);
		t->open = copy;
	} else {
		free(copy);
	}
	return rc;
}

static int object_cb(struct archive *in, const tsarc_s3sys_obj *o, void *ud)
{
	to_tree *t = ud;
	struct archive_entry *e;
	size_t len = strlen(o->key);
	const char *slash = strrchr(o->key, '/');
	char *dirs, buf[65536];
	int64_t n;
	int rc, marker = len > 1 && o->key[len - 1] == '/';

	/* "a/b/": a folder made by a console's "create folder", or "a/b"
	 * when the key is a path. */
	if (!tsarc_s3sys_key_is_path(o->key) &&
		!(marker && o->size == 0 && (dirs = strndup(o->key, len - 1)) &&
			(rc = tsarc_s3sys_key_is_path(dirs), free(dirs), rc)))
		return tsarc_error_set(TSARC_EUNSUPPORTED, "object key '%.200s' cannot be a path in "
			"a folder (a leading '/', an empty step, '.' or '..'%s): only a bucket can hold "
			"it; restore into a target that keeps its files in S3", o->key,
			marker ? ", or a folder object with a body" : "");
	if (!(dirs = strndup(o->key, marker ? len : slash ? (size_t)(slash - o->key) + 1 : 0)))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	rc = open_folders(t, dirs, o->key, o->mtime);
	free(dirs);
	if (rc || marker)
		return rc;
	if (!(e = archive_entry_new()))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	archive_entry_copy_pathname(e, o->key);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)o->size);
	archive_entry_set_mtime(e, (time_t)o->mtime, 0);
	if (archive_write_header(t->out, e) != ARCHIVE_OK)
		rc = write_error(t, "file", o->key);
	archive_entry_free(e);
	while (!rc && (n = tsarc_s3sys_read_body(in, buf, sizeof(buf))) > 0)
		if (archive_write_data(t->out, buf, (size_t)n) != (la_ssize_t)n)
			rc = write_error(t, "file", o->key);
	if (!rc && n < 0)
		rc = (int)n;
	/* In key order: the vector stays sorted for open_folders' bsearch. */
	if (!rc)
		rc = tsarc_strv_push(&t->files.v, &t->files.n, &t->files.cap, 256, o->key);
	return rc;
}

static int from_objects(const tsarc_stream *st, int in_fd, int out_fd)
{
	struct archive *in = archive_read_new();
	to_tree t;
	size_t i;
	int rc = 0;

	memset(&t, 0, sizeof(t));
	t.pipe.fd = out_fd;
	if (!in || !(t.out = archive_write_new()) || !(t.open = strdup(""))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	archive_read_support_format_tar(in);
	if (archive_read_open_fd(in, in_fd, 65536) != ARCHIVE_OK)
		rc = tsarc_error_set(TSARC_ECORRUPT, "s3 object stream: %s", archive_error_string(in));
	/* As a tree restore's rewrite writes (src/tree/rewrite.c): names as
	 * their bytes. */
	else if (archive_write_set_format_pax(t.out) != ARCHIVE_OK ||
		archive_write_set_options(t.out, "hdrcharset=BINARY") != ARCHIVE_OK ||
		archive_write_open(t.out, &t.pipe, NULL, tsarc_tar_pipe_write, NULL) != ARCHIVE_OK)
		rc = tsarc_error_set(TSARC_EIO, "writing the converted stream: %s",
			archive_error_string(t.out));
	if (!rc)
		rc = tsarc_s3sys_read(in, object_cb, &t);
	if (!rc)
		rc = tsarc_stream_read_to_end(in_fd);
	if (!rc && archive_write_close(t.out) != ARCHIVE_OK)
		rc = tsarc_error_set(TSARC_EIO, "writing the converted stream: %s",
			archive_error_string(t.out));
done:
	archive_read_free(in);
	for (i = 0; i < t.files.n; i++)
		free(t.files.v[i]);
	free(t.files.v);
	free(t.open);
	if (!t.out)
		return rc;
	return pipe_close(t.out, &t.pipe, rc, st->name, "a bucket's objects, into a folder's tree");
}

const tsarc_stream_conversion tsarc_s3sys_to_tree = {
	.from = "s3files", .to = "files",
	.how = "each object a file whose path in the tree is its key, the folders its key "
		"names made; content types and user metadata are not kept (a folder has no "
		"place for them)",
	.run = from_objects};
