#!/usr/bin/env bash
# backend-redis and system-redis on one shared Redis with replicas (a
# Sentinel setup, a managed Redis with read replicas), each component's
# backup read from a replica, and not always the same one: the Secrets'
# Sentinel role says replica, and Sentinel hands out any. Restored into
# one server, the two whole-server steps hold copies of one data set, so
# the later step's copy is right (as for two reads of one server).
#
# The check that refuses two servers' backups into one server
# (redis_shared_alias) knew a server by its run_id, which each replica has
# of its own: this restore was refused ("not known to be one server") and
# an operator had to restore each component with --only into its own
# server, or not at all. Here the backups read two replicas of one
# primary, named directly.
. "$(dirname "$0")/lib.sh"
tsarc_repo

redis_up prim
for i in $(seq 20); do echo "SET backend:$i v$i"; done | rcli "$PORT_PRIM" >/dev/null
for i in $(seq 20); do echo "SET system:$i v$i"; done | rcli "$PORT_PRIM" -n 1 >/dev/null
redis_up rep1 "replicaof 127.0.0.1 $PORT_PRIM" "masterauth $ADMIN_PW"
redis_up rep2 "replicaof 127.0.0.1 $PORT_PRIM" "masterauth $ADMIN_PW"
redis_up other
redis_up one
# In sync: the link up and every key there (what the backups must read).
for port in "$PORT_REP1" "$PORT_REP2"; do
	for _ in $(seq 300); do
		rcli "$port" INFO replication | grep -q '^master_link_status:up' &&
			[ "$(rcli "$port" -n 0 DBSIZE)" = 20 ] && [ "$(rcli "$port" -n 1 DBSIZE)" = 20 ] && break
		sleep 0.1
	done
	[ "$(rcli "$port" -n 1 DBSIZE)" = 20 ] || fail "the replica on port $port did not sync"
done

two_redis reps 127.0.0.1 "$PORT_REP1" 127.0.0.1 "$PORT_REP2"
two_redis one 127.0.0.1 "$PORT_ONE" 127.0.0.1 "$PORT_ONE"
SNAP=$(backup_id "$WORK/reps/config.json" b1) || exit 1

info "two replicas of one primary, restored into one server: restored"
rcli "$PORT_ONE" -n 2 SET stale:key yes >/dev/null
"$TSARC" restore "$SNAP" --config "$WORK/one/config.json" --repo "$REPO" > "$WORK/r1.out" 2> "$WORK/r1.err" ||
	fail "refused: $(cat "$WORK/r1.err")"
keys_dump "$PORT_PRIM" > "$WORK/prim.keys"
keys_dump "$PORT_ONE" > "$WORK/one.keys"
cmp -s "$WORK/prim.keys" "$WORK/one.keys" ||
	fail "the server does not hold the primary's data set: $(diff "$WORK/prim.keys" "$WORK/one.keys" | head -5)"

info "two servers' backups into one server: still refused, nothing written"
two_redis apart 127.0.0.1 "$PORT_REP1" 127.0.0.1 "$PORT_OTHER"
rcli "$PORT_OTHER" -n 1 SET other:key yes >/dev/null
SNAP2=$(backup_id "$WORK/apart/config.json" b2) || exit 1
rcli "$PORT_ONE" -n 2 SET marker:kept yes >/dev/null
keys_dump "$PORT_ONE" > "$WORK/before.keys"
RC=0
"$TSARC" restore "$SNAP2" --config "$WORK/one/config.json" --repo "$REPO" > "$WORK/r2.out" 2> "$WORK/r2.err" || RC=$?
[ "$RC" -ne 0 ] || fail "a replica's and another server's backups were both restored into one server"
grep -q "both restore into" "$WORK/r2.err" || fail "the error does not say why: $(cat "$WORK/r2.err")"
keys_dump "$PORT_ONE" > "$WORK/after.keys"
cmp -s "$WORK/before.keys" "$WORK/after.keys" || fail "the server was changed: $(cat "$WORK/r2.err")"

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
