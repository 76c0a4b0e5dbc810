/* The restore planner and executor against a call-recording fake
 * transport: table-driven plans (snapshot streams + target configuration
 * + flags -> the steps, their actions and states, the kind of restore),
 * and what a run does compared with what its --dry-run said. */
#define _GNU_SOURCE /* mkdtemp, setenv */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cmocka_main.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "deploy/dbconn.h"
#include "deploy/plan_fixture.h"
#include "kind.h"
#include "plan.h"
#include "repo.h"
#include "snapshot.h"
#include "tsarc/buf.h"
#include "tsarc/errors.h"
#include "tsarc/sys/store.h"
#include "scratch.h"
#include "s3/canned_server.h"
#include "unit/repo_fixture.h"

/* ---- the table ---- */

/* Where the snapshot of every case was taken: this machine, or another. */
#define HERE "\"deployment\": {\"transport\": \"local\", \"host\": \"m1\", " \
	"\"resources_dir\": \"/srv/resources\"}"
#define ELSEWHERE "\"deployment\": {\"transport\": \"local\", \"host\": \"m0\", " \
	"\"resources_dir\": \"/srv/resources\"}"
#define SRC_DB(port) "\"source\": {\"transport\": \"local\", \"host\": \"m0\"}, " \
	"\"db_host\": \"10.0.0.5\", \"db_port\": " #port ", \"database\": \"system\""

#define STREAMS(where)                                                                      \
	"[{\"name\": \"secrets.json\", \"meta\": {\"component\": \"secrets\", \"kind\": "     \
	"\"resources\", \"resource\": \"secret\", \"items\": [\"system-seed\", "             \
	"\"system-database\"], \"restore\": {\"order\": 10, \"skip_when_migrating\": "         \
	"[\"system-database\"]}, " where "}},"                                                 \
	"{\"name\": \"system-mysql.sql\", \"meta\": {\"component\": \"system-mysql\", "        \
	"\"kind\": \"mysql\", \"restore\": {\"order\": 40, \"clean\": true}, " SRC_DB(3306)    \
	", " where "}},"                                                                       \
	"{\"name\": \"backend-redis.rdb\", \"meta\": {\"component\": \"backend-redis\", "      \
	"\"kind\": \"redis\", \"restore\": {\"order\": 70}, " where "}},"                      \
	"{\"name\": \"zync.sql\", \"meta\": {\"component\": \"zync\", \"kind\": \"postgres\", " \
	"\"absent\": true, \"absent_reason\": \"not installed\", " where "}},"                 \
	"{\"name\": \"extra.dump\", \"meta\": {\"component\": \"extra\", \"kind\": \"exec\", " \
	where "}}]"

#define CONFIG(mysql_host)                                                                  \
	"{\"profile\": \"none\", \"transport\": {\"type\": \"local\", "                       \
	"\"resources_dir\": \"/srv/resources\"}, \"components\": {"                            \
	"\"secrets\": {\"kind\": \"resources\", \"resource\": \"secret\", "                    \
	"\"names\": [\"system-seed\", \"system-database\"]},"                                  \
	"\"system-mysql\": {\"kind\": \"mysql\", \"host\": \"" mysql_host "\", "              \
	"\"port\": 3306, \"user\": \"root\", \"database\": \"system\"},"                      \
	"\"backend-redis\": {\"kind\": \"redis\", \"host\": \"127.0.0.1\", \"port\": 6390, "   \
	"\"restore\": {\"config_file\": \"/etc/redis/redis.conf\"}},"                         \
	"\"zync\": {\"kind\": \"postgres\", \"database\": \"zync\", \"required\": false},"    \
	"\"system-storage\": {\"kind\": \"files\", \"path\": \"/srv/storage\"}}, "            \
	"\"post_restore\": [{\"command\": [\"resync\"], \"after\": [\"system-mysql\"]}, "      \
	"{\"command\": [\"never\"], \"after\": [\"system-storage\"]}]}"

typedef struct plan_case {
	const char *title;
	const char *streams;
	const char *config;
	const char *only; /* comma-separated, or NULL */
	int allow_source_target;
	const char *rewrite; /* OLD=NEW or NULL */
	int rc;              /* expected error, or 0 */
	/* component/action/state of each step, in plan order ("run": planned) */
	const char *steps;
	int migration;
	const char *absent;  /* components of the config with no stream */
	int allow_partial;   /* --allow-partial */
} plan_case;

static const plan_case cases[] = {
	{"a snapshot without an enabled component of the target (system-storage) is refused: "
	 "the restore would apply the others and leave that one as it is",
		STREAMS(HERE), CONFIG("10.0.0.9"), NULL, 0, NULL, TSARC_ECONFIG, NULL, 0, NULL, 0},
	{"in place with --allow-partial: every stream by its recipe's order, absent and "
	 "unclaimed ones skipped, the component with no stream listed",
		STREAMS(HERE), CONFIG("10.0.0.9"), NULL, 0, NULL, 0,
		"secrets/apply/run system-mysql/sql/run backend-redis/redis-rdb/run "
		"extra/exec/skip zync/sql/skip post_restore[0]/hook/run "
		"post_restore[1]/hook/skip",
		0, "system-storage", 1},
	{"--only one component: the others are not selected, its hook follows it",
		STREAMS(HERE), CONFIG("10.0.0.9"), "system-mysql", 0, NULL, 0,
		"secrets/apply/skip system-mysql/sql/run backend-redis/redis-rdb/skip "
		"extra/exec/skip zync/sql/skip post_restore[0]/hook/run "
		"post_restore[1]/hook/skip",
		0, "system-storage", 0},
	{"--only a component the snapshot holds nothing for",
		STREAMS(HERE), CONFIG("10.0.0.9"), "system-storage", 0, NULL, TSARC_ENOTFOUND,
		NULL, 0, NULL, 0},
	{"--only an optional component absent when backed up",
		STREAMS(HERE), CONFIG("10.0.0.9"), "zync", 0, NULL, TSARC_ENOTFOUND, NULL, 0,
		NULL, 0},
	{"--only a name nobody knows", STREAMS(HERE), CONFIG("10.0.0.9"), "nope", 0, NULL,
		TSARC_ECONFIG, NULL, 0, NULL, 0},
	{"migration: another machine's snapshot, databases elsewhere",
		STREAMS(ELSEWHERE), CONFIG("10.0.0.9"), NULL, 0, NULL, 0,
		"secrets/apply/run system-mysql/sql/run backend-redis/redis-rdb/run "
		"extra/exec/skip zync/sql/skip post_restore[0]/hook/run "
		"post_restore[1]/hook/skip",
		1, "system-storage", 1},
	{"migration into the snapshot's own source database is refused",
		STREAMS(ELSEWHERE), CONFIG("10.0.0.5"), NULL, 0, NULL, TSARC_ECONFIG, NULL, 1,
		NULL, 1},
	{"... unless --allow-source-target",
		STREAMS(ELSEWHERE), CONFIG("10.0.0.5"), NULL, 1, NULL, 0,
		"secrets/apply/run system-mysql/sql/run backend-redis/redis-rdb/run "
		"extra/exec/skip zync/sql/skip post_restore[0]/hook/run "
		"post_restore[1]/hook/skip",
		1, "system-storage", 1},
	{"--rewrite-domain makes any restore a migration",
		STREAMS(HERE), CONFIG("10.0.0.9"), NULL, 0, "a.example.com=b.example.com", 0,
		"secrets/apply/run system-mysql/sql/run backend-redis/redis-rdb/run "
		"extra/exec/skip zync/sql/skip post_restore[0]/hook/run "
		"post_restore[1]/hook/skip",
		1, "system-storage", 1},
	{"a snapshot's recipe naming an action no kind has, or another kind's, is not "
	 "followed: the target's component restores its own way (the target's own actions "
	 "are checked when its configuration loads: test_deploy)",
		"[{\"name\": \"s.sql\", \"meta\": {\"component\": \"db\", \"kind\": \"mysql\", "
		"\"restore\": {\"action\": \"teleport\"}}}, "
		"{\"name\": \"x.rdb\", \"meta\": {\"component\": \"cache\", \"kind\": \"redis\", "
		"\"restore\": {\"action\": \"sql\"}}}]",
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": "
		"{\"db\": {\"kind\": \"mysql\", \"database\": \"d\"}, "
		"\"cache\": {\"kind\": \"redis\", \"port\": 6390}}}",
		NULL, 0, NULL, 0, "cache/redis-rdb/run db/sql/run", 0, "", 0},
	{"a Secret of the snapshot that the target's configuration does not name stops the "
	 "plan, before anything is written",
		"[{\"name\": \"secrets.json\", \"meta\": {\"component\": \"secrets\", \"kind\": "
		"\"resources\", \"resource\": \"secret\", \"items\": [\"system-seed\", "
		"\"other-app-credentials\"], " HERE "}}]",
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\", "
		"\"resources_dir\": \"/srv/resources\"}, \"components\": {\"secrets\": {\"kind\": "
		"\"resources\", \"resource\": \"secret\", \"names\": [\"system-seed\"], "
		"\"optional_names\": [\"system-app\"]}}}",
		NULL, 0, NULL, TSARC_EUNSAFE, NULL, 0, NULL, 0},
	{"... named in optional_names, it is applied",
		"[{\"name\": \"secrets.json\", \"meta\": {\"component\": \"secrets\", \"kind\": "
		"\"resources\", \"resource\": \"secret\", \"items\": [\"system-seed\", "
		"\"other-app-credentials\"], " HERE "}}]",
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\", "
		"\"resources_dir\": \"/srv/resources\"}, \"components\": {\"secrets\": {\"kind\": "
		"\"resources\", \"resource\": \"secret\", \"names\": [\"system-seed\"], "
		"\"optional_names\": [\"other-app-credentials\"]}}}",
		NULL, 0, NULL, 0, "secrets/apply/run", 0, "", 0},
	{"... or with all: true",
		"[{\"name\": \"secrets.json\", \"meta\": {\"component\": \"secrets\", \"kind\": "
		"\"resources\", \"resource\": \"secret\", \"items\": [\"system-seed\", "
		"\"other-app-credentials\"], " HERE "}}]",
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\", "
		"\"resources_dir\": \"/srv/resources\"}, \"components\": {\"secrets\": {\"kind\": "
		"\"resources\", \"resource\": \"secret\", \"all\": true}}}",
		NULL, 0, NULL, 0, "secrets/apply/run", 0, "", 0},
	{"a stream whose metadata names another kind than the target's component is refused "
	 "before anything is written (a mysql component's stream made a tree replaced where "
	 "the snapshot's recipe says)",
		"[{\"name\": \"system-mysql.sql\", \"meta\": {\"component\": \"system-mysql\", "
		"\"kind\": \"files\", \"restore\": {\"path\": \"/etc/planted\", \"action\": "
		"\"replace-tree\"}, " HERE "}}]",
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\", "
		"\"resources_dir\": \"/srv/resources\"}, \"components\": {\"system-mysql\": {"
		"\"kind\": \"mysql\", \"host\": \"10.0.0.9\", \"user\": \"root\", "
		"\"database\": \"system\"}}}",
		NULL, 0, NULL, TSARC_EUNSAFE, NULL, 0, NULL, 0},
	{"a disabled component, and a stream without a component: refused, the restore would "
	 "leave them out and exit 0",
		"[{\"name\": \"s.sql\", \"meta\": {\"component\": \"db\", \"kind\": \"mysql\"}}, "
		"{\"name\": \"loose.bin\", \"meta\": {\"kind\": \"exec\"}}]",
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": "
		"{\"db\": {\"kind\": \"mysql\", \"database\": \"d\", \"enabled\": false}}}",
		NULL, 0, NULL, TSARC_ECONFIG, NULL, 0, NULL, 0},
	{"... with --allow-partial: both skipped, saying why",
		"[{\"name\": \"s.sql\", \"meta\": {\"component\": \"db\", \"kind\": \"mysql\"}}, "
		"{\"name\": \"loose.bin\", \"meta\": {\"kind\": \"exec\"}}]",
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": "
		"{\"db\": {\"kind\": \"mysql\", \"database\": \"d\", \"enabled\": false}}}",
		NULL, 0, NULL, 0, "db/sql/skip loose.bin/exec/skip", 0, "", 1},
	/* A snapshot's streams come in the order its producers finished,
	 * which differs between two backups of one deployment: steps of one
	 * order run by their component's name, so the same restore of either
	 * runs and prints the same steps in the same order. */
	{"steps of equal order by component name, whatever the snapshot's stream order (1/2)",
		"[{\"name\": \"x.rdb\", \"meta\": {\"component\": \"cache\", \"kind\": \"redis\", "
		"\"restore\": {\"order\": 40}}}, "
		"{\"name\": \"s.sql\", \"meta\": {\"component\": \"db\", \"kind\": \"mysql\", "
		"\"restore\": {\"order\": 40}}}, "
		"{\"name\": \"a.sql\", \"meta\": {\"component\": \"aaa\", \"kind\": \"mysql\", "
		"\"restore\": {\"order\": 50}}}]",
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": "
		"{\"db\": {\"kind\": \"mysql\", \"database\": \"d\"}, "
		"\"aaa\": {\"kind\": \"mysql\", \"database\": \"a\"}, "
		"\"cache\": {\"kind\": \"redis\", \"port\": 6390}}}",
		NULL, 0, NULL, 0, "cache/redis-rdb/run db/sql/run aaa/sql/run", 0, "", 0},
	{"steps of equal order by component name, whatever the snapshot's stream order (2/2)",
		"[{\"name\": \"a.sql\", \"meta\": {\"component\": \"aaa\", \"kind\": \"mysql\", "
		"\"restore\": {\"order\": 50}}}, "
		"{\"name\": \"s.sql\", \"meta\": {\"component\": \"db\", \"kind\": \"mysql\", "
		"\"restore\": {\"order\": 40}}}, "
		"{\"name\": \"x.rdb\", \"meta\": {\"component\": \"cache\", \"kind\": \"redis\", "
		"\"restore\": {\"order\": 40}}}]",
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": "
		"{\"db\": {\"kind\": \"mysql\", \"database\": \"d\"}, "
		"\"aaa\": {\"kind\": \"mysql\", \"database\": \"a\"}, "
		"\"cache\": {\"kind\": \"redis\", \"port\": 6390}}}",
		NULL, 0, NULL, 0, "cache/redis-rdb/run db/sql/run aaa/sql/run", 0, "", 0},
};

/* A call a plan makes of the transport: a read ("get"); finding the pod
 * a SQL server runs in ("locate": the pods listed); or a SQL client run
 * for a question whose answer it reads, on this host or in the pod: its
 * last argument one SELECT, WITH or SHOW statement (db.c
 * plan_server_check's: the login, the server's version, and what the
 * step would refuse of the dump; sqlreads.h), after the client's option
 * for a query (-e, -c). Nothing that applies or copies, and no statement
 * that writes, a temporary table's included. */
static void plan_reads(const cJSON *call)
{
	const char *op = cJSON_GetArrayItem(call, 0)->valuestring;
	int n = cJSON_GetArraySize(call);
	const char *last, *before;

	if (!strcmp(op, "get") || !strcmp(op, "locate"))
		return;
	assert_string_equal(op, "spawn");
	assert_true(n >= 4);
	last = cJSON_GetArrayItem(call, n - 1)->valuestring;
	before = cJSON_GetArrayItem(call, n - 2)->valuestring;
	print_message("the plan asks: %s\n", last);
	assert_true(!strncmp(last, "SELECT ", 7) || !strncmp(last, "WITH ", 5) ||
		!strncmp(last, "SHOW ", 5));
	assert_null(strchr(last, ';'));
	assert_null(strstr(last, "TEMPORARY"));
	assert_true(!strcmp(before, "-e") || !strcmp(before, "-c"));
}

/* "component/action/state ..." of a report's steps. */
static char *steps_of(const cJSON *report)
{
	tsarc_buf b = TSARC_BUF_INIT;
	const cJSON *st;

	cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(report, "steps")) {
		const char *status = tsarc_spec_str(st, "status");
		if (b.size)
			tsarc_buf_puts(&b, " ");
		tsarc_buf_printf(&b, "%s/%s/%s", tsarc_spec_str(st, "component"),
			tsarc_spec_str(st, "action"), !strcmp(status, "skipped") ? "skip" :
			!strcmp(status, "not applied") ? "run" : status);
	}
	tsarc_buf_append(&b, "", 1);
	return tsarc_buf_detach(&b);
}

static char *names_of(const cJSON *arr)
{
	tsarc_buf b = TSARC_BUF_INIT;
	const cJSON *v;

	cJSON_ArrayForEach(v, arr) {
		if (b.size)
			tsarc_buf_puts(&b, " ");
		tsarc_buf_puts(&b, v->valuestring);
	}
	tsarc_buf_append(&b, "", 1);
	return tsarc_buf_detach(&b);
}

/* Plans `c` as --dry-run does, with the fake as the deployment's transport. */
static int plan(const plan_case *c, fake *f, cJSON **report)
{
	tsarc_restore_opts o;
	const char *only[4];
	char onlybuf[200], rewrite[200], *eq;

	memset(&o, 0, sizeof(o));
	o.dry_run = 1;
	o.allow_source_target = c->allow_source_target;
	o.allow_partial = c->allow_partial;
	if (c->only) {
		char *save = NULL, *tok;
		snprintf(onlybuf, sizeof(onlybuf), "%s", c->only);
		for (tok = strtok_r(onlybuf, ",", &save); tok && o.nonly < 4;
			tok = strtok_r(NULL, ",", &save))
			only[o.nonly++] = tok;
		o.only = only;
	}
	if (c->rewrite) {
		snprintf(rewrite, sizeof(rewrite), "%s", c->rewrite);
		eq = strchr(rewrite, '=');
		*eq = '\0';
		o.rewrite_old = rewrite;
		o.rewrite_new = eq + 1;
	}
	return fake_plan(c->streams, c->config, &o, f, report);
}

static void plan_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const plan_case *c = &cases[i];
		cJSON *report = NULL;
		fake f;
		int rc;

		fake_init(&f, "m1");
		rc = plan(c, &f, &report);
		print_message("case %zu: %s: rc %d %s\n", i, c->title, rc,
			rc ? tsarc_error_last()->message : "");
		assert_int_equal(rc, c->rc);
		if (!rc) {
			char *steps = steps_of(report);
			char *absent = names_of(cJSON_GetObjectItemCaseSensitive(report,
				"absent_from_snapshot"));
			assert_string_equal(steps, c->steps);
			assert_string_equal(absent, c->absent);
			assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(report,
				"migration")), c->migration);
			free(steps);
			free(absent);
		}
		/* A plan only reads: no apply, no capture, no locate; what it
		 * runs is a SQL client's question (plan_reads). */
		{
			const cJSON *call;
			cJSON_ArrayForEach(call, f.calls)
				plan_reads(call);
		}
		cJSON_Delete(report);
		cJSON_Delete(f.calls);
	}
}

/* A SQL server in its pod (3scale before 2.16: system-mysql) is asked by
 * the plan what its step would ask, through the pod's own client (the
 * fake, a transport that runs commands in a workload, finds the pod
 * first): the login, then what the dump's record needs (its names, its
 * longest statement, its triggers), each a question that only reads
 * (plan_reads). A pod the plan cannot run the client in is not asked, as
 * a server on this host it does not reach: the plan says so and admits
 * the step, which asks again. */
#define POD_MYSQL_STREAM                                                                   \
	"[{\"name\": \"system-mysql.sql\", \"meta\": {\"component\": \"system-mysql\", "      \
	"\"kind\": \"mysql\", \"database\": \"system\", \"mysql_dump\": {\"triggers\": 78, "  \
	"\"functions\": 0, \"longest_statement\": 20971562, \"collations\": "                 \
	"[\"utf8mb3_bin\"], \"charsets\": [\"utf8mb3\"]}, \"restore\": {\"order\": 40}, "     \
	HERE "}}]"
static void plan_asks_in_the_pod(void **state)
{
	static const char config[] = "{\"profile\": \"none\", \"transport\": {\"type\": "
		"\"local\", \"resources_dir\": \"/srv/resources\"}, \"components\": {"
		"\"system-mysql\": {\"kind\": \"mysql\", \"workload\": \"system-mysql\", "
		"\"container\": \"system-mysql\", \"user\": \"root\", \"database\": \"system\", "
		"\"pod_password_env\": \"MYSQL_ROOT_PASSWORD\"}}}";
	static const char *const asked[] = {"SELECT 1",
		"SELECT CONVERT(NULL USING `utf8mb3`) COLLATE `utf8mb3_bin`, "
		"CONVERT(NULL USING `utf8mb3`)", "SELECT @@GLOBAL.max_allowed_packet", "SHOW GRANTS"};
	tsarc_restore_opts o;
	cJSON *report = NULL;
	const cJSON *call, *step;
	const char *said;
	size_t n = 0;
	fake f;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.dry_run = 1;
	fake_init(&f, "m1");
	f.t.caps |= TSARC_TR_IN_WORKLOAD;
	f.prints = "allowed\n"; /* every answer: none refuses */
	assert_int_equal(fake_plan(POD_MYSQL_STREAM, config, &o, &f, &report), 0);
	cJSON_ArrayForEach(call, f.calls) {
		const char *op = cJSON_GetArrayItem(call, 0)->valuestring;
		plan_reads(call);
		if (!strcmp(op, "locate"))
			assert_int_equal(n, 0); /* the pod found before any question */
		if (strcmp(op, "spawn"))
			continue;
		assert_true(n < sizeof(asked) / sizeof(*asked));
		assert_string_equal(cJSON_GetArrayItem(call, 1)->valuestring, "mysql");
		assert_string_equal(cJSON_GetArrayItem(call, cJSON_GetArraySize(call) - 1)->valuestring,
			asked[n++]);
	}
	assert_int_equal(n, sizeof(asked) / sizeof(*asked));
	cJSON_Delete(report);
	cJSON_Delete(f.calls);

	/* The client does not run in the pod: not asked, the step asks. */
	fake_init(&f, "m1");
	f.t.caps |= TSARC_TR_IN_WORKLOAD;
	assert_int_equal(fake_plan(POD_MYSQL_STREAM, config, &o, &f, &report), 0);
	cJSON_ArrayForEach(call, f.calls)
		plan_reads(call);
	step = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(report, "steps"), 0);
	said = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(step, "plan"), "server"));
	print_message("%s\n", said ? said : "(nothing)");
	assert_non_null(said);
	assert_non_null(strstr(said, "not asked, the restore asks before it writes"));
	assert_non_null(strstr(said, "the fake transport runs nothing"));
	cJSON_Delete(report);
	cJSON_Delete(f.calls);
}

/* Fills the stack below the caller with non-zero bytes: what a callee's
 * uninitialised buffer then holds is not zeros by luck. */
__attribute__((noinline)) static void dirty_stack(void)
{
	volatile char junk[1u << 16];
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = 'x';
}

/* The plan's word on a server it asked ("server") says what it found, and
 * there is none where its question has nothing to say: MySQL's login
 * ("SELECT 1" answered), which has no version to compare. Before, that
 * word was whatever the stack held where only the version's question
 * writes (bytes of an earlier exec in --dry-run's report of a system-mysql
 * in its pod, sql_mysql_server). */
static void plan_says_only_what_it_found(void **state)
{
	static const char streams[] = "[{\"name\": \"system-mysql.sql\", \"meta\": {\"component\": "
		"\"system-mysql\", \"kind\": \"mysql\", \"database\": \"system\", \"restore\": "
		"{\"order\": 40}, " HERE "}}]";
	static const char config[] = "{\"profile\": \"none\", \"transport\": {\"type\": "
		"\"local\", \"resources_dir\": \"/srv/resources\"}, \"components\": {"
		"\"system-mysql\": {\"kind\": \"mysql\", \"host\": \"10.0.0.9\", \"user\": "
		"\"root\", \"database\": \"system\"}}}";
	tsarc_restore_opts o;
	cJSON *report = NULL;
	const cJSON *plan, *call;
	size_t asked = 0;
	fake f;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.dry_run = 1;
	fake_init(&f, "m1");
	f.prints = "1\n";
	dirty_stack();
	assert_int_equal(fake_plan(streams, config, &o, &f, &report), 0);
	cJSON_ArrayForEach(call, f.calls)
		asked += !strcmp(cJSON_GetArrayItem(call, 0)->valuestring, "spawn");
	assert_int_equal(asked, 1); /* the login */
	plan = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(report, "steps"), 0), "plan");
	assert_non_null(plan);
	if (cJSON_GetObjectItemCaseSensitive(plan, "server"))
		print_message("the plan says: %.60s\n", cJSON_GetStringValue(
			cJSON_GetObjectItemCaseSensitive(plan, "server")));
	assert_null(cJSON_GetObjectItemCaseSensitive(plan, "server"));
	cJSON_Delete(report);
	cJSON_Delete(f.calls);
}

/* The refusal of a snapshot without some of the target's enabled
 * components names them and the ways on; an undo snapshot (it holds only
 * what a restore replaced, by design) and a rollback's own restore are
 * not refused, and --only restores what it names. */
static void partial_snapshot_refused_unless_meant(void **state)
{
	tsarc_restore_opts o;
	tsarc_snapshot *snap;
	cJSON *report = NULL;
	const char *msg;
	fake f;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.dry_run = 1;
	fake_init(&f, "m1");
	assert_int_equal(fake_plan(STREAMS(HERE), CONFIG("10.0.0.9"), &o, &f, &report),
		TSARC_ECONFIG);
	msg = tsarc_error_last()->message;
	print_message("%s\n", msg);
	assert_non_null(strstr(msg, "system-storage"));
	assert_non_null(strstr(msg, "--only"));
	assert_non_null(strstr(msg, "--allow-partial"));
	cJSON_Delete(report);
	report = NULL;
	cJSON_Delete(f.calls);

	snap = snapshot_of(STREAMS(HERE));
	snap->meta = cJSON_Parse("{\"" TSARC_UNDO_META "\": \"0123456789abcdef\"}");
	fake_init(&f, "m1");
	assert_int_equal(fake_execute(NULL, snap, CONFIG("10.0.0.9"), &o, &f, &report), 0);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(report,
		"absent_from_snapshot"), 0)->valuestring, "system-storage");
	cJSON_Delete(report);
	cJSON_Delete(f.calls);
	tsarc_snapshot_free(snap);

	o.rolling_back = "0123456789abcdef";
	fake_init(&f, "m1");
	assert_int_equal(fake_plan(STREAMS(HERE), CONFIG("10.0.0.9"), &o, &f, &report), 0);
	cJSON_Delete(report);
	cJSON_Delete(f.calls);
}

/* Where a restore writes and what its programs get comes from the target
 * only: a snapshot's recipe that names a Redis configuration file, data
 * folder or workload to roll out, a tree's path or the pod's password
 * variable is not followed (the target's configuration here names none of
 * them, so the Redis step copies logically and says so). */
static void snapshot_recipe_names_no_place(void **state)
{
	static const char streams[] =
		"[{\"name\": \"backend-redis.rdb\", \"meta\": {\"component\": \"backend-redis\", "
		"\"kind\": \"redis\", \"restore\": {\"order\": 70, \"config_file\": "
		"\"/etc/planted.conf\", \"data_dir\": \"/etc/planted\", \"rollout\": \"planted\", "
		"\"config_map\": \"planted\", \"path\": \"/etc/planted\", \"pod_password_env\": "
		"\"PLANTED\", \"env\": {\"PLANTED\": \"TSARC_PASSWORD\"}}, " HERE "}}]";
	static const char config[] =
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\", "
		"\"resources_dir\": \"/srv/resources\"}, \"components\": {\"backend-redis\": {"
		"\"kind\": \"redis\", \"host\": \"127.0.0.1\", \"port\": 6390}}}";
	tsarc_restore_opts o;
	cJSON *report = NULL;
	char *text;
	fake f;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.dry_run = 1;
	fake_init(&f, "m1");
	assert_int_equal(fake_plan(streams, config, &o, &f, &report), 0);
	text = cJSON_PrintUnformatted(report);
	print_message("%s\n", text);
	assert_null(strstr(text, "planted"));
	assert_null(strstr(text, "PLANTED"));
	assert_non_null(strstr(text, "copied logically"));
	free(text);
	cJSON_Delete(report);
	cJSON_Delete(f.calls);
}

/* ---- a run against a real repository, compared with its dry run ---- */

/* The names the dry run says it applies and leaves out must be the ones
 * the run applies and leaves out, whatever the kind of resource: one rule
 * decides for both. */
static void dry_run_agrees_with_run(void **state)
{
	static const char *const names[] = {"configmaps.json", "secrets.json"};
	static const char *const contents[] = {
		"{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
		"{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": "
		"\"system-environment\"}, \"data\": {\"a\": \"b\"}}, "
		"{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": "
		"\"apicast-environment\"}, \"data\": {\"c\": \"d\"}}]}",
		"{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
		"{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": "
		"\"system-seed\"}, \"data\": {\"k\": \"dg==\"}}, "
		"{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": "
		"\"system-database\"}, \"data\": {\"k\": \"dg==\"}}, "
		"{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": "
		"\"hashed-secret-data\"}, \"data\": {\"k\": \"dg==\"}}]}"};
	static const char *const metas[] = {
		"{\"component\": \"configmaps\", \"kind\": \"resources\", \"resource\": "
		"\"configmap\", \"items\": [\"system-environment\", \"apicast-environment\"], "
		"\"restore\": {\"order\": 20, \"skip_when_migrating\": [\"system-environment\"]}}",
		"{\"component\": \"secrets\", \"kind\": \"resources\", \"resource\": \"secret\", "
		"\"items\": [\"system-seed\", \"system-database\", \"hashed-secret-data\"], "
		"\"restore\": {\"order\": 10, \"skip_when_migrating\": [\"system-database\"], "
		"\"never_apply\": [\"hashed-secret-data\"]}}"};
	static const char config[] =
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		"\"configmaps\": {\"kind\": \"resources\", \"resource\": \"configmap\", "
		"\"names\": [\"system-environment\"], \"optional_names\": [\"apicast-environment\"]}, "
		"\"secrets\": {\"kind\": \"resources\", \"resource\": \"secret\", "
		"\"names\": [\"system-seed\", \"system-database\"]}}}";
	char id[TSARC_ID_HEX_LEN + 1];
	tsarc_repo *repo = repo_with(names, contents, metas, 2, id);
	tsarc_restore_opts o;
	cJSON *dry = NULL, *run = NULL;
	const cJSON *st, *call;
	tsarc_buf planned = TSARC_BUF_INIT, done = TSARC_BUF_INIT;
	fake f;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.skip_endpoint_secrets = 1;
	o.dry_run = 1;
	fake_init(&f, "m1");
	assert_int_equal(restore_with(repo, id, config, &o, &f, &dry), 0);
	cJSON_Delete(f.calls);
	o.dry_run = 0;
	fake_init(&f, "m1");
	assert_int_equal(restore_with(repo, id, config, &o, &f, &run), 0);
	/* What the dry run says, step by step: applied, then left out. */
	cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(dry, "steps")) {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(st, "plan");
		char *c = names_of(cJSON_GetObjectItemCaseSensitive(p, "creates"));
		char *l = names_of(cJSON_GetObjectItemCaseSensitive(p, "left_out"));
		tsarc_buf_printf(&planned, "%s: apply [%s] leave out [%s]; ",
			tsarc_spec_str(st, "component"), c, l);
		free(c);
		free(l);
	}
	/* What the run did: the fake's apply calls (not those of the
	 * restore state: one before the first step, one after each), and
	 * what each step says it left out. */
	call = f.calls->child;
	cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(run, "steps")) {
		const cJSON *det = cJSON_GetObjectItemCaseSensitive(st, "detail");
		char *l = names_of(cJSON_GetObjectItemCaseSensitive(det, "left_out"));
		char *a;
		while (call && (strcmp(cJSON_GetArrayItem(call, 0)->valuestring, "apply") ||
			!strcmp(cJSON_GetArrayItem(call, 1)->valuestring, "tsarc-restore-state")))
			call = call->next;
		assert_non_null(call);
		cJSON_DeleteItemFromArray((cJSON *)call, 0);
		a = names_of(call);
		tsarc_buf_printf(&done, "%s: apply [%s] leave out [%s]; ",
			tsarc_spec_str(st, "component"), a, l);
		free(a);
		free(l);
		call = call->next;
	}
	tsarc_buf_append(&planned, "", 1);
	tsarc_buf_append(&done, "", 1);
	assert_string_equal((char *)planned.ptr, (char *)done.ptr);
	assert_string_equal((char *)done.ptr,
		"secrets: apply [system-seed] leave out [system-database hashed-secret-data]; "
		"configmaps: apply [system-environment apicast-environment] leave out []; ");
	{
		size_t states = 0;
		cJSON_ArrayForEach(call, f.calls)
			states += !strcmp(cJSON_GetArrayItem(call, 0)->valuestring, "apply") &&
				!strcmp(cJSON_GetArrayItem(call, 1)->valuestring, "tsarc-restore-state");
		assert_int_equal(states, 3);
	}
	tsarc_buf_dispose(&planned);
	tsarc_buf_dispose(&done);
	cJSON_Delete(dry);
	cJSON_Delete(run);
	cJSON_Delete(f.calls);
	tsarc_repo_free(repo);
	repo_remove();
}

/* ---- the connection of a kind: one builder for its dump and restore ---- */

/* The run applies no object of the List that the metadata the plan read
 * does not list, even one the target takes: what --dry-run showed is what
 * may be applied. */
static void run_applies_only_what_the_plan_showed(void **state)
{
	static const char *const names[] = {"secrets.json"};
	static const char *const contents[] = {
		"{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
		"{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": "
		"\"system-seed\"}, \"data\": {\"k\": \"dg==\"}}, "
		"{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": "
		"\"system-app\"}, \"data\": {\"k\": \"dg==\"}}]}"};
	static const char *const metas[] = {
		"{\"component\": \"secrets\", \"kind\": \"resources\", \"resource\": \"secret\", "
		"\"items\": [\"system-seed\"], \"restore\": {\"order\": 10}}"};
	static const char config[] =
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": {"
		"\"secrets\": {\"kind\": \"resources\", \"resource\": \"secret\", "
		"\"names\": [\"system-seed\", \"system-app\"]}}}";
	char id[TSARC_ID_HEX_LEN + 1];
	tsarc_repo *repo = repo_with(names, contents, metas, 1, id);
	tsarc_restore_opts o;
	cJSON *report = NULL;
	const cJSON *call;
	fake f;

	(void)state;
	memset(&o, 0, sizeof(o));
	fake_init(&f, "m1");
	assert_int_equal(restore_with(repo, id, config, &o, &f, &report), TSARC_EUNSAFE);
	assert_non_null(strstr(tsarc_error_last()->message, "system-app"));
	/* Nothing of the List: the restore state alone (state.c). */
	cJSON_ArrayForEach(call, f.calls)
		if (!strcmp(cJSON_GetArrayItem(call, 0)->valuestring, "apply"))
			assert_string_equal(cJSON_GetArrayItem(call, 1)->valuestring,
				"tsarc-restore-state");
	cJSON_Delete(report);
	cJSON_Delete(f.calls);
	tsarc_repo_free(repo);
	repo_remove();
}

/* Dry-runs a restore of a snapshot of `n` streams (repo_with) into
 * `config` with the fake; its result, its message in `msg`, its report in
 * `report_out` when not NULL (the caller's to free). A plan only reads:
 * the fake sees nothing but gets. */
static int dry_run_report(const char *const names[], const char *const contents[],
	const char *const metas[], size_t n, const char *config, char *msg, size_t msgsz,
	cJSON **report_out)
{
	char id[TSARC_ID_HEX_LEN + 1];
	tsarc_repo *repo = repo_with(names, contents, metas, n, id);
	tsarc_restore_opts o;
	cJSON *report = NULL;
	const cJSON *call;
	fake f;
	int rc;

	memset(&o, 0, sizeof(o));
	o.dry_run = 1;
	fake_init(&f, "m1");
	rc = restore_with(repo, id, config, &o, &f, &report);
	snprintf(msg, msgsz, "%s", rc ? tsarc_error_last()->message : "");
	print_message("rc %d %s\n", rc, msg);
	cJSON_ArrayForEach(call, f.calls)
		plan_reads(call);
	if (report_out)
		*report_out = report;
	else
		cJSON_Delete(report);
	cJSON_Delete(f.calls);
	tsarc_repo_free(repo);
	repo_remove();
	return rc;
}

/* dry_run_report without the report. */
static int dry_run_of(const char *const names[], const char *const contents[],
	const char *const metas[], size_t n, const char *config, char *msg, size_t msgsz)
{
	return dry_run_report(names, contents, metas, n, config, msg, msgsz, NULL);
}

/* In place with no Secret in the target, a database's endpoint comes from
 * the snapshot's copy of its Secret (anyone who can write the repository
 * writes it, and what says "in place" with it). The target's own password
 * (password_env) never goes to a host only that copy names: the plan
 * refuses before anything is written. */
static void own_password_never_to_the_snapshots_host(void **state)
{
	static const char *const names[] = {"secrets.json", "system-mysql.sql"};
	static const char *const contents[] = {
		"{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["
		"{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": "
		"\"system-database\"}, \"stringData\": {\"URL\": "
		"\"mysql2://root@203.0.113.7:3306/system\"}}]}",
		"-- MySQL dump\n"};
	static const char *const metas[] = {
		"{\"component\": \"secrets\", \"kind\": \"resources\", \"resource\": \"secret\", "
		"\"items\": [\"system-database\"], \"restore\": {\"order\": 10}, " HERE "}",
		"{\"component\": \"system-mysql\", \"kind\": \"mysql\", \"restore\": {\"order\": "
		"40}, " HERE "}"};
	static const char config[] =
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\", "
		"\"resources_dir\": \"/srv/resources\"}, \"components\": {"
		"\"secrets\": {\"kind\": \"resources\", \"resource\": \"secret\", "
		"\"names\": [\"system-database\"]}, "
		"\"system-mysql\": {\"kind\": \"mysql\", \"external\": true, \"database\": "
		"\"system\", \"password_env\": \"TARGET_DB_PASSWORD\", \"url_secret\": {"
		"\"secret\": \"system-database\", \"key\": \"URL\"}}}}";
	char msg[1024];
	int rc;

	(void)state;
	setenv("TARGET_DB_PASSWORD", "the-target-password", 1);
	rc = dry_run_of(names, contents, metas, 2, config, msg, sizeof(msg));
	unsetenv("TARGET_DB_PASSWORD");
	assert_int_equal(rc, TSARC_EUNSAFE);
	assert_non_null(strstr(msg, "password_env"));
}

/* A snapshot of an S3 system-storage (the s3files kind) and the copy of
 * its aws-auth Secret (naming another application's bucket; with keys of
 * its own when AWS_AUTH_KEYS is given), and a target configuration of the
 * Secret and the storage components given. The bucket's server is the
 * canned loopback server (tests/s3/canned_server.h, a TEST DOUBLE) on the
 * port written in place of @PORT@ (on_canned): the plan lists the bucket
 * for a tsarc repository it would replace, and finds none there. */
#define AWS_AUTH_LIST(keys)                                                               \
	"{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": ["                        \
	"{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {\"name\": "         \
	"\"aws-auth\"}, \"stringData\": {\"AWS_BUCKET\": \"another-apps-bucket\", "          \
	"\"AWS_REGION\": \"eu-west-1\", \"AWS_HOSTNAME\": \"127.0.0.1:@PORT@\", "            \
	"\"AWS_PROTOCOL\": \"http\"" keys "}}]}"
static const canned empty_bucket[] = {{REPLY, 200, NULL,
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>another-apps-bucket"
	"</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>", -1}};

/* `list` with the canned server's port in place of @PORT@, into out. */
static const char *on_canned(const char *list, char *out, size_t size)
{
	const char *at = strstr(list, "@PORT@");

	assert_non_null(at);
	assert_true((size_t)snprintf(out, size, "%.*s%u%s", (int)(at - list), list,
			    (unsigned)srv.port, at + 6) < size);
	return out;
}
#define AWS_AUTH_KEYS                                                                     \
	", \"AWS_ACCESS_KEY_ID\": \"AKSNAP\", \"AWS_SECRET_ACCESS_KEY\": \"snapshot-secret\""
#define S3_CONFIG(storage)                                                                \
	"{\"profile\": \"none\", \"transport\": {\"type\": \"local\", "                     \
	"\"resources_dir\": \"/srv/resources\"}, \"components\": {"                           \
	"\"secrets\": {\"kind\": \"resources\", \"resource\": \"secret\", "                  \
	"\"names\": [\"aws-auth\"]}, " storage "}}"
static const char *const s3_names[] = {"secrets.json", "system-storage-s3.tar"};
static const char *const s3_metas[] = {
	"{\"component\": \"secrets\", \"kind\": \"resources\", \"resource\": \"secret\", "
	"\"items\": [\"aws-auth\"], \"restore\": {\"order\": 10}, " HERE "}",
	"{\"component\": \"system-storage-s3\", \"kind\": \"s3files\", \"restore\": "
	"{\"order\": 50}, " HERE "}"};

/* The same for an S3 bucket: in place with no aws-auth in the target, a
 * snapshot's copy naming a bucket but no keys would have replace-bucket
 * write into it, and delete what is not in the backup, with this host's
 * own credentials (the restorer's: they may reach every bucket of the
 * account). Refused; a copy with its own keys writes with those. */
static void own_credentials_never_to_the_snapshots_bucket(void **state)
{
	static const char *const lists[] = {AWS_AUTH_LIST(""), AWS_AUTH_LIST(AWS_AUTH_KEYS)};
	char list[2048];
	static const char config[] = S3_CONFIG(
		"\"system-storage-s3\": {\"kind\": \"s3files\", \"secret\": \"aws-auth\", "
		"\"stream\": \"system-storage-s3.tar\"}");
	const char *contents[2];
	char msg[1024];
	size_t k;

	(void)state;
	START(empty_bucket);
	for (k = 0; k < 2; k++) {
		contents[0] = on_canned(lists[k], list, sizeof(list));
		contents[1] = "";
		print_message("the copy %s keys\n", k ? "with" : "without");
		if (k == 0) {
			assert_int_equal(dry_run_of(s3_names, contents, s3_metas, 2, config, msg,
				sizeof(msg)), TSARC_EUNSAFE);
			assert_non_null(strstr(msg, "another-apps-bucket"));
		} else {
			assert_int_equal(dry_run_of(s3_names, contents, s3_metas, 2, config, msg,
				sizeof(msg)), 0);
			/* The plan looked into the bucket, with the copy's keys. */
			assert_true(srv.nreq >= 1);
			assert_non_null(strstr(srv.heads[0], "another-apps-bucket"));
			assert_non_null(strstr(srv.heads[0], "AKSNAP"));
		}
	}
	srv_stop();
}

/* The copy is read as the apply reads the List (resources.h): one whose
 * Secret has a key twice (cJSON reads the first bucket, kubectl would
 * apply the last) is refused, before anything is written. */
static void snapshots_secret_read_as_applied(void **state)
{
	char list[2048];
	const char *contents[] = {on_canned(AWS_AUTH_LIST(AWS_AUTH_KEYS
		", \"AWS_BUCKET\": \"3scale-storage\""), list, sizeof(list)), ""};
	static const char config[] = S3_CONFIG(
		"\"system-storage-s3\": {\"kind\": \"s3files\", \"secret\": \"aws-auth\", "
		"\"stream\": \"system-storage-s3.tar\"}");
	char msg[1024];

	(void)state;
	assert_int_equal(dry_run_of(s3_names, contents, s3_metas, 2, config, msg, sizeof(msg)),
		TSARC_EUNSAFE);
	assert_non_null(strstr(msg, "twice"));
}

/* A namespace rebuilt after a disaster has no APIManager until the
 * restore applies it: a storage component ("storage_when", layout.h)
 * whose stream the snapshot holds is then restored as backed up, in place
 * of the component it replaces. (Before, the profile kept "the volume" and
 * the bucket's step was skipped as disabled, the restore succeeding.) */
static void storage_as_backed_up_without_an_apimanager(void **state)
{
	char list[2048];
	const char *contents[2];
	static const char config[] = S3_CONFIG(
		"\"system-storage\": {\"kind\": \"files\", \"path\": \"/srv/storage\", "
		"\"stream\": \"system-storage.tar\"}, "
		"\"system-storage-s3\": {\"kind\": \"s3files\", \"enabled\": false, "
		"\"secret\": \"aws-auth\", \"stream\": \"system-storage-s3.tar\", "
		"\"storage_when\": {\"apimanager\": [\"system\", \"fileStorage\", "
		"\"simpleStorageService\"], \"secret_ref\": [\"configurationSecretRef\", \"name\"], "
		"\"replaces\": \"system-storage\"}}");
	const cJSON *st, *found = NULL;
	cJSON *report = NULL;
	char msg[1024];

	(void)state;
	START(empty_bucket);
	contents[0] = on_canned(AWS_AUTH_LIST(AWS_AUTH_KEYS), list, sizeof(list));
	contents[1] = "";
	assert_int_equal(dry_run_report(s3_names, contents, s3_metas, 2, config, msg, sizeof(msg),
				 &report), 0);
	srv_stop();
	cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(report, "steps"))
		if (!strcmp(tsarc_spec_str(st, "component"), "system-storage-s3"))
			found = st;
	assert_non_null(found);
	print_message("%s: %s\n", tsarc_spec_str(found, "status"),
		tsarc_spec_str(found, "note") ? tsarc_spec_str(found, "note") : "");
	assert_string_not_equal(tsarc_spec_str(found, "status"), "skipped");
	assert_string_equal(tsarc_spec_str(found, "action"), "replace-bucket");
	cJSON_Delete(report);
}

static int has_arg(const cJSON *call, const char *arg)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, call)
		if (!strcmp(v->valuestring, arg))
			return 1;
	return 0;
}

/* Component `name` of kind `kind` of `d` on the fake's transport, and an
 * empty production for its backup to prepare. */
static void backup_of(const tsarc_deploy *d, const char *name, const char *kind, fake *f,
	tsarc_component *comp, tsarc_production *prod)
{
	memset(comp, 0, sizeof(*comp));
	memset(prod, 0, sizeof(*prod));
	tsarc_cmd_init(&prod->cmd);
	tsarc_cmd_init(&prod->version_cmd);
	comp->name = name;
	comp->kind = kind;
	comp->spec = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
		tsarc_deploy_effective(d), "components"), name);
	comp->tr = &f->t;
}

/* A Redis component with TLS and options: its backup's redis-cli connects
 * with them, and so must every redis-cli of its restore ("verify-ca":
 * redis-cli checks the chain only, refused on this host otherwise). */
static void redis_restore_connects_like_its_backup(void **state)
{
	char conf[300], dir[256];
	char config[1200];
	static const char streams[] =
		"[{\"name\": \"cache.rdb\", \"meta\": {\"component\": \"cache\", \"kind\": "
		"\"redis\"}}]";
	const tsarc_kind *k = tsarc_kind_find("redis");
	tsarc_production prod;
	tsarc_component comp;
	tsarc_deploy *d = NULL;
	tsarc_snapshot *snap = snapshot_of(streams);
	tsarc_restore_opts o;
	tsarc_restore_ctx r;
	cJSON *report = NULL, *dump = cJSON_CreateArray();
	const cJSON *call;
	size_t i;
	fake f;
	int fd;

	(void)state;
	assert_non_null(scratch_make(dir, sizeof(dir), "plan"));
	snprintf(conf, sizeof(conf), "%s/redis.conf", dir);
	fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "port 6390\n", 10), 10);
	close(fd);
	snprintf(config, sizeof(config),
		"{\"profile\": \"none\", \"transport\": {\"type\": \"local\"}, \"components\": "
		"{\"cache\": {\"kind\": \"redis\", \"host\": \"127.0.0.1\", \"port\": 6390, "
		"\"tls\": \"verify-ca\", \"options\": [\"--cacert\", \"/etc/ca.pem\"], "
		"\"restore\": {\"config_file\": \"%s\"}}}}", conf);
	assert_int_equal(tsarc_deploy_load_text(&d, config, "test"), 0);
	fake_init(&f, "m1");
	/* The backup's command. */
	backup_of(d, "cache", "redis", &f, &comp, &prod);
	/* The backup asks the server (redis-cli INFO cluster) before its
	 * --rdb: answered (empty: not a cluster) for it, failed after. */
	f.capture_rc = 0;
	assert_int_equal(k->dump(&comp, &prod), 0);
	f.capture_rc = TSARC_EIO;
	cJSON_Delete(f.calls);
	assert_non_null(f.calls = cJSON_CreateArray());
	for (i = 0; i < prod.cmd.argc; i++)
		cJSON_AddItemToArray(dump, cJSON_CreateString(prod.cmd.argv[i]));
	assert_true(has_arg(dump, "--tls"));
	assert_true(has_arg(dump, "/etc/ca.pem"));
	/* The restore: its first redis-cli (the fake fails it: nothing more runs). */
	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	r.d = d;
	r.snap = snap;
	r.o = &o;
	use_fake(&r, &f);
	assert_int_not_equal(tsarc_restore_execute(&r, &report), 0);
	call = NULL;
	cJSON_ArrayForEach(call, f.calls)
		if (!strcmp(cJSON_GetArrayItem(call, 0)->valuestring, "capture"))
			break;
	assert_non_null(call);
	assert_string_equal(cJSON_GetArrayItem(call, 1)->valuestring, "redis-cli");
	for (i = 1; i < prod.cmd.argc; i++) {
		const char *a = prod.cmd.argv[i];
		if (!strcmp(a, "--rdb") || !strcmp(a, "-"))
			continue; /* what the backup asks, not how it connects */
		print_message("restore's redis-cli has %s: %d\n", a, has_arg(call, a));
		assert_true(has_arg(call, a));
	}
	tsarc_restore_ctx_dispose(&r);
	tsarc_cmd_free(&prod.cmd);
	tsarc_cmd_free(&prod.version_cmd);
	if (prod.writer_ctx_free) /* the RDB's head check on its way in */
		prod.writer_ctx_free(prod.writer_ctx);
	cJSON_Delete(prod.meta);
	cJSON_Delete(report);
	cJSON_Delete(dump);
	cJSON_Delete(f.calls);
	tsarc_deploy_free(d);
	tsarc_snapshot_free(snap);
	unlink(conf);
	rmdir(dir);
}

/* The backup of a PostgreSQL database refuses a pg_dump older than its
 * server (the probe's server_version_num) before it runs: 9.6 is older
 * than 10 and 15, which dump it, as 17 is newer than 15. */
static void pg_dump_version_order(void **state)
{
	static const struct {
		const char *tool, *server;
		int rc;
	} pairs[] = {
		{"pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", "90624", 0},
		{"pg_dump (PostgreSQL) 10.23", "90624", 0},
		{"pg_dump (PostgreSQL) 9.6.24", "90624", 0},
		{"pg_dump (PostgreSQL) 9.5.25", "90624", TSARC_EUNSUPPORTED},
		{"pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", "170012", TSARC_EUNSUPPORTED},
		{"pg_dump (PostgreSQL) 17.12", "150018", 0},
	};
	static const char config[] = "{\"profile\": \"none\", \"transport\": {\"type\": "
		"\"local\"}, \"components\": {\"zync\": {\"kind\": \"postgres\", \"external\": "
		"true, \"host\": \"10.0.0.5\", \"user\": \"zync\", \"database\": \"zync\"}}}";
	const tsarc_kind *k = tsarc_kind_find("postgres");
	tsarc_production prod;
	tsarc_component comp;
	tsarc_deploy *d = NULL;
	cJSON *meta;
	size_t i;
	fake f;
	int rc;

	(void)state;
	assert_int_equal(tsarc_deploy_load_text(&d, config, "test"), 0);
	fake_init(&f, "m1");
	backup_of(d, "zync", "postgres", &f, &comp, &prod);
	assert_int_equal(k->dump(&comp, &prod), 0);
	assert_non_null(prod.version_check);
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		assert_non_null(meta = cJSON_CreateObject());
		cJSON_AddStringToObject(meta, "server_version_num", pairs[i].server);
		rc = prod.version_check(meta, pairs[i].tool, "zync");
		print_message("%s against %s: %s\n", pairs[i].tool, pairs[i].server,
			rc ? tsarc_error_last()->message : "dumps it");
		assert_int_equal(rc, pairs[i].rc);
		cJSON_Delete(meta);
	}
	if (prod.writer_ctx_free)
		prod.writer_ctx_free(prod.writer_ctx);
	assert_int_equal(tsarc_db_tls_close(prod.tls), 0);
	cJSON_Delete(prod.meta);
	tsarc_cmd_free(&prod.cmd);
	tsarc_cmd_free(&prod.version_cmd);
	cJSON_Delete(f.calls);
	tsarc_deploy_free(d);
}

TSARC_TESTS_MAIN(NULL, NULL,
	cmocka_unit_test(plan_table),
	cmocka_unit_test(partial_snapshot_refused_unless_meant),
	cmocka_unit_test(plan_asks_in_the_pod),
	cmocka_unit_test(plan_says_only_what_it_found),
	cmocka_unit_test(snapshot_recipe_names_no_place),
	cmocka_unit_test(dry_run_agrees_with_run),
	cmocka_unit_test(run_applies_only_what_the_plan_showed),
	cmocka_unit_test(own_password_never_to_the_snapshots_host),
	cmocka_unit_test(own_credentials_never_to_the_snapshots_bucket),
	cmocka_unit_test(snapshots_secret_read_as_applied),
	cmocka_unit_test(storage_as_backed_up_without_an_apimanager),
	cmocka_unit_test(redis_restore_connects_like_its_backup),
	cmocka_unit_test(pg_dump_version_order))
