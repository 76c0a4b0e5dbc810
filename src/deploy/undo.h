#ifndef TSARC_DEPLOY_UNDO_H
#define TSARC_DEPLOY_UNDO_H

/*
 * The undo snapshot of a restore (--undo-snapshot; undo.c says why):
 * what the restore replaces, backed up from the target before the first
 * write, and restored from if a component's step fails.
 */
#include "kind.h"

/* Backs up, from the target, the components of the pending steps that
 * write a stream, as a snapshot tagged TSARC_UNDO_TAG with
 * {TSARC_UNDO_META: the restore's snapshot id} in its metadata; its id
 * into r->undo_id (left empty when no step writes anything). A failure
 * is an error naming them: the restore must not start. */
int tsarc_undo_save(tsarc_restore_ctx *r);
/* After the restore stopped with `rc` (its message the last error) at a
 * failed component step or on a signal: restores the components of the
 * steps applied and of the one that failed from r->undo_id, records the
 * outcome in r->rollback, and returns `rc` with the message saying
 * whether the deployment is as it was (or, the rollback failing too, why
 * and the command that puts it back). After a signal the rollback runs
 * as an undo (interrupt.h): a second signal ends tsarc at once. With
 * nothing replaced yet, nothing is restored. */
int tsarc_undo_rollback(tsarc_restore_ctx *r, int rc);
/* The same without a rollback (a failed hook): returns `rc`
 * with the message naming the undo snapshot and the command that puts
 * back what was replaced. */
int tsarc_undo_name(tsarc_restore_ctx *r, int rc);

#endif
