/* Unit tests of the deployment backup's pure parts: the profile and config
 * merge and its validation, URLs of database Secrets, shell
 * quoting and the sanitizing of resources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component.h"
#include "config.h"
#include "deploy.h"
#include "kind.h"
#include "tsarc/errors.h"

static void url_cases(void **state)
{
	static const struct {
		const char *text, *scheme, *user, *password, *host, *path;
		int port;
	} cases[] = {
		{"mysql2://root:s3cret@system-mysql/system", "mysql2", "root", "s3cret",
			"system-mysql", "system", 0},
		{"postgresql://zync:p%40ss%2Fw@zync-database:5432/zync_production", "postgresql",
			"zync", "p@ss/w", "zync-database", "zync_production", 5432},
		{"redis://:pw@backend-redis:6379/0", "redis", "", "pw", "backend-redis", "0", 6379},
		{"redis://system-redis:6379/1", "redis", NULL, NULL, "system-redis", "1", 6379},
		{"redis://u:a@b@[::1]:7000", "redis", "u", "a@b", "::1", NULL, 7000},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tsarc_url u;
		assert_int_equal(tsarc_url_parse(cases[i].text, &u), 0);
		assert_string_equal(u.scheme, cases[i].scheme);
		assert_string_or_null(u.user, cases[i].user);
		assert_string_or_null(u.password, cases[i].password);
		assert_string_equal(u.host, cases[i].host);
		assert_string_or_null(u.path, cases[i].path);
		assert_int_equal(u.port, cases[i].port);
		tsarc_url_free(&u);
	}
}

static void url_errors_hide_the_password(void **state)
{
	/* The last four: a password holding '/', '?' or '#' unencoded, once
	 * read as host "root" and a path or query "hunter2@host/...". */
	const char *bad[] = {"system-mysql:3306", "mysql2://root:hunter2@host:99999/x",
		"redis://root:hunter2@[::1/0", "mysql2://root:/hunter2@host/system",
		"postgresql://zync:12/hunter2@host/zync_production", "redis://u:12?hunter2@h:6379/1",
		"redis://u:#hunter2@h:6379/1"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tsarc_url u;
		assert_int_equal(tsarc_url_parse(bad[i], &u), TSARC_ECONFIG);
		assert_null(strstr(tsarc_error_last()->message, "hunter2"));
	}
}

static void shell_quote(void **state)
{
	char *q;

	(void)state;
	assert_int_equal(tsarc_shell_quote("it's $HOME", &q), 0);
	assert_string_equal(q, "'it'\\''s $HOME'");
	free(q);
}

static void merge_over_builtin_profile(void **state)
{
	tsarc_deploy *d;
	const cJSON *eff, *comps, *mysql;

	(void)state;
	assert_int_equal(tsarc_deploy_load_text(&d,
		"{\"transport\": {\"type\": \"kube\", \"namespace\": \"3scale\"},"
		" \"parallel\": 2,"
		" \"components\": {"
		"   \"system-mysql\": {\"selector\": \"app=mysql\", \"container\": \"mysql\"},"
		"   \"zync-database\": {\"enabled\": false},"
		"   \"oracle\": {\"kind\": \"exec\", \"command\": [\"expdp\"], \"stream\": \"oracle.dmp\"}}}",
		"test"), 0);
	eff = tsarc_deploy_effective(d);
	assert_string_equal(tsarc_spec_str(eff, "profile"), "3scale");
	assert_string_equal(tsarc_spec_str(cJSON_GetObjectItem(eff, "transport"), "binary"), "oc");
	assert_string_equal(tsarc_spec_str(cJSON_GetObjectItem(eff, "transport"), "namespace"),
		"3scale");
	comps = cJSON_GetObjectItem(eff, "components");
	/* 13 Secrets and 7 ConfigMaps (3 of them only up to 2.15). */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(comps,
		"secrets"), "names")), 13);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(comps,
		"configmaps"), "names")) + cJSON_GetArraySize(cJSON_GetObjectItem(
		cJSON_GetObjectItem(comps, "configmaps"), "optional_names")), 7);
	mysql = cJSON_GetObjectItem(comps, "system-mysql");
	assert_string_equal(tsarc_spec_str(mysql, "selector"), "app=mysql");
	assert_string_equal(tsarc_spec_str(mysql, "container"), "mysql");
	/* Untouched fields of the profile stay. */
	assert_string_equal(tsarc_spec_str(mysql, "default_database"), "system");
	assert_string_equal(tsarc_spec_str(mysql, "pod_password_env"), "MYSQL_ROOT_PASSWORD");
	assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(mysql, "restore"), "order"));
	assert_false(tsarc_spec_bool(cJSON_GetObjectItem(comps, "zync-database"), "enabled", 1));
	assert_string_equal(tsarc_spec_str(cJSON_GetObjectItem(comps, "oracle"), "stream"),
		"oracle.dmp");
	/* Default stream names are filled in. */
	assert_string_equal(tsarc_spec_str(cJSON_GetObjectItem(comps, "backend-redis"), "stream"),
		"backend-redis.rdb");
	assert_int_equal(d->parallel, 2);
	tsarc_deploy_free(d);
}

/* The 3scale profile's hooks re-sync from the system database whenever it
 * is restored (MySQL or PostgreSQL): backend-redis, zync, and the search
 * index of system-searchd, which no backup holds (its volume is derived
 * from the system database), so after a restore it is the old one's or,
 * in a new cluster, empty. */
static void profile_resyncs_after_the_system_database(void **state)
{
	static const char *const tasks[] = {"backend:storage:enqueue_rewrite",
		"zync:resync:domains", "searchd:enqueue"};
	tsarc_deploy *d;
	const cJSON *hooks, *h;
	size_t i, found;

	(void)state;
	assert_int_equal(tsarc_deploy_load_text(&d,
		"{\"transport\": {\"type\": \"kube\", \"namespace\": \"3scale\"}}", "test"), 0);
	hooks = cJSON_GetObjectItem(tsarc_deploy_effective(d), "post_restore");
	for (i = 0; i < sizeof(tasks) / sizeof(tasks[0]); i++) {
		found = 0;
		cJSON_ArrayForEach(h, hooks) {
			const cJSON *cmd = cJSON_GetObjectItem(h, "command");
			const cJSON *last = cJSON_GetArrayItem(cmd, cJSON_GetArraySize(cmd) - 1);
			if (!cJSON_IsString(last) || strcmp(last->valuestring, tasks[i]))
				continue;
			found++;
			assert_string_equal(tsarc_spec_str(h, "workload"), "system-sidekiq");
			assert_true(tsarc_str_in_array(cJSON_GetObjectItem(h, "after"), "system-mysql"));
			assert_true(tsarc_str_in_array(cJSON_GetObjectItem(h, "after"),
				"system-postgresql"));
		}
		if (found != 1)
			fail_msg("the 3scale profile runs %s %zu times after a restore", tasks[i], found);
	}
	tsarc_deploy_free(d);
}

static int upper_only(const char *s)
{
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(s);
}

/* A table of field rules (fields.c): each shape, a validator and none,
 * absent fields pass, and the first broken row in table order is the one
 * reported, with its path and rule. */
static void check_fields_table(void **state)
{
	static const tsarc_field_rule rules[] = {
		{"pw", TSARC_FIELD_ENV, NULL, NULL},
		{"vars", TSARC_FIELD_ENV_MAP, NULL, NULL},
		{"word", TSARC_FIELD_STRING, upper_only, "capital letters"},
		{"any", TSARC_FIELD_STRING, NULL, NULL},
		{"list", TSARC_FIELD_STRINGS, upper_only, "capital letters"},
		{"anylist", TSARC_FIELD_STRINGS, NULL, NULL},
		{NULL, TSARC_FIELD_STRING, NULL, NULL},
	};
	static const struct {
		const char *json, *message; /* message NULL: accepted */
	} cases[] = {
		{"{}", NULL},
		{"{\"pw\": \"A_1\", \"vars\": {\"A\": \"B\"}, \"word\": \"OK\", \"any\": \"x y\","
			" \"list\": [\"A\", \"B\"], \"anylist\": [\"a b\"], \"other\": 1}", NULL},
		{"{\"pw\": \"1A\"}", "c.pw must be "},
		{"{\"vars\": []}", "c.vars must be an object mapping variable names"},
		{"{\"vars\": {\"A\": \"b c\"}}", "c.vars: every value must be "},
		{"{\"word\": \"lower\"}", "c.word must be capital letters"},
		{"{\"any\": 3}", "c.any must be a string"},
		{"{\"list\": [\"A\", \"b\"]}", "c.list[1] must be capital letters"},
		{"{\"anylist\": \"A\"}", "c.anylist must be an array of strings"},
		{"{\"anylist\": [1]}", "c.anylist[0] must be a string"},
		/* Both broken: the earlier row of the table is reported. */
		{"{\"list\": [\"x\"], \"word\": \"x\"}", "c.word must be capital letters"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *obj = cJSON_Parse(cases[i].json);
		int rc;

		assert_non_null(obj);
		tsarc_error_clear();
		rc = tsarc_check_fields(obj, rules, TSARC_EUNSAFE, "c");
		if (!cases[i].message) {
			assert_int_equal(rc, 0);
		} else {
			assert_int_equal(rc, TSARC_EUNSAFE);
			if (!strstr(tsarc_error_last()->message, cases[i].message))
				fail_msg("case %zu: '%s' lacks '%s'", i, tsarc_error_last()->message,
					cases[i].message);
		}
		cJSON_Delete(obj);
	}
}

static void config_errors(void **state)
{
	static const struct {
		const char *text, *message;
	} cases[] = {
		{"[]", "the top level must be a JSON object"},
		{"{\"transport\": {\"type\": \"ssh\"}}", "transport.type must be"},
		{"{\"transport\": {\"type\": \"kube\", \"selector_stile\": \"x\"}}",
			"unknown field 'selector_stile'"},
		{"{\"profile\": \"4scale\", \"transport\": {\"type\": \"local\"}}",
			"no built-in profile '4scale'"},
		{"{\"transport\": {\"type\": \"local\"}, \"parallel\": 0}", "parallel must be"},
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"x\": {\"kind\": \"mongo\"}}}",
			"cfg.json: components.x.kind must be one of"},
		/* A port is checked when the config loads, not when it runs
		 * (after other components). */
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"backend-redis\": "
		 "{\"port\": 70000}}}", "cfg.json: component 'backend-redis': port must be a port number"},
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"system-mysql\": "
		 "{\"port\": \"3306\", \"user\": null}}}", NULL},
		/* A logical Redis backup is tsarc's own client; "tool" and
		 * "options" ask for redis-cli, which reads the RDB only: it was
		 * refused once the backup ran, telling an external component
		 * to be made external. */
		{"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		 "\"r\": {\"kind\": \"redis\", \"external\": true, \"host\": \"h\", \"mode\": \"logical\","
		 " \"tool\": \"redis-cli\"}}}", "cfg.json: component 'r': \"mode\": \"logical\" is tsarc's "
			"own client, and \"tool\" and \"options\" ask for redis-cli"},
		{"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		 "\"r\": {\"kind\": \"redis\", \"external\": true, \"host\": \"h\", \"mode\": \"logical\","
		 " \"options\": [\"--no-auth-warning\"]}}}", "\"mode\": \"logical\" is tsarc's own client"},
		{"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		 "\"r\": {\"kind\": \"redis\", \"external\": true, \"host\": \"h\", \"mode\": \"rdb\","
		 " \"tool\": \"redis-cli\"}}}", NULL},
		/* The file and the field's path, as every mistake of the
		 * configuration (it said "transport: selector_style ..."). */
		{"{\"transport\": {\"type\": \"kube\", \"selector_style\": \"deployments\"}}",
			"cfg.json: transport.selector_style must be auto, deployment (3scale 2.15+) or "
			"deploymentConfig (2.14 and older), not 'deployments'"},
		/* An s3files endpoint (config.md: http(s)://HOST[:PORT]) when the
		 * config loads: it was found only once the backup ran. */
		{"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		 "\"b\": {\"kind\": \"s3files\", \"bucket\": \"x\", \"endpoint\": \"127.0.0.1:7480\"}}}",
			"cfg.json: component 'b': \"endpoint\" must be http://HOST[:PORT] or https://HOST[:PORT]"},
		{"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		 "\"b\": {\"kind\": \"s3files\", \"bucket\": \"x\", \"endpoint\": \"http://h:7480/\"}}}",
			NULL},
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"a\": {\"kind\": \"exec\","
		 " \"command\": [\"x\"], \"stream\": \"secrets.json\"}}}", "both write stream 'secrets.json'"},
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"system-storage\": "
		 "{\"path\": null}}}", "needs \"path\""},
		/* An exec component's variables: by the rows every component's are. */
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"a\": {\"kind\": \"exec\","
		 " \"command\": [\"x\"], \"env\": [\"A\"]}}}",
			"cfg.json: components.a.env must be an object mapping variable names"},
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"a\": {\"kind\": \"exec\","
		 " \"command\": [\"x\"], \"pod_env\": {\"A\": \"\"}}}}",
			"cfg.json: components.a.pod_env: every value must be a variable name"},
		{"{\"transport\": {\"type\": \"local\"}, \"extra\": 1}", "unknown field 'extra'"},
		/* A default stream name (a -> a.rdb) against one given to another. */
		{"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		 "\"a\": {\"kind\": \"redis\"}, \"b\": {\"kind\": \"redis\", \"stream\": \"a.rdb\"}}}",
			"both write stream 'a.rdb'"},
		/* Stream names are shown to operators: no control characters, and
		 * UTF-8; a default one (a component's name) too. */
		{"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		 "\"a\": {\"kind\": \"exec\", \"command\": [\"x\"], \"stream\": \"a\\u001b[2J.out\"}}}",
			"cfg.json: components.a.stream 'a?[2J.out': control characters are not allowed"},
		{"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		 "\"a\": {\"kind\": \"exec\", \"command\": [\"x\"], \"stream\": \"a\xff.out\"}}}",
			"cfg.json: components.a.stream 'a?.out': not valid UTF-8"},
		{"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		 "\"r\\u009b\": {\"kind\": \"redis\"}}}",
			"cfg.json: component name 'r?': control characters are not allowed"},
		{"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		 "\"\": {\"kind\": \"redis\"}}}", "component name '' must be non-empty"},
		{"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		 "\"a,b\": {\"kind\": \"redis\"}}}", "without spaces, commas or slashes"},
		{"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		 "\"a\": {\"kind\": \"redis\"}, \"a\": {\"kind\": \"exec\", \"command\": [\"x\"]}}}",
			"component 'a' is given twice"},
		/* Every transport name is one the registry knows: a hook's and a
		 * component's too, never a silent default. */
		{"{\"transport\": {\"type\": \"local\"}, \"post_restore\": [{\"command\": [\"true\"],"
		 " \"transport\": \"kubee\"}]}",
			"cfg.json: post_restore[0].transport must be one of local, kube, not 'kubee'"},
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"system-mysql\": "
		 "{\"transport\": \"ssh\"}}}",
			"cfg.json: components.system-mysql.transport must be one of local, kube, not 'ssh'"},
		{"{\"transport\": {\"type\": \"ssh\"}}",
			"cfg.json: transport.type must be one of local, kube, not 'ssh'"},
		/* Hooks are checked when the config loads, not when they run. */
		{"{\"transport\": {\"type\": \"local\"}, \"post_restore\": [{\"command\": []}]}",
			"cfg.json: post_restore[0].command is required"},
		{"{\"transport\": {\"type\": \"local\"}, \"post_restore\": [{\"command\": [\"x\"],"
		 " \"after\": [1]}]}", "cfg.json: post_restore[0].after[0] must be a string"},
		/* A name in "after" that no component has (a typo) would keep the
		 * hook from ever running, the restore saying nothing of it. */
		{"{\"transport\": {\"type\": \"local\"}, \"post_restore\": [{\"command\": [\"x\"],"
		 " \"after\": [\"system-mysql\", \"backend-rediss\"]}]}",
			"cfg.json: post_restore[0].after[1]: no component is named 'backend-rediss'"},
		/* Restore recipes: every field's type, with its JSON path. */
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"system-mysql\": "
		 "{\"restore\": {\"order\": \"first\"}}}}",
			"cfg.json: components.system-mysql.restore.order must be a number"},
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"secrets\": "
		 "{\"restore\": {\"never_apply\": \"hashed-secret-data\"}}}}",
			"cfg.json: components.secrets.restore.never_apply must be an array"},
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"secrets\": "
		 "{\"restore\": {\"never_apply\": [\"Bad Name\"]}}}}",
			"cfg.json: components.secrets.restore.never_apply[0] must be"},
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"apimanager\": "
		 "{\"restore\": {\"domain_fields\": [\"spec.wildcardDomain\", \"spec..x\"]}}}}",
			"cfg.json: components.apimanager.restore.domain_fields[1] must be field names "
			"joined by dots"},
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"system-mysql\": "
		 "{\"restore\": {\"action\": \"load\"}}}}",
			"cfg.json: components.system-mysql.restore.action: unknown restore action 'load'"},
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"backend-redis\": "
		 "{\"restore\": {\"start_command\": [\"redis-server\", 7]}}}}",
			"cfg.json: components.backend-redis.restore.start_command[1] must be a string"},
		{"{\"transport\": {\"type\": \"local\"}, \"components\": {\"backend-redis\": "
		 "{\"enabled\": \"yes\"}}}", "cfg.json: components.backend-redis.enabled must be true or false"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tsarc_deploy *d = NULL;
		int rc = tsarc_deploy_load_text(&d, cases[i].text, "cfg.json");
		if (!cases[i].message) {
			/* Valid (a port as a number's text, null for absent, an
			 * endpoint with a trailing slash): it loads. */
			assert_int_equal(rc, 0);
			tsarc_deploy_free(d);
			continue;
		}
		assert_int_equal(rc, TSARC_ECONFIG);
		assert_null(d);
		if (!strstr(tsarc_error_last()->message, cases[i].message))
			fail_msg("case %zu: '%s' does not say '%s'", i, tsarc_error_last()->message,
				cases[i].message);
	}
}

/* An unknown kind is answered with the registry's own list: every kind
 * registered in kinds.c is named, so a new kind cannot be left out. */
static void unknown_kind_names_every_kind(void **state)
{
	tsarc_deploy *d = NULL;
	const tsarc_kind *k;
	const char *msg;
	size_t i;

	(void)state;
	assert_int_equal(tsarc_deploy_load_text(&d, "{\"transport\": {\"type\": \"local\"}, "
		"\"components\": {\"x\": {\"kind\": \"mongo\"}}}", "cfg.json"), TSARC_ECONFIG);
	msg = tsarc_error_last()->message;
	assert_non_null(strstr(msg, "cfg.json: components.x.kind must be one of mysql, "));
	for (i = 0; (k = tsarc_kind_at(i)); i++)
		if (!strstr(msg, k->name))
			fail_msg("'%s' does not name kind %s", msg, k->name);
	assert_true(i >= 7);
}

/* Every kind names the fields its components may have (kind.h, fields),
 * and a component of any kind with another field is refused by name. */
static void every_kind_refuses_unknown_fields(void **state)
{
	const tsarc_kind *k;
	char text[300];
	size_t i;

	(void)state;
	for (i = 0; (k = tsarc_kind_at(i)); i++) {
		tsarc_deploy *d = NULL;
		assert_non_null(k->fields);
		snprintf(text, sizeof(text), "{\"profile\": \"none\", \"transport\": {\"type\": "
			"\"local\"}, \"components\": {\"c\": {\"kind\": \"%s\", \"colour\": 1}}}",
			k->name);
		assert_int_equal(tsarc_deploy_load_text(&d, text, "cfg.json"), TSARC_ECONFIG);
		assert_null(d);
		if (!strstr(tsarc_error_last()->message, "component 'c': unknown field 'colour'"))
			fail_msg("kind %s: '%s'", k->name, tsarc_error_last()->message);
	}
	assert_true(i >= 7);
}

/* What a step needs from its merged recipe, asked of the transport's
 * capabilities: the field naming a server's configuration is the one the
 * transport keeps it by, a workload to roll out only where workloads are
 * restarted. */
static void recipe_requirements(void **state)
{
	static const struct {
		const char *transport, *action, *kind, *spec, *message;
	} cases[] = {
		{"local", "exec", "exec", "{\"restore\": {}}", "cfg: components.x.restore.command is required"},
		{"kube", "exec", "exec", "{\"restore\": {\"command\": []}}",
			"cfg: components.x.restore.command is required"},
		{"local", "exec", "exec", "{\"restore\": {\"command\": [\"cat\"]}}", NULL},
		{"local", "replace-tree", "files", "{}", "cfg: components.x.path (or cfg: "
			"components.x.restore.path) is required"},
		{"kube", "replace-tree", "files", "{\"path\": \"/data\"}", NULL},
		{"local", "redis-rdb", "redis", "{\"mode\": \"rdb\", \"restore\": {\"config_map\": "
			"\"redis-config\"}}", "cfg: components.x.restore.config_file is required"},
		/* auto with no configuration file here: the online restore, no swap. */
		{"local", "redis-rdb", "redis", "{\"restore\": {\"config_map\": \"redis-config\"}}", NULL},
		{"local", "redis-rdb", "redis", "{\"restore\": {\"config_file\": \"/etc/r.conf\"}}", NULL},
		{"kube", "redis-rdb", "redis", "{\"restore\": {\"config_file\": \"/etc/r.conf\"}}",
			"cfg: components.x.restore.config_map is required"},
		{"kube", "redis-rdb", "redis", "{\"restore\": {\"config_map\": \"redis-config\"}}",
			"cfg: components.x.restore.rollout (or cfg: components.x.workload) is required"},
		{"kube", "redis-rdb", "redis", "{\"workload\": \"backend-redis\", \"restore\": "
			"{\"config_map\": \"redis-config\"}}", NULL},
		{"local", "sql", "redis", "{}", "cfg: components.x.restore.action: action sql needs kind mysql"},
		{"local", "load", "mysql", "{}", "cfg: components.x.restore.action: unknown restore action"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *conf = cJSON_CreateObject(), *spec = cJSON_Parse(cases[i].spec);
		tsarc_transports trs;
		tsarc_transport *tr = NULL;
		tsarc_recipe r;
		int rc;
		memset(&trs, 0, sizeof(trs));
		trs.conf = conf;
		assert_int_equal(tsarc_transports_get(&trs, cases[i].transport, &tr), 0);
		assert_int_equal(tsarc_recipe_parse(cJSON_GetObjectItem(spec, "restore"), TSARC_ECONFIG,
			"cfg: components.x.restore", &r), 0);
		rc = tsarc_recipe_require(&r, cases[i].action, cases[i].kind, spec, tr,
			"cfg: components.x");
		if (!cases[i].message && rc)
			fail_msg("case %zu: %s", i, tsarc_error_last()->message);
		if (cases[i].message && (rc != TSARC_ECONFIG ||
			!strstr(tsarc_error_last()->message, cases[i].message)))
			fail_msg("case %zu: %d '%s' does not say '%s'", i, rc,
				rc ? tsarc_error_last()->message : "", cases[i].message);
		tsarc_transports_dispose(&trs);
		cJSON_Delete(conf);
		cJSON_Delete(spec);
	}
}

static void sanitize_resource(void **state)
{
	cJSON *doc = cJSON_Parse("{\"apiVersion\": \"apps.3scale.net/v1alpha1\", \"kind\": "
		"\"APIManager\", \"metadata\": {\"name\": \"3scale\", \"namespace\": \"a\", \"uid\": \"u\","
		" \"resourceVersion\": \"1\", \"generation\": 3, \"creationTimestamp\": \"t\","
		" \"selfLink\": \"/x\", \"managedFields\": [], \"ownerReferences\": [],"
		" \"clusterName\": \"c\", \"deletionTimestamp\": \"t\", \"deletionGracePeriodSeconds\": 30,"
		" \"annotations\": {\"kubectl.kubernetes.io/last-applied-configuration\": \"{}\"},"
		" \"labels\": {\"app\": \"3scale\", \"secret.apimanager.apps.3scale.net/abc\": \"true\"}},"
		" \"spec\": {\"wildcardDomain\": \"example.com\"}, \"status\": {\"x\": 1}}");
	cJSON *prefixes = cJSON_Parse("[\"secret.apimanager.apps.3scale.net/\"]");
	char *text;

	(void)state;
	tsarc_resource_sanitize(doc, prefixes);
	text = cJSON_PrintUnformatted(doc);
	assert_string_equal(text, "{\"apiVersion\":\"apps.3scale.net/v1alpha1\",\"kind\":"
		"\"APIManager\",\"metadata\":{\"name\":\"3scale\",\"labels\":{\"app\":\"3scale\"}},"
		"\"spec\":{\"wildcardDomain\":\"example.com\"}}");
	free(text);
	cJSON_Delete(doc);
	cJSON_Delete(prefixes);
}

/* A Secret kept for a run is wiped before it is freed: every string, at
 * any depth (data, stringData, metadata), key names aside. */
static void secret_doc_wiped(void **state)
{
	cJSON *doc = cJSON_Parse("{\"kind\": \"Secret\", \"metadata\": {\"name\": \"r\"}, "
		"\"data\": {\"REDIS_PASSWORD\": \"cHc=\"}, \"stringData\": {\"REDIS_SSL_KEY\": "
		"\"-----BEGIN PRIVATE KEY-----\"}, \"list\": [\"x\", {\"y\": \"z\"}]}");
	const char *paths[][3] = {{"kind", NULL, NULL}, {"metadata", "name", NULL},
		{"data", "REDIS_PASSWORD", NULL}, {"stringData", "REDIS_SSL_KEY", NULL}};
	size_t i;

	(void)state;
	assert_non_null(doc);
	tsarc_secret_doc_wipe(doc);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, paths[i][0]);
		if (paths[i][1])
			v = cJSON_GetObjectItemCaseSensitive(v, paths[i][1]);
		assert_true(cJSON_IsString(v));
		assert_int_equal(v->valuestring[0], 0);
	}
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "list"),
		0)->valuestring[0], 0);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(doc, "list"), 1), "y")->valuestring[0], 0);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(doc, "data"));
	tsarc_secret_doc_free(doc);
	tsarc_secret_doc_free(NULL);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(url_cases),
	cmocka_unit_test(secret_doc_wiped),
	cmocka_unit_test(url_errors_hide_the_password),
	cmocka_unit_test(shell_quote),
	cmocka_unit_test(merge_over_builtin_profile),
	cmocka_unit_test(profile_resyncs_after_the_system_database),
	cmocka_unit_test(check_fields_table),
	cmocka_unit_test(config_errors),
	cmocka_unit_test(unknown_kind_names_every_kind),
	cmocka_unit_test(every_kind_refuses_unknown_fields),
	cmocka_unit_test(recipe_requirements),
	cmocka_unit_test(sanitize_resource))
