#!/usr/bin/env bash
# Two Redis steps of one restore into one server named by two addresses:
# backend-redis's Secret names the shared Redis by one address,
# system-redis's by another (an IP and a DNS name, a service and its IP:
# a shared managed Redis). Each step empties the whole server first, so
# the second erases what the first restored. The check that refuses two
# servers' backups into one server (redis_partial) must know the server
# by what it is, not by how a URL spells it.
#
# Here the shared server listens on loopback and on this machine's own
# address, and the Secrets name it by each. Before, the restore reported
# both steps applied and verified, and backend-redis's keys were gone.
. "$(dirname "$0")/lib.sh"
tsarc_repo

ADDR=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.')
[ -n "$ADDR" ] || { echo "SKIP: this machine has no IPv4 address besides loopback"; exit 77; }

redis_up bsrc
redis_up ssrc
redis_up shared "bind 127.0.0.1 $ADDR"
redis_up other
for i in $(seq 20); do echo "SET backend:$i v$i"; done | rcli "$PORT_BSRC" >/dev/null
for i in $(seq 20); do echo "SET system:$i v$i"; done | rcli "$PORT_SSRC" -n 1 >/dev/null

two_redis src 127.0.0.1 "$PORT_BSRC" 127.0.0.1 "$PORT_SSRC"
two_redis shared 127.0.0.1 "$PORT_SHARED" "$ADDR" "$PORT_SHARED"
two_redis apart 127.0.0.1 "$PORT_SHARED" 127.0.0.1 "$PORT_OTHER"
SNAP=$(backup_id "$WORK/src/config.json" b1) || exit 1

info "two servers' backups into one server named by two addresses: refused, nothing written"
rcli "$PORT_SHARED" -n 2 SET marker:kept yes >/dev/null
keys_dump "$PORT_SHARED" > "$WORK/before.keys"
RC=0
"$TSARC" restore "$SNAP" --config "$WORK/shared/config.json" --repo "$REPO" > "$WORK/r1.out" 2> "$WORK/r1.err" || RC=$?
err=$(cat "$WORK/r1.err")
[ "$RC" -ne 0 ] ||
	fail "restored into one server (127.0.0.1 and $ADDR): it holds $(rcli "$PORT_SHARED" -n 0 DBSIZE) of backend-redis's 20 keys and $(rcli "$PORT_SHARED" -n 1 DBSIZE) of system-redis's 20, and the restore said: $(grep -E "applied|failed|verif" "$WORK/r1.err" | head -6)"
keys_dump "$PORT_SHARED" > "$WORK/after.keys"
cmp -s "$WORK/before.keys" "$WORK/after.keys" || fail "the shared server was changed: $err"
grep -q "both restore into" "$WORK/r1.err" || fail "the error does not say why: $err"
grep -q "nothing was written" "$WORK/r1.err" || fail "the error does not say nothing was written: $err"

info "the same backup into two servers: restored"
"$TSARC" restore "$SNAP" --config "$WORK/apart/config.json" --repo "$REPO" > "$WORK/r2.out" 2> "$WORK/r2.err" ||
	fail "into two servers: $(cat "$WORK/r2.err")"
[ "$(rcli "$PORT_SHARED" -n 0 DBSIZE)" = 20 ] && [ "$(rcli "$PORT_OTHER" -n 1 DBSIZE)" = 20 ] ||
	fail "into two servers: not every key is there"

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
