#ifndef TSARC_EXTRACT_H
#define TSARC_EXTRACT_H

#include "repo.h"
#include "snapshot.h"

/* Receives the stream's bytes in order; a non-zero return stops. */
typedef int (*tsarc_sink_fn)(void *payload, const uint8_t *data, size_t len);

/* A sink writing to the file descriptor *(int *)payload. */
int tsarc_sink_fd(void *payload, const uint8_t *data, size_t len);

/*
 * Streams a backed-up stream to `sink`, chunks fetched ahead in parallel
 * and each verified (AEAD tag, size, id) before any of its bytes reach the
 * sink; the whole-stream SHA-256 is checked at the end. `parallel` 0
 * means the store's preferred number of requests in flight.
 */
int tsarc_stream_extract(tsarc_repo *repo, const tsarc_stream *st,
	tsarc_sink_fn sink, void *payload, unsigned parallel);

/* What a thread needs to read chunks: a decompression context and reusable
 * buffers (the plaintext of the last chunk read is in `plain`). */
typedef struct tsarc_chunk_reader {
	tsarc_codec *codec;
	tsarc_buf sealed, scratch, plain;
} tsarc_chunk_reader;

tsarc_chunk_reader *tsarc_chunk_reader_new(const tsarc_repo *repo);
/* Takes void * so it can be tsarc_parallel_for's worker_free. */
void tsarc_chunk_reader_free(void *reader);

/*
 * Reads a stream exactly as tsarc_stream_extract does (format 2: runs of a
 * pack in one read), so with the same checks a restore makes (each chunk's
 * AEAD tag under its id, its size, the whole-stream SHA-256), and writes
 * nothing: restore --verify-first. What passes here restores. The first
 * damaged or missing chunk is TSARC_ECORRUPT naming it and the stream.
 * (check --read-data also recomputes each chunk's id.)
 */
int tsarc_stream_verify(tsarc_repo *repo, const tsarc_stream *st, unsigned parallel);

#endif
