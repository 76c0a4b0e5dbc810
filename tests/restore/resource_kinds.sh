#!/usr/bin/env bash
# A resources step applies only objects of its component's own resource
# type. The List is the snapshot's (anyone who can write the repository
# writes it): a "secrets" stream holding a ClusterRoleBinding, a Pod or a
# ConfigMap must not reach `kubectl apply`, which would create a
# cluster-wide grant or a workload; nor may a Secret the target's
# configuration does not name, which would replace another application's
# Secret of the namespace. Nor may an object of kind Secret of another
# API group (evil.example/v1: a custom resource of whatever CRD of the
# cluster has that kind, not a Secret), or one whose apiVersion is not
# one. The whole List is refused before anything of it is applied, with the kube transport (the test double of kubectl) and
# the local one alike. No database server is needed.
# shellcheck disable=SC1091
. "$(cd "$(dirname "$0")" && pwd)/../cli/lib.sh"
fake_kubectl

KDIR=$WORK/kube
mkdir -p "$KDIR/resources/secret" "$KDIR/resources/configmap" "$WORK/res/secret"
echo '[]' >"$KDIR/pods.json"
export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale
export FAKE_KUBE_CALLS=$WORK/kubectl-calls.log
REPO=$WORK/repo
init_repo "$REPO"

# config TRANSPORT FILE: one component, the Secrets, restored by apply (no
# profile: the 3scale one would add its other components, which the
# snapshots here lack).
config() {
	python3 - "$1" "$2" "$FAKE_KUBECTL" "$WORK/res" <<'PY'
import json, sys
kind, out, kubectl, res = sys.argv[1:5]
tr = {"type": "kube", "binary": kubectl, "namespace": "3scale",
      "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE", "FAKE_KUBE_CALLS"]}
if kind == "local":
    tr = {"type": "local", "resources_dir": res}
json.dump({"profile": "none", "transport": tr, "components": {"secrets": {
    "kind": "resources", "resource": "secret", "names": ["system-seed"],
    "stream": "secrets.json", "restore": {"order": 10, "action": "apply"}}}},
    open(out, "w"), indent=2)
PY
}
config kube "$WORK/kube.json"
config local "$WORK/local.json"

# snapshot KIND...: a snapshot whose secrets.json is a List of the Secret
# system-seed and one object of each KIND (KIND:NAME names it, else
# tsarc-planted; KIND[:NAME]@APIVERSION gives its apiVersion, "-" none);
# its id in $SNAP.
snapshot() {
	python3 - "$@" <<'PY' >"$WORK/list.json"
import json, sys
items = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "system-seed"},
          "data": {"MASTER_PASSWORD": "c2VjcmV0"}}]
for k in sys.argv[1:]:
    k, _, api = k.partition("@")
    k, _, name = k.partition(":")
    o = {"apiVersion": api or "v1", "kind": k, "metadata": {"name": name or "tsarc-planted"}}
    if api == "-":
        del o["apiVersion"]
    if k == "ClusterRoleBinding":
        o.update(apiVersion="rbac.authorization.k8s.io/v1",
                 roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                          "name": "cluster-admin"},
                 subjects=[{"kind": "ServiceAccount", "name": "default", "namespace": "3scale"}])
    elif k == "Pod":
        o["spec"] = {"containers": [{"name": "x", "image": "busybox"}]}
    else:
        o["data"] = {"k": "v"}
    items.append(o)
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
	t backup --repo "$REPO" --stdin --name secrets.json --json <"$WORK/list.json"
	[ "$RC" -eq 0 ] || fail "backup --stdin exited with $RC"
	SNAP=$(json_get "$OUT" "d['snapshot_id']")
}

# nothing_applied WHAT: no apply of the stream's List reached kubectl, no
# file of it was written; only the restore state tsarc keeps in the
# deployment (a ConfigMap alone), which says the secrets were not applied.
nothing_applied() {
	python3 - "$FAKE_KUBE_CALLS" <<'PY' || fail "$1: kubectl apply was run with the stream's objects"
import json, os, sys
if os.path.exists(sys.argv[1]):
    for line in open(sys.argv[1]):
        c = json.loads(line)
        if "apply" in c["argv"] and c["kinds"] != ["ConfigMap"]:
            sys.exit(f"apply of {c['kinds']}")
PY
	[ -z "$(find "$KDIR/resources" "$WORK/res" -name '*.json' ! -name tsarc-restore-state.json -print -quit)" ] ||
		fail "$1: written: $(find "$KDIR/resources" "$WORK/res" -name '*.json')"
	for f in "$KDIR/resources/configmap/tsarc-restore-state.json" "$WORK/res/configmap/tsarc-restore-state.json"; do
		[ ! -e "$f" ] || python3 -c 'import json, sys
assert "secrets" in json.loads(json.load(open(sys.argv[1]))["data"]["pending"])' "$f" ||
			fail "$1: the restore state does not say the secrets were not applied"
	done
}

# refused WHAT PATTERN...: the restore of $SNAP through either transport
# fails, its stderr matches every PATTERN, and nothing of the List was applied.
refused() {
	local what=$1 tr p
	shift
	for tr in kube local; do
		: >"$FAKE_KUBE_LOG"
		t restore "$SNAP" --repo "$REPO" --config "$WORK/$tr.json"
		[ "$RC" -ne 0 ] || fail "$tr: $what was applied"
		for p in "$@"; do
			expect_err "$p" "$tr, $what: the refusal says /$p/"
		done
		nothing_applied "$tr, $what"
	done
}

for planted in ClusterRoleBinding Pod ConfigMap; do
	snapshot "$planted"
	# The refusal names the kind and the component's resource type.
	refused "a secrets stream holding a $planted" "$planted" "secret"
done

# A Secret of the right kind that the target's configuration does not
# name: another application's credentials in the same namespace. The
# refusal names it and says where to name it.
snapshot Secret:other-app-credentials
refused "a Secret the configuration does not name" other-app-credentials optional_names

# Kind Secret, a name the configuration takes, but another API group, or
# no apiVersion, or not one: the refusal names the object and its
# apiVersion.
snapshot Secret:system-seed@evil.example/v1
refused "a Secret of another API group" "evil.example/v1" "system-seed"
snapshot Secret:system-seed@-
refused "a Secret without apiVersion" "apiVersion" "system-seed"
snapshot 'Secret:system-seed@v1/../x'
refused "a Secret whose apiVersion is not one" 'v1/\.\./x' "system-seed"

# Secrets only: applied, through kubectl and into resources_dir.
snapshot
: >"$FAKE_KUBE_LOG"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json"
grep -q '"apply"' "$FAKE_KUBE_LOG" || fail "kube: the Secrets were not applied"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/local.json"
[ -f "$KDIR/resources/secret/system-seed.json" ] || fail "kube: system-seed not applied"
[ -f "$WORK/res/secret/system-seed.json" ] || fail "local: system-seed not written"
info "ok"
