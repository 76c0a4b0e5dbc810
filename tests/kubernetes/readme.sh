#!/usr/bin/env bash
# Runs the commands of README's "Run it in Kubernetes / OpenShift" section.
# No Kubernetes API server runs here, so kubectl is tests/deploy/fake_kubectl.c
# (a TEST DOUBLE: `apply -k`/`create -k` render with the real kubectl's
# kustomize and store the objects; `create secret generic` stores the
# Secret). Every command of the section's sh blocks is run, except those
# this test names: `bash ci/image.sh` (the image test runs it) and
# `skopeo copy ... docker://` (needs a registry). A command it does not know
# fails the test, so the README cannot gain an untested command unnoticed.
# Then the objects the commands created are checked.
# shellcheck disable=SC1091
. "$(dirname "$0")/../cli/lib.sh"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
fake_kubectl
real=$(command -v "${KUBECTL:-kubectl}") || fail "no kubectl (ci/deps.sh installs kubernetes-client)"
py=python3
"$py" -c 'import yaml' 2>/dev/null || py=/usr/bin/python3

mkdir -p "$WORK/bin" "$WORK/kube/resources" "$WORK/cwd"
cat >"$WORK/bin/kubectl" <<SH
#!/bin/sh
exec "$FAKE_KUBECTL" "\$@"
SH
chmod +x "$WORK/bin/kubectl"
echo '{"apiVersion": "v1", "kind": "List", "items": []}' >"$WORK/kube/pods.json"
export FAKE_KUBE_DIR=$WORK/kube FAKE_KUBE_NAMESPACE=3scale FAKE_KUBE_KUSTOMIZE=$real FAKE_KUBE_PYTHON=$py
ln -s "$TOP/deploy" "$WORK/cwd/deploy"
echo 'repository password' >"$WORK/cwd/repository-password"
printf '[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = example\n' >"$WORK/cwd/credentials"

"$py" - "$TOP/README.md" >"$WORK/commands" <<'PY' || fail "cannot read the README's commands"
import re, sys
text = open(sys.argv[1]).read()
sec = text.split("## Run it in Kubernetes / OpenShift", 1)[1].split("\n## ", 1)[0]
for block in re.findall(r"```sh\n(.*?)```", sec, re.S):
    block = block.replace("\\\n", " ")
    for line in block.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        if line and not line.startswith("#"):
            print(re.sub(r"\s+", " ", line))
PY
[ -s "$WORK/commands" ] || fail "no commands found in the README section"
ran=0
while IFS= read -r cmd; do
	case $cmd in
	"bash ci/image.sh"*) info "by the image test: $cmd"; continue ;;
	"skopeo copy "*" docker://"*) info "needs a registry, not run: $cmd"; continue ;;
	kubectl\ *) ;;
	*) fail "a README command this test does not know how to run: $cmd" ;;
	esac
	info "\$ $cmd"
	(cd "$WORK/cwd" && PATH=$WORK/bin:$PATH eval "$cmd") >"$OUT" 2>"$ERR" ||
		fail "README command failed: $cmd: $(cat "$ERR")"
	ran=$((ran + 1))
done <"$WORK/commands"
[ "$ran" -ge 5 ] || fail "only $ran README commands ran"

info "what the commands created in namespace 3scale"
"$py" - "$WORK/kube/resources" <<'PY' || fail "the README's commands did not create what they should"
import base64, json, os, sys
root = sys.argv[1]
def get(kind, name):
    with open(os.path.join(root, kind, name + ".json")) as f:
        return json.load(f)
for kind, name in [("cronjob", "tsarc-backup"), ("cronjob", "tsarc-retention"), ("cronjob", "tsarc-check"),
                   ("role", "tsarc-backup"), ("role", "tsarc-restore"), ("serviceaccount", "tsarc-backup"),
                   ("rolebinding", "tsarc-restore-write"), ("configmap", "tsarc-config"),
                   ("job", "tsarc-restore"), ("prometheusrule", "tsarc")]:
    o = get(kind, name)
    assert o["metadata"]["namespace"] == "3scale", (kind, name)
s = get("secret", "tsarc-repository")
assert base64.b64decode(s["data"]["password"]) == b"repository password\n", s
assert b"aws_access_key_id" in base64.b64decode(s["data"]["aws-credentials"]), s
vols = get("cronjob", "tsarc-backup")["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
assert {"name": "secret", "secret": {"secretName": "tsarc-repository", "defaultMode": 0o440}} in vols, vols
PY
info "OK"
