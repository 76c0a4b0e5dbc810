#ifndef TSARC_PACKER_H
#define TSARC_PACKER_H

/*
 * Fills packs with sealed chunks from many threads and stores each one
 * once it reaches the repository's pack size, then writes the index for
 * every pack it stored. Used by a backup and by prune's repack.
 *
 * Scratch space (TMPDIR): the pack being filled plus at most
 * `max_uploading` packs being stored, each in its own scratch file (in
 * memory only their tables of contents). Full packs are stored by the
 * packer's own `max_uploading` threads, so an adder (a backup's compute
 * worker) waits only while a full pack cannot be handed on. A chunk
 * added is stored once its pack is, and found through the index once
 * tsarc_packer_finish has written it: the caller writes nothing that names
 * the chunk (a manifest, an index without its old entries) before that.
 */
#include "pack.h"

typedef struct tsarc_packer tsarc_packer;

int tsarc_packer_new(tsarc_packer **out, tsarc_repo *repo, unsigned max_uploading);
/* Thread-safe. After one failure (of this call or of storing a pack)
 * every later call fails with it. */
int tsarc_packer_add(tsarc_packer *p, const uint8_t id[TSARC_ID_LEN],
	const uint8_t *sealed, size_t len, uint32_t plain);
/* Stores the pack being filled, waits for every upload, syncs the store
 * and writes the index objects for all packs stored; their names go to
 * `index_names` when not NULL (free with tsarc_store_names_free). */
int tsarc_packer_finish(tsarc_packer *p, char ***index_names, size_t *nindex);
/* Packs stored so far, and their bytes. */
void tsarc_packer_stats(tsarc_packer *p, uint64_t *packs, uint64_t *bytes);
void tsarc_packer_free(tsarc_packer *p);

#endif
