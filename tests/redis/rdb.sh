#!/usr/bin/env bash
# The RDB path: the snapshot of an "internal" Redis read over SYNC by our
# own client (diskless and disk-based), SYNC refused to an ACL user without
# it, and the RDB restored into an ACL-restricted Redis that allows no
# restart: loaded by a private redis-server on a unix socket in a private
# folder, copied across logically, verified, the folder removed.
. "$(dirname "$0")/lib.sh"

redis_up internal
redis_up disk "repl-diskless-sync no"
redis_up managed
fill "$PORT_INTERNAL"
fill "$PORT_DISK"
keys_dump "$PORT_INTERNAL" > "$WORK/internal.keys"
mkdir -m 700 "$WORK/tmp"
export TMPDIR=$WORK/tmp

admin() { # PORT TOOL_ARGS...
	local port=$1
	shift
	T_REDIS_HOST=127.0.0.1 T_REDIS_PORT=$port T_REDIS_PASSWORD=$ADMIN_PW "$TOOL" "$@"
}

info "SYNC of the internal Redis (diskless and from disk)"
admin "$PORT_INTERNAL" sync > "$WORK/internal.rdb" 2> "$WORK/sync.err" || fail "sync: $(cat "$WORK/sync.err")"
[ "$(head -c 5 "$WORK/internal.rdb")" = REDIS ] || fail "not an RDB"
redis-check-rdb "$WORK/internal.rdb" > "$WORK/check.out" 2>&1 || fail "redis-check-rdb: $(tail -5 "$WORK/check.out")"
admin "$PORT_DISK" sync > "$WORK/disk.rdb" 2> "$WORK/sync2.err" || fail "sync from disk: $(cat "$WORK/sync2.err")"
redis-check-rdb "$WORK/disk.rdb" > "$WORK/check2.out" 2>&1 || fail "redis-check-rdb (disk): $(tail -5 "$WORK/check2.out")"

info "SYNC refused to an ACL user: exit 3, nothing written"
rc=0
as_user backup "$PORT_INTERNAL" sync > "$WORK/refused.rdb" 2> "$WORK/refused.err" || rc=$?
[ "$rc" = 3 ] || fail "refused SYNC: rc $rc: $(cat "$WORK/refused.err")"
[ ! -s "$WORK/refused.rdb" ] || fail "a refused SYNC wrote bytes"
grep -q "refuses SYNC: NOPERM" "$WORK/refused.err" || fail "$(cat "$WORK/refused.err")"
# The connection is still usable after the refusal (auto falls back on it).

info "the RDB into the ACL-restricted Redis through a private redis-server"
rcli "$PORT_MANAGED" SET other:key 1 >/dev/null
rcli "$PORT_MANAGED" -n 9 SET other:db9 1 >/dev/null
as_user restorer "$PORT_MANAGED" load-rdb < "$WORK/internal.rdb" 2> "$WORK/load.err" || fail "load-rdb: $(cat "$WORK/load.err")"
grep -q "private: $WORK/tmp/tsarc-redis-.*/redis.sock" "$WORK/load.err" || fail "no private server: $(cat "$WORK/load.err")"
grep -q "verify: key count and digest of every database match" "$WORK/load.err" || fail "$(cat "$WORK/load.err")"
keys_dump "$PORT_MANAGED" > "$WORK/managed.keys"
diff "$WORK/internal.keys" "$WORK/managed.keys" > "$WORK/keys.diff" || fail "keys differ: $(head -20 "$WORK/keys.diff")"
[ "$(rcli "$PORT_MANAGED" FCALL tsarc_answer 0)" = 42 ] || fail "functions were not copied"
[ -z "$(ls -A "$WORK/tmp")" ] || fail "the private folder was left: $(ls -la "$WORK/tmp")"
pgrep -f "$WORK/tmp/tsarc-redis" >/dev/null && fail "the private redis-server is still running"

info "an RDB the private server cannot load: a clear error, nothing left"
head -c 200 "$WORK/internal.rdb" > "$WORK/cut.rdb"
as_user backup "$PORT_MANAGED" load-rdb < "$WORK/cut.rdb" 2> "$WORK/cut.err" && fail "a cut RDB was loaded"
grep -q "the private redis-server could not load" "$WORK/cut.err" || fail "$(cat "$WORK/cut.err")"
[ -z "$(ls -A "$WORK/tmp")" ] || fail "the private folder was left after a failure"
info "a private server that dies after taking the connection: the load error is named, not lost"
T_REDIS_SERVER="$(cd "$(dirname "$0")" && pwd)/dying_server.py" \
	as_user backup "$PORT_MANAGED" load-rdb < "$WORK/internal.rdb" 2> "$WORK/dying.err" && fail "a dead private server loaded the RDB"
grep -q "the private redis-server could not load.*Short read" "$WORK/dying.err" || fail "$(cat "$WORK/dying.err")"
[ -z "$(ls -A "$WORK/tmp")" ] || fail "the private folder was left after the server died"
keys_dump "$PORT_MANAGED" > "$WORK/managed2.keys"
diff -q "$WORK/internal.keys" "$WORK/managed2.keys" >/dev/null || fail "a failed load changed the target"
info "ok"
