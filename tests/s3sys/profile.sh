#!/usr/bin/env bash
# The 3scale profile finds system-storage in S3: when the APIManager says
# spec.system.fileStorage.simpleStorageService, the s3files component
# system-storage-s3 replaces the files component, with the Secret its
# configurationSecretRef names; with persistentVolumeClaim, or without an
# APIManager, the files component stays. --print-config shows the decision
# and why. No server is needed: print-config reads the resources only.
set -u
: "${TSARC:?set TSARC to the tsarc binary}"
TEST_NAME=s3sys_profile
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-s3sys-profile.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }
info() { echo "[$TEST_NAME] $*"; }
res=$WORK/res
mkdir -p "$res/apimanager" "$res/secret"
cat > "$WORK/config.json" <<JSON
{"profile": "3scale", "transport": {"type": "local", "resources_dir": "$res"},
 "components": {"system-storage": {"path": "$WORK"}}}
JSON
# print FILE: the effective configuration of the config, with "decided".
print() { "$TSARC" backup --config "$WORK/config.json" --print-config > "$1" 2> "$1.err" || fail "print-config: $(cat "$1.err")"; }
get() { python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
apimanager() { # FILE-STORAGE-JSON
	printf '{"apiVersion": "apps.3scale.net/v1alpha1", "kind": "APIManager", "metadata": {"name": "3scale"}, "spec": {"wildcardDomain": "example.com", "system": {"fileStorage": %s}}}\n' "$1" > "$res/apimanager/3scale.json"
}

# decided FILE ENABLED WHY WHAT: print-config into FILE decided
# system-storage-s3 ENABLED (True/False) for a reason matching WHY.
decided() {
	print "$1"
	[ "$(get "$1" "d['decided']['system-storage-s3']['enabled']")" = "$2" ] || fail "$4"
	get "$1" "d['decided']['system-storage-s3']['why']" | grep -q "$3" ||
		fail "why: $(get "$1" "d['decided']['system-storage-s3']")"
}

info "no APIManager: the volume (files) stays"
decided "$WORK/p1.json" False "no APIManager: stays system-storage" "s3 enabled without an APIManager"
[ "$(get "$WORK/p1.json" "d['components']['system-storage'].get('enabled', True)")" = True ] || fail "files disabled"

info "simpleStorageService: the bucket of the Secret it names replaces the volume"
apimanager '{"simpleStorageService": {"configurationSecretRef": {"name": "tenant-s3"}}}'
decided "$WORK/p2.json" True "APIManager 3scale: spec.system.fileStorage.simpleStorageService is set: the bucket of Secret tenant-s3, in place of system-storage" \
	"s3 not enabled"
[ "$(get "$WORK/p2.json" "d['components']['system-storage-s3']['secret']")" = tenant-s3 ] || fail "the Secret name"
[ "$(get "$WORK/p2.json" "d['components']['system-storage-s3']['kind']")" = s3files ] || fail "kind"
[ "$(get "$WORK/p2.json" "d['components']['system-storage']['enabled']")" = False ] || fail "files still enabled"

info "persistentVolumeClaim: the volume stays"
apimanager '{"persistentVolumeClaim": {"storageClassName": "nfs"}}'
decided "$WORK/p3.json" False "APIManager 3scale has no spec.system.fileStorage.simpleStorageService: stays system-storage" \
	"s3 enabled with a PVC"
[ "$(get "$WORK/p3.json" "d['components']['system-storage'].get('enabled', True)")" = True ] || fail "files disabled"
info "ok"
