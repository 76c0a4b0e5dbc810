#!/usr/bin/env bash
# The RDB swap of a Redis tsarc restarts reads where the server keeps its
# files from the running server (CONFIG GET dir, dbfilename), writes the
# backup's RDB there, and restarts the server with its configuration
# file. Where the two disagree (a CONFIG SET dir or dbfilename since the
# server started, where enable-protected-configs allows it, as every
# Redis before 7.0 does; a redis.conf edited and the server never
# restarted), the restart loads the file the configuration names, not
# the backup's RDB; where the start command turns appendonly on after the
# file the swap edits, it loads no RDB and starts empty. Before, the swap
# compared the keyspace before and after its last restart (both on that
# other data set), reported success, and the server served its old data,
# or none. The swap must refuse before anything is touched, naming both
# values, the plan too; follow includes as Redis reads them (in place,
# the last directive winning, a relative one from the dir before it) and
# swap as usual where they agree; and where it cannot see the cause (a
# wrapper start command), find that the server did not load as many keys
# as the RDB holds, and put the server's own files back. That count is
# INFO's: a user refused INFO (an ACL's -info) gets "NOPERM ...", which
# redis-cli prints and exits 0 on; read as INFO persistence it held no
# count, and the swap into the wrapped server reported success with the
# server empty. The swap must be refused before anything is touched,
# naming INFO and what to grant. So must a user who may not switch AOF
# back on once the RDB is loaded (CONFIG SET): before, the swap waited
# 300 s for an AOF rewrite that never began, and failed with the server
# on the backup's data and persistence off. One who may not SHUTDOWN is
# refused at the first restart, at once, the server never stopped (before,
# after a wait of 300 s for it to stop). One refused CONFIG (as a managed
# Redis's user is) was refused by the step only, after the earlier steps
# of a deployment restore: the plan must refuse it too. One refused PING,
# by which the swap waits for the server to stop and to come back, took
# the stopped server for stopped at once and the restarted one for not
# up: it waited 300 s, then failed with the server restarted, saying it
# "did not answer PING"; it must be refused before anything is touched,
# by the plan too, naming PING and what to grant.
. "$(dirname "$0")/lib.sh"
tsarc_repo

redis_up src
for i in $(seq 30); do echo "SET backup:$i b$i"; done | rcli "$PORT_SRC" >/dev/null
redis_deployment src "redis://127.0.0.1:$PORT_SRC/0" default "$ADMIN_PW" '{"mode": "rdb"}'
SNAP=$(backup_id "$WORK/src/config.json" b1) || exit 1
keys_dump "$PORT_SRC" > "$WORK/src.keys"

# dst NAME [EXTRA_CONF_LINE...]: a target holding 10 keys of its own,
# saved, and $WORK/NAME/config.json, its swap through its redis.conf, as
# the user DST_USER (default: the admin; "noinfo", "noset", "nostop",
# "noconf", "noping": every command but INFO, CONFIG SET, SHUTDOWN,
# CONFIG, PING).
dst() {
	local name=$1 port_var user=${DST_USER:-default} pw=$ADMIN_PW
	shift
	[ "$user" = default ] || pw=$USER_PW
	redis_up "$name" "user noinfo on >$USER_PW ~* &* +@all -info" \
		"user noset on >$USER_PW ~* &* +@all -config|set" \
		"user nostop on >$USER_PW ~* &* +@all -shutdown" \
		"user noconf on >$USER_PW ~* &* +@all -config" \
		"user noping on >$USER_PW ~* &* +@all -ping" "$@"
	port_var=PORT_$(printf '%s' "$name" | tr 'a-z' 'A-Z')
	PORT=${!port_var}
	redis_deployment "$name" "redis://127.0.0.1:$PORT/0" "$user" "$pw" \
		"{\"mode\": \"rdb\", \"restore\": {\"action\": \"redis-rdb\", \"order\": 70, \"config_file\": \"$WORK/redis-$name/redis.conf\"}}"
	for i in $(seq 10); do echo "SET own:$i o$i"; done | rcli "$PORT" >/dev/null
	rcli "$PORT" SAVE >/dev/null || fail "SAVE"
}

# swap_fails NAME: the swap into NAME, which must fail; the server's keys
# before and after in $WORK/before.keys and after.keys, the error in $err.
swap_fails() {
	local RC=0
	keys_dump "$PORT" > "$WORK/before.keys"
	"$TSARC" restore "$SNAP" --config "$WORK/$1/config.json" --repo "$REPO" \
		> "$WORK/r.out" 2> "$WORK/r.err" || RC=$?
	err=$(grep -v '^  ' "$WORK/r.err")
	keys_dump "$PORT" > "$WORK/after.keys"
	[ "$RC" -ne 0 ] || fail "$1: the swap succeeded, and the server holds $(grep -c "^db0 b'backup:" "$WORK/after.keys") of the backup's 30 keys and $(grep -c "^db0 b'own:" "$WORK/after.keys") of its own 10"
}

# untouched NAME WHAT WHY: the swap into NAME refused, naming WHAT and
# WHY, with the server, its keys, its configuration and its folder as
# they were.
untouched() {
	local name=$1 what=$2 why=$3 pid
	cp "$WORK/redis-$name/redis.conf" "$WORK/conf.before"
	ls "$WORK/redis-$name" "$WORK/other" > "$WORK/files.before" 2>&1
	pid=$(cat "$WORK/redis-$name/redis.pid")
	swap_fails "$name"
	cmp -s "$WORK/before.keys" "$WORK/after.keys" || fail "$name: the server's keys were changed: $err"
	[ "$(cat "$WORK/redis-$name/redis.pid")" = "$pid" ] || fail "$name: the server was restarted: $err"
	cmp -s "$WORK/conf.before" "$WORK/redis-$name/redis.conf" || fail "$name: the configuration was changed: $err"
	ls "$WORK/redis-$name" "$WORK/other" > "$WORK/files.after" 2>&1
	cmp -s "$WORK/files.before" "$WORK/files.after" || fail "$name: files were changed: $(diff "$WORK/files.before" "$WORK/files.after")"
	grep -q "$what" "$WORK/r.err" || fail "$name: the error does not name $what: $err"
	grep -q -- "$why" "$WORK/r.err" || fail "$name: the error does not say why ($why): $err"
}

# refused NAME WHAT [WHY]: untouched, by default saying that the restart
# would not load the backup's RDB; the plan refuses it as the run does.
refused() {
	local why=${3:-would not load the backup}
	untouched "$1" "$2" "$why"
	plan_refused "$SNAP" "$WORK/$1/config.json" "$2.*$why" "$1"
}

mkdir "$WORK/other"
info "dbfilename changed at runtime: the restart would load dump.rdb, not the backup's RDB"
dst name "enable-protected-configs local"
[ "$(rcli "$PORT" CONFIG SET dbfilename other.rdb)" = OK ] || fail "CONFIG SET dbfilename"
refused name "dbfilename other.rdb"

info "dir changed at runtime: the restart would load the configuration's dir"
dst dir "enable-protected-configs local"
[ "$(rcli "$PORT" CONFIG SET dir "$WORK/other")" = OK ] || fail "CONFIG SET dir"
refused dir "$WORK/other"

info "redis.conf edited since the server started: the restart would load edited.rdb"
dst edited
echo "dbfilename edited.rdb" >> "$WORK/redis-edited/redis.conf"
refused edited "dbfilename dump.rdb"

info "dbfilename set in an included file, the server running with it: swapped in"
# The last include relative: Redis reads it from the dir it has changed
# into at the dir line before it.
mkdir "$WORK/inc" "$WORK/redis-inc"
echo "dbfilename inc-first.rdb" > "$WORK/inc/a.conf"
printf 'dbfilename inc-second.rdb\nmaxmemory 256mb\n' > "$WORK/inc/b.conf"
echo "dbfilename inc.rdb" > "$WORK/redis-inc/rel.conf"
dst inc "include $WORK/inc/a.conf" "include $WORK/inc/b.conf" "include rel.conf"
[ "$(rcli "$PORT" CONFIG GET dbfilename | tail -n 1)" = inc.rdb ] || fail "the include is not read"
"$TSARC" restore "$SNAP" --config "$WORK/inc/config.json" --repo "$REPO" --dry-run \
	> "$WORK/plan.out" 2> "$WORK/plan.err" || fail "plan with an included dbfilename: $(cat "$WORK/plan.err")"
"$TSARC" restore "$SNAP" --config "$WORK/inc/config.json" --repo "$REPO" \
	> "$WORK/r.out" 2> "$WORK/r.err" || fail "swap with an included dbfilename: $(cat "$WORK/r.err")"
keys_dump "$PORT" > "$WORK/inc.keys"
cmp -s "$WORK/src.keys" "$WORK/inc.keys" || fail "the server does not hold the backup ($(grep -c "^db0 b'backup:" "$WORK/inc.keys") of its 30 keys)"
[ -e "$WORK/redis-inc/inc.rdb" ] || fail "no inc.rdb: $(ls "$WORK/redis-inc")"

info "a server its start_command starts with --appendonly yes (a wrapper the swap does not read): no RDB loaded, its own files back"
# The swap's persistence-off edit is in redis.conf; the command line comes
# after it. Restarted with appendonly yes and its AOF moved aside, the
# server does not read the backup's RDB and comes up empty; the keyspace
# compared across the last restart is empty both times. The count of
# keys it loaded, against redis-check-rdb's count of the RDB, says so.
# aof_dst NAME ARGV_JSON: dst NAME running with appendonly yes (a CONFIG
# SET, its redis.conf saying no), its swap restarting it with the command
# ARGV_JSON, "CONF" in it standing for its redis.conf.
aof_dst() {
	dst "$1"
	[ "$(rcli "$PORT" CONFIG SET appendonly yes)" = OK ] || fail "CONFIG SET appendonly"
	for _ in $(seq 100); do rcli "$PORT" INFO persistence | grep -q 'aof_rewrite_in_progress:0' && break; sleep 0.1; done
	python3 - "$WORK/$1/config.json" "$WORK/redis-$1/redis.conf" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["components"]["backend-redis"]["restore"]["start_command"] = [
    sys.argv[2] if a == "CONF" else a for a in json.loads(sys.argv[3])]
json.dump(c, open(sys.argv[1], "w"))
PY
}
aof_dst wrapped '["sh", "-c", "exec redis-server \"$0\" --appendonly yes", "CONF"]'
swap_fails wrapped
cmp -s "$WORK/before.keys" "$WORK/after.keys" || fail "wrapped: the server does not hold its own keys again: $err"
grep -q "did not load the backup's RDB" "$WORK/r.err" || fail "wrapped: the error does not say the RDB was not loaded: $err"
grep -q "put back" "$WORK/r.err" || fail "wrapped: the error does not say the server's files were put back: $err"
# The AOF folder the server made of what it loaded, in the way of its
# own: moved aside, and named.
made=$(cd "$WORK/redis-wrapped" && ls -d appendonlydir-tsarc-loaded.*) || fail "wrapped: no AOF moved aside: $(ls "$WORK/redis-wrapped")"
grep -q "moved aside: $WORK/redis-wrapped/$made" "$WORK/r.err" || fail "wrapped: the error does not name $made: $err"
if ls "$WORK/redis-wrapped" | grep -v "^$made\$" | grep -q -e tsarc -e -old; then fail "wrapped: files left beside the data: $(ls "$WORK/redis-wrapped")"; fi

info "the same option in a start_command the swap reads (redis-server FILE --appendonly yes): refused"
aof_dst optaof '["redis-server", "CONF", "--appendonly", "yes"]'
refused optaof "start_command turns appendonly on"

info "the wrapped server's swap by a user refused INFO (+@all -info): the keys loaded cannot be counted, refused"
DST_USER=noinfo aof_dst noinfo '["sh", "-c", "exec redis-server \"$0\" --appendonly yes", "CONF"]'
refused noinfo "refuses INFO" "+info"

info "a server running with AOF, swapped by a user refused CONFIG SET: AOF could not be switched back on, refused before anything is touched"
# The plan does not ask (a plan only reads): the step does, with the
# CONFIG SET appendonly the server already has, which changes nothing.
DST_USER=noset aof_dst noset '["redis-server", "CONF"]'
untouched noset "refuses CONFIG SET appendonly" "+config|set.*nothing was changed"

info "a user refused SHUTDOWN: refused at the first restart, at once, the server never stopped"
DST_USER=nostop dst nostop
untouched nostop "refuses SHUTDOWN" "+shutdown"

info "a user refused CONFIG: where the server keeps its files cannot be read, refused before anything is touched, the plan too"
DST_USER=noconf dst noconf
refused noconf "refuses CONFIG GET dir" "+config|get.*nothing was changed"

info "a user refused PING: the swap could not tell the server stopped or up again, refused before anything is touched, the plan too"
DST_USER=noping dst noping
refused noping "refuses PING" "+ping.*nothing was changed"

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
