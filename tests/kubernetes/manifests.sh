#!/usr/bin/env bash
# Renders every kustomization of deploy/kubernetes with `kubectl kustomize`
# and checks the objects (tests/kubernetes/manifests.py says what). The
# kubectl calls to authorize come from deploy_kube, restore_kube,
# restore_layout216_kube and restore_layout216_kube_s3 (ctest fixtures),
# which record them through the kubectl test double.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
kubectl=${KUBECTL:-kubectl}
command -v "$kubectl" >/dev/null || { echo "manifests: no $kubectl (ci/deps.sh installs kubernetes-client)" >&2; exit 1; }
py=python3
"$py" -c 'import yaml' 2>/dev/null || py=/usr/bin/python3
exec "$py" "$here/manifests.py" "$kubectl" "$top/deploy/kubernetes" \
	"${TSARC_KUBE_CALLS_DIR:?}/deploy_kube.log:$TSARC_KUBE_CALLS_DIR/restore_layout216_kube-backup.log" \
	"$TSARC_KUBE_CALLS_DIR/restore_kube.log:$TSARC_KUBE_CALLS_DIR/restore_layout216_kube-restore.log:$TSARC_KUBE_CALLS_DIR/deploy_kube-restore.log" \
	"$TSARC_KUBE_CALLS_DIR/restore_layout216_kube_s3-backup.log" \
	"$TSARC_KUBE_CALLS_DIR/restore_layout216_kube_s3-restore.log"
