#!/bin/bash
# The repository's config hidden behind a delete marker by someone holding
# the bucket's credentials (docs/object-lock.md, "After an attack"), on the
# real Ceph RGW, formats 1 and 2. A plain DELETE of `config` is all it
# takes; the locked version stays. Every command must then report damage
# (exit 3) naming the config, never "no repository here, create one with
# 'tsarc init'"; and init must refuse the location, with or without
# --object-lock: a new config and key on top would seal every later write
# with a new master key (the old snapshots unreadable, and without
# --object-lock nothing protected any more). The repository as it was
# reads back with --as-of a time before the attack. With the key files
# hidden as well, init still refuses: the hidden versions are there.
#
# Run through tests/s3/run_with_s3.sh (a fresh bucket name, AWS_* set).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/object_lock_lib.sh"

for fmt in 1 2; do
	P=repo$fmt
	R=$BASE/$BUCKET/$P
	init_repo "$R" --format "$fmt" --object-lock 1
	backup_gen "$R" db.sql 1M --seed "$fmt"
	S=$SNAP
	sleep 1
	BEFORE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	sleep 1
	[ "$($ATT delete "$BUCKET" "$P/config")" = ok ] || fail "format $fmt: plain DELETE of the config refused"

	for cmd in snapshots check extend-retention; do
		t $cmd --repo "$R"
		expect_rc 3 "format $fmt: $cmd with the config hidden"
		expect_err "key files but no config" "format $fmt: $cmd names the missing config"
		! grep -qi "create one with" "$ERR" ||
			fail "format $fmt: $cmd advises creating a repository over this one: $(cat "$ERR")"
	done
	t_in <("$GEN" 1M --seed 9) backup --repo "$R" --stdin --name db.sql
	expect_rc 3 "format $fmt: backup with the config hidden"

	# init refuses the location, and writes nothing (no new key, no config).
	was=$($ATT versions "$BUCKET" "$P/")
	t init --repo "$R" --kdf-memory 4 --object-lock 1
	[ "$RC" -ne 0 ] || fail "format $fmt: init --object-lock over a hidden config succeeded"
	expect_err "key files but no config" "format $fmt: init names what is there"
	t init --repo "$R" --kdf-memory 4
	[ "$RC" -ne 0 ] || fail "format $fmt: init (no Object Lock) over a hidden config succeeded"
	[ "$($ATT versions "$BUCKET" "$P/")" = "$was" ] ||
		fail "format $fmt: a refused init wrote: $(diff <(echo "$was") <($ATT versions "$BUCKET" "$P/"))"

	# The repository as it was before the attack.
	ok snapshots --repo "$R" --as-of "$BEFORE" --json
	[ "$(json_get "$OUT" "[s['id'] for s in d]")" = "['$S']" ] ||
		fail "format $fmt: snapshots --as-of before the attack: $(cat "$OUT")"
	as_of_cmp "$R" "$BEFORE" 1M "$S $fmt"
	ok check --repo "$R" --as-of "$BEFORE" --read-data
done

# The key files hidden too: nothing of the repository is listed, yet the
# hidden key files are there, and init still refuses.
P=repo2
for k in $($ATT versions "$BUCKET" "$P/keys/" | awk '$3 == "latest" {print $1}'); do
	[ "$($ATT delete "$BUCKET" "$k")" = ok ] || fail "plain DELETE of $k refused"
done
was=$($ATT versions "$BUCKET" "$P/")
t init --repo "$BASE/$BUCKET/$P" --kdf-memory 4 --object-lock 1
[ "$RC" -ne 0 ] || fail "init over hidden key files and config succeeded"
expect_err "key files" "init over hidden key files names them"
[ "$($ATT versions "$BUCKET" "$P/")" = "$was" ] || fail "a refused init wrote"
t snapshots --repo "$BASE/$BUCKET/$P"
expect_rc 3 "snapshots with the key files and config hidden"

# A location with nothing of a repository is still no repository.
t snapshots --repo "$BASE/$BUCKET/none"
expect_rc 10 "an empty prefix"
finish
