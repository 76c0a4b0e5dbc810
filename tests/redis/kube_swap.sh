#!/usr/bin/env bash
# The RDB swap of a Redis in its pod (3scale's in-pod backend-redis),
# through tests/deploy/fake_kubectl.c (a TEST DOUBLE of kubectl: `exec` runs
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
# error naming the recorded need.
#
# The plan of a swap into a pod compares that need with redis-config's
# maxmemory, read through the API (the plan asks a server in its pod
# only INFO server, and after this check). A deployment in the 3scale
# profile's order, configmaps (20, redis-config) and system-mysql (40, in its pod, a real MariaDB) before
# backend-redis: its restore, and --dry-run, are refused at plan time,
# naming the component, the need and the limit, with nothing run in a pod
# but the plan's questions to system-mysql's server (its pod's mysql for
# one SELECT, WITH or SHOW, which only reads), the database's row as it
# was, no rollout and redis-config unchanged
# (before, system-mysql was replaced, then the swap refused: half
# restored); also where redis-config was raised since the backup: the
# configmaps step would put the snapshot's limit back before the swap,
# and the plan judges that one. The plan says what it compared and what
# only the run can (the server's own use, its dir and dbfilename), that
# an unrecorded need is the RDB's size, a low estimate, and that it
# cannot read what redis-config includes (a file in the pod): the run
# decides.
. "$(dirname "$0")/lib.sh"
: "${TSARC_FORGE_SNAPSHOT:?set TSARC_FORGE_SNAPSHOT to the tsarc-forge-snapshot binary}"
tsarc_repo

# The source ("zip", in pod src-redis) and the target ("kpod", in pod
# backend-redis, started from redis-config).
zip_server zip
redis_up kpod

FAKE_KUBECTL=${TSARC_FAKE_KUBECTL:?set TSARC_FAKE_KUBECTL to the fake-kubectl binary}
KDIR=$WORK/kube
mkdir -p "$KDIR/resources/configmap"
export FAKE_KUBE_DIR=$KDIR FAKE_KUBE_LOG=$WORK/kubectl.log FAKE_KUBE_NAMESPACE=3scale
# system-mysql's root password (its MariaDB is started where it is used).
MYSQL_PW="my-$TEST_NAME-Tq4vB8"
python3 - "$KDIR/pods.json" "$WORK" "$ADMIN_PW" "$MYSQL_PW" <<'PY'
import json, sys
out, services, pw, mysql_pw = sys.argv[1:]
def pod(name, container, env, annotations):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name + "-1-abcde", "namespace": "3scale", "labels": {"deployment": name},
                         "annotations": annotations},
            "spec": {"containers": [{"name": container,
                                     "env": [{"name": k, "value": v} for k, v in env.items()]}]},
            "status": {"phase": "Running"}}
def redis(name, server):
    spec = {"services": services, "name": server, "config_map": "redis-config", "key": "redis.conf"}
    return pod(name, "backend-redis", {"REDIS_PASSWORD": pw}, {"fake-kubectl/redis": json.dumps(spec)})
json.dump({"apiVersion": "v1", "kind": "List",
           "items": [redis("src-redis", "zip"), redis("backend-redis", "kpod"),
                     pod("system-mysql", "system-mysql", {"MYSQL_ROOT_PASSWORD": mysql_pw}, {})]},
          open(out, "w"))
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

# kube_config FILE WORKLOAD PORT [MYSQL_SOCKET]: backend-redis in pod
# WORKLOAD, its server on PORT, the RDB swapped in through redis-config;
# with MYSQL_SOCKET, the 3scale profile's steps before it, in its order:
# configmaps (20, redis-config) and system-mysql (40, in pod
# system-mysql, its server on that socket).
kube_config() {
	python3 - "$FAKE_KUBECTL" "$@" <<'PY'
import json, sys
kubectl, path, workload, port = sys.argv[1:5]
comps = {"backend-redis": {
    "kind": "redis", "external": False, "workload": workload, "container": "backend-redis",
    "port": int(port), "pod_password_env": "REDIS_PASSWORD", "stream": "backend-redis.rdb",
    "restore": {"action": "redis-rdb", "order": 70, "config_map": "redis-config", "rollout": workload}}}
if len(sys.argv) > 5:
    comps["configmaps"] = {"kind": "resources", "resource": "configmap", "names": ["redis-config"],
                           "stream": "configmaps.json", "restore": {"action": "apply", "order": 20}}
    comps["system-mysql"] = {
        "kind": "mysql", "external": False, "workload": "system-mysql", "container": "system-mysql",
        "socket": sys.argv[5], "user": "root", "database": "system",
        "pod_password_env": "MYSQL_ROOT_PASSWORD", "stream": "system-mysql.sql",
        "restore": {"action": "sql", "order": 40, "tool": "mysql", "command": ["mysql", "-uroot", "system"],
                    "pod_password_env": "MYSQL_ROOT_PASSWORD", "clean": True}}
json.dump({"profile": "none",
           "transport": {"type": "kube", "binary": kubectl, "namespace": "3scale",
                         "pass_env": ["FAKE_KUBE_DIR", "FAKE_KUBE_LOG", "FAKE_KUBE_NAMESPACE"]},
           "components": comps}, open(path, "w"), indent=2)
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

info "a deployment: configmaps and system-mysql before the pod's swap, refused at plan time with nothing run"
bash "$SERVICES" start-mysql "$WORK" "$MYSQL_PW" > "$WORK/mysql.log" 2>&1 || fail "MariaDB did not start: $(cat "$WORK/mysql.log")"
MYSQL_SOCK=$WORK/mysql/mysqld.sock
# sql QUERY: run by root on system-mysql's server.
sql() {
	MYSQL_PWD=$MYSQL_PW mariadb --no-defaults -uroot -S "$MYSQL_SOCK" -N -B -e "$1"
}
sql "CREATE DATABASE system; CREATE TABLE system.accounts (id INT PRIMARY KEY, domain VARCHAR(64));
	INSERT INTO system.accounts VALUES (1, 'backup.example.com')" || fail "test setup: cannot fill system-mysql"
kube_config "$WORK/dep-src.json" src-redis "$PORT_ZIP" "$MYSQL_SOCK"
kube_config "$WORK/dep-dst.json" backend-redis "$PORT_KPOD" "$MYSQL_SOCK"
SNAP_DEP=$(backup_id "$WORK/dep-src.json" dep) || exit 1
need=$(stream_meta "$SNAP_DEP" backend-redis.rdb redis_used_memory_dataset)
sql "UPDATE system.accounts SET domain = 'since.example.com'" || fail "test setup: cannot change system-mysql"
redis_config noeviction
# execs_since N: the kubectl execs after the first N calls of the log but
# the plan's questions to a SQL server (a client run for one SELECT, WITH
# or SHOW statement, which only reads: db.c plan_server_check) and to the
# Redis in its pod (redis-cli for INFO server: its version, whether it
# reads the backup's RDB), a status of 1 when there are none.
execs_since() {
	tail -n +"$(($1 + 1))" "$FAKE_KUBE_LOG" | grep '"exec"' |
		grep -vE "'-e' '(SELECT|WITH|SHOW) [^;]*'; tsarc_s=" |
		grep -vE "\"REDISCLI_AUTH=\\\\\"[\$]REDIS_PASSWORD\\\\\" 'redis-cli' '-p' '[0-9]+' 'INFO' 'server'; tsarc_s="
}
# refused_at_plan WHAT LIMIT_FROM [--dry-run]: the restore of SNAP_DEP
# into the deployment refused by its plan: backend-redis, its recorded
# need and the pod's limit named, and where the limit comes from
# (LIMIT_FROM, grep); nothing run in a pod but the plan's questions, the
# row as it was, no rollout, redis-config as it was.
refused_at_plan() {
	local what=$1 from=$2 rc=0 err calls
	shift 2
	: > "$KDIR/rollouts.log"
	cp "$CM" "$WORK/cm.before"
	calls=$(grep -c . "$FAKE_KUBE_LOG")
	"$TSARC" restore "$SNAP_DEP" --config "$WORK/dep-dst.json" --repo "$REPO" "$@" \
		> "$WORK/dep.out" 2> "$WORK/dep.err" || rc=$?
	err=$(grep -v '^  ' "$WORK/dep.err")
	[ "$rc" -ne 0 ] || fail "$what: not refused, a data set of 6 MB (recorded need: $need) into a pod whose maxmemory is 2 MB"
	[ "$(sql 'SELECT domain FROM system.accounts')" = since.example.com ] ||
		fail "$what: system-mysql was restored before the swap was refused (half restored): $err"
	! execs_since "$calls" ||
		fail "$what: commands ran in a pod before the refusal: $(execs_since "$calls" | cut -c1-300)"
	grep -q "component 'backend-redis'" "$WORK/dep.err" || fail "$what: the refusal does not name backend-redis: $err"
	grep -q "recorded at backup" "$WORK/dep.err" || fail "$what: the refusal does not name the recorded need: $err"
	grep -q "maxmemory of 2.0 MiB" "$WORK/dep.err" || fail "$what: the refusal does not name redis-config's limit: $err"
	grep -q -- "$from" "$WORK/dep.err" || fail "$what: the refusal does not say the limit comes from $from: $err"
	[ ! -s "$KDIR/rollouts.log" ] || fail "$what: the pod was rolled out: $err"
	cmp -s "$WORK/cm.before" "$CM" || fail "$what: redis-config was changed: $err"
}
refused_at_plan "the restore" "(restarted with redis-config as step configmaps applies it first"
refused_at_plan "the plan (--dry-run)" "(restarted with redis-config as step configmaps" --dry-run
# redis-config raised to 64 MB since the backup: the configmaps step puts
# the snapshot's 2 MB back before the swap reads it, and the plan judges
# that one (the cluster's, judged instead, would let the restore run
# into the same refusal at the swap).
python3 - "$CM" <<'PY'
import json, sys
cm = json.load(open(sys.argv[1]))
cm["data"]["redis.conf"] = cm["data"]["redis.conf"].replace("maxmemory 2mb", "maxmemory 64mb")
json.dump(cm, open(sys.argv[1], "w"))
PY
refused_at_plan "the restore, redis-config raised since the backup" "as step configmaps applies it first (the snapshot's)"
cp "$WORK/redis-config.orig" "$CM"

info "the plan of a pod's swap says what it compared, and what the run checks"
# plan_says SNAP WHAT PATTERN...: the plan of SNAP into the pod
# (--dry-run, nothing run in a pod but the plan's questions) is made, its
# backend-redis
# redis_memory, a newline and redis_swap_config matching every PATTERN
# (python re: ^ is the start of redis_memory); redis-config read once
# from the API server (the check and the plan's words are one).
plan_says() {
	local snap=$1 what=$2 calls reads
	shift 2
	calls=$(grep -c . "$FAKE_KUBE_LOG")
	"$TSARC" restore "$snap" --config "$WORK/dst.json" --repo "$REPO" --dry-run --json \
		> "$WORK/plan.json" 2> "$WORK/plan.err" || fail "$what: the plan was refused: $(cat "$WORK/plan.err")"
	! execs_since "$calls" || fail "$what: the plan ran commands in a pod: $(execs_since "$calls" | cut -c1-300)"
	reads=$(tail -n +"$((calls + 1))" "$FAKE_KUBE_LOG" | grep -c '"get", "configmap", "redis-config"')
	[ "$reads" -eq 1 ] || fail "$what: the plan read redis-config $reads times, not once"
	python3 - "$WORK/plan.json" "$@" <<'PY' || fail "$what: the plan's memory and swap lines: $(cat "$WORK/plan.json")"
import json, re, sys
p = [s for s in json.load(open(sys.argv[1]))["steps"] if s["component"] == "backend-redis"][0]["plan"]
said = p["redis_memory"] + "\n" + p["redis_swap_config"]
for pat in sys.argv[2:]:
    assert re.search(pat, said), (pat, said)
PY
}
# Without the record (an older tsarc): the RDB's size, said to be low.
# What the run alone compares: the dir and dbfilename redis-config names
# (none and the default) with the running server's; its appendonly yes
# is switched off for the restarts.
plan_says "$SNAP_OLD" "a snapshot without the record" "^before the server's files are touched" \
	"fits" "estimated from the RDB's size" "a low estimate" "redis-config" "maxmemory 2.0 MiB" \
	"policy noeviction" "besides its data" "checks again" \
	"not compared by the plan .*the dir \\(none: .*dbfilename dump.rdb that redis-config names" \
	"running server's" "appendonly yes: the swap's restarts run with it off"
# An include names a file in the pod, which the plan does not read: it
# cannot say the limit, the run does.
python3 - "$CM" <<'PY'
import json, sys
cm = json.load(open(sys.argv[1]))
cm["data"]["redis.conf"] += "include /etc/redis/limits.conf\n"
json.dump(cm, open(sys.argv[1], "w"))
PY
plan_says "$SNAP" "a redis-config with an include" \
	"^not checked by the plan: redis-config includes /etc/redis/limits.conf, a file in the pod" \
	"checked when the restore runs" "not compared by the plan: redis-config includes"
cp "$WORK/redis-config.orig" "$CM"

grep -q -e "$ADMIN_PW" -e "$MYSQL_PW" "$WORK"/*.err "$WORK"/*.out "$FAKE_KUBE_LOG" &&
	fail "a password was printed or on kubectl's command line"
info "ok"
