/*
 * The store test suite: every store must pass it.
 *
 *   tsarc_store_suite URL       run against the store URL names
 *   tsarc_store_suite --tmp-fs  run against a fresh local folder
 *
 * The location should be empty (a fresh folder, bucket or prefix).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tsarc/errors.h"
#include "tsarc/sys/store.h"
#include "fileio.h"
#include <sys/stat.h>
#include "listed.h"
#include "store/expect_get.h"

static tsarc_store *st;
static const char *url;

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	size_t i;
	uint32_t s = seed * 2654435761u + 1;

	for (i = 0; i < len; i++) {
		s = s * 1103515245u + 12345u;
		p[i] = (uint8_t)(s >> 16);
	}
}

static void data_name(char *out, unsigned n)
{
	snprintf(out, 65, "%08x%056x", n * 2654435761u, n);
}

static void test_put_get_stat_every_type(void **state)
{
	static const tsarc_objtype types[] = {TSARC_OBJ_CONFIG, TSARC_OBJ_KEY,
		TSARC_OBJ_DATA, TSARC_OBJ_SNAPSHOT, TSARC_OBJ_LOCK, TSARC_OBJ_INDEX};
	tsarc_buf b = TSARC_BUF_INIT;
	uint8_t body[3000];
	char name[65];
	uint64_t size;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		fill(body, sizeof(body), (unsigned)i);
		data_name(name, 1000 + (unsigned)i);
		assert_int_equal(tsarc_store_put(st, types[i], name, body, sizeof(body), 0), 0);
		EXPECT_GET(st, types[i], name, 0, 0, &b, body, sizeof(body));
		assert_int_equal(tsarc_store_stat(st, types[i], name, &size), 0);
		assert_int_equal(size, sizeof(body));
	}
	tsarc_buf_dispose(&b);
}

static void test_ranges(void **state)
{
	tsarc_buf b = TSARC_BUF_INIT;
	uint8_t body[10000];
	char name[65];

	(void)state;
	fill(body, sizeof(body), 5);
	data_name(name, 2000);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_DATA, name, body, sizeof(body), 0), 0);
	EXPECT_GET(st, TSARC_OBJ_DATA, name, 100, 50, &b, body + 100, 50);
	EXPECT_GET(st, TSARC_OBJ_DATA, name, 9990, 0, &b, body + 9990, 10);
	tsarc_buf_clear(&b);
	/* get appends: a caller may gather several reads into one buffer */
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_DATA, name, 0, 10, &b), 0);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_DATA, name, 10, 10, &b), 0);
	assert_int_equal(b.size, 20);
	assert_memory_equal(b.ptr, body, 20);
	tsarc_buf_dispose(&b);
}

static void test_missing_objects(void **state)
{
	tsarc_buf b = TSARC_BUF_INIT;
	char name[65];
	uint64_t size;

	(void)state;
	data_name(name, 3000);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_DATA, name, 0, 0, &b), TSARC_ENOTFOUND);
	assert_int_equal(tsarc_store_stat(st, TSARC_OBJ_SNAPSHOT, name, &size), TSARC_ENOTFOUND);
	assert_int_equal(tsarc_store_remove(st, TSARC_OBJ_LOCK, name), TSARC_ENOTFOUND);
	tsarc_buf_dispose(&b);
}

static void test_create_only_and_overwrite(void **state)
{
	tsarc_buf b = TSARC_BUF_INIT;
	char name[65];

	(void)state;
	data_name(name, 4000);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_SNAPSHOT, name, "first", 5,
				 TSARC_PUT_CREATE_ONLY), 0);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_SNAPSHOT, name, "second", 6,
				 TSARC_PUT_CREATE_ONLY), TSARC_EEXISTS);
	EXPECT_GET(st, TSARC_OBJ_SNAPSHOT, name, 0, 0, &b, "first", 5);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_SNAPSHOT, name, "third!", 6, 0), 0);
	EXPECT_GET(st, TSARC_OBJ_SNAPSHOT, name, 0, 0, &b, "third!", 6);
	tsarc_buf_dispose(&b);
}

static void test_empty_and_large_objects(void **state)
{
	tsarc_buf b = TSARC_BUF_INIT;
	size_t big = 9 * 1024 * 1024 + 17;
	uint8_t *body = malloc(big);
	char name[65];

	(void)state;
	data_name(name, 5000);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_LOCK, name, "", 0, 0), 0);
	EXPECT_GET(st, TSARC_OBJ_LOCK, name, 0, 0, &b, "", 0);
	fill(body, big, 77);
	data_name(name, 5001);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_DATA, name, body, big, 0), 0);
	EXPECT_GET(st, TSARC_OBJ_DATA, name, 0, 0, &b, body, big);
	/* A ceiling on the buffer is honoured. */
	tsarc_buf_dispose(&b);
	tsarc_buf_init(&b, 1024);
	assert_int_equal(tsarc_store_get(st, TSARC_OBJ_DATA, name, 0, 0, &b), TSARC_ETOOLARGE);
	tsarc_buf_dispose(&b);
	free(body);
}

/*
 * put_file stores the first `len` bytes of a file without the caller
 * holding them (a pack is written to scratch space as it fills): bytes
 * past `len` are not stored, create-only holds, and a file shorter than
 * it says fails without leaving an object behind.
 */
static void test_put_from_a_file(void **state)
{
	tsarc_buf b = TSARC_BUF_INIT;
	size_t big = 3 * 1024 * 1024 + 17, len = big - 1000;
	uint8_t *body = malloc(big);
	const char *tmp = getenv("TMPDIR");
	char path[4096], name[65];
	uint64_t size;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/tsarc-suite-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	fill(body, big, 91);
	assert_int_equal(write(fd, body, big), (ssize_t)big);
	/* The file's own offset is at its end: put_file must not use it. */
	data_name(name, 5100);
	assert_int_equal(tsarc_store_put_file(st, TSARC_OBJ_DATA, name, fd, len,
				 TSARC_PUT_CREATE_ONLY), 0);
	EXPECT_GET(st, TSARC_OBJ_DATA, name, 0, 0, &b, body, len);
	assert_int_equal(tsarc_store_put_file(st, TSARC_OBJ_DATA, name, fd, 10,
				 TSARC_PUT_CREATE_ONLY), TSARC_EEXISTS);
	assert_int_equal(tsarc_store_stat(st, TSARC_OBJ_DATA, name, &size), 0);
	assert_int_equal(size, len);
	/* An empty object from a file. */
	data_name(name, 5101);
	assert_int_equal(tsarc_store_put_file(st, TSARC_OBJ_INDEX, name, fd, 0, 0), 0);
	assert_int_equal(tsarc_store_stat(st, TSARC_OBJ_INDEX, name, &size), 0);
	assert_int_equal(size, 0);
	/* A file shorter than the length given: an error, and no object. */
	data_name(name, 5102);
	assert_int_not_equal(tsarc_store_put_file(st, TSARC_OBJ_DATA, name, fd, big + 1, 0), 0);
	assert_non_null(tsarc_error_last()->message);
	assert_int_equal(tsarc_store_stat(st, TSARC_OBJ_DATA, name, &size), TSARC_ENOTFOUND);
	data_name(name, 5100);
	assert_int_equal(tsarc_store_remove(st, TSARC_OBJ_DATA, name), 0);
	data_name(name, 5101);
	assert_int_equal(tsarc_store_remove(st, TSARC_OBJ_INDEX, name), 0);
	close(fd);
	tsarc_buf_dispose(&b);
	free(body);
}

/* A pack's scratch file (unnamed, linkable) holding `len` bytes of `body`. */
static int scratch_with(const uint8_t *body, size_t len)
{
	int fd = tsarc_scratch_file_linkable();

	assert_true(fd >= 0);
	assert_int_equal(tsarc_pwrite_all(fd, body, len, 0), 0);
	return fd;
}

static nlink_t links_of(int fd)
{
	struct stat sb;

	assert_int_equal(fstat(fd, &sb), 0);
	return sb.st_nlink;
}

/*
 * A pack as the packer stores it: a whole unnamed scratch file, create
 * only. The fs store makes that file the object (it gains a name: no copy
 * of its bytes) when it is on the same filesystem, as the suite's scratch
 * and store are; any other store, and a file holding more than the
 * object, is copied. Either way the object is exactly the bytes, and
 * create-only still refuses a name that exists.
 */
static void test_put_a_scratch_file(void **state)
{
	size_t len = 2 * 1024 * 1024 + 3;
	uint8_t *body = malloc(len);
	tsarc_buf b = TSARC_BUF_INIT;
	char name[65];
	uint64_t size;
	int fd, again;

	(void)state;
	fill(body, len, 77);
	fd = scratch_with(body, len);
	data_name(name, 5200);
	assert_int_equal(tsarc_store_put_file(st, TSARC_OBJ_DATA, name, fd, len,
				 TSARC_PUT_CREATE_ONLY), 0);
	assert_int_equal(links_of(fd), !strcmp(st->kind, "fs") ? 1 : 0);
	EXPECT_GET(st, TSARC_OBJ_DATA, name, 0, 0, &b, body, len);
	/* The same name from another file: refused, the object unchanged. */
	again = scratch_with(body + 1, len - 1);
	assert_int_equal(tsarc_store_put_file(st, TSARC_OBJ_DATA, name, again, len - 1,
				 TSARC_PUT_CREATE_ONLY), TSARC_EEXISTS);
	assert_int_equal(links_of(again), 0);
	assert_int_equal(tsarc_store_stat(st, TSARC_OBJ_DATA, name, &size), 0);
	assert_int_equal(size, len);
	/* More in the file than the object: only its first bytes, copied. */
	data_name(name, 5201);
	assert_int_equal(tsarc_store_put_file(st, TSARC_OBJ_DATA, name, again, 1000,
				 TSARC_PUT_CREATE_ONLY), 0);
	assert_int_equal(links_of(again), 0);
	EXPECT_GET(st, TSARC_OBJ_DATA, name, 0, 0, &b, body + 1, 1000);
	assert_int_equal(tsarc_store_remove(st, TSARC_OBJ_DATA, name), 0);
	data_name(name, 5200);
	assert_int_equal(tsarc_store_remove(st, TSARC_OBJ_DATA, name), 0);
	close(fd);
	close(again);
	tsarc_buf_dispose(&b);
	free(body);
}

/* The listed mtime of one object (-1 when it is not listed). */
static int64_t listed_mtime(tsarc_objtype type, const char *name)
{
	listed l;
	long k;

	memset(&l, 0, sizeof(l));
	assert_int_equal(tsarc_store_list(st, type, listed_add, &l), 0);
	k = listed_find(&l, name);
	return k < 0 ? -1 : l.mtimes[k];
}

/* The whole listing as entries (tsarc_store_list_entries) holds `name`
 * once, with the size and time the listing gives it. */
static void entry_listed(tsarc_objtype type, const char *name, uint64_t size, int64_t mtime)
{
	tsarc_store_entry *e;
	size_t n, i, hits = 0;

	assert_int_equal(tsarc_store_list_entries(st, type, &e, &n), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(e[i].name, name))
			continue;
		hits++;
		assert_int_equal(e[i].size, size);
		assert_true(e[i].mtime == mtime);
	}
	assert_int_equal(hits, 1);
	tsarc_store_entries_free(e, n);
}

/*
 * Listings carry each object's modification time by the store's clock, and
 * a rewrite moves it on: lock staleness and prune's young-chunk rule rest
 * on both. The suite's stores share this machine's clock, so the listed
 * time must be close to it (a wide margin: only a wrong field, unit or
 * time zone is caught, never a slow run).
 */
static void test_list_mtime(void **state)
{
	static const tsarc_objtype types[] = {TSARC_OBJ_DATA, TSARC_OBJ_LOCK,
		TSARC_OBJ_CONFIG};
	char name[65];
	int64_t before, after, m1, m2;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		data_name(name, 7000 + (unsigned)i);
		before = (int64_t)time(NULL);
		assert_int_equal(tsarc_store_put(st, types[i], name, "first", 5, 0), 0);
		after = (int64_t)time(NULL);
		m1 = listed_mtime(types[i], types[i] == TSARC_OBJ_CONFIG ? "config" : name);
		assert_true(m1 >= before - 120 && m1 <= after + 120);
		/* A later second for sure, on any store's granularity. */
		sleep(1);
		assert_int_equal(tsarc_store_put(st, types[i], name, "second", 6, 0), 0);
		m2 = listed_mtime(types[i], types[i] == TSARC_OBJ_CONFIG ? "config" : name);
		assert_true(m2 > m1);
		entry_listed(types[i], types[i] == TSARC_OBJ_CONFIG ? "config" : name, 6, m2);
		if (types[i] != TSARC_OBJ_CONFIG)
			assert_int_equal(tsarc_store_remove(st, types[i], name), 0);
	}
}

typedef struct tagged {
	const char *want;
	char tag[256];
	uint64_t size;
	int seen;
} tagged;

static int note_tag(const char *name, uint64_t size, const char *tag, void *payload)
{
	tagged *t = payload;

	if (strcmp(name, t->want))
		return 0;
	t->seen++;
	t->size = size;
	snprintf(t->tag, sizeof(t->tag), "%s", tag ? tag : "");
	return 0;
}

/*
 * A tagged listing (list_tagged) lists what the plain one lists, and the
 * tag of an object written again with other bytes of the same size, at
 * once, is another: the index cache (index_cache.h) trusts a local copy
 * only while the store lists the object with the tag it had when the copy
 * was found to be its.
 */
static void test_list_tags(void **state)
{
	char name[65];
	tagged t;
	char first[256];

	(void)state;
	data_name(name, 7100);
	memset(&t, 0, sizeof(t));
	t.want = name;
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_INDEX, name, "abcdefgh", 8, 0), 0);
	assert_int_equal(tsarc_store_list_tagged(st, TSARC_OBJ_INDEX, note_tag, &t), 0);
	assert_int_equal(t.seen, 1);
	assert_int_equal(t.size, 8);
	assert_true(t.tag[0] != 0);
	memcpy(first, t.tag, sizeof(first));
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_INDEX, name, "abcdefgi", 8, 0), 0);
	t.seen = 0;
	assert_int_equal(tsarc_store_list_tagged(st, TSARC_OBJ_INDEX, note_tag, &t), 0);
	assert_int_equal(t.seen, 1);
	assert_int_equal(t.size, 8);
	assert_true(t.tag[0] != 0);
	assert_string_not_equal(t.tag, first);
	assert_int_equal(tsarc_store_remove(st, TSARC_OBJ_INDEX, name), 0);
}

static void test_list_and_remove_many(void **state)
{
	listed l;
	char names[40][65];
	const char *ptrs[40];
	size_t i, k, before;

	(void)state;
	/* Other tests may have left index objects: count them first. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(tsarc_store_list(st, TSARC_OBJ_INDEX, listed_add, &l), 0);
	before = l.n;
	for (i = 0; i < 40; i++) {
		data_name(names[i], 6000 + (unsigned)i);
		ptrs[i] = names[i];
		assert_int_equal(tsarc_store_put(st, TSARC_OBJ_INDEX, names[i], "0123456789", i % 10 + 1, 0), 0);
	}
	memset(&l, 0, sizeof(l));
	assert_int_equal(tsarc_store_list(st, TSARC_OBJ_INDEX, listed_add, &l), 0);
	assert_int_equal(l.n, before + 40);
	for (i = 0; i < 40; i++) {
		long at = listed_find(&l, names[i]);
		assert_true(at >= 0);
		assert_int_equal(l.sizes[at], i % 10 + 1);
	}
	/* A callback's non-zero return stops the listing and comes back. */
	assert_int_equal(tsarc_store_list(st, TSARC_OBJ_INDEX, listed_add, &l), -1000);
	/* Data objects list with their plain names, not their fan-out path. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(tsarc_store_list(st, TSARC_OBJ_DATA, listed_add, &l), 0);
	for (k = 0; k < l.n; k++)
		assert_int_equal(strlen(l.names[k]), 64);
	assert_int_equal(tsarc_store_remove_many(st, TSARC_OBJ_INDEX, ptrs, 40), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(tsarc_store_list(st, TSARC_OBJ_INDEX, listed_add, &l), 0);
	assert_int_equal(l.n, before);
	/* Removing names that are gone is not an error for the batch call. */
	assert_int_equal(tsarc_store_remove_many(st, TSARC_OBJ_INDEX, ptrs, 3), 0);
}

static void test_invalid_names(void **state)
{
	(void)state;
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_SNAPSHOT, "../escape", "x", 1, 0), TSARC_EINVAL);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_SNAPSHOT, "a/b", "x", 1, 0), TSARC_EINVAL);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_SNAPSHOT, "", "x", 1, 0), TSARC_EINVAL);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_DATA, "xyz0", "x", 1, 0), TSARC_EINVAL);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_DATA, "ab", "x", 1, 0), TSARC_EINVAL);
}

#define THREADS 8
#define PER_THREAD 25

static void *writer(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg, i;
	uint8_t body[20000];
	char name[65];

	for (i = 0; i < PER_THREAD; i++) {
		fill(body, sizeof(body), t * 1000 + i);
		data_name(name, 10000 + t * 1000 + i);
		if (tsarc_store_put(st, TSARC_OBJ_DATA, name, body, sizeof(body), 0) != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_concurrent_puts(void **state)
{
	pthread_t th[THREADS];
	tsarc_buf b = TSARC_BUF_INIT;
	uint8_t body[20000];
	char name[65];
	unsigned t, i;
	void *ret;

	(void)state;
	for (t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, writer, (void *)(uintptr_t)t), 0);
	for (t = 0; t < THREADS; t++) {
		assert_int_equal(pthread_join(th[t], &ret), 0);
		assert_null(ret);
	}
	for (t = 0; t < THREADS; t++) {
		for (i = 0; i < PER_THREAD; i++) {
			fill(body, sizeof(body), t * 1000 + i);
			data_name(name, 10000 + t * 1000 + i);
			EXPECT_GET(st, TSARC_OBJ_DATA, name, 0, 0, &b, body, sizeof(body));
		}
	}
	tsarc_buf_dispose(&b);
}

typedef struct purged {
	char names[8][65];
	int64_t until[8];
	size_t n;
} purged;

static int note_purged(const char *name, int64_t kept_until, void *payload)
{
	purged *p = payload;

	assert_true(p->n < 8);
	snprintf(p->names[p->n], sizeof(p->names[0]), "%s", name);
	p->until[p->n++] = kept_until;
	return 0;
}

/*
 * purge_preview's contract (tsarc/sys/store.h), for every store: what
 * purge_many then reports for the same names, name for name and date for
 * date, deleting and hiding nothing (what stat says of each is as before;
 * a dry run's figures come from it). Then the purge itself, into *p.
 * Before, only the S3 store's own tests and a test double held it.
 */
static void preview_then_purge(tsarc_store *s, tsarc_objtype type, const char *const *names,
	size_t n, purged *p)
{
	purged q;
	uint64_t size;
	int before[8];
	size_t i, k;

	assert_true(n <= 8);
	for (i = 0; i < n; i++)
		before[i] = tsarc_store_stat(s, type, names[i], &size);
	memset(&q, 0, sizeof(q));
	assert_int_equal(tsarc_store_purge_preview(s, type, names, n, note_purged, &q), 0);
	assert_int_equal(q.n, n);
	for (i = 0; i < n; i++)
		assert_int_equal(tsarc_store_stat(s, type, names[i], &size), before[i]);
	tsarc_error_clear();
	memset(p, 0, sizeof(*p));
	assert_int_equal(tsarc_store_purge_many(s, type, names, n, note_purged, p), 0);
	assert_int_equal(p->n, n);
	for (i = 0; i < n; i++) {
		for (k = 0; k < n && strcmp(q.names[k], p->names[i]); k++)
			;
		assert_true(k < n);
		assert_int_equal(q.until[k], p->until[i]);
	}
}

/* The suite's S3 URL with "-wl" after the bucket: a bucket of its own,
 * which the store creates with Object Lock. */
static char *lock_url(void)
{
	const char *host = strstr(url, "://"), *b, *e;
	char *out;

	assert_non_null(host);
	b = strchr(host + 3, '/');
	assert_non_null(b);
	e = strchr(b + 1, '/');
	if (!e)
		e = b + strlen(b);
	out = malloc(strlen(url) + 4);
	assert_non_null(out);
	sprintf(out, "%.*s-wl%s", (int)(e - url), url, e);
	return out;
}

/* `moved` versions whose date moved where the test made `want`: through
 * the fault proxy (TSARC_TEST_EXPECT_RETRIES) a put the server applied but
 * whose answer was lost is sent again and leaves one version more. */
static void assert_moved(size_t moved, size_t want)
{
	if (getenv("TSARC_TEST_EXPECT_RETRIES"))
		assert_true(moved >= want);
	else
		assert_int_equal(moved, want);
}

/* Object Lock on the versions an overwrite left behind: extend_versions
 * moves the date of each old version of the names asked for (one listing
 * per name for a few, of the folder for more, names in any order), never
 * of other names, and leaves alone a version already protected longer; a
 * purge then reports the old version's date as the one that holds (which
 * names moved, whatever versions the fault proxy's retries added). */
static void retention_old_versions(tsarc_store *ls, int64_t now)
{
	char n[12][65];
	const char *a[9], *b[9];
	size_t i, moved = 7;
	purged p;

	for (i = 0; i < 12; i++) {
		data_name(n[i], 9200 + (unsigned)i);
		assert_int_equal(tsarc_store_put(ls, TSARC_OBJ_DATA, n[i], "v1", 2, 0), 0);
	}
	/* n[0], n[1] and n[2] overwritten: each has one old version */
	for (i = 0; i < 3; i++)
		assert_int_equal(tsarc_store_put(ls, TSARC_OBJ_DATA, n[i], "v2", 2, 0), 0);
	/* one name (a listing of its own) */
	a[0] = n[0];
	assert_int_equal(tsarc_store_extend_versions(ls, TSARC_OBJ_DATA, a, 1, now + 2 * 86400,
		&moved), 0);
	assert_moved(moved, 1);
	/* an earlier date than it has: left alone, no error */
	assert_int_equal(tsarc_store_extend_versions(ls, TSARC_OBJ_DATA, a, 1, now + 3600,
		&moved), 0);
	assert_int_equal(moved, 0);
	/* nine names each (a listing of the folder), in two orders: the old
	 * versions of n[1], then of n[0], never of n[2] */
	a[0] = n[11];
	a[1] = n[1];
	b[0] = n[10];
	b[8] = n[0];
	for (i = 0; i < 7; i++) {
		a[2 + i] = n[3 + i];
		b[1 + i] = n[9 - i];
	}
	assert_int_equal(tsarc_store_extend_versions(ls, TSARC_OBJ_DATA, a, 9, now + 3 * 86400,
		&moved), 0);
	assert_moved(moved, 1);
	assert_int_equal(tsarc_store_extend_versions(ls, TSARC_OBJ_DATA, b, 9, now + 3 * 86400,
		&moved), 0);
	assert_moved(moved, 1);
	/* a purge hides them, kept until the latest date of their versions */
	for (i = 0; i < 3; i++)
		a[i] = n[i];
	preview_then_purge(ls, TSARC_OBJ_DATA, a, 3, &p);
	for (i = 0; i < 2; i++)
		assert_true(p.until[i] >= now + 3 * 86400 - 120 && p.until[i] <= now + 3 * 86400 + 120);
	assert_true(p.until[2] > now && p.until[2] <= now + 86400 + 120);
}

/* A store with Object Lock: a retained object outlives a purge hidden,
 * with its date; a lock object carries none and goes for good; dates are
 * extended, never on a hidden object; a new put brings a hidden one back. */
static void test_retention_semantics(void)
{
	tsarc_retention r = {TSARC_RETAIN_GOVERNANCE, 1};
	tsarc_store *ls = NULL;
	char x[65], z[65], *lurl = lock_url();
	const char *ptrs[3] = {x, "lockname", z};
	int64_t now = (int64_t)time(NULL);
	int enabled = 7;
	uint64_t size;
	purged p;
	listed l;

	assert_int_equal(tsarc_store_retention_enabled(st, &enabled), 0);
	assert_int_equal(enabled, 0);
	assert_int_equal(tsarc_store_open(&ls, lurl, NULL), 0);
	assert_int_equal(tsarc_store_set_retention(ls, &r), 0);
	assert_int_equal(tsarc_store_create(ls), 0);
	assert_int_equal(tsarc_store_retention_enabled(ls, &enabled), 0);
	assert_int_equal(enabled, 1);
	data_name(x, 9100);
	data_name(z, 9101);
	assert_int_equal(tsarc_store_put(ls, TSARC_OBJ_DATA, x, "abc", 3, 0), 0);
	assert_int_equal(tsarc_store_put(ls, TSARC_OBJ_LOCK, "lockname", "l1", 2, 0), 0);
	assert_int_equal(tsarc_store_put(ls, TSARC_OBJ_LOCK, "lockname", "l2", 2, 0), 0);
	assert_int_equal(tsarc_store_extend_retention(ls, TSARC_OBJ_DATA, x, now + 2 * 86400), 0);
	/* an earlier date than it has is no error, and changes nothing */
	assert_int_equal(tsarc_store_extend_retention(ls, TSARC_OBJ_DATA, x, now + 3600), 0);
	assert_int_equal(tsarc_store_extend_retention(ls, TSARC_OBJ_DATA, z, now + 86400),
		TSARC_ENOTFOUND);

	preview_then_purge(ls, TSARC_OBJ_DATA, ptrs, 1, &p);
	assert_true(p.until[0] >= now + 2 * 86400 - 120 && p.until[0] <= now + 2 * 86400 + 120);
	preview_then_purge(ls, TSARC_OBJ_LOCK, ptrs + 1, 1, &p);
	assert_int_equal(p.until[0], 0);
	preview_then_purge(ls, TSARC_OBJ_DATA, ptrs + 2, 1, &p);
	assert_int_equal(p.until[0], 0);
	assert_int_equal(tsarc_store_stat(ls, TSARC_OBJ_DATA, x, &size), TSARC_ENOTFOUND);
	assert_int_equal(tsarc_store_stat(ls, TSARC_OBJ_LOCK, "lockname", &size), TSARC_ENOTFOUND);
	memset(&l, 0, sizeof(l));
	assert_int_equal(tsarc_store_list(ls, TSARC_OBJ_DATA, listed_add, &l), 0);
	assert_false(listed_find(&l, x) >= 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(tsarc_store_list_hidden(ls, TSARC_OBJ_DATA, listed_add, &l), 0);
	assert_true(listed_find(&l, x) >= 0);
	memset(&l, 0, sizeof(l));
	/* the lock went for good: no marker, no old version */
	assert_int_equal(tsarc_store_list_hidden(ls, TSARC_OBJ_LOCK, listed_add, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(tsarc_store_extend_retention(ls, TSARC_OBJ_DATA, x, now + 86400),
		TSARC_ENOTFOUND);
	/* a second purge of the hidden object keeps it, as hidden as before */
	preview_then_purge(ls, TSARC_OBJ_DATA, ptrs, 1, &p);
	assert_true(p.until[0] >= now + 2 * 86400 - 120);
	/* written again, it is back in view */
	assert_int_equal(tsarc_store_put(ls, TSARC_OBJ_DATA, x, "abcd", 4, 0), 0);
	assert_int_equal(tsarc_store_stat(ls, TSARC_OBJ_DATA, x, &size), 0);
	assert_int_equal(size, 4);
	memset(&l, 0, sizeof(l));
	assert_int_equal(tsarc_store_list_hidden(ls, TSARC_OBJ_DATA, listed_add, &l), 0);
	assert_false(listed_find(&l, x) >= 0);
	retention_old_versions(ls, now);
	tsarc_store_free(ls);
	free(lurl);
}

/* A store without Object Lock says so for every retention operation, and
 * its purge is a removal for good; one with it keeps what is retained. */
static void test_retention_or_clear_refusal(void **state)
{
	tsarc_retention r = {TSARC_RETAIN_GOVERNANCE, 1};
	char names[2][65];
	const char *ptrs[2] = {names[0], names[1]};
	purged p;
	listed l;
	uint64_t size;
	size_t moved = 7;
	int enabled = 1;

	(void)state;
	if (st->set_retention) {
		test_retention_semantics();
		return;
	}
	assert_int_equal(tsarc_store_set_retention(st, &r), TSARC_EUNSUPPORTED);
	assert_non_null(strstr(tsarc_error_last()->message, "Object Lock"));
	assert_int_equal(tsarc_store_retention_enabled(st, &enabled), TSARC_EUNSUPPORTED);
	assert_int_equal(enabled, 0);
	data_name(names[0], 9000);
	data_name(names[1], 9001);
	assert_int_equal(tsarc_store_extend_retention(st, TSARC_OBJ_DATA, names[0], 1),
		TSARC_EUNSUPPORTED);
	assert_int_equal(tsarc_store_extend_versions(st, TSARC_OBJ_DATA, ptrs, 1, 1, &moved),
		TSARC_EUNSUPPORTED);
	assert_int_equal(moved, 0);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_DATA, names[0], "abc", 3, 0), 0);
	preview_then_purge(st, TSARC_OBJ_DATA, ptrs, 2, &p);
	assert_int_equal(p.until[0], 0);
	assert_int_equal(p.until[1], 0);
	assert_int_equal(tsarc_store_stat(st, TSARC_OBJ_DATA, names[0], &size), TSARC_ENOTFOUND);
	memset(&l, 0, sizeof(l));
	assert_int_equal(tsarc_store_list_hidden(st, TSARC_OBJ_DATA, listed_add, &l), 0);
	assert_int_equal(l.n, 0);
}

static void test_describe_has_no_secret(void **state)
{
	const char *d = tsarc_store_describe(st);
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");

	(void)state;
	assert_non_null(d);
	if (secret && *secret)
		assert_null(strstr(d, secret));
}

int main(int argc, char **argv)
{
	char tmp[256] = "";
	int rc;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_stat_every_type),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_missing_objects),
		cmocka_unit_test(test_create_only_and_overwrite),
		cmocka_unit_test(test_empty_and_large_objects),
		cmocka_unit_test(test_put_from_a_file),
		cmocka_unit_test(test_put_a_scratch_file),
		cmocka_unit_test(test_list_and_remove_many),
		cmocka_unit_test(test_list_mtime),
		cmocka_unit_test(test_list_tags),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_concurrent_puts),
		cmocka_unit_test(test_describe_has_no_secret),
		cmocka_unit_test(test_retention_or_clear_refusal),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: tsarc_store_suite URL | --tmp-fs\n");
		return 2;
	}
	url = argv[1];
	if (!strcmp(url, "--tmp-fs")) {
		snprintf(tmp, sizeof(tmp), "%s/tsarc-store-XXXXXX",
			getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(tmp))
			return 1;
		url = tmp;
	}
	if ((rc = tsarc_store_open(&st, url, NULL)) || (rc = tsarc_store_create(st))) {
		fprintf(stderr, "cannot open store: %s\n", tsarc_error_last()->message);
		return 1;
	}
	rc = cmocka_run_group_tests_name(url, tests, NULL, NULL);
	tsarc_store_free(st);
	if (tmp[0]) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			rc = 1;
	}
	return rc;
}
