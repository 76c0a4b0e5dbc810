#!/usr/bin/env bash
# A backup that reads a replica takes what the replica holds for the
# deployment's state: only true while its link to its master is up. A
# replica whose master is gone serves the data set as it was when the link
# broke; one in the middle of a full sync serves the old data set and then
# a new one. Either is refused, on every path, with the replica, its
# master and what to do named, and no snapshot written.
#
# Before, only the RDB path refused (the replica's own SYNC answers
# NOMASTERLINK); the logical path (an ACL user without SYNC, a managed
# Redis: "mode": "logical", or "auto" falling back) read the stale replica
# and recorded it as a good backup.
. "$(dirname "$0")/lib.sh"
tsarc_repo

# wait_info PORT SECTION LINE: INFO SECTION of PORT holds LINE (bounded wait).
wait_info() {
	for _ in $(seq 600); do
		rcli "$1" INFO "$2" | tr -d '\r' | grep -qx "$3" && return 0
		sleep 0.1
	done
	fail "Redis on port $1 never said $3: $(rcli "$1" INFO "$2" | tr -d '\r' | tr '\n' ' ')"
}
snapshot_count() {
	"$TSARC" snapshots --repo "$REPO" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

redis_up prim
for i in $(seq 50); do echo "SET key:$i v$i"; done | rcli "$PORT_PRIM" >/dev/null
# A long repl-timeout: a sync held up on purpose below is not given up.
# A user refused INFO too: the replica's link is read from ROLE.
redis_up rep "replicaof 127.0.0.1 $PORT_PRIM" "masterauth $ADMIN_PW" "repl-timeout 3600" \
	"user noinfo on >$USER_PW ~* &* +@all $ACL_DENY -info"
wait_info "$PORT_REP" replication master_link_status:up
[ "$(rcli "$PORT_REP" DBSIZE)" = 50 ] || fail "the replica did not sync"

# The replica read four ways: logical as an ACL user, auto as that user
# (SYNC refused: logical), auto as the admin (the RDB), logical as a user
# refused INFO.
URL="redis://127.0.0.1:$PORT_REP/0"
redis_deployment logical "$URL" backup "$USER_PW" '{"mode": "logical"}'
redis_deployment autouser "$URL" backup "$USER_PW" '{"mode": "auto"}'
redis_deployment autoadmin "$URL" "" "$ADMIN_PW" '{"mode": "auto"}'
redis_deployment noinfo "$URL" noinfo "$USER_PW" '{"mode": "logical"}'

info "link up: the replica is backed up on every path"
backup_id "$WORK/logical/config.json" up-logical >/dev/null || exit 1
backup_id "$WORK/autouser/config.json" up-autouser >/dev/null || exit 1
S=$(backup_id "$WORK/noinfo/config.json" up-noinfo) || exit 1
# The user exists on the replica only: the master refuses it, so how far
# the replica is behind cannot be read, and the metadata says so
# (promises §1, the limit of redis_replica_lag).
stream_meta "$S" backend-redis.rdb redis_replica_check | grep -q "^not checked: the master 127.0.0.1:$PORT_PRIM refuses this user" ||
	fail "noinfo: the metadata does not say the lag was not checked: $(stream_meta "$S" backend-redis.rdb redis_replica_check)"
S=$(backup_id "$WORK/autoadmin/config.json" up-autoadmin) || exit 1
[ "$(stream_meta "$S" backend-redis.rdb redis_mode)" = rdb ] || fail "the admin's backup was not an RDB"
[ "$(snapshot_count)" = 4 ] || fail "not four snapshots"

# refused CASE MASTER WHAT: each of the four backups fails, its error
# naming the replica, MASTER and WHAT, and no snapshot is written.
refused() {
	local c rc
	for c in logical autouser autoadmin noinfo; do
		rc=0
		"$TSARC" backup --config "$WORK/$c/config.json" --repo "$REPO" > "$WORK/$1-$c.out" \
			2> "$WORK/$1-$c.err" || rc=$?
		[ "$rc" -ne 0 ] || fail "$1, $c: the replica was backed up"
		grep -q "127.0.0.1:$PORT_REP" "$WORK/$1-$c.err" ||
			fail "$1, $c: the error does not name the replica: $(cat "$WORK/$1-$c.err")"
		grep -q "127.0.0.1:$2" "$WORK/$1-$c.err" ||
			fail "$1, $c: the error does not name its master: $(cat "$WORK/$1-$c.err")"
		grep -q "$3" "$WORK/$1-$c.err" ||
			fail "$1, $c: the error does not say '$3': $(cat "$WORK/$1-$c.err")"
		grep -q "back up the master" "$WORK/$1-$c.err" ||
			fail "$1, $c: the error does not say what to do: $(cat "$WORK/$1-$c.err")"
	done
	[ "$(snapshot_count)" = 4 ] || fail "$1: a snapshot was written"
}

info "the master gone (master_link_status:down): refused on every path"
PRIM_PID=$(cat "$WORK/redis-prim/redis.pid")
kill -TERM "$PRIM_PID"
for _ in $(seq 600); do kill -0 "$PRIM_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PRIM_PID" 2>/dev/null && fail "the master did not stop"
wait_info "$PORT_REP" replication master_link_status:down
[ "$(rcli "$PORT_REP" DBSIZE)" = 50 ] || fail "the replica lost its stale data set"
refused down "$PORT_PRIM" "link to it is down"

info "a full sync from another master in progress (master_sync_in_progress:1): refused"
# A master whose RDB takes 10 s a key to make: the replica stays in the
# sync for the rest of the test.
redis_up slow "repl-diskless-sync yes" "rdb-key-save-delay 10000000"
for i in $(seq 20); do echo "SET other:$i v$i"; done | rcli "$PORT_SLOW" >/dev/null
rcli "$PORT_REP" REPLICAOF 127.0.0.1 "$PORT_SLOW" >/dev/null
wait_info "$PORT_REP" replication master_sync_in_progress:1
refused syncing "$PORT_SLOW" "still syncing"
# The slow master's RDB child goes with it: a redis-server stopped
# (SIGTERM, ci/services.sh stop) kills its child first.

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
