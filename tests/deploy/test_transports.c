/* The transports through their interface (transport.h): the registry by
 * name, apply into the namespace it is given on both transports, remove
 * by name, and a server's configuration replaced with its original kept
 * aside. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "component.h"
#include "fileio.h"
#include "tsarc/errors.h"
#include "scratch.h"
#include "kube_double.h"

static char *tmpdir(void)
{
	char *p = malloc(4096);

	assert_non_null(scratch_make(p, 4096, "tr"));
	return p;
}

static void rm_rf(const char *path)
{
	assert_int_equal(scratch_remove(path), 0);
}

static char *slurp(const char *path)
{
	char *text = NULL;

	if (tsarc_read_file(path, 1 << 20, &text, NULL))
		return NULL;
	return text;
}

/* The registry: a name it does not know is an error naming it, never
 * another transport. */
static void transport_registry(void **state)
{
	tsarc_transports trs;
	tsarc_transport *tr = NULL;
	cJSON *conf = cJSON_Parse("{\"type\": \"local\"}");

	(void)state;
	memset(&trs, 0, sizeof(trs));
	trs.conf = conf;
	assert_int_equal(tsarc_transports_get(&trs, "kubee", &tr), TSARC_ECONFIG);
	assert_null(tr);
	assert_non_null(strstr(tsarc_error_last()->message, "no transport 'kubee'"));
	assert_int_equal(tsarc_transports_get(&trs, NULL, &tr), TSARC_ECONFIG);
	assert_int_equal(tsarc_transports_get(&trs, "local", &tr), 0);
	assert_non_null(tr);
	assert_string_equal(tr->type, "local");
	/* The same one each time it is asked for. */
	{
		tsarc_transport *again = NULL;
		assert_int_equal(tsarc_transports_get(&trs, "local", &again), 0);
		assert_ptr_equal(tr, again);
	}
	tsarc_transports_dispose(&trs);
	cJSON_Delete(conf);
}

static tsarc_transport *make(const char *name, const char *conf_text, cJSON **conf,
	tsarc_transports *trs)
{
	tsarc_transport *tr = NULL;

	*conf = cJSON_Parse(conf_text);
	memset(trs, 0, sizeof(*trs));
	trs->conf = *conf;
	if (tsarc_transports_get(trs, name, &tr))
		fail_msg("%s: %s", name, tsarc_error_last()->message);
	return tr;
}

static cJSON *one_configmap(void)
{
	cJSON *items, *list = tsarc_resource_list_new(&items);

	cJSON_AddItemToArray(items, cJSON_Parse("{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\","
		" \"metadata\": {\"name\": \"c\", \"namespace\": \"old\"}, \"data\": {\"k\": \"v\"}}"));
	return list;
}

/* A kubectl that is not installed is a configuration error naming it, at
 * every call: never TSARC_ENOTFOUND, which get answers for a resource that
 * does not exist (a restore would then take the target for one without its
 * Secrets), and found without starting a process per call. */
static void kube_binary_missing(void **state)
{
	const char *const names[] = {"tsarc-no-such-kubectl", "/nonexistent/kubectl"};
	tsarc_transports trs;
	tsarc_transport *tr;
	cJSON *conf, *doc = NULL, *list = one_configmap();
	char conf_text[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(conf_text, sizeof(conf_text), "{\"binary\": \"%s\"}", names[i]);
		tr = make("kube", conf_text, &conf, &trs);
		assert_int_equal(tr->get(tr, "secret", "backend-redis", &doc), TSARC_ECONFIG);
		assert_null(doc);
		assert_non_null(strstr(tsarc_error_last()->message, names[i]));
		assert_int_equal(tr->get(tr, "secret", NULL, &doc), TSARC_ECONFIG);
		assert_int_equal(tr->apply(tr, list, NULL), TSARC_ECONFIG);
		tsarc_transports_dispose(&trs);
		cJSON_Delete(conf);
	}
	cJSON_Delete(list);
}

/* --target-namespace reaches both transports' apply: kube applies with
 * -n NS (not its configured namespace), local writes NS into the file. */
static void apply_honours_the_namespace(void **state)
{
	char *dir = tmpdir(), path[4200], conf_text[8400], *text;
	tsarc_transports trs;
	tsarc_transport *tr;
	cJSON *conf, *list = one_configmap();
	FILE *f;

	(void)state;
	/* A kubectl that records its arguments and swallows its input. */
	snprintf(path, sizeof(path), "%s/kubectl", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\nprintf '%%s ' \"$@\" > '%s/args'\ncat > /dev/null\n", dir);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	snprintf(conf_text, sizeof(conf_text), "{\"binary\": \"%s\", \"namespace\": \"configured\","
		" \"resources_dir\": \"%s\"}", path, dir);
	tr = make("kube", conf_text, &conf, &trs);
	assert_int_equal(tr->apply(tr, list, "target"), 0);
	snprintf(path, sizeof(path), "%s/args", dir);
	assert_non_null(text = slurp(path));
	assert_non_null(strstr(text, "-n target"));
	assert_null(strstr(text, "configured"));
	free(text);
	/* Without one, the configured namespace. */
	assert_int_equal(tr->apply(tr, list, NULL), 0);
	assert_non_null(text = slurp(path));
	assert_non_null(strstr(text, "-n configured"));
	free(text);
	tsarc_transports_dispose(&trs);
	cJSON_Delete(conf);

	tr = make("local", conf_text, &conf, &trs);
	assert_int_equal(tr->apply(tr, list, "target"), 0);
	snprintf(path, sizeof(path), "%s/configmap/c.json", dir);
	assert_non_null(text = slurp(path));
	assert_non_null(strstr(text, "\"namespace\":\t\"target\""));
	free(text);
	tsarc_transports_dispose(&trs);
	cJSON_Delete(conf);
	cJSON_Delete(list);
	rm_rf(dir);
	free(dir);
}

/* remove (the restore of an undo snapshot): one object by name, in the
 * namespace given; already gone is no error; a name that is not a
 * Kubernetes one, or a type folder that is a link out of the resources
 * folder, removes nothing. */
static void remove_deletes_by_name(void **state)
{
	char *dir = tmpdir(), *out = tmpdir(), path[4200], conf_text[8400], *text;
	tsarc_transports trs;
	tsarc_transport *tr;
	cJSON *conf, *list = one_configmap(), *got = NULL;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/kubectl", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "#!/bin/sh\nprintf '%%s ' \"$@\" > '%s/args'\n"
		"[ \"$5\" = refused ] && { echo 'forbidden: cannot delete' >&2; exit 1; }\nexit 0\n", dir);
	fclose(f);
	assert_int_equal(chmod(path, 0755), 0);
	snprintf(conf_text, sizeof(conf_text), "{\"binary\": \"%s\", \"namespace\": \"configured\","
		" \"resources_dir\": \"%s\"}", path, dir);
	tr = make("kube", conf_text, &conf, &trs);
	assert_int_equal(tr->remove(tr, "configmap", "c", "target"), 0);
	snprintf(path, sizeof(path), "%s/args", dir);
	assert_non_null(text = slurp(path));
	assert_string_equal(text, "-n target delete configmap c --ignore-not-found ");
	free(text);
	assert_int_equal(tr->remove(tr, "configmap", "refused", NULL), TSARC_EIO);
	assert_non_null(strstr(tsarc_error_last()->message, "forbidden: cannot delete"));
	tsarc_transports_dispose(&trs);
	cJSON_Delete(conf);

	tr = make("local", conf_text, &conf, &trs);
	assert_int_equal(tr->apply(tr, list, NULL), 0);
	assert_int_equal(tr->get(tr, "configmap", "c", &got), 0);
	cJSON_Delete(got);
	assert_int_equal(tr->remove(tr, "configmap", "c", "target"), 0);
	assert_int_equal(tr->get(tr, "configmap", "c", &got), TSARC_ENOTFOUND);
	assert_int_equal(tr->remove(tr, "configmap", "c", NULL), 0);
	assert_int_equal(tr->remove(tr, "configmap", "../c", NULL), TSARC_EUNSAFE);
	/* DIR/NAME.json of another kind is not the type's. */
	snprintf(path, sizeof(path), "%s/d.json", dir);
	assert_int_equal(tsarc_replace_file(path, "{\"kind\": \"Secret\"}", 18, 0600, 0), 0);
	assert_int_equal(tr->remove(tr, "configmap", "d", NULL), 0);
	assert_int_equal(access(path, F_OK), 0);
	/* A type folder that is a link elsewhere is not followed. */
	snprintf(path, sizeof(path), "%s/e.json", out);
	assert_int_equal(tsarc_replace_file(path, "{\"kind\": \"Secret\"}", 18, 0600, 0), 0);
	snprintf(path, sizeof(path), "%s/secret", dir);
	assert_int_equal(symlink(out, path), 0);
	assert_int_equal(tr->remove(tr, "secret", "e", NULL), TSARC_EIO);
	snprintf(path, sizeof(path), "%s/e.json", out);
	assert_int_equal(access(path, F_OK), 0);
	tsarc_transports_dispose(&trs);
	cJSON_Delete(conf);
	cJSON_Delete(list);
	rm_rf(dir);
	rm_rf(out);
	free(dir);
	free(out);
}

/* A server's configuration on this host: replaced with the original kept
 * beside it (mode 0600, before the file changes), put back and the kept
 * copy removed; a later read finds what a killed run kept. */
static void local_config_keeps_the_original(void **state)
{
	char *dir = tmpdir(), path[4200], saved[4300], *text;
	tsarc_server_config cfg;
	tsarc_transports trs;
	tsarc_transport *tr;
	struct stat st;
	cJSON *conf;
	FILE *f;

	(void)state;
	tr = make("local", "{}", &conf, &trs);
	assert_non_null(tr->read_config);
	assert_string_equal(tr->config_field, "config_file");
	snprintf(path, sizeof(path), "%s/redis.conf", dir);
	snprintf(saved, sizeof(saved), "%s.tsarc-orig", path);
	assert_non_null(f = fopen(path, "w"));
	fputs("save 900 1\n", f);
	fclose(f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.file = path;
	assert_int_equal(tr->read_config(tr, &cfg), 0);
	assert_string_equal(cfg.text, "save 900 1\n");
	assert_null(cfg.saved);
	assert_string_equal(cfg.where, path);
	assert_string_equal(cfg.saved_where, saved);
	assert_int_equal(tr->write_config(tr, &cfg, "save \"\"\n", cfg.text), 0);
	assert_non_null(text = slurp(saved));
	assert_string_equal(text, "save 900 1\n");
	free(text);
	assert_int_equal(stat(saved, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(text = slurp(path));
	assert_string_equal(text, "save \"\"\n");
	free(text);
	tsarc_server_config_dispose(&cfg);
	/* What a killed run left: found by the next read. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.file = path;
	assert_int_equal(tr->read_config(tr, &cfg), 0);
	assert_string_equal(cfg.saved, "save 900 1\n");
	assert_int_equal(tr->write_config(tr, &cfg, cfg.saved, NULL), 0);
	assert_int_not_equal(access(saved, F_OK), 0);
	assert_non_null(text = slurp(path));
	assert_string_equal(text, "save 900 1\n");
	free(text);
	tsarc_server_config_dispose(&cfg);
	tsarc_transports_dispose(&trs);
	cJSON_Delete(conf);
	rm_rf(dir);
	free(dir);
}

/* A short command in a pod (a post_restore hook, redis-cli): its output
 * and status as it gave them, and a connection lost mid-way (kubectl exits
 * 0 with the output cut) is a failure, never a success with half an
 * answer: the re-sync hook's outcome is then unknown. */
static void kube_capture_needs_the_whole_output(void **state)
{
	char *dir = tmpdir(), *out = NULL;
	tsarc_component c;
	tsarc_transport *tr;
	tsarc_cmd cmd;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.name = "hook";
	c.pod = "system-sidekiq-1";
	c.container = "system-sidekiq";
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_cmd_arg(&cmd, "sh"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "-c"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "printf 'rewrite queued\\nlast line'; exit $0"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "0"), 0);
	tr = kube_double(dir, NULL, 0);
	assert_int_equal(tr->capture(tr, &c, &cmd, 1024, &out), 0);
	assert_string_equal(out, "rewrite queued\nlast line");
	free(out);
	out = NULL;
	/* Too much output is refused as before. */
	assert_int_equal(tr->capture(tr, &c, &cmd, 10, &out), TSARC_ETOOLARGE);
	assert_null(out);
	tr->free(tr);
	/* The connection lost after 9 bytes, kubectl exits 0. */
	tr = kube_double(dir, NULL, 9);
	assert_int_equal(tr->capture(tr, &c, &cmd, 1024, &out), TSARC_EIO);
	assert_null(out);
	assert_non_null(strstr(tsarc_error_last()->message, "end mark"));
	tr->free(tr);
	/* The command failed; kubectl lost its status and exits 0. */
	tsarc_cmd_free(&cmd);
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_cmd_arg(&cmd, "sh"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "-c"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "printf 'started'; exit 3"), 0);
	tr = kube_double(dir, NULL, 60);
	assert_int_equal(tr->capture(tr, &c, &cmd, 1024, &out), TSARC_EIO);
	assert_null(out);
	tr->free(tr);
	tsarc_cmd_free(&cmd);
	rm_rf(dir);
	free(dir);
}

/* Where two kube places are one: the cluster (the hash of its root CA,
 * kube-root-ca.crt) tells two clusters apart where the contexts do not
 * say (in a pod there is none), and one namespace of one cluster is one
 * place whatever the contexts are called. */
static void kube_same_place_by_cluster(void **state)
{
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		/* Today's rule, without clusters. */
		{"{\"namespace\": \"3scale\"}", "{\"namespace\": \"3scale\"}", -1},
		{"{\"namespace\": \"3scale\", \"context\": \"a\"}",
			"{\"namespace\": \"3scale\", \"context\": \"a\"}", 1},
		{"{\"namespace\": \"3scale\", \"context\": \"a\"}",
			"{\"namespace\": \"3scale\", \"context\": \"b\"}", 0},
		{"{\"namespace\": \"x\"}", "{\"namespace\": \"y\"}", 0},
		/* Two clusters: another place, whatever the rest says. */
		{"{\"namespace\": \"3scale\", \"cluster\": \"sha256:aa\"}",
			"{\"namespace\": \"3scale\", \"cluster\": \"sha256:bb\"}", 0},
		{"{\"namespace\": \"3scale\", \"context\": \"a\", \"cluster\": \"sha256:aa\"}",
			"{\"namespace\": \"3scale\", \"context\": \"a\", \"cluster\": \"sha256:bb\"}", 0},
		/* One cluster, one namespace: one place, with contexts or not. */
		{"{\"namespace\": \"3scale\", \"cluster\": \"sha256:aa\"}",
			"{\"namespace\": \"3scale\", \"cluster\": \"sha256:aa\"}", 1},
		{"{\"namespace\": \"3scale\", \"context\": \"a\", \"cluster\": \"sha256:aa\"}",
			"{\"namespace\": \"3scale\", \"context\": \"b\", \"cluster\": \"sha256:aa\"}", 1},
		/* One cluster, two namespaces. */
		{"{\"namespace\": \"x\", \"cluster\": \"sha256:aa\"}",
			"{\"namespace\": \"y\", \"cluster\": \"sha256:aa\"}", 0},
		/* One side names no cluster (a backup of an older version, a
		 * cluster without kube-root-ca.crt): today's rule. */
		{"{\"namespace\": \"3scale\", \"cluster\": \"sha256:aa\"}",
			"{\"namespace\": \"3scale\"}", -1},
		{"{\"namespace\": \"3scale\", \"context\": \"a\", \"cluster\": \"sha256:aa\"}",
			"{\"namespace\": \"3scale\", \"context\": \"a\"}", 1},
		/* A cluster that is no string (a snapshot is untrusted): none. */
		{"{\"namespace\": \"3scale\", \"cluster\": 7}",
			"{\"namespace\": \"3scale\", \"cluster\": \"sha256:bb\"}", -1},
		{"{\"namespace\": \"3scale\", \"cluster\": {\"x\": 1}}",
			"{\"namespace\": \"3scale\", \"cluster\": {\"x\": 1}}", -1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *a = cJSON_Parse(cases[i].a), *b = cJSON_Parse(cases[i].b);
		assert_non_null(a);
		assert_non_null(b);
		if (tsarc_kube_same_place(a, b, 1) != cases[i].want ||
			tsarc_kube_same_place(b, a, 1) != cases[i].want)
			fail_msg("case %zu: %s and %s: want %d, got %d", i, cases[i].a, cases[i].b,
				cases[i].want, tsarc_kube_same_place(a, b, 1));
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(kube_same_place_by_cluster),
	cmocka_unit_test(transport_registry),
	cmocka_unit_test(apply_honours_the_namespace),
	cmocka_unit_test(remove_deletes_by_name),
	cmocka_unit_test(local_config_keeps_the_original),
	cmocka_unit_test(kube_capture_needs_the_whole_output),
	cmocka_unit_test(kube_binary_missing))
