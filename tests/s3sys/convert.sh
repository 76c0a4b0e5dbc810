#!/usr/bin/env bash
# system-storage moved from a volume into an S3 bucket by a restore: the
# snapshot holds the volume's tar (system-storage, kind files); the target's
# APIManager says spec.system.fileStorage.simpleStorageService, so its
# system-storage-s3 (kind s3files) takes the stream, each file an object
# whose key is its path under the volume (3scale's paperclip keeps a file at
# the same path in both), its Content-Type from its name's extension. The
# bucket ends up equal to the tree: other objects deleted, after every PUT.
# Folders "acme" and "acme-corp" and a file "acme.txt" come in another order
# in the tar than their keys in S3. A tree with a symbolic link, which S3
# cannot hold, is refused before the first write, the bucket untouched.
# The other way: a bucket's objects onto the volume of a target whose
# APIManager keeps the files there: each object a file at its key, the
# folders made, the volume's other files deleted, owned (as root) by the
# volume's owner; the same into a pod's volume through kubectl; objects
# that cannot be a tree (a file and a folder of one name, a key that is no
# path) refused, the volume untouched.
# Run by tests/s3/run_with_s3.sh.
set -u
: "${TSARC:?set TSARC to the tsarc binary}"
: "${TSARC_TEST_S3_ENDPOINT:?run through tests/s3/run_with_s3.sh}"
HERE=$(cd "$(dirname "$0")" && pwd)
TEST_NAME=s3sys_convert
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-s3sys-convert.XXXXXX") || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }
info() { echo "[$TEST_NAME] ${SECONDS}s $*"; }
s3tool() { python3 "$HERE/s3tool.py" "$@"; }

export TSARC_PASSWORD="repo-$TEST_NAME-Qw4"
REPO=$WORK/repo
"$TSARC" init --repo "$REPO" --kdf-memory 4 >/dev/null 2>&1 || fail "tsarc init"
run_id=$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')
DST=tsarc-s3sys-conv-$run_id
hostport=${TSARC_TEST_S3_ENDPOINT#http://}

# deployment NAME VOLUME [s3 [BUCKET]]: a resources folder and a config with
# both system-storage components, as the 3scale profile has them; with s3
# the APIManager keeps the files in BUCKET ($DST) of Secret aws-auth.
deployment() {
	mkdir -p "$WORK/$1/secret" "$WORK/$1/apimanager"
	python3 - "$WORK/$1" "$2" "${3:-}" "${4:-$DST}" "$hostport" <<'PY'
import base64, json, os, sys
d, volume, s3, bucket, host = sys.argv[1:]
b = lambda s: base64.b64encode(s.encode()).decode()
fs = {"persistentVolumeClaim": {}}
if s3:
    fs = {"simpleStorageService": {"configurationSecretRef": {"name": "aws-auth"}}}
    json.dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "aws-auth"},
               "data": {"AWS_ACCESS_KEY_ID": b(os.environ["AWS_ACCESS_KEY_ID"]),
                        "AWS_SECRET_ACCESS_KEY": b(os.environ["AWS_SECRET_ACCESS_KEY"]),
                        "AWS_BUCKET": b(bucket), "AWS_REGION": b("us-east-1"),
                        "AWS_HOSTNAME": b(host), "AWS_PROTOCOL": b("HTTP"),
                        "AWS_PATH_STYLE": b("true")}},
              open(d + "/secret/aws-auth.json", "w"))
json.dump({"apiVersion": "apps.3scale.net/v1alpha1", "kind": "APIManager",
           "metadata": {"name": "3scale"},
           "spec": {"wildcardDomain": "example.com", "system": {"fileStorage": fs}}},
          open(d + "/apimanager/3scale.json", "w"))
comps = {
    "system-storage": {"kind": "files", "path": volume, "stream": "system-storage.tar",
                       "restore": {"action": "replace-tree", "order": 50}},
    "system-storage-s3": {"kind": "s3files", "enabled": False, "secret": "aws-auth",
                          "storage_when": {"apimanager": ["system", "fileStorage", "simpleStorageService"],
                                           "secret_ref": ["configurationSecretRef", "name"],
                                           "replaces": "system-storage"},
                          "stream": "system-storage-s3.tar",
                          "restore": {"action": "replace-bucket", "order": 50}}}
json.dump({"profile": "none", "transport": {"type": "local", "resources_dir": d},
           "components": comps}, open(d + "/config.json", "w"))
PY
}
tsarc_nokeys() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$TSARC" "$@"; }
backup() { # NAME OUT: the snapshot id into $OUT
	tsarc_nokeys backup --config "$WORK/$1/config.json" --repo "$REPO" --json > "$WORK/$2.json" 2> "$WORK/$2.err" ||
		fail "backup $1: $(cat "$WORK/$2.err")"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/$2.json" ||
		fail "no snapshot id: $(cat "$WORK/$2.json")"
}

info "a volume as 3scale fills it: tenants' folders, logos, CMS files, invoices"
V=$WORK/volume
mkdir -p "$V/acme/2/accounts/logos/original" "$V/acme-corp/2026/11/30" "$V/acme/invoices/7/pdfs/original" \
	"$V/empty-folder/deeper" "$V/ünï cödé"
printf 'PNG%.0s' $(seq 1 200) > "$V/acme/2/accounts/logos/original/logo.png"
printf 'body { color: red }\n' > "$V/acme-corp/2026/11/30/site-0a1b2c.css"
printf 'console.log(1)\n' > "$V/acme-corp/2026/11/30/app-3d4e.JS"
printf '%%PDF-1.4 invoice\n' > "$V/acme/invoices/7/pdfs/original/invoice-7.pdf"
printf 'at the top\n' > "$V/acme.txt"
: > "$V/acme-corp/empty.bin"
printf 'no extension\n' > "$V/ünï cödé/README"
head -c 3000000 /dev/urandom > "$V/acme-corp/2026/11/30/big-9f.zip"
# What S3 must hold: one object per file, key = path, type by extension.
python3 - "$V" > "$WORK/want.state" <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
types = {".png": "image/png", ".css": "text/css", ".js": "text/javascript",
         ".pdf": "application/pdf", ".txt": "text/plain", ".zip": "application/zip"}
out = []
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        body = open(p, "rb").read()
        key = os.path.relpath(p, root)
        ext = os.path.splitext(f)[1].lower()
        out.append({"key": key, "type": types.get(ext, "binary/octet-stream"), "meta": {},
                    "size": len(body), "sha256": hashlib.sha256(body).hexdigest()})
for o in sorted(out, key=lambda o: o["key"].encode()):
    print(json.dumps(o, ensure_ascii=True, sort_keys=True))
PY
deployment src "$V"
S1=$(backup src b1)
"$TSARC" show "$S1" --repo "$REPO" --json | grep -q '"system-storage-s3.tar"' && fail "the source backed up a bucket"

info "a target whose APIManager keeps the files in S3; its bucket holds other objects"
s3tool other "$DST" "" || fail "fill the target"
mkdir -p "$WORK/tvol"
printf 'keep me\n' > "$WORK/tvol/untouched"
deployment dst "$WORK/tvol" s3

info "the plan: the volume's tar into the bucket"
tsarc_nokeys restore "$S1" --config "$WORK/dst/config.json" --repo "$REPO" --dry-run --json > "$WORK/plan.json" 2> "$WORK/plan.err" ||
	fail "plan: $(cat "$WORK/plan.err")"
python3 - "$WORK/plan.json" "$DST" <<'PY' || fail "plan: $(cat "$WORK/plan.json")"
import json, sys
d = json.load(open(sys.argv[1]))
st = [s for s in d["steps"] if s.get("stream") == "system-storage.tar"]
assert len(st) == 1, d["steps"]
s = st[0]
assert s["component"] == "system-storage-s3" and s["status"] == "not applied", s
assert "system-storage" in s["converted_from"] and "files" in s["converted_from"], s
assert "s3://%s/" % sys.argv[2] in s["plan"]["target"], s
PY
for only in system-storage system-storage-s3; do
	tsarc_nokeys restore "$S1" --config "$WORK/dst/config.json" --repo "$REPO" --dry-run --json \
		--only "$only" > "$WORK/plan-$only.json" 2> "$WORK/plan-$only.err" ||
		fail "--only $only: $(cat "$WORK/plan-$only.err")"
	python3 - "$WORK/plan-$only.json" <<'PY' || fail "--only $only: $(cat "$WORK/plan-$only.json")"
import json, sys
s = [s for s in json.load(open(sys.argv[1]))["steps"] if s.get("stream") == "system-storage.tar"][0]
assert s["component"] == "system-storage-s3" and s["status"] == "not applied", s
PY
done
[ "$(s3tool state "$DST" "" | grep -c .)" -eq 3 ] || fail "the dry run wrote"

info "the restore: the bucket ends up equal to the tree"
tsarc_nokeys restore "$S1" --config "$WORK/dst/config.json" --repo "$REPO" --json > "$WORK/r1.json" 2> "$WORK/r1.err" ||
	fail "restore: $(cat "$WORK/r1.err") $(cat "$WORK/r1.json")"
s3tool state "$DST" "" > "$WORK/got.state" || fail "state"
diff "$WORK/want.state" "$WORK/got.state" > "$WORK/diff" || fail "the bucket differs: $(head -c 3000 "$WORK/diff")"
grep -q "8 objects ([0-9]* bytes) written to s3://$DST/.*, 3 objects the backup does not have deleted" "$WORK/r1.json" ||
	fail "report: $(cat "$WORK/r1.json")"
[ "$(cat "$WORK/tvol/untouched")" = "keep me" ] && [ "$(ls -A "$WORK/tvol")" = untouched ] ||
	fail "the target's volume was written"

info "a tree S3 cannot hold (a symbolic link): refused before the first write"
ln -s acme.txt "$V/link-to-acme"
S2=$(backup src b2)
s3tool put "$DST" "later/extra" "written after the restore" || fail "put"
s3tool state "$DST" "" > "$WORK/before.state"
RC=0
tsarc_nokeys restore "$S2" --config "$WORK/dst/config.json" --repo "$REPO" > "$WORK/r2.out" 2> "$WORK/r2.err" || RC=$?
[ "$RC" -ne 0 ] || fail "a tree with a symbolic link was copied into the bucket"
grep -q "link-to-acme" "$WORK/r2.err" && grep -q "symbolic link" "$WORK/r2.err" ||
	fail "the error does not name the link: $(cat "$WORK/r2.err")"
grep -q "the bucket was not touched" "$WORK/r2.err" || fail "the error does not say so: $(cat "$WORK/r2.err")"
s3tool state "$DST" "" > "$WORK/after.state"
diff "$WORK/before.state" "$WORK/after.state" > /dev/null || fail "the refused restore changed the bucket"

info "the other way: a bucket's objects onto the volume of a target without S3"
# The bucket as 3scale and a console leave it: a folder object ("dir/"),
# keys whose folders come in another order in a tree, and the target's
# volume holding other files (deleted), owned by another user than root.
SRC2=tsarc-s3sys-conv-src-$run_id
for kv in "acme/2/accounts/logos/original/logo.png=PNG" "acme-corp/site.css=body{}" \
	"acme.txt=top" "console-folder/=" "ünï cödé/README=utf-8"; do
	s3tool put "$SRC2" "${kv%%=*}" "${kv#*=}" || fail "put ${kv%%=*}"
done
deployment src2 "$WORK/unused" s3 "$SRC2"
S3=$(backup src2 b3)
T2=$WORK/t2vol
mkdir -p "$T2/old-folder"
printf 'old\n' > "$T2/old-folder/old.txt"
printf 'old top\n' > "$T2/acme.txt"
chown -R 4321:4322 "$T2" 2>/dev/null || :
deployment dst2 "$T2"
tsarc_nokeys restore "$S3" --config "$WORK/dst2/config.json" --repo "$REPO" --json > "$WORK/r3.json" 2> "$WORK/r3.err" ||
	fail "restore onto the volume: $(cat "$WORK/r3.err") $(cat "$WORK/r3.json")"
grep -q '"converted_from":[[:space:]]*"component system-storage-s3 (kind s3files)' "$WORK/r3.json" ||
	fail "the report does not say it converted: $(cat "$WORK/r3.json")"
(cd "$T2" && find . -mindepth 1 | LC_ALL=C sort) > "$WORK/t2.list"
printf '%s\n' ./acme ./acme-corp ./acme-corp/site.css ./acme.txt ./acme/2 ./acme/2/accounts \
	./acme/2/accounts/logos ./acme/2/accounts/logos/original ./acme/2/accounts/logos/original/logo.png \
	./console-folder "./ünï cödé" "./ünï cödé/README" | LC_ALL=C sort > "$WORK/t2.want"
diff "$WORK/t2.want" "$WORK/t2.list" > "$WORK/t2.diff" || fail "the volume differs: $(cat "$WORK/t2.diff")"
[ "$(cat "$T2/acme.txt")" = top ] && [ "$(cat "$T2/acme-corp/site.css")" = "body{}" ] &&
	[ "$(cat "$T2/acme/2/accounts/logos/original/logo.png")" = PNG ] || fail "a file's bytes differ"
[ "$(stat -c %a "$T2/acme.txt")" = 644 ] && [ "$(stat -c %a "$T2/acme/2")" = 755 ] ||
	fail "modes: $(stat -c '%a %n' "$T2/acme.txt" "$T2/acme/2")"
if [ "$(id -u)" = 0 ]; then
	# As root: owned by the target folder's owner, as 3scale's own files.
	[ "$(stat -c %u:%g "$T2/acme/2/accounts/logos/original/logo.png")" = 4321:4322 ] &&
		[ "$(stat -c %u:%g "$T2/acme/2")" = 4321:4322 ] ||
		fail "owners: $(stat -c '%u:%g %n' "$T2/acme/2" "$T2/acme/2/accounts/logos/original/logo.png")"
fi

info "the same into the volume of a pod, through kubectl (a TEST DOUBLE that runs the pod's tar here)"
KDIR=$WORK/kube
T3=$WORK/pod-volume
mkdir -p "$KDIR/resources/apimanager" "$T3/old"
printf 'old\n' > "$T3/old/old.txt"
export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale
python3 - "$KDIR" "$T3" "${TSARC_FAKE_KUBECTL:?set TSARC_FAKE_KUBECTL to the fake-kubectl binary}" <<'PY'
import json, sys
kdir, vol, kubectl = sys.argv[1:]
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "system-app-1-abcde", "namespace": "3scale", "labels": {"deployment": "system-app"}},
       "spec": {"containers": [{"name": "system-master", "env": []}]}, "status": {"phase": "Running"}}
json.dump({"apiVersion": "v1", "kind": "List", "items": [pod]}, open(kdir + "/pods.json", "w"))
json.dump({"apiVersion": "apps.3scale.net/v1alpha1", "kind": "APIManager", "metadata": {"name": "3scale"},
           "spec": {"wildcardDomain": "example.com", "system": {"fileStorage": {"persistentVolumeClaim": {}}}}},
          open(kdir + "/resources/apimanager/3scale.json", "w"))
comps = json.load(open(sys.argv[1] + "/../dst2/config.json"))["components"]
comps["system-storage"].update({"workload": "system-app", "container": "system-master", "path": vol})
json.dump({"profile": "none", "components": comps,
           "transport": {"type": "kube", "binary": kubectl, "namespace": "3scale",
                         "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE"]}},
          open(kdir + "/config.json", "w"))
PY
tsarc_nokeys restore "$S3" --config "$KDIR/config.json" --repo "$REPO" --json > "$WORK/r6.json" 2> "$WORK/r6.err" ||
	fail "restore into the pod: $(cat "$WORK/r6.err") $(cat "$WORK/r6.json")"
(cd "$T3" && find . -mindepth 1 | LC_ALL=C sort) > "$WORK/t3.list"
diff "$WORK/t2.want" "$WORK/t3.list" > "$WORK/t3.diff" || fail "the pod's volume differs: $(cat "$WORK/t3.diff")"
[ "$(cat "$T3/acme/2/accounts/logos/original/logo.png")" = PNG ] || fail "a file's bytes differ in the pod"
grep -q "exec" "$WORK/kubectl.log" || fail "kubectl was not asked to exec the pod's tar"

info "objects a folder cannot hold: refused, the volume untouched"
SRC3=tsarc-s3sys-conv-bad-$run_id
s3tool put "$SRC3" "a" "file a" && s3tool put "$SRC3" "a.txt" "between" &&
	s3tool put "$SRC3" "a/b" "file under a" || fail "fill the conflicting bucket"
deployment src3 "$WORK/unused" s3 "$SRC3"
S4=$(backup src3 b4)
(cd "$T2" && find . | LC_ALL=C sort | xargs -d '\n' md5sum 2>/dev/null) > "$WORK/t2.before"
RC=0
tsarc_nokeys restore "$S4" --config "$WORK/dst2/config.json" --repo "$REPO" > "$WORK/r4.out" 2> "$WORK/r4.err" || RC=$?
[ "$RC" -ne 0 ] || fail "a file and a folder of one name were restored"
grep -q "objects 'a' and 'a/b' cannot both be in a folder" "$WORK/r4.err" || fail "the error: $(cat "$WORK/r4.err")"
(cd "$T2" && find . | LC_ALL=C sort | xargs -d '\n' md5sum 2>/dev/null) > "$WORK/t2.after"
diff "$WORK/t2.before" "$WORK/t2.after" > /dev/null || fail "the refused restore changed the volume"
SRC4=tsarc-s3sys-conv-odd-$run_id
s3tool put "$SRC4" "fine.txt" "fine" && s3tool put "$SRC4" "double//slash" "odd" || fail "fill the odd bucket"
deployment src4 "$WORK/unused" s3 "$SRC4"
S5=$(backup src4 b5)
RC=0
tsarc_nokeys restore "$S5" --config "$WORK/dst2/config.json" --repo "$REPO" > "$WORK/r5.out" 2> "$WORK/r5.err" || RC=$?
[ "$RC" -ne 0 ] || fail "a key that is no path was restored into a folder"
grep -q "object key 'double//slash' cannot be a path in a folder" "$WORK/r5.err" || fail "the error: $(cat "$WORK/r5.err")"
(cd "$T2" && find . | LC_ALL=C sort | xargs -d '\n' md5sum 2>/dev/null) > "$WORK/t2.after"
diff "$WORK/t2.before" "$WORK/t2.after" > /dev/null || fail "the refused restore changed the volume"

grep -q -e "$AWS_SECRET_ACCESS_KEY" "$WORK"/*.err "$WORK"/*.json "$WORK"/*.out && fail "a secret key was printed"
info "ok"
