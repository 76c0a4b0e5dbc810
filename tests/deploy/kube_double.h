#ifndef TSARC_TEST_KUBE_DOUBLE_H
#define TSARC_TEST_KUBE_DOUBLE_H

/* A kube transport whose kubectl is a small shell script in `dir` that
 * runs the command after "--" on this host: the unit tests' stand-in for
 * a pod (the script tests use tests/deploy/fake_kubectl.c). */
#include "component.h"

/* With `argv_log` (may be NULL) every call's argv is appended there, one
 * argument a line; with `cut` > 0 only that many bytes of the command's
 * output are relayed and kubectl exits 0, as it does when it loses its
 * connection to the pod. */
tsarc_transport *kube_double(const char *dir, const char *argv_log, int cut);
/* A transport of `type` ("kube", "local") whose configuration is
 * {"type": type, key: value}: a kubectl binary, a resources_dir. */
tsarc_transport *transport_with(const char *type, const char *key, const char *value);

#endif
