#!/usr/bin/env bash
# Two clusters whose 3scale namespaces share a name ("3scale") and back up
# into one repository record the same host (the CronJob's --host
# 3scale-NAMESPACE): prod and DR, or a cluster B that keeps backing up
# into the bucket after a migration from A. Each cluster is told apart by
# its root CA (the kube-root-ca.crt ConfigMap every namespace holds):
# - a backup records the cluster ("cluster" of the stream's deployment),
#   and, with metrics (which read every snapshot's headers), says so when
#   the host's previous backup was taken in another one; without them it
#   reads no other snapshot's manifest;
# - B's `restore latest --host 3scale-3scale`, while A's backup is the
#   newest and B has backups of its own, is refused before anything is
#   read or written, naming both clusters, each one's newest snapshot and
#   what to do (before: A's data restored over B, neither in place nor a
#   migration, nothing said);
# - A's `restore latest` takes A's newest, in place;
# - a cluster C with no backups of its own takes A's newest as a
#   migration (another cluster is another deployment);
# - forget counts each cluster's backups apart: --keep-last 1 keeps A's
#   newest and B's (before: A's alone, B's every backup removed).
# Against tests/deploy/fake_kubectl.c, a TEST DOUBLE of kubectl: two of its
# stores (FAKE_KUBE_DIR) are the two clusters. No database server is needed.
# shellcheck disable=SC1091
. "$(cd "$(dirname "$0")" && pwd)/../cli/lib.sh"
fake_kubectl

REPO=$WORK/repo
init_repo "$REPO"
export FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale

# cluster DIR CA VALUE: a fake cluster whose root CA is CA (no CA: a
# cluster older than Kubernetes 1.20, without kube-root-ca.crt) and whose
# namespace 3scale holds the ConfigMap system-environment, data VALUE.
cluster() {
	mkdir -p "$1/resources/configmap"
	echo '{"apiVersion": "v1", "kind": "List", "items": []}' >"$1/pods.json"
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
d, ca, value = sys.argv[1:]
def cm(name, data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "3scale"}, "data": data}
if ca:
    pem = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % ca
    json.dump(cm("kube-root-ca.crt", {"ca.crt": pem}),
              open(d + "/resources/configmap/kube-root-ca.crt.json", "w"))
json.dump(cm("system-environment", {"THREESCALE_SUPERDOMAIN": value}),
          open(d + "/resources/configmap/system-environment.json", "w"))
PY
}
# The cluster's identity as tsarc records it: sha256: and the hex SHA-256
# of the CA's text.
identity() {
	python3 - "$1" <<'PY'
import hashlib, json, sys
print("sha256:" + hashlib.sha256(json.load(open(sys.argv[1] + "/resources/configmap/kube-root-ca.crt.json"))
                                 ["data"]["ca.crt"].encode()).hexdigest())
PY
}
# store DIR: the namespace's objects, for "nothing was written".
store() { cat "$1"/resources/configmap/*.json; }

CA=$WORK/cluster-a
CB=$WORK/cluster-b
CC=$WORK/cluster-c
cluster "$CA" "MIIBcluster-a-root-ca" "a.apps.example.test"
cluster "$CB" "MIIBcluster-b-root-ca" "b.apps.example.test"
cluster "$CC" "MIIBcluster-c-root-ca" "c.apps.example.test"
ID_A=$(identity "$CA")
ID_B=$(identity "$CB")

python3 - "$WORK/kube.json" "$FAKE_KUBECTL" <<'PY'
import json, sys
json.dump({"profile": "none",
           "transport": {"type": "kube", "binary": sys.argv[2], "namespace": "3scale",
                         "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE"]},
           "components": {"configmaps": {
               "kind": "resources", "resource": "configmap", "names": ["system-environment"],
               "stream": "configmaps.json", "restore": {"order": 10, "action": "apply"}}}},
          open(sys.argv[1], "w"), indent=2)
PY

# at DIR CMD...: tsarc (through t) against the fake cluster DIR.
at() {
	local dir=$1
	shift
	FAKE_KUBE_DIR=$dir t "$@"
}
# backup_in DIR TIME [ARGS...]: a backup of host 3scale-3scale; its id in $SNAP.
backup_in() {
	at "$1" backup --repo "$REPO" --config "$WORK/kube.json" --host 3scale-3scale --time "$2" --json \
		"${@:3}"
	[ "$RC" -eq 0 ] || fail "the backup in $(basename "$1") exited with $RC"
	SNAP=$(json_get "$OUT" "d['snapshot_id']")
}

info "cluster A backs up, then B under the same host, then A again"
backup_in "$CA" 2026-11-20T01:00:00Z
A1=$SNAP
# With metrics: they read every snapshot's headers, which the shared-host
# warning needs (below).
backup_in "$CB" 2026-11-20T02:00:00Z --metrics-file "$WORK/b1.prom"
B1=$SNAP
cp "$ERR" "$WORK/b-backup.err"
python3 - "$CA/resources/configmap/system-environment.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
o["data"]["THREESCALE_SUPERDOMAIN"] = "a2.apps.example.test"
json.dump(o, open(sys.argv[1], "w"))
PY
backup_in "$CA" 2026-11-20T03:00:00Z
A2=$SNAP

info "B's 'latest' is A's newer backup: refused, naming both clusters, nothing written"
store "$CB" >"$WORK/b-before"
for dry in "" --dry-run; do
	# shellcheck disable=SC2086
	at "$CB" restore latest --repo "$REPO" --config "$WORK/kube.json" --host 3scale-3scale $dry
	[ "$RC" -ne 0 ] || fail "restore latest $dry in B took A's backup: B's system-environment is now $(cat "$CB/resources/configmap/system-environment.json")"
	expect_rc 1 "restore latest $dry in B (refused as several hosts are)"
	expect_err "${ID_A:7:12}" "restore latest $dry: A's cluster is named"
	expect_err "${ID_B:7:12}" "restore latest $dry: B's cluster is named"
	expect_err "${A2:0:10}" "restore latest $dry: A's newest snapshot is named"
	expect_err "${B1:0:10}" "restore latest $dry: B's newest snapshot is named"
	expect_err "--host" "restore latest $dry: the way out is named"
	store "$CB" | cmp -s - "$WORK/b-before" ||
		fail "restore latest $dry: refused, yet B's namespace changed: $(store "$CB" | diff "$WORK/b-before" - | head -5)"
done
# An id is what the operator meant: B's own restores.
at "$CB" restore "$B1" --repo "$REPO" --config "$WORK/kube.json" --host 3scale-3scale --dry-run --json
[ "$RC" -eq 0 ] || fail "restore of B's own snapshot by id exited with $RC"
[ "$(json_get "$OUT" "d.get('in_place')")" = True ] || fail "B's own snapshot is not restored in place: $(cat "$OUT")"

info "each backup records its cluster; B's, after A's, says the host is shared (with metrics)"
at "$CA" show "$A1" --repo "$REPO" --json
[ "$(json_get "$OUT" "d['streams'][0]['meta']['deployment'].get('cluster')")" = "$ID_A" ] ||
	fail "A's backup does not record its cluster $ID_A: $(cat "$OUT")"
cp "$WORK/b-backup.err" "$ERR"
expect_err "another cluster" "B's backup after A's says the host is shared"
expect_err "${ID_A:7:12}" "B's backup names A's cluster"
expect_err "${ID_B:7:12}" "B's backup names its own cluster"

info "A's 'latest' is A's newest, in place"
at "$CA" restore latest --repo "$REPO" --config "$WORK/kube.json" --host 3scale-3scale --dry-run --json
[ "$RC" -eq 0 ] || fail "restore latest in A exited with $RC"
[ "$(json_get "$OUT" "d['snapshot_id']")" = "$A2" ] ||
	fail "latest in A named $(json_get "$OUT" "d['snapshot_id']"), not A's newest $A2 (B's: $B1)"
[ "$(json_get "$OUT" "d.get('in_place')")" = True ] || fail "A's restore of its own backup is not in place: $(cat "$OUT")"

info "cluster C, no backups of its own: A's newest, as a migration"
at "$CC" restore latest --repo "$REPO" --config "$WORK/kube.json" --host 3scale-3scale --json
[ "$RC" -eq 0 ] || fail "restore latest in C exited with $RC"
[ "$(json_get "$OUT" "d['snapshot_id']")" = "$A2" ] ||
	fail "latest in C named $(json_get "$OUT" "d['snapshot_id']"), not the newest $A2"
[ "$(json_get "$OUT" "d.get('migration')")" = True ] ||
	fail "a restore of cluster A's backup into cluster C is not a migration: $(cat "$OUT")"
grep -q "a2.apps.example.test" "$CC/resources/configmap/system-environment.json" ||
	fail "C's system-environment is not A's newest: $(cat "$CC/resources/configmap/system-environment.json")"
at "$CC" restore latest --repo "$REPO" --config "$WORK/kube.json" --host 3scale-3scale --dry-run
[ "$RC" -eq 0 ] || fail "restore latest --dry-run in C exited with $RC"
expect_err "a migration" "the plan says migration"

info "forget counts each cluster's backups apart (one host, two groups)"
at "$CA" forget --repo "$REPO" --keep-last 1 --dry-run --json
[ "$RC" -eq 0 ] || fail "forget --keep-last 1 --dry-run exited with $RC"
[ "$(json_get "$OUT" "sorted(k['id'] for g in d['groups'] for k in g['keep'])")" = \
	"$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "$A2" "$B1")" ] ||
	fail "forget --keep-last 1 does not keep each cluster's newest backup ($A2, $B1): $(cat "$OUT")"

info "a cluster without kube-root-ca.crt (no identity): 'latest' as before"
CD=$WORK/cluster-d
cluster "$CD" "" "d.apps.example.test"
at "$CD" restore latest --repo "$REPO" --config "$WORK/kube.json" --host 3scale-3scale --dry-run --json
[ "$RC" -eq 0 ] || fail "restore latest in a cluster without identity exited with $RC"
[ "$(json_get "$OUT" "d['snapshot_id']")" = "$A2" ] ||
	fail "latest without identity named $(json_get "$OUT" "d['snapshot_id']"), not $A2"
backup_in "$CD" 2026-11-20T04:00:00Z

info "a backup without metrics reads no other snapshot's manifest"
# The shared-host warning needs every snapshot's headers, a download of
# each whole manifest (tens of MB for a large dump's, one per snapshot
# kept): it comes with the metrics, which read them anyway.
if command -v strace >/dev/null 2>&1 && strace -f -o /dev/null true 2>/dev/null; then
	# (LeakSanitizer cannot work under ptrace.)
	FAKE_KUBE_DIR=$CB ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		strace -f -qq -o "$WORK/backup.strace" -e trace=openat,open \
		"$TSARC" backup --repo "$REPO" --config "$WORK/kube.json" --host 3scale-3scale \
		--time 2026-11-20T05:00:00Z >/dev/null 2>"$WORK/b2.err" ||
		fail "B's backup under strace failed: $(cat "$WORK/b2.err")"
	for id in "$A1" "$B1" "$A2"; do
		! grep -q "snapshots/$id" "$WORK/backup.strace" ||
			fail "a backup without metrics read snapshot ${id:0:10}: $(grep "snapshots/$id" "$WORK/backup.strace" | head -2)"
	done
else
	info "SKIP: strace cannot trace here"
fi

finish
