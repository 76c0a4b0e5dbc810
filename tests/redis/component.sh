#!/usr/bin/env bash
# The redis component end to end through tsarc: connection details from
# the deployment's own Secret (REDIS_STORAGE_URL, REDIS_STORAGE_USERNAME /
# _PASSWORD); "mode": "auto" takes the RDB where SYNC is allowed and the
# logical path where the ACL user may not SYNC, and the snapshot says
# which; a logical stream restored into a target holding other keys; an
# RDB snapshot of an "internal" Redis restored into an ACL-restricted one
# through a private redis-server (the plan says so); the stream replays
# with redis-cli --pipe from `tsarc dump`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib_chunk.sh"
: "${TSARC:?set TSARC to the tsarc binary}"
export TSARC_PASSWORD="repo-$TEST_NAME-Wq4"
REPO=$WORK/repo
"$TSARC" init --repo "$REPO" --kdf-memory 4 --format 1 >/dev/null 2>&1 || fail "tsarc init"

redis_up src
redis_up dst
fill "$PORT_SRC"
keys_dump "$PORT_SRC" > "$WORK/src.keys"
mkdir -m 700 "$WORK/tmp"
export TMPDIR=$WORK/tmp

# deployment NAME PORT USER PASSWORD [MODE]: the backend-redis Secret
# as 3scale 2.16 has it, and a config using it.
deployment() {
	redis_deployment "$1" "redis://127.0.0.1:$2/0" "$3" "$4" "{\"mode\": \"${5:-auto}\"}"
}
snap_mode() { # SNAP: redis_mode of its backend-redis stream
	"$TSARC" show "$1" --repo "$REPO" --json | python3 -c 'import json,sys
d = json.load(sys.stdin)
print([s for s in d["streams"] if s["name"] == "backend-redis.rdb"][0]["meta"].get("redis_mode"))'
}

info "auto as an ACL user without SYNC: the logical path, recorded"
deployment managed-src "$PORT_SRC" backup "$USER_PW"
"$TSARC" backup --config "$WORK/managed-src/config.json" --repo "$REPO" --json > "$WORK/b1.json" 2> "$WORK/b1.err" ||
	fail "backup: $(cat "$WORK/b1.err")"
S1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/b1.json") || fail "no snapshot id: $(cat "$WORK/b1.json")"
[ "$(snap_mode "$S1")" = logical ] || fail "snapshot mode: $(snap_mode "$S1")"

info "the logical stream into a target with other keys"
rcli "$PORT_DST" SET other:key 1 >/dev/null
rcli "$PORT_DST" -n 4 SET other:db4 1 >/dev/null
deployment managed-dst "$PORT_DST" restorer "$USER_PW"
"$TSARC" restore "$S1" --config "$WORK/managed-dst/config.json" --repo "$REPO" --json > "$WORK/r1.json" 2> "$WORK/r1.err" ||
	fail "restore: $(cat "$WORK/r1.err") $(cat "$WORK/r1.json")"
grep -q "per-key DEL (FLUSHDB refused)" "$WORK/r1.json" || fail "report: $(cat "$WORK/r1.json")"
grep -q "key count and digest of every database match" "$WORK/r1.json" || fail "report: $(cat "$WORK/r1.json")"
keys_dump "$PORT_DST" > "$WORK/dst.keys"
diff "$WORK/src.keys" "$WORK/dst.keys" > "$WORK/d1" || fail "keys differ: $(head -20 "$WORK/d1")"

info "tsarc dump of the logical stream replays with redis-cli --pipe"
rcli "$PORT_DST" FLUSHALL >/dev/null
"$TSARC" dump "$S1" backend-redis.rdb --repo "$REPO" 2>/dev/null |
	REDISCLI_AUTH=$ADMIN_PW redis-cli --no-auth-warning -p "$PORT_DST" --pipe > "$WORK/pipe.out" || fail "--pipe"
keys_dump "$PORT_DST" > "$WORK/pipe.keys"
diff -q "$WORK/src.keys" "$WORK/pipe.keys" >/dev/null || fail "keys differ after --pipe"

info "auto as the admin of an internal Redis: the RDB, restored through a private redis-server"
deployment internal-src "$PORT_SRC" default "$ADMIN_PW"
"$TSARC" backup --config "$WORK/internal-src/config.json" --repo "$REPO" --json > "$WORK/b2.json" 2> "$WORK/b2.err" ||
	fail "backup: $(cat "$WORK/b2.err")"
S2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["snapshot_id"])' "$WORK/b2.json")
[ "$(snap_mode "$S2")" = rdb ] || fail "snapshot mode: $(snap_mode "$S2")"
"$TSARC" restore "$S2" --config "$WORK/managed-dst/config.json" --repo "$REPO" --dry-run --json > "$WORK/plan.json" 2>&1 ||
	fail "plan: $(cat "$WORK/plan.json")"
grep -q "private redis-server" "$WORK/plan.json" || fail "the plan does not say how: $(cat "$WORK/plan.json")"
rcli "$PORT_DST" FLUSHALL >/dev/null
rcli "$PORT_DST" SET other:key 1 >/dev/null
"$TSARC" restore "$S2" --config "$WORK/managed-dst/config.json" --repo "$REPO" --json > "$WORK/r2.json" 2> "$WORK/r2.err" ||
	fail "restore: $(cat "$WORK/r2.err") $(cat "$WORK/r2.json")"
grep -q "private redis-server" "$WORK/r2.json" || fail "report: $(cat "$WORK/r2.json")"
keys_dump "$PORT_DST" > "$WORK/dst2.keys"
diff "$WORK/src.keys" "$WORK/dst2.keys" > "$WORK/d2" || fail "keys differ: $(head -20 "$WORK/d2")"
[ -z "$(ls -A "$WORK/tmp")" ] || fail "files left in TMPDIR: $(ls -la "$WORK/tmp")"

info "mode rdb where SYNC is refused: the backup fails and says why"
deployment rdb-only "$PORT_SRC" backup "$USER_PW" rdb
"$TSARC" backup --config "$WORK/rdb-only/config.json" --repo "$REPO" > /dev/null 2> "$WORK/b3.err" && fail "mode rdb without SYNC worked"
grep -q "refuses SYNC" "$WORK/b3.err" || fail "$(cat "$WORK/b3.err")"

info "a damaged chunk of a logical stream: the target keeps its keys, the step fails"
# The logical restore reads and checks the whole stream before its first
# FLUSHDB/DEL; the last chunk is damaged, so the stream's start loads fine.
damage_chunk "$REPO" "$S1" backend-redis.rdb -1
rcli "$PORT_DST" -n 3 SET marker:kept yes >/dev/null
keys_dump "$PORT_DST" > "$WORK/before.keys"
RC=0
"$TSARC" restore "$S1" --config "$WORK/managed-dst/config.json" --repo "$REPO" > "$WORK/r4.out" 2> "$WORK/r4.err" || RC=$?
[ "$RC" -eq 3 ] || fail "restore of a damaged stream exited $RC (want 3): $(cat "$WORK/r4.err")"
keys_dump "$PORT_DST" > "$WORK/after.keys"
diff "$WORK/before.keys" "$WORK/after.keys" > "$WORK/d4" || fail "the target changed ($(grep -c "^<" "$WORK/d4") keys gone): $(head -3 "$WORK/d4" | cut -c1-200)"
grep -q "backend-redis" "$WORK/r4.err" || fail "the error does not name the component: $(cat "$WORK/r4.err")"
grep -q "the target was not touched" "$WORK/r4.err" || fail "the error does not say the target is intact: $(cat "$WORK/r4.err")"
[ -z "$(ls -A "$WORK/tmp")" ] || fail "files left in TMPDIR: $(ls -la "$WORK/tmp")"

info "an ACL user without a password in the Secret: AUTH as that user, never the default user"
# The default user of this server needs no password and may SYNC; the
# Secret names "backup" (no SYNC) and gives no password. Connecting
# without AUTH would back up as the default user, with its rights, while
# the plan says "as backup".
redis_up open "user default on nopass ~* &* +@all"
deployment nopw "$PORT_OPEN" backup ""
"$TSARC" backup --config "$WORK/nopw/config.json" --repo "$REPO" > "$WORK/b5.out" 2> "$WORK/b5.err" &&
	fail "a user without a password connected (as the default user): $(cat "$WORK/b5.out")"
grep -q "AUTH as backup refused" "$WORK/b5.err" || fail "the error does not name the user: $(cat "$WORK/b5.err")"
grep -q "no password is given for this user" "$WORK/b5.err" || fail "the error does not say why: $(cat "$WORK/b5.err")"

grep -q -e "$USER_PW" -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.json "$WORK"/*.out && fail "a password was printed"
info "ok"
