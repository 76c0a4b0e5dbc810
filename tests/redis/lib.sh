# Helpers of the Redis tests (tests/redis/*.sh); sourced, not run.
# Servers (redis-server, redis-sentinel) are started by the test on free
# loopback ports or unix sockets under its own work directory, with their
# configuration (passwords included) in 0600 files, and stopped by PID
# through ci/services.sh stop.
set -u
. "${BASH_SOURCE[0]%/*}/../../ci/sleep_builtin.sh" # sourced by path: no fork for dirname
REDIS_TESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$REDIS_TESTS/../.." && pwd)
SERVICES=$TOP/ci/services.sh
TEST_NAME=$(basename "$0" .sh)
: "${TSARC_REDIS_TOOL:?set TSARC_REDIS_TOOL to the tsarc-redis-tool binary}"
TOOL=$TSARC_REDIS_TOOL
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

for t in redis-server redis-cli openssl python3; do
	command -v "$t" >/dev/null && continue
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && { echo "FAIL: $t is not installed" >&2; exit 1; }
	echo "SKIP: $t is not installed (bash ci/deps.sh)"
	exit 77
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tsarc-$TEST_NAME.XXXXXX") || exit 1
redis_cleanup() {
	bash "$SERVICES" stop "$WORK" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap redis_cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }
info() { echo "[$TEST_NAME] ${SECONDS}s $*"; }

# A free loopback port, within TSARC_TEST_PORT_RANGE when it is set.
free_port() {
	python3 "$TOP/tests/tools/free_port.py"
}

# A password that cannot occur by chance, so that grepping for it means something.
ADMIN_PW="adm-${TEST_NAME}-Zr8qW3"
USER_PW="acl-${TEST_NAME}-Kp5xN7"
SENT_PW="sen-${TEST_NAME}-Hy2mC9"
# What a managed Redis allows an ACL user (ci/services.sh keeps the list).
ACL_DENY=$(bash "$SERVICES" redis-managed-deny)

# free_cluster_port: a free port whose cluster bus port (10000 above it)
# is a port too, and free: a node of a Redis Cluster listens on both, and
# refuses to start on a port above 55535.
free_cluster_port() {
	local p
	for _ in $(seq 200); do
		p=$(free_port)
		[ "$p" -le 55535 ] || continue
		python3 -c 'import socket, sys; socket.socket().bind(("127.0.0.1", int(sys.argv[1])))' \
			$((p + 10000)) 2>/dev/null && { echo "$p"; return 0; }
	done
	fail "no free port with a free cluster bus port"
}

# redis_up NAME [EXTRA_CONF_LINE...]: a server in $WORK/redis-NAME; sets
# PORT_<NAME> (upper case). "port 0" among the extra lines: socket only;
# "cluster-enabled yes": a port with room for its cluster bus port.
# REDIS_SERVER=valkey-server: that server binary (the same configuration).
# REDIS_SERVER_6=1: a Redis 6.0, whose ACL has no channel rules (&*, from
# 6.2) and no FAILOVER command (6.2) to deny.
redis_up() {
	local name=$1 base port var line channels deny
	shift
	base=$WORK/redis-$name
	mkdir -p "$base"
	case " $* " in
	*" cluster-enabled yes "*) port=$(free_cluster_port) ;;
	*) port=$(free_port) ;;
	esac
	var=PORT_$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')
	(
		umask 077
		{
			echo "port $port"
			echo "bind 127.0.0.1"
			echo "dir $base"
			echo "pidfile $base/redis.pid"
			echo "logfile $base/redis.log"
			echo "daemonize yes"
			echo "save \"\""
			echo "appendonly no"
			echo "repl-diskless-sync-delay 0"
			echo "requirepass $ADMIN_PW"
			if [ "${REDIS_SERVER_6:-0}" = 1 ]; then
				channels= deny=${ACL_DENY/ -failover/}
			else
				channels='&*' deny=$ACL_DENY
			fi
			echo "user backup on >$USER_PW ~* $channels +@all $deny"
			echo "user restorer on >$USER_PW ~* $channels +@all $deny -flushdb -flushall"
			for line in "$@"; do echo "$line"; done
		} > "$base/redis.conf"
	)
	"${REDIS_SERVER:-redis-server}" "$base/redis.conf" || fail "${REDIS_SERVER:-redis-server} $name did not start"
	for _ in $(seq 300); do [ -s "$base/redis.pid" ] && break; sleep 0.1; done
	cp "$base/redis.pid" "$base/server.pid"
	eval "$var=$port"
	for _ in $(seq 300); do
		REDISCLI_AUTH=$ADMIN_PW redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
		case " $* " in *" port 0 "*|*"tls-port"*) return 0 ;; esac
		sleep 0.1
	done
	fail "redis $name did not answer"
}

# rcli PORT ARGS...: redis-cli as the admin (password through the environment).
rcli() {
	local port=$1
	shift
	REDISCLI_AUTH=$ADMIN_PW redis-cli --no-auth-warning -p "$port" "$@"
}

# connections PORT: how many connections the server has accepted (INFO
# stats total_connections_received), the one that asks included.
connections() {
	rcli "$1" INFO stats | sed -n 's/^total_connections_received:\([0-9]*\).*/\1/p'
}

# plan_connects_once PORT SINCE WHAT: since `connections PORT` said SINCE,
# the plan connected to the server once: its checks and its description
# share one connection.
plan_connects_once() {
	local n=$(($(connections "$1") - $2 - 1))
	[ "$n" -eq 1 ] || fail "$3: the plan connected to the target $n times, not once"
}

# as_user USER PORT TOOL_ARGS...: the tool as an ACL user.
as_user() {
	local user=$1 port=$2
	shift 2
	T_REDIS_HOST=127.0.0.1 T_REDIS_PORT=$port T_REDIS_USER=$user T_REDIS_PASSWORD=$USER_PW "$TOOL" "$@"
}

# fill PORT [nofunctions]: every type of value, binary key names, TTLs,
# several databases, a stream with a consumer group and pending entries, a
# HyperLogLog and (unless "nofunctions": Redis 6 has none) a function
# library.
fill() {
	local port=$1 db
	for db in 0 3 15; do
		{
			echo "SELECT $db"
			echo "SET str:plain hello-$db"
			echo "SET \"bin:\\x00\\xff\\r\\nkey\" \"\\x00\\x01\\x02value\""
			echo "SET num:counter 12345"
			echo "HSET hash:small f1 v1 f2 v2"
			echo "RPUSH list:small a b c"
			echo "SADD set:ints 1 2 3 42"
			echo "SADD set:strs alpha beta gamma"
			echo "ZADD zset:small 1 one 2 two 3.5 three"
			echo "PFADD hll:visitors u1 u2 u3 u4 u5"
			echo "XADD stream:events 1-1 type login"
			echo "XADD stream:events 2-1 type logout"
			echo "XADD stream:events 3-1 type login"
			echo "XGROUP CREATE stream:events workers 0"
			echo "XREADGROUP GROUP workers alice COUNT 2 STREAMS stream:events >"
			echo "SET ttl:hour value EX 3600"
			echo "SET ttl:day value EX 86400"
			echo "HSET ttl:hash a 1"
			echo "EXPIRE ttl:hash 5000"
			awk -v db="$db" 'BEGIN { for (i = 1; i <= 300; i++) {
				print "HSET hash:big field" i " value" i; print "RPUSH list:big item" i
				print "SADD set:big member" i; print "ZADD zset:big " i " m" i
				print "SET key:" db ":" i " v" i } }'
		} | rcli "$port" >/dev/null || fail "fill $port failed"
	done
	[ "${2:-}" = nofunctions ] && return 0
	rcli "$port" FUNCTION LOAD "#!lua name=tsarclib
redis.register_function('tsarc_answer', function(keys, args) return 42 end)" >/dev/null ||
		fail "FUNCTION LOAD failed"
}

# memory_servers: the maxmemory tests' servers (maxmemory.sh,
# swap_maxmemory.sh): "src" holding 1000 keys of 4 kB (incompressible: the
# RDB's LZF does not shrink them; a quarter with a TTL), some 5 MB in
# memory; targets of 2 MB ("noev": noeviction, "lru": allkeys-lru) and of
# 256 MB ("roomy": volatile-lru). Sizes far apart: nothing depends on how
# close an estimate comes.
memory_servers() {
	redis_up src
	redis_up noev "maxmemory 2mb" "maxmemory-policy noeviction"
	redis_up lru "maxmemory 2mb" "maxmemory-policy allkeys-lru"
	redis_up roomy "maxmemory 256mb" "maxmemory-policy volatile-lru"
	python3 - <<'PY' | rcli "$PORT_SRC" --pipe >/dev/null || fail "filling the source"
import os, sys
for i in range(1000):
    v = os.urandom(2048).hex()
    ex = " EX 86400" if i % 4 == 0 else ""
    sys.stdout.write("SET big:%d %s%s\r\n" % (i, v, ex))
PY
	[ "$(rcli "$PORT_SRC" DBSIZE)" = 1000 ] || fail "the source holds $(rcli "$PORT_SRC" DBSIZE) keys"
}

# tsarc_repo: the test's repository $REPO (its password in TSARC_PASSWORD)
# and a private TMPDIR, for the tests that back up and restore with tsarc.
# need_root VAR: the test needs the root filesystem of a newer Debian that
# VAR names (ci/debian-root.sh, made by ci/test.sh); without it the test is
# skipped (77), or fails where TSARC_TEST_REQUIRE_SERVICES=1 (CI).
need_root() {
	[ -n "${!1:-}" ] && return 0
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] &&
		fail "$1 is not set (ci/test.sh makes the root: ci/debian-root.sh)"
	echo "SKIP: $1 is not set (ci/test.sh makes the root)"
	exit 77
}

# root_tools DIR ROOT TOOL[:--here]...: DIR/TOOL runs ROOT's TOOL (through
# tests/tools/in_root.sh, with this PATH), as if installed here. ":--here"
# keeps the caller's folder, for a tool given a relative file name (the
# swap runs the RDB checker in the server's data folder).
root_tools() {
	local dir=$1 root=$2 t
	shift 2
	mkdir -p "$dir"
	for t in "$@"; do
		printf '#!/bin/sh\nPATH=%s exec /bin/sh %s %s %s %s "$@"\n' "$PATH" \
			"$TOP/tests/tools/in_root.sh" "$( [ "$t" = "${t%%:*}" ] || echo "${t#*:}")" "$root" \
			"${t%%:*}" >"$dir/${t%%:*}"
		chmod +x "$dir/${t%%:*}"
	done
}

tsarc_repo() {
	: "${TSARC:?set TSARC to the tsarc binary}"
	export TSARC_PASSWORD="repo-$TEST_NAME-Jd3"
	REPO=$WORK/repo
	"$TSARC" init --repo "$REPO" --kdf-memory 4 --format 1 >/dev/null 2>&1 || fail "tsarc init"
	mkdir -m 700 "$WORK/tmp"
	export TMPDIR=$WORK/tmp
}

# plan_refused SNAP CONFIG PATTERN WHAT: the plan (restore --dry-run) of
# SNAP into CONFIG's deployment, from $REPO, is refused, its error
# matching PATTERN (grep).
plan_refused() {
	local rc=0
	"$TSARC" restore "$1" --config "$2" --repo "$REPO" --dry-run --json \
		> "$WORK/plan.json" 2> "$WORK/plan.err" || rc=$?
	[ "$rc" -ne 0 ] || fail "$4: the plan was not refused: $(cat "$WORK/plan.json")"
	grep -q -- "$3" "$WORK/plan.err" || fail "$4: the plan's refusal does not match $3: $(cat "$WORK/plan.err")"
}

# restored_into SNAP SRC_KEYS WHAT TARGET PORT: SNAP (from $REPO) restored
# into the deployment $WORK/TARGET, whose server on PORT is emptied but
# for one key first; planned first (--dry-run). The check after the load
# compared the key counts and the digest (what each key holds, whatever
# the versions); the target then holds the source's keys (SRC_KEYS, of
# keys_dump), and TMPDIR nothing. The report is $WORK/restore.json.
restored_into() {
	local port=$5
	rcli "$port" FLUSHALL >/dev/null
	rcli "$port" SET other:key 1 >/dev/null
	"$TSARC" restore "$1" --config "$WORK/$4/config.json" --repo "$REPO" --dry-run --json \
		> "$WORK/plan.json" 2> "$WORK/plan.err" || fail "$3: the plan: $(cat "$WORK/plan.err")"
	"$TSARC" restore "$1" --config "$WORK/$4/config.json" --repo "$REPO" --json \
		> "$WORK/restore.json" 2> "$WORK/restore.err" ||
		fail "$3: $(cat "$WORK/restore.err") $(cat "$WORK/restore.json")"
	grep -q "key count and digest of every database match" "$WORK/restore.json" ||
		fail "$3: the digest was not compared: $(cat "$WORK/restore.json")"
	keys_dump "$port" > "$WORK/dst.keys"
	diff "$2" "$WORK/dst.keys" > "$WORK/keys.diff" || fail "$3: keys differ: $(head -5 "$WORK/keys.diff")"
	[ -z "$(ls -A "$WORK/tmp")" ] || fail "$3: files left in TMPDIR: $(ls -la "$WORK/tmp")"
}

# valkey_swapped BIN SNAP SRC_KEYS NAME VERSION RDB_VERSION: the RDB
# backup SNAP (of a server holding SRC_KEYS, and fill's function library)
# swapped into the Valkey NAME (redis_up NAME with REDIS_SERVER=
# BIN/valkey-server; BIN holds its valkey-check-rdb too, first in PATH as
# if installed here), which holds a key of its own. The plan says the
# server, whose version matches VERSION (a grep pattern: 8\.1), reads
# RDB_VERSION; the step reads the RDB with valkey-check-rdb, counts its
# keys and restarts the server with valkey-server: the same Valkey then
# holds the source's keys and functions.
valkey_swapped() {
	local bin=$1 snap=$2 keys=$3 name=$4 ver=$5 rdbver=$6 port_var port word
	port_var=PORT_$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')
	port=${!port_var}
	rcli "$port" SET own:key 1 >/dev/null
	rcli "$port" SAVE >/dev/null || fail "SAVE"
	redis_deployment "$name" "redis://127.0.0.1:$port/0" default "$ADMIN_PW" \
		"{\"mode\": \"rdb\", \"restore\": {\"action\": \"redis-rdb\", \"order\": 70,
		\"config_file\": \"$WORK/redis-$name/redis.conf\"}}"
	PATH=$bin:$PATH "$TSARC" restore "$snap" --config "$WORK/$name/config.json" --repo "$REPO" \
		--dry-run --json > "$WORK/$name-plan.json" 2> "$WORK/$name-plan.err" ||
		fail "the swap's plan: $(cat "$WORK/$name-plan.err")"
	word="\"redis_rdb_version\":[[:space:]]*\"version $rdbver, which Valkey $ver\.[0-9.]* at 127.0.0.1:$port reads"
	grep -q "$word" "$WORK/$name-plan.json" ||
		fail "the swap's plan does not say Valkey $ver reads version $rdbver: $(cat "$WORK/$name-plan.json")"
	PATH=$bin:$PATH "$TSARC" restore "$snap" --config "$WORK/$name/config.json" --repo "$REPO" --json \
		> "$WORK/$name.json" 2> "$WORK/$name.err" ||
		fail "the swap: $(cat "$WORK/$name.err") $(cat "$WORK/$name.json")"
	rcli "$port" INFO server | grep -q "^valkey_version:$ver\." ||
		fail "after the swap the server is not Valkey $ver: $(rcli "$port" INFO server | grep -e _version -e executable)"
	grep -q "RDB of [0-9]* bytes loaded into" "$WORK/$name.json" || fail "the swap's note: $(cat "$WORK/$name.json")"
	# Read first by valkey-check-rdb, whose count of keys the server's
	# rdb_last_load_keys_loaded was compared with.
	grep -q -e "not read before the swap" -e "not counted against" "$WORK/$name.json" &&
		fail "the RDB was not checked, or its keys not counted: $(cat "$WORK/$name.json")"
	keys_dump "$port" > "$WORK/$name.keys"
	diff "$keys" "$WORK/$name.keys" > "$WORK/$name.diff" || fail "swapped: keys differ: $(head -5 "$WORK/$name.diff")"
	[ "$(rcli "$port" FCALL tsarc_answer 0)" = 42 ] || fail "swapped: the functions are not there"
}

# zip_server NAME: a server as redis_up makes it, holding 1000 values of
# 4 kB of one repeated byte: some 6 MB in memory, an RDB of some 67 kB (its
# LZF shrinks them), far less than the data set its size suggests.
zip_server() {
	local port_var
	redis_up "$1"
	port_var=PORT_$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')
	python3 - <<'PY' | rcli "${!port_var}" --pipe >/dev/null || fail "filling the compressible source"
import sys
for i in range(1000):
    sys.stdout.write("SET zip:%d %s\r\n" % (i, chr(97 + i % 26) * 4096))
PY
}

# unrecorded SNAP NAME [MAX]: prints the id of a copy of snapshot SNAP of
# $REPO (its one stream backend-redis.rdb, of MAX bytes at most when
# given) named NAME, whose metadata records nothing of the source's memory
# (redis_used_memory_dataset, redis_keys), as an older tsarc's. The forge
# (TSARC_FORGE_SNAPSHOT) replaces SNAP: back up once more for it.
unrecorded() {
	local forge
	"$TSARC" show "$1" --repo "$REPO" --json > "$WORK/unrecorded.json" || fail "show $1"
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
s = d["streams"][0]
assert s["name"] == "backend-redis.rdb", s["name"]
assert not sys.argv[2] or s["size"] <= int(sys.argv[2]), s["size"]
m = dict(s["meta"])
m.pop("redis_used_memory_dataset", None)
m.pop("redis_keys", None)
print(d["host"]); print(s["name"]); print(json.dumps(m))' "$WORK/unrecorded.json" "${3:-}" > "$WORK/unrecorded.args" ||
		fail "the snapshot's stream is not a backend-redis.rdb${3:+ of $3 bytes at most}: $(cat "$WORK/unrecorded.json")"
	mapfile -t forge < "$WORK/unrecorded.args"
	TSARC_REPOSITORY=$REPO "$TSARC_FORGE_SNAPSHOT" "$1" "${forge[0]}" "$2" "${forge[1]}" "${forge[2]}" ||
		fail "tsarc-forge-snapshot"
}

# keys_dump PORT: every key of every db with its type, absolute expiry
# and value, sorted, binary-safe (keys_dump.py): the per-key comparison.
keys_dump() {
	REDIS_PW=$ADMIN_PW python3 "$REDIS_TESTS/keys_dump.py" "$1"
}

# redis_deployment NAME URL USER PASSWORD [COMPONENT_JSON]: $WORK/NAME, a
# resources folder with the backend-redis Secret as 3scale 2.16 has it
# (REDIS_STORAGE_URL, and _USERNAME / _PASSWORD when not empty), and its
# config.json: an external backend-redis component reading that Secret,
# with the fields of COMPONENT_JSON over the defaults ("mode": "auto").
redis_deployment() { redis_component_deployment backend-redis "$@"; }
# backup_id CONFIG OUT: a backup of CONFIG into $REPO (its report in
# $WORK/OUT.json, stderr in $WORK/OUT.err); prints the snapshot id.
backup_id() {
	"$TSARC" backup --config "$1" --repo "$REPO" --json > "$WORK/$2.json" 2> "$WORK/$2.err" ||
		fail "backup $2: $(cat "$WORK/$2.err")"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/$2.json"
}

# stream_meta SNAP STREAM KEY: the metadata KEY of stream STREAM of
# snapshot SNAP in $REPO (None when it has none).
stream_meta() {
	"$TSARC" show "$1" --repo "$REPO" --json | python3 -c 'import json,sys
d = json.load(sys.stdin)
print([s for s in d["streams"] if s["name"] == sys.argv[1]][0]["meta"].get(sys.argv[2]))' "$2" "$3"
}

# keys_in_db PORT DB: the keys_dump lines of database DB, "dbN " cut off.
keys_in_db() {
	keys_dump "$1" | sed -n "s/^db$2 //p"
}

# system_redis_deployment NAME URL USER PASSWORD [COMPONENT_JSON]: the same
# with system-redis's Secret (URL, REDIS_USERNAME, REDIS_PASSWORD).
system_redis_deployment() { redis_component_deployment system-redis "$@"; }

redis_component_deployment() {
	mkdir -p "$WORK/$2/secret"
	python3 - "$1" "$WORK/$2" "$3" "$4" "$5" "${6:-"{}"}" <<'PY'
import base64, json, sys
name, d, url, user, pw, extra = sys.argv[1:]
# The Secret's keys, as the 3scale operator names them; the restore order.
url_key, user_key, pw_key, sentinel_key, order = {
    "backend-redis": ("REDIS_STORAGE_URL", "REDIS_STORAGE_USERNAME", "REDIS_STORAGE_PASSWORD",
                      "REDIS_STORAGE_SENTINEL_HOSTS", 70),
    "system-redis": ("URL", "REDIS_USERNAME", "REDIS_PASSWORD", "SENTINEL_HOSTS", 80)}[name]
b = lambda s: base64.b64encode(s.encode()).decode()
data = {url_key: b(url), sentinel_key: b("")}
if user:
    data[user_key] = b(user)
if pw:
    data[pw_key] = b(pw)
json.dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
           "data": data}, open(d + "/secret/" + name + ".json", "w"))
comp = {"kind": "redis", "external": True, "mode": "auto",
        "url_secret": {"secret": name, "key": url_key},
        "stream": name + ".rdb", "restore": {"action": "redis-rdb", "order": order}}
comp.update(json.loads(extra))
json.dump({"profile": "none", "transport": {"type": "local", "resources_dir": d},
           "components": {name: comp}}, open(d + "/config.json", "w"))
PY
}

# two_redis NAME BACKEND_HOST BACKEND_PORT SYSTEM_HOST SYSTEM_PORT: in
# $WORK/NAME, the backend-redis and system-redis Secrets as 3scale 2.16
# has them (system-redis on database 1), and a config with both
# components, external, logical, as the ACL user ($USER_PW).
two_redis() {
	mkdir -p "$WORK/$1/secret"
	python3 - "$WORK/$1" "$2" "$3" "$4" "$5" "$USER_PW" <<'PY'
import base64, json, sys
d, bhost, bport, shost, sport, pw = sys.argv[1:]
b = lambda s: base64.b64encode(s.encode()).decode()
json.dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "backend-redis"},
           "data": {"REDIS_STORAGE_URL": b("redis://%s:%s/0" % (bhost, bport)),
                    "REDIS_STORAGE_USERNAME": b("restorer"), "REDIS_STORAGE_PASSWORD": b(pw)}},
          open(d + "/secret/backend-redis.json", "w"))
json.dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "system-redis"},
           "data": {"URL": b("redis://%s:%s/1" % (shost, sport)),
                    "REDIS_USERNAME": b("restorer"), "REDIS_PASSWORD": b(pw)}},
          open(d + "/secret/system-redis.json", "w"))
comp = lambda secret, key, stream, order: {
    "kind": "redis", "external": True, "mode": "logical",
    "url_secret": {"secret": secret, "key": key}, "stream": stream,
    "restore": {"action": "redis-rdb", "order": order}}
json.dump({"profile": "none", "transport": {"type": "local", "resources_dir": d},
           "components": {"backend-redis": comp("backend-redis", "REDIS_STORAGE_URL", "backend-redis.rdb", 70),
                          "system-redis": comp("system-redis", "URL", "system-redis.rdb", 80)}},
          open(d + "/config.json", "w"))
PY
}
