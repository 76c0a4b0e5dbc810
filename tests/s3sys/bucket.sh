#!/usr/bin/env bash
# system-storage in an S3 bucket (the s3files kind) against a real RGW: a
# source bucket with odd keys, content types, user metadata, an empty and a
# 12 MiB object and 70 small ones (more than one batch of 64), backed up with the keys and bucket of the deployment's
# aws-auth Secret (not this process's AWS_* variables); restored into a
# target bucket that holds other objects, which ends up equal to the source
# (extras deleted); the plan names source and target bucket and endpoint,
# never a key; a migration into the source bucket is refused; a migration
# into a target without its Secret is refused, never the snapshot's copy
# used, which in place says where; a damaged stream, and a key too long under
# the target's prefix, leave the target bucket untouched; a restore into the
# bucket and prefix that hold the repository is refused. Run by
# tests/s3/run_with_s3.sh.
set -u
: "${TSARC:?set TSARC to the tsarc binary}"
: "${TSARC_TEST_S3_ENDPOINT:?run through tests/s3/run_with_s3.sh}"
HERE=$(cd "$(dirname "$0")" && pwd)
TEST_NAME=s3sys_bucket
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-s3sys.XXXXXX") || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }
info() { echo "[$TEST_NAME] ${SECONDS}s $*"; }
s3tool() { python3 "$HERE/s3tool.py" "$@"; }
. "$(dirname "$0")/../lib_chunk.sh"

export TSARC_PASSWORD="repo-$TEST_NAME-Zp8"
REPO=$WORK/repo
"$TSARC" init --repo "$REPO" --kdf-memory 4 --format 1 >/dev/null 2>&1 || fail "tsarc init"
run_id=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
SRC=tsarc-s3sys-src-$run_id
DST=tsarc-s3sys-dst-$run_id
hostport=${TSARC_TEST_S3_ENDPOINT#http://}

# deployment NAME BUCKET [PREFIX] [no-secret] [with-secrets]: a resources
# folder with the aws-auth Secret as 3scale has it, and a config with the
# s3files component (and with-secrets: a resources component of the Secret).
deployment() {
	local name=$1 bucket=$2 prefix=${3:-} nosecret=${4:-} withres=${5:-}
	mkdir -p "$WORK/$name/secret"
	python3 - "$WORK/$name" "$bucket" "$hostport" "$prefix" "$nosecret" "$withres" <<'PY'
import base64, json, os, sys
d, bucket, host, prefix, nosecret, withres = sys.argv[1:]
b = lambda s: base64.b64encode(s.encode()).decode()
if not nosecret:
    json.dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "aws-auth"},
               "data": {"AWS_ACCESS_KEY_ID": b(os.environ["AWS_ACCESS_KEY_ID"]),
                        "AWS_SECRET_ACCESS_KEY": b(os.environ["AWS_SECRET_ACCESS_KEY"]),
                        "AWS_BUCKET": b(bucket), "AWS_REGION": b("us-east-1"),
                        "AWS_HOSTNAME": b(host), "AWS_PROTOCOL": b("HTTP"),
                        "AWS_PATH_STYLE": b("true")}},
              open(d + "/secret/aws-auth.json", "w"))
comp = {"kind": "s3files", "secret": "aws-auth", "stream": "system-storage-s3.tar",
        "restore": {"action": "replace-bucket", "order": 50}}
if prefix:
    comp["prefix"] = prefix
comps = {"system-storage": comp}
if withres:
    comps["secrets"] = {"kind": "resources", "resource": "secret", "names": ["aws-auth"],
                        "stream": "secrets.json", "restore": {"action": "apply", "order": 10}}
json.dump({"profile": "none", "transport": {"type": "local", "resources_dir": d},
           "components": comps}, open(d + "/config.json", "w"))
PY
}
# tsarc without AWS_* keys of its own: the Secret's keys must be the ones used.
tsarc_nokeys() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$TSARC" "$@"; }

info "a source bucket and a target bucket with other objects"
s3tool fill "$SRC" "" || fail "fill the source"
s3tool other "$DST" "" || fail "fill the target"
s3tool state "$SRC" "" > "$WORK/src.state"
[ "$(grep -c . "$WORK/src.state")" -eq 85 ] || fail "source: $(wc -l < "$WORK/src.state") objects"
deployment src "$SRC"
deployment dst "$DST"

info "backup with the aws-auth Secret's keys"
tsarc_nokeys backup --config "$WORK/src/config.json" --repo "$REPO" --json > "$WORK/b1.json" 2> "$WORK/b1.err" ||
	fail "backup: $(cat "$WORK/b1.err")"
S1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/b1.json") ||
	fail "no snapshot id: $(cat "$WORK/b1.json")"
"$TSARC" show "$S1" --repo "$REPO" --json > "$WORK/show.json" || fail "show"
python3 - "$WORK/show.json" "$SRC" <<'PY' || fail "snapshot metadata: $(cat "$WORK/show.json")"
import json, sys
d = json.load(open(sys.argv[1]))
m = [s for s in d["streams"] if s["name"] == "system-storage-s3.tar"][0]["meta"]
assert m["kind"] == "s3files" and m["s3_bucket"] == sys.argv[2] and m["s3_objects"] == 85, m
assert m["s3_endpoint"].startswith("http://127.0.0.1:"), m
PY

info "the stream is a tar any tar lists: unsafe keys under s3-unsafe-keys/"
"$TSARC" dump "$S1" system-storage-s3.tar --repo "$REPO" 2>/dev/null |
	tar -tf - > "$WORK/names" 2>"$WORK/tar.err" || fail "tar -t: $(cat "$WORK/tar.err")"
# Each object's key and metadata are extended attributes GNU tar knows. (A
# name that is not ASCII is its bytes, pax's hdrcharset=BINARY, a keyword
# GNU tar does not know and names in a warning.)
! grep -v "keyword 'hdrcharset'" "$WORK/tar.err" >"$WORK/tar.other" ||
	fail "GNU tar warns reading the stream: $(head -3 "$WORK/tar.other")"
grep -qx "logo.png" "$WORK/names" || fail "tar names: $(head -c 600 "$WORK/names")"
grep -q "^s3-unsafe-keys/[0-9]*$" "$WORK/names" || fail "no unsafe key mapped: $(head -c 600 "$WORK/names")"
grep -q '\.\.' "$WORK/names" && fail "a tar name escapes: $(grep '\.\.' "$WORK/names")"

info "the plan names both buckets and the endpoint, never a key"
tsarc_nokeys restore "$S1" --config "$WORK/dst/config.json" --repo "$REPO" --dry-run --json > "$WORK/plan.json" 2>&1 ||
	fail "plan: $(cat "$WORK/plan.json")"
grep -q "s3://$DST/ at http://$hostport" "$WORK/plan.json" || fail "plan target: $(cat "$WORK/plan.json")"
grep -q "s3://$SRC/ at http://$hostport" "$WORK/plan.json" || fail "plan source: $(cat "$WORK/plan.json")"
grep -q "the target's Secret aws-auth" "$WORK/plan.json" || fail "plan: where from: $(cat "$WORK/plan.json")"
[ "$(s3tool state "$DST" "" | grep -c .)" -eq 3 ] || fail "the dry run wrote"

# restore_ok N SNAP CONFIG WHAT: a restore of SNAP with CONFIG succeeds,
# its --json report in $WORK/rN.json.
restore_ok() {
	tsarc_nokeys restore "$2" --config "$3" --repo "$REPO" --json > "$WORK/r$1.json" 2> "$WORK/r$1.err" ||
		fail "$4: $(cat "$WORK/r$1.err") $(cat "$WORK/r$1.json")"
}
# same_state BUCKET PREFIX WANT WHAT: the objects of BUCKET under PREFIX
# (s3tool state) are those in the file WANT.
same_state() {
	s3tool state "$1" "$2" > "$WORK/state.now" || fail "state of $1"
	diff "$3" "$WORK/state.now" > "$WORK/state.diff" || fail "$4: $(head -c 2000 "$WORK/state.diff")"
}

info "restore into the target: it ends up equal to the source"
restore_ok 1 "$S1" "$WORK/dst/config.json" "restore"
grep -q "85 objects ([0-9]* bytes) written to s3://$DST/.*, 2 objects the backup does not have deleted" "$WORK/r1.json" ||
	fail "report: $(cat "$WORK/r1.json")"
same_state "$DST" "" "$WORK/src.state" "target differs"

info "restored under a prefix of the target: the same objects, nothing else touched"
deployment dstp "$DST" "restored/here"
restore_ok 2 "$S1" "$WORK/dstp/config.json" "restore under a prefix"
same_state "$DST" "restored/here/" "$WORK/src.state" "prefix target differs"
[ "$(s3tool state "$DST" "" | grep -c .)" -eq 170 ] || fail "the restore under a prefix touched other keys"

info "a migration into the snapshot's source bucket is refused"
deployment other-src "$SRC"
RC=0
tsarc_nokeys restore "$S1" --config "$WORK/other-src/config.json" --repo "$REPO" > "$WORK/r3.out" 2> "$WORK/r3.err" || RC=$?
[ "$RC" -ne 0 ] || fail "a migration into the source bucket ran"
grep -q "is the snapshot's source" "$WORK/r3.err" || fail "refusal: $(cat "$WORK/r3.err")"
tsarc_nokeys restore "$S1" --config "$WORK/other-src/config.json" --repo "$REPO" --dry-run --allow-source-target > /dev/null 2> "$WORK/r3b.err" ||
	fail "--allow-source-target: $(cat "$WORK/r3b.err")"

info "a target without its Secret is refused, the snapshot's copy never used"
deployment nosecret "$DST" "" no-secret
RC=0
tsarc_nokeys restore "$S1" --config "$WORK/nosecret/config.json" --repo "$REPO" > "$WORK/r4.out" 2> "$WORK/r4.err" || RC=$?
[ "$RC" -ne 0 ] || fail "a restore without the target's Secret ran"
grep -q "the target has no Secret aws-auth" "$WORK/r4.err" || fail "refusal: $(cat "$WORK/r4.err")"

info "a PUT refused midway: the error counts exactly the objects written, none deleted"
# many/020.txt is the 31st key: the PUTs before it in its batch (8 at a
# time) are written when it is refused.
FAIL_B=tsarc-s3sys-fail-$run_id
s3tool other "$FAIL_B" "" || fail "fill the failing bucket"
s3tool deny-put "$FAIL_B" "many/020.txt" || fail "bucket policy"
deployment failing "$FAIL_B"
RC=0
tsarc_nokeys restore "$S1" --config "$WORK/failing/config.json" --repo "$REPO" > "$WORK/r7.out" 2> "$WORK/r7.err" || RC=$?
[ "$RC" -ne 0 ] || fail "a restore with a PUT refused succeeded"
grep -q "many/020.txt" "$WORK/r7.err" || fail "the error does not name the object: $(cat "$WORK/r7.err")"
n=$(sed -n 's/.*writing objects (\([0-9]*\) of 85 written; no object was deleted).*/\1/p' "$WORK/r7.err")
[ -n "$n" ] || fail "the error does not count the objects written: $(cat "$WORK/r7.err")"
s3tool state "$FAIL_B" "" > "$WORK/failing.state" || fail "state"
got=$(grep -cxFf "$WORK/src.state" "$WORK/failing.state")
[ "$n" -eq "$got" ] || fail "the error says $n objects written, the bucket holds $got of the backup's: $(cat "$WORK/r7.err")"
grep -q '"key": "only-in-target.txt"' "$WORK/failing.state" || fail "an object was deleted"

info "a damaged stream leaves the target bucket untouched"
s3tool put "$DST" "later/extra" "written after the restore" || fail "put"
s3tool state "$DST" "" > "$WORK/before.state"
damage_chunk "$REPO" "$S1" system-storage-s3.tar -1
RC=0
tsarc_nokeys restore "$S1" --config "$WORK/dst/config.json" --repo "$REPO" > "$WORK/r5.out" 2> "$WORK/r5.err" || RC=$?
[ "$RC" -eq 3 ] || fail "restore of a damaged stream exited $RC (want 3): $(cat "$WORK/r5.err")"
grep -q "the bucket was not touched" "$WORK/r5.err" || fail "the error does not say so: $(cat "$WORK/r5.err")"
same_state "$DST" "" "$WORK/before.state" "the target changed"

info "in place with the Secret gone: the snapshot's copy says where, the bucket is restored"
HOME_B=tsarc-s3sys-home-$run_id
s3tool other "$HOME_B" "" || fail "fill the home bucket"
s3tool state "$HOME_B" "" > "$WORK/home.state"
deployment home "$HOME_B" "" "" with-secrets
tsarc_nokeys backup --config "$WORK/home/config.json" --repo "$REPO" --json > "$WORK/b6.json" 2> "$WORK/b6.err" ||
	fail "backup home: $(cat "$WORK/b6.err")"
S6=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/b6.json")
s3tool put "$HOME_B" "later/extra" "written after the backup" || fail "put"
rm "$WORK/home/secret/aws-auth.json"
restore_ok 6 "$S6" "$WORK/home/config.json" "restore in place"
grep -q "the snapshot's Secret aws-auth: the target has none, and the restore is in place" "$WORK/r6.json" ||
	fail "where from: $(cat "$WORK/r6.json")"
same_state "$HOME_B" "" "$WORK/home.state" "home bucket differs"
[ -f "$WORK/home/secret/aws-auth.json" ] || fail "the Secret was not restored"

info "a key too long under the target's prefix: refused before the first write"
# 1020 bytes: a key S3 keeps, but not under the 22 bytes of the target's
# prefix (S3 keys end at 1024). The keys around it would be written first.
LONG_B=tsarc-s3sys-long-$run_id
LONG_KEY=long/$(head -c 1015 /dev/zero | tr '\0' k)
s3tool put "$LONG_B" "a-first.txt" "first" && s3tool put "$LONG_B" "$LONG_KEY" "long" &&
	s3tool put "$LONG_B" "z-last.txt" "last" || fail "fill the bucket with a long key"
deployment long "$LONG_B"
tsarc_nokeys backup --config "$WORK/long/config.json" --repo "$REPO" --json > "$WORK/b8.json" 2> "$WORK/b8.err" ||
	fail "backup of the long key: $(cat "$WORK/b8.err")"
S8=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/b8.json")
deployment longp "$DST" "restored/longer-prefix"
s3tool state "$DST" "" > "$WORK/before-long.state"
RC=0
tsarc_nokeys restore "$S8" --config "$WORK/longp/config.json" --repo "$REPO" > "$WORK/r8.out" 2> "$WORK/r8.err" || RC=$?
[ "$RC" -ne 0 ] || fail "a key longer than S3 allows under the prefix was restored"
same_state "$DST" "" "$WORK/before-long.state" "the target changed before the long key was refused"
grep -q "the bucket was not touched" "$WORK/r8.err" || fail "the error does not say so: $(cat "$WORK/r8.err")"

info "a restore into the bucket and prefix that hold the repository itself is refused"
# The repository under tsarc/ of the bucket 3scale keeps its files in (at
# the bucket's root): the restore would write the repository's objects
# back as the backup listed them and delete the ones written since.
REPO_B=tsarc-s3sys-repo-$run_id
REPO_S3=s3:$TSARC_TEST_S3_ENDPOINT/$REPO_B/tsarc
"$TSARC" init --repo "$REPO_S3" --kdf-memory 4 >/dev/null 2>"$WORK/i9.err" || fail "init on S3: $(cat "$WORK/i9.err")"
s3tool put "$REPO_B" "attachments/one.txt" "one" || fail "put"
deployment inrepo "$REPO_B"
"$TSARC" backup --config "$WORK/inrepo/config.json" --repo "$REPO_S3" --json > "$WORK/b9.json" 2> "$WORK/b9.err" ||
	fail "backup of the repository's bucket: $(cat "$WORK/b9.err")"
S9=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/b9.json")
s3tool put "$REPO_B" "attachments/two.txt" "two" || fail "put"
"$TSARC" backup --config "$WORK/inrepo/config.json" --repo "$REPO_S3" --json > "$WORK/b10.json" 2> "$WORK/b10.err" ||
	fail "second backup of the repository's bucket: $(cat "$WORK/b10.err")"
S10=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/b10.json")
RC=0
"$TSARC" restore "$S9" --config "$WORK/inrepo/config.json" --repo "$REPO_S3" --dry-run > "$WORK/r9.out" 2> "$WORK/r9.err" || RC=$?
[ "$RC" -ne 0 ] || fail "the plan of a restore over the repository's own bucket and prefix was accepted"
grep -q "repository" "$WORK/r9.err" || fail "the plan's refusal does not name the repository: $(cat "$WORK/r9.err")"
RC=0
"$TSARC" restore "$S9" --config "$WORK/inrepo/config.json" --repo "$REPO_S3" > "$WORK/r10.out" 2> "$WORK/r10.err" || RC=$?
[ "$RC" -ne 0 ] || fail "a restore over the repository's own bucket and prefix ran"
"$TSARC" snapshots --repo "$REPO_S3" --json > "$WORK/snaps9.json" 2> "$WORK/snaps9.err" || fail "snapshots: $(cat "$WORK/snaps9.err")"
python3 - "$WORK/snaps9.json" "$S9" "$S10" <<'PY' || fail "the repository lost snapshots: $(cat "$WORK/snaps9.json")"
import json, sys
ids = {s["id"] for s in json.load(open(sys.argv[1]))}
assert set(sys.argv[2:]) <= ids, ids
PY

grep -q -e "$AWS_SECRET_ACCESS_KEY" "$WORK"/*.err "$WORK"/*.json "$WORK"/*.out && fail "a secret key was printed"
info "ok"
