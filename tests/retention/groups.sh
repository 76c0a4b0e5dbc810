#!/usr/bin/env bash
# forget's default groups: one per host *and* what was backed up. A
# keep-policy counts the snapshots of a group against each other, so two
# things backed up under one host must never share a group, or the later
# one's backups push the other's out of every bucket:
#  - two streams backed up from one host (a 3scale dump at 02:00, another
#    database's at 03:00): with --keep-daily 7, every one of the 02:00
#    backups was removed (on main: the day's newest is the 03:00 one);
#  - two deployments recorded under one host: two namespaces, or two
#    clusters whose 3scale namespaces share a name and whose CronJobs both
#    record --host 3scale-NAMESPACE (production and DR): with
#    --keep-last 1, one cluster's backups were all removed.
# An explicit --group-by host still makes one group of a host.
set -euo pipefail
: "${TSARC_FORGE_SNAPSHOT:?}"
. "$(dirname "$0")/lib.sh" groups
count() { t snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
# What forget would keep and remove, a "KEEP|REMOVE" line per group (each
# a sorted, space-separated list of snapshot ids), the lines sorted.
plan() {
	t forget "$@" --dry-run --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
lines = []
for g in d["groups"]:
    lines.append(" ".join(sorted(s["id"] for s in g["keep"])) + "|" +
                 " ".join(sorted(s["id"] for s in g["remove"])))
print("\n".join(sorted(lines)))'
}

t init -q --kdf-memory 4

# --- two streams of one host, each nightly: one group each ---
declare -A id
for d in 01 02 03; do
	id[sys$d]=$("$TSARC_GEN_DUMP" 1M --seed "s$d" |
		t backup -q --stdin --name system.sql --host ops --time "2026-11-${d}T02:00:00Z")
	id[oth$d]=$("$TSARC_GEN_DUMP" 1M --seed "o$d" |
		t backup -q --stdin --name other.sql --host ops --time "2026-11-${d}T03:00:00Z")
done
want=$(printf '%s\n' "$(printf '%s\n' "${id[oth01]}" "${id[oth02]}" "${id[oth03]}" | sort | xargs)|" \
	"$(printf '%s\n' "${id[sys01]}" "${id[sys02]}" "${id[sys03]}" | sort | xargs)|" | sort)
got=$(plan --keep-daily 7)
[ "$got" = "$want" ] ||
	fail "forget --keep-daily 7: system.sql's and other.sql's backups are not kept apart (want
$want
got
$got)"
t forget --keep-daily 7 -q >/dev/null
[ "$(count)" -eq 6 ] || fail "forget --keep-daily 7 removed backups: $(count) of 6 left"
t dump "${id[sys03]}" system.sql >/dev/null || fail "system.sql's newest backup does not dump"
# Asked for, one group per host, as before.
got=$(plan --keep-daily 7 --group-by host)
[ "$(printf '%s\n' "$got" | wc -l)" -eq 1 ] && [ "${got#*|}" != "" ] ||
	fail "--group-by host does not make one group of the host: $got"
for k in "${!id[@]}"; do t forget "${id[$k]}" -q >/dev/null; done
[ "$(count)" -eq 0 ] || fail "the first part's snapshots were not all removed"

# --- deployments recorded under one host: one group each ---
# A deployment backup records where it was taken in every stream's
# "deployment" (the kube transport: namespace, context, and the cluster's
# root CA); the stream names alike, the host alike.
A=sha256:$(printf a%.0s {1..64})
B=sha256:$(printf b%.0s {1..64})
# backup LABEL TIME CLUSTER NAMESPACE: a backup forged to record that
# deployment, its id in id[LABEL].
backup() {
	local raw
	raw=$("$TSARC_GEN_DUMP" 256K --seed "$1" |
		t backup -q --stdin --name system-storage.tar --host 3scale-3scale --time "$2")
	id[$1]=$("$TSARC_FORGE_SNAPSHOT" "$raw" 3scale-3scale nightly system-storage.tar \
		"{\"component\":\"system-storage\",\"kind\":\"files\",\"deployment\":{\"transport\":\"kube\",\"cluster\":\"$3\",\"namespace\":\"$4\"}}")
}
backup a1 2026-11-10T02:15:00Z "$A" 3scale
backup b1 2026-11-10T02:16:00Z "$B" 3scale
backup s1 2026-11-10T02:17:00Z "$A" 3scale-staging
backup a2 2026-11-11T02:15:00Z "$A" 3scale
backup b2 2026-11-11T02:16:00Z "$B" 3scale
backup s2 2026-11-11T02:17:00Z "$A" 3scale-staging
want=$(printf '%s\n' "${id[a2]}|${id[a1]}" "${id[b2]}|${id[b1]}" "${id[s2]}|${id[s1]}" | sort)
got=$(plan --keep-last 1)
[ "$got" = "$want" ] ||
	fail "forget --keep-last 1: the deployments of host 3scale-3scale are not kept apart (want
$want
got
$got)"
t forget --keep-last 1 -q >/dev/null
[ "$(count)" -eq 3 ] || fail "forget --keep-last 1 left $(count) snapshots, want 3"
for k in a2 b2 s2; do
	t snapshots --json | grep -q "${id[$k]}" || fail "the newest backup $k was removed"
done
echo "forget groups per host and per what was backed up"
