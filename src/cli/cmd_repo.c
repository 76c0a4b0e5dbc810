/* Commands that look at a repository: init, snapshots, show, check, version. */
#include "check.h"
#include "pack.h"
#include "error_save.h"
#include "lock.h"
#include "cli.h"
#include "forgotten.h"
#include "metrics.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/opensslv.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* ---- init ---- */

static const char INIT_HELP[] =
	"Usage: tsarc init [options]\n"
	"\n"
	"Creates a repository: a random master key (wrapped by a key derived from\n"
	"the password with scrypt), a random chunk-id key and chunker seed.\n"
	"\n"
	"Options:\n";

typedef struct init_state {
	tsarc_repo_init_options o;
} init_state;

static int parse_u32(const char *arg, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*end || !*arg || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static const cli_option INIT_OPTIONS[] = {
	{"compression", 1, "C", "zstd (default) or zlib", CLI_OWN, 0},
	{"level", 2, "N", "compression level (zstd 1-19, default 3; zlib 1-9, default 6)",
		CLI_OWN, 0},
	{"chunk-min", 3, "BYTES", "smallest chunk (default 16384; format 1: 262144)", CLI_OWN, 0},
	{"chunk-avg", 4, "BYTES", "average chunk, a power of two (default 65536;\n"
		"format 1: 1048576)", CLI_OWN, 0},
	{"chunk-max", 5, "BYTES", "largest chunk (default 262144; format 1: 4194304)", CLI_OWN, 0},
	{"object-lock", 6, "DAYS", "S3 Object Lock: every object but locks is written\n"
		"undeletable for DAYS (1-36500); the bucket must have\n"
		"Object Lock (tsarc creates a missing one with it).\n"
		"See docs/object-lock.md", CLI_OWN, 0},
	{"object-lock-mode", 7, "M", "compliance (default: nobody can delete before the\n"
		"date) or governance (who may bypass governance can)", CLI_OWN, 0},
	{"format", 8, "N", "repository format: 2 (default; chunks in packs found\n"
		"through an index) or 1 (one object per chunk; read\n"
		"and written by every tsarc)", CLI_OWN, 0},
	{"pack-size", 9, "BYTES", "format 2: target size of a pack (default 16777216)", CLI_OWN, 0},
	{"kdf-memory", 10, "MIB", "memory scrypt takes to turn the password into the key,\n"
		"spent at every open: 4 to 256, a power of two (default\n"
		"32). More slows password guessing from a stolen key\n"
		"file; less fits a small pod's memory limit. Keys added\n"
		"later (key add) take the same", CLI_OWN, 0},
	{0},
};

static int init_option(int opt, const char *arg, void *state)
{
	init_state *s = state;
	uint32_t v;

	switch (opt) {
	case 1:
		if (tsarc_codec_parse(arg, &s->o.codec) || s->o.codec == TSARC_CODEC_NONE)
			return cli_usage_error("init", "--compression takes zstd or zlib");
		return 0;
	case 2:
		if (parse_u32(arg, &v) || v == 0 || v > 22)
			return cli_usage_error("init", "--level takes a number from 1 to 22");
		s->o.level = (int)v;
		return 0;
	case 3:
	case 4:
	case 5:
		if (parse_u32(arg, &v))
			return cli_usage_error("init", "chunk sizes are byte counts");
		if (opt == 3)
			s->o.chunker.min_size = v;
		else if (opt == 4)
			s->o.chunker.avg_size = v;
		else
			s->o.chunker.max_size = v;
		return 0;
	case 6:
		if (parse_u32(arg, &v) || v < 1 || v > TSARC_RETAIN_DAYS_MAX)
			return cli_usage_error("init", "--object-lock takes days, from 1 to %u",
				TSARC_RETAIN_DAYS_MAX);
		s->o.retention.days = v;
		return 0;
	case 7:
		if (tsarc_retain_mode_parse(arg, &s->o.retention.mode) ||
			s->o.retention.mode == TSARC_RETAIN_NONE)
			return cli_usage_error("init",
				"--object-lock-mode takes compliance or governance");
		return 0;
	case 8:
		if (parse_u32(arg, &v) || v < 1 || v > TSARC_FORMAT_MAX)
			return cli_usage_error("init", "--format takes 1 or %d", TSARC_FORMAT_MAX);
		s->o.format = v;
		return 0;
	case 9:
		if (parse_u32(arg, &v) || v < TSARC_PACK_SIZE_MIN || v > TSARC_PACK_SIZE_LIMIT)
			return cli_usage_error("init", "--pack-size takes a byte count from %u to %u",
				TSARC_PACK_SIZE_MIN, TSARC_PACK_SIZE_LIMIT);
		s->o.pack_size = v;
		return 0;
	case 10:
		/* scrypt with r = 8 takes 128 * 8 * N bytes: N = MiB * 1024. */
		if (parse_u32(arg, &v) || v < TSARC_KDF_MEMORY_MIN_MIB ||
			v > TSARC_KDF_MEMORY_MAX_MIB || (v & (v - 1)))
			return cli_usage_error("init", "--kdf-memory takes MiB, a power of two "
				"from %u to %u", TSARC_KDF_MEMORY_MIN_MIB, TSARC_KDF_MEMORY_MAX_MIB);
		s->o.scrypt_n = (uint64_t)v * 1024;
		return 0;
	}
	return EXIT_USAGE;
}

int cmd_init(int argc, char **argv)
{
	static const cli_command cmd = {"init", INIT_HELP, INIT_OPTIONS, init_option, 0, NULL,
		CLI_WRITES, NULL, 0};
	init_state s;
	cli_common c;
	tsarc_store *st = NULL;
	tsarc_repo *repo = NULL;
	char *pw = NULL;
	int rc;

	memset(&s, 0, sizeof(s));
	s.o.codec = TSARC_CODEC_ZSTD;
	if ((rc = cli_start(&cmd, argc, argv, &c, &s)) != CLI_GO_ON)
		return rc;
	if (s.o.retention.mode && !s.o.retention.days)
		return cli_usage_error("init", "--object-lock-mode goes with --object-lock DAYS");
	if (s.o.retention.days && !s.o.retention.mode)
		s.o.retention.mode = TSARC_RETAIN_COMPLIANCE;
	if (s.o.chunker.min_size || s.o.chunker.avg_size || s.o.chunker.max_size) {
		if (!s.o.chunker.min_size)
			s.o.chunker.min_size = TSARC_CHUNK_MIN_DEFAULT;
		if (!s.o.chunker.avg_size)
			s.o.chunker.avg_size = TSARC_CHUNK_AVG_DEFAULT;
		if (!s.o.chunker.max_size)
			s.o.chunker.max_size = TSARC_CHUNK_MAX_DEFAULT;
		if (tsarc_chunker_params_validate(&s.o.chunker))
			return cli_usage_error("init", "%s", tsarc_error_last()->message);
	}
	if ((rc = cli_open_store(&c, &st)))
		return cli_fail(rc);
	if ((rc = cli_get_password(&c, 1, &pw))) {
		tsarc_store_free(st);
		return cli_fail(rc);
	}
	rc = tsarc_repo_init(&repo, st, pw, &s.o);
	cli_free_password(pw);
	if (rc) {
		tsarc_store_free(st);
		return cli_fail(rc);
	}
	if (c.json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "repository", tsarc_store_describe(repo->store));
		cJSON_AddStringToObject(doc, "id", repo->id);
		cJSON_AddStringToObject(doc, "compression", tsarc_codec_name(repo->codec));
		cJSON_AddNumberToObject(doc, "level", repo->level);
		if (repo->retention.mode) {
			cJSON *ol = cJSON_AddObjectToObject(doc, "object_lock");
			cJSON_AddStringToObject(ol, "mode", tsarc_retain_mode_name(repo->retention.mode));
			cJSON_AddNumberToObject(ol, "days", repo->retention.days);
		}
		cJSON_AddNumberToObject(doc, "format", repo->version);
		if (repo->version >= 2)
			cJSON_AddNumberToObject(doc, "pack_size", repo->pack_size);
		rc = cli_print_json(doc);
	} else if (!c.quiet) {
		cli_say("created", "created tsarc repository %.10s at %s", repo->id,
			tsarc_store_describe(repo->store));
		if (repo->retention.mode)
			cli_say("created", "Object Lock (%s): every object but locks is "
				"undeletable for %u days after its write; run 'tsarc extend-retention' "
				"more often than that", tsarc_retain_mode_name(repo->retention.mode),
				repo->retention.days);
		cli_say("created", "Keep the password safe: without it the data cannot be read.");
	}
	return cli_end(repo, NULL, rc);
}

/* ---- snapshots ---- */

static const char SNAPSHOTS_HELP[] =
	"Usage: tsarc snapshots [options]\n"
	"\n"
	"Lists the snapshots, oldest first. Times are UTC.\n"
	"\n";

static void print_unreadable(const char *id, int code, const char *msg, void *payload)
{
	(void)code;
	(void)payload;
	cli_log(TSARC_LOG_WARN, "snapshot_unreadable", "snapshot %.12s cannot be read: %s", id, msg);
}

/* Under Object Lock, a snapshot someone hid (forgotten.h) is missing from
 * the list: said, so that whoever looks for it learns why at once. */
static int warn_hidden(tsarc_repo *repo)
{
	char **ids = NULL;
	size_t n = 0, i;
	int rc = tsarc_forgotten_unmarked(repo, &ids, &n);

	for (i = 0; !rc && i < n; i++)
		cli_log(TSARC_LOG_WARN, "snapshot_hidden", "snapshot %.12s is hidden behind a "
			"delete marker that tsarc's forget did not write: not listed (see 'tsarc "
			"check' and docs/object-lock.md)", ids[i]);
	tsarc_snapshot_ids_free(ids, n);
	return rc;
}

/* A snapshot's words come from whoever wrote the repository: before they
 * are printed as text, none of them may drive the terminal (the JSON
 * output escapes them instead). */
static void snapshot_text_clean(tsarc_snapshot *snap)
{
	size_t i;

	cli_text_clean(snap->host, 0);
	cli_text_clean(snap->tool_version, 0);
	for (i = 0; i < snap->ntags; i++)
		cli_text_clean(snap->tags[i], 0);
	for (i = 0; i < snap->nstreams; i++) {
		cli_text_clean(snap->streams[i].name, 0);
		cli_text_clean(snap->streams[i].kind, 0);
		/* A load checks the snapshot's time, not a stream's. */
		cli_text_clean(snap->streams[i].start, 0);
		cli_text_clean(snap->streams[i].end, 0);
	}
}

static cJSON *snapshot_summary(const tsarc_snapshot *s)
{
	return tsarc_snapshot_to_cjson(s, 0);
}

int cmd_snapshots(int argc, char **argv)
{
	static const cli_command cmd = {"snapshots", SNAPSHOTS_HELP, NULL,
		NULL, 0, NULL, 0, NULL, 0};
	tsarc_snapshot **snaps = NULL;
	tsarc_repo *repo = NULL;
	size_t n = 0, i, k;
	cli_common c;
	int rc;

	if ((rc = cli_start_repo(&cmd, argc, argv, &c, NULL, &repo)) != CLI_GO_ON)
		return rc;
	if ((rc = tsarc_snapshot_load_all_headers(repo, &snaps, &n, print_unreadable, NULL)) ||
		(rc = warn_hidden(repo))) {
		tsarc_snapshot_array_free(snaps, n);
		tsarc_repo_free(repo);
		return cli_fail(rc);
	}
	if (c.json) {
		cJSON *arr = cJSON_CreateArray();
		for (i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, snapshot_summary(snaps[i]));
		rc = cli_print_json(arr);
	} else {
		printf("%-10s  %-20s  %-16s  %7s  %12s  %s\n", "ID", "Time (UTC)", "Host",
			"Streams", "Size", "Tags");
		for (i = 0; i < n; i++) {
			uint64_t total = 0;
			char size[32], when[32];
			snapshot_text_clean(snaps[i]);
			for (k = 0; k < snaps[i]->nstreams; k++)
				total += snaps[i]->streams[k].size;
			cli_format_bytes(size, sizeof(size), (double)total);
			snprintf(when, sizeof(when), "%.19s", snaps[i]->time);
			when[10] = ' ';
			printf("%.10s  %-20s  %-16.16s  %7zu  %12s", snaps[i]->id, when,
				snaps[i]->host, snaps[i]->nstreams, size);
			for (k = 0; k < snaps[i]->ntags; k++)
				printf("%s%s", k ? "," : "  ", snaps[i]->tags[k]);
			printf("\n");
		}
		printf("%zu snapshot%s\n", n, n == 1 ? "" : "s");
	}
	tsarc_snapshot_array_free(snaps, n);
	return cli_end(repo, NULL, rc);
}

/* ---- show ---- */

static const char SHOW_HELP[] =
	"Usage: tsarc show SNAPSHOT [options]\n"
	"\n"
	"Shows a snapshot: its streams with kind, size, SHA-256, chunk count,\n"
	"stored size and times. SNAPSHOT is an id, a unique prefix, or latest.\n"
	"\n"
	"Options:\n";

/* Its state: whether to list the chunks. */
static const cli_option SHOW_OPTIONS[] = {
	{"chunks", 1, NULL, "with --json, include each stream's chunk list", CLI_FLAG, 0},
	{0},
};

int cmd_show(int argc, char **argv)
{
	static const cli_command cmd = {"show", SHOW_HELP, SHOW_OPTIONS, NULL, 1,
		"give exactly one snapshot", 0, NULL, 0};
	char id[TSARC_ID_HEX_LEN + 1], hex[TSARC_ID_HEX_LEN + 1];
	tsarc_snapshot *snap = NULL;
	tsarc_repo *repo = NULL;
	int chunks = 0, rc;
	cli_common c;
	size_t i, k;

	if ((rc = cli_start_repo(&cmd, argc, argv, &c, &chunks, &repo)) != CLI_GO_ON)
		return rc;
	/* The chunks are read only to be listed. */
	if ((rc = tsarc_snapshot_resolve(repo, argv[optind], id)) ||
		(rc = chunks ? tsarc_snapshot_load(repo, id, &snap)
			     : tsarc_snapshot_load_headers(repo, id, &snap))) {
		tsarc_repo_free(repo);
		return cli_fail(rc);
	}
	if (c.json) {
		rc = cli_print_json(tsarc_snapshot_to_cjson(snap, chunks));
	} else {
		snapshot_text_clean(snap);
		printf("snapshot %s\n  time:    %s\n", snap->id, snap->time);
		/* No host name (backup --host ""), no tags: no line, as a
		 * stream without meta (no blanks left at a line's end). */
		if (snap->host && snap->host[0])
			printf("  host:    %s\n", snap->host);
		printf("  tool:    tsarc %s\n", snap->tool_version);
		for (k = 0; k < snap->ntags; k++)
			printf("%s %s%s", k ? "" : "  tags:   ", snap->tags[k],
				k + 1 == snap->ntags ? "\n" : "");
		printf("  streams: %zu\n", snap->nstreams);
		for (i = 0; i < snap->nstreams; i++) {
			const tsarc_stream *st = &snap->streams[i];
			char size[32], ssize[32];
			cli_format_bytes(size, sizeof(size), (double)st->size);
			cli_format_bytes(ssize, sizeof(ssize), (double)st->stored_size);
			tsarc_hex_encode(hex, st->sha256, 32);
			printf("\n  %s (%s)\n    size:    %s (%llu bytes)\n    sha256:  %s\n"
			       "    chunks:  %llu, %s stored\n    start:   %s\n    end:     %s\n",
				st->name, st->kind, size, (unsigned long long)st->size, hex,
				(unsigned long long)st->chunk_count, ssize, st->start, st->end);
			if (st->meta) {
				/* cJSON escapes C0 controls only: C1 ones, U+202E and the
				 * like would reach the terminal as they are. */
				char *m = cJSON_PrintUnformatted(st->meta);
				cli_text_clean(m, 0);
				if (m)
					printf("    meta:    %s\n", m);
				free(m);
			}
		}
	}
	tsarc_snapshot_free(snap);
	return cli_end(repo, NULL, rc);
}

/* ---- check ---- */

static const char CHECK_HELP[] =
	"Usage: tsarc check [options]\n"
	"\n"
	"Verifies the repository: every key file and snapshot readable, every chunk\n"
	"a snapshot refers to present with the size recorded. With --read-data,\n"
	"every copy the index lists of a chunk stored twice is read: a damaged copy\n"
	"is reported (\"copy\") though another opens ('tsarc prune --max-unused 0'\n"
	"removes it). Exit code 3 when anything is damaged or missing.\n"
	"\n"
	"Options:\n";

typedef struct check_state {
	tsarc_check_options o;
} check_state;

static const cli_option CHECK_OPTIONS[] = {
	{"read-data", 1, NULL, "also download, decrypt and verify every chunk", CLI_OWN, 0},
	{"read-data-subset", 2, "S", "only part: N% (random) or n/t (part n of t)", CLI_OWN, 0},
	{0},
};

static int check_option(int opt, const char *arg, void *state)
{
	check_state *s = state;
	unsigned n, t;
	double p;
	char extra, *end;

	if (opt == 1) {
		s->o.read_data = 1;
		return 0;
	}
	if (opt != 2)
		return EXIT_USAGE;
	s->o.read_data = 1;
	if (sscanf(arg, "%u/%u%c", &n, &t, &extra) == 2 && t > 0 && n >= 1 && n <= t) {
		s->o.subset_n = n;
		s->o.subset_t = t;
		return 0;
	}
	p = strtod(arg, &end);
	if (end != arg && end[0] == '%' && end[1] == '\0' && p > 0 && p <= 100) {
		s->o.subset_percent = p;
		return 0;
	}
	return cli_usage_error("check", "--read-data-subset takes N%% or n/t, e.g. 10%% or 2/5");
}

/*
 * --json lists at most this many problems of each kind ("chunk", "pack",
 * "stream", ...) and counts the others in "problems_omitted": a repository
 * that lost its packs has millions of missing chunks, and a document
 * holding each (some 900 bytes apiece) would take gigabytes, so the
 * report that matters most would never come. The counts are complete;
 * the text report still names every problem as it is found.
 */
#define CHECK_JSON_PER_KIND 1000

typedef struct check_report {
	int json;
	cJSON *problems;
	cJSON *omitted; /* kind -> how many were not listed */
	struct {
		char what[16];
		size_t listed;
	} kinds[16];
	size_t nkinds;
} check_report;

/* 1 when one more problem of kind `what` may be listed, else counts it. */
static int list_one_more(check_report *r, const char *what)
{
	cJSON *n;
	size_t k;

	for (k = 0; k < r->nkinds && strcmp(r->kinds[k].what, what); k++)
		;
	if (k == r->nkinds && k < sizeof(r->kinds) / sizeof(r->kinds[0])) {
		snprintf(r->kinds[k].what, sizeof(r->kinds[k].what), "%s", what);
		r->kinds[k].listed = 0;
		r->nkinds++;
	}
	if (k < r->nkinds && r->kinds[k].listed < CHECK_JSON_PER_KIND) {
		r->kinds[k].listed++;
		return 1;
	}
	if ((n = cJSON_GetObjectItemCaseSensitive(r->omitted, what)))
		cJSON_SetNumberValue(n, n->valuedouble + 1);
	else
		cJSON_AddNumberToObject(r->omitted, what, 1);
	return 0;
}

/*
 * What a problem is, by its code, which --json gives as "error": a chunk
 * or pack that is not there is missing (ENOTFOUND), a stream that lacks
 * chunks incomplete, a snapshot or key file another hand hid behind a
 * delete marker deleted (ENOTFOUND, "hidden" in --json: its last version
 * is still stored); the rest is damaged. Missing, deleted and damaged
 * data have different causes and remedies, and before, the text said
 * "damaged" of a chunk not stored and of a snapshot someone deleted.
 */
static const char *problem_label(const tsarc_check_problem *p)
{
	if (p->code != TSARC_ENOTFOUND)
		return "damaged";
	if (p->hidden)
		return "deleted";
	return strcmp(p->what, "stream") ? "missing" : "incomplete";
}

static void on_problem(const tsarc_check_problem *p, void *payload)
{
	check_report *r = payload;
	char *stream, *message;

	if (r->json) {
		cJSON *o;
		if (!list_one_more(r, p->what))
			return;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "what", p->what);
		if (p->snapshot)
			cJSON_AddStringToObject(o, "snapshot", p->snapshot);
		if (p->stream)
			cJSON_AddStringToObject(o, "stream", p->stream);
		if (p->object)
			cJSON_AddStringToObject(o, "object", p->object);
		cJSON_AddStringToObject(o, "error", tsarc_errname(p->code));
		if (p->hidden)
			cJSON_AddBoolToObject(o, "hidden", 1);
		cJSON_AddStringToObject(o, "message", p->message);
		cJSON_AddItemToArray(r->problems, o);
		return;
	}
	/* The stream's name is the snapshot's, the message may quote it. */
	stream = cli_text_copy(p->stream);
	message = cli_text_copy(p->message);
	fprintf(stdout, "%s %s", problem_label(p), p->what);
	/* A snapshot's own problem names it once ("deleted snapshot ID"). */
	if (p->snapshot)
		fprintf(stdout, strcmp(p->what, "snapshot") ? " snapshot %.12s" : " %.12s",
			p->snapshot);
	if (p->stream)
		fprintf(stdout, " stream '%s'", stream ? stream : "?");
	if (p->object)
		fprintf(stdout, " %.16s", p->object);
	fprintf(stdout, ": %s\n", message ? message : "?");
	free(stream);
	free(message);
}

/*
 * A check that found problems fails as every command does (cli_fail: the
 * "failed" event of --log-format json, the "tsarc: ..." line), with the
 * counts of what it found; the report stays on stdout. Before, check
 * exited 3 with nothing on stderr, and a log collector saw no failure.
 */
static int check_failed(const tsarc_check_result *r)
{
	const struct {
		size_t n;
		const char *one, *many;
	} kinds[] = {
		{r->keys_damaged, "damaged key file", "damaged key files"},
		{r->keys_hidden, "hidden key file", "hidden key files"},
		{r->snapshots_damaged, "unreadable snapshot", "unreadable snapshots"},
		{r->snapshots_hidden, "hidden snapshot", "hidden snapshots"},
		{r->chunks_missing, "missing chunk", "missing chunks"},
		{r->chunks_wrong_size, "chunk of the wrong size", "chunks of the wrong size"},
		{r->chunks_damaged, "damaged chunk", "damaged chunks"},
		{r->copies_damaged, "damaged copy of a chunk stored twice",
			"damaged copies of chunks stored twice"},
		{r->packs_damaged, "damaged or missing pack", "damaged or missing packs"},
		{r->index_damaged, "damaged index object", "damaged index objects"},
		{r->index_wrong, "wrong index entry", "wrong index entries"},
	};
	char msg[768];
	const char *sep = "";
	size_t k, len = 0;

	msg[0] = '\0';
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && len < sizeof(msg); k++)
		if (kinds[k].n) {
			len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%zu %s", sep,
				kinds[k].n, kinds[k].n == 1 ? kinds[k].one : kinds[k].many);
			sep = ", ";
		}
	tsarc_error_set(TSARC_ECORRUPT, "check found problems: %s (the report names each)", msg);
	return cli_fail(TSARC_ECORRUPT);
}

int cmd_check(int argc, char **argv)
{
	static const cli_command cmd = {"check", CHECK_HELP, CHECK_OPTIONS, check_option, 0,
		NULL, 0, NULL, 0};
	check_state s;
	check_report report;
	tsarc_check_result res;
	tsarc_repo *repo = NULL;
	size_t bad;
	cli_common c;
	tsarc_saved_error lock_error;
	int rc, lock_rc = 0;

	memset(&s, 0, sizeof(s));
	memset(&report, 0, sizeof(report));
	if ((rc = cli_start_repo(&cmd, argc, argv, &c, &s, &repo)) != CLI_GO_ON)
		return rc;
	s.o.parallel = c.inflight;
	report.json = c.json;
	if (c.json) {
		report.problems = cJSON_CreateArray();
		report.omitted = cJSON_CreateObject();
	}
	/* Shared: a prune must not delete chunks while they are being checked.
	 * A lock that stays fails the run once its report is out. */
	{
		tsarc_lock *lock = NULL;
		if ((rc = tsarc_lock_acquire(&lock, repo, 0)) == 0) {
			rc = tsarc_check(repo, &s.o, on_problem, &report, &res);
			if (!rc && (lock_rc = cli_lock_release(lock, 0)))
				tsarc_error_save(&lock_error);
			else if (rc)
				tsarc_lock_release_after(lock, rc);
		}
	}
	tsarc_repo_free(repo);
	if (rc) {
		cJSON_Delete(report.problems);
		cJSON_Delete(report.omitted);
		return cli_fail(rc);
	}
	bad = res.keys_damaged + res.keys_hidden + res.snapshots_damaged + res.snapshots_hidden + res.chunks_missing +
	      res.chunks_wrong_size + res.chunks_damaged + res.copies_damaged + res.packs_damaged +
	      res.index_damaged + res.index_wrong;
	cli_metrics_set(CLI_M_CHECK_ERRORS, (double)bad);
	cli_metrics_set(CLI_M_SNAPSHOTS, (double)res.snapshots);
	cli_metrics_set(CLI_M_REPO_CHUNKS, (double)res.chunks_stored);
	if (c.json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddBoolToObject(doc, "ok", bad == 0);
		cJSON_AddNumberToObject(doc, "keys", (double)res.keys);
		cJSON_AddNumberToObject(doc, "keys_hidden", (double)res.keys_hidden);
		cJSON_AddNumberToObject(doc, "snapshots", (double)res.snapshots);
		cJSON_AddNumberToObject(doc, "snapshots_damaged", (double)res.snapshots_damaged);
		cJSON_AddNumberToObject(doc, "snapshots_hidden", (double)res.snapshots_hidden);
		cJSON_AddNumberToObject(doc, "chunks_stored", (double)res.chunks_stored);
		cJSON_AddNumberToObject(doc, "chunks_referenced", (double)res.chunks_referenced);
		cJSON_AddNumberToObject(doc, "chunks_missing", (double)res.chunks_missing);
		cJSON_AddNumberToObject(doc, "chunks_wrong_size", (double)res.chunks_wrong_size);
		cJSON_AddNumberToObject(doc, "chunks_read", (double)res.chunks_read);
		cJSON_AddNumberToObject(doc, "chunks_damaged", (double)res.chunks_damaged);
		cJSON_AddNumberToObject(doc, "chunks_in_damaged_packs",
			(double)res.chunks_in_damaged_packs);
		cJSON_AddNumberToObject(doc, "copies_damaged", (double)res.copies_damaged);
		cJSON_AddNumberToObject(doc, "chunks_unreferenced", (double)res.chunks_unreferenced);
		cJSON_AddNumberToObject(doc, "bytes_read", (double)res.bytes_read);
		cJSON_AddNumberToObject(doc, "packs", (double)res.packs);
		cJSON_AddNumberToObject(doc, "packs_damaged", (double)res.packs_damaged);
		cJSON_AddNumberToObject(doc, "packs_unindexed", (double)res.packs_unindexed);
		cJSON_AddNumberToObject(doc, "index_objects", (double)res.index_objects);
		cJSON_AddNumberToObject(doc, "index_damaged", (double)res.index_damaged);
		cJSON_AddNumberToObject(doc, "index_wrong", (double)res.index_wrong);
		cJSON_AddItemToObject(doc, "problems", report.problems);
		cJSON_AddItemToObject(doc, "problems_omitted", report.omitted);
		if ((rc = cli_print_json(doc))) {
			if (lock_rc)
				tsarc_error_forget(&lock_error);
			return cli_fail(rc);
		}
	} else {
		printf("%zu key%s, %zu snapshot%s, %zu chunks referenced of %zu stored"
		       " (%zu unreferenced)\n",
			res.keys, res.keys == 1 ? "" : "s", res.snapshots,
			res.snapshots == 1 ? "" : "s", res.chunks_referenced, res.chunks_stored,
			res.chunks_unreferenced);
		if (res.packs || res.index_objects)
			printf("%zu packs (%zu in no index), %zu index objects\n", res.packs,
				res.packs_unindexed, res.index_objects);
		if (s.o.read_data)
			printf("%zu chunks read and verified\n", res.chunks_read);
		if (bad)
			printf("PROBLEMS: %zu damaged key files, %zu unreadable snapshots, "
			       "%zu missing chunks, %zu chunks of the wrong size, %zu damaged chunks\n",
				res.keys_damaged, res.snapshots_damaged, res.chunks_missing,
				res.chunks_wrong_size, res.chunks_damaged);
		if (res.copies_damaged)
			printf("PROBLEMS: %zu damaged cop%s of chunks stored twice, another copy of "
			       "each intact ('tsarc prune --max-unused 0' rewrites their packs "
			       "without them)\n", res.copies_damaged,
				res.copies_damaged == 1 ? "y" : "ies");
		if (res.snapshots_hidden)
			printf("PROBLEMS: %zu snapshot%s hidden behind a delete marker that tsarc's "
			       "forget did not write (Object Lock keeps %s: see docs/object-lock.md)\n",
				res.snapshots_hidden, res.snapshots_hidden == 1 ? "" : "s",
				res.snapshots_hidden == 1 ? "it" : "them");
		if (res.keys_hidden)
			printf("PROBLEMS: %zu key file%s hidden behind a delete marker that tsarc's "
			       "key remove did not write (Object Lock keeps %s: see "
			       "docs/object-lock.md)\n", res.keys_hidden,
				res.keys_hidden == 1 ? "" : "s", res.keys_hidden == 1 ? "it" : "them");
		if (res.chunks_in_damaged_packs)
			printf("PROBLEMS: %zu chunk%s the snapshots need %s held only by damaged "
			       "packs, and still read (each authenticates where the index places "
			       "it): not lost, but 'tsarc repair index' should copy %s into new "
			       "packs\n", res.chunks_in_damaged_packs,
				res.chunks_in_damaged_packs == 1 ? "" : "s",
				res.chunks_in_damaged_packs == 1 ? "is" : "are",
				res.chunks_in_damaged_packs == 1 ? "it" : "them");
		if (res.packs_damaged + res.index_damaged + res.index_wrong)
			printf("PROBLEMS: %zu missing or damaged packs, %zu damaged index objects, "
			       "%zu wrong index entries ('tsarc repair index' rebuilds the index "
			       "from the packs, and copies the chunks of a damaged pack that still "
			       "authenticate into new ones)\n", res.packs_damaged, res.index_damaged,
				res.index_wrong);
		/* What is left once the repair has placed what it could. */
		if (res.chunks_missing && !(res.packs_damaged + res.index_damaged + res.index_wrong))
			printf("PROBLEMS: the snapshots named above need %zu chunk%s the repository "
			       "does not hold%s: 'tsarc forget' them, then 'tsarc prune'\n",
				res.chunks_missing, res.chunks_missing == 1 ? "" : "s",
				res.packs || res.index_objects ? " (after 'tsarc repair index', "
				"which places again what a pack still holds)" : "");
		if (!bad)
			printf("no errors were found\n");
	}
	if (lock_rc) {
		tsarc_error_restore(&lock_error);
		if (!bad)
			return cli_fail(lock_rc);
		cli_log(TSARC_LOG_WARN, "lock_not_removed", "%s", tsarc_error_last()->message);
	}
	return bad ? check_failed(&res) : EXIT_OK;
}

/* ---- version ---- */

int cmd_version(int argc, char **argv)
{
	int json = argc > 1 && !strcmp(argv[1], "--json");
	curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("Usage: tsarc version [--json]\n\nPrints the version of tsarc and its libraries.\n");
		return EXIT_OK;
	}
	if (json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddStringToObject(doc, "version", TSARC_VERSION);
		cJSON_AddNumberToObject(doc, "format", TSARC_FORMAT_MAX);
		cJSON_AddStringToObject(doc, "openssl", OPENSSL_VERSION_TEXT);
		cJSON_AddStringToObject(doc, "curl", cv->version);
		cJSON_AddStringToObject(doc, "zstd", ZSTD_versionString());
		cJSON_AddStringToObject(doc, "zlib", zlibVersion());
		return cli_print_json(doc) ? EXIT_FAILURE_GENERIC : EXIT_OK;
	}
	printf("tsarc %s (repository format %d; %s, curl %s, zstd %s, zlib %s)\n",
		TSARC_VERSION, TSARC_FORMAT_MAX, OPENSSL_VERSION_TEXT, cv->version,
		ZSTD_versionString(), zlibVersion());
	return EXIT_OK;
}
