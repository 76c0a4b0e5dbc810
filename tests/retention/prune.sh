#!/usr/bin/env bash
# forget, prune and locks through the tsarc binary: prune after forget
# shrinks the repository and the remaining snapshots still restore
# byte-identical; a prune while a backup runs is refused and never breaks
# the backup; locks left by killed processes are handled; groups.
set -euo pipefail
. "$(dirname "$0")/lib.sh" prune

t init -q --kdf-memory 4
for i in 1 2 3; do
	"$TSARC_GEN_DUMP" 6M --seed "$i" > "$work/s$i"
	t backup -q --stdin --name dump --host db1 --time "2026-10-0${i}T01:00:00Z" < "$work/s$i" >/dev/null
done
before=$(du -sb "$work/repo/data" | cut -f1)

# --- no policy is refused; dry run changes nothing ---
set +e
t forget >/dev/null 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "forget without a policy: exit $rc, want 2"
t forget --keep-last 1 --dry-run --prune --json >"$work/forget-dry.json"
[ "$(t snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 3 ] ||
	fail "dry run removed snapshots"

# --- forget + prune: the repository shrinks, what is kept restores ---
t forget --keep-last 1 --prune --json > "$work/forget.json"
python3 - "$work/forget.json" <<'PY' || fail "forget --json is not what was expected"
import json, sys
doc = json.load(open(sys.argv[1]))
g = doc["groups"]
assert len(g) == 1 and len(g[0]["keep"]) == 1 and len(g[0]["remove"]) == 2, g
assert g[0]["keep"][0]["reasons"] == ["last"], g[0]["keep"]
assert doc["removed"] == 2 and doc["prune"]["chunks_removed"] > 0, doc
assert doc["prune"]["bytes_removed"] > 0
PY
# The dry run's prune counted the snapshots its forget would remove as
# gone, as the real run's prune finds them: the same figures.
python3 - "$work/forget-dry.json" "$work/forget.json" <<'PY' || fail "forget --dry-run --prune did not preview the prune that followed the forget"
import json, sys
dry, real = (json.load(open(f))["prune"] for f in sys.argv[1:3])
keys = ["snapshots", "chunks_referenced", "chunks_removed", "bytes_removed", "packs_deleted",
        "packs_repacked", "packs_written"]
bad = [k + ": dry run " + str(dry[k]) + ", real " + str(real[k]) for k in keys if dry[k] != real[k]]
assert not bad, "; ".join(bad)
PY
after=$(du -sb "$work/repo/data" | cut -f1)
[ "$after" -lt "$before" ] || fail "prune did not shrink data/ ($before -> $after)"
t dump latest dump | cmp - "$work/s3" || fail "kept snapshot does not restore identical"
t check --read-data -q >/dev/null || fail "check after prune"
echo "prune freed $((before - after)) of $before bytes"

# --- a prune while a backup runs is refused; the backup completes ---
mkfifo "$work/fifo"
"$TSARC" backup -q --stdin --name during --host db1 < "$work/fifo" > "$work/during.id" &
bpid=$!
pids+=("$bpid")
exec 3> "$work/fifo"
head -c 3000000 "$work/s1" >&3
wait_locks 1
set +e
t prune > "$work/prune.out" 2>&1; rc=$?
t forget --keep-last 1 > "$work/forget.out" 2>&1; rc2=$?
set -e
[ $rc -eq 11 ] || fail "prune during a backup: exit $rc, want 11 ($(cat "$work/prune.out"))"
grep -q "locked" "$work/prune.out" || fail "prune's message does not say locked"
[ $rc2 -eq 11 ] || fail "forget during a backup: exit $rc2, want 11"
tail -c +3000001 "$work/s1" >&3
exec 3>&-
wait "$bpid" || fail "the backup failed after a refused prune"
t dump "$(cat "$work/during.id")" during | cmp - "$work/s1" || fail "backup during prune attempt"
t check -q >/dev/null || fail "check after concurrent attempt"

# --- a killed backup leaves a lock; on this host it is stale at once ---
kill_backup_midway() {
	"$TSARC" backup -q --stdin --name killed < "$work/fifo" >/dev/null 2>&1 &
	local kpid=$!
	pids+=("$kpid")
	exec 3> "$work/fifo"
	head -c 1000000 "$work/s2" >&3
	wait_locks 1
	kill -9 "$kpid"
	wait "$kpid" 2>/dev/null || true
	exec 3>&-
	[ "$(ls "$work/repo/locks" | wc -l)" -eq 1 ] || fail "the killed backup left no lock to test with"
}
kill_backup_midway
t unlock --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["removed"]==1 and d["locks"][0]["stale"], d' ||
	fail "unlock did not remove the stale lock"
[ "$(ls "$work/repo/locks" | wc -l)" -eq 0 ] || fail "lock still there after unlock"
kill_backup_midway
t prune -q >/dev/null || fail "prune did not treat a dead process's lock as stale"
[ "$(ls "$work/repo/locks" | wc -l)" -eq 0 ] || fail "prune left the stale lock behind"

# --- groups: per host and what was backed up by default (db1's dump,
# during and g each a group), per host with --group-by host, one group
# with --group-by '' ---
for h in db1 db2; do
	for d in 10 11; do
		"$TSARC_GEN_DUMP" 1M --seed "$d$h" | t backup -q --stdin --name g --host "$h" \
			--tag "nightly" --time "2026-10-${d}T01:00:00Z" >/dev/null
	done
done
count() { t snapshots --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
n0=$(count)
t forget --keep-last 1 --dry-run --json | python3 -c '
import json,sys
d=json.load(sys.stdin)
groups=sorted((g["group"]["host"], g["group"]["source"]["streams"]) for g in d["groups"])
assert groups==[("db1",["dump"]),("db1",["during"]),("db1",["g"]),("db2",["g"])], groups' ||
	fail "groups by host and source"
t forget --keep-last 1 --group-by host --dry-run --json | python3 -c '
import json,sys
d=json.load(sys.stdin)
hosts=sorted(g["group"]["host"] for g in d["groups"])
assert hosts==["db1","db2"], hosts' || fail "groups by host"
t forget --keep-last 1 --group-by '' --dry-run --json | python3 -c '
import json,sys
d=json.load(sys.stdin)
assert len(d["groups"])==1 and len(d["groups"][0]["keep"])==1, d' || fail "one group"
# --- a policy that keeps nothing of a group is refused, nothing removed:
# --keep-tag alone with a tag no snapshot of the group has (a typo) would
# remove every snapshot of it (on main it did, exit 0) ---
for dry in --dry-run ""; do
	set +e
	t forget --keep-tag nightlyy $dry > "$work/typo.out" 2>&1; rc=$?
	set -e
	[ $rc -eq 2 ] || fail "forget --keep-tag matching nothing $dry: exit $rc, want 2 ($(cat "$work/typo.out"))"
	grep -q "keeps no snapshot of group" "$work/typo.out" || fail "forget --keep-tag matching nothing does not say why: $(cat "$work/typo.out")"
	[ "$(count)" -eq "$n0" ] || fail "forget --keep-tag matching nothing $dry removed snapshots"
done
# Grouped by tags too, or by what was backed up (the default), an untagged
# group would be emptied (db1's dump and during): refused as a whole, though
# the tagged groups are kept whole.
for by in host,tags host,source; do
	set +e
	t forget --keep-tag nightly --group-by "$by" > "$work/typo.out" 2>&1; rc=$?
	set -e
	[ $rc -eq 2 ] || fail "forget --group-by $by emptying one of its groups: exit $rc, want 2"
	[ "$(count)" -eq "$n0" ] || fail "forget --group-by $by emptying one of its groups removed snapshots"
done
# A tag some snapshots of each group have: the others go.
t forget --keep-tag nightly --group-by host --dry-run --json | python3 -c '
import json,sys
d=json.load(sys.stdin)
assert all(len(g["keep"]) == 2 for g in d["groups"]), d' || fail "keep-tag nightly"

t forget --keep-last 1 -q >/dev/null
[ "$(count)" -eq 4 ] || fail "keep-last 1 per host and source should leave 4 of $n0"

# --- forget by id prefix removes exactly that snapshot ---
victim=$(t snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"][:12])')
t forget "$victim" -q >/dev/null
[ "$(count)" -eq 3 ] || fail "forget by id"
t snapshots --json | grep -q "$victim" && fail "forgotten snapshot still listed"
# --- snapshots of one second: forget --keep-last 1 keeps the one 'latest'
# names (on main the smallest id won the tie, and 'latest' went) ---
for i in 1 2 3; do
	echo "tie $i" | t backup -q --stdin --name tie --host tie --time 2030-01-01T00:00:00Z >/dev/null
done
latest=$(t show latest --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
t forget --keep-last 1 -q >/dev/null
t snapshots --json | python3 -c '
import json,sys
ids=[s["id"] for s in json.load(sys.stdin) if s["host"]=="tie"]
assert ids==[sys.argv[1]], (ids, sys.argv[1])' "$latest" ||
	fail "forget --keep-last 1 did not keep the snapshot latest names ($latest)"

# --- a writer's clock a year ahead: keep-within is measured from the
# store's clock then, and the snapshots of the last days stay (on main
# only the skewed one was kept) ---
for when in "-1 day" "-2 days" "+365 days"; do
	echo "skew $when" | t backup -q --stdin --name skew --host skew \
		--time "$(date -u -d "$when" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
done
t forget --keep-within 7d --dry-run --json | python3 -c '
import json,sys
g=[g for g in json.load(sys.stdin)["groups"] if g["group"]["host"]=="skew"][0]
assert len(g["keep"])==3 and not g["remove"], g' ||
	fail "forget --keep-within 7d beside a snapshot dated a year ahead"

t prune -q >/dev/null
t check --read-data -q >/dev/null || fail "final check"
echo "retention and prune: OK"
