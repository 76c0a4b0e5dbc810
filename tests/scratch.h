#ifndef TSARC_TEST_SCRATCH_H
#define TSARC_TEST_SCRATCH_H

/* A test's scratch folder under $TMPDIR (or /tmp), made in a setup and
 * removed in a teardown: one copy for every C test, not one per file. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Makes tsarc-NAME-XXXXXX into `dir` (`size` bytes); `dir`, or NULL. */
static inline char *scratch_make(char *dir, size_t size, const char *name)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, size, "%s/tsarc-%s-XXXXXX", t && *t ? t : "/tmp", name);
	return mkdtemp(dir);
}

/* Makes `dir`/tmp into `tmp` (`size` bytes) and points $TMPDIR at it, so
 * that what the code under test writes for itself there (sorted runs,
 * scratch packs) can be counted and is removed with `dir`: 0, or -1. */
static inline int scratch_tmpdir(const char *dir, char *tmp, size_t size)
{
	snprintf(tmp, size, "%s/tmp", dir);
	return mkdir(tmp, 0700) == 0 && setenv("TMPDIR", tmp, 1) == 0 ? 0 : -1;
}

/* Removes `dir` and all below it: 0, or -1. */
static inline int scratch_remove(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The files left in `dir` (a temporary folder the code under test wrote
 * in): every name but "." and "..", and a hidden one only when it is a
 * temporary file of ours (".tmp-"); -1 when it cannot be read. */
static inline long scratch_files_left(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || strncmp(e->d_name, ".tmp-", 5) == 0;
	closedir(d);
	return n;
}

/* Defines cmocka fixtures SETUP and TEARDOWN that make the scratch folder
 * NAME into DIR (a char array) and remove it; LINKAGE is `static`, or empty
 * for a fixture that several test files share. */
#define SCRATCH_FIXTURES(LINKAGE, SETUP, TEARDOWN, DIR, NAME) \
	LINKAGE int SETUP(void **state) \
	{ \
		(void)state; \
		return scratch_make(DIR, sizeof(DIR), NAME) ? 0 : -1; \
	} \
	LINKAGE int TEARDOWN(void **state) \
	{ \
		(void)state; \
		return scratch_remove(DIR); \
	}

#endif
