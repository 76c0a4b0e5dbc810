#!/usr/bin/env bash
# S3 Object Lock on the real Ceph RGW (docs/object-lock.md): init makes the
# bucket with Object Lock, refuses a bucket without it (and, without
# --object-lock, one with it); every object but locks carries a
# retention; with the repository's own credentials
# (tests/s3/attacker.py, botocore) a locked version cannot be deleted or
# shortened, an overwrite adds a version and a plain DELETE a marker while
# the locked versions stay, and untouched backups still restore;
# extend-retention after the attack moves the dates of the genuine (old)
# versions of what was overwritten or hidden too; a snapshot the attacker
# hid (no forget of tsarc's marked it) is reported by check,
# extend-retention (which extends it) and prune (which refuses) until
# forget of its id confirms it; forget and prune hide
# what is retained and say until when; extend-retention moves the dates;
# once the dates have passed (governance, shortened by an
# administrator's bypass), prune deletes every version.
#
# Run through tests/s3/run_with_s3.sh (a fresh bucket name, AWS_* set).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/object_lock_lib.sh"
R=$BASE/$BUCKET/repo

# --- init: the bucket tsarc makes has Object Lock; one without is refused ---
init_repo "$R" --format 1 --object-lock 1 --json # one object per chunk (format 2: object_lock_pack.sh)
[ "$(json_get "$OUT" "d['object_lock']['mode']")" = compliance ] || fail "init --json: no object_lock"
[ "$($ATT lock-config "$BUCKET")" = Enabled ] || fail "the bucket tsarc created has no Object Lock"
$ATT create-bucket "$BUCKET-plain"
t init --repo "$BASE/$BUCKET-plain/repo" --object-lock 3
[ "$RC" -ne 0 ] || fail "init --object-lock on a bucket without Object Lock succeeded"
expect_err "has no Object Lock" "init on a bucket without Object Lock"
[ -z "$($ATT versions "$BUCKET-plain" "")" ] || fail "a refused init left objects behind"
t init --repo "$WORK/local" --object-lock 3
[ "$RC" -ne 0 ] || fail "init --object-lock on a folder succeeded"
expect_err "no Object Lock" "init --object-lock on a folder"
# And the other way: a repository without Object Lock in a bucket with it
# would only hide what forget and prune remove (every version stays, and
# the bucket may retain it), for ever. Refused, nothing written.
t init --repo "$BASE/$BUCKET/plain" --kdf-memory 4
expect_rc 2 "init without --object-lock in a bucket with Object Lock"
expect_err "has Object Lock on: give 'tsarc init --object-lock DAYS'" "init without --object-lock"
[ -z "$($ATT versions "$BUCKET" plain/)" ] || fail "the refused init left objects behind"

# --- every object but locks is written with a retention ---
backup_gen "$R" db.sql 3M --seed 1
S1=$SNAP
backup_gen "$R" db.sql 3M --seed 2
S2=$SNAP
backup_gen "$R" db.sql 2M --seed 3
S3=$SNAP
[ -z "$($ATT unlocked "$BUCKET" repo/)" ] ||
	fail "objects without a retention: $($ATT unlocked "$BUCKET" repo/ | head -3)"
read -r mode until < <($ATT retention "$BUCKET" "repo/snapshots/$S3")
[ "$mode" = COMPLIANCE ] || fail "snapshot written in mode '$mode'"
now=$(date +%s)
[ "$until" -gt $((now + 86000)) ] && [ "$until" -le $((now + 86400 + 60)) ] ||
	fail "snapshot retained until $until, not one day after its write ($now)"
# Locks are rewritten and removed: none is left, not even an old version.
[ -z "$($ATT versions "$BUCKET" repo/locks/)" ] || fail "lock versions were left behind"

# --- the attacker, with the repository's own credentials ---
sleep 1
BEFORE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
ok show --repo "$R" "$S1" --json --chunks
C1=$(json_get "$OUT" "d['streams'][0]['chunks'][0][0]")
ok show --repo "$R" "$S3" --json --chunks
json_get "$OUT" "[c[0] for c in d['streams'][0]['chunks']]" | grep -q "$C1" &&
	fail "the chunk to attack is shared with the snapshot that must stay whole"
ckey=repo/data/${C1:0:2}/$C1
cver=$($ATT versions "$BUCKET" "$ckey" | awk '{print $2}')
[ "$($ATT delete-version "$BUCKET" "$ckey" "$cver")" = AccessDenied ] ||
	fail "a locked chunk version could be deleted"
[ "$($ATT shorten "$BUCKET" "repo/snapshots/$S1" "$now")" != ok ] ||
	fail "a compliance retention could be shortened"
# Overwrites and plain deletes are accepted, but only add versions.
[ "$($ATT overwrite "$BUCKET" "repo/snapshots/$S2")" = ok ] || fail "overwrite refused"
[ "$($ATT overwrite "$BUCKET" "$ckey")" = ok ] || fail "overwrite of a chunk refused"
[ "$($ATT delete "$BUCKET" "repo/snapshots/$S1")" = ok ] || fail "plain delete refused"
[ "$($ATT versions "$BUCKET" "repo/snapshots/$S2" | wc -l)" = 2 ] ||
	fail "the overwrite did not leave the locked version beside the new one"
$ATT versions "$BUCKET" "repo/snapshots/$S1" | grep -q " old$" ||
	fail "the plain delete did not leave the locked version behind its marker"
[ "$($ATT delete-bucket "$BUCKET")" != ok ] || fail "the bucket could be deleted"
# What the attacker did not touch restores; what it did is reported.
dump_cmp "$R" "$S3" db.sql 2M --seed 3
# A chunk S3 needs, hidden behind the attacker's delete marker.
ok show --repo "$R" "$S3" --json --chunks
C3=$(json_get "$OUT" "d['streams'][0]['chunks'][0][0]")
c3key=repo/data/${C3:0:2}/$C3
c3ver=$($ATT versions "$BUCKET" "$c3key" | awk '{print $2}')
[ "$($ATT delete "$BUCKET" "$c3key")" = ok ] || fail "plain delete of a chunk refused"
ok snapshots --repo "$R" --json
[ "$(json_get "$OUT" "[s['id'] for s in d]")" = "['$S3']" ] ||
	fail "snapshots: S1 is hidden, S2 damaged, only S3 is whole"
expect_err "snapshot ${S2:0:12} cannot be read" "snapshots names the overwritten snapshot"
expect_err "snapshot ${S1:0:12} is hidden behind a delete marker" "snapshots names the hidden snapshot"
t check --repo "$R"
[ "$RC" -ne 0 ] || fail "check found nothing wrong after the overwrite"
# S1 is deleted (another hand's delete marker), not damaged: its version
# is still stored, and check says how to bring it back. Before, it said
# "damaged snapshot snapshot ${S1:0:12}: hidden behind a delete marker".
expect_out "^deleted snapshot ${S1:0:12}: hidden behind a delete marker .*last version is still stored: to bring it back, delete that delete marker" \
	"check says S1 was deleted by another hand and how to bring it back"
! grep -q "^damaged snapshot.* ${S1:0:12}" "$OUT" || fail "check calls the hidden S1 damaged: $(cat "$OUT")"
expect_out "^damaged snapshot ${S2:0:12}" "check calls the overwritten S2 damaged"
# S1, hidden by the attacker's plain DELETE, is no forgotten snapshot: no
# forget of tsarc's marked it (src/forgotten.h). check names it, prune
# refuses and deletes nothing.
t check --repo "$R" --json
expect_rc 3 "check after the attack"
[ "$(json_get "$OUT" "d['snapshots_hidden']")" = 1 ] || fail "check did not report the hidden S1"
json_get "$OUT" "[p.get('snapshot') for p in d['problems']]" | grep -q "$S1" ||
	fail "check did not name the hidden snapshot"
[ "$(json_get "$OUT" "[(p['error'], p.get('hidden')) for p in d['problems'] if p.get('snapshot') == '$S1']")" = "[('ENOTFOUND', True)]" ] ||
	fail "check --json does not say S1 is hidden (not found, not damaged): $(head -c 2000 "$OUT")"
$ATT versions "$BUCKET" repo/ >"$WORK/before-prune"
t prune --repo "$R"
expect_rc 3 "prune with a snapshot hidden by another hand"
expect_err "hidden behind a delete marker that tsarc's forget did not write" "prune's refusal"
$ATT versions "$BUCKET" repo/ | grep -v /locks/ | diff <(grep -v /locks/ "$WORK/before-prune") - ||
	fail "prune changed the bucket though it refused"

# --- extend-retention after the attack: the genuine versions stay locked ---
# The overwritten snapshot's and chunk's genuine versions are old ones
# now, as is the hidden chunk's behind its marker: the nightly extension
# must move their dates too, or the attacker deletes them for good once
# their first date has passed.
s2key=repo/snapshots/$S2
s2old=$(old_version "$BUCKET" "$s2key") || exit 1
s1key=repo/snapshots/$S1
s1old=$(old_version "$BUCKET" "$s1key") || exit 1
[ "$(old_version "$BUCKET" "$ckey")" = "$cver" ] ||
	fail "the chunk's old version is not the one written by the backup"
# The junk current version is extended as well (harmless: it is what the
# attacker wrote, and it hides nothing).
# S1's, behind the attacker's delete marker, too: no forget of tsarc's
# hid it.
extend_moves "$R" "extend-retention over a damaged snapshot" "$s2key $s2old" "$ckey $cver" \
	"$c3key $c3ver" "$s2key" "$s1key $s1old"
[ "$(json_get "$OUT" "d['missing']")" = 1 ] || fail "extend-retention did not report the hidden chunk"
[ "$(json_get "$OUT" "d['hidden_snapshots']")" = 1 ] ||
	fail "extend-retention did not report the snapshot hidden by the attacker"
expect_err "tsarc forget ${S1:0:12}" "extend-retention names the hidden snapshot"
# Exactly those four versions, nothing else was rewritten.
[ "$(json_get "$OUT" "d['versions_extended']")" = 4 ] ||
	fail "extend-retention did not report the 4 old versions it extended"

# --- restore after the attack: the repository as it was before it ---
ok snapshots --repo "$R" --as-of "$BEFORE" --json
[ "$(json_get "$OUT" "sorted(s['id'] for s in d)")" = "$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "$S1" "$S2" "$S3")" ] ||
	fail "--as-of before the attack does not see the three snapshots"
as_of_cmp "$R" "$BEFORE" 3M "$S1 1" "$S2 2"
ok check --repo "$R" --as-of "$BEFORE" --read-data
t_in <("$GEN" 1M --seed 9) backup --repo "$R" --as-of "$BEFORE" --stdin --name x
[ "$RC" -ne 0 ] || fail "a backup into a point-in-time view succeeded"
expect_err "read-only" "a backup into a point-in-time view"
# forget through it: refused before it reads or prints (before: its plan
# printed, then 'read-only' at its first write, exit 1).
t forget --repo "$R" --as-of "$BEFORE" "$S3"
expect_rc 2 "forget through a point-in-time view"
expect_err "--as-of .*read-only" "forget through a point-in-time view"
[ ! -s "$OUT" ] || fail "forget --as-of printed: $(head -3 "$OUT")"
t snapshots --repo "$WORK/local" --as-of "$BEFORE"
expect_err "needs an S3 bucket" "--as-of on a folder"
# The operator, S1 read back, confirms it may go: forget of its id marks
# it, and it is no longer reported (S2 is still damaged: exit 3).
ok forget --repo "$R" "${S1:0:12}"
expect_out "hidden snapshot ${S1:0:12} .* marked forgotten"
[ "$($ATT versions "$BUCKET" "repo/snapshots/$S1.forgotten" | awk '{print $3}')" = latest ] ||
	fail "forget stored no mark of S1"
t extend-retention --repo "$R" --json
expect_rc 3 "extend-retention with S2 still damaged"
[ "$(json_get "$OUT" "d['hidden_snapshots']")" = 0 ] || fail "S1 still reported after forget"

# --- forget and prune under retention (a second repository, governance) ---
G=$BASE/$BUCKET-gov/repo
init_repo "$G" --format 1 --object-lock 1 --object-lock-mode governance
backup_gen "$G" db.sql 3M --seed 4
G1=$SNAP
backup_gen "$G" db.sql 3M --seed 5
G2=$SNAP
read -r _ before < <($ATT retention "$BUCKET-gov" "repo/snapshots/$G2")
ok forget --repo "$G" "$G1" --json
[ "$(json_get "$OUT" "d['retained'][0]['id']")" = "$G1" ] || fail "forget did not report the retained snapshot"
ok forget --repo "$G" --keep-last 5
prune_as_dry_run_said "$G"
kept=$(json_get "$OUT" "d['chunks_kept']['count']")
[ "$kept" -gt 0 ] && [ "$kept" = "$(json_get "$OUT" "d['chunks_removed']")" ] ||
	fail "prune should have hidden, not deleted, every chunk of the forgotten snapshot"
json_get "$OUT" "d['chunks_kept']['until']" | grep -q "^20" || fail "prune did not say until when"
$ATT versions "$BUCKET-gov" "repo/snapshots/$G1" | grep -q " old$" ||
	fail "the forgotten snapshot's locked version is gone"
dump_cmp "$G" "$G2" db.sql 3M --seed 5
# The extension moves the dates of what G2 needs, not of what was forgotten.
sleep 2
ok extend-retention --repo "$G" --json
read -r _ after < <($ATT retention "$BUCKET-gov" "repo/snapshots/$G2")
[ "$after" -gt "$before" ] || fail "extend-retention did not move the date ($before -> $after)"
[ "$(json_get "$OUT" "d['missing']")" = 0 ] || fail "extend-retention found objects missing"
# An administrator with the bypass makes every date pass; prune then
# deletes the hidden objects for good, every version and marker.
$ATT expire "$BUCKET-gov" repo/ 2
wait_past $(($(date +%s) + 3))
prune_as_dry_run_said "$G"
removed=$(json_get "$OUT" "d['hidden_removed']")
# G1's chunks, G1, and forget's mark of G1 (src/forgotten.h)
[ "$removed" -eq $((kept + 2)) ] || fail "prune deleted $removed hidden objects, expected $((kept + 2))"
[ -z "$($ATT versions "$BUCKET-gov" "repo/snapshots/$G1")" ] ||
	fail "versions of the forgotten snapshot are left: $($ATT versions "$BUCKET-gov" "repo/snapshots/$G1")"
[ "$($ATT versions "$BUCKET-gov" repo/data/ | grep -vc ' latest$')" = 0 ] ||
	fail "old versions or markers of chunks are left"
dump_cmp "$G" "$G2" db.sql 3M --seed 5
ok check --repo "$G" --read-data
finish
