#ifndef TSARC_DEPLOY_STATE_H
#define TSARC_DEPLOY_STATE_H

#include <cjson/cJSON.h>

#include "transport.h"

/*
 * The deployment's restore state (state.c) as a backup reads it. A
 * deployment with steps of a restore not known to be applied (a restore
 * under way, or one that failed or was killed) is half-restored: a backup
 * of it is no backup of the deployment as it was nor as the snapshot
 * was, and `restore latest` must not take it (snapshot.h,
 * TSARC_HALF_RESTORED_META).
 *
 * 0 with *out {"steps": {step: snapshot id}, "updated": time, "host":
 * name} (the last two where the state says), or NULL when nothing is
 * pending or the transport `tr` (the deployment's resources) keeps no
 * state; an error when it cannot be read.
 */
int tsarc_restore_state_pending(tsarc_transport *tr, cJSON **out);

#endif
