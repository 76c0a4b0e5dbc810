#!/usr/bin/env bash
# The RDB swap into a Redis in its pod that is older than the backup's
# RDB: 3scale 2.15's in-pod backend-redis (a Redis 6) as the target of a
# backup of a Redis 7.0, through tests/deploy/fake_kubectl.c (a TEST
# DOUBLE of kubectl: `exec` runs here with the pod's environment, whose
# PATH finds the Redis 6 of TSARC_TEST_REDIS6_ROOT, its redis-server and
# redis-check-rdb, as the pod's image would; a rollout restarts the local
# server there too).
#
# A pod backup (redis-cli --rdb in the pod) records its RDB's version,
# read from the RDB's head on its way into the stream, as tsarc's own
# client's backup does (before, nothing). The plan of its restore into
# the Redis 6 pod asks that server's version (redis-cli in its pod, INFO
# server, which only reads) and refuses the RDB version 10 it cannot load
# before any step writes: the deployment's configmaps step (order 20,
# before backend-redis) applies nothing, no rollout, the server's keys
# and files as they were; --dry-run says the same. Before, the plan ran
# nothing in the pod: the configmaps step put the backup's ConfigMap back,
# then the pod's redis-check-rdb refused the RDB at backend-redis's step:
# half restored.
#
# A Redis 6's own backup (version 9) goes into it: the plan says the
# server reads it, the swap runs (the restarted server is still the pod's
# Redis 6), and the pod holds the source's keys. A snapshot that records
# no version (an older tsarc) is planned with the comparison left to the
# step, and the plan says so.
. "$(dirname "$0")/lib.sh"
: "${TSARC_FORGE_SNAPSHOT:?set TSARC_FORGE_SNAPSHOT to the tsarc-forge-snapshot binary}"

need_root TSARC_TEST_REDIS6_ROOT
tsarc_repo
# Redis 6 has no PEXPIRETIME: keys are compared in what both versions show.
export KEYS_DUMP_ACROSS=1
# The pod's image: Redis 6's redis-server and redis-check-rdb, first in
# its PATH. The swap runs redis-check-rdb in the server's data folder (a
# relative file name): --here keeps it there.
R6BIN=$WORK/r6bin
root_tools "$R6BIN" "$TSARC_TEST_REDIS6_ROOT" redis-server redis-check-rdb:--here
"$R6BIN/redis-server" --version | grep -q ' v=6\.0\.' || fail "the root's redis-server is not Redis 6.0"

# Sources: a Redis 7.0 (this host's) in pod src-redis, a Redis 6 in pod
# src6-redis; the target, a Redis 6 in pod backend-redis.
redis_up r7
REDIS_SERVER=$R6BIN/redis-server REDIS_SERVER_6=1 redis_up r6
REDIS_SERVER=$R6BIN/redis-server REDIS_SERVER_6=1 redis_up kpod
for port in "$PORT_R7" "$PORT_R6"; do
	for i in $(seq 50); do echo "SET src:$port:$i value$i"; done | rcli "$port" >/dev/null
	rcli "$port" RPUSH src:list a b c >/dev/null
done
keys_dump "$PORT_R6" > "$WORK/r6.keys"

FAKE_KUBECTL=${TSARC_FAKE_KUBECTL:?set TSARC_FAKE_KUBECTL to the fake-kubectl binary}
KDIR=$WORK/kube
mkdir -p "$KDIR/resources/configmap"
export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale
python3 - "$KDIR/pods.json" "$WORK" "$ADMIN_PW" "$R6BIN:$PATH" <<'PY'
import json, sys
out, services, pw, r6path = sys.argv[1:]
def redis(name, server, path=None):
    env = [{"name": "REDIS_PASSWORD", "value": pw}]
    if path:
        env.append({"name": "PATH", "value": path})
    spec = {"services": services, "name": server, "config_map": "redis-config", "key": "redis.conf"}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name + "-1-abcde", "namespace": "3scale", "labels": {"deployment": name},
                         "annotations": {"fake-kubectl/redis": json.dumps(spec)}},
            "spec": {"containers": [{"name": "backend-redis", "env": env}]},
            "status": {"phase": "Running"}}
json.dump({"apiVersion": "v1", "kind": "List",
           "items": [redis("src-redis", "r7"), redis("src6-redis", "r6", r6path),
                     redis("backend-redis", "kpod", r6path)]}, open(out, "w"))
PY
echo '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": "test CA"}}' |
	"$FAKE_KUBECTL" -n 3scale apply -f - >/dev/null || fail "test setup: cannot write kube-root-ca.crt"
# app_config VALUE: the deployment's ConfigMap app-config, which the
# configmaps step restores before backend-redis.
app_config() {
	printf '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config"}, "data": {"value": "%s"}}' "$1" |
		"$FAKE_KUBECTL" -n 3scale apply -f - >/dev/null || fail "test setup: cannot write app-config"
}
app_value() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["value"])' \
		"$KDIR/resources/configmap/app-config.json"
}
app_config backed-up
# redis-config, as the operator writes it; the target's pod started on it.
printf '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "redis-config"}, "data": {"redis.conf": "save 900 1\\nappendonly no\\n"}}' |
	"$FAKE_KUBECTL" -n 3scale apply -f - >/dev/null || fail "test setup: cannot write redis-config"
"$FAKE_KUBECTL" -n 3scale rollout restart deployment/backend-redis >/dev/null ||
	fail "test setup: the target's pod did not start on redis-config"
[ "$(rcli "$PORT_KPOD" INFO server | sed -n 's/^redis_version:\([0-9.]*\).*/\1/p')" = 6.0.16 ] ||
	fail "test setup: the target's pod does not run the Redis 6 of its image after a rollout"

# kube_config FILE WORKLOAD PORT: configmaps (order 20, app-config), then
# backend-redis (70) in pod WORKLOAD, its server on PORT, the RDB swapped
# in through redis-config.
kube_config() {
	python3 - "$FAKE_KUBECTL" "$@" <<'PY'
import json, sys
kubectl, path, workload, port = sys.argv[1:5]
json.dump({"profile": "none",
           "transport": {"type": "kube", "binary": kubectl, "namespace": "3scale",
                         "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE"]},
           "components": {
               "configmaps": {"kind": "resources", "resource": "configmap", "names": ["app-config"],
                              "stream": "configmaps.json", "restore": {"action": "apply", "order": 20}},
               "backend-redis": {
                   "kind": "redis", "external": False, "workload": workload,
                   "container": "backend-redis", "port": int(port),
                   "pod_password_env": "REDIS_PASSWORD", "stream": "backend-redis.rdb",
                   "restore": {"action": "redis-rdb", "order": 70, "config_map": "redis-config",
                               "rollout": workload}}}}, open(path, "w"), indent=2)
PY
}
kube_config "$WORK/src7.json" src-redis "$PORT_R7"
kube_config "$WORK/src6.json" src6-redis "$PORT_R6"
kube_config "$WORK/dst.json" backend-redis "$PORT_KPOD"

info "pod backups record their RDB's version"
SNAP7=$(backup_id "$WORK/src7.json" b7) || exit 1
SNAP6=$(backup_id "$WORK/src6.json" b6) || exit 1
for snap in "$SNAP7:10" "$SNAP6:9"; do
	v=$(stream_meta "${snap%:*}" backend-redis.rdb redis_payload_version)
	[ "$v" = "${snap#*:}" ] ||
		fail "the pod backup ${snap%:*} records redis_payload_version $v, not ${snap#*:}"
done

info "Redis 7.0's RDB (10) into the Redis 6 pod: refused by the plan, nothing applied"
app_config since-backup
rcli "$PORT_KPOD" SET own:key 1 >/dev/null
keys_dump "$PORT_KPOD" > "$WORK/kpod.before"
# dir_state: the data directory's files and their checksums (the log aside).
dir_state() {
	(cd "$WORK/redis-kpod" && find . -type f ! -name redis.log -print0 | sort -z | xargs -0 sha256sum)
}
dir_state > "$WORK/dir.before"
: > "$KDIR/rollouts.log"
REFUSAL="component 'backend-redis'.*the backup's RDB is version 10.*Redis 6.0.16 in its pod, which reads RDB version 9 at most"
for dry in --dry-run ""; do
	RC=0
	"$TSARC" restore "$SNAP7" --config "$WORK/dst.json" --repo "$REPO" $dry > "$WORK/r.out" 2> "$WORK/r.err" || RC=$?
	err=$(grep -v '^  ' "$WORK/r.err")
	[ "$RC" -ne 0 ] || fail "restore $dry: RDB version 10 admitted into a Redis 6: $(cat "$WORK/r.out")"
	grep -q "$REFUSAL" "$WORK/r.err" || fail "restore $dry: the refusal does not match $REFUSAL: $err"
	grep -q "nothing was restored" "$WORK/r.err" || fail "restore $dry: the refusal does not say nothing was restored: $err"
	[ "$(app_value)" = since-backup ] || fail "restore $dry: the configmaps step applied app-config before the refusal (half restored): $err"
	[ ! -s "$KDIR/rollouts.log" ] || fail "restore $dry: the pod was rolled out: $err"
	keys_dump "$PORT_KPOD" > "$WORK/kpod.after"
	cmp -s "$WORK/kpod.before" "$WORK/kpod.after" || fail "restore $dry: the server's keys changed: $err"
	dir_state > "$WORK/dir.after"
	diff "$WORK/dir.before" "$WORK/dir.after" >&2 || fail "restore $dry: files of the data directory were written: $err"
done
# What the plan ran in the pod: redis-cli INFO server, nothing else.
python3 - "$FAKE_KUBE_LOG" <<'PY' || fail "the plan ran more than INFO server in the pod"
import json, re, sys
execs = [json.loads(l) for l in open(sys.argv[1]) if '"exec"' in l]
pod = [a for a in execs if "backend-redis-1-abcde" in a]
for a in pod:
    # sh -c SCRIPT: the pod's password variable, redis-cli, its address,
    # INFO server; the exit status after an end mark.
    assert a[a.index("--") + 1:a.index("--") + 3] == ["sh", "-c"], a
    assert re.fullmatch(r"""REDISCLI_AUTH="\$REDIS_PASSWORD" 'redis-cli'( '-[a-z]' '[0-9.]+')* """
                        r"""'INFO' 'server'; tsarc_s=\$\?; printf '[^']*' tsarc-end-[0-9a-f]+ "\$tsarc_s"; """
                        r'exit "\$tsarc_s"', a[-1]), a[-1]
assert len(pod) == 2, "the plans (--dry-run, the run) asked %d times in the pod" % len(pod)
PY

info "Redis 6's own RDB (9) into the Redis 6 pod: admitted, swapped, still a Redis 6"
RC=0
"$TSARC" restore "$SNAP6" --config "$WORK/dst.json" --repo "$REPO" --dry-run --json > "$WORK/plan.json" 2> "$WORK/plan.err" ||
	fail "the plan of Redis 6's RDB into the Redis 6 pod: $(cat "$WORK/plan.err")"
grep -q "version 9, which Redis 6.0.16 in its pod reads" "$WORK/plan.json" ||
	fail "the plan does not say the pod's server reads the RDB: $(cat "$WORK/plan.json")"
"$TSARC" restore "$SNAP6" --config "$WORK/dst.json" --repo "$REPO" > "$WORK/r.out" 2> "$WORK/r.err" ||
	fail "Redis 6's RDB into the Redis 6 pod: $(cat "$WORK/r.err")"
keys_dump "$PORT_KPOD" > "$WORK/kpod.keys"
diff "$WORK/r6.keys" "$WORK/kpod.keys" > "$WORK/keys.diff" || fail "the pod's keys differ: $(head -5 "$WORK/keys.diff")"
[ "$(app_value)" = backed-up ] || fail "the configmaps step did not restore app-config"
[ "$(rcli "$PORT_KPOD" INFO server | sed -n 's/^redis_version:\([0-9.]*\).*/\1/p')" = 6.0.16 ] ||
	fail "the pod does not run its Redis 6 after the swap"

info "a snapshot that records no RDB version: left to the step, and the plan says so"
# As an older tsarc wrote it (the forge replaces the snapshot it copies,
# and rewrites its first stream: backend-redis alone here).
for c in src7 dst; do
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1])); del d["components"]["configmaps"]
json.dump(d, open(sys.argv[2], "w"))' "$WORK/$c.json" "$WORK/$c-alone.json"
done
SNAP_OLD=$(backup_id "$WORK/src7-alone.json" b7old) || exit 1
"$TSARC" show "$SNAP_OLD" --repo "$REPO" --json > "$WORK/old.json" || fail "show $SNAP_OLD"
python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
s = d["streams"][0]
assert s["name"] == "backend-redis.rdb", s["name"]
m = dict(s["meta"]); m.pop("redis_payload_version")
print(d["host"]); print(json.dumps(m))' "$WORK/old.json" > "$WORK/old.args" || fail "the snapshot records no version"
mapfile -t forge < "$WORK/old.args"
SNAP_OLD=$(TSARC_REPOSITORY=$REPO "$TSARC_FORGE_SNAPSHOT" "$SNAP_OLD" "${forge[0]}" older backend-redis.rdb "${forge[1]}") ||
	fail "tsarc-forge-snapshot"
"$TSARC" restore "$SNAP_OLD" --config "$WORK/dst-alone.json" --repo "$REPO" --dry-run --json > "$WORK/plan.json" 2> "$WORK/plan.err" ||
	fail "the plan of a snapshot without the RDB's version: $(cat "$WORK/plan.err")"
grep -q "the snapshot does not record the RDB's version" "$WORK/plan.json" ||
	fail "the plan does not say the version is not recorded: $(cat "$WORK/plan.json")"
info "ok"
