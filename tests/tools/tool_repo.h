#ifndef TSARC_TEST_TOOL_REPO_H
#define TSARC_TEST_TOOL_REPO_H

/* The repository of a test or bench tool (tsarc-forge-lock,
 * tsarc-gen-index): TSARC_REPOSITORY, its password TSARC_PASSWORD, as the
 * scripts that run them set for tsarc itself. */
#include <stdio.h>
#include <stdlib.h>

#include "tsarc/errors.h"
#include "tsarc/repository.h"

/* 0 and the repository in *out; 2 after the usage line ("usage: ... TOOL
 * ARGS") when !args_ok or a variable is unset; 1 after the error when the
 * repository does not open. */
static inline int tool_open_repo(tsarc_repo **out, int args_ok, const char *tool,
	const char *args)
{
	const char *url = getenv("TSARC_REPOSITORY"), *pw = getenv("TSARC_PASSWORD");

	*out = NULL;
	if (!args_ok || !url || !pw) {
		fprintf(stderr, "usage: TSARC_REPOSITORY=... TSARC_PASSWORD=... %s %s\n", tool, args);
		return 2;
	}
	if (tsarc_repo_open_url(out, url, pw, NULL)) {
		fprintf(stderr, "%s: %s\n", tool, tsarc_error_last()->message);
		return 1;
	}
	return 0;
}

#endif
