/*
 * What a repository must survive without losing data or locking its users
 * out: a key file of another repository, a damaged key file of a second
 * password, a forged key file with huge scrypt parameters, a key removed
 * through a handle whose own key is gone or damaged, a hundred planted key
 * files, a damaged or
 * unreadable snapshot, a torn chunk object.
 *
 * The repository sits behind a wrapper store that lists objects in a chosen
 * order (so "listed first" is not up to the file system) and can make reads
 * of one object type fail as a network or permission error would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "backup.h"
#include "base64.h"
#include "check.h"
#include "codec.h"
#include "repo.h"
#include "snapshot.h"
#include "tsarc/errors.h"
#include "repo_fixture.h"
#include "listed.h"
#include "scratch.h"
#include "store/forward_store.h"

/* --- the wrapper store --- */

typedef struct test_store {
	forward_store fw; /* first: the store is the wrapper */
	int descending;   /* list names in descending order (else ascending) */
	int fail_type;    /* gets of this type fail with fail_code (-1: none) */
	int fail_code;
} test_store;

static test_store *the_store; /* the wrapper of the repository under test */

static int ts_get(tsarc_store *st, tsarc_objtype type, const char *name, uint64_t offset,
	uint64_t length, tsarc_buf *out)
{
	test_store *ts = (test_store *)st;

	if ((int)type == ts->fail_type)
		return tsarc_error_set(ts->fail_code, "GET %s/%s: injected failure",
			tsarc_objtype_dir(type), name);
	return tsarc_store_get(ts->fw.inner, type, name, offset, length, out);
}

/* Lists what the wrapped store lists, sorted by name as the wrapper says. */
static int ts_list(tsarc_store *st, tsarc_objtype type, tsarc_store_list_cb cb, void *payload)
{
	test_store *ts = (test_store *)st;
	listed *l = calloc(1, sizeof(*l));
	size_t order[LISTED_MAX], i, k;
	int rc;

	assert_non_null(l);
	if ((rc = tsarc_store_list(ts->fw.inner, type, listed_add, l)) == 0) {
		for (i = 0; i < l->n; i++)
			order[i] = i;
		/* Selection sort: lists here are a handful of names. */
		for (i = 0; i < l->n; i++)
			for (k = i + 1; k < l->n; k++) {
				int c = strcmp(l->names[order[i]], l->names[order[k]]);
				if (ts->descending ? c < 0 : c > 0) {
					size_t t = order[i];
					order[i] = order[k];
					order[k] = t;
				}
			}
		for (i = 0; i < l->n && !rc; i++)
			rc = cb(l->names[order[i]], l->sizes[order[i]], l->mtimes[order[i]], payload);
	}
	free(l);
	return rc;
}

static tsarc_store *wrap(const char *dir)
{
	test_store *ts = calloc(1, sizeof(*ts));
	tsarc_store *inner = NULL;

	assert_non_null(ts);
	assert_int_equal(tsarc_store_fs_open(&inner, dir, NULL), 0);
	forward_store_init(&ts->fw, "test", inner);
	ts->fw.parent.max_inflight = 2;
	ts->fw.parent.get = ts_get;
	ts->fw.parent.list = ts_list;
	ts->fail_type = -1;
	the_store = ts;
	return &ts->fw.parent;
}

/* --- repositories in temp folders, cheap scrypt --- */

static char dirs[4][256];
static int ndirs;

static const char *new_dir(void)
{
	char *d = dirs[ndirs++];

	assert_non_null(scratch_make(d, sizeof(dirs[0]), "trust"));
	return d;
}

static int teardown(void **state)
{
	(void)state;
	while (ndirs > 0) {
		if (scratch_remove(dirs[--ndirs]))
			return -1;
	}
	return 0;
}

static tsarc_repo *init_repo(const char *dir, const char *password)
{
	tsarc_repo_init_options o;
	tsarc_repo *repo;

	repo_fixture_options(&o);
	o.chunker.min_size = 64 * 1024;
	o.chunker.avg_size = 128 * 1024;
	o.chunker.max_size = 256 * 1024;
	assert_int_equal(tsarc_repo_init(&repo, wrap(dir), password, &o), 0);
	return repo;
}

static tsarc_repo *open_repo(const char *dir, const char *password, int expect)
{
	tsarc_repo *repo = NULL;
	tsarc_store *st = wrap(dir);
	int rc = tsarc_repo_open(&repo, st, password);

	if (rc)
		tsarc_store_free(st);
	assert_int_equal(rc, expect);
	return repo;
}

static void copy_file(const char *from, const char *to)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	assert_int_equal(system(cmd), 0);
}

/* The one key file of a fresh repository. */
static void only_key(const char *dir, char name[TSARC_ID_HEX_LEN + 1])
{
	char **names;
	size_t n;
	tsarc_store *st;

	assert_int_equal(tsarc_store_fs_open(&st, dir, NULL), 0);
	assert_int_equal(tsarc_store_list_names(st, TSARC_OBJ_KEY, &names, &n), 0);
	assert_int_equal(n, 1);
	snprintf(name, TSARC_ID_HEX_LEN + 1, "%s", names[0]);
	tsarc_store_names_free(names, n);
	tsarc_store_free(st);
}

/* Backs up `len` bytes of a pattern (seeded) as one stream; the id out. */
static void backup_bytes(tsarc_repo *repo, size_t len, unsigned seed, char id[TSARC_ID_HEX_LEN + 1])
{
	uint8_t *data = malloc(len);
	size_t i;

	assert_non_null(data);
	srand(seed);
	for (i = 0; i < len; i++)
		data[i] = (uint8_t)(i % 251 < 200 ? (int)(i % 13) : rand());
	repo_fixture_backup(repo, dirs[0], data, len, "stream", id);
	free(data);
}

/* --- item: a foreign key file must not lock anyone out --- */

static void test_foreign_key_listed_first(void **state)
{
	const char *real = new_dir(), *other = new_dir();
	char real_key[TSARC_ID_HEX_LEN + 1], foreign[TSARC_ID_HEX_LEN + 1];
	char from[600], to[600];
	tsarc_repo *repo;

	(void)state;
	tsarc_repo_free(init_repo(real, "same password"));
	tsarc_repo_free(init_repo(other, "same password"));
	only_key(real, real_key);
	only_key(other, foreign);
	snprintf(from, sizeof(from), "%s/keys/%s", other, foreign);
	snprintf(to, sizeof(to), "%s/keys/%s", real, foreign);
	copy_file(from, to);
	/* Both orders: the foreign key first is the one that used to fail. */
	for (int descending = 0; descending < 2; descending++) {
		tsarc_store *st = wrap(real);
		the_store->descending = descending;
		assert_int_equal(tsarc_repo_open(&repo, st, "same password"), 0);
		assert_string_equal(repo->key_name, real_key);
		tsarc_repo_free(repo);
	}
	/* Only the foreign key left: the config does not open with it. That
	 * is said as it is, naming the key, not as a bare "authentication
	 * failed". */
	snprintf(to, sizeof(to), "%s/keys/%s", real, real_key);
	assert_int_equal(unlink(to), 0);
	assert_null(open_repo(real, "same password", TSARC_ECORRUPT));
	assert_non_null(strstr(tsarc_error_last()->message, "another repository"));
	foreign[16] = '\0';
	assert_non_null(strstr(tsarc_error_last()->message, foreign));
}

/* --- item: a damaged key file of a second password is damage --- */

static void test_damaged_key_of_second_password(void **state)
{
	const char *dir = new_dir();
	char first[TSARC_ID_HEX_LEN + 1], second[TSARC_ID_HEX_LEN + 1], path[600];
	tsarc_repo *repo = init_repo(dir, "first");
	FILE *f;

	(void)state;
	snprintf(first, sizeof(first), "%s", repo->key_name);
	assert_int_equal(tsarc_repo_add_key(repo, "second", second), 0);
	tsarc_repo_free(repo);
	/* One byte of the second password's key file changes. */
	snprintf(path, sizeof(path), "%s/keys/%s", dir, second);
	f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 40, SEEK_SET), 0);
	assert_int_equal(fputc('#', f), '#');
	assert_int_equal(fclose(f), 0);
	for (int descending = 0; descending < 2; descending++) {
		tsarc_store *st = wrap(dir);
		the_store->descending = descending;
		assert_int_equal(tsarc_repo_open(&repo, st, "second"), TSARC_ECORRUPT);
		tsarc_store_free(st);
		assert_non_null(strstr(tsarc_error_last()->message, "damaged"));
		assert_non_null(strstr(tsarc_error_last()->message, "key file"));
		assert_null(strstr(tsarc_error_last()->message, "wrong password"));
		/* The first password still opens it; a password of neither is
		 * told that its key may be the damaged one, not just "wrong". */
		repo = open_repo(dir, "first", 0);
		assert_string_equal(repo->key_name, first);
		tsarc_repo_free(repo);
		assert_null(open_repo(dir, "third", TSARC_ECORRUPT));
		assert_non_null(strstr(tsarc_error_last()->message, "may have been this password's"));
	}
	/* With no damaged key file, a wrong password is a wrong password. */
	assert_int_equal(unlink(path), 0);
	assert_null(open_repo(dir, "second", TSARC_EWRONGPASS));
}

/* --- item: scrypt parameters of a key file are bounded --- */

static void write_key(const char *dir, const char *text, char name[TSARC_ID_HEX_LEN + 1])
{
	uint8_t digest[32];
	tsarc_store *st;

	assert_int_equal(tsarc_sha256(text, strlen(text), digest), 0);
	tsarc_hex_encode(name, digest, 32);
	assert_int_equal(tsarc_store_fs_open(&st, dir, NULL), 0);
	assert_int_equal(tsarc_store_put(st, TSARC_OBJ_KEY, name, text, strlen(text), 0), 0);
	tsarc_store_free(st);
}

static void test_forged_scrypt_parameters(void **state)
{
	static const struct {
		const char *n, *r, *p;
	} forged[] = {
		{"65536", "64", "64"},      /* 2^28: minutes, 512 MiB */
		{"32768", "8", "1024"},     /* p alone */
		{"1048576", "8", "1"},      /* 1 GiB of memory */
		{"4503599627370496", "1", "1"},
	};
	const char *dir = new_dir();
	char text[1024], name[TSARC_ID_HEX_LEN + 1], salt[64], data[128];
	uint8_t zeros[80] = {0};
	char *b64;
	tsarc_repo *repo = init_repo(dir, "pw");
	size_t i;
	time_t t0;

	(void)state;
	tsarc_repo_free(repo);
	assert_int_equal(tsarc_base64_encode(&b64, zeros, 32), 0);
	snprintf(salt, sizeof(salt), "%s", b64);
	free(b64);
	assert_int_equal(tsarc_base64_encode(&b64, zeros, 2 * TSARC_KEY_LEN + TSARC_AEAD_OVERHEAD), 0);
	snprintf(data, sizeof(data), "%s", b64);
	free(b64);
	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		snprintf(text, sizeof(text),
			"{\"version\":1,\"kdf\":\"scrypt\",\"N\":%s,\"r\":%s,\"p\":%s,"
			"\"salt\":\"%s\",\"data\":\"%s\"}", forged[i].n, forged[i].r, forged[i].p,
			salt, data);
		write_key(dir, text, name);
		/* Refused on sight, naming the key file and its parameters. */
		assert_int_equal(tsarc_repo_verify_key_file((const uint8_t *)text, strlen(text),
					 name), TSARC_ECORRUPT);
		assert_non_null(strstr(tsarc_error_last()->message, "scrypt"));
		{
			char head[17];
			snprintf(head, sizeof(head), "%.16s", name);
			assert_non_null(strstr(tsarc_error_last()->message, head));
		}
	}
	/* The real key still opens the repository, the forged ones cost nothing
	 * (listed first or last); a wrong password meets only damage. */
	t0 = time(NULL);
	for (int descending = 0; descending < 2; descending++) {
		tsarc_store *st = wrap(dir);
		the_store->descending = descending;
		assert_int_equal(tsarc_repo_open(&repo, st, "pw"), 0);
		tsarc_repo_free(repo);
	}
	assert_null(open_repo(dir, "not the password", TSARC_ECORRUPT));
	assert_non_null(strstr(tsarc_error_last()->message, "damaged"));
	assert_true(time(NULL) - t0 < 30);
	/* The bound itself: the default cost and 8 times it pass. */
	assert_int_equal(tsarc_scrypt_params_check(32768, 8, 1), 0);
	assert_int_equal(tsarc_scrypt_params_check(32768, 8, 8), 0);
	assert_int_equal(tsarc_scrypt_params_check(32768, 8, 9), TSARC_ECORRUPT);
	assert_int_equal(tsarc_scrypt_params_check(1ull << 62, 1ull << 62, 1), TSARC_ECORRUPT);
}

/* --- item: the number of key files does not make an open take hours --- */

/* EVP_PBE_scrypt, wrapped (-Wl,--wrap=EVP_PBE_scrypt): counted; the real
 * one for the fixture's cheap keys, a fake and instant one for the planted
 * keys of the real cost, which would otherwise make this test take minutes. */
int __real_EVP_PBE_scrypt(const char *pass, size_t passlen, const unsigned char *salt,
	size_t saltlen, uint64_t n, uint64_t r, uint64_t p, uint64_t maxmem, unsigned char *key,
	size_t keylen);
int __wrap_EVP_PBE_scrypt(const char *pass, size_t passlen, const unsigned char *salt,
	size_t saltlen, uint64_t n, uint64_t r, uint64_t p, uint64_t maxmem, unsigned char *key,
	size_t keylen);
static size_t scrypt_calls;

int __wrap_EVP_PBE_scrypt(const char *pass, size_t passlen, const unsigned char *salt,
	size_t saltlen, uint64_t n, uint64_t r, uint64_t p, uint64_t maxmem, unsigned char *key,
	size_t keylen)
{
	scrypt_calls++;
	if (n > 1024) {
		memset(key, 0, keylen);
		return 1;
	}
	return __real_EVP_PBE_scrypt(pass, passlen, salt, saltlen, n, r, p, maxmem, key, keylen);
}

/* Plants `count` key files of the default cost, as someone who can add
 * objects to the store but not delete them (an Object Lock bucket's
 * writer) may: each opens nothing. */
static void plant_keys(const char *dir, int count)
{
	char text[1024], name[TSARC_ID_HEX_LEN + 1], salt_b64[64], data[128];
	uint8_t salt[32], zeros[80] = {0};
	char *b64;
	int i;

	assert_int_equal(tsarc_base64_encode(&b64, zeros, 2 * TSARC_KEY_LEN + TSARC_AEAD_OVERHEAD), 0);
	snprintf(data, sizeof(data), "%s", b64);
	free(b64);
	for (i = 0; i < count; i++) {
		memset(salt, 0, sizeof(salt));
		memcpy(salt, &i, sizeof(i));
		assert_int_equal(tsarc_base64_encode(&b64, salt, sizeof(salt)), 0);
		snprintf(salt_b64, sizeof(salt_b64), "%s", b64);
		free(b64);
		snprintf(text, sizeof(text), "{\"version\":1,\"kdf\":\"scrypt\",\"N\":32768,\"r\":8,"
			"\"p\":1,\"salt\":\"%s\",\"data\":\"%s\"}", salt_b64, data);
		write_key(dir, text, name);
	}
}

/* 100 planted key files of the default cost: a wrong password, which
 * tries every key file, must not cost 100 derivations (minutes); it stops
 * within the budget and says how to go on. With the hint of the real
 * key, one derivation opens it. */
static void test_many_planted_keys(void **state)
{
	const char *dir = new_dir();
	char real[TSARC_ID_HEX_LEN + 1];
	tsarc_repo *repo = init_repo(dir, "pw");
	tsarc_store *st;
	int rc;

	(void)state;
	snprintf(real, sizeof(real), "%s", repo->key_name);
	tsarc_repo_free(repo);
	plant_keys(dir, 100);
	/* The folder store itself: the wrapper lists a handful of names. */
	scrypt_calls = 0;
	assert_int_equal(tsarc_store_fs_open(&st, dir, NULL), 0);
	assert_int_equal(tsarc_repo_open(&repo, st, "not the password"), TSARC_ETOOLARGE);
	tsarc_store_free(st);
	assert_true(scrypt_calls <= 65);
	assert_non_null(strstr(tsarc_error_last()->message, "TSARC_KEY_HINT"));
	assert_non_null(strstr(tsarc_error_last()->message, "101 key files"));
	/* The hint (a prefix of the real key's id) is tried first. */
	real[12] = '\0';
	scrypt_calls = 0;
	assert_int_equal(tsarc_store_fs_open(&st, dir, NULL), 0);
	rc = tsarc_repo_open_hint(&repo, st, "pw", real);
	if (rc)
		tsarc_store_free(st);
	assert_int_equal(rc, 0);
	assert_int_equal(scrypt_calls, 1);
	tsarc_repo_free(repo);
}

/* --- item: a damaged snapshot is skipped by latest; an unreadable one is an error --- */

static void flip(const char *path, long off)
{
	FILE *f = fopen(path, "r+b");
	int c;

	assert_non_null(f);
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	c = fgetc(f);
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	assert_int_equal(fputc(c ^ 0xff, f), c ^ 0xff);
	assert_int_equal(fclose(f), 0);
}

static void test_snapshots_damaged_and_unreadable(void **state)
{
	const char *dir = new_dir();
	tsarc_repo *repo = init_repo(dir, "pw");
	char older[TSARC_ID_HEX_LEN + 1], newer[TSARC_ID_HEX_LEN + 1], id[TSARC_ID_HEX_LEN + 1];
	char path[600];
	tsarc_snapshot **snaps;
	size_t n;
	static const int transport[] = {TSARC_ENET, TSARC_ETRANSIENT, TSARC_EACCESS, TSARC_EIO};
	tsarc_check_result res;

	(void)state;
	backup_bytes(repo, 300000, 1, older);
	sleep(1); /* times in whole seconds order the snapshots */
	backup_bytes(repo, 300000, 2, newer);
	assert_int_equal(tsarc_snapshot_resolve(repo, "latest", id), 0);
	assert_string_equal(id, newer);

	/* The newest is damaged: latest is the one before, with a warning. */
	snprintf(path, sizeof(path), "%s/snapshots/%s", dir, newer);
	flip(path, 100);
	assert_int_equal(tsarc_snapshot_resolve(repo, "latest", id), 0);
	assert_string_equal(id, older);
	/* check counts it as damage. */
	assert_int_equal(tsarc_check(repo, NULL, NULL, NULL, &res), 0);
	assert_int_equal(res.snapshots_damaged, 1);
	assert_int_equal(res.snapshots, 2);
	/* Every snapshot damaged: latest is damage (exit 3), not "no snapshots". */
	snprintf(path, sizeof(path), "%s/snapshots/%s", dir, older);
	flip(path, 100);
	assert_int_equal(tsarc_snapshot_resolve(repo, "latest", id), TSARC_ECORRUPT);
	assert_non_null(strstr(tsarc_error_last()->message, "damaged"));
	flip(path, 100);
	snprintf(path, sizeof(path), "%s/snapshots/%s", dir, newer);
	flip(path, 100);

	/* Snapshots the store will not give: an error, never a short list. */
	for (size_t i = 0; i < sizeof(transport) / sizeof(transport[0]); i++) {
		the_store->fail_type = TSARC_OBJ_SNAPSHOT;
		the_store->fail_code = transport[i];
		snaps = NULL;
		n = 99;
		assert_int_equal(tsarc_snapshot_load_all(repo, &snaps, &n, NULL, NULL), transport[i]);
		assert_null(snaps);
		assert_int_equal(n, 0);
		assert_non_null(strstr(tsarc_error_last()->message, "cannot be read"));
		/* Also with a callback for damage: this is not damage. */
		assert_int_equal(tsarc_snapshot_load_all(repo, &snaps, &n,
					 (void (*)(const char *, int, const char *, void *))abort, NULL),
			transport[i]);
		assert_int_equal(tsarc_snapshot_resolve(repo, "latest", id), transport[i]);
		assert_int_equal(tsarc_check(repo, NULL, NULL, NULL, &res), transport[i]);
		the_store->fail_type = -1;
	}
	assert_int_equal(tsarc_snapshot_load_all(repo, &snaps, &n, NULL, NULL), 0);
	assert_int_equal(n, 2);
	tsarc_snapshot_array_free(snaps, n);
	tsarc_repo_free(repo);
}

/* --- item: removing a key never leaves no key that opens --- */

/* Two people, each with a password, each remove the other's key; the
 * second removal goes through a handle opened before the first one ran.
 * The key its own password opened is gone by then, so it must refuse, or
 * no key file is left. Then the key that opened a handle is damaged: a
 * removal through that handle refuses too (its password opens nothing any
 * more, and the key it removes may be the last one that opens). */
static void test_remove_keeps_a_key_that_opens(void **state)
{
	const char *dir = new_dir();
	char a[TSARC_ID_HEX_LEN + 1], b[TSARC_ID_HEX_LEN + 1], c[TSARC_ID_HEX_LEN + 1];
	char removed[TSARC_ID_HEX_LEN + 1], path[600];
	tsarc_repo *ra = init_repo(dir, "first"), *rb;

	(void)state;
	snprintf(a, sizeof(a), "%s", ra->key_name);
	assert_int_equal(tsarc_repo_add_key(ra, "second", b), 0);
	rb = open_repo(dir, "second", 0);
	assert_string_equal(rb->key_name, b);
	assert_int_equal(tsarc_repo_remove_key(rb, a, removed, NULL), 0);
	assert_string_equal(removed, a);
	assert_int_equal(tsarc_repo_remove_key(ra, b, removed, NULL), TSARC_ENOTFOUND);
	assert_non_null(strstr(tsarc_error_last()->message, "this password opened is gone"));
	tsarc_repo_free(ra);
	tsarc_repo_free(open_repo(dir, "second", 0));

	/* The key that opened rb damaged since: it opens nothing now. */
	assert_int_equal(tsarc_repo_add_key(rb, "third", c), 0);
	snprintf(path, sizeof(path), "%s/keys/%s", dir, b);
	flip(path, 40);
	assert_int_equal(tsarc_repo_remove_key(rb, c, removed, NULL), TSARC_ECORRUPT);
	tsarc_repo_free(rb);
	tsarc_repo_free(open_repo(dir, "third", 0));
}


/* --- item: key passwd leaves the old password opening nothing --- */

/* Whether key file `name` is in `dir`'s keys/. */
static int key_exists(const char *dir, const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/keys/%s", dir, name);
	return access(path, F_OK) == 0;
}

/*
 * Two key files of one password, one of another, and a key file of
 * another repository with the same password: changing the password
 * removes both of its key files (the one in use first), and only those;
 * the old password then opens nothing here, the other and the new one do.
 * A wrong old password is refused with nothing written.
 */
static void test_change_password_removes_each_key_of_it(void **state)
{
	const char *dir = new_dir(), *other = new_dir();
	char k0[TSARC_ID_HEX_LEN + 1], k1[TSARC_ID_HEX_LEN + 1], k2[TSARC_ID_HEX_LEN + 1];
	char foreign[TSARC_ID_HEX_LEN + 1], added[TSARC_ID_HEX_LEN + 1], from[600], to[600];
	char **gone = NULL;
	int64_t kept_until = -1;
	size_t n = 0;
	tsarc_repo *repo = init_repo(dir, "old"), *again;

	(void)state;
	snprintf(k0, sizeof(k0), "%s", repo->key_name);
	assert_int_equal(tsarc_repo_add_key(repo, "old", k1), 0);
	assert_int_equal(tsarc_repo_add_key(repo, "other", k2), 0);
	tsarc_repo_free(init_repo(other, "old"));
	only_key(other, foreign);
	snprintf(from, sizeof(from), "%s/keys/%s", other, foreign);
	snprintf(to, sizeof(to), "%s/keys/%s", dir, foreign);
	copy_file(from, to);

	/* A password that is not the one in use: refused, nothing written. */
	assert_int_equal(tsarc_repo_change_password(repo, "other", "new", added, &gone, &n,
				 &kept_until), TSARC_EWRONGPASS);
	assert_null(gone);
	assert_int_equal(n, 0);

	assert_int_equal(tsarc_repo_change_password(repo, "old", "new", added, &gone, &n,
				 &kept_until), 0);
	assert_int_equal(n, 2);
	assert_int_equal(kept_until, 0); /* no Object Lock: deleted for good */
	assert_string_equal(gone[0], k0);
	assert_string_equal(gone[1], k1);
	tsarc_store_names_free(gone, n);
	assert_false(key_exists(dir, k0));
	assert_false(key_exists(dir, k1));
	assert_true(key_exists(dir, k2));
	assert_true(key_exists(dir, foreign));
	assert_true(key_exists(dir, added));
	tsarc_repo_free(repo);
	/* "old" opens only the other repository's key now: not this one. */
	assert_null(open_repo(dir, "old", TSARC_ECORRUPT));
	assert_non_null(strstr(tsarc_error_last()->message, "another repository"));
	again = open_repo(dir, "new", 0);
	assert_string_equal(again->key_name, added);
	tsarc_repo_free(again);
	tsarc_repo_free(open_repo(dir, "other", 0));
}

/* The key files of a folder repository. */
static size_t count_keys(const char *dir)
{
	char path[600];
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/keys", dir);
	assert_non_null(d = opendir(path));
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* key passwd must find every key file the old password opens before it
 * writes anything; 100 planted key files of the default cost cannot all
 * be tried within one open's scrypt budget, so whether the old password
 * opens some of them cannot be told: refused, nothing changed (no key
 * file added, none removed), and the error says what to do. */
static void test_change_password_beyond_the_budget(void **state)
{
	const char *dir = new_dir();
	char real[TSARC_ID_HEX_LEN + 1], added[TSARC_ID_HEX_LEN + 1];
	char **gone = NULL;
	int64_t kept_until = -1;
	tsarc_repo *repo = init_repo(dir, "old");
	tsarc_store *st;
	size_t n = 1, before;

	(void)state;
	snprintf(real, sizeof(real), "%s", repo->key_name);
	tsarc_repo_free(repo);
	plant_keys(dir, 100);
	before = count_keys(dir);
	assert_int_equal(tsarc_store_fs_open(&st, dir, NULL), 0);
	assert_int_equal(tsarc_repo_open_hint(&repo, st, "old", real), 0);
	scrypt_calls = 0;
	assert_int_equal(tsarc_repo_change_password(repo, "old", "new", added, &gone, &n,
				 &kept_until), TSARC_ETOOLARGE);
	assert_true(scrypt_calls <= 65);
	assert_non_null(strstr(tsarc_error_last()->message, "could not be tried"));
	assert_non_null(strstr(tsarc_error_last()->message, "tsarc key remove"));
	assert_null(gone);
	assert_int_equal(n, 0);
	assert_int_equal(kept_until, 0);
	tsarc_repo_free(repo);
	assert_int_equal(count_keys(dir), before);
	assert_true(key_exists(dir, real));
	/* The old password still opens it. */
	assert_int_equal(tsarc_store_fs_open(&st, dir, NULL), 0);
	assert_int_equal(tsarc_repo_open_hint(&repo, st, "old", real), 0);
	tsarc_repo_free(repo);
}

/* --- item: a torn chunk does not poison later backups --- */

static void test_codec_min_size_is_a_lower_bound(void **state)
{
	static const tsarc_codec_id ids[] = {TSARC_CODEC_ZSTD, TSARC_CODEC_ZLIB};
	static const int levels[] = {1, 3, 9, 19};
	static const size_t lens[] = {1, 5, 100, 4096, 131072, 131073, 1 << 20, 4 << 20};
	tsarc_buf out = TSARC_BUF_INIT;
	uint8_t *zeros = calloc(1, 4 << 20);
	size_t a, b, c;

	(void)state;
	assert_non_null(zeros);
	for (a = 0; a < 2; a++)
		for (b = 0; b < 4; b++) {
			tsarc_codec *codec;
			if (ids[a] == TSARC_CODEC_ZLIB && levels[b] > 9)
				continue;
			assert_int_equal(tsarc_codec_new(&codec, ids[a], levels[b]), 0);
			for (c = 0; c < sizeof(lens) / sizeof(lens[0]); c++) {
				assert_int_equal(tsarc_codec_compress(codec, zeros, lens[c], &out), 0);
				assert_true(out.size >= tsarc_codec_min_size(lens[c]));
				assert_true(out.size <= lens[c] + 1);
			}
			tsarc_codec_free(codec);
		}
	/* A torn object is outside the bounds of any chunk of some size. */
	assert_false(tsarc_repo_chunk_size_plausible(100000, 0));
	assert_false(tsarc_repo_chunk_size_plausible(1 << 20, TSARC_AEAD_OVERHEAD + 2));
	assert_false(tsarc_repo_chunk_size_plausible(1000, 1000 + 2 + TSARC_AEAD_OVERHEAD));
	assert_true(tsarc_repo_chunk_size_plausible(1000, 1000 + 1 + TSARC_AEAD_OVERHEAD));
	tsarc_buf_dispose(&out);
	free(zeros);
}

typedef struct chunk_file {
	char path[600];
	uint32_t size, stored;
	uint8_t id[TSARC_ID_LEN];
} chunk_file;

static void first_chunk(const char *dir, tsarc_repo *repo, const char *snap_id, chunk_file *cf)
{
	tsarc_snapshot *snap;
	char hex[TSARC_ID_HEX_LEN + 1];

	assert_int_equal(tsarc_snapshot_load(repo, snap_id, &snap), 0);
	assert_true(snap->nstreams == 1 && snap->streams[0].nchunks >= 2);
	memcpy(cf->id, snap->streams[0].chunks[0].id, TSARC_ID_LEN);
	cf->size = snap->streams[0].chunks[0].size;
	cf->stored = snap->streams[0].chunks[0].stored;
	tsarc_hex_encode(hex, cf->id, TSARC_ID_LEN);
	snprintf(cf->path, sizeof(cf->path), "%s/data/%.2s/%s", dir, hex, hex);
	tsarc_snapshot_free(snap);
}

static void test_torn_chunk_is_stored_again(void **state)
{
	const char *dir = new_dir();
	tsarc_repo *repo = init_repo(dir, "pw");
	char first[TSARC_ID_HEX_LEN + 1], second[TSARC_ID_HEX_LEN + 1], path[600];
	tsarc_check_result res;
	tsarc_check_options o;
	chunk_file cf;
	struct stat sb;

	(void)state;
	/* A backup that was killed before its manifest, whose first chunk
	 * object survived the crash as an empty file (renamed, not synced). */
	backup_bytes(repo, 600000, 7, first);
	first_chunk(dir, repo, first, &cf);
	snprintf(path, sizeof(path), "%s/snapshots/%s", dir, first);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(truncate(cf.path, 0), 0);

	/* The same data again: the empty object is not trusted, the chunk is
	 * stored again and the manifest records its real size. */
	backup_bytes(repo, 600000, 7, second);
	first_chunk(dir, repo, second, &cf);
	assert_int_equal(stat(cf.path, &sb), 0);
	assert_true(sb.st_size > 0);
	assert_int_equal((uint32_t)sb.st_size, cf.stored);
	memset(&o, 0, sizeof(o));
	o.read_data = 1;
	assert_int_equal(tsarc_check(repo, &o, NULL, NULL, &res), 0);
	assert_int_equal(res.chunks_wrong_size + res.chunks_damaged + res.chunks_missing, 0);

	/* Plain check flags an object of an impossible size even where the
	 * manifest recorded that very size (as older tsarc did at dedup). */
	{
		tsarc_snapshot *snap;
		char id[TSARC_ID_HEX_LEN + 1];
		assert_int_equal(tsarc_snapshot_load(repo, second, &snap), 0);
		snap->streams[0].chunks[0].stored = 0;
		assert_int_equal(tsarc_snapshot_save(repo, snap), 0);
		snprintf(id, sizeof(id), "%s", snap->id);
		tsarc_snapshot_free(snap);
		/* Only that manifest refers to the chunk now. */
		snprintf(path, sizeof(path), "%s/snapshots/%s", dir, second);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(truncate(cf.path, 0), 0);
		assert_int_equal(tsarc_check(repo, NULL, NULL, NULL, &res), 0);
		assert_int_equal(res.chunks_wrong_size, 1);
		/* ... and the next backup repairs it; the stale record of 0 in
		 * that manifest is then no damage: the object is whole. */
		backup_bytes(repo, 600000, 7, second);
		assert_int_equal(tsarc_check(repo, &o, NULL, NULL, &res), 0);
		assert_int_equal(res.chunks_wrong_size + res.chunks_damaged + res.chunks_missing, 0);
		(void)id;
	}
	tsarc_repo_free(repo);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_foreign_key_listed_first, teardown),
		cmocka_unit_test_teardown(test_damaged_key_of_second_password, teardown),
		cmocka_unit_test_teardown(test_forged_scrypt_parameters, teardown),
		cmocka_unit_test_teardown(test_remove_keeps_a_key_that_opens, teardown),
		cmocka_unit_test_teardown(test_change_password_removes_each_key_of_it, teardown),
		cmocka_unit_test_teardown(test_change_password_beyond_the_budget, teardown),
		cmocka_unit_test_teardown(test_many_planted_keys, teardown),
		cmocka_unit_test_teardown(test_snapshots_damaged_and_unreadable, teardown),
		cmocka_unit_test(test_codec_min_size_is_a_lower_bound),
		cmocka_unit_test_teardown(test_torn_chunk_is_stored_again, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
