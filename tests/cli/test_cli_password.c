/*
 * cli/common.c: where a password is read from (--password-file and
 * TSARC_PASSWORD_FILE, the key commands' new-password file and
 * TSARC_NEW_PASSWORD_FILE, both through the same reader) leaves none of
 * the file in memory given back, and a file that cannot be read is not
 * called empty. free() is wrapped (-Wl,--wrap=free, tests/CMakeLists.txt)
 * to look at each block as it is freed, as test_wipe does: the file's
 * first line is the password, but the rest of it (a second secret, or the
 * password followed by something else) was read into the same buffer and
 * was left there when only the password was wiped.
 * The Pushgateway credentials file, read by cli/push.c, too.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "cli.h"
#include "metrics.h"
#include "scratch.h"
#include "tsarc/errors.h"

#define SECRET "second-line-secret-b7Qx"

void __real_free(void *p);
void __wrap_free(void *p);

static int watching, freed_with_secret;
static char dir[256], file[512];

void __wrap_free(void *p)
{
	if (p && watching) {
		size_t n = malloc_usable_size(p);
		if (n >= strlen(SECRET) && memmem(p, n, SECRET, strlen(SECRET)))
			freed_with_secret++;
	}
	__real_free(p);
}

static int setup(void **state)
{
	(void)state;
	if (!scratch_make(dir, sizeof(dir), "cli-password"))
		return -1;
	snprintf(file, sizeof(file), "%s/pw", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove(dir);
}

static void write_file(const char *text)
{
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The password is the first line; the block it came in, freed, holds
 * nothing of the lines after it. Through --password-file, then
 * TSARC_PASSWORD_FILE, then the new-password file. */
static void rest_of_file_is_wiped(void **state)
{
	cli_common c;
	char *pw = NULL;

	(void)state;
	write_file("first-line-password\n" SECRET "\n");
	memset(&c, 0, sizeof(c));
	c.password_file = file;
	freed_with_secret = 0;
	watching = 1;
	assert_int_equal(cli_get_password(&c, 0, &pw), 0);
	assert_string_equal(pw, "first-line-password");
	cli_free_password(pw);

	c.password_file = NULL;
	assert_int_equal(setenv("TSARC_PASSWORD_FILE", file, 1), 0);
	assert_int_equal(cli_get_password(&c, 0, &pw), 0);
	cli_free_password(pw);
	assert_int_equal(unsetenv("TSARC_PASSWORD_FILE"), 0);

	assert_int_equal(cli_get_new_password(file, &pw), 0);
	assert_string_equal(pw, "first-line-password");
	cli_free_password(pw);
	watching = 0;
	assert_int_equal(freed_with_secret, 0);
}

/* A file whose first line is empty is refused, and the buffer it was
 * read into (the lines after it) is wiped before it is freed. */
static void refused_file_is_wiped(void **state)
{
	cli_common c;
	char *pw = NULL;

	(void)state;
	write_file("\n" SECRET "\n");
	memset(&c, 0, sizeof(c));
	c.password_file = file;
	freed_with_secret = 0;
	watching = 1;
	assert_int_equal(cli_get_password(&c, 0, &pw), TSARC_ECONFIG);
	watching = 0;
	assert_null(pw);
	assert_non_null(strstr(tsarc_error_last()->message, "empty"));
	assert_int_equal(freed_with_secret, 0);
}

/* A folder given as the password file cannot be read: the message says
 * why (read's error), not that the file is empty. */
static void folder_is_not_empty(void **state)
{
	cli_common c;
	char *pw = NULL;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.password_file = dir;
	assert_int_equal(cli_get_password(&c, 0, &pw), TSARC_ECONFIG);
	assert_null(pw);
	assert_null(strstr(tsarc_error_last()->message, "empty"));
	assert_non_null(strstr(tsarc_error_last()->message, "cannot read password file"));
	assert_non_null(strstr(tsarc_error_last()->message, "directory"));

	assert_int_equal(cli_get_new_password(dir, &pw), TSARC_ECONFIG);
	assert_null(pw);
	assert_null(strstr(tsarc_error_last()->message, "empty"));
	assert_non_null(strstr(tsarc_error_last()->message, "directory"));
}

/* The Pushgateway credentials file ("user:password" on its first line)
 * is read the same way: nothing of its other lines left in a block freed.
 * The push itself fails (port 1 refuses the connection): what is checked
 * is how the file is read and freed. */
static void pushgateway_auth_rest_is_wiped(void **state)
{
	(void)state;
	write_file("user:first-line-password\n" SECRET "\n");
	freed_with_secret = 0;
	watching = 1;
	assert_int_equal(cli_metrics_push("http://127.0.0.1:1", "job", "inst", "backup", file,
		"tsarc_up 1\n"), TSARC_ENET);
	watching = 0;
	tsarc_error_clear();
	assert_int_equal(freed_with_secret, 0);
}

TSARC_TESTS_MAIN(setup, teardown, cmocka_unit_test(rest_of_file_is_wiped),
	cmocka_unit_test(pushgateway_auth_rest_is_wiped),
	cmocka_unit_test(refused_file_is_wiped), cmocka_unit_test(folder_is_not_empty))
