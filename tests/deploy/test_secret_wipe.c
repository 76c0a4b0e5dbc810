/* A Secret read through a transport leaves no copy of its data in memory
 * given back to the allocator (wipe.h): this program's malloc, realloc
 * and free stand in front of the C library's and count every block freed
 * (or left behind by a move) that still holds the Secret's password, in
 * clear or as its base64 in the JSON. Both transports: the local one
 * reading the Secret's file, the kube one reading kubectl's output (a
 * Secret large enough that the capture grows several times). Then the
 * resources kind's backup of Secrets (the List, its printed text, the
 * stripped last-applied-configuration annotation that copies the whole
 * Secret) and both transports' apply of a List of Secrets. Last, the
 * whole way through a repository: a deployment's backup of the Secret
 * into a folder repository (the pipeline's input blocks, compression,
 * sealing, packs), its plan (which reads the target's Secret) and its
 * restore (reading the chunks back, decrypting, decompressing, the
 * stream read into memory, parsed, a domain rewritten, applied), in both
 * formats and with each codec. A Secret inside a JSON array, refused by
 * either transport. Last, the RDB swap of a Redis on this host,
 * whose redis.conf holds requirepass. */
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
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "component.h"
#include "kind.h"
#include "scratch.h"
#include "wipe.h"
#include "kube_double.h"
#include "sentinel.h"
#include "fileio.h"
#include "unit/repo_fixture.h"
#include "tsarc/deployment.h"
#include "tsarc/errors.h"
#include "tsarc/sys/store.h"

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

/* Every block is scrubbed once checked, armed or not: what the test
 * itself wrote and freed (the Secret's file through stdio) must not be
 * found later in a block tsarc allocated over it and did not fill, which
 * made the count depend on where the allocator placed tsarc's blocks. */
void free(void *p)
{
	check(p);
	if (p)
		explicit_bzero(p, malloc_usable_size(p));
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
 * bytes of other data after it and PASSWORD again at the end (so that
 * the first and the last chunk of a stream of it both hold it); with
 * `in_array`, the Secret inside a JSON array (no object at the top); with
 * `broken`, JSON that fails to parse after its data (a value missing at
 * the end), so that the parser has copied every value before it fails. */
static void write_secret_shaped(const char *dir, size_t pad, int in_array, int broken)
{
	char path[4200];
	FILE *f;
	size_t i;

	snprintf(path, sizeof(path), "%s/secret", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/secret/s.json", dir);
	assert_non_null(f = fopen(path, "w"));
	/* kubectl apply's annotation: the whole Secret again, as JSON text. */
	fprintf(f, "%s{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": \"s\", "
		"\"annotations\": {\"kubectl.kubernetes.io/last-applied-configuration\": "
		"\"{\\\"data\\\":{\\\"password\\\":\\\"%s\\\"}}\"}}, "
		"\"data\": {\"password\": \"%s\", \"padding\": \"", in_array ? "[" : "",
		PASSWORD_B64, PASSWORD_B64);
	for (i = 0; i < pad; i++)
		fputc('A', f);
	fprintf(f, "\", \"tail\": \"%s\"}%s}%s\n", PASSWORD_B64, broken ? ", \"broken\": " : "",
		in_array ? "]" : "");
	fclose(f);
}

static void write_secret_as(const char *dir, size_t pad, int in_array)
{
	write_secret_shaped(dir, pad, in_array, 0);
}

static void write_secret(const char *dir, size_t pad)
{
	write_secret_as(dir, pad, 0);
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

/* A Secret `make`'s transport refuses, the password's base64 in what it
 * parsed: the Secret inside a JSON array (no JSON object: the document
 * parsed, deleted, was wiped first; before, both transports deleted it as
 * it was), or, `broken`, one whose JSON breaks after its data (the values
 * cJSON had copied when it failed were wiped before the partial tree was
 * freed; before, cJSON freed that tree itself, with free(), and the base64
 * of the password stayed in the freed blocks). */
static void refused_through(tsarc_transport *(*make)(const char *), int broken)
{
	char dir[4096], *v = NULL;
	tsarc_transport *tr;

	assert_non_null(scratch_make(dir, sizeof(dir), "wipe"));
	if (broken)
		write_secret_shaped(dir, 100, 0, 1);
	else
		write_secret_as(dir, 100, 1);
	tr = make(dir);
	__atomic_store_n(&found, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
	assert_int_not_equal(tsarc_secret_value(tr, "s", "password", &v), 0);
	__atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
	assert_null(v);
	assert_null(strstr(tsarc_error_last()->message, PASSWORD_B64));
	tsarc_error_clear();
	assert_int_equal(__atomic_load_n(&found, __ATOMIC_SEQ_CST), 0);
	tr->free(tr);
	assert_int_equal(scratch_remove(dir), 0);
}

static void local_refused_wipes(void **state)
{
	(void)state;
	refused_through(local_in, 0);
}

static void kube_refused_wipes(void **state)
{
	(void)state;
	refused_through(kube_in, 0);
}

static void local_broken_wipes(void **state)
{
	(void)state;
	refused_through(local_in, 1);
}

static void kube_broken_wipes(void **state)
{
	(void)state;
	refused_through(kube_in, 1);
}

/* DIR/kubectl: prints a pod list whose Running pod "p" has a container
 * "c" with the password as a literal env value (a Deployment's `value:`,
 * which kubectl get pods shows in every pod's spec), then exits `code`. */
static tsarc_transport *kube_pods_in(const char *dir, int code)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/pods.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "{\"kind\": \"List\", \"items\": [{\"metadata\": {\"name\": \"p\"}, "
		"\"spec\": {\"containers\": [{\"name\": \"c\", \"env\": [{\"name\": "
		"\"DB_PASSWORD\", \"value\": \"%s\"}]}]}, \"status\": {\"phase\": "
		"\"Running\"}}]}\n", PASSWORD);
	fclose(f);
	snprintf(path, sizeof(path), "%s/kubectl", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\ncat '%s/pods.json'\nexit %d\n", dir, code);
	fclose(f);
	assert_int_equal(chmod(path, 0700), 0);
	return transport_with("kube", "binary", path);
}

/* Locating a pod reads `kubectl get pods -o json`, whose text holds every
 * pod's spec: a password set as a literal env value is in it. The text
 * is wiped on the way that finds the pod and on the one where kubectl
 * fails. Before, both freed it as it was (the parsed tree was wiped). */
static void kube_locate_wipes(void **state)
{
	cJSON *spec = cJSON_Parse("{\"container\": \"c\", \"workload\": \"w\"}");
	char dir[4096];
	int code, found_at[2];

	(void)state;
	assert_non_null(spec);
	for (code = 0; code < 2; code++) {
		tsarc_component c = {.name = "system-app", .kind = "exec", .spec = spec};
		tsarc_transport *tr;
		int rc;
		assert_non_null(scratch_make(dir, sizeof(dir), "wipe"));
		tr = kube_pods_in(dir, code);
		__atomic_store_n(&found, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
		rc = tr->locate(tr, &c);
		__atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
		if (code == 0) {
			assert_int_equal(rc, 0);
			assert_string_equal(c.pod, "p");
		} else {
			assert_int_not_equal(rc, 0);
			assert_null(strstr(tsarc_error_last()->message, PASSWORD));
			tsarc_error_clear();
		}
		found_at[code] = __atomic_load_n(&found, __ATOMIC_SEQ_CST);
		printf("kubectl get pods exiting %d: %d blocks freed holding the password\n", code,
			found_at[code]);
		tsarc_component_clear(&c);
		tr->free(tr);
		assert_int_equal(scratch_remove(dir), 0);
	}
	cJSON_Delete(spec);
	assert_int_equal(found_at[0] + found_at[1], 0);
}

static void arm(void)
{
	__atomic_store_n(&found, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&armed, 1, __ATOMIC_SEQ_CST);
}

static int disarm(void)
{
	__atomic_store_n(&armed, 0, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&found, __ATOMIC_SEQ_CST);
}

/* A Redis Secret's Sentinel hosts may carry the Sentinels' password
 * (redis://user:password@host:port, or without the scheme): each entry
 * was made a URL of its own, freed without a wipe. These Sentinels refuse
 * the connection (port 1): what is checked is how the hosts are read. */
static void sentinel_hosts_wipe(void **state)
{
	char hosts[] = "u:" PASSWORD "@127.0.0.1:1, redis://u:" PASSWORD "@127.0.0.1:1";
	tsarc_redis_sentinel s = {.hosts = hosts, .master = "mymaster"};
	tsarc_redis_opts base = {.connect_timeout_ms = 2000};
	tsarc_redis *r = NULL;

	(void)state;
	arm();
	assert_int_not_equal(tsarc_redis_sentinel_connect(&r, &base, &s), 0);
	assert_null(strstr(tsarc_error_last()->message, PASSWORD));
	tsarc_error_clear();
	assert_int_equal(disarm(), 0);
	assert_null(r);
}

/* The in-memory MySQL option file's text (tsarc_mysql_option_text) of a
 * password of 960 bytes (PASSWORD over and over), into a plain buffer as
 * the local transport's spawn gives it: the buffer grows while the
 * password is appended, and no block it outgrew may hold a piece of it.
 * Before, it grew with realloc: each block it outgrew (256, 512 bytes)
 * was given back holding the password's first part. */
static void mysql_option_text_wipes(void **state)
{
	tsarc_buf text = TSARC_BUF_INIT;
	char pw[40 * sizeof(PASSWORD)] = "";
	int i, leaks;

	(void)state;
	for (i = 0; i < 40; i++)
		strcat(pw, PASSWORD);
	arm();
	assert_int_equal(tsarc_mysql_option_text(pw, &text), 0);
	assert_non_null(strstr((const char *)text.ptr, pw));
	tsarc_secure_buf_dispose(&text);
	leaks = disarm();
	printf("MySQL option text: %d blocks freed holding the password\n", leaks);
	explicit_bzero(pw, sizeof(pw));
	assert_int_equal(leaks, 0);
}

/* A Redis stand-in on loopback: answers each of `n` connections' first
 * read with +OK and closes it. */
typedef struct ok_server {
	int fd, n;
} ok_server;

static void *ok_serve(void *arg)
{
	ok_server *s = arg;
	char buf[4096];
	int i, c;

	for (i = 0; i < s->n; i++) {
		if ((c = accept(s->fd, NULL, NULL)) < 0)
			break;
		if (read(c, buf, sizeof(buf)) > 0)
			(void)!write(c, "+OK\r\n", 5);
		close(c);
	}
	explicit_bzero(buf, sizeof(buf));
	return NULL;
}

/* The AUTH command is built in the connection's output buffer, which grew
 * with realloc: a password whose AUTH ended just past the buffer's size
 * (the "\r\n" after it made it grow) left the block holding it given back
 * as it was. Every length from 200 to 300 bytes, without and with a user,
 * so that the growth falls after the password for some of them, whatever
 * the buffer's first size. Before, the lengths where it did (234 and 235
 * without a user) each left one. */
static void redis_auth_wipes(void **state)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	ok_server srv;
	pthread_t th;
	char pw[400];
	int len, with_user, port, leaks = 0;

	(void)state;
	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(srv.fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&a, &alen), 0);
	assert_int_equal(listen(srv.fd, 16), 0);
	port = ntohs(a.sin_port);
	srv.n = 2 * 101;
	assert_int_equal(pthread_create(&th, NULL, ok_serve, &srv), 0);
	for (with_user = 0; with_user < 2; with_user++)
		for (len = 200; len <= 300; len++) {
			tsarc_redis_opts o = {.host = "127.0.0.1", .port = port,
				.user = with_user ? "backup" : NULL, .password = pw,
				.connect_timeout_ms = 10000, .io_timeout_ms = 10000};
			tsarc_redis *r = NULL;
			memset(pw, 'x', (size_t)len - strlen(PASSWORD));
			memcpy(pw + len - strlen(PASSWORD), PASSWORD, strlen(PASSWORD) + 1);
			arm();
			assert_int_equal(tsarc_redis_connect(&r, &o, "Redis"), 0);
			tsarc_redis_close(r);
			if (disarm()) {
				printf("AUTH%s with a password of %d bytes: a block freed holding it\n",
					with_user ? " as a user" : "", len);
				leaks++;
			}
		}
	assert_int_equal(pthread_join(th, NULL), 0);
	close(srv.fd);
	explicit_bzero(pw, sizeof(pw));
	assert_int_equal(leaks, 0);
}

/* The resources kind's backup of the Secret (20 KB: cJSON's printing
 * buffer grows): prepared, written out, its context freed. */
static void resources_backup_wipes(void **state)
{
	static const char spec_text[] =
		"{\"kind\": \"resources\", \"resource\": \"secret\", \"names\": [\"s\"]}";
	const tsarc_kind *k = tsarc_kind_find("resources");
	tsarc_production prod = {0};
	tsarc_component comp = {.name = "secrets", .kind = "resources"};
	atomic_int stop = 0;
	char dir[4096], err[256];
	cJSON *spec;
	int fd;

	(void)state;
	assert_non_null(k);
	assert_non_null(scratch_make(dir, sizeof(dir), "wipe"));
	write_secret(dir, 20000);
	assert_non_null(spec = cJSON_Parse(spec_text));
	tsarc_cmd_init(&prod.cmd);
	tsarc_cmd_init(&prod.version_cmd);
	comp.spec = spec;
	comp.tr = local_in(dir);
	assert_true((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0);
	arm();
	assert_int_equal(k->dump(&comp, &prod), 0);
	assert_non_null(prod.writer);
	assert_int_equal(prod.writer(fd, prod.writer_ctx, &stop, err, sizeof(err)), 0);
	prod.writer_ctx_free(prod.writer_ctx);
	cJSON_Delete(prod.meta);
	assert_int_equal(disarm(), 0);
	close(fd);
	tsarc_cmd_free(&prod.cmd);
	tsarc_cmd_free(&prod.version_cmd);
	comp.tr->free(comp.tr);
	cJSON_Delete(spec);
	assert_int_equal(scratch_remove(dir), 0);
}

/* A List of the Secret (20 KB) applied through `tr`, then freed as a
 * Secret is (tsarc_secret_doc_free): nothing the apply gave back held it. */
static void apply_armed(tsarc_transport *tr, const char *dir)
{
	char path[4200];
	cJSON *doc = NULL, *items = NULL, *list = tsarc_resource_list_new(&items);

	write_secret(dir, 20000);
	assert_non_null(list);
	assert_int_equal(tr->get(tr, "secret", "s", &doc), 0);
	cJSON_AddItemToArray(items, doc);
	snprintf(path, sizeof(path), "%s/secret/s.json", dir);
	assert_int_equal(unlink(path), 0);
	arm();
	assert_int_equal(tr->apply(tr, list, NULL), 0);
	tsarc_secret_doc_free(list);
	assert_int_equal(disarm(), 0);
}

static void local_apply_wipes(void **state)
{
	char dir[4096];
	tsarc_transport *tr;

	(void)state;
	assert_non_null(scratch_make(dir, sizeof(dir), "wipe"));
	tr = local_in(dir);
	apply_armed(tr, dir);
	tr->free(tr);
	assert_int_equal(scratch_remove(dir), 0);
}

/* kubectl: the Secret on get, anything read and dropped on apply. */
static void kube_apply_wipes(void **state)
{
	char dir[4096], script[4200];
	tsarc_transport *tr;
	FILE *f;

	(void)state;
	assert_non_null(scratch_make(dir, sizeof(dir), "wipe"));
	snprintf(script, sizeof(script), "%s/kubectl", dir);
	assert_non_null(f = fopen(script, "w"));
	fprintf(f, "#!/bin/sh\ncase \" $* \" in *\" apply \"*) exec cat > /dev/null ;; esac\n"
		"exec cat '%s/secret/s.json'\n", dir);
	fclose(f);
	assert_int_equal(chmod(script, 0700), 0);
	tr = transport_with("kube", "binary", script);
	apply_armed(tr, dir);
	tr->free(tr);
	assert_int_equal(scratch_remove(dir), 0);
}

/* DIR/NAME.json: a deployment of one resources component, the Secrets s
 * and u, through the local transport at resources_dir DIR/RES; a restore
 * with --rewrite-domain rewrites their stringData. */
static void deployment_config(const char *dir, const char *name, const char *res)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "{\"profile\": \"none\", \"transport\": {\"type\": \"local\", "
		"\"resources_dir\": \"%s/%s\"},\n \"components\": {\"secrets\": "
		"{\"kind\": \"resources\", \"resource\": \"secret\", \"names\": [\"s\", \"u\"], "
		"\"stream\": \"secrets.json\", \"restore\": {\"action\": \"apply\", "
		"\"order\": 1, \"domain_fields\": [\"stringData.*\"]}}}}\n", dir, res);
	fclose(f);
}

static tsarc_deployment *deployment_open(const char *dir, const char *name)
{
	char path[4200];
	tsarc_deployment *d = NULL;

	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	assert_int_equal(tsarc_deployment_open(&d, path), 0);
	return d;
}

/* DIR/secret/u.json: a Secret whose stringData names a host whose name
 * holds the password, in domain OLD_DOMAIN. */
#define OLD_DOMAIN "old.example"
#define NEW_DOMAIN "new.example"
static void write_url_secret(const char *dir)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/secret/u.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": "
		"\"u\"}, \"stringData\": {\"url\": \"https://%s." OLD_DOMAIN "/\"}}\n", PASSWORD);
	fclose(f);
}

/* Blocks of many sizes filled with the password, freed before arm(): as
 * the test's own writing of the Secret leaves the heap, on purpose and
 * at every size. A block tsarc allocates over them and frees without
 * filling must not count (free scrubs; before, the count of a run
 * depended on where the allocator put tsarc's blocks: 6 by the backup
 * in one CI run, none in the runs before). */
static void litter(void)
{
	static const size_t sizes[] = {24, 40, 64, 100, 200, 300, 500, 1000, 4096, 9000};
	void *blocks[400];
	size_t k, at;

	for (k = 0; k < 400; k++) {
		size_t n = sizes[k % (sizeof(sizes) / sizeof(sizes[0]))];
		assert_non_null(blocks[k] = malloc(n));
		for (at = 0; at + strlen(PASSWORD) <= n; at += strlen(PASSWORD))
			memcpy((char *)blocks[k] + at, PASSWORD, strlen(PASSWORD));
	}
	for (k = 0; k < 400; k++)
		free(blocks[k]);
}

/* The Secret s (3 MB: chunks of several runs, read with one fetch at a
 * time so that slots are reused, and a stream read into memory that
 * outgrows its buffer) and u backed up into a new folder repository of
 * `format` and `codec`, then planned (--dry-run) and restored into
 * another resources_dir that already holds s (the plan reads it), u's
 * domain rewritten: the number of blocks given back holding the password
 * by the backup (*backup) and by the plan and the restore (*restore).
 * The restore must bring both back. */
static void through_repository(uint32_t format, tsarc_codec_id codec, int *backup,
	int *restore)
{
	char dir[4096], path[4200];
	tsarc_repo_init_options io;
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;
	tsarc_deployment *d;
	tsarc_deployment_restore_options ro = {
		.inflight = 1, .rewrite_old = OLD_DOMAIN, .rewrite_new = NEW_DOMAIN};
	tsarc_snapshot *snap = NULL;
	char *report = NULL, *got = NULL;
	size_t len = 0;

	assert_non_null(scratch_make(dir, sizeof(dir), "wipe"));
	snprintf(path, sizeof(path), "%s/source", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_secret(path, 3u << 20);
	write_url_secret(path);
	snprintf(path, sizeof(path), "%s/target", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_secret(path, 100);
	deployment_config(dir, "source", "source");
	deployment_config(dir, "target", "target");
	snprintf(path, sizeof(path), "%s/repo", dir);
	repo_fixture_options(&io);
	io.format = format;
	io.codec = codec;
	assert_int_equal(tsarc_store_fs_open(&st, path, NULL), 0);
	assert_int_equal(tsarc_repo_init(&repo, st, "pw", &io), 0);

	d = deployment_open(dir, "source");
	litter();
	arm();
	assert_int_equal(tsarc_deployment_backup(&snap, d, repo, NULL, &report), 0);
	*backup = disarm();
	free(report);
	tsarc_deployment_free(d);

	d = deployment_open(dir, "target");
	arm();
	assert_int_equal(tsarc_deployment_plan(&report, d, repo, snap, &ro), 0);
	free(report);
	assert_int_equal(tsarc_deployment_restore(&report, d, repo, snap, &ro), 0);
	*restore = disarm();
	free(report);
	tsarc_deployment_free(d);
	snprintf(path, sizeof(path), "%s/target/secret/s.json", dir);
	assert_int_equal(tsarc_read_file(path, 8u << 20, &got, &len), 0);
	assert_non_null(memmem(got, len, PASSWORD_B64, strlen(PASSWORD_B64)));
	assert_true(len > 3u << 20);
	tsarc_secure_free(got, len);
	snprintf(path, sizeof(path), "%s/target/secret/u.json", dir);
	assert_int_equal(tsarc_read_file(path, 8u << 20, &got, &len), 0);
	assert_non_null(strstr(got, PASSWORD "." NEW_DOMAIN "/"));
	tsarc_secure_free(got, len);
	tsarc_snapshot_free(snap);
	tsarc_repo_free(repo);
	assert_int_equal(scratch_remove(dir), 0);
}

/* Every format and codec, each count printed (the figures of the fix). */
static void repository_wipes(void **state)
{
	static const struct {
		uint32_t format;
		tsarc_codec_id codec;
	} cases[] = {{2, TSARC_CODEC_ZSTD}, {2, TSARC_CODEC_ZLIB}, {2, TSARC_CODEC_NONE},
		{1, TSARC_CODEC_ZSTD}};
	int backup, restore, all = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		through_repository(cases[i].format, cases[i].codec, &backup, &restore);
		printf("format %u, %s: %d blocks freed holding the Secret by the backup, %d by "
			"the restore\n", (unsigned)cases[i].format, tsarc_codec_name(cases[i].codec),
			backup, restore);
		all += backup + restore;
	}
	assert_int_equal(all, 0);
}

/* DIR/NAME with `text`, 0600. */
static void write_private(const char *dir, const char *name, const char *text)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(chmod(path, 0600), 0);
	fputs(text, f);
	fclose(f);
}

/* A loopback port free now (the kernel's pick). */
static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Runs `script` with sh, DIR as its $1 and PORT as $2; its exit status. */
static int sh_in(const char *dir, int port, const char *script)
{
	char cmd[8400];

	snprintf(cmd, sizeof(cmd), "sh -c '%s' sh '%s' %d", script, dir, port);
	return system(cmd);
}

/* redis-cli on port $2 as the server's user (the password through the
 * environment). */
#define RCLI "REDISCLI_AUTH=" PASSWORD " redis-cli --no-auth-warning -p \"$2\""

/* A restore of `snap` by `d` that must succeed: its report printed
 * when it does not. */
static void restore_ok(tsarc_deployment *d, tsarc_repo *repo, tsarc_snapshot *snap)
{
	tsarc_deployment_restore_options ro = {.inflight = 1};
	char *report = NULL;
	int rc = tsarc_deployment_restore(&report, d, repo, snap, &ro);

	if (rc)
		printf("restore: %s\n%s\n", tsarc_error_last()->message, report ? report : "");
	free(report);
	assert_int_equal(rc, 0);
}

/* The RDB swap of a Redis on this host (local transport, "mode": "rdb",
 * restore.config_file): its redis.conf holds requirepass, and the swap
 * reads it, keeps the original, builds the persistence-off text and puts
 * the original back. Every block given back holding the password is
 * counted over the restore: the second one finds the original kept by an
 * "interrupted" run (redis.conf.tsarc-orig, as a SIGKILL leaves it) and
 * takes it from there. Needs redis-server and redis-cli on PATH. */
static char swap_dir[4096];
static int swap_port;

/* The server of redis_swap_wipes stopped and its folder removed, whether
 * the test passed or an assertion ended it. */
static int redis_swap_teardown(void **state)
{
	(void)state;
	if (!swap_dir[0])
		return 0;
	sh_in(swap_dir, swap_port, RCLI " SHUTDOWN NOSAVE >/dev/null 2>&1; "
		"p=$(cat \"$1/redis.pid\" 2>/dev/null); [ -n \"$p\" ] && kill \"$p\" 2>/dev/null; "
		"for i in $(seq 300); do " RCLI " ping >/dev/null 2>&1 || exit 0; sleep 0.1; done");
	scratch_remove(swap_dir);
	swap_dir[0] = '\0';
	return 0;
}

static void redis_swap_wipes(void **state)
{
	const char *dir = swap_dir;
	char path[4200], conf[2048], cfg[6000];
	tsarc_repo_init_options io;
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;
	tsarc_deployment *d;
	tsarc_snapshot *snap = NULL;
	char *report = NULL;
	int first, second, i, port;

	(void)state;
	if (system("command -v redis-server >/dev/null && command -v redis-cli >/dev/null"))
		skip();
	assert_non_null(scratch_make(swap_dir, sizeof(swap_dir), "wipe"));
	/* requirepass near the top: every block the text is grown through
	 * holds it. */
	swap_port = port = free_port();
	snprintf(conf, sizeof(conf), "requirepass %s\nport %d\nbind 127.0.0.1\ndir %s\n"
		"pidfile %s/redis.pid\nlogfile %s/redis.log\ndaemonize yes\nsave \"\"\n"
		"appendonly no\n", PASSWORD, port, dir, dir, dir);
	for (i = 0; i < 20; i++)
		strcat(conf, "# a comment line of the configuration, as redis.conf has many\n");
	write_private(dir, "redis.conf", conf);
	write_private(dir, "pw", PASSWORD);
	assert_int_equal(sh_in(dir, port, "redis-server \"$1/redis.conf\" && for i in $(seq 300); do "
		RCLI " ping 2>/dev/null | grep -q PONG && exit 0; sleep 0.1; done; exit 1"), 0);
	assert_int_equal(sh_in(dir, port, RCLI " SET swap:key 1 | grep -q OK"), 0);
	snprintf(cfg, sizeof(cfg), "{\"profile\": \"none\", \"transport\": {\"type\": \"local\"},\n"
		" \"components\": {\"redis\": {\"kind\": \"redis\", \"host\": \"127.0.0.1\", "
		"\"port\": %d, \"password_file\": \"%s/pw\", \"mode\": \"rdb\", \"stream\": "
		"\"redis.rdb\", \"restore\": {\"action\": \"redis-rdb\", \"order\": 1, "
		"\"config_file\": \"%s/redis.conf\"}}}}\n", port, dir, dir);
	write_private(dir, "config.json", cfg);
	snprintf(path, sizeof(path), "%s/repo", dir);
	repo_fixture_options(&io);
	assert_int_equal(tsarc_store_fs_open(&st, path, NULL), 0);
	assert_int_equal(tsarc_repo_init(&repo, st, "pw", &io), 0);
	d = deployment_open(dir, "config");
	assert_int_equal(tsarc_deployment_backup(&snap, d, repo, NULL, &report), 0);
	free(report);
	report = NULL;

	litter();
	arm();
	restore_ok(d, repo, snap);
	first = disarm();
	/* As a run killed with persistence off leaves it: the original kept
	 * beside the configuration (here the configuration already back). */
	write_private(dir, "redis.conf.tsarc-orig", conf);
	litter();
	arm();
	restore_ok(d, repo, snap);
	second = disarm();
	printf("Redis swap: %d blocks freed holding requirepass by the restore, %d by the one "
		"after an interrupted run\n", first, second);
	assert_int_equal(sh_in(dir, port, RCLI " GET swap:key | grep -qx 1"), 0);
	tsarc_deployment_free(d);
	tsarc_snapshot_free(snap);
	tsarc_repo_free(repo);
	assert_int_equal(first + second, 0);
}

TSARC_TESTS_MAIN(NULL, NULL, cmocka_unit_test(local_get_wipes), cmocka_unit_test(kube_get_wipes),
	cmocka_unit_test(resources_backup_wipes), cmocka_unit_test(local_apply_wipes),
	cmocka_unit_test(kube_apply_wipes), cmocka_unit_test(repository_wipes),
	cmocka_unit_test(sentinel_hosts_wipe), cmocka_unit_test(redis_auth_wipes),
	cmocka_unit_test(mysql_option_text_wipes),
	cmocka_unit_test(local_refused_wipes),
	cmocka_unit_test(kube_refused_wipes), cmocka_unit_test(local_broken_wipes),
	cmocka_unit_test(kube_broken_wipes), cmocka_unit_test(kube_locate_wipes),
	cmocka_unit_test_teardown(redis_swap_wipes, redis_swap_teardown))
