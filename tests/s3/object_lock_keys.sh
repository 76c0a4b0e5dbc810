#!/usr/bin/env bash
# A key file hidden by another hand under S3 Object Lock, on the real Ceph
# RGW (docs/object-lock.md, "A key file hidden by someone else"), formats
# 1 and 2: whoever holds the bucket's credentials hides a break-glass
# password's key file with one plain DELETE, beside a key file that
# `tsarc key remove` removed. check names the first (exit 3, keys_hidden
# in --json), extend-retention moves its hidden version's date and fails
# the same way, and once every date has passed (governance, shortened by
# an administrator's bypass) prune's sweep deletes for good only what key
# remove hid, as its dry run said; the break-glass password still reads
# the repository as it was (--as-of). `tsarc key remove` of the hidden key
# file confirms the removal: then it goes like the other (its date passed:
# at once, no mark written).
#
# Run through tests/s3/run_with_s3.sh (a fresh bucket name, AWS_* set).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/object_lock_lib.sh"
GLASS_PW="glass-${TEST_NAME}-3Jr8sQ"
OLD_PW="old-${TEST_NAME}-9Tn2wK"

# Each look at the bucket is one command of attacker.py (a request per
# version for the dates), so the test takes one listing of keys/ at a time
# and reads it: keys_versions leaves `KEY VERSION latest|old|marker` lines
# in $WORK/keys, keys_dates `KEY VERSION latest|old MODE UNTIL` in
# $WORK/dates. has_version KEY [VERSION STATE] and date_of KEY VERSION
# read them.
keys_versions() { $ATT versions "$BUCKET" repo/keys/ >"$WORK/keys"; }
keys_dates() { $ATT retentions "$BUCKET" repo/keys/ >"$WORK/dates"; }
has_version() { awk -v k="repo/keys/$1" -v v="${2:-}" -v s="${3:-}" \
	'$1 == k && (v == "" || ($2 == v && $3 == s)) {f = 1} END {exit !f}' "$WORK/keys"; }
date_of() { awk -v k="repo/keys/$1" -v v="$2" '$1 == k && $2 == v {print $5}' "$WORK/dates"; }
old_of() { awk -v k="repo/keys/$1" '$1 == k && $3 == "old" {print $2}' "$WORK/keys"; }

# The two repositories, each in a bucket of its own (the lib's helpers
# read BUCKET), go through the same steps side by side, so that one wait
# lets the dates of both pass.
declare -A KB KR KBVER SNAPS
ROOT=$BUCKET
in_bucket() { BUCKET=$ROOT-f$1; R=$BASE/$BUCKET/repo; }

setup() {
	in_bucket "$1"
	init_repo "$R" --format "$1" --object-lock 1 --object-lock-mode governance
	backup_gen "$R" db.sql 1M --seed "$1"
	SNAPS[$1]=$SNAP
	TSARC_NEW_PASSWORD=$GLASS_PW ok key add --repo "$R" --json
	KB[$1]=$(json_get "$OUT" "d['added']")
	TSARC_NEW_PASSWORD=$OLD_PW ok key add --repo "$R" --json
	KR[$1]=$(json_get "$OUT" "d['added']")
}

# The attack: one plain DELETE of the break-glass key file; and the
# operator's own removal of the other. check names the first, only it.
attack() {
	local kb kr krver kb_until kr_until
	in_bucket "$1"
	kb=${KB[$1]} kr=${KR[$1]}
	[ "$($ATT delete "$BUCKET" "repo/keys/$kb")" = ok ] || fail "plain delete of a key file refused"
	ok key remove --repo "$R" "${kr:0:12}"
	# Whoever removes a key file (its password leaked) learns that it is
	# only hidden, and until when its password still opens the repository.
	expect_out "removed key ${kr:0:10}: under Object Lock until [0-9]{4}-" \
		"key remove says until when the hidden key file is kept"
	expect_out "still opens the repository" "key remove says what the kept key file allows"
	keys_versions
	KBVER[$1]=$(old_of "$kb")
	krver=$(old_of "$kr")
	[ -n "${KBVER[$1]}" ] && [ -n "$krver" ] ||
		fail "not both key files hidden: $(cat "$WORK/keys")"
	t check --repo "$R" --json
	expect_rc 3 "check with a key file hidden by another hand"
	[ "$(json_get "$OUT" "d.get('keys_hidden')")" = 1 ] ||
		fail "check --json does not count the hidden key file: $(cat "$OUT")"
	[ "$(json_get "$OUT" "[p.get('object') for p in d['problems'] if p['what'] == 'key']")" = "['$kb']" ] ||
		fail "check does not name the hidden key file ${kb:0:10} alone: $(cat "$OUT")"
	[ "$(json_get "$OUT" "[(p['error'], p.get('hidden')) for p in d['problems'] if p['what'] == 'key']")" = "[('ENOTFOUND', True)]" ] ||
		fail "check --json does not say the key file is hidden (not found, not damaged): $(cat "$OUT")"
	has_version "$kr.removed" || fail "key remove left no mark: $(cat "$WORK/keys")"
	[ "$1" = 2 ] || return 0
	# What is said of it, and extend-retention, on one format: neither
	# depends on it.
	t check --repo "$R"
	expect_rc 3 "check (text) with a key file hidden by another hand"
	# Deleted by another hand, not damaged: before, "damaged key ...".
	expect_out "^deleted key ${kb:0:16}: key file hidden behind a delete marker .*its last version still stored" \
		"check names the hidden key file, deleted"
	expect_out "tsarc key remove ${kb:0:10}" "check says how to confirm the removal"
	t key list --repo "$R"
	expect_err "key file ${kb:0:10} is hidden behind a delete marker" "key list warns of it"
	# extend-retention moves the date of its hidden version (and of
	# nothing key remove hid; the key adds were two seconds and more
	# ago), and fails as damage.
	keys_dates
	kb_until=$(date_of "$kb" "${KBVER[$1]}")
	kr_until=$(date_of "$kr" "$krver")
	t extend-retention --repo "$R" --json
	expect_rc 3 "extend-retention with a key file hidden by another hand"
	[ "$(json_get "$OUT" "d.get('hidden_keys')")" = 1 ] ||
		fail "extend-retention --json does not count the hidden key file"
	json_get "$OUT" "d['error']" | grep -q "tsarc key remove ${kb:0:10}" ||
		fail "extend-retention does not name the hidden key file"
	keys_dates
	[ "$(date_of "$kb" "${KBVER[$1]}")" -gt "$kb_until" ] ||
		fail "extend-retention did not move the date of the hidden key file ($kb_until)"
	[ "$(date_of "$kr" "$krver")" = "$kr_until" ] ||
		fail "extend-retention extended the key file key remove hid"
}

# Every date has passed: the sweep deletes what key remove hid and its
# mark, never the key file another hand hid, whose password still reads
# the repository as it was. Then the operator confirms that removal:
# key remove of the hidden key file, its date passed, deletes it for good
# at once, with no mark to write (tsarc marks only what it keeps hidden,
# and only once it is hidden); nothing is reported.
swept() {
	local kb=${KB[$1]} kr=${KR[$1]}
	in_bucket "$1"
	prune_as_dry_run_said "$R"
	[ "$(json_get "$OUT" "d['hidden_removed']")" = 2 ] ||
		fail "prune deleted $(json_get "$OUT" "d['hidden_removed']") hidden objects, expected key remove's key file and its mark"
	keys_versions
	! has_version "$kr" && ! has_version "$kr.removed" ||
		fail "the key file key remove hid, or its mark, is left: $(cat "$WORK/keys")"
	has_version "$kb" "${KBVER[$1]}" old ||
		fail "prune deleted the key file another hand hid: $(cat "$WORK/keys")"
	TSARC_PASSWORD=$GLASS_PW ok snapshots --repo "$R" --as-of "$BEFORE" --json
	[ "$(json_get "$OUT" "len(d)")" = 1 ] || fail "the break-glass password reads nothing --as-of"
	ok key remove --repo "$R" "${kb:0:12}" --json
	[ "$(json_get "$OUT" "d['removed']")" = "$kb" ] && [ "$(json_get "$OUT" "d['was_hidden']")" = True ] ||
		fail "key remove of the hidden key file: $(cat "$OUT")"
	[ "$(json_get "$OUT" "d['kept_until']")" = None ] ||
		fail "key remove of the hidden key file, its date passed, says it is kept: $(cat "$OUT")"
	keys_versions
	! has_version "$kb" && ! has_version "$kb.removed" ||
		fail "the confirmed key file, its date passed, is left, or marked: $(cat "$WORK/keys")"
	ok check --repo "$R"
}

# The next prune finds nothing of them left to delete.
marks_gone() {
	local kb=${KB[$1]}
	in_bucket "$1"
	prune_as_dry_run_said "$R"
	[ "$(json_get "$OUT" "d['hidden_removed']")" = 0 ] ||
		fail "prune deleted $(json_get "$OUT" "d['hidden_removed']") hidden objects, expected none"
	keys_versions
	! has_version "$kb" && ! has_version "$kb.removed" ||
		fail "the confirmed key file or its mark is left: $(cat "$WORK/keys")"
	ok check --repo "$R"
	dump_cmp "$R" "${SNAPS[$1]}" db.sql 1M --seed "$1"
}

# Every version in both buckets retained for two seconds more only.
expire_all() {
	$ATT expire "$ROOT-f1" repo/ 2
	$ATT expire "$ROOT-f2" repo/ 2
	wait_past $(($(date +%s) + 3))
}

setup 1
setup 2
sleep 1
BEFORE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
attack 1
attack 2
expire_all
swept 1
swept 2
expire_all
marks_gone 1
marks_gone 2
finish
