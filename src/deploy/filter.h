#ifndef TSARC_DEPLOY_FILTER_H
#define TSARC_DEPLOY_FILTER_H

/*
 * A stage between a snapshot's stream and the program that loads it: the
 * strip filter of a MySQL dump (mysqlstrip.h), the psql guard
 * (psqlguard.h), the choice of one database's part of a whole server's
 * dump (psqlsection.h). A restore runs a chain of them (step.c).
 *
 * Why one interface: each holds state across calls, so that any split of
 * the stream gives the same output, and a consumer in a pod is told the
 * size of its input before it starts, which only a first pass through the
 * same stages (fresh copies) can count. An error from a stage refuses the
 * stream: the consumer is killed before its input ends, never given a
 * clean end of a partial one.
 */
#include <stddef.h>
#include <stdint.h>

#include "tsarc/buf.h"

typedef struct tsarc_filter_ops {
	/* Appends what the stage makes of data[0..len) to `out` (it may hold
	 * bytes until a later call decides about them). */
	int (*feed)(void *self, const void *data, size_t len, tsarc_buf *out);
	/* End of input: what is held, or an error (a stream that must not be
	 * loaded after all). */
	int (*finish)(void *self, tsarc_buf *out);
	/* A new stage that does what `self` does, from the start of a stream. */
	int (*fresh)(const void *self, void **out);
	void (*free)(void *self);
	/* Optional: whether everything from here on passes as it is, so that
	 * a reader that wants only the stage's verdict (a plan, before the
	 * stream is loaded) may stop reading: the head filter once the head
	 * has ended (psqlhead.h). */
	int (*settled)(const void *self);
} tsarc_filter_ops;

typedef struct tsarc_filter {
	const tsarc_filter_ops *ops;
	void *self;
} tsarc_filter;

#define TSARC_FILTERS_MAX 4

/* Stages run in order, each into its own buffer. */
typedef struct tsarc_filter_chain {
	tsarc_filter f[TSARC_FILTERS_MAX];
	tsarc_buf out[TSARC_FILTERS_MAX];
	size_t n;
	int owned; /* the stages are freed with the chain (fresh copies) */
} tsarc_filter_chain;

/* A chain of the `n` stages given, which stay the caller's. */
int tsarc_filter_chain_init(tsarc_filter_chain *c, const tsarc_filter *f, size_t n);
/* A chain of fresh copies of `c`'s stages, freed with it. */
int tsarc_filter_chain_fresh(const tsarc_filter_chain *c, tsarc_filter_chain *out);
/* data[0..len) through every stage: what the consumer gets, in *data and
 * *len (valid until the next call). */
int tsarc_filter_chain_piece(tsarc_filter_chain *c, const uint8_t **data, size_t *len);
/* The end of input through every stage: what is still to go, in *data
 * and *len. */
int tsarc_filter_chain_end(tsarc_filter_chain *c, const uint8_t **data, size_t *len);
void tsarc_filter_chain_dispose(tsarc_filter_chain *c);

#endif
