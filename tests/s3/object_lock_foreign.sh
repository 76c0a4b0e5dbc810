#!/bin/bash
# A version whose retention tsarc did not write, on the real Ceph RGW,
# formats 1 and 2 (docs/object-lock.md, extend-retention). Whoever holds
# a compliance repository's credentials can overwrite a pack or chunk
# with a new version that carries a *governance* retention of an hour.
# Its date cannot be moved in compliance mode: S3 refuses to change a
# governance retention without the bypass (and a compliance one is never
# turned into governance, the same for a governance repository). That
# refusal must not stop extend-retention: every other object, and the
# genuine version under the attacker's, must still have its date moved,
# and the run must fail as damage (exit 3) naming the object and why,
# not as "access denied, check the key" (exit 13) with the rest left to
# expire: night after night the genuine version's date would pass and
# the attacker could then delete it for good.
#
# Run through tests/s3/run_with_s3.sh (a fresh bucket name, AWS_* set).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/object_lock_lib.sh"

for fmt in 1 2; do
	P=repo$fmt
	R=$BASE/$BUCKET/$P
	init_repo "$R" --format "$fmt" --object-lock 1
	for seed in 1 2 3; do
		backup_gen "$R" db.sql 1M --seed "$seed"
	done
	key=$($ATT versions "$BUCKET" "$P/data/" | awk '$3 == "latest" {print $1}' | sort | head -1)
	[ "$($ATT overwrite-locked "$BUCKET" "$key" GOVERNANCE 3600)" = ok ] ||
		fail "format $fmt: the overwrite with a governance retention was refused"
	genuine=$(old_version "$BUCKET" "$key")
	$ATT retentions "$BUCKET" "$P/" | sort >"$WORK/before"
	sleep 2
	t extend-retention --repo "$R" --json
	expect_rc 3 "format $fmt: extend-retention with a version of another mode's retention"
	expect_err "${key##*/}" "format $fmt: the error names the object"
	expect_err "GOVERNANCE" "format $fmt: the error says what retention it carries"
	$ATT retentions "$BUCKET" "$P/" | sort >"$WORK/after"
	# Every version's date moved, but the attacker's.
	while read -r k v state mode until; do
		now=$(awk -v k="$k" -v v="$v" '$1 == k && $2 == v {print $5}' "$WORK/after")
		if [ "$k" = "$key" ] && [ "$v" != "$genuine" ]; then
			[ "$now" = "$until" ] || fail "format $fmt: the attacker's version changed date"
			continue
		fi
		[ "$now" -gt "$until" ] ||
			fail "format $fmt: the date of $k ($state, $v) did not move from $until"
	done <"$WORK/before"
	[ "$(json_get "$OUT" "d['objects'] > 3 and d['versions_extended'] >= 1")" = True ] ||
		fail "format $fmt: --json does not count what was extended: $(cat "$OUT")"
done
finish
