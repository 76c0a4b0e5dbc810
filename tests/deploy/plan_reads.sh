#!/usr/bin/env bash
# A restore's plan reads each object of the target once. Against a real
# cluster every read is a kubectl process and an API round trip; the
# plan asked for the same APIManager four times (the layout's rules, the
# step's admission, the API server's dry run of its apply, the plan's
# description) and the system-database Secret twice (database_when's URL
# scheme, then external_when's host). Through tests/deploy/fake_kubectl.c (a
# TEST DOUBLE, which logs every call): the 3scale profile, a target whose
# APIManager says nothing of its databases (2.15) and whose system-database
# URL is a MySQL one, the APIManager restored alone; the --dry-run reads
# each once, the run once more the APIManager its step applies onto (what
# the target has by then). What the plan decides is the same: the
# APIManager applied under the target's name. No database server is
# needed.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
init_repo "$REPO"
KDIR=$WORK/kube
mkdir -p "$KDIR/resources/apimanager" "$KDIR/resources/secret" "$KDIR/resources/configmap"
echo '{"apiVersion": "v1", "kind": "List", "items": []}' >"$KDIR/pods.json"
export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale

# config FILE [ONLY]: the 3scale profile through the double; with ONLY,
# every component but that one disabled (the backup's).
config() {
	python3 - "$1" "$FAKE_KUBECTL" "${2:-}" <<'PY'
import json, sys
out, kubectl, only = sys.argv[1:]
profile = ["secrets", "configmaps", "apimanager", "system-mysql", "system-postgresql",
           "system-storage", "system-storage-s3", "zync-database", "backend-redis", "system-redis"]
json.dump({"profile": "3scale",
           "transport": {"type": "kube", "binary": kubectl, "namespace": "3scale",
                         "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE"]},
           "components": {c: {"enabled": False} for c in profile if only and c != only},
           "post_restore": []}, open(out, "w"), indent=2)
PY
}
# apimanager NAME REPLICAS: the double's APIManager (2.15: no
# externalComponents, no highAvailability).
apimanager() {
	rm -f "$KDIR"/resources/apimanager/*.json
	python3 - "$KDIR/resources/apimanager/$1.json" "$1" "$2" <<'PY'
import json, sys
json.dump({"apiVersion": "apps.3scale.net/v1alpha1", "kind": "APIManager",
           "metadata": {"name": sys.argv[2], "namespace": "3scale"},
           "spec": {"wildcardDomain": "example.com",
                    "system": {"appSpec": {"replicas": int(sys.argv[3])}}}},
          open(sys.argv[1], "w"), indent=2)
PY
}
# reads WHAT EXPECTED...: the calls of the log since it was emptied, as
# "TYPE NAME" of each get ("TYPE" for a list): each EXPECTED "N TYPE
# [NAME]" must be there N times.
reads() {
	local what=$1
	shift
	python3 - "$FAKE_KUBE_LOG" "$WORK/reads.txt" "$@" <<'PY' || fail "$what: the target was not read as often as expected (each N TYPE [NAME]: $*); it read (TYPE [NAME]: calls) $(cat "$WORK/reads.txt")"
import collections, json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
gets = collections.Counter(" ".join(c[c.index("get") + 1:c.index("-o")]) for c in calls if "get" in c)
open(sys.argv[2], "w").write(json.dumps(gets))
bad = [e for e in sys.argv[3:] if gets[e.split(" ", 1)[1]] != int(e.split(" ", 1)[0])]
assert not bad, bad
PY
}

apimanager 3scale 2
python3 - "$KDIR/resources/secret/system-database.json" <<'PY'
import base64, json, sys
b = lambda s: base64.b64encode(s.encode()).decode()
json.dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "system-database", "namespace": "3scale"},
           "data": {"URL": b("mysql2://root:pw@system-mysql/system"), "DB_USER": b("root"), "DB_PASSWORD": b("pw")}},
          open(sys.argv[1], "w"))
PY
config "$WORK/backup.json" apimanager
ok backup --repo "$REPO" --config "$WORK/backup.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")

# The target's APIManager has another name and spec: the snapshot's is
# applied as the target's own.
apimanager apimanager-sample 1
config "$WORK/restore.json"

info "the plan (--dry-run) reads the APIManager and the system-database Secret once"
: >"$FAKE_KUBE_LOG"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/restore.json" --only apimanager --dry-run --json
reads "--dry-run" "1 apimanager" "1 secret system-database"
python3 - "$OUT" <<'PY' || fail "the plan does not decide as before: $(cat "$OUT")"
import json, sys
d = json.load(open(sys.argv[1]))
st = {s["component"]: s for s in d["steps"]}
assert st["apimanager"]["plan"]["applied_as"] == {"3scale": "apimanager-sample"}, st["apimanager"]
assert st["apimanager"]["plan"]["replaces"] == ["apimanager-sample"], st["apimanager"]
PY

info "the run reads them once in its plan, and the APIManager once more at its step"
: >"$FAKE_KUBE_LOG"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/restore.json" --only apimanager --json
reads "run" "2 apimanager" "1 secret system-database"
python3 - "$KDIR/resources/apimanager" <<'PY' || fail "the APIManager was not applied as the target's"
import json, os, sys
names = sorted(os.listdir(sys.argv[1]))
assert names == ["apimanager-sample.json"], names
am = json.load(open(os.path.join(sys.argv[1], names[0])))
assert am["spec"]["system"]["appSpec"]["replicas"] == 2, am["spec"]
PY
finish
