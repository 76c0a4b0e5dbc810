/*
 * The redis.conf that the RDB swap writes while it restarts the server
 * (backends/components/redis/swap.c): persistence switched off, and every
 * other line as it was. It carries requirepass (and masterauth): a text
 * with a line left out by an allocation that failed in the middle, the
 * later appends going on, would restart the server without its password.
 * malloc is wrapped so that one allocation can be made to fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include "redis.h"
#include "wipe.h"
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);

/* Armed: the next allocation larger than `fail_above` fails, once. */
static int fail_armed;
static size_t fail_above;

void *__wrap_malloc(size_t n)
{
	if (fail_armed && n > fail_above) {
		fail_armed = 0;
		return NULL;
	}
	return __real_malloc(n);
}

/* 51 comment lines of 80 bytes (4080), then the password: its append
 * is the one that outgrows the buffer's first 4096 bytes. */
static char *sample_conf(void)
{
	size_t pad = 51 * 80, i;
	const char *tail = "requirepass hunter2\nsave 900 1\nappendonly yes\nport 6379\n";
	char *conf = malloc(pad + strlen(tail) + 1);

	assert_non_null(conf);
	for (i = 0; i < 51; i++) {
		memset(conf + i * 80, 'x', 79);
		conf[i * 80] = '#';
		conf[i * 80 + 79] = '\n';
	}
	strcpy(conf + pad, tail);
	return conf;
}

static void persistence_off_edits(void **state)
{
	char *conf = sample_conf(), *off;

	(void)state;
	off = tsarc__redis_persistence_off(conf);
	assert_non_null(off);
	assert_non_null(strstr(off, "\nrequirepass hunter2\n# tsarc restore: save 900 1\n"
				    "# tsarc restore: appendonly yes\nport 6379\n"));
	assert_string_equal(off + strlen(off) - strlen("save \"\"\nappendonly no\n"),
		"save \"\"\nappendonly no\n");
	tsarc_secure_free_str(off);
	free(conf);
}

/* The growth past 4096 bytes fails, the appends after it would fit the
 * block there is: no text at all, rather than one without requirepass. */
static void persistence_off_refuses_a_hole(void **state)
{
	char *conf = sample_conf(), *off;

	(void)state;
	fail_above = 4096;
	fail_armed = 1;
	off = tsarc__redis_persistence_off(conf);
	fail_armed = 0;
	if (off) {
		print_message("written despite the failed allocation; requirepass %s:\n%s\n",
			strstr(off, "requirepass") ? "kept" : "MISSING",
			off + 51 * 80 - 20);
		tsarc_secure_free_str(off);
	}
	assert_null(off);
	assert_int_equal(tsarc_error_last()->code, TSARC_ENOMEM);
	free(conf);
}

/* The maxmemory the swap restarts the server with (its memory check),
 * read as Redis reads it: units, any case, the last line wins, and a line
 * of another directive or a value Redis would refuse is none. */
static void conf_bytes_as_redis_reads(void **state)
{
	static const struct {
		const char *conf;
		int found;
		unsigned long long v;
	} cases[] = {
		{"maxmemory 2mb\n", 1, 2097152},
		{"maxmemory 2MB\r\n", 1, 2097152},
		{"  maxmemory\t3m\n", 1, 3000000},
		{"maxmemory 100k\n", 1, 100000},
		{"maxmemory 100kb\n", 1, 102400},
		{"maxmemory 1gb\n", 1, 1073741824},
		{"maxmemory 4096\n", 1, 4096},
		{"maxmemory 0\n", 1, 0},
		{"maxmemory 1gb\nport 1\nmaxmemory 2mb\n", 1, 2097152},
		{"# maxmemory 2mb\nmaxmemory-policy noeviction\n", 0, 0},
		{"maxmemory 12xb\n", 0, 0},
		{"maxmemory\n", 0, 0},
		{"maxmemory 99999999999999999999gb\n", 0, 0},
		{"", 0, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned long long v = 7;
		int found = tsarc__redis_conf_bytes(cases[i].conf, "maxmemory", &v);
		if (found != cases[i].found || (found && v != cases[i].v))
			fail_msg("'%s': found %d, %llu", cases[i].conf, found, v);
	}
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(conf_bytes_as_redis_reads),
	cmocka_unit_test(persistence_off_edits),
	cmocka_unit_test(persistence_off_refuses_a_hole))
