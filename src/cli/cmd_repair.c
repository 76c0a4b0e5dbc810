/* tsarc repair index: the index of a format-2 repository rebuilt from its packs. */
#include "cli.h"
#include "repair.h"
#include "snapshot.h"
#include <cjson/cJSON.h>
#include "tsarc/errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char REPAIR_HELP[] =
	"Usage: tsarc repair index [options]\n"
	"\n"
	"Format 2: rebuilds the index from the packs' own tables of contents (every\n"
	"pack is read from its end), stores it, then removes the old index objects.\n"
	"Packs of a backup killed before it wrote its index are indexed too; a pack\n"
	"whose table of contents does not open is reported, and of it only the\n"
	"chunks the old index places there that still authenticate (each is read)\n"
	"are kept, copied into new packs; the damaged pack is left in no index,\n"
	"for the next 'tsarc prune' to delete (exit 3). A damaged pack no index\n"
	"places a chunk in (one an earlier repair left) is only named (exit 0).\n"
	"Takes the exclusive lock.\n"
	"\n";

/* A damaged pack, for what became of it: one the old index used is
 * damage found (exit 3); one it placed nothing in is only named. */
static void on_damaged(const tsarc_repair_damaged *p, void *payload)
{
	(void)payload;
	if (p->indexed)
		cli_log(TSARC_LOG_WARN, "pack_damaged", "pack %.16s: %s; of the chunks the old "
			"index placed there, %zu authenticate and were copied into new packs, %zu do "
			"not and are lost", p->pack, p->msg, p->kept, p->dropped);
	else if (p->index_unread)
		cli_log(TSARC_LOG_WARN, "pack_damaged", "pack %.16s: %s; no old index object "
			"that opens places a chunk there, and %zu do not open: what it held cannot be "
			"known ('tsarc check' names the snapshots that lack it)", p->pack, p->msg,
			p->index_unread);
	else
		cli_log(TSARC_LOG_WARN, "pack_damaged_unindexed", "pack %.16s: %s; no index names "
			"it, so nothing is read from it (an earlier repair copied what of it "
			"authenticated; 'tsarc check' says whether a snapshot lacks anything): left for "
			"the next 'tsarc prune' to delete", p->pack, p->msg);
}

/* The old index objects only hidden, as prune's --json has them
 * (index_kept: count, bytes, and until when there are any). */
static void add_kept(cJSON *doc, const tsarc_repair_result *res)
{
	cJSON *o = cJSON_AddObjectToObject(doc, "index_kept");
	char when[40];

	cJSON_AddNumberToObject(o, "count", (double)res->index_kept);
	cJSON_AddNumberToObject(o, "bytes", (double)res->bytes_kept_index);
	if (res->index_kept) {
		tsarc_time_format(res->index_kept_until, 0, when, sizeof(when));
		cJSON_AddStringToObject(o, "until", when);
	}
}

/* Damaged packs found: the run fails as every command does (cli_fail:
 * the "failed" event of --log-format json), exit 3; before, it exited 3
 * with no error. */
static int repair_failed(const tsarc_repair_result *res)
{
	tsarc_error_set(TSARC_ECORRUPT, "%zu damaged pack%s found: of the chunks the old index "
		"placed there, %zu authenticate and were copied into new packs, %zu do not and "
		"are lost", res->packs_damaged, res->packs_damaged == 1 ? "" : "s",
		res->damaged_chunks_kept, res->damaged_chunks_dropped);
	return cli_fail(TSARC_ECORRUPT);
}

int cmd_repair(int argc, char **argv)
{
	static const cli_command cmd = {"repair", REPAIR_HELP, NULL, NULL, CLI_ANY_OPERANDS, NULL,
		CLI_WRITES, NULL, 0};
	tsarc_repair_result res;
	char when[40], size[32];
	tsarc_repo *repo = NULL;
	tsarc_lock *lock = NULL;
	cli_common c;
	int rc;

	if ((rc = cli_start(&cmd, argc, argv, &c, NULL)) != CLI_GO_ON)
		return rc;
	if (optind >= argc || strcmp(argv[optind], "index") != 0)
		return cli_usage_error("repair", "say what to repair: 'tsarc repair index'");
	if (optind + 1 < argc)
		return cli_usage_error("repair", "unexpected argument '%s'", argv[optind + 1]);
	if ((rc = cli_open_repo(&c, &repo)))
		return cli_fail(rc);
	if (!(rc = tsarc_lock_acquire(&lock, repo, 1))) {
		rc = tsarc_repair_index(repo, lock, on_damaged, NULL, &res);
		rc = cli_lock_release(lock, rc);
	}
	if (rc) {
		tsarc_repo_free(repo);
		return cli_fail(rc);
	}
	if (c.json) {
		cJSON *doc = cJSON_CreateObject();
		cJSON_AddNumberToObject(doc, "packs", (double)res.packs);
		cJSON_AddNumberToObject(doc, "packs_damaged", (double)res.packs_damaged);
		cJSON_AddNumberToObject(doc, "packs_damaged_unindexed",
			(double)res.packs_damaged_unindexed);
		cJSON_AddNumberToObject(doc, "chunks", (double)res.chunks);
		cJSON_AddNumberToObject(doc, "damaged_chunks_kept", (double)res.damaged_chunks_kept);
		cJSON_AddNumberToObject(doc, "damaged_chunks_dropped",
			(double)res.damaged_chunks_dropped);
		cJSON_AddNumberToObject(doc, "packs_written", (double)res.packs_written);
		cJSON_AddNumberToObject(doc, "bytes_written", (double)res.bytes_written);
		cJSON_AddNumberToObject(doc, "index_written", (double)res.index_written);
		cJSON_AddNumberToObject(doc, "index_removed", (double)res.index_removed);
		add_kept(doc, &res);
		tsarc_repo_free(repo);
		if ((rc = cli_print_json(doc)))
			return cli_fail(rc);
		return res.packs_damaged ? repair_failed(&res) : EXIT_OK;
	}
	if (!c.quiet) {
		cli_say("repaired", "index rebuilt from %zu packs (%zu chunks, %zu damaged packs "
			"left out): %zu index objects written, %zu old ones deleted", res.packs,
			res.chunks, res.packs_damaged + res.packs_damaged_unindexed,
			res.index_written, res.index_removed - res.index_kept);
		if (res.index_kept) {
			tsarc_time_format(res.index_kept_until, 0, when, sizeof(when));
			cli_format_bytes(size, sizeof(size), (double)res.bytes_kept_index);
			cli_say("repaired_hidden", "%s: %zu old index objects (%s) only hidden, not "
				"deleted: retained until %s at the latest; %s",
				repo->retention.mode ? "Object Lock" : "the bucket retains versions",
				res.index_kept, size, when, cli_hidden_fate(repo));
		}
		if (res.packs_damaged) {
			cli_format_bytes(size, sizeof(size), (double)res.bytes_written);
			cli_say("repaired_damaged", "of the damaged packs, %zu chunks the old index "
				"placed there still authenticate and were copied into %zu new packs "
				"(%s), %zu do not and are left out; the damaged packs are in no index "
				"now, and the next 'tsarc prune' deletes them%s",
				res.damaged_chunks_kept, res.packs_written, size,
				res.damaged_chunks_dropped, res.damaged_chunks_dropped
				? " ('tsarc check' names the snapshots that needed what is left out: "
				  "'tsarc forget' them before that prune)" : "");
		}
	}
	tsarc_repo_free(repo);
	return res.packs_damaged ? repair_failed(&res) : EXIT_OK;
}
