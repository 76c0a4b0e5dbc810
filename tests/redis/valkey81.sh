#!/usr/bin/env bash
# Valkey 8.1 (Debian 13's 8.1, in the root filesystem of
# TSARC_TEST_VALKEY81_ROOT, made by ci/test.sh): the current minor of the
# engine a new managed cache most often runs. Its DUMP payloads and RDB
# are version 11, as Valkey 8.0's; its INFO names it (valkey_version:8.1).
# A logical backup (an ACL user without SYNC) of every type 3scale uses,
# a stream with a consumer group and a function library, small and big
# values (listpack and hashtable, quicklist, intset, skiplist encodings),
# restored into another Valkey 8.1 whole and into this host's Redis 7.0
# with its payloads rewritten to 10; its RDB (SYNC) through the private
# server. Every restore compared key by key and by its digest.
#
# The RDB swap into a Valkey 8.1 on this host (a config_file, the server
# restarted on the backup's RDB): the plan says the server reads version
# 11; the step reads the RDB with the server's own checker, valkey-check-rdb
# (this host's redis-check-rdb is Redis 7.0's, which refuses version 11),
# and restarts the server with valkey-server (redis-server here is Redis
# 7.0: started on the Valkey's configuration, it exited on the Valkey's
# own RDB, the server left down); a start_command of valkey-server has its
# options read as redis-server's (--appendonly yes after the file refused,
# nothing changed).
. "$(dirname "$0")/lib.sh"

need_root TSARC_TEST_VALKEY81_ROOT
command -v valkey-server >/dev/null || {
	[ "${TSARC_TEST_REQUIRE_SERVICES:-0}" = 1 ] && fail "valkey-server is not installed (bash ci/deps.sh)"
	echo "SKIP: valkey-server is not installed (bash ci/deps.sh)"
	exit 77
}
tsarc_repo
# Valkey 8.1's valkey-server and valkey-check-rdb, as if installed here
# (this host's own are Valkey 8.0's). The swap runs the checker in the
# server's data folder (a relative file name): --here keeps it there.
V81BIN=$WORK/v81bin
root_tools "$V81BIN" "$TSARC_TEST_VALKEY81_ROOT" valkey-server valkey-check-rdb:--here
"$V81BIN/valkey-server" --version | grep -q ' v=8\.1\.' || fail "the root's valkey-server is not Valkey 8.1"

REDIS_SERVER=$V81BIN/valkey-server redis_up src
REDIS_SERVER=$V81BIN/valkey-server redis_up dst
REDIS_SERVER=$V81BIN/valkey-server redis_up swap
redis_up r70
rcli "$PORT_SRC" INFO server | grep -q '^valkey_version:8\.1\.' || fail "src is not a Valkey 8.1"
fill "$PORT_SRC"
# Past Valkey 8's listpack limits (hash-max-listpack-entries is 512 there,
# 128 in Redis 7.0: fill's hash of 300 fields stays a listpack), a hash of
# 1000 fields and a list of 1000 values of 100 bytes, many nodes of 8 kB.
python3 - <<'PY' | rcli "$PORT_SRC" --pipe >/dev/null || fail "filling the big hash and list"
import sys
for i in range(1000):
    sys.stdout.write("HSET hash:huge field%d value%d\r\nRPUSH list:huge %s\r\n" % (i, i, "%03d" % i * 33))
PY
# What a Valkey 8.1 encodes, small and big: each restore below compares
# what the keys hold whatever the target makes of them.
for k in hash:small:listpack hash:big:listpack hash:huge:hashtable list:small:listpack \
	list:huge:quicklist set:ints:intset set:strs:listpack set:big:hashtable zset:small:listpack \
	zset:big:skiplist stream:events:stream; do
	[ "$(rcli "$PORT_SRC" OBJECT ENCODING "${k%:*}")" = "${k##*:}" ] ||
		fail "Valkey 8.1 encodes ${k%:*} as $(rcli "$PORT_SRC" OBJECT ENCODING "${k%:*}"), not ${k##*:}"
done
keys_dump "$PORT_SRC" > "$WORK/src.keys"

deployment() { redis_deployment "$1" "redis://127.0.0.1:$2/0" "$3" "$4" "${5:-"{}"}"; }
deployment src-user "$PORT_SRC" backup "$USER_PW"
deployment src-admin "$PORT_SRC" default "$ADMIN_PW" '{"mode": "rdb"}'
deployment dst "$PORT_DST" restorer "$USER_PW"
deployment r70 "$PORT_R70" restorer "$USER_PW"

info "backups of Valkey 8.1: logical (no SYNC) and RDB (SYNC), both version 11"
LOGICAL=$(backup_id "$WORK/src-user/config.json" l) || exit 1
RDB=$(backup_id "$WORK/src-admin/config.json" r) || exit 1
[ "$(stream_meta "$LOGICAL" backend-redis.rdb redis_mode)" = logical ] || fail "not logical"
[ "$(stream_meta "$RDB" backend-redis.rdb redis_mode)" = rdb ] || fail "not an RDB"
for snap in "$LOGICAL" "$RDB"; do
	v=$(stream_meta "$snap" backend-redis.rdb redis_payload_version)
	[ "$v" = 11 ] || fail "snapshot $snap records redis_payload_version $v, not 11"
done

# restored SNAP WHAT TARGET PORT [VERSION]: SNAP restored into TARGET as
# restored_into does (key counts and digest compared, then every key),
# with its function library; VERSION: its payloads rewritten to it.
restored() {
	restored_into "$1" "$WORK/src.keys" "$2" "$3" "$4"
	[ "$(rcli "$4" FCALL tsarc_answer 0)" = 42 ] || fail "$2: the functions were not restored"
	[ -z "${5:-}" ] ||
		grep -q "payloads\? of RDB version 11 rewritten to version $5, which the target takes" \
			"$WORK/restore.json" || fail "$2: not rewritten to $5: $(cat "$WORK/restore.json")"
}
info "Valkey 8.1 into Valkey 8.1: logical, and the RDB through the private server"
restored "$LOGICAL" "Valkey 8.1 logical into Valkey 8.1" dst "$PORT_DST"
restored "$RDB" "Valkey 8.1 RDB into Valkey 8.1" dst "$PORT_DST"
grep -q "private redis-server" "$WORK/restore.json" || fail "not the private server: $(cat "$WORK/restore.json")"
info "Valkey 8.1 into Redis 7.0: its payloads (11) rewritten to 10"
restored "$LOGICAL" "Valkey 8.1 logical into Redis 7.0" r70 "$PORT_R70" 10
restored "$RDB" "Valkey 8.1 RDB into Redis 7.0" r70 "$PORT_R70" 10

info "Valkey 8.1's RDB swapped into a Valkey 8.1 here: read by valkey-check-rdb, restarted by valkey-server"
valkey_swapped "$V81BIN" "$RDB" "$WORK/src.keys" swap "8\\.1" 11

info "a start_command valkey-server FILE --appendonly yes: read as redis-server's, refused untouched"
CONF=$WORK/redis-swap/redis.conf
deployment swap-aof "$PORT_SWAP" default "$ADMIN_PW" "{\"mode\": \"rdb\", \"restore\": {\"action\": \"redis-rdb\",
	\"order\": 70, \"config_file\": \"$CONF\",
	\"start_command\": [\"valkey-server\", \"$CONF\", \"--appendonly\", \"yes\"]}}"
rcli "$PORT_SWAP" SET own:key 2 >/dev/null
keys_dump "$PORT_SWAP" > "$WORK/swap-aof.before"
PATH=$V81BIN:$PATH "$TSARC" restore "$RDB" --config "$WORK/swap-aof/config.json" --repo "$REPO" \
	> "$WORK/swap-aof.out" 2> "$WORK/swap-aof.err" && fail "swapped with a start_command that turns appendonly on"
grep -q "its start_command turns appendonly on.*nothing was changed" "$WORK/swap-aof.err" ||
	fail "valkey-server's start_command: $(cat "$WORK/swap-aof.err")"
keys_dump "$PORT_SWAP" > "$WORK/swap-aof.after"
diff -q "$WORK/swap-aof.before" "$WORK/swap-aof.after" >/dev/null ||
	fail "valkey-server's start_command: the server was touched"

grep -q -e "$USER_PW" -e "$ADMIN_PW" "$WORK"/*.err "$WORK"/*.json && fail "a password was printed"
info "ok"
