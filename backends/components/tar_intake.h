#ifndef TSARC_TAR_INTAKE_H
#define TSARC_TAR_INTAKE_H

/*
 * The archive a tar in a pod writes (the files kind over the kube
 * transport), taken into the stream the way the backup on this host
 * writes its own (files.c): what the files had, and nothing a restore
 * would not make.
 *
 * GNU tar stores fifos and devices, and pads a file that shrank while it
 * read it with zeros up to the size its header already gave. The archive
 * is read here with libarchive and written again as pax (hdrcharset
 * BINARY, access and change times left out, as on this host):
 * - fifos, devices and sockets are left out and named; so is tsarc's own
 *   swap journal at the top of the tree;
 * - which files tar padded only its stderr says (tar_stderr.h), and
 *   stderr is not in step with the archive (two streams through kubectl).
 *   So an entry whose data ends in a zero byte is held back (in scratch
 *   space, fileio.h) until stderr has ended, then written at the end of
 *   the stream without the zeros tar said it added. Hard links to it wait
 *   with it, and the folders above it are written again after it, so a
 *   tar that restores the stream in order sets their times last. Nearly
 *   every file ends in a non-zero byte and goes straight through.
 * A report of padding that matches no such entry, or more zeros than the
 * entry ends with, fails the backup: the stream would not be what the
 * file had.
 *
 * Every entry's data is read whole before its header is written (a
 * header states the size first): up to 1 MiB in memory, the rest in
 * scratch space in TMPDIR, which also holds the entries held back.
 */
#include <stdatomic.h>
#include <stddef.h>

/* A production's filter (proc.h, tsarc_filter_fn): ctx is the
 * tsarc_tar_stderr reading the same tar's stderr. */
int tsarc_tar_intake(int in_fd, int out_fd, void *ctx, const atomic_int *stop, char *err,
	size_t errsz);

#endif
