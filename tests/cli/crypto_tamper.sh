#!/usr/bin/env bash
# Confidentiality and integrity of what is stored: no plaintext, password or
# marker anywhere in the repository; any flipped byte in a chunk, snapshot or
# key file, a truncated, swapped or deleted chunk is found by check and dump,
# which name what is damaged and exit 3.
. "$(dirname "$0")/lib.sh"

R=$WORK/repo
MARKER="TSARC-MARKER-q8Zk3Lr1Vw-e2e"
init_repo "$R" --format 1 # one object per chunk: each is tampered with
{
	"$GEN" 6M --seed 21
	printf '%s\n' "INSERT INTO \`secrets\` VALUES (1,'$MARKER');"
	"$GEN" 6M --seed 22
} >"$WORK/in.sql" || fail "cannot build the input"
t_in "$WORK/in.sql" backup --repo "$R" --stdin --name db.sql --json
expect_rc 0 "backup"
SNAP=$(json_get "$OUT" "d['snapshot_id']")
dump_cmp_file "$R" "$SNAP" db.sql "$WORK/in.sql"

# --- nothing readable in the store ---
b64s() { # the base64 of $1 at the three byte alignments, padding stripped
	python3 -c 'import base64,sys
s = sys.argv[1].encode()
for i in range(3):
    e = base64.b64encode(s[i:]).decode().rstrip("=")
    print(e[:len(e) - 2] if i == 0 else e[2:len(e) - 2])' "$1"
}
for needle in "$MARKER" "$PASSWORD" $(b64s "$MARKER") $(b64s "$PASSWORD") "INSERT INTO" "example.com" "MariaDB dump"; do
	if grep -rqaF -- "$needle" "$R"; then
		fail "'$needle' is readable in the repository: $(grep -rlaF -- "$needle" "$R" | head -3)"
	fi
done
# Object names are ids, not content: 64 hex digits everywhere.
bad=$(find "$R/data" "$R/snapshots" "$R/keys" -type f | grep -vE '/[0-9a-f]{64}$' | head -3)
[ -z "$bad" ] || fail "objects with names that are not 64-hex ids: $bad"

# The snapshot's chunks, to pick victims from.
ok show --repo "$R" "$SNAP" --json --chunks
mapfile -t CHUNKS < <(json_get "$OUT" "'\n'.join(c[0] for c in d['streams'][0]['chunks'])")
[ "${#CHUNKS[@]}" -ge 4 ] || fail "want at least 4 chunks in a 12 MiB stream, got ${#CHUNKS[@]}"
VICTIM=${CHUNKS[2]}
OTHER=${CHUNKS[1]}
chunk_path() { echo "$R/data/${1:0:2}/$1"; }
[ -f "$R/data/${VICTIM:0:2}/$VICTIM" ] || fail "chunk $VICTIM is not at data/${VICTIM:0:2}/$VICTIM"

# Each case damages one object and puts the saved original back afterwards.
SAVED=
save() { cp -p "$1" "$WORK/saved" || fail "cannot save $1"; SAVED=$1; }
restore() {
	[ -z "$SAVED" ] || cp -p "$WORK/saved" "$SAVED" || fail "cannot restore $SAVED"
	SAVED=
}
# flip_and_check FILE OFFSET WHAT: the last file back, FILE saved and its
# byte OFFSET flipped; check must then find damage (exit 3).
flip_and_check() {
	restore; save "$1"
	flip_byte "$1" "$2"
	t check --repo "$R"
	expect_rc 3 "check after flipping byte $2 of $3"
}

# check_names WHAT PATTERN...: stdout of the last check matches every PATTERN.
check_names() {
	local what=$1 p
	shift
	for p in "$@"; do
		grep -qE -- "$p" "$OUT" || fail "$what: check output does not match /$p/"
	done
}

# --- one flipped byte in a chunk, at its start, inside, and in the tag ---
SZ=$(stat -c %s "$R/data/${VICTIM:0:2}/$VICTIM")
for off in 0 13 $((SZ / 2)) -1; do
	restore; save "$(chunk_path "$VICTIM")"
	flip_byte "$(chunk_path "$VICTIM")" "$off"
	t check --repo "$R" --read-data
	expect_rc 3 "check --read-data after flipping byte $off of chunk ${VICTIM:0:12}"
	check_names "flipped chunk byte $off" "damaged chunk ${VICTIM:0:16}" \
		"snapshot ${SNAP:0:12} stream 'db\.sql'" "1 damaged chunks"
	t check --repo "$R" --read-data --json
	expect_rc 3 "check --read-data --json after a flipped chunk byte"
	[ "$(json_get "$OUT" "d['chunks_damaged'] == 1 and not d['ok'] and any(p.get('object') == '$VICTIM' for p in d['problems']) and any(p.get('snapshot') == '$SNAP' and p.get('stream') == 'db.sql' for p in d['problems'])")" = True ] ||
		fail "check --json does not name chunk, snapshot and stream: $(cat "$OUT")"
	t dump --repo "$R" "$SNAP" db.sql
	expect_rc 3 "dump after flipping byte $off of a chunk"
	expect_err "$VICTIM" "dump names the damaged chunk"
	expect_err "damaged" "dump says the chunk is damaged"
done

# --- a chunk replaced by another (valid ciphertext, wrong object) ---
restore; save "$(chunk_path "$VICTIM")"
cp "$(chunk_path "$OTHER")" "$(chunk_path "$VICTIM")"
t check --repo "$R" --read-data
expect_rc 3 "check --read-data of a chunk swapped for another"
# (check reads every chunk, but names only the stream when a size differs)
check_names "swapped chunk" "snapshot ${SNAP:0:12} stream 'db\.sql'"
t dump --repo "$R" "$SNAP" db.sql
expect_rc 3 "dump of a swapped chunk"
expect_err "$VICTIM" "dump names the swapped chunk"

# --- truncated chunk: found without reading data ---
restore; save "$(chunk_path "$VICTIM")"
truncate -s -7 "$(chunk_path "$VICTIM")"
t check --repo "$R"
expect_rc 3 "check after truncating a chunk"
check_names "truncated chunk" "wrong size" "snapshot ${SNAP:0:12} stream 'db\.sql'" "1 chunks of the wrong size"
t dump --repo "$R" "$SNAP" db.sql
expect_rc 3 "dump of a truncated chunk"
expect_err "$VICTIM" "dump names the truncated chunk"
restore; save "$(chunk_path "$VICTIM")"
: >"$(chunk_path "$VICTIM")"
t check --repo "$R" --read-data
expect_rc 3 "check of a zero-length chunk"
t dump --repo "$R" "$SNAP" db.sql
expect_rc 3 "dump of a zero-length chunk"
expect_err "$VICTIM" "dump names the zero-length chunk"

# --- deleted chunk ---
restore; save "$(chunk_path "$VICTIM")"
rm "$(chunk_path "$VICTIM")"
t check --repo "$R"
expect_rc 3 "check after deleting a chunk"
check_names "deleted chunk" "missing" "snapshot ${SNAP:0:12} stream 'db\.sql'" "1 missing chunks"
t dump --repo "$R" "$SNAP" db.sql
[ "$RC" -ne 0 ] || fail "dump with a missing chunk succeeded"
[ "$RC" -eq 3 ] || fail "dump of a snapshot whose chunk is missing exits $RC, not 3 (damaged data found), unlike check"
expect_err "$VICTIM" "dump names the missing chunk"
expect_err "missing" "dump says the chunk is missing"

# --- one flipped byte in the snapshot object ---
SSZ=$(stat -c %s "$R/snapshots/$SNAP")
for off in 0 $((SSZ / 2)) -1; do
	flip_and_check "$R/snapshots/$SNAP" "$off" "the snapshot"
	check_names "flipped snapshot byte $off" "damaged snapshot.*${SNAP:0:12}" "1 unreadable snapshots"
	t snapshots --repo "$R"
	expect_rc 0 "snapshots lists what it can read"
	expect_err "snapshot ${SNAP:0:12} cannot be read" "snapshots warns about the damaged snapshot"
	t show --repo "$R" "$SNAP"
	expect_rc 3 "show of the damaged snapshot"
	t dump --repo "$R" "$SNAP" db.sql
	expect_rc 3 "dump of the damaged snapshot"
	expect_err "snapshot ${SNAP:0:12} is damaged" "dump names the damaged snapshot"
	[ ! -s "$OUT" ] || fail "dump of a damaged snapshot wrote data"
	t dump --repo "$R" latest db.sql
	expect_rc 3 "dump latest when the only snapshot is damaged"
done

# --- a flipped byte in a snapshot renamed to its new hash: the name check
# passes, decryption must catch it ---
restore; save "$R/snapshots/$SNAP"
flip_byte "$R/snapshots/$SNAP" $((SSZ / 2))
FORGED=$(sha256sum <"$R/snapshots/$SNAP" | cut -d' ' -f1)
mv "$R/snapshots/$SNAP" "$R/snapshots/$FORGED"
t check --repo "$R"
expect_rc 3 "check of an altered snapshot renamed to its hash"
check_names "altered and renamed snapshot" "damaged snapshot.*${FORGED:0:12}" "1 unreadable snapshots"
t dump --repo "$R" "$FORGED" db.sql
expect_rc 3 "dump of an altered snapshot renamed to its hash"
expect_err "${FORGED:0:12}" "dump names the altered snapshot"
[ ! -s "$OUT" ] || fail "dump of an altered snapshot wrote data"
rm "$R/snapshots/$FORGED"

# --- one flipped byte in the key file (the only one): opening fails, clearly ---
KEY=$(basename "$(find "$R/keys" -type f | head -1)")
KSZ=$(stat -c %s "$R/keys/$KEY")
for off in 0 $((KSZ / 2)) -2; do
	flip_and_check "$R/keys/$KEY" "$off" "the key file"
	expect_err "key file ${KEY:0:16} is damaged" "check names the damaged key file"
	t dump --repo "$R" "$SNAP" db.sql
	expect_rc 3 "dump with a damaged key file"
	[ ! -s "$OUT" ] || fail "dump with a damaged key file wrote data"
done

# With every original back, the repository is whole again.
restore
ok check --repo "$R" --read-data
finish
