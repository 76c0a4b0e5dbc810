/* Whether a Redis is a whole server or a node of a Redis Cluster, from its
 * answers to INFO cluster and CLUSTER INFO (sentinel.c
 * tsarc_redis_whole_asked, which our client and redis-cli share): an
 * error reply (refused, renamed) never reads as "not a cluster". The
 * replies are Redis 7.0's, as it gives them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "cmocka_main.h"
#include <stdlib.h>
#include <string.h>

#include "redis.h"
#include "sentinel.h"
#include "tsarc/errors.h"

#define ENABLED_0 "# Cluster\r\ncluster_enabled:0\r\n"
#define ENABLED_1 "# Cluster\r\ncluster_enabled:1\r\n"
#define SHARDS_3 "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_size:3\r\n"
#define SHARDS_1 "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_size:1\r\n"
#define INFO_NOPERM "NOPERM this user has no permissions to run the 'info' command"
#define INFO_RENAMED "ERR unknown command 'INFO', with args beginning with: 'cluster' "
#define CL_NOPERM "NOPERM this user has no permissions to run the 'cluster|info' command"
#define CL_RENAMED "ERR unknown command 'CLUSTER', with args beginning with: 'INFO' "
#define CL_DISABLED "ERR This instance has cluster support disabled"
#define NOAUTH "NOAUTH Authentication required."

/* A server's answers; a NULL answer fails the question (a transport that
 * could not run redis-cli). */
typedef struct server {
	const char *info;
	int info_error;
	const char *cluster;
	int cluster_error;
	int asked; /* questions put */
} server;

static int ask(void *arg, const char *a1, const char *a2, tsarc_redis_answer *out)
{
	server *s = arg;
	int first = !strcmp(a1, "INFO") && !strcmp(a2, "cluster");
	const char *text = first ? s->info : s->cluster;

	assert_true(first || (!strcmp(a1, "CLUSTER") && !strcmp(a2, "INFO")));
	assert_int_equal(s->asked++, first ? 0 : 1);
	if (!text)
		return tsarc_error_set(TSARC_EIO, "the transport failed");
	out->error = first ? s->info_error : s->cluster_error;
	out->text = strdup(text);
	assert_non_null(out->text);
	return 0;
}

/* A server, the decision's code, how many questions it put, and what its
 * error says. */
typedef struct decision {
	const char *name;
	server s;
	int rc;
	int asked;
	const char *says[5];
} decision;

static const decision DECISIONS[] = {
	/* INFO answered: as before, CLUSTER INFO asked of a cluster's node only. */
	{"not a cluster", {ENABLED_0, 0, NULL, 0, 0}, 0, 1, {NULL}},
	{"a node of 3 shards", {ENABLED_1, 0, SHARDS_3, 0, 0}, TSARC_EUNSUPPORTED, 2,
		{"Redis at h:7001 is a node of a Redis Cluster of 3 shards",
			"nothing was read or written"}},
	{"a cluster of one shard", {ENABLED_1, 0, SHARDS_1, 0, 0}, 0, 2, {NULL}},
	{"a node whose shards are not told", {ENABLED_1, 0, CL_NOPERM, 1, 0}, TSARC_EUNSUPPORTED,
		2, {"whose shards it does not tell", "refuses CLUSTER INFO to this user (" CL_NOPERM
			"): grant the user +cluster|info"}},
	/* INFO refused or renamed: CLUSTER INFO tells. Before, the error
	 * reply read as "not a cluster", and a node passed for a whole
	 * server. */
	{"INFO refused, 3 shards", {INFO_NOPERM, 1, SHARDS_3, 0, 0}, TSARC_EUNSUPPORTED, 2,
		{"Redis Cluster of 3 shards"}},
	{"INFO renamed, 3 shards", {INFO_RENAMED, 1, SHARDS_3, 0, 0}, TSARC_EUNSUPPORTED, 2,
		{"Redis Cluster of 3 shards"}},
	{"INFO refused, one shard", {INFO_NOPERM, 1, SHARDS_1, 0, 0}, 0, 2, {NULL}},
	{"INFO refused, not a cluster", {INFO_NOPERM, 1, CL_DISABLED, 1, 0}, 0, 2, {NULL}},
	{"INFO renamed, not a cluster", {INFO_RENAMED, 1, CL_DISABLED, 1, 0}, 0, 2, {NULL}},
	/* Neither tells: refused, naming the server, each refusal and what
	 * to grant. */
	{"both refused", {INFO_NOPERM, 1, CL_NOPERM, 1, 0}, TSARC_EACCESS, 2,
		{"Redis at h:7001 does not tell this user whether it is a node of a Redis Cluster",
			"refuses INFO cluster to this user (" INFO_NOPERM "): grant the user +info",
			"refuses CLUSTER INFO to this user (" CL_NOPERM "): grant the user "
			"+cluster|info", "nothing was read or written"}},
	{"both renamed", {INFO_RENAMED, 1, CL_RENAMED, 1, 0}, TSARC_EUNSUPPORTED, 2,
		{"does not know INFO cluster (ERR unknown command 'INFO', with args beginning with: "
			"'cluster'): renamed or disabled in its configuration (rename-command)",
			"does not know CLUSTER INFO (ERR unknown command 'CLUSTER'"}},
	{"another error (redis-cli after a failed AUTH)", {NOAUTH, 1, NOAUTH, 1, 0}, TSARC_EIO, 2,
		{"answered INFO cluster with an error: " NOAUTH,
			"answered CLUSTER INFO with an error: " NOAUTH}},
	/* A question that could not be put fails as it failed. */
	{"CLUSTER INFO not put", {INFO_NOPERM, 1, NULL, 0, 0}, TSARC_EIO, 2,
		{"the transport failed"}},
	{"INFO not put", {NULL, 0, NULL, 0, 0}, TSARC_EIO, 1, {"the transport failed"}},
};

static void decisions(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(DECISIONS) / sizeof(DECISIONS[0]); i++) {
		const decision *d = &DECISIONS[i];
		server s = d->s;
		int rc = tsarc_redis_whole_asked("h:7001", ask, &s);

		if (rc != d->rc || s.asked != d->asked)
			fail_msg("%s: code %d, %d questions; wanted %d, %d", d->name, rc, s.asked,
				d->rc, d->asked);
		for (j = 0; d->says[j]; j++)
			if (!strstr(tsarc_error_last()->message, d->says[j]))
				fail_msg("%s: wants \"%s\" in: %s", d->name, d->says[j],
					tsarc_error_last()->message);
		tsarc_error_clear();
	}
}

/* redis-cli's answers, as its asker tells an error reply (printed, exit
 * 0) from an answer. */
static void cli_error_replies(void **state)
{
	static const char *const errors[] = {INFO_NOPERM "\n", INFO_RENAMED "\n", CL_DISABLED "\n",
		NOAUTH "\n", NULL};
	static const char *const answers[] = {ENABLED_0, SHARDS_3, "OK\n", "PONG\n", "dir\n/data\n",
		"", NULL};
	size_t i;

	(void)state;
	for (i = 0; errors[i]; i++)
		assert_true(tsarc_redis_cli_error_reply(errors[i]));
	for (i = 0; answers[i]; i++)
		assert_false(tsarc_redis_cli_error_reply(answers[i]));
}

TSARC_TESTS_MAIN(NULL, NULL, cmocka_unit_test(decisions), cmocka_unit_test(cli_error_replies))
