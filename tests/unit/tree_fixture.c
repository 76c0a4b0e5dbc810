#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tree_fixture.h"
#include "scratch.h"

char tree_base[256];

/* Writes a tar of the given entries to a temp file; returns an fd on it. */
int make_tar(const spec *entries, size_t n)
{
	char path[300];
	struct archive *a = archive_write_new();
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "%s/t.tar", tree_base);
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, entries[i].name);
		archive_entry_set_mtime(e, entries[i].mtime ? entries[i].mtime : 1700000000, 0);
		switch (entries[i].type) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, entries[i].mode ? entries[i].mode : 0644);
			archive_entry_set_size(e, (la_int64_t)strlen(entries[i].data));
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, entries[i].mode ? entries[i].mode : 0755);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, entries[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, entries[i].data);
			break;
		case 'p':
			archive_entry_set_filetype(e, AE_IFIFO);
			archive_entry_set_perm(e, 0644);
			break;
		}
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (entries[i].type == 'f')
			archive_write_data(a, entries[i].data, strlen(entries[i].data));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	return fd;
}

void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

SCRATCH_FIXTURES(, tree_setup, tree_teardown, tree_base, "tree")

/* A listing of a tree (names, kinds, contents) for comparisons. */
void tree_sig(const char *dir, const char *out)
{
	sh("cd '%s' && { find . | LC_ALL=C sort; find . -type f -exec cat {} + | md5sum; } > '%s'", dir, out);
}

static const spec dotdot[] = {{"ok.txt", 'f', "fine", 0, 0}, {"../evil", 'f', "x", 0, 0}};
static const spec deep_dotdot[] = {{"a/../../evil", 'f', "x", 0, 0}};
static const spec absolute[] = {{"ok.txt", 'f', "fine", 0, 0}, {"/tmp/tsarc-evil-abs", 'f', "x", 0, 0}};
static const spec link_out[] = {{"l", 'l', "../../..", 0, 0}, {"l/evil", 'f', "x", 0, 0}};
static const spec link_abs[] = {{"etc", 'l', "/etc", 0, 0}};
static const spec hard_out[] = {{"h", 'h', "../outside", 0, 0}};
/* Each link is inside on its own; writing through the first escapes. */
static const spec through_link[] = {{"x", 'l', ".", 0, 0}, {"x/l", 'l', "../evil", 0, 0}};
static const spec through_link_file[] = {{"d", 'l', "sub", 0, 0}, {"sub", 'd', NULL, 0, 0},
	{"d/f", 'f', "x", 0, 0}};
/* Links inside on their own text, outside together: d/l is the top
 * folder, so x is its parent; h is x's text one folder up. */
static const spec link_chain[] = {{"d/l", 'l', "..", 0, 0}, {"x", 'l', "d/l/..", 0, 0}};
static const spec hard_to_symlink[] = {{"d/e/x", 'l', "../..", 0, 0}, {"h", 'h', "d/e/x", 0, 0}};
const tree_hostile_case tree_hostile[] = {
	{dotdot, 2}, {deep_dotdot, 1}, {absolute, 2}, {link_out, 2},
	{link_abs, 1}, {hard_out, 1}, {through_link, 2}, {through_link_file, 3},
	{link_chain, 2}, {hard_to_symlink, 2},
};
const size_t tree_hostile_count = sizeof(tree_hostile) / sizeof(tree_hostile[0]);
