#!/usr/bin/env bash
# An s3files component whose bucket and prefix hold the backup's own S3
# repository (3scale's files at the bucket's root, the repository under
# tsarc/): a backup leaves the repository's objects out of the snapshot and
# says so in its log and report (else every backup copies the whole
# repository into itself, and grows with it). Run by
# tests/s3/run_with_s3.sh against a real RGW.
set -u
: "${TSARC:?set TSARC to the tsarc binary}"
: "${TSARC_TEST_S3_ENDPOINT:?run through tests/s3/run_with_s3.sh}"
HERE=$(cd "$(dirname "$0")" && pwd)
TEST_NAME=s3sys_repo
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-s3sys-repo.XXXXXX") || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
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

# deployment CONFIG [ENDPOINT]: the aws-auth Secret as 3scale has it (the
# bucket, this RGW as AWS_HOSTNAME) in $WORK/dep, and a configuration with
# the s3files component at the bucket's root; ENDPOINT, when given, is the
# component's "endpoint" over the Secret's.
deployment() {
	local config=$1 endpoint=${2:-}
	mkdir -p "$WORK/dep/secret"
	python3 - "$WORK/dep" "$config" "$BUCKET" "$hostport" "$endpoint" <<'PY'
import base64, json, os, sys
d, config, bucket, host, endpoint = sys.argv[1:]
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
json.dump({"profile": "none", "transport": {"type": "local", "resources_dir": d},
           "components": {"system-storage": comp}}, open(d + "/" + config, "w"))
PY
}

# backup CONFIG NAME: a backup with --json; its id in SNAP, its report in
# $WORK/NAME.json and its log in $WORK/NAME.err.
backup() {
	"$TSARC" backup --config "$WORK/dep/$1" --repo "$REPO" --json >"$WORK/$2.json" 2>"$WORK/$2.err" ||
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

grep -q -e "$AWS_SECRET_ACCESS_KEY" "$WORK"/*.err "$WORK"/*.json && fail "a secret key was printed"
info "ok"
