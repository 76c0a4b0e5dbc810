#!/usr/bin/env bash
# The container image, tested through its filesystem (no container runtime
# runs here): ci/image.sh builds it into TSARC_IMAGE_DIR (the Debian part is
# reused while ci/image/packages is unchanged) with the tsarc of this build
# (TSARC_IMAGE_BUILD), then
#   - the OCI image: entrypoint tsarc, a numeric non-root user, TMPDIR, the
#     labels, and its single layer holds the same tsarc;
#   - under an OpenShift-style arbitrary UID (1000650000, group 0) with a
#     read-only root and a tmpfs /tmp (tests/image/in-image.sh): version,
#     --help, the clients the components run, kubectl, and a repository
#     round trip (init, backup --stdin, dump byte-identical, check);
#   - the demo deployment (real MariaDB, PostgreSQL, Redis on loopback)
#     backed up, destroyed and restored with the image's tsarc and the
#     image's mysqldump/mysql (MariaDB 11.8), pg_dump/psql 17, redis-cli,
#     redis-server or valkey-server and tar, and shown to match. (As
#     root: the test's servers and folders belong to root.)
export TMPDIR=/tmp
# shellcheck disable=SC1091
. "$(dirname "$0")/../restore/lib.sh"
for tool in mmdebstrap umoci unshare chroot; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (bash ci/deps.sh --with-image)"
done
IMAGE_DIR=${TSARC_IMAGE_DIR:?set TSARC_IMAGE_DIR (where ci/image.sh builds)}
IN_IMAGE=$TOP/tests/image/in-image.sh

info "ci/image.sh (builds the image; the Debian part is cached in TSARC_IMAGE_DIR)"
SECONDS=0
bash "$TOP/ci/image.sh" "$IMAGE_DIR" >"$WORK/image.log" 2>&1 || { tail -30 "$WORK/image.log" >&2; fail "ci/image.sh failed"; }
info "image built in ${SECONDS}s: $(tail -1 "$WORK/image.log")"
ROOTFS=$IMAGE_DIR/rootfs
version=$("$TSARC" version --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
[ -s "$IMAGE_DIR/tsarc-$version.oci.tar" ] || fail "no oci-archive tsarc-$version.oci.tar"

info "the OCI image: entrypoint, user, environment, labels, the layer"
python3 - "$IMAGE_DIR/oci" "$version" <<'PY' || fail "the OCI image is wrong"
import gzip, hashlib, json, os, sys, tarfile
lay, version = sys.argv[1:]
def blob(d):
    alg, h = d.split(":")
    p = os.path.join(lay, "blobs", alg, h)
    data = open(p, "rb").read()
    assert hashlib.sha256(data).hexdigest() == h, "blob digest mismatch " + d
    return data
assert json.load(open(os.path.join(lay, "oci-layout")))["imageLayoutVersion"] == "1.0.0"
idx = json.load(open(os.path.join(lay, "index.json")))
tags = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
assert version in tags, tags.keys()
man = json.loads(blob(tags[version]["digest"]))
cfg = json.loads(blob(man["config"]["digest"]))
c = cfg["config"]
assert c["Entrypoint"] == ["/usr/local/bin/tsarc"], c["Entrypoint"]
user = c["User"].split(":")
assert user[0].isdigit() and int(user[0]) != 0, c["User"]
env = dict(e.split("=", 1) for e in c["Env"])
assert env["TMPDIR"] == "/tmp" and env["HOME"] == "/tmp", env
lab = c["Labels"]
assert lab["org.opencontainers.image.version"] == version, lab
for k in ("org.opencontainers.image.source", "org.opencontainers.image.licenses",
          "org.opencontainers.image.revision", "io.tsarc.kubectl.version"):
    assert lab.get(k), k
assert cfg["architecture"] == "amd64" and cfg["os"] == "linux", cfg
names = set()
for layer in man["layers"]:
    with tarfile.open(fileobj=gzip.GzipFile(fileobj=__import__("io").BytesIO(blob(layer["digest"])))) as t:
        names |= {m.name.lstrip("./") for m in t.getmembers()}
for need in ("usr/local/bin/tsarc", "usr/local/bin/kubectl", "usr/bin/mysqldump", "usr/bin/pg_dump",
             "usr/bin/redis-cli", "usr/bin/redis-server", "usr/bin/valkey-server", "usr/bin/tar",
             "etc/ssl/certs/ca-certificates.crt"):
    assert need in names, need + " not in the image"
PY
cmp -s "$ROOTFS/usr/local/bin/tsarc" "$TSARC" || fail "the image's tsarc is not the one under test"

info "an arbitrary UID, read-only root: version, --help, the clients"
uid=1000650000:0
"$IN_IMAGE" "$ROOTFS" "$uid" tsarc version >"$OUT" 2>"$ERR" || fail "tsarc version in the image: $(cat "$ERR")"
grep -q "^tsarc $version " "$OUT" || fail "tsarc version printed: $(cat "$OUT")"
"$IN_IMAGE" "$ROOTFS" "$uid" tsarc --help >"$OUT" 2>&1 || fail "tsarc --help in the image"
grep -q "Usage: tsarc COMMAND" "$OUT" || fail "no usage from --help"
for c in "mysqldump --version" "mysql --version" "pg_dump --version" "pg_dumpall --version" "psql --version" \
	"redis-cli --version" "redis-server --version" "valkey-server --version" "tar --version" \
	"kubectl version --client"; do
	# shellcheck disable=SC2086
	"$IN_IMAGE" "$ROOTFS" "$uid" $c >"$OUT" 2>&1 || fail "$c in the image: $(cat "$OUT")"
done
"$IN_IMAGE" "$ROOTFS" "$uid" sh -c 'touch /usr/local/bin/x' >"$OUT" 2>&1 && fail "the image's root is writable"
grep -q "Read-only file system" "$OUT" || fail "writing to the root: $(cat "$OUT")"

info "an arbitrary UID: a repository round trip through TMPDIR only"
mkdir -p "$WORK/uid"
chown 1000650000:0 "$WORK/uid"
"$TSARC_GEN_DUMP" 4M --seed 7 >"$WORK/uid/in.sql"
chmod 0644 "$WORK/uid/in.sql"
IMAGE_BINDS=$WORK/uid TSARC_REPOSITORY=$WORK/uid/repo TSARC_PASSWORD=image-test \
	"$IN_IMAGE" "$ROOTFS" "$uid" sh -c '
	set -e
	tsarc init --quiet
	tsarc backup --stdin --name in.sql --kind mysql --quiet <"$0"
	tsarc dump latest in.sql >/tmp/out.sql
	cmp /tmp/out.sql "$0"
	tsarc check --read-data --quiet
	echo round-trip-ok' "$WORK/uid/in.sql" >"$OUT" 2>"$ERR" || fail "round trip under an arbitrary UID: $(cat "$ERR")"
grep -q round-trip-ok "$OUT" || fail "round trip under an arbitrary UID: $(cat "$OUT" "$ERR")"

info "the demo deployment backed up, destroyed and restored with the image's tools"
cat >"$WORK/tsarc-in-image" <<SH
#!/bin/sh
IMAGE_BINDS=$WORK exec "$IN_IMAGE" "$ROOTFS" 0:0 tsarc "\$@"
SH
chmod +x "$WORK/tsarc-in-image"
TSARC=$WORK/tsarc-in-image
# The demo's Redis servers run the image's redis-server (8): the restore's
# RDB swap restarts them with it (the image's tsarc runs its own), and
# Redis 8's DEBUG DIGEST of a sorted set is not Redis 7.0's for the same
# members and scores (it writes a score another way): so both sides of the
# comparison come from one server.
mkdir "$WORK/image-bin"
cat >"$WORK/image-bin/redis-server" <<SH
#!/bin/sh
IMAGE_BINDS=$WORK exec "$IN_IMAGE" "$ROOTFS" 0:0 redis-server "\$@"
SH
chmod +x "$WORK/image-bin/redis-server"
PATH=$WORK/image-bin:$PATH backup_demo
demo_redis system-redis INFO server | grep -q '^redis_version:8\.' ||
	fail "the demo's system-redis is not the image's Redis 8"
state "$WORK/before"
destroy
ok restore "$SNAP" --repo "$REPO" --config "$WORK/config.json" --json
state "$WORK/after"
diff "$WORK/before" "$WORK/after" >&2 || fail "the deployment restored by the image differs from the backup"
python3 - "$OUT" <<'PY' || fail "the restore report is wrong"
import json, sys
d = json.load(open(sys.argv[1]))
st = {s["component"]: s["status"] for s in d["steps"]}
want = {"secrets", "configmaps", "apimanager", "system-mysql", "system-storage", "zync-database",
        "backend-redis", "system-redis"}
assert want <= set(st), st
assert all(st[c] == "applied" for c in want), st
PY
info "OK"
