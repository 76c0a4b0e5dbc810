#!/usr/bin/env bash
# The 3scale 2.16 layout (every database external, found from the
# APIManager and the Secrets: TLS MariaDB, ACL Redis over TLS and behind a
# Sentinel) through the kube transport, as the CronJob in the namespace
# runs it: tests/deploy/fake-kubectl (a TEST DOUBLE of kubectl) serves the
# demo's Secrets, ConfigMaps and APIManager, and no database pod runs.
# Proven: the destroyed deployment is restored equal with no exec but into
# system-app for the files, and no rollout (tsarc reaches the databases
# itself); only the deployment's own objects are read or written, each by
# name. Every
# kubectl call is recorded (TSARC_KUBE_CALLS) for
# tests/kubernetes/manifests.py, which checks that deploy/kubernetes's
# Roles grant them, Secrets and ConfigMaps by name.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
command -v redis-sentinel >/dev/null || {
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && fail "redis-sentinel is not installed"
	echo "SKIP: redis-sentinel is not installed (bash ci/deps.sh)"; exit 77; }

deploy_up 1 2.16
export TSARC_PASSWORD=restore-test
REPO=$WORK/repo
init_repo "$REPO"

# The namespace's objects are the demo's own resources folder, so that
# state and destroy (tests/restore/lib.sh) see what kubectl reads and
# writes. The only pod is system-app, whose volume holds the files (the
# demo's system-storage is a PersistentVolumeClaim): no database pod.
KDIR=$WORK/kube
mkdir -p "$KDIR"
ln -s "$DEP/resources" "$KDIR/resources"
cat >"$KDIR/pods.json" <<'JSON'
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "system-app-7d9f-abcde", "namespace": "3scale",
               "labels": {"deployment": "system-app", "app": "3scale-api-management"}},
  "spec": {"containers": [{"name": "system-master", "env": []}]},
  "status": {"phase": "Running"}}]}
JSON
export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale \
	FAKE_KUBE_CONTEXT=prod-cluster
# The backup's calls and the restore's apart: each runs under its own
# ServiceAccount (NAME-backup.log, NAME-restore.log).
CALLS=${TSARC_KUBE_CALLS:-$WORK/kubectl-calls.log}
mkdir -p "$(dirname "$CALLS")"
: >"${CALLS%.log}-backup.log"
: >"${CALLS%.log}-restore.log"
export FAKE_KUBE_CALLS=${CALLS%.log}-backup.log
python3 - "$DEP/config.json" "$WORK/kube.json" "$FAKE_KUBECTL" <<'PY'
import json, sys
src, dst, kubectl = sys.argv[1:]
c = json.load(open(src))
c["transport"] = {"type": "kube", "binary": kubectl, "context": "prod-cluster", "namespace": "3scale",
                  "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_CALLS", "FAKE_KUBE_NAMESPACE",
                               "FAKE_KUBE_CONTEXT"]}
json.dump(c, open(dst, "w"), indent=2)
PY

info "backup through kubectl: every database decided external, no pod needed"
ok backup --repo "$REPO" --config "$WORK/kube.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
state "$WORK/before"

info "destroyed, then restored through kubectl"
destroy
export FAKE_KUBE_CALLS=${CALLS%.log}-restore.log
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --dry-run
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --json
state "$WORK/after"
diff "$WORK/before" "$WORK/after" >&2 || fail "the restored deployment differs"

# What kubectl was asked: objects by name only (never a list of Secrets or
# ConfigMaps, so the Roles can name them), no exec but into system-app, no
# rollout.
python3 - "${CALLS%.log}-backup.log" "${CALLS%.log}-restore.log" <<'PY' ||
import json, sys
calls = [json.loads(l)["argv"] for f in sys.argv[1:] for l in open(f) if l.strip()]
assert calls, "no kubectl call recorded"
for argv in calls:
    a = list(argv)
    while a and a[0] in ("--context", "-n"):
        del a[:2]
    assert a[0] in ("get", "apply", "exec"), argv
    if a[0] == "exec":
        assert "system-app-7d9f-abcde" in a, ("an exec into another pod", argv)
    if a[0] == "get" and a[1] in ("secret", "secrets", "configmap", "configmaps"):
        assert len(a) > 2 and not a[2].startswith("-"), ("a list of %s" % a[1], argv)
print(len(calls), "kubectl calls: objects by name, exec only into system-app, no rollout")
PY
	fail "kubectl was asked for more than the deployment's objects"
for pw in "$MYSQL_ADMIN_PASSWORD" "$REDIS_BACKEND_REDIS_USER_PASSWORD" "$REDIS_SYSTEM_REDIS_USER_PASSWORD" \
	"$SENTINEL_PASSWORD" "PRIVATE KEY"; do
	! grep -qaF -- "$pw" "${CALLS%.log}-backup.log" "${CALLS%.log}-restore.log" ||
		fail "a password or key is on kubectl's command line"
	! grep -qaF -- "$pw" "$TRANSCRIPT" || fail "a password or key is in tsarc's output"
done
info "ok"
