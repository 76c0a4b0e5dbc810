#!/usr/bin/env bash
# What must not lose data or lock users out, through the binary:
#  - a torn chunk (a correctly named empty object left by a crash) is not
#    trusted by dedup: the next backup stores it again; plain check finds it;
#    chunk contents are fsynced before their rename (strace, when present);
#  - a damaged newest snapshot is passed over by `latest` (with a warning)
#    and reported by check; a snapshot that cannot be read (permission) makes
#    snapshots, dump latest and check fail, never a short list; forget by
#    policy keeps (and names) a damaged snapshot, forget by id removes it;
#  - a key file of another repository with the same password, or a forged
#    key file with huge scrypt parameters, locks nobody out; a damaged key
#    file of a second password is reported as damage, not a wrong password.
. "$(dirname "$0")/lib.sh"

R=$WORK/repo
# Small chunks: several per stream, whatever the chunker's choices.
init_repo "$R" --format 1 --chunk-min 65536 --chunk-avg 131072 --chunk-max 262144
"$GEN" 2M --seed 41 >"$WORK/a.sql" || fail "the generator failed"
"$GEN" 2M --seed 42 >"$WORK/b.sql" || fail "the generator failed"

info "a torn chunk is stored again by the next backup"
t_in "$WORK/a.sql" backup --repo "$R" --stdin --name a.sql --json
expect_rc 0 "first backup"
SNAP=$(json_get "$OUT" "d['snapshot_id']")
ok show --repo "$R" "$SNAP" --json --chunks
mapfile -t CHUNKS < <(json_get "$OUT" "'\n'.join(c[0] for c in d['streams'][0]['chunks'])")
[ "${#CHUNKS[@]}" -ge 3 ] || fail "want at least 3 chunks in a 2 MiB stream, got ${#CHUNKS[@]}"
TORN=$R/data/${CHUNKS[1]:0:2}/${CHUNKS[1]}
SIZE=$(stat -c %s "$TORN")
# As after a crash before the manifest: no snapshot, an empty chunk object.
rm "$R/snapshots/$SNAP"
: >"$TORN"
t_in "$WORK/a.sql" backup --repo "$R" --stdin --name a.sql --json
expect_rc 0 "backup over a torn chunk"
expect_err "chunk ${CHUNKS[1]:0:16} .*damaged.*storing it again" "backup names the torn chunk it stores again"
[ "$(json_get "$OUT" "d['new_chunks']")" -ge 1 ] || fail "the backup stored no chunk again"
[ "$(stat -c %s "$TORN")" -eq "$SIZE" ] || fail "the torn chunk is $(stat -c %s "$TORN") bytes, not $SIZE again"
t check --repo "$R" --read-data
expect_rc 0 "check --read-data after the repair"
dump_cmp_file "$R" latest a.sql "$WORK/a.sql"
# Plain check (no data read) finds a torn chunk under a snapshot.
cp "$TORN" "$WORK/saved"
: >"$TORN"
t check --repo "$R"
expect_rc 3 "plain check of a torn chunk"
expect_out "damaged chunk ${CHUNKS[1]:0:16}" "check names the torn chunk"
cp "$WORK/saved" "$TORN"

if command -v strace >/dev/null 2>&1 && strace -f -o /dev/null true 2>/dev/null; then
	info "every object's content is fsynced before it is renamed or linked into place"
	# (LeakSanitizer cannot work under ptrace.)
	ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" \
		strace -f -y -qq -e trace=fsync,fdatasync,rename,renameat,renameat2,link,linkat \
		-o "$WORK/strace.log" "$TSARC" backup --repo "$R" --stdin --name b.sql \
		<"$WORK/b.sql" >"$OUT" 2>"$ERR" || fail "backup under strace failed"
	python3 - "$WORK/strace.log" <<'EOF' || fail "an object was put in place before its content was synced"
import re, sys
synced, placed, bad = set(), 0, []
for line in open(sys.argv[1]):
    m = re.search(r'\b(?:fsync|fdatasync)\(\d+<([^>]*)>', line)
    if m:
        synced.add(m.group(1))
        continue
    m = re.search(r'\b(?:rename|renameat2?|link|linkat)\((?:-?\d+<[^>]*>|AT_FDCWD(?:<[^>]*>)?), *"([^"]*\.tmp-[^"]*)"', line) or \
        re.search(r'\b(?:rename|link)\("([^"]*\.tmp-[^"]*)"', line)
    if m:
        placed += 1
        if m.group(1) not in synced:
            bad.append(m.group(1))
if placed < 3:
    sys.exit("only %d objects put in place: the trace is not what was expected" % placed)
if bad:
    sys.exit("%d of %d objects renamed before their content was synced, e.g. %s" % (len(bad), placed, bad[0]))
print("[trust] %d objects, each synced before it was put in place" % placed)
EOF
elif [ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ]; then
	fail "strace cannot run here (ci/deps.sh installs it): the fsync order must be traced in CI"
else
	info "strace cannot run here: the fsync order is not traced"
fi

info "a damaged newest snapshot is passed over by latest"
R2=$WORK/two
init_repo "$R2"
t_in "$WORK/a.sql" backup --repo "$R2" --stdin --name db.sql --time 2026-01-01T00:00:00Z --json
OLD=$(json_get "$OUT" "d['snapshot_id']")
t_in "$WORK/b.sql" backup --repo "$R2" --stdin --name db.sql --time 2026-01-02T00:00:00Z --json
NEW=$(json_get "$OUT" "d['snapshot_id']")
dump_cmp_file "$R2" latest db.sql "$WORK/b.sql"
flip_byte "$R2/snapshots/$NEW" 40
dump_cmp_file "$R2" latest db.sql "$WORK/a.sql"
expect_err "snapshot ${NEW:0:12} is damaged.*passed over" "dump latest names the snapshot it passed over"
t show --repo "$R2" latest
expect_rc 0 "show latest with a damaged newest snapshot"
expect_out "snapshot $OLD" "show latest is the older snapshot"
t check --repo "$R2"
expect_rc 3 "check with a damaged snapshot"
expect_out "damaged snapshot.*${NEW:0:12}" "check names the damaged snapshot"
flip_byte "$R2/snapshots/$NEW" 40

info "a snapshot that cannot be read is an error, never a short list"
# Root reads anything: run as nobody, the snapshot unreadable to it.
as_user=()
if [ "$(id -u)" -eq 0 ]; then
	command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed to test a permission error as root"
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
	# Readable by all, and its locks folder writable (commands take locks).
	chmod -R a+rX "$R2" && chmod a+x "$WORK" && chmod 777 "$R2/locks" ||
		fail "cannot open the repository to nobody"
fi
chmod 000 "$R2/snapshots/$NEW"
tu() { RC=0; "${as_user[@]}" "$TSARC" "$@" >"$OUT" 2>"$ERR" || RC=$?; sanitizer_check "$RC" "$ERR" "tsarc $*"; transcript_add; }
expect_unreadable_snapshot 13 "$R2" "$NEW" tu
chmod 644 "$R2/snapshots/$NEW"
tu snapshots --repo "$R2"
expect_rc 0 "snapshots once the snapshot is readable again"

info "a damaged snapshot does not stop retention, and is forgotten by its id"
flip_byte "$R2/snapshots/$NEW" 40
t forget --repo "$R2" --keep-last 1
expect_rc 0 "forget by policy with a damaged snapshot"
expect_err "snapshot ${NEW:0:12}.*damaged.*kept" "forget names the damaged snapshot it keeps"
[ -e "$R2/snapshots/$NEW" ] || fail "a policy removed a snapshot it could not read"
[ -e "$R2/snapshots/$OLD" ] || fail "forget removed the only readable snapshot"
t forget --repo "$R2" "${NEW:0:12}"
expect_rc 0 "forget of a damaged snapshot by its id"
[ ! -e "$R2/snapshots/$NEW" ] || fail "forget by id left the damaged snapshot"
[ -e "$R2/snapshots/$OLD" ] || fail "forget by id removed another snapshot"
t check --repo "$R2"
expect_rc 0 "check once the damaged snapshot is forgotten"

info "a key file of another repository with the same password"
R3=$WORK/other
init_repo "$R3"
for k in "$R3"/keys/*; do cp "$k" "$R/keys/"; done
# Three more, so that one is listed before the real key whatever the order.
for i in 1 2 3; do
	init_repo "$WORK/other$i"
	cp "$WORK/other$i"/keys/* "$R/keys/"
done
t snapshots --repo "$R"
expect_rc 0 "snapshots with foreign key files that the password opens"
dump_cmp_file "$R" latest b.sql "$WORK/b.sql"

info "a damaged key file of a second password is damage, not a wrong password"
TSARC_NEW_PASSWORD="second-$TEST_NAME-pw" t key add --repo "$R2" --json
expect_rc 0 "key add"
SECOND=$(json_get "$OUT" "d['added']")
flip_byte "$R2/keys/$SECOND" 30
TSARC_PASSWORD="second-$TEST_NAME-pw" t snapshots --repo "$R2"
expect_rc 3 "the second password with its key file damaged"
expect_err "damaged" "the error says a key file is damaged"
! grep -qi "wrong password" "$ERR" || fail "a damaged key file is reported as a wrong password"
t snapshots --repo "$R2"
expect_rc 0 "the first password beside a damaged key file"

info "a forged key file with huge scrypt parameters is refused on sight"
FORGED=$(python3 - "$R2/keys" <<'EOF'
import base64, hashlib, sys
doc = ('{"version":1,"kdf":"scrypt","N":65536,"r":64,"p":64,"salt":"%s","data":"%s"}'
       % (base64.b64encode(bytes(32)).decode(), base64.b64encode(bytes(92)).decode())).encode()
name = hashlib.sha256(doc).hexdigest()
open(sys.argv[1] + "/" + name, "wb").write(doc)
print(name)
EOF
) || fail "cannot write the forged key file"
t check --repo "$R2"
expect_rc 3 "check with a forged key file"
expect_out "damaged key.*${FORGED:0:16}.*scrypt" "check names the forged key file and why"
t snapshots --repo "$R2"
expect_rc 0 "the real password beside a forged key file"
finish
