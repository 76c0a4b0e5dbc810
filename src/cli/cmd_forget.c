/* Retention: forget, prune, unlock. */
#include "cli.h"
#include "metrics.h"
#include "lock.h"
#include "objlock.h"
#include "forgotten.h"
#include "grow.h"
#include "prune.h"
#include "retention.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_KEEP_TAGS 64

static const char FORGET_HELP[] =
	"Usage: tsarc forget [policy] [options]\n"
	"       tsarc forget SNAPSHOT... [options]\n"
	"\n"
	"Removes snapshots, either those named, or those a keep-policy does not\n"
	"keep. Snapshots are grouped (--group-by) and the policy applies to each\n"
	"group: by default one group per host and what was backed up (its streams'\n"
	"names and the deployment they were taken from, cluster and namespace\n"
	"included), so that one deployment's backups never push another's out,\n"
	"nor a backup of some components a whole one. A group that gets no new\n"
	"backups (the components changed) keeps its newest: name them to remove\n"
	"them. Time buckets (hour, day, ISO week, month, year) are in UTC. The\n"
	"chunks of removed snapshots are freed by prune (or --prune). A damaged\n"
	"snapshot (one that does not decrypt or parse) is kept by a policy and\n"
	"named; give its id to remove it (prune refuses while one is left). A\n"
	"policy that would keep nothing of a group (--keep-tag with a tag none of\n"
	"it has) is refused, and nothing is removed. Undo snapshots (restore\n"
	"--undo-snapshot) are always a group of their own: --keep-tag undo\n"
	"keeps them. So are backups taken while the deployment was half-restored\n"
	"(marked restore_pending, never restore's latest).\n"
	"Under Object Lock, the id of a snapshot hidden by another hand than\n"
	"tsarc's forget (reported by check, extend-retention and prune) is taken\n"
	"too: forget marks it, confirming that it may go.\n"
	"\n"
	"Policy:\n";

typedef struct forget_state {
	tsarc_keep_policy policy;
	const char *tags[MAX_KEEP_TAGS];
	const char *group_by;
	int dry_run;
	int prune;
	unsigned max_unused;
} forget_state;

/* --max-unused: a whole percent, 0 to 100, the '%' optional. */
static int parse_max_unused(const char *cmd, const char *arg, unsigned *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end == '%')
		end++;
	if (*end || end == arg || v < 0 || v > 100)
		return cli_usage_error(cmd, "--max-unused takes a percent from 0 to 100");
	*out = (unsigned)v;
	return 0;
}

static int parse_count(const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end || !*arg || v < -1 || v > 1000000)
		return -1;
	*out = (int)v;
	return 0;
}

static const cli_option FORGET_OPTIONS[] = {
	{"keep-last", 1, "N", "the N newest snapshots", CLI_OWN, 0},
	{"keep-hourly", 2, "N", "the newest snapshot of each of the last N hours that have one",
		CLI_OWN, 0},
	{"keep-daily", 3, "N", "... days (UTC)", CLI_OWN, 0},
	{"keep-weekly", 4, "N", "... ISO weeks (Monday to Sunday, UTC)", CLI_OWN, 0},
	{"keep-monthly", 5, "N", "... months (UTC)", CLI_OWN, 0},
	{"keep-yearly", 6, "N", "... years (UTC)\n(N = -1: no limit)", CLI_OWN, 0},
	{"keep-within", 7, "DUR",
		"every snapshot within DUR of the newest (e.g. 7d, 36h, 2w, 1y6m);\n"
		"of the store's clock when the newest is dated after it", CLI_OWN, 0},
	{"keep-tag", 8, "TAG", "every snapshot with this tag (repeatable)", CLI_OWN, 0},
	{NULL, 0, NULL, "\nOptions:\n", CLI_OWN, 0},
	{"group-by", 9, "KEYS", "host, source, tags, namespace, comma-separated, or ''\n"
		"for one group (default: host,source)", CLI_STRING,
		offsetof(forget_state, group_by)},
	{"dry-run", 'n', NULL, "show what would be removed; remove nothing (takes\n"
		"only a shared lock, so running backups go on); with\n"
		"--prune, what the prune after the removal would free",
		CLI_FLAG, offsetof(forget_state, dry_run)},
	{"prune", 10, NULL, "run prune afterwards", CLI_FLAG, offsetof(forget_state, prune)},
	{"max-unused", 11, "N%", "with --prune: see 'tsarc prune --help'", CLI_OWN, 0},
	{0},
};

static int forget_option(int opt, const char *arg, void *state)
{
	forget_state *s = state;
	int *target = NULL;

	switch (opt) {
	case 1: target = &s->policy.last; break;
	case 2: target = &s->policy.hourly; break;
	case 3: target = &s->policy.daily; break;
	case 4: target = &s->policy.weekly; break;
	case 5: target = &s->policy.monthly; break;
	case 6: target = &s->policy.yearly; break;
	case 7:
		if (tsarc_parse_within(arg, &s->policy))
			return cli_usage_error("forget", "%s", tsarc_error_last()->message);
		return 0;
	case 8:
		if (s->policy.ntags == MAX_KEEP_TAGS)
			return cli_usage_error("forget", "at most %d --keep-tag", MAX_KEEP_TAGS);
		s->tags[s->policy.ntags++] = arg;
		return 0;
	case 11:
		return parse_max_unused("forget", arg, &s->max_unused);
	default:
		return EXIT_USAGE;
	}
	if (parse_count(arg, target))
		return cli_usage_error("forget", "keep counts are whole numbers (-1: no limit)");
	return 0;
}

/* The --group-by fields, as a mask. */
enum {
	GROUP_HOST = 1,
	GROUP_TAGS = 2,
	GROUP_NAMESPACE = 4,
	GROUP_SOURCE = 8,
};

/* The default: a keep-policy counts a group's snapshots against each
 * other, so two things backed up under one host (two dumps sent from one
 * machine, two deployments whose CronJobs record one --host) must not
 * share a group, or the later one's backups push the other's out of every
 * bucket. As restic's host,paths. */
#define GROUP_DEFAULT "host,source"

static int name_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* `names` (n of them, a scratch array the caller sorts in place) as a
 * sorted JSON array `key` of `parent`: a set, whose order makes no other
 * group. */
static int add_sorted(cJSON *parent, const char *key, const char **names, size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(parent, key);
	size_t i;

	if (!a)
		return -1;
	qsort(names, n, sizeof(*names), name_order);
	for (i = 0; i < n; i++)
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(names[i])))
			return -1;
	return 0;
}

/* By name, then value: a field a hostile writer named twice sorts the same
 * way every time. */
static int field_order(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	int c = strcmp(x->string, y->string);

	return c ? c : strcmp(x->valuestring, y->valuestring);
}

/*
 * What a snapshot backed up, as forget's "source": the place its deployment
 * was recorded at (the text fields of a stream's "deployment": transport,
 * cluster, context, namespace; host and resources_dir on this host), and
 * the names of its streams. The streams count too: a backup of some of a
 * deployment's components (a configuration of the database alone, before
 * a schema change) is not a whole one, and must not take the place of the
 * day's whole backup. Read from the repository, which may
 * be hostile: only strings are taken, a field named twice once, as they are
 * (print_group cleans what it shows). `room` has room for a pointer to
 * each stream and each field of the deployment.
 */
static int add_source(cJSON *key, const tsarc_snapshot *s, void *room)
{
	const cJSON *dep = tsarc_snapshot_deployment(s), *f, **fields = room;
	const char **names = room;
	cJSON *src = cJSON_AddObjectToObject(key, "source"), *place;
	size_t n = 0, i;

	if (!src)
		return -1;
	if (dep) {
		if (!(place = cJSON_AddObjectToObject(src, "deployment")))
			return -1;
		cJSON_ArrayForEach(f, dep)
			if (cJSON_IsString(f) && f->string)
				fields[n++] = f;
		qsort(fields, n, sizeof(*fields), field_order);
		for (i = 0; i < n; i++)
			if ((!i || strcmp(fields[i - 1]->string, fields[i]->string)) &&
				!cJSON_AddStringToObject(place, fields[i]->string, fields[i]->valuestring))
				return -1;
	}
	for (i = 0; i < s->nstreams; i++)
		names[i] = s->streams[i].name;
	return add_sorted(src, "streams", names, s->nstreams);
}

/* The group's key as JSON text (the caller frees it with cJSON_free);
 * NULL when out of memory. `by` is a mask of GROUP_*. */
static char *group_key(const tsarc_snapshot *s, unsigned by)
{
	cJSON *key = cJSON_CreateObject();
	char *text = NULL;
	const cJSON *dep = tsarc_snapshot_deployment(s);
	const char **names;
	size_t i;

	if (!key)
		return NULL;
	/* Room for the tags, or the streams and the deployment's fields. */
	if (!(names = calloc(s->ntags + s->nstreams + (size_t)cJSON_GetArraySize(dep) + 1,
		      sizeof(*names))))
		goto done;
	if ((by & GROUP_HOST) && !cJSON_AddStringToObject(key, "host", s->host))
		goto done;
	if (by & GROUP_TAGS) {
		for (i = 0; i < s->ntags; i++)
			names[i] = s->tags[i];
		if (add_sorted(key, "tags", names, s->ntags))
			goto done;
	}
	if (by & GROUP_NAMESPACE) {
		const cJSON *ns = s->meta ? cJSON_GetObjectItemCaseSensitive(s->meta, "namespace") : NULL;
		if (!cJSON_AddStringToObject(key, "namespace",
			    cJSON_IsString(ns) ? ns->valuestring : ""))
			goto done;
	}
	if ((by & GROUP_SOURCE) && add_source(key, s, names))
		goto done;
	/* Whatever the grouping: an undo snapshot counted in a group of
	 * backups would take a backup's place (snapshot.h). */
	if (tsarc_snapshot_is_undo(s) && !cJSON_AddTrueToObject(key, "undo"))
		goto done;
	/* Nor a backup of a half-restored deployment (snapshot.h): a run of
	 * them would push whole backups out of the policy. */
	if (tsarc_snapshot_is_half_restored(s) && !cJSON_AddTrueToObject(key, "half_restored"))
		goto done;
	text = cJSON_PrintUnformatted(key);
done:
	free(names);
	cJSON_Delete(key);
	return text;
}

static int parse_group_by(const char *spec, unsigned *by)
{
	char buf[256], *tok, *save = NULL;

	*by = 0;
	if (strlen(spec) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "host"))
			*by |= GROUP_HOST;
		else if (!strcmp(tok, "tags"))
			*by |= GROUP_TAGS;
		else if (!strcmp(tok, "namespace"))
			*by |= GROUP_NAMESPACE;
		else if (!strcmp(tok, "source"))
			*by |= GROUP_SOURCE;
		else
			return -1;
	}
	return 0;
}

/* NULL when out of memory. */
static cJSON *snapshot_line(const tsarc_snapshot *s, unsigned reasons)
{
	cJSON *o = cJSON_CreateObject(), *r;
	unsigned bit;

	if (!o || !cJSON_AddStringToObject(o, "id", s->id) ||
		!cJSON_AddStringToObject(o, "time", s->time) ||
		!cJSON_AddStringToObject(o, "host", s->host) ||
		!(r = cJSON_AddArrayToObject(o, "reasons")))
		goto fail;
	for (bit = 1; bit <= TSARC_KEEP_TAG; bit <<= 1)
		if ((reasons & bit) &&
			!cJSON_AddItemToArray(r, cJSON_CreateString(tsarc_keep_reason_name(bit))))
			goto fail;
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

static void print_group(const char *key, cJSON *keep, cJSON *rm)
{
	/* The key holds the snapshots' host, tags and namespace: cJSON
	 * escaped their C0 controls, not C1 ones or U+202E and the like. */
	char *shown = cli_text_copy(key);
	const cJSON *it, *r;

	printf("group %s\n", shown ? shown : "?");
	free(shown);
	printf("  keep %d snapshot%s:\n", cJSON_GetArraySize(keep),
		cJSON_GetArraySize(keep) == 1 ? "" : "s");
	cJSON_ArrayForEach(it, keep) {
		printf("    %.10s  %.20s  ", cJSON_GetObjectItem(it, "id")->valuestring,
			cJSON_GetObjectItem(it, "time")->valuestring);
		cJSON_ArrayForEach(r, cJSON_GetObjectItem(it, "reasons"))
			printf(" %s", r->valuestring);
		printf("\n");
	}
	printf("  remove %d snapshot%s:\n", cJSON_GetArraySize(rm),
		cJSON_GetArraySize(rm) == 1 ? "" : "s");
	cJSON_ArrayForEach(it, rm)
		printf("    %.10s  %.20s\n", cJSON_GetObjectItem(it, "id")->valuestring,
			cJSON_GetObjectItem(it, "time")->valuestring);
}

/* {"count": N, "until": TIME} under `name` (no until when none). */
static void add_time(cJSON *doc, const char *name, size_t count, int64_t until)
{
	cJSON *o = cJSON_AddObjectToObject(doc, name);
	char when[40];

	cJSON_AddNumberToObject(o, "count", (double)count);
	if (count) {
		tsarc_time_format(until, 0, when, sizeof(when));
		cJSON_AddStringToObject(o, "until", when);
	}
}

/*
 * Removes a snapshot object (forgotten.h). With Object Lock, one whose
 * retention has not passed is hidden (gone from every listing, so its
 * chunks become prunable and are hidden in turn), and its version stays
 * in the bucket until the date; it is said, and listed under "retained"
 * in the JSON document.
 */
static int remove_snapshot(tsarc_repo *repo, const char *id, int json, cJSON *doc)
{
	int64_t kept_until;
	char when[40];
	cJSON *arr, *o;
	int rc = tsarc_snapshot_forget(repo, id, (int64_t)time(NULL), &kept_until);

	if (rc || !kept_until)
		return rc;
	tsarc_time_format(kept_until, 0, when, sizeof(when));
	if (!json && repo->retention.mode)
		printf("snapshot %.10s is under Object Lock until %s: hidden now, deleted for "
		       "good by a prune after that date\n", id, when);
	else if (!json)
		printf("snapshot %.10s is retained by the bucket until %s: only hidden, not "
		       "deleted; no prune deletes it, as this repository has no Object Lock "
		       "(see docs/object-lock.md)\n", id, when);
	if (!(arr = cJSON_GetObjectItem(doc, "retained")))
		arr = cJSON_AddArrayToObject(doc, "retained");
	if (!arr || !(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(arr, o) ||
		!cJSON_AddStringToObject(o, "id", id) || !cJSON_AddStringToObject(o, "until", when))
		return tsarc_error_set(TSARC_ENOMEM, "out of memory");
	return 0;
}

/* Format 2: what happened to the packs. */
static void add_pack_figures(cJSON *p, const tsarc_prune_result *r, unsigned max_unused)
{
	cJSON_AddNumberToObject(p, "max_unused_percent", max_unused);
	cJSON_AddNumberToObject(p, "packs_stored", (double)r->packs_stored);
	cJSON_AddNumberToObject(p, "packs_deleted", (double)r->packs_deleted);
	cJSON_AddNumberToObject(p, "packs_repacked", (double)r->packs_repacked);
	cJSON_AddNumberToObject(p, "packs_small_combined", (double)r->packs_small);
	cJSON_AddNumberToObject(p, "packs_unindexed", (double)r->packs_unindexed);
	cJSON_AddNumberToObject(p, "packs_young", (double)r->packs_young);
	cJSON_AddNumberToObject(p, "packs_missing", (double)r->packs_missing);
	cJSON_AddNumberToObject(p, "packs_written", (double)r->packs_written);
	cJSON_AddNumberToObject(p, "bytes_repacked", (double)r->bytes_repacked);
	cJSON_AddNumberToObject(p, "bytes_unused_left", (double)r->bytes_unused_left);
	cJSON_AddNumberToObject(p, "index_written", (double)r->index_written);
	cJSON_AddNumberToObject(p, "index_removed", (double)r->index_removed);
}

/* Format 2 under Object Lock: what stays until its date, with its bytes. */
static void add_locked(cJSON *p, const char *name, size_t count, const char *bytes_name,
	uint64_t bytes, int64_t until)
{
	add_time(p, name, count, until);
	cJSON_AddNumberToObject(cJSON_GetObjectItemCaseSensitive(p, name), bytes_name,
		(double)bytes);
}

static void add_pack_locks(cJSON *p, const tsarc_prune_result *r, int dry_run)
{
	add_locked(p, "packs_locked", r->packs_locked, "unused_bytes", r->bytes_locked_unused,
		r->packs_locked_until);
	add_locked(p, "packs_kept", r->packs_kept, "bytes", r->bytes_kept_packs,
		r->packs_kept_until);
	/* The old index objects are named once the merged one is written. */
	if (dry_run)
		return;
	add_locked(p, "index_kept", r->index_kept, "bytes", r->bytes_kept_index,
		r->index_kept_until);
}

static void print_pack_locks(const tsarc_repo *repo, const tsarc_prune_result *r, int dry_run,
	unsigned max_unused)
{
	char when[40], size[32], isize[32];

	if (r->packs_locked) {
		tsarc_time_format(r->packs_locked_until, 0, when, sizeof(when));
		cli_format_bytes(size, sizeof(size), (double)r->bytes_locked_unused);
		printf("Object Lock: %zu packs more than %u%% unused (%s unused in them) not "
		       "repacked: retained until %s at the latest, they cannot go before, so "
		       "copying them would only add bytes\n", r->packs_locked, max_unused, size,
			when);
	}
	if (dry_run && r->packs_kept) {
		tsarc_time_format(r->packs_kept_until, 0, when, sizeof(when));
		cli_format_bytes(size, sizeof(size), (double)r->bytes_kept_packs);
		printf("Object Lock: %zu packs (%s) would be only hidden, not deleted: retained "
		       "until %s at the latest\n", r->packs_kept, size, when);
	}
	if (dry_run || (!r->packs_kept && !r->index_kept))
		return;
	tsarc_time_format(r->packs_kept_until > r->index_kept_until ? r->packs_kept_until
		: r->index_kept_until, 0, when, sizeof(when));
	cli_format_bytes(size, sizeof(size), (double)r->bytes_kept_packs);
	cli_format_bytes(isize, sizeof(isize), (double)r->bytes_kept_index);
	printf("Object Lock: %zu packs (%s) and %zu index objects (%s) only hidden, not "
	       "deleted: retained until %s at the latest; %s\n",
		r->packs_kept, size, r->index_kept, isize, when, cli_hidden_fate(repo));
}

static void print_pack_figures(const tsarc_prune_result *r, int dry_run, unsigned max_unused)
{
	char copied[32], left[32];

	cli_format_bytes(copied, sizeof(copied), (double)r->bytes_repacked);
	cli_format_bytes(left, sizeof(left), (double)r->bytes_unused_left);
	printf("%zu of %zu packs %s: %zu wholly unused, %zu in no index; %zu more than "
	       "%u%% unused and %zu small ones %s (%s of live chunks copied)\n",
		r->packs_deleted + r->packs_unindexed + r->packs_repacked, r->packs_stored,
		dry_run ? "would be deleted" : "deleted", r->packs_deleted, r->packs_unindexed,
		r->packs_repacked - r->packs_small, max_unused, r->packs_small,
		dry_run ? "would be repacked" : "repacked", copied);
	printf("%s unused left in the packs kept", left);
	if (r->packs_young)
		printf("; %zu packs younger than a running backup's lock left alone", r->packs_young);
	if (r->packs_missing)
		printf("; %zu packs the index named are not stored (run 'tsarc check')",
			r->packs_missing);
	printf("\n");
}

/* `gone`: the snapshots a dry run of forget would have removed, which its
 * prune counts as gone. */
static int run_prune(tsarc_repo *repo, tsarc_lock *lock, const tsarc_strv *gone, int dry_run,
	unsigned max_unused, int json, cJSON *doc)
{
	tsarc_prune_result res;
	int rc = tsarc_prune_after(repo, lock, (const char *const *)gone->v, gone->n, dry_run,
		max_unused, &res);
	char freed[32];

	if (rc)
		return rc;
	if (!dry_run) {
		cli_metrics_set(CLI_M_PRUNE_FREED, (double)res.bytes_removed);
		cli_metrics_set(CLI_M_PRUNE_FREED_CHUNKS, (double)res.chunks_removed);
		cli_metrics_set(CLI_M_REPO_SIZE,
			(double)(res.bytes_stored + res.bytes_added - res.bytes_removed));
		cli_metrics_set(CLI_M_REPO_CHUNKS, (double)(res.chunks_stored - res.chunks_removed));
		cli_metrics_set(CLI_M_SNAPSHOTS, (double)res.snapshots);
	}
	if (json) {
		cJSON *p = cJSON_AddObjectToObject(doc, "prune");
		cJSON_AddBoolToObject(p, "dry_run", dry_run);
		cJSON_AddNumberToObject(p, "snapshots", (double)res.snapshots);
		cJSON_AddNumberToObject(p, "chunks_stored", (double)res.chunks_stored);
		cJSON_AddNumberToObject(p, "chunks_referenced", (double)res.chunks_referenced);
		cJSON_AddNumberToObject(p, "chunks_removed", (double)res.chunks_removed);
		cJSON_AddNumberToObject(p, "chunks_young", (double)res.chunks_young);
		cJSON_AddNumberToObject(p, "bytes_stored", (double)res.bytes_stored);
		cJSON_AddNumberToObject(p, "bytes_removed", (double)res.bytes_removed);
		cJSON_AddNumberToObject(p, "bytes_added", (double)res.bytes_added);
		cJSON_AddNumberToObject(p, "temp_removed", (double)res.temp_removed);
		cJSON_AddNumberToObject(p, "temp_bytes_removed", (double)res.temp_bytes_removed);
		if (repo->version >= 2)
			add_pack_figures(p, &res, max_unused);
		/* What the store only hid, with Object Lock or not (a bucket that
		 * retains every version). */
		if (repo->version >= 2 && (repo->retention.mode || res.packs_kept || res.index_kept))
			add_pack_locks(p, &res, dry_run);
		if (repo->version < 2 && (repo->retention.mode || res.chunks_kept))
			add_time(p, "chunks_kept", res.chunks_kept, res.chunks_kept_until);
		if (repo->retention.mode) {
			cJSON_AddNumberToObject(p, "hidden_removed", (double)res.hidden_removed);
			add_time(p, "hidden_kept", res.hidden_kept, res.hidden_kept_until);
		}
		return 0;
	}
	cli_format_bytes(freed, sizeof(freed),
		(double)(res.bytes_added ? res.bytes_added : res.bytes_removed));
	printf("%s%zu of %zu chunks unreferenced by the %zu snapshots: %zu objects, ",
		dry_run ? "[dry run] " : "", res.chunks_removed, res.chunks_stored, res.snapshots,
		res.chunks_removed);
	/* A repack's new packs outweigh what went for good when what they
	 * replace was only hidden: the store grew. */
	if (res.bytes_added)
		printf("nothing %s: the store %s %s more\n", dry_run ? "would be freed" : "freed",
			dry_run ? "would hold" : "holds", freed);
	else
		printf("%s %s\n", freed, dry_run ? "would be freed" : "freed");
	if (res.chunks_young)
		printf("%zu unreferenced chunks kept: younger than a running backup's lock\n",
			res.chunks_young);
	if (res.temp_removed) {
		cli_format_bytes(freed, sizeof(freed), (double)res.temp_bytes_removed);
		printf("%zu temporary files of killed runs removed (%s)\n", res.temp_removed, freed);
	}
	if (repo->version >= 2)
		print_pack_figures(&res, dry_run, max_unused);
	if (repo->version >= 2)
		print_pack_locks(repo, &res, dry_run, max_unused);
	if (res.chunks_kept) {
		tsarc_time_format(res.chunks_kept_until, 0, freed, sizeof(freed));
		printf("Object Lock: %zu of them %s hidden, their retention runs until %s at "
		       "the latest; %s\n", res.chunks_kept,
			dry_run ? "would be only" : "only", freed, cli_hidden_fate(repo));
	}
	if (res.hidden_removed || res.hidden_kept) {
		tsarc_time_format(res.hidden_kept_until, 0, freed, sizeof(freed));
		printf("Object Lock: %zu hidden objects of earlier runs %s for good, %zu still "
		       "retained%s%s\n", res.hidden_removed,
			dry_run ? "would be deleted" : "deleted", res.hidden_kept,
			res.hidden_kept ? " until " : "", res.hidden_kept ? freed : "");
	}
	return 0;
}

/*
 * A damaged snapshot must not stop retention (a nightly forget that fails
 * forever lets the repository grow without end), and it must be possible
 * to remove it: a policy cannot judge a snapshot whose time and tags it
 * cannot read, so it keeps it and says so; naming its id removes it.
 */
typedef struct damaged_set {
	cJSON *ids; /* the damaged snapshots' ids, in the report */
	int by_policy;
} damaged_set;

static void note_damaged(const char *id, int code, const char *msg, void *payload)
{
	damaged_set *d = payload;

	(void)code;
	cJSON_AddItemToArray(d->ids, cJSON_CreateString(id));
	if (d->by_policy)
		cli_log(TSARC_LOG_WARN, "damaged_snapshot_kept", "%s: kept, as a policy cannot "
			"judge it (tsarc forget %.12s removes it)", msg, id);
}

static int is_damaged(const damaged_set *d, const char *id)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, d->ids)
		if (!strcmp(cJSON_GetStringValue(it), id))
			return 1;
	return 0;
}

int cmd_forget(int argc, char **argv)
{
	static const cli_command cmd = {"forget", FORGET_HELP, FORGET_OPTIONS, forget_option,
		CLI_ANY_OPERANDS, NULL, CLI_WRITES, NULL, 0};
	forget_state s;
	tsarc_snapshot **snaps = NULL;
	tsarc_repo *repo = NULL;
	tsarc_lock *lock = NULL;
	unsigned *reasons = NULL;
	char **keys = NULL;
	size_t n = 0, i, k, removed = 0;
	unsigned by;
	int rc, explicit_ids;
	cJSON *doc = NULL, *groups = NULL;
	damaged_set damaged = {NULL, 0};
	tsarc_strv gone = {NULL, 0, 0}; /* a dry run's: what it would remove */
	char *emptied = NULL; /* the first group the policy would keep nothing of */
	size_t nemptied = 0;
	int undo_emptied = 0; /* and the undo group (tsarc_snapshot_is_undo) */
	cli_common c;

	memset(&s, 0, sizeof(s));
	s.group_by = GROUP_DEFAULT;
	s.max_unused = TSARC_PRUNE_MAX_UNUSED_DEFAULT;
	if ((rc = cli_start(&cmd, argc, argv, &c, &s)) != CLI_GO_ON)
		return rc;
	s.policy.tags = s.tags;
	explicit_ids = optind < argc;
	if (explicit_ids && !tsarc_keep_policy_empty(&s.policy))
		return cli_usage_error("forget", "give either snapshots or a policy, not both");
	if (!explicit_ids && tsarc_keep_policy_empty(&s.policy))
		return cli_usage_error("forget",
			"no policy given: nothing would be kept, so nothing is removed "
			"(use --keep-* options or name snapshots)");
	if (parse_group_by(s.group_by, &by))
		return cli_usage_error("forget", "--group-by takes host, tags, namespace, source");
	if ((rc = cli_open_repo(&c, &repo)))
		return cli_fail(rc);
	/* A dry run changes nothing, so it must not make a backup fail: a
	 * shared lock, which still keeps a prune from changing what it reads
	 * and lets its prune count spare a running backup's chunks. */
	if ((rc = tsarc_lock_acquire(&lock, repo, !s.dry_run)))
		goto done;
	/* The store's clock, which a writer's clock ahead cannot move. */
	s.policy.now = tsarc_lock_since(lock);
	if (!(doc = cJSON_CreateObject()) || !(groups = cJSON_AddArrayToObject(doc, "groups")) ||
		!(damaged.ids = cJSON_AddArrayToObject(doc, "damaged"))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	damaged.by_policy = !explicit_ids;
	if ((rc = tsarc_snapshot_load_all_headers(repo, &snaps, &n, note_damaged, &damaged)))
		goto done;
	if (!(reasons = calloc(n ? n : 1, sizeof(*reasons))) ||
		!(keys = calloc(n ? n : 1, sizeof(*keys)))) {
		rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
		goto done;
	}
	if (explicit_ids) {
		/* Keep everything but the snapshots named. */
		for (i = 0; i < n; i++)
			reasons[i] = TSARC_KEEP_LAST;
		for (k = (size_t)optind; k < (size_t)argc; k++) {
			char id[TSARC_ID_HEX_LEN + 1];
			if ((rc = tsarc_snapshot_resolve(repo, argv[k], id)) == TSARC_ENOTFOUND &&
				repo->retention.mode) {
				/* Hidden by another hand: the operator confirms it may go. */
				if ((rc = tsarc_forgotten_resolve(repo, argv[k], id)))
					goto done;
				if (!s.dry_run && (rc = remove_snapshot(repo, id, c.json, doc)))
					goto done;
				if (s.dry_run &&
					(rc = tsarc_strv_push(&gone.v, &gone.n, &gone.cap, 16, id)))
					goto done;
				if (!c.json)
					printf("hidden snapshot %.12s (no forget of tsarc's hid it) %s\n",
						id, s.dry_run ? "would be marked forgotten"
							      : "marked forgotten");
				removed++;
				continue;
			}
			if (rc)
				goto done;
			for (i = 0; i < n; i++)
				if (!strcmp(snaps[i]->id, id))
					reasons[i] = 0;
			if (!is_damaged(&damaged, id))
				continue;
			if (!c.json)
				printf("remove damaged snapshot %.12s\n", id);
			if (!s.dry_run && (rc = remove_snapshot(repo, id, c.json, doc)))
				goto done;
			if (s.dry_run && (rc = tsarc_strv_push(&gone.v, &gone.n, &gone.cap, 16, id)))
				goto done;
			removed++;
		}
		for (i = 0; i < n; i++)
			if (!(keys[i] = strdup("{}"))) {
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
				goto done;
			}
	} else {
		for (i = 0; i < n; i++)
			if (!(keys[i] = group_key(snaps[i], by))) {
				rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
				goto done;
			}
	}
	/* One pass per distinct group, in order of first appearance. */
	for (i = 0; i < n; i++) {
		tsarc_retention_item *items;
		size_t *idx, m = 0, j;
		cJSON *g, *keep, *rm;
		int seen = 0;
		for (j = 0; j < i && !seen; j++)
			seen = !strcmp(keys[j], keys[i]);
		if (seen)
			continue;
		items = calloc(n, sizeof(*items));
		idx = calloc(n, sizeof(*idx));
		if (!items || !idx) {
			free(items);
			free(idx);
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		for (j = i; j < n; j++) {
			if (strcmp(keys[j], keys[i]))
				continue;
			items[m].time_unix = snaps[j]->time_unix;
			items[m].time = snaps[j]->time;
			items[m].id = snaps[j]->id;
			items[m].tags = (const char *const *)snaps[j]->tags;
			items[m].ntags = snaps[j]->ntags;
			idx[m++] = j;
		}
		if (!explicit_ids) {
			tsarc_retention_apply(&s.policy, items, m);
			for (j = 0; j < m; j++)
				reasons[idx[j]] = items[j].reasons;
		}
		free(items);
		/* Added to the document at once, so that it owns the group. */
		keep = rm = NULL;
		rc = 0;
		if (!(g = cJSON_CreateObject()) || !cJSON_AddItemToArray(groups, g) ||
			!cJSON_AddItemToObject(g, "group", cJSON_Parse(keys[i])) ||
			!(keep = cJSON_AddArrayToObject(g, "keep")) ||
			!(rm = cJSON_AddArrayToObject(g, "remove")))
			rc = TSARC_ENOMEM;
		/* Newest first, as the policy reads them. */
		for (j = m; !rc && j-- > 0;) {
			size_t x = idx[j];
			if (!cJSON_AddItemToArray(reasons[x] ? keep : rm,
				    snapshot_line(snaps[x], explicit_ids ? 0 : reasons[x])))
				rc = TSARC_ENOMEM;
		}
		free(idx);
		if (rc) {
			rc = tsarc_error_set(TSARC_ENOMEM, "out of memory");
			goto done;
		}
		if (!c.json)
			print_group(keys[i], keep, rm);
		/* Only --keep-tag can keep nothing of a group (every other rule
		 * keeps its newest): a tag it lacks, a typo, would remove it all. */
		if (!explicit_ids && !cJSON_GetArraySize(keep)) {
			/* The undo group is said apart: a --keep-tag policy of
			 * backup tags never keeps one, and what keeps them is
			 * --keep-tag undo (or a rule that keeps the newest). */
			if (tsarc_snapshot_is_undo(snaps[i]))
				undo_emptied = 1;
			else if (!nemptied++)
				emptied = keys[i];
		}
	}
	if (nemptied) {
		rc = tsarc_error_set(TSARC_ECONFIG, "the policy keeps no snapshot of group %s%s "
			"(no --keep-tag given matches one of it)%s: nothing removed; name the "
			"snapshots to remove them all", emptied, nemptied > 1 ? " and others" : "",
			undo_emptied ? ", nor any undo snapshot (add --keep-tag undo to keep them)" : "");
		goto done;
	}
	if (undo_emptied) {
		rc = tsarc_error_set(TSARC_ECONFIG, "the policy keeps no undo snapshot (those of "
			"restore --undo-snapshot, tagged undo, a group of their own): nothing removed; "
			"add --keep-tag undo (or --keep-last N) to keep them, or name them to remove them");
		goto done;
	}
	if (!s.dry_run) {
		for (i = 0; i < n; i++) {
			if (reasons[i])
				continue;
			if ((rc = remove_snapshot(repo, snaps[i]->id, c.json, doc)))
				goto done;
			removed++;
		}
	} else {
		for (i = 0; i < n; i++) {
			if (reasons[i])
				continue;
			if ((rc = tsarc_strv_push(&gone.v, &gone.n, &gone.cap, 16, snaps[i]->id)))
				goto done;
			removed++;
		}
	}
	rc = 0;
	if (!s.dry_run) {
		cli_metrics_set(CLI_M_FORGET_REMOVED, (double)removed);
		/* The damaged ones are in the repository too, not in `snaps`. */
		cli_metrics_set(CLI_M_SNAPSHOTS,
			(double)(n + (size_t)cJSON_GetArraySize(damaged.ids) - removed));
	}
	cJSON_AddBoolToObject(doc, "dry_run", s.dry_run);
	cJSON_AddNumberToObject(doc, "removed", (double)removed);
	if (!c.json)
		printf("%s%zu snapshot%s removed\n", s.dry_run ? "[dry run] would have " : "",
			removed, removed == 1 ? "" : "s");
	if (s.prune && (rc = run_prune(repo, lock, &gone, s.dry_run, s.max_unused, c.json, doc)))
		goto done;
	if (c.json) {
		rc = cli_print_json(doc);
		doc = NULL;
	}
done:
	cJSON_Delete(doc);
	if (keys)
		for (i = 0; i < n; i++)
			cJSON_free(keys[i]);
	free(keys);
	free(reasons);
	tsarc_store_names_free(gone.v, gone.n);
	tsarc_snapshot_array_free(snaps, n);
	return cli_end(repo, lock, rc);
}

static const char PRUNE_HELP[] =
	"Usage: tsarc prune [options]\n"
	"\n"
	"Removes the chunks no snapshot refers to and reports objects and bytes\n"
	"freed. Takes an exclusive lock: it never runs while a backup holds its\n"
	"lock, so a chunk a snapshot (or a running backup) needs is never deleted.\n"
	"Should a backup's lock be live anyway, every chunk younger than that lock\n"
	"is kept. Refuses to run when a snapshot cannot be read.\n"
	"\n"
	"On a format-2 repository, chunks are freed a pack at a time: a pack no\n"
	"snapshot needs anything of is deleted, and one with more than --max-unused\n"
	"of unused bytes is repacked (its live chunks copied, still sealed, into\n"
	"new packs, then deleted). The new index is stored before any pack or old\n"
	"index object is removed.\n"
	"\n"
	"Options:\n";
typedef struct prune_state {
	int dry_run;
	unsigned max_unused;
} prune_state;

static const cli_option PRUNE_OPTIONS[] = {
	{"dry-run", 'n', NULL, "count what would be freed; remove nothing (takes\n"
		"only a shared lock, so running backups go on)",
		CLI_FLAG, offsetof(prune_state, dry_run)},
	{"max-unused", 1, "N%", "format 2: repack a pack with more than N% unused\n"
		"bytes (0 to 100; default 5; 100: only delete\n"
		"wholly unused packs)", CLI_OWN, 0},
	{0},
};

static int prune_option(int opt, const char *arg, void *state)
{
	prune_state *s = state;

	(void)opt;
	return parse_max_unused("prune", arg, &s->max_unused);
}

int cmd_prune(int argc, char **argv)
{
	static const cli_command cmd = {"prune", PRUNE_HELP, PRUNE_OPTIONS, prune_option, 0,
		NULL, CLI_WRITES, NULL, 0};
	prune_state s = {0, TSARC_PRUNE_MAX_UNUSED_DEFAULT};
	const tsarc_strv none = {NULL, 0, 0};
	tsarc_repo *repo = NULL;
	tsarc_lock *lock = NULL;
	cJSON *doc = NULL;
	cli_common c;
	int rc;

	if ((rc = cli_start_repo(&cmd, argc, argv, &c, &s, &repo)) != CLI_GO_ON)
		return rc;
	/* A dry run only needs what it reads to stay put (shared); it does not
	 * count a running backup's chunks, as the young-chunk rule spares them. */
	if ((rc = tsarc_lock_acquire(&lock, repo, !s.dry_run)))
		goto done;
	doc = cJSON_CreateObject();
	if ((rc = run_prune(repo, lock, &none, s.dry_run, s.max_unused, c.json, doc)))
		goto done;
	if (c.json) {
		rc = cli_print_json(cJSON_DetachItemFromObject(doc, "prune"));
	}
done:
	cJSON_Delete(doc);
	return cli_end(repo, lock, rc);
}

static const char UNLOCK_HELP[] =
	"Usage: tsarc unlock [options]\n"
	"\n"
	"Removes stale locks: those the store says were last written more than 30\n"
	"minutes ago (the store's clock, never the writer's), and those of\n"
	"processes that are gone, when host, boot id and pid namespace are this\n"
	"process's own. Lists the locks with --json. A backup whose lock was\n"
	"removed writes no snapshot.\n"
	"\n"
	"Options:\n";

/* Its state: whether to remove every lock. */
static const cli_option UNLOCK_OPTIONS[] = {
	{"remove-all", 1, NULL, "remove every lock, also live ones (dangerous)", CLI_FLAG, 0},
	{0},
};

int cmd_unlock(int argc, char **argv)
{
	static const cli_command cmd = {"unlock", UNLOCK_HELP, UNLOCK_OPTIONS, NULL, 0, NULL,
		CLI_WRITES, NULL, 0};
	tsarc_repo *repo = NULL;
	tsarc_lock_info *infos = NULL;
	size_t n = 0, removed = 0, i;
	int all = 0, rc;
	cli_common c;

	if ((rc = cli_start_repo(&cmd, argc, argv, &c, &all, &repo)) != CLI_GO_ON)
		return rc;
	if ((rc = tsarc_lock_list(repo, &infos, &n)) ||
		(rc = tsarc_lock_remove(repo, all, &removed)))
		goto done;
	if (c.json) {
		cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "locks");
		char when[40];
		for (i = 0; i < n; i++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "id", infos[i].name);
			cJSON_AddStringToObject(o, "host", infos[i].host);
			cJSON_AddNumberToObject(o, "pid", (double)infos[i].pid);
			cJSON_AddBoolToObject(o, "exclusive", infos[i].exclusive);
			cJSON_AddBoolToObject(o, "stale", infos[i].stale);
			/* The store's times, by which staleness is judged. */
			tsarc_time_format(infos[i].since, 0, when, sizeof(when));
			cJSON_AddStringToObject(o, "first_written", when);
			tsarc_time_format(infos[i].mtime, 0, when, sizeof(when));
			cJSON_AddStringToObject(o, "last_written", when);
			cJSON_AddItemToArray(arr, o);
		}
		cJSON_AddNumberToObject(doc, "removed", (double)removed);
		rc = cli_print_json(doc);
	} else {
		printf("%zu lock%s found, %zu removed\n", n, n == 1 ? "" : "s", removed);
	}
done:
	free(infos);
	return cli_end(repo, NULL, rc);
}
