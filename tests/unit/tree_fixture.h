#ifndef TSARC_TEST_TREE_FIXTURE_H
#define TSARC_TEST_TREE_FIXTURE_H

/* What the tree restore tests (test_tree_*.c, one per module of src/tree/)
 * share: a scratch folder, tars made from a table, the hostile archives a
 * restore and the check must both refuse, and a listing of a tree. */
#include <stddef.h>

#include "cmocka_main.h"

typedef struct spec {
	const char *name;
	char type; /* f file, d dir, l symlink, h hardlink, p fifo */
	const char *data; /* content, or link target */
	int mode;
	long mtime;
} spec;

/* The scratch folder of the current group (tree_setup, tree_teardown). */
extern char tree_base[256];

/* Writes a tar of the given entries to a temp file; returns an fd on it. */
int make_tar(const spec *entries, size_t n);
/* Runs a shell command; the test fails unless it exits 0. */
void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tree_setup(void **state);
int tree_teardown(void **state);
/* A listing of a tree (names, kinds, contents) into `out`, to compare. */
void tree_sig(const char *dir, const char *out);

/* Archives a restore must refuse, whole, before anything is in place. */
typedef struct tree_hostile_case {
	const spec *s;
	size_t n;
} tree_hostile_case;
extern const tree_hostile_case tree_hostile[];
extern const size_t tree_hostile_count;

/* The main() of a test_tree_*.c: its cmocka tests, in one group over a
 * scratch folder. */
#define TREE_TESTS_MAIN(...) TSARC_TESTS_MAIN(tree_setup, tree_teardown, __VA_ARGS__)

#endif
