#!/usr/bin/env bash
# The 3scale 2.16 layout (every database external, found from the
# APIManager and the Secrets: TLS MariaDB, ACL Redis over TLS and behind a
# Sentinel) through the kube transport, as the CronJob in the namespace
# runs it: tests/deploy/fake_kubectl.c (a TEST DOUBLE of kubectl) serves the
# demo's Secrets, ConfigMaps and APIManager, and no database pod runs.
# Proven: the destroyed deployment is restored equal with no exec but into
# system-app for the files, and no rollout (tsarc reaches the databases
# itself); only the deployment's own objects are read or written, each by
# name. Every kubectl call is recorded (TSARC_KUBE_CALLS) for
# tests/kubernetes/manifests.py, which checks that deploy/kubernetes's
# Roles grant them, Secrets and ConfigMaps by name.
#
# With "s3" (run by tests/s3/run_with_s3.sh), the files are in an S3 bucket
# (RGW) that the APIManager's simpleStorageService and its aws-auth Secret
# name, as in most 2.16 deployments: then there is no pod at all, kubectl
# is never asked to exec or list pods, and the bucket is restored equal
# (objects the backup does not hold deleted) with the Secret's keys, not
# this process's. Its calls are what overlays/external-s3 must grant.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
MODE=${1:-pvc}
command -v redis-sentinel >/dev/null || {
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && fail "redis-sentinel is not installed"
	echo "SKIP: redis-sentinel is not installed (bash ci/deps.sh)"; exit 77; }
[ "$MODE" = pvc ] || [ -n "${TSARC_TEST_S3_ENDPOINT:-}" ] || fail "s3: run through tests/s3/run_with_s3.sh"

deploy_up 1 2.16
export TSARC_PASSWORD=restore-test
REPO=$WORK/repo
init_repo "$REPO"

# The namespace's objects are the demo's own resources folder, so that
# state and destroy (tests/restore/lib.sh) see what kubectl reads and
# writes. With a PersistentVolumeClaim (the demo's system-storage) the only
# pod is system-app, whose volume holds the files: no database pod.
KDIR=$WORK/kube
mkdir -p "$KDIR"
ln -s "$DEP/resources" "$KDIR/resources"
if [ "$MODE" = s3 ]; then
	BUCKET=tsarc-216-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
	# The bucket's tool with the server's keys, which tsarc itself never has.
	s3tool() {
		AWS_ACCESS_KEY_ID=$S3_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET python3 "$TOP/tests/s3sys/s3tool.py" "$@"
	}
	S3_KEY=$AWS_ACCESS_KEY_ID S3_SECRET=$AWS_SECRET_ACCESS_KEY
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
	s3tool fill "$BUCKET" "" || fail "cannot fill the bucket"
	s3tool state "$BUCKET" "" >"$WORK/bucket.before" || fail "cannot read the bucket"
	S3_KEY=$S3_KEY S3_SECRET=$S3_SECRET python3 - "$DEP/resources" "$BUCKET" "${TSARC_TEST_S3_ENDPOINT#http://}" <<'PY'
import base64, json, os, sys
res, bucket, host = sys.argv[1:]
b = lambda s: base64.b64encode(s.encode()).decode()
json.dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "aws-auth", "namespace": "3scale"},
           "data": {"AWS_ACCESS_KEY_ID": b(os.environ["S3_KEY"]),
                    "AWS_SECRET_ACCESS_KEY": b(os.environ["S3_SECRET"]),
                    "AWS_BUCKET": b(bucket), "AWS_REGION": b("us-east-1"), "AWS_HOSTNAME": b(host),
                    "AWS_PROTOCOL": b("HTTP"), "AWS_PATH_STYLE": b("true")}},
          open(os.path.join(res, "secret", "aws-auth.json"), "w"), indent=2)
p = os.path.join(res, "apimanager", "3scale.json")
am = json.load(open(p))
am["spec"]["system"]["fileStorage"] = {"simpleStorageService": {"configurationSecretRef": {"name": "aws-auth"}}}
json.dump(am, open(p, "w"), indent=4)
PY
	[ $? -eq 0 ] || fail "cannot write the aws-auth Secret"
	cp "$DEP/resources/secret/aws-auth.json" "$WORK/aws-auth.json"
	echo '{"apiVersion": "v1", "kind": "List", "items": []}' >"$KDIR/pods.json"
else
	cat >"$KDIR/pods.json" <<'JSON'
{"apiVersion": "v1", "kind": "List", "items": [
 {"apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "system-app-7d9f-abcde", "namespace": "3scale",
               "labels": {"deployment": "system-app", "app": "3scale-api-management"}},
  "spec": {"containers": [{"name": "system-master", "env": []}]},
  "status": {"phase": "Running"}}]}
JSON
fi
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
if [ "$MODE" = s3 ]; then
	# The operator's own Secret (the profile does not restore it), and a
	# bucket holding other objects and one of the backup's changed.
	cp "$WORK/aws-auth.json" "$DEP/resources/secret/aws-auth.json"
	s3tool other "$BUCKET" "" || fail "cannot change the bucket"
	s3tool state "$BUCKET" "" >"$WORK/bucket.destroyed" || fail "cannot read the bucket"
	cmp -s "$WORK/bucket.before" "$WORK/bucket.destroyed" && fail "test setup: the bucket did not change"
fi
export FAKE_KUBE_CALLS=${CALLS%.log}-restore.log
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --dry-run
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --json
state "$WORK/after"
if [ "$MODE" = s3 ]; then
	# The folder is no longer system-storage: left as destroy left it.
	for s in system zync backend-redis system-redis resources; do
		diff <(section "$WORK/before" "$s") <(section "$WORK/after" "$s") >&2 || fail "$s differs after the restore"
	done
	s3tool state "$BUCKET" "" >"$WORK/bucket.after" || fail "cannot read the bucket"
	diff "$WORK/bucket.before" "$WORK/bucket.after" >&2 || fail "the restored bucket differs"
else
	diff "$WORK/before" "$WORK/after" >&2 || fail "the restored deployment differs"
fi

# What kubectl was asked: objects by name only (never a list of Secrets or
# ConfigMaps, so the Roles can name them), no exec but into system-app, no
# rollout.
python3 - "$MODE" "${CALLS%.log}-backup.log" "${CALLS%.log}-restore.log" <<'PY' ||
import json, sys
mode = sys.argv[1]
calls = [json.loads(l)["argv"] for f in sys.argv[2:] for l in open(f) if l.strip()]
assert calls, "no kubectl call recorded"
for argv in calls:
    a = list(argv)
    while a and a[0] in ("--context", "-n"):
        del a[:2]
    assert a[0] in ("get", "apply", "exec"), argv
    assert mode == "pvc" or (a[0] != "exec" and a[1] != "pods"), ("a pod with the files in S3", argv)
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
