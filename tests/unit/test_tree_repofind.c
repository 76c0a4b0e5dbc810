/* src/tree/repofind.c through tsarc_tree_repository_check: a tsarc
 * repository anywhere in a restore's target is found by its config and a
 * key file that verifies, never through a symlink, never by names alone,
 * at any depth with few descriptors; a restore's staging folder is not
 * the target's, the old tree a swap kept is. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cmocka_main.h"
#include "scratch.h"
#include "repo.h"
#include "tree_restore.h"
#include "tsarc/errors.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	return scratch_make(dir, sizeof(dir), "tree-repofind") ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove(dir);
}

/* mkdir -p of dir/rel. */
static void mkdirs(const char *rel)
{
	char path[1024], *p;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
		*p = '/';
	}
	assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
}

static void put(const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

/* A repository at dir/rel, as tsarc init makes it. */
static void make_repo(const char *rel)
{
	tsarc_repo_init_options o;
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;
	char url[1024];

	memset(&o, 0, sizeof(o));
	o.codec = TSARC_CODEC_ZSTD;
	o.scrypt_n = 1024;
	snprintf(url, sizeof(url), "%s/%s", dir, rel);
	assert_int_equal(tsarc_store_open(&st, url, NULL), 0);
	assert_int_equal(tsarc_repo_init(&repo, st, "pw", &o), 0);
	tsarc_repo_free(repo);
}

/* tsarc_tree_repository_check of dir/rel, with no repository of its own. */
static int check(const char *rel)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	return tsarc_tree_repository_check(NULL, path);
}

static void found_at_any_depth(void **state)
{
	char want[1024];

	(void)state;
	make_repo("t1/a/b/vault");
	put("t1/a/file.txt", "data");
	assert_int_equal(check("t1"), TSARC_EUNSAFE);
	snprintf(want, sizeof(want), "%s/t1/a/b/vault is a tsarc repository", dir);
	assert_non_null(strstr(tsarc_error_last()->message, want));
	/* the target itself */
	assert_int_equal(check("t1/a/b/vault"), TSARC_EUNSAFE);
	assert_non_null(strstr(tsarc_error_last()->message, "is a tsarc repository ("));
	/* a folder the restore will make holds nothing */
	assert_int_equal(check("t1/none"), 0);
}

static void lookalikes_and_links_are_not(void **state)
{
	char target[1024], link[1024];

	(void)state;
	/* 3scale's files with a repository's names */
	mkdirs("t2/app/keys");
	put("t2/app/config", "settings");
	put("t2/app/keys/0000000000000000000000000000000000000000000000000000000000000000",
		"not a key");
	put("t2/app/keys/provider.pem", "-----BEGIN-----");
	assert_int_equal(check("t2"), 0);
	/* a key file copied under another name is no key file */
	make_repo("t2-src");
	mkdirs("t2/copy/keys");
	put("t2/copy/config", "x");
	{
		char cmd[2200];
		snprintf(cmd, sizeof(cmd), "cp %s/t2-src/keys/* %s/t2/copy/keys/"
			"1111111111111111111111111111111111111111111111111111111111111111", dir, dir);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(check("t2"), 0);
	/* a symlink to a repository: the restore removes the link only */
	snprintf(target, sizeof(target), "%s/t2-src", dir);
	snprintf(link, sizeof(link), "%s/t2/link", dir);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(check("t2"), 0);
}

static void swap_folders_are_tsarcs(void **state)
{
	(void)state;
	/* an interrupted restore's staging folder at the top is tsarc's own
	 * (the new tree it was extracting) */
	make_repo("t3/.tsarc-restore-1-0123456789abcdef/vault");
	assert_int_equal(check("t3"), 0);
	/* an old-tree folder is not: a swap keeps the old tree there when a
	 * repository was made in the target during the restore (swap.c) */
	make_repo("t3/.tsarc-old-1-0123456789abcdef/vault");
	assert_int_equal(check("t3"), TSARC_EUNSAFE);
	assert_non_null(strstr(tsarc_error_last()->message,
		"/t3/.tsarc-old-1-0123456789abcdef/vault is a tsarc repository"));
	/* below the top a staging folder's name is data */
	make_repo("t3b/sub/.tsarc-restore-1-0123456789abcdef/vault");
	assert_int_equal(check("t3b"), TSARC_EUNSAFE);
}

static void deep_with_few_descriptors(void **state)
{
	struct rlimit was, few;
	char rel[1024];
	size_t n = 0;
	int i;

	(void)state;
	n += (size_t)snprintf(rel + n, sizeof(rel) - n, "t4");
	for (i = 0; i < 300; i++)
		n += (size_t)snprintf(rel + n, sizeof(rel) - n, "/d");
	mkdirs(rel);
	snprintf(rel + n, sizeof(rel) - n, "/vault");
	make_repo(rel);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
	few = was;
	few.rlim_cur = 32;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &few), 0);
	i = check("t4");
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
	assert_int_equal(i, TSARC_EUNSAFE);
	assert_non_null(strstr(tsarc_error_last()->message, "/d/d/vault is a tsarc repository"));
}

TSARC_TESTS_MAIN(setup, teardown,
	cmocka_unit_test(found_at_any_depth),
	cmocka_unit_test(lookalikes_and_links_are_not),
	cmocka_unit_test(swap_folders_are_tsarcs),
	cmocka_unit_test(deep_with_few_descriptors))
