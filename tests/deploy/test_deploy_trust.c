/* Unit tests of what the deployment layer must never trust: names that
 * reach a shell or a path (from a config or from a snapshot), files
 * written into folders others can write, and secrets that must not reach
 * children that do not need them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "component.h"
#include "fileio.h"
#include "deploy.h"
#include "snapshot.h"
#include "tsarc/errors.h"
#include "scratch.h"
#include "kube_double.h"

static char *tmpdir_new(void)
{
	char *p = malloc(4096);

	assert_non_null(p);
	assert_non_null(scratch_make(p, 4096, "trust"));
	return p;
}

static void rm_rf(const char *path)
{
	assert_int_equal(scratch_remove(path), 0);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *read_text(const char *path)
{
	char *t = NULL;

	assert_int_equal(tsarc_read_file(path, 1 << 20, &t, NULL), 0);
	return t;
}

static tsarc_transport *local_transport(const char *resources_dir)
{
	char conf[4200];
	cJSON *c;
	tsarc_transport *tr = NULL;

	snprintf(conf, sizeof(conf), "{\"type\": \"local\", \"resources_dir\": \"%s\"}",
		resources_dir);
	c = cJSON_Parse(conf);
	assert_int_equal(tsarc_transport_local_new(&tr, c), 0);
	cJSON_Delete(c);
	return tr;
}

static cJSON *one_item_list(const char *kind, const char *name)
{
	cJSON *items, *list = tsarc_resource_list_new(&items), *doc = cJSON_CreateObject();
	cJSON *md = cJSON_AddObjectToObject(doc, "metadata");

	cJSON_AddStringToObject(doc, "apiVersion", "v1");
	cJSON_AddStringToObject(doc, "kind", kind);
	cJSON_AddStringToObject(md, "name", name);
	cJSON_AddItemToObject(doc, "data", cJSON_Parse("{\"k\": \"dmFsdWU=\"}"));
	cJSON_AddItemToArray(items, doc);
	return list;
}

/* A local user plants a symlink where the local resource apply used to
 * write its temporary file (.NAME.json.tsarc-tmp): a root restore must not
 * write through it. The replaced file keeps its owner and mode. */
static void local_apply_planted_symlink(void **state)
{
	char *dir = tmpdir_new(), *outside = tmpdir_new(), p[4200], victim[4200];
	tsarc_transport *tr = local_transport(dir);
	cJSON *list = one_item_list("Secret", "system-seed");
	struct stat sb;
	char *t;

	(void)state;
	snprintf(victim, sizeof(victim), "%s/victim", outside);
	write_text(victim, "precious\n");
	snprintf(p, sizeof(p), "%s/secret", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/secret/.system-seed.json.tsarc-tmp", dir);
	assert_int_equal(symlink(victim, p), 0);
	snprintf(p, sizeof(p), "%s/secret/system-seed.json", dir);
	write_text(p, "{}\n");
	assert_int_equal(chmod(p, 0640), 0);
	if (geteuid() == 0)
		assert_int_equal(chown(p, 1234, 4321), 0);
	assert_int_equal(tr->apply(tr, list, NULL), 0);
	t = read_text(victim);
	assert_string_equal(t, "precious\n");
	free(t);
	t = read_text(p);
	assert_non_null(strstr(t, "system-seed"));
	free(t);
	assert_int_equal(lstat(p, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0640);
	if (geteuid() == 0) {
		assert_int_equal(sb.st_uid, 1234);
		assert_int_equal(sb.st_gid, 4321);
	}
	cJSON_Delete(list);
	tr->free(tr);
	rm_rf(dir);
	rm_rf(outside);
	free(dir);
	free(outside);
}

/* Kinds and names come from the snapshot: none may lead out of
 * resources_dir, and each is refused before anything is written. */
static void local_apply_hostile_kind_and_name(void **state)
{
	static const struct {
		const char *kind, *name;
	} cases[] = {
		{"../../escape", "x"},
		{"Secret/..", "x"},
		{"..", "x"},
		{"Secret", "../x"},
		{"Secret", ".."},
		{"Secret", "-rf"},
		{"Secret", "UPPER"},
		{"Secret", "a b"},
		{"Secret", ""},
		{"", "x"},
	};
	char *base = tmpdir_new(), dir[4200], p[4300];
	size_t i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/a/b", base);
	snprintf(p, sizeof(p), "%s/a", base);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tsarc_transport *tr = local_transport(dir);
		cJSON *list = one_item_list(cases[i].kind, cases[i].name);
		int rc = tr->apply(tr, list, NULL);
		if (rc != TSARC_EUNSAFE)
			fail_msg("kind '%s' name '%s': %d (%s)", cases[i].kind, cases[i].name, rc,
				tsarc_error_last()->message);
		cJSON_Delete(list);
		tr->free(tr);
	}
	/* Nothing next to resources_dir or above it. */
	snprintf(p, sizeof(p), "%s/escape", base);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/a/escape", base);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/a/x.json", base);
	assert_int_not_equal(access(p, F_OK), 0);
	rm_rf(base);
	free(base);
}

/* Which kinds a resource type names: the rule an apply of a snapshot's
 * List is held to (only its component's type goes to kubectl apply). */
static void kind_of_type(void **state)
{
	static const struct {
		const char *kind, *type;
		int is;
	} cases[] = {
		{"Secret", "secret", 1}, {"Secret", "secrets", 1}, {"Secret", "Secret", 1},
		{"ConfigMap", "configmap", 1}, {"ConfigMap", "configmaps", 1},
		{"APIManager", "apimanager", 1}, {"APIManager", "apimanagers.apps.3scale.net", 1},
		{"Ingress", "ingresses", 1}, {"NetworkPolicy", "networkpolicies", 1},
		{"NetworkPolicy", "networkpolicy.networking.k8s.io", 1},
		{"ClusterRoleBinding", "secret", 0}, {"Pod", "secret", 0}, {"ConfigMap", "secret", 0},
		{"Secret", "secretx", 0}, {"Secret", "secrez", 0},
		{"Secre", "secret", 0}, {"Secrets", "secret", 0}, {"ConfigMap", "cm", 0},
		{"NetworkPolicy", "networkpolicyes", 0}, {"Secret", "", 0}, {"Secret", ".secret", 0},
		{"../x", "x", 0}, {"", "s", 0}, {NULL, "secret", 0}, {"Secret", NULL, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (tsarc_kube_kind_of_type(cases[i].kind, cases[i].type) != cases[i].is)
			fail_msg("kind %s, type %s: not %d", cases[i].kind ? cases[i].kind : "NULL",
				cases[i].type ? cases[i].type : "NULL", cases[i].is);
}

/* apiVersions as Kubernetes spells them: VERSION (the core group) or
 * GROUP/VERSION, GROUP a DNS-1123 subdomain, VERSION v1, v1beta1, v2alpha3. */
static void api_version_syntax(void **state)
{
	static const struct {
		const char *s;
		int is;
	} cases[] = {
		{"v1", 1}, {"v2", 1}, {"v1beta1", 1}, {"v2alpha3", 1}, {"apps/v1", 1},
		{"rbac.authorization.k8s.io/v1", 1}, {"apps.3scale.net/v1alpha1", 1},
		{"evil.example/v1", 1}, {"networking.k8s.io/v1beta12", 1},
		{NULL, 0}, {"", 0}, {"v", 0}, {"1", 0}, {"V1", 0}, {"v1beta", 0}, {"v1alpha", 0},
		{"v1gamma1", 0}, {"vbeta1", 0}, {"v1 ", 0}, {"v1\n", 0}, {"/v1", 0}, {"apps/", 0},
		{"apps//v1", 0}, {"apps/v1/x", 0}, {"-apps/v1", 0}, {"apps-/v1", 0}, {"a..b/v1", 0},
		{".apps/v1", 0}, {"Apps.3scale.net/v1", 0}, {"apps/V1", 0}, {"apps/../v1", 0},
		{"apps.3scale.net/v1alpha1\x1b[2J", 0}, {"v12345678901234567890", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (tsarc_valid_kube_api_version(cases[i].s) != cases[i].is)
			fail_msg("apiVersion %s: not %d", cases[i].s ? cases[i].s : "NULL", cases[i].is);
}

/* Which objects a resource type names, apiVersion and kind: what an apply
 * of a snapshot's List is held to. A kind alone does not say it: any CRD
 * of the cluster may have kind Secret in its own group. */
static void object_of_type(void **state)
{
	static const struct {
		const char *api, *kind, *type;
		int is;
	} cases[] = {
		/* The core kinds tsarc backs up: v1 and nothing else. */
		{"v1", "Secret", "secret", 1}, {"v1", "Secret", "secrets", 1},
		{"v1", "ConfigMap", "configmap", 1}, {"v1", "ConfigMap", "configmaps", 1},
		{"evil.example/v1", "Secret", "secret", 0}, {"apps/v1", "Secret", "secrets", 0},
		{"v2", "Secret", "secret", 0}, {"v1beta1", "ConfigMap", "configmap", 0},
		{"evil.example/v1", "ConfigMap", "configmaps", 0},
		/* A type naming its group: that group, letter case aside. */
		{"apps.3scale.net/v1alpha1", "APIManager", "apimanagers.apps.3scale.net", 1},
		{"apps.3scale.net/v1", "APIManager", "apimanagers.APPS.3scale.Net", 1},
		{"other.example/v1", "APIManager", "apimanagers.apps.3scale.net", 0},
		{"v1", "APIManager", "apimanagers.apps.3scale.net", 0},
		{"3scale.net/v1alpha1", "APIManager", "apimanagers.apps.3scale.net", 0},
		{"apps.3scale.net.evil.example/v1alpha1", "APIManager", "apimanagers.apps.3scale.net", 0},
		{"evil.apps.3scale.net/v1alpha1", "APIManager", "apimanagers.apps.3scale.net", 0},
		{"networking.k8s.io/v1", "NetworkPolicy", "networkpolicies.networking.k8s.io", 1},
		{"evil.example/v1", "Secret", "secrets.evil.example", 1},
		/* kubectl's RESOURCE.VERSION.GROUP: that version too. */
		{"apps.3scale.net/v1alpha1", "APIManager", "apimanagers.v1alpha1.apps.3scale.net", 1},
		{"apps.3scale.net/v1", "APIManager", "apimanagers.v1alpha1.apps.3scale.net", 0},
		/* The 3scale profile's apimanager: the operator's group. */
		{"apps.3scale.net/v1alpha1", "APIManager", "apimanager", 1},
		{"apps.3scale.net/v1alpha1", "APIManager", "apimanagers", 1},
		{"other.example/v1", "APIManager", "apimanager", 0}, {"v1", "APIManager", "apimanager", 0},
		/* Any other type without a group: not the core group, whose
		 * kinds (a Pod, a Service) tsarc does not back up. */
		{"widgets.example/v1", "Widget", "widgets", 1}, {"v1", "Widget", "widgets", 0},
		{"v1", "Service", "services", 0}, {"v1", "Pod", "pod", 0},
		/* The kind still decides. */
		{"v1", "Pod", "secret", 0}, {"v1", "ConfigMap", "secret", 0},
		{"apps.3scale.net/v1alpha1", "Secret", "apimanager", 0},
		/* Not an apiVersion. */
		{NULL, "Secret", "secret", 0}, {"", "Secret", "secret", 0},
		{"v1/", "Secret", "secret", 0}, {"/v1", "Secret", "secret", 0},
		{"V1", "Secret", "secret", 0}, {"apps.3scale.net/", "APIManager", "apimanager", 0},
		{"apps.3scale.net/v1alpha1/x", "APIManager", "apimanagers.apps.3scale.net", 0},
		{"v1", "Secret", NULL, 0}, {"v1", NULL, "secret", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (tsarc_kube_object_of_type(cases[i].api, cases[i].kind, cases[i].type) !=
			cases[i].is)
			fail_msg("apiVersion %s, kind %s, type %s: not %d",
				cases[i].api ? cases[i].api : "NULL",
				cases[i].kind ? cases[i].kind : "NULL",
				cases[i].type ? cases[i].type : "NULL", cases[i].is);
}

/* Variable names go into `sh -c` scripts in a pod: only identifiers load. */
static void config_refuses_bad_variable_names(void **state)
{
	static const char *const cases[] = {
		"\"backend-redis\": {\"pod_password_env\": \"X\\\"; touch /tmp/p; \\\"\"}",
		"\"backend-redis\": {\"pod_password_env\": \"$(id)\"}",
		"\"backend-redis\": {\"password_env\": \"A B\"}",
		"\"system-mysql\": {\"restore\": {\"pod_password_env\": \"A;B\"}}",
		"\"o\": {\"kind\": \"exec\", \"command\": [\"x\"], \"pod_env\": {\"A;B\": \"C\"}}",
		"\"o\": {\"kind\": \"exec\", \"command\": [\"x\"], \"pod_env\": {\"A\": \"C}\"}}",
		"\"o\": {\"kind\": \"exec\", \"command\": [\"x\"], \"env\": {\"1A\": \"C\"}}",
		"\"o\": {\"kind\": \"exec\", \"command\": [\"x\"], \"env\": {\"A\": \"C-D\"}}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[1024];
		tsarc_deploy *d = NULL;
		int rc;
		snprintf(text, sizeof(text), "{\"transport\": {\"type\": \"kube\"}, "
			"\"components\": {%s}}", cases[i]);
		rc = tsarc_deploy_load_text(&d, text, "cfg.json");
		if (rc != TSARC_ECONFIG)
			fail_msg("case %zu loaded (%d): %s", i, rc, text);
		assert_null(d);
		assert_non_null(strstr(tsarc_error_last()->message, "variable name"));
	}
}

/* A snapshot as restore reads it: one stream with `meta`. */
static tsarc_snapshot *snapshot_with_meta(const char *stream, const char *kind,
	const char *meta)
{
	char text[8192];
	tsarc_snapshot *snap = NULL;

	snprintf(text, sizeof(text), "{\"id\":\"x\",\"version\":1,\"time\":\"2026-11-23T10:00:00Z\","
		"\"host\":\"h\",\"tool_version\":\"0\",\"total_size\":0,\"tags\":[],"
		"\"streams\":[{\"name\":\"%s\",\"kind\":\"%s\",\"size\":0,\"sha256\":"
		"\"abababababababababababababababababababababababababababababababab\","
		"\"start\":\"2026-11-23T10:00:00Z\",\"end\":\"2026-11-23T10:00:01Z\","
		"\"chunk_count\":0,\"stored_size\":0,\"meta\":%s,\"chunks\":[]}]}",
		stream, kind, meta);
	if (tsarc_snapshot_from_json(&snap, text, strlen(text)))
		fail_msg("test snapshot does not parse: %s", tsarc_error_last()->message);
	return snap;
}

/* Snapshot metadata is untrusted: a recipe's variable names, a resource
 * list's names and kinds are checked before the plan is made. */
static void restore_refuses_hostile_metadata(void **state)
{
	static const struct {
		const char *stream, *kind, *meta;
	} cases[] = {
		{"system-mysql.sql", "mysql", "{\"component\": \"system-mysql\", \"kind\": \"mysql\","
			" \"restore\": {\"action\": \"sql\", \"pod_password_env\": "
			"\"X\\\" ; touch /tmp/pwned ; \\\"\"}}"},
		{"backend-redis.rdb", "redis", "{\"component\": \"backend-redis\", \"kind\": \"redis\","
			" \"restore\": {\"pod_password_env\": \"$(id)\"}}"},
		{"secrets.json", "resources", "{\"component\": \"secrets\", \"kind\": \"resources\","
			" \"resource\": \"secret\", \"items\": [\"../../etc/passwd\"]}"},
		{"secrets.json", "resources", "{\"component\": \"secrets\", \"kind\": \"resources\","
			" \"resource\": \"secret\", \"items\": [\"--kubeconfig=/tmp/x\"]}"},
		{"secrets.json", "resources", "{\"component\": \"secrets\", \"kind\": \"resources\","
			" \"resource\": \"../secret\", \"items\": [\"x\"]}"},
		{"backend-redis.rdb", "redis", "{\"component\": \"backend-redis\", \"kind\": \"redis\","
			" \"restore\": {\"config_map\": \"--all\"}}"},
		{"system-mysql.sql", "mysql", "{\"component\": \"system-mysql\", \"kind\": \"mysql\","
			" \"restore\": {\"create_database_options\": \"; DROP DATABASE mysql; --\"}}"},
		{"x.sql", "mysql", "{\"component\": \"a/../b\", \"kind\": \"mysql\"}"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tsarc_deploy *d = NULL;
		tsarc_snapshot *snap = snapshot_with_meta(cases[i].stream, cases[i].kind,
			cases[i].meta);
		tsarc_restore_opts o;
		cJSON *report = NULL;
		int rc;
		assert_int_equal(tsarc_deploy_load_text(&d, "{\"transport\": {\"type\": \"kube\", "
			"\"binary\": \"/nonexistent/kubectl\"}}", "cfg.json"), 0);
		memset(&o, 0, sizeof(o));
		o.dry_run = 1;
		rc = tsarc_deploy_restore(d, NULL, snap, &o, &report);
		if (rc != TSARC_EUNSAFE)
			fail_msg("case %zu accepted (%d): %s", i, rc, cases[i].meta);
		cJSON_Delete(report);
		tsarc_snapshot_free(snap);
		tsarc_deploy_free(d);
	}
}

/* Component `name`, already located in `pod`, `container`. */
static void located(tsarc_component *c, const char *name, char *pod, char *container)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->pod = pod;
	c->container = container;
}

/* The kube transport itself refuses a variable name that is not one:
 * nothing unvalidated reaches the pod's shell, whoever built the command. */
static void kube_refuses_bad_pod_variable(void **state)
{
	cJSON *conf = cJSON_Parse("{\"type\": \"kube\", \"binary\": \"echo\"}");
	tsarc_transport *tr = NULL;
	tsarc_component c;
	tsarc_cmd cmd;
	char *out = NULL;
	int rc;

	(void)state;
	assert_int_equal(tsarc_transport_kube_new(&tr, conf), 0);
	located(&c, "x", "pod-1", "c");
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_cmd_arg(&cmd, "true"), 0);
	assert_int_equal(tsarc_cmd_pod_env(&cmd, "MYSQL_PWD", "X\"; touch /tmp/p; \""), 0);
	rc = tr->capture(tr, &c, &cmd, 4096, &out);
	if (rc == 0)
		fail_msg("the script went to the pod: %s", out);
	assert_int_equal(rc, TSARC_EINVAL);
	tsarc_cmd_free(&cmd);
	tr->free(tr);
	cJSON_Delete(conf);
}

/* Children get an allow-listed environment: never the repository's or the
 * store's credentials, nor another component's password. */
static void children_get_no_secrets(void **state)
{
	static const char *const secrets[] = {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_ACCESS_KEY_ID", "TSARC_PASSWORD", "TSARC_PASSWORD_FILE",
		"TSARC_NEW_PASSWORD", "SYSTEM_DB_PASSWORD", NULL};
	char *argv[] = {"env", NULL}, *add[] = {"MYSQL_PWD=mapped", NULL}, *out = NULL;
	char err[256];
	int code;
	size_t i;

	(void)state;
	for (i = 0; secrets[i]; i++)
		assert_int_equal(setenv(secrets[i], "s3cr3t-value", 1), 0);
	assert_int_equal(setenv("LC_TIME", "C", 1), 0);
	assert_int_equal(tsarc_proc_capture(argv, add, 1 << 20, &out, NULL, &code, err,
		sizeof(err)), 0);
	assert_int_equal(code, 0);
	if (strstr(out, "s3cr3t-value"))
		fail_msg("a secret reached the child:\n%s", out);
	assert_non_null(strstr(out, "PATH="));
	assert_non_null(strstr(out, "LC_TIME=C"));
	assert_non_null(strstr(out, "MYSQL_PWD=mapped"));
	free(out);
	for (i = 0; secrets[i]; i++)
		unsetenv(secrets[i]);
}

/* The error of `sh -c script` (failing) run with `hide`: what stderr
 * brought into a message. */
static const char *failed_child_message(const char *script, char **hide)
{
	char *argv[] = {"sh", "-c", (char *)script, NULL};
	tsarc_proc p;

	assert_non_null(hide);
	tsarc_proc_init(&p);
	p.hide = (const char *const *)hide;
	assert_int_equal(tsarc_proc_spawn(&p, argv, NULL), 0);
	assert_int_not_equal(tsarc_proc_finish(&p, "the child"), 0);
	return tsarc_error_last()->message;
}

/* How a child ended, said the same way by every report of it: a signal
 * by its number and name. Before, a child a stop's signal killed was said
 * to have "exited with status -1" (tsarc_proc_capture's exit code for a
 * signal), a hook's report among them. */
static void child_end_named(void **state)
{
	char *argv[] = {"sh", "-c", "kill -TERM $$", NULL}, *out = NULL, err[256], ended[64];
	int status;

	(void)state;
	assert_int_equal(tsarc_proc_capture(argv, NULL, 4096, &out, NULL, &status, err,
		sizeof(err)), 0);
	free(out);
	assert_string_equal(tsarc_proc_ended(status, ended, sizeof(ended)),
		"killed by signal 15 (SIGTERM)");
	argv[2] = "exit 3";
	assert_int_equal(tsarc_proc_capture(argv, NULL, 4096, &out, NULL, &status, err,
		sizeof(err)), 0);
	free(out);
	assert_string_equal(tsarc_proc_ended(status, ended, sizeof(ended)), "exited with status 3");
	assert_string_equal(tsarc_proc_ended(-1, ended, sizeof(ended)), "could not be waited for");
	assert_non_null(strstr(failed_child_message("kill -KILL $$", (char *[]){NULL}),
		"the child: killed by signal 9 (SIGKILL)"));
	tsarc_error_clear();
}

/* A child's stderr reaches a message without the values it was told to
 * hide (kubectl's error for a refused apply holds a Secret's values), nor
 * a line too long to be looked at whole; the lines around them come. */
static void stderr_hides_secret_values(void **state)
{
	cJSON *list = cJSON_Parse("{\"kind\": \"List\", \"items\": ["
		"{\"kind\": \"Secret\", \"data\": {\"k\": \"bG9uZy1zZWNyZXQtdmFsdWUtWnE=\","
		"\"short\": \"c3lzdGVt\"}, \"stringData\": {\"s\": \"plain-Wq\"}},"
		"{\"kind\": \"ConfigMap\", \"data\": {\"c\": \"not-a-secret-value\"}}]}");
	char **hide = NULL;
	const char *msg;

	(void)state;
	assert_non_null(list);
	assert_int_equal(tsarc_secret_values(list, &hide), 0);
	msg = failed_child_message("exec >&2; echo 'before'; echo 'x bG9uZy1zZWNyZXQtdmFsdWUtWnE= y'; "
		"echo 'decoded long-secret-value-Zq'; echo 'raw plain-Wq'; "
		"head -c 70000 /dev/zero | tr '\\0' a; echo; echo 'system-app is invalid'; "
		"echo 'a not-a-secret-value'; exit 3", hide);
	if (strstr(msg, "bG9uZy1zZWNyZXQtdmFsdWUtWnE=") || strstr(msg, "long-secret-value-Zq") ||
		strstr(msg, "plain-Wq") || strstr(msg, "aaaaaaaaaa"))
		fail_msg("a hidden value or a cut line is in the message:\n%.600s", msg);
	/* A short decoded value ("system") hides nothing: the reason stays. */
	assert_non_null(strstr(msg, "before"));
	assert_non_null(strstr(msg, "system-app is invalid"));
	assert_non_null(strstr(msg, "a not-a-secret-value"));
	assert_non_null(strstr(msg, "exited with status 3"));
	assert_non_null(strstr(msg, "(a line holding a value tsarc does not show)"));
	tsarc_error_clear();
	tsarc_secret_values_free(hide);
	cJSON_Delete(list);
}

/* A configuration's lines stay out too, also as kubectl prints them
 * inside a JSON patch (quoted once) and its last-applied annotation
 * (twice): a password with a quote in it is escaped there. */
static void stderr_hides_config_lines(void **state)
{
	char **hide = NULL;
	const char *msg;

	(void)state;
	assert_int_equal(tsarc_hide_text_lines(&hide, "port 6379\nrequirepass \"q-Pw7x\"\nsave 60\n"),
		0);
	msg = failed_child_message(
		"exec >&2; printf '%s\\n' '{\"data\": \"requirepass \\\"q-Pw7x\\\"\\n\"}' "
		"'\"requirepass \\\\\\\"q-Pw7x\\\\\\\"\"' 'save 60'; exit 1", hide);
	if (strstr(msg, "q-Pw7x"))
		fail_msg("a line of the configuration is in the message:\n%.600s", msg);
	assert_non_null(strstr(msg, "save 60")); /* too short to be hidden */
	tsarc_error_clear();
	tsarc_secret_values_free(hide);
}

/* kubectl is written in Go, whose JSON escapes &, < and > as \u0026,
 * \u003c and \u003e: a password holding one is printed so in the patch. */
static void stderr_hides_config_lines_go_escaped(void **state)
{
	char **hide = NULL;
	const char *msg;

	(void)state;
	assert_int_equal(tsarc_hide_text_lines(&hide, "requirepass a&b<c>d-Lm3\n"), 0);
	msg = failed_child_message(
		"exec >&2; printf '%s\\n' '{\"data\": \"requirepass a\\u0026b\\u003cc\\u003ed-Lm3\\n\"}' '\"requirepass a\\\\u0026b\\\\u003cc\\\\u003ed-Lm3\"'; exit 1", hide);
	if (strstr(msg, "Lm3"))
		fail_msg("a line of the configuration is in the message:\n%.600s", msg);
	tsarc_error_clear();
	tsarc_secret_values_free(hide);
}

/* Runs `cmd` through `tr` as a producer; its stdout, NUL-terminated. */
static char *run_producer(tsarc_transport *tr, tsarc_component *c, const tsarc_cmd *cmd)
{
	tsarc_proc p;
	char *buf = calloc(1, 65536);
	size_t len = 0;
	ssize_t n;
	int rc;

	assert_non_null(buf);
	tsarc_proc_init(&p);
	rc = tr->spawn(tr, c, cmd, &p);
	if (rc)
		fail_msg("spawn: %s", tsarc_error_last()->message);
	while ((n = read(p.out_fd, buf + len, 65535 - len)) > 0)
		len += (size_t)n;
	if (tsarc_proc_finish(&p, "test producer"))
		fail_msg("%s", tsarc_error_last()->message);
	return buf;
}

/* The MySQL password reaches a local client through an option file that
 * exists in memory only (nothing in TMPDIR to survive a SIGTERM), quoted so
 * that a newline, quotes, backslashes, '#' and blanks survive. MariaDB's own
 * option parser (my_print_defaults) reads it back. */
static void mysql_option_file_in_memory(void **state)
{
	static const char pw[] = " p\"w#;\\x\nsecond line\t ";
	tsarc_transport *tr = local_transport("/");
	tsarc_component c;
	tsarc_cmd cmd;
	char *out, want[256];

	(void)state;
	if (access("/usr/bin/my_print_defaults", X_OK))
		skip();
	memset(&c, 0, sizeof(c));
	c.name = "system-mysql";
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_cmd_arg(&cmd, "my_print_defaults"), 0);
	assert_int_equal(tsarc_cmd_mysql_password(&cmd, pw), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "client"), 0);
	out = run_producer(tr, &c, &cmd);
	snprintf(want, sizeof(want), "--password=%s\n", pw);
	assert_string_equal(out, want);
	free(out);
	/* No file of it anywhere: the argv names no path on disk. */
	for (size_t i = 0; i < cmd.argc; i++)
		if (!strncmp(cmd.argv[i], "--defaults-file=", 16))
			assert_true(!strncmp(cmd.argv[i] + 16, "/dev/fd/", 8));
	tsarc_cmd_free(&cmd);
	tr->free(tr);
}

/* An operator's ~/.my.cnf with a [client] password of its own (for
 * another server, perhaps) never replaces the Secret's: the client would
 * send it to the Secret's server and fail. Its other settings (its TLS
 * CA, say) still reach the client. */
static void mysql_home_option_file_keeps_our_password(void **state)
{
	char *home = tmpdir_new(), path[4200], *out, want[256], *old_home = NULL;
	tsarc_transport *tr = local_transport("/");
	const char *last;
	tsarc_component c;
	tsarc_cmd cmd;
	FILE *f;

	(void)state;
	if (access("/usr/bin/my_print_defaults", X_OK))
		skip();
	snprintf(path, sizeof(path), "%s/.my.cnf", home);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "[client]\npassword=operators-own\nssl-ca=/etc/ssl/operator-ca.pem\n");
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	if (getenv("HOME"))
		old_home = strdup(getenv("HOME"));
	assert_int_equal(setenv("HOME", home, 1), 0);
	memset(&c, 0, sizeof(c));
	c.name = "system-mysql";
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_cmd_arg(&cmd, "my_print_defaults"), 0);
	assert_int_equal(tsarc_cmd_mysql_password(&cmd, "the-secrets"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "client"), 0);
	out = run_producer(tr, &c, &cmd);
	/* The client takes the last value of an option. */
	last = strstr(out, "--password=");
	while (last && strstr(last + 1, "--password="))
		last = strstr(last + 1, "--password=");
	snprintf(want, sizeof(want), "--password=%s\n", "the-secrets");
	assert_non_null(last);
	assert_string_equal(last, want);
	assert_non_null(strstr(out, "--ssl-ca=/etc/ssl/operator-ca.pem\n"));
	free(out);
	tsarc_cmd_free(&cmd);
	if (old_home)
		assert_int_equal(setenv("HOME", old_home, 1), 0);
	else
		unsetenv("HOME");
	free(old_home);
	tr->free(tr);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(home), 0);
	free(home);
}

/* A password from this host (password_file, password_env, a Secret's URL)
 * for a tool in a pod: it goes through the exec's stdin into a variable of
 * the pod's shell, never on kubectl's command line and never as a path of
 * this host's file system. */
static void kube_host_password_through_stdin(void **state)
{
	static const char pw[] = "pw 'q' \"d\" $HOME `x` \\ end";
	char *dir = tmpdir_new(), argv_log[4200], *out, *log;
	tsarc_transport *tr;
	tsarc_component c;
	tsarc_cmd cmd;

	(void)state;
	snprintf(argv_log, sizeof(argv_log), "%s/argv.log", dir);
	tr = kube_double(dir, argv_log, 0);
	located(&c, "system-mysql", "system-mysql-1", "system-mysql");
	/* mysql: the option file of this host becomes MYSQL_PWD in the pod. */
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_cmd_arg(&cmd, "sh"), 0);
	assert_int_equal(tsarc_cmd_mysql_password(&cmd, pw), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "-c"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "printf '%s|' \"$MYSQL_PWD\"; cat"), 0);
	out = run_producer(tr, &c, &cmd);
	assert_string_equal(out, "pw 'q' \"d\" $HOME `x` \\ end|");
	free(out);
	tsarc_cmd_free(&cmd);
	/* Any other variable of the command the same way (PGPASSWORD). */
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_cmd_arg(&cmd, "sh"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "-c"), 0);
	assert_int_equal(tsarc_cmd_arg(&cmd, "printf '%s|' \"$PGPASSWORD\""), 0);
	assert_int_equal(tsarc_cmd_env(&cmd, "PGPASSWORD", pw), 0);
	out = run_producer(tr, &c, &cmd);
	assert_string_equal(out, "pw 'q' \"d\" $HOME `x` \\ end|");
	free(out);
	tsarc_cmd_free(&cmd);
	log = read_text(argv_log);
	/* Pieces of the password (the pod's script names its end mark). */
	assert_null(strstr(log, " end"));
	assert_null(strstr(log, "`x`"));
	assert_null(strstr(log, "defaults-file"));
	free(log);
	/* A newline cannot be sent as one line: refused, nothing run. */
	tsarc_cmd_init(&cmd);
	assert_int_equal(tsarc_cmd_arg(&cmd, "true"), 0);
	assert_int_equal(tsarc_cmd_env(&cmd, "PGPASSWORD", "a\nb"), 0);
	{
		tsarc_proc p;
		tsarc_proc_init(&p);
		assert_int_equal(tr->spawn(tr, &c, &cmd, &p), TSARC_EINVAL);
	}
	tsarc_cmd_free(&cmd);
	tr->free(tr);
	rm_rf(dir);
	free(dir);
}

/* A producer thread's error reaches the report whole: its last words say
 * what was left untouched ("nothing was read or written"), and a message
 * of a managed service's long host name and two quoted refusals runs past
 * 512 bytes (the writer's buffer was that, where errors hold 1024). */
static int long_error_writer(int fd, void *ctx, const atomic_int *stop, char *err, size_t errsz)
{
	char msg[900];

	(void)fd;
	(void)ctx;
	(void)stop;
	memset(msg, 'x', sizeof(msg));
	snprintf(msg + 700, sizeof(msg) - 700, " nothing was read or written");
	snprintf(err, errsz, "%s", msg);
	return TSARC_EIO;
}

static void writer_error_reported_whole(void **state)
{
	tsarc_proc p;
	char buf[64];
	const char *m;

	(void)state;
	tsarc_proc_init(&p);
	assert_int_equal(tsarc_proc_start_writer(&p, long_error_writer, NULL), 0);
	while (read(p.out_fd, buf, sizeof(buf)) > 0)
		;
	assert_int_equal(tsarc_proc_finish(&p, "the writer"), TSARC_EIO);
	m = tsarc_error_last()->message;
	/* The writer's 'x' filler follows the prefix, and its last words end the message. */
	assert_non_null(strstr(m, "the writer: xxx"));
	assert_non_null(strstr(m, "x nothing was read or written"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(local_apply_planted_symlink),
		cmocka_unit_test(local_apply_hostile_kind_and_name),
		cmocka_unit_test(kind_of_type),
		cmocka_unit_test(api_version_syntax),
		cmocka_unit_test(object_of_type),
		cmocka_unit_test(config_refuses_bad_variable_names),
		cmocka_unit_test(restore_refuses_hostile_metadata),
		cmocka_unit_test(kube_refuses_bad_pod_variable),
		cmocka_unit_test(children_get_no_secrets),
		cmocka_unit_test(child_end_named),
		cmocka_unit_test(stderr_hides_secret_values),
		cmocka_unit_test(stderr_hides_config_lines),
		cmocka_unit_test(stderr_hides_config_lines_go_escaped),
		cmocka_unit_test(mysql_option_file_in_memory),
		cmocka_unit_test(mysql_home_option_file_keeps_our_password),
		cmocka_unit_test(kube_host_password_through_stdin),
		cmocka_unit_test(writer_error_reported_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
