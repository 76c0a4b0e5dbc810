#!/usr/bin/env bash
# A restore's input into a pod, cut on the way. Through kubectl the
# consumer runs in the pod, out of reach of the signal tsarc sends to a
# failing consumer: a lost connection, or kubectl killed after a store
# error, only ends the pod command's stdin. The consumer here (an exec
# component's restore.command, run by tests/deploy/fake_kubectl.c, a TEST
# DOUBLE that runs the pod's command on this machine, in its own session
# as a pod's would be) commits only at a clean end of its input, as mysql,
# psql and tar take one for the end of the dump. Proved: a whole stream
# arrives exactly; a stream cut mid-way (the connection lost after N
# bytes; kubectl killed after an unreadable chunk) leaves the consumer
# stopped, never committed, and the step reported failed; a connection
# lost after the whole input (kubectl exits 0) fails the step too.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

REPO=$WORK/repo
init_repo "$REPO" --format 1 # chunk files damaged below (lib_chunk.sh)
fake_pod
OUTF=$WORK/blob.out
python3 - "$WORK/kube.json" "$FAKE_KUBECTL" "$OUTF" <<'PY'
import json, sys
path, kubectl, out = sys.argv[1:]
commit = ["sh", "-c", 'cat > "$0.part" && mv "$0.part" "$0"']
json.dump({"profile": "none",
  "transport": {"type": "kube", "binary": kubectl, "namespace": "3scale",
                "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE", "FAKE_KUBE_EXEC_STDIN_MAX",
                             "FAKE_KUBE_EXEC_STDOUT_MAX"]},
  "components": {
    "blob": {"kind": "exec", "workload": "system-app", "container": "system-master",
             "script": "seq 1 1500000", "restore": {"command": commit + [out]}},
    "empty": {"kind": "exec", "workload": "system-app", "container": "system-master",
              "script": "true", "restore": {"command": commit + [out + ".empty"]}}}},
  open(path, "w"), indent=2)
PY
ok backup --repo "$REPO" --config "$WORK/kube.json" --json
SNAP=$(json_get "$OUT" "d['snapshot_id']")
seq 1 1500000 >"$WORK/blob.want"

# step_status: the blob step's status in the last --json report
step_status() { json_get "$OUT" "[s['status'] for s in d['steps'] if s['component'] == 'blob'][0]"; }
# blob_restore_fails MAX WHAT MESSAGE: a restore of the blob stream, the
# double's kubectl relaying at most MAX bytes of its input, fails (a
# restore WHAT); the pod's consumer took no partial stream for a whole one
# (committed nothing), the step is reported failed, stderr says MESSAGE.
blob_restore_fails() {
	FAKE_KUBE_EXEC_STDIN_MAX=$1 t restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --only blob --json
	[ "$RC" -ne 0 ] || fail "a restore $2 succeeded"
	[ -e "$OUTF" ] && fail "a restore $2: the pod's consumer committed a partial stream"
	[ "$(step_status)" = failed ] || fail "a restore $2: the step is not reported failed"
	expect_err "$3" "a restore $2"
}

info "a whole stream arrives exactly, an empty one too"
ok restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --json
cmp "$WORK/blob.want" "$OUTF" || fail "the restored stream differs"
[ -f "$OUTF.empty" ] && [ ! -s "$OUTF.empty" ] || fail "the empty stream was not restored as empty"
rm -f "$OUTF" "$OUTF.empty"

info "the connection lost mid-stream: the pod's consumer is stopped, the step failed"
blob_restore_fails 300000 "whose input was cut" "input ended before tsarc sent all of it"

info "the connection lost once the input was sent, kubectl exits 0: the step failed"
# (kubernetes/kubectl#1208, #1726): whether the pod's consumer then
# succeeded is unknown, so it is not reported applied.
FAKE_KUBE_EXEC_STDOUT_MAX=0 t restore "$SNAP" --repo "$REPO" --config "$WORK/kube.json" --only blob --json
[ "$RC" -ne 0 ] || fail "a restore whose kubectl lost its connection succeeded"
[ "$(step_status)" = failed ] || fail "a lost connection: the step is not reported failed"
expect_err "before the command's end mark" "a lost connection"
sleep 1
rm -f "$OUTF"

info "kubectl killed after an unreadable chunk: the pod's consumer is stopped too"
unreadable_last_chunk "$REPO" "$SNAP" blob.dump
# The whole input relayed (no cut by the double): only tsarc's kill of
# kubectl ends it.
blob_restore_fails 1000000000 "with an unreadable chunk" "stopped before the end of its input"
info "OK"
