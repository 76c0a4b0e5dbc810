#!/usr/bin/env bash
# A Redis Cluster of several shards (a managed service in cluster mode)
# is not one server: each node holds only the keys of its hash slots.
# tsarc backs up and restores a whole server (SYNC, or SCAN of every
# database, and on restore every database emptied), so a node of such a
# cluster is refused, saying why, before anything is read into a
# snapshot or written into the target.
#
# Before, the backup of one node of a three-shard cluster succeeded with
# about a third of the keys and nothing said so; a restore into it
# emptied that node, then failed on the first key of another node's
# slots (MOVED), the other shards' keys left as they were.
#
# The same through redis-cli ("tool", "options", and the RDB swap with a
# config_file), which tsarc did not check.
#
# And the same for a user refused INFO (an ACL's -info; a managed Redis's
# -@dangerous takes INFO away, not CLUSTER INFO): its refusal read as "not
# a cluster", and the node passed for a whole server. Its backup (our
# client's SYNC, redis-cli's --rdb) held the node's third of the keys; its
# restore emptied the node's database 0, then failed ("SELECT is not
# allowed in cluster mode"); the plan of a restore into a node admitted
# it, whoever the user. A user refused both INFO and CLUSTER INFO, to
# whom nothing tells a node from a whole server, is refused too, told what
# to grant.
. "$(dirname "$0")/lib.sh"
tsarc_repo

NOINFO="user noinfo on >$USER_PW ~* &* +@all -info"
for n in c1 c2 c3; do
	redis_up "$n" "cluster-enabled yes" "cluster-config-file $WORK/redis-$n/nodes.conf" \
		"cluster-node-timeout 2000" "masterauth $ADMIN_PW" "$NOINFO" \
		"user nocluster on >$USER_PW ~* &* +@all -info -cluster"
done
REDISCLI_AUTH=$ADMIN_PW redis-cli --no-auth-warning --cluster create "127.0.0.1:$PORT_C1" \
	"127.0.0.1:$PORT_C2" "127.0.0.1:$PORT_C3" --cluster-replicas 0 --cluster-yes > "$WORK/create.log" 2>&1 ||
	fail "test setup: cluster create: $(tail -5 "$WORK/create.log")"
for _ in $(seq 200); do
	rcli "$PORT_C1" CLUSTER INFO | tr -d '\r' | grep -q '^cluster_state:ok' &&
		rcli "$PORT_C3" CLUSTER INFO | tr -d '\r' | grep -q '^cluster_state:ok' && break
	sleep 0.1
done
for i in $(seq 300); do echo "SET key:$i v$i"; done | rcli "$PORT_C1" -c >/dev/null
total=0
for p in "$PORT_C1" "$PORT_C2" "$PORT_C3"; do total=$((total + $(rcli "$p" DBSIZE))); done
[ "$total" = 300 ] || fail "test setup: the cluster holds $total keys, not 300"
on_c1=$(rcli "$PORT_C1" DBSIZE)
[ "$on_c1" -lt 300 ] || fail "test setup: every key is on one node"

# backup_refused NAME USER PASSWORD COMPONENT_JSON PATTERN: the backup of
# node c1 as USER (the fields COMPONENT_JSON over the defaults) fails, its
# error matching PATTERN (grep).
backup_refused() {
	local rc=0
	redis_deployment "$1" "redis://127.0.0.1:$PORT_C1/0" "$2" "$3" "$4"
	"$TSARC" backup --config "$WORK/$1/config.json" --repo "$REPO" --json > "$WORK/$1.json" 2> "$WORK/$1.err" || rc=$?
	[ "$rc" -ne 0 ] || fail "$1: the backup of one node ($on_c1 of the cluster's 300 keys) succeeded"
	grep -q -- "$5" "$WORK/$1.err" || fail "$1: the error does not say why: $(cat "$WORK/$1.err")"
}

for mode in logical auto; do
	info "$mode backup of one node of a three-shard cluster: refused"
	backup_refused "b-$mode" default "$ADMIN_PW" "{\"mode\": \"$mode\"}" "Redis Cluster of 3 shards"
done
info "backup of one node by a user refused INFO (its SYNC allowed): refused, CLUSTER INFO asked"
backup_refused b-noinfo noinfo "$USER_PW" '{"mode": "auto"}' "Redis Cluster of 3 shards"
info "backup of one node by a user refused INFO and CLUSTER INFO: refused, saying what to grant"
backup_refused b-nocluster nocluster "$USER_PW" '{"mode": "auto"}' "refuses CLUSTER INFO to this user (NOPERM.*grant the user +cluster|info"
grep -q "refuses INFO cluster to this user (NOPERM.*either answer tells); nothing was read or written" "$WORK/b-nocluster.err" ||
	fail "nocluster: the error does not name INFO, or is cut short: $(cat "$WORK/b-nocluster.err")"

# A whole server that refuses INFO to the user (a managed Redis's
# -@dangerous) is still backed up: CLUSTER INFO says "cluster support
# disabled" (our client here, redis-cli for the RDB swap's source below).
redis_up single "$NOINFO"
for i in $(seq 20); do echo "SET single:$i v$i"; done | rcli "$PORT_SINGLE" >/dev/null
redis_deployment src "redis://127.0.0.1:$PORT_SINGLE/0" noinfo "$USER_PW" '{"mode": "logical"}'
SNAP=$(backup_id "$WORK/src/config.json" b1) || exit 1

# restore_refused NAME USER PATTERN: the plan and the restore of $SNAP
# into node c1 as USER (logical) are refused, their errors matching
# PATTERN (grep), and nothing is written.
restore_refused() {
	local rc=0
	redis_deployment "$1" "redis://127.0.0.1:$PORT_C1/0" "$2" "$USER_PW" '{"mode": "logical"}'
	plan_refused "$SNAP" "$WORK/$1/config.json" "$3" "$1"
	"$TSARC" restore "$SNAP" --config "$WORK/$1/config.json" --repo "$REPO" > "$WORK/$1.out" 2> "$WORK/$1.err" || rc=$?
	[ "$rc" -ne 0 ] || fail "$1: a restore into one node of a cluster succeeded"
	[ "$(rcli "$PORT_C1" DBSIZE)" = "$on_c1" ] ||
		fail "$1: the node was written to: $(rcli "$PORT_C1" DBSIZE) keys, $on_c1 before: $(cat "$WORK/$1.err")"
	grep -q -- "$3" "$WORK/$1.err" || fail "$1: the error does not say why: $(cat "$WORK/$1.err")"
}
info "a restore into a node of a three-shard cluster: refused by the plan and the run, nothing written"
restore_refused dst restorer "Redis Cluster of 3 shards"
info "the same by a user refused INFO"
restore_refused dst-noinfo noinfo "Redis Cluster of 3 shards"

# redis-cli on this host ("tool", "options": redis-cli --rdb in place of
# tsarc's own client) is refused the same way: before, it streamed the
# node's RDB, a part of the cluster's keys, into a snapshot.
for extra in '"tool": "redis-cli"' '"options": ["--no-auth-warning"]'; do
	info "backup of one node through redis-cli ($extra): refused"
	backup_refused b-cli default "$ADMIN_PW" "{\"mode\": \"rdb\", $extra}" "Redis Cluster of 3 shards"
done
# redis-cli prints an error reply as its answer and exits 0: INFO refused
# read as "not a cluster" there too.
info "backup of one node through redis-cli by a user refused INFO: refused"
backup_refused b-cli-noinfo noinfo "$USER_PW" '{"mode": "rdb", "tool": "redis-cli"}' "Redis Cluster of 3 shards"
info "backup of one node through redis-cli by a user refused INFO and CLUSTER INFO: refused"
backup_refused b-cli-nocluster nocluster "$USER_PW" '{"mode": "rdb", "tool": "redis-cli"}' \
	"refuses CLUSTER INFO to this user (NOPERM.*grant the user +cluster|info"

# The RDB swap (redis-cli, restore.config_file) into a node: refused
# before the RDB is written, the node neither stopped nor changed.
info "the RDB swap into a node of a three-shard cluster: refused, nothing written"
redis_deployment src-rdb "redis://127.0.0.1:$PORT_SINGLE/0" noinfo "$USER_PW" '{"mode": "rdb", "tool": "redis-cli"}'
SNAP_RDB=$(backup_id "$WORK/src-rdb/config.json" b-rdb) || exit 1
redis_deployment dst-swap "redis://127.0.0.1:$PORT_C1/0" default "$ADMIN_PW" \
	"{\"mode\": \"rdb\", \"restore\": {\"action\": \"redis-rdb\", \"order\": 70, \"config_file\": \"$WORK/redis-c1/redis.conf\"}}"
pid_before=$(cat "$WORK/redis-c1/redis.pid")
cp "$WORK/redis-c1/redis.conf" "$WORK/c1-conf.before"
RC=0
"$TSARC" restore "$SNAP_RDB" --config "$WORK/dst-swap/config.json" --repo "$REPO" > "$WORK/r-swap.out" 2> "$WORK/r-swap.err" || RC=$?
[ "$RC" -ne 0 ] || fail "the RDB swap into one node of a cluster succeeded"
grep -q "Redis Cluster of 3 shards" "$WORK/r-swap.err" || fail "the swap's error does not say why: $(cat "$WORK/r-swap.err")"
[ "$(cat "$WORK/redis-c1/redis.pid")" = "$pid_before" ] || fail "the node was restarted: $(cat "$WORK/r-swap.err")"
[ "$(rcli "$PORT_C1" DBSIZE)" = "$on_c1" ] || fail "the node was written to: $(cat "$WORK/r-swap.err")"
cmp -s "$WORK/c1-conf.before" "$WORK/redis-c1/redis.conf" || fail "the node's configuration was changed"
if ls "$WORK/redis-c1" | grep -q tsarc; then fail "files left beside the node's data: $(ls "$WORK/redis-c1")"; fi

grep -q -e "$ADMIN_PW" -e "$USER_PW" "$WORK"/*.err "$WORK"/*.out "$WORK"/*.json && fail "a password was printed"
info "ok"
