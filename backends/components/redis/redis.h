#ifndef TSARC_COMPONENTS_REDIS_H
#define TSARC_COMPONENTS_REDIS_H

/* The redis kind's files: redis.c (the kind, its dump), swap.c (its restore). */
#include "../db.h"

/* Restores step `s`: the RDB swap (swap.c). */
int tsarc_redis_swap_restore(tsarc_restore_ctx *r, tsarc_step *s);

#endif
