/*
 * tsarc-forge-lock: writes a lock object as another process would, for the
 * end-to-end lock tests: a lock of another host, another pid namespace, or
 * a writer whose clock is wrong cannot be made any other way on one machine.
 *
 * Usage: tsarc-forge-lock NAME JSON
 * The repository is TSARC_REPOSITORY, its password TSARC_PASSWORD; JSON is
 * the lock's plain content (host, pid, exclusive, time, ...), sealed here as
 * tsarc seals a lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo.h"
#include "tool_repo.h"
#include "tsarc/errors.h"

int main(int argc, char **argv)
{
	tsarc_buf sealed = TSARC_BUF_INIT;
	tsarc_repo *repo = NULL;
	int rc;

	if ((rc = tool_open_repo(&repo, argc == 3, "tsarc-forge-lock", "NAME JSON")))
		return rc;
	/* The role string is the one src/lock.c seals locks with. */
	rc = tsarc_repo_seal_object(repo, "tsarc-lock-v1", argv[2], strlen(argv[2]), &sealed);
	if (!rc)
		rc = tsarc_store_put(repo->store, TSARC_OBJ_LOCK, argv[1], sealed.ptr, sealed.size, 0);
	if (rc)
		fprintf(stderr, "tsarc-forge-lock: %s\n", tsarc_error_last()->message);
	tsarc_buf_dispose(&sealed);
	tsarc_repo_free(repo);
	return rc ? 1 : 0;
}
