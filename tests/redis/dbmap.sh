#!/usr/bin/env bash
# A Redis restore maps the database the source's URL named onto the one
# the target's URL names: a 2.15 system-redis (URL .../1) migrated to a
# managed Redis whose system-redis Secret says .../0 (and one that has only
# database 0, as a cluster-mode service: refused before, for want of
# databases, it now takes the backup). Both paths that can
# map (the logical stream, and an RDB through a private redis-server: the
# target's config_file would pick the swap, which cannot map) put system's
# keys into database 0, database 1 left empty, and the dry-run and the
# report say "database 1 -> 0". A stream whose other database would land
# on the mapped one is refused with the target untouched, on both paths,
# and a logical one by the plan too, as is a logical stream into a target
# with fewer databases than its keys need.
# A stream that does not record its URL's database (as before this was
# recorded) keeps the numbers it had, and the dry-run says why.
. "$(dirname "$0")/lib.sh"
: "${TSARC:?set TSARC to the tsarc binary}"
export TSARC_PASSWORD="repo-$TEST_NAME-Vb7"
REPO=$WORK/repo
"$TSARC" init --repo "$REPO" --kdf-memory 4 --format 1 >/dev/null 2>&1 || fail "tsarc init"

redis_up src
redis_up dst
redis_up one "databases 1"
mkdir -m 700 "$WORK/tmp"
export TMPDIR=$WORK/tmp

backup() { backup_id "$@"; }
meta() { stream_meta "$1" system-redis.rdb "$2"; } # SNAP KEY
# The system keys: what system keeps in its Redis, in database 1.
system_keys() { # PORT DB
	{
		echo "SELECT $2"
		echo "SET user_session:abc 42 EX 3600"
		echo "HSET backend_sync:svc1 state ok"
		echo "RPUSH queue:default job1 job2"
		echo "SADD queues default mailers"
		awk 'BEGIN { for (i = 1; i <= 200; i++) print "SET cache:" i " v" i }'
	} | rcli "$1" >/dev/null || fail "system_keys $1 $2"
}
# The target before each restore: a key in database 0 and one in 1 (the
# restore empties the whole server first).
target_reset() {
	rcli "$PORT_DST" FLUSHALL >/dev/null
	rcli "$PORT_DST" -n 0 SET target:old 1 >/dev/null
	rcli "$PORT_DST" -n 1 SET target:old 1 >/dev/null
}
keys_in() { keys_in_db "$@"; }
restore_ok() { # SNAP CONFIG OUT
	"$TSARC" restore "$1" --config "$2" --repo "$REPO" --json > "$WORK/$3.json" 2> "$WORK/$3.err" ||
		fail "restore $3: $(cat "$WORK/$3.err") $(cat "$WORK/$3.json")"
}
mapped_ok() { # OUT: database 0 holds the source's database 1, database 1 is empty
	keys_in "$PORT_DST" 0 > "$WORK/$1.db0"
	diff "$WORK/src.db1" "$WORK/$1.db0" > "$WORK/$1.diff" || fail "$1: database 0 is not the source's 1: $(head -5 "$WORK/$1.diff")"
	[ -z "$(keys_in "$PORT_DST" 1)" ] || fail "$1: database 1 is not empty: $(keys_in "$PORT_DST" 1 | head -3)"
	grep -q "database 1 -> 0" "$WORK/$1.json" || fail "$1: the report has no mapping: $(cat "$WORK/$1.json")"
	grep -q "key count and digest of every database match" "$WORK/$1.json" || fail "$1: not verified: $(cat "$WORK/$1.json")"
}

system_keys "$PORT_SRC" 1
keys_in "$PORT_SRC" 1 > "$WORK/src.db1"
[ -s "$WORK/src.db1" ] || fail "no source keys"

info "backups of a system-redis whose URL names database 1: logical and RDB, the number recorded"
system_redis_deployment src-acl "redis://127.0.0.1:$PORT_SRC/1" backup "$USER_PW"
system_redis_deployment src-admin "redis://127.0.0.1:$PORT_SRC/1" default "$ADMIN_PW"
S_LOG=$(backup "$WORK/src-acl/config.json" b-log)
S_RDB=$(backup "$WORK/src-admin/config.json" b-rdb)
[ "$(meta "$S_LOG" redis_mode)" = logical ] || fail "not logical: $(meta "$S_LOG" redis_mode)"
[ "$(meta "$S_RDB" redis_mode)" = rdb ] || fail "not rdb: $(meta "$S_RDB" redis_mode)"
[ "$(meta "$S_LOG" redis_url_db)" = 1 ] || fail "logical: redis_url_db $(meta "$S_LOG" redis_url_db)"
[ "$(meta "$S_RDB" redis_url_db)" = 1 ] || fail "rdb: redis_url_db $(meta "$S_RDB" redis_url_db)"

# The target: system-redis at database 0 (a managed Redis). Its
# config_file would make an RDB take the swap, which cannot map.
system_redis_deployment dst "redis://127.0.0.1:$PORT_DST/0" restorer "$USER_PW" \
	"{\"restore\": {\"action\": \"redis-rdb\", \"order\": 80, \"config_file\": \"$WORK/nonexistent.conf\"}}"

info "the dry-run says database 1 -> 0 on both paths"
for s in "$S_LOG" "$S_RDB"; do
	"$TSARC" restore "$s" --config "$WORK/dst/config.json" --repo "$REPO" --dry-run --json > "$WORK/plan.json" 2>&1 ||
		fail "plan: $(cat "$WORK/plan.json")"
	python3 - "$WORK/plan.json" <<'PY' || fail "plan: $(cat "$WORK/plan.json")"
import json, sys
p = [s for s in json.load(open(sys.argv[1]))["steps"] if s["component"] == "system-redis"][0]["plan"]
assert "database 1 -> 0" in p["target"], p["target"]
assert "database 1 -> 0" in p["redis_databases"], p
assert not p["redis_restore"].startswith("RDB swap"), p["redis_restore"]
PY
done

info "logical: the keys into database 0, database 1 emptied"
target_reset
restore_ok "$S_LOG" "$WORK/dst/config.json" r-log
mapped_ok r-log

info "RDB: through a private redis-server (not the swap), into database 0"
target_reset
restore_ok "$S_RDB" "$WORK/dst/config.json" r-rdb
grep -q "private redis-server" "$WORK/r-rdb.json" || fail "not the private path: $(cat "$WORK/r-rdb.json")"
mapped_ok r-rdb
[ -z "$(ls -A "$WORK/tmp")" ] || fail "files left in TMPDIR: $(ls -la "$WORK/tmp")"

info "a target with database 0 only: both paths restore into it"
system_redis_deployment one "redis://127.0.0.1:$PORT_ONE/0" restorer "$USER_PW"
for s in "$S_LOG" "$S_RDB"; do
	rcli "$PORT_ONE" SET target:old 1 >/dev/null
	restore_ok "$s" "$WORK/one/config.json" r-one
	keys_in "$PORT_ONE" 0 > "$WORK/one.db0"
	diff -q "$WORK/src.db1" "$WORK/one.db0" >/dev/null || fail "database 0 only: keys differ"
	grep -q "database 1 -> 0" "$WORK/r-one.json" || fail "database 0 only: no mapping in the report"
done

info "a target whose Secret names the same database: nothing mapped"
system_redis_deployment same "redis://127.0.0.1:$PORT_DST/1" restorer "$USER_PW"
target_reset
restore_ok "$S_LOG" "$WORK/same/config.json" r-same
keys_in "$PORT_DST" 1 > "$WORK/same.db1"
diff -q "$WORK/src.db1" "$WORK/same.db1" >/dev/null || fail "same database: keys not in database 1"
[ -z "$(keys_in "$PORT_DST" 0)" ] || fail "same database: database 0 not empty"
grep -q "database 1 -> 0" "$WORK/r-same.json" && fail "a mapping where there is none: $(cat "$WORK/r-same.json")"

info "a collision (the source's database 0 holds keys too): refused, nothing written"
rcli "$PORT_SRC" -n 0 SET other:db0 1 >/dev/null
S_LOG2=$(backup "$WORK/src-acl/config.json" b-log2)
S_RDB2=$(backup "$WORK/src-admin/config.json" b-rdb2)
# The logical stream records the databases it holds keys in: its plan
# refuses before any step of a deployment restore writes (before, the
# dry-run admitted it and the step refused it, after the steps before it).
plan_refused "$S_LOG2" "$WORK/dst/config.json" "database 0 and in database 1.*nothing was written" \
	"a collision, logical"
for s in "$S_LOG2" "$S_RDB2"; do
	target_reset
	keys_dump "$PORT_DST" > "$WORK/before.keys"
	RC=0
	"$TSARC" restore "$s" --config "$WORK/dst/config.json" --repo "$REPO" > "$WORK/rc.out" 2> "$WORK/rc.err" || RC=$?
	[ "$RC" -ne 0 ] || fail "a collision was restored: $(cat "$WORK/rc.out")"
	keys_dump "$PORT_DST" > "$WORK/after.keys"
	diff -q "$WORK/before.keys" "$WORK/after.keys" >/dev/null || fail "the target changed on a collision"
	grep -q "database 0" "$WORK/rc.err" && grep -q "database 1" "$WORK/rc.err" ||
		fail "the error does not name both databases: $(cat "$WORK/rc.err")"
	grep -q "nothing was written" "$WORK/rc.err" || fail "the error does not say nothing was written: $(cat "$WORK/rc.err")"
done
rcli "$PORT_SRC" -n 0 DEL other:db0 >/dev/null

info "a target with fewer databases than the logical backup's keys need: refused by the plan"
# The target's URL names database 1 (nothing mapped), the server has
# database 0 only. Before, the dry-run admitted it and the step refused it.
system_redis_deployment one1 "redis://127.0.0.1:$PORT_ONE/1" restorer "$USER_PW"
rcli "$PORT_ONE" FLUSHALL >/dev/null
rcli "$PORT_ONE" SET target:old 1 >/dev/null
plan_refused "$S_LOG" "$WORK/one1/config.json" "keys go to database 1 .* has database 0 only: nothing was written" \
	"fewer databases, logical"
RC=0
"$TSARC" restore "$S_LOG" --config "$WORK/one1/config.json" --repo "$REPO" > "$WORK/r1.out" 2> "$WORK/r1.err" || RC=$?
[ "$RC" -ne 0 ] || fail "a backup needing database 1 was restored into a server with database 0 only"
grep -q "has database 0 only: nothing was written" "$WORK/r1.err" || fail "fewer databases: $(cat "$WORK/r1.err")"
[ "$(rcli "$PORT_ONE" DBSIZE)" = 1 ] || fail "fewer databases: the target changed"

info "a target URL whose path is no database number: refused before anything is written"
system_redis_deployment badurl "redis://127.0.0.1:$PORT_DST/sys" restorer "$USER_PW"
target_reset
keys_dump "$PORT_DST" > "$WORK/before.keys"
RC=0
"$TSARC" restore "$S_LOG" --config "$WORK/badurl/config.json" --repo "$REPO" > "$WORK/rb.out" 2> "$WORK/rb.err" || RC=$?
[ "$RC" -ne 0 ] || fail "a URL without a database number was restored into"
keys_dump "$PORT_DST" > "$WORK/after.keys"
diff -q "$WORK/before.keys" "$WORK/after.keys" >/dev/null || fail "the target changed on a bad URL"
grep -q "Secret system-redis, key URL: the URL's path 'sys' is not a Redis database number" "$WORK/rb.err" ||
	fail "the error does not say what is wrong: $(cat "$WORK/rb.err")"

info "a stream that does not record its URL's database: the numbers kept, the dry-run says so"
# No URL: the source is named by host and port alone, as a stream of a
# tsarc before the number was recorded has no redis_url_db either.
cat > "$WORK/nourl.json" <<EOF
{"profile": "none", "transport": {"type": "local", "resources_dir": "$WORK/src-acl"},
 "components": {"system-redis": {"kind": "redis", "host": "127.0.0.1", "port": $PORT_SRC,
   "user": "backup", "password_env": "T_SRC_PW", "mode": "logical", "stream": "system-redis.rdb",
   "restore": {"action": "redis-rdb", "order": 80}}}}
EOF
S_OLD=$(T_SRC_PW=$USER_PW backup "$WORK/nourl.json" b-old)
[ "$(meta "$S_OLD" redis_url_db)" = None ] || fail "recorded without a URL: $(meta "$S_OLD" redis_url_db)"
"$TSARC" restore "$S_OLD" --config "$WORK/dst/config.json" --repo "$REPO" --dry-run --json > "$WORK/plan-old.json" 2>&1 ||
	fail "plan: $(cat "$WORK/plan-old.json")"
grep -q "does not record" "$WORK/plan-old.json" || fail "the plan does not say why nothing is mapped: $(cat "$WORK/plan-old.json")"
target_reset
restore_ok "$S_OLD" "$WORK/dst/config.json" r-old
keys_in "$PORT_DST" 1 > "$WORK/old.db1"
diff -q "$WORK/src.db1" "$WORK/old.db1" >/dev/null || fail "old stream: keys not kept in database 1"
[ -z "$(keys_in "$PORT_DST" 0)" ] || fail "old stream: database 0 not empty"
grep -q "does not record" "$WORK/r-old.json" || fail "the report does not say why nothing was mapped: $(cat "$WORK/r-old.json")"

grep -q -e "$USER_PW" -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.json "$WORK"/*.out 2>/dev/null && fail "a password was printed"
info "ok"
