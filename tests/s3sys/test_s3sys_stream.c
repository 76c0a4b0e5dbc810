/*
 * The s3 system-storage stream (backends/components/s3sys/stream.h):
 * objects with odd keys, content types, user metadata, an empty body and
 * a large one survive a write and a read exactly; damaged or hostile
 * streams are refused naming the entry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/components/s3sys/stream.h"
#include "tsarc/errors.h"

#define NOBJ 5
static const tsarc_s3sys_meta meta1[] = {{"owner", "ann"}, {"x-y_z.1", "a value\twith tab"}};
static const char *const keys[NOBJ] = {
	"../up", "a/b/c.txt", "dir/", "empty", "z-large-\xc3\xa9t\xc3\xa9"};

static unsigned char *big;
#define BIG (3u << 20)

static size_t make_stream(unsigned char **out)
{
	struct archive *a = archive_write_new();
	size_t cap = BIG + (1 << 20), used = 0, i;
	unsigned char *buf = malloc(cap);

	assert_non_null(buf);
	assert_int_equal(tsarc_s3sys_writer_setup(a), 0);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
	for (i = 0; i < NOBJ; i++) {
		tsarc_s3sys_obj o;
		memset(&o, 0, sizeof(o));
		o.key = keys[i];
		o.mtime = 1700000000 + (int64_t)i;
		if (i == 1) {
			o.content_type = "text/plain; charset=utf-8";
			o.meta = meta1;
			o.nmeta = 2;
		}
		o.size = i == 4 ? BIG : i == 3 ? 0 : strlen(keys[i]);
		assert_int_equal(tsarc_s3sys_write(a, i, &o, i == 4 ? (const void *)big : keys[i]), 0);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	*out = buf;
	return used;
}

typedef struct seen {
	size_t n;
} seen;

static int check_cb(struct archive *a, const tsarc_s3sys_obj *o, void *ud)
{
	seen *s = ud;
	unsigned char *body = malloc(BIG + 1);
	uint64_t got = 0;
	int64_t n;

	assert_non_null(body);
	assert_true(s->n < NOBJ);
	assert_string_equal(o->key, keys[s->n]);
	assert_int_equal(o->mtime, 1700000000 + (int64_t)s->n);
	while ((n = tsarc_s3sys_read_body(a, body + got, BIG + 1 - got)) > 0)
		got += (uint64_t)n;
	assert_true(n == 0);
	assert_int_equal(got, o->size);
	if (s->n == 1) {
		assert_string_equal(o->content_type, "text/plain; charset=utf-8");
		assert_int_equal(o->nmeta, 2);
		assert_string_equal(o->meta[0].name, "owner");
		assert_string_equal(o->meta[0].value, "ann");
		assert_string_equal(o->meta[1].name, "x-y_z.1");
		assert_string_equal(o->meta[1].value, "a value\twith tab");
	} else {
		assert_null(o->content_type);
		assert_int_equal(o->nmeta, 0);
	}
	if (s->n == 4)
		assert_memory_equal(body, big, BIG);
	else
		assert_memory_equal(body, keys[s->n], got);
	s->n++;
	free(body);
	return 0;
}

static void test_roundtrip(void **state)
{
	unsigned char *buf;
	size_t len = make_stream(&buf);
	seen s = {0};

	(void)state;
	assert_int_equal(tsarc_s3sys_read_memory(buf, len, check_cb, &s), 0);
	assert_int_equal(s.n, NOBJ);
	/* The unsafe keys are not entry names: nothing extracts outside. */
	{
		static const char *const names[NOBJ] = {"s3-unsafe-keys/0", "a/b/c.txt",
			"s3-unsafe-keys/2", "empty", "z-large-\xc3\xa9t\xc3\xa9"};
		struct archive *r = archive_read_new();
		struct archive_entry *e;
		size_t i = 0;
		archive_read_support_format_tar(r);
		assert_int_equal(archive_read_open_memory(r, buf, len), ARCHIVE_OK);
		while (archive_read_next_header(r, &e) == ARCHIVE_OK)
			assert_string_equal(archive_entry_pathname(e), names[i++]);
		assert_int_equal(i, NOBJ);
		archive_read_free(r);
	}
	free(buf);
}

static int count_cb(struct archive *a, const tsarc_s3sys_obj *o, void *ud)
{
	(void)a;
	(void)o;
	(*(size_t *)ud)++;
	return 0;
}

static void test_truncated_fails(void **state)
{
	unsigned char *buf;
	size_t len = make_stream(&buf), n = 0;

	(void)state;
	/* Cut inside the large body: an error, never a short success. */
	assert_int_equal(tsarc_s3sys_read_memory(buf, len - BIG / 2, count_cb, &n), TSARC_EIO);
	free(buf);
}

/* One raw entry with the given pathname and attributes. */
static size_t one_entry(unsigned char *buf, size_t cap, const char *path,
	const char *const *attrs, int type)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t used = 0;

	archive_write_set_format_pax(a);
	archive_write_open_memory(a, buf, cap, &used);
	archive_entry_copy_pathname(e, path);
	archive_entry_set_filetype(e, (unsigned)type);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 0);
	for (; attrs && *attrs; attrs += 2)
		archive_entry_xattr_add_entry(e, attrs[0], attrs[1], strlen(attrs[1]));
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	return used;
}

static void test_hostile_entries(void **state)
{
	static const char *const no_key[] = {"user.s3.content-type", "x", NULL};
	static const char *const other_key[] = {"user.s3.key", "b", NULL};
	static const char *const bad_attr[] = {"user.s3.key", "a", "user.evil", "x", NULL};
	static const char *const ctl[] = {"user.s3.key", "a", "user.s3.meta.m", "x\ny", NULL};
	static const char *const bad_key[] = {"user.s3.key", "a\x01", NULL};
	static const char *const ok[] = {"user.s3.key", "a", NULL};
	/* An entry without its key, with another key than its name, with an
	 * attribute of no S3 meaning, a control character in metadata, a key
	 * that is not safe, not a regular file. */
	static const struct {
		const char *path;
		const char *const *attrs;
		int type;
	} refused[] = {
		{"a", no_key, AE_IFREG},
		{"a", other_key, AE_IFREG},
		{"a", bad_attr, AE_IFREG},
		{"a", ctl, AE_IFREG},
		{"s3-unsafe-keys/0", bad_key, AE_IFREG},
		{"a", ok, AE_IFLNK},
	};
	unsigned char buf[16384];
	size_t n = 0, len, i;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		len = one_entry(buf, sizeof(buf), refused[i].path, refused[i].attrs,
			refused[i].type);
		if (tsarc_s3sys_read_memory(buf, len, count_cb, &n) != TSARC_EINVAL)
			fail_msg("entry %zu (%s) was not refused", i, refused[i].path);
	}
	assert_int_equal(n, 0);
	len = one_entry(buf, sizeof(buf), "a", ok, AE_IFREG);
	assert_int_equal(tsarc_s3sys_read_memory(buf, len, count_cb, &n), 0);
	assert_int_equal(n, 1);
}

static void test_duplicate_keys_fail(void **state)
{
	struct archive *a = archive_write_new();
	tsarc_s3sys_obj o;
	unsigned char buf[16384];
	size_t used = 0, n = 0;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.key = "same";
	assert_int_equal(tsarc_s3sys_writer_setup(a), 0);
	archive_write_open_memory(a, buf, sizeof(buf), &used);
	assert_int_equal(tsarc_s3sys_write(a, 0, &o, ""), 0);
	assert_int_equal(tsarc_s3sys_write(a, 1, &o, ""), 0);
	archive_write_close(a);
	archive_write_free(a);
	assert_int_equal(tsarc_s3sys_read_memory(buf, used, count_cb, &n), TSARC_EINVAL);
	assert_int_equal(n, 1);
}

/* What the reader refuses, the writer refuses too (a backup must never
 * write a stream its restore cannot read): control bytes in a content
 * type or a metadata value, attributes past the reader's bound. */
static void test_writer_refuses_unreadable(void **state)
{
	static char longval[TSARC_S3SYS_HEADER_MAX];
	tsarc_s3sys_meta bad[] = {{"owner", "a\x01b"}};
	tsarc_s3sys_meta huge[] = {{"big", longval}};
	unsigned char buf[64 * 1024];
	size_t used = 0;
	struct archive *a = archive_write_new();
	tsarc_s3sys_obj o;

	(void)state;
	memset(longval, 'v', sizeof(longval) - 1);
	assert_int_equal(tsarc_s3sys_writer_setup(a), 0);
	assert_int_equal(archive_write_open_memory(a, buf, sizeof(buf), &used), ARCHIVE_OK);
	memset(&o, 0, sizeof(o));
	o.key = "k";
	o.content_type = "text/plain\r\nx: y";
	assert_int_equal(tsarc_s3sys_write(a, 0, &o, ""), TSARC_EINVAL);
	o.content_type = NULL;
	o.meta = bad;
	o.nmeta = 1;
	assert_int_equal(tsarc_s3sys_write(a, 0, &o, ""), TSARC_EINVAL);
	o.meta = huge;
	assert_int_equal(tsarc_s3sys_write(a, 0, &o, ""), TSARC_EINVAL);
	archive_write_free(a);
}

/* The owned copy of an object's attributes (the restore's batch slot):
 * equal strings in new memory, no type when there is none, zero after. */
static void test_attrs_copy(void **state)
{
	tsarc_s3sys_obj o = {"a/b", "text/plain", meta1, 2, 3, 0};
	tsarc_s3sys_attrs a;
	size_t i;

	(void)state;
	assert_int_equal(tsarc_s3sys_attrs_copy(&a, &o), 0);
	assert_string_equal(a.key, "a/b");
	assert_ptr_not_equal(a.key, o.key);
	assert_string_equal(a.type, "text/plain");
	assert_int_equal(a.nmeta, 2);
	for (i = 0; i < 2; i++) {
		assert_string_equal(a.names[i], meta1[i].name);
		assert_string_equal(a.values[i], meta1[i].value);
		assert_ptr_not_equal(a.values[i], meta1[i].value);
	}
	tsarc_s3sys_attrs_dispose(&a);
	assert_null(a.key);
	assert_int_equal(a.nmeta, 0);
	o.content_type = NULL;
	o.nmeta = 0;
	assert_int_equal(tsarc_s3sys_attrs_copy(&a, &o), 0);
	assert_null(a.type);
	assert_int_equal(a.nmeta, 0);
	tsarc_s3sys_attrs_dispose(&a);
	o.nmeta = TSARC_S3SYS_META_MAX + 1;
	assert_int_equal(tsarc_s3sys_attrs_copy(&a, &o), TSARC_EINVAL);
	tsarc_s3sys_attrs_dispose(&a);
}

static void test_key_rules(void **state)
{
	char long_key[1100];

	(void)state;
	assert_int_equal(tsarc_s3sys_key_check("a/b"), 0);
	assert_int_equal(tsarc_s3sys_key_check(""), TSARC_EINVAL);
	assert_int_equal(tsarc_s3sys_key_check("\xc0\xaf"), TSARC_EINVAL);
	assert_int_equal(tsarc_s3sys_key_check("\xed\xa0\x80"), TSARC_EINVAL);
	memset(long_key, 'k', 1025);
	long_key[1025] = 0;
	assert_int_equal(tsarc_s3sys_key_check(long_key), TSARC_EINVAL);
	assert_true(tsarc_s3sys_key_is_path("a/b.txt"));
	assert_false(tsarc_s3sys_key_is_path("/a"));
	assert_false(tsarc_s3sys_key_is_path("a//b"));
	assert_false(tsarc_s3sys_key_is_path("a/../b"));
	assert_false(tsarc_s3sys_key_is_path("dir/"));
	assert_false(tsarc_s3sys_key_is_path("."));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncated_fails),
		cmocka_unit_test(test_hostile_entries),
		cmocka_unit_test(test_duplicate_keys_fail),
		cmocka_unit_test(test_key_rules),
		cmocka_unit_test(test_attrs_copy),
		cmocka_unit_test(test_writer_refuses_unreadable),
	};
	size_t i;
	int rc;

	big = malloc(BIG);
	for (i = 0; i < BIG; i++)
		big[i] = (unsigned char)(i * 7 + (i >> 13));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(big);
	return rc;
}
