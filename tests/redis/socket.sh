#!/usr/bin/env bash
# A Redis named by its unix socket ("socket" in the configuration) is the
# server redis-cli talks to as well: a "tool" backup (redis-cli --rdb) and
# the RDB swap (redis-cli CONFIG GET, SHUTDOWN, ...) reach that socket,
# never redis-cli's default 127.0.0.1:6379, which may be another server
# (whose files the swap would then move aside).
. "$(dirname "$0")/lib.sh"
tsarc_repo

SOCK=$WORK/redis-sock/redis.sock
redis_up sock "port 0" "unixsocket $SOCK" "unixsocketperm 700"
redis_up dst
scli() { REDISCLI_AUTH=$ADMIN_PW redis-cli --no-auth-warning -s "$SOCK" "$@"; }
for _ in $(seq 300); do scli ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
for i in $(seq 50); do echo "SET sock:$i v$i"; done | scli >/dev/null
[ "$(scli DBSIZE)" = 50 ] || fail "test setup: the socket server holds $(scli DBSIZE) keys"
(umask 077; printf '%s' "$ADMIN_PW" > "$WORK/pw")

# config NAME COMPONENT_JSON: $WORK/NAME.config.json, one redis component over
# the local transport.
config() {
	python3 - "$WORK/$1.config.json" "$2" <<'PY'
import json, sys
comp = {"kind": "redis", "stream": "redis.rdb", "restore": {"action": "redis-rdb", "order": 1}}
comp.update(json.loads(sys.argv[2]))
json.dump({"profile": "none", "transport": {"type": "local"}, "components": {"redis": comp}},
          open(sys.argv[1], "w"))
PY
}

info "a backup through redis-cli (tool) of the server at the socket"
config b-tool "{\"socket\": \"$SOCK\", \"password_file\": \"$WORK/pw\", \"mode\": \"rdb\", \"tool\": \"redis-cli\"}"
SNAP=$(backup_id "$WORK/b-tool.config.json" b-tool) || exit 1
info "its keys restored into another server: the socket server's"
config r-dst "{\"host\": \"127.0.0.1\", \"port\": $PORT_DST, \"password_file\": \"$WORK/pw\"}"
"$TSARC" restore "$SNAP" --config "$WORK/r-dst.config.json" --repo "$REPO" > "$WORK/r-dst.out" 2> "$WORK/r-dst.err" ||
	fail "restore into dst: $(cat "$WORK/r-dst.err")"
[ "$(rcli "$PORT_DST" DBSIZE)" = 50 ] && [ "$(rcli "$PORT_DST" GET sock:7)" = v7 ] ||
	fail "the snapshot is not the socket server's: $(rcli "$PORT_DST" DBSIZE) keys"

info "the RDB swap of the server at the socket"
scli FLUSHALL >/dev/null
scli SET other:key 1 >/dev/null
config r-swap "{\"socket\": \"$SOCK\", \"password_file\": \"$WORK/pw\", \"mode\": \"rdb\", \"restore\": {\"action\": \"redis-rdb\", \"order\": 1, \"config_file\": \"$WORK/redis-sock/redis.conf\"}}"
"$TSARC" restore "$SNAP" --config "$WORK/r-swap.config.json" --repo "$REPO" > "$WORK/r-swap.out" 2> "$WORK/r-swap.err" ||
	fail "the swap: $(cat "$WORK/r-swap.err")"
[ "$(scli DBSIZE)" = 50 ] && [ "$(scli GET sock:7)" = v7 ] || fail "the swap did not restore the socket server: $(scli DBSIZE) keys"

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
