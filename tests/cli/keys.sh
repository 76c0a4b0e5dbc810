#!/usr/bin/env bash
# Passwords (tsarc key): a second password opens the same data; list marks
# the key in use; the key in use cannot be removed, another one can, and its
# password then opens nothing (exit 12); passwd swaps the password, and
# removes every key file the old password opens (two may hold it); damaged
# key files are listed as such, a stray file in keys/ is none; a new
# password never comes from argv and never lands in the store or the
# output; remove and passwd wait for no one:
# a live lock of another run stops them (exit 11) with the keys unchanged;
# init --kdf-memory sets the scrypt cost (default 32 MiB), key add keeps it.
. "$(dirname "$0")/lib.sh"

R=$WORK/repo
init_repo "$R"
"$GEN" 2M --seed 3 >"$WORK/in.sql"
backup_file "$R" db.sql "$WORK/in.sql"
keys() { t key list --repo "$R" --json; [ "$RC" -eq 0 ] || fail "key list: exit $RC"; }
current() { keys; json_get "$OUT" "[k['id'] for k in d if k['current']][0]"; }

info "key add: a second password opens the same data"
FIRST=$(current)
SECOND_PW="second-${TEST_NAME}-Zr8pQ"
TSARC_NEW_PASSWORD=$SECOND_PW t key add --repo "$R" --json
expect_rc 0 "key add"
SECOND=$(json_get "$OUT" "d['added']")
[ "$SECOND" != "$FIRST" ] && [ -f "$R/keys/$SECOND" ] || fail "key add wrote no new key file"
keys
[ "$(json_get "$OUT" "sorted((k['id'], k['current'], k['damaged']) for k in d)")" = \
	"$(python3 -c 'import sys; print(sorted([(sys.argv[1], True, False), (sys.argv[2], False, False)]))' "$FIRST" "$SECOND")" ] ||
	fail "key list is wrong: $(cat "$OUT")"
TSARC_PASSWORD=$SECOND_PW t dump --repo "$R" latest db.sql
expect_rc 0 "dump with the second password"
cmp -s "$OUT" "$WORK/in.sql" || fail "the second password does not give the same data"
[ "$(TSARC_PASSWORD=$SECOND_PW "$TSARC" key list --repo "$R" --json |
	python3 -c 'import json,sys; print([k["id"] for k in json.load(sys.stdin) if k["current"]][0])')" = "$SECOND" ] ||
	fail "key list does not mark the key the second password opened"

info "key remove: never the key in use; another one, and its password opens nothing"
t key remove --repo "$R" "${FIRST:0:8}"
expect_rc 1 "removing the key in use"
expect_err "the one this password opened" "removing the key in use"
[ -f "$R/keys/$FIRST" ] || fail "the key in use was removed"
NONE=$(python3 -c 'import sys; print(next(c for c in "0123456789abcdef" if c not in (sys.argv[1][0], sys.argv[2][0])))' "$FIRST" "$SECOND")
t key remove --repo "$R" "$NONE"
expect_rc 1 "a key id that matches no key"
expect_err "no key file '$NONE'" "a key id that matches no key"
[ "$(ls "$R/keys" | wc -l)" -eq 2 ] || fail "a key id that matches nothing removed a key"
t key remove --repo "$R" "not-hex"
expect_rc 1 "a key id that is not hex"
expect_err "not a key id" "a key id that is not hex"
TSARC_PASSWORD=$SECOND_PW t key remove --repo "$R" "${FIRST:0:8}" --json
expect_rc 0 "removing the first key with the second password"
[ "$(json_get "$OUT" "d['removed']")" = "$FIRST" ] || fail "key remove reports the wrong key"
[ ! -e "$R/keys/$FIRST" ] || fail "the first key file is still there"
t snapshots --repo "$R"
expect_rc 12 "the removed key's password"
expect_err "wrong password" "the removed key's password"

info "key passwd: the new password works, the old one does not, one key left"
printf 'third-pw-%s\n' "$TEST_NAME" >"$WORK/new.pw"
TSARC_PASSWORD=$SECOND_PW t key passwd --repo "$R" --new-password-file "$WORK/new.pw" --json
expect_rc 0 "key passwd"
THIRD=$(json_get "$OUT" "d['added']")
[ "$(json_get "$OUT" "d['removed']")" = "$SECOND" ] || fail "key passwd removed the wrong key"
[ "$(ls "$R/keys" | wc -l)" -eq 1 ] && [ -f "$R/keys/$THIRD" ] || fail "key passwd left $(ls "$R/keys")"
TSARC_PASSWORD=$SECOND_PW t snapshots --repo "$R"
expect_rc 12 "the password passwd replaced"
TSARC_PASSWORD_FILE=$WORK/new.pw TSARC_PASSWORD= t dump --repo "$R" latest db.sql
expect_rc 0 "dump with the new password"
cmp -s "$OUT" "$WORK/in.sql" || fail "the new password does not give the same data"

info "a damaged key file is listed as damaged; the good one still opens"
export TSARC_PASSWORD_FILE=$WORK/new.pw TSARC_PASSWORD=
TSARC_NEW_PASSWORD=fourth-pw t key add --repo "$R" --json
FOURTH=$(json_get "$OUT" "d['added']")
flip_byte "$R/keys/$FOURTH" 30
keys
[ "$(json_get "$OUT" "[k['damaged'] for k in d if k['id'] == '$FOURTH'][0]")" = True ] ||
	fail "a damaged key file is not listed as damaged"
t snapshots --repo "$R"
expect_rc 0 "a good key beside a damaged one"

info "remove and passwd hold the repository alone: a live lock of another run stops them"
# Two people each removing the other's key at once would both see their own
# key in place and leave none; an exclusive lock keeps them apart.
: "${TSARC_FORGE_LOCK:?}"
ls "$R/keys" | sort >"$WORK/keys.before"
TSARC_REPOSITORY=$R TSARC_PASSWORD="third-pw-$TEST_NAME" "$TSARC_FORGE_LOCK" otherrun \
	"{\"host\":\"other-node\",\"pid\":9,\"exclusive\":true,\"time\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}" ||
	fail "test setup: cannot write a lock"
t key remove --repo "$R" "${FOURTH:0:8}"
expect_rc 11 "key remove beside a live lock of another run"
expect_err "other-node" "key remove beside a live lock"
TSARC_NEW_PASSWORD=fifth-pw t key passwd --repo "$R"
expect_rc 11 "key passwd beside a live lock of another run"
ls "$R/keys" | sort | cmp -s - "$WORK/keys.before" || fail "a refused remove or passwd changed the keys: $(ls "$R/keys")"
[ "$(ls "$R/locks")" = otherrun ] || fail "a refused key command left a lock: $(ls "$R/locks")"
rm "$R/locks/otherrun"
t key remove --repo "$R" "${FOURTH:0:8}"
expect_rc 0 "key remove once the other run's lock is gone"
[ -z "$(ls "$R/locks")" ] || fail "key remove left its lock: $(ls "$R/locks")"

info "TSARC_KEY_HINT: the key file named by it (or its start) is tried first"
TSARC_KEY_HINT=${THIRD:0:8} t snapshots --repo "$R"
expect_rc 0 "an open with the hint of the password's key"
TSARC_KEY_HINT=ffffffff t snapshots --repo "$R"
expect_rc 0 "an open with a hint that names no key"

info "init --kdf-memory: the scrypt cost of the key files, kept by key add"
kdf_of() { # REPO: the scrypt N of its key files, each once, sorted
	t key list --repo "$1" --json
	[ "$RC" -eq 0 ] || fail "key list of $1: exit $RC"
	json_get "$OUT" "sorted(set(k['scrypt_n'] for k in d))"
}
[ "$(kdf_of "$R")" = "[4096]" ] || fail "init_repo's --kdf-memory 4, key add and passwd: N=$(kdf_of "$R")"
t init --repo "$WORK/default"
expect_rc 0 "init with the default scrypt cost"
[ "$(kdf_of "$WORK/default")" = "[32768]" ] || fail "the default key is not 32 MiB (N=32768)"
t init --repo "$WORK/big" --kdf-memory 64
expect_rc 0 "init --kdf-memory 64"
TSARC_NEW_PASSWORD="big-$TEST_NAME" t key add --repo "$WORK/big"
expect_rc 0 "key add to a --kdf-memory 64 repository"
[ "$(kdf_of "$WORK/big")" = "[65536]" ] || fail "--kdf-memory 64: N=$(kdf_of "$WORK/big")"
for bad in 2 6 512 "" x 4096; do
	t init --repo "$WORK/bad" --kdf-memory "$bad"
	expect_rc 2 "init --kdf-memory '$bad'"
	expect_err "kdf-memory takes MiB, a power of two from 4 to 256" "init --kdf-memory '$bad'"
	[ ! -e "$WORK/bad" ] || fail "init --kdf-memory '$bad' created something"
done

info "key passwd: every key file the old password opens goes, the others stay"
# Two key files with one password (added twice, or by two people who chose
# alike): the operator changing a leaked password expects it to open
# nothing after. A key file of another password stays, and still opens.
D=$WORK/dup
DUP_PW="dup-$TEST_NAME-Qx3"
OTHER_PW="other-$TEST_NAME-Wm7"
init_repo "$D"
backup_file "$D" db.sql "$WORK/in.sql"
TSARC_NEW_PASSWORD=$DUP_PW t key add --repo "$D" --json
expect_rc 0 "key add (the first of the password)"
DUP1=$(json_get "$OUT" "d['added']")
TSARC_NEW_PASSWORD=$DUP_PW t key add --repo "$D" --json
expect_rc 0 "key add (the same password again)"
DUP2=$(json_get "$OUT" "d['added']")
TSARC_NEW_PASSWORD=$OTHER_PW t key add --repo "$D" --json
expect_rc 0 "key add (another password)"
OTHER=$(json_get "$OUT" "d['added']")
# The hint makes the old password open DUP2: the one passwd knows first.
TSARC_PASSWORD_FILE= TSARC_PASSWORD=$DUP_PW TSARC_KEY_HINT=$DUP2 TSARC_NEW_PASSWORD="changed-$TEST_NAME" \
	t key passwd --repo "$D" --json
expect_rc 0 "key passwd of a password two key files hold"
CHANGED=$(json_get "$OUT" "d['added']")
[ ! -e "$D/keys/$DUP1" ] && [ ! -e "$D/keys/$DUP2" ] ||
	fail "a key file of the old password is left: $(ls "$D/keys")"
[ "$(json_get "$OUT" "d['removed']")" = "$DUP2" ] &&
	[ "$(json_get "$OUT" "sorted(d['removed_all'])")" = \
	"$(python3 -c 'import sys; print(sorted(sys.argv[1:]))' "$DUP1" "$DUP2")" ] ||
	fail "key passwd did not report both key files of the old password: $(cat "$OUT")"
[ -f "$D/keys/$OTHER" ] && [ -f "$D/keys/$CHANGED" ] || fail "key passwd removed another password's key"
TSARC_PASSWORD_FILE= TSARC_PASSWORD=$DUP_PW t snapshots --repo "$D"
expect_rc 12 "the old password after passwd (two key files held it)"
TSARC_PASSWORD_FILE= TSARC_PASSWORD=$OTHER_PW t snapshots --repo "$D"
expect_rc 0 "another password after passwd"
TSARC_PASSWORD_FILE= TSARC_PASSWORD="changed-$TEST_NAME" t dump --repo "$D" latest db.sql
expect_rc 0 "the new password after passwd"
cmp -s "$OUT" "$WORK/in.sql" || fail "the new password does not give the same data"
TSARC_PASSWORD_FILE= TSARC_PASSWORD="changed-$TEST_NAME" t key passwd --repo "$D" --new-password-file "$WORK/new.pw" --json
expect_rc 0 "key passwd of a password one key file holds"
[ "$(json_get "$OUT" "d['removed_all']")" = "['$CHANGED']" ] && [ "$(json_get "$OUT" "d['removed']")" = "$CHANGED" ] ||
	fail "key passwd of one key file reports $(cat "$OUT")"
[ "$(ls "$D/keys" | wc -l)" -eq 3 ] || fail "key passwd left $(ls "$D/keys")"

info "usage errors and where a new password may come from"
t key --repo "$R"
expect_rc 2 "key without an action"
t key rotate --repo "$R"
expect_rc 2 "an unknown key action"
t key remove --repo "$R"
expect_rc 2 "key remove without an id"
t key list --repo "$R" --new-password-file "$WORK/new.pw"
expect_rc 2 "--new-password-file with list"
t key add --repo "$R" </dev/null
[ "$RC" -ne 0 ] || fail "key add with no new password given succeeded"
expect_err "no new password given" "key add with no new password"
t key add --repo "$R" --new-password-file "$WORK/nonexistent"
expect_rc 2 "an unreadable new password file"

info "a file in keys/ whose name is no key id is no key file: ignored"
# Something an operator or a sync tool leaves (notes, a .DS_Store, an
# editor's backup). Before, it was a damaged key file: key list named it,
# check failed (exit 3) and a wrong password was damage (exit 3), not 12.
S=$WORK/stray
cp -r "$R" "$S"
echo "rotated in March" >"$S/keys/notes.txt"
cp "$S/keys/$(ls "$R/keys" | head -1)" "$S/keys/$(ls "$R/keys" | head -1).bak"
t key list --repo "$S" --json
expect_rc 0 "key list beside stray files"
[ "$(json_get "$OUT" "len(d)")" -eq "$(ls "$R/keys" | wc -l)" ] || fail "key list lists stray files: $(cat "$OUT")"
TSARC_PASSWORD_FILE= TSARC_PASSWORD=not-the-password t snapshots --repo "$S"
expect_rc 12 "a wrong password beside stray files in keys/"
ok check --repo "$S"
ok snapshots --repo "$S"

for pw in "$DUP_PW" "$OTHER_PW" "changed-$TEST_NAME"; do
	! grep -rqF -- "$pw" "$D" || fail "a password is in the store"
	! grep -qF -- "$pw" "$TRANSCRIPT" 2>/dev/null || fail "a password is in the output"
done
for pw in "$SECOND_PW" "third-pw-$TEST_NAME" "fourth-pw"; do
	! grep -rqF -- "$pw" "$R" || fail "a password is in the store"
	! grep -qF -- "$pw" "$TRANSCRIPT" 2>/dev/null || fail "a password is in the output"
done
finish
