#!/usr/bin/env bash
# The RDB swap of a Redis tsarc restarts (restore.config_file here, a pod
# in a cluster) replaces the server's files, and the server loads an RDB
# at start whatever its maxmemory: with an eviction policy it then evicts
# the restored keys at the next write (3scale's counters and limits
# silently gone), with noeviction it refuses every write (3scale's backend
# down). The online paths compare what the backup needs with the target's
# maxmemory before the first write (memory.c); the swap did not, and went
# on. It must make the same check, through what it has (redis-cli where
# the server runs, and the configuration it restarts the server with),
# before the server's files are touched: a backup that cannot fit is
# refused, the target as it was; one that fits is swapped in, and the
# report says what the check found. The plan (--dry-run) says it too.
# Sizes are far apart (the backup some 5 MB in memory and 4 MB as an RDB,
# targets of 2 MB and 256 MB): nothing depends on how close an estimate
# comes. Where the only estimate is the RDB's size (an older tsarc's
# snapshot records nothing) and the values compress, the check before the
# swap is low: the server, once it has loaded the RDB, is asked whether it
# is over its maxmemory or evicted keys, and gets its own files back.
. "$(dirname "$0")/lib.sh"
: "${TSARC_FORGE_SNAPSHOT:?set TSARC_FORGE_SNAPSHOT to the tsarc-forge-snapshot binary}"
tsarc_repo

memory_servers
redis_deployment src "redis://127.0.0.1:$PORT_SRC/0" "" "$ADMIN_PW" '{"mode": "rdb"}'
SNAP=$(backup_id "$WORK/src/config.json" b1)
[ "$(stream_meta "$SNAP" backend-redis.rdb redis_mode)" = rdb ] || fail "the backup is no RDB"
keys_dump "$PORT_SRC" > "$WORK/src.keys"

# An RDB snapshot as an older tsarc wrote it: no record of the source's
# memory. The swap then knows the RDB's size only. (The forge replaces
# the snapshot it copies: a second backup for it.)
SNAP_OLD=$(unrecorded "$(backup_id "$WORK/src/config.json" b2)" older) || exit 1

# swap_config NAME: $WORK/dst-NAME, the swap of that server (its redis.conf).
swap_config() {
	local port_var=PORT_$(printf '%s' "$1" | tr 'a-z' 'A-Z')
	redis_deployment "dst-$1" "redis://127.0.0.1:${!port_var}/0" default "$ADMIN_PW" \
		"{\"mode\": \"rdb\", \"restore\": {\"action\": \"redis-rdb\", \"order\": 70, \"config_file\": \"$WORK/redis-$1/redis.conf\"}}"
}
# own PORT: the target's own keys, small.
own() {
	rcli "$1" FLUSHALL >/dev/null
	for i in $(seq 10); do echo "SET dst:$i own$i"; done | rcli "$1" >/dev/null
}

# swap_refused NAME SNAP PATTERN WHAT: the swap of SNAP into server NAME
# (holding its own keys) refused before its files are touched: its keys,
# pid, configuration and folder as they were, the error and the plan's
# refusal matching PATTERN (grep); WHAT says what was swapped.
swap_refused() {
	local t=$1 snap=$2 pattern=$3 what=$4 port_var port pid
	port_var=PORT_$(printf '%s' "$t" | tr 'a-z' 'A-Z')
	port=${!port_var}
	own "$port"
	keys_dump "$port" > "$WORK/before.keys"
	cp "$WORK/redis-$t/redis.conf" "$WORK/conf.before"
	pid=$(cat "$WORK/redis-$t/redis.pid")
	RC=0
	"$TSARC" restore "$snap" --config "$WORK/dst-$t/config.json" --repo "$REPO" \
		> "$WORK/r.out" 2> "$WORK/r.err" || RC=$?
	err=$(grep -v '^  ' "$WORK/r.err")
	keys_dump "$port" > "$WORK/after.keys"
	cmp -s "$WORK/before.keys" "$WORK/after.keys" ||
		fail "$what: the target was changed ($(grep -vc "^db0 b'dst:" "$WORK/after.keys") keys not its own, $(grep -c "^db0 b'dst:" "$WORK/after.keys") left of its 10): rc $RC, $err"
	[ "$RC" -ne 0 ] || fail "$what: swapped in"
	[ "$(cat "$WORK/redis-$t/redis.pid")" = "$pid" ] || fail "$what: the server was restarted: $err"
	cmp -s "$WORK/conf.before" "$WORK/redis-$t/redis.conf" || fail "$what: the configuration was changed: $err"
	if ls "$WORK/redis-$t" | grep -q -e tsarc -e -old; then fail "$what: files left beside the data: $(ls "$WORK/redis-$t")"; fi
	grep -q -- "$pattern" "$WORK/r.err" || fail "$what: the error does not match $pattern: $err"
	# The plan refuses it as the run does.
	plan_refused "$snap" "$WORK/dst-$t/config.json" "$pattern" "$what"
}

for t in noev lru; do
	swap_config "$t"
	for snap in "$SNAP" "$SNAP_OLD"; do
		info "$t, snapshot $snap: the swap refused before the server's files are touched"
		swap_refused "$t" "$snap" "maxmemory.*nothing was written" \
			"$t, snapshot $snap: an RDB of 4 MB into a maxmemory of 2 MB"
	done
done
grep -q "estimated from the RDB" "$WORK/r.err" || fail "the error does not say the need was estimated: $(cat "$WORK/r.err")"

info "the configuration's maxmemory counts: a server limited only in the file it is restarted with"
# The running server has no limit (CONFIG SET maxmemory 0 after start),
# its redis.conf says 2 MB: the swap restarts it with that file.
rcli "$PORT_NOEV" CONFIG SET maxmemory 0 >/dev/null || fail "CONFIG SET"
own "$PORT_NOEV"
keys_dump "$PORT_NOEV" > "$WORK/before.keys"
RC=0
"$TSARC" restore "$SNAP" --config "$WORK/dst-noev/config.json" --repo "$REPO" > "$WORK/r.out" 2> "$WORK/r.err" || RC=$?
keys_dump "$PORT_NOEV" > "$WORK/after.keys"
cmp -s "$WORK/before.keys" "$WORK/after.keys" || fail "the target was changed: rc $RC, $(grep -v '^  ' "$WORK/r.err")"
[ "$RC" -ne 0 ] || fail "swapped into a server whose redis.conf says maxmemory 2mb"

info "a target that fits: swapped in, the report and the plan say what the check found"
swap_config roomy
own "$PORT_ROOMY"
n0=$(connections "$PORT_ROOMY")
"$TSARC" restore "$SNAP" --config "$WORK/dst-roomy/config.json" --repo "$REPO" --dry-run --json \
	> "$WORK/plan.json" 2> "$WORK/plan.err" || fail "plan: $(cat "$WORK/plan.err")"
plan_connects_once "$PORT_ROOMY" "$n0" "the plan of a swap (its access, files and memory checks)"
python3 - "$WORK/plan.json" <<'PY' || fail "the plan does not show the memory check: $(cat "$WORK/plan.json")"
import json, sys
p = [s for s in json.load(open(sys.argv[1]))["steps"] if s["component"] == "backend-redis"][0]["plan"]
assert "RDB swap" in p["redis_restore"], p
assert "fits" in p["redis_memory"] and "maxmemory" in p["redis_memory"], p["redis_memory"]
PY
for snap in "$SNAP" "$SNAP_OLD"; do
	own "$PORT_ROOMY"
	"$TSARC" restore "$snap" --config "$WORK/dst-roomy/config.json" --repo "$REPO" --json \
		> "$WORK/r.json" 2> "$WORK/r.err" || fail "swap into a target that fits: $(cat "$WORK/r.err")"
	grep -q '"redis_memory":.*fits: ' "$WORK/r.json" || fail "the report does not say what the check found: $(cat "$WORK/r.json")"
	keys_dump "$PORT_ROOMY" > "$WORK/roomy.keys"
	cmp -s "$WORK/src.keys" "$WORK/roomy.keys" || fail "the target that fits does not hold the backup"
done

info "an RDB far smaller than its data set in memory (compressed values) and no record of it: the server over its limit is found after it loaded the RDB, and gets its own files back"
# 1000 values of 4 kB of one byte (zip_server): LZF makes the RDB some
# 67 kB, the server holds 6 MB; the estimate from the RDB's size admits
# it. Loaded, the server is over its maxmemory: with noeviction it
# refuses every write, with allkeys-lru its first command evicts restored
# keys.
zip_server zip
redis_deployment zip "redis://127.0.0.1:$PORT_ZIP/0" "" "$ADMIN_PW" '{"mode": "rdb"}'
SNAP_ZIP=$(unrecorded "$(backup_id "$WORK/zip/config.json" b-zip)" zip 1048576) || exit 1
rcli "$PORT_NOEV" CONFIG SET maxmemory 2mb >/dev/null || fail "CONFIG SET"
for t in noev lru; do
	port_var=PORT_$(printf '%s' "$t" | tr 'a-z' 'A-Z')
	port=${!port_var}
	own "$port"
	keys_dump "$port" > "$WORK/before.keys"
	cp "$WORK/redis-$t/redis.conf" "$WORK/conf.before"
	RC=0
	"$TSARC" restore "$SNAP_ZIP" --config "$WORK/dst-$t/config.json" --repo "$REPO" \
		> "$WORK/r.out" 2> "$WORK/r.err" || RC=$?
	err=$(grep -v '^  ' "$WORK/r.err")
	keys_dump "$port" > "$WORK/after.keys"
	[ "$RC" -ne 0 ] || fail "$t: a data set of 5 MB swapped into a maxmemory of 2 MB ($(grep -c "^db0 b'zip:" "$WORK/after.keys") of its 1000 keys there, used_memory $(rcli "$port" INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'), evicted_keys $(rcli "$port" INFO stats | sed -n 's/^evicted_keys:\([0-9]*\).*/\1/p')): $err"
	cmp -s "$WORK/before.keys" "$WORK/after.keys" || fail "$t: the server does not hold its own keys again: $err"
	cmp -s "$WORK/conf.before" "$WORK/redis-$t/redis.conf" || fail "$t: the configuration was changed: $err"
	rcli "$port" SET dst:after 1 | grep -q OK || fail "$t: the server refuses writes: $err"
	grep -q "maxmemory" "$WORK/r.err" || fail "$t: the error does not name maxmemory: $err"
	grep -q "put back" "$WORK/r.err" || fail "$t: the error does not say the server's files were put back: $err"
	if ls "$WORK/redis-$t" | grep -q -e tsarc -e -old; then fail "$t: files left beside the data: $(ls "$WORK/redis-$t")"; fi
done

info "a server whose INFO is renamed (rename-command): its memory cannot be read, before the swap or once loaded: refused before anything is touched"
# redis-cli prints "ERR unknown command 'INFO' ..." and exits 0: read as
# INFO memory and INFO stats it told nothing, and the RDB of 67 kB
# holding 6 MB went into a maxmemory of 2 MB with noeviction, the swap
# reporting success and the server refusing every write after.
redis_up renamed "maxmemory 2mb" "maxmemory-policy noeviction" 'rename-command INFO ""'
swap_config renamed
swap_refused renamed "$SNAP_ZIP" "INFO.*renamed.*nothing was changed" \
	"an RDB holding 6 MB into a server of 2 MB whose INFO is renamed"

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
