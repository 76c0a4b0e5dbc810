#!/usr/bin/env bash
# backend-redis keeps two databases in one server: storage (REDIS_STORAGE_URL,
# .../0 as the operator sets it up) and queues (REDIS_QUEUES_URL, .../1). A
# backup records both numbers where both URLs name the same server; a
# restore into a target whose Secret names storage .../2 and queues .../3
# of one server (a Redis shared with other applications) puts each where
# 3scale will read it, on both paths that map (the logical stream, and an
# RDB through a private redis-server), databases 0 and 1 left empty, and
# the dry-run and the report say "database 0 -> 2, database 1 -> 3".
# Before, the queues kept database 1, where the target's backend never
# looks. A target whose queues URL names another server: the queues keep
# their number on the storage server and the dry-run says why. A target
# whose two URLs name one database: refused, the target untouched.
. "$(dirname "$0")/lib.sh"
: "${TSARC:?set TSARC to the tsarc binary}"
export TSARC_PASSWORD="repo-$TEST_NAME-Qm4"
REPO=$WORK/repo
"$TSARC" init --repo "$REPO" --kdf-memory 4 >/dev/null 2>&1 || fail "tsarc init"

redis_up src
redis_up dst
mkdir -m 700 "$WORK/tmp"
export TMPDIR=$WORK/tmp

# backend_deployment NAME STORAGE_URL QUEUES_URL USER PASSWORD: a backend-redis
# Secret with both URLs, and a configuration whose url_secret names both.
backend_deployment() {
	redis_component_deployment backend-redis "$1" "$2" "$4" "$5" \
		'{"url_secret": {"secret": "backend-redis", "key": "REDIS_STORAGE_URL", "queues_key": "REDIS_QUEUES_URL"}}'
	python3 - "$WORK/$1/secret/backend-redis.json" "$3" <<'PY'
import base64, json, sys
path, url = sys.argv[1:]
doc = json.load(open(path))
doc["data"]["REDIS_QUEUES_URL"] = base64.b64encode(url.encode()).decode()
json.dump(doc, open(path, "w"))
PY
}
backup() { backup_id "$@"; }
meta() { stream_meta "$1" backend-redis.rdb "$2"; } # SNAP KEY
keys_in() { keys_in_db "$@"; }
target_reset() {
	rcli "$PORT_DST" FLUSHALL >/dev/null
	for db in 0 1 2 3; do rcli "$PORT_DST" -n "$db" SET target:old 1 >/dev/null; done
}

# What backend keeps: counters in storage, Resque jobs in queues.
{
	echo "SELECT 0"
	awk 'BEGIN { for (i = 1; i <= 100; i++) print "SET stats/{service:1}/metric:" i "/day:20261203 " i }'
	echo "HSET service/provider_key:pk/id id 1"
	echo "SELECT 1"
	echo "RPUSH resque:queue:priority job1 job2"
	echo "SADD resque:queues priority main"
} | rcli "$PORT_SRC" >/dev/null || fail "cannot fill the source"
keys_in "$PORT_SRC" 0 > "$WORK/src.db0"
keys_in "$PORT_SRC" 1 > "$WORK/src.db1"
[ -s "$WORK/src.db0" ] && [ -s "$WORK/src.db1" ] || fail "test setup: no source keys"

info "backups of a backend-redis with storage .../0 and queues .../1 on one server: both recorded"
backend_deployment src-acl "redis://127.0.0.1:$PORT_SRC/0" "redis://127.0.0.1:$PORT_SRC/1" backup "$USER_PW"
backend_deployment src-admin "redis://127.0.0.1:$PORT_SRC/0" "redis://127.0.0.1:$PORT_SRC/1" default "$ADMIN_PW"
S_LOG=$(backup "$WORK/src-acl/config.json" b-log)
S_RDB=$(backup "$WORK/src-admin/config.json" b-rdb)
for s in "$S_LOG" "$S_RDB"; do
	[ "$(meta "$s" redis_url_db)" = 0 ] || fail "redis_url_db $(meta "$s" redis_url_db)"
	[ "$(meta "$s" redis_queues_db)" = 1 ] || fail "redis_queues_db $(meta "$s" redis_queues_db)"
done
[ "$(meta "$S_LOG" redis_mode)" = logical ] || fail "not logical: $(meta "$S_LOG" redis_mode)"
[ "$(meta "$S_RDB" redis_mode)" = rdb ] || fail "not rdb: $(meta "$S_RDB" redis_mode)"

info "a target with storage .../2 and queues .../3: the dry-run maps both"
backend_deployment dst "redis://127.0.0.1:$PORT_DST/2" "redis://127.0.0.1:$PORT_DST/3" restorer "$USER_PW"
"$TSARC" restore "$S_RDB" --config "$WORK/dst/config.json" --repo "$REPO" --dry-run --json > "$WORK/plan.json" 2>&1 ||
	fail "plan: $(cat "$WORK/plan.json")"
python3 - "$WORK/plan.json" <<'PY' || fail "plan: $(cat "$WORK/plan.json")"
import json, sys
p = [s for s in json.load(open(sys.argv[1]))["steps"] if s["component"] == "backend-redis"][0]["plan"]
assert "database 0 -> 2, database 1 -> 3" in p["target"], p["target"]
assert "queues: database 1 -> 3 (the target's REDIS_QUEUES_URL names it)" in p["redis_databases"], p
PY

for s in "$S_LOG" "$S_RDB"; do
	info "restore of $(meta "$s" redis_mode): storage into 2, queues into 3"
	target_reset
	"$TSARC" restore "$s" --config "$WORK/dst/config.json" --repo "$REPO" --json > "$WORK/r.json" 2> "$WORK/r.err" ||
		fail "restore: $(cat "$WORK/r.err")"
	keys_in "$PORT_DST" 2 > "$WORK/dst.db2"
	keys_in "$PORT_DST" 3 > "$WORK/dst.db3"
	diff -q "$WORK/src.db0" "$WORK/dst.db2" >/dev/null || fail "database 2 is not the source's storage"
	diff -q "$WORK/src.db1" "$WORK/dst.db3" >/dev/null || fail "database 3 is not the source's queues"
	[ -z "$(keys_in "$PORT_DST" 0)$(keys_in "$PORT_DST" 1)" ] || fail "databases 0 and 1 are not empty"
	grep -q "database 0 -> 2: .*; queues: database 1 -> 3" "$WORK/r.json" || fail "the report has no mapping: $(cat "$WORK/r.json")"
	grep -q "key count and digest of every database match" "$WORK/r.json" || fail "not verified: $(cat "$WORK/r.json")"
done

info "a target whose queues are on another server: they keep their number here, the dry-run says why"
backend_deployment apart "redis://127.0.0.1:$PORT_DST/2" "redis://127.0.0.1:$(free_port)/0" restorer "$USER_PW"
"$TSARC" restore "$S_LOG" --config "$WORK/apart/config.json" --repo "$REPO" --dry-run --json > "$WORK/plan2.json" 2>&1 ||
	fail "plan: $(cat "$WORK/plan2.json")"
grep -q "the target's REDIS_QUEUES_URL names another server" "$WORK/plan2.json" ||
	fail "the plan does not say where the queues go: $(cat "$WORK/plan2.json")"
target_reset
"$TSARC" restore "$S_LOG" --config "$WORK/apart/config.json" --repo "$REPO" --json > "$WORK/r2.json" 2> "$WORK/r2.err" ||
	fail "restore: $(cat "$WORK/r2.err")"
keys_in "$PORT_DST" 1 > "$WORK/apart.db1"
diff -q "$WORK/src.db1" "$WORK/apart.db1" >/dev/null || fail "the queues did not keep database 1"

info "a target whose two URLs name one database: refused, nothing written"
backend_deployment one "redis://127.0.0.1:$PORT_DST/2" "redis://127.0.0.1:$PORT_DST/2" restorer "$USER_PW"
target_reset
keys_dump "$PORT_DST" > "$WORK/before.keys"
RC=0
"$TSARC" restore "$S_LOG" --config "$WORK/one/config.json" --repo "$REPO" > "$WORK/r3.out" 2> "$WORK/r3.err" || RC=$?
[ "$RC" -ne 0 ] || fail "storage and queues merged into one database"
keys_dump "$PORT_DST" > "$WORK/after.keys"
diff -q "$WORK/before.keys" "$WORK/after.keys" >/dev/null || fail "the target changed"
grep -q "nothing was written" "$WORK/r3.err" || fail "the error does not say nothing was written: $(cat "$WORK/r3.err")"

grep -q -e "$USER_PW" -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.json "$WORK"/*.out 2>/dev/null && fail "a password was printed"
info "ok"
