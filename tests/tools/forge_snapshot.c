/*
 * tsarc-forge-snapshot: rewrites a snapshot's words as an older tsarc or a
 * hostile writer could have stored them. tsarc backup now refuses control
 * characters and invalid UTF-8 in a tag, a host or a stream name, but a
 * repository may already hold such snapshots (or be written by someone
 * else): the tests that show they still list, show and restore safely need
 * one, and tsarc itself can no longer make it.
 *
 * Usage: tsarc-forge-snapshot ID HOST TAG NAME [STREAM_META [META [START]]]
 * The repository is TSARC_REPOSITORY, its password TSARC_PASSWORD. The
 * snapshot ID gets host HOST, the one tag TAG and its first stream the
 * name NAME; it is saved again (a new id, printed) and the old one removed.
 * STREAM_META and META, JSON objects, replace the first stream's meta and
 * the snapshot's (free-form details a hostile writer may fill as well);
 * START, up to 39 bytes, the first stream's start time (which a load
 * takes as it is).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo.h"
#include "snapshot.h"
#include "tool_repo.h"
#include "tsarc/errors.h"

int main(int argc, char **argv)
{
	tsarc_snapshot *snap = NULL;
	tsarc_repo *repo = NULL;
	char *host = NULL, *tag = NULL, *name = NULL, **tags = NULL;
	cJSON *stream_meta = NULL, *meta = NULL;
	int rc;

	if ((rc = tool_open_repo(&repo, argc >= 5 && argc <= 8, "tsarc-forge-snapshot",
		     "ID HOST TAG NAME [STREAM_META [META [START]]]")))
		return rc;
	if ((argc > 5 && !cJSON_IsObject(stream_meta = cJSON_Parse(argv[5]))) ||
		(argc > 6 && !cJSON_IsObject(meta = cJSON_Parse(argv[6]))) ||
		(argc > 7 && strlen(argv[7]) >= sizeof(snap->streams[0].start))) {
		rc = tsarc_error_set(TSARC_EINVAL, "STREAM_META and META are JSON objects, START "
			"up to 39 bytes");
		goto done;
	}
	if ((rc = tsarc_snapshot_load(repo, argv[1], &snap)))
		goto done;
	if (!snap->nstreams || !(host = strdup(argv[2])) || !(tag = strdup(argv[3])) ||
		!(name = strdup(argv[4])) || !(tags = calloc(1, sizeof(char *)))) {
		rc = tsarc_error_set(TSARC_EINVAL, "no stream, or out of memory");
		goto done;
	}
	free(snap->host);
	snap->host = host;
	host = NULL;
	while (snap->ntags)
		free(snap->tags[--snap->ntags]);
	free(snap->tags);
	tags[0] = tag;
	tag = NULL;
	snap->tags = tags;
	snap->ntags = 1;
	tags = NULL;
	free(snap->streams[0].name);
	snap->streams[0].name = name;
	name = NULL;
	if (stream_meta) {
		cJSON_Delete(snap->streams[0].meta);
		snap->streams[0].meta = stream_meta;
		stream_meta = NULL;
	}
	if (argc > 7)
		memcpy(snap->streams[0].start, argv[7], strlen(argv[7]) + 1);
	if (meta) {
		cJSON_Delete(snap->meta);
		snap->meta = meta;
		meta = NULL;
	}
	if (!(rc = tsarc_snapshot_save(repo, snap)))
		rc = tsarc_store_remove(repo->store, TSARC_OBJ_SNAPSHOT, argv[1]);
	if (!rc)
		printf("%s\n", snap->id);
done:
	if (rc)
		fprintf(stderr, "tsarc-forge-snapshot: %s\n", tsarc_error_last()->message);
	free(host);
	free(tag);
	free(name);
	free(tags);
	cJSON_Delete(stream_meta);
	cJSON_Delete(meta);
	tsarc_snapshot_free(snap);
	tsarc_repo_free(repo);
	return rc ? 1 : 0;
}
