#!/usr/bin/env bash
# A backup started at T holds every write its master acknowledged before
# T, also when it reads a replica that is behind with its link up (after a
# burst, over a slow link to another zone). The lag is made here by a
# relay between the master and one replica (relay.py) that the test holds
# and releases: the connection stays up, the replica says
# master_link_status:up, and the master's writes do not reach it.
#
# Before, such a replica was read as far as it had caught up: the backup
# reported success and missed the writes; and with the Secret's Sentinel
# role slave, a replica that failed its check failed the component where
# another replica of the group, or the master, would have given a good
# backup.
. "$(dirname "$0")/lib.sh"
: "${TSARC:?set TSARC to the tsarc binary}"
command -v redis-sentinel >/dev/null || {
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && fail "redis-sentinel is not installed"
	echo "SKIP: redis-sentinel is not installed (bash ci/deps.sh)"; exit 77; }
export TSARC_PASSWORD="repo-$TEST_NAME-Lg3"
REPO=$WORK/repo
"$TSARC" init --repo "$REPO" --kdf-memory 4 --format 1 >/dev/null 2>&1 || fail "tsarc init"
mkdir -m 700 "$WORK/tmp" "$WORK/relay"
export TMPDIR=$WORK/tmp

# wait_for WHAT CMD...: CMD succeeds within 60 s.
wait_for() {
	local what=$1
	shift
	for _ in $(seq 600); do "$@" && return 0; sleep 0.1; done
	fail "never: $what"
}
info_has() { rcli "$1" INFO "$2" | tr -d '\r' | grep -qx "$3"; }
offset() { rcli "$1" INFO replication | tr -d '\r' | sed -n 's/^master_repl_offset://p'; }
in_step() { [ "$(offset "$1")" = "$(offset "$PORT_PRIM")" ]; }

redis_up prim "repl-timeout 3600"
for i in $(seq 20); do echo "SET early:$i v$i"; done | rcli "$PORT_PRIM" >/dev/null
RELAY_PORT=$(free_port)
python3 "$REDIS_TESTS/relay.py" "$RELAY_PORT" "$PORT_PRIM" "$WORK/relay" 2> "$WORK/relay.log" &
RELAY=$!
echo "$RELAY" > "$WORK/relay/server.pid"
wait_for "the relay listens" test -e "$WORK/relay/ready"
# The replica behind the relay: a long repl-timeout, so that the master's
# silence while the relay holds never ends the link.
redis_up lag "replicaof 127.0.0.1 $RELAY_PORT" "masterauth $ADMIN_PW" "repl-timeout 3600"
wait_for "the replica in step" in_step "$PORT_LAG"

# hold N: the relay holds what the master sends; then writes the master
# acknowledges (lateN:1..20) that the replica does not get.
hold() {
	touch "$WORK/relay/hold"
	wait_for "the relay holds" test -e "$WORK/relay/holding"
	for i in $(seq 20); do echo "SET late$1:$i v$i"; done | rcli "$PORT_PRIM" >/dev/null
	[ "$(rcli "$PORT_LAG" EXISTS "late$1:1")" = 0 ] || fail "the replica got the writes through the held relay"
	info_has "$PORT_LAG" replication master_link_status:up || fail "the held relay broke the link"
}
release() {
	rm -f "$WORK/relay/hold"
	wait_for "the relay released" test ! -e "$WORK/relay/holding"
	wait_for "the replica in step" in_step "$PORT_LAG"
}
# has_late SNAP: the snapshot's stream holds every key the master has
# (restored into a server of its own and counted).
redis_up check
has_late() {
	rcli "$PORT_CHECK" FLUSHALL >/dev/null
	"$TSARC" dump "$1" backend-redis.rdb --repo "$REPO" > "$WORK/stream.resp" 2>/dev/null ||
		fail "dump of $1"
	rcli "$PORT_CHECK" --pipe < "$WORK/stream.resp" >/dev/null || fail "the stream of $1 does not load"
	[ "$(rcli "$PORT_CHECK" DBSIZE)" = "$(rcli "$PORT_PRIM" DBSIZE)" ]
}

URL="redis://127.0.0.1:$PORT_LAG/0"
redis_deployment direct "$URL" backup "$USER_PW" '{"mode": "logical"}'

info "a replica behind, its link up, released while the backup waits: every write is in it"
hold 1
"$TSARC" backup --config "$WORK/direct/config.json" --repo "$REPO" --json > "$WORK/b1.json" 2> "$WORK/b1.err" &
BACKUP=$!
# The backup has read the master's offset once its connection there (as
# the ACL user "backup") has run INFO or ROLE; or it ended without.
waiting() {
	rcli "$PORT_PRIM" CLIENT LIST | grep -Eq ' cmd=(info|role) (.* )?user=backup ' && return 0
	! kill -0 "$BACKUP" 2>/dev/null
}
wait_for "the backup asks the master" waiting
release
wait "$BACKUP" || fail "the backup failed: $(cat "$WORK/b1.err")"
S=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/b1.json")
has_late "$S" || fail "the backup succeeded without writes the master acknowledged before it began"
[ "$(stream_meta "$S" backend-redis.rdb redis_read_from)" = "replica 127.0.0.1:$PORT_LAG" ] ||
	fail "read from $(stream_meta "$S" backend-redis.rdb redis_read_from)"
stream_meta "$S" backend-redis.rdb redis_replica_check | grep -q "caught up with its master 127.0.0.1:" ||
	fail "the metadata does not say what the check found: $(stream_meta "$S" backend-redis.rdb redis_replica_check)"

info "a replica that stays behind, named directly: refused once the wait is over, nothing written"
redis_deployment directwait "$URL" backup "$USER_PW" '{"mode": "logical", "replica_wait": 1}'
redis_deployment directrdb "$URL" "" "$ADMIN_PW" '{"mode": "auto", "replica_wait": 1}'
hold 2
for c in directwait directrdb; do
	rc=0
	"$TSARC" backup --config "$WORK/$c/config.json" --repo "$REPO" > "$WORK/$c.out" 2> "$WORK/$c.err" || rc=$?
	[ "$rc" -ne 0 ] || fail "$c: a replica behind its master was backed up"
	grep -q "127.0.0.1:$PORT_LAG" "$WORK/$c.err" || fail "$c: the replica is not named: $(cat "$WORK/$c.err")"
	grep -q "behind its master 127.0.0.1:" "$WORK/$c.err" || fail "$c: the lag is not named: $(cat "$WORK/$c.err")"
	grep -q "back up the master" "$WORK/$c.err" || fail "$c: what to do is not said: $(cat "$WORK/$c.err")"
done
[ "$("$TSARC" snapshots --repo "$REPO" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] ||
	fail "a snapshot was written"

info "Sentinel role slave, the only replica behind: the master is read, and the metadata says why"
SENTINEL_MASTER_PASSWORD=$ADMIN_PW SENTINEL_PASSWORD=$SENT_PW \
	bash "$SERVICES" start-sentinel "$WORK" grp "$PORT_PRIM" > "$WORK/sentinel.log" 2>&1 ||
	fail "redis-sentinel: $(cat "$WORK/sentinel.log")"
SPORT=$(. "$WORK/env"; echo "$SENTINEL_PORT")
# sentinel_lists PORT...: Sentinel lists exactly these replicas, each healthy.
sentinel_lists() {
	REDISCLI_AUTH=$SENT_PW redis-cli --no-auth-warning -p "$SPORT" SENTINEL REPLICAS grp |
		python3 -c 'import sys
l = [x.strip() for x in sys.stdin.read().split("\n")]
ports, flags, link = [], [], []
for i in range(0, len(l) - 1):
    if l[i] == "port": ports.append(l[i + 1])
    if l[i] == "flags": flags.append(l[i + 1])
    if l[i] == "master-link-status": link.append(l[i + 1])
want = sorted(sys.argv[1:])
ok = sorted(ports) == want and all(f == "slave" for f in flags) and all(k == "ok" for k in link)
sys.exit(0 if ok else 1)' "$@"
}
wait_for "Sentinel lists the replica" sentinel_lists "$PORT_LAG"
# sentinel_deployment NAME COMPONENT_JSON: backend-redis behind the
# Sentinel, REDIS_STORAGE_SENTINEL_ROLE slave, as the ACL user.
sentinel_deployment() {
	mkdir -p "$WORK/$1/secret"
	python3 - "$WORK/$1" "$SPORT" "$USER_PW" "$SENT_PW" "$2" <<'PY'
import base64, json, sys
d, sport, pw, spw, extra = sys.argv[1:]
b = lambda s: base64.b64encode(s.encode()).decode()
json.dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "backend-redis"},
           "data": {"REDIS_STORAGE_URL": b("redis://grp/0"), "REDIS_STORAGE_USERNAME": b("backup"),
                    "REDIS_STORAGE_PASSWORD": b(pw),
                    "REDIS_STORAGE_SENTINEL_HOSTS": b("127.0.0.1:%s" % sport),
                    "REDIS_STORAGE_SENTINEL_ROLE": b("slave"),
                    "REDIS_STORAGE_SENTINEL_PASSWORD": b(spw)}},
          open(d + "/secret/backend-redis.json", "w"))
comp = {"kind": "redis", "external": True, "url_secret": {"secret": "backend-redis", "key": "REDIS_STORAGE_URL"},
        "stream": "backend-redis.rdb", "restore": {"action": "redis-rdb", "order": 70}}
comp.update(json.loads(extra))
json.dump({"profile": "none", "transport": {"type": "local", "resources_dir": d},
           "components": {"backend-redis": comp}}, open(d + "/config.json", "w"))
PY
}
sentinel_deployment sent '{"mode": "logical", "replica_wait": 1}'
S=$(backup_id "$WORK/sent/config.json" s1) || exit 1
has_late "$S" || fail "the backup through Sentinel misses the late writes"
[ "$(stream_meta "$S" backend-redis.rdb redis_read_from)" = "master 127.0.0.1:$PORT_PRIM" ] ||
	fail "read from $(stream_meta "$S" backend-redis.rdb redis_read_from), not the master"
stream_meta "$S" backend-redis.rdb redis_read_reason | grep -q "127.0.0.1:$PORT_LAG.*behind its master" ||
	fail "the metadata does not say why the replica was passed over: $(stream_meta "$S" backend-redis.rdb redis_read_reason)"

info "Sentinel role slave, one replica behind and one in step: the one in step is read"
redis_up good "replicaof 127.0.0.1 $PORT_PRIM" "masterauth $ADMIN_PW"
wait_for "the second replica in step" in_step "$PORT_GOOD"
wait_for "Sentinel lists both replicas" sentinel_lists "$PORT_LAG" "$PORT_GOOD"
S=$(backup_id "$WORK/sent/config.json" s2) || exit 1
has_late "$S" || fail "the backup through Sentinel misses the late writes"
[ "$(stream_meta "$S" backend-redis.rdb redis_read_from)" = "replica 127.0.0.1:$PORT_GOOD" ] ||
	fail "read from $(stream_meta "$S" backend-redis.rdb redis_read_from), not the replica in step"

release
grep -q -e "$ADMIN_PW" -e "$USER_PW" -e "$SENT_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
