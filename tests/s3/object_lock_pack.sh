#!/usr/bin/env bash
# S3 Object Lock on a format-2 repository (packs + index) on the real Ceph
# RGW (docs/object-lock.md): every pack and index object carries a
# retention; with the repository's own credentials (tests/s3/attacker.py)
# a locked pack or index version cannot be deleted or shortened, and after
# an overwrite and a plain delete the repository as it was still restores
# byte-identical, also after extend-retention, which moves the dates of
# the overwritten pack's and snapshot's genuine (old) versions too.
# forget + prune within the dates delete nothing locked: a mostly unused
# pack is not repacked, a wholly unused pack and the old
# index objects are only hidden, all reported with their bytes, and check
# and dump see a whole repository; extend-retention moves the dates of
# what the live snapshot needs and not of what only forgotten ones used;
# once the dates have passed (governance, shortened by an administrator's
# bypass), prune deletes every version of what it hid and repacks the pack.
#
# Run through tests/s3/run_with_s3.sh (a fresh bucket name, AWS_* set).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/object_lock_lib.sh"
V=$WORK/versions

# versions BUCKET: every version and marker under repo/ into $V
# ("KEY VERSION latest|old|marker").
versions() { $ATT versions "$1" repo/ >"$V"; }
# latest PREFIX: the keys in $V under PREFIX whose current version is an object.
latest() { awk -v p="$1" 'index($1, p) == 1 && $3 == "latest" {print $1}' "$V"; }
# count PREFIX KIND: lines of $V under PREFIX of that kind (latest|old|marker).
count() { awk -v p="$1" -v k="$2" 'index($1, p) == 1 && $3 == k' "$V" | wc -l; }
# check_json WHAT EXPR: the last --json output satisfies EXPR (over d).
check_json() { [ "$(json_get "$OUT" "bool($2)")" = True ] || fail "$1"; }
# expire_then_prune: an administrator's bypass sets every date of the
# governance repository 3 s ahead; once past, prune --json.
expire_then_prune() {
	$ATT expire "$GB" repo/ 3
	wait_past $(($(date +%s) + 4))
	prune_as_dry_run_said "$G"
}
# nothing_hidden_left: only current versions are left in the bucket.
nothing_hidden_left() {
	versions "$GB"
	[ "$(grep -vc ' latest$' "$V")" = 0 ] ||
		fail "old versions or markers are left: $(grep -v ' latest$' "$V" | head -3)"
}

# --- init, and every pack and index object written with a retention ---
R=$BASE/$BUCKET/repo
init_repo "$R" --format 2 --object-lock 1 --json
check_json "init --json: not format 2 with compliance" \
	"d['object_lock']['mode'] == 'compliance' and d['format'] == 2"
backup_gen "$R" db.sql 2M --seed 1
S1=$SNAP
backup_gen "$R" db.sql 2M --seed 2
S2=$SNAP
now=$(date +%s)
$ATT retentions "$BUCKET" repo/ >"$WORK/dates"
awk '$1 !~ /\/locks\// && !($4 == "COMPLIANCE" && $5 > n + 86000 && $5 <= n + 86460)' \
	n="$now" "$WORK/dates" | grep . &&
	fail "objects not retained one day in compliance mode: $(head -3 "$WORK/dates")"
grep -q "^repo/data/" "$WORK/dates" || fail "no pack was written"
[ "$(grep -c "^repo/index/" "$WORK/dates")" -ge 2 ] || fail "no index objects were written"
read -r pack pver _ < <(grep "^repo/data/" "$WORK/dates")
read -r index iver _ < <(grep "^repo/index/" "$WORK/dates")

# --- the attacker, with the repository's own credentials ---
[ "$($ATT delete-version "$BUCKET" "$pack" "$pver")" = AccessDenied ] ||
	fail "a locked pack version could be deleted"
[ "$($ATT delete-version "$BUCKET" "$index" "$iver")" = AccessDenied ] ||
	fail "a locked index version could be deleted"
[ "$($ATT shorten "$BUCKET" "$pack" "$now")" != ok ] ||
	fail "the compliance retention of a pack could be shortened"
sleep 1
BEFORE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
[ "$($ATT overwrite "$BUCKET" "$pack")" = ok ] || fail "overwrite of a pack refused"
[ "$($ATT overwrite "$BUCKET" "repo/snapshots/$S2")" = ok ] || fail "overwrite of a snapshot refused"
[ "$($ATT delete "$BUCKET" "$index")" = ok ] || fail "plain delete of an index object refused"
versions "$BUCKET"
grep -q "^$pack $pver old$" "$V" || fail "the overwritten pack's locked version is gone"
grep -q "^$index $iver old$" "$V" || fail "the deleted index object's locked version is gone"
t check --repo "$R" --read-data
[ "$RC" -ne 0 ] || fail "check found nothing wrong after the attack"
# extend-retention (damaged: exit 3) moves the dates of the genuine, now
# old, versions of the overwritten pack and snapshot too, and of their
# junk current versions: else the attacker deletes the genuine ones for
# good once their first date has passed.
s2key=repo/snapshots/$S2
s2old=$(old_version "$BUCKET" "$s2key") || exit 1
[ "$(old_version "$BUCKET" "$pack")" = "$pver" ] || fail "the pack's old version is not the backup's"
# With what a snapshot needs unknown, the hidden index object's genuine
# version too: it may place what no listed index places.
extend_moves "$R" "extend-retention over a damaged snapshot and a hidden index object" \
	"$s2key $s2old" "$pack $pver" "$pack" "$index $iver"
# Those three, nothing else.
[ "$(json_get "$OUT" "d['versions_extended']")" = 3 ] ||
	fail "extend-retention did not report the 3 old versions it extended"
# The repository as it was before the attack restores byte-identical.
as_of_cmp "$R" "$BEFORE" 2M "$S1 1" "$S2 2"
ok check --repo "$R" --as-of "$BEFORE" --read-data

# --- forget and prune under retention (a second repository, governance) ---
# G1 is one pack of several chunks; G2 starts with G1's first chunk (the
# same bytes from the start of a stream are cut the same), then bytes of
# its own; G3 is a pack of its own. Once G1 and G3 are forgotten, G1's
# pack is mostly unused but needed, G3's wholly unused.
GB=$BUCKET-gov
G=$BASE/$GB/repo
init_repo "$G" --format 2 --object-lock 1 --object-lock-mode governance \
	--chunk-min 16384 --chunk-avg 65536 --chunk-max 262144
"$GEN" 1M --seed 4 >"$WORK/g1"
t_in "$WORK/g1" backup --repo "$G" --stdin --name db.sql --json
[ "$RC" -eq 0 ] || fail "backup of G1 exited with $RC"
G1=$(json_get "$OUT" "d['snapshot_id']")
ok show --repo "$G" "$G1" --json --chunks
check_json "G1 has fewer than 3 chunks" "len(d['streams'][0]['chunks']) >= 3"
first=$(json_get "$OUT" "d['streams'][0]['chunks'][0][1]")
{ head -c "$first" "$WORK/g1"; "$GEN" 1M --seed 5; } >"$WORK/g2"
t_in "$WORK/g2" backup --repo "$G" --stdin --name db.sql --json
[ "$RC" -eq 0 ] || fail "backup of G2 exited with $RC"
G2=$(json_get "$OUT" "d['snapshot_id']")
backup_gen "$G" db.sql 1M --seed 6
G3=$SNAP
versions "$GB"
[ "$(latest repo/data/ | wc -l)" = 3 ] || fail "G1, G2 and G3 are not one pack each: $(latest repo/data/)"
ok forget --repo "$G" "$G1" "$G3" --json
check_json "forget did not report the retained snapshots" "len(d['retained']) == 2"
prune_as_dry_run_said "$G"
check_json "prune within the dates: G1's pack locked and not repacked, G3's pack and three \
old index objects only hidden with their bytes, the two snapshots hidden, nothing freed" \
	"d['packs_locked']['count'] == 1 and d['packs_locked']['until'].startswith('20') and
	 d['packs_locked']['unused_bytes'] > 0 and d['packs_repacked'] == 0 and
	 d['packs_written'] == 0 and d['packs_deleted'] == 1 and d['packs_kept']['count'] == 1 and
	 d['packs_kept']['bytes'] > 0 and d['bytes_removed'] == 0 and
	 d['index_removed'] == 3 and d['index_kept']['count'] == 3 and
	 d['index_kept']['bytes'] > 0 and d['hidden_kept']['count'] == 2"
# Nothing locked was deleted: every pack and index version is still stored.
versions "$GB"
[ "$(count repo/data/ latest)" = 2 ] && [ "$(count repo/data/ old)" = 1 ] &&
	[ "$(count repo/data/ marker)" = 1 ] || fail "a pack version is gone: $(cat "$V")"
P3=$(awk '$1 ~ /^repo\/data\// && $3 == "marker" {print $1}' "$V")
[ "$(count repo/index/ latest)" = 1 ] && [ "$(count repo/index/ old)" = 3 ] ||
	fail "an index version is gone: $(grep repo/index/ "$V")"
ok check --repo "$G" --read-data
dump_cmp_file "$G" "$G2" db.sql "$WORK/g2"
# The text reports say the same.
ok prune --repo "$G"
expect_out "1 packs more than 5% unused .* not repacked: retained until 20"
ok prune --repo "$G" --dry-run
expect_out "not repacked: retained until"

# --- extend-retention: what G2 needs moves, what only G1 and G3 used not ---
$ATT expire "$GB" repo/ 3
exp=$(($(date +%s) + 3))
ok extend-retention --repo "$G" --json
check_json "extend-retention found objects missing" "d['missing'] == 0"
now=$(date +%s)
$ATT retentions "$GB" repo/ >"$WORK/dates"
# (Forget's marks of G1 and G3 need no more than their own date: they
# outlive the hidden snapshots, which are not extended either.)
awk '$3 == "latest" && $1 !~ /\/locks\// && $1 !~ /\.forgotten$/ && $5 <= n + 86000' n="$now" \
	"$WORK/dates" | grep . &&
	fail "extend-retention did not move the date of what G2 needs"
awk -v k="$P3" '$1 == k && $5 > e' e="$exp" "$WORK/dates" | grep . &&
	fail "G3's pack, hidden, was extended"

# --- past the dates: prune deletes what it hid, for good ---
wait_past $((exp + 1))
prune_as_dry_run_said "$G"
# G3's pack, three old index objects, two snapshots, then forget's marks
# of those two (src/forgotten.h).
check_json "prune past the dates: 8 hidden objects deleted, G1's pack (extended) locked" \
	"d['hidden_removed'] == 8 and d['packs_locked']['count'] == 1"
nothing_hidden_left
# Once G1's pack's date passes too, it is repacked and deleted for good
# (G2's, small, goes along into the one new pack).
expire_then_prune
check_json "G1's pack not repacked and deleted for good after its date" \
	"d['packs_repacked'] - d['packs_small_combined'] == 1 and d['packs_small_combined'] == 1 and
	 d['packs_kept']['count'] == 0 and d['index_kept']['count'] == 0"
nothing_hidden_left
[ "$(count repo/data/ latest)" = 1 ] || fail "not one pack after the repack: $(cat "$V")"
ok check --repo "$G" --read-data
dump_cmp_file "$G" "$G2" db.sql "$WORK/g2"
[ -z "$($ATT unlocked "$GB" repo/)" ] || fail "the repacked pack or new index has no retention"
finish
