#define _GNU_SOURCE /* asprintf */
/*
 * The files source: a directory tree as one tar stream (pax format:
 * owners by id and name, modes, mtimes, symlinks, hard links). On this
 * host libarchive walks the tree in-process; in a pod `tar cf - -C DIR .`
 * runs through the transport, as `oc rsync` of the manual procedure would
 * have, but streamed.
 */
#include "component.h"
#include "tsarc/errors.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int files_validate(const cJSON *spec, const char *name)
{
	static const char *const keys[] = {"kind", "enabled", "required", "stream", "transport",
		"workload", "selector", "container", "restore", "path", "tool", "options",
		"description", NULL};
	int rc;

	if ((rc = tsarc_spec_check_keys(spec, name, keys)))
		return rc;
	if (!tsarc_spec_str(spec, "path"))
		return tsarc_error_set(TSARC_ECONFIG, "component '%s': a files component needs "
			"\"path\"", name);
	return 0;
}

typedef struct tar_ctx {
	char *root;
} tar_ctx;

static void tar_ctx_free(void *p)
{
	tar_ctx *t = p;

	if (t) {
		free(t->root);
		free(t);
	}
}

/* libarchive's write callback: everything goes to the pipe. */
static la_ssize_t write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
	int fd = *(int *)ud;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			archive_set_error(a, errno, "writing the tar stream: %s", strerror(errno));
			return -1;
		}
		done += (size_t)n;
	}
	return (la_ssize_t)len;
}

/* Copies a regular file's bytes into the archive. */
static int copy_data(struct archive *aw, const char *path, char *buf, size_t bufsz,
	const atomic_int *stop, char *err, size_t errsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0) {
		snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
		return TSARC_EIO;
	}
	for (;;) {
		if (atomic_load(stop)) {
			snprintf(err, errsz, "stopped");
			close(fd);
			return TSARC_ECANCELED;
		}
		n = read(fd, buf, bufsz);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errsz, "reading %s: %s", path, strerror(errno));
			close(fd);
			return TSARC_EIO;
		}
		if (n == 0)
			break;
		if (archive_write_data(aw, buf, (size_t)n) != n) {
			snprintf(err, errsz, "%s", archive_error_string(aw));
			close(fd);
			return TSARC_EIO;
		}
	}
	close(fd);
	return 0;
}

typedef struct walk {
	const atomic_int *stop;
	struct archive *disk, *aw;
	struct archive_entry_linkresolver *links;
	char *buf;
	char *err;
	size_t errsz;
} walk;

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Writes an entry (and its data) whose hard-link state is resolved. */
static int emit(walk *w, struct archive_entry *e)
{
	int r = archive_write_header(w->aw, e);

	if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
		snprintf(w->err, w->errsz, "%s: %s", archive_entry_pathname(e),
			archive_error_string(w->aw));
		return TSARC_EIO;
	}
	if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 &&
		archive_entry_sourcepath(e))
		return copy_data(w->aw, archive_entry_sourcepath(e), w->buf, 1 << 20, w->stop,
			w->err, w->errsz);
	return 0;
}

/* One path: its entry, then (a directory) its children in name order. The
 * order is `tar`'s own: a directory's whole subtree follows it, so GNU tar
 * sets each directory's mtime after filling it; sorted names make the
 * stream the same from one backup to the next (better deduplication). */
static int walk_path(walk *w, const char *full, const char *rel, int depth)
{
	struct archive_entry *e = archive_entry_new(), *sparse = NULL;
	struct stat st;
	int rc = 0;

	if (!e) {
		snprintf(w->err, w->errsz, "out of memory");
		return TSARC_ENOMEM;
	}
	if (atomic_load(w->stop)) {
		snprintf(w->err, w->errsz, "stopped");
		archive_entry_free(e);
		return TSARC_ECANCELED;
	}
	if (depth > 512) {
		snprintf(w->err, w->errsz, "%s: directories nested too deep", full);
		archive_entry_free(e);
		return TSARC_EIO;
	}
	if (lstat(full, &st)) {
		snprintf(w->err, w->errsz, "cannot stat %s: %s", full, strerror(errno));
		archive_entry_free(e);
		return TSARC_EIO;
	}
	archive_entry_copy_sourcepath(e, full);
	if (archive_read_disk_entry_from_file(w->disk, e, -1, &st) != ARCHIVE_OK) {
		snprintf(w->err, w->errsz, "%s: %s", full, archive_error_string(w->disk));
		archive_entry_free(e);
		return TSARC_EIO;
	}
	archive_entry_copy_pathname(e, rel);
	/* Holes are stored as zeros: the data is written sequentially. */
	archive_entry_sparse_clear(e);
	/* Access and change times move on every read: keeping them would make
	 * every backup's stream differ and defeat deduplication; a restore
	 * sets mtimes, which is what tar keeps too. */
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	archive_entry_unset_birthtime(e);
	/* Hard links: the first one carries the data, later ones link. */
	archive_entry_linkify(w->links, &e, &sparse);
	if (e)
		rc = emit(w, e);
	archive_entry_free(e);
	if (!rc && sparse) {
		rc = emit(w, sparse);
		archive_entry_free(sparse);
	}
	if (rc || !S_ISDIR(st.st_mode))
		return rc;

	DIR *d = opendir(full);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	if (!d) {
		snprintf(w->err, w->errsz, "cannot read %s: %s", full, strerror(errno));
		return TSARC_EIO;
	}
	while ((de = readdir(d))) {
		char **grown;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!(grown = realloc(names, (n + 1) * sizeof(char *))) ||
			!(grown[n] = strdup(de->d_name))) {
			if (grown)
				names = grown;
			snprintf(w->err, w->errsz, "out of memory");
			rc = TSARC_ENOMEM;
			break;
		}
		names = grown;
		n++;
	}
	closedir(d);
	if (!rc && n > 1)
		qsort(names, n, sizeof(char *), name_cmp);
	for (i = 0; i < n && !rc; i++) {
		char *cfull = NULL, *crel = NULL;
		if (asprintf(&cfull, "%s/%s", full, names[i]) < 0 ||
			asprintf(&crel, "%s/%s", rel, names[i]) < 0) {
			snprintf(w->err, w->errsz, "out of memory");
			rc = TSARC_ENOMEM;
		} else
			rc = walk_path(w, cfull, crel, depth + 1);
		free(cfull);
		free(crel);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

static int tar_writer(int fd, void *ctx, const atomic_int *stop, char *err, size_t errsz)
{
	tar_ctx *t = ctx;
	struct archive_entry *e = NULL, *sparse = NULL;
	walk w;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.stop = stop;
	w.err = err;
	w.errsz = errsz;
	w.disk = archive_read_disk_new();
	w.aw = archive_write_new();
	w.links = archive_entry_linkresolver_new();
	w.buf = malloc(1 << 20);
	if (!w.disk || !w.aw || !w.links || !w.buf) {
		snprintf(err, errsz, "out of memory");
		rc = TSARC_ENOMEM;
		goto done;
	}
	/* Owner names looked up so that a restore can map them; ids kept too. */
	archive_read_disk_set_standard_lookup(w.disk);
	/* Full pax: sub-second times and long names kept exactly. */
	archive_write_set_format_pax(w.aw);
	archive_write_set_bytes_per_block(w.aw, 10240);
	archive_entry_linkresolver_set_strategy(w.links, archive_format(w.aw));
	if (archive_write_open2(w.aw, &fd, NULL, write_cb, NULL, NULL) != ARCHIVE_OK) {
		snprintf(err, errsz, "%s", archive_error_string(w.aw));
		rc = TSARC_EIO;
		goto done;
	}
	/* Names relative to the root, as `tar -C ROOT .` writes them. */
	if ((rc = walk_path(&w, t->root, ".", 0)))
		goto done;
	/* Hard-linked files whose other links are outside the tree. */
	archive_entry_linkify(w.links, &e, &sparse);
	while (e) {
		rc = emit(&w, e);
		archive_entry_free(e);
		e = NULL;
		if (rc)
			goto done;
		archive_entry_linkify(w.links, &e, &sparse);
	}
	if (archive_write_close(w.aw) != ARCHIVE_OK) {
		snprintf(err, errsz, "%s", archive_error_string(w.aw));
		rc = TSARC_EIO;
	}
done:
	free(w.buf);
	if (w.links)
		archive_entry_linkresolver_free(w.links);
	if (w.disk)
		archive_read_free(w.disk);
	if (w.aw)
		archive_write_free(w.aw);
	return rc;
}

static int files_prepare(tsarc_component *c, tsarc_production *out)
{
	const char *path = tsarc_spec_str(c->spec, "path");
	tar_ctx *t;
	struct stat st;
	int rc;

	if (!(out->meta = cJSON_CreateObject()) || !cJSON_AddStringToObject(out->meta, "path", path))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	cJSON_AddStringToObject(out->meta, "format", "tar (pax)");
	if (strcmp(c->tr->type, "local")) {
		const char *tool = tsarc_spec_str(c->spec, "tool");
		if (!tool)
			tool = "tar";
		/* In the pod: numeric owners are what the image's tar keeps anyway. */
		if ((rc = tsarc_cmd_arg(&out->cmd, tool)) || (rc = tsarc_cmd_arg(&out->cmd, "cf")) ||
			(rc = tsarc_cmd_arg(&out->cmd, "-")) ||
			(rc = tsarc_spec_add_args(&out->cmd, c->spec, "options", c->name)) ||
			(rc = tsarc_cmd_arg(&out->cmd, "-C")) || (rc = tsarc_cmd_arg(&out->cmd, path)) ||
			(rc = tsarc_cmd_arg(&out->cmd, ".")) ||
			(rc = tsarc_cmd_arg(&out->version_cmd, tool)) ||
			(rc = tsarc_cmd_arg(&out->version_cmd, "--version")))
			return rc;
		return 0;
	}
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return tsarc_error_set(TSARC_ENOTFOUND, "component '%s': %s is not a directory",
			c->name, path);
	if (!(t = calloc(1, sizeof(*t))) || !(t->root = strdup(path))) {
		free(t);
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	}
	/* No trailing slash: entry names are cut at the root's length. */
	while (strlen(t->root) > 1 && t->root[strlen(t->root) - 1] == '/')
		t->root[strlen(t->root) - 1] = '\0';
	out->writer = tar_writer;
	out->writer_ctx = t;
	out->writer_ctx_free = tar_ctx_free;
	out->version_text = archive_version_details();
	return 0;
}

const tsarc_source tsarc_source_files = {"files", ".tar", 1, files_validate, files_prepare};
