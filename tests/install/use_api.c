/*
 * A program built against an installed tsarc (pkg-config tsarc), using
 * only the public headers: creates a repository, backs a file up as a
 * stream, lists the snapshots and dumps the stream into another file.
 *
 *   use_api REPO INPUT OUTPUT    (password in $USE_API_PASSWORD)
 *
 * Prints "snapshot ID STREAM SIZE" for the one snapshot listed; exits 1
 * with the library's message on any failure.
 */
#include <tsarc/tsarc.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what)
{
	const tsarc_error *e = tsarc_error_last();

	fprintf(stderr, "use_api: %s: %s (%s)\n", what, e->message ? e->message : "?",
		tsarc_errname(e->code));
	return 1;
}

int main(int argc, char **argv)
{
	const char *pw = getenv("USE_API_PASSWORD");
	tsarc_repo *repo = NULL;
	tsarc_snapshot *snap = NULL, **list = NULL;
	size_t n = 0, damaged = 0;
	int in, out, rc = 1;

	if (argc != 4 || !pw) {
		fprintf(stderr, "usage: USE_API_PASSWORD=... use_api REPO INPUT OUTPUT\n");
		return 2;
	}
	if (tsarc_repo_init_url(&repo, argv[1], pw, NULL))
		return fail("init");
	if ((in = open(argv[2], O_RDONLY)) < 0) {
		perror(argv[2]);
		goto done;
	}
	if (tsarc_backup_fd(&snap, repo, "data.bin", in, NULL)) {
		close(in);
		fail("backup");
		goto done;
	}
	close(in);
	if (tsarc_snapshot_list(&list, &n, repo, &damaged)) {
		fail("list");
		goto done;
	}
	if (n != 1 || damaged != 0 || tsarc_snapshot_stream_count(list[0]) != 1 ||
		strcmp(tsarc_snapshot_id(list[0]), tsarc_snapshot_id(snap)) != 0 ||
		strcmp(tsarc_snapshot_stream_name(list[0], 0), "data.bin") != 0) {
		fprintf(stderr, "use_api: the list is not the one snapshot just written\n");
		goto done;
	}
	printf("snapshot %s %s %llu\n", tsarc_snapshot_id(list[0]),
		tsarc_snapshot_stream_name(list[0], 0),
		(unsigned long long)tsarc_snapshot_stream_size(list[0], 0));
	if ((out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0) {
		perror(argv[3]);
		goto done;
	}
	if (tsarc_dump_fd(repo, tsarc_snapshot_id(snap), "data.bin", out, 0)) {
		close(out);
		fail("dump");
		goto done;
	}
	if (close(out)) {
		perror(argv[3]);
		goto done;
	}
	rc = 0;
done:
	tsarc_snapshot_array_free(list, n);
	tsarc_snapshot_free(snap);
	tsarc_repo_free(repo);
	return rc;
}
