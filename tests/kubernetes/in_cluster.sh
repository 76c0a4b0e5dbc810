#!/usr/bin/env bash
# In a pod, kubectl works as the pod's ServiceAccount in the namespace of
# the service-account namespace file; the kube transport reads the same
# file when nothing else names a namespace, so snapshots record where they
# came from. Through tests/deploy/fake_kubectl.c (a TEST DOUBLE of kubectl),
# with the file put in place in a private mount namespace (a tmpfs on /run,
# which /var/run points to): the Secrets are found in that namespace and the
# snapshot names it; a KUBECONFIG in the environment wins over the file; a
# file that holds no namespace name is an error naming the file.
# shellcheck disable=SC1091
. "$(dirname "$0")/../cli/lib.sh"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
fake_kubectl
[ "$(readlink -f /var/run)" = /run ] || fail "this test needs /var/run -> /run"

KDIR=$WORK/kube
mkdir -p "$KDIR/resources/secret"
export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale-prod
python3 - "$TOP/profiles/3scale.json" "$KDIR" "$FAKE_KUBECTL" "$WORK/config.json" <<'PY'
import json, os, sys
profile, kdir, kubectl, out = sys.argv[1:]
p = json.load(open(profile))
sec = p["components"]["secrets"]
for n in sec["names"]:
    json.dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": n, "namespace": "3scale-prod"},
               "data": {"k": "dg=="}}, open(os.path.join(kdir, "resources", "secret", n + ".json"), "w"))
json.dump({"apiVersion": "v1", "kind": "List", "items": []}, open(os.path.join(kdir, "pods.json"), "w"))
c = {"profile": "3scale",
     "transport": {"type": "kube", "binary": kubectl, "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE"]},
     "components": {n: {"enabled": False} for n in p["components"] if n != "secrets"}}
json.dump(c, open(out, "w"), indent=2)
PY
REPO=$WORK/repo
init_repo "$REPO"

# in_pod NAMESPACE-FILE-TEXT tsarc ARGS...: tsarc with that namespace file.
in_pod() {
	local text=$1
	shift
	RC=0
	unshare --mount --propagation private bash -c '
		mount -t tmpfs tmpfs /run &&
		mkdir -p /run/secrets/kubernetes.io/serviceaccount &&
		printf "%s\n" "$0" >/run/secrets/kubernetes.io/serviceaccount/namespace &&
		exec "$@"' "$text" "$TSARC" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

info "the namespace of the service-account file"
in_pod 3scale-prod backup --repo "$REPO" --config "$WORK/config.json" --json
[ "$RC" = 0 ] || fail "backup in the pod's namespace failed: $(cat "$ERR")"
SNAP=$(json_get "$OUT" "d['snapshot_id']")
python3 - "$FAKE_KUBE_LOG" <<'PY' || fail "kubectl was not pointed at the pod's namespace"
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
assert calls and all(c[:2] == ["-n", "3scale-prod"] for c in calls), calls
PY
ok show --repo "$REPO" "$SNAP" --json
python3 - "$OUT" <<'PY' || fail "the snapshot does not record the namespace"
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["streams"]:
    assert s["meta"]["deployment"] == {"transport": "kube", "namespace": "3scale-prod"}, s["meta"]["deployment"]
PY

info "without the file: kubectl's default namespace (the Secrets are not there)"
: >"$FAKE_KUBE_LOG"
t backup --repo "$REPO" --config "$WORK/config.json"
[ "$RC" != 0 ] || fail "a backup found Secrets in the default namespace"
grep -q '"-n"' "$FAKE_KUBE_LOG" && fail "a namespace was given without the file"

info "a KUBECONFIG in the environment wins over the file"
: >"$FAKE_KUBE_LOG"
KUBECONFIG=$WORK/kubeconfig in_pod 3scale-prod backup --repo "$REPO" --config "$WORK/config.json"
grep -q '"-n"' "$FAKE_KUBE_LOG" && fail "the file's namespace was used although KUBECONFIG was set"

info "a file that holds no namespace name"
in_pod 'Not_A-Namespace!' backup --repo "$REPO" --config "$WORK/config.json"
[ "$RC" = 2 ] || fail "expected exit 2, got $RC: $(cat "$ERR")"
grep -q "/var/run/secrets/kubernetes.io/serviceaccount/namespace does not hold a namespace name" "$ERR" ||
	fail "the error does not name the file: $(cat "$ERR")"
info "OK"
