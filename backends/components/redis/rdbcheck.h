#ifndef TSARC_REDIS_RDBCHECK_H
#define TSARC_REDIS_RDBCHECK_H

/*
 * What the target server's own redis-check-rdb says of an RDB, read
 * before the swap stops that server. A server exits at start on an RDB
 * it cannot load (a database number at or above its `databases`, an RDB
 * version newer than it, a module it does not have), and by then its old
 * files are moved aside: it would stay down. redis-check-rdb is the
 * server's own loader run over the file (same binary, same version), and
 * it names every database it selects; the count of databases is the one
 * thing it does not check, so the swap compares that itself.
 */
#include <stddef.h>

/* The report of CHECK script: redis-check-rdb's output (stdout and
 * stderr), then a line "tsarc-check: STATUS", or only "tsarc-check:
 * missing" where the server's host or pod has no redis-check-rdb. */
typedef struct tsarc_rdb_check {
	int present;       /* redis-check-rdb ran */
	int ok;            /* status 0 and "RDB looks OK" */
	long long max_db;  /* highest "Selecting DB ID", -1: none */
	long long keys;    /* "[info] N keys read" (expired ones too), -1: not said */
	char error[256];   /* what it found wrong, when not ok */
} tsarc_rdb_check;

/* Reads `out` (NUL-terminated; any bytes: the RDB's key names may be in
 * it). TSARC_EIO when it is not such a report (no status line). */
int tsarc_rdb_check_parse(const char *out, tsarc_rdb_check *res);

#endif
