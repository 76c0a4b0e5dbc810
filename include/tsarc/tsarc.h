#ifndef TSARC_H
#define TSARC_H

/*
 * The tsarc library: deduplicating, compressing, encrypting backups of
 * byte streams and of whole deployments. Link with `pkg-config --libs
 * tsarc`. The conventions every function follows are in repository.h.
 */

#include "errors.h"
#include "repository.h"
#include "snapshot.h"
#include "backup.h"
#include "deployment.h"

#endif
