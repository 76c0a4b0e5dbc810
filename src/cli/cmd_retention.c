/* extend-retention: keeps what live snapshots need under Object Lock. */
#include "cli.h"
#include "lock.h"
#include "objlock.h"
#include "snapshot.h"
#include "tsarc/errors.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <time.h>

static const char EXTEND_HELP[] =
	"Usage: tsarc extend-retention [options]\n"
	"\n"
	"In a repository made with 'tsarc init --object-lock DAYS': moves the\n"
	"Object Lock retain-until date of every object a snapshot still needs (the\n"
	"config, key files, index objects, snapshots and the chunks they refer to;\n"
	"on format 2 the packs that hold those chunks, not a pack only forgotten\n"
	"snapshots use) to DAYS from now, so a repository kept for years stays\n"
	"protected with a short DAYS, and with each object its old versions (the\n"
	"genuine one, should someone overwrite it). Run it more often than every\n"
	"DAYS (e.g. after the nightly forget): a chunk a new backup shares with\n"
	"older ones is protected only as long as its date says. Dates are never\n"
	"shortened. Forgotten snapshots are not extended, so they still expire;\n"
	"a snapshot hidden by another hand than tsarc's forget (an attacker's\n"
	"delete marker) is, with every data object, and the command fails.\n"
	"Holds a shared lock.\n"
	"\n";

int cmd_extend_retention(int argc, char **argv)
{
	static const cli_command cmd = {"extend-retention", EXTEND_HELP, NULL,
		NULL, 0, NULL, CLI_WRITES, NULL, 0};
	tsarc_extend_result res;
	tsarc_repo *repo = NULL;
	tsarc_lock *lock = NULL;
	char until[40];
	cli_common c;
	int rc;

	if ((rc = cli_start_repo(&cmd, argc, argv, &c, NULL, &repo)) != CLI_GO_ON)
		return rc;
	if ((rc = tsarc_lock_acquire(&lock, repo, 0)))
		goto done;
	rc = tsarc_objlock_extend(repo, lock, (int64_t)time(NULL), &res);
	if (rc && rc != TSARC_ECORRUPT)
		goto done;
	tsarc_time_format(res.until, 0, until, sizeof(until));
	if (c.json) {
		cJSON *doc = cJSON_CreateObject();
		int prc;
		cJSON_AddStringToObject(doc, "until", until);
		cJSON_AddNumberToObject(doc, "snapshots", (double)res.snapshots);
		cJSON_AddNumberToObject(doc, "objects", (double)res.objects);
		cJSON_AddNumberToObject(doc, "versions_extended", (double)res.versions);
		cJSON_AddNumberToObject(doc, "missing", (double)res.missing);
		cJSON_AddNumberToObject(doc, "damaged_snapshots", (double)res.damaged);
		cJSON_AddNumberToObject(doc, "hidden_snapshots", (double)res.hidden);
		cJSON_AddNumberToObject(doc, "hidden_keys", (double)res.hidden_keys);
		cJSON_AddNumberToObject(doc, "foreign_retention", (double)res.foreign);
		if (rc)
			cJSON_AddStringToObject(doc, "error", tsarc_error_last()->message);
		prc = cli_print_json(doc);
		if (!rc)
			rc = prc;
	} else if (!c.quiet) {
		printf("%zu objects of %zu snapshots retained until %s at least\n", res.objects,
			res.snapshots, until);
		if (res.versions)
			printf("%zu old versions of them (left by an overwrite or a delete) "
			       "retained as well\n", res.versions);
	}
done:
	return cli_end(repo, lock, rc);
}
