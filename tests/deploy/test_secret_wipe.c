/* A Secret read through a transport leaves no copy of its data in memory
 * given back to the allocator (wipe.h): this program's malloc, realloc
 * and free stand in front of the C library's and count every block freed
 * (or left behind by a move) that still holds the Secret's password, in
 * clear or as its base64 in the JSON. Both transports: the local one
 * reading the Secret's file, the kube one reading kubectl's output (a
 * Secret large enough that the capture grows several times). */
#define _GNU_SOURCE /* memmem, malloc_usable_size */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "component.h"
#include "scratch.h"
#include "wipe.h"
#include "kube_double.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void __libc_free(void *);

/* The password and its base64, as the Secret's JSON carries it. */
#define PASSWORD "pw-Zq81-wiped-or-not-Lx4"
#define PASSWORD_B64 "cHctWnE4MS13aXBlZC1vci1ub3QtTHg0"

static int armed;
static int found;

static void check(const void *p)
{
	size_t n;

	if (!p || !__atomic_load_n(&armed, __ATOMIC_SEQ_CST))
		return;
	n = malloc_usable_size((void *)p);
	if (memmem(p, n, PASSWORD, strlen(PASSWORD)) ||
		memmem(p, n, PASSWORD_B64, strlen(PASSWORD_B64)))
		__atomic_add_fetch(&found, 1, __ATOMIC_SEQ_CST);
}

void *malloc(size_t n)
{
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
	return __libc_calloc(n, m);
}

void free(void *p)
{
	check(p);
	__libc_free(p);
}

/* Always moved, so that a block given back by a move is seen. */
void *realloc(void *p, size_t n)
{
	void *q;
	size_t old;

	if (!p)
		return __libc_malloc(n);
	if (!n) {
		free(p);
		return NULL;
	}
	if (!(q = __libc_malloc(n)))
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < n ? old : n);
	free(p);
	return q;
}

/* DIR/secret/s.json: a Secret whose "password" is PASSWORD, with `pad`
 * bytes of other data after it. */
static void write_secret(const char *dir, size_t pad)
{
	char path[4200];
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), "%s/secret", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/secret/s.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"s\"}, "
		"\"data\": {\"password\": \"%s\", \"padding\": \"", PASSWORD_B64);
	for (i = 0; i < pad; i++)
		fputc('A', f);
	fprintf(f, "\"}}\n");
	fclose(f);
}

/* Reads the Secret's password through `tr` with the check armed: the
 * value is right and no block freed on the way held it. */
static void read_armed(tsarc_transport *tr)
{
	char *v = NULL;

	__atomic_store_n(&found, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
	assert_int_equal(tsarc_secret_value(tr, "s", "password", &v), 0);
	assert_string_equal(v, PASSWORD);
	tsarc_secure_free_str(v);
	__atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
	assert_int_equal(__atomic_load_n(&found, __ATOMIC_SEQ_CST), 0);
}

static tsarc_transport *local_in(const char *dir)
{
	return transport_with("local", "resources_dir", dir);
}

/* A kubectl that prints DIR's Secret, whatever it is asked. */
static tsarc_transport *kube_in(const char *dir)
{
	char script[4200];
	FILE *f;

	snprintf(script, sizeof(script), "%s/kubectl", dir);
	assert_non_null(f = fopen(script, "w"));
	fprintf(f, "#!/bin/sh\nexec cat '%s/secret/s.json'\n", dir);
	fclose(f);
	assert_int_equal(chmod(script, 0700), 0);
	return transport_with("kube", "binary", script);
}

/* A Secret with `pad` bytes of other data, read through the transport
 * `make` gives for its folder. */
static void read_through(tsarc_transport *(*make)(const char *), size_t pad)
{
	char dir[4096];
	tsarc_transport *tr;

	assert_non_null(scratch_make(dir, sizeof(dir), "wipe"));
	write_secret(dir, pad);
	tr = make(dir);
	read_armed(tr);
	tr->free(tr);
	assert_int_equal(scratch_remove(dir), 0);
}

static void local_get_wipes(void **state)
{
	(void)state;
	read_through(local_in, 20000);
}

/* 300 KB: the capture's buffer starts at 64 KiB and grows. */
static void kube_get_wipes(void **state)
{
	(void)state;
	read_through(kube_in, 300000);
}

TSARC_TESTS_MAIN(NULL, NULL, cmocka_unit_test(local_get_wipes), cmocka_unit_test(kube_get_wipes))
