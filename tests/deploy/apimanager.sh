#!/usr/bin/env bash
# The APIManager a restore applies is the target's own where the target has
# one: its name, and the fields that say where the target's databases and
# files are. The restore decides external or in a pod, and the volume or
# S3, from the target's APIManager before its first write (the 3scale
# profile's external_when and storage_when); the snapshot's APIManager, of
# another name or layout, must not then undo that:
#  - a 2.15 deployment's backup (databases in pods, no
#    spec.externalComponents) restored into a 2.16 install, whose
#    APIManager says every database external: the snapshot's replaced it
#    without externalComponents, and the 2.16 operator's preflight refuses
#    such an APIManager (no internal databases since 2.16): the target
#    stuck, though tsarc wrote the data into the external databases;
#  - a target installed with another name (OperatorHub's apimanager-sample):
#    the snapshot's "3scale" was created beside it, two APIManagers
#    reconciling one namespace.
# Now the snapshot's APIManager is applied under the target's name, with
# the target's spec.externalComponents, spec.highAvailability and
# spec.system.fileStorage (the profile's "target_fields"), the rest (replicas,
# APIcast settings, ...) the snapshot's; the plan says so. A target with
# two APIManagers is refused before the first write (which one would the
# restore replace?); a target with none gets the snapshot's whole.
# The 3scale profile's apimanager component alone, local transport: no
# database server is needed.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
init_repo "$REPO"

# config FILE RESOURCES_DIR: the 3scale profile with every component but
# the APIManager disabled, and no hooks.
config() {
	python3 - "$@" <<'PY'
import json, sys
others = ["secrets", "configmaps", "system-mysql", "system-postgresql", "system-storage",
          "system-storage-s3", "zync-database", "backend-redis", "system-redis"]
json.dump({"profile": "3scale", "transport": {"type": "local", "resources_dir": sys.argv[2]},
           "components": {c: {"enabled": False} for c in others}, "post_restore": []},
          open(sys.argv[1], "w"), indent=2)
PY
}
# apimanager DIR NAME SPEC-JSON: DIR/apimanager/NAME.json.
apimanager() {
	mkdir -p "$1/apimanager"
	python3 - "$1/apimanager/$2.json" "$2" "$3" <<'PY'
import json, sys
json.dump({"apiVersion": "apps.3scale.net/v1alpha1", "kind": "APIManager",
           "metadata": {"name": sys.argv[2], "namespace": "3scale"},
           "spec": json.loads(sys.argv[3])}, open(sys.argv[1], "w"), indent=2)
PY
}
listing() { (cd "$1" && find . -type f -exec md5sum {} + | LC_ALL=C sort); }

SRC=$WORK/src
DST=$WORK/dst
# The source: 2.15, databases in pods, files on a volume.
apimanager "$SRC" 3scale '{"wildcardDomain": "example.com",
	"system": {"fileStorage": {"persistentVolumeClaim": {"storageClassName": "gp2"}},
	           "appSpec": {"replicas": 2}},
	"apicast": {"productionSpec": {"replicas": 3}}}'
config "$WORK/src.json" "$SRC"
ok backup --repo "$REPO" --config "$WORK/src.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")

# The target: a 2.16 install named as OperatorHub names it, every database
# external, files on another storage class.
TARGET_SPEC='{"wildcardDomain": "example.com",
	"externalComponents": {"system": {"database": true, "redis": true},
	                       "backend": {"redis": true}, "zync": {"database": false}},
	"system": {"fileStorage": {"persistentVolumeClaim": {"storageClassName": "gp3-csi"}},
	           "appSpec": {"replicas": 1}},
	"apicast": {"productionSpec": {"replicas": 1}}}'
apimanager "$DST" apimanager-sample "$TARGET_SPEC"
config "$WORK/dst.json" "$DST"
listing "$DST" >"$WORK/dst.before"

info "the plan: applied as the target's APIManager, its layout kept"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --dry-run --json
python3 - "$OUT" <<'PY' || fail "the plan does not say the APIManager is applied as the target's: $(cat "$OUT")"
import json, sys
p = {s["component"]: s["plan"] for s in json.load(open(sys.argv[1]))["steps"]}["apimanager"]
assert p["replaces"] == ["apimanager-sample"] and p["creates"] == [], p
assert p["applied_as"] == {"3scale": "apimanager-sample"}, p
assert p["kept_from_target"] == ["spec.externalComponents", "spec.highAvailability",
                                 "spec.system.fileStorage"], p
PY
listing "$DST" | cmp -s - "$WORK/dst.before" || fail "--dry-run changed the target"

info "the restore: one APIManager, the target's name and layout, the snapshot's settings"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --json
[ "$(ls "$DST/apimanager")" = apimanager-sample.json ] ||
	fail "the target's namespace holds the APIManagers $(ls "$DST/apimanager" | xargs), not one named apimanager-sample"
python3 - "$DST/apimanager/apimanager-sample.json" "$TARGET_SPEC" <<'PY' || fail "the applied APIManager is wrong: $(cat "$DST/apimanager/apimanager-sample.json")"
import json, sys
o = json.load(open(sys.argv[1]))
t = json.loads(sys.argv[2])
s = o["spec"]
assert o["metadata"]["name"] == "apimanager-sample", o["metadata"]
assert s["externalComponents"] == t["externalComponents"], s
assert s["system"]["fileStorage"] == t["system"]["fileStorage"], s
assert "highAvailability" not in s, s
# The rest is the snapshot's.
assert s["system"]["appSpec"] == {"replicas": 2} and s["apicast"]["productionSpec"] == {"replicas": 3}, s
PY

info "a target with two APIManagers: refused before the first write"
apimanager "$DST" second '{"wildcardDomain": "other.example.com"}'
listing "$DST" >"$WORK/dst.two"
for dry in "" --dry-run; do
	# shellcheck disable=SC2086
	t restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" $dry
	expect_rc 2 "restore $dry into a namespace with two APIManagers"
	expect_err "apimanager-sample" "restore $dry: the target's APIManagers are named"
	expect_err "second" "restore $dry: the target's APIManagers are named"
	listing "$DST" | cmp -s - "$WORK/dst.two" || fail "restore $dry: refused, yet the target changed"
done

info "a target without an APIManager (a namespace rebuilt after a disaster): the snapshot's whole"
rm -rf "$DST/apimanager"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/dst.json" --json
[ "$(ls "$DST/apimanager")" = 3scale.json ] || fail "the snapshot's APIManager was not created: $(ls "$DST/apimanager" | xargs)"
python3 - "$DST/apimanager/3scale.json" <<'PY' || fail "the created APIManager is not the snapshot's: $(cat "$DST/apimanager/3scale.json")"
import json, sys
s = json.load(open(sys.argv[1]))["spec"]
assert "externalComponents" not in s and s["system"]["fileStorage"]["persistentVolumeClaim"]["storageClassName"] == "gp2", s
PY

finish
