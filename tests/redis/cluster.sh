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
. "$(dirname "$0")/lib.sh"
tsarc_repo

for n in c1 c2 c3; do
	redis_up "$n" "cluster-enabled yes" "cluster-config-file $WORK/redis-$n/nodes.conf" \
		"cluster-node-timeout 2000" "masterauth $ADMIN_PW"
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

for mode in logical auto; do
	info "$mode backup of one node of a three-shard cluster: refused"
	redis_deployment "b-$mode" "redis://127.0.0.1:$PORT_C1/0" default "$ADMIN_PW" "{\"mode\": \"$mode\"}"
	RC=0
	"$TSARC" backup --config "$WORK/b-$mode/config.json" --repo "$REPO" --json > "$WORK/b-$mode.json" 2> "$WORK/b-$mode.err" || RC=$?
	[ "$RC" -ne 0 ] || fail "$mode: the backup of one node ($on_c1 of the cluster's 300 keys) succeeded"
	grep -q "Redis Cluster of 3 shards" "$WORK/b-$mode.err" || fail "$mode: the error does not say why: $(cat "$WORK/b-$mode.err")"
done

info "a restore into a node of a three-shard cluster: refused, nothing written"
redis_up single
for i in $(seq 20); do echo "SET single:$i v$i"; done | rcli "$PORT_SINGLE" >/dev/null
redis_deployment src "redis://127.0.0.1:$PORT_SINGLE/0" backup "$USER_PW" '{"mode": "logical"}'
SNAP=$(backup_id "$WORK/src/config.json" b1) || exit 1
redis_deployment dst "redis://127.0.0.1:$PORT_C1/0" restorer "$USER_PW" '{"mode": "logical"}'
RC=0
"$TSARC" restore "$SNAP" --config "$WORK/dst/config.json" --repo "$REPO" > "$WORK/r1.out" 2> "$WORK/r1.err" || RC=$?
[ "$RC" -ne 0 ] || fail "a restore into one node of a cluster succeeded"
[ "$(rcli "$PORT_C1" DBSIZE)" = "$on_c1" ] ||
	fail "the node was written to: $(rcli "$PORT_C1" DBSIZE) keys, $on_c1 before: $(cat "$WORK/r1.err")"
grep -q "Redis Cluster of 3 shards" "$WORK/r1.err" || fail "the error does not say why: $(cat "$WORK/r1.err")"

# redis-cli on this host ("tool", "options": redis-cli --rdb in place of
# tsarc's own client) is refused the same way: before, it streamed the
# node's RDB, a part of the cluster's keys, into a snapshot.
for extra in '"tool": "redis-cli"' '"options": ["--no-auth-warning"]'; do
	info "backup of one node through redis-cli ($extra): refused"
	redis_deployment b-cli "redis://127.0.0.1:$PORT_C1/0" default "$ADMIN_PW" "{\"mode\": \"rdb\", $extra}"
	RC=0
	"$TSARC" backup --config "$WORK/b-cli/config.json" --repo "$REPO" --json > "$WORK/b-cli.json" 2> "$WORK/b-cli.err" || RC=$?
	[ "$RC" -ne 0 ] || fail "$extra: the backup of one node ($on_c1 of the cluster's 300 keys) through redis-cli succeeded"
	grep -q "Redis Cluster of 3 shards" "$WORK/b-cli.err" || fail "$extra: the error does not say why: $(cat "$WORK/b-cli.err")"
done

# The RDB swap (redis-cli, restore.config_file) into a node: refused
# before the RDB is written, the node neither stopped nor changed.
info "the RDB swap into a node of a three-shard cluster: refused, nothing written"
redis_deployment src-rdb "redis://127.0.0.1:$PORT_SINGLE/0" default "$ADMIN_PW" '{"mode": "rdb"}'
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
