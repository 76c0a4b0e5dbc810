#!/usr/bin/env bash
# An s3files component whose bucket and prefix hold the backup's own S3
# repository (3scale's files at the bucket's root, the repository under
# tsarc/): a backup leaves the repository's objects out of the snapshot and
# says so in its log and report (else every backup copies the whole
# repository into itself, and grows with it). A restore into that bucket
# and prefix is refused before anything is written, whatever name the
# configuration or the repository URL gives the same RGW (here another
# port in front of it, as a proxy or load balancer: tests/s3/fault_proxy.py
# forwarding every request untouched): the restore would put the
# repository back as the backup listed it and delete every object written
# since. The snapshot records what it left out, and its restore into
# another bucket that keeps another repository under tsarc/ (one restored
# from a copy of the repository, say) leaves that repository's objects
# alone, deleting the other objects the backup does not have; a restore
# into a bucket that keeps a repository anywhere else under the prefix is
# refused before anything is written, naming it. With the
# repository at the component's own prefix (the bucket's root), only its
# own objects (by their names' form) are left out: 3scale's objects under
# data/, keys/, index/, ... are backed up and restored. A restore lists
# the target's prefix twice, not three times: the plan's look for another
# repository, and the restore's own before its first write, whose listing
# is also the one its extras are taken from: a repository made under the
# prefix during the restore (its first PUT held at the proxy meanwhile)
# is not deleted as an extra. Run by
# tests/s3/run_with_s3.sh against a real RGW.
set -u
: "${TSARC:?set TSARC to the tsarc binary}"
: "${TSARC_TEST_S3_ENDPOINT:?run through tests/s3/run_with_s3.sh}"
HERE=$(cd "$(dirname "$0")" && pwd)
TEST_NAME=s3sys_repo
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-s3sys-repo.XXXXXX") || exit 1
PROXY_PID=
trap '[ -z "$PROXY_PID" ] || kill "$PROXY_PID" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }
info() { echo "[$TEST_NAME] ${SECONDS}s $*"; }
s3tool() { python3 "$HERE/s3tool.py" "$@"; }
export XDG_CACHE_HOME=$WORK/.cache

export TSARC_PASSWORD="repo-$TEST_NAME-Hq4"
run_id=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
BUCKET=tsarc-s3sys-inrepo-$run_id
hostport=${TSARC_TEST_S3_ENDPOINT#http://}
REPO=s3:$TSARC_TEST_S3_ENDPOINT/$BUCKET/tsarc

# deployment CONFIG [ENDPOINT [BUCKET]]: the aws-auth Secret as 3scale has it (the
# bucket, this RGW as AWS_HOSTNAME) in $WORK/dep, and a configuration with
# the s3files component at the bucket's root; ENDPOINT, when given, is the
# component's "endpoint" over the Secret's, BUCKET its "bucket".
deployment() {
	local config=$1 endpoint=${2:-} bucket=${3:-}
	mkdir -p "$WORK/dep/secret"
	python3 - "$WORK/dep" "$config" "$BUCKET" "$hostport" "$endpoint" "$bucket" <<'PY'
import base64, json, os, sys
d, config, bucket, host, endpoint, target = sys.argv[1:]
b = lambda s: base64.b64encode(s.encode()).decode()
json.dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "aws-auth"},
           "data": {"AWS_ACCESS_KEY_ID": b(os.environ["AWS_ACCESS_KEY_ID"]),
                    "AWS_SECRET_ACCESS_KEY": b(os.environ["AWS_SECRET_ACCESS_KEY"]),
                    "AWS_BUCKET": b(bucket), "AWS_REGION": b("us-east-1"),
                    "AWS_HOSTNAME": b(host), "AWS_PROTOCOL": b("HTTP"),
                    "AWS_PATH_STYLE": b("true")}},
          open(d + "/secret/aws-auth.json", "w"))
comp = {"kind": "s3files", "secret": "aws-auth", "stream": "system-storage-s3.tar",
        "restore": {"action": "replace-bucket", "order": 50}}
if endpoint:
    comp["endpoint"] = endpoint
if target:
    comp["bucket"] = target
json.dump({"profile": "none", "transport": {"type": "local", "resources_dir": d},
           "components": {"system-storage": comp}}, open(d + "/" + config, "w"))
PY
}

# backup CONFIG NAME [REPO]: a backup with --json; its id in SNAP, its report in
# $WORK/NAME.json and its log in $WORK/NAME.err.
backup() {
	"$TSARC" backup --config "$WORK/dep/$1" --repo "${3:-$REPO}" --json >"$WORK/$2.json" 2>"$WORK/$2.err" ||
		fail "backup $2: $(cat "$WORK/$2.err")"
	SNAP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/$2.json") ||
		fail "no snapshot id: $(cat "$WORK/$2.json")"
}

# holds_no_repository SNAP NAME: the snapshot's stream holds the files and
# not one object of the repository, and the backup NAME said what it left out.
holds_no_repository() {
	local snap=$1 name=$2
	"$TSARC" dump --repo "$REPO" "$snap" system-storage-s3.tar 2>"$WORK/$name.dump.err" |
		tar -tf - 2>/dev/null | LC_ALL=C sort >"$WORK/$name.list" || fail "dump $name: $(cat "$WORK/$name.dump.err")"
	grep -qx 'attachments/one.txt' "$WORK/$name.list" || fail "$name: the snapshot lacks the files: $(cat "$WORK/$name.list")"
	if grep -q '^tsarc/' "$WORK/$name.list"; then
		fail "$name: the snapshot holds the repository itself: $(grep -c '^tsarc/' "$WORK/$name.list") objects under tsarc/"
	fi
	grep -q 'tsarc/.*repository' "$WORK/$name.err" || fail "$name: the log does not name the repository's prefix: $(cat "$WORK/$name.err")"
	python3 - "$WORK/$name.json" <<'PY' || fail "$name: the report does not name the repository's prefix as left out: $(cat "$WORK/$name.json")"
import json, sys
comps = json.load(open(sys.argv[1]))["components"]
ex = [e for c in comps for e in c.get("excluded", [])]
assert any(e["path"] == "tsarc/" and "repository" in e["why"] for e in ex), comps
PY
}

info "a bucket with 3scale's files at its root and the repository under tsarc/"
"$TSARC" init --repo "$REPO" --kdf-memory 4 >/dev/null 2>"$WORK/init.err" || fail "init: $(cat "$WORK/init.err")"
s3tool put "$BUCKET" "attachments/one.txt" "one" || fail "put"
deployment config.json

info "two backups: neither copies the repository into the snapshot"
backup config.json b1
S1=$SNAP
s3tool put "$BUCKET" "attachments/two.txt" "two" || fail "put"
backup config.json b2
S2=$SNAP
holds_no_repository "$S2" b2
grep -qx 'attachments/two.txt' "$WORK/b2.list" || fail "the second snapshot lacks the new file"
[ -n "$S1" ] || fail "no first snapshot"

# refused CONFIG REPO WHAT: the plan and the restore of S1 into the
# repository's own bucket and prefix are refused, naming the repository,
# and nothing in the bucket (the repository's objects included) changed.
refused() {
	local config=$1 repo=$2 what=$3 rc
	s3tool state "$BUCKET" "" >"$WORK/before.state" || fail "state"
	rc=0
	"$TSARC" restore "$S1" --config "$WORK/dep/$config" --repo "$repo" --dry-run >"$WORK/plan.out" 2>"$WORK/plan.err" || rc=$?
	[ "$rc" -ne 0 ] || fail "$what: the plan of a restore over the repository's own bucket was accepted: $(cat "$WORK/plan.out")"
	grep -q "holds the repository" "$WORK/plan.err" || fail "$what: the plan's refusal does not name the repository: $(cat "$WORK/plan.err")"
	rc=0
	"$TSARC" restore "$S1" --config "$WORK/dep/$config" --repo "$repo" >"$WORK/restore.out" 2>"$WORK/restore.err" || rc=$?
	[ "$rc" -ne 0 ] || fail "$what: a restore over the repository's own bucket ran: $(cat "$WORK/restore.out")"
	grep -q "holds the repository" "$WORK/restore.err" || fail "$what: the refusal does not name the repository: $(cat "$WORK/restore.err")"
	s3tool state "$BUCKET" "" >"$WORK/after.state" || fail "state"
	cmp -s "$WORK/before.state" "$WORK/after.state" ||
		fail "$what: the refused restore changed the bucket: $(diff "$WORK/before.state" "$WORK/after.state" | head -5)"
}

info "a restore into the repository's bucket is refused, the endpoint spelt as the repository's"
refused config.json "$REPO" "the same spelling"

info "the same RGW through another port: a proxy that forwards every request untouched"
python3 "$HERE/../s3/fault_proxy.py" --upstream "$TSARC_TEST_S3_ENDPOINT" --rate 0 \
	--port-file "$WORK/proxy.port" --log-file "$WORK/proxy.log" \
	--hold-file "$WORK/hold" --hold-release &
PROXY_PID=$!
i=0
while [ ! -s "$WORK/proxy.port" ]; do
	i=$((i + 1))
	{ [ $i -le 100 ] && kill -0 "$PROXY_PID" 2>/dev/null; } || fail "fault_proxy.py did not start"
	sleep 0.1
done
ALIAS=http://127.0.0.1:$(cat "$WORK/proxy.port")
info "... the component's endpoint through it, the repository's direct"
deployment alias.json "$ALIAS/"
refused alias.json "$REPO" "the component through the proxy"
info "... the repository opened through it, the Secret's endpoint direct"
refused config.json "s3:$ALIAS/$BUCKET/tsarc" "the repository through the proxy"
info "a backup through the other port leaves the repository out too"
backup alias.json b3
holds_no_repository "$SNAP" b3
"$TSARC" snapshots --repo "$REPO" --json >"$WORK/snaps.json" 2>"$WORK/snaps.err" || fail "snapshots: $(cat "$WORK/snaps.err")"
python3 - "$WORK/snaps.json" "$S1" "$S2" <<'PY' || fail "the repository lost snapshots: $(cat "$WORK/snaps.json")"
import json, sys
ids = {s["id"] for s in json.load(open(sys.argv[1]))}
assert set(sys.argv[2:]) <= ids, ids
PY

info "a restore into another bucket that keeps another repository under tsarc/"
OTHER=tsarc-s3sys-other-$run_id
OTHER_REPO=s3:$TSARC_TEST_S3_ENDPOINT/$OTHER/tsarc
"$TSARC" init --repo "$OTHER_REPO" --kdf-memory 4 >/dev/null 2>"$WORK/init2.err" || fail "init: $(cat "$WORK/init2.err")"
s3tool put "$OTHER" "attachments/old.txt" "an extra" || fail "put"
s3tool put "$OTHER" "tsarc/notes.txt" "not the repository's" || fail "put"
s3tool state "$OTHER" "tsarc/" >"$WORK/other-tsarc.before" || fail "state"
grep -v '"notes.txt"' "$WORK/other-tsarc.before" >"$WORK/other-repo.before"
[ -s "$WORK/other-repo.before" ] || fail "no repository objects in the other bucket"
deployment other.json "" "$OTHER"
"$TSARC" restore "$S2" --config "$WORK/dep/other.json" --repo "$REPO" >"$WORK/r-other.out" 2>"$WORK/r-other.err" ||
	fail "restore into the other bucket: $(cat "$WORK/r-other.err")"
s3tool state "$OTHER" "tsarc/" >"$WORK/other-tsarc.after" || fail "state"
grep -v '"notes.txt"' "$WORK/other-tsarc.after" >"$WORK/other-repo.after"
cmp -s "$WORK/other-repo.before" "$WORK/other-repo.after" ||
	fail "the restore deleted or changed the other repository's objects: $(diff "$WORK/other-repo.before" "$WORK/other-repo.after" | head -5)"
"$TSARC" snapshots --repo "$OTHER_REPO" >/dev/null 2>"$WORK/snaps2.err" || fail "the other repository no longer opens: $(cat "$WORK/snaps2.err")"
s3tool state "$OTHER" "" >"$WORK/other.after" || fail "state"
grep -q '"key": "attachments/two.txt"' "$WORK/other.after" || fail "the restore did not write the backup's objects"
! grep -q '"key": "attachments/old.txt"' "$WORK/other.after" || fail "the restore kept an extra object"
! grep -q '"key": "tsarc/notes.txt"' "$WORK/other.after" || fail "the restore kept an object beside the repository's"

info "a restore into a bucket that keeps another repository where the backup left none out is refused"
# Under vault/, not where the backup left its own repository out (tsarc/):
# the restore would delete its objects as extras (or overwrite them with
# the snapshot's). Refused, plan and restore, naming it; nothing written.
VAULTB=tsarc-s3sys-vault-$run_id
VAULT_REPO=s3:$TSARC_TEST_S3_ENDPOINT/$VAULTB/vault
VAULT_PW="other-$TSARC_PASSWORD"
TSARC_PASSWORD=$VAULT_PW "$TSARC" init --repo "$VAULT_REPO" --kdf-memory 4 >/dev/null 2>"$WORK/init4.err" ||
	fail "init: $(cat "$WORK/init4.err")"
echo "the other repository's data" >"$WORK/vault.txt"
TSARC_PASSWORD=$VAULT_PW "$TSARC" backup --repo "$VAULT_REPO" --stdin --name vault.txt <"$WORK/vault.txt" \
	>/dev/null 2>"$WORK/vault-backup.err" || fail "backup into the other repository: $(cat "$WORK/vault-backup.err")"
s3tool put "$VAULTB" "attachments/old.txt" "an extra" || fail "put"
deployment vault.json "" "$VAULTB"
s3tool state "$VAULTB" "" >"$WORK/vault.before" || fail "state"
rc=0
"$TSARC" restore "$S2" --config "$WORK/dep/vault.json" --repo "$REPO" --dry-run >"$WORK/vplan.out" 2>"$WORK/vplan.err" || rc=$?
[ "$rc" -ne 0 ] || fail "the plan of a restore over another repository (vault/) was accepted: $(cat "$WORK/vplan.out")"
grep -q "s3://$VAULTB/vault/.*repository" "$WORK/vplan.err" || fail "the plan's refusal does not name the other repository: $(cat "$WORK/vplan.err")"
rc=0
"$TSARC" restore "$S2" --config "$WORK/dep/vault.json" --repo "$REPO" >"$WORK/vrestore.out" 2>"$WORK/vrestore.err" || rc=$?
[ "$rc" -ne 0 ] || fail "a restore over another repository (vault/) ran: $(cat "$WORK/vrestore.out")"
grep -q "s3://$VAULTB/vault/.*repository" "$WORK/vrestore.err" || fail "the refusal does not name the other repository: $(cat "$WORK/vrestore.err")"
s3tool state "$VAULTB" "" >"$WORK/vault.after" || fail "state"
cmp -s "$WORK/vault.before" "$WORK/vault.after" ||
	fail "the refused restore changed the bucket: $(diff "$WORK/vault.before" "$WORK/vault.after" | head -5)"
TSARC_PASSWORD=$VAULT_PW "$TSARC" dump --repo "$VAULT_REPO" latest vault.txt 2>"$WORK/vdump.err" |
	cmp -s - "$WORK/vault.txt" || fail "the other repository lost its snapshot: $(cat "$WORK/vdump.err")"
info "... objects that only bear a repository's names do not stop it"
LOOKB=tsarc-s3sys-look-$run_id
s3tool put "$LOOKB" "look/config" "an app's settings" || fail "put"
s3tool put "$LOOKB" "look/keys/$(printf '%064d' 0)" "not a key" || fail "put"
deployment look.json "" "$LOOKB"
"$TSARC" restore "$S2" --config "$WORK/dep/look.json" --repo "$REPO" >"$WORK/r-look.out" 2>"$WORK/r-look.err" ||
	fail "restore into a bucket with lookalike objects: $(cat "$WORK/r-look.err")"
s3tool state "$LOOKB" "" >"$WORK/look.after" || fail "state"
grep -q '"key": "attachments/two.txt"' "$WORK/look.after" || fail "the restore did not write the backup's objects"
! grep -q '"key": "look/' "$WORK/look.after" || fail "the restore kept the lookalike extras: $(cat "$WORK/look.after")"

info "the repository at the component's own prefix: 3scale's objects of the same folders stay in"
# The bucket's root holds both: the repository's objects are only those of
# its own names (config, keys/HEX, data/XX/HEX, snapshots/HEX, locks/HEX,
# index/HEX), and 3scale's objects under data/, keys/, index/, snapshots/,
# locks/ or config/ are files to back up like any other.
ROOTB=tsarc-s3sys-root-$run_id
ROOT_REPO=s3:$TSARC_TEST_S3_ENDPOINT/$ROOTB
"$TSARC" init --repo "$ROOT_REPO" --kdf-memory 4 >/dev/null 2>"$WORK/init3.err" || fail "init: $(cat "$WORK/init3.err")"
LOOKALIKES="data/provider/logo.png keys/provider.pem index/page.html snapshots/thumb.png locks/notes.txt config/app.yml data/ab/abcdef"
for k in $LOOKALIKES attachments/one.txt; do
	s3tool put "$ROOTB" "$k" "3scale's $k" || fail "put"
done
deployment root.json "" "$ROOTB"
backup root.json b4 "$ROOT_REPO"
"$TSARC" dump --repo "$ROOT_REPO" "$SNAP" system-storage-s3.tar 2>"$WORK/b4.dump.err" |
	tar -tf - 2>/dev/null | LC_ALL=C sort >"$WORK/b4.list" || fail "dump b4: $(cat "$WORK/b4.dump.err")"
for k in $LOOKALIKES; do
	grep -qxF "$k" "$WORK/b4.list" || fail "3scale's $k, beside the repository at the bucket's root, is not in the snapshot: $(cat "$WORK/b4.list")"
done
if grep -qE '^(config|(keys|snapshots|locks|index)/[0-9a-f]{64}|data/[0-9a-f]{2}/[0-9a-f]{64})$' "$WORK/b4.list"; then
	fail "the snapshot holds the repository's own objects: $(grep -cE '^(config|(keys|snapshots|locks|index)/|data/[0-9a-f]{2}/[0-9a-f]{64})' "$WORK/b4.list")"
fi
python3 - "$WORK/b4.json" <<'PY' || fail "the report does not name the repository at the root as left out: $(cat "$WORK/b4.json")"
import json, sys
comps = json.load(open(sys.argv[1]))["components"]
ex = [e for c in comps for e in c.get("excluded", [])]
assert any(e["path"] == "" and "repository" in e["why"] for e in ex), comps
PY
info "... and its restore into another bucket puts them back"
ROOT2=tsarc-s3sys-root2-$run_id
s3tool put "$ROOT2" "attachments/old.txt" "an extra" || fail "put"
deployment root2.json "" "$ROOT2"
"$TSARC" restore "$SNAP" --config "$WORK/dep/root2.json" --repo "$ROOT_REPO" >"$WORK/r-root2.out" 2>"$WORK/r-root2.err" ||
	fail "restore into another bucket: $(cat "$WORK/r-root2.err")"
s3tool state "$ROOT2" "" >"$WORK/root2.after" || fail "state"
for k in $LOOKALIKES attachments/one.txt; do
	grep -qF "\"key\": \"$k\"" "$WORK/root2.after" || fail "the restore did not put back $k: $(cat "$WORK/root2.after")"
done
! grep -q '"key": "attachments/old.txt"' "$WORK/root2.after" || fail "the restore kept an extra object"

info "a restore lists the target's prefix twice: the plan's look, then one before the first write"
# For a bucket of a million objects one listing is a thousand LIST
# requests. The plan looks for another repository before the whole
# restore; the restore looks again before its first write, and that same
# listing is the one the extras are taken from after the PUTs. Counted at
# the proxy in front of the RGW (the component's endpoint): a pass over
# the prefix is a listing's first page (no continuation-token).
CNTB=tsarc-s3sys-count-$run_id
for k in attachments/old.txt attachments/older.txt; do
	s3tool put "$CNTB" "$k" "an extra" || fail "put"
done
deployment count.json "$ALIAS/" "$CNTB"
: >"$WORK/proxy.log"
"$TSARC" restore "$S2" --config "$WORK/dep/count.json" --repo "$REPO" >"$WORK/r-count.out" 2>"$WORK/r-count.err" ||
	fail "restore through the proxy: $(cat "$WORK/r-count.err")"
passes=$(grep "^GET /$CNTB[/?]" "$WORK/proxy.log" | grep 'list-type=2' | grep -vc 'continuation-token')
[ "$passes" -eq 2 ] ||
	fail "the restore listed s3://$CNTB/ $passes times, not twice (the plan, then once before the first write): $(grep 'list-type' "$WORK/proxy.log")"
s3tool state "$CNTB" "" >"$WORK/count.after" || fail "state"
grep -q '"key": "attachments/two.txt"' "$WORK/count.after" || fail "the restore did not write the backup's objects"
! grep -q '"key": "attachments/old' "$WORK/count.after" || fail "the restore kept an extra object: $(cat "$WORK/count.after")"

info "a repository made under the prefix during the restore, after its look, is not deleted"
# The restore's first PUT is held at the proxy: the restore has looked at
# the prefix (and found no repository). A repository is made there, then
# the PUT goes on. The restore deletes the objects the backup does not
# have: those it looked at, not the repository's, made since.
MADEB=tsarc-s3sys-made-$run_id
s3tool put "$MADEB" "attachments/old.txt" "an extra" || fail "put"
deployment made.json "$ALIAS/" "$MADEB"
HOLD=$WORK/hold
rm -f "$HOLD.reached"
printf '1\n^PUT /%s/\n' "$MADEB" >"$HOLD.new" && mv "$HOLD.new" "$HOLD"
TSARC_S3_STALL_TIMEOUT=300 "$TSARC" restore "$S2" --config "$WORK/dep/made.json" --repo "$REPO" \
	>"$WORK/r-made.out" 2>"$WORK/r-made.err" &
pid=$!
while kill -0 "$pid" 2>/dev/null && [ ! -e "$HOLD.reached" ]; do sleep 0.05; done
if [ ! -e "$HOLD.reached" ]; then
	wait "$pid"
	fail "the restore's first PUT was never held: $(cat "$WORK/r-made.err")"
fi
TSARC_PASSWORD=$VAULT_PW "$TSARC" init --repo "s3:$TSARC_TEST_S3_ENDPOINT/$MADEB/vault" --kdf-memory 4 \
	>/dev/null 2>"$WORK/init5.err" || { kill "$pid"; fail "init: $(cat "$WORK/init5.err")"; }
s3tool state "$MADEB" "vault/" >"$WORK/made-vault.before" || { kill "$pid"; fail "state"; }
rm -f "$HOLD"
wait "$pid" || fail "the restore with its first PUT held: $(cat "$WORK/r-made.err")"
s3tool state "$MADEB" "vault/" >"$WORK/made-vault.after" || fail "state"
cmp -s "$WORK/made-vault.before" "$WORK/made-vault.after" ||
	fail "the restore deleted the repository made under the prefix during it: $(diff "$WORK/made-vault.before" "$WORK/made-vault.after" | head -5)"
TSARC_PASSWORD=$VAULT_PW "$TSARC" snapshots --repo "s3:$TSARC_TEST_S3_ENDPOINT/$MADEB/vault" >/dev/null 2>"$WORK/snaps5.err" ||
	fail "the repository made during the restore no longer opens: $(cat "$WORK/snaps5.err")"
s3tool state "$MADEB" "" >"$WORK/made.after" || fail "state"
grep -q '"key": "attachments/two.txt"' "$WORK/made.after" || fail "the restore did not write the backup's objects"
! grep -q '"key": "attachments/old.txt"' "$WORK/made.after" || fail "the restore kept an extra it looked at"

grep -q -e "$AWS_SECRET_ACCESS_KEY" "$WORK"/*.err "$WORK"/*.json && fail "a secret key was printed"
info "ok"
