/*
 * A tree's tar read as the s3files stream (backends/components/s3sys/
 * convert.c): each regular file an object keyed by its path ("./", "//"
 * and "/./" aside), typed by its extension; folders, the archive's root
 * and fifos are no objects; a file tar padded is taken without the zeros
 * the stream's metadata names, and refused when they are not zeros; links
 * are refused naming the entry; a reader that gives up makes the
 * conversion stop with TSARC_ECANCELED. And the other way: a bucket's
 * objects become files at their keys and the folders those name, a
 * console's folder object a folder; a file and a folder of one name, and
 * a key that is no path, are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../backends/components/s3sys/s3sys.h"
#include "../../backends/components/s3sys/stream.h"
#include "snapshot.h"
#include "tsarc/errors.h"

typedef struct entry {
	const char *name;
	int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFIFO; 'h': a hard link */
	const char *body, *link;
	size_t size;
} entry;

/* A pax tar of `n` entries in a temporary file, open at its start. */
static FILE *tree_tar(const entry *e, size_t n)
{
	FILE *f = tmpfile();
	struct archive *a = archive_write_new();
	size_t i;

	assert_non_null(f);
	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_FILE(a, f), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_mtime(ae, 1700000000, 0);
		if (e[i].type == 'h') {
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_hardlink(ae, e[i].link);
		} else {
			archive_entry_set_filetype(ae, (unsigned)e[i].type);
			archive_entry_set_perm(ae, e[i].type == AE_IFDIR ? 0755 : 0644);
		}
		if (e[i].type == AE_IFLNK)
			archive_entry_set_symlink(ae, e[i].link);
		if (e[i].type == AE_IFREG)
			archive_entry_set_size(ae, (la_int64_t)e[i].size);
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (e[i].type == AE_IFREG && e[i].size)
			assert_int_equal(archive_write_data(a, e[i].body, e[i].size), (la_ssize_t)e[i].size);
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	fflush(f);
	rewind(f);
	return f;
}

/* Runs the conversion of `in` with metadata `meta_json` (may be NULL);
 * its output in *out (a temporary file, at its start). */
static int convert(FILE *in, const char *meta_json, FILE **out)
{
	tsarc_stream st;
	int rc;

	memset(&st, 0, sizeof(st));
	st.name = "system-storage.tar";
	st.meta = meta_json ? cJSON_Parse(meta_json) : NULL;
	assert_non_null(*out = tmpfile());
	rc = tsarc_s3sys_from_tree.run(&st, fileno(in), fileno(*out));
	cJSON_Delete(st.meta);
	fclose(in);
	rewind(*out);
	return rc;
}

typedef struct got {
	char keys[16][64], types[16][32], bodies[16][32];
	size_t n;
} got;

static int collect(struct archive *a, const tsarc_s3sys_obj *o, void *ud)
{
	got *g = ud;
	int64_t n;

	assert_true(g->n < 16);
	snprintf(g->keys[g->n], sizeof(g->keys[0]), "%s", o->key);
	snprintf(g->types[g->n], sizeof(g->types[0]), "%s", o->content_type ? o->content_type : "-");
	n = tsarc_s3sys_read_body(a, g->bodies[g->n], sizeof(g->bodies[0]) - 1);
	assert_true(n >= 0 && (uint64_t)n == o->size);
	g->bodies[g->n][n] = '\0';
	g->n++;
	return 0;
}

/* Reads the converted stream in `f` (in any key order) into `g`. */
static int read_objects(FILE *f, got *g)
{
	struct archive *a = archive_read_new();
	int rc;

	memset(g, 0, sizeof(*g));
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_FILE(a, f), ARCHIVE_OK);
	rc = tsarc_s3sys_read_in(a, 0, collect, g);
	archive_read_free(a);
	fclose(f);
	return rc;
}

static void test_files_become_objects(void **state)
{
	static const entry tree[] = {
		{".", AE_IFDIR, NULL, NULL, 0},
		{"./acme/", AE_IFDIR, NULL, NULL, 0},
		{"./acme/logo.PNG", AE_IFREG, "png", NULL, 3},
		{"acme-corp//site.css", AE_IFREG, "body{}", NULL, 6},
		{"./a/./b", AE_IFREG, "no type", NULL, 7},
		{"padded.txt", AE_IFREG, "hello\0\0\0\0\0", NULL, 10},
		{"fifo", AE_IFIFO, NULL, NULL, 0},
		{"empty.js", AE_IFREG, "", NULL, 0},
	};
	FILE *out;
	got g;

	(void)state;
	assert_int_equal(convert(tree_tar(tree, 8), "{\"padded\": [{\"path\": \"padded.txt\", "
		"\"zeros\": 5}]}", &out), 0);
	assert_int_equal(read_objects(out, &g), 0);
	assert_int_equal(g.n, 5);
	/* The tree's order, not key order. */
	assert_string_equal(g.keys[0], "acme/logo.PNG");
	assert_string_equal(g.types[0], "image/png");
	assert_string_equal(g.bodies[0], "png");
	assert_string_equal(g.keys[1], "acme-corp/site.css");
	assert_string_equal(g.types[1], "text/css");
	assert_string_equal(g.keys[2], "a/b");
	assert_string_equal(g.types[2], "-");
	assert_string_equal(g.keys[3], "padded.txt");
	assert_string_equal(g.bodies[3], "hello");
	assert_string_equal(g.keys[4], "empty.js");
	assert_string_equal(g.types[4], "text/javascript");
	assert_string_equal(g.bodies[4], "");
}

static void test_padding_not_zeros_refused(void **state)
{
	static const entry tree[] = {{"padded.txt", AE_IFREG, "hello world", NULL, 11}};
	FILE *out;

	(void)state;
	assert_int_equal(convert(tree_tar(tree, 1), "{\"padded\": [{\"path\": \"padded.txt\", "
		"\"zeros\": 5}]}", &out), TSARC_ECORRUPT);
	assert_non_null(strstr(tsarc_error_last()->message, "padded.txt"));
	fclose(out);
}

static void test_links_refused(void **state)
{
	static const entry sym[] = {{"a.txt", AE_IFREG, "a", NULL, 1},
		{"dir/link", AE_IFLNK, NULL, "../a.txt", 0}};
	static const entry hard[] = {{"a.txt", AE_IFREG, "a", NULL, 1},
		{"b.txt", 'h', NULL, "a.txt", 0}};
	FILE *out;

	(void)state;
	assert_int_equal(convert(tree_tar(sym, 2), NULL, &out), TSARC_EUNSUPPORTED);
	assert_non_null(strstr(tsarc_error_last()->message, "'dir/link' is a symbolic link"));
	assert_non_null(strstr(tsarc_error_last()->message, "system-storage.tar"));
	fclose(out);
	assert_int_equal(convert(tree_tar(hard, 2), NULL, &out), TSARC_EUNSUPPORTED);
	assert_non_null(strstr(tsarc_error_last()->message, "'b.txt' is a hard link to 'a.txt'"));
	fclose(out);
}

static void test_climbing_name_refused(void **state)
{
	static const entry tree[] = {{"../escape.txt", AE_IFREG, "x", NULL, 1}};
	FILE *out;

	(void)state;
	assert_int_equal(convert(tree_tar(tree, 1), NULL, &out), TSARC_EUNSAFE);
	fclose(out);
}

/* The reader gave up: the conversion stops, and says so as cancelled. */
static void test_reader_gone(void **state)
{
	static char body[1 << 16];
	static const entry tree[] = {{"big.bin", AE_IFREG, body, NULL, sizeof(body)}};
	tsarc_stream st;
	int p[2];
	FILE *in = tree_tar(tree, 1);

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	memset(&st, 0, sizeof(st));
	st.name = "system-storage.tar";
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	assert_int_equal(tsarc_s3sys_from_tree.run(&st, fileno(in), p[1]), TSARC_ECANCELED);
	close(p[1]);
	fclose(in);
}

static void test_types_by_extension(void **state)
{
	(void)state;
	assert_string_equal(tsarc_s3sys_type_by_name("x/Site.CSS"), "text/css");
	assert_string_equal(tsarc_s3sys_type_by_name("a.tar.gz"), "application/gzip");
	assert_string_equal(tsarc_s3sys_type_by_name("invoice-7.pdf"), "application/pdf");
	assert_null(tsarc_s3sys_type_by_name(".hidden"));
	assert_null(tsarc_s3sys_type_by_name("README"));
	assert_null(tsarc_s3sys_type_by_name("dir.css/file"));
	assert_null(tsarc_s3sys_type_by_name("x.unknownext"));
}

/* An s3files stream of `n` keys (in key order), bodies their keys, in a
 * temporary file at its start. */
static FILE *objects(const char *const *keys, size_t n)
{
	FILE *f = tmpfile();
	struct archive *a = archive_write_new();
	size_t i;

	assert_non_null(f);
	assert_int_equal(tsarc_s3sys_writer_setup(a), 0);
	assert_int_equal(archive_write_open_FILE(a, f), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		tsarc_s3sys_obj o;
		size_t len = strlen(keys[i]);
		memset(&o, 0, sizeof(o));
		o.key = keys[i];
		o.content_type = "text/plain";
		o.size = keys[i][len - 1] == '/' ? 0 : len;
		o.mtime = 1700000000;
		assert_int_equal(tsarc_s3sys_write(a, i, &o, keys[i]), 0);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	fflush(f);
	rewind(f);
	return f;
}

static int to_tree(FILE *in, FILE **out)
{
	tsarc_stream st;
	int rc;

	memset(&st, 0, sizeof(st));
	st.name = "system-storage-s3.tar";
	assert_non_null(*out = tmpfile());
	rc = tsarc_s3sys_to_tree.run(&st, fileno(in), fileno(*out));
	fclose(in);
	rewind(*out);
	return rc;
}

/* The converted tree's entries, "d NAME/" or "f NAME BODY", one per line. */
static void tree_listing(FILE *f, char *out, size_t outsz)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t used = 0;

	out[0] = '\0';
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_FILE(a, f), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char body[64] = "";
		la_ssize_t n = 0;
		if (archive_entry_filetype(e) == AE_IFREG) {
			n = archive_read_data(a, body, sizeof(body) - 1);
			assert_true(n >= 0);
			body[n] = '\0';
			assert_int_equal(archive_entry_perm(e), 0644);
		} else {
			assert_int_equal(archive_entry_filetype(e), AE_IFDIR);
			assert_int_equal(archive_entry_perm(e), 0755);
		}
		used += (size_t)snprintf(out + used, outsz - used, "%s %s%s%s\n",
			archive_entry_filetype(e) == AE_IFDIR ? "d" : "f", archive_entry_pathname(e),
			n ? " " : "", body);
		assert_true(used < outsz);
	}
	archive_read_free(a);
	fclose(f);
}

static void test_objects_become_a_tree(void **state)
{
	static const char *const keys[] = {"acme-corp/x.css", "acme.txt", "acme/2/logo.png",
		"acme/2/more.png", "acme/3/", "b"};
	char list[1024];
	FILE *out;

	(void)state;
	assert_int_equal(to_tree(objects(keys, 6), &out), 0);
	tree_listing(out, list, sizeof(list));
	assert_string_equal(list,
		"d acme-corp/\n"
		"f acme-corp/x.css acme-corp/x.css\n"
		"f acme.txt acme.txt\n"
		"d acme/\n"
		"d acme/2/\n"
		"f acme/2/logo.png acme/2/logo.png\n"
		"f acme/2/more.png acme/2/more.png\n"
		"d acme/3/\n"
		"f b b\n");
}

static void test_objects_no_tree_holds_refused(void **state)
{
	static const char *const file_and_folder[] = {"a", "a.txt", "a/b"};
	static const char *const marker_after_file[] = {"a", "a/"};
	static const char *const not_a_path[] = {"ok", "x//y"};
	static const char *const dotdot[] = {"../up"};
	FILE *out;

	(void)state;
	assert_int_equal(to_tree(objects(file_and_folder, 3), &out), TSARC_EUNSUPPORTED);
	assert_non_null(strstr(tsarc_error_last()->message, "objects 'a' and 'a/b' cannot both"));
	assert_non_null(strstr(tsarc_error_last()->message, "system-storage-s3.tar"));
	fclose(out);
	assert_int_equal(to_tree(objects(marker_after_file, 2), &out), TSARC_EUNSUPPORTED);
	fclose(out);
	assert_int_equal(to_tree(objects(not_a_path, 2), &out), TSARC_EUNSUPPORTED);
	assert_non_null(strstr(tsarc_error_last()->message, "object key 'x//y' cannot be a path"));
	fclose(out);
	assert_int_equal(to_tree(objects(dotdot, 1), &out), TSARC_EUNSUPPORTED);
	fclose(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_become_objects),
		cmocka_unit_test(test_padding_not_zeros_refused),
		cmocka_unit_test(test_links_refused),
		cmocka_unit_test(test_climbing_name_refused),
		cmocka_unit_test(test_reader_gone),
		cmocka_unit_test(test_types_by_extension),
		cmocka_unit_test(test_objects_become_a_tree),
		cmocka_unit_test(test_objects_no_tree_holds_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
