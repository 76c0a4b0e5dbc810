#!/usr/bin/env bash
# The RDB swap of a Redis in its pod (3scale's in-pod backend-redis),
# through tests/deploy/fake-kubectl (a TEST DOUBLE of kubectl: `exec` runs
# here, a rollout of the pod rewrites the local server's persistence and
# memory lines from the redis-config ConfigMap and restarts it). The
# server's redis-config limits it to 2 MB (noeviction, then allkeys-lru);
# the backup holds some 6 MB in memory in an RDB of some 67 kB (values of
# one repeated byte, which the RDB's LZF shrinks).
#
# A snapshot that records nothing of the source's memory (an older tsarc):
# the check before the swap has only the RDB's size, lets it through, and
# the server, started on the backup's RDB, is over its maxmemory (or has
# evicted keys). The step then puts the pod's own files back while the
# server still runs there (on the backup's data, persistence off), puts
# redis-config back and rolls out again. Proven: the restore fails saying
# so; the server holds exactly its own keys, with its own persistence and
# limit, and its dump.rdb none of the backup's; redis-config is the
# original byte for byte, without tsarc's annotation; no file of the swap
# is left in the data directory; the rollouts were persistence off, the
# backup's RDB, the put-back.
#
# A pod backup (redis-cli --rdb) records the source's memory as tsarc's
# own client does (before, nothing: the swap above ran, restarts and all,
# and only the check after the load caught it). Its restore into the pod
# is refused before anything is touched: no rollout, no file written, the
# error naming the recorded need; and so is its plan into a server tsarc's
# own client reaches (a plan runs nothing in a pod).
. "$(dirname "$0")/lib.sh"
: "${TSARC_FORGE_SNAPSHOT:?set TSARC_FORGE_SNAPSHOT to the tsarc-forge-snapshot binary}"
tsarc_repo

# The source ("zip", in pod src-redis) and the target ("kpod", in pod
# backend-redis, started from redis-config).
zip_server zip
redis_up kpod

KDIR=$WORK/kube
mkdir -p "$KDIR/resources/configmap"
export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale
FAKE_KUBECTL=$TOP/tests/deploy/fake-kubectl
python3 - "$KDIR/pods.json" "$WORK" "$ADMIN_PW" <<'PY'
import json, sys
out, services, pw = sys.argv[1:]
def pod(name, server):
    spec = {"services": services, "name": server, "config_map": "redis-config", "key": "redis.conf"}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name + "-1-abcde", "namespace": "3scale", "labels": {"deployment": name},
                         "annotations": {"fake-kubectl/redis": json.dumps(spec)}},
            "spec": {"containers": [{"name": "backend-redis",
                                     "env": [{"name": "REDIS_PASSWORD", "value": pw}]}]},
            "status": {"phase": "Running"}}
json.dump({"apiVersion": "v1", "kind": "List",
           "items": [pod("src-redis", "zip"), pod("backend-redis", "kpod")]}, open(out, "w"))
PY
# The cluster's identity, which a backup records.
echo '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": "test CA"}}' |
	"$FAKE_KUBECTL" -n 3scale apply -f - >/dev/null || fail "test setup: cannot write kube-root-ca.crt"
# redis_config POLICY: redis-config as the operator writes it (through
# the double's apply: the form it stores), with persistence of its own and
# a limit of 2 MB under POLICY, a copy in $WORK/redis-config.orig; the
# target's pod restarted on it, as its Deployment started it.
CM=$KDIR/resources/configmap/redis-config.json
redis_config() {
	python3 -c 'import json, sys; print(json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
	    "metadata": {"name": "redis-config"}, "data": {"redis.conf": "protected-mode no\nsave 900 1\n"
	    "save 300 10\nappendonly yes\nmaxmemory 2mb\nmaxmemory-policy %s\n" % sys.argv[1]}}))' "$1" |
		"$FAKE_KUBECTL" -n 3scale apply -f - >/dev/null || fail "test setup: cannot write redis-config"
	cp "$CM" "$WORK/redis-config.orig"
	"$FAKE_KUBECTL" -n 3scale rollout restart deployment/backend-redis >/dev/null ||
		fail "test setup: the target's pod did not start on redis-config"
	: > "$KDIR/rollouts.log"
	[ "$(rcli "$PORT_KPOD" CONFIG GET maxmemory | tail -1)" = 2097152 ] &&
		[ "$(rcli "$PORT_KPOD" CONFIG GET maxmemory-policy | tail -1)" = "$1" ] ||
		fail "test setup: the target's pod does not run with redis-config's limit"
}

# kube_config FILE WORKLOAD PORT: backend-redis in pod WORKLOAD, its
# server on PORT, the RDB swapped in through redis-config.
kube_config() {
	python3 - "$@" "$FAKE_KUBECTL" <<'PY'
import json, sys
path, workload, port, kubectl = sys.argv[1:]
json.dump({"profile": "none",
           "transport": {"type": "kube", "binary": kubectl, "namespace": "3scale",
                         "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE"]},
           "components": {"backend-redis": {
               "kind": "redis", "external": False, "workload": workload, "container": "backend-redis",
               "port": int(port), "pod_password_env": "REDIS_PASSWORD", "stream": "backend-redis.rdb",
               "restore": {"action": "redis-rdb", "order": 70, "config_map": "redis-config",
                           "rollout": workload}}}}, open(path, "w"), indent=2)
PY
}
kube_config "$WORK/src.json" src-redis "$PORT_ZIP"
kube_config "$WORK/dst.json" backend-redis "$PORT_KPOD"

# own: the target's own keys, small, saved by its AOF (FLUSHDB: an AOF
# that replays FLUSHALL at start saves an empty dump.rdb, which would hide
# whatever was in it).
own() {
	rcli "$PORT_KPOD" FLUSHDB >/dev/null
	for i in $(seq 10); do echo "SET dst:$i own$i"; done | rcli "$PORT_KPOD" >/dev/null
}
# leftovers: the swap's files left in the target's data directory.
leftovers() {
	ls "$WORK/redis-kpod" | grep -e '-old\.' -e '\.tsarc-incoming$'
}

info "pod backups of the compressible source"
SNAP=$(backup_id "$WORK/src.json" b1) || exit 1
"$TSARC" show "$SNAP" --repo "$REPO" --json > "$WORK/s.json" || fail "show $SNAP"

info "a snapshot without the source's memory: the server over its limit once loaded, its own state put back"
# As an older tsarc wrote it (a second backup: the forge replaces the
# snapshot it copies).
SNAP_OLD=$(unrecorded "$(backup_id "$WORK/src.json" b2)" older 1048576) || exit 1
for policy in noeviction allkeys-lru; do
	redis_config "$policy"
	own
	keys_dump "$PORT_KPOD" > "$WORK/before.keys"
	RC=0
	"$TSARC" restore "$SNAP_OLD" --config "$WORK/dst.json" --repo "$REPO" > "$WORK/r.out" 2> "$WORK/r.err" || RC=$?
	err=$(grep -v '^  ' "$WORK/r.err")
	keys_dump "$PORT_KPOD" > "$WORK/after.keys"
	[ "$RC" -ne 0 ] || fail "$policy: a data set of 6 MB swapped into a pod whose maxmemory is 2 MB ($(grep -c "^db0 b'zip:" "$WORK/after.keys") of its 1000 keys there)"
	grep -q "maxmemory" "$WORK/r.err" || fail "$policy: the error does not name maxmemory: $err"
	grep -q "own files and configuration were put back" "$WORK/r.err" ||
		fail "$policy: the error does not say the server's files and configuration were put back: $err"
	cmp -s "$WORK/before.keys" "$WORK/after.keys" ||
		fail "$policy: the server does not hold exactly its own keys again ($(grep -c . "$WORK/after.keys") keys, $(grep -c "^db0 b'zip:" "$WORK/after.keys") of the backup's): $err"
	cmp -s "$WORK/redis-config.orig" "$CM" || fail "$policy: redis-config is not the original: $(diff "$WORK/redis-config.orig" "$CM")"
	! grep -q 'tsarc/original-redis-config' "$CM" || fail "$policy: redis-config still carries tsarc's annotation"
	[ "$(rcli "$PORT_KPOD" CONFIG GET save | tail -1)" = "900 1 300 10" ] &&
		[ "$(rcli "$PORT_KPOD" CONFIG GET appendonly | tail -1)" = yes ] &&
		[ "$(rcli "$PORT_KPOD" CONFIG GET maxmemory | tail -1)" = 2097152 ] ||
		fail "$policy: the server does not run with its own persistence and limit: $(rcli "$PORT_KPOD" CONFIG GET save) $(rcli "$PORT_KPOD" CONFIG GET appendonly)"
	[ -z "$(leftovers)" ] || fail "$policy: files of the swap left in the data directory: $(leftovers)"
	# Nor did the server stopped on the backup's data save it over them.
	! grep -qa 'zip:' "$WORK/redis-kpod/dump.rdb" 2>/dev/null || fail "$policy: the server's dump.rdb holds the backup's keys"
	python3 - "$KDIR/rollouts.log" "$WORK/redis-config.orig" <<'PY' || fail "$policy: the rollouts are not persistence off, the backup's RDB, the put-back"
import json, re, sys
rolls = [json.loads(l) for l in open(sys.argv[1])]
orig = json.load(open(sys.argv[2]))["data"]["redis.conf"]
active = lambda t: [l.strip() for l in t.splitlines() if re.match(r"\s*(save|appendonly)(\s|$)", l)]
assert [r["workload"] for r in rolls] == ["backend-redis"] * 3, rolls
for r in rolls[:2]:  # persistence off, then the backup's RDB
    assert active(r["config_map"]) == ['save ""', "appendonly no"], r["config_map"]
    assert r["annotations"].get("tsarc/original-redis-config") == orig, r["annotations"]
assert rolls[2]["config_map"] == orig and not rolls[2]["annotations"], rolls[2]
PY
	# The server keeps its own data across its next restart (its AOF whole).
	rcli "$PORT_KPOD" SET dst:after 1 | grep -q OK || fail "$policy: the server refuses writes"
	keys_dump "$PORT_KPOD" > "$WORK/written.keys"
	"$FAKE_KUBECTL" -n 3scale rollout restart deployment/backend-redis >/dev/null || fail "$policy: the pod did not restart"
	keys_dump "$PORT_KPOD" > "$WORK/restarted.keys"
	cmp -s "$WORK/written.keys" "$WORK/restarted.keys" || fail "$policy: the server lost keys across its next restart"
done

info "a pod backup records the source's memory: the swap refused before the pod is touched"
# redis-cli --rdb in the pod records what the source holds in memory, as
# tsarc's own client does: the check before the swap then knows the need,
# and the server is neither restarted nor its files written.
own
keys_dump "$PORT_KPOD" > "$WORK/before.keys"
# dir_state: the data directory's files and their checksums (the server's log aside).
dir_state() {
	(cd "$WORK/redis-kpod" && find . -type f ! -name redis.log -print0 | sort -z | xargs -0 sha256sum)
}
dir_state > "$WORK/dir.before"
: > "$KDIR/rollouts.log"
RC=0
"$TSARC" restore "$SNAP" --config "$WORK/dst.json" --repo "$REPO" > "$WORK/r.out" 2> "$WORK/r.err" || RC=$?
err=$(grep -v '^  ' "$WORK/r.err")
recorded=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["streams"][0]["meta"].get("redis_used_memory_dataset"))' "$WORK/s.json")
[ "$RC" -ne 0 ] || fail "a data set of 6 MB swapped into a pod whose maxmemory is 2 MB (recorded need: $recorded)"
[ ! -s "$KDIR/rollouts.log" ] ||
	fail "the pod was rolled out $(grep -c . "$KDIR/rollouts.log") times: the swap was not refused before the server was touched (recorded need: $recorded): $err"
grep -q "recorded at backup" "$WORK/r.err" || fail "the error does not say the need was recorded at backup: $err"
grep -q "nothing was written" "$WORK/r.err" || fail "the error does not say nothing was written: $err"
keys_dump "$PORT_KPOD" > "$WORK/after.keys"
cmp -s "$WORK/before.keys" "$WORK/after.keys" || fail "the server's keys changed: $err"
dir_state > "$WORK/dir.after"
diff "$WORK/dir.before" "$WORK/dir.after" >&2 || fail "files of the data directory were written: $err"
cmp -s "$WORK/redis-config.orig" "$CM" || fail "redis-config was changed: $err"
# The plan refuses it too where tsarc's own client reaches the server (a
# swap here, its redis.conf limited to 2 MB): a plan runs nothing in a pod.
redis_up near "maxmemory 2mb" "maxmemory-policy noeviction"
redis_deployment near "redis://127.0.0.1:$PORT_NEAR/0" default "$ADMIN_PW" \
	"{\"mode\": \"rdb\", \"restore\": {\"action\": \"redis-rdb\", \"order\": 70, \"config_file\": \"$WORK/redis-near/redis.conf\"}}"
plan_refused "$SNAP" "$WORK/near/config.json" maxmemory \
	"the pod backup into a server of 2 MB (recorded need: $recorded)"

grep -q -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.out "$FAKE_KUBE_LOG" && fail "a password was printed or on kubectl's command line"
info "ok"
